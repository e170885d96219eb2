//! Cluster mode with real processes: 3 NATS nodes, 2 edges and 2 projectors, all on
//! 127.0.0.1 with port 0 and temporary directories. Under concurrent ingest, in turn: the
//! stream leader is killed with `kill -9` and restarted, an edge is killed (the load moves to
//! the other), a projector is killed and catches up from its stored position, and a NATS
//! node hangs (SIGSTOP) for 10 s. After each, every acknowledged event is readable through
//! either edge and the two projectors' views are byte-identical.

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use footprint_e2e::nats::Cluster;
use footprint_e2e::secrets::Secrets;
use footprint_edge::store::{Store, StoreConfig};
use serde_json::json;

use crate::util::{config, now_iso, page_view, Edge, NO_LIMITS, SITE, TOKEN};

const TRACKERS: u64 = 16;

fn cluster_config(nats: &Cluster, role: &str) -> String {
    let urls: Vec<String> = nats.urls().iter().map(|u| format!("\"{u}\"")).collect();
    config(&format!(
        "{NO_LIMITS}\n[cluster]\nurls = [{}]\nrole = \"{role}\"\nreplicas = 3\npartitions = 4\n\
         request_timeout_seconds = 20\n",
        urls.join(", ")
    ))
}

/// What the load has had acknowledged, and whether it should pause.
#[derive(Default)]
struct Load {
    acked: Mutex<BTreeSet<u64>>,
    /// Answers other than 200 (503 during an election, a refused connection to a dead edge).
    refused: AtomicU64,
    pause: AtomicBool,
    idle: AtomicBool,
    stop: AtomicBool,
}

/// Sends one batch at a time, as trackers do: on anything but 200, the same batch again to
/// the other edge after a pause, until it is acknowledged.
fn run_load(load: Arc<Load>, urls: Arc<Mutex<Vec<String>>>) {
    let client = reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap();
    let mut n = 0u64;
    let mut turn = 0usize;
    while !load.stop.load(Ordering::SeqCst) {
        if load.pause.load(Ordering::SeqCst) {
            load.idle.store(true, Ordering::SeqCst);
            std::thread::sleep(Duration::from_millis(20));
            continue;
        }
        load.idle.store(false, Ordering::SeqCst);
        let tracker = format!("t{}", n % TRACKERS);
        let mut events = vec![page_view(&format!("m{n}"), &tracker, &now_iso())];
        if n % 10 == 9 {
            events.push(json!({"message_id": format!("i{n}"), "tracker_id": tracker,
                "type": "identify", "timestamp": now_iso(),
                "traits": {"email": format!("s{}@example.com", n % 7)}}));
        }
        let body = json!({"site_key": SITE, "sent_at": now_iso(), "events": events}).to_string();
        loop {
            let url = {
                let urls = urls.lock().unwrap();
                urls[turn % urls.len()].clone()
            };
            let sent = client
                .post(format!("{url}/v1/batch"))
                .header("content-type", "application/json")
                .body(body.clone())
                .send();
            match sent {
                Ok(r) if r.status() == 200 => break,
                _ => {
                    load.refused.fetch_add(1, Ordering::SeqCst);
                    turn += 1;
                    std::thread::sleep(Duration::from_millis(100));
                }
            }
        }
        load.acked.lock().unwrap().insert(n);
        n += 1;
        turn += 1;
    }
}

struct Deployment {
    nats: Cluster,
    edges: Vec<Edge>,
    projectors: Vec<Edge>,
    urls: Arc<Mutex<Vec<String>>>,
    load: Arc<Load>,
}

impl Deployment {
    fn pause(&self) {
        self.load.pause.store(true, Ordering::SeqCst);
        let deadline = Instant::now() + Duration::from_secs(120);
        while !self.load.idle.load(Ordering::SeqCst) {
            assert!(
                Instant::now() < deadline,
                "a batch was not acknowledged in 120 s"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn resume(&self) {
        self.load.idle.store(false, Ordering::SeqCst);
        self.load.pause.store(false, Ordering::SeqCst);
    }

    fn publish_urls(&self) {
        *self.urls.lock().unwrap() = self.edges.iter().map(|e| e.url.clone()).collect();
    }

    /// Pauses the load and checks: every acknowledged event readable through each edge, and
    /// the two views byte-identical. Prints the counts.
    fn check(&mut self, phase: &str) {
        self.pause();
        let acked = self.load.acked.lock().unwrap().len() as u64;
        // One page view a batch; identifies change contacts and are not listed as events.
        let events = acked;
        for edge in &self.edges {
            let deadline = Instant::now() + Duration::from_secs(90);
            loop {
                let seen: usize = (0..TRACKERS)
                    .map(|t| readable(edge, &format!("t{t}")))
                    .sum();
                if seen as u64 == events {
                    break;
                }
                assert!(
                    seen as u64 <= events,
                    "{phase}: {seen} events readable, more than the {events} acknowledged"
                );
                assert!(
                    Instant::now() < deadline,
                    "{phase}: {seen} of {events} acknowledged events readable through {}",
                    edge.url
                );
                std::thread::sleep(Duration::from_millis(200));
            }
        }
        // The views, compared while their projectors are stopped (sled has one owner).
        let deadline = Instant::now() + Duration::from_secs(60);
        let records = loop {
            for p in &mut self.projectors {
                p.sigterm();
            }
            let views: Vec<_> = self
                .projectors
                .iter()
                .map(|p| {
                    let store = Store::open(&p.data_dir(), &StoreConfig::default()).unwrap();
                    let v = (store.applied().unwrap(), store.state_records().unwrap());
                    store.shutdown();
                    v
                })
                .collect();
            for p in &mut self.projectors {
                p.spawn();
            }
            if views[0].0 == views[1].0 {
                assert!(views[0].1 == views[1].1, "{phase}: the two views differ");
                break views[0].1.len();
            }
            assert!(Instant::now() < deadline, "{phase}: the views did not meet");
            std::thread::sleep(Duration::from_secs(1));
        };
        println!(
            "{phase}: {acked} batches acknowledged, each page view readable through both edges; {} answers other than 200 along the way; views identical ({records} records)",
            self.load.refused.load(Ordering::SeqCst)
        );
        self.resume();
    }
}

/// A tracker's events, through the admin API's pages, which the edge forwards; 0 while it
/// cannot answer.
fn readable(edge: &Edge, tracker: &str) -> usize {
    let mut n = 0;
    let mut cursor: Option<String> = None;
    loop {
        let path = match &cursor {
            Some(c) => format!("/v1/trackers/{tracker}/events?limit=500&before={c}"),
            None => format!("/v1/trackers/{tracker}/events?limit=500"),
        };
        let r = edge.get(&path, Some(TOKEN));
        if r.status != 200 {
            return 0;
        }
        n += r.json["events"].as_array().map_or(0, Vec::len);
        match r.json["next"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => return n,
        }
    }
}

/// The stream's leader, by the node names the harness gives (`n0`, `n1`, …).
fn leader(nats: &Cluster) -> usize {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let addrs: Vec<async_nats::ServerAddr> =
            nats.urls().iter().map(|u| u.parse().unwrap()).collect();
        let client = async_nats::connect(addrs.as_slice()).await.unwrap();
        let js = async_nats::jetstream::new(client);
        let mut stream = js.get_stream("FOOTPRINT").await.unwrap();
        let info = stream.info().await.unwrap();
        let name = info
            .cluster
            .as_ref()
            .and_then(|c| c.leader.clone())
            .unwrap();
        name.trim_start_matches('n').parse().unwrap()
    })
}

fn wait_under_load(d: &Deployment, seconds: u64) {
    let before = d.load.acked.lock().unwrap().len();
    std::thread::sleep(Duration::from_secs(seconds));
    let after = d.load.acked.lock().unwrap().len();
    println!("  {} batches acknowledged in {seconds} s", after - before);
}

#[test]
fn acknowledged_events_survive_a_leader_kill_an_edge_kill_a_projector_kill_and_a_hung_node() {
    let nats = Cluster::start(3);
    let secrets = Secrets::new();
    let projectors: Vec<Edge> = (0..2)
        .map(|_| {
            let mut p = Edge::stopped(&cluster_config(&nats, "projector"));
            // Views seal under the same contact keys, so their bytes can be compared.
            secrets.write_to(&p.data_dir());
            p.spawn();
            p
        })
        .collect();
    let edges: Vec<Edge> = (0..2)
        .map(|_| Edge::start_with(&cluster_config(&nats, "edge")))
        .collect();
    let load = Arc::new(Load::default());
    let urls = Arc::new(Mutex::new(Vec::new()));
    let mut d = Deployment {
        nats,
        edges,
        projectors,
        urls: urls.clone(),
        load: load.clone(),
    };
    d.publish_urls();
    let worker = std::thread::spawn(move || run_load(load, urls));
    wait_under_load(&d, 3);
    d.check("start");

    // 1. The stream's leader dies with kill -9, and comes back.
    let lead = leader(&d.nats);
    d.nats.kill9(lead);
    wait_under_load(&d, 5);
    d.nats.restart(lead);
    wait_under_load(&d, 3);
    d.check("1. NATS leader killed and restarted");

    // 2. An edge dies: its trackers' retries go to the other.
    d.edges[0].kill9();
    wait_under_load(&d, 3);
    d.edges[0].spawn();
    d.publish_urls();
    wait_under_load(&d, 2);
    d.check("2. edge killed and restarted");

    // 3. A projector dies, and catches up from its stored position.
    d.projectors[1].kill9();
    wait_under_load(&d, 4);
    d.projectors[1].spawn();
    wait_under_load(&d, 2);
    d.check("3. projector killed and restarted");

    // 4. A NATS node hangs for 10 s: the leader, the worst case.
    let lead = leader(&d.nats);
    let pid = nix::unistd::Pid::from_raw(d.nats.pid(lead).unwrap() as i32);
    nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGSTOP).unwrap();
    wait_under_load(&d, 10);
    nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGCONT).unwrap();
    wait_under_load(&d, 3);
    d.check("4. NATS leader hung 10 s");

    d.load.stop.store(true, Ordering::SeqCst);
    d.resume();
    worker.join().unwrap();
}
