//! Commands on a replicated log, the seam cluster mode is built on: the store's commands,
//! published to a 3-node NATS JetStream stream (R3) while its leader is killed with `kill -9`
//! and restarted, then applied by two projectors at their stream positions, one of them
//! receiving redeliveries. Each projector must equal a store that applied the commands
//! directly, byte for byte, and the stream must hold each command once.

use std::time::Duration;

use async_nats::jetstream::{self, stream};
use footprint_domain::contacts::patch::Patch;
use footprint_domain::contacts::{Confidentiality, ContactId, Fact, FactKind, IdentifyFact};
use footprint_domain::identity::Email;
use footprint_e2e::nats::Cluster;
use footprint_e2e::secrets::Secrets;
use footprint_protocol::{EventType, MessageId, SiteKey, Timestamp, TrackerId};
use footprint_store::{
    AdminKind, AdminOp, Command, Effect, EventFields, NewEvent, Store, StoreConfig, StoredKind,
    WriteRequest,
};

const T0: i64 = 1_795_168_800_000;
const COMMANDS: usize = 240;

fn event(n: usize, tracker: &str, kind: FactKind, ty: EventType) -> NewEvent {
    let at = T0 + n as i64 * 1000;
    let fields = EventFields {
        message_id: format!("m{n}"),
        kind: StoredKind::Event(ty),
        timestamp: at,
        client_timestamp: at,
        context_json: "{}".into(),
        properties_json: "{}".into(),
    };
    let fact = Fact {
        at,
        user_agent: Some("test".into()),
        kind,
        earned: None,
        order: None,
        page: None,
    };
    NewEvent::new(
        TrackerId::new(tracker).unwrap(),
        MessageId::new(format!("m{n}")).unwrap(),
        &fields,
        fact,
    )
}

/// Shoppers on 40 trackers; every fifth logs in with one of 10 emails, so contacts merge; every
/// 30th command is an admin's edit of contact 1.
fn commands() -> Vec<Command> {
    (0..COMMANDS)
        .map(|n| {
            if n % 30 == 29 {
                let body = serde_json::json!({"last_name": format!("Edit {n}")});
                let patch = Patch::parse(body.as_object().unwrap()).unwrap();
                return Command::Admin(AdminOp {
                    kind: AdminKind::Patch {
                        id: ContactId::new(1).unwrap(),
                        patch: Box::new(patch),
                    },
                    who: "ops".into(),
                    clearance: Confidentiality::Confidential,
                    at: T0 + n as i64 * 1000,
                });
            }
            let tracker = format!("t{}", n % 40);
            let ev = if n % 5 == 4 {
                let email = Email::normalize(&format!("s{}@example.com", n % 10)).unwrap();
                let traits = IdentifyFact {
                    email: Some(email),
                    ..IdentifyFact::default()
                };
                event(n, &tracker, FactKind::Identify(traits), EventType::Identify)
            } else {
                event(n, &tracker, FactKind::PageView, EventType::PageView)
            };
            Command::Events(WriteRequest {
                site: SiteKey::new("demo-shop").unwrap(),
                received_at: Timestamp::from_millis(T0 + n as i64 * 1000).unwrap(),
                sent_at: Timestamp::from_millis(T0 + n as i64 * 1000).unwrap(),
                events: vec![ev],
            })
        })
        .collect()
}

/// Publishes with its id, retrying through elections: a retry of a message whose ack was
/// lost is caught by the stream's duplicate window, so it is stored once.
async fn publish(js: &jetstream::Context, id: &str, payload: Vec<u8>) -> u64 {
    for _ in 0..300 {
        let mut headers = async_nats::HeaderMap::new();
        headers.insert("Nats-Msg-Id", id);
        let sent = js
            .publish_with_headers("fp.demo-shop", headers, payload.clone().into())
            .await;
        if let Ok(ack) = sent {
            if let Ok(ack) = ack.await {
                return ack.sequence;
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("{id} was not acknowledged within 30 s");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn commands_on_an_r3_stream_survive_a_leader_kill_and_project_byte_identical() {
    let mut cluster = Cluster::start(3);
    let addrs: Vec<async_nats::ServerAddr> =
        cluster.urls().iter().map(|u| u.parse().unwrap()).collect();
    // Fails over among the nodes while one is down.
    let client = async_nats::connect(addrs.as_slice()).await.unwrap();
    let js = jetstream::new(client);
    let config = stream::Config {
        name: "FOOTPRINT".into(),
        subjects: vec!["fp.>".into()],
        num_replicas: 3,
        storage: stream::StorageType::File,
        duplicate_window: Duration::from_secs(120),
        ..Default::default()
    };
    // The cluster elects its meta leader first; until then streams cannot be made.
    let mut made = None;
    for _ in 0..200 {
        if let Ok(s) = js.get_or_create_stream(config.clone()).await {
            made = Some(s);
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let mut stream = made.unwrap_or_else(|| panic!("no stream; node 0 said:\n{}", cluster.log(0)));

    let commands = commands();
    let mut killed = None;
    for (n, c) in commands.iter().enumerate() {
        if n == COMMANDS / 3 {
            // The stream's leader goes down mid-load.
            let info = stream.info().await.unwrap();
            let leader = info
                .cluster
                .as_ref()
                .and_then(|c| c.leader.clone())
                .unwrap();
            let i: usize = leader.trim_start_matches('n').parse().unwrap();
            cluster.kill9(i);
            killed = Some(i);
        }
        if n == 2 * COMMANDS / 3 {
            cluster.restart(killed.unwrap());
        }
        let seq = publish(&js, &format!("c{n}"), c.encode()).await;
        assert_eq!(seq, n as u64 + 1, "each command once, in order");
    }
    let info = again("the stream's info", || stream.get_info()).await;
    assert_eq!(info.state.messages, COMMANDS as u64);

    let secrets = Secrets::new();
    // The store a single node would hold: the commands applied directly, in order.
    let direct_dir = secrets.data_dir();
    let direct = Store::open(direct_dir.path(), &StoreConfig::default()).unwrap();
    for (n, c) in commands.iter().enumerate() {
        direct
            .apply_at(n as u64 + 1, c.clone())
            .unwrap()
            .await
            .unwrap()
            .unwrap();
    }
    let expected = direct.state_records().unwrap();
    direct.shutdown();

    // Two projectors read the log; the second is also handed every tenth message again, as
    // a consumer is after a crash before its ack.
    for redeliver in [false, true] {
        let dir = secrets.data_dir();
        let projector = Store::open(dir.path(), &StoreConfig::default()).unwrap();
        let mut skipped = 0;
        for seq in 1..=COMMANDS as u64 {
            let msg = again("reading a message", || stream.get_raw_message(seq)).await;
            let c = Command::decode(&msg.payload).unwrap();
            let times = if redeliver && seq % 10 == 0 { 2 } else { 1 };
            for _ in 0..times {
                let effect = projector.apply_at(seq, c.clone()).unwrap().await.unwrap();
                skipped += usize::from(effect.unwrap() == Effect::AlreadyApplied);
            }
        }
        assert_eq!(skipped, if redeliver { COMMANDS / 10 } else { 0 });
        assert_eq!(projector.applied().unwrap(), COMMANDS as u64);
        let got = projector.state_records().unwrap();
        projector.shutdown();
        assert!(got.len() > 100, "{} records", got.len());
        assert!(
            got == expected,
            "redeliver={redeliver}: the projection differs"
        );
    }
    again("purging", || async { stream.purge().await }).await;
}

/// Right after the restart the stream may still be electing: "temporarily unavailable" is
/// worth another try for up to 30 s, as a consumer would retry.
async fn again<T, E: std::fmt::Display, F: std::future::Future<Output = Result<T, E>>>(
    what: &str,
    mut f: impl FnMut() -> F,
) -> T {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        match f().await {
            Ok(v) => return v,
            Err(e) if std::time::Instant::now() < deadline => {
                eprintln!("{what}: {e}; again");
                tokio::time::sleep(std::time::Duration::from_millis(200)).await;
            }
            Err(e) => panic!("{what}: {e}"),
        }
    }
}
