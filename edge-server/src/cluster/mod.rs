//! Cluster mode (in progress, issue 20): the store's commands on a replicated NATS JetStream
//! log, applied by projectors into local sled views with the function single-node mode uses.
//!
//! - [`log`]: the log. One stream, replicated (R3); one subject per partition, and every
//!   command of a site on its site's partition, so a site's identity decisions stay in one
//!   order. Publishes carry a `Nats-Msg-Id`, so a retry inside the stream's duplicate window
//!   is stored once.
//! - [`projector`]: reads a partition in order and applies each command at its stream
//!   sequence (`Store::apply_at`); the position is stored in the same batch as the changes,
//!   so a projector that restarts goes on from where its store is.
//! - [`sink`]: ingest's [`EventSink`](crate::ingest::EventSink) in cluster mode: a batch's
//!   accepted events are answered once the log acknowledged them (a quorum holds them).
//!
//! Not yet wired into the binary: the `[cluster]` config, the read path to projectors and
//! admin writes over the log come next.

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
