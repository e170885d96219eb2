//! How many contacts there are, by valuation and by email status, without reading them.
//!
//! The writer keeps one counter per (site, confidentiality, email status class, UTC day of
//! the last activity): `N` keys whose value is the count. Every group commit moves each
//! contact it changed from the counter it was in to the one it is in now (`Working::finish`),
//! in the same atomic batch, so the counters are always exactly the live contacts.
//!
//! A valuation is a function of the day of the last activity and today's date
//! (`sheet::valuation` counts calendar days for this reason), so a count by valuation is a
//! sum over day counters: a site has one counter per day it saw activity on (times the
//! confidentiality and status classes present), a few thousand at most, whatever the number
//! of contacts. Contacts with a `valid_until` are left out of the counters, because whether
//! they count depends on when one asks: they are listed under `V` keys and read one by one.
//! An admin sets `valid_until` on a few contacts, not on a site's every contact.

use std::collections::BTreeMap;

use footprint_domain::contacts::sheet::{self, Valuation};
use footprint_domain::contacts::{Confidentiality, Contact, ContactId, EmailStatus};
use serde::Serialize;

use super::keys;
use super::record::{self, ContactRecord};
use super::vault::Keyring;
use super::StoreError;

/// Where one live contact is counted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Tally {
    /// In the counter of this key.
    Counted(Vec<u8>),
    /// Listed under this `V` key, to be read when counted.
    Timed(Vec<u8>),
}

/// The email status classes a counter tells apart: the ones an overview shows, as the sheet
/// shows them (a contact without an email has none).
/// The email statuses counted apart, by their class number (stored in counter keys, so the
/// order is fixed); every other contact (active, or without an email) is class 0.
const COUNTED: [(u8, EmailStatus); 3] = [
    (1, EmailStatus::Bounced),
    (2, EmailStatus::Blocked),
    (3, EmailStatus::Paused),
];

fn status_class(c: &Contact) -> u8 {
    sheet::email_status(c)
        .and_then(|s| COUNTED.iter().find(|(_, x)| *x == s))
        .map_or(0, |(class, _)| *class)
}

fn confidentiality_class(c: Confidentiality) -> u8 {
    Confidentiality::ALL
        .iter()
        .position(|x| *x == c)
        .and_then(|p| u8::try_from(p).ok())
        .unwrap_or(u8::MAX)
}

/// The day of a contact's last activity as a counter names it; `u32::MAX` for never.
fn activity_day(c: &Contact) -> u32 {
    c.last_activity_at
        .map(|l| u32::try_from(sheet::day_of(l).max(0)).unwrap_or(u32::MAX - 1))
        .unwrap_or(u32::MAX)
}

pub(crate) fn tally(c: &Contact) -> Tally {
    if c.admin.valid_until.is_some() {
        return Tally::Timed(keys::timed(&c.site, c.id.get()));
    }
    Tally::Counted(keys::count(
        &c.site,
        confidentiality_class(c.admin.confidentiality),
        status_class(c),
        activity_day(c),
    ))
}

/// The counter changes of contacts moving from one tally to another, summed per counter.
#[derive(Default)]
pub(crate) struct Moves {
    counters: BTreeMap<Vec<u8>, i64>,
    timed: BTreeMap<Vec<u8>, bool>,
}

impl Moves {
    /// A contact that was counted at `before` and is at `after` now (`None`: not live).
    pub fn shift(&mut self, before: Option<Tally>, after: Option<Tally>) {
        if before == after {
            return;
        }
        for (t, by) in [(before, -1), (after, 1)] {
            match t {
                Some(Tally::Counted(k)) => *self.counters.entry(k).or_default() += by,
                Some(Tally::Timed(k)) => {
                    self.timed.insert(k, by > 0);
                }
                None => {}
            }
        }
    }

    /// Writes the moves into `batch`, each counter read from `tree` and changed by its sum.
    pub fn write(self, tree: &sled::Tree, batch: &mut sled::Batch) -> Result<(), StoreError> {
        for (key, by) in self.counters {
            if by == 0 {
                continue;
            }
            let now = tree
                .get(&key)?
                .and_then(|v| keys::decode_u64(&v))
                .unwrap_or(0);
            let next = i64::try_from(now).unwrap_or(i64::MAX).saturating_add(by);
            if next <= 0 {
                batch.remove(key);
            } else {
                batch.insert(key, &keys::encode_u64(next.unsigned_abs())[..]);
            }
        }
        for (key, present) in self.timed {
            if present {
                batch.insert(key, &[][..]);
            } else {
                batch.remove(key);
            }
        }
        Ok(())
    }
}

/// Rebuilds every counter from the contacts themselves: for a store written before the
/// counters existed. One pass over the contact records, at open, before any write.
pub(crate) fn rebuild(tree: &sled::Tree, ring: &mut Keyring) -> Result<u64, StoreError> {
    let mut batch = sled::Batch::default();
    for prefix in [keys::count_prefix(None), keys::timed_prefix(None)] {
        for k in tree.scan_prefix(prefix).keys() {
            batch.remove(k?);
        }
    }
    let mut moves = Moves::default();
    let mut live = 0;
    for item in tree.scan_prefix(keys::contact_prefix()) {
        let (k, v) = item?;
        let Some(id) = k
            .get(1..)
            .and_then(keys::decode_u64)
            .and_then(ContactId::new)
        else {
            continue;
        };
        if let Some(ContactRecord::Live(c)) = record::open_contact(ring, id, &v)? {
            moves.shift(None, Some(tally(&c)));
            live += 1;
        }
    }
    // Built from nothing: every counter is its sum.
    for (key, n) in moves.counters {
        batch.insert(key, &keys::encode_u64(n.unsigned_abs())[..]);
    }
    for key in moves.timed.into_keys() {
        batch.insert(key, &[][..]);
    }
    batch.insert(keys::META_COUNTS, &[1][..]);
    tree.apply_batch(batch)?;
    Ok(live)
}

/// The live, valid contacts an admin cleared for `clearance` sees, counted.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ContactCounts {
    pub total: u64,
    /// Per valuation, in the order of [`Valuation::ALL`].
    pub valuation: BTreeMap<&'static str, u64>,
    /// Per email status other than active: `bounced`, `blocked`, `paused` (suspended).
    pub email_status: BTreeMap<&'static str, u64>,
}

impl ContactCounts {
    fn add(&mut self, valuation: Valuation, status: u8, n: u64) {
        self.total += n;
        *self.valuation.entry(valuation.as_str()).or_default() += n;
        if let Some((_, s)) = COUNTED.iter().find(|(class, _)| *class == status) {
            *self.email_status.entry(s.as_str()).or_default() += n;
        }
    }
}

/// Counts `site`'s contacts (every site's with `None`) that `clearance` sees and that are
/// valid at `now`, as the contact list shows them by default.
pub(crate) fn count(
    tree: &sled::Tree,
    ring: &mut Keyring,
    site: Option<&str>,
    clearance: Confidentiality,
    now: i64,
) -> Result<ContactCounts, StoreError> {
    let mut out = ContactCounts::default();
    for v in Valuation::ALL {
        out.valuation.insert(v.as_str(), 0);
    }
    for s in [
        EmailStatus::Bounced,
        EmailStatus::Blocked,
        EmailStatus::Paused,
    ] {
        out.email_status.insert(s.as_str(), 0);
    }
    let cleared = confidentiality_class(clearance);
    let today = sheet::day_of(now);
    for item in tree.scan_prefix(keys::count_prefix(site)) {
        let (k, v) = item?;
        let Some((_, conf, status, day)) = keys::parse_count(&k) else {
            continue;
        };
        if conf > cleared {
            continue;
        }
        let n = keys::decode_u64(&v).unwrap_or(0);
        let days = (day != u32::MAX).then(|| today - i64::from(day));
        out.add(sheet::valuation_of_days(days), status, n);
    }
    for k in tree.scan_prefix(keys::timed_prefix(site)).keys() {
        let Some(id) = keys::timed_id(&k?).and_then(ContactId::new) else {
            continue;
        };
        let Some(bytes) = tree.get(keys::contact(id.get()))? else {
            continue;
        };
        if let Some(ContactRecord::Live(c)) = record::open_contact(ring, id, &bytes)? {
            if c.admin.confidentiality <= clearance && !c.invalid_at(now) {
                let valuation = sheet::valuation(c.last_activity_at, now);
                out.add(valuation, status_class(&c), 1);
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use footprint_domain::contacts::rfm::DAY_MS;

    /// A store of three sealed contacts and no counters, as one written before them.
    fn old_store() -> (tempfile::TempDir, sled::Tree, crate::vault::Vault) {
        let dir = tempfile::tempdir().unwrap();
        let vault = crate::vault::Vault::open(dir.path(), true).unwrap();
        vault.reserve(4).unwrap();
        let db = sled::Config::new().temporary(true).open().unwrap();
        let tree = db.open_tree("events").unwrap();
        let mut ring = vault.keyring();
        let day = 20_000 * DAY_MS;
        let contacts = [
            (1, Some(day), Confidentiality::Free, None, None),
            (
                2,
                Some(day - 50 * DAY_MS),
                Confidentiality::Confidential,
                None,
                None,
            ),
            (
                3,
                None,
                Confidentiality::Free,
                Some(EmailStatus::Blocked),
                None,
            ),
            (
                4,
                Some(day),
                Confidentiality::Free,
                None,
                Some(day + DAY_MS),
            ),
        ];
        for (n, last, conf, status, until) in contacts {
            let id = ContactId::new(n).unwrap();
            let mut c = Contact::new(id, "shop", 0);
            c.last_activity_at = last;
            c.admin.confidentiality = conf;
            c.admin.valid_until = until;
            c.channels.email_status = status;
            // A status shows (and counts) only with an email to have it.
            if status.is_some() {
                c.email = Some(format!("c{n}@example.com"));
            }
            let rec = ContactRecord::Live(Box::new(c));
            let bytes = record::seal_contact(&mut ring, id, &rec).unwrap();
            tree.insert(keys::contact(n), bytes).unwrap();
        }
        let merged = ContactRecord::Merged(ContactId::new(1).unwrap());
        let id = ContactId::new(5).unwrap();
        tree.insert(
            keys::contact(5),
            record::seal_contact(&mut ring, id, &merged).unwrap(),
        )
        .unwrap();
        (dir, tree, vault)
    }

    #[test]
    fn a_rebuild_counts_every_live_contact_once() {
        let (_dir, tree, vault) = old_store();
        let mut ring = vault.keyring();
        assert_eq!(rebuild(&tree, &mut ring).unwrap(), 4);
        let now = 20_000 * DAY_MS + 3_600_000;
        let all = count(&tree, &mut ring, None, Confidentiality::MAX, now).unwrap();
        assert_eq!(all.total, 4);
        assert_eq!(all.valuation["new"], 2);
        assert_eq!(all.valuation["dormant"], 1);
        assert_eq!(all.valuation["inactive"], 1);
        assert_eq!(all.email_status["blocked"], 1);
        let free = count(&tree, &mut ring, Some("shop"), Confidentiality::Free, now).unwrap();
        assert_eq!(free.total, 3);
        // Contact 4 is valid until the next day: counted today, not after.
        let later = count(
            &tree,
            &mut ring,
            None,
            Confidentiality::MAX,
            now + 2 * DAY_MS,
        );
        assert_eq!(later.unwrap().total, 3);
        // A second rebuild finds the same.
        rebuild(&tree, &mut ring).unwrap();
        let again = count(&tree, &mut ring, None, Confidentiality::MAX, now).unwrap();
        assert_eq!(again, all);
        assert!(tree.get(keys::META_COUNTS).unwrap().is_some());
    }

    #[test]
    fn moves_between_counters_sum_per_counter() {
        let tree = sled::Config::new()
            .temporary(true)
            .open()
            .unwrap()
            .open_tree("t")
            .unwrap();
        let a = Tally::Counted(keys::count("s", 0, 0, 10));
        let b = Tally::Counted(keys::count("s", 0, 0, 11));
        let mut m = Moves::default();
        m.shift(None, Some(a.clone()));
        m.shift(None, Some(a.clone()));
        m.shift(None, Some(b.clone()));
        let mut batch = sled::Batch::default();
        m.write(&tree, &mut batch).unwrap();
        tree.apply_batch(batch).unwrap();
        let mut m = Moves::default();
        m.shift(Some(a.clone()), Some(b.clone()));
        m.shift(Some(a.clone()), None);
        let mut batch = sled::Batch::default();
        m.write(&tree, &mut batch).unwrap();
        tree.apply_batch(batch).unwrap();
        let get = |t: &Tally| match t {
            Tally::Counted(k) => tree.get(k).unwrap().and_then(|v| keys::decode_u64(&v)),
            Tally::Timed(_) => None,
        };
        // The emptied counter is gone rather than zero.
        assert_eq!((get(&a), get(&b)), (None, Some(2)));
    }
}
