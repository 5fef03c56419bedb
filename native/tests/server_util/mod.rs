//! Real websocket and HTTP clients for the live server tests (loopback only).
#![allow(dead_code, unreachable_pub)]

use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use tungstenite::client::IntoClientRequest;
use tungstenite::protocol::WebSocket;
use tungstenite::Message;

/// How long any wait in these tests may take before it fails.
pub const PATIENCE: Duration = Duration::from_secs(20);

#[derive(Default)]
pub struct Received {
    /// Everything received, unless the client only counts.
    pub data: Vec<u8>,
    /// Bytes received.
    pub bytes: u64,
    /// With [`Client::counting`]: occurrences of each needle, in order.
    pub counts: Vec<u64>,
    /// With [`Client::counting`]: the last 4 KiB received.
    pub tail: Vec<u8>,
    pub messages: usize,
    /// Close code and reason, if the server closed.
    pub close: Option<(u16, String)>,
    /// The connection is over (closed or failed).
    pub over: bool,
}

/// A websocket client of `/stream` that reads everything on its own thread.
pub struct Client {
    shared: Arc<(Mutex<Received>, Condvar)>,
    needles: Arc<Vec<Vec<u8>>>,
    stop: Arc<AtomicBool>,
    raw: TcpStream,
    thread: Option<JoinHandle<()>>,
}

/// Opens a websocket to `addr` with `path` and extra headers; returns the
/// socket or the refusal (status, body).
pub fn open(
    addr: SocketAddr,
    path: &str,
    headers: &[(&str, &str)],
) -> Result<WebSocket<TcpStream>, (u16, String)> {
    let mut req = format!("ws://{addr}{path}").into_client_request().unwrap();
    for (k, v) in headers {
        req.headers_mut().insert(
            http::HeaderName::from_bytes(k.as_bytes()).unwrap(),
            v.parse().unwrap(),
        );
    }
    let stream = TcpStream::connect(addr).unwrap();
    stream.set_read_timeout(Some(PATIENCE)).unwrap();
    match tungstenite::client::client(req, stream) {
        Ok((ws, _)) => Ok(ws),
        Err(tungstenite::HandshakeError::Failure(tungstenite::Error::Http(resp))) => {
            let status = resp.status().as_u16();
            let body = resp
                .body()
                .as_ref()
                .map(|b| String::from_utf8_lossy(b).into_owned())
                .unwrap_or_default();
            Err((status, body))
        }
        Err(e) => panic!("websocket handshake failed: {e}"),
    }
}

impl Client {
    pub fn connect(addr: SocketAddr) -> Client {
        Client::with(open(addr, "/stream", &[]).expect("upgrade refused"))
    }

    pub fn with(ws: WebSocket<TcpStream>) -> Client {
        Client::spawn(ws, Vec::new())
    }

    /// A client that keeps no data, only counts `needles` (whole events never
    /// straddle two messages, so counting per message is exact).
    pub fn counting(addr: SocketAddr, needles: &[&str]) -> Client {
        let ws = open(addr, "/stream", &[]).expect("upgrade refused");
        Client::spawn(ws, needles.iter().map(|n| n.as_bytes().to_vec()).collect())
    }

    fn spawn(mut ws: WebSocket<TcpStream>, needles: Vec<Vec<u8>>) -> Client {
        let needles = Arc::new(needles);
        let n2 = needles.clone();
        let raw = ws.get_ref().try_clone().unwrap();
        ws.get_ref()
            .set_read_timeout(Some(Duration::from_millis(50)))
            .unwrap();
        let shared = Arc::new((Mutex::new(Received::default()), Condvar::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let (s, st) = (shared.clone(), stop.clone());
        let thread = std::thread::spawn(move || {
            loop {
                if st.load(Ordering::SeqCst) {
                    let _ = ws.close(None);
                    let deadline = Instant::now() + Duration::from_secs(2);
                    // Finish the close handshake.
                    while Instant::now() < deadline {
                        match ws.read() {
                            Ok(_) => continue,
                            Err(tungstenite::Error::Io(e))
                                if e.kind() == std::io::ErrorKind::WouldBlock
                                    || e.kind() == std::io::ErrorKind::TimedOut =>
                            {
                                continue
                            }
                            Err(_) => break,
                        }
                    }
                    break;
                }
                match ws.read() {
                    Ok(Message::Text(t)) => take(&s, &n2, t.as_bytes()),
                    Ok(Message::Binary(b)) => take(&s, &n2, &b),
                    Ok(Message::Close(frame)) => {
                        let mut r = s.0.lock().unwrap();
                        r.close = frame.map(|f| (u16::from(f.code), f.reason.to_string()));
                        s.1.notify_all();
                    }
                    Ok(_) => {}
                    Err(tungstenite::Error::Io(e))
                        if e.kind() == std::io::ErrorKind::WouldBlock
                            || e.kind() == std::io::ErrorKind::TimedOut => {}
                    Err(_) => break,
                }
            }
            let mut r = s.0.lock().unwrap();
            r.over = true;
            s.1.notify_all();
        });
        Client {
            shared,
            needles,
            stop,
            raw,
            thread: Some(thread),
        }
    }

    /// Waits until `cond` holds for what was received; false on timeout.
    pub fn wait(&self, timeout: Duration, cond: impl Fn(&Received) -> bool) -> bool {
        let deadline = Instant::now() + timeout;
        let mut r = self.shared.0.lock().unwrap();
        while !cond(&r) {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return false;
            }
            r = self.shared.1.wait_timeout(r, left).unwrap().0;
        }
        true
    }

    /// Waits until the received text contains `needle`.
    pub fn wait_for(&self, needle: &str) -> bool {
        self.wait(PATIENCE, |r| contains(&r.data, needle.as_bytes()))
    }

    pub fn data(&self) -> Vec<u8> {
        self.shared.0.lock().unwrap().data.clone()
    }

    pub fn with_received<T>(&self, f: impl FnOnce(&Received) -> T) -> T {
        f(&self.shared.0.lock().unwrap())
    }

    /// Closes the websocket cleanly and returns everything received.
    pub fn close(mut self) -> Vec<u8> {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            t.join().unwrap();
        }
        self.data()
    }

    /// Drops the TCP connection without a close handshake.
    pub fn cut(mut self) -> Vec<u8> {
        let _ = self.raw.shutdown(Shutdown::Both);
        if let Some(t) = self.thread.take() {
            t.join().unwrap();
        }
        self.data()
    }
}

fn take(s: &(Mutex<Received>, Condvar), needles: &[Vec<u8>], bytes: &[u8]) {
    let counted: Vec<u64> = needles.iter().map(|n| count(bytes, n) as u64).collect();
    let mut r = s.0.lock().unwrap();
    r.messages += 1;
    r.bytes += bytes.len() as u64;
    if needles.is_empty() {
        r.data.extend_from_slice(bytes);
    } else {
        if r.counts.is_empty() {
            r.counts = vec![0; needles.len()];
        }
        for (c, n) in r.counts.iter_mut().zip(counted) {
            *c += n;
        }
        let keep = bytes.len().min(4096);
        r.tail.extend_from_slice(&bytes[bytes.len() - keep..]);
        let cut = r.tail.len().saturating_sub(4096);
        r.tail.drain(..cut);
    }
    s.1.notify_all();
}

impl Drop for Client {
    fn drop(&mut self) {
        if let Some(t) = self.thread.take() {
            let _ = self.raw.shutdown(Shutdown::Both);
            let _ = t.join();
        }
    }
}

// Searches through std's (optimised) string matching: the clients must keep
// up with the program even in a debug build.
pub fn contains(hay: &[u8], needle: &[u8]) -> bool {
    match (std::str::from_utf8(hay), std::str::from_utf8(needle)) {
        (Ok(h), Ok(n)) => h.contains(n),
        _ => hay.windows(needle.len()).any(|w| w == needle),
    }
}

pub fn count(hay: &[u8], needle: &[u8]) -> usize {
    match (std::str::from_utf8(hay), std::str::from_utf8(needle)) {
        (Ok(h), Ok(n)) => h.matches(n).count(),
        _ => hay.windows(needle.len()).filter(|w| *w == needle).count(),
    }
}

/// Sends raw bytes as an HTTP request; returns (status, whole response).
pub fn raw_http(addr: SocketAddr, request: &[u8]) -> (u16, String) {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(PATIENCE)).unwrap();
    s.write_all(request).unwrap();
    let mut out = Vec::new();
    let _ = s.read_to_end(&mut out);
    let text = String::from_utf8_lossy(&out).into_owned();
    let status = text
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    (status, text)
}

/// `GET path` with a proper Host.
pub fn get(addr: SocketAddr, path: &str) -> (u16, String) {
    raw_http(
        addr,
        format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n").as_bytes(),
    )
}

/// The value of a metric line `name{labels} value` in a Prometheus text.
pub fn metric(text: &str, series: &str) -> Option<f64> {
    text.lines().filter(|l| !l.starts_with('#')).find_map(|l| {
        let (name, value) = l.rsplit_once(' ')?;
        (name == series).then(|| value.parse().ok())?
    })
}

/// Waits for `cond` to hold, polling every 10 ms; false on timeout.
pub fn eventually(timeout: Duration, mut cond: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + timeout;
    loop {
        if cond() {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}
