//! The tracker's pure core: everything that decides what to send and when, with no browser in
//! sight. It takes plain data, a clock reading and random bytes, so that it is tested natively
//! with `cargo test`; the platform layer (storage, fetch, timers) only carries out its verdicts.

pub mod args;
pub mod backoff;
pub mod config;
pub mod engine;
pub mod event;
pub mod identity;
pub mod json;
pub mod queue;
pub mod text;
pub mod time;
pub mod uuid;
