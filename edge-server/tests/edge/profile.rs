//! What admins write on a contact: tags (one by one and in bulk), the shop's reference, and
//! notes; their lookups, caps, history, export, import, extract and erasure.

use serde_json::{json, Value};

use crate::console::sign_in;
use crate::gdpr::unzip;
use crate::lab::{identify, Lab, EDITOR, MIN, T0, VIEWER};
use crate::util::{SITE, TOKEN};

async fn person(lab: &Lab, tracker: &str, email: &str) -> String {
    lab.send(vec![identify(tracker, T0 - MIN, json!({"email": email}))])
        .await;
    lab.contact_of(tracker).await
}

async fn patch(lab: &Lab, token: &str, id: &str, body: Value) -> (u16, Value) {
    lab.call("PATCH", &format!("/v1/contacts/{id}"), token, Some(body))
        .await
}

async fn ids(lab: &Lab, query: &str) -> Vec<String> {
    let (status, r) = lab.get(&format!("/v1/contacts?{query}")).await;
    assert_eq!(status, 200, "{r}");
    r["contacts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_str().unwrap().to_owned())
        .collect()
}

/// The field an `invalid_field` error names: its message starts with it.
fn field_of(r: &Value) -> &str {
    assert_eq!(r["error"], "invalid_field", "{r}");
    r["message"].as_str().unwrap().split(' ').next().unwrap()
}

async fn history_fields(lab: &Lab, id: &str) -> Vec<(String, Value, Value)> {
    let (_, h) = lab.get(&format!("/v1/contacts/{id}/history")).await;
    h["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["field"].as_str().unwrap().to_owned(),
                c["old"].clone(),
                c["new"].clone(),
            )
        })
        .collect()
}

#[actix_web::test]
async fn tags_are_set_whole_filtered_by_any_case_and_bounded() {
    let lab = Lab::new();
    let ana = person(&lab, "ta", "ana@example.com").await;
    let bo = person(&lab, "tb", "bo@example.com").await;
    let (status, s) = patch(&lab, EDITOR, &ana, json!({"tags": [" VIP ", "b2b", "vip"]})).await;
    assert_eq!(status, 200, "{s}");
    assert_eq!(s["tags"], json!(["VIP", "b2b"]));
    assert_eq!(ids(&lab, "tag=vip").await, [ana.as_str()]);
    assert_eq!(ids(&lab, "tag=B2B").await, [ana.as_str()]);
    assert!(ids(&lab, "tag=other").await.is_empty());
    let (_, list) = lab.get("/v1/contacts?tag=vip").await;
    assert_eq!(list["contacts"][0]["tags"], json!(["VIP", "b2b"]));
    assert!(history_fields(&lab, &ana).await.contains(&(
        "tags".into(),
        Value::Null,
        json!("VIP, b2b")
    )));

    // Bad tags name their place; nothing is applied.
    for (body, field) in [
        (json!({"tags": ["a,b"]}), "tags[0]"),
        (json!({"tags": ["ok", "x".repeat(41)]}), "tags[1]"),
        (json!({"tags": [""]}), "tags[0]"),
        (json!({"tags": "vip"}), "tags"),
        (json!({"tags": [1]}), "tags[0]"),
    ] {
        let (status, r) = patch(&lab, EDITOR, &bo, body.clone()).await;
        assert_eq!(status, 422, "{body}: {r}");
        assert_eq!(field_of(&r), field, "{body}: {r}");
    }
    let too_many: Vec<String> = (0..31).map(|i| format!("t{i}")).collect();
    let (status, r) = patch(&lab, EDITOR, &bo, json!({"tags": too_many})).await;
    assert_eq!(status, 422);
    assert!(r["message"].as_str().unwrap().contains("at most 30"), "{r}");
    assert!(lab.sheet(&bo).await["tags"].as_array().unwrap().is_empty());

    // In bulk: each contact on its own; one at the cap is refused, the others tagged.
    let full: Vec<String> = (0..30).map(|i| format!("t{i}")).collect();
    assert_eq!(patch(&lab, EDITOR, &bo, json!({"tags": full})).await.0, 200);
    let cy = person(&lab, "tc", "cy@example.com").await;
    let bulk = |body: Value, token: &'static str| {
        let lab = &lab;
        async move {
            lab.call("POST", "/v1/contacts/bulk", token, Some(body))
                .await
        }
    };
    let (status, r) = bulk(
        json!({"ids": [ana, bo, cy, "999"], "action": "add_tag", "tag": "Fair 2026"}),
        EDITOR,
    )
    .await;
    assert_eq!(status, 200, "{r}");
    let results = r["results"].as_array().unwrap();
    let outcome = |i: usize| results[i]["ok"].as_bool().unwrap_or(false);
    assert!(
        outcome(0) && !outcome(1) && outcome(2) && !outcome(3),
        "{r}"
    );
    assert!(results[1]["error"]["message"]
        .as_str()
        .unwrap()
        .contains("already has 30 tags"));
    assert_eq!(results[3]["error"]["code"], "not_found");
    assert_eq!(
        ids(&lab, "tag=fair%202026").await,
        [cy.clone(), ana.clone()]
    );
    let (status, _) = bulk(
        json!({"ids": [ana], "action": "remove_tag", "tag": "FAIR 2026"}),
        EDITOR,
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(ids(&lab, "tag=fair%202026").await, [cy.as_str()]);
    let (status, r) = bulk(json!({"ids": [ana], "action": "add_tag"}), EDITOR).await;
    assert_eq!((status, Some(field_of(&r))), (422, Some("tag")), "{r}");
    let (status, _) = bulk(
        json!({"ids": [ana], "action": "add_tag", "tag": "x"}),
        VIEWER,
    )
    .await;
    assert_eq!(status, 403);

    // Rules: tags and the reference.
    patch(&lab, EDITOR, &cy, json!({"reference": "CRM-3"})).await;
    let members = |rule: Value| {
        let lab = &lab;
        async move {
            let body = json!({"name": format!("r{}", rule.to_string().len()), "rule": rule});
            let (status, r) = lab.call("POST", "/v1/segments", EDITOR, Some(body)).await;
            assert_eq!(status, 201, "{r}");
            ids(lab, &format!("segment={}", r["id"].as_str().unwrap())).await
        }
    };
    assert_eq!(
        members(json!({"field": "tags", "op": "contains", "value": "VIP"})).await,
        [ana.as_str()]
    );
    assert_eq!(
        members(
            json!({"all": [{"field": "tags", "op": "not_contains", "value": "vip"},
                                {"field": "has_email", "op": "eq", "value": true}]})
        )
        .await,
        [cy.clone(), bo.clone()]
    );
    assert_eq!(
        members(json!({"field": "reference", "op": "starts_with", "value": "crm-"})).await,
        [cy.as_str()]
    );
    let (status, r) = lab
        .call(
            "POST",
            "/v1/segments",
            EDITOR,
            Some(json!({"name": "bad", "rule": {"field": "tags", "op": "eq", "value": "vip"}})),
        )
        .await;
    assert_eq!(status, 422);
    assert!(
        r["message"]
            .as_str()
            .unwrap()
            .contains("contains or not_contains"),
        "{r}"
    );
}

#[actix_web::test]
async fn a_reference_is_unique_per_site_found_by_lookup_and_freed_by_erasure() {
    let lab = Lab::new();
    let ana = person(&lab, "ta", "ana@example.com").await;
    let bo = person(&lab, "tb", "bo@example.com").await;
    let (status, s) = patch(&lab, EDITOR, &ana, json!({"reference": " CRM-001 "})).await;
    assert_eq!(status, 200, "{s}");
    assert_eq!(s["reference"], "CRM-001");
    assert_eq!(ids(&lab, "reference=CRM-001").await, [ana.as_str()]);
    assert!(ids(&lab, "reference=crm-001").await.is_empty(), "exact");

    let (status, r) = patch(&lab, EDITOR, &bo, json!({"reference": "CRM-001"})).await;
    assert_eq!(status, 409, "{r}");
    assert!(
        r["message"]
            .as_str()
            .unwrap()
            .contains("reference CRM-001 is already"),
        "{r}"
    );
    let (status, r) = patch(&lab, EDITOR, &bo, json!({"reference": "x".repeat(65)})).await;
    assert_eq!((status, Some(field_of(&r))), (422, Some("reference")));

    // Moving it frees the old value.
    assert_eq!(
        patch(&lab, EDITOR, &ana, json!({"reference": "CRM-002"}))
            .await
            .0,
        200
    );
    assert!(ids(&lab, "reference=CRM-001").await.is_empty());
    assert_eq!(
        patch(&lab, EDITOR, &bo, json!({"reference": "CRM-001"}))
            .await
            .0,
        200
    );
    assert_eq!(ids(&lab, "reference=CRM-001").await, [bo.as_str()]);
    assert!(history_fields(&lab, &ana).await.contains(&(
        "reference".into(),
        json!("CRM-001"),
        json!("CRM-002")
    )));

    // A merge keeps the survivor's; the other's is dropped and no longer found.
    let (status, _) = lab
        .call(
            "POST",
            &format!("/v1/contacts/{ana}/merge"),
            EDITOR,
            Some(json!({"from": bo})),
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(lab.sheet(&ana).await["reference"], "CRM-002");
    assert!(ids(&lab, "reference=CRM-001").await.is_empty());

    // Erasure frees it for another contact.
    let (status, _) = lab
        .call("DELETE", &format!("/v1/contacts/{ana}"), TOKEN, None)
        .await;
    assert_eq!(status, 200);
    assert!(ids(&lab, "reference=CRM-002").await.is_empty());
    let cy = person(&lab, "tc", "cy@example.com").await;
    assert_eq!(
        patch(&lab, EDITOR, &cy, json!({"reference": "CRM-002"}))
            .await
            .0,
        200
    );
}

#[actix_web::test]
async fn export_and_import_carry_tags_and_reference() {
    let lab = Lab::new();
    let ana = person(&lab, "ta", "ana@example.com").await;
    patch(
        &lab,
        EDITOR,
        &ana,
        json!({"tags": ["vip", "b2b"], "reference": "CRM-7"}),
    )
    .await;
    let csv = lab.raw("GET", "/v1/contacts/export.csv", TOKEN).await;
    let mut lines = csv.lines();
    let header = lines.next().unwrap();
    assert!(
        header.starts_with(
            "email,phone,first_name,last_name,birth_date,newsletter,tags,reference,id"
        ),
        "{header}"
    );
    assert!(
        csv.contains("ana@example.com,,,,,not_subscribed,\"b2b, vip\",CRM-7,"),
        "{csv}"
    );

    // A row found by its reference alone, and one that sets tags on a new contact.
    let file = "reference,first_name,tags\nCRM-7,Ana,\"gold\"\n";
    let (status, body) = lab
        .bytes(
            "POST",
            &format!("/v1/contacts/import?site={SITE}"),
            EDITOR,
            Some(("text/csv", file.as_bytes().to_vec())),
        )
        .await;
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
    let s = lab.sheet(&ana).await;
    assert_eq!(
        (s["profile"]["first_name"].as_str(), s["tags"].clone()),
        (Some("Ana"), json!(["gold"]))
    );
    let file = "email,tags,reference\nnew@example.com,\"a, b\",CRM-8\nother@example.com,,CRM-7\n";
    let (status, body) = lab
        .bytes(
            "POST",
            &format!("/v1/contacts/import?site={SITE}"),
            EDITOR,
            Some(("text/csv", file.as_bytes().to_vec())),
        )
        .await;
    assert_eq!(status, 200);
    let report: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(report["created"], 1, "{report}");
    assert_eq!(report["rejected"], 1, "{report}");
    // Its reference is Ana's, whose email is another: refused, not merged.
    assert!(
        report["rejections"][0]["reason"]
            .as_str()
            .unwrap()
            .contains("not other@example.com"),
        "{report}"
    );
    let new = ids(&lab, "reference=CRM-8").await;
    assert_eq!(lab.sheet(&new[0]).await["tags"], json!(["a", "b"]));
}

#[actix_web::test]
async fn notes_are_authored_bounded_extracted_and_erased() {
    let lab = Lab::new();
    let ana = person(&lab, "ta", "ana@example.com").await;
    let add = |id: String, token: &'static str, text: Value| {
        let lab = &lab;
        async move {
            lab.call(
                "POST",
                &format!("/v1/contacts/{id}/notes"),
                token,
                Some(json!({"text": text})),
            )
            .await
        }
    };
    let (status, first) = add(ana.clone(), EDITOR, json!("Called: prefers\nphone calls")).await;
    assert_eq!(status, 201, "{first}");
    assert_eq!(
        (first["author"].as_str(), first["text"].as_str()),
        (Some("eddie"), Some("Called: prefers\nphone calls"))
    );
    lab.set_now(T0 + MIN);
    let (_, second) = add(ana.clone(), TOKEN, json!("Sent a voucher")).await;
    let s = lab.sheet(&ana).await;
    let texts: Vec<&str> = s["notes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["text"].as_str().unwrap())
        .collect();
    assert_eq!(
        texts,
        ["Sent a voucher", "Called: prefers\nphone calls"],
        "newest first"
    );
    assert_eq!(s["notes"][1]["author"], "eddie");

    // Refusals: a viewer, empty or oversized text, a hidden or absent contact alike.
    assert_eq!(add(ana.clone(), VIEWER, json!("x")).await.0, 403);
    let (status, r) = add(ana.clone(), EDITOR, json!("  ")).await;
    assert_eq!((status, Some(field_of(&r))), (422, Some("text")));
    assert_eq!(
        add(ana.clone(), EDITOR, json!("x".repeat(2001))).await.0,
        422
    );
    assert_eq!(add(ana.clone(), EDITOR, json!(5)).await.0, 400);
    let secret = person(&lab, "ts", "secret@example.com").await;
    patch(
        &lab,
        TOKEN,
        &secret,
        json!({"confidentiality": "confidential"}),
    )
    .await;
    let (s1, hidden) = add(secret.clone(), EDITOR, json!("x")).await;
    let (s2, absent) = add("999".into(), EDITOR, json!("x")).await;
    assert_eq!((s1, s2), (404, 404));
    assert_eq!(
        hidden["message"].as_str().unwrap().replace(&secret, "N"),
        absent["message"].as_str().unwrap().replace("999", "N")
    );

    // Deleting: the note's id from the sheet; a second time is a 404.
    let path = format!(
        "/v1/contacts/{ana}/notes/{}",
        second["id"].as_str().unwrap()
    );
    assert_eq!(lab.call("DELETE", &path, VIEWER, None).await.0, 403);
    assert_eq!(lab.call("DELETE", &path, EDITOR, None).await.0, 204);
    assert_eq!(lab.call("DELETE", &path, EDITOR, None).await.0, 404);
    assert_eq!(lab.sheet(&ana).await["notes"].as_array().unwrap().len(), 1);
    let history = history_fields(&lab, &ana).await;
    assert!(history.contains(&("note".into(), Value::Null, json!("Sent a voucher"))));
    assert!(history.contains(&("note".into(), json!("Sent a voucher"), Value::Null)));

    // At most 100 per contact.
    for i in 1..100 {
        assert_eq!(
            add(ana.clone(), EDITOR, json!(format!("n{i}"))).await.0,
            201
        );
    }
    let (status, r) = add(ana.clone(), EDITOR, json!("one more")).await;
    assert_eq!(status, 409);
    assert!(r["message"].as_str().unwrap().contains("delete one"), "{r}");

    // In the extract, then gone with the contact.
    let (status, bytes) = lab
        .bytes("GET", &format!("/v1/contacts/{ana}/extract"), TOKEN, None)
        .await;
    assert_eq!(status, 200);
    assert!(unzip(&bytes)["profile.json"].contains("Called: prefers\\nphone calls"));
    assert_eq!(
        lab.call("DELETE", &format!("/v1/contacts/{ana}"), TOKEN, None)
            .await
            .0,
        200
    );
    assert_eq!(lab.get(&format!("/v1/contacts/{ana}")).await.0, 410);
}

#[actix_web::test]
async fn the_console_edits_tags_reference_and_notes_and_tags_in_bulk() {
    let lab = Lab::new();
    let ana = person(&lab, "ta", "ana@example.com").await;
    let bo = person(&lab, "tb", "bo@example.com").await;
    let editor = sign_in(&lab, EDITOR).await;
    let sheet = format!("/admin/contacts/{ana}");
    let page = editor.get(&lab, &sheet).await;
    assert!(
        page.body.contains("id=\"notes-warning\""),
        "the warning is shown"
    );
    assert!(page
        .body
        .contains("Notes are free text about a person, so they are personal data"));

    // Apply: tags as a comma-separated field, the reference as text.
    let done = editor
        .post(
            &lab,
            &sheet,
            &[("tags", "vip, Fair 2026"), ("reference", "CRM-9")],
        )
        .await;
    assert_eq!(done.status, 303, "{}", done.body);
    let s = lab.sheet(&ana).await;
    assert_eq!(
        (s["tags"].clone(), s["reference"].clone()),
        (json!(["Fair 2026", "vip"]), json!("CRM-9"))
    );
    // A bad tag is shown at the Tags field, and nothing is saved.
    let refused = editor
        .post(&lab, &sheet, &[("tags", &"x".repeat(41))])
        .await;
    assert_eq!(refused.status, 422);
    assert!(refused.body.contains("is not a tag"), "{}", refused.body);
    assert_eq!(lab.sheet(&ana).await["tags"], json!(["Fair 2026", "vip"]));

    // Notes: added with line breaks kept and escaped, then deleted.
    let done = editor
        .post(
            &lab,
            &format!("{sheet}/notes"),
            &[("text", "<b>Call</b> after 5pm\nnot before")],
        )
        .await;
    assert_eq!(done.status, 303);
    let page = editor.get(&lab, &sheet).await;
    assert!(
        page.body
            .contains("&#60;b&#62;Call&#60;/b&#62; after 5pm\nnot before"),
        "{}",
        page.body
    );
    assert!(page.body.contains("eddie ·"));
    let note = lab.sheet(&ana).await["notes"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let done = editor
        .post(&lab, &format!("{sheet}/notes/{note}/delete"), &[])
        .await;
    assert_eq!(done.status, 303);
    assert!(lab.sheet(&ana).await["notes"]
        .as_array()
        .unwrap()
        .is_empty());
    // A viewer sees no note form and is refused anyway.
    let viewer = sign_in(&lab, VIEWER).await;
    assert!(!viewer
        .get(&lab, &sheet)
        .await
        .body
        .contains("id=\"note-form\""));
    assert_eq!(
        viewer
            .post(&lab, &format!("{sheet}/notes"), &[("text", "x")])
            .await
            .status,
        403
    );

    // The list: a Tags column, the tag filter, the reference search, and bulk tags.
    let list = editor.get(&lab, "/admin/contacts?tag=VIP").await;
    assert!(
        list.body.contains("<span class=\"tag\">vip</span>"),
        "{}",
        list.body
    );
    assert!(list.body.contains(&format!("Select contact {ana}")));
    assert!(!list.body.contains(&format!("Select contact {bo}")));
    let found = editor
        .get(&lab, "/admin/contacts?by=reference&s=CRM-9")
        .await;
    assert!(
        found.body.contains(&format!("Select contact {ana}"))
            && !found.body.contains(&format!("Select contact {bo}"))
    );
    let done = editor
        .post(
            &lab,
            "/admin/contacts/bulk",
            &[
                ("id", &ana),
                ("id", &bo),
                ("action", "add_tag"),
                ("tag", "newsletter-2026"),
                ("back", "/admin/contacts"),
            ],
        )
        .await;
    assert_eq!(done.status, 303, "{}", done.body);
    let list = editor.get(&lab, "/admin/contacts").await;
    assert!(list.body.contains("Tagged: 2 done."), "{}", list.body);
    assert_eq!(
        ids(&lab, "tag=newsletter-2026").await,
        [bo.clone(), ana.clone()]
    );
    let done = editor
        .post(
            &lab,
            "/admin/contacts/bulk",
            &[
                ("id", &bo),
                ("action", "remove_tag"),
                ("tag", "NEWSLETTER-2026"),
                ("back", "/admin/contacts"),
            ],
        )
        .await;
    assert_eq!(done.status, 303);
    assert_eq!(ids(&lab, "tag=newsletter-2026").await, [ana.as_str()]);
}
