//! `actrace`: the command line of the actrace activity tracer.
//!
//! - `actrace demo` runs a real traced workload (copying directories of files
//!   with worker threads, a task group and async tasks) and writes its trace.
//! - `actrace check FILE` reads a trace back (closed, still being written or
//!   cut short), checks the writer's rules and prints a summary.
//! - `actrace attach URL` saves a running program's live trace; `actrace demo
//!   --listen ADDR` is such a program.
//! - `actrace view FILE` serves the bundled viewer with a trace loaded.
//!
//! Exit codes: 0 success, 1 the work or the trace is bad (a failed demo, a
//! malformed trace), 2 the command could not run (bad arguments, a file that
//! cannot be read or created).

mod attach;
mod check;
mod demo;
mod fail;
mod live;
mod output;
mod view;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Activity tracing for Rust programs: run a traced demo, check trace files.
#[derive(Parser)]
#[command(name = "actrace", version, arg_required_else_help = true)]
#[command(
    after_help = "Traces are Chrome JSON: open them in https://ui.perfetto.dev or \
chrome://tracing.\nSet ACTRACE_FILE=PATH to trace any program built with actrace."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run a real traced workload (copying directories of files) and write its trace.
    Demo(demo::DemoArgs),
    /// Check a trace file (closed, still being written or cut short) and summarize it.
    Check(check::CheckArgs),
    /// Save a running program's live trace (its ACTRACE_LISTEN stream) as JSON.
    Attach(attach::AttachArgs),
    /// Serve the bundled web viewer with a trace file loaded and print its URL.
    View(view::ViewArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Demo(args) => demo::run(&args),
        Command::Check(args) => check::run(&args),
        Command::Attach(args) => attach::run(&args),
        Command::View(args) => view::run(&args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => {
            eprintln!("{failure}");
            ExitCode::from(failure.code())
        }
    }
}
