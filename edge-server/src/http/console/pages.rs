//! The console's shared page parts and its sign-in. Every handler (here and in `contacts`,
//! `sheet`, `segments`) reads through the admin domain (`admin`, `segments`, `gdpr`,
//! `import`) and writes through the same admin operations as the API; none touches the store
//! in its own way.

use actix_web::http::header;
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use serde::Deserialize;

use super::session::{self, LOGIN_COOKIE};
use super::views::*;
use super::{cookie, field, see_other, signed_in, signed_post, Answer, Fail, Form, Signed};
use crate::auth::Denied;
use crate::error::ApiError;
use crate::http::state::AppState;

pub(super) type State = web::Data<AppState>;

/// Contacts per page of a list.
pub(super) const PAGE: usize = 50;

pub(super) fn chrome(signed: &Signed, title: impl Into<String>, nav: &'static str) -> Chrome {
    Chrome {
        title: title.into(),
        nav,
        who: signed.who().name.clone(),
        role: signed.who().role.to_string(),
        csrf: signed.session.csrf.clone(),
        flash: signed.flash.clone(),
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
        include_str!("../../../static/console.css"),
    )
}

pub async fn js() -> HttpResponse {
    asset(
        "text/javascript; charset=utf-8",
        include_str!("../../../static/console.js"),
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
    if signed_in(&req, &state).await.is_ok() {
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
        let why = "The sign-in form expired. Paste your token again.";
        return login_page(&req, StatusCode::FORBIDDEN, Some(why.into()), None);
    }
    let token = field(&form, "token").unwrap_or("").trim();
    let client = crate::http::state::client_ip(&req, &state);
    let who = match state.admins.authenticate(token, client) {
        Ok(who) => who,
        Err(denied) => return login_refused(&req, denied),
    };
    tracing::info!(admin = %who.name, "signed in to the console");
    let id = state.console.start(who).await;
    let mut resp = see_other("/admin/contacts");
    let _ = resp.add_cookie(&cookie(&req, session::COOKIE, id));
    let mut gone = cookie(&req, LOGIN_COOKIE, String::new());
    gone.make_removal();
    let _ = resp.add_cookie(&gone);
    resp
}

/// The sign-in page again, saying why the token was refused.
fn login_refused(req: &HttpRequest, denied: Denied) -> HttpResponse {
    match denied {
        Denied::Invalid => login_page(
            req,
            StatusCode::UNAUTHORIZED,
            Some(
                "That token is not valid. Use an admin token from the edge's config \
                 ([[admins]]); `cargo xtask demo` prints one."
                    .into(),
            ),
            None,
        ),
        Denied::Throttled { retry_after } => {
            let mut resp = login_page(
                req,
                StatusCode::TOO_MANY_REQUESTS,
                Some(format!(
                    "Too many wrong tokens from your address. Wait {retry_after} s, then paste \
                     a valid token."
                )),
                None,
            );
            if let Ok(v) = header::HeaderValue::from_str(&retry_after.to_string()) {
                resp.headers_mut().insert(header::RETRY_AFTER, v);
            }
            resp
        }
    }
}

pub async fn logout(req: HttpRequest, state: State, form: Form) -> Answer {
    let signed = signed_post(&req, &state, &form).await?;
    state.console.end(&signed.id).await;
    let mut resp = see_other("/admin/login?signed_out=1");
    let mut gone = cookie(&req, session::COOKIE, String::new());
    gone.make_removal();
    let _ = resp.add_cookie(&gone);
    Ok(resp)
}

/// A form value, trimmed, when it says anything.
pub(super) fn nonempty(v: &Option<String>) -> Option<&str> {
    v.as_deref().map(str::trim).filter(|s| !s.is_empty())
}

/// `path` with a query string, when there is one.
pub(super) fn url(path: &str, params: &str) -> String {
    if params.is_empty() {
        path.to_owned()
    } else {
        format!("{path}?{params}")
    }
}
