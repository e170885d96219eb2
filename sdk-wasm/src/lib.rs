//! Footprint's browser tracker.
//!
//! - `core` is the pure part: event building, the queue, batching, backoff and identity rules.
//!   It takes plain data and a clock reading, so it is tested natively.
//! - `platform` (wasm32 only) is the thin layer over browser APIs: cookies, storage, fetch and
//!   beacons, timers, lifecycle events. The only module that knows `web_sys`.
//! - `tracker` (wasm32 only) is the `#[wasm_bindgen]` facade: the JavaScript API. It never lets
//!   an exception or a panic reach the page.
//!
//! With `std`: serde-wasm-bindgen and gloo need it. Its panic machinery is in the download
//! but never runs (the code paths are free of panics: the hostile-input tests check it), and
//! the build blanks the text only a panic would print (`cargo xtask sdk`).

extern crate alloc;

pub mod core;
#[cfg(target_arch = "wasm32")]
pub mod platform;
#[cfg(target_arch = "wasm32")]
pub mod tracker;

pub use footprint_protocol as protocol;

// lol_alloc's free list: made for wasm and the smallest that frees and coalesces (0.6 KB gzip
// less than talc). Its search is linear in the free blocks, which stay few: the tracker's heap
// holds a queue and a handful of strings.
#[cfg(target_arch = "wasm32")]
#[global_allocator]
// SAFETY: wasm32-unknown-unknown without the `atomics` feature runs on one thread.
static ALLOCATOR: lol_alloc::AssumeSingleThreaded<lol_alloc::FreeListAllocator> =
    unsafe { lol_alloc::AssumeSingleThreaded::new(lol_alloc::FreeListAllocator::new()) };
