//! The HTTP layer: the only part of the edge (with `server.rs` and `main.rs`) that knows
//! actix. [`api`] (JSON) and [`console`] (HTML) sit side by side on what they share:
//! [`state`] (the state every handler reads, and the helpers that run store work off the
//! executor), [`stream`] (answers streamed while they are read) and [`guard`] (what every
//! request passes first).

pub mod api;
pub mod console;
pub mod edge;
pub mod guard;
pub mod state;
pub mod stream;

pub use api::app;
pub use state::{state, AppState};
