//! The live stream mounted on an application's own axum server (cargo
//! feature `axum`): real websocket clients on loopback (K2, C6, K3).
//! Run with `cargo test -p actrace --features axum --test server_axum`.
#![cfg(feature = "axum")]

mod server_util;

use std::net::SocketAddr;
use std::sync::mpsc;

use actrace_core::read_trace;
use server_util::{get, open, Client, PATIENCE};

/// The application: its own route plus actrace's router, on a tokio runtime
/// of its own thread.
fn app_server() -> SocketAddr {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async move {
            let app = axum::Router::new()
                .route(
                    "/hello",
                    axum::routing::get(|| async { "hello from the app" }),
                )
                .merge(actrace::axum::router());
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            tx.send(listener.local_addr().unwrap()).unwrap();
            axum::serve(listener, app).await.unwrap();
        });
    });
    rx.recv_timeout(PATIENCE).unwrap()
}

#[test]
fn k2_axum_handler_streams_with_late_joiner_snapshot() {
    let addr = app_server();
    assert!(get(addr, "/hello").1.contains("hello from the app"));
    // A task open before the client attaches (C6).
    let mut early = actrace::root_task("axum-early");
    let span = early.span("open-span");
    let client = Client::connect(addr);
    let second = Client::connect(addr);
    // Only spans begun after the first client are recorded in full; the
    // snapshot covers the task and span open before it.
    assert!(client.wait_for("\"name\":\"open-span\""));
    {
        let mut t = actrace::root_task("axum-live");
        for _ in 0..100 {
            let _s = t.span("step");
        }
    }
    drop(span);
    drop(early);
    actrace::flush();
    for c in [&client, &second] {
        assert!(c.wait(PATIENCE, |r| {
            read_trace(&r.data).is_ok_and(|t| {
                t.slices.iter().filter(|s| &*s.name == "step").count() == 100
                    && t.slices.iter().any(|s| &*s.name == "axum-early")
            })
        }));
    }
    let trace = read_trace(&client.close()).unwrap();
    assert!(trace.open_slices.iter().all(|s| &*s.name != "axum-early"));
    second.cut();
    // Metrics on the same router.
    let (status, text) = get(addr, "/metrics");
    assert_eq!(status, 200);
    assert!(text.contains("actrace_live_tasks"), "{text}");
}

#[test]
fn k2_axum_handler_refuses_cross_origin() {
    let addr = app_server();
    let refused = open(addr, "/stream", &[("Origin", "http://evil.example")]).map(|_| ());
    assert_eq!(refused.unwrap_err().0, 403);
    let ws = open(addr, "/stream", &[("Origin", &format!("http://{addr}"))]).unwrap();
    Client::with(ws).close();
}

#[test]
fn k3_axum_stuck_client_is_disconnected() {
    let addr = app_server();
    let _stuck = open(addr, "/stream", &[]).unwrap();
    let healthy = Client::counting(addr, &["\"name\":\"axum-k3\"}"]);
    let before = actrace::metrics()
        .consumers_too_slow
        .get("websocket")
        .copied()
        .unwrap_or(0);
    // About 40 MiB of stream: more than the stuck client's bound plus the
    // socket buffers.
    let mut task = actrace::root_task("axum-k3-producer");
    // In rounds, each waiting for the healthy client to catch up: the stuck
    // client falls behind, the healthy one never does (the program's rate
    // with a stuck client is k3_stuck_client_never_blocks_program's).
    let mut made = 0u64;
    for _ in 0..45 {
        for _ in 0..10_000 {
            let _s = task.span("axum-k3");
        }
        made += 10_000;
        actrace::flush();
        let caught_up = healthy.wait(PATIENCE, |r| r.counts.first() == Some(&made));
        let state = healthy.with_received(|r| (r.counts.clone(), r.close.clone()));
        assert!(caught_up, "healthy client: {state:?}, {made} spans made");
    }
    drop(task);
    actrace::flush();
    assert!(server_util::eventually(PATIENCE, || {
        actrace::metrics()
            .consumers_too_slow
            .get("websocket")
            .copied()
            .unwrap_or(0)
            > before
    }));
    assert!(healthy.wait(PATIENCE, |r| r.counts.first() == Some(&made)));
    healthy.close();
}
