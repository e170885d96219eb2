//! The thin platform layer: browser APIs behind small Rust types. The only module that knows
//! `web_sys`. Every JavaScript exception becomes a [`PlatformError`]; nothing here throws into
//! the host page.

mod storage;

pub use storage::LocalStorage;

use wasm_bindgen::JsValue;

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
