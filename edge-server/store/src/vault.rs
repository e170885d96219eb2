//! Crypto-shredding: every contact's personal data is sealed under a key of its own, and
//! erasing the contact destroys the key.
//!
//! sled never overwrites: a removed or replaced value stays in its log until segment
//! cleaning or a compaction rewrites the file, and a compaction pauses writes. So the store
//! seals what it keeps about a contact (its record, its history, its events) with
//! XChaCha20-Poly1305 under the contact's key, and the keys live outside sled, in
//! `contact.keys`: a flat file of 32-byte slots, slot `n` for contact `n`. An erasure
//! overwrites the slots of the contact and of those merged into it with zeros and syncs the
//! file before the DELETE is answered: from then on, whatever sled still holds of them is
//! ciphertext nobody can open.
//!
//! - Keys are made ahead, [`RESERVE`] at a time, and the file synced before any of them seals
//!   anything: a crash never leaves data sealed under a key the disk lost.
//! - A slot beyond the end of the file, or all zeros, is a destroyed key: readers treat what
//!   it sealed as erased.
//! - The sled key of a value is its associated data, so a sealed value moved under another
//!   key does not open.
//! - The nonce is synthetic (SIV): a keyed hash of the sled key and the plaintext, under a
//!   subkey of the contact's key. Sealing is thus a function of (key, sled key, plaintext),
//!   so that two stores that applied the same commands with the same keys hold the same
//!   bytes (the replay test, and cluster mode's projectors), and a nonce never repeats for
//!   two different plaintexts. What it gives away is only that a record was rewritten with
//!   the very bytes it held.
//!
//! The overwrite reaches the disk block on filesystems that write in place (ext4, xfs). On a
//! copy-on-write filesystem (btrfs, ZFS) or under an SSD's wear levelling the old block can
//! survive until it is reused; there, put the data directory on an encrypted volume too.

use std::collections::HashMap;
use std::fs::{File, OpenOptions};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use hmac::{Hmac, Mac};
use sha2::Sha256;

use super::StoreError;

pub const KEY_FILE: &str = "contact.keys";
const SLOT: u64 = 32;
const NONCE: usize = 24;
/// Keys made (and synced) at a time: one fsync per this many new contacts.
pub const RESERVE: u64 = 4096;

/// The contact keys of one data directory. Clones share the file.
#[derive(Clone)]
pub struct Vault {
    inner: Arc<Inner>,
}

struct Inner {
    file: File,
    path: PathBuf,
    /// Slots in the file; only the writer thread grows it.
    slots: AtomicU64,
}

impl Vault {
    /// Opens `dir`'s key file, making an empty one when `create` (a new data directory).
    pub fn open(dir: &Path, create: bool) -> Result<Vault, StoreError> {
        let path = dir.join(KEY_FILE);
        let mut opts = OpenOptions::new();
        opts.read(true).write(true).create(create);
        std::os::unix::fs::OpenOptionsExt::mode(&mut opts, 0o600);
        let file = opts.open(&path).map_err(|e| {
            if e.kind() == std::io::ErrorKind::NotFound {
                StoreError::Corrupt(format!(
                    "{} is missing: it holds the keys every contact is sealed with; restore it \
                     from the backup this data directory came from",
                    path.display()
                ))
            } else {
                io(&path, e)
            }
        })?;
        let len = file.metadata().map_err(|e| io(&path, e))?.len();
        Ok(Vault {
            inner: Arc::new(Inner {
                file,
                slots: AtomicU64::new(len / SLOT),
                path,
            }),
        })
    }

    #[cfg(test)]
    pub fn path(&self) -> &Path {
        &self.inner.path
    }

    /// Makes keys for every id up to `last` that has none yet, and syncs them: called by the
    /// writer before a group seals anything for a new contact.
    pub fn reserve(&self, last: u64) -> Result<(), StoreError> {
        let have = self.inner.slots.load(Ordering::Acquire);
        if last < have {
            return Ok(());
        }
        let want = (last / RESERVE + 1) * RESERVE;
        let mut keys = vec![0u8; usize::try_from((want - have) * SLOT).unwrap_or(0)];
        rand::fill(&mut keys[..]);
        let f = &self.inner.file;
        f.write_all_at(&keys, have * SLOT)
            .and_then(|()| f.sync_data())
            .map_err(|e| io(&self.inner.path, e))?;
        self.inner.slots.store(want, Ordering::Release);
        Ok(())
    }

    /// Overwrites the keys of `ids` with zeros and syncs: what they sealed is unreadable from
    /// here on, wherever it lies.
    pub fn destroy(&self, ids: &[u64]) -> Result<(), StoreError> {
        let slots = self.inner.slots.load(Ordering::Acquire);
        let f = &self.inner.file;
        for &id in ids.iter().filter(|&&id| id < slots) {
            f.write_all_at(&[0; SLOT as usize], id * SLOT)
                .map_err(|e| io(&self.inner.path, e))?;
        }
        f.sync_data().map_err(|e| io(&self.inner.path, e))
    }

    fn key(&self, id: u64) -> Result<Option<Sealer>, StoreError> {
        if id >= self.inner.slots.load(Ordering::Acquire) {
            return Ok(None);
        }
        let mut key = [0u8; SLOT as usize];
        self.inner
            .file
            .read_exact_at(&mut key, id * SLOT)
            .map_err(|e| io(&self.inner.path, e))?;
        if key == [0; SLOT as usize] {
            return Ok(None);
        }
        Ok(Some(Sealer {
            cipher: XChaCha20Poly1305::new(&key.into()),
            key,
            nonces: std::cell::OnceCell::new(),
        }))
    }

    /// A key cache for one read or one group commit.
    pub fn keyring(&self) -> Keyring {
        Keyring {
            vault: self.clone(),
            keys: HashMap::new(),
        }
    }
}

fn io(path: &Path, e: std::io::Error) -> StoreError {
    StoreError::Sled(format!("contact keys {}: {e}", path.display()))
}

/// One contact's key, ready to seal: the cipher, and the keyed hash its nonces come from.
struct Sealer {
    cipher: XChaCha20Poly1305,
    key: [u8; SLOT as usize],
    /// The nonces' keyed hash, made on the first seal: reads (a search opens a thousand
    /// contacts' terms) never pay for it.
    nonces: std::cell::OnceCell<Hmac<Sha256>>,
}

impl Sealer {
    /// The synthetic nonce of `plain` under `aad`: a separator no length-prefixed part
    /// needs, since the sled key's length is hashed first.
    fn nonce(&self, aad: &[u8], plain: &[u8]) -> [u8; NONCE] {
        let mut h = self.nonces.get_or_init(|| subkey_mac(&self.key)).clone();
        h.update(&(aad.len() as u64).to_be_bytes());
        h.update(aad);
        h.update(plain);
        let full = h.finalize().into_bytes();
        let mut out = [0; NONCE];
        out.copy_from_slice(&full[..NONCE]);
        out
    }
}

/// The keyed hash under a subkey of `key`, so that one key never serves two primitives.
fn subkey_mac(key: &[u8; 32]) -> Hmac<Sha256> {
    let sub: [u8; 32] = mac_of(key)
        .chain_update(b"footprint seal nonce")
        .finalize()
        .into_bytes()
        .into();
    mac_of(&sub)
}

/// HMAC-SHA256 under a 32-byte key: padded with zeros to the block, as HMAC pads it, so
/// that the fixed-size constructor (which cannot fail) takes it.
fn mac_of(key: &[u8; 32]) -> Hmac<Sha256> {
    let mut block = [0u8; 64];
    block[..32].copy_from_slice(key);
    <Hmac<Sha256> as hmac::digest::KeyInit>::new(&block.into())
}

/// Seals and opens values under contact keys, reading each key from the file once.
pub struct Keyring {
    vault: Vault,
    keys: HashMap<u64, Option<Sealer>>,
}

impl Keyring {
    fn cipher(&mut self, owner: u64) -> Result<Option<&Sealer>, StoreError> {
        if !self.keys.contains_key(&owner) {
            let k = self.vault.key(owner)?;
            self.keys.insert(owner, k);
        }
        Ok(self.keys.get(&owner).and_then(Option::as_ref))
    }

    /// `nonce ‖ ciphertext` of `plain` under `owner`'s key, bound to `aad`.
    pub fn seal(&mut self, owner: u64, aad: &[u8], plain: &[u8]) -> Result<Vec<u8>, StoreError> {
        let cipher = self.cipher(owner)?.ok_or_else(|| {
            StoreError::Corrupt(format!("contact {owner} has no key to seal with"))
        })?;
        let nonce = cipher.nonce(aad, plain);
        let sealed = cipher
            .cipher
            .encrypt(XNonce::from_slice(&nonce), Payload { msg: plain, aad })
            .map_err(|_| StoreError::Corrupt(format!("sealing for contact {owner} failed")))?;
        let mut out = Vec::with_capacity(NONCE + sealed.len());
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&sealed);
        Ok(out)
    }

    /// The plaintext of a [`seal`](Self::seal); `None` when `owner`'s key was destroyed.
    pub fn open(
        &mut self,
        owner: u64,
        aad: &[u8],
        sealed: &[u8],
    ) -> Result<Option<Vec<u8>>, StoreError> {
        let Some(cipher) = self.cipher(owner)? else {
            return Ok(None);
        };
        let bad = || StoreError::Corrupt(format!("a value sealed for contact {owner} is damaged"));
        if sealed.len() < NONCE {
            return Err(bad());
        }
        let (nonce, ct) = sealed.split_at(NONCE);
        cipher
            .cipher
            .decrypt(XNonce::from_slice(nonce), Payload { msg: ct, aad })
            .map(Some)
            .map_err(|_| bad())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_values_open_until_their_key_is_destroyed() {
        let dir = tempfile::tempdir().unwrap();
        let v = Vault::open(dir.path(), true).unwrap();
        v.reserve(2).unwrap();
        let sealed = v.keyring().seal(2, b"c2", b"ana@example.com").unwrap();
        assert!(!sealed.windows(3).any(|w| w == b"ana"));
        assert_eq!(
            v.keyring().open(2, b"c2", &sealed).unwrap().as_deref(),
            Some(&b"ana@example.com"[..])
        );
        // Another key, or the value under another sled key, does not open it.
        assert!(v.keyring().open(1, b"c2", &sealed).is_err());
        assert!(v.keyring().open(2, b"c3", &sealed).is_err());
        v.destroy(&[2]).unwrap();
        let reopened = Vault::open(dir.path(), false).unwrap();
        assert_eq!(reopened.keyring().open(2, b"c2", &sealed).unwrap(), None);
        assert!(reopened.keyring().open(1, b"c1", b"").is_err());
    }

    #[test]
    fn sealing_is_a_function_of_key_sled_key_and_plaintext() {
        let dir = tempfile::tempdir().unwrap();
        let v = Vault::open(dir.path(), true).unwrap();
        v.reserve(2).unwrap();
        let mut ring = v.keyring();
        let a = ring.seal(1, b"c1", b"ana").unwrap();
        assert_eq!(v.keyring().seal(1, b"c1", b"ana").unwrap(), a);
        // Any other input gives another nonce, so no nonce serves two plaintexts.
        for other in [
            ring.seal(1, b"c1", b"anb").unwrap(),
            ring.seal(1, b"c2", b"ana").unwrap(),
            ring.seal(2, b"c1", b"ana").unwrap(),
        ] {
            assert_ne!(other[..NONCE], a[..NONCE]);
        }
    }

    #[test]
    fn keys_are_made_a_block_ahead_and_kept_across_opens() {
        let dir = tempfile::tempdir().unwrap();
        let v = Vault::open(dir.path(), true).unwrap();
        v.reserve(1).unwrap();
        let len = std::fs::metadata(v.path()).unwrap().len();
        assert_eq!(len, RESERVE * SLOT);
        let sealed = v.keyring().seal(1, b"", b"x").unwrap();
        v.reserve(RESERVE - 1).unwrap();
        assert_eq!(std::fs::metadata(v.path()).unwrap().len(), len);
        v.reserve(RESERVE).unwrap();
        assert_eq!(std::fs::metadata(v.path()).unwrap().len(), 2 * len);
        let again = Vault::open(dir.path(), false).unwrap();
        assert!(again.keyring().open(1, b"", &sealed).unwrap().is_some());
        assert!(Vault::open(tempfile::tempdir().unwrap().path(), false).is_err());
    }
}
