//! What the shop's email and SMS providers report about the messages a contact was sent, and
//! the statuses that follow from it (Connectif's rules).
//!
//! - Three hard bounces in a row, with no delivery, open or click between them, make the
//!   channel `bounced`; the sheet shows the last bounce's reason and date and how many soft
//!   (temporary) bounces there were.
//! - A complaint (the message reported as spam) blocks the channel.
//! - An unsubscribe sets the newsletter (email) or SMS subscription to `unsubscribed`.
//!
//! A status an admin or an erasure's suppression set to `blocked` is never lowered by a
//! bounce. An admin lifts any of them with PATCH.

use serde::{Deserialize, Serialize};

use super::aggregate::{Contact, Pos};
use super::named::{EmailStatus, SmsStatus, Subscription};
use super::patch::Change;

/// Hard bounces in a row that make a channel `bounced`.
pub const HARD_BOUNCES_TO_BOUNCED: u32 = 3;
/// Longest bounce reason kept, in characters (the protocol bounds it too).
pub const MAX_REASON_CHARS: usize = 300;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Channel {
    Email,
    Sms,
}

impl Channel {
    pub const ALL: [Channel; 2] = [Channel::Email, Channel::Sms];

    pub fn parse(name: &str) -> Option<Channel> {
        Channel::ALL.into_iter().find(|c| c.as_str() == name)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Channel::Email => "email",
            Channel::Sms => "sms",
        }
    }
}

/// What a channel's log counts: one [`Tally`] each.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Counted {
    Sent,
    Delivered,
    Opened,
    Clicked,
    Bounced,
    Complained,
    Unsubscribed,
}

impl Counted {
    pub const ALL: [Counted; 7] = [
        Counted::Sent,
        Counted::Delivered,
        Counted::Opened,
        Counted::Clicked,
        Counted::Bounced,
        Counted::Complained,
        Counted::Unsubscribed,
    ];

    /// Its name on the sheet (`channels.email.<name>`).
    pub fn as_str(self) -> &'static str {
        match self {
            Counted::Sent => "sent",
            Counted::Delivered => "delivered",
            Counted::Opened => "opened",
            Counted::Clicked => "clicked",
            Counted::Bounced => "bounced",
            Counted::Complained => "complained",
            Counted::Unsubscribed => "unsubscribed",
        }
    }

    pub fn parse(name: &str) -> Option<Counted> {
        Counted::ALL.into_iter().find(|c| c.as_str() == name)
    }
}

/// One delivery event, as the writer folds it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Signal {
    Sent,
    Delivered,
    Opened,
    Clicked,
    Bounced { hard: bool, reason: Option<String> },
    Complained,
    Unsubscribed,
}

impl Signal {
    /// Whether it shows the contact doing something (the activity valuations count it):
    /// a message sent, delivered or bounced does not.
    pub fn engages(&self) -> bool {
        matches!(
            self,
            Signal::Opened | Signal::Clicked | Signal::Complained | Signal::Unsubscribed
        )
    }
}

/// How often something happened, and when last.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Tally {
    pub count: u64,
    pub last: Option<i64>,
}

impl Tally {
    fn add(&mut self, at: i64) {
        self.count += 1;
        self.last = Some(self.last.map_or(at, |l| l.max(at)));
    }

    fn absorb(&mut self, other: Tally) {
        self.count += other.count;
        self.last = match (self.last, other.last) {
            (Some(a), Some(b)) => Some(a.max(b)),
            (a, b) => a.or(b),
        };
    }
}

/// The latest bounce: what the sheet shows beside a `bounced` status.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Bounce {
    pub at: i64,
    pub hard: bool,
    pub reason: Option<String>,
}

/// One channel's delivery record.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct ChannelLog {
    pub sent: Tally,
    pub delivered: Tally,
    pub opened: Tally,
    pub clicked: Tally,
    /// Every bounce, hard and soft.
    pub bounced: Tally,
    pub soft_bounces: u64,
    /// Hard bounces since the last delivery, open or click.
    pub hard_in_a_row: u32,
    /// When the last delivery, open or click was: a hard bounce older than it does not count
    /// toward the run (providers report late).
    pub reached_at: Option<i64>,
    pub last_bounce: Option<Bounce>,
    pub complained: Tally,
    pub unsubscribed: Tally,
}

impl ChannelLog {
    pub fn tally(&self, what: Counted) -> &Tally {
        match what {
            Counted::Sent => &self.sent,
            Counted::Delivered => &self.delivered,
            Counted::Opened => &self.opened,
            Counted::Clicked => &self.clicked,
            Counted::Bounced => &self.bounced,
            Counted::Complained => &self.complained,
            Counted::Unsubscribed => &self.unsubscribed,
        }
    }
}

/// A contact's delivery records (record v7), both channels.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Deliveries {
    pub email: ChannelLog,
    pub sms: ChannelLog,
}

impl Deliveries {
    pub fn channel(&self, c: Channel) -> &ChannelLog {
        match c {
            Channel::Email => &self.email,
            Channel::Sms => &self.sms,
        }
    }

    fn channel_mut(&mut self, c: Channel) -> &mut ChannelLog {
        match c {
            Channel::Email => &mut self.email,
            Channel::Sms => &mut self.sms,
        }
    }

    /// Adds another contact's records (a merge): counts add up, the latest times win. The
    /// run of hard bounces is the longer one: either address may have been the one bouncing.
    pub fn absorb(&mut self, other: Deliveries) {
        for (mine, theirs) in [(&mut self.email, other.email), (&mut self.sms, other.sms)] {
            for (a, b) in [
                (&mut mine.sent, theirs.sent),
                (&mut mine.delivered, theirs.delivered),
                (&mut mine.opened, theirs.opened),
                (&mut mine.clicked, theirs.clicked),
                (&mut mine.bounced, theirs.bounced),
                (&mut mine.complained, theirs.complained),
                (&mut mine.unsubscribed, theirs.unsubscribed),
            ] {
                a.absorb(b);
            }
            mine.soft_bounces += theirs.soft_bounces;
            mine.hard_in_a_row = mine.hard_in_a_row.max(theirs.hard_in_a_row);
            mine.reached_at = mine.reached_at.max(theirs.reached_at);
            if theirs.last_bounce.as_ref().map(|b| b.at) > mine.last_bounce.as_ref().map(|b| b.at) {
                mine.last_bounce = theirs.last_bounce;
            }
        }
    }
}

impl Contact {
    /// Folds one delivery event in; returns the status changes it made, for the history.
    pub fn deliver(&mut self, channel: Channel, signal: &Signal, at: i64, pos: Pos) -> Vec<Change> {
        let log = self.deliveries.channel_mut(channel);
        let mut bounced_now = false;
        match signal {
            Signal::Sent => log.sent.add(at),
            Signal::Delivered | Signal::Opened | Signal::Clicked => {
                let t = match signal {
                    Signal::Delivered => &mut log.delivered,
                    Signal::Opened => &mut log.opened,
                    _ => &mut log.clicked,
                };
                t.add(at);
                if log.reached_at.is_none_or(|r| r < at) {
                    log.reached_at = Some(at);
                    // Reached after the bounces: the address works.
                    if log.last_bounce.as_ref().is_none_or(|b| b.at < at) {
                        log.hard_in_a_row = 0;
                    }
                }
            }
            Signal::Bounced { hard, reason } => {
                log.bounced.add(at);
                if !hard {
                    log.soft_bounces += 1;
                } else if log.reached_at.is_none_or(|r| r < at) {
                    log.hard_in_a_row += 1;
                    bounced_now = log.hard_in_a_row >= HARD_BOUNCES_TO_BOUNCED;
                }
                if log.last_bounce.as_ref().is_none_or(|b| b.at <= at) {
                    log.last_bounce = Some(Bounce {
                        at,
                        hard: *hard,
                        reason: reason
                            .as_ref()
                            .map(|r| r.chars().take(MAX_REASON_CHARS).collect()),
                    });
                }
            }
            Signal::Complained => log.complained.add(at),
            Signal::Unsubscribed => log.unsubscribed.add(at),
        }
        let mut changes = Vec::new();
        match (channel, signal) {
            (Channel::Email, Signal::Bounced { .. }) if bounced_now => {
                let old = self.channels.email_status;
                if old != Some(EmailStatus::Blocked) {
                    self.channels.email_status = Some(EmailStatus::Bounced);
                    changes.extend(Change::named(
                        "email_status",
                        old,
                        Some(EmailStatus::Bounced),
                    ));
                }
            }
            (Channel::Sms, Signal::Bounced { .. }) if bounced_now => {
                let old = self.channels.sms_status;
                if old != Some(SmsStatus::Blocked) {
                    self.channels.sms_status = Some(SmsStatus::Bounced);
                    changes.extend(Change::named("sms_status", old, Some(SmsStatus::Bounced)));
                }
            }
            (Channel::Email, Signal::Complained) => {
                let old = self.channels.email_status;
                self.channels.email_status = Some(EmailStatus::Blocked);
                changes.extend(Change::named(
                    "email_status",
                    old,
                    Some(EmailStatus::Blocked),
                ));
            }
            (Channel::Sms, Signal::Complained) => {
                let old = self.channels.sms_status;
                self.channels.sms_status = Some(SmsStatus::Blocked);
                changes.extend(Change::named("sms_status", old, Some(SmsStatus::Blocked)));
            }
            (Channel::Email, Signal::Unsubscribed) => {
                let to = Subscription::Unsubscribed;
                let old = self.set_newsletter(to, at, pos);
                changes.extend(Change::named("newsletter", old, Some(to)));
            }
            (Channel::Sms, Signal::Unsubscribed) => {
                let to = Some(Subscription::Unsubscribed);
                let old = std::mem::replace(&mut self.channels.sms_subscription, to);
                changes.extend(Change::named("sms_subscription", old, to));
            }
            _ => {}
        }
        changes
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::contacts::ContactId;

    fn contact() -> Contact {
        let mut c = Contact::new(ContactId::FIRST, "s", 0);
        c.email = Some("a@b.c".into());
        c
    }

    const P: Pos = Pos { seq: 1, index: 0 };

    fn hard(c: &mut Contact, at: i64) -> Vec<Change> {
        let s = Signal::Bounced {
            hard: true,
            reason: Some(format!("no such user ({at})")),
        };
        c.deliver(Channel::Email, &s, at, P)
    }

    #[test]
    fn three_hard_bounces_in_a_row_bounce_the_email() {
        let mut c = contact();
        assert!(hard(&mut c, 10).is_empty());
        assert!(hard(&mut c, 20).is_empty());
        let soft = Signal::Bounced {
            hard: false,
            reason: None,
        };
        c.deliver(Channel::Email, &soft, 25, P);
        let changes = hard(&mut c, 30);
        assert_eq!(changes.len(), 1);
        assert_eq!(changes[0].new.as_deref(), Some("bounced"));
        assert_eq!(c.channels.email_status, Some(EmailStatus::Bounced));
        let log = &c.deliveries.email;
        assert_eq!((log.bounced.count, log.soft_bounces), (4, 1));
        let last = log.last_bounce.as_ref().unwrap();
        assert_eq!(
            (last.at, last.reason.as_deref()),
            (30, Some("no such user (30)"))
        );
    }

    #[test]
    fn a_delivery_between_bounces_starts_the_count_again() {
        let mut c = contact();
        hard(&mut c, 10);
        hard(&mut c, 20);
        c.deliver(Channel::Email, &Signal::Opened, 25, P);
        assert!(hard(&mut c, 30).is_empty());
        assert_eq!(c.channels.email_status, None);
        // A bounce reported late, from before the open, does not count.
        assert!(hard(&mut c, 22).is_empty());
        assert_eq!(c.deliveries.email.hard_in_a_row, 1);
    }

    #[test]
    fn a_complaint_blocks_and_a_bounce_never_lowers_a_block() {
        let mut c = contact();
        c.deliver(Channel::Email, &Signal::Complained, 5, P);
        assert_eq!(c.channels.email_status, Some(EmailStatus::Blocked));
        for at in [10, 20, 30] {
            assert!(hard(&mut c, at).is_empty());
        }
        assert_eq!(c.channels.email_status, Some(EmailStatus::Blocked));
    }

    #[test]
    fn unsubscribes_set_the_subscriptions() {
        let mut c = contact();
        c.deliver(Channel::Email, &Signal::Unsubscribed, 5, P);
        assert_eq!(c.newsletter(), Subscription::Unsubscribed);
        c.deliver(Channel::Sms, &Signal::Unsubscribed, 5, P);
        assert_eq!(
            c.channels.sms_subscription,
            Some(Subscription::Unsubscribed)
        );
    }

    #[test]
    fn a_merge_adds_counts_and_keeps_the_latest() {
        let mut a = contact();
        let mut b = contact();
        a.deliver(Channel::Email, &Signal::Sent, 10, P);
        b.deliver(Channel::Email, &Signal::Sent, 30, P);
        hard(&mut b, 31);
        a.deliveries.absorb(b.deliveries);
        let e = &a.deliveries.email;
        assert_eq!((e.sent.count, e.sent.last), (2, Some(30)));
        assert_eq!(e.last_bounce.as_ref().map(|b| b.at), Some(31));
    }
}
