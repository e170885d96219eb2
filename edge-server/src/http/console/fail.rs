//! How a console request fails: as a page, never JSON, or as a redirect to sign-in. The
//! request guard answers with it too, for `/admin` paths.

use actix_web::http::header;
use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};

use super::views;
use crate::error::ApiError;

/// Why a console request was not carried out. Each becomes a page, never JSON.
#[derive(Debug)]
pub enum Fail {
    /// No session, or it ended: to the sign-in page.
    SignIn,
    /// The form's CSRF token is missing or wrong.
    Csrf,
    Api(ApiError),
}

impl From<ApiError> for Fail {
    fn from(e: ApiError) -> Fail {
        match e {
            ApiError::Unauthorized => Fail::SignIn,
            e => Fail::Api(e),
        }
    }
}

impl std::fmt::Display for Fail {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Fail::SignIn => f.write_str("sign in first"),
            Fail::Csrf => f.write_str(
                "this form has expired or did not come from the console; go back, reload the \
                 page and send it again",
            ),
            Fail::Api(e) => e.fmt(f),
        }
    }
}

impl ResponseError for Fail {
    fn status_code(&self) -> StatusCode {
        match self {
            Fail::SignIn => StatusCode::SEE_OTHER,
            Fail::Csrf => StatusCode::FORBIDDEN,
            Fail::Api(e) => e.status_code(),
        }
    }

    fn error_response(&self) -> HttpResponse {
        match self {
            Fail::SignIn => HttpResponse::SeeOther()
                .insert_header((header::LOCATION, "/admin/login"))
                .finish(),
            _ => {
                let status = self.status_code();
                let title = match status {
                    StatusCode::FORBIDDEN => "Not allowed",
                    StatusCode::NOT_FOUND => "Not found",
                    StatusCode::GONE => "Erased",
                    StatusCode::CONFLICT => "Conflict",
                    s if s.is_client_error() => "Cannot do that",
                    _ => "Something went wrong",
                };
                views::html(
                    status,
                    &views::ErrorPage {
                        title,
                        message: self.to_string(),
                    },
                )
            }
        }
    }
}

pub type Answer = Result<HttpResponse, Fail>;

/// A refused form, to show again: the errors at their fields, the line above the form, and
/// the status.
pub struct Refused {
    pub errors: Vec<(String, String)>,
    pub top: Option<String>,
    pub status: StatusCode,
}

impl Refused {
    /// A form shown afresh.
    pub const NONE: Refused = Refused {
        errors: Vec::new(),
        top: None,
        status: StatusCode::OK,
    };
}

impl Refused {
    /// A refused form: at its field when the refusal names one. Errors that are not about
    /// the form are the request's.
    pub fn of(e: ApiError) -> Result<Refused, Fail> {
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
}
