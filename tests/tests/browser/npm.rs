//! The npm package as a developer meets it: `npm pack`, install the tarball into a small
//! TypeScript app, type-check it against the package's `.d.ts`, bundle it with esbuild, and run
//! the bundle in Chromium against the real edge.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use footprint_e2e::browser::{sdk_dir, workspace, Chrome, Edge, Site, SITE};

fn npm(dir: &Path, args: &[&str]) -> String {
    let out = Command::new("npm")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("npm (Node.js) on PATH");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "npm {args:?} failed:\n{text}");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[tokio::test(flavor = "multi_thread")]
async fn the_packed_package_installs_type_checks_bundles_and_tracks() {
    let tmp = tempfile::tempdir().unwrap();
    let packed = npm(
        &sdk_dir(),
        &["pack", "--pack-destination", tmp.path().to_str().unwrap()],
    );
    let tarball = tmp.path().join(packed.lines().last().unwrap().trim());
    assert!(tarball.exists(), "{packed}");

    let app = tmp.path().join("app");
    std::fs::create_dir_all(app.join("src")).unwrap();
    let src = workspace().join("tests/npm-app");
    for f in [
        "package.json",
        "tsconfig.json",
        "index.html",
        "src/main.ts",
        "src/wasm.d.ts",
    ] {
        std::fs::copy(src.join(f), app.join(f)).unwrap();
    }
    npm(
        &app,
        &[
            "install",
            "--no-audit",
            "--no-fund",
            tarball.to_str().unwrap(),
        ],
    );
    // The package's own files, as npm installed them: nothing the package.json leaves out.
    let installed = app.join("node_modules/footprint-tracker");
    for f in [
        "index.js",
        "index.d.ts",
        "footprint_sdk_bg.wasm",
        "footprint.js",
        "footprint-sw.js",
    ] {
        assert!(installed.join(f).exists(), "{f} missing from the package");
    }
    npm(&app, &["exec", "--", "tsc", "-p", "."]);
    npm(
        &app,
        &[
            "exec",
            "--",
            "esbuild",
            "src/main.ts",
            "--bundle",
            "--format=esm",
            "--loader:.wasm=file",
            "--outfile=dist/main.js",
        ],
    );

    let mut files = std::collections::HashMap::new();
    for entry in std::fs::read_dir(app.join("dist")).unwrap() {
        let p = entry.unwrap().path();
        let name = p.file_name().unwrap().to_string_lossy().into_owned();
        let ctype = if name.ends_with(".wasm") {
            "application/wasm"
        } else {
            "text/javascript; charset=utf-8"
        };
        files.insert(
            format!("/{name}"),
            (ctype.to_owned(), std::fs::read(&p).unwrap()),
        );
    }
    files.insert(
        "/index.html".to_owned(),
        footprint_e2e::browser::html(&std::fs::read_to_string(app.join("index.html")).unwrap()),
    );
    let site = Site::start(files);
    let edge = Edge::start(&site.origin);
    let chrome = Chrome::start().await;
    chrome
        .goto(&format!(
            "{}/index.html?edge={}&site={SITE}",
            site.origin, edge.url
        ))
        .await;
    chrome.wait_for("window.tracker").await;
    let id = chrome.eval("return tracker.trackerId();").await;
    let id = id.as_str().expect("a tracker from the bundle").to_owned();

    let deadline = Instant::now() + Duration::from_secs(20);
    let types = loop {
        let t = edge.types(&id).await;
        if t.len() >= 4 || Instant::now() > deadline {
            break t;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(types, ["page_view", "product_view", "cart_add", "identify"]);
    chrome.close().await;
}
