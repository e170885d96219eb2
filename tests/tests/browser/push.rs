//! Web push in a real service worker: `subscribePush` up to the permission prompt (headless
//! Chromium denies it, and there is no push service on this network), and `footprint-sw.js`
//! recording a push that reaches the shop's worker and a click on its notification.

use footprint_e2e::browser::{html, pkg_files, Chrome, Shop, CONSOLE_CAPTURE, SITE};

/// A real VAPID public key's shape: an uncompressed P-256 point, base64url.
const VAPID: &str =
    "BEl62iUYgUivxIkv69yViEuiBIa-Ib9-SkvMeAtA3LFgDzkrxZJjSgSnfckjBJuBkr3qBUYIHBQFLXYp5Nksh8U";

#[tokio::test(flavor = "multi_thread")]
async fn subscribe_push_records_the_answer_and_the_worker_records_pushes() {
    let shop = Shop::start(pkg_files());
    let (site, edge) = (&shop.site, &shop.edge);
    // The shop's own worker imports the helper from the edge, as the README says. A test-only
    // message makes it receive a push: there is no push service here to send one.
    let worker = format!(
        r#"importScripts("{edge}/sdk/v1/footprint-sw.js");
footprintSW.init({{ endpoint: "{edge}", siteKey: "{SITE}" }});
self.addEventListener("install", () => self.skipWaiting());
self.addEventListener("activate", e => e.waitUntil(self.clients.claim()));
self.addEventListener("message", e => {{
  if (e.data.click) {{
    // A NotificationEvent needs a real notification, which needs the permission headless
    // Chromium denies: the click handler gets the event's shape instead.
    footprintSW.onClick({{ notification: {{ data: e.data, close() {{}} }}, waitUntil: p => e.waitUntil(p) }});
  }} else {{
    self.dispatchEvent(new PushEvent("push", {{ data: JSON.stringify(e.data) }}));
  }}
}});"#,
        edge = edge.url
    );
    let page = format!(
        r#"<!doctype html><html><head><meta charset="utf-8"><title>push</title>
<script>{CONSOLE_CAPTURE}</script>
<script type="module">
import {{ init }} from "/pkg/index.js";
window.tracker = await init({{ endpoint: "{edge}", siteKey: "{SITE}", autoPageviews: false }});
</script></head><body></body></html>"#,
        edge = edge.url
    );
    shop.add("/", html(&page));
    shop.add("/sw.js", ("text/javascript".into(), worker.into_bytes()));
    let chrome = Chrome::start().await;
    chrome.goto(&format!("{}/", site.origin)).await;
    chrome.wait_for("window.tracker").await;
    let id = chrome.eval("return tracker.trackerId();").await;
    let id = id.as_str().unwrap().to_owned();

    let outcome = chrome
        .eval(&format!(
            "try {{ await tracker.subscribePush({{vapidPublicKey: '{VAPID}', serviceWorkerUrl: '/sw.js'}}); return 'subscribed'; }}\
             catch (e) {{ return (e instanceof Error) + ': ' + e.message; }}"
        ))
        .await;
    let outcome = outcome.as_str().unwrap();
    // Headless Chromium answers the prompt with "denied".
    assert_eq!(
        outcome, "true: footprint.subscribePush: notification permission is denied",
        "a clear Error, not a crash"
    );
    let bad = chrome
        .eval("try { await tracker.subscribePush({}); } catch (e) { return e.message; }")
        .await;
    assert!(bad.as_str().unwrap().contains("vapidPublicKey"), "{bad}");

    // A Footprint push reaches the worker: it is recorded for the tracker id it carries.
    chrome
        .eval(&format!(
            "const reg = await navigator.serviceWorker.ready;\
             reg.active.postMessage({{notification_id: 'n-1', tracker_id: '{id}', campaign: 'autumn', title: 'Hello'}});\
             reg.active.postMessage({{notification_id: 'n-1', tracker_id: '{id}', click: true}});\
             return true;"
        ))
        .await;
    assert_eq!(chrome.eval("return await tracker.flush();").await, true);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(15);
    let events = loop {
        let events = edge.events(&id).await;
        let seen = |t: &str| events.iter().any(|e| e["type"] == t);
        if (seen("push_received") && seen("push_click")) || std::time::Instant::now() > deadline {
            break events;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    };
    let types: Vec<&str> = events.iter().filter_map(|e| e["type"].as_str()).collect();
    assert!(types.contains(&"push_received"), "{types:?}");
    let received = events
        .iter()
        .find(|e| e["type"] == "push_received")
        .unwrap();
    assert_eq!(received["properties"]["notification_id"], "n-1");
    assert_eq!(received["properties"]["campaign"], "autumn");
    let click = events.iter().find(|e| e["type"] == "push_click");
    assert_eq!(
        click.expect("push_click recorded")["properties"]["notification_id"],
        "n-1"
    );
    // The visitor's answer was recorded too.
    let answer = events.iter().find(|e| e["type"] == "push_permission");
    assert_eq!(
        answer.unwrap()["properties"]["state"],
        "denied",
        "{types:?}"
    );
    chrome.close().await;
}
