//! Admin requests in cluster mode. An edge holds no contacts, so it forwards each admin
//! request (API and console alike) whole over NATS to the projectors' queue group; one of
//! them runs it through the very app single-node mode serves, against its own view, and
//! streams the answer back. Auth, roles, confidentiality, errors and pages are therefore the
//! same code in both modes, and the console works against any edge unchanged.
//!
//! Before it answers, a projector waits until its view holds the last admin command the log
//! has (one request to the stream's leader): a change made through any edge is seen by the
//! next request through any other (read-your-writes across edges).
//!
//! On the wire, a request is one message: a length-prefixed postcard [`RequestHead`], then
//! the body. The answer is one or more messages to the request's inbox, each a [`Part`] and a
//! chunk of the body, numbered so that a lost one is noticed rather than passed on.

use std::net::SocketAddr;
use std::rc::Rc;
use std::time::Duration;

use actix_web::body::MessageBody;
use actix_web::dev::{Service, ServiceResponse};
use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::http::{Method, StatusCode};
use actix_web::{HttpRequest, HttpResponse, ResponseError};
use bytes::{Bytes, BytesMut};
use futures_util::StreamExt;
use serde::{de::DeserializeOwned, Deserialize, Serialize};

use super::projector::Progress;
use super::Log;
use crate::error::ApiError;

/// The queue group every projector's responder joins: each request goes to one of them.
pub const QUEUE: &str = "projectors";

/// The largest chunk of an answer in one message, well under NATS's default 1 MiB payload.
const CHUNK: usize = 256 * 1024;

/// Where admin requests are sent: beside the stream's subjects, not in them.
pub fn subject(stream: &str) -> String {
    format!("{stream}.rpc")
}

#[derive(Serialize, Deserialize)]
struct RequestHead {
    method: String,
    /// Path and query.
    uri: String,
    /// The client the edge saw: the projector's rate limits and sign-in throttle key on it.
    peer: Option<SocketAddr>,
    headers: Vec<(String, Vec<u8>)>,
}

#[derive(Serialize, Deserialize)]
struct Part {
    seq: u32,
    /// On the first part only.
    head: Option<ResponseHead>,
    last: bool,
}

#[derive(Serialize, Deserialize)]
struct ResponseHead {
    status: u16,
    headers: Vec<(String, Vec<u8>)>,
}

fn frame<T: Serialize>(head: &T, body: &[u8]) -> Bytes {
    let head = postcard::to_stdvec(head).unwrap_or_default();
    let mut out = BytesMut::with_capacity(4 + head.len() + body.len());
    out.extend_from_slice(&(head.len() as u32).to_be_bytes());
    out.extend_from_slice(&head);
    out.extend_from_slice(body);
    out.freeze()
}

fn unframe<T: DeserializeOwned>(mut b: Bytes) -> Option<(T, Bytes)> {
    let len = u32::from_be_bytes(b.get(..4)?.try_into().ok()?) as usize;
    let head = postcard::from_bytes(b.get(4..4 + len)?).ok()?;
    Some((head, b.split_off(4 + len)))
}

/// Headers that describe one hop, not the message: each side sets its own.
fn hop_by_hop(name: &str) -> bool {
    matches!(
        name,
        "connection" | "keep-alive" | "transfer-encoding" | "content-length" | "upgrade"
    )
}

fn unavailable(reason: impl Into<String>) -> HttpResponse {
    ApiError::Unavailable {
        reason: reason.into(),
        retry_after: 1,
    }
    .error_response()
}

/// An edge's side: sends admin requests to the projectors.
pub struct Forwarder {
    client: async_nats::Client,
    subject: String,
    timeout: Duration,
}

impl Forwarder {
    pub fn new(log: &Log, timeout: Duration) -> Forwarder {
        Forwarder {
            client: log.client().clone(),
            subject: subject(&log.config().stream),
            timeout,
        }
    }

    /// The largest request body one message carries, as the NATS servers allow.
    pub fn max_body(&self) -> usize {
        self.client
            .server_info()
            .max_payload
            .saturating_sub(16 * 1024)
    }

    /// Forwards `req` with its `body` and answers with what a projector answered.
    pub async fn forward(&self, req: &HttpRequest, body: Bytes) -> HttpResponse {
        let head = RequestHead {
            method: req.method().as_str().to_owned(),
            uri: req
                .uri()
                .path_and_query()
                .map_or_else(|| req.path().to_owned(), |p| p.as_str().to_owned()),
            peer: req.peer_addr(),
            headers: req
                .headers()
                .iter()
                .filter(|(n, _)| !hop_by_hop(n.as_str()))
                .map(|(n, v)| (n.as_str().to_owned(), v.as_bytes().to_vec()))
                .collect(),
        };
        let message = frame(&head, &body);
        let inbox = self.client.new_inbox();
        let mut answers = match self.client.subscribe(inbox.clone()).await {
            Ok(s) => s,
            Err(e) => return unavailable(format!("NATS is out of reach: {e}")),
        };
        if let Err(e) = self
            .client
            .publish_with_reply(self.subject.clone(), inbox, message)
            .await
        {
            return unavailable(format!("NATS is out of reach: {e}"));
        }
        let secs = self.timeout.as_secs();
        let first = match tokio::time::timeout(self.timeout, answers.next()).await {
            Ok(Some(m)) => m,
            Ok(None) => return unavailable("the connection to NATS closed"),
            Err(_) => {
                return unavailable(format!("no projector answered within {secs} s"));
            }
        };
        if first.status == Some(async_nats::StatusCode::NO_RESPONDERS) {
            return unavailable(
                "no projector is serving admin requests: start one (cluster.role = \
                 \"projector\" or \"both\")",
            );
        }
        let Some((part, chunk)) = unframe::<Part>(first.payload) else {
            return unavailable("a projector's answer was unreadable");
        };
        let Some(head) = part.head.filter(|_| part.seq == 0) else {
            return unavailable("a projector's answer began out of order");
        };
        let mut resp = HttpResponse::build(
            StatusCode::from_u16(head.status).unwrap_or(StatusCode::BAD_GATEWAY),
        );
        for (name, value) in &head.headers {
            if let (Ok(n), Ok(v)) = (
                HeaderName::from_bytes(name.as_bytes()),
                HeaderValue::from_bytes(value),
            ) {
                resp.append_header((n, v));
            }
        }
        if part.last {
            return resp.body(chunk);
        }
        // The rest streams through as it comes: an export is not held whole in the edge.
        let timeout = self.timeout;
        let rest =
            futures_util::stream::unfold((Some(answers), 1u32), move |(answers, seq)| async move {
                let mut answers = answers?;
                let failed =
                    |why: &str| Some((Err(std::io::Error::other(why.to_owned())), (None, seq)));
                let message = match tokio::time::timeout(timeout, answers.next()).await {
                    Ok(Some(m)) => m,
                    _ => return failed("the projector stopped answering mid-way"),
                };
                match unframe::<Part>(message.payload) {
                    Some((part, chunk)) if part.seq == seq => {
                        let more = (!part.last).then_some(answers);
                        Some((Ok(chunk), (more, seq + 1)))
                    }
                    _ => failed("a part of the projector's answer was lost"),
                }
            });
        let first = futures_util::stream::once(async move { Ok::<_, std::io::Error>(chunk) });
        resp.streaming(first.chain(rest))
    }
}

/// Runs forwarded requests through `service` (the same app single-node mode serves), one
/// task each, until the subscription ends. Runs on the actix system's thread: the app is
/// not `Send`.
pub async fn serve<S, B>(
    mut requests: async_nats::Subscriber,
    log: Log,
    progress: Progress,
    wait: Duration,
    service: Rc<S>,
) where
    S: Service<actix_http::Request, Response = ServiceResponse<B>, Error = actix_web::Error>
        + 'static,
    B: MessageBody + 'static,
{
    while let Some(message) = requests.next().await {
        let Some(reply) = message.reply.clone() else {
            continue;
        };
        let (log, progress, service) = (log.clone(), progress.clone(), Rc::clone(&service));
        actix_web::rt::spawn(async move {
            let client = log.client().clone();
            let answer = answer(message.payload, &log, &progress, wait, &*service).await;
            send(&client, reply, answer).await;
        });
    }
}

async fn answer<S, B>(
    payload: Bytes,
    log: &Log,
    progress: &Progress,
    wait: Duration,
    service: &S,
) -> Result<ServiceResponse<B>, HttpResponse>
where
    S: Service<actix_http::Request, Response = ServiceResponse<B>, Error = actix_web::Error>,
    B: MessageBody,
{
    let (head, body) = unframe::<RequestHead>(payload)
        .ok_or_else(|| unavailable("an edge's request was unreadable; are all at one version?"))?;
    // Read-your-writes: this view holds every admin change the log acknowledged so far.
    let last = log
        .last_position(&log.admin_subject())
        .await
        .map_err(|e| unavailable(e.to_string()))?;
    if !progress.reached(last, wait).await {
        return Err(unavailable(format!(
            "this projector is behind the log (at {}, the last admin change at {last})",
            progress.applied()
        )));
    }
    let method = Method::from_bytes(head.method.as_bytes())
        .map_err(|_| unavailable("an edge sent an unknown method"))?;
    let mut req = actix_web::test::TestRequest::default()
        .method(method)
        .uri(&head.uri);
    if let Some(peer) = head.peer {
        req = req.peer_addr(peer);
    }
    for (name, value) in head.headers {
        if let (Ok(n), Ok(v)) = (
            HeaderName::from_bytes(name.as_bytes()),
            HeaderValue::from_bytes(&value),
        ) {
            req = req.append_header((n, v));
        }
    }
    // The in-process call actix's own test harness makes: the request never leaves memory.
    let req = req.set_payload(body).to_request();
    match service.call(req).await {
        Ok(res) => Ok(res),
        Err(e) => Err(e.error_response()),
    }
}

/// Streams an answer to `reply` in numbered parts.
async fn send<B: MessageBody + 'static>(
    client: &async_nats::Client,
    reply: async_nats::Subject,
    answer: Result<ServiceResponse<B>, HttpResponse>,
) {
    let (status, headers, body) = match answer {
        Ok(res) => {
            let (_, res) = res.into_parts();
            let (head, body) = res.into_parts();
            (head.status(), heads(head.headers()), body.boxed())
        }
        Err(res) => {
            let (head, body) = res.into_parts();
            (head.status(), heads(head.headers()), body.boxed())
        }
    };
    let mut head = Some(ResponseHead {
        status: status.as_u16(),
        headers,
    });
    let mut body = body;
    let mut buf = BytesMut::new();
    let mut seq = 0u32;
    loop {
        let next = std::future::poll_fn(|cx| std::pin::Pin::new(&mut body).poll_next(cx)).await;
        let done = match next {
            Some(Ok(chunk)) => {
                buf.extend_from_slice(&chunk);
                false
            }
            Some(Err(e)) => {
                tracing::warn!(error = %e, "an admin answer's body failed mid-way");
                true
            }
            None => true,
        };
        while buf.len() >= CHUNK || (done && (!buf.is_empty() || head.is_some() || seq == 0)) {
            let take = buf.len().min(CHUNK);
            let chunk = buf.split_to(take);
            let last = done && buf.is_empty();
            let part = Part {
                seq,
                head: head.take(),
                last,
            };
            if let Err(e) = client.publish(reply.clone(), frame(&part, &chunk)).await {
                tracing::warn!(error = %e, "an admin answer could not be sent back");
                return;
            }
            seq += 1;
            if last {
                return;
            }
        }
        if done {
            return;
        }
    }
}

fn heads(h: &actix_web::http::header::HeaderMap) -> Vec<(String, Vec<u8>)> {
    h.iter()
        .filter(|(n, _)| !hop_by_hop(n.as_str()))
        .map(|(n, v)| (n.as_str().to_owned(), v.as_bytes().to_vec()))
        .collect()
}
