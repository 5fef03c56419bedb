//! The clock: monotonic, anchored once to wall time (C2).

use std::time::{Instant, SystemTime, UNIX_EPOCH};

use actrace_core::Timestamp;

/// Reads monotonic time and expresses it as nanoseconds since the Unix epoch,
/// so timestamps never go backwards on a lane and still line up with other
/// programs' traces.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Clock {
    origin: Timestamp,
    base: Instant,
}

impl Clock {
    pub(crate) fn new() -> Self {
        let base = Instant::now();
        let wall = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default();
        Clock {
            origin: Timestamp::from_nanos(wall.as_nanos() as u64),
            base,
        }
    }

    /// The wall-clock time the clock started at.
    pub(crate) fn origin(&self) -> Timestamp {
        self.origin
    }

    pub(crate) fn now(&self) -> Timestamp {
        Timestamp::from_nanos(self.origin.as_nanos() + self.base.elapsed().as_nanos() as u64)
    }
}
