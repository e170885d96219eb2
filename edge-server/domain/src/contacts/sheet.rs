//! The contact sheet as the admin API shows it: a pure function of a contact's aggregate, the
//! clock and the site's RFM cut points.

use std::collections::BTreeMap;

use footprint_protocol::Timestamp;
use serde::Serialize;
use serde_json::value::RawValue;

use super::aggregate::{month_key, ByCurrency, Contact, ContactId};
use super::fact::{Units, UNITS};
use super::named::{Consent, EmailStatus, RfmSegment, SmsStatus, Subscription};
use super::predict::{self, History, Prediction, SiteClv};
use super::rfm::{self, days_between, Inputs, Quintiles, DAY_MS};

/// How a sheet is read: the clock, and the settings that turn the aggregate into statuses.
#[derive(Debug, Clone, Copy)]
pub struct View {
    pub now: i64,
    /// A cart is abandoned once it is this old with no purchase after it. Default 1 h.
    pub abandoned_after_ms: i64,
}

/// Products of interest shown on a sheet.
pub const SHOWN_INTEREST: usize = 20;

/// An amount written exactly, with at least two decimals: `0.30`, `19.99`, `0.0005`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Money(pub Units);

impl std::fmt::Display for Money {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let sign = if self.0 < 0 { "-" } else { "" };
        let v = self.0.unsigned_abs();
        let (whole, frac) = (v / UNITS.unsigned_abs(), v % UNITS.unsigned_abs());
        let mut frac = format!("{frac:04}");
        while frac.len() > 2 && frac.ends_with('0') {
            frac.pop();
        }
        write!(f, "{sign}{whole}.{frac}")
    }
}

impl Serialize for Money {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

fn money(by: &ByCurrency) -> BTreeMap<String, Money> {
    by.iter()
        .filter(|(_, v)| **v != 0)
        .map(|(c, v)| (c.clone(), Money(*v)))
        .collect()
}

/// A time as RFC 3339; out-of-range values (which the store never writes) show as the epoch.
fn ts(ms: i64) -> Timestamp {
    Timestamp::from_millis(ms).unwrap_or(Timestamp::EPOCH)
}

#[derive(Debug, Serialize)]
pub struct Sheet {
    pub id: String,
    pub site: String,
    /// Set when the id asked for was merged into this contact: that id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub requested_id: Option<String>,
    /// Set with `requested_id`: this contact's id, which the requested one now resolves to.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub merged_into: Option<String>,
    pub created_at: Timestamp,
    pub last_activity_at: Option<Timestamp>,
    pub identified: bool,
    pub merged_ids: Vec<String>,
    pub trackers: Vec<TrackerRow>,
    pub profile: Profile,
    pub custom_fields: BTreeMap<String, Box<RawValue>>,
    pub status: Status,
    pub ecommerce: EcommerceView,
    pub products_of_interest: Vec<InterestRow>,
    pub rfm: Option<Rfm>,
    pub clv: Option<Clv>,
    pub valuation: Valuation,
    pub counts: super::aggregate::Counts,
    /// Events that show the contact doing something, per week (Monday, UTC) over the last
    /// 26 weeks, oldest first.
    pub activity_by_week: Vec<WeekActivity>,
    /// free | restricted | confidential: who may see this contact.
    pub confidentiality: &'static str,
    /// When the contact stops (or stopped) being valid; null while it is valid for good.
    pub valid_until: Option<Timestamp>,
    /// False once `valid_until` has passed: the contact is out of lists and search.
    pub valid: bool,
    /// The static segments it was added to, and the dynamic ones whose rule holds now.
    pub segments: Vec<super::membership::Membership>,
    /// Lead-scoring points now (decayed by the site's half-life), 2 decimals; 0 without any.
    pub points: f64,
    /// When points were last earned or adjusted.
    pub points_updated_at: Option<Timestamp>,
    /// Free labels, in alphabetical order.
    pub tags: Vec<String>,
    /// The shop's own id for the contact (an external CRM's), unique per site.
    pub reference: Option<String>,
    /// Admins' notes, newest first. Free text: personal data.
    pub notes: Vec<NoteView>,
    /// What the shop's email and SMS providers reported (`POST /v1/server/batch`).
    pub channels: ChannelsView,
}

/// Delivery per channel (emBlue).
#[derive(Debug, Serialize)]
pub struct ChannelsView {
    pub email: ChannelView,
    pub sms: ChannelView,
}

#[derive(Debug, Serialize)]
pub struct ChannelView {
    pub sent: TallyView,
    pub delivered: TallyView,
    pub opened: TallyView,
    pub clicked: TallyView,
    /// Every bounce, hard and soft.
    pub bounced: TallyView,
    /// Temporary bounces, all told.
    pub soft_bounces: u64,
    /// Hard bounces since the last delivery, open or click; at 3 the status is `bounced`.
    pub hard_bounces_in_a_row: u32,
    pub last_bounce: Option<BounceView>,
    pub complained: TallyView,
    pub unsubscribed: TallyView,
}

#[derive(Debug, Serialize)]
pub struct TallyView {
    pub count: u64,
    pub last_at: Option<Timestamp>,
}

#[derive(Debug, Serialize)]
pub struct BounceView {
    pub at: Timestamp,
    /// hard | soft
    pub kind: &'static str,
    pub reason: Option<String>,
}

fn channel_view(log: &super::delivery::ChannelLog) -> ChannelView {
    let tally = |t: &super::delivery::Tally| TallyView {
        count: t.count,
        last_at: t.last.map(ts),
    };
    ChannelView {
        sent: tally(&log.sent),
        delivered: tally(&log.delivered),
        opened: tally(&log.opened),
        clicked: tally(&log.clicked),
        bounced: tally(&log.bounced),
        soft_bounces: log.soft_bounces,
        hard_bounces_in_a_row: log.hard_in_a_row,
        last_bounce: log.last_bounce.as_ref().map(|b| BounceView {
            at: ts(b.at),
            kind: if b.hard { "hard" } else { "soft" },
            reason: b.reason.clone(),
        }),
        complained: tally(&log.complained),
        unsubscribed: tally(&log.unsubscribed),
    }
}

#[derive(Debug, Serialize)]
pub struct NoteView {
    /// Pass to `DELETE /v1/contacts/{id}/notes/{note}`.
    pub id: String,
    pub at: Timestamp,
    pub author: String,
    pub text: String,
}

#[derive(Debug, Serialize)]
pub struct TrackerRow {
    pub id: String,
    pub first_seen: Option<Timestamp>,
    pub last_seen: Option<Timestamp>,
    pub user_agent: Option<String>,
    /// The tracker points at this contact now; false for a stretch of history a tracker left
    /// behind when it moved to another contact.
    pub current: bool,
    /// browser | server: `server:<id>` holds what the shop's servers sent about the contact.
    pub source: &'static str,
}

#[derive(Debug, Serialize)]
pub struct Profile {
    pub email: Option<String>,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub birth_date: Option<String>,
    pub mobile_phone: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct Status {
    /// active | bounced | blocked | paused; null without an email.
    pub email: Option<EmailStatus>,
    /// subscribed | unsubscribed | not_subscribed
    pub newsletter: Subscription,
    /// active | bounced | paused | blocked; null without a phone.
    pub sms: Option<SmsStatus>,
    /// subscribed | unsubscribed | not_subscribed
    pub sms_subscription: Subscription,
    pub web_push: WebPush,
    /// yes | no | not_set
    pub consent: Consent,
}

#[derive(Debug, Serialize)]
pub struct WebPush {
    pub enabled: bool,
    /// granted | denied | default; null before the tracker reported one.
    pub permission: Option<&'static str>,
    pub subscriptions: Vec<PushRow>,
}

#[derive(Debug, Serialize)]
pub struct PushRow {
    /// The push service's origin; the full endpoint is a credential and is not shown.
    pub origin: String,
    pub since: Option<Timestamp>,
}

#[derive(Debug, Serialize)]
pub struct EcommerceView {
    pub purchases: u64,
    /// What was paid, less what refunds gave back.
    pub total_spent: BTreeMap<String, Money>,
    /// What refunds gave back, per currency.
    pub refunded: BTreeMap<String, Money>,
    pub average_order_value: BTreeMap<String, Money>,
    pub last_purchase_at: Option<Timestamp>,
    pub totals: Totals,
    pub cart: Option<CartView>,
}

/// Spend by calendar month (UTC): this month, this year, and the last 12 and 24 months
/// including this one.
#[derive(Debug, Serialize)]
pub struct Totals {
    /// Each of the last 24 calendar months (UTC), oldest first, with what was spent in it
    /// (less refunds); a month without any has an empty `spent`.
    pub by_month: Vec<MonthSpend>,
    pub this_month: BTreeMap<String, Money>,
    pub this_year: BTreeMap<String, Money>,
    pub last_12_months: BTreeMap<String, Money>,
    pub last_24_months: BTreeMap<String, Money>,
}

#[derive(Debug, Serialize)]
pub struct CartView {
    pub items: Vec<CartItemView>,
    pub total: Money,
    pub currency: String,
    pub updated_at: Timestamp,
    pub abandoned: bool,
}

#[derive(Debug, Serialize)]
pub struct CartItemView {
    pub product_id: String,
    pub name: String,
    pub price: Money,
    pub quantity: u32,
}

#[derive(Debug, Serialize)]
pub struct InterestRow {
    pub product_id: String,
    pub name: String,
    pub views: u64,
    pub cart_adds: u64,
    pub last_seen: Timestamp,
    pub score: f64,
}

#[derive(Debug, Serialize)]
pub struct Rfm {
    pub recency_days: i64,
    pub frequency: u64,
    pub monetary: Money,
    pub currency: String,
    /// Null until the background job has scored the site's purchasers once.
    pub r: Option<u8>,
    pub f: Option<u8>,
    pub m: Option<u8>,
    pub segment: Option<RfmSegment>,
}

#[derive(Debug, Serialize)]
pub struct Clv {
    pub historic_value: BTreeMap<String, Money>,
    pub orders: u64,
    pub average_order_value: BTreeMap<String, Money>,
    pub predicted: Predicted,
}

/// The predicted value (`predict`): the numbers when the site's model for the contact's
/// currency is fitted, otherwise `available: false` and the reason.
#[derive(Debug, Serialize)]
pub struct Predicted {
    pub available: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    #[serde(flatten, skip_serializing_if = "Option::is_none")]
    pub values: Option<PredictedValues>,
}

#[derive(Debug, Serialize)]
pub struct PredictedValues {
    pub currency: String,
    /// The probability that the contact still buys (has not dropped out), 0 to 1.
    pub probability_alive: f64,
    pub expected_purchases_90_days: f64,
    pub expected_purchases_12_months: f64,
    pub expected_value_per_purchase: Money,
    /// Expected purchases in 12 months times the expected value of one; undiscounted.
    pub predicted_12_months: Money,
    pub model_fitted_at: Timestamp,
}

/// What a sheet and a rule read of the site besides the contact: the models the background
/// jobs fit.
#[derive(Debug, Clone, Default)]
pub struct SiteModels {
    /// RFM cut points, for `rfm`.
    pub quintiles: Option<Quintiles>,
    /// CLV models, for `clv.predicted`.
    pub clv: Option<SiteClv>,
}

/// The contact's points at `now`; 0 without any.
pub fn points_of(c: &Contact, now: i64) -> f64 {
    c.extras.points.map_or(0.0, |p| p.value_at(now))
}

/// The contact's prediction, or why there is none; `None` without orders.
pub fn prediction(
    c: &Contact,
    models: &SiteModels,
    now: i64,
) -> Option<Result<Prediction, String>> {
    let h = History::of(c)?;
    Some(predict::predict(models.clv.as_ref(), &h, now))
}

fn predicted(c: &Contact, models: &SiteModels, now: i64) -> Predicted {
    match prediction(c, models, now) {
        Some(Ok(p)) => Predicted {
            available: true,
            reason: None,
            values: Some(PredictedValues {
                currency: p.currency,
                probability_alive: p.probability_alive,
                expected_purchases_90_days: p.expected_purchases_90_days,
                expected_purchases_12_months: p.expected_purchases_12_months,
                expected_value_per_purchase: Money(p.expected_value_per_purchase),
                predicted_12_months: Money(p.predicted_12_months),
                model_fitted_at: ts(p.model_fitted_at),
            }),
        },
        Some(Err(why)) => Predicted {
            available: false,
            reason: Some(why),
            values: None,
        },
        None => Predicted {
            available: false,
            reason: Some("the contact has no orders".into()),
            values: None,
        },
    }
}

/// One row of the contact list.
#[derive(Debug, Serialize)]
pub struct Row {
    pub id: String,
    pub name: Option<String>,
    pub email: Option<String>,
    pub phone: Option<String>,
    /// Found by an email or a phone; an anonymous contact is a tracker's only.
    pub identified: bool,
    pub valuation: Valuation,
    pub created_at: Timestamp,
    pub last_activity_at: Option<Timestamp>,
    pub tags: Vec<String>,
    pub points: f64,
    /// What an admin should see at a glance, in this order: `bounced`, `blocked` or `paused`
    /// (the email status), `unsubscribed` (the newsletter), `invalid` (past `valid_until`),
    /// `restricted` or `confidential`.
    pub badges: Vec<&'static str>,
    /// The user agent of the browser it was first seen on; none for a contact only the
    /// shop's servers or an admin made.
    pub first_device: Option<String>,
    /// The product it viewed last, by name (or id when the shop sent no name).
    pub last_viewed: Option<String>,
    /// The page it viewed last, by event time: its title, or its path when it had none.
    pub last_page: Option<String>,
}

/// The list row's badges of `c` at `now` (see [`Row::badges`]).
fn badges(c: &Contact, now: i64) -> Vec<&'static str> {
    let mut out = Vec::new();
    if let Some(s @ (EmailStatus::Bounced | EmailStatus::Blocked | EmailStatus::Paused)) =
        email_status(c)
    {
        out.push(s.as_str());
    }
    if newsletter(c) == Subscription::Unsubscribed {
        out.push("unsubscribed");
    }
    if c.invalid_at(now) {
        out.push("invalid");
    }
    match c.admin.confidentiality {
        super::Confidentiality::Free => {}
        other => out.push(other.as_str()),
    }
    out
}

#[derive(Debug, Serialize)]
pub struct MonthSpend {
    /// `YYYY-MM`.
    pub month: String,
    pub spent: BTreeMap<String, Money>,
}

/// One week of [`Sheet::activity_by_week`].
#[derive(Debug, Serialize)]
pub struct WeekActivity {
    /// The week's Monday, `YYYY-MM-DD`.
    pub week: String,
    pub events: u32,
}

/// Weeks in [`Sheet::activity_by_week`].
pub const WEEKS_SHOWN: u32 = 26;

fn by_week(c: &Contact, now: i64) -> Vec<WeekActivity> {
    c.weeks
        .last(now, WEEKS_SHOWN)
        .into_iter()
        .map(|(start, events)| WeekActivity {
            week: Timestamp::from_millis(start)
                .map(|t| t.to_string().get(..10).unwrap_or("").to_owned())
                .unwrap_or_default(),
            events,
        })
        .collect()
}

/// The last 24 calendar months of `c`'s spend, oldest first.
fn by_month(c: &Contact, now: i64) -> Vec<MonthSpend> {
    let last = month_key(now);
    (last - 23..=last)
        .map(|m| MonthSpend {
            month: format!("{:04}-{:02}", m.div_euclid(12), m.rem_euclid(12) + 1),
            spent: c.ecommerce.months.get(&m).map(money).unwrap_or_default(),
        })
        .collect()
}

/// A span of calendar months (UTC) ending with the current one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Period {
    All,
    ThisMonth,
    ThisYear,
    Last12Months,
    Last24Months,
}

/// What `c` spent in `p`, per currency.
pub fn spent_in(c: &Contact, p: Period, now: i64) -> ByCurrency {
    let e = &c.ecommerce;
    let month = month_key(now);
    let from = match p {
        Period::All => return e.spent.clone(),
        Period::ThisMonth => month,
        Period::ThisYear => month - month.rem_euclid(12),
        Period::Last12Months => month - 11,
        Period::Last24Months => month - 23,
    };
    let mut by = ByCurrency::new();
    for (_, m) in e.months.range(from..=month) {
        for (cur, v) in m {
            *by.entry(cur.clone()).or_insert(0) += v;
        }
    }
    by
}

/// The cart holds something, has not changed for the abandonment delay, and no purchase
/// came after it.
pub fn cart_abandoned(c: &Contact, v: View) -> bool {
    c.cart.as_ref().is_some_and(|s| {
        let purchased_after = c.ecommerce.last_purchase_at.is_some_and(|p| p >= s.at);
        !s.value.items.is_empty() && !purchased_after && v.now - s.at >= v.abandoned_after_ms
    })
}

/// The RFM grid's segment of `c`, when it has purchased and the site's quintiles exist.
pub fn rfm_segment(c: &Contact, quintiles: Option<&Quintiles>, now: i64) -> Option<RfmSegment> {
    let (i, _) = rfm_inputs(c)?;
    let (r, f, m) = quintiles?.score(&i, now);
    Some(rfm::segment(r, f, m))
}

// A channel's status shows its default until an admin or the channel sets one; the email and
// SMS statuses exist only once the contact has an email or a phone.

pub fn email_status(c: &Contact) -> Option<EmailStatus> {
    let set = c.channels.email_status;
    c.email.as_ref().map(|_| set.unwrap_or(EmailStatus::Active))
}

pub fn sms_status(c: &Contact) -> Option<SmsStatus> {
    let set = c.channels.sms_status;
    c.phone.as_ref().map(|_| set.unwrap_or(SmsStatus::Active))
}

pub fn newsletter(c: &Contact) -> Subscription {
    c.newsletter()
}

pub fn sms_subscription(c: &Contact) -> Subscription {
    c.channels
        .sms_subscription
        .unwrap_or(Subscription::NotSubscribed)
}

/// The latest consent event or admin edit; `not_set` without either.
pub fn consent(c: &Contact) -> Consent {
    c.consent
        .as_ref()
        .map_or(Consent::NotSet, |s| Consent::from(s.value))
}

/// Web push is enabled: an active subscription, and permission not since denied.
pub fn push_enabled(c: &Contact) -> bool {
    let denied = c
        .push_permission
        .as_ref()
        .is_some_and(|p| p.value == footprint_protocol::PushPermissionState::Denied);
    !denied && c.push.values().any(|s| s.active.value)
}

pub use super::named::Valuation;

/// The emBlue valuation: by calendar days (UTC) since the day of the last activity, so that a
/// contact's valuation changes at midnight, the same for every contact active that day (which
/// is what lets the store count them by day, `store::counts`).
pub fn valuation(last_activity_at: Option<i64>, now: i64) -> Valuation {
    valuation_of_days(last_activity_at.map(|l| day_of(now) - day_of(l)))
}

/// The UTC day a time falls on, counted from the epoch.
pub fn day_of(ms: i64) -> i64 {
    ms.div_euclid(DAY_MS)
}

/// The valuation of a contact last active `days` calendar days ago (`None`: never).
pub fn valuation_of_days(days: Option<i64>) -> Valuation {
    match days {
        None => Valuation::Inactive,
        Some(i64::MIN..=15) => Valuation::New,
        Some(16..=45) => Valuation::Frequent,
        Some(46..=120) => Valuation::Dormant,
        Some(_) => Valuation::Lapsed,
    }
}

/// Half-life of a product's interest score, in days.
pub const INTEREST_HALF_LIFE_DAYS: f64 = 14.0;
/// A cart add weighs this many views.
pub const CART_ADD_WEIGHT: f64 = 3.0;

/// A product's interest: `(views + 3 · cart_adds) · 0.5^(days since last seen / 14)`.
pub fn interest_score(views: u64, cart_adds: u64, last_seen: i64, now: i64) -> f64 {
    let age_days = (now - last_seen).max(0) as f64 / DAY_MS as f64;
    let raw = views as f64 + CART_ADD_WEIGHT * cart_adds as f64;
    let s = raw * 0.5f64.powf(age_days / INTEREST_HALF_LIFE_DAYS);
    // Three decimals are plenty to rank by and keep the JSON short.
    (s * 1000.0).round() / 1000.0
}

/// The RFM inputs of a contact; `None` without purchases.
pub fn rfm_inputs(c: &Contact) -> Option<(Inputs, String)> {
    let e = &c.ecommerce;
    let last = e.last_purchase_at?;
    let currency = e.main_currency()?.to_owned();
    Some((
        Inputs {
            last_purchase_at: last,
            frequency: e.purchases(),
            monetary: e.spent.get(&currency).copied().unwrap_or(0),
        },
        currency,
    ))
}

fn aov(spent: &ByCurrency, orders: &BTreeMap<String, u64>) -> BTreeMap<String, Money> {
    spent
        .iter()
        .filter_map(|(c, v)| {
            let n = Units::from(*orders.get(c)?);
            if n == 0 {
                return None;
            }
            // Rounded half away from zero to the ten-thousandth; in i128 nothing here can
            // overflow (see `Units`).
            Some((c.clone(), Money((2 * v + n) / (2 * n))))
        })
        .collect()
}

fn endpoint_origin(endpoint: &str) -> String {
    let rest = endpoint.strip_prefix("https://").unwrap_or(endpoint);
    let host = rest.split(['/', '?', '#']).next().unwrap_or("");
    format!("https://{host}")
}

fn name_of(c: &Contact) -> Option<String> {
    let parts: Vec<&str> = [&c.first_name, &c.last_name]
        .into_iter()
        .filter_map(|s| s.as_ref().map(|s| s.value.as_str()))
        .collect();
    (!parts.is_empty()).then(|| parts.join(" "))
}

pub fn row(c: &Contact, now: i64) -> Row {
    Row {
        id: c.id.to_string(),
        name: name_of(c),
        email: c.email.clone(),
        phone: c.phone.clone(),
        identified: c.identified(),
        valuation: valuation(c.last_activity_at, now),
        created_at: ts(c.created_at),
        last_activity_at: c.last_activity_at.map(ts),
        tags: c.extras.tags.iter().cloned().collect(),
        points: points_of(c, now),
        badges: badges(c, now),
        first_device: c
            .spans
            .iter()
            .filter(|s| s.user_agent.is_some())
            .min_by_key(|s| s.first_seen.unwrap_or(i64::MAX))
            .and_then(|s| s.user_agent.as_ref())
            .map(|u| u.value.clone()),
        last_page: c.last_page.as_ref().map(|p| p.value.words().to_owned()),
        last_viewed: c
            .interest
            .iter()
            .filter(|p| p.views > 0)
            .max_by_key(|p| p.last_seen)
            .map(|p| {
                if p.name.value.is_empty() {
                    p.product_id.clone()
                } else {
                    p.name.value.clone()
                }
            }),
    }
}

/// The sheet of `c`. `requested` is the id asked for when it was merged into `c`.
pub fn render(c: &Contact, requested: Option<ContactId>, models: &SiteModels, v: View) -> Sheet {
    let quintiles = models.quintiles.as_ref();
    let now = v.now;
    // One row per tracker: its stretches of history here, combined.
    let mut trackers: BTreeMap<&str, TrackerRow> = BTreeMap::new();
    let mut ua_at: BTreeMap<&str, (i64, super::aggregate::Pos)> = BTreeMap::new();
    for s in &c.spans {
        let row = trackers.entry(&s.tracker).or_insert_with(|| TrackerRow {
            id: s.tracker.clone(),
            first_seen: None,
            last_seen: None,
            user_agent: None,
            current: false,
            source: if s
                .tracker
                .starts_with(footprint_protocol::SERVER_TRACKER_PREFIX)
            {
                "server"
            } else {
                "browser"
            },
        });
        row.current |= s.to.is_none();
        if let Some(f) = s.first_seen.map(ts) {
            row.first_seen = Some(row.first_seen.map_or(f, |r| r.min(f)));
        }
        if let Some(l) = s.last_seen.map(ts) {
            row.last_seen = Some(row.last_seen.map_or(l, |r| r.max(l)));
        }
        if let Some(ua) = &s.user_agent {
            let newer = ua_at
                .get(s.tracker.as_str())
                .is_none_or(|seen| (ua.at, ua.pos) > *seen);
            if newer {
                ua_at.insert(&s.tracker, (ua.at, ua.pos));
                row.user_agent = Some(ua.value.clone());
            }
        }
    }
    let mut trackers: Vec<TrackerRow> = trackers.into_values().collect();
    trackers.sort_by(|a, b| b.last_seen.cmp(&a.last_seen).then(a.id.cmp(&b.id)));

    let e = &c.ecommerce;
    let sum_months = |p: Period| money(&spent_in(c, p, now));
    let cart = c
        .cart
        .as_ref()
        .filter(|s| !s.value.items.is_empty())
        .map(|s| CartView {
            items: s
                .value
                .items
                .iter()
                .map(|l| CartItemView {
                    product_id: l.product_id.clone(),
                    name: l.name.clone(),
                    price: Money(l.price),
                    quantity: l.quantity,
                })
                .collect(),
            total: Money(s.value.total),
            currency: s.value.currency.clone(),
            updated_at: ts(s.at),
            abandoned: cart_abandoned(c, v),
        });

    let mut interest: Vec<InterestRow> = c
        .interest
        .iter()
        .map(|p| InterestRow {
            product_id: p.product_id.clone(),
            name: p.name.value.clone(),
            views: p.views,
            cart_adds: p.cart_adds,
            last_seen: ts(p.last_seen),
            score: interest_score(p.views, p.cart_adds, p.last_seen, now),
        })
        .collect();
    interest.sort_by(|a, b| {
        b.score
            .total_cmp(&a.score)
            .then(b.last_seen.cmp(&a.last_seen))
            .then(a.product_id.cmp(&b.product_id))
    });
    interest.truncate(SHOWN_INTEREST);

    let rfm = rfm_inputs(c).map(|(i, currency)| {
        let scores = quintiles.map(|q| q.score(&i, now));
        Rfm {
            recency_days: days_between(i.last_purchase_at, now),
            frequency: i.frequency,
            monetary: Money(i.monetary),
            currency,
            r: scores.map(|s| s.0),
            f: scores.map(|s| s.1),
            m: scores.map(|s| s.2),
            segment: scores.map(|(r, f, m)| rfm::segment(r, f, m)),
        }
    });
    let (spent, average) = (money(&e.spent), aov(&e.spent, &e.orders));
    let clv = (e.purchases() > 0).then(|| Clv {
        historic_value: spent.clone(),
        orders: e.purchases(),
        average_order_value: average.clone(),
        predicted: predicted(c, models, now),
    });
    let permission = c.push_permission.as_ref().map(|p| match p.value {
        footprint_protocol::PushPermissionState::Granted => "granted",
        footprint_protocol::PushPermissionState::Denied => "denied",
        footprint_protocol::PushPermissionState::Default => "default",
    });
    let subscriptions: Vec<PushRow> = c
        .push
        .iter()
        .filter(|(_, s)| s.active.value)
        .map(|(endpoint, s)| PushRow {
            origin: endpoint_origin(endpoint),
            since: s.subscribed.as_ref().map(|s| ts(s.at)),
        })
        .collect();

    Sheet {
        id: c.id.to_string(),
        site: c.site.clone(),
        requested_id: requested.map(|r| r.to_string()),
        merged_into: requested.map(|_| c.id.to_string()),
        created_at: ts(c.created_at),
        last_activity_at: c.last_activity_at.map(ts),
        identified: c.identified(),
        merged_ids: c.merged_ids.iter().map(ToString::to_string).collect(),
        trackers,
        profile: Profile {
            email: c.email.clone(),
            first_name: c.first_name.as_ref().map(|s| s.value.clone()),
            last_name: c.last_name.as_ref().map(|s| s.value.clone()),
            birth_date: c.birth_date.as_ref().map(|s| s.value.clone()),
            mobile_phone: c.phone.clone(),
        },
        custom_fields: c
            .custom
            .iter()
            .filter_map(|(k, v)| Some((k.clone(), RawValue::from_string(v.value.clone()).ok()?)))
            .collect(),
        status: Status {
            email: email_status(c),
            newsletter: newsletter(c),
            sms: sms_status(c),
            sms_subscription: sms_subscription(c),
            web_push: WebPush {
                enabled: push_enabled(c),
                permission,
                subscriptions,
            },
            consent: consent(c),
        },
        ecommerce: EcommerceView {
            purchases: e.purchases(),
            total_spent: spent,
            refunded: money(&c.extras.refunded),
            average_order_value: average,
            last_purchase_at: e.last_purchase_at.map(ts),
            totals: Totals {
                by_month: by_month(c, now),
                this_month: sum_months(Period::ThisMonth),
                this_year: sum_months(Period::ThisYear),
                last_12_months: sum_months(Period::Last12Months),
                last_24_months: sum_months(Period::Last24Months),
            },
            cart,
        },
        products_of_interest: interest,
        rfm,
        clv,
        valuation: valuation(c.last_activity_at, now),
        counts: c.counts.clone(),
        activity_by_week: by_week(c, now),
        confidentiality: c.admin.confidentiality.as_str(),
        valid_until: c.admin.valid_until.map(ts),
        valid: !c.invalid_at(now),
        segments: Vec::new(),
        points: points_of(c, now),
        points_updated_at: c.extras.points.map(|p| ts(p.at)),
        tags: c.extras.tags.iter().cloned().collect(),
        reference: c.extras.reference.clone(),
        notes: c
            .extras
            .notes
            .iter()
            .rev()
            .map(|n| NoteView {
                id: n.id.to_string(),
                at: ts(n.id),
                author: n.author.clone(),
                text: n.text.clone(),
            })
            .collect(),
        channels: ChannelsView {
            email: channel_view(&c.deliveries.email),
            sms: channel_view(&c.deliveries.sms),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn money_is_written_exactly() {
        assert_eq!(Money(3_000).to_string(), "0.30");
        assert_eq!(Money(199_900).to_string(), "19.99");
        assert_eq!(Money(5).to_string(), "0.0005");
        assert_eq!(Money(120_000).to_string(), "12.00");
        assert_eq!(Money(0).to_string(), "0.00");
    }

    #[test]
    fn valuation_boundaries() {
        // Noon of day 1,000.
        let midnight = 1_000 * DAY_MS;
        let now = midnight + DAY_MS / 2;
        let ago = |d: i64| Some(now - d * DAY_MS);
        assert_eq!(valuation(None, now).as_str(), "inactive");
        assert_eq!(valuation(ago(0), now).as_str(), "new");
        assert_eq!(valuation(ago(15), now).as_str(), "new");
        // Calendar days: the first minute of the day 15 days back is new, 15.5 days ago; the
        // last minute of the day before it is frequent, though under 16 × 24 hours ago.
        assert_eq!(valuation(Some(midnight - 15 * DAY_MS), now).as_str(), "new");
        assert_eq!(
            valuation(Some(midnight - 15 * DAY_MS - 1), now).as_str(),
            "frequent"
        );
        assert_eq!(valuation(ago(16), now).as_str(), "frequent");
        assert_eq!(valuation(ago(45), now).as_str(), "frequent");
        assert_eq!(valuation(ago(46), now).as_str(), "dormant");
        assert_eq!(valuation(ago(120), now).as_str(), "dormant");
        assert_eq!(valuation(ago(121), now).as_str(), "lapsed");
    }

    #[test]
    fn average_order_value_rounds_half_up() {
        let spent = ByCurrency::from([("EUR".to_owned(), 10_000)]);
        let orders = BTreeMap::from([("EUR".to_owned(), 3)]);
        // 1.00 / 3 = 0.3333…
        assert_eq!(aov(&spent, &orders)["EUR"], Money(3_333));
        let spent = ByCurrency::from([("EUR".to_owned(), 5)]);
        let orders = BTreeMap::from([("EUR".to_owned(), 2)]);
        assert_eq!(aov(&spent, &orders)["EUR"], Money(3));
    }

    #[test]
    fn interest_halves_every_fourteen_days() {
        let now = 100 * DAY_MS;
        assert_eq!(interest_score(2, 1, now, now), 5.0);
        assert_eq!(interest_score(2, 1, now - 14 * DAY_MS, now), 2.5);
    }

    #[test]
    fn push_origins_hide_the_endpoint_path() {
        assert_eq!(
            endpoint_origin("https://fcm.googleapis.com/fcm/send/abc"),
            "https://fcm.googleapis.com"
        );
    }
}
