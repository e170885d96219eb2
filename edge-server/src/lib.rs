//! Footprint's ingestion edge.
//!
//! `main.rs` only parses flags and calls [`server::run`]. Layers, outside in: [`http`] (the
//! JSON API and the admin console, side by side; with `server` the only modules that know
//! actix) → [`ingest`] and [`admin`] (the application's operations) → [`store`] (the
//! `footprint-store` crate, the only one that knows sled) and the domain (`footprint-domain`:
//! [`contacts`], [`identity`]). See ARCHITECTURE.md for the write path and its guarantees.

pub mod access;
pub mod admin;
pub mod app;
pub mod auth;
pub mod backup;
pub mod census;
pub mod client;
pub mod cluster;
pub mod clv;
pub mod config;
pub mod error;
pub mod gdpr;
pub mod http;
pub mod import;
pub mod ingest;
pub mod ratelimit;
pub mod sdk;
pub mod segments;
pub mod server;
pub mod telemetry;
pub mod writes;

// The domain and the store are crates of their own (ARCHITECTURE.md); their modules keep the
// paths they had inside this crate.
pub use footprint_domain::{contacts, identity};
pub use footprint_store as store;
