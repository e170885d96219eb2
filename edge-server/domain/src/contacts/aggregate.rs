//! A contact's aggregate: everything its sheet shows, kept up to date one fact at a time so
//! that reading a sheet never reads the contact's history.
//!
//! Two operations build it, and they must agree: [`Contact::apply`] folds one event in, and
//! [`Contact::absorb`] folds a whole other contact in (a merge). Every field is therefore a
//! commutative summary: a count or sum, a minimum or maximum, or a value stamped with the
//! position of the event that set it, where the latest stamp wins ([`Stamped`]). Folding a
//! contact's events in any order, or in two parts that are then absorbed, gives the same
//! aggregate. The property test in `tests/edge/contacts.rs` checks this against a full
//! recomputation from stored events.
//!
//! Two deliberate exceptions, both documented on the sheet:
//! - the profile on a merge: the surviving contact's values win and the absorbed one only fills
//!   blanks (the identity rules say so). An absorbed contact is always anonymous, so it has no
//!   profile of its own to lose;
//! - products of interest are capped at [`MAX_INTEREST`], and categories viewed at
//!   [`MAX_CATEGORIES`]; past the cap the least recently seen is dropped, which depends on
//!   order.
//! - custom fields are capped at [`MAX_CUSTOM_FIELDS`] and push subscriptions at
//!   [`MAX_PUSH_SUBSCRIPTIONS`]; past the cap a new key or endpoint is not kept (the batch
//!   response says so), which depends on order too. Caps keep a hostile or buggy shopper from
//!   growing one contact without bound, and with it the writer's cost per event on that
//!   contact (BENCHMARKS.md, "Writer cost per event at the caps").

use std::collections::{BTreeMap, BTreeSet};

use footprint_protocol::{ConsentState, PushPermissionState};
use serde::{Deserialize, Serialize};

use super::delivery::{Channel, Consequence};
use super::fact::{CartState, Fact, FactKind, IdentifyFact, Units};
use super::named::{EmailStatus, SmsStatus, Subscription};

/// A contact's id. Never zero; handed out in increasing order by the store.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct ContactId(u64);

impl ContactId {
    /// The first id the store hands out.
    pub const FIRST: ContactId = ContactId(1);

    pub const fn new(n: u64) -> Option<ContactId> {
        if n > 0 {
            Some(ContactId(n))
        } else {
            None
        }
    }

    pub fn get(self) -> u64 {
        self.0
    }

    /// The id after this one: ids are handed out in order.
    pub fn next(self) -> ContactId {
        ContactId(self.0.saturating_add(1))
    }

    /// Parses the decimal form the API shows.
    pub fn parse(s: &str) -> Option<ContactId> {
        if s.is_empty() || s.len() > 20 || !s.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        s.parse().ok().and_then(ContactId::new)
    }
}

impl std::fmt::Display for ContactId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// Where an event sits in the store: the seq of its chunk and its index in the chunk. Unique,
/// and increasing in the order the edge received events.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize,
)]
pub struct Pos {
    pub seq: u64,
    pub index: u32,
}

/// A value and the event that set it. Of two, the later event's wins: by event time, then by
/// position, so the outcome never depends on the order they are folded in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Stamped<T> {
    pub at: i64,
    pub pos: Pos,
    pub value: T,
}

impl<T> Stamped<T> {
    fn newer_than(&self, other: &Stamped<T>) -> bool {
        (self.at, self.pos) > (other.at, other.pos)
    }
}

/// The earlier and the later of two optional times.
fn earliest(a: Option<i64>, b: Option<i64>) -> Option<i64> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

fn latest_time(a: Option<i64>, b: Option<i64>) -> Option<i64> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.max(b)),
        (a, b) => a.or(b),
    }
}

/// Keeps the earlier of the entry's value and `new`.
fn earliest_stamped<K: Ord, T>(
    slot: std::collections::btree_map::Entry<'_, K, Stamped<T>>,
    new: Stamped<T>,
) {
    use std::collections::btree_map::Entry;
    match slot {
        Entry::Occupied(mut cur) => {
            if cur.get().newer_than(&new) {
                cur.insert(new);
            }
        }
        Entry::Vacant(v) => {
            v.insert(new);
        }
    }
}

/// Keeps the later of `slot` and `new`.
fn latest<T>(slot: &mut Option<Stamped<T>>, new: Stamped<T>) {
    match slot {
        Some(cur) if !new.newer_than(cur) => {}
        _ => *slot = Some(new),
    }
}

/// Most products of interest a contact keeps.
pub const MAX_INTEREST: usize = 100;
/// Most custom fields a contact keeps.
pub const MAX_CUSTOM_FIELDS: usize = 100;
/// Most web push subscriptions (endpoints) a contact keeps.
pub const MAX_PUSH_SUBSCRIPTIONS: usize = 20;
/// Most devices (tracker spans) a contact gathers through logins: a shopper whose cookies are
/// cleared every week gathers 52 a year; a script that logs in from thousands of trackers as
/// one email must not grow the contact (and the writer's cost per event on it) without bound.
pub const MAX_SPANS: usize = 500;

/// What a fold could not keep because the contact was at a cap: the event is stored all the
/// same, and the batch response warns.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NotKept {
    pub custom_keys: Vec<String>,
    pub push_endpoint: bool,
    /// The identify would have joined the tracker to a contact at [`MAX_SPANS`].
    pub device: bool,
    /// Why a refund took nothing off (`orders::Order::refund`).
    pub refund: Option<String>,
}

impl NotKept {
    /// The batch response's warning, when something was not kept.
    pub fn warning(&self) -> Option<String> {
        if let Some(why) = &self.refund {
            return Some(format!("{why} (the event is stored)"));
        }
        if !self.custom_keys.is_empty() {
            let shown: Vec<String> = self
                .custom_keys
                .iter()
                .take(5)
                .map(|k| format!("`{k}`"))
                .collect();
            let more = self.custom_keys.len().saturating_sub(shown.len());
            let more = if more > 0 {
                format!(" and {more} more")
            } else {
                String::new()
            };
            return Some(format!(
                "properties.custom: a contact keeps at most {MAX_CUSTOM_FIELDS} custom fields; \
                 {}{more} were not kept (the event is stored); reuse the keys you have",
                shown.join(", ")
            ));
        }
        if self.device {
            return Some(format!(
                "properties: the contact with this email or phone already has {MAX_SPANS} \
                 devices, the most one keeps; this device was not joined to it (the event is \
                 stored)"
            ));
        }
        self.push_endpoint.then(|| {
            format!(
                "properties.endpoint: a contact keeps at most {MAX_PUSH_SUBSCRIPTIONS} push \
                 subscriptions; this one was not kept (the event is stored); unsubscribe \
                 endpoints that are gone"
            )
        })
    }
}

/// One tracker's stretch of history that belongs to this contact: its events at positions
/// `from` up to, not including, `to` (open while the tracker still points here).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Span {
    pub tracker: String,
    pub from: Pos,
    pub to: Option<Pos>,
    pub first_seen: Option<i64>,
    pub last_seen: Option<i64>,
    pub user_agent: Option<Stamped<String>>,
}

impl Span {
    pub fn open(tracker: &str, from: Pos) -> Span {
        Span {
            tracker: tracker.to_owned(),
            from,
            to: None,
            first_seen: None,
            last_seen: None,
            user_agent: None,
        }
    }

    pub fn holds(&self, tracker: &str, pos: Pos) -> bool {
        self.tracker == tracker && pos >= self.from && self.to.is_none_or(|to| pos < to)
    }
}

/// A web push subscription of the contact's.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PushSub {
    /// Subscribed (true) or unsubscribed, by the latest event about this endpoint.
    pub active: Stamped<bool>,
    /// The latest subscribe event: "since when".
    pub subscribed: Option<Stamped<()>>,
}

/// A product the contact looked at or put in the cart.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Interest {
    pub product_id: String,
    pub name: Stamped<String>,
    pub views: u64,
    pub cart_adds: u64,
    pub last_seen: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Counts {
    pub events: u64,
    pub page_views: u64,
    pub product_views: u64,
    pub cart_adds: u64,
    /// Orders: a repeated purchase event for the same order is counted once.
    pub purchases: u64,
}

/// Per-currency amounts.
pub type ByCurrency = BTreeMap<String, Units>;

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Ecommerce {
    pub orders: BTreeMap<String, u64>,
    pub spent: ByCurrency,
    pub first_purchase_at: Option<i64>,
    pub last_purchase_at: Option<i64>,
    /// Spend per calendar month (UTC), keyed by `year * 12 + month - 1`: the month, year and
    /// 12- and 24-month totals come from these without reading history.
    pub months: BTreeMap<i32, ByCurrency>,
}

impl Ecommerce {
    pub fn purchases(&self) -> u64 {
        self.orders.values().sum()
    }

    /// The currency most of the contact's orders were in (ties: the larger spend, then the
    /// code): what RFM's monetary value is counted in.
    pub fn main_currency(&self) -> Option<&str> {
        self.orders
            .iter()
            .max_by(|a, b| {
                (a.1, self.spent.get(a.0), std::cmp::Reverse(a.0)).cmp(&(
                    b.1,
                    self.spent.get(b.0),
                    std::cmp::Reverse(b.0),
                ))
            })
            .map(|(c, _)| c.as_str())
    }
}

/// The month key of a time: `year * 12 + month - 1`, in UTC.
pub fn month_key(ms: i64) -> i32 {
    let dt = time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
    dt.year() * 12 + i32::from(u8::from(dt.month())) - 1
}

fn add(map: &mut ByCurrency, currency: &str, amount: Units) {
    let v = map.entry(currency.to_owned()).or_insert(0);
    *v = v.saturating_add(amount);
}

/// What admins set by hand (the admin-operations issue) or a channel reports; not derived
/// from tracker events. `None` shows the default.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Channels {
    pub email_status: Option<EmailStatus>,
    pub newsletter: Option<Subscription>,
    pub sms_status: Option<SmsStatus>,
    pub sms_subscription: Option<Subscription>,
}

/// Who may see a contact (SecuTix): viewers see `Free` contacts, editors `Restricted` ones
/// too, admins all. Ordered from least to most confidential.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default, Serialize, Deserialize)]
pub enum Confidentiality {
    #[default]
    Free,
    Restricted,
    Confidential,
}

impl Confidentiality {
    /// The highest level: a caller cleared for it sees every contact.
    pub const MAX: Confidentiality = Confidentiality::Confidential;

    pub const ALL: [Confidentiality; 3] = [
        Confidentiality::Free,
        Confidentiality::Restricted,
        Confidentiality::Confidential,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Confidentiality::Free => "free",
            Confidentiality::Restricted => "restricted",
            Confidentiality::Confidential => "confidential",
        }
    }

    pub fn parse(s: &str) -> Option<Confidentiality> {
        Confidentiality::ALL.into_iter().find(|c| c.as_str() == s)
    }
}

/// What only admins set: never derived from events. Stored beside the aggregate (see
/// `store::record`), so that contacts written before these existed still read.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct AdminFields {
    pub confidentiality: Confidentiality,
    /// From this time (ms) on the contact is invalid (SecuTix): it drops out of lists and
    /// search, while its events are still stored.
    pub valid_until: Option<i64>,
}

impl AdminFields {
    /// On a merge the stricter level and the earlier end of validity win: merging never makes
    /// a contact more visible than either part was.
    fn absorb(&mut self, other: AdminFields) {
        self.confidentiality = self.confidentiality.max(other.confidentiality);
        self.valid_until = earliest(self.valid_until, other.valid_until);
    }
}

/// A product category the contact viewed products of (dynamic segments: "viewed category X
/// in the last 30 days").
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CategorySeen {
    /// As the shop sent it; matched without regard to case.
    pub name: String,
    pub views: u64,
    pub last_seen: i64,
}

/// The categories kept per contact, the most recently viewed.
pub const MAX_CATEGORIES: usize = 50;

/// What record v3 added: stored after [`AdminFields`] (see `store::record`), so that contacts
/// written before it still read, with these empty.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Extras {
    pub categories: Vec<CategorySeen>,
    /// The static segments an admin added this contact to.
    pub segments: BTreeSet<u64>,
    /// The newsletter status (record v4): set by the shop's `newsletter_subscribe` and
    /// `newsletter_unsubscribe` events and by admins, the latest winning. Before v4 only
    /// admins set it, in [`Channels::newsletter`], which is still read when this is unset.
    pub newsletter: Option<Stamped<Subscription>>,
    /// Record v6: each currency's first order (its time and total), the earliest winning:
    /// what tells the CLV models' repeat orders from the first (`predict::History`).
    pub first_orders: BTreeMap<String, Stamped<Units>>,
    /// Record v6: free labels an admin puts on the contact (emBlue), at most [`MAX_TAGS`],
    /// each unique without regard to case.
    pub tags: BTreeSet<String>,
    /// Record v6: the shop's own id for the contact (an external CRM's), unique per site.
    pub reference: Option<String>,
    /// Record v6: admins' notes, oldest first, at most [`MAX_NOTES`].
    pub notes: Vec<Note>,
    /// Record v6: lead-scoring points (`points`), with when they last changed.
    pub points: Option<super::points::Points>,
    /// Record v6: what refunds gave back, per currency (already taken off `spent`).
    pub refunded: ByCurrency,
}

/// Most tags a contact keeps.
pub const MAX_TAGS: usize = 30;
/// Most notes a contact keeps; an admin deletes one to add another.
pub const MAX_NOTES: usize = 100;

/// A timestamped, authored note on a contact (SecuTix). Free text: personal data.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Note {
    /// Unique on its contact: its creation time in ms, made unique by the writer.
    pub id: i64,
    pub author: String,
    pub text: String,
}

impl Extras {
    fn view_category(&mut self, name: &str, views: u64, at: i64) {
        match self
            .categories
            .iter_mut()
            .find(|c| c.name.eq_ignore_ascii_case(name))
        {
            Some(c) => {
                c.views += views;
                if at >= c.last_seen {
                    c.last_seen = at;
                    // The latest spelling wins, as the latest name of a product does.
                    name.clone_into(&mut c.name);
                }
            }
            None => self.categories.push(CategorySeen {
                name: name.to_owned(),
                views,
                last_seen: at,
            }),
        }
        if self.categories.len() > MAX_CATEGORIES {
            self.categories
                .sort_by(|a, b| b.last_seen.cmp(&a.last_seen).then(a.name.cmp(&b.name)));
            self.categories.truncate(MAX_CATEGORIES);
        }
    }

    fn absorb(&mut self, other: Extras) {
        for c in other.categories {
            self.view_category(&c.name, c.views, c.last_seen);
        }
        self.segments.extend(other.segments);
        if let Some(n) = other.newsletter {
            latest(&mut self.newsletter, n);
        }
        for (currency, first) in other.first_orders {
            earliest_stamped(self.first_orders.entry(currency), first);
        }
        // The merged contact's tags join ours up to the cap, ours first.
        for tag in other.tags {
            if self.tags.len() >= MAX_TAGS {
                break;
            }
            if !self.tags.iter().any(|t| t.eq_ignore_ascii_case(&tag)) {
                self.tags.insert(tag);
            }
        }
        // A reference is unique per site, so the merged contact's is free to move here only
        // when this one has none; the store drops its index entry otherwise.
        if self.reference.is_none() {
            self.reference = other.reference;
        }
        super::points::Points::absorb(&mut self.points, other.points);
        for (c, v) in other.refunded {
            add(&mut self.refunded, &c, v);
        }
        self.notes.extend(other.notes);
        self.notes.sort_by_key(|n| n.id);
        let excess = self.notes.len().saturating_sub(MAX_NOTES);
        self.notes.drain(..excess);
    }

    /// When a product of category `name` was last viewed.
    pub fn category_seen(&self, name: &str) -> Option<i64> {
        self.categories
            .iter()
            .find(|c| c.name.eq_ignore_ascii_case(name))
            .map(|c| c.last_seen)
    }
}

/// Everything the sheet shows of one contact.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Contact {
    pub id: ContactId,
    pub site: String,
    pub created_at: i64,
    pub last_activity_at: Option<i64>,
    /// Contacts merged into this one, oldest first.
    pub merged_ids: Vec<ContactId>,
    pub spans: Vec<Span>,
    /// The normalised email and phone this contact is found by. Set only by the identity
    /// rules, never by folding events.
    pub email: Option<String>,
    pub phone: Option<String>,
    pub first_name: Option<Stamped<String>>,
    pub last_name: Option<Stamped<String>>,
    pub birth_date: Option<Stamped<String>>,
    pub custom: BTreeMap<String, Stamped<String>>,
    pub channels: Channels,
    pub consent: Option<Stamped<ConsentState>>,
    pub push_permission: Option<Stamped<PushPermissionState>>,
    pub push: BTreeMap<String, PushSub>,
    pub cart: Option<Stamped<CartState>>,
    pub ecommerce: Ecommerce,
    pub interest: Vec<Interest>,
    pub counts: Counts,
    /// Encoded after the rest by `store::record`, not as part of it.
    #[serde(skip)]
    pub admin: AdminFields,
    /// Encoded after `admin`.
    #[serde(skip)]
    pub extras: Extras,
    /// Record v7: what the shop's email and SMS providers reported. Encoded after `extras`.
    #[serde(skip)]
    pub deliveries: super::delivery::Deliveries,
    /// Record v8: activity per week. Encoded after `deliveries`; empty in records written
    /// before it, so a chart of them starts at the upgrade.
    #[serde(skip)]
    pub weeks: super::weeks::Weeks,
    /// Record v9: the page it viewed last (by event time). Encoded after `weeks`; none in
    /// records written before it, until the contact's next page view.
    #[serde(skip)]
    pub last_page: Option<Stamped<super::fact::PageSeen>>,
}

impl Contact {
    pub fn new(id: ContactId, site: &str, created_at: i64) -> Contact {
        Contact {
            id,
            site: site.to_owned(),
            created_at,
            last_activity_at: None,
            merged_ids: Vec::new(),
            spans: Vec::new(),
            email: None,
            phone: None,
            first_name: None,
            last_name: None,
            birth_date: None,
            custom: BTreeMap::new(),
            channels: Channels::default(),
            consent: None,
            push_permission: None,
            push: BTreeMap::new(),
            cart: None,
            ecommerce: Ecommerce::default(),
            interest: Vec::new(),
            counts: Counts::default(),
            admin: AdminFields::default(),
            extras: Extras::default(),
            deliveries: Default::default(),
            weeks: Default::default(),
            last_page: None,
        }
    }

    /// Takes a refund of `amount` in `currency`, given at `at`, off the spend: the total and
    /// the month it was given in (so period totals net it there).
    pub fn refund(&mut self, at: i64, currency: &str, amount: Units) {
        let e = &mut self.ecommerce;
        add(&mut e.spent, currency, -amount);
        add(
            e.months.entry(month_key(at)).or_default(),
            currency,
            -amount,
        );
        add(&mut self.extras.refunded, currency, amount);
    }

    /// The newsletter status.
    pub fn newsletter(&self) -> Subscription {
        match &self.extras.newsletter {
            Some(s) => s.value,
            None => self
                .channels
                .newsletter
                .unwrap_or(Subscription::NotSubscribed),
        }
    }

    /// Sets the newsletter status as of `at`: an admin's edit or a suppression. Returns the
    /// status set before, `None` while it showed the default (as history records the other
    /// channels).
    pub fn set_newsletter(&mut self, to: Subscription, at: i64, pos: Pos) -> Option<Subscription> {
        let old = match &self.extras.newsletter {
            Some(s) => Some(s.value),
            None => self.channels.newsletter,
        };
        self.extras.newsletter = Some(Stamped { at, pos, value: to });
        old
    }

    /// Sets the status a delivery report called for (Connectif's rules, `delivery.rs`): a
    /// bounce never lowers `blocked`.
    fn follow(&mut self, channel: Channel, c: Consequence, at: i64, pos: Pos) {
        let ch = &mut self.channels;
        match (channel, c) {
            (Channel::Email, Consequence::Bounced) => {
                if ch.email_status != Some(EmailStatus::Blocked) {
                    ch.email_status = Some(EmailStatus::Bounced);
                }
            }
            (Channel::Sms, Consequence::Bounced) => {
                if ch.sms_status != Some(SmsStatus::Blocked) {
                    ch.sms_status = Some(SmsStatus::Bounced);
                }
            }
            (Channel::Email, Consequence::Blocked) => ch.email_status = Some(EmailStatus::Blocked),
            (Channel::Sms, Consequence::Blocked) => ch.sms_status = Some(SmsStatus::Blocked),
            (Channel::Email, Consequence::Unsubscribed) => {
                self.set_newsletter(Subscription::Unsubscribed, at, pos);
            }
            (Channel::Sms, Consequence::Unsubscribed) => {
                ch.sms_subscription = Some(Subscription::Unsubscribed);
            }
        }
    }

    /// Invalidated (its `valid_until` has passed) at `now`.
    pub fn invalid_at(&self, now: i64) -> bool {
        self.admin.valid_until.is_some_and(|u| u <= now)
    }

    /// Identified: found by an email or a phone.
    pub fn identified(&self) -> bool {
        self.email.is_some() || self.phone.is_some()
    }

    /// Folds in one event of tracker `tracker` at `pos`. `new_order` is false for a purchase
    /// whose order the site had already reported: it counts as activity, not as an order.
    pub fn apply(&mut self, tracker: &str, pos: Pos, fact: &Fact, new_order: bool) -> NotKept {
        let mut not_kept = NotKept::default();
        let at = fact.at;
        fn stamp<T>(at: i64, pos: Pos, value: T) -> Stamped<T> {
            Stamped { at, pos, value }
        }
        self.created_at = self.created_at.min(at);
        if fact.kind.engages() {
            self.last_activity_at = latest_time(self.last_activity_at, Some(at));
            self.weeks.add(at);
        }
        if let Some(span) = self.spans.iter_mut().find(|s| s.holds(tracker, pos)) {
            span.first_seen = earliest(span.first_seen, Some(at));
            span.last_seen = latest_time(span.last_seen, Some(at));
            if let Some(ua) = &fact.user_agent {
                latest(&mut span.user_agent, stamp(at, pos, ua.clone()));
            }
        }
        if let Some(page) = &fact.page {
            latest(&mut self.last_page, stamp(at, pos, page.clone()));
        }
        self.counts.events += 1;
        // A repeated order id earns nothing again, as it counts nothing again.
        let repeated_order = matches!(fact.kind, FactKind::Purchase { .. }) && !new_order;
        if let (Some(e), false) = (fact.earned, repeated_order) {
            super::points::Points::add(&mut self.extras.points, e.points, at, e.half_life_days);
        }
        let seen = |product_id: &str, name: &str, views, cart_adds| Interest {
            product_id: product_id.to_owned(),
            name: stamp(at, pos, name.to_owned()),
            views,
            cart_adds,
            last_seen: at,
        };
        match &fact.kind {
            FactKind::PageView => self.counts.page_views += 1,
            // Its status changes reach the history by the writer's before-and-after diff.
            FactKind::Delivery { channel, signal } => {
                if let Some(c) = self.deliveries.record(*channel, signal, at) {
                    self.follow(*channel, c, at, pos);
                }
            }
            FactKind::ProductView {
                product_id,
                name,
                category,
            } => {
                self.counts.product_views += 1;
                self.fold_interest(seen(product_id, name, 1, 0));
                self.cap_interest();
                if let Some(c) = category {
                    self.extras.view_category(c, 1, at);
                }
            }
            FactKind::CartAdd {
                product_id,
                name,
                cart,
            } => {
                self.counts.cart_adds += 1;
                self.fold_interest(seen(product_id, name, 0, 1));
                self.cap_interest();
                if let Some(c) = cart {
                    latest(&mut self.cart, stamp(at, pos, c.clone()));
                }
            }
            FactKind::CartRemove { cart } => {
                if let Some(c) = cart {
                    latest(&mut self.cart, stamp(at, pos, c.clone()));
                }
            }
            FactKind::Cart(c) => latest(&mut self.cart, stamp(at, pos, c.clone())),
            FactKind::Purchase {
                total, currency, ..
            } => {
                // Checking out empties the cart, the whole of it: a shop that sends no
                // `cart_update` after `purchase` must not show an admin a "current cart" of
                // what was just bought. A later cart event (newer stamp) wins as usual.
                latest(
                    &mut self.cart,
                    stamp(
                        at,
                        pos,
                        CartState {
                            items: Vec::new(),
                            total: 0,
                            currency: currency.clone(),
                        },
                    ),
                );
                if new_order {
                    self.counts.purchases += 1;
                    let e = &mut self.ecommerce;
                    *e.orders.entry(currency.clone()).or_insert(0) += 1;
                    add(&mut e.spent, currency, *total);
                    add(e.months.entry(month_key(at)).or_default(), currency, *total);
                    e.first_purchase_at = earliest(e.first_purchase_at, Some(at));
                    e.last_purchase_at = latest_time(e.last_purchase_at, Some(at));
                    earliest_stamped(
                        self.extras.first_orders.entry(currency.clone()),
                        stamp(at, pos, *total),
                    );
                }
            }
            FactKind::Identify(i) => not_kept.custom_keys = self.apply_traits(i, at, pos),
            FactKind::Consent(c) => latest(&mut self.consent, stamp(at, pos, *c)),
            FactKind::Newsletter(subscribed) => {
                let to = if *subscribed {
                    Subscription::Subscribed
                } else {
                    Subscription::Unsubscribed
                };
                latest(&mut self.extras.newsletter, stamp(at, pos, to));
            }
            FactKind::PushPermission(p) => latest(&mut self.push_permission, stamp(at, pos, *p)),
            FactKind::PushSubscribe { endpoint } => {
                not_kept.push_endpoint = !self.fold_push(
                    endpoint.clone(),
                    PushSub {
                        active: stamp(at, pos, true),
                        subscribed: Some(stamp(at, pos, ())),
                    },
                );
            }
            // An unsubscribe of an endpoint not kept has nothing to change.
            FactKind::PushUnsubscribe { endpoint } => {
                self.fold_push(
                    endpoint.clone(),
                    PushSub {
                        active: stamp(at, pos, false),
                        subscribed: None,
                    },
                );
            }
            // The store works out what a refund takes off (`Contact::refund`).
            FactKind::Other | FactKind::Refund { .. } => {}
        }
        not_kept
    }

    /// One endpoint's subscription state: the latest state, the latest subscribe. False when
    /// the endpoint is new and the contact already keeps [`MAX_PUSH_SUBSCRIPTIONS`].
    fn fold_push(&mut self, endpoint: String, theirs: PushSub) -> bool {
        let full = self.push.len() >= MAX_PUSH_SUBSCRIPTIONS;
        match self.push.get_mut(&endpoint) {
            Some(ours) => {
                if theirs.active.newer_than(&ours.active) {
                    ours.active = theirs.active;
                }
                if let Some(s) = theirs.subscribed {
                    latest(&mut ours.subscribed, s);
                }
                true
            }
            None if full => false,
            None => {
                self.push.insert(endpoint, theirs);
                true
            }
        }
    }

    /// An identify's traits: each field is the latest one sent. The email and phone are the
    /// identity rules' business, not this fold's. Returns the custom keys not kept: new ones
    /// past [`MAX_CUSTOM_FIELDS`].
    fn apply_traits(&mut self, i: &IdentifyFact, at: i64, pos: Pos) -> Vec<String> {
        let mut not_kept = Vec::new();
        let stamp = |v: &String| Stamped {
            at,
            pos,
            value: v.clone(),
        };
        if let Some(v) = &i.first_name {
            latest(&mut self.first_name, stamp(v));
        }
        if let Some(v) = &i.last_name {
            latest(&mut self.last_name, stamp(v));
        }
        if let Some(v) = &i.birth_date {
            latest(&mut self.birth_date, stamp(v));
        }
        for (k, v) in &i.custom {
            if !self.custom.contains_key(k) && self.custom.len() >= MAX_CUSTOM_FIELDS {
                not_kept.push(k.clone());
                continue;
            }
            let mut slot = self.custom.remove(k);
            latest(&mut slot, stamp(v));
            if let Some(s) = slot {
                self.custom.insert(k.clone(), s);
            }
        }
        not_kept
    }

    /// Adds one product's views and cart adds; the caller caps the list.
    fn fold_interest(&mut self, p: Interest) {
        match self
            .interest
            .iter_mut()
            .find(|q| q.product_id == p.product_id)
        {
            Some(q) => {
                q.views += p.views;
                q.cart_adds += p.cart_adds;
                q.last_seen = q.last_seen.max(p.last_seen);
                if p.name.newer_than(&q.name) {
                    q.name = p.name;
                }
            }
            None => self.interest.push(p),
        }
    }

    /// Drops the least recently seen products past [`MAX_INTEREST`].
    fn cap_interest(&mut self) {
        if self.interest.len() > MAX_INTEREST {
            self.interest
                .sort_by(|a, b| (b.last_seen, &a.product_id).cmp(&(a.last_seen, &b.product_id)));
            self.interest.truncate(MAX_INTEREST);
        }
    }

    /// Folds `other` in: a merge. Sums add up, extremes combine, stamped values keep the
    /// latest; the profile keeps this contact's values and takes `other`'s only where this one
    /// has none.
    pub fn absorb(&mut self, other: Contact) {
        self.created_at = self.created_at.min(other.created_at);
        self.last_activity_at = latest_time(self.last_activity_at, other.last_activity_at);
        self.weeks.absorb(&other.weeks);
        if let Some(page) = other.last_page {
            latest(&mut self.last_page, page);
        }
        self.merged_ids.push(other.id);
        self.merged_ids.extend(other.merged_ids);
        self.spans.extend(other.spans);
        self.email = self.email.take().or(other.email);
        self.phone = self.phone.take().or(other.phone);
        self.first_name = self.first_name.take().or(other.first_name);
        self.last_name = self.last_name.take().or(other.last_name);
        self.birth_date = self.birth_date.take().or(other.birth_date);
        for (k, v) in other.custom {
            if self.custom.len() < MAX_CUSTOM_FIELDS || self.custom.contains_key(&k) {
                self.custom.entry(k).or_insert(v);
            }
        }
        let ch = &mut self.channels;
        ch.email_status = ch.email_status.take().or(other.channels.email_status);
        ch.newsletter = ch.newsletter.take().or(other.channels.newsletter);
        ch.sms_status = ch.sms_status.take().or(other.channels.sms_status);
        ch.sms_subscription = ch
            .sms_subscription
            .take()
            .or(other.channels.sms_subscription);
        if let Some(c) = other.consent {
            latest(&mut self.consent, c);
        }
        if let Some(p) = other.push_permission {
            latest(&mut self.push_permission, p);
        }
        for (endpoint, theirs) in other.push {
            self.fold_push(endpoint, theirs);
        }
        if let Some(c) = other.cart {
            latest(&mut self.cart, c);
        }
        let (e, o) = (&mut self.ecommerce, other.ecommerce);
        for (c, n) in o.orders {
            *e.orders.entry(c).or_insert(0) += n;
        }
        for (c, v) in o.spent {
            add(&mut e.spent, &c, v);
        }
        for (m, by) in o.months {
            let mine = e.months.entry(m).or_default();
            for (c, v) in by {
                add(mine, &c, v);
            }
        }
        e.first_purchase_at = earliest(e.first_purchase_at, o.first_purchase_at);
        e.last_purchase_at = latest_time(e.last_purchase_at, o.last_purchase_at);
        for p in other.interest {
            self.fold_interest(p);
        }
        self.cap_interest();
        let (c, o) = (&mut self.counts, other.counts);
        c.events += o.events;
        c.page_views += o.page_views;
        c.product_views += o.product_views;
        c.cart_adds += o.cart_adds;
        c.purchases += o.purchases;
        self.admin.absorb(other.admin);
        self.extras.absorb(other.extras);
        self.deliveries.absorb(other.deliveries);
    }

    /// The same aggregate with every collection in one canonical order, for comparisons:
    /// folding in a different order may list products or spans differently.
    pub fn canonical(mut self) -> Contact {
        self.interest
            .sort_by(|a, b| a.product_id.cmp(&b.product_id));
        self.spans
            .sort_by(|a, b| (&a.tracker, a.from).cmp(&(&b.tracker, b.from)));
        self.merged_ids.sort();
        self.extras.categories.sort_by(|a, b| a.name.cmp(&b.name));
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::contacts::fact::Line;

    fn id(n: u64) -> ContactId {
        ContactId::new(n).unwrap()
    }

    fn pos(seq: u64) -> Pos {
        Pos { seq, index: 0 }
    }

    fn fact(at: i64, kind: FactKind) -> Fact {
        Fact {
            at,
            user_agent: Some(format!("ua{at}")),
            kind,
            earned: None,
            order: None,
            page: None,
        }
    }

    fn page_view(at: i64, path: &str) -> Fact {
        Fact {
            page: Some(super::super::fact::PageSeen {
                path: path.into(),
                title: None,
            }),
            ..fact(at, FactKind::PageView)
        }
    }

    fn purchase(total: Units) -> FactKind {
        FactKind::Purchase {
            order_id: "o".into(),
            total,
            currency: "EUR".into(),
        }
    }

    fn cart(total: Units) -> FactKind {
        FactKind::Cart(CartState {
            items: vec![Line {
                product_id: "p".into(),
                name: "P".into(),
                price: total,
                quantity: 1,
                currency: "EUR".into(),
            }],
            total,
            currency: "EUR".into(),
        })
    }

    #[test]
    fn delivery_reports_set_statuses_and_a_bounce_never_lowers_a_block() {
        use crate::contacts::delivery::{Channel, Signal};
        let report = |channel, signal| fact(10, FactKind::Delivery { channel, signal });
        let hard = || Signal::Bounced {
            hard: true,
            reason: None,
        };
        let mut c = Contact::new(id(1), "s", 0);
        c.apply(
            "server:1",
            pos(1),
            &report(Channel::Email, Signal::Complained),
            true,
        );
        for seq in 2..5 {
            c.apply("server:1", pos(seq), &report(Channel::Email, hard()), true);
        }
        assert_eq!(c.channels.email_status, Some(EmailStatus::Blocked));
        for seq in 5..8 {
            c.apply("server:1", pos(seq), &report(Channel::Sms, hard()), true);
        }
        assert_eq!(c.channels.sms_status, Some(SmsStatus::Bounced));
        c.apply(
            "server:1",
            pos(8),
            &report(Channel::Email, Signal::Unsubscribed),
            true,
        );
        c.apply(
            "server:1",
            pos(9),
            &report(Channel::Sms, Signal::Unsubscribed),
            true,
        );
        assert_eq!(c.newsletter(), Subscription::Unsubscribed);
        assert_eq!(
            c.channels.sms_subscription,
            Some(Subscription::Unsubscribed)
        );
        // Being sent or bounced is not the contact's doing; unsubscribing is.
        let mut quiet = Contact::new(id(2), "s", 0);
        quiet.apply(
            "server:2",
            pos(1),
            &report(Channel::Email, Signal::Sent),
            true,
        );
        assert_eq!(quiet.last_activity_at, None);
        assert_eq!(c.last_activity_at, Some(10));
    }

    fn contact_with(n: u64, tracker: &str, facts: &[(u64, Fact)]) -> Contact {
        let mut c = Contact::new(id(n), "s", i64::MAX);
        c.spans.push(Span::open(tracker, pos(0)));
        for (seq, f) in facts {
            c.apply(tracker, pos(*seq), f, true);
        }
        c
    }

    #[test]
    fn money_adds_up_exactly() {
        // 0.1 + 0.2, in ten-thousandths: no float ever touches it.
        let c = contact_with(
            1,
            "t",
            &[
                (1, fact(10, purchase(1_000))),
                (2, fact(20, purchase(2_000))),
            ],
        );
        assert_eq!(c.ecommerce.spent["EUR"], 3_000);
        assert_eq!(c.counts.purchases, 2);
    }

    #[test]
    fn a_repeated_order_is_activity_not_an_order() {
        let mut c = contact_with(1, "t", &[(1, fact(10, purchase(1_000)))]);
        c.apply("t", pos(2), &fact(11, purchase(1_000)), false);
        assert_eq!(c.counts.purchases, 1);
        assert_eq!(c.counts.events, 2);
        assert_eq!(c.ecommerce.spent["EUR"], 1_000);
    }

    #[test]
    fn absorbing_equals_folding_everything_into_one() {
        let a_facts = [
            (1, fact(100, cart(500))),
            (3, fact(300, FactKind::Consent(ConsentState::Yes))),
            (5, fact(500, purchase(700))),
            (7, page_view(450, "/a")),
        ];
        let b_facts = [
            (2, fact(200, cart(900))),
            (
                4,
                fact(
                    400,
                    FactKind::ProductView {
                        product_id: "p".into(),
                        name: "P".into(),
                        category: Some("Shoes".into()),
                    },
                ),
            ),
            (6, fact(50, FactKind::Consent(ConsentState::No))),
            (8, page_view(420, "/b")),
        ];
        let mut merged = contact_with(1, "ta", &a_facts);
        merged.absorb(contact_with(2, "tb", &b_facts));

        let mut whole = Contact::new(id(1), "s", i64::MAX);
        whole.spans.push(Span::open("ta", pos(0)));
        whole.spans.push(Span::open("tb", pos(0)));
        let mut all: Vec<(&str, &(u64, Fact))> = a_facts
            .iter()
            .map(|f| ("ta", f))
            .chain(b_facts.iter().map(|f| ("tb", f)))
            .collect();
        all.sort_by_key(|(_, (seq, _))| *seq);
        for (t, (seq, f)) in all {
            whole.apply(t, pos(*seq), f, true);
        }
        whole.merged_ids.push(id(2));
        assert_eq!(merged.canonical(), whole.canonical());
    }

    #[test]
    fn the_latest_cart_and_consent_win_by_event_time() {
        let c = contact_with(
            1,
            "t",
            &[
                (1, fact(300, cart(300))),
                // Received later, happened earlier (an offline queue): not the current cart.
                (2, fact(100, cart(100))),
                (3, fact(50, FactKind::Consent(ConsentState::No))),
            ],
        );
        assert_eq!(c.cart.unwrap().value.total, 300);
        assert_eq!(c.consent.unwrap().value, ConsentState::No);
    }

    #[test]
    fn the_last_page_is_the_latest_viewed_not_the_latest_received() {
        let c = contact_with(
            1,
            "t",
            &[
                (1, page_view(300, "/shoes")),
                (2, page_view(100, "/home")),
                (3, fact(400, FactKind::Other)),
            ],
        );
        assert_eq!(c.last_page.unwrap().value.words(), "/shoes");
    }

    #[test]
    fn interest_is_capped_by_recency() {
        let facts: Vec<(u64, Fact)> = (0..(MAX_INTEREST as u64 + 5))
            .map(|i| {
                (
                    i,
                    fact(
                        i as i64,
                        FactKind::ProductView {
                            product_id: format!("p{i}"),
                            name: "n".into(),
                            category: None,
                        },
                    ),
                )
            })
            .collect();
        let c = contact_with(1, "t", &facts);
        assert_eq!(c.interest.len(), MAX_INTEREST);
        assert!(!c.interest.iter().any(|p| p.product_id == "p0"));
    }

    #[test]
    fn spans_keep_their_trackers_first_and_last_seen() {
        let c = contact_with(1, "t", &[(1, fact(20, cart(1))), (2, fact(10, cart(1)))]);
        let s = &c.spans[0];
        assert_eq!((s.first_seen, s.last_seen), (Some(10), Some(20)));
        assert_eq!(s.user_agent.as_ref().unwrap().value, "ua20");
    }

    #[test]
    fn contact_ids_parse_only_positive_decimals() {
        assert_eq!(ContactId::parse("42"), ContactId::new(42));
        assert_eq!(ContactId::parse("0"), None);
        assert_eq!(ContactId::parse("-1"), None);
        assert_eq!(ContactId::parse("99999999999999999999999"), None);
    }
}
