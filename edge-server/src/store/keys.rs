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

use footprint_protocol::{MessageId, SiteKey, TrackerId};

const EVENT: u8 = b'e';
const DEDUPE: u8 = b'd';
pub const META_SEQ: &[u8] = b"m:seq";
pub const PROBE: &[u8] = b"m:probe";

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
