//! The admin console at `/admin`: server-rendered pages over the same domain functions as the
//! admin API, so a role that the API refuses is refused here too, by the same check.
//!
//! - Sign-in takes an admin token and gives a session cookie (`session.rs`).
//! - Every POST carries the session's CSRF token; the sign-in form a double-submit cookie.
//! - Pages are askama templates (`templates/console/`), which escape every value: whatever a
//!   shopper's browser sent is shown as text.
//! - Every response forbids inline script with its Content-Security-Policy. The one script,
//!   `console.js`, only adds conveniences ("load more" in place); every page works without it.

mod builder;
mod contacts;
pub mod fail;
mod locale;
mod pages;
mod parts;
mod segments;
pub mod session;
mod sheet;
mod views;

use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{self, HeaderValue};
use actix_web::middleware::from_fn;
use actix_web::{web, HttpRequest, HttpResponse};

pub use fail::{Answer, Fail, Refused};
pub use session::Sessions;

use crate::auth::{AdminIdentity, Role};
use crate::error::ApiError;
use crate::http::state::AppState;
use session::Session;

/// What every console response says about itself. No inline script or style, nothing from
/// elsewhere, no framing, and forms post only back here.
const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; \
                   connect-src 'self'; form-action 'self'; frame-ancestors 'none'; \
                   base-uri 'none'";

/// Largest console form (a bulk action names at most 1,000 ids).
const MAX_FORM: usize = 256 * 1024;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::scope("/admin")
            .wrap(from_fn(locale::scoped))
            .wrap(from_fn(security_headers))
            .app_data(
                web::FormConfig::default()
                    .limit(MAX_FORM)
                    .error_handler(|e, _| {
                        let err = match &e {
                            actix_web::error::UrlencodedError::Payload(p) => {
                                crate::http::guard::body_error(p)
                            }
                            _ => ApiError::bad_request("invalid_form", e.to_string()),
                        };
                        Fail::from(err).into()
                    }),
            )
            .app_data(web::QueryConfig::default().error_handler(|e, _| {
                Fail::from(ApiError::bad_request("invalid_query", e.to_string())).into()
            }))
            // `/admin` itself, inside the scope so that it gets the console's headers too.
            .route("", web::get().to(pages::home))
            .route("/", web::get().to(pages::home))
            .route("/console.css", web::get().to(pages::css))
            .route("/console.js", web::get().to(pages::js))
            .service(
                web::resource("/login")
                    .route(web::get().to(pages::login_form))
                    .route(web::post().to(pages::login)),
            )
            .route("/logout", web::post().to(pages::logout))
            .route("/contacts", web::get().to(contacts::list))
            .route("/contacts/new", web::post().to(contacts::create))
            .route("/contacts/import", web::post().to(contacts::import))
            .route("/contacts/export.csv", web::get().to(contacts::export))
            .route("/contacts/bulk", web::post().to(contacts::bulk))
            .service(
                web::resource("/contacts/{id}")
                    .route(web::get().to(sheet::profile))
                    .route(web::post().to(sheet::apply)),
            )
            .route("/contacts/{id}/activity", web::get().to(sheet::activity))
            .route("/contacts/{id}/orders", web::get().to(sheet::orders))
            .route("/contacts/{id}/notes", web::post().to(sheet::note_add))
            .route(
                "/contacts/{id}/notes/{note}/delete",
                web::post().to(sheet::note_delete),
            )
            .route(
                "/contacts/{id}/activity/rows",
                web::get().to(sheet::activity_rows),
            )
            .route(
                "/contacts/{id}/segments",
                web::post().to(sheet::sheet_segment),
            )
            .service(
                web::resource("/contacts/{id}/delete")
                    .route(web::get().to(sheet::confirm_erase))
                    .route(web::post().to(sheet::erase)),
            )
            .route("/contacts/{id}/extract", web::get().to(sheet::extract))
            .route("/segments/builder", web::post().to(segments::builder))
            .service(
                web::resource("/segments")
                    .route(web::get().to(segments::segments))
                    .route(web::post().to(segments::segment_create)),
            )
            .service(
                web::resource("/segments/{id}")
                    .route(web::get().to(segments::segment))
                    .route(web::post().to(segments::segment_update)),
            )
            .route(
                "/segments/{id}/delete",
                web::post().to(segments::segment_delete),
            )
            .default_service(web::to(pages::not_found)),
    );
}

async fn security_headers(
    req: ServiceRequest,
    next: actix_web::middleware::Next<impl actix_web::body::MessageBody>,
) -> Result<ServiceResponse<impl actix_web::body::MessageBody>, actix_web::Error> {
    let mut res = next.call(req).await?;
    let h = res.headers_mut();
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    // Contact data must not linger in shared or back-button caches; the two static files say
    // otherwise for themselves.
    if !h.contains_key(header::CACHE_CONTROL) {
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    Ok(res)
}

/// The signed-in admin of a request, with the session's id.
struct Signed {
    id: String,
    session: Session,
    /// The message left for the page a GET shows ("Saved."), taken when signed in.
    flash: Option<String>,
}

impl Signed {
    fn who(&self) -> &AdminIdentity {
        &self.session.who
    }

    fn can(&self, role: Role) -> bool {
        self.session.who.role >= role
    }
}

async fn signed_in(req: &HttpRequest, state: &AppState) -> Result<Signed, Fail> {
    let id = req
        .cookie(session::COOKIE)
        .map(|c| c.value().to_owned())
        .ok_or(Fail::SignIn)?;
    let session = state.console.get(&id).await.ok_or(Fail::SignIn)?;
    // Only a page shows the message; a post leaves it for the page it redirects to.
    let flash = if req.method() == actix_web::http::Method::GET {
        state.console.take_flash(&id).await
    } else {
        None
    };
    Ok(Signed { id, session, flash })
}

/// A posted form: its fields in order, repeated names kept (a bulk action's `id`s).
type Form = web::Form<Vec<(String, String)>>;

fn field<'a>(form: &'a [(String, String)], name: &str) -> Option<&'a str> {
    form.iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

/// The signed-in admin of a form post whose CSRF token matches the session's.
async fn signed_post(
    req: &HttpRequest,
    state: &AppState,
    form: &[(String, String)],
) -> Result<Signed, Fail> {
    let signed = signed_in(req, state).await?;
    match field(form, "csrf") {
        Some(t) if session::same_token(t, &signed.session.csrf) => Ok(signed),
        _ => Err(Fail::Csrf),
    }
}

/// A 303 to `to`, the answer to every successful post: reloading the page then reads, and does
/// not post again.
fn see_other(to: &str) -> HttpResponse {
    HttpResponse::SeeOther()
        .insert_header((header::LOCATION, to.to_owned()))
        .finish()
}

/// A cookie for the console's paths only; `Secure` when the console is reached over https.
fn cookie<'a>(req: &HttpRequest, name: &'a str, value: String) -> actix_web::cookie::Cookie<'a> {
    let secure = req.connection_info().scheme() == "https";
    actix_web::cookie::Cookie::build(name, value)
        .path("/admin")
        .http_only(true)
        .secure(secure)
        .same_site(actix_web::cookie::SameSite::Strict)
        .finish()
}
