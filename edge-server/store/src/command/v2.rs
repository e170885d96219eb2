//! Version 2 of the command encoding, read only. Version 3 made an event's tracker id a
//! [`Recipient`](crate::Recipient) (a tracker, or a contact a shop's server names); in
//! version 2 every event had a tracker. Everything else is as it was, so a version 2
//! command reads as the version 3 command it would have been, and [`v3`](super::v3) takes
//! it from there.

use footprint_domain::contacts::predict::SiteClv;
use footprint_domain::contacts::rfm::Quintiles;
use footprint_protocol::{MessageId, SiteKey, Timestamp, TrackerId};
use serde::Deserialize;

use super::v3::{self, CommandV3, FactV3, NewEventV3, WriteRequestV3};
use super::Command;
use crate::{AdminOp, Recipient};

#[derive(Deserialize)]
enum CommandV2 {
    Events(WriteRequestV2),
    Admin(AdminOp),
    RfmCuts { site: String, cuts: Quintiles },
    ClvModels { site: String, models: SiteClv },
}

#[derive(Deserialize)]
struct WriteRequestV2 {
    site: SiteKey,
    #[serde(with = "super::millis")]
    received_at: Timestamp,
    #[serde(with = "super::millis")]
    sent_at: Timestamp,
    events: Vec<NewEventV2>,
}

#[derive(Deserialize)]
struct NewEventV2 {
    tracker_id: TrackerId,
    message_id: MessageId,
    encoded: Vec<u8>,
    type_bit: u32,
    fact: FactV3,
}

pub(super) fn decode(bytes: &[u8]) -> Result<Command, postcard::Error> {
    let v3 = match postcard::from_bytes::<CommandV2>(bytes)? {
        CommandV2::Events(r) => CommandV3::Events(WriteRequestV3 {
            site: r.site,
            received_at: r.received_at,
            sent_at: r.sent_at,
            events: r
                .events
                .into_iter()
                .map(|e| NewEventV3 {
                    to: Recipient::Tracker(e.tracker_id),
                    message_id: e.message_id,
                    encoded: e.encoded,
                    type_bit: e.type_bit,
                    fact: e.fact,
                })
                .collect(),
        }),
        CommandV2::Admin(op) => CommandV3::Admin(op),
        CommandV2::RfmCuts { site, cuts } => CommandV3::RfmCuts { site, cuts },
        CommandV2::ClvModels { site, models } => CommandV3::ClvModels { site, models },
    };
    Ok(v3::upgrade(v3))
}
