//! The rule language's fields as a builder shows them: a label, a group, the operators that
//! apply and, for a closed set, its values.
//!
//! The parser in [`super::segment`] stays the judge of what a rule may say; this is its
//! description for people. A test builds a condition from every field and operator listed
//! here and has the parser accept it, so the two cannot drift apart.

use super::delivery::{Channel, Counted};
use super::named::{Consent, EmailStatus, RfmSegment, SmsStatus, Subscription, Valuation};

/// What a field holds, which decides its operators and its value's input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    /// One of a closed set of values.
    Choice,
    /// Yes or no.
    Flag,
    /// A whole number.
    Count,
    /// An amount, with a currency.
    Money,
    /// A number.
    Number,
    /// A number from 0 to 1.
    Probability,
    /// A time: before or after a date, within or not within some days.
    Time,
    /// Text, compared in any case.
    Text,
    /// The contact's tags.
    Tags,
    /// Viewed a category or a product, optionally within some days.
    Viewed,
}

/// (operator, how a builder names it).
pub type Op = (&'static str, &'static str);

const CMP: &[Op] = &[
    ("eq", "is"),
    ("ne", "is not"),
    ("gt", "is more than"),
    ("gte", "is at least"),
    ("lt", "is less than"),
    ("lte", "is at most"),
];

impl Shape {
    /// Its operators, the default first.
    pub fn ops(self) -> &'static [Op] {
        match self {
            Shape::Choice => &[
                ("eq", "is"),
                ("ne", "is not"),
                ("in", "is one of"),
                ("not_in", "is none of"),
            ],
            Shape::Flag => &[("eq", "is")],
            Shape::Count | Shape::Money | Shape::Number => CMP,
            Shape::Probability => &CMP[2..],
            Shape::Time => &[
                ("within_days", "within the last (days)"),
                ("not_within_days", "not within the last (days)"),
                ("before", "before"),
                ("after", "after"),
            ],
            Shape::Text => &[
                ("eq", "is"),
                ("ne", "is not"),
                ("contains", "contains"),
                ("starts_with", "starts with"),
                ("exists", "is filled in"),
            ],
            Shape::Tags => &[("contains", "has"), ("not_contains", "does not have")],
            Shape::Viewed => &[("eq", "is")],
        }
    }

    /// The condition's third key besides `value`, if any: `currency` for money,
    /// `within_days` for what was viewed.
    pub fn extra(self) -> Option<&'static str> {
        match self {
            Shape::Money => Some("currency"),
            Shape::Viewed => Some("within_days"),
            _ => None,
        }
    }

    /// Its name in a builder's markup (`data-shape`).
    pub fn as_str(self) -> &'static str {
        match self {
            Shape::Choice => "choice",
            Shape::Flag => "flag",
            Shape::Count => "count",
            Shape::Money => "money",
            Shape::Number => "number",
            Shape::Probability => "probability",
            Shape::Time => "time",
            Shape::Text => "text",
            Shape::Tags => "tags",
            Shape::Viewed => "viewed",
        }
    }
}

/// One field a rule can test.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Field {
    /// Its name in a rule: `ecommerce.total_spent`.
    pub name: String,
    pub label: String,
    /// The builder's heading for it.
    pub group: &'static str,
    pub shape: Shape,
    /// A choice's (value, label) pairs; empty for other shapes.
    pub values: &'static [(&'static str, &'static str)],
}

const CONFIDENTIALITY: &[(&str, &str)] = &[
    ("free", "Free"),
    ("restricted", "Restricted"),
    ("confidential", "Confidential"),
];

/// Every field, in the order a builder lists them. `custom.NAME` is not listed: its names are
/// the shop's own; the builder takes it as "Custom field" with the name typed in.
pub fn fields() -> Vec<Field> {
    use Shape::*;
    let plain = |name: &str, label: &str, group, shape, values| Field {
        name: name.to_owned(),
        label: label.to_owned(),
        group,
        shape,
        values,
    };
    let mut all = vec![
        plain(
            "valuation",
            "Valuation",
            "Status",
            Choice,
            Valuation::OPTIONS,
        ),
        plain(
            "rfm.segment",
            "RFM segment",
            "Status",
            Choice,
            RfmSegment::OPTIONS,
        ),
        plain(
            "status.email",
            "Email status",
            "Status",
            Choice,
            EmailStatus::OPTIONS,
        ),
        plain(
            "status.newsletter",
            "Newsletter",
            "Status",
            Choice,
            Subscription::OPTIONS,
        ),
        plain(
            "status.sms",
            "SMS status",
            "Status",
            Choice,
            SmsStatus::OPTIONS,
        ),
        plain(
            "status.sms_subscription",
            "SMS subscription",
            "Status",
            Choice,
            Subscription::OPTIONS,
        ),
        plain(
            "status.consent",
            "Tracking consent",
            "Status",
            Choice,
            Consent::OPTIONS,
        ),
        plain(
            "confidentiality",
            "Confidentiality",
            "Status",
            Choice,
            CONFIDENTIALITY,
        ),
        plain("identified", "Identified", "Status", Flag, &[]),
        plain("has_email", "Has an email", "Status", Flag, &[]),
        plain("has_phone", "Has a phone", "Status", Flag, &[]),
        plain("web_push.enabled", "Web push enabled", "Status", Flag, &[]),
        plain("ecommerce.purchases", "Purchases", "Shopping", Count, &[]),
        plain(
            "ecommerce.total_spent",
            "Total spent",
            "Shopping",
            Money,
            &[],
        ),
        plain(
            "ecommerce.totals.this_month",
            "Spent this month",
            "Shopping",
            Money,
            &[],
        ),
        plain(
            "ecommerce.totals.this_year",
            "Spent this year",
            "Shopping",
            Money,
            &[],
        ),
        plain(
            "ecommerce.totals.last_12_months",
            "Spent in the last 12 months",
            "Shopping",
            Money,
            &[],
        ),
        plain(
            "ecommerce.totals.last_24_months",
            "Spent in the last 24 months",
            "Shopping",
            Money,
            &[],
        ),
        plain(
            "ecommerce.last_purchase_at",
            "Last purchase",
            "Shopping",
            Time,
            &[],
        ),
        plain(
            "ecommerce.cart.abandoned",
            "Abandoned cart",
            "Shopping",
            Flag,
            &[],
        ),
        plain(
            "viewed.category",
            "Viewed category",
            "Shopping",
            Viewed,
            &[],
        ),
        plain(
            "viewed.product",
            "Viewed product (id)",
            "Shopping",
            Viewed,
            &[],
        ),
        plain(
            "clv.predicted_12_months",
            "Predicted spend, next 12 months",
            "Shopping",
            Money,
            &[],
        ),
        plain(
            "clv.probability_alive",
            "Probability still a customer",
            "Shopping",
            Probability,
            &[],
        ),
        plain("points", "Points", "Shopping", Number, &[]),
        plain("last_activity_at", "Last activity", "Activity", Time, &[]),
        plain("created_at", "First seen", "Activity", Time, &[]),
        plain("counts.events", "Events", "Activity", Count, &[]),
        plain("counts.page_views", "Page views", "Activity", Count, &[]),
        plain(
            "counts.product_views",
            "Product views",
            "Activity",
            Count,
            &[],
        ),
        plain("counts.cart_adds", "Cart adds", "Activity", Count, &[]),
        plain("profile.email", "Email", "Profile", Text, &[]),
        plain("profile.first_name", "First name", "Profile", Text, &[]),
        plain("profile.last_name", "Last name", "Profile", Text, &[]),
        plain("profile.mobile_phone", "Mobile phone", "Profile", Text, &[]),
        plain("reference", "Reference", "Profile", Text, &[]),
        plain("tags", "Tags", "Profile", Tags, &[]),
    ];
    for ch in Channel::ALL {
        let (channel, group) = match ch {
            Channel::Email => ("Emails", "Email campaigns"),
            Channel::Sms => ("SMS", "SMS campaigns"),
        };
        for what in Counted::ALL {
            let base = format!("channels.{}.{}", ch.as_str(), what.as_str());
            all.push(Field {
                name: format!("{base}.count"),
                label: format!("{channel} {}", what.as_str()),
                group,
                shape: Count,
                values: &[],
            });
            all.push(Field {
                name: format!("{base}.last_at"),
                label: format!("Last {} {}", channel.to_lowercase(), what.as_str()),
                group,
                shape: Time,
                values: &[],
            });
        }
    }
    all
}

/// The field named `name`, custom fields included (as Text).
pub fn field(name: &str) -> Option<Field> {
    if let Some(custom) = name.strip_prefix("custom.").filter(|n| !n.is_empty()) {
        return Some(Field {
            name: name.to_owned(),
            label: format!("Custom: {custom}"),
            group: "Profile",
            shape: Shape::Text,
            values: &[],
        });
    }
    fields().into_iter().find(|f| f.name == name)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::contacts::segment::Rule;
    use serde_json::{json, Value};

    /// A value the parser takes for `op` on a field of `shape`.
    fn sample(f: &Field, op: &str) -> Value {
        let choice = f.values.first().map(|(v, _)| *v).unwrap_or("x");
        match (f.shape, op) {
            (Shape::Choice, "in" | "not_in") => json!([choice]),
            (Shape::Choice, _) => json!(choice),
            (Shape::Flag, _) | (Shape::Text, "exists") => json!(true),
            (Shape::Count, _) => json!(3),
            (Shape::Money, _) => json!("10.50"),
            (Shape::Number, _) | (Shape::Probability, _) => json!(0.5),
            (Shape::Time, "before" | "after") => json!("2026-01-31T00:00:00Z"),
            (Shape::Time, _) => json!(30),
            (Shape::Text | Shape::Tags | Shape::Viewed, _) => json!("shoes"),
        }
    }

    #[test]
    fn every_listed_field_and_operator_parses() {
        let mut listed = fields();
        listed.push(field("custom.city").unwrap());
        for f in listed {
            for (op, _) in f.shape.ops() {
                let mut cond = json!({"field": f.name, "op": op, "value": sample(&f, op)});
                match f.shape.extra() {
                    Some("currency") => cond["currency"] = json!("EUR"),
                    Some(k) => cond[k] = json!(7),
                    None => {}
                }
                Rule::parse(&cond).unwrap_or_else(|e| panic!("{cond}: {e:?}"));
            }
        }
    }

    /// The parser's list of fields (its error message) and this one name the same fields.
    #[test]
    fn every_field_the_parser_names_is_listed() {
        let listed: Vec<String> = fields().into_iter().map(|f| f.name).collect();
        let names = crate::contacts::segment::FIELDS
            .split(" (KIND")
            .next()
            .unwrap();
        for name in names.split(", ").map(str::trim) {
            let want: Vec<String> = if name.contains("KIND") {
                Counted::ALL
                    .iter()
                    .map(|k| name.replace("KIND", k.as_str()))
                    .collect()
            } else if name == "custom.NAME" {
                continue;
            } else {
                vec![name.to_owned()]
            };
            for n in want {
                assert!(listed.contains(&n), "{n} is not in the catalogue");
            }
        }
    }

    #[test]
    fn every_choice_lists_the_values_the_parser_takes() {
        for f in fields().into_iter().filter(|f| f.shape == Shape::Choice) {
            assert!(!f.values.is_empty(), "{}", f.name);
            let bad = json!({"field": f.name, "op": "eq", "value": "no-such-value"});
            assert!(Rule::parse(&bad).is_err(), "{}", f.name);
        }
    }
}
