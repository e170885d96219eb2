//! The browser's tracker id: which one is current, and where it must be written back.
//!
//! It lives in a first-party cookie `fp_tid` (shared across subdomains when `cookieDomain` is
//! set) and is mirrored to localStorage. If either is cleared, it is restored from the other.
//! When both hold a valid id and they differ, the cookie wins, because it is the one that
//! subdomains share.

use alloc::string::String;

use alloc::borrow::ToOwned;

use footprint_protocol::ids::is_tracker_id;

pub const COOKIE_NAME: &str = "fp_tid";
pub const STORAGE_KEY: &str = "fp_tid";
/// One year, in seconds.
pub const COOKIE_MAX_AGE: u32 = 365 * 24 * 3600;

/// The current tracker id, and which stores need it written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resolved {
    pub tracker_id: String,
    pub write_cookie: bool,
    pub write_storage: bool,
}

/// Picks the tracker id from what the cookie and storage hold; `fresh` makes a new one when
/// neither holds a valid id.
pub fn resolve(
    cookie: Option<&str>,
    stored: Option<&str>,
    fresh: impl FnOnce() -> String,
) -> Resolved {
    let valid = |v: Option<&str>| v.filter(|s| is_tracker_id(s)).map(str::to_owned);
    match (valid(cookie), valid(stored)) {
        (Some(c), Some(s)) => Resolved {
            write_storage: c != s,
            tracker_id: c,
            write_cookie: false,
        },
        (Some(c), None) => Resolved {
            tracker_id: c,
            write_cookie: false,
            write_storage: true,
        },
        (None, Some(s)) => Resolved {
            tracker_id: s,
            write_cookie: true,
            write_storage: false,
        },
        (None, None) => Resolved {
            tracker_id: fresh(),
            write_cookie: true,
            write_storage: true,
        },
    }
}

/// The value of `fp_tid` in a `document.cookie` string.
pub fn read_cookie(all: &str) -> Option<&str> {
    super::text::split(all, b';')
        .filter_map(|part| part.trim_ascii().strip_prefix("fp_tid="))
        .find(|v| !v.is_empty())
}

/// The `document.cookie` assignment that stores `tracker_id`. `domain` is ignored unless it is
/// a plain host name, so that a bad `cookieDomain` cannot inject cookie attributes.
pub fn cookie_string(tracker_id: &str, secure: bool, domain: Option<&str>) -> String {
    let mut s = String::with_capacity(96);
    s.push_str(COOKIE_NAME);
    s.push('=');
    s.push_str(tracker_id);
    s.push_str("; Max-Age=31536000; Path=/; SameSite=Lax");
    if let Some(d) = domain.filter(|d| is_host(d)) {
        s.push_str("; Domain=");
        s.push_str(d);
    }
    if secure {
        s.push_str("; Secure");
    }
    s
}

fn is_host(d: &str) -> bool {
    let d = d.strip_prefix('.').unwrap_or(d);
    !d.is_empty()
        && d.len() <= 253
        && d.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.')
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: &str = "0193a1b2-c3d4-7e5f-8a9b-000000000001";
    const B: &str = "0193a1b2-c3d4-7e5f-8a9b-000000000002";

    fn fresh() -> String {
        B.to_owned()
    }

    #[test]
    fn either_store_restores_the_other() {
        assert_eq!(
            resolve(Some(A), None, fresh),
            Resolved {
                tracker_id: A.into(),
                write_cookie: false,
                write_storage: true
            }
        );
        assert_eq!(
            resolve(None, Some(A), fresh),
            Resolved {
                tracker_id: A.into(),
                write_cookie: true,
                write_storage: false
            }
        );
        assert_eq!(
            resolve(Some(A), Some(A), fresh),
            Resolved {
                tracker_id: A.into(),
                write_cookie: false,
                write_storage: false
            }
        );
    }

    #[test]
    fn a_new_id_only_when_neither_holds_a_valid_one() {
        assert_eq!(resolve(None, None, fresh).tracker_id, B);
        assert_eq!(
            resolve(Some("bad id;"), Some(""), fresh),
            Resolved {
                tracker_id: B.into(),
                write_cookie: true,
                write_storage: true
            }
        );
    }

    #[test]
    fn the_cookie_wins_a_disagreement() {
        assert_eq!(
            resolve(Some(A), Some(B), fresh),
            Resolved {
                tracker_id: A.into(),
                write_cookie: false,
                write_storage: true
            }
        );
    }

    #[test]
    fn reads_fp_tid_among_other_cookies() {
        assert_eq!(read_cookie(&format!("a=1; fp_tid={A}; b=2")), Some(A));
        assert_eq!(read_cookie("xfp_tid=1; fp_tid_old=2"), None);
        assert_eq!(read_cookie(""), None);
    }

    #[test]
    fn the_cookie_is_short_and_cannot_be_injected() {
        let c = cookie_string(A, true, Some(".shop.example"));
        assert_eq!(
            c,
            format!(
                "fp_tid={A}; Max-Age=31536000; Path=/; SameSite=Lax; Domain=.shop.example; Secure"
            )
        );
        let name_value = c.split(';').next().unwrap();
        assert!(name_value.len() < 100);
        let evil = cookie_string(A, false, Some("x.com; Domain=evil.com"));
        assert!(!evil.contains("Domain"), "{evil}");
    }
}
