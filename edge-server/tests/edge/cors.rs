use crate::util::*;

fn preflight(edge: &Edge, origin: &str) -> Resp {
    let r = edge
        .client
        .request(reqwest::Method::OPTIONS, format!("{}/v1/batch", edge.url))
        .header("origin", origin)
        .header("access-control-request-method", "POST")
        .header("access-control-request-headers", "content-type")
        .send()
        .unwrap();
    Resp::from(r)
}

#[test]
fn a_preflight_from_a_site_origin_is_allowed_and_echoed() {
    let edge = Edge::start();
    let r = preflight(&edge, ORIGIN);
    assert_eq!(r.status, 204, "{}", r.text);
    assert_eq!(r.header("access-control-allow-origin"), Some(ORIGIN));
    assert!(r
        .header("access-control-allow-methods")
        .unwrap()
        .contains("POST"));
    assert!(r
        .header("access-control-allow-headers")
        .unwrap()
        .contains("content-type"));
    assert_eq!(r.header("vary"), Some("Origin"));
}

#[test]
fn a_preflight_from_an_unknown_origin_is_denied_without_cors_headers() {
    let edge = Edge::start();
    let r = preflight(&edge, "http://evil.test");
    r.assert_error(403, "origin_not_allowed");
    assert_eq!(r.header("access-control-allow-origin"), None);
}

#[test]
fn a_post_from_the_sites_origin_is_echoed() {
    let edge = Edge::start();
    let b = batch(vec![page_view("cors-1", "tr-cors", &now_iso())]);
    let r = edge.post(b.to_string(), "application/json", Some(ORIGIN));
    assert_eq!(r.status, 200);
    assert_eq!(r.header("access-control-allow-origin"), Some(ORIGIN));
}

#[test]
fn errors_to_an_allowed_origin_are_readable_by_the_tracker() {
    let edge = Edge::start();
    let r = edge.post("{oops", "text/plain", Some(ORIGIN));
    r.assert_error(400, "invalid_json");
    assert_eq!(r.header("access-control-allow-origin"), Some(ORIGIN));
}
