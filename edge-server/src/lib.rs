//! Footprint's ingestion edge.
//!
//! `main.rs` only parses flags and calls [`server::run`]. Layers, outside in: [`routes`] (the
//! HTTP API) and [`console`] (the admin console's pages), the only modules that know actix →
//! [`ingest`] and [`admin`] (the domain) → [`store`] (the only module that knows sled). See
//! ARCHITECTURE.md for the write path and its guarantees.

pub mod access;
pub mod admin;
pub mod auth;
pub mod backup;
pub mod client;
pub mod config;
pub mod console;
pub mod error;
pub mod gdpr;
pub mod guard;
pub mod import;
pub mod ingest;
pub mod ratelimit;
pub mod routes;
pub mod sdk;
pub mod segments;
pub mod server;
pub mod telemetry;

// The domain and the store are crates of their own (ARCHITECTURE.md); their modules keep the
// paths they had inside this crate.
pub use footprint_domain::{contacts, identity};
pub use footprint_store as store;
