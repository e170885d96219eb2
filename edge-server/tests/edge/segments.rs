//! Segments: static ones filled by hand, dynamic ones by a rule on every field kind, the
//! contact list's `segment=` filter, and membership on the sheet and in the history.

use serde_json::{json, Value};

use crate::lab::*;
use crate::util::TOKEN;

async fn known(lab: &Lab, tracker: &str, email: &str, at: i64) -> String {
    lab.send(vec![
        page(tracker, at - MIN),
        identify(tracker, at, json!({"email": email})),
    ])
    .await;
    lab.contact_of(tracker).await
}

async fn create(lab: &Lab, body: Value) -> String {
    let (status, s) = lab.call("POST", "/v1/segments", EDITOR, Some(body)).await;
    assert_eq!(status, 201, "{s}");
    s["id"].as_str().unwrap().to_owned()
}

/// A segment's members, every page, in the order the API gives them.
async fn members(lab: &Lab, segment: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cursor = String::new();
    loop {
        let path = format!("/v1/segments/{segment}/members?limit=2{cursor}");
        let (status, page) = lab.call("GET", &path, TOKEN, None).await;
        assert_eq!(status, 200, "{path}: {page}");
        for r in page["contacts"].as_array().unwrap() {
            out.push(r["id"].as_str().unwrap().to_owned());
        }
        match page["next"].as_str() {
            Some(n) => cursor = format!("&cursor={n}"),
            None => return out,
        }
    }
}

fn sorted(mut v: Vec<String>) -> Vec<String> {
    v.sort();
    v
}

#[actix_web::test]
async fn static_segments_hold_what_admins_put_in_them() {
    let lab = Lab::new();
    let a = known(&lab, "ta", "a@example.com", T0 - DAY).await;
    let b = known(&lab, "tb", "b@example.com", T0 - DAY).await;
    let seg = create(
        &lab,
        json!({"name": "VIP", "description": "Best customers"}),
    )
    .await;
    let (status, view) = lab.get(&format!("/v1/segments/{seg}")).await;
    assert_eq!((status, view["kind"].as_str()), (200, Some("static")));
    assert_eq!(view["created_by"], "eddie");
    let (status, dup) = lab
        .call("POST", "/v1/segments", EDITOR, Some(json!({"name": "vip"})))
        .await;
    assert_eq!(status, 409, "names are unique in any case: {dup}");

    let (status, report) = lab
        .call(
            "POST",
            &format!("/v1/segments/{seg}/members"),
            EDITOR,
            Some(json!({"contacts": [a, b.parse::<u64>().unwrap(), "999"]})),
        )
        .await;
    assert_eq!(status, 200, "{report}");
    assert_eq!(
        (report["done"].as_u64(), report["failed"].as_u64()),
        (Some(2), Some(1))
    );
    assert_eq!(report["results"][2]["error"]["code"], "not_found");
    // Highest id first, across pages.
    assert_eq!(members(&lab, &seg).await, vec![b.clone(), a.clone()]);
    let (_, list) = lab
        .get(&format!("/v1/contacts?segment={seg}&has_email=true"))
        .await;
    assert_eq!(list["contacts"].as_array().unwrap().len(), 2, "{list}");

    let sheet = lab.sheet(&a).await;
    assert_eq!(
        sheet["segments"],
        json!([{"id": seg, "name": "VIP", "kind": "static"}])
    );
    let (_, history) = lab.get(&format!("/v1/contacts/{a}/history")).await;
    let added = history["changes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["field"] == "segment")
        .unwrap_or_else(|| panic!("{history}"));
    assert_eq!(added["new"], format!("VIP ({seg})"));
    assert_eq!(added["who"], "eddie");

    let path = format!("/v1/segments/{seg}/members/{b}");
    assert_eq!(lab.call("DELETE", &path, EDITOR, None).await.0, 204);
    assert_eq!(members(&lab, &seg).await, vec![a.clone()]);

    // A merge carries static membership to the survivor.
    let (status, _) = lab
        .call(
            "POST",
            &format!("/v1/contacts/{b}/merge"),
            EDITOR,
            Some(json!({"from": a})),
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(members(&lab, &seg).await, vec![b.clone()]);

    let (status, renamed) = lab
        .call(
            "PATCH",
            &format!("/v1/segments/{seg}"),
            EDITOR,
            Some(json!({"name": "Gold"})),
        )
        .await;
    assert_eq!((status, renamed["name"].as_str()), (200, Some("Gold")));
    let (status, refused) = lab
        .call(
            "PATCH",
            &format!("/v1/segments/{seg}"),
            EDITOR,
            Some(json!({"rule": {"field": "identified", "op": "eq", "value": true}})),
        )
        .await;
    assert_eq!(status, 409, "a static segment takes no rule: {refused}");

    assert_eq!(
        lab.call("DELETE", &format!("/v1/segments/{seg}"), EDITOR, None)
            .await
            .0,
        204
    );
    assert_eq!(lab.sheet(&b).await["segments"], json!([]));
    let (status, _) = lab.get(&format!("/v1/contacts?segment={seg}")).await;
    assert_eq!(status, 400, "a filter on a deleted segment");
    let (status, _) = lab.get(&format!("/v1/segments/{seg}/members")).await;
    assert_eq!(status, 404);
}

#[actix_web::test]
async fn dynamic_rules_cover_every_field_kind() {
    let lab = Lab::new();
    let shoe = |t: &str, at: i64, id: &str| {
        ev(
            t,
            "product_view",
            at,
            json!({"product_id": id, "name": "Runner", "price": 80, "currency": "EUR", "category": "Shoes"}),
        )
    };
    // x: identified, two shoe views and a 150 EUR purchase, two days ago.
    let x = known(&lab, "tx", "xavier@shop.example", T0 - 2 * DAY).await;
    lab.send(vec![
        shoe("tx", T0 - 2 * DAY, "s1"),
        shoe("tx", T0 - 2 * DAY + MIN, "s2"),
        purchase("tx", T0 - 2 * DAY + 2 * MIN, "o-1", 150.0),
    ])
    .await;
    // y: identified, a cart left sixty days ago: dormant, and the cart abandoned.
    let y = known(&lab, "ty", "yara@example.com", T0 - 60 * DAY).await;
    lab.send(vec![cart("ty", T0 - 60 * DAY + MIN, 40.0)]).await;
    // z: anonymous, one page view today.
    lab.send(vec![page("tz", T0 - MIN)]).await;
    let z = lab.contact_of("tz").await;
    lab.store.recompute_rfm(T0).unwrap();

    let cases: Vec<(&str, Value, Vec<&String>)> = vec![
        (
            "choice",
            json!({"field": "valuation", "op": "in", "value": ["dormant", "lapsed"]}),
            vec![&y],
        ),
        (
            "choice",
            json!({"field": "rfm.segment", "op": "in", "value": ["champions", "loyal", "potential_loyalist", "new_customer", "promising", "need_attention", "about_to_sleep", "at_risk", "cannot_lose", "hibernating", "lost"]}),
            vec![&x],
        ),
        (
            "choice",
            json!({"field": "status.newsletter", "op": "eq", "value": "not_subscribed"}),
            vec![&x, &y, &z],
        ),
        (
            "flag",
            json!({"field": "ecommerce.cart.abandoned", "op": "eq", "value": true}),
            vec![&y],
        ),
        (
            "flag",
            json!({"field": "web_push.enabled", "op": "eq", "value": true}),
            vec![],
        ),
        (
            "count",
            json!({"field": "counts.product_views", "op": "gte", "value": 2}),
            vec![&x],
        ),
        (
            "money",
            json!({"field": "ecommerce.total_spent", "op": "gte", "value": 100, "currency": "EUR"}),
            vec![&x],
        ),
        (
            "money",
            json!({"field": "ecommerce.total_spent", "op": "gte", "value": "150.0001", "currency": "EUR"}),
            vec![],
        ),
        (
            "time",
            json!({"field": "last_activity_at", "op": "within_days", "value": 7}),
            vec![&x, &z],
        ),
        (
            "time",
            json!({"field": "created_at", "op": "before", "value": iso(T0 - 30 * DAY)}),
            vec![&y],
        ),
        (
            "text",
            json!({"field": "profile.email", "op": "contains", "value": "@SHOP."}),
            vec![&x],
        ),
        (
            "text",
            json!({"field": "profile.email", "op": "exists", "value": false}),
            vec![&z],
        ),
        (
            "viewed",
            json!({"field": "viewed.category", "op": "eq", "value": "shoes", "within_days": 30}),
            vec![&x],
        ),
        (
            "viewed",
            json!({"field": "viewed.product", "op": "eq", "value": "s2"}),
            vec![&x],
        ),
        (
            "any",
            json!({"any": [
            {"field": "ecommerce.cart.abandoned", "op": "eq", "value": true},
            {"field": "ecommerce.purchases", "op": "gt", "value": 0}]}),
            vec![&x, &y],
        ),
        (
            "not",
            json!({"not": {"field": "identified", "op": "eq", "value": true}}),
            vec![&z],
        ),
    ];
    let mut viewed_shoes = String::new();
    for (i, (kind, rule, want)) in cases.into_iter().enumerate() {
        let seg = create(&lab, json!({"name": format!("rule {i}"), "rule": rule})).await;
        let want: Vec<String> = sorted(want.into_iter().cloned().collect());
        assert_eq!(sorted(members(&lab, &seg).await), want, "{kind}: {rule}");
        let (_, listed) = lab.get(&format!("/v1/contacts?segment={seg}")).await;
        assert_eq!(
            listed["contacts"].as_array().unwrap().len(),
            want.len(),
            "the list filter agrees: {rule}"
        );
        if i == 12 {
            viewed_shoes = seg;
        }
    }
    let on_sheet = lab.sheet(&x).await["segments"].clone();
    assert!(
        on_sheet
            .as_array()
            .unwrap()
            .iter()
            .any(|m| m["id"] == viewed_shoes.as_str() && m["kind"] == "dynamic"),
        "{on_sheet}"
    );
    // Time moves membership: a month later the shoe views are too old.
    lab.set_now(T0 + 40 * DAY);
    assert!(members(&lab, &viewed_shoes).await.is_empty());
    // A dynamic segment takes no members by hand.
    let (status, _) = lab
        .call(
            "POST",
            &format!("/v1/segments/{viewed_shoes}/members"),
            EDITOR,
            Some(json!({"contacts": [x]})),
        )
        .await;
    assert_eq!(status, 409);
}

#[actix_web::test]
async fn bad_rules_are_refused_naming_the_place() {
    let lab = Lab::new();
    for (rule, field) in [
        (
            json!({"field": "valuaton", "op": "eq", "value": "new"}),
            "rule.field",
        ),
        (
            json!({"all": [{"field": "valuation", "op": "eq", "value": "old"}]}),
            "rule.all[0].value",
        ),
        (
            json!({"field": "ecommerce.total_spent", "op": "gte", "value": 100}),
            "rule.currency",
        ),
        (
            json!({"field": "counts.events", "op": "within_days", "value": 3}),
            "rule.op",
        ),
        (json!([1]), "rule"),
    ] {
        let (status, body) = lab
            .call(
                "POST",
                "/v1/segments",
                EDITOR,
                Some(json!({"name": "x", "rule": rule})),
            )
            .await;
        assert_eq!(status, 422, "{rule}: {body}");
        let message = body["message"].as_str().unwrap();
        assert!(message.starts_with(&format!("{field} ")), "{body}");
    }
    let (status, body) = lab
        .call("POST", "/v1/segments", EDITOR, Some(json!({"name": ""})))
        .await;
    assert_eq!(status, 422);
    assert!(
        body["message"].as_str().unwrap().starts_with("name "),
        "{body}"
    );
    let (_, list) = lab.get("/v1/segments").await;
    assert_eq!(list["segments"], json!([]), "nothing was created");
}
