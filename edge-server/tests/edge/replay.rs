//! Every write is a command: the commands an edge applied, recorded and re-applied to an empty
//! store with the same secrets, give the same records byte for byte, however they are grouped.

use std::sync::mpsc;

use footprint_e2e::secrets::Secrets;
use footprint_edge::store::{AdminKind, Command, Effect, Recorded, Store, StoreConfig};
use serde_json::{json, Value};

use crate::lab::{cart, identify, page, product, purchase, Lab, DAY, EDITOR, MIN, T0};
use crate::util::{self, SITE, TOKEN};

/// Drives the in-process edge through every kind of write: events that create, identify and
/// merge contacts, a duplicate, an edit, an explicit merge, segment changes, membership, an
/// import, a suspension, RFM cut points, an erasure and events of the erased shopper after it.
async fn script(lab: &Lab) {
    lab.send(vec![page("ta", T0), product("ta", T0 + MIN, "p1")])
        .await;
    lab.send(vec![
        page("tb", T0 + 2 * MIN),
        cart("tb", T0 + 3 * MIN, 21.0),
        identify(
            "tb",
            T0 + 4 * MIN,
            json!({"email": "ana@example.com", "first_name": "Ana"}),
        ),
    ])
    .await;
    // Ana logs in on a second device: its contact merges into hers.
    let again = identify("ta", T0 + 5 * MIN, json!({"email": "ana@example.com"}));
    lab.send(vec![
        again.clone(),
        purchase("ta", T0 + 6 * MIN, "o-1", 42.5),
    ])
    .await;
    let resent = lab.send(vec![again]).await;
    assert_eq!(resent.duplicates, 1);
    lab.send(vec![
        identify(
            "tc",
            T0 + 7 * MIN,
            json!({"email": "bo@example.com", "phone": "+34600123456"}),
        ),
        purchase("tc", T0 + 8 * MIN, "o-2", 12.0),
        identify("td", T0 + 9 * MIN, json!({"email": "dee@example.com"})),
    ])
    .await;
    let ana = lab.contact_of("tb").await;
    let bo = lab.contact_of("tc").await;
    let dee = lab.contact_of("td").await;
    lab.set_now(T0 + DAY);
    let ok = |(status, body): (u16, serde_json::Value)| {
        assert!(status < 300, "{status} {body}");
        body
    };
    ok(lab
        .call(
            "PATCH",
            &format!("/v1/contacts/{ana}"),
            TOKEN,
            Some(json!({"last_name": "Ruiz", "newsletter": "subscribed", "tags": ["vip"], "reference": "CRM-1"})),
        )
        .await);
    ok(lab
        .call(
            "POST",
            &format!("/v1/contacts/{bo}/merge"),
            EDITOR,
            Some(json!({"from": dee})),
        )
        .await);
    let vip = ok(lab
        .call("POST", "/v1/segments", EDITOR, Some(json!({"name": "VIP"})))
        .await);
    let vip = vip["id"].as_str().unwrap().to_owned();
    ok(lab
        .call(
            "POST",
            &format!("/v1/segments/{vip}/members"),
            EDITOR,
            Some(json!({"contacts": [ana, bo]})),
        )
        .await);
    let rule = json!({"all": [{"field": "ecommerce.total_spent", "op": "gte", "value": 10, "currency": "EUR"}]});
    let big = ok(lab
        .call(
            "POST",
            "/v1/segments",
            EDITOR,
            Some(json!({"name": "Big", "rule": rule})),
        )
        .await);
    let big = big["id"].as_str().unwrap().to_owned();
    ok(lab
        .call(
            "PATCH",
            &format!("/v1/segments/{big}"),
            EDITOR,
            Some(json!({"description": "spent 10+"})),
        )
        .await);
    ok(lab
        .call("DELETE", &format!("/v1/segments/{big}"), EDITOR, None)
        .await);
    let (status, _) = lab
        .bytes(
            "POST",
            &format!("/v1/contacts/import?site={SITE}"),
            EDITOR,
            Some((
                "text/csv",
                b"email,first_name,tags,reference\ncy@example.com,Cy,\"b2b, new\",CRM-2\n\
                  ana@example.com,Ana Maria,,\n"
                    .to_vec(),
            )),
        )
        .await;
    assert_eq!(status, 200);
    ok(lab
        .call(
            "POST",
            "/v1/contacts/bulk",
            EDITOR,
            Some(json!({"ids": [bo], "action": "suspend"})),
        )
        .await);
    ok(lab
        .call(
            "POST",
            "/v1/contacts/bulk",
            EDITOR,
            Some(json!({"ids": [bo, ana], "action": "add_tag", "tag": "Event 2026"})),
        )
        .await);
    let note = ok(lab
        .call(
            "POST",
            &format!("/v1/contacts/{ana}/notes"),
            EDITOR,
            Some(json!({"text": "Prefers phone calls"})),
        )
        .await);
    ok(lab
        .call(
            "POST",
            &format!("/v1/contacts/{ana}/notes"),
            EDITOR,
            Some(json!({"text": "Second note"})),
        )
        .await);
    let (status, _) = lab
        .call(
            "DELETE",
            &format!("/v1/contacts/{ana}/notes/{}", note["id"].as_str().unwrap()),
            EDITOR,
            None,
        )
        .await;
    assert_eq!(status, 204);
    lab.send(vec![crate::lab::ev(
        "ta",
        "refund",
        T0 + DAY,
        json!({"order_id": "o-1", "amount": 2.5, "reason": "scratched"}),
    )])
    .await;
    // The shop's servers: by email (Ana's, and one nobody has, which makes a contact), by
    // phone (Bo's), by id (Dee), by tracker, and an id that is nobody.
    let about = |n: u32, to: Value, ty: &str, props: Value| {
        let mut e = json!({"message_id": format!("server-{n}"), "type": ty,
            "timestamp": crate::lab::iso(T0 + DAY), "properties": props});
        match to.get("tracker_id") {
            Some(t) => e["tracker_id"] = t.clone(),
            None => e["contact"] = to,
        }
        e
    };
    let hard = json!({"bounce": "hard", "reason": "no such user"});
    let (status, r) = lab
        .server(
            util::SERVER_KEY,
            vec![
                about(
                    1,
                    json!({"email": "ana@example.com"}),
                    "email_sent",
                    json!({}),
                ),
                about(
                    2,
                    json!({"email": "new@example.com"}),
                    "email_bounced",
                    hard.clone(),
                ),
                about(
                    3,
                    json!({"email": "new@example.com"}),
                    "email_bounced",
                    hard.clone(),
                ),
                about(
                    4,
                    json!({"email": "new@example.com"}),
                    "email_bounced",
                    hard,
                ),
                about(
                    5,
                    json!({"phone": "+34600123456"}),
                    "sms_unsubscribed",
                    json!({}),
                ),
                about(6, json!({"id": dee.clone()}), "email_complained", json!({})),
                about(7, json!({"tracker_id": "ta"}), "email_opened", json!({})),
                about(8, json!({"id": 999}), "email_sent", json!({})),
            ],
        )
        .await;
    assert_eq!((status, &r["accepted"]), (200, &json!(7)), "{r}");
    assert!(lab.store.recompute_rfm(T0 + DAY).unwrap() > 0);
    assert!(lab.store.refit_clv(T0 + DAY, util::clv_rules(2)).unwrap() > 0);
    lab.set_now(T0 + 2 * DAY);
    ok(lab
        .call("DELETE", &format!("/v1/contacts/{bo}"), TOKEN, None)
        .await);
    // Bo's trackers are suppressed now: acknowledged and dropped.
    lab.send(vec![page("tc", T0 + 2 * DAY), page("te", T0 + 2 * DAY)])
        .await;
}

/// What each recorded command is, so that the test knows it covered every kind.
fn kind(c: &Command) -> &'static str {
    match c {
        Command::Events(r) if r.events.iter().any(|e| e.tracker().is_none()) => "server events",
        Command::Events(_) => "events",
        Command::RfmCuts { .. } => "rfm cuts",
        Command::ClvModels { .. } => "clv models",
        Command::Admin(op) => match op.kind {
            AdminKind::Patch { .. } => "patch",
            AdminKind::Merge { .. } => "merge",
            AdminKind::CreateSegment(_) => "create segment",
            AdminKind::UpdateSegment { .. } => "update segment",
            AdminKind::DeleteSegment(_) => "delete segment",
            AdminKind::Members { .. } => "members",
            AdminKind::Suspend(_) => "suspend",
            AdminKind::Erase(_) => "erase",
            AdminKind::Import { .. } => "import",
            AdminKind::Tag { .. } => "tag",
            AdminKind::AddNote { .. } => "add note",
            AdminKind::DeleteNote { .. } => "delete note",
        },
    }
}

#[actix_web::test]
async fn replaying_the_recorded_commands_into_an_empty_store_gives_byte_identical_records() {
    let secrets = Secrets::new();
    let lab = Lab::in_dir(secrets.data_dir());
    let (tx, rx) = mpsc::channel::<Recorded>();
    lab.store.tap(tx).unwrap();
    script(&lab).await;
    lab.store.shutdown();
    let recorded: Vec<Recorded> = rx.try_iter().collect();
    let original = lab.store.state_records().unwrap();

    let commands: Vec<(u64, Command)> = recorded
        .iter()
        .map(|r| (r.position, Command::decode(&r.command).unwrap()))
        .collect();
    let mut kinds: Vec<&str> = commands.iter().map(|(_, c)| kind(c)).collect();
    kinds.sort();
    kinds.dedup();
    assert_eq!(
        kinds,
        [
            "add note",
            "clv models",
            "create segment",
            "delete note",
            "delete segment",
            "erase",
            "events",
            "import",
            "members",
            "merge",
            "patch",
            "rfm cuts",
            "server events",
            "suspend",
            "tag",
            "update segment"
        ]
    );
    // Each command's encoding is its own: decoding and encoding again gives the same bytes.
    for (r, (_, c)) in recorded.iter().zip(&commands) {
        assert_eq!(c.encode(), r.command);
    }
    assert!(original.len() > 40, "{} records", original.len());

    // Two replays: one queues every command at once (the writer groups them as it likes),
    // one waits for each (a group each).
    for all_at_once in [true, false] {
        let dir = secrets.data_dir();
        let replica = Store::open(dir.path(), &StoreConfig::default()).unwrap();
        let mut pending = Vec::new();
        for (position, c) in &commands {
            let rx = replica.apply_at(*position, c.clone()).unwrap();
            if all_at_once {
                pending.push(rx);
            } else {
                assert_ne!(rx.await.unwrap().unwrap(), Effect::AlreadyApplied);
            }
        }
        for rx in pending {
            assert_ne!(rx.await.unwrap().unwrap(), Effect::AlreadyApplied);
        }
        let (last, c) = commands.last().unwrap();
        assert_eq!(replica.applied().unwrap(), *last);
        // A redelivery of an applied position changes nothing.
        let again = replica.apply_at(*last, c.clone()).unwrap().await.unwrap();
        assert_eq!(again.unwrap(), Effect::AlreadyApplied);
        let replayed = replica.state_records().unwrap();
        replica.shutdown();
        let differ: Vec<String> = original
            .iter()
            .zip(&replayed)
            .filter(|(a, b)| a != b)
            .map(|(a, b)| {
                format!(
                    "{:?} vs {:?}",
                    String::from_utf8_lossy(&a.0),
                    String::from_utf8_lossy(&b.0)
                )
            })
            .take(5)
            .collect();
        assert!(differ.is_empty(), "all_at_once={all_at_once}: {differ:?}");
        assert_eq!(original.len(), replayed.len(), "all_at_once={all_at_once}");
        assert!(original == replayed);
    }
}
