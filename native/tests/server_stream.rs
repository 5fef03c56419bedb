//! The live server's stream, viewer and metrics with real websocket clients
//! on loopback (SPEC K2, C4, C6, M1–M3).

mod server_util;

use std::time::Instant;

use actrace_core::read_trace;
use server_util::{contains, get, metric, Client, PATIENCE};

fn close_array(mut bytes: Vec<u8>) -> Vec<u8> {
    if !bytes.ends_with(b"]\n") {
        bytes.extend_from_slice(b"\n]\n");
    }
    bytes
}

/// The index of the lane named `name` in a trace read back.
fn lane(trace: &actrace_core::Trace, name: &str) -> Option<usize> {
    trace
        .lanes
        .iter()
        .position(|l| l.name.as_deref() == Some(name))
}

#[test]
fn k2_stream_is_c4_framed_per_client() {
    let server = actrace::serve("127.0.0.1:0").unwrap();
    let a = Client::connect(server.local_addr());
    let b = Client::connect(server.local_addr());
    {
        let mut task = actrace::root_task("k2-framing");
        for _ in 0..10 {
            let _s = task.span("step");
        }
    }
    actrace::flush();
    for c in [&a, &b] {
        assert!(c.wait_for("\"name\":\"k2-framing\""));
        // Every span and the task ended, however the writer encodes them.
        let all = c.wait(PATIENCE, |r| {
            read_trace(&r.data).is_ok_and(|t| {
                t.slices.iter().filter(|s| &*s.name == "step").count() == 10
                    && t.slices.iter().any(|s| &*s.name == "k2-framing")
            })
        });
        assert!(all, "{}", String::from_utf8_lossy(&c.data()));
        let data = c.data();
        // Each client gets its own array opening and process name.
        assert!(data.starts_with(b"[\n{\"ph\":\"M\",\"pid\":1,\"name\":\"process_name\""));
        // Every message holds whole events: the data never ends mid-event.
        assert!(
            data.ends_with(b"}"),
            "{}",
            String::from_utf8_lossy(&data[data.len() - 20..])
        );
    }
    // Messages arrive in whole events: each one read back alone after the
    // first is a sequence of complete lines.
    let data = a.close();
    let trace = read_trace(&close_array(data)).unwrap();
    let l = lane(&trace, "k2-framing#0").expect("lane named");
    assert_eq!(
        trace
            .slices
            .iter()
            .filter(|s| s.lane == l && &*s.name == "step")
            .count(),
        10
    );
    b.cut();
    server.stop();
}

#[test]
fn c6_late_joiner_sees_live_tasks() {
    let server = actrace::serve("127.0.0.1:0").unwrap();
    let addr = server.local_addr();
    // Tasks and spans open before the client attaches.
    let mut parent = actrace::root_task("c6-parent");
    let outer = parent.span("outer");
    let child = outer.task("c6-child");
    let (cctx, cdone) = child.context().with_span("child-span");
    let begun = Instant::now();
    // Events that happened and ended before the client: not replayed.
    {
        let _gone = outer.task("c6-gone");
    }
    actrace::flush();
    let client = Client::connect(addr);
    assert!(client.wait_for("\"name\":\"child-span\""));
    let head = client.data();
    // Lane names and begin events of every live task and open span.
    for needle in [
        "\"thread_name\",\"args\":{\"name\":\"c6-parent#0\"}",
        "\"thread_name\",\"args\":{\"name\":\"c6-child#0\"}",
        "\"name\":\"c6-parent\"",
        "\"name\":\"outer\"",
        "\"name\":\"c6-child\"",
        "\"name\":\"child-span\"",
    ] {
        assert!(contains(&head, needle.as_bytes()), "missing {needle}");
    }
    assert!(
        !contains(&head, b"\"name\":\"c6-gone\",\"args\""),
        "ended task replayed"
    );
    // Its view is correct from the first frame: the snapshot alone reads
    // back with the four slices open, at their real start times.
    let snap = read_trace(&head).unwrap();
    let open: Vec<&str> = snap
        .open_slices
        .iter()
        .filter(|s| {
            let n = snap.lanes[s.lane].name.as_deref().unwrap_or("");
            n.starts_with("c6-parent") || n.starts_with("c6-child")
        })
        .map(|s| &*s.name)
        .collect();
    assert_eq!(open.len(), 4, "{open:?}");
    let _ = begun;
    // Then the live stream: everything ends, and the joined stream is balanced.
    cdone.end();
    drop(cctx);
    drop(child);
    drop(outer);
    drop(parent);
    actrace::flush();
    assert!(client.wait(PATIENCE, |r| {
        let t = read_trace(&r.data);
        t.is_ok_and(|t| {
            t.open_slices.iter().all(|s| {
                let n = t.lanes[s.lane].name.as_deref().unwrap_or("");
                !n.starts_with("c6-")
            })
        })
    }));
    let trace = read_trace(&close_array(client.close())).unwrap();
    let p = lane(&trace, "c6-parent#0").unwrap();
    let c = lane(&trace, "c6-child#0").unwrap();
    let names = |l: usize| -> Vec<&str> {
        trace
            .slices
            .iter()
            .filter(|s| s.lane == l)
            .map(|s| &*s.name)
            .collect()
    };
    assert_eq!(names(p), ["outer", "c6-parent"]);
    assert_eq!(names(c), ["child-span", "c6-child"]);
    server.stop();
}

#[test]
fn k2_viewer_is_served_at_root() {
    let server = actrace::serve("127.0.0.1:0").unwrap();
    let addr = server.local_addr();
    let (status, page) = get(addr, "/");
    assert_eq!(status, 200);
    assert!(
        page.to_ascii_lowercase()
            .contains("content-type: text/html"),
        "{page}"
    );
    let www_index = concat!(env!("CARGO_MANIFEST_DIR"), "/../www/index.html");
    if std::path::Path::new(www_index).exists() {
        assert!(page.contains("actrace viewer"), "{page}");
        // Every file under www/ is embedded, with its type.
        for entry in std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/../www")).unwrap() {
            let name = entry.unwrap().file_name().into_string().unwrap();
            if name.ends_with(".js") {
                let (status, js) = get(addr, &format!("/{name}"));
                assert_eq!(status, 200, "{name}");
                assert!(
                    js.to_ascii_lowercase()
                        .contains("content-type: text/javascript"),
                    "{name}"
                );
            }
        }
    } else {
        assert!(page.contains("not built"), "{page}");
    }
    assert_eq!(get(addr, "/no-such-file.js").0, 404);
    assert_eq!(get(addr, "/../Cargo.toml").0, 404);
    // /stream without an upgrade says what it is.
    let (status, body) = get(addr, "/stream");
    assert_eq!(status, 426, "{body}");
    server.stop();
}

#[test]
fn m1_m3_metrics_move_as_tasks_start_and_end() {
    let server = actrace::serve("127.0.0.1:0").unwrap();
    let addr = server.local_addr();
    let scrape = || {
        let (status, text) = get(addr, "/metrics");
        assert_eq!(status, 200, "{text}");
        text
    };
    let live = |t: &str| metric(t, "actrace_live_tasks").unwrap();
    let before = scrape();
    let live0 = live(&before);
    // Three concurrent tasks of one base name: M1 up by 3, M2 bit vector >= 3.
    let tasks: Vec<_> = (0..3).map(|_| actrace::root_task("m2-base")).collect();
    let during = scrape();
    assert!(live(&during) >= live0 + 3.0, "{during}");
    let bits = metric(&during, "actrace_task_name_suffix_bits{name=\"m2-base\"}").unwrap();
    assert!(bits >= 3.0, "{during}");
    drop(tasks);
    let after = scrape();
    assert!(live(&after) <= live(&during) - 3.0, "{after}");
    // A client attaching is counted; the writer's events are counted.
    let attached =
        |t: &str| metric(t, "actrace_consumers_attached_total{kind=\"websocket\"}").unwrap_or(0.0);
    let a0 = attached(&after);
    let client = Client::connect(addr);
    {
        let _t = actrace::root_task("m3-events");
    }
    actrace::flush();
    assert!(client.wait_for("\"name\":\"m3-events\""));
    let later = scrape();
    assert!(attached(&later) >= a0 + 1.0, "{later}");
    assert!(
        metric(&later, "actrace_events_total").unwrap()
            > metric(&before, "actrace_events_total").unwrap(),
        "{later}"
    );
    client.close();

    // The same metrics into a caller's registry (M3).
    let registry = prometheus::Registry::new();
    actrace::register_metrics(&registry).unwrap();
    let names: Vec<String> = registry
        .gather()
        .iter()
        .map(|f| f.name().to_string())
        .collect();
    for want in ["actrace_live_tasks", "actrace_events_total"] {
        assert!(names.iter().any(|n| n == want), "{names:?}");
    }
    server.stop();
}
