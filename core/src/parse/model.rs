//! What a trace holds once read back, and the checks that build it event by
//! event (C1–C3), independent of how the bytes were framed.

use alloc::collections::{BTreeMap, BTreeSet};
use alloc::format;
use alloc::string::{String, ToString};
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::fmt;

use super::error::{ParseError, ParseErrorKind, Pos};
use super::event::{Field, RawEvent};

/// A trace read back from actrace's Chrome JSON stream.
///
/// Lanes are referred to by their index in [`Trace::lanes`]. Times are in
/// microseconds (`ts` of the stream, C5).
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq)]
pub struct Trace {
    /// The `process_name` metadata, if present.
    pub process_name: Option<String>,
    /// Lanes (thread tracks) in order of first appearance.
    pub lanes: Vec<Lane>,
    /// Slices that ended (`B`…`E` pairs and `X` events), in order of their end.
    pub slices: Vec<Slice>,
    /// Slices still open at the end of the stream, by lane, outermost first.
    pub open_slices: Vec<OpenSlice>,
    /// Flows whose start and end were both seen, in order of their end.
    pub flows: Vec<Flow>,
    /// The smallest and largest time seen (an `X` slice counts with its end),
    /// or `None` when no event carries a `ts`.
    pub time_range: Option<TimeRange>,
    /// Events read (objects with a `ph`), including metadata and ignored ones.
    pub events: u64,
    /// Events whose `ph` this reader does not know; counted, otherwise ignored.
    pub unknown_events: u64,
    /// Sum of the `count` of `{"actrace":"dropped","count":N}` markers: events
    /// a live stream reported as missed.
    pub dropped_events: u64,
    /// After a dropped marker, an `E` or flow end may lose its partner. Those
    /// are counted here instead of being errors.
    pub unmatched_after_drop: u64,
    /// Whether the closing `]` (or `}` of the object form) was seen. `false`
    /// for a stream still being written or cut short (C4).
    pub complete: bool,
    /// Bytes at the end of the input that were ignored because they form an
    /// event cut short (from its `{` to the end of the input); 0 if none.
    pub truncated_tail_bytes: u64,
}

/// One lane (thread track), C1.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq)]
pub struct Lane {
    /// The `pid` of its events.
    pub pid: u64,
    /// Its `tid`.
    pub tid: u64,
    /// Its `thread_name` (the unique task name `NAME#N`), if one was given.
    pub name: Option<Arc<str>>,
    /// Slices begun on the lane, ended or still open.
    pub slices: u64,
}

/// A slice that ended.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq)]
pub struct Slice {
    /// Index into [`Trace::lanes`].
    pub lane: usize,
    /// The slice's name (empty if the event had none).
    pub name: Arc<str>,
    /// Start, µs.
    pub start_us: f64,
    /// End, µs.
    pub end_us: f64,
    /// Nesting depth on its lane: 0 for an outermost slice (a task).
    pub depth: usize,
}

/// A slice begun but not ended when the stream stopped (C4: shown as
/// unfinished, never dropped).
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq)]
pub struct OpenSlice {
    /// Index into [`Trace::lanes`].
    pub lane: usize,
    /// The slice's name.
    pub name: Arc<str>,
    /// Start, µs.
    pub start_us: f64,
    /// Nesting depth on its lane.
    pub depth: usize,
}

/// A flow arrow from a parent's lane to a child task (C3).
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq)]
pub struct Flow {
    /// The flow id, unique in the trace.
    pub id: u64,
    /// Where the `s` event was.
    pub from: FlowEnd,
    /// Where the `f` event was.
    pub to: FlowEnd,
}

/// One end of a flow.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FlowEnd {
    /// Index into [`Trace::lanes`].
    pub lane: usize,
    /// Time, µs.
    pub ts_us: f64,
}

/// The span of time a trace covers, µs.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TimeRange {
    /// Earliest time.
    pub min_us: f64,
    /// Latest time.
    pub max_us: f64,
}

impl TimeRange {
    /// `max_us - min_us`.
    pub fn duration_us(&self) -> f64 {
        self.max_us - self.min_us
    }
}

impl Trace {
    /// A short human-readable summary, for `actrace check`.
    pub fn summary(&self) -> TraceSummary<'_> {
        TraceSummary(self)
    }
}

/// Displays a [`Trace`] as a few `key: value` lines. Made by [`Trace::summary`].
#[derive(Debug, Clone, Copy)]
pub struct TraceSummary<'a>(&'a Trace);

impl fmt::Display for TraceSummary<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let t = self.0;
        if let Some(name) = &t.process_name {
            writeln!(f, "process: {name}")?;
        }
        if t.complete {
            writeln!(f, "stream:  complete (closed)")?;
        } else if t.truncated_tail_bytes > 0 {
            writeln!(
                f,
                "stream:  cut (not closed; last {} bytes are a partial event, ignored)",
                t.truncated_tail_bytes
            )?;
        } else {
            writeln!(
                f,
                "stream:  open-ended (not closed; ends after a complete event)"
            )?;
        }
        writeln!(f, "lanes:   {}", t.lanes.len())?;
        writeln!(
            f,
            "slices:  {} ended, {} still open",
            t.slices.len(),
            t.open_slices.len()
        )?;
        writeln!(f, "flows:   {}", t.flows.len())?;
        write!(f, "events:  {}", t.events)?;
        if t.unknown_events > 0 {
            write!(f, ", {} of unknown phase (ignored)", t.unknown_events)?;
        }
        if t.dropped_events > 0 {
            write!(f, ", {} reported dropped by the stream", t.dropped_events)?;
        }
        if t.unmatched_after_drop > 0 {
            write!(f, ", {} unmatched after drops", t.unmatched_after_drop)?;
        }
        writeln!(f)?;
        match t.time_range {
            Some(r) => write!(
                f,
                "time:    {:.3} µs .. {:.3} µs (duration {})",
                r.min_us,
                r.max_us,
                Duration(r.duration_us())
            ),
            None => write!(f, "time:    no timed events"),
        }
    }
}

/// A duration in µs, shown in the largest unit that keeps it above 1.
struct Duration(f64);

impl fmt::Display for Duration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let us = self.0;
        if us >= 1e6 {
            write!(f, "{:.3} s", us / 1e6)
        } else if us >= 1e3 {
            write!(f, "{:.3} ms", us / 1e3)
        } else {
            write!(f, "{us:.3} µs")
        }
    }
}

/// Builds a [`Trace`] from events in file order and checks them as it goes.
#[derive(Default)]
pub(super) struct Builder {
    /// Interned names, so each distinct slice or lane name is stored once.
    names: BTreeSet<Arc<str>>,
    lanes: Vec<Lane>,
    lane_state: Vec<LaneState>,
    lane_index: BTreeMap<(u64, u64), usize>,
    /// Consecutive events are usually on the same lane: skip the map then.
    last_lane: Option<((u64, u64), usize)>,
    slices: Vec<Slice>,
    flows: Vec<Flow>,
    flow_ids: BTreeMap<u64, FlowSlot>,
    process_name: Option<String>,
    time: Option<TimeRange>,
    events: u64,
    unknown_events: u64,
    dropped_events: u64,
    unmatched_after_drop: u64,
    /// A dropped marker was seen: partners of later events may be missing.
    lossy: bool,
}

#[derive(Default)]
struct LaneState {
    last_ts: Option<f64>,
    open: Vec<(Arc<str>, f64)>,
    /// End times of the complete (`X`) slices that may still contain the
    /// next one: actrace writes a finished subtree as X events in begin
    /// order, so nesting follows from the intervals.
    enclosing: Vec<f64>,
}

enum FlowSlot {
    /// Started at `from`, on the line `at`, not ended yet.
    Open { from: FlowEnd, at: Pos },
    /// Ended; the id stays taken (C3: ids are unique in the trace).
    Ended { line: u64 },
}

fn not_event(message: String) -> ParseErrorKind {
    ParseErrorKind::NotAnEvent { message }
}

fn missing(field: &str, ph: &str) -> ParseErrorKind {
    not_event(format!("'{ph}' event has no \"{field}\""))
}

fn wrong(field: &str, expected: &str, found: &Field<'_>) -> ParseErrorKind {
    not_event(format!(
        "\"{field}\" must be {expected}, found {}",
        found.kind()
    ))
}

/// A `pid`, `tid` or flow `id`: a non-negative integer.
fn integer(
    field: &'static str,
    ph: &str,
    value: &Option<Field<'_>>,
) -> Result<u64, ParseErrorKind> {
    match value {
        None => Err(missing(field, ph)),
        Some(Field::Uint(v)) => Ok(*v),
        Some(other) => Err(wrong(field, "a non-negative integer", other)),
    }
}

/// A `pid` or `tid`: C1 says numeric ids are never 0 (viewers treat 0 as
/// "no thread").
fn lane_id(
    field: &'static str,
    ph: &str,
    value: &Option<Field<'_>>,
) -> Result<u64, ParseErrorKind> {
    match integer(field, ph, value)? {
        0 => Err(not_event(format!(
            "\"{field}\" is 0, but ids are never 0 (C1)"
        ))),
        v => Ok(v),
    }
}

fn time(field: &'static str, ph: &str, value: &Option<Field<'_>>) -> Result<f64, ParseErrorKind> {
    match value {
        None => Err(missing(field, ph)),
        Some(v) => match v.as_f64() {
            Some(t) if t.is_finite() => Ok(t),
            Some(_) => Err(not_event(format!("\"{field}\" is not a finite number"))),
            None => Err(wrong(field, "a number", v)),
        },
    }
}

fn string<'f>(
    field: &'static str,
    value: &'f Option<Field<'_>>,
) -> Result<Option<&'f str>, ParseErrorKind> {
    match value {
        None => Ok(None),
        Some(v) => match v.as_str() {
            Some(s) => Ok(Some(s)),
            None => Err(wrong(field, "a string", v)),
        },
    }
}

impl Builder {
    /// Checks one event and adds it to the trace. `at` is where it starts,
    /// remembered for errors reported later (dangling flows).
    pub(super) fn event(&mut self, ev: RawEvent<'_>, at: Pos) -> Result<(), ParseErrorKind> {
        if let Some(marker) = &ev.actrace {
            return self.marker(marker, &ev.count);
        }
        let ph = match &ev.ph {
            None => return Err(not_event("missing \"ph\" (the event's phase)".to_string())),
            Some(Field::Str(ph)) => ph,
            Some(other) => return Err(wrong("ph", "a string", other)),
        };
        self.events += 1;
        let ph: &str = ph;
        match ph {
            "B" | "E" | "X" | "i" | "I" | "s" | "t" | "f" => {}
            "M" => return self.metadata(&ev),
            _ => {
                // Other phases (counters, async events…) are not written by
                // actrace; a viewer may still show them, so they are no error.
                self.unknown_events += 1;
                return Ok(());
            }
        }
        let pid = lane_id("pid", ph, &ev.pid)?;
        let tid = lane_id("tid", ph, &ev.tid)?;
        let ts = time("ts", ph, &ev.ts)?;
        let lane = self.lane(pid, tid);
        self.advance(lane, ts)?;
        match ph {
            "B" => {
                let name = self.intern(string("name", &ev.name)?.unwrap_or(""));
                self.lanes[lane].slices += 1;
                self.lane_state[lane].open.push((name, ts));
            }
            "E" => match self.lane_state[lane].open.pop() {
                Some((name, start_us)) => {
                    let depth = self.lane_state[lane].open.len();
                    self.slices.push(Slice {
                        lane,
                        name,
                        start_us,
                        end_us: ts,
                        depth,
                    });
                }
                None if self.lossy => self.unmatched_after_drop += 1,
                None => {
                    return Err(ParseErrorKind::UnbalancedEnd {
                        tid,
                        lane: self.lanes[lane].name.as_deref().map(String::from),
                    })
                }
            },
            "X" => {
                let dur = time("dur", ph, &ev.dur)?;
                if dur < 0.0 {
                    return Err(not_event("\"dur\" is negative".to_string()));
                }
                let name = self.intern(string("name", &ev.name)?.unwrap_or(""));
                self.lanes[lane].slices += 1;
                let end_us = ts + dur;
                let state = &mut self.lane_state[lane];
                // Drop the enclosing slices this one does not lie inside; one
                // that starts where another ends follows it, unless it has no
                // duration at all.
                // Times carry three decimals and `ts + dur` is computed in
                // floating point: compare to within half the last decimal.
                const SAME: f64 = 0.0005;
                while let Some(&end) = state.enclosing.last() {
                    let before = end < ts - SAME;
                    let touching = (end - ts).abs() <= SAME && end_us > ts + SAME;
                    if before || touching || end_us > end + SAME {
                        state.enclosing.pop();
                    } else {
                        break;
                    }
                }
                let depth = state.open.len() + state.enclosing.len();
                state.enclosing.push(end_us);
                self.see_time(end_us);
                self.slices.push(Slice {
                    lane,
                    name,
                    start_us: ts,
                    end_us,
                    depth,
                });
            }
            "s" | "t" | "f" => {
                let id = integer("id", ph, &ev.id)?;
                self.flow(ph, id, FlowEnd { lane, ts_us: ts }, at)?;
            }
            _ => {} // instants: counted and time-checked only
        }
        Ok(())
    }

    fn marker(
        &mut self,
        marker: &Field<'_>,
        count: &Option<Field<'_>>,
    ) -> Result<(), ParseErrorKind> {
        match marker.as_str() {
            Some("dropped") => {
                let n = integer("count", "dropped", count)?;
                self.dropped_events = self.dropped_events.saturating_add(n);
                self.lossy = true;
                Ok(())
            }
            Some(other) => Err(not_event(format!("unknown actrace marker \"{other}\""))),
            None => Err(wrong("actrace", "a string", marker)),
        }
    }

    fn metadata(&mut self, ev: &RawEvent<'_>) -> Result<(), ParseErrorKind> {
        let pid = lane_id("pid", "M", &ev.pid)?;
        let which = string("name", &ev.name)?.ok_or_else(|| missing("name", "M"))?;
        let arg_name = || -> Result<&str, ParseErrorKind> {
            let name = ev.args.as_ref().and_then(|a| a.name.as_ref());
            match name {
                Some(Field::Str(s)) => Ok(s),
                Some(other) => Err(wrong("args.name", "a string", other)),
                None => Err(not_event(format!(
                    "'{which}' metadata has no \"args\":{{\"name\":…}}"
                ))),
            }
        };
        match which {
            "process_name" => self.process_name = Some(String::from(arg_name()?)),
            "thread_name" => {
                let tid = lane_id("tid", "M", &ev.tid)?;
                let name = self.intern(arg_name()?);
                let lane = self.lane(pid, tid);
                // Late joiners (C6) get lane names again: the latest wins.
                self.lanes[lane].name = Some(name);
            }
            _ => {} // other metadata (sort indices…) does not change the trace
        }
        Ok(())
    }

    fn flow(&mut self, ph: &str, id: u64, here: FlowEnd, at: Pos) -> Result<(), ParseErrorKind> {
        if ph == "s" {
            return match self.flow_ids.get(&id) {
                Some(FlowSlot::Open { at: first, .. }) => Err(ParseErrorKind::DuplicateFlowId {
                    id,
                    first_line: first.line,
                }),
                Some(FlowSlot::Ended { line }) => Err(ParseErrorKind::DuplicateFlowId {
                    id,
                    first_line: *line,
                }),
                None => {
                    self.flow_ids.insert(id, FlowSlot::Open { from: here, at });
                    Ok(())
                }
            };
        }
        let from = match self.flow_ids.get(&id) {
            Some(FlowSlot::Open { from, at }) => (*from, at.line),
            _ if self.lossy => {
                self.unmatched_after_drop += 1;
                return Ok(());
            }
            _ => {
                let phase = if ph == "t" { 't' } else { 'f' };
                return Err(ParseErrorKind::FlowWithoutStart { id, phase });
            }
        };
        if ph == "f" {
            self.flow_ids.insert(id, FlowSlot::Ended { line: from.1 });
            self.flows.push(Flow {
                id,
                from: from.0,
                to: here,
            });
        }
        Ok(())
    }

    fn lane(&mut self, pid: u64, tid: u64) -> usize {
        let key = (pid, tid);
        if let Some((k, i)) = self.last_lane {
            if k == key {
                return i;
            }
        }
        let next = self.lanes.len();
        let i = *self.lane_index.entry(key).or_insert(next);
        if i == next {
            self.lanes.push(Lane {
                pid,
                tid,
                name: None,
                slices: 0,
            });
            self.lane_state.push(LaneState::default());
        }
        self.last_lane = Some((key, i));
        i
    }

    /// C2: per lane, `ts` never goes backwards (file order).
    fn advance(&mut self, lane: usize, ts: f64) -> Result<(), ParseErrorKind> {
        let state = &mut self.lane_state[lane];
        if let Some(previous_us) = state.last_ts {
            if ts < previous_us {
                let l = &self.lanes[lane];
                return Err(ParseErrorKind::TimeWentBack {
                    tid: l.tid,
                    lane: l.name.as_deref().map(String::from),
                    previous_us,
                    ts_us: ts,
                });
            }
        }
        state.last_ts = Some(ts);
        self.see_time(ts);
        Ok(())
    }

    fn see_time(&mut self, ts: f64) {
        self.time = Some(match self.time {
            None => TimeRange {
                min_us: ts,
                max_us: ts,
            },
            Some(r) => TimeRange {
                min_us: r.min_us.min(ts),
                max_us: r.max_us.max(ts),
            },
        });
    }

    fn intern(&mut self, name: &str) -> Arc<str> {
        if let Some(known) = self.names.get(name) {
            return known.clone();
        }
        let new: Arc<str> = Arc::from(name);
        self.names.insert(new.clone());
        new
    }

    /// Ends the trace. In a closed trace every flow must have ended; in a cut
    /// one its `f` may simply not have been written yet.
    pub(super) fn finish(
        self,
        complete: bool,
        truncated_tail_bytes: u64,
    ) -> Result<Trace, ParseError> {
        if complete && !self.lossy {
            let dangling = self
                .flow_ids
                .iter()
                .filter_map(|(id, slot)| match slot {
                    FlowSlot::Open { at, .. } => Some((*at, *id)),
                    FlowSlot::Ended { .. } => None,
                })
                .min();
            if let Some((at, id)) = dangling {
                return Err(ParseError::new(at, ParseErrorKind::DanglingFlow { id }));
            }
        }
        let mut open_slices = Vec::new();
        for (lane, state) in self.lane_state.into_iter().enumerate() {
            for (depth, (name, start_us)) in state.open.into_iter().enumerate() {
                open_slices.push(OpenSlice {
                    lane,
                    name,
                    start_us,
                    depth,
                });
            }
        }
        Ok(Trace {
            process_name: self.process_name,
            lanes: self.lanes,
            slices: self.slices,
            open_slices,
            flows: self.flows,
            time_range: self.time,
            events: self.events,
            unknown_events: self.unknown_events,
            dropped_events: self.dropped_events,
            unmatched_after_drop: self.unmatched_after_drop,
            complete,
            truncated_tail_bytes,
        })
    }
}
