//! Version 3 of the command encoding, read only. Version 4 added `page` to the end of a
//! [`Fact`] (a page view's path and title, for the list's "last page"); everything else is
//! as it was. Version 2 reads its facts through [`FactV3`] too: they did not change between
//! 2 and 3.

use footprint_domain::contacts::fact::{FactKind, OrderDetail};
use footprint_domain::contacts::points::Earned;
use footprint_domain::contacts::predict::SiteClv;
use footprint_domain::contacts::rfm::Quintiles;
use footprint_domain::contacts::Fact;
use footprint_protocol::{MessageId, SiteKey, Timestamp};
use serde::Deserialize;

use super::Command;
use crate::{AdminOp, NewEvent, Recipient, WriteRequest};

#[derive(Deserialize)]
enum CommandV3 {
    Events(WriteRequestV3),
    Admin(AdminOp),
    RfmCuts { site: String, cuts: Quintiles },
    ClvModels { site: String, models: SiteClv },
}

#[derive(Deserialize)]
struct WriteRequestV3 {
    site: SiteKey,
    #[serde(with = "super::millis")]
    received_at: Timestamp,
    #[serde(with = "super::millis")]
    sent_at: Timestamp,
    events: Vec<NewEventV3>,
}

#[derive(Deserialize)]
struct NewEventV3 {
    to: Recipient,
    message_id: MessageId,
    encoded: Vec<u8>,
    type_bit: u32,
    fact: FactV3,
}

/// A [`Fact`] as versions 2 and 3 wrote it: without its page.
#[derive(Deserialize)]
pub(super) struct FactV3 {
    at: i64,
    user_agent: Option<String>,
    kind: FactKind,
    earned: Option<Earned>,
    order: Option<OrderDetail>,
}

impl From<FactV3> for Fact {
    fn from(f: FactV3) -> Fact {
        Fact {
            at: f.at,
            user_agent: f.user_agent,
            kind: f.kind,
            earned: f.earned,
            order: f.order,
            page: None,
        }
    }
}

pub(super) fn decode(bytes: &[u8]) -> Result<Command, postcard::Error> {
    Ok(match postcard::from_bytes::<CommandV3>(bytes)? {
        CommandV3::Events(r) => Command::Events(WriteRequest {
            site: r.site,
            received_at: r.received_at,
            sent_at: r.sent_at,
            events: r
                .events
                .into_iter()
                .map(|e| NewEvent {
                    to: e.to,
                    message_id: e.message_id,
                    encoded: e.encoded,
                    type_bit: e.type_bit,
                    fact: e.fact.into(),
                })
                .collect(),
        }),
        CommandV3::Admin(op) => Command::Admin(op),
        CommandV3::RfmCuts { site, cuts } => Command::RfmCuts { site, cuts },
        CommandV3::ClvModels { site, models } => Command::ClvModels { site, models },
    })
}
