//! Segments: the list, creating one, and a segment's page with its members.

use actix_web::{web, HttpRequest};
use serde::Deserialize;
use serde_json::{Map, Value};

use super::builder::{matching_words, Builder, BuilderView};
use super::pages::{chrome, nonempty, url, State, PAGE};
use super::views::*;
use super::{field, see_other, signed_in, signed_post, Answer, Fail, Form, Refused, Signed};
use crate::admin::ListQuery;
use crate::app::blocking;
use crate::auth::{AdminIdentity, Role};
use crate::contacts::segment::{Rule, SegmentKind};
use crate::error::ApiError;
use actix_web::http::StatusCode;

fn segment_form(
    values: &[(String, String)],
    errors: &[(String, String)],
    creating: bool,
) -> Vec<FieldView> {
    let get = |k: &str| field(values, k).unwrap_or("").to_owned();
    let err = |k: &str| field(errors, k).map(str::to_owned);
    let mut form = vec![
        FieldView {
            name: "name".into(),
            label: "Name".into(),
            value: get("name"),
            error: err("name"),
            input: "text",
            choices: Vec::new(),
            hint: "",
        },
        FieldView {
            name: "description".into(),
            label: "Description".into(),
            value: get("description"),
            error: err("description"),
            input: "text",
            choices: Vec::new(),
            hint: "",
        },
    ];
    if creating {
        form.push(FieldView {
            name: "kind".into(),
            label: "Type".into(),
            choices: Choice::list(
                &[
                    ("dynamic", "Dynamic (a rule)"),
                    ("static", "Static (added by hand)"),
                ],
                &get("kind"),
            ),
            value: get("kind"),
            error: err("kind"),
            input: "",
            hint: "",
        });
    }
    form
}

/// The segment form's fields as the API's JSON, with the rule the builder (or its JSON) says.
fn segment_body(
    form: &[(String, String)],
    creating: bool,
    rule: Option<Value>,
) -> Map<String, Value> {
    let mut body = Map::new();
    for k in ["name", "description"] {
        if let Some(v) = field(form, k) {
            body.insert(k.into(), Value::String(v.trim().to_owned()));
        }
    }
    if creating {
        if let Some(k) = field(form, "kind").filter(|k| !k.is_empty()) {
            body.insert("kind".into(), Value::String(k.to_owned()));
        }
    }
    if let Some(rule) = rule {
        body.insert("rule".into(), rule);
    }
    body
}

/// A rule being written: the builder's rows, or JSON when the builder cannot show it.
struct Draft {
    builder: Builder,
    json_mode: bool,
    json: String,
    json_error: Option<String>,
    /// Sent to be saved: every mistake shows, an empty value too.
    saving: bool,
}

impl Draft {
    fn fresh() -> Draft {
        Draft {
            builder: Builder::default(),
            json_mode: false,
            json: String::new(),
            json_error: None,
            saving: false,
        }
    }

    /// A stored rule, in the builder when its shape fits.
    fn of_stored(rule: &Value) -> Draft {
        let json = serde_json::to_string_pretty(rule).unwrap_or_default();
        match Builder::of_rule(rule) {
            Some(builder) => Draft {
                builder,
                json,
                ..Draft::fresh()
            },
            None => Draft {
                json_mode: true,
                json,
                ..Draft::fresh()
            },
        }
    }

    /// The draft a posted form holds, after the press `act`: `json` loads the JSON into the
    /// builder (or keeps it as JSON when the builder cannot show it); a builder button adds
    /// or removes its row.
    fn posted(form: &[(String, String)], act: &str) -> Draft {
        let mut d = Draft {
            builder: Builder::from_form(form),
            json_mode: field(form, "source") == Some("json"),
            json: field(form, "rule").unwrap_or("").trim().to_owned(),
            json_error: None,
            saving: act == "save",
        };
        if act == "json" {
            match serde_json::from_str::<Value>(&d.json) {
                Ok(v) => {
                    if let Err(e) = Rule::parse(&v) {
                        d.json_error = Some(format!("{} {}", e.field, e.message));
                    }
                    d.json_mode = match Builder::of_rule(&v) {
                        Some(b) => {
                            d.builder = b;
                            false
                        }
                        None => true,
                    };
                }
                Err(e) => d.json_error = Some(format!("is not JSON: {e}")),
            }
        } else {
            d.builder.press(act);
        }
        d
    }

    /// The rule it says, `None` for none. A builder row that makes no condition fails here
    /// with its error kept beside it; JSON that is not JSON fails at the JSON.
    fn rule(&mut self) -> Result<Option<Value>, ApiError> {
        if self.json_mode {
            if self.json.is_empty() {
                return Ok(None);
            }
            return serde_json::from_str(&self.json).map(Some).map_err(|e| {
                let message = format!("is not JSON: {e}");
                self.json_error = Some(message.clone());
                ApiError::Unprocessable {
                    field: "rule".to_owned(),
                    message,
                }
            });
        }
        let rule = self.builder.rule().map_err(|()| ApiError::Unprocessable {
            field: "rule".to_owned(),
            message: "has conditions to fix: see the rows marked".to_owned(),
        })?;
        self.json = rule
            .as_ref()
            .and_then(|r| serde_json::to_string_pretty(r).ok())
            .unwrap_or_default();
        Ok(rule)
    }

    /// What the page shows, with how many contacts `who` sees that the rule selects.
    async fn section(mut self, state: &State, who: &AdminIdentity) -> BuilderSection {
        let preview = match self.rule() {
            Ok(None) => "Add a condition to see how many contacts match.".to_owned(),
            Ok(Some(v)) => match Rule::parse(&v) {
                Ok(rule) => {
                    let all = ListQuery::default();
                    match state.app.matching(who.clone(), all, Some(rule)).await {
                        Ok(m) => matching_words(m, ""),
                        Err(e) => format!("Could not count: {e}"),
                    }
                }
                Err(e) => {
                    self.json_error = Some(format!("{} {}", e.field, e.message));
                    "Fix the rule to see how many contacts match.".to_owned()
                }
            },
            Err(_) if self.saving => {
                "Fix the conditions marked to see how many contacts match.".to_owned()
            }
            Err(_) => {
                // A value not typed yet is not a mistake until the form is saved.
                let rows = self.builder.groups.iter_mut().flat_map(|g| &mut g.rows);
                let mut only_empty = true;
                for row in rows.filter(|r| r.error.is_some()) {
                    if row.value.trim().is_empty() {
                        row.error = None;
                    } else {
                        only_empty = false;
                    }
                }
                match only_empty {
                    true => "Fill in the value of each condition to see how many contacts match.",
                    false => "Fix the conditions marked to see how many contacts match.",
                }
                .to_owned()
            }
        };
        BuilderSection {
            view: BuilderView::of(&self.builder),
            json: self.json,
            json_mode: self.json_mode,
            json_error: self.json_error,
            preview,
        }
    }
}

/// The button a form was sent with; `save` when none (Enter in a field of an old form).
fn act(form: &[(String, String)]) -> &str {
    field(form, "act").unwrap_or("save")
}

fn size_words(m: crate::admin::Matching) -> String {
    match m.exact {
        true => number(m.count),
        false => format!("≥ {}", number(m.count)),
    }
}

async fn segments_page(
    state: State,
    signed: Signed,
    values: Vec<(String, String)>,
    refused: Refused,
    draft: Draft,
) -> Answer {
    let st = state.clone().into_inner();
    let list = blocking(move || crate::segments::list(&st.store)).await?;
    let sizes: std::collections::HashMap<String, _> = state
        .app
        .segment_sizes(signed.who().clone())
        .await?
        .into_iter()
        .map(|(id, m)| (id.to_string(), m))
        .collect();
    let counted = format!("Member counts as of {}.", when(&state.app.now()));
    let can_edit = signed.can(Role::Editor);
    let builder = match can_edit {
        true => Some(draft.section(&state, signed.who()).await),
        false => None,
    };
    let page = SegmentsPage {
        chrome: chrome(&signed, "Segments", "segments"),
        can_edit,
        segments: list
            .iter()
            .map(|s| SegmentRow {
                id: s.id.clone(),
                name: s.name.clone(),
                description: s.description.clone(),
                kind: s.kind,
                created: s.created_at.get(..10).unwrap_or("").to_owned(),
                members: sizes
                    .get(&s.id)
                    .map_or_else(|| "—".to_owned(), |m| size_words(*m)),
            })
            .collect(),
        counted,
        form: segment_form(&values, &refused.errors, true),
        form_error: refused.top,
        builder,
    };
    Ok(html(refused.status, &page))
}

pub async fn segments(req: HttpRequest, state: State) -> Answer {
    let signed = signed_in(&req, &state).await?;
    segments_page(state, signed, Vec::new(), Refused::NONE, Draft::fresh()).await
}

pub async fn segment_create(req: HttpRequest, state: State, form: Form) -> Answer {
    let signed = signed_post(&req, &state, &form).await?;
    signed.who().require(Role::Editor)?;
    let act = act(&form);
    let mut draft = Draft::posted(&form, act);
    if act != "save" {
        return segments_page(state, signed, form.0.clone(), Refused::NONE, draft).await;
    }
    // A static segment has no rule, whatever the builder holds.
    let rule = match field(&form, "kind") {
        Some("static") => Ok(None),
        _ => draft.rule(),
    };
    let outcome =
        match rule.and_then(|r| crate::segments::create_from(&segment_body(&form, true, r))) {
            Ok(s) => state.create_segment(signed.who(), s).await,
            Err(e) => Err(e),
        };
    match outcome {
        Ok(id) => {
            state.console.flash(&signed.id, "Segment created.").await;
            Ok(see_other(&format!("/admin/segments/{id}")))
        }
        Err(e) => segments_page(state, signed, form.0.clone(), Refused::of(e)?, draft).await,
    }
}

/// `POST /admin/segments/builder`: the builder after a press, alone, for `console.js`.
pub async fn builder(req: HttpRequest, state: State, form: Form) -> Answer {
    let signed = signed_post(&req, &state, &form).await?;
    signed.who().require(Role::Editor)?;
    let draft = Draft::posted(&form, act(&form));
    let b = draft.section(&state, signed.who()).await;
    Ok(html(StatusCode::OK, &BuilderFragment { b }))
}

#[derive(Deserialize)]
pub struct MembersForm {
    cursor: Option<String>,
}

/// A form sent back to its page: its fields, what was refused, and its rule as drafted.
type Sent = (Vec<(String, String)>, Refused, Draft);

async fn segment_page(
    state: State,
    signed: Signed,
    id: &str,
    cursor: Option<String>,
    sent: Option<Sent>,
) -> Answer {
    let id = crate::segments::segment_id(id)?;
    let q = ListQuery {
        cursor,
        limit: Some(PAGE),
        ..ListQuery::default()
    };
    let (seg, members) = state.app.segment_with_members(signed.who(), id, q).await?;
    let of_segment = ListQuery {
        segment: Some(id.to_string()),
        ..ListQuery::default()
    };
    let size = state
        .app
        .matching(signed.who().clone(), of_segment, None)
        .await?;
    let stored = seg
        .rule
        .as_ref()
        .and_then(|r| serde_json::from_str::<Value>(r.get()).ok());
    let rule = stored
        .as_ref()
        .and_then(|v| serde_json::to_string_pretty(v).ok())
        .unwrap_or_default();
    let (values, refused, draft) = sent.unwrap_or_else(|| {
        let values = vec![
            ("name".into(), seg.name.clone()),
            ("description".into(), seg.description.clone()),
        ];
        let draft = stored.as_ref().map_or_else(Draft::fresh, Draft::of_stored);
        (values, Refused::NONE, draft)
    });
    let can_edit = signed.can(Role::Editor);
    let builder = match (can_edit, seg.kind) {
        (true, SegmentKind::Dynamic) => Some(draft.section(&state, signed.who()).await),
        _ => None,
    };
    let page = SegmentPage {
        chrome: chrome(&signed, seg.name.clone(), "segments"),
        can_edit,
        id: seg.id.clone(),
        name: seg.name.clone(),
        kind: seg.kind,
        created: format!(
            "{} by {}",
            seg.created_at.get(..10).unwrap_or(""),
            seg.created_by
        ),
        form: segment_form(&values, &refused.errors, false),
        form_error: refused.top,
        builder,
        rule,
        size: match (size.exact, size.count) {
            (true, 1) => "1 member".to_owned(),
            _ => format!("{} members", size_words(size)),
        },
        members: members.contacts.iter().map(RowView::of).collect(),
        next_url: members.next.map(|c| {
            url(
                &format!("/admin/segments/{}", seg.id),
                &serde_urlencoded::to_string([("cursor", c)]).unwrap_or_default(),
            )
        }),
    };
    Ok(html(refused.status, &page))
}

pub async fn segment(
    req: HttpRequest,
    state: State,
    path: web::Path<String>,
    q: web::Query<MembersForm>,
) -> Answer {
    let signed = signed_in(&req, &state).await?;
    let cursor = nonempty(&q.cursor).map(str::to_owned);
    segment_page(state, signed, &path, cursor, None).await
}

/// An editor's signed form about the segment in the path: who, and which segment.
async fn editing(
    req: &HttpRequest,
    state: &State,
    form: &Form,
    path: &str,
) -> Result<(Signed, u64), Fail> {
    let signed = signed_post(req, state, form).await?;
    signed.who().require(Role::Editor)?;
    Ok((signed, crate::segments::segment_id(path)?))
}

pub async fn segment_update(
    req: HttpRequest,
    state: State,
    path: web::Path<String>,
    form: Form,
) -> Answer {
    let (signed, id) = editing(&req, &state, &form, &path).await?;
    let act = act(&form);
    let mut draft = Draft::posted(&form, act);
    if act != "save" {
        let sent = Some((form.0.clone(), Refused::NONE, draft));
        return segment_page(state, signed, &path, None, sent).await;
    }
    let stored = state.app.segment(id).await?;
    // A static segment's form has no rule; a dynamic one's always has one.
    let rule = match stored.kind {
        SegmentKind::Static => Ok(None),
        SegmentKind::Dynamic => draft.rule().and_then(|r| {
            r.map(Some).ok_or_else(|| ApiError::Unprocessable {
                field: "rule".to_owned(),
                message: "is required for a dynamic segment: add a condition".to_owned(),
            })
        }),
    };
    let outcome =
        match rule.and_then(|r| crate::segments::update_from(&segment_body(&form, false, r))) {
            Ok((name, description, rule)) => {
                let who = signed.who();
                state.update_segment(who, id, name, description, rule).await
            }
            Err(e) => Err(e),
        };
    match outcome {
        Ok(()) => {
            state.console.flash(&signed.id, "Segment saved.").await;
            Ok(see_other(&format!("/admin/segments/{id}")))
        }
        Err(e) => {
            let sent = Some((form.0.clone(), Refused::of(e)?, draft));
            segment_page(state, signed, &path, None, sent).await
        }
    }
}

pub async fn segment_delete(
    req: HttpRequest,
    state: State,
    path: web::Path<String>,
    form: Form,
) -> Answer {
    let (signed, id) = editing(&req, &state, &form, &path).await?;
    if field(&form, "confirm") != Some("yes") {
        state
            .console
            .flash(
                &signed.id,
                "Not deleted: tick \"Yes, delete this segment\" first.",
            )
            .await;
        return Ok(see_other(&format!("/admin/segments/{id}")));
    }
    state.delete_segment(signed.who(), id).await?;
    state.console.flash(&signed.id, "Segment deleted.").await;
    Ok(see_other("/admin/segments"))
}
