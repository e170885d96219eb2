//! The on-disk form of events. This is a disk contract: every value starts with a version byte,
//! and the structs here are never used on the wire.
//!
//! What is personal is sealed under its contact's key (`vault.rs`): a live contact is
//! `[5] sealed([4] postcard(aggregate) postcard(admin fields) postcard(extras))`, a history
//! entry `[2] sealed(postcard(entry))`, and a chunk's events are sealed run by run
//! ([`encode_chunk`]). Identity changes, RFM inputs, segments and `Merged`/`Erased` records
//! hold no personal data and are `[1] postcard(value)`. Inside the seal, contact versions
//! 2 and 3 still read.
//!
//! A chunk's `types` has bit `i` set when it holds an event of `EventType::ALL[i]`, so that a
//! filtered read skips chunks without opening them. Events are encoded on the request's
//! worker thread; the single writer thread concatenates, compresses and seals them.
//! Compression pays for itself: sled spends about 15 ns per value byte, and the events of one
//! browser repeat the same user agent, URLs and product names, so chunks shrink 3-5×.

use std::borrow::Cow;

use footprint_protocol::EventType;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use super::keys;
use super::vault::Keyring;
use super::StoreError;
use footprint_domain::contacts::{Contact, ContactId, Pos};

/// Chunks 1 and 2 were plaintext: a data directory that holds them is refused at open.
const CHUNK_V3: u8 = 3;
const VALUE_V1: u8 = 1;
/// `[2] nonce sealed(postcard(value))`: a value of one contact's, under its key.
const VALUE_SEALED: u8 = 2;
/// A live contact: version, the aggregate, then its [`AdminFields`](footprint_domain::contacts::AdminFields).
const CONTACT_V2: u8 = 2;
/// As v2, then its [`Extras`](footprint_domain::contacts::aggregate::Extras) (categories viewed, static
/// segments).
const CONTACT_V3: u8 = 3;
/// As v3, with [`Extras::newsletter`](footprint_domain::contacts::aggregate::Extras) after its other
/// fields.
const CONTACT_V4: u8 = 4;
/// As v4, with the first orders, tags, reference and notes after [`Extras::newsletter`](footprint_domain::contacts::aggregate::Extras).
const CONTACT_V6: u8 = 6;
/// As v6, with the contact's [`Deliveries`](footprint_domain::contacts::delivery::Deliveries)
/// after its extras.
const CONTACT_V7: u8 = 7;
/// As v7, with the contact's activity per week ([`Weeks`](footprint_domain::contacts::weeks::Weeks))
/// after its deliveries.
const CONTACT_V8: u8 = 8;
/// As v8, with the page it viewed last ([`Contact::last_page`]) after its weeks.
const CONTACT_V9: u8 = 9;
/// `[5] nonce sealed(contact record)`: a live contact, under its own key. (So the next
/// record version after v4 is v6.)
const CONTACT_SEALED: u8 = 5;

/// [`Extras`](footprint_domain::contacts::aggregate::Extras) as record v3 wrote it.
#[derive(Deserialize)]
struct ExtrasV3 {
    categories: Vec<footprint_domain::contacts::aggregate::CategorySeen>,
    segments: std::collections::BTreeSet<u64>,
}

/// [`Extras`](footprint_domain::contacts::aggregate::Extras) as record v4 wrote it.
#[derive(Deserialize)]
struct ExtrasV4 {
    categories: Vec<footprint_domain::contacts::aggregate::CategorySeen>,
    segments: std::collections::BTreeSet<u64>,
    newsletter: Option<
        footprint_domain::contacts::aggregate::Stamped<footprint_domain::contacts::Subscription>,
    >,
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
    pub kind: Kind,
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
        kind: Cow::Borrowed(e.kind.as_str()),
        timestamp: e.timestamp,
        client_timestamp: e.client_timestamp,
        context: Cow::Borrowed(&e.context_json),
        properties: Cow::Borrowed(&e.properties_json),
    };
    // postcard only fails on a full fixed buffer or an unsupported type; neither applies to a
    // growable Vec and these plain fields.
    postcard::to_allocvec(&v).unwrap_or_default()
}

/// What a stored event is: an event of a type, or the place of an erased one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Event(EventType),
    /// An erased event's place in its chunk (see [`erased_place`]).
    Erased,
}

impl Kind {
    /// As stored and as the API shows it: the event type's wire name, or `erased`.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Event(t) => t.as_str(),
            Kind::Erased => ERASED_KIND,
        }
    }

    pub fn parse(s: &str) -> Option<Kind> {
        match s {
            ERASED_KIND => Some(Kind::Erased),
            s => EventType::parse(s).map(Kind::Event),
        }
    }

    /// Its bit in a chunk's `types`; none for an erased place.
    pub fn type_bit(self) -> u32 {
        match self {
            Kind::Event(t) => type_bit(t),
            Kind::Erased => 0,
        }
    }
}

/// The bit of an event type in a chunk's `types`.
pub fn type_bit(t: EventType) -> u32 {
    EventType::ALL
        .iter()
        .position(|&x| x == t)
        .map_or(0, |i| 1 << i)
}

/// The `types` of a chunk; every bit for a chunk it cannot read, so that the reader reports it.
pub fn chunk_types(bytes: &[u8]) -> u32 {
    match bytes {
        [CHUNK_V3, a, b, c, d, ..] => u32::from_be_bytes([*a, *b, *c, *d]),
        _ => u32::MAX,
    }
}

/// One run of a chunk's events: whose they are and their encodings, in order. An owner of 0
/// is a run of erased places.
pub struct Run<'a> {
    pub owner: u64,
    pub events: Vec<&'a [u8]>,
}

/// A chunk: `[3] types:u32 postcard(header)`, then each run as `owner:u64 count:u32 len:u32`
/// and `len` bytes: the run's events, lz4-compressed and sealed under the owner's key. A chunk
/// holds the events of one request for one tracker; an identify in it can hand the tracker to
/// another contact, so each contact's events are sealed apart, and destroying one contact's
/// key leaves the others' readable.
pub fn encode_chunk(
    ring: &mut Keyring,
    key: &[u8],
    h: &ChunkHeader,
    types: u32,
    runs: &[Run<'_>],
) -> Result<Vec<u8>, StoreError> {
    let header = HeaderV1 {
        site: Cow::Borrowed(&h.site),
        received_at: h.received_at,
        sent_at: h.sent_at,
    };
    let mut out = vec![CHUNK_V3];
    out.extend_from_slice(&types.to_be_bytes());
    out.extend_from_slice(&postcard::to_allocvec(&header).unwrap_or_default());
    let mut first = 0u32;
    for run in runs {
        let count = u32::try_from(run.events.len()).unwrap_or(u32::MAX);
        let sealed = if run.owner == 0 {
            Vec::new()
        } else {
            let plain = run.events.concat();
            let packed = lz4_flex::compress_prepend_size(&plain);
            ring.seal(run.owner, &run_aad(key, first), &packed)?
        };
        out.extend_from_slice(&run.owner.to_be_bytes());
        out.extend_from_slice(&count.to_be_bytes());
        out.extend_from_slice(
            &u32::try_from(sealed.len())
                .unwrap_or(u32::MAX)
                .to_be_bytes(),
        );
        out.extend_from_slice(&sealed);
        first = first.saturating_add(count);
    }
    Ok(out)
}

/// What a run is bound to: its chunk's key and its first index, so that no run opens in
/// another chunk or at another place.
fn run_aad(key: &[u8], first: u32) -> Vec<u8> {
    let mut aad = key.to_vec();
    aad.extend_from_slice(&first.to_be_bytes());
    aad
}

/// A chunk's header and each event with its owner. The events of a run whose key was
/// destroyed (an erased contact's) come back as erased places, owner 0.
pub fn decode_chunk(
    ring: &mut Keyring,
    key: &[u8],
    bytes: &[u8],
) -> Result<(ChunkHeader, Vec<(u64, EventFields)>), StoreError> {
    let bad = |why: String| StoreError::Corrupt(format!("event chunk: {why}"));
    let rest = match bytes.split_first() {
        Some((&CHUNK_V3, rest)) => rest.get(4..).ok_or_else(|| bad("truncated".into()))?,
        Some((v, _)) => return Err(bad(format!("unknown chunk version {v}"))),
        None => return Err(bad("empty".into())),
    };
    let (h, mut rest) =
        postcard::take_from_bytes::<HeaderV1<'_>>(rest).map_err(|e| bad(e.to_string()))?;
    let header = ChunkHeader {
        site: h.site.into_owned(),
        received_at: h.received_at,
        sent_at: h.sent_at,
    };
    let mut events = Vec::new();
    let mut first = 0u32;
    while !rest.is_empty() {
        let (head, tail) = rest
            .split_at_checked(16)
            .ok_or_else(|| bad("truncated run".into()))?;
        let owner = u64::from_be_bytes(head[..8].try_into().unwrap_or_default());
        let count = u32::from_be_bytes(head[8..12].try_into().unwrap_or_default());
        let len = u32::from_be_bytes(head[12..].try_into().unwrap_or_default());
        let (sealed, tail) = tail
            .split_at_checked(usize::try_from(len).unwrap_or(usize::MAX))
            .ok_or_else(|| bad("truncated run".into()))?;
        rest = tail;
        let opened = match owner {
            0 => None,
            _ => ring.open(owner, &run_aad(key, first), sealed)?,
        };
        first = first.saturating_add(count);
        let Some(packed) = opened else {
            events.extend((0..count).map(|_| (0, erased_place())));
            continue;
        };
        let plain = lz4_flex::decompress_size_prepended(&packed).map_err(|e| bad(e.to_string()))?;
        let mut body = &plain[..];
        while !body.is_empty() {
            let (e, tail) =
                postcard::take_from_bytes::<EventV1<'_>>(body).map_err(|e| bad(e.to_string()))?;
            events.push((
                owner,
                EventFields {
                    message_id: e.message_id.into_owned(),
                    kind: Kind::parse(&e.kind)
                        .ok_or_else(|| bad(format!("an event of unknown kind `{}`", e.kind)))?,
                    timestamp: e.timestamp,
                    client_timestamp: e.client_timestamp,
                    context_json: e.context.into_owned(),
                    properties_json: e.properties.into_owned(),
                },
            ));
            body = tail;
        }
    }
    Ok((header, events))
}

/// Splits a chunk's events into runs of one owner each, in order.
pub fn runs<'a>(events: impl IntoIterator<Item = (u64, &'a [u8])>) -> Vec<Run<'a>> {
    let mut out: Vec<Run<'a>> = Vec::new();
    for (owner, e) in events {
        match out.last_mut() {
            Some(r) if r.owner == owner => r.events.push(e),
            _ => out.push(Run {
                owner,
                events: vec![e],
            }),
        }
    }
    out
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

/// An erased event's place in its chunk: nothing but its place.
pub fn erased_place() -> EventFields {
    EventFields {
        message_id: String::new(),
        kind: Kind::Erased,
        timestamp: 0,
        client_timestamp: 0,
        context_json: String::new(),
        properties_json: String::new(),
    }
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
            let mut out = vec![CONTACT_V9];
            if let (Ok(a), Ok(b), Ok(x), Ok(d), Ok(w), Ok(p)) = (
                postcard::to_allocvec(rec),
                postcard::to_allocvec(&c.admin),
                postcard::to_allocvec(&c.extras),
                postcard::to_allocvec(&c.deliveries),
                postcard::to_allocvec(&c.weeks),
                postcard::to_allocvec(&c.last_page),
            ) {
                out.extend_from_slice(&a);
                out.extend_from_slice(&b);
                out.extend_from_slice(&x);
                out.extend_from_slice(&d);
                out.extend_from_slice(&w);
                out.extend_from_slice(&p);
            }
            out
        }
        ContactRecord::Merged(_) | ContactRecord::Erased(_) => encode_value(rec),
    }
}

pub fn decode_contact(bytes: &[u8]) -> Result<ContactRecord, DecodeError> {
    match bytes.split_first() {
        Some((
            &v @ (CONTACT_V2 | CONTACT_V3 | CONTACT_V4 | CONTACT_V6 | CONTACT_V7 | CONTACT_V8
            | CONTACT_V9),
            rest,
        )) => {
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
                    let old: ExtrasV4 = postcard::from_bytes(rest).map_err(bad)?;
                    c.extras.categories = old.categories;
                    c.extras.segments = old.segments;
                    c.extras.newsletter = old.newsletter;
                } else if v == CONTACT_V6 {
                    c.extras = postcard::from_bytes(rest).map_err(bad)?;
                } else if v == CONTACT_V7 {
                    let (extras, rest) = postcard::take_from_bytes(rest).map_err(bad)?;
                    c.extras = extras;
                    c.deliveries = postcard::from_bytes(rest).map_err(bad)?;
                } else if v == CONTACT_V8 || v == CONTACT_V9 {
                    let (extras, rest) = postcard::take_from_bytes(rest).map_err(bad)?;
                    c.extras = extras;
                    let (deliveries, rest) = postcard::take_from_bytes(rest).map_err(bad)?;
                    c.deliveries = deliveries;
                    if v == CONTACT_V8 {
                        c.weeks = postcard::from_bytes(rest).map_err(bad)?;
                    } else {
                        let (weeks, rest) = postcard::take_from_bytes(rest).map_err(bad)?;
                        c.weeks = weeks;
                        c.last_page = postcard::from_bytes(rest).map_err(bad)?;
                    }
                }
            }
            Ok(rec)
        }
        _ => decode_value(bytes),
    }
}

/// A contact record as the store writes it: a live one sealed under its own key, bound to
/// its sled key; `Merged` and `Erased` (an id and a time) in the clear.
pub fn seal_contact(
    ring: &mut Keyring,
    id: ContactId,
    rec: &ContactRecord,
) -> Result<Vec<u8>, StoreError> {
    match rec {
        ContactRecord::Live(_) => {
            let sealed = ring.seal(id.get(), &keys::contact(id.get()), &encode_contact(rec))?;
            let mut out = Vec::with_capacity(1 + sealed.len());
            out.push(CONTACT_SEALED);
            out.extend_from_slice(&sealed);
            Ok(out)
        }
        ContactRecord::Merged(_) | ContactRecord::Erased(_) => Ok(encode_value(rec)),
    }
}

/// The record [`seal_contact`] wrote; `None` for a live record whose key is gone (a reader
/// that raced the contact's erasure: it is absent now).
pub fn open_contact(
    ring: &mut Keyring,
    id: ContactId,
    bytes: &[u8],
) -> Result<Option<ContactRecord>, StoreError> {
    let corrupt = |e: DecodeError| StoreError::Corrupt(format!("contact {id}: {e}"));
    match bytes.split_first() {
        Some((&CONTACT_SEALED, sealed)) => {
            match ring.open(id.get(), &keys::contact(id.get()), sealed)? {
                Some(plain) => decode_contact(&plain).map(Some).map_err(corrupt),
                None => Ok(None),
            }
        }
        _ => decode_contact(bytes).map(Some).map_err(corrupt),
    }
}

/// A value of `owner`'s (a history entry) sealed under its key and bound to `key`.
pub fn seal_value<T: Serialize>(
    ring: &mut Keyring,
    owner: ContactId,
    key: &[u8],
    v: &T,
) -> Result<Vec<u8>, StoreError> {
    seal_encoded(ring, owner, key, &encode_value(v))
}

/// An [`encode_value`] of `owner`'s, sealed as [`seal_value`] would have written it.
pub fn seal_encoded(
    ring: &mut Keyring,
    owner: ContactId,
    key: &[u8],
    encoded: &[u8],
) -> Result<Vec<u8>, StoreError> {
    match encoded.split_first() {
        Some((&VALUE_V1, plain)) => {
            let sealed = ring.seal(owner.get(), key, plain)?;
            let mut out = Vec::with_capacity(1 + sealed.len());
            out.push(VALUE_SEALED);
            out.extend_from_slice(&sealed);
            Ok(out)
        }
        _ => Ok(encoded.to_vec()),
    }
}

/// A value [`seal_value`] or [`encode_value`] wrote; `None` when it was sealed under a key
/// that is gone.
pub fn open_value<T: DeserializeOwned>(
    ring: &mut Keyring,
    owner: ContactId,
    key: &[u8],
    bytes: &[u8],
) -> Result<Option<T>, StoreError> {
    let corrupt = |e: String| StoreError::Corrupt(format!("a value of contact {owner}: {e}"));
    match bytes.split_first() {
        Some((&VALUE_SEALED, sealed)) => match ring.open(owner.get(), key, sealed)? {
            Some(plain) => postcard::from_bytes(&plain)
                .map(Some)
                .map_err(|e| corrupt(e.to_string())),
            None => Ok(None),
        },
        _ => decode_value(bytes).map(Some).map_err(|e| corrupt(e.0)),
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

    fn vault() -> (tempfile::TempDir, crate::vault::Vault) {
        let dir = tempfile::tempdir().unwrap();
        let v = crate::vault::Vault::open(dir.path(), true).unwrap();
        v.reserve(3).unwrap();
        (dir, v)
    }

    #[test]
    fn chunks_round_trip_and_an_owners_erasure_leaves_the_others_runs() {
        let (_dir, vault) = vault();
        let h = ChunkHeader {
            site: "s".into(),
            received_at: 10,
            sent_at: 9,
        };
        let e1 = EventFields {
            message_id: "m1".into(),
            kind: Kind::Event(EventType::PageView),
            timestamp: 5,
            client_timestamp: 4,
            context_json: "{}".into(),
            properties_json: r#"{"url":"u","path":"/"}"#.into(),
        };
        let e2 = EventFields {
            message_id: "m2".into(),
            ..e1.clone()
        };
        let e3 = EventFields {
            message_id: "m3".into(),
            ..e1.clone()
        };
        let encoded = [encode_event(&e1), encode_event(&e2), encode_event(&e3)];
        let owners = [1, 1, 2];
        let runs = runs(owners.iter().zip(&encoded).map(|(o, e)| (*o, e.as_slice())));
        assert_eq!(runs.len(), 2);
        let key = b"chunk key";
        let bytes = encode_chunk(
            &mut vault.keyring(),
            key,
            &h,
            type_bit(EventType::PageView),
            &runs,
        )
        .unwrap();
        assert!(!bytes.windows(5).any(|w| w == b"/path"));
        let (h2, evs) = decode_chunk(&mut vault.keyring(), key, &bytes).unwrap();
        assert_eq!(h2, h);
        assert_eq!(evs, vec![(1, e1.clone()), (1, e2.clone()), (2, e3.clone())]);
        assert!(decode_chunk(&mut vault.keyring(), b"another key", &bytes).is_err());
        vault.destroy(&[1]).unwrap();
        let (_, evs) = decode_chunk(&mut vault.keyring(), key, &bytes).unwrap();
        assert_eq!(evs, vec![(0, erased_place()), (0, erased_place()), (2, e3)]);
    }

    #[test]
    fn contacts_written_as_v3_still_read_and_v4_round_trips() {
        use footprint_domain::contacts::aggregate::{CategorySeen, Stamped};
        let mut c = Contact::new(ContactId::parse("7").unwrap(), "shop", 1_000);
        c.extras.categories.push(CategorySeen {
            name: "Shirts".into(),
            views: 2,
            last_seen: 900,
        });
        c.extras.segments.insert(3);
        c.channels.newsletter = Some(footprint_domain::contacts::Subscription::Subscribed);
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
            value: footprint_domain::contacts::Subscription::Unsubscribed,
        });
        let rec = ContactRecord::Live(Box::new(c.clone()));
        let ContactRecord::Live(new) = decode_contact(&encode_contact(&rec)).unwrap() else {
            panic!("a live contact");
        };
        assert_eq!(*new, c);
        assert_eq!(new.newsletter(), "unsubscribed");

        // v4 as it was written: the v3 extras and the newsletter; v6's fields read empty.
        #[derive(Serialize)]
        struct V4<'a> {
            categories: &'a [CategorySeen],
            segments: &'a std::collections::BTreeSet<u64>,
            newsletter: &'a Option<Stamped<footprint_domain::contacts::Subscription>>,
        }
        let mut v4 = vec![CONTACT_V4];
        v4.extend(postcard::to_allocvec(&rec).unwrap());
        v4.extend(postcard::to_allocvec(&c.admin).unwrap());
        v4.extend(
            postcard::to_allocvec(&V4 {
                categories: &c.extras.categories,
                segments: &c.extras.segments,
                newsletter: &c.extras.newsletter,
            })
            .unwrap(),
        );
        let ContactRecord::Live(old) = decode_contact(&v4).unwrap() else {
            panic!("a live contact");
        };
        assert_eq!(*old, c);

        c.extras.tags.insert("vip".into());
        c.extras.reference = Some("CRM-1".into());
        let rec = ContactRecord::Live(Box::new(c.clone()));
        // v6 as it was written: the whole extras and nothing after; v7's deliveries read empty.
        let mut v6 = vec![CONTACT_V6];
        v6.extend(postcard::to_allocvec(&rec).unwrap());
        v6.extend(postcard::to_allocvec(&c.admin).unwrap());
        v6.extend(postcard::to_allocvec(&c.extras).unwrap());
        let ContactRecord::Live(old) = decode_contact(&v6).unwrap() else {
            panic!("a live contact");
        };
        assert_eq!(*old, c);

        use footprint_domain::contacts::delivery::{Channel, Signal};
        c.deliveries.record(Channel::Email, &Signal::Sent, 7);
        let rec = ContactRecord::Live(Box::new(c.clone()));
        // v7 as it was written: deliveries last; v8's weeks read empty.
        let mut v7 = vec![CONTACT_V7];
        v7.extend(postcard::to_allocvec(&rec).unwrap());
        v7.extend(postcard::to_allocvec(&c.admin).unwrap());
        v7.extend(postcard::to_allocvec(&c.extras).unwrap());
        v7.extend(postcard::to_allocvec(&c.deliveries).unwrap());
        let ContactRecord::Live(old) = decode_contact(&v7).unwrap() else {
            panic!("a live contact");
        };
        assert_eq!(*old, c);
        assert_eq!(old.deliveries.email.sent.count, 1);

        c.weeks.add(1_795_392_000_000);
        let rec = ContactRecord::Live(Box::new(c.clone()));
        // v8 as it was written: weeks last; v9's last page reads empty.
        let mut v8 = vec![CONTACT_V8];
        v8.extend(postcard::to_allocvec(&rec).unwrap());
        v8.extend(postcard::to_allocvec(&c.admin).unwrap());
        v8.extend(postcard::to_allocvec(&c.extras).unwrap());
        v8.extend(postcard::to_allocvec(&c.deliveries).unwrap());
        v8.extend(postcard::to_allocvec(&c.weeks).unwrap());
        let ContactRecord::Live(old) = decode_contact(&v8).unwrap() else {
            panic!("a live contact");
        };
        assert_eq!(*old, c);
        assert_eq!(old.weeks.last(1_795_392_000_000, 1)[0].1, 1);

        c.last_page = Some(Stamped {
            at: 9,
            pos: Pos { seq: 3, index: 0 },
            value: footprint_domain::contacts::fact::PageSeen {
                path: "/shoes".into(),
                title: Some("Shoes".into()),
            },
        });
        let rec = ContactRecord::Live(Box::new(c.clone()));
        let ContactRecord::Live(new) = decode_contact(&encode_contact(&rec)).unwrap() else {
            panic!("a live contact");
        };
        assert_eq!(*new, c);
        assert_eq!(new.last_page.unwrap().value.words(), "Shoes");
    }

    #[test]
    fn unknown_versions_are_an_error() {
        let (_dir, vault) = vault();
        assert!(decode_chunk(&mut vault.keyring(), b"", &[9, 0]).is_err());
        assert!(decode_chunk(&mut vault.keyring(), b"", &[]).is_err());
        assert!(decode_chunk(&mut vault.keyring(), b"", &[3, 0, 0, 0, 0, 0, 9]).is_err());
    }

    #[test]
    fn a_live_contact_is_sealed_and_a_merged_one_is_not() {
        let (_dir, vault) = vault();
        let id = ContactId::parse("2").unwrap();
        let mut c = Contact::new(id, "shop", 1_000);
        c.email = Some("ana@example.com".into());
        let rec = ContactRecord::Live(Box::new(c));
        let bytes = seal_contact(&mut vault.keyring(), id, &rec).unwrap();
        assert!(!bytes.windows(3).any(|w| w == b"ana"));
        assert_eq!(
            open_contact(&mut vault.keyring(), id, &bytes).unwrap(),
            Some(rec)
        );
        let merged = ContactRecord::Merged(ContactId::parse("3").unwrap());
        let bytes = seal_contact(&mut vault.keyring(), id, &merged).unwrap();
        vault.destroy(&[2]).unwrap();
        assert_eq!(
            open_contact(&mut vault.keyring(), id, &bytes).unwrap(),
            Some(merged)
        );
    }
}
