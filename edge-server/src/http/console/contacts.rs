//! The contact list: create, import, export, search, filters, the page of rows and their
//! bulk actions.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest};
use futures_util::StreamExt;
use serde::Deserialize;
use serde_json::{Map, Value};

use super::pages::{chrome, nonempty, url, State, PAGE};
use super::session;
use super::views::*;
use super::{field, see_other, signed_in, signed_post, Answer, Fail, Form, Signed};
use crate::admin::ListQuery;
use crate::app::blocking;
use crate::app::{ImportRow, RowOutcome};
use crate::auth::Role;
use crate::contacts::patch::Patch;
use crate::contacts::segment::SegmentKind;
use crate::contacts::sheet::Valuation;
use crate::contacts::{EmailStatus, SmsStatus, Subscription};
use crate::error::ApiError;

/// The contact list's search and filters, as the page's form sends them.
#[derive(Debug, Default, Clone, Deserialize)]
pub struct ListForm {
    /// `email` (the default), `phone` or `reference`: what `s` is.
    by: Option<String>,
    s: Option<String>,
    tag: Option<String>,
    /// `newest` (the default) or `points`.
    sort: Option<String>,
    /// `yes` or `no`.
    has_email: Option<String>,
    has_phone: Option<String>,
    /// `enabled` or `disabled`.
    push: Option<String>,
    segment: Option<String>,
    valuation: Option<String>,
    /// `active`, `bounced`, `blocked` or `paused`.
    email_status: Option<String>,
    newsletter: Option<String>,
    sms_status: Option<String>,
    include_invalid: Option<String>,
    cursor: Option<String>,
}

impl ListForm {
    fn by(&self) -> &str {
        match nonempty(&self.by) {
            Some(b @ ("phone" | "reference")) => b,
            _ => "email",
        }
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
            q: s.clone().filter(|_| self.by() == "email"),
            phone: s.clone().filter(|_| self.by() == "phone"),
            reference: s.filter(|_| self.by() == "reference"),
            tag: nonempty(&self.tag).map(str::to_owned),
            sort: nonempty(&self.sort).map(str::to_owned),
            has_email: yes_no(&self.has_email),
            has_phone: yes_no(&self.has_phone),
            push: nonempty(&self.push).map(str::to_owned),
            segment: nonempty(&self.segment).map(str::to_owned),
            valuation: nonempty(&self.valuation).map(str::to_owned),
            email_status: nonempty(&self.email_status).map(str::to_owned),
            newsletter: nonempty(&self.newsletter).map(str::to_owned),
            sms_status: nonempty(&self.sms_status).map(str::to_owned),
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
            ("tag", &self.tag),
            ("sort", &self.sort),
            ("has_email", &self.has_email),
            ("has_phone", &self.has_phone),
            ("push", &self.push),
            ("segment", &self.segment),
            ("valuation", &self.valuation),
            ("email_status", &self.email_status),
            ("newsletter", &self.newsletter),
            ("sms_status", &self.sms_status),
            ("include_invalid", &self.include_invalid),
        ]
        .into_iter()
        .filter_map(|(k, v)| nonempty(v).map(|v| (k, v)))
        .chain(cursor.map(|c| ("cursor", c)))
        .collect();
        serde_urlencoded::to_string(pairs).unwrap_or_default()
    }
}

/// What the contacts page shows besides the list.
#[derive(Default)]
struct Extra {
    /// The edge's own origin as the browser reached it, for a new site's snippet.
    edge: Option<String>,
    create: Option<(Vec<(String, String)>, String)>,
    report: Option<crate::import::ImportReport>,
    import_error: Option<String>,
}

async fn contacts_page(state: State, signed: Signed, form: ListForm, extra: Extra) -> Answer {
    let who = signed.who().clone();
    let q = form.query(Some(PAGE));
    let filtered = !form.params(None).is_empty();
    let (list, segments, counts) = {
        let state = state.clone().into_inner();
        let (who, q) = (who.clone(), q.clone());
        blocking(move || {
            let now = state.now();
            let list = crate::admin::list_contacts(&state.store, &q, &who, state.contacts, now);
            let counts = state
                .store
                .contact_counts(None, who.role.clearance(), now.as_millis())?;
            Ok((list, crate::segments::list(&state.store)?, counts))
        })
        .await?
    };
    // Under filters, how many they select: a walk, bounded like every count.
    let matching = match (filtered, &list) {
        (true, Ok(_)) => Some(state.app.matching(who, q, None).await?),
        _ => None,
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
    let (create_values, create_error) = match extra.create {
        Some((v, e)) => (v, Some(e)),
        None => (Vec::new(), None),
    };
    let rfm_grid = match counts.total {
        0 => None,
        _ => {
            let (at, cells) = state.app.rfm_grid(signed.who(), None).await?;
            let any = cells.iter().flatten().any(|n| *n > 0);
            any.then(|| GridChart::of(&cells, at, None))
        }
    };
    let overview = overview(
        &counts,
        &chosen(&form.valuation),
        &chosen(&form.email_status),
    );
    let page = ContactsPage {
        chrome: chrome(&signed, "Contacts", "contacts"),
        total: number(counts.total),
        total_is_one: counts.total == 1,
        mix: mix(&counts),
        rfm_grid,
        overview,
        filtered,
        // A new site: what to paste to start, rather than an empty table.
        snippets: match &extra.edge {
            Some(edge) if counts.total == 0 && form.params(None).is_empty() => state
                .ingest
                .site_keys()
                .iter()
                .map(|k| {
                    format!(
                        r#"<script async src="{edge}/sdk/v1/footprint.js" data-site-key="{k}"></script>"#
                    )
                })
                .collect(),
            _ => Vec::new(),
        },
        can_edit: signed.can(Role::Editor),
        can_admin: signed.can(Role::Admin),
        by: form.by().to_owned(),
        search: chosen(&form.s),
        tag: chosen(&form.tag),
        sort: Choice::list(
            &[("newest", "Newest first"), ("points", "Most points first")],
            &chosen(&form.sort),
        ),
        has_email: any_of(&[("yes", "Yes"), ("no", "No")], &form.has_email),
        has_phone: any_of(&[("yes", "Yes"), ("no", "No")], &form.has_phone),
        push: any_of(
            &[("enabled", "Enabled"), ("disabled", "Not enabled")],
            &form.push,
        ),
        valuation: any_of(Valuation::OPTIONS, &form.valuation),
        email_status: any_of(EmailStatus::OPTIONS, &form.email_status),
        newsletter: any_of(Subscription::OPTIONS, &form.newsletter),
        sms_status: any_of(SmsStatus::OPTIONS, &form.sms_status),
        matching: matching.map(|m| super::builder::matching_words(m, "these filters")),
        segments: segment_options(&segments, &chosen(&form.segment)),
        include_invalid: nonempty(&form.include_invalid).is_some(),
        rows: rows.iter().map(RowView::of).collect(),
        next_url: next.map(|c| url("/admin/contacts", &form.params(Some(&c)))),
        export_url: url("/admin/contacts/export.csv", &form.params(None)),
        back: url("/admin/contacts", &form.params(nonempty(&form.cursor))),
        sites: state.ingest.site_keys(),
        error,
        create: create_fields(&create_values),
        create_error,
        report: extra.report,
        import_error: extra.import_error,
    };
    Ok(html(status, &page))
}

/// emBlue's main screen: a button per valuation with its count, then the suspended, blocked
/// and bounced counts; each filters the list.
fn overview(c: &crate::store::ContactCounts, valuation: &str, status: &str) -> Vec<CountButton> {
    let mut out: Vec<CountButton> = Valuation::ALL
        .iter()
        .map(|v| CountButton {
            id: v.as_str(),
            label: v.label(),
            count: c.valuation.get(v.as_str()).copied().unwrap_or(0),
            href: url("/admin/contacts", &format!("valuation={}", v.as_str())),
            current: valuation == v.as_str(),
        })
        .collect();
    for (id, label) in [
        ("paused", "Suspended"),
        ("blocked", "Blocked"),
        ("bounced", "Bounced"),
    ] {
        out.push(CountButton {
            id,
            label,
            count: c.email_status.get(id).copied().unwrap_or(0),
            href: url("/admin/contacts", &format!("email_status={id}")),
            current: status == id,
        });
    }
    out
}

/// The valuation mix as one stacked bar, each valuation's part as wide as its share.
fn mix(c: &crate::store::ContactCounts) -> Option<BarChart> {
    if c.total == 0 {
        return None;
    }
    let width = 600u64;
    let mut x = 0;
    let mut bars = Vec::new();
    let mut parts = Vec::new();
    for v in Valuation::ALL {
        let n = c.valuation.get(v.as_str()).copied().unwrap_or(0);
        parts.push(format!("{n} {}", v.label().to_lowercase()));
        if n == 0 {
            continue;
        }
        let w = (n * width / c.total).max(2);
        bars.push(Bar {
            x: u32::try_from(x).unwrap_or(0),
            y: 0,
            w: u32::try_from(w).unwrap_or(0),
            h: 24,
            class: v.as_str(),
            label: format!("{}: {n}", v.label()),
        });
        x += w;
    }
    Some(BarChart {
        title: "Contacts by valuation".into(),
        summary: format!("{} contacts: {}.", c.total, parts.join(", ")),
        width: u32::try_from(x.max(width)).unwrap_or(600),
        height: 24,
        bars,
    })
}

/// A filter's value as the form sent it, or empty.
fn chosen(v: &Option<String>) -> String {
    nonempty(v).unwrap_or("").to_owned()
}

/// A filter's choices: "Any" (empty), then `options`, with the form's current one selected.
fn any_of(options: &[(&str, &str)], current: &Option<String>) -> Vec<Choice> {
    let all: Vec<(&str, &str)> = std::iter::once(("", "Any"))
        .chain(options.iter().copied())
        .collect();
    Choice::list(&all, &chosen(current))
}

fn segment_options(segments: &[crate::segments::SegmentView], chosen: &str) -> Vec<SegmentOption> {
    segments
        .iter()
        .map(|s| SegmentOption {
            id: s.id.clone(),
            name: s.name.clone(),
            is_static: s.kind == SegmentKind::Static,
            selected: s.id == chosen,
        })
        .collect()
}

/// The create form's inputs, holding what was sent when it is shown again.
fn create_fields(values: &[(String, String)]) -> Vec<FieldView> {
    let input = |name: &str, label: &str, input: &'static str| FieldView {
        name: name.into(),
        label: label.into(),
        value: field(values, name).unwrap_or("").to_owned(),
        error: None,
        input,
        choices: Vec::new(),
        hint: "",
    };
    vec![
        input("email", "Email", "email"),
        input("phone", "Mobile phone", "tel"),
        input("first_name", "First name", "text"),
        input("last_name", "Last name", "text"),
    ]
}

pub async fn list(req: HttpRequest, state: State, form: web::Query<ListForm>) -> Answer {
    let signed = signed_in(&req, &state).await?;
    let edge = {
        let info = req.connection_info();
        format!("{}://{}", info.scheme(), info.host())
    };
    let extra = Extra {
        edge: Some(edge),
        ..Extra::default()
    };
    contacts_page(state, signed, form.into_inner(), extra).await
}

/// `POST /admin/contacts/new` (editor): one contact, by hand. It goes through the import's
/// upsert, so it is matched and validated exactly as a CSV row would be; an email or phone
/// that already has a contact is refused here rather than quietly updating that contact.
pub async fn create(req: HttpRequest, state: State, form: Form) -> Answer {
    let signed = signed_post(&req, &state, &form).await?;
    signed.who().require(Role::Editor)?;
    // Create only: a contact that holds the email or phone is never edited from here, and
    // is not named either, so a contact the admin may not see reads as any other.
    let outcome = match new_contact(&form, &state) {
        Ok((site, patch)) => {
            let rows = vec![ImportRow { row: 1, patch }];
            let outcomes = state.import(signed.who(), site, rows, true).await?;
            outcomes.into_iter().next()
        }
        Err(why) => Some(RowOutcome::Rejected(why)),
    };
    if let Some(RowOutcome::Created(id)) = outcome {
        state.console.flash(&signed.id, "Contact created.").await;
        return Ok(see_other(&format!("/admin/contacts/{id}")));
    }
    let extra = Extra {
        create: Some((form.0.clone(), not_created(outcome)?)),
        ..Extra::default()
    };
    contacts_page(state, signed, ListForm::default(), extra).await
}

/// Why the create form's row was not created, in the form's words.
fn not_created(outcome: Option<RowOutcome>) -> Result<String, Fail> {
    match outcome {
        Some(RowOutcome::Taken { field, .. }) => Ok(format!(
            "That {field} is already another contact's on this site. Search for it to open \
             that contact, or leave it out."
        )),
        Some(RowOutcome::Rejected(why)) => Ok(why),
        // A create-only row never updates.
        _ => Err(ApiError::Internal.into()),
    }
}

/// The create form as an import row's site and edit, or what to say instead.
fn new_contact(form: &Form, state: &State) -> Result<(String, Patch), String> {
    let mut fields = Map::new();
    for name in ["email", "phone", "first_name", "last_name"] {
        if let Some(v) = field(form, name).map(str::trim).filter(|v| !v.is_empty()) {
            fields.insert(name.into(), Value::String(v.to_owned()));
        }
    }
    if !fields.contains_key("email") && !fields.contains_key("phone") {
        return Err("Give an email or a mobile phone: contacts are found by them.".to_owned());
    }
    let site = form_site(
        field(form, "site").map(str::to_owned),
        &state.ingest.site_keys(),
    )?;
    let patch = Patch::parse_in(&fields, state.contacts.region)
        .map_err(|e| format!("{}: {}", e.field, e.message))?;
    Ok((site, patch))
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
pub async fn import(req: HttpRequest, state: State, parts: actix_multipart::Multipart) -> Answer {
    let signed = signed_in(&req, &state).await?;
    let upload = Upload::read(parts).await?;
    // The token is checked before anything of the upload is used.
    match &upload.csrf {
        Some(t) if session::same_token(t, &signed.session.csrf) => {}
        _ => return Err(Fail::Csrf),
    }
    signed.who().require(Role::Editor)?;
    let extra = match upload.run(&state, signed.who()).await? {
        Ok(r) => Extra {
            report: Some(r),
            ..Extra::default()
        },
        Err(why) => Extra {
            import_error: Some(why),
            ..Extra::default()
        },
    };
    contacts_page(state, signed, ListForm::default(), extra).await
}

/// The import form's fields, each read with its cap.
#[derive(Default)]
struct Upload {
    csrf: Option<String>,
    site: Option<String>,
    file: Option<Vec<u8>>,
    ignore_unknown: bool,
}

impl Upload {
    async fn read(mut parts: actix_multipart::Multipart) -> Result<Upload, Fail> {
        let mut u = Upload::default();
        while let Some(part) = parts.next().await {
            let part = part.map_err(|e| bad_upload(e.to_string()))?;
            let name = part.name().unwrap_or("").to_owned();
            let limit = if name == "file" {
                MAX_UPLOAD
            } else {
                MAX_UPLOAD_FIELD
            };
            let bytes = read_part(part, limit).await?;
            let text = || String::from_utf8_lossy(&bytes).trim().to_owned();
            match name.as_str() {
                "csrf" => u.csrf = Some(text()),
                "site" => u.site = Some(text()),
                "ignore_unknown" => u.ignore_unknown = text() == "true",
                "file" => u.file = Some(bytes),
                _ => {}
            }
        }
        Ok(u)
    }

    /// Imports the file; a file or site the admin can fix is said on the page (the inner
    /// error), anything else is the request's failure.
    async fn run(
        self,
        state: &State,
        who: &crate::auth::AdminIdentity,
    ) -> Result<Result<crate::import::ImportReport, String>, Fail> {
        let Some(file) = self.file.filter(|f| !f.is_empty()) else {
            return Ok(Err("Choose a CSV file to import.".to_owned()));
        };
        let site = match form_site(self.site, &state.ingest.site_keys()) {
            Ok(s) => s,
            Err(why) => return Ok(Err(why)),
        };
        let options = crate::import::Options {
            ignore_unknown: self.ignore_unknown,
        };
        match state.app.import_csv(who, site, file, options).await {
            Ok(r) => Ok(Ok(r)),
            Err(e @ (ApiError::BadRequest { .. } | ApiError::Unprocessable { .. })) => {
                Ok(Err(e.to_string()))
            }
            Err(e) => Err(e.into()),
        }
    }
}

/// One part of a multipart form, refused once it passes `limit` bytes.
async fn read_part(mut part: actix_multipart::Field, limit: usize) -> Result<Vec<u8>, Fail> {
    let mut bytes = Vec::new();
    while let Some(chunk) = part.next().await {
        let chunk = chunk.map_err(|e| bad_upload(e.to_string()))?;
        if bytes.len() + chunk.len() > limit {
            return Err(ApiError::PayloadTooLarge { limit }.into());
        }
        bytes.extend_from_slice(&chunk);
    }
    Ok(bytes)
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
    let signed = signed_in(&req, &state).await?;
    let mut q = form.into_inner().query(None);
    q.cursor = None;
    Ok(crate::http::stream::export_csv(state, signed.session.who, q).await?)
}

/// Where a bulk action goes back to: the list it was started from, never elsewhere. A value
/// with control characters (a CR/LF would split the `Location` header) is a 400.
fn back_to(form: &[(String, String)]) -> Result<String, Fail> {
    match field(form, "back") {
        Some(b) if b.chars().any(char::is_control) => Err(Fail::Api(ApiError::bad_request(
            "invalid_back",
            "the form's `back` field holds control characters; go back to the contact list \
             and start the action again",
        ))),
        Some(b) if b.starts_with("/admin/contacts") && !b.contains("//") => Ok(b.to_owned()),
        _ => Ok("/admin/contacts".into()),
    }
}

/// `POST /admin/contacts/bulk`: the selected rows' action. A delete asks first.
pub async fn bulk(req: HttpRequest, state: State, form: Form) -> Answer {
    let signed = signed_post(&req, &state, &form).await?;
    let back = back_to(&form)?;
    let ids: Vec<&str> = form
        .iter()
        .filter(|(k, _)| k == "id")
        .map(|(_, v)| v.as_str())
        .collect();
    if ids.is_empty() {
        state
            .console
            .flash(&signed.id, "Select at least one contact first.")
            .await;
        return Ok(see_other(&back));
    }
    let action = field(&form, "action").unwrap_or("");
    if action == "delete" && field(&form, "confirm") != Some("yes") {
        signed.who().require(Role::Admin)?;
        return Ok(confirm_delete(&signed, &ids, back));
    }
    let ids = crate::segments::contact_ids(&ids, "ids")?;
    let bulk = crate::gdpr::Bulk::new(
        action,
        ids,
        field(&form, "segment").unwrap_or(""),
        field(&form, "tag").unwrap_or(""),
    )?;
    signed.who().require(bulk.needs)?;
    let report = state.bulk(signed.who(), bulk).await?;
    state
        .console
        .flash(&signed.id, bulk_note(action, &report))
        .await;
    Ok(see_other(&back))
}

/// The page that asks before a bulk delete, re-posting the selection with `confirm=yes`.
fn confirm_delete(signed: &Signed, ids: &[&str], back: String) -> actix_web::HttpResponse {
    let mut hidden = vec![
        ("csrf".to_owned(), signed.session.csrf.clone()),
        ("action".to_owned(), "delete".to_owned()),
        ("confirm".to_owned(), "yes".to_owned()),
        ("back".to_owned(), back.clone()),
    ];
    hidden.extend(ids.iter().map(|id| ("id".to_owned(), (*id).to_owned())));
    let n = ids.len();
    let page = ConfirmPage {
        chrome: chrome(signed, "Delete contacts", "contacts"),
        heading: format!("Delete {n} contact{}?", if n == 1 { "" } else { "s" }),
        message: ERASE_WARNING.into(),
        items: ids.iter().map(|id| format!("Contact {id}")).collect(),
        action: "/admin/contacts/bulk".into(),
        hidden,
        button: "Delete for good".into(),
        back,
    };
    html(StatusCode::OK, &page)
}

/// What a bulk action did, as the list's flash says it.
fn bulk_note(action: &str, report: &crate::segments::Report) -> String {
    let verb = match action {
        "add_to_segment" => "Added to the segment",
        "remove_from_segment" => "Removed from the segment",
        "add_tag" => "Tagged",
        "remove_tag" => "Tag removed",
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
    note
}

pub(super) const ERASE_WARNING: &str =
    "This erases the contact and the contacts merged into it: their \
    events on every tracker, profile, history and segment memberships. It cannot be undone. \
    Their trackers, email and phone go on the suppression list, so they are not tracked again.";
