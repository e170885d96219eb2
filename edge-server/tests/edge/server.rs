//! The shop's servers as a source: `POST /v1/server/batch`, its key, contacts addressed by
//! email, phone, id or tracker, delivery events and the statuses and Channels that follow.

use serde_json::{json, Value};

use crate::lab::{identify, iso, page, purchase, Lab, DAY, MIN, T0};
use crate::util::{OTHER_SERVER_KEY, SERVER_KEY, SITE, TOKEN};

static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);

/// A server's event about `to` (`{"email": …}`, `{"id": …}`, or `{"tracker_id": …}` merged in).
fn about(to: Value, ty: &str, at: i64, props: Value) -> Value {
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    let mut e = json!({
        "message_id": format!("srv-{n}"), "type": ty, "timestamp": iso(at), "properties": props
    });
    match to.get("tracker_id") {
        Some(t) => e["tracker_id"] = t.clone(),
        None => e["contact"] = to,
    }
    e
}

fn email(e: &str) -> Value {
    json!({ "email": e })
}

fn hard(to: Value, at: i64, reason: &str) -> Value {
    about(
        to,
        "email_bounced",
        at,
        json!({"bounce": "hard", "reason": reason}),
    )
}

async fn accepted(lab: &Lab, events: Vec<Value>) -> Value {
    let n = events.len() as u64;
    let (status, r) = lab.server(SERVER_KEY, events).await;
    assert_eq!(status, 200, "{r}");
    assert_eq!(r["accepted"], n, "{r}");
    assert!(r["rejected"].as_array().unwrap().is_empty(), "{r}");
    r
}

async fn find(lab: &Lab, query: &str) -> String {
    let (status, list) = lab.get(&format!("/v1/contacts?{query}")).await;
    assert_eq!(status, 200, "{list}");
    let rows = list["contacts"].as_array().unwrap();
    assert_eq!(rows.len(), 1, "{query}: {list}");
    rows[0]["id"].as_str().unwrap().to_owned()
}

#[actix_web::test]
async fn a_servers_events_reach_the_contact_by_email_phone_id_or_tracker() {
    let lab = Lab::new();
    lab.send(vec![
        page("t-ada", T0 - DAY),
        identify("t-ada", T0 - DAY + MIN, json!({"email": "ada@example.com"})),
    ])
    .await;
    let ada = lab.contact_of("t-ada").await;
    let ada_id: u64 = ada.parse().unwrap();

    let mut bought = purchase("t-ada", T0 - 2 * MIN, "SRV-1", 40.0);
    bought.as_object_mut().unwrap().remove("context");
    accepted(
        &lab,
        vec![
            // The backend confirms the order the browser placed, as the tracker's.
            bought,
            about(
                email(" ADA@Example.com "),
                "email_sent",
                T0 - MIN,
                json!({"send_id": "n-1", "campaign": "Winter"}),
            ),
            about(json!({"id": ada_id}), "email_opened", T0, json!({})),
            about(
                email("ada@example.com"),
                "refund",
                T0,
                json!({"order_id": "SRV-1", "amount": 10}),
            ),
            // A phone nobody has yet: a new contact, identified by it.
            about(
                json!({"phone": "+34 600 111 222"}),
                "sms_sent",
                T0,
                Value::Null,
            ),
        ],
    )
    .await;

    let s = lab.sheet(&ada).await;
    let e = &s["channels"]["email"];
    assert_eq!(e["sent"]["count"], 1, "{s}");
    assert_eq!(e["sent"]["last_at"], iso(T0 - MIN));
    assert_eq!(e["opened"]["count"], 1);
    assert_eq!(e["clicked"]["count"], 0);
    assert_eq!(s["ecommerce"]["refunded"]["EUR"], "10.00", "{s}");
    // Opening is the contact's doing; being sent a message is not.
    assert_eq!(s["last_activity_at"], iso(T0));
    let server = format!("server:{ada}");
    let row = s["trackers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["id"] == server)
        .unwrap_or_else(|| panic!("no {server} in {s}"));
    assert_eq!(row["source"], "server");
    let (_, orders) = lab.get(&format!("/v1/contacts/{ada}/orders")).await;
    assert_eq!(orders["orders"][0]["source"], "server", "{orders}");
    // The server's events are in the contact's activity like any other.
    let types: Vec<Value> = lab
        .activity(&ada, "")
        .await
        .iter()
        .map(|e| e["type"].clone())
        .collect();
    for t in ["email_sent", "email_opened", "refund"] {
        assert!(types.contains(&json!(t)), "{t} in {types:?}");
    }

    let sam = find(&lab, "phone=%2B34600111222").await;
    let s = lab.sheet(&sam).await;
    assert_eq!(s["profile"]["mobile_phone"], "+34600111222", "{s}");
    assert_eq!(s["identified"], true);
    assert_eq!(s["channels"]["sms"]["sent"]["count"], 1);
    assert_eq!(s["last_activity_at"], Value::Null, "{s}");
}

#[actix_web::test]
async fn three_hard_bounces_bounce_the_email_with_the_last_reason_and_the_soft_count() {
    let lab = Lab::new();
    let bea = || email("bea@example.com");
    accepted(
        &lab,
        vec![
            about(bea(), "email_sent", T0 - 9 * MIN, json!({})),
            hard(bea(), T0 - 8 * MIN, "mailbox unknown"),
            about(
                bea(),
                "email_bounced",
                T0 - 7 * MIN,
                json!({"bounce": "soft", "reason": "mailbox full"}),
            ),
            hard(bea(), T0 - 6 * MIN, "mailbox unknown"),
        ],
    )
    .await;
    let id = find(&lab, "email=bea%40example.com").await;
    assert_eq!(lab.sheet(&id).await["status"]["email"], "active");

    accepted(&lab, vec![hard(bea(), T0 - 5 * MIN, "550 no such user")]).await;
    let s = lab.sheet(&id).await;
    assert_eq!(s["status"]["email"], "bounced", "{s}");
    let e = &s["channels"]["email"];
    assert_eq!(e["bounced"]["count"], 4);
    assert_eq!(e["soft_bounces"], 1);
    assert_eq!(e["hard_bounces_in_a_row"], 3);
    assert_eq!(e["last_bounce"]["reason"], "550 no such user");
    assert_eq!(e["last_bounce"]["kind"], "hard");
    assert_eq!(e["last_bounce"]["at"], iso(T0 - 5 * MIN));

    // The history says the shop's servers did it, and when.
    let (_, h) = lab.get(&format!("/v1/contacts/{id}/history")).await;
    let change = h["changes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["field"] == "email_status")
        .unwrap_or_else(|| panic!("{h}"));
    assert_eq!(change["who"], "server");
    assert_eq!(change["new"], "bounced");
}

#[actix_web::test]
async fn a_delivery_between_hard_bounces_starts_the_count_again() {
    let lab = Lab::new();
    let cy = || email("cy@example.com");
    accepted(
        &lab,
        vec![
            hard(cy(), T0 - 5 * MIN, "x"),
            hard(cy(), T0 - 4 * MIN, "x"),
            about(cy(), "email_delivered", T0 - 3 * MIN, json!({})),
            hard(cy(), T0 - 2 * MIN, "x"),
        ],
    )
    .await;
    let id = find(&lab, "email=cy%40example.com").await;
    let s = lab.sheet(&id).await;
    assert_eq!(s["status"]["email"], "active", "{s}");
    assert_eq!(s["channels"]["email"]["hard_bounces_in_a_row"], 1);
}

#[actix_web::test]
async fn a_complaint_blocks_and_unsubscribes_set_the_subscriptions() {
    let lab = Lab::new();
    let to = || email("dee@example.com");
    let phone = || json!({"phone": "+34600333444"});
    accepted(
        &lab,
        vec![
            about(to(), "email_unsubscribed", T0 - 3 * MIN, json!({})),
            about(to(), "email_complained", T0 - 2 * MIN, json!({})),
            about(phone(), "sms_unsubscribed", T0 - 2 * MIN, json!({})),
            about(phone(), "sms_complained", T0 - MIN, json!({})),
        ],
    )
    .await;
    let s = lab
        .sheet(&find(&lab, "email=dee%40example.com").await)
        .await;
    assert_eq!(s["status"]["email"], "blocked", "{s}");
    assert_eq!(s["status"]["newsletter"], "unsubscribed");
    assert_eq!(s["channels"]["email"]["complained"]["count"], 1);
    let s = lab.sheet(&find(&lab, "phone=%2B34600333444").await).await;
    assert_eq!(s["status"]["sms"], "blocked", "{s}");
    assert_eq!(s["status"]["sms_subscription"], "unsubscribed");
}

#[actix_web::test]
async fn only_the_sites_server_key_is_taken_and_never_its_site_key() {
    let lab = Lab::new();
    let one = || vec![about(email("eve@example.com"), "email_sent", T0, json!({}))];
    let (status, r) = lab.server(SITE, one()).await;
    assert_eq!(
        (status, r["error"].as_str()),
        (401, Some("unauthorized")),
        "{r}"
    );
    assert!(r["message"].as_str().unwrap().contains("server_key"), "{r}");
    // The admin token is not a server key either.
    assert_eq!(lab.server(TOKEN, one()).await.0, 401);
    // Another site's key does not write into this site.
    let (status, r) = lab.server(OTHER_SERVER_KEY, one()).await;
    assert_eq!(status, 401, "{r}");
    assert!(
        r["message"]
            .as_str()
            .unwrap()
            .contains("not site `test-shop`'s"),
        "{r}"
    );
    let page = lab
        .browse(
            "POST",
            "/v1/server/batch",
            &[],
            Some(("application/json", b"{}".to_vec())),
        )
        .await;
    assert_eq!(page.status, 401, "{}", page.body);
    assert_eq!(page.header("www-authenticate"), vec!["Bearer"]);
    let (status, list) = lab.get("/v1/contacts?email=eve%40example.com").await;
    assert_eq!(status, 200);
    assert!(list["contacts"].as_array().unwrap().is_empty(), "{list}");
}

#[actix_web::test]
async fn browsers_may_not_send_delivery_events_nor_name_a_server_tracker() {
    let lab = Lab::new();
    let mut opened = crate::lab::ev("t-1", "email_opened", T0, json!({}));
    let r = lab.send(vec![opened.clone(), page("t-1", T0)]).await;
    assert_eq!(r.accepted, 1);
    assert!(
        r.rejected[0]
            .error
            .starts_with("type: email_opened is reported by the shop's servers"),
        "{r:?}"
    );
    opened["type"] = json!("page_view");
    opened["tracker_id"] = json!("server:1");
    opened["properties"] = json!({"url": "https://shop.test/", "path": "/"});
    let r = lab.send(vec![opened]).await;
    assert!(
        r.rejected[0]
            .error
            .starts_with("tracker_id: may not start with `server:`"),
        "{r:?}"
    );
}

#[actix_web::test]
async fn an_unknown_contact_is_rejected_alone_and_nothing_else_is_lost() {
    let lab = Lab::new();
    // A contact of the other site is no contact of this one.
    let other = {
        let body = json!({"site_key": "other-shop", "sent_at": iso(T0), "events": [
            about(email("fay@example.com"), "email_sent", T0, json!({}))
        ]});
        let (status, r) = lab
            .call("POST", "/v1/server/batch", OTHER_SERVER_KEY, Some(body))
            .await;
        assert_eq!((status, &r["accepted"]), (200, &json!(1)), "{r}");
        let (_, list) = lab.get("/v1/contacts?site=other-shop").await;
        list["contacts"][0]["id"].as_str().unwrap().to_owned()
    };
    let (status, r) = lab
        .server(
            SERVER_KEY,
            vec![
                about(json!({"id": 999}), "email_sent", T0, json!({})),
                about(email("gus@example.com"), "email_sent", T0, json!({})),
                about(json!({"id": other.clone()}), "email_sent", T0, json!({})),
                about(email("not an email"), "email_sent", T0, json!({})),
                about(
                    json!({"id": 1, "email": "a@b.c"}),
                    "email_sent",
                    T0,
                    json!({}),
                ),
                about(
                    email("gus@example.com"),
                    "identify",
                    T0,
                    json!({"email": "gus@example.com"}),
                ),
            ],
        )
        .await;
    assert_eq!(status, 200, "{r}");
    assert_eq!(r["accepted"], 1, "{r}");
    let errors: Vec<(u64, &str)> = r["rejected"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| (x["index"].as_u64().unwrap(), x["error"].as_str().unwrap()))
        .collect();
    assert_eq!(errors.len(), 5, "{r}");
    assert_eq!(errors[0], (0, "contact.id: no contact 999 on this site"));
    // Another site's contact is answered exactly as an absent one.
    assert_eq!(
        errors[1],
        (
            2,
            format!("contact.id: no contact {other} on this site").as_str()
        )
    );
    assert!(errors[2].1.starts_with("contact.email "), "{r}");
    assert!(
        errors[3].1.starts_with("contact: must name exactly one"),
        "{r}"
    );
    assert!(
        errors[4].1.contains("names the browser's tracker_id"),
        "{r}"
    );
    find(&lab, "email=gus%40example.com").await;
}

#[actix_web::test]
async fn a_retried_batch_makes_no_second_contact_and_counts_nothing_twice() {
    let lab = Lab::new();
    let batch = vec![
        about(email("hal@example.com"), "email_sent", T0, json!({})),
        about(email("hal@example.com"), "email_opened", T0, json!({})),
    ];
    accepted(&lab, batch.clone()).await;
    let (status, r) = lab.server(SERVER_KEY, batch).await;
    assert_eq!((status, &r["duplicates"]), (200, &json!(2)), "{r}");
    let id = find(&lab, "email=hal%40example.com").await;
    assert_eq!(
        lab.sheet(&id).await["channels"]["email"]["sent"]["count"],
        1
    );
}

#[actix_web::test]
async fn an_erased_contact_is_absent_by_id_and_comes_back_blocked_by_email() {
    let lab = Lab::new();
    accepted(
        &lab,
        vec![about(email("ivy@example.com"), "email_sent", T0, json!({}))],
    )
    .await;
    let id = find(&lab, "email=ivy%40example.com").await;
    let (status, r) = lab
        .call("DELETE", &format!("/v1/contacts/{id}"), TOKEN, None)
        .await;
    assert_eq!(status, 200, "{r}");
    let (_, r) = lab
        .server(
            SERVER_KEY,
            vec![
                about(json!({"id": id.clone()}), "email_sent", T0, json!({})),
                about(email("ivy@example.com"), "email_sent", T0 + MIN, json!({})),
            ],
        )
        .await;
    assert_eq!(
        r["rejected"][0]["error"],
        format!("contact.id: no contact {id} on this site"),
        "{r}"
    );
    assert_eq!(r["accepted"], 1, "{r}");
    let again = find(&lab, "email=ivy%40example.com").await;
    assert_ne!(again, id);
    // The suppression list's rule: an erased email comes back blocked and unsubscribed.
    assert_eq!(lab.sheet(&again).await["status"]["email"], "blocked");
}

#[actix_web::test]
async fn segments_select_by_what_the_providers_reported() {
    let lab = Lab::new();
    let (jo, kim) = (|| email("jo@example.com"), || email("kim@example.com"));
    accepted(
        &lab,
        vec![
            about(jo(), "email_sent", T0 - 40 * DAY, json!({})),
            about(jo(), "email_opened", T0 - 40 * DAY, json!({})),
            about(kim(), "email_sent", T0 - 2 * DAY, json!({})),
            about(kim(), "email_opened", T0 - DAY, json!({})),
            about(kim(), "email_clicked", T0 - DAY, json!({})),
        ],
    )
    .await;
    let kim_id = find(&lab, "email=kim%40example.com").await;
    let rule = json!({"all": [
        {"field": "channels.email.opened.last_at", "op": "within_days", "value": 30},
        {"field": "channels.email.clicked.count", "op": "gte", "value": 1}
    ]});
    let (status, seg) = lab
        .call(
            "POST",
            "/v1/segments",
            TOKEN,
            Some(json!({"name": "engaged", "rule": rule})),
        )
        .await;
    assert_eq!(status, 201, "{seg}");
    let (_, list) = lab
        .get(&format!(
            "/v1/contacts?segment={}",
            seg["id"].as_str().unwrap()
        ))
        .await;
    let ids: Vec<&str> = list["contacts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, [kim_id.as_str()], "{list}");
    let bad = json!({"field": "channels.fax.sent.count", "op": "gte", "value": 1});
    let (status, r) = lab
        .call(
            "POST",
            "/v1/segments",
            TOKEN,
            Some(json!({"name": "fax", "rule": bad})),
        )
        .await;
    assert_eq!(status, 422, "{r}");
    assert!(
        r["message"]
            .as_str()
            .unwrap()
            .contains("channels.sms.KIND.count"),
        "{r}"
    );
}
