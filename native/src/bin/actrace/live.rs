//! `actrace demo --listen ADDR`: the demo as a live program to watch. The
//! workload runs again and again, with the live server's viewer at ADDR,
//! until Ctrl-C or `--duration`.

use std::io::Write;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use crate::fail::Failure;

/// The live-demo flags of `actrace demo`.
#[derive(clap::Args)]
pub(crate) struct LiveArgs {
    /// Serve the live trace and its viewer at ADDR (PORT, :PORT or HOST:PORT;
    /// loopback unless a host is given) and run the workload in a loop. The
    /// trace then goes to the live stream only (save it with `actrace attach`).
    #[arg(long, value_name = "ADDR")]
    pub(crate) listen: Option<String>,
    /// With --listen: stop after SECS seconds [default: run until Ctrl-C].
    #[arg(long, value_name = "SECS", requires = "listen")]
    pub(crate) duration: Option<f64>,
}

/// Pause between two runs of the workload, so a viewer can follow.
const PAUSE: Duration = Duration::from_millis(200);

/// Serves the live trace at `addr` and calls `round` until Ctrl-C or the
/// deadline; then closes every client's stream (valid JSON) and stops.
pub(crate) fn run_demo(
    args: &LiveArgs,
    addr: &str,
    mut round: impl FnMut() -> Result<(), String>,
) -> Result<(), Failure> {
    let mut builder = actrace::Server::builder().listen(addr);
    if let Some(token) = std::env::var("ACTRACE_TOKEN")
        .ok()
        .filter(|t| !t.is_empty())
    {
        builder = builder.token(token);
    }
    let server = builder
        .start()
        .map_err(|e| Failure::cannot(format!("actrace demo: {e}")))?;
    let (stop_tx, stop_rx) = mpsc::channel::<()>();
    let on_ctrl_c = stop_tx.clone();
    // Without a handler Ctrl-C would kill us with the clients' arrays open.
    if let Err(e) = ctrlc::set_handler(move || {
        let _ = on_ctrl_c.send(());
    }) {
        eprintln!("actrace demo: cannot handle Ctrl-C ({e}); stop with --duration");
    }
    let deadline = args
        .duration
        .map(|s| Instant::now() + Duration::from_secs_f64(s.max(0.0)));
    {
        let mut stdout = std::io::stdout().lock();
        let _ = writeln!(
            stdout,
            "actrace demo: live trace at {} (stream: {}); {}",
            server.url(),
            server.stream_url(),
            if deadline.is_some() {
                "stops after --duration"
            } else {
                "Ctrl-C to stop"
            }
        );
        let _ = stdout.flush();
    }
    let mut rounds = 0u64;
    let outcome = loop {
        if let Err(e) = round() {
            break Err(e);
        }
        rounds += 1;
        let wait = match deadline {
            Some(d) => {
                let left = d.saturating_duration_since(Instant::now());
                if left.is_zero() {
                    break Ok(());
                }
                left.min(PAUSE)
            }
            None => PAUSE,
        };
        match stop_rx.recv_timeout(wait) {
            Ok(()) | Err(mpsc::RecvTimeoutError::Disconnected) => break Ok(()),
            Err(mpsc::RecvTimeoutError::Timeout) => {}
        }
    };
    drop(stop_tx);
    // Every client gets the end of its array, then a normal close.
    actrace::shutdown();
    server.stop();
    println!("actrace demo: ran the workload {rounds} times");
    outcome.map_err(|e| Failure::bad(format!("actrace demo: {e}")))
}
