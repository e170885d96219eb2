//! The hostile-contact benchmark behind `cargo xtask bench hostile`.
//!
//! One shopper grows one contact to every cap a contact has (100 custom fields of 64-byte
//! names and 1 KiB values, 20 push subscriptions, 100 products of interest, 50 categories,
//! 500 devices), then floods it. It measures:
//! - the writer's cost per event on that contact, against a fresh contact's: sequential
//!   one-event batches (each its own group commit, so each reads, rewrites and flushes the
//!   whole contact: the worst case), and sequential 500-event batches (one read and one
//!   write of the contact per group);
//! - another site's batch latency (p50, p99, max; 20 events, one batch at a time) before and
//!   during a flood of the hostile contact from two connections.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::Parser;
use footprint_e2e::workload::{iso, now_ms, post_batch};
use hdrhistogram::Histogram;
use serde_json::{json, Value};

#[derive(Parser)]
struct Args {
    #[arg(long)]
    url: String,
    #[arg(long, default_value = "bench-shop")]
    site_key: String,
    #[arg(long, default_value = "other-shop")]
    other_site: String,
    /// Seconds of flood while the other site's latency is measured.
    #[arg(long, default_value_t = 20)]
    seconds: u64,
}

struct Poster {
    client: reqwest::blocking::Client,
    url: String,
}

impl Poster {
    fn new(url: &str) -> Poster {
        Poster {
            client: reqwest::blocking::Client::builder()
                .timeout(Duration::from_secs(60))
                .build()
                .unwrap_or_else(|_| reqwest::blocking::Client::new()),
            url: format!("{url}/v1/batch"),
        }
    }

    fn post(&self, site: &str, events: Vec<Value>) -> Result<Value, String> {
        post_batch(&self.client, &self.url, site, events)
    }
}

fn event(id: &str, tracker: &str, ty: &str, props: Value) -> Value {
    json!({"message_id": id, "tracker_id": tracker, "type": ty,
           "timestamp": iso(now_ms()), "properties": props,
           "context": {"user_agent": "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0 Safari/537.36"}})
}

/// Grows the contact of `tracker` (as `email`) to every cap.
fn grow(p: &Poster, site: &str, tracker: &str, email: &str) -> Result<(), String> {
    let mut n = 0u64;
    let mut id = || {
        n += 1;
        format!("{tracker}-grow-{n}")
    };
    for part in 0..5 {
        let custom: serde_json::Map<String, Value> = (0..20)
            .map(|k| {
                (
                    format!("{:0>60}{part:02}{k:02}", "k"),
                    json!("v".repeat(1000)),
                )
            })
            .collect();
        p.post(
            site,
            vec![event(
                &id(),
                tracker,
                "identify",
                json!({"email": email, "first_name": "Hostile", "custom": custom}),
            )],
        )?;
    }
    let mut events = Vec::new();
    for e in 0..20 {
        events.push(event(&id(), tracker, "push_subscribe",
            json!({"endpoint": format!("https://push.example/{tracker}/{e}"), "keys": {"p256dh": "k", "auth": "a"}})));
    }
    for i in 0..100 {
        events.push(event(&id(), tracker, "product_view",
            json!({"product_id": format!("product-{i:03}"), "name": format!("Product number {i}"),
                   "price": 19.99, "currency": "EUR", "category": format!("category-{:02}", i % 50)})));
    }
    p.post(site, events)?;
    // 50 devices that log in as the same shopper: 50 spans.
    for d in 0..50 {
        let t = format!("{tracker}-device-{d}");
        p.post(
            site,
            vec![
                event(
                    &format!("{t}-p"),
                    &t,
                    "page_view",
                    json!({"url": "https://shop.test/", "path": "/"}),
                ),
                event(&format!("{t}-i"), &t, "identify", json!({"email": email})),
            ],
        )?;
    }
    Ok(())
}

/// Time per event of `batches` sequential batches of `size` events on `tracker`: product views
/// of a product it already has, so the contact keeps its size.
fn cost_per_event(
    p: &Poster,
    site: &str,
    tracker: &str,
    batches: u64,
    size: u64,
) -> Result<f64, String> {
    let start = Instant::now();
    for b in 0..batches {
        let events = (0..size)
            .map(|i| {
                event(&format!("{tracker}-cost-{size}-{b}-{i}"), tracker, "product_view",
                    json!({"product_id": "product-001", "name": "Product number 1", "price": 19.99, "currency": "EUR"}))
            })
            .collect();
        p.post(site, events)?;
    }
    Ok(start.elapsed().as_secs_f64() * 1e6 / (batches * size) as f64)
}

/// Latency of the other site's batches, one at a time, for `dur`.
fn other_site_latency(
    p: &Poster,
    site: &str,
    tag: &str,
    dur: Duration,
) -> Result<Histogram<u64>, String> {
    let mut h = Histogram::<u64>::new(3).map_err(|e| e.to_string())?;
    let end = Instant::now() + dur;
    let mut b = 0u64;
    while Instant::now() < end {
        let events = (0..20)
            .map(|i| {
                event(
                    &format!("{tag}-{b}-{i}"),
                    &format!("{tag}-t{}", b % 100),
                    "page_view",
                    json!({"url": "https://other.test/", "path": "/"}),
                )
            })
            .collect();
        let t = Instant::now();
        p.post(site, events)?;
        h.record(u64::try_from(t.elapsed().as_micros()).unwrap_or(u64::MAX))
            .map_err(|e| e.to_string())?;
        b += 1;
    }
    Ok(h)
}

fn ms(us: u64) -> f64 {
    us as f64 / 1000.0
}

fn run(a: &Args) -> Result<(), String> {
    let p = Poster::new(&a.url);
    grow(&p, &a.site_key, "hostile", "hostile@example.com")?;
    p.post(&a.site_key, vec![event("fresh-1", "fresh", "product_view",
        json!({"product_id": "product-001", "name": "Product number 1", "price": 19.99, "currency": "EUR"}))])?;
    let hostile_one = cost_per_event(&p, &a.site_key, "hostile", 300, 1)?;
    let fresh_one = cost_per_event(&p, &a.site_key, "fresh", 300, 1)?;
    let hostile = cost_per_event(&p, &a.site_key, "hostile", 40, 500)?;
    let fresh = cost_per_event(&p, &a.site_key, "fresh", 40, 500)?;
    println!("writer cost per event, one-event batches (a group commit and a flush each): {hostile_one:.0} µs on a contact at every cap, {fresh_one:.0} µs on a fresh contact");
    println!("writer cost per event, 500-event batches: {hostile:.1} µs on a contact at every cap, {fresh:.1} µs on a fresh contact");

    let quiet = other_site_latency(
        &p,
        &a.other_site,
        "quiet",
        Duration::from_secs(a.seconds / 2 + 1),
    )?;
    let stop = Arc::new(AtomicBool::new(false));
    let flooders: Vec<_> = (0..2)
        .map(|f| {
            let (url, site, stop) = (a.url.clone(), a.site_key.clone(), stop.clone());
            std::thread::spawn(move || -> Result<u64, String> {
                let p = Poster::new(&url);
                let mut b = 0u64;
                while !stop.load(Ordering::Relaxed) {
                    // Every kind of growth the caps refuse, 500 events a batch.
                    let events = (0..500)
                        .map(|i| match i % 3 {
                            0 => event(&format!("flood-{f}-{b}-{i}"), "hostile", "identify",
                                json!({"email": "hostile@example.com", "custom": {format!("new-{b}-{i}"): "x"}})),
                            1 => event(&format!("flood-{f}-{b}-{i}"), "hostile", "push_subscribe",
                                json!({"endpoint": format!("https://push.example/new/{f}/{b}/{i}"), "keys": {"p256dh": "k", "auth": "a"}})),
                            _ => event(&format!("flood-{f}-{b}-{i}"), "hostile", "product_view",
                                json!({"product_id": format!("new-{b}-{i}"), "name": "New", "price": 1, "currency": "EUR", "category": format!("c-{i}")})),
                        })
                        .collect();
                    p.post(&site, events)?;
                    b += 1;
                }
                Ok(b * 500)
            })
        })
        .collect();
    let loud = other_site_latency(&p, &a.other_site, "loud", Duration::from_secs(a.seconds));
    stop.store(true, Ordering::Relaxed);
    let mut flooded = 0;
    for f in flooders {
        flooded += f
            .join()
            .map_err(|_| "a flood thread panicked".to_owned())??;
    }
    let loud = loud?;
    let line = |name: &str, h: &Histogram<u64>| {
        println!(
            "other site's 20-event batch {name}: p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms ({} batches)",
            ms(h.value_at_quantile(0.5)),
            ms(h.value_at_quantile(0.99)),
            ms(h.max()),
            h.len()
        );
    };
    line("alone", &quiet);
    line(
        &format!(
            "during the flood ({flooded} hostile events in {} s)",
            a.seconds
        ),
        &loud,
    );
    Ok(())
}

fn main() -> std::process::ExitCode {
    let a = Args::parse();
    match run(&a) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("hostile bench: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}
