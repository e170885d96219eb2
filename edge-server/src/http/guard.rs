//! What every request passes before a handler sees it, API and console alike:
//!
//! - a body with a `Content-Encoding` other than identity is refused (415). actix inflates
//!   encoded bodies for its form and JSON extractors and checks their limits only after
//!   inflating, so a 200 KB gzip bomb cost hundreds of megabytes before any sign-in. Nothing
//!   we serve needs a compressed request: the tracker sends plain text.
//! - the body must arrive before a deadline (`server.body_timeout_seconds`, the import's own
//!   for the CSV import), else the read fails with 408 and the connection is closed, so a
//!   client trickling a byte a second cannot hold a connection.
//! - every response says `X-Content-Type-Options: nosniff`.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{Payload, ServiceRequest, ServiceResponse};
use actix_web::error::PayloadError;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{web, HttpMessage, ResponseError};
use bytes::Bytes;
use futures_util::Stream;

use crate::error::ApiError;
use crate::http::state::Front;

/// Paths whose body is a CSV import, which may be large and slow to upload.
pub(crate) fn is_import(path: &str) -> bool {
    path == "/v1/contacts/import" || path == "/admin/contacts/import"
}

pub async fn guard(
    mut req: ServiceRequest,
    next: actix_web::middleware::Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody>>, actix_web::Error> {
    if let Some(encoding) = refused_encoding(&req) {
        let err = ApiError::ContentEncoding(encoding);
        let resp = if req.path().starts_with("/admin") {
            crate::http::console::fail::Fail::Api(err).error_response()
        } else {
            err.error_response()
        };
        return Ok(req.into_response(resp).map_into_right_body());
    }
    let deadlines = req
        .app_data::<web::Data<Front>>()
        .map(|s| s.deadlines)
        .unwrap_or_else(|| (&crate::config::ServerConfig::default()).into());
    let limit = if is_import(req.path()) {
        deadlines.import
    } else {
        deadlines.body
    };
    let payload = req.take_payload();
    let timed: Pin<Box<dyn Stream<Item = Result<Bytes, PayloadError>>>> = Box::pin(Deadline {
        inner: payload,
        sleep: Box::pin(tokio::time::sleep(limit)),
        secs: limit.as_secs(),
        expired: false,
    });
    req.set_payload(Payload::from(timed));
    let mut res = next.call(req).await?;
    let h = res.headers_mut();
    if !h.contains_key(header::X_CONTENT_TYPE_OPTIONS) {
        h.insert(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        );
    }
    Ok(res.map_into_left_body())
}

/// The request's `Content-Encoding`, when it is anything but identity.
fn refused_encoding(req: &ServiceRequest) -> Option<String> {
    let mut refused = None;
    for v in req.headers().get_all(header::CONTENT_ENCODING) {
        let text = v.to_str().unwrap_or("(not text)").trim();
        if !text.eq_ignore_ascii_case("identity") && !text.is_empty() {
            refused = Some(text.chars().take(40).collect());
        }
    }
    refused
}

/// A request body that fails once its deadline passes.
struct Deadline {
    inner: Payload,
    sleep: Pin<Box<tokio::time::Sleep>>,
    secs: u64,
    expired: bool,
}

impl Stream for Deadline {
    type Item = Result<Bytes, PayloadError>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = &mut *self;
        if this.expired {
            return Poll::Ready(None);
        }
        if let Poll::Ready(item) = Pin::new(&mut this.inner).poll_next(cx) {
            return Poll::Ready(item);
        }
        if this.sleep.as_mut().poll(cx).is_ready() {
            this.expired = true;
            return Poll::Ready(Some(Err(PayloadError::Io(io::Error::new(
                io::ErrorKind::TimedOut,
                format!("the body did not arrive within {} s", this.secs),
            )))));
        }
        Poll::Pending
    }
}

/// Whether a body read failed because its deadline passed.
pub fn timed_out(e: &PayloadError) -> bool {
    matches!(e, PayloadError::Io(io) if io.kind() == io::ErrorKind::TimedOut)
}

/// A failed body read: 408 when the deadline passed, else 400.
pub(crate) fn body_error(e: &actix_web::error::PayloadError) -> ApiError {
    if timed_out(e) {
        ApiError::BodyTimeout(e.to_string())
    } else {
        ApiError::bad_request("body_read", format!("could not read the body: {e}"))
    }
}
