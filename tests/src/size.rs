//! What a page downloads to run the tracker: the loader, the glue and the wasm, measured raw,
//! gzip -9 and brotli 11. Shared by the budget test and `cargo xtask bench sdk-size`.

use std::io::Write;
use std::path::Path;

/// The hard budget for loader + glue + wasm, gzip -9: issue 18's, once the tracker is on the
/// design card's packages (serde, serde-wasm-bindgen, gloo), which cost bytes our own
/// readers did not. Segment's analytics-next is about 30 KB.
pub const BUDGET_GZIP: usize = 60 * 1024;
/// Our target on those packages.
pub const TARGET_GZIP: usize = 40 * 1024;

pub struct FileSize {
    pub name: &'static str,
    pub raw: usize,
    pub gzip: usize,
    pub brotli: usize,
}

pub fn gzip(data: &[u8]) -> usize {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    e.write_all(data).unwrap();
    e.finish().unwrap().len()
}

pub fn brotli(data: &[u8]) -> usize {
    let mut out = Vec::new();
    let params = brotli::enc::BrotliEncoderParams {
        quality: 11,
        ..Default::default()
    };
    brotli::BrotliCompress(&mut &data[..], &mut out, &params).unwrap();
    out.len()
}

/// The three files a script-tag page downloads, from an SDK build directory.
pub fn measure(pkg: &Path) -> Vec<FileSize> {
    [
        ("loader", "footprint.js"),
        ("glue", "footprint_sdk.js"),
        ("wasm", "footprint_sdk_bg.wasm"),
    ]
    .into_iter()
    .map(|(name, file)| {
        let data = std::fs::read(pkg.join(file))
            .unwrap_or_else(|e| panic!("{}: {e}; run `cargo xtask sdk`", pkg.join(file).display()));
        FileSize {
            name,
            raw: data.len(),
            gzip: gzip(&data),
            brotli: brotli(&data),
        }
    })
    .collect()
}

/// A Markdown table of the sizes with a total row.
pub fn table(sizes: &[FileSize]) -> String {
    let mut s = String::from("| file | raw | gzip -9 | brotli 11 |\n|---|---|---|---|\n");
    let kb = |n: usize| format!("{:.1} KB", n as f64 / 1024.0);
    for f in sizes {
        s.push_str(&format!(
            "| {} | {} | {} | {} |\n",
            f.name,
            kb(f.raw),
            kb(f.gzip),
            kb(f.brotli)
        ));
    }
    let sum = |f: fn(&FileSize) -> usize| sizes.iter().map(f).sum::<usize>();
    s.push_str(&format!(
        "| **total** | {} | **{}** | {} |\n",
        kb(sum(|f| f.raw)),
        kb(sum(|f| f.gzip)),
        kb(sum(|f| f.brotli))
    ));
    s
}
