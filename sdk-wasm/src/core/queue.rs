//! The event queue: what has been tracked and not yet delivered.
//!
//! It lives in localStorage (the platform layer stores [`Queue::encode`]), so it survives
//! reloads and offline spells. It is capped in count and in bytes, so that it never eats the
//! site's storage quota (browsers give an origin about 5 MB of localStorage, shared with the
//! shop's own data). When a cap is hit, the oldest events go first and are counted.

use alloc::borrow::ToOwned;
use alloc::string::String;
use alloc::vec::Vec;

/// One tracked event: its id and its JSON text, exactly as it will be sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueuedEvent {
    pub message_id: String,
    pub json: String,
}

impl QueuedEvent {
    fn cost(&self) -> usize {
        self.message_id.len() + self.json.len() + 2
    }
}

/// Default caps: 1,000 events and 512 KiB, about a tenth of a typical localStorage quota.
pub const DEFAULT_MAX_EVENTS: usize = 1_000;
pub const DEFAULT_MAX_BYTES: usize = 512 * 1024;
/// `navigator.sendBeacon` refuses bodies over 64 KiB in most browsers.
pub const BEACON_MAX_BYTES: usize = 64 * 1024;

#[derive(Debug, Clone)]
pub struct Queue {
    /// Oldest first. A `Vec` rather than a `VecDeque`: dropping from the front is rare (only
    /// when a cap is hit) and the deque's code is a kilobyte of wasm.
    items: Vec<QueuedEvent>,
    bytes: usize,
    max_events: usize,
    max_bytes: usize,
    dropped: u64,
}

/// Why an event was not queued.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PushError {
    /// Bigger than the whole queue may be.
    TooLarge,
}

impl Queue {
    pub fn new(max_events: usize, max_bytes: usize) -> Queue {
        Queue {
            items: Vec::new(),
            bytes: 0,
            max_events: max_events.max(1),
            max_bytes: max_bytes.max(1),
            dropped: 0,
        }
    }

    pub fn len(&self) -> usize {
        self.items.len()
    }

    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    pub fn bytes(&self) -> usize {
        self.bytes
    }

    /// Events dropped to stay within the caps since this queue was created.
    pub fn dropped(&self) -> u64 {
        self.dropped
    }

    /// Adds an event at the back, dropping the oldest while over a cap. Returns how many were
    /// dropped.
    pub fn push(&mut self, ev: QueuedEvent) -> Result<usize, PushError> {
        if ev.cost() > self.max_bytes {
            return Err(PushError::TooLarge);
        }
        self.bytes += ev.cost();
        self.items.push(ev);
        let mut dropped = 0;
        while self.items.len() - dropped > self.max_events || self.bytes > self.max_bytes {
            match self.items.get(dropped) {
                Some(old) => {
                    self.bytes -= old.cost();
                    dropped += 1;
                }
                None => break,
            }
        }
        // Not `drain(..dropped)`: its range check is a panic path the wasm would carry.
        let mut seen = 0;
        self.items.retain(|_| {
            seen += 1;
            seen > dropped
        });
        self.dropped += dropped as u64;
        Ok(dropped)
    }

    /// The oldest events that fit one request: at most `max_events`, and a body of at most
    /// `max_body` bytes once wrapped in a batch envelope of `envelope` bytes.
    pub fn peek_batch(
        &self,
        max_events: usize,
        max_body: usize,
        envelope: usize,
        mut wanted: impl FnMut(&QueuedEvent) -> bool,
    ) -> Vec<&QueuedEvent> {
        let mut out = Vec::new();
        let mut size = envelope;
        for ev in self
            .items
            .iter()
            .filter(|e| wanted(e))
            .take(max_events.max(1))
        {
            let add = ev.json.len() + 1; // the comma
            if size + add > max_body {
                break;
            }
            size += add;
            out.push(ev);
        }
        out
    }

    /// Removes delivered (or rejected) events by id. Ids no longer queued are ignored: they may
    /// have been dropped by a cap while their batch was in flight.
    pub fn remove(&mut self, ids: &[String]) {
        if ids.is_empty() {
            return;
        }
        // Linear: a batch is at most 500 ids and the queue at most a few thousand events, and a
        // hash set would bring its hasher into the wasm.
        let mut bytes = self.bytes;
        self.items.retain(|ev| {
            let keep = !ids.contains(&ev.message_id);
            if !keep {
                bytes -= ev.cost();
            }
            keep
        });
        self.bytes = bytes;
    }

    /// The queued events, oldest first.
    pub fn iter(&self) -> impl Iterator<Item = &QueuedEvent> {
        self.items.iter()
    }

    /// Empties the queue (opt-out). Purged events are not counted as dropped.
    pub fn clear(&mut self) {
        self.items.clear();
        self.bytes = 0;
    }

    /// The storage form: one `message_id TAB json` line per event. Neither part can hold a tab
    /// or a newline: message ids exclude control characters, and compact JSON escapes them.
    pub fn encode(&self) -> String {
        let mut s = String::with_capacity(self.bytes);
        for ev in &self.items {
            s.push_str(&ev.message_id);
            s.push('\t');
            s.push_str(&ev.json);
            s.push('\n');
        }
        s
    }

    /// Rebuilds a queue from [`Queue::encode`]'s output. Storage is shared with the page, so
    /// unreadable lines are skipped rather than trusted, and the caps apply again.
    pub fn decode(stored: &str, max_events: usize, max_bytes: usize) -> Queue {
        let mut q = Queue::new(max_events, max_bytes);
        for line in super::text::split(stored, b'\n') {
            let Some((id, json)) = super::text::split_once(line, b'\t') else {
                continue;
            };
            if id.is_empty() || !json.starts_with('{') || !json.ends_with('}') {
                continue;
            }
            let _ = q.push(QueuedEvent {
                message_id: id.to_owned(),
                json: json.to_owned(),
            });
        }
        q.dropped = 0;
        q
    }
}

/// Wraps event JSON texts in a batch envelope. `site_key` and `sent_at` come from validated
/// types (`SiteKey`, `Timestamp`) whose characters never need escaping in JSON.
pub fn batch_body<'a>(
    site_key: &str,
    sent_at: &str,
    events: impl IntoIterator<Item = &'a QueuedEvent>,
) -> String {
    let mut s = String::with_capacity(1024);
    s.push_str("{\"site_key\":\"");
    s.push_str(site_key);
    s.push_str("\",\"sent_at\":\"");
    s.push_str(sent_at);
    s.push_str("\",\"events\":[");
    for (i, ev) in events.into_iter().enumerate() {
        if i > 0 {
            s.push(',');
        }
        s.push_str(&ev.json);
    }
    s.push_str("]}");
    s
}

/// The envelope's size without events, for [`Queue::peek_batch`].
pub fn envelope_len(site_key: &str, sent_at: &str) -> usize {
    batch_body(site_key, sent_at, []).len()
}

/// Splits the whole queue into request bodies of at most `max_body` bytes and `max_events`
/// events each, oldest first: what an unloading page hands to `sendBeacon`.
pub fn chunks(
    q: &Queue,
    site_key: &str,
    sent_at: &str,
    max_events: usize,
    max_body: usize,
    mut wanted: impl FnMut(&QueuedEvent) -> bool,
) -> Vec<(String, Vec<String>)> {
    let envelope = envelope_len(site_key, sent_at);
    let mut out = Vec::new();
    let all: Vec<&QueuedEvent> = q.items.iter().filter(|e| wanted(e)).collect();
    // Sliced, not drained: `remove` and `drain` bring index checks (panic paths) into the wasm.
    let mut rest = all.as_slice();
    while !rest.is_empty() {
        let mut size = envelope;
        let mut n = 0;
        for ev in rest.iter().take(max_events.max(1)) {
            if size + ev.json.len() + 1 > max_body {
                break;
            }
            size += ev.json.len() + 1;
            n += 1;
        }
        if n == 0 {
            // An event too large for any beacon is left for a regular fetch.
            rest = rest.get(1..).unwrap_or_default();
            continue;
        }
        let (part, more) = rest.split_at_checked(n).unwrap_or((rest, &[]));
        rest = more;
        let ids = part.iter().map(|e| e.message_id.clone()).collect();
        out.push((batch_body(site_key, sent_at, part.iter().copied()), ids));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(id: &str, size: usize) -> QueuedEvent {
        let pad = "x".repeat(size.saturating_sub(10));
        QueuedEvent {
            message_id: id.into(),
            json: format!("{{\"p\":\"{pad}\"}}"),
        }
    }

    #[test]
    fn the_count_cap_drops_the_oldest_and_counts_them() {
        let mut q = Queue::new(3, 1 << 20);
        for i in 0..5 {
            q.push(ev(&format!("m{i}"), 50)).unwrap();
        }
        assert_eq!(q.len(), 3);
        assert_eq!(q.dropped(), 2);
        let ids: Vec<_> = q
            .peek_batch(10, 1 << 20, 0, |_| true)
            .iter()
            .map(|e| e.message_id.clone())
            .collect();
        assert_eq!(ids, ["m2", "m3", "m4"]);
    }

    #[test]
    fn the_byte_cap_holds_and_a_too_large_event_is_refused() {
        let mut q = Queue::new(100, 1000);
        for i in 0..10 {
            q.push(ev(&format!("m{i}"), 300)).unwrap();
            assert!(q.bytes() <= 1000);
        }
        assert_eq!(q.len(), 3);
        assert_eq!(q.dropped(), 7);
        assert_eq!(q.push(ev("big", 2000)), Err(PushError::TooLarge));
        assert_eq!(q.len(), 3, "a refused event drops nothing");
    }

    #[test]
    fn batches_respect_count_and_body_size() {
        let mut q = Queue::new(100, 1 << 20);
        for i in 0..30 {
            q.push(ev(&format!("m{i}"), 100)).unwrap();
        }
        assert_eq!(q.peek_batch(20, 1 << 20, 60, |_| true).len(), 20);
        assert_eq!(q.peek_batch(20, 60 + 5 * 101, 60, |_| true).len(), 5);
    }

    #[test]
    fn removal_by_id_survives_drops_during_flight() {
        let mut q = Queue::new(3, 1 << 20);
        for i in 0..3 {
            q.push(ev(&format!("m{i}"), 50)).unwrap();
        }
        let in_flight: Vec<String> = q
            .peek_batch(2, 1 << 20, 0, |_| true)
            .iter()
            .map(|e| e.message_id.clone())
            .collect();
        q.push(ev("m3", 50)).unwrap(); // drops m0 while m0 and m1 are in flight
        q.remove(&in_flight);
        let left: Vec<_> = q
            .peek_batch(10, 1 << 20, 0, |_| true)
            .iter()
            .map(|e| e.message_id.clone())
            .collect();
        assert_eq!(left, ["m2", "m3"]);
        assert_eq!(q.bytes(), ev("m2", 50).cost() + ev("m3", 50).cost());
    }

    #[test]
    fn storage_round_trips_and_skips_garbage() {
        let mut q = Queue::new(10, 1 << 20);
        q.push(ev("m1", 40)).unwrap();
        q.push(QueuedEvent {
            message_id: "m2".into(),
            json: r#"{"t":"tab\tin\nstring"}"#.replace('\t', "\\t").replace('\n', "\\n"),
        })
        .unwrap();
        let stored = q.encode();
        let back = Queue::decode(&stored, 10, 1 << 20);
        assert_eq!(back.encode(), stored);
        let messy = format!("garbage\n\tno-id\nm9\tnot json\n{stored}");
        assert_eq!(Queue::decode(&messy, 10, 1 << 20).len(), 2);
    }

    #[test]
    fn beacon_chunks_stay_under_the_limit_and_cover_every_event() {
        let mut q = Queue::new(1000, 1 << 22);
        for i in 0..200 {
            q.push(ev(&format!("m{i}"), 1000)).unwrap();
        }
        let parts = chunks(
            &q,
            "demo-shop",
            "2026-11-23T10:00:00.000Z",
            500,
            BEACON_MAX_BYTES,
            |_| true,
        );
        assert!(parts.len() >= 4);
        let mut seen = 0;
        for (body, ids) in &parts {
            assert!(body.len() <= BEACON_MAX_BYTES, "{}", body.len());
            let batch = footprint_protocol::parse_batch(body.as_bytes()).unwrap();
            assert_eq!(batch.events.len(), ids.len());
            seen += ids.len();
        }
        assert_eq!(seen, 200);
    }
}
