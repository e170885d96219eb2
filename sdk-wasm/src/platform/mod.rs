//! The thin platform layer: browser APIs behind small Rust types. The only module that knows
//! `web_sys`. Every JavaScript exception becomes a [`PlatformError`] or a default; nothing here
//! throws into the host page.

mod callback;
mod cookie;
pub mod http;
mod identity;
mod input;

pub use input::arg;
pub mod lifecycle;
pub mod page;
mod queue_store;
mod storage;

pub use callback::{callback, dispatch, install, promise, settle, soon, Cb, Handler};
pub use cookie::CookieJar;
pub use identity::{fresh_uuid, new_tracker_id, tracker_id};
pub use queue_store::QueueStore;
pub use storage::LocalStorage;

use alloc::borrow::ToOwned;
use alloc::string::String;
use core::cell::RefCell;

use wasm_bindgen::JsValue;

/// State shared by every entry point: exported methods and browser callbacks.
///
/// `wasm32-unknown-unknown` without the `atomics` target feature (which this crate is never
/// built with) runs on one thread, so a `RefCell` in a static is sound. Entry points borrow it
/// with `try_borrow_mut` and give up quietly when a page's hook re-enters the tracker while it
/// runs (a `console.warn` override that calls `footprint.track`, say).
pub struct Global<T>(pub RefCell<T>);

// SAFETY: see above; there is one thread.
unsafe impl<T> Sync for Global<T> {}

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

    pub(crate) fn from_js(v: &JsValue) -> PlatformError {
        PlatformError {
            name: prop_str(v, "name"),
            message: prop_str(v, "message"),
        }
    }
}

#[wasm_bindgen::prelude::wasm_bindgen]
extern "C" {
    /// The page's `window`: one guarded read. `web_sys::window()` probes four globals and
    /// checks `instanceof Window`, each a glue function in the download.
    #[wasm_bindgen(thread_local_v2, js_name = window)]
    static WINDOW: Option<web_sys::Window>;
}

/// The page's `window`; `None` outside a page (a worker).
pub fn window() -> Option<web_sys::Window> {
    WINDOW.with(Clone::clone)
}

/// `target[name]`, or `undefined` when reading it throws. Cold properties are read this way
/// rather than through a typed binding each: every binding is an import and a glue function
/// in what the page downloads.
pub fn prop(target: &JsValue, name: &str) -> JsValue {
    js_sys::Reflect::get(target, &JsValue::from_str(name)).unwrap_or(JsValue::UNDEFINED)
}

/// `target[name]` as a string, or empty.
pub fn prop_str(target: &JsValue, name: &str) -> String {
    prop(target, name).as_string().unwrap_or_default()
}

pub fn now() -> u64 {
    js_sys::Date::now() as u64
}

/// One console warning, the only way the tracker talks to the page's developer.
pub fn warn(msg: &str) {
    web_sys::console::warn_1(&JsValue::from_str(msg));
}

/// Fills `buf` from `crypto.getRandomValues`. Where that is missing (a very old browser), falls
/// back to `Math.random`: ids stay unique enough for analytics, though not unguessable.
pub fn random_bytes(buf: &mut [u8]) {
    let crypto = window().and_then(|w| w.crypto().ok());
    if let Some(c) = crypto {
        if c.get_random_values_with_u8_array(buf).is_ok() {
            return;
        }
    }
    for b in buf.iter_mut() {
        *b = (js_sys::Math::random() * 256.0) as u8;
    }
}
