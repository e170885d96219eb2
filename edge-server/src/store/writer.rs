//! The single writer thread and its group commit.
//!
//! sled takes about the same number of writes per second however many threads write, so one
//! thread owns every write. It blocks for the first waiting request, takes every other request
//! already queued (up to `max_group_events`), writes them all in one atomic `apply_batch`, then
//! makes them durable with one `flush`, and only then answers each request. One fsync thus
//! covers everyone who was waiting at that moment.

use std::collections::{BTreeMap, HashSet};
use std::sync::mpsc::{Receiver, TryRecvError};
use std::sync::Arc;

use footprint_protocol::{MessageId, SiteKey, TrackerId};
use tokio::sync::oneshot;

use super::keys;
use super::record::{self, ChunkHeader};
use super::{Outcome, StoreError, WriteRequest};

pub(super) enum Command {
    Write(
        WriteRequest,
        oneshot::Sender<Result<Vec<Outcome>, StoreError>>,
    ),
    /// Write and flush a marker: proves the store takes writes.
    Probe(i64, oneshot::Sender<Result<(), StoreError>>),
    /// Finish what was queued before this, flush, and stop.
    Stop,
}

pub(super) struct Writer {
    pub db: Arc<sled::Db>,
    pub tree: sled::Tree,
    pub rx: Receiver<Command>,
    pub last_seq: u64,
    pub max_group_events: usize,
}

type Reply = oneshot::Sender<Result<Vec<Outcome>, StoreError>>;
type ProbeReply = oneshot::Sender<Result<(), StoreError>>;
/// An accepted event's encoded record and its dedupe key.
type NewRecord<'a> = (&'a [u8], Vec<u8>);

/// The commands one group commit covers.
#[derive(Default)]
struct Group {
    writes: Vec<(WriteRequest, Reply)>,
    probes: Vec<(i64, ProbeReply)>,
    events: usize,
}

impl Group {
    /// Adds a command; true when it was the stop command.
    fn take(&mut self, c: Command) -> bool {
        match c {
            Command::Write(req, reply) => {
                self.events += req.events.len();
                self.writes.push((req, reply));
                false
            }
            Command::Probe(at, reply) => {
                self.probes.push((at, reply));
                false
            }
            Command::Stop => true,
        }
    }
}

impl Writer {
    pub fn run(mut self) {
        let mut stopping = false;
        while !stopping {
            let Ok(first) = self.rx.recv() else { break };
            let mut group = Group::default();
            stopping = group.take(first);
            while !stopping && group.events < self.max_group_events {
                match self.rx.try_recv() {
                    Ok(c) => stopping = group.take(c),
                    Err(TryRecvError::Empty) => break,
                    Err(TryRecvError::Disconnected) => stopping = true,
                }
            }
            self.commit(group.writes, group.probes);
        }
        if let Err(e) = self.db.flush() {
            tracing::error!(error = %e, "final flush failed");
        }
        tracing::info!(last_seq = self.last_seq, "store writer stopped");
    }

    fn commit(&mut self, writes: Vec<(WriteRequest, Reply)>, probes: Vec<(i64, ProbeReply)>) {
        let start_seq = self.last_seq;
        let mut batch = sled::Batch::default();
        // Within a group, a repeat is caught here; across groups, by the dedupe index.
        let mut seen: HashSet<(&SiteKey, &MessageId)> = HashSet::new();
        let mut outcomes_all = Vec::with_capacity(writes.len());
        let mut read_error = None;

        for (req, _) in &writes {
            let mut outcomes = Vec::with_capacity(req.events.len());
            // Chunks per tracker, in first-seen order of each tracker's events.
            let mut chunks: BTreeMap<&TrackerId, Vec<NewRecord<'_>>> = BTreeMap::new();
            for ev in &req.events {
                let dkey = keys::dedupe(&req.site, &ev.message_id);
                let known = match self.tree.contains_key(&dkey) {
                    Ok(k) => k,
                    Err(e) => {
                        read_error = Some(e);
                        true
                    }
                };
                if known || !seen.insert((&req.site, &ev.message_id)) {
                    outcomes.push(Outcome::Duplicate);
                    continue;
                }
                outcomes.push(Outcome::Stored);
                chunks
                    .entry(&ev.tracker_id)
                    .or_default()
                    .push((&ev.encoded, dkey));
            }
            let header = ChunkHeader {
                site: req.site.as_str().to_owned(),
                received_at: req.received_at.as_millis(),
                sent_at: req.sent_at.as_millis(),
            };
            for (tracker, evs) in chunks {
                self.last_seq += 1;
                let seq = keys::encode_u64(self.last_seq);
                batch.insert(
                    keys::event_chunk(tracker, self.last_seq),
                    record::encode_chunk(&header, evs.iter().map(|(e, _)| *e)),
                );
                for (_, dkey) in evs {
                    batch.insert(dkey, &seq[..]);
                }
            }
            outcomes_all.push(outcomes);
        }
        for (at, _) in &probes {
            batch.insert(
                keys::PROBE,
                &keys::encode_u64(u64::try_from(*at).unwrap_or(0))[..],
            );
        }
        // The seq counter rides in the same atomic batch as the chunks it numbered.
        batch.insert(keys::META_SEQ, &keys::encode_u64(self.last_seq)[..]);

        let t0 = std::time::Instant::now();
        let result = match read_error {
            Some(e) => Err(StoreError::from(e)),
            None => self.tree.apply_batch(batch).map_err(StoreError::from),
        };
        let t1 = std::time::Instant::now();
        let result = result.and_then(|()| self.db.flush().map(|_| ()).map_err(StoreError::from));
        let t2 = std::time::Instant::now();
        tracing::debug!(
            requests = writes.len(),
            seqs = self.last_seq - start_seq,
            apply_ms = (t1 - t0).as_secs_f64() * 1e3,
            flush_ms = (t2 - t1).as_secs_f64() * 1e3,
            "group commit"
        );
        if let Err(e) = &result {
            tracing::error!(error = %e, "group commit failed; its requests get 503");
            // Nothing of this group was acknowledged; hand its seqs out again.
            self.last_seq = start_seq;
        }
        for ((_, reply), outcomes) in writes.into_iter().zip(outcomes_all) {
            let _ = reply.send(result.as_ref().map(|()| outcomes).map_err(Clone::clone));
        }
        for (_, reply) in probes {
            let _ = reply.send(result.clone());
        }
    }
}
