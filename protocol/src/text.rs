//! Bounded text: the one way free-form strings from a browser enter the system.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A string of `MIN..=MAX` characters with no control characters.
///
/// Control characters are refused rather than stripped: they have no business in a product name
/// or a URL, and silently changing data makes it harder to debug a shop's integration.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Text<const MIN: usize, const MAX: usize>(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TextError {
    #[error("must not be empty")]
    Empty,
    #[error("must be at least {min} characters")]
    TooShort { min: usize },
    #[error("must be at most {max} characters, got {got}")]
    TooLong { max: usize, got: usize },
    #[error("must not contain control characters")]
    Control,
}

impl<const MIN: usize, const MAX: usize> Text<MIN, MAX> {
    pub fn new(s: impl Into<String>) -> Result<Self, TextError> {
        let s = s.into();
        // Bytes bound chars from above, so the common short case skips the char count.
        let chars = if s.len() <= MAX {
            s.chars().count()
        } else {
            s.chars().take(MAX + 1).count()
        };
        if chars > MAX {
            return Err(TextError::TooLong {
                max: MAX,
                got: s.chars().count(),
            });
        }
        if chars < MIN {
            return Err(if chars == 0 {
                TextError::Empty
            } else {
                TextError::TooShort { min: MIN }
            });
        }
        if s.chars().any(char::is_control) {
            return Err(TextError::Control);
        }
        Ok(Text(s))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_string(self) -> String {
        self.0
    }
}

impl<const MIN: usize, const MAX: usize> fmt::Debug for Text<MIN, MAX> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.0, f)
    }
}

impl<const MIN: usize, const MAX: usize> fmt::Display for Text<MIN, MAX> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl<const MIN: usize, const MAX: usize> AsRef<str> for Text<MIN, MAX> {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl<const MIN: usize, const MAX: usize> Serialize for Text<MIN, MAX> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

impl<'de, const MIN: usize, const MAX: usize> Deserialize<'de> for Text<MIN, MAX> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Text::new(s).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    type Name = Text<1, 5>;

    #[test]
    fn bounds_count_characters_not_bytes() {
        assert!(Name::new("ééééé").is_ok());
        assert_eq!(
            Name::new("éééééé"),
            Err(TextError::TooLong { max: 5, got: 6 })
        );
        assert_eq!(Name::new(""), Err(TextError::Empty));
    }

    #[test]
    fn control_characters_are_refused() {
        assert_eq!(Name::new("a\u{0}b"), Err(TextError::Control));
        assert_eq!(Name::new("a\nb"), Err(TextError::Control));
    }
}
