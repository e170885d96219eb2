//! Building events: from what the page passed to the JSON the edge accepts.
//!
//! The rules are the protocol's (`footprint_protocol::Event::from_json` is the oracle in the
//! tests), applied before an event is queued so that a shop sees its mistake in the console at
//! the call, not as a rejection in a network panel later. Where a value can be repaired without
//! changing its meaning, it is: names and URLs are cut to length and control characters become
//! spaces, currency codes are upper-cased, and amounts are rounded to 4 decimals (the most any
//! ISO 4217 currency uses), so that `0.1 + 0.2` does not lose a purchase. Identifiers are never
//! cut: a cut id names something else.

use footprint_protocol::limits::{MAX_CART_ITEMS, MAX_EVENT_BYTES, MAX_JSON_DEPTH, MAX_QUANTITY};
use footprint_protocol::EventType;

use super::json::{round, write_fixed, write_str, write_u64, Value};
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

const UTM_KEYS: [&str; 5] = ["source", "medium", "campaign", "term", "content"];

impl Utm {
    /// Reads `utm_*` from a query string (`?utm_source=x&…`), percent-decoded.
    pub fn from_query(query: &str) -> Utm {
        let mut utm = Utm::default();
        for pair in query.trim_start_matches('?').split('&') {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            let slot = k
                .strip_prefix("utm_")
                .and_then(|k| UTM_KEYS.iter().position(|u| *u == k))
                .and_then(|i| utm.0.get_mut(i));
            if let Some(slot) = slot {
                *slot = clean(&percent_decode(v), 300);
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
        for (slot, v) in utm.0.iter_mut().zip(s.split('\n')) {
            *slot = clean(v, 300);
        }
        utm
    }
}

/// `%XX` and `+` decoding as for form-encoded queries. A value that does not decode to UTF-8
/// is dropped: it is not a campaign name anyone typed.
pub fn percent_decode(s: &str) -> String {
    let hex = |c: u8| (c as char).to_digit(16).map(|d| d as u8);
    let mut out = Vec::with_capacity(s.len());
    let mut bytes = s.bytes();
    while let Some(c) = bytes.next() {
        match c {
            b'+' => out.push(b' '),
            b'%' => {
                let mut ahead = bytes.clone();
                match (ahead.next().and_then(hex), ahead.next().and_then(hex)) {
                    (Some(h), Some(l)) => {
                        out.push(h * 16 + l);
                        bytes = ahead;
                    }
                    _ => out.push(b'%'),
                }
            }
            c => out.push(c),
        }
    }
    String::from_utf8(out).unwrap_or_default()
}

/// Characters in `s`, counted without the standard library's vectorised counter (which is
/// about a kilobyte of wasm): UTF-8 continuation bytes are `10xxxxxx`.
pub fn char_count(s: &str) -> usize {
    s.bytes().filter(|b| b & 0xC0 != 0x80).count()
}

/// Control characters to spaces, trimmed, cut to `max` characters: for names, titles and URLs,
/// which the edge refuses with control characters and bounds in length.
pub fn clean(s: &str, max: usize) -> String {
    s.trim()
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
        for (k, v) in UTM_KEYS.iter().zip(&ctx.utm.0) {
            u.text(k, v, 300);
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

fn path(prefix: &str, field: &str) -> String {
    let mut p = String::from(prefix);
    if !p.is_empty() {
        p.push('.');
    }
    p.push_str(field);
    p
}

/// A shop's identifier: a non-empty string of at most 100 characters, or a whole number.
fn shop_id(v: Option<&Value>, field: &str) -> Result<String> {
    const PROBLEM: &str = "must be a string of 1 to 100 characters, or a whole number";
    match v {
        Some(Value::Str(s)) => {
            let t = s.trim();
            let n = char_count(t);
            if (1..=100).contains(&n) && !t.chars().any(char::is_control) {
                Ok(t.to_owned())
            } else {
                Err(Invalid::new(field, PROBLEM))
            }
        }
        Some(&Value::Num(n)) if n.fract() == 0.0 && (0.0..9e15).contains(&n) => {
            let mut s = String::new();
            write_u64(&mut s, n as u64);
            Ok(s)
        }
        None => Err(Invalid::new(field, "is required")),
        _ => Err(Invalid::new(field, PROBLEM)),
    }
}

/// A display name: required, cleaned and cut to 300 characters.
fn name(v: Option<&Value>, field: &str) -> Result<String> {
    match v {
        Some(Value::Str(s)) => {
            let c = clean(s, 300);
            if c.is_empty() {
                Err(Invalid::new(field, "must not be empty"))
            } else {
                Ok(c)
            }
        }
        Some(&Value::Num(n)) => {
            let mut s = String::new();
            super::json::write_num(&mut s, n);
            Ok(s)
        }
        None => Err(Invalid::new(field, "is required")),
        _ => Err(Invalid::new(field, "must be a string")),
    }
}

/// Optional text: absent, or a string cleaned and cut to `max`.
fn opt_text(v: Option<&Value>, field: &str, max: usize) -> Result<Option<String>> {
    match v {
        None => Ok(None),
        Some(Value::Str(s)) => Ok(Some(clean(s, max)).filter(|s| !s.is_empty())),
        _ => Err(Invalid::new(field, "must be a string")),
    }
}

/// Money: a number from 0 to below 100 billion, written with at most 4 decimals.
fn amount(v: Option<&Value>, field: &str) -> Result<String> {
    match v {
        Some(&Value::Num(n)) if n.is_finite() && (0.0..1e11).contains(&n) => {
            let mut s = String::new();
            write_fixed(&mut s, false, round(n * 10_000.0) as u64, 4);
            Ok(s)
        }
        None => Err(Invalid::new(field, "is required")),
        _ => Err(Invalid::new(
            field,
            "must be a number from 0 to 99999999999.9999",
        )),
    }
}

/// An ISO 4217 code such as `EUR`, in any case.
fn currency(v: Option<&Value>, field: &str) -> Result<String> {
    match v {
        Some(Value::Str(s)) if s.len() == 3 && s.bytes().all(|b| b.is_ascii_alphabetic()) => {
            Ok(s.to_ascii_uppercase())
        }
        None => Err(Invalid::new(field, "is required")),
        _ => Err(Invalid::new(
            field,
            "must be a 3-letter currency code such as EUR",
        )),
    }
}

fn quantity(v: Option<&Value>, field: &str, default: Option<u64>) -> Result<u64> {
    match (v, default) {
        (Some(&Value::Num(n)), _) if n.fract() == 0.0 && n >= 1.0 && n <= MAX_QUANTITY as f64 => {
            Ok(n as u64)
        }
        (None, Some(d)) => Ok(d),
        (None, None) => Err(Invalid::new(field, "is required")),
        _ => Err(Invalid::new(
            field,
            "must be a whole number from 1 to 100000",
        )),
    }
}

/// A free-form object for `custom` and `track` properties.
fn json_object(v: Option<&Value>, field: &str) -> Result<Option<String>> {
    match v {
        None => Ok(None),
        Some(o @ Value::Obj(_)) if o.depth() <= MAX_JSON_DEPTH => {
            let mut s = String::new();
            o.write(&mut s);
            Ok(Some(s))
        }
        Some(Value::Obj(_)) => Err(Invalid::new(field, "must be nested at most 8 deep")),
        Some(_) => Err(Invalid::new(field, "must be an object")),
    }
}

/// The product fields shared by `productView`, `cartAdd` and cart lines.
fn product(o: &mut Obj<'_>, v: &Value, prefix: &str) -> Result<()> {
    o.str(
        "product_id",
        &shop_id(v.get("productId", "product_id"), &path(prefix, "productId"))?,
    );
    o.str("name", &name(v.get("name", "name"), &path(prefix, "name"))?);
    o.raw(
        "price",
        &amount(v.get("price", "price"), &path(prefix, "price"))?,
    );
    Ok(())
}

fn items(o: &mut Obj<'_>, v: Option<&Value>, prefix: &str) -> Result<()> {
    let field = path(prefix, "items");
    let Some(Value::Arr(lines)) = v else {
        return Err(Invalid::new(&field, "must be an array of lines"));
    };
    if lines.len() > MAX_CART_ITEMS {
        return Err(Invalid::new(&field, "must have at most 200 lines"));
    }
    o.key("items");
    o.out.push('[');
    for (i, line) in lines.iter().enumerate() {
        if i > 0 {
            o.out.push(',');
        }
        let mut p = field.clone();
        p.push('[');
        write_u64(&mut p, i as u64);
        p.push(']');
        let mut l = Obj::new(o.out);
        product(&mut l, line, &p)?;
        let q = quantity(
            line.get("quantity", "quantity"),
            &path(&p, "quantity"),
            Some(1),
        )?;
        l.key("quantity");
        write_u64(l.out, q);
        l.close();
    }
    o.out.push(']');
    Ok(())
}

/// `{items, total, currency}`, as a cart or an order carries them.
fn cart_fields(o: &mut Obj<'_>, v: &Value, prefix: &str) -> Result<()> {
    if !matches!(v, Value::Obj(_)) {
        return Err(Invalid::new(
            prefix,
            "must be an object with items, total and currency",
        ));
    }
    items(o, v.get("items", "items"), prefix)?;
    o.raw(
        "total",
        &amount(v.get("total", "total"), &path(prefix, "total"))?,
    );
    o.str(
        "currency",
        &currency(v.get("currency", "currency"), &path(prefix, "currency"))?,
    );
    Ok(())
}

fn expect_object(v: &Value) -> Result<()> {
    match v {
        Value::Obj(_) => Ok(()),
        _ => Err(Invalid::new("", "expects an object")),
    }
}

/// The `properties` JSON of a page-facing call, from what the page passed. `page_view` is built
/// by [`page_view`] instead, from the page itself.
pub fn properties(ty: EventType, v: &Value) -> Result<String> {
    let mut s = String::with_capacity(128);
    let mut o = Obj::new(&mut s);
    match ty {
        EventType::ProductView => {
            expect_object(v)?;
            product(&mut o, v, "")?;
            o.str(
                "currency",
                &currency(v.get("currency", "currency"), "currency")?,
            );
            if let Some(c) = opt_text(v.get("category", "category"), "category", 300)? {
                o.str("category", &c);
            }
            if let Some(u) = opt_text(v.get("url", "url"), "url", 2048)? {
                o.str("url", &u);
            }
            if let Some(u) = opt_text(v.get("imageUrl", "image_url"), "imageUrl", 2048)? {
                o.str("image_url", &u);
            }
        }
        EventType::CartAdd | EventType::CartRemove => {
            expect_object(v)?;
            product(&mut o, v, "")?;
            o.str(
                "currency",
                &currency(v.get("currency", "currency"), "currency")?,
            );
            let q = quantity(v.get("quantity", "quantity"), "quantity", Some(1))?;
            o.key("quantity");
            write_u64(o.out, q);
            if let Some(cart) = v.get("cart", "cart") {
                o.key("cart");
                let mut c = Obj::new(o.out);
                cart_fields(&mut c, cart, "cart")?;
                c.close();
            }
        }
        EventType::CartUpdate | EventType::CheckoutStart => {
            // `cartUpdate(cart)` passes the cart itself; `{cart: …}` is accepted too.
            let cart = v.get("cart", "cart").unwrap_or(v);
            o.key("cart");
            let mut c = Obj::new(o.out);
            cart_fields(&mut c, cart, "")?;
            c.close();
        }
        EventType::Purchase => {
            expect_object(v)?;
            o.str(
                "order_id",
                &shop_id(v.get("orderId", "order_id"), "orderId")?,
            );
            cart_fields(&mut o, v, "")?;
        }
        EventType::Identify => identify(&mut o, v)?,
        EventType::Logout => {}
        EventType::Consent => {
            let state = match v.get("state", "state").unwrap_or(v) {
                Value::Bool(true) => "yes",
                Value::Bool(false) => "no",
                Value::Str(s) if matches!(s.as_str(), "yes" | "no" | "not_set") => s,
                _ => {
                    return Err(Invalid::new(
                        "state",
                        "must be \"yes\", \"no\", \"not_set\" or a boolean",
                    ))
                }
            };
            o.str("state", state);
        }
        EventType::PushPermission => match v.get("state", "state").unwrap_or(v) {
            Value::Str(s) if matches!(s.as_str(), "granted" | "denied" | "default") => {
                o.str("state", s)
            }
            _ => {
                return Err(Invalid::new(
                    "state",
                    "must be \"granted\", \"denied\" or \"default\" (Notification.permission)",
                ))
            }
        },
        EventType::PushSubscribe | EventType::PushUnsubscribe => {
            expect_object(v)?;
            match v.get("endpoint", "endpoint") {
                Some(Value::Str(e))
                    if e.starts_with("https://")
                        && e.len() > 8
                        && char_count(e) <= 2048
                        && !e.chars().any(char::is_control) =>
                {
                    o.str("endpoint", e)
                }
                _ => return Err(Invalid::new("endpoint", "must be an https:// URL")),
            }
            if ty == EventType::PushSubscribe {
                let keys = v.get("keys", "keys");
                o.key("keys");
                let mut k = Obj::new(o.out);
                for (key, max) in [("p256dh", 200), ("auth", 100)] {
                    match keys.and_then(|k| k.get(key, key)) {
                        Some(Value::Str(s))
                            if (1..=max).contains(&char_count(s))
                                && !s.chars().any(char::is_control) =>
                        {
                            k.str(key, s)
                        }
                        _ => {
                            return Err(Invalid::new(
                                if key == "auth" {
                                    "keys.auth"
                                } else {
                                    "keys.p256dh"
                                },
                                "must be the subscription's key (PushSubscription.toJSON())",
                            ))
                        }
                    }
                }
                k.close();
            }
        }
        EventType::PushReceived | EventType::PushClick => {
            expect_object(v)?;
            o.str(
                "notification_id",
                &shop_id(v.get("notificationId", "notification_id"), "notificationId")?,
            );
            if let Some(c) = opt_text(v.get("campaign", "campaign"), "campaign", 300)? {
                o.str("campaign", &c);
            }
        }
        EventType::Custom => return Err(Invalid::new("", "is sent with track(name, props)")),
        EventType::PageView => return Err(Invalid::new("", "is sent with page()")),
    }
    o.close();
    Ok(s)
}

fn identify(o: &mut Obj<'_>, v: &Value) -> Result<()> {
    expect_object(v)?;
    let strict = |camel: &str, max: usize| -> Result<Option<String>> {
        match v.get(camel, camel) {
            None => Ok(None),
            Some(Value::Str(s)) => {
                let t = s.trim();
                let n = char_count(t);
                if n == 0 {
                    Ok(None)
                } else if n <= max && !t.chars().any(char::is_control) {
                    Ok(Some(t.to_owned()))
                } else {
                    Err(Invalid::new(camel, "is too long or has control characters"))
                }
            }
            Some(_) => Err(Invalid::new(camel, "must be a string")),
        }
    };
    let email = strict("email", 254)?;
    let phone = strict("phone", 32)?;
    if email.is_none() && phone.is_none() {
        return Err(Invalid::new("", "needs an email or a phone"));
    }
    if let Some(e) = email {
        o.str("email", &e);
    }
    if let Some(p) = phone {
        o.str("phone", &p);
    }
    if let Some(f) = opt_text(v.get("firstName", "first_name"), "firstName", 100)? {
        o.str("first_name", &f);
    }
    if let Some(l) = opt_text(v.get("lastName", "last_name"), "lastName", 100)? {
        o.str("last_name", &l);
    }
    match v.get("birthDate", "birth_date") {
        None => {}
        Some(Value::Str(d)) if is_calendar_date(d) => o.str("birth_date", d),
        Some(_) => {
            return Err(Invalid::new(
                "birthDate",
                "must be a real date written YYYY-MM-DD",
            ))
        }
    }
    if let Some(c) = json_object(v.get("custom", "custom"), "custom")? {
        o.raw("custom", &c);
    }
    Ok(())
}

/// `track(name, props)`: the shop's own event.
pub fn custom(name: &Value, props: &Value) -> Result<String> {
    let n = match name {
        Value::Str(s) if (1..=100).contains(&char_count(s.trim())) => clean(s, 100),
        _ => {
            return Err(Invalid::new(
                "name",
                "must be a string of 1 to 100 characters",
            ))
        }
    };
    let props = match props {
        Value::Null => None,
        p => json_object(Some(p), "properties")?,
    };
    let mut s = String::new();
    let mut o = Obj::new(&mut s);
    o.str("name", &n);
    o.raw("properties", props.as_deref().unwrap_or("{}"));
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
pub fn page_view(page: &Page, overrides: &Value) -> Result<String> {
    if !matches!(overrides, Value::Obj(_) | Value::Null) {
        return Err(Invalid::new("", "expects an object or nothing"));
    }
    let pick = |k: &str, read: &str, max: usize| -> Result<String> {
        Ok(opt_text(overrides.get(k, k), k, max)?.unwrap_or_else(|| clean(read, max)))
    };
    let url = pick("url", &page.url, 2048)?;
    let path_ = pick("path", &page.path, 2048)?;
    let mut s = String::new();
    let mut o = Obj::new(&mut s);
    o.str("url", &url);
    o.str("path", if path_.is_empty() { "/" } else { &path_ });
    o.text("title", &pick("title", &page.title, 500)?, 500);
    o.text("referrer", &pick("referrer", &page.referrer, 2048)?, 2048);
    o.close();
    Ok(s)
}

#[cfg(test)]
mod tests {
    use super::*;
    use footprint_protocol::{Event, EventKind};

    fn obj(members: &[(&str, Value)]) -> Value {
        Value::Obj(
            members
                .iter()
                .map(|(k, v)| (k.to_string(), v.clone()))
                .collect(),
        )
    }

    fn s(v: &str) -> Value {
        Value::Str(v.into())
    }

    fn line(id: &str, price: f64, qty: f64) -> Value {
        obj(&[
            ("productId", s(id)),
            ("name", s("Linen shirt")),
            ("price", Value::Num(price)),
            ("quantity", Value::Num(qty)),
        ])
    }

    /// Wraps properties into a whole event and parses it with the edge's own parser.
    fn parse(ty: EventType, props: &str) -> Event {
        let ctx = Context {
            page_url: "https://shop.example/p/1?utm_source=news".into(),
            referrer: String::new(),
            user_agent: "Mozilla/5.0\u{0}".into(),
            locale: "en-GB".into(),
            screen: "1280x720".into(),
            utm: Utm::from_query("?utm_source=news&utm_campaign=autumn%20sale&x=1"),
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
        let product = obj(&[
            ("productId", Value::Num(1042.0)),
            ("name", s("Linen\nshirt")),
            ("price", Value::Num(49.9)),
            ("currency", s("eur")),
            ("imageUrl", s("https://shop.example/i.svg")),
        ]);
        let cart = obj(&[
            (
                "items",
                Value::Arr(vec![line("a", 10.0, 2.0), line("b", 0.1 + 0.2, 1.0)]),
            ),
            ("total", Value::Num(20.1 + 0.2)),
            ("currency", s("EUR")),
        ]);
        let mut add = product.clone();
        if let Value::Obj(m) = &mut add {
            m.push(("cart".into(), cart.clone()));
        }
        let mut order = cart.clone();
        if let Value::Obj(m) = &mut order {
            m.push(("orderId".into(), s("o-1")));
        }
        let cases = [
            (EventType::ProductView, product.clone()),
            (EventType::CartAdd, add),
            (EventType::CartRemove, product),
            (EventType::CartUpdate, cart.clone()),
            (EventType::CheckoutStart, obj(&[("cart", cart)])),
            (EventType::Purchase, order),
            (
                EventType::Identify,
                obj(&[
                    ("email", s(" alice@example.com ")),
                    ("firstName", s("Alice")),
                    ("birthDate", s("1990-02-28")),
                    ("custom", obj(&[("tier", s("gold"))])),
                ]),
            ),
            (EventType::Logout, Value::Null),
            (EventType::Consent, Value::Bool(true)),
            (EventType::PushPermission, s("granted")),
            (
                EventType::PushSubscribe,
                obj(&[
                    ("endpoint", s("https://push.example/sub/1")),
                    ("expirationTime", Value::Null),
                    ("keys", obj(&[("p256dh", s("BNc")), ("auth", s("tBH"))])),
                ]),
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
            &obj(&[
                ("orderId", s("o-7")),
                ("items", Value::Arr(vec![line("a", 0.1 + 0.2, 3.0)])),
                ("total", Value::Num(0.1 + 0.2 + 0.6)),
                ("currency", s("usd")),
            ]),
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
        let bad = [
            (
                EventType::ProductView,
                obj(&[("name", s("x"))]),
                "productId is required",
            ),
            (
                EventType::ProductView,
                obj(&[
                    ("productId", s("p")),
                    ("name", s("x")),
                    ("price", Value::Num(-1.0)),
                    ("currency", s("EUR")),
                ]),
                "price must be a number from 0 to 99999999999.9999",
            ),
            (
                EventType::ProductView,
                obj(&[
                    ("productId", s("p")),
                    ("name", s("x")),
                    ("price", Value::Num(f64::NAN)),
                    ("currency", s("EUR")),
                ]),
                "price must be a number from 0 to 99999999999.9999",
            ),
            (
                EventType::CartUpdate,
                obj(&[
                    ("items", Value::Arr(vec![line("a", 1.0, 0.5)])),
                    ("total", Value::Num(1.0)),
                    ("currency", s("EUR")),
                ]),
                "items[0].quantity must be a whole number from 1 to 100000",
            ),
            (
                EventType::Identify,
                obj(&[("email", s("  "))]),
                "needs an email or a phone",
            ),
            (
                EventType::Identify,
                obj(&[("email", s("a@b.c")), ("birthDate", s("2023-02-30"))]),
                "birthDate must be a real date written YYYY-MM-DD",
            ),
            (EventType::Consent, s("maybe"), "state must be"),
            (
                EventType::PushSubscribe,
                obj(&[("endpoint", s("http://x"))]),
                "endpoint must be",
            ),
            (
                EventType::Purchase,
                Value::Str("o-1".into()),
                "expects an object",
            ),
            (
                EventType::ProductView,
                Value::Arr(vec![]),
                "expects an object",
            ),
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
        let ev = parse(
            EventType::Custom,
            &custom(&s("wishlist_add"), &Value::Null).unwrap(),
        );
        assert_eq!(ev.kind.event_type(), EventType::Custom);
        let mut deep = Value::Num(1.0);
        for _ in 0..8 {
            deep = obj(&[("a", deep)]);
        }
        assert!(custom(&s("x"), &deep).is_ok());
        parse(EventType::Custom, &custom(&s("x"), &deep).unwrap());
        let deeper = obj(&[("a", deep)]);
        assert!(custom(&s("x"), &deeper).is_err());
        assert!(custom(&s(""), &Value::Null).is_err());
        assert!(custom(&s("x"), &s("not an object")).is_err());
    }

    #[test]
    fn page_views_fill_in_from_the_page_and_take_overrides() {
        let page = Page {
            url: "https://shop.example/cart".into(),
            path: "/cart".into(),
            title: "Your\tcart".into(),
            referrer: String::new(),
        };
        let props = page_view(&page, &obj(&[("title", s("Checkout"))])).unwrap();
        assert_eq!(
            props,
            r#"{"url":"https://shop.example/cart","path":"/cart","title":"Checkout"}"#
        );
        parse(EventType::PageView, &props);
        parse(
            EventType::PageView,
            &page_view(&Page::default(), &Value::Null).unwrap(),
        );
    }

    #[test]
    fn an_event_over_32_kib_is_refused() {
        let big = obj(&[("blob", s(&"x".repeat(40_000)))]);
        let props = custom(&s("x"), &big).unwrap();
        let err =
            event_json("m", "t", EventType::Custom, 0, &Context::default(), &props).unwrap_err();
        assert!(err.message("track").contains("32 KiB"));
    }

    #[test]
    fn utm_parameters_are_decoded_and_kept_for_the_visit() {
        let utm = Utm::from_query("?a=1&utm_source=news+letter&utm_medium=%E2%9C%89&utm_term=%zz");
        assert_eq!(utm.0[0], "news letter");
        assert_eq!(utm.0[1], "✉");
        assert_eq!(utm.0[3], "%zz");
        assert_eq!(Utm::decode(&utm.encode()), utm);
        assert!(Utm::from_query("").is_empty());
        // The landing page's campaign stays with the visit; a new campaign replaces it.
        let (kept, store) = Utm::for_visit(Utm::default(), Some(&utm.encode()));
        assert_eq!((kept, store), (utm.clone(), None));
        let (new, store) = Utm::for_visit(Utm::from_query("utm_source=ad"), Some(&utm.encode()));
        assert_eq!(new.0[0], "ad");
        assert_eq!(store, Some(new.encode()));
        assert_eq!(percent_decode("%"), "%");
        assert_eq!(percent_decode("%FF"), "", "not UTF-8");
        assert_eq!(char_count("a😀é"), 3);
        assert_eq!(percent_decode("a%4"), "a%4");
    }
}
