//! Identity: who a tracker's shopper is. This first part normalises what `identify` carries,
//! so that one person's email or phone matches itself however it was typed. The identity
//! graph and merges (issue 5) build on these types.

mod normalize;

pub use normalize::{Email, Phone, Refused, Region};
