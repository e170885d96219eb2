//! What the page passes, made safe for serde.
//!
//! The page's values can throw when read (a getter, a Proxy trap) or never end (a cycle).
//! [`arg`] first makes a plain copy by a JSON round trip inside a caught call, bounded in
//! size and nesting, so that what `serde_wasm_bindgen` then reads is inert data.

use alloc::string::String;

use js_sys::JSON;
use wasm_bindgen::JsValue;

use crate::core::args::Invalid;
use crate::core::json::depth;

/// The most JSON text a call's argument may be: twice an event's 32 KiB, so that what is
/// refused for size is refused before it is copied, and what passes is bounded for the
/// copy into the wasm.
const MAX_ARG: usize = 64 * 1024;

/// The deepest an argument may nest: a free-form object's 8 levels inside `identify`'s
/// `custom`, with room to spare. It bounds serde's recursion, which a page could otherwise
/// drive into a stack overflow.
const MAX_DEPTH: usize = 12;

/// A plain copy of `v`, or why there is none.
fn plain(v: &JsValue) -> Result<JsValue, &'static str> {
    if v.is_undefined() || v.is_null() {
        return Ok(v.clone());
    }
    const NO_JSON: &str = "has no JSON form (a cycle, a BigInt, or a getter that throws)";
    let text = JSON::stringify(v).map_err(|_| NO_JSON)?;
    // A `toJSON` that returns `undefined` makes `JSON.stringify` return it too.
    if !text.is_string() {
        return Err(NO_JSON);
    }
    // Measured in UTF-16 units before the copy into the wasm, which is at least as many
    // bytes: a huge object is refused without being copied.
    if text.length() as usize > MAX_ARG {
        return Err("is too large");
    }
    let text = String::from(text);
    if depth(&text) > MAX_DEPTH {
        return Err("is nested too deep");
    }
    JSON::parse(&text).map_err(|_| NO_JSON)
}

/// A call's argument, for serde to read.
pub fn arg(v: &JsValue) -> Result<serde_wasm_bindgen::Deserializer, Invalid> {
    plain(v)
        .map(serde_wasm_bindgen::Deserializer::from)
        .map_err(|problem| Invalid::new("", problem))
}
