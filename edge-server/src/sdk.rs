//! The tracker's files, served for the script tag: the loader at a stable URL, and the glue and
//! wasm at URLs named by their build id, so that they can be cached for a year.
//!
//! The files come from `cargo xtask sdk`'s output directory (`sdk_dir`), read once at start.
//! The build id is a hash of the glue and the wasm; the loader is served with it written in, so
//! a new build reaches browsers within the loader's five-minute cache. The loader also gets the
//! path of the batch endpoint written in: `/v1/batch`, or for the first-party loader the
//! configured `first_party.batch_path`. It resolves both against its own URL, so that behind
//! a reverse proxy on the shop's domain every request stays on that domain.
//!
//! Each file is compressed once, at start, at the highest settings (brotli 11, gzip 9): what a
//! shopper downloads is the smallest form their browser takes, and no request pays for
//! compression. The representation is picked by `Accept-Encoding` ([`Asset::pick`]), with a
//! strong ETag of its own.

use std::collections::HashMap;
use std::path::Path;

use bytes::Bytes;
use sha2::{Digest, Sha256};

use crate::config::FirstParty;

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
    /// The body compressed, best first: brotli, then gzip.
    pub encoded: Vec<Encoded>,
}

/// A compressed representation of an asset.
#[derive(Debug, Clone)]
pub struct Encoded {
    /// The `Content-Encoding` token: `br` or `gzip`.
    pub coding: &'static str,
    pub body: Bytes,
    /// The identity's ETag with the coding added: each representation validates apart.
    pub etag: String,
}

/// What to send for one request: a body, its ETag, and its `Content-Encoding` if any.
pub struct Chosen<'a> {
    pub body: &'a Bytes,
    pub etag: &'a str,
    pub coding: Option<&'static str>,
}

impl Asset {
    /// The representation for a request's `Accept-Encoding`: the first of ours (brotli, then
    /// gzip) that it accepts with a quality above 0, else the file as it is.
    pub fn pick(&self, accept_encoding: Option<&str>) -> Chosen<'_> {
        let accepted = |coding: &str| {
            accept_encoding.is_some_and(|header| {
                header.split(',').any(|item| {
                    let mut parts = item.split(';').map(str::trim);
                    let name = parts.next().unwrap_or("");
                    let refused = parts.any(|p| {
                        p.strip_prefix("q=")
                            .and_then(|q| q.parse::<f32>().ok())
                            .is_some_and(|q| q <= 0.0)
                    });
                    name.eq_ignore_ascii_case(coding) && !refused
                })
            })
        };
        match self.encoded.iter().find(|e| accepted(e.coding)) {
            Some(e) => Chosen {
                body: &e.body,
                etag: &e.etag,
                coding: Some(e.coding),
            },
            None => Chosen {
                body: &self.body,
                etag: &self.etag,
                coding: None,
            },
        }
    }
}

/// `body` in brotli (quality 11) and gzip (level 9), when each is smaller than it.
fn compress(body: &[u8], etag_hash: &str) -> Vec<Encoded> {
    use std::io::Write;
    let mut out = Vec::new();
    let mut br = Vec::new();
    let params = brotli::enc::BrotliEncoderParams {
        quality: 11,
        lgwin: 22,
        ..Default::default()
    };
    if brotli::BrotliCompress(&mut &body[..], &mut br, &params).is_ok() {
        out.push(("br", br));
    }
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    if let Ok(gz) = gz.write_all(body).and_then(|()| gz.finish()) {
        out.push(("gzip", gz));
    }
    out.into_iter()
        .filter(|(_, b)| b.len() < body.len())
        .map(|(coding, b)| Encoded {
            coding,
            body: Bytes::from(b),
            etag: format!("\"{etag_hash}-{coding}\""),
        })
        .collect()
}

#[derive(Debug, Clone)]
pub struct SdkAssets {
    build: String,
    loader: Asset,
    worker: Asset,
    versioned: HashMap<&'static str, Asset>,
    /// The first-party paths and the loader that sends batches to theirs.
    first_party: Option<(FirstParty, Asset)>,
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
    let hash = hash_hex(&[&body], 32);
    Asset {
        encoded: compress(&body, &hash),
        body: Bytes::from(body),
        content_type,
        etag: format!("\"{hash}\""),
        immutable,
    }
}

impl SdkAssets {
    /// Reads the SDK build in `dir`, with a loader for the first-party paths when they are
    /// configured. The error names the missing file and how to make it.
    pub fn load(dir: &Path, first_party: Option<&FirstParty>) -> Result<SdkAssets, String> {
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
        let template = String::from_utf8(read("footprint.js")?)
            .map_err(|_| "footprint.js is not UTF-8".to_owned())?
            .replace("__FP_BUILD__", &build);
        let loader = |batch: &str| {
            asset(
                template.replace("__FP_BATCH__", batch).into_bytes(),
                JS,
                false,
            )
        };
        let mut versioned = HashMap::new();
        versioned.insert(GLUE, asset(glue, JS, true));
        versioned.insert(WASM, asset(wasm, "application/wasm", true));
        Ok(SdkAssets {
            loader: loader("/v1/batch"),
            worker: asset(read("footprint-sw.js")?, JS, false),
            versioned,
            first_party: first_party.map(|fp| (fp.clone(), loader(&fp.batch_path))),
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

    /// The first-party paths, if configured, and their loader.
    pub fn first_party(&self) -> Option<(&FirstParty, &Asset)> {
        self.first_party.as_ref().map(|(f, a)| (f, a))
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
    fn the_smallest_accepted_representation_is_picked() {
        let a = asset("let x = 1;\n".repeat(200).into_bytes(), JS, false);
        assert_eq!(a.encoded.len(), 2);
        let br = a.pick(Some("gzip, deflate, br, zstd"));
        assert_eq!(br.coding, Some("br"));
        assert!(
            br.body.len() < a.encoded[1].body.len(),
            "brotli is the smaller"
        );
        assert_ne!(br.etag, a.etag);
        assert_eq!(a.pick(Some("gzip")).coding, Some("gzip"));
        assert_eq!(a.pick(Some("br;q=0, gzip;q=0.5")).coding, Some("gzip"));
        assert_eq!(a.pick(Some("identity")).coding, None);
        assert_eq!(a.pick(None).coding, None);
        let mut inflated = Vec::new();
        std::io::Read::read_to_end(
            &mut flate2::read::GzDecoder::new(&a.encoded[1].body[..]),
            &mut inflated,
        )
        .unwrap();
        assert_eq!(inflated, a.body.to_vec());
    }

    #[test]
    fn the_loader_names_the_build_and_old_builds_are_gone() {
        let dir = tempfile::tempdir().unwrap();
        for (name, body) in [
            (GLUE, "glue"),
            (WASM, "\0asm"),
            (
                "footprint.js",
                "import('b/__FP_BUILD__/x'); send('__FP_BATCH__')",
            ),
            ("footprint-sw.js", "sw"),
        ] {
            std::fs::write(dir.path().join(name), body).unwrap();
        }
        let fp = FirstParty {
            loader_path: "/t/fp.js".into(),
            batch_path: "/t/e".into(),
        };
        let a = SdkAssets::load(dir.path(), Some(&fp)).unwrap();
        let text = |a: &Asset| String::from_utf8(a.body.to_vec()).unwrap();
        let loader = text(a.loader());
        assert!(loader.contains(a.build()) && !loader.contains("__FP_BUILD__"));
        assert!(loader.contains("send('/v1/batch')"), "{loader}");
        let (paths, first_party) = a.first_party().unwrap();
        assert_eq!(paths, &fp);
        let first_party = text(first_party);
        assert!(first_party.contains(a.build()) && first_party.contains("send('/t/e')"));
        assert!(a.versioned(a.build(), WASM).is_some());
        assert!(a.versioned("0000", WASM).is_none());
        assert!(a.versioned(a.build(), "Cargo.toml").is_none());
        // A file too small to gain is not compressed; the loader's text is.
        assert!(a.versioned(a.build(), WASM).unwrap().encoded.is_empty());
        std::fs::remove_file(dir.path().join(WASM)).unwrap();
        let err = SdkAssets::load(dir.path(), None).unwrap_err();
        assert!(err.contains("footprint_sdk_bg.wasm") && err.contains("cargo xtask sdk"));
    }
}
