//! One websocket client of the live stream (K2, K3).
//!
//! The background writer hands each client's [`OutboxConsumer`] the encoded
//! stream; `write` only appends to the client's bounded [`Outbox`] and never
//! touches a socket. The client's own thread ([`run_client`]) does the socket
//! I/O. A client whose outbox would pass its bound is disconnected: the outbox
//! is emptied at once (its memory is freed on the writer thread), the writer
//! removes the consumer and the client thread sends a close frame with the
//! reason, giving up on the socket if the client does not read it in time.

use std::collections::VecDeque;
use std::io::{self, ErrorKind};
use std::net::{Shutdown, TcpStream};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use tungstenite::protocol::frame::coding::CloseCode;
use tungstenite::protocol::{CloseFrame, WebSocket, WebSocketConfig};
use tungstenite::{Error as WsError, Message};

use crate::consumer::{Detached, FellBehind};
use crate::metrics::STATS;
use crate::Consumer;

/// How long the client thread waits for data before it looks at the socket
/// for client messages (close, ping).
const POLL: Duration = Duration::from_millis(50);
/// A blocked socket write gives up after this long and is retried later, so
/// the client thread keeps watching its outbox.
const WRITE_SLICE: Duration = Duration::from_millis(100);
/// How long a disconnected client gets to read its close frame.
const CLOSE_GRACE: Duration = Duration::from_secs(2);
/// Largest message a client may send (clients have nothing to say).
pub(crate) const MAX_CLIENT_MESSAGE: usize = 4096;

/// How the stream ended for a client.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum End {
    Open,
    /// The stream was closed cleanly: send what is left, then close.
    Finished,
    /// The client fell behind its bound and is disconnected (K3).
    FellBehind(FellBehind),
    /// The client closed or its socket failed.
    ClientGone,
    /// The server is stopping.
    ServerStopping,
}

struct State {
    chunks: VecDeque<Vec<u8>>,
    bytes: usize,
    end: End,
}

/// A client's bounded queue of encoded stream bytes.
pub(crate) struct Outbox {
    state: Mutex<State>,
    ready: Condvar,
    limit: usize,
    /// Extra wake-up for clients not driven by a thread (the axum handler).
    wake: Option<Box<dyn Fn() + Send + Sync>>,
}

impl Outbox {
    pub(crate) fn new(limit: usize, wake: Option<Box<dyn Fn() + Send + Sync>>) -> Arc<Outbox> {
        Arc::new(Outbox {
            state: Mutex::new(State {
                chunks: VecDeque::new(),
                bytes: 0,
                end: End::Open,
            }),
            ready: Condvar::new(),
            limit,
            wake,
        })
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn notify(&self) {
        self.ready.notify_all();
        if let Some(wake) = &self.wake {
            wake();
        }
    }

    /// Writer side: queue `bytes` (complete events) or fail without waiting.
    fn push(&self, bytes: &[u8]) -> io::Result<()> {
        let mut st = self.lock();
        match st.end {
            End::Open => {}
            End::FellBehind(fb) => return Err(io::Error::other(fb)),
            _ => return Err(io::Error::other(Detached)),
        }
        // A chunk is always taken into an empty outbox, so a large snapshot
        // never disconnects a new client; memory stays below limit + chunk.
        if st.bytes > 0 && st.bytes + bytes.len() > self.limit {
            let dropped =
                st.chunks.iter().map(|c| count_events(c)).sum::<u64>() + count_events(bytes);
            let fb = FellBehind {
                limit_bytes: self.limit,
                dropped_events: dropped,
            };
            st.chunks = VecDeque::new();
            st.bytes = 0;
            st.end = End::FellBehind(fb);
            drop(st);
            STATS.dropped("websocket", dropped);
            self.notify();
            return Err(io::Error::other(fb));
        }
        st.bytes += bytes.len();
        st.chunks.push_back(bytes.to_vec());
        drop(st);
        self.notify();
        Ok(())
    }

    /// Writer side: the stream was closed cleanly.
    fn finish(&self) {
        let mut st = self.lock();
        if st.end == End::Open {
            st.end = End::Finished;
        }
        drop(st);
        self.notify();
    }

    /// Client side: the client went away; free what was queued.
    pub(crate) fn client_gone(&self) {
        let mut st = self.lock();
        if matches!(st.end, End::Open | End::Finished) {
            st.end = End::ClientGone;
        }
        st.chunks = VecDeque::new();
        st.bytes = 0;
    }

    /// The server stops: the client is closed.
    pub(crate) fn server_stopping(&self) {
        let mut st = self.lock();
        if st.end == End::Open {
            st.end = End::ServerStopping;
        }
        drop(st);
        self.notify();
    }

    /// Client side: the next queued chunk (none or one, so a client holds at
    /// most one chunk outside its bound), and how the stream stands. Waits up
    /// to `wait` while there is nothing to do.
    pub(crate) fn take(&self, wait: Duration) -> (Vec<Vec<u8>>, End) {
        let mut st = self.lock();
        if st.chunks.is_empty() && st.end == End::Open && !wait.is_zero() {
            st = self
                .ready
                .wait_timeout(st, wait)
                .unwrap_or_else(|p| p.into_inner())
                .0;
        }
        let chunk = st.chunks.pop_front();
        if let Some(c) = &chunk {
            st.bytes -= c.len();
        }
        (chunk.into_iter().collect(), st.end)
    }

    /// Client side: how the stream stands, leaving queued chunks in place.
    pub(crate) fn end(&self) -> End {
        self.lock().end
    }
}

/// Events in a chunk of the encoded stream: each starts on a new line, and
/// JSON strings never hold a raw newline.
fn count_events(chunk: &[u8]) -> u64 {
    chunk.iter().filter(|&&b| b == b'\n').count() as u64
}

/// The writer's side of one client.
pub(crate) struct OutboxConsumer {
    pub(crate) outbox: Arc<Outbox>,
    pub(crate) peer: String,
}

impl Consumer for OutboxConsumer {
    fn describe(&self) -> String {
        format!("websocket client {}", self.peer)
    }

    fn kind(&self) -> &'static str {
        "websocket"
    }

    fn write(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.outbox.push(bytes)
    }

    fn flush(&mut self) -> io::Result<()> {
        // Lets the writer drop a client that left, even while the program is
        // quiet.
        match self.outbox.end() {
            End::Open | End::Finished => Ok(()),
            End::FellBehind(fb) => Err(io::Error::other(fb)),
            _ => Err(io::Error::other(Detached)),
        }
    }

    fn close(&mut self) -> io::Result<()> {
        self.outbox.finish();
        Ok(())
    }
}

impl Drop for OutboxConsumer {
    fn drop(&mut self) {
        // Removed by the writer for any reason: the client thread must not
        // wait for data that will never come.
        self.outbox.finish();
    }
}

/// The websocket settings of a live-stream client.
pub(crate) fn config() -> WebSocketConfig {
    WebSocketConfig::default()
        .read_buffer_size(MAX_CLIENT_MESSAGE)
        .write_buffer_size(64 * 1024)
        .max_message_size(Some(MAX_CLIENT_MESSAGE))
        .max_frame_size(Some(MAX_CLIENT_MESSAGE))
}

fn would_block(e: &WsError) -> bool {
    matches!(e, WsError::Io(io) if matches!(io.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut))
}

/// Drives one client until the stream ends for it. Runs on the client's own
/// thread; the socket is in blocking mode with a write timeout.
pub(crate) fn run_client(mut ws: WebSocket<TcpStream>, outbox: Arc<Outbox>) {
    let _ = ws.get_ref().set_write_timeout(Some(WRITE_SLICE));
    let _ = ws.get_ref().set_read_timeout(None);
    // Bytes tungstenite holds that the socket did not take yet. While there
    // are some, nothing more is taken from the outbox: it fills up, and the
    // writer disconnects the client when it passes its bound.
    let mut pending = false;
    let end = loop {
        if pending {
            match ws.flush() {
                Ok(()) => pending = false,
                Err(e) if would_block(&e) => {}
                Err(_) => break End::ClientGone,
            }
        }
        let end = if pending {
            outbox.end()
        } else {
            let (chunks, end) = outbox.take(POLL);
            let mut wrote = false;
            for chunk in chunks {
                let text = String::from_utf8(chunk)
                    .unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned());
                match ws.write(Message::text(text)) {
                    Ok(()) => wrote = true,
                    Err(e) if would_block(&e) => {
                        // The message is kept in tungstenite's buffer.
                        pending = true;
                        wrote = true;
                    }
                    Err(_) => {
                        outbox.client_gone();
                        return;
                    }
                }
            }
            if wrote {
                match ws.flush() {
                    Ok(()) => pending = false,
                    Err(e) if would_block(&e) => pending = true,
                    Err(_) => break End::ClientGone,
                }
            }
            end
        };
        match end {
            End::Open => {}
            // Send everything that is left before the close frame.
            End::Finished if pending => {}
            End::Finished if !outbox.lock().chunks.is_empty() => continue,
            other => break other,
        }
        // What the client says: close, ping, or too much.
        if let Some(end) = read_client(&mut ws) {
            break end;
        }
    };
    outbox.client_gone();
    let frame = match end {
        End::Finished => Some((
            CloseCode::Normal,
            "actrace: the trace stream ended".to_string(),
        )),
        End::FellBehind(fb) => Some((
            CloseCode::Policy,
            format!(
                "actrace: client too slow, fell more than {} KiB behind; disconnected",
                fb.limit_bytes / 1024
            ),
        )),
        End::ServerStopping => Some((CloseCode::Away, "actrace: server stopping".to_string())),
        End::ClientGone | End::Open => None,
    };
    if let Some((code, reason)) = frame {
        close_with(&mut ws, code, reason);
    }
    let _ = ws.get_ref().shutdown(Shutdown::Both);
}

/// Reads what the client sent without waiting. `Some` ends the client.
fn read_client(ws: &mut WebSocket<TcpStream>) -> Option<End> {
    if ws.get_ref().set_nonblocking(true).is_err() {
        return Some(End::ClientGone);
    }
    let result = loop {
        match ws.read() {
            // Pings are answered by tungstenite; text from a client means
            // nothing to us.
            Ok(Message::Close(_)) => {
                // tungstenite queued the reply; flush it below.
                break Some(End::ClientGone);
            }
            Ok(_) => continue,
            Err(e) if would_block(&e) => break None,
            Err(WsError::Capacity(_)) => {
                let _ = ws.get_ref().set_nonblocking(false);
                close_with(
                    ws,
                    CloseCode::Size,
                    format!("actrace: client messages are limited to {MAX_CLIENT_MESSAGE} bytes"),
                );
                break Some(End::ClientGone);
            }
            Err(_) => break Some(End::ClientGone),
        }
    };
    let _ = ws.get_ref().set_nonblocking(false);
    if result.is_some() {
        let _ = ws.flush();
    }
    result
}

/// Sends a close frame and waits, briefly, for it to leave.
fn close_with(ws: &mut WebSocket<TcpStream>, code: CloseCode, reason: String) {
    let frame = CloseFrame {
        code,
        reason: reason.into(),
    };
    if ws.close(Some(frame)).is_err() {
        return;
    }
    let deadline = Instant::now() + CLOSE_GRACE;
    while Instant::now() < deadline {
        match ws.flush() {
            Ok(()) => return,
            Err(e) if would_block(&e) => {}
            Err(_) => return,
        }
    }
}
