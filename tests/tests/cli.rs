//! The `actrace` command line, run as a real process: `demo` writes a real
//! trace (K1) whose lanes, slices and flows follow C1–C4, and `check` accepts
//! complete and cut traces and rejects malformed ones with a position.
//!
//! The binary belongs to another package, so Cargo gives no
//! `CARGO_BIN_EXE_actrace` here: the tests build it once with the Cargo that
//! runs them and take its path from Cargo's JSON messages.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::OnceLock;

use actrace_core::parse::{read_trace, Trace};
use serde_json::Value;

use actrace_tests::actrace;

/// A directory of this test's own under Cargo's scratch space for tests,
/// emptied first, so reruns don't pile up files.
fn scratch(test: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join("actrace-cli")
        .join(test);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn run(cmd: &mut Command) -> Output {
    cmd.output().expect("cannot run actrace")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// One default `actrace demo` run, shared by the tests that read its trace.
struct Demo {
    trace: PathBuf,
    bytes: Vec<u8>,
    stdout: String,
}

fn demo() -> &'static Demo {
    static DEMO: OnceLock<Demo> = OnceLock::new();
    DEMO.get_or_init(|| {
        let dir = scratch("demo");
        let trace = dir.join("trace.json");
        let out = run(actrace().arg("demo").arg("--out").arg(&trace));
        assert!(
            out.status.success(),
            "actrace demo failed: {}",
            text(&out.stderr)
        );
        Demo {
            bytes: std::fs::read(&trace).unwrap(),
            trace,
            stdout: text(&out.stdout),
        }
    })
}

fn parsed(demo: &Demo) -> Trace {
    read_trace(&demo.bytes).expect("the demo's trace reads back")
}

fn json_events(bytes: &[u8]) -> Vec<Value> {
    let value: Value = serde_json::from_slice(bytes).expect("a closed trace is valid JSON (C4)");
    value.as_array().expect("a JSON array").clone()
}

/// Runs `actrace check` on `bytes` written to a file.
fn check_bytes(test: &str, bytes: &[u8]) -> Output {
    let path = scratch(test).join("trace.json");
    std::fs::write(&path, bytes).unwrap();
    run(actrace().arg("check").arg(&path))
}

/// The `events:` count that `check` printed.
fn events_in(stdout: &str) -> u64 {
    let line = stdout
        .lines()
        .find(|l| l.starts_with("events:"))
        .unwrap_or_else(|| panic!("no events line in {stdout}"));
    line.split_whitespace()
        .nth(1)
        .unwrap()
        .trim_end_matches(',')
        .parse()
        .unwrap()
}

/// Asserts `check` rejected its input with exit 1 and one
/// `actrace check: FILE:LINE:COLUMN: message` line, and returns LINE.
fn assert_rejected(out: &Output) -> u64 {
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "stderr: {stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    let rest = stderr.strip_prefix("actrace check: ").expect(&stderr);
    // FILE:LINE:COLUMN: message, the file name ending in trace.json.
    let after = rest.split("trace.json:").nth(1).expect(&stderr);
    let mut parts = after.splitn(3, ':');
    let line: u64 = parts.next().unwrap().parse().expect(&stderr);
    let column: u64 = parts.next().unwrap().parse().expect(&stderr);
    assert!(line >= 1 && column >= 1, "{stderr}");
    assert!(parts.next().is_some_and(|m| m.len() > 2), "{stderr}");
    line
}

#[test]
fn k1_demo_writes_valid_trace() {
    let demo = demo();
    let events = json_events(&demo.bytes);
    // Defaults: a few thousand events.
    assert!(
        (1_000..50_000).contains(&events.len()),
        "{} events",
        events.len()
    );
    let trace = parsed(demo);
    assert!(trace.complete);
    assert_eq!(trace.events, events.len() as u64);
    assert!(events.iter().all(|e| e["pid"] == 1 && e["tid"] != 0));
}

#[test]
fn k1_demo_report_says_where_and_how_to_look() {
    let demo = demo();
    let shown = demo.trace.display().to_string();
    assert!(demo.stdout.contains(&shown), "{}", demo.stdout);
    assert!(
        demo.stdout.contains("https://ui.perfetto.dev"),
        "{}",
        demo.stdout
    );
    assert!(demo.stdout.contains("chrome://tracing"), "{}", demo.stdout);
    assert!(demo.stdout.contains("actrace check"), "{}", demo.stdout);
    let trace = parsed(demo);
    for count in [
        format!("lanes:  {}", trace.lanes.len()),
        format!("flows:  {}", trace.flows.len()),
        format!("events: {}", trace.events),
    ] {
        assert!(demo.stdout.contains(&count), "{count:?} in {}", demo.stdout);
    }
}

#[test]
fn c1_demo_lanes_share_base_names_and_are_reused() {
    let events = json_events(&demo().bytes);
    let lane_names: BTreeMap<u64, String> = events
        .iter()
        .filter(|e| e["ph"] == "M" && e["name"] == "thread_name")
        .map(|e| {
            (
                e["tid"].as_u64().unwrap(),
                e["args"]["name"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    let names: BTreeSet<&str> = lane_names.values().map(String::as_str).collect();
    assert!(
        names.contains("copy-dir#0") && names.contains("copy-dir#1"),
        "{names:?}"
    );
    // Task slices carry args.task; a lane is reused when it holds several.
    let mut tasks_per_lane: BTreeMap<u64, usize> = BTreeMap::new();
    for e in events
        .iter()
        .filter(|e| (e["ph"] == "B" || e["ph"] == "X") && e["args"]["task"].is_string())
    {
        let tid = e["tid"].as_u64().unwrap();
        assert_eq!(
            Some(e["args"]["task"].as_str().unwrap()),
            lane_names.get(&tid).map(String::as_str)
        );
        *tasks_per_lane.entry(tid).or_default() += 1;
    }
    let copy_lanes: Vec<u64> = lane_names
        .iter()
        .filter(|(_, n)| n.starts_with("copy-dir#"))
        .map(|(t, _)| *t)
        .collect();
    let copy_tasks: usize = copy_lanes.iter().map(|t| tasks_per_lane[t]).sum();
    assert!(
        copy_tasks > copy_lanes.len(),
        "{copy_tasks} copy-dir tasks on {} lanes",
        copy_lanes.len()
    );
    assert!(copy_lanes.iter().any(|t| tasks_per_lane[t] >= 2));
}

#[test]
fn c2_demo_nests_spans_at_least_three_deep_and_closes_all() {
    let trace = parsed(demo());
    assert!(trace.open_slices.is_empty(), "{:?}", trace.open_slices);
    let deepest = trace.slices.iter().map(|s| s.depth).max().unwrap();
    assert!(deepest >= 3, "deepest slice at depth {deepest}");
    for name in [
        "copy-dir",
        "read",
        "write",
        "verify",
        "checksum",
        "summarize-dir",
    ] {
        assert!(
            trace.slices.iter().any(|s| &*s.name == name),
            "no slice {name:?}"
        );
    }
    assert!(trace
        .slices
        .iter()
        .any(|s| s.name.starts_with("copy-file ")));
}

#[test]
fn c3_demo_has_one_flow_per_child_task() {
    let demo = demo();
    let events = json_events(&demo.bytes);
    let children = events
        .iter()
        // A task slice is a B line, or one X line when it began and ended
        // within one batch of the writer.
        .filter(|e| (e["ph"] == "B" || e["ph"] == "X") && e["args"]["parent"].is_string())
        .count();
    let starts = events.iter().filter(|e| e["ph"] == "s").count();
    let ends = events.iter().filter(|e| e["ph"] == "f").count();
    assert!(children > 20, "{children} child tasks");
    assert_eq!((starts, ends), (children, children));
    assert_eq!(parsed(demo).flows.len(), children);
}

#[test]
fn c4_check_accepts_demo_trace() {
    let demo = demo();
    let out = run(actrace().arg("check").arg(&demo.trace));
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let trace = parsed(demo);
    assert!(stdout.contains("complete (closed)"), "{stdout}");
    assert!(
        stdout.contains(&format!("lanes:   {}", trace.lanes.len())),
        "{stdout}"
    );
    assert!(
        stdout.contains(&format!("{} ended, 0 still open", trace.slices.len())),
        "{stdout}"
    );
    assert!(
        stdout.contains(&format!("flows:   {}", trace.flows.len())),
        "{stdout}"
    );
    assert_eq!(events_in(&stdout), trace.events);
}

#[test]
fn c4_check_accepts_cut_trace() {
    let bytes = &demo().bytes;
    let full = read_trace(bytes).unwrap().events;
    let len = bytes.len();
    // Mid-line cuts: move off any line start so a partial event remains.
    let mid_line = |at: usize| if bytes[at - 1] == b'\n' { at + 5 } else { at };
    let after_line = bytes[..len / 3].iter().rposition(|&b| b == b'\n').unwrap() + 1;
    for cut in [
        2,
        40,
        after_line,
        mid_line(len / 2),
        mid_line(len * 3 / 4),
        len - 10,
    ] {
        let out = check_bytes(&format!("cut-{cut}"), &bytes[..cut]);
        let stdout = text(&out.stdout);
        assert!(out.status.success(), "cut at {cut}: {}", text(&out.stderr));
        assert!(stdout.contains("not closed"), "cut at {cut}: {stdout}");
        assert!(events_in(&stdout) < full, "cut at {cut}: {stdout}");
    }
    // Without the closing bytes: everything is there, but the stream is open.
    let out = check_bytes("cut-close", &bytes[..len - 2]);
    let stdout = text(&out.stdout);
    assert!(
        out.status.success() && stdout.contains("open-ended"),
        "{stdout}"
    );
    assert_eq!(events_in(&stdout), full);
}

#[test]
fn c4_check_reads_stdin() {
    let bytes = &demo().bytes;
    let mut child = actrace()
        .args(["check", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let cut = bytes.len() / 2;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(&bytes[..cut])
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    let stdout = text(&out.stdout);
    assert!(stdout.starts_with("<stdin>: ok"), "{stdout}");
    assert_eq!(
        events_in(&stdout),
        read_trace(&bytes[..cut]).unwrap().events
    );
}

#[test]
fn c2_check_rejects_end_without_begin() {
    let out = check_bytes(
        "end-without-begin",
        b"[\n{\"ph\":\"B\",\"pid\":1,\"tid\":1,\"ts\":1.000,\"name\":\"a\"},\n\
          {\"ph\":\"E\",\"pid\":1,\"tid\":1,\"ts\":2.000},\n\
          {\"ph\":\"E\",\"pid\":1,\"tid\":1,\"ts\":3.000}\n]\n",
    );
    assert_eq!(assert_rejected(&out), 4);
    assert!(text(&out.stderr).contains("unbalanced"));
}

#[test]
fn c2_check_rejects_time_going_backwards() {
    let out = check_bytes(
        "time-backwards",
        b"[\n{\"ph\":\"B\",\"pid\":1,\"tid\":1,\"ts\":5.000,\"name\":\"a\"},\n\
          {\"ph\":\"E\",\"pid\":1,\"tid\":1,\"ts\":4.000}\n]\n",
    );
    assert_eq!(assert_rejected(&out), 3);
    assert!(text(&out.stderr).contains("backwards"));
}

#[test]
fn c3_check_rejects_dangling_flow_in_closed_trace() {
    let open = b"[\n{\"ph\":\"B\",\"pid\":1,\"tid\":1,\"ts\":1.000,\"name\":\"a\"},\n\
          {\"ph\":\"s\",\"pid\":1,\"tid\":1,\"ts\":1.000,\"id\":7,\"cat\":\"actrace\",\"name\":\"spawn\"},\n\
          {\"ph\":\"E\",\"pid\":1,\"tid\":1,\"ts\":2.000}";
    // While the stream is open the flow's end may still come.
    assert!(check_bytes("dangling-open", open).status.success());
    let closed = [&open[..], b"\n]\n"].concat();
    let out = check_bytes("dangling-closed", &closed);
    assert_eq!(assert_rejected(&out), 3);
    assert!(text(&out.stderr).contains("id 7"));
}

#[test]
fn c4_check_rejects_bad_json_in_the_middle() {
    let bytes = &demo().bytes;
    let mut lines: Vec<&[u8]> = bytes.split(|&b| b == b'\n').collect();
    lines[10] = b"{\"ph\":\"B\",,\"pid\":1},";
    let out = check_bytes("bad-json", &lines.join(&b'\n'));
    assert_eq!(assert_rejected(&out), 11);
}

#[test]
fn check_rejects_files_that_are_not_traces() {
    let png = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01";
    assert_eq!(assert_rejected(&check_bytes("png", png)), 1);
    assert_eq!(assert_rejected(&check_bytes("empty", b"")), 1);
    let toml = std::fs::read(Path::new(env!("CARGO_MANIFEST_DIR")).join("Cargo.toml")).unwrap();
    assert_eq!(assert_rejected(&check_bytes("toml", &toml)), 1);
    assert!(assert_rejected(&check_bytes("number", b"\n\n  42\n")) == 3);
}

#[test]
fn check_unreadable_file_exits_2() {
    let out = run(actrace().args(["check", "/nonexistent/trace.json"]));
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("/nonexistent/trace.json") && !stderr.contains("panicked"),
        "{stderr}"
    );
}

#[test]
fn k1_demo_unwritable_out_exits_2() {
    let out = run(actrace().args(["demo", "--out", "/nonexistent/x.json"]));
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.contains("cannot create the trace file /nonexistent/x.json"),
        "{stderr}"
    );
}

#[test]
fn demo_bad_numbers_exit_2() {
    for args in [
        &["--dirs", "abc"][..],
        &["--workers", "0"],
        &["--files", "-3"],
        &["--file-size", "1e9"],
    ] {
        let out = run(actrace().arg("demo").args(args));
        let stderr = text(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(
            stderr.starts_with("error:") && stderr.contains(args[1]),
            "{stderr}"
        );
        assert!(!stderr.contains("panicked"), "{stderr}");
    }
}

#[test]
fn k1_demo_also_writes_actrace_file() {
    let dir = scratch("env-file");
    let (out_path, env_path) = (dir.join("out.json"), dir.join("env.json"));
    let small = ["--dirs", "3", "--files", "2", "--workers", "2"];
    let out = run(actrace()
        .arg("demo")
        .args(small)
        .arg("--out")
        .arg(&out_path)
        .env("ACTRACE_FILE", &env_path));
    assert!(out.status.success(), "{}", text(&out.stderr));
    let a = read_trace(&std::fs::read(&out_path).unwrap()).unwrap();
    let b = read_trace(&std::fs::read(&env_path).unwrap()).unwrap();
    assert!(a.complete && b.complete);
    assert_eq!((a.events, a.flows.len()), (b.events, b.flows.len()));
    // The same path twice: one writer, one valid stream.
    let out = run(actrace()
        .arg("demo")
        .args(small)
        .arg("--out")
        .arg(&out_path)
        .env("ACTRACE_FILE", &out_path));
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        read_trace(&std::fs::read(&out_path).unwrap())
            .unwrap()
            .complete
    );
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn demo_removes_its_scratch_directory() {
    let dir = scratch("cleanup");
    let child = actrace()
        .args(["demo", "--dirs", "2", "--files", "2", "--out"])
        .arg(dir.join("t.json"))
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let prefix = format!("actrace-demo-{}-", child.id());
    assert!(child.wait_with_output().unwrap().status.success());
    let left: Vec<_> = std::fs::read_dir(std::env::temp_dir())
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().starts_with(&prefix))
        .collect();
    assert!(left.is_empty(), "left behind: {left:?}");
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn help_and_version() {
    let out = run(actrace().arg("--help"));
    let help = text(&out.stdout);
    assert!(out.status.success());
    assert!(help.contains("demo") && help.contains("check"), "{help}");
    let out = run(actrace().arg("--version"));
    assert!(out.status.success());
    assert_eq!(
        text(&out.stdout).trim(),
        format!("actrace {}", env!("CARGO_PKG_VERSION"))
    );
    // No command: the usage, exit 2.
    assert_eq!(run(&mut actrace()).status.code(), Some(2));
}
