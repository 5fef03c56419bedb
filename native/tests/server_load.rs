//! K2 under load on loopback: many clients at a steady event rate, and
//! clients attaching and detaching while the program runs. Bounded in count
//! and time; each test stops by itself.

mod server_util;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use actrace_core::read_trace;
use server_util::{eventually, Client, PATIENCE};

/// The two tests count clients: one at a time.
static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// N clients, M spans per second for a fixed time: every client receives
/// every span, balanced.
#[test]
fn k2_load_n_clients_m_spans_per_second() {
    const CLIENTS: usize = 8;
    const SPANS_PER_SEC: u64 = 20_000;
    const RUN: Duration = Duration::from_secs(2);
    let _serial = SERIAL.lock().unwrap_or_else(|p| p.into_inner());
    let server = actrace::serve("127.0.0.1:0").unwrap();
    let addr = server.local_addr();
    let needles = ["\"name\":\"load-span\"}", "\"ph\":\"B\"", "\"ph\":\"E\""];
    let clients: Vec<Client> = (0..CLIENTS)
        .map(|_| Client::counting(addr, &needles))
        .collect();
    // Paced producer: a batch every 10 ms, catching up if it falls behind.
    let mut task = actrace::root_task("load-producer");
    let start = Instant::now();
    let mut made = 0u64;
    while start.elapsed() < RUN {
        let due = (start.elapsed().as_secs_f64() * SPANS_PER_SEC as f64) as u64;
        while made < due {
            let _s = task.span("load-span");
            made += 1;
        }
        std::thread::sleep(Duration::from_millis(10)); // pacing, not synchronisation
    }
    drop(task);
    actrace::flush();
    let rate = made as f64 / start.elapsed().as_secs_f64();
    eprintln!("load: {made} spans at {rate:.0}/s to {CLIENTS} clients");
    assert!(made >= SPANS_PER_SEC * RUN.as_secs() * 9 / 10);
    for (i, c) in clients.into_iter().enumerate() {
        // Other tests' lanes may be open in this process: only ours count.
        let done = c.wait(PATIENCE, |r| {
            r.counts.len() == 3
                && r.counts[0] == made
                && server_util::contains(&r.tail, b"\"ph\":\"E\"")
        });
        let counts = c.with_received(|r| (r.counts.clone(), r.close.clone()));
        assert!(done, "client {i}: {counts:?}, {made} spans made");
        c.close();
    }
    server.stop();
}

/// Clients attach and detach (cleanly or by dropping the connection) at any
/// time while tasks and spans come and go: every stream each one received
/// reads back well-formed (C4, C6), and the server ends up with no client.
#[test]
fn k2_clients_attach_and_detach_under_load() {
    let _serial = SERIAL.lock().unwrap_or_else(|p| p.into_inner());
    let server = actrace::serve("127.0.0.1:0").unwrap();
    let addr = server.local_addr();
    let connected = || {
        actrace::metrics()
            .consumers_connected
            .get("websocket")
            .copied()
            .unwrap_or(0)
    };
    let stop = Arc::new(AtomicBool::new(false));
    // Producers: tasks with children and nested spans, bounded in time.
    let producers: Vec<_> = (0..2)
        .map(|p| {
            let stop = stop.clone();
            std::thread::spawn(move || {
                let deadline = Instant::now() + Duration::from_secs(10);
                let mut rounds = 0u64;
                while !stop.load(Ordering::SeqCst) && Instant::now() < deadline {
                    let mut t = actrace::root_task(format!("churn-{p}"));
                    let outer = t.span("outer");
                    let child = outer.task("churn-child");
                    {
                        let mut c = child;
                        for _ in 0..50 {
                            let _a = c.span("child-step");
                        }
                    }
                    drop(outer);
                    for _ in 0..20 {
                        let _s = t.span("step");
                    }
                    rounds += 1;
                }
                rounds
            })
        })
        .collect();
    // Churners: attach, read until something arrived, detach; 6 threads x 6.
    let churners: Vec<_> = (0..6)
        .map(|i| {
            std::thread::spawn(move || {
                let mut streams = Vec::new();
                for round in 0..6 {
                    let c = Client::connect(addr);
                    assert!(c.wait(PATIENCE, |r| r.data.len() > 2000 * (1 + round % 3)));
                    let data = if (i + round) % 2 == 0 {
                        c.close()
                    } else {
                        c.cut()
                    };
                    streams.push(data);
                }
                streams
            })
        })
        .collect();
    let mut checked = 0;
    for h in churners {
        for data in h.join().unwrap() {
            let trace = read_trace(&data)
                .unwrap_or_else(|e| panic!("a detached client's stream is malformed: {e}"));
            assert!(trace.process_name.is_some());
            // Every E had its B: read_trace refuses an unmatched end; and no
            // lane's slices go back in time.
            assert_eq!(trace.dropped_events, 0);
            checked += 1;
        }
    }
    stop.store(true, Ordering::SeqCst);
    let rounds: u64 = producers.into_iter().map(|h| h.join().unwrap()).sum();
    assert!(rounds > 0);
    assert_eq!(checked, 36);
    // A last client, attached after everything ended, sees a well-formed
    // stream with no churn lane left open.
    actrace::flush();
    let last = Client::connect(addr);
    {
        let _marker = actrace::root_task("churn-done");
    }
    actrace::flush();
    assert!(last.wait_for("\"name\":\"churn-done\""));
    let trace = read_trace(&last.close()).unwrap();
    for s in &trace.open_slices {
        let lane = trace.lanes[s.lane].name.as_deref().unwrap_or("");
        assert!(!lane.starts_with("churn"), "{lane} left open: {}", s.name);
    }
    // Every client left the writer.
    assert!(
        eventually(PATIENCE, || connected() == 0),
        "{} websocket consumers still attached",
        connected()
    );
    server.stop();
}
