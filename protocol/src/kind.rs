//! Event type names: shared by the edge and the tracker, which builds without `std`.

/// The `type` names, for parsing and for filters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[cfg_attr(
    feature = "std",
    derive(serde::Serialize, serde::Deserialize),
    serde(rename_all = "snake_case")
)]
pub enum EventType {
    PageView,
    ProductView,
    CartAdd,
    CartRemove,
    CartUpdate,
    CheckoutStart,
    Purchase,
    Identify,
    Logout,
    Consent,
    PushPermission,
    PushSubscribe,
    PushUnsubscribe,
    PushReceived,
    PushClick,
    Custom,
    // New types go last: a stored chunk's type bits and stored records index this order.
    Refund,
}

impl EventType {
    pub const ALL: [EventType; 17] = [
        EventType::PageView,
        EventType::ProductView,
        EventType::CartAdd,
        EventType::CartRemove,
        EventType::CartUpdate,
        EventType::CheckoutStart,
        EventType::Purchase,
        EventType::Identify,
        EventType::Logout,
        EventType::Consent,
        EventType::PushPermission,
        EventType::PushSubscribe,
        EventType::PushUnsubscribe,
        EventType::PushReceived,
        EventType::PushClick,
        EventType::Custom,
        EventType::Refund,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            EventType::PageView => "page_view",
            EventType::ProductView => "product_view",
            EventType::CartAdd => "cart_add",
            EventType::CartRemove => "cart_remove",
            EventType::CartUpdate => "cart_update",
            EventType::CheckoutStart => "checkout_start",
            EventType::Purchase => "purchase",
            EventType::Identify => "identify",
            EventType::Logout => "logout",
            EventType::Consent => "consent",
            EventType::PushPermission => "push_permission",
            EventType::PushSubscribe => "push_subscribe",
            EventType::PushUnsubscribe => "push_unsubscribe",
            EventType::PushReceived => "push_received",
            EventType::PushClick => "push_click",
            EventType::Custom => "custom",
            EventType::Refund => "refund",
        }
    }

    pub fn parse(s: &str) -> Option<EventType> {
        EventType::ALL.into_iter().find(|t| t.as_str() == s)
    }
}
