//! Version 2 of the command encoding, read only. Version 3 made an event's tracker id a
//! [`Recipient`](crate::Recipient) (a tracker, or a contact a shop's server names); in
//! version 2 every event had a tracker. Everything else is as it was, and its facts read
//! as version 3's ([`FactV3`]).

use footprint_domain::contacts::predict::SiteClv;
use footprint_domain::contacts::rfm::Quintiles;
use footprint_protocol::{MessageId, SiteKey, Timestamp, TrackerId};
use serde::Deserialize;

use super::v3::FactV3;
use super::Command;
use crate::{AdminOp, NewEvent, Recipient, WriteRequest};

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
    Ok(match postcard::from_bytes::<CommandV2>(bytes)? {
        CommandV2::Events(r) => Command::Events(WriteRequest {
            site: r.site,
            received_at: r.received_at,
            sent_at: r.sent_at,
            events: r
                .events
                .into_iter()
                .map(|e| NewEvent {
                    to: Recipient::Tracker(e.tracker_id),
                    message_id: e.message_id,
                    encoded: e.encoded,
                    type_bit: e.type_bit,
                    fact: e.fact.into(),
                })
                .collect(),
        }),
        CommandV2::Admin(op) => Command::Admin(op),
        CommandV2::RfmCuts { site, cuts } => Command::RfmCuts { site, cuts },
        CommandV2::ClvModels { site, models } => Command::ClvModels { site, models },
    })
}
