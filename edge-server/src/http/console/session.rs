//! Console sessions: a signed-in admin is a random session id in an HttpOnly cookie, looked up
//! here. The token itself never reaches the browser again after sign-in, and every form posts
//! the session's CSRF token, compared in constant time.
//!
//! Sessions live in memory: a restart signs everyone out, which is the safe side of losing
//! them. Ids are kept as SHA-256 digests, so the table does not hold usable cookies.
//!
//! In cluster mode any projector may answer a console page, so sessions live in a replicated
//! NATS key-value bucket instead ([`Sessions::shared`]), keyed by the same digests and
//! expiring with the bucket's `max_age` as well as by their own start time.

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
    /// Cluster mode: the shared bucket, in place of `live`.
    shared: Option<async_nats::jetstream::kv::Store>,
}

/// A session as the shared bucket holds it.
#[derive(serde::Serialize, serde::Deserialize)]
struct Stored {
    name: String,
    role: String,
    csrf: String,
    /// Unix milliseconds.
    started: i64,
    flash: Option<String>,
}

impl Stored {
    fn session(&self) -> Option<Session> {
        let started = i64::try_from(LIFETIME.as_millis()).unwrap_or(i64::MAX);
        let now = time::OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000;
        if now.saturating_sub(i128::from(self.started)) >= i128::from(started) {
            return None;
        }
        Some(Session {
            who: AdminIdentity {
                name: self.name.clone(),
                role: self.role.parse().ok()?,
            },
            csrf: self.csrf.clone(),
        })
    }
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
    /// Sessions in `bucket`, shared by every process of a cluster.
    pub fn shared(bucket: async_nats::jetstream::kv::Store) -> Sessions {
        Sessions {
            live: Mutex::default(),
            shared: Some(bucket),
        }
    }

    /// Starts a session for `who`; returns its id, for the cookie.
    pub async fn start(&self, who: AdminIdentity) -> String {
        let id = random_token();
        let csrf = random_token();
        if let Some(kv) = &self.shared {
            let stored = Stored {
                name: who.name,
                role: who.role.to_string(),
                csrf,
                started: (time::OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000)
                    as i64,
                flash: None,
            };
            put(kv, &id, &stored).await;
            return id;
        }
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
                session: Session { who, csrf },
                started: now,
                flash: None,
            },
        );
        id
    }

    /// The live session `id` names.
    pub async fn get(&self, id: &str) -> Option<Session> {
        if let Some(kv) = &self.shared {
            return fetch(kv, id).await?.session();
        }
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

    pub async fn end(&self, id: &str) {
        if let Some(kv) = &self.shared {
            // Purged, not only deleted: no earlier revision of it stays in the bucket.
            if let Err(e) = kv.purge(hex::encode(digest(id))).await {
                tracing::warn!(error = %e, "a console session could not be ended in the bucket");
            }
            return;
        }
        let mut live = self.live.lock().unwrap_or_else(|p| p.into_inner());
        live.remove(&digest(id));
    }

    /// Leaves `message` for the next page the session shows.
    pub async fn flash(&self, id: &str, message: impl Into<String>) {
        if let Some(kv) = &self.shared {
            if let Some(mut stored) = fetch(kv, id).await {
                stored.flash = Some(message.into());
                put(kv, id, &stored).await;
            }
            return;
        }
        let mut live = self.live.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(e) = live.get_mut(&digest(id)) {
            e.flash = Some(message.into());
        }
    }

    /// The message left for this page, once.
    pub async fn take_flash(&self, id: &str) -> Option<String> {
        if let Some(kv) = &self.shared {
            let mut stored = fetch(kv, id).await?;
            let flash = stored.flash.take()?;
            put(kv, id, &stored).await;
            return Some(flash);
        }
        let mut live = self.live.lock().unwrap_or_else(|p| p.into_inner());
        live.get_mut(&digest(id)).and_then(|e| e.flash.take())
    }
}

async fn fetch(kv: &async_nats::jetstream::kv::Store, id: &str) -> Option<Stored> {
    match kv.get(hex::encode(digest(id))).await {
        Ok(Some(bytes)) => serde_json::from_slice(&bytes).ok(),
        Ok(None) => None,
        Err(e) => {
            // Signed out rather than let in: the page asks to sign in again.
            tracing::warn!(error = %e, "the console sessions bucket did not answer");
            None
        }
    }
}

async fn put(kv: &async_nats::jetstream::kv::Store, id: &str, stored: &Stored) {
    let bytes = serde_json::to_vec(stored).unwrap_or_default();
    if let Err(e) = kv.put(hex::encode(digest(id)), bytes.into()).await {
        tracing::warn!(error = %e, "a console session could not be saved in the bucket");
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

    #[actix_web::test]
    async fn a_session_is_found_by_its_id_only_until_it_ends() {
        let s = Sessions::default();
        let id = s.start(ana()).await;
        let got = s.get(&id).await.unwrap();
        assert_eq!(got.who, ana());
        assert_eq!(got.csrf.len(), 64);
        assert!(s.get(&random_token()).await.is_none());
        s.flash(&id, "Saved.").await;
        assert_eq!(s.take_flash(&id).await.as_deref(), Some("Saved."));
        assert_eq!(s.take_flash(&id).await, None);
        s.end(&id).await;
        assert!(s.get(&id).await.is_none());
    }

    #[test]
    fn tokens_compare_whole() {
        assert!(same_token("abc", "abc"));
        assert!(!same_token("abc", "abd"));
        assert!(!same_token("abc", "abcd"));
        assert!(!same_token("", "a"));
    }
}
