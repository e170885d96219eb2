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
    client: async_nats::Client,
    js: jetstream::Context,
    config: LogConfig,
}

impl LogConfig {
    /// The log as `[cluster]` lays it out.
    pub fn of(c: &crate::config::ClusterConfig) -> LogConfig {
        LogConfig {
            urls: c.urls.clone(),
            stream: c.stream.clone(),
            replicas: c.replicas,
            partitions: c.partitions,
            duplicate_window: Duration::from_secs(u64::from(c.duplicate_window_seconds)),
        }
    }
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
        let client = async_nats::ConnectOptions::new()
            .name("footprint")
            // A hung server (SIGSTOP, a frozen VM) keeps its TCP connection open: only missed
            // pings tell. The default 60 s would stall every write through it that long.
            .ping_interval(Duration::from_secs(1))
            .connect(addrs.as_slice())
            .await
            .map_err(|e| connect_error(e.to_string()))?;
        let log = Log {
            js: jetstream::new(client.clone()),
            client,
            config,
        };
        // A cluster that just started elects its JetStream leader first: until then stream
        // requests time out. Reachable servers get that long; a wrong setting fails after it.
        let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
        loop {
            match log.stream().await {
                Ok(_) => return Ok(log),
                Err(e) if tokio::time::Instant::now() >= deadline => return Err(e),
                Err(e) => {
                    tracing::info!(error = %e, "waiting for JetStream to take the stream");
                    tokio::time::sleep(Duration::from_millis(500)).await;
                }
            }
        }
    }

    /// The stream, made if it is missing.
    pub async fn stream(&self) -> Result<stream::Stream, LogError> {
        let c = &self.config;
        self.js
            .get_or_create_stream(stream::Config {
                name: c.stream.clone(),
                subjects: vec![format!("{}.p.*", c.stream), self.admin_subject()],
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

    /// Where admins' commands go. They name contacts, not sites, and every projector holds
    /// every partition, so one subject keeps them in one order with the events.
    pub fn admin_subject(&self) -> String {
        format!("{}.admin", self.config.stream)
    }

    /// The core NATS connection, for request-reply and the sessions bucket.
    pub fn client(&self) -> &async_nats::Client {
        &self.client
    }

    pub fn jetstream(&self) -> &jetstream::Context {
        &self.js
    }

    pub fn config(&self) -> &LogConfig {
        &self.config
    }

    /// The key-value bucket `<stream>_<name>`, made if it is missing, replicated like the
    /// stream. An existing bucket is taken as it is.
    pub async fn bucket(
        &self,
        name: &str,
        storage: stream::StorageType,
        max_age: Duration,
    ) -> Result<jetstream::kv::Store, LogError> {
        let bucket = format!("{}_{name}", self.config.stream);
        let made = self
            .js
            .create_key_value(jetstream::kv::Config {
                bucket: bucket.clone(),
                history: 1,
                max_age,
                num_replicas: self.config.replicas,
                storage,
                ..Default::default()
            })
            .await;
        match made {
            Ok(store) => Ok(store),
            Err(made) => self.js.get_key_value(&bucket).await.map_err(|e| {
                LogError::Stream(format!(
                    "the bucket {bucket} is not available ({made}; {e})"
                ))
            }),
        }
    }

    /// The stream position of the last message on `subject`; 0 when it has none.
    pub async fn last_position(&self, subject: &str) -> Result<u64, LogError> {
        // Without the stream's info: one request to its leader, not two.
        let stream = self
            .js
            .get_stream_no_info(&self.config.stream)
            .await
            .map_err(|e| LogError::Stream(e.to_string()))?;
        match stream.get_last_raw_message_by_subject(subject).await {
            Ok(m) => Ok(m.sequence),
            Err(e) if e.kind() == stream::LastRawMessageErrorKind::NoMessageFound => Ok(0),
            Err(e) => Err(LogError::Read(e.to_string())),
        }
    }

    /// Appends an admin's command; like [`Log::append`].
    pub async fn append_admin(&self, id: &str, command: &Command) -> Result<u64, LogError> {
        self.publish(self.admin_subject(), id, command)
            .await
            .map(|(seq, _)| seq)
    }

    /// Appends a request that every view compact its files (no command: nothing changes).
    pub async fn append_compaction(&self, id: &str) -> Result<u64, LogError> {
        let mut headers = async_nats::HeaderMap::new();
        headers.insert(super::projector::OP, super::projector::COMPACT);
        self.send(self.admin_subject(), id, headers, Vec::new())
            .await
            .map(|(seq, _)| seq)
    }

    /// Appends an admin's command sealed under the key `key_name`.
    pub async fn append_admin_sealed(
        &self,
        id: &str,
        key_name: &str,
        sealed: Vec<u8>,
    ) -> Result<u64, LogError> {
        let mut headers = async_nats::HeaderMap::new();
        headers.insert(super::keys::HEADER, key_name);
        self.send(self.admin_subject(), id, headers, sealed)
            .await
            .map(|(seq, _)| seq)
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
        self.publish(self.subject(partition), id, command).await
    }

    /// Appends a command sealed under the key `key_name` (`cluster::keys`) to `partition`;
    /// like [`Log::append`].
    pub async fn append_sealed(
        &self,
        partition: u32,
        id: &str,
        key_name: &str,
        sealed: Vec<u8>,
    ) -> Result<(u64, bool), LogError> {
        let mut headers = async_nats::HeaderMap::new();
        headers.insert(super::keys::HEADER, key_name);
        self.send(self.subject(partition), id, headers, sealed)
            .await
    }

    async fn publish(
        &self,
        subject: String,
        id: &str,
        command: &Command,
    ) -> Result<(u64, bool), LogError> {
        self.send(subject, id, async_nats::HeaderMap::new(), command.encode())
            .await
    }

    async fn send(
        &self,
        subject: String,
        id: &str,
        mut headers: async_nats::HeaderMap,
        payload: Vec<u8>,
    ) -> Result<(u64, bool), LogError> {
        headers.insert("Nats-Msg-Id", id);
        let publish = |e: String| LogError::Publish(e);
        let ack = self
            .js
            .publish_with_headers(subject, headers, payload.into())
            .await
            .map_err(|e| publish(e.to_string()))?
            .await
            .map_err(|e| publish(e.to_string()))?;
        Ok((ack.sequence, ack.duplicate))
    }
}
