//! Erasing a contact (GDPR article 17): everything the store holds about it goes, in the same
//! atomic batch, and what would let it come back goes on the suppression list.
//!
//! What goes:
//! - the contact's record and the records of the contacts merged into it (each becomes
//!   `Erased`, which holds only the time);
//! - its events: every event inside one of its spans, on every tracker. A chunk with only its
//!   events is deleted; a chunk it shares with another contact (a tracker that moved) is
//!   rewritten with the erased events' places kept empty, so the other contact's positions do
//!   not move;
//! - the email, phone and name index entries, static memberships, RFM inputs, the order index
//!   entries of its purchases, its history (and its merged contacts') and the identity changes
//!   that name it.
//!
//! What stays: the dedupe markers of the erased events (a random message id and a number),
//! so that a late retry of an erased event is not stored again; and one history entry that
//! says when, by whom and how much was erased.
//!
//! sled keeps removed values in its log until a compaction rewrites the store (`layout.rs`).
//! What it keeps of these is sealed under the keys of the contact and of those merged into
//! it (`vault.rs`), and the writer destroys those keys as soon as this group is on disk,
//! before the erasure is answered: the leftovers are unreadable at once, and the compaction
//! that `m:erased` asks for only gives the space back.

use std::collections::BTreeSet;

use footprint_protocol::TrackerId;
use serde::{Deserialize, Serialize};

use super::Working;
use crate::keys;
use crate::record::{self, ContactRecord, HistoryEntry, IdChange};
use crate::suppress::{Blind, Kind};
use crate::{AdminOp, Refusal, StoreError};
use footprint_domain::contacts::patch::Change;
use footprint_domain::contacts::{Contact, ContactId, Pos};
use footprint_domain::contacts::{EmailStatus, SmsStatus, Subscription};

/// What an erasure removed: the answer to `DELETE /v1/contacts/{id}`, and its history entry.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Erasure {
    /// The contact and those merged into it.
    pub contacts: u64,
    pub events: u64,
    /// Event chunks deleted whole, and chunks shared with another contact that were rewritten.
    pub chunks_deleted: u64,
    pub chunks_rewritten: u64,
    /// Trackers that pointed at the contact; they are now suppressed.
    pub trackers: u64,
    /// Email, phone and name index entries.
    pub index_entries: u64,
    pub history_entries: u64,
    pub segment_memberships: u64,
    pub identity_changes: u64,
    pub orders: u64,
    /// Emails and phones put on the suppression list (as keyed hashes).
    pub suppressed_values: u64,
    /// The contact's site and every tracker it was ever seen on: cluster mode shreds their
    /// keys in the log (`cluster::keys`). Not stored, not answered.
    #[serde(skip)]
    pub site: String,
    #[serde(skip)]
    pub tracker_ids: Vec<String>,
    /// The contact and those merged into it, by id.
    #[serde(skip)]
    pub contact_ids: Vec<u64>,
    /// Every email and phone it was known by (normalised).
    #[serde(skip)]
    pub values: Vec<String>,
}

#[derive(Deserialize)]
struct OrderOnly {
    order_id: Option<String>,
}

impl Working<'_> {
    pub(crate) fn erase(
        &mut self,
        asked: ContactId,
        op: &AdminOp,
    ) -> Result<Result<Erasure, Refusal>, StoreError> {
        // A merged id stands for its survivor elsewhere; here that would erase someone the
        // admin did not name, so it is refused with the id to use.
        if let Some(ContactRecord::Merged(into)) = self.record(asked)? {
            let into = *into;
            return Ok(Err(self.merged_refusal(
                asked,
                into,
                op.clearance,
                format!("contact {asked} was merged into {into}; erasing {into} erases both"),
            )?));
        }
        let id = match self.visible_as(asked, op.clearance)? {
            Ok(id) => id,
            Err(r) => return Ok(Err(r)),
        };
        let c = self.peek(id)?.clone();
        let site = c.site.clone();
        let mut n = Erasure::default();
        // The value of suppression entries and of the pending-compaction mark.
        let stamp = keys::encode_u64(op.at.max(0).unsigned_abs()).to_vec();
        let ids: Vec<ContactId> = std::iter::once(id)
            .chain(c.merged_ids.iter().copied())
            .collect();

        let orders = self.erase_events(&c, &mut n)?;
        for order in orders {
            let key = keys::order(&site, &self.suppressor.blind(Blind::Order, &order));
            if self.get(&key)?.is_some() {
                self.put(key, None);
                n.orders += 1;
            }
        }
        // The order records, kept under the contact that placed each one.
        for &i in &ids {
            for k in self.keys_with_prefix(&keys::order_records(i.get()))? {
                self.put(k, None);
            }
        }

        // The history tells every email and phone the contact (or one merged into it) was
        // ever known by; each index entry that still leads here goes.
        let mut emails = BTreeSet::new();
        let mut phones = BTreeSet::new();
        emails.extend(c.email.clone());
        phones.extend(c.phone.clone());
        for &i in &ids {
            for k in self.keys_with_prefix(&keys::history_all(i.get()))? {
                let v = self.get_uncached(&k)?;
                let entry = match v {
                    Some(v) => record::open_value::<HistoryEntry>(&mut self.ring, i, &k, &v)?,
                    None => None,
                };
                if let Some(e) = entry {
                    let values = e.old.into_iter().chain(e.new);
                    match e.field.as_str() {
                        "email" => emails.extend(values),
                        "phone" => phones.extend(values),
                        _ => {}
                    }
                }
                self.put(k, None);
                n.history_entries += 1;
            }
        }
        n.values = emails.iter().chain(phones.iter()).cloned().collect();
        // Cluster mode seals an import row found by reference alone under the reference.
        n.values.extend(c.extras.reference.clone());
        for (values, blind, kind) in [
            (&emails, Blind::Email, Kind::Email),
            (&phones, Blind::Phone, Kind::Phone),
        ] {
            for v in values {
                let k = self.index_key(blind, v, &site);
                if let Some(owner) = self.get_id(&k)? {
                    if ids.contains(&owner) {
                        self.put(k, None);
                        n.index_entries += 1;
                    }
                }
                let hash = self.suppressor.hash(&site, kind, v);
                self.put(keys::suppressed_value(&hash).to_vec(), Some(stamp.clone()));
                n.suppressed_values += 1;
            }
        }
        // Its reference's index entry; the reference itself goes with the record. (Not
        // suppressed: a reference is the shop's id, which a re-import may reuse on purpose.)
        if let Some(r) = &c.extras.reference {
            let k = self.index_key(Blind::Reference, r, &site);
            if self.get_id(&k)?.is_some_and(|owner| ids.contains(&owner)) {
                self.put(k, None);
                n.index_entries += 1;
            }
        }
        // Its search entries go when its record becomes `Erased` (`Working::finish`).
        n.index_entries += super::search_terms(&c).len() as u64;
        for &seg in &c.extras.segments {
            self.put(keys::member(seg, id.get()).to_vec(), None);
            n.segment_memberships += 1;
        }
        if c.ecommerce.last_purchase_at.is_some() {
            self.rfm_gone.push(keys::rfm(&site, id.get()));
            self.rfm_gone.push(keys::clv(&site, id.get()));
            self.rfm_dirty.remove(&id);
        }
        // Only the trackers that point here now are this shopper's; one that moved to another
        // contact keeps working for that one (its events before the move are erased above).
        n.site = site.as_str().to_owned();
        n.contact_ids = ids.iter().map(|i| i.get()).collect();
        n.tracker_ids = c.spans.iter().map(|s| s.tracker.clone()).collect();
        n.tracker_ids.sort();
        n.tracker_ids.dedup();
        for s in c.spans.iter().filter(|s| s.to.is_none()) {
            let tkey = keys::tracker(&s.tracker, &site);
            self.put(tkey, None);
            self.put(
                keys::suppressed_tracker(&site, &s.tracker),
                Some(stamp.clone()),
            );
            n.trackers += 1;
        }
        n.identity_changes = self.erase_id_changes(&ids)?;
        for &i in &ids {
            self.contacts.insert(i, ContactRecord::Erased(op.at));
            self.dirty_contacts.insert(i);
            self.shred.push(i);
            n.contacts += 1;
        }
        if self.get(keys::META_ERASED)?.is_none() {
            self.put(keys::META_ERASED.to_vec(), Some(stamp));
        }
        let summary = serde_json::to_string(&n).unwrap_or_default();
        self.history(
            id,
            op.at,
            &op.who,
            Change::new("erased", None, Some(summary))
                .into_iter()
                .collect(),
        );
        tracing::info!(contact = %id, events = n.events, "contact erased");
        Ok(Ok(n))
    }

    /// Erases the events inside `c`'s spans; returns the order ids of its purchases.
    fn erase_events(&mut self, c: &Contact, n: &mut Erasure) -> Result<Vec<String>, StoreError> {
        let mut orders = Vec::new();
        for span in &c.spans {
            let tracker = TrackerId::new(&span.tracker)
                .map_err(|_| StoreError::Corrupt("bad tracker in a span".into()))?;
            let end = span.to.unwrap_or(Pos {
                seq: u64::MAX,
                index: u32::MAX,
            });
            let lo = keys::event_chunk(&tracker, span.from.seq);
            let hi = keys::event_chunk(&tracker, end.seq);
            for item in self.tree.range(lo..=hi).keys() {
                let key = item?.to_vec();
                // A tracker can hold two spans of one contact (it moved away and back): the
                // second sees what the first left.
                let Some(value) = self.get_uncached(&key)? else {
                    continue;
                };
                let seq = keys::chunk_seq(&key)
                    .ok_or_else(|| StoreError::Corrupt("bad chunk key".into()))?;
                let (header, events) = record::decode_chunk(&mut self.ring, &key, &value)?;
                if header.site != c.site {
                    continue;
                }
                let mut kept = 0;
                let mut types = 0;
                let mut encoded = Vec::with_capacity(events.len());
                for (index, (owner, e)) in events.into_iter().enumerate() {
                    let pos = Pos {
                        seq,
                        index: u32::try_from(index).unwrap_or(u32::MAX),
                    };
                    let inside = pos >= span.from && pos < end;
                    if e.kind == record::Kind::Erased {
                        encoded.push((0, Vec::new()));
                    } else if inside {
                        if e.kind == record::Kind::Event(footprint_protocol::EventType::Purchase) {
                            if let Ok(OrderOnly { order_id: Some(o) }) =
                                serde_json::from_str(&e.properties_json)
                            {
                                orders.push(o);
                            }
                        }
                        n.events += 1;
                        encoded.push((0, Vec::new()));
                    } else {
                        kept += 1;
                        types |= e.kind.type_bit();
                        encoded.push((owner, record::encode_event(&e)));
                    }
                }
                if kept == 0 {
                    self.put(key, None);
                    n.chunks_deleted += 1;
                } else {
                    let runs = record::runs(encoded.iter().map(|(o, e)| (*o, e.as_slice())));
                    let chunk = self.seal_chunk(&key, &header, types, &runs)?;
                    self.put(key, Some(chunk));
                    n.chunks_rewritten += 1;
                }
            }
        }
        Ok(orders)
    }

    /// Deletes the identity changes that name one of `ids`: they hold its trackers.
    fn erase_id_changes(&mut self, ids: &[ContactId]) -> Result<u64, StoreError> {
        let mut gone = 0;
        for k in self.keys_with_prefix(keys::ID_LOG_PREFIX)? {
            let Some(v) = self.get_uncached(&k)? else {
                continue;
            };
            let change: IdChange = record::decode_value(&v)
                .map_err(|e| StoreError::Corrupt(format!("identity change: {e}")))?;
            if ids.contains(&change.from) || ids.contains(&change.to) {
                self.put(k, None);
                gone += 1;
            }
        }
        Ok(gone)
    }

    /// Whether `value` (an email or phone) was erased on `site`.
    pub(super) fn is_suppressed(
        &mut self,
        site: &str,
        kind: Kind,
        value: &str,
    ) -> Result<bool, StoreError> {
        let hash = self.suppressor.hash(site, kind, value);
        Ok(self.get(&keys::suppressed_value(&hash))?.is_some())
    }

    /// The emBlue rule: a contact that takes an erased email comes back blocked and
    /// unsubscribed; one that takes an erased phone, paused and unsubscribed from SMS. An
    /// admin lifts it with PATCH.
    pub(super) fn apply_suppression(
        &mut self,
        id: ContactId,
        site: &str,
        at: i64,
        pos: Pos,
    ) -> Result<(), StoreError> {
        let (email, phone) = {
            let c = self.peek(id)?;
            (c.email.clone(), c.phone.clone())
        };
        let email_hit = match &email {
            Some(e) => self.is_suppressed(site, Kind::Email, e)?,
            None => false,
        };
        let phone_hit = match &phone {
            Some(p) => self.is_suppressed(site, Kind::Phone, p)?,
            None => false,
        };
        if !email_hit && !phone_hit {
            return Ok(());
        }
        let c = self.live(id)?;
        let mut changes = Vec::new();
        if email_hit {
            let to = Subscription::Unsubscribed;
            let old = c.set_newsletter(to, at, pos);
            changes.extend(Change::named("newsletter", old, Some(to)));
        }
        let ch = &mut c.channels;
        if email_hit {
            let to = Some(EmailStatus::Blocked);
            let old = std::mem::replace(&mut ch.email_status, to);
            changes.extend(Change::named("email_status", old, to));
        }
        if phone_hit {
            let to = Some(SmsStatus::Paused);
            let old = std::mem::replace(&mut ch.sms_status, to);
            changes.extend(Change::named("sms_status", old, to));
            let to = Some(Subscription::Unsubscribed);
            let old = std::mem::replace(&mut ch.sms_subscription, to);
            changes.extend(Change::named("sms_subscription", old, to));
        }
        self.history(id, at, "suppression", changes);
        Ok(())
    }

    /// Takes an email off the suppression list: an admin lifted its block.
    pub(super) fn lift_suppression(&mut self, site: &str, email: &str) {
        let hash = self.suppressor.hash(site, Kind::Email, email);
        self.put(keys::suppressed_value(&hash).to_vec(), None);
    }

    /// A value as this group sees it, without keeping a copy: an erasure reads every chunk of a
    /// contact once, and keeping them all would cost the whole history in memory.
    fn get_uncached(&self, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        if let Some(v) = self.kv.get(key) {
            return Ok(v.clone());
        }
        Ok(self.tree.get(key)?.map(|v| v.to_vec()))
    }
}
