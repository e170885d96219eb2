//! Cluster mode's write path (issue 20, first steps), in process: ingest's log sink publishes
//! each batch's events to a 3-node NATS JetStream cluster on loopback, and two projectors
//! apply them into their own stores, while the stream's leader is killed with `kill -9` and a
//! projector stops and catches up from its stored position.

use std::sync::atomic::AtomicI64;
use std::sync::Arc;
use std::time::{Duration, Instant};

use footprint_e2e::nats::Cluster;
use footprint_e2e::secrets::Secrets;
use footprint_edge::cluster::keys::Keys;
use footprint_edge::cluster::projector;
use footprint_edge::cluster::sink::LogSink;
use footprint_edge::cluster::{Log, LogConfig};
use footprint_edge::config::{Config, Overrides};
use footprint_edge::ingest::{BatchRequest, Ingest, ServerBatchRequest};
use footprint_edge::store::{Store, StoreConfig};
use footprint_protocol::{SiteKey, TrackerId};
use serde_json::json;

use crate::lab::{identify, iso, page, TestClock, MIN, T0};
use crate::util::{config, NO_LIMITS, SITE};

/// A projector (every partition) running on its own task until `stop` is sent.
struct Running {
    store: Store,
    stop: tokio::sync::watch::Sender<bool>,
    task: tokio::task::JoinHandle<()>,
}

fn project(log: &Log, keys: &Arc<Keys>, dir: &std::path::Path) -> Running {
    let store = Store::open(dir, &StoreConfig::default()).unwrap();
    let (stop, rx) = tokio::sync::watch::channel(false);
    let (log, s, keys) = (log.clone(), store.clone(), keys.clone());
    let task = tokio::spawn(async move {
        // A projector whose consumer fails (a node going away mid-read) starts again from its
        // store's position, as the binary's will.
        while !*rx.borrow() {
            let progress = projector::Progress::new(s.applied().unwrap());
            if projector::run(&log, &s, &progress, &keys, rx.clone())
                .await
                .is_err()
            {
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        }
    });
    Running { store, stop, task }
}

impl Running {
    async fn stop(self) {
        let _ = self.stop.send(true);
        let _ = self.task.await;
        self.store.shutdown();
    }
}

/// Posts one batch as a tracker does: again after a 503, with the same message ids.
async fn send(ingest: &Ingest, site: &str, events: Vec<serde_json::Value>) -> u64 {
    let body = json!({"site_key": site, "sent_at": iso(T0), "events": events}).to_string();
    for _ in 0..300 {
        let r = ingest
            .ingest(BatchRequest {
                origin: None,
                content_type: Some("application/json"),
                body: body.as_bytes(),
            })
            .await;
        if let Ok(resp) = r {
            return u64::from(resp.accepted + resp.duplicates);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("a batch was not acknowledged within 30 s");
}

/// Posts one batch as a shop's server does: again after a 503, with the same message ids.
async fn send_server(ingest: &Ingest, events: Vec<serde_json::Value>) -> u64 {
    let body = json!({"site_key": SITE, "sent_at": iso(T0), "events": events}).to_string();
    for _ in 0..300 {
        let r = ingest
            .ingest_server(ServerBatchRequest {
                keyed: SiteKey::new(SITE).unwrap(),
                content_type: Some("application/json"),
                body: body.as_bytes(),
            })
            .await;
        if let Ok(resp) = r {
            assert!(resp.rejected.is_empty(), "{resp:?}");
            return u64::from(resp.accepted + resp.duplicates);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("a server batch was not acknowledged within 30 s");
}

/// Waits until every store has applied the log's last command.
async fn caught_up(log: &Log, stores: &[&Store]) {
    let deadline = Instant::now() + Duration::from_secs(60);
    let last = loop {
        if let Ok(mut s) = log.stream().await {
            if let Ok(info) = s.info().await {
                break info.state.last_sequence;
            }
        }
        assert!(Instant::now() < deadline, "the stream did not answer");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    for store in stores {
        while store.applied().unwrap() < last {
            assert!(Instant::now() < deadline, "a projector did not catch up");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

#[actix_web::test]
async fn batches_through_the_log_project_identically_through_a_leader_kill_and_a_restart() {
    let mut nats = Cluster::start(3);
    let config = LogConfig {
        urls: nats.urls(),
        stream: "FOOTPRINT".into(),
        replicas: 3,
        partitions: 3,
        duplicate_window: Duration::from_secs(120),
    };
    let mut log = None;
    for _ in 0..200 {
        if let Ok(l) = Log::connect(config.clone()).await {
            log = Some(l);
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let log = log.expect("the cluster made no stream within 20 s");
    let partition = log.partition(SITE);
    // Another site's commands go to another partition: one view holds both, in the stream's
    // order, as it does with many sites.
    assert_ne!(log.partition("other-shop"), partition);
    let cfg = Config::from_toml(&config_text(), &Overrides::default()).unwrap();
    let clock = Arc::new(TestClock(AtomicI64::new(T0)));
    let keys = Keys::open(&log).await.unwrap();
    let sink = LogSink::new(Arc::new(log.clone()), keys.clone());
    let ingest = Ingest::new(&cfg, Arc::new(sink), clock);

    let secrets = Secrets::new();
    let (dir_a, dir_b) = (secrets.data_dir(), secrets.data_dir());
    let a = project(&log, &keys, dir_a.path());
    let mut b = Some(project(&log, &keys, dir_b.path()));

    let mut acked = 0;
    let mut server_sent = 0;
    for n in 0..60i64 {
        if n == 20 {
            let mut s = log.stream().await.unwrap();
            let info = s.info().await.unwrap();
            let leader = info
                .cluster
                .as_ref()
                .and_then(|c| c.leader.clone())
                .unwrap();
            nats.kill9(leader.trim_start_matches('n').parse().unwrap());
        }
        if n == 30 {
            // A projector goes away; it catches up from its store when it comes back.
            b.take().unwrap().stop().await;
        }
        if n == 40 {
            for i in 0..3 {
                if !nats.is_running(i) {
                    nats.restart(i);
                }
            }
            b = Some(project(&log, &keys, dir_b.path()));
        }
        let tracker = format!("t{}", n % 12);
        let at = T0 + n * MIN;
        let mut events = vec![page(&tracker, at)];
        if n % 4 == 3 {
            let email = format!("s{}@example.com", n % 5);
            events.push(identify(&tracker, at + 1, json!({"email": email})));
        }
        acked += send(&ingest, SITE, events).await;
        send(&ingest, "other-shop", vec![page(&format!("o{n}"), at)]).await;
        if n % 6 == 5 {
            // The shop's servers: a send to an email (new or known), and an open by tracker.
            let email = format!("s{}@example.com", n % 5);
            let to = |ty: &str, m: &str| json!({"message_id": format!("srv-{n}-{m}"), "type": ty, "timestamp": iso(at + 2)});
            let mut sent = to("email_sent", "a");
            sent["contact"] = json!({ "email": email });
            let mut opened = to("email_opened", "b");
            opened["tracker_id"] = json!(tracker);
            server_sent += send_server(&ingest, vec![sent, opened]).await;
            // The open is filed under the tracker, with the browser's events.
            acked += 1;
        }
    }
    assert_eq!(server_sent, 20, "every server event acknowledged");
    assert!(acked >= 60, "{acked} events acknowledged");
    let b = b.unwrap();
    caught_up(&log, &[&a.store, &b.store]).await;

    // Every acknowledged event is in both projections, and they are the same bytes.
    let events: usize = (0..12)
        .map(|t| {
            let tracker = TrackerId::new(format!("t{t}")).unwrap();
            let (events, _) = a
                .store
                .tracker_events(&tracker, None, 1000, |_, _| true)
                .unwrap();
            events.len()
        })
        .sum();
    assert_eq!(events as u64, acked);
    let (ra, rb) = (
        a.store.state_records().unwrap(),
        b.store.state_records().unwrap(),
    );
    assert!(ra.len() > 50, "{} records", ra.len());
    assert!(ra == rb, "the two projections differ");
    // The server's sends reached the contacts their emails name, on both views.
    let sent: u64 = (0..5)
        .filter_map(|i| {
            let id = *a
                .store
                .by_email(&format!("s{i}@example.com"))
                .unwrap()
                .first()?;
            Some(
                a.store
                    .contact(id)
                    .unwrap()?
                    .contact
                    .deliveries
                    .email
                    .sent
                    .count,
            )
        })
        .sum();
    assert_eq!(sent, 10);
    a.stop().await;
    b.stop().await;
}

fn config_text() -> String {
    config(NO_LIMITS)
}
