//! What every handler shares, API and console alike: the state an edge serves from (the
//! application, `crate::app`, and what HTTP adds to it) and the client a request comes from.

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use actix_web::{web, HttpRequest};

use crate::admin::ContactSettings;
use crate::app::App;
use crate::auth::Admins;
use crate::client::ClientIps;
use crate::config::Config;
use crate::ingest::{Clock, EventSink, Ingest};
use crate::sdk::SdkAssets;
use crate::store::Store;

/// Everything a handler may use.
pub struct AppState {
    /// The application below HTTP; `AppState` derefs to it (`state.store`, `state.now()`).
    pub app: Arc<App>,
    pub admins: Admins,
    /// How a request's client address is found (rate limits, the sign-in throttle).
    pub clients: ClientIps,
    /// How long a request body may take to arrive.
    pub deadlines: BodyDeadlines,
    /// The tracker's files, when the edge serves the script tag.
    pub sdk: Option<SdkAssets>,
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

pub fn state(s: AppState) -> web::Data<AppState> {
    web::Data::from(Arc::new(s))
}

impl std::ops::Deref for AppState {
    type Target = App;
    fn deref(&self) -> &App {
        &self.app
    }
}

impl AppState {
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
            app: Arc::new(App {
                ingest: Ingest::new(cfg, sink, clock),
                store,
                contacts: ContactSettings::from_config(cfg),
            }),
            admins: Admins::new(cfg.admins.clone(), cfg.rate_limit.auth_failures_per_minute),
            clients: ClientIps::from_config(&cfg.rate_limit),
            deadlines: BodyDeadlines::from(&cfg.server),
            sdk: None,
            console: Default::default(),
        }
    }
}
