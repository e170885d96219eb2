//! The thin platform layer: browser APIs behind small Rust types. The only module that knows
//! `web_sys`. Every JavaScript exception becomes a [`PlatformError`]; nothing here throws into
//! the host page.

mod cookie;
pub mod http;
mod identity;
pub mod lifecycle;
pub mod page;
pub mod push;
mod queue_store;
mod storage;

pub use cookie::CookieJar;
pub use identity::{fresh_uuid, new_tracker_id, tracker_id};
pub use queue_store::QueueStore;
pub use storage::LocalStorage;

use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;

/// A browser API failed. Keeps the exception's name (`QuotaExceededError`, `SecurityError`) so
/// that callers can tell a full quota from storage being switched off.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlatformError {
    pub name: String,
    pub message: String,
}

impl PlatformError {
    pub fn new(name: &str, message: &str) -> PlatformError {
        PlatformError {
            name: name.to_owned(),
            message: message.to_owned(),
        }
    }

    pub(crate) fn from_js(v: JsValue) -> PlatformError {
        let get = |k: &str| {
            js_sys::Reflect::get(&v, &JsValue::from_str(k))
                .ok()
                .and_then(|s| s.as_string())
                .unwrap_or_default()
        };
        PlatformError {
            name: get("name"),
            message: get("message"),
        }
    }
}

/// Fills `buf` from `crypto.getRandomValues`. Where that is missing (a very old browser), falls
/// back to `Math.random`: ids stay unique enough for analytics, though not unguessable.
pub fn random_bytes(buf: &mut [u8]) {
    let crypto = web_sys::window().and_then(|w| w.crypto().ok());
    if let Some(c) = crypto {
        if c.get_random_values_with_u8_array(buf).is_ok() {
            return;
        }
    }
    for b in buf.iter_mut() {
        *b = (js_sys::Math::random() * 256.0) as u8;
    }
}

#[wasm_bindgen]
extern "C" {
    /// A promise seen untyped: js-sys's typed `then` wants a typed closure per call site.
    type Thenable;
    #[wasm_bindgen(method, js_name = then)]
    fn then_with(this: &Thenable, f: &js_sys::Function) -> js_sys::Promise;
    #[wasm_bindgen(method, js_name = catch)]
    fn catch_with(this: &Thenable, f: &js_sys::Function) -> Thenable;
}

/// Calls `f` once with what `promise` resolves to, or with `Err(reason)` when it rejects.
pub fn on_settled(promise: &js_sys::Promise, f: impl FnOnce(Result<JsValue, JsValue>) + 'static) {
    // One closure per call, freed when called: a rejection is turned into a tagged value so
    // that a single callback sees both outcomes.
    thread_local! {
        static TAG_ERROR: Closure<dyn FnMut(JsValue) -> JsValue> = Closure::new(|e: JsValue| {
            let tagged = js_sys::Object::new();
            let _ = js_sys::Reflect::set(&tagged, &"__fp_error".into(), &e);
            tagged.into()
        });
    }
    let cb = Closure::once_into_js(move |v: JsValue| {
        let err = js_sys::Reflect::get(&v, &"__fp_error".into())
            .ok()
            .filter(|_| {
                v.is_object() && js_sys::Reflect::has(&v, &"__fp_error".into()).unwrap_or(false)
            });
        match err {
            Some(e) => f(Err(e)),
            None => f(Ok(v)),
        }
    });
    let _ = TAG_ERROR.try_with(|tag| {
        // The returned promise is not needed: `f` is where the outcome goes.
        let _ = promise
            .unchecked_ref::<Thenable>()
            .catch_with(tag.as_ref().unchecked_ref())
            .then_with(cb.unchecked_ref());
    });
}
