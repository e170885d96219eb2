//! Footprint's wire contract between the tracker and the edge.
//!
//! Everything a browser sends is untrusted, so every type here checks its invariants when it is
//! built or deserialized: a `TrackerId` that exists is a valid one. This crate does no I/O and
//! reads no clock, so it builds for `wasm32-unknown-unknown` and for the edge alike. It is the
//! only place that knows the JSON shape of an event.
//!
//! Without its default `std` feature the crate is `no_std` and holds only what the tracker's
//! wasm needs: the limits, the event type names and the identifier rules. The typed events and
//! their serde parsing are the edge's.

#![cfg_attr(not(feature = "std"), no_std)]

#[cfg(feature = "std")]
mod admin;
#[cfg(feature = "std")]
mod batch;
#[cfg(feature = "std")]
mod event;
pub mod ids;
mod kind;
pub mod limits;
#[cfg(feature = "std")]
mod money;
#[cfg(feature = "std")]
mod text;
#[cfg(feature = "std")]
mod time;

pub use crate::kind::EventType;
#[cfg(feature = "std")]
pub use crate::std_api::*;

/// What needs `std`: the typed events, batches and their parsing.
#[cfg(feature = "std")]
mod std_api {

    pub use crate::admin::{EventPage, EventRecord};
    pub use crate::batch::{
        parse_batch, BatchEnvelope, BatchError, BatchResponse, ErrorBody, Rejection, Warning,
    };
    pub use crate::event::{
        BirthDate, BounceKind, Cart, CartItem, CartLine, CartSnapshot, Consent, ConsentState,
        ContactAddress, Context, CustomEvent, Delivery, DeliveryBounce, DeliveryClick, Event,
        EventError, EventKind, Identify, Items, JsonObject, Name, NoProperties, Notification,
        PageView, ProductView, Purchase, PushEndpoint, PushKeys, PushPermission,
        PushPermissionState, PushSubscribe, PushUnsubscribe, Quantity, Recipient, Refund,
        ServerEvent, ShopId, Url, Utm, SERVER_TRACKER_PREFIX,
    };
    pub use crate::ids::{IdError, MessageId, SiteKey, TrackerId};
    pub use crate::money::{Amount, Currency, MoneyError};
    pub use crate::text::{Text, TextError};
    pub use crate::time::{Timestamp, TimestampError};
}
