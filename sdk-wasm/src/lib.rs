//! Footprint's browser tracker.
//!
//! - `core` is the pure part: event building, the queue, batching, backoff and identity rules.
//!   It takes plain data and a clock reading, so it is tested natively.
//! - `platform` (wasm32 only) is the thin layer over browser APIs: cookies, storage, fetch and
//!   beacons, timers, lifecycle events. The only module that knows `web_sys`.
//! - `tracker` (wasm32 only) is the `#[wasm_bindgen]` facade: the JavaScript API. It converts
//!   values (`convert`) and never lets an exception or a panic reach the page.

#[cfg(target_arch = "wasm32")]
mod convert;
pub mod core;
#[cfg(target_arch = "wasm32")]
pub mod platform;
#[cfg(target_arch = "wasm32")]
pub mod tracker;

pub use footprint_protocol as protocol;

// talc instead of std's dlmalloc: made for wasm, and about 7 KB smaller in the shipped binary.
#[cfg(target_arch = "wasm32")]
#[global_allocator]
static ALLOCATOR: talc::wasm::WasmDynamicTalc = talc::wasm::new_wasm_dynamic_allocator();
