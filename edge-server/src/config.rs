//! Configuration, built once in two stages (ripgrep's habit): the raw TOML is read and checked
//! field by field, then environment variables and flags override it, and only then is a
//! [`Config`] handed to the server. Every default is documented on its field.

use std::collections::HashSet;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use footprint_protocol::SiteKey;
use serde::Deserialize;

use crate::access::{Role, TokenDigest};
use crate::contacts::points::PointRules;
use crate::identity::Region;
pub use footprint_store::StoreConfig;

/// The whole configuration of one edge process.
#[derive(Debug, Clone)]
pub struct Config {
    /// Address to listen on. Default `127.0.0.1:8787`; port 0 picks a free port.
    pub listen: SocketAddr,
    /// The sled store's directory. Default `footprint-data`, relative to the working directory.
    pub data_dir: PathBuf,
    /// Sites allowed to send events. Default: one dev site `demo-shop` for
    /// `http://127.0.0.1:8080` and `http://localhost:8080`.
    pub sites: Vec<SiteConfig>,
    /// Admin tokens. Default: one dev admin `dev` with token `dev-admin-token`.
    pub admins: Vec<AdminConfig>,
    pub rate_limit: RateLimitConfig,
    pub server: ServerConfig,
    pub store: StoreConfig,
    pub identity: IdentityConfig,
    pub contacts: ContactsConfig,
    /// The tracker's build (`cargo xtask sdk` writes `sdk-wasm/pkg`), served under `/sdk/v1/`.
    /// Default: none, and those routes answer 404 saying how to enable them.
    pub sdk_dir: Option<PathBuf>,
    /// `[first_party]`: the tracker and its batches also under paths of the operator's
    /// choosing. Default: none.
    pub first_party: Option<FirstParty>,
    /// `[cluster]`: run as part of a cluster on a replicated NATS JetStream log (README,
    /// "Running a cluster"). Default: none, one process on its own sled store.
    pub cluster: Option<ClusterConfig>,
    /// True when no config file was given and the dev defaults are in force.
    pub is_dev_default: bool,
}

#[derive(Debug, Clone)]
pub struct SiteConfig {
    pub key: SiteKey,
    /// Exact browser origins (`scheme://host[:port]`) allowed to post for this site.
    pub origins: Vec<String>,
    /// Lead-scoring rules (`[sites.points]`); `None`: no points.
    pub points: Option<PointRules>,
    /// The secret the shop's servers send to `POST /v1/server/batch` (`server_key`, or its
    /// `server_key_sha256`); `None`: the site takes no server events.
    pub server_key: Option<TokenDigest>,
}

#[derive(Debug, Clone)]
pub struct AdminConfig {
    pub name: String,
    pub token: TokenDigest,
    pub role: Role,
}

/// Limits per client IP and per site, in requests per second with a burst allowance.
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RateLimitConfig {
    /// Default 50 requests/s per client IP: a tracker sends one batch every 2 s, so this leaves
    /// room for many shoppers behind one NAT.
    pub per_ip_per_second: u32,
    /// Default 200.
    pub per_ip_burst: u32,
    /// Default 5,000 requests/s per site.
    pub per_site_per_second: u32,
    /// Default 10,000.
    pub per_site_burst: u32,
    /// Take the client IP from `X-Forwarded-For`. Default false: only turn it on behind a proxy
    /// you run, or clients can pick their own rate-limit key.
    pub trust_forwarded_for: bool,
    /// How many proxies of yours stand in front of the edge and append to `X-Forwarded-For`.
    /// The client is the entry that many places from the right: the rightmost for one proxy
    /// (default 1). Entries further left were written by the client and are never trusted.
    pub trusted_proxy_hops: u8,
    /// Failed sign-ins and bad bearer tokens one client (an IPv4 address, or an IPv6 /64) may
    /// make in a minute before every attempt of its gets 429 for the rest of that minute.
    /// Default 10.
    pub auth_failures_per_minute: u32,
}

impl Default for RateLimitConfig {
    fn default() -> Self {
        RateLimitConfig {
            per_ip_per_second: 50,
            per_ip_burst: 200,
            per_site_per_second: 5_000,
            per_site_burst: 10_000,
            trust_forwarded_for: false,
            trusted_proxy_hops: 1,
            auth_failures_per_minute: 10,
        }
    }
}

/// How identify's values are matched.
#[derive(Debug, Clone, Copy, Default)]
pub struct IdentityConfig {
    /// The region assumed for phone numbers written without a country code (ISO 3166-1
    /// alpha-2, e.g. `ES`). Default: none, and such numbers are refused with a warning.
    pub default_region: Option<Region>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawIdentity {
    default_region: Option<String>,
}

/// How contact sheets are computed.
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ContactsConfig {
    /// A cart untouched this long, with no purchase after it, is abandoned. Default 60.
    pub abandoned_cart_after_minutes: u32,
    /// How often the RFM quintiles are recomputed, in seconds. Default 600.
    pub rfm_every_seconds: u32,
    /// How often the CLV models are fitted, in seconds. Default 3600: a fit of a million
    /// purchasers takes a few seconds of one core, and predictions move slowly.
    pub clv_every_seconds: u32,
    /// A site's currency gets CLV predictions once it has this many purchasing contacts.
    /// Default 100.
    pub clv_min_customers: u64,
    /// ... of whom this many bought more than once. Default 20.
    pub clv_min_repeat_customers: u64,
    /// ... and its first order is at least this many days old. Default 90.
    pub clv_min_history_days: u64,
}

impl Default for ContactsConfig {
    fn default() -> Self {
        ContactsConfig {
            abandoned_cart_after_minutes: 60,
            rfm_every_seconds: 600,
            clv_every_seconds: 3600,
            clv_min_customers: 100,
            clv_min_repeat_customers: 20,
            clv_min_history_days: 90,
        }
    }
}

impl ContactsConfig {
    pub fn clv_rules(&self) -> crate::contacts::predict::FitRules {
        crate::contacts::predict::FitRules {
            min_customers: self.clv_min_customers,
            min_repeat_customers: self.clv_min_repeat_customers,
            min_history_days: self.clv_min_history_days,
        }
    }
}

/// HTTP connection limits. Put the edge behind a reverse proxy with its own timeouts in
/// production (README, "Production"); these bound what reaches the edge anyway.
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ServerConfig {
    /// The whole request body must arrive within this many seconds of the handler starting
    /// to read it, else 408 and the connection is closed. Default 10: a batch is at most
    /// 512 KiB. Bodies with their own larger limit (the 64 MiB CSV import) get
    /// `import_timeout_seconds` instead.
    pub body_timeout_seconds: u32,
    /// The same for the CSV import's body. Default 300.
    pub import_timeout_seconds: u32,
    /// The request line and headers must arrive within this many seconds. Default 5.
    pub header_timeout_seconds: u32,
    /// Most connections open at once, per worker thread (one worker per core). Default
    /// 10,000. The edge also raises its open-file limit to the system's hard limit at start.
    pub max_connections: usize,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            body_timeout_seconds: 10,
            import_timeout_seconds: 300,
            header_timeout_seconds: 5,
            max_connections: 10_000,
        }
    }
}

/// First-party paths: the edge also serves the loader, the tracker's files and its batch
/// endpoint under these paths, so that a reverse proxy on the shop's own domain can forward
/// them (README, "First-party paths"). Requests to the shop's own domain and paths of its
/// choosing are not on ad blockers' lists of tracking hosts, and the tracker's cookie is
/// first-party anyway.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FirstParty {
    /// The loader, e.g. `/t/fp.js`. The tracker's versioned files are served beside it, under
    /// `b/<build>/` (`/t/b/<build>/…`), and the push service worker as `footprint-sw.js`.
    pub loader_path: String,
    /// The batch endpoint, e.g. `/t/e`: the same as `POST /v1/batch`.
    pub batch_path: String,
}

impl FirstParty {
    /// The directory of the loader: where its versioned files and the worker are served.
    pub fn dir(&self) -> &str {
        let end = self.loader_path.rfind('/').map_or(0, |i| i + 1);
        &self.loader_path[..end]
    }

    fn check(&self) -> Result<(), ConfigError> {
        // Paths the edge already serves: a first-party path must not shadow one.
        const TAKEN: [&str; 6] = ["/v1/", "/sdk/", "/admin", "/healthz", "/readyz", "/metrics"];
        for (key, path) in [
            ("first_party.loader_path", &self.loader_path),
            ("first_party.batch_path", &self.batch_path),
        ] {
            let well_formed = path.starts_with('/')
                && path.len() <= 64
                && !path.contains("//")
                && path.split('/').all(|seg| seg != "." && seg != "..")
                && path
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"/-._~".contains(&b));
            if !well_formed {
                return Err(invalid(
                    key,
                    format!(
                        "`{path}` must be an absolute path of at most 64 letters, digits and \
                         / - . _ ~, such as /t/fp.js"
                    ),
                ));
            }
            if let Some(t) = TAKEN.iter().find(|t| path.starts_with(*t)) {
                return Err(invalid(
                    key,
                    format!("`{path}` is under {t}, which the edge serves already; pick another"),
                ));
            }
        }
        if !self.loader_path.ends_with(".js") {
            return Err(invalid(
                "first_party.loader_path",
                format!("`{}` must end with .js", self.loader_path),
            ));
        }
        let dir = self.dir();
        if self.batch_path == self.loader_path
            || self.batch_path.starts_with(&format!("{dir}b/"))
            || self.batch_path == format!("{dir}footprint-sw.js")
        {
            return Err(invalid(
                "first_party.batch_path",
                format!(
                    "`{}` is one of the tracker's file paths under {dir}; pick another",
                    self.batch_path
                ),
            ));
        }
        Ok(())
    }
}

/// What a process does in a cluster.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClusterRole {
    /// Takes batches and admin requests over HTTP; keeps nothing on disk. Batches go to the
    /// log; admin requests go to a projector over NATS.
    Edge,
    /// Applies the log into its sled view in `data_dir` and answers admin requests over NATS.
    Projector,
    /// Both in one process: admin requests are answered from its own view.
    Both,
}

impl ClusterRole {
    /// Whether the process keeps a view (a sled store) of the log.
    pub fn projects(self) -> bool {
        matches!(self, ClusterRole::Projector | ClusterRole::Both)
    }

    /// Whether the process serves batches and admins over HTTP.
    pub fn serves(self) -> bool {
        matches!(self, ClusterRole::Edge | ClusterRole::Both)
    }
}

/// `[cluster]`: where the log is, how it is laid out, and this process's part.
#[derive(Debug, Clone)]
pub struct ClusterConfig {
    /// NATS servers, e.g. `["nats://10.0.0.1:4222", "nats://10.0.0.2:4222"]`. The client
    /// fails over among them. Required.
    pub urls: Vec<String>,
    /// `edge`, `projector` or `both`. Required.
    pub role: ClusterRole,
    /// The JetStream stream's name; its subjects are `<stream>.p.<partition>` and
    /// `<stream>.admin`. Default `FOOTPRINT`.
    pub stream: String,
    /// Copies of each command: 3 (default) lets one NATS node fail without losing an ack.
    pub replicas: usize,
    /// Partitions sites are spread over; fixed for the life of the stream. Default 16.
    pub partitions: u32,
    /// How long JetStream remembers a batch's `Nats-Msg-Id` for deduplication. Default 120.
    pub duplicate_window_seconds: u32,
    /// How long an edge waits for a projector's answer to an admin request, and an admin
    /// write for its command to be applied. Default 30.
    pub request_timeout_seconds: u32,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCluster {
    urls: Option<Vec<String>>,
    role: Option<String>,
    stream: Option<String>,
    replicas: Option<usize>,
    partitions: Option<u32>,
    duplicate_window_seconds: Option<u32>,
    request_timeout_seconds: Option<u32>,
}

impl RawCluster {
    fn check(self) -> Result<ClusterConfig, ConfigError> {
        let urls = self.urls.unwrap_or_default();
        if urls.is_empty() {
            return Err(invalid(
                "cluster.urls",
                "give the NATS servers, e.g. urls = [\"nats://127.0.0.1:4222\"]",
            ));
        }
        for (i, u) in urls.iter().enumerate() {
            if u.parse::<async_nats::ServerAddr>().is_err() {
                return Err(invalid(
                    format!("cluster.urls[{i}]"),
                    format!("`{u}` is not a NATS address like nats://127.0.0.1:4222"),
                ));
            }
        }
        let role = match self.role.as_deref() {
            Some("edge") => ClusterRole::Edge,
            Some("projector") => ClusterRole::Projector,
            Some("both") => ClusterRole::Both,
            Some(other) => {
                return Err(invalid(
                    "cluster.role",
                    format!("`{other}` is not a role; use edge, projector or both"),
                ))
            }
            None => return Err(invalid("cluster.role", "give edge, projector or both")),
        };
        let stream = self.stream.unwrap_or_else(|| "FOOTPRINT".into());
        // JetStream names: no dots, spaces, wildcards or path separators.
        if stream.is_empty()
            || stream.len() > 32
            || !stream
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
        {
            return Err(invalid(
                "cluster.stream",
                format!("`{stream}` must be 1 to 32 letters, digits, - or _"),
            ));
        }
        let replicas = self.replicas.unwrap_or(3);
        if !(1..=5).contains(&replicas) {
            return Err(invalid(
                "cluster.replicas",
                format!("{replicas} must be 1 to 5 (JetStream's limit); 3 survives one node"),
            ));
        }
        let partitions = self.partitions.unwrap_or(16);
        if !(1..=1024).contains(&partitions) {
            return Err(invalid(
                "cluster.partitions",
                format!("{partitions} must be 1 to 1024"),
            ));
        }
        let duplicate_window_seconds = self.duplicate_window_seconds.unwrap_or(120);
        if duplicate_window_seconds == 0 {
            return Err(invalid(
                "cluster.duplicate_window_seconds",
                "must be at least 1",
            ));
        }
        let request_timeout_seconds = self.request_timeout_seconds.unwrap_or(30);
        if request_timeout_seconds == 0 {
            return Err(invalid(
                "cluster.request_timeout_seconds",
                "must be at least 1",
            ));
        }
        Ok(ClusterConfig {
            urls,
            role,
            stream,
            replicas,
            partitions,
            duplicate_window_seconds,
            request_timeout_seconds,
        })
    }
}

/// Values that override the file: from flags first, then from the environment.
#[derive(Debug, Clone, Default)]
pub struct Overrides {
    pub listen: Option<String>,
    pub data_dir: Option<PathBuf>,
    pub sdk_dir: Option<PathBuf>,
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config file {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("config file {path}: {message}")]
    Parse { path: PathBuf, message: String },
    #[error("config key `{key}`: {message}")]
    Invalid { key: String, message: String },
}

fn invalid(key: impl Into<String>, message: impl Into<String>) -> ConfigError {
    ConfigError::Invalid {
        key: key.into(),
        message: message.into(),
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    listen: Option<String>,
    data_dir: Option<PathBuf>,
    sdk_dir: Option<PathBuf>,
    #[serde(default)]
    sites: Vec<RawSite>,
    #[serde(default)]
    admins: Vec<RawAdmin>,
    #[serde(default)]
    rate_limit: RateLimitConfig,
    #[serde(default)]
    server: ServerConfig,
    #[serde(default)]
    store: StoreConfig,
    #[serde(default)]
    identity: RawIdentity,
    #[serde(default)]
    contacts: ContactsConfig,
    first_party: Option<FirstParty>,
    cluster: Option<RawCluster>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSite {
    key: String,
    #[serde(default)]
    origins: Vec<String>,
    points: Option<RawPoints>,
    server_key: Option<String>,
    server_key_sha256: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPoints {
    #[serde(default)]
    events: std::collections::BTreeMap<String, f64>,
    #[serde(default)]
    pages: Vec<RawPageRule>,
    #[serde(default)]
    purchase_per_unit: f64,
    half_life_days: Option<f64>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPageRule {
    pattern: String,
    points: f64,
}

/// Checks `[sites.points]` of site `i`; errors name the key.
fn point_rules(i: usize, raw: RawPoints) -> Result<PointRules, ConfigError> {
    use crate::contacts::points::{PageRule, MAX_PAGE_RULES, MAX_RULE_POINTS};
    let at = |k: &str| format!("sites[{i}].points.{k}");
    let points = |k: String, v: f64| {
        if v.is_finite() && v.abs() <= MAX_RULE_POINTS {
            Ok(v)
        } else {
            Err(invalid(
                k,
                format!("must be a number from -{MAX_RULE_POINTS} to {MAX_RULE_POINTS}"),
            ))
        }
    };
    for (name, v) in &raw.events {
        let known = footprint_protocol::EventType::parse(name).is_some()
            || name.strip_prefix("custom.").is_some_and(|n| !n.is_empty());
        if !known {
            let all: Vec<&str> = footprint_protocol::EventType::ALL
                .iter()
                .map(|t| t.as_str())
                .collect();
            return Err(invalid(
                at(&format!("events.{name}")),
                format!(
                    "is not an event type; use one of {}, or custom.NAME",
                    all.join(", ")
                ),
            ));
        }
        points(at(&format!("events.{name}")), *v)?;
    }
    if raw.pages.len() > MAX_PAGE_RULES {
        return Err(invalid(
            at("pages"),
            format!("has more than {MAX_PAGE_RULES} rules"),
        ));
    }
    let mut pages = Vec::with_capacity(raw.pages.len());
    for (j, p) in raw.pages.into_iter().enumerate() {
        if !(p.pattern.starts_with('/') || p.pattern.starts_with('*')) || p.pattern.len() > 2048 {
            return Err(invalid(
                at(&format!("pages[{j}].pattern")),
                "must be a path starting with / or *, e.g. /pricing*",
            ));
        }
        pages.push(PageRule {
            points: points(at(&format!("pages[{j}].points")), p.points)?,
            pattern: p.pattern,
        });
    }
    let purchase_per_unit = points(at("purchase_per_unit"), raw.purchase_per_unit)?;
    if let Some(h) = raw.half_life_days {
        if !(h.is_finite() && (0.01..=36_500.0).contains(&h)) {
            return Err(invalid(
                at("half_life_days"),
                "must be from 0.01 to 36500 days",
            ));
        }
    }
    Ok(PointRules {
        events: raw.events,
        pages,
        purchase_per_unit,
        half_life_days: raw.half_life_days,
    })
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawAdmin {
    name: String,
    token: Option<String>,
    token_sha256: Option<String>,
    role: String,
}

pub const DEFAULT_LISTEN: &str = "127.0.0.1:8787";
pub const DEFAULT_DATA_DIR: &str = "footprint-data";
pub const DEV_SITE: &str = "demo-shop";
pub const DEV_ADMIN_TOKEN: &str = "dev-admin-token";
/// The dev defaults' server key, for trying `POST /v1/server/batch` on a loopback.
pub const DEV_SERVER_KEY: &str = "dev-server-key";
/// Shortest admin token a config file may give (the dev defaults' token is shorter, and only
/// ever used on a developer's loopback). A `token_sha256` cannot be checked: its token is the
/// operator's to make long.
pub const MIN_TOKEN_CHARS: usize = 24;

impl Config {
    /// Loads `path` if given, else the dev defaults, then applies `overrides`.
    pub fn load(path: Option<&Path>, overrides: &Overrides) -> Result<Config, ConfigError> {
        let (raw, is_dev_default) = match path {
            Some(path) => {
                let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
                    path: path.to_owned(),
                    source,
                })?;
                let raw: RawConfig = toml::from_str(&text).map_err(|e| ConfigError::Parse {
                    path: path.to_owned(),
                    message: e.to_string().trim_end().to_owned(),
                })?;
                (raw, false)
            }
            None => (dev_defaults(), true),
        };
        Config::build(raw, overrides, is_dev_default)
    }

    /// Parses a config from TOML text, as the file would be.
    pub fn from_toml(text: &str, overrides: &Overrides) -> Result<Config, ConfigError> {
        let raw: RawConfig = toml::from_str(text).map_err(|e| ConfigError::Parse {
            path: PathBuf::from("<inline>"),
            message: e.to_string().trim_end().to_owned(),
        })?;
        Config::build(raw, overrides, false)
    }

    fn build(raw: RawConfig, ov: &Overrides, is_dev_default: bool) -> Result<Config, ConfigError> {
        let listen_text = ov
            .listen
            .clone()
            .or(raw.listen)
            .unwrap_or_else(|| DEFAULT_LISTEN.into());
        let listen = listen_text.parse::<SocketAddr>().map_err(|_| {
            invalid(
                "listen",
                format!("`{listen_text}` is not an address like 127.0.0.1:8787"),
            )
        })?;
        let data_dir = ov
            .data_dir
            .clone()
            .or(raw.data_dir)
            .unwrap_or_else(|| DEFAULT_DATA_DIR.into());
        if data_dir.as_os_str().is_empty() {
            return Err(invalid("data_dir", "must not be empty"));
        }

        if raw.sites.is_empty() {
            return Err(invalid(
                "sites",
                "at least one [[sites]] entry is needed to accept events",
            ));
        }
        let mut sites = Vec::with_capacity(raw.sites.len());
        let mut seen = HashSet::new();
        for (i, s) in raw.sites.into_iter().enumerate() {
            let key = SiteKey::new(s.key.clone())
                .map_err(|e| invalid(format!("sites[{i}].key"), format!("`{}` {e}", s.key)))?;
            if !seen.insert(key.clone()) {
                return Err(invalid(
                    format!("sites[{i}].key"),
                    format!("`{key}` appears twice"),
                ));
            }
            for (j, o) in s.origins.iter().enumerate() {
                check_origin(o).map_err(|m| invalid(format!("sites[{i}].origins[{j}]"), m))?;
            }
            let server_key =
                server_key(i, &key, s.server_key, s.server_key_sha256, is_dev_default)?;
            if let Some(k) = &server_key {
                if sites
                    .iter()
                    .any(|o: &SiteConfig| o.server_key.as_ref() == Some(k))
                {
                    return Err(invalid(
                        format!("sites[{i}].server_key"),
                        "is another site's too; give each site a key of its own",
                    ));
                }
            }
            sites.push(SiteConfig {
                key,
                origins: s.origins,
                points: s.points.map(|p| point_rules(i, p)).transpose()?,
                server_key,
            });
        }

        let mut admins = Vec::with_capacity(raw.admins.len());
        let mut names = HashSet::new();
        for (i, a) in raw.admins.into_iter().enumerate() {
            let key = |f: &str| format!("admins[{i}].{f}");
            if a.name.trim().is_empty() {
                return Err(invalid(key("name"), "must not be empty"));
            }
            if !names.insert(a.name.clone()) {
                return Err(invalid(key("name"), format!("`{}` appears twice", a.name)));
            }
            let token = match (a.token, a.token_sha256) {
                (Some(t), None) if t.is_empty() => {
                    return Err(invalid(key("token"), "must not be empty"))
                }
                // A short token can be guessed online despite the throttle; the dev defaults'
                // token is documented and only ever on a developer's loopback.
                (Some(t), None) if t.chars().count() < MIN_TOKEN_CHARS && !is_dev_default => {
                    return Err(invalid(
                        key("token"),
                        format!(
                            "is {} characters; use at least {MIN_TOKEN_CHARS} random ones, e.g. \
                             from `openssl rand -hex 24`",
                            t.chars().count()
                        ),
                    ))
                }
                (Some(t), None) => TokenDigest::of_token(&t),
                (None, Some(h)) => {
                    TokenDigest::from_hex(&h).map_err(|m| invalid(key("token_sha256"), m))?
                }
                (Some(_), Some(_)) => {
                    return Err(invalid(
                        key("token"),
                        "give either token or token_sha256, not both",
                    ))
                }
                (None, None) => return Err(invalid(key("token"), "give token or token_sha256")),
            };
            let role = a
                .role
                .parse::<Role>()
                .map_err(|m| invalid(key("role"), m))?;
            admins.push(AdminConfig {
                name: a.name,
                token,
                role,
            });
        }

        let rl = raw.rate_limit;
        for (k, v) in [
            ("rate_limit.per_ip_per_second", rl.per_ip_per_second),
            ("rate_limit.per_ip_burst", rl.per_ip_burst),
            ("rate_limit.per_site_per_second", rl.per_site_per_second),
            ("rate_limit.per_site_burst", rl.per_site_burst),
        ] {
            if v == 0 {
                return Err(invalid(k, "must be at least 1"));
            }
        }
        if rl.trusted_proxy_hops == 0 {
            return Err(invalid(
                "rate_limit.trusted_proxy_hops",
                "must be at least 1 (the proxy in front of the edge); to ignore X-Forwarded-For \
                 set trust_forwarded_for = false",
            ));
        }
        if rl.auth_failures_per_minute == 0 {
            return Err(invalid(
                "rate_limit.auth_failures_per_minute",
                "must be at least 1",
            ));
        }
        let sv = raw.server;
        for (k, v) in [
            ("server.body_timeout_seconds", sv.body_timeout_seconds),
            ("server.import_timeout_seconds", sv.import_timeout_seconds),
            ("server.header_timeout_seconds", sv.header_timeout_seconds),
        ] {
            if v == 0 {
                return Err(invalid(k, "must be at least 1"));
            }
        }
        if sv.max_connections == 0 {
            return Err(invalid("server.max_connections", "must be at least 1"));
        }
        let st = raw.store;
        if st.queue_capacity == 0 {
            return Err(invalid("store.queue_capacity", "must be at least 1"));
        }
        if st.max_group_events == 0 {
            return Err(invalid("store.max_group_events", "must be at least 1"));
        }
        if raw.contacts.rfm_every_seconds == 0 {
            return Err(invalid("contacts.rfm_every_seconds", "must be at least 1"));
        }
        if raw.contacts.clv_every_seconds == 0 {
            return Err(invalid("contacts.clv_every_seconds", "must be at least 1"));
        }
        if raw.contacts.clv_min_customers < 2 {
            return Err(invalid(
                "contacts.clv_min_customers",
                "must be at least 2: a model of one customer predicts nothing",
            ));
        }
        let identity = IdentityConfig {
            default_region: raw
                .identity
                .default_region
                .map(|r| r.parse::<Region>())
                .transpose()
                .map_err(|m| invalid("identity.default_region", m))?,
        };

        if let Some(fp) = &raw.first_party {
            fp.check()?;
        }
        let cluster = raw.cluster.map(RawCluster::check).transpose()?;

        Ok(Config {
            listen,
            data_dir,
            sites,
            admins,
            rate_limit: rl,
            server: raw.server,
            store: st,
            identity,
            contacts: raw.contacts,
            sdk_dir: ov.sdk_dir.clone().or(raw.sdk_dir),
            first_party: raw.first_party,
            cluster,
            is_dev_default,
        })
    }
}

/// An origin is what a browser sends in `Origin`: scheme, host and optional port, nothing more.
fn check_origin(o: &str) -> Result<(), String> {
    let rest = o
        .strip_prefix("https://")
        .or_else(|| o.strip_prefix("http://"))
        .ok_or_else(|| format!("`{o}` must start with http:// or https://"))?;
    if rest.is_empty() || rest.contains('/') || rest.contains('?') || rest.contains('#') {
        return Err(format!(
            "`{o}` must be scheme://host[:port] with no path or trailing slash"
        ));
    }
    Ok(())
}

/// A site's server key, checked: long enough to resist guessing, and never its site key,
/// which every page of the shop shows.
fn server_key(
    i: usize,
    site: &SiteKey,
    key: Option<String>,
    sha256: Option<String>,
    is_dev_default: bool,
) -> Result<Option<TokenDigest>, ConfigError> {
    let name = |f: &str| format!("sites[{i}].{f}");
    match (key, sha256) {
        (None, None) => Ok(None),
        (Some(_), Some(_)) => Err(invalid(
            name("server_key"),
            "give either server_key or server_key_sha256, not both",
        )),
        (Some(k), None) if k == site.as_str() => Err(invalid(
            name("server_key"),
            "must not be the site key, which browsers see; make one with `openssl rand -hex 24`",
        )),
        (Some(k), None) if k.chars().count() < MIN_TOKEN_CHARS && !is_dev_default => Err(invalid(
            name("server_key"),
            format!(
                "is {} characters; use at least {MIN_TOKEN_CHARS} random ones, e.g. from \
                 `openssl rand -hex 24`",
                k.chars().count()
            ),
        )),
        (Some(k), None) => Ok(Some(TokenDigest::of_token(&k))),
        (None, Some(h)) => TokenDigest::from_hex(&h)
            .map(Some)
            .map_err(|m| invalid(name("server_key_sha256"), m)),
    }
}

fn dev_defaults() -> RawConfig {
    RawConfig {
        listen: None,
        data_dir: None,
        sdk_dir: None,
        sites: vec![RawSite {
            key: DEV_SITE.into(),
            origins: vec![
                "http://127.0.0.1:8080".into(),
                "http://localhost:8080".into(),
            ],
            points: None,
            server_key: Some(DEV_SERVER_KEY.into()),
            server_key_sha256: None,
        }],
        admins: vec![RawAdmin {
            name: "dev".into(),
            token: Some(DEV_ADMIN_TOKEN.into()),
            token_sha256: None,
            role: "admin".into(),
        }],
        rate_limit: RateLimitConfig::default(),
        server: ServerConfig::default(),
        store: StoreConfig::default(),
        identity: RawIdentity::default(),
        contacts: ContactsConfig::default(),
        first_party: None,
        cluster: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(toml: &str) -> String {
        Config::from_toml(toml, &Overrides::default())
            .unwrap_err()
            .to_string()
    }

    const SITE: &str = "[[sites]]\nkey = \"shop\"\norigins = [\"http://localhost:8080\"]\n";

    #[test]
    fn the_identity_region_is_checked_and_optional() {
        let ov = Overrides::default();
        let none = Config::from_toml(SITE, &ov).unwrap();
        assert!(none.identity.default_region.is_none());
        let es = Config::from_toml(&format!("{SITE}[identity]\ndefault_region = \"es\"\n"), &ov);
        assert_eq!(
            es.unwrap().identity.default_region,
            Some("ES".parse().unwrap())
        );
        let err = Config::from_toml(
            &format!("{SITE}[identity]\ndefault_region = \"Spain\"\n"),
            &ov,
        )
        .unwrap_err()
        .to_string();
        assert!(
            err.contains("identity.default_region") && err.contains("ISO 3166"),
            "{err}"
        );
    }

    #[test]
    fn the_issue_example_parses() {
        let c = Config::from_toml(
            r#"
            listen = "127.0.0.1:8787"
            data_dir = "footprint-data"
            [[sites]]
            key = "demo-shop"
            origins = ["http://127.0.0.1:8080", "http://localhost:8080"]
            [[admins]]
            name = "ops"
            token = "change-me-to-24-random-characters"
            role = "admin"
            "#,
            &Overrides::default(),
        )
        .unwrap();
        assert_eq!(c.listen.port(), 8787);
        assert_eq!(c.sites[0].origins.len(), 2);
        assert_eq!(c.admins[0].role, Role::Admin);
    }

    #[test]
    fn errors_name_the_key() {
        assert!(err(&format!("listen = \"nope\"\n{SITE}")).contains("`listen`"));
        assert!(err("[[sites]]\nkey = \"bad key\"").contains("sites[0].key"));
        assert!(err("[[sites]]\nkey = \"s\"\norigins = [\"http://a/\"]")
            .contains("sites[0].origins[0]"));
        let e = err(&format!(
            "{SITE}[[admins]]\nname = \"a\"\ntoken = \"t-is-at-least-24-characters\"\nrole = \"god\""
        ));
        assert!(e.contains("admins[0].role"), "{e}");
        let e = err(&format!(
            "{SITE}[[admins]]\nname = \"a\"\nrole = \"viewer\""
        ));
        assert!(e.contains("admins[0].token"), "{e}");
        assert!(err(&format!("colour = 1\n{SITE}")).contains("colour"));
        assert!(err(&format!("{SITE}[rate_limit]\nper_ip_per_second = 0"))
            .contains("per_ip_per_second"));
    }

    #[test]
    fn short_tokens_are_refused_outside_the_dev_defaults() {
        let e = err(&format!(
            "{SITE}[[admins]]\nname = \"a\"\ntoken = \"change-me\"\nrole = \"admin\""
        ));
        assert!(
            e.contains("admins[0].token") && e.contains("is 9 characters") && e.contains("24"),
            "{e}"
        );
        let dev = Config::load(None, &Overrides::default()).unwrap();
        assert!(dev.is_dev_default && !dev.admins.is_empty());
    }

    #[test]
    fn overrides_beat_the_file() {
        let ov = Overrides {
            listen: Some("127.0.0.1:0".into()),
            data_dir: Some("/tmp/x".into()),
            sdk_dir: None,
        };
        let c = Config::from_toml(&format!("listen = \"127.0.0.1:9\"\n{SITE}"), &ov).unwrap();
        assert_eq!(c.listen.port(), 0);
        assert_eq!(c.data_dir, PathBuf::from("/tmp/x"));
    }

    #[test]
    fn first_party_paths_must_not_shadow_the_edges_own() {
        let fp = |loader: &str, batch: &str| {
            Config::from_toml(
                &format!(
                    "{SITE}\n[first_party]\nloader_path = \"{loader}\"\nbatch_path = \"{batch}\"\n"
                ),
                &Overrides::default(),
            )
        };
        let c = fp("/t/fp.js", "/t/e").unwrap();
        let f = c.first_party.unwrap();
        assert_eq!(f.dir(), "/t/");
        for (loader, batch, says) in [
            ("/v1/fp.js", "/t/e", "is under /v1/"),
            ("/t/fp.js", "/sdk/e", "is under /sdk/"),
            ("/t/fp", "/t/e", "must end with .js"),
            ("/t/../fp.js", "/t/e", "absolute path"),
            ("t/fp.js", "/t/e", "absolute path"),
            ("/t/fp.js", "/t/b/x", "tracker's file paths"),
            ("/t/fp.js", "/t/fp.js", "tracker's file paths"),
            ("/t/fp.js", "/t/e?x", "absolute path"),
        ] {
            let e = fp(loader, batch).unwrap_err().to_string();
            assert!(e.contains(says), "{loader} {batch}: {e}");
        }
    }
}
