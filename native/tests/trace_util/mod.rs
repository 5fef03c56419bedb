//! Helpers shared by the native test binaries: a consumer that keeps the
//! stream in memory, and views of a parsed trace by lane.

// Each test binary uses its own subset of these.
#![allow(dead_code)]

use std::io;
use std::sync::{Arc, Mutex};

use actrace::Consumer;
use actrace_core::parse::Trace;

/// Appends the stream to a shared buffer.
pub(crate) struct Capture(pub(crate) Arc<Mutex<Vec<u8>>>);

impl Consumer for Capture {
    fn describe(&self) -> String {
        "test capture".into()
    }
    fn write(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(())
    }
}

pub(crate) fn lane_name(trace: &Trace, lane: usize) -> &str {
    trace.lanes[lane].name.as_deref().unwrap_or("")
}

/// The ended slices of a lane as (name, depth), in the order they ended,
/// inner first. The writer may encode a slice as one complete (X) event,
/// which the reader lists at its begin, so they are sorted by end; ends are
/// compared in whole nanoseconds, since an X slice's end is ts + dur in
/// floating point.
pub(crate) fn slices_on(trace: &Trace, lane: &str) -> Vec<(String, usize)> {
    let mut slices: Vec<_> = trace
        .slices
        .iter()
        .filter(|s| lane_name(trace, s.lane) == lane)
        .collect();
    let ns = |us: f64| (us * 1000.0).round() as i64;
    slices.sort_by(|a, b| ns(a.end_us).cmp(&ns(b.end_us)).then(b.depth.cmp(&a.depth)));
    slices
        .iter()
        .map(|s| (s.name.to_string(), s.depth))
        .collect()
}

/// Open slices on a lane, outermost first.
pub(crate) fn open_on(trace: &Trace, lane: &str) -> Vec<String> {
    trace
        .open_slices
        .iter()
        .filter(|s| lane_name(trace, s.lane) == lane)
        .map(|s| s.name.to_string())
        .collect()
}

/// A (name, depth) pair, as `slices_on` returns them.
pub(crate) fn s(name: &str, depth: usize) -> (String, usize) {
    (name.to_string(), depth)
}
