//! Counting before saving: `POST /v1/segments/preview`, `GET /v1/segments/sizes`, the counts
//! under the list's filters, and the console's rule builder without script (every press a
//! form post the server answers with the page).

use serde_json::{json, Value};

use crate::console::sign_in;
use crate::lab::*;
use crate::util::TOKEN;

/// Five shoppers: three who spent (20, 80 and 150 EUR), one who only browsed, and one
/// confidential big spender. Returns the confidential one's id.
async fn shop(lab: &Lab) -> String {
    let people = [
        ("t1", "ana@example.com", Some(20.0)),
        ("t2", "ben@example.com", Some(80.0)),
        ("t3", "cy@example.com", Some(150.0)),
        ("t4", "di@example.com", None),
        ("t5", "ed@example.com", Some(500.0)),
    ];
    for (i, (t, email, spent)) in people.into_iter().enumerate() {
        let at = T0 - (i as i64 + 1) * DAY;
        let mut events = vec![page(t, at - MIN), identify(t, at, json!({"email": email}))];
        if let Some(total) = spent {
            events.push(purchase(t, at + MIN, &format!("o-{t}"), total));
        }
        lab.send(events).await;
    }
    let secret = lab.contact_of("t5").await;
    let (status, body) = lab
        .call(
            "PATCH",
            &format!("/v1/contacts/{secret}"),
            TOKEN,
            Some(json!({"confidentiality": "confidential"})),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    secret
}

fn spent_at_least(eur: u64) -> Value {
    json!({"field": "ecommerce.total_spent", "op": "gte", "value": eur, "currency": "EUR"})
}

async fn preview(lab: &Lab, token: &str, rule: Value) -> (u16, Value) {
    lab.call(
        "POST",
        "/v1/segments/preview",
        token,
        Some(json!({ "rule": rule })),
    )
    .await
}

/// Every member of a segment, as `token` sees them.
async fn member_count(lab: &Lab, token: &str, id: &str) -> usize {
    let path = format!("/v1/segments/{id}/members?limit=100");
    let (status, page) = lab.call("GET", &path, token, None).await;
    assert_eq!(status, 200, "{page}");
    assert!(page["next"].is_null());
    page["contacts"].as_array().unwrap().len()
}

#[actix_web::test]
async fn a_preview_counts_what_the_saved_segment_will_hold() {
    let lab = Lab::new();
    shop(&lab).await;
    let rule = json!({"any": [spent_at_least(50), {"field": "profile.email", "op": "starts_with", "value": "di@"}]});

    let (status, admin) = preview(&lab, TOKEN, rule.clone()).await;
    assert_eq!(status, 200, "{admin}");
    assert_eq!(admin, json!({"count": 4, "exact": true}));
    // A viewer's count leaves out the confidential spender, as its list does.
    let (_, viewer) = preview(&lab, VIEWER, rule.clone()).await;
    assert_eq!(viewer, json!({"count": 3, "exact": true}));

    let (status, seg) = lab
        .call(
            "POST",
            "/v1/segments",
            EDITOR,
            Some(json!({"name": "Spenders", "rule": rule})),
        )
        .await;
    assert_eq!(status, 201, "{seg}");
    let id = seg["id"].as_str().unwrap().to_owned();
    assert_eq!(member_count(&lab, TOKEN, &id).await, 4);
    assert_eq!(member_count(&lab, VIEWER, &id).await, 3);

    // Sizes: the dynamic segment and a static one, in one walk, per caller.
    let (status, vip) = lab
        .call("POST", "/v1/segments", EDITOR, Some(json!({"name": "VIP"})))
        .await;
    assert_eq!(status, 201, "{vip}");
    let vip = vip["id"].as_str().unwrap().to_owned();
    let secret = lab.contact_of("t5").await;
    let ana = lab.contact_of("t1").await;
    let (status, r) = lab
        .call(
            "POST",
            &format!("/v1/segments/{vip}/members"),
            TOKEN,
            Some(json!({"contacts": [secret, ana]})),
        )
        .await;
    assert_eq!(status, 200, "{r}");
    for (token, spenders, vips) in [(TOKEN, 4, 2), (VIEWER, 3, 1)] {
        let (status, sizes) = lab.call("GET", "/v1/segments/sizes", token, None).await;
        assert_eq!(status, 200, "{sizes}");
        assert_eq!(
            sizes["sizes"],
            json!([
                {"id": id, "members": spenders, "exact": true},
                {"id": vip, "members": vips, "exact": true},
            ])
        );
    }
}

#[actix_web::test]
async fn a_bad_preview_says_where_and_needs_a_token() {
    let lab = Lab::new();
    let (status, e) = preview(
        &lab,
        TOKEN,
        json!({"all": [{"field": "valuation", "op": "eq", "value": "old"}]}),
    )
    .await;
    assert_eq!(status, 422, "{e}");
    let says = e["message"].as_str().unwrap();
    assert!(
        says.starts_with("rule.all[0].value `old` is not a value"),
        "{e}"
    );
    let (status, e) = lab
        .call("POST", "/v1/segments/preview", TOKEN, Some(json!({})))
        .await;
    assert_eq!(status, 422, "{e}");
    assert!(
        e["message"]
            .as_str()
            .unwrap()
            .starts_with("rule is required"),
        "{e}"
    );
    let (status, _) = preview(&lab, "not-a-token", json!({})).await;
    assert_eq!(status, 401);
}

#[actix_web::test]
async fn counts_follow_the_lists_other_filters() {
    let lab = Lab::new();
    shop(&lab).await;
    let (status, c) = lab.call("GET", "/v1/contacts/counts", TOKEN, None).await;
    assert_eq!(status, 200, "{c}");
    assert!(c.get("matching").is_none(), "no filter, no walk: {c}");
    for (token, query, want) in [
        (TOKEN, "q=ben", 1),
        (TOKEN, "has_email=true", 5),
        (VIEWER, "has_email=true", 4),
        (TOKEN, "valuation=new&has_phone=true", 0),
        (TOKEN, "newsletter=not_subscribed", 5),
        (TOKEN, "newsletter=subscribed", 0),
        (TOKEN, "sms_status=active", 0),
    ] {
        let (status, c) = lab
            .call("GET", &format!("/v1/contacts/counts?{query}"), token, None)
            .await;
        assert_eq!(status, 200, "{c}");
        assert_eq!(
            c["matching"],
            json!({"count": want, "exact": true}),
            "{query}"
        );
    }
    for bad in ["valuation=old", "newsletter=maybe", "sms_status=loud"] {
        let (status, e) = lab
            .call("GET", &format!("/v1/contacts/counts?{bad}"), TOKEN, None)
            .await;
        assert_eq!(status, 400, "{e}");
    }
    // The console's list says the same under its filters.
    let b = sign_in(&lab, VIEWER).await;
    let page = b.get(&lab, "/admin/contacts?has_email=yes").await;
    assert_eq!(
        text_of(&page.body, "list-count"),
        "4 contacts match these filters"
    );
    let page = b.get(&lab, "/admin/contacts").await;
    assert!(!page.body.contains("id=\"list-count\""));
}

/// The text of the element with `id` in a page (its first text run).
fn text_of(body: &str, id: &str) -> String {
    let at = body
        .find(&format!("id=\"{id}\""))
        .unwrap_or_else(|| panic!("no #{id}"));
    let start = at + body[at..].find('>').unwrap() + 1;
    let end = start + body[start..].find('<').unwrap();
    body[start..end].trim().to_owned()
}

#[actix_web::test]
async fn the_builder_works_by_form_posts_alone() {
    let lab = Lab::new();
    shop(&lab).await;
    let b = sign_in(&lab, EDITOR).await;
    let page = b.get(&lab, "/admin/segments").await;
    assert_eq!(page.status, 200);
    assert!(page.body.contains("name=\"g0.r0.field\""), "one empty row");
    assert_eq!(
        text_of(&page.body, "preview"),
        "Add a condition to see how many contacts match."
    );

    // Add a second row: the first keeps what was typed.
    let first = [
        ("name", "Big spenders"),
        ("kind", "dynamic"),
        ("g0.r0.field", "ecommerce.total_spent"),
        ("g0.r0.op", "gte"),
        ("g0.r0.value", "50"),
        ("g0.r0.extra", "EUR"),
    ];
    let mut sent = first.to_vec();
    sent.push(("act", "add:0"));
    let page = b.post(&lab, "/admin/segments", &sent).await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(page.body.contains("name=\"g0.r1.field\""));
    assert_eq!(text_of(&page.body, "preview"), "2 contacts match");

    // A value not typed yet is no mistake until saving.
    let blank = [
        ("name", "Blank"),
        ("g0.r0.field", "counts.events"),
        ("g0.r0.op", "gt"),
        ("g0.r0.value", ""),
    ];
    let mut sent = blank.to_vec();
    sent.push(("act", "preview"));
    let page = b.post(&lab, "/admin/segments", &sent).await;
    assert_eq!(
        text_of(&page.body, "preview"),
        "Fill in the value of each condition to see how many contacts match."
    );
    assert!(!page.body.contains("class=\"error\" role=\"alert\""));
    let mut sent = blank.to_vec();
    sent.push(("act", "save"));
    let page = b.post(&lab, "/admin/segments", &sent).await;
    assert_eq!(page.status, 422);
    assert!(page.body.contains("Value must be a whole number"));

    // A row that makes no condition is refused beside it, and nothing is saved.
    let mut bad = first.to_vec();
    bad.extend([
        ("g0.r1.field", "counts.events"),
        ("g0.r1.op", "gt"),
        ("g0.r1.value", "lots"),
        ("act", "save"),
    ]);
    let page = b.post(&lab, "/admin/segments", &bad).await;
    assert_eq!(page.status, 422, "{}", page.body);
    assert!(
        page.body.contains("Value must be a whole number"),
        "{}",
        page.body
    );
    let (_, list) = lab.get("/v1/segments").await;
    assert_eq!(list["segments"], json!([]));

    // Previewed, then saved: the members are the ones the preview counted.
    let mut good = first.to_vec();
    good.extend([
        ("g0.r1.field", "counts.events"),
        ("g0.r1.op", "gte"),
        ("g0.r1.value", "1"),
        ("act", "preview"),
    ]);
    let page = b.post(&lab, "/admin/segments", &good).await;
    assert_eq!(text_of(&page.body, "preview"), "2 contacts match");
    good.pop();
    good.push(("act", "save"));
    let saved = b.post(&lab, "/admin/segments", &good).await;
    assert_eq!(saved.status, 303, "{}", saved.body);
    let (_, list) = lab.get("/v1/segments").await;
    let seg = &list["segments"][0];
    // Amounts stay decimal text, as typed: exact, whatever the currency's decimals.
    let spent =
        json!({"field": "ecommerce.total_spent", "op": "gte", "value": "50", "currency": "EUR"});
    assert_eq!(
        seg["rule"],
        json!({"all": [spent, {"field": "counts.events", "op": "gte", "value": 1}]})
    );
    let id = seg["id"].as_str().unwrap();
    let page = b.get(&lab, &format!("/admin/segments/{id}")).await;
    assert_eq!(text_of(&page.body, "segment-size"), "2 members");
    assert_eq!(text_of(&page.body, "preview"), "2 contacts match");
    let list = b.get(&lab, "/admin/segments").await;
    assert!(
        list.body
            .contains("<td class=\"num members\" data-label=\"Members\">2</td>"),
        "{}",
        list.body
    );

    // A rule the builder cannot show is kept as JSON, and saved from it.
    let not = r#"{"not": {"field": "valuation", "op": "eq", "value": "new"}}"#;
    let page = b
        .post(
            &lab,
            &format!("/admin/segments/{id}"),
            &[("name", "Big spenders"), ("rule", not), ("act", "json")],
        )
        .await;
    assert_eq!(page.status, 200);
    assert!(page.body.contains("id=\"builder-off\""), "{}", page.body);
    let saved = b
        .post(
            &lab,
            &format!("/admin/segments/{id}"),
            &[
                ("name", "Big spenders"),
                ("source", "json"),
                ("rule", not),
                ("act", "save"),
            ],
        )
        .await;
    assert_eq!(saved.status, 303, "{}", saved.body);
    let (_, seg) = lab.get(&format!("/v1/segments/{id}")).await;
    assert_eq!(seg["rule"]["not"]["field"], "valuation");

    // The fragment `console.js` swaps in counts the same way.
    let fragment = b
        .post(
            &lab,
            "/admin/segments/builder",
            &[
                ("g0.r0.field", "status.email"),
                ("g0.r0.op", "eq"),
                ("g0.r0.value", "active"),
                ("act", "preview"),
            ],
        )
        .await;
    assert_eq!(fragment.status, 200);
    assert!(fragment
        .body
        .trim_start()
        .starts_with("<div id=\"builder\""));
    // Five have an active email; the editor is not cleared for the confidential one.
    assert_eq!(text_of(&fragment.body, "preview"), "4 contacts match");
}

#[actix_web::test]
async fn the_rfm_grid_counts_purchasers_and_marks_the_contacts_cell() {
    let lab = Lab::new();
    shop(&lab).await;
    lab.store.recompute_rfm(T0).unwrap();
    let total = |g: &Value| -> u64 {
        g["recency_by_frequency"]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|row| row.as_array().unwrap())
            .map(|n| n.as_u64().unwrap())
            .sum()
    };
    // Four purchasers; the viewer is not cleared for the confidential one.
    for (token, want) in [(TOKEN, 4), (VIEWER, 3)] {
        let (status, g) = lab
            .call("GET", "/v1/contacts/rfm_grid?site=test-shop", token, None)
            .await;
        assert_eq!(status, 200, "{g}");
        assert_eq!(total(&g), want, "{g}");
    }
    let (_, other) = lab
        .call("GET", "/v1/contacts/rfm_grid?site=nope", TOKEN, None)
        .await;
    assert_eq!(total(&other), 0);

    // Her sheet marks her cell, the one her scores name.
    let cy = lab.contact_of("t3").await;
    let s = lab.sheet(&cy).await;
    let (r, f) = (
        s["rfm"]["r"].as_u64().unwrap(),
        s["rfm"]["f"].as_u64().unwrap(),
    );
    let b = sign_in(&lab, TOKEN).await;
    let page = b.get(&lab, &format!("/admin/contacts/{cy}")).await;
    let at = page.body.find("id=\"rfm-grid\"").expect("a grid");
    let grid = &page.body[at..];
    let mine = grid.find("you\"").expect("a marked cell");
    let title = &grid[mine..];
    let title = &title[title.find("<title>").unwrap() + 7..title.find("</title>").unwrap()];
    assert!(title.starts_with(&format!("R{r} F{f}: ")), "{title}");
    assert!(title.ends_with("this contact among them"), "{title}");
    assert_eq!(grid.matches("you\"").count(), 1);
}
