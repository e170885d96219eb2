//! Erasure and what it leaves behind (nothing readable, as soon as it returns; nothing at all,
//! once compacted), the suppression list, bulk actions, and the personal-data extract.

use std::io::Read;
use std::path::Path;

use serde_json::{json, Value};

use crate::lab::*;
use crate::util::TOKEN;

const ALICE: &str = "alice.zq@example.com";
const ALICE_PHONE: &str = "+34611222333";
/// A name no other test data holds, to look for on disk.
const ALICE_LAST: &str = "Quixotrundle";

/// Every file under `dir` that holds `needle`.
fn files_holding(dir: &Path, needle: &[u8]) -> Vec<String> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.extend(files_holding(&path, needle));
        } else {
            let bytes = std::fs::read(&path).unwrap();
            if bytes.windows(needle.len()).any(|w| w == needle) {
                out.push(path.display().to_string());
            }
        }
    }
    out
}

/// What an erased shopper left that the disk must never show in the clear.
const ALICE_NEEDLES: [&str; 5] = [
    ALICE,
    ALICE_PHONE,
    ALICE_LAST,
    "order-alice-1",
    "agent-of-ta",
];

/// Contact `id`'s key in the data directory's `contact.keys` (32 bytes a slot); `None` when it
/// is destroyed (zeros) or was never made.
fn contact_key(dir: &Path, id: &str) -> Option<Vec<u8>> {
    let keys = std::fs::read(dir.join("contact.keys")).unwrap();
    let at = id.parse::<usize>().unwrap() * 32;
    let slot = keys.get(at..at + 32)?;
    (slot != [0; 32]).then(|| slot.to_vec())
}

fn assert_nothing_of_alice_on_disk(dir: &Path, when: &str) {
    // The scan finds what is there: tracker ids are kept in the clear.
    assert!(!files_holding(dir, b"tshared").is_empty());
    for needle in ALICE_NEEDLES {
        assert_eq!(
            files_holding(dir, needle.as_bytes()),
            Vec::<String>::new(),
            "{needle} is on disk in the clear {when}"
        );
    }
}

async fn all_activity(lab: &Lab, id: &str) -> Vec<Value> {
    let mut out = Vec::new();
    let mut before = String::new();
    loop {
        let (status, page) = lab
            .get(&format!("/v1/contacts/{id}/activity?limit=3{before}"))
            .await;
        assert_eq!(status, 200, "{page}");
        out.extend(page["events"].as_array().unwrap().iter().cloned());
        match page["next"].as_str() {
            Some(n) => before = format!("&before={n}"),
            None => return out,
        }
    }
}

/// Alice: two devices (one anonymous until she logs in), a purchase, a segment, an edit; and
/// a shared device whose later shopper, Carol, is someone else. Returns Alice's and Carol's ids.
async fn alice_and_carol(lab: &Lab) -> (String, String) {
    lab.send(vec![
        page("ta", T0 - 50 * MIN),
        product("ta", T0 - 49 * MIN, "p1"),
        identify(
            "ta",
            T0 - 48 * MIN,
            json!({"email": ALICE, "phone": ALICE_PHONE, "first_name": "Alice", "last_name": ALICE_LAST}),
        ),
        purchase("ta", T0 - 47 * MIN, "order-alice-1", 42.0),
    ])
    .await;
    lab.send(vec![
        page("tb", T0 - 40 * MIN),
        identify("tb", T0 - 39 * MIN, json!({"email": ALICE})),
    ])
    .await;
    // One batch, so one chunk of tracker `tshared` holds both shoppers' events.
    lab.send(vec![
        identify("tshared", T0 - 30 * MIN, json!({"email": ALICE})),
        page("tshared", T0 - 29 * MIN),
        identify(
            "tshared",
            T0 - 28 * MIN,
            json!({"email": "carol@example.com"}),
        ),
        page("tshared", T0 - 27 * MIN),
    ])
    .await;
    let alice = lab.contact_of("ta").await;
    assert_eq!(lab.contact_of("tb").await, alice);
    let carol = lab.contact_of("tshared").await;
    assert_ne!(carol, alice);
    let (status, seg) = lab
        .call(
            "POST",
            "/v1/segments",
            EDITOR,
            Some(json!({"name": "Loyal"})),
        )
        .await;
    assert_eq!(status, 201, "{seg}");
    let seg = seg["id"].as_str().unwrap().to_owned();
    let (status, _) = lab
        .call(
            "POST",
            &format!("/v1/segments/{seg}/members"),
            EDITOR,
            Some(json!({"contacts": [alice]})),
        )
        .await;
    assert_eq!(status, 200);
    let (status, _) = lab
        .call(
            "PATCH",
            &format!("/v1/contacts/{alice}"),
            EDITOR,
            Some(json!({"custom": {"tier": "gold"}})),
        )
        .await;
    assert_eq!(status, 200);
    (alice, carol)
}

#[actix_web::test]
async fn an_erased_contact_is_gone_from_every_read_and_unreadable_on_disk_once_the_delete_returns()
{
    let lab = Lab::new();
    let (alice, carol) = alice_and_carol(&lab).await;
    lab.send(vec![page("tbob", T0 - 10 * MIN)]).await;
    let bob = lab.contact_of("tbob").await;
    let alice_events = all_activity(&lab, &alice).await.len() as u64;
    let carol_before = all_activity(&lab, &carol).await;
    assert_eq!(carol_before.len(), 2, "{carol_before:?}");
    let dir = lab.data_dir().to_owned();
    // Alice's data is sealed from the first write: never in the clear, and readable only
    // under her key.
    assert_nothing_of_alice_on_disk(&dir, "before the erasure");
    assert!(contact_key(&dir, &alice).is_some());
    let carol_key = contact_key(&dir, &carol);
    assert!(carol_key.is_some());

    let (status, refused) = lab
        .call("DELETE", &format!("/v1/contacts/{alice}"), EDITOR, None)
        .await;
    assert_eq!(
        (status, refused["error"].as_str()),
        (403, Some("forbidden"))
    );
    let (status, erased) = lab
        .call("DELETE", &format!("/v1/contacts/{alice}"), TOKEN, None)
        .await;
    assert_eq!(status, 200, "{erased}");
    let removed = &erased["removed"];
    assert_eq!(removed["events"].as_u64(), Some(alice_events), "{erased}");
    // Alice and the anonymous contacts of `tb` and `tshared` that joined her at login.
    assert_eq!(removed["contacts"].as_u64(), Some(3), "{erased}");
    assert_eq!(
        removed["trackers"].as_u64(),
        Some(2),
        "ta and tb; tshared is Carol's now"
    );
    assert_eq!(removed["orders"].as_u64(), Some(1));
    assert_eq!(removed["segment_memberships"].as_u64(), Some(1));
    assert_eq!(
        removed["chunks_rewritten"].as_u64(),
        Some(1),
        "tshared's shared chunk"
    );
    assert!(removed["history_entries"].as_u64().unwrap() > 3, "{erased}");
    assert!(
        removed["identity_changes"].as_u64().unwrap() >= 2,
        "{erased}"
    );
    assert!(erased["compaction_due_by"].is_string());

    // As soon as the DELETE returns, before any compaction: sled's log still holds Alice's
    // sealed records and events, but her key is gone, and with it every way to read them.
    // Carol's key, which seals her half of the shared chunk, is untouched.
    assert_eq!(
        contact_key(&dir, &alice),
        None,
        "Alice's key survived her erasure"
    );
    assert_eq!(contact_key(&dir, &carol), carol_key);
    assert_nothing_of_alice_on_disk(&dir, "right after the erasure");

    // Every read: the sheet says it was erased; lookups, search and lists find nothing.
    let (status, gone) = lab.get(&format!("/v1/contacts/{alice}")).await;
    assert_eq!(
        (status, gone["error"].as_str()),
        (410, Some("erased")),
        "{gone}"
    );
    for query in [
        format!("email={ALICE}"),
        format!("phone=%2B{}", &ALICE_PHONE[1..]),
        "q=alice".into(),
        "q=quixo".into(),
    ] {
        let (status, list) = lab.get(&format!("/v1/contacts?{query}")).await;
        assert_eq!(status, 200, "{query}: {list}");
        assert_eq!(list["contacts"], json!([]), "{query}");
    }
    let (_, list) = lab.get("/v1/contacts").await;
    let listed: Vec<&str> = list["contacts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap())
        .collect();
    assert!(!listed.contains(&alice.as_str()) && listed.contains(&bob.as_str()));
    let (status, _) = lab.get("/v1/trackers/ta/contact").await;
    assert_eq!(status, 404);
    let (status, events) = lab.get("/v1/trackers/ta/events").await;
    assert!(status == 404 || events["events"] == json!([]), "{events}");
    // Only the record of the erasure remains, without personal data.
    let (status, history) = lab.get(&format!("/v1/contacts/{alice}/history")).await;
    assert_eq!(status, 200, "{history}");
    let changes = history["changes"].as_array().unwrap();
    assert_eq!(changes.len(), 1, "{history}");
    assert_eq!(
        (changes[0]["field"].as_str(), changes[0]["who"].as_str()),
        (Some("erased"), Some("ops"))
    );
    assert!(!history.to_string().contains("alice"), "{history}");

    // Carol shared a device with Alice: her events and sheet are whole.
    assert_eq!(all_activity(&lab, &carol).await, carol_before);
    assert_eq!(
        lab.sheet(&carol).await["profile"]["email"],
        "carol@example.com"
    );
    assert_eq!(lab.sheet(&bob).await["counts"]["events"], 1);

    // A compaction gives the space back; the sealed leftovers go with the old generation.
    let (status, compacted) = lab.call("POST", "/v1/admin/compact", TOKEN, None).await;
    assert_eq!(status, 200, "{compacted}");
    assert_nothing_of_alice_on_disk(&dir, "after compaction");
    // The store works on after the swap: reads, and writes.
    assert_eq!(all_activity(&lab, &carol).await, carol_before);
    lab.send(vec![page("tbob", T0 - 5 * MIN)]).await;
    assert_eq!(lab.sheet(&bob).await["counts"]["events"], 2);
    let (status, _) = lab.call("POST", "/v1/admin/compact", EDITOR, None).await;
    assert_eq!(status, 403);
}

#[actix_web::test]
async fn an_erased_shoppers_trackers_and_email_stay_suppressed_until_an_admin_lifts_it() {
    let lab = Lab::new();
    let (alice, _) = alice_and_carol(&lab).await;
    let (status, _) = lab
        .call("DELETE", &format!("/v1/contacts/{alice}"), TOKEN, None)
        .await;
    assert_eq!(status, 200);

    // Her old device keeps sending: acknowledged, and dropped.
    let resp = lab
        .send(vec![
            page("ta", T0),
            identify("ta", T0, json!({"email": ALICE})),
        ])
        .await;
    assert_eq!((resp.accepted, resp.duplicates), (2, 0));
    let (status, _) = lab.get("/v1/trackers/ta/contact").await;
    assert_eq!(status, 404, "a suppressed tracker makes no contact");
    let (_, list) = lab.get(&format!("/v1/contacts?email={ALICE}")).await;
    assert_eq!(list["contacts"], json!([]));

    // She comes back on a new device: a new contact, blocked and unsubscribed (emBlue).
    lab.send(vec![identify(
        "tnew",
        T0 + MIN,
        json!({"email": ALICE, "phone": ALICE_PHONE}),
    )])
    .await;
    let back = lab.contact_of("tnew").await;
    assert_ne!(back, alice);
    let sheet = lab.sheet(&back).await;
    assert_eq!(sheet["status"]["email"], "blocked", "{sheet}");
    assert_eq!(sheet["status"]["newsletter"], "unsubscribed");
    assert_eq!(sheet["status"]["sms"], "paused");
    assert_eq!(sheet["status"]["sms_subscription"], "unsubscribed");
    let (_, history) = lab.get(&format!("/v1/contacts/{back}/history")).await;
    assert!(
        history["changes"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["who"] == "suppression" && c["field"] == "email_status"),
        "{history}"
    );

    // An admin lifts the block; the email is off the list from then on.
    let (status, lifted) = lab
        .call(
            "PATCH",
            &format!("/v1/contacts/{back}"),
            TOKEN,
            Some(json!({"email_status": "active", "newsletter": "subscribed"})),
        )
        .await;
    assert_eq!(status, 200, "{lifted}");
    assert_eq!(lifted["status"]["email"], "active");
    let (status, _) = lab
        .call("DELETE", &format!("/v1/contacts/{back}"), TOKEN, None)
        .await;
    assert_eq!(status, 200, "erasing again works too");
}

#[actix_web::test]
async fn bulk_actions_report_each_contact() {
    let lab = Lab::new();
    let mut ids = Vec::new();
    for (t, email) in [
        ("t1", "one@example.com"),
        ("t2", "two@example.com"),
        ("t3", "three@example.com"),
    ] {
        lab.send(vec![identify(
            t,
            T0 - MIN,
            json!({"email": email, "phone": format!("+3461100000{}", &t[1..])}),
        )])
        .await;
        ids.push(lab.contact_of(t).await);
    }
    let (_, seg) = lab
        .call(
            "POST",
            "/v1/segments",
            EDITOR,
            Some(json!({"name": "Picked"})),
        )
        .await;
    let seg = seg["id"].as_str().unwrap().to_owned();
    let bulk = |body: Value, token: &'static str| {
        let lab = &lab;
        async move {
            lab.call("POST", "/v1/contacts/bulk", token, Some(body))
                .await
        }
    };

    let (status, report) = bulk(
        json!({"ids": [ids[0], ids[1], "999"], "action": "add_to_segment", "segment": seg}),
        EDITOR,
    )
    .await;
    assert_eq!(status, 200, "{report}");
    assert_eq!(
        (report["done"].as_u64(), report["failed"].as_u64()),
        (Some(2), Some(1))
    );
    assert_eq!(report["results"][2]["error"]["code"], "not_found");
    let (_, members) = lab.get(&format!("/v1/segments/{seg}/members")).await;
    assert_eq!(members["contacts"].as_array().unwrap().len(), 2);

    let (status, report) = bulk(
        json!({"ids": [ids[0]], "action": "remove_from_segment", "segment": seg}),
        EDITOR,
    )
    .await;
    assert_eq!((status, report["done"].as_u64()), (200, Some(1)));
    let (_, members) = lab.get(&format!("/v1/segments/{seg}/members")).await;
    assert_eq!(members["contacts"].as_array().unwrap().len(), 1);

    let (status, report) = bulk(
        json!({"ids": [ids[1], ids[2]], "action": "suspend"}),
        EDITOR,
    )
    .await;
    assert_eq!(
        (status, report["done"].as_u64()),
        (200, Some(2)),
        "{report}"
    );
    let sheet = lab.sheet(&ids[1]).await;
    assert_eq!(
        (
            sheet["status"]["email"].as_str(),
            sheet["status"]["sms"].as_str()
        ),
        (Some("paused"), Some("paused"))
    );
    assert_eq!(lab.sheet(&ids[0]).await["status"]["email"], "active");

    let (status, refused) = bulk(json!({"ids": [ids[2]], "action": "delete"}), EDITOR).await;
    assert_eq!(
        (status, refused["error"].as_str()),
        (403, Some("forbidden")),
        "{refused}"
    );
    assert!(refused["message"].as_str().unwrap().contains("admin"));
    let (status, report) = bulk(
        json!({"ids": [ids[2], ids[1], "998"], "action": "delete"}),
        TOKEN,
    )
    .await;
    assert_eq!(status, 200, "{report}");
    assert_eq!(
        (report["done"].as_u64(), report["failed"].as_u64()),
        (Some(2), Some(1))
    );
    let (status, _) = lab.get(&format!("/v1/contacts/{}", ids[2])).await;
    assert_eq!(status, 410);
    let (_, members) = lab.get(&format!("/v1/segments/{seg}/members")).await;
    assert_eq!(
        members["contacts"],
        json!([]),
        "the erased member left the segment"
    );

    for (body, field) in [
        (json!({"ids": [ids[0]], "action": "explode"}), "action"),
        (
            json!({"ids": [ids[0]], "action": "add_to_segment"}),
            "segment",
        ),
        (json!({"ids": [], "action": "suspend"}), "ids"),
        (
            json!({"ids": [ids[0]], "action": "suspend", "force": true}),
            "force",
        ),
    ] {
        let (status, err) = bulk(body, TOKEN).await;
        assert_eq!(
            (status, err["error"].as_str()),
            (422, Some("invalid_field")),
            "{err}"
        );
        assert!(err["message"].as_str().unwrap().starts_with(field), "{err}");
    }
    let (status, _) = bulk(json!({"ids": [ids[0]], "action": "suspend"}), VIEWER).await;
    assert_eq!(status, 403);
}

pub(crate) fn unzip(bytes: &[u8]) -> std::collections::BTreeMap<String, String> {
    let mut zip = zip::ZipArchive::new(std::io::Cursor::new(bytes)).unwrap();
    let mut out = std::collections::BTreeMap::new();
    for i in 0..zip.len() {
        let mut f = zip.by_index(i).unwrap();
        let mut text = String::new();
        f.read_to_string(&mut text).unwrap();
        out.insert(f.name().to_owned(), text);
    }
    out
}

#[actix_web::test]
async fn the_extract_holds_the_sheet_every_event_the_history_and_the_segments() {
    let lab = Lab::new();
    let (alice, _) = alice_and_carol(&lab).await;
    let (status, bytes) = lab
        .bytes("GET", &format!("/v1/contacts/{alice}/extract"), TOKEN, None)
        .await;
    assert_eq!(status, 200);
    let files = unzip(&bytes);
    assert_eq!(
        files.keys().collect::<Vec<_>>(),
        [
            "README.txt",
            "activity.ndjson",
            "history.json",
            "profile.json",
            "segments.json"
        ]
    );
    for name in [
        "profile.json",
        "activity.ndjson",
        "history.json",
        "segments.json",
    ] {
        assert!(
            files["README.txt"].contains(name),
            "README.txt explains {name}"
        );
    }
    let profile: Value = serde_json::from_str(&files["profile.json"]).unwrap();
    assert_eq!(profile, lab.sheet(&alice).await);

    // Every stored event, as the activity API gives them, with both times.
    let lines: Vec<Value> = files["activity.ndjson"]
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines, all_activity(&lab, &alice).await);
    assert_eq!(
        lines.len(),
        8,
        "4 of ta, 2 of tb, 2 of tshared before Carol"
    );
    assert!(lines
        .iter()
        .all(|e| e["timestamp"].is_string() && e["client_timestamp"].is_string()));

    let history: Value = serde_json::from_str(&files["history.json"]).unwrap();
    let (_, api) = lab
        .get(&format!("/v1/contacts/{alice}/history?limit=1000"))
        .await;
    assert_eq!(history, api["changes"]);
    let segments: Value = serde_json::from_str(&files["segments.json"]).unwrap();
    assert_eq!(segments[0]["name"], "Loyal");

    let (status, _) = lab
        .bytes(
            "GET",
            &format!("/v1/contacts/{alice}/extract"),
            EDITOR,
            None,
        )
        .await;
    assert_eq!(status, 403, "extract is an admin's");
    let (status, _) = lab
        .bytes("GET", "/v1/contacts/999/extract", TOKEN, None)
        .await;
    assert_eq!(status, 404);
}

/// Identifies `tracker` with `traits` on a real edge, erases its contact, and returns the id.
/// Sends an identify for `tracker`; returns the id of its contact.
fn identify_contact(edge: &crate::util::Edge, tracker: &str, traits: Value) -> String {
    let r = edge.post_json(&crate::util::batch(vec![identify(tracker, T0, traits)]));
    assert_eq!(r.status, 200, "{}", r.text);
    edge.get(&format!("/v1/trackers/{tracker}/contact"), Some(TOKEN))
        .json["contact"]["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

fn identify_then_erase(edge: &crate::util::Edge, tracker: &str, traits: Value) -> String {
    let id = identify_contact(edge, tracker, traits);
    let r = edge
        .client
        .delete(format!("{}/v1/contacts/{id}", edge.url))
        .bearer_auth(TOKEN)
        .send()
        .unwrap();
    assert_eq!(r.status(), 200);
    id
}

#[test]
fn a_due_compaction_runs_by_itself_and_the_store_reopens_on_the_new_generation() {
    use crate::util::{batch, config, Edge, NO_LIMITS};
    let mut edge = Edge::start_with(&config(&format!(
        "{NO_LIMITS}[store]\ncompact_after_erase_minutes = 0\n"
    )));
    let id = identify_then_erase(&edge, "tz", json!({"email": "zoe.erased@example.com"}));
    // The job looks once a minute, and at start: a restart makes the due compaction run now.
    assert!(edge.sigterm().success());
    let current_file = edge.data_dir().join("CURRENT");
    let current = || std::fs::read_to_string(&current_file).unwrap();
    assert_eq!(current().trim(), "gen-000001");
    edge.spawn();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while current().trim() == "gen-000001" {
        assert!(
            std::time::Instant::now() < deadline,
            "no compaction within a minute of start; log:\n{}",
            edge.log()
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    assert!(edge.log().contains("store compacted"), "{}", edge.log());
    assert_eq!(current().trim(), "gen-000002");
    let gone = edge.get(&format!("/v1/contacts/{id}"), Some(TOKEN));
    assert_eq!(gone.status, 410, "{}", gone.text);
    // And on the next start, from the new generation.
    edge.restart();
    let gone = edge.get(&format!("/v1/contacts/{id}"), Some(TOKEN));
    assert_eq!(gone.status, 410, "{}", gone.text);
    let r = edge.post_json(&batch(vec![page("tz2", T0)]));
    assert_eq!(r.status, 200);
}

#[test]
fn a_kill_between_the_generation_switch_and_the_delete_leaves_no_old_generation_on_disk() {
    let mut edge = crate::util::Edge::start();
    let id = identify_then_erase(
        &edge,
        "tk",
        json!({"email": "kim.killed@example.com", "last_name": "Zyxwvutsrq"}),
    );
    // The compaction dies right after `CURRENT` names the new generation, before the old
    // one (which still holds Kim) is deleted.
    edge.kill9();
    edge.env = vec![(
        "FOOTPRINT_FAILPOINT".into(),
        "compaction-after-switch".into(),
    )];
    edge.spawn();
    let died = edge
        .client
        .post(format!("{}/v1/admin/compact", edge.url))
        .bearer_auth(TOKEN)
        .send();
    assert!(died.is_err(), "the process aborted mid-compaction");
    assert!(edge.log().contains("failpoint compaction-after-switch"));
    edge.kill9();
    assert!(
        edge.data_dir().join("gen-000001").exists(),
        "the crash left the old generation"
    );
    // The next start removes every generation CURRENT does not name.
    edge.env.clear();
    edge.spawn();
    assert!(!edge.data_dir().join("gen-000001").exists());
    assert_not_on_disk(&edge.data_dir(), &["kim.killed", "Zyxwvutsrq"]);
    let gone = edge.get(&format!("/v1/contacts/{id}"), Some(TOKEN));
    assert_eq!(gone.status, 410, "{}", gone.text);
    // The pending-erasure marker came across: the store still says a compaction is due.
    assert!(
        edge.log().contains("removing what a crash left"),
        "{}",
        edge.log()
    );
}

/// None of `needles` is on disk under `dir` in the clear.
fn assert_not_on_disk(dir: &Path, needles: &[&str]) {
    for needle in needles {
        assert_eq!(
            files_holding(dir, needle.as_bytes()),
            Vec::<String>::new(),
            "{needle} is on disk in the clear"
        );
    }
}

#[test]
fn a_kill_after_an_erasure_is_on_disk_but_before_its_key_is_destroyed_destroys_it_at_start() {
    let mut edge = crate::util::Edge::start();
    let id = identify_contact(&edge, "tkey", json!({"email": "kai.keyed@example.com"}));
    assert!(contact_key(&edge.data_dir(), &id).is_some());
    // The erasure's group is on disk; the process dies before the key is overwritten.
    edge.kill9();
    edge.env = vec![("FOOTPRINT_FAILPOINT".into(), "erasure-before-shred".into())];
    edge.spawn();
    let died = edge
        .client
        .delete(format!("{}/v1/contacts/{id}", edge.url))
        .bearer_auth(TOKEN)
        .send();
    assert!(died.is_err(), "the process aborted mid-erasure");
    assert!(edge.log().contains("failpoint erasure-before-shred"));
    edge.kill9();
    assert!(
        contact_key(&edge.data_dir(), &id).is_some(),
        "the crash came before the key was destroyed"
    );
    // The next start finds the erasure's marker and destroys the key before it serves.
    edge.env.clear();
    edge.spawn();
    assert_eq!(contact_key(&edge.data_dir(), &id), None);
    assert!(
        edge.log()
            .contains("destroying the keys of contacts erased just before a crash"),
        "{}",
        edge.log()
    );
    let gone = edge.get(&format!("/v1/contacts/{id}"), Some(TOKEN));
    assert_eq!(gone.status, 410, "{}", gone.text);
    assert_not_on_disk(&edge.data_dir(), &["kai.keyed"]);
}
