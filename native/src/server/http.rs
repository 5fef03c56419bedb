//! The HTTP side: one thread per connection, the request head read with a
//! size and time limit and parsed by `httparse`, routed to the viewer,
//! `/metrics` or the `/stream` websocket (handshake and framing by
//! tungstenite). Responses close the connection.

use std::fs::File;
use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use http::{HeaderMap, HeaderName, HeaderValue, Request, Response, StatusCode};
use tungstenite::handshake::server::{create_response, write_response};
use tungstenite::protocol::{Role, WebSocket};

use super::websocket;
use super::{assets, Shared};

/// Largest request head accepted.
const MAX_HEAD: usize = 16 * 1024;
/// Most headers in a request.
const MAX_HEADERS: usize = 64;
/// A client has this long to send its request head and read the answer.
const HEAD_TIMEOUT: Duration = Duration::from_secs(5);

/// A parsed request head and what followed it.
struct Head {
    request: Request<()>,
    rest: Vec<u8>,
}

enum ReadHead {
    Ok(Box<Head>),
    /// Answer with this status and message.
    Bad(u16, &'static str),
    /// The client left or sent nothing: just close.
    Gone,
}

fn read_head(stream: &mut TcpStream) -> ReadHead {
    let mut buf = Vec::with_capacity(1024);
    let mut chunk = [0u8; 2048];
    loop {
        let n = match stream.read(&mut chunk) {
            Ok(0) => return ReadHead::Gone,
            Ok(n) => n,
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                ) =>
            {
                return if buf.is_empty() {
                    ReadHead::Gone
                } else {
                    ReadHead::Bad(408, "actrace: request head not received in time\n")
                };
            }
            Err(_) => return ReadHead::Gone,
        };
        buf.extend_from_slice(&chunk[..n]);
        let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
        let mut req = httparse::Request::new(&mut headers);
        match req.parse(&buf) {
            Ok(httparse::Status::Complete(len)) => {
                let mut builder = Request::builder()
                    .method(req.method.unwrap_or("GET"))
                    .uri(req.path.unwrap_or("/"))
                    .version(if req.version == Some(0) {
                        http::Version::HTTP_10
                    } else {
                        http::Version::HTTP_11
                    });
                for h in req.headers.iter() {
                    let (Ok(name), Ok(value)) = (
                        HeaderName::from_bytes(h.name.as_bytes()),
                        HeaderValue::from_bytes(h.value),
                    ) else {
                        return ReadHead::Bad(400, "actrace: malformed header\n");
                    };
                    builder = builder.header(name, value);
                }
                return match builder.body(()) {
                    Ok(request) => ReadHead::Ok(Box::new(Head {
                        request,
                        rest: buf[len..].to_vec(),
                    })),
                    Err(_) => ReadHead::Bad(400, "actrace: malformed request line\n"),
                };
            }
            Ok(httparse::Status::Partial) if buf.len() < MAX_HEAD => continue,
            Ok(httparse::Status::Partial) => {
                return ReadHead::Bad(431, "actrace: request head too large\n");
            }
            Err(httparse::Error::TooManyHeaders) => {
                return ReadHead::Bad(431, "actrace: too many headers\n");
            }
            Err(_) => return ReadHead::Bad(400, "actrace: malformed HTTP request\n"),
        }
    }
}

/// Writes a complete response and its body.
fn respond(
    stream: &mut TcpStream,
    status: u16,
    content_type: &str,
    extra: &[(&str, String)],
    body: &[u8],
    head_only: bool,
) {
    let mut builder = Response::builder()
        .status(StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR))
        .header("Content-Type", content_type)
        .header("Content-Length", body.len().to_string())
        .header("Connection", "close")
        .header("Cache-Control", "no-store")
        .header("X-Content-Type-Options", "nosniff")
        .header("Referrer-Policy", "no-referrer");
    for (k, v) in extra {
        builder = builder.header(*k, v.as_str());
    }
    let Ok(response) = builder.body(()) else {
        return;
    };
    let mut out = Vec::with_capacity(256 + body.len());
    if write_response(&mut out, &response).is_err() {
        return;
    }
    if !head_only {
        out.extend_from_slice(body);
    }
    let _ = stream.write_all(&out);
    let _ = stream.flush();
}

fn text(stream: &mut TcpStream, status: u16, message: &str) {
    respond(
        stream,
        status,
        "text/plain; charset=utf-8",
        &[],
        message.as_bytes(),
        false,
    );
}

/// Answers a connection that is over the server's limit, without waiting.
pub(crate) fn refuse_busy(mut stream: TcpStream) {
    let _ = stream.set_nonblocking(true);
    text(
        &mut stream,
        503,
        "actrace: too many connections to the live trace server\n",
    );
}

/// Serves one connection.
pub(crate) fn handle(shared: &Arc<Shared>, mut stream: TcpStream, peer: SocketAddr) {
    let _ = stream.set_read_timeout(Some(HEAD_TIMEOUT));
    let _ = stream.set_write_timeout(Some(HEAD_TIMEOUT));
    let _ = stream.set_nodelay(true);
    let head = match read_head(&mut stream) {
        ReadHead::Ok(head) => head,
        ReadHead::Bad(status, message) => return text(&mut stream, status, message),
        ReadHead::Gone => return,
    };
    let req = &head.request;
    let headers = req.headers();
    let policy = &shared.policy;
    let host = match policy.check_host(headers) {
        Ok(host) => host,
        Err(refusal) => return text(&mut stream, refusal.status(), &refusal.message()),
    };
    let head_only = req.method() == http::Method::HEAD;
    if req.method() != http::Method::GET && !head_only {
        return respond(
            &mut stream,
            405,
            "text/plain; charset=utf-8",
            &[("Allow", "GET, HEAD".into())],
            b"actrace: only GET and HEAD are served\n",
            false,
        );
    }
    let path = req.uri().path();
    let query = req.uri().query();
    match path {
        "/stream" => {
            if let Err(refusal) = policy
                .check_token(query, headers)
                .and_then(|()| policy.check_origin(headers, &host))
            {
                return text(&mut stream, refusal.status(), &refusal.message());
            }
            if !is_upgrade(headers) {
                return respond(
                    &mut stream,
                    426,
                    "text/plain; charset=utf-8",
                    &[("Upgrade", "websocket".into())],
                    b"actrace: /stream is a websocket: connect with ws://HOST/stream (e.g. `actrace attach`)\n",
                    false,
                );
            }
            let response = match create_response(req) {
                Ok(r) => r,
                Err(e) => {
                    return text(
                        &mut stream,
                        400,
                        &format!("actrace: bad websocket upgrade: {e}\n"),
                    )
                }
            };
            // Attach before answering: everything traced after the client
            // saw the upgrade reaches it.
            let (reader, feed) = shared.hub.join(peer.to_string(), None);
            shared.rt.attach(Box::new(feed));
            let mut out = Vec::new();
            if write_response(&mut out, &response).is_err()
                || stream.write_all(&out).is_err()
                || stream.flush().is_err()
            {
                return;
            }
            let ws = WebSocket::from_partially_read(
                stream,
                head.rest,
                Role::Server,
                Some(websocket::config()),
            );
            websocket::run_client(ws, reader);
        }
        super::TRACE_PATH if shared.trace_file.is_some() => {
            if let Some(path) = &shared.trace_file {
                send_file(&mut stream, path, head_only);
            }
        }
        "/metrics" => {
            if let Err(refusal) = policy.check_token(query, headers) {
                return text(&mut stream, refusal.status(), &refusal.message());
            }
            let body = crate::metrics::text_exposition(&shared.registry);
            respond(
                &mut stream,
                200,
                "text/plain; version=0.0.4; charset=utf-8",
                &[],
                body.as_bytes(),
                head_only,
            );
        }
        _ => {
            let mut extra = Vec::new();
            if policy.query_has_token(query) {
                // The viewer's websocket to /stream then carries the token.
                if let Some(token) = &policy.token {
                    extra.push((
                        "Set-Cookie",
                        format!("actrace_token={token}; Path=/; HttpOnly; SameSite=Strict"),
                    ));
                }
            }
            match assets::find(path) {
                Some((content_type, body)) => {
                    respond(&mut stream, 200, content_type, &extra, body, head_only)
                }
                None if path == "/" || path == "/index.html" => respond(
                    &mut stream,
                    200,
                    "text/html; charset=utf-8",
                    &extra,
                    assets::NOT_BUILT.as_bytes(),
                    head_only,
                ),
                None => text(&mut stream, 404, "actrace: not found\n"),
            }
        }
    }
}

/// Sends the file at `path` as JSON, streamed from disk: as many bytes as it
/// held when opened, so a file still being written is sent up to there.
fn send_file(stream: &mut TcpStream, path: &Path, head_only: bool) {
    let opened = File::open(path).and_then(|f| {
        let len = f.metadata()?.len();
        Ok((f, len))
    });
    let (file, len) = match opened {
        Ok(ok) => ok,
        Err(e) => {
            return text(
                stream,
                500,
                &format!("actrace: cannot read {}: {e}\n", path.display()),
            )
        }
    };
    let Ok(response) = Response::builder()
        .status(StatusCode::OK)
        .header("Content-Type", "application/json")
        .header("Content-Length", len.to_string())
        .header("Connection", "close")
        .header("Cache-Control", "no-store")
        .header("X-Content-Type-Options", "nosniff")
        .header("Referrer-Policy", "no-referrer")
        .body(())
    else {
        return;
    };
    let mut out = Vec::with_capacity(256);
    if write_response(&mut out, &response).is_err() || stream.write_all(&out).is_err() {
        return;
    }
    if !head_only {
        // A big file takes a while: the time limit is per write, not for all.
        let _ = io::copy(&mut file.take(len), stream);
    }
    let _ = stream.flush();
}

fn is_upgrade(headers: &HeaderMap) -> bool {
    headers
        .get(http::header::UPGRADE)
        .and_then(|h| h.to_str().ok())
        .is_some_and(|h| h.eq_ignore_ascii_case("websocket"))
}
