//! The batch envelope of `POST /v1/batch` and its responses.

use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

use crate::ids::SiteKey;
use crate::limits::MAX_EVENTS_PER_BATCH;
use crate::time::Timestamp;

/// A batch as read off the wire: the envelope is validated, the events are left as raw JSON so
/// that each can be accepted or rejected on its own.
#[derive(Debug, Deserialize)]
pub struct BatchEnvelope<'a> {
    pub site_key: SiteKey,
    /// When the tracker sent the batch, by the browser's clock: the basis of skew correction.
    pub sent_at: Timestamp,
    #[serde(borrow)]
    pub events: Vec<&'a RawValue>,
}

/// Why a whole batch was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BatchError {
    #[error("the body is not valid JSON ({0}); send a JSON object encoded as UTF-8")]
    NotJson(String),
    #[error("the body is not a batch: {0}; send {{\"site_key\", \"sent_at\", \"events\": [...]}}")]
    NotABatch(String),
    #[error("the batch has {count} events; the limit is {MAX_EVENTS_PER_BATCH}: split it")]
    TooManyEvents { count: usize },
}

/// Reads a batch envelope. The body's size is the caller's to bound before this.
pub fn parse_batch(body: &[u8]) -> Result<BatchEnvelope<'_>, BatchError> {
    // The plain parser first; only a failure is parsed again with path tracking.
    let batch: BatchEnvelope<'_> = match serde_json::from_slice(body) {
        Ok(b) => b,
        Err(_) => {
            let de = &mut serde_json::Deserializer::from_slice(body);
            serde_path_to_error::deserialize(de).map_err(|e| {
                let path = e.path().to_string();
                let inner = e.into_inner();
                let msg = crate::event::strip_position(&inner.to_string());
                match inner.classify() {
                    serde_json::error::Category::Data if path == "." => BatchError::NotABatch(msg),
                    serde_json::error::Category::Data => {
                        BatchError::NotABatch(format!("{path}: {msg}"))
                    }
                    _ => BatchError::NotJson(inner.to_string()),
                }
            })?
        }
    };
    if batch.events.len() > MAX_EVENTS_PER_BATCH {
        return Err(BatchError::TooManyEvents {
            count: batch.events.len(),
        });
    }
    Ok(batch)
}

/// The 200 answer to a batch.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct BatchResponse {
    /// Events this request handed over: stored, or dropped because their tracker's contact
    /// was erased (the edge keeps nothing of an erased shopper's tracker). Either way, do not
    /// send them again.
    pub accepted: u32,
    /// Events whose `message_id` the site had already sent; stored once, before.
    pub duplicates: u32,
    pub rejected: Vec<Rejection>,
    /// Events stored, but with a part the edge did not use: an identify value that is a
    /// placeholder or malformed, which links no contacts.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<Warning>,
}

/// Something an accepted event carried that the edge ignored, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Warning {
    /// Position in the batch's `events`, from 0.
    pub index: u32,
    pub message_id: String,
    /// The field ignored and what to do, e.g. `properties.email is a placeholder…`.
    pub warning: String,
}

/// One event refused; the rest of its batch was still processed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rejection {
    /// Position in the batch's `events`, from 0.
    pub index: u32,
    /// The event's `message_id` when it had a readable one.
    pub message_id: Option<String>,
    pub error: String,
}

/// The body of every error status the edge answers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorBody {
    /// A stable machine-readable code, such as `payload_too_large`.
    pub error: String,
    /// What is wrong and what to do about it.
    pub message: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classifies_syntax_and_shape_errors() {
        assert!(matches!(
            parse_batch(b"{not json"),
            Err(BatchError::NotJson(_))
        ));
        assert!(matches!(
            parse_batch(b"\xff\xfe"),
            Err(BatchError::NotJson(_))
        ));
        let e = parse_batch(br#"{"site_key":"s","events":[]}"#).unwrap_err();
        assert!(e.to_string().contains("missing field `sent_at`"), "{e}");
        let e =
            parse_batch(br#"{"site_key":"bad key!","sent_at":"2026-11-23T10:00:00Z","events":[]}"#)
                .unwrap_err();
        assert!(e.to_string().contains("site_key: may contain only"), "{e}");
    }

    #[test]
    fn caps_the_event_count() {
        let events = vec!["{}"; MAX_EVENTS_PER_BATCH + 1].join(",");
        let body =
            format!(r#"{{"site_key":"s","sent_at":"2026-11-23T10:00:00Z","events":[{events}]}}"#);
        assert_eq!(
            parse_batch(body.as_bytes()).unwrap_err(),
            BatchError::TooManyEvents {
                count: MAX_EVENTS_PER_BATCH + 1
            }
        );
    }

    #[test]
    fn deep_nesting_is_an_error_not_a_crash() {
        let body = format!(
            r#"{{"site_key":"s","sent_at":"2026-11-23T10:00:00Z","events":[{}]}}"#,
            "[".repeat(100_000)
        );
        assert!(parse_batch(body.as_bytes()).is_err());
    }
}
