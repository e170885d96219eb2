//! `init`'s config: read from what the page passed, with the documented defaults.

use alloc::string::String;

use footprint_protocol::ids::is_site_key;
use serde::Deserializer;

use super::args::{self, checked_types};
use super::args::{object, Invalid};

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

/// The batch URL, from an origin (`https://edge.example`), to which `/v1/batch` is added, or
/// from the batch URL itself: any URL with a path, such as a first-party path
/// (`https://shop.example/t/e`).
#[derive(Debug)]
struct Endpoint(String);

#[derive(Debug)]
struct SiteKey(String);

/// A whole number of milliseconds or events, from `LO` to `HI`.
#[derive(Debug)]
struct Bounded<const LO: u32, const HI: u32>(u32);

#[derive(Debug)]
struct Domain(String);

#[derive(Debug)]
struct Flag(bool);

checked_types! {
    Endpoint(String) = |s| match s {
        args::Raw::Str(mut e) if e.starts_with("https://") || e.starts_with("http://") => {
            while e.ends_with('/') {
                e.pop();
            }
            // Bytes, not a substring search: `str::find` with a pattern brings in the
            // two-way searcher, kilobytes of wasm for one check.
            let host = if e.starts_with("https://") { 8 } else { 7 };
            if !e.as_bytes()[host..].contains(&b'/') {
                e.push_str("/v1/batch");
            }
            Ok(e)
        }
        _ => Err("must be the edge's http(s) URL"),
    };
    SiteKey(String) = |s| match s {
        args::Raw::Str(k) if is_site_key(&k) => Ok(k),
        _ => Err("must be the site key the edge was configured with"),
    };
    Bounded<const LO: u32, const HI: u32>(u32) = |s| match s {
        args::Raw::Num(n) if n >= f64::from(LO) && n <= f64::from(HI) => Ok(n as u32),
        _ => Err("is out of range"),
    };
    Domain(String) = |s| match s {
        args::Raw::Str(d) => Ok(d),
        _ => Err("must be a domain such as shop.example"),
    };
    Flag(bool) = |s| match s {
        args::Raw::Bool(b) => Ok(b),
        _ => Err("must be true or false"),
    };
}

impl Config {
    /// Reads and checks a config from any serde deserializer: `serde_wasm_bindgen`'s over the
    /// page's object in the browser, serde_json's in the native tests.
    pub fn read<'de, D: Deserializer<'de>>(cfg: D) -> Result<Config, Invalid> {
        // Members it does not know are ignored, as a newer page's config must still start
        // an older tracker.
        let raw =
            object(args::read(cfg)?).map_err(|_| Invalid::new("", "expects a config object"))?;
        let flag = |f: args::Raw, name, default| -> Result<bool, Invalid> {
            Ok(f.opt::<Flag>("", name)?.map_or(default, |f| f.0))
        };
        Ok(Config {
            batch_url: raw.endpoint.need::<Endpoint>("", "endpoint")?.0,
            site_key: raw.site_key.need::<SiteKey>("", "siteKey")?.0,
            flush_interval_ms: raw
                .flush_interval_ms
                .opt::<Bounded<100, 600_000>>("", "flushIntervalMs")?
                .map_or(2000, |n| n.0),
            max_batch: raw
                .max_batch
                .opt::<Bounded<1, 500>>("", "maxBatch")?
                .map_or(20, |n| n.0) as usize,
            cookie_domain: raw
                .cookie_domain
                .opt::<Domain>("", "cookieDomain")?
                .map(|d| d.0),
            auto_pageviews: flag(raw.auto_pageviews, "autoPageviews", true)?,
            respect_dnt: flag(raw.respect_do_not_track, "respectDoNotTrack", false)?,
            require_consent: flag(raw.require_consent, "requireConsent", false)?,
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
            (r#"{"siteKey": "shop"}"#, "endpoint is required"),
            (
                r#"{"endpoint": "ftp://x", "siteKey": "shop"}"#,
                "endpoint must be",
            ),
            (r#"{"endpoint": "https://e"}"#, "siteKey is required"),
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
                "siteKey must be the site key",
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
