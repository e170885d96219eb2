//! The tracker's download size, from the SDK build (`cargo xtask sdk`): the loader's budget of
//! issue 4 and the whole download's of issue 18.
//! `cargo xtask bench sdk-size` prints the same figures as a table.

use footprint_e2e::browser::sdk_dir;
use footprint_e2e::size;

#[test]
fn the_loader_stays_within_one_kilobyte_gzipped() {
    let sizes = size::measure(&sdk_dir());
    let loader = sizes.iter().find(|f| f.name == "loader").unwrap();
    assert!(
        loader.gzip <= 1024,
        "the loader is {} bytes gzipped; the script tag's budget is 1 KB",
        loader.gzip
    );
}

#[test]
fn what_a_page_downloads_stays_within_the_budget() {
    let sizes = size::measure(&sdk_dir());
    let total: usize = sizes.iter().map(|f| f.gzip).sum();
    assert!(
        total <= size::BUDGET_GZIP,
        "loader + glue + wasm is {total} bytes gzipped, over the budget of {} bytes; \
         `cargo xtask bench sdk-size` shows each file, and BENCHMARKS.md where the bytes go:\n{}",
        size::BUDGET_GZIP,
        size::table(&sizes)
    );
}
