//! The identity graph and the contacts' aggregates, as the writer thread changes them.
//!
//! A [`Working`] set lives for one group commit. It reads through to sled, keeps everything it
//! changed in memory (a later event of the same group must see an earlier one's changes), and
//! at the end writes it all into the group's one atomic batch, beside the events. Because one
//! thread runs every group, identity changes are serialised: twenty trackers identifying with
//! the same new email in one group, or in twenty, end with one contact.
//!
//! Per event it costs a lookup of the tracker's contact and a fold into the contact's
//! aggregate, both usually in memory already. A merge re-points the absorbed contact's
//! trackers and folds two aggregates: O(trackers), whatever the length of either history.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use footprint_domain::contacts::aggregate::{NotKept, MAX_SPANS};
use footprint_domain::contacts::fact::Units;
use footprint_domain::contacts::orders::Order;
use footprint_domain::contacts::patch::{Change, Patch};
use footprint_domain::contacts::predict::History;
use footprint_domain::contacts::rfm::Inputs;
use footprint_domain::contacts::sheet::rfm_inputs;
use footprint_domain::contacts::{
    Confidentiality, Contact, ContactId, EmailStatus, Fact, FactKind, IdentifyFact, Pos, SmsStatus,
};
use footprint_domain::identity::{decide, ContactRef, Decision, Owners};

use super::keys;
use super::record::{self, ContactRecord, HistoryEntry, IdChange};
use super::suppress::{Blind, Suppressor};
use super::vault::{Keyring, Vault};
use super::{Address, AdminKind, AdminOp, Done, Refusal, StoreError};

mod erase;
pub(crate) mod import;
mod labels;
mod segments;

pub use erase::Erasure;
pub use import::{ImportRow, RowOutcome};

/// Follows merges at most this far; a longer chain means a corrupt graph.
pub const MAX_MERGE_CHAIN: usize = 16;

pub(super) struct Working<'t> {
    tree: &'t sled::Tree,
    suppressor: &'t Suppressor,
    vault: &'t Vault,
    /// The keys of the contacts this group reads or writes.
    ring: Keyring,
    /// Each contact's search terms as the group found it: what `finish` compares against.
    terms_before: HashMap<ContactId, Vec<String>>,
    /// Each contact's points-order key as it was read, to replace it when its points move.
    points_before: HashMap<ContactId, Option<[u8; 18]>>,
    /// Where each live contact was counted when it was read (`counts.rs`).
    tallied_before: HashMap<ContactId, crate::counts::Tally>,
    /// Contacts erased in this group, whose keys are destroyed once it is on disk.
    shred: Vec<ContactId>,
    /// When the edge received the request being folded in, for the identity log.
    pub received_at: i64,
    /// Raw records read or written this group: `None` is a deletion.
    kv: HashMap<Vec<u8>, Option<Vec<u8>>>,
    dirty_kv: BTreeSet<Vec<u8>>,
    contacts: HashMap<ContactId, ContactRecord>,
    dirty_contacts: BTreeSet<ContactId>,
    /// Contacts whose RFM inputs may have changed.
    rfm_dirty: BTreeSet<ContactId>,
    rfm_gone: Vec<Vec<u8>>,
    last_contact: u64,
    last_change: u64,
    last_history: u64,
    last_segment: u64,
}

impl<'t> Working<'t> {
    pub fn new(
        tree: &'t sled::Tree,
        suppressor: &'t Suppressor,
        vault: &'t Vault,
    ) -> Result<Working<'t>, StoreError> {
        let meta = |k: &[u8]| -> Result<u64, StoreError> {
            match tree.get(k)? {
                Some(v) => keys::decode_u64(&v)
                    .ok_or_else(|| StoreError::Corrupt("bad counter record".into())),
                None => Ok(0),
            }
        };
        Ok(Working {
            tree,
            suppressor,
            vault,
            ring: vault.keyring(),
            terms_before: HashMap::new(),
            points_before: HashMap::new(),
            tallied_before: HashMap::new(),
            shred: Vec::new(),
            received_at: 0,
            kv: HashMap::new(),
            dirty_kv: BTreeSet::new(),
            contacts: HashMap::new(),
            dirty_contacts: BTreeSet::new(),
            rfm_dirty: BTreeSet::new(),
            rfm_gone: Vec::new(),
            last_contact: meta(keys::META_CONTACT)?,
            last_change: meta(keys::META_ID_LOG)?,
            last_history: meta(keys::META_HISTORY)?,
            last_segment: meta(keys::META_SEGMENT)?,
        })
    }

    fn get(&mut self, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        if let Some(v) = self.kv.get(key) {
            return Ok(v.clone());
        }
        let v = self.tree.get(key)?.map(|v| v.to_vec());
        self.kv.insert(key.to_vec(), v.clone());
        Ok(v)
    }

    /// The keys under `prefix`, as this group left them: sled's, with this group's writes and
    /// deletions applied.
    fn keys_with_prefix(&self, prefix: &[u8]) -> Result<BTreeSet<Vec<u8>>, StoreError> {
        let mut out = BTreeSet::new();
        for k in self.tree.scan_prefix(prefix).keys() {
            out.insert(k?.to_vec());
        }
        for (k, v) in self.kv.iter().filter(|(k, _)| k.starts_with(prefix)) {
            if v.is_some() {
                out.insert(k.clone());
            } else {
                out.remove(k);
            }
        }
        Ok(out)
    }

    fn put(&mut self, key: Vec<u8>, value: Option<Vec<u8>>) {
        self.dirty_kv.insert(key.clone());
        self.kv.insert(key, value);
    }

    fn get_id(&mut self, key: &[u8]) -> Result<Option<ContactId>, StoreError> {
        Ok(self
            .get(key)?
            .and_then(|v| keys::decode_u64(&v))
            .and_then(ContactId::new))
    }

    fn put_id(&mut self, key: Vec<u8>, id: ContactId) {
        self.put(key, Some(keys::encode_u64(id.get()).to_vec()));
    }

    fn record(&mut self, id: ContactId) -> Result<Option<&mut ContactRecord>, StoreError> {
        if !self.contacts.contains_key(&id) {
            let Some(bytes) = self.tree.get(keys::contact(id.get()))? else {
                return Ok(None);
            };
            let rec = record::open_contact(&mut self.ring, id, &bytes)?.ok_or_else(|| {
                StoreError::Corrupt(format!("contact {id} is live but its key is gone"))
            })?;
            if let ContactRecord::Live(c) = &rec {
                self.terms_before.insert(id, search_terms(c));
                self.points_before.insert(id, points_key(c));
                self.tallied_before.insert(id, crate::counts::tally(c));
            }
            self.contacts.insert(id, rec);
        }
        Ok(self.contacts.get_mut(&id))
    }

    /// The live contact `id` resolves to, following merges; `None` when it was erased.
    fn resolve(&mut self, mut id: ContactId) -> Result<Option<ContactId>, StoreError> {
        for _ in 0..MAX_MERGE_CHAIN {
            match self.record(id)? {
                Some(ContactRecord::Merged(into)) => id = *into,
                Some(ContactRecord::Live(_)) => return Ok(Some(id)),
                Some(ContactRecord::Erased(_)) => return Ok(None),
                None => return Err(StoreError::Corrupt(format!("contact {id} is missing"))),
            }
        }
        Err(StoreError::Corrupt(format!(
            "contact {id}: merge chain too long"
        )))
    }

    /// A live contact, to read.
    fn peek(&mut self, id: ContactId) -> Result<&Contact, StoreError> {
        match self.record(id)? {
            Some(ContactRecord::Live(c)) => Ok(c),
            _ => Err(StoreError::Corrupt(format!("contact {id} is not live"))),
        }
    }

    /// A live contact, to change: it is written back at the end of the group.
    fn live(&mut self, id: ContactId) -> Result<&mut Contact, StoreError> {
        self.dirty_contacts.insert(id);
        match self.record(id)? {
            Some(ContactRecord::Live(c)) => Ok(c),
            _ => Err(StoreError::Corrupt(format!("contact {id} is not live"))),
        }
    }

    fn create(&mut self, site: &str, at: i64) -> ContactId {
        let id = match ContactId::new(self.last_contact) {
            Some(last) => last.next(),
            None => ContactId::FIRST,
        };
        self.last_contact = id.get();
        self.contacts.insert(
            id,
            ContactRecord::Live(Box::new(Contact::new(id, site, at))),
        );
        self.dirty_contacts.insert(id);
        id
    }

    /// Folds one stored event in: finds (or creates) the tracker's contact, applies the
    /// identity rules when it is an identify, and updates the aggregate.
    pub fn on_event(
        &mut self,
        site: &str,
        tracker: &str,
        pos: Pos,
        fact: &Fact,
    ) -> Result<(NotKept, ContactId), StoreError> {
        let tkey = keys::tracker(tracker, site);
        let known = match self.get_id(&tkey)? {
            Some(id) => self.resolve(id)?,
            None => None,
        };
        // A tracker whose contact was erased is suppressed and never gets here; one that
        // somehow still points at an erased contact starts afresh rather than stalling writes.
        let mut id = match known {
            Some(id) => id,
            None => {
                let id = self.create(site, fact.at);
                self.live(id)?
                    .spans
                    .push(footprint_domain::contacts::aggregate::Span::open(
                        tracker, pos,
                    ));
                self.put_id(tkey.clone(), id);
                id
            }
        };
        let mut profile_before = None;
        let mut device_refused = false;
        if let FactKind::Identify(i) = &fact.kind {
            profile_before = Some(if i.has_key() {
                match self.identify(site, tracker, pos, fact.at, id, i)? {
                    Some((target, before)) => {
                        id = target;
                        before
                    }
                    None => {
                        device_refused = true;
                        profile(self.peek(id)?)
                    }
                }
            } else {
                profile(self.peek(id)?)
            });
        }
        let new_order = match &fact.kind {
            FactKind::Purchase {
                order_id,
                total,
                currency,
            } => {
                let hash = self.suppressor.blind(Blind::Order, order_id);
                let okey = keys::order(site, &hash);
                let seen = self.get(&okey)?.is_some();
                if !seen {
                    // The marker says where the order's record is, for its refunds.
                    let mut at = id.get().to_be_bytes().to_vec();
                    at.extend_from_slice(&fact.at.max(0).unsigned_abs().to_be_bytes());
                    self.put(okey, Some(at));
                    let detail = fact.order.clone();
                    let order = Order {
                        order_id: order_id.clone(),
                        at: fact.at,
                        items: detail.as_ref().map(|d| d.items.clone()).unwrap_or_default(),
                        total: *total,
                        currency: currency.clone(),
                        source: detail.map(|d| d.source).unwrap_or_default(),
                        refunds: Vec::new(),
                    };
                    let place = keys::order_record(id.get(), fact.at, &hash);
                    self.put(place.to_vec(), Some(record::encode_value(&order)));
                    self.rfm_dirty.insert(id);
                }
                !seen
            }
            _ => false,
        };
        let statuses_before = match fact.kind {
            FactKind::Delivery { .. } => Some(statuses(self.peek(id))?),
            _ => None,
        };
        let c = self.live(id)?;
        let mut not_kept = c.apply(tracker, pos, fact, new_order);
        // What a provider's report changed (a bounce, a complaint, an unsubscribe) goes into
        // the history, as the shop's servers' doing.
        if let Some(before) = statuses_before {
            let changes = diff(before, statuses(self.peek(id))?);
            self.history(id, fact.at, "server", changes);
        }
        not_kept.device = device_refused;
        if let FactKind::Refund {
            order_id,
            amount,
            currency,
            reason,
        } = &fact.kind
        {
            let asked = (*amount, currency.as_deref(), reason.clone());
            not_kept.refund = self.refund(site, id, fact.at, order_id, asked)?.err();
        }
        // What an identify changed goes into the contact's history, as the tracker's doing.
        if let Some(before) = profile_before {
            let changes = diff(before, profile(self.peek(id)?));
            self.history(id, fact.at, &format!("tracker:{tracker}"), changes);
        }
        Ok((not_kept, id))
    }

    /// The contact a shop's server names, whose server tracker (`server:<id>`) its event is
    /// filed under; or why there is none, as the event's rejection. An email or phone no
    /// contact has yet makes a new contact with it. `first_seq` is the first seq the request
    /// can number a chunk with: a server tracker made now starts its stretch there.
    pub fn address(
        &mut self,
        site: &str,
        to: &Address,
        at: i64,
        first_seq: u64,
    ) -> Result<Result<u64, String>, StoreError> {
        let pos = Pos {
            seq: first_seq,
            index: 0,
        };
        let id = match to {
            Address::Id(asked) => {
                let live = match self.record(*asked)? {
                    Some(_) => self.resolve(*asked)?,
                    None => None,
                };
                // Erased, absent and another site's contact are answered alike.
                match live {
                    Some(id) if self.peek(id)?.site == site => id,
                    _ => return Ok(Err(format!("contact.id: no contact {asked} on this site"))),
                }
            }
            Address::Email(e) => {
                let key = self.index_key(Blind::Email, e.as_str(), site);
                match self.owner(&key)? {
                    Some(r) => r.id,
                    None => self.create_addressed(site, at, pos, key, ("email", e.as_str()))?,
                }
            }
            Address::Phone(p) => {
                let key = self.index_key(Blind::Phone, p.as_str(), site);
                match self.owner(&key)? {
                    Some(r) => r.id,
                    None => self.create_addressed(site, at, pos, key, ("phone", p.as_str()))?,
                }
            }
        };
        let server = footprint_protocol::TrackerId::of_server(id.get());
        let tracker = server.as_str();
        let tkey = keys::tracker(tracker, site);
        let points_at = match self.get_id(&tkey)? {
            Some(t) => self.resolve(t)?,
            None => None,
        };
        match points_at {
            Some(t) if t == id => {}
            // A server tracker goes wherever its contact goes (merges move it along), so
            // this is not expected; should it happen, the tracker follows the address.
            Some(other) => self.move_tracker(site, tracker, pos, other, id)?,
            None => {
                self.live(id)?
                    .spans
                    .push(footprint_domain::contacts::aggregate::Span::open(
                        tracker, pos,
                    ));
                self.put_id(tkey, id);
            }
        }
        Ok(Ok(id.get()))
    }

    /// A new contact found by `value` (an email or phone nobody on `site` has), made for an
    /// event a shop's server sent about it.
    fn create_addressed(
        &mut self,
        site: &str,
        at: i64,
        pos: Pos,
        index: Vec<u8>,
        (field, value): (&str, &str),
    ) -> Result<ContactId, StoreError> {
        let id = self.create(site, at);
        let c = self.live(id)?;
        if field == "email" {
            c.email = Some(value.to_owned());
        } else {
            c.phone = Some(value.to_owned());
        }
        self.put_id(index, id);
        let set = Change::new(field, None, Some(value.to_owned()));
        self.history(id, at, "server", set.into_iter().collect());
        // An erased contact's email or phone comes back blocked, as with an identify.
        self.apply_suppression(id, site, at, pos)?;
        Ok(id)
    }

    /// A refund of `order_id` on `id`'s behalf: the order's record takes it (or says why not,
    /// for the batch warning), and the contact's totals lose what it gave back.
    fn refund(
        &mut self,
        site: &str,
        id: ContactId,
        at: i64,
        order_id: &str,
        (amount, currency, reason): (Option<Units>, Option<&str>, Option<String>),
    ) -> Result<Result<(), String>, StoreError> {
        let nothing = |why: &str| {
            Ok(Err(format!(
                "properties.order_id: order {order_id} {why}; nothing was refunded"
            )))
        };
        let hash = self.suppressor.blind(Blind::Order, order_id);
        let Some(marker) = self.get(&keys::order(site, &hash))? else {
            return nothing("is not one this site has reported");
        };
        let (Some(owner), Some(placed)) = (
            marker
                .get(..8)
                .and_then(keys::decode_u64)
                .and_then(ContactId::new),
            marker.get(8..16).and_then(keys::decode_u64),
        ) else {
            return nothing("was reported before orders were kept one by one (version 6)");
        };
        if self.resolve(owner)? != Some(id) {
            return nothing("is another contact's");
        }
        let place = keys::order_record(owner.get(), placed as i64, &hash).to_vec();
        let clear = self.dirty_kv.contains(&place);
        let Some(bytes) = self.get(&place)? else {
            return nothing("has no record");
        };
        let order: Option<Order> = if clear {
            Some(record::decode_value(&bytes).map_err(|e| StoreError::Corrupt(e.to_string()))?)
        } else {
            record::open_value(&mut self.ring, owner, &place, &bytes)?
        };
        let Some(mut order) = order else {
            return nothing("has no record");
        };
        let taken = match order.refund(at, amount, currency, reason) {
            Ok(taken) => taken,
            Err(why) => return Ok(Err(why)),
        };
        self.put(place, Some(record::encode_value(&order)));
        let currency = order.currency.clone();
        self.live(id)?.refund(at, &currency, taken);
        self.rfm_dirty.insert(id);
        Ok(Ok(()))
    }

    /// The index key of an email or phone on `site`: its keyed hash, never the value.
    fn index_key(&self, what: Blind, value: &str, site: &str) -> Vec<u8> {
        let hash = self.suppressor.blind(what, value);
        match what {
            Blind::Phone => keys::phone(&hash, site),
            Blind::Reference => keys::reference(&hash, site),
            _ => keys::email(&hash, site),
        }
    }

    /// Records `changes` in `id`'s history.
    fn history(&mut self, id: ContactId, at: i64, who: &str, changes: Vec<Change>) {
        for c in changes {
            self.last_history += 1;
            let entry = HistoryEntry {
                at,
                who: who.to_owned(),
                field: c.field,
                old: c.old,
                new: c.new,
            };
            self.put(
                keys::history(id.get(), at, self.last_history).to_vec(),
                Some(record::encode_value(&entry)),
            );
        }
    }

    /// A merge in both contacts' history: `into` gained `from`, `from` went into `into`.
    fn merge_history(&mut self, from: ContactId, into: ContactId, at: i64, who: &str) {
        let merged = |field: &str, id: ContactId| {
            Change::new(field, None, Some(id.to_string()))
                .into_iter()
                .collect()
        };
        self.history(into, at, who, merged("merged_contact", from));
        self.history(from, at, who, merged("merged_into", into));
    }

    /// A live contact the caller may see; the refusal to send otherwise. A contact the caller
    /// may not see is refused exactly as an absent one, and so is a merged id whose survivor
    /// it may not see: the refusal never names a hidden contact.
    fn visible(
        &mut self,
        id: ContactId,
        clearance: Confidentiality,
    ) -> Result<Result<&Contact, Refusal>, StoreError> {
        if let Some(ContactRecord::Merged(into)) = self.record(id)? {
            let into = *into;
            return Ok(Err(self.merged_refusal(
                id,
                into,
                clearance,
                format!("contact {id} was merged into {into}; use {into}"),
            )?));
        }
        match self.record(id)? {
            Some(ContactRecord::Live(c)) if c.admin.confidentiality <= clearance => Ok(Ok(c)),
            _ => Ok(Err(Refusal::NotFound(format!("no contact {id}")))),
        }
    }

    /// Whether `id` stands for a live contact the caller may see.
    pub(crate) fn shows(
        &mut self,
        id: ContactId,
        clearance: Confidentiality,
    ) -> Result<bool, StoreError> {
        let Some(live) = self.resolve(id)? else {
            return Ok(false);
        };
        Ok(matches!(self.record(live)?,
            Some(ContactRecord::Live(c)) if c.admin.confidentiality <= clearance))
    }

    /// The refusal for an admin's operation on `id`, merged into `into`: `conflict`, which
    /// names the survivor, when the caller may see it; else the absent contact's 404.
    pub(crate) fn merged_refusal(
        &mut self,
        id: ContactId,
        into: ContactId,
        clearance: Confidentiality,
        conflict: String,
    ) -> Result<Refusal, StoreError> {
        Ok(if self.shows(into, clearance)? {
            Refusal::Conflict(conflict)
        } else {
            Refusal::NotFound(format!("no contact {id}"))
        })
    }

    /// The live contact an id asked for by an admin stands for (a merged id stands for its
    /// survivor, as lookups do), if the caller may see it.
    fn visible_as(
        &mut self,
        asked: ContactId,
        clearance: Confidentiality,
    ) -> Result<Result<ContactId, Refusal>, StoreError> {
        let absent = || Refusal::NotFound(format!("no contact {asked}"));
        if self.record(asked)?.is_none() {
            return Ok(Err(absent()));
        }
        let Some(id) = self.resolve(asked)? else {
            return Ok(Err(absent()));
        };
        Ok(self
            .visible(id, clearance)?
            .map(|_| id)
            .map_err(|_| absent()))
    }

    /// Sets `site`'s RFM cut points.
    pub fn set_rfm_cuts(&mut self, site: &str, cuts: &footprint_domain::contacts::rfm::Quintiles) {
        self.put(keys::rfm_cuts(site), Some(record::encode_value(cuts)));
    }

    /// Sets `site`'s CLV models.
    pub fn set_clv_models(
        &mut self,
        site: &str,
        models: &footprint_domain::contacts::predict::SiteClv,
    ) {
        self.put(keys::clv_models(site), Some(record::encode_value(models)));
    }

    /// Carries out one admin operation; on a refusal nothing has changed.
    pub fn admin(&mut self, op: &AdminOp, pos: Pos) -> Result<Result<Done, Refusal>, StoreError> {
        self.received_at = op.at;
        let contact = |r: Result<ContactId, Refusal>| r.map(Done::Contact);
        Ok(match &op.kind {
            AdminKind::Patch { id, patch } => contact(self.patch(*id, patch, op, pos, true)?),
            AdminKind::Suspend(ids) => self.suspend(ids, op, pos)?,
            AdminKind::Erase(ids) => {
                let mut each = Vec::with_capacity(ids.len());
                for &id in ids {
                    each.push((id, self.erase(id, op)?));
                }
                Ok(Done::Erased(each))
            }
            AdminKind::Import {
                site,
                rows,
                create_only,
            } => Ok(Done::Imported(self.import(
                site,
                rows,
                *create_only,
                op,
                pos,
            )?)),
            AdminKind::Merge { into, from } => contact(self.admin_merge(*into, *from, op)?),
            AdminKind::CreateSegment(s) => self.create_segment(s, op)?,
            AdminKind::UpdateSegment {
                id,
                name,
                description,
                rule,
            } => self.update_segment(*id, name, description, rule, op)?,
            AdminKind::DeleteSegment(id) => self.delete_segment(*id)?,
            AdminKind::Members {
                segment,
                contacts,
                add,
            } => self.members(*segment, contacts, *add, op)?,
            AdminKind::Tag { contacts, tag, add } => self.tag(contacts, tag, *add, op)?,
            AdminKind::AddNote { id, text } => self.add_note(*id, text, op)?,
            AdminKind::DeleteNote { id, note } => self.delete_note(*id, *note, op)?,
        })
    }

    /// emBlue's suspension: email and SMS paused, each contact on its own.
    fn suspend(
        &mut self,
        ids: &[ContactId],
        op: &AdminOp,
        pos: Pos,
    ) -> Result<Result<Done, Refusal>, StoreError> {
        let patch = Patch {
            email_status: Some(EmailStatus::Paused),
            sms_status: Some(SmsStatus::Paused),
            ..Patch::default()
        };
        let mut each = Vec::with_capacity(ids.len());
        for &asked in ids {
            let r = match self.visible_as(asked, op.clearance)? {
                Ok(id) => self.patch(id, &patch, op, pos, true)?,
                Err(r) => Err(r),
            };
            each.push((asked, r));
        }
        Ok(Ok(Done::Each(each)))
    }

    /// An admin's edit; `record` false leaves it out of the history (an import's new contact,
    /// whose history says it was imported).
    fn patch(
        &mut self,
        id: ContactId,
        patch: &Patch,
        op: &AdminOp,
        pos: Pos,
        record: bool,
    ) -> Result<Result<ContactId, Refusal>, StoreError> {
        let c = match self.visible(id, op.clearance)? {
            Ok(c) => c,
            Err(r) => return Ok(Err(r)),
        };
        let site = c.site.clone();
        let (old_email, old_phone) = (c.email.clone(), c.phone.clone());
        let old_reference = c.extras.reference.clone();
        // Every check first: a refusal must leave nothing half-applied.
        let new_email = patch
            .email
            .as_ref()
            .map(|e| e.as_ref().map(|e| e.as_str().to_owned()));
        let new_phone = patch
            .phone
            .as_ref()
            .map(|p| p.as_ref().map(|p| p.as_str().to_owned()));
        for (what, new, blind) in [
            ("email", &new_email, Blind::Email),
            ("phone", &new_phone, Blind::Phone),
            ("reference", &patch.reference, Blind::Reference),
        ] {
            if let Some(Some(v)) = new {
                let key = self.index_key(blind, v, &site);
                let owner = match self.get_id(&key)? {
                    Some(o) => self.resolve(o)?,
                    None => None,
                };
                if let Some(owner) = owner {
                    if owner != id {
                        return Ok(Err(Refusal::Conflict(taken(what, v))));
                    }
                }
            }
        }
        let mut changes = Vec::new();
        type Slot = fn(&mut Contact) -> &mut Option<String>;
        let identity = [
            (
                "email",
                new_email,
                old_email,
                Blind::Email,
                (|c| &mut c.email) as Slot,
            ),
            ("phone", new_phone, old_phone, Blind::Phone, |c| {
                &mut c.phone
            }),
            (
                "reference",
                patch.reference.clone(),
                old_reference,
                Blind::Reference,
                |c| &mut c.extras.reference,
            ),
        ];
        for (field, new, old, blind, slot) in identity {
            let Some(new) = new else { continue };
            if new == old {
                continue;
            }
            if let Some(o) = &old {
                self.put(self.index_key(blind, o, &site), None);
            }
            if let Some(n) = &new {
                self.put_id(self.index_key(blind, n, &site), id);
            }
            slot(self.live(id)?).clone_from(&new);
            changes.extend(Change::new(field, old, new));
        }
        let c = self.live(id)?;
        let was_blocked = c.channels.email_status == Some(EmailStatus::Blocked);
        changes.extend(patch.apply(c, op.at, pos));
        let lifted = was_blocked && c.channels.email_status != Some(EmailStatus::Blocked);
        let email = c.email.clone();
        // Unblocking an erased email's return lifts its suppression: the admin has decided.
        if let (true, Some(e)) = (lifted, email) {
            self.lift_suppression(&site, &e);
        }
        if record {
            self.history(id, op.at, &op.who, changes);
        }
        Ok(Ok(id))
    }

    fn admin_merge(
        &mut self,
        into: ContactId,
        from: ContactId,
        op: &AdminOp,
    ) -> Result<Result<ContactId, Refusal>, StoreError> {
        if into == from {
            return Ok(Err(Refusal::Conflict(format!(
                "contact {into} cannot be merged into itself"
            ))));
        }
        let mut sites = Vec::new();
        for id in [into, from] {
            match self.visible(id, op.clearance)? {
                Ok(c) if c.identified() => sites.push(c.site.clone()),
                Ok(_) => {
                    return Ok(Err(Refusal::Conflict(format!(
                        "contact {id} is anonymous; only identified contacts are merged by hand \
                         (an anonymous one joins its contact when the shopper logs in)"
                    ))))
                }
                Err(r) => return Ok(Err(r)),
            }
        }
        if sites[0] != sites[1] {
            return Ok(Err(Refusal::Conflict(format!(
                "contacts {into} and {from} belong to different sites ({} and {})",
                sites[0], sites[1]
            ))));
        }
        let site = sites.swap_remove(0);
        let moved = self.merge(&site, from, into)?;
        self.log(
            &site,
            "admin_merge",
            op.at,
            Pos::default(),
            from,
            into,
            moved,
        );
        self.merge_history(from, into, op.at, &op.who);
        Ok(Ok(into))
    }

    fn owner(&mut self, key: &[u8]) -> Result<Option<ContactRef>, StoreError> {
        let Some(id) = self.get_id(key)? else {
            return Ok(None);
        };
        // An erased owner's index entry is gone; one left over owns nothing.
        let Some(id) = self.resolve(id)? else {
            return Ok(None);
        };
        let c = self.peek(id)?;
        Ok(Some(ContactRef {
            id,
            identified: c.identified(),
            has_email: c.email.is_some(),
        }))
    }

    /// Carries out the identity rules for an identify of `tracker`, whose contact is `id`.
    /// Returns the contact the tracker points at afterwards, and that contact's profile before
    /// the identify gave it any value (for its history). `None` when the rules would join the
    /// tracker to a contact that already has [`MAX_SPANS`] devices: then nothing changes.
    fn identify(
        &mut self,
        site: &str,
        tracker: &str,
        pos: Pos,
        event_at: i64,
        id: ContactId,
        i: &IdentifyFact,
    ) -> Result<Option<(ContactId, Profile)>, StoreError> {
        let email_key = i
            .email
            .as_ref()
            .map(|e| self.index_key(Blind::Email, e.as_str(), site));
        let phone_key = i
            .phone
            .as_ref()
            .map(|p| self.index_key(Blind::Phone, p.as_str(), site));
        let email_owner = match &email_key {
            Some(k) => self.owner(k)?,
            None => None,
        };
        let owners = Owners {
            email: email_owner,
            phone: match &phone_key {
                Some(k) => self.owner(k)?,
                None => None,
            },
            fresh_email: email_key.is_some() && email_owner.is_none(),
        };
        let c = self.peek(id)?;
        let differs = |have: &Option<String>, got: Option<&str>| matches!((have.as_deref(), got), (Some(h), Some(g)) if h != g);
        let conflicts = differs(&c.email, i.email.as_ref().map(|e| e.as_str()))
            || differs(&c.phone, i.phone.as_ref().map(|p| p.as_str()));
        let me = ContactRef {
            id,
            identified: c.identified(),
            has_email: c.email.is_some(),
        };
        let decision = decide(me, owners, conflicts);
        let joining = match decision {
            Decision::Merge { from, into } => Some((into, self.peek(from)?.spans.len())),
            Decision::MoveTracker { to, .. } => Some((to, 1)),
            _ => None,
        };
        if let Some((to, adding)) = joining {
            if self.peek(to)?.spans.len() + adding > MAX_SPANS {
                return Ok(None);
            }
        }
        let target = match decision {
            Decision::IdentifyInPlace { contact } | Decision::Same { contact } => contact,
            Decision::MoveToNewContact { from } | Decision::MoveTracker { from, .. } => {
                let (rule, to) = match decision {
                    Decision::MoveTracker { to, .. } => ("move_tracker", to),
                    _ => ("move_to_new_contact", self.create(site, event_at)),
                };
                self.move_tracker(site, tracker, pos, from, to)?;
                let trackers = vec![tracker.to_owned()];
                self.log(site, rule, event_at, pos, from, to, trackers);
                to
            }
            Decision::Merge { from, into } => {
                let moved = self.merge(site, from, into)?;
                self.log(site, "merge", event_at, pos, from, into, moved);
                self.merge_history(from, into, event_at, &format!("tracker:{tracker}"));
                into
            }
        };
        let before = profile(self.peek(target)?);
        // The values nobody else holds go to the target, where it has none.
        let c = self.live(target)?;
        let mut claim_email = None;
        if let (None, Some(e), None) = (&c.email, &i.email, owners.email) {
            c.email = Some(e.as_str().to_owned());
            claim_email = email_key;
        }
        let mut claim_phone = None;
        if let (None, Some(p), None) = (&c.phone, &i.phone, owners.phone) {
            c.phone = Some(p.as_str().to_owned());
            claim_phone = phone_key;
        }
        let claimed = claim_email.is_some() || claim_phone.is_some();
        for k in [claim_email, claim_phone].into_iter().flatten() {
            self.put_id(k, target);
        }
        if claimed {
            self.apply_suppression(target, site, event_at, pos)?;
        }
        Ok(Some((target, before)))
    }

    /// Ends `tracker`'s stretch in `from` just before `pos` and starts one in `to` at `pos`.
    fn move_tracker(
        &mut self,
        site: &str,
        tracker: &str,
        pos: Pos,
        from: ContactId,
        to: ContactId,
    ) -> Result<(), StoreError> {
        for s in self.live(from)?.spans.iter_mut() {
            if s.tracker == tracker && s.to.is_none() {
                s.to = Some(pos);
            }
        }
        self.live(to)?
            .spans
            .push(footprint_domain::contacts::aggregate::Span::open(
                tracker, pos,
            ));
        self.put_id(keys::tracker(tracker, site), to);
        Ok(())
    }

    /// Merges `from` into `into`; returns the trackers that now point at `into`.
    fn merge(
        &mut self,
        site: &str,
        from: ContactId,
        into: ContactId,
    ) -> Result<Vec<String>, StoreError> {
        let absorbed = match self.contacts.insert(from, ContactRecord::Merged(into)) {
            Some(ContactRecord::Live(c)) => *c,
            _ => return Err(StoreError::Corrupt(format!("contact {from} is not live"))),
        };
        self.dirty_contacts.insert(from);
        let moved: Vec<String> = absorbed
            .spans
            .iter()
            .filter(|s| s.to.is_none())
            .map(|s| s.tracker.clone())
            .collect();
        for t in &moved {
            self.put_id(keys::tracker(t, site), into);
        }
        // Static memberships follow the contact; its extras go along in `absorb`.
        for &seg in &absorbed.extras.segments {
            self.put(keys::member(seg, from.get()).to_vec(), None);
            self.put(keys::member(seg, into.get()).to_vec(), Some(Vec::new()));
        }
        if absorbed.ecommerce.last_purchase_at.is_some() {
            self.rfm_gone.push(keys::rfm(site, from.get()));
            self.rfm_gone.push(keys::clv(site, from.get()));
            self.rfm_dirty.insert(into);
        }
        // A reference is unique per site: the absorbed one moves over only when `into` has
        // none (`Extras::absorb`); otherwise it is dropped, and so is its index entry.
        if let Some(r) = &absorbed.extras.reference {
            let key = self.index_key(Blind::Reference, r, site);
            if self.peek(into)?.extras.reference.is_none() {
                self.put_id(key, into);
            } else {
                self.put(key, None);
            }
        }
        self.live(into)?.absorb(absorbed);
        Ok(moved)
    }

    #[allow(clippy::too_many_arguments)]
    fn log(
        &mut self,
        site: &str,
        rule: &str,
        event_at: i64,
        at: Pos,
        from: ContactId,
        to: ContactId,
        trackers: Vec<String>,
    ) {
        self.last_change += 1;
        let change = IdChange {
            received_at: self.received_at,
            event_at,
            site: site.to_owned(),
            rule: rule.to_owned(),
            from,
            to,
            trackers,
            at,
        };
        tracing::info!(rule, %from, %to, "identity change");
        self.put(
            keys::id_log(self.last_change).to_vec(),
            Some(record::encode_value(&change)),
        );
    }

    /// Writes everything this group changed into `batch`, sealing what is personal under its
    /// contact's key; returns the contacts erased, whose keys the writer destroys once the
    /// batch is on disk (their `k` markers are in the batch, for a crash before that).
    pub fn finish(mut self, batch: &mut sled::Batch) -> Result<Vec<ContactId>, StoreError> {
        // Keys for the contacts this group created, on disk before anything is sealed.
        self.vault.reserve(self.last_contact)?;
        for id in std::mem::take(&mut self.rfm_dirty) {
            if let Some(ContactRecord::Live(c)) = self.contacts.get(&id) {
                if let Some((inputs, _)) = rfm_inputs(c) {
                    let key = keys::rfm(&c.site, id.get());
                    self.kv
                        .insert(key.clone(), Some(record::encode_value::<Inputs>(&inputs)));
                    self.dirty_kv.insert(key);
                }
                if let Some(history) = History::of(c) {
                    let key = keys::clv(&c.site, id.get());
                    self.kv
                        .insert(key.clone(), Some(record::encode_value(&history)));
                    self.dirty_kv.insert(key);
                }
            }
        }
        for key in std::mem::take(&mut self.rfm_gone) {
            batch.remove(key);
        }
        let mut moves = crate::counts::Moves::default();
        for id in std::mem::take(&mut self.dirty_contacts) {
            self.search_entries(id, batch)?;
            let counted = match self.contacts.get(&id) {
                Some(ContactRecord::Live(c)) => Some(crate::counts::tally(c)),
                _ => None,
            };
            moves.shift(self.tallied_before.remove(&id), counted);
            let before = self.points_before.remove(&id).flatten();
            let after = match self.contacts.get(&id) {
                Some(ContactRecord::Live(c)) => points_key(c),
                _ => None,
            };
            if before != after {
                if let Some(k) = before {
                    batch.remove(&k[..]);
                }
                if let Some(k) = after {
                    batch.insert(&k[..], &[][..]);
                }
            }
            if let Some(rec) = self.contacts.get(&id) {
                let bytes = record::seal_contact(&mut self.ring, id, rec)?;
                batch.insert(&keys::contact(id.get())[..], bytes);
            }
        }
        for key in std::mem::take(&mut self.dirty_kv) {
            let value = match self.kv.remove(&key).flatten() {
                // History and orders are made in the clear, for the group's later reads, and
                // sealed here;
                // an erased contact's last entry (when, by whom, how much) stays readable.
                Some(v) => match keys::history_key_owner(&key)
                    .or_else(|| keys::order_record_owner(&key))
                    .and_then(ContactId::new)
                {
                    Some(owner) if !self.shred.contains(&owner) => {
                        Some(record::seal_encoded(&mut self.ring, owner, &key, &v)?)
                    }
                    _ => Some(v),
                },
                None => None,
            };
            match value {
                Some(v) => batch.insert(key, v),
                None => batch.remove(key),
            }
        }
        moves.write(self.tree, batch)?;
        for id in &self.shred {
            batch.insert(&keys::shred(id.get())[..], &[][..]);
        }
        batch.insert(keys::META_CONTACT, &keys::encode_u64(self.last_contact)[..]);
        batch.insert(keys::META_ID_LOG, &keys::encode_u64(self.last_change)[..]);
        batch.insert(keys::META_HISTORY, &keys::encode_u64(self.last_history)[..]);
        batch.insert(keys::META_SEGMENT, &keys::encode_u64(self.last_segment)[..]);
        Ok(self.shred)
    }

    /// Brings `id`'s search entries in line with its terms now: a merged or erased contact
    /// has none. Each entry holds its term sealed, so only the bucket's hash is in the clear.
    fn search_entries(&mut self, id: ContactId, batch: &mut sled::Batch) -> Result<(), StoreError> {
        let before = self.terms_before.remove(&id).unwrap_or_default();
        let after = match self.contacts.get(&id) {
            Some(ContactRecord::Live(c)) => search_terms(c),
            _ => Vec::new(),
        };
        for term in before.iter().filter(|t| !after.contains(t)) {
            for key in search_keys(self.suppressor, id, term) {
                batch.remove(&key[..]);
            }
        }
        for term in after.iter().filter(|t| !before.contains(t)) {
            for key in search_keys(self.suppressor, id, term) {
                let sealed = record::seal_value(&mut self.ring, id, &key, term)?;
                batch.insert(&key[..], sealed);
            }
        }
        Ok(())
    }

    /// Seals a chunk's events run by run, under their owners' keys.
    pub fn seal_chunk(
        &mut self,
        key: &[u8],
        header: &record::ChunkHeader,
        types: u32,
        runs: &[record::Run<'_>],
    ) -> Result<Vec<u8>, StoreError> {
        // An event can belong to a contact this group just created.
        self.vault.reserve(self.last_contact)?;
        record::encode_chunk(&mut self.ring, key, header, types, runs)
    }
}

/// The profile fields history follows, as text: the identity values, names, birth date and
/// custom fields.
fn profile(c: &Contact) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for (k, v) in [("email", &c.email), ("phone", &c.phone)] {
        if let Some(v) = v {
            out.insert(k.to_owned(), v.clone());
        }
    }
    for (k, v) in [
        ("first_name", &c.first_name),
        ("last_name", &c.last_name),
        ("birth_date", &c.birth_date),
    ] {
        if let Some(v) = v {
            out.insert(k.to_owned(), v.value.clone());
        }
    }
    for (k, v) in &c.custom {
        out.insert(format!("custom.{k}"), v.value.clone());
    }
    out
}

/// A contact's channel statuses by name, for the history of what delivery events changed.
fn statuses(c: Result<&Contact, StoreError>) -> Result<BTreeMap<String, String>, StoreError> {
    let c = c?;
    let mut out = BTreeMap::new();
    let named = [
        ("email_status", c.channels.email_status.map(|s| s.as_str())),
        ("sms_status", c.channels.sms_status.map(|s| s.as_str())),
        ("newsletter", Some(c.newsletter().as_str())),
        (
            "sms_subscription",
            c.channels.sms_subscription.map(|s| s.as_str()),
        ),
    ];
    for (k, v) in named {
        if let Some(v) = v {
            out.insert(k.to_owned(), v.to_owned());
        }
    }
    Ok(out)
}

fn diff(mut before: BTreeMap<String, String>, after: BTreeMap<String, String>) -> Vec<Change> {
    let mut changes = Vec::new();
    for (k, new) in after {
        changes.extend(Change::new(&k, before.remove(&k), Some(new)));
    }
    for (k, old) in before {
        changes.extend(Change::new(&k, Some(old), None));
    }
    changes
}

/// A query shorter than this many characters is refused: the shortest bucket.
pub const MIN_SEARCH_CHARS: usize = SEARCH_BUCKETS[0];

/// The search index's bucket lengths, in characters. A term is filed under its first 3 and
/// its first 6 characters; a query looks in the longest bucket it fills and opens only the
/// terms there, so a query of 6 characters or more reads few entries even at millions of
/// contacts. Two buckets keep an identify's index writes where they were before sealing
/// (three entries a term cost 7 % of an identify-heavy load).
const SEARCH_BUCKETS: [usize; 2] = [3, 6];

/// The lower-cased texts a contact is found by: its email, "first last" and "last".
/// `c`'s entry in points order; `None` without points.
fn points_key(c: &Contact) -> Option<[u8; 18]> {
    let (class, key) = c.extras.points.as_ref()?.order_key();
    Some(keys::points(class, key, c.id.get()))
}

pub fn search_terms(c: &Contact) -> Vec<String> {
    let clean = |s: &str| -> String {
        s.chars()
            .filter(|c| !c.is_control())
            .flat_map(char::to_lowercase)
            .collect::<String>()
            .trim()
            .to_owned()
    };
    let first = c.first_name.as_ref().map(|s| clean(&s.value));
    let last = c.last_name.as_ref().map(|s| clean(&s.value));
    let mut out = Vec::new();
    if let Some(e) = &c.email {
        out.push(e.to_lowercase());
    }
    let full = [first.as_deref(), last.as_deref()]
        .into_iter()
        .flatten()
        .filter(|s| !s.is_empty())
        .collect::<Vec<_>>()
        .join(" ");
    if !full.is_empty() && !out.contains(&full) {
        out.push(full);
    }
    if let Some(l) = last.filter(|l| !l.is_empty() && !out.contains(l)) {
        out.push(l);
    }
    out
}

/// The bucket a query of `text` looks in, or the buckets a term of `text` is filed under.
fn buckets(text: &str) -> impl Iterator<Item = &str> {
    SEARCH_BUCKETS.into_iter().filter_map(move |n| {
        let end = text.char_indices().nth(n).map_or(text.len(), |(i, _)| i);
        (text[..end].chars().count() == n).then(|| &text[..end])
    })
}

/// The search entries of one of `id`'s terms.
fn search_keys(hash: &Suppressor, id: ContactId, term: &str) -> Vec<[u8; 33]> {
    let t = hash.blind(Blind::Term, term);
    let mut short = [0; 8];
    short.copy_from_slice(&t[..8]);
    buckets(term)
        .map(|b| keys::search(&hash.blind(Blind::Bucket, b), id.get(), &short))
        .collect()
}

/// The bucket key a query looks in: its longest bucket. `None` below [`MIN_SEARCH_CHARS`].
pub fn search_bucket(hash: &Suppressor, query: &str) -> Option<[u8; 17]> {
    let b = buckets(query).last()?;
    Some(keys::search_bucket(&hash.blind(Blind::Bucket, b)))
}

/// A contact's profile fields by name, as history compares them.
type Profile = BTreeMap<String, String>;

/// The refusal of an email or phone another contact of the site holds. It names no contact,
/// so that it reads the same whether or not the caller may see the holder; a caller who may
/// finds it with the list's filter.
pub(crate) fn taken(what: &str, value: &str) -> String {
    format!(
        "{what} {value} is already another contact's on this site; find it with \
         GET /v1/contacts?{what}={value} and merge the two (POST /v1/contacts/{{id}}/merge), or \
         leave it out"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_term_is_filed_under_its_first_3_and_6_characters_counted_as_characters() {
        fn b(t: &str) -> Vec<&str> {
            buckets(t).collect()
        }
        assert_eq!(b("li"), Vec::<&str>::new());
        assert_eq!(b("lia"), ["lia"]);
        assert_eq!(b("alice.zq@example.com"), ["ali", "alice."]);
        // Characters, not bytes: "ñandúe" is six of them.
        assert_eq!(b("ñandúes garcía"), ["ñan", "ñandúe"]);
        assert_eq!(b("ñandúe"), ["ñan", "ñandúe"]);
    }

    #[test]
    fn a_query_looks_in_the_bucket_of_its_longest_filed_prefix() {
        let dir = tempfile::tempdir().unwrap();
        let s = Suppressor::load_or_create(dir.path()).unwrap();
        let id = ContactId::new(9).unwrap();
        let filed = search_keys(&s, id, "alice.zq@example.com");
        assert_eq!(filed.len(), 2);
        // "alic" looks among the "ali" terms; "alice.z" among the "alice." ones.
        for (query, bucket) in [("ali", 0), ("alic", 0), ("alice.z", 1), ("alice.", 1)] {
            let b = search_bucket(&s, query).unwrap();
            assert!(filed[bucket].starts_with(&b), "{query}");
        }
        assert_eq!(search_bucket(&s, "al"), None);
        assert!(!filed[0].starts_with(&search_bucket(&s, "bob").unwrap()));
    }
}
