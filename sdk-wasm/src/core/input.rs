//! What the page passed to a call, as the core reads it: member by member, where it lies.
//!
//! The wasm build implements [`Input`] over JavaScript values (`platform::js`); the native
//! tests implement it over `serde_json::Value`. Reading in place, rather than first copying the
//! page's object into a Rust tree, means the core touches only the members a call needs (a
//! 100 000-line cart costs one length check), and the wasm carries no tree type.

use alloc::string::String;

/// Why a free-form object (`track` properties, identify's `custom`) has no JSON text.
pub const NO_JSON: &str = "has no JSON form (a cycle, a BigInt, or a getter that throws)";

pub trait Input: Sized + Clone {
    /// The member `key`; `None` when absent, `null` or `undefined`, or when this is not an
    /// object.
    fn member(&self, key: &str) -> Option<Self>;
    fn string(&self) -> Option<String>;
    fn number(&self) -> Option<f64>;
    fn boolean(&self) -> Option<bool>;
    /// A non-null object that is not an array.
    fn is_object(&self) -> bool;
    /// The length, when this is an array.
    fn array_len(&self) -> Option<usize>;
    fn at(&self, index: usize) -> Option<Self>;
    /// This value as JSON text, as `JSON.stringify` writes it, or why not. `max` bounds what
    /// is copied: longer text is refused before it is read.
    fn json(&self, max: usize) -> Result<String, &'static str>;

    /// The member under its camelCase name, else its snake_case one: the JavaScript API is
    /// camelCase, the wire format snake_case, and shops paste either.
    fn field(&self, camel: &str, snake: &str) -> Option<Self> {
        self.member(camel)
            .or_else(|| (snake != camel).then(|| self.member(snake)).flatten())
    }
}

#[cfg(test)]
impl Input for serde_json::Value {
    fn member(&self, key: &str) -> Option<Self> {
        self.get(key).filter(|v| !v.is_null()).cloned()
    }
    fn string(&self) -> Option<String> {
        self.as_str().map(String::from)
    }
    fn number(&self) -> Option<f64> {
        self.as_f64()
    }
    fn boolean(&self) -> Option<bool> {
        self.as_bool()
    }
    fn is_object(&self) -> bool {
        self.is_object()
    }
    fn array_len(&self) -> Option<usize> {
        self.as_array().map(Vec::len)
    }
    fn at(&self, index: usize) -> Option<Self> {
        self.as_array()?.get(index).cloned()
    }
    fn json(&self, max: usize) -> Result<String, &'static str> {
        let text = serde_json::to_string(self).map_err(|_| NO_JSON)?;
        if text.len() > max {
            return Err(super::json::TOO_LARGE);
        }
        Ok(text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn members_are_found_by_either_name() {
        let v = serde_json::json!({"product_id": "a", "name": "b", "gone": null});
        let text = |camel, snake| v.field(camel, snake).and_then(|v| v.string());
        assert_eq!(text("productId", "product_id"), Some("a".into()));
        assert_eq!(text("name", "name"), Some("b".into()));
        assert!(v.field("gone", "gone").is_none());
    }
}
