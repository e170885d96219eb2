//! `cargo xtask bench sdk-size`: the tracker's download size, its cost per tracking call, and
//! the time to a ready tracker, measured in headless Chromium against the real edge.

use footprint_e2e::browser::{html, pkg_files, sdk_dir, Chrome, Shop, CONSOLE_CAPTURE, SITE};
use footprint_e2e::size;

const ROUNDS: usize = 50;
const CALLS: usize = 20;

#[tokio::main]
async fn main() {
    let sizes = size::measure(&sdk_dir());
    println!("{}", size::table(&sizes));
    let total: usize = sizes.iter().map(|f| f.gzip).sum();
    println!(
        "gzip total {:.1} KB: budget {:.0} KB {}, target {:.0} KB {}",
        total as f64 / 1024.0,
        size::BUDGET_GZIP as f64 / 1024.0,
        if total <= size::BUDGET_GZIP {
            "met"
        } else {
            "MISSED"
        },
        size::TARGET_GZIP as f64 / 1024.0,
        if total <= size::TARGET_GZIP {
            "met"
        } else {
            "missed"
        },
    );

    let shop = Shop::start(pkg_files());
    let (site, edge) = (&shop.site, &shop.edge);
    // Time to ready: from just before the import to a tracker that accepts calls; the files
    // come from loopback, so this is compile, instantiate and start, not the network.
    let page = format!(
        r#"<!doctype html><html><head><meta charset="utf-8"><title>bench</title>
<script>{CONSOLE_CAPTURE}</script>
<script type="module">
const t0 = performance.now();
const m = await import("/pkg/index.js");
window.tracker = await m.init({{ endpoint: "{edge}", siteKey: "{SITE}", autoPageviews: false, flushIntervalMs: 600000 }});
window.readyMs = performance.now() - t0;
</script></head><body></body></html>"#,
        edge = edge.url
    );
    shop.add("/", html(&page));

    let chrome = Chrome::start().await;
    let mut ready = Vec::new();
    for i in 0..5 {
        // A fresh load each time; the first one also fills the HTTP cache.
        chrome.goto(&format!("{}/?{i}", site.origin)).await;
        chrome.wait_for("window.readyMs !== undefined").await;
        ready.push(
            chrome
                .eval("return window.readyMs;")
                .await
                .as_f64()
                .unwrap(),
        );
    }
    // Per call: rounds of 20 productView calls (a flush between rounds keeps the queue at a
    // realistic size), timed together because Chrome coarsens performance.now() to 100 µs.
    let per_call = chrome
        .eval(&format!(
            "const p = {{productId: 'sku-1', name: 'Linen shirt', price: 49.9, currency: 'EUR', category: 'Shirts'}};\
             const out = [];\
             for (let r = 0; r < {ROUNDS}; r++) {{\
               const t0 = performance.now();\
               for (let i = 0; i < {CALLS}; i++) tracker.productView(p);\
               out.push((performance.now() - t0) * 1000 / {CALLS});\
               await tracker.flush();\
             }}\
             return out;"
        ))
        .await;
    // Alone: one call per task, its storage write included (it runs in the microtask the
    // `await` waits behind).
    let alone = chrome
        .eval(
            "const p = {productId: 'sku-1', name: 'Linen shirt', price: 49.9, currency: 'EUR', category: 'Shirts'};\
             let total = 0; const n = 400;\
             for (let i = 0; i < n; i++) {\
               if (i % 20 === 0) await tracker.flush();\
               await new Promise(r => setTimeout(r, 0));\
               const t0 = performance.now();\
               tracker.productView(p);\
               await null;\
               total += performance.now() - t0;\
             }\
             return total * 1000 / n;",
        )
        .await
        .as_f64()
        .unwrap();
    let mut per_call: Vec<f64> = per_call
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|v| v.as_f64())
        .collect();
    per_call.sort_by(f64::total_cmp);
    ready.sort_by(f64::total_cmp);
    let pct = |v: &[f64], p: f64| v[((v.len() - 1) as f64 * p).round() as usize];
    println!(
        "time to ready (import → tracker, {} loads): median {:.1} ms, max {:.1} ms",
        ready.len(),
        pct(&ready, 0.5),
        ready[ready.len() - 1]
    );
    println!(
        "cost per productView call, {CALLS} in one task ({} rounds): median {:.0} µs, p90 {:.0} µs",
        per_call.len(),
        pct(&per_call, 0.5),
        pct(&per_call, 0.9)
    );
    println!("cost per productView call, one per task with its storage write (mean of 400): {alone:.0} µs");
    chrome.close().await;
}
