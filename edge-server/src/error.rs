//! The one error type of the HTTP API. Each variant maps to one status in `http::api`, with a JSON
//! body `{"error": code, "message": what to do}`. Internal detail is logged, not returned.

#[derive(Debug, Clone, thiserror::Error)]
pub enum ApiError {
    #[error("{message}")]
    BadRequest { code: &'static str, message: String },
    #[error("the body is over {limit} bytes; send smaller batches")]
    PayloadTooLarge { limit: usize },
    #[error("Content-Type must be application/json or text/plain")]
    UnsupportedMediaType,
    /// A request body with a `Content-Encoding` (gzip, br, ...): refused unread.
    #[error("Content-Encoding `{0}` is not accepted; send the body uncompressed")]
    ContentEncoding(String),
    /// The body did not arrive in time; the connection is closed.
    #[error("{0}; send the whole body at once, or raise server.body_timeout_seconds")]
    BodyTimeout(String),
    #[error(
        "site_key `{0}` is not configured on this edge; check the data-site-key of your snippet"
    )]
    UnknownSite(String),
    #[error(
        "origin `{origin}` may not send events for site `{site}`; add it to the site's origins"
    )]
    OriginDenied { origin: String, site: String },
    #[error("origin `{0}` is not allowed by any site on this edge")]
    PreflightDenied(String),
    #[error("too many requests from this {scope}; retry after {retry_after} s")]
    RateLimited {
        scope: &'static str,
        retry_after: u64,
    },
    #[error("the store cannot take writes right now ({reason}); retry after {retry_after} s")]
    Unavailable { reason: String, retry_after: u64 },
    #[error("a valid admin token is required: send `Authorization: Bearer <token>`")]
    Unauthorized,
    /// `POST /v1/server/batch` without a server key that some site has.
    #[error("{0}")]
    ServerKey(String),
    #[error("this needs the {needs} role; the token `{name}` is a {has}")]
    Forbidden {
        needs: crate::access::Role,
        has: crate::access::Role,
        name: String,
    },
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Conflict(String),
    /// The contact was erased: 410, so that an admin knows it existed and why it is absent.
    #[error("{0}")]
    Gone(String),
    /// A well-formed request with a bad value: which field, and what to send instead.
    #[error("{field} {message}")]
    Unprocessable { field: String, message: String },
    #[error("internal error; the server log has the detail")]
    Internal,
}

impl ApiError {
    pub fn bad_request(code: &'static str, message: impl Into<String>) -> ApiError {
        ApiError::BadRequest {
            code,
            message: message.into(),
        }
    }

    pub fn code(&self) -> &'static str {
        match self {
            ApiError::BadRequest { code, .. } => code,
            ApiError::PayloadTooLarge { .. } => "payload_too_large",
            ApiError::UnsupportedMediaType => "unsupported_media_type",
            ApiError::ContentEncoding(_) => "unsupported_encoding",
            ApiError::BodyTimeout(_) => "body_timeout",
            ApiError::UnknownSite(_) => "unknown_site",
            ApiError::OriginDenied { .. } | ApiError::PreflightDenied(_) => "origin_not_allowed",
            ApiError::RateLimited { .. } => "rate_limited",
            ApiError::Unavailable { .. } => "unavailable",
            ApiError::Unauthorized | ApiError::ServerKey(_) => "unauthorized",
            ApiError::NotFound(_) => "not_found",
            ApiError::Forbidden { .. } => "forbidden",
            ApiError::Conflict(_) => "conflict",
            ApiError::Gone(_) => "erased",
            ApiError::Unprocessable { .. } => "invalid_field",
            ApiError::Internal => "internal",
        }
    }
}

impl From<crate::store::Refusal> for ApiError {
    /// An admin operation the store refused: what it names, with the status that fits.
    fn from(r: crate::store::Refusal) -> ApiError {
        match r {
            crate::store::Refusal::NotFound(what) => ApiError::NotFound(what),
            crate::store::Refusal::Conflict(why) => ApiError::Conflict(why),
        }
    }
}

impl From<crate::store::StoreError> for ApiError {
    /// A store failure on a read: logged with its detail, answered as a plain 500. (Writes
    /// answer 503 with `Retry-After` where they are queued, not through this.)
    fn from(e: crate::store::StoreError) -> ApiError {
        tracing::error!(error = %e, "reading the store failed");
        ApiError::Internal
    }
}

/// A contact id from a path or a query, or the 400 that says what one looks like. Here, beside
/// the error it answers with, so that every module that takes ids (the API, the console,
/// segments) shares it without depending on one another.
pub fn contact_id(s: &str) -> Result<crate::contacts::ContactId, ApiError> {
    crate::contacts::ContactId::parse(s).ok_or_else(|| {
        ApiError::bad_request(
            "invalid_contact_id",
            format!("`{s}` is not a contact id; ids are positive whole numbers"),
        )
    })
}
