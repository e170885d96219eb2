//! The contact-sheet benchmark behind `cargo xtask bench sheets`.
//!
//! 1. Loads a shop through the real ingest path (`POST /v1/batch`): regular shoppers with a
//!    few dozen events each, 30 % of them identified, some logging in on a second device (a
//!    merge), and a few heavy contacts with 100,000 events each.
//! 2. Measures, one request at a time over a kept-alive connection: the sheet, the first
//!    activity page, a filtered activity page, an email lookup, a search by the start of an
//!    email, a 50-row list page, and an
//!    identify that merges a contact of 10 events and of 100,000 events.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::Parser;
use footprint_e2e::workload::{iso, now_ms};
use hdrhistogram::Histogram;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::{json, Value};

#[derive(Parser)]
struct Args {
    #[arg(long)]
    url: String,
    #[arg(long)]
    token: String,
    #[arg(long, default_value = "bench-shop")]
    site_key: String,
    /// Contacts to end up with.
    #[arg(long, default_value_t = 100_000)]
    contacts: u64,
    /// Events to load in all.
    #[arg(long, default_value_t = 2_000_000)]
    events: u64,
    /// Events of each heavy contact.
    #[arg(long, default_value_t = 100_000)]
    heavy_events: u64,
    #[arg(long, default_value_t = 16)]
    connections: usize,
    /// Samples per measured request kind.
    #[arg(long, default_value_t = 2_000)]
    samples: usize,
}

const DAY: i64 = 86_400_000;
const BATCH: usize = 50;
/// Heavy contacts that stay identified, and heavy anonymous ones merged at the end.
const HEAVY_KNOWN: u64 = 2;
const HEAVY_MERGED: u64 = 2;
const SMALL_MERGES: u64 = 20;

/// One shopper's script: its tracker, events and optional login.
struct Shopper {
    tracker: String,
    events: u64,
    email: Option<String>,
    /// When its activity ends, ms since the epoch.
    last_at: i64,
    /// A second device logging in as an earlier shopper: sent after everyone else.
    second: bool,
}

struct Gen {
    counter: u64,
    orders: u64,
}

impl Gen {
    fn event(&mut self, rng: &mut StdRng, tracker: &str, at: i64) -> Value {
        self.counter += 1;
        let id = format!("bench-{:012}", self.counter);
        let p = rng.random_range(0..40);
        let (product, name) = (format!("sku-{p}"), format!("Product {p}"));
        let (ty, props) = match rng.random_range(0..100) {
            0..=44 => (
                "page_view",
                json!({"url": format!("https://shop.example/p/{product}"), "path": format!("/p/{product}")}),
            ),
            45..=84 => (
                "product_view",
                json!({"product_id": product, "name": name, "price": 19.99, "currency": "EUR"}),
            ),
            85..=91 => (
                "cart_add",
                json!({"product_id": product, "name": name, "price": 19.99, "currency": "EUR", "quantity": 1}),
            ),
            92..=96 => (
                "cart_update",
                json!({"cart": {"items": [{"product_id": product, "name": name, "price": 19.99, "quantity": 2}],
                                "total": 39.98, "currency": "EUR"}}),
            ),
            _ => {
                self.orders += 1;
                (
                    "purchase",
                    json!({"order_id": format!("order-{}", self.orders),
                           "items": [{"product_id": product, "name": name, "price": 19.99, "quantity": 1}],
                           "total": 19.99, "currency": "EUR"}),
                )
            }
        };
        json!({"message_id": id, "tracker_id": tracker, "type": ty, "timestamp": iso(at),
               "context": {"user_agent": "Mozilla/5.0 (bench)", "page_url": "https://shop.example/"},
               "properties": props})
    }

    fn identify(&mut self, tracker: &str, email: &str, at: i64) -> Value {
        self.counter += 1;
        json!({"message_id": format!("bench-{:012}", self.counter), "tracker_id": tracker,
               "type": "identify", "timestamp": iso(at),
               "properties": {"email": email, "first_name": "Bench", "last_name": format!("Shopper {email}")}})
    }

    /// A shopper's batches, in order: its events spread over the days before `last_at`, with
    /// the login in the middle.
    fn batches(&mut self, rng: &mut StdRng, s: &Shopper, site: &str, sent_at: &str) -> Vec<String> {
        let span = (s.events as i64).max(1) * 60_000;
        let start = s.last_at - span;
        let login_at = s.events / 2;
        let mut events = Vec::with_capacity(s.events as usize + 1);
        for i in 0..s.events {
            let at = start + i as i64 * 60_000;
            if let (Some(e), true) = (&s.email, i == login_at) {
                events.push(self.identify(&s.tracker, e, at));
            }
            events.push(self.event(rng, &s.tracker, at));
        }
        events
            .chunks(BATCH)
            .map(|c| json!({"site_key": site, "sent_at": sent_at, "events": c}).to_string())
            .collect()
    }
}

fn tracker(n: u64) -> String {
    format!("0193a1b2-0000-7000-8000-{n:012x}")
}

fn main() {
    let args = Args::parse();
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start a runtime: {e}");
            std::process::exit(1);
        }
    };
    if let Err(e) = rt.block_on(run(args)) {
        eprintln!("error: {e}");
        std::process::exit(1);
    }
}

async fn post_all(
    client: &reqwest::Client,
    url: &str,
    queues: Vec<Vec<String>>,
    connections: usize,
) -> Result<u64, String> {
    // Each queue is one shopper's batches, which must arrive in order; connections take whole
    // queues.
    let queues = Arc::new(std::sync::Mutex::new(queues));
    let accepted = Arc::new(AtomicU64::new(0));
    let mut tasks = Vec::new();
    for _ in 0..connections {
        let (queues, accepted, client, url) = (
            queues.clone(),
            accepted.clone(),
            client.clone(),
            url.to_owned(),
        );
        tasks.push(tokio::spawn(async move {
            loop {
                let next = queues.lock().ok().and_then(|mut q| q.pop());
                let Some(batches) = next else { return Ok(()) };
                for body in batches {
                    let r = client
                        .post(&url)
                        .header("content-type", "application/json")
                        .body(body)
                        .send()
                        .await
                        .map_err(|e| e.to_string())?;
                    if !r.status().is_success() {
                        return Err(format!("batch refused: {}", r.status()));
                    }
                    let v: footprint_protocol::BatchResponse =
                        r.json().await.map_err(|e| e.to_string())?;
                    accepted.fetch_add(u64::from(v.accepted), Ordering::Relaxed);
                }
            }
        }));
    }
    for t in tasks {
        t.await.map_err(|e| e.to_string())??;
    }
    Ok(accepted.load(Ordering::Relaxed))
}

struct Timer {
    hist: Histogram<u64>,
}

impl Timer {
    fn new() -> Timer {
        Timer {
            hist: Histogram::new_with_bounds(1, 60_000_000, 3).expect("valid bounds"),
        }
    }

    fn record(&mut self, t: Instant) {
        let _ = self
            .hist
            .record((t.elapsed().as_micros() as u64).clamp(1, 60_000_000));
    }

    fn line(&self, name: &str) -> String {
        let ms = |q: f64| self.hist.value_at_quantile(q) as f64 / 1000.0;
        format!(
            "{name}: n={} p50_ms={:.3} p99_ms={:.3} max_ms={:.3}",
            self.hist.len(),
            ms(0.5),
            ms(0.99),
            self.hist.max() as f64 / 1000.0
        )
    }
}

async fn get(client: &reqwest::Client, url: &str, token: &str) -> Result<Value, String> {
    let r = client
        .get(url)
        .bearer_auth(token)
        .send()
        .await
        .map_err(|e| e.to_string())?;
    let status = r.status();
    let v: Value = r.json().await.map_err(|e| e.to_string())?;
    if !status.is_success() {
        return Err(format!("GET {url}: {status} {v}"));
    }
    Ok(v)
}

/// GETs `url` until it answers, for up to two minutes: in cluster mode an acknowledged event
/// reaches the views a moment later.
async fn get_settled(client: &reqwest::Client, url: &str, token: &str) -> Result<Value, String> {
    let deadline = Instant::now() + std::time::Duration::from_secs(120);
    loop {
        match get(client, url, token).await {
            Ok(v) => return Ok(v),
            Err(e) if Instant::now() >= deadline => return Err(e),
            Err(_) => tokio::time::sleep(std::time::Duration::from_millis(200)).await,
        }
    }
}

/// GETs `path(id)` for each target in turn; returns the timings of regular and of heavy
/// contacts.
async fn time_split(
    client: &reqwest::Client,
    base: &str,
    token: &str,
    targets: &[(bool, String)],
    path: fn(&str) -> String,
) -> Result<(Timer, Timer), String> {
    let (mut regular, mut heavy) = (Timer::new(), Timer::new());
    for (is_heavy, id) in targets {
        let t = Instant::now();
        get(client, &format!("{base}{}", path(id)), token).await?;
        if *is_heavy {
            heavy.record(t);
        } else {
            regular.record(t);
        }
    }
    Ok((regular, heavy))
}

async fn run(a: Args) -> Result<(), String> {
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(a.connections)
        .timeout(Duration::from_secs(60))
        .build()
        .map_err(|e| e.to_string())?;
    let base = a.url.trim_end_matches('/').to_owned();
    let batch_url = format!("{base}/v1/batch");
    let mut rng = StdRng::seed_from_u64(7);
    let now = now_ms();
    let sent_at = iso(now);
    let mut gen = Gen {
        counter: 0,
        orders: 0,
    };

    // The shop: heavy contacts, then regular shoppers, 30 % identified, and second devices
    // that log in as an earlier shopper (merges).
    let heavy = HEAVY_KNOWN + HEAVY_MERGED;
    let second_devices = a.contacts / 20;
    let regular = a.contacts - HEAVY_KNOWN + second_devices;
    let regular_events = a
        .events
        .saturating_sub(heavy * a.heavy_events + SMALL_MERGES * 10);
    let per_shopper = (regular_events / regular.max(1)).max(1);
    let identified = a.contacts * 3 / 10;
    let mut shoppers = Vec::new();
    for h in 0..heavy {
        shoppers.push(Shopper {
            tracker: tracker(1_000_000_000 + h),
            events: a.heavy_events,
            email: (h < HEAVY_KNOWN).then(|| format!("heavy{h}@bench.example")),
            last_at: now - DAY,
            second: false,
        });
    }
    for i in 0..regular {
        let email = if i < identified {
            Some(format!("user{i}@bench.example"))
        } else if i >= regular - second_devices {
            Some(format!(
                "user{}@bench.example",
                i - (regular - second_devices)
            ))
        } else {
            None
        };
        shoppers.push(Shopper {
            tracker: tracker(i),
            events: per_shopper,
            email,
            last_at: now - rng.random_range(0..200) * DAY - rng.random_range(0..DAY),
            second: i >= regular - second_devices,
        });
    }
    for m in 0..SMALL_MERGES {
        shoppers.push(Shopper {
            tracker: tracker(2_000_000_000 + m),
            events: 10,
            email: None,
            last_at: now - DAY,
            second: false,
        });
    }
    eprintln!(
        "sheets bench: rendering {} shoppers' batches ({} heavy of {} events, {} regular of {} events)",
        shoppers.len(),
        heavy,
        a.heavy_events,
        regular,
        per_shopper
    );
    // The second devices go last, so that the shopper they log in as exists by then.
    let (seconds, firsts): (Vec<&Shopper>, Vec<&Shopper>) = shoppers.iter().partition(|s| s.second);
    let render = |list: &[&Shopper], gen: &mut Gen, rng: &mut StdRng| -> Vec<Vec<String>> {
        let mut q: Vec<Vec<String>> = list
            .iter()
            .map(|s| gen.batches(rng, s, &a.site_key, &sent_at))
            .collect();
        // Heavy queues first off the stack's end, so they overlap with everything else.
        q.reverse();
        q
    };
    let first_q = render(&firsts, &mut gen, &mut rng);
    let second_q = render(&seconds, &mut gen, &mut rng);

    let t = Instant::now();
    let mut accepted = post_all(&client, &batch_url, first_q, a.connections).await?;
    accepted += post_all(&client, &batch_url, second_q, a.connections).await?;
    let load_s = t.elapsed().as_secs_f64();
    println!(
        "load: events={accepted} seconds={load_s:.1} events_per_s={:.0}",
        accepted as f64 / load_s
    );

    // Sample contacts through their trackers.
    let mut ids = Vec::new();
    for _ in 0..a.samples {
        let n = rng.random_range(0..regular);
        let v = get_settled(
            &client,
            &format!("{base}/v1/trackers/{}/contact", tracker(n)),
            &a.token,
        )
        .await?;
        ids.push(v["contact"]["id"].as_str().unwrap_or("1").to_owned());
    }
    let mut heavy_ids = Vec::new();
    for h in 0..HEAVY_KNOWN {
        let v = get_settled(
            &client,
            &format!("{base}/v1/trackers/{}/contact", tracker(1_000_000_000 + h)),
            &a.token,
        )
        .await?;
        heavy_ids.push(v["contact"]["id"].as_str().unwrap_or("1").to_owned());
    }
    // Every tenth request goes to a heavy contact.
    let pick = |i: usize| -> &str {
        if i.is_multiple_of(10) {
            &heavy_ids[i / 10 % heavy_ids.len()]
        } else {
            &ids[i]
        }
    };

    // One in ten requests goes to a heavy contact, and is timed apart.
    let targets: Vec<(bool, String)> = (0..a.samples)
        .map(|i| (i % 10 == 0, pick(i).to_owned()))
        .collect();
    let timed = |path: fn(&str) -> String| time_split(&client, &base, &a.token, &targets, path);
    let (sheet, sheet_heavy) = timed(|id| format!("/v1/contacts/{id}")).await?;
    let (activity, activity_heavy) =
        timed(|id| format!("/v1/contacts/{id}/activity?limit=50")).await?;
    let (filtered, filtered_heavy) =
        timed(|id| format!("/v1/contacts/{id}/activity?type=cart_add,purchase&limit=50")).await?;
    let mut lookup = Timer::new();
    for _ in 0..a.samples {
        let k = rng.random_range(0..identified);
        let t = Instant::now();
        let v = get(
            &client,
            &format!("{base}/v1/contacts?email=user{k}%40bench.example"),
            &a.token,
        )
        .await?;
        lookup.record(t);
        if v["contacts"].as_array().map_or(0, Vec::len) != 1 {
            return Err(format!("email lookup of user{k} found {v}"));
        }
    }
    // Search opens every term in the bucket of the query's first 5 characters: here
    // "user1" and the like, shared by a tenth of the identified shoppers, a worst case
    // that real emails rarely reach.
    let mut search = Timer::new();
    for _ in 0..a.samples {
        let k = rng.random_range(0..identified);
        let t = Instant::now();
        let v = get(
            &client,
            &format!("{base}/v1/contacts?q=user{k}%40bench"),
            &a.token,
        )
        .await?;
        search.record(t);
        if v["contacts"].as_array().map_or(0, Vec::len) != 1 {
            return Err(format!("search for user{k}@bench found {v}"));
        }
    }
    let mut list = Timer::new();
    for id in &ids {
        let t = Instant::now();
        get(
            &client,
            &format!("{base}/v1/contacts?limit=50&cursor={id}"),
            &a.token,
        )
        .await?;
        list.record(t);
    }

    // The overview's counts: read from counters, whatever the number of contacts.
    let mut counts = Timer::new();
    let mut total = 0;
    for _ in 0..200 {
        let t = Instant::now();
        let c = get(&client, &format!("{base}/v1/contacts/counts"), &a.token).await?;
        counts.record(t);
        total = c["total"].as_u64().unwrap_or(0);
    }
    if total == 0 {
        return Err("the counts say there are no contacts".into());
    }

    // Counts that walk the contacts: a rule's preview and the list's filters (each up to
    // 250,000 contacts, the count budget).
    let mut preview = Timer::new();
    let mut previewed = 0;
    for _ in 0..20 {
        let t = Instant::now();
        let r = client
            .post(format!("{base}/v1/segments/preview"))
            .bearer_auth(&a.token)
            .json(&json!({"rule": {"field": "ecommerce.purchases", "op": "gte", "value": 2}}))
            .send()
            .await
            .map_err(|e| e.to_string())?;
        let v: Value = r.json().await.map_err(|e| e.to_string())?;
        preview.record(t);
        previewed = v["count"].as_u64().ok_or(format!("preview answered {v}"))?;
    }
    let mut filtered_count = Timer::new();
    let mut matched = 0;
    for _ in 0..20 {
        let t = Instant::now();
        let c = get(
            &client,
            &format!("{base}/v1/contacts/counts?has_email=true&valuation=new"),
            &a.token,
        )
        .await?;
        filtered_count.record(t);
        matched = c["matching"]["count"].as_u64().unwrap_or(0);
    }
    // The RFM grid: once the site's cut points exist (every 20 s here), the first answer
    // walks every contact; later ones read the walk kept.
    // The answer that first holds scored purchasers is the one that walked for them.
    let grid_url = format!("{base}/v1/contacts/rfm_grid?site={}", a.site_key);
    let mut grid_walk = Timer::new();
    let mut scored = 0;
    for _ in 0..240 {
        let t = Instant::now();
        let g = get(&client, &grid_url, &a.token).await?;
        let elapsed = t;
        scored = g["recency_by_frequency"]
            .as_array()
            .map(|rows| {
                rows.iter()
                    .flat_map(|r| r.as_array().cloned().unwrap_or_default())
                    .filter_map(|n| n.as_u64())
                    .sum()
            })
            .unwrap_or(0);
        if scored > 0 {
            grid_walk.record(elapsed);
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(250)).await;
    }
    if scored == 0 {
        return Err("the RFM grid stayed empty for a minute".into());
    }
    let mut grid_kept = Timer::new();
    for _ in 0..200 {
        let t = Instant::now();
        get(&client, &grid_url, &a.token).await?;
        grid_kept.record(t);
    }

    // Merges: anonymous contacts of 10 and of 100,000 events log in as known shoppers.
    let mut merge_small = Timer::new();
    for m in 0..SMALL_MERGES {
        let body = json!({"site_key": a.site_key, "sent_at": iso(now_ms()), "events": [
            gen.identify(&tracker(2_000_000_000 + m), &format!("user{m}@bench.example"), now_ms())
        ]})
        .to_string();
        let t = Instant::now();
        post_all(&client, &batch_url, vec![vec![body]], 1).await?;
        merge_small.record(t);
    }
    let mut merge_heavy = Timer::new();
    for h in HEAVY_KNOWN..heavy {
        let body = json!({"site_key": a.site_key, "sent_at": iso(now_ms()), "events": [
            gen.identify(&tracker(1_000_000_000 + h), &format!("user{}@bench.example", 100 + h), now_ms())
        ]})
        .to_string();
        let t = Instant::now();
        post_all(&client, &batch_url, vec![vec![body]], 1).await?;
        merge_heavy.record(t);
    }
    // The merged heavy history must now be the known contact's.
    let v = get(
        &client,
        &format!(
            "{base}/v1/contacts?email=user{}%40bench.example",
            100 + HEAVY_KNOWN
        ),
        &a.token,
    )
    .await?;
    let id = v["contacts"][0]["id"].as_str().unwrap_or("0").to_owned();
    let s = get(&client, &format!("{base}/v1/contacts/{id}"), &a.token).await?;
    let merged_events = s["counts"]["events"].as_u64().unwrap_or(0);
    if merged_events < a.heavy_events {
        return Err(format!(
            "the heavy merge left contact {id} with {merged_events} events"
        ));
    }

    println!("{}", sheet.line("sheet"));
    println!("{}", sheet_heavy.line("sheet (heavy contacts)"));
    println!("{}", activity.line("activity first page"));
    println!("{}", activity_heavy.line("activity first page (heavy)"));
    println!("{}", filtered.line("activity filtered"));
    println!("{}", filtered_heavy.line("activity filtered (heavy)"));
    println!("{}", lookup.line("email lookup"));
    println!(
        "{}",
        search.line("search by the start of an email (q=user123@bench)")
    );
    println!("{}", list.line("list page of 50"));
    println!(
        "{}",
        counts.line(&format!(
            "contact counts ({total} contacts, by valuation and status)"
        ))
    );
    println!(
        "{}",
        preview.line(&format!(
            "segment preview, a walk ({previewed} of {total} match)"
        ))
    );
    println!(
        "{}",
        filtered_count.line(&format!(
            "counts under list filters, a walk ({matched} match)"
        ))
    );
    println!(
        "{}",
        grid_walk.line(&format!(
            "RFM grid, first answer: the walk ({scored} purchasers scored)"
        ))
    );
    println!("{}", grid_kept.line("RFM grid, the walk kept"));
    println!(
        "{}",
        merge_small.line("merge of a 10-event contact (identify POST)")
    );
    println!(
        "{}",
        merge_heavy.line("merge of a 100k-event contact (identify POST)")
    );
    Ok(())
}
