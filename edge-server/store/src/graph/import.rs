//! A CSV import's upsert, row by row, on the writer thread: each row finds its contact by
//! email, then by phone, or creates one, and is then applied as an admin edit would be.

use super::Working;
use crate::suppress::Blind;
use crate::{AdminOp, StoreError};
use footprint_domain::contacts::patch::{Change, Patch};
use footprint_domain::contacts::{ContactId, Pos};

/// One row of an import, already validated: the edit it makes, and its number in the file
/// (the header is row 1) for the report.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ImportRow {
    pub row: u64,
    pub patch: Patch,
}

/// What became of one row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RowOutcome {
    Created(ContactId),
    Updated(ContactId),
    Rejected(String),
    /// Its `field` (email or phone) is another contact's that the row may not touch: one the
    /// caller may not see, or any, for a create-only row. It names no contact, so that it
    /// reads the same whoever holds the value.
    Taken {
        field: &'static str,
        value: String,
    },
}

impl RowOutcome {
    /// Why a row was not applied, in the API's words; `None` when it was.
    pub fn refusal(&self) -> Option<String> {
        match self {
            RowOutcome::Rejected(why) => Some(why.clone()),
            RowOutcome::Taken { field, value } => Some(super::taken(field, value)),
            RowOutcome::Created(_) | RowOutcome::Updated(_) => None,
        }
    }
}

impl Working<'_> {
    pub(crate) fn import(
        &mut self,
        site: &str,
        rows: &[ImportRow],
        create_only: bool,
        op: &AdminOp,
        pos: Pos,
    ) -> Result<Vec<RowOutcome>, StoreError> {
        let mut out = Vec::with_capacity(rows.len());
        for row in rows {
            out.push(self.import_row(site, &row.patch, create_only, op, pos)?);
        }
        Ok(out)
    }

    fn import_row(
        &mut self,
        site: &str,
        patch: &Patch,
        create_only: bool,
        op: &AdminOp,
        pos: Pos,
    ) -> Result<RowOutcome, StoreError> {
        let email = patch.email.clone().flatten().map(|e| e.as_str().to_owned());
        let phone = patch.phone.clone().flatten().map(|p| p.as_str().to_owned());
        let mut owner =
            |v: &Option<String>, what: Blind| -> Result<Option<ContactId>, StoreError> {
                match v {
                    Some(v) => match self.get_id(&self.index_key(what, v, site))? {
                        Some(id) => self.resolve(id),
                        None => Ok(None),
                    },
                    None => Ok(None),
                }
            };
        let by_email = owner(&email, Blind::Email)?;
        let by_phone = owner(&phone, Blind::Phone)?;
        // A row without an email or phone that anyone holds finds its contact by the shop's
        // own id; the patch then checks the reference as any edit does.
        let reference = patch.reference.clone().flatten();
        let by_reference = owner(&reference, Blind::Reference)?;
        let Some(id) = by_email.or(by_phone).or(by_reference) else {
            let id = self.create(site, op.at);
            self.history(
                id,
                op.at,
                &op.who,
                Change::new("created", None, Some("import".into()))
                    .into_iter()
                    .collect(),
            );
            // A new contact's fields are in its profile; its history says where it came from.
            return Ok(match self.patch(id, patch, op, pos, false)? {
                Ok(id) => {
                    self.apply_suppression(id, site, op.at, pos)?;
                    RowOutcome::Created(id)
                }
                Err(r) => RowOutcome::Rejected(r.to_string()),
            });
        };
        // A contact the caller may not see holds the value as any other contact would: the
        // row is refused in the same words as every clash, naming no one. So is any holder,
        // for a row that may only create.
        for (field, value, holder) in [
            ("email", &email, by_email),
            ("phone", &phone, by_phone),
            ("reference", &reference, by_reference),
        ] {
            if let (Some(v), Some(h)) = (value, holder) {
                if create_only || !self.shows(h, op.clearance)? {
                    return Ok(RowOutcome::Taken {
                        field,
                        value: v.clone(),
                    });
                }
            }
        }
        if let (Some(e), Some(p)) = (by_email, by_phone) {
            if e != p {
                return Ok(RowOutcome::Rejected(format!(
                    "the email belongs to contact {e} and the phone to contact {p}; merge them \
                     first, or import the row without one of them"
                )));
            }
        }
        let c = self.peek(id)?;
        // An import adds what a contact lacks and corrects names and statuses; it never
        // replaces the email or phone a contact is found by, which moves its identity.
        for (what, have, want) in [("email", &c.email, &email), ("phone", &c.phone, &phone)] {
            if let (Some(h), Some(w)) = (have, want) {
                if h != w {
                    return Ok(RowOutcome::Rejected(format!(
                        "contact {id} has {what} {h}, not {w}; an import never replaces an email \
                         or phone: change it with PATCH /v1/contacts/{id}"
                    )));
                }
            }
        }
        Ok(match self.patch(id, patch, op, pos, true)? {
            Ok(id) => RowOutcome::Updated(id),
            Err(r) => RowOutcome::Rejected(r.to_string()),
        })
    }
}
