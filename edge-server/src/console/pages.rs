//! The console's handlers. Each reads through the admin domain (`admin`, `segments`, `gdpr`,
//! `import`) and writes through the same admin operations as the API; none touches the store
//! in its own way.

use actix_web::http::header;
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use futures_util::StreamExt;
use serde::Deserialize;
use serde_json::{json, Map, Value};

use super::session::{self, LOGIN_COOKIE};
use super::views::*;
use super::{cookie, field, see_other, signed_in, signed_post, Answer, Fail, Form, Signed};
use crate::admin::ListQuery;
use crate::auth::Role;
use crate::contacts::sheet::Sheet;
use crate::contacts::ContactId;
use crate::error::ApiError;
use crate::routes::{admin_op, blocking, run_admin, AppState};
use crate::store::{AdminKind, Done, ImportRow, RowOutcome};

type State = web::Data<AppState>;

/// Contacts per page of a list.
const PAGE: usize = 50;
/// History entries shown on a sheet, newest first.
const HISTORY_SHOWN: usize = 100;

fn chrome(
    signed: &Signed,
    state: &AppState,
    title: impl Into<String>,
    nav: &'static str,
) -> Chrome {
    Chrome {
        title: title.into(),
        nav,
        who: signed.who().name.clone(),
        role: signed.who().role.to_string(),
        csrf: signed.session.csrf.clone(),
        flash: state.console.take_flash(&signed.id),
    }
}

pub async fn home() -> HttpResponse {
    see_other("/admin/contacts")
}

pub async fn not_found() -> Answer {
    Err(Fail::Api(ApiError::NotFound(
        "no console page here; start from Contacts".into(),
    )))
}

pub async fn css() -> HttpResponse {
    asset(
        "text/css; charset=utf-8",
        include_str!("../../static/console.css"),
    )
}

pub async fn js() -> HttpResponse {
    asset(
        "text/javascript; charset=utf-8",
        include_str!("../../static/console.js"),
    )
}

fn asset(content_type: &str, body: &'static str) -> HttpResponse {
    HttpResponse::Ok()
        .content_type(content_type)
        .insert_header((header::CACHE_CONTROL, "public, max-age=300"))
        .body(body)
}

// ---------------------------------------------------------------------------------------------
// Sign-in

#[derive(Deserialize)]
pub struct LoginQuery {
    signed_out: Option<String>,
}

pub async fn login_form(req: HttpRequest, state: State, q: web::Query<LoginQuery>) -> HttpResponse {
    if signed_in(&req, &state).is_ok() {
        return see_other("/admin/contacts");
    }
    let notice = q
        .signed_out
        .as_ref()
        .map(|_| "You are signed out.".to_owned());
    login_page(&req, StatusCode::OK, None, notice)
}

fn login_page(
    req: &HttpRequest,
    status: StatusCode,
    error: Option<String>,
    notice: Option<String>,
) -> HttpResponse {
    let csrf = session::random_token();
    let mut resp = html(
        status,
        &LoginPage {
            csrf: csrf.clone(),
            error,
            notice,
        },
    );
    let _ = resp.add_cookie(&cookie(req, LOGIN_COOKIE, csrf));
    resp
}

pub async fn login(req: HttpRequest, state: State, form: Form) -> HttpResponse {
    let expected = req.cookie(LOGIN_COOKIE).map(|c| c.value().to_owned());
    let fresh = match (field(&form, "csrf"), expected) {
        (Some(sent), Some(expected)) => session::same_token(sent, &expected),
        _ => false,
    };
    if !fresh {
        return login_page(
            &req,
            StatusCode::FORBIDDEN,
            Some("The sign-in form expired. Paste your token again.".into()),
            None,
        );
    }
    let token = field(&form, "token").unwrap_or("").trim();
    let Some(who) = state.admins.verify(token) else {
        return login_page(
            &req,
            StatusCode::UNAUTHORIZED,
            Some(
                "That token is not valid. Use an admin token from the edge's config \
                 ([[admins]]); `cargo xtask demo` prints one."
                    .into(),
            ),
            None,
        );
    };
    tracing::info!(admin = %who.name, "signed in to the console");
    let id = state.console.start(who);
    let mut resp = see_other("/admin/contacts");
    let _ = resp.add_cookie(&cookie(&req, session::COOKIE, id));
    let mut gone = cookie(&req, LOGIN_COOKIE, String::new());
    gone.make_removal();
    let _ = resp.add_cookie(&gone);
    resp
}

pub async fn logout(req: HttpRequest, state: State, form: Form) -> Answer {
    let signed = signed_post(&req, &state, &form)?;
    state.console.end(&signed.id);
    let mut resp = see_other("/admin/login?signed_out=1");
    let mut gone = cookie(&req, session::COOKIE, String::new());
    gone.make_removal();
    let _ = resp.add_cookie(&gone);
    Ok(resp)
}

// ---------------------------------------------------------------------------------------------
// Contacts

/// The contact list's search and filters, as the page's form sends them.
#[derive(Debug, Default, Clone, Deserialize)]
pub struct ListForm {
    /// `email` (the default) or `phone`: what `s` is.
    by: Option<String>,
    s: Option<String>,
    /// `yes` or `no`.
    has_email: Option<String>,
    has_phone: Option<String>,
    /// `enabled` or `disabled`.
    push: Option<String>,
    segment: Option<String>,
    valuation: Option<String>,
    include_invalid: Option<String>,
    cursor: Option<String>,
}

fn nonempty(v: &Option<String>) -> Option<&str> {
    v.as_deref().map(str::trim).filter(|s| !s.is_empty())
}

impl ListForm {
    fn by_phone(&self) -> bool {
        nonempty(&self.by) == Some("phone")
    }

    fn query(&self, limit: Option<usize>) -> ListQuery {
        let yes_no = |v: &Option<String>| match nonempty(v) {
            Some("yes") => Some(true),
            Some("no") => Some(false),
            _ => None,
        };
        let s = nonempty(&self.s).map(str::to_owned);
        ListQuery {
            // An email is searched by prefix, so a partly typed one finds its contacts too.
            q: if self.by_phone() { None } else { s.clone() },
            phone: if self.by_phone() { s } else { None },
            has_email: yes_no(&self.has_email),
            has_phone: yes_no(&self.has_phone),
            push: nonempty(&self.push).map(str::to_owned),
            segment: nonempty(&self.segment).map(str::to_owned),
            valuation: nonempty(&self.valuation).map(str::to_owned),
            include_invalid: nonempty(&self.include_invalid).map(|_| true),
            cursor: nonempty(&self.cursor).map(str::to_owned),
            limit,
            ..ListQuery::default()
        }
    }

    /// The form as a query string, with `cursor` in place of its own.
    fn params(&self, cursor: Option<&str>) -> String {
        let pairs: Vec<(&str, &str)> = [
            ("by", &self.by),
            ("s", &self.s),
            ("has_email", &self.has_email),
            ("has_phone", &self.has_phone),
            ("push", &self.push),
            ("segment", &self.segment),
            ("valuation", &self.valuation),
            ("include_invalid", &self.include_invalid),
        ]
        .into_iter()
        .filter_map(|(k, v)| nonempty(v).map(|v| (k, v)))
        .chain(cursor.map(|c| ("cursor", c)))
        .collect();
        serde_urlencoded::to_string(pairs).unwrap_or_default()
    }
}

fn url(path: &str, params: &str) -> String {
    if params.is_empty() {
        path.to_owned()
    } else {
        format!("{path}?{params}")
    }
}

/// What the contacts page shows besides the list.
#[derive(Default)]
struct Extra {
    create: Option<(Vec<(String, String)>, String)>,
    report: Option<crate::import::ImportReport>,
    import_error: Option<String>,
}

async fn contacts_page(state: State, signed: Signed, form: ListForm, extra: Extra) -> Answer {
    let who = signed.who().clone();
    let q = form.query(Some(PAGE));
    let (list, segments) = {
        let state = state.clone().into_inner();
        blocking(move || {
            let now = state.ingest.clock().now();
            let list = crate::admin::list_contacts(&state.store, &q, &who, state.contacts, now);
            Ok((list, crate::segments::list(&state.store)?))
        })
        .await?
    };
    let (rows, next, error) = match list {
        Ok(l) => (l.contacts, l.next, None),
        // A bad search or filter is shown above the list, not as an error page.
        Err(e @ ApiError::BadRequest { .. }) => (Vec::new(), None, Some(e.to_string())),
        Err(e) => return Err(e.into()),
    };
    let status = match (&error, &extra.create, &extra.import_error) {
        (Some(_), _, _) => StatusCode::BAD_REQUEST,
        (_, Some(_), _) | (_, _, Some(_)) => StatusCode::UNPROCESSABLE_ENTITY,
        _ => StatusCode::OK,
    };
    let chosen = |v: &Option<String>| nonempty(v).unwrap_or("").to_owned();
    let segment = chosen(&form.segment);
    let (create_values, create_error) = match extra.create {
        Some((v, e)) => (v, Some(e)),
        None => (Vec::new(), None),
    };
    let create_field = |name: &str, label: &str, input: &'static str| FieldView {
        name: name.into(),
        label: label.into(),
        value: field(&create_values, name).unwrap_or("").to_owned(),
        error: None,
        input,
        choices: Vec::new(),
        hint: "",
    };
    let page = ContactsPage {
        chrome: chrome(&signed, &state, "Contacts", "contacts"),
        can_edit: signed.can(Role::Editor),
        can_admin: signed.can(Role::Admin),
        by_phone: form.by_phone(),
        search: chosen(&form.s),
        has_email: Choice::list(
            &[("", "Any"), ("yes", "Yes"), ("no", "No")],
            &chosen(&form.has_email),
        ),
        has_phone: Choice::list(
            &[("", "Any"), ("yes", "Yes"), ("no", "No")],
            &chosen(&form.has_phone),
        ),
        push: Choice::list(
            &[
                ("", "Any"),
                ("enabled", "Enabled"),
                ("disabled", "Not enabled"),
            ],
            &chosen(&form.push),
        ),
        valuation: Choice::list(
            &[
                ("", "Any"),
                ("new", "New"),
                ("frequent", "Frequent"),
                ("dormant", "Dormant"),
                ("lapsed", "Lapsed"),
                ("inactive", "Inactive"),
            ],
            &chosen(&form.valuation),
        ),
        segments: segments
            .iter()
            .map(|s| SegmentOption {
                id: s.id.clone(),
                name: s.name.clone(),
                is_static: s.kind == "static",
                selected: s.id == segment,
            })
            .collect(),
        include_invalid: nonempty(&form.include_invalid).is_some(),
        rows: rows.iter().map(RowView::of).collect(),
        next_url: next.map(|c| url("/admin/contacts", &form.params(Some(&c)))),
        export_url: url("/admin/contacts/export.csv", &form.params(None)),
        back: url("/admin/contacts", &form.params(nonempty(&form.cursor))),
        sites: state.ingest.site_keys(),
        error,
        create: vec![
            create_field("email", "Email", "email"),
            create_field("phone", "Mobile phone", "tel"),
            create_field("first_name", "First name", "text"),
            create_field("last_name", "Last name", "text"),
        ],
        create_error,
        report: extra.report,
        import_error: extra.import_error,
    };
    Ok(html(status, &page))
}

pub async fn contacts(req: HttpRequest, state: State, form: web::Query<ListForm>) -> Answer {
    let signed = signed_in(&req, &state)?;
    contacts_page(state, signed, form.into_inner(), Extra::default()).await
}

/// `POST /admin/contacts/new` (editor): one contact, by hand. It goes through the import's
/// upsert, so it is matched and validated exactly as a CSV row would be; an email or phone
/// that already has a contact is refused here rather than quietly updating that contact.
pub async fn create(req: HttpRequest, state: State, form: Form) -> Answer {
    let signed = signed_post(&req, &state, &form)?;
    signed.who().require(Role::Editor)?;
    let refuse = |why: String| Extra {
        create: Some((form.0.clone(), why)),
        ..Extra::default()
    };
    let mut fields = Map::new();
    for name in ["email", "phone", "first_name", "last_name"] {
        if let Some(v) = field(&form, name).map(str::trim).filter(|v| !v.is_empty()) {
            fields.insert(name.into(), Value::String(v.to_owned()));
        }
    }
    if !fields.contains_key("email") && !fields.contains_key("phone") {
        let why = "Give an email or a mobile phone: contacts are found by them.".to_owned();
        return contacts_page(state, signed, ListForm::default(), refuse(why)).await;
    }
    let site = match form_site(
        field(&form, "site").map(str::to_owned),
        &state.ingest.site_keys(),
    ) {
        Ok(s) => s,
        Err(why) => return contacts_page(state, signed, ListForm::default(), refuse(why)).await,
    };
    let patch = match crate::contacts::patch::Patch::parse_in(&fields, state.contacts.region) {
        Ok(p) => p,
        Err(e) => {
            let why = format!("{}: {}", e.field, e.message);
            return contacts_page(state, signed, ListForm::default(), refuse(why)).await;
        }
    };
    // Someone already has it: say who, rather than edit them from a "create" form.
    let existing = {
        let who = signed.who().clone();
        let st = state.clone().into_inner();
        let (email, phone) = (
            fields
                .get("email")
                .and_then(Value::as_str)
                .map(str::to_owned),
            fields
                .get("phone")
                .and_then(Value::as_str)
                .map(str::to_owned),
        );
        let site = site.clone();
        blocking(move || {
            let now = st.ingest.clock().now();
            for q in [
                email.map(|e| ListQuery {
                    email: Some(e),
                    ..ListQuery::default()
                }),
                phone.map(|p| ListQuery {
                    phone: Some(p),
                    ..ListQuery::default()
                }),
            ]
            .into_iter()
            .flatten()
            {
                let q = ListQuery {
                    site: Some(site.clone()),
                    include_invalid: Some(true),
                    ..q
                };
                let found = crate::admin::list_contacts(&st.store, &q, &who, st.contacts, now)?;
                if let Some(r) = found.contacts.first() {
                    return Ok(Some(r.id.clone()));
                }
            }
            Ok(None)
        })
        .await?
    };
    if let Some(id) = existing {
        let why = format!("Contact {id} already has that email or phone; open it to edit it.");
        return contacts_page(state, signed, ListForm::default(), refuse(why)).await;
    }
    let kind = AdminKind::Import {
        site,
        rows: vec![ImportRow { row: 1, patch }],
    };
    let Done::Imported(outcomes) = run_admin(&state, admin_op(&state, signed.who(), kind)).await?
    else {
        return Err(ApiError::Internal.into());
    };
    match outcomes.into_iter().next() {
        Some(RowOutcome::Created(id)) => {
            state.console.flash(&signed.id, "Contact created.");
            Ok(see_other(&format!("/admin/contacts/{id}")))
        }
        Some(RowOutcome::Updated(id)) => {
            state.console.flash(
                &signed.id,
                "A contact with that email or phone appeared meanwhile; it was updated.",
            );
            Ok(see_other(&format!("/admin/contacts/{id}")))
        }
        Some(RowOutcome::Rejected(why)) => {
            contacts_page(state, signed, ListForm::default(), refuse(why)).await
        }
        None => Err(ApiError::Internal.into()),
    }
}

/// The site a console form names: as the import API decides it, but said for a form.
fn form_site(asked: Option<String>, sites: &[String]) -> Result<String, String> {
    let asked = asked.filter(|s| !s.trim().is_empty());
    if asked.is_none() && sites.len() > 1 {
        return Err("Choose the site.".into());
    }
    crate::import::site(asked, sites).map_err(|e| e.to_string())
}

/// Largest CSV the console's upload takes: as the API's import.
const MAX_UPLOAD: usize = 64 * 1024 * 1024;
/// Largest text field of the upload form (the CSRF token, the site).
const MAX_UPLOAD_FIELD: usize = 4096;

/// `POST /admin/contacts/import` (editor): a CSV upload; the page shows the row report.
pub async fn import(
    req: HttpRequest,
    state: State,
    mut parts: actix_multipart::Multipart,
) -> Answer {
    let signed = signed_in(&req, &state)?;
    let mut csrf = None;
    let mut site = None;
    let mut file: Option<Vec<u8>> = None;
    while let Some(part) = parts.next().await {
        let mut part = part.map_err(|e| bad_upload(e.to_string()))?;
        let name = part.name().unwrap_or("").to_owned();
        let limit = if name == "file" {
            MAX_UPLOAD
        } else {
            MAX_UPLOAD_FIELD
        };
        let mut bytes = Vec::new();
        while let Some(chunk) = part.next().await {
            let chunk = chunk.map_err(|e| bad_upload(e.to_string()))?;
            if bytes.len() + chunk.len() > limit {
                return Err(ApiError::PayloadTooLarge { limit }.into());
            }
            bytes.extend_from_slice(&chunk);
        }
        let text = || String::from_utf8_lossy(&bytes).trim().to_owned();
        match name.as_str() {
            "csrf" => csrf = Some(text()),
            "site" => site = Some(text()),
            "file" => file = Some(bytes),
            _ => {}
        }
    }
    // The token is checked before anything of the upload is used.
    match &csrf {
        Some(t) if session::same_token(t, &signed.session.csrf) => {}
        _ => return Err(Fail::Csrf),
    }
    signed.who().require(Role::Editor)?;
    let failed = |why: String| Extra {
        import_error: Some(why),
        ..Extra::default()
    };
    let Some(file) = file.filter(|f| !f.is_empty()) else {
        let why = "Choose a CSV file to import.".to_owned();
        return contacts_page(state, signed, ListForm::default(), failed(why)).await;
    };
    let site = match form_site(site, &state.ingest.site_keys()) {
        Ok(s) => s,
        Err(why) => return contacts_page(state, signed, ListForm::default(), failed(why)).await,
    };
    let who = signed.who().clone();
    let st = state.clone().into_inner();
    let report = blocking(move || {
        let at = || st.ingest.clock().now().as_millis();
        crate::import::run(
            &st.store,
            &who,
            &site,
            st.contacts.region,
            &file[..],
            at,
            |_| {},
        )
    })
    .await;
    let extra = match report {
        Ok(r) => Extra {
            report: Some(r),
            ..Extra::default()
        },
        Err(e @ (ApiError::BadRequest { .. } | ApiError::Unprocessable { .. })) => {
            failed(e.to_string())
        }
        Err(e) => return Err(e.into()),
    };
    contacts_page(state, signed, ListForm::default(), extra).await
}

fn bad_upload(why: String) -> Fail {
    ApiError::bad_request(
        "invalid_upload",
        format!("the upload could not be read: {why}"),
    )
    .into()
}

/// `GET /admin/contacts/export.csv` (admin): the list as filtered, as the API exports it.
pub async fn export(req: HttpRequest, state: State, form: web::Query<ListForm>) -> Answer {
    let signed = signed_in(&req, &state)?;
    let mut q = form.into_inner().query(None);
    q.cursor = None;
    Ok(crate::routes::export_csv(state, signed.session.who, q).await?)
}

/// Where a bulk action goes back to: the list it was started from, never elsewhere.
fn back_to(form: &[(String, String)]) -> String {
    match field(form, "back") {
        Some(b) if b.starts_with("/admin/contacts") && !b.contains("//") => b.to_owned(),
        _ => "/admin/contacts".into(),
    }
}

/// `POST /admin/contacts/bulk`: the selected rows' action. A delete asks first.
pub async fn bulk(req: HttpRequest, state: State, form: Form) -> Answer {
    let signed = signed_post(&req, &state, &form)?;
    let back = back_to(&form);
    let ids: Vec<&str> = form
        .iter()
        .filter(|(k, _)| k == "id")
        .map(|(_, v)| v.as_str())
        .collect();
    if ids.is_empty() {
        state
            .console
            .flash(&signed.id, "Select at least one contact first.");
        return Ok(see_other(&back));
    }
    let action = field(&form, "action").unwrap_or("");
    if action == "delete" && field(&form, "confirm") != Some("yes") {
        signed.who().require(Role::Admin)?;
        let mut hidden = vec![
            ("csrf".to_owned(), signed.session.csrf.clone()),
            ("action".to_owned(), "delete".to_owned()),
            ("confirm".to_owned(), "yes".to_owned()),
            ("back".to_owned(), back.clone()),
        ];
        hidden.extend(ids.iter().map(|id| ("id".to_owned(), (*id).to_owned())));
        let n = ids.len();
        let page = ConfirmPage {
            chrome: chrome(&signed, &state, "Delete contacts", "contacts"),
            heading: format!("Delete {n} contact{}?", if n == 1 { "" } else { "s" }),
            message: ERASE_WARNING.into(),
            items: ids.iter().map(|id| format!("Contact {id}")).collect(),
            action: "/admin/contacts/bulk".into(),
            hidden,
            button: "Delete for good".into(),
            back,
        };
        return Ok(html(StatusCode::OK, &page));
    }
    let body = json!({
        "ids": ids,
        "action": action,
        "segment": field(&form, "segment").unwrap_or(""),
    });
    let (kind, needs) = crate::gdpr::parse_bulk(body.to_string().as_bytes())?;
    signed.who().require(needs)?;
    let done = run_admin(&state, admin_op(&state, signed.who(), kind)).await?;
    let report = crate::gdpr::bulk_report(done)?;
    let verb = match action {
        "add_to_segment" => "Added to the segment",
        "remove_from_segment" => "Removed from the segment",
        "suspend" => "Suspended",
        _ => "Deleted",
    };
    let mut note = format!("{verb}: {} done", report.done);
    if report.failed > 0 {
        let why: Vec<String> = report
            .results
            .iter()
            .filter_map(|r| r.error.as_ref().map(|e| format!("{}: {}", r.id, e.message)))
            .take(3)
            .collect();
        note.push_str(&format!(", {} refused ({})", report.failed, why.join("; ")));
    }
    note.push('.');
    state.console.flash(&signed.id, note);
    Ok(see_other(&back))
}

const ERASE_WARNING: &str = "This erases the contact and the contacts merged into it: their \
    events on every tracker, profile, history and segment memberships. It cannot be undone. \
    Their trackers, email and phone go on the suppression list, so they are not tracked again.";

// ---------------------------------------------------------------------------------------------
// The contact sheet

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
    let mut v = vec![
        ("email".into(), text(&p.email)),
        ("phone".into(), text(&p.mobile_phone)),
        ("first_name".into(), text(&p.first_name)),
        ("last_name".into(), text(&p.last_name)),
        ("birth_date".into(), text(&p.birth_date)),
        ("email_status".into(), text(&s.email)),
        ("newsletter".into(), s.newsletter.clone()),
        ("sms_status".into(), text(&s.sms)),
        ("sms_subscription".into(), s.sms_subscription.clone()),
        ("consent".into(), s.consent.to_owned()),
        ("confidentiality".into(), sheet.confidentiality.to_owned()),
        ("valid_until".into(), local_minute(&sheet.valid_until)),
    ];
    for (k, raw) in &sheet.custom_fields {
        v.push((format!("custom.{k}"), custom_text(raw.get())));
    }
    v
}

struct Spec {
    name: &'static str,
    label: &'static str,
    input: &'static str,
    choices: &'static [(&'static str, &'static str)],
    hint: &'static str,
}

const SUBSCRIPTION: &[(&str, &str)] = &[
    ("subscribed", "Subscribed"),
    ("unsubscribed", "Unsubscribed"),
    ("not_subscribed", "Not subscribed"),
];

const PROFILE_FIELDS: [Spec; 5] = [
    Spec {
        name: "email",
        label: "Email",
        input: "email",
        choices: &[],
        hint: "",
    },
    Spec {
        name: "phone",
        label: "Mobile phone",
        input: "tel",
        choices: &[],
        hint: "E.164, or national in the edge's default region",
    },
    Spec {
        name: "first_name",
        label: "First name",
        input: "text",
        choices: &[],
        hint: "",
    },
    Spec {
        name: "last_name",
        label: "Last name",
        input: "text",
        choices: &[],
        hint: "",
    },
    Spec {
        name: "birth_date",
        label: "Birth date",
        input: "date",
        choices: &[],
        hint: "",
    },
];

const STATUS_FIELDS: [Spec; 7] = [
    Spec {
        name: "email_status",
        label: "Email status",
        input: "",
        choices: &[
            ("", "— (no email)"),
            ("active", "Active"),
            ("bounced", "Bounced"),
            ("blocked", "Blocked"),
            ("paused", "Paused"),
        ],
        hint: "",
    },
    Spec {
        name: "newsletter",
        label: "Newsletter",
        input: "",
        choices: SUBSCRIPTION,
        hint: "",
    },
    Spec {
        name: "sms_status",
        label: "SMS status",
        input: "",
        choices: &[
            ("", "— (no phone)"),
            ("active", "Active"),
            ("bounced", "Bounced"),
            ("paused", "Paused"),
        ],
        hint: "",
    },
    Spec {
        name: "sms_subscription",
        label: "SMS subscription",
        input: "",
        choices: SUBSCRIPTION,
        hint: "",
    },
    Spec {
        name: "consent",
        label: "Consent",
        input: "",
        choices: &[("yes", "Yes"), ("no", "No"), ("not_set", "Not set")],
        hint: "",
    },
    Spec {
        name: "confidentiality",
        label: "Confidentiality",
        input: "",
        choices: &[
            ("free", "Free: every role sees it"),
            ("restricted", "Restricted: editors and admins"),
            ("confidential", "Confidential: admins only"),
        ],
        hint: "",
    },
    Spec {
        name: "valid_until",
        label: "Valid until (UTC)",
        input: "datetime-local",
        choices: &[],
        hint: "Empty: valid for good",
    },
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
                choices: Choice::list(s.choices, &value),
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
    history: crate::admin::HistoryPage,
    segments: Vec<crate::segments::SegmentView>,
}

async fn load_profile(state: &State, signed: &Signed, id: ContactId) -> Result<ProfileData, Fail> {
    let who = signed.who().clone();
    let st = state.clone().into_inner();
    Ok(blocking(move || {
        let now = st.ingest.clock().now();
        let sheet = crate::admin::sheet_of(&st.store, id, &who, st.contacts, now)?;
        let history = crate::admin::contact_history(
            &st.store,
            &sheet.id,
            &who,
            None,
            None,
            Some(crate::admin::MAX_HISTORY_PAGE),
        )?;
        let segments = crate::segments::list(&st.store)?;
        Ok(ProfileData {
            sheet,
            history,
            segments,
        })
    })
    .await?)
}

/// The Profile tab: `values` are the form's (the sheet's own, or what was just sent back with
/// `errors`).
fn profile_page(
    signed: &Signed,
    state: &AppState,
    data: ProfileData,
    values: Vec<(String, String)>,
    errors: Vec<(String, String)>,
    form_error: Option<String>,
) -> ProfilePage {
    let ProfileData {
        sheet,
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
    let mut value = vec![Fact {
        label: "Valuation",
        value: sheet.valuation.to_owned(),
    }];
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
                    "{} days · {} order{} · {} {}",
                    r.recency_days,
                    r.frequency,
                    if r.frequency == 1 { "" } else { "s" },
                    r.monetary,
                    r.currency
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
                price: format!("{} {}", i.price, c.currency),
            })
            .collect(),
        total: format!("{} {}", c.total, c.currency),
        updated: when(&c.updated_at),
        abandoned: c.abandoned,
    });
    let member_ids: Vec<&str> = sheet.segments.iter().map(|m| m.id.as_str()).collect();
    let mut changes: Vec<HistoryView> = history
        .changes
        .iter()
        .rev()
        .take(HISTORY_SHOWN)
        .map(|h| HistoryView {
            at: when(&h.at),
            who: h.who.clone(),
            field: h.field.clone(),
            old: h.old.clone().unwrap_or_default(),
            new: h.new.clone().unwrap_or_default(),
        })
        .collect();
    changes.shrink_to_fit();
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
        chrome: chrome(signed, state, head.title.clone(), "contacts"),
        can_edit: signed.can(Role::Editor),
        can_admin: signed.can(Role::Admin),
        fields: field_views(&PROFILE_FIELDS, &values, &errors),
        statuses: field_views(&STATUS_FIELDS, &values, &errors),
        custom,
        new_custom,
        new_custom_value,
        form_error,
        web_push,
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
                score: format!("{:.2}", p.score),
                last_seen: when(&p.last_seen),
            })
            .collect(),
        segments: sheet
            .segments
            .iter()
            .map(|m| MembershipView {
                id: m.id.clone(),
                name: m.name.clone(),
                is_static: m.kind == "static",
            })
            .collect(),
        addable: segments
            .iter()
            .filter(|s| s.kind == "static" && !member_ids.contains(&s.id.as_str()))
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
                user_agent: t.user_agent.clone().unwrap_or_default(),
                current: t.current,
            })
            .collect(),
        history_more: history.changes.len() > HISTORY_SHOWN || history.truncated,
        history: changes,
        counts,
        head,
    }
}

fn contact_id(path: &str) -> Result<ContactId, Fail> {
    Ok(crate::admin::contact_id(path)?)
}

pub async fn profile(req: HttpRequest, state: State, path: web::Path<String>) -> Answer {
    let signed = signed_in(&req, &state)?;
    let data = load_profile(&state, &signed, contact_id(&path)?).await?;
    let values = current_values(&data.sheet);
    let page = profile_page(&signed, &state, data, values, Vec::new(), None);
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
        let value = if now.is_empty() {
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
    let signed = signed_post(&req, &state, &form)?;
    signed.who().require(Role::Editor)?;
    let id = contact_id(&path)?;
    let data = load_profile(&state, &signed, id).await?;
    let id = crate::admin::contact_id(&data.sheet.id)?;
    let patch = patch_of(&form, &data.sheet);
    if patch.is_empty() {
        state.console.flash(&signed.id, "Nothing changed.");
        return Ok(see_other(&format!("/admin/contacts/{id}")));
    }
    let again = |data, errors: Vec<(String, String)>, top: Option<String>, status| {
        let page = profile_page(&signed, &state, data, form.0.clone(), errors, top);
        Ok(html(status, &page))
    };
    let parsed = crate::admin::parse_patch(Value::Object(patch).to_string().as_bytes());
    let patch = match parsed {
        Ok(p) => p,
        Err(ApiError::Unprocessable { field, message }) => {
            let field = if field == "mobile_phone" {
                "phone".into()
            } else {
                field
            };
            let top = format!("Nothing was saved: fix the field marked below ({field}).");
            return again(
                data,
                vec![(field, message)],
                Some(top),
                StatusCode::UNPROCESSABLE_ENTITY,
            );
        }
        Err(e) => return Err(e.into()),
    };
    let kind = AdminKind::Patch {
        id,
        patch: Box::new(patch),
    };
    match run_admin(&state, admin_op(&state, signed.who(), kind)).await {
        Ok(_) => {
            state.console.flash(&signed.id, "Saved.");
            Ok(see_other(&format!("/admin/contacts/{id}")))
        }
        Err(ApiError::Conflict(why)) => {
            let top = format!("Nothing was saved: {why}");
            again(data, Vec::new(), Some(top), StatusCode::CONFLICT)
        }
        Err(e) => Err(e.into()),
    }
}

/// `POST /admin/contacts/{id}/segments` (editor): "+ Add to segment", or `remove`.
pub async fn sheet_segment(
    req: HttpRequest,
    state: State,
    path: web::Path<String>,
    form: Form,
) -> Answer {
    let signed = signed_post(&req, &state, &form)?;
    signed.who().require(Role::Editor)?;
    let id = contact_id(&path)?;
    let segment = crate::segments::segment_id(field(&form, "segment").unwrap_or(""))?;
    let add = field(&form, "remove").is_none();
    let kind = AdminKind::Members {
        segment,
        contacts: vec![id],
        add,
    };
    let Done::Each(each) = run_admin(&state, admin_op(&state, signed.who(), kind)).await? else {
        return Err(ApiError::Internal.into());
    };
    let note = match each.into_iter().next().map(|(_, r)| r) {
        Some(Ok(_)) if add => "Added to the segment.".to_owned(),
        Some(Ok(_)) => "Removed from the segment.".to_owned(),
        Some(Err(why)) => format!("Not changed: {why}"),
        None => return Err(ApiError::Internal.into()),
    };
    state.console.flash(&signed.id, note);
    Ok(see_other(&format!("/admin/contacts/{id}")))
}

pub async fn confirm_erase(req: HttpRequest, state: State, path: web::Path<String>) -> Answer {
    let signed = signed_in(&req, &state)?;
    signed.who().require(Role::Admin)?;
    let id = contact_id(&path)?;
    let page = ConfirmPage {
        chrome: chrome(&signed, &state, "Delete contact", "contacts"),
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
    let signed = signed_post(&req, &state, &form)?;
    signed.who().require(Role::Admin)?;
    let id = contact_id(&path)?;
    let op = admin_op(&state, signed.who(), AdminKind::Erase(vec![id]));
    let (id, removed) = crate::gdpr::single(run_admin(&state, op).await?)?;
    state.console.flash(
        &signed.id,
        format!(
            "Contact {id} was erased: {} events, {} tracker(s). The data leaves the disk at \
             the next compaction.",
            removed.events, removed.trackers
        ),
    );
    Ok(see_other("/admin/contacts"))
}

pub async fn extract(req: HttpRequest, state: State, path: web::Path<String>) -> Answer {
    let signed = signed_in(&req, &state)?;
    let id = contact_id(&path)?;
    Ok(crate::routes::extract_zip(state, signed.session.who, id).await?)
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
) -> Result<(Sheet, crate::admin::ActivityPage), Fail> {
    let id = contact_id(id)?;
    let who = signed.who().clone();
    let st = state.clone().into_inner();
    let kind = nonempty(&q.kind).map(str::to_owned);
    let before = nonempty(&q.before).map(str::to_owned);
    Ok(blocking(move || {
        let now = st.ingest.clock().now();
        let sheet = crate::admin::sheet_of(&st.store, id, &who, st.contacts, now)?;
        let page = crate::admin::contact_activity(
            &st.store,
            &sheet.id,
            &who,
            kind.as_deref(),
            before.as_deref(),
            Some(ACTIVITY_PAGE),
        )?;
        Ok((sheet, page))
    })
    .await?)
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
    let signed = signed_in(&req, &state)?;
    let (sheet, page) = activity_of(&state, &signed, &path, &q).await?;
    let base = format!("/admin/contacts/{}/activity", sheet.id);
    let kind = nonempty(&q.kind).unwrap_or("");
    let mut types = vec![Choice {
        value: String::new(),
        label: "All types".into(),
        selected: kind.is_empty(),
    }];
    types.extend(footprint_protocol::EventType::ALL.iter().map(|t| Choice {
        value: t.as_str().into(),
        label: t.as_str().into(),
        selected: t.as_str() == kind,
    }));
    let head = head(&sheet);
    let view = ActivityPage {
        chrome: chrome(
            &signed,
            &state,
            format!("{} · Activity", head.title),
            "contacts",
        ),
        types,
        rows: page.events.iter().map(EventView::of).collect(),
        more_url: page
            .next
            .as_deref()
            .map(|n| url(&base, &activity_params(&q.kind, Some(n)))),
        rows_url: page
            .next
            .as_deref()
            .map(|n| url(&format!("{base}/rows"), &activity_params(&q.kind, Some(n)))),
        refresh_url: url(&base, &activity_params(&q.kind, None)),
        head,
    };
    Ok(html(StatusCode::OK, &view))
}

/// The next rows of the Activity tab as a fragment, for "load more" in place; the URL of the
/// rows after them is in the `Footprint-Next` header.
pub async fn activity_rows(
    req: HttpRequest,
    state: State,
    path: web::Path<String>,
    q: web::Query<ActivityForm>,
) -> Answer {
    let signed = signed_in(&req, &state)?;
    let (sheet, page) = activity_of(&state, &signed, &path, &q).await?;
    let mut resp = html(
        StatusCode::OK,
        &ActivityRows {
            rows: page.events.iter().map(EventView::of).collect(),
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

// ---------------------------------------------------------------------------------------------
// Segments

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
fn segment_body(
    form: &[(String, String)],
    creating: bool,
) -> Result<Map<String, Value>, (String, String)> {
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
        let v: Value = serde_json::from_str(rule)
            .map_err(|e| ("rule".to_owned(), format!("is not JSON: {e}")))?;
        body.insert("rule".into(), v);
    }
    Ok(body)
}

async fn segments_page(
    state: State,
    signed: Signed,
    values: Vec<(String, String)>,
    errors: Vec<(String, String)>,
    form_error: Option<String>,
    status: StatusCode,
) -> Answer {
    let st = state.clone().into_inner();
    let list = blocking(move || crate::segments::list(&st.store)).await?;
    let page = SegmentsPage {
        chrome: chrome(&signed, &state, "Segments", "segments"),
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
        form: segment_form(&values, &errors, true),
        form_error,
    };
    Ok(html(status, &page))
}

pub async fn segments(req: HttpRequest, state: State) -> Answer {
    let signed = signed_in(&req, &state)?;
    segments_page(state, signed, Vec::new(), Vec::new(), None, StatusCode::OK).await
}

/// A refused form, to show again: the errors at their fields, the line above the form, and
/// the status.
struct Refused {
    errors: Vec<(String, String)>,
    top: Option<String>,
    status: StatusCode,
}

/// A refused segment form: at its field when the refusal names one.
fn refused(e: ApiError) -> Result<Refused, Fail> {
    let (errors, top, status) = match e {
        ApiError::Unprocessable { field, message } => (
            vec![(field.clone(), message)],
            format!("Nothing was saved: fix the field marked below ({field})."),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        ApiError::Conflict(why) => (
            Vec::new(),
            format!("Nothing was saved: {why}"),
            StatusCode::CONFLICT,
        ),
        e @ ApiError::BadRequest { .. } => (Vec::new(), e.to_string(), StatusCode::BAD_REQUEST),
        e => return Err(e.into()),
    };
    Ok(Refused {
        errors,
        top: Some(top),
        status,
    })
}

pub async fn segment_create(req: HttpRequest, state: State, form: Form) -> Answer {
    let signed = signed_post(&req, &state, &form)?;
    signed.who().require(Role::Editor)?;
    let values = form.0.clone();
    let body = match segment_body(&form, true) {
        Ok(b) => b,
        Err(e) => {
            let top = Some("Nothing was saved: fix the field marked below (rule).".into());
            return segments_page(
                state,
                signed,
                values,
                vec![e],
                top,
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await;
        }
    };
    let outcome = match crate::segments::parse_create(Value::Object(body).to_string().as_bytes()) {
        Ok(s) => {
            run_admin(
                &state,
                admin_op(&state, signed.who(), AdminKind::CreateSegment(Box::new(s))),
            )
            .await
        }
        Err(e) => Err(e),
    };
    match outcome {
        Ok(Done::Segment(id)) => {
            state.console.flash(&signed.id, "Segment created.");
            Ok(see_other(&format!("/admin/segments/{id}")))
        }
        Ok(_) => Err(ApiError::Internal.into()),
        Err(e) => {
            let r = refused(e)?;
            segments_page(state, signed, values, r.errors, r.top, r.status).await
        }
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
    let who = signed.who().clone();
    let st = state.clone().into_inner();
    let (seg, members) = blocking(move || {
        let seg = crate::segments::view(&st.store, id)?;
        let now = st.ingest.clock().now();
        let q = ListQuery {
            segment: Some(id.to_string()),
            cursor,
            limit: Some(PAGE),
            ..ListQuery::default()
        };
        let members = crate::admin::list_contacts(&st.store, &q, &who, st.contacts, now)?;
        Ok((seg, members))
    })
    .await?;
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
        let fine = Refused {
            errors: Vec::new(),
            top: None,
            status: StatusCode::OK,
        };
        (values, fine)
    });
    let page = SegmentPage {
        chrome: chrome(&signed, &state, seg.name.clone(), "segments"),
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
    let signed = signed_in(&req, &state)?;
    let cursor = nonempty(&q.cursor).map(str::to_owned);
    segment_page(state, signed, &path, cursor, None).await
}

pub async fn segment_update(
    req: HttpRequest,
    state: State,
    path: web::Path<String>,
    form: Form,
) -> Answer {
    let signed = signed_post(&req, &state, &form)?;
    signed.who().require(Role::Editor)?;
    let id = crate::segments::segment_id(&path)?;
    let values = form.0.clone();
    let outcome = match segment_body(&form, false) {
        Err((field, message)) => Err(ApiError::Unprocessable { field, message }),
        Ok(body) => match crate::segments::parse_update(Value::Object(body).to_string().as_bytes())
        {
            Ok((name, description, rule)) => {
                let kind = AdminKind::UpdateSegment {
                    id,
                    name,
                    description,
                    rule,
                };
                run_admin(&state, admin_op(&state, signed.who(), kind))
                    .await
                    .map(|_| ())
            }
            Err(e) => Err(e),
        },
    };
    match outcome {
        Ok(()) => {
            state.console.flash(&signed.id, "Segment saved.");
            Ok(see_other(&format!("/admin/segments/{id}")))
        }
        Err(e) => {
            let r = refused(e)?;
            segment_page(state, signed, &path, None, Some((values, r))).await
        }
    }
}

pub async fn segment_delete(
    req: HttpRequest,
    state: State,
    path: web::Path<String>,
    form: Form,
) -> Answer {
    let signed = signed_post(&req, &state, &form)?;
    signed.who().require(Role::Editor)?;
    let id = crate::segments::segment_id(&path)?;
    if field(&form, "confirm") != Some("yes") {
        state.console.flash(
            &signed.id,
            "Not deleted: tick \"Yes, delete this segment\" first.",
        );
        return Ok(see_other(&format!("/admin/segments/{id}")));
    }
    run_admin(
        &state,
        admin_op(&state, signed.who(), AdminKind::DeleteSegment(id)),
    )
    .await?;
    state.console.flash(&signed.id, "Segment deleted.");
    Ok(see_other("/admin/segments"))
}
