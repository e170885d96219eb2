//! Backups and restores of the whole store.
//!
//! A backup is taken by the writer thread as an exclusive command, after every earlier write
//! is applied and before any later one: it is the store at one instant, taken while the edge
//! serves (new batches wait in the queue meanwhile, as during a compaction). It copies every
//! record into a fresh sled directory, the same copy a compaction makes, so a backup is also
//! compact:
//!
//! ```text
//! DIR/
//!   store/                  sled's files
//!   suppression.key         the suppression list's key: without it erased emails come back
//!   contact.keys            each contact's key: without it no contact or event reads
//!   footprint-backup.json   written last: a backup without it is incomplete
//! ```
//!
//! A restore copies a backup's records into a new generation of a data directory and makes
//! it the one in use, with the backup's keys. A backup holds personal data and its own copy
//! of the contact keys: erasures made after it do not reach it, so keep backups for a bounded
//! time (ARCHITECTURE.md, "Backups").

use std::fs;
use std::io::Write;
use std::path::Path;

use serde::{Deserialize, Serialize};

use super::{keys, layout, open_db, StoreError};

const MANIFEST: &str = "footprint-backup.json";
const STORE_DIR: &str = "store";
/// The key files beside the store, copied with it.
const KEY_FILES: [&str; 2] = ["suppression.key", super::vault::KEY_FILE];
/// Records per `apply_batch` while copying: large enough to amortise, small enough that the
/// batch's memory stays a few MiB.
const COPY_BATCH: usize = 10_000;
/// The layout of a backup directory; a restore refuses any other. 2: with `contact.keys`.
const FORMAT: u32 = 2;

/// What a backup holds, written beside it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Manifest {
    pub format: u32,
    /// When it was taken, ms since the epoch.
    pub taken_at: i64,
    pub records: u64,
    /// The last event chunk it holds: what a restore brings back up to.
    pub last_seq: u64,
    pub bytes: u64,
    pub millis: u64,
}

/// Copies every record of `from` into `to` in batches, and flushes `to`. Compactions, backups
/// and restores all copy with this.
pub(super) fn copy_records(
    from: &sled::Tree,
    to: &sled::Tree,
    to_db: &sled::Db,
) -> Result<u64, StoreError> {
    let mut batch = sled::Batch::default();
    let mut in_batch = 0;
    let mut records = 0u64;
    for item in from.iter() {
        let (k, v) = item?;
        batch.insert(k, v);
        in_batch += 1;
        records += 1;
        if in_batch == COPY_BATCH {
            to.apply_batch(std::mem::take(&mut batch))?;
            in_batch = 0;
        }
    }
    to.apply_batch(batch)?;
    to_db.flush()?;
    Ok(records)
}

fn io(what: &Path) -> impl Fn(std::io::Error) -> StoreError + '_ {
    move |e| StoreError::Sled(format!("{}: {e}", what.display()))
}

/// Writes `path` and syncs it, then its directory.
fn write_synced(path: &Path, bytes: &[u8]) -> Result<(), StoreError> {
    let mut f = fs::File::create(path).map_err(io(path))?;
    f.write_all(bytes).map_err(io(path))?;
    f.sync_all().map_err(io(path))?;
    if let Some(dir) = path.parent() {
        fs::File::open(dir)
            .and_then(|d| d.sync_all())
            .map_err(io(dir))?;
    }
    Ok(())
}

/// Copies the key files from one directory to another, each synced.
fn copy_keys(from: &Path, to: &Path) -> Result<(), StoreError> {
    for name in KEY_FILES {
        let path = from.join(name);
        let bytes = fs::read(&path).map_err(io(&path))?;
        write_synced(&to.join(name), &bytes)?;
    }
    Ok(())
}

/// Takes a backup of `tree` (whose data directory is `data_dir`) into `dir`, which must not
/// exist or be empty. Called by the writer thread, which has flushed everything applied.
pub(super) fn take(
    tree: &sled::Tree,
    data_dir: &Path,
    dir: &Path,
    taken_at: i64,
) -> Result<Manifest, StoreError> {
    let t = std::time::Instant::now();
    if !dir.is_absolute() {
        return Err(StoreError::Refused(format!(
            "backup directory `{}` must be an absolute path (the edge's working directory is \
             not the caller's)",
            dir.display()
        )));
    }
    let empty = match fs::read_dir(dir) {
        Ok(mut entries) => entries.next().is_none(),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => true,
        Err(e) => return Err(io(dir)(e)),
    };
    if !empty {
        return Err(StoreError::Refused(format!(
            "backup directory `{}` is not empty; name a new one",
            dir.display()
        )));
    }
    fs::create_dir_all(dir).map_err(io(dir))?;
    let copy = open_db(&dir.join(STORE_DIR), 64)?;
    let records = copy_records(tree, &copy.tree, &copy.db)?;
    let last_seq = tree
        .get(keys::META_SEQ)?
        .and_then(|v| keys::decode_u64(&v))
        .unwrap_or(0);
    drop(copy);
    copy_keys(data_dir, dir)?;
    let manifest = Manifest {
        format: FORMAT,
        taken_at,
        records,
        last_seq,
        bytes: layout::dir_size(dir),
        millis: u64::try_from(t.elapsed().as_millis()).unwrap_or(u64::MAX),
    };
    let json = serde_json::to_vec_pretty(&manifest)
        .map_err(|e| StoreError::Corrupt(format!("backup manifest: {e}")))?;
    write_synced(&dir.join(MANIFEST), &json)?;
    Ok(manifest)
}

/// Reads a backup's manifest: refuses a directory that is no complete backup.
pub fn manifest(dir: &Path) -> Result<Manifest, StoreError> {
    let path = dir.join(MANIFEST);
    let text = fs::read(&path).map_err(|e| {
        StoreError::Refused(format!(
            "`{}` is not a complete backup ({}: {e}); a backup is written by \
             `footprint-edge backup DIR`",
            dir.display(),
            path.display()
        ))
    })?;
    let m: Manifest = serde_json::from_slice(&text)
        .map_err(|e| StoreError::Refused(format!("{}: {e}", path.display())))?;
    if m.format != FORMAT {
        return Err(StoreError::Refused(format!(
            "{} is backup format {}; this edge restores format {FORMAT}",
            path.display(),
            m.format
        )));
    }
    Ok(m)
}

/// Restores the backup in `dir` into `data_dir`, which must hold no store unless `replace`.
/// The store must not be open: run it with the edge stopped.
pub fn restore(dir: &Path, data_dir: &Path, replace: bool) -> Result<Manifest, StoreError> {
    let m = manifest(dir)?;
    let mut layout =
        layout::Layout::open(data_dir).map_err(|e| super::layout_error(data_dir, e))?;
    {
        let current = open_db(&layout.current(), 64)?;
        if !replace && current.tree.iter().next().is_some() {
            return Err(StoreError::Refused(format!(
                "{} already holds a store; restore into an empty data directory, or pass \
                 --replace to replace it",
                data_dir.display()
            )));
        }
    }
    let backup = open_db(&dir.join(STORE_DIR), 64)?;
    let next_dir = layout.prepare_next().map_err(io(data_dir))?;
    let next = open_db(&next_dir, 64)?;
    let records = copy_records(&backup.tree, &next.tree, &next.db)?;
    if records != m.records {
        return Err(StoreError::Corrupt(format!(
            "the backup's store holds {records} records; its manifest says {}",
            m.records
        )));
    }
    drop(next);
    copy_keys(dir, data_dir)?;
    layout
        .advance()
        .map_err(io(data_dir))?
        .remove()
        .map_err(io(data_dir))?;
    Ok(m)
}
