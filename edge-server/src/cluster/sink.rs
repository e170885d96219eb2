//! Ingest's sink in cluster mode: a batch's accepted events become commands on the log, one
//! per tracker, each sealed under its tracker's key (`cluster::keys`).

use std::sync::Arc;

use footprint_store::{
    Address, Command, Outcome, PendingWrite, Recipient, StoreError, SubmitError, WriteRequest,
};
use sha2::{Digest, Sha256};

use super::keys::{self, Keys};
use super::Log;
use crate::ingest::EventSink;

/// Publishes each write to its site's partition and answers once the log acknowledged it.
pub struct LogSink {
    log: Arc<Log>,
    keys: Arc<Keys>,
}

impl LogSink {
    pub fn new(log: Arc<Log>, keys: Arc<Keys>) -> LogSink {
        LogSink { log, keys }
    }
}

/// The write's `Nats-Msg-Id`: a hash of its site and its events' message ids, so that a
/// tracker's retry of the same batch is the same message to the log's duplicate window.
pub fn message_id(req: &WriteRequest) -> String {
    let mut h = Sha256::new();
    h.update(req.site.as_str().as_bytes());
    for e in &req.events {
        h.update([0]);
        h.update(e.message_id.as_str().as_bytes());
    }
    hex::encode(&h.finalize()[..16])
}

/// The write split by recipient (tracker or addressed contact), in order of first appearance,
/// with each event's place in the write. A browser's batch has one tracker; a replayed export
/// or a shop's server batch may have several.
fn by_tracker(req: WriteRequest) -> Vec<(Vec<usize>, WriteRequest)> {
    let mut groups: Vec<(Vec<usize>, WriteRequest)> = Vec::new();
    for (i, e) in req.events.into_iter().enumerate() {
        let at = groups.iter().position(|(_, g)| g.events[0].to == e.to);
        match at {
            Some(j) => {
                groups[j].0.push(i);
                groups[j].1.events.push(e);
            }
            None => groups.push((
                vec![i],
                WriteRequest {
                    site: req.site.clone(),
                    received_at: req.received_at,
                    sent_at: req.sent_at,
                    events: vec![e],
                },
            )),
        }
    }
    groups
}

/// The key a group's events are sealed under: its tracker's, or for a contact a shop's
/// server named, the key an erasure of that contact destroys (of its email or phone, or of
/// its id).
fn key_name(site: &str, to: &Recipient) -> String {
    match to {
        Recipient::Tracker(t) => keys::name(site, t.as_str()),
        Recipient::Contact(Address::Email(e)) => keys::name_of_value(site, e.as_str()),
        Recipient::Contact(Address::Phone(p)) => keys::name_of_value(site, p.as_str()),
        Recipient::Contact(Address::Id(id)) => keys::name_of_contact(id.get()),
    }
}

impl EventSink for LogSink {
    fn submit(&self, req: WriteRequest) -> Result<PendingWrite, SubmitError> {
        let (tx, rx) = tokio::sync::oneshot::channel();
        let (log, keys) = (Arc::clone(&self.log), Arc::clone(&self.keys));
        let n = req.events.len();
        let partition = log.partition(req.site.as_str());
        tokio::spawn(async move {
            let mut outcomes = vec![Outcome::Stored; n];
            for (places, group) in by_tracker(req) {
                let id = message_id(&group);
                let name = key_name(group.site.as_str(), &group.events[0].to);
                let sealed = match keys.for_writing(&name).await {
                    Ok(key) => keys::seal(&key, &name, &Command::Events(group).encode()),
                    Err(e) => {
                        let _ = tx.send(Err(StoreError::Unavailable(e.to_string())));
                        return;
                    }
                };
                match log.append_sealed(partition, &id, &name, sealed).await {
                    // Within the window, a repeat of the whole group: its events were taken.
                    // A repeat after the window is caught by the projectors' dedupe index and
                    // answered as stored here (protocol/README.md says so).
                    Ok((_, true)) => {
                        for i in places {
                            outcomes[i] = Outcome::Duplicate;
                        }
                    }
                    Ok((_, false)) => {}
                    Err(e) => {
                        // Groups already appended stay appended: the tracker's retry of the
                        // whole batch finds them in the window (or the dedupe index).
                        let _ = tx.send(Err(StoreError::Unavailable(e.to_string())));
                        return;
                    }
                }
            }
            let _ = tx.send(Ok(outcomes));
        });
        Ok(rx)
    }
}
