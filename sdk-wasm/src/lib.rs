//! Footprint's browser tracker. The tracker itself is the SDK issue's work; for now the crate
//! only proves that the protocol types it will send build for `wasm32-unknown-unknown`.

pub use footprint_protocol as protocol;
