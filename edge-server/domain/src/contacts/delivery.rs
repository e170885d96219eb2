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
//!
//! This module keeps the counts and says which status a report calls for
//! ([`Deliveries::record`]); the contact's aggregate sets it (`Contact::apply`).

use serde::{Deserialize, Serialize};

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

/// The status a delivery report calls for on its channel.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Consequence {
    /// The third hard bounce in a row: the channel is `bounced` (unless `blocked`).
    Bounced,
    /// A complaint: the channel is `blocked`.
    Blocked,
    /// The newsletter (email) or SMS subscription is `unsubscribed`.
    Unsubscribed,
}

impl Deliveries {
    /// Counts one report on `channel`, at `at`; the status it calls for, if any.
    pub fn record(&mut self, channel: Channel, signal: &Signal, at: i64) -> Option<Consequence> {
        let log = self.channel_mut(channel);
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
                let mut bounced = false;
                if !hard {
                    log.soft_bounces += 1;
                } else if log.reached_at.is_none_or(|r| r < at) {
                    log.hard_in_a_row += 1;
                    bounced = log.hard_in_a_row >= HARD_BOUNCES_TO_BOUNCED;
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
                return bounced.then_some(Consequence::Bounced);
            }
            Signal::Complained => {
                log.complained.add(at);
                return Some(Consequence::Blocked);
            }
            Signal::Unsubscribed => {
                log.unsubscribed.add(at);
                return Some(Consequence::Unsubscribed);
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hard(d: &mut Deliveries, at: i64) -> Option<Consequence> {
        let s = Signal::Bounced {
            hard: true,
            reason: Some(format!("no such user ({at})")),
        };
        d.record(Channel::Email, &s, at)
    }

    #[test]
    fn the_third_hard_bounce_in_a_row_calls_for_bounced() {
        let mut d = Deliveries::default();
        assert_eq!(hard(&mut d, 10), None);
        assert_eq!(hard(&mut d, 20), None);
        let soft = Signal::Bounced {
            hard: false,
            reason: None,
        };
        assert_eq!(d.record(Channel::Email, &soft, 25), None);
        assert_eq!(hard(&mut d, 30), Some(Consequence::Bounced));
        let log = &d.email;
        assert_eq!((log.bounced.count, log.soft_bounces), (4, 1));
        let last = log.last_bounce.as_ref().unwrap();
        assert_eq!(
            (last.at, last.reason.as_deref()),
            (30, Some("no such user (30)"))
        );
    }

    #[test]
    fn a_delivery_between_bounces_starts_the_count_again() {
        let mut d = Deliveries::default();
        hard(&mut d, 10);
        hard(&mut d, 20);
        d.record(Channel::Email, &Signal::Opened, 25);
        assert_eq!(hard(&mut d, 30), None);
        // A bounce reported late, from before the open, does not count.
        assert_eq!(hard(&mut d, 22), None);
        assert_eq!(d.email.hard_in_a_row, 1);
        assert_eq!(d.email.last_bounce.as_ref().map(|b| b.at), Some(30));
    }

    #[test]
    fn complaints_and_unsubscribes_call_for_their_statuses() {
        let mut d = Deliveries::default();
        assert_eq!(
            d.record(Channel::Sms, &Signal::Complained, 5),
            Some(Consequence::Blocked)
        );
        assert_eq!(
            d.record(Channel::Email, &Signal::Unsubscribed, 6),
            Some(Consequence::Unsubscribed)
        );
        assert_eq!(d.sms.complained.count, 1);
        assert_eq!(d.email.unsubscribed.last, Some(6));
    }

    #[test]
    fn a_merge_adds_counts_and_keeps_the_latest() {
        let mut a = Deliveries::default();
        let mut b = Deliveries::default();
        a.record(Channel::Email, &Signal::Sent, 10);
        b.record(Channel::Email, &Signal::Sent, 30);
        hard(&mut b, 31);
        a.absorb(b);
        let e = &a.email;
        assert_eq!((e.sent.count, e.sent.last), (2, Some(30)));
        assert_eq!(e.last_bounce.as_ref().map(|b| b.at), Some(31));
    }
}
