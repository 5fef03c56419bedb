//! The browser clock: `performance.timeOrigin + performance.now()` as
//! nanoseconds since the Unix epoch, so that browser traces line up with
//! native ones taken on the same machine.

use actrace_core::Timestamp;
use wasm_bindgen::prelude::*;

#[wasm_bindgen]
extern "C" {
    type Performance;

    #[wasm_bindgen(thread_local_v2, js_name = performance)]
    static PERFORMANCE: Performance;

    #[wasm_bindgen(method, getter, js_name = timeOrigin)]
    fn time_origin(this: &Performance) -> f64;

    #[wasm_bindgen(method)]
    fn now(this: &Performance) -> f64;
}

/// Milliseconds (as `performance` gives them) to whole nanoseconds.
fn ms_to_nanos(ms: f64) -> u64 {
    (ms * 1e6).round() as u64
}

/// A clock anchored once to wall time (`timeOrigin`) and monotonic after
/// that (`now()`); what it returns never goes backwards (C2).
pub(crate) struct Clock {
    read: Box<dyn FnMut() -> Timestamp>,
    last: Timestamp,
}

impl Clock {
    /// The page's `performance` clock.
    pub(crate) fn performance() -> Self {
        let origin = PERFORMANCE.with(|p| ms_to_nanos(p.time_origin()));
        Clock::custom(move || {
            Timestamp::from_nanos(origin + PERFORMANCE.with(|p| ms_to_nanos(p.now())))
        })
    }

    /// A clock that calls `read`, for deterministic tests.
    pub(crate) fn custom(read: impl FnMut() -> Timestamp + 'static) -> Self {
        Clock {
            read: Box::new(read),
            last: Timestamp::default(),
        }
    }

    /// The time now, never earlier than the time last returned.
    pub(crate) fn now(&mut self) -> Timestamp {
        self.last = self.last.max((self.read)());
        self.last
    }
}

/// The wall-clock time of `performance.now() == 0`: the trace's `ts` origin.
pub(crate) fn performance_origin() -> Timestamp {
    Timestamp::from_nanos(PERFORMANCE.with(|p| ms_to_nanos(p.time_origin())))
}

/// A timestamp as JavaScript shows times: milliseconds since the Unix epoch.
pub(crate) fn to_ms(ts: Timestamp) -> f64 {
    ts.as_nanos() as f64 / 1e6
}
