use serde_json::{json, Value};

use crate::util::*;

#[test]
fn not_json_is_400() {
    let edge = Edge::start();
    edge.post("{not json", "application/json", None)
        .assert_error(400, "invalid_json");
    edge.post(vec![0xffu8, 0xfe, 0x00], "application/json", None)
        .assert_error(400, "invalid_json");
}

#[test]
fn not_a_batch_is_400_naming_the_field() {
    let edge = Edge::start();
    let r = edge.post_json(&json!({"site_key": SITE, "events": []}));
    r.assert_error(400, "invalid_batch");
    assert!(
        r.json["message"].as_str().unwrap().contains("sent_at"),
        "{}",
        r.text
    );
    edge.post_json(&json!([1, 2, 3]))
        .assert_error(400, "invalid_batch");
}

#[test]
fn more_than_500_events_is_400() {
    let edge = Edge::start();
    let now = now_iso();
    let events: Vec<Value> = (0..501)
        .map(|i| page_view(&format!("m{i}"), "tr", &now))
        .collect();
    edge.post_json(&batch(events))
        .assert_error(400, "too_many_events");
}

#[test]
fn an_unknown_site_key_is_401() {
    let edge = Edge::start();
    let mut b = batch(vec![page_view("m", "tr", &now_iso())]);
    b["site_key"] = json!("no-such-shop");
    edge.post_json(&b).assert_error(401, "unknown_site");
}

#[test]
fn an_origin_outside_the_sites_origins_is_403() {
    let edge = Edge::start();
    let b = batch(vec![page_view("m", "tr", &now_iso())]);
    // Allowed for another site on this edge, but not for this one.
    let r = edge.post(b.to_string(), "application/json", Some("http://other.test"));
    r.assert_error(403, "origin_not_allowed");
    assert_eq!(r.header("access-control-allow-origin"), None);
    assert_eq!(edge.all_events("tr").len(), 0);
}

#[test]
fn a_body_over_512_kib_is_413() {
    let edge = Edge::start();
    let body = format!(
        r#"{{"site_key":"{SITE}","sent_at":"{}","events":[],"pad":"{}"}}"#,
        now_iso(),
        "x".repeat(600 * 1024)
    );
    edge.post(body, "application/json", None)
        .assert_error(413, "payload_too_large");
}

#[test]
fn a_body_over_512_kib_without_content_length_is_413() {
    let edge = Edge::start();
    // A reader of unknown length makes the client send chunked, with no Content-Length.
    let body = reqwest::blocking::Body::new(std::io::Cursor::new(vec![b' '; 700 * 1024]));
    edge.post(body, "application/json", None)
        .assert_error(413, "payload_too_large");
}

#[test]
fn another_content_type_is_415() {
    let edge = Edge::start();
    let b = batch(vec![page_view("m", "tr", &now_iso())]);
    edge.post(b.to_string(), "application/x-www-form-urlencoded", None)
        .assert_error(415, "unsupported_media_type");
}

#[test]
fn too_many_requests_from_one_ip_is_429_with_retry_after() {
    let edge = Edge::start_with(&config(
        "[rate_limit]\nper_ip_per_second = 1\nper_ip_burst = 3\n",
    ));
    let b = batch(vec![page_view("m", "tr", &now_iso())]);
    let statuses: Vec<u16> = (0..6).map(|_| edge.post_json(&b).status).collect();
    assert_eq!(&statuses[..3], &[200, 200, 200]);
    let r = edge.post_json(&b);
    r.assert_error(429, "rate_limited");
    let retry: u64 = r.header("retry-after").unwrap().parse().unwrap();
    assert!((1..=2).contains(&retry), "{retry}");
}

#[test]
fn too_many_requests_for_one_site_is_429() {
    let edge = Edge::start_with(&config(
        "[rate_limit]\nper_ip_per_second = 1000\nper_ip_burst = 1000\nper_site_per_second = 1\nper_site_burst = 2\n",
    ));
    let b = batch(vec![page_view("m", "tr", &now_iso())]);
    let statuses: Vec<u16> = (0..4).map(|_| edge.post_json(&b).status).collect();
    assert_eq!(statuses, [200, 200, 429, 429]);
    // Another site is not held back by this one.
    let mut other = b.clone();
    other["site_key"] = json!("other-shop");
    assert_eq!(edge.post_json(&other).status, 200);
}

#[test]
fn one_oversized_event_is_rejected_alone() {
    let edge = Edge::start();
    let now = now_iso();
    let mut big = page_view("big", "tr-big", &now);
    big["properties"]["title"] = json!("x".repeat(40 * 1024));
    let r = edge.post_json(&batch(vec![big, page_view("small", "tr-big", &now)]));
    assert_eq!(r.json["accepted"], 1, "{}", r.text);
    assert_eq!(r.json["rejected"][0]["index"], 0);
    assert!(
        r.json["rejected"][0]["error"]
            .as_str()
            .unwrap()
            .contains("limit is 32768"),
        "{}",
        r.text
    );
}

/// Inputs that have crashed or hung JSON servers elsewhere. After each, the server still answers.
#[test]
fn hostile_bodies_get_errors_and_the_server_keeps_answering() {
    let edge = Edge::start();
    let now = now_iso();
    let deep_array = format!(
        r#"{{"site_key":"{SITE}","sent_at":"{now}","events":[{}]}}"#,
        "[".repeat(200_000)
    );
    let deep_props = format!(
        r#"{{"site_key":"{SITE}","sent_at":"{now}","events":[{{"message_id":"d","tracker_id":"t","type":"custom","timestamp":"{now}","properties":{{"name":"x","properties":{}}}}}]}}"#,
        r#"{"a":"#.repeat(5_000)
    );
    let huge_string = format!(
        r#"{{"site_key":"{}","sent_at":"{now}","events":[]}}"#,
        "k".repeat(500_000)
    );
    let mut invalid_utf8 =
        format!(r#"{{"site_key":"{SITE}","sent_at":"{now}","events":[{{"message_id":""#)
            .into_bytes();
    invalid_utf8.extend_from_slice(&[0xc3, 0x28, 0xa0, 0xa1]);
    invalid_utf8.extend_from_slice(br#""}]}"#);
    let bodies: Vec<Vec<u8>> = vec![
        deep_array.into_bytes(),
        deep_props.into_bytes(),
        huge_string.into_bytes(),
        invalid_utf8,
        b"".to_vec(),
        b"null".to_vec(),
        b"\"\\ud800\"".to_vec(),
        format!(r#"{{"site_key":"{SITE}","sent_at":"{now}","events":[1e999999]}}"#).into_bytes(),
    ];
    for body in bodies {
        let r = edge.post(body, "application/json", None);
        assert!(
            r.status == 400 || r.status == 200,
            "{} {}",
            r.status,
            r.text
        );
        assert!(
            r.json["error"].is_string() || r.json["accepted"].is_number(),
            "{}",
            r.text
        );
        assert_eq!(edge.get("/healthz", None).status, 200);
    }
}

#[test]
fn unknown_routes_are_404_with_a_hint() {
    let edge = Edge::start();
    let r = edge.get("/v1/nope", None);
    r.assert_error(404, "not_found");
    assert!(r.json["message"].as_str().unwrap().contains("openapi"));
}
