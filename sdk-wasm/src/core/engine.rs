//! The delivery state machine: what to send next, and what a send's outcome means for the
//! queue. The platform layer owns the clock, the network and storage; it asks the engine and
//! carries out the answer.
//!
//! One request is in flight at a time per page. Events stay in the queue until the edge has
//! them, so a page that dies mid-send sends them again from storage later; the edge
//! deduplicates by `message_id`, which makes that harmless.

use alloc::string::String;
use alloc::vec::Vec;

use super::backoff::{Backoff, SendOutcome};
use super::queue::{batch_body, chunks, envelope_len, Queue, QueuedEvent, BEACON_MAX_BYTES};
use footprint_protocol::limits::{MAX_BODY_BYTES, MAX_EVENTS_PER_BATCH};

/// First retry after about a second, doubling to at most five minutes.
const BACKOFF_BASE_MS: u64 = 1_000;
const BACKOFF_MAX_MS: u64 = 5 * 60 * 1000;

#[derive(Debug)]
pub struct Engine {
    queue: Queue,
    backoff: Backoff,
    max_batch: usize,
    in_flight: Vec<String>,
    /// Handed to a beacon by this page. A beacon's fate is unknown, so they stay queued (and
    /// stored) for a later page to send again; this page does not send them twice.
    beaconed: Vec<String>,
    /// No send before this time (ms), after a failure.
    retry_at: u64,
    opted_out: bool,
}

/// What happened to a tracked event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tracked {
    /// Queued; `dropped` older events made room. `send_now` when a full batch is waiting.
    Queued { dropped: usize, send_now: bool },
    /// The visitor opted out: nothing is collected.
    OptedOut,
    /// Larger than the whole queue may hold.
    TooLarge,
}

/// One request to make.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Batch {
    pub body: String,
    pub ids: Vec<String>,
}

/// What a send's outcome means.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Settled {
    Delivered,
    /// Try again after this many ms.
    RetryIn(u64),
    /// The edge refused the batch for good; its events were dropped. Warn once.
    Dropped(usize),
}

impl Engine {
    pub fn new(queue: Queue, max_batch: usize, opted_out: bool) -> Engine {
        Engine {
            queue,
            backoff: Backoff::new(BACKOFF_BASE_MS, BACKOFF_MAX_MS),
            max_batch: max_batch.clamp(1, MAX_EVENTS_PER_BATCH),
            in_flight: Vec::new(),
            beaconed: Vec::new(),
            retry_at: 0,
            opted_out,
        }
    }

    pub fn queue(&self) -> &Queue {
        &self.queue
    }

    /// Replaces the queue with the stored one, after another page of this tab changed it.
    pub fn reload(&mut self, queue: Queue) {
        self.queue = queue;
    }

    /// Moves events in from another queue (a closed tab's), oldest first.
    pub fn adopt(&mut self, other: Queue) {
        let mut merged = other;
        for ev in self.queue.iter() {
            let _ = merged.push(ev.clone());
        }
        self.queue = merged;
    }

    pub fn opted_out(&self) -> bool {
        self.opted_out
    }

    pub fn track(&mut self, ev: QueuedEvent) -> Tracked {
        if self.opted_out {
            return Tracked::OptedOut;
        }
        match self.queue.push(ev) {
            Ok(dropped) => Tracked::Queued {
                dropped,
                send_now: self.queue.len() >= self.max_batch,
            },
            Err(_) => Tracked::TooLarge,
        }
    }

    /// True when a send may start now (something queued, nothing in flight, not backing off).
    pub fn ready(&self, now: u64) -> bool {
        !self.opted_out && self.in_flight.is_empty() && now >= self.retry_at && self.unsent() > 0
    }

    /// Events still to be sent by this page: queued and not handed to a beacon.
    pub fn unsent(&self) -> usize {
        self.queue
            .iter()
            .filter(|e| !self.beaconed.contains(&e.message_id))
            .count()
    }

    /// When the backoff allows the next try.
    pub fn retry_at(&self) -> u64 {
        self.retry_at
    }

    /// The next batch, oldest events first, or `None` when [`Engine::ready`] is false.
    pub fn next_batch(&mut self, now: u64, site_key: &str, sent_at: &str) -> Option<Batch> {
        if !self.ready(now) {
            return None;
        }
        let envelope = envelope_len(site_key, sent_at);
        let beaconed = &self.beaconed;
        let events = self
            .queue
            .peek_batch(self.max_batch, MAX_BODY_BYTES, envelope, |e| {
                !beaconed.contains(&e.message_id)
            });
        if events.is_empty() {
            return None;
        }
        let ids: Vec<String> = events.iter().map(|e| e.message_id.clone()).collect();
        let body = batch_body(site_key, sent_at, events);
        self.in_flight = ids.clone();
        Some(Batch { body, ids })
    }

    /// Applies a send's outcome. `jitter` is uniform in `[0, 1)`.
    pub fn settle(&mut self, outcome: SendOutcome, now: u64, jitter: f64) -> Settled {
        let ids = core::mem::take(&mut self.in_flight);
        match outcome {
            SendOutcome::Delivered => {
                self.queue.remove(&ids);
                self.backoff.reset();
                self.retry_at = 0;
                Settled::Delivered
            }
            SendOutcome::Rejected => {
                self.queue.remove(&ids);
                Settled::Dropped(ids.len())
            }
            SendOutcome::Retry { retry_after_ms } => {
                let delay = self.backoff.next_delay(jitter, retry_after_ms);
                self.retry_at = now.saturating_add(delay);
                Settled::RetryIn(delay)
            }
        }
    }

    /// The network is back: try again at once.
    pub fn online(&mut self) {
        self.retry_at = 0;
    }

    /// Everything queued and not yet beaconed, as `sendBeacon` bodies of at most 64 KiB: the
    /// page may be going away. Events in flight are included; if both arrive, the edge keeps
    /// one.
    pub fn unload_chunks(&self, site_key: &str, sent_at: &str) -> Vec<(String, Vec<String>)> {
        if self.opted_out {
            return Vec::new();
        }
        let beaconed = &self.beaconed;
        chunks(
            &self.queue,
            site_key,
            sent_at,
            MAX_EVENTS_PER_BATCH,
            BEACON_MAX_BYTES,
            |e| !beaconed.contains(&e.message_id),
        )
    }

    /// Events a beacon has taken. They stay queued: if the beacon was lost (the edge down, the
    /// network gone), the next page sends them, and the edge drops the copies it already has.
    pub fn handed_off(&mut self, ids: &[String]) {
        self.beaconed.extend(ids.iter().cloned());
    }

    /// Stops collection and purges what was queued.
    pub fn opt_out(&mut self) {
        self.opted_out = true;
        self.queue.clear();
        self.in_flight.clear();
    }

    pub fn opt_in(&mut self) {
        self.opted_out = false;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(i: usize) -> QueuedEvent {
        QueuedEvent {
            message_id: format!("m{i}"),
            json: format!("{{\"n\":{i}}}"),
        }
    }

    fn engine(max_batch: usize) -> Engine {
        Engine::new(Queue::new(100, 1 << 20), max_batch, false)
    }

    #[test]
    fn a_full_batch_asks_to_be_sent_now() {
        let mut e = engine(3);
        assert_eq!(
            e.track(ev(1)),
            Tracked::Queued {
                dropped: 0,
                send_now: false
            }
        );
        e.track(ev(2));
        assert_eq!(
            e.track(ev(3)),
            Tracked::Queued {
                dropped: 0,
                send_now: true
            }
        );
    }

    #[test]
    fn batches_go_one_at_a_time_and_leave_on_delivery() {
        let mut e = engine(2);
        for i in 0..5 {
            e.track(ev(i));
        }
        let b = e.next_batch(0, "shop", "t").unwrap();
        assert_eq!(b.ids, ["m0", "m1"]);
        assert_eq!(
            b.body,
            r#"{"site_key":"shop","sent_at":"t","events":[{"n":0},{"n":1}]}"#
        );
        assert!(
            e.next_batch(0, "shop", "t").is_none(),
            "one in flight at a time"
        );
        assert_eq!(e.settle(SendOutcome::Delivered, 0, 0.0), Settled::Delivered);
        assert_eq!(e.queue().len(), 3);
        assert_eq!(e.next_batch(0, "shop", "t").unwrap().ids, ["m2", "m3"]);
    }

    #[test]
    fn failures_back_off_exponentially_and_keep_the_events() {
        let mut e = engine(10);
        e.track(ev(1));
        let mut now = 0;
        let mut delays = Vec::new();
        for _ in 0..4 {
            e.next_batch(now, "s", "t").unwrap();
            let Settled::RetryIn(d) = e.settle(
                SendOutcome::Retry {
                    retry_after_ms: None,
                },
                now,
                0.0,
            ) else {
                panic!()
            };
            assert!(
                e.next_batch(now + d - 1, "s", "t").is_none(),
                "not before the delay"
            );
            delays.push(d);
            now += d;
        }
        // Jitter 0 gives the fixed half of each step: 0.5 s, 1 s, 2 s, 4 s.
        assert_eq!(delays, [500, 1000, 2000, 4000]);
        assert_eq!(e.queue().len(), 1);
        e.next_batch(now, "s", "t").unwrap();
        e.settle(SendOutcome::Delivered, now, 0.0);
        assert!(e.queue().is_empty());
    }

    #[test]
    fn retry_after_is_honoured_and_online_cuts_the_wait() {
        let mut e = engine(10);
        e.track(ev(1));
        e.next_batch(0, "s", "t").unwrap();
        let s = e.settle(
            SendOutcome::Retry {
                retry_after_ms: Some(30_000),
            },
            0,
            0.0,
        );
        assert_eq!(s, Settled::RetryIn(30_000));
        assert!(!e.ready(29_999));
        e.online();
        assert!(e.ready(1));
    }

    #[test]
    fn a_refused_batch_is_dropped_and_counted() {
        let mut e = engine(2);
        for i in 0..3 {
            e.track(ev(i));
        }
        e.next_batch(0, "s", "t").unwrap();
        assert_eq!(e.settle(SendOutcome::Rejected, 0, 0.0), Settled::Dropped(2));
        assert_eq!(e.queue().len(), 1);
        assert!(e.ready(0), "a 4xx does not back off the next batch");
    }

    #[test]
    fn opting_out_purges_and_stops_collection_until_opt_in() {
        let mut e = engine(10);
        e.track(ev(1));
        e.opt_out();
        assert!(e.queue().is_empty());
        assert_eq!(e.track(ev(2)), Tracked::OptedOut);
        assert!(e.next_batch(0, "s", "t").is_none());
        assert!(e.unload_chunks("s", "t").is_empty());
        e.opt_in();
        assert!(matches!(e.track(ev(3)), Tracked::Queued { .. }));
        // Remembered across pages: a new engine starts opted out when told so.
        let e = Engine::new(Queue::new(10, 1000), 5, true);
        assert!(e.opted_out());
    }

    #[test]
    fn beaconed_events_are_kept_for_the_next_page_but_not_resent_by_this_one() {
        let mut e = engine(2);
        for i in 0..5 {
            e.track(ev(i));
        }
        e.next_batch(0, "s", "t").unwrap();
        let chunks = e.unload_chunks("s", "t");
        let ids: Vec<String> = chunks.iter().flat_map(|c| c.1.clone()).collect();
        assert_eq!(ids.len(), 5, "in-flight events are included");
        e.handed_off(&ids);
        assert_eq!(e.queue().len(), 5, "kept in case the beacon is lost");
        assert!(
            e.unload_chunks("s", "t").is_empty(),
            "hidden, then pagehide: one beacon"
        );
        e.settle(SendOutcome::Delivered, 0, 0.0);
        assert!(!e.ready(0), "this page does not send them again");
        e.track(ev(9));
        assert_eq!(e.next_batch(0, "s", "t").unwrap().ids, ["m9"]);
        assert_eq!(e.unsent(), 1);
        // The next page starts with a fresh engine over the stored queue and sends them all.
        let stored = Queue::decode(&e.queue().encode(), 100, 1 << 20);
        let mut next = Engine::new(stored, 10, false);
        assert_eq!(next.next_batch(0, "s", "t").unwrap().ids.len(), 4);
    }

    #[test]
    fn adopted_events_come_before_this_pages_own() {
        let mut e = engine(10);
        e.track(ev(9));
        let mut other = Queue::new(100, 1 << 20);
        other.push(ev(1)).unwrap();
        e.adopt(other);
        let b = e.next_batch(0, "s", "t").unwrap();
        assert_eq!(b.ids, ["m1", "m9"]);
    }
}
