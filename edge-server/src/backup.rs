//! `footprint-edge backup DIR`: a consistent backup whether or not an edge is running. A
//! running edge owns its data directory (`LOCK`), so the command asks it over its admin API
//! (`POST /v1/admin/backup`) and the edge's writer thread takes the backup between two
//! groups; with no edge running, the command opens the store and takes it itself.

use std::path::Path;

use crate::config::Config;
use crate::store::{Store, StoreError};

/// Takes the backup; returns the manifest as pretty JSON.
pub fn cli(
    config: &Config,
    dir: &Path,
    token: Option<&str>,
    url: Option<&str>,
) -> Result<String, String> {
    let dir = std::path::absolute(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    if let Some(url) = url {
        return through_edge(url, &dir, token);
    }
    match Store::open(&config.data_dir, &config.store) {
        Ok(store) => {
            let now = crate::ingest::Clock::now(&crate::ingest::SystemClock).as_millis();
            let r = store
                .backup(dir, now)
                .map_err(|e| e.to_string())
                .and_then(|rx| rx.blocking_recv().map_err(|e| e.to_string()))
                .and_then(|r| r.map_err(|e| e.to_string()));
            store.shutdown();
            serde_json::to_string_pretty(&r?).map_err(|e| e.to_string())
        }
        Err(StoreError::Locked(_)) => {
            let url = format!("http://{}", config.listen);
            through_edge(&url, &dir, token)
        }
        Err(e) => Err(e.to_string()),
    }
}

fn through_edge(url: &str, dir: &Path, token: Option<&str>) -> Result<String, String> {
    let Some(token) = token else {
        return Err(format!(
            "an edge has the data directory open: pass --token (or FOOTPRINT_ADMIN_TOKEN) with \
             an admin token, and the edge at {url} takes the backup while it serves"
        ));
    };
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into();
    let body = serde_json::json!({ "dir": dir }).to_string();
    let endpoint = format!("{}/v1/admin/backup", url.trim_end_matches('/'));
    let mut resp = agent
        .post(&endpoint)
        .header("authorization", &format!("Bearer {token}"))
        .header("content-type", "application/json")
        .send(body.as_str())
        .map_err(|e| format!("cannot reach the edge at {endpoint}: {e}; pass --url"))?;
    let status = resp.status();
    let text = resp
        .body_mut()
        .read_to_string()
        .map_err(|e| format!("{endpoint}: {e}"))?;
    if !status.is_success() {
        let message = serde_json::from_str::<serde_json::Value>(&text)
            .ok()
            .and_then(|v| v["message"].as_str().map(str::to_owned))
            .unwrap_or(text);
        return Err(format!("the edge answered {status}: {message}"));
    }
    let manifest: serde_json::Value =
        serde_json::from_str(&text).map_err(|e| format!("{endpoint}: {e}"))?;
    serde_json::to_string_pretty(&manifest).map_err(|e| e.to_string())
}
