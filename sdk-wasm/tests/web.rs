//! The platform layer in a real headless Chromium (wasm-bindgen-test, driven by chromedriver;
//! `cargo xtask test` sets it up).
#![cfg(target_arch = "wasm32")]

use footprint_sdk::core::queue::{Queue, QueuedEvent};
use footprint_sdk::platform::LocalStorage;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

#[wasm_bindgen_test]
fn the_queue_survives_a_round_trip_through_local_storage() {
    let storage = LocalStorage::open().expect("localStorage in a normal page");
    let mut q = Queue::new(10, 1 << 16);
    q.push(QueuedEvent {
        message_id: "m1".into(),
        json: r#"{"message_id":"m1"}"#.into(),
    })
    .unwrap();
    q.push(QueuedEvent {
        message_id: "m2".into(),
        json: r#"{"message_id":"m2","t":"é\n"}"#.replace('\n', "\\n"),
    })
    .unwrap();
    storage.set("fp_test_queue", &q.encode()).unwrap();

    let stored = storage.get("fp_test_queue").expect("just written");
    let back = Queue::decode(&stored, 10, 1 << 16);
    assert_eq!(back.encode(), q.encode());
    storage.remove("fp_test_queue");
    assert_eq!(storage.get("fp_test_queue"), None);
}

#[wasm_bindgen_test]
fn a_full_quota_is_an_error_with_its_name() {
    let storage = LocalStorage::open().unwrap();
    // Far beyond any browser's localStorage quota (about 5 MB per origin).
    let huge = "x".repeat(12 * 1024 * 1024);
    let err = storage.set("fp_test_huge", &huge).unwrap_err();
    assert_eq!(err.name, "QuotaExceededError");
    storage.remove("fp_test_huge");
}
