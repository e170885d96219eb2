use std::collections::HashMap;

use footprint_e2e::browser::{html, stub, Chrome, Shop, SITE};
use serde_json::Value;

/// A shop page with the README's snippet; `calls` run before the loader has arrived.
fn shop_page(edge: &str, calls: &str) -> String {
    format!(
        r#"<!doctype html><html><head><meta charset="utf-8"><title>Linen shirt</title>
<script>{log}</script>
<script>{stub}</script>
<script>{calls}</script>
<script async src="{edge}/sdk/v1/footprint.js" data-site-key="{SITE}"></script>
</head><body><h1>Linen shirt</h1></body></html>"#,
        stub = stub(),
        log = footprint_e2e::browser::CONSOLE_CAPTURE
    )
}

async fn tracker_id(chrome: &Chrome) -> String {
    chrome
        .wait_for("window.footprint && typeof window.footprint.trackerId === 'function'")
        .await;
    let id = chrome.eval("return footprint.trackerId();").await;
    match id.as_str() {
        Some(id) => id.to_owned(),
        None => panic!("no tracker id ({id}); console:\n{}", chrome.console().await),
    }
}

async fn flush(chrome: &Chrome) {
    let ok = chrome.eval("return await footprint.flush();").await;
    assert_eq!(ok, Value::Bool(true), "flush did not deliver everything");
}

#[tokio::test(flavor = "multi_thread")]
async fn calls_queued_before_load_land_under_one_tracker_id_across_reloads() {
    let shop = Shop::start(HashMap::new());
    let (site, edge) = (&shop.site, &shop.edge);
    shop.add(
        "/p/sku-1",
        html(&shop_page(
            &edge.url,
            r#"footprint.productView({productId: "sku-1", name: "Linen shirt", price: 49.9, currency: "EUR"});
               footprint.track("size_guide_open", {size: "M"});"#,
        )),
    );

    let chrome = Chrome::start().await;
    chrome
        .goto(&format!("{}/p/sku-1?utm_source=newsletter", site.origin))
        .await;
    let id = tracker_id(&chrome).await;
    flush(&chrome).await;
    let types = edge.types(&id).await;
    assert_eq!(types, ["page_view", "product_view", "custom"], "{id}");
    let first = &edge.events(&id).await[0];
    assert_eq!(first["context"]["utm"]["source"], "newsletter");
    assert!(first["context"]["page_url"]
        .as_str()
        .unwrap()
        .starts_with(&site.origin));

    // A reload keeps the tracker id (cookie and storage), and the stub replays again.
    chrome.client.refresh().await.unwrap();
    let again = tracker_id(&chrome).await;
    assert_eq!(again, id);
    flush(&chrome).await;
    assert_eq!(edge.types(&id).await.len(), 6);

    // The cookie is first-party on the shop's origin, and small.
    let cookie = chrome.eval("return document.cookie;").await;
    let cookie = cookie.as_str().unwrap();
    assert!(cookie.contains(&format!("fp_tid={id}")), "{cookie}");
    chrome.close().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_queued_call_keeps_the_time_it_was_made() {
    let shop = Shop::start(HashMap::new());
    let edge = &shop.edge;
    // The loader arrives 1.5 s after the call: a slow network.
    let page = format!(
        r#"<!doctype html><html><head><meta charset="utf-8"><title>slow</title>
<script>{stub}</script>
<script>footprint.track("early");
setTimeout(function () {{
  var s = document.createElement("script");
  s.src = "{edge}/sdk/v1/footprint.js";
  s.setAttribute("data-site-key", "{SITE}");
  document.head.appendChild(s);
}}, 1500);</script>
</head><body></body></html>"#,
        stub = stub(),
        edge = edge.url
    );
    let url = shop.add("/", html(&page));
    let chrome = Chrome::start().await;
    chrome.goto(&url).await;
    let id = tracker_id(&chrome).await;
    flush(&chrome).await;
    let events = edge.events(&id).await;
    let at = |ty: &str| {
        let e = events
            .iter()
            .find(|e| e["type"] == ty)
            .unwrap_or_else(|| panic!("no {ty}"));
        let t = e["client_timestamp"].as_str().unwrap();
        footprint_protocol::Timestamp::parse(t).unwrap().as_millis()
    };
    // The page view is made when the tracker starts; the queued call 1.5 s before that.
    let early_ms = at("page_view") - at("custom");
    assert!(
        early_ms >= 1_200,
        "the queued call carries its own time: {early_ms} ms before the page view"
    );
    chrome.close().await;
}

#[test]
fn the_readme_shows_the_stub_the_tests_use() {
    let readme =
        std::fs::read_to_string(footprint_e2e::browser::workspace().join("README.md")).unwrap();
    assert!(
        readme.contains(stub().trim()),
        "README.md's snippet differs from sdk-wasm/js/stub.js"
    );
    assert!(readme.contains("/sdk/v1/footprint.js\" data-site-key="));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_csp_without_wasm_unsafe_eval_leaves_working_no_ops_and_one_warning() {
    let shop = Shop::start(HashMap::new());
    let edge = &shop.edge;
    let csp = format!(
        r#"<meta http-equiv="Content-Security-Policy" content="script-src 'unsafe-inline' {}">"#,
        edge.url
    );
    let page = shop_page(&edge.url, "footprint.page();").replacen(
        "<meta charset=\"utf-8\">",
        &format!("<meta charset=\"utf-8\">{csp}"),
        1,
    );
    let url = shop.add("/", html(&page));
    let chrome = Chrome::start().await;
    chrome.goto(&url).await;
    // The stub is an array; the loader replaces it, here with no-ops.
    chrome
        .wait_for("window.footprint && !Array.isArray(window.footprint)")
        .await;
    let r = chrome
        .eval(
            "const a = footprint.productView({productId: 'x'});\
             let rejected = false; try { await footprint.flush(); } catch (e) { rejected = true; }\
             return [a, rejected];",
        )
        .await;
    assert_eq!(r, serde_json::json!([false, true]));
    let log = chrome.console().await;
    let warnings: Vec<&str> = log.lines().filter(|l| l.contains("footprint")).collect();
    assert_eq!(warnings.len(), 1, "{log}");
    assert!(warnings[0].contains("tracker unavailable"), "{log}");
    chrome.close().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn behind_the_shops_own_proxy_every_request_stays_on_the_shops_domain() {
    // The shop's server forwards /t/ to the edge, which serves the loader at /t/fp.js and
    // takes batches at /t/e (`[first_party]`); the page names only its own origin.
    let shop = Shop::start_first_party();
    let (site, edge) = (&shop.site, &shop.edge);
    let page = format!(
        r#"<!doctype html><html><head><meta charset="utf-8"><title>Linen shirt</title>
<script>{log}</script>
<script>{stub}</script>
<script>footprint.productView({{productId: "sku-1", name: "Linen shirt", price: 49.9, currency: "EUR"}});</script>
<script async src="/t/fp.js" data-site-key="{SITE}"></script>
</head><body><h1>Linen shirt</h1></body></html>"#,
        stub = stub(),
        log = footprint_e2e::browser::CONSOLE_CAPTURE
    );
    shop.add("/p/sku-1", html(&page));

    let chrome = Chrome::start().await;
    chrome.goto(&format!("{}/p/sku-1", site.origin)).await;
    let id = tracker_id(&chrome).await;
    flush(&chrome).await;
    assert_eq!(edge.types(&id).await, ["page_view", "product_view"], "{id}");
    let fetched = chrome
        .eval(
            "return performance.getEntriesByType('resource').map(function (e) { return e.name; });",
        )
        .await;
    let fetched: Vec<&str> = fetched
        .as_array()
        .unwrap()
        .iter()
        .filter_map(Value::as_str)
        .collect();
    // The page fetched the tracker from its own origin, and sent its batches there too: the
    // shop's proxy carried all of it (a batch's `keepalive` fetch is not in resource timing).
    assert!(
        fetched.iter().all(|u| u.starts_with(&site.origin)),
        "a request left the shop's domain: {fetched:?}"
    );
    let forwarded = site.forwarded.lock().unwrap().clone();
    for want in ["GET /t/fp.js", "GET /t/b/", "POST /t/e"] {
        assert!(
            forwarded.iter().any(|f| f.starts_with(want)),
            "the proxy carried no {want}: {forwarded:?}"
        );
    }
    chrome.close().await;
}
