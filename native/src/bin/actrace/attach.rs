//! `actrace attach URL`: save a running program's live trace (SPEC section 6,
//! the seed's `activity-trace`). Connects to the program's `/stream`
//! websocket and writes the stream as it comes; when the stream ends, the
//! connection drops, `--duration` passes or on Ctrl-C, it closes the JSON
//! array, so the output is always valid JSON.

use std::fs::File;
use std::io::{self, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tungstenite::client::IntoClientRequest;
use tungstenite::protocol::frame::coding::CloseCode;
use tungstenite::{Error as WsError, Message};

use crate::fail::Failure;

/// Arguments of `actrace attach`.
#[derive(clap::Args)]
pub(crate) struct AttachArgs {
    /// The program's live stream: ws://HOST:PORT/stream, http://HOST:PORT/ or
    /// HOST:PORT (as given to ACTRACE_LISTEN or `actrace demo --listen`).
    #[arg(value_name = "URL")]
    url: String,
    /// Write the trace to FILE instead of standard output.
    #[arg(long, value_name = "FILE")]
    out: Option<PathBuf>,
    /// Access token, if the program set one [default: $ACTRACE_TOKEN].
    #[arg(long, value_name = "TOKEN")]
    token: Option<String>,
    /// Stop after SECS seconds [default: when the stream ends or on Ctrl-C].
    #[arg(long, value_name = "SECS")]
    duration: Option<f64>,
}

const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// How often the read loop looks at Ctrl-C and the deadline.
const TICK: Duration = Duration::from_millis(100);

/// `ws://HOST:PORT/PATH` from what the user typed.
fn stream_url(url: &str) -> Result<http::Uri, String> {
    let url = url.trim();
    let with_scheme = if url.contains("://") {
        url.to_string()
    } else {
        format!("ws://{url}")
    };
    let uri: http::Uri = with_scheme.parse().map_err(|e| {
        format!("bad URL {url:?}: {e} (expected ws://HOST:PORT/stream or HOST:PORT)")
    })?;
    let scheme = match uri.scheme_str() {
        Some("ws" | "http") => "ws",
        Some("wss" | "https") => {
            return Err(format!(
                "{url:?}: TLS (wss://, https://) is not supported; actrace serves plain ws:// on loopback"
            ))
        }
        _ => return Err(format!("bad URL {url:?}: the scheme must be ws:// or http://")),
    };
    let Some(authority) = uri.authority() else {
        return Err(format!("bad URL {url:?}: no host"));
    };
    let path = match uri.path_and_query().map(|p| p.as_str()) {
        None | Some("") | Some("/") => "/stream",
        Some(p) => p,
    };
    format!("{scheme}://{authority}{path}")
        .parse()
        .map_err(|e| format!("bad URL {url:?}: {e}"))
}

pub(crate) fn run(args: &AttachArgs) -> Result<(), Failure> {
    let fail = |m: String| Failure::cannot(format!("actrace attach: {m}"));
    let uri = stream_url(&args.url).map_err(fail)?;
    let host = uri.host().unwrap_or("localhost").to_string();
    let port = uri.port_u16().unwrap_or(80);
    let addrs: Vec<_> = (host.trim_start_matches('[').trim_end_matches(']'), port)
        .to_socket_addrs()
        .map_err(|e| fail(format!("cannot resolve {host}: {e}")))?
        .collect();
    let mut last_err = None;
    let mut stream = None;
    for addr in &addrs {
        match TcpStream::connect_timeout(addr, CONNECT_TIMEOUT) {
            Ok(s) => {
                stream = Some(s);
                break;
            }
            Err(e) => last_err = Some(e),
        }
    }
    let Some(stream) = stream else {
        let e = last_err.map_or_else(|| "no address".to_string(), |e| e.to_string());
        return Err(fail(format!(
            "cannot connect to {host}:{port}: {e} (is the program running with ACTRACE_LISTEN or `actrace demo --listen`?)"
        )));
    };
    let _ = stream.set_read_timeout(Some(CONNECT_TIMEOUT));
    let mut request = uri
        .to_string()
        .into_client_request()
        .map_err(|e| fail(format!("bad URL {}: {e}", args.url)))?;
    let token = args
        .token
        .clone()
        .or_else(|| std::env::var("ACTRACE_TOKEN").ok())
        .filter(|t| !t.is_empty());
    if let Some(token) = token {
        let value = format!("Bearer {token}")
            .parse()
            .map_err(|_| fail("the token must be printable ASCII".into()))?;
        request
            .headers_mut()
            .insert(http::header::AUTHORIZATION, value);
    }
    let mut ws = match tungstenite::client::client(request, stream) {
        Ok((ws, _)) => ws,
        Err(tungstenite::HandshakeError::Failure(WsError::Http(resp))) => {
            let body = resp
                .body()
                .as_ref()
                .map(|b| String::from_utf8_lossy(b).trim().to_string())
                .unwrap_or_default();
            return Err(fail(format!(
                "{uri} refused the websocket upgrade: {}{}{body}",
                resp.status(),
                if body.is_empty() { "" } else { ": " }
            )));
        }
        Err(e) => return Err(fail(format!("websocket handshake with {uri} failed: {e}"))),
    };
    let _ = ws.get_ref().set_read_timeout(Some(TICK));

    let mut out: Box<dyn Write> = match &args.out {
        Some(path) => {
            Box::new(io::BufWriter::new(File::create(path).map_err(|e| {
                fail(format!("cannot create {}: {e}", path.display()))
            })?))
        }
        None => Box::new(io::BufWriter::new(io::stdout().lock())),
    };
    let interrupted = Arc::new(AtomicBool::new(false));
    {
        let flag = interrupted.clone();
        // Without a handler Ctrl-C still stops us, leaving an open array
        // that readers accept (C4); with one, the array is closed.
        let _ = ctrlc::set_handler(move || flag.store(true, Ordering::SeqCst));
    }
    let deadline = args
        .duration
        .map(|s| Instant::now() + Duration::from_secs_f64(s.max(0.0)));
    let mut tail = Vec::<u8>::new();
    let mut received = 0u64;
    let write_err =
        |e: io::Error| Failure::bad(format!("actrace attach: cannot write the trace: {e}"));
    let ending: Result<(), String> = loop {
        if interrupted.load(Ordering::SeqCst) || deadline.is_some_and(|d| Instant::now() >= d) {
            let _ = ws.close(None);
            let _ = ws.flush();
            break Ok(());
        }
        match ws.read() {
            Ok(Message::Text(text)) => {
                let bytes = text.as_bytes();
                out.write_all(bytes).map_err(write_err)?;
                out.flush().map_err(write_err)?;
                received += bytes.len() as u64;
                tail.extend_from_slice(&bytes[bytes.len().saturating_sub(8)..]);
                let cut = tail.len().saturating_sub(8);
                tail.drain(..cut);
            }
            Ok(Message::Close(frame)) => {
                break match frame {
                    Some(f) if f.code != CloseCode::Normal && f.code != CloseCode::Away => {
                        Err(format!(
                            "the program closed the stream: {} ({})",
                            f.reason,
                            u16::from(f.code)
                        ))
                    }
                    _ => Ok(()),
                };
            }
            Ok(_) => {}
            // Ctrl-C interrupts the read: look at the flag.
            Err(WsError::Io(e))
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock
                        | io::ErrorKind::TimedOut
                        | io::ErrorKind::Interrupted
                ) => {}
            Err(WsError::ConnectionClosed | WsError::AlreadyClosed) => break Ok(()),
            Err(e) => break Err(format!("the connection to {uri} was lost: {e}")),
        }
    };
    // Close the array unless the program did: the output is valid JSON.
    let closed = String::from_utf8_lossy(&tail).trim_end().ends_with(']');
    if received == 0 {
        out.write_all(b"[]\n").map_err(write_err)?;
    } else if !closed {
        out.write_all(b"\n]\n").map_err(write_err)?;
    }
    out.flush().map_err(write_err)?;
    ending.map_err(|m| {
        Failure::bad(format!(
            "actrace attach: {m}; the trace up to there was saved"
        ))
    })
}
