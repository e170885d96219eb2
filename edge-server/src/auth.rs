//! Admin tokens: stored only as SHA-256 digests, checked in constant time, never logged.

use std::fmt;
use std::net::IpAddr;
use std::sync::Arc;

pub use crate::access::{Role, TokenDigest};
use crate::config::AdminConfig;
use crate::contacts::Confidentiality;
use crate::ratelimit::AuthThrottle;

impl AdminIdentity {
    /// Ok when this admin's role includes `needs`; otherwise the 403 that names it.
    pub fn require(&self, needs: Role) -> Result<(), crate::error::ApiError> {
        if self.role >= needs {
            Ok(())
        } else {
            Err(crate::error::ApiError::Forbidden {
                needs,
                has: self.role,
                name: self.name.clone(),
            })
        }
    }

    /// May see a contact at `level`.
    pub fn sees(&self, level: Confidentiality) -> bool {
        level <= self.role.clearance()
    }
}

/// Who a valid token belongs to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdminIdentity {
    pub name: String,
    pub role: Role,
}

#[derive(Clone)]
pub struct Admins {
    entries: Vec<AdminConfig>,
    throttle: Arc<AuthThrottle>,
}

impl fmt::Debug for Admins {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Admins")
            .field("entries", &self.entries)
            .finish_non_exhaustive()
    }
}

/// Why a presented token was not accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Denied {
    /// No such token.
    Invalid,
    /// This client failed too often: it is not even checked, for this many seconds.
    Throttled { retry_after: u64 },
}

impl From<Denied> for crate::error::ApiError {
    fn from(d: Denied) -> crate::error::ApiError {
        match d {
            Denied::Invalid => crate::error::ApiError::Unauthorized,
            Denied::Throttled { retry_after } => crate::error::ApiError::RateLimited {
                scope: "client after failed sign-ins",
                retry_after,
            },
        }
    }
}

impl Admins {
    /// `failures_per_minute`: failed attempts one client may make before it is throttled.
    pub fn new(entries: Vec<AdminConfig>, failures_per_minute: u32) -> Admins {
        Admins {
            entries,
            throttle: Arc::new(AuthThrottle::new(failures_per_minute)),
        }
    }

    /// The admin `presented` belongs to, when `client` has not spent its failures. A failure
    /// is counted against `client`; a client that has spent them is refused without the
    /// token being looked at, so a right guess then is refused too.
    pub fn authenticate(
        &self,
        presented: &str,
        client: Option<IpAddr>,
    ) -> Result<AdminIdentity, Denied> {
        if let Some(ip) = client {
            self.throttle
                .check(ip)
                .map_err(|retry_after| Denied::Throttled { retry_after })?;
        }
        match self.verify(presented) {
            Some(who) => Ok(who),
            None => {
                if let Some(ip) = client {
                    self.throttle.fail(ip);
                }
                Err(Denied::Invalid)
            }
        }
    }

    /// Forgets clients whose failures are a minute old.
    pub fn forget_idle(&self) {
        self.throttle.forget_idle();
    }

    /// The admin a presented token belongs to. Every entry is compared, so the time taken does
    /// not tell which entry, or how much of a digest, matched.
    pub fn verify(&self, presented: &str) -> Option<AdminIdentity> {
        let digest = TokenDigest::of_token(presented);
        let mut found = None;
        for entry in &self.entries {
            if entry.token.matches(&digest) && found.is_none() {
                found = Some(AdminIdentity {
                    name: entry.name.clone(),
                    role: entry.role,
                });
            }
        }
        found
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sha2::{Digest, Sha256};

    #[test]
    fn tokens_verify_by_digest_from_either_form() {
        let admins = Admins::new(
            vec![
                AdminConfig {
                    name: "a".into(),
                    token: TokenDigest::of_token("secret-1"),
                    role: Role::Admin,
                },
                AdminConfig {
                    name: "v".into(),
                    token: TokenDigest::from_hex(&hex::encode(Sha256::digest(b"secret-2")))
                        .unwrap(),
                    role: Role::Viewer,
                },
            ],
            10,
        );
        assert_eq!(admins.verify("secret-1").unwrap().name, "a");
        assert_eq!(admins.verify("secret-2").unwrap().role, Role::Viewer);
        assert_eq!(admins.verify("secret-3"), None);
        assert_eq!(admins.verify(""), None);
    }

    #[test]
    fn digests_never_print_their_bytes() {
        assert_eq!(
            format!("{:?}", TokenDigest::of_token("x")),
            "TokenDigest(..)"
        );
    }
}
