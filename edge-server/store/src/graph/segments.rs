//! Segments on the writer thread: created, renamed, re-ruled and deleted, and a static
//! segment's members added and removed, each contact on its own.

use super::Working;
use crate::keys;
use crate::record;
use crate::{AdminOp, Done, Refusal, StoreError};
use footprint_domain::contacts::patch::Change;
use footprint_domain::contacts::segment::Segment;
use footprint_domain::contacts::ContactId;

impl Working<'_> {
    pub(super) fn segment(&mut self, id: u64) -> Result<Option<Segment>, StoreError> {
        self.get(&keys::segment(id))?
            .map(|v| record::decode_value(&v).map_err(|e| StoreError::Corrupt(e.to_string())))
            .transpose()
    }

    pub(super) fn put_segment(&mut self, s: &Segment) {
        self.put(keys::segment(s.id).to_vec(), Some(record::encode_value(s)));
    }

    /// A refusal when another segment than `id` has `name` (in any case).
    pub(super) fn name_taken(
        &mut self,
        name: &str,
        id: u64,
    ) -> Result<Option<Refusal>, StoreError> {
        for k in self.keys_with_prefix(&keys::segments())? {
            let Some(other) = k
                .get(1..)
                .and_then(keys::decode_u64)
                .map(|n| self.segment(n))
            else {
                continue;
            };
            if let Some(other) = other? {
                if other.id != id && other.name.to_lowercase() == name.to_lowercase() {
                    return Ok(Some(Refusal::Conflict(format!(
                        "segment {} is already named `{}`; names are unique",
                        other.id, other.name
                    ))));
                }
            }
        }
        Ok(None)
    }

    pub(super) fn create_segment(
        &mut self,
        s: &Segment,
        op: &AdminOp,
    ) -> Result<Result<Done, Refusal>, StoreError> {
        if let Some(r) = self.name_taken(&s.name, 0)? {
            return Ok(Err(r));
        }
        self.last_segment += 1;
        let s = Segment {
            id: self.last_segment,
            created_at: op.at,
            updated_at: op.at,
            created_by: op.who.clone(),
            ..s.clone()
        };
        self.put_segment(&s);
        Ok(Ok(Done::Segment(s.id)))
    }

    pub(super) fn update_segment(
        &mut self,
        id: u64,
        name: &Option<String>,
        description: &Option<String>,
        rule: &Option<String>,
        op: &AdminOp,
    ) -> Result<Result<Done, Refusal>, StoreError> {
        let Some(mut s) = self.segment(id)? else {
            return Ok(Err(Refusal::NotFound(format!("no segment {id}"))));
        };
        if rule.is_some() && !s.is_dynamic() {
            return Ok(Err(Refusal::Conflict(format!(
                "segment {id} is static: its members are added by hand; create a dynamic segment \
                 for a rule"
            ))));
        }
        if let Some(n) = name {
            if let Some(r) = self.name_taken(n, id)? {
                return Ok(Err(r));
            }
            s.name.clone_from(n);
        }
        if let Some(d) = description {
            s.description.clone_from(d);
        }
        if let Some(r) = rule {
            s.rule = Some(r.clone());
        }
        s.updated_at = op.at;
        self.put_segment(&s);
        Ok(Ok(Done::Segment(id)))
    }

    /// Deletes the segment and its member index. Members' records keep the id until they next
    /// change; ids are never reused, and readers skip segments that no longer exist.
    pub(super) fn delete_segment(&mut self, id: u64) -> Result<Result<Done, Refusal>, StoreError> {
        if self.segment(id)?.is_none() {
            return Ok(Err(Refusal::NotFound(format!("no segment {id}"))));
        }
        self.put(keys::segment(id).to_vec(), None);
        for k in self.keys_with_prefix(&keys::members(id))? {
            self.put(k, None);
        }
        Ok(Ok(Done::Segment(id)))
    }

    pub(super) fn members(
        &mut self,
        segment: u64,
        contacts: &[ContactId],
        add: bool,
        op: &AdminOp,
    ) -> Result<Result<Done, Refusal>, StoreError> {
        let s = match self.segment(segment)? {
            Some(s) if s.is_dynamic() => {
                return Ok(Err(Refusal::Conflict(format!(
                    "segment {segment} is dynamic: its rule decides its members"
                ))))
            }
            Some(s) => s,
            None => return Ok(Err(Refusal::NotFound(format!("no segment {segment}")))),
        };
        let label = format!("{} ({segment})", s.name);
        let mut each = Vec::with_capacity(contacts.len());
        for &asked in contacts {
            // A merged id stands for the contact it went into, as lookups do.
            let id = match self.visible_as(asked, op.clearance)? {
                Ok(id) => id,
                Err(r) => {
                    each.push((asked, Err(r)));
                    continue;
                }
            };
            let member = self.peek(id)?.extras.segments.contains(&segment);
            if member != add {
                let c = self.live(id)?;
                if add {
                    c.extras.segments.insert(segment);
                } else {
                    c.extras.segments.remove(&segment);
                }
                let key = keys::member(segment, id.get()).to_vec();
                self.put(key, add.then(Vec::new));
                let (old, new) = if add {
                    (None, Some(label.clone()))
                } else {
                    (Some(label.clone()), None)
                };
                self.history(
                    id,
                    op.at,
                    &op.who,
                    Change::new("segment", old, new).into_iter().collect(),
                );
            }
            each.push((asked, Ok(id)));
        }
        Ok(Ok(Done::Each(each)))
    }
}
