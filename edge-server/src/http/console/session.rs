//! Console sessions: a signed-in admin is a random session id in an HttpOnly cookie, looked up
//! here. The token itself never reaches the browser again after sign-in, and every form posts
//! the session's CSRF token, compared in constant time.
//!
//! Sessions live in memory: a restart signs everyone out, which is the safe side of losing
//! them. Ids are kept as SHA-256 digests, so the table does not hold usable cookies.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use rand::RngCore;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::auth::AdminIdentity;

/// The session cookie's name.
pub const COOKIE: &str = "fp_session";
/// The sign-in form's own CSRF cookie (double submit: there is no session yet to hold it).
pub const LOGIN_COOKIE: &str = "fp_login";
/// A session ends this long after sign-in, used or not, as a bank's does.
pub const LIFETIME: Duration = Duration::from_secs(8 * 60 * 60);
/// At most this many live sessions; signing in past it ends the oldest.
const MAX_SESSIONS: usize = 10_000;

/// A signed-in admin, as a handler sees it.
#[derive(Debug, Clone)]
pub struct Session {
    pub who: AdminIdentity,
    pub csrf: String,
}

struct Entry {
    session: Session,
    started: Instant,
    /// A message for the next page shown ("Saved."), taken when shown.
    flash: Option<String>,
}

#[derive(Default)]
pub struct Sessions {
    live: Mutex<HashMap<[u8; 32], Entry>>,
}

/// 32 random bytes as hex: a session id or a CSRF token.
pub fn random_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    hex::encode(bytes)
}

fn digest(id: &str) -> [u8; 32] {
    Sha256::digest(id.as_bytes()).into()
}

/// Two tokens are equal, compared in constant time.
pub fn same_token(a: &str, b: &str) -> bool {
    a.len() == b.len() && bool::from(a.as_bytes().ct_eq(b.as_bytes()))
}

impl Sessions {
    /// Starts a session for `who`; returns its id, for the cookie.
    pub fn start(&self, who: AdminIdentity) -> String {
        let id = random_token();
        let now = Instant::now();
        let mut live = self.live.lock().unwrap_or_else(|p| p.into_inner());
        live.retain(|_, e| now.duration_since(e.started) < LIFETIME);
        if live.len() >= MAX_SESSIONS {
            if let Some(oldest) = live.iter().min_by_key(|(_, e)| e.started).map(|(k, _)| *k) {
                live.remove(&oldest);
            }
        }
        live.insert(
            digest(&id),
            Entry {
                session: Session {
                    who,
                    csrf: random_token(),
                },
                started: now,
                flash: None,
            },
        );
        id
    }

    /// The live session `id` names.
    pub fn get(&self, id: &str) -> Option<Session> {
        let mut live = self.live.lock().unwrap_or_else(|p| p.into_inner());
        let key = digest(id);
        match live.get(&key) {
            Some(e) if e.started.elapsed() < LIFETIME => Some(e.session.clone()),
            Some(_) => {
                live.remove(&key);
                None
            }
            None => None,
        }
    }

    pub fn end(&self, id: &str) {
        let mut live = self.live.lock().unwrap_or_else(|p| p.into_inner());
        live.remove(&digest(id));
    }

    /// Leaves `message` for the next page the session shows.
    pub fn flash(&self, id: &str, message: impl Into<String>) {
        let mut live = self.live.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(e) = live.get_mut(&digest(id)) {
            e.flash = Some(message.into());
        }
    }

    /// The message left for this page, once.
    pub fn take_flash(&self, id: &str) -> Option<String> {
        let mut live = self.live.lock().unwrap_or_else(|p| p.into_inner());
        live.get_mut(&digest(id)).and_then(|e| e.flash.take())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::Role;

    fn ana() -> AdminIdentity {
        AdminIdentity {
            name: "ana".into(),
            role: Role::Editor,
        }
    }

    #[test]
    fn a_session_is_found_by_its_id_only_until_it_ends() {
        let s = Sessions::default();
        let id = s.start(ana());
        let got = s.get(&id).unwrap();
        assert_eq!(got.who, ana());
        assert_eq!(got.csrf.len(), 64);
        assert!(s.get(&random_token()).is_none());
        s.flash(&id, "Saved.");
        assert_eq!(s.take_flash(&id).as_deref(), Some("Saved."));
        assert_eq!(s.take_flash(&id), None);
        s.end(&id);
        assert!(s.get(&id).is_none());
    }

    #[test]
    fn tokens_compare_whole() {
        assert!(same_token("abc", "abc"));
        assert!(!same_token("abc", "abd"));
        assert!(!same_token("abc", "abcd"));
        assert!(!same_token("", "a"));
    }
}
