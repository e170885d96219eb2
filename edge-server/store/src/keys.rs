//! Every sled key the edge writes is built and read here, and nowhere else.
//!
//! All records live in one tree so that one group commit is one atomic `apply_batch`: the
//! dedupe markers of a commit can never survive a crash without the events they guard.
//! Numbers are big-endian so that byte order is numeric order, and variable parts are
//! length-prefixed so that one id is never a prefix of another's keys.
//!
//! | key | value |
//! |---|---|
//! | `e` len(tracker) tracker seq:u64 | a chunk: the events of one request for one tracker |
//! | `d` len(site) site message_id | seq:u64 of the chunk that holds the event |
//! | `m:seq` | the last seq handed out |
//! | `m:probe` | the time of the last readiness probe |
//! | `t` len(tracker) tracker site | the contact the tracker points at now: id:u64 |
//! | `c` id:u64 | a contact: its aggregate, or the id it was merged into |
//! | `x` hash:16 site | the contact with that normalised email: id:u64 |
//! | `p` hash:16 site | the contact with that E.164 phone: id:u64 |
//! | `R` hash:16 site | the contact with that reference: id:u64 |
//! | `P` class:1 key:8 id:u64 | (empty): a contact with points, in points order (`Points::order_key`) |
//! | `n` bucket:16 id:u64 term:8 | a search term (email or lower-cased name) sealed under the contact's key |
//! | `o` len(site) site hash:16 | the site has reported this order: owner:u64 at:u64, where its `O` record is (empty before v6) |
//! | `O` owner:u64 at:u64 hash:16 | an order (`orders::Order`) sealed under its owner's key |
//! | `r` len(site) site id:u64 | a purchasing contact's RFM inputs |
//! | `v` len(site) site id:u64 | a purchasing contact's history for the CLV models |
//! | `g` n:u64 | the n-th identity change (merge or move), for audit and undo |
//! | `m:contact`, `m:idlog` | the last contact id and identity-change number handed out |
//! | `m:rfm:` site | the site's RFM cut points |
//! | `m:clv:` site | the site's CLV models, per currency |
//! | `h` id:u64 at:u64 n:u64 | one change in a contact's history |
//! | `G` id:u64 | a segment: its name and, for a dynamic one, its rule |
//! | `s` segment:u64 contact:u64 | (empty): a member of a static segment |
//! | `m:hist`, `m:seg` | the last history entry and segment id handed out |
//! | `q` len(site) site tracker | (erased at:u64): a suppressed tracker, whose events are dropped |
//! | `Q` hmac:32 | (erased at:u64): a suppressed email or phone, as a keyed hash |
//! | `m:erased` | the time of the oldest erasure not yet compacted away |
//! | `k` id:u64 | (empty): an erased contact whose key is still to be destroyed |
//! | `m:format` | the data format: 2 since contacts are sealed |
//! | `m:applied` | the log position of the last command applied |
//!
//! No key holds an email, phone, name or order id: sled keeps removed keys in its log as it
//! keeps values, and a key cannot be sealed. They hold keyed hashes instead (`suppress.rs`):
//! an exact lookup hashes the value it looks for, and search looks in the bucket of the
//! query's first characters, then opens each term there and keeps those that match.

use footprint_protocol::{MessageId, SiteKey, TrackerId};

const EVENT: u8 = b'e';
const DEDUPE: u8 = b'd';
const TRACKER: u8 = b't';
const CONTACT: u8 = b'c';
const EMAIL: u8 = b'x';
const PHONE: u8 = b'p';
const REFERENCE: u8 = b'R';
const POINTS: u8 = b'P';
const NAME: u8 = b'n';
const ORDER: u8 = b'o';
const ORDER_RECORD: u8 = b'O';
const RFM: u8 = b'r';
const CLV: u8 = b'v';
const ID_LOG: u8 = b'g';
const HISTORY: u8 = b'h';
const SEGMENT: u8 = b'G';
const MEMBER: u8 = b's';
const SUPPRESSED_TRACKER: u8 = b'q';
const SUPPRESSED_VALUE: u8 = b'Q';
const SHRED: u8 = b'k';
const COUNT: u8 = b'N';
const TIMED: u8 = b'V';
pub const META_FORMAT: &[u8] = b"m:format";
pub const META_ERASED: &[u8] = b"m:erased";
pub const META_SEGMENT: &[u8] = b"m:seg";
pub const META_SEQ: &[u8] = b"m:seq";
pub const PROBE: &[u8] = b"m:probe";
pub const META_APPLIED: &[u8] = b"m:applied";
pub const META_CONTACT: &[u8] = b"m:contact";
pub const META_ID_LOG: &[u8] = b"m:idlog";
pub const META_HISTORY: &[u8] = b"m:hist";
/// Present once the contact counters (`N`, `V`) cover every contact (`Store::open` builds
/// them for a store written before they existed).
pub const META_COUNTS: &[u8] = b"m:counts";
const META_RFM: &[u8] = b"m:rfm:";
const META_CLV: &[u8] = b"m:clv:";

fn with_prefix(tag: u8, id: &str, extra: usize) -> Vec<u8> {
    // Ids are at most 64 bytes by their types, so the length always fits a byte.
    let len = u8::try_from(id.len()).unwrap_or(u8::MAX);
    let mut k = Vec::with_capacity(2 + id.len() + extra);
    k.push(tag);
    k.push(len);
    k.extend_from_slice(id.as_bytes());
    k
}

/// The prefix of all of one tracker's event chunks.
pub fn tracker_prefix(tracker: &TrackerId) -> Vec<u8> {
    with_prefix(EVENT, tracker.as_str(), 8)
}

pub fn event_chunk(tracker: &TrackerId, seq: u64) -> Vec<u8> {
    let mut k = tracker_prefix(tracker);
    k.extend_from_slice(&seq.to_be_bytes());
    k
}

/// The seq at the end of an event-chunk key.
pub fn chunk_seq(key: &[u8]) -> Option<u64> {
    let tail = key.len().checked_sub(8).map(|i| &key[i..])?;
    Some(u64::from_be_bytes(tail.try_into().ok()?))
}

pub fn dedupe(site: &SiteKey, message_id: &MessageId) -> Vec<u8> {
    let mut k = with_prefix(DEDUPE, site.as_str(), message_id.as_str().len());
    k.extend_from_slice(message_id.as_str().as_bytes());
    k
}

/// Every site's record of the tracker: the prefix of [`tracker`].
pub fn tracker_all_sites(tracker: &str) -> Vec<u8> {
    with_prefix(TRACKER, tracker, 32)
}

pub fn tracker(tracker: &str, site: &str) -> Vec<u8> {
    let mut k = tracker_all_sites(tracker);
    k.extend_from_slice(site.as_bytes());
    k
}

/// The site of a [`tracker`] key.
pub fn tracker_key_site(key: &[u8]) -> Option<&str> {
    let len = usize::from(*key.get(1)?);
    std::str::from_utf8(key.get(2 + len..)?).ok()
}

/// The prefix of every contact record.
pub fn contact_prefix() -> [u8; 1] {
    [CONTACT]
}

pub fn contact(id: u64) -> [u8; 9] {
    let mut k = [CONTACT; 9];
    k[1..].copy_from_slice(&id.to_be_bytes());
    k
}

/// The email index entry of one site; with `site` empty, the prefix of every site's entry.
pub fn email(hash: &[u8; 16], site: &str) -> Vec<u8> {
    hashed(EMAIL, hash, site)
}

pub fn phone(hash: &[u8; 16], site: &str) -> Vec<u8> {
    hashed(PHONE, hash, site)
}

/// A contact's entry in points order: big-endian bytes that sort as `(class, key, id)`.
pub fn points(class: u8, key: f64, id: u64) -> [u8; 18] {
    // An f64's bits sort as the number when the sign bit is flipped for positives and every
    // bit for negatives.
    let bits = key.to_bits();
    let ordered = if bits >> 63 == 0 {
        bits | 1 << 63
    } else {
        !bits
    };
    let mut k = [0; 18];
    k[0] = POINTS;
    k[1] = class;
    k[2..10].copy_from_slice(&ordered.to_be_bytes());
    k[10..].copy_from_slice(&id.to_be_bytes());
    k
}

pub const POINTS_PREFIX: &[u8] = &[POINTS];

/// A counter of a site's live contacts with one confidentiality, email status class and day
/// of last activity (`u32::MAX`: never active); its value is the count (u64 BE).
pub fn count(site: &str, confidentiality: u8, status: u8, day: u32) -> Vec<u8> {
    let mut k = with_prefix(COUNT, site, 6);
    k.push(confidentiality);
    k.push(status);
    k.extend_from_slice(&day.to_be_bytes());
    k
}

/// The prefix of every counter, or of one site's.
pub fn count_prefix(site: Option<&str>) -> Vec<u8> {
    match site {
        Some(site) => with_prefix(COUNT, site, 0),
        None => vec![COUNT],
    }
}

/// A [`count`] key's parts: site, confidentiality, status class, day.
pub fn parse_count(key: &[u8]) -> Option<(&str, u8, u8, u32)> {
    let len = usize::from(*key.get(1)?);
    let site = std::str::from_utf8(key.get(2..2 + len)?).ok()?;
    let rest = key.get(2 + len..)?;
    let day = u32::from_be_bytes(rest.get(2..6)?.try_into().ok()?);
    Some((site, *rest.first()?, *rest.get(1)?, day))
}

/// A live contact with a `valid_until`, which the counters leave out: whether it counts
/// depends on the time asked, so a count reads these few one by one.
pub fn timed(site: &str, id: u64) -> Vec<u8> {
    let mut k = with_prefix(TIMED, site, 8);
    k.extend_from_slice(&id.to_be_bytes());
    k
}

pub fn timed_prefix(site: Option<&str>) -> Vec<u8> {
    match site {
        Some(site) => with_prefix(TIMED, site, 0),
        None => vec![TIMED],
    }
}

/// The contact id at the end of a [`timed`] key.
pub fn timed_id(key: &[u8]) -> Option<u64> {
    decode_u64(key.get(key.len().checked_sub(8)?..)?)
}

/// The contact id at the end of a [`points`] key.
pub fn points_id(key: &[u8]) -> Option<u64> {
    decode_u64(key.get(10..18)?)
}

pub fn reference(hash: &[u8; 16], site: &str) -> Vec<u8> {
    hashed(REFERENCE, hash, site)
}

fn hashed(tag: u8, hash: &[u8; 16], site: &str) -> Vec<u8> {
    let mut k = Vec::with_capacity(17 + site.len());
    k.push(tag);
    k.extend_from_slice(hash);
    k.extend_from_slice(site.as_bytes());
    k
}

/// A search term's entry: `n bucket id term`. `term` (a hash of the whole term) keeps one
/// contact's terms that share a bucket apart.
pub fn search(bucket: &[u8; 16], id: u64, term: &[u8; 8]) -> [u8; 33] {
    let mut k = [NAME; 33];
    k[1..17].copy_from_slice(bucket);
    k[17..25].copy_from_slice(&id.to_be_bytes());
    k[25..].copy_from_slice(term);
    k
}

/// Every search entry in one bucket.
pub fn search_bucket(bucket: &[u8; 16]) -> [u8; 17] {
    let mut k = [NAME; 17];
    k[1..].copy_from_slice(bucket);
    k
}

/// The contact of a [`search`] key.
pub fn search_key_id(key: &[u8]) -> Option<u64> {
    Some(u64::from_be_bytes(key.get(17..25)?.try_into().ok()?))
}

pub fn order(site: &str, hash: &[u8; 16]) -> Vec<u8> {
    let mut k = with_prefix(ORDER, site, 16);
    k.extend_from_slice(hash);
    k
}

/// Where a contact's order is: under the contact that placed it, by time.
pub fn order_record(owner: u64, at: i64, hash: &[u8; 16]) -> [u8; 33] {
    let mut k = [0; 33];
    k[0] = ORDER_RECORD;
    k[1..9].copy_from_slice(&owner.to_be_bytes());
    // Times are after the epoch; a negative one (never stored) sorts first.
    k[9..17].copy_from_slice(&u64::try_from(at).unwrap_or(0).to_be_bytes());
    k[17..].copy_from_slice(hash);
    k
}

/// Every order record of `owner`.
pub fn order_records(owner: u64) -> [u8; 9] {
    let mut k = [ORDER_RECORD; 9];
    k[1..].copy_from_slice(&owner.to_be_bytes());
    k
}

/// The owner of an [`order_record`] key.
pub fn order_record_owner(key: &[u8]) -> Option<u64> {
    match key {
        [ORDER_RECORD, rest @ ..] if key.len() == 33 => decode_u64(&rest[..8]),
        _ => None,
    }
}

/// The time and hash of an [`order_record`] key, its place in the owner's orders.
pub fn order_record_place(key: &[u8]) -> Option<(u64, [u8; 16])> {
    if key.len() != 33 || key[0] != ORDER_RECORD {
        return None;
    }
    Some((decode_u64(&key[9..17])?, key[17..].try_into().ok()?))
}

/// An erased contact whose key must still be destroyed (`vault.rs`).
pub fn shred(id: u64) -> [u8; 9] {
    let mut k = [SHRED; 9];
    k[1..].copy_from_slice(&id.to_be_bytes());
    k
}

pub const SHRED_PREFIX: &[u8] = &[SHRED];

/// Whether `key` is the host's own business rather than state that commands build: the
/// readiness probe, the format, the pending-erasure marker (a compaction, which the host
/// runs, clears it) and the shred markers of keys being destroyed. Two stores that applied
/// the same commands hold the same records but these.
pub fn is_host_only(key: &[u8]) -> bool {
    key == PROBE || key == META_FORMAT || key == META_ERASED || key.first() == Some(&SHRED)
}

pub fn rfm_all_sites() -> Vec<u8> {
    vec![RFM]
}

pub fn rfm(site: &str, id: u64) -> Vec<u8> {
    let mut k = with_prefix(RFM, site, 8);
    k.extend_from_slice(&id.to_be_bytes());
    k
}

/// The site of an [`rfm`] or a [`clv`] key.
pub fn rfm_key_site(key: &[u8]) -> Option<&str> {
    let len = usize::from(*key.get(1)?);
    std::str::from_utf8(key.get(2..2 + len)?).ok()
}

pub fn rfm_cuts(site: &str) -> Vec<u8> {
    let mut k = META_RFM.to_vec();
    k.extend_from_slice(site.as_bytes());
    k
}

pub fn clv_all_sites() -> Vec<u8> {
    vec![CLV]
}

/// A purchasing contact's CLV history: beside its [`rfm`] inputs, kept by the same writes.
pub fn clv(site: &str, id: u64) -> Vec<u8> {
    let mut k = with_prefix(CLV, site, 8);
    k.extend_from_slice(&id.to_be_bytes());
    k
}

pub fn clv_models(site: &str) -> Vec<u8> {
    let mut k = META_CLV.to_vec();
    k.extend_from_slice(site.as_bytes());
    k
}

pub fn id_log(n: u64) -> [u8; 9] {
    let mut k = [ID_LOG; 9];
    k[1..].copy_from_slice(&n.to_be_bytes());
    k
}

pub const ID_LOG_PREFIX: &[u8] = &[ID_LOG];

/// One change in a contact's history: `h id at n`, so that a contact's history is one range
/// in time order (`n` breaks ties and keeps keys unique).
pub fn history(id: u64, at: i64, n: u64) -> [u8; 25] {
    let mut k = [HISTORY; 25];
    k[1..9].copy_from_slice(&id.to_be_bytes());
    k[9..17].copy_from_slice(&u64::try_from(at).unwrap_or(0).to_be_bytes());
    k[17..].copy_from_slice(&n.to_be_bytes());
    k
}

pub fn segment(id: u64) -> [u8; 9] {
    let mut k = [SEGMENT; 9];
    k[1..].copy_from_slice(&id.to_be_bytes());
    k
}

/// The prefix of every segment.
pub fn segments() -> [u8; 1] {
    [SEGMENT]
}

/// A static segment's member: `s segment contact`, so a segment's members are one range in
/// contact id order.
pub fn member(segment: u64, contact: u64) -> [u8; 17] {
    let mut k = [MEMBER; 17];
    k[1..9].copy_from_slice(&segment.to_be_bytes());
    k[9..].copy_from_slice(&contact.to_be_bytes());
    k
}

/// The prefix of one static segment's members.
pub fn members(segment: u64) -> [u8; 9] {
    let mut k = [MEMBER; 9];
    k[1..].copy_from_slice(&segment.to_be_bytes());
    k
}

/// The contact of a [`member`] key.
pub fn member_contact(key: &[u8]) -> Option<u64> {
    chunk_seq(key)
}

/// The prefix of all of one contact's history.
pub fn history_all(id: u64) -> [u8; 9] {
    let mut k = [HISTORY; 9];
    k[1..].copy_from_slice(&id.to_be_bytes());
    k
}

/// A tracker whose contact was erased: its events are acknowledged and dropped.
pub fn suppressed_tracker(site: &str, tracker: &str) -> Vec<u8> {
    let mut k = with_prefix(SUPPRESSED_TRACKER, site, tracker.len());
    k.extend_from_slice(tracker.as_bytes());
    k
}

/// An erased contact's email or phone, as a keyed hash ([`crate::Suppressor`]).
pub fn suppressed_value(hash: &[u8; 32]) -> [u8; 33] {
    let mut k = [SUPPRESSED_VALUE; 33];
    k[1..].copy_from_slice(hash);
    k
}

/// The contact of a [`history`] key; `None` for any other key.
pub fn history_key_owner(key: &[u8]) -> Option<u64> {
    match key {
        [HISTORY, rest @ ..] if key.len() == 25 => decode_u64(&rest[..8]),
        _ => None,
    }
}

/// The `n` of a history key.
pub fn history_key_n(key: &[u8]) -> Option<u64> {
    chunk_seq(key)
}

/// The first key of `id`'s history at or after `at`.
pub fn history_from(id: u64, at: i64) -> [u8; 17] {
    let mut k = [HISTORY; 17];
    k[1..9].copy_from_slice(&id.to_be_bytes());
    k[9..].copy_from_slice(&u64::try_from(at).unwrap_or(0).to_be_bytes());
    k
}

pub fn encode_u64(v: u64) -> [u8; 8] {
    v.to_be_bytes()
}

pub fn decode_u64(v: &[u8]) -> Option<u64> {
    Some(u64::from_be_bytes(v.try_into().ok()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunk_keys_sort_by_seq_within_a_tracker() {
        let t = TrackerId::new("t1").unwrap();
        let a = event_chunk(&t, 9);
        let b = event_chunk(&t, 10);
        let c = event_chunk(&t, 256);
        assert!(a < b && b < c);
        assert!(a.starts_with(&tracker_prefix(&t)));
        assert_eq!(chunk_seq(&c), Some(256));
    }

    #[test]
    fn one_tracker_is_never_a_prefix_of_another() {
        let short = TrackerId::new("t1").unwrap();
        let long = TrackerId::new("t12").unwrap();
        assert!(!event_chunk(&long, 1).starts_with(&tracker_prefix(&short)));
    }

    #[test]
    fn dedupe_keys_are_per_site() {
        let m = MessageId::new("m").unwrap();
        let a = dedupe(&SiteKey::new("a").unwrap(), &m);
        let ab = dedupe(&SiteKey::new("ab").unwrap(), &m);
        assert_ne!(a, ab);
        assert_ne!(&a[..], &ab[..a.len()]);
    }
}
