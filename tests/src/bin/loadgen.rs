//! Load generator for `cargo xtask bench ingest`: N connections post batches of realistic events
//! with unique message ids for a fixed time, then report throughput and latency percentiles.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use clap::Parser;
use footprint_e2e::workload::FastShopper;
use hdrhistogram::Histogram;
use rand::SeedableRng;

#[derive(Parser)]
struct Args {
    /// The edge's base URL.
    #[arg(long)]
    url: String,
    #[arg(long, default_value = "bench-shop")]
    site_key: String,
    #[arg(long, default_value_t = 64)]
    connections: usize,
    #[arg(long, default_value_t = 20)]
    batch: usize,
    #[arg(long, default_value_t = 30)]
    seconds: u64,
    /// The load generator's own runtime threads.
    #[arg(long, default_value_t = 2)]
    threads: usize,
    /// Shoppers (trackers) each connection rotates through.
    #[arg(long, default_value_t = 50)]
    shoppers: u64,
    /// Post delivery events about contacts, addressed by email and phone, to
    /// `/v1/server/batch` with this server key, as a shop's servers do.
    #[arg(long)]
    server_key: Option<String>,
}

fn main() {
    let args = Args::parse();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build();
    let rt = match rt {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start a runtime: {e}");
            std::process::exit(1);
        }
    };
    rt.block_on(run(args));
}

async fn run(args: Args) {
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(args.connections)
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap_or_default();
    let path = match args.server_key {
        Some(_) => "/v1/server/batch",
        None => "/v1/batch",
    };
    let url = format!("{}{path}", args.url.trim_end_matches('/'));
    let authorization = args.server_key.as_ref().map(|k| format!("Bearer {k}"));
    let stop = Arc::new(AtomicBool::new(false));
    let accepted = Arc::new(AtomicU64::new(0));
    let errors = Arc::new(AtomicU64::new(0));
    let hist = Arc::new(Mutex::new(
        Histogram::<u64>::new_with_bounds(1, 60_000_000, 3).expect("valid bounds"),
    ));
    // Every body template is rendered before the clock starts, and off the runtime's threads:
    // CPU work inside the runtime would stall other connections' responses and show up as
    // latency that the edge did not cause.
    let pools: Vec<Vec<FastShopper>> = (0..args.connections)
        .map(|c| {
            let mut rng = rand::rngs::StdRng::seed_from_u64(c as u64);
            (0..args.shoppers)
                .map(|i| {
                    let n = c as u64 * 1_000_000 + i;
                    match args.server_key {
                        Some(_) => FastShopper::server(&mut rng, n),
                        None => FastShopper::new(&mut rng, n),
                    }
                })
                .collect()
        })
        .collect();
    let start = Instant::now();
    let mut tasks = Vec::new();
    for (c, mut pool) in pools.into_iter().enumerate() {
        let (client, url, stop) = (client.clone(), url.clone(), stop.clone());
        let authorization = authorization.clone();
        let (accepted, errors, hist) = (accepted.clone(), errors.clone(), hist.clone());
        let (site, batch) = (args.site_key.clone(), args.batch);
        tasks.push(tokio::spawn(async move {
            let mut local =
                Histogram::<u64>::new_with_bounds(1, 60_000_000, 3).expect("valid bounds");
            let mut i = c;
            while !stop.load(Ordering::Relaxed) {
                let now = now_rfc3339();
                let n = pool.len();
                let body = pool[i % n].batch(&site, batch, &now);
                i += 1;
                let t = Instant::now();
                let mut req = client
                    .post(&url)
                    .header("content-type", "application/json")
                    .body(body);
                if let Some(a) = &authorization {
                    req = req.header("authorization", a);
                }
                let res = req.send().await;
                let ok = match res {
                    Ok(r) if r.status().is_success() => {
                        let v: footprint_protocol::BatchResponse =
                            r.json().await.unwrap_or_default();
                        accepted.fetch_add(u64::from(v.accepted), Ordering::Relaxed);
                        true
                    }
                    _ => false,
                };
                let us = t.elapsed().as_micros().min(60_000_000) as u64;
                if ok {
                    let _ = local.record(us.max(1));
                } else {
                    errors.fetch_add(1, Ordering::Relaxed);
                }
            }
            if let Ok(mut h) = hist.lock() {
                let _ = h.add(&local);
            }
        }));
    }
    tokio::time::sleep(Duration::from_secs(args.seconds)).await;
    stop.store(true, Ordering::Relaxed);
    for t in tasks {
        let _ = t.await;
    }
    let elapsed = start.elapsed().as_secs_f64();
    let h = hist
        .lock()
        .map(|h| h.clone())
        .unwrap_or_else(|_| Histogram::new(3).expect("valid"));
    let ms = |q: f64| h.value_at_quantile(q) as f64 / 1000.0;
    println!(
        "events_per_s={:.0} requests={} errors={} p50_ms={:.2} p99_ms={:.2} p999_ms={:.2} seconds={:.1}",
        accepted.load(Ordering::Relaxed) as f64 / elapsed,
        h.len(),
        errors.load(Ordering::Relaxed),
        ms(0.5),
        ms(0.99),
        ms(0.999),
        elapsed
    );
}

fn now_rfc3339() -> String {
    let ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0);
    footprint_protocol::Timestamp::from_millis(ms)
        .map(|t| t.to_string())
        .unwrap_or_default()
}
