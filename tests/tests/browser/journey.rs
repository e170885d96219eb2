//! The whole journey in a real browser: a shopper on the demo shop (its own origin, tracked by
//! the snippet only), the same shopper on a second device, then an admin in the console
//! reading, editing and exporting her sheet, a stored-XSS attempt, and a viewer who must not
//! see a confidential contact.

use std::io::Read;

use fantoccini::actions::{InputSource, KeyAction, KeyActions};
use fantoccini::key::Key;
use fantoccini::Locator;
use footprint_e2e::browser::{demo_shop_files, Chrome, Shop, TOKEN, VIEWER_TOKEN};
use serde_json::Value;

const ALICE: &str = "alice@example.com";
// Viewed, added, then removed from the cart.
const P1: (&str, &str) = ("shirt-linen-blue", "Linen shirt, blue");
// Viewed, added, bought; viewed again on the second device.
const P2: (&str, &str) = ("shirt-oxford-white", "Oxford shirt, white");
const P2_PRICE: &str = "59.95";
// Only viewed.
const P3: (&str, &str) = ("shirt-flannel-red", "Flannel shirt, red check");
const XSS_IMG: &str = "<img src=x onerror=alert(1)>";
const XSS_SCRIPT: &str = "</script><script>alert(2)</script>";

async fn click(c: &Chrome, css: &str) {
    c.client
        .find(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("no {css}: {e}"))
        .click()
        .await
        .unwrap_or_else(|e| panic!("cannot click {css}: {e}"));
}

async fn type_into(c: &Chrome, css: &str, text: &str) {
    let el = c
        .client
        .find(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("no {css}: {e}"));
    el.clear().await.unwrap();
    el.send_keys(text).await.unwrap();
}

async fn choose(c: &Chrome, css: &str, value: &str) {
    c.client
        .find(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("no {css}: {e}"))
        .select_by_value(value)
        .await
        .unwrap_or_else(|e| panic!("no option {value} in {css}: {e}"));
}

/// Every match's visible text, in document order.
async fn texts(c: &Chrome, css: &str) -> Vec<String> {
    let v = c
        .eval(&format!(
            "return Array.from(document.querySelectorAll({})).map(e => e.innerText.trim());",
            Value::String(css.into())
        ))
        .await;
    v.as_array()
        .unwrap_or_else(|| panic!("{css}: {v}"))
        .iter()
        .map(|t| t.as_str().unwrap_or_default().to_owned())
        .collect()
}

async fn text(c: &Chrome, css: &str) -> String {
    texts(c, css)
        .await
        .into_iter()
        .next()
        .unwrap_or_else(|| panic!("nothing matches {css}"))
}

async fn value(c: &Chrome, css: &str) -> String {
    let v = c
        .eval(&format!(
            "return document.querySelector({}).value;",
            Value::String(css.into())
        ))
        .await;
    v.as_str().unwrap_or_default().to_owned()
}

/// Waits for a page whose path is `path` to have loaded.
async fn at(c: &Chrome, path: &str) {
    c.wait_for(&format!(
        "location.pathname === {} && document.readyState === 'complete'",
        Value::String(path.into())
    ))
    .await;
}

/// The shop's tracker is loaded: its queue is real, not the snippet's stub.
async fn tracker_ready(c: &Chrome) -> String {
    c.wait_for("window.footprint && typeof window.footprint.trackerId === 'function'")
        .await;
    c.eval("return footprint.trackerId();")
        .await
        .as_str()
        .unwrap_or_else(|| panic!("no tracker id; console:\n{}", "?"))
        .to_owned()
}

/// Everything this page queued is at the edge.
async fn delivered(c: &Chrome) {
    tracker_ready(c).await;
    let ok = c.eval("return await footprint.flush();").await;
    assert_eq!(ok, Value::Bool(true), "flush: {}", c.console().await);
}

/// Every visible form control has a label a screen reader announces.
async fn labelled(c: &Chrome, page: &str) {
    let unlabelled = c
        .eval(
            "return Array.from(document.querySelectorAll('input, select, textarea'))
               .filter(e => e.type !== 'hidden')
               .filter(e => !(e.labels && e.labels.length) && !e.getAttribute('aria-label'))
               .map(e => e.name || e.id);",
        )
        .await;
    assert_eq!(
        unlabelled,
        Value::Array(vec![]),
        "unlabelled controls on {page}"
    );
}

/// The page needs no sideways scrolling at the window's width.
async fn fits(c: &Chrome, page: &str) {
    let v = c
        .eval("return [document.documentElement.scrollWidth, window.innerWidth];")
        .await;
    let (w, inner) = (v[0].as_i64().unwrap(), v[1].as_i64().unwrap());
    if w > inner {
        // Name the widest elements, to say what to fix.
        let wide = c
            .eval(
                "return Array.from(document.querySelectorAll('body *'))
                   .filter(e => e.getBoundingClientRect().right > window.innerWidth + 1 && !e.closest('.scroll'))
                   .slice(0, 5)
                   .map(e => e.tagName + '#' + e.id + '.' + e.className + ' ' + Math.round(e.getBoundingClientRect().right));",
            )
            .await;
        panic!("{page} is {w}px wide in a {inner}px window: {wide}");
    }
    // Nor does any part of it scroll sideways on its own.
    let scrolling = c
        .eval(
            "return Array.from(document.querySelectorAll('.scroll, table, pre'))
               .filter(e => e.scrollWidth > e.clientWidth + 1)
               .map(e => e.tagName + '#' + e.id + ' ' + e.scrollWidth + '>' + e.clientWidth);",
        )
        .await;
    assert_eq!(
        scrolling,
        Value::Array(vec![]),
        "{page} scrolls sideways inside"
    );
}

async fn no_dialog(c: &Chrome) {
    assert!(
        c.client.get_alert_text().await.is_err(),
        "a dialog opened: shopper input ran as script"
    );
}

async fn sign_in(c: &Chrome, edge: &str, token: &str) {
    c.goto(&format!("{edge}/admin")).await;
    at(c, "/admin/login").await;
    labelled(c, "sign-in").await;
    type_into(c, "#token", token).await;
    click(c, "#sign-in").await;
    at(c, "/admin/contacts").await;
}

/// Presses and releases `key` where the focus is.
async fn press(c: &Chrome, key: Key) {
    let k: char = key.into();
    let keys = KeyActions::new("keyboard".into())
        .then(KeyAction::Down { value: k })
        .then(KeyAction::Up { value: k });
    c.client
        .perform_actions(keys)
        .await
        .unwrap_or_else(|e| panic!("cannot press a key: {e}"));
}

/// Searches from the keyboard: type, then Enter.
async fn search(c: &Chrome, email: &str) {
    type_into(c, "#s", email).await;
    press(c, Key::Enter).await;
    c.wait_for("location.search.includes('s=')").await;
    at(c, "/admin/contacts").await;
}

async fn past_buyers(edge: &str) {
    // 24 shoppers who bought over the last half year, a few of them more than once.
    use footprint_e2e::workload::{iso, now_ms};
    let now = now_ms();
    let day = 86_400_000;
    let mut events = Vec::new();
    for k in 0..24i64 {
        let tracker = format!("past-buyer-{k}");
        for n in 0..=(k % 4) {
            events.push(serde_json::json!({
                "type": "purchase", "tracker_id": tracker, "message_id": format!("pb-{k}-{n}"),
                "timestamp": iso(now - (150 - k * 3 - n * 20) * day),
                "properties": {"order_id": format!("past-{k}-{n}"), "total": 20 + k, "currency": "EUR",
                               "items": [{"product_id": "p", "name": "P", "price": 20 + k, "quantity": 1}]}
            }));
        }
    }
    let r = reqwest::Client::new()
        .post(format!("{edge}/v1/batch"))
        .json(&serde_json::json!({"site_key": footprint_e2e::browser::SITE, "sent_at": iso(now), "events": events}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "{}", r.text().await.unwrap_or_default());
}

/// Waits until the contact's sheet has a predicted value (the models are fitted every second).
async fn predicted(edge: &footprint_e2e::browser::Edge, id: &str) -> Value {
    for _ in 0..100 {
        let s = edge.get(&format!("/v1/contacts/{id}")).await;
        if s["clv"]["predicted"]["available"] == true {
            return s;
        }
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    panic!("no prediction for contact {id}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_shoppers_journey_reads_right_in_the_console() {
    // CLV models fitted and RFM cut points computed every second (the models from 20
    // buyers), so that a sheet shows its prediction and its place on the RFM grid.
    let shop = Shop::start_with(
        Default::default(),
        "\n[contacts]\nclv_every_seconds = 1\nrfm_every_seconds = 1\nclv_min_customers = 20\n\
         clv_min_repeat_customers = 1\nclv_min_history_days = 7\n",
    );
    past_buyers(&shop.edge.url).await;
    for (path, file) in demo_shop_files(&shop.edge.url) {
        shop.add(&path, file);
    }
    let (origin, edge) = (shop.site.origin.clone(), shop.edge.url.clone());
    let page = |p: &str| format!("{origin}/{p}");

    // 1. Shopper A, anonymous: three products, two into the cart, one out again, and leaves.
    let a = Chrome::start().await;
    a.set_size(1280, 1000).await;
    for (id, _) in [P1, P2, P3] {
        a.goto(&page(&format!("product.html?id={id}"))).await;
        tracker_ready(&a).await;
        if id != P3.0 {
            click(&a, "#add-to-cart").await;
            a.wait_for("document.getElementById('added').textContent !== ''")
                .await;
        }
        delivered(&a).await;
    }
    a.screenshot("shop").await;
    a.goto(&page("cart.html")).await;
    click(&a, &format!("[data-remove=\"{}\"]", P1.0)).await;
    a.wait_for("document.querySelectorAll('[data-line]').length === 1")
        .await;
    delivered(&a).await;
    a.goto("about:blank").await;

    // 2. She comes back, signs in, subscribes to the newsletter, and buys.
    a.goto(&page("account.html")).await;
    type_into(&a, "#login-email", ALICE).await;
    click(&a, "#login").await;
    a.wait_for("!document.getElementById('signed-in').hidden")
        .await;
    click(&a, "#newsletter-consent").await;
    click(&a, "#newsletter-signup").await;
    a.wait_for("document.getElementById('newsletter-state').textContent !== ''")
        .await;
    delivered(&a).await;
    a.goto(&page("cart.html")).await;
    click(&a, "#checkout").await;
    at(&a, "/checkout.html").await;
    click(&a, "#place-order").await;
    at(&a, "/confirmation.html").await;
    a.wait_for("document.getElementById('order')").await;
    delivered(&a).await;
    let order = text(&a, "#order strong").await;
    assert!(order.starts_with("AN-"), "{order}");

    // 3. Another device: she signs in there too and views a product.
    let b = Chrome::start().await;
    b.goto(&page("account.html")).await;
    type_into(&b, "#login-email", ALICE).await;
    click(&b, "#login").await;
    b.wait_for("!document.getElementById('signed-in').hidden")
        .await;
    delivered(&b).await;
    b.goto(&page(&format!("product.html?id={}", P2.0))).await;
    delivered(&b).await;

    // 4. An admin finds her and opens her sheet. The overview's counts are the API's.
    sign_in(&a, &edge, TOKEN).await;
    labelled(&a, "contacts").await;
    let counts = shop.edge.get("/v1/contacts/counts").await;
    assert_eq!(
        text(&a, "#contacts-total").await,
        counts["total"].to_string()
    );
    for v in ["new", "frequent", "dormant", "lapsed", "inactive"] {
        let shown = text(&a, &format!("#count-{v} .n")).await;
        assert_eq!(shown, counts["valuation"][v].to_string(), "{v}: {counts}");
    }
    assert!(counts["valuation"]["new"].as_u64() > Some(0), "{counts}");
    // From the keyboard, the first stop is "Skip to content", and it lands on the content.
    press(&a, Key::Tab).await;
    assert_eq!(
        a.eval("return document.activeElement.textContent;").await,
        "Skip to content"
    );
    press(&a, Key::Enter).await;
    a.wait_for("document.activeElement.id === 'main'").await;
    search(&a, ALICE).await;
    assert_eq!(texts(&a, "#contacts td.email").await, [ALICE]);
    a.screenshot("contacts").await;
    click(&a, "#contacts a.view").await;
    a.wait_for("document.getElementById('contact-title')").await;
    let sheet_url = a.client.current_url().await.unwrap().to_string();
    let id = sheet_url.rsplit('/').next().unwrap().to_owned();
    labelled(&a, "profile").await;
    assert_eq!(texts(&a, "#trackers li").await.len(), 2, "two devices");
    let facts = texts(&a, "#ecommerce dd").await;
    assert_eq!(facts[0], "1", "one purchase: {facts:?}");
    assert_eq!(facts[1], format!("€{P2_PRICE}"), "its total: {facts:?}");
    let cart = text(&a, "#cart-state").await;
    assert!(
        cart.starts_with("Empty"),
        "the purchase emptied the cart: {cart}"
    );
    assert_eq!(
        texts(&a, "#interest .name").await,
        [P2.1, P1.1, P3.1],
        "ranked by views and cart adds"
    );
    assert_eq!(value(&a, "#f-newsletter").await, "subscribed");
    a.screenshot("profile").await;

    // Activity: the anonymous views from before the login are there, older than any login.
    click(&a, "#tab-activity").await;
    at(&a, &format!("/admin/contacts/{id}/activity")).await;
    labelled(&a, "activity").await;
    // Types in words: "Login", "Product view".
    let kinds = texts(&a, "#activity-rows .type").await;
    let summaries = texts(&a, "#activity-rows .summary").await;
    let oldest_login = kinds.iter().rposition(|k| k == "Login").unwrap();
    for (pid, name) in [P1, P3] {
        let i = kinds
            .iter()
            .zip(&summaries)
            .position(|(k, s)| k == "Product view" && s.contains(pid))
            .unwrap_or_else(|| panic!("no view of {name}: {kinds:?}"));
        assert!(
            i > oldest_login,
            "the view of {name} is from before the login"
        );
    }
    assert_eq!(kinds.iter().filter(|k| *k == "Product view").count(), 4);
    a.screenshot("activity").await;
    choose(&a, "#type", "cart_add").await;
    click(&a, "#filter").await;
    a.wait_for("location.search.includes('type=cart_add')")
        .await;
    at(&a, &format!("/admin/contacts/{id}/activity")).await;
    assert_eq!(
        texts(&a, "#activity-rows .type").await,
        ["Added to cart", "Added to cart"]
    );

    // 5. The admin corrects her last name, adds her to a static segment, and downloads her
    // personal data.
    click(&a, "#tab-profile").await;
    at(&a, &format!("/admin/contacts/{id}")).await;
    type_into(&a, "#f-last_name", "Liddell").await;
    click(&a, "#apply").await;
    a.wait_for("(document.getElementById('flash') || {}).textContent === 'Saved.'")
        .await;
    let first_change = texts(&a, "#history tbody tr:first-child td").await;
    assert_eq!(first_change[1..], ["tests", "Last name", "—", "Liddell"]);

    a.goto(&format!("{edge}/admin/segments")).await;
    labelled(&a, "segments").await;
    type_into(&a, "#f-name", "VIP").await;
    choose(&a, "#f-kind", "static").await;
    click(&a, "#create-segment").await;
    a.wait_for("(document.getElementById('flash') || {}).textContent === 'Segment created.'")
        .await;
    a.goto(&sheet_url).await;
    click(&a, "#add-to-segment").await;
    a.wait_for("(document.getElementById('flash') || {}).textContent === 'Added to the segment.'")
        .await;
    assert_eq!(texts(&a, "#segments a").await, ["VIP"]);

    // A dynamic segment from the rule builder: its live preview counts what it then holds.
    a.goto(&format!("{edge}/admin/segments")).await;
    type_into(&a, "#f-name", "Buyers").await;
    choose(&a, "#f-kind", "dynamic").await;
    choose(&a, "[id='g0.r0.field']", "ecommerce.purchases").await;
    a.wait_for("document.querySelector('#row-0-0[data-field=\"ecommerce.purchases\"]')")
        .await;
    choose(&a, "[id='g0.r0.op']", "gte").await;
    a.wait_for("document.querySelector('#row-0-0[data-op=\"gte\"]')")
        .await;
    type_into(&a, "[id='g0.r0.value']", "1").await;
    a.wait_for("/^\\d+ contacts? match/.test(document.getElementById('preview').textContent)")
        .await;
    let preview = text(&a, "#preview").await;
    let n: u64 = preview.split(' ').next().unwrap().parse().unwrap();
    assert!(n > 20, "the past buyers and Alice: {preview}");
    assert!(
        value(&a, "#f-rule")
            .await
            .contains("\"ecommerce.purchases\""),
        "the JSON follows the builder"
    );
    a.screenshot("segment-builder").await;
    click(&a, "#create-segment").await;
    a.wait_for("(document.getElementById('flash') || {}).textContent === 'Segment created.'")
        .await;
    assert_eq!(text(&a, "#segment-size").await, format!("{n} members"));
    let seg_url = a.client.current_url().await.unwrap().to_string();
    let seg_id = seg_url.rsplit('/').next().unwrap().to_owned();
    a.goto(&format!("{edge}/admin/segments")).await;
    assert_eq!(
        text(&a, &format!("#segment-{seg_id} .members")).await,
        n.to_string()
    );

    // Her place on the site's RFM grid, once the cut points are computed (every second).
    let mut marked = Vec::new();
    for _ in 0..50 {
        a.goto(&sheet_url).await;
        // SVG elements have no innerText.
        let v = a
            .eval("return Array.from(document.querySelectorAll('#rfm-grid .you title')).map(t => t.textContent);")
            .await;
        marked = serde_json::from_value::<Vec<String>>(v).unwrap();
        if !marked.is_empty() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    let s = shop.edge.get(&format!("/v1/contacts/{id}")).await;
    let cell = format!("R{} F{}: ", s["rfm"]["r"], s["rfm"]["f"]);
    assert_eq!(marked.len(), 1, "one cell is hers: {marked:?}");
    assert!(marked[0].starts_with(&cell), "{marked:?} is not {cell}");
    a.eval("document.getElementById('value-h').scrollIntoView();")
        .await;
    a.screenshot("rfm-grid").await;

    // Her predicted value, beside the historic one, once the models are fitted.
    let sheet = predicted(&shop.edge, &id).await;
    a.goto(&sheet_url).await;
    let shown = text(&a, "#value-h + dl").await;
    assert!(
        shown.contains(&format!(
            "Predicted value, next 12 months\n€{:.2}",
            sheet["clv"]["predicted"]["predicted_12_months"]
                .as_str()
                .unwrap()
                .parse::<f64>()
                .unwrap()
        )) && shown.contains("Probability still buying\n100%"),
        "{shown}"
    );

    // Tags in bulk: select her on the list, tag her, and find her by the tag.
    a.goto(&format!("{edge}/admin/contacts")).await;
    search(&a, ALICE).await;
    click(&a, &format!("input[name=id][value=\"{id}\"]")).await;
    choose(&a, "#bulk-action", "add_tag").await;
    type_into(&a, "#bulk-tag", "Spring sale").await;
    click(&a, "#bulk-apply").await;
    a.wait_for("(document.getElementById('flash') || {}).textContent === 'Tagged: 1 done.'")
        .await;
    a.goto(&format!("{edge}/admin/contacts?tag=spring%20sale"))
        .await;
    assert_eq!(texts(&a, "#contacts td.email").await, [ALICE]);
    assert_eq!(texts(&a, "#contacts .tag").await, ["Spring sale"]);

    // The shop's backend refunds part of her order, and her email provider reports three
    // hard bounces, addressed by her email (POST /v1/server/batch with the server key).
    let page = shop.edge.get(&format!("/v1/contacts/{id}/orders")).await;
    let order_id = page["orders"][0]["order_id"].as_str().unwrap().to_owned();
    let now = footprint_e2e::workload::now_ms();
    let about = |n: i64, ty: &str, props: Value| {
        serde_json::json!({"type": ty, "contact": {"email": ALICE},
            "message_id": format!("journey-server-{n}"),
            "timestamp": footprint_e2e::workload::iso(now - 60_000 + n * 1_000),
            "properties": props})
    };
    let bounce = |n| {
        about(
            n,
            "email_bounced",
            serde_json::json!({"bounce": "hard", "reason": "550 mailbox unavailable"}),
        )
    };
    let server = serde_json::json!({
        "site_key": footprint_e2e::browser::SITE,
        "sent_at": footprint_e2e::workload::iso(now),
        "events": [
            about(0, "refund", serde_json::json!({"order_id": order_id, "amount": 10, "reason": "Wrong size"})),
            about(1, "email_sent", serde_json::json!({"campaign": "Spring sale"})),
            bounce(2), bounce(3), bounce(4),
        ]
    });
    let r = reqwest::Client::new()
        .post(format!("{edge}/v1/server/batch"))
        .bearer_auth(footprint_e2e::browser::SERVER_KEY)
        .json(&server)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let answer: Value = r.json().await.unwrap();
    assert!(
        answer["accepted"] == 5 && answer.get("warnings").is_none(),
        "{answer}"
    );
    a.goto(&sheet_url).await;
    assert_eq!(value(&a, "#f-email_status").await, "bounced");
    let bounced = texts(&a, "#channel-table tbody tr").await;
    assert!(
        bounced
            .iter()
            .any(|r| r.starts_with("Bounced") && r.contains("3 · last")),
        "{bounced:?}"
    );
    let note = text(&a, "#email-bounce").await;
    assert!(
        note.contains("550 mailbox unavailable") && note.contains("3 hard in a row"),
        "{note}"
    );
    a.eval("document.getElementById('channels').scrollIntoView(); return true;")
        .await;
    a.screenshot("channels").await;
    a.goto(&format!("{sheet_url}/orders")).await;
    labelled(&a, "orders").await;
    assert_eq!(texts(&a, "#orders .order-id").await, [order_id.as_str()]);
    let refunds = text(&a, "#orders .refunds").await;
    assert!(
        refunds.starts_with("−€10.00 on") && refunds.contains("Wrong size"),
        "{refunds}"
    );
    let net = format!("net €{:.2}", P2_PRICE.parse::<f64>().unwrap() - 10.0);
    assert!(text(&a, "#orders .total").await.contains(&net));
    a.screenshot("orders").await;
    a.goto(&sheet_url).await;

    let zip = a
        .eval(
            "const r = await fetch(document.getElementById('download').href);
             const bytes = Array.from(new Uint8Array(await r.arrayBuffer()));
             return {status: r.status, type: r.headers.get('content-type'), body: bytes};",
        )
        .await;
    assert_eq!(zip["status"], 200, "{zip}");
    assert_eq!(zip["type"], "application/zip");
    let bytes: Vec<u8> = serde_json::from_value(zip["body"].clone()).unwrap();
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(bytes)).unwrap();
    let mut profile = String::new();
    archive
        .by_name("profile.json")
        .unwrap()
        .read_to_string(&mut profile)
        .unwrap();
    let profile: Value = serde_json::from_str(&profile).unwrap();
    assert_eq!(profile["profile"]["last_name"], "Liddell");
    assert_eq!(profile["profile"]["email"], ALICE);

    // 6. Stored XSS: what a shopper's browser sends is shown as text and never runs.
    b.eval(&format!(
        "footprint.productView({{productId: 'xss-img', name: {}, price: 1, currency: 'EUR'}});
         footprint.productView({{productId: 'xss-script', name: {}, price: 1, currency: 'EUR'}});
         return true;",
        Value::String(XSS_IMG.into()),
        Value::String(XSS_SCRIPT.into())
    ))
    .await;
    delivered(&b).await;
    a.goto(&sheet_url).await;
    a.wait_for("document.getElementById('interest')").await;
    no_dialog(&a).await;
    let interest = texts(&a, "#interest .name").await;
    assert!(interest.iter().any(|n| n == XSS_IMG), "{interest:?}");
    assert!(interest.iter().any(|n| n == XSS_SCRIPT), "{interest:?}");
    let injected = a
        .eval("return document.querySelectorAll('img, main script').length;")
        .await;
    assert_eq!(injected, 0, "shopper text became elements");
    a.goto(&format!("{edge}/admin/contacts/{id}/activity"))
        .await;
    a.wait_for("document.getElementById('activity-rows')").await;
    no_dialog(&a).await;
    let summaries = texts(&a, "#activity-rows .summary").await;
    assert!(
        summaries.iter().any(|s| s.contains(XSS_IMG)),
        "{summaries:?}"
    );
    assert!(
        summaries.iter().any(|s| s.contains(XSS_SCRIPT)),
        "{summaries:?}"
    );

    // At a phone's width every page still reads without sideways scrolling.
    a.set_size(390, 844).await;
    for p in [
        "/admin/contacts".to_owned(),
        format!("/admin/contacts?s={ALICE}"),
        format!("/admin/contacts/{id}"),
        format!("/admin/contacts/{id}/activity"),
        format!("/admin/contacts/{id}/orders"),
        "/admin/segments".to_owned(),
        format!("/admin/segments/{seg_id}"),
        format!("/admin/contacts/{id}/delete"),
        "/admin/contacts/999999999".to_owned(),
        "/admin/login".to_owned(),
    ] {
        a.goto(&format!("{edge}{p}")).await;
        a.wait_for("document.readyState === 'complete'").await;
        fits(&a, &p).await;
    }
    // The list is cards: name (or "Anonymous"), email, valuation, last activity.
    a.goto(&format!("{edge}/admin/contacts")).await;
    let shown = a
        .eval(
            "const r = document.querySelector('#contacts tbody tr');
             return ['td.title', 'td.email', 'td[data-label=Valuation]', 'td[data-label=\"Last activity\"]']
               .map(s => getComputedStyle(r.querySelector(s)).display);",
        )
        .await;
    assert_eq!(
        shown,
        serde_json::json!(["block", "block", "block", "block"])
    );
    a.screenshot("contacts-390").await;
    a.goto(&sheet_url).await;
    a.screenshot("profile-390").await;
    a.set_size(1280, 1000).await;

    // 7. Made confidential, she is invisible to a viewer: not listed, not found by id.
    a.goto(&sheet_url).await;
    choose(&a, "#f-confidentiality", "confidential").await;
    click(&a, "#apply").await;
    a.wait_for("(document.getElementById('flash') || {}).textContent === 'Saved.'")
        .await;
    click(&a, "#sign-out").await;
    at(&a, "/admin/login").await;
    sign_in(&a, &edge, VIEWER_TOKEN).await;
    assert!(
        texts(&a, "#bulk-apply, #export, #create-form")
            .await
            .is_empty(),
        "a viewer is offered no changes"
    );
    search(&a, ALICE).await;
    assert_eq!(texts(&a, "#contacts td.email").await, Vec::<String>::new());
    a.goto(&sheet_url).await;
    a.wait_for("document.getElementById('error-message')").await;
    assert_eq!(text(&a, "h1").await, "Not found");

    b.close().await;
    a.close().await;
}
