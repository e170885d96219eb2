//! The queue in localStorage, one key per tab.
//!
//! Why per tab: two tabs writing one shared key would overwrite each other's events (a
//! read-modify-write across processes is not atomic), and would both send them. So each tab
//! writes only `fp_q:<tab>`, and sends only what it wrote. The tab id lives in sessionStorage,
//! which survives reloads of the tab, so a reloaded page finds its queue again.
//!
//! A tab that closed with events still queued (offline, say) leaves an orphan. The next page to
//! start adopts it: it moves the events into its own queue and deletes the orphan. A page says
//! it is alive in `fp_hb:<tab>` (`<time it last ran> <queue version>`) and says it is gone by
//! writing time `0` on `pagehide`; a queue whose page is gone, or silent for ten minutes, is an orphan. Should two
//! pages adopt the same orphan at once, the edge's deduplication keeps one copy of each event.
//!
//! A tab duplicated by the browser copies its sessionStorage, tab id included. A page that
//! starts and finds its tab id's heartbeat fresh knows another live page holds it, and takes a
//! new id.

use alloc::borrow::ToOwned;
use alloc::string::String;
use alloc::vec::Vec;

use super::LocalStorage;
use crate::core::json::write_u64;
use crate::core::queue::{Queue, DEFAULT_MAX_BYTES, DEFAULT_MAX_EVENTS};
use crate::core::text::{parse_u64, split_once};

const QUEUE_PREFIX: &str = "fp_q:";
const BEAT_PREFIX: &str = "fp_hb:";
const TAB_KEY: &str = "fp_tab";
const ORPHAN_AFTER_MS: u64 = 10 * 60 * 1000;

pub struct QueueStore {
    local: LocalStorage,
    tab: String,
    /// The version this page last wrote or read; another page of this tab (bfcache) may have
    /// written since.
    version: String,
}

fn key(prefix: &str, tab: &str) -> String {
    let mut k = String::from(prefix);
    k.push_str(tab);
    k
}

fn stamp(now: u64) -> String {
    let mut s = String::new();
    write_u64(&mut s, now);
    s
}

/// `fp_hb:<tab>` holds `<beat> <version>`: one key, so a write of the queue costs two
/// `setItem`s, not three.
fn beat_and_version(stored: Option<String>) -> (u64, String) {
    let stored = stored.unwrap_or_default();
    let (beat, version) = split_once(&stored, b' ').unwrap_or((&stored, ""));
    (parse_u64(beat).unwrap_or(0), version.to_owned())
}

impl QueueStore {
    /// Opens this tab's queue, or `None` where localStorage is unavailable (the queue then
    /// lives in memory only). `fresh_id` makes a new tab id.
    pub fn open(
        now: u64,
        alive_within_ms: u64,
        fresh_id: impl Fn() -> String,
    ) -> Option<QueueStore> {
        let local = LocalStorage::open()?;
        let session = LocalStorage::session();
        let mut tab = session
            .as_ref()
            .and_then(|s| s.get(TAB_KEY))
            .unwrap_or_default();
        let (beat, _) = beat_and_version(local.get(&key(BEAT_PREFIX, &tab)));
        if tab.is_empty() || (beat != 0 && now.saturating_sub(beat) < alive_within_ms) {
            tab = fresh_id();
            if let Some(s) = &session {
                let _ = s.set(TAB_KEY, &tab);
            }
        }
        let store = QueueStore {
            local,
            tab,
            version: String::new(),
        };
        store.beat(now);
        Some(store)
    }

    pub fn load(&mut self) -> Queue {
        self.version = beat_and_version(self.local.get(&key(BEAT_PREFIX, &self.tab))).1;
        let stored = self
            .local
            .get(&key(QUEUE_PREFIX, &self.tab))
            .unwrap_or_default();
        Queue::decode(&stored, DEFAULT_MAX_EVENTS, DEFAULT_MAX_BYTES)
    }

    /// True when another page of this tab wrote the queue since this page last did.
    pub fn stale(&self) -> bool {
        beat_and_version(self.local.get(&key(BEAT_PREFIX, &self.tab))).1 != self.version
    }

    /// Writes the queue; [`QueueStore::beat`] or [`QueueStore::gone`] must follow, as they
    /// record its version. When the site's quota is full, the stored copy is removed rather
    /// than left stale: the page keeps its events in memory, and the shop's own data keeps its
    /// room.
    pub fn save(&mut self, q: &Queue, version: u64) {
        let qk = key(QUEUE_PREFIX, &self.tab);
        if q.is_empty() || self.local.set(&qk, &q.encode()).is_err() {
            self.local.remove(&qk);
        }
        self.version = stamp(version);
    }

    fn write_beat(&self, beat: u64) {
        let mut v = stamp(beat);
        v.push(' ');
        v.push_str(&self.version);
        let _ = self.local.set(&key(BEAT_PREFIX, &self.tab), &v);
    }

    /// Records that this page is alive.
    pub fn beat(&self, now: u64) {
        self.write_beat(now);
    }

    /// Records that this page is going away, so its queue may be adopted.
    pub fn gone(&self) {
        self.write_beat(0);
    }

    /// Takes every orphaned queue out of storage.
    pub fn adopt_orphans(&self, now: u64) -> Vec<Queue> {
        let mut out = Vec::new();
        for qk in self.local.keys(QUEUE_PREFIX) {
            let Some(tab) = qk.strip_prefix(QUEUE_PREFIX) else {
                continue;
            };
            if tab == self.tab {
                continue;
            }
            let (beat, _) = beat_and_version(self.local.get(&key(BEAT_PREFIX, tab)));
            if beat != 0 && now.saturating_sub(beat) < ORPHAN_AFTER_MS {
                continue;
            }
            let stored = self.local.get(&qk).unwrap_or_default();
            self.local.remove(&qk);
            self.local.remove(&key(BEAT_PREFIX, tab));
            out.push(Queue::decode(
                &stored,
                DEFAULT_MAX_EVENTS,
                DEFAULT_MAX_BYTES,
            ));
        }
        out
    }
}
