//! What a hostile client did to the edge, each as a regression test named after what broke:
//! compressed bodies inflated before any sign-in, bodies that never finish, a client that
//! picks its own IP, and tokens guessed online.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use crate::util::*;

/// The edge's resident memory, in KiB.
fn rss_kib(pid: i32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .unwrap()
}

/// 200 MB of one byte, gzipped: about 200 KB on the wire.
fn gzip_bomb() -> Vec<u8> {
    use flate2::write::GzEncoder;
    let mut gz = GzEncoder::new(Vec::new(), flate2::Compression::best());
    let chunk = vec![b'a'; 1 << 20];
    for _ in 0..200 {
        gz.write_all(&chunk).unwrap();
    }
    gz.finish().unwrap()
}

#[test]
fn a_gzip_body_is_refused_unread_instead_of_inflated_before_sign_in() {
    let edge = Edge::start();
    let bomb = gzip_bomb();
    assert!(bomb.len() < 400 * 1024, "{}", bomb.len());
    let before = rss_kib(edge.pid());
    for _ in 0..20 {
        let r = edge
            .client
            .post(format!("{}/admin/login", edge.url))
            .header("content-type", "application/x-www-form-urlencoded")
            .header("content-encoding", "gzip")
            .body(bomb.clone())
            .send()
            .unwrap();
        assert_eq!(r.status().as_u16(), 415);
        let text = r.text().unwrap();
        assert!(
            text.contains("<html") && text.contains("uncompressed"),
            "{text}"
        );
    }
    let r = Resp::from(
        edge.client
            .post(format!("{}/v1/batch", edge.url))
            .header("content-type", "application/json")
            .header("content-encoding", "gzip")
            .body(bomb.clone())
            .send()
            .unwrap(),
    );
    r.assert_error(415, "unsupported_encoding");
    let r = Resp::from(
        edge.client
            .patch(format!("{}/v1/contacts/1", edge.url))
            .bearer_auth(TOKEN)
            .header("content-type", "application/json")
            .header("content-encoding", "br")
            .body("{}")
            .send()
            .unwrap(),
    );
    r.assert_error(415, "unsupported_encoding");
    let grown = rss_kib(edge.pid()).saturating_sub(before);
    // Inflating even one bomb costs ~130 MB; refusing 21 unread costs next to nothing.
    assert!(grown < 64 * 1024, "RSS grew by {grown} KiB");
    // `identity` is no encoding at all.
    let ok = edge
        .client
        .post(format!("{}/v1/batch", edge.url))
        .header("content-type", "application/json")
        .header("content-encoding", "identity")
        .body(batch(vec![page_view("m-identity", "t-identity", &now_iso())]).to_string())
        .send()
        .unwrap();
    assert_eq!(ok.status().as_u16(), 200);
}

#[test]
fn a_body_that_never_finishes_gets_408_and_frees_its_connection() {
    let edge = Edge::start_with(&config(&format!(
        "{NO_LIMITS}[server]\nbody_timeout_seconds = 1\n"
    )));
    let addr = edge.url.strip_prefix("http://").unwrap().to_owned();
    // Many connections that send their headers and a first byte, then nothing.
    let mut slow = Vec::new();
    for i in 0..300 {
        let mut s = TcpStream::connect(&addr).unwrap();
        let (path, content_type) = if i % 2 == 0 {
            ("/v1/batch", "application/json")
        } else {
            ("/admin/login", "application/x-www-form-urlencoded")
        };
        write!(
            s,
            "POST {path} HTTP/1.1\r\nHost: x\r\nContent-Type: {content_type}\r\n\
             Content-Length: 1000\r\n\r\n{{"
        )
        .unwrap();
        s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
        slow.push(s);
    }
    // The edge still answers others while they hang.
    let r = edge.get("/healthz", None);
    assert_eq!(r.status, 200);
    for mut s in slow {
        let mut answer = String::new();
        // The edge answers 408 and closes: read_to_string ends.
        s.read_to_string(&mut answer).unwrap();
        assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    }
    let r = edge.post_json(&batch(vec![page_view("m-after", "t-after", &now_iso())]));
    assert_eq!(r.status, 200, "{}", r.text);
}

/// A one-event batch as a proxy forwards it, with `X-Forwarded-For: xff`.
fn forwarded(edge: &Edge, message_id: &str, xff: &str) -> Resp {
    Resp::from(
        edge.client
            .post(format!("{}/v1/batch", edge.url))
            .header("content-type", "application/json")
            .header("x-forwarded-for", xff)
            .body(batch(vec![page_view(message_id, "t-xff", &now_iso())]).to_string())
            .send()
            .unwrap(),
    )
}

#[test]
fn the_leftmost_x_forwarded_for_entry_cannot_pick_the_rate_limit_key() {
    let edge = Edge::start_with(&config(
        "[rate_limit]\nper_ip_per_second = 1\nper_ip_burst = 3\ntrust_forwarded_for = true\n",
    ));
    let send = |i: usize, xff: &str| forwarded(&edge, &format!("m-x{i}"), xff);
    // The client invents a new leftmost entry each time; our proxy appended 203.0.113.9.
    for i in 0..3 {
        let r = send(i, &format!("198.51.100.{i}, 203.0.113.9"));
        assert_eq!(r.status, 200, "{}", r.text);
    }
    send(3, "198.51.100.77, 203.0.113.9").assert_error(429, "rate_limited");
    // Another client behind the same proxy is another key.
    let r = send(4, "198.51.100.77, 203.0.113.10");
    assert_eq!(r.status, 200, "{}", r.text);
}

#[test]
fn ipv6_clients_of_one_slash_64_share_one_rate_limit() {
    let edge = Edge::start_with(&config(
        "[rate_limit]\nper_ip_per_second = 1\nper_ip_burst = 2\ntrust_forwarded_for = true\n",
    ));
    let send = |i: usize, ip: &str| forwarded(&edge, &format!("m-v6{i}"), ip);
    assert_eq!(send(0, "2001:db8:7:7::1").status, 200);
    assert_eq!(send(1, "2001:db8:7:7:1234::99").status, 200);
    send(2, "2001:db8:7:7:ffff:ffff:ffff:ffff").assert_error(429, "rate_limited");
    assert_eq!(send(3, "2001:db8:7:8::1").status, 200);
}

#[test]
fn wrong_tokens_are_throttled_per_client_on_the_api_and_the_console() {
    let edge = Edge::start_with(&config(&format!(
        "{NO_LIMITS}auth_failures_per_minute = 3\n"
    )));
    for _ in 0..3 {
        edge.get("/v1/contacts", Some("wrong-token-wrong-token-wrong"))
            .assert_error(401, "unauthorized");
    }
    // Spent: even the right token is refused unseen, with the time to wait.
    let r = edge.get("/v1/contacts", Some(TOKEN));
    r.assert_error(429, "rate_limited");
    let wait: u64 = r.header("retry-after").unwrap().parse().unwrap();
    assert!((1..=60).contains(&wait), "{wait}");
    // The console's sign-in counts against the same client.
    let form = edge
        .client
        .get(format!("{}/admin/login", edge.url))
        .send()
        .unwrap();
    let cookie = form
        .headers()
        .get_all("set-cookie")
        .iter()
        .find_map(|c| c.to_str().ok()?.strip_prefix("fp_login="))
        .map(|c| c.split(';').next().unwrap().to_owned())
        .unwrap();
    let r = edge
        .client
        .post(format!("{}/admin/login", edge.url))
        .header("cookie", format!("fp_login={cookie}"))
        .form(&[("csrf", cookie.as_str()), ("token", TOKEN)])
        .send()
        .unwrap();
    assert_eq!(r.status().as_u16(), 429);
    assert!(r.headers().get("retry-after").is_some());
    // No token at all is not a guess: it is still a plain 401.
    edge.get("/v1/contacts", None)
        .assert_error(401, "unauthorized");
}

#[test]
fn the_admin_redirect_and_the_json_api_send_their_security_headers() {
    let edge = Edge::start();
    let no_redirect = reqwest::blocking::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let r = no_redirect
        .get(format!("{}/admin", edge.url))
        .send()
        .unwrap();
    assert_eq!(r.status().as_u16(), 303);
    let h = r.headers();
    assert!(h
        .get("content-security-policy")
        .is_some_and(|v| v.to_str().unwrap().contains("frame-ancestors 'none'")));
    assert_eq!(h.get("x-frame-options").unwrap(), "DENY");
    for path in ["/v1/contacts", "/healthz", "/v1/nothing"] {
        let r = edge.get(path, Some(TOKEN));
        assert_eq!(
            r.header("x-content-type-options"),
            Some("nosniff"),
            "{path}"
        );
    }
}

#[test]
fn json_logs_carry_the_same_fields_as_the_text_lines() {
    let mut edge = Edge::start();
    edge.kill9();
    edge.args = vec!["--log-format".into(), "json".into()];
    edge.spawn();
    assert_eq!(edge.get("/healthz", None).status, 200);
    edge.sigterm();
    let log = edge.log();
    // The first start wrote text lines; every line of the second is one JSON object.
    let json_lines: Vec<serde_json::Value> = log
        .lines()
        .filter(|l| l.starts_with('{'))
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect();
    let request = json_lines
        .iter()
        .find(|l| l["path"] == "/healthz")
        .unwrap_or_else(|| panic!("no request line in:\n{log}"));
    assert_eq!(request["message"], "request");
    assert_eq!(request["method"], "GET");
    assert_eq!(request["status"], 200);
    assert!(request["latency_ms"].is_f64());
    assert_eq!(request["level"], "INFO");
    assert!(request["timestamp"].is_string());
    assert!(json_lines.iter().any(|l| l["message"] == "listening"));
}

#[test]
fn metrics_count_requests_events_and_the_writer_for_prometheus() {
    let edge = Edge::start();
    let r = edge.post_json(&batch(vec![
        page_view("m-metrics-1", "t-metrics", &now_iso()),
        page_view("m-metrics-2", "t-metrics", &now_iso()),
    ]));
    assert_eq!(r.status, 200, "{}", r.text);
    let r = edge.post_json(&batch(vec![page_view(
        "m-metrics-1",
        "t-metrics",
        &now_iso(),
    )]));
    assert_eq!(r.json["duplicates"], 1);
    assert_eq!(edge.get("/v1/contacts/42", Some(TOKEN)).status, 404);
    edge.get("/metrics", None).assert_error(401, "unauthorized");
    let m = edge.get("/metrics", Some(TOKEN));
    assert_eq!(m.status, 200);
    assert!(m
        .header("content-type")
        .unwrap()
        .starts_with("text/plain; version=0.0.4"));
    let value = |needle: &str| -> f64 {
        m.text
            .lines()
            .find(|l| l.starts_with(needle))
            .unwrap_or_else(|| panic!("no {needle} in:\n{}", m.text))
            .rsplit(' ')
            .next()
            .unwrap()
            .parse()
            .unwrap()
    };
    assert_eq!(value("footprint_events_total{outcome=\"accepted\"}"), 2.0);
    assert_eq!(value("footprint_events_total{outcome=\"duplicate\"}"), 1.0);
    // Routes by pattern, so an id never makes a series of its own.
    assert_eq!(
        value("footprint_http_requests_total{route=\"/v1/contacts/{id}\",method=\"GET\",status=\"404\"}"),
        1.0
    );
    assert_eq!(
        value("footprint_http_requests_total{route=\"/v1/batch\",method=\"POST\",status=\"200\"}"),
        2.0
    );
    assert!(m
        .text
        .contains("footprint_http_request_duration_seconds_bucket{"));
    assert!(value("footprint_group_commit_events_count") >= 2.0);
    assert!(value("footprint_group_apply_seconds_count") >= 2.0);
    assert!(value("footprint_flush_seconds_count") >= 1.0);
    assert_eq!(value("footprint_writer_queue_depth"), 0.0);
    assert!(value("footprint_store_bytes") > 0.0);
    assert!(value("process_resident_memory_bytes") > 1e6);
}
