//! What admins write on a contact besides its profile: tags in bulk, and notes.

use super::Working;
use crate::{AdminOp, Done, Refusal, StoreError};
use footprint_domain::contacts::aggregate::{Note, MAX_NOTES};
use footprint_domain::contacts::patch::{toggle_tag, Change};
use footprint_domain::contacts::ContactId;

impl Working<'_> {
    /// Adds `tag` to (or removes it from) each contact, each on its own: one refused contact
    /// (absent, hidden, at its cap) does not stop the others.
    pub(super) fn tag(
        &mut self,
        contacts: &[ContactId],
        tag: &str,
        add: bool,
        op: &AdminOp,
    ) -> Result<Result<Done, Refusal>, StoreError> {
        let mut each = Vec::with_capacity(contacts.len());
        for &asked in contacts {
            let id = match self.visible_as(asked, op.clearance)? {
                Ok(id) => id,
                Err(r) => {
                    each.push((asked, Err(r)));
                    continue;
                }
            };
            let has = self
                .peek(id)?
                .extras
                .tags
                .iter()
                .any(|t| t.eq_ignore_ascii_case(tag));
            if has == add {
                each.push((asked, Ok(id)));
                continue;
            }
            match toggle_tag(self.live(id)?, tag, add) {
                Ok(change) => {
                    self.history(id, op.at, &op.who, change.into_iter().collect());
                    each.push((asked, Ok(id)));
                }
                Err(why) => each.push((asked, Err(Refusal::Conflict(why)))),
            }
        }
        Ok(Ok(Done::Each(each)))
    }

    /// Adds a note, stamped with the operation's time (made unique on the contact) and its
    /// author. The text was checked by the caller; the cap is checked here.
    pub(super) fn add_note(
        &mut self,
        asked: ContactId,
        text: &str,
        op: &AdminOp,
    ) -> Result<Result<Done, Refusal>, StoreError> {
        let id = match self.visible_as(asked, op.clearance)? {
            Ok(id) => id,
            Err(r) => return Ok(Err(r)),
        };
        let c = self.peek(id)?;
        if c.extras.notes.len() >= MAX_NOTES {
            return Ok(Err(Refusal::Conflict(format!(
                "contact {id} has {MAX_NOTES} notes; delete one before adding another"
            ))));
        }
        let last = c.extras.notes.iter().map(|n| n.id).max();
        let note = last.map_or(op.at, |l| op.at.max(l + 1));
        self.live(id)?.extras.notes.push(Note {
            id: note,
            author: op.who.clone(),
            text: text.to_owned(),
        });
        self.history(
            id,
            op.at,
            &op.who,
            Change::new("note", None, Some(text.to_owned()))
                .into_iter()
                .collect(),
        );
        Ok(Ok(Done::Note(id, note)))
    }

    pub(super) fn delete_note(
        &mut self,
        asked: ContactId,
        note: i64,
        op: &AdminOp,
    ) -> Result<Result<Done, Refusal>, StoreError> {
        let id = match self.visible_as(asked, op.clearance)? {
            Ok(id) => id,
            Err(r) => return Ok(Err(r)),
        };
        let Some(i) = self
            .peek(id)?
            .extras
            .notes
            .iter()
            .position(|n| n.id == note)
        else {
            return Ok(Err(Refusal::NotFound(format!(
                "contact {asked} has no note {note}"
            ))));
        };
        let gone = self.live(id)?.extras.notes.remove(i);
        self.history(
            id,
            op.at,
            &op.who,
            Change::new("note", Some(gone.text), None)
                .into_iter()
                .collect(),
        );
        Ok(Ok(Done::Contact(id)))
    }
}
