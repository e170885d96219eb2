use std::collections::HashSet;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;

use crate::util::*;

/// Posts batches from `threads` threads, one tracker each, until told to stop or the server is
/// gone. Returns, per tracker, the message ids the server acknowledged with 200.
fn load(
    edge: &Edge,
    tag: &str,
    threads: usize,
    stop: Arc<AtomicBool>,
) -> Vec<std::thread::JoinHandle<(String, Vec<String>)>> {
    (0..threads)
        .map(|t| {
            let url = format!("{}/v1/batch", edge.url);
            let stop = stop.clone();
            let tag = tag.to_owned();
            std::thread::spawn(move || {
                let client = reqwest::blocking::Client::builder()
                    .timeout(Duration::from_secs(20))
                    .build()
                    .unwrap();
                let tracker = format!("tr-load-{tag}-{t}");
                let mut acked = Vec::new();
                let mut n = 0;
                while !stop.load(Ordering::Relaxed) {
                    let now = now_iso();
                    let ids: Vec<String> =
                        (0..10).map(|i| format!("load-{tag}-{t}-{n}-{i}")).collect();
                    n += 1;
                    let events: Vec<Value> =
                        ids.iter().map(|id| page_view(id, &tracker, &now)).collect();
                    match client
                        .post(&url)
                        .header("content-type", "application/json")
                        .body(batch(events).to_string())
                        .send()
                    {
                        Ok(r) if r.status() == 200 => {
                            let v: Value = r.json().unwrap();
                            assert_eq!(v["accepted"], 10, "{v}");
                            acked.extend(ids);
                        }
                        Ok(r) => panic!("unexpected status {}", r.status()),
                        // The server is gone (killed or stopped): that request was not acknowledged.
                        Err(_) => break,
                    }
                }
                (tracker, acked)
            })
        })
        .collect()
}

fn assert_all_stored(edge: &Edge, results: Vec<(String, Vec<String>)>) -> usize {
    let mut total = 0;
    for (tracker, acked) in results {
        let stored: HashSet<String> = edge
            .all_events(&tracker)
            .iter()
            .map(|e| e["message_id"].as_str().unwrap().to_owned())
            .collect();
        for id in &acked {
            assert!(
                stored.contains(id),
                "acknowledged event {id} of {tracker} was lost"
            );
        }
        total += acked.len();
    }
    total
}

/// Three rounds of: load from 8 threads, `kill -9` while it runs, restart, and check that every
/// event acknowledged before the kill is readable.
#[test]
fn every_acknowledged_event_survives_kill_9_under_load() {
    let mut edge = Edge::start();
    let mut total = 0;
    for round in 0..3 {
        let stop = Arc::new(AtomicBool::new(false));
        let workers = load(&edge, &format!("r{round}"), 8, stop.clone());
        std::thread::sleep(Duration::from_millis(700));
        edge.kill9();
        stop.store(true, Ordering::Relaxed);
        let results: Vec<_> = workers.into_iter().map(|w| w.join().unwrap()).collect();
        edge.spawn();
        total += assert_all_stored(&edge, results);
    }
    assert!(
        total >= 1000,
        "the load was too light to show anything: {total} events acknowledged"
    );
}

/// The sharpest probe of "200 means on disk": on a quiet server nothing else makes sled write
/// its buffers, so a batch killed right after its ack survives only if the ack waited for a
/// flush. (Under load, other writes often push the data out by chance; this test does not rely
/// on chance.)
#[test]
fn a_batch_killed_right_after_its_ack_survives() {
    let mut edge = Edge::start();
    for round in 0..5 {
        let tracker = format!("tr-quiet-{round}");
        let ids: Vec<String> = (0..5).map(|i| format!("quiet-{round}-{i}")).collect();
        let events: Vec<Value> = ids
            .iter()
            .map(|id| page_view(id, &tracker, &now_iso()))
            .collect();
        let r = edge.post_json(&batch(events));
        edge.kill9();
        assert_eq!(r.json["accepted"], 5, "{}", r.text);
        edge.spawn();
        assert_all_stored(&edge, vec![(tracker, ids)]);
    }
}

#[test]
fn sigterm_finishes_in_flight_requests_flushes_and_exits_0() {
    let mut edge = Edge::start();
    let stop = Arc::new(AtomicBool::new(false));
    let workers = load(&edge, "term", 4, stop.clone());

    // A request that is half sent when SIGTERM arrives must still be answered.
    let addr = edge.url.trim_start_matches("http://").to_owned();
    let body = batch(vec![page_view("in-flight", "tr-in-flight", &now_iso())]).to_string();
    let mut sock = TcpStream::connect(&addr).unwrap();
    write!(sock, "POST /v1/batch HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n", body.len()).unwrap();
    let (head, tail) = body.split_at(body.len() / 2);
    sock.write_all(head.as_bytes()).unwrap();
    std::thread::sleep(Duration::from_millis(500));

    let pid = nix::unistd::Pid::from_raw(edge.pid());
    nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM).unwrap();
    std::thread::sleep(Duration::from_millis(200));
    sock.write_all(tail.as_bytes()).unwrap();
    let mut answer = String::new();
    sock.read_to_string(&mut answer).unwrap();
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(answer.contains(r#""accepted":1"#), "{answer}");

    let status = edge.sigterm();
    stop.store(true, Ordering::Relaxed);
    assert!(status.success(), "exit status {status:?}");
    assert!(edge.log().contains("shut down cleanly"), "{}", edge.log());
    let results: Vec<_> = workers.into_iter().map(|w| w.join().unwrap()).collect();

    edge.spawn();
    assert_all_stored(&edge, results);
    assert_eq!(edge.all_events("tr-in-flight").len(), 1);
}

#[test]
fn a_stop_sent_right_after_the_listening_line_is_graceful() {
    // The line is printed only once the server has taken over the signals; a stop right after
    // it must not find the default action (death by signal) still in place.
    let mut edge = Edge::start();
    for _ in 0..5 {
        let status = edge.sigterm();
        assert!(status.success(), "{status:?}; log:\n{}", edge.log());
        edge.spawn();
    }
}

#[test]
fn an_unreachable_cluster_stops_startup_naming_the_key() {
    let dir = tempfile::tempdir().unwrap();
    // A port nothing listens on: bound, then released.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let path = dir.path().join("cluster.toml");
    std::fs::write(
        &path,
        format!("[[sites]]\nkey = \"s\"\n[cluster]\nurls = [\"nats://127.0.0.1:{port}\"]\nrole = \"edge\"\n"),
    )
    .unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_footprint-edge"))
        .arg("--config")
        .arg(&path)
        .args(["--listen", "127.0.0.1:0"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("cluster.urls") && err.contains(&port.to_string()),
        "{err}"
    );
}

#[test]
fn a_bad_config_stops_startup_naming_the_key() {
    let dir = tempfile::tempdir().unwrap();
    let cases = [
        ("listen = \"nowhere\"\n[[sites]]\nkey = \"s\"\n", "`listen`"),
        (
            "[[sites]]\nkey = \"s\"\norigins = [\"ftp://x\"]\n",
            "sites[0].origins[0]",
        ),
        (
            "[[sites]]\nkey = \"s\"\n[[admins]]\nname = \"a\"\ntoken = \"a-token-of-24-characters\"\nrole = \"root\"\n",
            "admins[0].role",
        ),
        (
            "[[sites]]\nkey = \"s\"\n[[admins]]\nname = \"a\"\ntoken = \"short\"\nrole = \"admin\"\n",
            "admins[0].token",
        ),
        ("[[sites]]\nkey = \"s\"\nsurprise = true\n", "surprise"),
        ("sites = 3\n", "sites"),
        (
            "[[sites]]\nkey = \"s\"\n[cluster]\nrole = \"edge\"\n",
            "cluster.urls",
        ),
        (
            "[[sites]]\nkey = \"s\"\n[cluster]\nurls = [\"nats://h:99999\"]\nrole = \"edge\"\n",
            "cluster.urls[0]",
        ),
        (
            "[[sites]]\nkey = \"s\"\n[cluster]\nurls = [\"nats://h:4222\"]\nrole = \"leader\"\n",
            "cluster.role",
        ),
        (
            "[[sites]]\nkey = \"s\"\n[cluster]\nurls = [\"nats://h:4222\"]\nrole = \"edge\"\nreplicas = 7\n",
            "cluster.replicas",
        ),
        (
            "[[sites]]\nkey = \"s\"\n[cluster]\nurls = [\"nats://h:4222\"]\nrole = \"edge\"\nstream = \"a.b\"\n",
            "cluster.stream",
        ),
    ];
    for (text, key) in cases {
        let path = dir.path().join("bad.toml");
        std::fs::write(&path, text).unwrap();
        let out = Command::new(env!("CARGO_BIN_EXE_footprint-edge"))
            .arg("--config")
            .arg(&path)
            .arg("--data-dir")
            .arg(dir.path().join("data"))
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{text}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(key), "expected {key} in: {err}");
    }
    let out = Command::new(env!("CARGO_BIN_EXE_footprint-edge"))
        .arg("--config")
        .arg(dir.path().join("missing.toml"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("missing.toml"));
}

#[test]
fn without_a_config_the_dev_defaults_run_and_say_so() {
    let dir = tempfile::tempdir().unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_footprint-edge"))
        .env("FOOTPRINT_LISTEN", "127.0.0.1:0")
        .env("FOOTPRINT_DATA_DIR", dir.path().join("data"))
        .env_remove("FOOTPRINT_CONFIG")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let url = line
        .trim()
        .strip_prefix("footprint-edge listening on ")
        .unwrap()
        .to_owned();
    let client = reqwest::blocking::Client::new();
    let b = serde_json::json!({"site_key": "demo-shop", "sent_at": now_iso(), "events": [page_view("dev-1", "tr-dev", &now_iso())]});
    let r = client
        .post(format!("{url}/v1/batch"))
        .header("content-type", "application/json")
        .body(b.to_string())
        .send()
        .unwrap();
    assert_eq!(r.status(), 200);
    let r = client
        .get(format!("{url}/v1/trackers/tr-dev/events"))
        .bearer_auth("dev-admin-token")
        .send()
        .unwrap();
    assert_eq!(r.status(), 200);
    child.kill().unwrap();
    child.wait().unwrap();
    let mut err = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut err)
        .unwrap();
    assert!(err.contains("dev defaults"), "{err}");
    assert!(
        dir.path().join("data").exists(),
        "FOOTPRINT_DATA_DIR was not used"
    );
}

/// Every contact's sheet on `edge`, by id, through the list's pages.
fn every_sheet(edge: &Edge) -> std::collections::BTreeMap<String, Value> {
    let mut out = std::collections::BTreeMap::new();
    let mut cursor = String::new();
    loop {
        let r = edge.get(
            &format!("/v1/contacts?limit=500&include_invalid=true{cursor}"),
            Some(TOKEN),
        );
        assert_eq!(r.status, 200, "{}", r.text);
        for row in r.json["contacts"].as_array().unwrap() {
            let id = row["id"].as_str().unwrap().to_owned();
            let sheet = edge.get(&format!("/v1/contacts/{id}"), Some(TOKEN));
            assert_eq!(sheet.status, 200, "{}", sheet.text);
            out.insert(id, sheet.json);
        }
        match r.json["next"].as_str() {
            Some(n) => cursor = format!("&cursor={n}"),
            None => return out,
        }
    }
}

/// A sheet without what the site's models add: each edge computes the RFM quintiles and
/// fits the CLV models on its own timer (at start, then every 10 and 60 minutes), so two
/// edges with the same data may be a run apart. The inputs stay.
fn without_rfm_scores(mut sheet: Value) -> Value {
    if let Some(rfm) = sheet["rfm"].as_object_mut() {
        for k in ["r", "f", "m", "segment"] {
            rfm.remove(k);
        }
    }
    if let Some(clv) = sheet["clv"].as_object_mut() {
        clv.remove("predicted");
    }
    sheet
}

fn edge_command(edge: &Edge, args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_footprint-edge"))
        .arg("--config")
        .arg(edge.dir.path().join("edge.toml"))
        .arg("--data-dir")
        .arg(edge.data_dir())
        .args(args)
        .output()
        .unwrap()
}

#[test]
fn a_backup_taken_while_serving_restores_every_sheet() {
    let edge = Edge::start();
    let now = now_iso();
    for i in 0..30 {
        let t = format!("tb{i}");
        let mut events = vec![
            page_view(&format!("b{i}-p"), &t, &now),
            serde_json::json!({"message_id": format!("b{i}-id"), "tracker_id": t, "type": "identify",
                "timestamp": now, "properties": {"email": format!("b{}@example.com", i % 25),
                "first_name": format!("B{i}"), "custom": {"tier": "gold"}}}),
        ];
        if i % 3 == 0 {
            events.push(serde_json::json!({"message_id": format!("b{i}-o"), "tracker_id": t,
                "type": "purchase", "timestamp": now, "properties": {"order_id": format!("o{i}"),
                "total": 10.5 + i as f64, "currency": "EUR",
                "items": [{"product_id": "p", "name": "P", "price": 10.5 + i as f64, "quantity": 1}]}}));
        }
        let r = edge.post_json(&batch(events));
        assert_eq!(r.status, 200, "{}", r.text);
    }
    // Shoppers keep coming while the backup is taken: each a new tracker with one event, so
    // each is in the backup whole or not at all.
    let stop = Arc::new(AtomicBool::new(false));
    let noise = {
        let (url, stop) = (format!("{}/v1/batch", edge.url), stop.clone());
        std::thread::spawn(move || {
            let client = reqwest::blocking::Client::new();
            let mut n = 0;
            while !stop.load(Ordering::Relaxed) {
                let body = batch(vec![page_view(
                    &format!("n{n}"),
                    &format!("tn{n}"),
                    &now_iso(),
                )]);
                let r = client
                    .post(&url)
                    .header("content-type", "application/json")
                    .body(body.to_string())
                    .send()
                    .unwrap();
                assert_eq!(r.status().as_u16(), 200);
                n += 1;
            }
            n
        })
    };
    std::thread::sleep(Duration::from_millis(200));
    let backup = edge.dir.path().join("backup");
    let out = edge_command(
        &edge,
        &[
            "backup",
            backup.to_str().unwrap(),
            "--url",
            &edge.url,
            "--token",
            TOKEN,
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let manifest: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(manifest["records"].as_u64().unwrap() > 60, "{manifest}");
    stop.store(true, Ordering::Relaxed);
    let sent = noise.join().unwrap();
    assert!(sent > 0);
    // Without the token the command says how to reach the running edge.
    let out = edge_command(
        &edge,
        &["backup", edge.dir.path().join("b2").to_str().unwrap()],
    );
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("--token"));

    let mut restored = Edge::start();
    restored.kill9();
    let out = edge_command(
        &restored,
        &["restore", backup.to_str().unwrap(), "--replace"],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    restored.spawn();
    let original = every_sheet(&edge);
    let back = every_sheet(&restored);
    assert!(back.len() >= 25, "{}", back.len());
    assert!(back.len() <= original.len());
    for (id, sheet) in back {
        assert_eq!(
            Some(without_rfm_scores(sheet)),
            original.get(&id).cloned().map(without_rfm_scores),
            "contact {id}"
        );
    }
    let b0 = restored.get("/v1/contacts?email=b0@example.com", Some(TOKEN));
    assert_eq!(b0.json["contacts"].as_array().unwrap().len(), 1);
    // A restore never lands on a store by accident, and never beside a running edge.
    let out = edge_command(&restored, &["restore", backup.to_str().unwrap()]);
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("in use"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    restored.kill9();
    let out = edge_command(&restored, &["restore", backup.to_str().unwrap()]);
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("--replace"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // With no edge running, the command takes the backup itself.
    let offline = restored.dir.path().join("offline");
    let out = edge_command(&restored, &["backup", offline.to_str().unwrap()]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(offline.join("footprint-backup.json").exists());
}
