//! Data-protection requests: erasure (`DELETE /v1/contacts/{id}`), bulk actions over a list of
//! contacts, and the personal-data extract (`GET /v1/contacts/{id}/extract`).
//!
//! The store does the erasing (`store/graph/erase.rs`); this module shapes the requests and
//! answers, and writes the extract's zip as a stream.

use std::io::Write;

use serde::Serialize;
use serde_json::Value;

use crate::admin::{sheet_and_contact, ContactSettings};
use crate::auth::{AdminIdentity, Role};
use crate::contacts::sheet::Sheet;
use crate::contacts::{Contact, ContactId};
use crate::error::ApiError;
use crate::segments::{contact_list, segment_id, Report};
use crate::store::{AdminKind, Done, Erasure, Store, StoreError};
use footprint_protocol::Timestamp;

/// The answer to an erasure.
#[derive(Debug, Serialize)]
pub struct Erased {
    pub id: String,
    pub removed: Erasure,
    /// When the removed values leave the disk: the next compaction, due by then.
    pub compaction_due_by: Timestamp,
}

impl Erased {
    pub fn of(id: ContactId, removed: Erasure, at: i64, compact_after_ms: i64) -> Erased {
        Erased {
            id: id.to_string(),
            removed,
            // Out of range only for a clock beyond year 9999.
            compaction_due_by: Timestamp::from_millis(at.saturating_add(compact_after_ms))
                .unwrap_or(Timestamp::EPOCH),
        }
    }
}

/// The one contact of a single erasure, or its refusal.
pub fn single(done: Done) -> Result<(ContactId, Erasure), ApiError> {
    let Done::Erased(mut each) = done else {
        return Err(ApiError::Internal);
    };
    match each.pop() {
        Some((id, Ok(n))) => Ok((id, n)),
        Some((_, Err(r))) => Err(r.into()),
        None => Err(ApiError::Internal),
    }
}

/// A bulk action, checked: what to do, to whom, and the role it needs.
#[derive(Debug)]
pub struct Bulk {
    kind: AdminKind,
    pub needs: Role,
}

impl Bulk {
    /// The store's command for it (the application layer runs it).
    pub(crate) fn into_kind(self) -> AdminKind {
        self.kind
    }
}

/// `POST /v1/contacts/bulk`: what to do, to whom, and the role it needs.
pub fn parse_bulk(body: &[u8]) -> Result<Bulk, ApiError> {
    let v: Value = serde_json::from_slice(body).map_err(|e| {
        ApiError::bad_request(
            "invalid_json",
            format!(
                "send {{\"ids\": [...], \"action\": \"add_to_segment\" | \"remove_from_segment\" \
                 | \"suspend\" | \"delete\", \"segment\": ID}}: {e}"
            ),
        )
    })?;
    let Value::Object(map) = &v else {
        return Err(ApiError::bad_request(
            "invalid_json",
            "the body must be a JSON object",
        ));
    };
    bulk_from(map)
}

/// [`parse_bulk`] of a body already parsed.
fn bulk_from(map: &serde_json::Map<String, Value>) -> Result<Bulk, ApiError> {
    if let Some(k) = map
        .keys()
        .find(|k| !["ids", "action", "segment", "tag"].contains(&k.as_str()))
    {
        return Err(ApiError::Unprocessable {
            field: k.clone(),
            message: "is not a bulk field; send ids, action and, for a segment action, \
                      segment, for a tag action, tag"
                .into(),
        });
    }
    let ids = contact_list(map.get("ids"), "ids")?;
    let action = map.get("action").and_then(Value::as_str).unwrap_or("");
    let segment = match map.get("segment") {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Number(n)) => n.to_string(),
        _ => String::new(),
    };
    let tag = map.get("tag").and_then(Value::as_str).unwrap_or("");
    Bulk::new(action, ids, &segment, tag)
}

impl Bulk {
    /// `action` on `ids`; `segment` is the static segment's id, for a segment action, and
    /// `tag` the tag, for a tag action. The API's JSON and the console's form both come here.
    pub fn new(
        action: &str,
        ids: Vec<ContactId>,
        segment: &str,
        tag: &str,
    ) -> Result<Bulk, ApiError> {
        let segment = || -> Result<u64, ApiError> {
            segment_id(segment).map_err(|_| ApiError::Unprocessable {
                field: "segment".into(),
                message: format!("{action} needs the id of a static segment"),
            })
        };
        let (kind, needs) = match action {
            "add_to_segment" | "remove_from_segment" => (
                AdminKind::Members {
                    segment: segment()?,
                    contacts: ids,
                    add: action == "add_to_segment",
                },
                Role::Editor,
            ),
            "add_tag" | "remove_tag" => (
                AdminKind::Tag {
                    tag: crate::contacts::patch::tag("tag", tag).map_err(|e| {
                        ApiError::Unprocessable {
                            field: "tag".into(),
                            message: format!("{action} needs a tag: {}", e.message),
                        }
                    })?,
                    contacts: ids,
                    add: action == "add_tag",
                },
                Role::Editor,
            ),
            "suspend" => (AdminKind::Suspend(ids), Role::Editor),
            "delete" => (AdminKind::Erase(ids), Role::Admin),
            _ => {
                return Err(ApiError::Unprocessable {
                    field: "action".into(),
                    message: "must be one of add_to_segment, remove_from_segment, add_tag, \
                              remove_tag, suspend, delete"
                        .into(),
                })
            }
        };
        Ok(Bulk { kind, needs })
    }
}

/// A bulk action's per-contact report.
pub fn bulk_report(done: Done) -> Result<Report, ApiError> {
    match done {
        Done::Each(each) => Ok(Report::of(each)),
        Done::Erased(each) => Ok(Report::of(
            each.into_iter()
                .map(|(id, r)| (id, r.map(|_| id)))
                .collect(),
        )),
        _ => Err(ApiError::Internal),
    }
}

const EXTRACT_README: &str = "\
Personal data extract

This archive holds everything this Footprint edge stores about one contact.

profile.json     The contact sheet: identity (email, phone, names, birth date), custom
                 fields, channel statuses, consent, confidentiality, e-commerce totals,
                 cart, products of interest, RFM scores and predicted value, trackers
                 and devices, the segments the contact is in, its tags and reference,
                 and the notes the shop's staff wrote about it.
activity.ndjson  Every event of every tracker (device) that belongs to the contact, one JSON
                 object per line, newest first. `client_timestamp` is the time the browser
                 said; `timestamp` is that time corrected for the browser's clock skew;
                 `sent_at` and `received_at` say when the batch left the browser and reached
                 the edge. `context` and `properties` are as the tracker sent them.
history.json     Every recorded change to the contact, oldest first: when, who (an admin's
                 token name, or tracker:<id> for a change a shopper's browser made), the
                 field, and its old and new values. Merges are included.
segments.json    The segments the contact is in: static ones an admin added it to, and
                 dynamic ones whose rule it matches now.
";

/// Events read per page while writing the extract; memory holds about one page.
const EXTRACT_PAGE: usize = 1000;

/// What an extract starts from: read before the response starts, so that a missing or hidden
/// contact is a 404 rather than a broken download.
pub struct Extract {
    pub sheet: Sheet,
    contact: Contact,
    now: Timestamp,
}

impl Extract {
    pub fn prepare(
        store: &Store,
        id: ContactId,
        who: &AdminIdentity,
        settings: ContactSettings,
        now: Timestamp,
    ) -> Result<Extract, ApiError> {
        let (sheet, contact) = sheet_and_contact(store, id, who, settings, now)?;
        Ok(Extract {
            sheet,
            contact,
            now,
        })
    }
}

/// Writes an extract as a zip to `out`, a page of events at a time.
pub fn write_extract(store: &Store, extract: Extract, out: impl Write) -> Result<(), ApiError> {
    let Extract {
        sheet,
        contact,
        now,
    } = extract;
    let mut zip = zip::ZipWriter::new_stream(out);
    let opts = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated)
        .last_modified_time(zip_time(now));
    let zerr = |e: zip::result::ZipError| write_error(std::io::Error::other(e.to_string()));

    zip.start_file("README.txt", opts).map_err(zerr)?;
    zip.write_all(EXTRACT_README.as_bytes())
        .map_err(write_error)?;

    // Every document is serialised into memory first and written in one piece: serde_json
    // writes a token at a time, and each write into the deflater cost a 32 KiB memset
    // (flate2 readies its whole output buffer per call), two thirds of an extract's time.
    zip.start_file("profile.json", opts).map_err(zerr)?;
    zip.write_all(&serde_json::to_vec_pretty(&sheet).map_err(json_error)?)
        .map_err(write_error)?;

    // An activity of a million events is far past 4 GiB's reach only in theory; zip64 costs a
    // few bytes and lifts the limit.
    zip.start_file("activity.ndjson", opts.large_file(true))
        .map_err(zerr)?;
    let mut before = None;
    let mut lines = Vec::new();
    loop {
        let (events, next) = store
            .activity(&contact, u32::MAX, before, EXTRACT_PAGE)
            .map_err(internal)?;
        lines.clear();
        for e in events {
            serde_json::to_writer(&mut lines, &crate::admin::to_record(e)?).map_err(json_error)?;
            lines.push(b'\n');
        }
        zip.write_all(&lines).map_err(write_error)?;
        match next {
            Some(p) => before = Some(p),
            None => break,
        }
    }

    zip.start_file("history.json", opts).map_err(zerr)?;
    let history = crate::admin::full_history(store, &contact)?;
    zip.write_all(&serde_json::to_vec_pretty(&history).map_err(json_error)?)
        .map_err(write_error)?;

    zip.start_file("segments.json", opts).map_err(zerr)?;
    zip.write_all(&serde_json::to_vec_pretty(&sheet.segments).map_err(json_error)?)
        .map_err(write_error)?;

    zip.finish().map_err(zerr)?;
    Ok(())
}

fn zip_time(now: Timestamp) -> zip::DateTime {
    let t = time::OffsetDateTime::from_unix_timestamp(now.as_millis() / 1000)
        .unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
    zip::DateTime::from_date_and_time(
        u16::try_from(t.year()).unwrap_or(1980),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second(),
    )
    .unwrap_or_default()
}

fn internal(e: StoreError) -> ApiError {
    tracing::error!(error = %e, "reading for an extract failed");
    ApiError::Internal
}

/// The client went away, or the stream broke: nothing to answer any more.
fn write_error(e: std::io::Error) -> ApiError {
    tracing::info!(error = %e, "extract stream ended early");
    ApiError::Internal
}

fn json_error(e: serde_json::Error) -> ApiError {
    write_error(std::io::Error::other(e))
}

/// A `Write` that hands its bytes to an HTTP response body in pieces of about 64 KiB, waiting
/// while the client is slower than the reader. Fails once the client has gone.
pub struct BodyWriter {
    tx: tokio::sync::mpsc::Sender<Result<bytes::Bytes, ApiError>>,
    buf: Vec<u8>,
}

const BODY_PIECE: usize = 64 * 1024;

impl BodyWriter {
    pub fn new(tx: tokio::sync::mpsc::Sender<Result<bytes::Bytes, ApiError>>) -> BodyWriter {
        BodyWriter {
            tx,
            buf: Vec::with_capacity(BODY_PIECE),
        }
    }

    fn send(&mut self) -> std::io::Result<()> {
        if self.buf.is_empty() {
            return Ok(());
        }
        let piece = std::mem::replace(&mut self.buf, Vec::with_capacity(BODY_PIECE));
        self.tx
            .blocking_send(Ok(bytes::Bytes::from(piece)))
            .map_err(|_| std::io::Error::new(std::io::ErrorKind::BrokenPipe, "client gone"))
    }
}

impl Write for BodyWriter {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        self.buf.extend_from_slice(data);
        if self.buf.len() >= BODY_PIECE {
            self.send()?;
        }
        Ok(data.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.send()
    }
}

impl Drop for BodyWriter {
    fn drop(&mut self) {
        let _ = self.send();
    }
}
