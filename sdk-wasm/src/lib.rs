//! Footprint's browser tracker.
//!
//! - `core` is the pure part: event building, the queue, batching, backoff and identity rules.
//!   It takes plain data and a clock reading, so it is tested natively.
//! - `platform` (wasm32 only) is the thin layer over browser APIs: cookies, storage, fetch and
//!   beacons, timers, lifecycle events. The only module that knows `web_sys`.
//! - `tracker` (wasm32 only) is the `#[wasm_bindgen]` facade: the JavaScript API. It never lets
//!   an exception or a panic reach the page.
//!
//! `no_std` (with `alloc`): the standard library's panic and formatting machinery would be a
//! fifth of the download. Native builds, and browser test builds (feature `std`), link `std`.

#![cfg_attr(all(target_arch = "wasm32", not(feature = "std")), no_std)]

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

/// The code paths are free of panics (hostile-input tests check it), so a panic is a bug; it
/// stops the instance, as `panic = "abort"` would. With the `std` feature (wasm-bindgen-test
/// builds, which link `std`) the standard library's handler is used instead.
#[cfg(all(target_arch = "wasm32", not(feature = "std")))]
#[panic_handler]
fn panic(_: &::core::panic::PanicInfo<'_>) -> ! {
    ::core::arch::wasm32::unreachable()
}
