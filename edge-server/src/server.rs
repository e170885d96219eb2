//! Starting and stopping the edge: wires config, store, domain and routes together.

use std::future::Future;
use std::io::Write;
use std::sync::Arc;
use std::time::Duration;

use actix_web::{web, HttpServer};

use crate::config::Config;
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
    let sdk = match &config.sdk_dir {
        Some(dir) => {
            let fp = config.first_party.as_ref();
            let assets = SdkAssets::load(dir, fp).map_err(ServeError::Sdk)?;
            tracing::info!(dir = %dir.display(), build = assets.build(), "serving the tracker under /sdk/v1/");
            if let Some(fp) = fp {
                tracing::info!(loader = %fp.loader_path, batch = %fp.batch_path, "and under the first-party paths");
            }
            Some(assets)
        }
        // First-party paths serve the tracker's files: without them there is nothing to serve.
        None if config.first_party.is_some() => {
            return Err(ServeError::Sdk(
                "[first_party] is set but no sdk_dir: the first-party paths serve the tracker, \
                 so give sdk_dir (or --sdk-dir sdk-wasm/pkg) too"
                    .into(),
            ))
        }
        None => None,
    };
    let state = http::state(AppState {
        sdk,
        ..AppState::new(&config, store.clone(), sink_impl, Arc::new(SystemClock))
    });
    raise_open_file_limit();

    let app_state = state.clone();
    let sv = config.server;
    let server = HttpServer::new(move || http::app(app_state.clone()))
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
        // Stopped before it started: nothing was accepted, so nothing waits to be flushed.
        store.shutdown();
        return r.map_err(ServeError::Server);
    }
    for addr in addrs {
        tracing::info!(%addr, "listening");
        // A machine-readable line on stdout, so scripts and tests started on port 0 learn the
        // port without parsing logs.
        println!("footprint-edge listening on http://{addr}");
    }
    let _ = std::io::stdout().flush();

    let janitor_state = state.clone();
    actix_web::rt::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(60));
        loop {
            tick.tick().await;
            janitor_state.ingest.forget_idle_clients();
            janitor_state.admins.forget_idle();
        }
    });

    // RFM quintiles: once at start, then on a timer, off the executor.
    let rfm_store = store.clone();
    let rfm_state = state.clone();
    let every = Duration::from_secs(u64::from(config.contacts.rfm_every_seconds));
    actix_web::rt::spawn(async move {
        let mut tick = tokio::time::interval(every);
        loop {
            tick.tick().await;
            let store = rfm_store.clone();
            let now = rfm_state.now().as_millis();
            let t = std::time::Instant::now();
            match web::block(move || store.recompute_rfm(now)).await {
                Ok(Ok(n)) => tracing::info!(
                    purchasers = n,
                    ms = t.elapsed().as_secs_f64() * 1e3,
                    "RFM quintiles recomputed"
                ),
                Ok(Err(e)) => tracing::error!(error = %e, "RFM recomputation failed"),
                Err(_) => tracing::error!("RFM recomputation did not finish"),
            }
        }
    });

    // Erasures leave the disk at the next compaction: due `compact_after_erase_minutes` after
    // the oldest erasure not yet compacted. Checked every minute.
    let compact_store = store.clone();
    let compact_state = state.clone();
    let after_ms = i64::from(config.store.compact_after_erase_minutes) * 60_000;
    actix_web::rt::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(60));
        loop {
            tick.tick().await;
            let store = compact_store.clone();
            let pending = web::block(move || store.erasure_pending()).await;
            let now = compact_state.now().as_millis();
            match pending {
                Ok(Ok(Some(oldest))) if now.saturating_sub(oldest) >= after_ms => {
                    match compact_store.compact() {
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

    // actix handles SIGINT and SIGTERM: it stops accepting and lets in-flight requests finish.
    server.await.map_err(ServeError::Server)?;
    tracing::info!("HTTP server stopped; flushing the store");
    store.shutdown();
    tracing::info!("shut down cleanly");
    Ok(())
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
    #[error("server error: {0}")]
    Server(std::io::Error),
}
