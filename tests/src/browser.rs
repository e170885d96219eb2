//! Real-browser harness: headless Chromium through ChromeDriver (WebDriver), a static file
//! server for the shop's own origin, and the real edge binary serving the real SDK build.
//!
//! Every piece binds 127.0.0.1 on a free port. The shop and the edge are on different ports,
//! so they are different origins and tracking is cross-origin, as on a real shop.

use std::collections::HashMap;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

pub const SITE: &str = "test-shop";
pub const TOKEN: &str = "browser-test-admin-token-0123";
/// A viewer's token on the same edge: sees only contacts whose confidentiality is `free`.
pub const VIEWER_TOKEN: &str = "browser-test-viewer-token-0123";
/// The test site's key for `POST /v1/server/batch`: what the shop's backend sends.
pub const SERVER_KEY: &str = "browser-test-server-key-0123456789";

pub fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_default()
}

/// `cargo xtask sdk`'s output; the browser tests need it built first (`cargo xtask test` does).
pub fn sdk_dir() -> PathBuf {
    let dir = std::env::var_os("FOOTPRINT_SDK_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace().join("sdk-wasm").join("pkg"));
    assert!(
        dir.join("footprint_sdk_bg.wasm").exists(),
        "no SDK build in {}: run `cargo xtask sdk` first (`cargo xtask test` does)",
        dir.display()
    );
    dir
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free loopback port")
}

/// ChromeDriver plus one browser session.
pub struct Chrome {
    driver: Child,
    _profile: tempfile::TempDir,
    pub client: fantoccini::Client,
}

impl Chrome {
    pub async fn start() -> Chrome {
        let port = free_port();
        let driver = Command::new("/usr/bin/chromedriver")
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver (apt-get install chromium-driver; `cargo xtask test` does)");
        // The flags live in one place, sdk-wasm/webdriver.json, shared with wasm-bindgen-test.
        let mut caps: serde_json::Map<String, Value> = serde_json::from_str(
            &std::fs::read_to_string(workspace().join("sdk-wasm/webdriver.json")).unwrap(),
        )
        .unwrap();
        let profile = tempfile::tempdir().unwrap();
        caps["goog:chromeOptions"]["args"]
            .as_array_mut()
            .unwrap()
            .push(json!(format!(
                "--user-data-dir={}",
                profile.path().display()
            )));
        let url = format!("http://127.0.0.1:{port}");
        let deadline = Instant::now() + Duration::from_secs(20);
        let client = loop {
            match fantoccini::ClientBuilder::new(
                hyper_util::client::legacy::connect::HttpConnector::new(),
            )
            .capabilities(caps.clone())
            .connect(&url)
            .await
            {
                Ok(c) => break c,
                Err(e) if Instant::now() > deadline => panic!("cannot start Chromium: {e}"),
                Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
            }
        };
        Chrome {
            driver,
            _profile: profile,
            client,
        }
    }

    /// Navigates the tab to `url`.
    pub async fn goto(&self, url: &str) {
        self.client
            .goto(url)
            .await
            .unwrap_or_else(|e| panic!("cannot open {url}: {e}"));
    }

    /// Runs `script` as an async function body and returns what it returns.
    pub async fn eval(&self, script: &str) -> Value {
        let wrapped = format!(
            "const done = arguments[arguments.length - 1];\
             (async () => {{ {script} }})().then(done, e => done({{error: String(e)}}));"
        );
        self.client
            .execute_async(&wrapped, vec![])
            .await
            .unwrap_or_else(|e| panic!("script failed: {e}\n{script}"))
    }

    /// Waits until `cond` (a JS expression) is truthy.
    pub async fn wait_for(&self, cond: &str) {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let v = self
                .client
                .execute(&format!("return !!({cond});"), vec![])
                .await
                .unwrap_or(Value::Bool(false));
            if v == Value::Bool(true) {
                return;
            }
            if Instant::now() > deadline {
                let logs = self.console().await;
                panic!("timed out waiting for `{cond}`; page log:\n{logs}");
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// What the page logged with `console.warn` and `console.error` (see [`CONSOLE_CAPTURE`]).
    pub async fn console(&self) -> String {
        self.client
            .execute("return (window.__log || []).join('\\n');", vec![])
            .await
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_default()
    }

    /// Sizes the window, so that pages are read (and shot) at a given width.
    pub async fn set_size(&self, width: u32, height: u32) {
        self.client
            .set_window_size(width, height)
            .await
            .unwrap_or_else(|e| panic!("cannot size the window: {e}"));
    }

    /// Saves a PNG of the viewport as `name`.png under [`screenshot_dir`].
    pub async fn screenshot(&self, name: &str) {
        let png = self
            .client
            .screenshot()
            .await
            .unwrap_or_else(|e| panic!("cannot take a screenshot: {e}"));
        let dir = screenshot_dir();
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join(format!("{name}.png")), png).unwrap();
    }

    /// Ends the session; ChromeDriver goes when `self` drops.
    pub async fn close(self) {
        let _ = self.client.clone().close().await;
    }
}

impl Drop for Chrome {
    fn drop(&mut self) {
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

/// A static site on its own origin, serving files by path from memory.
pub struct Site {
    server: Arc<tiny_http::Server>,
    pub origin: String,
    /// Every request it forwarded, as `METHOD /path`.
    pub forwarded: Arc<Mutex<Vec<String>>>,
}

/// Files by path: content type and body. Shared, so a test can add pages once it knows the
/// edge's URL.
pub type Files = Arc<Mutex<HashMap<String, (String, Vec<u8>)>>>;

impl Site {
    pub fn start(files: HashMap<String, (String, Vec<u8>)>) -> Site {
        Site::start_shared(Arc::new(Mutex::new(files)))
    }

    pub fn start_shared(files: Files) -> Site {
        Site::start_forwarding(files, Arc::new(Mutex::new(None)))
    }

    /// A site that also forwards every request under a path prefix to another server, as a
    /// shop's reverse proxy forwards its first-party paths to the edge (README, "First-party
    /// paths"): same path, body, `Origin` and content type, and `X-Forwarded-For`.
    pub fn start_forwarding(files: Files, forward: Forward) -> Site {
        let server = Arc::new(tiny_http::Server::http("127.0.0.1:0").expect("bind 127.0.0.1:0"));
        let origin = format!("http://{}", server.server_addr());
        let s = server.clone();
        let forwarded = Arc::new(Mutex::new(Vec::new()));
        let log = forwarded.clone();
        std::thread::spawn(move || {
            let client = reqwest::blocking::Client::new();
            for req in s.incoming_requests() {
                let path = req.url().split('?').next().unwrap_or("/").to_owned();
                let target = forward.lock().ok().and_then(|f| f.clone());
                if let Some((_, to)) = target.filter(|(p, _)| path.starts_with(p.as_str())) {
                    if let Ok(mut l) = log.lock() {
                        l.push(format!("{} {path}", req.method()));
                    }
                    forward_to(&client, req, &to);
                    continue;
                }
                let file = files.lock().ok().and_then(|f| f.get(&path).cloned());
                let resp = match file {
                    Some((ctype, body)) => tiny_http::Response::from_data(body)
                        .with_header(
                            tiny_http::Header::from_bytes("Content-Type", ctype.as_bytes())
                                .unwrap(),
                        )
                        .with_status_code(200),
                    None => {
                        tiny_http::Response::from_data(b"not found".to_vec()).with_status_code(404)
                    }
                };
                let _ = req.respond(resp);
            }
        });
        Site {
            server,
            origin,
            forwarded,
        }
    }
}

/// Where a [`Site`] forwards: a path prefix and the server it goes to. Set once that server's
/// URL is known.
pub type Forward = Arc<Mutex<Option<(String, String)>>>;

fn forward_to(client: &reqwest::blocking::Client, mut req: tiny_http::Request, to: &str) {
    let header = |name: &'static str| {
        req.headers()
            .iter()
            .find(|h| h.field.equiv(name))
            .map(|h| h.value.as_str().to_owned())
    };
    let (origin, ctype) = (header("Origin"), header("Content-Type"));
    let mut body = Vec::new();
    let _ = std::io::Read::read_to_end(req.as_reader(), &mut body);
    let method = reqwest::Method::from_bytes(req.method().as_str().as_bytes())
        .unwrap_or(reqwest::Method::GET);
    let mut out = client
        .request(method, format!("{to}{}", req.url()))
        .header("X-Forwarded-For", "127.0.0.1")
        .body(body);
    for (k, v) in [("Origin", origin), ("Content-Type", ctype)] {
        if let Some(v) = v {
            out = out.header(k, v);
        }
    }
    let resp = match out.send() {
        Ok(r) => {
            let status = r.status().as_u16();
            let ctype = r
                .headers()
                .get("content-type")
                .and_then(|v| v.to_str().ok())
                .unwrap_or("text/plain")
                .to_owned();
            let body = r.bytes().map(|b| b.to_vec()).unwrap_or_default();
            tiny_http::Response::from_data(body)
                .with_status_code(status)
                .with_header(
                    tiny_http::Header::from_bytes("Content-Type", ctype.as_bytes()).unwrap(),
                )
        }
        Err(e) => {
            tiny_http::Response::from_data(format!("proxy: {e}").into_bytes()).with_status_code(502)
        }
    };
    let _ = req.respond(resp);
}

impl Drop for Site {
    fn drop(&mut self) {
        self.server.unblock();
    }
}

/// A page's HTML file.
pub fn html(body: &str) -> (String, Vec<u8>) {
    ("text/html; charset=utf-8".into(), body.as_bytes().to_vec())
}

/// The real edge binary, configured for one site at `origin`, serving the SDK build.
pub struct Edge {
    child: Option<Child>,
    pub url: String,
    dir: tempfile::TempDir,
}

fn edge_binary() -> PathBuf {
    // A test executable is target/<profile>/deps/<name>, a binary target/<profile>/<name>; the
    // edge is in target/<profile>/.
    let exe = std::env::current_exe().unwrap();
    let dir = exe.parent().unwrap();
    let dir = if dir.ends_with("deps") {
        dir.parent().unwrap()
    } else {
        dir
    };
    let bin = dir.join("footprint-edge");
    assert!(
        bin.exists(),
        "{} is missing: build it with `cargo build -p footprint-edge`",
        bin.display()
    );
    bin
}

impl Edge {
    pub fn start(origin: &str) -> Edge {
        Edge::start_with(origin, "")
    }

    /// As [`Edge::start`], with `extra` appended to its config file.
    pub fn start_with(origin: &str, extra: &str) -> Edge {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("edge.toml"),
            format!(
                "sdk_dir = \"{}\"\n\n[[sites]]\nkey = \"{SITE}\"\norigins = [\"{origin}\"]\n\
                 server_key = \"{SERVER_KEY}\"\n\n\
                 [[admins]]\nname = \"tests\"\ntoken = \"{TOKEN}\"\nrole = \"admin\"\n\n\
                 [[admins]]\nname = \"vera\"\ntoken = \"{VIEWER_TOKEN}\"\nrole = \"viewer\"\n{extra}",
                sdk_dir().display()
            ),
        )
        .unwrap();
        let mut edge = Edge {
            child: None,
            url: String::new(),
            dir,
        };
        edge.spawn("127.0.0.1:0");
        edge
    }

    fn spawn(&mut self, listen: &str) {
        let (child, url) = crate::process::Launch {
            bin: &edge_binary(),
            dir: self.dir.path(),
            data_dir: &self.dir.path().join("data"),
            listen,
            args: &[],
            env: &[],
        }
        .spawn();
        self.url = url;
        self.child = Some(child);
    }

    /// Stops the edge at once (the browser sees connection errors).
    pub fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// Starts it again on the same address and data.
    pub fn restart(&mut self) {
        self.stop();
        let addr = self.url.trim_start_matches("http://").to_owned();
        self.spawn(&addr);
    }

    /// An admin API answer, as the admin token reads it.
    pub async fn get(&self, path: &str) -> Value {
        reqwest::Client::new()
            .get(format!("{}{path}", self.url))
            .bearer_auth(TOKEN)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }

    /// Every stored event of a tracker, newest first.
    pub async fn events(&self, tracker: &str) -> Vec<Value> {
        let r = self
            .get(&format!("/v1/trackers/{tracker}/events?limit=500"))
            .await;
        r["events"].as_array().cloned().unwrap_or_default()
    }

    /// The stored events' types, oldest first.
    pub async fn types(&self, tracker: &str) -> Vec<String> {
        let mut t: Vec<String> = self
            .events(tracker)
            .await
            .iter()
            .map(|e| e["type"].as_str().unwrap_or("?").to_owned())
            .collect();
        t.reverse();
        t
    }
}

impl Drop for Edge {
    fn drop(&mut self) {
        self.stop();
    }
}

/// A shop's site and an edge that knows its origin: how every browser test starts. The edge
/// must know the site's origin and the pages must know the edge's URL, so the site starts
/// first on a free port, then the edge, and pages are added afterwards with [`Shop::add`].
pub struct Shop {
    pub site: Site,
    pub edge: Edge,
    pub files: Files,
}

impl Shop {
    pub fn start(files: HashMap<String, (String, Vec<u8>)>) -> Shop {
        Shop::start_with(files, "")
    }

    /// As [`Shop::start`], with `extra` appended to the edge's config file.
    pub fn start_with(files: HashMap<String, (String, Vec<u8>)>, extra: &str) -> Shop {
        let files: Files = Arc::new(Mutex::new(files));
        let site = Site::start_shared(files.clone());
        let edge = Edge::start_with(&site.origin, extra);
        Shop { site, edge, files }
    }

    /// A shop whose own server forwards everything under `/t/` to an edge configured with
    /// first-party paths: the loader at `/t/fp.js`, batches at `/t/e`.
    pub fn start_first_party() -> Shop {
        let files: Files = Arc::new(Mutex::new(HashMap::new()));
        let forward: Forward = Arc::new(Mutex::new(None));
        let site = Site::start_forwarding(files.clone(), forward.clone());
        let edge = Edge::start_with(
            &site.origin,
            "\n[first_party]\nloader_path = \"/t/fp.js\"\nbatch_path = \"/t/e\"\n",
        );
        *forward.lock().unwrap() = Some(("/t/".into(), edge.url.clone()));
        Shop { site, edge, files }
    }

    /// Serves `file` at `path`; returns its URL.
    pub fn add(&self, path: &str, file: (String, Vec<u8>)) -> String {
        self.files
            .lock()
            .expect("the site's files")
            .insert(path.to_owned(), file);
        format!("{}{path}", self.site.origin)
    }
}

/// The SDK build's files under `/pkg/`, as a shop that bundles or self-hosts it serves them.
pub fn pkg_files() -> HashMap<String, (String, Vec<u8>)> {
    let mut out = HashMap::new();
    for entry in std::fs::read_dir(sdk_dir()).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let ctype = match path.extension().and_then(|e| e.to_str()) {
            Some("js") => "text/javascript; charset=utf-8",
            Some("wasm") => "application/wasm",
            Some("json") => "application/json",
            _ => "text/plain; charset=utf-8",
        };
        out.insert(
            format!("/pkg/{name}"),
            (ctype.to_owned(), std::fs::read(&path).unwrap()),
        );
    }
    out
}

/// Where tests save screenshots: `FOOTPRINT_SCREENSHOTS` when set (`cargo xtask screenshots`
/// points it at docs/screenshots), else target/screenshots, so a test run leaves the tree clean.
pub fn screenshot_dir() -> PathBuf {
    std::env::var_os("FOOTPRINT_SCREENSHOTS")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace().join("target").join("screenshots"))
}

/// The demo shop (`demo-shop/`) as `cargo xtask demo` serves it: every file by its path, the
/// snippet's placeholders filled in with `edge` and [`SITE`], and `/` as `index.html`.
pub fn demo_shop_files(edge: &str) -> HashMap<String, (String, Vec<u8>)> {
    fn walk(dir: &Path, base: &Path, edge: &str, out: &mut HashMap<String, (String, Vec<u8>)>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(&path, base, edge, out);
                continue;
            }
            let rel = path
                .strip_prefix(base)
                .unwrap()
                .to_string_lossy()
                .replace('\\', "/");
            let ctype = match path.extension().and_then(|e| e.to_str()) {
                Some("html") => "text/html; charset=utf-8",
                Some("js") => "text/javascript; charset=utf-8",
                Some("css") => "text/css; charset=utf-8",
                Some("svg") => "image/svg+xml",
                _ => "application/octet-stream",
            };
            let mut body = std::fs::read(&path).unwrap();
            if !ctype.starts_with("image/") && ctype != "application/octet-stream" {
                body = String::from_utf8(body)
                    .unwrap()
                    .replace("%%FOOTPRINT_EDGE%%", edge)
                    .replace("%%FOOTPRINT_SITE_KEY%%", SITE)
                    .into_bytes();
            }
            out.insert(format!("/{rel}"), (ctype.to_owned(), body));
        }
    }
    let base = workspace().join("demo-shop");
    let mut out = HashMap::new();
    walk(&base, &base, edge, &mut out);
    if let Some(index) = out.get("/index.html").cloned() {
        out.insert("/".into(), index);
    }
    out
}

/// The stub a shop pastes before the script tag (the README shows the same text).
pub fn stub() -> String {
    std::fs::read_to_string(workspace().join("sdk-wasm/js/stub.js")).unwrap()
}

/// A script for test pages: keeps console warnings and errors in `window.__log`, so a failing
/// test can show what the tracker said.
pub const CONSOLE_CAPTURE: &str = "window.__log=[];['warn','error'].forEach(function(k){var o=console[k];console[k]=function(){window.__log.push([].slice.call(arguments).map(String).join(' '));return o.apply(console,arguments)}});window.addEventListener('error',function(e){window.__log.push('uncaught: '+e.message)});";

/// An overloaded edge, for the retry tests: answers the first `fail` batch posts with 503 and
/// `Retry-After: 1`, then passes requests through to the real edge. CORS headers are set as
/// the edge sets them, so the tracker can read the status and `Retry-After`.
pub struct FaultProxy {
    server: Arc<tiny_http::Server>,
    pub url: String,
    /// When each POST arrived, and what it was answered.
    pub log: Arc<Mutex<Vec<(Instant, u16)>>>,
    /// Every event's `message_id`, in the order the posts carried them (repeats included).
    pub message_ids: Arc<Mutex<Vec<String>>>,
}

impl FaultProxy {
    pub fn start(edge: &str, fail: usize) -> FaultProxy {
        let server = Arc::new(tiny_http::Server::http("127.0.0.1:0").expect("bind 127.0.0.1:0"));
        let url = format!("http://{}", server.server_addr());
        let log = Arc::new(Mutex::new(Vec::new()));
        let message_ids = Arc::new(Mutex::new(Vec::new()));
        let (s, l, ids, edge) = (
            server.clone(),
            log.clone(),
            message_ids.clone(),
            edge.to_owned(),
        );
        std::thread::spawn(move || {
            let client = reqwest::blocking::Client::new();
            for mut req in s.incoming_requests() {
                let origin = req
                    .headers()
                    .iter()
                    .find(|h| h.field.equiv("Origin"))
                    .map(|h| h.value.as_str().to_owned())
                    .unwrap_or_default();
                let mut body = Vec::new();
                let _ = std::io::Read::read_to_end(req.as_reader(), &mut body);
                if let Ok(batch) = serde_json::from_slice::<Value>(&body) {
                    let seen = batch["events"].as_array().cloned().unwrap_or_default();
                    if let Ok(mut v) = ids.lock() {
                        v.extend(
                            seen.iter()
                                .filter_map(|e| e["message_id"].as_str().map(str::to_owned)),
                        );
                    }
                }
                let seen = l.lock().map(|v| v.len()).unwrap_or(0);
                let (status, text) = if seen < fail {
                    (
                        503,
                        r#"{"error":"unavailable","message":"overloaded"}"#.to_owned(),
                    )
                } else {
                    let r = client
                        .post(format!("{edge}{}", req.url()))
                        .header("content-type", "text/plain;charset=UTF-8")
                        .header("origin", &origin)
                        .body(body)
                        .send()
                        .unwrap();
                    (r.status().as_u16(), r.text().unwrap_or_default())
                };
                if let Ok(mut v) = l.lock() {
                    v.push((Instant::now(), status));
                }
                let header = |k: &str, v: &str| tiny_http::Header::from_bytes(k, v).unwrap();
                let _ = req.respond(
                    tiny_http::Response::from_string(text)
                        .with_status_code(status)
                        .with_header(header("Access-Control-Allow-Origin", &origin))
                        .with_header(header("Access-Control-Expose-Headers", "Retry-After"))
                        .with_header(header("Retry-After", "1")),
                );
            }
        });
        FaultProxy {
            server,
            url,
            log,
            message_ids,
        }
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        self.server.unblock();
    }
}
