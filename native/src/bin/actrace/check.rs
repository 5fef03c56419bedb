//! `actrace check FILE`: read a trace back with the tolerant reader and say
//! whether it is well-formed (C1–C4), with a summary.

use std::fs::File;
use std::io::{self, Read};
use std::path::{Path, PathBuf};

use actrace_core::parse::{ParseError, Trace, TraceReader};

use crate::fail::Failure;
use crate::output::print;

/// Arguments of `actrace check`.
#[derive(clap::Args)]
pub(crate) struct CheckArgs {
    /// The trace to read: a closed file, one still being written, or one cut
    /// short. `-` reads standard input.
    #[arg(value_name = "FILE")]
    file: PathBuf,
}

/// Why a trace could not be read back.
pub(crate) enum ReadError {
    /// The bytes could not be read at all.
    Io(io::Error),
    /// The bytes are not a well-formed actrace stream.
    Parse(ParseError),
}

pub(crate) fn run(args: &CheckArgs) -> Result<(), Failure> {
    let label = label(&args.file);
    let result = if args.file == Path::new("-") {
        read_from(io::stdin().lock())
    } else {
        read_path(&args.file)
    };
    match result {
        Ok(trace) => {
            print(&format!("{label}: ok\n{}\n", trace.summary()));
            Ok(())
        }
        Err(ReadError::Parse(e)) => Err(Failure::bad(format!(
            "actrace check: {label}:{}:{}: {}",
            e.line(),
            e.column(),
            e.kind()
        ))),
        Err(ReadError::Io(e)) => Err(Failure::cannot(format!(
            "actrace check: cannot read {label}: {e}"
        ))),
    }
}

/// How a trace source is named in messages.
fn label(path: &Path) -> String {
    if path == Path::new("-") {
        "<stdin>".into()
    } else {
        path.display().to_string()
    }
}

/// Reads the trace file at `path`.
pub(crate) fn read_path(path: &Path) -> Result<Trace, ReadError> {
    read_from(File::open(path).map_err(ReadError::Io)?)
}

/// Streams `input` through the incremental reader, so memory stays bounded by
/// the longest line however big the trace is.
fn read_from(mut input: impl Read) -> Result<Trace, ReadError> {
    let mut reader = TraceReader::new();
    let mut chunk = vec![0u8; 64 * 1024];
    loop {
        let n = match input.read(&mut chunk) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(ReadError::Io(e)),
        };
        reader.feed(&chunk[..n]).map_err(ReadError::Parse)?;
    }
    reader.finish().map_err(ReadError::Parse)
}
