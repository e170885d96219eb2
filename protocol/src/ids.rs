//! Identifiers that cross the wire. Each checks its shape once, here, so that the edge can use
//! them in storage keys without further checks.

/// A tracker id: 1 to 64 of `A-Z a-z 0-9 - _ . :`. The SDK sends a UUIDv7.
pub fn is_tracker_id(s: &str) -> bool {
    token_chars(s, true) && ascii_length_within(s, 64)
}

/// A site key: 1 to 64 of `A-Z a-z 0-9 - _`.
pub fn is_site_key(s: &str) -> bool {
    token_chars(s, false) && ascii_length_within(s, 64)
}

/// For text [`token_chars`] has passed, which is ASCII: bytes are characters.
fn ascii_length_within(s: &str, max: usize) -> bool {
    (1..=max).contains(&s.len())
}

/// `A-Z a-z 0-9 - _`, and `. :` when `dots`. Bytes, not chars: any non-ASCII byte fails, and
/// the tracker's wasm carries no UTF-8 decoder for it.
fn token_chars(s: &str, dots: bool) -> bool {
    s.bytes().all(|b| {
        b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || (dots && (b == b'.' || b == b':'))
    })
}

#[cfg(feature = "std")]
pub use self::typed::*;

#[cfg(feature = "std")]
mod typed {
    use std::fmt;

    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    use super::token_chars;

    #[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
    pub enum IdError {
        #[error("must be 1 to {max} characters, got {got}")]
        Length { max: usize, got: usize },
        #[error("may contain only {allowed}")]
        Charset { allowed: &'static str },
    }

    fn check_len(s: &str, max: usize) -> Result<(), IdError> {
        let got = s.chars().count();
        if got == 0 || got > max {
            return Err(IdError::Length { max, got });
        }
        Ok(())
    }

    macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident, $check:expr) => {
        $(#[$doc])*
        #[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(String);

        impl $name {
            pub fn new(s: impl Into<String>) -> Result<Self, IdError> {
                let s = s.into();
                let check: fn(&str) -> Result<(), IdError> = $check;
                check(&s)?;
                Ok($name(s))
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Debug::fmt(&self.0, f)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(&self.0)
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = String::deserialize(d)?;
                $name::new(s).map_err(serde::de::Error::custom)
            }
        }
    };
}

    id_type!(
        /// The browser's tracker id: 1 to 64 of `A-Z a-z 0-9 - _ . :`. The SDK sends a UUIDv7.
        TrackerId,
        |s| {
            check_len(s, 64)?;
            if !token_chars(s, true) {
                return Err(IdError::Charset { allowed: "letters, digits and - _ . :" });
            }
            Ok(())
        }
    );

    impl TrackerId {
        /// The tracker the edge files a contact's events from the shop's servers under:
        /// `server:<contact id>` (`crate::SERVER_TRACKER_PREFIX`). Letters, a colon and at
        /// most 20 digits: every such name passes [`TrackerId::new`]'s rules.
        pub fn of_server(contact: u64) -> TrackerId {
            TrackerId(format!("{}{contact}", crate::SERVER_TRACKER_PREFIX))
        }
    }

    id_type!(
        /// An event's idempotency key: 1 to 100 characters, none of them control characters.
        /// Unique per event within a site; a repeat is stored once.
        MessageId,
        |s| {
            check_len(s, 100)?;
            if s.chars().any(char::is_control) {
                return Err(IdError::Charset { allowed: "characters other than control characters" });
            }
            Ok(())
        }
    );

    id_type!(
        /// A site's public key, as configured on the edge: 1 to 64 of `A-Z a-z 0-9 - _`.
        SiteKey,
        |s| {
            check_len(s, 64)?;
            if !token_chars(s, false) {
                return Err(IdError::Charset { allowed: "letters, digits, - and _" });
            }
            Ok(())
        }
    );
}

#[cfg(all(test, feature = "std"))]
mod tests {
    use super::*;

    #[test]
    fn tracker_id_accepts_uuid_and_refuses_key_separators() {
        assert!(TrackerId::new("0192f3c4-8a1b-7c2d-9e3f-4a5b6c7d8e9f").is_ok());
        assert!(TrackerId::new("a/b").is_err());
        assert!(TrackerId::new("a\u{0}b").is_err());
        assert!(TrackerId::new("").is_err());
        assert!(TrackerId::new("x".repeat(65)).is_err());
        for contact in [0, 1, u64::MAX] {
            let t = TrackerId::of_server(contact);
            assert_eq!(TrackerId::new(t.as_str()).as_ref(), Ok(&t));
        }
    }

    #[test]
    fn message_id_is_one_to_hundred_chars() {
        assert!(MessageId::new("m".repeat(100)).is_ok());
        assert!(MessageId::new("m".repeat(101)).is_err());
        assert!(MessageId::new("").is_err());
        assert!(MessageId::new("é-ok").is_ok());
    }
}
