//! Sending batches: `fetch` while the page lives, `sendBeacon` when it is going away.
//!
//! Bodies go as `text/plain`, a CORS "simple" request: no preflight, so one round trip per
//! batch, and the same content type that `sendBeacon` uses. Credentials are omitted: the edge
//! identifies the browser by the tracker id in the events, never by cookies.

use alloc::string::String;

use js_sys::Promise;
use wasm_bindgen::{JsCast, JsValue};

use super::{prop, settle, window, Cb};

/// What came back from a send: the status (`None` for a network error or CORS failure) and
/// any `Retry-After` the edge exposed.
pub struct Reply {
    pub status: Option<u16>,
    pub retry_after: Option<String>,
}

impl Reply {
    /// Reads a settled fetch: a `Response` for [`Cb::Sent`], anything else is a failure.
    pub fn read(response: &JsValue) -> Reply {
        // A fetch settles with a `Response` or rejects with an error, which has no status.
        match prop(response, "status").as_f64() {
            Some(status) => Reply {
                status: Some(status as u16),
                retry_after: response
                    .unchecked_ref::<web_sys::Response>()
                    .headers()
                    .get("Retry-After")
                    .ok()
                    .flatten(),
            },
            None => Reply {
                status: None,
                retry_after: None,
            },
        }
    }
}

/// Posts `body` to `url`. A send the page waits for settles with [`Cb::Sent`] (the
/// `Response`) or [`Cb::SendFailed`]; a `keepalive` one, made as the page goes, is not
/// waited for.
pub fn post(url: &str, body: &str, keepalive: bool) {
    let fetched: Option<Promise> = window().map(|w| {
        let init = web_sys::RequestInit::new();
        init.set_method("POST");
        init.set_body(&JsValue::from_str(body));
        init.set_mode(web_sys::RequestMode::Cors);
        init.set_credentials(web_sys::RequestCredentials::Omit);
        // `keepalive` is not in web-sys's stable RequestInit yet; it is in every current browser.
        let _ = js_sys::Reflect::set(&init, &JsValue::from_str("keepalive"), &keepalive.into());
        w.fetch_with_str_and_init(url, &init)
    });
    let (ok, failed) = if keepalive {
        (Cb::Ignore, Cb::Ignore)
    } else {
        (Cb::Sent, Cb::SendFailed)
    };
    // No window: a network failure, reported later, as fetch would.
    let settled = fetched.unwrap_or_else(|| Promise::reject(&JsValue::UNDEFINED));
    settle(&settled, ok, failed);
}

/// Hands a body to the browser to deliver after the page is gone. False when the browser
/// refused it (over its quota, or no `sendBeacon`).
pub fn beacon(url: &str, body: &str) -> bool {
    window()
        .filter(|w| prop(&w.navigator(), "sendBeacon").is_function())
        .and_then(|w| w.navigator().send_beacon_with_opt_str(url, Some(body)).ok())
        .unwrap_or(false)
}
