//! Crypto-shredding for the log. A JetStream message deleted "securely" is overwritten in
//! the stream's files, but its copy in the stream's RAFT log stays on disk until NATS next
//! compacts that log, which nothing can ask for. So no shopper's data goes into the log in
//! the clear: each tracker's events are sealed (XChaCha20-Poly1305) under a key of their
//! own, and erasing a contact destroys the keys of its trackers.
//!
//! The keys live in a replicated key-value bucket in NATS's *memory* storage: replicated
//! like the stream (R3), never written to any disk, NATS's RAFT log included (checked on
//! this machine kind: nothing of a memory stream appears under the store directories).
//! What that costs, and what it buys, is written in ARCHITECTURE.md ("Cluster mode").

use std::collections::HashMap;
use std::sync::Mutex;

use async_nats::jetstream::{kv, stream::StorageType};
use chacha20poly1305::aead::{Aead, KeyInit};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use sha2::{Digest, Sha256};

use super::{Log, LogError};

/// The header that names a message's key.
pub const HEADER: &str = "Fp-Key";
const NONCE: usize = 24;
/// Keys a process keeps at hand; past it the cache starts over (a refetch is one request).
const CACHED: usize = 100_000;

pub type Key = [u8; 32];

/// The log's keys: made by edges as trackers appear, read by projectors, destroyed by
/// erasures.
pub struct Keys {
    bucket: kv::Store,
    cache: Mutex<HashMap<String, Key>>,
    /// Where destroyed key names are announced, so that every process drops its copy.
    gone: String,
    client: async_nats::Client,
}

/// A key's name: a keyed-nothing hash of site and tracker, so that the bucket does not list
/// tracker ids.
pub fn name(site: &str, tracker: &str) -> String {
    let mut h = Sha256::new();
    h.update(b"footprint-log-key\0");
    h.update(site.as_bytes());
    h.update([0]);
    h.update(tracker.as_bytes());
    hex::encode(&h.finalize()[..16])
}

/// The key of an admin's changes to one contact (a PATCH holds the values it sets).
pub fn name_of_contact(id: u64) -> String {
    name("\0contact", &id.to_string())
}

/// The key of an imported row that names `value` (its email, else its phone): an erasure
/// knows every email and phone its contact was known by.
pub fn name_of_value(site: &str, value: &str) -> String {
    name(site, &format!("\0value:{value}"))
}

impl Keys {
    /// Opens (or makes) the bucket beside `log`'s stream, and follows destructions.
    pub async fn open(log: &Log) -> Result<std::sync::Arc<Keys>, LogError> {
        // Memory storage: never on a disk, the RAFT log included (see above).
        let store = log
            .bucket("keys", StorageType::Memory, std::time::Duration::ZERO)
            .await?;
        let keys = std::sync::Arc::new(Keys {
            bucket: store,
            cache: Mutex::default(),
            gone: format!("{}.keys.gone", log.config().stream),
            client: log.client().clone(),
        });
        let mut gone = log
            .client()
            .subscribe(keys.gone.clone())
            .await
            .map_err(|e| LogError::Stream(e.to_string()))?;
        let weak = std::sync::Arc::downgrade(&keys);
        tokio::spawn(async move {
            use futures_util::StreamExt;
            while let Some(m) = gone.next().await {
                let Some(keys) = weak.upgrade() else { break };
                let names = String::from_utf8_lossy(&m.payload).into_owned();
                let mut cache = keys.cache();
                for name in names.split(',') {
                    cache.remove(name);
                }
            }
        });
        Ok(keys)
    }

    fn cache(&self) -> std::sync::MutexGuard<'_, HashMap<String, Key>> {
        self.cache.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn remember(&self, name: &str, key: Key) {
        let mut cache = self.cache();
        if cache.len() >= CACHED {
            cache.clear();
        }
        cache.insert(name.to_owned(), key);
    }

    /// The key to seal `name`'s events with, made if it has none. Two edges that make one at
    /// once agree: the bucket takes only the first.
    pub async fn for_writing(&self, name: &str) -> Result<Key, LogError> {
        if let Some(k) = self.cache().get(name) {
            return Ok(*k);
        }
        let fail = |e: String| LogError::Publish(format!("the log's keys: {e}"));
        if let Some(k) = self.fetch(name).await? {
            return Ok(k);
        }
        let mut key = [0u8; 32];
        rand::fill(&mut key);
        match self.bucket.create(name, key.to_vec().into()).await {
            Ok(_) => {
                self.remember(name, key);
                Ok(key)
            }
            // Another edge made it first: take theirs.
            Err(e) => self
                .fetch(name)
                .await?
                .ok_or_else(|| fail(format!("cannot make a key: {e}"))),
        }
    }

    /// The key that sealed `name`'s events; `None` when an erasure destroyed it.
    pub async fn for_reading(&self, name: &str) -> Result<Option<Key>, LogError> {
        if let Some(k) = self.cache().get(name) {
            return Ok(Some(*k));
        }
        self.fetch(name).await
    }

    async fn fetch(&self, name: &str) -> Result<Option<Key>, LogError> {
        let got = self
            .bucket
            .get(name)
            .await
            .map_err(|e| LogError::Read(format!("the log's keys: {e}")))?;
        let key = got.and_then(|b| Key::try_from(&b[..]).ok());
        if let Some(k) = key {
            self.remember(name, k);
        }
        Ok(key)
    }

    /// Destroys the keys `names`: the log's copies of what they sealed can no longer be read
    /// by anyone, wherever NATS keeps them.
    pub async fn destroy(&self, names: &[String]) -> Result<(), LogError> {
        for name in names {
            self.bucket
                .purge(name)
                .await
                .map_err(|e| LogError::Publish(format!("the log's keys: {e}")))?;
        }
        {
            let mut cache = self.cache();
            for name in names {
                cache.remove(name);
            }
        }
        let _ = self
            .client
            .publish(self.gone.clone(), names.join(",").into())
            .await;
        Ok(())
    }
}

/// Seals `plain` under `key`: a random nonce, then the ciphertext. The key's name is the
/// associated data, so a message moved under another name does not open.
pub fn seal(key: &Key, name: &str, plain: &[u8]) -> Vec<u8> {
    let mut nonce = [0u8; NONCE];
    rand::fill(&mut nonce);
    let cipher = XChaCha20Poly1305::new(key.into());
    let sealed = cipher
        .encrypt(
            XNonce::from_slice(&nonce),
            chacha20poly1305::aead::Payload {
                msg: plain,
                aad: name.as_bytes(),
            },
        )
        .unwrap_or_default();
    let mut out = nonce.to_vec();
    out.extend_from_slice(&sealed);
    out
}

/// Opens what [`seal`] sealed; `None` when it does not open under `key`.
pub fn open(key: &Key, name: &str, sealed: &[u8]) -> Option<Vec<u8>> {
    if sealed.len() < NONCE {
        return None;
    }
    let (nonce, body) = sealed.split_at(NONCE);
    XChaCha20Poly1305::new(key.into())
        .decrypt(
            XNonce::from_slice(nonce),
            chacha20poly1305::aead::Payload {
                msg: body,
                aad: name.as_bytes(),
            },
        )
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sealed_command_opens_only_under_its_key_and_name() {
        let key = [7u8; 32];
        let sealed = seal(&key, "a", b"page_view by t-1 of s1@example.com");
        assert!(!sealed.windows(5).any(|w| w == b"s1@ex"));
        assert_eq!(
            open(&key, "a", &sealed).as_deref(),
            Some(&b"page_view by t-1 of s1@example.com"[..])
        );
        assert_eq!(open(&key, "b", &sealed), None);
        assert_eq!(open(&[8u8; 32], "a", &sealed), None);
        assert_eq!(open(&key, "a", &sealed[..10]), None);
    }
}
