//! actrace's own metrics (SPEC M1–M3), read at scrape time.
//!
//! The traced program's hot path pays nothing for them: live tasks and the
//! suffix bit vectors are read from the task tree when Prometheus scrapes, and
//! the counters are bumped by the background writer (once per batch of
//! events) and by consumers, never by a span.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard};

use prometheus::core::{Collector, Desc};
use prometheus::proto::MetricFamily;
use prometheus::{IntCounter, IntCounterVec, IntGauge, IntGaugeVec, Opts, Registry};

use crate::runtime::Runtime;

/// Counters shared by the writer thread and the consumers.
pub(crate) struct Stats {
    events: AtomicU64,
    kinds: Mutex<BTreeMap<&'static str, KindStats>>,
}

#[derive(Default, Clone, Copy)]
struct KindStats {
    attached: u64,
    connected: i64,
    dropped_events: u64,
    closed_slow: u64,
    closed_error: u64,
}

/// Why a consumer left the stream.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Closed {
    /// The stream ended (shutdown) or the client went away.
    End,
    /// It fell behind its memory bound and was disconnected (K3).
    Slow,
    /// A write failed.
    Error,
}

pub(crate) static STATS: Stats = Stats {
    events: AtomicU64::new(0),
    kinds: Mutex::new(BTreeMap::new()),
};

impl Stats {
    fn kinds(&self) -> MutexGuard<'_, BTreeMap<&'static str, KindStats>> {
        self.kinds.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The writer took `n` events from the program.
    pub(crate) fn events(&self, n: usize) {
        self.events.fetch_add(n as u64, Ordering::Relaxed);
    }

    pub(crate) fn attached(&self, kind: &'static str) {
        let mut k = self.kinds();
        let s = k.entry(kind).or_default();
        s.attached += 1;
        s.connected += 1;
    }

    pub(crate) fn detached(&self, kind: &'static str, why: Closed) {
        let mut k = self.kinds();
        let s = k.entry(kind).or_default();
        s.connected -= 1;
        match why {
            Closed::End => {}
            Closed::Slow => s.closed_slow += 1,
            Closed::Error => s.closed_error += 1,
        }
    }

    /// A consumer of `kind` lost `n` events (they were queued for it when it
    /// was disconnected).
    pub(crate) fn dropped(&self, kind: &'static str, n: u64) {
        self.kinds().entry(kind).or_default().dropped_events += n;
    }
}

/// A snapshot of actrace's metrics, as [`register_metrics`] exports them.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct MetricsSnapshot {
    /// Live tasks (M1).
    pub live_tasks: usize,
    /// Length of the suffix bit vector per base task name (M2).
    pub name_bitvec_lens: BTreeMap<String, usize>,
    /// Events the background writer took from the program.
    pub events: u64,
    /// Consumers attached so far, by kind (`"websocket"`, …).
    pub consumers_attached: BTreeMap<String, u64>,
    /// Consumers attached now, by kind.
    pub consumers_connected: BTreeMap<String, i64>,
    /// Events lost by consumers that were disconnected, by kind.
    pub events_dropped: BTreeMap<String, u64>,
    /// Consumers disconnected because they fell behind, by kind.
    pub consumers_too_slow: BTreeMap<String, u64>,
}

/// Reads actrace's metrics now.
pub fn metrics() -> MetricsSnapshot {
    let mut snap = MetricsSnapshot::default();
    if let Some(rt) = Runtime::get() {
        let (live, lens) = rt.naming_stats();
        snap.live_tasks = live;
        snap.name_bitvec_lens = lens.into_iter().collect();
    }
    snap.events = STATS.events.load(Ordering::Relaxed);
    for (kind, s) in STATS.kinds().iter() {
        snap.consumers_attached.insert(kind.to_string(), s.attached);
        snap.consumers_connected
            .insert(kind.to_string(), s.connected);
        snap.events_dropped
            .insert(kind.to_string(), s.dropped_events);
        snap.consumers_too_slow
            .insert(kind.to_string(), s.closed_slow);
    }
    snap
}

/// Registers actrace's metrics into `registry` (M3):
///
/// | metric | type | meaning |
/// |---|---|---|
/// | `actrace_live_tasks` | gauge | live tasks (M1) |
/// | `actrace_task_name_suffix_bits{name}` | gauge | length of the bit vector handing out `#N` suffixes for base name `name` (M2) |
/// | `actrace_events_total` | counter | events the background writer took from the program |
/// | `actrace_consumers_attached_total{kind}` | counter | consumers attached (`kind`: `websocket`, `custom`, …) |
/// | `actrace_consumers_connected{kind}` | gauge | consumers attached now |
/// | `actrace_consumer_events_dropped_total{kind}` | counter | events a consumer never received because it was disconnected for falling behind (K3) |
/// | `actrace_consumers_disconnected_total{kind,reason}` | counter | consumers closed for `reason` `slow` or `error` |
///
/// Values are read when the registry is gathered, so tracing pays nothing.
pub fn register_metrics(registry: &Registry) -> prometheus::Result<()> {
    registry.register(Box::new(ActraceCollector::new()?))
}

pub(crate) struct ActraceCollector {
    live_tasks: IntGauge,
    bitvec: IntGaugeVec,
    events: IntCounter,
    attached: IntCounterVec,
    connected: IntGaugeVec,
    dropped: IntCounterVec,
    disconnected: IntCounterVec,
    /// Serialises scrapes: counters are moved to the current value.
    lock: Mutex<()>,
}

impl ActraceCollector {
    pub(crate) fn new() -> prometheus::Result<Self> {
        Ok(ActraceCollector {
            live_tasks: IntGauge::new("actrace_live_tasks", "Live actrace tasks (M1)")?,
            bitvec: IntGaugeVec::new(
                Opts::new(
                    "actrace_task_name_suffix_bits",
                    "Length of the bit vector that hands out #N suffixes, per base task name (M2)",
                ),
                &["name"],
            )?,
            events: IntCounter::new(
                "actrace_events_total",
                "Trace events the background writer took from the program",
            )?,
            attached: IntCounterVec::new(
                Opts::new(
                    "actrace_consumers_attached_total",
                    "Consumers of the trace stream attached, by kind",
                ),
                &["kind"],
            )?,
            connected: IntGaugeVec::new(
                Opts::new(
                    "actrace_consumers_connected",
                    "Consumers of the trace stream attached now, by kind",
                ),
                &["kind"],
            )?,
            dropped: IntCounterVec::new(
                Opts::new(
                    "actrace_consumer_events_dropped_total",
                    "Events consumers never received because they were disconnected for falling behind, by kind",
                ),
                &["kind"],
            )?,
            disconnected: IntCounterVec::new(
                Opts::new(
                    "actrace_consumers_disconnected_total",
                    "Consumers closed by actrace, by kind and reason (slow, error)",
                ),
                &["kind", "reason"],
            )?,
            lock: Mutex::new(()),
        })
    }

    fn update(&self) {
        let snap = metrics();
        self.live_tasks.set(snap.live_tasks as i64);
        self.bitvec.reset();
        for (name, len) in &snap.name_bitvec_lens {
            self.bitvec.with_label_values(&[name]).set(*len as i64);
        }
        advance(&self.events, snap.events);
        for (kind, n) in &snap.consumers_attached {
            advance(&self.attached.with_label_values(&[kind]), *n);
        }
        for (kind, n) in &snap.consumers_connected {
            self.connected.with_label_values(&[kind]).set(*n);
        }
        for (kind, n) in &snap.events_dropped {
            advance(&self.dropped.with_label_values(&[kind]), *n);
        }
        for (kind, s) in STATS.kinds().iter() {
            advance(
                &self.disconnected.with_label_values(&[kind, "slow"]),
                s.closed_slow,
            );
            advance(
                &self.disconnected.with_label_values(&[kind, "error"]),
                s.closed_error,
            );
        }
    }
}

/// Moves a counter up to `value` (counters only go up; ours do too).
fn advance(counter: &IntCounter, value: u64) {
    let now = counter.get();
    if value > now {
        counter.inc_by(value - now);
    }
}

impl Collector for ActraceCollector {
    fn desc(&self) -> Vec<&Desc> {
        let mut d = Vec::new();
        d.extend(self.live_tasks.desc());
        d.extend(self.bitvec.desc());
        d.extend(self.events.desc());
        d.extend(self.attached.desc());
        d.extend(self.connected.desc());
        d.extend(self.dropped.desc());
        d.extend(self.disconnected.desc());
        d
    }

    fn collect(&self) -> Vec<MetricFamily> {
        let _one_at_a_time = self.lock.lock().unwrap_or_else(|p| p.into_inner());
        self.update();
        let mut out = Vec::new();
        out.extend(self.live_tasks.collect());
        out.extend(self.bitvec.collect());
        out.extend(self.events.collect());
        out.extend(self.attached.collect());
        out.extend(self.connected.collect());
        out.extend(self.dropped.collect());
        out.extend(self.disconnected.collect());
        out
    }
}

/// The Prometheus text exposition of actrace's metrics alone.
pub(crate) fn text_exposition(registry: &Registry) -> String {
    use prometheus::Encoder as _;
    let mut buf = Vec::new();
    let encoder = prometheus::TextEncoder::new();
    if let Err(e) = encoder.encode(&registry.gather(), &mut buf) {
        return format!("# actrace: cannot encode metrics: {e}\n");
    }
    String::from_utf8(buf).unwrap_or_default()
}
