//! Wire types of the admin read API.

use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

use crate::time::Timestamp;

/// A stored event as admins read it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct EventRecord {
    pub message_id: String,
    pub tracker_id: String,
    pub site_key: String,
    #[serde(rename = "type")]
    pub kind: String,
    /// Skew-corrected: `client_timestamp + (received_at − sent_at)`, clamped to `received_at`
    /// when that lands more than 24 h in the future.
    pub timestamp: Timestamp,
    /// The event time exactly as the browser sent it.
    pub client_timestamp: Timestamp,
    pub sent_at: Timestamp,
    /// When the edge received the batch, by the edge's clock.
    pub received_at: Timestamp,
    pub context: Box<RawValue>,
    pub properties: Box<RawValue>,
}

/// One page of events, newest first. `next` is the cursor for the following page.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct EventPage {
    pub events: Vec<EventRecord>,
    pub next: Option<String>,
}
