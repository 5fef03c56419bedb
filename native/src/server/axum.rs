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
//! snapshot) from the same kind of ring, shared by all axum clients and
//! holding at most 4 MiB of stream: the program and actrace's writer never
//! wait on a client, and one that falls further behind is closed with code
//! 1008. A websocket upgrade whose `Origin` is not the
//! page's own (`http(s)://` + `Host`) is refused with 403. Checking `Host`
//! and access is left to the application's own middleware. The handler
//! needs a runtime with its timer enabled (as `#[tokio::main]` sets up).

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::ws::{CloseFrame, Message, Utf8Bytes, WebSocket, WebSocketUpgrade};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use tokio::sync::Notify;

use super::broadcast::{Broadcast, Reader};
use super::security::Policy;
use super::websocket::{End, MAX_CLIENT_MESSAGE};
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
    let (reader, feed) = hub().join(
        "axum client".into(),
        Some(Box::new(move || wake.notify_one())),
    );
    Runtime::global().attach(Box::new(feed));
    let client = Attached { reader, notify };
    ws.max_message_size(MAX_CLIENT_MESSAGE)
        .max_frame_size(MAX_CLIENT_MESSAGE)
        .on_upgrade(move |socket| run(socket, client))
        .into_response()
}

/// The ring all axum clients read.
fn hub() -> &'static Arc<Broadcast> {
    static HUB: OnceLock<Arc<Broadcast>> = OnceLock::new();
    HUB.get_or_init(|| Broadcast::new(DEFAULT_CLIENT_BUFFER))
}

/// A client's place in the ring, attached; if the upgrade never happens,
/// dropping it detaches the consumer.
struct Attached {
    reader: Reader,
    notify: Arc<Notify>,
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
    let reader = &client.reader;
    let notify = &*client.notify;
    // axum sends whole messages only: the pieces of one writer chunk are
    // gathered into one (see `Piece`).
    let mut message = Vec::new();
    loop {
        let (piece, end) = reader.take(Duration::ZERO);
        let idle = piece.is_none();
        if let Some(piece) = piece {
            if piece.first {
                message.clear();
            }
            message.extend_from_slice(&piece.bytes);
            if piece.last {
                // Checked as UTF-8 already; axum checks again (fast for JSON).
                let bytes = Bytes::from(std::mem::take(&mut message));
                let Ok(text) = Utf8Bytes::try_from(bytes) else {
                    return;
                };
                if !send_or_abort(&mut socket, Message::Text(text), reader, notify).await {
                    return;
                }
            }
        }
        let close = match end {
            // Send everything that is left before the close frame.
            End::Open | End::Finished if !idle => None,
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
            reader.leave();
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
            // More may be queued: a notification counts once, pieces do not.
            continue;
        }
        tokio::select! {
            _ = notify.notified() => {}
            msg = socket.recv() => match msg {
                Some(Ok(Message::Close(_))) | None | Some(Err(_)) => return,
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
    reader: &Reader,
    notify: &Notify,
) -> bool {
    let send = socket.send(msg);
    tokio::pin!(send);
    loop {
        tokio::select! {
            sent = &mut send => return sent.is_ok(),
            _ = notify.notified() => {
                if matches!(reader.end(), End::FellBehind(_) | End::ServerStopping) {
                    return false;
                }
            }
        }
    }
}
