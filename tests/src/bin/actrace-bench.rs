//! `actrace-bench`: actrace side by side with its peers (issue 6).
//!
//! ```text
//! cargo run --release -p actrace-tests --bin actrace-bench -- [--quick]
//!     [--reps N] [--only SCENARIO[,SCENARIO…]] [--systems SYSTEM[,SYSTEM…]]
//!     [--dir DIR]
//! ```
//!
//! The parent process runs every (scenario, system) pair in a child process of
//! its own (`actrace-bench --child SYSTEM SCENARIO PAIRS PATH`), alternating
//! the systems and rotating their order each repetition, and prints one
//! machine-readable `bench …` line per row plus a human table (median,
//! min–max, ratio against actrace). A child can be run by hand, e.g. under
//! `perf record`, with the same arguments.
//!
//! Systems: `actrace`; `fastrace` (a reporter of ours writes Chrome JSON `X`
//! events into a `BufWriter`); `puffin` (scopes on, frames sent to a writer
//! thread that serialises them with `FrameData::write_into`, like
//! `puffin_http` does); `tracing` (`tracing-subscriber` registry +
//! `tracing-chrome`). See docs/benchmarks.md for what each scenario measures.

use std::fs::File;
use std::io::{BufRead, BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const SYSTEMS: [&str; 4] = ["actrace", "fastrace", "puffin", "tracing"];
const SCENARIOS: [&str; 7] = [
    "span_pair_file",
    "span_pair_none",
    "task_pair",
    "memory",
    "serve_idle",
    "serve_reader",
    "slow_consumer",
];

/// Span pairs per loop iteration: spans nested 3 deep.
const DEPTH: u64 = 3;
/// Iterations per fastrace root span / puffin frame. fastrace keeps at most
/// 10,240 local spans under one local parent and puffin reports per frame, so
/// both get a root (a frame) per 3,000 iterations = 9,000 spans; the root's
/// cost is spread over them and not counted as a pair.
const CHUNK: u64 = 3_000;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("--child") {
        if args.len() != 5 && args.len() != 6 {
            eprintln!("usage: actrace-bench --child SYSTEM SCENARIO PAIRS PATH [STUCK_CLIENTS]");
            std::process::exit(2);
        }
        let pairs: u64 = args[3].parse().expect("PAIRS is a number");
        // slow_consumer's stuck clients: one unless asked (by hand) for more.
        let stuck: usize = args
            .get(5)
            .map_or(1, |n| n.parse().expect("STUCK_CLIENTS is a number"));
        let outcome = child(&args[1], &args[2], pairs, Path::new(&args[4]), stuck);
        println!("{}", outcome.line());
        if let "serve_idle" | "serve_reader" | "slow_consumer" = args[2].as_str() {
            // Skip the at-exit flush: it would wait for the stuck client.
            std::io::stdout().flush().unwrap();
            // SAFETY: _exit ends the process at once; nothing runs after it.
            unsafe { libc::_exit(0) };
        }
        return;
    }
    parent(&args);
}

// ---------------------------------------------------------------- parent --

struct Plan {
    quick: bool,
    reps: usize,
    scenarios: Vec<String>,
    systems: Vec<String>,
    /// Where the children write their trace files.
    dir: PathBuf,
}

impl Plan {
    fn parse(args: &[String]) -> Plan {
        let mut plan = Plan {
            quick: false,
            reps: 0,
            scenarios: SCENARIOS.iter().map(|s| s.to_string()).collect(),
            systems: SYSTEMS.iter().map(|s| s.to_string()).collect(),
            dir: std::env::temp_dir(),
        };
        let mut it = args.iter();
        while let Some(arg) = it.next() {
            let mut value = || it.next().cloned().unwrap_or_else(|| usage(arg));
            match arg.as_str() {
                "--quick" => plan.quick = true,
                "--reps" => plan.reps = value().parse().unwrap_or_else(|_| usage(arg)),
                "--only" => plan.scenarios = list(&value(), &SCENARIOS, arg),
                "--systems" => plan.systems = list(&value(), &SYSTEMS, arg),
                "--dir" => plan.dir = PathBuf::from(value()),
                _ => usage(arg),
            }
        }
        if plan.reps == 0 {
            plan.reps = if plan.quick { 3 } else { 5 };
        }
        plan
    }

    /// Span pairs for a scenario (per thread for `task_pair`).
    fn pairs(&self, scenario: &str) -> u64 {
        match (scenario, self.quick) {
            ("span_pair_file" | "span_pair_none", false) => 1_000_000,
            ("span_pair_file" | "span_pair_none", true) => 200_000,
            ("task_pair", false) => 100_000,
            ("task_pair", true) => 20_000,
            ("memory" | "serve_idle" | "serve_reader" | "slow_consumer", false) => 10_000_000,
            ("memory" | "serve_idle" | "serve_reader" | "slow_consumer", true) => 2_000_000,
            _ => unreachable!("unknown scenario {scenario}"),
        }
    }
}

fn list(value: &str, known: &[&str], flag: &str) -> Vec<String> {
    let items: Vec<String> = value.split(',').map(str::to_string).collect();
    for item in &items {
        if !known.contains(&item.as_str()) {
            eprintln!("{flag}: unknown {item:?}; known: {}", known.join(", "));
            std::process::exit(2);
        }
    }
    items
}

fn usage(arg: &str) -> ! {
    eprintln!(
        "actrace-bench: bad argument {arg:?}\nusage: actrace-bench [--quick] [--reps N] \
         [--only {}] [--systems {}] [--dir DIR]",
        SCENARIOS.join(","),
        SYSTEMS.join(",")
    );
    std::process::exit(2);
}

/// Whether a system takes part in a scenario.
fn applies(system: &str, scenario: &str) -> bool {
    match scenario {
        // puffin has no tasks: nothing to compare `task_pair` with.
        "task_pair" => system != "puffin",
        // Only actrace has a live websocket stream (K2).
        "serve_idle" | "serve_reader" | "slow_consumer" => system == "actrace",
        _ => true,
    }
}

fn parent(args: &[String]) {
    let plan = Plan::parse(args);
    let exe = std::env::current_exe().expect("the bench's own path");
    let dir = plan
        .dir
        .join(format!("actrace-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("a scratch directory");
    println!(
        "actrace-bench: {} mode, {} repetitions, machine: {}, files in {}",
        if plan.quick { "quick" } else { "full" },
        plan.reps,
        machine(),
        plan.dir.display()
    );
    let started = Instant::now();
    let load_before = load_average();
    let mut rows: Vec<Row> = Vec::new();
    for scenario in &plan.scenarios {
        let pairs = plan.pairs(scenario);
        let systems: Vec<&String> = plan
            .systems
            .iter()
            .filter(|s| applies(s, scenario))
            .collect();
        let mut runs: Vec<Vec<Outcome>> = vec![Vec::new(); systems.len()];
        for rep in 0..plan.reps {
            // Alternate the systems, in a rotated order each repetition.
            for k in 0..systems.len() {
                let i = (k + rep) % systems.len();
                let system = systems[i];
                let path = dir.join(format!("{system}-{scenario}.out"));
                let outcome = run_child(&exe, system, scenario, pairs, &path);
                let _ = std::fs::remove_file(&path);
                eprintln!(
                    "  {scenario} rep {} {system}: {}",
                    rep + 1,
                    outcome.line().trim_start_matches("result ")
                );
                runs[i].push(outcome);
            }
        }
        for (system, outcomes) in systems.iter().zip(runs) {
            rows.push(Row::new(system, scenario, pairs, outcomes));
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
    println!();
    for row in &rows {
        println!("{}", row.machine_line());
    }
    println!();
    print!("{}", table(&rows));
    println!(
        "total time: {:.1} s; load average before: {load_before}, after: {}",
        started.elapsed().as_secs_f64(),
        load_average()
    );
}

fn run_child(exe: &Path, system: &str, scenario: &str, pairs: u64, path: &Path) -> Outcome {
    let out = Command::new(exe)
        .args(["--child", system, scenario, &pairs.to_string()])
        .arg(path)
        .env_remove("ACTRACE_FILE")
        .env_remove("ACTRACE_DEBUG")
        .output()
        .expect("the child process starts");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let line = stdout.lines().find(|l| l.starts_with("result "));
    match (out.status.success(), line.and_then(Outcome::parse)) {
        (true, Some(outcome)) => outcome,
        _ => {
            eprintln!(
                "child {system} {scenario} failed ({}):\n{stdout}\n{}",
                out.status,
                String::from_utf8_lossy(&out.stderr)
            );
            std::process::exit(1);
        }
    }
}

/// `nproc` and the CPU model, for the record.
fn machine() -> String {
    let cpus = std::thread::available_parallelism().map_or(0, |n| n.get());
    let model = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|m| m.trim().to_string())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    format!("{cpus} CPUs, {model}")
}

/// The 1-, 5- and 15-minute load averages: other work on the machine shows
/// up in the figures, so the run records how busy it was.
fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg").map_or("unknown".into(), |s| {
        s.split_whitespace().take(3).collect::<Vec<_>>().join(" ")
    })
}

// ----------------------------------------------------------- statistics --

/// One system in one scenario, over all repetitions.
struct Row {
    system: String,
    scenario: String,
    pairs: u64,
    ns: Stat,
    flushed: Option<Stat>,
    cpu: Stat,
    thread_cpu: Stat,
    bytes_per_pair: Option<Stat>,
    rss_mb: Stat,
    kept: Option<f64>,
}

#[derive(Clone, Copy)]
struct Stat {
    median: f64,
    min: f64,
    max: f64,
}

impl Stat {
    fn of(mut xs: Vec<f64>) -> Option<Stat> {
        if xs.is_empty() {
            return None;
        }
        xs.sort_by(f64::total_cmp);
        let n = xs.len();
        let median = if n % 2 == 1 {
            xs[n / 2]
        } else {
            (xs[n / 2 - 1] + xs[n / 2]) / 2.0
        };
        Some(Stat {
            median,
            min: xs[0],
            max: xs[n - 1],
        })
    }
}

impl Row {
    fn new(system: &str, scenario: &str, pairs: u64, outcomes: Vec<Outcome>) -> Row {
        let all = |f: &dyn Fn(&Outcome) -> Option<f64>| -> Option<Stat> {
            let xs: Vec<f64> = outcomes.iter().filter_map(f).collect();
            (xs.len() == outcomes.len()).then(|| Stat::of(xs)).flatten()
        };
        Row {
            system: system.into(),
            scenario: scenario.into(),
            pairs,
            ns: all(&|o| Some(o.ns_per_pair)).expect("at least one repetition"),
            flushed: all(&|o| o.ns_flushed),
            cpu: all(&|o| Some(o.cpu_ns)).expect("cpu"),
            thread_cpu: all(&|o| Some(o.thread_cpu_ns)).expect("thread cpu"),
            bytes_per_pair: all(&|o| o.bytes.map(|b| b as f64 / o.pairs as f64)),
            rss_mb: all(&|o| Some(o.peak_rss_kb as f64 / 1024.0)).expect("rss"),
            // The worst repetition: a system that drops data shows it here.
            kept: outcomes
                .iter()
                .filter_map(|o| o.recorded.map(|r| r as f64 / o.pairs as f64))
                .min_by(f64::total_cmp),
        }
    }

    fn machine_line(&self) -> String {
        let opt = |s: Option<Stat>, digits: usize| {
            s.map_or("na".to_string(), |s| format!("{:.*}", digits, s.median))
        };
        format!(
            "bench system={} scenario={} pairs={} ns_per_pair={:.1} ns_per_pair_min={:.1} \
             ns_per_pair_max={:.1} ns_per_pair_flushed={} cpu_ns_per_pair={:.1} \
             thread_cpu_ns_per_pair={:.1} bytes_per_pair={} peak_rss_mb={:.1} recorded={}",
            self.system,
            self.scenario,
            self.pairs,
            self.ns.median,
            self.ns.min,
            self.ns.max,
            opt(self.flushed, 1),
            self.cpu.median,
            self.thread_cpu.median,
            opt(self.bytes_per_pair, 1),
            self.rss_mb.median,
            self.kept
                .map_or("na".to_string(), |k| format!("{:.1}%", k * 100.0)),
        )
    }
}

/// Targets from issue 6, printed next to the figures (not asserted).
fn target(scenario: &str, column: &str) -> &'static str {
    match (scenario, column) {
        ("span_pair_file", "ns") => "<=100 ns, >=1.5x faster than fastrace & puffin",
        ("span_pair_file", "flushed") => "<=250 ns",
        ("span_pair_file", "bytes") => "<=120 B/pair",
        ("span_pair_none", "ns") => "<=30 ns",
        ("task_pair", "ns") => "<=1000 ns per task pair",
        ("memory", "rss") => "peak RSS <=64 MB",
        ("slow_consumer", "ns") => "<=10% slower than serve_idle",
        ("slow_consumer", "rss") => "no growth over serve_idle (or a reading client)",
        _ => "",
    }
}

fn table(rows: &[Row]) -> String {
    let mut out = String::new();
    let base = |scenario: &str| {
        rows.iter()
            .find(|r| r.scenario == scenario && r.system == "actrace")
    };
    let cell = |s: Stat, digits: usize| {
        format!(
            "{:.*} ({:.*}–{:.*})",
            digits, s.median, digits, s.min, digits, s.max
        )
    };
    let ratio = |x: f64, a: Option<f64>| a.map_or("".into(), |a| format!("{:.2}×", x / a));
    out.push_str(
        "| scenario | system | ns/pair traced thread: median (min–max) | ÷ actrace (>1: actrace faster) \
         | ns/pair until file complete | ÷ actrace | CPU ns/pair, traced thread | CPU ns/pair, \
         all threads | bytes/pair | peak RSS MB | recorded |\n\
         |---|---|---|---|---|---|---|---|---|---|---|\n",
    );
    for r in rows {
        let a = base(&r.scenario);
        out.push_str(&format!(
            "| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |\n",
            r.scenario,
            r.system,
            cell(r.ns, 1),
            ratio(r.ns.median, a.map(|a| a.ns.median)),
            r.flushed.map_or("–".into(), |s| cell(s, 1)),
            r.flushed.map_or(String::new(), |s| ratio(
                s.median,
                a.and_then(|a| a.flushed).map(|f| f.median)
            )),
            cell(r.thread_cpu, 1),
            cell(r.cpu, 1),
            r.bytes_per_pair
                .map_or("–".into(), |s| format!("{:.1}", s.median)),
            cell(r.rss_mb, 1),
            r.kept.map_or("–".into(), |k| format!("{:.1}%", k * 100.0)),
        ));
    }
    out.push_str("\nTargets (issue 6), for actrace:\n");
    for scenario in SCENARIOS {
        for column in ["ns", "flushed", "bytes", "rss"] {
            let t = target(scenario, column);
            if t.is_empty() {
                continue;
            }
            let Some(a) = base(scenario) else { continue };
            let value = match column {
                "ns" => Some(format!("{:.1} ns", a.ns.median)),
                "flushed" => a.flushed.map(|s| format!("{:.1} ns", s.median)),
                "bytes" => a.bytes_per_pair.map(|s| format!("{:.1} B", s.median)),
                _ => Some(format!("{:.1} MB", a.rss_mb.max)),
            };
            let mut extra = String::new();
            if scenario == "slow_consumer" {
                for other in ["serve_idle", "serve_reader"] {
                    let Some(b) = base(other) else { continue };
                    let (x, y) = match column {
                        "ns" => (a.ns.median, b.ns.median),
                        _ => (a.rss_mb.max, b.rss_mb.max),
                    };
                    extra.push_str(&format!("; {:+.1}% against {other}", (x / y - 1.0) * 100.0));
                }
            }
            if scenario == "span_pair_file" && column == "ns" {
                for peer in ["fastrace", "puffin"] {
                    if let Some(p) = rows
                        .iter()
                        .find(|r| r.scenario == scenario && r.system == peer)
                    {
                        extra.push_str(&format!(
                            "; {peer} ÷ actrace = {:.2} (target >= 1.5)",
                            p.ns.median / a.ns.median
                        ));
                    }
                }
            }
            out.push_str(&format!(
                "- {scenario} {column}: {} (target {t}){extra}\n",
                value.unwrap_or_else(|| "na".into())
            ));
        }
    }
    out
}

// ----------------------------------------------------------------- child --

#[derive(Clone)]
struct Outcome {
    /// ns per pair on the traced thread(s).
    ns_per_pair: f64,
    /// ns per pair until the output file is complete.
    ns_flushed: Option<f64>,
    /// CPU ns per pair, all threads, until the output is complete.
    cpu_ns: f64,
    /// CPU ns per pair of the traced thread(s) in the loop.
    thread_cpu_ns: f64,
    /// Output file size.
    bytes: Option<u64>,
    /// Pairs traced (including the warm-up, which is in the file too).
    pairs: u64,
    /// Pairs found in the output, to see whether a system dropped some.
    recorded: Option<u64>,
    /// VmHWM at the end.
    peak_rss_kb: u64,
    /// Context switches of the traced thread(s) in the loop: blocked
    /// (voluntary) and preempted.
    blocked: u64,
    preempted: u64,
}

impl Outcome {
    fn line(&self) -> String {
        let opt = |v: Option<String>| v.unwrap_or_else(|| "na".into());
        format!(
            "result ns_per_pair={:.3} ns_per_pair_flushed={} cpu_ns_per_pair={:.3} \
             thread_cpu_ns_per_pair={:.3} bytes={} pairs={} recorded={} peak_rss_kb={} \
             traced_blocked={} traced_preempted={}",
            self.ns_per_pair,
            opt(self.ns_flushed.map(|v| format!("{v:.3}"))),
            self.cpu_ns,
            self.thread_cpu_ns,
            opt(self.bytes.map(|v| v.to_string())),
            self.pairs,
            opt(self.recorded.map(|v| v.to_string())),
            self.peak_rss_kb,
            self.blocked,
            self.preempted,
        )
    }

    fn parse(line: &str) -> Option<Outcome> {
        let field = |key: &str| {
            line.split_whitespace()
                .find_map(|kv| kv.strip_prefix(key)?.strip_prefix('='))
                .filter(|v| *v != "na")
        };
        Some(Outcome {
            ns_per_pair: field("ns_per_pair")?.parse().ok()?,
            ns_flushed: field("ns_per_pair_flushed").and_then(|v| v.parse().ok()),
            cpu_ns: field("cpu_ns_per_pair")?.parse().ok()?,
            thread_cpu_ns: field("thread_cpu_ns_per_pair")?.parse().ok()?,
            bytes: field("bytes").and_then(|v| v.parse().ok()),
            pairs: field("pairs")?.parse().ok()?,
            recorded: field("recorded").and_then(|v| v.parse().ok()),
            peak_rss_kb: field("peak_rss_kb")?.parse().ok()?,
            blocked: field("traced_blocked")
                .and_then(|v| v.parse().ok())
                .unwrap_or(0),
            preempted: field("traced_preempted")
                .and_then(|v| v.parse().ok())
                .unwrap_or(0),
        })
    }
}

/// What one system's run of a scenario measured.
struct Timing {
    /// Time on the traced thread(s) per measured pair.
    ns_per_pair: f64,
    /// Time until the file was complete per measured pair.
    ns_flushed: Option<f64>,
    /// All pairs traced, warm-up included.
    pairs: u64,
    /// CPU time of the whole process (every thread) from the start of the
    /// measurement until the file was complete, per measured pair.
    cpu_ns_per_pair: f64,
    /// CPU time of the traced thread(s) in the measured loop, per pair: the
    /// hot path's own cost, without waiting or preemption.
    thread_cpu_ns_per_pair: f64,
    /// Pairs found in the output (roots excluded), if the system can tell.
    recorded: Option<u64>,
}

fn child(system: &str, scenario: &str, pairs: u64, path: &Path, stuck: usize) -> Outcome {
    let file = match scenario {
        "span_pair_none" | "serve_idle" | "serve_reader" | "slow_consumer" => None,
        "span_pair_file" | "memory" | "task_pair" => Some(path),
        _ => usage(scenario),
    };
    let timing = if let "serve_idle" | "serve_reader" | "slow_consumer" = scenario {
        let (stuck, reading) = match scenario {
            "slow_consumer" => (stuck, 0),
            "serve_reader" => (0, 1),
            _ => (0, 0),
        };
        match system {
            "actrace" => actrace_sys::live(pairs.div_ceil(DEPTH), stuck, reading),
            _ => usage(system),
        }
    } else if scenario == "task_pair" {
        match system {
            "actrace" => actrace_sys::tasks(pairs, path),
            "fastrace" => fastrace_sys::tasks(pairs, path),
            "tracing" => tracing_sys::tasks(pairs, path),
            _ => usage(system),
        }
    } else {
        let iters = pairs.div_ceil(DEPTH);
        match system {
            "actrace" => actrace_sys::spans(iters, file),
            "fastrace" => fastrace_sys::spans(iters, file),
            "puffin" => puffin_sys::spans(iters, file),
            "tracing" => tracing_sys::spans(iters, file),
            _ => usage(system),
        }
    };
    Outcome {
        ns_per_pair: timing.ns_per_pair,
        ns_flushed: timing.ns_flushed,
        cpu_ns: timing.cpu_ns_per_pair,
        thread_cpu_ns: timing.thread_cpu_ns_per_pair,
        bytes: file
            .and_then(|p| std::fs::metadata(p).ok())
            .map(|m| m.len()),
        pairs: timing.pairs,
        recorded: timing.recorded,
        peak_rss_kb: peak_rss_kb(),
        blocked: TRACED_BLOCKED.load(Ordering::Relaxed),
        preempted: TRACED_PREEMPTED.load(Ordering::Relaxed),
    }
}

/// Warm-up iterations before the clock starts (their pairs are in the file).
fn warmup(iters: u64) -> u64 {
    (iters / 20).min(10_000)
}

/// Peak resident set size of this process (VmHWM), in KiB.
fn peak_rss_kb() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse().ok())
        })
        .unwrap_or(0)
}

/// CPU time used so far by all threads of this process, ended ones included.
fn cpu_ns() -> u64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid, writable timespec; the call has no other
    // precondition.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_PROCESS_CPUTIME_ID, &mut ts) };
    if rc != 0 {
        return 0;
    }
    ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64
}

fn per(d: Duration, n: u64) -> f64 {
    d.as_nanos() as f64 / n.max(1) as f64
}

/// Counts the lines of a Chrome JSON file that contain `needle` (e.g. the
/// span begin events), after the measurement.
/// Lines that contain any of `needles`.
fn count_lines(path: &Path, needles: &[&str]) -> u64 {
    let Ok(file) = File::open(path) else { return 0 };
    let mut reader = BufReader::with_capacity(1 << 20, file);
    let mut line = Vec::new();
    let mut n = 0;
    while reader.read_until(b'\n', &mut line).unwrap_or(0) > 0 {
        if std::str::from_utf8(&line).is_ok_and(|l| needles.iter().any(|n| l.contains(n))) {
            n += 1;
        }
        line.clear();
    }
    n
}

/// Span pairs measured from `iters` loop iterations after a warm-up.
fn span_timing(
    iters: u64,
    traced: Duration,
    flushed: Option<Duration>,
    cpu: u64,
    recorded: Option<u64>,
) -> Timing {
    let measured = iters * DEPTH;
    Timing {
        ns_per_pair: per(traced, measured),
        ns_flushed: flushed.map(|d| per(d, measured)),
        pairs: (iters + warmup(iters)) * DEPTH,
        cpu_ns_per_pair: cpu as f64 / measured as f64,
        thread_cpu_ns_per_pair: traced_cpu_ns() as f64 / measured as f64,
        recorded,
    }
}

/// CPU time of the calling thread so far.
fn thread_cpu_ns() -> u64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: as in `cpu_ns`.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    if rc != 0 {
        return 0;
    }
    ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64
}

/// The calling thread's context switches so far: (voluntary, i.e. it
/// blocked; involuntary, i.e. it was preempted).
fn context_switches() -> (u64, u64) {
    let status = std::fs::read_to_string("/proc/thread-self/status").unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or(0)
    };
    (
        field("voluntary_ctxt_switches:"),
        field("nonvoluntary_ctxt_switches:"),
    )
}

/// CPU time the traced thread(s) spent in the measured loop, summed.
static TRACED_CPU_NS: AtomicU64 = AtomicU64::new(0);
/// Times the traced thread(s) blocked / were preempted in the loop.
static TRACED_BLOCKED: AtomicU64 = AtomicU64::new(0);
static TRACED_PREEMPTED: AtomicU64 = AtomicU64::new(0);

/// Where the measured loop started on this thread.
struct LapStart {
    cpu: u64,
    switches: (u64, u64),
}

fn lap_start() -> LapStart {
    LapStart {
        switches: context_switches(),
        cpu: thread_cpu_ns(),
    }
}

/// Ends the measured loop on this thread: its wall time; its CPU time and
/// context switches go to the statics above.
fn lap(t0: Instant, start: LapStart) -> Duration {
    let wall = t0.elapsed();
    let cpu = thread_cpu_ns() - start.cpu;
    let (v, i) = context_switches();
    TRACED_CPU_NS.fetch_add(cpu, Ordering::Relaxed);
    TRACED_BLOCKED.fetch_add(v - start.switches.0, Ordering::Relaxed);
    TRACED_PREEMPTED.fetch_add(i - start.switches.1, Ordering::Relaxed);
    wall
}

fn traced_cpu_ns() -> u64 {
    TRACED_CPU_NS.load(Ordering::Relaxed)
}

/// Runs `thread_body(m)` on two threads at once; returns the mean of their
/// own elapsed times.
fn on_two_threads(per_thread: u64, body: impl Fn(u64) + Send + Sync + 'static) -> Duration {
    let body = Arc::new(body);
    let barrier = Arc::new(std::sync::Barrier::new(2));
    let handles: Vec<_> = (0..2)
        .map(|_| {
            let body = body.clone();
            let barrier = barrier.clone();
            std::thread::spawn(move || {
                barrier.wait();
                let t0 = Instant::now();
                let tc0 = lap_start();
                body(per_thread);
                lap(t0, tc0)
            })
        })
        .collect();
    let total: Duration = handles.into_iter().map(|h| h.join().unwrap()).sum();
    total / 2
}

mod actrace_sys {
    use super::*;

    /// `n` iterations of three nested spans (three pairs each).
    fn nested_spans(task: &mut actrace::Task, n: u64) {
        for _ in 0..n {
            let mut a = task.span("a");
            let mut b = a.span("b");
            let _c = b.span("c");
        }
    }

    pub(super) fn spans(iters: u64, file: Option<&Path>) -> Timing {
        if let Some(path) = file {
            actrace::attach(actrace::FileConsumer::create(path).expect("the trace file"));
        }
        let mut task = actrace::root_task("bench");
        nested_spans(&mut task, warmup(iters));
        let t0 = Instant::now();
        let c0 = cpu_ns();
        let tc0 = lap_start();
        nested_spans(&mut task, iters);
        let traced = lap(t0, tc0);
        drop(task);
        actrace::shutdown();
        let flushed = t0.elapsed();
        let cpu = cpu_ns() - c0;
        let recorded =
            file.map(|p| count_lines(p, &[r#""ph":"B""#, r#""ph":"X""#]).saturating_sub(1));
        span_timing(iters, traced, file.map(|_| flushed), cpu, recorded)
    }

    /// Spans while the live server runs, with `stuck` websocket clients that
    /// never read (slow_consumer has one), `reading` ones that read
    /// everything (serve_reader), or none (serve_idle).
    pub(super) fn live(iters: u64, stuck: usize, reading: usize) -> Timing {
        let server = actrace::serve("127.0.0.1:0").expect("the live server");
        let clients: Vec<_> = (0..stuck)
            .map(|_| stuck_client(server.local_addr()))
            .collect();
        // Healthy clients: the same handshake, then every byte is read.
        for _ in 0..reading {
            let mut s = stuck_client(server.local_addr());
            std::thread::spawn(move || std::io::copy(&mut s, &mut std::io::sink()));
        }
        let mut task = actrace::root_task("bench");
        nested_spans(&mut task, warmup(iters));
        let t0 = Instant::now();
        let c0 = cpu_ns();
        let tc0 = lap_start();
        nested_spans(&mut task, iters);
        let traced = lap(t0, tc0);
        let cpu = cpu_ns() - c0;
        // The stuck client and the server stay as they are: the child exits
        // without the at-exit flush, which would wait for the client.
        std::mem::forget(clients);
        std::mem::forget(server);
        std::mem::forget(task);
        span_timing(iters, traced, None, cpu, None)
    }

    /// Opens `/stream` with a websocket handshake and reads nothing after the
    /// response head (a stuck client, unless the caller reads on).
    fn stuck_client(addr: std::net::SocketAddr) -> std::net::TcpStream {
        use std::io::Read;
        let mut s = std::net::TcpStream::connect(addr).expect("connect to the live server");
        write!(
            s,
            "GET /stream HTTP/1.1\r\nHost: {addr}\r\nUpgrade: websocket\r\n\
             Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
             Sec-WebSocket-Version: 13\r\n\r\n"
        )
        .unwrap();
        // Read the response head only (byte by byte, so nothing after it).
        let mut head = Vec::new();
        let mut byte = [0u8; 1];
        while !head.ends_with(b"\r\n\r\n") {
            if s.read(&mut byte).unwrap_or(0) == 0 {
                break;
            }
            head.push(byte[0]);
        }
        assert!(
            head.starts_with(b"HTTP/1.1 101"),
            "websocket upgrade refused: {}",
            String::from_utf8_lossy(&head)
        );
        s
    }

    pub(super) fn tasks(per_thread: u64, path: &Path) -> Timing {
        actrace::attach(actrace::FileConsumer::create(path).expect("the trace file"));
        let root = actrace::root_task("bench");
        let ctx = root.context();
        let t0 = Instant::now();
        let c0 = cpu_ns();
        let traced = on_two_threads(per_thread, move |n| {
            for _ in 0..n {
                drop(ctx.task("worker"));
            }
        });
        drop(root);
        actrace::shutdown();
        let flushed = t0.elapsed();
        let cpu = cpu_ns() - c0;
        let recorded = count_lines(path, &[r#""ph":"B""#, r#""ph":"X""#]).saturating_sub(1);
        Timing {
            ns_per_pair: per(traced, per_thread),
            ns_flushed: Some(per(flushed, per_thread)),
            pairs: 2 * per_thread,
            cpu_ns_per_pair: cpu as f64 / (2 * per_thread) as f64,
            thread_cpu_ns_per_pair: traced_cpu_ns() as f64 / (2 * per_thread) as f64,
            recorded: Some(recorded),
        }
    }
}

mod fastrace_sys {
    use super::*;
    use fastrace::collector::{Config, Reporter, SpanContext, SpanRecord};
    use fastrace::local::LocalSpan;
    use fastrace::Span;

    /// Encodes span records as Chrome JSON `X` events, one per line.
    struct ChromeOut {
        out: BufWriter<File>,
        first: bool,
        origin_ns: u64,
        spans: u64,
    }

    #[derive(Clone)]
    struct ChromeReporter(Arc<Mutex<ChromeOut>>);

    impl ChromeReporter {
        fn create(path: &Path) -> ChromeReporter {
            let mut out = BufWriter::with_capacity(1 << 16, File::create(path).expect("file"));
            out.write_all(b"[\n").unwrap();
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap();
            ChromeReporter(Arc::new(Mutex::new(ChromeOut {
                out,
                first: true,
                // A little before now, so every span's ts is positive.
                origin_ns: now.as_nanos() as u64 - 1_000_000_000,
                spans: 0,
            })))
        }

        fn finish(&self) -> u64 {
            let mut o = self.0.lock().unwrap();
            o.out.write_all(b"\n]\n").unwrap();
            o.out.flush().unwrap();
            o.spans
        }
    }

    fn micros(ns: u64) -> (u64, u64) {
        (ns / 1000, ns % 1000)
    }

    impl Reporter for ChromeReporter {
        fn report(&mut self, spans: Vec<SpanRecord>) {
            let mut guard = self.0.lock().unwrap();
            let o = &mut *guard;
            for s in &spans {
                let (ts, ts_frac) = micros(s.begin_time_unix_ns.saturating_sub(o.origin_ns));
                let (dur, dur_frac) = micros(s.duration_ns);
                let sep: &[u8] = if o.first { b"" } else { b",\n" };
                o.first = false;
                o.out.write_all(sep).unwrap();
                write!(
                    o.out,
                    r#"{{"ph":"X","pid":1,"tid":1,"ts":{ts}.{ts_frac:03},"dur":{dur}.{dur_frac:03},"name":"#
                )
                .unwrap();
                serde_json::to_writer(&mut o.out, &*s.name).unwrap();
                o.out.write_all(b"}").unwrap();
                o.spans += 1;
            }
            o.out.flush().unwrap();
        }
    }

    fn set_reporter(path: &Path) -> ChromeReporter {
        let reporter = ChromeReporter::create(path);
        // Reports every 50 ms, like actrace's writer pulls, so the collector
        // does not sit on a second's worth of spans.
        let config = Config::default().report_interval(Duration::from_millis(50));
        fastrace::set_reporter(reporter.clone(), config);
        reporter
    }

    pub(super) fn spans(iters: u64, file: Option<&Path>) -> Timing {
        let reporter = file.map(set_reporter);
        let run = |mut n: u64| {
            while n > 0 {
                let k = n.min(CHUNK);
                let root = Span::root("bench", SpanContext::random());
                {
                    let _parent = root.set_local_parent();
                    for _ in 0..k {
                        let _a = LocalSpan::enter_with_local_parent("a");
                        let _b = LocalSpan::enter_with_local_parent("b");
                        let _c = LocalSpan::enter_with_local_parent("c");
                    }
                }
                drop(root);
                n -= k;
            }
        };
        run(warmup(iters));
        let t0 = Instant::now();
        let c0 = cpu_ns();
        let tc0 = lap_start();
        run(iters);
        let traced = lap(t0, tc0);
        fastrace::flush();
        let recorded = reporter.map(|r| {
            let roots = warmup(iters).div_ceil(CHUNK) + iters.div_ceil(CHUNK);
            r.finish().saturating_sub(roots)
        });
        let flushed = t0.elapsed();
        let cpu = cpu_ns() - c0;
        span_timing(iters, traced, file.map(|_| flushed), cpu, recorded)
    }

    pub(super) fn tasks(per_thread: u64, path: &Path) -> Timing {
        let reporter = set_reporter(path);
        let root = Arc::new(Span::root("bench", SpanContext::random()));
        let parent = root.clone();
        let t0 = Instant::now();
        let c0 = cpu_ns();
        let traced = on_two_threads(per_thread, move |n| {
            for _ in 0..n {
                drop(Span::enter_with_parent("worker", &parent));
            }
        });
        drop(root);
        fastrace::flush();
        let recorded = reporter.finish().saturating_sub(1);
        let flushed = t0.elapsed();
        let cpu = cpu_ns() - c0;
        Timing {
            ns_per_pair: per(traced, per_thread),
            ns_flushed: Some(per(flushed, per_thread)),
            pairs: 2 * per_thread,
            cpu_ns_per_pair: cpu as f64 / (2 * per_thread) as f64,
            thread_cpu_ns_per_pair: traced_cpu_ns() as f64 / (2 * per_thread) as f64,
            recorded: Some(recorded),
        }
    }
}

mod puffin_sys {
    use super::*;
    use puffin::{FrameData, GlobalProfiler, ScopeCollection};

    pub(super) fn spans(iters: u64, file: Option<&Path>) -> Timing {
        puffin::set_scopes_on(true);
        // Frames go to a writer thread that serialises them (lz4-packed), as
        // puffin_http's server thread does; the traced thread only sends them.
        let sink = file.map(|path| {
            let (tx, rx) = std::sync::mpsc::channel::<Arc<FrameData>>();
            let id = GlobalProfiler::lock().add_sink(Box::new(move |frame| {
                let _ = tx.send(frame);
            }));
            let path = path.to_path_buf();
            let writer = std::thread::spawn(move || {
                let mut out = BufWriter::with_capacity(1 << 16, File::create(path).unwrap());
                let scopes = ScopeCollection::default();
                let mut recorded = 0;
                for frame in rx {
                    recorded += frame.meta().num_scopes as u64;
                    frame.write_into(&scopes, false, &mut out).unwrap();
                }
                out.flush().unwrap();
                recorded
            });
            (id, writer)
        });
        let run = |mut n: u64| {
            while n > 0 {
                let k = n.min(CHUNK);
                {
                    puffin::profile_scope!("frame");
                    for _ in 0..k {
                        puffin::profile_scope!("a");
                        {
                            puffin::profile_scope!("b");
                            {
                                puffin::profile_scope!("c");
                            }
                        }
                    }
                }
                GlobalProfiler::lock().new_frame();
                n -= k;
            }
        };
        run(warmup(iters));
        let t0 = Instant::now();
        let c0 = cpu_ns();
        let tc0 = lap_start();
        run(iters);
        let traced = lap(t0, tc0);
        let recorded = sink.map(|(id, writer)| {
            drop(GlobalProfiler::lock().remove_sink(id));
            let roots = warmup(iters).div_ceil(CHUNK) + iters.div_ceil(CHUNK);
            writer.join().unwrap().saturating_sub(roots)
        });
        let flushed = t0.elapsed();
        let cpu = cpu_ns() - c0;
        span_timing(iters, traced, file.map(|_| flushed), cpu, recorded)
    }
}

mod tracing_sys {
    use super::*;
    use tracing_subscriber::layer::SubscriberExt;

    /// The registry (it tracks every span), with tracing-chrome writing the
    /// file if there is one.
    fn install(file: Option<&Path>) -> Option<tracing_chrome::FlushGuard> {
        let registry = tracing_subscriber::registry();
        match file {
            Some(path) => {
                let (layer, guard) = tracing_chrome::ChromeLayerBuilder::new()
                    .file(path)
                    .include_args(false)
                    .build();
                tracing::subscriber::set_global_default(registry.with(layer)).unwrap();
                Some(guard)
            }
            None => {
                tracing::subscriber::set_global_default(registry).unwrap();
                None
            }
        }
    }

    pub(super) fn spans(iters: u64, file: Option<&Path>) -> Timing {
        let guard = install(file);
        let root = tracing::info_span!("bench").entered();
        let run = |n: u64| {
            for _ in 0..n {
                let _a = tracing::info_span!("a").entered();
                let _b = tracing::info_span!("b").entered();
                let _c = tracing::info_span!("c").entered();
            }
        };
        run(warmup(iters));
        let t0 = Instant::now();
        let c0 = cpu_ns();
        let tc0 = lap_start();
        run(iters);
        let traced = lap(t0, tc0);
        drop(root);
        drop(guard);
        let flushed = t0.elapsed();
        let cpu = cpu_ns() - c0;
        let recorded =
            file.map(|p| count_lines(p, &[r#""ph":"B""#, r#""ph":"X""#]).saturating_sub(1));
        span_timing(iters, traced, file.map(|_| flushed), cpu, recorded)
    }

    pub(super) fn tasks(per_thread: u64, path: &Path) -> Timing {
        let guard = install(Some(path));
        let root = tracing::info_span!("bench");
        let t0 = Instant::now();
        let c0 = cpu_ns();
        let parent = root.clone();
        let traced = on_two_threads(per_thread, move |n| {
            for _ in 0..n {
                drop(tracing::info_span!(parent: &parent, "worker").entered());
            }
        });
        drop(root);
        drop(guard);
        let flushed = t0.elapsed();
        let cpu = cpu_ns() - c0;
        let recorded = count_lines(path, &[r#""ph":"B""#, r#""ph":"X""#]);
        Timing {
            ns_per_pair: per(traced, per_thread),
            ns_flushed: Some(per(flushed, per_thread)),
            pairs: 2 * per_thread,
            cpu_ns_per_pair: cpu as f64 / (2 * per_thread) as f64,
            thread_cpu_ns_per_pair: traced_cpu_ns() as f64 / (2 * per_thread) as f64,
            recorded: Some(recorded),
        }
    }
}
