//! The console's pages as askama templates, and the small view types they read. Every value a
//! template prints is escaped by askama; nothing here builds HTML by hand.

use std::collections::BTreeMap;

use actix_web::http::StatusCode;
use actix_web::HttpResponse;
use askama::Template;
use footprint_protocol::{EventRecord, EventType, Timestamp};
use serde_json::Value;

pub use super::locale::{amount_in, decimal, number, percent, up_to};
pub use super::parts::Choice;
use crate::contacts::segment::SegmentKind;
use crate::contacts::sheet::Valuation;

use crate::contacts::sheet::Money;

/// A rendered page with `status`. A template that fails to render (it cannot, short of a bug)
/// is logged and answered as a bare 500.
pub fn html(status: StatusCode, page: &impl Template) -> HttpResponse {
    match page.render() {
        Ok(body) => HttpResponse::build(status)
            .content_type("text/html; charset=utf-8")
            .body(body),
        Err(e) => {
            tracing::error!(error = %e, "a console template failed to render");
            HttpResponse::InternalServerError().finish()
        }
    }
}

/// What every signed-in page shows around its content.
pub struct Chrome {
    pub title: String,
    /// `contacts` or `segments`: the current navigation entry.
    pub nav: &'static str,
    pub who: String,
    pub role: String,
    pub csrf: String,
    pub flash: Option<String>,
}

/// A time as people read it: `2026-11-24 10:31 UTC`.
pub fn when(t: &Timestamp) -> String {
    let s = t.to_string();
    match (s.get(..10), s.get(11..16)) {
        (Some(d), Some(hm)) => format!("{d} {hm} UTC"),
        _ => s,
    }
}

/// A day as people read it: `Saturday 28 November 2026` (UTC).
pub fn day_words(t: &Timestamp) -> String {
    const DAYS: [&str; 7] = [
        "Monday",
        "Tuesday",
        "Wednesday",
        "Thursday",
        "Friday",
        "Saturday",
        "Sunday",
    ];
    const MONTHS: [&str; 12] = [
        "January",
        "February",
        "March",
        "April",
        "May",
        "June",
        "July",
        "August",
        "September",
        "October",
        "November",
        "December",
    ];
    let s = t.to_string();
    let part = |r: std::ops::Range<usize>| s.get(r).and_then(|p| p.parse::<usize>().ok());
    // 1970-01-01 was a Thursday (index 3 from Monday).
    let weekday = (t.as_millis().div_euclid(86_400_000) + 3).rem_euclid(7) as usize;
    match (part(0..4), part(5..7), part(8..10)) {
        (Some(y), Some(m @ 1..=12), Some(d)) => {
            format!("{} {d} {} {y}", DAYS[weekday], MONTHS[m - 1])
        }
        _ => s.get(..10).unwrap_or("").to_owned(),
    }
}

pub fn when_opt(t: &Option<Timestamp>) -> String {
    t.as_ref().map(when).unwrap_or_else(|| "—".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn devices_read_as_people_name_them() {
        let linux = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) \
                     Chrome/156.0.0.0 Safari/537.36";
        assert_eq!(device_words(linux), "Chrome 156 on Linux");
        let iphone = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 \
                      (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1";
        assert_eq!(device_words(iphone), "Safari 17 on iPhone");
        assert_eq!(device_words("curl/8.5.0"), "HTTP Library curl");
        assert_eq!(device_words("NotABrowser"), "NotABrowser");
    }

    #[test]
    fn days_read_in_words() {
        let t = Timestamp::parse("2026-11-28T23:59:59Z").unwrap();
        assert_eq!(day_words(&t), "Saturday 28 November 2026");
        let t = Timestamp::parse("2026-11-23T00:00:00Z").unwrap();
        assert_eq!(day_words(&t), "Monday 23 November 2026");
    }
}

/// Amounts by currency: `€119.00, $20.00`; a dash for none.
pub fn money(by: &BTreeMap<String, Money>) -> String {
    if by.is_empty() {
        return "—".into();
    }
    by.iter()
        .map(|(c, v)| amount_in(v.0, c))
        .collect::<Vec<_>>()
        .join(", ")
}

/// One input of a form, with the error the server found in it.
pub struct FieldView {
    pub name: String,
    pub label: String,
    pub value: String,
    pub error: Option<String>,
    /// The input's type; ignored when `choices` is not empty (a select).
    pub input: &'static str,
    pub choices: Vec<Choice>,
    pub hint: &'static str,
}

#[derive(Template)]
#[template(path = "console/error.html")]
pub struct ErrorPage {
    pub title: &'static str,
    pub message: String,
}

#[derive(Template)]
#[template(path = "console/login.html")]
pub struct LoginPage {
    pub csrf: String,
    pub error: Option<String>,
    pub notice: Option<String>,
}

/// A row of a contact list.
pub struct RowView {
    pub id: String,
    pub name: String,
    pub anonymous: bool,
    pub badges: Vec<&'static str>,
    pub email: String,
    pub phone: String,
    pub valuation: Valuation,
    pub created: String,
    pub last_activity: String,
    pub tags: Vec<String>,
    /// For an anonymous row: "Chrome 156 on Linux · last page: Summer sale · viewed Linen
    /// shirt".
    pub seen: String,
}

impl RowView {
    pub fn of(r: &crate::contacts::sheet::Row) -> RowView {
        let text = |v: &Option<String>| v.clone().unwrap_or_default();
        RowView {
            id: r.id.clone(),
            name: text(&r.name),
            anonymous: !r.identified,
            badges: r.badges.clone(),
            seen: match r.identified {
                true => String::new(),
                false => [
                    r.first_device.as_deref().map(device_words),
                    r.last_page
                        .as_deref()
                        .map(|p| format!("last page: {}", clipped(p, 60))),
                    r.last_viewed.as_ref().map(|p| format!("viewed {p}")),
                ]
                .into_iter()
                .flatten()
                .collect::<Vec<_>>()
                .join(" · "),
            },
            email: text(&r.email),
            phone: text(&r.phone),
            valuation: r.valuation,
            created: when(&r.created_at),
            last_activity: when_opt(&r.last_activity_at),
            tags: r.tags.clone(),
        }
    }
}

pub struct SegmentOption {
    pub id: String,
    pub name: String,
    pub is_static: bool,
    pub selected: bool,
}

#[derive(Template)]
#[template(path = "console/contacts.html")]
pub struct ContactsPage {
    pub chrome: Chrome,
    /// The contacts the admin sees (valid ones, every site), from the store's counters.
    pub total: String,
    pub total_is_one: bool,
    pub overview: Vec<CountButton>,
    /// Some filter or search is set: offer to clear them.
    /// Every site's purchasers on the RFM grid, once scored.
    pub rfm_grid: Option<GridChart>,
    pub filtered: bool,
    /// The valuation mix as one stacked bar; none without contacts.
    pub mix: Option<BarChart>,
    /// With no contacts at all, each site's script tag to paste.
    pub snippets: Vec<String>,
    pub can_edit: bool,
    pub can_admin: bool,
    /// What the search box holds: `email`, `phone` or `reference`.
    pub by: String,
    pub search: String,
    pub tag: String,
    pub sort: Vec<Choice>,
    pub has_email: Vec<Choice>,
    pub has_phone: Vec<Choice>,
    pub push: Vec<Choice>,
    pub valuation: Vec<Choice>,
    pub email_status: Vec<Choice>,
    pub newsletter: Vec<Choice>,
    pub sms_status: Vec<Choice>,
    /// "12 contacts match", under filters.
    pub matching: Option<String>,
    pub segments: Vec<SegmentOption>,
    pub include_invalid: bool,
    pub rows: Vec<RowView>,
    pub next_url: Option<String>,
    pub export_url: String,
    /// This page's own URL, for a bulk action to come back to.
    pub back: String,
    pub sites: Vec<String>,
    pub error: Option<String>,
    pub create: Vec<FieldView>,
    pub create_error: Option<String>,
    pub report: Option<crate::import::ImportReport>,
    pub import_error: Option<String>,
}

impl ContactsPage {
    fn has_static_segments(&self) -> bool {
        self.segments.iter().any(|s| s.is_static)
    }
}

pub struct TrackerView {
    pub id: String,
    pub first_seen: String,
    pub last_seen: String,
    /// "Chrome 156 on Linux".
    pub device: String,
    /// The user agent as sent, for the tooltip.
    pub user_agent: String,
    pub current: bool,
}

/// `text` cut to `max` characters with an ellipsis, so one long page title (up to 500
/// characters, a shopper's browser chooses it) cannot make a list row a paragraph.
fn clipped(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        None => text.to_owned(),
        Some((end, _)) => format!("{}…", text[..end].trim_end()),
    }
}

/// A device as people name it, from its user agent: `Chrome 156 on Linux`, `Safari 17 on
/// iPhone`; the agent itself when the parser knows neither browser nor system.
pub fn device_words(user_agent: &str) -> String {
    let Some(ua) = woothee::parser::Parser::new().parse(user_agent) else {
        return user_agent.to_owned();
    };
    let known = |s: &str| !s.is_empty() && s != woothee::woothee::VALUE_UNKNOWN;
    let major = ua
        .version
        .split('.')
        .next()
        .filter(|v| known(v))
        .unwrap_or("");
    let browser = match (known(ua.name), major) {
        (true, "") => ua.name.to_owned(),
        (true, v) => format!("{} {v}", ua.name),
        (false, _) => String::new(),
    };
    // woothee names iOS devices by model ("iPhone") and others by system.
    let os = ua.os;
    match (browser.is_empty(), known(os)) {
        (false, true) => format!("{browser} on {os}"),
        (false, false) => browser,
        (true, true) => os.to_owned(),
        (true, false) => user_agent.to_owned(),
    }
}

pub struct HistoryView {
    pub at: String,
    pub who: String,
    pub field: String,
    pub old: String,
    pub new: String,
}

pub struct Fact {
    pub label: &'static str,
    pub value: String,
}

pub struct CartLineView {
    pub name: String,
    pub product_id: String,
    pub quantity: u32,
    pub price: String,
}

pub struct CartBox {
    pub lines: Vec<CartLineView>,
    pub total: String,
    pub updated: String,
    pub abandoned: bool,
}

pub struct InterestView {
    pub name: String,
    pub product_id: String,
    pub views: u64,
    pub cart_adds: u64,
    pub score: String,
    pub last_seen: String,
}

pub struct MembershipView {
    pub id: String,
    pub name: String,
    pub is_static: bool,
}

/// What the Profile and Activity tabs share: who the contact is.
pub struct SheetHead {
    pub id: String,
    pub title: String,
    pub subtitle: String,
    pub valuation: Valuation,
    pub merged_note: Option<String>,
    pub invalid: bool,
}

#[derive(Template)]
#[template(path = "console/profile.html")]
pub struct ProfilePage {
    pub chrome: Chrome,
    pub head: SheetHead,
    pub can_edit: bool,
    pub can_admin: bool,
    pub fields: Vec<FieldView>,
    pub statuses: Vec<FieldView>,
    pub custom: Vec<FieldView>,
    pub new_custom: FieldView,
    pub new_custom_value: FieldView,
    pub form_error: Option<String>,
    pub web_push: String,
    pub notes: Vec<NoteRow>,
    pub value: Vec<Fact>,
    pub ecommerce: Vec<Fact>,
    pub cart: Option<CartBox>,
    pub interest: Vec<InterestView>,
    pub segments: Vec<MembershipView>,
    pub addable: Vec<SegmentOption>,
    pub trackers: Vec<TrackerView>,
    pub history: Vec<HistoryView>,
    pub history_more: bool,
    pub counts: Vec<Fact>,
    /// The Channels card: one row per kind of delivery event, email and SMS side by side.
    pub channels: Vec<ChannelRow>,
    /// Spend per month over the last 24, in the contact's main currency; none without any.
    pub spend_chart: Option<BarChart>,
    pub rfm_grid: Option<GridChart>,
    /// Each channel's last bounce, when it has had one: `(id, text)`.
    pub bounces: Vec<(&'static str, String)>,
}

/// One figure of the contacts overview: a link that filters the list by it.
pub struct CountButton {
    pub id: &'static str,
    pub label: &'static str,
    pub count: u64,
    pub href: String,
    pub current: bool,
}

/// A bar chart drawn as SVG on the server (no script, no download): bars in a `width` ×
/// `height` box, and a sentence that says what it shows for those who cannot see it.
pub struct BarChart {
    pub title: String,
    pub summary: String,
    pub width: u32,
    pub height: u32,
    pub bars: Vec<Bar>,
}

pub struct Bar {
    pub x: u32,
    pub y: u32,
    pub w: u32,
    pub h: u32,
    /// A class for its colour (`console.css`).
    pub class: &'static str,
    /// Its tooltip: what and how much.
    pub label: String,
}

/// The RFM grid drawn as SVG: recency score up (R5 at the top), frequency score across, each
/// cell shaded by its share of the busiest cell, the contact's own outlined.
pub struct GridChart {
    pub title: String,
    pub summary: String,
    pub cells: Vec<GridCell>,
    /// Axis labels: (x, y, text).
    pub labels: Vec<(u32, u32, String)>,
}

pub struct GridCell {
    pub x: u32,
    pub y: u32,
    /// `shade-0` (none) to `shade-4` (the busiest), and ` you` on the contact's cell.
    pub class: String,
    pub label: String,
    pub n: String,
}

/// Side of a cell, and the room left for the axis labels.
const CELL: u32 = 44;
const AXIS: u32 = 28;

impl GridChart {
    /// The grid of `cells` (`[r - 1][f - 1]`), taken at `at`, with `you` (r, f) marked.
    pub fn of(cells: &crate::census::Cells, at: i64, you: Option<(u8, u8)>) -> GridChart {
        let max = cells.iter().flatten().copied().max().unwrap_or(0);
        let total: u64 = cells.iter().flatten().sum();
        let mut out = Vec::new();
        for r in (1..=5u8).rev() {
            for f in 1..=5u8 {
                let n = cells[usize::from(r - 1)][usize::from(f - 1)];
                let shade = match max {
                    0 => 0,
                    _ => (n * 4).div_ceil(max),
                };
                let mine = you == Some((r, f));
                out.push(GridCell {
                    x: AXIS + u32::from(f - 1) * CELL,
                    y: u32::from(5 - r) * CELL,
                    class: format!("shade-{shade}{}", if mine { " you" } else { "" }),
                    label: format!(
                        "R{r} F{f}: {} {}{}",
                        number(n),
                        if n == 1 { "purchaser" } else { "purchasers" },
                        if mine {
                            ", this contact among them"
                        } else {
                            ""
                        }
                    ),
                    n: number(n),
                });
            }
        }
        let mut labels = Vec::new();
        for i in 1..=5u32 {
            labels.push((AXIS / 2, (5 - i) * CELL + CELL / 2 + 4, format!("R{i}")));
            labels.push((
                AXIS + (i - 1) * CELL + CELL / 2,
                5 * CELL + 16,
                format!("F{i}"),
            ));
        }
        let at = Timestamp::from_millis(at)
            .map(|t| when(&t))
            .unwrap_or_default();
        let busiest = (1..=5u8)
            .flat_map(|r| (1..=5u8).map(move |f| (r, f)))
            .max_by_key(|(r, f)| cells[usize::from(r - 1)][usize::from(f - 1)])
            .filter(|_| max > 0);
        let mut summary = format!(
            "{} purchasers by recency (R5 most recent) and frequency (F5 most orders), as of {at}.",
            number(total)
        );
        if let Some((r, f)) = busiest {
            summary.push_str(&format!(
                " The busiest cell is R{r} F{f}, with {}.",
                number(max)
            ));
        }
        if let Some((r, f)) = you {
            let n = cells[usize::from(r - 1)][usize::from(f - 1)];
            summary.push_str(&match n {
                // The grid is a walk's, a little older than the sheet.
                0 => format!(" This contact is in R{r} F{f} since the grid was taken."),
                1 => format!(" This contact is in R{r} F{f}, alone there."),
                _ => format!(
                    " This contact is in R{r} F{f}, with {} other purchasers.",
                    number(n - 1)
                ),
            });
        }
        GridChart {
            title: "RFM grid: recency by frequency".into(),
            summary,
            cells: out,
            labels,
        }
    }
}

/// A row of the Channels card: how often, and when last.
pub struct ChannelRow {
    pub label: &'static str,
    pub email: String,
    pub sms: String,
}

/// A note on the Profile tab.
pub struct NoteRow {
    pub id: String,
    pub at: String,
    pub author: String,
    pub text: String,
}

/// One event of the Activity tab.
pub struct EventView {
    /// The day's heading, on the first event of each day.
    pub day: Option<String>,
    /// `2026-11-24 10:31 UTC`, for the tooltip.
    pub at: String,
    /// The time of day under its day's heading: `10:31:07`.
    pub time: String,
    /// RFC 3339, for `<time datetime>`.
    pub iso: String,
    pub kind: String,
    /// The type in words, and its family (for the dot's colour).
    pub label: &'static str,
    pub family: &'static str,
    pub summary: String,
    pub tracker: String,
    pub properties: String,
    pub context: String,
}

impl EventView {
    /// The rows of `events`, with a heading on each day's first; `carried` is the day the
    /// page before ended on.
    pub fn by_day(events: &[EventRecord], carried: Option<String>) -> Vec<EventView> {
        let mut last = carried;
        events
            .iter()
            .map(|e| {
                let mut v = EventView::of(e);
                let day = day_words(&e.timestamp);
                if last.as_ref() != Some(&day) {
                    v.day = Some(day.clone());
                    last = Some(day);
                }
                v
            })
            .collect()
    }

    pub fn of(e: &EventRecord) -> EventView {
        let props: Value = serde_json::from_str(e.properties.get()).unwrap_or(Value::Null);
        let context: Value = serde_json::from_str(e.context.get()).unwrap_or(Value::Null);
        let pretty = |v: &Value| serde_json::to_string_pretty(v).unwrap_or_default();
        let (label, family) = EventType::parse(&e.kind).map_or(("Event", "other"), event_words);
        EventView {
            day: None,
            at: when(&e.timestamp),
            time: e.timestamp.to_string().get(11..19).unwrap_or("").to_owned(),
            iso: e.timestamp.to_string(),
            kind: e.kind.clone(),
            label,
            family,
            summary: summary(&e.kind, &props, &context),
            tracker: e.tracker_id.as_str().to_owned(),
            properties: pretty(&props),
            context: pretty(&context),
        }
    }
}

/// An event type as an admin reads it, and its family: browsing, cart, order, identity,
/// push, email or SMS.
pub fn event_words(t: EventType) -> (&'static str, &'static str) {
    use EventType as T;
    match t {
        T::PageView => ("Page view", "browse"),
        T::ProductView => ("Product view", "browse"),
        T::CartAdd => ("Added to cart", "cart"),
        T::CartRemove => ("Removed from cart", "cart"),
        T::CartUpdate => ("Cart updated", "cart"),
        T::CheckoutStart => ("Checkout started", "cart"),
        T::Purchase => ("Purchase", "order"),
        T::Refund => ("Refund", "order"),
        T::Identify => ("Login", "identity"),
        T::Logout => ("Logout", "identity"),
        T::Consent => ("Consent", "identity"),
        T::PushPermission => ("Push permission", "push"),
        T::PushSubscribe => ("Push subscribed", "push"),
        T::PushUnsubscribe => ("Push unsubscribed", "push"),
        T::PushReceived => ("Push received", "push"),
        T::PushClick => ("Push clicked", "push"),
        T::Custom => ("Custom event", "other"),
        T::EmailSent => ("Email sent", "email"),
        T::EmailDelivered => ("Email delivered", "email"),
        T::EmailOpened => ("Email opened", "email"),
        T::EmailClicked => ("Email clicked", "email"),
        T::EmailBounced => ("Email bounced", "email"),
        T::EmailComplained => ("Email complaint", "email"),
        T::EmailUnsubscribed => ("Email unsubscribe", "email"),
        T::SmsSent => ("SMS sent", "sms"),
        T::SmsDelivered => ("SMS delivered", "sms"),
        T::SmsOpened => ("SMS opened", "sms"),
        T::SmsClicked => ("SMS clicked", "sms"),
        T::SmsBounced => ("SMS bounced", "sms"),
        T::SmsComplained => ("SMS complaint", "sms"),
        T::SmsUnsubscribed => ("SMS unsubscribe", "sms"),
    }
}

/// A cart or an order: `2 items · 109.85 EUR`.
fn cart_line(cart: &Value) -> String {
    let items = cart
        .get("items")
        .and_then(Value::as_array)
        .map_or(0, Vec::len);
    let currency = cart.get("currency").and_then(Value::as_str).unwrap_or("");
    let total = cart
        .get("total")
        .map(|t| amount(t, currency))
        .unwrap_or_default();
    let noun = if items == 1 { "item" } else { "items" };
    format!("{items} {noun} · {total}")
}

/// An amount a browser sent (a number or decimal text), written as money in `currency`.
fn amount(v: &Value, currency: &str) -> String {
    let f = match v {
        Value::Number(n) => n.as_f64(),
        Value::String(t) => t.trim().parse::<f64>().ok(),
        _ => None,
    };
    match f.filter(|f| f.is_finite() && f.abs() < 1e15) {
        // Display only: the store keeps amounts exactly; this rounds to the currency anyway.
        Some(f) => amount_in((f * 10_000.0).round() as i128, currency),
        None => v.to_string(),
    }
}

/// One line that says what an event was, from its properties.
fn summary(kind: &str, p: &Value, context: &Value) -> String {
    let s = |k: &str| p.get(k).and_then(Value::as_str).unwrap_or("").to_owned();
    let currency = s("currency");
    let money = |k: &str| p.get(k).map(|v| amount(v, &currency)).unwrap_or_default();
    let product = |p: &Value| {
        let name = p.get("name").and_then(Value::as_str).unwrap_or("");
        let id = p.get("product_id").and_then(Value::as_str).unwrap_or("");
        format!("{name} ({id})")
    };
    match kind {
        "page_view" => {
            let url = s("url");
            if url.is_empty() {
                context
                    .get("page_url")
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_owned()
            } else {
                url
            }
        }
        "product_view" => {
            format!("{} · {}", product(p), money("price"))
        }
        "cart_add" | "cart_remove" => {
            let q = p.get("quantity").and_then(Value::as_u64).unwrap_or(1);
            format!("{} × {q}", product(p))
        }
        "cart_update" | "checkout_start" => cart_line(p.get("cart").unwrap_or(&Value::Null)),
        "purchase" => format!("order {} · {}", s("order_id"), cart_line(p)),
        "identify" => [s("email"), s("phone")]
            .into_iter()
            .filter(|v| !v.is_empty())
            .collect::<Vec<_>>()
            .join(" · "),
        "consent" | "push_permission" => s("state"),
        // A push: its campaign, and which notification.
        "push_received" | "push_click" => [s("campaign"), s("notification_id")]
            .into_iter()
            .filter(|v| !v.is_empty())
            .collect::<Vec<_>>()
            .join(" · "),
        "custom" => s("name"),
        "refund" => {
            let parts = [
                format!("order {}", s("order_id")),
                money("amount"),
                s("reason"),
            ];
            parts
                .into_iter()
                .filter(|v| !v.trim().is_empty())
                .collect::<Vec<_>>()
                .join(" · ")
        }
        // Delivery events: the bounce's kind and reason, the campaign, the link followed.
        k if k.starts_with("email_") || k.starts_with("sms_") => {
            [s("bounce"), s("reason"), s("campaign"), s("url")]
                .into_iter()
                .filter(|v| !v.is_empty())
                .collect::<Vec<_>>()
                .join(" · ")
        }
        _ => String::new(),
    }
}

#[derive(Template)]
#[template(path = "console/activity.html")]
pub struct ActivityPage {
    pub chrome: Chrome,
    pub head: SheetHead,
    /// In event time; false: newest received first (a contact with a long history).
    pub by_time: bool,
    /// Events up to which a contact's timeline is in event time, in words.
    pub time_max: String,
    pub weeks_chart: Option<BarChart>,
    pub types: Vec<Choice>,
    pub rows: Vec<EventView>,
    pub more_url: Option<String>,
    pub rows_url: Option<String>,
    pub refresh_url: String,
}

/// The Orders tab.
#[derive(Template)]
#[template(path = "console/orders.html")]
pub struct OrdersPage {
    pub chrome: Chrome,
    pub head: SheetHead,
    pub orders: Vec<OrderRow>,
    pub more_url: Option<String>,
}

pub struct OrderRow {
    pub order_id: String,
    pub at: String,
    pub lines: Vec<String>,
    pub total: String,
    pub source: &'static str,
    pub refunds: Vec<String>,
    /// The net amount when refunds took something off.
    pub net: Option<String>,
}

/// More rows of the Activity tab, for "load more" in place.
#[derive(Template)]
#[template(path = "console/activity_rows.html")]
pub struct ActivityRows {
    pub rows: Vec<EventView>,
}

/// "Are you sure?": a form that posts `hidden` to `action` once confirmed.
#[derive(Template)]
#[template(path = "console/confirm.html")]
pub struct ConfirmPage {
    pub chrome: Chrome,
    pub heading: String,
    pub message: String,
    pub items: Vec<String>,
    pub action: String,
    pub hidden: Vec<(String, String)>,
    pub button: String,
    pub back: String,
}

pub struct SegmentRow {
    pub id: String,
    pub name: String,
    pub description: String,
    pub kind: SegmentKind,
    pub created: String,
    /// Its member count among the contacts the admin sees: `1,204`, or `≥ 250,000`.
    pub members: String,
}

/// The rule builder with what it found: its rows, the JSON, and the preview count.
pub struct BuilderSection {
    pub view: super::builder::BuilderView,
    pub json: String,
    /// The rule is edited as JSON (the builder cannot show it).
    pub json_mode: bool,
    pub json_error: Option<String>,
    /// "12 contacts match", or what to do to see it.
    pub preview: String,
}

/// The builder alone, for `console.js` to swap in after a press.
#[derive(Template)]
#[template(path = "console/builder_fragment.html")]
pub struct BuilderFragment {
    pub b: BuilderSection,
}

#[derive(Template)]
#[template(path = "console/segments.html")]
pub struct SegmentsPage {
    pub chrome: Chrome,
    pub can_edit: bool,
    pub segments: Vec<SegmentRow>,
    /// "Sizes counted at 10:42 UTC".
    pub counted: String,
    pub form: Vec<FieldView>,
    pub form_error: Option<String>,
    pub builder: Option<BuilderSection>,
}

#[derive(Template)]
#[template(path = "console/segment.html")]
pub struct SegmentPage {
    pub chrome: Chrome,
    pub can_edit: bool,
    pub id: String,
    pub name: String,
    pub kind: SegmentKind,
    pub created: String,
    pub form: Vec<FieldView>,
    pub form_error: Option<String>,
    pub builder: Option<BuilderSection>,
    /// The rule as read-only JSON, for an admin who may not edit.
    pub rule: String,
    /// "12 members".
    pub size: String,
    pub members: Vec<RowView>,
    pub next_url: Option<String>,
}
