use serde_json::Value;

use crate::util::*;

#[test]
fn tracker_events_need_a_valid_token() {
    let edge = Edge::start();
    let path = "/v1/trackers/tr-1/events";
    let r = edge.get(path, None);
    r.assert_error(401, "unauthorized");
    assert_eq!(r.header("www-authenticate"), Some("Bearer"));
    edge.get(path, Some("wrong-token"))
        .assert_error(401, "unauthorized");
    edge.get(path, Some(&TOKEN[..TOKEN.len() - 1]))
        .assert_error(401, "unauthorized");
    assert_eq!(edge.get(path, Some(TOKEN)).status, 200);
}

#[test]
fn admin_tokens_never_reach_the_log() {
    let mut edge = Edge::start();
    edge.get("/v1/trackers/tr-1/events", Some(TOKEN));
    edge.get("/v1/trackers/tr-1/events", Some("a-wrong-token-value"));
    let _ = edge.sigterm();
    let log = edge.log();
    assert!(
        log.contains("/v1/trackers/tr-1/events"),
        "requests are logged:\n{log}"
    );
    assert!(
        !log.contains(TOKEN) && !log.contains("a-wrong-token-value"),
        "{log}"
    );
}

#[test]
fn pages_walk_every_event_newest_first_across_requests() {
    let edge = Edge::start();
    let now = now_iso();
    for b in 0..3 {
        let events: Vec<Value> = (0..3)
            .map(|i| page_view(&format!("p-{b}-{i}"), "tr-page", &now))
            .collect();
        assert_eq!(edge.post_json(&batch(events)).json["accepted"], 3);
    }
    let mut seen = Vec::new();
    let mut path = "/v1/trackers/tr-page/events?limit=2".to_owned();
    loop {
        let r = edge.get(&path, Some(TOKEN));
        assert_eq!(r.status, 200, "{}", r.text);
        let events = r.json["events"].as_array().unwrap();
        assert!(events.len() <= 2);
        seen.extend(
            events
                .iter()
                .map(|e| e["message_id"].as_str().unwrap().to_owned()),
        );
        match r.json["next"].as_str() {
            Some(c) => path = format!("/v1/trackers/tr-page/events?limit=2&before={c}"),
            None => break,
        }
    }
    let want: Vec<String> = (0..3)
        .rev()
        .flat_map(|b| (0..3).rev().map(move |i| format!("p-{b}-{i}")))
        .collect();
    assert_eq!(seen, want);
}

#[test]
fn bad_paging_parameters_are_400() {
    let edge = Edge::start();
    edge.get("/v1/trackers/tr/events?before=zzz", Some(TOKEN))
        .assert_error(400, "invalid_cursor");
    edge.get("/v1/trackers/tr/events?limit=0", Some(TOKEN))
        .assert_error(400, "invalid_limit");
    edge.get("/v1/trackers/tr/events?limit=9999", Some(TOKEN))
        .assert_error(400, "invalid_limit");
    edge.get("/v1/trackers/tr/events?limit=-1", Some(TOKEN))
        .assert_error(400, "invalid_query");
    edge.get("/v1/trackers/bad%20id/events", Some(TOKEN))
        .assert_error(400, "invalid_tracker_id");
}

#[test]
fn health_and_readiness_answer() {
    let edge = Edge::start();
    assert_eq!(edge.get("/healthz", None).json["status"], "up");
    assert_eq!(edge.get("/readyz", None).json["status"], "ready");
}

#[test]
fn the_openapi_document_describes_every_route() {
    let edge = Edge::start();
    let r = edge.get("/v1/openapi.json", None);
    assert_eq!(r.status, 200);
    assert_eq!(
        r.json["openapi"].as_str().map(|v| v.starts_with("3.")),
        Some(true),
        "{}",
        r.text
    );
    let paths = r.json["paths"].as_object().unwrap();
    for p in [
        "/v1/batch",
        "/v1/server/batch",
        "/v1/trackers/{tracker_id}/events",
        "/v1/trackers/{tracker_id}/contact",
        "/v1/contacts",
        "/v1/contacts/{id}",
        "/v1/contacts/{id}/activity",
        "/v1/contacts/{id}/history",
        "/v1/contacts/{id}/merge",
        "/v1/contacts/export.csv",
        "/v1/contacts/bulk",
        "/v1/contacts/import",
        "/v1/contacts/{id}/extract",
        "/v1/admin/compact",
        "/v1/admin/backup",
        "/metrics",
        "/v1/segments",
        "/v1/segments/{id}",
        "/v1/segments/{id}/members",
        "/v1/segments/{id}/members/{contact}",
        "/v1/segments/sizes",
        "/v1/segments/preview",
        "/v1/contacts/counts",
        "/v1/contacts/rfm_grid",
        "/healthz",
        "/readyz",
        "/v1/openapi.json",
    ] {
        assert!(paths.contains_key(p), "missing {p}");
    }
    assert!(paths["/v1/batch"]["options"].is_object());
    assert!(paths["/v1/contacts/{id}"]["patch"].is_object());
    assert!(paths["/v1/contacts/{id}"]["delete"].is_object());
    for status in [
        "200", "400", "401", "403", "408", "413", "415", "429", "503",
    ] {
        assert!(
            paths["/v1/batch"]["post"]["responses"][status].is_object(),
            "missing {status}"
        );
    }
}
