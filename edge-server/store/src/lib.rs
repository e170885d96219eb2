//! The event store: the only crate that knows sled.
//!
//! Writes go through one writer thread with group commit ([`writer`]); a request is answered
//! only after the `flush` that made its events durable. Reads go straight to sled from any
//! thread. Key layout is in [`keys`], value layout in [`record`].

pub mod backup;
pub mod ceiling;
mod command;
mod counts;
mod graph;
mod keys;
mod layout;
mod record;
mod suppress;
mod vault;
mod writer;

use std::fmt;
use std::path::Path;
use std::sync::mpsc::{sync_channel, SyncSender, TrySendError};
use std::sync::{Arc, Mutex, RwLock};
use std::thread::JoinHandle;

use footprint_protocol::{MessageId, SiteKey, Timestamp, TrackerId};
use tokio::sync::oneshot;

/// Tuning of the write path (the `[store]` table of the edge's config).
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct StoreConfig {
    /// sled's page cache, in MiB. Default 256.
    pub cache_mb: u64,
    /// Requests waiting for the writer before new ones get 503. Default 1,024.
    pub queue_capacity: usize,
    /// Most events one group commit covers. Default 20,000.
    pub max_group_events: usize,
    /// How long after an erasure the store is compacted, so that the erased values leave the
    /// disk (a compaction rewrites the store; erasures within this window share one). Default
    /// 60; 0 compacts at the next check, which runs every minute.
    pub compact_after_erase_minutes: u32,
}

impl Default for StoreConfig {
    fn default() -> Self {
        StoreConfig {
            cache_mb: 256,
            queue_capacity: 1_024,
            max_group_events: 20_000,
            compact_after_erase_minutes: 60,
        }
    }
}

pub use command::{Command, DecodeError, Effect, Recorded};
pub use counts::ContactCounts;
pub use graph::{Erasure, ImportRow, RowOutcome};
pub use record::{
    type_bit, ContactRecord, EventFields, HistoryEntry, IdChange, Kind as StoredKind,
};
pub use suppress::{Kind as SuppressKind, Suppressor};

use footprint_domain::contacts::orders::Order;
use footprint_domain::contacts::patch::Patch;
use footprint_domain::contacts::predict::{FitRules, History, SiteClv};
use footprint_domain::contacts::rfm::{Inputs, Quintiles};
use footprint_domain::contacts::segment::Segment;
use footprint_domain::contacts::sheet::SiteModels;
use footprint_domain::contacts::{Confidentiality, Contact, ContactId, Fact, Pos};

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, thiserror::Error)]
pub enum StoreError {
    #[error("storage error: {0}")]
    Sled(String),
    #[error("{0}")]
    Corrupt(String),
    /// The operation cannot be done as asked (a backup into a full directory, a restore over
    /// a store); the message says what to do instead.
    #[error("{0}")]
    Refused(String),
    /// Another process (a running edge, an import) has the data directory open.
    #[error("the data directory {0} is in use by another edge or command; stop it first")]
    Locked(String),
    /// Cluster mode: the replicated log did not take or apply the write (an election, a node
    /// down); the message says which. Worth a retry.
    #[error("{0}")]
    Unavailable(String),
}

/// A data directory that cannot be opened; another owner is named as such.
pub(crate) fn layout_error(dir: &Path, e: std::io::Error) -> StoreError {
    if e.kind() == std::io::ErrorKind::WouldBlock {
        StoreError::Locked(dir.display().to_string())
    } else {
        StoreError::Sled(format!("data directory {}: {e}", dir.display()))
    }
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

/// An admin's change to contacts, carried out on the writer thread like identity changes, so
/// that it is atomic and serialised with the events being folded in.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AdminOp {
    pub kind: AdminKind,
    /// The token's name, for the history.
    pub who: String,
    /// The most confidential contact the caller may see; others are refused as absent.
    pub clearance: Confidentiality,
    /// When it was asked for (ms).
    pub at: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum AdminKind {
    Patch {
        id: ContactId,
        patch: Box<Patch>,
    },
    /// Merges `from` into `into`, as a login would.
    Merge {
        into: ContactId,
        from: ContactId,
    },
    /// A new segment; names are unique, in any case.
    CreateSegment(Box<Segment>),
    /// Renames, describes or changes the rule of segment `id` (`None`: unchanged).
    UpdateSegment {
        id: u64,
        name: Option<String>,
        description: Option<String>,
        rule: Option<String>,
    },
    /// Deletes segment `id` and, for a static one, its member index.
    DeleteSegment(u64),
    /// Adds contacts to (or removes them from) static segment `segment`, each on its own:
    /// one refused contact does not stop the others.
    Members {
        segment: u64,
        contacts: Vec<ContactId>,
        add: bool,
    },
    /// Pauses email and SMS for each contact (emBlue's suspension).
    Suspend(Vec<ContactId>),
    /// Erases each contact and everything about it (`graph/erase.rs`). Runs in a group of its
    /// own, after the events before it are applied, so that it sees all of them.
    Erase(Vec<ContactId>),
    /// Upserts a batch of CSV rows into `site`'s contacts; with `create_only` (the console's
    /// "create"), a row whose email or phone a contact holds is `Taken`, never an update.
    Import {
        site: String,
        rows: Vec<ImportRow>,
        create_only: bool,
    },
    /// Adds `tag` to (or removes it from) each contact, each on its own (command v2).
    Tag {
        contacts: Vec<ContactId>,
        tag: String,
        add: bool,
    },
    /// Adds an admin's note to contact `id` (command v2).
    AddNote {
        id: ContactId,
        text: String,
    },
    /// Deletes note `note` of contact `id` (command v2).
    DeleteNote {
        id: ContactId,
        note: i64,
    },
}

impl AdminKind {
    /// How many events' worth of work it is, for the size of a group commit.
    fn weight(&self) -> usize {
        match self {
            AdminKind::Members { contacts, .. } | AdminKind::Tag { contacts, .. } => contacts.len(),
            AdminKind::Suspend(ids) | AdminKind::Erase(ids) => ids.len(),
            AdminKind::Import { rows, .. } => rows.len(),
            _ => 1,
        }
        .max(1)
    }

    /// Whether it must run alone, after every earlier write is applied.
    fn exclusive(&self) -> bool {
        matches!(self, AdminKind::Erase(_))
    }
}

/// What an admin operation did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Done {
    Contact(ContactId),
    /// A note added: its contact and its id.
    Note(ContactId, i64),
    Segment(u64),
    /// Per contact asked for: the contact changed (a merged id answers with its survivor), or
    /// why not.
    Each(Vec<(ContactId, Result<ContactId, Refusal>)>),
    /// Per contact asked for: what its erasure removed, or why it was refused.
    Erased(Vec<(ContactId, Result<Erasure, Refusal>)>),
    /// Per row, in order.
    Imported(Vec<RowOutcome>),
}

/// Where an order is among its owner's: its time (ms) and its order id's keyed hash.
pub type OrderPlace = (u64, [u8; 16]);

/// Why an admin operation was refused; nothing changed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    /// What was not found: "no contact 7", "no segment 3".
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Conflict(String),
}

/// What an admin operation came to, once durable.
pub type AdminResult = Result<Result<Done, Refusal>, StoreError>;

/// One event ready to store: its record is already encoded, and what it tells about its
/// contact already boiled down, so the writer thread parses nothing.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NewEvent {
    pub to: Recipient,
    pub message_id: MessageId,
    encoded: Vec<u8>,
    type_bit: u32,
    fact: Fact,
}

/// Whom an event is about: the tracker that sent it, or a contact a shop's server named.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Recipient {
    Tracker(TrackerId),
    Contact(Address),
}

impl From<TrackerId> for Recipient {
    fn from(t: TrackerId) -> Recipient {
        Recipient::Tracker(t)
    }
}

/// A contact as a shop's server names it, normalised. The writer finds the contact (an
/// email or phone nobody has yet makes a new one) and files the event under the contact's
/// server tracker, `server:<id>`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Address {
    Email(footprint_domain::identity::Email),
    Phone(footprint_domain::identity::Phone),
    Id(ContactId),
}

impl NewEvent {
    /// `fields.message_id` is `message_id`'s text; the typed id is passed alongside so that it
    /// is not validated a second time.
    pub fn new(
        to: impl Into<Recipient>,
        message_id: MessageId,
        fields: &EventFields,
        fact: Fact,
    ) -> NewEvent {
        NewEvent {
            to: to.into(),
            message_id,
            encoded: record::encode_event(fields),
            type_bit: fields.kind.type_bit(),
            fact,
        }
    }

    /// The tracker it came from, unless it names a contact.
    pub fn tracker(&self) -> Option<&TrackerId> {
        match &self.to {
            Recipient::Tracker(t) => Some(t),
            Recipient::Contact(_) => None,
        }
    }
}

/// The accepted events of one request.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WriteRequest {
    pub site: SiteKey,
    #[serde(with = "command::millis")]
    pub received_at: Timestamp,
    #[serde(with = "command::millis")]
    pub sent_at: Timestamp,
    pub events: Vec<NewEvent>,
}

/// What became of one event of a [`WriteRequest`], in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Stored,
    /// Its tracker belonged to an erased contact: acknowledged, and dropped.
    Suppressed,
    /// The site had sent this `message_id` before; the first copy is kept.
    Duplicate,
    /// Stored, but its contact, at a cap, did not keep all of it: the warning says what.
    NotKept(String),
    /// Not stored: the contact a shop's server named is not one (the error says which).
    Refused(String),
}

/// The answer to a write, once it is durable.
pub type PendingWrite = oneshot::Receiver<Result<Vec<Outcome>, StoreError>>;
/// A sled record: key and value, as stored.
pub type Record = (Vec<u8>, Vec<u8>);

/// The answer to a command, once it is durable.
pub type PendingEffect = oneshot::Receiver<Result<Effect, StoreError>>;

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
    live: Shared,
    /// The data directory.
    root: std::path::PathBuf,
    tx: SyncSender<writer::Job>,
    thread: Mutex<Option<JoinHandle<()>>>,
    suppressor: Suppressor,
    vault: vault::Vault,
}

/// The sled database in use. A compaction replaces it: readers take the current one for each
/// read, and one that is mid-read when it is replaced finishes on the old one.
#[derive(Clone)]
struct Live {
    db: Arc<sled::Db>,
    tree: sled::Tree,
}

type Shared = Arc<RwLock<Live>>;

fn open_db(dir: &Path, cache_mb: u64) -> Result<Live, StoreError> {
    let db = sled::Config::new()
        .path(dir)
        .cache_capacity(cache_mb.saturating_mul(1 << 20))
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
    Ok(Live { db, tree })
}

/// The data format this edge writes: 2 since contacts are sealed under their own keys.
const FORMAT: u64 = 2;

/// Opens the contact keys of the data directory `dir`, whose database is `live`, and finishes
/// any key destruction a crash interrupted. A new store gets format 2 and an empty key file;
/// a store written before sealing (format 1) is refused, since its plaintext cannot be made
/// unreadable in place.
fn open_vault(dir: &Path, live: &Live) -> Result<vault::Vault, StoreError> {
    let format = match live.tree.get(keys::META_FORMAT)? {
        Some(v) => keys::decode_u64(&v).unwrap_or(0),
        None if live.tree.get(keys::META_SEQ)?.is_none()
            && live.tree.get(keys::META_CONTACT)?.is_none() =>
        {
            let fresh = vault::Vault::open(dir, true)?;
            live.tree
                .insert(keys::META_FORMAT, &keys::encode_u64(FORMAT)[..])?;
            live.db.flush()?;
            return Ok(fresh);
        }
        None => 1,
    };
    if format != FORMAT {
        return Err(StoreError::Corrupt(format!(
            "{} holds data format {format}, written by an older Footprint that kept contacts \
             unsealed; this one reads format {FORMAT}. Export the contacts with the older \
             binary (GET /v1/contacts/export) and import them into a new data directory",
            dir.display()
        )));
    }
    let vault = vault::Vault::open(dir, false)?;
    let pending: Vec<u64> = live
        .tree
        .scan_prefix(keys::SHRED_PREFIX)
        .keys()
        .filter_map(|k| k.ok().and_then(|k| k.get(1..).and_then(keys::decode_u64)))
        .collect();
    if !pending.is_empty() {
        tracing::warn!(
            contacts = pending.len(),
            "destroying the keys of contacts erased just before a crash"
        );
        shred_keys(&live.tree, &vault, pending.into_iter())?;
        live.db.flush()?;
    }
    Ok(vault)
}

/// Destroys the keys of erased contacts, then their `k` markers: a crash in between leaves
/// markers, and the next open destroys the keys again (zeros over zeros).
fn shred_keys(
    tree: &sled::Tree,
    vault: &vault::Vault,
    ids: impl Iterator<Item = u64>,
) -> Result<(), StoreError> {
    let ids: Vec<u64> = ids.collect();
    vault.destroy(&ids)?;
    let mut batch = sled::Batch::default();
    for id in ids {
        batch.remove(&keys::shred(id)[..]);
    }
    tree.apply_batch(batch)?;
    Ok(())
}

/// The most search terms one query opens (about 3.5 µs each: the scan, the contact's key, the
/// seal). A query whose bucket holds more is too broad: 70 ms of work at most.
pub const SEARCH_SCAN_MAX: usize = 20_000;

pub use graph::MIN_SEARCH_CHARS;

/// What a compaction did.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Compacted {
    /// Live records copied into the new generation.
    pub records: u64,
    /// The data directory's size before and after, in bytes.
    pub bytes_before: u64,
    pub bytes_after: u64,
    pub millis: u64,
}

impl Store {
    pub fn open(dir: &Path, cfg: &StoreConfig) -> Result<Store, StoreError> {
        let layout = layout::Layout::open(dir).map_err(|e| layout_error(dir, e))?;
        let suppressor = Suppressor::load_or_create(dir)?;
        let live = open_db(&layout.current(), cfg.cache_mb)?;
        let vault = open_vault(dir, &live)?;
        if live.tree.get(keys::META_COUNTS)?.is_none() {
            let t = std::time::Instant::now();
            let n = counts::rebuild(&live.tree, &mut vault.keyring())?;
            live.db.flush()?;
            tracing::info!(
                contacts = n,
                ms = t.elapsed().as_millis() as u64,
                "contact counters built"
            );
        }
        let last_seq = match live.tree.get(keys::META_SEQ)? {
            Some(v) => {
                keys::decode_u64(&v).ok_or_else(|| StoreError::Corrupt("bad seq record".into()))?
            }
            None => 0,
        };
        let applied = match live.tree.get(keys::META_APPLIED)? {
            Some(v) => keys::decode_u64(&v)
                .ok_or_else(|| StoreError::Corrupt("bad log position record".into()))?,
            None => 0,
        };
        let shared = Arc::new(RwLock::new(live.clone()));
        let (tx, rx) = sync_channel(cfg.queue_capacity);
        let w = writer::Writer {
            db: live.db,
            tree: live.tree,
            shared: shared.clone(),
            layout,
            cache_mb: cfg.cache_mb,
            suppressor: suppressor.clone(),
            vault: vault.clone(),
            rx,
            last_seq,
            applied,
            max_group_events: cfg.max_group_events,
            tap: None,
        };
        let thread = std::thread::Builder::new()
            .name("store-writer".into())
            .spawn(move || w.run())
            .map_err(|e| StoreError::Sled(format!("cannot start the writer thread: {e}")))?;
        Ok(Store {
            inner: Arc::new(Inner {
                live: shared,
                root: dir.to_owned(),
                tx,
                thread: Mutex::new(Some(thread)),
                suppressor,
                vault,
            }),
        })
    }

    /// The tree in use now.
    fn tree(&self) -> sled::Tree {
        // A poisoned lock still holds a whole `Live`: it is only ever replaced, never edited.
        let live = self.inner.live.read().unwrap_or_else(|e| e.into_inner());
        live.tree.clone()
    }

    pub fn suppressor(&self) -> &Suppressor {
        &self.inner.suppressor
    }

    /// Copies the live records into a new generation and deletes the old one, so that what
    /// erasures removed is gone from disk. Writes wait meanwhile (see `layout.rs`).
    pub fn compact(&self) -> Result<oneshot::Receiver<Result<Compacted, StoreError>>, SubmitError> {
        let (tx, rx) = oneshot::channel();
        self.send(writer::Job::Compact(tx))?;
        Ok(rx)
    }

    /// Takes a backup into `dir` (absolute; absent or empty) while serving: the store as it is
    /// after every write queued before this one (`backup.rs`).
    pub fn backup(
        &self,
        dir: std::path::PathBuf,
        taken_at: i64,
    ) -> Result<oneshot::Receiver<Result<backup::Manifest, StoreError>>, SubmitError> {
        let (tx, rx) = oneshot::channel();
        self.send(writer::Job::Backup(dir, taken_at, tx))?;
        Ok(rx)
    }

    /// When the oldest erasure that a compaction has not yet made final happened (ms).
    pub fn erasure_pending(&self) -> Result<Option<i64>, StoreError> {
        Ok(self
            .tree()
            .get(keys::META_ERASED)?
            .and_then(|v| keys::decode_u64(&v))
            .and_then(|v| i64::try_from(v).ok()))
    }

    /// When contact `id` was erased, if it was.
    pub fn erased_at(&self, id: ContactId) -> Result<Option<i64>, StoreError> {
        Ok(match self.get_contact(id)? {
            Some(ContactRecord::Erased(at)) => Some(at),
            _ => None,
        })
    }

    /// Queues a write. The returned receiver answers once the events are on disk.
    pub fn submit(&self, req: WriteRequest) -> Result<PendingWrite, SubmitError> {
        let (tx, rx) = oneshot::channel();
        self.send(writer::Job::Apply(
            Command::Events(req),
            Box::new(move |r| {
                let _ = tx.send(r.map(|e| match e {
                    Effect::Events(outcomes) => outcomes,
                    _ => Vec::new(),
                }));
            }),
        ))?;
        Ok(rx)
    }

    /// Queues an admin operation. The receiver answers once its change is on disk.
    pub fn admin(&self, op: AdminOp) -> Result<oneshot::Receiver<AdminResult>, SubmitError> {
        let (tx, rx) = oneshot::channel();
        self.send(writer::Job::Apply(
            Command::Admin(op),
            Box::new(move |r| {
                let _ = tx.send(r.and_then(|e| match e {
                    Effect::Admin(done) => Ok(done),
                    other => Err(StoreError::Sled(format!(
                        "an admin change came to {other:?}"
                    ))),
                }));
            }),
        ))?;
        Ok(rx)
    }

    /// Queues a command at the next position of this store's own log. The receiver answers
    /// once its change is on disk.
    pub fn apply(&self, command: Command) -> Result<PendingEffect, SubmitError> {
        let (tx, rx) = oneshot::channel();
        self.send(writer::Job::Apply(
            command,
            Box::new(move |r| {
                let _ = tx.send(r);
            }),
        ))?;
        Ok(rx)
    }

    /// Queues a command read off a replicated log at `position`: one at or below the last
    /// position applied is a redelivery, answered [`Effect::AlreadyApplied`] and not applied.
    pub fn apply_at(&self, position: u64, command: Command) -> Result<PendingEffect, SubmitError> {
        let (tx, rx) = oneshot::channel();
        self.send(writer::Job::ApplyAt(
            position,
            command,
            Box::new(move |r| {
                let _ = tx.send(r);
            }),
        ))?;
        Ok(rx)
    }

    /// Sends every command applied after this one, encoded, with its log position: what a
    /// replica would need to apply to reach the same records.
    pub fn tap(&self, to: std::sync::mpsc::Sender<Recorded>) -> Result<(), SubmitError> {
        self.send(writer::Job::Tap(to))
    }

    /// Every record that commands built, in key order, as stored (sealed values sealed):
    /// two stores that applied the same commands with the same secrets hold the same list.
    /// The host's own records are left out ([`keys::is_host_only`]).
    pub fn state_records(&self) -> Result<Vec<Record>, StoreError> {
        let mut out = Vec::new();
        for item in self.tree().iter() {
            let (k, v) = item?;
            if !keys::is_host_only(&k) {
                out.push((k.to_vec(), v.to_vec()));
            }
        }
        Ok(out)
    }

    /// The log position of the last command applied (0 before any).
    pub fn applied(&self) -> Result<u64, StoreError> {
        Ok(self
            .tree()
            .get(keys::META_APPLIED)?
            .and_then(|v| keys::decode_u64(&v))
            .unwrap_or(0))
    }

    /// Writes and flushes a marker through the writer: answers once the store took a write.
    pub fn probe(
        &self,
        now: Timestamp,
    ) -> Result<oneshot::Receiver<Result<(), StoreError>>, SubmitError> {
        let (tx, rx) = oneshot::channel();
        self.send(writer::Job::Probe(now.as_millis(), tx))?;
        Ok(rx)
    }

    fn send(&self, c: writer::Job) -> Result<(), SubmitError> {
        // Counted in before the send, so the writer's count out never runs ahead of it.
        let depth = metrics::gauge!("footprint_writer_queue_depth");
        depth.increment(1.0);
        self.inner.tx.try_send(c).map_err(|e| {
            depth.decrement(1.0);
            match e {
                TrySendError::Full(_) => SubmitError::Full,
                TrySendError::Disconnected(_) => SubmitError::Closed,
            }
        })
    }

    /// Bytes of the data directory: the store on disk.
    pub fn disk_bytes(&self) -> u64 {
        layout::dir_size(&self.inner.root)
    }

    /// Lets the writer finish everything queued, flush, and stop. Blocks until it has.
    pub fn shutdown(&self) {
        // A blocking send: the stop must queue behind every write already accepted.
        let _ = self.inner.tx.send(writer::Job::Stop);
        let handle = self.inner.thread.lock().ok().and_then(|mut h| h.take());
        if let Some(h) = handle {
            let _ = h.join();
        }
    }

    /// Up to `limit` events of one tracker that `keep(site, position)` accepts, newest (last
    /// received) first, starting after `before`. Returns the page and the cursor of its last
    /// event if more remain. One reverse range scan over the tracker's chunks.
    pub fn tracker_events(
        &self,
        tracker: &TrackerId,
        before: Option<Cursor>,
        limit: usize,
        keep: impl Fn(&str, Pos) -> bool,
    ) -> Result<(Vec<StoredEvent>, Option<Cursor>), StoreError> {
        let prefix = keys::tracker_prefix(tracker);
        let end = match before {
            Some(c) => keys::event_chunk(tracker, c.seq),
            None => keys::event_chunk(tracker, u64::MAX),
        };
        let mut out = Vec::with_capacity(limit.min(512));
        let mut more = false;
        let mut ring = self.inner.vault.keyring();
        'chunks: for item in self.tree().range(prefix.clone()..=end).rev() {
            let (key, value) = item?;
            let seq =
                keys::chunk_seq(&key).ok_or_else(|| StoreError::Corrupt("bad chunk key".into()))?;
            let (header, events) = record::decode_chunk(&mut ring, &key, &value)?;
            let upto = match before {
                Some(c) if c.seq == seq => usize::try_from(c.index)
                    .unwrap_or(usize::MAX)
                    .min(events.len()),
                _ => events.len(),
            };
            for (index, (_, fields)) in events.into_iter().enumerate().take(upto).rev() {
                if fields.kind == record::Kind::Erased {
                    continue;
                }
                let pos = Pos {
                    seq,
                    index: u32::try_from(index).unwrap_or(u32::MAX),
                };
                if !keep(&header.site, pos) {
                    continue;
                }
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

impl From<Pos> for Cursor {
    fn from(p: Pos) -> Cursor {
        Cursor {
            seq: p.seq,
            index: p.index,
        }
    }
}

impl From<Cursor> for Pos {
    fn from(c: Cursor) -> Pos {
        Pos {
            seq: c.seq,
            index: c.index,
        }
    }
}

/// A live contact as read, with the id that was asked for when that one was merged into it.
#[derive(Debug, Clone)]
pub struct Resolved {
    pub contact: Contact,
    pub requested: Option<ContactId>,
}

/// One span's events, newest first, read a chunk at a time.
struct SpanScan {
    chunks: std::iter::Rev<sled::Iter>,
    tracker: String,
    site: String,
    from: Pos,
    /// Exclusive.
    upto: Pos,
    types: u32,
    /// The current chunk's matching events, oldest first: popped from the back.
    buf: Vec<StoredEvent>,
    ring: vault::Keyring,
}

impl SpanScan {
    fn head(&mut self) -> Result<Option<Pos>, StoreError> {
        while self.buf.is_empty() {
            let Some(item) = self.chunks.next() else {
                return Ok(None);
            };
            let (key, value) = item?;
            if record::chunk_types(&value) & self.types == 0 {
                continue;
            }
            let seq =
                keys::chunk_seq(&key).ok_or_else(|| StoreError::Corrupt("bad chunk key".into()))?;
            let (header, events) = record::decode_chunk(&mut self.ring, &key, &value)?;
            if header.site != self.site {
                continue;
            }
            for (index, (_, fields)) in events.into_iter().enumerate() {
                let pos = Pos {
                    seq,
                    index: u32::try_from(index).unwrap_or(u32::MAX),
                };
                if pos < self.from || pos >= self.upto {
                    continue;
                }
                if fields.kind.type_bit() & self.types == 0 {
                    continue;
                }
                self.buf.push(StoredEvent {
                    cursor: pos.into(),
                    tracker_id: self.tracker.clone(),
                    site: header.site.clone(),
                    received_at: header.received_at,
                    sent_at: header.sent_at,
                    fields,
                });
            }
        }
        Ok(self.buf.last().map(|e| e.cursor.into()))
    }
}

impl Store {
    fn get_contact(&self, id: ContactId) -> Result<Option<ContactRecord>, StoreError> {
        match self.tree().get(keys::contact(id.get()))? {
            Some(v) => record::open_contact(&mut self.inner.vault.keyring(), id, &v),
            None => Ok(None),
        }
    }

    /// How many live contacts of `site` (every site's with `None`) an admin cleared for
    /// `clearance` sees, valid at `now`: in all, per valuation and per email status. Reads the
    /// counters, not the contacts (`counts.rs`).
    pub fn contact_counts(
        &self,
        site: Option<&str>,
        clearance: Confidentiality,
        now: i64,
    ) -> Result<ContactCounts, StoreError> {
        counts::count(
            &self.tree(),
            &mut self.inner.vault.keyring(),
            site,
            clearance,
            now,
        )
    }

    /// The live contact `id` is or was merged into.
    pub fn contact(&self, id: ContactId) -> Result<Option<Resolved>, StoreError> {
        let mut at = id;
        for _ in 0..graph::MAX_MERGE_CHAIN {
            match self.get_contact(at)? {
                None | Some(ContactRecord::Erased(_)) => return Ok(None),
                Some(ContactRecord::Merged(into)) => at = into,
                Some(ContactRecord::Live(c)) => {
                    return Ok(Some(Resolved {
                        contact: *c,
                        requested: (at != id).then_some(id),
                    }))
                }
            }
        }
        Err(StoreError::Corrupt(format!(
            "contact {id}: merge chain too long"
        )))
    }

    /// The contact a tracker points at now, on each site that has seen it.
    pub fn tracker_contacts(&self, tracker: &str) -> Result<Vec<(String, ContactId)>, StoreError> {
        let mut out = Vec::new();
        for item in self.tree().scan_prefix(keys::tracker_all_sites(tracker)) {
            let (k, v) = item?;
            let site = keys::tracker_key_site(&k).unwrap_or_default().to_owned();
            if let Some(id) = keys::decode_u64(&v).and_then(ContactId::new) {
                if let Some(r) = self.contact(id)? {
                    out.push((site, r.contact.id));
                }
            }
        }
        Ok(out)
    }

    fn ids_with_prefix(
        &self,
        prefix: Vec<u8>,
        id_of: impl Fn(&[u8], &[u8]) -> Option<u64>,
        max: usize,
    ) -> Result<Option<Vec<ContactId>>, StoreError> {
        let mut out = Vec::new();
        for item in self.tree().scan_prefix(prefix) {
            let (k, v) = item?;
            if out.len() == max {
                return Ok(None);
            }
            if let Some(id) = id_of(&k, &v).and_then(ContactId::new) {
                out.push(id);
            }
        }
        Ok(Some(out))
    }

    /// Contacts with exactly this normalised email, on every site: an index lookup.
    pub fn by_email(&self, email: &str) -> Result<Vec<ContactId>, StoreError> {
        let hash = self.inner.suppressor.blind(suppress::Blind::Email, email);
        let found =
            self.ids_with_prefix(keys::email(&hash, ""), |_, v| keys::decode_u64(v), 1024)?;
        Ok(found.unwrap_or_default())
    }

    /// Contacts with exactly this reference, on every site.
    pub fn by_reference(&self, reference: &str) -> Result<Vec<ContactId>, StoreError> {
        let hash = self
            .inner
            .suppressor
            .blind(suppress::Blind::Reference, reference);
        let found =
            self.ids_with_prefix(keys::reference(&hash, ""), |_, v| keys::decode_u64(v), 1024)?;
        Ok(found.unwrap_or_default())
    }

    /// Contacts with exactly this E.164 phone, on every site.
    pub fn by_phone(&self, phone: &str) -> Result<Vec<ContactId>, StoreError> {
        let hash = self.inner.suppressor.blind(suppress::Blind::Phone, phone);
        let found =
            self.ids_with_prefix(keys::phone(&hash, ""), |_, v| keys::decode_u64(v), 1024)?;
        Ok(found.unwrap_or_default())
    }

    /// Contacts whose email or name starts with `prefix` (lower-case), newest first. `None`
    /// when the query is too broad: more than `max` contacts match, or its bucket holds more
    /// than [`SEARCH_SCAN_MAX`] terms to open; the caller asks for a longer prefix. A prefix
    /// shorter than [`MIN_SEARCH_CHARS`] finds nothing.
    pub fn search(&self, prefix: &str, max: usize) -> Result<Option<Vec<ContactId>>, StoreError> {
        let Some(bucket) = graph::search_bucket(&self.inner.suppressor, prefix) else {
            return Ok(Some(Vec::new()));
        };
        let mut ring = self.inner.vault.keyring();
        let mut ids = Vec::new();
        for (scanned, item) in self.tree().scan_prefix(bucket).enumerate() {
            let (k, v) = item?;
            if scanned == SEARCH_SCAN_MAX {
                return Ok(None);
            }
            let Some(id) = keys::search_key_id(&k).and_then(ContactId::new) else {
                continue;
            };
            // A term whose key is gone belongs to a contact erased since the scan began.
            let term: Option<String> = record::open_value(&mut ring, id, &k, &v)?;
            if term.is_some_and(|t| t.starts_with(prefix)) {
                if ids.len() == max {
                    return Ok(None);
                }
                ids.push(id);
            }
        }
        ids.sort_unstable_by(|a, b| b.cmp(a));
        ids.dedup();
        Ok(Some(ids))
    }

    /// Live contacts, newest first, from just below `before`.
    pub fn contacts_before(
        &self,
        before: Option<ContactId>,
    ) -> impl Iterator<Item = Result<Contact, StoreError>> + '_ {
        let end = keys::contact(before.map_or(u64::MAX, |b| b.get()));
        let mut ring = self.inner.vault.keyring();
        self.tree()
            .range(&keys::contact(0)[..]..&end[..])
            .rev()
            .filter_map(move |item| {
                let (k, v) = match item {
                    Ok(kv) => kv,
                    Err(e) => return Some(Err(e.into())),
                };
                let id = k
                    .get(1..)
                    .and_then(keys::decode_u64)
                    .and_then(ContactId::new)?;
                match record::open_contact(&mut ring, id, &v) {
                    Ok(Some(ContactRecord::Live(c))) => Some(Ok(*c)),
                    Ok(_) => None,
                    Err(e) => Some(Err(e)),
                }
            })
    }

    /// Up to `limit` of the orders placed by `contact` and the contacts merged into it, newest
    /// first, before the place `before` (a previous page's last: its time and order hash).
    /// Returns the page and the place to continue from when more remain.
    pub fn orders(
        &self,
        contact: &Contact,
        before: Option<OrderPlace>,
        limit: usize,
    ) -> Result<(Vec<Order>, Option<OrderPlace>), StoreError> {
        let mut ring = self.inner.vault.keyring();
        let mut found: Vec<(OrderPlace, Order)> = Vec::new();
        let owners = std::iter::once(contact.id).chain(contact.merged_ids.iter().copied());
        for owner in owners {
            let prefix = keys::order_records(owner.get());
            let end = match before {
                Some((at, hash)) => keys::order_record(owner.get(), at as i64, &hash).to_vec(),
                None => {
                    let mut e = prefix.to_vec();
                    e.push(0xff);
                    e
                }
            };
            // Each owner gives at most a page; the merge below keeps the newest of them all.
            for item in self
                .tree()
                .range(&prefix[..]..&end[..])
                .rev()
                .take(limit + 1)
            {
                let (k, v) = item?;
                let Some(place) = keys::order_record_place(&k) else {
                    continue;
                };
                if let Some(o) = record::open_value::<Order>(&mut ring, owner, &k, &v)? {
                    found.push((place, o));
                }
            }
        }
        found.sort_by_key(|f| std::cmp::Reverse(f.0));
        let next = (found.len() > limit).then(|| found[limit - 1].0);
        found.truncate(limit);
        Ok((found.into_iter().map(|(_, o)| o).collect(), next))
    }

    /// Live contacts with points, most points first, after the points-order key `after` (a
    /// previous page's last), each with its key.
    pub fn contacts_by_points(
        &self,
        after: Option<[u8; 18]>,
    ) -> impl Iterator<Item = Result<(Contact, [u8; 18]), StoreError>> + '_ {
        let end = after.map_or_else(|| vec![keys::POINTS_PREFIX[0] + 1], |a| a.to_vec());
        let mut ring = self.inner.vault.keyring();
        self.tree()
            .range(keys::POINTS_PREFIX..&end[..])
            .rev()
            .filter_map(move |item| {
                let (k, _) = match item {
                    Ok(kv) => kv,
                    Err(e) => return Some(Err(e.into())),
                };
                let key: [u8; 18] = k.as_ref().try_into().ok()?;
                let id = keys::points_id(&key).and_then(ContactId::new)?;
                let bytes = match self.tree().get(keys::contact(id.get())) {
                    Ok(Some(b)) => b,
                    Ok(None) => return None,
                    Err(e) => return Some(Err(e.into())),
                };
                match record::open_contact(&mut ring, id, &bytes) {
                    Ok(Some(ContactRecord::Live(c))) => Some(Ok((*c, key))),
                    Ok(_) => None,
                    Err(e) => Some(Err(e)),
                }
            })
    }

    /// Up to `limit` of a contact's events across all its trackers, newest (last received)
    /// first, before `before`, of the types in the `types` mask (`record::type_bit`). Returns
    /// the page and the position to continue from when more remain.
    pub fn activity(
        &self,
        c: &Contact,
        types: u32,
        before: Option<Pos>,
        limit: usize,
    ) -> Result<(Vec<StoredEvent>, Option<Pos>), StoreError> {
        let mut scans = Vec::with_capacity(c.spans.len());
        for s in &c.spans {
            let mut upto = s.to.unwrap_or(Pos {
                seq: u64::MAX,
                index: u32::MAX,
            });
            if let Some(b) = before {
                upto = upto.min(b);
            }
            if upto <= s.from {
                continue;
            }
            let tracker = TrackerId::new(&s.tracker)
                .map_err(|_| StoreError::Corrupt("bad tracker in a span".into()))?;
            let lo = keys::event_chunk(&tracker, s.from.seq);
            let hi = keys::event_chunk(&tracker, upto.seq);
            scans.push(SpanScan {
                chunks: self.tree().range(lo..=hi).rev(),
                tracker: s.tracker.clone(),
                site: c.site.clone(),
                from: s.from,
                upto,
                types,
                buf: Vec::new(),
                ring: self.inner.vault.keyring(),
            });
        }
        let mut out = Vec::with_capacity(limit.min(512));
        loop {
            let mut best: Option<(usize, Pos)> = None;
            for (i, s) in scans.iter_mut().enumerate() {
                if let Some(p) = s.head()? {
                    if best.is_none_or(|(_, b)| p > b) {
                        best = Some((i, p));
                    }
                }
            }
            let Some((i, _)) = best else {
                return Ok((out, None));
            };
            if out.len() == limit {
                let next = out.last().map(|e: &StoredEvent| e.cursor.into());
                return Ok((out, next));
            }
            if let Some(e) = scans[i].buf.pop() {
                out.push(e);
            }
        }
    }

    /// Every identity change, oldest first.
    /// The history of `ids` (a contact and those merged into it) from `from` up to, not
    /// including, `to`, oldest first; at most `limit` entries, and whether more remain.
    pub fn history(
        &self,
        ids: &[ContactId],
        from: i64,
        to: i64,
        limit: usize,
    ) -> Result<(Vec<HistoryEntry>, bool), StoreError> {
        self.history_page(ids, from, to, limit, false)
    }

    /// The latest `limit` changes of `ids`, newest first, and whether older ones remain: what
    /// the console's sheet shows, read from the end rather than through everything before it.
    pub fn latest_history(
        &self,
        ids: &[ContactId],
        limit: usize,
    ) -> Result<(Vec<HistoryEntry>, bool), StoreError> {
        self.history_page(ids, 0, i64::MAX, limit, true)
    }

    fn history_page(
        &self,
        ids: &[ContactId],
        from: i64,
        to: i64,
        limit: usize,
        newest_first: bool,
    ) -> Result<(Vec<HistoryEntry>, bool), StoreError> {
        let mut all = Vec::new();
        let mut ring = self.inner.vault.keyring();
        for id in ids {
            let range = keys::history_from(id.get(), from)..keys::history_from(id.get(), to);
            let range = self.tree().range(range);
            let entries: Box<dyn Iterator<Item = _>> = if newest_first {
                Box::new(range.rev())
            } else {
                Box::new(range)
            };
            // Each id's entries come in time order; a few more than the page tell if more remain.
            for kv in entries.take(limit + 1) {
                let (k, v) = kv?;
                let Some(e) = record::open_value::<HistoryEntry>(&mut ring, *id, &k, &v)? else {
                    continue;
                };
                // Entries made in the same millisecond keep the order they were made in.
                all.push((e.at, keys::history_key_n(&k).unwrap_or(0), e));
            }
        }
        all.sort_by_key(|(at, n, _)| (*at, *n));
        if newest_first {
            all.reverse();
        }
        let more = all.len() > limit;
        all.truncate(limit);
        Ok((all.into_iter().map(|(_, _, e)| e).collect(), more))
    }

    /// Every segment, in id (creation) order.
    pub fn segments(&self) -> Result<Vec<Segment>, StoreError> {
        let mut out = Vec::new();
        for item in self.tree().scan_prefix(keys::segments()) {
            let (_, v) = item?;
            out.push(record::decode_value(&v).map_err(|e| StoreError::Corrupt(e.to_string()))?);
        }
        Ok(out)
    }

    pub fn segment(&self, id: u64) -> Result<Option<Segment>, StoreError> {
        self.tree()
            .get(keys::segment(id))?
            .map(|v| record::decode_value(&v).map_err(|e| StoreError::Corrupt(e.to_string())))
            .transpose()
    }

    /// A static segment's members with ids below `before` (all, without it), highest first.
    pub fn members_before(
        &self,
        segment: u64,
        before: Option<ContactId>,
    ) -> impl Iterator<Item = Result<ContactId, StoreError>> + '_ {
        let start = keys::member(segment, 0);
        let end = keys::member(segment, before.map_or(u64::MAX, ContactId::get));
        let mut range = self.tree().range(start..end).rev();
        // `..end` leaves out `u64::MAX`, which no contact id reaches.
        std::iter::from_fn(move || {
            let (k, _) = match range.next()? {
                Ok(kv) => kv,
                Err(e) => return Some(Err(e.into())),
            };
            Some(
                keys::member_contact(&k)
                    .and_then(ContactId::new)
                    .ok_or_else(|| StoreError::Corrupt("bad member key".into())),
            )
        })
    }

    pub fn id_changes(&self) -> Result<Vec<IdChange>, StoreError> {
        let mut out = Vec::new();
        for item in self.tree().scan_prefix(keys::ID_LOG_PREFIX) {
            let (_, v) = item?;
            out.push(record::decode_value(&v).map_err(|e| StoreError::Corrupt(e.to_string()))?);
        }
        Ok(out)
    }

    /// Recomputes every site's RFM cut points from its purchasers' inputs. Returns how many
    /// purchasers it scored.
    pub fn recompute_rfm(&self, now: i64) -> Result<usize, StoreError> {
        let (n, commands) = self.rfm_cuts(now)?;
        for command in commands {
            self.apply_now(command)?;
        }
        Ok(n)
    }

    /// Applies one command through the writer and waits for it to be on disk.
    fn apply_now(&self, command: Command) -> Result<(), StoreError> {
        let (tx, rx) = std::sync::mpsc::channel();
        self.send(writer::Job::Apply(
            command,
            Box::new(move |r| {
                let _ = tx.send(r);
            }),
        ))
        .map_err(|e| StoreError::Sled(format!("not queued: {e}")))?;
        rx.recv()
            .map_err(|_| StoreError::Sled("the writer stopped".into()))??;
        Ok(())
    }

    /// The RFM cut points of every site with purchasers, as of `now`, as commands (one per
    /// site), with the number of purchasers they cover. They are commands like any other
    /// write, so that a replica gets the same cut points rather than computing its own at
    /// another time.
    pub fn rfm_cuts(&self, now: i64) -> Result<(usize, Vec<Command>), StoreError> {
        let by_site = self.by_site::<Inputs>(&keys::rfm_all_sites())?;
        let n = by_site.values().map(Vec::len).sum();
        let commands = by_site
            .into_iter()
            .filter_map(|(site, all)| {
                Quintiles::compute(&all, now).map(|cuts| Command::RfmCuts { site, cuts })
            })
            .collect();
        Ok((n, commands))
    }

    /// The records under `prefix` (the `r` or `v` index: len(site) site id), by site.
    fn by_site<T: serde::de::DeserializeOwned>(
        &self,
        prefix: &[u8],
    ) -> Result<std::collections::BTreeMap<String, Vec<T>>, StoreError> {
        let mut by_site: std::collections::BTreeMap<String, Vec<T>> = Default::default();
        for item in self.tree().scan_prefix(prefix) {
            let (k, v) = item?;
            let site = keys::rfm_key_site(&k).unwrap_or_default().to_owned();
            let value = record::decode_value(&v).map_err(|e| StoreError::Corrupt(e.to_string()))?;
            by_site.entry(site).or_default().push(value);
        }
        Ok(by_site)
    }

    /// The CLV models of every site with purchasers, fitted as of `now` by `rules`, as
    /// commands (one per site, for the reason given at [`Store::rfm_cuts`]), with the number
    /// of purchasers they cover. The fit is CPU work: call it off the executor.
    pub fn clv_fits(&self, now: i64, rules: FitRules) -> Result<(usize, Vec<Command>), StoreError> {
        let by_site = self.by_site::<History>(&keys::clv_all_sites())?;
        let n = by_site.values().map(Vec::len).sum();
        let commands = by_site
            .into_iter()
            .map(|(site, all)| Command::ClvModels {
                models: SiteClv::fit(&all, now, rules),
                site,
            })
            .collect();
        Ok((n, commands))
    }

    /// Fits and stores every site's CLV models now (tests and single-node tools; the server
    /// runs [`Store::clv_fits`] on its timer and sends the commands through its writes).
    pub fn refit_clv(&self, now: i64, rules: FitRules) -> Result<usize, StoreError> {
        let (n, commands) = self.clv_fits(now, rules)?;
        for command in commands {
            self.apply_now(command)?;
        }
        Ok(n)
    }

    /// What a sheet and a rule read of `site` besides its contacts.
    pub fn site_models(&self, site: &str) -> Result<SiteModels, StoreError> {
        let clv = match self.tree().get(keys::clv_models(site))? {
            Some(v) => {
                Some(record::decode_value(&v).map_err(|e| StoreError::Corrupt(e.to_string()))?)
            }
            None => None,
        };
        Ok(SiteModels {
            quintiles: self.quintiles(site)?,
            clv,
        })
    }

    /// A site's RFM cut points, once computed.
    pub fn quintiles(&self, site: &str) -> Result<Option<Quintiles>, StoreError> {
        match self.tree().get(keys::rfm_cuts(site))? {
            Some(v) => record::decode_value(&v)
                .map(Some)
                .map_err(|e| StoreError::Corrupt(e.to_string())),
            None => Ok(None),
        }
    }
}
