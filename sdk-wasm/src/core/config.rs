//! `init`'s config: read from what the page passed, with the documented defaults.

use super::event::Invalid;
use super::json::Value;

/// A checked config. Defaults: flush every 2 s or at 20 events, automatic page views on, Do
/// Not Track not respected, no cookie domain (the cookie stays on the page's host).
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    /// The edge's `/v1/batch` URL.
    pub batch_url: String,
    pub site_key: String,
    pub flush_interval_ms: u32,
    pub max_batch: usize,
    pub cookie_domain: Option<String>,
    pub auto_pageviews: bool,
    pub respect_dnt: bool,
}

fn bad(field: &str, problem: &'static str) -> Invalid {
    Invalid {
        field: field.to_owned(),
        problem,
    }
}

impl Config {
    pub fn from_value(cfg: &Value) -> Result<Config, Invalid> {
        if !matches!(cfg, Value::Obj(_)) {
            return Err(bad("", "expects a config object"));
        }
        // An origin (`https://edge.example`) or the batch URL itself.
        let endpoint = match cfg.get("endpoint", "endpoint").and_then(Value::as_str) {
            Some(e) if e.starts_with("https://") || e.starts_with("http://") => {
                e.trim_end_matches('/')
            }
            _ => return Err(bad("endpoint", "must be the edge's http(s) URL")),
        };
        let mut batch_url = endpoint.to_owned();
        if !batch_url.ends_with("/v1/batch") {
            batch_url.push_str("/v1/batch");
        }
        let site_key = match cfg.get("siteKey", "site_key").and_then(Value::as_str) {
            Some(k) if footprint_protocol::SiteKey::new(k).is_ok() => k.to_owned(),
            _ => {
                return Err(bad(
                    "siteKey",
                    "must be the site key the edge was configured with",
                ))
            }
        };
        let number = |camel: &str, default: f64, lo: f64, hi: f64| match cfg.get(camel, camel) {
            None => Ok(default),
            Some(&Value::Num(n)) if (lo..=hi).contains(&n) => Ok(n),
            Some(_) => Err(bad(camel, "is out of range")),
        };
        let flag = |camel: &str, default: bool| match cfg.get(camel, camel) {
            Some(&Value::Bool(b)) => b,
            _ => default,
        };
        Ok(Config {
            batch_url,
            site_key,
            flush_interval_ms: number("flushIntervalMs", 2000.0, 100.0, 600_000.0)? as u32,
            max_batch: number("maxBatch", 20.0, 1.0, 500.0)? as usize,
            cookie_domain: cfg
                .get("cookieDomain", "cookie_domain")
                .and_then(Value::as_str)
                .map(str::to_owned),
            auto_pageviews: flag("autoPageviews", true),
            respect_dnt: flag("respectDoNotTrack", false),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(json: &str) -> Result<Config, Invalid> {
        fn conv(v: &serde_json::Value) -> Value {
            match v {
                serde_json::Value::Null => Value::Null,
                serde_json::Value::Bool(b) => Value::Bool(*b),
                serde_json::Value::Number(n) => Value::Num(n.as_f64().unwrap()),
                serde_json::Value::String(s) => Value::Str(s.clone()),
                serde_json::Value::Array(a) => Value::Arr(a.iter().map(conv).collect()),
                serde_json::Value::Object(o) => {
                    Value::Obj(o.iter().map(|(k, v)| (k.clone(), conv(v))).collect())
                }
            }
        }
        Config::from_value(&conv(&serde_json::from_str(json).unwrap()))
    }

    #[test]
    fn defaults_are_the_documented_ones() {
        let c = parse(r#"{"endpoint": "https://edge.example/", "siteKey": "shop"}"#).unwrap();
        assert_eq!(
            c,
            Config {
                batch_url: "https://edge.example/v1/batch".into(),
                site_key: "shop".into(),
                flush_interval_ms: 2000,
                max_batch: 20,
                cookie_domain: None,
                auto_pageviews: true,
                respect_dnt: false,
            }
        );
        let full = parse(
            r#"{"endpoint": "http://127.0.0.1:8787/v1/batch", "site_key": "shop",
                "flushIntervalMs": 500, "maxBatch": 5, "cookieDomain": "shop.example",
                "autoPageviews": false, "respectDoNotTrack": true}"#,
        )
        .unwrap();
        assert_eq!(full.batch_url, "http://127.0.0.1:8787/v1/batch");
        assert_eq!((full.flush_interval_ms, full.max_batch), (500, 5));
        assert_eq!(full.cookie_domain.as_deref(), Some("shop.example"));
        assert!(!full.auto_pageviews && full.respect_dnt);
    }

    #[test]
    fn a_bad_config_names_the_field() {
        for (json, want) in [
            (r#"[]"#, "expects a config object"),
            (r#"{"siteKey": "shop"}"#, "endpoint must be"),
            (
                r#"{"endpoint": "ftp://x", "siteKey": "shop"}"#,
                "endpoint must be",
            ),
            (r#"{"endpoint": "https://e"}"#, "siteKey must be"),
            (
                r#"{"endpoint": "https://e", "siteKey": "a b"}"#,
                "siteKey must be",
            ),
            (
                r#"{"endpoint": "https://e", "siteKey": "s", "maxBatch": 0}"#,
                "maxBatch is out of range",
            ),
            (
                r#"{"endpoint": "https://e", "siteKey": "s", "flushIntervalMs": "2s"}"#,
                "flushIntervalMs is out of range",
            ),
        ] {
            let msg = parse(json).unwrap_err().message("init");
            assert!(msg.contains(want), "{json}: {msg}");
        }
    }
}
