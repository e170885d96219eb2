//! A projector: the log, applied in order into a local store (its view).
//!
//! A view holds every partition: the stream's sequence is one order over all of them, so a
//! view's position is one number, stored in the same batch as the changes it made.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::StreamExt;

use async_nats::jetstream::consumer::{pull::OrderedConfig, DeliverPolicy};
use footprint_store::{Command, Effect, PendingEffect, Store};
use tokio::sync::{oneshot, watch};

use super::keys::{self, Keys};
use super::{Log, LogError};

/// How long after a view applied an erasure it destroys the erased trackers' keys: every
/// other live view has applied the same commands by then (they run milliseconds apart), so
/// none meets a message whose key is gone. One that is further behind skips such messages
/// (ARCHITECTURE.md, "Cluster mode": rebuilding a view).
const SHRED_AFTER: Duration = Duration::from_secs(10);

/// Commands applied but not yet durable, at most: the writer groups them, so a projector
/// catching up pays one fsync per group, not per command.
const IN_FLIGHT: usize = 1024;

/// What a running projector tells the rest of its process: how far its view is, and the
/// effect of the admin commands this process appended and waits on.
#[derive(Clone)]
pub struct Progress {
    inner: Arc<Shared>,
}

struct Shared {
    applied: watch::Sender<u64>,
    waiters: Mutex<HashMap<String, oneshot::Sender<Effect>>>,
    compactions: Mutex<HashMap<String, oneshot::Sender<Compaction>>>,
}

/// What a compaction asked through the log came to, on this view.
pub type Compaction = Result<footprint_store::Compacted, footprint_store::StoreError>;

/// The header of a message that asks every view to compact (it carries no command).
pub const OP: &str = "Fp-Op";
pub const COMPACT: &str = "compact";

impl Progress {
    /// Progress of a view at `position`.
    pub fn new(position: u64) -> Progress {
        Progress {
            inner: Arc::new(Shared {
                applied: watch::channel(position).0,
                waiters: Mutex::default(),
                compactions: Mutex::default(),
            }),
        }
    }

    /// Waits for the effect of the command appended with message id `id`. Called before the
    /// append, so the answer cannot come first.
    pub fn expect(&self, id: &str) -> oneshot::Receiver<Effect> {
        let (tx, rx) = oneshot::channel();
        self.waiters().insert(id.to_owned(), tx);
        rx
    }

    /// Stops waiting for `id` (its append failed, or its caller gave up).
    pub fn forget(&self, id: &str) {
        self.waiters().remove(id);
        self.compactions().remove(id);
    }

    /// Waits for this view's compaction asked by the message with id `id`.
    pub fn expect_compaction(&self, id: &str) -> oneshot::Receiver<Compaction> {
        let (tx, rx) = oneshot::channel();
        self.compactions().insert(id.to_owned(), tx);
        rx
    }

    fn compactions(
        &self,
    ) -> std::sync::MutexGuard<'_, HashMap<String, oneshot::Sender<Compaction>>> {
        self.inner
            .compactions
            .lock()
            .unwrap_or_else(|p| p.into_inner())
    }

    /// A position that carried no command (a compaction's request) is behind the view.
    fn passed(&self, position: u64) {
        self.inner.applied.send_if_modified(|p| {
            let moved = position > *p;
            *p = (*p).max(position);
            moved
        });
    }

    /// The last position the view holds durably.
    pub fn applied(&self) -> u64 {
        *self.inner.applied.borrow()
    }

    /// Whether the view reaches `position` within `wait`.
    pub async fn reached(&self, position: u64, wait: Duration) -> bool {
        let mut rx = self.inner.applied.subscribe();
        tokio::time::timeout(wait, rx.wait_for(|&p| p >= position))
            .await
            .is_ok_and(|r| r.is_ok())
    }

    fn waiters(&self) -> std::sync::MutexGuard<'_, HashMap<String, oneshot::Sender<Effect>>> {
        self.inner.waiters.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn settled(&self, position: u64, id: Option<&str>, effect: Effect) {
        if let Some(tx) = id.and_then(|id| self.waiters().remove(id)) {
            let _ = tx.send(effect);
        }
        self.inner.applied.send_if_modified(|p| {
            let moved = position > *p;
            *p = (*p).max(position);
            moved
        });
    }
}

/// A command handed to the store and not yet answered.
struct Pending {
    position: u64,
    /// The `Nats-Msg-Id` of an admin's command: someone in this process may wait on it.
    admin_id: Option<String>,
    /// The key a tracker's events were sealed under.
    key: Option<String>,
    effect: PendingEffect,
}

/// Applies the log to `store` from the one after its last applied position, until the log
/// ends the stream of messages or `stop` turns true. Each command is applied at its stream
/// sequence, so one the store already holds is skipped.
pub async fn run(
    log: &Log,
    store: &Store,
    progress: &Progress,
    keys: &std::sync::Arc<Keys>,
    mut stop: watch::Receiver<bool>,
) -> Result<(), LogError> {
    let read = |e: String| LogError::Read(e);
    let from = store.applied().map_err(|e| read(e.to_string()))? + 1;
    let consumer = log
        .stream()
        .await?
        .create_consumer(OrderedConfig {
            deliver_policy: DeliverPolicy::ByStartSequence {
                start_sequence: from,
            },
            ..Default::default()
        })
        .await
        .map_err(|e| read(e.to_string()))?;
    let mut messages = consumer.messages().await.map_err(|e| read(e.to_string()))?;
    let admin = log.admin_subject();
    let mut pending: VecDeque<Pending> = VecDeque::new();
    let failed = loop {
        let next = tokio::select! {
            m = messages.next() => m,
            _ = stop.changed() => None,
            // While the log is quiet, the last commands' answers are still taken as they come:
            // someone may be waiting on one.
            answer = async { (&mut pending.front_mut().expect("not empty").effect).await },
                if !pending.is_empty() =>
            {
                if let Some(p) = pending.pop_front() {
                    finish(p, answer, progress, keys)?;
                }
                continue;
            }
        };
        let Some(message) = next else { break None };
        let message = match message {
            Ok(m) => m,
            Err(e) => break Some(read(e.to_string())),
        };
        let position = match message.info() {
            Ok(info) => info.stream_sequence,
            Err(e) => break Some(read(e.to_string())),
        };
        let header = |name: &str| {
            message
                .headers
                .as_ref()
                .and_then(|h| h.get(name))
                .map(|v| v.as_str().to_owned())
        };
        if header(OP).as_deref() == Some(COMPACT) {
            // Every view compacts its own files where the request sits in the log: what was
            // applied before it is settled first, so erased data before it leaves the disk.
            while let Some(p) = pending.pop_front() {
                settle(Some(p), progress, keys).await?;
            }
            let done = match store.compact() {
                Ok(rx) => rx.await.unwrap_or_else(|_| {
                    Err(footprint_store::StoreError::Sled(
                        "the store stopped".into(),
                    ))
                }),
                Err(e) => Err(footprint_store::StoreError::Unavailable(e.to_string())),
            };
            match &done {
                Ok(c) => tracing::info!(
                    position,
                    records = c.records,
                    bytes_before = c.bytes_before,
                    bytes_after = c.bytes_after,
                    "compacted as the log asked"
                ),
                Err(e) => tracing::error!(error = %e, "a compaction asked through the log failed"),
            }
            if let Some(tx) =
                header("Nats-Msg-Id").and_then(|id| progress.compactions().remove(&id))
            {
                let _ = tx.send(done);
            }
            progress.passed(position);
            continue;
        }
        let key = header(keys::HEADER);
        let plain = match &key {
            Some(name) => match keys.for_reading(name).await {
                Ok(Some(k)) => match keys::open(&k, name, &message.payload) {
                    Some(p) => p,
                    None => break Some(read(format!("the command at {position} does not open"))),
                },
                // Erased: what it held is gone from every view already (SHRED_AFTER).
                Ok(None) => {
                    tracing::warn!(position, "skipping a command whose tracker was erased");
                    continue;
                }
                Err(e) => break Some(e),
            },
            None => message.payload.to_vec(),
        };
        let command = match Command::decode(&plain) {
            Ok(c) => c,
            // Not ours to skip: every projector must apply the same commands. Stopping here
            // keeps the view at the last good position until an operator looks.
            Err(e) => break Some(read(format!("the command at {position}: {e}"))),
        };
        let admin_id = (message.subject.as_str() == admin)
            .then(|| {
                let headers = message.headers.as_ref()?;
                Some(headers.get("Nats-Msg-Id")?.as_str().to_owned())
            })
            .flatten();
        let effect = match store.apply_at(position, command) {
            Ok(e) => e,
            Err(e) => break Some(read(e.to_string())),
        };
        pending.push_back(Pending {
            position,
            admin_id,
            key,
            effect,
        });
        // The window full, wait for the oldest; otherwise only take answers already there.
        while pending.len() >= IN_FLIGHT || front_done(&pending) {
            settle(pending.pop_front(), progress, keys).await?;
        }
    };
    // What the store took is applied whatever the log does next: its effects still go to
    // whoever waits on them, before a restarted consumer redelivers the same positions.
    while let Some(p) = pending.pop_front() {
        settle(Some(p), progress, keys).await?;
    }
    failed.map_or(Ok(()), Err)
}

/// Runs the projector until `stop`, starting it again from its store's position whenever the
/// log goes away (a node failing, an election): a backoff up to 5 s between tries.
pub async fn run_until_stopped(
    log: Log,
    store: Store,
    progress: Progress,
    keys: std::sync::Arc<Keys>,
    stop: watch::Receiver<bool>,
) {
    let mut backoff = Duration::from_millis(100);
    while !*stop.borrow() {
        match run(&log, &store, &progress, &keys, stop.clone()).await {
            Ok(()) => backoff = Duration::from_millis(100),
            Err(e) => {
                tracing::warn!(error = %e, retry_in_ms = backoff.as_millis() as u64,
                    "projector stopped reading the log; starting again from its position");
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(Duration::from_secs(5));
            }
        }
    }
}

/// Whether the oldest pending command has its answer, so that settling it does not wait.
fn front_done(pending: &VecDeque<Pending>) -> bool {
    pending.front().is_some_and(|p| !p.effect.is_empty())
}

async fn settle(
    p: Option<Pending>,
    progress: &Progress,
    keys: &std::sync::Arc<Keys>,
) -> Result<(), LogError> {
    let Some(mut p) = p else { return Ok(()) };
    let answer = (&mut p.effect).await;
    finish(p, answer, progress, keys)
}

/// Hands a command's answer to whoever waits on it, and moves the view's progress.
fn finish(
    p: Pending,
    answer: Result<Result<Effect, footprint_store::StoreError>, oneshot::error::RecvError>,
    progress: &Progress,
    keys: &std::sync::Arc<Keys>,
) -> Result<(), LogError> {
    let effect = answer
        .map_err(|_| LogError::Read("the store stopped".into()))?
        .map_err(|e| LogError::Read(e.to_string()))?;
    let shred = to_shred(&effect, p.key);
    if !shred.is_empty() {
        let keys = std::sync::Arc::clone(keys);
        tokio::spawn(async move {
            tokio::time::sleep(SHRED_AFTER).await;
            match keys.destroy(&shred).await {
                Ok(()) => tracing::info!(keys = shred.len(), "erased trackers' keys destroyed"),
                Err(e) => tracing::error!(error = %e, "erased trackers' keys not destroyed"),
            }
        });
    }
    progress.settled(p.position, p.admin_id.as_deref(), effect);
    Ok(())
}

/// The keys whose data an effect leaves nowhere to be read from: the trackers of erased
/// contacts, and a message whose events were all turned away as an erased shopper's.
fn to_shred(effect: &Effect, key: Option<String>) -> Vec<String> {
    use footprint_store::{Done, Outcome};
    match effect {
        Effect::Admin(Ok(Done::Erased(each))) => each
            .iter()
            .filter_map(|(_, r)| r.as_ref().ok())
            .flat_map(|e| {
                let trackers = e.tracker_ids.iter().map(|t| keys::name(&e.site, t));
                let contacts = e.contact_ids.iter().map(|&c| keys::name_of_contact(c));
                let values = e.values.iter().map(|v| keys::name_of_value(&e.site, v));
                trackers.chain(contacts).chain(values)
            })
            .collect(),
        Effect::Events(outcomes)
            if !outcomes.is_empty() && outcomes.iter().all(|o| *o == Outcome::Suppressed) =>
        {
            key.into_iter().collect()
        }
        _ => Vec::new(),
    }
}
