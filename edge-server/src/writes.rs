//! Where an admin's change goes: the one seam between the application layer and the two
//! modes. Its own module so that the application layer and the CSV import (which queues
//! changes a chunk at a time) share it without depending on each other.

use crate::store::{AdminOp, Command, Store, StoreError, SubmitError};

/// Where an admin's change is carried out: single-node mode's writer thread, or in cluster
/// mode the log (answered once this process's view applied it).
#[derive(Clone)]
pub enum Writes {
    Store(Store),
    Log(Box<crate::cluster::commands::Commands>),
}

impl Writes {
    /// Queues an admin's change; the answer comes once it is durable and applied.
    pub fn admin(
        &self,
        op: AdminOp,
    ) -> Result<tokio::sync::oneshot::Receiver<crate::store::AdminResult>, SubmitError> {
        match self {
            Writes::Store(store) => store.admin(op),
            Writes::Log(log) => log.admin(op),
        }
    }

    /// Carries out a command that is no admin's (the RFM cut points) and waits for it.
    pub async fn command(&self, command: Command) -> Result<(), StoreError> {
        match self {
            Writes::Store(store) => {
                let pending = store
                    .apply(command)
                    .map_err(|e| StoreError::Unavailable(e.to_string()))?;
                pending
                    .await
                    .map_err(|_| StoreError::Unavailable("the writer stopped".into()))?
                    .map(drop)
            }
            Writes::Log(log) => log.apply(command).await.map(drop),
        }
    }
}
