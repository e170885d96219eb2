//! What every handler shares, API and console alike: the state an edge serves from (the
//! application, `crate::app`, and what HTTP adds to it) and the client a request comes from.

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use actix_web::{web, HttpRequest};

use crate::admin::ContactSettings;
use crate::app::{App, Writes};
use crate::auth::Admins;
use crate::client::ClientIps;
use crate::config::Config;
use crate::ingest::{Clock, EventSink, Ingest};
use crate::sdk::SdkAssets;
use crate::store::Store;

/// Everything an admin's handler may use.
pub struct AppState {
    /// The application below HTTP; `AppState` derefs to it (`state.store`, `state.now()`).
    pub app: Arc<App>,
    /// What the public routes use; also registered on its own.
    pub front: web::Data<Front>,
    pub admins: Admins,
    /// The console's signed-in admins.
    pub console: crate::http::console::session::Sessions,
}

/// What the public routes need (batches, the tracker's files, the request guard), in every
/// mode: a cluster's edge serves them without a store.
pub struct Front {
    pub ingest: Arc<Ingest>,
    /// The tracker's files, when the edge serves the script tag.
    pub sdk: Option<SdkAssets>,
    /// How a request's client address is found (rate limits, the sign-in throttle).
    pub clients: ClientIps,
    /// How long a request body may take to arrive.
    pub deadlines: BodyDeadlines,
}

impl Front {
    pub fn new(
        cfg: &Config,
        sink: Arc<dyn EventSink>,
        clock: Arc<dyn Clock>,
        sdk: Option<SdkAssets>,
    ) -> Front {
        // Installed before the first request, so no early count is lost.
        crate::telemetry::handle();
        Front {
            ingest: Arc::new(Ingest::new(cfg, sink, clock)),
            sdk,
            clients: ClientIps::from_config(&cfg.rate_limit),
            deadlines: BodyDeadlines::from(&cfg.server),
        }
    }

    /// The client a request comes from (see `client::ClientIps`).
    pub fn client_ip(&self, req: &HttpRequest) -> Option<IpAddr> {
        let forwarded = req
            .headers()
            .get("x-forwarded-for")
            .and_then(|v| v.to_str().ok());
        self.clients.of(req.peer_addr().map(|a| a.ip()), forwarded)
    }
}

/// The client a request comes from (see `client::ClientIps`).
pub(crate) fn client_ip(req: &HttpRequest, state: &AppState) -> Option<IpAddr> {
    state.front.client_ip(req)
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
        let writes = Writes::Store(store.clone());
        AppState::assemble(cfg, Front::new(cfg, sink, clock, None), store, writes)
    }

    /// The state of a process whose public routes are `front`, whose reads see `store` and
    /// whose admins' changes go to `writes` (cluster mode: the log).
    pub fn assemble(cfg: &Config, front: Front, store: Store, writes: Writes) -> AppState {
        let front = web::Data::new(front);
        AppState {
            app: Arc::new(App {
                ingest: Arc::clone(&front.ingest),
                store,
                writes,
                contacts: ContactSettings::from_config(cfg),
                census: Default::default(),
                walks: Arc::new(tokio::sync::Semaphore::new(crate::app::WALKS_AT_ONCE)),
            }),
            front,
            admins: Admins::new(cfg.admins.clone(), cfg.rate_limit.auth_failures_per_minute),
            console: Default::default(),
        }
    }
}
