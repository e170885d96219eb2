//! Sending batches: `fetch` while the page lives, `sendBeacon` when it is going away.
//!
//! Bodies go as `text/plain`, a CORS "simple" request: no preflight, so one round trip per
//! batch, and the same content type that `sendBeacon` uses. Credentials are omitted: the edge
//! identifies the browser by the tracker id in the events, never by cookies.

use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;

/// What came back from a send: the status (`None` for a network error or CORS failure) and
/// any `Retry-After` the edge exposed.
pub struct Reply {
    pub status: Option<u16>,
    pub retry_after: Option<String>,
}

pub async fn post(url: &str, body: &str, keepalive: bool) -> Reply {
    let failed = Reply {
        status: None,
        retry_after: None,
    };
    let Some(window) = web_sys::window() else {
        return failed;
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
    let Ok(resp) = JsFuture::from(window.fetch_with_str_and_init(url, &init)).await else {
        return failed;
    };
    let Ok(resp) = resp.dyn_into::<web_sys::Response>() else {
        return failed;
    };
    Reply {
        status: Some(resp.status()),
        retry_after: resp.headers().get("Retry-After").ok().flatten(),
    }
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
    let (url, body) = (url.to_owned(), body.to_owned());
    wasm_bindgen_futures::spawn_local(async move {
        post(&url, &body, true).await;
    });
}
