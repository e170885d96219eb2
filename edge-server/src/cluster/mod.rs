//! Cluster mode (`[cluster]`): the store's commands on a replicated NATS JetStream log,
//! applied by projectors into local sled views with the function single-node mode uses.
//! ARCHITECTURE.md, "Cluster mode", walks the write path and the faults.
//!
//! - [`log`]: the log. One stream, replicated (R3); one subject per partition (every
//!   command of a site on its site's partition) and one for admins' commands. Publishes
//!   carry a `Nats-Msg-Id`, so a retry inside the stream's duplicate window is stored once.
//! - [`sink`]: ingest's [`EventSink`](crate::ingest::EventSink): a batch's accepted events,
//!   one sealed command per tracker, answered once the log acknowledged them.
//! - [`keys`]: crypto-shredding of the log: per-tracker and per-contact keys in a memory-only
//!   replicated bucket, destroyed when an erasure is applied.
//! - [`projector`]: reads the whole stream in order and applies each command at its stream
//!   sequence (`Store::apply_at`); the position is stored in the same batch as the changes,
//!   so a projector that restarts goes on from where its view is.
//! - [`commands`]: admins' changes as commands on the log, answered once this process's view
//!   applied them.
//! - [`rpc`]: admin requests forwarded from an edge to the projectors' queue group, run by
//!   the same app single-node mode serves.

pub mod commands;
pub mod keys;
pub mod log;
pub mod projector;
pub mod rpc;
pub mod sink;

pub use log::{Log, LogConfig, LogError};

/// 16 random bytes as hex: a `Nats-Msg-Id` for a command no retry repeats.
pub fn random_id() -> String {
    let mut b = [0u8; 16];
    rand::fill(&mut b);
    hex::encode(b)
}
