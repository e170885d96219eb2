//! Who may do what: admin roles and token digests. A leaf that the config, the errors and
//! the token check share, so that none of them imports another for these.

use std::fmt;
use std::str::FromStr;

use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::contacts::Confidentiality;

/// What an admin token may do. Ordered: each role includes the ones before it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Role {
    Viewer,
    Editor,
    Admin,
}

impl FromStr for Role {
    type Err = String;
    fn from_str(s: &str) -> Result<Role, String> {
        match s {
            "viewer" => Ok(Role::Viewer),
            "editor" => Ok(Role::Editor),
            "admin" => Ok(Role::Admin),
            _ => Err(format!("`{s}` is not a role; use viewer, editor or admin")),
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Role::Viewer => "viewer",
            Role::Editor => "editor",
            Role::Admin => "admin",
        })
    }
}

impl Role {
    /// The most confidential contact this role may see.
    pub fn clearance(self) -> Confidentiality {
        match self {
            Role::Viewer => Confidentiality::Free,
            Role::Editor => Confidentiality::Restricted,
            Role::Admin => Confidentiality::Confidential,
        }
    }
}

/// The SHA-256 of a token. Hashing first means every comparison is over 32 bytes, whatever the
/// length of what a caller sends, and the config never has to hold the token itself.
#[derive(Clone, PartialEq, Eq)]
pub struct TokenDigest([u8; 32]);

impl TokenDigest {
    pub fn of_token(token: &str) -> TokenDigest {
        TokenDigest(Sha256::digest(token.as_bytes()).into())
    }

    /// Equal, compared in constant time: how long it takes says nothing of where they differ.
    pub fn matches(&self, other: &TokenDigest) -> bool {
        bool::from(self.0.ct_eq(&other.0))
    }

    pub fn from_hex(h: &str) -> Result<TokenDigest, String> {
        let mut out = [0u8; 32];
        hex::decode_to_slice(h.trim(), &mut out)
            .map_err(|_| "must be 64 hexadecimal digits (sha256 of the token)".to_owned())?;
        Ok(TokenDigest(out))
    }
}

impl fmt::Debug for TokenDigest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("TokenDigest(..)")
    }
}
