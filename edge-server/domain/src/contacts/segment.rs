//! Segments: named groups of contacts (Connectif, emBlue).
//!
//! A **static** segment holds the contacts an admin put in it. A **dynamic** segment holds a
//! [`Rule`] over sheet fields, and a contact is a member while the rule holds for it. Rules are
//! evaluated against the contact's maintained aggregate and the clock, when asked (a list, a
//! members page, a sheet), never by replaying events: membership follows the aggregate, and
//! time (valuation, "in the last 30 days") moves it too.
//!
//! # The rule language
//!
//! JSON. A rule is a condition, or a combination:
//!
//! ```json
//! {"all": [RULE, ...]}      every one holds (at least one rule)
//! {"any": [RULE, ...]}      at least one holds
//! {"not": RULE}
//! {"field": F, "op": OP, "value": V}     a condition
//! ```
//!
//! Nesting is at most [`MAX_DEPTH`] deep, with at most [`MAX_CONDITIONS`] conditions. The
//! fields, by kind, and their operators:
//!
//! | kind | fields | ops and value |
//! |---|---|---|
//! | choice | `valuation`, `rfm.segment`, `status.email`, `status.newsletter`, `status.sms`, `status.sms_subscription`, `status.consent`, `confidentiality` | `eq`, `ne` (a string); `in`, `not_in` (strings). Only the field's values are accepted. |
//! | yes/no | `ecommerce.cart.abandoned`, `web_push.enabled`, `identified`, `has_email`, `has_phone` | `eq` (`true` or `false`) |
//! | count | `ecommerce.purchases`, `counts.events`, `counts.page_views`, `counts.product_views`, `counts.cart_adds`, `channels.email.KIND.count`, `channels.sms.KIND.count` | `eq`, `ne`, `gt`, `gte`, `lt`, `lte` (a whole number) |
//! | money | `ecommerce.total_spent`, `ecommerce.totals.this_month`, `.this_year`, `.last_12_months`, `.last_24_months`, `clv.predicted_12_months` | `eq`, `ne`, `gt`, `gte`, `lt`, `lte` (an amount, number or decimal string) with `"currency": "EUR"` |
//! | points | `points` | `eq`, `ne`, `gt`, `gte`, `lt`, `lte` (a number) |
//! | probability | `clv.probability_alive` | `gt`, `gte`, `lt`, `lte` (a number from 0 to 1) |
//! | time | `created_at`, `last_activity_at`, `ecommerce.last_purchase_at`, `channels.email.KIND.last_at`, `channels.sms.KIND.last_at` | `before`, `after` (RFC 3339); `within_days`, `not_within_days` (a whole number) |
//! | text | `profile.email`, `profile.first_name`, `profile.last_name`, `profile.mobile_phone`, `reference`, `custom.NAME` | `eq`, `ne`, `contains`, `starts_with` (a string, any case); `exists` (`true` or `false`) |
//! | tags | `tags` | `contains`, `not_contains` (a tag, any case) |
//! | viewed | `viewed.category`, `viewed.product` (a product id) | `eq` (a string, any case for categories), with optional `"within_days": N` |
//!
//! `KIND` is one of `sent`, `delivered`, `opened`, `clicked`, `bounced`, `complained`,
//! `unsubscribed`: the sheet's `channels` block, which the shop's servers feed.
//!
//! The `clv.` fields read the sheet's `clv.predicted`: a contact without a prediction (no
//! order, no model fitted for its currency) or predicted in another currency than the rule's
//! fails them.
//!
//! A field a contact lacks (no purchase yet, no RFM score) makes its condition false, and its
//! `ne`, `not_in` and `not_within_days` false too: "has not bought this month" is
//! `{"not": ...}` of "has bought this month".
//!
//! Examples: `{"field": "valuation", "op": "in", "value": ["dormant", "lapsed"]}`;
//! `{"field": "ecommerce.total_spent", "op": "gte", "value": 100, "currency": "EUR"}`;
//! `{"field": "viewed.category", "op": "eq", "value": "Shoes", "within_days": 30}`;
//! `{"field": "channels.email.opened.last_at", "op": "within_days", "value": 30}`.

pub use super::membership::{Membership, SegmentKind};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::aggregate::Contact;
use super::delivery::{Channel, Counted};
use super::fact::UNITS;
use super::named::{Consent, EmailStatus, RfmSegment, SmsStatus, Subscription};
use super::patch::FieldError;
use super::sheet::{self, Period, SiteModels, View};
use footprint_protocol::Timestamp;

/// How deep `all`, `any` and `not` nest.
pub const MAX_DEPTH: usize = 4;
/// Conditions in one rule.
pub const MAX_CONDITIONS: usize = 50;
/// A segment's name: 1 to this many characters.
pub const MAX_NAME: usize = 100;
pub const MAX_DESCRIPTION: usize = 1000;

const DAY_MS: i64 = 86_400_000;

/// A segment as stored. `rule` is the rule's JSON text for a dynamic segment, `None` for a
/// static one: stored as text because the rule language may grow, and text stays readable.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Segment {
    pub id: u64,
    pub name: String,
    pub description: String,
    pub rule: Option<String>,
    pub created_at: i64,
    pub created_by: String,
    pub updated_at: i64,
}

impl Segment {
    pub fn is_dynamic(&self) -> bool {
        self.rule.is_some()
    }

    pub fn kind(&self) -> SegmentKind {
        if self.is_dynamic() {
            SegmentKind::Dynamic
        } else {
            SegmentKind::Static
        }
    }

    /// The parsed rule; `None` for a static segment. A stored rule was checked when it was
    /// written, so failing here means a corrupt record.
    pub fn parsed_rule(&self) -> Result<Option<Rule>, FieldError> {
        self.rule
            .as_deref()
            .map(|text| {
                let v: Value = serde_json::from_str(text)
                    .map_err(|e| FieldError::new("rule", format!("is not JSON: {e}")))?;
                Rule::parse(&v)
            })
            .transpose()
    }
}

/// What a contact is tested against besides itself.
#[derive(Debug, Clone, Copy)]
pub struct Context<'a> {
    pub view: View,
    /// The site's RFM cut points and CLV models, for `rfm.segment` and the `clv.` fields.
    pub models: &'a SiteModels,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Rule {
    All(Vec<Rule>),
    Any(Vec<Rule>),
    Not(Box<Rule>),
    Cond(Cond),
}

#[derive(Debug, Clone, PartialEq)]
pub enum Cond {
    Choice(ChoiceField, Vec<String>, bool),
    Flag(FlagField, bool),
    Count(CountField, Cmp, u64),
    Money(Period, Cmp, String, super::fact::Units),
    Predicted12Months(Cmp, String, super::fact::Units),
    ProbabilityAlive(Cmp, f64),
    Points(Cmp, f64),
    Time(TimeField, TimeTest),
    Text(TextField, TextTest),
    Viewed(ViewedField, String, Option<i64>),
    /// The contact has (or, `false`, has not) this tag, in any case.
    Tag(String, bool),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cmp {
    Eq,
    Ne,
    Gt,
    Gte,
    Lt,
    Lte,
}

impl Cmp {
    fn holds<T: PartialOrd>(self, a: T, b: T) -> bool {
        match self {
            Cmp::Eq => a == b,
            Cmp::Ne => a != b,
            Cmp::Gt => a > b,
            Cmp::Gte => a >= b,
            Cmp::Lt => a < b,
            Cmp::Lte => a <= b,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChoiceField {
    Valuation,
    RfmSegment,
    EmailStatus,
    Newsletter,
    SmsStatus,
    SmsSubscription,
    Consent,
    Confidentiality,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FlagField {
    CartAbandoned,
    WebPush,
    Identified,
    HasEmail,
    HasPhone,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CountField {
    Purchases,
    Events,
    PageViews,
    ProductViews,
    CartAdds,
    /// `channels.<channel>.<counted>.count`
    Delivery(Channel, Counted),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimeField {
    Created,
    LastActivity,
    LastPurchase,
    /// `channels.<channel>.<counted>.last_at`
    Delivery(Channel, Counted),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimeTest {
    Before(i64),
    After(i64),
    WithinDays(i64),
    NotWithinDays(i64),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TextField {
    Email,
    FirstName,
    LastName,
    Phone,
    Reference,
    Custom(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TextTest {
    Eq(String),
    Ne(String),
    Contains(String),
    StartsWith(String),
    Exists(bool),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ViewedField {
    Category,
    Product,
}

impl ChoiceField {
    fn values(self) -> &'static [&'static str] {
        match self {
            ChoiceField::Valuation => sheet::Valuation::NAMES,
            ChoiceField::RfmSegment => RfmSegment::NAMES,
            ChoiceField::EmailStatus => EmailStatus::NAMES,
            ChoiceField::Newsletter | ChoiceField::SmsSubscription => Subscription::NAMES,
            ChoiceField::SmsStatus => SmsStatus::NAMES,
            ChoiceField::Consent => Consent::NAMES,
            ChoiceField::Confidentiality => &["free", "restricted", "confidential"],
        }
    }

    /// The contact's value, as its sheet shows it; `None` where the sheet shows none.
    fn value(self, c: &Contact, cx: &Context<'_>) -> Option<&'static str> {
        let now = cx.view.now;
        match self {
            ChoiceField::Valuation => Some(sheet::valuation(c.last_activity_at, now).as_str()),
            ChoiceField::RfmSegment => {
                sheet::rfm_segment(c, cx.models.quintiles.as_ref(), now).map(RfmSegment::as_str)
            }
            ChoiceField::EmailStatus => sheet::email_status(c).map(EmailStatus::as_str),
            ChoiceField::Newsletter => Some(sheet::newsletter(c).as_str()),
            ChoiceField::SmsStatus => sheet::sms_status(c).map(SmsStatus::as_str),
            ChoiceField::SmsSubscription => Some(sheet::sms_subscription(c).as_str()),
            ChoiceField::Consent => Some(sheet::consent(c).as_str()),
            ChoiceField::Confidentiality => Some(c.admin.confidentiality.as_str()),
        }
    }
}

/// Every field name, for the error that lists them.
pub(crate) const FIELDS: &str = "valuation, rfm.segment, status.email, status.newsletter, status.sms, \
status.sms_subscription, status.consent, confidentiality, ecommerce.cart.abandoned, \
web_push.enabled, identified, has_email, has_phone, ecommerce.purchases, counts.events, \
counts.page_views, counts.product_views, counts.cart_adds, ecommerce.total_spent, \
ecommerce.totals.this_month, ecommerce.totals.this_year, ecommerce.totals.last_12_months, \
ecommerce.totals.last_24_months, created_at, last_activity_at, ecommerce.last_purchase_at, \
profile.email, profile.first_name, profile.last_name, profile.mobile_phone, custom.NAME, \
viewed.category, viewed.product, tags, reference, points, clv.probability_alive, clv.predicted_12_months, \
channels.email.KIND.count, channels.email.KIND.last_at, channels.sms.KIND.count, \
channels.sms.KIND.last_at (KIND: sent, delivered, opened, clicked, bounced, complained, \
unsubscribed)";

enum Kind {
    Choice(ChoiceField),
    Flag(FlagField),
    Count(CountField),
    Money(Period),
    Time(TimeField),
    Text(TextField),
    Viewed(ViewedField),
    Predicted12Months,
    ProbabilityAlive,
    Tags,
    Points,
}

fn kind_of(field: &str) -> Option<Kind> {
    use Kind::*;
    Some(match field {
        "valuation" => Choice(ChoiceField::Valuation),
        "rfm.segment" => Choice(ChoiceField::RfmSegment),
        "status.email" => Choice(ChoiceField::EmailStatus),
        "status.newsletter" => Choice(ChoiceField::Newsletter),
        "status.sms" => Choice(ChoiceField::SmsStatus),
        "status.sms_subscription" => Choice(ChoiceField::SmsSubscription),
        "status.consent" => Choice(ChoiceField::Consent),
        "confidentiality" => Choice(ChoiceField::Confidentiality),
        "ecommerce.cart.abandoned" => Flag(FlagField::CartAbandoned),
        // The sheet nests it under `status`; both names are accepted.
        "web_push.enabled" | "status.web_push.enabled" => Flag(FlagField::WebPush),
        "identified" => Flag(FlagField::Identified),
        "has_email" => Flag(FlagField::HasEmail),
        "has_phone" => Flag(FlagField::HasPhone),
        "ecommerce.purchases" => Count(CountField::Purchases),
        "counts.events" => Count(CountField::Events),
        "counts.page_views" => Count(CountField::PageViews),
        "counts.product_views" => Count(CountField::ProductViews),
        "counts.cart_adds" => Count(CountField::CartAdds),
        "ecommerce.total_spent" => Money(Period::All),
        "ecommerce.totals.this_month" => Money(Period::ThisMonth),
        "ecommerce.totals.this_year" => Money(Period::ThisYear),
        "ecommerce.totals.last_12_months" => Money(Period::Last12Months),
        "ecommerce.totals.last_24_months" => Money(Period::Last24Months),
        "created_at" => Time(TimeField::Created),
        "last_activity_at" => Time(TimeField::LastActivity),
        "ecommerce.last_purchase_at" => Time(TimeField::LastPurchase),
        "profile.email" => Text(TextField::Email),
        "profile.first_name" => Text(TextField::FirstName),
        "profile.last_name" => Text(TextField::LastName),
        "profile.mobile_phone" => Text(TextField::Phone),
        "viewed.category" => Viewed(ViewedField::Category),
        "viewed.product" => Viewed(ViewedField::Product),
        "clv.predicted_12_months" => Predicted12Months,
        "clv.probability_alive" => ProbabilityAlive,
        "tags" => Tags,
        "points" => Points,
        "reference" => Text(TextField::Reference),
        f => {
            if let Some(name) = f.strip_prefix("custom.") {
                return (!name.is_empty()).then(|| Text(TextField::Custom(name.to_owned())));
            }
            // `channels.email.opened.count`, `channels.sms.sent.last_at`: the sheet's paths.
            let mut parts = f.strip_prefix("channels.")?.split('.');
            let (ch, what, leaf) = (parts.next()?, parts.next()?, parts.next()?);
            if parts.next().is_some() {
                return None;
            }
            let (ch, what) = (Channel::parse(ch)?, Counted::parse(what)?);
            match leaf {
                "count" => Count(CountField::Delivery(ch, what)),
                "last_at" => Time(TimeField::Delivery(ch, what)),
                _ => return None,
            }
        }
    })
}

impl Rule {
    /// Checks and parses a rule. The error names where in the rule (`rule.all[2].value`) and
    /// what is wrong.
    pub fn parse(v: &Value) -> Result<Rule, FieldError> {
        let mut conditions = 0;
        parse_rule(v, "rule", 1, &mut conditions)
    }

    pub fn holds(&self, c: &Contact, cx: &Context<'_>) -> bool {
        match self {
            Rule::All(rs) => rs.iter().all(|r| r.holds(c, cx)),
            Rule::Any(rs) => rs.iter().any(|r| r.holds(c, cx)),
            Rule::Not(r) => !r.holds(c, cx),
            Rule::Cond(cond) => cond.holds(c, cx),
        }
    }
}

fn parse_rule(v: &Value, at: &str, depth: usize, n: &mut usize) -> Result<Rule, FieldError> {
    let bad = |m: String| FieldError::new(at, m);
    let Some(obj) = v.as_object() else {
        return Err(bad(
            "must be an object: {\"all\": [...]}, {\"any\": [...]}, {\"not\": {...}} or \
             {\"field\": ..., \"op\": ..., \"value\": ...}"
                .into(),
        ));
    };
    if depth > MAX_DEPTH {
        return Err(bad(format!("nests deeper than {MAX_DEPTH} levels")));
    }
    for (key, combine) in [("all", true), ("any", false)] {
        if let Some(list) = obj.get(key) {
            only_keys(obj, &[key], at)?;
            let items = list
                .as_array()
                .filter(|l| !l.is_empty())
                .ok_or_else(|| bad(format!("`{key}` must be a non-empty array of rules")))?;
            let rules = items
                .iter()
                .enumerate()
                .map(|(i, r)| parse_rule(r, &format!("{at}.{key}[{i}]"), depth + 1, n))
                .collect::<Result<Vec<_>, _>>()?;
            return Ok(if combine {
                Rule::All(rules)
            } else {
                Rule::Any(rules)
            });
        }
    }
    if let Some(inner) = obj.get("not") {
        only_keys(obj, &["not"], at)?;
        let r = parse_rule(inner, &format!("{at}.not"), depth + 1, n)?;
        return Ok(Rule::Not(Box::new(r)));
    }
    *n += 1;
    if *n > MAX_CONDITIONS {
        return Err(bad(format!("has more than {MAX_CONDITIONS} conditions")));
    }
    parse_cond(obj, at).map(Rule::Cond)
}

fn only_keys(obj: &Map<String, Value>, allowed: &[&str], at: &str) -> Result<(), FieldError> {
    match obj.keys().find(|k| !allowed.contains(&k.as_str())) {
        Some(k) => Err(FieldError::new(
            at,
            format!(
                "has `{k}` beside `{}`; a rule is one of all, any, not or a condition",
                allowed[0]
            ),
        )),
        None => Ok(()),
    }
}

fn parse_cond(obj: &Map<String, Value>, at: &str) -> Result<Cond, FieldError> {
    only_keys(
        obj,
        &["field", "op", "value", "currency", "within_days"],
        at,
    )?;
    let text = |k: &str| obj.get(k).and_then(Value::as_str);
    let field = text("field").ok_or_else(|| {
        FieldError::new(
            format!("{at}.field"),
            "is required: the sheet field to test",
        )
    })?;
    let kind = kind_of(field).ok_or_else(|| {
        FieldError::new(
            format!("{at}.field"),
            format!("`{field}` is not a field a rule can test; use one of {FIELDS}"),
        )
    })?;
    let op = text("op").ok_or_else(|| FieldError::new(format!("{at}.op"), "is required"))?;
    let value = obj.get("value");
    let vat = format!("{at}.value");
    let bad_op = |ops: &str| {
        FieldError::new(
            format!("{at}.op"),
            format!("`{op}` does not apply to {field}; use {ops}"),
        )
    };
    let extra = |k: &str, kinds: &str| -> Result<(), FieldError> {
        match obj.get(k) {
            Some(_) => Err(FieldError::new(
                format!("{at}.{k}"),
                format!("applies only to {kinds} fields"),
            )),
            None => Ok(()),
        }
    };
    if !matches!(kind, Kind::Money(_) | Kind::Predicted12Months) {
        extra("currency", "money")?;
    }
    if !matches!(kind, Kind::Viewed(_)) {
        extra("within_days", "viewed")?;
    }
    let string = |v: Option<&Value>| -> Result<String, FieldError> {
        v.and_then(Value::as_str)
            .filter(|s| !s.trim().is_empty())
            .map(|s| s.trim().to_owned())
            .ok_or_else(|| FieldError::new(vat.as_str(), "must be a non-empty string"))
    };
    let boolean = |v: Option<&Value>| {
        v.and_then(Value::as_bool)
            .ok_or_else(|| FieldError::new(vat.as_str(), "must be true or false"))
    };
    let days = |v: Option<&Value>, at: &str| {
        v.and_then(Value::as_u64)
            .filter(|d| (1..=36_500).contains(d))
            .map(|d| d as i64)
            .ok_or_else(|| FieldError::new(at, "must be a whole number of days from 1 to 36500"))
    };
    let cmp = |ops: &[(&str, Cmp)], list: &str| {
        ops.iter()
            .find(|(name, _)| *name == op)
            .map(|(_, c)| *c)
            .ok_or_else(|| bad_op(list))
    };
    const ALL_CMP: [(&str, Cmp); 6] = [
        ("eq", Cmp::Eq),
        ("ne", Cmp::Ne),
        ("gt", Cmp::Gt),
        ("gte", Cmp::Gte),
        ("lt", Cmp::Lt),
        ("lte", Cmp::Lte),
    ];
    Ok(match kind {
        Kind::Choice(f) => {
            let allowed = f.values();
            let check = |s: &str| -> Result<String, FieldError> {
                if allowed.contains(&s) {
                    Ok(s.to_owned())
                } else {
                    Err(FieldError::new(
                        &vat,
                        format!(
                            "`{s}` is not a value of {field}; use {}",
                            allowed.join(", ")
                        ),
                    ))
                }
            };
            let (values, positive) = match op {
                "eq" | "ne" => (vec![check(&string(value)?)?], op == "eq"),
                "in" | "not_in" => {
                    let list = value
                        .and_then(Value::as_array)
                        .filter(|l| !l.is_empty())
                        .ok_or_else(|| {
                            FieldError::new(vat.as_str(), "must be a non-empty array of strings")
                        })?;
                    let values = list
                        .iter()
                        .map(|v| check(&string(Some(v))?))
                        .collect::<Result<Vec<_>, _>>()?;
                    (values, op == "in")
                }
                _ => return Err(bad_op("eq, ne, in or not_in")),
            };
            Cond::Choice(f, values, positive)
        }
        Kind::Flag(f) => {
            if op != "eq" {
                return Err(bad_op("eq"));
            }
            Cond::Flag(f, boolean(value)?)
        }
        Kind::Count(f) => {
            let c = cmp(&ALL_CMP, "eq, ne, gt, gte, lt or lte")?;
            let n = value.and_then(Value::as_u64).ok_or_else(|| {
                FieldError::new(vat.as_str(), "must be a whole number, 0 or more")
            })?;
            Cond::Count(f, c, n)
        }
        Kind::Money(_) | Kind::Predicted12Months => {
            let c = cmp(&ALL_CMP, "eq, ne, gt, gte, lt or lte")?;
            let currency = text("currency")
                .filter(|c| c.len() == 3 && c.bytes().all(|b| b.is_ascii_alphabetic()))
                .map(str::to_ascii_uppercase)
                .ok_or_else(|| {
                    FieldError::new(
                        format!("{at}.currency"),
                        "is required for money: a 3-letter code such as EUR",
                    )
                })?;
            let units = amount(value, &vat)?;
            match kind {
                Kind::Money(p) => Cond::Money(p, c, currency, units),
                _ => Cond::Predicted12Months(c, currency, units),
            }
        }
        Kind::Points => {
            let c = cmp(&ALL_CMP, "eq, ne, gt, gte, lt or lte")?;
            let p = value
                .and_then(Value::as_f64)
                .filter(|p| p.is_finite())
                .ok_or_else(|| FieldError::new(vat.as_str(), "must be a number"))?;
            Cond::Points(c, p)
        }
        Kind::Tags => {
            let has = match op {
                "contains" => true,
                "not_contains" => false,
                _ => return Err(bad_op("contains or not_contains")),
            };
            let tag = super::patch::tag(&vat, &string(value)?)?;
            Cond::Tag(tag, has)
        }
        Kind::ProbabilityAlive => {
            let c = cmp(&ALL_CMP[2..], "gt, gte, lt or lte")?;
            let p = value
                .and_then(Value::as_f64)
                .filter(|p| (0.0..=1.0).contains(p))
                .ok_or_else(|| FieldError::new(vat.as_str(), "must be a number from 0 to 1"))?;
            Cond::ProbabilityAlive(c, p)
        }
        Kind::Time(f) => {
            let test = match op {
                "before" | "after" => {
                    let t = value
                        .and_then(Value::as_str)
                        .and_then(|s| Timestamp::parse(s).ok())
                        .ok_or_else(|| {
                            FieldError::new(
                                vat.as_str(),
                                "must be an RFC 3339 time such as 2026-01-31T00:00:00Z",
                            )
                        })?
                        .as_millis();
                    if op == "before" {
                        TimeTest::Before(t)
                    } else {
                        TimeTest::After(t)
                    }
                }
                "within_days" => TimeTest::WithinDays(days(value, &vat)?),
                "not_within_days" => TimeTest::NotWithinDays(days(value, &vat)?),
                _ => return Err(bad_op("before, after, within_days or not_within_days")),
            };
            Cond::Time(f, test)
        }
        Kind::Text(f) => {
            let test = match op {
                "eq" => TextTest::Eq(string(value)?.to_lowercase()),
                "ne" => TextTest::Ne(string(value)?.to_lowercase()),
                "contains" => TextTest::Contains(string(value)?.to_lowercase()),
                "starts_with" => TextTest::StartsWith(string(value)?.to_lowercase()),
                "exists" => TextTest::Exists(boolean(value)?),
                _ => return Err(bad_op("eq, ne, contains, starts_with or exists")),
            };
            Cond::Text(f, test)
        }
        Kind::Viewed(f) => {
            if op != "eq" {
                return Err(bad_op("eq"));
            }
            let within = obj
                .get("within_days")
                .map(|d| days(Some(d), &format!("{at}.within_days")))
                .transpose()?;
            Cond::Viewed(f, string(value)?, within)
        }
    })
}

/// An amount in ten-thousandths: a JSON number or a decimal string, 0 or more, at most 4
/// decimals.
fn amount(v: Option<&Value>, at: &str) -> Result<super::fact::Units, FieldError> {
    let bad = || {
        FieldError::new(
            at,
            "must be an amount of 0 or more, with at most 4 decimals",
        )
    };
    let text = match v {
        Some(Value::Number(n)) => n.to_string(),
        Some(Value::String(s)) => s.trim().to_owned(),
        _ => return Err(bad()),
    };
    let d: rust_decimal::Decimal = text.parse().map_err(|_| bad())?;
    if d.is_sign_negative() || d.scale() > 4 || d > rust_decimal::Decimal::from(100_000_000_000i64)
    {
        return Err(bad());
    }
    use rust_decimal::prelude::ToPrimitive;
    (d * rust_decimal::Decimal::from(UNITS))
        .to_i128()
        .ok_or_else(bad)
}

impl Cond {
    fn holds(&self, c: &Contact, cx: &Context<'_>) -> bool {
        let now = cx.view.now;
        match self {
            Cond::Choice(f, values, positive) => match f.value(c, cx) {
                Some(v) => values.iter().any(|x| x == v) == *positive,
                None => false,
            },
            Cond::Flag(f, want) => {
                let v = match f {
                    FlagField::CartAbandoned => sheet::cart_abandoned(c, cx.view),
                    FlagField::WebPush => sheet::push_enabled(c),
                    FlagField::Identified => c.identified(),
                    FlagField::HasEmail => c.email.is_some(),
                    FlagField::HasPhone => c.phone.is_some(),
                };
                v == *want
            }
            Cond::Count(f, cmp, n) => {
                let k = &c.counts;
                let v = match f {
                    CountField::Purchases => c.ecommerce.purchases(),
                    CountField::Events => k.events,
                    CountField::PageViews => k.page_views,
                    CountField::ProductViews => k.product_views,
                    CountField::CartAdds => k.cart_adds,
                    CountField::Delivery(ch, what) => c.deliveries.channel(*ch).tally(*what).count,
                };
                cmp.holds(v, *n)
            }
            Cond::Money(p, cmp, currency, units) => {
                let spent = sheet::spent_in(c, *p, now);
                // No spend in the currency counts as 0: "spent under 50 EUR" holds for a
                // contact who never bought.
                cmp.holds(spent.get(currency).copied().unwrap_or(0), *units)
            }
            Cond::Predicted12Months(cmp, currency, units) => {
                match sheet::prediction(c, cx.models, now) {
                    Some(Ok(p)) if p.currency == *currency => {
                        cmp.holds(p.predicted_12_months, *units)
                    }
                    _ => false,
                }
            }
            Cond::Points(cmp, want) => cmp.holds(sheet::points_of(c, now), *want),
            Cond::Tag(tag, has) => {
                c.extras.tags.iter().any(|t| t.eq_ignore_ascii_case(tag)) == *has
            }
            Cond::ProbabilityAlive(cmp, want) => match sheet::prediction(c, cx.models, now) {
                Some(Ok(p)) => cmp.holds(p.probability_alive, *want),
                _ => false,
            },
            Cond::Time(f, test) => {
                let t = match f {
                    TimeField::Created => Some(c.created_at),
                    TimeField::LastActivity => c.last_activity_at,
                    TimeField::LastPurchase => c.ecommerce.last_purchase_at,
                    TimeField::Delivery(ch, what) => c.deliveries.channel(*ch).tally(*what).last,
                };
                let Some(t) = t else { return false };
                match *test {
                    TimeTest::Before(b) => t < b,
                    TimeTest::After(a) => t > a,
                    TimeTest::WithinDays(d) => now - t <= d * DAY_MS,
                    TimeTest::NotWithinDays(d) => now - t > d * DAY_MS,
                }
            }
            Cond::Text(f, test) => {
                let v: Option<String> = match f {
                    TextField::Email => c.email.clone(),
                    TextField::Phone => c.phone.clone(),
                    TextField::Reference => c.extras.reference.clone(),
                    TextField::FirstName => c.first_name.as_ref().map(|s| s.value.clone()),
                    TextField::LastName => c.last_name.as_ref().map(|s| s.value.clone()),
                    // Custom values are stored as JSON; a string compares by its text.
                    TextField::Custom(name) => c.custom.get(name).map(|s| {
                        serde_json::from_str::<String>(&s.value).unwrap_or_else(|_| s.value.clone())
                    }),
                };
                let v = v.map(|v| v.to_lowercase());
                match (test, v) {
                    (TextTest::Exists(want), v) => v.is_some() == *want,
                    (_, None) => false,
                    (TextTest::Eq(x), Some(v)) => v == *x,
                    (TextTest::Ne(x), Some(v)) => v != *x,
                    (TextTest::Contains(x), Some(v)) => v.contains(x.as_str()),
                    (TextTest::StartsWith(x), Some(v)) => v.starts_with(x.as_str()),
                }
            }
            Cond::Viewed(f, what, within) => {
                let seen = match f {
                    ViewedField::Category => c.extras.category_seen(what),
                    ViewedField::Product => c
                        .interest
                        .iter()
                        .find(|p| p.product_id == *what && p.views > 0)
                        .map(|p| p.last_seen),
                };
                seen.is_some_and(|t| within.is_none_or(|d| now - t <= d * DAY_MS))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn err(v: Value) -> String {
        let e = Rule::parse(&v).unwrap_err();
        format!("{} {}", e.field, e.message)
    }

    #[test]
    fn the_issue_examples_parse() {
        for v in [
            json!({"field": "valuation", "op": "in", "value": ["dormant", "lapsed"]}),
            json!({"field": "ecommerce.cart.abandoned", "op": "eq", "value": true}),
            json!({"field": "rfm.segment", "op": "eq", "value": "at_risk"}),
            json!({"field": "web_push.enabled", "op": "eq", "value": true}),
            json!({"field": "ecommerce.total_spent", "op": "gte", "value": 100, "currency": "EUR"}),
            json!({"field": "viewed.category", "op": "eq", "value": "Shoes", "within_days": 30}),
        ] {
            Rule::parse(&v).unwrap_or_else(|e| panic!("{v}: {e:?}"));
        }
    }

    #[test]
    fn mistakes_name_their_place() {
        assert!(
            err(json!({"field": "valuaton", "op": "eq", "value": "new"}))
                .starts_with("rule.field `valuaton` is not a field")
        );
        assert!(
            err(json!({"all": [{"field": "valuation", "op": "eq", "value": "old"}]}))
                .starts_with("rule.all[0].value `old` is not a value of valuation")
        );
        assert!(
            err(json!({"field": "ecommerce.total_spent", "op": "gte", "value": 1}))
                .starts_with("rule.currency is required")
        );
        assert!(
            err(json!({"field": "counts.events", "op": "before", "value": 1}))
                .starts_with("rule.op `before` does not apply")
        );
        assert!(err(json!({"all": []})).contains("non-empty array"));
        assert!(err(json!({"all": [], "any": []})).contains("beside"));
        let deep = json!({"not": {"not": {"not": {"not": {"field": "identified", "op": "eq", "value": true}}}}});
        assert!(err(deep).contains("deeper"));
        let many: Vec<Value> = (0..51)
            .map(|_| json!({"field": "identified", "op": "eq", "value": true}))
            .collect();
        assert!(err(json!({"any": many})).contains("more than 50"));
        assert!(err(json!({"field": "ecommerce.total_spent", "op": "gt", "value": "1.00001", "currency": "EUR"}))
            .contains("at most 4 decimals"));
    }

    #[test]
    fn money_is_exact() {
        assert_eq!(amount(Some(&json!("100.5")), "v").unwrap(), 1_005_000);
        assert_eq!(amount(Some(&json!(0.1)), "v").unwrap(), 1_000);
        assert!(amount(Some(&json!(-1)), "v").is_err());
    }
}
