//! Who may read the live trace: loopback by default, Host and Origin checks
//! (DNS rebinding, cross-site websocket hijacking), the optional token, and
//! limits on what clients send.

mod server_util;

use server_util::{get, open, raw_http, Client, PATIENCE};
use tungstenite::Message;

#[test]
fn sec_default_bind_is_loopback() {
    for addr in [None, Some(":0"), Some("0")] {
        let builder = actrace::Server::builder();
        let builder = match addr {
            Some(a) => builder.listen(a),
            None => builder,
        };
        let server = builder.start().unwrap();
        assert!(server.local_addr().ip().is_loopback(), "{addr:?}");
        server.stop();
    }
    let err = actrace::serve("not an address").unwrap_err();
    assert!(err.to_string().contains("bad listen address"), "{err}");
}

#[test]
fn sec_cross_origin_upgrade_refused() {
    let server = actrace::Server::builder()
        .allow_origin("https://viewer.example")
        .start()
        .unwrap();
    let addr = server.local_addr();
    for evil in [
        "http://evil.example",
        "null",
        "http://127.0.0.1.evil.example",
        "https://viewer.example.evil",
    ] {
        let (status, body) = open(addr, "/stream", &[("Origin", evil)])
            .map(|_| ())
            .unwrap_err();
        assert_eq!(status, 403, "{evil}: {body}");
        assert!(body.contains("origin"), "{body}");
    }
    // The server's own origin (the bundled viewer), an allowed origin, and
    // no Origin at all (not a browser) are accepted.
    for ok in [
        format!("http://{addr}"),
        "https://viewer.example".to_string(),
    ] {
        let ws = open(addr, "/stream", &[("Origin", &ok)]).expect(&ok);
        Client::with(ws).close();
    }
    Client::connect(addr).close();
    server.stop();
}

#[test]
fn sec_bad_host_refused() {
    let server = actrace::serve("127.0.0.1:0").unwrap();
    let addr = server.local_addr();
    let port = addr.port();
    // DNS rebinding: a page of evil.example whose name now points to
    // 127.0.0.1 sends its own name as Host.
    for path in ["/", "/metrics", "/stream"] {
        let (status, text) = raw_http(
            addr,
            format!("GET {path} HTTP/1.1\r\nHost: evil.example:{port}\r\n\r\n").as_bytes(),
        );
        assert_eq!(status, 403, "{path}: {text}");
        assert!(text.contains("DNS rebinding"), "{text}");
    }
    let refused = open(addr, "/stream", &[("Host", "evil.example")]).map(|_| ());
    assert_eq!(refused.unwrap_err().0, 403);
    // No Host at all (HTTP/1.1 requires one).
    let (status, _) = raw_http(addr, b"GET / HTTP/1.1\r\n\r\n");
    assert_eq!(status, 403);
    // localhost and IP addresses are fine.
    for host in [format!("localhost:{port}"), addr.to_string()] {
        let (status, _) = raw_http(
            addr,
            format!("GET / HTTP/1.1\r\nHost: {host}\r\n\r\n").as_bytes(),
        );
        assert_eq!(status, 200, "{host}");
    }
    server.stop();
}

#[test]
fn sec_token_guards_stream_and_metrics() {
    let server = actrace::Server::builder().token("s3cret").start().unwrap();
    let addr = server.local_addr();
    assert_eq!(open(addr, "/stream", &[]).map(|_| ()).unwrap_err().0, 401);
    assert_eq!(
        open(addr, "/stream?token=wrong", &[])
            .map(|_| ())
            .unwrap_err()
            .0,
        401
    );
    assert_eq!(get(addr, "/metrics").0, 401);
    let ws = open(addr, "/stream?token=s3cret", &[]).unwrap();
    Client::with(ws).close();
    let ws = open(addr, "/stream", &[("Authorization", "Bearer s3cret")]).unwrap();
    Client::with(ws).close();
    let (status, text) = raw_http(
        addr,
        format!("GET /metrics HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer s3cret\r\n\r\n")
            .as_bytes(),
    );
    assert_eq!(status, 200, "{text}");
    // The viewer page opened with ?token= sets a cookie its websocket carries.
    let (status, page) = get(addr, "/?token=s3cret");
    assert_eq!(status, 200);
    assert!(
        page.to_ascii_lowercase()
            .contains("set-cookie: actrace_token=s3cret; path=/; httponly; samesite=strict"),
        "{page}"
    );
    let ws = open(addr, "/stream", &[("Cookie", "actrace_token=s3cret")]).unwrap();
    Client::with(ws).close();
    server.stop();
}

#[test]
fn sec_malformed_requests_get_http_errors() {
    let server = actrace::serve("127.0.0.1:0").unwrap();
    let addr = server.local_addr();
    let cases: Vec<(Vec<u8>, u16)> = vec![
        (b"NOT HTTP AT ALL\r\n\r\n".to_vec(), 400),
        (b"GET / HTTP/1.1\r\nHost: a\r\nBad Header Line\r\n\r\n".to_vec(), 400),
        (
            format!("GET / HTTP/1.1\r\nHost: {addr}\r\nX-Big: {}\r\n\r\n", "x".repeat(20_000))
                .into_bytes(),
            431,
        ),
        (
            format!(
                "GET / HTTP/1.1\r\nHost: {addr}\r\n{}\r\n",
                (0..100).map(|i| format!("X-{i}: y\r\n")).collect::<String>()
            )
            .into_bytes(),
            431,
        ),
        (format!("POST /stream HTTP/1.1\r\nHost: {addr}\r\n\r\n").into_bytes(), 405),
        (format!("GET /nope HTTP/1.1\r\nHost: {addr}\r\n\r\n").into_bytes(), 404),
        (
            // An upgrade without a key.
            format!(
                "GET /stream HTTP/1.1\r\nHost: {addr}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n"
            )
            .into_bytes(),
            400,
        ),
        (b"\xff\xfe\x00garbage\r\n\r\n".to_vec(), 400),
    ];
    for (request, want) in cases {
        let (status, text) = raw_http(addr, &request);
        assert_eq!(
            status,
            want,
            "{:?}: {text}",
            String::from_utf8_lossy(&request[..request.len().min(60)])
        );
    }
    // A client that connects and says nothing, or leaves half-way.
    drop(std::net::TcpStream::connect(addr).unwrap());
    let mut half = std::net::TcpStream::connect(addr).unwrap();
    std::io::Write::write_all(&mut half, b"GET / HT").unwrap();
    drop(half);
    // The server still serves.
    assert_eq!(get(addr, "/").0, 200);
    Client::connect(addr).close();
    server.stop();
}

#[test]
fn sec_client_messages_are_size_limited() {
    let server = actrace::serve("127.0.0.1:0").unwrap();
    let addr = server.local_addr();
    let mut ws = open(addr, "/stream", &[]).unwrap();
    // Small messages from a client are ignored...
    ws.send(Message::text("hello")).unwrap();
    // ...a large one closes it with "message too big" (1009).
    ws.send(Message::text("x".repeat(64 * 1024))).unwrap();
    ws.get_ref().set_read_timeout(Some(PATIENCE)).unwrap();
    let code = loop {
        match ws.read() {
            Ok(Message::Close(frame)) => break frame.map(|f| u16::from(f.code)),
            Ok(_) => continue,
            Err(e) => panic!("no close frame: {e}"),
        }
    };
    assert_eq!(code, Some(1009));
    // Others are unaffected.
    let other = Client::connect(addr);
    {
        let _t = actrace::root_task("sec-after-big-message");
    }
    actrace::flush();
    assert!(other.wait_for("sec-after-big-message"));
    other.close();
    server.stop();
}
