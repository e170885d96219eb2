//! Footprint's wire contract between the tracker and the edge.
//!
//! Everything a browser sends is untrusted, so every type here checks its invariants when it is
//! built or deserialized: a `TrackerId` that exists is a valid one. This crate does no I/O and
//! reads no clock, so it builds for `wasm32-unknown-unknown` and for the edge alike. It is the
//! only place that knows the JSON shape of an event.

mod admin;
mod batch;
mod event;
mod ids;
pub mod limits;
mod money;
mod text;
mod time;

pub use crate::admin::{EventPage, EventRecord};
pub use crate::batch::{
    parse_batch, BatchEnvelope, BatchError, BatchResponse, ErrorBody, Rejection,
};
pub use crate::event::{
    BirthDate, Cart, CartItem, CartLine, CartSnapshot, Consent, ConsentState, Context, CustomEvent,
    Event, EventError, EventKind, EventType, Identify, Items, JsonObject, Name, NoProperties,
    Notification, PageView, ProductView, Purchase, PushEndpoint, PushKeys, PushPermission,
    PushPermissionState, PushSubscribe, PushUnsubscribe, Quantity, ShopId, Url, Utm,
};
pub use crate::ids::{IdError, MessageId, SiteKey, TrackerId};
pub use crate::money::{Amount, Currency, MoneyError};
pub use crate::text::{Text, TextError};
pub use crate::time::{Timestamp, TimestampError};
