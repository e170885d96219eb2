//! Answers streamed while they are read: the CSV export and a contact's extract (a zip).
//! The API and the console both answer with these.

use actix_web::http::header;
use actix_web::{web, HttpResponse};

use crate::admin::ListQuery;
use crate::app::blocking;
use crate::auth::{AdminIdentity, Role};
use crate::error::ApiError;
use crate::http::state::AppState;

/// The export as `who` asks for it; the API and the console both answer with this.
pub(crate) async fn export_csv(
    state: web::Data<AppState>,
    who: AdminIdentity,
    q: ListQuery,
) -> Result<HttpResponse, ApiError> {
    who.require(Role::Admin)?;
    let state = state.into_inner();
    let now = state.now();
    let (tx, rx) = tokio::sync::mpsc::channel::<Result<web::Bytes, ApiError>>(4);
    let worker = tx.clone();
    // A bad filter must be a 400, not a broken download: the first page is read before the
    // response starts.
    let (first_tx, first_rx) = tokio::sync::oneshot::channel::<Result<(), ApiError>>();
    actix_web::rt::task::spawn_blocking(move || {
        let mut first = Some(first_tx);
        let r =
            crate::admin::export_contacts(&state.store, &q, &who, state.contacts, now, |page| {
                if let Some(f) = first.take() {
                    let _ = f.send(Ok(()));
                }
                worker.blocking_send(Ok(web::Bytes::from(page))).is_ok()
            });
        match (r, first.take()) {
            (Err(e), Some(f)) => {
                let _ = f.send(Err(e));
            }
            (Err(e), None) => {
                // Mid-stream: the client sees the body end early.
                let _ = worker.blocking_send(Err(e));
            }
            (Ok(()), _) => {}
        }
    });
    drop(tx);
    first_rx.await.map_err(|_| ApiError::Internal)??;
    let body = channel_body(rx);
    Ok(HttpResponse::Ok()
        .content_type("text/csv; charset=utf-8")
        .insert_header((
            header::CONTENT_DISPOSITION,
            "attachment; filename=\"contacts.csv\"",
        ))
        .streaming(body))
}

/// The extract as `who` asks for it; the API and the console both answer with this.
pub(crate) async fn extract_zip(
    state: web::Data<AppState>,
    who: AdminIdentity,
    id: crate::contacts::ContactId,
) -> Result<HttpResponse, ApiError> {
    who.require(Role::Admin)?;
    let state = state.into_inner();
    let now = state.now();
    let extract = {
        let state = state.clone();
        blocking(move || crate::gdpr::Extract::prepare(&state.store, id, &who, state.contacts, now))
            .await?
    };
    let (tx, rx) = tokio::sync::mpsc::channel::<Result<web::Bytes, ApiError>>(4);
    actix_web::rt::task::spawn_blocking(move || {
        let out = crate::gdpr::BodyWriter::new(tx.clone());
        if let Err(e) = crate::gdpr::write_extract(&state.store, extract, out) {
            // Mid-stream: the client sees the body end early, and the zip is unreadable.
            let _ = tx.blocking_send(Err(e));
        }
    });
    let body = channel_body(rx);
    Ok(HttpResponse::Ok()
        .content_type("application/zip")
        .insert_header((
            header::CONTENT_DISPOSITION,
            format!("attachment; filename=\"contact-{id}-personal-data.zip\""),
        ))
        .streaming(body))
}
/// A response body fed by a blocking writer over a channel; it ends when the writer drops its
/// sender, and an `Err` piece cuts it short.
pub(crate) fn channel_body(
    rx: tokio::sync::mpsc::Receiver<Result<web::Bytes, ApiError>>,
) -> impl futures_util::Stream<Item = Result<web::Bytes, ApiError>> {
    futures_util::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|item| (item, rx))
    })
}
