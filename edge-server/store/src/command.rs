//! Every change the store applies is a [`Command`]: a value with a stable, versioned binary
//! encoding, applied by one deterministic function of (state, command, log position).
//!
//! The writer thread of single-node mode is one host of that function (`writer.rs`); cluster
//! mode's projectors, reading the commands off a replicated log, are another. Both end with
//! the same records, byte for byte, because applying a command:
//!
//! - reads no clock: every time it writes (an event's arrival, an edit's, an erasure's) is in
//!   the command, stamped by the edge that accepted it;
//! - allocates ids (contacts, chunks, history entries, segments) from counters kept in the
//!   state, which only commands advance, in log order;
//! - seals with synthetic nonces (`vault.rs`), so a sealed value depends only on the contact's
//!   key and the plaintext;
//! - iterates only ordered collections when it writes.
//!
//! Host-only records are not part of the state: the readiness probe, the pending-erasure
//! marker that tells the host to compact, and the shred markers of keys being destroyed
//! ([`crate::keys::is_host_only`]).
//!
//! # Encoding
//!
//! One version byte ([`VERSION`]), then the command in postcard's wire format, which postcard
//! 1.x specifies and keeps stable. Enums are encoded by variant index and structs by field
//! order, so adding a variant at the end is compatible and anything else is a new version: the
//! test `the_encoding_of_version_1_is_pinned` fails on any change of the bytes. A decoder keeps
//! reading every version a log may still hold.

use footprint_domain::contacts::predict::SiteClv;
use footprint_domain::contacts::rfm::Quintiles;
use serde::{Deserialize, Serialize};

use crate::{AdminOp, Done, Outcome, Refusal, WriteRequest};

mod v1;
mod v2;
mod v3;

/// The encoding version this build writes and the newest it reads. Versions 1 to 3 are read
/// too ([`v1`], [`v2`], [`v3`]).
pub const VERSION: u8 = 4;

/// A change to the store's state.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Command {
    /// The accepted events of one ingest request: deduplicated, folded into their contacts
    /// and stored.
    Events(WriteRequest),
    /// An admin's change: an edit, a merge, a segment change, an import chunk, an erasure.
    Admin(AdminOp),
    /// A site's RFM cut points, computed off the writer from its purchasers' inputs.
    RfmCuts { site: String, cuts: Quintiles },
    /// A site's CLV models, fitted off the writer from its purchasers' histories.
    ClvModels { site: String, models: SiteClv },
}

/// What applying a command did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Effect {
    /// What became of each event, in order.
    Events(Vec<Outcome>),
    /// What the admin's change did, or why it was refused (then nothing changed).
    Admin(Result<Done, Refusal>),
    Stored,
    /// Its position was at or below the last one applied: a redelivery, skipped.
    AlreadyApplied,
}

impl Effect {
    /// The events it stored or turned away, for the group commit's metrics.
    pub(crate) fn events(&self) -> usize {
        match self {
            Effect::Events(o) => o.len(),
            _ => 0,
        }
    }
}

/// A command as a store applied it: its log position and its encoding (`Store::tap`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recorded {
    pub position: u64,
    pub command: Vec<u8>,
}

/// Why bytes are not a command.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    #[error("an empty command")]
    Empty,
    #[error(
        "command encoding version {0}; this build reads up to {VERSION}: upgrade it before it \
         consumes this log"
    )]
    Version(u8),
    #[error("a damaged command: {0}")]
    Damaged(String),
}

impl Command {
    /// The version byte, then postcard.
    pub fn encode(&self) -> Vec<u8> {
        // Serialising into a Vec fails only for types postcard cannot express (maps with
        // non-string keys are fine; sequences of unknown length are not), which no command has.
        postcard::to_extend(self, vec![VERSION]).unwrap_or_else(|_| vec![VERSION])
    }

    pub fn decode(bytes: &[u8]) -> Result<Command, DecodeError> {
        match bytes.split_first() {
            None => Err(DecodeError::Empty),
            Some((&VERSION, rest)) => {
                postcard::from_bytes(rest).map_err(|e| DecodeError::Damaged(e.to_string()))
            }
            Some((1, rest)) => v1::decode(rest).map_err(|e| DecodeError::Damaged(e.to_string())),
            Some((2, rest)) => v2::decode(rest).map_err(|e| DecodeError::Damaged(e.to_string())),
            Some((3, rest)) => v3::decode(rest).map_err(|e| DecodeError::Damaged(e.to_string())),
            Some((&v, _)) => Err(DecodeError::Version(v)),
        }
    }

    /// How many events' worth of work it is, for the size of a group commit.
    pub(crate) fn weight(&self) -> usize {
        match self {
            Command::Events(req) => req.events.len(),
            Command::Admin(op) => op.kind.weight(),
            Command::RfmCuts { .. } | Command::ClvModels { .. } => 1,
        }
    }

    /// Whether it must run alone, after every earlier command is applied.
    pub(crate) fn exclusive(&self) -> bool {
        matches!(self, Command::Admin(op) if op.kind.exclusive())
    }
}

/// Timestamps inside commands: ms since the epoch, a zig-zag varint, rather than the JSON
/// form's RFC 3339 text.
pub(crate) mod millis {
    use footprint_protocol::Timestamp;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(t: &Timestamp, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_i64(t.as_millis())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Timestamp, D::Error> {
        let ms = i64::deserialize(d)?;
        Timestamp::from_millis(ms).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Address, AdminKind, EventFields, ImportRow, NewEvent, Recipient, StoredKind};
    use footprint_domain::contacts::patch::Patch;
    use footprint_domain::contacts::segment::Segment;
    use footprint_domain::contacts::{Confidentiality, ContactId, Fact, FactKind, IdentifyFact};
    use footprint_domain::identity::{Email, Phone};
    use footprint_protocol::{EventType, MessageId, SiteKey, Timestamp, TrackerId};

    /// One command of every kind, with every optional part present somewhere.
    fn samples() -> Vec<Command> {
        let fields = EventFields {
            message_id: "m-1".into(),
            kind: StoredKind::Event(EventType::Identify),
            timestamp: 1_795_168_800_000,
            client_timestamp: 1_795_168_799_000,
            context_json: "{}".into(),
            properties_json: r#"{"email":"ana@example.com"}"#.into(),
        };
        let fact = Fact {
            at: 1_795_168_800_000,
            user_agent: Some("Firefox".into()),
            kind: FactKind::Identify(IdentifyFact {
                email: Some(Email::normalize("ana@example.com").unwrap()),
                phone: Some(Phone::normalize("+34600123456", None).unwrap()),
                first_name: Some("Ana".into()),
                custom: vec![("size".into(), "42".into())],
                ..IdentifyFact::default()
            }),
            earned: None,
            order: None,
            page: None,
        };
        let scored = NewEvent::new(
            TrackerId::new("t-1").unwrap(),
            MessageId::new("m-2").unwrap(),
            &fields,
            Fact {
                earned: Some(footprint_domain::contacts::points::Earned {
                    points: 2.5,
                    half_life_days: Some(30.0),
                }),
                order: Some(footprint_domain::contacts::fact::OrderDetail {
                    items: vec![footprint_domain::contacts::fact::Line {
                        product_id: "p1".into(),
                        name: "Shirt".into(),
                        price: 199_900,
                        quantity: 2,
                        currency: "EUR".into(),
                    }],
                    source: footprint_domain::contacts::fact::Source::Server,
                }),
                ..fact.clone()
            },
        );
        let refunded = NewEvent::new(
            TrackerId::new("t-1").unwrap(),
            MessageId::new("m-3").unwrap(),
            &fields,
            Fact {
                kind: FactKind::Refund {
                    order_id: "o-1".into(),
                    amount: Some(50_000),
                    currency: Some("EUR".into()),
                    reason: Some("damaged".into()),
                },
                ..fact.clone()
            },
        );
        use footprint_domain::contacts::delivery::{Channel, Signal};
        let delivery = |channel, signal| Fact {
            kind: FactKind::Delivery { channel, signal },
            ..fact.clone()
        };
        let bounce = Signal::Bounced {
            hard: true,
            reason: Some("no such user".into()),
        };
        let bounced = NewEvent::new(
            Recipient::Contact(Address::Email(Email::normalize("ana@example.com").unwrap())),
            MessageId::new("m-4").unwrap(),
            &fields,
            delivery(Channel::Email, bounce),
        );
        let by_phone = NewEvent::new(
            Recipient::Contact(Address::Phone(
                Phone::normalize("+34600123456", None).unwrap(),
            )),
            MessageId::new("m-5").unwrap(),
            &fields,
            delivery(Channel::Sms, Signal::Unsubscribed),
        );
        let by_id = NewEvent::new(
            Recipient::Contact(Address::Id(ContactId::new(7).unwrap())),
            MessageId::new("m-6").unwrap(),
            &fields,
            delivery(Channel::Email, Signal::Opened),
        );
        let viewed = NewEvent::new(
            TrackerId::new("t-1").unwrap(),
            MessageId::new("m-7").unwrap(),
            &fields,
            Fact {
                kind: FactKind::PageView,
                page: Some(footprint_domain::contacts::fact::PageSeen {
                    path: "/shoes".into(),
                    title: Some("Shoes".into()),
                }),
                ..fact.clone()
            },
        );
        let event = NewEvent::new(
            TrackerId::new("t-1").unwrap(),
            MessageId::new("m-1").unwrap(),
            &fields,
            fact,
        );
        let op = |kind| {
            Command::Admin(AdminOp {
                kind,
                who: "vera".into(),
                clearance: Confidentiality::Restricted,
                at: 1_795_168_900_000,
            })
        };
        let patch = Patch {
            last_name: Some(Some("Ruiz".into())),
            birth_date: Some(None),
            newsletter: Some(footprint_domain::contacts::Subscription::Subscribed),
            ..Patch::default()
        };
        vec![
            Command::Events(WriteRequest {
                site: SiteKey::new("shop").unwrap(),
                received_at: Timestamp::from_millis(1_795_168_800_500).unwrap(),
                sent_at: Timestamp::from_millis(1_795_168_800_400).unwrap(),
                events: vec![event],
            }),
            op(AdminKind::Patch {
                id: ContactId::new(7).unwrap(),
                patch: Box::new(patch.clone()),
            }),
            op(AdminKind::Merge {
                into: ContactId::new(7).unwrap(),
                from: ContactId::new(9).unwrap(),
            }),
            op(AdminKind::CreateSegment(Box::new(Segment {
                id: 0,
                name: "VIP".into(),
                description: String::new(),
                rule: None,
                created_at: 1,
                created_by: "vera".into(),
                updated_at: 1,
            }))),
            op(AdminKind::UpdateSegment {
                id: 3,
                name: None,
                description: Some("d".into()),
                rule: None,
            }),
            op(AdminKind::DeleteSegment(3)),
            op(AdminKind::Members {
                segment: 3,
                contacts: vec![ContactId::new(7).unwrap()],
                add: true,
            }),
            op(AdminKind::Suspend(vec![ContactId::new(7).unwrap()])),
            op(AdminKind::Erase(vec![ContactId::new(9).unwrap()])),
            op(AdminKind::Import {
                site: "shop".into(),
                rows: vec![ImportRow { row: 2, patch }],
                create_only: false,
            }),
            Command::RfmCuts {
                site: "shop".into(),
                cuts: Quintiles {
                    computed_at: 1_795_168_900_000,
                    contacts: 5,
                    recency_days: [1, 2, 3, 4],
                    frequency: [1, 1, 2, 3],
                    monetary: [10_000, 20_000, 30_000, 1_000_000_000_000_000],
                },
            },
            // Version 2 from here on.
            Command::ClvModels {
                site: "shop".into(),
                models: clv_sample(),
            },
            op(AdminKind::Patch {
                id: ContactId::new(7).unwrap(),
                patch: Box::new(Patch {
                    tags: Some(vec!["vip".into(), "b2b".into()]),
                    reference: Some(Some("CRM-42".into())),
                    points_adjustment: Some(-5),
                    ..Patch::default()
                }),
            }),
            op(AdminKind::Tag {
                contacts: vec![ContactId::new(7).unwrap()],
                tag: "vip".into(),
                add: true,
            }),
            op(AdminKind::AddNote {
                id: ContactId::new(7).unwrap(),
                text: "called back".into(),
            }),
            op(AdminKind::DeleteNote {
                id: ContactId::new(7).unwrap(),
                note: 1_795_168_900_000,
            }),
            Command::Events(WriteRequest {
                site: SiteKey::new("shop").unwrap(),
                received_at: Timestamp::from_millis(1_795_168_800_500).unwrap(),
                sent_at: Timestamp::from_millis(1_795_168_800_400).unwrap(),
                events: vec![scored, refunded],
            }),
            // Version 3 from here on.
            Command::Events(WriteRequest {
                site: SiteKey::new("shop").unwrap(),
                received_at: Timestamp::from_millis(1_795_168_800_500).unwrap(),
                sent_at: Timestamp::from_millis(1_795_168_800_400).unwrap(),
                events: vec![bounced, by_phone, by_id],
            }),
            // Version 4 from here on.
            Command::Events(WriteRequest {
                site: SiteKey::new("shop").unwrap(),
                received_at: Timestamp::from_millis(1_795_168_800_500).unwrap(),
                sent_at: Timestamp::from_millis(1_795_168_800_400).unwrap(),
                events: vec![viewed],
            }),
        ]
    }

    fn clv_sample() -> footprint_domain::contacts::predict::SiteClv {
        use footprint_domain::contacts::clv::{BgNbd, GammaGamma};
        use footprint_domain::contacts::predict::{CurrencyModel, Outcome, SiteClv};
        SiteClv {
            fitted_at: 1_795_168_900_000,
            currencies: [
                (
                    "EUR".to_owned(),
                    CurrencyModel {
                        customers: 2357,
                        repeat_customers: 946,
                        outcome: Outcome::Fitted {
                            bg_nbd: BgNbd {
                                r: 0.25,
                                alpha: 4.5,
                                a: 0.75,
                                b: 2.5,
                                log_likelihood: -9582.5,
                            },
                            gamma_gamma: GammaGamma {
                                p: 6.25,
                                q: 3.75,
                                gamma: 15.5,
                            },
                        },
                    },
                ),
                (
                    "USD".to_owned(),
                    CurrencyModel {
                        customers: 3,
                        repeat_customers: 1,
                        outcome: Outcome::NotFitted("too few".into()),
                    },
                ),
            ]
            .into(),
        }
    }

    #[test]
    fn every_kind_round_trips() {
        for c in samples() {
            let bytes = c.encode();
            assert_eq!(bytes[0], VERSION);
            assert_eq!(Command::decode(&bytes), Ok(c));
        }
    }

    /// The bytes of version 4. When this fails, the encoding changed: a log written before
    /// the change no longer reads. Bump [`VERSION`] and keep a decoder for version 4 instead,
    /// as [`v1`] to [`v3`] are kept.
    #[test]
    fn the_encoding_of_version_4_is_pinned() {
        let all: Vec<String> = samples().iter().map(|c| hex::encode(c.encode())).collect();
        assert_eq!(all.join("\n"), PINNED.trim());
    }

    /// A version 3 log still reads: its facts have no page.
    #[test]
    fn version_3_still_reads() {
        let old: Vec<Command> = PINNED_V3
            .trim()
            .lines()
            .map(|l| Command::decode(&hex::decode(l).unwrap()).unwrap())
            .collect();
        assert_eq!(old[..], samples()[..old.len()]);
    }

    /// A version 2 log still reads: its events are every one a tracker's.
    #[test]
    fn version_2_still_reads() {
        let old: Vec<Command> = PINNED_V2
            .trim()
            .lines()
            .map(|l| Command::decode(&hex::decode(l).unwrap()).unwrap())
            .collect();
        assert_eq!(old[..], samples()[..old.len()]);
    }

    /// A version 1 log still reads: the commands it pinned decode to today's, with the new
    /// fields empty.
    #[test]
    fn version_1_still_reads() {
        let old: Vec<Command> = PINNED_V1
            .trim()
            .lines()
            .map(|l| Command::decode(&hex::decode(l).unwrap()).unwrap())
            .collect();
        assert_eq!(old[..], samples()[..old.len()]);
    }

    const PINNED: &str = "
04000473686f70e8bbb086bf68a0bab086bf68010003742d31036d2d3138036d2d31086964656e7469667980b4b086bf68b0a4b086bf68027b7d1b7b22656d61696c223a22616e61406578616d706c652e636f6d227d800180b4b086bf68010746697265666f7806010f616e61406578616d706c652e636f6d010c2b33343630303132333435360103416e610000010473697a65023432000000
040100070000000101045275697a01000000010a737562736372696265640000000000000000047665726101c0cebc86bf68
0401010709047665726101c0cebc86bf68
0401020003564950000002047665726102047665726101c0cebc86bf68
040103030001016400047665726101c0cebc86bf68
04010403047665726101c0cebc86bf68
04010503010701047665726101c0cebc86bf68
0401060107047665726101c0cebc86bf68
0401070109047665726101c0cebc86bf68
0401080473686f7001020000000101045275697a01000000010a73756273637269626564000000000000000000047665726101c0cebc86bf68
04020473686f70c0cebc86bf68050204060801010203a09c01c0b802e0d4038080b4ccd4dfc603
04030473686f70c0cebc86bf680203455552b512b20700000000000000d03f0000000000001240000000000000e83f00000000000004400000000040b7c2c000000000000019400000000000000e400000000000002f400355534403010107746f6f20666577
04010007000000000000000000000000000102037669700362326201010643524d2d34320109047665726101c0cebc86bf68
04010901070376697001047665726101c0cebc86bf68
04010a070b63616c6c6564206261636b047665726101c0cebc86bf68
04010b07c0cebc86bf68047665726101c0cebc86bf68
04000473686f70e8bbb086bf68a0bab086bf68020003742d31036d2d3238036d2d31086964656e7469667980b4b086bf68b0a4b086bf68027b7d1b7b22656d61696c223a22616e61406578616d706c652e636f6d227d800180b4b086bf68010746697265666f7806010f616e61406578616d706c652e636f6d010c2b33343630303132333435360103416e610000010473697a65023432010000000000000440010000000000003e400101027031055368697274b8b318020345555201000003742d31036d2d3338036d2d31086964656e7469667980b4b086bf68b0a4b086bf68027b7d1b7b22656d61696c223a22616e61406578616d706c652e636f6d227d800180b4b086bf68010746697265666f780d036f2d3101a08d060103455552010764616d61676564000000
04000473686f70e8bbb086bf68a0bab086bf680301000f616e61406578616d706c652e636f6d036d2d3438036d2d31086964656e7469667980b4b086bf68b0a4b086bf68027b7d1b7b22656d61696c223a22616e61406578616d706c652e636f6d227d800180b4b086bf68010746697265666f780e000401010c6e6f2073756368207573657200000001010c2b3334363030313233343536036d2d3538036d2d31086964656e7469667980b4b086bf68b0a4b086bf68027b7d1b7b22656d61696c223a22616e61406578616d706c652e636f6d227d800180b4b086bf68010746697265666f780e0106000000010207036d2d3638036d2d31086964656e7469667980b4b086bf68b0a4b086bf68027b7d1b7b22656d61696c223a22616e61406578616d706c652e636f6d227d800180b4b086bf68010746697265666f780e0002000000
04000473686f70e8bbb086bf68a0bab086bf68010003742d31036d2d3738036d2d31086964656e7469667980b4b086bf68b0a4b086bf68027b7d1b7b22656d61696c223a22616e61406578616d706c652e636f6d227d800180b4b086bf68010746697265666f7800000001062f73686f6573010553686f6573
";

    const PINNED_V3: &str = "
03000473686f70e8bbb086bf68a0bab086bf68010003742d31036d2d3138036d2d31086964656e7469667980b4b086bf68b0a4b086bf68027b7d1b7b22656d61696c223a22616e61406578616d706c652e636f6d227d800180b4b086bf68010746697265666f7806010f616e61406578616d706c652e636f6d010c2b33343630303132333435360103416e610000010473697a650234320000
030100070000000101045275697a01000000010a737562736372696265640000000000000000047665726101c0cebc86bf68
0301010709047665726101c0cebc86bf68
0301020003564950000002047665726102047665726101c0cebc86bf68
030103030001016400047665726101c0cebc86bf68
03010403047665726101c0cebc86bf68
03010503010701047665726101c0cebc86bf68
0301060107047665726101c0cebc86bf68
0301070109047665726101c0cebc86bf68
0301080473686f7001020000000101045275697a01000000010a73756273637269626564000000000000000000047665726101c0cebc86bf68
03020473686f70c0cebc86bf68050204060801010203a09c01c0b802e0d4038080b4ccd4dfc603
03030473686f70c0cebc86bf680203455552b512b20700000000000000d03f0000000000001240000000000000e83f00000000000004400000000040b7c2c000000000000019400000000000000e400000000000002f400355534403010107746f6f20666577
03010007000000000000000000000000000102037669700362326201010643524d2d34320109047665726101c0cebc86bf68
03010901070376697001047665726101c0cebc86bf68
03010a070b63616c6c6564206261636b047665726101c0cebc86bf68
03010b07c0cebc86bf68047665726101c0cebc86bf68
03000473686f70e8bbb086bf68a0bab086bf68020003742d31036d2d3238036d2d31086964656e7469667980b4b086bf68b0a4b086bf68027b7d1b7b22656d61696c223a22616e61406578616d706c652e636f6d227d800180b4b086bf68010746697265666f7806010f616e61406578616d706c652e636f6d010c2b33343630303132333435360103416e610000010473697a65023432010000000000000440010000000000003e400101027031055368697274b8b3180203455552010003742d31036d2d3338036d2d31086964656e7469667980b4b086bf68b0a4b086bf68027b7d1b7b22656d61696c223a22616e61406578616d706c652e636f6d227d800180b4b086bf68010746697265666f780d036f2d3101a08d060103455552010764616d616765640000
03000473686f70e8bbb086bf68a0bab086bf680301000f616e61406578616d706c652e636f6d036d2d3438036d2d31086964656e7469667980b4b086bf68b0a4b086bf68027b7d1b7b22656d61696c223a22616e61406578616d706c652e636f6d227d800180b4b086bf68010746697265666f780e000401010c6e6f20737563682075736572000001010c2b3334363030313233343536036d2d3538036d2d31086964656e7469667980b4b086bf68b0a4b086bf68027b7d1b7b22656d61696c223a22616e61406578616d706c652e636f6d227d800180b4b086bf68010746697265666f780e01060000010207036d2d3638036d2d31086964656e7469667980b4b086bf68b0a4b086bf68027b7d1b7b22656d61696c223a22616e61406578616d706c652e636f6d227d800180b4b086bf68010746697265666f780e00020000
";

    const PINNED_V2: &str = "
02000473686f70e8bbb086bf68a0bab086bf680103742d31036d2d3138036d2d31086964656e7469667980b4b086bf68b0a4b086bf68027b7d1b7b22656d61696c223a22616e61406578616d706c652e636f6d227d800180b4b086bf68010746697265666f7806010f616e61406578616d706c652e636f6d010c2b33343630303132333435360103416e610000010473697a650234320000
020100070000000101045275697a01000000010a737562736372696265640000000000000000047665726101c0cebc86bf68
0201010709047665726101c0cebc86bf68
0201020003564950000002047665726102047665726101c0cebc86bf68
020103030001016400047665726101c0cebc86bf68
02010403047665726101c0cebc86bf68
02010503010701047665726101c0cebc86bf68
0201060107047665726101c0cebc86bf68
0201070109047665726101c0cebc86bf68
0201080473686f7001020000000101045275697a01000000010a73756273637269626564000000000000000000047665726101c0cebc86bf68
02020473686f70c0cebc86bf68050204060801010203a09c01c0b802e0d4038080b4ccd4dfc603
02030473686f70c0cebc86bf680203455552b512b20700000000000000d03f0000000000001240000000000000e83f00000000000004400000000040b7c2c000000000000019400000000000000e400000000000002f400355534403010107746f6f20666577
02010007000000000000000000000000000102037669700362326201010643524d2d34320109047665726101c0cebc86bf68
02010901070376697001047665726101c0cebc86bf68
02010a070b63616c6c6564206261636b047665726101c0cebc86bf68
02010b07c0cebc86bf68047665726101c0cebc86bf68
02000473686f70e8bbb086bf68a0bab086bf680203742d31036d2d3238036d2d31086964656e7469667980b4b086bf68b0a4b086bf68027b7d1b7b22656d61696c223a22616e61406578616d706c652e636f6d227d800180b4b086bf68010746697265666f7806010f616e61406578616d706c652e636f6d010c2b33343630303132333435360103416e610000010473697a65023432010000000000000440010000000000003e400101027031055368697274b8b31802034555520103742d31036d2d3338036d2d31086964656e7469667980b4b086bf68b0a4b086bf68027b7d1b7b22656d61696c223a22616e61406578616d706c652e636f6d227d800180b4b086bf68010746697265666f780d036f2d3101a08d060103455552010764616d616765640000
";

    const PINNED_V1: &str = "
01000473686f70e8bbb086bf68a0bab086bf680103742d31036d2d3138036d2d31086964656e7469667980b4b086bf68b0a4b086bf68027b7d1b7b22656d61696c223a22616e61406578616d706c652e636f6d227d800180b4b086bf68010746697265666f7806010f616e61406578616d706c652e636f6d010c2b33343630303132333435360103416e610000010473697a65023432
010100070000000101045275697a01000000010a737562736372696265640000000000047665726101c0cebc86bf68
0101010709047665726101c0cebc86bf68
0101020003564950000002047665726102047665726101c0cebc86bf68
010103030001016400047665726101c0cebc86bf68
01010403047665726101c0cebc86bf68
01010503010701047665726101c0cebc86bf68
0101060107047665726101c0cebc86bf68
0101070109047665726101c0cebc86bf68
0101080473686f7001020000000101045275697a01000000010a73756273637269626564000000000000047665726101c0cebc86bf68
01020473686f70c0cebc86bf68050204060801010203a09c01c0b802e0d4038080b4ccd4dfc603
";

    #[test]
    fn other_versions_and_damage_are_refused_with_a_reason() {
        let mut bytes = samples()[1].encode();
        assert_eq!(Command::decode(&[]), Err(DecodeError::Empty));
        bytes[0] = VERSION + 1;
        assert!(Command::decode(&bytes)
            .unwrap_err()
            .to_string()
            .contains("upgrade"));
        bytes[0] = VERSION;
        bytes.truncate(bytes.len() - 3);
        assert!(matches!(
            Command::decode(&bytes),
            Err(DecodeError::Damaged(_))
        ));
    }
}
