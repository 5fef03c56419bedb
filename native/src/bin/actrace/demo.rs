//! `actrace demo`: run a real traced workload and write its trace.
//!
//! The workload is the seed's copy-dirs example made real: in a temporary
//! directory it creates directories of files, copies them with a `copy-dir`
//! task per directory on worker threads, checksums them in a task group,
//! summarizes them with futures on a small executor, and verifies every copy.

mod checksum;
mod copy;
mod executor;
mod report;
mod scratch;
mod summarize;
mod verify;
mod workload;

use std::path::{Path, PathBuf};

use actrace::FileConsumer;
use clap::value_parser;

use crate::fail::Failure;
use workload::Plan;

/// Arguments of `actrace demo`.
#[derive(clap::Args)]
pub(crate) struct DemoArgs {
    /// Where to write the trace (Chrome JSON).
    #[arg(long, value_name = "FILE", default_value = "actrace-demo.json")]
    out: PathBuf,
    /// Directories to create and copy, one `copy-dir` task each.
    #[arg(long, value_name = "N", default_value_t = 12,
          value_parser = value_parser!(u32).range(1..=10_000))]
    dirs: u32,
    /// Files per directory, one `copy-file` span each.
    #[arg(long, value_name = "N", default_value_t = 16,
          value_parser = value_parser!(u32).range(1..=10_000))]
    files: u32,
    /// Typical file size; sizes vary from half of it to one and a half times it.
    #[arg(long, value_name = "BYTES", default_value_t = 8192,
          value_parser = value_parser!(u64).range(0..=MAX_FILE_SIZE))]
    file_size: u64,
    /// Worker threads copying directories, so at most N `copy-dir` lanes;
    /// with more directories than workers, lanes are reused.
    #[arg(long, value_name = "N", default_value_t = 4,
          value_parser = value_parser!(u32).range(1..=256))]
    workers: u32,
    #[command(flatten)]
    live: crate::live::LiveArgs,
}

const MAX_FILE_SIZE: u64 = 64 << 20;
/// The most the sources may take on disk; copies double it.
const MAX_TOTAL: u64 = 1 << 30;

pub(crate) fn run(args: &DemoArgs) -> Result<(), Failure> {
    let plan = Plan {
        dirs: args.dirs as usize,
        files: args.files as usize,
        file_size: args.file_size,
        workers: args.workers as usize,
    };
    // Sizes vary up to 1.5 times --file-size.
    let most = u64::from(args.dirs) * u64::from(args.files) * (args.file_size * 3 / 2);
    if most > MAX_TOTAL {
        return Err(Failure::cannot(format!(
            "actrace demo: --dirs × --files × --file-size could need {} MiB of files; keep it under {} MiB",
            most >> 20,
            MAX_TOTAL >> 20
        )));
    }
    if let Some(addr) = &args.live.listen {
        return crate::live::run_demo(&args.live, addr, || {
            workload::run(&plan).map(|_| ()).map_err(|e| e.to_string())
        });
    }
    let env_file = attach_output(&args.out)?;
    let result = workload::run(&plan);
    // Closes the stream, so the file is complete JSON before it is read back.
    actrace::shutdown();
    let outcome = result.map_err(|e| {
        Failure::bad(format!(
            "actrace demo: {e} (the trace so far is in {})",
            args.out.display()
        ))
    })?;
    report::print(&plan, &outcome, &args.out, env_file.as_deref())
}

/// Sends the trace to `out` from before the root task starts, so the file
/// holds the whole run (K1). Returns `ACTRACE_FILE` if that also gets it.
fn attach_output(out: &Path) -> Result<Option<PathBuf>, Failure> {
    let file = FileConsumer::create(out).map_err(|e| {
        Failure::cannot(format!(
            "actrace demo: cannot create the trace file {}: {e}",
            out.display()
        ))
    })?;
    let env_file = std::env::var_os("ACTRACE_FILE")
        .filter(|p| !p.is_empty())
        .map(PathBuf::from);
    match &env_file {
        // actrace writes ACTRACE_FILE by itself; a second writer on the same
        // file would interleave two streams.
        Some(env) if same_file(env, out) => return Ok(None),
        _ => actrace::attach(file),
    }
    Ok(env_file)
}

fn same_file(a: &Path, b: &Path) -> bool {
    match (std::path::absolute(a), std::path::absolute(b)) {
        (Ok(a), Ok(b)) => a == b,
        _ => a == b,
    }
}
