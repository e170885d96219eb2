//! Admin operations: roles, confidentiality, edits and their validation, history,
//! invalidation and explicit merges, through the HTTP API over a real store.

use serde_json::{json, Value};

use crate::lab::*;
use crate::util::TOKEN;

const HOUR: i64 = 60 * MIN;

/// Identifies `tracker` as `email` and returns its contact's id.
async fn known(lab: &Lab, tracker: &str, email: &str, at: i64) -> String {
    lab.send(vec![
        page(tracker, at - MIN),
        identify(tracker, at, json!({"email": email, "first_name": "Ana"})),
    ])
    .await;
    lab.contact_of(tracker).await
}

fn one(id: &str) -> Vec<String> {
    vec![id.to_owned()]
}

async fn patch(lab: &Lab, token: &str, id: &str, body: Value) -> (u16, Value) {
    lab.call("PATCH", &format!("/v1/contacts/{id}"), token, Some(body))
        .await
}

async fn ids(lab: &Lab, token: &str, query: &str) -> Vec<String> {
    let (status, body) = lab
        .call("GET", &format!("/v1/contacts?{query}"), token, None)
        .await;
    assert_eq!(status, 200, "{query}: {body}");
    body["contacts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap().to_owned())
        .collect()
}

#[derive(Clone, Copy, PartialEq, PartialOrd, Debug)]
enum Role {
    Viewer,
    Editor,
    Admin,
}

const ROLES: [(Role, &str, &str); 3] = [
    (Role::Viewer, VIEWER, "viewer"),
    (Role::Editor, EDITOR, "editor"),
    (Role::Admin, TOKEN, "admin"),
];

#[actix_web::test]
async fn every_role_against_every_endpoint() {
    let lab = Lab::new();
    let a = known(&lab, "ta", "a@example.com", T0 - HOUR).await;
    let b = known(&lab, "tb", "b@example.com", T0 - HOUR).await;
    let c = known(&lab, "tc", "c@example.com", T0 - HOUR).await;
    let d = known(&lab, "td", "d@example.com", T0 - HOUR).await;
    let (_, seg) = lab
        .call("POST", "/v1/segments", EDITOR, Some(json!({"name": "S"})))
        .await;
    let seg = seg["id"].as_str().unwrap().to_owned();
    // Method, path, body, the least role that may.
    let table: Vec<(&str, String, Option<Value>, Role)> = vec![
        ("GET", "/v1/contacts".into(), None, Role::Viewer),
        ("GET", "/v1/contacts?q=a%40e".into(), None, Role::Viewer),
        ("GET", format!("/v1/contacts/{a}"), None, Role::Viewer),
        (
            "GET",
            format!("/v1/contacts/{a}/activity"),
            None,
            Role::Viewer,
        ),
        (
            "GET",
            format!("/v1/contacts/{a}/history"),
            None,
            Role::Viewer,
        ),
        ("GET", "/v1/trackers/ta/contact".into(), None, Role::Viewer),
        ("GET", "/v1/trackers/ta/events".into(), None, Role::Viewer),
        (
            "PATCH",
            format!("/v1/contacts/{a}"),
            Some(json!({"last_name": "Ortiz"})),
            Role::Editor,
        ),
        ("GET", "/v1/contacts/export.csv".into(), None, Role::Admin),
        ("GET", "/v1/segments".into(), None, Role::Viewer),
        (
            "POST",
            "/v1/segments".into(),
            Some(json!({"name": "T"})),
            Role::Editor,
        ),
        ("GET", format!("/v1/segments/{seg}"), None, Role::Viewer),
        (
            "PATCH",
            format!("/v1/segments/{seg}"),
            Some(json!({"description": "d"})),
            Role::Editor,
        ),
        (
            "GET",
            format!("/v1/segments/{seg}/members"),
            None,
            Role::Viewer,
        ),
        (
            "POST",
            format!("/v1/segments/{seg}/members"),
            Some(json!({"contacts": [a]})),
            Role::Editor,
        ),
        (
            "DELETE",
            format!("/v1/segments/{seg}/members/{a}"),
            None,
            Role::Editor,
        ),
        ("DELETE", format!("/v1/segments/{seg}"), None, Role::Editor),
        (
            "POST",
            format!("/v1/contacts/{a}/merge"),
            Some(json!({"from": b})),
            Role::Editor,
        ),
        (
            "POST",
            "/v1/contacts/bulk".into(),
            Some(json!({"ids": [a], "action": "suspend"})),
            Role::Editor,
        ),
        (
            "POST",
            "/v1/contacts/bulk".into(),
            Some(json!({"ids": [c], "action": "delete"})),
            Role::Admin,
        ),
        // The body is not CSV; the role is checked before it is read.
        (
            "POST",
            "/v1/contacts/import?site=test-shop".into(),
            Some(json!("email")),
            Role::Editor,
        ),
        (
            "GET",
            format!("/v1/contacts/{a}/extract"),
            None,
            Role::Admin,
        ),
        ("DELETE", format!("/v1/contacts/{d}"), None, Role::Admin),
        ("POST", "/v1/admin/compact".into(), None, Role::Admin),
    ];
    for (method, path, body, least) in &table {
        for (role, token, name) in ROLES {
            let (status, resp) = lab.call(method, path, token, body.clone()).await;
            if role < *least {
                assert_eq!(status, 403, "{name} {method} {path}: {resp}");
                assert_eq!(resp["error"], "forbidden");
                let needs = ROLES.iter().find(|r| r.0 == *least).unwrap().2;
                assert!(
                    resp["message"]
                        .as_str()
                        .unwrap()
                        .contains(&format!("the {needs} role")),
                    "{resp}"
                );
            } else {
                // Allowed: whatever the outcome (the second merge finds the contacts merged),
                // never a refusal by role.
                assert!(
                    status != 403 && status != 401,
                    "{name} {method} {path}: {status} {resp}"
                );
            }
        }
        let (status, _) = lab.call(method, path, "not-a-token", body.clone()).await;
        assert_eq!(status, 401, "{method} {path} without a valid token");
    }
}

#[actix_web::test]
async fn a_contact_above_the_callers_clearance_is_absent_everywhere() {
    let lab = Lab::new();
    let id = known(&lab, "tc", "carol@example.com", T0 - HOUR).await;
    let sees = |token: &'static str| {
        let lab = &lab;
        let id = id.clone();
        async move {
            let found = [
                lab.call("GET", &format!("/v1/contacts/{id}"), token, None)
                    .await
                    .0
                    == 200,
                lab.call("GET", &format!("/v1/contacts/{id}/activity"), token, None)
                    .await
                    .0
                    == 200,
                lab.call("GET", &format!("/v1/contacts/{id}/history"), token, None)
                    .await
                    .0
                    == 200,
                lab.call("GET", "/v1/trackers/tc/contact", token, None)
                    .await
                    .0
                    == 200,
                lab.call("GET", "/v1/trackers/tc/events", token, None)
                    .await
                    .0
                    == 200,
                ids(lab, token, "email=carol%40example.com").await == one(&id),
                ids(lab, token, "q=carol").await == one(&id),
                ids(lab, token, "q=ana").await == one(&id),
                ids(lab, token, "").await == one(&id),
            ];
            // All or nothing: a hidden contact leaks through no door.
            assert!(
                found.iter().all(|f| *f) || found.iter().all(|f| !f),
                "{token}: {found:?}"
            );
            found[0]
        }
    };
    assert!(sees(VIEWER).await && sees(EDITOR).await && sees(TOKEN).await);

    let (status, s) = patch(&lab, EDITOR, &id, json!({"confidentiality": "restricted"})).await;
    assert_eq!(status, 200, "{s}");
    assert_eq!(s["confidentiality"], "restricted");
    assert!(!sees(VIEWER).await, "viewers see free contacts only");
    assert!(sees(EDITOR).await && sees(TOKEN).await);
    let (status, body) = lab
        .call("GET", &format!("/v1/contacts/{id}"), VIEWER, None)
        .await;
    assert_eq!((status, body["error"].as_str()), (404, Some("not_found")));

    let (status, _) = patch(&lab, TOKEN, &id, json!({"confidentiality": "confidential"})).await;
    assert_eq!(status, 200);
    assert!(!sees(VIEWER).await && !sees(EDITOR).await);
    assert!(sees(TOKEN).await, "admins see every level");
    // An editor cannot edit what it cannot see.
    let (status, _) = patch(&lab, EDITOR, &id, json!({"first_name": "X"})).await;
    assert_eq!(status, 404);

    let (status, _) = patch(&lab, TOKEN, &id, json!({"confidentiality": "free"})).await;
    assert_eq!(status, 200);
    assert!(sees(VIEWER).await);
}

#[actix_web::test]
async fn a_patch_is_validated_whole_and_never_half_applied() {
    let lab = Lab::new();
    let id = known(&lab, "td", "dan@example.com", T0 - HOUR).await;
    let other = known(&lab, "te", "erin@example.com", T0 - HOUR).await;
    let before = lab.sheet(&id).await;

    for (body, field) in [
        (json!({"first_name": "Dan", "email": "dan@"}), "email"),
        (
            json!({"first_name": "Dan", "phone": "600 111 222"}),
            "phone",
        ),
        (
            json!({"first_name": "Dan", "birth_date": "1990-13-01"}),
            "birth_date",
        ),
        (
            json!({"first_name": "Dan", "newsletter": "maybe"}),
            "newsletter",
        ),
        (
            json!({"first_name": "Dan", "sms_status": "frozen"}),
            "sms_status",
        ),
        (json!({"first_name": "Dan", "consent": "sure"}), "consent"),
        (
            json!({"first_name": "Dan", "confidentiality": "top"}),
            "confidentiality",
        ),
        (
            json!({"first_name": "Dan", "custom": {"tags": ["a"]}}),
            "custom.tags",
        ),
        (
            json!({"first_name": "Dan", "favourite": "red"}),
            "favourite",
        ),
    ] {
        let (status, resp) = patch(&lab, EDITOR, &id, body.clone()).await;
        assert_eq!(status, 422, "{body}: {resp}");
        assert_eq!(resp["error"], "invalid_field");
        assert!(
            resp["message"].as_str().unwrap().starts_with(field),
            "{body}: {resp}"
        );
    }
    // Another contact's email: a conflict, found on the writer thread, and still nothing
    // applied of the rest of the patch.
    let (status, resp) = patch(
        &lab,
        EDITOR,
        &id,
        json!({"first_name": "Dan", "email": "Erin@Example.com"}),
    )
    .await;
    assert_eq!(status, 409, "{resp}");
    // It says how to find the holder, never who it is: the same words whether or not the
    // caller may see it (`refusals_never_name_a_contact_the_caller_may_not_see`).
    let message = resp["message"].as_str().unwrap();
    assert!(
        message.contains("GET /v1/contacts?email=erin@example.com") && !message.contains(&other),
        "{resp}"
    );
    let (status, _) = lab
        .call(
            "PATCH",
            "/v1/contacts/999",
            EDITOR,
            Some(json!({"first_name": "Dan"})),
        )
        .await;
    assert_eq!(status, 404);
    let (status, _) = lab
        .call("PATCH", &format!("/v1/contacts/{id}"), EDITOR, None)
        .await;
    assert_eq!(status, 400, "an empty body is not JSON");
    assert_eq!(
        lab.sheet(&id).await,
        before,
        "nothing of a refused patch was applied"
    );

    let (status, s) = patch(
        &lab,
        EDITOR,
        &id,
        json!({
            "first_name": "Daniel", "last_name": "Ortiz", "email": "daniel@example.com",
            "phone": "+34 600 111 222", "birth_date": "1990-02-03", "custom": {"size": 42},
            "email_status": "paused", "newsletter": "subscribed", "sms_subscription": "unsubscribed",
            "consent": "yes"
        }),
    )
    .await;
    assert_eq!(status, 200, "{s}");
    assert_eq!(s["profile"]["first_name"], "Daniel");
    assert_eq!(s["profile"]["email"], "daniel@example.com");
    assert_eq!(s["profile"]["mobile_phone"], "+34600111222");
    assert_eq!(s["custom_fields"]["size"], 42);
    assert_eq!(s["status"]["email"], "paused");
    assert_eq!(s["status"]["newsletter"], "subscribed");
    assert_eq!(s["status"]["sms"], "active");
    assert_eq!(s["status"]["sms_subscription"], "unsubscribed");
    assert_eq!(s["status"]["consent"], "yes");
    // The indexes follow: the new email and phone find the contact, the old email nothing.
    assert_eq!(
        ids(&lab, VIEWER, "email=daniel%40example.com").await,
        one(&id)
    );
    assert_eq!(ids(&lab, VIEWER, "phone=%2B34600111222").await, one(&id));
    assert!(ids(&lab, VIEWER, "email=dan%40example.com")
        .await
        .is_empty());
    assert_eq!(ids(&lab, VIEWER, "q=ortiz").await, one(&id));
    // The tracker logging in with the old email now finds nobody's: a new contact.
    lab.send(vec![identify(
        "td",
        T0,
        json!({"email": "dan@example.com"}),
    )])
    .await;
    assert_ne!(lab.contact_of("td").await, id);
}

#[actix_web::test]
async fn history_records_who_changed_what_and_answers_a_time_range() {
    let lab = Lab::new();
    lab.set_now(T0);
    let id = known(&lab, "th", "hana@example.com", T0 - 3 * HOUR).await;
    lab.set_now(T0 - 2 * HOUR);
    assert_eq!(
        patch(&lab, EDITOR, &id, json!({"last_name": "Kim"}))
            .await
            .0,
        200
    );
    lab.set_now(T0 - HOUR);
    assert_eq!(
        patch(
            &lab,
            TOKEN,
            &id,
            json!({"last_name": "Lee", "newsletter": "subscribed"})
        )
        .await
        .0,
        200
    );
    lab.set_now(T0);

    let (status, h) = lab
        .call("GET", &format!("/v1/contacts/{id}/history"), VIEWER, None)
        .await;
    assert_eq!(status, 200, "{h}");
    let rows: Vec<(String, String, Value, Value)> = h["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["who"].as_str().unwrap().to_owned(),
                c["field"].as_str().unwrap().to_owned(),
                c["old"].clone(),
                c["new"].clone(),
            )
        })
        .collect();
    let t = |s: &str| s.to_owned();
    assert_eq!(
        rows,
        vec![
            (
                t("tracker:th"),
                t("email"),
                Value::Null,
                json!("hana@example.com")
            ),
            (t("tracker:th"), t("first_name"), Value::Null, json!("Ana")),
            (t("eddie"), t("last_name"), Value::Null, json!("Kim")),
            (t("ops"), t("last_name"), json!("Kim"), json!("Lee")),
            (t("ops"), t("newsletter"), Value::Null, json!("subscribed")),
        ]
    );
    assert_eq!(h["changes"][2]["at"], iso(T0 - 2 * HOUR));

    let range = format!(
        "/v1/contacts/{id}/history?from={}&to={}",
        iso(T0 - 150 * MIN),
        iso(T0 - HOUR)
    );
    let (_, h) = lab.call("GET", &range, VIEWER, None).await;
    let fields: Vec<&str> = h["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["field"].as_str().unwrap())
        .collect();
    assert_eq!(
        fields,
        ["last_name"],
        "from is inclusive, to exclusive: {h}"
    );
    let (_, h) = lab
        .call(
            "GET",
            &format!("/v1/contacts/{id}/history?limit=2"),
            VIEWER,
            None,
        )
        .await;
    assert_eq!(h["changes"].as_array().unwrap().len(), 2);
    assert_eq!(h["truncated"], true);
    let (status, _) = lab
        .call(
            "GET",
            &format!("/v1/contacts/{id}/history?from=yesterday"),
            VIEWER,
            None,
        )
        .await;
    assert_eq!(status, 400);
}

#[actix_web::test]
async fn an_invalidated_contact_leaves_lists_keeps_its_events_and_can_come_back() {
    let lab = Lab::new();
    let id = known(&lab, "ti", "ivan@example.com", T0 - HOUR).await;
    let (status, s) = patch(&lab, EDITOR, &id, json!({"valid_until": iso(T0 + DAY)})).await;
    assert_eq!(status, 200, "{s}");
    assert_eq!(s["valid"], true);
    assert_eq!(
        ids(&lab, VIEWER, "q=ivan").await,
        one(&id),
        "valid until then"
    );

    lab.set_now(T0 + 2 * DAY);
    assert!(ids(&lab, VIEWER, "q=ivan").await.is_empty());
    assert!(ids(&lab, VIEWER, "").await.is_empty());
    assert!(ids(&lab, VIEWER, "email=ivan%40example.com")
        .await
        .is_empty());
    assert_eq!(
        ids(&lab, VIEWER, "q=ivan&include_invalid=true").await,
        one(&id)
    );
    assert_eq!(lab.sheet(&id).await["valid"], false);
    // Its tracker's events are still stored and counted.
    lab.send(vec![product("ti", T0 + 2 * DAY, "p9")]).await;
    assert_eq!(lab.activity(&id, "type=product_view").await.len(), 1);

    let (status, s) = patch(&lab, EDITOR, &id, json!({"valid_until": null})).await;
    assert_eq!(status, 200);
    assert_eq!(
        (s["valid"].clone(), s["valid_until"].clone()),
        (json!(true), Value::Null)
    );
    assert_eq!(ids(&lab, VIEWER, "q=ivan").await, one(&id));
}

#[actix_web::test]
async fn an_admin_merges_two_identified_contacts_as_a_login_would() {
    let lab = Lab::new();
    let a = known(&lab, "m1", "mia@example.com", T0 - 3 * HOUR).await;
    let b = known(&lab, "m2", "mia.work@example.com", T0 - 2 * HOUR).await;
    lab.send(vec![
        purchase("m1", T0 - 2 * HOUR, "o1", 10.0),
        purchase("m2", T0 - HOUR, "o2", 5.5),
    ])
    .await;
    lab.send(vec![page("anon", T0 - HOUR)]).await;
    let anon = lab.contact_of("anon").await;

    for (into, from, status) in [
        (&a, &a, 409),
        (&a, &anon, 409),
        (&a, &"999".to_owned(), 404),
    ] {
        let (s, resp) = lab
            .call(
                "POST",
                &format!("/v1/contacts/{into}/merge"),
                EDITOR,
                Some(json!({"from": from})),
            )
            .await;
        assert_eq!(s, status, "{into} <- {from}: {resp}");
    }
    let (status, s) = lab
        .call(
            "POST",
            &format!("/v1/contacts/{a}/merge"),
            EDITOR,
            Some(json!({"from": b.parse::<u64>().unwrap()})),
        )
        .await;
    assert_eq!(status, 200, "{s}");
    assert_eq!(s["id"], a.as_str());
    assert_eq!(s["ecommerce"]["purchases"], 2);
    assert_eq!(s["ecommerce"]["total_spent"]["EUR"], "15.50");
    assert_eq!(s["merged_ids"], json!([b]));
    assert_eq!(
        s["profile"]["email"], "mia@example.com",
        "the survivor's own email"
    );
    // The absorbed id, its email and its tracker all lead to the survivor.
    let resolved = lab.sheet(&b).await;
    assert_eq!(
        (resolved["id"].as_str(), resolved["requested_id"].as_str()),
        (Some(a.as_str()), Some(b.as_str()))
    );
    assert_eq!(
        ids(&lab, VIEWER, "email=mia.work%40example.com").await,
        one(&a)
    );
    assert_eq!(lab.contact_of("m2").await, a);
    lab.send(vec![page("m2", T0)]).await;
    assert_eq!(lab.sheet(&a).await["counts"]["page_views"], 3);

    let (_, h) = lab
        .call("GET", &format!("/v1/contacts/{a}/history"), VIEWER, None)
        .await;
    let merged: Vec<&Value> = h["changes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["field"] == "merged_contact" || c["field"] == "merged_into")
        .collect();
    assert_eq!(merged.len(), 2, "{h}");
    assert!(merged.iter().all(|c| c["who"] == "eddie"));
    // Merging again: the absorbed contact is gone.
    let (status, _) = lab
        .call(
            "POST",
            &format!("/v1/contacts/{a}/merge"),
            EDITOR,
            Some(json!({"from": b})),
        )
        .await;
    assert_eq!(status, 409);
}

#[actix_web::test]
async fn the_export_streams_every_page_and_defuses_formulas() {
    let lab = Lab::new();
    // More contacts than one export page, so the stream spans pages.
    let n = footprint_edge::admin::EXPORT_PAGE + 5;
    for chunk in (0..n).collect::<Vec<_>>().chunks(500) {
        lab.send(
            chunk
                .iter()
                .map(|i| page(&format!("bulk{i}"), T0 - HOUR))
                .collect(),
        )
        .await;
    }
    let id = known(&lab, "tx", "x@example.com", T0 - HOUR).await;
    let hostile = [
        "=HYPERLINK(\"http://evil\")",
        "+1+1",
        "-2+3",
        "@SUM(A1)",
        "plain, \"quoted\"",
    ];
    assert_eq!(
        patch(
            &lab,
            TOKEN,
            &id,
            json!({"first_name": hostile[0], "last_name": hostile[1], "phone": "+34600111222"})
        )
        .await
        .0,
        200
    );
    let other = known(&lab, "ty", "y@example.com", T0 - HOUR).await;
    assert_eq!(
        patch(
            &lab,
            TOKEN,
            &other,
            json!({"first_name": hostile[2], "last_name": hostile[3]})
        )
        .await
        .0,
        200
    );
    let third = known(&lab, "tz", "z@example.com", T0 - HOUR).await;
    assert_eq!(
        patch(&lab, TOKEN, &third, json!({"first_name": hostile[4]}))
            .await
            .0,
        200
    );

    let text = lab.raw("GET", "/v1/contacts/export.csv", TOKEN).await;
    let mut r = csv::Reader::from_reader(text.as_bytes());
    let header: Vec<String> = r.headers().unwrap().iter().map(String::from).collect();
    assert_eq!(header, footprint_edge::admin::EXPORT_COLUMNS);
    let id_col = header.iter().position(|h| h == "id").unwrap();
    let rows: Vec<csv::StringRecord> = r.records().map(Result::unwrap).collect();
    assert_eq!(rows.len(), n + 3, "every contact once, across pages");
    let mut ids: Vec<&str> = rows.iter().map(|r| &r[id_col]).collect();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), n + 3);
    let by_id = |want: &str| rows.iter().find(|r| &r[id_col] == want).unwrap().clone();
    let x = by_id(&id);
    assert_eq!(&x[0], "x@example.com");
    assert_eq!(&x[1], "'+34600111222");
    assert_eq!(&x[2], "'=HYPERLINK(\"http://evil\")");
    assert_eq!(&x[3], "'+1+1");
    let y = by_id(&other);
    assert_eq!((&y[2], &y[3]), ("'-2+3", "'@SUM(A1)"));
    assert_eq!(&by_id(&third)[2], hostile[4], "CSV quoting, not escaping");

    // The list's filters apply.
    let text = lab
        .raw("GET", "/v1/contacts/export.csv?has_email=true", TOKEN)
        .await;
    assert_eq!(
        csv::Reader::from_reader(text.as_bytes()).records().count(),
        3
    );
    let (status, body) = lab
        .call("GET", "/v1/contacts/export.csv?valuation=soon", TOKEN, None)
        .await;
    assert_eq!(
        status, 400,
        "a bad filter is refused before the download starts: {body}"
    );
}

#[actix_web::test]
async fn a_viewer_cannot_read_a_confidential_contacts_events_through_a_shared_device() {
    let lab = Lab::new();
    // Carla browses on a shared device and signs in; an admin makes her confidential.
    let carla = known(&lab, "shared", "carla@example.com", T0 - 3 * HOUR).await;
    lab.send(vec![product("shared", T0 - 3 * HOUR + MIN, "secret-gift")])
        .await;
    let (status, _) = patch(
        &lab,
        TOKEN,
        &carla,
        json!({"confidentiality": "confidential"}),
    )
    .await;
    assert_eq!(status, 200);
    // Then Dan signs in on the same device: the tracker moves to him; Carla keeps her past.
    lab.send(vec![identify(
        "shared",
        T0 - HOUR,
        json!({"email": "dan@example.com"}),
    )])
    .await;
    lab.send(vec![product("shared", T0 - HOUR + MIN, "dans-shoes")])
        .await;
    let dan = lab.contact_of("shared").await;
    assert_ne!(dan, carla);

    let products = |body: &Value| -> Vec<String> {
        body["events"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|e| e["properties"]["product_id"].as_str().map(str::to_owned))
            .collect()
    };
    let (status, viewer) = lab
        .call("GET", "/v1/trackers/shared/events", VIEWER, None)
        .await;
    assert_eq!(status, 200, "{viewer}");
    assert_eq!(products(&viewer), ["dans-shoes"], "{viewer}");
    assert!(
        !viewer.to_string().contains("carla@example.com"),
        "{viewer}"
    );
    // Pages are filled with what the caller may see: a page of 1 holds Dan's newest event.
    let (_, first) = lab
        .call("GET", "/v1/trackers/shared/events?limit=1", VIEWER, None)
        .await;
    assert_eq!(first["events"].as_array().unwrap().len(), 1);
    // An admin, cleared for every level, reads the device's whole history.
    let (_, admin) = lab.get("/v1/trackers/shared/events").await;
    assert_eq!(products(&admin), ["dans-shoes", "secret-gift"]);
}

#[actix_web::test]
async fn refusals_never_name_a_contact_the_caller_may_not_see() {
    let lab = Lab::new();
    let hidden = known(&lab, "th", "hidden@example.com", T0 - 2 * HOUR).await;
    let (status, _) = patch(
        &lab,
        TOKEN,
        &hidden,
        json!({"confidentiality": "confidential"}),
    )
    .await;
    assert_eq!(status, 200);
    let seen = known(&lab, "tw", "seen@example.com", T0 - 2 * HOUR).await;
    let mine = known(&lab, "tm", "mine@example.com", T0 - 2 * HOUR).await;
    // An anonymous device that then logs in as the hidden contact: its id is merged into it.
    lab.send(vec![page("ta", T0 - HOUR)]).await;
    let merged = lab.contact_of("ta").await;
    lab.send(vec![identify(
        "ta",
        T0 - HOUR + MIN,
        json!({"email": "hidden@example.com"}),
    )])
    .await;

    // PATCH to a hidden contact's email: the same words as to a visible one's, naming no one.
    let (status, to_hidden) =
        patch(&lab, EDITOR, &mine, json!({"email": "hidden@example.com"})).await;
    assert_eq!(status, 409, "{to_hidden}");
    let (status, to_seen) = patch(&lab, EDITOR, &mine, json!({"email": "seen@example.com"})).await;
    assert_eq!(status, 409, "{to_seen}");
    assert_eq!(
        to_hidden["message"]
            .as_str()
            .unwrap()
            .replace("hidden@example.com", "X"),
        to_seen["message"]
            .as_str()
            .unwrap()
            .replace("seen@example.com", "X")
    );
    assert!(
        !to_hidden.to_string().contains(&format!(" {hidden}")),
        "{to_hidden}"
    );
    let _ = seen;

    // Merge from a hidden contact, and any operation on an id merged into one: as absent.
    let absent = "987654";
    let (s1, from_hidden) = lab
        .call(
            "POST",
            &format!("/v1/contacts/{mine}/merge"),
            EDITOR,
            Some(json!({"from": hidden.parse::<u64>().unwrap()})),
        )
        .await;
    let (s2, from_absent) = lab
        .call(
            "POST",
            &format!("/v1/contacts/{mine}/merge"),
            EDITOR,
            Some(json!({"from": absent.parse::<u64>().unwrap()})),
        )
        .await;
    assert_eq!((s1, s2), (404, 404), "{from_hidden} {from_absent}");
    assert_eq!(
        from_hidden["message"]
            .as_str()
            .unwrap()
            .replace(&hidden, "N"),
        from_absent["message"]
            .as_str()
            .unwrap()
            .replace(absent, "N")
    );
    let (status, via_merged) = patch(&lab, EDITOR, &merged, json!({"first_name": "X"})).await;
    assert_eq!(status, 404, "{via_merged}");
    assert!(!via_merged.to_string().contains(&hidden), "{via_merged}");
    // An admin, who sees the survivor, is told where the id went.
    let (status, for_admin) = patch(&lab, TOKEN, &merged, json!({"first_name": "X"})).await;
    assert_eq!(status, 409, "{for_admin}");
    assert!(for_admin.to_string().contains(&hidden), "{for_admin}");

    // An import row with the hidden contact's email: refused as any clash, naming no one.
    let (status, report) = lab
        .bytes(
            "POST",
            &format!("/v1/contacts/import?site={}", crate::util::SITE),
            EDITOR,
            Some(("text/csv", b"email\nhidden@example.com\n".to_vec())),
        )
        .await;
    assert_eq!(status, 200);
    let report: Value = serde_json::from_slice(&report).unwrap();
    let reason = report["rejections"][0]["reason"].as_str().unwrap();
    assert!(
        reason.contains("already another contact's") && !reason.contains("may not see"),
        "{reason}"
    );
    assert!(!reason.contains(&format!(" {hidden}")), "{reason}");

    // The hidden contact's tracker is answered as one never seen.
    let (s1, hidden_tracker) = lab
        .call("GET", "/v1/trackers/th/contact", EDITOR, None)
        .await;
    let (s2, unknown_tracker) = lab
        .call("GET", "/v1/trackers/tz/contact", EDITOR, None)
        .await;
    assert_eq!((s1, s2), (404, 404));
    assert_eq!(
        hidden_tracker["message"]
            .as_str()
            .unwrap()
            .replace("th", "T"),
        unknown_tracker["message"]
            .as_str()
            .unwrap()
            .replace("tz", "T")
    );
    let (s1, _) = lab
        .call("GET", "/v1/trackers/th/events", EDITOR, None)
        .await;
    assert_eq!(s1, 404);
}
