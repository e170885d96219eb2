//! Starting and stopping the edge: wires config, store, domain and routes together.

use std::future::Future;
use std::io::Write;
use std::sync::Arc;
use std::time::Duration;

use actix_web::{web, HttpServer};

use crate::app::Writes;
use crate::cluster::{Log, LogConfig, LogError};
use crate::config::{ClusterConfig, Config};
use crate::http::state::Front;
use crate::http::{self, AppState};
use crate::ingest::{EventSink, NullSink, SystemClock};
use crate::sdk::SdkAssets;
use crate::store::Store;

/// Where accepted events go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SinkKind {
    /// The sled store: durable acks.
    Store,
    /// Acknowledge without storing: only to measure the HTTP ceiling in benchmarks.
    Null,
}

/// Runs the edge until SIGINT or SIGTERM, then stops accepting, finishes in-flight requests,
/// flushes the store and returns.
pub async fn run(config: Config, sink: SinkKind) -> Result<(), ServeError> {
    if config.is_dev_default {
        tracing::warn!(
            listen = %config.listen,
            data_dir = %config.data_dir.display(),
            "no config file given: using the dev defaults (site `demo-shop` for http://127.0.0.1:8080 \
             and http://localhost:8080, admin `dev` with the documented dev token); \
             pass --config FILE for anything else"
        );
    }
    if let Some(cluster) = config.cluster.clone() {
        return run_cluster(config, cluster).await;
    }
    if sink == SinkKind::Null {
        tracing::warn!("null sink: events are acknowledged and NOT stored (benchmark mode)");
    }
    let store =
        Store::open(&config.data_dir, &config.store).map_err(|source| ServeError::Store {
            dir: config.data_dir.display().to_string(),
            source,
        })?;
    let sink_impl: Arc<dyn EventSink> = match sink {
        SinkKind::Store => Arc::new(store.clone()),
        SinkKind::Null => Arc::new(NullSink),
    };
    let sdk = load_sdk(&config)?;
    let front = Front::new(&config, sink_impl, Arc::new(SystemClock), sdk);
    let writes = Writes::Store(store.clone());
    let state = http::state(AppState::assemble(&config, front, store.clone(), writes));
    raise_open_file_limit();

    let app_state = state.clone();
    let server = HttpServer::new(move || http::app(app_state.clone()));
    let Some(server) = start(server, &config).await? else {
        // Stopped before it started: nothing was accepted, so nothing waits to be flushed.
        store.shutdown();
        return Ok(());
    };
    spawn_upkeep(state.clone(), &config);

    // actix handles SIGINT and SIGTERM: it stops accepting and lets in-flight requests finish.
    server.await.map_err(ServeError::Server)?;
    tracing::info!("HTTP server stopped; flushing the store");
    store.shutdown();
    tracing::info!("shut down cleanly");
    Ok(())
}

/// Runs one process of a cluster (`[cluster]`): a view of the log and its responder to admin
/// requests when the role projects, the HTTP edge when it serves, until SIGINT or SIGTERM.
async fn run_cluster(config: Config, c: ClusterConfig) -> Result<(), ServeError> {
    use crate::cluster::{commands::Commands, projector, rpc, sink::LogSink};

    let log = Log::connect(LogConfig::of(&c)).await.map_err(|e| match e {
        LogError::Connect { .. } => ServeError::Cluster(format!(
            "cluster.urls: {e}; check that the NATS servers run and the urls name them"
        )),
        e => ServeError::Cluster(format!(
            "cluster.stream / cluster.replicas: {e}; a stream of {} replicas needs as many \
                 JetStream nodes, and an existing stream must have the same settings",
            c.replicas
        )),
    })?;
    tracing::info!(urls = %c.urls.join(","), stream = %c.stream, role = ?c.role, "joined the cluster");
    let wait = Duration::from_secs(u64::from(c.request_timeout_seconds));
    let keys = crate::cluster::keys::Keys::open(&log)
        .await
        .map_err(|e| ServeError::Cluster(format!("cluster.replicas: {e}")))?;
    let sink: Arc<dyn EventSink> = Arc::new(LogSink::new(Arc::new(log.clone()), keys.clone()));
    raise_open_file_limit();

    let mut view = None;
    if c.role.projects() {
        let store =
            Store::open(&config.data_dir, &config.store).map_err(|source| ServeError::Store {
                dir: config.data_dir.display().to_string(),
                source,
            })?;
        let at = store.applied().map_err(|source| ServeError::Store {
            dir: config.data_dir.display().to_string(),
            source,
        })?;
        tracing::info!(position = at, "projecting the log from the view's position");
        let progress = projector::Progress::new(at);
        let (stop, stopped) = tokio::sync::watch::channel(false);
        let task = actix_web::rt::spawn(projector::run_until_stopped(
            log.clone(),
            store.clone(),
            progress.clone(),
            keys.clone(),
            stopped,
        ));
        // The console's sessions, shared by every projector (`console::session`).
        let sessions = log
            .bucket(
                "sessions",
                async_nats::jetstream::stream::StorageType::File,
                crate::http::console::session::LIFETIME,
            )
            .await
            .map_err(|e| ServeError::Cluster(format!("cluster.replicas: {e}")))?;
        let front = Front::new(&config, sink.clone(), Arc::new(SystemClock), None);
        let commands = Commands::new(log.clone(), keys.clone(), progress.clone(), wait);
        let mut st = AppState::assemble(
            &config,
            front,
            store.clone(),
            Writes::Log(Box::new(commands)),
        );
        st.console = crate::http::console::Sessions::shared(sessions);
        let state = http::state(st);
        let service =
            std::rc::Rc::new(actix_web::test::init_service(http::app(state.clone())).await);
        let requests = log
            .client()
            .queue_subscribe(rpc::subject(&c.stream), rpc::QUEUE.into())
            .await
            .map_err(|e| ServeError::Cluster(format!("cluster.urls: cannot subscribe: {e}")))?;
        actix_web::rt::spawn(rpc::serve(requests, log.clone(), progress, wait, service));
        spawn_upkeep(state.clone(), &config);
        view = Some((store, stop, task, state));
    }

    let started = if c.role.serves() {
        let front = web::Data::new(Front::new(
            &config,
            sink,
            Arc::new(SystemClock),
            load_sdk(&config)?,
        ));
        let edge = web::Data::new(http::edge::EdgeState {
            forwarder: crate::cluster::rpc::Forwarder::new(&log, wait),
            log: log.clone(),
            admins: crate::auth::Admins::new(
                config.admins.clone(),
                config.rate_limit.auth_failures_per_minute,
            ),
        });
        let janitor = front.clone();
        actix_web::rt::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_secs(60));
            loop {
                tick.tick().await;
                janitor.ingest.forget_idle_clients();
            }
        });
        start(
            HttpServer::new(move || http::edge::app(front.clone(), edge.clone())),
            &config,
        )
        .await?
    } else {
        // A projector alone answers only liveness, readiness and metrics over HTTP.
        let state = view.as_ref().map(|(_, _, _, s)| s.clone());
        let state = state.ok_or(ServeError::Cluster("cluster.role: nothing to run".into()))?;
        start(
            HttpServer::new(move || http::api::probe_app(state.clone())),
            &config,
        )
        .await?
    };
    let result = match started {
        Some(server) => server.await.map_err(ServeError::Server),
        None => Ok(()),
    };
    if let Some((store, stop, task, _)) = view {
        let _ = stop.send(true);
        let _ = task.await;
        tracing::info!("projector stopped; flushing its view");
        store.shutdown();
    }
    tracing::info!("shut down cleanly");
    result
}

/// The tracker's files, when the config serves them.
fn load_sdk(config: &Config) -> Result<Option<SdkAssets>, ServeError> {
    match &config.sdk_dir {
        Some(dir) => {
            let fp = config.first_party.as_ref();
            let assets = SdkAssets::load(dir, fp).map_err(ServeError::Sdk)?;
            tracing::info!(dir = %dir.display(), build = assets.build(), "serving the tracker under /sdk/v1/");
            if let Some(fp) = fp {
                tracing::info!(loader = %fp.loader_path, batch = %fp.batch_path, "and under the first-party paths");
            }
            Ok(Some(assets))
        }
        // First-party paths serve the tracker's files: without them there is nothing to serve.
        None if config.first_party.is_some() => Err(ServeError::Sdk(
            "[first_party] is set but no sdk_dir: the first-party paths serve the tracker, \
             so give sdk_dir (or --sdk-dir sdk-wasm/pkg) too"
                .into(),
        )),
        None => Ok(None),
    }
}

/// Binds and starts `server` with the config's limits, and announces where it listens once
/// it took over the stop signals; `None` when it was stopped before it started.
async fn start<F, I, S, B>(
    server: HttpServer<F, I, S, B>,
    config: &Config,
) -> Result<Option<actix_web::dev::Server>, ServeError>
where
    F: Fn() -> I + Send + Clone + 'static,
    I: actix_service::IntoServiceFactory<S, actix_http::Request>,
    S: actix_web::dev::ServiceFactory<actix_http::Request, Config = actix_web::dev::AppConfig>
        + 'static,
    S::Error: Into<actix_web::Error> + 'static,
    S::InitError: std::fmt::Debug,
    S::Response: Into<actix_http::Response<B>> + 'static,
    <S::Service as actix_web::dev::Service<actix_http::Request>>::Future: 'static,
    S::Service: 'static,
    B: actix_web::body::MessageBody + 'static,
{
    let sv = config.server;
    let server = server
        .shutdown_timeout(10)
        .max_connections(sv.max_connections)
        .client_request_timeout(Duration::from_secs(u64::from(sv.header_timeout_seconds)))
        .bind(config.listen)
        .map_err(|source| ServeError::Bind {
            addr: config.listen,
            source,
        })?;
    let addrs = server.addrs();
    // Polled once, the server starts its workers and takes over SIGTERM and SIGINT; only then
    // is it announced, so that a stop sent right after the listening line is a graceful one.
    let mut server = server.run();
    let started =
        std::future::poll_fn(|cx| std::task::Poll::Ready(std::pin::Pin::new(&mut server).poll(cx)))
            .await;
    if let std::task::Poll::Ready(r) = started {
        return r.map(|()| None).map_err(ServeError::Server);
    }
    for addr in addrs {
        tracing::info!(%addr, "listening");
        // A machine-readable line on stdout, so scripts and tests started on port 0 learn the
        // port without parsing logs.
        println!("footprint-edge listening on http://{addr}");
    }
    let _ = std::io::stdout().flush();
    Ok(Some(server))
}

/// Every `seconds`, computes a site model with `job` on the blocking pool and stores the
/// commands it returns through `writes`.
fn spawn_model_job<F>(state: web::Data<AppState>, seconds: u32, what: &'static str, job: F)
where
    F: Fn(&Store, i64) -> Result<(usize, Vec<crate::store::Command>), crate::store::StoreError>
        + Send
        + Sync
        + Clone
        + 'static,
{
    let every = Duration::from_secs(u64::from(seconds));
    actix_web::rt::spawn(async move {
        let mut tick = tokio::time::interval(every);
        loop {
            tick.tick().await;
            let store = state.store.clone();
            let now = state.now().as_millis();
            let t = std::time::Instant::now();
            let job = job.clone();
            let (purchasers, commands) = match web::block(move || job(&store, now)).await {
                Ok(Ok(done)) => done,
                Ok(Err(e)) => {
                    tracing::error!(error = %e, what, "model computation failed");
                    continue;
                }
                Err(_) => {
                    tracing::error!(what, "model computation did not finish");
                    continue;
                }
            };
            let mut failed = None;
            for command in commands {
                if let Err(e) = state.writes.command(command).await {
                    failed = Some(e);
                }
            }
            match failed {
                None => tracing::info!(
                    purchasers,
                    ms = t.elapsed().as_secs_f64() * 1e3,
                    what,
                    "site models recomputed"
                ),
                Some(e) => tracing::error!(error = %e, what, "site models not stored"),
            }
        }
    });
}

/// The timers of a process that holds a store: idle clients forgotten, RFM cut points and
/// CLV models recomputed (a command, through `writes`), erased data compacted away.
fn spawn_upkeep(state: web::Data<AppState>, config: &Config) {
    let janitor_state = state.clone();
    actix_web::rt::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(60));
        loop {
            tick.tick().await;
            janitor_state.ingest.forget_idle_clients();
            janitor_state.admins.forget_idle();
        }
    });

    // RFM quintiles and CLV models: once at start, then each on its timer, off the executor.
    // They are commands like any other write, so a cluster's views get the same models.
    let rules = config.contacts.clv_rules();
    spawn_model_job(
        state.clone(),
        config.contacts.rfm_every_seconds,
        "RFM quintiles",
        move |store, now| store.rfm_cuts(now),
    );
    spawn_model_job(
        state.clone(),
        config.contacts.clv_every_seconds,
        "CLV models",
        move |store, now| store.clv_fits(now, rules),
    );

    // Erasures leave the disk at the next compaction: due `compact_after_erase_minutes` after
    // the oldest erasure not yet compacted. Checked every minute. A compaction rewrites this
    // process's own files and changes no record, so in cluster mode each view does its own.
    let compact_state = state;
    let after_ms = i64::from(config.store.compact_after_erase_minutes) * 60_000;
    actix_web::rt::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(60));
        loop {
            tick.tick().await;
            let store = compact_state.store.clone();
            let pending = web::block(move || store.erasure_pending()).await;
            let now = compact_state.now().as_millis();
            match pending {
                Ok(Ok(Some(oldest))) if now.saturating_sub(oldest) >= after_ms => {
                    match compact_state.store.compact() {
                        Ok(rx) => match rx.await {
                            Ok(Ok(_)) => {}
                            Ok(Err(e)) => {
                                tracing::error!(error = %e, "scheduled compaction failed; retrying in a minute")
                            }
                            Err(_) => tracing::error!("scheduled compaction did not answer"),
                        },
                        Err(e) => {
                            tracing::warn!(error = %e, "scheduled compaction not queued; retrying in a minute")
                        }
                    }
                }
                Ok(Err(e)) => tracing::error!(error = %e, "cannot read the pending erasures"),
                _ => {}
            }
        }
    });
}

/// Raises the soft limit on open files to the hard one: each connection is a file, and the
/// usual soft limit of 1,024 would refuse connections (health checks among them) long before
/// `server.max_connections`.
fn raise_open_file_limit() {
    use nix::sys::resource::{getrlimit, setrlimit, Resource};
    match getrlimit(Resource::RLIMIT_NOFILE) {
        Ok((soft, hard)) if soft < hard => match setrlimit(Resource::RLIMIT_NOFILE, hard, hard) {
            Ok(()) => tracing::info!(from = soft, to = hard, "raised the open-file limit"),
            Err(e) => tracing::warn!(error = %e, soft, "cannot raise the open-file limit"),
        },
        Ok(_) => {}
        Err(e) => tracing::warn!(error = %e, "cannot read the open-file limit"),
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error("cannot open the store in {dir}: {source}; check that the directory is writable and no other edge uses it")]
    Store {
        dir: String,
        source: crate::store::StoreError,
    },
    #[error("cannot listen on {addr}: {source}; pick a free address with --listen")]
    Bind {
        addr: std::net::SocketAddr,
        source: std::io::Error,
    },
    #[error("sdk_dir: {0}")]
    Sdk(String),
    #[error("{0}")]
    Cluster(String),
    #[error("server error: {0}")]
    Server(std::io::Error),
}
