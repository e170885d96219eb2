//! `GET /v1/contacts/counts`: the store's counters against the list they summarise, through
//! every kind of change a contact goes through.

use serde_json::{json, Value};

use crate::lab::{identify, iso, page, Lab, DAY, EDITOR, MIN, T0, VIEWER};
use crate::util::{SERVER_KEY, TOKEN};

const VALUATIONS: [&str; 5] = ["new", "frequent", "dormant", "lapsed", "inactive"];

/// Every contact of the list `query` names, through every page, as `token` sees it.
async fn listed(lab: &Lab, token: &str, query: &str) -> usize {
    let mut n = 0;
    let mut cursor = String::new();
    loop {
        let (status, page) = lab
            .call(
                "GET",
                &format!("/v1/contacts?limit=100&{query}{cursor}"),
                token,
                None,
            )
            .await;
        assert_eq!(status, 200, "{query}: {page}");
        n += page["contacts"].as_array().unwrap().len();
        match page["next"].as_str() {
            Some(next) => cursor = format!("&cursor={next}"),
            None => return n,
        }
    }
}

async fn counts(lab: &Lab, token: &str, query: &str) -> Value {
    let (status, c) = lab
        .call("GET", &format!("/v1/contacts/counts{query}"), token, None)
        .await;
    assert_eq!(status, 200, "{c}");
    c
}

/// The counters say what the list shows, for each valuation and in all, to `token`.
async fn agree(lab: &Lab, token: &str) -> Value {
    let c = counts(lab, token, "").await;
    let mut sum = 0;
    for v in VALUATIONS {
        let n = listed(lab, token, &format!("valuation={v}&")).await;
        assert_eq!(c["valuation"][v], n as u64, "{v}: {c}");
        sum += n;
    }
    assert_eq!(c["total"], sum as u64, "{c}");
    assert_eq!(c["total"], listed(lab, token, "").await as u64, "{c}");
    for s in ["bounced", "blocked", "paused"] {
        let n = listed(lab, token, &format!("email_status={s}&")).await;
        assert_eq!(c["email_status"][s], n as u64, "{s}: {c}");
    }
    c
}

async fn ok(r: (u16, Value)) -> Value {
    assert!(r.0 < 300, "{}", r.1);
    r.1
}

#[actix_web::test]
async fn the_counters_agree_with_the_list_through_every_kind_of_change() {
    let lab = Lab::new();
    lab.set_now(T0);
    // Shoppers last seen today, 20, 60 and 200 days ago; one made by a server's send only
    // (never active).
    for (t, days) in [("t-new", 0), ("t-freq", 20), ("t-dorm", 60), ("t-old", 200)] {
        lab.send(vec![page(t, T0 - days * DAY)]).await;
    }
    let body = json!({"site_key": crate::util::SITE, "sent_at": iso(T0), "events": [
        {"message_id": "c-1", "contact": {"email": "quiet@example.com"}, "type": "email_sent",
         "timestamp": iso(T0)}
    ]});
    ok(lab
        .call("POST", "/v1/server/batch", SERVER_KEY, Some(body))
        .await)
    .await;
    let c = agree(&lab, TOKEN).await;
    assert_eq!(c["total"], 5, "{c}");
    for (v, n) in [
        ("new", 1),
        ("frequent", 1),
        ("dormant", 1),
        ("lapsed", 1),
        ("inactive", 1),
    ] {
        assert_eq!(c["valuation"][v], n, "{v}: {c}");
    }

    // Two devices of one shopper merge: one contact fewer.
    lab.send(vec![
        identify("t-new", T0, json!({"email": "ana@example.com"})),
        identify("t-freq", T0 + MIN, json!({"email": "ana@example.com"})),
    ])
    .await;
    let c = agree(&lab, TOKEN).await;
    assert_eq!(
        (c["total"].as_u64(), &c["valuation"]["frequent"]),
        (Some(4), &json!(0))
    );

    // Confidential for admins only; one valid until tomorrow, one no longer valid.
    let dorm = lab.contact_of("t-dorm").await;
    let old = lab.contact_of("t-old").await;
    let ana = lab.contact_of("t-new").await;
    for (id, body) in [
        (&dorm, json!({"confidentiality": "confidential"})),
        (&old, json!({"valid_until": iso(T0 - DAY)})),
        (&ana, json!({"valid_until": iso(T0 + DAY)})),
    ] {
        let path = format!("/v1/contacts/{id}");
        ok(lab.call("PATCH", &path, TOKEN, Some(body)).await).await;
    }
    let admin = agree(&lab, TOKEN).await;
    assert_eq!(admin["total"], 3, "{admin}");
    let viewer = agree(&lab, VIEWER).await;
    assert_eq!(viewer["total"], 2, "{viewer}");
    assert_eq!(viewer["valuation"]["dormant"], 0, "{viewer}");

    // Statuses: a suspension pauses; three hard bounces bounce.
    ok(lab
        .call(
            "POST",
            "/v1/contacts/bulk",
            EDITOR,
            Some(json!({"ids": [ana.clone()], "action": "suspend"})),
        )
        .await)
    .await;
    let hard = |n: u32| {
        json!({"message_id": format!("b-{n}"), "contact": {"email": "quiet@example.com"},
               "type": "email_bounced", "timestamp": iso(T0 + i64::from(n)),
               "properties": {"bounce": "hard"}})
    };
    let body = json!({"site_key": crate::util::SITE, "sent_at": iso(T0),
                      "events": [hard(1), hard(2), hard(3)]});
    ok(lab
        .call("POST", "/v1/server/batch", SERVER_KEY, Some(body))
        .await)
    .await;
    let c = agree(&lab, TOKEN).await;
    assert_eq!(c["email_status"]["paused"], 1, "{c}");
    assert_eq!(c["email_status"]["bounced"], 1, "{c}");
    // Each row shows its statuses as badges.
    let (_, rows) = lab.get("/v1/contacts?include_invalid=true").await;
    let badges = |id: &str| {
        rows["contacts"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["id"] == id)
            .map(|r| r["badges"].clone())
            .unwrap_or_else(|| panic!("{id} in {rows}"))
    };
    assert_eq!(badges(&ana), json!(["paused"]));
    assert_eq!(badges(&old), json!(["invalid"]));
    assert_eq!(badges(&dorm), json!(["confidential"]));

    // Time passes: valuations move with the calendar, and the timed contact lapses out.
    lab.set_now(T0 + 30 * DAY);
    let c = agree(&lab, TOKEN).await;
    assert_eq!(c["total"], 2, "{c}");
    assert_eq!(c["valuation"]["frequent"], 0, "{c}");

    // An erasure: gone from the counts too.
    ok(lab
        .call("DELETE", &format!("/v1/contacts/{dorm}"), TOKEN, None)
        .await)
    .await;
    let c = agree(&lab, TOKEN).await;
    assert_eq!(c["total"], 1, "{c}");
    // Per site: the other site has none.
    let other = counts(&lab, TOKEN, "?site=other-shop").await;
    assert_eq!(other["total"], 0, "{other}");
}

#[actix_web::test]
async fn the_consoles_overview_shows_the_counts_and_filters_by_them() {
    let lab = Lab::new();
    lab.set_now(T0);
    // A new site: the snippet to paste, rather than an empty table.
    let admin = crate::console::sign_in(&lab, TOKEN).await;
    let empty = admin.get(&lab, "/admin/contacts").await;
    assert!(empty.body.contains(r#"id="empty-state""#), "{}", empty.body);
    assert!(
        empty
            .body
            .contains("/sdk/v1/footprint.js&#34; data-site-key=&#34;test-shop&#34;"),
        "{}",
        empty.body
    );
    for (t, days) in [("o-1", 0), ("o-2", 1), ("o-3", 50)] {
        lab.send(vec![page(t, T0 - days * DAY)]).await;
    }
    let viewer = crate::console::sign_in(&lab, VIEWER).await;
    let page = viewer.get(&lab, "/admin/contacts").await;
    assert_eq!(page.status, 200);
    let b = &page.body;
    assert!(b.contains(r#"<span id="contacts-total">3</span>"#), "{b}");
    assert!(
        b.contains(r#"id="count-new"><span class="n">2</span> <span class="what">New</span>"#),
        "{b}"
    );
    assert!(
        b.contains(r#"<span class="n">1</span> <span class="what">Dormant</span>"#),
        "{b}"
    );
    let suspended = viewer
        .get(&lab, "/admin/contacts?email_status=paused")
        .await;
    assert!(
        suspended.body.contains("No contacts match."),
        "{}",
        suspended.body
    );
    // A button filters the list, and says it is the current one.
    let dormant = viewer.get(&lab, "/admin/contacts?valuation=dormant").await;
    assert!(
        dormant.body.contains(r#"class="count current""#),
        "{}",
        dormant.body
    );
    assert_eq!(
        dormant.body.matches(r#"aria-label="View contact"#).count(),
        1,
        "{}",
        dormant.body
    );

    // A buyer's sheet draws its spend per month.
    lab.send(vec![
        crate::lab::purchase("o-1", T0 - 40 * DAY, "A-1", 30.0),
        crate::lab::purchase("o-1", T0, "A-2", 12.5),
    ])
    .await;
    let id = lab.contact_of("o-1").await;
    let sheet = viewer.get(&lab, &format!("/admin/contacts/{id}")).await;
    let b = &sheet.body;
    assert!(b.contains(r#"id="spend-chart""#), "{b}");
    assert!(
        b.contains("€42.50 in 2 of the last 24 months; the most, €30.00, in 2026-10."),
        "{b}"
    );
    assert_eq!(b.matches(r#"<rect class="bar""#).count(), 24, "{b}");
}
