//! Segments: the list, creating one, and a segment's page with its members.

use actix_web::{web, HttpRequest};
use serde::Deserialize;
use serde_json::{Map, Value};

use super::pages::{chrome, nonempty, url, State, PAGE};
use super::views::*;
use super::{field, see_other, signed_in, signed_post, Answer, Fail, Form, Refused, Signed};
use crate::admin::ListQuery;
use crate::app::blocking;
use crate::auth::Role;
use crate::error::ApiError;

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
                    ("static", "Static: contacts added by hand"),
                    ("dynamic", "Dynamic: contacts a rule selects"),
                ],
                &get("kind"),
            ),
            value: get("kind"),
            error: err("kind"),
            input: "",
            hint: "",
        });
    }
    if creating || !get("rule").is_empty() {
        form.push(FieldView {
            name: "rule".into(),
            label: "Rule (dynamic segments)".into(),
            value: get("rule"),
            error: err("rule"),
            input: "textarea",
            choices: Vec::new(),
            hint: "JSON, as the API takes it: {\"field\": \"valuation\", \"op\": \"eq\", \"value\": \"new\"}",
        });
    }
    form
}

/// The segment form's fields as the API's JSON; a rule that is not JSON is refused at its
/// field.
fn segment_body(form: &[(String, String)], creating: bool) -> Result<Map<String, Value>, ApiError> {
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
    if let Some(rule) = field(form, "rule").map(str::trim).filter(|r| !r.is_empty()) {
        let v: Value = serde_json::from_str(rule).map_err(|e| ApiError::Unprocessable {
            field: "rule".to_owned(),
            message: format!("is not JSON: {e}"),
        })?;
        body.insert("rule".into(), v);
    }
    Ok(body)
}

async fn segments_page(
    state: State,
    signed: Signed,
    values: Vec<(String, String)>,
    refused: Refused,
) -> Answer {
    let st = state.clone().into_inner();
    let list = blocking(move || crate::segments::list(&st.store)).await?;
    let page = SegmentsPage {
        chrome: chrome(&signed, "Segments", "segments"),
        can_edit: signed.can(Role::Editor),
        segments: list
            .iter()
            .map(|s| SegmentRow {
                id: s.id.clone(),
                name: s.name.clone(),
                description: s.description.clone(),
                kind: s.kind,
                created: s.created_at.get(..10).unwrap_or("").to_owned(),
            })
            .collect(),
        form: segment_form(&values, &refused.errors, true),
        form_error: refused.top,
    };
    Ok(html(refused.status, &page))
}

pub async fn segments(req: HttpRequest, state: State) -> Answer {
    let signed = signed_in(&req, &state).await?;
    segments_page(state, signed, Vec::new(), Refused::NONE).await
}

pub async fn segment_create(req: HttpRequest, state: State, form: Form) -> Answer {
    let signed = signed_post(&req, &state, &form).await?;
    signed.who().require(Role::Editor)?;
    let outcome = match segment_body(&form, true).and_then(|b| crate::segments::create_from(&b)) {
        Ok(s) => state.create_segment(signed.who(), s).await,
        Err(e) => Err(e),
    };
    match outcome {
        Ok(id) => {
            state.console.flash(&signed.id, "Segment created.").await;
            Ok(see_other(&format!("/admin/segments/{id}")))
        }
        Err(e) => segments_page(state, signed, form.0.clone(), Refused::of(e)?).await,
    }
}

#[derive(Deserialize)]
pub struct MembersForm {
    cursor: Option<String>,
}

async fn segment_page(
    state: State,
    signed: Signed,
    id: &str,
    cursor: Option<String>,
    sent: Option<(Vec<(String, String)>, Refused)>,
) -> Answer {
    let id = crate::segments::segment_id(id)?;
    let q = ListQuery {
        cursor,
        limit: Some(PAGE),
        ..ListQuery::default()
    };
    let (seg, members) = state.app.segment_with_members(signed.who(), id, q).await?;
    let rule = seg
        .rule
        .as_ref()
        .and_then(|r| serde_json::from_str::<Value>(r.get()).ok())
        .and_then(|v| serde_json::to_string_pretty(&v).ok())
        .unwrap_or_default();
    let (values, refused) = sent.unwrap_or_else(|| {
        let values = vec![
            ("name".into(), seg.name.clone()),
            ("description".into(), seg.description.clone()),
            ("rule".into(), rule),
        ];
        (values, Refused::NONE)
    });
    let page = SegmentPage {
        chrome: chrome(&signed, seg.name.clone(), "segments"),
        can_edit: signed.can(Role::Editor),
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
    let outcome = match segment_body(&form, false).and_then(|b| crate::segments::update_from(&b)) {
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
            let sent = Some((form.0.clone(), Refused::of(e)?));
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
