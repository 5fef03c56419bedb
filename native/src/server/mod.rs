//! The live server (SPEC K2, K3, M3): an HTTP endpoint inside the traced
//! program, on its own threads, with no async runtime asked of the program.
//!
//! - `/` serves the bundled viewer (embedded from `www/`), which connects to
//! - `/stream`, the websocket of the live trace: each client gets its own C4
//!   stream (`[`, the process name, the C6 snapshot of lane names and open
//!   slices, then the live events); every text message holds whole events;
//! - `/metrics`, actrace's metrics in the Prometheus text format.
//!
//! Threads: one accept thread (`actrace-http`) and one thread per connection;
//! a websocket connection's thread stays as that client's sender. The
//! background writer copies its output once into a ring shared by all
//! clients and never touches a socket, so neither the traced program nor the
//! writer ever waits on a client.
//!
//! Slow clients (K3): the ring holds at most [`ServerBuilder::client_buffer`]
//! bytes of stream (default 4 MiB), **shared by all clients**, so the
//! memory live clients cost does not grow with their number or their
//! slowness. Each client sends from its own position in it; what every
//! client has sent is freed at once. A client that falls further behind than
//! the ring holds (beyond what the kernel's socket buffers already took for
//! it) is lapped: it is **disconnected** with close code 1008 and a reason
//! saying so, and the events it never got are counted in
//! `actrace_consumer_events_dropped_total` (and the client in
//! `actrace_consumers_disconnected_total{reason="slow"}`). It never gets a
//! stream with holes, so what it received stays balanced (B/E); the viewer
//! reconnects and starts again from a fresh snapshot (C6). A client that
//! stops reading is given 2 s to take its close frame, then its socket is
//! shut down and its thread ends.
//!
//! The trade-off: 4 MiB is about 60 ms of stream at a million spans per
//! second (about 67 MB/s of JSON), 0.6 s at 100,000 and 6 s at 10,000. The
//! ring only has to bridge the moments the client's thread is not running;
//! a client whose network is slow is also covered by the socket's kernel
//! buffer (up to `net.ipv4.tcp_wmem`'s maximum, 4 MiB by default on Linux),
//! which is not the program's memory. A client that must keep up with more
//! (e.g. `actrace attach` recording a very busy program) needs a larger
//! [`ServerBuilder::client_buffer`].
//!
//! Security: the default address is loopback; another one is the caller's
//! explicit choice. Every request's `Host` must be an IP address,
//! `localhost` or an allowed name (DNS rebinding); a websocket upgrade with an
//! `Origin` must come from the server's own origin or an allowed one
//! (cross-site websocket hijacking); an optional token guards `/stream` and
//! `/metrics`. Request heads are limited to 16 KiB and 64 headers, client
//! websocket messages to 4 KiB; malformed requests get a 4xx answer.

mod assets;
#[cfg(feature = "axum")]
pub mod axum;
mod broadcast;
mod http;
mod piece_pool;
mod security;
mod websocket;

use std::io;
use std::net::{SocketAddr, TcpListener, TcpStream, ToSocketAddrs};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, OnceLock};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::runtime::Runtime;
use broadcast::Broadcast;
use security::Policy;

/// Default size of the ring shared by a server's websocket clients.
pub(crate) const DEFAULT_CLIENT_BUFFER: usize = 4 << 20;
/// Default bound on simultaneous connections.
const DEFAULT_MAX_CONNECTIONS: usize = 64;

/// A running live server. Dropping the handle leaves the server running for
/// the rest of the program; [`Server::stop`] stops it.
pub struct Server {
    shared: Arc<Shared>,
    accept: Option<JoinHandle<()>>,
}

/// Settings of a live server; [`ServerBuilder::start`] starts it.
#[derive(Clone, Debug)]
pub struct ServerBuilder {
    addr: String,
    policy: Policy,
    client_buffer: usize,
    max_connections: usize,
    trace_file: Option<PathBuf>,
}

pub(crate) struct Shared {
    pub(crate) rt: &'static Runtime,
    pub(crate) policy: Policy,
    /// The ring every websocket client of this server reads.
    pub(crate) hub: Arc<Broadcast>,
    pub(crate) registry: prometheus::Registry,
    /// Served at `/trace.json` (`actrace view FILE`).
    pub(crate) trace_file: Option<PathBuf>,
    local: SocketAddr,
    max_connections: usize,
    stopping: AtomicBool,
    connections: Mutex<usize>,
    idle: Condvar,
}

/// Starts the live server on `addr` with default settings: `"9000"` or
/// `":9000"` means `127.0.0.1:9000`; `"127.0.0.1:0"` picks a free port (see
/// [`Server::local_addr`]). Recording starts now, so spans already open when
/// a client attaches show their real start times (C6).
///
/// Without code, set `ACTRACE_LISTEN=ADDR` (same forms); the server then
/// starts with the program's first traced activity. `ACTRACE_TOKEN`,
/// `ACTRACE_ALLOW_ORIGIN` and `ACTRACE_ALLOW_HOST` (comma-separated) do what
/// [`ServerBuilder::token`], [`ServerBuilder::allow_origin`] and
/// [`ServerBuilder::allow_host`] do.
///
/// ```no_run
/// let server = actrace::serve("127.0.0.1:9000")?;
/// println!("watch at {}", server.url());
/// # Ok::<(), std::io::Error>(())
/// ```
pub fn serve(addr: &str) -> io::Result<Server> {
    Server::builder().listen(addr).start()
}

impl Default for ServerBuilder {
    fn default() -> Self {
        ServerBuilder {
            addr: "127.0.0.1:0".into(),
            policy: Policy::default(),
            client_buffer: DEFAULT_CLIENT_BUFFER,
            max_connections: DEFAULT_MAX_CONNECTIONS,
            trace_file: None,
        }
    }
}

/// Where a server built with [`ServerBuilder::trace_file`] serves the file.
pub(crate) const TRACE_PATH: &str = "/trace.json";

impl ServerBuilder {
    /// The address to listen on (default `127.0.0.1:0`, loopback). A port
    /// alone means loopback; any other host is an explicit choice.
    pub fn listen(mut self, addr: &str) -> Self {
        self.addr = addr.to_string();
        self
    }

    /// Requires `token` on `/stream` and `/metrics`: as `?token=`, an
    /// `Authorization: Bearer` header, or the cookie that `/?token=` sets.
    pub fn token(mut self, token: impl Into<String>) -> Self {
        self.policy.token = Some(token.into()).filter(|t| !t.is_empty());
        self
    }

    /// Allows websocket upgrades from pages of `origin` (`scheme://host[:port]`)
    /// besides the server's own.
    pub fn allow_origin(mut self, origin: impl Into<String>) -> Self {
        self.policy.allowed_origins.push(origin.into());
        self
    }

    /// Allows requests whose `Host` is `name` (besides IP addresses and
    /// `localhost`), e.g. the machine's DNS name when listening on all
    /// interfaces.
    pub fn allow_host(mut self, name: impl Into<String>) -> Self {
        self.policy
            .allowed_hosts
            .push(name.into().to_ascii_lowercase());
        self
    }

    /// Bytes of stream a client may fall behind before it is disconnected
    /// (K3; default 4 MiB, at least 64 KiB). They are held once for all
    /// clients (a ring every client reads at its own position), so this is
    /// the memory the live stream may take, whatever the number of clients.
    pub fn client_buffer(mut self, bytes: usize) -> Self {
        self.client_buffer = bytes.max(64 << 10);
        self
    }

    /// Simultaneous connections (default 64); more are answered 503.
    pub fn max_connections(mut self, n: usize) -> Self {
        self.max_connections = n.max(1);
        self
    }

    /// Also serves the trace file at `path` at `/trace.json`,
    /// read afresh for each request, so a file still being written shows what
    /// it holds by then. [`Server::trace_url`] is the viewer with it loaded.
    /// Such a server does not start recording by itself: it shows a file, not
    /// necessarily this program (`/stream` still works).
    pub fn trace_file(mut self, path: impl Into<PathBuf>) -> Self {
        self.trace_file = Some(path.into());
        self
    }

    /// Binds and starts the server and starts recording.
    pub fn start(self) -> io::Result<Server> {
        self.start_on(Runtime::global())
    }

    fn start_on(self, rt: &'static Runtime) -> io::Result<Server> {
        let addrs = parse_listen(&self.addr)?;
        let listener = TcpListener::bind(&addrs[..]).map_err(|e| {
            io::Error::new(e.kind(), format!("cannot listen on {}: {e}", self.addr))
        })?;
        let local = listener.local_addr()?;
        let registry = prometheus::Registry::new();
        let collector =
            crate::metrics::ActraceCollector::new().map_err(|e| io::Error::other(e.to_string()))?;
        registry
            .register(Box::new(collector))
            .map_err(|e| io::Error::other(e.to_string()))?;
        let shared = Arc::new(Shared {
            rt,
            policy: self.policy,
            hub: Broadcast::new(self.client_buffer),
            registry,
            trace_file: self.trace_file,
            local,
            max_connections: self.max_connections,
            stopping: AtomicBool::new(false),
            connections: Mutex::new(0),
            idle: Condvar::new(),
        });
        if shared.trace_file.is_none() {
            rt.start_recording();
        }
        let inner = shared.clone();
        let accept = std::thread::Builder::new()
            .name("actrace-http".into())
            .spawn(move || accept_loop(&inner, listener))?;
        Ok(Server {
            shared,
            accept: Some(accept),
        })
    }
}

impl Server {
    /// Settings for a server; call [`ServerBuilder::start`].
    pub fn builder() -> ServerBuilder {
        ServerBuilder::default()
    }

    /// The address the server listens on (with the port picked, if 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.shared.local
    }

    /// `http://ADDR/`, the viewer's address (loopback for a wildcard bind).
    pub fn url(&self) -> String {
        format!("http://{}/", reachable(self.shared.local))
    }

    /// `http://ADDR/?url=/trace.json`, the viewer with the file of
    /// [`ServerBuilder::trace_file`] loaded (`None` without one).
    pub fn trace_url(&self) -> Option<String> {
        self.shared
            .trace_file
            .as_ref()
            .map(|_| format!("{}?url={TRACE_PATH}", self.url()))
    }

    /// `ws://ADDR/stream`, the live stream's address.
    pub fn stream_url(&self) -> String {
        format!("ws://{}/stream", reachable(self.shared.local))
    }

    /// Stops accepting, closes every client (close code 1001 unless its
    /// stream already ended, in which case it is sent in full first) and
    /// waits up to `grace` for the connection threads to finish.
    pub fn stop_within(mut self, grace: Duration) {
        self.shared.stopping.store(true, Ordering::SeqCst);
        // Wake the accept thread.
        let _ = TcpStream::connect_timeout(&reachable(self.shared.local), Duration::from_secs(1));
        if let Some(accept) = self.accept.take() {
            let _ = accept.join();
        }
        self.shared.hub.stop_all();
        let deadline = Instant::now() + grace;
        let mut n = self
            .shared
            .connections
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        while *n > 0 {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                break;
            }
            n = self
                .shared
                .idle
                .wait_timeout(n, left)
                .unwrap_or_else(|p| p.into_inner())
                .0;
        }
    }

    /// [`Server::stop_within`] three seconds.
    pub fn stop(self) {
        self.stop_within(Duration::from_secs(3));
    }
}

impl std::fmt::Debug for Server {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Server")
            .field("local_addr", &self.shared.local)
            .finish()
    }
}

/// A connectable address for `addr` (loopback for a wildcard bind).
fn reachable(addr: SocketAddr) -> SocketAddr {
    let mut a = addr;
    if a.ip().is_unspecified() {
        a.set_ip(match a {
            SocketAddr::V4(_) => std::net::Ipv4Addr::LOCALHOST.into(),
            SocketAddr::V6(_) => std::net::Ipv6Addr::LOCALHOST.into(),
        });
    }
    a
}

/// `PORT` and `:PORT` mean loopback; anything else is resolved as given.
pub(crate) fn parse_listen(addr: &str) -> io::Result<Vec<SocketAddr>> {
    let addr = addr.trim();
    let bad = || {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("bad listen address {addr:?}: expected PORT, :PORT or HOST:PORT (e.g. 127.0.0.1:9000)"),
        )
    };
    let port_only = addr.strip_prefix(':').unwrap_or(addr);
    if !port_only.is_empty() && port_only.bytes().all(|b| b.is_ascii_digit()) {
        let port: u16 = port_only.parse().map_err(|_| bad())?;
        return Ok(vec![SocketAddr::from(([127, 0, 0, 1], port))]);
    }
    let addrs: Vec<SocketAddr> = addr.to_socket_addrs().map_err(|_| bad())?.collect();
    if addrs.is_empty() {
        return Err(bad());
    }
    Ok(addrs)
}

/// Decrements the connection count when a connection thread ends, even by
/// a panic.
struct ConnectionSlot(Arc<Shared>);

impl Drop for ConnectionSlot {
    fn drop(&mut self) {
        let mut n = self.0.connections.lock().unwrap_or_else(|p| p.into_inner());
        *n -= 1;
        drop(n);
        self.0.idle.notify_all();
    }
}

fn accept_loop(shared: &Arc<Shared>, listener: TcpListener) {
    for stream in listener.incoming() {
        if shared.stopping.load(Ordering::SeqCst) {
            return;
        }
        let Ok(stream) = stream else {
            // Out of file descriptors or the like: do not spin.
            std::thread::sleep(Duration::from_millis(10));
            continue;
        };
        let peer = match stream.peer_addr() {
            Ok(p) => p,
            Err(_) => continue,
        };
        {
            let mut n = shared.connections.lock().unwrap_or_else(|p| p.into_inner());
            if *n >= shared.max_connections {
                drop(n);
                http::refuse_busy(stream);
                continue;
            }
            *n += 1;
        }
        let slot = ConnectionSlot(shared.clone());
        let spawned = std::thread::Builder::new()
            .name("actrace-http-conn".into())
            .spawn(move || {
                let slot = slot;
                http::handle(&slot.0, stream, peer);
            });
        if let Err(e) = spawned {
            eprintln!("actrace: live server cannot start a connection thread: {e}");
        }
    }
}

/// Keeps the server started from `ACTRACE_LISTEN` for the program's life.
static ENV_SERVER: OnceLock<Server> = OnceLock::new();

/// Starts the server named by `ACTRACE_LISTEN` (with `ACTRACE_TOKEN`,
/// `ACTRACE_ALLOW_ORIGIN` and `ACTRACE_ALLOW_HOST`, comma-separated). A bad
/// address gives one line on stderr and the program runs on.
pub(crate) fn serve_from_env(rt: &'static Runtime, addr: &str) {
    let mut builder = Server::builder().listen(addr);
    if let Ok(token) = std::env::var("ACTRACE_TOKEN") {
        builder = builder.token(token);
    }
    for origin in list_var("ACTRACE_ALLOW_ORIGIN") {
        builder = builder.allow_origin(origin);
    }
    for host in list_var("ACTRACE_ALLOW_HOST") {
        builder = builder.allow_host(host);
    }
    let has_token = builder.policy.token.is_some();
    match builder.start_on(rt) {
        Ok(server) => {
            let local = server.local_addr();
            if !local.ip().is_loopback() && !has_token {
                eprintln!(
                    "actrace: the live trace on {local} is reachable from other machines, without ACTRACE_TOKEN"
                );
            }
            eprintln!("actrace: live trace at {} (stream: {})", server.url(), server.stream_url());
            let _ = ENV_SERVER.set(server);
        }
        Err(e) => eprintln!(
            "actrace: cannot serve the live trace (ACTRACE_LISTEN={addr:?}): {e}; the program runs on without it"
        ),
    }
}

fn list_var(name: &str) -> Vec<String> {
    std::env::var(name)
        .unwrap_or_default()
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect()
}
