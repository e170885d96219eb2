//! The single writer thread, its group commit, and the flusher thread that makes groups durable.
//!
//! sled takes about the same number of writes per second however many threads write, so one
//! thread owns every write. It blocks for the first waiting request, takes every other request
//! already queued (up to `max_group_events`), and writes them all in one atomic `apply_batch`.
//!
//! It then hands the group's answers to the flusher thread and goes on to the next group. The
//! flusher takes every group handed over so far, makes them durable with one `flush`, and only
//! then answers their requests. One fsync thus covers everyone who was waiting, and the next
//! group's apply overlaps the previous group's fsync. A flush started after a group's apply
//! returned covers that group, so no answer ever leaves before its events are on disk.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::mpsc::{Receiver, SyncSender, TryRecvError};
use std::sync::Arc;
use std::thread::JoinHandle;

use footprint_protocol::{MessageId, SiteKey, TrackerId};
use tokio::sync::oneshot;

use super::command::{Command, Effect, Recorded};
use super::graph::Working;
use super::keys;
use super::record::{self, ChunkHeader};
use super::{Outcome, Recipient, StoreError, WriteRequest};
use footprint_domain::contacts::Pos;

/// What the writer thread is asked to do: apply a command, or one of the host's own chores.
pub(super) enum Job {
    /// Applies a command at the next position of this store's own log (single-node mode).
    Apply(Command, Reply),
    /// Applies a command read off a replicated log at `position`. One at or below the last
    /// position applied is a redelivery: it is skipped, and answered as such.
    ApplyAt(u64, Command, Reply),
    /// Write and flush a marker: proves the store takes writes.
    Probe(i64, oneshot::Sender<Result<(), StoreError>>),
    /// Rewrite the store into a new generation (`layout.rs`).
    Compact(oneshot::Sender<Result<super::Compacted, StoreError>>),
    /// Copy the store into a backup directory (`backup.rs`).
    Backup(
        std::path::PathBuf,
        i64,
        oneshot::Sender<Result<super::backup::Manifest, StoreError>>,
    ),
    /// From now on, send every command applied, encoded, with its position.
    Tap(std::sync::mpsc::Sender<Recorded>),
    /// Finish what was queued before this, flush, and stop.
    Stop,
}

/// Takes a command's effect once it is durable (or the error that kept it from being).
pub(super) type Reply = Box<dyn FnOnce(Result<Effect, StoreError>) + Send>;

pub(super) struct Writer {
    pub db: Arc<sled::Db>,
    pub tree: sled::Tree,
    /// What readers and the flusher use; the writer replaces it after a compaction.
    pub shared: super::Shared,
    pub layout: super::layout::Layout,
    pub cache_mb: u64,
    pub suppressor: super::Suppressor,
    pub vault: super::vault::Vault,
    pub rx: Receiver<Job>,
    pub last_seq: u64,
    /// The log position of the last command applied.
    pub applied: u64,
    pub max_group_events: usize,
    pub tap: Option<std::sync::mpsc::Sender<Recorded>>,
}

/// A group whose writes are applied but not yet durable: what the flusher must answer.
struct Applied {
    answers: Vec<(Reply, Result<Effect, StoreError>)>,
    probes: Vec<ProbeReply>,
}

/// Groups applied but not yet flushed, at most. When the disk falls this far behind, the writer
/// waits, the write queue fills, and new requests get 503 rather than piling up in memory.
const MAX_UNFLUSHED_GROUPS: usize = 16;

fn spawn_flusher(shared: super::Shared) -> std::io::Result<(SyncSender<Applied>, JoinHandle<()>)> {
    let (tx, rx) = std::sync::mpsc::sync_channel::<Applied>(MAX_UNFLUSHED_GROUPS);
    let handle = std::thread::Builder::new()
        .name("store-flusher".into())
        .spawn(move || {
            while let Ok(first) = rx.recv() {
                let mut groups = vec![first];
                groups.extend(rx.try_iter());
                let t = std::time::Instant::now();
                // The database in use now: a group applied to one that a compaction has since
                // replaced was flushed by the compaction before it copied anything.
                let db = shared.read().unwrap_or_else(|e| e.into_inner()).db.clone();
                let result = db.flush().map(|_| ()).map_err(StoreError::from);
                metrics::histogram!("footprint_flush_seconds").record(t.elapsed().as_secs_f64());
                tracing::debug!(
                    groups = groups.len(),
                    flush_ms = t.elapsed().as_secs_f64() * 1e3,
                    "flush"
                );
                if let Err(e) = &result {
                    tracing::error!(error = %e, "flush failed; its requests get 503");
                }
                for g in groups {
                    answer_all(g, result.clone());
                }
            }
        })?;
    Ok((tx, handle))
}

type ProbeReply = oneshot::Sender<Result<(), StoreError>>;
/// An accepted event's encoded record, its dedupe key and its index in the request.
type NewRecord<'a> = (&'a [u8], Vec<u8>, usize);

/// A group staged: each command's effect and position (`None`: a redelivery, skipped), and
/// the batch to apply with the contacts whose keys to destroy after it, or the read error
/// that fails the group.
struct Staging {
    effects: Vec<Effect>,
    positions: Vec<Option<u64>>,
    batch: Result<(sled::Batch, Vec<footprint_domain::contacts::ContactId>), StoreError>,
}

/// One command of a group: the position it is applied at (`None`: the next of this store's
/// own log), and who waits for it.
struct Entry {
    at: Option<u64>,
    command: Command,
    reply: Reply,
}

/// The commands one group commit covers, in the order they came.
#[derive(Default)]
struct Group {
    entries: Vec<Entry>,
    probes: Vec<(i64, ProbeReply)>,
    events: usize,
}

impl Job {
    /// Whether it must run on its own, after everything before it is applied.
    fn exclusive(&self) -> bool {
        match self {
            Job::Compact(_) | Job::Backup(..) | Job::Tap(_) => true,
            Job::Apply(c, _) | Job::ApplyAt(_, c, _) => c.exclusive(),
            _ => false,
        }
    }
}

impl Group {
    /// Adds a job; true when it was the stop. Never given an exclusive one but a command.
    fn take(&mut self, job: Job) -> bool {
        let (at, command, reply) = match job {
            Job::Apply(command, reply) => (None, command, reply),
            Job::ApplyAt(at, command, reply) => (Some(at), command, reply),
            Job::Probe(at, reply) => {
                self.probes.push((at, reply));
                return false;
            }
            Job::Compact(reply) => {
                let _ = reply.send(Err(StoreError::Sled("a compaction was grouped".into())));
                return false;
            }
            Job::Backup(_, _, reply) => {
                let _ = reply.send(Err(StoreError::Sled("a backup was grouped".into())));
                return false;
            }
            Job::Tap(_) => return false,
            Job::Stop => return true,
        };
        self.events += command.weight().max(1);
        self.entries.push(Entry { at, command, reply });
        false
    }
}

impl Writer {
    pub fn run(mut self) {
        let (flusher, flusher_thread) = match spawn_flusher(self.shared.clone()) {
            Ok(f) => f,
            Err(e) => {
                tracing::error!(error = %e, "cannot start the flusher thread; the store takes no writes");
                return;
            }
        };
        let mut stopping = false;
        // An exclusive command met while gathering a group: it runs right after that group.
        let mut held: Option<Job> = None;
        while !stopping {
            let first = match held.take() {
                Some(c) => c,
                None => match self.rx.recv() {
                    Ok(c) => {
                        queue_left();
                        c
                    }
                    Err(_) => break,
                },
            };
            let mut group = Group::default();
            if first.exclusive() {
                self.run_alone(first, &flusher);
                continue;
            }
            stopping = group.take(first);
            while !stopping && group.events < self.max_group_events {
                let next = self.rx.try_recv();
                if next.is_ok() {
                    queue_left();
                }
                match next {
                    Ok(c) if c.exclusive() => {
                        held = Some(c);
                        break;
                    }
                    Ok(c) => stopping = group.take(c),
                    Err(TryRecvError::Empty) => break,
                    Err(TryRecvError::Disconnected) => stopping = true,
                }
            }
            self.commit(group, &flusher);
        }
        // The flusher answers every group it was handed, flushes, and stops.
        drop(flusher);
        let _ = flusher_thread.join();
        tracing::info!(last_seq = self.last_seq, "store writer stopped");
    }

    /// Runs an exclusive command: every group before it is already applied.
    fn run_alone(&mut self, c: Job, flusher: &SyncSender<Applied>) {
        match c {
            Job::Tap(tx) => self.tap = Some(tx),
            Job::Compact(reply) => {
                let r = self.compact();
                match &r {
                    Ok(c) => tracing::info!(
                        records = c.records,
                        bytes_before = c.bytes_before,
                        bytes_after = c.bytes_after,
                        ms = c.millis,
                        "store compacted"
                    ),
                    Err(e) => {
                        tracing::error!(error = %e, "compaction failed; the store is unchanged")
                    }
                }
                let _ = reply.send(r);
            }
            Job::Backup(dir, taken_at, reply) => {
                let r = self.db.flush().map_err(StoreError::from).and_then(|_| {
                    super::backup::take(&self.tree, self.layout.root(), &dir, taken_at)
                });
                match &r {
                    Ok(m) => tracing::info!(
                        dir = %dir.display(),
                        records = m.records,
                        bytes = m.bytes,
                        ms = m.millis,
                        "backup taken"
                    ),
                    Err(e) => tracing::error!(dir = %dir.display(), error = %e, "backup failed"),
                }
                let _ = reply.send(r);
            }
            c => {
                let mut group = Group::default();
                group.take(c);
                self.commit(group, flusher);
            }
        }
    }

    /// Copies every live record into a new generation, makes it the one in use, and deletes
    /// the old one with whatever removed values sled still kept in it. Writes wait meanwhile:
    /// the queue fills and new batches get 503 with `Retry-After`, which trackers honour.
    fn compact(&mut self) -> Result<super::Compacted, StoreError> {
        let t = std::time::Instant::now();
        let io = |e: std::io::Error| StoreError::Sled(format!("compaction: {e}"));
        let bytes_before = super::layout::dir_size(self.layout.root());
        // Everything applied so far is in the copy, and durable in the old generation too.
        self.db.flush()?;
        let dir = self.layout.prepare_next().map_err(io)?;
        let next = super::open_db(&dir, self.cache_mb)?;
        // The pending-erasure marker is copied too, and cleared only once the old generation
        // is gone: a crash between the switch and the delete must still find an erasure
        // pending (and `Layout::open` removes the old generation).
        let records = super::backup::copy_records(&self.tree, &next.tree, &next.db)?;
        // Only once `CURRENT` names the copy do writes go to it: a crash before that restarts
        // on the old generation, whole.
        let retired = self.layout.advance().map_err(io)?;
        failpoint("compaction-after-switch");
        *self.shared.write().unwrap_or_else(|e| e.into_inner()) = next.clone();
        self.db = next.db;
        self.tree = next.tree;
        retired.remove().map_err(io)?;
        // The copy was the compaction the pending erasures waited for.
        self.tree.remove(keys::META_ERASED)?;
        self.db.flush()?;
        Ok(super::Compacted {
            records,
            bytes_before,
            bytes_after: super::layout::dir_size(self.layout.root()),
            millis: u64::try_from(t.elapsed().as_millis()).unwrap_or(u64::MAX),
        })
    }

    /// One group commit: each command applied in turn to the group's working state
    /// (`stage`), then everything in one atomic `apply_batch`, and the answers to the
    /// flusher.
    fn commit(&mut self, group: Group, flusher: &SyncSender<Applied>) {
        let Group {
            entries, probes, ..
        } = group;
        let (start_seq, start_applied) = (self.last_seq, self.applied);
        let Staging {
            effects,
            positions,
            batch,
        } = self.stage(&entries, &probes);
        let t0 = std::time::Instant::now();
        let result = batch.and_then(|(b, shred)| {
            self.tree.apply_batch(b)?;
            Ok(shred)
        });
        let events: usize = effects.iter().map(Effect::events).sum();
        metrics::histogram!("footprint_group_apply_seconds").record(t0.elapsed().as_secs_f64());
        metrics::histogram!("footprint_group_commit_events").record(events as f64);
        tracing::debug!(
            commands = entries.len(),
            seqs = self.last_seq - start_seq,
            apply_ms = t0.elapsed().as_secs_f64() * 1e3,
            "group applied"
        );
        if result.is_ok() {
            self.record(&entries, &positions);
        }
        let applied = Applied {
            answers: entries
                .into_iter()
                .map(|e| e.reply)
                .zip(effects.into_iter().map(Ok))
                .collect(),
            probes: probes.into_iter().map(|(_, reply)| reply).collect(),
        };
        match result {
            Ok(shred) => self.hand_off(applied, &shred, flusher),
            Err(e) => {
                tracing::error!(error = %e, "group commit failed; its requests get 503");
                // Nothing of this group was applied; hand its seqs and positions out again.
                self.last_seq = start_seq;
                self.applied = start_applied;
                answer_all(applied, Err(e));
            }
        }
    }

    /// Applies the group's commands in order, each at its log position (a redelivery, at or
    /// below the last position applied, is skipped): their effects, their positions (`None`
    /// for one skipped), and the batch to apply or the read error that fails the group.
    fn stage(&mut self, entries: &[Entry], probes: &[(i64, ProbeReply)]) -> Staging {
        let mut staged = Staged::new(
            &self.tree,
            &self.suppressor,
            &self.vault,
            &mut self.last_seq,
        );
        // Within a group, a repeat is caught here; across groups, by the dedupe index.
        let mut seen: HashSet<(&SiteKey, &MessageId)> = HashSet::new();
        let mut effects = Vec::with_capacity(entries.len());
        let mut positions = Vec::with_capacity(entries.len());
        for e in entries {
            let position = e.at.unwrap_or(self.applied + 1);
            if position <= self.applied {
                effects.push(Effect::AlreadyApplied);
                positions.push(None);
                continue;
            }
            self.applied = position;
            positions.push(Some(position));
            effects.push(staged.apply(&e.command, &mut seen));
        }
        let batch = staged.finish(probes, self.applied);
        Staging {
            effects,
            positions,
            batch,
        }
    }

    /// Sends the applied commands to the tap, if one is set; a tap that hung up is dropped.
    fn record(&mut self, entries: &[Entry], positions: &[Option<u64>]) {
        let Some(tap) = &self.tap else { return };
        for (e, position) in entries.iter().zip(positions) {
            let Some(position) = *position else { continue };
            let r = Recorded {
                position,
                command: e.command.encode(),
            };
            if tap.send(r).is_err() {
                self.tap = None;
                return;
            }
        }
    }

    /// An applied group: its erased contacts' keys destroyed, then its answers handed to the
    /// flusher, which sends them once the group is durable.
    fn hand_off(
        &mut self,
        mut applied: Applied,
        shred: &[footprint_domain::contacts::ContactId],
        flusher: &SyncSender<Applied>,
    ) {
        if let Err(e) = self.shred(shred) {
            // The erasure is applied and its markers are on disk: the next start destroys
            // the keys. Until then the admin is told it did not finish.
            tracing::error!(error = %e, "erased contacts' keys not destroyed yet; the next start finishes it");
            for (_, effect) in &mut applied.answers {
                if matches!(effect, Ok(Effect::Admin(_))) {
                    *effect = Err(e.clone());
                }
            }
        }
        // Blocks while MAX_UNFLUSHED_GROUPS wait: backpressure from the disk.
        if let Err(std::sync::mpsc::SendError(g)) = flusher.send(applied) {
            answer_all(g, Err(StoreError::Sled("the flusher stopped".into())));
        }
    }
}

impl Writer {
    /// Destroys the keys of contacts an applied group erased: first the group goes to disk
    /// (so that a crash cannot bring back a contact whose key is gone), then the keys, then
    /// their markers, which `Store::open` finishes from after a crash in between.
    fn shred(&self, ids: &[footprint_domain::contacts::ContactId]) -> Result<(), StoreError> {
        if ids.is_empty() {
            return Ok(());
        }
        self.db.flush()?;
        failpoint("erasure-before-shred");
        super::shred_keys(&self.tree, &self.vault, ids.iter().map(|id| id.get()))
    }
}

/// A group commit in the making: the batch it will apply, the contacts it changes (`Working`),
/// and the first read error, which fails the whole group (nothing of it is applied).
struct Staged<'w> {
    tree: &'w sled::Tree,
    last_seq: &'w mut u64,
    batch: sled::Batch,
    graph: Option<Working<'w>>,
    error: Option<StoreError>,
}

/// Where one event of a request goes.
enum Route<'r> {
    /// The tracker that sent it.
    Tracker(&'r TrackerId),
    /// The server tracker of the contact a shop's server addressed it to.
    Server(TrackerId),
    /// Nowhere: the contact it names is not one (the error to answer with).
    Refused(String),
    /// Nowhere: a retry of an event already stored, answered as a duplicate.
    Duplicate,
}

impl Route<'_> {
    fn tracker(&self) -> Option<&TrackerId> {
        match self {
            Route::Tracker(t) => Some(t),
            Route::Server(t) => Some(t),
            Route::Refused(_) | Route::Duplicate => None,
        }
    }
}

/// The new events of one request, per tracker, in request order.
type Chunks<'r> = BTreeMap<&'r TrackerId, Vec<NewRecord<'r>>>;

/// A chunk whose events are numbered but not yet sealed: whose each event is, the fold says.
struct Numbered<'r> {
    key: Vec<u8>,
    types: u32,
    /// Each event's encoding and its index in the request.
    events: Vec<(&'r [u8], usize)>,
}

impl<'w> Staged<'w> {
    fn new(
        tree: &'w sled::Tree,
        suppressor: &'w super::Suppressor,
        vault: &'w super::vault::Vault,
        last_seq: &'w mut u64,
    ) -> Self {
        let (graph, error) = match Working::new(tree, suppressor, vault) {
            Ok(g) => (Some(g), None),
            Err(e) => (None, Some(e)),
        };
        Staged {
            tree,
            last_seq,
            batch: sled::Batch::default(),
            graph,
            error,
        }
    }

    /// Records the first read error; the group will fail.
    fn failed(&mut self, e: StoreError) {
        self.error.get_or_insert(e);
        self.graph = None;
    }

    /// Whether `key` is in the tree; a read error counts as present (and fails the group).
    fn holds(&mut self, key: &[u8]) -> bool {
        self.tree.contains_key(key).unwrap_or_else(|e| {
            self.failed(e.into());
            true
        })
    }

    /// Each event's outcome so far (suppressed, duplicate, refused or stored), and the stored
    /// ones per tracker: `routes` says each event's tracker, or why it has none.
    fn sort<'r, 'a>(
        &mut self,
        req: &'r WriteRequest,
        routes: &'a [Route<'r>],
        seen: &mut HashSet<(&'r SiteKey, &'r MessageId)>,
    ) -> (Vec<Outcome>, Chunks<'a>) {
        let mut outcomes = Vec::with_capacity(req.events.len());
        let mut chunks = Chunks::new();
        // Trackers of erased contacts, looked up once per tracker in the request.
        let mut suppressed: HashMap<&TrackerId, bool> = HashMap::new();
        for (i, (ev, route)) in req.events.iter().zip(routes).enumerate() {
            let tracker = match route {
                Route::Tracker(t) => *t,
                Route::Server(t) => t,
                Route::Refused(why) => {
                    outcomes.push(Outcome::Refused(why.clone()));
                    continue;
                }
                Route::Duplicate => {
                    outcomes.push(Outcome::Duplicate);
                    continue;
                }
            };
            let gone = match suppressed.get(tracker) {
                Some(g) => *g,
                None => {
                    let key = keys::suppressed_tracker(req.site.as_str(), tracker.as_str());
                    let g = self.holds(&key);
                    suppressed.insert(tracker, g);
                    g
                }
            };
            if gone {
                outcomes.push(Outcome::Suppressed);
                continue;
            }
            let dkey = keys::dedupe(&req.site, &ev.message_id);
            if self.holds(&dkey) || !seen.insert((&req.site, &ev.message_id)) {
                outcomes.push(Outcome::Duplicate);
                continue;
            }
            outcomes.push(Outcome::Stored);
            chunks
                .entry(tracker)
                .or_default()
                .push((&ev.encoded, dkey, i));
        }
        (outcomes, chunks)
    }

    /// Each event's tracker: its own, or for one a shop's server addressed to a contact, that
    /// contact's server tracker (found, or made with the contact, by `Working::address`). An
    /// event already stored is not routed: a retry must not make a contact twice.
    fn route<'r>(
        &mut self,
        req: &'r WriteRequest,
        seen: &HashSet<(&'r SiteKey, &'r MessageId)>,
    ) -> Vec<Route<'r>> {
        let mut routes = Vec::with_capacity(req.events.len());
        for ev in &req.events {
            let address = match &ev.to {
                Recipient::Tracker(t) => {
                    routes.push(Route::Tracker(t));
                    continue;
                }
                Recipient::Contact(a) => a,
            };
            let dkey = keys::dedupe(&req.site, &ev.message_id);
            if seen.contains(&(&req.site, &ev.message_id)) || self.holds(&dkey) {
                routes.push(Route::Duplicate);
                continue;
            }
            let Some(g) = self.graph.as_mut() else {
                routes.push(Route::Refused(String::new()));
                continue;
            };
            let first_seq = *self.last_seq + 1;
            let routed = g
                .address(req.site.as_str(), address, ev.fact.at, first_seq)
                .map(|r| r.map(TrackerId::of_server));
            match routed {
                Ok(Ok(t)) => routes.push(Route::Server(t)),
                Ok(Err(why)) => routes.push(Route::Refused(why)),
                Err(e) => {
                    self.failed(e);
                    routes.push(Route::Refused(String::new()));
                }
            }
        }
        routes
    }

    /// Numbers one chunk per tracker with the next seqs and writes the dedupe markers of its
    /// events; returns the chunks, to seal once their events' owners are known, and each
    /// stored event's position.
    fn chunk<'r>(
        &mut self,
        req: &WriteRequest,
        chunks: Chunks<'r>,
    ) -> (Vec<Numbered<'r>>, Vec<Option<Pos>>) {
        let mut numbered = Vec::with_capacity(chunks.len());
        let mut positions = vec![None; req.events.len()];
        for (tracker, evs) in chunks {
            *self.last_seq += 1;
            let n = *self.last_seq;
            let seq = keys::encode_u64(n);
            let types = evs
                .iter()
                .fold(0, |m, (_, _, i)| m | req.events[*i].type_bit);
            let mut events = Vec::with_capacity(evs.len());
            for (index, (e, dkey, i)) in evs.into_iter().enumerate() {
                self.batch.insert(dkey, &seq[..]);
                positions[i] = Some(Pos {
                    seq: n,
                    index: u32::try_from(index).unwrap_or(u32::MAX),
                });
                events.push((e, i));
            }
            numbered.push(Numbered {
                key: keys::event_chunk(tracker, n),
                types,
                events,
            });
        }
        (numbered, positions)
    }

    /// Folds the stored events into their contacts, in the order the request listed them;
    /// what a contact at a cap did not keep becomes the event's outcome. Returns the contact
    /// each event went to (0 for one not stored).
    fn fold(
        &mut self,
        req: &WriteRequest,
        routes: &[Route<'_>],
        positions: &[Option<Pos>],
        outcomes: &mut [Outcome],
    ) -> Vec<u64> {
        let mut owners = vec![0; req.events.len()];
        let Some(g) = self.graph.as_mut() else {
            return owners;
        };
        g.received_at = req.received_at.as_millis();
        for (i, ((ev, pos), route)) in req.events.iter().zip(positions).zip(routes).enumerate() {
            let (Some(pos), Some(tracker)) = (*pos, route.tracker()) else {
                continue;
            };
            match g.on_event(req.site.as_str(), tracker.as_str(), pos, &ev.fact) {
                Ok((not_kept, owner)) => {
                    owners[i] = owner.get();
                    if let Some(w) = not_kept.warning() {
                        outcomes[i] = Outcome::NotKept(w);
                    }
                }
                Err(e) => {
                    self.failed(e);
                    break;
                }
            }
        }
        owners
    }

    /// Seals each chunk's events run by run under the keys of the contacts they went to, and
    /// puts the chunks in the batch.
    fn seal(&mut self, req: &WriteRequest, numbered: Vec<Numbered<'_>>, owners: &[u64]) {
        let header = ChunkHeader {
            site: req.site.as_str().to_owned(),
            received_at: req.received_at.as_millis(),
            sent_at: req.sent_at.as_millis(),
        };
        for chunk in numbered {
            let Some(g) = self.graph.as_mut() else { return };
            let runs = record::runs(chunk.events.iter().map(|(e, i)| (owners[*i], *e)));
            match g.seal_chunk(&chunk.key, &header, chunk.types, &runs) {
                Ok(bytes) => self.batch.insert(chunk.key, bytes),
                Err(e) => return self.failed(e),
            }
        }
    }

    /// Applies one command: the function every host of the store's writes runs, in log order
    /// (`command.rs` says why it is deterministic). Its changes join the group's batch.
    fn apply<'r>(
        &mut self,
        command: &'r Command,
        seen: &mut HashSet<(&'r SiteKey, &'r MessageId)>,
    ) -> Effect {
        match command {
            Command::Events(req) => {
                let routes = self.route(req, seen);
                let (mut outcomes, chunks) = self.sort(req, &routes, seen);
                let (numbered, positions) = self.chunk(req, chunks);
                let owners = self.fold(req, &routes, &positions, &mut outcomes);
                self.seal(req, numbered, &owners);
                Effect::Events(outcomes)
            }
            Command::Admin(op) => {
                // Stamped after every event applied before it.
                let pos = Pos {
                    seq: *self.last_seq,
                    index: u32::MAX,
                };
                // Without a graph the group has already failed: every answer of it will be
                // the error, so the effect given here is never seen.
                let Some(g) = self.graph.as_mut() else {
                    return Effect::Stored;
                };
                match g.admin(op, pos) {
                    Ok(outcome) => Effect::Admin(outcome),
                    Err(e) => {
                        self.failed(e);
                        Effect::Stored
                    }
                }
            }
            Command::RfmCuts { site, cuts } => {
                if let Some(g) = self.graph.as_mut() {
                    g.set_rfm_cuts(site, cuts);
                }
                Effect::Stored
            }
            Command::ClvModels { site, models } => {
                if let Some(g) = self.graph.as_mut() {
                    g.set_clv_models(site, models);
                }
                Effect::Stored
            }
        }
    }

    /// The batch to apply: the probes, the seq counter (in the same atomic batch as the
    /// chunks it numbered) and the changed contacts (with the events they summarise); or the
    /// read error that fails the group.
    fn finish(
        mut self,
        probes: &[(i64, ProbeReply)],
        applied: u64,
    ) -> Result<(sled::Batch, Vec<footprint_domain::contacts::ContactId>), StoreError> {
        if let Some(e) = self.error {
            return Err(e);
        }
        for (at, _) in probes {
            self.batch.insert(
                keys::PROBE,
                &keys::encode_u64(u64::try_from(*at).unwrap_or(0))[..],
            );
        }
        self.batch
            .insert(keys::META_SEQ, &keys::encode_u64(*self.last_seq)[..]);
        // In the same atomic batch as the commands' changes: a crash never applies a command
        // twice or skips one.
        self.batch
            .insert(keys::META_APPLIED, &keys::encode_u64(applied)[..]);
        let shred = match self.graph {
            Some(g) => g.finish(&mut self.batch)?,
            None => Vec::new(),
        };
        Ok((self.batch, shred))
    }
}

fn answer_all(g: Applied, result: Result<(), StoreError>) {
    for (reply, effect) in g.answers {
        reply(result.clone().and(effect));
    }
    for reply in g.probes {
        let _ = reply.send(result.clone());
    }
}

/// Crash tests only: `FOOTPRINT_FAILPOINT=<name>` aborts the process at the step `name`, as a
/// kill -9 or a power cut would there (sled's habit: test the guarantees by crashing). Read
/// only at the rare steps that have one, never per event.
fn failpoint(name: &str) {
    if std::env::var("FOOTPRINT_FAILPOINT").is_ok_and(|v| v == name) {
        eprintln!("failpoint {name}: aborting");
        std::process::abort();
    }
}

/// A command left the queue (`Store::send` counts them in).
fn queue_left() {
    metrics::gauge!("footprint_writer_queue_depth").decrement(1.0);
}
