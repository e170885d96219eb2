//! Sending batches: `fetch` while the page lives, `sendBeacon` when it is going away.
//!
//! Bodies go as `text/plain`, a CORS "simple" request: no preflight, so one round trip per
//! batch, and the same content type that `sendBeacon` uses. Credentials are omitted: the edge
//! identifies the browser by the tracker id in the events, never by cookies.
//!
//! Callbacks rather than `async`: the futures runtime would be about a tenth of the wasm.

use wasm_bindgen::JsCast;

/// What came back from a send: the status (`None` for a network error or CORS failure) and
/// any `Retry-After` the edge exposed.
pub struct Reply {
    pub status: Option<u16>,
    pub retry_after: Option<String>,
}

/// Posts `body` to `url` and calls `done` with the reply, once.
pub fn post(url: &str, body: &str, keepalive: bool, done: impl FnOnce(Reply) + 'static) {
    let failed = || Reply {
        status: None,
        retry_after: None,
    };
    let Some(window) = web_sys::window() else {
        return done(failed());
    };
    let init = web_sys::RequestInit::new();
    init.set_method("POST");
    init.set_body(&body.into());
    init.set_mode(web_sys::RequestMode::Cors);
    init.set_credentials(web_sys::RequestCredentials::Omit);
    if keepalive {
        // `keepalive` is not in web-sys's stable RequestInit yet; it is in every current browser.
        let _ = js_sys::Reflect::set(&init, &"keepalive".into(), &true.into());
    }
    let fetched = window.fetch_with_str_and_init(url, &init);
    super::on_settled(&fetched, move |resp| {
        let reply = match resp.map(|r| r.dyn_into::<web_sys::Response>()) {
            Ok(Ok(r)) => Reply {
                status: Some(r.status()),
                retry_after: r.headers().get("Retry-After").ok().flatten(),
            },
            _ => failed(),
        };
        done(reply);
    });
}

/// Hands a body to the browser to deliver after the page is gone. False when the browser
/// refused it (over its quota, or no `sendBeacon`).
pub fn beacon(url: &str, body: &str) -> bool {
    web_sys::window()
        .and_then(|w| w.navigator().send_beacon_with_opt_str(url, Some(body)).ok())
        .unwrap_or(false)
}

/// A fire-and-forget keepalive fetch, for what a beacon refused.
pub fn keepalive(url: &str, body: &str) {
    post(url, body, true, |_| {});
}
