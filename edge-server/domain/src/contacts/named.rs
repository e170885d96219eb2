//! Closed sets of values that the API, the rule language, the console and stored records all
//! name by the same words: one enum each, declared once with its names and labels.
//!
//! Each is serialised as its name, so a stored record or a command holds the same bytes as
//! when these were strings, and records written before the enums read unchanged.

/// A closed set of named values, for code that takes any of them (a list filter).
pub trait Named: Sized {
    const NAMES: &'static [&'static str];
    fn parse(name: &str) -> Option<Self>;
}

/// An enum whose values have names (`ALL`, `NAMES`, `as_str`, `parse`) and console labels
/// (`label`, `OPTIONS`), serialised as the name.
macro_rules! named {
    (
        $(#[$doc:meta])*
        pub enum $name:ident ($what:literal) {
            $($(#[$vdoc:meta])* $variant:ident = $text:literal, $label:literal;)+
        }
    ) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum $name {
            $($(#[$vdoc])* $variant,)+
        }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];
            /// The names, in the order of [`Self::ALL`].
            pub const NAMES: &'static [&'static str] = &[$($text),+];
            /// (name, label) pairs, for a console's select.
            pub const OPTIONS: &'static [(&'static str, &'static str)] = &[$(($text, $label)),+];

            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $text,)+
                }
            }

            /// How the console shows it.
            pub fn label(self) -> &'static str {
                match self {
                    $($name::$variant => $label,)+
                }
            }

            pub fn parse(name: &str) -> Option<$name> {
                match name {
                    $($text => Some($name::$variant),)+
                    _ => None,
                }
            }
        }

        impl Named for $name {
            const NAMES: &'static [&'static str] = $name::NAMES;

            fn parse(name: &str) -> Option<$name> {
                $name::parse(name)
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        /// Compares by name, as the strings these replaced did.
        impl PartialEq<&str> for $name {
            fn eq(&self, other: &&str) -> bool {
                self.as_str() == *other
            }
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
                $name::parse(&s).ok_or_else(|| {
                    serde::de::Error::custom(format!(
                        "`{s}` is not {}; one of {}",
                        $what,
                        Self::NAMES.join(", ")
                    ))
                })
            }
        }
    };
}

named! {
    /// The emBlue valuation of a contact, by whole days since its last activity.
    pub enum Valuation ("a valuation") {
        /// Active in the last 15 days.
        New = "new", "New";
        /// 16 to 45 days ago.
        Frequent = "frequent", "Frequent";
        /// 46 to 120 days ago.
        Dormant = "dormant", "Dormant";
        /// Longer ago.
        Lapsed = "lapsed", "Lapsed";
        /// Never active.
        Inactive = "inactive", "Inactive";
    }
}

named! {
    /// An email address's deliverability, as an admin or the mail channel set it.
    pub enum EmailStatus ("an email status") {
        Active = "active", "Active";
        Bounced = "bounced", "Bounced";
        /// Never mailed again: set by hand or by an erasure's suppression.
        Blocked = "blocked", "Blocked";
        /// emBlue's suspension.
        Paused = "paused", "Paused";
    }
}

named! {
    /// A phone's SMS deliverability.
    pub enum SmsStatus ("an SMS status") {
        Active = "active", "Active";
        Bounced = "bounced", "Bounced";
        Paused = "paused", "Paused";
        /// Never sent an SMS again: after a complaint, or set by hand.
        Blocked = "blocked", "Blocked";
    }
}

named! {
    /// A newsletter or SMS subscription.
    pub enum Subscription ("a subscription") {
        Subscribed = "subscribed", "Subscribed";
        Unsubscribed = "unsubscribed", "Unsubscribed";
        NotSubscribed = "not_subscribed", "Not subscribed";
    }
}

named! {
    /// The RFM grid's segment of a purchasing contact.
    pub enum RfmSegment ("an RFM segment") {
        // In the grid's order, best first; `rfm::segment` says which scores make each.
        Champions = "champions", "Champions"; Loyal = "loyal", "Loyal";
        PotentialLoyalist = "potential_loyalist", "Potential loyalist";
        NewCustomer = "new_customer", "New customer"; Promising = "promising", "Promising";
        NeedAttention = "need_attention", "Need attention";
        AboutToSleep = "about_to_sleep", "About to sleep"; AtRisk = "at_risk", "At risk";
        CannotLose = "cannot_lose", "Cannot lose"; Hibernating = "hibernating", "Hibernating";
        Lost = "lost", "Lost";
    }
}

named! {
    /// Whether the contact consented to tracking: the latest consent event or admin edit.
    pub enum Consent ("a consent state") {
        Yes = "yes", "Yes";
        No = "no", "No";
        NotSet = "not_set", "Not set";
    }
}

impl From<footprint_protocol::ConsentState> for Consent {
    fn from(c: footprint_protocol::ConsentState) -> Consent {
        use footprint_protocol::ConsentState as S;
        match c {
            S::Yes => Consent::Yes,
            S::No => Consent::No,
            S::NotSet => Consent::NotSet,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_serialise_as_the_strings_they_replaced() {
        for s in EmailStatus::ALL {
            assert_eq!(EmailStatus::parse(s.as_str()), Some(*s));
        }
        // The bytes of a record that held a String.
        assert_eq!(
            postcard::to_allocvec(&Some(EmailStatus::Blocked)).unwrap(),
            postcard::to_allocvec(&Some("blocked".to_owned())).unwrap()
        );
        let back: Subscription = serde_json::from_str("\"not_subscribed\"").unwrap();
        assert_eq!(back, Subscription::NotSubscribed);
        let err = serde_json::from_str::<SmsStatus>("\"frozen\"").unwrap_err();
        assert!(
            err.to_string()
                .contains("one of active, bounced, paused, blocked"),
            "{err}"
        );
        assert_eq!(RfmSegment::ALL.len(), RfmSegment::NAMES.len());
    }
}
