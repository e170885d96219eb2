//! The JSON API, beside the console. Handlers extract, call the domain, and map the result;
//! [`ApiError`] becomes a status and a JSON body here and nowhere else (the console shows it
//! as a page). [`app`] is the whole app, the console's routes included.

use std::time::Instant;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceFactory, ServiceRequest, ServiceResponse};
use actix_web::http::header::{self, HeaderValue};
use actix_web::http::StatusCode;
use actix_web::middleware::from_fn;
use actix_web::{web, App, HttpRequest, HttpResponse, ResponseError};
use footprint_protocol::limits::MAX_BODY_BYTES;
use footprint_protocol::ErrorBody;
use futures_util::StreamExt;
use serde::{Deserialize, Serialize};

use crate::admin::{ActivityQuery, HistoryQuery, ListQuery};

use crate::app::{blocking, App as Application};
use crate::auth::{AdminIdentity, Role};
use crate::error::ApiError;
use crate::http::guard::body_error;
use crate::http::state::{client_ip, AppState, Front};
use crate::http::stream::{export_csv, extract_zip};
use crate::ingest::BatchRequest;
use crate::sdk::Asset;

/// The OpenAPI description of this API: the public contract, kept beside the protocol.
pub const OPENAPI: &str = include_str!("../../../protocol/openapi.json");

/// The public routes, which need no store: batches, the tracker's files, the contract and
/// liveness. A cluster's edge serves these itself (`http::edge`).
pub fn public(cfg: &mut web::ServiceConfig) {
    cfg.route("/healthz", web::get().to(healthz))
        .route("/v1/openapi.json", web::get().to(openapi))
        .service(
            web::resource("/v1/batch")
                .route(web::post().to(batch))
                .route(web::method(actix_web::http::Method::OPTIONS).to(preflight)),
        )
        // The shop's servers: no browser calls it, so it answers no CORS preflight.
        .route("/v1/server/batch", web::post().to(server_batch))
        .service(
            // Compressed once at start (`sdk.rs`), not per request.
            web::scope("/sdk/v1")
                .route("/footprint.js", web::get().to(sdk_loader))
                .route("/footprint-sw.js", web::get().to(sdk_worker))
                .route("/b/{build}/{file}", web::get().to(sdk_versioned)),
        );
}

/// Registers every route; `main` and the tests build the same app from this.
pub fn configure(cfg: &mut web::ServiceConfig) {
    public(cfg);
    cfg.route("/metrics", web::get().to(metrics))
        .route("/readyz", web::get().to(readyz))
        .route(
            "/v1/trackers/{tracker_id}/events",
            web::get().to(tracker_events),
        )
        .route(
            "/v1/trackers/{tracker_id}/contact",
            web::get().to(tracker_contact),
        )
        .route("/v1/contacts", web::get().to(contacts_list))
        // Before `/v1/contacts/{id}`, which would otherwise take `export.csv` for an id.
        .route("/v1/contacts/export.csv", web::get().to(contacts_export))
        .route("/v1/contacts/counts", web::get().to(contacts_counts))
        .route("/v1/contacts/rfm_grid", web::get().to(contacts_rfm_grid))
        .route("/v1/contacts/bulk", web::post().to(contacts_bulk))
        .route("/v1/contacts/import", web::post().to(contacts_import))
        .route("/v1/admin/compact", web::post().to(store_compact))
        .route("/v1/admin/backup", web::post().to(store_backup))
        .service(
            web::resource("/v1/contacts/{id}")
                .route(web::get().to(contact_sheet))
                .route(web::patch().to(contact_patch))
                .route(web::delete().to(contact_erase)),
        )
        .route("/v1/contacts/{id}/merge", web::post().to(contact_merge))
        .route("/v1/contacts/{id}/orders", web::get().to(contact_orders))
        .route("/v1/contacts/{id}/notes", web::post().to(note_add))
        .route(
            "/v1/contacts/{id}/notes/{note}",
            web::delete().to(note_delete),
        )
        .route("/v1/contacts/{id}/history", web::get().to(contact_history))
        .route("/v1/contacts/{id}/extract", web::get().to(contact_extract))
        .route(
            "/v1/contacts/{id}/activity",
            web::get().to(contact_activity),
        )
        .service(
            web::resource("/v1/segments")
                .route(web::get().to(segments_list))
                .route(web::post().to(segment_create)),
        )
        // Before `/v1/segments/{id}`.
        .route("/v1/segments/sizes", web::get().to(segments_sizes))
        .route("/v1/segments/preview", web::post().to(segments_preview))
        .service(
            web::resource("/v1/segments/{id}")
                .route(web::get().to(segment_get))
                .route(web::patch().to(segment_update))
                .route(web::delete().to(segment_delete)),
        )
        .service(
            web::resource("/v1/segments/{id}/members")
                .route(web::get().to(segment_members))
                .route(web::post().to(segment_members_add)),
        )
        .route(
            "/v1/segments/{id}/members/{contact}",
            web::delete().to(segment_member_remove),
        )
        .configure(crate::http::console::configure)
        .app_data(web::QueryConfig::default().error_handler(|e, _| {
            ApiError::bad_request("invalid_query", format!("bad query string: {e}")).into()
        }))
        .default_service(web::to(not_found));
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        match self {
            ApiError::BadRequest { .. } => StatusCode::BAD_REQUEST,
            ApiError::PayloadTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::UnsupportedMediaType | ApiError::ContentEncoding(_) => {
                StatusCode::UNSUPPORTED_MEDIA_TYPE
            }
            ApiError::BodyTimeout(_) => StatusCode::REQUEST_TIMEOUT,
            ApiError::UnknownSite(_) | ApiError::Unauthorized | ApiError::ServerKey(_) => {
                StatusCode::UNAUTHORIZED
            }
            ApiError::OriginDenied { .. } | ApiError::PreflightDenied(_) => StatusCode::FORBIDDEN,
            ApiError::RateLimited { .. } => StatusCode::TOO_MANY_REQUESTS,
            ApiError::Unavailable { .. } => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::Forbidden { .. } => StatusCode::FORBIDDEN,
            ApiError::Conflict(_) => StatusCode::CONFLICT,
            ApiError::Gone(_) => StatusCode::GONE,
            ApiError::Unprocessable { .. } => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        let mut resp = HttpResponse::build(self.status_code());
        match self {
            ApiError::RateLimited { retry_after, .. }
            | ApiError::Unavailable { retry_after, .. } => {
                resp.insert_header((header::RETRY_AFTER, retry_after.to_string()));
            }
            ApiError::Unauthorized | ApiError::ServerKey(_) => {
                resp.insert_header((header::WWW_AUTHENTICATE, "Bearer"));
            }
            // The rest of the body may still be trickling in: the connection cannot be reused.
            ApiError::BodyTimeout(_) => {
                resp.force_close();
            }
            _ => {}
        }
        resp.json(ErrorBody {
            error: self.code().to_owned(),
            message: self.to_string(),
        })
    }
}

async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(serde_json::json!({"status": "up"}))
}

async fn readyz(state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    state.ready().await?;
    Ok(HttpResponse::Ok().json(serde_json::json!({"status": "ready"})))
}

/// `GET /metrics` (any admin token): Prometheus's text format (`telemetry.rs`).
async fn metrics(_: Viewer, state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let st = state.into_inner();
    let bytes = blocking(move || Ok(st.store.disk_bytes())).await?;
    let text = crate::telemetry::render(Some(bytes)).ok_or_else(|| ApiError::Unavailable {
        reason: "another metrics recorder was installed in this process".into(),
        retry_after: 60,
    })?;
    Ok(HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4; charset=utf-8")
        .body(text))
}

async fn openapi() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/json")
        .body(OPENAPI)
}

pub(crate) async fn not_found(req: HttpRequest) -> HttpResponse {
    ApiError::NotFound(format!(
        "no route for {} {}; see /v1/openapi.json",
        req.method(),
        req.path()
    ))
    .error_response()
}

fn origin(req: &HttpRequest) -> Option<&str> {
    req.headers()
        .get(header::ORIGIN)
        .and_then(|v| v.to_str().ok())
}

/// Echoes `origin` when it is allowed, so the browser lets the tracker read the answer,
/// `Retry-After` included: the tracker's backoff honours it.
fn allow_origin(resp: &mut HttpResponse, origin: Option<&str>, allowed: bool) {
    let headers = resp.headers_mut();
    headers.insert(header::VARY, HeaderValue::from_static("Origin"));
    if let (Some(o), true) = (origin, allowed) {
        if let Ok(v) = HeaderValue::from_str(o) {
            headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, v);
            headers.insert(
                header::ACCESS_CONTROL_EXPOSE_HEADERS,
                HeaderValue::from_static("Retry-After"),
            );
        }
    }
}

fn sdk_missing() -> HttpResponse {
    ApiError::NotFound(
        "this edge does not serve the tracker: build it with `cargo xtask sdk` and start the \
         edge with --sdk-dir sdk-wasm/pkg (or sdk_dir in the config)"
            .into(),
    )
    .error_response()
}

/// Serves one tracker file with its validators. Public and cross-origin by design: any shop's
/// page loads it, and the module import and wasm fetch are CORS requests.
fn serve_asset(req: &HttpRequest, a: &Asset) -> HttpResponse {
    let cache = if a.immutable {
        "public, max-age=31536000, immutable"
    } else {
        "public, max-age=300"
    };
    let chosen = a.pick(
        req.headers()
            .get(header::ACCEPT_ENCODING)
            .and_then(|v| v.to_str().ok()),
    );
    let fresh = req
        .headers()
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.split(',')
                .any(|t| t.trim() == chosen.etag || t.trim() == "*")
        });
    let mut resp = if fresh {
        HttpResponse::NotModified()
    } else {
        HttpResponse::Ok()
    };
    resp.insert_header((header::CACHE_CONTROL, cache))
        .insert_header((header::ETAG, chosen.etag))
        .insert_header((header::VARY, "Accept-Encoding"))
        .insert_header((header::ACCESS_CONTROL_ALLOW_ORIGIN, "*"))
        // Shops may measure the tracker's download with the Resource Timing API.
        .insert_header(("Timing-Allow-Origin", "*"))
        .insert_header(("Cross-Origin-Resource-Policy", "cross-origin"))
        .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"));
    if let Some(coding) = chosen.coding {
        resp.insert_header((header::CONTENT_ENCODING, coding));
    }
    if fresh {
        resp.finish()
    } else {
        resp.content_type(a.content_type).body(chosen.body.clone())
    }
}

async fn sdk_loader(req: HttpRequest, state: web::Data<Front>) -> HttpResponse {
    match &state.sdk {
        Some(s) => serve_asset(&req, s.loader()),
        None => sdk_missing(),
    }
}

async fn sdk_worker(req: HttpRequest, state: web::Data<Front>) -> HttpResponse {
    match &state.sdk {
        Some(s) => serve_asset(&req, s.worker()),
        None => sdk_missing(),
    }
}

async fn sdk_versioned(
    req: HttpRequest,
    path: web::Path<(String, String)>,
    state: web::Data<Front>,
) -> HttpResponse {
    let (build, file) = path.into_inner();
    match state.sdk.as_ref().map(|s| s.versioned(&build, &file)) {
        Some(Some(a)) => serve_asset(&req, a),
        Some(None) => ApiError::NotFound(format!(
            "no tracker file {file} in build {build}; the loader at /sdk/v1/footprint.js names \
             the current build"
        ))
        .error_response(),
        None => sdk_missing(),
    }
}

async fn preflight(req: HttpRequest, state: web::Data<Front>) -> HttpResponse {
    let origin = origin(&req);
    // A preflight carries no body and so no site key: the origin must belong to some site, and
    // the POST itself is checked against its own site.
    match origin {
        Some(o) if state.ingest.origin_known(o) => {
            let mut resp = HttpResponse::NoContent()
                .insert_header((header::ACCESS_CONTROL_ALLOW_METHODS, "POST, OPTIONS"))
                .insert_header((header::ACCESS_CONTROL_ALLOW_HEADERS, "content-type"))
                .insert_header((header::ACCESS_CONTROL_MAX_AGE, "86400"))
                .finish();
            allow_origin(&mut resp, origin, true);
            resp
        }
        _ => {
            let mut resp =
                ApiError::PreflightDenied(origin.unwrap_or("(none)").to_owned()).error_response();
            allow_origin(&mut resp, None, false);
            resp
        }
    }
}

async fn batch(req: HttpRequest, payload: web::Payload, state: web::Data<Front>) -> HttpResponse {
    let origin = origin(&req);
    let (mut resp, allowed) = match ingest_batch(&req, payload, &state, origin).await {
        Ok(r) => (HttpResponse::Ok().json(r), true),
        Err(e) => {
            let allowed = !matches!(e, ApiError::OriginDenied { .. });
            (e.error_response(), allowed)
        }
    };
    let allowed = allowed && origin.is_some_and(|o| state.ingest.origin_known(o));
    allow_origin(&mut resp, origin, allowed);
    resp
}

/// A batch's way in: the client's rate limit before the body is read, then the body with its
/// cap, then ingest.
async fn ingest_batch(
    req: &HttpRequest,
    payload: web::Payload,
    state: &Front,
    origin: Option<&str>,
) -> Result<footprint_protocol::BatchResponse, ApiError> {
    if let Some(ip) = state.client_ip(req) {
        state.ingest.check_ip(ip)?;
    }
    let body = read_body(req, payload, MAX_BODY_BYTES).await?;
    let content_type = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok());
    let batch = BatchRequest {
        origin,
        content_type,
        body: &body,
    };
    state.ingest.ingest(batch).await
}

/// `POST /v1/server/batch`: the server key, then the body with its cap (under the guard's
/// deadline), then ingest.
async fn server_batch(
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<Front>,
) -> Result<HttpResponse, ApiError> {
    let header = |name| req.headers().get(name).and_then(|v| v.to_str().ok());
    // Before the body is read: an unauthorised sender costs next to nothing.
    let keyed = state.ingest.server_site(header(header::AUTHORIZATION))?;
    let body = read_body(&req, payload, MAX_BODY_BYTES).await?;
    let batch = crate::ingest::ServerBatchRequest {
        keyed,
        content_type: header(header::CONTENT_TYPE),
        body: &body,
    };
    Ok(HttpResponse::Ok().json(state.ingest.ingest_server(batch).await?))
}

/// Reads the body, refusing it as soon as it passes the limit rather than after.
pub(crate) async fn read_body(
    req: &HttpRequest,
    mut payload: web::Payload,
    limit: usize,
) -> Result<web::BytesMut, ApiError> {
    let too_large = ApiError::PayloadTooLarge { limit };
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|n| n > limit) {
        return Err(too_large);
    }
    let mut body = web::BytesMut::with_capacity(declared.unwrap_or(8 * 1024).min(limit));
    while let Some(chunk) = payload.next().await {
        let chunk = chunk.map_err(|e| body_error(&e))?;
        if body.len() + chunk.len() > limit {
            return Err(too_large);
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// The caller of an API request, by bearer token, extracted before the handler runs: a missing
/// or wrong token is a 401, a role below the extractor's a 403 that names the role needed.
/// A handler asks for the least role it needs: `Viewer(who)`, `Editor(who)` or `Admin(who)`.
macro_rules! caller {
    ($name:ident, $role:expr) => {
        pub struct $name(pub AdminIdentity);

        impl actix_web::FromRequest for $name {
            type Error = ApiError;
            type Future = std::future::Ready<Result<Self, ApiError>>;

            fn from_request(req: &HttpRequest, _: &mut actix_web::dev::Payload) -> Self::Future {
                std::future::ready(caller(req, $role).map($name))
            }
        }
    };
}

caller!(Viewer, Role::Viewer);
caller!(Editor, Role::Editor);
caller!(Admin, Role::Admin);

fn caller(req: &HttpRequest, needs: Role) -> Result<AdminIdentity, ApiError> {
    let state = req
        .app_data::<web::Data<AppState>>()
        .ok_or(ApiError::Internal)?;
    let who = require_admin(req, state)?;
    who.require(needs)?;
    Ok(who)
}

/// The admin a request's bearer token belongs to. A wrong token counts against the client's
/// failures (`Admins::authenticate`); a missing one is no guess and does not.
fn require_admin(req: &HttpRequest, state: &AppState) -> Result<AdminIdentity, ApiError> {
    let token = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .ok_or(ApiError::Unauthorized)?;
    Ok(state
        .admins
        .authenticate(token.trim(), client_ip(req, state))?)
}

#[derive(Deserialize)]
struct PageQuery {
    limit: Option<usize>,
    before: Option<String>,
}

async fn tracker_events(
    Viewer(who): Viewer,
    path: web::Path<String>,
    query: web::Query<PageQuery>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let page = state
        .app
        .read(move |app| {
            crate::admin::tracker_events(
                &app.store,
                &path,
                &who,
                query.before.as_deref(),
                query.limit,
            )
        })
        .await?;
    Ok(HttpResponse::Ok().json(page))
}

/// `GET /v1/contacts/{id}`: the sheet. A merged id answers with the contact it went into.
async fn contact_sheet(
    Viewer(who): Viewer,
    path: web::Path<String>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let id = crate::error::contact_id(&path)?;
    Ok(HttpResponse::Ok().json(state.app.sheet(who, id).await?))
}

/// `GET /v1/contacts/{id}/activity` (viewer).
async fn contact_activity(
    Viewer(who): Viewer,
    path: web::Path<String>,
    query: web::Query<ActivityQuery>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let read = move |a: &Application| crate::admin::contact_activity(&a.store, &path, &who, &query);
    Ok(HttpResponse::Ok().json(state.app.read(read).await?))
}

async fn contacts_list(
    Viewer(who): Viewer,
    query: web::Query<ListQuery>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Ok().json(state.app.list(who, query.into_inner()).await?))
}

/// `GET /v1/contacts/export.csv` (admin): streams the list as CSV. A blocking thread reads a
/// page at a time and hands it over a small channel, so memory stays that of a few pages
/// however many contacts there are, and a client that leaves stops the reading.
async fn contacts_export(
    Viewer(who): Viewer,
    query: web::Query<ListQuery>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    export_csv(state, who, query.into_inner()).await
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SiteQuery {
    site: Option<String>,
}

/// What `GET /v1/contacts/counts` answers.
#[derive(Serialize)]
struct CountsAnswer {
    #[serde(flatten)]
    counts: crate::store::ContactCounts,
    /// How many of them the list's other filters select, when any is given.
    #[serde(skip_serializing_if = "Option::is_none")]
    matching: Option<crate::admin::Matching>,
}

/// `GET /v1/contacts/counts?site=&<list filters>`: how many contacts the caller sees, per
/// valuation and email status, from the store's counters (no contact is read); with any of
/// the list's other filters, also how many of them it selects (a walk, bounded).
async fn contacts_counts(
    Viewer(who): Viewer,
    query: web::Query<ListQuery>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let q = query.into_inner();
    let site = q.site.clone().filter(|s| !s.is_empty());
    let filtered = ListQuery {
        site: None,
        cursor: None,
        limit: None,
        sort: None,
        ..q.clone()
    } != ListQuery::default();
    let counts = state.app.counts(who.clone(), site).await?;
    let matching = match filtered {
        true => Some(state.app.matching(who, q, None).await?),
        false => None,
    };
    Ok(HttpResponse::Ok().json(CountsAnswer { counts, matching }))
}

/// `GET /v1/contacts/rfm_grid?site=`: how many purchasers have each recency (rows, R1 to R5)
/// and frequency (columns, F1 to F5) score, of `site` or of every site, as the caller may
/// count them, from the last walk over the contacts (`as_of`).
async fn contacts_rfm_grid(
    Viewer(who): Viewer,
    query: web::Query<SiteQuery>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let site = query.into_inner().site.filter(|s| !s.is_empty());
    let (at, cells) = state.app.rfm_grid(&who, site.clone()).await?;
    Ok(HttpResponse::Ok().json(serde_json::json!({
        "site": site,
        "as_of": crate::contacts::patch::time_text(at),
        "recency_by_frequency": cells,
    })))
}

async fn tracker_contact(
    Viewer(who): Viewer,
    path: web::Path<String>,
    query: web::Query<SiteQuery>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let now = state.now();
    let site = query.into_inner().site;
    let found = state
        .app
        .read(move |app| {
            crate::admin::tracker_contact(&app.store, &path, &who, site.as_deref(), now)
        })
        .await?;
    Ok(HttpResponse::Ok().json(found))
}

/// Largest admin request body (PATCH, merge): far above any real edit.
const MAX_ADMIN_BODY: usize = 64 * 1024;

/// An admin request's JSON body, read with its cap ([`MAX_ADMIN_BODY`]) and its deadline
/// before the handler runs.
struct AdminBody(web::BytesMut);

impl actix_web::FromRequest for AdminBody {
    type Error = ApiError;
    type Future = futures_util::future::LocalBoxFuture<'static, Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, payload: &mut actix_web::dev::Payload) -> Self::Future {
        let req = req.clone();
        let payload = web::Payload::from_request(&req, payload).into_inner();
        Box::pin(async move {
            let payload = payload.map_err(|_| ApiError::Internal)?;
            read_body(&req, payload, MAX_ADMIN_BODY)
                .await
                .map(AdminBody)
        })
    }
}

/// An editor's change to the contact in the path: who, which contact, and the JSON body. The
/// caller is checked first, then the id, then the body is read.
struct ContactEdit {
    who: AdminIdentity,
    id: crate::contacts::ContactId,
    body: web::BytesMut,
}

impl actix_web::FromRequest for ContactEdit {
    type Error = ApiError;
    type Future = futures_util::future::LocalBoxFuture<'static, Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, payload: &mut actix_web::dev::Payload) -> Self::Future {
        let who = caller(req, Role::Editor);
        let id = crate::error::contact_id(req.match_info().get("id").unwrap_or(""));
        let body = AdminBody::from_request(req, payload);
        Box::pin(async move {
            let (who, id) = (who?, id?);
            let body = body.await?.0;
            Ok(ContactEdit { who, id, body })
        })
    }
}

/// `PATCH /v1/contacts/{id}`: an editor's correction; answers with the updated sheet.
async fn contact_patch(
    e: ContactEdit,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let patch = crate::admin::parse_patch(&e.body)?;
    let id = state.patch_contact(&e.who, e.id, patch).await?;
    Ok(HttpResponse::Ok().json(state.app.sheet(e.who, id).await?))
}

/// `GET /v1/contacts/{id}/orders?limit=&cursor=`: the contact's orders, newest first.
async fn contact_orders(
    Viewer(who): Viewer,
    path: web::Path<String>,
    query: web::Query<crate::admin::OrdersQuery>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let read = move |a: &Application| crate::admin::contact_orders(&a.store, &path, &who, &query);
    Ok(HttpResponse::Ok().json(state.app.read(read).await?))
}

/// `POST /v1/contacts/{id}/notes {"text": "..."}` (editor): answers 201 with the note.
async fn note_add(e: ContactEdit, state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let text = crate::admin::parse_note(&e.body)?;
    let (contact, note) = state.add_note(&e.who, e.id, text.clone()).await?;
    let at = footprint_protocol::Timestamp::from_millis(note).map_err(|_| ApiError::Internal)?;
    Ok(HttpResponse::Created().json(serde_json::json!({
        "contact_id": contact.to_string(),
        "id": note.to_string(),
        "at": at,
        "author": e.who.name,
        "text": text,
    })))
}

/// `DELETE /v1/contacts/{id}/notes/{note}` (editor): 204.
async fn note_delete(
    e: ContactEdit,
    req: HttpRequest,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let note = crate::admin::note_id(e.id, req.match_info().get("note").unwrap_or(""))?;
    state.delete_note(&e.who, e.id, note).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// `POST /v1/contacts/{id}/merge {"from": OTHER}`: `OTHER` is merged into `id`.
async fn contact_merge(
    e: ContactEdit,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let from = crate::admin::parse_merge(&e.body)?;
    let id = state.merge(&e.who, e.id, from).await?;
    Ok(HttpResponse::Ok().json(state.app.sheet(e.who, id).await?))
}

async fn contact_history(
    Viewer(who): Viewer,
    path: web::Path<String>,
    query: web::Query<HistoryQuery>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let read = move |a: &Application| crate::admin::contact_history(&a.store, &path, &who, &query);
    Ok(HttpResponse::Ok().json(state.app.read(read).await?))
}

/// Logs one line per request: method, path, status and latency. Never headers or query
/// strings, so tokens cannot reach the log.
pub async fn log_request(
    req: ServiceRequest,
    next: actix_web::middleware::Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let start = Instant::now();
    let method = req.method().clone();
    let path = req.path().to_owned();
    let res = next.call(req).await;
    let seconds = start.elapsed().as_secs_f64();
    let latency_ms = seconds * 1000.0;
    match &res {
        Ok(r) => {
            let status = r.status().as_u16();
            tracing::info!(%method, %path, status, latency_ms, "request");
            // The matched pattern, never the path: ids must not make new series.
            let route = r
                .request()
                .match_pattern()
                .unwrap_or_else(|| "unmatched".into());
            let method = method.to_string();
            metrics::counter!("footprint_http_requests_total", "route" => route.clone(),
                "method" => method.clone(), "status" => status.to_string())
            .increment(1);
            metrics::histogram!("footprint_http_request_duration_seconds", "route" => route,
                "method" => method)
            .record(seconds);
        }
        Err(e) => tracing::info!(%method, %path, error = %e, latency_ms, "request"),
    }
    res
}

/// The whole app: every route behind the request guard (`guard`) and the request log. The
/// binary and the in-process tests build this same app.
pub fn app(
    state: web::Data<AppState>,
) -> App<
    impl ServiceFactory<
        ServiceRequest,
        Config = (),
        Response = ServiceResponse<impl MessageBody>,
        Error = actix_web::Error,
        InitError = (),
    >,
> {
    let first_party = state
        .front
        .sdk
        .as_ref()
        .and_then(|s| s.first_party())
        .map(|(paths, _)| paths.clone());
    App::new()
        .app_data(state.front.clone())
        .app_data(state)
        .wrap(from_fn(crate::http::guard::guard))
        .wrap(from_fn(log_request))
        .configure(|cfg| {
            // Registered first: a configured path is checked not to shadow the edge's own.
            if let Some(fp) = &first_party {
                first_party_routes(cfg, fp);
            }
            configure(cfg)
        })
}

/// A projector's own HTTP app in cluster mode: liveness, readiness (its view takes writes)
/// and metrics. Admins reach it through an edge, over NATS.
pub fn probe_app(
    state: web::Data<AppState>,
) -> App<
    impl ServiceFactory<
        ServiceRequest,
        Config = (),
        Response = ServiceResponse<impl MessageBody>,
        Error = actix_web::Error,
        InitError = (),
    >,
> {
    App::new()
        .app_data(state.front.clone())
        .app_data(state)
        .wrap(from_fn(crate::http::guard::guard))
        .wrap(from_fn(log_request))
        .route("/healthz", web::get().to(healthz))
        .route("/readyz", web::get().to(readyz))
        .route("/metrics", web::get().to(metrics))
        .default_service(web::to(not_found))
}

/// The first-party paths (`config::FirstParty`): the same handlers as `/sdk/v1/` and
/// `/v1/batch`, under the operator's paths.
pub(crate) fn first_party_routes(cfg: &mut web::ServiceConfig, fp: &crate::config::FirstParty) {
    let dir = fp.dir();
    cfg.route(&fp.loader_path, web::get().to(sdk_first_party_loader))
        .route(&format!("{dir}footprint-sw.js"), web::get().to(sdk_worker))
        .route(
            &format!("{dir}b/{{build}}/{{file}}"),
            web::get().to(sdk_versioned),
        )
        .service(
            web::resource(&fp.batch_path)
                .route(web::post().to(batch))
                .route(web::method(actix_web::http::Method::OPTIONS).to(preflight)),
        );
}

async fn sdk_first_party_loader(req: HttpRequest, state: web::Data<Front>) -> HttpResponse {
    match state.sdk.as_ref().and_then(|s| s.first_party()) {
        Some((_, loader)) => serve_asset(&req, loader),
        None => sdk_missing(),
    }
}

/// `GET /v1/segments`: every segment, oldest first.
async fn segments_list(_: Viewer, state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let list = state
        .app
        .read(move |app| crate::segments::list(&app.store))
        .await?;
    Ok(HttpResponse::Ok().json(serde_json::json!({ "segments": list })))
}

/// `GET /v1/segments/sizes`: every segment's member count among the contacts the caller
/// sees.
async fn segments_sizes(
    Viewer(who): Viewer,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let sizes: Vec<_> = state
        .app
        .segment_sizes(who)
        .await?
        .into_iter()
        .map(|(id, m)| serde_json::json!({"id": id.to_string(), "members": m.count, "exact": m.exact}))
        .collect();
    Ok(HttpResponse::Ok().json(serde_json::json!({ "sizes": sizes })))
}

/// `POST /v1/segments/preview {"rule": ...}`: how many contacts the caller sees that a rule
/// would select, before it is saved.
async fn segments_preview(
    Viewer(who): Viewer,
    body: AdminBody,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let rule = crate::segments::parse_preview(&body.0)?;
    let m = state
        .app
        .matching(who, ListQuery::default(), Some(rule))
        .await?;
    Ok(HttpResponse::Ok().json(m))
}

/// `POST /v1/segments` (editor): a static segment, or a dynamic one with a rule.
async fn segment_create(
    Editor(who): Editor,
    body: AdminBody,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let s = crate::segments::parse_create(&body.0)?;
    let id = state.create_segment(&who, s).await?;
    let view = state.app.segment(id).await?;
    Ok(HttpResponse::Created()
        .insert_header((header::LOCATION, format!("/v1/segments/{id}")))
        .json(view))
}

async fn segment_get(
    _: Viewer,
    path: web::Path<String>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let view = state
        .app
        .read(move |app| crate::segments::get(&app.store, &path))
        .await?;
    Ok(HttpResponse::Ok().json(view))
}

/// `PATCH /v1/segments/{id}` (editor): name, description, or a dynamic segment's rule.
async fn segment_update(
    Editor(who): Editor,
    path: web::Path<String>,
    body: AdminBody,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let id = crate::segments::segment_id(&path)?;
    let (name, description, rule) = crate::segments::parse_update(&body.0)?;
    state
        .update_segment(&who, id, name, description, rule)
        .await?;
    Ok(HttpResponse::Ok().json(state.app.segment(id).await?))
}

/// `DELETE /v1/segments/{id}` (editor).
async fn segment_delete(
    Editor(who): Editor,
    path: web::Path<String>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let id = crate::segments::segment_id(&path)?;
    state.delete_segment(&who, id).await?;
    Ok(HttpResponse::NoContent().finish())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct MembersQuery {
    cursor: Option<String>,
    limit: Option<usize>,
    include_invalid: Option<bool>,
}

/// `GET /v1/segments/{id}/members?cursor=`: the contact list filtered to the segment.
async fn segment_members(
    Viewer(who): Viewer,
    path: web::Path<String>,
    query: web::Query<MembersQuery>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let id = crate::segments::segment_id(&path)?;
    let m = query.into_inner();
    let q = ListQuery {
        cursor: m.cursor,
        limit: m.limit,
        include_invalid: m.include_invalid,
        ..ListQuery::default()
    };
    let (_, list) = state.app.segment_with_members(&who, id, q).await?;
    Ok(HttpResponse::Ok().json(list))
}

/// `POST /v1/segments/{id}/members {"contacts": [...]}` (editor): adds each; reports each.
async fn segment_members_add(
    Editor(who): Editor,
    path: web::Path<String>,
    body: AdminBody,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let segment = crate::segments::segment_id(&path)?;
    let contacts = crate::segments::parse_members(&body.0)?;
    let each = state.members(&who, segment, contacts, true).await?;
    Ok(HttpResponse::Ok().json(crate::segments::Report::of(each)))
}

/// `DELETE /v1/segments/{id}/members/{contact}` (editor).
async fn segment_member_remove(
    Editor(who): Editor,
    path: web::Path<(String, String)>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let (segment, contact) = path.into_inner();
    let segment = crate::segments::segment_id(&segment)?;
    let contact = crate::error::contact_id(&contact)?;
    state.member(&who, segment, contact, false).await??;
    Ok(HttpResponse::NoContent().finish())
}

/// `DELETE /v1/contacts/{id}` (admin): erases the contact; answers with what was removed.
async fn contact_erase(
    Admin(who): Admin,
    path: web::Path<String>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let id = crate::error::contact_id(&path)?;
    Ok(HttpResponse::Ok().json(state.erase(&who, id).await?))
}

/// `POST /v1/contacts/bulk`: one action over up to 1,000 contacts, reported per contact.
async fn contacts_bulk(
    Viewer(who): Viewer,
    body: AdminBody,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    // The action decides the role; a body too bad to name one is refused below any role that
    // may do bulk actions at all.
    let bulk = match crate::gdpr::parse_bulk(&body.0) {
        Ok(parsed) => parsed,
        Err(e) => {
            who.require(Role::Editor)?;
            return Err(e);
        }
    };
    who.require(bulk.needs)?;
    Ok(HttpResponse::Ok().json(state.bulk(&who, bulk).await?))
}

/// `POST /v1/admin/compact` (admin): compacts the store now, so that erased data leaves the
/// disk without waiting for the scheduled compaction.
async fn store_compact(_: Admin, state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Ok().json(state.compact().await?))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct BackupBody {
    /// An absolute path on the edge's machine: absent, or an empty directory.
    dir: std::path::PathBuf,
}

/// `POST /v1/admin/backup {"dir": "/abs/path"}` (admin): a consistent backup while serving
/// (`store/backup.rs`); `footprint-edge backup DIR` calls this when the edge runs.
async fn store_backup(
    _: Admin,
    body: AdminBody,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let body: BackupBody = serde_json::from_slice(&body.0).map_err(|e| {
        ApiError::bad_request(
            "invalid_body",
            format!("send {{\"dir\": \"/absolute/path\"}}: {e}"),
        )
    })?;
    Ok(HttpResponse::Ok().json(state.backup(body.dir).await?))
}

/// `GET /v1/contacts/{id}/extract` (admin): the contact's personal data as a zip, written by a
/// blocking thread a page of events at a time into a small channel, so memory stays flat
/// however long the activity.
async fn contact_extract(
    Viewer(who): Viewer,
    path: web::Path<String>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let id = crate::error::contact_id(&path)?;
    extract_zip(state, who, id).await
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ImportQuery {
    site: Option<String>,
    /// Skip columns that are not importable instead of refusing the file.
    ignore_unknown: Option<bool>,
}

/// Largest CSV import body: 100,000 rows of a few hundred bytes fit with room to spare.
pub(crate) const MAX_IMPORT_BODY: usize = 64 * 1024 * 1024;

/// `POST /v1/contacts/import?site=` (editor): upserts CSV rows; answers with the row report.
async fn contacts_import(
    Editor(who): Editor,
    req: HttpRequest,
    query: web::Query<ImportQuery>,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let query = query.into_inner();
    let options = crate::import::Options {
        ignore_unknown: query.ignore_unknown.unwrap_or(false),
    };
    let site = crate::import::site(query.site, &state.ingest.site_keys())?;
    let body = read_body(&req, payload, MAX_IMPORT_BODY).await?.freeze();
    let report = state.app.import_csv(&who, site, body, options).await?;
    Ok(HttpResponse::Ok().json(report))
}
