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
//!
//! Files as real tools save them are read as they are, decided once, before any row is
//! applied (so an encoding never applies half a file):
//! - the encoding: a byte-order mark names it (UTF-8, UTF-16); else UTF-8 when the whole file
//!   is UTF-8; else Windows-1252, which Excel writes for "CSV" in Western European locales.
//! - the separator: `,`, `;` (Excel in EU locales) or tab, whichever the header uses most.
//! - empty trailing columns (`email,phone,,,`) and empty extra cells are ignored; unknown
//!   columns are all named at once, and skipped when asked (`?ignore_unknown=true`).
//! - the export's formula guard (a `'` before `= + - @`) is taken off, so an export imports
//!   back as it was.

use std::borrow::Cow;
use std::collections::{HashSet, VecDeque};

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
pub const COLUMNS: [&str; 8] = [
    "email",
    "phone",
    "first_name",
    "last_name",
    "birth_date",
    "newsletter",
    // Comma-separated; a non-empty cell replaces the contact's tags.
    "tags",
    "reference",
];

/// Rows per writer operation: big enough to share a group commit's flush, small enough that
/// ingest waits only briefly behind one.
pub const BATCH_ROWS: usize = 1000;
/// Batches waiting for the writer at once.
const IN_FLIGHT: usize = 4;
/// Rejected rows listed one by one; the count covers them all.
pub const MAX_LISTED: usize = 1000;

/// What the caller lets an import skip.
#[derive(Debug, Clone, Copy, Default)]
pub struct Options {
    /// Skip columns that are not importable instead of refusing the file.
    pub ignore_unknown: bool,
}

/// What an import did.
#[derive(Debug, Default, Serialize)]
pub struct ImportReport {
    /// How the file was read: `UTF-8`, `UTF-16LE`, `UTF-16BE` or `windows-1252`.
    pub encoding: &'static str,
    /// The separator found in the header: `,`, `;` or a tab.
    pub separator: String,
    /// Columns skipped as not importable (with `ignore_unknown`), by header name.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub ignored_columns: Vec<String>,
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
    /// Not importable, skipped at the caller's word.
    Ignored,
}

/// The file as text, decided once for the whole file: see the module's docs.
fn decode(bytes: &[u8]) -> Result<(Cow<'_, str>, &'static encoding_rs::Encoding), ApiError> {
    use encoding_rs::{Encoding, UTF_8, WINDOWS_1252};
    if let Some((enc, bom)) = Encoding::for_bom(bytes) {
        let (text, had_errors) = enc.decode_without_bom_handling(&bytes[bom..]);
        if had_errors {
            return Err(bad_header(format!(
                "the file starts with a {} byte-order mark but is not {} throughout; save it \
                 again as \"CSV UTF-8\"",
                enc.name(),
                enc.name()
            )));
        }
        return Ok((text, enc));
    }
    match std::str::from_utf8(bytes) {
        Ok(text) => Ok((Cow::Borrowed(text), UTF_8)),
        // Windows-1252 gives every byte a character: nothing is refused, and a file saved
        // in another legacy encoding shows it in the report's `encoding` and its names.
        Err(_) => Ok((
            WINDOWS_1252.decode_without_bom_handling(bytes).0,
            WINDOWS_1252,
        )),
    }
}

/// The separator the header line uses most, outside quotes: `,` when it uses none.
fn separator(text: &str) -> u8 {
    let line = text.split('\n').next().unwrap_or("");
    let (mut quoted, mut counts) = (false, [0usize; 3]);
    for c in line.chars() {
        match c {
            '"' => quoted = !quoted,
            ',' if !quoted => counts[0] += 1,
            ';' if !quoted => counts[1] += 1,
            '\t' if !quoted => counts[2] += 1,
            _ => {}
        }
    }
    let best = (0..3)
        .max_by_key(|&i| (counts[i], std::cmp::Reverse(i)))
        .unwrap_or(0);
    if counts[best] == 0 {
        b','
    } else {
        [b',', b';', b'\t'][best]
    }
}

fn header(
    record: &csv::StringRecord,
    options: Options,
) -> Result<(Vec<Column>, Vec<String>), ApiError> {
    let mut seen = HashSet::new();
    let mut cols = Vec::with_capacity(record.len());
    let mut unknown = Vec::new();
    // Spreadsheets pad the header with empty columns; those at the end are no columns.
    let names: Vec<&str> = record
        .iter()
        .map(|raw| raw.trim().trim_start_matches('\u{feff}').trim())
        .collect();
    let width = names
        .iter()
        .rposition(|n| !n.is_empty())
        .map_or(0, |i| i + 1);
    for (i, &name) in names[..width].iter().enumerate() {
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
                    unknown.push(format!("{} `{name}`", i + 1));
                    cols.push(Column::Ignored);
                    continue;
                }
            }
        };
        let key = match &col {
            Column::Field(f) => (*f).to_owned(),
            Column::Custom(c) => format!("custom.{c}"),
            Column::ExportOnly | Column::Ignored => name.to_ascii_lowercase(),
        };
        if !seen.insert(key.clone()) {
            return Err(bad_header(format!("column `{key}` appears twice")));
        }
        cols.push(col);
    }
    if !unknown.is_empty() && !options.ignore_unknown {
        let (these, are) = if unknown.len() == 1 {
            ("column", "is")
        } else {
            ("columns", "are")
        };
        return Err(bad_header(format!(
            "{these} {} {are} not importable; use {} or custom.NAME, or add \
             ?ignore_unknown=true (--ignore-unknown on the command line) to skip {}",
            unknown.join(", "),
            COLUMNS.join(", "),
            if unknown.len() == 1 { "it" } else { "them" }
        )));
    }
    if !seen.contains("email") && !seen.contains("phone") && !seen.contains("reference") {
        let hint = if cols.len() == 1 && names[0].contains(['|', ':']) {
            "; the file's separator may be one the edge does not read (it reads , ; and tab)"
        } else {
            ""
        };
        return Err(bad_header(format!(
            "the header needs an email, phone or reference column: rows are matched by \
             them{hint}"
        )));
    }
    Ok((cols, unknown))
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
        let cell = unguard(cell.trim());
        if cell.is_empty() {
            continue;
        }
        match col {
            Column::Field("tags") => {
                let tags = cell
                    .split(',')
                    .map(str::trim)
                    .filter(|t| !t.is_empty())
                    .map(|t| Value::String(t.to_owned()))
                    .collect();
                body.insert("tags".into(), Value::Array(tags));
            }
            Column::Field(f) => {
                body.insert((*f).to_owned(), Value::String(cell.to_owned()));
            }
            Column::Custom(name) => {
                custom.insert(name.clone(), Value::String(cell.to_owned()));
            }
            Column::ExportOnly | Column::Ignored => {}
        }
    }
    if !custom.is_empty() {
        body.insert("custom".into(), Value::Object(custom));
    }
    if !["email", "phone", "reference"]
        .iter()
        .any(|k| body.contains_key(*k))
    {
        return Err("has no email, phone or reference; a row is matched by them".into());
    }
    Patch::parse_in(&body, region).map_err(|e| e.to_string())
}

/// A cell without the export's formula guard: the export writes `'` before a value that
/// starts with `= + - @`, tab or CR (`admin::formula_safe`), and that `'` is not the value's.
fn unguard(cell: &str) -> &str {
    match cell.strip_prefix('\'') {
        Some(rest) if rest.starts_with(['=', '+', '-', '@', '\t', '\r']) => rest,
        _ => cell,
    }
}

/// Imports the CSV file `input` into `site` as `who`. `progress` hears the bytes read so
/// far. Blocks: it waits on the writer thread, so run it off the async executor.
#[allow(clippy::too_many_arguments)]
pub fn run(
    writes: &crate::writes::Writes,
    who: &AdminIdentity,
    site: &str,
    region: Option<Region>,
    input: &[u8],
    options: Options,
    at: impl Fn() -> i64,
    mut progress: impl FnMut(u64),
) -> Result<ImportReport, ApiError> {
    let (text, encoding) = decode(input)?;
    let delimiter = separator(&text);
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .delimiter(delimiter)
        .from_reader(text.as_bytes());
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
    let (cols, ignored_columns) = header(&head, options)?;
    let mut report = ImportReport {
        encoding: encoding.name(),
        separator: char::from(delimiter).to_string(),
        ignored_columns,
        ..ImportReport::default()
    };
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
                create_only: false,
            },
            who: who.name.clone(),
            clearance: who.role.clearance(),
            at: at(),
        };
        loop {
            match writes.admin(op.clone()) {
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
            // Cells past the header's columns are fine when empty: spreadsheets pad rows.
            let padded =
                |rec: &csv::StringRecord| rec.iter().skip(cols.len()).any(|c| !c.trim().is_empty());
            let parsed = match r {
                Ok(rec) if rec.len() < cols.len() || padded(rec) => Err(format!(
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
        match &o {
            RowOutcome::Created(_) => report.created += 1,
            RowOutcome::Updated(_) => report.updated += 1,
            RowOutcome::Rejected(_) | RowOutcome::Taken { .. } => {
                report.reject(row, o.refusal().unwrap_or_default())
            }
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
    options: Options,
) -> Result<String, String> {
    let sites: Vec<String> = config
        .sites
        .iter()
        .map(|s| s.key.as_str().to_owned())
        .collect();
    let site = site(site_asked, &sites).map_err(|e| e.to_string())?;
    // Read whole: the encoding is decided for the whole file before any row is applied.
    let bytes = std::fs::read(file).map_err(|e| format!("{}: {e}", file.display()))?;
    let len = u64::try_from(bytes.len()).unwrap_or(u64::MAX);
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
        &crate::writes::Writes::Store(store.clone()),
        &who,
        &site,
        config.identity.default_region,
        &bytes,
        options,
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
        let (cols, _) = header(&export, Options::default()).unwrap();
        assert_eq!(
            cols.iter()
                .filter(|c| matches!(c, Column::ExportOnly))
                .count(),
            7
        );
    }

    #[test]
    fn the_separator_is_the_one_the_header_uses() {
        assert_eq!(separator("email,phone\na;b,c"), b',');
        assert_eq!(separator("email;phone;first_name\n"), b';');
        assert_eq!(separator("email\tphone\n"), b'\t');
        assert_eq!(
            separator("\"a;b\",email\n"),
            b',',
            "quoted separators do not count"
        );
        assert_eq!(separator("email\n"), b',');
    }

    #[test]
    fn the_exports_formula_guard_comes_off_and_nothing_else() {
        assert_eq!(unguard("'+34600111222"), "+34600111222");
        assert_eq!(unguard("'-x"), "-x");
        assert_eq!(unguard("'=1+1"), "=1+1");
        assert_eq!(unguard("'Ali"), "'Ali");
        assert_eq!(unguard("O'Brien"), "O'Brien");
    }

    #[test]
    fn a_file_is_utf_8_or_windows_1252_as_a_whole() {
        let (t, e) = decode("email\nzoë@example.com\n".as_bytes()).unwrap();
        assert_eq!(
            (t.as_ref(), e.name()),
            ("email\nzoë@example.com\n", "UTF-8")
        );
        let (t, e) = decode(b"email\nzo\xeb@example.com\n").unwrap();
        assert_eq!(
            (t.as_ref(), e.name()),
            ("email\nzoë@example.com\n", "windows-1252")
        );
        let (t, e) = decode(b"\xef\xbb\xbfemail\n").unwrap();
        assert_eq!((t.as_ref(), e.name()), ("email\n", "UTF-8"));
        assert!(decode(b"\xef\xbb\xbfemail\nzo\xeb\n").is_err());
        let utf16: Vec<u8> = [0xFF, 0xFE]
            .into_iter()
            .chain("email\n".encode_utf16().flat_map(u16::to_le_bytes))
            .collect();
        let (t, e) = decode(&utf16).unwrap();
        assert_eq!((t.as_ref(), e.name()), ("email\n", "UTF-16LE"));
    }
}
