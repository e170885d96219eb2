//! The admin read domain: turns store records into the admin API's wire types.

use footprint_protocol::{EventPage, EventRecord, Timestamp, TrackerId};
use serde_json::value::RawValue;

use crate::error::ApiError;
use crate::store::{Cursor, Store, StoredEvent};

pub const DEFAULT_PAGE: usize = 50;
pub const MAX_PAGE: usize = 500;

/// A page of one tracker's events, newest first.
pub fn tracker_events(
    store: &Store,
    tracker: &str,
    before: Option<&str>,
    limit: Option<usize>,
) -> Result<EventPage, ApiError> {
    let tracker = TrackerId::new(tracker)
        .map_err(|e| ApiError::bad_request("invalid_tracker_id", format!("tracker_id {e}")))?;
    let limit = limit.unwrap_or(DEFAULT_PAGE);
    if !(1..=MAX_PAGE).contains(&limit) {
        return Err(ApiError::bad_request(
            "invalid_limit",
            format!("limit must be 1 to {MAX_PAGE}"),
        ));
    }
    let before = match before {
        Some(c) => Some(Cursor::parse(c).ok_or_else(|| {
            ApiError::bad_request(
                "invalid_cursor",
                "before must be a `next` value from an earlier page",
            )
        })?),
        None => None,
    };
    let (events, next) = store.tracker_events(&tracker, before, limit).map_err(|e| {
        tracing::error!(error = %e, "reading tracker events failed");
        ApiError::Internal
    })?;
    let events = events
        .into_iter()
        .map(to_record)
        .collect::<Result<Vec<_>, _>>()?;
    Ok(EventPage {
        events,
        next: next.map(|c| c.to_string()),
    })
}

fn to_record(e: StoredEvent) -> Result<EventRecord, ApiError> {
    let ts = |ms: i64| Timestamp::from_millis(ms).map_err(|_| corrupt("timestamp"));
    let json = |s: String| RawValue::from_string(s).map_err(|_| corrupt("json"));
    Ok(EventRecord {
        message_id: e.fields.message_id,
        tracker_id: e.tracker_id,
        site_key: e.site,
        kind: e.fields.kind,
        timestamp: ts(e.fields.timestamp)?,
        client_timestamp: ts(e.fields.client_timestamp)?,
        sent_at: ts(e.sent_at)?,
        received_at: ts(e.received_at)?,
        context: json(e.fields.context_json)?,
        properties: json(e.fields.properties_json)?,
    })
}

fn corrupt(what: &str) -> ApiError {
    tracing::error!(what, "stored event has an unreadable field");
    ApiError::Internal
}
