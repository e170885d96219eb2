//! Building events: from what the page passed to the JSON the edge accepts.
//!
//! The rules are the protocol's (`footprint_protocol::Event::from_json` is the oracle in the
//! tests), applied before an event is queued so that a shop sees its mistake in the console at
//! the call, not as a rejection in a network panel later. Where a value can be repaired without
//! changing its meaning, it is: names and URLs are cut to length and control characters become
//! spaces, currency codes are upper-cased, and amounts are rounded to 4 decimals (the most any
//! ISO 4217 currency uses), so that `0.1 + 0.2` does not lose a purchase. Identifiers are never
//! cut: a cut id names something else.

use alloc::borrow::ToOwned;
use alloc::string::String;

use footprint_protocol::limits::{MAX_CART_ITEMS, MAX_EVENT_BYTES, MAX_QUANTITY};
use footprint_protocol::EventType;

use super::input::Input;
use super::json::{object_text, round, write_fixed, write_str, write_u64};
use super::time::{is_calendar_date, rfc3339};

/// Why a call's input was refused: the field (a path such as `items[2].price`) and what it
/// must be.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invalid {
    pub field: String,
    pub problem: &'static str,
}

impl Invalid {
    fn new(field: &str, problem: &'static str) -> Invalid {
        Invalid {
            field: field.to_owned(),
            problem,
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
        s.push_str(self.problem);
        s
    }
}

type Result<T> = core::result::Result<T, Invalid>;

/// Where the page is, read by the platform layer when an event is made. Empty means absent.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Context {
    pub page_url: String,
    pub referrer: String,
    pub user_agent: String,
    pub locale: String,
    pub screen: String,
    pub utm: Utm,
}

/// Campaign parameters, in the protocol's order: source, medium, campaign, term, content.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Utm(pub [String; 5]);

/// The query parameters of a campaign, in the order of [`Utm`]. Its JSON names are these
/// without `utm_`.
const UTM_PARAMS: [&str; 5] = [
    "utm_source",
    "utm_medium",
    "utm_campaign",
    "utm_term",
    "utm_content",
];

impl Utm {
    /// The campaign in an address: `param` gives the value of a query parameter, as the
    /// browser decoded it (`URLSearchParams`).
    pub fn read(mut param: impl FnMut(&str) -> Option<String>) -> Utm {
        let mut utm = Utm::default();
        for (slot, name) in utm.0.iter_mut().zip(UTM_PARAMS) {
            if let Some(v) = param(name) {
                *slot = clean(&v, 300);
            }
        }
        utm
    }

    pub fn is_empty(&self) -> bool {
        self.0.iter().all(String::is_empty)
    }

    /// One line per parameter, for keeping a landing page's campaign for the rest of a visit.
    pub fn encode(&self) -> String {
        let mut s = String::new();
        for (i, v) in self.0.iter().enumerate() {
            if i > 0 {
                s.push('\n');
            }
            s.push_str(v);
        }
        s
    }

    /// The campaign a visit carries: the current address's, which is then stored for the
    /// rest of the visit (returned as the text to store), or else the one stored at landing.
    pub fn for_visit(here: Utm, stored: Option<&str>) -> (Utm, Option<String>) {
        if here.is_empty() {
            (stored.map(Utm::decode).unwrap_or_default(), None)
        } else {
            let text = here.encode();
            (here, Some(text))
        }
    }

    pub fn decode(s: &str) -> Utm {
        let mut utm = Utm::default();
        for (slot, v) in utm.0.iter_mut().zip(super::text::split(s, b'\n')) {
            *slot = clean(v, 300);
        }
        utm
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

/// One event, ready for the queue: the JSON text the edge receives.
pub fn event_json(
    message_id: &str,
    tracker_id: &str,
    ty: EventType,
    unix_ms: u64,
    ctx: &Context,
    properties: &str,
) -> Result<String> {
    let mut s = String::with_capacity(256 + properties.len());
    s.push_str("{\"message_id\":\"");
    s.push_str(message_id);
    s.push_str("\",\"tracker_id\":\"");
    s.push_str(tracker_id);
    s.push_str("\",\"type\":\"");
    s.push_str(ty.as_str());
    s.push_str("\",\"timestamp\":\"");
    s.push_str(&rfc3339(unix_ms));
    s.push_str("\",\"context\":");
    let mut c = Obj::new(&mut s);
    c.text("page_url", &ctx.page_url, 2048);
    c.text("referrer", &ctx.referrer, 2048);
    c.text("user_agent", &ctx.user_agent, 512);
    c.text("locale", &ctx.locale, 35);
    c.text("screen", &ctx.screen, 20);
    if !ctx.utm.is_empty() {
        c.key("utm");
        let mut u = Obj::new(c.out);
        for (k, v) in UTM_PARAMS.iter().zip(&ctx.utm.0) {
            u.text(k.strip_prefix("utm_").unwrap_or(k), v, 300);
        }
        u.close();
    }
    c.close();
    s.push_str(",\"properties\":");
    s.push_str(properties);
    s.push('}');
    if s.len() > MAX_EVENT_BYTES {
        return Err(Invalid::new("", "makes an event larger than 32 KiB"));
    }
    Ok(s)
}

/// A JSON object being written, member by member.
struct Obj<'a> {
    out: &'a mut String,
    first: bool,
}

impl<'a> Obj<'a> {
    fn new(out: &'a mut String) -> Obj<'a> {
        out.push('{');
        Obj { out, first: true }
    }

    fn key(&mut self, k: &str) {
        if !self.first {
            self.out.push(',');
        }
        self.first = false;
        write_str(self.out, k);
        self.out.push(':');
    }

    fn str(&mut self, k: &str, v: &str) {
        self.key(k);
        write_str(self.out, v);
    }

    /// A cleaned text member, left out when empty.
    fn text(&mut self, k: &str, v: &str, max: usize) {
        let v = clean(v, max);
        if !v.is_empty() {
            self.str(k, &v);
        }
    }

    fn raw(&mut self, k: &str, json: &str) {
        self.key(k);
        self.out.push_str(json);
    }

    fn close(self) {
        self.out.push('}');
    }
}

/// How one member of a page's object is checked and written.
#[derive(Clone, Copy)]
enum Kind {
    /// A shop's identifier: a string of 1 to 100 characters, or a whole number. Never cut.
    Id,
    /// A display name: a string, cleaned and cut to 300 characters, or a whole number.
    Name,
    /// Money: a number from 0 to below 100 billion, written with at most 4 decimals.
    Money,
    /// An ISO 4217 code such as `EUR`, in any case.
    Currency,
    /// A whole number from 1 to 100 000; 1 when absent.
    Quantity,
    /// Text, cleaned and cut to this many characters; left out when empty.
    Text(usize),
    /// Text that is trimmed but never cut or cleaned (an email, a phone): a longer or dirty
    /// value is refused. Left out when empty.
    Exact(usize),
    /// Like `Exact`, but required (a push subscription's keys).
    Key(usize),
    /// `YYYY-MM-DD`, a real date.
    Date,
    /// A free-form object, written by the browser's `JSON.stringify`.
    Object,
    /// An `https://` URL of at most 2048 characters, never cut.
    Https,
    /// Cart lines: at most 200 of [`LINE`].
    Lines,
    /// A nested object of these fields.
    Group(&'static [Field]),
    /// One of these strings, else the problem; when given, `true` and `false` stand for the
    /// two strings (`consent(true)`).
    Choice(
        &'static [&'static str],
        &'static str,
        Option<[&'static str; 2]>,
    ),
}

/// A member: its name in the JavaScript API (camelCase), its name on the wire (snake_case,
/// which a page may also use), how it is read, and whether it must be there.
#[derive(Clone, Copy)]
struct Field(&'static str, &'static str, Kind, bool);

const REQUIRED: bool = true;

const PRODUCT: [Field; 3] = [
    Field("productId", "product_id", Kind::Id, REQUIRED),
    Field("name", "name", Kind::Name, REQUIRED),
    Field("price", "price", Kind::Money, REQUIRED),
];
const CURRENCY: Field = Field("currency", "currency", Kind::Currency, REQUIRED);
const QUANTITY: Field = Field("quantity", "quantity", Kind::Quantity, false);
const LINE: [Field; 4] = [PRODUCT[0], PRODUCT[1], PRODUCT[2], QUANTITY];
const CART: [Field; 3] = [
    Field("items", "items", Kind::Lines, REQUIRED),
    Field("total", "total", Kind::Money, REQUIRED),
    CURRENCY,
];
const PRODUCT_VIEW: [Field; 7] = [
    PRODUCT[0],
    PRODUCT[1],
    PRODUCT[2],
    CURRENCY,
    Field("category", "category", Kind::Text(300), false),
    Field("url", "url", Kind::Text(2048), false),
    Field("imageUrl", "image_url", Kind::Text(2048), false),
];
const CART_CHANGE: [Field; 6] = [
    PRODUCT[0],
    PRODUCT[1],
    PRODUCT[2],
    CURRENCY,
    QUANTITY,
    Field("cart", "cart", Kind::Group(&CART), false),
];
const CART_STATE: [Field; 1] = [Field("cart", "cart", Kind::Group(&CART), REQUIRED)];
const PURCHASE: [Field; 4] = [
    Field("orderId", "order_id", Kind::Id, REQUIRED),
    CART[0],
    CART[1],
    CART[2],
];
/// Email and phone come first: [`fields`] reports which were written, and one is needed.
const IDENTIFY: [Field; 6] = [
    Field("email", "email", Kind::Exact(254), false),
    Field("phone", "phone", Kind::Exact(32), false),
    Field("firstName", "first_name", Kind::Text(100), false),
    Field("lastName", "last_name", Kind::Text(100), false),
    Field("birthDate", "birth_date", Kind::Date, false),
    Field("custom", "custom", Kind::Object, false),
];
const CONSENT: [Field; 1] = [Field(
    "state",
    "state",
    Kind::Choice(
        &["yes", "no", "not_set"],
        "must be \"yes\", \"no\", \"not_set\" or a boolean",
        Some(["yes", "no"]),
    ),
    REQUIRED,
)];
const PERMISSION: [Field; 1] = [Field(
    "state",
    "state",
    Kind::Choice(
        &["granted", "denied", "default"],
        "must be \"granted\", \"denied\" or \"default\" (Notification.permission)",
        None,
    ),
    REQUIRED,
)];
const KEYS: [Field; 2] = [
    Field("p256dh", "p256dh", Kind::Key(200), REQUIRED),
    Field("auth", "auth", Kind::Key(100), REQUIRED),
];
const ENDPOINT: Field = Field("endpoint", "endpoint", Kind::Https, REQUIRED);
const SUBSCRIBE: [Field; 2] = [
    ENDPOINT,
    Field("keys", "keys", Kind::Group(&KEYS), REQUIRED),
];
const UNSUBSCRIBE: [Field; 1] = [ENDPOINT];
const NOTIFICATION: [Field; 2] = [
    Field("notificationId", "notification_id", Kind::Id, REQUIRED),
    Field("campaign", "campaign", Kind::Text(300), false),
];

fn at(prefix: &str, name: &str) -> String {
    let mut p = String::from(prefix);
    if !p.is_empty() && !name.starts_with('[') {
        p.push('.');
    }
    p.push_str(name);
    p
}

/// A whole number a JS number holds exactly.
fn whole(n: f64) -> Option<u64> {
    ((0.0..9e15).contains(&n) && n == (n as u64) as f64).then_some(n as u64)
}

/// Writes the members of `table` found in `v` into `o`. Returns a bit per table row that was
/// written.
fn fields<I: Input>(o: &mut Obj<'_>, v: &I, table: &[Field], prefix: &str) -> Result<u32> {
    let mut written = 0;
    for (row, &f) in table.iter().enumerate() {
        if member(o, v.field(f.0, f.1), f, prefix)? {
            written |= 1 << row;
        }
    }
    Ok(written)
}

/// Checks and writes one member, `m` being its value. False when it was left out.
fn member<I: Input>(o: &mut Obj<'_>, m: Option<I>, f: Field, prefix: &str) -> Result<bool> {
    let Field(name, wire, kind, required) = f;
    let bad = |problem| Invalid {
        field: at(prefix, name),
        problem,
    };
    let Some(m) = m else {
        if let Kind::Quantity = kind {
            o.key(wire);
            o.out.push('1');
            return Ok(true);
        }
        return if required {
            Err(bad("is required"))
        } else {
            Ok(false)
        };
    };
    let text = m.string();
    match kind {
        Kind::Id => {
            const PROBLEM: &str = "must be a string of 1 to 100 characters, or a whole number";
            let id = match (&text, m.number().and_then(whole)) {
                (Some(s), _) => {
                    let t = s.trim_ascii();
                    if !(1..=100).contains(&char_count(t)) || t.chars().any(char::is_control) {
                        return Err(bad(PROBLEM));
                    }
                    String::from(t)
                }
                (None, Some(n)) => {
                    let mut s = String::new();
                    write_u64(&mut s, n);
                    s
                }
                _ => return Err(bad(PROBLEM)),
            };
            o.str(wire, &id);
        }
        Kind::Name => {
            let n = match (&text, m.number().and_then(whole)) {
                (Some(s), _) => clean(s, 300),
                (None, Some(n)) => {
                    let mut s = String::new();
                    write_u64(&mut s, n);
                    s
                }
                _ => return Err(bad("must be a string")),
            };
            if n.is_empty() {
                return Err(bad("must not be empty"));
            }
            o.str(wire, &n);
        }
        Kind::Money => match m.number() {
            Some(n) if (0.0..1e11).contains(&n) => {
                o.key(wire);
                write_fixed(o.out, false, round(n * 10_000.0) as u64, 4);
            }
            _ => return Err(bad("must be a number from 0 to 99999999999.9999")),
        },
        Kind::Currency => match text {
            Some(s) if s.len() == 3 && s.bytes().all(|b| b.is_ascii_alphabetic()) => {
                o.str(wire, &s.to_ascii_uppercase())
            }
            _ => return Err(bad("must be a 3-letter currency code such as EUR")),
        },
        Kind::Quantity => match m.number().and_then(whole) {
            Some(q) if (1..=u64::from(MAX_QUANTITY)).contains(&q) => {
                o.key(wire);
                write_u64(o.out, q);
            }
            _ => return Err(bad("must be a whole number from 1 to 100000")),
        },
        Kind::Text(max) => match text {
            Some(s) => o.text(wire, &s, max),
            None => return Err(bad("must be a string")),
        },
        Kind::Exact(max) | Kind::Key(max) => {
            let Some(s) = text else {
                return Err(bad("must be a string"));
            };
            let t = s.trim_ascii();
            let n = char_count(t);
            if n == 0 && matches!(kind, Kind::Exact(_)) {
                return Ok(false);
            }
            if n == 0 || n > max || t.chars().any(char::is_control) {
                return Err(bad(if let Kind::Key(_) = kind {
                    "must be the subscription's key (PushSubscription.toJSON())"
                } else {
                    "is too long or has control characters"
                }));
            }
            o.str(wire, t);
        }
        Kind::Date => match text {
            Some(d) if is_calendar_date(&d) => o.str(wire, &d),
            _ => return Err(bad("must be a real date written YYYY-MM-DD")),
        },
        Kind::Object => {
            if !m.is_object() {
                return Err(bad("must be an object"));
            }
            let json = m.json(MAX_EVENT_BYTES).and_then(object_text).map_err(bad)?;
            o.raw(wire, &json);
        }
        Kind::Https => match text {
            Some(e)
                if e.starts_with("https://")
                    && e.len() > 8
                    && char_count(&e) <= 2048
                    && !e.chars().any(char::is_control) =>
            {
                o.str(wire, &e)
            }
            _ => return Err(bad("must be an https:// URL")),
        },
        Kind::Lines => {
            let len = m
                .array_len()
                .ok_or_else(|| bad("must be an array of lines"))?;
            if len > MAX_CART_ITEMS {
                return Err(bad("must have at most 200 lines"));
            }
            o.key(wire);
            o.out.push('[');
            for i in 0..len {
                if i > 0 {
                    o.out.push(',');
                }
                let mut p = at(prefix, name);
                p.push('[');
                write_u64(&mut p, i as u64);
                p.push(']');
                let line = m.at(i).filter(I::is_object).ok_or_else(|| Invalid {
                    field: p.clone(),
                    problem: "must be an object",
                })?;
                let mut l = Obj::new(o.out);
                fields(&mut l, &line, &LINE, &p)?;
                l.close();
            }
            o.out.push(']');
        }
        Kind::Group(inner) => {
            if !m.is_object() {
                return Err(bad("must be an object"));
            }
            o.key(wire);
            let mut g = Obj::new(o.out);
            fields(&mut g, &m, inner, &at(prefix, name))?;
            g.close();
        }
        Kind::Choice(allowed, problem, booleans) => {
            let choice = match (m.boolean(), booleans, text) {
                (Some(b), Some([yes, no]), _) => String::from(if b { yes } else { no }),
                (_, _, Some(s)) if allowed.contains(&s.as_str()) => s,
                _ => return Err(bad(problem)),
            };
            o.str(wire, &choice);
        }
    }
    Ok(true)
}

/// The `properties` JSON of a page-facing call, from what the page passed. `page_view` is built
/// by [`page_view`], and `custom` by [`custom`].
pub fn properties<I: Input>(ty: EventType, v: &I) -> Result<String> {
    let table: &[Field] = match ty {
        EventType::ProductView => &PRODUCT_VIEW,
        EventType::CartAdd | EventType::CartRemove => &CART_CHANGE,
        EventType::CartUpdate | EventType::CheckoutStart => &CART_STATE,
        EventType::Purchase => &PURCHASE,
        EventType::Identify => &IDENTIFY,
        EventType::Consent => &CONSENT,
        EventType::PushPermission => &PERMISSION,
        EventType::PushSubscribe => &SUBSCRIBE,
        EventType::PushUnsubscribe => &UNSUBSCRIBE,
        EventType::PushReceived | EventType::PushClick => &NOTIFICATION,
        EventType::Logout => &[],
        EventType::Custom => return Err(Invalid::new("", "is sent with track(name, props)")),
        EventType::PageView => return Err(Invalid::new("", "is sent with page()")),
    };
    let mut s = String::with_capacity(128);
    let mut o = Obj::new(&mut s);
    let written = match ty {
        EventType::Logout => 0,
        EventType::Consent
        | EventType::PushPermission
        | EventType::CartUpdate
        | EventType::CheckoutStart => {
            // The one member may be passed alone: `consent(true)`, `cartUpdate(cart)`.
            match table.first() {
                Some(&f) if v.field(f.0, f.1).is_none() => {
                    u32::from(member(&mut o, Some(v.clone()), f, "")?)
                }
                _ => fields(&mut o, v, table, "")?,
            }
        }
        _ => {
            if !v.is_object() {
                return Err(Invalid::new("", "expects an object"));
            }
            fields(&mut o, v, table, "")?
        }
    };
    if ty == EventType::Identify && written & 0b11 == 0 {
        return Err(Invalid::new("", "needs an email or a phone"));
    }
    o.close();
    Ok(s)
}

/// `track(name, props)`: the shop's own event.
pub fn custom<I: Input>(name: &I, props: Option<&I>) -> Result<String> {
    let n = match name.string() {
        Some(s) if (1..=100).contains(&char_count(s.trim_ascii())) => clean(&s, 100),
        _ => {
            return Err(Invalid::new(
                "name",
                "must be a string of 1 to 100 characters",
            ))
        }
    };
    let mut s = String::new();
    let mut o = Obj::new(&mut s);
    o.str("name", &n);
    match props {
        None => o.raw("properties", "{}"),
        Some(p) => {
            let _ = member(
                &mut o,
                Some(p.clone()),
                Field("properties", "properties", Kind::Object, REQUIRED),
                "",
            )?;
        }
    }
    o.close();
    Ok(s)
}

/// Where a page view happened, as the platform reads it from `location` and `document`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Page {
    pub url: String,
    pub path: String,
    pub title: String,
    pub referrer: String,
}

/// `page(props?)`: the page as read, with any of `url`, `path`, `title`, `referrer` overridden.
pub fn page_view<I: Input>(page: &Page, overrides: Option<&I>) -> Result<String> {
    if overrides.is_some_and(|o| !o.is_object()) {
        return Err(Invalid::new("", "expects an object or nothing"));
    }
    let pick = |k: &str, read: &str, max: usize| -> Result<String> {
        match overrides.and_then(|o| o.field(k, k)) {
            None => Ok(clean(read, max)),
            Some(v) => match v.string() {
                Some(s) => Ok(clean(&s, max)),
                None => Err(Invalid::new(k, "must be a string")),
            },
        }
    };
    let url = pick("url", &page.url, 2048)?;
    let path = pick("path", &page.path, 2048)?;
    let title = pick("title", &page.title, 500)?;
    let referrer = pick("referrer", &page.referrer, 2048)?;
    let mut s = String::new();
    let mut o = Obj::new(&mut s);
    o.str("url", &url);
    o.str("path", if path.is_empty() { "/" } else { &path });
    o.text("title", &title, 500);
    o.text("referrer", &referrer, 2048);
    o.close();
    Ok(s)
}

#[cfg(test)]
mod tests {
    use super::*;
    use footprint_protocol::{Event, EventKind};
    use serde_json::{json, Value};

    /// A campaign from its five values, in [`Utm`]'s order.
    fn utm_of(values: [Option<String>; 5]) -> Utm {
        let mut values = values.into_iter();
        Utm::read(|_| values.next().flatten())
    }

    fn line(id: &str, price: f64, qty: f64) -> Value {
        json!({"productId": id, "name": "Linen shirt", "price": price, "quantity": qty})
    }

    /// Wraps properties into a whole event and parses it with the edge's own parser.
    fn parse(ty: EventType, props: &str) -> Event {
        let ctx = Context {
            page_url: "https://shop.example/p/1?utm_source=news".into(),
            referrer: String::new(),
            user_agent: "Mozilla/5.0\u{0}".into(),
            locale: "en-GB".into(),
            screen: "1280x720".into(),
            utm: utm_of([
                Some("news".into()),
                None,
                Some("autumn sale".into()),
                None,
                None,
            ]),
        };
        let json = event_json(
            "0193a1b2-c3d4-7e5f-8a9b-000000000001",
            "0193a1b2-c3d4-7e5f-8a9b-000000000002",
            ty,
            1_795_427_998_004,
            &ctx,
            props,
        )
        .unwrap();
        Event::from_json(&json).unwrap_or_else(|e| panic!("{e}: {json}"))
    }

    #[test]
    fn every_page_call_builds_an_event_the_edge_accepts() {
        let product = json!({
            "productId": 1042, "name": "Linen\nshirt", "price": 49.9, "currency": "eur",
            "imageUrl": "https://shop.example/i.svg",
        });
        let cart = json!({
            "items": [line("a", 10.0, 2.0), line("b", 0.1 + 0.2, 1.0)],
            "total": 20.1 + 0.2,
            "currency": "EUR",
        });
        let mut add = product.clone();
        add["cart"] = cart.clone();
        let mut order = cart.clone();
        order["orderId"] = json!("o-1");
        let cases = [
            (EventType::ProductView, product.clone()),
            (EventType::CartAdd, add),
            (EventType::CartRemove, product),
            (EventType::CartUpdate, cart.clone()),
            (EventType::CheckoutStart, json!({"cart": cart})),
            (EventType::Purchase, order),
            (
                EventType::Identify,
                json!({
                    "email": " alice@example.com ", "firstName": "Alice",
                    "birthDate": "1990-02-28", "custom": {"tier": "gold"},
                }),
            ),
            (EventType::Logout, Value::Null),
            (EventType::Consent, json!(true)),
            (EventType::Consent, json!({"state": "not_set"})),
            (EventType::PushPermission, json!("granted")),
            (
                EventType::PushSubscribe,
                json!({
                    "endpoint": "https://push.example/sub/1", "expirationTime": null,
                    "keys": {"p256dh": "BNc", "auth": "tBH"},
                }),
            ),
            (
                EventType::PushUnsubscribe,
                json!({"endpoint": "https://push.example/sub/1"}),
            ),
            (
                EventType::PushClick,
                json!({"notification_id": "n-1", "campaign": "autumn"}),
            ),
        ];
        for (ty, input) in cases {
            let props = properties(ty, &input).unwrap_or_else(|e| panic!("{ty:?}: {e:?}"));
            let ev = parse(ty, &props);
            assert_eq!(ev.kind.event_type(), ty);
        }
    }

    #[test]
    fn repaired_values_are_the_intended_ones() {
        let props = properties(
            EventType::Purchase,
            &json!({
                "orderId": "o-7",
                "items": [line("a", 0.1 + 0.2, 3.0)],
                "total": 0.1 + 0.2 + 0.6,
                "currency": "usd",
            }),
        )
        .unwrap();
        assert_eq!(
            props,
            r#"{"order_id":"o-7","items":[{"product_id":"a","name":"Linen shirt","price":0.3,"quantity":3}],"total":0.9,"currency":"USD"}"#
        );
        let ev = parse(EventType::Purchase, &props);
        let EventKind::Purchase(p) = ev.kind else {
            panic!()
        };
        assert_eq!(p.total.to_string(), "0.9");
        assert_eq!(
            ev.context.utm.unwrap().campaign.unwrap().as_str(),
            "autumn sale"
        );
    }

    #[test]
    fn bad_input_names_the_field() {
        let product = |price: Value| json!({"productId": "p", "name": "x", "price": price, "currency": "EUR"});
        let bad = [
            (
                EventType::ProductView,
                json!({"name": "x"}),
                "productId is required",
            ),
            (
                EventType::ProductView,
                product(json!(-1.0)),
                "price must be a number from 0 to 99999999999.9999",
            ),
            (
                EventType::ProductView,
                product(json!("12")),
                "price must be a number from 0 to 99999999999.9999",
            ),
            (
                EventType::CartUpdate,
                json!({"items": [line("a", 1.0, 0.5)], "total": 1.0, "currency": "EUR"}),
                "items[0].quantity must be a whole number from 1 to 100000",
            ),
            (
                EventType::CartUpdate,
                json!({"items": ["a"], "total": 1.0, "currency": "EUR"}),
                "items[0] must be an object",
            ),
            (
                EventType::Identify,
                json!({"email": "  "}),
                "needs an email or a phone",
            ),
            (
                EventType::Identify,
                json!({"email": "a@b.c", "birthDate": "2023-02-30"}),
                "birthDate must be a real date written YYYY-MM-DD",
            ),
            (EventType::Consent, json!("maybe"), "state must be"),
            (
                EventType::PushSubscribe,
                json!({"endpoint": "http://x"}),
                "endpoint must be",
            ),
            (
                EventType::PushSubscribe,
                json!({"endpoint": "https://p.example/1", "keys": {"p256dh": "k"}}),
                "keys.auth is required",
            ),
            (EventType::Purchase, json!("o-1"), "expects an object"),
            (EventType::ProductView, json!([]), "expects an object"),
        ];
        for (ty, input, want) in bad {
            let err = properties(ty, &input).unwrap_err();
            let msg = err.message("x");
            assert!(msg.starts_with("footprint.x: "), "{msg}");
            assert!(msg.contains(want), "{ty:?}: {msg}");
        }
    }

    #[test]
    fn custom_events_bound_nesting_and_accept_no_properties() {
        let name = json!("wishlist_add");
        let ev = parse(EventType::Custom, &custom(&name, None).unwrap());
        assert_eq!(ev.kind.event_type(), EventType::Custom);
        let mut deep = json!(1);
        for _ in 0..8 {
            deep = json!({ "a": deep });
        }
        let x = json!("x");
        parse(EventType::Custom, &custom(&x, Some(&deep)).unwrap());
        let deeper = json!({ "a": deep });
        assert!(custom(&x, Some(&deeper)).is_err());
        assert!(custom(&json!(""), None).is_err());
        assert!(custom(&x, Some(&json!("not an object"))).is_err());
    }

    #[test]
    fn page_views_fill_in_from_the_page_and_take_overrides() {
        let page = Page {
            url: "https://shop.example/cart".into(),
            path: "/cart".into(),
            title: "Your\tcart".into(),
            referrer: String::new(),
        };
        let props = page_view(&page, Some(&json!({"title": "Checkout"}))).unwrap();
        assert_eq!(
            props,
            r#"{"url":"https://shop.example/cart","path":"/cart","title":"Checkout"}"#
        );
        parse(EventType::PageView, &props);
        parse(
            EventType::PageView,
            &page_view::<Value>(&Page::default(), None).unwrap(),
        );
        assert!(page_view(&page, Some(&json!({"title": 3}))).is_err());
    }

    #[test]
    fn an_event_over_32_kib_is_refused() {
        let x = json!("x");
        // The properties fit on their own; with the envelope, the event does not.
        let fits = json!({ "blob": "x".repeat(32_700) });
        let props = custom(&x, Some(&fits)).unwrap();
        let err =
            event_json("m", "t", EventType::Custom, 0, &Context::default(), &props).unwrap_err();
        assert!(err.message("track").contains("32 KiB"));
        let big = json!({ "blob": "x".repeat(40_000) });
        let err = custom(&x, Some(&big)).unwrap_err();
        assert!(err.message("track").contains("32 KiB"), "{err:?}");
    }

    #[test]
    fn utm_parameters_are_cleaned_and_kept_for_the_visit() {
        let utm = utm_of([
            Some(" news\nletter ".into()),
            Some("✉".into()),
            None,
            None,
            None,
        ]);
        assert_eq!(utm.0[0], "news letter");
        assert_eq!(utm.0[1], "✉");
        assert_eq!(Utm::decode(&utm.encode()), utm);
        assert!(utm_of(Default::default()).is_empty());
        // The landing page's campaign stays with the visit; a new campaign replaces it.
        let (kept, store) = Utm::for_visit(Utm::default(), Some(&utm.encode()));
        assert_eq!((kept, store), (utm.clone(), None));
        let ad = utm_of([Some("ad".into()), None, None, None, None]);
        let (new, store) = Utm::for_visit(ad, Some(&utm.encode()));
        assert_eq!(new.0[0], "ad");
        assert_eq!(store, Some(new.encode()));
        assert_eq!(char_count("a😀é"), 3);
    }
}
