//! `actrace attach` end to end against `actrace demo --listen`, Ctrl-C on
//! both, clear errors, and `ACTRACE_LISTEN` in any traced program (K2,
//! SPEC section 6). Real processes on loopback; every one is bounded by a
//! `--duration` or killed when the test ends.

use std::io::{BufRead, BufReader, Read};
use std::path::PathBuf;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use actrace_core::read_trace;

const ACTRACE: &str = env!("CARGO_BIN_EXE_actrace");

fn scratch(test: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join("actrace-live")
        .join(test);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Kills the child when the test ends, whatever happened.
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts `actrace demo --listen 127.0.0.1:0 ARGS` and returns it with its
/// stream URL, read from its first line.
fn demo_listen(args: &[&str], envs: &[(&str, &str)]) -> (Running, String) {
    let dir = scratch(&format!("demo-{}", std::process::id()));
    let mut cmd = Command::new(ACTRACE);
    cmd.args([
        "demo",
        "--listen",
        "127.0.0.1:0",
        "--dirs",
        "4",
        "--files",
        "4",
    ])
    .args(args)
    .current_dir(&dir)
    .stdout(Stdio::piped())
    .stderr(Stdio::piped());
    for (k, v) in envs {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().unwrap();
    let mut first = String::new();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    stdout.read_line(&mut first).unwrap();
    // Keep draining stdout so the demo never blocks on it.
    std::thread::spawn(move || {
        let mut rest = String::new();
        let _ = stdout.read_to_string(&mut rest);
    });
    let url = first
        .split("stream: ")
        .nth(1)
        .and_then(|s| s.split(')').next())
        .unwrap_or_else(|| panic!("no stream URL in {first:?}"))
        .to_string();
    (Running(child), url)
}

fn wait_with_timeout(child: &mut Child, timeout: Duration) -> std::process::ExitStatus {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        assert!(
            Instant::now() < deadline,
            "process did not end in {timeout:?}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn sigint(child: &Child) {
    let ok = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap()
        .success();
    assert!(ok);
}

fn attach(args: &[&str]) -> Output {
    Command::new(ACTRACE)
        .arg("attach")
        .args(args)
        .output()
        .unwrap()
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

#[test]
fn attach_saves_demo_listen_stream_as_valid_json() {
    let (mut demo, url) = demo_listen(&["--duration", "3"], &[]);
    let dir = scratch("attach-file");
    let out = dir.join("live.json");
    let attached = attach(&[&url, "--out", out.to_str().unwrap()]);
    assert!(attached.status.success(), "{}", text(&attached.stderr));
    assert!(wait_with_timeout(&mut demo.0, Duration::from_secs(30)).success());
    let bytes = std::fs::read(&out).unwrap();
    let trace = read_trace(&bytes).unwrap();
    // The demo closed every stream: the array is closed, nothing is open.
    assert!(trace.complete, "not closed");
    assert!(bytes.ends_with(b"\n]\n"));
    assert!(trace.open_slices.is_empty(), "{:?}", trace.open_slices);
    assert!(trace
        .lanes
        .iter()
        .any(|l| l.name.as_deref() == Some("copy-dirs#0")));
    assert!(trace.slices.iter().any(|s| &*s.name == "copy-dirs"));
    assert!(!trace.flows.is_empty());
}

#[test]
fn attach_and_demo_close_the_array_on_ctrl_c() {
    let (demo, url) = demo_listen(&[], &[]);
    let mut demo = demo;
    let mut att = Command::new(ACTRACE)
        .args(["attach", &url])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = att.stdout.take().unwrap();
    // Wait for the live stream to flow, then Ctrl-C the client.
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    while !got.windows(18).any(|w| w == b"\"name\":\"copy-file ") {
        let n = stdout.read(&mut buf).unwrap();
        assert!(
            n > 0 && got.len() < 50 << 20,
            "attach: {}",
            text(&got[..got.len().min(500)])
        );
        got.extend_from_slice(&buf[..n]);
    }
    sigint(&att);
    stdout.read_to_end(&mut got).unwrap();
    let status = wait_with_timeout(&mut att, Duration::from_secs(10));
    let mut err = String::new();
    att.stderr.take().unwrap().read_to_string(&mut err).unwrap();
    assert!(status.success(), "attach after Ctrl-C: {status:?}: {err}");
    let trace = read_trace(&got).unwrap();
    assert!(trace.complete, "Ctrl-C left the array open");
    // Ctrl-C the demo: it closes its clients' streams and exits 0.
    let mut after = Command::new(ACTRACE)
        .args(["attach", &url])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut after_out = after.stdout.take().unwrap();
    let mut first = [0u8; 1];
    after_out.read_exact(&mut first).unwrap();
    sigint(&demo.0);
    assert!(wait_with_timeout(&mut demo.0, Duration::from_secs(30)).success());
    let mut rest = first.to_vec();
    after_out.read_to_end(&mut rest).unwrap();
    assert!(wait_with_timeout(&mut after, Duration::from_secs(10)).success());
    let trace = read_trace(&rest).unwrap();
    assert!(trace.complete);
    assert!(
        rest.ends_with(b"\n]\n"),
        "the demo closed the stream itself"
    );
}

#[test]
fn attach_gives_clear_errors() {
    // Nobody listens on port 1.
    let out = attach(&["127.0.0.1:1"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("cannot connect to 127.0.0.1:1"),
        "{}",
        text(&out.stderr)
    );
    for bad in [
        "ht!tp://x",
        "ftp://127.0.0.1:9/",
        "wss://127.0.0.1:9/stream",
    ] {
        let out = attach(&[bad]);
        assert_eq!(out.status.code(), Some(2), "{bad}");
        assert!(
            text(&out.stderr).starts_with("actrace attach: "),
            "{}",
            text(&out.stderr)
        );
    }
    // A refused upgrade: the program wants a token.
    let (_demo, url) = demo_listen(&["--duration", "20"], &[("ACTRACE_TOKEN", "s3cret")]);
    let out = attach(&[&url, "--duration", "1"]);
    assert_eq!(out.status.code(), Some(2));
    let err = text(&out.stderr);
    assert!(err.contains("refused the websocket upgrade: 401"), "{err}");
    let out = attach(&[&url, "--token", "s3cret", "--duration", "0.5"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(read_trace(&out.stdout).unwrap().complete);
}

#[test]
fn k2_actrace_listen_env_serves_any_traced_program() {
    let dir = scratch("env");
    // A good address: the server starts with the first traced activity.
    let out = Command::new(ACTRACE)
        .args(["demo", "--dirs", "2", "--files", "2", "--out"])
        .arg(dir.join("t.json"))
        .env("ACTRACE_LISTEN", "127.0.0.1:0")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    let err = text(&out.stderr);
    assert!(
        err.contains("actrace: live trace at http://127.0.0.1:"),
        "{err}"
    );
    // A bad address: one clear line, and the program runs on.
    let out = Command::new(ACTRACE)
        .args(["demo", "--dirs", "2", "--files", "2", "--out"])
        .arg(dir.join("t2.json"))
        .env("ACTRACE_LISTEN", "no-such-address")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    let err = text(&out.stderr);
    let lines: Vec<&str> = err
        .lines()
        .filter(|l| l.contains("ACTRACE_LISTEN"))
        .collect();
    assert_eq!(lines.len(), 1, "{err}");
    assert!(
        lines[0].contains("bad listen address") && lines[0].contains("runs on"),
        "{err}"
    );
}
