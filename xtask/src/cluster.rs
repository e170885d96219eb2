//! A local cluster on loopback: 3 NATS nodes (JetStream, R3), 2 projectors and 2 edges, for
//! `cargo xtask cluster` and `cargo xtask bench cluster`. Every process is a child of this
//! one and in its process group, so Ctrl-C (SIGINT or SIGTERM to the group) stops them all;
//! dropping a `Local` stops them too.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::{read_listening_line, root, stop_edge, Result};

pub struct Local {
    pub dir: PathBuf,
    pub nats: Vec<Child>,
    pub nats_urls: Vec<String>,
    /// (process, URL)
    pub projectors: Vec<(Child, String)>,
    pub edges: Vec<(Child, String)>,
}

/// A free loopback port (bound, read and released; the server binds it right after).
fn free_port() -> Result<u16> {
    let l = std::net::TcpListener::bind("127.0.0.1:0").map_err(|e| e.to_string())?;
    Ok(l.local_addr().map_err(|e| e.to_string())?.port())
}

fn log_file(dir: &Path, name: &str) -> Result<fs::File> {
    fs::File::create(dir.join(format!("{name}.log"))).map_err(|e| e.to_string())
}

impl Local {
    /// Starts the cluster in `dir` (emptied first). `sites_and_admins` is the config the
    /// edges and projectors share (sites, admins, limits); `[cluster]` is added here.
    pub fn start(
        nats_server: &Path,
        dir: PathBuf,
        sites_and_admins: &str,
        sdk: Option<&Path>,
        fsync_each: bool,
    ) -> Result<Local> {
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        let mut local = Local {
            dir: dir.clone(),
            nats: Vec::new(),
            nats_urls: Vec::new(),
            projectors: Vec::new(),
            edges: Vec::new(),
        };
        let ports: Vec<(u16, u16)> = (0..3)
            .map(|_| Ok((free_port()?, free_port()?)))
            .collect::<Result<_>>()?;
        let routes: Vec<String> = ports
            .iter()
            .map(|(_, r)| format!("\"nats-route://127.0.0.1:{r}\""))
            .collect();
        for (i, (port, route)) in ports.iter().enumerate() {
            // sync_interval: always: an acknowledged command is fsynced on each replica that
            // acknowledged it, so even a power cut of every box loses nothing acknowledged.
            // (`fsync_each` false: NATS's default, a sync every 2 minutes; only to measure
            // what the fsyncs cost.)
            let conf = dir.join(format!("nats{i}.conf"));
            let sync = if fsync_each {
                ", sync_interval: always"
            } else {
                ""
            };
            let text = format!(
                "server_name: n{i}\nlisten: 127.0.0.1:{port}\n\
                 jetstream {{ store_dir: \"{}\"{sync} }}\n\
                 cluster {{ name: footprint, listen: 127.0.0.1:{route}, routes: [{}] }}\n",
                dir.join(format!("nats{i}")).display(),
                routes.join(", ")
            );
            fs::write(&conf, text).map_err(|e| e.to_string())?;
            let child = Command::new(nats_server)
                .arg("-c")
                .arg(&conf)
                .stdout(Stdio::null())
                .stderr(log_file(&dir, &format!("nats{i}"))?)
                .spawn()
                .map_err(|e| format!("cannot start nats-server: {e}"))?;
            local.nats.push(child);
            local.nats_urls.push(format!("nats://127.0.0.1:{port}"));
        }
        for port in ports.iter().map(|(p, _)| *p) {
            let deadline = Instant::now() + Duration::from_secs(20);
            while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
                if Instant::now() > deadline {
                    return Err(format!("a NATS node did not start; see {}", dir.display()));
                }
                std::thread::sleep(Duration::from_millis(50));
            }
        }
        let urls: Vec<String> = local.nats_urls.iter().map(|u| format!("\"{u}\"")).collect();
        let config = |role: &str| {
            format!(
                "{sites_and_admins}\n[cluster]\nurls = [{}]\nrole = \"{role}\"\nreplicas = 3\n",
                urls.join(", ")
            )
        };
        // The projectors' views seal under the same contact keys, as a deployment's would
        // when it copies them (README, "Running a cluster").
        let mut keys = vec![0u8; 4096 * 32];
        fs::File::open("/dev/urandom")
            .and_then(|mut f| std::io::Read::read_exact(&mut f, &mut keys))
            .map_err(|e| e.to_string())?;
        let suppression: String = keys[..32].iter().map(|b| format!("{b:02x}")).collect();
        for i in 1..=2 {
            let data = dir.join(format!("projector{i}"));
            fs::create_dir_all(&data).map_err(|e| e.to_string())?;
            fs::write(data.join("contact.keys"), &keys[32..]).map_err(|e| e.to_string())?;
            fs::write(data.join("suppression.key"), format!("{suppression}\n"))
                .map_err(|e| e.to_string())?;
            let conf = dir.join(format!("projector{i}.toml"));
            fs::write(&conf, config("projector")).map_err(|e| e.to_string())?;
            let p = local.spawn(&conf, &data, &format!("projector{i}"), None)?;
            local.projectors.push(p);
        }
        for i in 1..=2 {
            let conf = dir.join(format!("edge{i}.toml"));
            fs::write(&conf, config("edge")).map_err(|e| e.to_string())?;
            let e = local.spawn(&conf, &dir.join("unused"), &format!("edge{i}"), sdk)?;
            local.edges.push(e);
        }
        Ok(local)
    }

    fn spawn(
        &self,
        config: &Path,
        data: &Path,
        name: &str,
        sdk: Option<&Path>,
    ) -> Result<(Child, String)> {
        let mut cmd = Command::new(root().join("target/release/footprint-edge"));
        cmd.env("RUST_LOG", "warn")
            .arg("--config")
            .arg(config)
            .args(["--listen", "127.0.0.1:0", "--data-dir"])
            .arg(data);
        if let Some(sdk) = sdk {
            cmd.arg("--sdk-dir").arg(sdk);
        }
        let mut child = cmd
            .stdout(Stdio::piped())
            .stderr(log_file(&self.dir, name)?)
            .spawn()
            .map_err(|e| format!("cannot start {name}: {e}"))?;
        let url = read_listening_line(&mut child).map_err(|e| {
            format!(
                "{name}: {e} ({})",
                self.dir.join(format!("{name}.log")).display()
            )
        })?;
        Ok((child, url))
    }

    /// CPU seconds (user + system) each kind of process has used so far: NATS nodes,
    /// projectors, edges. Read from /proc, to say where a benchmark's time went.
    pub fn cpu_seconds(&self) -> [(&'static str, f64); 3] {
        let of = |pid: u32| -> f64 {
            let Ok(stat) = fs::read_to_string(format!("/proc/{pid}/stat")) else {
                return 0.0;
            };
            // Fields after the command's closing parenthesis: utime and stime are the 12th
            // and 13th, in clock ticks (100 a second on Linux).
            let rest = stat.rsplit(')').next().unwrap_or("");
            let f: Vec<&str> = rest.split_whitespace().collect();
            let ticks = |i: usize| f.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
            (ticks(11) + ticks(12)) / 100.0
        };
        [
            ("NATS nodes", self.nats.iter().map(|c| of(c.id())).sum()),
            (
                "projectors",
                self.projectors.iter().map(|(c, _)| of(c.id())).sum(),
            ),
            ("edges", self.edges.iter().map(|(c, _)| of(c.id())).sum()),
        ]
    }

    /// Waits until one of the processes exits; says which.
    pub fn wait_any(&mut self) -> String {
        loop {
            for (i, c) in self.nats.iter_mut().enumerate() {
                if let Ok(Some(s)) = c.try_wait() {
                    return format!("NATS node {} exited with {s}", i + 1);
                }
            }
            for (what, list) in [
                ("projector", &mut self.projectors),
                ("edge", &mut self.edges),
            ] {
                for (i, (c, _)) in list.iter_mut().enumerate() {
                    if let Ok(Some(s)) = c.try_wait() {
                        return format!("{what} {} exited with {s}", i + 1);
                    }
                }
            }
            std::thread::sleep(Duration::from_millis(200));
        }
    }
}

impl Drop for Local {
    fn drop(&mut self) {
        for (c, _) in self.edges.iter_mut().chain(self.projectors.iter_mut()) {
            stop_edge(c, Duration::from_secs(15));
        }
        for c in &mut self.nats {
            stop_edge(c, Duration::from_secs(10));
        }
    }
}
