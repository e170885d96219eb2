//! Version 2 of the command encoding, read only. Version 3 made an event's tracker id a
//! [`Recipient`](crate::Recipient) (a tracker, or a contact a shop's server names); in
//! version 2 every event had a tracker. Everything else is as it was, so a version 2
//! command reads as the version 3 command it would have been, and [`v3`](super::v3) takes
//! it from there. Version 1 comes through here too ([`upgrade`]).

use footprint_domain::contacts::predict::SiteClv;
use footprint_domain::contacts::rfm::Quintiles;
use footprint_protocol::{MessageId, SiteKey, Timestamp, TrackerId};
use serde::Deserialize;

use super::v3::{self, CommandV3, FactV3, NewEventV3, WriteRequestV3};
use super::Command;
use crate::{AdminOp, Recipient};

#[derive(Deserialize)]
pub(super) enum CommandV2 {
    Events(WriteRequestV2),
    Admin(AdminOp),
    RfmCuts { site: String, cuts: Quintiles },
    ClvModels { site: String, models: SiteClv },
}

#[derive(Deserialize)]
pub(super) struct WriteRequestV2 {
    pub site: SiteKey,
    #[serde(with = "super::millis")]
    pub received_at: Timestamp,
    #[serde(with = "super::millis")]
    pub sent_at: Timestamp,
    pub events: Vec<NewEventV2>,
}

#[derive(Deserialize)]
pub(super) struct NewEventV2 {
    pub tracker_id: TrackerId,
    pub message_id: MessageId,
    pub encoded: Vec<u8>,
    pub type_bit: u32,
    pub fact: FactV3,
}

pub(super) fn decode(bytes: &[u8]) -> Result<Command, postcard::Error> {
    Ok(upgrade(postcard::from_bytes::<CommandV2>(bytes)?))
}

/// A version 2 command as today's, through the version 3 command it would have been.
pub(super) fn upgrade(c: CommandV2) -> Command {
    let v3 = match c {
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
    v3::upgrade(v3)
}
