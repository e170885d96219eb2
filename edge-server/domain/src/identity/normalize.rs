//! Emails and phones as identity keys: normalised once, at the boundary, into types that
//! cannot hold anything else.
//!
//! - Invisible characters (zero-width, BOM) and one pair of wrapping quotes are removed first,
//!   from emails and phones alike.
//! - An email is trimmed and lower-cased, and must be deliverable: `local@domain.tld`.
//! - A phone is parsed with libphonenumber's metadata and written in E.164 (`+34600123456`). A
//!   national number (`600 123 456`) needs the shop's default region.
//! - Values that normalise to nothing, and known placeholders (`null`, `undefined`,
//!   `anonymous`, `0`, `test@test`), are refused: merging on them would join strangers.

use std::fmt;
use std::str::FromStr;

/// Why a value cannot be an identity key. Shown to the shop as a warning in the batch
/// response, so each says what to do.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refused {
    #[error("is empty once trimmed; send the real value or leave it out")]
    Empty,
    #[error("is a placeholder (`{0}`), not a real value; leave it out instead")]
    Placeholder(String),
    #[error(
        "is not a deliverable email address (expected local@domain.tld, without quotes, \
         spaces or brackets)"
    )]
    NotEmail,
    #[error("is not a valid phone number: {0}")]
    NotPhone(&'static str),
}

/// Values shops send when they have nothing, compared after trimming and lower-casing.
const PLACEHOLDERS: [&str; 5] = ["null", "undefined", "anonymous", "0", "test@test"];

/// Characters that print as nothing: zero-width spaces and joiners, direction marks, the
/// word joiner, the byte-order mark and the soft hyphen. Copied out of a web page, a PDF or a
/// spreadsheet, they make a second, undeliverable address of a real one.
fn invisible(c: char) -> bool {
    matches!(c,
        '\u{00AD}' | '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}'
        | '\u{2060}'..='\u{2064}' | '\u{FEFF}')
}

/// `raw` without invisible characters, trimmed, and without one pair of quotes around the
/// whole (a value JSON-stringified twice arrives as `"x@example.com"`).
fn unwrap(raw: &str) -> String {
    let v: String = raw.chars().filter(|c| !invisible(*c)).collect();
    let t = v.trim();
    for q in ['"', '\''] {
        if let Some(inner) = t.strip_prefix(q).and_then(|t| t.strip_suffix(q)) {
            return inner.trim().to_owned();
        }
    }
    t.to_owned()
}

fn common(raw: &str) -> Result<String, Refused> {
    let v = unwrap(raw).to_lowercase();
    if v.is_empty() {
        return Err(Refused::Empty);
    }
    if PLACEHOLDERS.contains(&v.as_str()) {
        return Err(Refused::Placeholder(v));
    }
    Ok(v)
}

/// A normalised email address: trimmed, lower-cased, `local@domain`.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Email(String);

impl Email {
    pub fn normalize(raw: &str) -> Result<Email, Refused> {
        let v = common(raw)?;
        let (local, domain) = v.rsplit_once('@').ok_or(Refused::NotEmail)?;
        // What a mail server delivers to: an unquoted local part (quoted ones are legal but
        // no shop's form produces them, and a stray quote is far likelier) and a domain of
        // dot-separated labels of letters, digits and hyphens.
        let local_ok = !local.is_empty()
            && !local.starts_with('.')
            && !local.ends_with('.')
            && !local.contains("..")
            && !local
                .chars()
                .any(|c| c.is_whitespace() || c.is_control() || "\"(),:;<>@[\\]".contains(c));
        let domain_ok = domain.contains('.')
            && domain.split('.').all(|label| {
                !label.is_empty()
                    && !label.starts_with('-')
                    && !label.ends_with('-')
                    && label.chars().all(|c| c.is_alphanumeric() || c == '-')
            });
        if !local_ok || !domain_ok {
            return Err(Refused::NotEmail);
        }
        Ok(Email(v))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.0, f)
    }
}

/// The region assumed for a phone number written without `+` and a country code: an ISO
/// 3166-1 alpha-2 code, such as `ES`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Region(phonenumber::country::Id);

impl FromStr for Region {
    type Err = String;
    fn from_str(s: &str) -> Result<Region, String> {
        s.trim()
            .to_ascii_uppercase()
            .parse::<phonenumber::country::Id>()
            .map(Region)
            .map_err(|_| format!("`{s}` is not an ISO 3166-1 alpha-2 region such as ES or GB"))
    }
}

/// A phone number in E.164: `+` and up to 15 digits.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Phone(String);

impl Phone {
    pub fn normalize(raw: &str, default_region: Option<Region>) -> Result<Phone, Refused> {
        let v = common(raw)?;
        let international = v.starts_with('+') || v.starts_with("00");
        if !international && default_region.is_none() {
            return Err(Refused::NotPhone(
                "it has no country code (+…) and the edge has no identity.default_region",
            ));
        }
        let parsed = phonenumber::parse(default_region.map(|r| r.0), &v)
            .map_err(|_| Refused::NotPhone("it does not parse as a phone number"))?;
        if !parsed.is_valid() {
            return Err(Refused::NotPhone(
                "no such number exists in its country's numbering plan",
            ));
        }
        Ok(Phone(
            parsed.format().mode(phonenumber::Mode::E164).to_string(),
        ))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Emails and phones travel inside commands (`footprint_store::Command`) as their normalised
/// text. Reading one back checks only that shape: re-running the normalisation could refuse,
/// after an upgrade of libphonenumber's metadata, a number that a command already recorded,
/// and a recorded command must apply as it did when it was written.
macro_rules! normalised_serde {
    ($name:ident, $shape:expr, $what:literal) => {
        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(&self.0)
            }
        }

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = String::deserialize(d)?;
                let shape: fn(&str) -> bool = $shape;
                if shape(&s) {
                    Ok($name(s))
                } else {
                    Err(serde::de::Error::custom(concat!(
                        "not a normalised ",
                        $what
                    )))
                }
            }
        }
    };
}

normalised_serde!(
    Email,
    |s| s.contains('@') && s.len() <= 320 && s.to_lowercase() == s,
    "email"
);
normalised_serde!(
    Phone,
    |s| s
        .strip_prefix('+')
        .is_some_and(|d| (1..=15).contains(&d.len()) && d.bytes().all(|b| b.is_ascii_digit())),
    "phone"
);

impl fmt::Debug for Phone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.0, f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_are_trimmed_and_lower_cased() {
        assert_eq!(
            Email::normalize("  Alice.Smith@Example.COM \n")
                .unwrap()
                .as_str(),
            "alice.smith@example.com"
        );
        assert_eq!(
            Email::normalize("ÉLODIE@exemple.fr").unwrap().as_str(),
            "élodie@exemple.fr"
        );
    }

    #[test]
    fn placeholders_and_empties_are_refused() {
        for raw in [
            "null",
            " NULL ",
            "undefined",
            "Anonymous",
            "0",
            "test@test",
            "TEST@test",
        ] {
            assert!(
                matches!(Email::normalize(raw), Err(Refused::Placeholder(_))),
                "{raw}"
            );
            assert!(
                matches!(Phone::normalize(raw, None), Err(Refused::Placeholder(_))),
                "{raw}"
            );
        }
        assert_eq!(Email::normalize("   "), Err(Refused::Empty));
        assert_eq!(Phone::normalize("", None), Err(Refused::Empty));
    }

    #[test]
    fn malformed_emails_are_refused() {
        for raw in [
            "alice",
            "@example.com",
            "alice@",
            "a b@example.com",
            "a@.com",
            "a@com.",
            "a@localhost",
            "a\"b@example.com",
            "<a@example.com>",
            "a@exa mple.com",
            "a@example..com",
            "\"a@example.com",
        ] {
            assert_eq!(Email::normalize(raw), Err(Refused::NotEmail), "{raw}");
        }
    }

    #[test]
    fn invisible_characters_and_wrapping_quotes_do_not_split_people() {
        let alice = Email::normalize("alice@example.com").unwrap();
        for raw in [
            "\"alice@example.com\"",
            "'alice@example.com'",
            " \"Alice@Example.com\" ",
            "\u{FEFF}alice@example.com",
            "ali\u{200B}ce@example.com",
            "alice@exam\u{200D}ple.com\u{2060}",
            "\"\u{FEFF}alice@example.com\"",
        ] {
            assert_eq!(Email::normalize(raw).as_ref(), Ok(&alice), "{raw:?}");
        }
        // Only one pair: what is left must be deliverable on its own.
        assert_eq!(
            Email::normalize("\"\"alice@example.com\"\""),
            Err(Refused::NotEmail)
        );
        assert_eq!(
            Phone::normalize("\"+34 600\u{200B}123 456\"", None)
                .unwrap()
                .as_str(),
            "+34600123456"
        );
    }

    #[test]
    fn phones_become_e164_however_they_are_written() {
        let es: Region = "es".parse().unwrap();
        for raw in [
            "+34 600 12 34 56",
            "0034600123456",
            "600123456",
            "(+34) 600-123-456",
        ] {
            assert_eq!(
                Phone::normalize(raw, Some(es)).unwrap().as_str(),
                "+34600123456",
                "{raw}"
            );
        }
        let gb: Region = "GB".parse().unwrap();
        assert_eq!(
            Phone::normalize("07400 123456", Some(gb)).unwrap().as_str(),
            "+447400123456"
        );
        // An international number ignores the default region.
        assert_eq!(
            Phone::normalize("+44 7400 123456", Some(es))
                .unwrap()
                .as_str(),
            "+447400123456"
        );
    }

    #[test]
    fn a_national_number_needs_a_region_and_a_real_number() {
        let err = Phone::normalize("600123456", None).unwrap_err();
        assert!(err.to_string().contains("identity.default_region"), "{err}");
        let es: Region = "ES".parse().unwrap();
        assert!(matches!(
            Phone::normalize("12", Some(es)),
            Err(Refused::NotPhone(_))
        ));
        assert!(matches!(
            Phone::normalize("not a phone", Some(es)),
            Err(Refused::NotPhone(_))
        ));
        assert!("Spain".parse::<Region>().unwrap_err().contains("ISO 3166"));
    }
}
