//! Contacts: the identity rules carried out by the real store, the sheet, activity, lookups,
//! and the property that a maintained sheet equals one recomputed from stored events.
//!
//! Most tests run the app in-process with a fixed clock (`Lab`), so that a sheet's times and
//! valuations are exact; the auth and concurrency tests use the real binary.

use std::collections::HashMap;

use footprint_edge::contacts::aggregate::Span;
use footprint_edge::contacts::{fact, Contact, ContactId, Pos};
use footprint_edge::store::Store;
use serde_json::{json, Value};

use crate::lab::*;
use crate::util::{Edge, SITE, TOKEN};

#[actix_web::test]
async fn case_1_an_anonymous_contact_becomes_identified_in_place() {
    let lab = Lab::new();
    lab.send(vec![page("ta", T0 - 5 * MIN)]).await;
    let anon = lab.contact_of("ta").await;
    assert_eq!(lab.sheet(&anon).await["identified"], false);
    lab.send(vec![identify(
        "ta",
        T0 - MIN,
        json!({"email": "  Alice@Example.COM ", "first_name": "Alice"}),
    )])
    .await;
    let s = lab.sheet(&anon).await;
    assert_eq!(s["identified"], true);
    assert_eq!(s["profile"]["email"], "alice@example.com");
    assert_eq!(s["profile"]["first_name"], "Alice");
    assert_eq!(lab.contact_of("ta").await, anon, "no new contact");
}

#[actix_web::test]
async fn case_1_a_shared_device_moves_to_a_new_contact_and_leaves_history_behind() {
    let lab = Lab::new();
    lab.send(vec![
        identify(
            "shared",
            T0 - 10 * MIN,
            json!({"email": "alice@example.com"}),
        ),
        product("shared", T0 - 9 * MIN, "alices-pick"),
    ])
    .await;
    let alice = lab.contact_of("shared").await;
    lab.send(vec![
        identify("shared", T0 - 2 * MIN, json!({"email": "bob@example.com"})),
        product("shared", T0 - MIN, "bobs-pick"),
    ])
    .await;
    let bob = lab.contact_of("shared").await;
    assert_ne!(bob, alice);
    let a = lab.sheet(&alice).await;
    let b = lab.sheet(&bob).await;
    assert_eq!(a["profile"]["email"], "alice@example.com");
    assert_eq!(b["profile"]["email"], "bob@example.com");
    assert_eq!(a["products_of_interest"][0]["product_id"], "alices-pick");
    assert_eq!(b["products_of_interest"][0]["product_id"], "bobs-pick");
    assert_eq!(a["products_of_interest"].as_array().unwrap().len(), 1);
    assert_eq!(a["trackers"][0]["current"], false);
    assert_eq!(b["trackers"][0]["current"], true);
    // Bob's activity starts at his login; Alice's ends before it.
    let types = |evs: Vec<Value>| -> Vec<String> {
        evs.iter()
            .map(|e| e["type"].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(
        types(lab.activity(&bob, "").await),
        ["product_view", "identify"]
    );
    assert_eq!(
        types(lab.activity(&alice, "").await),
        ["product_view", "identify"]
    );
}

#[actix_web::test]
async fn case_1_an_identified_contact_adding_its_phone_stays_itself() {
    let lab = Lab::new();
    lab.send(vec![identify(
        "t",
        T0 - 2 * MIN,
        json!({"email": "alice@example.com"}),
    )])
    .await;
    let alice = lab.contact_of("t").await;
    lab.send(vec![identify(
        "t",
        T0 - MIN,
        json!({"phone": "+34 600 123 456"}),
    )])
    .await;
    assert_eq!(lab.contact_of("t").await, alice);
    let s = lab.sheet(&alice).await;
    assert_eq!(s["profile"]["mobile_phone"], "+34600123456");
    assert_eq!(s["status"]["sms"], "active");
}

#[actix_web::test]
async fn case_2_an_anonymous_contact_merges_into_the_known_one() {
    let lab = Lab::new();
    // Alice, known, with a profile and an old cart.
    lab.send(vec![
        identify(
            "laptop",
            T0 - DAY,
            json!({"email": "alice@example.com", "first_name": "Alice"}),
        ),
        cart("laptop", T0 - DAY + MIN, 10.0),
        ev("laptop", "consent", T0 - DAY, json!({"state": "no"})),
    ])
    .await;
    let alice = lab.contact_of("laptop").await;
    // An anonymous phone browses, fills a newer cart, subscribes to push, consents.
    lab.send(vec![
        product("phone", T0 - 30 * MIN, "p9"),
        cart("phone", T0 - 20 * MIN, 99.9),
        ev(
            "phone",
            "push_subscribe",
            T0 - 25 * MIN,
            json!({"endpoint": "https://push.example/sub/1", "keys": {"p256dh": "k", "auth": "a"}}),
        ),
        ev("phone", "consent", T0 - 25 * MIN, json!({"state": "yes"})),
    ])
    .await;
    let anon = lab.contact_of("phone").await;
    assert_ne!(anon, alice);
    lab.send(vec![identify(
        "phone",
        T0 - 10 * MIN,
        json!({"email": "ALICE@example.com", "first_name": "Ally"}),
    )])
    .await;

    assert_eq!(lab.contact_of("phone").await, alice);
    let s = lab.sheet(&alice).await;
    assert_eq!(s["merged_ids"], json!([anon]));
    assert_eq!(s["trackers"].as_array().unwrap().len(), 2);
    // The newest cart wins; consents and push subscriptions are the union, latest state.
    assert_eq!(s["ecommerce"]["cart"]["total"], "99.90");
    assert_eq!(s["status"]["consent"], "yes");
    assert_eq!(s["status"]["web_push"]["enabled"], true);
    assert_eq!(
        s["status"]["web_push"]["subscriptions"][0]["origin"],
        "https://push.example"
    );
    // The identify's traits are the newest: they apply to the merged contact.
    assert_eq!(s["profile"]["first_name"], "Ally");
    assert_eq!(s["products_of_interest"][0]["product_id"], "p9");

    // The anonymous id keeps resolving, and says where it went.
    let old = lab.sheet(&anon).await;
    assert_eq!(old["id"], alice.as_str());
    assert_eq!(old["requested_id"], anon.as_str());
    assert_eq!(old["merged_into"], alice.as_str());

    // The phone's anonymous events are in Alice's activity, newest first.
    let evs = lab.activity(&alice, "type=product_view,cart_update").await;
    let kinds: Vec<&str> = evs.iter().map(|e| e["type"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["cart_update", "product_view", "cart_update"]);
    assert_eq!(evs[1]["tracker_id"], "phone");

    let log = lab.store.id_changes().unwrap();
    assert_eq!(log.len(), 1);
    assert_eq!(log[0].rule, "merge");
    assert_eq!(log[0].trackers, ["phone"]);
    assert_eq!(log[0].from.to_string(), anon);
}

#[actix_web::test]
async fn case_3_two_identified_contacts_never_merge() {
    let lab = Lab::new();
    lab.send(vec![identify(
        "a",
        T0 - 3 * MIN,
        json!({"email": "alice@example.com"}),
    )])
    .await;
    lab.send(vec![identify(
        "c",
        T0 - 2 * MIN,
        json!({"email": "carol@example.com"}),
    )])
    .await;
    let (alice, carol) = (lab.contact_of("a").await, lab.contact_of("c").await);
    lab.send(vec![identify(
        "c",
        T0 - MIN,
        json!({"email": "alice@example.com"}),
    )])
    .await;
    assert_eq!(lab.contact_of("c").await, alice, "the tracker moved");
    let c = lab.sheet(&carol).await;
    assert_eq!(c["id"], carol.as_str(), "carol still exists");
    assert_eq!(c["profile"]["email"], "carol@example.com");
    assert_eq!(lab.sheet(&alice).await["merged_ids"], json!([]));
    assert_eq!(lab.store.id_changes().unwrap()[0].rule, "move_tracker");
}

#[actix_web::test]
async fn case_4_the_same_contact_changes_nothing() {
    let lab = Lab::new();
    lab.send(vec![identify(
        "a",
        T0 - 2 * MIN,
        json!({"email": "alice@example.com"}),
    )])
    .await;
    let alice = lab.contact_of("a").await;
    lab.send(vec![identify(
        "a",
        T0 - MIN,
        json!({"email": "alice@example.com"}),
    )])
    .await;
    assert_eq!(lab.contact_of("a").await, alice);
    assert!(lab.store.id_changes().unwrap().is_empty());
}

#[actix_web::test]
async fn logout_is_an_event_and_changes_no_mapping() {
    let lab = Lab::new();
    lab.send(vec![
        identify("t", T0 - 3 * MIN, json!({"email": "alice@example.com"})),
        ev("t", "logout", T0 - 2 * MIN, json!({})),
        page("t", T0 - MIN),
    ])
    .await;
    let alice = lab.contact_of("t").await;
    let s = lab.sheet(&alice).await;
    assert_eq!(s["counts"]["events"], 3);
    assert_eq!(s["profile"]["email"], "alice@example.com");
    assert!(lab.store.id_changes().unwrap().is_empty());
}

#[actix_web::test]
async fn placeholders_are_refused_with_a_warning_and_merge_nothing() {
    let lab = Lab::new();
    lab.send(vec![identify("a", T0 - 2 * MIN, json!({"email": "null"}))])
        .await;
    let r = lab
        .send(vec![identify(
            "b",
            T0 - MIN,
            json!({"email": "NULL", "phone": "0"}),
        )])
        .await;
    assert_eq!(r.accepted, 1);
    assert_eq!(r.warnings.len(), 2, "{r:?}");
    assert!(r.warnings[0].warning.contains("placeholder"), "{r:?}");
    let (a, b) = (lab.contact_of("a").await, lab.contact_of("b").await);
    assert_ne!(a, b);
    assert_eq!(lab.sheet(&b).await["identified"], false);
}

#[actix_web::test]
async fn money_is_exact_and_a_repeated_order_counts_once() {
    let lab = Lab::new();
    lab.send(vec![
        identify("t", T0 - 10 * MIN, json!({"email": "a@example.com"})),
        purchase("t", T0 - 9 * MIN, "o1", 0.1),
        purchase("t", T0 - 8 * MIN, "o2", 0.2),
        // The thank-you page reloaded.
        purchase("t", T0 - 7 * MIN, "o2", 0.2),
    ])
    .await;
    let s = lab.sheet(&lab.contact_of("t").await).await;
    assert_eq!(s["ecommerce"]["total_spent"]["EUR"], "0.30");
    assert_eq!(s["ecommerce"]["purchases"], 2);
    assert_eq!(s["ecommerce"]["average_order_value"]["EUR"], "0.15");
    assert_eq!(s["counts"]["purchases"], 2);
    assert_eq!(s["counts"]["events"], 4);
}

#[actix_web::test]
async fn a_cart_is_abandoned_after_an_hour_without_a_purchase() {
    let lab = Lab::new();
    lab.send(vec![cart("t", T0 - 59 * MIN, 5.0)]).await;
    let id = lab.contact_of("t").await;
    assert_eq!(
        lab.sheet(&id).await["ecommerce"]["cart"]["abandoned"],
        false
    );
    lab.set_now(T0 + MIN);
    assert_eq!(lab.sheet(&id).await["ecommerce"]["cart"]["abandoned"], true);
    lab.send(vec![purchase("t", T0 + MIN, "o", 5.0)]).await;
    // The purchase emptied the cart: nothing is left to abandon
    // (`a_purchase_without_a_cart_update_empties_the_current_cart`).
    assert!(lab.sheet(&id).await["ecommerce"]["cart"].is_null());
}

#[actix_web::test]
async fn rfm_scores_come_from_the_background_quintiles() {
    let lab = Lab::new();
    for k in 1..=5 {
        let t = format!("buyer{k}");
        let mut evs = vec![identify(
            &t,
            T0 - 200 * DAY,
            json!({"email": format!("b{k}@example.com")}),
        )];
        for n in 0..k {
            evs.push(purchase(
                &t,
                T0 - (k as i64) * 10 * DAY,
                &format!("o{k}-{n}"),
                10.0 * k as f64,
            ));
        }
        lab.send(evs).await;
    }
    let best = lab.contact_of("buyer1").await;
    let before = lab.sheet(&best).await;
    assert_eq!(before["rfm"]["r"], Value::Null, "not scored yet");
    assert_eq!(lab.store.recompute_rfm(T0).unwrap(), 5);
    let s = lab.sheet(&best).await;
    assert_eq!(s["rfm"]["recency_days"], 10);
    assert_eq!(s["rfm"]["frequency"], 1);
    assert_eq!(
        (s["rfm"]["r"].as_u64(), s["rfm"]["f"].as_u64()),
        (Some(5), Some(1))
    );
    assert_eq!(s["rfm"]["segment"], "new_customer");
    let top = lab.sheet(&lab.contact_of("buyer5").await).await;
    assert_eq!(top["rfm"]["monetary"], "250.00");
    assert_eq!(top["rfm"]["segment"], "cannot_lose");
    assert_eq!(top["clv"]["orders"], 5);
}

#[actix_web::test]
async fn lookups_use_the_indexes_and_search_matches_prefixes() {
    let lab = Lab::new();
    lab.send(vec![identify(
        "a",
        T0 - MIN,
        json!({"email": "alice@example.com", "phone": "+34600123456", "first_name": "Alice", "last_name": "Smith"}),
    )])
    .await;
    lab.send(vec![identify(
        "b",
        T0 - MIN,
        json!({"email": "bob@example.com", "last_name": "Smithers"}),
    )])
    .await;
    lab.send(vec![page("anon", T0 - DAY * 50)]).await;
    let alice = lab.contact_of("a").await;
    let ids = |v: &Value| -> Vec<String> {
        v["contacts"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["id"].as_str().unwrap().to_owned())
            .collect()
    };
    let (_, r) = lab.get("/v1/contacts?email=ALICE@example.com").await;
    assert_eq!(ids(&r), [alice.as_str()]);
    assert_eq!(r["contacts"][0]["name"], "Alice Smith");
    let (_, r) = lab.get("/v1/contacts?phone=%2B34%20600%20123%20456").await;
    assert_eq!(ids(&r), [alice.as_str()]);
    let (_, r) = lab.get("/v1/contacts?q=smith").await;
    assert_eq!(ids(&r).len(), 2);
    let (_, r) = lab.get("/v1/contacts?q=ali").await;
    assert_eq!(ids(&r), [alice.as_str()]);
    // Queries of 6 characters or more look in the narrower bucket: these cross from a
    // term's 6-character bucket into the rest of it, and into the full name.
    let bob = lab.contact_of("b").await;
    for (q, want) in [
        ("smithers", vec![bob.as_str()]),
        ("smithe", vec![bob.as_str()]),
        ("alice%40example.com", vec![alice.as_str()]),
        ("alice%20smith", vec![alice.as_str()]),
        ("Alice%20Smi", vec![alice.as_str()]),
        ("alicia", vec![]),
    ] {
        let (status, r) = lab.get(&format!("/v1/contacts?q={q}")).await;
        assert_eq!(status, 200, "{q}: {r}");
        assert_eq!(ids(&r), want, "{q}");
    }
    let (status, r) = lab.get("/v1/contacts?q=al").await;
    assert_eq!(
        (status, r["error"].as_str()),
        (400, Some("query_too_short")),
        "{r}"
    );
    let (_, r) = lab.get("/v1/contacts?has_email=false").await;
    assert_eq!(ids(&r), [lab.contact_of("anon").await]);
    let (_, r) = lab.get("/v1/contacts?valuation=dormant").await;
    assert_eq!(r["contacts"][0]["valuation"], "dormant");
    let (_, r) = lab.get("/v1/contacts?limit=2").await;
    assert_eq!(ids(&r).len(), 2);
    let next = r["next"].as_str().unwrap().to_owned();
    let (_, r) = lab
        .get(&format!("/v1/contacts?limit=2&cursor={next}"))
        .await;
    assert_eq!(ids(&r).len(), 1);
    assert!(r.get("next").is_none());
    let (status, r) = lab.get("/v1/contacts?email=null").await;
    assert_eq!((status, r["error"].as_str()), (400, Some("invalid_email")));
    let (status, _) = lab.get("/v1/contacts?colour=red").await;
    assert_eq!(status, 400);
}

#[actix_web::test]
async fn activity_pages_with_a_cursor_across_trackers() {
    let lab = Lab::new();
    lab.send(vec![identify(
        "a",
        T0 - 100 * MIN,
        json!({"email": "a@example.com"}),
    )])
    .await;
    for i in 0..30 {
        lab.send(vec![
            product("a", T0 - 90 * MIN + i * MIN, "p"),
            page("a", T0 - 90 * MIN + i * MIN),
        ])
        .await;
    }
    for i in 0..10 {
        lab.send(vec![page("b", T0 - 40 * MIN + i * MIN)]).await;
    }
    lab.send(vec![identify(
        "b",
        T0 - 20 * MIN,
        json!({"email": "a@example.com"}),
    )])
    .await;
    let id = lab.contact_of("a").await;
    let mut all = Vec::new();
    let mut cursor = String::new();
    loop {
        let (status, body) = lab
            .get(&format!("/v1/contacts/{id}/activity?limit=7{cursor}"))
            .await;
        assert_eq!(status, 200);
        all.extend(body["events"].as_array().unwrap().iter().cloned());
        match body["next"].as_str() {
            Some(c) => cursor = format!("&before={c}"),
            None => break,
        }
    }
    assert_eq!(all.len(), 1 + 60 + 10 + 1);
    let mut ids: Vec<&str> = all
        .iter()
        .map(|e| e["message_id"].as_str().unwrap())
        .collect();
    ids.dedup();
    assert_eq!(ids.len(), all.len(), "no event twice");
    let views = lab.activity(&id, "type=product_view&limit=500").await;
    assert_eq!(views.len(), 30);
    let (status, body) = lab
        .get(&format!("/v1/contacts/{id}/activity?type=nope"))
        .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_type"))
    );
}

/// A scripted shopper, whose whole sheet is checked against `tests/golden/shopper.json`:
/// anonymous browsing, a cart, login, a purchase, and a second device.
#[actix_web::test]
async fn golden_sheet_of_a_scripted_shopper() {
    let lab = Lab::new();
    let laptop = "0197a5e0-0000-7000-8000-00000000000a";
    let phone = "0197a5e0-0000-7000-8000-00000000000b";
    lab.set_now(T0 - 3 * DAY);
    lab.send(vec![
        page(laptop, T0 - 3 * DAY),
        product(laptop, T0 - 3 * DAY + MIN, "boots"),
        product(laptop, T0 - 3 * DAY + 2 * MIN, "scarf"),
        product(laptop, T0 - 3 * DAY + 3 * MIN, "boots"),
        ev(
            laptop,
            "cart_add",
            T0 - 3 * DAY + 4 * MIN,
            json!({"product_id": "boots", "name": "Product boots", "price": 89.99, "currency": "EUR", "quantity": 1,
                   "cart": {"items": [{"product_id": "boots", "name": "Product boots", "price": 89.99, "quantity": 1}],
                            "total": 89.99, "currency": "EUR"}}),
        ),
    ])
    .await;
    lab.set_now(T0 - 2 * DAY);
    lab.send(vec![
        identify(
            laptop,
            T0 - 2 * DAY,
            json!({"email": "Shopper@Example.com", "first_name": "Sam", "last_name": "Shopper",
                   "birth_date": "1990-02-28", "custom": {"tier": "gold", "pets": 2}}),
        ),
        ev(laptop, "consent", T0 - 2 * DAY, json!({"state": "yes"})),
        purchase(laptop, T0 - 2 * DAY + 5 * MIN, "order-1", 89.99),
    ])
    .await;
    lab.set_now(T0 - DAY);
    lab.send(vec![
        product(phone, T0 - DAY, "hat"),
        cart(phone, T0 - DAY + MIN, 19.5),
        identify(
            phone,
            T0 - DAY + 2 * MIN,
            json!({"email": "shopper@example.com"}),
        ),
    ])
    .await;
    lab.set_now(T0);
    lab.store.recompute_rfm(T0).unwrap();
    let sheet = lab.sheet(&lab.contact_of(laptop).await).await;
    let golden_path = format!("{}/tests/golden/shopper.json", env!("CARGO_MANIFEST_DIR"));
    let got = serde_json::to_string_pretty(&sheet).unwrap();
    if std::env::var_os("FOOTPRINT_BLESS").is_some() {
        std::fs::write(&golden_path, format!("{got}\n")).unwrap();
    }
    let want = std::fs::read_to_string(&golden_path)
        .unwrap_or_else(|e| panic!("{golden_path}: {e}; run with FOOTPRINT_BLESS=1 to write it"));
    assert_eq!(
        got.trim(),
        want.trim(),
        "the sheet changed; if on purpose, run with FOOTPRINT_BLESS=1 and review the diff"
    );
}

/// Twenty trackers of one new shopper log in at once, over real HTTP to the real binary: one
/// contact ends up holding all twenty.
#[test]
fn twenty_concurrent_logins_end_with_one_contact() {
    let edge = Edge::start();
    let trackers: Vec<String> = (0..20).map(|i| format!("device-{i}")).collect();
    // Each device browses anonymously first.
    for t in &trackers {
        let r = edge.post_json(&crate::util::batch(vec![page(t, T0)]));
        assert_eq!(r.status, 200, "{}", r.text);
    }
    std::thread::scope(|s| {
        for t in &trackers {
            let edge = &edge;
            s.spawn(move || {
                let now = crate::util::now_iso();
                let body = json!({"site_key": SITE, "sent_at": now, "events": [
                    {"message_id": format!("login-{t}"), "tracker_id": t, "type": "identify",
                     "timestamp": now, "properties": {"email": "crowd@example.com"}}
                ]});
                let r = edge.post_json(&body);
                assert_eq!(r.status, 200, "{}", r.text);
            });
        }
    });
    let r = edge.get("/v1/contacts?email=crowd@example.com", Some(TOKEN));
    assert_eq!(r.status, 200, "{}", r.text);
    let rows = r.json["contacts"].as_array().unwrap();
    assert_eq!(rows.len(), 1, "{}", r.text);
    let id = rows[0]["id"].as_str().unwrap();
    let sheet = edge.get(&format!("/v1/contacts/{id}"), Some(TOKEN));
    assert_eq!(sheet.json["trackers"].as_array().unwrap().len(), 20);
    assert_eq!(sheet.json["merged_ids"].as_array().unwrap().len(), 19);
    for t in &trackers {
        let r = edge.get(&format!("/v1/trackers/{t}/contact"), Some(TOKEN));
        assert_eq!(r.json["contact"]["id"], id, "{t}");
    }
}

#[test]
fn every_contact_endpoint_answers_401_without_a_token() {
    let edge = Edge::start();
    for path in [
        "/v1/contacts",
        "/v1/contacts?email=a@example.com",
        "/v1/contacts/1",
        "/v1/contacts/1/activity",
        "/v1/trackers/t1/contact",
    ] {
        edge.get(path, None).assert_error(401, "unauthorized");
        edge.get(path, Some("wrong-token"))
            .assert_error(401, "unauthorized");
    }
}

mod property {
    //! For random event sequences over a few trackers, with identifies that merge and move
    //! them, each contact's maintained aggregate equals a fresh fold of the events the store
    //! attributes to it.

    use super::*;
    use proptest::prelude::*;

    #[derive(Debug, Clone)]
    enum Step {
        Page,
        View(u8),
        Cart(u16),
        Buy(u8, u16),
        Identify(u8),
        Consent(bool),
        Push(u8, bool),
    }

    fn step() -> impl Strategy<Value = Step> {
        prop_oneof![
            Just(Step::Page),
            (0u8..6).prop_map(Step::View),
            (1u16..500).prop_map(Step::Cart),
            ((0u8..8), (1u16..500)).prop_map(|(o, t)| Step::Buy(o, t)),
            (0u8..3).prop_map(Step::Identify),
            any::<bool>().prop_map(Step::Consent),
            ((0u8..2), any::<bool>()).prop_map(|(e, on)| Step::Push(e, on)),
        ]
    }

    fn event(tracker: &str, at: i64, s: &Step) -> Value {
        match s {
            Step::Page => page(tracker, at),
            Step::View(p) => product(tracker, at, &format!("p{p}")),
            Step::Cart(c) => cart(tracker, at, f64::from(*c) / 10.0),
            Step::Buy(o, t) => purchase(tracker, at, &format!("o{o}"), f64::from(*t) / 100.0),
            Step::Identify(e) => identify(
                tracker,
                at,
                json!({"email": format!("person{e}@example.com"), "first_name": format!("N{at}")}),
            ),
            Step::Consent(yes) => ev(
                tracker,
                "consent",
                at,
                json!({"state": if *yes { "yes" } else { "no" }}),
            ),
            Step::Push(e, true) => ev(
                tracker,
                "push_subscribe",
                at,
                json!({"endpoint": format!("https://push.example/{e}"), "keys": {"p256dh": "k", "auth": "a"}}),
            ),
            Step::Push(e, false) => ev(
                tracker,
                "push_unsubscribe",
                at,
                json!({"endpoint": format!("https://push.example/{e}")}),
            ),
        }
    }

    /// Every live contact, refolded from its events alone.
    fn recompute(store: &Store, live: &[Contact]) -> HashMap<ContactId, Contact> {
        // An order counts on its first event, site-wide, in the order the store took them.
        let mut first_of_order: HashMap<String, Pos> = HashMap::new();
        let mut per_contact = Vec::new();
        for c in live {
            let (events, _) = store.activity(c, u32::MAX, None, usize::MAX).unwrap();
            let mut evs: Vec<(Pos, String, fact::Fact)> = events
                .into_iter()
                .map(|e| {
                    let f = fact::of_stored(
                        e.fields.kind.as_str(),
                        &e.fields.properties_json,
                        &e.fields.context_json,
                        e.fields.timestamp,
                        None,
                    )
                    .expect("stored events parse");
                    (e.cursor.into(), e.tracker_id, f)
                })
                .collect();
            evs.sort_by_key(|(p, _, _)| *p);
            for (p, _, f) in &evs {
                if let fact::FactKind::Purchase { order_id, .. } = &f.kind {
                    let first = first_of_order.entry(order_id.clone()).or_insert(*p);
                    *first = (*first).min(*p);
                }
            }
            per_contact.push((c, evs));
        }
        let mut out = HashMap::new();
        for (c, evs) in per_contact {
            let mut fresh = Contact::new(c.id, &c.site, i64::MAX);
            fresh.spans = c
                .spans
                .iter()
                .map(|s| Span {
                    first_seen: None,
                    last_seen: None,
                    user_agent: None,
                    ..s.clone()
                })
                .collect();
            // Set by the identity rules, not by the fold.
            fresh.email = c.email.clone();
            fresh.phone = c.phone.clone();
            fresh.merged_ids = c.merged_ids.clone();
            for (p, tracker, f) in &evs {
                let new_order = match &f.kind {
                    fact::FactKind::Purchase { order_id, .. } => first_of_order[order_id] == *p,
                    _ => false,
                };
                fresh.apply(tracker, *p, f, new_order);
            }
            out.insert(c.id, fresh);
        }
        out
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]
        #[test]
        fn the_maintained_sheet_equals_a_full_recomputation(
            script in proptest::collection::vec(((0usize..4), step(), (0i64..600), 1usize..4), 1..60)
        ) {
            let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
            let lab = Lab::new();
            let trackers = ["t0", "t1", "t2", "t3"];
            rt.block_on(async {
                // Consecutive steps of one tracker go in one batch, as a tracker sends them.
                let mut i = 0;
                while i < script.len() {
                    let (t, _, _, n) = &script[i];
                    let batch: Vec<Value> = script[i..(i + n).min(script.len())]
                        .iter()
                        .map(|(_, s, skew, _)| event(trackers[*t], T0 - skew * MIN, s))
                        .collect();
                    i += n;
                    lab.send(batch).await;
                }
            });
            let live: Vec<Contact> = lab
                .store
                .contacts_before(None)
                .collect::<Result<_, _>>()
                .unwrap();
            let fresh = recompute(&lab.store, &live);
            for c in live {
                let want = fresh[&c.id].clone().canonical();
                prop_assert_eq!(c.canonical(), want);
            }
        }
    }
}

#[actix_web::test]
async fn the_shops_newsletter_events_set_the_status_and_the_latest_word_wins() {
    let lab = Lab::new();
    let custom = |tracker: &str, at: i64, name: &str| {
        ev(
            tracker,
            "custom",
            at,
            json!({"name": name, "properties": {"list": "weekly"}}),
        )
    };
    lab.send(vec![
        identify("t", T0 - 10 * MIN, json!({"email": "nina@example.com"})),
        custom("t", T0 - 9 * MIN, "newsletter_subscribe"),
        // Any other custom name is activity only.
        custom("t", T0 - 8 * MIN, "newsletter_signup"),
    ])
    .await;
    let id = lab.contact_of("t").await;
    assert_eq!(lab.sheet(&id).await["status"]["newsletter"], "subscribed");

    // An admin's edit (at T0) is newer than the sign-up...
    let (status, body) = lab
        .call(
            "PATCH",
            &format!("/v1/contacts/{id}"),
            crate::util::TOKEN,
            Some(json!({"newsletter": "unsubscribed"})),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["status"]["newsletter"], "unsubscribed");
    let (_, history) = lab
        .call(
            "GET",
            &format!("/v1/contacts/{id}/history"),
            crate::util::TOKEN,
            None,
        )
        .await;
    let change = history["changes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["field"] == "newsletter")
        .expect("the edit is in the history");
    assert_eq!(
        (&change["old"], &change["new"]),
        (&json!("subscribed"), &json!("unsubscribed"))
    );

    // ...and a sign-up sent later is newer still; one sent from before it is not.
    lab.send(vec![custom("t", T0 - MIN, "newsletter_subscribe")])
        .await;
    assert_eq!(lab.sheet(&id).await["status"]["newsletter"], "unsubscribed");
    lab.set_now(T0 + 10 * MIN);
    lab.send(vec![custom("t", T0 + 5 * MIN, "newsletter_subscribe")])
        .await;
    assert_eq!(lab.sheet(&id).await["status"]["newsletter"], "subscribed");

    // An anonymous device that unsubscribed later, then logs in: the merge keeps the latest.
    lab.send(vec![
        custom("phone", T0 + 6 * MIN, "newsletter_unsubscribe"),
        identify("phone", T0 + 7 * MIN, json!({"email": "nina@example.com"})),
    ])
    .await;
    assert_eq!(lab.contact_of("phone").await, id);
    assert_eq!(lab.sheet(&id).await["status"]["newsletter"], "unsubscribed");
}

#[actix_web::test]
async fn a_new_email_beside_another_contacts_phone_is_kept_not_dropped() {
    let lab = Lab::new();
    lab.send(vec![identify(
        "tb",
        T0 - DAY,
        json!({"email": "bea@example.com", "phone": "+34600555444"}),
    )])
    .await;
    let bea = lab.contact_of("tb").await;
    // Another shopper types a new email and, by mistake or on a shared line, Bea's phone.
    lab.send(vec![
        page("tn", T0 - 2 * MIN),
        identify(
            "tn",
            T0 - MIN,
            json!({"email": "nuno@example.com", "phone": "+34600555444"}),
        ),
    ])
    .await;
    let nuno = lab.contact_of("tn").await;
    assert_ne!(nuno, bea, "the email decides: not Bea");
    let n = lab.sheet(&nuno).await;
    assert_eq!(n["profile"]["email"], "nuno@example.com", "{n}");
    assert!(
        n["profile"]["mobile_phone"].is_null(),
        "the phone stays Bea's"
    );
    let b = lab.sheet(&bea).await;
    assert_eq!(b["profile"]["email"], "bea@example.com");
    assert_eq!(b["profile"]["mobile_phone"], "+34600555444");
}

#[actix_web::test]
async fn a_purchase_without_a_cart_update_empties_the_current_cart() {
    let lab = Lab::new();
    lab.send(vec![
        identify("tp", T0 - 60 * MIN, json!({"email": "pia@example.com"})),
        cart("tp", T0 - 30 * MIN, 59.95),
        purchase("tp", T0 - 20 * MIN, "order-1", 59.95),
    ])
    .await;
    let id = lab.contact_of("tp").await;
    let sheet = lab.sheet(&id).await;
    assert!(
        sheet["ecommerce"]["cart"].is_null(),
        "{}",
        sheet["ecommerce"]
    );
    assert_eq!(sheet["ecommerce"]["purchases"], 1);
    // A cart filled after the purchase is the current cart again.
    lab.send(vec![cart("tp", T0 - 10 * MIN, 12.5)]).await;
    let sheet = lab.sheet(&id).await;
    assert_eq!(
        sheet["ecommerce"]["cart"]["total"], "12.50",
        "{}",
        sheet["ecommerce"]
    );
}

#[actix_web::test]
async fn one_shopper_cannot_grow_a_contact_without_bound() {
    let lab = Lab::new();
    // A hostile (or buggy) page: 600 custom keys over 10 identifies, 40 push endpoints, and
    // a 2 KB custom value.
    let mut last = None;
    for round in 0..10 {
        let custom: serde_json::Map<String, Value> = (0..60)
            .map(|k| (format!("k{round:02}_{k:02}"), json!("v")))
            .collect();
        let r = lab
            .send(vec![identify(
                "th",
                T0 - DAY + round * MIN,
                json!({"email": "hostile@example.com", "custom": custom}),
            )])
            .await;
        last = Some(r);
    }
    let last = last.unwrap();
    assert_eq!(last.accepted, 1);
    let warning = &last.warnings[0].warning;
    assert!(
        warning.contains("at most 100 custom fields") && warning.contains("and 55 more"),
        "{warning}"
    );
    let pushes: Vec<Value> = (0..40)
        .map(|e| {
            ev(
                "th",
                "push_subscribe",
                T0 - 60 * MIN,
                json!({"endpoint": format!("https://push.example/h/{e}"), "keys": {"p256dh": "k", "auth": "a"}}),
            )
        })
        .collect();
    let r = lab.send(pushes).await;
    assert_eq!(r.accepted, 40, "every event is stored");
    assert_eq!(r.warnings.len(), 20, "{:?}", r.warnings);
    assert!(r.warnings[0]
        .warning
        .contains("at most 20 push subscriptions"));
    assert_eq!(
        r.warnings[0].index, 20,
        "the 21st endpoint is the first not kept"
    );
    let r = lab
        .send(vec![identify(
            "th",
            T0 - MIN,
            json!({"email": "hostile@example.com", "custom": {"k00_00": "x".repeat(2048)}}),
        )])
        .await;
    assert!(
        r.warnings[0].warning.contains("1024 bytes"),
        "{:?}",
        r.warnings
    );

    let id = lab.contact_of("th").await;
    let sheet = lab.sheet(&id).await;
    assert_eq!(sheet["custom_fields"].as_object().unwrap().len(), 100);
    assert_eq!(
        sheet["custom_fields"]["k00_00"], "v",
        "the oversized value was not kept"
    );
    assert_eq!(
        sheet["status"]["web_push"]["subscriptions"]
            .as_array()
            .unwrap()
            .len(),
        20
    );
    // What the writer reads and writes per event on this contact stays bounded; the
    // benchmark (`cargo xtask bench hostile`) times it.
    let size = sheet.to_string().len();
    assert!(size < 64 * 1024, "{size} bytes");
}

#[actix_web::test]
async fn a_contact_gathers_at_most_500_devices_through_logins() {
    let lab = Lab::new();
    // A script logs in as one shopper from fresh trackers; 50 a batch.
    for b in 0..10 {
        let events = (0..50)
            .map(|d| {
                identify(
                    &format!("dev-{b}-{d}"),
                    T0 - DAY + b * MIN,
                    json!({"email": "many@example.com"}),
                )
            })
            .collect();
        let r = lab.send(events).await;
        assert!(r.warnings.is_empty(), "{:?}", r.warnings);
    }
    let r = lab
        .send(vec![identify(
            "dev-one-too-many",
            T0 - MIN,
            json!({"email": "many@example.com"}),
        )])
        .await;
    assert_eq!(r.accepted, 1);
    assert!(
        r.warnings[0].warning.contains("already has 500 devices"),
        "{:?}",
        r.warnings
    );
    let many = lab.contact_of("dev-0-0").await;
    assert_eq!(
        lab.sheet(&many).await["trackers"].as_array().unwrap().len(),
        500
    );
    let alone = lab.contact_of("dev-one-too-many").await;
    assert_ne!(alone, many, "the 501st device stays a contact of its own");
}
