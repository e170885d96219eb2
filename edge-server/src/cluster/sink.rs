//! Ingest's sink in cluster mode: a batch's accepted events become one command on the log.

use std::sync::Arc;

use footprint_store::{Command, Outcome, PendingWrite, StoreError, SubmitError, WriteRequest};
use sha2::{Digest, Sha256};

use super::Log;
use crate::ingest::EventSink;

/// Publishes each write to its site's partition and answers once the log acknowledged it.
pub struct LogSink {
    log: Arc<Log>,
}

impl LogSink {
    pub fn new(log: Arc<Log>) -> LogSink {
        LogSink { log }
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

impl EventSink for LogSink {
    fn submit(&self, req: WriteRequest) -> Result<PendingWrite, SubmitError> {
        let (tx, rx) = tokio::sync::oneshot::channel();
        let log = Arc::clone(&self.log);
        let n = req.events.len();
        let partition = log.partition(req.site.as_str());
        let id = message_id(&req);
        tokio::spawn(async move {
            let answer = match log.append(partition, &id, &Command::Events(req)).await {
                // Within the window, a repeat of the whole batch: its events were taken.
                // A repeat after the window is caught by the projectors' dedupe index and
                // answered as stored here (protocol/README.md says so).
                Ok((_, true)) => Ok(vec![Outcome::Duplicate; n]),
                Ok((_, false)) => Ok(vec![Outcome::Stored; n]),
                Err(e) => Err(StoreError::Unavailable(e.to_string())),
            };
            let _ = tx.send(answer);
        });
        Ok(rx)
    }
}
