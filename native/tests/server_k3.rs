//! K3: a websocket client that never reads never slows the traced program
//! down, and costs bounded memory; the other clients keep a complete stream.
//! Alone in its test binary, so the rates measured are the program's own.

mod server_util;

use std::time::{Duration, Instant};

use server_util::{open, Client, PATIENCE};

/// Each client may fall this far behind before it is disconnected; the ring
/// holding it is shared by all clients.
const CLIENT_BUFFER: usize = 8 << 20;

fn rss_bytes() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .map_or(0, |kb| kb * 1024)
}

/// Creates spans as fast as it can for `time`; returns how many, and the
/// highest RSS seen.
fn spans_for(task: &mut actrace::Task, time: Duration) -> (u64, u64) {
    let start = Instant::now();
    let mut n = 0u64;
    let mut peak = rss_bytes();
    while start.elapsed() < time {
        for _ in 0..1000 {
            let _s = task.span("s");
        }
        n += 1000;
        if n.is_multiple_of(50_000) {
            peak = peak.max(rss_bytes());
        }
    }
    (n, peak.max(rss_bytes()))
}

#[test]
fn k3_stuck_client_never_blocks_program() {
    let server = actrace::Server::builder()
        .client_buffer(CLIENT_BUFFER)
        .start()
        .unwrap();
    let addr = server.local_addr();
    let healthy = Client::counting(addr, &["\"name\":\"s\"}", "\"ph\":\"B\"", "\"ph\":\"E\""]);
    let mut task = actrace::root_task("k3-producer");
    // Warm up (thread-local buffers, the writer's pools), then measure the
    // rate with one healthy client.
    let (n_warm, _) = spans_for(&mut task, Duration::from_millis(300));
    let phase = Duration::from_millis(1500);
    let rss_before = rss_bytes();
    let (n_alone, _) = spans_for(&mut task, phase);
    // A client that never reads.
    let stuck = open(addr, "/stream", &[]).expect("upgrade");
    let slow_before = actrace::metrics()
        .consumers_too_slow
        .get("websocket")
        .copied()
        .unwrap_or(0);
    let (n_stuck, rss_peak) = spans_for(&mut task, phase);
    drop(task);
    actrace::flush();

    let rate_alone = n_alone as f64 / phase.as_secs_f64();
    let rate_stuck = n_stuck as f64 / phase.as_secs_f64();
    let growth = rss_peak.saturating_sub(rss_before);
    eprintln!(
        "k3: {rate_alone:.0} spans/s with one healthy client, {rate_stuck:.0} spans/s with a stuck client too; \
         RSS {} MiB before, peak {} MiB (+{} MiB)",
        rss_before >> 20,
        rss_peak >> 20,
        growth >> 20
    );
    // The stuck client was disconnected for falling behind...
    let m = actrace::metrics();
    let slow_after = m.consumers_too_slow.get("websocket").copied().unwrap_or(0);
    assert_eq!(
        slow_after,
        slow_before + 1,
        "the stuck client was not disconnected"
    );
    assert!(m.events_dropped.get("websocket").copied().unwrap_or(0) > 0);
    // ...the program ran on at (at least a third of) its speed: stated bound...
    assert!(
        rate_stuck * 3.0 >= rate_alone,
        "span rate fell from {rate_alone:.0}/s to {rate_stuck:.0}/s with a stuck client"
    );
    // ...memory stayed bounded: the clients' one ring, and 48 MiB for the
    // kernel's socket buffers, the healthy client's reading and the
    // allocator.
    let bound = CLIENT_BUFFER as u64 + (48 << 20);
    assert!(
        growth <= bound,
        "RSS grew by {} MiB (bound {} MiB)",
        growth >> 20,
        bound >> 20
    );
    // ...and the healthy client has the complete stream: every span, and
    // every begin ended.
    let total = n_warm + n_alone + n_stuck;
    let complete = healthy.wait(PATIENCE, |r| {
        r.counts.len() == 3 && r.counts[0] == total && r.counts[1] == r.counts[2]
    });
    let counts = healthy.with_received(|r| r.counts.clone());
    assert!(
        complete,
        "healthy client got {counts:?} (span, B, E), {total} spans made"
    );
    healthy.close();
    // The stuck client was told why, if it ever reads again.
    drop(stuck);
    server.stop();
}
