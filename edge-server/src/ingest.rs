//! The ingest domain: from a request body to durably stored events and a batch response.
//! It knows the protocol and the store's write interface, not HTTP.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Arc;

use footprint_protocol::limits::MAX_BODY_BYTES;
use footprint_protocol::{
    parse_batch, BatchEnvelope, BatchResponse, Context, Event, EventKind, MessageId, Rejection,
    ServerEvent, SiteKey, Timestamp, Warning,
};
use serde::Deserialize;
use serde_json::value::RawValue;
use tokio::sync::oneshot;

use crate::access::TokenDigest;
use crate::config::{Config, SiteConfig};
use crate::contacts::fact::{self, RefusedValue, Source};
use crate::contacts::ContactId;
use crate::error::ApiError;
use crate::identity::{Email, Phone, Region};
use crate::ratelimit::RateLimits;
use crate::store::{
    Address, EventFields, NewEvent, Outcome, PendingWrite, Recipient, Store, StoreError,
    SubmitError, WriteRequest,
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

/// One request to `POST /v1/server/batch`, as far as the domain cares.
pub struct ServerBatchRequest<'a> {
    /// The site whose server key the request carried (`Ingest::server_site`).
    pub keyed: SiteKey,
    pub content_type: Option<&'a str>,
    pub body: &'a [u8],
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

    /// Validates a browser's batch, stores its valid events durably, and says what became of
    /// each.
    pub async fn ingest(&self, req: BatchRequest<'_>) -> Result<BatchResponse, ApiError> {
        let received_at = self.clock.now();
        let (batch, site) = self.envelope(req.content_type, req.body)?;
        if let Some(origin) = req.origin {
            if !site.origins.iter().any(|o| o == origin) {
                return Err(ApiError::OriginDenied {
                    origin: origin.to_owned(),
                    site: site.key.to_string(),
                });
            }
        }
        self.check_site(site)?;
        let rules = site.points.as_ref();
        let times = (batch.sent_at, received_at);
        let prepared = batch.events.iter().map(|raw| {
            let ev = Event::from_json(raw.get()).map_err(|e| e.to_string())?;
            let parts = Parts {
                message_id: ev.message_id,
                timestamp: ev.timestamp,
                context: &ev.context,
                kind: &ev.kind,
            };
            let to = Recipient::Tracker(ev.tracker_id);
            Ok(parts.prepare(to, Source::Browser, times, self.region, rules))
        });
        self.store(site, received_at, batch.sent_at, &batch.events, prepared)
            .await
    }

    /// Validates a batch from a shop's server (`POST /v1/server/batch`): the browser's
    /// contract, authorised by the site's server key, with events about a tracker or a
    /// contact, delivery events among them.
    pub async fn ingest_server(
        &self,
        req: ServerBatchRequest<'_>,
    ) -> Result<BatchResponse, ApiError> {
        let received_at = self.clock.now();
        let (batch, site) = self.envelope(req.content_type, req.body)?;
        if site.key != req.keyed {
            return Err(ApiError::ServerKey(format!(
                "this server key is not site `{}`'s: send the key configured as that site's \
                 server_key",
                site.key
            )));
        }
        self.check_site(site)?;
        let rules = site.points.as_ref();
        let region = self.region;
        let times = (batch.sent_at, received_at);
        let prepared = batch.events.iter().map(|raw| {
            let ev = ServerEvent::from_json(raw.get()).map_err(|e| e.to_string())?;
            let to = recipient(ev.to, region)?;
            let parts = Parts {
                message_id: ev.message_id,
                timestamp: ev.timestamp,
                context: &ev.context,
                kind: &ev.kind,
            };
            Ok(parts.prepare(to, Source::Server, times, region, rules))
        });
        self.store(site, received_at, batch.sent_at, &batch.events, prepared)
            .await
    }

    /// The site whose server key `authorization` (the header) carries.
    pub fn server_site(&self, authorization: Option<&str>) -> Result<SiteKey, ApiError> {
        let token = authorization
            .and_then(|v| v.strip_prefix("Bearer "))
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .ok_or_else(|| {
                ApiError::ServerKey(
                    "send `Authorization: Bearer <server key>`, the site's server_key (never \
                     its site key)"
                        .into(),
                )
            })?;
        let digest = TokenDigest::of_token(token);
        // Every site's is compared, in constant time: how long it takes names no site.
        let mut found = None;
        for s in self.sites.values() {
            if s.server_key.as_ref().is_some_and(|k| k.matches(&digest)) {
                found = Some(s.key.clone());
            }
        }
        found.ok_or_else(|| {
            ApiError::ServerKey(
                "this server key is no site's; send the server_key of the site in site_key".into(),
            )
        })
    }

    /// A batch's envelope and its site: the checks both endpoints share.
    fn envelope<'b>(
        &self,
        content_type: Option<&str>,
        body: &'b [u8],
    ) -> Result<(BatchEnvelope<'b>, &SiteConfig), ApiError> {
        check_content_type(content_type)?;
        if body.len() > MAX_BODY_BYTES {
            return Err(ApiError::PayloadTooLarge {
                limit: MAX_BODY_BYTES,
            });
        }
        let batch = parse_batch(body).map_err(|e| {
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
        Ok((batch, site))
    }

    fn check_site(&self, site: &SiteConfig) -> Result<(), ApiError> {
        self.limits
            .check_site(&site.key)
            .map_err(|retry_after| ApiError::RateLimited {
                scope: "site",
                retry_after,
            })
    }

    /// Stores the events `prepared` made of `raw` (each, or why it was rejected) durably, and
    /// says what became of each.
    async fn store(
        &self,
        site: &SiteConfig,
        received_at: Timestamp,
        sent_at: Timestamp,
        raw: &[&RawValue],
        prepared: impl Iterator<Item = Result<(NewEvent, Vec<RefusedValue>), String>>,
    ) -> Result<BatchResponse, ApiError> {
        let mut rejected = Vec::new();
        let mut warnings = Vec::new();
        let mut events = Vec::with_capacity(raw.len());
        // Each stored event's place in the batch, for the writer's warnings.
        let mut origins = Vec::with_capacity(raw.len());
        for (index, (raw, p)) in raw.iter().zip(prepared).enumerate() {
            let index = u32::try_from(index).unwrap_or(u32::MAX);
            match p {
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
            sent_at,
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
                Outcome::Refused(error) => resp.rejected.push(Rejection {
                    index,
                    message_id: Some(message_id),
                    error,
                }),
            }
        }
        resp.warnings.sort_by_key(|w| w.index);
        resp.rejected.sort_by_key(|r| r.index);
        Ok(counted(resp))
    }
}

/// What both endpoints store of an event besides whom it is about.
struct Parts<'e> {
    message_id: MessageId,
    timestamp: Timestamp,
    context: &'e Context,
    kind: &'e EventKind,
}

impl Parts<'_> {
    /// The stored form of an event about `to` from `source`, its time corrected by the
    /// batch's `(sent_at, received_at)`, with what it earns under `rules`; and the identity
    /// values it carried that were refused, for the batch's warnings.
    fn prepare(
        self,
        to: Recipient,
        source: Source,
        (sent_at, received_at): (Timestamp, Timestamp),
        region: Option<Region>,
        rules: Option<&crate::contacts::points::PointRules>,
    ) -> (NewEvent, Vec<RefusedValue>) {
        let at = correct_timestamp(self.timestamp, sent_at, received_at);
        let (fact, refused) = fact::of_event(
            self.kind,
            self.context,
            source,
            at.as_millis(),
            region,
            rules,
        );
        (self.stored(to, at, fact), refused)
    }

    fn stored(self, to: Recipient, at: Timestamp, fact: fact::Fact) -> NewEvent {
        let fields = EventFields {
            message_id: self.message_id.as_str().to_owned(),
            kind: crate::store::StoredKind::Event(self.kind.event_type()),
            timestamp: at.as_millis(),
            client_timestamp: self.timestamp.as_millis(),
            context_json: serde_json::to_string(self.context).unwrap_or_else(|_| "{}".into()),
            properties_json: self.kind.properties_json(),
        };
        NewEvent::new(to, self.message_id, &fields, fact)
    }
}

/// Whom a server's event is about, its email or phone normalised as an identify's would be.
fn recipient(
    to: footprint_protocol::Recipient,
    region: Option<Region>,
) -> Result<Recipient, String> {
    use footprint_protocol::{ContactAddress, Recipient as Wire};
    Ok(match to {
        Wire::Tracker(t) => Recipient::Tracker(t),
        Wire::Contact(ContactAddress::Email(e)) => Recipient::Contact(Address::Email(
            Email::normalize(e.as_str()).map_err(|why| format!("contact.email {why}"))?,
        )),
        Wire::Contact(ContactAddress::Phone(p)) => Recipient::Contact(Address::Phone(
            Phone::normalize(p.as_str(), region).map_err(|why| format!("contact.phone {why}"))?,
        )),
        Wire::Contact(ContactAddress::Id(id)) => Recipient::Contact(Address::Id(
            ContactId::new(id).ok_or_else(|| "contact.id: must be a contact id".to_owned())?,
        )),
    })
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
