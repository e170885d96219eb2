//! The application layer: what the edge does for an admin, as typed operations that the JSON
//! API and the console share. It owns the store, the clock (through ingest) and the contact
//! settings; an operation takes who asks, carries the store's command to the writer thread,
//! waits until it is durable, and answers in the domain's terms. The HTTP layer never sees the
//! store's command language (`AdminKind`, `Done`).
//!
//! Who may see which contact is decided below this layer, once for reads (`admin::resolve`)
//! and once for writes (the writer's `visible`), from the `clearance` every operation carries.

use std::sync::Arc;

use footprint_protocol::Timestamp;

use crate::admin::{ContactList, ContactSettings, ListQuery, Matching, Sheet};
use crate::auth::AdminIdentity;
use crate::contacts::patch::Patch;
use crate::contacts::segment::{Rule, Segment};
use crate::contacts::ContactId;
use crate::error::ApiError;
use crate::gdpr::{Bulk, Erased};
use crate::ingest::Ingest;
use crate::segments::{Report, SegmentView};
use crate::store::{AdminKind, AdminOp, Done, Refusal, Store};
pub use crate::writes::Writes;

pub use crate::store::{ImportRow, RowOutcome};

/// The edge's state below HTTP.
pub struct App {
    pub ingest: Arc<Ingest>,
    /// What reads see: the store, or in cluster mode this process's view of the log.
    pub store: Store,
    /// Where admins' changes go.
    pub writes: Writes,
    pub contacts: ContactSettings,
    /// The RFM grids, from the last walk over the contacts.
    pub census: Arc<crate::census::Census>,
    /// Walks over every contact (a preview, a filtered count, segment sizes) run at most
    /// [`WALKS_AT_ONCE`] at a time; more wait their turn, so that a viewer pressing Preview
    /// again and again cannot take every blocking thread from the other reads.
    pub walks: Arc<tokio::sync::Semaphore>,
}

/// Walks over the contacts that may run at once.
pub const WALKS_AT_ONCE: usize = 2;

/// Runs blocking store work (reads) off the async executor, on the runtime's blocking pool
/// (tokio's, which actix runs on: this layer knows no web framework).
pub async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, ApiError> + Send + 'static,
) -> Result<T, ApiError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|_| ApiError::Internal)?
}

impl App {
    /// Now, by the edge's clock (a test moves it): the one way the edge reads the time.
    pub fn now(&self) -> Timestamp {
        self.ingest.clock().now()
    }

    /// Carries out `kind` as `who` on the writer thread and waits until it is durable.
    async fn run(&self, who: &AdminIdentity, kind: AdminKind) -> Result<Done, ApiError> {
        let op = AdminOp {
            kind,
            who: who.name.clone(),
            clearance: who.role.clearance(),
            at: self.now().as_millis(),
        };
        let unavailable = |reason: String| ApiError::Unavailable {
            reason,
            retry_after: 1,
        };
        let pending = self
            .writes
            .admin(op)
            .map_err(|e| unavailable(e.to_string()))?;
        match pending.await {
            Ok(Ok(Ok(done))) => Ok(done),
            Ok(Ok(Err(r))) => Err(r.into()),
            Ok(Err(e)) => Err(unavailable(e.to_string())),
            Err(_) => Err(ApiError::Internal),
        }
    }

    /// Edits a contact; answers with the contact edited.
    pub async fn patch_contact(
        &self,
        who: &AdminIdentity,
        id: ContactId,
        patch: Patch,
    ) -> Result<ContactId, ApiError> {
        let patch = Box::new(patch);
        contact(self.run(who, AdminKind::Patch { id, patch }).await?)
    }

    /// Adds a note (its text checked by `patch::note_text`); answers with the contact and the
    /// note's id.
    pub async fn add_note(
        &self,
        who: &AdminIdentity,
        id: ContactId,
        text: String,
    ) -> Result<(ContactId, i64), ApiError> {
        match self.run(who, AdminKind::AddNote { id, text }).await? {
            Done::Note(contact, note) => Ok((contact, note)),
            _ => Err(ApiError::Internal),
        }
    }

    pub async fn delete_note(
        &self,
        who: &AdminIdentity,
        id: ContactId,
        note: i64,
    ) -> Result<ContactId, ApiError> {
        contact(self.run(who, AdminKind::DeleteNote { id, note }).await?)
    }

    /// Merges `from` into `into`, as a login would; answers with the survivor.
    pub async fn merge(
        &self,
        who: &AdminIdentity,
        into: ContactId,
        from: ContactId,
    ) -> Result<ContactId, ApiError> {
        contact(self.run(who, AdminKind::Merge { into, from }).await?)
    }

    /// Runs a read of the store off the async executor; `f` gets the application.
    pub async fn read<T: Send + 'static>(
        self: &Arc<Self>,
        f: impl FnOnce(&App) -> Result<T, ApiError> + Send + 'static,
    ) -> Result<T, ApiError> {
        let app = Arc::clone(self);
        blocking(move || f(&app)).await
    }

    /// A contact's sheet, as `who` may see it.
    pub async fn sheet(
        self: &Arc<Self>,
        who: AdminIdentity,
        id: ContactId,
    ) -> Result<Sheet, ApiError> {
        let now = self.now();
        self.read(move |app| crate::admin::sheet_of(&app.store, id, &who, app.contacts, now))
            .await
    }

    /// A new segment; answers with its id.
    pub async fn create_segment(&self, who: &AdminIdentity, s: Segment) -> Result<u64, ApiError> {
        match self.run(who, AdminKind::CreateSegment(Box::new(s))).await? {
            Done::Segment(id) => Ok(id),
            _ => Err(ApiError::Internal),
        }
    }

    /// Renames, describes or changes the rule of a segment (`None`: unchanged).
    pub async fn update_segment(
        &self,
        who: &AdminIdentity,
        id: u64,
        name: Option<String>,
        description: Option<String>,
        rule: Option<String>,
    ) -> Result<(), ApiError> {
        let kind = AdminKind::UpdateSegment {
            id,
            name,
            description,
            rule,
        };
        self.run(who, kind).await.map(drop)
    }

    pub async fn delete_segment(&self, who: &AdminIdentity, id: u64) -> Result<(), ApiError> {
        self.run(who, AdminKind::DeleteSegment(id)).await.map(drop)
    }

    /// A segment as the API shows it.
    pub async fn segment(self: &Arc<Self>, id: u64) -> Result<SegmentView, ApiError> {
        self.read(move |app| crate::segments::view(&app.store, id))
            .await
    }

    /// A page of the contact list, as `q` filters it and the caller may see it.
    pub async fn list(
        self: &Arc<Self>,
        who: AdminIdentity,
        q: ListQuery,
    ) -> Result<ContactList, ApiError> {
        let now = self.now();
        self.read(move |app| crate::admin::list_contacts(&app.store, &q, &who, app.contacts, now))
            .await
    }

    /// How many contacts `who` sees (of `site`, or of every site), per valuation and email
    /// status: the list's default view (valid contacts), counted from the store's counters.
    pub async fn counts(
        self: &Arc<Self>,
        who: AdminIdentity,
        site: Option<String>,
    ) -> Result<crate::store::ContactCounts, ApiError> {
        let now = self.now().as_millis();
        self.read(move |app| {
            let clearance = who.role.clearance();
            Ok(app.store.contact_counts(site.as_deref(), clearance, now)?)
        })
        .await
    }

    /// How many contacts `who` sees that the list's filters `q` select and `rule` (an unsaved
    /// segment's) holds for; exact up to [`crate::admin::COUNT_BUDGET`] contacts.
    pub async fn matching(
        self: &Arc<Self>,
        who: AdminIdentity,
        q: ListQuery,
        rule: Option<Rule>,
    ) -> Result<Matching, ApiError> {
        let _turn = self.walks.acquire().await.map_err(|_| ApiError::Internal)?;
        let now = self.now();
        self.read(move |app| {
            crate::admin::count_contacts(&app.store, &q, rule.as_ref(), &who, app.contacts, now)
        })
        .await
    }

    /// Every segment's member count among the contacts `who` sees, in one walk.
    pub async fn segment_sizes(
        self: &Arc<Self>,
        who: AdminIdentity,
    ) -> Result<Vec<(u64, Matching)>, ApiError> {
        let _turn = self.walks.acquire().await.map_err(|_| ApiError::Internal)?;
        let now = self.now();
        self.read(move |app| crate::admin::segment_sizes(&app.store, &who, app.contacts, now))
            .await
    }

    /// `site`'s RFM grid (every site's, summed, for `None`) as `who` may count it, and when
    /// it was taken (ms).
    pub async fn rfm_grid(
        self: &Arc<Self>,
        who: &AdminIdentity,
        site: Option<String>,
    ) -> Result<(i64, crate::census::Cells), ApiError> {
        let app = Arc::clone(self);
        let walk = move || crate::census::Taken::take(&app.store, app.now().as_millis());
        let mut taken = self.census.current(walk.clone()).await?;
        // A site scored since the last walk is walked for now rather than shown empty for a
        // while: this happens once per site, when its first cut points arrive.
        if let Some(s) = site.clone().filter(|s| !taken.has(s)) {
            let scored = self.read(move |app| Ok(app.store.quintiles(&s)?.is_some()));
            if scored.await? {
                taken = self.census.retake(walk).await?;
            }
        }
        Ok((taken.at, taken.cells(site.as_deref(), who.role.clearance())))
    }

    /// A segment and a page of its members (`q.segment` is set to it): a missing segment is
    /// a 404, not the list filter's 400.
    pub async fn segment_with_members(
        self: &Arc<Self>,
        who: &AdminIdentity,
        id: u64,
        mut q: ListQuery,
    ) -> Result<(SegmentView, ContactList), ApiError> {
        let who = who.clone();
        let now = self.now();
        self.read(move |app| {
            let seg = crate::segments::view(&app.store, id)?;
            q.segment = Some(id.to_string());
            let members = crate::admin::list_contacts(&app.store, &q, &who, app.contacts, now)?;
            Ok((seg, members))
        })
        .await
    }

    /// Whether the store takes writes: a probe written and flushed through the writer within
    /// 5 s.
    pub async fn ready(&self) -> Result<(), ApiError> {
        let unavailable = |reason: String| ApiError::Unavailable {
            reason,
            retry_after: 1,
        };
        let pending = self
            .store
            .probe(self.now())
            .map_err(|e| unavailable(e.to_string()))?;
        match tokio::time::timeout(std::time::Duration::from_secs(5), pending).await {
            Ok(Ok(Ok(()))) => Ok(()),
            Ok(Ok(Err(e))) => Err(unavailable(e.to_string())),
            Ok(Err(_)) => Err(unavailable("the writer stopped".into())),
            Err(_) => Err(unavailable("a probe write took over 5 s".into())),
        }
    }

    /// Adds contacts to a static segment, or removes them; each on its own.
    pub async fn members(
        &self,
        who: &AdminIdentity,
        segment: u64,
        contacts: Vec<ContactId>,
        add: bool,
    ) -> Result<Vec<(ContactId, Result<ContactId, Refusal>)>, ApiError> {
        let kind = AdminKind::Members {
            segment,
            contacts,
            add,
        };
        match self.run(who, kind).await? {
            Done::Each(each) => Ok(each),
            _ => Err(ApiError::Internal),
        }
    }

    /// Adds or removes one contact; what happened to it.
    pub async fn member(
        &self,
        who: &AdminIdentity,
        segment: u64,
        contact: ContactId,
        add: bool,
    ) -> Result<Result<ContactId, Refusal>, ApiError> {
        let each = self.members(who, segment, vec![contact], add).await?;
        each.into_iter()
            .next()
            .map(|(_, r)| r)
            .ok_or(ApiError::Internal)
    }

    /// Erases a contact and everything about it; what was removed.
    pub async fn erase(&self, who: &AdminIdentity, id: ContactId) -> Result<Erased, ApiError> {
        let at = self.now().as_millis();
        let (id, removed) = crate::gdpr::single(self.run(who, AdminKind::Erase(vec![id])).await?)?;
        Ok(Erased::of(
            id,
            removed,
            at,
            self.contacts.compact_after_erase_ms,
        ))
    }

    /// One bulk action (its role already checked by the caller, from [`Bulk::needs`]).
    pub async fn bulk(&self, who: &AdminIdentity, action: Bulk) -> Result<Report, ApiError> {
        crate::gdpr::bulk_report(self.run(who, action.into_kind()).await?)
    }

    /// Upserts rows into `site`'s contacts (with `create_only`, a row whose email or phone a
    /// contact holds is `Taken`); per row, in order.
    pub async fn import(
        &self,
        who: &AdminIdentity,
        site: String,
        rows: Vec<ImportRow>,
        create_only: bool,
    ) -> Result<Vec<RowOutcome>, ApiError> {
        let kind = AdminKind::Import {
            site,
            rows,
            create_only,
        };
        match self.run(who, kind).await? {
            Done::Imported(outcomes) => Ok(outcomes),
            _ => Err(ApiError::Internal),
        }
    }
}

impl App {
    /// Imports a CSV file (`import.rs`) into `site`'s contacts, on the blocking pool: the
    /// rows go to the writer a chunk at a time. Each row is stamped with the time it is
    /// applied.
    pub async fn import_csv(
        self: &Arc<Self>,
        who: &AdminIdentity,
        site: String,
        file: impl AsRef<[u8]> + Send + 'static,
        options: crate::import::Options,
    ) -> Result<crate::import::ImportReport, ApiError> {
        let (app, who) = (self.clone(), who.clone());
        blocking(move || {
            let at = || app.now().as_millis();
            let region = app.contacts.region;
            let file = file.as_ref();
            crate::import::run(&app.writes, &who, &site, region, file, options, at, |_| {})
        })
        .await
    }

    /// Compacts the store now, so that erased data leaves the disk without waiting for the
    /// scheduled compaction.
    /// In cluster mode every view compacts (the request goes through the log), and the
    /// answer is this process's.
    pub async fn compact(&self) -> Result<crate::store::Compacted, ApiError> {
        match &self.writes {
            Writes::Store(store) => whole_store(store.compact()).await,
            Writes::Log(log) => log.compact().await.map_err(|e| match e {
                crate::store::StoreError::Refused(why) => ApiError::Conflict(why),
                e => ApiError::Unavailable {
                    reason: e.to_string(),
                    retry_after: 5,
                },
            }),
        }
    }

    /// A consistent backup into `dir` while serving.
    pub async fn backup(
        &self,
        dir: std::path::PathBuf,
    ) -> Result<crate::store::backup::Manifest, ApiError> {
        let now = self.now().as_millis();
        whole_store(self.store.backup(dir, now)).await
    }
}

/// The answer to a whole-store command on the writer thread (a compaction, a backup): its
/// report, a 409 when it was refused as asked, else 503.
async fn whole_store<T>(
    queued: Result<
        tokio::sync::oneshot::Receiver<Result<T, crate::store::StoreError>>,
        crate::store::SubmitError,
    >,
) -> Result<T, ApiError> {
    let unavailable = |reason: String| ApiError::Unavailable {
        reason,
        retry_after: 5,
    };
    let pending = queued.map_err(|e| unavailable(e.to_string()))?;
    match pending.await {
        Ok(Ok(report)) => Ok(report),
        Ok(Err(crate::store::StoreError::Refused(why))) => Err(ApiError::Conflict(why)),
        Ok(Err(e)) => Err(unavailable(e.to_string())),
        Err(_) => Err(ApiError::Internal),
    }
}

fn contact(done: Done) -> Result<ContactId, ApiError> {
    match done {
        Done::Contact(id) => Ok(id),
        _ => Err(ApiError::Internal),
    }
}
