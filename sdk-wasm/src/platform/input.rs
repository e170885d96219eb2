//! The core's [`Input`] over the JavaScript values a page passes. Every read that can throw
//! (a getter, a Proxy trap, a cycle in `JSON.stringify`) is caught and reads as absent or as
//! a refusal.

use alloc::string::String;

use js_sys::{Array, Reflect, JSON};
use wasm_bindgen::{JsCast, JsValue};

use crate::core::input::{Input, NO_JSON};
use crate::core::json::TOO_LARGE;

impl Input for JsValue {
    fn member(&self, key: &str) -> Option<JsValue> {
        if !JsValue::is_object(self) {
            return None;
        }
        Reflect::get(self, &JsValue::from_str(key))
            .ok()
            .filter(|v| !v.is_null() && !v.is_undefined())
    }

    fn string(&self) -> Option<String> {
        self.as_string()
    }

    fn number(&self) -> Option<f64> {
        self.as_f64()
    }

    fn boolean(&self) -> Option<bool> {
        self.as_bool()
    }

    fn is_object(&self) -> bool {
        JsValue::is_object(self) && !Array::is_array(self)
    }

    fn array_len(&self) -> Option<usize> {
        Array::is_array(self).then(|| self.unchecked_ref::<Array>().length() as usize)
    }

    fn at(&self, index: usize) -> Option<JsValue> {
        Some(self.unchecked_ref::<Array>().get(index as u32))
    }

    fn json(&self, max: usize) -> Result<String, &'static str> {
        let text = JSON::stringify(self).map_err(|_| NO_JSON)?;
        // A `toJSON` that returns `undefined` makes `JSON.stringify` return it too.
        if !text.is_string() {
            return Err(NO_JSON);
        }
        // Measured in UTF-16 units before the copy into the wasm, which is at least as many
        // bytes: a huge object is refused without being copied.
        let units = text.length() as usize;
        if units > max {
            return Err(TOO_LARGE);
        }
        Ok(String::from(text))
    }
}

/// A plain copy of what the page passed, for serde to read: JSON's round trip runs every
/// getter and Proxy trap once, inside a caught call ([`Input::json`]), so that what
/// `serde_wasm_bindgen` then reads cannot throw into the tracker. `None` when the value has no
/// JSON form (a cycle, a BigInt, a getter that throws) or is longer than `max`.
pub fn plain(v: &JsValue, max: usize) -> Option<JsValue> {
    if v.is_undefined() || v.is_null() {
        return Some(v.clone());
    }
    JSON::parse(&v.json(max).ok()?).ok()
}
