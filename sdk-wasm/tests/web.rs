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

mod identity {
    use footprint_sdk::core::identity::{read_cookie, STORAGE_KEY};
    use footprint_sdk::platform::{tracker_id, CookieJar, LocalStorage};
    use wasm_bindgen_test::*;

    fn clear_cookie() {
        CookieJar::open()
            .unwrap()
            .set("fp_tid=; Max-Age=0; Path=/")
            .unwrap();
    }

    fn cookie() -> Option<String> {
        read_cookie(&CookieJar::open().unwrap().all()).map(str::to_owned)
    }

    // One test, in steps: the cookie jar and storage are shared by every test in the page.
    #[wasm_bindgen_test]
    fn the_tracker_id_persists_and_either_store_restores_the_other() {
        let storage = LocalStorage::open().unwrap();
        clear_cookie();
        storage.remove(STORAGE_KEY);

        let id = tracker_id(None).unwrap();
        assert!(footprint_sdk::protocol::TrackerId::new(id.clone()).is_ok());
        assert_eq!(id.as_bytes()[14], b'7', "a UUIDv7: {id}");
        assert_eq!(cookie().as_deref(), Some(id.as_str()));
        assert_eq!(storage.get(STORAGE_KEY).as_deref(), Some(id.as_str()));
        assert_eq!(
            tracker_id(None).unwrap(),
            id,
            "kept across calls, as across reloads"
        );

        clear_cookie();
        assert_eq!(cookie(), None);
        assert_eq!(tracker_id(None).unwrap(), id, "restored from storage");
        assert_eq!(
            cookie().as_deref(),
            Some(id.as_str()),
            "and the cookie is back"
        );

        storage.remove(STORAGE_KEY);
        assert_eq!(tracker_id(None).unwrap(), id, "restored from the cookie");
        assert_eq!(storage.get(STORAGE_KEY).as_deref(), Some(id.as_str()));

        clear_cookie();
        storage.remove(STORAGE_KEY);
        assert_ne!(tracker_id(None).unwrap(), id, "both cleared: a new tracker");
    }
}
