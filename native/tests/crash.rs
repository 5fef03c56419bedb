//! K1: a crash loses at most the last ~100 ms of the trace.
//!
//! The test binary runs itself as a child with `ACTRACE_FILE` set. The child
//! traces a burst of spans named `early-N`, then keeps tracing `tick` spans
//! for 300 ms (three times the promised bound), says "ready", and goes on
//! until it is killed with SIGKILL: no exit handler runs. Every `early-N`
//! span must be in the file. (A child left behind exits after 30 s.)

use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const CHILD_ENV: &str = "ACTRACE_CRASH_TEST_CHILD";
// Few enough events that no batch fills up: only the writer's periodic
// collection can have written them.
const EARLY: usize = 100;

#[test]
fn k1_crash_loses_at_most_the_last_100_ms() {
    if std::env::var_os(CHILD_ENV).is_some() {
        child();
    }
    let dir = std::env::temp_dir().join(format!("actrace-crash-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("crash.json");
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "k1_crash_loses_at_most_the_last_100_ms",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD_ENV, "1")
        .env("ACTRACE_FILE", &path)
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    // Whatever happens below, the child must not outlive the test.
    struct KillOnDrop(std::process::Child);
    impl Drop for KillOnDrop {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
    let stdout = child.stdout.take().unwrap();
    let mut child = KillOnDrop(child);
    let mut lines = BufReader::new(stdout).lines();
    let ready = lines
        .by_ref()
        .map_while(Result::ok)
        .any(|l| l.trim_end().ends_with("ready"));
    assert!(ready, "the child never said ready");
    child.0.kill().unwrap();
    let status = child.0.wait().unwrap();
    assert!(!status.success(), "the child was killed, not exited");

    let bytes = std::fs::read(&path).unwrap();
    std::fs::remove_dir_all(&dir).unwrap();
    let trace =
        actrace_core::parse::read_trace(&bytes).expect("a killed program's trace still reads (C4)");
    assert!(
        !trace.complete,
        "nobody closed the array of a killed program"
    );
    let early = trace
        .slices
        .iter()
        .filter(|s| s.name.starts_with("early-"))
        .count();
    assert_eq!(early, EARLY, "early spans lost in the crash");
    assert!(
        !trace.open_slices.is_empty(),
        "the root task was still open when the program died"
    );
}

fn child() -> ! {
    let mut root = actrace::root_task("crash-child");
    for i in 0..EARLY {
        let _s = root.span(format!("early-{i}"));
    }
    // Then a span every 5 ms (a paced workload, so the file stays
    // small), until killed; a child left behind stops by itself.
    let start = Instant::now();
    let mut said_ready = false;
    while start.elapsed() < Duration::from_secs(30) {
        drop(root.span("tick"));
        std::thread::sleep(Duration::from_millis(5));
        if !said_ready && start.elapsed() >= Duration::from_millis(300) {
            // Straight to the file descriptor: the test harness captures
            // println! even in a child. The harness may have printed the
            // test's name on the same line, so the parent matches the end.
            let mut out = std::io::stdout().lock();
            out.write_all(b"ready\n").unwrap();
            out.flush().unwrap();
            said_ready = true;
        }
    }
    std::process::exit(3)
}
