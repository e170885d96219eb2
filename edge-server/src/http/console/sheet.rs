//! The contact sheet: the Profile tab (edits, value, e-commerce, interest, segments, trackers,
//! history, personal data) and the Activity tab.

use std::collections::BTreeMap;

use actix_web::http::header;
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest};
use serde::Deserialize;
use serde_json::{Map, Value};

use super::contacts::ERASE_WARNING;
use super::pages::{chrome, nonempty, url, State};
use super::views::*;
use super::{field, see_other, signed_in, signed_post, Answer, Fail, Form, Refused, Signed};
use crate::app::blocking;
use crate::auth::Role;
use crate::contacts::segment::SegmentKind;
use crate::contacts::sheet::{ChannelView, ChannelsView, MonthSpend, Sheet, TallyView};

use crate::contacts::{Consent, ContactId, EmailStatus, SmsStatus, Subscription};
use crate::error::ApiError;

/// History entries shown on a sheet, newest first.
const HISTORY_SHOWN: usize = 100;

fn head(sheet: &Sheet) -> SheetHead {
    let p = &sheet.profile;
    let name: Vec<&str> = [&p.first_name, &p.last_name]
        .into_iter()
        .filter_map(|v| v.as_deref())
        .collect();
    let title = if !name.is_empty() {
        name.join(" ")
    } else if let Some(e) = &p.email {
        e.clone()
    } else {
        "Anonymous contact".into()
    };
    // The email and phone under the name; the title is the email when there is no name.
    let subtitle = [p.email.as_deref(), p.mobile_phone.as_deref()]
        .into_iter()
        .flatten()
        .filter(|v| *v != title)
        .collect::<Vec<_>>()
        .join(" · ");
    SheetHead {
        id: sheet.id.clone(),
        title,
        subtitle,
        valuation: sheet.valuation,
        merged_note: sheet.requested_id.as_ref().map(|r| {
            format!(
                "Contact {r} was merged into this one, contact {}: its activity is here.",
                sheet.id
            )
        }),
        invalid: !sheet.valid,
    }
}

/// A custom field's value as the form shows it: a string bare, anything else as JSON.
fn custom_text(raw: &str) -> String {
    match serde_json::from_str::<Value>(raw) {
        Ok(Value::String(s)) => s,
        _ => raw.to_owned(),
    }
}

/// `valid_until` as a `datetime-local` input holds it (UTC, to the minute).
fn local_minute(t: &Option<footprint_protocol::Timestamp>) -> String {
    t.map(|t| t.to_string().get(..16).unwrap_or("").to_owned())
        .unwrap_or_default()
}

/// The editable fields and their current values, as the form names them.
fn current_values(sheet: &Sheet) -> Vec<(String, String)> {
    let p = &sheet.profile;
    let s = &sheet.status;
    let text = |v: &Option<String>| v.clone().unwrap_or_default();
    let name = |v: Option<&'static str>| v.unwrap_or_default().to_owned();
    let mut v = vec![
        ("email".into(), text(&p.email)),
        ("phone".into(), text(&p.mobile_phone)),
        ("first_name".into(), text(&p.first_name)),
        ("last_name".into(), text(&p.last_name)),
        ("birth_date".into(), text(&p.birth_date)),
        ("reference".into(), text(&sheet.reference)),
        ("tags".into(), sheet.tags.join(", ")),
        ("email_status".into(), name(s.email.map(|v| v.as_str()))),
        ("newsletter".into(), s.newsletter.as_str().to_owned()),
        ("sms_status".into(), name(s.sms.map(|v| v.as_str()))),
        (
            "sms_subscription".into(),
            s.sms_subscription.as_str().to_owned(),
        ),
        ("consent".into(), s.consent.as_str().to_owned()),
        ("confidentiality".into(), sheet.confidentiality.to_owned()),
        ("valid_until".into(), local_minute(&sheet.valid_until)),
    ];
    for (k, raw) in &sheet.custom_fields {
        v.push((format!("custom.{k}"), custom_text(raw.get())));
    }
    v
}

/// One input of the Profile form: its name (the PATCH field), label, input type (empty for a
/// select), the select's options (after a first, empty one labelled `blank`, when set), and a
/// hint.
struct Spec {
    name: &'static str,
    label: &'static str,
    input: &'static str,
    choices: &'static [(&'static str, &'static str)],
    blank: &'static str,
    hint: &'static str,
}

const fn input(name: &'static str, label: &'static str, input: &'static str) -> Spec {
    Spec {
        name,
        label,
        input,
        choices: &[],
        blank: "",
        hint: "",
    }
}

const fn select(
    name: &'static str,
    label: &'static str,
    choices: &'static [(&'static str, &'static str)],
) -> Spec {
    Spec {
        name,
        label,
        input: "",
        choices,
        blank: "",
        hint: "",
    }
}

const fn hinted(spec: Spec, hint: &'static str) -> Spec {
    Spec { hint, ..spec }
}

/// A select whose first option is empty, labelled `blank`: a status that shows nothing yet.
const fn or_blank(spec: Spec, blank: &'static str) -> Spec {
    Spec { blank, ..spec }
}

const PROFILE_FIELDS: [Spec; 7] = [
    input("email", "Email", "email"),
    hinted(
        input("phone", "Mobile phone", "tel"),
        "E.164, or national in the edge's default region",
    ),
    input("first_name", "First name", "text"),
    input("last_name", "Last name", "text"),
    input("birth_date", "Birth date", "date"),
    hinted(
        input("reference", "Reference", "text"),
        "Your CRM's id for the contact; unique",
    ),
    hinted(
        input("tags", "Tags", "text"),
        "Comma-separated; empty removes them all",
    ),
];

const STATUS_FIELDS: [Spec; 7] = [
    or_blank(
        select("email_status", "Email status", EmailStatus::OPTIONS),
        "— (no email)",
    ),
    select("newsletter", "Newsletter", Subscription::OPTIONS),
    or_blank(
        select("sms_status", "SMS status", SmsStatus::OPTIONS),
        "— (no phone)",
    ),
    select(
        "sms_subscription",
        "SMS subscription",
        Subscription::OPTIONS,
    ),
    select("consent", "Consent", Consent::OPTIONS),
    select(
        "confidentiality",
        "Confidentiality",
        &[
            ("free", "Free: every role sees it"),
            ("restricted", "Restricted: editors and admins"),
            ("confidential", "Confidential: admins only"),
        ],
    ),
    hinted(
        input("valid_until", "Valid until (UTC)", "datetime-local"),
        "Empty: valid for good",
    ),
];

fn field_views(
    specs: &[Spec],
    values: &[(String, String)],
    errors: &[(String, String)],
) -> Vec<FieldView> {
    specs
        .iter()
        .map(|s| {
            let value = field(values, s.name).unwrap_or("").to_owned();
            FieldView {
                name: s.name.into(),
                label: s.label.into(),
                choices: Choice::list(&[("", s.blank)], &value)
                    .into_iter()
                    .filter(|_| !s.blank.is_empty())
                    .chain(Choice::list(s.choices, &value))
                    .collect(),
                value,
                error: field(errors, s.name).map(str::to_owned),
                input: s.input,
                hint: s.hint,
            }
        })
        .collect()
}

/// What the Profile tab needs besides the sheet.
struct ProfileData {
    sheet: Sheet,
    /// The site's RFM grid and when it was taken, for a scored purchaser.
    grid: Option<(i64, crate::census::Cells)>,
    /// The latest changes, newest first, and whether older ones remain.
    history: (Vec<crate::admin::HistoryRow>, bool),
    segments: Vec<crate::segments::SegmentView>,
}

/// The sheet alone: what Apply compares the form with.
async fn load_sheet(state: &State, signed: &Signed, id: ContactId) -> Result<Sheet, Fail> {
    let who = signed.who().clone();
    let st = state.clone().into_inner();
    Ok(blocking(move || {
        let now = st.now();
        crate::admin::sheet_of(&st.store, id, &who, st.contacts, now)
    })
    .await?)
}

async fn load_profile(state: &State, signed: &Signed, id: ContactId) -> Result<ProfileData, Fail> {
    let who = signed.who().clone();
    let st = state.clone().into_inner();
    let loaded = blocking(move || {
        let now = st.now();
        let (sheet, contact) =
            crate::admin::sheet_and_contact(&st.store, id, &who, st.contacts, now)?;
        let history = crate::admin::latest_history(&st.store, &contact, HISTORY_SHOWN)?;
        let segments = crate::segments::list(&st.store)?;
        Ok((sheet, history, segments))
    })
    .await?;
    let (sheet, history, segments) = loaded;
    let scored = sheet.rfm.as_ref().is_some_and(|r| r.r.is_some());
    let grid = match scored {
        true => Some(
            state
                .app
                .rfm_grid(signed.who(), Some(sheet.site.clone()))
                .await?,
        ),
        false => None,
    };
    Ok(ProfileData {
        sheet,
        grid,
        history,
        segments,
    })
}

/// The Profile tab: `values` are the form's (the sheet's own, or what was just sent back with
/// `errors`).
fn profile_page(
    signed: &Signed,
    data: ProfileData,
    values: Vec<(String, String)>,
    refused: Refused,
) -> ProfilePage {
    let Refused {
        errors,
        top: form_error,
        ..
    } = refused;
    let ProfileData {
        sheet,
        grid,
        history,
        segments,
    } = data;
    let head = head(&sheet);
    let custom = sheet
        .custom_fields
        .keys()
        .map(|k| {
            let name = format!("custom.{k}");
            FieldView {
                value: field(&values, &name).unwrap_or("").to_owned(),
                error: field(&errors, &name).map(str::to_owned),
                name,
                label: k.clone(),
                input: "text",
                choices: Vec::new(),
                hint: "Empty removes it",
            }
        })
        .collect();
    let new_error = errors
        .iter()
        .find(|(k, _)| {
            k.strip_prefix("custom.")
                .is_some_and(|k| !sheet.custom_fields.contains_key(k))
                || k == "custom"
        })
        .map(|(_, v)| v.clone());
    let new_custom = FieldView {
        name: "custom_new_name".into(),
        label: "New custom field".into(),
        value: field(&values, "custom_new_name").unwrap_or("").to_owned(),
        error: new_error,
        input: "text",
        choices: Vec::new(),
        hint: "",
    };
    let new_custom_value = FieldView {
        name: "custom_new_value".into(),
        label: "Its value".into(),
        value: field(&values, "custom_new_value").unwrap_or("").to_owned(),
        error: None,
        input: "text",
        choices: Vec::new(),
        hint: "",
    };
    let e = &sheet.ecommerce;
    let mut value = vec![
        Fact {
            label: "Valuation",
            value: sheet.valuation.as_str().to_owned(),
        },
        Fact {
            label: "Points",
            value: match &sheet.points_updated_at {
                Some(at) => format!("{} · last changed {}", up_to(sheet.points, 2), when(at)),
                None => "none yet".into(),
            },
        },
    ];
    match &sheet.rfm {
        Some(r) => {
            let score = match (r.r, r.f, r.m) {
                (Some(r), Some(f), Some(m)) => format!("R{r} F{f} M{m}"),
                _ => "not scored yet (the background job scores the site's buyers)".into(),
            };
            value.push(Fact {
                label: "RFM",
                value: match r.segment {
                    Some(s) => format!("{score} · {s}"),
                    None => score,
                },
            });
            value.push(Fact {
                label: "Recency, frequency, monetary",
                value: format!(
                    "{} days · {} order{} · {}",
                    r.recency_days,
                    r.frequency,
                    if r.frequency == 1 { "" } else { "s" },
                    amount_in(r.monetary.0, &r.currency),
                ),
            });
        }
        None => value.push(Fact {
            label: "RFM",
            value: "no purchases yet".into(),
        }),
    }
    if let Some(c) = &sheet.clv {
        value.push(Fact {
            label: "Customer lifetime value",
            value: money(&c.historic_value),
        });
        match &c.predicted.values {
            Some(p) => {
                value.push(Fact {
                    label: "Predicted value, next 12 months",
                    value: amount_in(p.predicted_12_months.0, &p.currency),
                });
                value.push(Fact {
                    label: "Probability still buying",
                    value: percent(p.probability_alive),
                });
                value.push(Fact {
                    label: "Expected purchases",
                    value: format!(
                        "{} in 90 days · {} in 12 months · {} each",
                        decimal(p.expected_purchases_90_days, 2),
                        decimal(p.expected_purchases_12_months, 2),
                        amount_in(p.expected_value_per_purchase.0, &p.currency),
                    ),
                });
            }
            None => value.push(Fact {
                label: "Predicted value",
                value: format!(
                    "none: {}",
                    c.predicted.reason.as_deref().unwrap_or("no model")
                ),
            }),
        }
    }
    let ecommerce = vec![
        Fact {
            label: "Purchases",
            value: e.purchases.to_string(),
        },
        Fact {
            label: "Total spent",
            value: money(&e.total_spent),
        },
        Fact {
            label: "Refunded",
            value: money(&e.refunded),
        },
        Fact {
            label: "Average order",
            value: money(&e.average_order_value),
        },
        Fact {
            label: "Last purchase",
            value: when_opt(&e.last_purchase_at),
        },
        Fact {
            label: "This month",
            value: money(&e.totals.this_month),
        },
        Fact {
            label: "This year",
            value: money(&e.totals.this_year),
        },
        Fact {
            label: "Last 12 months",
            value: money(&e.totals.last_12_months),
        },
        Fact {
            label: "Last 24 months",
            value: money(&e.totals.last_24_months),
        },
    ];
    let cart = e.cart.as_ref().map(|c| CartBox {
        lines: c
            .items
            .iter()
            .map(|i| CartLineView {
                name: i.name.clone(),
                product_id: i.product_id.clone(),
                quantity: i.quantity,
                price: amount_in(i.price.0, &c.currency),
            })
            .collect(),
        total: amount_in(c.total.0, &c.currency),
        updated: when(&c.updated_at),
        abandoned: c.abandoned,
    });
    let member_ids: Vec<&str> = sheet.segments.iter().map(|m| m.id.as_str()).collect();
    let (history, history_more) = history;
    let changes: Vec<HistoryView> = history
        .iter()
        .map(|h| HistoryView {
            at: when(&h.at),
            who: who_in_words(&h.who),
            field: field_in_words(&h.field),
            old: value_in_words(&h.field, h.old.as_deref()),
            new: value_in_words(&h.field, h.new.as_deref()),
        })
        .collect();
    let c = &sheet.counts;
    let counts = vec![
        Fact {
            label: "Events",
            value: c.events.to_string(),
        },
        Fact {
            label: "Page views",
            value: c.page_views.to_string(),
        },
        Fact {
            label: "Product views",
            value: c.product_views.to_string(),
        },
        Fact {
            label: "Cart adds",
            value: c.cart_adds.to_string(),
        },
        Fact {
            label: "Created",
            value: when(&sheet.created_at),
        },
        Fact {
            label: "Last activity",
            value: when_opt(&sheet.last_activity_at),
        },
    ];
    let (channels, bounces) = channels(&sheet.channels);
    let spend_chart = spend_chart(&sheet.ecommerce.totals.by_month);
    let you = sheet.rfm.as_ref().and_then(|r| r.r.zip(r.f));
    let rfm_grid = grid.map(|(at, cells)| GridChart::of(&cells, at, you));
    let web_push = {
        let w = &sheet.status.web_push;
        let permission = w.permission.unwrap_or("not asked");
        if w.enabled {
            format!(
                "Enabled · {} subscription(s) · permission {permission}",
                w.subscriptions.len()
            )
        } else {
            format!("Not enabled · permission {permission}")
        }
    };
    ProfilePage {
        chrome: chrome(signed, head.title.clone(), "contacts"),
        can_edit: signed.can(Role::Editor),
        can_admin: signed.can(Role::Admin),
        fields: field_views(&PROFILE_FIELDS, &values, &errors),
        statuses: field_views(&STATUS_FIELDS, &values, &errors),
        custom,
        new_custom,
        new_custom_value,
        form_error,
        web_push,
        notes: sheet
            .notes
            .iter()
            .map(|n| NoteRow {
                id: n.id.clone(),
                at: when(&n.at),
                author: n.author.clone(),
                text: n.text.clone(),
            })
            .collect(),
        value,
        ecommerce,
        cart,
        interest: sheet
            .products_of_interest
            .iter()
            .map(|p| InterestView {
                name: p.name.clone(),
                product_id: p.product_id.clone(),
                views: p.views,
                cart_adds: p.cart_adds,
                score: decimal(p.score, 2),
                last_seen: when(&p.last_seen),
            })
            .collect(),
        segments: sheet
            .segments
            .iter()
            .map(|m| MembershipView {
                id: m.id.clone(),
                name: m.name.clone(),
                is_static: m.kind == SegmentKind::Static,
            })
            .collect(),
        addable: segments
            .iter()
            .filter(|s| s.kind == SegmentKind::Static && !member_ids.contains(&s.id.as_str()))
            .map(|s| SegmentOption {
                id: s.id.clone(),
                name: s.name.clone(),
                is_static: true,
                selected: false,
            })
            .collect(),
        trackers: sheet
            .trackers
            .iter()
            .map(|t| TrackerView {
                id: t.id.clone(),
                first_seen: when_opt(&t.first_seen),
                last_seen: when_opt(&t.last_seen),
                device: t
                    .user_agent
                    .as_deref()
                    .map(device_words)
                    .unwrap_or_default(),
                user_agent: t.user_agent.clone().unwrap_or_default(),
                current: t.current,
            })
            .collect(),
        history_more,
        history: changes,
        counts,
        channels,
        bounces,
        spend_chart,
        rfm_grid,
        head,
    }
}

/// The contact's spend per month over the last 24, in the currency it spent most in.
fn spend_chart(months: &[MonthSpend]) -> Option<BarChart> {
    let mut totals: BTreeMap<&str, i128> = BTreeMap::new();
    for m in months {
        for (cur, v) in &m.spent {
            *totals.entry(cur.as_str()).or_default() += v.0;
        }
    }
    let (currency, _) = totals
        .into_iter()
        .filter(|(_, t)| *t > 0)
        .max_by_key(|(_, t)| *t)?;
    let amount = |m: &MonthSpend| m.spent.get(currency).map_or(0, |v| v.0.max(0));
    let top = months.iter().map(amount).max().unwrap_or(0).max(1);
    let (bar, gap, height) = (14u32, 4u32, 80u32);
    let bars = months
        .iter()
        .enumerate()
        .map(|(i, m)| {
            let v = amount(m);
            // Scaled to the best month; a month with any spend shows at least a sliver.
            let h = u32::try_from(v * i128::from(height) / top)
                .unwrap_or(height)
                .max(u32::from(v > 0));
            Bar {
                x: u32::try_from(i).unwrap_or(0) * (bar + gap),
                y: height - h,
                w: bar,
                h,
                class: "bar",
                label: format!("{}: {}", m.month, amount_in(v, currency)),
            }
        })
        .collect();
    let best = months.iter().max_by_key(|m| amount(m))?;
    let spent: i128 = months.iter().map(amount).sum();
    let active = months.iter().filter(|m| amount(m) > 0).count();
    Some(BarChart {
        title: format!("Spend per month, last 24 months ({currency})"),
        summary: format!(
            "{} in {active} of the last 24 months; the most, {}, in {}.",
            amount_in(spent, currency),
            amount_in(amount(best), currency),
            best.month
        ),
        width: 24 * (bar + gap) - gap,
        height,
        bars,
    })
}

/// The contact's activity per week over the last 26.
fn weeks_chart(weeks: &[crate::contacts::sheet::WeekActivity]) -> Option<BarChart> {
    let top = weeks.iter().map(|w| w.events).max().filter(|t| *t > 0)?;
    let (bar, gap, height) = (16u32, 4u32, 60u32);
    let bars = weeks
        .iter()
        .enumerate()
        .map(|(i, w)| {
            // In u64: a week's count may be as large as u32 holds.
            let scaled = u64::from(w.events) * u64::from(height) / u64::from(top);
            let h = u32::try_from(scaled)
                .unwrap_or(height)
                .max(u32::from(w.events > 0));
            Bar {
                x: u32::try_from(i).unwrap_or(0) * (bar + gap),
                y: height - h,
                w: bar,
                h,
                class: "bar",
                label: format!(
                    "Week of {}: {} {}",
                    w.week,
                    w.events,
                    if w.events == 1 { "event" } else { "events" }
                ),
            }
        })
        .collect();
    let total: u32 = weeks.iter().map(|w| w.events).sum();
    let active = weeks.iter().filter(|w| w.events > 0).count();
    let busiest = weeks.iter().max_by_key(|w| w.events)?;
    Some(BarChart {
        title: format!("Activity per week, last {} weeks", weeks.len()),
        summary: format!(
            "{total} {} in {active} of the last {} weeks; the most, {}, in the week of {}.",
            if total == 1 { "event" } else { "events" },
            weeks.len(),
            busiest.events,
            busiest.week
        ),
        width: u32::try_from(weeks.len()).unwrap_or(0) * (bar + gap) - gap,
        height,
        bars,
    })
}

/// Who made a change, as an admin reads it: a tracker's identify, the shop's servers, or an
/// admin by name.
fn who_in_words(who: &str) -> String {
    match who.strip_prefix("tracker:") {
        Some(t) => format!("tracker {t}"),
        None if who == "server" => "the shop's servers".to_owned(),
        None => who.to_owned(),
    }
}

/// A history field's label: the console's own word for it.
fn field_in_words(field: &str) -> String {
    if let Some(name) = field.strip_prefix("custom.") {
        return format!("Custom field “{name}”");
    }
    let label = match field {
        "email" => "Email",
        "phone" => "Mobile phone",
        "first_name" => "First name",
        "last_name" => "Last name",
        "birth_date" => "Birth date",
        "newsletter" => "Newsletter",
        "email_status" => "Email status",
        "sms_status" => "SMS status",
        "sms_subscription" => "SMS subscription",
        "consent" => "Consent",
        "confidentiality" => "Confidentiality",
        "valid_until" => "Valid until",
        "tags" => "Tags",
        "reference" => "Reference",
        "points" => "Points",
        "merged_contact" => "Merged in contact",
        "merged_into" => "Merged into contact",
        other => other,
    };
    label.to_owned()
}

/// A history value as an admin reads it: a named status by its label, a custom field's JSON
/// string without its quotes, a dash for none.
fn value_in_words(field: &str, value: Option<&str>) -> String {
    let Some(v) = value else {
        return "—".to_owned();
    };
    let named = match field {
        "newsletter" | "sms_subscription" => Subscription::parse(v).map(|s| s.label()),
        "email_status" => EmailStatus::parse(v).map(|s| s.label()),
        "sms_status" => SmsStatus::parse(v).map(|s| s.label()),
        "consent" => Consent::parse(v).map(|s| s.label()),
        _ => None,
    };
    if let Some(label) = named {
        return label.to_owned();
    }
    if field.starts_with("custom.") {
        if let Ok(text) = serde_json::from_str::<String>(v) {
            return text;
        }
    }
    v.to_owned()
}

/// The Channels card: each kind of delivery event per channel, and each channel's last
/// bounce (Connectif shows its reason and date, and the temporary bounces, beside the status).
fn channels(c: &ChannelsView) -> (Vec<ChannelRow>, Vec<(&'static str, String)>) {
    type Pick = fn(&ChannelView) -> &TallyView;
    let kinds: [(&'static str, Pick); 7] = [
        ("Sent", |v| &v.sent),
        ("Delivered", |v| &v.delivered),
        ("Opened", |v| &v.opened),
        ("Clicked", |v| &v.clicked),
        ("Bounced", |v| &v.bounced),
        ("Complaints", |v| &v.complained),
        ("Unsubscribes", |v| &v.unsubscribed),
    ];
    let cell = |t: &TallyView| match &t.last_at {
        Some(at) if t.count > 0 => format!("{} · last {}", t.count, when(at)),
        _ => "—".to_owned(),
    };
    let rows = kinds
        .iter()
        .map(|(label, pick)| ChannelRow {
            label,
            email: cell(pick(&c.email)),
            sms: cell(pick(&c.sms)),
        })
        .collect();
    let mut bounces = Vec::new();
    for (id, v) in [("email-bounce", &c.email), ("sms-bounce", &c.sms)] {
        if let Some(b) = &v.last_bounce {
            let channel = if id == "email-bounce" { "Email" } else { "SMS" };
            bounces.push((
                id,
                format!(
                    "{channel}: last bounce {} ({}), {}; {} hard in a row, {} soft in all",
                    when(&b.at),
                    b.kind,
                    b.reason.as_deref().unwrap_or("no reason given"),
                    v.hard_bounces_in_a_row,
                    v.soft_bounces
                ),
            ));
        }
    }
    (rows, bounces)
}

fn contact_id(path: &str) -> Result<ContactId, Fail> {
    Ok(crate::error::contact_id(path)?)
}

pub async fn profile(req: HttpRequest, state: State, path: web::Path<String>) -> Answer {
    let signed = signed_in(&req, &state).await?;
    let data = load_profile(&state, &signed, contact_id(&path)?).await?;
    let values = current_values(&data.sheet);
    let page = profile_page(&signed, data, values, Refused::NONE);
    Ok(html(StatusCode::OK, &page))
}

/// The JSON patch of what the form changed, compared with the sheet as it is.
fn patch_of(form: &[(String, String)], sheet: &Sheet) -> Map<String, Value> {
    let current = current_values(sheet);
    let mut patch = Map::new();
    let mut custom = Map::new();
    for (name, was) in &current {
        let Some(now) = field(form, name).map(str::trim) else {
            continue;
        };
        if now == was {
            continue;
        }
        if let Some(key) = name.strip_prefix("custom.") {
            let was_text = sheet
                .custom_fields
                .get(key)
                .is_some_and(|raw| raw.get().starts_with('"'));
            custom.insert(key.to_owned(), custom_value(now, was_text));
            continue;
        }
        let value = if name == "tags" {
            let tags: Vec<&str> = now
                .split(',')
                .map(str::trim)
                .filter(|t| !t.is_empty())
                .collect();
            if tags.join(", ") == *was {
                continue;
            }
            Value::Array(tags.into_iter().map(|t| Value::String(t.into())).collect())
        } else if now.is_empty() {
            Value::Null
        } else if name == "valid_until" && now.len() == 16 {
            // `datetime-local` gives minutes and no zone; the form says UTC.
            Value::String(format!("{now}:00Z"))
        } else {
            Value::String(now.to_owned())
        };
        patch.insert(name.clone(), value);
    }
    if let Some(key) = field(form, "custom_new_name")
        .map(str::trim)
        .filter(|k| !k.is_empty())
    {
        let v = field(form, "custom_new_value").unwrap_or("").trim();
        custom.insert(key.to_owned(), custom_value(v, false));
    }
    if !custom.is_empty() {
        patch.insert("custom".into(), Value::Object(custom));
    }
    patch
}

/// A custom field's new value: empty removes it; a field that held text keeps text; otherwise
/// a number or a boolean is kept as one.
fn custom_value(text: &str, was_text: bool) -> Value {
    if text.is_empty() {
        return Value::Null;
    }
    if !was_text {
        if let Ok(v @ (Value::Number(_) | Value::Bool(_))) = serde_json::from_str(text) {
            return v;
        }
    }
    Value::String(text.to_owned())
}

/// `POST /admin/contacts/{id}` (editor): Apply. Only what changed is sent, as one PATCH; a
/// refused value is shown at its field, with everything typed kept.
pub async fn apply(req: HttpRequest, state: State, path: web::Path<String>, form: Form) -> Answer {
    let signed = signed_post(&req, &state, &form).await?;
    signed.who().require(Role::Editor)?;
    // Only the sheet: the history and segments are read again only to show a refusal.
    let sheet = load_sheet(&state, &signed, contact_id(&path)?).await?;
    let id = crate::error::contact_id(&sheet.id)?;
    let patch = patch_of(&form, &sheet);
    if patch.is_empty() {
        state.console.flash(&signed.id, "Nothing changed.").await;
        return Ok(see_other(&format!("/admin/contacts/{id}")));
    }
    let outcome = match crate::admin::patch_from(&patch) {
        Ok(p) => state.patch_contact(signed.who(), id, p).await.map(drop),
        Err(e) => Err(e),
    };
    let Err(e) = outcome else {
        state.console.flash(&signed.id, "Saved.").await;
        return Ok(see_other(&format!("/admin/contacts/{id}")));
    };
    let refused = Refused::of(form_field(e))?;
    let status = refused.status;
    let data = load_profile(&state, &signed, id).await?;
    let page = profile_page(&signed, data, form.0.clone(), refused);
    Ok(html(status, &page))
}

/// An error about the API's `mobile_phone` is about the form's `phone`, and one about a
/// tag (`tags[2]`) about the form's `tags`.
fn form_field(e: ApiError) -> ApiError {
    match e {
        ApiError::Unprocessable { field, message } if field == "mobile_phone" => {
            ApiError::Unprocessable {
                field: "phone".into(),
                message,
            }
        }
        ApiError::Unprocessable { field, message } if field.starts_with("tags[") => {
            ApiError::Unprocessable {
                field: "tags".into(),
                message,
            }
        }
        e => e,
    }
}

/// `POST /admin/contacts/{id}/notes` (editor): adds the form's note.
pub async fn note_add(
    req: HttpRequest,
    state: State,
    path: web::Path<String>,
    form: Form,
) -> Answer {
    let signed = signed_post(&req, &state, &form).await?;
    signed.who().require(Role::Editor)?;
    let id = contact_id(&path)?;
    let text = field(&form, "text").unwrap_or("");
    let flash = match crate::contacts::patch::note_text("text", text) {
        Ok(text) => match state.add_note(signed.who(), id, text).await {
            Ok(_) => "Note added.".to_owned(),
            Err(ApiError::Conflict(why)) => format!("Not added: {why}"),
            Err(e) => return Err(e.into()),
        },
        Err(e) => format!("Not added: the note {}", e.message),
    };
    state.console.flash(&signed.id, flash).await;
    Ok(see_other(&format!("/admin/contacts/{id}#notes")))
}

/// `POST /admin/contacts/{id}/notes/{note}/delete` (editor).
pub async fn note_delete(
    req: HttpRequest,
    state: State,
    path: web::Path<(String, String)>,
    form: Form,
) -> Answer {
    let signed = signed_post(&req, &state, &form).await?;
    signed.who().require(Role::Editor)?;
    let id = contact_id(&path.0)?;
    let note = crate::admin::note_id(id, &path.1)?;
    state.delete_note(signed.who(), id, note).await?;
    state.console.flash(&signed.id, "Note deleted.").await;
    Ok(see_other(&format!("/admin/contacts/{id}#notes")))
}

/// `POST /admin/contacts/{id}/segments` (editor): "+ Add to segment", or `remove`.
pub async fn sheet_segment(
    req: HttpRequest,
    state: State,
    path: web::Path<String>,
    form: Form,
) -> Answer {
    let signed = signed_post(&req, &state, &form).await?;
    signed.who().require(Role::Editor)?;
    let id = contact_id(&path)?;
    let segment = crate::segments::segment_id(field(&form, "segment").unwrap_or(""))?;
    let add = field(&form, "remove").is_none();
    let note = match state.member(signed.who(), segment, id, add).await? {
        Ok(_) if add => "Added to the segment.".to_owned(),
        Ok(_) => "Removed from the segment.".to_owned(),
        Err(why) => format!("Not changed: {why}"),
    };
    state.console.flash(&signed.id, note).await;
    Ok(see_other(&format!("/admin/contacts/{id}")))
}

pub async fn confirm_erase(req: HttpRequest, state: State, path: web::Path<String>) -> Answer {
    let signed = signed_in(&req, &state).await?;
    signed.who().require(Role::Admin)?;
    let id = contact_id(&path)?;
    let page = ConfirmPage {
        chrome: chrome(&signed, "Delete contact", "contacts"),
        heading: format!("Delete contact {id}?"),
        message: ERASE_WARNING.into(),
        items: Vec::new(),
        action: format!("/admin/contacts/{id}/delete"),
        hidden: vec![("csrf".into(), signed.session.csrf.clone())],
        button: "Delete for good".into(),
        back: format!("/admin/contacts/{id}"),
    };
    Ok(html(StatusCode::OK, &page))
}

/// `POST /admin/contacts/{id}/delete` (admin): the erasure, once confirmed.
pub async fn erase(req: HttpRequest, state: State, path: web::Path<String>, form: Form) -> Answer {
    let signed = signed_post(&req, &state, &form).await?;
    signed.who().require(Role::Admin)?;
    let id = contact_id(&path)?;
    let erased = state.erase(signed.who(), id).await?;
    state
        .console
        .flash(
            &signed.id,
            format!(
                "Contact {} was erased: {} events, {} tracker(s). The data leaves the disk at \
             the next compaction.",
                erased.id, erased.removed.events, erased.removed.trackers
            ),
        )
        .await;
    Ok(see_other("/admin/contacts"))
}

pub async fn extract(req: HttpRequest, state: State, path: web::Path<String>) -> Answer {
    let signed = signed_in(&req, &state).await?;
    let id = contact_id(&path)?;
    Ok(crate::http::stream::extract_zip(state, signed.session.who, id).await?)
}

#[derive(Deserialize)]
pub struct ActivityForm {
    #[serde(rename = "type")]
    kind: Option<String>,
    before: Option<String>,
}

/// Events per step of the Activity tab.
const ACTIVITY_PAGE: usize = 50;

async fn activity_of(
    state: &State,
    signed: &Signed,
    id: &str,
    q: &ActivityForm,
) -> Result<(Sheet, crate::admin::Timeline), Fail> {
    let id = contact_id(id)?;
    let who = signed.who().clone();
    let st = state.clone().into_inner();
    let query = crate::admin::ActivityQuery {
        types: nonempty(&q.kind).map(str::to_owned),
        before: nonempty(&q.before).map(str::to_owned),
        limit: Some(ACTIVITY_PAGE),
    };
    Ok(blocking(move || {
        let now = st.now();
        let sheet = crate::admin::sheet_of(&st.store, id, &who, st.contacts, now)?;
        let page = crate::admin::contact_timeline(&st.store, &sheet.id, &who, &query)?;
        Ok((sheet, page))
    })
    .await?)
}

/// The day of a timeline cursor's event (`t<ms>-…`), in words.
fn cursor_day(before: &str) -> Option<String> {
    let ms = before.strip_prefix('t')?.split_once('-')?.0.parse().ok()?;
    footprint_protocol::Timestamp::from_millis(ms)
        .ok()
        .map(|t| day_words(&t))
}

fn activity_params(kind: &Option<String>, before: Option<&str>) -> String {
    let pairs: Vec<(&str, &str)> = nonempty(kind)
        .map(|k| ("type", k))
        .into_iter()
        .chain(before.map(|b| ("before", b)))
        .collect();
    serde_urlencoded::to_string(pairs).unwrap_or_default()
}

pub async fn activity(
    req: HttpRequest,
    state: State,
    path: web::Path<String>,
    q: web::Query<ActivityForm>,
) -> Answer {
    let signed = signed_in(&req, &state).await?;
    let (sheet, page) = activity_of(&state, &signed, &path, &q).await?;
    let base = format!("/admin/contacts/{}/activity", sheet.id);
    let at = |path: &str, next: Option<&str>| url(path, &activity_params(&q.kind, next));
    let head = head(&sheet);
    let weeks_chart = weeks_chart(&sheet.activity_by_week);
    let view = ActivityPage {
        weeks_chart,
        chrome: chrome(&signed, format!("{} · Activity", head.title), "contacts"),
        types: type_choices(nonempty(&q.kind).unwrap_or("")),
        by_time: page.by_time,
        time_max: number(crate::admin::TIMELINE_BY_TIME_MAX),
        rows: EventView::by_day(&page.events, None),
        more_url: page.next.as_deref().map(|n| at(&base, Some(n))),
        rows_url: page
            .next
            .as_deref()
            .map(|n| at(&format!("{base}/rows"), Some(n))),
        refresh_url: at(&base, None),
        head,
    };
    Ok(html(StatusCode::OK, &view))
}

#[derive(Debug, Default, Deserialize)]
pub struct OrdersForm {
    cursor: Option<String>,
}

/// Orders per page of the Orders tab.
const ORDERS_PAGE: usize = 20;

/// `GET /admin/contacts/{id}/orders`: the Orders tab.
pub async fn orders(
    req: HttpRequest,
    state: State,
    path: web::Path<String>,
    q: web::Query<OrdersForm>,
) -> Answer {
    let signed = signed_in(&req, &state).await?;
    let id = contact_id(&path)?;
    let who = signed.who().clone();
    let st = state.clone().into_inner();
    let query = crate::admin::OrdersQuery {
        limit: Some(ORDERS_PAGE),
        cursor: nonempty(&q.cursor).map(str::to_owned),
    };
    let (sheet, page) = blocking(move || {
        let now = st.now();
        let sheet = crate::admin::sheet_of(&st.store, id, &who, st.contacts, now)?;
        let page = crate::admin::contact_orders(&st.store, &sheet.id, &who, &query)?;
        Ok((sheet, page))
    })
    .await?;
    let head = head(&sheet);
    let money = |m: &crate::contacts::sheet::Money, c: &str| amount_in(m.0, c);
    let view = OrdersPage {
        chrome: chrome(&signed, format!("{} · Orders", head.title), "contacts"),
        orders: page
            .orders
            .iter()
            .map(|o| OrderRow {
                order_id: o.order_id.clone(),
                at: when(&o.at),
                lines: o
                    .items
                    .iter()
                    .map(|l| {
                        format!(
                            "{} × {} ({})",
                            l.name,
                            l.quantity,
                            money(&l.price, &o.currency)
                        )
                    })
                    .collect(),
                total: money(&o.total, &o.currency),
                source: o.source,
                refunds: o
                    .refunds
                    .iter()
                    .map(|r| {
                        let why = r
                            .reason
                            .as_deref()
                            .map(|w| format!(" · {w}"))
                            .unwrap_or_default();
                        format!("−{} on {}{why}", money(&r.amount, &o.currency), when(&r.at))
                    })
                    .collect(),
                net: (!o.refunds.is_empty()).then(|| money(&o.net, &o.currency)),
            })
            .collect(),
        more_url: page.next.map(|n| {
            url(
                &format!("/admin/contacts/{}/orders", sheet.id),
                &serde_urlencoded::to_string([("cursor", n.as_str())]).unwrap_or_default(),
            )
        }),
        head,
    };
    Ok(html(StatusCode::OK, &view))
}

/// The activity filter's choices: every event type, after "All types".
fn type_choices(kind: &str) -> Vec<Choice> {
    let mut types = vec![Choice {
        value: String::new(),
        label: "All types".into(),
        selected: kind.is_empty(),
    }];
    types.extend(footprint_protocol::EventType::ALL.iter().map(|t| Choice {
        value: t.as_str().into(),
        label: event_words(*t).0.into(),
        selected: t.as_str() == kind,
    }));
    types
}

/// The next rows of the Activity tab as a fragment, for "load more" in place; the URL of the
/// rows after them is in the `Footprint-Next` header.
pub async fn activity_rows(
    req: HttpRequest,
    state: State,
    path: web::Path<String>,
    q: web::Query<ActivityForm>,
) -> Answer {
    let signed = signed_in(&req, &state).await?;
    let (sheet, page) = activity_of(&state, &signed, &path, &q).await?;
    let mut resp = html(
        StatusCode::OK,
        &ActivityRows {
            // A day that goes on from the page before gets no second heading.
            rows: EventView::by_day(&page.events, q.before.as_deref().and_then(cursor_day)),
        },
    );
    if let Some(n) = page.next {
        let next = url(
            &format!("/admin/contacts/{}/activity/rows", sheet.id),
            &activity_params(&q.kind, Some(&n)),
        );
        if let Ok(v) = header::HeaderValue::from_str(&next) {
            resp.headers_mut()
                .insert(header::HeaderName::from_static("footprint-next"), v);
        }
    }
    Ok(resp)
}
