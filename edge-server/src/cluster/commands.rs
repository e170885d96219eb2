//! Where an admin's change goes in cluster mode: onto the log, answered once this process's
//! own view applied it (read-your-writes), with the effect the one apply function gave.

use std::time::Duration;

use footprint_store::{AdminKind, AdminOp, AdminResult, Command, Effect, StoreError, SubmitError};
use tokio::sync::oneshot;

use super::keys::{self, Keys};
use super::projector::Progress;
use super::Log;

/// Appends commands and waits for this process's projector to apply them.
#[derive(Clone)]
pub struct Commands {
    log: Log,
    keys: std::sync::Arc<Keys>,
    progress: Progress,
    /// How long an appended command may take to be applied here.
    wait: Duration,
    runtime: tokio::runtime::Handle,
}

impl Commands {
    /// Must be made inside the runtime the appends run on.
    pub fn new(
        log: Log,
        keys: std::sync::Arc<Keys>,
        progress: Progress,
        wait: Duration,
    ) -> Commands {
        Commands {
            log,
            keys,
            progress,
            wait,
            runtime: tokio::runtime::Handle::current(),
        }
    }

    pub fn progress(&self) -> &Progress {
        &self.progress
    }

    pub fn log(&self) -> &Log {
        &self.log
    }

    /// Appends an admin's change; the answer comes once this view applied it. Same contract as
    /// `Store::admin`, so the application layer and the CSV import take either.
    pub fn admin(&self, op: AdminOp) -> Result<oneshot::Receiver<AdminResult>, SubmitError> {
        let (tx, rx) = oneshot::channel();
        let this = self.clone();
        self.runtime.spawn(async move {
            let answer = match op.kind {
                AdminKind::Import { .. } => this.import(op).await,
                _ => this.admin_one(op).await,
            };
            let _ = tx.send(answer);
        });
        Ok(rx)
    }

    async fn admin_one(&self, op: AdminOp) -> AdminResult {
        match self.apply(Command::Admin(op)).await? {
            Effect::Admin(done) => Ok(done),
            other => Err(StoreError::Corrupt(format!(
                "an admin change came to {other:?}"
            ))),
        }
    }

    /// An import chunk goes to the log a row at a time, each sealed under the key of the
    /// email or phone it names, so that erasing the contact destroys what the log holds of
    /// it and nothing of the chunk's other rows. Rows are independent: applied one by one
    /// in order, they come to what the chunk would.
    async fn import(&self, op: AdminOp) -> AdminResult {
        let AdminKind::Import {
            site,
            rows,
            create_only,
        } = op.kind
        else {
            return self.admin_one(op).await;
        };
        let mut outcomes = Vec::with_capacity(rows.len());
        for row in rows {
            let one = AdminOp {
                kind: AdminKind::Import {
                    site: site.clone(),
                    rows: vec![row],
                    create_only,
                },
                who: op.who.clone(),
                clearance: op.clearance,
                at: op.at,
            };
            match self.admin_one(one).await? {
                Ok(footprint_store::Done::Imported(mut each)) => outcomes.append(&mut each),
                Ok(other) => {
                    return Err(StoreError::Corrupt(format!("an import came to {other:?}")))
                }
                Err(refused) => return Ok(Err(refused)),
            }
        }
        Ok(Ok(footprint_store::Done::Imported(outcomes)))
    }

    /// Appends `command`; a PATCH or a note sealed under its contact's key, since it holds
    /// values an erasure must take out of the log too.
    async fn append(&self, id: &str, command: &Command) -> Result<u64, super::LogError> {
        let sealed_under = match command {
            Command::Admin(AdminOp {
                kind: AdminKind::Patch { id, .. } | AdminKind::AddNote { id, .. },
                ..
            }) => Some(keys::name_of_contact(id.get())),
            // One row (`import`): under the email or phone it names.
            Command::Admin(AdminOp {
                kind: AdminKind::Import { site, rows, .. },
                ..
            }) => rows.first().and_then(|r| {
                let email = r
                    .patch
                    .email
                    .as_ref()
                    .and_then(|e| e.as_ref().map(|e| e.as_str()));
                let phone = r
                    .patch
                    .phone
                    .as_ref()
                    .and_then(|p| p.as_ref().map(|p| p.as_str()));
                // A row found by reference alone is sealed under the reference.
                let reference = r.patch.reference.as_ref().and_then(Option::as_deref);
                email
                    .or(phone)
                    .or(reference)
                    .map(|v| keys::name_of_value(site, v))
            }),
            _ => None,
        };
        match sealed_under {
            Some(name) => {
                let key = self.keys.for_writing(&name).await?;
                let sealed = keys::seal(&key, &name, &command.encode());
                self.log.append_admin_sealed(id, &name, sealed).await
            }
            None => self.log.append_admin(id, command).await,
        }
    }

    /// Asks every view to compact its files, through the log; answers with this view's
    /// compaction. Compacting a large view takes a while: up to 10 minutes are waited.
    pub async fn compact(&self) -> Result<footprint_store::Compacted, StoreError> {
        let id = super::random_id();
        let done = self.progress.expect_compaction(&id);
        if let Err(e) = self.log.append_compaction(&id).await {
            self.progress.forget(&id);
            return Err(StoreError::Unavailable(e.to_string()));
        }
        match tokio::time::timeout(Duration::from_secs(600), done).await {
            Ok(Ok(result)) => result,
            Ok(Err(_)) => Err(StoreError::Unavailable("the projector stopped".into())),
            Err(_) => {
                self.progress.forget(&id);
                Err(StoreError::Unavailable(
                    "the compaction did not finish within 10 minutes; it goes on".into(),
                ))
            }
        }
    }

    /// Appends `command` to the admin subject and waits until this view applied it.
    pub async fn apply(&self, command: Command) -> Result<Effect, StoreError> {
        let id = super::random_id();
        let effect = self.progress.expect(&id);
        if let Err(e) = self.append(&id, &command).await {
            self.progress.forget(&id);
            return Err(StoreError::Unavailable(e.to_string()));
        }
        match tokio::time::timeout(self.wait, effect).await {
            Ok(Ok(effect)) => Ok(effect),
            Ok(Err(_)) => Err(StoreError::Unavailable(
                "the projector stopped before applying the change".into(),
            )),
            Err(_) => {
                self.progress.forget(&id);
                Err(StoreError::Unavailable(format!(
                    "the change is in the log but was not applied here within {} s; it will \
                     be: look again before repeating it",
                    self.wait.as_secs()
                )))
            }
        }
    }
}
