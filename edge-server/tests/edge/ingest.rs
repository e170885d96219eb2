use serde_json::{json, Value};

use crate::util::*;

#[test]
fn the_valid_fixture_is_stored_and_read_back_newest_first() {
    let edge = Edge::start();
    let body = fixture("batch_valid.json");
    let r = edge.post(body.clone(), "application/json", None);
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(
        r.json,
        json!({"accepted": 17, "duplicates": 0, "rejected": []})
    );

    let sent: Value = serde_json::from_str(&body).unwrap();
    let tracker = sent["events"][0]["tracker_id"].as_str().unwrap();
    let stored = edge.all_events(tracker);
    assert_eq!(stored.len(), 17);
    // One request's events come back in reverse order of the batch.
    let ids: Vec<&str> = stored
        .iter()
        .map(|e| e["message_id"].as_str().unwrap())
        .collect();
    let mut want: Vec<&str> = sent["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["message_id"].as_str().unwrap())
        .collect();
    want.reverse();
    assert_eq!(ids, want);
    // Properties and context are kept exactly, money included.
    let purchase = stored.iter().find(|e| e["type"] == "purchase").unwrap();
    assert_eq!(purchase["properties"]["total"], json!(99.8));
    assert_eq!(purchase["context"]["utm"]["campaign"], "autumn");
    assert_eq!(purchase["client_timestamp"], "2026-11-23T09:59:58.004Z");
    assert_eq!(purchase["site_key"], SITE);
}

#[test]
fn a_mixed_batch_keeps_its_valid_events() {
    let edge = Edge::start();
    let r = edge.post(fixture("batch_mixed.json"), "application/json", None);
    assert_eq!(r.status, 200, "{}", r.text);
    let expected: Value = serde_json::from_str(&fixture("batch_mixed.expected.json")).unwrap();
    assert_eq!(r.json, expected);
    let stored = edge.all_events("0193a1b2-c3d4-7e5f-8a9b-000000000002");
    let ids: Vec<&str> = stored
        .iter()
        .map(|e| e["message_id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["fixture-mixed-06", "fixture-mixed-00"]);
}

#[test]
fn a_replayed_batch_is_counted_as_duplicates_and_stored_once() {
    let mut edge = Edge::start();
    let now = now_iso();
    let b = batch(vec![
        page_view("dup-1", "tr-dup", &now),
        page_view("dup-2", "tr-dup", &now),
    ]);
    assert_eq!(
        edge.post_json(&b).json,
        json!({"accepted": 2, "duplicates": 0, "rejected": []})
    );
    assert_eq!(
        edge.post_json(&b).json,
        json!({"accepted": 0, "duplicates": 2, "rejected": []})
    );
    // Still a duplicate after a restart, and under another tracker id: the key is the site's.
    edge.restart();
    let again = batch(vec![
        page_view("dup-1", "tr-other", &now),
        page_view("dup-3", "tr-dup", &now),
    ]);
    assert_eq!(
        edge.post_json(&again).json,
        json!({"accepted": 1, "duplicates": 1, "rejected": []})
    );
    assert_eq!(edge.all_events("tr-dup").len(), 3);
    assert_eq!(edge.all_events("tr-other").len(), 0);
}

#[test]
fn a_repeat_inside_one_batch_is_a_duplicate() {
    let edge = Edge::start();
    let now = now_iso();
    let b = batch(vec![
        page_view("same", "tr-x", &now),
        page_view("same", "tr-x", &now),
    ]);
    assert_eq!(
        edge.post_json(&b).json,
        json!({"accepted": 1, "duplicates": 1, "rejected": []})
    );
}

#[test]
fn the_same_message_id_on_another_site_is_a_different_event() {
    let edge = Edge::start();
    let now = now_iso();
    let mut b = batch(vec![page_view("shared-id", "tr-a", &now)]);
    assert_eq!(edge.post_json(&b).json["accepted"], 1);
    b["site_key"] = json!("other-shop");
    assert_eq!(edge.post_json(&b).json["accepted"], 1);
}

#[test]
fn text_plain_bodies_are_accepted_as_sendbeacon_sends_them() {
    let edge = Edge::start();
    let b = batch(vec![page_view("beacon-1", "tr-beacon", &now_iso())]);
    let r = edge.post(b.to_string(), "text/plain;charset=UTF-8", Some(ORIGIN));
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.json["accepted"], 1);
}

#[test]
fn timestamps_are_corrected_for_client_clock_skew() {
    let edge = Edge::start();
    // A browser whose clock is one hour slow: it says it sent the batch an hour ago.
    let sent_at = "2026-01-01T10:00:00.000Z";
    let events = vec![
        page_view("skew-1", "tr-skew", "2026-01-01T09:59:50.000Z"),
        // Three days ahead of its own clock: clamped to the arrival time.
        page_view("skew-2", "tr-skew", "2026-01-04T10:00:00.000Z"),
    ];
    let r = edge.post_json(&json!({"site_key": SITE, "sent_at": sent_at, "events": events}));
    assert_eq!(r.json["accepted"], 2, "{}", r.text);
    let stored = edge.all_events("tr-skew");
    let by_id = |id: &str| {
        stored
            .iter()
            .find(|e| e["message_id"] == id)
            .unwrap()
            .clone()
    };
    let ms = |v: &Value| {
        footprint_protocol::Timestamp::parse(v.as_str().unwrap())
            .unwrap()
            .as_millis()
    };

    let e1 = by_id("skew-1");
    assert_eq!(e1["client_timestamp"], "2026-01-01T09:59:50.000Z");
    assert_eq!(e1["sent_at"], sent_at);
    // timestamp = client + (received − sent): 10 s before arrival.
    assert_eq!(ms(&e1["received_at"]) - ms(&e1["timestamp"]), 10_000);

    let e2 = by_id("skew-2");
    assert_eq!(e2["timestamp"], e2["received_at"]);
    assert_eq!(e2["client_timestamp"], "2026-01-04T10:00:00.000Z");
}

#[test]
fn many_trackers_in_one_batch_each_get_their_events() {
    let edge = Edge::start();
    let now = now_iso();
    let events: Vec<Value> = (0..30)
        .map(|i| page_view(&format!("multi-{i}"), &format!("tr-m{}", i % 3), &now))
        .collect();
    assert_eq!(edge.post_json(&batch(events)).json["accepted"], 30);
    for t in 0..3 {
        assert_eq!(edge.all_events(&format!("tr-m{t}")).len(), 10);
    }
}
