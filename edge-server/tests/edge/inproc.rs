//! The same app, built in-process, with a sink that cannot store: the 503 path.

use std::sync::Arc;

use actix_web::test;
use footprint_edge::config::{Config, Overrides};
use footprint_edge::http::{self, AppState};
use footprint_edge::ingest::{EventSink, SystemClock};
use footprint_edge::store::{PendingWrite, Store, StoreError, SubmitError, WriteRequest};

use crate::util::{batch, config, now_iso, page_view, NO_LIMITS};

struct FullQueue;
impl EventSink for FullQueue {
    fn submit(&self, _: WriteRequest) -> Result<PendingWrite, SubmitError> {
        Err(SubmitError::Full)
    }
}

struct BrokenDisk;
impl EventSink for BrokenDisk {
    fn submit(&self, _: WriteRequest) -> Result<PendingWrite, SubmitError> {
        let (tx, rx) = tokio::sync::oneshot::channel();
        let _ = tx.send(Err(StoreError::Sled("No space left on device".into())));
        Ok(rx)
    }
}

async fn post_with(sink: Arc<dyn EventSink>) -> (u16, Option<String>, serde_json::Value) {
    let dir = tempfile::tempdir().unwrap();
    let cfg = Config::from_toml(&config(NO_LIMITS), &Overrides::default()).unwrap();
    let store = Store::open(dir.path(), &cfg.store).unwrap();
    let state = http::state(AppState::new(
        &cfg,
        store.clone(),
        sink,
        Arc::new(SystemClock),
    ));
    let app = test::init_service(http::app(state)).await;
    let req = test::TestRequest::post()
        .uri("/v1/batch")
        .insert_header(("content-type", "application/json"))
        .peer_addr("127.0.0.1:5555".parse().unwrap())
        .set_payload(batch(vec![page_view("m", "tr", &now_iso())]).to_string())
        .to_request();
    let resp = test::call_service(&app, req).await;
    let status = resp.status().as_u16();
    let retry = resp
        .headers()
        .get("retry-after")
        .map(|v| v.to_str().unwrap().to_owned());
    let body: serde_json::Value = test::read_body_json(resp).await;
    store.shutdown();
    (status, retry, body)
}

#[actix_web::test]
async fn a_full_write_queue_is_503_with_retry_after() {
    let (status, retry, body) = post_with(Arc::new(FullQueue)).await;
    assert_eq!(status, 503);
    assert_eq!(retry.as_deref(), Some("1"));
    assert_eq!(body["error"], "unavailable");
    assert!(
        body["message"].as_str().unwrap().contains("retry"),
        "{body}"
    );
}

#[actix_web::test]
async fn a_failing_disk_is_503_and_hides_the_detail() {
    let (status, retry, body) = post_with(Arc::new(BrokenDisk)).await;
    assert_eq!(status, 503);
    assert_eq!(retry.as_deref(), Some("5"));
    assert!(
        !body["message"].as_str().unwrap().contains("No space"),
        "{body}"
    );
}
