//! What every handler shares, API and console alike: the state an edge serves from, the
//! client a request comes from, and the helpers that run store work off the async executor.

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use actix_web::{web, HttpRequest};

use crate::admin::ContactSettings;
use crate::auth::{AdminIdentity, Admins};
use crate::client::ClientIps;
use crate::config::Config;
use crate::error::ApiError;
use crate::ingest::{Clock, EventSink, Ingest};
use crate::sdk::SdkAssets;
use crate::store::{AdminKind, AdminOp, Done, Store};

/// Everything a handler may use.
pub struct AppState {
    pub ingest: Ingest,
    pub store: Store,
    pub admins: Admins,
    /// How a request's client address is found (rate limits, the sign-in throttle).
    pub clients: ClientIps,
    /// How long a request body may take to arrive.
    pub deadlines: BodyDeadlines,
    /// The tracker's files, when the edge serves the script tag.
    pub sdk: Option<SdkAssets>,
    pub contacts: ContactSettings,
    /// The console's signed-in admins.
    pub console: crate::http::console::session::Sessions,
}

/// The client a request comes from (see `client::ClientIps`).
pub(crate) fn client_ip(req: &HttpRequest, state: &AppState) -> Option<IpAddr> {
    let forwarded = req
        .headers()
        .get("x-forwarded-for")
        .and_then(|v| v.to_str().ok());
    state.clients.of(req.peer_addr().map(|a| a.ip()), forwarded)
}

/// The body deadlines, from `[server]`.
#[derive(Debug, Clone, Copy)]
pub struct BodyDeadlines {
    pub body: Duration,
    pub import: Duration,
}

impl From<&crate::config::ServerConfig> for BodyDeadlines {
    fn from(s: &crate::config::ServerConfig) -> BodyDeadlines {
        let secs = |n: u32| Duration::from_secs(u64::from(n));
        BodyDeadlines {
            body: secs(s.body_timeout_seconds),
            import: secs(s.import_timeout_seconds),
        }
    }
}

/// Runs a blocking store read off the async executor.
pub(crate) async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, ApiError> + Send + 'static,
) -> Result<T, ApiError> {
    web::block(f).await.map_err(|_| ApiError::Internal)?
}

/// Carries out an admin operation on the writer thread and waits until it is durable.
pub(crate) async fn run_admin(state: &AppState, op: AdminOp) -> Result<Done, ApiError> {
    let pending = state.store.admin(op).map_err(|e| ApiError::Unavailable {
        reason: e.to_string(),
        retry_after: 1,
    })?;
    match pending.await {
        Ok(Ok(Ok(done))) => Ok(done),
        Ok(Ok(Err(r))) => Err(r.into()),
        Ok(Err(e)) => Err(ApiError::Unavailable {
            reason: e.to_string(),
            retry_after: 1,
        }),
        Err(_) => Err(ApiError::Internal),
    }
}

pub(crate) fn admin_op(state: &AppState, who: &AdminIdentity, kind: AdminKind) -> AdminOp {
    AdminOp {
        kind,
        who: who.name.clone(),
        clearance: who.role.clearance(),
        at: state.now().as_millis(),
    }
}

pub fn state(s: AppState) -> web::Data<AppState> {
    web::Data::from(Arc::new(s))
}

impl AppState {
    /// Now, by the edge's clock (a test moves it): the one way handlers read the time.
    pub fn now(&self) -> footprint_protocol::Timestamp {
        self.ingest.clock().now()
    }

    /// The state an edge serves from, built from its config: the binary and every in-process
    /// test build it here. The tracker's files are added by whoever serves them.
    pub fn new(
        cfg: &Config,
        store: Store,
        sink: Arc<dyn EventSink>,
        clock: Arc<dyn Clock>,
    ) -> AppState {
        // Installed before the first request, so no early count is lost.
        crate::telemetry::handle();
        AppState {
            ingest: Ingest::new(cfg, sink, clock),
            store,
            admins: Admins::new(cfg.admins.clone(), cfg.rate_limit.auth_failures_per_minute),
            clients: ClientIps::from_config(&cfg.rate_limit),
            deadlines: BodyDeadlines::from(&cfg.server),
            sdk: None,
            contacts: ContactSettings::from_config(cfg),
            console: Default::default(),
        }
    }
}
