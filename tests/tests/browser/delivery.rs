//! Delivery when the network and the page lifecycle are hostile: retries with backoff, an
//! offline queue that survives a reload, beacons on pagehide, opt-out, consent-gated
//! collection, SPA page views.
//!
//! Pages import the npm build from their own origin (`/pkg/index.js`), as a shop that bundles
//! the package does, and post to the real edge on another origin.

use std::time::{Duration, Instant};

use footprint_e2e::browser::{
    html, pkg_files, Chrome, Edge, FaultProxy, Shop, CONSOLE_CAPTURE, SITE,
};
use serde_json::Value;

/// A page that starts the tracker with `config` (JS object literal members) and exposes it as
/// `window.tracker`.
fn page(endpoint: &str, config: &str) -> (String, Vec<u8>) {
    html(&format!(
        r#"<!doctype html><html><head><meta charset="utf-8"><title>Shop</title>
<script>{CONSOLE_CAPTURE}</script>
<script type="module">
import {{ init }} from "/pkg/index.js";
window.tracker = await init({{ endpoint: "{endpoint}", siteKey: "{SITE}", {config} }});
</script></head><body>shop</body></html>"#
    ))
}

fn setup() -> Shop {
    Shop::start(pkg_files())
}

async fn open(chrome: &Chrome, url: &str) -> String {
    chrome.goto(url).await;
    chrome.wait_for("window.tracker").await;
    let id = chrome.eval("return tracker.trackerId();").await;
    match id.as_str() {
        Some(id) => id.to_owned(),
        None => panic!("no tracker: {id}; console:\n{}", chrome.console().await),
    }
}

async fn wait_for_events(edge: &Edge, tracker: &str, n: usize) -> Vec<String> {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let types = edge.types(tracker).await;
        if types.len() >= n || Instant::now() > deadline {
            return types;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

const PRODUCT: &str = r#"{productId: "sku-1", name: "Linen shirt", price: 49.9, currency: "EUR"}"#;

#[tokio::test(flavor = "multi_thread")]
async fn a_503_is_retried_after_retry_after_and_then_delivered() {
    let s = setup();
    let proxy = FaultProxy::start(&s.edge.url, 2);
    let url = s.add(
        "/",
        page(&proxy.url, "autoPageviews: false, flushIntervalMs: 100"),
    );
    let chrome = Chrome::start().await;
    let id = open(&chrome, &url).await;
    let ok = chrome
        .eval(&format!("return tracker.productView({PRODUCT});"))
        .await;
    assert_eq!(ok, Value::Bool(true));
    let types = wait_for_events(&s.edge, &id, 1).await;
    assert_eq!(types, ["product_view"]);

    // The proxy logs a forwarded post after the edge has answered it, so the event can be
    // visible at the edge a moment before its log entry.
    let deadline = Instant::now() + Duration::from_secs(5);
    while proxy.log.lock().unwrap().len() < 3 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let log = proxy.log.lock().unwrap().clone();
    let statuses: Vec<u16> = log.iter().map(|(_, s)| *s).collect();
    assert_eq!(statuses, [503, 503, 200]);
    // Retry-After: 1 was honoured both times, although the backoff alone would retry sooner.
    for pair in log.windows(2) {
        let gap = pair[1].0 - pair[0].0;
        assert!(gap >= Duration::from_millis(950), "retried after {gap:?}");
    }
    chrome.close().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn events_tracked_offline_survive_a_reload_and_go_when_the_edge_is_back() {
    let mut s = setup();
    let url = s.add("/", page(&s.edge.url, "autoPageviews: false"));
    let chrome = Chrome::start().await;
    let id = open(&chrome, &url).await;
    s.edge.stop();
    for _ in 0..3 {
        chrome
            .eval(&format!("return tracker.cartAdd({PRODUCT});"))
            .await;
    }
    let sent = chrome.eval("return await tracker.flush();").await;
    assert_eq!(sent, Value::Bool(false), "the edge is down");
    assert_eq!(chrome.eval("return tracker.queued();").await, 3);

    chrome.client.refresh().await.unwrap();
    chrome.wait_for("window.tracker").await;
    assert_eq!(
        chrome.eval("return tracker.queued();").await,
        3,
        "queue lost on reload"
    );
    assert_eq!(
        chrome.eval("return tracker.trackerId();").await,
        id.as_str()
    );

    s.edge.restart();
    let sent = chrome.eval("return await tracker.flush();").await;
    assert_eq!(sent, Value::Bool(true), "{}", chrome.console().await);
    assert_eq!(
        s.edge.types(&id).await,
        ["cart_add", "cart_add", "cart_add"]
    );
    chrome.close().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn leaving_the_page_hands_the_queue_to_a_beacon() {
    let s = setup();
    // A ten-minute flush interval: only the unload path can deliver in time.
    let url = s.add(
        "/",
        page(&s.edge.url, "autoPageviews: false, flushIntervalMs: 600000"),
    );
    let other = s.add(
        "/elsewhere",
        html("<!doctype html><title>elsewhere</title>"),
    );
    let chrome = Chrome::start().await;
    let id = open(&chrome, &url).await;
    chrome
        .eval(&format!(
            "tracker.productView({PRODUCT}); tracker.track('wishlist_add', {{sku: 'sku-1'}}); return true;"
        ))
        .await;
    chrome.goto(&other).await;
    let types = wait_for_events(&s.edge, &id, 2).await;
    assert_eq!(types, ["product_view", "custom"]);
    chrome.close().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn opting_out_purges_stops_and_is_remembered() {
    let s = setup();
    let url = s.add(
        "/",
        page(&s.edge.url, "autoPageviews: false, flushIntervalMs: 600000"),
    );
    let chrome = Chrome::start().await;
    let id = open(&chrome, &url).await;
    chrome
        .eval(&format!("return tracker.productView({PRODUCT});"))
        .await;
    assert_eq!(chrome.eval("return tracker.queued();").await, 1);
    chrome.eval("return tracker.optOut();").await;
    assert_eq!(chrome.eval("return tracker.queued();").await, 0);
    let refused = chrome
        .eval(&format!("return tracker.productView({PRODUCT});"))
        .await;
    assert_eq!(refused, Value::Bool(false));

    chrome.client.refresh().await.unwrap();
    chrome.wait_for("window.tracker").await;
    assert_eq!(chrome.eval("return tracker.isOptedOut();").await, true);
    assert_eq!(chrome.eval("return tracker.track('x');").await, false);

    chrome.eval("return tracker.optIn();").await;
    chrome.eval("return tracker.track('after_opt_in');").await;
    assert_eq!(chrome.eval("return await tracker.flush();").await, true);
    assert_eq!(
        s.edge.types(&id).await,
        ["custom"],
        "only what came after opt-in"
    );
    chrome.close().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn under_require_consent_nothing_is_stored_or_sent_before_a_yes_and_a_no_drops_it_all() {
    let s = setup();
    // Every post goes through the proxy, which keeps each event's message id.
    let proxy = FaultProxy::start(&s.edge.url, 0);
    let url = s.add(
        "/",
        page(&proxy.url, "requireConsent: true, flushIntervalMs: 100"),
    );
    let chrome = Chrome::start().await;
    chrome.goto(&url).await;
    chrome.wait_for("window.tracker").await;
    let held = chrome
        .eval(&format!("return tracker.productView({PRODUCT});"))
        .await;
    assert_eq!(held, Value::Bool(true), "a valid call is accepted and held");
    assert_eq!(chrome.eval("return tracker.trackerId();").await, "");
    // Ten flush intervals: nothing is sent, and nothing is written to the browser.
    tokio::time::sleep(Duration::from_millis(1000)).await;
    assert_eq!(chrome.eval("return document.cookie;").await, "");
    assert_eq!(
        chrome
            .eval("return localStorage.length + sessionStorage.length;")
            .await,
        0
    );
    assert!(proxy.message_ids.lock().unwrap().is_empty());

    // Yes: the held page view and product view go, under the tracker id now made.
    chrome.eval("return tracker.consent('yes');").await;
    let id = chrome.eval("return tracker.trackerId();").await;
    let id = id.as_str().unwrap().to_owned();
    assert!(!id.is_empty());
    assert_eq!(chrome.eval("return await tracker.flush();").await, true);
    assert_eq!(
        s.edge.types(&id).await,
        ["page_view", "product_view", "consent"]
    );
    let cookie = chrome.eval("return document.cookie;").await;
    assert!(cookie.as_str().unwrap().contains(&id), "{cookie}");

    // The next page asks again; this time the answer is no: nothing of it leaves.
    chrome.client.refresh().await.unwrap();
    chrome.wait_for("window.tracker").await;
    chrome
        .eval(&format!("return tracker.productView({PRODUCT});"))
        .await;
    let sent_before = proxy.message_ids.lock().unwrap().len();
    chrome.eval("return tracker.consent('no');").await;
    let refused = chrome
        .eval(&format!("return tracker.productView({PRODUCT});"))
        .await;
    assert_eq!(
        refused,
        Value::Bool(false),
        "nothing is collected after a no"
    );
    assert_eq!(chrome.eval("return tracker.queued();").await, 0);
    tokio::time::sleep(Duration::from_millis(1000)).await;
    assert_eq!(proxy.message_ids.lock().unwrap().len(), sent_before);
    assert_eq!(s.edge.types(&id).await.len(), 3);
    chrome.close().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn spa_navigation_makes_one_page_view_per_address() {
    let s = setup();
    let url = s.add("/", page(&s.edge.url, "flushIntervalMs: 600000"));
    let chrome = Chrome::start().await;
    let id = open(&chrome, &url).await;
    chrome
        .eval(
            "history.pushState({}, '', '/shirts');\
             history.replaceState({}, '', '/shirts');\
             history.pushState({}, '', '/shirts#reviews');\
             document.title = 'Cart';\
             history.pushState({}, '', '/cart?step=1');\
             await new Promise(r => setTimeout(r, 50));\
             history.back();\
             await new Promise(r => setTimeout(r, 200));\
             return true;",
        )
        .await;
    assert_eq!(chrome.eval("return await tracker.flush();").await, true);
    let events = s.edge.events(&id).await;
    let mut paths: Vec<String> = events
        .iter()
        .map(|e| e["properties"]["path"].as_str().unwrap_or("?").to_owned())
        .collect();
    paths.reverse();
    assert_eq!(paths, ["/", "/shirts", "/cart", "/shirts"]);
    chrome.close().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_input_warns_once_and_returns_false_without_throwing() {
    let s = setup();
    let url = s.add(
        "/",
        page(&s.edge.url, "autoPageviews: false, flushIntervalMs: 600000"),
    );
    let chrome = Chrome::start().await;
    open(&chrome, &url).await;
    let results = chrome
        .eval(
            "const cyclic = {a: 1}; cyclic.self = cyclic;\
             const huge = []; for (let i = 0; i < 100000; i++) huge.push({i});\
             return [\
               tracker.productView({name: 'no id'}),\
               tracker.productView(null),\
               tracker.cartAdd('sku-1'),\
               tracker.purchase({orderId: 'o', items: [], total: -1, currency: 'EUR'}),\
               tracker.identify({}),\
               tracker.track('', {}),\
               tracker.track('x', cyclic),\
               tracker.track('x', huge),\
               tracker.track('x', {s: Symbol('s'), f: () => 1, d: new Date('nope')}),\
               tracker.consent('maybe'),\
               tracker.pushSubscribe('{not json'),\
             ];",
        )
        .await;
    let want: Vec<Value> = vec![
        false, false, false, false, false, false, false, false, true, false, false,
    ]
    .into_iter()
    .map(Value::Bool)
    .collect();
    assert_eq!(results, Value::Array(want), "{}", chrome.console().await);
    let log = chrome.console().await;
    assert_eq!(
        log.lines().count(),
        10,
        "one warning per refused call:\n{log}"
    );
    assert!(
        log.contains("footprint.productView: productId is required"),
        "{log}"
    );
    assert!(log.contains("footprint.purchase: total must be"), "{log}");
    // The tracker still works afterwards.
    assert_eq!(
        chrome.eval("return tracker.track('still_alive');").await,
        true
    );
    chrome.close().await;
}

/// Every member of every call, given values of the wrong type, and every call given values
/// that cannot be read at all (a getter that throws, a Proxy, a cycle, a BigInt): each call
/// returns false with exactly one warning naming the call and the member, nothing throws,
/// and nothing is queued.
#[tokio::test(flavor = "multi_thread")]
async fn every_member_refuses_a_wrong_type_by_name_and_no_call_throws() {
    let s = setup();
    let url = s.add(
        "/",
        page(&s.edge.url, "autoPageviews: false, flushIntervalMs: 600000"),
    );
    let chrome = Chrome::start().await;
    open(&chrome, &url).await;
    let report = chrome
        .eval(
            r#"
const line = () => ({productId: 'p', name: 'n', price: 1, quantity: 1});
const cart = () => ({items: [line()], total: 1, currency: 'EUR'});
const bases = {
  productView: () => ({productId: 'p', name: 'n', price: 1, currency: 'EUR',
                       category: 'c', url: 'u', imageUrl: 'i'}),
  cartAdd: () => ({productId: 'p', name: 'n', price: 1, currency: 'EUR', quantity: 1,
                   cart: cart()}),
  cartUpdate: () => ({cart: cart()}),
  purchase: () => Object.assign({orderId: 'o'}, cart()),
  identify: () => ({email: 'a@b.example', phone: '+34600000000', firstName: 'A',
                    lastName: 'B', birthDate: '1990-01-31', custom: {tier: 'gold'}}),
  consent: () => ({state: 'yes'}),
  page: () => ({url: 'https://s.example/', path: '/', title: 't', referrer: 'r'}),
};
const scalars = {
  productView: ['productId', 'name', 'price', 'currency', 'category', 'url', 'imageUrl'],
  cartAdd: ['productId', 'name', 'price', 'currency', 'quantity', 'cart.total',
            'cart.currency', 'cart.items[0].productId', 'cart.items[0].name',
            'cart.items[0].price', 'cart.items[0].quantity'],
  cartUpdate: ['cart.total', 'cart.currency', 'cart.items[0].price'],
  purchase: ['orderId', 'total', 'currency', 'items[0].price', 'items[0].quantity'],
  identify: ['email', 'phone', 'firstName', 'lastName', 'birthDate'],
  consent: ['state'],
  page: ['url', 'path', 'title', 'referrer'],
};
const nested = {
  cartAdd: ['cart', 'cart.items', 'cart.items[0]'],
  cartUpdate: ['cart', 'cart.items'],
  purchase: ['items', 'items[0]'],
  identify: ['custom'],
};
function set(obj, path, value) {
  const keys = path.replace(/\[(\d+)\]/g, '.$1').split('.');
  let o = obj;
  for (const k of keys.slice(0, -1)) o = o[k];
  o[keys[keys.length - 1]] = value;
  return obj;
}
const report = [];
function attempt(call, member, ...args) {
  const before = window.__log.length;
  let result;
  try { result = tracker[call](...args); } catch (e) { result = 'threw: ' + e; }
  const warnings = window.__log.slice(before);
  report.push({call, member, result, warnings});
}
for (const [call, members] of Object.entries(scalars)) {
  // An object, an array and (but for consent, where true means yes) a boolean are wrong
  // for every scalar member.
  const wrong = call === 'consent' ? [{a: 1}, [1], 7] : [{a: 1}, [1], true];
  for (const m of members) for (const w of wrong) attempt(call, m, set(bases[call](), m, w));
}
for (const [call, members] of Object.entries(nested)) {
  for (const m of members) for (const w of ['x', 7, m.endsWith('items') ? {a: 1} : [1]]) {
    attempt(call, m, set(bases[call](), m, w));
  }
}
const cyclic = bases.productView(); cyclic.self = cyclic;
const throwing = bases.productView();
Object.defineProperty(throwing, 'price', {get() { throw new Error('boom'); }, enumerable: true});
const proxy = new Proxy(bases.productView(), {get() { throw new Error('get'); },
                                              ownKeys() { throw new Error('keys'); }});
const bigint = Object.assign(bases.productView(), {price: 10n});
const deep = bases.identify(); let d = deep.custom;
for (let i = 0; i < 40; i++) { d.x = {}; d = d.x; }
for (const [m, arg] of [['', cyclic], ['', throwing], ['', proxy], ['', bigint]]) {
  attempt('productView', m, arg);
}
attempt('identify', 'custom', deep);
attempt('track', 'properties', 'x', cyclic);
attempt('track', 'name', {a: 1});
return {report, queued: tracker.queued()};
"#,
        )
        .await;
    let entries = report["report"].as_array().expect("a report");
    assert!(entries.len() > 100, "{report}");
    for e in entries {
        let (call, member) = (e["call"].as_str().unwrap(), e["member"].as_str().unwrap());
        assert_eq!(e["result"], Value::Bool(false), "{call} {member}: {e}");
        let warnings = e["warnings"].as_array().unwrap();
        assert_eq!(warnings.len(), 1, "one warning for {call} {member}: {e}");
        let w = warnings[0].as_str().unwrap();
        let name = if member.is_empty() {
            format!("footprint.{call}: has no JSON form")
        } else if call == "identify" && member == "custom" && w.contains("deep") {
            format!("footprint.{call}: ")
        } else {
            format!("footprint.{call}: {member} ")
        };
        assert!(w.starts_with(&name), "`{w}` should start with `{name}`");
    }
    assert_eq!(report["queued"], Value::from(0), "{report}");
    assert!(
        !chrome.console().await.contains("uncaught"),
        "{}",
        chrome.console().await
    );
    chrome.close().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_hostile_init_config_gets_one_warning_naming_the_member_and_never_throws() {
    let s = setup();
    let edge = &s.edge.url;
    let page = html(&format!(
        r#"<!doctype html><html><head><meta charset="utf-8"><title>Shop</title>
<script>{CONSOLE_CAPTURE}</script>
<script type="module">
import {{ init }} from "/pkg/index.js";
const cyclic = {{endpoint: "{edge}", siteKey: "{SITE}"}}; cyclic.self = cyclic;
const throwing = {{ get endpoint() {{ throw new Error("boom"); }}, siteKey: "{SITE}" }};
const trap = new Proxy({{}}, {{ get() {{ throw new Error("get"); }}, ownKeys() {{ throw new Error("keys"); }} }});
const configs = [
  {{endpoint: "{edge}", siteKey: 12}},
  {{endpoint: "{edge}", site_key: "{SITE}", maxBatch: "x"}},
  {{endpoint: "{edge}", siteKey: "{SITE}", requireConsent: "yes"}},
  {{endpoint: ["{edge}"], siteKey: "{SITE}"}},
  cyclic, throwing, trap,
  {{endpoint: "{edge}", siteKey: "{SITE}", big: 10n}},
  "config",
];
const results = [];
for (const c of configs) {{
  try {{ results.push(await init(c)); }} catch (e) {{ results.push("threw: " + e); }}
}}
results.push(!!(await init({{endpoint: "{edge}", siteKey: "{SITE}", autoPageviews: false}})));
window.results = results;
</script></head><body>shop</body></html>"#
    ));
    let url = s.add("/", page);
    let chrome = Chrome::start().await;
    chrome.goto(&url).await;
    chrome.wait_for("window.results").await;
    let results = chrome.eval("return window.results;").await;
    let mut want = vec![Value::Bool(false); 9];
    want.push(Value::Bool(true));
    assert_eq!(results, Value::Array(want), "{}", chrome.console().await);
    let log = chrome.console().await;
    assert_eq!(
        log.lines().count(),
        9,
        "one warning per refused config:\n{log}"
    );
    for line in [
        "footprint.init: siteKey must be the site key",
        "footprint.init: maxBatch is out of range",
        "footprint.init: requireConsent must be true or false",
        "footprint.init: endpoint must be the edge's http(s) URL",
        "footprint.init: has no JSON form (a cycle, a BigInt, or a getter that throws)",
        "footprint.init: expects a config object",
    ] {
        assert!(log.contains(line), "no `{line}` in:\n{log}");
    }
    chrome.close().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn two_tabs_of_one_shop_never_send_the_same_event() {
    let s = setup();
    // A counting proxy (it fails nothing) sees every event each tab sends.
    let proxy = FaultProxy::start(&s.edge.url, 0);
    let url = s.add(
        "/",
        page(&proxy.url, "autoPageviews: false, flushIntervalMs: 200"),
    );
    let chrome = Chrome::start().await;
    let first = chrome.client.window().await.unwrap();
    let id = open(&chrome, &url).await;
    let second = chrome.client.new_window(true).await.unwrap().handle;
    chrome
        .client
        .switch_to_window(second.clone())
        .await
        .unwrap();
    assert_eq!(open(&chrome, &url).await, id, "one tracker id per browser");

    // Both tabs track, interleaved, while both send on their timers.
    for round in 0..5 {
        for (tab, handle) in [("a", &first), ("b", &second)] {
            chrome
                .client
                .switch_to_window(handle.clone())
                .await
                .unwrap();
            chrome
                .eval(&format!(
                    "return tracker.track('tab_{tab}', {{round: {round}}});"
                ))
                .await;
        }
    }
    for handle in [&first, &second] {
        chrome
            .client
            .switch_to_window(handle.clone())
            .await
            .unwrap();
        assert_eq!(chrome.eval("return await tracker.flush();").await, true);
    }
    // A hidden tab hands its queue to a beacon, which may still be on its way: wait for the
    // edge to have all ten. The proxy notes ids before forwarding, so it has them all then.
    assert_eq!(wait_for_events(&s.edge, &id, 10).await.len(), 10);
    let sent = proxy.message_ids.lock().unwrap().clone();
    let mut unique = sent.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(sent.len(), 10, "{sent:?}");
    assert_eq!(unique.len(), 10, "an event was sent twice: {sent:?}");
    chrome.close().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn do_not_track_is_respected_only_when_the_shop_asks() {
    let s = setup();
    // Chromium 156 ignores the `enable_do_not_track` profile preference when driven headless,
    // so the page sets the signal as a browser with DNT on reports it, before the tracker loads.
    let dnt = |(ctype, body): (String, Vec<u8>)| {
        let body = String::from_utf8(body).unwrap().replacen(
            "<script>",
            "<script>Object.defineProperty(Navigator.prototype, 'doNotTrack', {get: () => '1'});",
            1,
        );
        (ctype, body.into_bytes())
    };
    let respect = s.add(
        "/respect",
        dnt(page(&s.edge.url, "respectDoNotTrack: true")),
    );
    let ignore = s.add("/ignore", dnt(page(&s.edge.url, "autoPageviews: false")));
    let chrome = Chrome::start().await;
    let id = open(&chrome, &respect).await;
    assert_eq!(chrome.eval("return navigator.doNotTrack;").await, "1");
    assert_eq!(chrome.eval("return tracker.track('x');").await, false);
    assert_eq!(chrome.eval("return tracker.queued();").await, 0);
    assert_eq!(chrome.eval("return tracker.isOptedOut();").await, false);
    assert_eq!(chrome.console().await, "", "silence is not an error");

    // The default (false) tracks, DNT or not.
    chrome.goto(&ignore).await;
    chrome.wait_for("window.tracker").await;
    assert_eq!(chrome.eval("return tracker.track('y');").await, true);
    assert_eq!(chrome.eval("return await tracker.flush();").await, true);
    assert_eq!(
        s.edge.types(&id).await,
        ["custom"],
        "nothing from the respecting page"
    );
    chrome.close().await;
}
