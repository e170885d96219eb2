//! Timestamps: milliseconds since the Unix epoch, written as RFC 3339 in UTC.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

/// A point in time with millisecond precision.
///
/// Parsing accepts any RFC 3339 offset; output is always UTC with three fraction digits
/// (`2026-11-23T09:59:58.004Z`), the form `Date.prototype.toISOString` produces.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(i64);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TimestampError {
    #[error("must be an RFC 3339 date-time such as 2026-11-23T09:59:58.004Z")]
    Syntax,
    #[error("is outside the years 1970 to 9999")]
    Range,
}

/// 9999-12-31T23:59:59.999Z: the last instant RFC 3339 can write with a four-digit year.
const MAX_MILLIS: i64 = 253_402_300_799_999;

impl Timestamp {
    pub const EPOCH: Timestamp = Timestamp(0);

    pub fn from_millis(ms: i64) -> Result<Self, TimestampError> {
        if !(0..=MAX_MILLIS).contains(&ms) {
            return Err(TimestampError::Range);
        }
        Ok(Timestamp(ms))
    }

    pub fn parse(s: &str) -> Result<Self, TimestampError> {
        let dt = OffsetDateTime::parse(s, &Rfc3339).map_err(|_| TimestampError::Syntax)?;
        let ms = dt.unix_timestamp_nanos() / 1_000_000;
        let ms = i64::try_from(ms).map_err(|_| TimestampError::Range)?;
        Timestamp::from_millis(ms)
    }

    pub fn as_millis(self) -> i64 {
        self.0
    }

    /// `self + delta`, kept inside the representable range.
    pub fn saturating_add_millis(self, delta: i64) -> Timestamp {
        Timestamp(self.0.saturating_add(delta).clamp(0, MAX_MILLIS))
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // In range by construction, so the conversion cannot fail; fall back to the epoch
        // rather than panic if that ever stops being true.
        let dt = OffsetDateTime::from_unix_timestamp_nanos(i128::from(self.0) * 1_000_000)
            .unwrap_or(OffsetDateTime::UNIX_EPOCH);
        let (y, mo, d) = (dt.year(), u8::from(dt.month()), dt.day());
        let (h, mi, s, ms) = (dt.hour(), dt.minute(), dt.second(), dt.millisecond());
        write!(f, "{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}.{ms:03}Z")
    }
}

impl Serialize for Timestamp {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Timestamp {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        Timestamp::parse(&s).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_iso_strings() {
        let t = Timestamp::parse("2026-11-23T09:59:58.004Z").unwrap();
        assert_eq!(t.to_string(), "2026-11-23T09:59:58.004Z");
    }

    #[test]
    fn offsets_are_normalised_to_utc() {
        let t = Timestamp::parse("2026-11-23T10:59:58.004+01:00").unwrap();
        assert_eq!(t.to_string(), "2026-11-23T09:59:58.004Z");
    }

    #[test]
    fn sub_millisecond_digits_are_truncated() {
        let t = Timestamp::parse("2026-11-23T09:59:58.004999Z").unwrap();
        assert_eq!(t.to_string(), "2026-11-23T09:59:58.004Z");
    }

    #[test]
    fn rejects_non_rfc3339() {
        assert_eq!(
            Timestamp::parse("2026-11-23 09:59:58"),
            Err(TimestampError::Syntax)
        );
        assert_eq!(
            Timestamp::parse("1969-12-31T23:59:59Z"),
            Err(TimestampError::Range)
        );
        assert_eq!(Timestamp::parse(""), Err(TimestampError::Syntax));
    }
}
