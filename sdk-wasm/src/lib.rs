//! Footprint's browser tracker.
//!
//! `core` is the pure part: the queue, batching, backoff and ids, taking plain data and a clock
//! so that it is tested natively. The platform layer and the `#[wasm_bindgen]` facade arrive
//! with the rest of the SDK issue.

pub mod core;
#[cfg(target_arch = "wasm32")]
pub mod platform;

pub use footprint_protocol as protocol;
