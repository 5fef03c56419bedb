//! One websocket client of the live stream (K2, K3): its thread
//! ([`run_client`]) sends the client's pieces of the shared ring
//! ([`super::broadcast`]) and watches what the client says. The writer never
//! touches a socket. A client lapped by the ring is sent a close frame with
//! the reason; one that does not read it in time has its socket shut down.

use std::io::ErrorKind;
use std::net::{Shutdown, TcpStream};
use std::time::{Duration, Instant};

use tungstenite::protocol::frame::coding::{CloseCode, Data, OpCode};
use tungstenite::protocol::frame::Frame;
use tungstenite::protocol::{CloseFrame, WebSocket, WebSocketConfig};
use tungstenite::{Error as WsError, Message};

use super::broadcast::{Reader, PIECE};
use crate::consumer::FellBehind;

/// How long the client thread waits for data before it looks at the socket
/// for client messages (close, ping).
const POLL: Duration = Duration::from_millis(50);
/// A blocked socket write gives up after this long and is retried later, so
/// the client thread keeps watching its place in the ring.
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
    /// The client was lapped by the ring and is disconnected (K3).
    FellBehind(FellBehind),
    /// The client closed or its socket failed.
    ClientGone,
    /// The server is stopping.
    ServerStopping,
}

/// The websocket settings of a live-stream client.
pub(crate) fn config() -> WebSocketConfig {
    WebSocketConfig::default()
        .read_buffer_size(MAX_CLIENT_MESSAGE)
        // What a stuck client holds besides its socket's kernel buffer.
        .write_buffer_size(2 * PIECE)
        .max_message_size(Some(MAX_CLIENT_MESSAGE))
        .max_frame_size(Some(MAX_CLIENT_MESSAGE))
}

fn would_block(e: &WsError) -> bool {
    matches!(e, WsError::Io(io) if matches!(io.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut))
}

/// Drives one client until the stream ends for it. Runs on the client's own
/// thread; the socket is in blocking mode with a write timeout.
pub(crate) fn run_client(mut ws: WebSocket<TcpStream>, reader: Reader) {
    let _ = ws.get_ref().set_write_timeout(Some(WRITE_SLICE));
    let _ = ws.get_ref().set_read_timeout(None);
    // Bytes tungstenite holds that the socket did not take yet. While there
    // are some, nothing more is taken from the ring: the client's position
    // stays, and the ring laps it once it is a ring's capacity behind.
    let mut pending = false;
    let mut last_read = Instant::now();
    let end = loop {
        if pending {
            match ws.flush() {
                Ok(()) => pending = false,
                Err(e) if would_block(&e) => {}
                Err(_) => break End::ClientGone,
            }
        }
        let (end, sent) = if pending {
            (reader.end(), false)
        } else {
            let (piece, end) = reader.take(POLL);
            let sent = piece.is_some();
            if let Some(piece) = piece {
                // Frames of one message per writer chunk (see `Piece`).
                let kind = if piece.first {
                    Data::Text
                } else {
                    Data::Continue
                };
                let frame = Frame::message(piece.bytes, OpCode::Data(kind), piece.last);
                match ws.write(Message::Frame(frame)) {
                    Ok(()) => {}
                    // The message is kept in tungstenite's buffer.
                    Err(e) if would_block(&e) => pending = true,
                    Err(_) => break End::ClientGone,
                }
                // More at hand goes into the same socket write (tungstenite
                // writes out by itself past its write buffer size).
                if !pending && !reader.has_more() {
                    match ws.flush() {
                        Ok(()) => {}
                        Err(e) if would_block(&e) => pending = true,
                        Err(_) => break End::ClientGone,
                    }
                }
            }
            (end, sent)
        };
        match end {
            End::Open => {}
            // Send everything that is left before the close frame.
            End::Finished if pending || reader.has_more() => continue,
            other => break other,
        }
        // What the client says (close, ping, or too much): when idle, and
        // now and then while busy.
        if !sent || last_read.elapsed() >= POLL {
            last_read = Instant::now();
            if let Some(end) = read_client(&mut ws) {
                break end;
            }
        }
    };
    // The ring need not keep anything for this client any more.
    reader.leave();
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
