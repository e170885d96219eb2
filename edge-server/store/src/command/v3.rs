//! Version 3 of the command encoding, read only. Version 4 added `page` to the end of a
//! [`Fact`] (a page view's path and title, for the list's "last page"); everything else is
//! as it was. Version 2 reads through it ([`upgrade`]): its facts are version 3's.

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
pub(super) enum CommandV3 {
    Events(WriteRequestV3),
    Admin(AdminOp),
    RfmCuts { site: String, cuts: Quintiles },
    ClvModels { site: String, models: SiteClv },
}

#[derive(Deserialize)]
pub(super) struct WriteRequestV3 {
    pub site: SiteKey,
    #[serde(with = "super::millis")]
    pub received_at: Timestamp,
    #[serde(with = "super::millis")]
    pub sent_at: Timestamp,
    pub events: Vec<NewEventV3>,
}

#[derive(Deserialize)]
pub(super) struct NewEventV3 {
    pub to: Recipient,
    pub message_id: MessageId,
    pub encoded: Vec<u8>,
    pub type_bit: u32,
    pub fact: FactV3,
}

/// A [`Fact`] as versions 2 and 3 wrote it: without its page.
#[derive(Deserialize)]
pub(super) struct FactV3 {
    pub at: i64,
    pub user_agent: Option<String>,
    pub kind: FactKind,
    pub earned: Option<Earned>,
    pub order: Option<OrderDetail>,
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
    Ok(upgrade(postcard::from_bytes::<CommandV3>(bytes)?))
}

/// A version 3 command as today's: its facts without a page.
pub(super) fn upgrade(c: CommandV3) -> Command {
    match c {
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
    }
}
