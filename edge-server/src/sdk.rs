//! The tracker's files, served for the script tag: the loader at a stable URL, and the glue and
//! wasm at URLs named by their build id, so that they can be cached for a year.
//!
//! The files come from `cargo xtask sdk`'s output directory (`sdk_dir`), read once at start.
//! The build id is a hash of the glue and the wasm; the loader is served with it written in, so
//! a new build reaches browsers within the loader's five-minute cache.

use std::collections::HashMap;
use std::path::Path;

use bytes::Bytes;
use sha2::{Digest, Sha256};

/// One file, ready to serve.
#[derive(Debug, Clone)]
pub struct Asset {
    /// Shared, so a response clones a pointer rather than the 100 KB of wasm.
    pub body: Bytes,
    pub content_type: &'static str,
    /// A strong validator: the hash of the body, quoted.
    pub etag: String,
    /// Named by content: cache for a year. Otherwise for five minutes.
    pub immutable: bool,
}

#[derive(Debug, Clone)]
pub struct SdkAssets {
    build: String,
    loader: Asset,
    worker: Asset,
    versioned: HashMap<&'static str, Asset>,
}

/// Files of the versioned set: the wasm-bindgen glue and the wasm it loads.
const GLUE: &str = "footprint_sdk.js";
const WASM: &str = "footprint_sdk_bg.wasm";
const JS: &str = "text/javascript; charset=utf-8";

fn hash_hex(parts: &[&[u8]], len: usize) -> String {
    let mut h = Sha256::new();
    for p in parts {
        h.update(p);
    }
    hex::encode(h.finalize())[..len].to_owned()
}

fn asset(body: Vec<u8>, content_type: &'static str, immutable: bool) -> Asset {
    let etag = format!("\"{}\"", hash_hex(&[&body], 32));
    Asset {
        body: Bytes::from(body),
        content_type,
        etag,
        immutable,
    }
}

impl SdkAssets {
    /// Reads the SDK build in `dir`. The error names the missing file and how to make it.
    pub fn load(dir: &Path) -> Result<SdkAssets, String> {
        let read = |name: &str| {
            std::fs::read(dir.join(name)).map_err(|e| {
                format!(
                    "cannot read {}: {e}; build the SDK with `cargo xtask sdk`",
                    dir.join(name).display()
                )
            })
        };
        let glue = read(GLUE)?;
        let wasm = read(WASM)?;
        let build = hash_hex(&[&glue, &wasm], 16);
        let loader = String::from_utf8(read("footprint.js")?)
            .map_err(|_| "footprint.js is not UTF-8".to_owned())?
            .replace("__FP_BUILD__", &build);
        let mut versioned = HashMap::new();
        versioned.insert(GLUE, asset(glue, JS, true));
        versioned.insert(WASM, asset(wasm, "application/wasm", true));
        Ok(SdkAssets {
            loader: asset(loader.into_bytes(), JS, false),
            worker: asset(read("footprint-sw.js")?, JS, false),
            versioned,
            build,
        })
    }

    pub fn build(&self) -> &str {
        &self.build
    }

    pub fn loader(&self) -> &Asset {
        &self.loader
    }

    pub fn worker(&self) -> &Asset {
        &self.worker
    }

    /// A versioned file, only under the current build id: an old id is a 404 rather than new
    /// bytes under an old, year-long-cached name.
    pub fn versioned(&self, build: &str, file: &str) -> Option<&Asset> {
        (build == self.build)
            .then(|| self.versioned.get(file))
            .flatten()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_loader_names_the_build_and_old_builds_are_gone() {
        let dir = tempfile::tempdir().unwrap();
        for (name, body) in [
            (GLUE, "glue"),
            (WASM, "\0asm"),
            ("footprint.js", "import('/sdk/v1/b/__FP_BUILD__/x')"),
            ("footprint-sw.js", "sw"),
        ] {
            std::fs::write(dir.path().join(name), body).unwrap();
        }
        let a = SdkAssets::load(dir.path()).unwrap();
        let loader = String::from_utf8(a.loader().body.to_vec()).unwrap();
        assert!(loader.contains(a.build()) && !loader.contains("__FP_BUILD__"));
        assert!(a.versioned(a.build(), WASM).is_some());
        assert!(a.versioned("0000", WASM).is_none());
        assert!(a.versioned(a.build(), "Cargo.toml").is_none());
        std::fs::remove_file(dir.path().join(WASM)).unwrap();
        let err = SdkAssets::load(dir.path()).unwrap_err();
        assert!(err.contains("footprint_sdk_bg.wasm") && err.contains("cargo xtask sdk"));
    }
}
