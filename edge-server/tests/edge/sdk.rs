//! The script-tag files under /sdk/v1/: caching, validators, CORS, and a clear 404 when the edge
//! has no SDK build. The files here are stand-ins; the real build is exercised in a browser by
//! the cross-origin test in `tests/`.

use crate::util::{config, Edge, NO_LIMITS};

fn edge_with_sdk() -> Edge {
    let sdk = tempfile::tempdir().unwrap().keep();
    let glue = "export default async function () {}\n".repeat(100);
    for (name, body) in [
        ("footprint_sdk.js", glue.as_str()),
        ("footprint_sdk_bg.wasm", "\0asm\u{1}\0\0\0"),
        (
            "footprint.js",
            "import('/sdk/v1/b/__FP_BUILD__/footprint_sdk.js')",
        ),
        ("footprint-sw.js", "self.footprintSW = {}"),
    ] {
        std::fs::write(sdk.join(name), body).unwrap();
    }
    // A top-level key goes before the tables.
    Edge::start_with(&format!(
        "sdk_dir = \"{}\"\n{}",
        sdk.display(),
        config(NO_LIMITS)
    ))
}

/// The build id the loader names.
fn build_of(loader: &str) -> String {
    loader
        .split("/sdk/v1/b/")
        .nth(1)
        .and_then(|s| s.split('/').next())
        .unwrap()
        .to_owned()
}

#[test]
fn the_loader_names_the_current_build_and_is_cached_briefly() {
    let edge = edge_with_sdk();
    let r = edge.get("/sdk/v1/footprint.js", None);
    assert_eq!(r.status, 200);
    assert_eq!(
        r.header("content-type"),
        Some("text/javascript; charset=utf-8")
    );
    assert_eq!(r.header("cache-control"), Some("public, max-age=300"));
    assert_eq!(r.header("access-control-allow-origin"), Some("*"));
    let build = build_of(&r.text);
    assert_eq!(build.len(), 16, "{}", r.text);

    let wasm = edge.get(&format!("/sdk/v1/b/{build}/footprint_sdk_bg.wasm"), None);
    assert_eq!(wasm.status, 200);
    assert_eq!(wasm.header("content-type"), Some("application/wasm"));
    assert_eq!(
        wasm.header("cache-control"),
        Some("public, max-age=31536000, immutable")
    );
    let glue = edge.get(&format!("/sdk/v1/b/{build}/footprint_sdk.js"), None);
    assert_eq!(glue.status, 200);
    assert_eq!(
        glue.header("cross-origin-resource-policy"),
        Some("cross-origin")
    );

    edge.get("/sdk/v1/b/0123456789abcdef/footprint_sdk_bg.wasm", None)
        .assert_error(404, "not_found");
    edge.get(&format!("/sdk/v1/b/{build}/edge.toml"), None)
        .assert_error(404, "not_found");
}

#[test]
fn the_tracker_is_served_precompressed_by_accept_encoding() {
    let edge = edge_with_sdk();
    let build = build_of(&edge.get("/sdk/v1/footprint.js", None).text);
    let url = format!("{}/sdk/v1/b/{build}/footprint_sdk.js", edge.url);
    let get = |accept: Option<&str>, etag: Option<&str>| {
        let mut r = edge.client.get(&url);
        if let Some(a) = accept {
            r = r.header("accept-encoding", a);
        }
        if let Some(e) = etag {
            r = r.header("if-none-match", e);
        }
        r.send().unwrap()
    };
    let plain = get(None, None);
    assert_eq!(plain.headers().get("content-encoding"), None);
    assert_eq!(plain.headers().get("timing-allow-origin").unwrap(), "*");
    assert_eq!(plain.headers().get("vary").unwrap(), "Accept-Encoding");
    let plain_etag = plain.headers()["etag"].to_str().unwrap().to_owned();
    let plain_len = plain.bytes().unwrap().len();

    let br = get(Some("gzip, deflate, br"), None);
    assert_eq!(br.headers()["content-encoding"], "br");
    let br_etag = br.headers()["etag"].to_str().unwrap().to_owned();
    assert_ne!(
        br_etag, plain_etag,
        "each representation has its own validator"
    );
    let br_body = br.bytes().unwrap();
    assert!(
        br_body.len() < plain_len / 5,
        "{} of {plain_len}",
        br_body.len()
    );
    let mut text = Vec::new();
    brotli::BrotliDecompress(&mut &br_body[..], &mut text).unwrap();
    assert_eq!(text.len(), plain_len);

    let gz = get(Some("gzip"), None);
    assert_eq!(gz.headers()["content-encoding"], "gzip");
    assert_eq!(get(Some("br"), Some(&br_etag)).status(), 304);
    assert_eq!(
        get(Some("gzip"), Some(&br_etag)).status(),
        200,
        "another representation"
    );
}

#[test]
fn an_unchanged_file_answers_304_to_its_etag() {
    let edge = edge_with_sdk();
    let r = edge.get("/sdk/v1/footprint-sw.js", None);
    let etag = r.header("etag").unwrap().to_owned();
    let again = edge
        .client
        .get(format!("{}/sdk/v1/footprint-sw.js", edge.url))
        .header("if-none-match", &etag)
        .send()
        .unwrap();
    assert_eq!(again.status(), 304);
    let other = edge
        .client
        .get(format!("{}/sdk/v1/footprint-sw.js", edge.url))
        .header("if-none-match", "\"stale\"")
        .send()
        .unwrap();
    assert_eq!(other.status(), 200);
}

#[test]
fn an_edge_without_an_sdk_build_says_how_to_add_one() {
    let edge = Edge::start();
    let r = edge.get("/sdk/v1/footprint.js", None);
    r.assert_error(404, "not_found");
    assert!(r.text.contains("cargo xtask sdk"), "{}", r.text);
}

#[test]
fn a_missing_sdk_dir_stops_the_edge_with_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("edge.toml");
    std::fs::write(
        &cfg,
        format!(
            "sdk_dir = \"{}/nope\"\n{}",
            dir.path().display(),
            config("")
        ),
    )
    .unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_footprint-edge"))
        .arg("--config")
        .arg(&cfg)
        .args(["--listen", "127.0.0.1:0", "--data-dir"])
        .arg(dir.path().join("data"))
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("sdk_dir") && err.contains("cargo xtask sdk"),
        "{err}"
    );
}
