//! The identity rules: what an `identify` from a tracker does to the contacts. Pure: the store
//! looks up who the tracker and the email or phone belong to, asks [`decide`], and carries out
//! the [`Decision`] in one atomic write. ARCHITECTURE.md states the rules; the tests below
//! check each case.

use crate::contacts::ContactId;

/// A contact as the rules see it: its id, whether it is identified (it has an email or a
/// phone), and whether it has an email.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ContactRef {
    pub id: ContactId,
    pub identified: bool,
    pub has_email: bool,
}

/// Which rule applied. Recorded with every merge and move, so that it could be undone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// Case 1, the tracker's contact is anonymous and nobody has the values: it becomes
    /// identified with them.
    IdentifyInPlace { contact: ContactId },
    /// Case 1, the tracker's contact is identified as someone else and nobody has the values
    /// (a shared device): the tracker moves to a new identified contact from now on; its past
    /// events stay where they are.
    MoveToNewContact { from: ContactId },
    /// Case 2, the values belong to another contact and the tracker's is anonymous: the
    /// anonymous contact merges into the known one.
    Merge { from: ContactId, into: ContactId },
    /// Case 3, the values belong to another contact and the tracker's is identified as someone
    /// else: no merge (two identified contacts never merge automatically); the tracker moves to
    /// the known contact from now on.
    MoveTracker { from: ContactId, to: ContactId },
    /// Case 4, the values already belong to the tracker's contact: only the traits are applied.
    Same { contact: ContactId },
}

/// Who owns the identify's values. An email and a phone may name different contacts; the
/// email, which a shopper types to log in, decides then, and the phone stays with the contact
/// that has it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Owners {
    pub email: Option<ContactRef>,
    pub phone: Option<ContactRef>,
    /// The identify carries an email, and no contact has it.
    pub fresh_email: bool,
}

impl Owners {
    /// The contact the identify points at, if any. The email decides here too: a new email
    /// beside the phone of a contact that already has another email names someone other than
    /// that contact, so the identify points at nobody (and keeps its email), and the phone
    /// stays where it is. Only a phone's contact without an email is pointed at by a new
    /// email, and gains it. (Before, the identify merged into the phone's contact and the new
    /// email was dropped without a word.)
    pub fn owner(self) -> Option<ContactRef> {
        match (self.email, self.phone) {
            (None, Some(p)) if self.fresh_email && p.has_email => None,
            (e, p) => e.or(p),
        }
    }
}

/// The rule for an identify from a tracker whose contact is `tracker`. `conflicts` is true when
/// that contact already holds an email or a phone other than the identify's: it is someone
/// else. An identified contact that only gains a value it lacked (a phone beside its email) is
/// the same person, and is identified in place.
pub fn decide(tracker: ContactRef, owners: Owners, conflicts: bool) -> Decision {
    match owners.owner() {
        Some(owner) if owner.id == tracker.id => Decision::Same {
            contact: tracker.id,
        },
        Some(owner) if tracker.identified => Decision::MoveTracker {
            from: tracker.id,
            to: owner.id,
        },
        Some(owner) => Decision::Merge {
            from: tracker.id,
            into: owner.id,
        },
        None if tracker.identified && conflicts => Decision::MoveToNewContact { from: tracker.id },
        None => Decision::IdentifyInPlace {
            contact: tracker.id,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const fn id(n: u64) -> ContactId {
        ContactId::new(n).unwrap()
    }

    const ANON: ContactRef = ContactRef {
        id: id(1),
        identified: false,
        has_email: false,
    };
    const ALICE: ContactRef = ContactRef {
        id: id(2),
        identified: true,
        has_email: true,
    };
    const BOB: ContactRef = ContactRef {
        id: id(3),
        identified: true,
        has_email: true,
    };
    /// Known by her phone only.
    const PHONE_ONLY: ContactRef = ContactRef {
        id: id(4),
        identified: true,
        has_email: false,
    };

    fn by_email(c: ContactRef) -> Owners {
        Owners {
            email: Some(c),
            ..Owners::default()
        }
    }

    #[test]
    fn case_1_nobody_has_the_values() {
        assert_eq!(
            decide(ANON, Owners::default(), false),
            Decision::IdentifyInPlace { contact: id(1) }
        );
        assert_eq!(
            decide(ALICE, Owners::default(), true),
            Decision::MoveToNewContact { from: id(2) },
            "a shared device: the next shopper is not Alice"
        );
        assert_eq!(
            decide(ALICE, Owners::default(), false),
            Decision::IdentifyInPlace { contact: id(2) },
            "Alice adds her phone beside her email"
        );
    }

    #[test]
    fn case_2_an_anonymous_contact_merges_into_the_known_one() {
        assert_eq!(
            decide(ANON, by_email(ALICE), false),
            Decision::Merge {
                from: id(1),
                into: id(2)
            }
        );
    }

    #[test]
    fn case_3_two_identified_contacts_never_merge() {
        assert_eq!(
            decide(BOB, by_email(ALICE), false),
            Decision::MoveTracker {
                from: id(3),
                to: id(2)
            }
        );
    }

    #[test]
    fn case_4_the_same_contact_changes_nothing() {
        assert_eq!(
            decide(ALICE, by_email(ALICE), false),
            Decision::Same { contact: id(2) }
        );
    }

    #[test]
    fn the_email_decides_when_email_and_phone_name_different_contacts() {
        let split = Owners {
            email: Some(ALICE),
            phone: Some(BOB),
            fresh_email: false,
        };
        assert_eq!(
            decide(ANON, split, false),
            Decision::Merge {
                from: id(1),
                into: id(2)
            }
        );
        let phone_only = Owners {
            email: None,
            phone: Some(BOB),
            fresh_email: false,
        };
        assert_eq!(
            decide(ANON, phone_only, false),
            Decision::Merge {
                from: id(1),
                into: id(3)
            }
        );
    }

    #[test]
    fn a_new_email_beside_another_contacts_phone_is_kept_not_dropped() {
        // Bob has his own email; a new email with Bob's phone is someone else, by the email.
        let new_email_bobs_phone = Owners {
            email: None,
            phone: Some(BOB),
            fresh_email: true,
        };
        assert_eq!(
            decide(ANON, new_email_bobs_phone, false),
            Decision::IdentifyInPlace { contact: id(1) }
        );
        assert_eq!(
            decide(ALICE, new_email_bobs_phone, true),
            Decision::MoveToNewContact { from: id(2) }
        );
        // A contact known by its phone alone gains the email: it has none to contradict.
        let new_email_her_phone = Owners {
            email: None,
            phone: Some(PHONE_ONLY),
            fresh_email: true,
        };
        assert_eq!(
            decide(ANON, new_email_her_phone, false),
            Decision::Merge {
                from: id(1),
                into: id(4)
            }
        );
    }
}
