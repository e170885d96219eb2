//! The ingest domain: from a request body to durably stored events and a batch response.
//! It knows the protocol and the store's write interface, not HTTP.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Arc;

use footprint_protocol::limits::MAX_BODY_BYTES;
use footprint_protocol::{
    parse_batch, BatchResponse, Event, Rejection, SiteKey, Timestamp, Warning,
};
use serde::Deserialize;
use tokio::sync::oneshot;

use crate::config::{Config, SiteConfig};
use crate::contacts::fact::{self, RefusedValue};
use crate::error::ApiError;
use crate::identity::Region;
use crate::ratelimit::RateLimits;
use crate::store::{
    EventFields, NewEvent, Outcome, PendingWrite, Store, StoreError, SubmitError, WriteRequest,
};

/// Where the server's time comes from; tests use a fixed one.
pub trait Clock: Send + Sync {
    fn now(&self) -> Timestamp;
}

pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Timestamp {
        let ms = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
            .unwrap_or(0);
        Timestamp::from_millis(ms).unwrap_or(Timestamp::EPOCH)
    }
}

/// Where accepted events go. The store in production; [`NullSink`] to measure the HTTP ceiling.
pub trait EventSink: Send + Sync {
    fn submit(&self, req: WriteRequest) -> Result<PendingWrite, SubmitError>;
}

impl EventSink for Store {
    fn submit(&self, req: WriteRequest) -> Result<PendingWrite, SubmitError> {
        Store::submit(self, req)
    }
}

/// Acknowledges everything and stores nothing: only for `cargo xtask bench ingest`'s ceiling.
pub struct NullSink;

impl EventSink for NullSink {
    fn submit(&self, req: WriteRequest) -> Result<PendingWrite, SubmitError> {
        let (tx, rx) = oneshot::channel();
        let _ = tx.send(Ok(vec![Outcome::Stored; req.events.len()]));
        Ok(rx)
    }
}

/// A result more than this far ahead of the server's clock is not believed.
const MAX_FUTURE_MS: i64 = 24 * 3600 * 1000;

/// Corrects a browser timestamp for the browser's clock skew: the gap between when the batch
/// says it was sent and when it arrived is the skew (plus transit, which is small). A result
/// more than 24 h in the future is clamped to the arrival time.
pub fn correct_timestamp(ts: Timestamp, sent_at: Timestamp, received_at: Timestamp) -> Timestamp {
    let skew = received_at.as_millis().saturating_sub(sent_at.as_millis());
    let corrected = ts.saturating_add_millis(skew);
    if corrected.as_millis() > received_at.as_millis().saturating_add(MAX_FUTURE_MS) {
        received_at
    } else {
        corrected
    }
}

/// One request to `POST /v1/batch`, as far as the domain cares.
pub struct BatchRequest<'a> {
    pub origin: Option<&'a str>,
    pub content_type: Option<&'a str>,
    pub body: &'a [u8],
}

pub struct Ingest {
    sites: HashMap<SiteKey, SiteConfig>,
    /// Every origin of every site: what a preflight, which carries no body, can be checked
    /// against.
    any_origin: Vec<String>,
    limits: RateLimits,
    sink: Arc<dyn EventSink>,
    clock: Arc<dyn Clock>,
    region: Option<Region>,
}

impl Ingest {
    pub fn new(cfg: &Config, sink: Arc<dyn EventSink>, clock: Arc<dyn Clock>) -> Ingest {
        let mut any_origin: Vec<String> = cfg
            .sites
            .iter()
            .flat_map(|s| s.origins.iter().cloned())
            .collect();
        any_origin.sort();
        any_origin.dedup();
        Ingest {
            sites: cfg
                .sites
                .iter()
                .map(|s| (s.key.clone(), s.clone()))
                .collect(),
            any_origin,
            limits: RateLimits::new(&cfg.rate_limit),
            sink,
            clock,
            region: cfg.identity.default_region,
        }
    }

    pub fn clock(&self) -> &dyn Clock {
        &*self.clock
    }

    /// The configured sites' keys, sorted.
    pub fn site_keys(&self) -> Vec<String> {
        let mut keys: Vec<String> = self.sites.keys().map(|k| k.as_str().to_owned()).collect();
        keys.sort();
        keys
    }

    /// True when some site accepts `origin`.
    pub fn origin_known(&self, origin: &str) -> bool {
        self.any_origin.iter().any(|o| o == origin)
    }

    /// The per-IP limit, checked before the body is read so that a flood costs little.
    pub fn check_ip(&self, ip: IpAddr) -> Result<(), ApiError> {
        self.limits
            .check_ip(ip)
            .map_err(|retry_after| ApiError::RateLimited {
                scope: "client IP",
                retry_after,
            })
    }

    pub fn forget_idle_clients(&self) {
        self.limits.forget_idle();
    }

    /// Validates a batch, stores its valid events durably, and says what became of each.
    pub async fn ingest(&self, req: BatchRequest<'_>) -> Result<BatchResponse, ApiError> {
        let received_at = self.clock.now();
        check_content_type(req.content_type)?;
        if req.body.len() > MAX_BODY_BYTES {
            return Err(ApiError::PayloadTooLarge {
                limit: MAX_BODY_BYTES,
            });
        }
        let batch = parse_batch(req.body).map_err(|e| {
            let code = match e {
                footprint_protocol::BatchError::NotJson(_) => "invalid_json",
                footprint_protocol::BatchError::NotABatch(_) => "invalid_batch",
                footprint_protocol::BatchError::TooManyEvents { .. } => "too_many_events",
            };
            ApiError::bad_request(code, e.to_string())
        })?;
        let site = self
            .sites
            .get(&batch.site_key)
            .ok_or_else(|| ApiError::UnknownSite(batch.site_key.to_string()))?;
        if let Some(origin) = req.origin {
            if !site.origins.iter().any(|o| o == origin) {
                return Err(ApiError::OriginDenied {
                    origin: origin.to_owned(),
                    site: site.key.to_string(),
                });
            }
        }
        self.limits
            .check_site(&site.key)
            .map_err(|retry_after| ApiError::RateLimited {
                scope: "site",
                retry_after,
            })?;

        let mut rejected = Vec::new();
        let mut warnings = Vec::new();
        let mut events = Vec::with_capacity(batch.events.len());
        // Each stored event's place in the batch, for the writer's warnings.
        let mut origins = Vec::with_capacity(batch.events.len());
        for (index, raw) in batch.events.iter().enumerate() {
            let index = u32::try_from(index).unwrap_or(u32::MAX);
            let rules = site.points.as_ref();
            match prepare_event(raw.get(), batch.sent_at, received_at, self.region, rules) {
                Ok((ev, refused)) => {
                    for r in refused {
                        warnings.push(Warning {
                            index,
                            message_id: ev.message_id.as_str().to_owned(),
                            warning: r.warning(),
                        });
                    }
                    origins.push((index, ev.message_id.as_str().to_owned()));
                    events.push(ev);
                }
                Err(error) => rejected.push(Rejection {
                    index,
                    message_id: message_id_of(raw.get()),
                    error,
                }),
            }
        }
        let mut resp = BatchResponse {
            rejected,
            warnings,
            ..BatchResponse::default()
        };
        if events.is_empty() {
            return Ok(counted(resp));
        }
        let write = WriteRequest {
            site: site.key.clone(),
            received_at,
            sent_at: batch.sent_at,
            events,
        };
        let pending = self.sink.submit(write).map_err(|e| ApiError::Unavailable {
            reason: e.to_string(),
            retry_after: 1,
        })?;
        let outcomes = pending
            .await
            .map_err(|_| ApiError::Unavailable {
                reason: "the writer stopped".into(),
                retry_after: 1,
            })?
            .map_err(|e| match e {
                // Cluster mode: the log is electing or out of reach; the batch was not taken.
                StoreError::Unavailable(reason) => ApiError::Unavailable {
                    reason,
                    retry_after: 1,
                },
                e => {
                    tracing::error!(error = %e, "write failed");
                    ApiError::Unavailable {
                        reason: "storage error".into(),
                        retry_after: 5,
                    }
                }
            })?;
        for (o, (index, message_id)) in outcomes.into_iter().zip(origins) {
            match o {
                // The browser is not told that its shopper was erased: it would only retry.
                Outcome::Stored | Outcome::Suppressed => resp.accepted += 1,
                Outcome::Duplicate => resp.duplicates += 1,
                Outcome::NotKept(warning) => {
                    resp.accepted += 1;
                    resp.warnings.push(Warning {
                        index,
                        message_id,
                        warning,
                    });
                }
            }
        }
        resp.warnings.sort_by_key(|w| w.index);
        Ok(counted(resp))
    }
}

/// `resp`, once its events are counted by outcome for `/metrics`.
fn counted(resp: BatchResponse) -> BatchResponse {
    let count = |outcome: &'static str, n: u64| {
        metrics::counter!("footprint_events_total", "outcome" => outcome).increment(n);
    };
    count("accepted", u64::from(resp.accepted));
    count("duplicate", u64::from(resp.duplicates));
    count("rejected", resp.rejected.len() as u64);
    resp
}

fn check_content_type(ct: Option<&str>) -> Result<(), ApiError> {
    let mime = ct.unwrap_or("").split(';').next().unwrap_or("").trim();
    // sendBeacon with a string body sends text/plain, which needs no CORS preflight.
    if mime.eq_ignore_ascii_case("application/json") || mime.eq_ignore_ascii_case("text/plain") {
        Ok(())
    } else {
        Err(ApiError::UnsupportedMediaType)
    }
}

/// Validates one event and builds its stored form.
fn prepare_event(
    raw: &str,
    sent_at: Timestamp,
    received_at: Timestamp,
    region: Option<Region>,
    rules: Option<&crate::contacts::points::PointRules>,
) -> Result<(NewEvent, Vec<RefusedValue>), String> {
    let ev = Event::from_json(raw).map_err(|e| e.to_string())?;
    let timestamp = correct_timestamp(ev.timestamp, sent_at, received_at).as_millis();
    let fields = EventFields {
        message_id: ev.message_id.as_str().to_owned(),
        kind: crate::store::StoredKind::Event(ev.kind.event_type()),
        timestamp,
        client_timestamp: ev.timestamp.as_millis(),
        context_json: serde_json::to_string(&ev.context).unwrap_or_else(|_| "{}".into()),
        properties_json: ev.kind.properties_json(),
    };
    let (fact, refused) = fact::of_event(&ev, timestamp, region, rules);
    Ok((
        NewEvent::new(ev.tracker_id, ev.message_id, &fields, fact),
        refused,
    ))
}

/// The `message_id` of an event that failed validation, if it has a readable one.
fn message_id_of(raw: &str) -> Option<String> {
    #[derive(Deserialize)]
    struct Id {
        message_id: Option<serde_json::Value>,
    }
    let id: Id = serde_json::from_str(raw).ok()?;
    match id.message_id? {
        serde_json::Value::String(s) if s.chars().count() <= 100 => Some(s),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> Timestamp {
        Timestamp::parse(s).unwrap()
    }

    #[test]
    fn skew_is_the_gap_between_sent_and_received() {
        // The browser's clock is 10 minutes slow.
        let got = correct_timestamp(
            t("2026-11-23T09:49:58.004Z"),
            t("2026-11-23T09:50:00.000Z"),
            t("2026-11-23T10:00:00.000Z"),
        );
        assert_eq!(got, t("2026-11-23T09:59:58.004Z"));
    }

    #[test]
    fn a_fast_clock_is_corrected_backwards() {
        let got = correct_timestamp(
            t("2026-11-23T11:00:00.000Z"),
            t("2026-11-23T11:00:01.000Z"),
            t("2026-11-23T10:00:01.000Z"),
        );
        assert_eq!(got, t("2026-11-23T10:00:00.000Z"));
    }

    #[test]
    fn more_than_a_day_ahead_is_clamped_to_arrival() {
        let received = t("2026-11-23T10:00:00.000Z");
        let got = correct_timestamp(t("2026-11-25T10:00:00.000Z"), received, received);
        assert_eq!(got, received);
        let just_inside = correct_timestamp(t("2026-11-24T09:59:59.000Z"), received, received);
        assert_eq!(just_inside, t("2026-11-24T09:59:59.000Z"));
    }

    #[test]
    fn content_types_with_parameters_are_accepted() {
        assert!(check_content_type(Some("text/plain;charset=UTF-8")).is_ok());
        assert!(check_content_type(Some("application/json")).is_ok());
        assert!(check_content_type(Some("application/xml")).is_err());
        assert!(check_content_type(None).is_err());
    }
}
