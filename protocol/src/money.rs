//! Money: an exact decimal amount in a currency's major unit, plus an ISO 4217 code.
//!
//! On the wire an amount is a JSON number (`19.99`). JSON parsers hand numbers over as f64, so
//! an amount is rebuilt from the shortest decimal text that round-trips the f64. That text is
//! exactly what the sender wrote for any amount of at most 15 significant digits, which the
//! limits below guarantee. All arithmetic afterwards is on `rust_decimal::Decimal`, never f64.

use std::fmt;
use std::str::FromStr;

use rust_decimal::prelude::ToPrimitive;
use rust_decimal::Decimal;
use serde::de::{self, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A non-negative amount below 100,000,000,000 with at most 4 decimal places.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Amount(Decimal);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MoneyError {
    #[error("must be a JSON number such as 19.99")]
    NotANumber,
    #[error("must not be negative")]
    Negative,
    #[error("must be below 100000000000")]
    TooLarge,
    #[error("must have at most 4 decimal places")]
    TooPrecise,
    #[error("must be a three-letter ISO 4217 code in capitals, such as EUR")]
    Currency,
}

const MAX_SCALE: u32 = 4;

impl Amount {
    pub const ZERO: Amount = Amount(Decimal::ZERO);

    pub fn new(d: Decimal) -> Result<Self, MoneyError> {
        let d = d.normalize();
        if d.is_sign_negative() && !d.is_zero() {
            return Err(MoneyError::Negative);
        }
        if d >= Decimal::from(100_000_000_000u64) {
            return Err(MoneyError::TooLarge);
        }
        if d.scale() > MAX_SCALE {
            return Err(MoneyError::TooPrecise);
        }
        Ok(Amount(d))
    }

    pub fn parse(s: &str) -> Result<Self, MoneyError> {
        Amount::new(Decimal::from_str(s).map_err(|_| MoneyError::NotANumber)?)
    }

    pub fn as_decimal(self) -> Decimal {
        self.0
    }
}

impl fmt::Display for Amount {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

impl Serialize for Amount {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        // Exact for every valid amount (at most 15 significant digits, see the module docs).
        match self.0.to_f64() {
            Some(f) => s.serialize_f64(f),
            None => Err(serde::ser::Error::custom("amount out of f64 range")),
        }
    }
}

impl<'de> Deserialize<'de> for Amount {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct AmountVisitor;
        impl Visitor<'_> for AmountVisitor {
            type Value = Amount;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a JSON number such as 19.99")
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Amount, E> {
                Amount::new(Decimal::from(v)).map_err(E::custom)
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Amount, E> {
                Amount::new(Decimal::from(v)).map_err(E::custom)
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Amount, E> {
                if !v.is_finite() {
                    return Err(E::custom(MoneyError::NotANumber));
                }
                // Rust prints the shortest decimal that round-trips, with no exponent.
                Amount::parse(&v.to_string()).map_err(E::custom)
            }
        }
        d.deserialize_any(AmountVisitor)
    }
}

/// An ISO 4217 alphabetic code: three ASCII capitals. The list of codes is not checked; a shop
/// may sell in a currency newer than this build.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Currency([u8; 3]);

impl Currency {
    pub fn new(s: &str) -> Result<Self, MoneyError> {
        match s.as_bytes() {
            &[a, b, c] if [a, b, c].iter().all(u8::is_ascii_uppercase) => Ok(Currency([a, b, c])),
            _ => Err(MoneyError::Currency),
        }
    }

    pub fn as_str(&self) -> &str {
        // Three ASCII capitals by construction.
        std::str::from_utf8(&self.0).unwrap_or("XXX")
    }
}

impl fmt::Debug for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Display for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for Currency {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for Currency {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        Currency::new(&s).map_err(de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn amount(json: &str) -> Result<Amount, String> {
        serde_json::from_str(json).map_err(|e| e.to_string())
    }

    #[test]
    fn amounts_are_exact_decimals() {
        let a = amount("0.1").unwrap().as_decimal() + amount("0.2").unwrap().as_decimal();
        assert_eq!(a.to_string(), "0.3");
        assert_eq!(amount("19.99").unwrap().to_string(), "19.99");
        assert_eq!(
            amount("99999999999.9999").unwrap().to_string(),
            "99999999999.9999"
        );
    }

    #[test]
    fn amounts_serialize_back_to_the_same_number() {
        for s in ["19.99", "0.3", "1234567.8912", "0", "5"] {
            let a = amount(s).unwrap();
            let back: Amount = serde_json::from_str(&serde_json::to_string(&a).unwrap()).unwrap();
            assert_eq!(a, back, "{s}");
        }
    }

    #[test]
    fn bad_amounts_are_refused_with_a_reason() {
        assert!(amount("-1").unwrap_err().contains("negative"));
        assert!(amount("1.00001").unwrap_err().contains("decimal places"));
        assert!(amount("100000000000").unwrap_err().contains("below"));
        assert!(amount("\"19.99\"").unwrap_err().contains("JSON number"));
    }

    #[test]
    fn currency_codes_are_three_capitals() {
        assert!(Currency::new("EUR").is_ok());
        assert!(Currency::new("eur").is_err());
        assert!(Currency::new("EURO").is_err());
        assert!(Currency::new("").is_err());
    }
}
