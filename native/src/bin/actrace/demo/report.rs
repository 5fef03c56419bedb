//! What `actrace demo` prints at the end: what the workload did, what the
//! trace holds (read back from the file, as `actrace check` would), and how
//! to look at it.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::path::Path;

use actrace_core::parse::Trace;

use super::workload::{Outcome, Plan};
use crate::check::{read_path, ReadError};
use crate::fail::Failure;
use crate::output::print as print_out;

pub(crate) fn print(
    plan: &Plan,
    outcome: &Outcome,
    out: &Path,
    env_file: Option<&Path>,
) -> Result<(), Failure> {
    let trace = read_path(out).map_err(|e| {
        let why = match e {
            ReadError::Io(e) => e.to_string(),
            ReadError::Parse(e) => format!(
                "{}:{}:{}: {}",
                out.display(),
                e.line(),
                e.column(),
                e.kind()
            ),
        };
        Failure::bad(format!("actrace demo: the trace does not read back: {why}"))
    })?;
    let mut text = String::new();
    let _ = write_report(&mut text, plan, outcome, out, env_file, &trace);
    print_out(&text);
    Ok(())
}

fn write_report(
    w: &mut String,
    plan: &Plan,
    outcome: &Outcome,
    out: &Path,
    env_file: Option<&Path>,
    trace: &Trace,
) -> std::fmt::Result {
    let workers = plan.workers.min(plan.dirs);
    writeln!(
        w,
        "actrace demo: copied {} {} of {} {} ({}) with {workers} {} in {:.1} ms; every copy verified.",
        plan.dirs,
        plural(plan.dirs, "directory", "directories"),
        plan.files,
        plural(plan.files, "file", "files"),
        Bytes(outcome.bytes),
        plural(workers, "worker", "workers"),
        outcome.elapsed.as_secs_f64() * 1e3
    )?;
    let size = std::fs::metadata(out).map_or(0, |m| m.len());
    let state = if trace.complete {
        "closed"
    } else {
        "not closed"
    };
    writeln!(w, "\ntrace: {} ({}, {state})", out.display(), Bytes(size))?;
    // actrace reports by itself when it cannot write ACTRACE_FILE.
    if let Some(env) = env_file.filter(|env| read_path(env).is_ok()) {
        writeln!(w, "       also written to ACTRACE_FILE={}", env.display())?;
    }
    let deepest = trace.slices.iter().map(|s| s.depth).max().unwrap_or(0);
    writeln!(w, "  events: {}", trace.events)?;
    writeln!(
        w,
        "  slices: {} ended, {} still open, spans nested up to {deepest} deep",
        trace.slices.len(),
        trace.open_slices.len()
    )?;
    write!(w, "  flows:  {} arrows", trace.flows.len())?;
    if trace.flows.len() as u64 == outcome.child_tasks {
        writeln!(w, ", one per child task")?;
    } else {
        writeln!(w, " for {} child tasks", outcome.child_tasks)?;
    }
    writeln!(w, "  lanes:  {}", trace.lanes.len())?;
    for (base, (lanes, tasks)) in tasks_by_base(trace) {
        let reused = if tasks > lanes { " (lanes reused)" } else { "" };
        writeln!(
            w,
            "    {base:<14} {tasks:>3} {} on {lanes} {}{reused}",
            plural(tasks, "task", "tasks"),
            plural(lanes, "lane", "lanes")
        )?;
    }
    let cmd = shell_word(&out.display().to_string());
    writeln!(
        w,
        "\nLook at it: open {} in https://ui.perfetto.dev or chrome://tracing,\nor run `actrace check {cmd}`.",
        out.display()
    )
}

/// For each task base name (the lane name before `#`), in order of first
/// appearance: how many lanes it got and how many tasks ran on them.
fn tasks_by_base(trace: &Trace) -> Vec<(String, (usize, usize))> {
    let base_of = |lane: usize| -> String {
        let name = trace.lanes[lane].name.as_deref().unwrap_or("?");
        name.split('#').next().unwrap_or(name).to_owned()
    };
    let mut order = Vec::new();
    let mut counts: BTreeMap<String, (usize, usize)> = BTreeMap::new();
    for lane in 0..trace.lanes.len() {
        let base = base_of(lane);
        if !counts.contains_key(&base) {
            order.push(base.clone());
        }
        counts.entry(base).or_default().0 += 1;
    }
    // A task is a lane's outermost slice (C2).
    let tasks = trace.slices.iter().filter(|s| s.depth == 0).map(|s| s.lane);
    let open = trace
        .open_slices
        .iter()
        .filter(|s| s.depth == 0)
        .map(|s| s.lane);
    for lane in tasks.chain(open) {
        counts.entry(base_of(lane)).or_default().1 += 1;
    }
    order
        .into_iter()
        .map(|b| {
            let c = counts[&b];
            (b, c)
        })
        .collect()
}

fn plural<'a>(n: usize, one: &'a str, many: &'a str) -> &'a str {
    if n == 1 {
        one
    } else {
        many
    }
}

/// Quotes a path for a shell command line when it needs it.
fn shell_word(s: &str) -> String {
    if !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "._-/+=:,@".contains(c))
    {
        s.to_owned()
    } else {
        format!("'{}'", s.replace('\'', r"'\''"))
    }
}

/// A byte count in the largest unit that keeps it above 1.
struct Bytes(u64);

impl std::fmt::Display for Bytes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let b = self.0 as f64;
        if b >= (1 << 20) as f64 {
            write!(f, "{:.1} MiB", b / (1 << 20) as f64)
        } else if b >= 1024.0 {
            write!(f, "{:.1} KiB", b / 1024.0)
        } else {
            write!(f, "{} bytes", self.0)
        }
    }
}
