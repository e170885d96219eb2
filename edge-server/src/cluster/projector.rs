//! A projector: one partition of the log, applied in order into a local store.

use futures_util::StreamExt;

use async_nats::jetstream::consumer::{pull::OrderedConfig, DeliverPolicy};
use footprint_store::{Command, PendingEffect, Store};

use super::{Log, LogError};

/// Commands applied but not yet durable, at most: the writer groups them, so a projector
/// catching up pays one fsync per group, not per command.
const IN_FLIGHT: usize = 1024;

/// Applies `partition`'s commands to `store` from the one after its last applied position,
/// until the log ends the stream of messages or `stop` turns true. Each command is applied
/// at its stream sequence, so one the store already holds is skipped.
pub async fn run(
    log: &Log,
    partition: u32,
    store: &Store,
    mut stop: tokio::sync::watch::Receiver<bool>,
) -> Result<(), LogError> {
    let read = |e: String| LogError::Read(e);
    let from = store.applied().map_err(|e| read(e.to_string()))? + 1;
    let consumer = log
        .stream()
        .await?
        .create_consumer(OrderedConfig {
            filter_subject: log.subject(partition),
            deliver_policy: DeliverPolicy::ByStartSequence {
                start_sequence: from,
            },
            ..Default::default()
        })
        .await
        .map_err(|e| read(e.to_string()))?;
    let mut messages = consumer.messages().await.map_err(|e| read(e.to_string()))?;
    let mut pending: std::collections::VecDeque<PendingEffect> = Default::default();
    loop {
        let next = tokio::select! {
            m = messages.next() => m,
            _ = stop.changed() => None,
        };
        let Some(message) = next else { break };
        let message = message.map_err(|e| read(e.to_string()))?;
        let seq = message
            .info()
            .map_err(|e| read(e.to_string()))?
            .stream_sequence;
        let command = Command::decode(&message.payload).map_err(|e| read(e.to_string()))?;
        let rx = store
            .apply_at(seq, command)
            .map_err(|e| read(e.to_string()))?;
        pending.push_back(rx);
        // The window full, wait for the oldest; otherwise only take answers already there.
        while pending.len() >= IN_FLIGHT || front_done(&pending) {
            settle(pending.pop_front()).await?;
        }
    }
    while let Some(rx) = pending.pop_front() {
        settle(Some(rx)).await?;
    }
    Ok(())
}

/// Whether the oldest pending command has its answer, so that settling it does not wait.
fn front_done(pending: &std::collections::VecDeque<PendingEffect>) -> bool {
    pending.front().is_some_and(|rx| !rx.is_empty())
}

async fn settle(rx: Option<PendingEffect>) -> Result<(), LogError> {
    let Some(rx) = rx else { return Ok(()) };
    rx.await
        .map_err(|_| LogError::Read("the store stopped".into()))?
        .map(drop)
        .map_err(|e| LogError::Read(e.to_string()))
}
