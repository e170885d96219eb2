//! The suppression list's keyed hash.
//!
//! An erased contact's email and phone must be recognised when they come back, without being
//! kept. A plain hash would not do: emails and phones are guessable, so anyone with the list
//! could test guesses. They are kept as HMAC-SHA256 under a random key of this edge's own,
//! `suppression.key` in the data directory (outside the sled files, so compactions keep it).
//! The site is part of the hashed text: suppression is per site, like the indexes.
//!
//! The same key, through a subkey of its own, hashes the values index keys are made of
//! ([`Suppressor::blind`]): emails, phones, order ids and search buckets, which cannot be
//! sealed in a key and must not stay readable in sled's log after an erasure.

use std::fs;
use std::io::Write;
use std::path::Path;

use hmac::{Hmac, Mac};
use sha2::Sha256;

use super::StoreError;

const KEY_FILE: &str = "suppression.key";

/// Which value is hashed; part of the hashed text, so an email never matches a phone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Email,
    Phone,
}

/// What an index hash stands for; part of the hashed text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Blind {
    Email,
    Phone,
    Order,
    /// A contact's reference (the shop's CRM id).
    Reference,
    /// The first characters of a search term: a bucket of the search index.
    Bucket,
    /// A whole search term, to tell a contact's terms in one bucket apart.
    Term,
}

#[derive(Clone)]
pub struct Suppressor {
    key: [u8; 32],
    /// HMAC(key, "index"): index hashes never equal a suppression entry's.
    index: [u8; 32],
}

impl Suppressor {
    /// Reads the key from `dir`, or makes one (readable by the owner only) on first start.
    pub fn load_or_create(dir: &Path) -> Result<Suppressor, StoreError> {
        let path = dir.join(KEY_FILE);
        let io = |e: std::io::Error| {
            StoreError::Sled(format!("suppression key {}: {e}", path.display()))
        };
        match fs::read_to_string(&path) {
            Ok(text) => {
                let mut key = [0u8; 32];
                hex::decode_to_slice(text.trim(), &mut key).map_err(|_| {
                    StoreError::Corrupt(format!(
                        "suppression key {} is not 64 hex digits; restore it from a backup \
                         (a new key forgets every suppressed email and phone)",
                        path.display()
                    ))
                })?;
                Ok(Suppressor::new(key))
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let key: [u8; 32] = rand::random();
                let mut opts = fs::OpenOptions::new();
                opts.write(true).create_new(true);
                #[cfg(unix)]
                std::os::unix::fs::OpenOptionsExt::mode(&mut opts, 0o600);
                let mut f = opts.open(&path).map_err(io)?;
                writeln!(f, "{}", hex::encode(key)).map_err(io)?;
                f.sync_all().map_err(io)?;
                Ok(Suppressor::new(key))
            }
            Err(e) => Err(io(e)),
        }
    }

    fn new(key: [u8; 32]) -> Suppressor {
        Suppressor {
            key,
            index: mac(&key, &[b"index"]),
        }
    }

    pub fn hash(&self, site: &str, kind: Kind, value: &str) -> [u8; 32] {
        let tag: &[u8] = match kind {
            Kind::Email => b"email",
            Kind::Phone => b"phone",
        };
        mac(&self.key, &[site.as_bytes(), tag, value.as_bytes()])
    }

    /// The keyed hash an index key holds instead of `value`, truncated to 128 bits: enough
    /// that two values never share one.
    pub fn blind(&self, what: Blind, value: &str) -> [u8; 16] {
        let tag: &[u8] = match what {
            Blind::Email => b"email",
            Blind::Phone => b"phone",
            Blind::Order => b"order",
            Blind::Reference => b"reference",
            Blind::Bucket => b"bucket",
            Blind::Term => b"term",
        };
        let full = mac(&self.index, &[tag, value.as_bytes()]);
        let mut out = [0; 16];
        out.copy_from_slice(&full[..16]);
        out
    }
}

fn mac(key: &[u8], parts: &[&[u8]]) -> [u8; 32] {
    // HMAC takes a key of any length; new_from_slice cannot fail for it.
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(key) else {
        return [0; 32];
    };
    for part in parts {
        mac.update(part);
        // A separator no part holds, so ("ab", "c") never hashes as ("a", "bc").
        mac.update(&[0]);
    }
    mac.finalize().into_bytes().into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_key_is_made_once_and_hashes_depend_on_site_kind_and_key() {
        let dir = tempfile::tempdir().unwrap();
        let a = Suppressor::load_or_create(dir.path()).unwrap();
        let again = Suppressor::load_or_create(dir.path()).unwrap();
        let h = a.hash("shop", Kind::Email, "a@b.co");
        assert_eq!(again.hash("shop", Kind::Email, "a@b.co"), h);
        assert_ne!(a.hash("other", Kind::Email, "a@b.co"), h);
        assert_ne!(a.hash("shop", Kind::Phone, "a@b.co"), h);
        let other_dir = tempfile::tempdir().unwrap();
        let b = Suppressor::load_or_create(other_dir.path()).unwrap();
        assert_ne!(b.hash("shop", Kind::Email, "a@b.co"), h);
    }
}
