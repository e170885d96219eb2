//! The event store: the only module that knows sled.
//!
//! Writes go through one writer thread with group commit ([`writer`]); a request is answered
//! only after the `flush` that made its events durable. Reads go straight to sled from any
//! thread. Key layout is in [`keys`], value layout in [`record`].

pub mod ceiling;
mod keys;
mod record;
mod writer;

use std::fmt;
use std::path::Path;
use std::sync::mpsc::{sync_channel, SyncSender, TrySendError};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use footprint_protocol::{MessageId, SiteKey, Timestamp, TrackerId};
use tokio::sync::oneshot;

pub use record::EventFields;

use crate::config::StoreConfig;

#[derive(Debug, Clone, thiserror::Error)]
pub enum StoreError {
    #[error("storage error: {0}")]
    Sled(String),
    #[error("{0}")]
    Corrupt(String),
}

impl From<sled::Error> for StoreError {
    fn from(e: sled::Error) -> Self {
        StoreError::Sled(e.to_string())
    }
}

/// Why a write could not even be queued.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SubmitError {
    #[error("the write queue is full")]
    Full,
    #[error("the store is shutting down")]
    Closed,
}

/// One event ready to store: its record is already encoded.
#[derive(Debug, Clone)]
pub struct NewEvent {
    pub tracker_id: TrackerId,
    pub message_id: MessageId,
    encoded: Vec<u8>,
}

impl NewEvent {
    /// `fields.message_id` is `message_id`'s text; the typed id is passed alongside so that it
    /// is not validated a second time.
    pub fn new(tracker_id: TrackerId, message_id: MessageId, fields: &EventFields) -> NewEvent {
        NewEvent {
            tracker_id,
            message_id,
            encoded: record::encode_event(fields),
        }
    }
}

/// The accepted events of one request.
#[derive(Debug, Clone)]
pub struct WriteRequest {
    pub site: SiteKey,
    pub received_at: Timestamp,
    pub sent_at: Timestamp,
    pub events: Vec<NewEvent>,
}

/// What became of one event of a [`WriteRequest`], in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Stored,
    /// The site had sent this `message_id` before; the first copy is kept.
    Duplicate,
}

/// The answer to a write, once it is durable.
pub type PendingWrite = oneshot::Receiver<Result<Vec<Outcome>, StoreError>>;

/// A stored event with its position.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredEvent {
    pub cursor: Cursor,
    pub tracker_id: String,
    pub site: String,
    pub received_at: i64,
    pub sent_at: i64,
    pub fields: EventFields,
}

/// A position in a tracker's event list: a chunk and an index into it. Opaque to clients.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Cursor {
    seq: u64,
    index: u32,
}

impl fmt::Display for Cursor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:016x}{:04x}", self.seq, self.index)
    }
}

impl Cursor {
    pub fn parse(s: &str) -> Option<Cursor> {
        if s.len() != 20 || !s.bytes().all(|b| b.is_ascii_hexdigit()) {
            return None;
        }
        let seq = u64::from_str_radix(&s[..16], 16).ok()?;
        let index = u32::from_str_radix(&s[16..], 16).ok()?;
        Some(Cursor { seq, index })
    }
}

/// A handle to the open store. Cheap to clone.
#[derive(Clone)]
pub struct Store {
    inner: Arc<Inner>,
}

struct Inner {
    tree: sled::Tree,
    tx: SyncSender<writer::Command>,
    thread: Mutex<Option<JoinHandle<()>>>,
}

impl Store {
    pub fn open(dir: &Path, cfg: &StoreConfig) -> Result<Store, StoreError> {
        let db = sled::Config::new()
            .path(dir)
            .cache_capacity(cfg.cache_mb.saturating_mul(1 << 20))
            // Our writes come in large groups followed by one flush; sled's throughput mode
            // suits that better than its default, which favours small space.
            .mode(sled::Mode::HighThroughput)
            // No periodic flush of sled's own: every ack already waits for the flusher thread's
            // explicit flush, and a second flusher contending for the same IO buffers doubled
            // the p99 of a group commit (BENCHMARKS.md).
            .flush_every_ms(None)
            .open()?;
        let db = Arc::new(db);
        let tree = db.open_tree("events")?;
        let last_seq = match tree.get(keys::META_SEQ)? {
            Some(v) => {
                keys::decode_u64(&v).ok_or_else(|| StoreError::Corrupt("bad seq record".into()))?
            }
            None => 0,
        };
        let (tx, rx) = sync_channel(cfg.queue_capacity);
        let w = writer::Writer {
            db,
            tree: tree.clone(),
            rx,
            last_seq,
            max_group_events: cfg.max_group_events,
        };
        let thread = std::thread::Builder::new()
            .name("store-writer".into())
            .spawn(move || w.run())
            .map_err(|e| StoreError::Sled(format!("cannot start the writer thread: {e}")))?;
        Ok(Store {
            inner: Arc::new(Inner {
                tree,
                tx,
                thread: Mutex::new(Some(thread)),
            }),
        })
    }

    /// Queues a write. The returned receiver answers once the events are on disk.
    pub fn submit(&self, req: WriteRequest) -> Result<PendingWrite, SubmitError> {
        let (tx, rx) = oneshot::channel();
        self.send(writer::Command::Write(req, tx))?;
        Ok(rx)
    }

    /// Writes and flushes a marker through the writer: answers once the store took a write.
    pub fn probe(
        &self,
        now: Timestamp,
    ) -> Result<oneshot::Receiver<Result<(), StoreError>>, SubmitError> {
        let (tx, rx) = oneshot::channel();
        self.send(writer::Command::Probe(now.as_millis(), tx))?;
        Ok(rx)
    }

    fn send(&self, c: writer::Command) -> Result<(), SubmitError> {
        self.inner.tx.try_send(c).map_err(|e| match e {
            TrySendError::Full(_) => SubmitError::Full,
            TrySendError::Disconnected(_) => SubmitError::Closed,
        })
    }

    /// Lets the writer finish everything queued, flush, and stop. Blocks until it has.
    pub fn shutdown(&self) {
        // A blocking send: the stop must queue behind every write already accepted.
        let _ = self.inner.tx.send(writer::Command::Stop);
        let handle = self.inner.thread.lock().ok().and_then(|mut h| h.take());
        if let Some(h) = handle {
            let _ = h.join();
        }
    }

    /// Up to `limit` events of one tracker, newest (last received) first, starting after
    /// `before`. Returns the page and the cursor of its last event if more remain. One reverse
    /// range scan over the tracker's chunks.
    pub fn tracker_events(
        &self,
        tracker: &TrackerId,
        before: Option<Cursor>,
        limit: usize,
    ) -> Result<(Vec<StoredEvent>, Option<Cursor>), StoreError> {
        let prefix = keys::tracker_prefix(tracker);
        let end = match before {
            Some(c) => keys::event_chunk(tracker, c.seq),
            None => keys::event_chunk(tracker, u64::MAX),
        };
        let mut out = Vec::with_capacity(limit.min(512));
        let mut more = false;
        'chunks: for item in self.inner.tree.range(prefix.clone()..=end).rev() {
            let (key, value) = item?;
            let seq =
                keys::chunk_seq(&key).ok_or_else(|| StoreError::Corrupt("bad chunk key".into()))?;
            let (header, events) =
                record::decode_chunk(&value).map_err(|e| StoreError::Corrupt(e.to_string()))?;
            let upto = match before {
                Some(c) if c.seq == seq => usize::try_from(c.index)
                    .unwrap_or(usize::MAX)
                    .min(events.len()),
                _ => events.len(),
            };
            for (index, fields) in events.into_iter().enumerate().take(upto).rev() {
                if out.len() == limit {
                    more = true;
                    break 'chunks;
                }
                out.push(StoredEvent {
                    cursor: Cursor {
                        seq,
                        index: u32::try_from(index).unwrap_or(u32::MAX),
                    },
                    tracker_id: tracker.as_str().to_owned(),
                    site: header.site.clone(),
                    received_at: header.received_at,
                    sent_at: header.sent_at,
                    fields,
                });
            }
        }
        let next = if more {
            out.last().map(|e| e.cursor)
        } else {
            None
        };
        Ok((out, next))
    }
}
