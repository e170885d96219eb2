//! The one way every test harness starts a real `footprint-edge` process: the edge tests'
//! (`edge-server/tests/edge/util.rs`) and the browser tests' (`browser.rs`).

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};

/// How to start one edge. `dir` holds its config (`edge.toml`) and its log (`edge.log`, which
/// every start appends to); the data directory may be anywhere.
pub struct Launch<'a> {
    pub bin: &'a Path,
    pub dir: &'a Path,
    pub data_dir: &'a Path,
    /// `127.0.0.1:0` for a fresh port, or the address of a restart.
    pub listen: &'a str,
    pub args: &'a [String],
    pub env: &'a [(String, String)],
}

impl Launch<'_> {
    /// Starts the edge and waits for the line it prints once bound; returns the process and
    /// its base URL. Panics with the log when it does not start.
    pub fn spawn(&self) -> (Child, String) {
        let log_path = self.dir.join("edge.log");
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&log_path)
            .unwrap();
        let mut child = Command::new(self.bin)
            .arg("--config")
            .arg(self.dir.join("edge.toml"))
            .args(["--listen", self.listen, "--data-dir"])
            .arg(self.data_dir)
            .args(self.args)
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .stdout(Stdio::piped())
            .stderr(log)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", self.bin.display()));
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let url = line
            .trim()
            .strip_prefix("footprint-edge listening on ")
            .unwrap_or_else(|| {
                panic!(
                    "the edge did not start; it printed {line:?}; its log:\n{}",
                    std::fs::read_to_string(&log_path).unwrap_or_default()
                )
            })
            .to_owned();
        (child, url)
    }
}
