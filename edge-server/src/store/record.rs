//! The on-disk form of events. This is a disk contract: every value starts with a version byte,
//! and the structs here are never used on the wire.
//!
//! A chunk is `[version] lz4(header event*)`, each part postcard-encoded. Events are encoded on
//! the request's worker thread; the single writer thread concatenates and compresses them.
//! Compression pays for itself: sled spends about 15 ns per value byte, and the events of one
//! browser repeat the same user agent, URLs and product names, so chunks shrink 3-5×.

use std::borrow::Cow;

use serde::{Deserialize, Serialize};

const CHUNK_V1: u8 = 1;

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

pub fn encode_chunk<'a>(h: &ChunkHeader, events: impl Iterator<Item = &'a [u8]>) -> Vec<u8> {
    let header = HeaderV1 {
        site: Cow::Borrowed(&h.site),
        received_at: h.received_at,
        sent_at: h.sent_at,
    };
    let mut plain = postcard::to_allocvec(&header).unwrap_or_default();
    for e in events {
        plain.extend_from_slice(e);
    }
    let mut out = vec![CHUNK_V1];
    out.extend_from_slice(&lz4_flex::compress_prepend_size(&plain));
    out
}

pub fn decode_chunk(bytes: &[u8]) -> Result<(ChunkHeader, Vec<EventFields>), DecodeError> {
    let err = |e: postcard::Error| DecodeError(e.to_string());
    let (version, rest) = bytes
        .split_first()
        .ok_or_else(|| DecodeError("empty".into()))?;
    if *version != CHUNK_V1 {
        return Err(DecodeError(format!("unknown chunk version {version}")));
    }
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
            [encode_event(&e1), encode_event(&e2)]
                .iter()
                .map(Vec::as_slice),
        );
        let (h2, evs) = decode_chunk(&bytes).unwrap();
        assert_eq!(h2, h);
        assert_eq!(evs, vec![e1, e2]);
    }

    #[test]
    fn unknown_versions_are_an_error() {
        assert!(decode_chunk(&[9, 0]).is_err());
        assert!(decode_chunk(&[]).is_err());
    }
}
