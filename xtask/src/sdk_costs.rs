//! What each package costs in the tracker's wasm, for `cargo xtask bench sdk-size`: the
//! bytes of function code each crate contributes, read from a copy of the wasm optimised as
//! the shipped one is but keeping its function names ([`names_copy`], made from the copy
//! `cargo xtask sdk` leaves of the snipped wasm, [`snipped_copy`]). gzip is not additive, so a crate's gzip figure is its share of the code
//! times the wasm's gzip size: an estimate, labelled as one.

use std::collections::BTreeMap;
use std::path::PathBuf;

use wasmparser::{KnownCustom, Name, Parser, Payload, TypeRef};

/// Where the named copy of the optimised wasm is written.
pub fn names_copy() -> PathBuf {
    crate::root().join("target/sdk/footprint_sdk_bg.names.wasm")
}

/// Where `cargo xtask sdk` leaves the wasm as it is before `wasm-opt`, with its names.
pub fn snipped_copy() -> PathBuf {
    crate::root().join("target/sdk/footprint_sdk_bg.snipped.wasm")
}

/// Bytes of code per package, largest first.
pub type Costs = Vec<(&'static str, usize)>;

/// Code bytes per package, largest first, and the total.
pub fn code_by_package(wasm: &[u8]) -> Result<(Costs, usize), String> {
    let mut imported = 0u32;
    let mut sizes = Vec::new();
    let mut names = BTreeMap::new();
    for payload in Parser::new(0).parse_all(wasm) {
        match payload.map_err(|e| format!("cannot parse the wasm: {e}"))? {
            Payload::ImportSection(imports) => {
                for import in imports.into_imports() {
                    let import = import.map_err(|e| format!("cannot parse an import: {e}"))?;
                    if matches!(import.ty, TypeRef::Func(_) | TypeRef::FuncExact(_)) {
                        imported += 1;
                    }
                }
            }
            Payload::CodeSectionEntry(body) => sizes.push(body.range().len()),
            Payload::CustomSection(c) => {
                if let KnownCustom::Name(reader) = c.as_known() {
                    for name in reader {
                        if let Ok(Name::Function(map)) = name {
                            for naming in map.into_iter().flatten() {
                                names.insert(naming.index, naming.name.to_owned());
                            }
                        }
                    }
                }
            }
            _ => {}
        }
    }
    if names.is_empty() {
        return Err("the wasm has no function names".into());
    }
    let mut by: BTreeMap<&'static str, usize> = BTreeMap::new();
    for (i, size) in sizes.iter().enumerate() {
        let name = names.get(&(imported + i as u32)).map_or("", String::as_str);
        *by.entry(package(name)).or_default() += size;
    }
    let mut rows: Vec<_> = by.into_iter().collect();
    rows.sort_by_key(|r| std::cmp::Reverse(r.1));
    Ok((rows, sizes.iter().sum()))
}

/// The package a function belongs to, from its demangled name: the first crate path in it.
/// For a trait impl (`<A as B>::f`) that is the type's crate, which is where the code was
/// written, except for std's own types (`<f64 as Display>`), which count as core.
fn package(name: &str) -> &'static str {
    const CRATES: [(&str, &str); 14] = [
        ("footprint_sdk", "footprint-sdk (ours)"),
        ("footprint_protocol", "footprint-protocol (ours)"),
        ("serde_wasm_bindgen", "serde-wasm-bindgen"),
        ("serde_core", "serde"),
        ("serde", "serde"),
        ("gloo_", "gloo-timers, gloo-events"),
        ("lol_alloc", "lol_alloc"),
        ("js_sys", "js-sys"),
        ("web_sys", "web-sys"),
        ("wasm_bindgen", "wasm-bindgen"),
        ("hashbrown", "std"),
        ("std", "std"),
        ("alloc", "core and alloc"),
        ("core", "core and alloc"),
    ];
    if name.ends_with(" externref shim") || name.starts_with("__wbg") {
        // wasm-bindgen's shim around an export, into which the export itself is inlined.
        return "exports (ours, inlined into wasm-bindgen's shims)";
    }
    // Each path segment: after `<`, `&`, `(`, a space or the start.
    let mut best: Option<(usize, &'static str)> = None;
    for (prefix, package) in CRATES {
        let mut from = 0;
        while let Some(i) = name[from..].find(prefix) {
            let at = from + i;
            let starts = at == 0 || matches!(name.as_bytes()[at - 1], b'<' | b'&' | b' ' | b'(');
            let rest = &name[at + prefix.len()..];
            let is_crate = prefix.ends_with('_') || rest.starts_with("::") || rest.starts_with('[');
            if starts && is_crate {
                if best.is_none_or(|(b, _)| at < b) {
                    best = Some((at, package));
                }
                break;
            }
            from = at + prefix.len();
        }
    }
    best.map_or("other (wasm-bindgen's runtime)", |(_, p)| p)
}

#[cfg(test)]
mod tests {
    use super::package;

    #[test]
    fn functions_count_for_the_crate_that_wrote_them() {
        assert_eq!(
            package("<serde_wasm_bindgen::de::Deserializer as serde_core::de::Deserializer>::deserialize_any::h1"),
            "serde-wasm-bindgen"
        );
        assert_eq!(
            package("<f64 as core[c59]::fmt::Display>::fmt"),
            "core and alloc"
        );
        assert_eq!(
            package("footprint_sdk::core::event::properties::h2"),
            "footprint-sdk (ours)"
        );
        assert_eq!(
            package("gloo_timers::callback::Timeout::new::h3"),
            "gloo-timers, gloo-events"
        );
        assert_eq!(
            package("init externref shim"),
            "exports (ours, inlined into wasm-bindgen's shims)"
        );
        assert_eq!(
            package("__externref_table_alloc"),
            "other (wasm-bindgen's runtime)"
        );
    }
}
