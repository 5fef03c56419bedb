//! The traced workload: the root task `copy-dirs` and its phases, each a span
//! of the root so the timeline reads top-down like the program.

use std::io;
use std::time::{Duration, Instant};

use super::scratch::Scratch;
use super::{checksum, copy, summarize, verify};

/// What to do, from the command line.
pub(crate) struct Plan {
    pub(crate) dirs: usize,
    pub(crate) files: usize,
    pub(crate) file_size: u64,
    pub(crate) workers: usize,
}

/// What was done.
pub(crate) struct Outcome {
    /// Bytes of source files written (and copied).
    pub(crate) bytes: u64,
    /// Child tasks started, one flow arrow each (C3).
    pub(crate) child_tasks: u64,
    pub(crate) elapsed: Duration,
}

/// Threads polling the async phase's futures: two, so futures do move.
const EXECUTOR_THREADS: usize = 2;

pub(crate) fn run(plan: &Plan) -> io::Result<Outcome> {
    let started = Instant::now();
    let scratch = Scratch::create(plan.dirs)?;
    let mut root = actrace::root_task("copy-dirs");
    // Ambient spans and child tasks below start from the root.
    let _current = root.enter();

    let bytes = {
        let _prepare = root.span("prepare");
        scratch.fill(plan.files, plan.file_size)?
    };
    {
        let _copy = root.span("copy");
        copy::copy_all(&scratch, plan.workers)?;
    }
    let checksummed = checksum::checksum_all(&root, &scratch, plan.workers)?;
    let totals = {
        let _summarize = root.span("summarize");
        summarize::summarize_all(&scratch, plan.workers, EXECUTOR_THREADS)?
    };
    let verified = {
        let _verify = root.span("verify");
        verify::verify_all(&scratch)?
    };
    let expected = (plan.dirs * plan.files) as u64;
    if checksummed != expected || totals.files != expected || verified != expected {
        return Err(io::Error::other(format!(
            "expected {expected} copied files; checksummed {checksummed}, summarized {}, verified {verified}",
            totals.files
        )));
    }
    if totals.bytes != bytes {
        return Err(io::Error::other(format!(
            "the copies hold {} bytes, the sources {bytes}",
            totals.bytes
        )));
    }
    {
        let _clean = root.span("clean up");
        scratch.remove()?;
    }
    drop(_current);
    root.end();

    let checksum_tasks = plan.workers.min(plan.dirs);
    Ok(Outcome {
        bytes,
        // copy-dir and summarize-dir per directory, checksum per worker, and
        // the summaries task.
        child_tasks: (2 * plan.dirs + checksum_tasks + 1) as u64,
        elapsed: started.elapsed(),
    })
}
