//! CSV import (`POST /v1/contacts/import`, `footprint-edge import`): rows in, contacts
//! upserted, a report of what became of each row out.
//!
//! The header names the columns: `email`, `phone`, `first_name`, `last_name`, `birth_date`,
//! `newsletter` and any `custom.NAME`, in any order and any subset that has `email` or
//! `phone`. Each row is validated as a PATCH body would be (the same rules, the same
//! messages); an empty cell leaves the field as it is. A bad row is reported with its number
//! (the header is row 1) and never stops the others. Valid rows go to the writer thread in
//! batches of [`BATCH_ROWS`], a few batches in flight, where each finds its contact by email,
//! then phone, or creates one (`store/graph/import.rs`).

use std::collections::{HashSet, VecDeque};
use std::io::Read;

use serde::Serialize;
use serde_json::{Map, Value};

use crate::auth::AdminIdentity;
use crate::contacts::patch::Patch;
use crate::error::ApiError;
use crate::identity::Region;
use crate::store::{
    AdminKind, AdminOp, AdminResult, Done, ImportRow, RowOutcome, Store, SubmitError,
};

/// The columns besides `custom.*`.
pub const COLUMNS: [&str; 6] = [
    "email",
    "phone",
    "first_name",
    "last_name",
    "birth_date",
    "newsletter",
];

/// Rows per writer operation: big enough to share a group commit's flush, small enough that
/// ingest waits only briefly behind one.
pub const BATCH_ROWS: usize = 1000;
/// Batches waiting for the writer at once.
const IN_FLIGHT: usize = 4;
/// Rejected rows listed one by one; the count covers them all.
pub const MAX_LISTED: usize = 1000;

/// What an import did.
#[derive(Debug, Default, Serialize)]
pub struct ImportReport {
    pub rows: u64,
    pub created: u64,
    pub updated: u64,
    pub rejected: u64,
    /// The first [`MAX_LISTED`] rejected rows, in file order.
    pub rejections: Vec<Rejection>,
    /// True when more rows were rejected than are listed.
    pub rejections_truncated: bool,
}

#[derive(Debug, Serialize)]
pub struct Rejection {
    /// The row's number in the file; the header is row 1.
    pub row: u64,
    pub reason: String,
}

impl ImportReport {
    fn reject(&mut self, row: u64, reason: String) {
        self.rejected += 1;
        if self.rejections.len() < MAX_LISTED {
            self.rejections.push(Rejection { row, reason });
        } else {
            self.rejections_truncated = true;
        }
    }
}

/// The site to import into: the one asked for, or the only one configured.
pub fn site(asked: Option<String>, sites: &[String]) -> Result<String, ApiError> {
    match (asked, sites) {
        (Some(s), _) if sites.contains(&s) => Ok(s),
        (Some(s), _) => Err(ApiError::bad_request(
            "unknown_site",
            format!(
                "site `{s}` is not configured; use one of {}",
                sites.join(", ")
            ),
        )),
        (None, [only]) => Ok(only.clone()),
        (None, _) => Err(ApiError::bad_request(
            "site_required",
            format!(
                "this edge has several sites; say which with ?site= (one of {})",
                sites.join(", ")
            ),
        )),
    }
}

/// A column of the header.
enum Column {
    Field(&'static str),
    Custom(String),
    /// One the export adds after the import's (`id`, the statuses, the times): an export
    /// imports back, and these are the edge's to compute, not the file's to set.
    ExportOnly,
}

fn header(record: &csv::StringRecord) -> Result<Vec<Column>, ApiError> {
    let mut seen = HashSet::new();
    let mut cols = Vec::with_capacity(record.len());
    for (i, raw) in record.iter().enumerate() {
        // Spreadsheets often start a UTF-8 file with a byte-order mark.
        let name = raw.trim().trim_start_matches('\u{feff}');
        let col = if let Some(custom) = name.strip_prefix("custom.") {
            if custom.is_empty() {
                return Err(bad_header(format!(
                    "column {} is `custom.` without a name",
                    i + 1
                )));
            }
            Column::Custom(custom.to_owned())
        } else {
            let lower = name.to_ascii_lowercase();
            match COLUMNS.iter().find(|c| **c == lower) {
                Some(c) => Column::Field(c),
                None if crate::admin::EXPORT_COLUMNS[COLUMNS.len()..].contains(&lower.as_str()) => {
                    Column::ExportOnly
                }
                None => {
                    return Err(bad_header(format!(
                        "column {} `{name}` is not importable; use {} or custom.NAME",
                        i + 1,
                        COLUMNS.join(", ")
                    )))
                }
            }
        };
        let key = match &col {
            Column::Field(f) => (*f).to_owned(),
            Column::Custom(c) => format!("custom.{c}"),
            Column::ExportOnly => name.to_ascii_lowercase(),
        };
        if !seen.insert(key.clone()) {
            return Err(bad_header(format!("column `{key}` appears twice")));
        }
        cols.push(col);
    }
    if !seen.contains("email") && !seen.contains("phone") {
        return Err(bad_header(
            "the header needs an email or a phone column: rows are matched by them".into(),
        ));
    }
    Ok(cols)
}

fn bad_header(message: String) -> ApiError {
    ApiError::bad_request("invalid_csv", message)
}

/// One data row as the PATCH body it amounts to.
fn row_patch(
    cols: &[Column],
    record: &csv::StringRecord,
    region: Option<Region>,
) -> Result<Patch, String> {
    let mut body = Map::new();
    let mut custom = Map::new();
    for (col, cell) in cols.iter().zip(record.iter()) {
        let cell = cell.trim();
        if cell.is_empty() {
            continue;
        }
        match col {
            Column::Field(f) => {
                body.insert((*f).to_owned(), Value::String(cell.to_owned()));
            }
            Column::Custom(name) => {
                custom.insert(name.clone(), Value::String(cell.to_owned()));
            }
            Column::ExportOnly => {}
        }
    }
    if !custom.is_empty() {
        body.insert("custom".into(), Value::Object(custom));
    }
    if !body.contains_key("email") && !body.contains_key("phone") {
        return Err("has neither an email nor a phone; a row is matched by them".into());
    }
    Patch::parse_in(&body, region).map_err(|e| e.to_string())
}

/// Imports CSV from `input` into `site` as `who`. `progress` hears the bytes read so far.
/// Blocks: it waits on the writer thread, so run it off the async executor.
pub fn run(
    store: &Store,
    who: &AdminIdentity,
    site: &str,
    region: Option<Region>,
    input: impl Read,
    at: impl Fn() -> i64,
    mut progress: impl FnMut(u64),
) -> Result<ImportReport, ApiError> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(input);
    let mut records = reader.records();
    let head = match records.next() {
        Some(Ok(h)) => h,
        Some(Err(e)) => return Err(bad_header(format!("the header row is unreadable: {e}"))),
        None => {
            return Err(bad_header(
                "the file is empty; send a header row and rows".into(),
            ))
        }
    };
    let cols = header(&head)?;
    let mut report = ImportReport::default();
    let mut batch: Vec<ImportRow> = Vec::with_capacity(BATCH_ROWS);
    let mut pending: VecDeque<(Vec<u64>, tokio::sync::oneshot::Receiver<AdminResult>)> =
        VecDeque::new();
    let mut row = 1u64;
    let submit = |rows: Vec<ImportRow>| -> Result<_, ApiError> {
        let numbers = rows.iter().map(|r| r.row).collect();
        let op = AdminOp {
            kind: AdminKind::Import {
                site: site.to_owned(),
                rows,
            },
            who: who.name.clone(),
            clearance: who.role.clearance(),
            at: at(),
        };
        loop {
            match store.admin(op.clone()) {
                Ok(rx) => return Ok((numbers, rx)),
                // A full queue is busy ingest: an import can wait its turn.
                Err(SubmitError::Full) => {
                    std::thread::sleep(std::time::Duration::from_millis(20));
                }
                Err(SubmitError::Closed) => {
                    return Err(ApiError::Unavailable {
                        reason: "the store is shutting down".into(),
                        retry_after: 5,
                    })
                }
            }
        }
    };
    loop {
        let next = records.next();
        if let Some(r) = next.as_ref() {
            row += 1;
            report.rows += 1;
            let parsed = match r {
                Ok(rec) if rec.len() != cols.len() => Err(format!(
                    "has {} cells; the header has {}",
                    rec.len(),
                    cols.len()
                )),
                Ok(rec) => row_patch(&cols, rec, region),
                Err(e) => Err(format!("is not valid CSV: {e}")),
            };
            match parsed {
                Ok(patch) => batch.push(ImportRow { row, patch }),
                Err(reason) => report.reject(row, reason),
            }
        }
        let done_reading = next.is_none();
        if batch.len() == BATCH_ROWS || (done_reading && !batch.is_empty()) {
            pending.push_back(submit(std::mem::take(&mut batch))?);
            progress(records.reader().position().byte());
        }
        while pending.len() >= IN_FLIGHT || (done_reading && !pending.is_empty()) {
            let Some((numbers, rx)) = pending.pop_front() else {
                break;
            };
            tally(&mut report, &numbers, rx.blocking_recv())?;
        }
        if done_reading {
            break;
        }
    }
    progress(records.reader().position().byte());
    // Rejections come from two places (reading and the writer); the report lists them in
    // file order.
    report.rejections.sort_by_key(|r| r.row);
    Ok(report)
}

fn tally(
    report: &mut ImportReport,
    rows: &[u64],
    answer: Result<AdminResult, tokio::sync::oneshot::error::RecvError>,
) -> Result<(), ApiError> {
    let outcomes = match answer {
        Ok(Ok(Ok(Done::Imported(o)))) => o,
        Ok(Err(e)) => {
            return Err(ApiError::Unavailable {
                reason: e.to_string(),
                retry_after: 5,
            })
        }
        _ => return Err(ApiError::Internal),
    };
    for (&row, o) in rows.iter().zip(outcomes) {
        match o {
            RowOutcome::Created(_) => report.created += 1,
            RowOutcome::Updated(_) => report.updated += 1,
            RowOutcome::Rejected(why) => report.reject(row, why),
        }
    }
    Ok(())
}

/// `footprint-edge import FILE.csv`: the same import, into the store opened here, with a
/// progress bar over the file's bytes. Returns the report as pretty JSON.
pub fn cli(
    config: &crate::config::Config,
    file: &std::path::Path,
    site_asked: Option<String>,
    who: String,
) -> Result<String, String> {
    let sites: Vec<String> = config
        .sites
        .iter()
        .map(|s| s.key.as_str().to_owned())
        .collect();
    let site = site(site_asked, &sites).map_err(|e| e.to_string())?;
    let f = std::fs::File::open(file).map_err(|e| format!("{}: {e}", file.display()))?;
    let len = f.metadata().map(|m| m.len()).unwrap_or(0);
    let store = Store::open(&config.data_dir, &config.store).map_err(|e| {
        format!(
            "cannot open the store in {}: {e}; is a server running on it? stop it first",
            config.data_dir.display()
        )
    })?;
    let bar = indicatif::ProgressBar::new(len);
    bar.set_style(
        indicatif::ProgressStyle::with_template(
            "{spinner} [{elapsed_precise}] {wide_bar} {bytes}/{total_bytes} ({eta})",
        )
        .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    let who = AdminIdentity {
        name: who,
        role: crate::auth::Role::Admin,
    };
    let clock = || crate::ingest::Clock::now(&crate::ingest::SystemClock).as_millis();
    let result = run(
        &store,
        &who,
        &site,
        config.identity.default_region,
        std::io::BufReader::new(f),
        clock,
        |n| bar.set_position(n),
    );
    bar.finish_and_clear();
    store.shutdown();
    let report = result.map_err(|e| e.to_string())?;
    serde_json::to_string_pretty(&report).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_export_header_is_an_import_header() {
        assert_eq!(crate::admin::EXPORT_COLUMNS[..COLUMNS.len()], COLUMNS);
        let export = csv::StringRecord::from(crate::admin::EXPORT_COLUMNS.to_vec());
        let cols = header(&export).unwrap();
        assert_eq!(
            cols.iter()
                .filter(|c| matches!(c, Column::ExportOnly))
                .count(),
            7
        );
    }
}
