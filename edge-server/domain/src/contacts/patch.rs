//! An admin's edit of a contact (`PATCH /v1/contacts/{id}`): parsed and validated whole before
//! anything is applied, so a bad value refuses the edit and nothing is half-done.
//!
//! A field left out is not touched; `null` clears it. The email and phone are the identity
//! graph's business (they move index entries), so [`Patch::apply`] leaves them to the store and
//! applies the rest.

use std::collections::BTreeMap;

use footprint_protocol::{BirthDate, ConsentState};
use serde_json::{Map, Value};

use super::aggregate::{Confidentiality, Contact, Pos, Stamped, MAX_TAGS};
use super::named::{Consent, EmailStatus, SmsStatus, Subscription};
use crate::identity::{Email, Phone, Region};

/// Longest first or last name, as for identify.
pub const MAX_NAME_CHARS: usize = 100;
/// Longest custom field name.
pub const MAX_CUSTOM_KEY_CHARS: usize = 64;
/// Largest custom value, as JSON text.
pub const MAX_CUSTOM_VALUE_BYTES: usize = 4096;

/// A refused value: the field (`custom.size` for a custom field) and what to send instead.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field} {message}")]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

impl FieldError {
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> FieldError {
        FieldError {
            field: field.into(),
            message: message.into(),
        }
    }
}

fn refuse(field: &str, message: impl Into<String>) -> FieldError {
    FieldError {
        field: field.to_owned(),
        message: message.into(),
    }
}

/// A set-or-clear: `None` is "not in the patch", `Some(None)` is `null`.
pub type Edit<T> = Option<Option<T>>;

/// A validated edit. It travels inside commands (serde, postcard), so its fields' order is
/// part of the command encoding.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Patch {
    pub email: Edit<Email>,
    pub phone: Edit<Phone>,
    pub first_name: Edit<String>,
    pub last_name: Edit<String>,
    pub birth_date: Edit<String>,
    /// Each value as JSON text; `None` removes the field.
    pub custom: BTreeMap<String, Option<String>>,
    pub email_status: Option<EmailStatus>,
    pub newsletter: Option<Subscription>,
    pub sms_status: Option<SmsStatus>,
    pub sms_subscription: Option<Subscription>,
    pub consent: Option<ConsentState>,
    pub confidentiality: Option<Confidentiality>,
    /// Ms since the epoch; `Some(None)` revalidates.
    pub valid_until: Edit<i64>,
    /// The whole list of tags, each checked by [`tag`]; `Some(empty)` removes them all.
    pub tags: Option<Vec<String>>,
    /// The shop's own id for the contact, unique per site: the store checks that (an index,
    /// as for the email).
    pub reference: Edit<String>,
    /// Points added (or, negative, taken away) by hand, at the edit's time.
    pub points_adjustment: Option<i64>,
}

/// Largest adjustment of points by hand, either way.
pub const MAX_POINTS_ADJUSTMENT: i64 = 1_000_000;

/// Longest tag.
pub const MAX_TAG_CHARS: usize = 40;
/// Longest reference.
pub const MAX_REFERENCE_CHARS: usize = 64;

/// A tag as stored: trimmed, 1 to [`MAX_TAG_CHARS`] characters, no control characters and no
/// comma (a CSV's `tags` cell separates them by commas).
pub fn tag(field: &str, s: &str) -> Result<String, FieldError> {
    let t = s.trim();
    if t.is_empty()
        || t.chars().count() > MAX_TAG_CHARS
        || t.chars().any(|c| c.is_control() || c == ',')
    {
        return Err(refuse(
            field,
            format!(
                "`{}` is not a tag: use 1 to {MAX_TAG_CHARS} characters, without commas or \
                 control characters",
                t.chars().take(MAX_TAG_CHARS + 5).collect::<String>()
            ),
        ));
    }
    Ok(t.to_owned())
}

/// A whole tag list: each tag checked, repeats (in any case) dropped, at most
/// [`MAX_TAGS`].
pub fn tag_list<'a>(
    field: &str,
    items: impl IntoIterator<Item = &'a str>,
) -> Result<Vec<String>, FieldError> {
    let mut out: Vec<String> = Vec::new();
    for (i, item) in items.into_iter().enumerate() {
        let t = tag(&format!("{field}[{i}]"), item)?;
        if !out.iter().any(|o| o.eq_ignore_ascii_case(&t)) {
            out.push(t);
        }
    }
    let max = MAX_TAGS;
    if out.len() > max {
        return Err(refuse(
            field,
            format!("holds {} tags; a contact has at most {max}", out.len()),
        ));
    }
    Ok(out)
}

/// Longest note, in characters.
pub const MAX_NOTE_CHARS: usize = 2000;

/// A note's text as stored: trimmed, 1 to [`MAX_NOTE_CHARS`] characters; line breaks and tabs
/// are kept, other control characters refused.
pub fn note_text(field: &str, s: &str) -> Result<String, FieldError> {
    let t = s.trim();
    if t.is_empty()
        || t.chars().count() > MAX_NOTE_CHARS
        || t.chars()
            .any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t'))
    {
        return Err(refuse(
            field,
            format!("must be 1 to {MAX_NOTE_CHARS} characters of text"),
        ));
    }
    Ok(t.to_owned())
}

/// A reference as stored: trimmed, 1 to [`MAX_REFERENCE_CHARS`] characters, no control
/// characters.
pub fn reference(field: &str, s: &str) -> Result<String, FieldError> {
    let t = s.trim();
    if t.is_empty() || t.chars().count() > MAX_REFERENCE_CHARS || t.chars().any(char::is_control) {
        return Err(refuse(
            field,
            format!(
                "must be 1 to {MAX_REFERENCE_CHARS} characters without control characters, \
                 or null"
            ),
        ));
    }
    Ok(t.to_owned())
}

/// One change to a contact, as its history records it: the old and new values as text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    pub field: String,
    pub old: Option<String>,
    pub new: Option<String>,
}

impl Change {
    pub fn new(field: &str, old: Option<String>, new: Option<String>) -> Option<Change> {
        (old != new).then(|| Change {
            field: field.to_owned(),
            old,
            new,
        })
    }

    /// A change of a named value (a status, a subscription), recorded by its name.
    pub fn named<T: std::fmt::Display + PartialEq>(
        field: &str,
        old: Option<T>,
        new: Option<T>,
    ) -> Option<Change> {
        (old != new).then(|| Change {
            field: field.to_owned(),
            old: old.map(|v| v.to_string()),
            new: new.map(|v| v.to_string()),
        })
    }
}

pub const FIELDS: [&str; 17] = [
    "email",
    "phone",
    "first_name",
    "last_name",
    "birth_date",
    "custom",
    "email_status",
    "newsletter",
    "sms_status",
    "sms_subscription",
    "consent",
    "confidentiality",
    "valid_until",
    "tags",
    "reference",
    "points_adjustment",
    // Accepted as a synonym of `phone`, the sheet's name for it.
    "mobile_phone",
];

fn text<'a>(field: &str, v: &'a Value) -> Result<Option<&'a str>, FieldError> {
    match v {
        Value::Null => Ok(None),
        Value::String(s) => Ok(Some(s)),
        _ => Err(refuse(field, "must be a string or null")),
    }
}

/// One of a named set's values, by name.
fn one_of<T>(
    field: &str,
    v: &Value,
    parse: fn(&str) -> Option<T>,
    names: &[&str],
) -> Result<T, FieldError> {
    v.as_str()
        .and_then(parse)
        .ok_or_else(|| refuse(field, format!("must be one of {}", names.join(", "))))
}

fn name(field: &str, v: &Value) -> Result<Option<String>, FieldError> {
    let Some(s) = text(field, v)? else {
        return Ok(None);
    };
    let s = s.trim();
    if s.is_empty() || s.chars().count() > MAX_NAME_CHARS || s.chars().any(char::is_control) {
        return Err(refuse(
            field,
            format!("must be 1 to {MAX_NAME_CHARS} characters without control characters, or null"),
        ));
    }
    Ok(Some(s.to_owned()))
}

/// An RFC 3339 time, as ms since the epoch.
fn instant(field: &str, v: &Value) -> Result<Option<i64>, FieldError> {
    let Some(s) = text(field, v)? else {
        return Ok(None);
    };
    footprint_protocol::Timestamp::parse(s)
        .map(|t| Some(t.as_millis()))
        .map_err(|_| {
            refuse(
                field,
                "must be an RFC 3339 time such as 2026-12-31T00:00:00Z, or null",
            )
        })
}

impl Patch {
    /// Validates a PATCH body. The first bad field refuses the whole edit.
    pub fn parse(body: &Map<String, Value>) -> Result<Patch, FieldError> {
        Patch::parse_in(body, None)
    }

    /// As [`Patch::parse`], reading a phone without a country code as `region`'s (an import
    /// uses the edge's default region; an admin's PATCH names the country).
    pub fn parse_in(
        body: &Map<String, Value>,
        region: Option<Region>,
    ) -> Result<Patch, FieldError> {
        if body.is_empty() {
            return Err(refuse(
                "body",
                format!("changes nothing; send any of {}", FIELDS[..16].join(", ")),
            ));
        }
        let mut p = Patch::default();
        for (k, v) in body {
            match k.as_str() {
                "email" => {
                    p.email = Some(
                        text(k, v)?
                            .map(|s| Email::normalize(s).map_err(|why| refuse(k, why.to_string())))
                            .transpose()?,
                    )
                }
                "phone" | "mobile_phone" => {
                    p.phone = Some(
                        text(k, v)?
                            .map(|s| {
                                Phone::normalize(s, region).map_err(|why| {
                                    refuse(
                                        k,
                                        format!("{why}; write it in E.164, e.g. +34600111222"),
                                    )
                                })
                            })
                            .transpose()?,
                    )
                }
                "first_name" => p.first_name = Some(name(k, v)?),
                "last_name" => p.last_name = Some(name(k, v)?),
                "birth_date" => {
                    p.birth_date = Some(
                        text(k, v)?
                            .map(|s| {
                                BirthDate::parse(s)
                                    .map(|d| d.to_string())
                                    .map_err(|why| refuse(k, why))
                            })
                            .transpose()?,
                    )
                }
                "custom" => {
                    let Value::Object(fields) = v else {
                        return Err(refuse(k, "must be an object of field names to values"));
                    };
                    for (name, value) in fields {
                        let field = format!("custom.{name}");
                        let n = name.chars().count();
                        if n == 0 || n > MAX_CUSTOM_KEY_CHARS || name.chars().any(char::is_control)
                        {
                            return Err(refuse(
                                &field,
                                format!("needs a name of 1 to {MAX_CUSTOM_KEY_CHARS} characters"),
                            ));
                        }
                        let json = match value {
                            Value::Null => None,
                            Value::Object(_) | Value::Array(_) => {
                                return Err(refuse(
                                    &field,
                                    "must be a string, number or boolean (null removes it)",
                                ))
                            }
                            v => Some(v.to_string()),
                        };
                        if json
                            .as_ref()
                            .is_some_and(|j| j.len() > MAX_CUSTOM_VALUE_BYTES)
                        {
                            return Err(refuse(
                                &field,
                                format!("is over {MAX_CUSTOM_VALUE_BYTES} bytes"),
                            ));
                        }
                        p.custom.insert(name.clone(), json);
                    }
                }
                "email_status" => {
                    p.email_status = Some(one_of(k, v, EmailStatus::parse, EmailStatus::NAMES)?)
                }
                "newsletter" => {
                    p.newsletter = Some(one_of(k, v, Subscription::parse, Subscription::NAMES)?)
                }
                "sms_status" => {
                    p.sms_status = Some(one_of(k, v, SmsStatus::parse, SmsStatus::NAMES)?)
                }
                "sms_subscription" => {
                    p.sms_subscription =
                        Some(one_of(k, v, Subscription::parse, Subscription::NAMES)?)
                }
                "consent" => {
                    p.consent = Some(match one_of(k, v, Consent::parse, Consent::NAMES)? {
                        Consent::Yes => ConsentState::Yes,
                        Consent::No => ConsentState::No,
                        Consent::NotSet => ConsentState::NotSet,
                    })
                }
                "confidentiality" => {
                    p.confidentiality =
                        Some(v.as_str().and_then(Confidentiality::parse).ok_or_else(|| {
                            refuse(k, "must be one of free, restricted, confidential")
                        })?)
                }
                "valid_until" => p.valid_until = Some(instant(k, v)?),
                "tags" => {
                    let Value::Array(items) = v else {
                        return Err(refuse(k, "must be an array of tags (the whole list)"));
                    };
                    let texts = items
                        .iter()
                        .enumerate()
                        .map(|(i, t)| {
                            t.as_str()
                                .ok_or_else(|| refuse(&format!("tags[{i}]"), "must be a string"))
                        })
                        .collect::<Result<Vec<_>, _>>()?;
                    p.tags = Some(tag_list(k, texts)?);
                }
                "reference" => {
                    p.reference = Some(text(k, v)?.map(|s| reference(k, s)).transpose()?)
                }
                "points_adjustment" => {
                    p.points_adjustment = Some(
                        v.as_i64()
                            .filter(|n| *n != 0 && n.abs() <= MAX_POINTS_ADJUSTMENT)
                            .ok_or_else(|| {
                                refuse(
                                    k,
                                    format!(
                                        "must be a whole number of points from \
                                         -{MAX_POINTS_ADJUSTMENT} to {MAX_POINTS_ADJUSTMENT}, \
                                         not 0"
                                    ),
                                )
                            })?,
                    )
                }
                _ => {
                    return Err(refuse(
                        k,
                        format!(
                            "is not an editable field; use any of {}",
                            FIELDS[..16].join(", ")
                        ),
                    ))
                }
            }
        }
        Ok(p)
    }

    /// Applies everything but the email and phone to `c`, stamped `at` (an admin's edit is the
    /// latest value until an event newer than it says otherwise). Returns what changed.
    pub fn apply(&self, c: &mut Contact, at: i64, pos: Pos) -> Vec<Change> {
        let mut changes = Vec::new();
        let stamped = |v: &Option<String>| v.clone().map(|value| Stamped { at, pos, value });
        let value = |s: &Option<Stamped<String>>| s.as_ref().map(|s| s.value.clone());
        for (field, edit, slot) in [
            ("first_name", &self.first_name, &mut c.first_name),
            ("last_name", &self.last_name, &mut c.last_name),
            ("birth_date", &self.birth_date, &mut c.birth_date),
        ] {
            if let Some(new) = edit {
                changes.extend(Change::new(field, value(slot), new.clone()));
                *slot = stamped(new);
            }
        }
        for (k, new) in &self.custom {
            let old = c.custom.get(k).map(|s| s.value.clone());
            changes.extend(Change::new(&format!("custom.{k}"), old, new.clone()));
            match stamped(new) {
                Some(s) => c.custom.insert(k.clone(), s),
                None => c.custom.remove(k),
            };
        }
        if let Some(new) = self.newsletter {
            let old = c.set_newsletter(new, at, pos);
            changes.extend(Change::named("newsletter", old, Some(new)));
        }
        let ch = &mut c.channels;
        if let Some(new) = self.email_status {
            changes.extend(Change::named("email_status", ch.email_status, Some(new)));
            ch.email_status = Some(new);
        }
        if let Some(new) = self.sms_status {
            changes.extend(Change::named("sms_status", ch.sms_status, Some(new)));
            ch.sms_status = Some(new);
        }
        if let Some(new) = self.sms_subscription {
            let old = ch.sms_subscription;
            changes.extend(Change::named("sms_subscription", old, Some(new)));
            ch.sms_subscription = Some(new);
        }
        if let Some(new) = self.consent {
            let old = c.consent.as_ref().map(|s| Consent::from(s.value));
            changes.extend(Change::named("consent", old, Some(Consent::from(new))));
            c.consent = Some(Stamped {
                at,
                pos,
                value: new,
            });
        }
        if let Some(new) = self.confidentiality {
            let old = c.admin.confidentiality;
            changes.extend(Change::new(
                "confidentiality",
                Some(old.as_str().to_owned()),
                Some(new.as_str().to_owned()),
            ));
            c.admin.confidentiality = new;
        }
        if let Some(n) = self.points_adjustment {
            let show = |p: &Option<super::points::Points>| p.map(|p| format!("{}", p.value_at(at)));
            let old = show(&c.extras.points);
            // The contact's own half-life carries on; without points yet, none.
            let h = c.extras.points.and_then(|p| p.half_life_days);
            super::points::Points::add(&mut c.extras.points, n as f64, at, h);
            changes.extend(Change::new("points", old, show(&c.extras.points)));
        }
        if let Some(new) = &self.tags {
            changes.extend(set_tags(c, new.iter().cloned()));
        }
        if let Some(new) = self.valid_until {
            changes.extend(Change::new(
                "valid_until",
                c.admin.valid_until.map(time_text),
                new.map(time_text),
            ));
            c.admin.valid_until = new;
        }
        changes
    }
}

/// Replaces `c`'s tags with `new` (checked by [`tag_list`]); the change for history,
/// the lists written as `a, b`.
pub fn set_tags(c: &mut Contact, new: impl IntoIterator<Item = String>) -> Option<Change> {
    let text = |t: &std::collections::BTreeSet<String>| {
        (!t.is_empty()).then(|| t.iter().cloned().collect::<Vec<_>>().join(", "))
    };
    let old = text(&c.extras.tags);
    c.extras.tags = new.into_iter().take(MAX_TAGS).collect();
    Change::new("tags", old, text(&c.extras.tags))
}

/// Adds (or removes) one tag, matched without regard to case; the change for history.
/// Adding to a contact at [`MAX_TAGS`] tags is refused with the reason.
pub fn toggle_tag(c: &mut Contact, tag: &str, add: bool) -> Result<Option<Change>, String> {
    let has = c
        .extras
        .tags
        .iter()
        .find(|t| t.eq_ignore_ascii_case(tag))
        .cloned();
    let mut next = c.extras.tags.clone();
    match (add, has) {
        (true, Some(_)) | (false, None) => return Ok(None),
        (true, None) => {
            if next.len() >= MAX_TAGS {
                return Err(format!(
                    "contact {} already has {MAX_TAGS} tags; remove one first",
                    c.id
                ));
            }
            next.insert(tag.to_owned());
        }
        (false, Some(t)) => {
            next.remove(&t);
        }
    }
    Ok(set_tags(c, next))
}

/// A time as history shows it: RFC 3339, UTC, milliseconds.
pub fn time_text(ms: i64) -> String {
    footprint_protocol::Timestamp::from_millis(ms)
        .map(|t| t.to_string())
        .unwrap_or_else(|_| ms.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::contacts::ContactId;

    fn parse(v: Value) -> Result<Patch, FieldError> {
        Patch::parse(v.as_object().unwrap())
    }

    #[test]
    fn every_bad_value_names_its_field() {
        for (body, field) in [
            (serde_json::json!({"email": "not-an-email"}), "email"),
            (serde_json::json!({"phone": "600111222"}), "phone"),
            (
                serde_json::json!({"birth_date": "1990-02-30"}),
                "birth_date",
            ),
            (serde_json::json!({"newsletter": "yes"}), "newsletter"),
            (serde_json::json!({"email_status": "gone"}), "email_status"),
            (serde_json::json!({"sms_status": "frozen"}), "sms_status"),
            (serde_json::json!({"consent": true}), "consent"),
            (
                serde_json::json!({"confidentiality": "secret"}),
                "confidentiality",
            ),
            (
                serde_json::json!({"valid_until": "tomorrow"}),
                "valid_until",
            ),
            (serde_json::json!({"custom": {"size": [1]}}), "custom.size"),
            (serde_json::json!({"custom": {"": 1}}), "custom."),
            (serde_json::json!({"first_name": ""}), "first_name"),
            (serde_json::json!({"first_name": 3}), "first_name"),
            (serde_json::json!({"shoe_size": 3}), "shoe_size"),
            (serde_json::json!({}), "body"),
        ] {
            let e = parse(body.clone()).unwrap_err();
            assert_eq!(e.field, field, "{body}: {e}");
        }
    }

    #[test]
    fn a_patch_applies_and_reports_only_what_changed() {
        let mut c = Contact::new(ContactId::FIRST, "shop", 0);
        let p = parse(serde_json::json!({
            "first_name": " Ana ", "birth_date": "1990-02-03", "custom": {"size": 42, "vip": true},
            "newsletter": "subscribed", "consent": "yes", "confidentiality": "restricted",
            "valid_until": "2027-01-01T00:00:00Z"
        }))
        .unwrap();
        let pos = Pos { seq: 9, index: 0 };
        let changes = p.apply(&mut c, 1_000, pos);
        let fields: Vec<&str> = changes.iter().map(|c| c.field.as_str()).collect();
        assert_eq!(
            fields,
            [
                "first_name",
                "birth_date",
                "custom.size",
                "custom.vip",
                "newsletter",
                "consent",
                "confidentiality",
                "valid_until"
            ]
        );
        assert_eq!(c.first_name.as_ref().unwrap().value, "Ana");
        assert_eq!(c.custom["size"].value, "42");
        assert_eq!(c.admin.confidentiality, Confidentiality::Restricted);
        assert_eq!(changes[7].new.as_deref(), Some("2027-01-01T00:00:00.000Z"));
        // The same patch again changes nothing.
        assert!(p.apply(&mut c, 2_000, pos).is_empty());
        // null clears.
        let clear = parse(
            serde_json::json!({"first_name": null, "custom": {"vip": null}, "valid_until": null}),
        )
        .unwrap();
        let changes = clear.apply(&mut c, 3_000, pos);
        assert_eq!(changes.len(), 3);
        assert!(c.first_name.is_none() && !c.custom.contains_key("vip"));
        assert!(c.admin.valid_until.is_none());
    }
}
