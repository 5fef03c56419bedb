//! The live stream and metrics as axum handlers (cargo feature `axum`), for
//! programs that already run an axum server:
//!
//! ```no_run
//! # async fn app() {
//! let app = axum::Router::new()
//!     .route("/", axum::routing::get(|| async { "my service" }))
//!     .merge(actrace::axum::router()); // adds /stream and /metrics
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:9000").await.unwrap();
//! axum::serve(listener, app).await.unwrap();
//! # }
//! ```
//!
//! Each client gets the same stream as from [`crate::serve`] (C4 framing, C6
//! snapshot) through the same bounded outbox: the program and actrace's
//! writer never wait on a client, and one that falls more than 16 MiB behind
//! is closed with code 1008. A websocket upgrade whose `Origin` is not the
//! page's own (`http(s)://` + `Host`) is refused with 403. Checking `Host`
//! and access is left to the application's own middleware. The handler
//! needs a runtime with its timer enabled (as `#[tokio::main]` sets up).

use std::sync::Arc;
use std::time::Duration;

use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use tokio::sync::Notify;

use super::security::Policy;
use super::websocket::{End, Outbox, OutboxConsumer, MAX_CLIENT_MESSAGE};
use super::DEFAULT_CLIENT_BUFFER;
use crate::runtime::Runtime;

/// How long a disconnected client gets to take its close frame.
const CLOSE_GRACE: Duration = Duration::from_secs(2);

/// A router with `/stream` ([`stream`]) and `/metrics` ([`metrics`]), to
/// merge or nest into an application's router. Recording starts now, so
/// spans open when a client attaches show their real start times (C6).
pub fn router<S: Clone + Send + Sync + 'static>() -> Router<S> {
    Runtime::global().start_recording();
    Router::new()
        .route("/stream", get(stream))
        .route("/metrics", get(metrics))
}

/// The live trace websocket, for a route of the application's own.
pub async fn stream(ws: WebSocketUpgrade, headers: HeaderMap) -> Response {
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    if let Err(refusal) = Policy::default().check_origin(&headers, &host) {
        return (StatusCode::FORBIDDEN, refusal.message()).into_response();
    }
    // Attach before answering: everything traced after the client saw the
    // upgrade reaches it.
    let notify = Arc::new(Notify::new());
    let wake = notify.clone();
    let outbox = Outbox::new(
        DEFAULT_CLIENT_BUFFER,
        Some(Box::new(move || wake.notify_one())),
    );
    Runtime::global().attach(Box::new(OutboxConsumer {
        outbox: outbox.clone(),
        peer: "axum client".into(),
    }));
    let client = Attached { outbox, notify };
    ws.max_message_size(MAX_CLIENT_MESSAGE)
        .max_frame_size(MAX_CLIENT_MESSAGE)
        .on_upgrade(move |socket| run(socket, client))
        .into_response()
}

/// A client's outbox, attached; if the upgrade never happens, dropping it
/// detaches the consumer.
struct Attached {
    outbox: Arc<Outbox>,
    notify: Arc<Notify>,
}

impl Drop for Attached {
    fn drop(&mut self) {
        self.outbox.client_gone();
    }
}

/// actrace's metrics in the Prometheus text format.
pub async fn metrics() -> Response {
    let registry = prometheus::Registry::new();
    if let Err(e) = crate::metrics::register_metrics(&registry) {
        return (StatusCode::INTERNAL_SERVER_ERROR, e.to_string()).into_response();
    }
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        crate::metrics::text_exposition(&registry),
    )
        .into_response()
}

async fn run(mut socket: WebSocket, client: Attached) {
    let outbox = &*client.outbox;
    let notify = &*client.notify;
    loop {
        let (chunks, end) = outbox.take(Duration::ZERO);
        let idle = chunks.is_empty();
        for chunk in chunks {
            let text = String::from_utf8(chunk)
                .unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned());
            if !send_or_abort(&mut socket, Message::Text(text.into()), outbox, notify).await {
                outbox.client_gone();
                return;
            }
        }
        let close = match end {
            End::Open => None,
            End::Finished => Some((1000, "actrace: the trace stream ended".to_string())),
            End::FellBehind(fb) => Some((
                1008,
                format!(
                    "actrace: client too slow, fell more than {} KiB behind; disconnected",
                    fb.limit_bytes / 1024
                ),
            )),
            End::ServerStopping => Some((1001, "actrace: server stopping".to_string())),
            End::ClientGone => return,
        };
        if let Some((code, reason)) = close {
            outbox.client_gone();
            let frame = CloseFrame {
                code,
                reason: reason.into(),
            };
            // A client that stopped reading may never take it: give up
            // after a while (the runtime needs its timer, as #[tokio::main]
            // has).
            let _ =
                tokio::time::timeout(CLOSE_GRACE, socket.send(Message::Close(Some(frame)))).await;
            return;
        }
        if !idle {
            // More may be queued: a notification counts once, chunks do not.
            continue;
        }
        tokio::select! {
            _ = notify.notified() => {}
            msg = socket.recv() => match msg {
                Some(Ok(Message::Close(_))) | None | Some(Err(_)) => {
                    outbox.client_gone();
                    return;
                }
                Some(Ok(_)) => {}
            },
        }
    }
}

/// Sends, unless the client falls behind meanwhile (a client that never
/// reads would hold the send forever): false if it should be dropped.
async fn send_or_abort(
    socket: &mut WebSocket,
    msg: Message,
    outbox: &Outbox,
    notify: &Notify,
) -> bool {
    let send = socket.send(msg);
    tokio::pin!(send);
    loop {
        tokio::select! {
            sent = &mut send => return sent.is_ok(),
            _ = notify.notified() => {
                if matches!(outbox.end(), End::FellBehind(_) | End::ServerStopping) {
                    return false;
                }
            }
        }
    }
}
