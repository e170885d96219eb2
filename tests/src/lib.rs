//! Shared pieces of Footprint's cross-crate tests and benchmarks.

pub mod browser;
pub mod nats;
pub mod process;
pub mod secrets;
pub mod size;
pub mod workload;
