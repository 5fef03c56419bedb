//! The clock: monotonic, anchored once to wall time (C2).

use std::time::{SystemTime, UNIX_EPOCH};

use actrace_core::Timestamp;

/// Reads monotonic time and expresses it as nanoseconds since the Unix epoch,
/// so timestamps never go backwards on a lane and still line up with other
/// programs' traces. Backed by the TSC where quanta finds it invariant and
/// synchronised across cores, else by the OS monotonic clock.
#[derive(Clone)]
pub(crate) struct Clock {
    origin: Timestamp,
    source: quanta::Clock,
    base: u64,
}

impl Clock {
    pub(crate) fn new() -> Self {
        let source = quanta::Clock::new();
        let base = source.raw();
        let wall = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default();
        Clock {
            origin: Timestamp::from_nanos(wall.as_nanos() as u64),
            source,
            base,
        }
    }

    /// The wall-clock time the clock started at.
    pub(crate) fn origin(&self) -> Timestamp {
        self.origin
    }

    #[inline]
    pub(crate) fn now(&self) -> Timestamp {
        let elapsed = self.source.delta_as_nanos(self.base, self.source.raw());
        Timestamp::from_nanos(self.origin.as_nanos() + elapsed)
    }
}
