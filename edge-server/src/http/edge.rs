//! A cluster's edge over HTTP: the public routes served here, every admin route (API and
//! console) forwarded to a projector (`cluster::rpc`). It holds no store.

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceFactory, ServiceRequest, ServiceResponse};
use actix_web::http::header;
use actix_web::middleware::from_fn;
use actix_web::{web, App, HttpRequest, HttpResponse, ResponseError};

use crate::auth::Admins;
use crate::cluster::rpc::Forwarder;
use crate::cluster::Log;
use crate::error::ApiError;
use crate::http::api;
use crate::http::state::Front;

/// What an edge adds to the public routes.
pub struct EdgeState {
    pub forwarder: Forwarder,
    pub log: Log,
    /// For `/metrics`, which reports on this process.
    pub admins: Admins,
}

/// The paths an edge forwards: everything an admin reads or changes.
const FORWARDED: [&str; 5] = [
    "/v1/contacts",
    "/v1/segments",
    "/v1/trackers",
    "/v1/admin",
    "/admin",
];

/// Largest body a forwarded non-import request may have (the forms and JSON bodies are far
/// smaller; the projector checks each against its own limit).
const MAX_FORWARDED_BODY: usize = 1024 * 1024;

pub fn app(
    front: web::Data<Front>,
    edge: web::Data<EdgeState>,
) -> App<
    impl ServiceFactory<
        ServiceRequest,
        Config = (),
        Response = ServiceResponse<impl MessageBody>,
        Error = actix_web::Error,
        InitError = (),
    >,
> {
    let first_party = front
        .sdk
        .as_ref()
        .and_then(|s| s.first_party())
        .map(|(paths, _)| paths.clone());
    App::new()
        .app_data(front)
        .app_data(edge)
        .wrap(from_fn(crate::http::guard::guard))
        .wrap(from_fn(api::log_request))
        .configure(|cfg| {
            if let Some(fp) = &first_party {
                api::first_party_routes(cfg, fp);
            }
            api::public(cfg);
            cfg.route("/readyz", web::get().to(readyz))
                .route("/metrics", web::get().to(metrics));
            for prefix in FORWARDED {
                cfg.service(web::scope(prefix).default_service(web::to(forward)));
            }
            cfg.default_service(web::to(api::not_found));
        })
}

/// Ready when the log's stream answers: batches can be acknowledged.
async fn readyz(edge: web::Data<EdgeState>) -> Result<HttpResponse, ApiError> {
    edge.log
        .last_position(&edge.log.admin_subject())
        .await
        .map_err(|e| ApiError::Unavailable {
            reason: e.to_string(),
            retry_after: 1,
        })?;
    Ok(HttpResponse::Ok().json(serde_json::json!({"status": "ready"})))
}

/// `GET /metrics` (any admin token): this edge process's own.
async fn metrics(
    req: HttpRequest,
    front: web::Data<Front>,
    edge: web::Data<EdgeState>,
) -> Result<HttpResponse, ApiError> {
    let token = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .ok_or(ApiError::Unauthorized)?;
    edge.admins
        .authenticate(token.trim(), front.client_ip(&req))?;
    let text = crate::telemetry::render(None).ok_or(ApiError::Internal)?;
    Ok(HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4; charset=utf-8")
        .body(text))
}

/// Reads the body (under the guard's deadline) and hands the request to a projector.
async fn forward(
    req: HttpRequest,
    payload: web::Payload,
    edge: web::Data<EdgeState>,
) -> HttpResponse {
    let wanted = if crate::http::guard::is_import(req.path()) {
        api::MAX_IMPORT_BODY
    } else {
        MAX_FORWARDED_BODY
    };
    let carried = edge.forwarder.max_body();
    let limit = wanted.min(carried);
    match api::read_body(&req, payload, limit).await {
        Ok(body) => edge.forwarder.forward(&req, body.freeze()).await,
        Err(ApiError::PayloadTooLarge { .. }) if carried < wanted => {
            ApiError::PayloadTooLarge { limit: carried }.error_response()
        }
        Err(e) => e.error_response(),
    }
}
