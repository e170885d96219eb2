//! Version 1 of the command encoding, read only: a log written before version 2 still
//! replays. Version 2 added `tags`, `reference` and `points_adjustment` to the end of
//! [`Patch`], `earned` and `order` to the end of a [`Fact`], the `Refund` fact kind, and
//! the admin kinds `Tag`, `AddNote` and
//! `DeleteNote`; everything else is as it was. These shadows decode the old bytes into the
//! version 2 command they would have been, the new fields left empty, and
//! [`v2::upgrade`](super::v2::upgrade) takes it from there.

use footprint_domain::contacts::fact::FactKind;
use footprint_domain::contacts::patch::Patch;
use footprint_domain::contacts::predict::SiteClv;
use footprint_domain::contacts::rfm::Quintiles;
use footprint_domain::contacts::segment::Segment;
use footprint_domain::contacts::{Confidentiality, ContactId};
use footprint_domain::identity::{Email, Phone};
use footprint_protocol::{MessageId, SiteKey, Timestamp, TrackerId};
use serde::Deserialize;

use super::v2::{self, CommandV2, NewEventV2, WriteRequestV2};
use super::v3::FactV3;
use super::Command;
use crate::graph::import::ImportRow;
use crate::{AdminKind, AdminOp};

#[derive(Deserialize)]
enum CommandV1 {
    Events(WriteRequestV1),
    Admin(AdminOpV1),
    RfmCuts { site: String, cuts: Quintiles },
    ClvModels { site: String, models: SiteClv },
}

#[derive(Deserialize)]
struct WriteRequestV1 {
    site: SiteKey,
    #[serde(with = "super::millis")]
    received_at: Timestamp,
    #[serde(with = "super::millis")]
    sent_at: Timestamp,
    events: Vec<NewEventV1>,
}

#[derive(Deserialize)]
struct NewEventV1 {
    tracker_id: TrackerId,
    message_id: MessageId,
    encoded: Vec<u8>,
    type_bit: u32,
    fact: FactV1,
}

#[derive(Deserialize)]
struct FactV1 {
    at: i64,
    user_agent: Option<String>,
    kind: FactKind,
}

impl From<WriteRequestV1> for WriteRequestV2 {
    fn from(r: WriteRequestV1) -> WriteRequestV2 {
        WriteRequestV2 {
            site: r.site,
            received_at: r.received_at,
            sent_at: r.sent_at,
            events: r
                .events
                .into_iter()
                .map(|e| NewEventV2 {
                    tracker_id: e.tracker_id,
                    message_id: e.message_id,
                    encoded: e.encoded,
                    type_bit: e.type_bit,
                    fact: FactV3 {
                        at: e.fact.at,
                        user_agent: e.fact.user_agent,
                        kind: e.fact.kind,
                        earned: None,
                        order: None,
                    },
                })
                .collect(),
        }
    }
}

#[derive(Deserialize)]
struct AdminOpV1 {
    kind: AdminKindV1,
    who: String,
    clearance: Confidentiality,
    at: i64,
}

#[derive(Deserialize)]
enum AdminKindV1 {
    Patch {
        id: ContactId,
        patch: Box<PatchV1>,
    },
    Merge {
        into: ContactId,
        from: ContactId,
    },
    CreateSegment(Box<Segment>),
    UpdateSegment {
        id: u64,
        name: Option<String>,
        description: Option<String>,
        rule: Option<String>,
    },
    DeleteSegment(u64),
    Members {
        segment: u64,
        contacts: Vec<ContactId>,
        add: bool,
    },
    Suspend(Vec<ContactId>),
    Erase(Vec<ContactId>),
    Import {
        site: String,
        rows: Vec<ImportRowV1>,
        create_only: bool,
    },
}

#[derive(Deserialize)]
struct ImportRowV1 {
    row: u64,
    patch: PatchV1,
}

type Edit<T> = Option<Option<T>>;

#[derive(Deserialize)]
struct PatchV1 {
    email: Edit<Email>,
    phone: Edit<Phone>,
    first_name: Edit<String>,
    last_name: Edit<String>,
    birth_date: Edit<String>,
    custom: std::collections::BTreeMap<String, Option<String>>,
    email_status: Option<footprint_domain::contacts::EmailStatus>,
    newsletter: Option<footprint_domain::contacts::Subscription>,
    sms_status: Option<footprint_domain::contacts::SmsStatus>,
    sms_subscription: Option<footprint_domain::contacts::Subscription>,
    consent: Option<footprint_protocol::ConsentState>,
    confidentiality: Option<Confidentiality>,
    valid_until: Edit<i64>,
}

impl From<PatchV1> for Patch {
    fn from(p: PatchV1) -> Patch {
        Patch {
            email: p.email,
            phone: p.phone,
            first_name: p.first_name,
            last_name: p.last_name,
            birth_date: p.birth_date,
            custom: p.custom,
            email_status: p.email_status,
            newsletter: p.newsletter,
            sms_status: p.sms_status,
            sms_subscription: p.sms_subscription,
            consent: p.consent,
            confidentiality: p.confidentiality,
            valid_until: p.valid_until,
            ..Patch::default()
        }
    }
}

impl From<AdminKindV1> for AdminKind {
    fn from(k: AdminKindV1) -> AdminKind {
        match k {
            AdminKindV1::Patch { id, patch } => AdminKind::Patch {
                id,
                patch: Box::new(Patch::from(*patch)),
            },
            AdminKindV1::Merge { into, from } => AdminKind::Merge { into, from },
            AdminKindV1::CreateSegment(s) => AdminKind::CreateSegment(s),
            AdminKindV1::UpdateSegment {
                id,
                name,
                description,
                rule,
            } => AdminKind::UpdateSegment {
                id,
                name,
                description,
                rule,
            },
            AdminKindV1::DeleteSegment(id) => AdminKind::DeleteSegment(id),
            AdminKindV1::Members {
                segment,
                contacts,
                add,
            } => AdminKind::Members {
                segment,
                contacts,
                add,
            },
            AdminKindV1::Suspend(ids) => AdminKind::Suspend(ids),
            AdminKindV1::Erase(ids) => AdminKind::Erase(ids),
            AdminKindV1::Import {
                site,
                rows,
                create_only,
            } => AdminKind::Import {
                site,
                rows: rows
                    .into_iter()
                    .map(|r| ImportRow {
                        row: r.row,
                        patch: r.patch.into(),
                    })
                    .collect(),
                create_only,
            },
        }
    }
}

/// A version 1 command's postcard bytes (after the version byte) as today's command.
pub(super) fn decode(bytes: &[u8]) -> Result<Command, postcard::Error> {
    let v2 = match postcard::from_bytes::<CommandV1>(bytes)? {
        CommandV1::Events(req) => CommandV2::Events(req.into()),
        CommandV1::Admin(op) => CommandV2::Admin(AdminOp {
            kind: op.kind.into(),
            who: op.who,
            clearance: op.clearance,
            at: op.at,
        }),
        CommandV1::RfmCuts { site, cuts } => CommandV2::RfmCuts { site, cuts },
        CommandV1::ClvModels { site, models } => CommandV2::ClvModels { site, models },
    };
    Ok(v2::upgrade(v2))
}
