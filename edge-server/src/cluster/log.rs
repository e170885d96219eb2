//! The replicated log: one JetStream stream, a subject per partition.

use std::time::Duration;

use async_nats::jetstream::{self, stream};
use footprint_store::Command;

/// Where the log is and how it is laid out.
#[derive(Debug, Clone)]
pub struct LogConfig {
    /// The NATS servers; the client fails over among them.
    pub urls: Vec<String>,
    /// The stream's name; its subjects are `<stream>.p.<partition>`.
    pub stream: String,
    /// Copies of each message (3 in production: one node can fail without losing an ack).
    pub replicas: usize,
    /// Partitions the sites are spread over. Fixed for the life of a stream: a site's
    /// partition is a hash of its key modulo this.
    pub partitions: u32,
    /// How long a `Nats-Msg-Id` is remembered for deduplication.
    pub duplicate_window: Duration,
}

#[derive(Debug, thiserror::Error)]
pub enum LogError {
    #[error("cannot reach NATS at {urls}: {why}")]
    Connect { urls: String, why: String },
    #[error("the log's stream is not available: {0}")]
    Stream(String),
    #[error("the log did not take the command: {0}")]
    Publish(String),
    #[error("cannot read the log: {0}")]
    Read(String),
}

/// A connection to the log. Cheap to clone.
#[derive(Clone)]
pub struct Log {
    js: jetstream::Context,
    config: LogConfig,
}

impl Log {
    /// Connects and makes sure the stream exists as configured.
    pub async fn connect(config: LogConfig) -> Result<Log, LogError> {
        let connect_error = |why: String| LogError::Connect {
            urls: config.urls.join(", "),
            why,
        };
        let addrs = config
            .urls
            .iter()
            .map(|u| u.parse::<async_nats::ServerAddr>())
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| connect_error(e.to_string()))?;
        let client = async_nats::connect(addrs.as_slice())
            .await
            .map_err(|e| connect_error(e.to_string()))?;
        let log = Log {
            js: jetstream::new(client),
            config,
        };
        log.stream().await?;
        Ok(log)
    }

    /// The stream, made if it is missing.
    pub async fn stream(&self) -> Result<stream::Stream, LogError> {
        let c = &self.config;
        self.js
            .get_or_create_stream(stream::Config {
                name: c.stream.clone(),
                subjects: vec![format!("{}.p.*", c.stream)],
                num_replicas: c.replicas,
                storage: stream::StorageType::File,
                duplicate_window: c.duplicate_window,
                ..Default::default()
            })
            .await
            .map_err(|e| LogError::Stream(e.to_string()))
    }

    /// The partition of a site: FNV-1a of its key, so that every process agrees.
    pub fn partition(&self, site: &str) -> u32 {
        let mut h: u32 = 0x811c_9dc5;
        for b in site.bytes() {
            h ^= u32::from(b);
            h = h.wrapping_mul(0x0100_0193);
        }
        h % self.config.partitions.max(1)
    }

    pub fn subject(&self, partition: u32) -> String {
        format!("{}.p.{partition}", self.config.stream)
    }

    /// Appends a command to its partition and waits for the stream's ack (a quorum of its
    /// replicas holds it). Returns its stream sequence, and whether the stream had already
    /// taken a command with this `id` within its duplicate window.
    pub async fn append(
        &self,
        partition: u32,
        id: &str,
        command: &Command,
    ) -> Result<(u64, bool), LogError> {
        let mut headers = async_nats::HeaderMap::new();
        headers.insert("Nats-Msg-Id", id);
        let publish = |e: String| LogError::Publish(e);
        let ack = self
            .js
            .publish_with_headers(self.subject(partition), headers, command.encode().into())
            .await
            .map_err(|e| publish(e.to_string()))?
            .await
            .map_err(|e| publish(e.to_string()))?;
        Ok((ack.sequence, ack.duplicate))
    }
}
