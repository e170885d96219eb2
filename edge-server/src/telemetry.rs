//! Metrics for Prometheus at `GET /metrics` (any admin token): what an operator watches.
//!
//! | metric | kind | labels |
//! |---|---|---|
//! | `footprint_http_requests_total` | counter | `route` (the matched pattern, so ids never make new series), `method`, `status` |
//! | `footprint_http_request_duration_seconds` | histogram | `route`, `method` |
//! | `footprint_events_total` | counter | `outcome`: `accepted`, `duplicate`, `rejected` |
//! | `footprint_writer_queue_depth` | gauge | requests waiting for the writer thread |
//! | `footprint_group_commit_events` | histogram | events per group commit |
//! | `footprint_group_apply_seconds`, `footprint_flush_seconds` | histogram | a group's `apply_batch`; one flush |
//! | `footprint_store_bytes` | gauge | the data directory's size, read at each scrape |
//! | `process_resident_memory_bytes` | gauge | RSS, read at each scrape |
//!
//! The `metrics` facade's recorder is process-wide: it is installed once, by the first
//! [`handle`] call, and every edge in the process (tests build several) shares it.

use std::sync::OnceLock;

use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

/// Latency buckets, in seconds: a sub-millisecond read up to a slow compaction-era flush.
const SECONDS: [f64; 14] = [
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];
const GROUP_EVENTS: [f64; 8] = [1.0, 10.0, 50.0, 100.0, 500.0, 1000.0, 5000.0, 20000.0];

static HANDLE: OnceLock<Option<PrometheusHandle>> = OnceLock::new();

/// The process's recorder, installed on first use. `None` only if another recorder was
/// installed first (then `/metrics` says so).
pub fn handle() -> Option<&'static PrometheusHandle> {
    HANDLE
        .get_or_init(|| {
            let recorder = PrometheusBuilder::new()
                .set_buckets_for_metric(Matcher::Suffix("_seconds".into()), &SECONDS)
                .ok()?
                .set_buckets_for_metric(
                    Matcher::Full("footprint_group_commit_events".into()),
                    &GROUP_EVENTS,
                )
                .ok()?
                .build_recorder();
            let handle = recorder.handle();
            metrics::set_global_recorder(recorder).ok()?;
            Some(handle)
        })
        .as_ref()
}

/// The scrape: gauges read now, then everything in Prometheus's text format.
pub fn render(store_bytes: Option<u64>) -> Option<String> {
    let handle = handle()?;
    if let Some(bytes) = store_bytes {
        metrics::gauge!("footprint_store_bytes").set(bytes as f64);
    }
    if let Some(rss) = resident_bytes() {
        metrics::gauge!("process_resident_memory_bytes").set(rss as f64);
    }
    Some(handle.render())
}

/// This process's resident memory, from `/proc/self/status` (Linux).
fn resident_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let kib: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))?
        .split_whitespace()
        .next()?
        .parse()
        .ok()?;
    Some(kib * 1024)
}
