//! The admin read domain: turns store records into the admin API's wire types.

use footprint_protocol::{EventPage, EventRecord, EventType, Timestamp, TrackerId};
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

use crate::auth::AdminIdentity;
use crate::config::Config;
use crate::contacts::patch::time_text;
use crate::contacts::segment::{Rule, Segment};
pub use crate::contacts::sheet::Sheet;
use crate::contacts::sheet::{self, Money, View};
use crate::contacts::{
    Confidentiality, Contact, ContactId, EmailStatus, Pos, SmsStatus, Subscription,
};
use crate::error::{contact_id, ApiError};
use crate::identity::{Email, Phone, Region};
use crate::store::{Cursor, HistoryEntry, Resolved, Store, StoreError, StoredEvent};

pub const DEFAULT_PAGE: usize = 50;
pub const MAX_PAGE: usize = 500;

/// A page of one tracker's events, newest first.
pub fn tracker_events(
    store: &Store,
    tracker: &str,
    who: &AdminIdentity,
    before: Option<&str>,
    limit: Option<usize>,
) -> Result<EventPage, ApiError> {
    let tracker = TrackerId::new(tracker)
        .map_err(|e| ApiError::bad_request("invalid_tracker_id", format!("tracker_id {e}")))?;
    let unknown = || ApiError::NotFound(format!("tracker {} has sent no events", tracker.as_str()));
    // A tracker's events are the contacts' whose spans hold them: a shared device's events
    // before a login are another contact's. A caller cleared for every level reads them all;
    // anyone else reads only the spans of the contacts it may see that hold the tracker now.
    // (Earlier holders are not indexed by tracker; their events stay readable through their
    // own activity.)
    let visible: Option<Vec<(String, Pos, Option<Pos>)>> = if who.sees(Confidentiality::MAX) {
        None
    } else {
        let mut spans = Vec::new();
        for (site, id) in store.tracker_contacts(tracker.as_str())? {
            let Ok(r) = resolve(store, id, who) else {
                continue;
            };
            spans.extend(
                r.contact
                    .spans
                    .iter()
                    .filter(|s| s.tracker == tracker.as_str())
                    .map(|s| (site.clone(), s.from, s.to)),
            );
        }
        if spans.is_empty() {
            return Err(unknown());
        }
        Some(spans)
    };
    let keep = |site: &str, pos: Pos| {
        visible.as_ref().is_none_or(|spans| {
            spans
                .iter()
                .any(|(s, from, to)| s == site && pos >= *from && to.is_none_or(|to| pos < to))
        })
    };
    let limit = limit.unwrap_or(DEFAULT_PAGE);
    if !(1..=MAX_PAGE).contains(&limit) {
        return Err(ApiError::bad_request(
            "invalid_limit",
            format!("limit must be 1 to {MAX_PAGE}"),
        ));
    }
    let before = before.map(parse_cursor).transpose()?;
    let (events, next) = store
        .tracker_events(&tracker, before, limit, keep)
        .map_err(|e| {
            tracing::error!(error = %e, "reading tracker events failed");
            ApiError::Internal
        })?;
    let events = events
        .into_iter()
        .map(to_record)
        .collect::<Result<Vec<_>, _>>()?;
    Ok(EventPage {
        events,
        next: next.map(|c| c.to_string()),
    })
}

pub(crate) fn to_record(e: StoredEvent) -> Result<EventRecord, ApiError> {
    let ts = |ms: i64| Timestamp::from_millis(ms).map_err(|_| corrupt("timestamp"));
    let json = |s: String| RawValue::from_string(s).map_err(|_| corrupt("json"));
    Ok(EventRecord {
        message_id: e.fields.message_id,
        tracker_id: e.tracker_id,
        site_key: e.site,
        kind: e.fields.kind.as_str().to_owned(),
        timestamp: ts(e.fields.timestamp)?,
        client_timestamp: ts(e.fields.client_timestamp)?,
        sent_at: ts(e.sent_at)?,
        received_at: ts(e.received_at)?,
        context: json(e.fields.context_json)?,
        properties: json(e.fields.properties_json)?,
    })
}

fn corrupt(what: &str) -> ApiError {
    tracing::error!(what, "stored event has an unreadable field");
    ApiError::Internal
}

/// What the contact endpoints need besides the store.
#[derive(Debug, Clone, Copy)]
pub struct ContactSettings {
    pub abandoned_after_ms: i64,
    pub region: Option<Region>,
    /// How long after an erasure its compaction is due.
    pub compact_after_erase_ms: i64,
}

impl ContactSettings {
    pub fn from_config(cfg: &Config) -> ContactSettings {
        ContactSettings {
            abandoned_after_ms: i64::from(cfg.contacts.abandoned_cart_after_minutes) * 60_000,
            region: cfg.identity.default_region,
            compact_after_erase_ms: i64::from(cfg.store.compact_after_erase_minutes) * 60_000,
        }
    }
}

fn page_limit(limit: Option<usize>) -> Result<usize, ApiError> {
    let limit = limit.unwrap_or(DEFAULT_PAGE);
    if !(1..=MAX_PAGE).contains(&limit) {
        return Err(ApiError::bad_request(
            "invalid_limit",
            format!("limit must be 1 to {MAX_PAGE}"),
        ));
    }
    Ok(limit)
}

/// The contact `id` resolves to, when `who` may see it: one above the caller's clearance is
/// answered exactly as an absent one.
fn resolve(store: &Store, id: ContactId, who: &AdminIdentity) -> Result<Resolved, ApiError> {
    match store.contact(id)? {
        Some(r) if who.sees(r.contact.admin.confidentiality) => Ok(r),
        Some(_) => Err(ApiError::NotFound(format!("no contact {id}"))),
        None => Err(match store.erased_at(id)? {
            Some(at) => ApiError::Gone(format!(
                "contact {id} was erased at {}; only the record of its erasure remains, at \
                 /v1/contacts/{id}/history",
                crate::contacts::patch::time_text(at)
            )),
            None => ApiError::NotFound(format!("no contact {id}")),
        }),
    }
}

pub fn sheet_of(
    store: &Store,
    id: ContactId,
    who: &AdminIdentity,
    settings: ContactSettings,
    now: Timestamp,
) -> Result<Sheet, ApiError> {
    sheet_and_contact(store, id, who, settings, now).map(|(sheet, _)| sheet)
}

/// The sheet and the contact it was rendered from, for a caller that needs both (the
/// extract) without resolving the contact twice.
pub fn sheet_and_contact(
    store: &Store,
    id: ContactId,
    who: &AdminIdentity,
    settings: ContactSettings,
    now: Timestamp,
) -> Result<(Sheet, Contact), ApiError> {
    let r = resolve(store, id, who)?;
    let models = store.site_models(&r.contact.site)?;
    let view = View {
        now: now.as_millis(),
        abandoned_after_ms: settings.abandoned_after_ms,
    };
    let mut sheet = sheet::render(&r.contact, r.requested, &models, view);
    let cx = crate::contacts::segment::Context {
        view,
        models: &models,
    };
    sheet.segments = crate::segments::memberships(store, &r.contact, &cx)?;
    Ok((sheet, r.contact))
}

/// The activity page of a contact.
#[derive(Debug, Serialize)]
pub struct ActivityPage {
    pub contact_id: String,
    pub events: Vec<EventRecord>,
    /// Pass as `before` for the next page; absent on the last one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next: Option<String>,
}

/// Event types as a `type_bit` mask; `None` is every type.
fn type_mask(types: Option<&str>) -> Result<u32, ApiError> {
    let Some(types) = types.filter(|t| !t.trim().is_empty()) else {
        return Ok(u32::MAX);
    };
    let mut mask = 0;
    for t in types.split(',').map(str::trim) {
        let ty = EventType::parse(t).ok_or_else(|| {
            let all: Vec<&str> = EventType::ALL.iter().map(|t| t.as_str()).collect();
            ApiError::bad_request(
                "invalid_type",
                format!("`{t}` is not an event type; use any of {}", all.join(", ")),
            )
        })?;
        mask |= crate::store::type_bit(ty);
    }
    Ok(mask)
}

/// `GET /v1/contacts/{id}/activity`: newest first, across all the contact's trackers.
/// `GET /v1/contacts/{id}/activity`'s query: which event types (comma-separated), how many,
/// and from which cursor back.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ActivityQuery {
    #[serde(rename = "type")]
    pub types: Option<String>,
    pub limit: Option<usize>,
    pub before: Option<String>,
}

pub fn contact_activity(
    store: &Store,
    id: &str,
    who: &AdminIdentity,
    q: &ActivityQuery,
) -> Result<ActivityPage, ApiError> {
    let limit = page_limit(q.limit)?;
    let mask = type_mask(q.types.as_deref())?;
    let r = resolve(store, contact_id(id)?, who)?;
    let (events, next) = by_arrival(store, &r.contact, mask, q.before.as_deref(), limit)?;
    Ok(ActivityPage {
        contact_id: r.contact.id.to_string(),
        events,
        next,
    })
}

/// A page of `c`'s events, newest received first, from the cursor `before`, and the cursor
/// of the next page.
fn by_arrival(
    store: &Store,
    c: &Contact,
    mask: u32,
    before: Option<&str>,
    limit: usize,
) -> Result<(Vec<EventRecord>, Option<String>), ApiError> {
    let before = before.map(parse_cursor).transpose()?;
    let (events, next) = store.activity(c, mask, before.map(Into::into), limit)?;
    let events = events
        .into_iter()
        .map(to_record)
        .collect::<Result<Vec<_>, _>>()?;
    Ok((events, next.map(|p| Cursor::from(p).to_string())))
}

/// A contact with up to this many events reads in event time on the console's timeline:
/// each page reads them all (a few milliseconds). Above it, the timeline is newest received
/// first, which costs one page's events whatever the history.
pub const TIMELINE_BY_TIME_MAX: u64 = 5_000;

/// The console's timeline: a page of events and where the next one starts.
#[derive(Debug)]
pub struct Timeline {
    pub events: Vec<EventRecord>,
    /// Pass as `before` for the next page; absent on the last one.
    pub next: Option<String>,
    /// Ordered by event time (corrected), newest first; false: newest received first.
    pub by_time: bool,
}

/// One page of the contact's timeline, newest first by event time (ties by arrival) for a
/// contact of at most [`TIMELINE_BY_TIME_MAX`] events, so a late batch of old events falls
/// into its place; by arrival above it. `before` is a `next` of either kind.
pub fn contact_timeline(
    store: &Store,
    id: &str,
    who: &AdminIdentity,
    q: &ActivityQuery,
) -> Result<Timeline, ApiError> {
    let limit = page_limit(q.limit)?;
    let mask = type_mask(q.types.as_deref())?;
    let r = resolve(store, contact_id(id)?, who)?;
    if r.contact.counts.events > TIMELINE_BY_TIME_MAX {
        let (events, next) = by_arrival(store, &r.contact, mask, q.before.as_deref(), limit)?;
        return Ok(Timeline {
            events,
            next,
            by_time: false,
        });
    }
    let bad = || {
        ApiError::bad_request(
            "invalid_cursor",
            "before must be a `next` value from an earlier page",
        )
    };
    // `t<ms>-<cursor>`: the last shown event's time and place.
    let after = match q.before.as_deref() {
        None => None,
        Some(c) => {
            let (at, pos) = c
                .strip_prefix('t')
                .and_then(|c| c.split_once('-'))
                .ok_or_else(bad)?;
            Some((at.parse::<i64>().map_err(|_| bad())?, parse_cursor(pos)?))
        }
    };
    let max = TIMELINE_BY_TIME_MAX as usize;
    let (mut all, _) = store.activity(&r.contact, mask, None, max)?;
    all.sort_by_key(|e| std::cmp::Reverse((e.fields.timestamp, e.cursor)));
    let mut page = all
        .into_iter()
        .filter(|e| after.is_none_or(|last| (e.fields.timestamp, e.cursor) < last))
        .take(limit + 1)
        .collect::<Vec<_>>();
    let next = match page.len() > limit {
        true => {
            page.truncate(limit);
            page.last()
                .map(|e| format!("t{}-{}", e.fields.timestamp, e.cursor))
        }
        false => None,
    };
    Ok(Timeline {
        events: page
            .into_iter()
            .map(to_record)
            .collect::<Result<Vec<_>, _>>()?,
        next,
        by_time: true,
    })
}

/// `GET /v1/contacts/{id}/orders`: one page of the contact's orders, newest first.
#[derive(Debug, Serialize)]
pub struct OrdersPage {
    pub contact_id: String,
    pub orders: Vec<OrderView>,
    /// Pass as `cursor` for the next page; absent on the last one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct OrderView {
    pub order_id: String,
    pub at: Timestamp,
    pub items: Vec<OrderLine>,
    pub total: Money,
    pub currency: String,
    /// `browser` (the tracker's `/v1/batch`) or `server` (the shop's backend).
    pub source: &'static str,
    pub refunds: Vec<RefundView>,
    pub refunded: Money,
    /// The total less the refunds.
    pub net: Money,
}

#[derive(Debug, Serialize)]
pub struct OrderLine {
    pub product_id: String,
    pub name: String,
    pub price: Money,
    pub quantity: u32,
}

#[derive(Debug, Serialize)]
pub struct RefundView {
    pub at: Timestamp,
    pub amount: Money,
    pub reason: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OrdersQuery {
    pub limit: Option<usize>,
    pub cursor: Option<String>,
}

fn millis(ms: i64) -> Timestamp {
    Timestamp::from_millis(ms).unwrap_or(Timestamp::EPOCH)
}

pub fn contact_orders(
    store: &Store,
    id: &str,
    who: &AdminIdentity,
    q: &OrdersQuery,
) -> Result<OrdersPage, ApiError> {
    let limit = page_limit(q.limit)?;
    let before = q.cursor.as_deref().map(order_cursor).transpose()?;
    let r = resolve(store, contact_id(id)?, who)?;
    let (orders, next) = store.orders(&r.contact, before, limit)?;
    Ok(OrdersPage {
        contact_id: r.contact.id.to_string(),
        orders: orders
            .into_iter()
            .map(|o| OrderView {
                at: millis(o.at),
                items: o
                    .items
                    .iter()
                    .map(|l| OrderLine {
                        product_id: l.product_id.clone(),
                        name: l.name.clone(),
                        price: Money(l.price),
                        quantity: l.quantity,
                    })
                    .collect(),
                total: Money(o.total),
                source: o.source.as_str(),
                refunds: o
                    .refunds
                    .iter()
                    .map(|r| RefundView {
                        at: millis(r.at),
                        amount: Money(r.amount),
                        reason: r.reason.clone(),
                    })
                    .collect(),
                refunded: Money(o.refunded()),
                net: Money(o.total - o.refunded()),
                currency: o.currency,
                order_id: o.order_id,
            })
            .collect(),
        next: next.map(|(at, hash)| format!("{at}-{}", hex::encode(hash))),
    })
}

/// An orders cursor: `at-hash` as a page's `next` gave it.
fn order_cursor(c: &str) -> Result<(u64, [u8; 16]), ApiError> {
    let bad = || {
        ApiError::bad_request(
            "invalid_cursor",
            "cursor must be a `next` value from an earlier page of orders",
        )
    };
    let (at, hash) = c.split_once('-').ok_or_else(bad)?;
    let at = at.parse::<u64>().map_err(|_| bad())?;
    let hash = hex::decode(hash)
        .ok()
        .and_then(|h| <[u8; 16]>::try_from(h).ok())
        .ok_or_else(bad)?;
    Ok((at, hash))
}

fn parse_cursor(c: &str) -> Result<Cursor, ApiError> {
    Cursor::parse(c).ok_or_else(|| {
        ApiError::bad_request(
            "invalid_cursor",
            "before must be a `next` value from an earlier page",
        )
    })
}

/// The filters of `GET /v1/contacts`.
#[derive(Debug, Default, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    pub email: Option<String>,
    pub phone: Option<String>,
    /// Exactly this reference (the shop's CRM id), through its index.
    pub reference: Option<String>,
    /// Contacts with this tag (any case).
    pub tag: Option<String>,
    /// `newest` (the default: newest contact first) or `points` (most points first; only
    /// contacts with points).
    pub sort: Option<String>,
    pub q: Option<String>,
    /// `enabled` or `disabled`.
    pub push: Option<String>,
    /// `active`, `bounced`, `blocked` or `paused`: the sheet's `status.email`.
    pub email_status: Option<String>,
    /// `subscribed`, `unsubscribed` or `not_subscribed`: the sheet's `status.newsletter`.
    pub newsletter: Option<String>,
    /// The sheet's `status.sms`: `active`, `bounced`, `blocked` or `paused`.
    pub sms_status: Option<String>,
    pub valuation: Option<String>,
    pub has_email: Option<bool>,
    pub has_phone: Option<bool>,
    pub segment: Option<String>,
    pub site: Option<String>,
    /// Include contacts whose `valid_until` has passed. Default false.
    pub include_invalid: Option<bool>,
    pub limit: Option<usize>,
    pub cursor: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct ContactList {
    pub contacts: Vec<sheet::Row>,
    /// Pass as `cursor` for the next page; absent on the last one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next: Option<String>,
}

/// A filtered list stops after looking at this many contacts and hands back a cursor, so that
/// a selective filter over a large base answers in bounded time with a short page.
pub const LIST_SCAN_BUDGET: usize = 20_000;
/// A search prefix matching more index entries than this is refused: type more of it.
pub const SEARCH_MAX: usize = 10_000;

/// `GET /v1/contacts`: exact email or phone lookups through their indexes, prefix search over
/// emails and names, or every contact; newest first, filtered.
pub fn list_contacts(
    store: &Store,
    q: &ListQuery,
    who: &AdminIdentity,
    settings: ContactSettings,
    now: Timestamp,
) -> Result<ContactList, ApiError> {
    let limit = page_limit(q.limit)?;
    let (contacts, next) = select(
        store,
        q,
        None,
        who,
        settings,
        now,
        (limit, LIST_SCAN_BUDGET),
        sheet::row,
    )?;
    Ok(ContactList { contacts, next })
}

/// Rows an export reads per step: its memory stays that of one page.
pub const EXPORT_PAGE: usize = 1000;

/// `GET /v1/contacts/export.csv`: the list's contacts, every page of them, as CSV. Calls
/// `out` with each page's text; stops early when `out` returns false (the client left).
pub fn export_contacts(
    store: &Store,
    q: &ListQuery,
    who: &AdminIdentity,
    settings: ContactSettings,
    now: Timestamp,
    mut out: impl FnMut(Vec<u8>) -> bool,
) -> Result<(), ApiError> {
    let mut q = q.clone();
    let mut header = true;
    loop {
        let page = (EXPORT_PAGE, LIST_SCAN_BUDGET);
        let (rows, next) = select(store, &q, None, who, settings, now, page, export_row)?;
        let mut w = csv::Writer::from_writer(Vec::new());
        if std::mem::take(&mut header) {
            w.write_record(EXPORT_COLUMNS).map_err(csv_error)?;
        }
        for r in rows {
            w.write_record(r.iter().map(|v| formula_safe(v).into_owned()))
                .map_err(csv_error)?;
        }
        let text = w
            .into_inner()
            .map_err(|e| csv_error(e.into_error().into()))?;
        if !out(text) {
            return Ok(());
        }
        match next {
            Some(n) => q.cursor = Some(n),
            None => return Ok(()),
        }
    }
}

fn csv_error(e: csv::Error) -> ApiError {
    tracing::error!(error = %e, "writing CSV failed");
    ApiError::Internal
}

/// The export's columns: the import's (so an export imports back), then what only the edge
/// knows.
pub const EXPORT_COLUMNS: [&str; 15] = [
    "email",
    "phone",
    "first_name",
    "last_name",
    "birth_date",
    "newsletter",
    "tags",
    "reference",
    "id",
    "email_status",
    "sms_status",
    "sms_subscription",
    "valuation",
    "created_at",
    "last_activity_at",
];

fn export_row(c: &Contact, now: i64) -> Vec<String> {
    let s = |v: &Option<String>| v.clone().unwrap_or_default();
    let name = |v: Option<&'static str>| v.unwrap_or_default().to_owned();
    let stamped = |v: &Option<crate::contacts::aggregate::Stamped<String>>| {
        v.as_ref().map(|v| v.value.clone()).unwrap_or_default()
    };
    let time = |ms: Option<i64>| ms.map(time_text).unwrap_or_default();
    vec![
        s(&c.email),
        s(&c.phone),
        stamped(&c.first_name),
        stamped(&c.last_name),
        stamped(&c.birth_date),
        c.newsletter().as_str().to_owned(),
        c.extras.tags.iter().cloned().collect::<Vec<_>>().join(", "),
        s(&c.extras.reference),
        c.id.to_string(),
        name(c.channels.email_status.map(|v| v.as_str())),
        name(c.channels.sms_status.map(|v| v.as_str())),
        name(c.channels.sms_subscription.map(|v| v.as_str())),
        sheet::valuation(c.last_activity_at, now)
            .as_str()
            .to_owned(),
        time(Some(c.created_at)),
        time(c.last_activity_at),
    ]
}

/// A cell a spreadsheet would run as a formula (`=`, `+`, `-`, `@`, or a tab or carriage
/// return that hides one) is prefixed with `'`, which spreadsheets show as text (OWASP's CSV
/// injection advice). A phone's `+` is escaped too: the cell then reads as text, not a number.
pub fn formula_safe(v: &str) -> std::borrow::Cow<'_, str> {
    match v.as_bytes().first() {
        Some(b'=' | b'+' | b'-' | b'@' | b'\t' | b'\r') => format!("'{v}").into(),
        _ => v.into(),
    }
}

/// The contacts a list query selects, newest first, mapped by `row`: at most `limit`, and the
/// cursor of the next page when more may remain.
/// The contacts `q` (and `rule`, when given) selects that `who` may see, newest first: up to
/// `limit` rows, looking at no more than `budget` contacts when it has to walk them all.
#[allow(clippy::too_many_arguments)]
fn select<R>(
    store: &Store,
    q: &ListQuery,
    rule: Option<&Rule>,
    who: &AdminIdentity,
    settings: ContactSettings,
    now: Timestamp,
    (limit, budget): (usize, usize),
    row: impl Fn(&Contact, i64) -> R,
) -> Result<(Vec<R>, Option<String>), ApiError> {
    let segment = q
        .segment
        .as_deref()
        .map(|s| list_segment(store, s))
        .transpose()?;
    let now = now.as_millis();
    let valuation = named_filter::<sheet::Valuation>("valuation", q.valuation.as_deref())?;
    let push = match q.push.as_deref() {
        None => None,
        Some("enabled") => Some(true),
        Some("disabled") => Some(false),
        Some(_) => {
            return Err(ApiError::bad_request(
                "invalid_filter",
                "push must be enabled or disabled",
            ))
        }
    };
    let email_status = named_filter::<EmailStatus>("email_status", q.email_status.as_deref())?;
    let newsletter = named_filter::<Subscription>("newsletter", q.newsletter.as_deref())?;
    let sms_status = named_filter::<SmsStatus>("sms_status", q.sms_status.as_deref())?;
    let by_points = match q.sort.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        None | Some("newest") => false,
        Some("points") => true,
        Some(other) => {
            return Err(ApiError::bad_request(
                "invalid_sort",
                format!("sort `{other}` is not an order; use newest or points"),
            ))
        }
    };
    let (cursor, points_cursor) = if by_points {
        (None, q.cursor.as_deref().map(points_cursor).transpose()?)
    } else {
        (q.cursor.as_deref().map(contact_id).transpose()?, None)
    };
    let tag = q
        .tag
        .as_deref()
        .filter(|t| !t.trim().is_empty())
        .map(|t| crate::contacts::patch::tag("tag", t))
        .transpose()
        .map_err(|e| ApiError::bad_request("invalid_filter", e.to_string()))?;
    let include_invalid = q.include_invalid.unwrap_or(false);
    let models = SiteModelsCache::new(store, settings, now);
    let in_segment = |c: &Contact| -> Result<bool, ApiError> {
        let in_list = match &segment {
            None => true,
            Some((s, None)) => c.extras.segments.contains(&s.id),
            Some((_, Some(rule))) => models.holds(rule, c)?,
        };
        Ok(in_list && rule.map_or(Ok(true), |r| models.holds(r, c))?)
    };
    let keep = |c: &Contact| -> Result<bool, ApiError> {
        let plain = who.sees(c.admin.confidentiality)
            && (include_invalid || !c.invalid_at(now))
            && q.site.as_ref().is_none_or(|s| &c.site == s)
            && q.has_email.is_none_or(|h| c.email.is_some() == h)
            && q.has_phone.is_none_or(|h| c.phone.is_some() == h)
            && valuation.is_none_or(|v| sheet::valuation(c.last_activity_at, now) == v)
            && push.is_none_or(|p| sheet::push_enabled(c) == p)
            && email_status.is_none_or(|s| sheet::email_status(c) == Some(s))
            && newsletter.is_none_or(|s| sheet::newsletter(c) == s)
            && sms_status.is_none_or(|s| sheet::sms_status(c) == Some(s))
            && tag.as_ref().is_none_or(|t| {
                c.extras
                    .tags
                    .iter()
                    .any(|have| have.eq_ignore_ascii_case(t))
            });
        Ok(plain && in_segment(c)?)
    };
    let by_index = if let Some(e) = &q.email {
        let e = Email::normalize(e)
            .map_err(|why| ApiError::bad_request("invalid_email", format!("email {why}")))?;
        Some(store.by_email(e.as_str())?)
    } else if let Some(r) = &q.reference {
        let r = crate::contacts::patch::reference("reference", r)
            .map_err(|e| ApiError::bad_request("invalid_reference", e.to_string()))?;
        Some(store.by_reference(&r)?)
    } else if let Some(p) = &q.phone {
        let p = Phone::normalize(p, settings.region)
            .map_err(|why| ApiError::bad_request("invalid_phone", format!("phone {why}")))?;
        Some(store.by_phone(p.as_str())?)
    } else if let Some(text) = &q.q {
        let prefix = text.trim().to_lowercase();
        if prefix.is_empty() {
            return Err(ApiError::bad_request(
                "invalid_query",
                "q must not be empty: give the start of an email or a name",
            ));
        }
        if prefix.chars().count() < crate::store::MIN_SEARCH_CHARS {
            return Err(ApiError::bad_request(
                "query_too_short",
                format!(
                    "q must hold at least {} characters of an email or a name",
                    crate::store::MIN_SEARCH_CHARS
                ),
            ));
        }
        let found = store.search(&prefix, SEARCH_MAX)?;
        Some(found.ok_or_else(|| {
            ApiError::bad_request(
                "query_too_broad",
                format!(
                    "q is too broad: it matches over {SEARCH_MAX} contacts, or shares its \
                     start with over {} others; type more of the email or name (6 characters \
                     or more look in a narrower index)",
                    crate::store::SEARCH_SCAN_MAX
                ),
            )
        })?)
    } else {
        None
    };

    let mut rows = Vec::new();
    let mut next = None;
    match by_index {
        Some(mut ids) => {
            ids.sort_unstable_by(|a, b| b.cmp(a));
            let mut seen = std::collections::HashSet::new();
            let mut last = None;
            for id in ids.into_iter().filter(|id| cursor.is_none_or(|c| *id < c)) {
                let Some(r) = store.contact(id)? else {
                    continue;
                };
                let c = r.contact;
                if !seen.insert(c.id) || !keep(&c)? {
                    continue;
                }
                if rows.len() == limit {
                    next = last.map(|l: ContactId| l.to_string());
                    break;
                }
                rows.push(row(&c, now));
                last = Some(id);
            }
        }
        None if by_points => {
            let mut scanned = 0;
            let mut last: Option<[u8; 18]> = None;
            for item in store.contacts_by_points(points_cursor) {
                let (c, key) = item?;
                scanned += 1;
                if keep(&c)? {
                    if rows.len() == limit {
                        next = last.map(hex::encode);
                        break;
                    }
                    rows.push(row(&c, now));
                }
                last = Some(key);
                if scanned == budget {
                    next = last.map(hex::encode);
                    break;
                }
            }
        }
        None => {
            let mut scanned = 0;
            let mut last = None;
            // A static segment's own index is the shorter walk.
            let source: Box<dyn Iterator<Item = Result<Contact, StoreError>>> = match &segment {
                Some((s, None)) => Box::new(store.members_before(s.id, cursor).filter_map(|id| {
                    match id.and_then(|id| store.contact(id)) {
                        Ok(Some(r)) if r.requested.is_none() => Some(Ok(r.contact)),
                        Ok(_) => None,
                        Err(e) => Some(Err(e)),
                    }
                })),
                _ => Box::new(store.contacts_before(cursor)),
            };
            for c in source {
                let c = c?;
                scanned += 1;
                if keep(&c)? {
                    if rows.len() == limit {
                        next = last.map(|l: ContactId| l.to_string());
                        break;
                    }
                    rows.push(row(&c, now));
                }
                last = Some(c.id);
                if scanned == budget {
                    next = last.map(|l| l.to_string());
                    break;
                }
            }
        }
    }
    Ok((rows, next))
}

/// A filter naming one of a closed set (`newsletter=subscribed`); empty is no filter.
fn named_filter<T: crate::contacts::named::Named>(
    name: &str,
    value: Option<&str>,
) -> Result<Option<T>, ApiError> {
    match value.filter(|v| !v.is_empty()) {
        None => Ok(None),
        Some(v) => T::parse(v).map(Some).ok_or_else(|| {
            ApiError::bad_request(
                "invalid_filter",
                format!("{name} must be one of {}", T::NAMES.join(", ")),
            )
        }),
    }
}

/// Each site's models, read once per request, for testing rules against its contacts.
struct SiteModelsCache<'a> {
    store: &'a Store,
    view: sheet::View,
    by_site: std::cell::RefCell<std::collections::HashMap<String, sheet::SiteModels>>,
}

impl<'a> SiteModelsCache<'a> {
    fn new(store: &'a Store, settings: ContactSettings, now: i64) -> Self {
        SiteModelsCache {
            store,
            view: sheet::View {
                now,
                abandoned_after_ms: settings.abandoned_after_ms,
            },
            by_site: Default::default(),
        }
    }

    fn holds(&self, rule: &Rule, c: &Contact) -> Result<bool, ApiError> {
        let mut cache = self.by_site.borrow_mut();
        if !cache.contains_key(&c.site) {
            let m = self.store.site_models(&c.site)?;
            cache.insert(c.site.clone(), m);
        }
        let Some(models) = cache.get(&c.site) else {
            return Ok(false);
        };
        let cx = crate::contacts::segment::Context {
            view: self.view,
            models,
        };
        Ok(rule.holds(c, &cx))
    }
}

/// How many contacts a count looks at before it answers "at least": what keeps a count's
/// time bounded at any size of base (about a second on the bench machine).
pub const COUNT_BUDGET: usize = 250_000;

/// How many contacts match: exactly, or at least `count` when the base is larger than
/// [`COUNT_BUDGET`] and the count stopped there.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Matching {
    pub count: u64,
    pub exact: bool,
}

/// How many contacts `q` selects (its cursor, limit and sort aside) and `rule` holds for,
/// of those `who` may see.
pub fn count_contacts(
    store: &Store,
    q: &ListQuery,
    rule: Option<&Rule>,
    who: &AdminIdentity,
    settings: ContactSettings,
    now: Timestamp,
) -> Result<Matching, ApiError> {
    let q = ListQuery {
        cursor: None,
        limit: None,
        sort: None,
        ..q.clone()
    };
    let page = (usize::MAX, COUNT_BUDGET);
    let (rows, next) = select(store, &q, rule, who, settings, now, page, |_, _| ())?;
    Ok(Matching {
        count: rows.len() as u64,
        exact: next.is_none(),
    })
}

/// Every segment's member count among the contacts `who` may see (valid ones, as the list
/// shows them): one walk over the contacts for all segments, up to [`COUNT_BUDGET`].
pub fn segment_sizes(
    store: &Store,
    who: &AdminIdentity,
    settings: ContactSettings,
    now: Timestamp,
) -> Result<Vec<(u64, Matching)>, ApiError> {
    let segments = store.segments()?;
    let rules = segments
        .iter()
        .map(|s| {
            s.parsed_rule().map_err(|e| {
                tracing::error!(segment = s.id, error = ?e, "a stored rule does not parse");
                ApiError::Internal
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    let now = now.as_millis();
    let models = SiteModelsCache::new(store, settings, now);
    let mut counts = vec![0u64; segments.len()];
    let (mut scanned, mut exact) = (0, true);
    for c in store.contacts_before(None) {
        if scanned == COUNT_BUDGET {
            exact = false;
            break;
        }
        scanned += 1;
        let c = c?;
        if !who.sees(c.admin.confidentiality) || c.invalid_at(now) {
            continue;
        }
        for ((s, rule), n) in segments.iter().zip(&rules).zip(counts.iter_mut()) {
            let member = match rule {
                None => c.extras.segments.contains(&s.id),
                Some(rule) => models.holds(rule, &c)?,
            };
            *n += u64::from(member);
        }
    }
    Ok(segments
        .iter()
        .zip(counts)
        .map(|(s, count)| (s.id, Matching { count, exact }))
        .collect())
}

/// A `sort=points` cursor: the hex of the last row's points-order key.
fn points_cursor(c: &str) -> Result<[u8; 18], ApiError> {
    hex::decode(c)
        .ok()
        .and_then(|b| <[u8; 18]>::try_from(b).ok())
        .ok_or_else(|| {
            ApiError::bad_request(
                "invalid_cursor",
                "cursor must be a `next` value from an earlier page of the same sort",
            )
        })
}

/// The segment a list's `segment=` names, with its rule when dynamic.
fn list_segment(
    store: &Store,
    id: &str,
) -> Result<(Segment, Option<crate::contacts::segment::Rule>), ApiError> {
    let missing = || {
        ApiError::bad_request(
            "invalid_filter",
            format!("segment `{id}` does not exist; GET /v1/segments lists them"),
        )
    };
    let n = id.parse::<u64>().map_err(|_| missing())?;
    let s = store.segment(n)?.ok_or_else(missing)?;
    let rule = s.parsed_rule().map_err(|e| {
        tracing::error!(segment = n, error = ?e, "a stored rule does not parse");
        ApiError::Internal
    })?;
    Ok((s, rule))
}

/// The contact a tracker points at now.
#[derive(Debug, Serialize)]
pub struct TrackerContact {
    pub tracker_id: String,
    pub site: String,
    pub contact: sheet::Row,
}

/// `GET /v1/trackers/{tracker_id}/contact`. A tracker seen on several sites needs `site`.
pub fn tracker_contact(
    store: &Store,
    tracker: &str,
    who: &AdminIdentity,
    site: Option<&str>,
    now: Timestamp,
) -> Result<TrackerContact, ApiError> {
    let tracker = TrackerId::new(tracker)
        .map_err(|e| ApiError::bad_request("invalid_tracker_id", format!("tracker_id {e}")))?;
    let mut found = store.tracker_contacts(tracker.as_str())?;
    if let Some(s) = site {
        found.retain(|(site, _)| site == s);
    }
    // A tracker whose contact the caller may not see is answered as one never seen, on every
    // site: neither the 404 nor the list of sites may tell it apart.
    let mut visible = Vec::with_capacity(found.len());
    for (site, id) in found {
        match resolve(store, id, who) {
            Ok(r) => visible.push((site, r)),
            Err(ApiError::NotFound(_) | ApiError::Gone(_)) => {}
            Err(e) => return Err(e),
        }
    }
    let mut found = visible;
    let (site, r) = match found.len() {
        0 => {
            return Err(ApiError::NotFound(format!(
                "tracker {} has sent no events{}",
                tracker.as_str(),
                site.map(|s| format!(" to site {s}")).unwrap_or_default()
            )))
        }
        1 => found.remove(0),
        _ => {
            let sites: Vec<&str> = found.iter().map(|(s, _)| s.as_str()).collect();
            return Err(ApiError::bad_request(
                "ambiguous_tracker",
                format!(
                    "tracker {} is known on several sites ({}); add ?site=",
                    tracker.as_str(),
                    sites.join(", ")
                ),
            ));
        }
    };
    Ok(TrackerContact {
        tracker_id: tracker.as_str().to_owned(),
        site,
        contact: sheet::row(&r.contact, now.as_millis()),
    })
}

/// `GET /v1/contacts/{id}/history`: changes oldest first.
#[derive(Debug, Serialize)]
pub struct HistoryPage {
    pub contact_id: String,
    pub changes: Vec<HistoryRow>,
    /// More changes fall in the range than `limit`: ask again from the last one's `at`.
    pub truncated: bool,
}

#[derive(Debug, Serialize)]
pub struct HistoryRow {
    pub at: Timestamp,
    pub who: String,
    pub field: String,
    pub old: Option<String>,
    pub new: Option<String>,
}

pub const MAX_HISTORY_PAGE: usize = 1000;

fn time_param(name: &str, v: Option<&str>) -> Result<Option<i64>, ApiError> {
    v.map(|s| {
        Timestamp::parse(s).map(|t| t.as_millis()).map_err(|_| {
            ApiError::bad_request(
                "invalid_time",
                format!("{name} must be an RFC 3339 time such as 2026-11-01T00:00:00Z"),
            )
        })
    })
    .transpose()
}

/// The history of a contact and of the contacts merged into it, from `from` up to, not
/// including, `to`.
/// `GET /v1/contacts/{id}/history`'s query: a time window and how many changes.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HistoryQuery {
    pub from: Option<String>,
    pub to: Option<String>,
    pub limit: Option<usize>,
}

pub fn contact_history(
    store: &Store,
    id: &str,
    who: &AdminIdentity,
    q: &HistoryQuery,
) -> Result<HistoryPage, ApiError> {
    let (from, to) = (q.from.as_deref(), q.to.as_deref());
    let limit = q.limit.unwrap_or(100);
    if !(1..=MAX_HISTORY_PAGE).contains(&limit) {
        return Err(ApiError::bad_request(
            "invalid_limit",
            format!("limit must be 1 to {MAX_HISTORY_PAGE}"),
        ));
    }
    let from = time_param("from", from)?.unwrap_or(0);
    let to = time_param("to", to)?.unwrap_or(i64::MAX);
    let id = contact_id(id)?;
    // An erased contact's history is the record of its erasure, which holds no personal data.
    let ids = match resolve(store, id, who) {
        Ok(r) => {
            let mut ids = vec![r.contact.id];
            ids.extend(&r.contact.merged_ids);
            ids
        }
        Err(ApiError::Gone(_)) => vec![id],
        Err(e) => return Err(e),
    };
    let (entries, truncated) = store.history(&ids, from, to, limit)?;
    Ok(HistoryPage {
        contact_id: ids[0].to_string(),
        changes: entries
            .into_iter()
            .map(history_row)
            .collect::<Result<_, _>>()?,
        truncated,
    })
}

/// The latest `limit` changes of a contact and the contacts merged into it, newest first, and
/// whether older ones remain.
pub fn latest_history(
    store: &Store,
    c: &Contact,
    limit: usize,
) -> Result<(Vec<HistoryRow>, bool), ApiError> {
    let mut ids = vec![c.id];
    ids.extend(&c.merged_ids);
    let (entries, more) = store.latest_history(&ids, limit)?;
    let rows = entries
        .into_iter()
        .map(history_row)
        .collect::<Result<_, _>>()?;
    Ok((rows, more))
}

/// All of a contact's history and its merged contacts', oldest first: for the extract.
pub fn full_history(store: &Store, c: &Contact) -> Result<Vec<HistoryRow>, ApiError> {
    let mut ids = vec![c.id];
    ids.extend(&c.merged_ids);
    let (entries, _) = store.history(&ids, 0, i64::MAX, usize::MAX - 1)?;
    entries.into_iter().map(history_row).collect()
}

fn history_row(e: HistoryEntry) -> Result<HistoryRow, ApiError> {
    Ok(HistoryRow {
        at: Timestamp::from_millis(e.at).map_err(|_| corrupt("history time"))?,
        who: e.who,
        field: e.field,
        old: e.old,
        new: e.new,
    })
}

/// A PATCH body checked into an edit, or the 422 naming the bad field.
pub fn parse_patch(body: &[u8]) -> Result<crate::contacts::patch::Patch, ApiError> {
    let v: serde_json::Value = serde_json::from_slice(body)
        .map_err(|e| ApiError::bad_request("invalid_json", format!("the body is not JSON: {e}")))?;
    let serde_json::Value::Object(map) = v else {
        return Err(ApiError::bad_request(
            "invalid_json",
            "the body must be a JSON object of fields to change",
        ));
    };
    patch_from(&map)
}

/// [`parse_patch`] of fields already parsed: the console's form.
pub fn patch_from(
    fields: &serde_json::Map<String, serde_json::Value>,
) -> Result<crate::contacts::patch::Patch, ApiError> {
    crate::contacts::patch::Patch::parse(fields).map_err(|e| ApiError::Unprocessable {
        field: e.field,
        message: e.message,
    })
}

/// `{"from": id}` of an explicit merge.
/// `{"text": "..."}`: a note's text, checked.
pub fn parse_note(body: &[u8]) -> Result<String, ApiError> {
    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct NewNote {
        text: String,
    }
    let n: NewNote = serde_json::from_slice(body).map_err(|e| {
        ApiError::bad_request("invalid_json", format!("send {{\"text\": \"...\"}}: {e}"))
    })?;
    crate::contacts::patch::note_text("text", &n.text).map_err(|e| ApiError::Unprocessable {
        field: e.field,
        message: e.message,
    })
}

/// A note's id from a path: one that is not a number is a note the contact does not have.
pub fn note_id(contact: ContactId, raw: &str) -> Result<i64, ApiError> {
    raw.parse()
        .map_err(|_| ApiError::NotFound(format!("contact {contact} has no note {raw}")))
}

pub fn parse_merge(body: &[u8]) -> Result<ContactId, ApiError> {
    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Merge {
        from: serde_json::Value,
    }
    let m: Merge = serde_json::from_slice(body).map_err(|e| {
        ApiError::bad_request(
            "invalid_json",
            format!("send {{\"from\": CONTACT_ID}}: {e}"),
        )
    })?;
    let text = match &m.from {
        serde_json::Value::String(s) => s.clone(),
        serde_json::Value::Number(n) => n.to_string(),
        _ => String::new(),
    };
    ContactId::parse(&text).ok_or_else(|| ApiError::Unprocessable {
        field: "from".into(),
        message: "must be a contact id".into(),
    })
}
