//! The golden fixtures under `tests/fixtures/` are the contract's examples. The edge's tests post
//! the same files and expect the same verdicts.

use footprint_protocol::{parse_batch, Event, EventType, ServerEvent};
use serde_json::Value;

fn fixture(name: &str) -> Vec<u8> {
    let path = format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

#[test]
fn the_valid_batch_has_every_event_type_and_all_parse() {
    let body = fixture("batch_valid.json");
    let batch = parse_batch(&body).unwrap();
    let mut seen: Vec<EventType> = batch
        .events
        .iter()
        .map(|raw| {
            Event::from_json(raw.get())
                .unwrap_or_else(|e| panic!("{e}: {}", raw.get()))
                .kind
                .event_type()
        })
        .collect();
    seen.sort();
    seen.dedup();
    let browsers: Vec<EventType> = EventType::ALL
        .into_iter()
        .filter(|t| !t.server_only())
        .collect();
    assert_eq!(seen, browsers);
}

#[test]
fn the_server_batch_has_every_delivery_type_and_all_parse() {
    let body = fixture("server_batch_valid.json");
    let batch = parse_batch(&body).unwrap();
    let mut seen: Vec<EventType> = batch
        .events
        .iter()
        .map(|raw| {
            ServerEvent::from_json(raw.get())
                .unwrap_or_else(|e| panic!("{e}: {}", raw.get()))
                .kind
                .event_type()
        })
        .filter(|t| t.server_only())
        .collect();
    seen.sort();
    seen.dedup();
    let delivery: Vec<EventType> = EventType::ALL
        .into_iter()
        .filter(|t| t.server_only())
        .collect();
    assert_eq!(seen, delivery);
}

#[test]
fn valid_events_serialize_back_to_what_they_parse_from() {
    let body = fixture("batch_valid.json");
    for raw in parse_batch(&body).unwrap().events {
        let ev = Event::from_json(raw.get()).unwrap();
        let again = Event::from_json(&serde_json::to_string(&ev).unwrap()).unwrap();
        assert_eq!(ev, again);
    }
}

#[test]
fn the_mixed_batch_gets_the_expected_verdicts() {
    let body = fixture("batch_mixed.json");
    let expected: Value = serde_json::from_slice(&fixture("batch_mixed.expected.json")).unwrap();
    let rejected = expected["rejected"].as_array().unwrap();
    let batch = parse_batch(&body).unwrap();
    let mut accepted = 0;
    for (i, raw) in batch.events.iter().enumerate() {
        let verdict = Event::from_json(raw.get());
        let want = rejected.iter().find(|r| r["index"] == i);
        match (verdict, want) {
            (Ok(_), None) => accepted += 1,
            (Err(e), Some(w)) => {
                assert_eq!(e.to_string(), w["error"].as_str().unwrap(), "event {i}")
            }
            (v, w) => panic!("event {i}: got {v:?}, expected {w:?}"),
        }
    }
    assert_eq!(accepted, expected["accepted"]);
}
