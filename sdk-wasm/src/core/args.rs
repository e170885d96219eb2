//! What the page passes to the tracker's calls, as serde reads it.
//!
//! A call's argument is read in one pass into [`Raw`] values: an object becomes the derived
//! [`Args`] struct, whose members are `Raw` too; a call takes each through the checked types
//! below. Each checked type takes a value and returns it repaired where that keeps its meaning
//! (names cut to length, control characters made spaces, currency codes upper-cased, amounts
//! rounded to 4 decimals), or the sentence a shop reads in its console: `must be a 3-letter
//! currency code such as EUR`. Identifiers are never cut: a cut id names something else.
//!
//! Reading never fails on a member's value: a member holds its checked value or its
//! problem, and a call reports the problem only for members it uses ([`Member::need`],
//! [`Member::opt`]), under the member's full name
//! (`footprint.cartAdd: cart.items[0].quantity must be a whole number from 1 to 100000`).
//! A shop's product object with fields of its own (`total: "12.00"`) is not refused by a call
//! that never reads them.
//!
//! Why one value type rather than serde's errors and a type per call: serde monomorphises a
//! reader per type and per deserializer, and its errors carry no path without
//! `serde_path_to_error`, which wraps every reader again. A struct per call, each read with
//! a path, measured 80 KB of gzipped wasm; one reader of [`Raw`] shared by every member keeps
//! the wasm near the old hand-written reader's size.
//!
//! The browser reads with `serde_wasm_bindgen` from a plain copy of the page's value
//! (`platform::arg`, which also bounds its size and nesting); the native tests read
//! serde_json's `Value`.

use alloc::borrow::ToOwned;
use alloc::boxed::Box;
use alloc::string::String;
use alloc::vec::Vec;
use core::fmt;

use footprint_protocol::limits::{MAX_CART_ITEMS, MAX_QUANTITY};
use serde::de::value::MapAccessDeserializer;
use serde::de::{MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Deserializer};

use super::json::object_text;

use super::time::is_calendar_date;

/// Why a call's input was refused: the field (a path such as `items[2].price`) and what it
/// must be.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invalid {
    pub field: String,
    pub problem: String,
}

impl Invalid {
    pub fn new(field: &str, problem: &str) -> Invalid {
        Invalid {
            field: field.to_owned(),
            problem: problem.to_owned(),
        }
    }

    /// The one console line for this mistake: `footprint.cartAdd: price must be …`.
    pub fn message(&self, method: &str) -> String {
        let mut s = String::from("footprint.");
        s.push_str(method);
        s.push_str(": ");
        if !self.field.is_empty() {
            s.push_str(&self.field);
            s.push(' ');
        }
        s.push_str(&self.problem);
        s
    }
}

/// Characters in `s`, counted without the standard library's vectorised counter (which is
/// about a kilobyte of wasm): UTF-8 continuation bytes are `10xxxxxx`.
pub fn char_count(s: &str) -> usize {
    s.bytes().filter(|b| b & 0xC0 != 0x80).count()
}

/// Control characters to spaces, ASCII whitespace trimmed, cut to `max` characters: for names, titles and URLs,
/// which the edge refuses with control characters and bounds in length.
pub fn clean(s: &str, max: usize) -> String {
    s.trim_ascii()
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .take(max)
        .collect()
}

/// Every member a call's argument may have, `init`'s config included, as the JavaScript API
/// spells it (camelCase) or as the wire format does (snake_case), which shops paste. One
/// struct serves every call and each call takes what it needs: serde derives one reader
/// instead of one per call (which measured 12 KB of gzipped wasm more). Members nobody reads
/// are ignored, as a newer page's calls must still reach an older tracker.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct Args {
    #[serde(alias = "product_id")]
    pub(crate) product_id: Raw,
    pub(crate) name: Raw,
    pub(crate) price: Raw,
    pub(crate) currency: Raw,
    pub(crate) quantity: Raw,
    pub(crate) category: Raw,
    pub(crate) url: Raw,
    #[serde(alias = "image_url")]
    pub(crate) image_url: Raw,
    pub(crate) cart: Raw,
    pub(crate) items: Raw,
    pub(crate) total: Raw,
    #[serde(alias = "order_id")]
    pub(crate) order_id: Raw,
    pub(crate) email: Raw,
    pub(crate) phone: Raw,
    #[serde(alias = "first_name")]
    pub(crate) first_name: Raw,
    #[serde(alias = "last_name")]
    pub(crate) last_name: Raw,
    #[serde(alias = "birth_date")]
    pub(crate) birth_date: Raw,
    pub(crate) custom: Free,
    /// `consent`'s or `pushPermission`'s: checked by the call, whose choices differ.
    pub(crate) state: Raw,
    pub(crate) endpoint: Raw,
    pub(crate) keys: Raw,
    pub(crate) p256dh: Raw,
    pub(crate) auth: Raw,
    #[serde(alias = "notification_id")]
    pub(crate) notification_id: Raw,
    pub(crate) campaign: Raw,
    pub(crate) path: Raw,
    pub(crate) title: Raw,
    pub(crate) referrer: Raw,
    // `init`'s config (`super::config`); its `endpoint` is the one above.
    #[serde(alias = "site_key")]
    pub(crate) site_key: Raw,
    #[serde(alias = "flush_interval_ms")]
    pub(crate) flush_interval_ms: Raw,
    #[serde(alias = "max_batch")]
    pub(crate) max_batch: Raw,
    #[serde(alias = "cookie_domain")]
    pub(crate) cookie_domain: Raw,
    #[serde(alias = "auto_pageviews")]
    pub(crate) auto_pageviews: Raw,
    #[serde(alias = "respect_do_not_track")]
    pub(crate) respect_do_not_track: Raw,
    #[serde(alias = "require_consent")]
    pub(crate) require_consent: Raw,
}

/// The object a call needs, or why the argument is not one.
pub(crate) fn object(arg: Raw) -> Result<Args, Invalid> {
    match arg {
        Raw::Obj(a) => Ok(*a),
        _ => Err(Invalid::new("", "expects an object")),
    }
}

/// One value the page passed: a scalar, an object read as [`Args`], or an array.
#[derive(Debug, Clone, Default, PartialEq)]
pub enum Raw {
    #[default]
    Null,
    Bool(bool),
    Num(f64),
    Str(String),
    Obj(Box<Args>),
    Arr(Vec<Raw>),
}

impl<'de> Deserialize<'de> for Raw {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Raw, D::Error> {
        d.deserialize_any(RawVisitor)
    }
}

struct RawVisitor;

impl<'de> Visitor<'de> for RawVisitor {
    type Value = Raw;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }
    fn visit_unit<E>(self) -> Result<Raw, E> {
        Ok(Raw::Null)
    }
    fn visit_none<E>(self) -> Result<Raw, E> {
        Ok(Raw::Null)
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Raw, D::Error> {
        d.deserialize_any(self)
    }
    fn visit_bool<E>(self, v: bool) -> Result<Raw, E> {
        Ok(Raw::Bool(v))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Raw, E> {
        Ok(Raw::Num(v as f64))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Raw, E> {
        Ok(Raw::Num(v as f64))
    }
    fn visit_f64<E>(self, v: f64) -> Result<Raw, E> {
        Ok(Raw::Num(v))
    }
    fn visit_str<E>(self, v: &str) -> Result<Raw, E> {
        Ok(Raw::Str(v.to_owned()))
    }
    fn visit_string<E>(self, v: String) -> Result<Raw, E> {
        Ok(Raw::Str(v))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut a: A) -> Result<Raw, A::Error> {
        let mut items = Vec::new();
        while let Some(v) = a.next_element()? {
            items.push(v);
        }
        Ok(Raw::Arr(items))
    }
    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Raw, A::Error> {
        Args::deserialize(MapAccessDeserializer::new(map)).map(|a| Raw::Obj(Box::new(a)))
    }
}

/// Reads a call's argument. Only a value with no JSON form fails here, which
/// `platform::arg` has already refused; a wrong value is a problem of its member.
pub fn read<'de, D: Deserializer<'de>>(d: D) -> Result<Raw, Invalid> {
    Raw::deserialize(d).map_err(|_| Invalid::new("", NO_JSON))
}

pub const NO_JSON: &str = "has no JSON form (a cycle, a BigInt, or a getter that throws)";
pub const REQUIRED: &str = "is required";
pub const OBJECT: &str = "must be an object";

/// A value's checked form: its type's rule.
pub trait Check: Sized {
    fn check(v: Raw) -> Result<Self, &'static str>;
}

impl Raw {
    /// This member's checked value, which the call needs. `at` is where the member's object
    /// is (`cart.`, or empty at the top) and `name` the member as the JavaScript API spells
    /// it; the warning names `at` + `name`. Absent is `Null`: missing, `null`, `undefined`.
    pub fn need<T: Check>(self, at: &str, name: &str) -> Result<T, Invalid> {
        match self {
            Raw::Null => Err(problem(at, name, REQUIRED)),
            v => T::check(v).map_err(|p| problem(at, name, p)),
        }
    }

    /// This member's checked value, if the page passed one.
    pub fn opt<T: Check>(self, at: &str, name: &str) -> Result<Option<T>, Invalid> {
        match self {
            Raw::Null => Ok(None),
            v => T::check(v).map(Some).map_err(|p| problem(at, name, p)),
        }
    }
}

/// Out of line: every checked type's reader shares it.
#[inline(never)]
fn problem(at: &str, name: &str, problem: &str) -> Invalid {
    Invalid::new(&[at, name].concat(), problem)
}

/// The checked member types: each is a [`Check`] through its rule.
macro_rules! checked_types {
    ($($name:ident $(<$(const $n:ident: $t:ty),*>)? ($ty:ty) = $check:expr;)*) => {$(
        impl $(<$(const $n: $t),*>)? $crate::core::args::Check for $name $(<$($n),*>)? {
            fn check(v: $crate::core::args::Raw) -> Result<Self, &'static str> {
                let rule: fn($crate::core::args::Raw) -> Result<$ty, &'static str> = $check;
                rule(v).map($name)
            }
        }
    )*};
}
pub(crate) use checked_types;

/// A whole number a JavaScript number holds exactly.
fn whole(n: f64) -> Option<u64> {
    ((0.0..9e15).contains(&n) && n == (n as u64) as f64).then_some(n as u64)
}

fn decimal(n: u64) -> String {
    let mut s = String::new();
    super::json::write_u64(&mut s, n);
    s
}

/// Trimmed, non-empty, at most `max` characters and free of control characters.
fn exact(s: &str, max: usize) -> Option<&str> {
    let t = s.trim_ascii();
    let n = char_count(t);
    (n > 0 && n <= max && !t.chars().any(char::is_control)).then_some(t)
}

/// A shop's identifier (product, order, notification): a string of 1 to 100 characters, or a
/// whole number, written as text. Never cut.
#[derive(Debug, Clone, PartialEq)]
pub struct Id(pub String);

/// A display name: cleaned and cut to 300 characters; a whole number is written as text.
#[derive(Debug, Clone, PartialEq)]
pub struct Name(pub String);

/// Money: from 0 to below 100 billion, rounded to 4 decimals (the most any ISO 4217 currency
/// uses), so that `0.1 + 0.2` is sent as `0.3`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Money(pub f64);

/// An ISO 4217 code such as `EUR`, in any case; sent upper-cased.
#[derive(Debug, Clone, PartialEq)]
pub struct Currency(pub String);

/// A cart line's quantity: a whole number from 1 to 100 000, 1 when absent or `null`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Quantity(pub u32);

impl Default for Quantity {
    fn default() -> Quantity {
        Quantity(1)
    }
}

/// Text cleaned and cut to `MAX` characters; left out of the event when empty.
#[derive(Debug, Clone, PartialEq)]
pub struct Text<const MAX: usize>(pub String);

/// Text trimmed but never cut or cleaned (an email, a phone): a longer or dirty value is
/// refused. Left out of the event when empty.
#[derive(Debug, Clone, PartialEq)]
pub struct Exact<const MAX: usize>(pub String);

/// One of a push subscription's keys (`PushSubscription.toJSON().keys`).
#[derive(Debug, Clone, PartialEq)]
pub struct Key<const MAX: usize>(pub String);

/// A real calendar date written `YYYY-MM-DD`.
#[derive(Debug, Clone, PartialEq)]
pub struct Date(pub String);

/// An `https://` URL of at most 2048 characters (a push endpoint), never cut.
#[derive(Debug, Clone, PartialEq)]
pub struct Https(pub String);

/// A custom event's name: 1 to 100 characters, cleaned.
#[derive(Debug, Clone, PartialEq)]
pub struct EventName(pub String);

/// The shopper's consent, as the protocol writes it. `true` and `false` stand for yes and no.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConsentState(pub &'static str);

/// `Notification.permission`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Permission(pub &'static str);

fn one_of(s: &Raw, allowed: &[&'static str]) -> Option<&'static str> {
    match s {
        Raw::Str(v) => allowed.iter().copied().find(|a| a == v),
        _ => None,
    }
}

const TEXT: &str = "must be a string";

checked_types! {
    Id(String) = |s| {
        const PROBLEM: &str = "must be a string of 1 to 100 characters, or a whole number";
        match s {
            Raw::Str(v) => exact(&v, 100).map(str::to_owned).ok_or(PROBLEM),
            Raw::Num(n) => whole(n).map(decimal).ok_or(PROBLEM),
            _ => Err(PROBLEM),
        }
    };
    Name(String) = |s| {
        let name = match s {
            Raw::Str(v) => clean(&v, 300),
            Raw::Num(n) => whole(n).map(decimal).ok_or(TEXT)?,
            _ => return Err(TEXT),
        };
        if name.is_empty() {
            return Err("must not be empty");
        }
        Ok(name)
    };
    Money(f64) = |s| match s {
        Raw::Num(n) if (0.0..1e11).contains(&n) => {
            Ok(super::json::round(n * 10_000.0) / 10_000.0)
        }
        _ => Err("must be a number from 0 to 99999999999.9999"),
    };
    Currency(String) = |s| match s {
        Raw::Str(v) if v.len() == 3 && v.bytes().all(|b| b.is_ascii_alphabetic()) => {
            Ok(v.to_ascii_uppercase())
        }
        _ => Err("must be a 3-letter currency code such as EUR"),
    };
    Quantity(u32) = |s| match s {
        Raw::Null => Ok(1),
        Raw::Num(n) => whole(n)
            .filter(|q| (1..=u64::from(MAX_QUANTITY)).contains(q))
            .map(|q| q as u32)
            .ok_or("must be a whole number from 1 to 100000"),
        _ => Err("must be a whole number from 1 to 100000"),
    };
    Text<const MAX: usize>(String) = |s| match s {
        Raw::Str(v) => Ok(clean(&v, MAX)),
        _ => Err(TEXT),
    };
    Exact<const MAX: usize>(String) = |s| match s {
        Raw::Str(v) if v.trim_ascii().is_empty() => Ok(String::new()),
        Raw::Str(v) => exact(&v, MAX)
            .map(str::to_owned)
            .ok_or("is too long or has control characters"),
        _ => Err(TEXT),
    };
    Key<const MAX: usize>(String) = |s| match s {
        Raw::Str(v) => exact(&v, MAX).map(str::to_owned),
        _ => None,
    }
    .ok_or("must be the subscription's key (PushSubscription.toJSON())");
    Date(String) = |s| match s {
        Raw::Str(v) if is_calendar_date(&v) => Ok(v),
        _ => Err("must be a real date written YYYY-MM-DD"),
    };
    Https(String) = |s| match s {
        Raw::Str(v)
            if v.starts_with("https://")
                && v.len() > 8
                && char_count(&v) <= 2048
                && !v.chars().any(char::is_control) =>
        {
            Ok(v)
        }
        _ => Err("must be an https:// URL"),
    };
    EventName(String) = |s| match s {
        Raw::Str(v) if (1..=100).contains(&char_count(v.trim_ascii())) => Ok(clean(&v, 100)),
        _ => Err("must be a string of 1 to 100 characters"),
    };
    ConsentState(&'static str) = |s| match s {
        Raw::Bool(yes) => Ok(if yes { "yes" } else { "no" }),
        s => one_of(&s, &["yes", "no", "not_set"])
            .ok_or("must be \"yes\", \"no\", \"not_set\" or a boolean"),
    };
    Permission(&'static str) = |s| one_of(&s, &["granted", "denied", "default"])
        .ok_or("must be \"granted\", \"denied\" or \"default\" (Notification.permission)");
}

/// A nested object (`cart`, `keys`, a cart line).
impl Check for Box<Args> {
    fn check(v: Raw) -> Result<Self, &'static str> {
        match v {
            Raw::Obj(a) => Ok(a),
            _ => Err(OBJECT),
        }
    }
}

/// Cart lines: an array of at most 200 objects, each checked where it is read
/// ([`Lines::each`]), for its index in the warning.
#[derive(Debug, Clone, PartialEq)]
pub struct Lines(Vec<Raw>);

impl Check for Lines {
    fn check(v: Raw) -> Result<Self, &'static str> {
        match v {
            Raw::Arr(items) if items.len() > MAX_CART_ITEMS => Err("must have at most 200 lines"),
            Raw::Arr(items) => Ok(Lines(items)),
            _ => Err("must be an array of lines"),
        }
    }
}

impl Lines {
    /// Each line built by `line` from its object, `at` naming it (`items[2].`).
    pub fn each<T>(
        self,
        at: &str,
        mut line: impl FnMut(Box<Args>, &str) -> Result<T, Invalid>,
    ) -> Result<Vec<T>, Invalid> {
        let mut out = Vec::with_capacity(self.0.len());
        for (i, v) in self.0.into_iter().enumerate() {
            let mut here = String::from(at);
            here.push_str("items[");
            super::json::write_u64(&mut here, i as u64);
            here.push(']');
            let obj: Box<Args> = v.need(&here, "")?;
            here.push('.');
            out.push(line(obj, &here)?);
        }
        Ok(out)
    }
}

/// A free-form object (`track`'s properties, identify's `custom`): any JSON object nested at
/// most 8 deep, sent as the page wrote it. Held as its JSON text. In the browser the member
/// is read as the page's own (plain) object, through serde-wasm-bindgen's `preserve`, and
/// written by the browser's `JSON.stringify`; the native tests read serde_json's `Value`.
#[derive(Debug, Clone, PartialEq)]
pub struct Object(pub String);

/// An [`Object`] member as read: a wrong value is held, not raised, like [`Raw`]'s, for
/// the call to report.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Free(Option<Result<Object, &'static str>>);

impl Free {
    pub fn opt(self, name: &str) -> Result<Option<Object>, Invalid> {
        self.0.transpose().map_err(|p| Invalid::new(name, p))
    }

    /// From the member's JSON text; `None` when absent or `null`.
    #[cfg(not(target_arch = "wasm32"))]
    fn of(text: Option<String>) -> Free {
        Free(text.map(|t| object_text(t).map(Object)))
    }
}

#[cfg(target_arch = "wasm32")]
impl<'de> Deserialize<'de> for Free {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let v: wasm_bindgen::JsValue = serde_wasm_bindgen::preserve::deserialize(d)?;
        if v.is_null() || v.is_undefined() {
            return Ok(Free(None));
        }
        // A plain copy already (`platform::arg`): this cannot throw or loop.
        let text = js_sys::JSON::stringify(&v).ok().and_then(|t| t.as_string());
        Ok(Free(Some(
            text.map_or(Err(NO_JSON), object_text).map(Object),
        )))
    }
}

#[cfg(not(target_arch = "wasm32"))]
impl<'de> Deserialize<'de> for Free {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let v = serde_json::Value::deserialize(d)?;
        Ok(Free::of((!v.is_null()).then(|| v.to_string()))) // fmt: native only
    }
}
