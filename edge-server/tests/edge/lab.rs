//! The app in-process over a real store, with a clock the test moves, and builders of
//! tracker events: shared by the contact and admin-operation tests.

use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::Arc;

use actix_web::test as web_test;
use footprint_edge::config::{Config, Overrides};
use footprint_edge::http::{self, AppState};
use footprint_edge::ingest::{BatchRequest, Clock, Ingest};
use footprint_edge::store::Store;
use footprint_protocol::{BatchResponse, Timestamp};
use serde_json::{json, Value};

use crate::util::{config, NO_LIMITS, SITE, TOKEN};

/// Tokens of the other two roles; [`TOKEN`] is an admin's.
pub const VIEWER: &str = "test-viewer-token-0123456789";
pub const EDITOR: &str = "test-editor-token-0123456789";

/// 2026-11-20T10:00:00Z.
pub const T0: i64 = 1_795_168_800_000;
pub const MIN: i64 = 60_000;
pub const DAY: i64 = 86_400_000;

/// A response as a browser sees it.
#[derive(Debug)]
pub struct Page {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Page {
    /// Every value of header `name`.
    pub fn header(&self, name: &str) -> Vec<&str> {
        self.headers
            .iter()
            .filter(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
            .collect()
    }
}

pub struct TestClock(pub AtomicI64);

impl Clock for TestClock {
    fn now(&self) -> Timestamp {
        Timestamp::from_millis(self.0.load(Ordering::SeqCst)).unwrap()
    }
}

static NEXT_ID: AtomicU64 = AtomicU64::new(1);

pub fn iso(ms: i64) -> String {
    Timestamp::from_millis(ms).unwrap().to_string()
}

/// An event of `tracker` at `at`.
pub fn ev(tracker: &str, ty: &str, at: i64, props: Value) -> Value {
    let n = NEXT_ID.fetch_add(1, Ordering::SeqCst);
    json!({
        "message_id": format!("m{n}"), "tracker_id": tracker, "type": ty,
        "timestamp": iso(at),
        "context": {"user_agent": format!("agent-of-{tracker}")},
        "properties": props
    })
}

pub fn page(tracker: &str, at: i64) -> Value {
    ev(
        tracker,
        "page_view",
        at,
        json!({"url": "https://shop.test/", "path": "/"}),
    )
}

pub fn product(tracker: &str, at: i64, id: &str) -> Value {
    ev(
        tracker,
        "product_view",
        at,
        json!({"product_id": id, "name": format!("Product {id}"), "price": 10.5, "currency": "EUR"}),
    )
}

pub fn cart(tracker: &str, at: i64, total: f64) -> Value {
    ev(
        tracker,
        "cart_update",
        at,
        json!({"cart": {"items": [{"product_id": "p1", "name": "Product p1", "price": total, "quantity": 1}],
                         "total": total, "currency": "EUR"}}),
    )
}

pub fn purchase(tracker: &str, at: i64, order: &str, total: f64) -> Value {
    ev(
        tracker,
        "purchase",
        at,
        json!({"order_id": order, "items": [{"product_id": "p1", "name": "Product p1", "price": total, "quantity": 1}],
               "total": total, "currency": "EUR"}),
    )
}

pub fn identify(tracker: &str, at: i64, traits: Value) -> Value {
    ev(tracker, "identify", at, traits)
}

/// The app in-process over a real store, with a clock the test moves.
pub struct Lab {
    dir: tempfile::TempDir,
    pub store: Store,
    pub ingest: Ingest,
    pub clock: Arc<TestClock>,
    pub state: actix_web::web::Data<AppState>,
}

impl Lab {
    pub fn new() -> Lab {
        Lab::in_dir(tempfile::tempdir().unwrap())
    }

    /// A lab over `dir`, which may hold a data directory's secrets already.
    pub fn in_dir(dir: tempfile::TempDir) -> Lab {
        Lab::configured(dir, "")
    }

    /// A lab whose test site has `points` as its `[sites.points]` table (TOML).
    pub fn with_points(points: &str) -> Lab {
        Lab::configured(tempfile::tempdir().unwrap(), points)
    }

    fn configured(dir: tempfile::TempDir, points: &str) -> Lab {
        let roles = format!(
            "[[admins]]\nname = \"vera\"\ntoken = \"{VIEWER}\"\nrole = \"viewer\"\n\
             [[admins]]\nname = \"eddie\"\ntoken = \"{EDITOR}\"\nrole = \"editor\"\n{NO_LIMITS}"
        );
        let mut text = config(&roles);
        if !points.is_empty() {
            // The test site's table, right after its own keys.
            let site = format!(
                "key = \"{SITE}\"\norigins = [\"{}\"]\n",
                crate::util::ORIGIN
            );
            text = text.replacen(&site, &format!("{site}{points}\n"), 1);
        }
        let cfg = Config::from_toml(&text, &Overrides::default()).unwrap();
        let store = Store::open(dir.path(), &cfg.store).unwrap();
        let clock = Arc::new(TestClock(AtomicI64::new(T0)));
        let state = http::state(AppState::new(
            &cfg,
            store.clone(),
            Arc::new(store.clone()),
            clock.clone(),
        ));
        Lab {
            dir,
            ingest: Ingest::new(&cfg, Arc::new(store.clone()), clock.clone()),
            store,
            clock,
            state,
        }
    }

    /// The store's data directory.
    pub fn data_dir(&self) -> &std::path::Path {
        self.dir.path()
    }

    pub fn set_now(&self, ms: i64) {
        self.clock.0.store(ms, Ordering::SeqCst);
    }

    /// Posts `events` as one batch sent now, through the ingest domain and the real store.
    pub async fn send(&self, events: Vec<Value>) -> BatchResponse {
        let now = self.clock.now();
        let body = json!({"site_key": SITE, "sent_at": iso(now.as_millis()), "events": events})
            .to_string();
        self.ingest
            .ingest(BatchRequest {
                origin: None,
                content_type: Some("application/json"),
                body: body.as_bytes(),
            })
            .await
            .unwrap()
    }

    /// Posts `events` as a shop's server would, to `POST /v1/server/batch` with `key`.
    pub async fn server(&self, key: &str, events: Vec<Value>) -> (u16, Value) {
        let now = self.clock.now();
        let body = json!({"site_key": SITE, "sent_at": iso(now.as_millis()), "events": events});
        self.call("POST", "/v1/server/batch", key, Some(body)).await
    }

    pub async fn get(&self, path: &str) -> (u16, Value) {
        self.call("GET", path, TOKEN, None).await
    }

    /// A request's body as text, which must answer 200.
    pub async fn raw(&self, method: &str, path: &str, token: &str) -> String {
        let (status, body) = self.respond(method, path, token, None).await;
        assert_eq!(status, 200, "{method} {path}");
        String::from_utf8(body).unwrap()
    }

    /// Any request, as the holder of `token`, with an optional JSON body.
    pub async fn call(
        &self,
        method: &str,
        path: &str,
        token: &str,
        body: Option<Value>,
    ) -> (u16, Value) {
        let (status, body) = self.respond(method, path, token, body).await;
        (status, serde_json::from_slice(&body).unwrap_or(Value::Null))
    }

    async fn respond(
        &self,
        method: &str,
        path: &str,
        token: &str,
        body: Option<Value>,
    ) -> (u16, Vec<u8>) {
        let body = body.map(|b| ("application/json", b.to_string().into_bytes()));
        self.bytes(method, path, token, body).await
    }

    /// Any request with any body (`(content type, bytes)`); the answer's status and bytes.
    pub async fn bytes(
        &self,
        method: &str,
        path: &str,
        token: &str,
        body: Option<(&str, Vec<u8>)>,
    ) -> (u16, Vec<u8>) {
        let app = web_test::init_service(http::app(self.state.clone())).await;
        let mut req = web_test::TestRequest::default()
            .method(method.parse().unwrap())
            .uri(path)
            .insert_header(("authorization", format!("Bearer {token}")));
        if let Some((content_type, b)) = body {
            req = req
                .insert_header(("content-type", content_type))
                .set_payload(b);
        }
        let resp = web_test::call_service(&app, req.to_request()).await;
        let status = resp.status().as_u16();
        (status, web_test::read_body(resp).await.to_vec())
    }

    /// A browser's request: no bearer token, only the cookies and headers given.
    pub async fn browse(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: Option<(&str, Vec<u8>)>,
    ) -> Page {
        let app = web_test::init_service(http::app(self.state.clone())).await;
        let mut req = web_test::TestRequest::default()
            .method(method.parse().unwrap())
            .uri(path);
        for (k, v) in headers {
            req = req.insert_header((*k, *v));
        }
        if let Some((content_type, b)) = body {
            req = req
                .insert_header(("content-type", content_type))
                .set_payload(b);
        }
        let resp = web_test::call_service(&app, req.to_request()).await;
        let status = resp.status().as_u16();
        let headers = resp
            .headers()
            .iter()
            .map(|(k, v)| (k.as_str().to_owned(), v.to_str().unwrap_or("").to_owned()))
            .collect();
        let body = web_test::read_body(resp).await.to_vec();
        Page {
            status,
            headers,
            body: String::from_utf8_lossy(&body).into_owned(),
        }
    }

    pub async fn sheet(&self, id: &str) -> Value {
        let (status, body) = self.get(&format!("/v1/contacts/{id}")).await;
        assert_eq!(status, 200, "{body}");
        body
    }

    pub async fn contact_of(&self, tracker: &str) -> String {
        let (status, body) = self.get(&format!("/v1/trackers/{tracker}/contact")).await;
        assert_eq!(status, 200, "{body}");
        body["contact"]["id"].as_str().unwrap().to_owned()
    }

    pub async fn activity(&self, id: &str, query: &str) -> Vec<Value> {
        let (status, body) = self
            .get(&format!("/v1/contacts/{id}/activity?{query}"))
            .await;
        assert_eq!(status, 200, "{body}");
        body["events"].as_array().unwrap().clone()
    }
}
