//! A NATS JetStream cluster on loopback for tests: `n` real `nats-server` processes (the
//! version `cargo xtask test` installs into `target/tools/`), each with its own store
//! directory, clustered over routes on ports picked free at start and kept across restarts.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The nats-server binary: `FOOTPRINT_NATS_SERVER`, which `cargo xtask test` sets, or the one
/// `cargo xtask nats-server` installs.
pub fn server_binary() -> PathBuf {
    if let Some(p) = std::env::var_os("FOOTPRINT_NATS_SERVER") {
        return PathBuf::from(p);
    }
    let tools = Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/tools");
    let found = std::fs::read_dir(&tools).ok().and_then(|dirs| {
        dirs.filter_map(Result::ok)
            .map(|d| d.path().join("nats-server"))
            .find(|p| p.exists())
    });
    found.unwrap_or_else(|| {
        panic!("no nats-server: run `cargo xtask nats-server` (or `cargo xtask test`, which installs it)")
    })
}

/// A port free now on 127.0.0.1 (the kernel's pick), for a server that must know its peers'.
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap()
}

pub struct Node {
    child: Option<Child>,
    pub port: u16,
    config: PathBuf,
    pub store: PathBuf,
}

pub struct Cluster {
    pub nodes: Vec<Node>,
    /// Holds every node's config, store and log.
    pub dir: tempfile::TempDir,
}

impl Cluster {
    /// Starts `n` nodes of one JetStream cluster and waits until each takes connections.
    pub fn start(n: usize) -> Cluster {
        let dir = tempfile::tempdir().unwrap();
        let ports: Vec<(u16, u16)> = (0..n).map(|_| (free_port(), free_port())).collect();
        let routes: Vec<String> = ports
            .iter()
            .map(|(_, r)| format!("\"nats-route://127.0.0.1:{r}\""))
            .collect();
        let nodes = ports
            .iter()
            .enumerate()
            .map(|(i, (port, route))| {
                let store = dir.path().join(format!("n{i}"));
                let config = dir.path().join(format!("n{i}.conf"));
                // sync_interval: always, so that an acknowledged message is on each replica's
                // disk (fsynced) and not only in its page cache.
                let text = format!(
                    "server_name: n{i}\nlisten: 127.0.0.1:{port}\n\
                     jetstream {{ store_dir: \"{}\", sync_interval: always }}\n\
                     cluster {{ name: footprint, listen: 127.0.0.1:{route}, routes: [{}] }}\n",
                    store.display(),
                    routes.join(", ")
                );
                std::fs::write(&config, text).unwrap();
                Node {
                    child: None,
                    port: *port,
                    config,
                    store,
                }
            })
            .collect();
        let mut cluster = Cluster { nodes, dir };
        for i in 0..n {
            cluster.spawn(i);
        }
        cluster
    }

    fn spawn(&mut self, i: usize) {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.dir.path().join(format!("n{i}.log")))
            .unwrap();
        let node = &mut self.nodes[i];
        let child = Command::new(server_binary())
            .arg("-c")
            .arg(&node.config)
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .unwrap();
        node.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(20);
        while std::net::TcpStream::connect(("127.0.0.1", node.port)).is_err() {
            assert!(Instant::now() < deadline, "NATS node {i} did not start");
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Every node's client URL, for a client that fails over among them.
    pub fn urls(&self) -> Vec<String> {
        self.nodes
            .iter()
            .map(|n| format!("nats://127.0.0.1:{}", n.port))
            .collect()
    }

    /// `kill -9` node `i`: what a power cut does to that one box.
    pub fn kill9(&mut self, i: usize) {
        if let Some(mut c) = self.nodes[i].child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// Node `i`'s process id while it runs, to stop and continue it (a hung peer).
    pub fn pid(&self, i: usize) -> Option<u32> {
        self.nodes[i].child.as_ref().map(|c| c.id())
    }

    pub fn is_running(&self, i: usize) -> bool {
        self.nodes[i].child.is_some()
    }

    /// Starts node `i` again on its ports and store.
    pub fn restart(&mut self, i: usize) {
        self.kill9(i);
        self.spawn(i);
    }

    /// Node `i`'s log, for a failure message.
    pub fn log(&self, i: usize) -> String {
        std::fs::read_to_string(self.dir.path().join(format!("n{i}.log"))).unwrap_or_default()
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        for i in 0..self.nodes.len() {
            self.kill9(i);
        }
    }
}
