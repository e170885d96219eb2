//! The personal-data extract benchmark behind `cargo xtask bench extract`.
//!
//! Loads one contact with `--events` events over four devices (trackers that log in as the
//! same shopper) and a small contact with 10,000, through `POST /v1/batch`. Then downloads
//! each contact's extract while sampling the edge's resident memory, and checks that the zip
//! holds every event. The claim it tests: memory during an extract does not grow with the
//! contact's history.

use std::io::Read;
use std::time::{Duration, Instant};

use clap::Parser;
use footprint_e2e::workload::{iso, now_ms, post_batch};
use serde_json::{json, Value};

#[derive(Parser)]
struct Args {
    #[arg(long)]
    url: String,
    /// An admin token.
    #[arg(long)]
    token: String,
    /// The edge's process id, to sample its memory.
    #[arg(long)]
    pid: u32,
    #[arg(long, default_value = "bench-shop")]
    site_key: String,
    #[arg(long, default_value_t = 1_000_000)]
    events: u64,
}

const DEVICES: u64 = 4;
const BATCH: u64 = 500;

fn rss_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse().ok())
        })
        .unwrap_or(0)
}

struct Loader {
    client: reqwest::blocking::Client,
    url: String,
    site: String,
}

impl Loader {
    fn post(&self, events: Vec<Value>) -> Result<(), String> {
        post_batch(&self.client, &self.url, &self.site, events).map(|_| ())
    }

    /// `n` product views of `tracker`, after an identify as `email`.
    fn shopper(&self, tracker: &str, email: &str, n: u64) -> Result<(), String> {
        let start = now_ms() - 30 * 86_400_000;
        let mut id = 0u64;
        let mut msg = || {
            id += 1;
            format!("{tracker}-{id}")
        };
        self.post(vec![json!({
            "message_id": msg(), "tracker_id": tracker, "type": "identify",
            "timestamp": iso(start), "properties": {"email": email}
        })])?;
        let mut sent = 0;
        while sent < n {
            let events = (sent..(sent + BATCH).min(n))
                .map(|i| {
                    json!({
                        "message_id": msg(), "tracker_id": tracker, "type": "product_view",
                        "timestamp": iso(start + i as i64 * 1000),
                        "context": {"url": format!("https://shop.example/p/{}", i % 500),
                                    "user_agent": "Mozilla/5.0 (X11; Linux x86_64) Chrome/131.0"},
                        "properties": {"product_id": format!("sku-{}", i % 500),
                                       "name": format!("Product {}", i % 500),
                                       "price": 19.99, "currency": "EUR", "category": "shoes"}
                    })
                })
                .collect();
            self.post(events)?;
            sent = (sent + BATCH).min(n);
        }
        Ok(())
    }
}

/// Downloads a contact's extract while sampling the edge's memory; returns (zip bytes,
/// seconds, peak RSS in KiB, events in activity.ndjson).
fn extract(
    a: &Args,
    client: &reqwest::blocking::Client,
    email: &str,
) -> Result<(u64, f64, u64, u64), String> {
    let base = a.url.trim_end_matches('/');
    let list: Value = client
        .get(format!("{base}/v1/contacts?email={email}"))
        .bearer_auth(&a.token)
        .send()
        .and_then(|r| r.json())
        .map_err(|e| e.to_string())?;
    let id = list["contacts"][0]["id"]
        .as_str()
        .ok_or_else(|| format!("no contact for {email}: {list}"))?
        .to_owned();
    let done = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let sampler = {
        let (done, pid) = (done.clone(), a.pid);
        std::thread::spawn(move || {
            let mut peak = 0;
            while !done.load(std::sync::atomic::Ordering::Relaxed) {
                peak = peak.max(rss_kib(pid));
                std::thread::sleep(Duration::from_millis(10));
            }
            peak
        })
    };
    let t = Instant::now();
    let mut resp = client
        .get(format!("{base}/v1/contacts/{id}/extract"))
        .bearer_auth(&a.token)
        .send()
        .map_err(|e| e.to_string())?;
    if !resp.status().is_success() {
        return Err(format!("extract: {}", resp.status()));
    }
    let mut file = tempfile::tempfile().map_err(|e| e.to_string())?;
    let bytes = std::io::copy(&mut resp, &mut file).map_err(|e| e.to_string())?;
    let secs = t.elapsed().as_secs_f64();
    done.store(true, std::sync::atomic::Ordering::Relaxed);
    let peak = sampler.join().unwrap_or(0);
    let mut zip = zip::ZipArchive::new(file).map_err(|e| e.to_string())?;
    let mut activity = zip.by_name("activity.ndjson").map_err(|e| e.to_string())?;
    let mut lines = 0u64;
    let mut buf = vec![0u8; 1 << 16];
    loop {
        let n = activity.read(&mut buf).map_err(|e| e.to_string())?;
        if n == 0 {
            break;
        }
        lines += buf[..n].iter().filter(|b| **b == b'\n').count() as u64;
    }
    Ok((bytes, secs, peak, lines))
}

fn main() {
    let a = Args::parse();
    if let Err(e) = run(&a) {
        eprintln!("error: {e}");
        std::process::exit(1);
    }
}

fn run(a: &Args) -> Result<(), String> {
    let client = reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(3600))
        .build()
        .map_err(|e| e.to_string())?;
    let loader = Loader {
        client: client.clone(),
        url: format!("{}/v1/batch", a.url.trim_end_matches('/')),
        site: a.site_key.clone(),
    };
    let t = Instant::now();
    loader.shopper("small-0", "small@example.com", 10_000)?;
    std::thread::scope(|s| -> Result<(), String> {
        let per = a.events / DEVICES;
        let handles: Vec<_> = (0..DEVICES)
            .map(|d| {
                let loader = &loader;
                s.spawn(move || loader.shopper(&format!("big-{d}"), "big@example.com", per))
            })
            .collect();
        for h in handles {
            h.join()
                .map_err(|_| "a loader thread panicked".to_string())??;
        }
        Ok(())
    })?;
    eprintln!("loaded in {:.1} s", t.elapsed().as_secs_f64());
    let before = rss_kib(a.pid);
    let small = extract(a, &client, "small@example.com")?;
    let big = extract(a, &client, "big@example.com")?;
    let expected_big = a.events / DEVICES * DEVICES + DEVICES;
    if small.3 != 10_001 || big.3 != expected_big {
        return Err(format!(
            "the extracts hold {} and {} events, not 10001 and {expected_big}",
            small.3, big.3
        ));
    }
    println!(
        "edge RSS before the extracts: {:.1} MiB",
        before as f64 / 1024.0
    );
    for (name, (bytes, secs, peak, lines)) in [("small", small), ("big", big)] {
        println!(
            "extract {name}: events={lines} zip_mib={:.1} seconds={:.2} events_per_s={:.0} peak_rss_mib={:.1}",
            bytes as f64 / 1048576.0,
            secs,
            lines as f64 / secs,
            peak as f64 / 1024.0
        );
    }

    // Then the big contact is erased, and the store compacted so that it leaves the disk.
    let base = a.url.trim_end_matches('/');
    let list: Value = client
        .get(format!("{base}/v1/contacts?email=big@example.com"))
        .bearer_auth(&a.token)
        .send()
        .and_then(|r| r.json())
        .map_err(|e| e.to_string())?;
    let id = list["contacts"][0]["id"].as_str().unwrap_or("0").to_owned();
    let t = Instant::now();
    let erased: Value = client
        .delete(format!("{base}/v1/contacts/{id}"))
        .bearer_auth(&a.token)
        .send()
        .and_then(|r| r.json())
        .map_err(|e| e.to_string())?;
    let erase_s = t.elapsed().as_secs_f64();
    if erased["removed"]["events"].as_u64() != Some(expected_big) {
        return Err(format!("the erasure removed {}", erased["removed"]));
    }
    println!(
        "erase big: events={} chunks={} seconds={erase_s:.2}",
        erased["removed"]["events"], erased["removed"]["chunks_deleted"]
    );
    let t = Instant::now();
    let compacted: Value = client
        .post(format!("{base}/v1/admin/compact"))
        .bearer_auth(&a.token)
        .send()
        .and_then(|r| r.json())
        .map_err(|e| e.to_string())?;
    let records = compacted["records"].as_u64().unwrap_or(0);
    let secs = t.elapsed().as_secs_f64();
    println!(
        "compact: records={records} seconds={secs:.2} records_per_s={:.0} disk_mib_before={:.1} after={:.1}",
        records as f64 / secs,
        compacted["bytes_before"].as_u64().unwrap_or(0) as f64 / 1048576.0,
        compacted["bytes_after"].as_u64().unwrap_or(0) as f64 / 1048576.0
    );
    Ok(())
}
