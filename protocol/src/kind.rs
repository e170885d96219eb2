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
    // Delivery events: what the shop's email and SMS providers report, through its servers.
    EmailSent,
    EmailDelivered,
    EmailOpened,
    EmailClicked,
    EmailBounced,
    EmailComplained,
    EmailUnsubscribed,
    SmsSent,
    SmsDelivered,
    SmsOpened,
    SmsClicked,
    SmsBounced,
    SmsComplained,
    SmsUnsubscribed,
}

// A stored chunk keeps which types it holds as the bits of a u32.
const _: () = assert!(
    EventType::ALL.len() <= 32,
    "an event type has no bit in a chunk's u32"
);

impl EventType {
    pub const ALL: [EventType; 31] = [
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
        EventType::EmailSent,
        EventType::EmailDelivered,
        EventType::EmailOpened,
        EventType::EmailClicked,
        EventType::EmailBounced,
        EventType::EmailComplained,
        EventType::EmailUnsubscribed,
        EventType::SmsSent,
        EventType::SmsDelivered,
        EventType::SmsOpened,
        EventType::SmsClicked,
        EventType::SmsBounced,
        EventType::SmsComplained,
        EventType::SmsUnsubscribed,
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
            EventType::EmailSent => "email_sent",
            EventType::EmailDelivered => "email_delivered",
            EventType::EmailOpened => "email_opened",
            EventType::EmailClicked => "email_clicked",
            EventType::EmailBounced => "email_bounced",
            EventType::EmailComplained => "email_complained",
            EventType::EmailUnsubscribed => "email_unsubscribed",
            EventType::SmsSent => "sms_sent",
            EventType::SmsDelivered => "sms_delivered",
            EventType::SmsOpened => "sms_opened",
            EventType::SmsClicked => "sms_clicked",
            EventType::SmsBounced => "sms_bounced",
            EventType::SmsComplained => "sms_complained",
            EventType::SmsUnsubscribed => "sms_unsubscribed",
        }
    }

    /// The delivery events (`email_*`, `sms_*`): only the shop's servers know them, so only
    /// `POST /v1/server/batch` takes them.
    pub fn server_only(self) -> bool {
        self >= EventType::EmailSent
    }

    pub fn parse(s: &str) -> Option<EventType> {
        EventType::ALL.into_iter().find(|t| t.as_str() == s)
    }
}
