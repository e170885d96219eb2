//! sled's raw batched-write rate with the edge's own record shapes: the storage ceiling that
//! `cargo xtask bench ingest` compares ingest against. No HTTP, no parsing, no writer queue:
//! one thread writes groups of 64 requests × 20 events (one chunk and 20 dedupe keys per
//! request) with one `apply_batch` and one `flush` per group, as the writer does under load.

use std::fmt;
use std::path::Path;
use std::time::{Duration, Instant};

use footprint_protocol::{MessageId, SiteKey, TrackerId};

use super::keys;
use super::record::{self, ChunkHeader, EventFields};
use super::StoreError;
use crate::StoreConfig;

pub struct Report {
    pub events: u64,
    pub records: u64,
    pub commits: u64,
    pub elapsed: Duration,
    pub bytes_on_disk: u64,
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = self.elapsed.as_secs_f64();
        write!(
            f,
            "sled ceiling: {:.0} events/s ({:.0} records/s, {:.0} group commits/s) over {:.1} s; {} bytes on disk",
            self.events as f64 / s,
            self.records as f64 / s,
            self.commits as f64 / s,
            s,
            self.bytes_on_disk
        )
    }
}

const CONTEXT: &str = r#"{"page_url":"https://shop.example/p/linen-shirt-blue?utm_source=newsletter","referrer":"https://shop.example/c/shirts","user_agent":"Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36","locale":"en-GB","screen":"1920x1080","utm":{"source":"newsletter","medium":"email","campaign":"autumn"}}"#;
const PROPS: &str = r#"{"product_id":"sku-10442","name":"Linen shirt, blue","price":49.9,"currency":"EUR","category":"Shirts","url":"https://shop.example/p/linen-shirt-blue","image_url":"https://shop.example/img/10442.svg"}"#;

pub fn run(dir: &Path, cfg: &StoreConfig, seconds: u64) -> Result<Report, StoreError> {
    let db = sled::Config::new()
        .path(dir)
        .cache_capacity(cfg.cache_mb.saturating_mul(1 << 20))
        .mode(sled::Mode::HighThroughput)
        .open()?;
    let tree = db.open_tree("events")?;
    // Sealed as the writer seals them, under one contact's key.
    let vault = super::vault::Vault::open(dir, true)?;
    vault.reserve(1)?;
    let mut ring = vault.keyring();
    let site = SiteKey::new("bench").map_err(|e| StoreError::Corrupt(e.to_string()))?;
    let start = Instant::now();
    let (mut events, mut records, mut commits, mut seq) = (0u64, 0u64, 0u64, 0u64);
    while start.elapsed() < Duration::from_secs(seconds) {
        let mut batch = sled::Batch::default();
        for _ in 0..64 {
            seq += 1;
            let tracker = TrackerId::new(format!("0193a1b2-c3d4-7e5f-8a9b-{seq:012x}"))
                .map_err(|e| StoreError::Corrupt(e.to_string()))?;
            let header = ChunkHeader {
                site: "bench".into(),
                received_at: 1,
                sent_at: 1,
            };
            let mut encoded = Vec::with_capacity(20);
            for i in 0..20u64 {
                let message_id = format!("0193a1b2-{seq:012x}-{i:04}");
                let fields = EventFields {
                    message_id: message_id.clone(),
                    kind: record::Kind::Event(footprint_protocol::EventType::ProductView),
                    timestamp: 1,
                    client_timestamp: 1,
                    context_json: CONTEXT.into(),
                    properties_json: PROPS.into(),
                };
                encoded.push(record::encode_event(&fields));
                let mid =
                    MessageId::new(message_id).map_err(|e| StoreError::Corrupt(e.to_string()))?;
                batch.insert(keys::dedupe(&site, &mid), &keys::encode_u64(seq)[..]);
            }
            let key = keys::event_chunk(&tracker, seq);
            let runs = record::runs(encoded.iter().map(|e| (1, e.as_slice())));
            let chunk = record::encode_chunk(&mut ring, &key, &header, u32::MAX, &runs)?;
            batch.insert(key, chunk);
            events += 20;
            records += 21;
        }
        tree.apply_batch(batch)?;
        db.flush()?;
        commits += 1;
    }
    let elapsed = start.elapsed();
    Ok(Report {
        events,
        records,
        commits,
        elapsed,
        bytes_on_disk: db.size_on_disk()?,
    })
}
