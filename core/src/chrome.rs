//! The Chrome trace JSON encoding (C1–C5), as docs/trace-format.md shows it.

mod decimal;
mod json_str;
mod line;
mod pairing;
mod static_names;

use alloc::vec::Vec;

use crate::{Event, LaneId, Name, NodeId, TaskBegin, Timestamp};
use decimal::UINT_MAX_LEN;
use line::{str_max_len, Lines, MICROS_MAX_LEN};
use pairing::{MERGED, UNMATCHED};
use static_names::StaticNames;

pub use pairing::BatchScratch;

/// The room a line needs besides its strings: more than the literal text of
/// any line (under 100 bytes), plus its numbers and ids at their longest.
const LINE_FIXED_MAX: usize = 128 + UINT_MAX_LEN + 2 * MICROS_MAX_LEN + 2 * ID_MAX_LEN;
/// The longest base64 id (R12).
const ID_MAX_LEN: usize = 11;

/// Encodes events as lines of a Chrome trace JSON array.
///
/// A pure function of its input: the native and wasm adapters write the same
/// bytes for the same events. The separator goes before every event but the
/// first, so the stream is readable when cut at any byte and valid JSON once
/// [`Encoder::close`] has been written.
#[derive(Clone, Copy, Debug)]
pub struct Encoder {
    origin: Timestamp,
}

impl Encoder {
    /// An encoder whose `ts` values count from `origin`.
    pub fn new(origin: Timestamp) -> Self {
        Encoder { origin }
    }

    /// The clock origin.
    pub fn origin(&self) -> Timestamp {
        self.origin
    }

    /// Opens the array and writes the process name, with the wall-clock time
    /// of `ts` 0 so traces of several programs can be lined up.
    pub fn open(&self, process_name: &str, out: &mut Vec<u8>) {
        let mut lines = Lines::new(out);
        lines.line(LINE_FIXED_MAX + str_max_len(process_name));
        lines.put(b"[\n{\"ph\":\"M\",\"pid\":1,\"name\":\"process_name\",\"args\":{\"name\":");
        lines.str(process_name);
        lines.put(b",\"origin_unix_us\":");
        lines.uint(self.origin.as_nanos() / 1000);
        lines.put(b"}}");
    }

    /// Appends one event as one line, separator first.
    pub fn event(&self, event: &Event, out: &mut Vec<u8>) {
        self.write_event(&mut Lines::new(out), None, event);
    }

    #[inline(always)]
    fn write_event(&self, lines: &mut Lines<'_>, names: Option<&mut StaticNames>, event: &Event) {
        match event {
            Event::LaneName { lane, name } => {
                lines.line(LINE_FIXED_MAX + str_max_len(name));
                lines.put(b",\n{\"ph\":\"M\",\"pid\":1,\"tid\":");
                lines.uint(lane.get().into());
                lines.put(b",\"name\":\"thread_name\",\"args\":{\"name\":");
                lines.str(name);
                lines.put(b"}}");
            }
            Event::TaskBegin(b) => {
                lines.line(LINE_FIXED_MAX + task_strings_max_len(b));
                self.head(lines, b"B", b.lane, b.ts);
                task_tail(lines, b);
            }
            Event::SpanBegin { lane, ts, name } => {
                lines.line(LINE_FIXED_MAX + str_max_len(name));
                self.head(lines, b"B", *lane, *ts);
                lines.put(b",\"name\":");
                span_name(lines, names, name);
                lines.put(b"}");
            }
            Event::End { lane, ts } => {
                lines.line(LINE_FIXED_MAX);
                self.head(lines, b"E", *lane, *ts);
                lines.put(b"}");
            }
            Event::FlowStart { lane, ts, flow } | Event::FlowEnd { lane, ts, flow } => {
                lines.line(LINE_FIXED_MAX);
                if matches!(event, Event::FlowStart { .. }) {
                    lines.put(b",\n{\"ph\":\"s\",\"pid\":1,\"tid\":");
                } else {
                    lines.put(b",\n{\"ph\":\"f\",\"bp\":\"e\",\"pid\":1,\"tid\":");
                }
                lines.uint(lane.get().into());
                lines.put(b",\"ts\":");
                lines.time(self.nanos(*ts));
                lines.put(b",\"id\":");
                lines.uint(flow.0);
                lines.put(b",\"cat\":\"actrace\",\"name\":\"spawn\"}");
            }
        }
    }

    /// Appends a task or span that began with `begin` and ended at `end` as
    /// one complete (`X`) line. Other events are written as [`Encoder::event`]
    /// does.
    pub fn complete(&self, begin: &Event, end: Timestamp, out: &mut Vec<u8>) {
        self.write_complete(
            &mut Lines::new(out),
            &mut XHead::default(),
            None,
            begin,
            end,
        );
    }

    #[inline(always)]
    fn write_complete(
        &self,
        lines: &mut Lines<'_>,
        head: &mut XHead,
        names: Option<&mut StaticNames>,
        begin: &Event,
        end: Timestamp,
    ) {
        match begin {
            Event::SpanBegin { lane, ts, name } => {
                lines.line(LINE_FIXED_MAX + str_max_len(name));
                self.complete_head(lines, head, *lane, *ts, end);
                lines.put(b",\"name\":");
                span_name(lines, names, name);
                lines.put(b"}");
            }
            Event::TaskBegin(b) => {
                lines.line(LINE_FIXED_MAX + task_strings_max_len(b));
                self.complete_head(lines, head, b.lane, b.ts, end);
                task_tail(lines, b);
            }
            _ => self.write_event(lines, names, begin),
        }
    }

    /// Appends a batch of events. A task or span that begins and ends within
    /// the batch becomes one complete (`X`) line at the place of its begin:
    /// the same slice in fewer bytes, and every lane's lines stay in time
    /// order. Slices still open at the end of the batch keep their `B` line,
    /// so a stream cut afterwards shows them as unfinished (C4).
    pub fn batch(&self, events: &[Event], out: &mut Vec<u8>, scratch: &mut BatchScratch) {
        scratch.pair(events);
        self.paired_batch(events, scratch, out);
    }

    /// [`Encoder::batch`] for a batch that `scratch` has already paired.
    pub fn paired_batch(&self, events: &[Event], scratch: &mut BatchScratch, out: &mut Vec<u8>) {
        let mut lines = Lines::new(out);
        let mut head = XHead::default();
        let names = &mut scratch.names;
        for (event, &end) in events.iter().zip(scratch.ends.iter()) {
            match end {
                MERGED => {}
                UNMATCHED => self.write_event(&mut lines, Some(names), event),
                end => match events.get(end as usize) {
                    Some(Event::End { ts, .. }) => {
                        self.write_complete(&mut lines, &mut head, Some(names), event, *ts)
                    }
                    // Pairing only ever points at an end.
                    _ => self.write_event(&mut lines, Some(names), event),
                },
            }
        }
    }

    /// Closes the array: the stream is now valid JSON.
    pub fn close(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(b"\n]\n");
    }

    /// The start of a `B` or `E` line, up to its time.
    #[inline(always)]
    fn head(&self, lines: &mut Lines<'_>, ph: &[u8; 1], lane: LaneId, ts: Timestamp) {
        lines.put(b",\n{\"ph\":\"");
        lines.put(ph);
        lines.put(b"\",\"pid\":1,\"tid\":");
        lines.uint(lane.get().into());
        lines.put(b",\"ts\":");
        lines.time(self.nanos(ts));
    }

    /// The start of an `X` line, up to its duration.
    #[inline(always)]
    fn complete_head(
        &self,
        lines: &mut Lines<'_>,
        head: &mut XHead,
        lane: LaneId,
        start: Timestamp,
        end: Timestamp,
    ) {
        let (bytes, len) = head.for_lane(lane);
        lines.put_prefix(bytes, len);
        let start = self.nanos(start);
        lines.time(start);
        lines.put(b",\"dur\":");
        lines.duration(self.nanos(end).saturating_sub(start));
    }

    /// Nanoseconds since the origin.
    #[inline]
    fn nanos(&self, ts: Timestamp) -> u64 {
        ts.nanos_since(self.origin)
    }
}

/// The start of the `X` lines of one lane, up to the `ts` value, made once
/// for a run of lines on the same lane (a batch is one task's lane).
struct XHead {
    /// The lane it was made for; 0 (no lane) at first.
    lane: u32,
    bytes: [u8; XHead::SIZE],
    len: usize,
}

impl Default for XHead {
    fn default() -> Self {
        XHead {
            lane: 0,
            bytes: [0; XHead::SIZE],
            len: 0,
        }
    }
}

impl XHead {
    const START: &'static [u8] = b",\n{\"ph\":\"X\",\"pid\":1,\"tid\":";
    const END: &'static [u8] = b",\"ts\":";
    /// Room for the longest: ten digits of `tid`.
    const SIZE: usize = 48;

    #[inline(always)]
    fn for_lane(&mut self, lane: LaneId) -> (&[u8; XHead::SIZE], usize) {
        if self.lane != lane.get() {
            self.make(lane.get());
        }
        (&self.bytes, self.len)
    }

    #[cold]
    fn make(&mut self, lane: u32) {
        let mut digits = [0u8; 10];
        let mut n = lane;
        let mut at = digits.len();
        loop {
            at -= 1;
            digits[at] = b'0' + (n % 10) as u8;
            n /= 10;
            if n == 0 {
                break;
            }
        }
        let parts = [Self::START, &digits[at..], Self::END];
        self.len = 0;
        for part in parts {
            self.bytes[self.len..self.len + part.len()].copy_from_slice(part);
            self.len += part.len();
        }
        self.lane = lane;
    }
}

/// A span's name: from `names` if it is a literal seen before.
#[inline(always)]
fn span_name(lines: &mut Lines<'_>, names: Option<&mut StaticNames>, name: &Name) {
    if let (Some(names), Some(name)) = (names, name.as_static()) {
        if let Some((quoted, len)) = names.quoted(name) {
            lines.put_prefix(quoted, len);
            return;
        }
    }
    lines.str(name);
}

/// The room the strings of a task's begin need.
fn task_strings_max_len(b: &TaskBegin) -> usize {
    str_max_len(&b.name) + str_max_len(&b.unique)
}

/// A task slice's name and `args`, closing the line.
#[inline(always)]
fn task_tail(lines: &mut Lines<'_>, b: &TaskBegin) {
    lines.put(b",\"name\":");
    lines.str(&b.name);
    lines.put(b",\"args\":{\"id\":\"");
    id(lines, b.id);
    lines.put(b"\",\"task\":");
    lines.str(&b.unique);
    if let Some(parent) = b.parent {
        lines.put(b",\"parent\":\"");
        id(lines, parent);
        lines.put(b"\"");
    }
    lines.put(b"}}");
}

/// A node id in base64 (R12): at most [`ID_MAX_LEN`] bytes.
#[inline(always)]
fn id(lines: &mut Lines<'_>, id: NodeId) {
    let (text, len) = id.base64();
    lines.put_slice(&text[..len.min(ID_MAX_LEN)]);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{read_trace, IdBytes, Tracer};
    use alloc::format;
    use alloc::string::{String, ToString};

    /// A trace with nesting, sibling tasks on a reused lane and flows, as the
    /// tracer emits it.
    fn sample_events() -> Vec<Event> {
        let mut tr = Tracer::new(3, IdBytes::default());
        let mut ev = Vec::new();
        let t = |us: u64| Timestamp::from_nanos(us * 1000 + 7);
        let (root, _) = tr.start_task(None, "root", t(1), &mut ev);
        for round in 0..3u64 {
            let base = 10 + round * 100;
            let (a, _) = tr.start_span(Some(root), "a", t(base), 0, &mut ev, &mut |_| {});
            let (child, _) = tr.start_task(a, "child", t(base + 1), &mut ev);
            let (b, _) = tr.start_span(a, "b", t(base + 2), 0, &mut ev, &mut |_| {});
            let (c, _) = tr.start_span(b, "c \"quoted\"", t(base + 3), 0, &mut ev, &mut |_| {});
            tr.end(c.unwrap(), t(base + 3), &mut ev, &mut |_| {});
            tr.end(b.unwrap(), t(base + 4), &mut ev, &mut |_| {});
            tr.end(child, t(base + 5), &mut ev, &mut |_| {});
            tr.end(a.unwrap(), t(base + 6), &mut ev, &mut |_| {});
        }
        ev
    }

    fn slices(bytes: &[u8]) -> Vec<(String, usize, u64, u64)> {
        let trace = read_trace(bytes).unwrap();
        let mut out: Vec<_> = trace
            .slices
            .iter()
            .map(|s| {
                (
                    s.name.to_string(),
                    s.depth,
                    (s.start_us * 1000.0).round() as u64,
                    (s.end_us * 1000.0).round() as u64,
                )
            })
            .collect();
        out.sort();
        out
    }

    /// The straightforward rendering of a JSON string, as the format fixes it.
    fn reference_str(s: &str) -> String {
        let mut out = String::from("\"");
        for c in s.chars() {
            match c {
                '"' => out.push_str("\\\""),
                '\\' => out.push_str("\\\\"),
                '\n' => out.push_str("\\n"),
                '\r' => out.push_str("\\r"),
                '\t' => out.push_str("\\t"),
                c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
                c => out.push(c),
            }
        }
        out.push('"');
        out
    }

    fn reference_us(nanos: u64) -> String {
        format!("{}.{:03}", nanos / 1000, nanos % 1000)
    }

    /// docs/trace-format.md's lines written with `format!`, for comparison
    /// with the encoder's hand-made number and string writing.
    fn reference_line(origin: Timestamp, event: &Event, end: Option<Timestamp>) -> String {
        let us = |ts: Timestamp| reference_us(ts.nanos_since(origin));
        let id = |id: NodeId| {
            let mut s = String::new();
            id.write_base64(&mut s);
            s
        };
        let task_tail = |b: &TaskBegin| {
            let parent = b
                .parent
                .map(|p| format!(",\"parent\":\"{}\"", id(p)))
                .unwrap_or_default();
            format!(
                ",\"name\":{},\"args\":{{\"id\":\"{}\",\"task\":{}{parent}}}}}",
                reference_str(&b.name),
                id(b.id),
                reference_str(&b.unique)
            )
        };
        let x_head = |lane: LaneId, start: Timestamp, end: Timestamp| {
            let start_ns = start.nanos_since(origin);
            let dur = end.nanos_since(origin).saturating_sub(start_ns);
            format!(
                ",\n{{\"ph\":\"X\",\"pid\":1,\"tid\":{},\"ts\":{},\"dur\":{}",
                lane.get(),
                reference_us(start_ns),
                reference_us(dur)
            )
        };
        let head = |ph: &str, lane: LaneId, ts: Timestamp| {
            format!(
                ",\n{{\"ph\":\"{ph}\",\"pid\":1,\"tid\":{},\"ts\":{}",
                lane.get(),
                us(ts)
            )
        };
        match (event, end) {
            (Event::SpanBegin { lane, ts, name }, Some(end)) => {
                format!("{},\"name\":{}}}", x_head(*lane, *ts, end), reference_str(name))
            }
            (Event::TaskBegin(b), Some(end)) => {
                format!("{}{}", x_head(b.lane, b.ts, end), task_tail(b))
            }
            (Event::SpanBegin { lane, ts, name }, None) => {
                format!("{},\"name\":{}}}", head("B", *lane, *ts), reference_str(name))
            }
            (Event::TaskBegin(b), None) => format!("{}{}", head("B", b.lane, b.ts), task_tail(b)),
            (Event::End { lane, ts }, _) => format!("{}}}", head("E", *lane, *ts)),
            (Event::LaneName { lane, name }, _) => format!(
                ",\n{{\"ph\":\"M\",\"pid\":1,\"tid\":{},\"name\":\"thread_name\",\"args\":{{\"name\":{}}}}}",
                lane.get(),
                reference_str(name)
            ),
            (Event::FlowStart { lane, ts, flow }, _) => format!(
                ",\n{{\"ph\":\"s\",\"pid\":1,\"tid\":{},\"ts\":{},\"id\":{},\"cat\":\"actrace\",\"name\":\"spawn\"}}",
                lane.get(),
                us(*ts),
                flow.0
            ),
            (Event::FlowEnd { lane, ts, flow }, _) => format!(
                ",\n{{\"ph\":\"f\",\"bp\":\"e\",\"pid\":1,\"tid\":{},\"ts\":{},\"id\":{},\"cat\":\"actrace\",\"name\":\"spawn\"}}",
                lane.get(),
                us(*ts),
                flow.0
            ),
        }
    }

    /// Events of every kind with numbers and strings from tiny to the
    /// largest possible, escapes included.
    fn varied_events() -> Vec<Event> {
        let names = [
            "a",
            "",
            "exactly8",
            "nine char",
            "copy-file été ü.txt",
            "quote \" back \\ nl \n tab \t nul \u{0} us \u{1f} bs \u{8} ff \u{c}",
            "\"",
            "a long name that goes on for well over sixty-four bytes, with no escape in it",
        ];
        let lanes = [1, 2, 9, 10, 99, 100, 12_345, u32::MAX - 1, u32::MAX];
        let times = [
            0,
            1,
            999,
            1000,
            1001,
            123_456_789,
            99_999_999_999,
            100_000_000_000,
            1_764_140_000_000_000_000,
            u64::MAX - 1,
            u64::MAX,
        ];
        let mut ids = crate::IdGen::new(7, IdBytes::new(8).unwrap());
        let mut short_ids = crate::IdGen::new(8, IdBytes::new(1).unwrap());
        let mut events = Vec::new();
        for (i, &t) in times.iter().enumerate() {
            let lane = LaneId::new(lanes[i % lanes.len()]).unwrap();
            let name = names[i % names.len()];
            let ts = Timestamp::from_nanos(t);
            events.push(Event::SpanBegin {
                lane,
                ts,
                name: name.into(),
            });
            events.push(Event::End { lane, ts });
            events.push(Event::LaneName {
                lane,
                name: name.into(),
            });
            let flow = crate::FlowId([0, 1, 9, 10, u64::MAX][i % 5]);
            events.push(Event::FlowStart { lane, ts, flow });
            events.push(Event::FlowEnd { lane, ts, flow });
            let (id, parent) = if i % 2 == 0 {
                (ids.next_id(), Some(ids.next_id()))
            } else {
                (short_ids.next_id(), None)
            };
            events.push(Event::TaskBegin(alloc::boxed::Box::new(TaskBegin {
                lane,
                ts,
                name: names[(i + 3) % names.len()].into(),
                unique: alloc::format!("{}#{}", names[(i + 5) % names.len()], i).into(),
                id,
                parent,
            })));
        }
        for lane in lanes {
            for name in names {
                events.push(Event::SpanBegin {
                    lane: LaneId::new(lane).unwrap(),
                    ts: Timestamp::from_nanos(u64::from(lane) * 1_000_003),
                    name: name.into(),
                });
            }
        }
        events
    }

    #[test]
    fn c5_every_line_matches_its_straightforward_rendering() {
        let events = varied_events();
        let times: Vec<u64> = events
            .iter()
            .filter_map(|e| e.ts())
            .map(|t| t.as_nanos())
            .collect();
        for origin in [0, 1, 1_000_000, u64::MAX / 2, u64::MAX] {
            let origin = Timestamp::from_nanos(origin);
            let enc = Encoder::new(origin);
            for (i, event) in events.iter().enumerate() {
                let mut out = Vec::from(&b"before"[..]);
                enc.event(event, &mut out);
                let want = format!("before{}", reference_line(origin, event, None));
                assert_eq!(core::str::from_utf8(&out).unwrap(), want);
                for end in [
                    event.ts(),
                    Some(Timestamp::from_nanos(times[(i * 7) % times.len()])),
                ] {
                    let Some(end) = end else { continue };
                    let mut out = Vec::new();
                    enc.complete(event, end, &mut out);
                    let want = reference_line(origin, event, Some(end));
                    assert_eq!(core::str::from_utf8(&out).unwrap(), want);
                }
            }
        }
    }

    #[test]
    fn c4_a_batch_is_the_lines_of_its_events_and_pairs() {
        // Lanes alternate in runs, so the cached start of X lines is made
        // again and again; times spread over all magnitudes.
        let varied = varied_events();
        let mut events = Vec::new();
        for (i, e) in varied.iter().enumerate() {
            let lane = LaneId::new([1, 1, 2, 70_000, 1, u32::MAX][i % 6]).unwrap();
            let ts = e.ts().unwrap_or(Timestamp::from_nanos(i as u64));
            events.push(Event::SpanBegin {
                lane,
                ts,
                name: "pair".into(),
            });
            events.push(e.clone());
            if !matches!(e, Event::SpanBegin { .. } | Event::TaskBegin(_)) {
                events.push(Event::End { lane, ts });
            }
        }
        let enc = Encoder::new(Timestamp::from_nanos(5_000));
        let mut scratch = BatchScratch::default();
        for size in [1, 2, 7, 64, events.len()] {
            for chunk in events.chunks(size) {
                let mut batch = Vec::new();
                enc.batch(chunk, &mut batch, &mut scratch);
                let mut want = Vec::new();
                for (i, e) in chunk.iter().enumerate() {
                    match scratch.ends[i] {
                        MERGED => {}
                        UNMATCHED => enc.event(e, &mut want),
                        end => enc.complete(e, chunk[end as usize].ts().unwrap(), &mut want),
                    }
                }
                assert_eq!(batch, want, "batch size {size}");
            }
        }
    }

    #[test]
    fn c4_the_process_line_and_close_frame_the_array() {
        let enc = Encoder::new(Timestamp::from_nanos(1_764_140_000_123_456_789));
        let mut out = Vec::new();
        enc.open("demo \"x\"", &mut out);
        enc.close(&mut out);
        assert_eq!(
            core::str::from_utf8(&out).unwrap(),
            "[\n{\"ph\":\"M\",\"pid\":1,\"name\":\"process_name\",\"args\":{\"name\":\"demo \\\"x\\\"\",\"origin_unix_us\":1764140000123456}}\n]\n"
        );
    }

    #[test]
    fn c4_batches_with_complete_events_read_as_the_same_slices() {
        let events = sample_events();
        let enc = Encoder::new(Timestamp::from_nanos(0));
        let mut plain = Vec::new();
        enc.open("p", &mut plain);
        for e in &events {
            enc.event(e, &mut plain);
        }
        let plain_trace = read_trace(&plain).unwrap();
        assert!(
            plain_trace.open_slices.len() == 1,
            "only the root task stays open"
        );
        // Batches of every size, so pairs are split at every possible place.
        for size in 1..=events.len() {
            let mut merged = Vec::new();
            enc.open("p", &mut merged);
            let mut scratch = BatchScratch::default();
            for chunk in events.chunks(size) {
                enc.batch(chunk, &mut merged, &mut scratch);
            }
            let merged_trace =
                read_trace(&merged).unwrap_or_else(|e| panic!("batch size {size}: {e}"));
            assert_eq!(slices(&merged), slices(&plain), "batch size {size}");
            assert_eq!(
                merged_trace.flows.len(),
                plain_trace.flows.len(),
                "batch size {size}"
            );
            assert_eq!(merged_trace.open_slices.len(), 1, "batch size {size}");
            if size == events.len() {
                let text = core::str::from_utf8(&merged).unwrap();
                assert!(text.contains("\"ph\":\"X\""), "{text}");
                assert!(merged.len() < plain.len(), "complete events are shorter");
            }
        }
    }
    #[test]
    fn c4_batches_mixing_lanes_pair_each_lane_on_its_own() {
        // Two tasks interleaved in one batch, as a single-threaded adapter
        // might hand them over.
        let mut tr = Tracer::new(5, IdBytes::default());
        let mut ev = Vec::new();
        let t = |us: u64| Timestamp::from_nanos(us * 1000);
        let (x, _) = tr.start_task(None, "x", t(1), &mut ev);
        let (y, _) = tr.start_task(None, "y", t(2), &mut ev);
        let (xa, _) = tr.start_span(Some(x), "xa", t(3), 0, &mut ev, &mut |_| {});
        let (ya, _) = tr.start_span(Some(y), "ya", t(4), 0, &mut ev, &mut |_| {});
        tr.end(xa.unwrap(), t(5), &mut ev, &mut |_| {});
        tr.end(x, t(6), &mut ev, &mut |_| {});
        tr.end(ya.unwrap(), t(7), &mut ev, &mut |_| {});
        let enc = Encoder::new(Timestamp::from_nanos(0));
        let (mut plain, mut merged) = (Vec::new(), Vec::new());
        enc.open("p", &mut plain);
        enc.open("p", &mut merged);
        for e in &ev {
            enc.event(e, &mut plain);
        }
        enc.batch(&ev, &mut merged, &mut BatchScratch::default());
        assert_eq!(slices(&merged), slices(&plain));
        let trace = read_trace(&merged).unwrap();
        assert_eq!(trace.open_slices.len(), 1, "task y is still open");
        let text = core::str::from_utf8(&merged).unwrap();
        assert_eq!(text.matches("\"ph\":\"X\"").count(), 3, "{text}");
    }
}
