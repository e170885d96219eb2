//! Building events: from what the page passed to the JSON the edge accepts.
//!
//! Each call's argument is a struct that serde reads (camelCase, with the snake_case names
//! shops paste from the wire format) and writes back as the protocol's properties. The rules
//! are the protocol's (`footprint_protocol::Event::from_json` is the oracle in the tests),
//! applied before an event is queued so that a shop sees its mistake in the console at the
//! call, not as a rejection in a network panel later. The member types and their repairs are
//! in [`super::args`].

use alloc::boxed::Box;
use alloc::string::String;

use core::mem::take;

use footprint_protocol::limits::MAX_EVENT_BYTES;
use footprint_protocol::EventType;
use serde::{Deserialize, Deserializer};

use super::args::{
    clean, object, read, Args, Check, ConsentState, Currency, Date, EventName, Exact, Free, Https,
    Id, Invalid, Key, Lines, Money, Name, Permission, Quantity, Raw, Text, NO_JSON,
};
use super::json::{round, write_fixed, write_str, write_u64};
use super::time::rfc3339;

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

impl Obj<'_> {
    fn money(&mut self, k: &str, m: Money) {
        self.key(k);
        write_fixed(self.out, false, round(m.0 * 10_000.0) as u64, 4);
    }

    fn num(&mut self, k: &str, n: u64) {
        self.key(k);
        write_u64(self.out, n);
    }

    /// A product's id, name and price, which every product-shaped object carries.
    fn product(&mut self, a: &mut Args, at: &str) -> Result<()> {
        self.str(
            "product_id",
            &take(&mut a.product_id).need::<Id>(at, "productId")?.0,
        );
        self.str("name", &take(&mut a.name).need::<Name>(at, "name")?.0);
        self.money("price", take(&mut a.price).need(at, "price")?);
        Ok(())
    }

    fn currency(&mut self, a: &mut Args, at: &str) -> Result<()> {
        self.str(
            "currency",
            &take(&mut a.currency).need::<Currency>(at, "currency")?.0,
        );
        Ok(())
    }

    fn quantity(&mut self, a: &mut Args, at: &str) -> Result<()> {
        let q: Quantity = take(&mut a.quantity)
            .opt(at, "quantity")?
            .unwrap_or_default();
        self.num("quantity", u64::from(q.0));
        Ok(())
    }

    /// An optional text member, left out when absent or empty.
    fn opt_text<const MAX: usize>(&mut self, k: &str, v: Raw, at: &str, name: &str) -> Result<()> {
        if let Some(t) = v.opt::<Text<MAX>>(at, name)? {
            if !t.0.is_empty() {
                self.str(k, &t.0);
            }
        }
        Ok(())
    }

    /// `{items, total, currency}`, from `a` (`at` naming where it is: `cart.` or empty).
    fn cart(&mut self, mut a: Args, at: &str) -> Result<()> {
        let lines = take(&mut a.items).need::<Lines>(at, "items")?;
        self.key("items");
        self.out.push('[');
        let mut first = true;
        lines.each(at, |mut line, here| {
            if !first {
                self.out.push(',');
            }
            first = false;
            let mut l = Obj::new(self.out);
            l.product(&mut line, here)?;
            l.quantity(&mut line, here)?;
            l.close();
            Ok(())
        })?;
        self.out.push(']');
        self.money("total", take(&mut a.total).need(at, "total")?);
        self.currency(&mut a, at)
    }
}

/// The properties JSON of a page-facing call, from what the page passed. `page_view` is built
/// by [`page_view`], and `custom` by [`custom`].
pub fn properties<'de, D: Deserializer<'de>>(ty: EventType, arg: D) -> Result<String> {
    let arg = read(arg)?;
    let mut s = String::with_capacity(128);
    let mut o = Obj::new(&mut s);
    match ty {
        EventType::ProductView => {
            let mut a = object(arg)?;
            o.product(&mut a, "")?;
            o.currency(&mut a, "")?;
            o.opt_text::<300>("category", a.category, "", "category")?;
            o.opt_text::<2048>("url", a.url, "", "url")?;
            o.opt_text::<2048>("image_url", a.image_url, "", "imageUrl")?;
        }
        EventType::CartAdd | EventType::CartRemove => {
            let mut a = object(arg)?;
            o.product(&mut a, "")?;
            o.currency(&mut a, "")?;
            o.quantity(&mut a, "")?;
            if let Some(cart) = a.cart.opt::<Box<Args>>("", "cart")? {
                o.key("cart");
                let mut c = Obj::new(o.out);
                c.cart(*cart, "cart.")?;
                c.close();
            }
        }
        // `{cart}` or the cart alone.
        EventType::CartUpdate | EventType::CheckoutStart => {
            let mut a = object(arg)?;
            o.key("cart");
            let mut c = Obj::new(o.out);
            match take(&mut a.cart).opt::<Box<Args>>("", "cart")? {
                Some(cart) => c.cart(*cart, "cart.")?,
                None => c.cart(a, "")?,
            }
            c.close();
        }
        EventType::Purchase => {
            let mut a = object(arg)?;
            o.str(
                "order_id",
                &take(&mut a.order_id).need::<Id>("", "orderId")?.0,
            );
            o.cart(a, "")?;
        }
        EventType::Identify => {
            let a = object(arg)?;
            let email: Option<Exact<254>> = a.email.opt("", "email")?;
            let phone: Option<Exact<32>> = a.phone.opt("", "phone")?;
            let mut reached = false;
            for (k, v) in [("email", email.map(|e| e.0)), ("phone", phone.map(|p| p.0))] {
                if let Some(v) = v.filter(|v| !v.is_empty()) {
                    o.str(k, &v);
                    reached = true;
                }
            }
            if !reached {
                return Err(Invalid::new("", "needs an email or a phone"));
            }
            o.opt_text::<100>("first_name", a.first_name, "", "firstName")?;
            o.opt_text::<100>("last_name", a.last_name, "", "lastName")?;
            if let Some(d) = a.birth_date.opt::<Date>("", "birthDate")? {
                o.str("birth_date", &d.0);
            }
            if let Some(c) = a.custom.opt("custom")? {
                o.raw("custom", &c.0);
            }
        }
        EventType::Consent => o.str("state", state::<ConsentState>(arg)?.0),
        EventType::PushPermission => o.str("state", state::<Permission>(arg)?.0),
        EventType::PushSubscribe | EventType::PushUnsubscribe => {
            let a = object(arg)?;
            o.str("endpoint", &a.endpoint.need::<Https>("", "endpoint")?.0);
            if ty == EventType::PushSubscribe {
                let k: Box<Args> = a.keys.need("", "keys")?;
                o.key("keys");
                let mut keys = Obj::new(o.out);
                keys.str("p256dh", &k.p256dh.need::<Key<200>>("keys.", "p256dh")?.0);
                keys.str("auth", &k.auth.need::<Key<100>>("keys.", "auth")?.0);
                keys.close();
            }
        }
        EventType::PushReceived | EventType::PushClick => {
            let a = object(arg)?;
            let id = a.notification_id.need::<Id>("", "notificationId")?;
            o.str("notification_id", &id.0);
            o.opt_text::<300>("campaign", a.campaign, "", "campaign")?;
        }
        EventType::Logout => {}
        EventType::Custom => return Err(Invalid::new("", "is sent with track(name, props)")),
        // The shop's backend and its email and SMS providers know these, not a browser.
        EventType::Refund
        | EventType::EmailSent
        | EventType::EmailDelivered
        | EventType::EmailOpened
        | EventType::EmailClicked
        | EventType::EmailBounced
        | EventType::EmailComplained
        | EventType::EmailUnsubscribed
        | EventType::SmsSent
        | EventType::SmsDelivered
        | EventType::SmsOpened
        | EventType::SmsClicked
        | EventType::SmsBounced
        | EventType::SmsComplained
        | EventType::SmsUnsubscribed => {
            return Err(Invalid::new(
                "",
                "is reported by the shop's servers, not by a shopper's browser",
            ))
        }
        EventType::PageView => return Err(Invalid::new("", "is sent with page()")),
    }
    o.close();
    Ok(s)
}

/// `consent` and `pushPermission` take `{state}` or the state alone (`consent(true)`).
fn state<T: Check>(arg: Raw) -> Result<T> {
    match arg {
        Raw::Obj(a) => a.state.need("", "state"),
        // The argument is the state: its problem reads `footprint.consent: must be …`.
        v => v.need("", ""),
    }
}

/// `track(name, props)`: the shop's own event; `props` absent (`None`) is `{}`.
pub fn custom<'de, D: Deserializer<'de>>(name: D, props: Option<D>) -> Result<String> {
    let name = read(name)?.need::<EventName>("", "name")?;
    let properties = match props {
        None => None,
        Some(p) => Free::deserialize(p)
            .map_err(|_| Invalid::new("properties", NO_JSON))?
            .opt("properties")?,
    };
    let mut s = String::new();
    let mut o = Obj::new(&mut s);
    o.str("name", &name.0);
    o.raw("properties", properties.as_ref().map_or("{}", |p| &p.0));
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
pub fn page_view<'de, D: Deserializer<'de>>(page: &Page, overrides: Option<D>) -> Result<String> {
    let o = match overrides {
        Some(d) => match read(d)? {
            Raw::Null => Args::default(),
            v => object(v).map_err(|_| Invalid::new("", "expects an object or nothing"))?,
        },
        None => Args::default(),
    };
    let pick =
        |over: Option<Text<2048>>, read: &str| over.map_or_else(|| clean(read, 2048), |t| t.0);
    let url = pick(o.url.opt("", "url")?, &page.url);
    let path = pick(o.path.opt("", "path")?, &page.path);
    let title = match o.title.opt::<Text<500>>("", "title")? {
        Some(t) => t.0,
        None => clean(&page.title, 500),
    };
    let referrer = pick(o.referrer.opt("", "referrer")?, &page.referrer);
    let mut s = String::new();
    let mut w = Obj::new(&mut s);
    w.str("url", &url);
    w.str("path", if path.is_empty() { "/" } else { &path });
    w.text("title", &title, 500);
    w.text("referrer", &referrer, 2048);
    w.close();
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
            json!({
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
            (
                EventType::Consent,
                json!("maybe"),
                "x: must be \"yes\", \"no\"",
            ),
            (
                EventType::Consent,
                json!({"state": 3}),
                "state must be \"yes\"",
            ),
            (EventType::Consent, json!({}), "state is required"),
            (
                EventType::Purchase,
                json!({"orderId": "o", "items": [], "total": 1}),
                "currency is required",
            ),
            (
                EventType::CartAdd,
                json!({"productId": "p", "name": "n", "price": 1, "currency": "EUR",
                       "cart": {"items": [{"productId": "p", "name": "n", "price": true}],
                                "total": 1, "currency": "EUR"}}),
                "cart.items[0].price must be a number",
            ),
            (
                EventType::ProductView,
                json!({"product_id": {"a": 1}, "name": "x", "price": 1, "currency": "EUR"}),
                "productId must be a string of 1 to 100 characters",
            ),
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
            &page_view::<&Value>(&Page::default(), None).unwrap(),
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
        // Nesting is bounded by the protocol; the size of the whole argument is bounded
        // before serde reads it, in the browser (`platform::plain`).
        let props = custom(&x, Some(&json!({"a": {"b": [1, 2]}}))).unwrap();
        assert_eq!(props, r#"{"name":"x","properties":{"a":{"b":[1,2]}}}"#);
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
        assert_eq!(crate::core::args::char_count("a😀é"), 3);
    }
}
