//! A real edge process per test, and small HTTP helpers.

use std::path::PathBuf;
use std::process::{Child, ExitStatus};
use std::time::{Duration, Instant};

use serde_json::Value;

pub const SITE: &str = "test-shop";
pub const ORIGIN: &str = "http://shop.test:8080";
pub const TOKEN: &str = "test-admin-token-0123456789";
/// The test site's key for `POST /v1/server/batch`.
pub const SERVER_KEY: &str = "test-server-key-0123456789abcdef";
pub const OTHER_SERVER_KEY: &str = "other-server-key-0123456789abcdef";

pub fn config(extra: &str) -> String {
    format!(
        r#"
[[sites]]
server_key = "{SERVER_KEY}"
key = "{SITE}"
origins = ["{ORIGIN}"]
[[sites]]
server_key = "{OTHER_SERVER_KEY}"
key = "other-shop"
origins = ["http://other.test"]
[[admins]]
name = "ops"
token = "{TOKEN}"
role = "admin"
{extra}
"#
    )
}

/// Rate limits high enough that only the rate-limit test meets them.
pub const NO_LIMITS: &str = "[rate_limit]\nper_ip_per_second = 1000000\nper_ip_burst = 1000000\nper_site_per_second = 1000000\nper_site_burst = 1000000\n";

pub struct Edge {
    child: Option<Child>,
    /// Flags added to every start, e.g. `--log-format json`.
    pub args: Vec<String>,
    /// Environment added to every start, e.g. a failpoint.
    pub env: Vec<(String, String)>,
    pub url: String,
    pub dir: tempfile::TempDir,
    pub client: reqwest::blocking::Client,
}

impl Edge {
    pub fn start() -> Edge {
        Edge::start_with(&config(NO_LIMITS))
    }

    pub fn start_with(config: &str) -> Edge {
        let mut edge = Edge::stopped(config);
        edge.spawn();
        edge
    }

    /// An edge with its config written and not started: a test may put files in its data
    /// directory first.
    pub fn stopped(config: &str) -> Edge {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("edge.toml"), config).unwrap();
        Edge {
            child: None,
            args: Vec::new(),
            env: Vec::new(),
            url: String::new(),
            dir,
            client: reqwest::blocking::Client::builder()
                .timeout(Duration::from_secs(30))
                .build()
                .unwrap(),
        }
    }

    pub fn data_dir(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("edge.log")).unwrap_or_default()
    }

    /// Starts the binary on the same data directory and waits for its listening line.
    pub fn spawn(&mut self) {
        let mut env = self.env.clone();
        env.push(("RUST_LOG".to_owned(), "info".to_owned()));
        let (child, url) = footprint_e2e::process::Launch {
            bin: std::path::Path::new(env!("CARGO_BIN_EXE_footprint-edge")),
            dir: self.dir.path(),
            data_dir: &self.data_dir(),
            listen: "127.0.0.1:0",
            args: &self.args,
            env: &env,
        }
        .spawn();
        self.url = url;
        self.child = Some(child);
    }

    pub fn pid(&self) -> i32 {
        self.child.as_ref().expect("running").id() as i32
    }

    pub fn kill9(&mut self) {
        if let Some(mut c) = self.child.take() {
            c.kill().unwrap(); // SIGKILL
            c.wait().unwrap();
        }
    }

    pub fn sigterm(&mut self) -> ExitStatus {
        let mut c = self.child.take().expect("running");
        let pid = nix::unistd::Pid::from_raw(c.id() as i32);
        nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM).unwrap();
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(status) = c.try_wait().unwrap() {
                return status;
            }
            assert!(
                Instant::now() < deadline,
                "edge did not stop within 30 s of SIGTERM"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    pub fn restart(&mut self) {
        self.kill9();
        self.spawn();
    }

    pub fn post(
        &self,
        body: impl Into<reqwest::blocking::Body>,
        content_type: &str,
        origin: Option<&str>,
    ) -> Resp {
        let mut req = self
            .client
            .post(format!("{}/v1/batch", self.url))
            .header("content-type", content_type)
            .body(body);
        if let Some(o) = origin {
            req = req.header("origin", o);
        }
        Resp::from(req.send().unwrap())
    }

    pub fn post_json(&self, body: &Value) -> Resp {
        self.post(body.to_string(), "application/json", None)
    }

    pub fn get(&self, path: &str, token: Option<&str>) -> Resp {
        let mut req = self.client.get(format!("{}{path}", self.url));
        if let Some(t) = token {
            req = req.header("authorization", format!("Bearer {t}"));
        }
        Resp::from(req.send().unwrap())
    }

    /// Every event of a tracker, newest first, through the admin API's pages.
    pub fn all_events(&self, tracker: &str) -> Vec<Value> {
        self.try_all_events(tracker)
            .unwrap_or_else(|r| panic!("{} {}", r.status, r.text))
    }

    /// The same, or the first answer that was not a page.
    pub fn try_all_events(&self, tracker: &str) -> Result<Vec<Value>, Box<Resp>> {
        let mut out = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let path = match &cursor {
                Some(c) => format!("/v1/trackers/{tracker}/events?limit=500&before={c}"),
                None => format!("/v1/trackers/{tracker}/events?limit=500"),
            };
            let r = self.get(&path, Some(TOKEN));
            if r.status != 200 {
                return Err(Box::new(r));
            }
            out.extend(r.json["events"].as_array().unwrap().iter().cloned());
            match r.json["next"].as_str() {
                Some(c) => cursor = Some(c.to_owned()),
                None => return Ok(out),
            }
        }
    }
}

impl Drop for Edge {
    fn drop(&mut self) {
        self.kill9();
    }
}

pub struct Resp {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub text: String,
    pub json: Value,
}

impl From<reqwest::blocking::Response> for Resp {
    fn from(r: reqwest::blocking::Response) -> Resp {
        let status = r.status().as_u16();
        let headers = r.headers().clone();
        let text = r.text().unwrap_or_default();
        let json = serde_json::from_str(&text).unwrap_or(Value::Null);
        Resp {
            status,
            headers,
            text,
            json,
        }
    }
}

impl Resp {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// Asserts an error status with the documented `{"error", "message"}` body.
    pub fn assert_error(&self, status: u16, code: &str) {
        assert_eq!(self.status, status, "{}", self.text);
        assert_eq!(self.json["error"], code, "{}", self.text);
        assert!(
            self.json["message"].as_str().is_some_and(|m| m.len() > 10),
            "{}",
            self.text
        );
    }
}

pub fn fixture(name: &str) -> String {
    let path = format!(
        "{}/../protocol/tests/fixtures/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

pub fn now_iso() -> String {
    let ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    footprint_protocol::Timestamp::from_millis(ms)
        .unwrap()
        .to_string()
}

/// A valid page_view event.
pub fn page_view(message_id: &str, tracker: &str, timestamp: &str) -> Value {
    serde_json::json!({
        "message_id": message_id, "tracker_id": tracker, "type": "page_view", "timestamp": timestamp,
        "context": {"page_url": "https://shop.test/", "user_agent": "test"},
        "properties": {"url": "https://shop.test/", "path": "/"}
    })
}

pub fn batch(events: Vec<Value>) -> Value {
    serde_json::json!({"site_key": SITE, "sent_at": now_iso(), "events": events})
}

/// CLV fit rules for tests: `min_customers` purchasers, one repeat buyer, a week of history.
pub fn clv_rules(min_customers: u64) -> footprint_edge::contacts::predict::FitRules {
    footprint_edge::contacts::predict::FitRules {
        min_customers,
        min_repeat_customers: 1,
        min_history_days: 7,
    }
}
