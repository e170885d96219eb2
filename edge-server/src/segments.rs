//! The segments API's domain: reading and checking what admins send, and the wire types. The
//! rule language is in [`crate::contacts::segment`]; changes go through the store's writer
//! as admin operations.

use serde::Serialize;
use serde_json::{Map, Value};

use crate::contacts::patch::time_text;
use crate::contacts::segment::{Membership, Rule, Segment, SegmentKind, MAX_DESCRIPTION, MAX_NAME};
use crate::contacts::{Contact, ContactId};
use crate::error::{contact_id, ApiError};
use crate::store::{Refusal, Store};

/// Contacts one request may add or remove.
pub const MAX_MEMBERS_PER_REQUEST: usize = 1000;

/// A segment as the API shows it.
#[derive(Debug, Serialize)]
pub struct SegmentView {
    pub id: String,
    pub name: String,
    pub description: String,
    /// `static` or `dynamic`.
    pub kind: SegmentKind,
    /// A dynamic segment's rule, as stored.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rule: Option<Box<serde_json::value::RawValue>>,
    pub created_at: String,
    pub created_by: String,
    pub updated_at: String,
}

impl SegmentView {
    pub fn of(s: Segment) -> SegmentView {
        SegmentView {
            id: s.id.to_string(),
            kind: s.kind(),
            rule: s
                .rule
                .and_then(|r| serde_json::value::RawValue::from_string(r).ok()),
            name: s.name,
            description: s.description,
            created_at: time_text(s.created_at),
            created_by: s.created_by,
            updated_at: time_text(s.updated_at),
        }
    }
}

pub fn segment_id(s: &str) -> Result<u64, ApiError> {
    s.parse::<u64>().ok().filter(|n| *n > 0).ok_or_else(|| {
        ApiError::bad_request(
            "invalid_segment_id",
            format!("`{s}` is not a segment id; ids are positive whole numbers"),
        )
    })
}

pub fn list(store: &Store) -> Result<Vec<SegmentView>, ApiError> {
    Ok(store.segments()?.into_iter().map(SegmentView::of).collect())
}

pub fn get(store: &Store, id: &str) -> Result<SegmentView, ApiError> {
    view(store, segment_id(id)?)
}

pub fn view(store: &Store, id: u64) -> Result<SegmentView, ApiError> {
    store
        .segment(id)?
        .map(SegmentView::of)
        .ok_or_else(|| ApiError::NotFound(format!("no segment {id}")))
}

/// The segments `c` belongs to: the static ones it was added to that still exist, and the
/// dynamic ones whose rule holds now.
pub fn memberships(
    store: &Store,
    c: &Contact,
    cx: &crate::contacts::segment::Context<'_>,
) -> Result<Vec<Membership>, ApiError> {
    let mut out = Vec::new();
    for s in store.segments()? {
        let member = match s.parsed_rule() {
            Ok(None) => c.extras.segments.contains(&s.id),
            Ok(Some(rule)) => rule.holds(c, cx),
            Err(e) => {
                tracing::error!(segment = s.id, error = ?e, "a stored rule does not parse");
                false
            }
        };
        if member {
            out.push(Membership {
                id: s.id.to_string(),
                kind: s.kind(),
                name: s.name,
            });
        }
    }
    Ok(out)
}

fn object(body: &[u8], shape: &str) -> Result<Map<String, Value>, ApiError> {
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(m)) => Ok(m),
        Ok(_) => Err(ApiError::bad_request(
            "invalid_json",
            format!("the body must be a JSON object: {shape}"),
        )),
        Err(e) => Err(ApiError::bad_request(
            "invalid_json",
            format!("the body is not JSON: {e}"),
        )),
    }
}

fn unprocessable(field: impl Into<String>, message: impl Into<String>) -> ApiError {
    ApiError::Unprocessable {
        field: field.into(),
        message: message.into(),
    }
}

fn only(m: &Map<String, Value>, allowed: &[&str]) -> Result<(), ApiError> {
    match m.keys().find(|k| !allowed.contains(&k.as_str())) {
        Some(k) => Err(unprocessable(
            k.as_str(),
            format!("is not a segment field; use {}", allowed.join(", ")),
        )),
        None => Ok(()),
    }
}

fn name(v: &Value) -> Result<String, ApiError> {
    let n = v.as_str().map(str::trim).unwrap_or_default();
    if n.is_empty() || n.chars().count() > MAX_NAME || n.chars().any(char::is_control) {
        return Err(unprocessable(
            "name",
            format!("must be text of 1 to {MAX_NAME} characters, without control characters"),
        ));
    }
    Ok(n.to_owned())
}

fn description(v: &Value) -> Result<String, ApiError> {
    match v {
        Value::Null => Ok(String::new()),
        Value::String(d) if d.chars().count() <= MAX_DESCRIPTION => Ok(d.trim().to_owned()),
        _ => Err(unprocessable(
            "description",
            format!("must be text of at most {MAX_DESCRIPTION} characters"),
        )),
    }
}

/// A checked rule, as the text to store.
fn rule(v: &Value) -> Result<String, ApiError> {
    Rule::parse(v).map_err(|e| unprocessable(e.field, e.message))?;
    Ok(v.to_string())
}

/// `POST /v1/segments`: `{"name", "description"?, "rule"?}`; with a rule it is dynamic.
pub fn parse_create(body: &[u8]) -> Result<Segment, ApiError> {
    create_from(&object(
        body,
        r#"{"name": "...", "description"?: "...", "rule"?: {...}}"#,
    )?)
}

/// [`parse_create`] of a body already parsed: the console's form, as fields.
pub fn create_from(m: &Map<String, Value>) -> Result<Segment, ApiError> {
    only(m, &["name", "description", "kind", "rule"])?;
    let name = name(m.get("name").unwrap_or(&Value::Null))?;
    let description = description(m.get("description").unwrap_or(&Value::Null))?;
    let rule = m
        .get("rule")
        .filter(|r| !r.is_null())
        .map(rule)
        .transpose()?;
    let kind = match m.get("kind") {
        None | Some(Value::Null) => None,
        Some(k) => Some(
            k.as_str()
                .and_then(SegmentKind::parse)
                .ok_or_else(|| unprocessable("kind", "must be static or dynamic"))?,
        ),
    };
    match (kind, &rule) {
        (None, _) | (Some(SegmentKind::Dynamic), Some(_)) | (Some(SegmentKind::Static), None) => {}
        (Some(SegmentKind::Dynamic), None) => {
            return Err(unprocessable("rule", "is required for a dynamic segment"))
        }
        (Some(SegmentKind::Static), Some(_)) => {
            return Err(unprocessable(
                "rule",
                "a static segment has no rule: its members are added by hand",
            ))
        }
    }
    Ok(Segment {
        id: 0,
        name,
        description,
        rule,
        created_at: 0,
        created_by: String::new(),
        updated_at: 0,
    })
}

/// `POST /v1/segments/preview`: `{"rule": {...}}`, the rule to count.
pub fn parse_preview(body: &[u8]) -> Result<Rule, ApiError> {
    let m = object(body, r#"{"rule": {...}}"#)?;
    only(&m, &["rule"])?;
    let v = m
        .get("rule")
        .ok_or_else(|| unprocessable("rule", "is required: the rule to count"))?;
    Rule::parse(v).map_err(|e| unprocessable(e.field, e.message))
}

/// What `PATCH /v1/segments/{id}` changes: name, description and rule, each optional.
pub type SegmentChange = (Option<String>, Option<String>, Option<String>);

pub fn parse_update(body: &[u8]) -> Result<SegmentChange, ApiError> {
    update_from(&object(
        body,
        r#"{"name"?: "...", "description"?: "...", "rule"?: {...}}"#,
    )?)
}

/// [`parse_update`] of a body already parsed.
pub fn update_from(m: &Map<String, Value>) -> Result<SegmentChange, ApiError> {
    only(m, &["name", "description", "rule"])?;
    if m.is_empty() {
        return Err(unprocessable(
            "name",
            "nothing to change: send name, description or rule",
        ));
    }
    Ok((
        m.get("name").map(name).transpose()?,
        m.get("description").map(description).transpose()?,
        m.get("rule").map(rule).transpose()?,
    ))
}

/// `{"contacts": [id, ...]}` of `POST /v1/segments/{id}/members`.
pub fn parse_members(body: &[u8]) -> Result<Vec<ContactId>, ApiError> {
    let m = object(body, r#"{"contacts": ["12", "34"]}"#)?;
    only(&m, &["contacts"])?;
    contact_list(m.get("contacts"), "contacts")
}

/// A list of 1 to [`MAX_MEMBERS_PER_REQUEST`] contact ids, as strings or numbers.
pub fn contact_list(v: Option<&Value>, field: &str) -> Result<Vec<ContactId>, ApiError> {
    let list = v.and_then(Value::as_array).ok_or_else(|| {
        unprocessable(
            field,
            format!("must be an array of 1 to {MAX_MEMBERS_PER_REQUEST} contact ids"),
        )
    })?;
    let texts: Vec<String> = list
        .iter()
        .map(|v| match v {
            Value::String(s) => s.clone(),
            Value::Number(n) => n.to_string(),
            _ => String::new(),
        })
        .collect();
    contact_ids(&texts, field)
}

/// 1 to [`MAX_MEMBERS_PER_REQUEST`] contact ids, each as text: a JSON list's members or a
/// form's repeated field.
pub fn contact_ids(list: &[impl AsRef<str>], field: &str) -> Result<Vec<ContactId>, ApiError> {
    if list.is_empty() {
        return Err(unprocessable(
            field,
            format!("must be an array of 1 to {MAX_MEMBERS_PER_REQUEST} contact ids"),
        ));
    }
    if list.len() > MAX_MEMBERS_PER_REQUEST {
        return Err(unprocessable(
            field,
            format!(
                "has {} ids; send at most {MAX_MEMBERS_PER_REQUEST} per request",
                list.len()
            ),
        ));
    }
    list.iter()
        .enumerate()
        .map(|(i, text)| {
            contact_id(text.as_ref())
                .map_err(|_| unprocessable(format!("{field}[{i}]"), "must be a contact id"))
        })
        .collect()
}

/// One contact's outcome in a request that changes several.
#[derive(Debug, Serialize)]
pub struct ItemResult {
    pub id: String,
    pub ok: bool,
    /// The contact changed: differs from `id` when `id` was merged into it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub contact_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<ItemError>,
}

#[derive(Debug, Serialize)]
pub struct ItemError {
    pub code: &'static str,
    pub message: String,
}

/// The per-contact report of a change to several contacts.
#[derive(Debug, Serialize)]
pub struct Report {
    pub done: usize,
    pub failed: usize,
    pub results: Vec<ItemResult>,
}

impl Report {
    pub fn of(each: Vec<(ContactId, Result<ContactId, Refusal>)>) -> Report {
        let results: Vec<ItemResult> = each
            .into_iter()
            .map(|(asked, r)| match r {
                Ok(id) => ItemResult {
                    id: asked.to_string(),
                    ok: true,
                    contact_id: Some(id.to_string()),
                    error: None,
                },
                Err(e) => ItemResult {
                    id: asked.to_string(),
                    ok: false,
                    contact_id: None,
                    error: Some(ItemError {
                        code: match e {
                            Refusal::NotFound(_) => "not_found",
                            Refusal::Conflict(_) => "conflict",
                        },
                        message: e.to_string(),
                    }),
                },
            })
            .collect();
        let done = results.iter().filter(|r| r.ok).count();
        Report {
            done,
            failed: results.len() - done,
            results,
        }
    }
}
