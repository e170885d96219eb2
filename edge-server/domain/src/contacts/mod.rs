//! Contacts: the shoppers behind trackers, and the sheets admins read.
//!
//! - [`fact`] boils an event down to what its contact's aggregate needs.
//! - [`aggregate`] is the per-contact summary the writer keeps current, and the merge of two.
//! - [`sheet`] renders an aggregate as the admin API's contact sheet.
//! - [`patch`] validates and applies an admin's edit.
//! - [`weeks`] counts a contact's activity per week.
//! - [`delivery`] keeps what email and SMS providers report, and the statuses it sets.
//! - [`rfm`] scores purchasers by quintiles and names their segment.
//! - [`clv`] fits the lifetime-value models; [`predict`], a site's fit and a contact's
//!   prediction from it.
//! - [`segment`] is the segments' rule language; [`membership`], what a sheet shows of them;
//!   [`catalogue`], its fields as a rule builder lists them.
//!
//! All of it is pure: the store decides which contact an event belongs to (the identity rules
//! in [`crate::identity`]) and keeps the aggregates in sled.

pub mod aggregate;
pub mod catalogue;
pub mod clv;
pub mod delivery;
pub mod fact;
pub mod membership;
pub mod named;
pub mod orders;
pub mod patch;
pub mod points;
pub mod predict;
pub mod rfm;
pub mod segment;
pub mod sheet;
pub mod weeks;

pub use aggregate::{AdminFields, Confidentiality, Contact, ContactId, Pos};
pub use fact::{Fact, FactKind, IdentifyFact};
pub use named::{Consent, EmailStatus, RfmSegment, SmsStatus, Subscription};
