//! Facts: what one event tells about its contact, boiled down for the aggregate.
//!
//! A fact is built from a validated [`Event`] on the request's worker thread, so the single
//! writer thread never parses JSON; and the same function builds it again from a stored event
//! when a sheet is recomputed from history (the property test does exactly that).

use footprint_protocol::{
    Cart, CartItem, ConsentState, Context, EventKind, EventType, PushPermissionState,
};

use crate::identity::{Email, Phone, Refused, Region};

/// An amount in ten-thousandths of the currency's major unit. Every valid [`Amount`] has at
/// most four decimals and is below 10^11, so one is below 10^15 units, and a sum of fewer than
/// 2^64 of them (every event a store can hold) is below 2×10^34: an `i128` holds any sum, and
/// the products averages take, exactly. An `i64` held only ~9,000 maximal purchases: past
/// them a sheet showed a negative average order value, or panicked in a debug build.
/// Stored records are postcard's zig-zag varints, whose bytes do not depend on the width:
/// records written as `i64` read as `i128`.
///
/// [`Amount`]: footprint_protocol::Amount
pub type Units = i128;

/// Ten-thousandths per major unit.
pub const UNITS: Units = 10_000;

fn units(a: footprint_protocol::Amount) -> Units {
    use rust_decimal::prelude::ToPrimitive;
    // Exact: at most 4 decimals and below 10^11 by the protocol's checks.
    (a.as_decimal() * rust_decimal::Decimal::from(UNITS))
        .to_i128()
        .unwrap_or(0)
}

/// Custom event names the edge reads as well as stores: the shop's own newsletter form
/// reports a sign-up or a cancellation with them (`footprint.track("newsletter_subscribe")`),
/// and the contact's newsletter status follows the latest. Segment's e-commerce spec names
/// its events the same way, on `track`, rather than with a method each.
pub const NEWSLETTER_SUBSCRIBE: &str = "newsletter_subscribe";
pub const NEWSLETTER_UNSUBSCRIBE: &str = "newsletter_unsubscribe";

/// One event, as the aggregate needs it. Facts travel inside commands (serde, postcard).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Fact {
    /// The event's (skew-corrected) time, ms since the epoch.
    pub at: i64,
    pub user_agent: Option<String>,
    pub kind: FactKind,
    /// The points the site's rules gave the event when it was accepted (`points`).
    pub earned: Option<super::points::Earned>,
    /// A purchase's lines and source, for its order record.
    pub order: Option<OrderDetail>,
    /// A page view's page, so a list row can say where an anonymous visitor was last
    /// (command version 4).
    pub page: Option<PageSeen>,
}

/// The page of a page view: its path and, when the browser sent one, its title. Both are
/// bounded by the protocol (2,048 and 500 bytes), and a contact keeps only its latest.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct PageSeen {
    pub path: String,
    pub title: Option<String>,
}

impl PageSeen {
    /// How a person names the page: its title, or its path when it has none.
    pub fn words(&self) -> &str {
        self.title
            .as_deref()
            .filter(|t| !t.trim().is_empty())
            .unwrap_or(&self.path)
    }
}

#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub enum FactKind {
    PageView,
    ProductView {
        product_id: String,
        name: String,
        category: Option<String>,
    },
    /// A product put in the cart, with the cart after the change when the shop sent it.
    CartAdd {
        product_id: String,
        name: String,
        cart: Option<CartState>,
    },
    /// A product taken out: only the cart after the change, when sent, matters here.
    CartRemove {
        cart: Option<CartState>,
    },
    /// `cart_update` and `checkout_start`: the whole cart.
    Cart(CartState),
    Purchase {
        order_id: String,
        total: Units,
        currency: String,
    },
    Identify(IdentifyFact),
    Consent(ConsentState),
    /// A custom event named [`NEWSLETTER_SUBSCRIBE`] (true) or [`NEWSLETTER_UNSUBSCRIBE`].
    Newsletter(bool),
    PushPermission(PushPermissionState),
    PushSubscribe {
        endpoint: String,
    },
    PushUnsubscribe {
        endpoint: String,
    },
    /// Counted as activity only: logout, push_received, push_click, custom events.
    Other,
    /// Money given back on an order (new variants go last: commands name variants by index).
    /// The store knows the order, so it works out what the refund takes off.
    Refund {
        order_id: String,
        amount: Option<Units>,
        currency: Option<String>,
        reason: Option<String>,
    },
    /// What an email or SMS provider reported, through the shop's servers.
    Delivery {
        channel: super::delivery::Channel,
        signal: super::delivery::Signal,
    },
}

impl FactKind {
    /// Whether it shows the contact doing something: every event a browser sends does, a
    /// message the shop sent them does not until they open it.
    pub fn engages(&self) -> bool {
        match self {
            FactKind::Delivery { signal, .. } => signal.engages(),
            _ => true,
        }
    }
}

/// Where an event came from: a shopper's browser (`/v1/batch`) or the shop's servers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub enum Source {
    #[default]
    Browser,
    Server,
}

impl Source {
    pub fn as_str(self) -> &'static str {
        match self {
            Source::Browser => "browser",
            Source::Server => "server",
        }
    }
}

/// What the Orders view keeps of a purchase besides its totals.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct OrderDetail {
    pub items: Vec<Line>,
    pub source: Source,
}

/// A cart or order line.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Line {
    pub product_id: String,
    pub name: String,
    pub price: Units,
    pub quantity: u32,
    pub currency: String,
}

/// A whole cart as the shop reported it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct CartState {
    pub items: Vec<Line>,
    pub total: Units,
    pub currency: String,
}

/// What an `identify` carries once its values are normalised. `email` and `phone` are `None`
/// when absent or refused; an identify with neither changes no mapping.
#[derive(Debug, Clone, PartialEq, Default, serde::Serialize, serde::Deserialize)]
pub struct IdentifyFact {
    pub email: Option<Email>,
    pub phone: Option<Phone>,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    /// `YYYY-MM-DD`.
    pub birth_date: Option<String>,
    /// `custom`'s members, each value as JSON text.
    pub custom: Vec<(String, String)>,
}

impl IdentifyFact {
    /// True when it carries a value a contact can be found by.
    pub fn has_key(&self) -> bool {
        self.email.is_some() || self.phone.is_some()
    }
}

/// A value of an identify that was refused, for the batch response's warnings: the event is
/// stored all the same.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RefusedValue {
    /// An email or phone that cannot be an identity key.
    Key { field: &'static str, why: Refused },
    /// A custom field too large for a contact to keep.
    Custom { key: String },
}

impl RefusedValue {
    /// The batch response's warning.
    pub fn warning(&self) -> String {
        match self {
            RefusedValue::Key { field, why } => {
                format!("{field} {why}; the event is stored but links no contact by it")
            }
            RefusedValue::Custom { key } => format!(
                "properties.custom.{} is over {MAX_CUSTOM_KEY_BYTES} bytes of name or \
                 {MAX_CUSTOM_VALUE_BYTES} bytes of JSON value; the event is stored, and the \
                 contact does not keep it",
                key.chars().take(MAX_CUSTOM_KEY_BYTES).collect::<String>()
            ),
        }
    }
}

/// Longest custom field name a contact keeps, in bytes.
pub const MAX_CUSTOM_KEY_BYTES: usize = 64;
/// Longest custom field value a contact keeps, in bytes of JSON text. With
/// [`super::aggregate::MAX_CUSTOM_FIELDS`] it bounds what custom fields add to a contact's
/// record (and so the writer's cost per event on it) at about 110 KB.
pub const MAX_CUSTOM_VALUE_BYTES: usize = 1024;

fn cart_state(c: &Cart) -> CartState {
    let currency = c.currency.as_str().to_owned();
    CartState {
        items: c
            .items
            .as_slice()
            .iter()
            .map(|i| line(i, &currency))
            .collect(),
        total: units(c.total),
        currency,
    }
}

fn line(i: &CartItem, currency: &str) -> Line {
    Line {
        product_id: i.product_id.as_str().to_owned(),
        name: i.name.as_str().to_owned(),
        price: units(i.price),
        quantity: i.quantity.get(),
        currency: currency.to_owned(),
    }
}

/// The fact of a validated event, with `at` its corrected time and `rules` its site's point
/// rules, if it has any; `source` says which endpoint took it. Refused identity values come
/// back beside it: the event itself is still stored.
pub fn of_event(
    kind: &EventKind,
    context: &Context,
    source: Source,
    at: i64,
    region: Option<Region>,
    rules: Option<&super::points::PointRules>,
) -> (Fact, Vec<RefusedValue>) {
    let (fact_kind, refused) = of_kind(kind, region);
    let mut fact = fact(fact_kind, context, at);
    fact.earned = rules.and_then(|r| r.earned(kind));
    if let EventKind::Purchase(p) = kind {
        fact.order = Some(OrderDetail {
            items: p
                .items
                .as_slice()
                .iter()
                .map(|i| line(i, p.currency.as_str()))
                .collect(),
            source,
        });
    }
    fact.page = page_of(kind);
    (fact, refused)
}

fn page_of(kind: &EventKind) -> Option<PageSeen> {
    match kind {
        EventKind::PageView(p) => Some(PageSeen {
            path: p.path.as_str().to_owned(),
            title: p.title.as_ref().map(|t| t.as_str().to_owned()),
        }),
        _ => None,
    }
}

fn fact(kind: FactKind, context: &Context, at: i64) -> Fact {
    Fact {
        at,
        user_agent: context
            .user_agent
            .as_ref()
            .map(|u| u.as_str().to_owned())
            .filter(|u| !u.is_empty()),
        kind,
        earned: None,
        order: None,
        page: None,
    }
}

fn of_kind(kind: &EventKind, region: Option<Region>) -> (FactKind, Vec<RefusedValue>) {
    let mut refused = Vec::new();
    let kind = match kind {
        EventKind::PageView(_) => FactKind::PageView,
        EventKind::ProductView(p) => FactKind::ProductView {
            product_id: p.product_id.as_str().to_owned(),
            name: p.name.as_str().to_owned(),
            category: p.category.as_ref().map(|c| c.as_str().to_owned()),
        },
        EventKind::CartAdd(l) => FactKind::CartAdd {
            product_id: l.product_id.as_str().to_owned(),
            name: l.name.as_str().to_owned(),
            cart: l.cart.as_ref().map(cart_state),
        },
        EventKind::CartRemove(l) => FactKind::CartRemove {
            cart: l.cart.as_ref().map(cart_state),
        },
        EventKind::CartUpdate(s) | EventKind::CheckoutStart(s) => {
            FactKind::Cart(cart_state(&s.cart))
        }
        EventKind::Purchase(p) => FactKind::Purchase {
            order_id: p.order_id.as_str().to_owned(),
            total: units(p.total),
            currency: p.currency.as_str().to_owned(),
        },
        EventKind::Refund(r) => FactKind::Refund {
            order_id: r.order_id.as_str().to_owned(),
            amount: r.amount.map(units),
            currency: r.currency.as_ref().map(|c| c.as_str().to_owned()),
            reason: r.reason.as_ref().map(|t| t.as_str().to_owned()),
        },
        EventKind::Identify(i) => {
            let mut f = IdentifyFact::default();
            if let Some(raw) = i.email() {
                match Email::normalize(raw) {
                    Ok(e) => f.email = Some(e),
                    Err(why) => refused.push(RefusedValue::Key {
                        field: "properties.email",
                        why,
                    }),
                }
            }
            if let Some(raw) = i.phone() {
                match Phone::normalize(raw, region) {
                    Ok(p) => f.phone = Some(p),
                    Err(why) => refused.push(RefusedValue::Key {
                        field: "properties.phone",
                        why,
                    }),
                }
            }
            let text = |s: Option<&str>| {
                s.map(str::trim)
                    .filter(|s| !s.is_empty())
                    .map(str::to_owned)
            };
            f.first_name = text(i.first_name());
            f.last_name = text(i.last_name());
            f.birth_date = i.birth_date().map(|d| d.to_string());
            for (k, v) in i.custom().into_iter().flatten() {
                let v = v.to_string();
                if k.len() > MAX_CUSTOM_KEY_BYTES || v.len() > MAX_CUSTOM_VALUE_BYTES {
                    refused.push(RefusedValue::Custom { key: k.clone() });
                } else {
                    f.custom.push((k.clone(), v));
                }
            }
            FactKind::Identify(f)
        }
        EventKind::Consent(c) => FactKind::Consent(c.state),
        EventKind::PushPermission(p) => FactKind::PushPermission(p.state),
        EventKind::PushSubscribe(s) => FactKind::PushSubscribe {
            endpoint: s.endpoint.as_str().to_owned(),
        },
        EventKind::PushUnsubscribe(s) => FactKind::PushUnsubscribe {
            endpoint: s.endpoint.as_str().to_owned(),
        },
        EventKind::Custom(c) if c.name.as_str() == NEWSLETTER_SUBSCRIBE => {
            FactKind::Newsletter(true)
        }
        EventKind::Custom(c) if c.name.as_str() == NEWSLETTER_UNSUBSCRIBE => {
            FactKind::Newsletter(false)
        }
        EventKind::EmailSent(_)
        | EventKind::EmailDelivered(_)
        | EventKind::EmailOpened(_)
        | EventKind::EmailClicked(_)
        | EventKind::EmailBounced(_)
        | EventKind::EmailComplained(_)
        | EventKind::EmailUnsubscribed(_)
        | EventKind::SmsSent(_)
        | EventKind::SmsDelivered(_)
        | EventKind::SmsOpened(_)
        | EventKind::SmsClicked(_)
        | EventKind::SmsBounced(_)
        | EventKind::SmsComplained(_)
        | EventKind::SmsUnsubscribed(_) => delivery(kind),
        EventKind::Logout(_)
        | EventKind::PushReceived(_)
        | EventKind::PushClick(_)
        | EventKind::Custom(_) => FactKind::Other,
    };
    (kind, refused)
}

/// The fact of a delivery event.
fn delivery(kind: &EventKind) -> FactKind {
    use super::delivery::{Channel, Signal};
    let bounced = |b: &footprint_protocol::DeliveryBounce| Signal::Bounced {
        hard: b.bounce == footprint_protocol::BounceKind::Hard,
        reason: b
            .reason
            .as_ref()
            .map(|r| r.as_str().trim().to_owned())
            .filter(|r| !r.is_empty()),
    };
    let (channel, signal) = match kind {
        EventKind::EmailSent(_) => (Channel::Email, Signal::Sent),
        EventKind::EmailDelivered(_) => (Channel::Email, Signal::Delivered),
        EventKind::EmailOpened(_) => (Channel::Email, Signal::Opened),
        EventKind::EmailClicked(_) => (Channel::Email, Signal::Clicked),
        EventKind::EmailBounced(b) => (Channel::Email, bounced(b)),
        EventKind::EmailComplained(_) => (Channel::Email, Signal::Complained),
        EventKind::EmailUnsubscribed(_) => (Channel::Email, Signal::Unsubscribed),
        EventKind::SmsSent(_) => (Channel::Sms, Signal::Sent),
        EventKind::SmsDelivered(_) => (Channel::Sms, Signal::Delivered),
        EventKind::SmsOpened(_) => (Channel::Sms, Signal::Opened),
        EventKind::SmsClicked(_) => (Channel::Sms, Signal::Clicked),
        EventKind::SmsBounced(b) => (Channel::Sms, bounced(b)),
        EventKind::SmsComplained(_) => (Channel::Sms, Signal::Complained),
        EventKind::SmsUnsubscribed(_) => (Channel::Sms, Signal::Unsubscribed),
        _ => return FactKind::Other,
    };
    FactKind::Delivery { channel, signal }
}

/// The fact of a stored event: its type, properties and context as the store keeps them.
/// `None` when the record no longer parses, which the store's own writes rule out. Points are
/// not in it: they were given under the rules of the day the event came (`points`).
pub fn of_stored(
    kind: &str,
    properties_json: &str,
    context_json: &str,
    at: i64,
    region: Option<Region>,
) -> Option<Fact> {
    let ty = EventType::parse(kind)?;
    let kind = EventKind::from_properties(ty, Some(properties_json)).ok()?;
    let context: Context = serde_json::from_str(context_json).ok()?;
    Some(Fact {
        page: page_of(&kind),
        ..fact(of_kind(&kind, region).0, &context, at)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn money_stored_as_i64_reads_as_i128() {
        // Records written before `Units` became i128 must still decode: postcard writes both
        // as the same zig-zag varint.
        for v in [0i64, 1, -1, 999_999_999_999_999, i64::MAX, i64::MIN] {
            let old = postcard::to_allocvec(&v).unwrap();
            assert_eq!(postcard::from_bytes::<Units>(&old).unwrap(), Units::from(v));
        }
    }
}
