//! Events: one Rust type per event kind, with typed properties.
//!
//! Parsing goes through [`Event::from_json`] rather than a derived `Deserialize`: the envelope is
//! read first and `properties` second, by type, so that an error names the exact field
//! (`properties.price: must not be negative`) and a `logout` may carry `{}`, `null` or nothing.
//! Unknown fields are ignored so that a newer tracker can talk to an older edge; data a shop
//! wants kept beyond the typed fields goes in `custom`.

use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::value::RawValue;
use serde_json::{Map, Value};

use crate::ids::{MessageId, TrackerId};
use crate::kind::EventType;
use crate::limits::{MAX_CART_ITEMS, MAX_EVENT_BYTES, MAX_JSON_DEPTH, MAX_QUANTITY};
use crate::money::{Amount, Currency};
use crate::text::Text;
use crate::time::Timestamp;

/// A URL or URL-like string as a browser reports it; may be empty (`document.referrer`).
pub type Url = Text<0, 2048>;
/// An identifier chosen by the shop: a product id, an order id, a notification id.
pub type ShopId = Text<1, 100>;
/// A human-readable name: a product, a category, a campaign.
pub type Name = Text<1, 300>;

/// One tracked event, as the tracker sends it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Event {
    pub message_id: MessageId,
    pub tracker_id: TrackerId,
    /// When the event happened, by the browser's clock.
    pub timestamp: Timestamp,
    pub context: Context,
    #[serde(flatten)]
    pub kind: EventKind,
}

/// Where and on what an event happened. Every field is optional.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Context {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub page_url: Option<Url>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub referrer: Option<Url>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_agent: Option<Text<0, 512>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub locale: Option<Text<0, 35>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub screen: Option<Text<0, 20>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub utm: Option<Utm>,
}

/// Campaign parameters from the landing URL.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Utm {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<Text<0, 300>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub medium: Option<Text<0, 300>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub campaign: Option<Text<0, 300>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub term: Option<Text<0, 300>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content: Option<Text<0, 300>>,
}

/// The kinds of event, with their properties. On the wire: `"type"` plus `"properties"`.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "type", content = "properties", rename_all = "snake_case")]
pub enum EventKind {
    PageView(PageView),
    ProductView(ProductView),
    CartAdd(CartLine),
    CartRemove(CartLine),
    CartUpdate(CartSnapshot),
    CheckoutStart(CartSnapshot),
    Purchase(Purchase),
    Identify(Identify),
    Logout(NoProperties),
    Consent(Consent),
    PushPermission(PushPermission),
    PushSubscribe(PushSubscribe),
    PushUnsubscribe(PushUnsubscribe),
    PushReceived(Notification),
    PushClick(Notification),
    Custom(CustomEvent),
    Refund(Refund),
    EmailSent(Delivery),
    EmailDelivered(Delivery),
    EmailOpened(Delivery),
    EmailClicked(DeliveryClick),
    EmailBounced(DeliveryBounce),
    EmailComplained(Delivery),
    EmailUnsubscribed(Delivery),
    SmsSent(Delivery),
    SmsDelivered(Delivery),
    SmsOpened(Delivery),
    SmsClicked(DeliveryClick),
    SmsBounced(DeliveryBounce),
    SmsComplained(Delivery),
    SmsUnsubscribed(Delivery),
}

impl EventKind {
    pub fn event_type(&self) -> EventType {
        match self {
            EventKind::PageView(_) => EventType::PageView,
            EventKind::ProductView(_) => EventType::ProductView,
            EventKind::CartAdd(_) => EventType::CartAdd,
            EventKind::CartRemove(_) => EventType::CartRemove,
            EventKind::CartUpdate(_) => EventType::CartUpdate,
            EventKind::CheckoutStart(_) => EventType::CheckoutStart,
            EventKind::Purchase(_) => EventType::Purchase,
            EventKind::Identify(_) => EventType::Identify,
            EventKind::Logout(_) => EventType::Logout,
            EventKind::Consent(_) => EventType::Consent,
            EventKind::PushPermission(_) => EventType::PushPermission,
            EventKind::PushSubscribe(_) => EventType::PushSubscribe,
            EventKind::PushUnsubscribe(_) => EventType::PushUnsubscribe,
            EventKind::PushReceived(_) => EventType::PushReceived,
            EventKind::PushClick(_) => EventType::PushClick,
            EventKind::Custom(_) => EventType::Custom,
            EventKind::Refund(_) => EventType::Refund,
            EventKind::EmailSent(_) => EventType::EmailSent,
            EventKind::EmailDelivered(_) => EventType::EmailDelivered,
            EventKind::EmailOpened(_) => EventType::EmailOpened,
            EventKind::EmailClicked(_) => EventType::EmailClicked,
            EventKind::EmailBounced(_) => EventType::EmailBounced,
            EventKind::EmailComplained(_) => EventType::EmailComplained,
            EventKind::EmailUnsubscribed(_) => EventType::EmailUnsubscribed,
            EventKind::SmsSent(_) => EventType::SmsSent,
            EventKind::SmsDelivered(_) => EventType::SmsDelivered,
            EventKind::SmsOpened(_) => EventType::SmsOpened,
            EventKind::SmsClicked(_) => EventType::SmsClicked,
            EventKind::SmsBounced(_) => EventType::SmsBounced,
            EventKind::SmsComplained(_) => EventType::SmsComplained,
            EventKind::SmsUnsubscribed(_) => EventType::SmsUnsubscribed,
        }
    }

    /// The properties alone, as canonical JSON: what the edge stores.
    pub fn properties_json(&self) -> String {
        let r = match self {
            EventKind::PageView(p) => serde_json::to_string(p),
            EventKind::ProductView(p) => serde_json::to_string(p),
            EventKind::CartAdd(p) | EventKind::CartRemove(p) => serde_json::to_string(p),
            EventKind::CartUpdate(p) | EventKind::CheckoutStart(p) => serde_json::to_string(p),
            EventKind::Purchase(p) => serde_json::to_string(p),
            EventKind::Identify(p) => serde_json::to_string(p),
            EventKind::Logout(p) => serde_json::to_string(p),
            EventKind::Consent(p) => serde_json::to_string(p),
            EventKind::PushPermission(p) => serde_json::to_string(p),
            EventKind::PushSubscribe(p) => serde_json::to_string(p),
            EventKind::PushUnsubscribe(p) => serde_json::to_string(p),
            EventKind::PushReceived(p) | EventKind::PushClick(p) => serde_json::to_string(p),
            EventKind::Custom(p) => serde_json::to_string(p),
            EventKind::Refund(p) => serde_json::to_string(p),
            EventKind::EmailSent(p)
            | EventKind::EmailDelivered(p)
            | EventKind::EmailOpened(p)
            | EventKind::EmailComplained(p)
            | EventKind::EmailUnsubscribed(p)
            | EventKind::SmsSent(p)
            | EventKind::SmsDelivered(p)
            | EventKind::SmsOpened(p)
            | EventKind::SmsComplained(p)
            | EventKind::SmsUnsubscribed(p) => serde_json::to_string(p),
            EventKind::EmailClicked(p) | EventKind::SmsClicked(p) => serde_json::to_string(p),
            EventKind::EmailBounced(p) | EventKind::SmsBounced(p) => serde_json::to_string(p),
        };
        // Serializing these plain structs into a String cannot fail.
        r.unwrap_or_else(|_| "{}".to_owned())
    }

    /// Reads `properties` for an event of type `ty`. `raw` is `None` when the field is absent.
    pub fn from_properties(ty: EventType, raw: Option<&str>) -> Result<EventKind, EventError> {
        fn props<T: DeserializeOwned>(raw: Option<&str>) -> Result<T, EventError> {
            let raw = raw.ok_or_else(|| EventError::field("properties", "is required"))?;
            parse_at("properties", raw)
        }
        // Properties that are all optional may be left out, or sent as `null`.
        fn optional<T: DeserializeOwned + Default>(raw: Option<&str>) -> Result<T, EventError> {
            match raw.map(str::trim) {
                None | Some("null") => Ok(T::default()),
                raw => props(raw),
            }
        }
        Ok(match ty {
            EventType::PageView => EventKind::PageView(props(raw)?),
            EventType::ProductView => EventKind::ProductView(props(raw)?),
            EventType::CartAdd => EventKind::CartAdd(props(raw)?),
            EventType::CartRemove => EventKind::CartRemove(props(raw)?),
            EventType::CartUpdate => EventKind::CartUpdate(props(raw)?),
            EventType::CheckoutStart => EventKind::CheckoutStart(props(raw)?),
            EventType::Purchase => EventKind::Purchase(props(raw)?),
            EventType::Identify => EventKind::Identify(props(raw)?),
            // Trackers variously send nothing, `null` or `{}` for a property-less event.
            EventType::Logout => match raw.map(str::trim) {
                None | Some("null") => EventKind::Logout(NoProperties {}),
                raw => EventKind::Logout(props(raw)?),
            },
            EventType::Consent => EventKind::Consent(props(raw)?),
            EventType::PushPermission => EventKind::PushPermission(props(raw)?),
            EventType::PushSubscribe => EventKind::PushSubscribe(props(raw)?),
            EventType::PushUnsubscribe => EventKind::PushUnsubscribe(props(raw)?),
            EventType::PushReceived => EventKind::PushReceived(props(raw)?),
            EventType::PushClick => EventKind::PushClick(props(raw)?),
            EventType::Custom => EventKind::Custom(props(raw)?),
            EventType::Refund => EventKind::Refund(props(raw)?),
            EventType::EmailSent => EventKind::EmailSent(optional(raw)?),
            EventType::EmailDelivered => EventKind::EmailDelivered(optional(raw)?),
            EventType::EmailOpened => EventKind::EmailOpened(optional(raw)?),
            EventType::EmailClicked => EventKind::EmailClicked(props(raw)?),
            EventType::EmailBounced => EventKind::EmailBounced(props(raw)?),
            EventType::EmailComplained => EventKind::EmailComplained(optional(raw)?),
            EventType::EmailUnsubscribed => EventKind::EmailUnsubscribed(optional(raw)?),
            EventType::SmsSent => EventKind::SmsSent(optional(raw)?),
            EventType::SmsDelivered => EventKind::SmsDelivered(optional(raw)?),
            EventType::SmsOpened => EventKind::SmsOpened(optional(raw)?),
            EventType::SmsClicked => EventKind::SmsClicked(props(raw)?),
            EventType::SmsBounced => EventKind::SmsBounced(props(raw)?),
            EventType::SmsComplained => EventKind::SmsComplained(optional(raw)?),
            EventType::SmsUnsubscribed => EventKind::SmsUnsubscribed(optional(raw)?),
        })
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PageView {
    pub url: Url,
    pub path: Text<1, 2048>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<Text<0, 500>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub referrer: Option<Url>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProductView {
    pub product_id: ShopId,
    pub name: Name,
    pub price: Amount,
    pub currency: Currency,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub category: Option<Name>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<Url>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image_url: Option<Url>,
}

/// A product put into or taken out of the cart, with the cart after the change if known.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CartLine {
    pub product_id: ShopId,
    pub name: Name,
    pub price: Amount,
    pub currency: Currency,
    pub quantity: Quantity,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cart: Option<Cart>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CartSnapshot {
    pub cart: Cart,
}

/// The whole cart at one moment.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Cart {
    pub items: Items,
    pub total: Amount,
    pub currency: Currency,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CartItem {
    pub product_id: ShopId,
    pub name: Name,
    pub price: Amount,
    pub quantity: Quantity,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Purchase {
    pub order_id: ShopId,
    pub items: Items,
    pub total: Amount,
    pub currency: Currency,
}

/// Money given back on an order: all of what is left of it without `amount`, else `amount`
/// in `currency` (the order's when left out). Usually reported by the shop's backend.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Refund {
    pub order_id: ShopId,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub amount: Option<Amount>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub currency: Option<Currency>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<Text<0, 300>>,
}

/// What an email or SMS provider reports of one message: sent, delivered, opened, a
/// complaint, an unsubscribe. Every field is optional.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Delivery {
    /// The provider's id of the message, to tell one send from another.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub send_id: Option<ShopId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub campaign: Option<Name>,
}

/// A link in an email or SMS followed.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct DeliveryClick {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub send_id: Option<ShopId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub campaign: Option<Name>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<Url>,
}

/// A message that came back: `hard` (the address does not exist or refuses mail for good)
/// or `soft` (a full mailbox, an out-of-office reply: worth trying again).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeliveryBounce {
    pub bounce: BounceKind,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<Text<0, 300>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub send_id: Option<ShopId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub campaign: Option<Name>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BounceKind {
    Hard,
    Soft,
}

/// Who the shopper is, once they say so. At least one of `email` or `phone` is present.
///
/// The values are kept as sent; normalising and matching them is the edge's identity work.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "IdentifyWire")]
pub struct Identify {
    #[serde(skip_serializing_if = "Option::is_none")]
    email: Option<Text<1, 254>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    phone: Option<Text<1, 32>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    first_name: Option<Text<0, 100>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    last_name: Option<Text<0, 100>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    birth_date: Option<BirthDate>,
    #[serde(skip_serializing_if = "Option::is_none")]
    custom: Option<JsonObject>,
}

#[derive(Deserialize)]
struct IdentifyWire {
    #[serde(default)]
    email: Option<Text<1, 254>>,
    #[serde(default)]
    phone: Option<Text<1, 32>>,
    #[serde(default)]
    first_name: Option<Text<0, 100>>,
    #[serde(default)]
    last_name: Option<Text<0, 100>>,
    #[serde(default)]
    birth_date: Option<BirthDate>,
    #[serde(default)]
    custom: Option<JsonObject>,
}

impl TryFrom<IdentifyWire> for Identify {
    type Error = &'static str;
    fn try_from(w: IdentifyWire) -> Result<Self, Self::Error> {
        if w.email.is_none() && w.phone.is_none() {
            return Err("needs at least one of email or phone");
        }
        Ok(Identify {
            email: w.email,
            phone: w.phone,
            first_name: w.first_name,
            last_name: w.last_name,
            birth_date: w.birth_date,
            custom: w.custom,
        })
    }
}

impl Identify {
    pub fn email(&self) -> Option<&str> {
        self.email.as_ref().map(Text::as_str)
    }
    pub fn phone(&self) -> Option<&str> {
        self.phone.as_ref().map(Text::as_str)
    }
    pub fn first_name(&self) -> Option<&str> {
        self.first_name.as_ref().map(Text::as_str)
    }
    pub fn last_name(&self) -> Option<&str> {
        self.last_name.as_ref().map(Text::as_str)
    }
    pub fn birth_date(&self) -> Option<&BirthDate> {
        self.birth_date.as_ref()
    }
    pub fn custom(&self) -> Option<&Map<String, Value>> {
        self.custom.as_ref().map(|c| &c.0)
    }
}

/// A calendar date written `YYYY-MM-DD` that exists (no 30 February).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct BirthDate(time::Date);

impl BirthDate {
    pub fn parse(s: &str) -> Result<Self, &'static str> {
        let fmt = time::macros::format_description!("[year]-[month]-[day]");
        time::Date::parse(s, &fmt)
            .map(BirthDate)
            .map_err(|_| "must be a real date written YYYY-MM-DD")
    }
}

impl std::fmt::Display for BirthDate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let d = self.0;
        write!(
            f,
            "{:04}-{:02}-{:02}",
            d.year(),
            u8::from(d.month()),
            d.day()
        )
    }
}

impl Serialize for BirthDate {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for BirthDate {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        BirthDate::parse(&s).map_err(serde::de::Error::custom)
    }
}

/// The properties of an event that has none.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct NoProperties {}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ConsentState {
    Yes,
    No,
    NotSet,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Consent {
    pub state: ConsentState,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PushPermissionState {
    Granted,
    Denied,
    Default,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PushPermission {
    pub state: PushPermissionState,
}

/// A push service endpoint: an `https://` URL.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub struct PushEndpoint(Text<9, 2048>);

impl PushEndpoint {
    pub fn new(s: &str) -> Result<Self, String> {
        let t = Text::new(s).map_err(|e| e.to_string())?;
        if !s.starts_with("https://") || s.len() <= "https://".len() {
            return Err("must be an https:// URL".into());
        }
        Ok(PushEndpoint(t))
    }

    pub fn as_str(&self) -> &str {
        self.0.as_str()
    }
}

impl<'de> Deserialize<'de> for PushEndpoint {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        PushEndpoint::new(&s).map_err(serde::de::Error::custom)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PushKeys {
    pub p256dh: Text<1, 200>,
    pub auth: Text<1, 100>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PushSubscribe {
    pub endpoint: PushEndpoint,
    pub keys: PushKeys,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PushUnsubscribe {
    pub endpoint: PushEndpoint,
}

/// A web push notification that reached the device, or was clicked.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Notification {
    pub notification_id: ShopId,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub campaign: Option<Name>,
}

/// The escape hatch: a shop's own event name with free-form properties.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CustomEvent {
    pub name: Text<1, 100>,
    #[serde(default)]
    pub properties: JsonObject,
}

/// A cart or order line count: 1 to [`MAX_QUANTITY`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct Quantity(u32);

impl Quantity {
    pub fn new(n: u64) -> Result<Self, String> {
        match u32::try_from(n) {
            Ok(q) if (1..=MAX_QUANTITY).contains(&q) => Ok(Quantity(q)),
            _ => Err(format!("must be a whole number from 1 to {MAX_QUANTITY}")),
        }
    }

    pub fn get(self) -> u32 {
        self.0
    }
}

impl<'de> Deserialize<'de> for Quantity {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let v = Value::deserialize(d)?;
        let n = v.as_u64().ok_or_else(|| {
            serde::de::Error::custom(format!("must be a whole number from 1 to {MAX_QUANTITY}"))
        })?;
        Quantity::new(n).map_err(serde::de::Error::custom)
    }
}

/// The lines of a cart or an order: at most [`MAX_CART_ITEMS`].
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Items(Vec<CartItem>);

impl Items {
    pub fn new(items: Vec<CartItem>) -> Result<Self, String> {
        if items.len() > MAX_CART_ITEMS {
            return Err(format!(
                "must have at most {MAX_CART_ITEMS} lines, got {}",
                items.len()
            ));
        }
        Ok(Items(items))
    }

    pub fn as_slice(&self) -> &[CartItem] {
        &self.0
    }
}

impl<'de> Deserialize<'de> for Items {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Items::new(Vec::deserialize(d)?).map_err(serde::de::Error::custom)
    }
}

/// A free-form JSON object, nested at most [`MAX_JSON_DEPTH`] deep.
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
pub struct JsonObject(Map<String, Value>);

impl JsonObject {
    pub fn new(map: Map<String, Value>) -> Result<Self, String> {
        fn depth(v: &Value) -> usize {
            match v {
                Value::Array(a) => 1 + a.iter().map(depth).max().unwrap_or(0),
                Value::Object(o) => 1 + o.values().map(depth).max().unwrap_or(0),
                _ => 0,
            }
        }
        let d = 1 + map.values().map(depth).max().unwrap_or(0);
        if d > MAX_JSON_DEPTH {
            return Err(format!(
                "must be nested at most {MAX_JSON_DEPTH} levels deep"
            ));
        }
        Ok(JsonObject(map))
    }

    pub fn as_map(&self) -> &Map<String, Value> {
        &self.0
    }
}

impl<'de> Deserialize<'de> for JsonObject {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        JsonObject::new(Map::deserialize(d)?).map_err(serde::de::Error::custom)
    }
}

/// Why one event of a batch was rejected. The rest of the batch is unaffected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EventError {
    #[error("event is {size} bytes; the limit is {MAX_EVENT_BYTES}: send less in properties")]
    TooLarge { size: usize },
    #[error("{path}: {message}")]
    Field { path: String, message: String },
}

impl EventError {
    fn field(path: &str, message: &str) -> EventError {
        EventError::Field {
            path: path.to_owned(),
            message: message.to_owned(),
        }
    }
}

/// Deserializes `raw`, naming the failing field relative to `prefix` in the error.
///
/// Valid input, the common case, takes the plain parser. Only a failure is parsed again with
/// path tracking, which costs a wrapper around every visited value.
fn parse_at<'a, T: Deserialize<'a>>(prefix: &str, raw: &'a str) -> Result<T, EventError> {
    if let Ok(v) = serde_json::from_str(raw) {
        return Ok(v);
    }
    let de = &mut serde_json::Deserializer::from_str(raw);
    let e = match serde_path_to_error::deserialize::<_, T>(de) {
        Ok(v) => return Ok(v),
        Err(e) => e,
    };
    let inner = e.path().to_string();
    let path = match (prefix, inner.as_str()) {
        ("", ".") => "event".to_owned(),
        ("", p) => p.to_owned(),
        (pre, ".") => pre.to_owned(),
        (pre, p) => format!("{pre}.{p}"),
    };
    Err(EventError::Field {
        path,
        message: strip_position(&e.into_inner().to_string()),
    })
}

/// serde_json appends " at line 1 column 57"; the path already says where.
pub(crate) fn strip_position(message: &str) -> String {
    match message.rfind(" at line ") {
        Some(i) => message[..i].to_owned(),
        None => message.to_owned(),
    }
}

#[derive(Deserialize)]
#[serde(expecting = "an event object")]
struct WireEvent<'a> {
    message_id: MessageId,
    tracker_id: TrackerId,
    #[serde(rename = "type")]
    kind: EventType,
    timestamp: Timestamp,
    #[serde(default)]
    context: Option<Context>,
    #[serde(borrow, default)]
    properties: Option<&'a RawValue>,
}

impl Event {
    /// Parses and validates one event a browser sent (`POST /v1/batch`).
    pub fn from_json(raw: &str) -> Result<Event, EventError> {
        if raw.len() > MAX_EVENT_BYTES {
            return Err(EventError::TooLarge { size: raw.len() });
        }
        let wire: WireEvent<'_> = parse_at("", raw)?;
        check_tracker(&wire.tracker_id)?;
        if wire.kind.server_only() {
            return Err(EventError::field(
                "type",
                &format!(
                    "{} is reported by the shop's servers to POST /v1/server/batch, not by a \
                     browser",
                    wire.kind.as_str()
                ),
            ));
        }
        let kind = EventKind::from_properties(wire.kind, wire.properties.map(RawValue::get))?;
        Ok(Event {
            message_id: wire.message_id,
            tracker_id: wire.tracker_id,
            timestamp: wire.timestamp,
            context: wire.context.unwrap_or_default(),
            kind,
        })
    }
}

/// The trackers the edge keeps for the shop's servers are named `server:<contact id>`: no
/// browser's may be, or it could write into a contact it does not own.
pub const SERVER_TRACKER_PREFIX: &str = "server:";

fn check_tracker(t: &TrackerId) -> Result<(), EventError> {
    if t.as_str().starts_with(SERVER_TRACKER_PREFIX) {
        return Err(EventError::field(
            "tracker_id",
            "may not start with `server:`, which names the edge's own trackers",
        ));
    }
    Ok(())
}

/// Whom a server's event is about: a browser's tracker, or a contact.
#[derive(Debug, Clone, PartialEq)]
pub enum Recipient {
    Tracker(TrackerId),
    Contact(ContactAddress),
}

/// A contact as a shop's server names it: by email, phone or the edge's contact id. An email
/// or phone no contact has yet makes a new contact with it.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ContactAddress {
    Email(Text<1, 254>),
    Phone(Text<1, 32>),
    Id(u64),
}

impl<'de> Deserialize<'de> for ContactAddress {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(
            deny_unknown_fields,
            expecting = "an object with one of email, phone or id"
        )]
        struct Wire {
            #[serde(default)]
            email: Option<Text<1, 254>>,
            #[serde(default)]
            phone: Option<Text<1, 32>>,
            #[serde(default)]
            id: Option<ContactNumber>,
        }
        let w = Wire::deserialize(d)?;
        match (w.email, w.phone, w.id) {
            (Some(e), None, None) => Ok(ContactAddress::Email(e)),
            (None, Some(p), None) => Ok(ContactAddress::Phone(p)),
            (None, None, Some(ContactNumber(id))) => Ok(ContactAddress::Id(id)),
            _ => Err(serde::de::Error::custom(
                "must name exactly one of email, phone or id",
            )),
        }
    }
}

/// A contact id, as the admin API writes it (a number) or as text holding one.
struct ContactNumber(u64);

impl<'de> Deserialize<'de> for ContactNumber {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let bad = || serde::de::Error::custom("must be a contact id: a whole number from 1");
        match Value::deserialize(d)? {
            Value::Number(n) => n
                .as_u64()
                .filter(|n| *n > 0)
                .map(ContactNumber)
                .ok_or_else(bad),
            Value::String(s) => s
                .parse::<u64>()
                .ok()
                .filter(|n| *n > 0)
                .map(ContactNumber)
                .ok_or_else(bad),
            _ => Err(bad()),
        }
    }
}

/// One event a shop's server sent (`POST /v1/server/batch`): any browser event, or a
/// delivery event, about a tracker or a contact.
#[derive(Debug, Clone, PartialEq)]
pub struct ServerEvent {
    pub message_id: MessageId,
    pub to: Recipient,
    /// When it happened, by the server's clock.
    pub timestamp: Timestamp,
    pub context: Context,
    pub kind: EventKind,
}

#[derive(Deserialize)]
#[serde(expecting = "an event object")]
struct WireServerEvent<'a> {
    message_id: MessageId,
    #[serde(default)]
    tracker_id: Option<TrackerId>,
    #[serde(default)]
    contact: Option<ContactAddress>,
    #[serde(rename = "type")]
    kind: EventType,
    timestamp: Timestamp,
    #[serde(default)]
    context: Option<Context>,
    #[serde(borrow, default)]
    properties: Option<&'a RawValue>,
}

impl ServerEvent {
    /// Parses and validates one event a shop's server sent.
    pub fn from_json(raw: &str) -> Result<ServerEvent, EventError> {
        if raw.len() > MAX_EVENT_BYTES {
            return Err(EventError::TooLarge { size: raw.len() });
        }
        let wire: WireServerEvent<'_> = parse_at("", raw)?;
        let to = match (wire.tracker_id, wire.contact) {
            (Some(t), None) => {
                check_tracker(&t)?;
                Recipient::Tracker(t)
            }
            (None, Some(c)) => Recipient::Contact(c),
            (Some(_), Some(_)) => {
                return Err(EventError::field(
                    "contact",
                    "an event names its tracker_id or its contact, not both",
                ))
            }
            (None, None) => {
                return Err(EventError::field(
                    "event",
                    "needs tracker_id, or contact: {\"email\"} | {\"phone\"} | {\"id\"}",
                ))
            }
        };
        // An identify or logout is a browser's login or logout, which the identity rules
        // follow from tracker to contact; a contact's profile is changed with PATCH.
        if matches!(wire.kind, EventType::Identify | EventType::Logout)
            && matches!(to, Recipient::Contact(_))
        {
            return Err(EventError::field(
                "contact",
                &format!(
                    "an {} names the browser's tracker_id; change a contact's profile with \
                     PATCH /v1/contacts/{{id}}",
                    wire.kind.as_str()
                ),
            ));
        }
        let kind = EventKind::from_properties(wire.kind, wire.properties.map(RawValue::get))?;
        Ok(ServerEvent {
            message_id: wire.message_id,
            to,
            timestamp: wire.timestamp,
            context: wire.context.unwrap_or_default(),
            kind,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(kind: &str, props: &str) -> String {
        format!(
            r#"{{"message_id":"m1","tracker_id":"t1","type":"{kind}",
               "timestamp":"2026-11-23T09:59:58.004Z","properties":{props}}}"#
        )
    }

    fn err(raw: &str) -> String {
        Event::from_json(raw).unwrap_err().to_string()
    }

    #[test]
    fn errors_name_the_field() {
        let e = err(&ev(
            "product_view",
            r#"{"product_id":"p","name":"n","price":-1,"currency":"EUR"}"#,
        ));
        assert!(
            e.starts_with("properties.price: must not be negative"),
            "{e}"
        );
        let e = err(&ev(
            "cart_update",
            r#"{"cart":{"items":[{"product_id":"p","name":"n","price":1,"quantity":0}],"total":1,"currency":"EUR"}}"#,
        ));
        assert!(e.starts_with("properties.cart.items[0].quantity:"), "{e}");
        let e = err(&ev("identify", r#"{"first_name":"Al"}"#));
        assert!(e.contains("at least one of email or phone"), "{e}");
    }

    #[test]
    fn unknown_types_are_rejected_with_the_known_ones_listed() {
        let e = err(&ev("teleport", "{}"));
        assert!(e.starts_with("type: unknown variant `teleport`"), "{e}");
        assert!(e.contains("page_view"), "{e}");
    }

    #[test]
    fn missing_envelope_fields_are_named() {
        let e = err(r#"{"tracker_id":"t","type":"logout","timestamp":"2026-11-23T09:59:58Z"}"#);
        assert!(e.contains("missing field `message_id`"), "{e}");
    }

    #[test]
    fn logout_takes_no_properties_in_any_spelling() {
        for props in ["{}", "null"] {
            let e = Event::from_json(&ev("logout", props)).unwrap();
            assert_eq!(e.kind, EventKind::Logout(NoProperties {}));
        }
        let raw = r#"{"message_id":"m","tracker_id":"t","type":"logout","timestamp":"2026-11-23T09:59:58Z"}"#;
        assert!(Event::from_json(raw).is_ok());
    }

    #[test]
    fn oversized_events_are_rejected_before_parsing() {
        let big = ev(
            "custom",
            &format!(
                r#"{{"name":"x","properties":{{"b":"{}"}}}}"#,
                "x".repeat(40_000)
            ),
        );
        assert!(matches!(
            Event::from_json(&big),
            Err(EventError::TooLarge { .. })
        ));
    }

    #[test]
    fn delivery_events_are_the_servers_alone() {
        let e = err(&ev("email_opened", "{}"));
        assert!(
            e.starts_with("type: email_opened is reported by the shop's servers"),
            "{e}"
        );
        let raw = r#"{"message_id":"m","contact":{"email":"a@b.c"},"type":"email_bounced",
            "timestamp":"2026-11-23T09:59:58Z","properties":{"bounce":"hard","reason":"no user"}}"#;
        let s = ServerEvent::from_json(raw).unwrap();
        assert_eq!(
            s.to,
            Recipient::Contact(ContactAddress::Email(Text::new("a@b.c").unwrap()))
        );
        assert!(matches!(
            s.kind,
            EventKind::EmailBounced(DeliveryBounce {
                bounce: BounceKind::Hard,
                ..
            })
        ));
        let raw = r#"{"message_id":"m","contact":{"id":"12"},"type":"sms_sent","timestamp":"2026-11-23T09:59:58Z"}"#;
        assert_eq!(
            ServerEvent::from_json(raw).unwrap().to,
            Recipient::Contact(ContactAddress::Id(12))
        );
    }

    #[test]
    fn a_server_event_names_one_recipient() {
        let base = r#""message_id":"m","type":"email_sent","timestamp":"2026-11-23T09:59:58Z""#;
        let e = ServerEvent::from_json(&format!("{{{base}}}"))
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("event: needs tracker_id, or contact"), "{e}");
        let both = format!(r#"{{{base},"tracker_id":"t","contact":{{"id":1}}}}"#);
        let e = ServerEvent::from_json(&both).unwrap_err().to_string();
        assert!(
            e.starts_with("contact: an event names its tracker_id or its contact"),
            "{e}"
        );
        let two = format!(r#"{{{base},"contact":{{"id":1,"email":"a@b.c"}}}}"#);
        let e = ServerEvent::from_json(&two).unwrap_err().to_string();
        assert!(e.starts_with("contact: must name exactly one"), "{e}");
        let login = r#"{"message_id":"m","contact":{"id":1},"type":"identify","timestamp":"2026-11-23T09:59:58Z","properties":{"email":"a@b.c"}}"#;
        let e = ServerEvent::from_json(login).unwrap_err().to_string();
        assert!(e.contains("names the browser's tracker_id"), "{e}");
    }

    #[test]
    fn no_browser_tracker_is_named_like_a_server_one() {
        let raw = r#"{"message_id":"m","tracker_id":"server:5","type":"logout","timestamp":"2026-11-23T09:59:58Z"}"#;
        let e = err(raw);
        assert!(
            e.starts_with("tracker_id: may not start with `server:`"),
            "{e}"
        );
    }

    #[test]
    fn deep_custom_objects_are_refused() {
        let deep = format!("{}1{}", r#"{"a":"#.repeat(9), "}".repeat(9));
        let e = err(&ev(
            "custom",
            &format!(r#"{{"name":"x","properties":{deep}}}"#),
        ));
        assert!(e.contains("nested at most"), "{e}");
    }

    #[test]
    fn push_endpoints_must_be_https() {
        let e = err(&ev(
            "push_unsubscribe",
            r#"{"endpoint":"http://push.example/x"}"#,
        ));
        assert!(
            e.starts_with("properties.endpoint: must be an https:// URL"),
            "{e}"
        );
    }

    #[test]
    fn birth_dates_must_exist() {
        let e = err(&ev(
            "identify",
            r#"{"email":"a@b.c","birth_date":"1990-02-30"}"#,
        ));
        assert!(
            e.starts_with("properties.birth_date: must be a real date"),
            "{e}"
        );
    }
}
