//! JavaScript values into the core's [`Value`], the one conversion the facade does.
//!
//! Bounded, because the page is not ours to trust: nesting stops one level past what the
//! protocol allows (so a cyclic object ends, and is refused by the depth check), and a walk
//! visits at most [`MAX_NODES`] values. Like `JSON.stringify`, functions, symbols and
//! `undefined` members are left out and a `Date` becomes its ISO string.

use js_sys::{Array, Object, Reflect};
use wasm_bindgen::{JsCast, JsValue};

use crate::core::json::Value;
use footprint_protocol::limits::MAX_JSON_DEPTH;

const MAX_NODES: usize = 5_000;

/// The walk gave up: too many values.
pub struct TooBig;

pub fn to_value(v: &JsValue) -> Result<Value, TooBig> {
    let mut budget = MAX_NODES;
    walk(v, 0, &mut budget)
}

fn walk(v: &JsValue, depth: usize, budget: &mut usize) -> Result<Value, TooBig> {
    *budget = budget.checked_sub(1).ok_or(TooBig)?;
    if v.is_null() || v.is_undefined() {
        return Ok(Value::Null);
    }
    if let Some(b) = v.as_bool() {
        return Ok(Value::Bool(b));
    }
    if let Some(n) = v.as_f64() {
        return Ok(Value::Num(n));
    }
    if let Some(s) = v.as_string() {
        return Ok(Value::Str(s));
    }
    if !v.is_object() {
        // Symbols and BigInts have no JSON form.
        return Ok(Value::Null);
    }
    if depth > MAX_JSON_DEPTH {
        // Deep enough to fail the depth check wherever depth matters; stops cycles.
        return Ok(Value::Arr(vec![Value::Arr(Vec::new())]));
    }
    if let Some(d) = v.dyn_ref::<js_sys::Date>() {
        // `toISOString` throws on an invalid date; an exception must never cross the wasm.
        if d.get_time().is_nan() {
            return Ok(Value::Null);
        }
        return Ok(Value::Str(d.to_iso_string().into()));
    }
    if Array::is_array(v) {
        let a: &Array = v.unchecked_ref();
        let mut out = Vec::with_capacity(a.length().min(64) as usize);
        for item in a.iter() {
            out.push(walk(&item, depth + 1, budget)?);
        }
        return Ok(Value::Arr(out));
    }
    let obj: &Object = v.unchecked_ref();
    let mut out = Vec::new();
    for key in Object::keys(obj).iter() {
        let Some(k) = key.as_string() else {
            continue;
        };
        let member = Reflect::get(v, &key).unwrap_or(JsValue::UNDEFINED);
        if member.is_undefined() || member.is_function() || member.is_symbol() {
            continue;
        }
        out.push((k, walk(&member, depth + 1, budget)?));
    }
    Ok(Value::Obj(out))
}
