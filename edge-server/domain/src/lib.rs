//! Footprint's domain: what a contact is, how identity decides who a shopper is, the segments'
//! rule language and the contact sheet admins read.
//!
//! Pure by construction: this crate depends on no storage engine, no web framework and no
//! clock (`cargo xtask test` fails if it gains sled or actix). The store (`footprint-store`)
//! keeps what it computes; the edge (`footprint-edge`) serves it.

pub mod contacts;
pub mod identity;
