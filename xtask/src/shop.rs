//! The demo shop's own web server for `cargo xtask demo`: static files from `demo-shop/` on
//! their own origin, with the edge's URL and the site key written into the pages where the
//! snippet has `%%FOOTPRINT_EDGE%%` and `%%FOOTPRINT_SITE_KEY%%`. Std only, one thread per
//! connection, `Connection: close`: a demo, not a production server.

use std::fs;
use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Component, Path, PathBuf};
use std::sync::Arc;

/// What the shop's files need to know about the edge.
pub struct Vars {
    pub edge: String,
    pub site_key: String,
}

/// Serves `dir` on `listener` until the process ends.
pub fn serve(listener: TcpListener, dir: PathBuf, vars: Vars) {
    let shared = Arc::new((dir, vars));
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let shared = shared.clone();
            std::thread::spawn(move || {
                let _ = answer(stream, &shared.0, &shared.1);
            });
        }
    });
}

fn answer(mut stream: TcpStream, dir: &Path, vars: &Vars) -> std::io::Result<()> {
    let mut line = String::new();
    let mut reader = BufReader::new(stream.try_clone()?);
    reader.read_line(&mut line)?;
    // The headers are read and ignored.
    let mut header = String::new();
    while reader.read_line(&mut header)? > 2 {
        header.clear();
    }
    let mut parts = line.split_whitespace();
    let (method, target) = (parts.next().unwrap_or(""), parts.next().unwrap_or("/"));
    let path = target.split(['?', '#']).next().unwrap_or("/");
    let file = resolve(dir, path);
    let (status, kind, body) = match (method, file.and_then(|f| fs::read(&f).ok().map(|b| (f, b))))
    {
        ("GET" | "HEAD", Some((f, bytes))) => {
            let kind = content_type(&f);
            let body = if kind.starts_with("text/") || kind.contains("javascript") {
                String::from_utf8_lossy(&bytes)
                    .replace("%%FOOTPRINT_EDGE%%", &vars.edge)
                    .replace("%%FOOTPRINT_SITE_KEY%%", &vars.site_key)
                    .into_bytes()
            } else {
                bytes
            };
            ("200 OK", kind, body)
        }
        ("GET" | "HEAD", None) => ("404 Not Found", "text/plain", b"not found\n".to_vec()),
        _ => (
            "405 Method Not Allowed",
            "text/plain",
            b"GET only\n".to_vec(),
        ),
    };
    write!(
        stream,
        "HTTP/1.1 {status}\r\nContent-Type: {kind}\r\nContent-Length: {}\r\nCache-Control: no-store\r\nConnection: close\r\n\r\n",
        body.len()
    )?;
    if method != "HEAD" {
        stream.write_all(&body)?;
    }
    stream.flush()
}

/// The file a URL path names inside `dir`; nothing outside it.
fn resolve(dir: &Path, path: &str) -> Option<PathBuf> {
    let rel = Path::new(path.trim_start_matches('/'));
    if rel.components().any(|c| !matches!(c, Component::Normal(_))) {
        return None;
    }
    let full = dir.join(rel);
    if full.is_dir() {
        return Some(full.join("index.html"));
    }
    Some(full)
}

fn content_type(path: &Path) -> &'static str {
    match path.extension().and_then(|e| e.to_str()) {
        Some("html") => "text/html; charset=utf-8",
        Some("css") => "text/css; charset=utf-8",
        Some("js") => "text/javascript; charset=utf-8",
        Some("svg") => "image/svg+xml",
        Some("json") => "application/json",
        _ => "application/octet-stream",
    }
}
