//! The on-disk form of events. This is a disk contract: every value starts with a version byte,
//! and the structs here are never used on the wire.
//!
//! A chunk is `[2] types:u32 lz4(header event*)`, each part postcard-encoded; `types` has bit
//! `i` set when the chunk holds an event of `EventType::ALL[i]`, so that a filtered read skips
//! chunks without decompressing them. Version 1 chunks (no `types`) are still read.
//!
//! Identity changes, history and RFM inputs are `[1] postcard(value)`; contacts are
//! `[2] postcard(aggregate) postcard(admin fields)` (version 1, without the admin fields, still
//! reads). Events are encoded on
//! the request's worker thread; the single writer thread concatenates and compresses them.
//! Compression pays for itself: sled spends about 15 ns per value byte, and the events of one
//! browser repeat the same user agent, URLs and product names, so chunks shrink 3-5×.

use std::borrow::Cow;

use footprint_protocol::EventType;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::contacts::{Contact, ContactId, Pos};

const CHUNK_V1: u8 = 1;
const CHUNK_V2: u8 = 2;
const VALUE_V1: u8 = 1;
/// A live contact: version, the aggregate, then its [`AdminFields`](crate::contacts::AdminFields).
const CONTACT_V2: u8 = 2;
/// As v2, then its [`Extras`](crate::contacts::aggregate::Extras) (categories viewed, static
/// segments).
const CONTACT_V3: u8 = 3;
/// As v3, with [`Extras::newsletter`](crate::contacts::aggregate::Extras) after its other
/// fields.
const CONTACT_V4: u8 = 4;

/// [`Extras`](crate::contacts::aggregate::Extras) as record v3 wrote it.
#[derive(Deserialize)]
struct ExtrasV3 {
    categories: Vec<crate::contacts::aggregate::CategorySeen>,
    segments: std::collections::BTreeSet<u64>,
}

#[derive(Serialize, Deserialize)]
struct HeaderV1<'a> {
    #[serde(borrow)]
    site: Cow<'a, str>,
    received_at: i64,
    sent_at: i64,
}

#[derive(Serialize, Deserialize)]
struct EventV1<'a> {
    #[serde(borrow)]
    message_id: Cow<'a, str>,
    #[serde(borrow)]
    kind: Cow<'a, str>,
    timestamp: i64,
    client_timestamp: i64,
    /// The validated context, as canonical JSON.
    #[serde(borrow)]
    context: Cow<'a, str>,
    /// The validated properties, as canonical JSON.
    #[serde(borrow)]
    properties: Cow<'a, str>,
}

/// One event's fields, as the store keeps them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventFields {
    pub message_id: String,
    pub kind: String,
    /// Skew-corrected event time, ms since the epoch.
    pub timestamp: i64,
    /// The event time as the browser sent it.
    pub client_timestamp: i64,
    pub context_json: String,
    pub properties_json: String,
}

/// The chunk-wide fields.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChunkHeader {
    pub site: String,
    pub received_at: i64,
    pub sent_at: i64,
}

#[derive(Debug, thiserror::Error)]
#[error("stored record is unreadable: {0}")]
pub struct DecodeError(String);

pub fn encode_event(e: &EventFields) -> Vec<u8> {
    let v = EventV1 {
        message_id: Cow::Borrowed(&e.message_id),
        kind: Cow::Borrowed(&e.kind),
        timestamp: e.timestamp,
        client_timestamp: e.client_timestamp,
        context: Cow::Borrowed(&e.context_json),
        properties: Cow::Borrowed(&e.properties_json),
    };
    // postcard only fails on a full fixed buffer or an unsupported type; neither applies to a
    // growable Vec and these plain fields.
    postcard::to_allocvec(&v).unwrap_or_default()
}

/// The bit of an event type in a chunk's `types`.
pub fn type_bit(kind: &str) -> u32 {
    EventType::ALL
        .iter()
        .position(|t| t.as_str() == kind)
        .map_or(0, |i| 1 << i)
}

/// The `types` of a chunk; every bit for a version 1 chunk, which does not say.
pub fn chunk_types(bytes: &[u8]) -> u32 {
    match bytes {
        [CHUNK_V2, a, b, c, d, ..] => u32::from_be_bytes([*a, *b, *c, *d]),
        _ => u32::MAX,
    }
}

pub fn encode_chunk<'a>(
    h: &ChunkHeader,
    types: u32,
    events: impl Iterator<Item = &'a [u8]>,
) -> Vec<u8> {
    let header = HeaderV1 {
        site: Cow::Borrowed(&h.site),
        received_at: h.received_at,
        sent_at: h.sent_at,
    };
    let mut plain = postcard::to_allocvec(&header).unwrap_or_default();
    for e in events {
        plain.extend_from_slice(e);
    }
    let mut out = vec![CHUNK_V2];
    out.extend_from_slice(&types.to_be_bytes());
    out.extend_from_slice(&lz4_flex::compress_prepend_size(&plain));
    out
}

pub fn decode_chunk(bytes: &[u8]) -> Result<(ChunkHeader, Vec<EventFields>), DecodeError> {
    let err = |e: postcard::Error| DecodeError(e.to_string());
    let (version, rest) = bytes
        .split_first()
        .ok_or_else(|| DecodeError("empty".into()))?;
    let rest = match *version {
        CHUNK_V1 => rest,
        CHUNK_V2 => rest
            .get(4..)
            .ok_or_else(|| DecodeError("truncated chunk".into()))?,
        v => return Err(DecodeError(format!("unknown chunk version {v}"))),
    };
    let plain =
        lz4_flex::decompress_size_prepended(rest).map_err(|e| DecodeError(e.to_string()))?;
    let (h, mut rest) = postcard::take_from_bytes::<HeaderV1<'_>>(&plain).map_err(err)?;
    let header = ChunkHeader {
        site: h.site.into_owned(),
        received_at: h.received_at,
        sent_at: h.sent_at,
    };
    let mut events = Vec::new();
    while !rest.is_empty() {
        let (e, tail) = postcard::take_from_bytes::<EventV1<'_>>(rest).map_err(err)?;
        events.push(EventFields {
            message_id: e.message_id.into_owned(),
            kind: e.kind.into_owned(),
            timestamp: e.timestamp,
            client_timestamp: e.client_timestamp,
            context_json: e.context.into_owned(),
            properties_json: e.properties.into_owned(),
        });
        rest = tail;
    }
    Ok((header, events))
}

/// One change to a contact, as its history keeps it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HistoryEntry {
    /// When the change was made (ms): the edit's time, or the event's for an identify.
    pub at: i64,
    /// The admin token's name, or `tracker:<id>`.
    pub who: String,
    pub field: String,
    pub old: Option<String>,
    pub new: Option<String>,
}

/// A contact record: the live aggregate, or where it went.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum ContactRecord {
    Live(Box<Contact>),
    /// Merged into that contact; the id keeps resolving to it.
    Merged(ContactId),
    /// Erased at that time (ms). Only the id and its erasure's history entry remain; new
    /// variants go last, so that older records still read.
    Erased(i64),
}

/// The `kind` of an erased event's place in its chunk. An erasure that leaves other contacts'
/// events in a chunk keeps the erased ones' places, so that every position (spans, cursors)
/// still points at the same event; readers skip these.
pub const ERASED_KIND: &str = "erased";

/// What an erased event leaves in its chunk: its place, nothing else.
pub fn erased_event() -> Vec<u8> {
    encode_event(&EventFields {
        message_id: String::new(),
        kind: ERASED_KIND.to_owned(),
        timestamp: 0,
        client_timestamp: 0,
        context_json: String::new(),
        properties_json: String::new(),
    })
}

/// One change to the identity graph, kept so that it can be audited and undone.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IdChange {
    /// When the edge received the identify.
    pub received_at: i64,
    /// The identify's own time.
    pub event_at: i64,
    pub site: String,
    /// `merge`, `move_tracker` or `move_to_new_contact`.
    pub rule: String,
    pub from: ContactId,
    pub to: ContactId,
    /// The trackers that now point at `to` because of this change.
    pub trackers: Vec<String>,
    /// The identify's position: where the moved trackers' new stretch of history starts.
    pub at: Pos,
}

pub fn encode_value<T: Serialize>(v: &T) -> Vec<u8> {
    let mut out = vec![VALUE_V1];
    // As for events: a growable Vec and plain derived types cannot fail to encode.
    if let Ok(bytes) = postcard::to_allocvec(v) {
        out.extend_from_slice(&bytes);
    }
    out
}

/// A contact record: `[2] postcard(record) postcard(admin fields)` for a live contact. The
/// admin fields ride after the aggregate rather than inside it so that version 1 records,
/// written before they existed, still read (with the defaults).
pub fn encode_contact(rec: &ContactRecord) -> Vec<u8> {
    match rec {
        ContactRecord::Live(c) => {
            let mut out = vec![CONTACT_V4];
            if let (Ok(a), Ok(b), Ok(x)) = (
                postcard::to_allocvec(rec),
                postcard::to_allocvec(&c.admin),
                postcard::to_allocvec(&c.extras),
            ) {
                out.extend_from_slice(&a);
                out.extend_from_slice(&b);
                out.extend_from_slice(&x);
            }
            out
        }
        ContactRecord::Merged(_) | ContactRecord::Erased(_) => encode_value(rec),
    }
}

pub fn decode_contact(bytes: &[u8]) -> Result<ContactRecord, DecodeError> {
    match bytes.split_first() {
        Some((&v @ (CONTACT_V2 | CONTACT_V3 | CONTACT_V4), rest)) => {
            let bad = |e: postcard::Error| DecodeError(e.to_string());
            let (mut rec, rest) = postcard::take_from_bytes::<ContactRecord>(rest).map_err(bad)?;
            if let ContactRecord::Live(c) = &mut rec {
                let (admin, rest) = postcard::take_from_bytes(rest).map_err(bad)?;
                c.admin = admin;
                if v == CONTACT_V3 {
                    let old: ExtrasV3 = postcard::from_bytes(rest).map_err(bad)?;
                    c.extras.categories = old.categories;
                    c.extras.segments = old.segments;
                } else if v == CONTACT_V4 {
                    c.extras = postcard::from_bytes(rest).map_err(bad)?;
                }
            }
            Ok(rec)
        }
        _ => decode_value(bytes),
    }
}

pub fn decode_value<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, DecodeError> {
    match bytes.split_first() {
        Some((&VALUE_V1, rest)) => {
            postcard::from_bytes(rest).map_err(|e| DecodeError(e.to_string()))
        }
        Some((v, _)) => Err(DecodeError(format!("unknown record version {v}"))),
        None => Err(DecodeError("empty".into())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunks_round_trip() {
        let h = ChunkHeader {
            site: "s".into(),
            received_at: 10,
            sent_at: 9,
        };
        let e1 = EventFields {
            message_id: "m1".into(),
            kind: "page_view".into(),
            timestamp: 5,
            client_timestamp: 4,
            context_json: "{}".into(),
            properties_json: r#"{"url":"u","path":"/"}"#.into(),
        };
        let e2 = EventFields {
            message_id: "m2".into(),
            ..e1.clone()
        };
        let bytes = encode_chunk(
            &h,
            type_bit("page_view"),
            [encode_event(&e1), encode_event(&e2)]
                .iter()
                .map(Vec::as_slice),
        );
        let (h2, evs) = decode_chunk(&bytes).unwrap();
        assert_eq!(h2, h);
        assert_eq!(evs, vec![e1, e2]);
    }

    #[test]
    fn contacts_written_as_v3_still_read_and_v4_round_trips() {
        use crate::contacts::aggregate::{CategorySeen, Stamped};
        let mut c = Contact::new(ContactId::parse("7").unwrap(), "shop", 1_000);
        c.extras.categories.push(CategorySeen {
            name: "Shirts".into(),
            views: 2,
            last_seen: 900,
        });
        c.extras.segments.insert(3);
        c.channels.newsletter = Some("subscribed".into());
        // v3 as it was written: the aggregate, the admin fields, then the v3 extras.
        #[derive(Serialize)]
        struct V3<'a> {
            categories: &'a [CategorySeen],
            segments: &'a std::collections::BTreeSet<u64>,
        }
        let rec = ContactRecord::Live(Box::new(c.clone()));
        let mut v3 = vec![CONTACT_V3];
        v3.extend(postcard::to_allocvec(&rec).unwrap());
        v3.extend(postcard::to_allocvec(&c.admin).unwrap());
        v3.extend(
            postcard::to_allocvec(&V3 {
                categories: &c.extras.categories,
                segments: &c.extras.segments,
            })
            .unwrap(),
        );
        let ContactRecord::Live(old) = decode_contact(&v3).unwrap() else {
            panic!("a live contact");
        };
        assert_eq!(*old, c);
        assert_eq!(old.newsletter(), "subscribed");

        c.extras.newsletter = Some(Stamped {
            at: 5,
            pos: Pos::default(),
            value: "unsubscribed".into(),
        });
        let rec = ContactRecord::Live(Box::new(c.clone()));
        let ContactRecord::Live(new) = decode_contact(&encode_contact(&rec)).unwrap() else {
            panic!("a live contact");
        };
        assert_eq!(*new, c);
        assert_eq!(new.newsletter(), "unsubscribed");
    }

    #[test]
    fn unknown_versions_are_an_error() {
        assert!(decode_chunk(&[9, 0]).is_err());
        assert!(decode_chunk(&[]).is_err());
    }
}
