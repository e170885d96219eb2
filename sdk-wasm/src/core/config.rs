//! `init`'s config: read from what the page passed, with the documented defaults.

use alloc::borrow::ToOwned;
use alloc::string::String;

use footprint_protocol::ids::is_site_key;

use super::event::Invalid;
use super::input::Input;

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
    /// Consent-gated collection: until `consent("yes")`, events stay in memory, nothing is
    /// sent and nothing is written to cookies or storage. Default off.
    pub require_consent: bool,
}

fn bad(field: &str, problem: &'static str) -> Invalid {
    Invalid {
        field: field.to_owned(),
        problem,
    }
}

impl Config {
    pub fn read<I: Input>(cfg: &I) -> Result<Config, Invalid> {
        if !cfg.is_object() {
            return Err(bad("", "expects a config object"));
        }
        let text = |camel: &str, snake: &str| cfg.field(camel, snake).and_then(|v| v.string());
        // An origin (`https://edge.example`), to which `/v1/batch` is added, or the batch URL
        // itself: any URL with a path, such as a first-party path (`https://shop.example/t/e`).
        let mut batch_url = match text("endpoint", "endpoint") {
            Some(mut e) if e.starts_with("https://") || e.starts_with("http://") => {
                while e.ends_with('/') {
                    e.pop();
                }
                e
            }
            _ => return Err(bad("endpoint", "must be the edge's http(s) URL")),
        };
        // Bytes, not a substring search: `str::find` with a pattern brings in the two-way
        // searcher, kilobytes of wasm for one check.
        let host = if batch_url.starts_with("https://") {
            8
        } else {
            7
        };
        if !batch_url.as_bytes()[host..].contains(&b'/') {
            batch_url.push_str("/v1/batch");
        }
        let site_key = match text("siteKey", "site_key") {
            Some(k) if is_site_key(&k) => k,
            _ => {
                return Err(bad(
                    "siteKey",
                    "must be the site key the edge was configured with",
                ))
            }
        };
        let number = |camel: &str, snake: &str, default: u32, lo: u32, hi: u32| match cfg
            .field(camel, snake)
        {
            None => Ok(default),
            Some(v) => match v.number() {
                Some(n) if n >= f64::from(lo) && n <= f64::from(hi) => Ok(n as u32),
                _ => Err(bad(camel, "is out of range")),
            },
        };
        let flag = |camel: &str, snake: &str, default: bool| {
            cfg.field(camel, snake)
                .and_then(|v| v.boolean())
                .unwrap_or(default)
        };
        Ok(Config {
            batch_url,
            site_key,
            flush_interval_ms: number("flushIntervalMs", "flush_interval_ms", 2000, 100, 600_000)?,
            max_batch: number("maxBatch", "max_batch", 20, 1, 500)? as usize,
            cookie_domain: text("cookieDomain", "cookie_domain"),
            auto_pageviews: flag("autoPageviews", "auto_pageviews", true),
            respect_dnt: flag("respectDoNotTrack", "respect_do_not_track", false),
            require_consent: flag("requireConsent", "require_consent", false),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(json: &str) -> Result<Config, Invalid> {
        Config::read(&serde_json::from_str::<serde_json::Value>(json).unwrap())
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
                require_consent: false,
            }
        );
        let full = parse(
            r#"{"endpoint": "http://127.0.0.1:8787/v1/batch", "site_key": "shop",
                "flushIntervalMs": 500, "maxBatch": 5, "cookieDomain": "shop.example",
                "autoPageviews": false, "respectDoNotTrack": true, "requireConsent": true}"#,
        )
        .unwrap();
        assert_eq!(full.batch_url, "http://127.0.0.1:8787/v1/batch");
        // A first-party path behind the shop's own domain is the batch URL itself.
        let first_party =
            parse(r#"{"endpoint": "https://shop.example/t/e", "siteKey": "shop"}"#).unwrap();
        assert_eq!(first_party.batch_url, "https://shop.example/t/e");
        assert_eq!((full.flush_interval_ms, full.max_batch), (500, 5));
        assert_eq!(full.cookie_domain.as_deref(), Some("shop.example"));
        assert!(!full.auto_pageviews && full.respect_dnt && full.require_consent);
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
