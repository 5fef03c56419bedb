//! K3 with the ring shared by all clients: clients that never read are cut
//! with close code 1008 and a reason, and counted (M3), while a client that
//! reads in the same server gets every event. Alone in its test binary, so
//! the metrics it reads are its own.

mod server_util;

use std::time::Instant;

use server_util::{open, Client, PATIENCE};
use tungstenite::Message;

/// The ring's size: small, so the stuck clients are cut soon.
const RING: usize = 64 << 10;
const STUCK: u64 = 3;
/// Spans per round: about 20 KB of stream, well within the ring, so a
/// client that took everything before a round is never lapped by it.
const ROUND: u64 = 300;

fn too_slow() -> u64 {
    actrace::metrics()
        .consumers_too_slow
        .get("websocket")
        .copied()
        .unwrap_or(0)
}

#[test]
fn k3_stuck_clients_are_cut_with_a_reason_while_a_reader_gets_everything() {
    let server = actrace::Server::builder()
        .client_buffer(RING)
        .start()
        .unwrap();
    let addr = server.local_addr();
    let reader = Client::counting(
        addr,
        &["\"name\":\"ring-span\"}", "\"ph\":\"B\"", "\"ph\":\"E\""],
    );
    let stuck: Vec<_> = (0..STUCK)
        .map(|_| open(addr, "/stream", &[]).expect("upgrade"))
        .collect();
    let mut task = actrace::root_task("ring-producer");
    let mut made = 0u64;
    let deadline = Instant::now() + PATIENCE;
    // The stuck clients' sockets fill up, then the ring: they are lapped.
    // The reader is waited for after each round, so it always has taken
    // everything when the next one comes.
    while too_slow() < STUCK {
        assert!(
            Instant::now() < deadline,
            "{} of {STUCK} stuck clients cut after {made} spans",
            too_slow()
        );
        for _ in 0..ROUND {
            let _s = task.span("ring-span");
        }
        made += ROUND;
        actrace::flush();
        let caught_up = reader.wait(PATIENCE, |r| r.counts.first() == Some(&made));
        let counts = reader.with_received(|r| (r.counts.clone(), r.close.clone()));
        assert!(caught_up, "reader got {counts:?}, {made} spans made");
    }
    eprintln!("ring: {STUCK} stuck clients cut after {made} spans");
    // Each stuck client, reading now, finds what its socket had taken, then
    // the close frame with the reason.
    let closes: Vec<_> = stuck
        .into_iter()
        .map(|mut ws| {
            std::thread::spawn(move || loop {
                match ws.read() {
                    Ok(Message::Close(frame)) => {
                        return frame.map(|f| (u16::from(f.code), f.reason.to_string()))
                    }
                    Ok(_) => continue,
                    Err(e) => panic!("no close frame: {e}"),
                }
            })
        })
        .collect();
    for close in closes {
        let (code, reason) = close.join().unwrap().expect("a close reason");
        assert_eq!(code, 1008, "{reason}");
        assert!(
            reason.contains("too slow") && reason.contains("64 KiB"),
            "{reason}"
        );
    }
    let m = actrace::metrics();
    assert_eq!(m.consumers_too_slow.get("websocket"), Some(&STUCK));
    assert!(m.events_dropped.get("websocket").copied().unwrap_or(0) > 0);
    // The reader goes on and gets the rest, balanced.
    for _ in 0..ROUND {
        let _s = task.span("ring-span");
    }
    made += ROUND;
    drop(task);
    actrace::flush();
    let complete = reader.wait(PATIENCE, |r| {
        r.counts.len() == 3 && r.counts[0] == made && r.counts[1] == r.counts[2]
    });
    let got = reader.with_received(|r| (r.counts.clone(), r.close.clone()));
    assert!(
        complete,
        "reader got {got:?} (span, B, E), {made} spans made"
    );
    assert_eq!(got.1, None, "the reader was closed");
    reader.close();
    server.stop();
}
