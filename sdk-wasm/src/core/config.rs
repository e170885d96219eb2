//! `init`'s config: read from what the page passed, with the documented defaults.

use alloc::borrow::ToOwned;
use alloc::string::String;

use footprint_protocol::ids::is_site_key;

use serde::{Deserialize, Deserializer};

use super::event::Invalid;

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

/// `init`'s config as the page writes it: camelCase, with the snake_case names shops paste
/// from the wire format. `null` and `undefined` read as absent; members it does not know are
/// ignored, as a newer page's config must still start an older tracker.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Raw {
    endpoint: Option<String>,
    #[serde(alias = "site_key")]
    site_key: Option<String>,
    #[serde(alias = "flush_interval_ms")]
    flush_interval_ms: Option<f64>,
    #[serde(alias = "max_batch")]
    max_batch: Option<f64>,
    #[serde(alias = "cookie_domain")]
    cookie_domain: Option<String>,
    #[serde(alias = "auto_pageviews")]
    auto_pageviews: Option<bool>,
    #[serde(alias = "respect_do_not_track")]
    respect_do_not_track: Option<bool>,
    #[serde(alias = "require_consent")]
    require_consent: Option<bool>,
}

/// What each member must be, for the warning of a value of the wrong type: serde knows the
/// member (through `serde_path_to_error`), and this says what the shop should have passed,
/// in the same words as the checks after deserialising.
fn must_be(member: &str) -> &'static str {
    match member {
        "endpoint" => ENDPOINT,
        "siteKey" | "site_key" => SITE_KEY,
        "flushIntervalMs" | "flush_interval_ms" | "maxBatch" | "max_batch" => OUT_OF_RANGE,
        "cookieDomain" | "cookie_domain" => "must be a domain such as shop.example",
        _ => "must be true or false",
    }
}

const ENDPOINT: &str = "must be the edge's http(s) URL";
const SITE_KEY: &str = "must be the site key the edge was configured with";
const OUT_OF_RANGE: &str = "is out of range";

impl Config {
    /// Reads and checks a config from any serde deserializer: `serde_wasm_bindgen`'s over the
    /// page's object in the browser, serde_json's in the native tests.
    pub fn read<'de, D: Deserializer<'de>>(cfg: D) -> Result<Config, Invalid> {
        let raw: Raw = serde_path_to_error::deserialize(cfg).map_err(|e| {
            let path = e.path().to_string();
            match path.as_str() {
                // The root itself: not an object.
                "." => bad("", "expects a config object"),
                member => bad(member, must_be(member)),
            }
        })?;
        // An origin (`https://edge.example`), to which `/v1/batch` is added, or the batch URL
        // itself: any URL with a path, such as a first-party path (`https://shop.example/t/e`).
        let mut batch_url = match raw.endpoint {
            Some(mut e) if e.starts_with("https://") || e.starts_with("http://") => {
                while e.ends_with('/') {
                    e.pop();
                }
                e
            }
            _ => return Err(bad("endpoint", ENDPOINT)),
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
        let site_key = match raw.site_key {
            Some(k) if is_site_key(&k) => k,
            _ => return Err(bad("siteKey", SITE_KEY)),
        };
        let number = |name: &str, v: Option<f64>, default: u32, lo: u32, hi: u32| match v {
            None => Ok(default),
            Some(n) if n >= f64::from(lo) && n <= f64::from(hi) => Ok(n as u32),
            Some(_) => Err(bad(name, OUT_OF_RANGE)),
        };
        Ok(Config {
            batch_url,
            site_key,
            flush_interval_ms: number(
                "flushIntervalMs",
                raw.flush_interval_ms,
                2000,
                100,
                600_000,
            )?,
            max_batch: number("maxBatch", raw.max_batch, 20, 1, 500)? as usize,
            cookie_domain: raw.cookie_domain,
            auto_pageviews: raw.auto_pageviews.unwrap_or(true),
            respect_dnt: raw.respect_do_not_track.unwrap_or(false),
            require_consent: raw.require_consent.unwrap_or(false),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(json: &str) -> Result<Config, Invalid> {
        Config::read(serde_json::from_str::<serde_json::Value>(json).unwrap())
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
            // A wrong type names the member as the page wrote it.
            (
                r#"{"endpoint": "https://e", "site_key": 12}"#,
                "site_key must be the site key",
            ),
            (
                r#"{"endpoint": "https://e", "siteKey": "s", "requireConsent": "yes"}"#,
                "requireConsent must be true or false",
            ),
            (r#"{"endpoint": 7, "siteKey": "s"}"#, "endpoint must be"),
        ] {
            let msg = parse(json).unwrap_err().message("init");
            assert!(msg.contains(want), "{json}: {msg}");
        }
    }
}
