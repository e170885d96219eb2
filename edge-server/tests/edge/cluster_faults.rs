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

/// Trackers sending at once.
const SENDERS: u64 = 4;

/// What the load has had acknowledged, and whether it should pause.
#[derive(Default)]
struct Load {
    acked: Mutex<BTreeSet<u64>>,
    /// Answers other than 200 (503 during an election, a refused connection to a dead edge).
    refused: AtomicU64,
    pause: AtomicBool,
    /// Senders paused, between batches.
    idle: AtomicU64,
    stop: AtomicBool,
}

/// One sender: batches `first`, `first + SENDERS`, … one at a time, as a tracker sends: on
/// anything but 200, the same batch again to the other edge after a pause, until it is
/// acknowledged.
fn run_load(load: Arc<Load>, urls: Arc<Mutex<Vec<String>>>, first: u64) {
    let client = reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap();
    let mut n = first;
    let mut turn = first as usize;
    let mut idle = false;
    while !load.stop.load(Ordering::SeqCst) {
        if load.pause.load(Ordering::SeqCst) {
            if !idle {
                idle = true;
                load.idle.fetch_add(1, Ordering::SeqCst);
            }
            std::thread::sleep(Duration::from_millis(20));
            continue;
        }
        if idle {
            idle = false;
            load.idle.fetch_sub(1, Ordering::SeqCst);
        }
        let tracker = format!("t{}", n % TRACKERS);
        let mut events = vec![page_view(&format!("m{n}"), &tracker, &now_iso())];
        if n % 10 == 9 {
            events.push(json!({"message_id": format!("i{n}"), "tracker_id": tracker,
                "type": "identify", "timestamp": now_iso(), "context": {"user_agent": "test"},
                "properties": {"email": format!("s{}@example.com", n % 7)}}));
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
        n += SENDERS;
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
        while self.load.idle.load(Ordering::SeqCst) < SENDERS {
            assert!(
                Instant::now() < deadline,
                "a batch was not acknowledged in 120 s"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn resume(&self) {
        self.load.pause.store(false, Ordering::SeqCst);
        // Every sender takes up the load again before the next fault.
        while self.load.idle.load(Ordering::SeqCst) > 0 && !self.load.stop.load(Ordering::SeqCst) {
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    fn publish_urls(&self) {
        *self.urls.lock().unwrap() = self.edges.iter().map(|e| e.url.clone()).collect();
    }

    /// Pauses the load and checks: every acknowledged event readable through each edge, and
    /// the two views byte-identical. Prints the counts.
    fn check(&mut self, phase: &str) {
        self.pause();
        let (acked, events) = {
            let acked = self.load.acked.lock().unwrap();
            // A page view a batch, and an identify in every tenth.
            let identifies = acked.iter().filter(|n| *n % 10 == 9).count();
            (acked.len() as u64, (acked.len() + identifies) as u64)
        };
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
            "{phase}: {acked} batches ({events} events) acknowledged, all readable through both edges; {} answers other than 200 along the way; views identical ({records} records)",
            self.load.refused.load(Ordering::SeqCst)
        );
        self.resume();
    }
}

/// A tracker's events, through the admin API's pages, which the edge forwards; 0 while it
/// cannot answer.
fn readable(edge: &Edge, tracker: &str) -> usize {
    edge.try_all_events(tracker).map_or(0, |e| e.len())
}

fn block_on<F: std::future::Future>(f: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(f)
}

/// A JetStream client of the test's NATS cluster.
async fn jetstream(nats: &Cluster) -> async_nats::jetstream::Context {
    let addrs: Vec<async_nats::ServerAddr> =
        nats.urls().iter().map(|u| u.parse().unwrap()).collect();
    async_nats::jetstream::new(async_nats::connect(addrs.as_slice()).await.unwrap())
}

/// The stream's leader, by the node names the harness gives (`n0`, `n1`, …).
fn leader(nats: &Cluster) -> usize {
    block_on(async {
        let js = jetstream(nats).await;
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

/// 3 NATS nodes, 2 projectors sealing under the same contact keys (so that their bytes can
/// be compared), 2 edges.
fn deploy() -> (Cluster, Vec<Edge>, Vec<Edge>) {
    let nats = Cluster::start(3);
    let secrets = Secrets::new();
    let projectors: Vec<Edge> = (0..2)
        .map(|_| {
            let mut p = Edge::stopped(&cluster_config(&nats, "projector"));
            secrets.write_to(&p.data_dir());
            p.spawn();
            p
        })
        .collect();
    let edges: Vec<Edge> = (0..2)
        .map(|_| Edge::start_with(&cluster_config(&nats, "edge")))
        .collect();
    (nats, edges, projectors)
}

#[test]
fn acknowledged_events_survive_a_leader_kill_an_edge_kill_a_projector_kill_and_a_hung_node() {
    let (nats, edges, projectors) = deploy();
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
    let senders: Vec<_> = (0..SENDERS)
        .map(|first| {
            let (load, urls) = (load.clone(), urls.clone());
            std::thread::spawn(move || run_load(load, urls, first))
        })
        .collect();
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
    for s in senders {
        s.join().unwrap();
    }
}

/// Sends a batch through `edge` until it is acknowledged.
fn send(edge: &Edge, events: Vec<serde_json::Value>) {
    let body = json!({"site_key": SITE, "sent_at": now_iso(), "events": events});
    for _ in 0..300 {
        if edge.post_json(&body).status == 200 {
            return;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!("a batch was not acknowledged in 30 s");
}

/// The contact of a tracker, once a view has it.
fn contact_of(edge: &Edge, tracker: &str) -> u64 {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let r = edge.get(&format!("/v1/trackers/{tracker}/contact"), Some(TOKEN));
        if r.status == 200 {
            return r.json["contact"]["id"].as_str().unwrap().parse().unwrap();
        }
        assert!(Instant::now() < deadline, "{}", r.text);
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn identify(tracker: &str, email: &str) -> Vec<serde_json::Value> {
    vec![
        page_view(&format!("p-{tracker}"), tracker, &now_iso()),
        json!({"message_id": format!("i-{tracker}"), "tracker_id": tracker, "type": "identify",
            "timestamp": now_iso(), "context": {"user_agent": "test"},
            "properties": {"email": email}}),
    ]
}

/// What each message of the log opens to, by key name: `None` for those whose key is gone.
fn log_contents(nats: &Cluster) -> Vec<(Option<String>, Option<Vec<u8>>)> {
    use footprint_edge::cluster::keys;
    block_on(async {
        let js = jetstream(nats).await;
        let mut stream = js.get_stream("FOOTPRINT").await.unwrap();
        let last = stream.info().await.unwrap().state.last_sequence;
        let bucket = js.get_key_value("FOOTPRINT_keys").await.unwrap();
        let mut out = Vec::new();
        for seq in 1..=last {
            let Ok(m) = stream.get_raw_message(seq).await else {
                continue;
            };
            let name = m.headers.get(keys::HEADER).map(|v| v.as_str().to_owned());
            let plain = match &name {
                Some(n) => match bucket.get(n).await.unwrap() {
                    Some(k) => keys::open(&k[..].try_into().unwrap(), n, &m.payload),
                    None => None,
                },
                None => Some(m.payload.to_vec()),
            };
            out.push((name, plain));
        }
        out
    })
}

/// The value a response's `Set-Cookie` gives `name`.
fn cookie(r: &reqwest::blocking::Response, name: &str) -> String {
    r.headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|v| v.strip_prefix(&format!("{name}=")))
        .and_then(|v| v.split(';').next())
        .unwrap_or_else(|| panic!("no {name} cookie"))
        .to_owned()
}

fn grep(dir: &std::path::Path, needle: &str) -> String {
    let out = std::process::Command::new("grep")
        .args(["-rl", "--binary-files=text", needle])
        .arg(dir)
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn admin_changes_the_console_and_an_erasure_work_through_any_edge() {
    use footprint_edge::cluster::keys;
    let (nats, edges, projectors) = deploy();
    let (a, b) = (&edges[0], &edges[1]);
    send(a, identify("t-erase", "erase-me-7f3a@example.com"));
    send(b, identify("t-keep", "keep-4b2c@example.com"));
    let gone = contact_of(b, "t-erase");
    let kept = contact_of(a, "t-keep");

    // Read-your-writes across edges: each change through one edge is in the very next read
    // through the other, whichever projector answers either.
    for (i, (write, read)) in [(a, b), (b, a), (a, b), (b, a)].into_iter().enumerate() {
        let name = format!("Zq9-Ana-{i}");
        let r = write
            .client
            .patch(format!("{}/v1/contacts/{gone}", write.url))
            .bearer_auth(TOKEN)
            .json(&json!({"first_name": name}))
            .send()
            .unwrap();
        assert_eq!(r.status(), 200, "{}", r.text().unwrap());
        let sheet = read.get(&format!("/v1/contacts/{gone}"), Some(TOKEN));
        assert_eq!(sheet.status, 200, "{}", sheet.text);
        assert_eq!(
            sheet.json["profile"]["first_name"],
            name.as_str(),
            "{}",
            sheet.text
        );
    }

    // The console: signed in through one edge, used through the other.
    let browser = reqwest::blocking::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let login = browser
        .get(format!("{}/admin/login", a.url))
        .send()
        .unwrap();
    let pre = cookie(&login, "fp_login");
    let page = login.text().unwrap();
    let csrf = page
        .split("name=\"csrf\" value=\"")
        .nth(1)
        .and_then(|s| s.split('"').next())
        .unwrap()
        .to_owned();
    let done = browser
        .post(format!("{}/admin/login", a.url))
        .header("cookie", format!("fp_login={pre}"))
        .form(&[("csrf", csrf.as_str()), ("token", TOKEN)])
        .send()
        .unwrap();
    assert_eq!(done.status(), 303);
    let session = cookie(&done, "fp_session");
    for edge in [b, a, b] {
        let sheet = browser
            .get(format!("{}/admin/contacts/{kept}", edge.url))
            .header("cookie", format!("fp_session={session}"))
            .send()
            .unwrap();
        assert_eq!(sheet.status(), 200);
        let html = sheet.text().unwrap();
        assert!(
            html.contains("keep-4b2c"),
            "{}",
            &html[..html.len().min(2000)]
        );
    }

    // An imported contact, erased with the other below.
    let r = a
        .client
        .post(format!("{}/v1/contacts/import?site={SITE}", a.url))
        .bearer_auth(TOKEN)
        .header("content-type", "text/csv")
        .body("email,first_name\nimp-5k2@example.com,Imported\nimp-other@example.com,Kept\n")
        .send()
        .unwrap();
    assert_eq!(r.status(), 200, "{}", r.text().unwrap());
    let found = b.get("/v1/contacts?email=imp-5k2@example.com", Some(TOKEN));
    let imported: u64 = found.json["contacts"][0]["id"]
        .as_str()
        .unwrap_or_else(|| panic!("{}", found.text))
        .parse()
        .unwrap();
    let imported_key = keys::name_of_value(SITE, "imp-5k2@example.com");

    // Before the erasure the log holds the shopper, readable under its keys.
    let erased_key = keys::name(SITE, "t-erase");
    let patch_key = keys::name_of_contact(gone);
    let before = log_contents(&nats);
    let opened = |log: &[(Option<String>, Option<Vec<u8>>)], name: &str| {
        log.iter()
            .filter(|(n, p)| n.as_deref() == Some(name) && p.is_some())
            .count()
    };
    assert!(opened(&before, &erased_key) >= 1);
    assert_eq!(opened(&before, &patch_key), 4);
    assert_eq!(opened(&before, &imported_key), 1);

    let r = b
        .client
        .delete(format!("{}/v1/contacts/{gone}", b.url))
        .bearer_auth(TOKEN)
        .send()
        .unwrap();
    assert_eq!(r.status(), 200, "{}", r.text().unwrap());
    let r = a
        .client
        .delete(format!("{}/v1/contacts/{imported}", a.url))
        .bearer_auth(TOKEN)
        .send()
        .unwrap();
    assert_eq!(r.status(), 200, "{}", r.text().unwrap());
    for edge in [a, b] {
        for id in [gone, imported] {
            edge.get(&format!("/v1/contacts/{id}"), Some(TOKEN))
                .assert_error(410, "erased");
        }
    }
    // A compaction asked through one edge reaches every view, through the log; reads wait for
    // it like for any admin change.
    let r = a
        .client
        .post(format!("{}/v1/admin/compact", a.url))
        .bearer_auth(TOKEN)
        .send()
        .unwrap();
    assert_eq!(r.status(), 200, "{}", r.text().unwrap());
    let deadline = Instant::now() + Duration::from_secs(30);
    while !projectors
        .iter()
        .all(|p| p.log().contains("compacted as the log asked"))
    {
        assert!(Instant::now() < deadline, "a view did not compact");
        std::thread::sleep(Duration::from_millis(100));
    }
    assert_eq!(
        b.get(&format!("/v1/contacts/{kept}"), Some(TOKEN)).status,
        200
    );
    // The keys go once every live view has applied the erasure (projector::SHRED_AFTER).
    std::thread::sleep(Duration::from_secs(13));
    let after = log_contents(&nats);
    assert!(after
        .iter()
        .any(|(n, _)| n.as_deref() == Some(erased_key.as_str())));
    assert_eq!(
        opened(&after, &erased_key),
        0,
        "the erased tracker's events still open"
    );
    assert_eq!(
        opened(&after, &patch_key),
        0,
        "the erased contact's edits still open"
    );
    assert_eq!(
        opened(&after, &imported_key),
        0,
        "the erased contact's imported row still opens"
    );
    assert_eq!(
        opened(&after, &keys::name_of_value(SITE, "imp-other@example.com")),
        1,
        "the other imported row no longer opens"
    );
    assert!(opened(&after, &keys::name(SITE, "t-keep")) >= 1);
    let kept_plain = after
        .iter()
        .filter_map(|(_, p)| p.as_ref())
        .any(|p| p.windows(9).any(|w| w == b"keep-4b2c"));
    assert!(kept_plain, "the other shopper's events no longer open");
    // Nothing of the erased shopper in the clear, anywhere on disk: every NATS node's store
    // (streams, RAFT logs, the sessions bucket) and both views.
    for needle in ["erase-me-7f3a", "Zq9-Ana", "imp-5k2"] {
        assert_eq!(
            grep(nats.dir.path(), needle),
            "",
            "{needle} in NATS's files"
        );
        for p in &projectors {
            assert_eq!(grep(&p.data_dir(), needle), "", "{needle} in a view");
        }
    }
    // The whole log down: batches are refused with 503 and Retry-After, never acknowledged.
    let mut nats = nats;
    for i in 0..3 {
        nats.kill9(i);
    }
    let body = json!({"site_key": SITE, "sent_at": now_iso(),
        "events": [page_view("after-nats", "t-late", &now_iso())]});
    let r = a.post_json(&body);
    assert_eq!(r.status, 503, "{}", r.text);
    assert!(r.header("retry-after").is_some());
    println!(
        "erasure: {} log messages, {} of the erased shopper's now unreadable",
        after.len(),
        after
            .iter()
            .filter(|(n, p)| p.is_none() && n.is_some())
            .count()
    );
}
