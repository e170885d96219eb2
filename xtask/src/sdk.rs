//! `cargo xtask sdk`: builds `sdk-wasm/pkg/`, the `footprint-tracker` npm package, which is
//! also what the edge serves for the script tag.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::{cargo, locked_version, output, root, run, Result};

/// The wasm features current rustc emits for wasm32-unknown-unknown by default; wasm-opt may
/// use these and no others.
const WASM_OPT_FEATURES: [&str; 6] = [
    "--enable-bulk-memory",
    "--enable-nontrapping-float-to-int",
    "--enable-sign-ext",
    "--enable-mutable-globals",
    "--enable-reference-types",
    "--enable-multivalue",
];

/// binaryen from npm: Debian's (108) cannot read the `table.fill` that wasm-bindgen writes for
/// reference types. Pinned, installed once into target/tools.
const BINARYEN: &str = "binaryen@132.0.0";
/// esbuild minifies wasm-bindgen's glue: its doc comments and long names are a third of what a
/// page downloads for it. Property names are kept, so the API is unchanged.
const ESBUILD: &str = "esbuild@0.28.2";

pub fn pkg_dir() -> PathBuf {
    root().join("sdk-wasm").join("pkg")
}

pub fn build() -> Result {
    check_no_fmt(&root().join("sdk-wasm").join("src"))?;
    crate::ensure_wasm_target()?;
    crate::ensure_wasm_bindgen_cli()?;
    let wasm_opt = ensure_tool(BINARYEN, "wasm-opt", "132")?;
    let esbuild = ensure_tool(ESBUILD, "esbuild", "0.28.2")?;
    run(
        "building the SDK (profile wasm-release)",
        cargo().args([
            "build",
            "--profile",
            "wasm-release",
            "--target",
            "wasm32-unknown-unknown",
            "-p",
            "footprint-sdk",
            "--lib",
        ]),
    )?;
    let pkg = pkg_dir();
    let _ = fs::remove_dir_all(&pkg);
    fs::create_dir_all(&pkg).map_err(|e| format!("cannot create {}: {e}", pkg.display()))?;
    let wasm = root().join("target/wasm32-unknown-unknown/wasm-release/footprint_sdk.wasm");
    // `--encode-into always`: every browser with WebAssembly has `TextEncoder.encodeInto`, so
    // the glue's fallback for it is dead weight.
    run(
        "wasm-bindgen --target web",
        Command::new("wasm-bindgen")
            .args(["--target", "web", "--encode-into", "always", "--out-dir"])
            .arg(&pkg)
            .arg(&wasm),
    )?;
    let bg = pkg.join("footprint_sdk_bg.wasm");
    snip_dead_code(&bg, &wasm_opt)?;
    // The snipped wasm, names and all, for `bench sdk-size`'s table of what each package
    // costs (`print_package_costs` optimises it the same way, keeping the names).
    let snipped = crate::sdk_costs::snipped_copy();
    if let Some(dir) = snipped.parent() {
        fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    }
    fs::copy(&bg, &snipped).map_err(|e| format!("cannot copy the wasm: {e}"))?;
    run(
        "wasm-opt -Oz",
        Command::new(&wasm_opt)
            .args(["-Oz", "--converge", "--strip-debug", "--strip-producers"])
            .args(WASM_OPT_FEATURES)
            .arg(&bg)
            .arg("-o")
            .arg(&bg),
    )?;
    // A pass of its own: its report (JSON on stdout) is printed once per run of the pass.
    eprintln!("xtask: wasm-opt: imports and exports renamed short");
    let renamed = Command::new(&wasm_opt)
        .args(WASM_OPT_FEATURES)
        .arg("--minify-imports-and-exports-and-modules")
        .arg(&bg)
        .arg("-o")
        .arg(&bg)
        .output()
        .map_err(|e| format!("cannot start wasm-opt: {e}"))?;
    if !renamed.status.success() {
        return Err(format!(
            "wasm-opt failed: {}",
            String::from_utf8_lossy(&renamed.stderr)
        ));
    }
    let blanked = blank_panic_text(&bg)?;
    eprintln!("xtask: {blanked} bytes of panic-only text blanked");
    let glue = pkg.join("footprint_sdk.js");
    let text = fs::read_to_string(&glue).map_err(|e| format!("cannot read the glue: {e}"))?;
    let push = root().join("sdk-wasm/js/push.js");
    let push =
        fs::read_to_string(&push).map_err(|e| format!("cannot read {}: {e}", push.display()))?;
    let text = format!("{}\n{push}", own_loader(&text)?);
    write(&glue, &rename_in_glue(&text, &renamed.stdout)?)?;
    let types = pkg.join("footprint_sdk.d.ts");
    let text =
        fs::read_to_string(&types).map_err(|e| format!("cannot read the glue's types: {e}"))?;
    write(&types, &own_loader_types(&text)?)?;
    // Describes the wasm's exports by their old names; nothing a user imports needs it.
    let _ = fs::remove_file(pkg.join("footprint_sdk_bg.wasm.d.ts"));
    let js = root().join("sdk-wasm").join("js");
    for (from, to) in [
        ("loader.js", "footprint.js"),
        ("loader.d.ts", "footprint.d.ts"),
        ("footprint-sw.js", "footprint-sw.js"),
        ("index.js", "index.js"),
        ("index.d.ts", "index.d.ts"),
    ] {
        copy(&js.join(from), &pkg.join(to))?;
    }
    // What a page downloads is minified: the glue (with its `--format=esm` kept) and the
    // loader script.
    for (file, format) in [("footprint_sdk.js", "--format=esm"), ("footprint.js", "")] {
        let path = pkg.join(file);
        run(
            &format!("esbuild --minify {file}"),
            Command::new(&esbuild)
                .arg(&path)
                .args(["--minify", "--log-level=warning", "--allow-overwrite"])
                .args((!format.is_empty()).then_some(format))
                .arg(format!("--outfile={}", path.display())),
        )?;
    }
    let version = locked_version("footprint-sdk")?;
    write(&pkg.join("package.json"), &package_json(&version))?;
    write(
        &pkg.join("README.md"),
        "# footprint-tracker\n\nFootprint's browser tracker (Rust compiled to WebAssembly). \
         See the repository's README for both install paths: the script tag and this package.\n",
    )?;
    eprintln!("xtask: the SDK package is in {}", pkg.display());
    Ok(())
}

/// Where wasm-bindgen's loader starts in its `--target web` glue: `__wbg_load`, then
/// `initSync` and the default export `__wbg_init`, to the end of the file.
const WBG_LOADER_START: &str = "async function __wbg_load(";

/// Our loader, in place of wasm-bindgen's. Theirs accepts every input (bytes, a `Module`, a
/// `Response`, deprecated argument forms) and has `initSync`, with their warnings as strings;
/// the loader script and index.js only ever pass a URL, so that is all this takes: a fifth of
/// a kilobyte less for every page.
const OWN_LOADER: &str = r#"let __fp_loading;
async function __wbg_init(options) {
    if (wasm !== undefined) return wasm;
    return __fp_loading || (__fp_loading = __fp_load((options && options.module_or_path) || new URL('footprint_sdk_bg.wasm', import.meta.url)).catch((e) => {
        __fp_loading = undefined;
        throw e;
    }));
}

async function __fp_load(url) {
    const imports = __wbg_get_imports();
    const response = await fetch(url);
    if (!response.ok) throw new Error(`footprint: cannot fetch ${response.url}: HTTP ${response.status}`);
    let loaded;
    try {
        loaded = await WebAssembly.instantiateStreaming(response.clone(), imports);
    } catch (e) {
        // Served without `application/wasm` (or a browser without streaming): from the bytes.
        loaded = await WebAssembly.instantiate(await response.arrayBuffer(), imports);
    }
    return __wbg_finalize_init(loaded.instance, loaded.module);
}

export { __wbg_init as default };
"#;

fn own_loader(glue: &str) -> Result<String> {
    let start = glue.find(WBG_LOADER_START).ok_or_else(|| {
        format!("wasm-bindgen's glue has no `{WBG_LOADER_START}`: its loader changed; update xtask/src/sdk.rs")
    })?;
    Ok(format!("{}{OWN_LOADER}", &glue[..start]))
}

/// The glue's declarations to match [`OWN_LOADER`] (no `initSync`, and the default export
/// takes a URL) and `js/push.js`.
fn own_loader_types(types: &str) -> Result<String> {
    let start = types.find("export type SyncInitInput").ok_or(
        "wasm-bindgen's glue types have no `SyncInitInput`: their loader changed; update xtask/src/sdk.rs",
    )?;
    Ok(format!(
        "{}/** Loads and starts the wasm, once; `module_or_path` defaults to the wasm beside this file. */\n\
         export default function __wbg_init(options?: {{ module_or_path?: string | URL }}): Promise<InitOutput>;\n\
         /** Registers the service worker, asks permission and subscribes; records `push_permission` and\n\
         \x20* `push_subscribe`. Resolves to the subscription, or rejects with an `Error` that says why. */\n\
         export function subscribePush(options: PushOptions): Promise<PushSubscription>;\n",
        &types[..start]
    ))
}

/// Applies wasm-opt's renaming (its `--minify-imports-and-exports-and-modules` report, JSON on
/// stdout) to the glue. wasm-bindgen names each import `__wbg_<name>_<hash>` and its module
/// `./footprint_sdk_bg.js`: incompressible text, twice (in the wasm and in the glue), that
/// came to a tenth of the gzipped download. The hashed import names are unique words, so a
/// whole-word replacement is exact; exports are only reached as `wasm.<name>`.
fn rename_in_glue(glue: &str, report: &[u8]) -> Result<String> {
    let report: serde_json::Value = serde_json::from_slice(report)
        .map_err(|e| format!("cannot read wasm-opt's renaming report: {e}"))?;
    let pairs = |key: &str| -> Vec<Vec<String>> {
        report[key]
            .as_array()
            .map(|rows| {
                rows.iter()
                    .filter_map(|r| r.as_array())
                    .map(|r| {
                        r.iter()
                            .filter_map(|s| s.as_str().map(str::to_owned))
                            .collect()
                    })
                    .collect()
            })
            .unwrap_or_default()
    };
    let mut out = glue.to_owned();
    let mut modules = Vec::new();
    for row in pairs("imports") {
        let [module, old, new] = row.as_slice() else {
            return Err(format!(
                "unexpected import row in wasm-opt's report: {row:?}"
            ));
        };
        out = replace_word(&out, old, new);
        modules.push(module.clone());
    }
    modules.dedup();
    if let [module] = modules.as_slice() {
        // The pass names the one import module `a`.
        out = out.replace(&format!("\"{module}\""), "\"a\"");
    } else if !modules.is_empty() {
        return Err(format!("expected one import module, found {modules:?}"));
    }
    for row in pairs("exports") {
        let [old, new] = row.as_slice() else {
            return Err(format!(
                "unexpected export row in wasm-opt's report: {row:?}"
            ));
        };
        out = replace_word(&out, &format!("wasm.{old}"), &format!("wasm.{new}"));
    }
    Ok(out)
}

/// Drops code that only the function table keeps alive, and that nothing calls.
///
/// See [`is_dead`]. wasm-bindgen emits a describe function for every import of every linked
/// crate, and js-sys declares hundreds: each one that takes a closure type leaves that type's
/// invoke shim in the table, which is how the describe function named it. Their entries are
/// pointed at one `unreachable` stub instead, which keeps every table index where Rust's
/// vtables expect it, and wasm-opt then drops the code: about 45 shims. (The `wasm-snip` tool
/// does the same to whole functions.) `Display` and `Debug` entries were snipped too while
/// the tracker was `no_std`; serde's errors call them, so they stay. Were a future
/// wasm-bindgen to call a shim through the table, the stub would trap, and the browser tests,
/// where every callback goes through a closure, would fail at once.
fn snip_dead_code(wasm: &Path, wasm_opt: &Path) -> Result {
    let bin = wasm_opt.parent().ok_or("wasm-opt has no directory")?;
    let wat = wasm.with_extension("wat");
    run(
        "wasm-dis (to snip dead code)",
        Command::new(bin.join("wasm-dis"))
            .arg(wasm)
            .arg("-o")
            .arg(&wat),
    )?;
    let text =
        fs::read_to_string(&wat).map_err(|e| format!("cannot read {}: {e}", wat.display()))?;
    let (snipped, count, quieted) = snip_elem(&text)?;
    eprintln!(
        "xtask: {count} dead entries of the function table snipped, {quieted} formatting \
         entries quieted"
    );
    write(&wat, &snipped)?;
    run(
        "wasm-as",
        Command::new(bin.join("wasm-as"))
            // Names kept for the table of what each package costs; stripped later.
            .arg("--debuginfo")
            .args(WASM_OPT_FEATURES)
            .arg(&wat)
            .arg("-o")
            .arg(wasm),
    )?;
    let _ = fs::remove_file(&wat);
    Ok(())
}

/// The text edit behind [`snip_dead_code`]: in the (one) element segment, every entry that
/// [`is_dead`] says nothing calls becomes `$fp_snipped`, and every formatting entry that
/// [`is_quiet`] picks becomes `$fp_quiet`, two functions added before the segment. Returns
/// the text and the two counts.
fn snip_elem(wat: &str) -> Result<(String, usize, usize)> {
    // The formatting stub must have the entry's own type, or a call traps: only entries
    // declared `(param i32 i32) (result i32)`, as `fmt(&self, &mut Formatter)` is, qualify.
    let fmt_shaped: std::collections::HashSet<&str> = wat
        .lines()
        .filter_map(|l| l.strip_prefix(" (func $"))
        .filter_map(|l| {
            let (name, sig) = match l.strip_prefix('"') {
                Some(q) => q.split_once("\" ")?,
                None => l.split_once(' ')?,
            };
            (sig.trim_end() == "(param $0 i32) (param $1 i32) (result i32)").then_some(name)
        })
        .collect();
    let mut out = String::with_capacity(wat.len());
    let (mut count, mut quieted) = (0, 0);
    let mut segments = 0;
    for line in wat.split_inclusive('\n') {
        if !line.starts_with(" (elem ") {
            out.push_str(line);
            continue;
        }
        segments += 1;
        out.push_str(" (func $fp_snipped (unreachable))\n");
        out.push_str(" (func $fp_quiet (param i32 i32) (result i32) (i32.const 0))\n");
        // Function names are `$name` up to a space or `)`, or `$"quoted, with spaces"`.
        let mut rest = line;
        while let Some(i) = rest.find('$') {
            out.push_str(&rest[..i]);
            rest = &rest[i..];
            let end = if let Some(quoted) = rest.strip_prefix("$\"") {
                quoted.find('"').map_or(rest.len(), |e| e + 3)
            } else {
                rest.find([' ', ')', '\n']).unwrap_or(rest.len())
            };
            let name = rest[..end].trim_start_matches('$').trim_matches('"');
            if is_dead(name) {
                out.push_str("$fp_snipped");
                count += 1;
            } else if is_quiet(name) && fmt_shaped.contains(name) {
                out.push_str("$fp_quiet");
                quieted += 1;
            } else {
                out.push_str(&rest[..end]);
            }
            rest = &rest[end..];
        }
        out.push_str(rest);
    }
    if segments != 1 {
        return Err(format!(
            "expected one element segment in the wasm, found {segments}"
        ));
    }
    Ok((out, count, quieted))
}

/// Formatting entries whose output nothing shows: `Display`, `Debug` and serde's `Expected`
/// impls, which format values into serde's error messages and panic messages. They become a
/// stub that writes nothing and reports success: a call cannot trap, and its text is empty.
///
/// Why that changes nothing a shop or a test sees: the tracker builds every text it shows
/// (console warnings, cookies, bodies) by pushing strings, never through `core::fmt`
/// (`cargo xtask sdk` checks the source for formatting macros, see [`check_no_fmt`]); serde's
/// errors are dropped unread (a page's value is copied through JSON first and read through
/// one visitor that takes every JSON value, so they do not even occur); and the tracker never
/// panics (its text is blanked anyway). What it saves is float printing (Grisu and Dragon4),
/// string escaping and the integer formatters: about 9 KB of gzipped wasm.
fn is_quiet(name: &str) -> bool {
    [
        "::fmt::Display>::fmt",
        "::fmt::Debug>::fmt",
        "serde_core::de::Expected>::fmt",
    ]
    .iter()
    .any(|t| name.contains(t))
}

/// Fails when the tracker's source formats text through `core::fmt`, which [`is_quiet`]
/// silences in the build: every text it shows must be built by pushing strings. Test modules
/// (from `#[cfg(test)]` on) and lines marked `// fmt: native only` are not in the wasm.
fn check_no_fmt(src: &Path) -> Result {
    const FORMATTING: [&str; 7] = [
        "format!(",
        "format_args!(",
        "write!(",
        "writeln!(",
        ".to_string()",
        "panic!(",
        "print!(",
    ];
    let mut found = Vec::new();
    let mut dirs = vec![src.to_path_buf()];
    while let Some(dir) = dirs.pop() {
        let entries =
            fs::read_dir(&dir).map_err(|e| format!("cannot read {}: {e}", dir.display()))?;
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                dirs.push(path);
                continue;
            }
            if path.extension().is_none_or(|x| x != "rs") {
                continue;
            }
            let text = fs::read_to_string(&path)
                .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
            let shipped = text.split("#[cfg(test)]").next().unwrap_or("");
            for (i, line) in shipped.lines().enumerate() {
                let code = line.split("//").next().unwrap_or("");
                if FORMATTING.iter().any(|m| code.contains(m))
                    && !line.contains("// fmt: native only")
                {
                    found.push(format!("{}:{}: {}", path.display(), i + 1, line.trim()));
                }
            }
        }
    }
    if found.is_empty() {
        return Ok(());
    }
    Err(format!(
        "the tracker formats text through core::fmt, which its build silences \
         (build the text with push_str instead):\n{}",
        found.join("\n")
    ))
}

/// Table entries nothing calls:
/// - raw closure invoke shims (`wasm_bindgen::convert::closures::_::invoke::h<hash>`):
///   wasm-bindgen 0.2.130 calls the ones in use through exports, never through the table;
/// - js-sys's futures waker functions, which only a `RawWakerVTable` names.
fn is_dead(name: &str) -> bool {
    let shim = name
        .strip_prefix("wasm_bindgen::convert::closures::_::invoke::h")
        .is_some_and(|h| h.len() == 16 && h.bytes().all(|b| b.is_ascii_hexdigit()));
    // `Display` and `Debug` entries stay: serde's errors format their values through them
    // (`invalid type: string "12", expected f64`), so snipping them traps on the first
    // value of the wrong type.
    // js-sys's JSPI task waker: its vtable is static data, but the tracker runs no futures.
    let futures = name.contains("js_sys::futures::");
    shim || futures
}

/// Text in the data section that only a panic message would show: source paths (a panic's
/// `Location`) and core's panic messages.
const PANIC_MESSAGES: [&str; 16] = [
    "slice index starts at ",
    " but ends at ",
    "range start index ",
    "range end index ",
    " out of range for slice of length ",
    "memory allocation of ",
    " bytes failed",
    "copy_from_slice: source slice length (",
    ") does not match destination slice length (",
    "Tried to shrink to a larger capacity",
    "removal index (is ",
    ") should be < len (is ",
    "capacity overflow",
    "RefCell already mutably borrowed",
    "RefCell already borrowed",
    "LazyCell instance has previously been poisoned",
];

/// Overwrites panic-only text in the wasm's data section with zeros, which gzip all but
/// drops: about 0.4 KB of the download.
///
/// Why it is safe: the crate's panic handler never reads its `PanicInfo` (a panic stops the
/// instance, and the code paths are panic-free), and with `core::fmt` snipped nothing else
/// formats a panic message, so no code reads these bytes. The addresses stay where LLVM put
/// them. (On nightly, `-Zlocation-detail=none` and `panic_immediate_abort` would keep the text
/// out in the first place; the stable toolchain cannot.) Source paths are matched by the
/// prefixes rustc writes: `/rustc/<commit>/`, the cargo registry, and this workspace's crates.
fn blank_panic_text(wasm: &Path) -> Result<usize> {
    let mut bytes = fs::read(wasm).map_err(|e| format!("cannot read {}: {e}", wasm.display()))?;
    let data = data_section(&bytes).ok_or("the wasm has no readable data section")?;
    let cargo_home = std::env::var("CARGO_HOME")
        .unwrap_or_else(|_| format!("{}/.cargo", std::env::var("HOME").unwrap_or_default()));
    let registry = format!("{cargo_home}/registry/src/");
    let mut spans = Vec::new();
    let section = &bytes[data.clone()];
    for prefix in [
        "/rustc/",
        registry.as_str(),
        "sdk-wasm/src/",
        "protocol/src/",
    ] {
        for start in find_all(section, prefix.as_bytes()) {
            let path = &section[start..];
            let end = path
                .iter()
                .position(|b| !(b.is_ascii_alphanumeric() || b"/._-".contains(b)))
                .unwrap_or(path.len());
            // A path ends in `.rs`; anything else is left alone.
            if let Some(len) = path[..end].windows(3).rposition(|w| w == b".rs") {
                spans.push(start..start + len + 3);
            }
        }
    }
    for msg in PANIC_MESSAGES {
        spans.extend(find_all(section, msg.as_bytes()).map(|s| s..s + msg.len()));
    }
    let mut count = 0;
    for span in spans {
        let range = data.start + span.start..data.start + span.end;
        count += range.len();
        bytes[range].fill(0);
    }
    write_bytes(wasm, &bytes)?;
    Ok(count)
}

fn find_all<'a>(hay: &'a [u8], needle: &'a [u8]) -> impl Iterator<Item = usize> + 'a {
    hay.windows(needle.len())
        .enumerate()
        .filter(move |(_, w)| *w == needle)
        .map(|(i, _)| i)
}

/// The byte range of the data section (id 11) in a wasm module.
fn data_section(wasm: &[u8]) -> Option<std::ops::Range<usize>> {
    fn leb(b: &[u8], i: &mut usize) -> Option<usize> {
        let (mut n, mut shift) = (0usize, 0);
        loop {
            let byte = *b.get(*i)?;
            *i += 1;
            n |= usize::from(byte & 0x7f).checked_shl(shift)?;
            if byte < 0x80 {
                return Some(n);
            }
            shift += 7;
        }
    }
    let mut i = 8;
    while i < wasm.len() {
        let id = wasm[i];
        i += 1;
        let size = leb(wasm, &mut i)?;
        let body = i..i.checked_add(size)?;
        if id == 11 {
            return (body.end <= wasm.len()).then_some(body);
        }
        i = body.end;
    }
    None
}

/// Replaces `from` where it stands as a whole identifier.
fn replace_word(text: &str, from: &str, to: &str) -> String {
    let ident = |c: char| c.is_ascii_alphanumeric() || c == '_' || c == '$';
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = rest.find(from) {
        let before = rest[..i].chars().next_back();
        let after = rest[i + from.len()..].chars().next();
        out.push_str(&rest[..i]);
        if before.is_some_and(ident) || after.is_some_and(ident) {
            out.push_str(from);
        } else {
            out.push_str(to);
        }
        rest = &rest[i + from.len()..];
    }
    out.push_str(rest);
    out
}

fn package_json(version: &str) -> String {
    format!(
        r#"{{
  "name": "footprint-tracker",
  "version": "{version}",
  "description": "Footprint's browser tracker, compiled from Rust to WebAssembly.",
  "license": "Apache-2.0",
  "type": "module",
  "main": "./index.js",
  "module": "./index.js",
  "types": "./index.d.ts",
  "exports": {{
    ".": {{ "types": "./index.d.ts", "default": "./index.js" }},
    "./raw": {{ "types": "./footprint_sdk.d.ts", "default": "./footprint_sdk.js" }},
    "./footprint_sdk_bg.wasm": "./footprint_sdk_bg.wasm",
    "./loader": "./footprint.js",
    "./sw": "./footprint-sw.js",
    "./package.json": "./package.json"
  }},
  "files": [
    "index.js", "index.d.ts", "footprint_sdk.js", "footprint_sdk.d.ts", "footprint_sdk_bg.wasm",
    "footprint.js", "footprint.d.ts", "footprint-sw.js"
  ],
  "sideEffects": false
}}
"#
    )
}

fn copy(from: &Path, to: &Path) -> Result {
    fs::copy(from, to)
        .map(|_| ())
        .map_err(|e| format!("cannot copy {} to {}: {e}", from.display(), to.display()))
}

fn write_bytes(p: &Path, bytes: &[u8]) -> Result {
    fs::write(p, bytes).map_err(|e| format!("cannot write {}: {e}", p.display()))
}

fn write(p: &Path, text: &str) -> Result {
    fs::write(p, text).map_err(|e| format!("cannot write {}: {e}", p.display()))
}

/// A pinned npm tool (`package@version`) in target/tools, installed when its `bin` is missing
/// or does not report `want` in `--version`.
fn ensure_tool(package: &str, bin: &str, want: &str) -> Result<PathBuf> {
    let tools = root().join("target").join("tools");
    let path = tools.join("node_modules/.bin").join(bin);
    let have = output(Command::new(&path).arg("--version")).unwrap_or_default();
    if have.contains(want) {
        return Ok(path);
    }
    fs::create_dir_all(&tools).map_err(|e| format!("cannot create {}: {e}", tools.display()))?;
    run(
        &format!("npm install {package} ({bin})"),
        Command::new("npm")
            .args(["install", "--no-audit", "--no-fund", "--prefix"])
            .arg(&tools)
            .arg(package),
    )?;
    Ok(path)
}

/// The table of what each package costs (see `sdk_costs`).
fn print_package_costs() -> Result {
    let named = crate::sdk_costs::names_copy();
    let wasm_opt = ensure_tool(BINARYEN, "wasm-opt", "132")?;
    // The shipped build's optimisation, with `--debuginfo` to keep the function names
    // (stripping them in the same pass, as the build does, changes the output by ~0.1 KB).
    run(
        "wasm-opt -Oz, keeping names",
        Command::new(&wasm_opt)
            .args(["-Oz", "--converge", "--debuginfo", "--strip-producers"])
            .args(WASM_OPT_FEATURES)
            .arg(crate::sdk_costs::snipped_copy())
            .arg("-o")
            .arg(&named),
    )?;
    let wasm = fs::read(&named).map_err(|e| format!("cannot read {}: {e}", named.display()))?;
    let shipped = fs::read(pkg_dir().join("footprint_sdk_bg.wasm"))
        .map_err(|e| format!("cannot read the wasm: {e}"))?;
    let gzip = footprint_gzip_len(&shipped);
    let (rows, total) = crate::sdk_costs::code_by_package(&wasm)?;
    println!("\nWhat each package costs: function code in the final wasm ({total} bytes)");
    println!("| package | code | share | ≈ gzip |");
    println!("|---|---|---|---|");
    for (package, bytes) in rows {
        let share = bytes as f64 / total as f64;
        println!(
            "| {package} | {:.1} KB | {:.0} % | {:.1} KB |",
            bytes as f64 / 1024.0,
            share * 100.0,
            share * gzip as f64 / 1024.0
        );
    }
    println!("(≈ gzip: the share of the code times the wasm's gzip size, {gzip} bytes)\n");
    Ok(())
}

/// gzip -9's size of `data`, as the budget test measures it (tests/src/size.rs).
fn footprint_gzip_len(data: &[u8]) -> usize {
    use std::io::Write;
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    let _ = e.write_all(data);
    e.finish().map_or(0, |v| v.len())
}

/// `cargo xtask bench sdk-size`: builds the SDK, then measures it (tests/src/bin/sdk_bench.rs).
pub fn bench() -> Result {
    build()?;
    print_package_costs()?;
    crate::ensure_chromium()?;
    run(
        "building the edge and the SDK bench",
        cargo().args([
            "build",
            "-p",
            "footprint-edge",
            "-p",
            "footprint-e2e",
            "--bins",
        ]),
    )?;
    run(
        "measuring the SDK in headless Chromium",
        cargo().args([
            "run",
            "-q",
            "-p",
            "footprint-e2e",
            "--bin",
            "footprint-sdk-bench",
        ]),
    )
}
