//! Identity: who a tracker's shopper is.
//!
//! - [`normalize`] makes what `identify` carries comparable: one person's email or phone
//!   matches itself however it was typed.
//! - [`rules`] decides what an identify does to the contacts (identify in place, merge, move
//!   the tracker). The store carries the decision out.

mod normalize;
pub mod rules;

pub use normalize::{Email, Phone, Refused, Region};
pub use rules::{decide, ContactRef, Decision, Owners};
