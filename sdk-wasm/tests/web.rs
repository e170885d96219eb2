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

fn ev(id: &str) -> QueuedEvent {
    QueuedEvent {
        message_id: id.into(),
        json: format!("{{\"message_id\":\"{id}\"}}"),
    }
}

#[wasm_bindgen_test]
fn a_tabs_queue_is_found_again_by_its_next_page_and_orphans_are_adopted() {
    use footprint_sdk::platform::QueueStore;
    let local = LocalStorage::open().unwrap();
    let session = LocalStorage::session().unwrap();
    for k in local.keys("fp_") {
        local.remove(&k);
    }
    session.remove("fp_tab");
    let fresh = |s: &'static str| move || s.to_owned();

    // Page one of this tab queues two events and goes (pagehide).
    let mut one = QueueStore::open(1_000, 6_000, fresh("tab-a")).unwrap();
    let mut q = one.load();
    q.push(ev("m1")).unwrap();
    q.push(ev("m2")).unwrap();
    one.save(&q, 1);
    one.gone();

    // The reload: same tab id from sessionStorage, same queue.
    let mut two = QueueStore::open(2_000, 6_000, fresh("tab-b")).unwrap();
    assert_eq!(two.load().len(), 2, "the queue survives the reload");
    assert_eq!(session.get("fp_tab").as_deref(), Some("tab-a"));

    // A duplicated tab (same sessionStorage) while page two is alive takes a new id.
    let dup = QueueStore::open(2_500, 6_000, fresh("tab-c")).unwrap();
    assert_eq!(session.get("fp_tab").as_deref(), Some("tab-c"));
    assert!(
        dup.adopt_orphans(2_500).is_empty(),
        "a live page's queue is not an orphan"
    );

    // Page two closes; another tab adopts its queue, and the key is gone.
    two.gone();
    let adopted = dup.adopt_orphans(3_000);
    assert_eq!(adopted.len(), 1);
    assert_eq!(adopted[0].len(), 2);
    assert!(local.get("fp_q:tab-a").is_none());
    assert!(dup.adopt_orphans(3_000).is_empty(), "adopted once");
    session.remove("fp_tab");
}

/// Lets the tracker's end-of-task storage write run.
async fn next_microtask() {
    let _ = wasm_bindgen_futures::JsFuture::from(js_sys::Promise::resolve(
        &wasm_bindgen::JsValue::NULL,
    ))
    .await;
}

#[wasm_bindgen_test]
async fn opting_out_purges_the_stored_queue_and_is_remembered() {
    use footprint_sdk::tracker::{init, is_opted_out, opt_in, opt_out, queued, running, track};
    use wasm_bindgen::JsValue;
    let local = LocalStorage::open().unwrap();
    for k in local.keys("fp_") {
        local.remove(&k);
    }
    let config = js_sys::JSON::parse(
        r#"{"endpoint":"http://127.0.0.1:9","siteKey":"test-shop","autoPageviews":false,"flushIntervalMs":600000}"#,
    )
    .unwrap();
    // What index.js and the loader pass: the module's `dispatch` export, as JavaScript sees
    // it. A test links the crate into its own module, so it wraps the Rust function instead.
    let dispatch = wasm_bindgen::closure::Closure::<
        dyn FnMut(u32, JsValue, JsValue, JsValue) -> JsValue,
    >::new(footprint_sdk::tracker::dispatch)
    .into_js_value();
    assert!(
        !init(config.clone(), JsValue::UNDEFINED),
        "init needs dispatch"
    );
    assert!(init(config, dispatch), "init refused the config");
    assert!(running());
    assert_eq!(track(JsValue::from_str("before"), JsValue::UNDEFINED), true);
    assert_eq!(queued(), 1);
    next_microtask().await;
    let stored = local.keys("fp_q:");
    assert_eq!(stored.len(), 1, "queued events are stored");
    assert_eq!(opt_out(), true);
    assert_eq!(queued(), 0);
    assert!(
        local.get(&stored[0]).is_none(),
        "the stored queue is purged"
    );
    assert_eq!(local.get("fp_optout").as_deref(), Some("1"), "remembered");
    assert_eq!(track(JsValue::from_str("after"), JsValue::UNDEFINED), false);
    assert_eq!(is_opted_out(), true);
    opt_in();
    assert!(local.get("fp_optout").is_none());
    assert_eq!(track(JsValue::from_str("again"), JsValue::UNDEFINED), true);
}
