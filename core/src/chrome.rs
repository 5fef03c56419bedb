//! The Chrome trace JSON encoding (C1–C5), as docs/trace-format.md shows it.

use alloc::vec::Vec;

use crate::{Event, TaskBegin, Timestamp};

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
        out.extend_from_slice(
            b"[\n{\"ph\":\"M\",\"pid\":1,\"name\":\"process_name\",\"args\":{\"name\":",
        );
        write_str(process_name, out);
        out.extend_from_slice(b",\"origin_unix_us\":");
        push_int(out, self.origin.as_nanos() / 1000);
        out.extend_from_slice(b"}}");
    }

    /// Appends one event as one line, separator first.
    pub fn event(&self, event: &Event, out: &mut Vec<u8>) {
        self.event_with(&mut Line::new(), event, out);
    }

    fn event_with(&self, line: &mut Line, event: &Event, out: &mut Vec<u8>) {
        match event {
            Event::LaneName { lane, name } => {
                line.put(b",\n{\"ph\":\"M\",\"pid\":1,\"tid\":");
                line.int(lane.get());
                line.put(b",\"name\":\"thread_name\",\"args\":{\"name\":");
                line.flush(out);
                write_str(name, out);
                out.extend_from_slice(b"}}");
            }
            Event::TaskBegin(b) => {
                line.head(b"B", b.lane.get());
                line.ts(self.micros(b.ts));
                self.task_tail(line, b, out);
            }
            Event::SpanBegin { lane, ts, name } => {
                line.head(b"B", lane.get());
                line.ts(self.micros(*ts));
                line.put(b",\"name\":");
                line.flush(out);
                write_str(name, out);
                out.push(b'}');
            }
            Event::End { lane, ts } => {
                line.head(b"E", lane.get());
                line.ts(self.micros(*ts));
                line.put(b"}");
                line.flush(out);
            }
            Event::FlowStart { lane, ts, flow } | Event::FlowEnd { lane, ts, flow } => {
                let start = matches!(event, Event::FlowStart { .. });
                line.put(if start {
                    b",\n{\"ph\":\"s\",\"pid\":1,\"tid\":"
                } else {
                    b",\n{\"ph\":\"f\",\"bp\":\"e\",\"pid\":1,\"tid\":"
                });
                line.int(lane.get());
                line.put(b",\"ts\":");
                line.ts(self.micros(*ts));
                line.put(b",\"id\":");
                line.int(flow.0);
                line.put(b",\"cat\":\"actrace\",\"name\":\"spawn\"}");
                line.flush(out);
            }
        }
    }

    /// Appends a task or span that began with `begin` and ended at `end` as
    /// one complete (`X`) line. Other events are written as [`Encoder::event`]
    /// does.
    pub fn complete(&self, begin: &Event, end: Timestamp, out: &mut Vec<u8>) {
        self.complete_with(&mut Line::new(), begin, end, out);
    }

    fn complete_with(&self, line: &mut Line, begin: &Event, end: Timestamp, out: &mut Vec<u8>) {
        let (lane, start) = match begin {
            Event::TaskBegin(b) => (b.lane, b.ts),
            Event::SpanBegin { lane, ts, .. } => (*lane, *ts),
            _ => return self.event_with(line, begin, out),
        };
        line.head(b"X", lane.get());
        let start = self.micros(start);
        line.ts(start);
        line.put(b",\"dur\":");
        line.ts(self.micros(end).saturating_sub(start));
        match begin {
            Event::TaskBegin(b) => self.task_tail(line, b, out),
            Event::SpanBegin { name, .. } => {
                line.put(b",\"name\":");
                line.flush(out);
                write_str(name, out);
                out.push(b'}');
            }
            _ => {}
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
        let line = &mut scratch.line;
        for (event, &end) in events.iter().zip(scratch.ends.iter()) {
            match end {
                MERGED => {}
                UNMATCHED => self.event_with(line, event, out),
                end => {
                    let ts = events[end as usize].ts().unwrap_or_default();
                    self.complete_with(line, event, ts, out);
                }
            }
        }
    }

    /// Closes the array: the stream is now valid JSON.
    pub fn close(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(b"\n]\n");
    }

    fn task_tail(&self, line: &mut Line, b: &TaskBegin, out: &mut Vec<u8>) {
        line.put(b",\"name\":");
        line.flush(out);
        write_str(&b.name, out);
        line.put(b",\"args\":{\"id\":\"");
        let (id, len) = b.id.base64();
        line.put(&id[..len]);
        line.put(b"\",\"task\":");
        line.flush(out);
        write_str(&b.unique, out);
        if let Some(parent) = b.parent {
            let (id, len) = parent.base64();
            line.put(b",\"parent\":\"");
            line.put(&id[..len]);
            line.put(b"\"");
        }
        line.put(b"}}");
        line.flush(out);
    }

    /// Nanoseconds since the origin.
    #[inline]
    fn micros(&self, ts: Timestamp) -> u64 {
        ts.nanos_since(self.origin)
    }
}

const UNMATCHED: u32 = u32::MAX;
const MERGED: u32 = u32::MAX - 1;

/// Working memory for [`Encoder::batch`], kept between batches so encoding
/// allocates nothing in the steady state.
#[derive(Debug, Default)]
pub struct BatchScratch {
    ends: Vec<u32>,
    open: Vec<u32>,
    line: Line,
}

impl BatchScratch {
    /// Pairs each begin with its end inside `events`, lane by lane.
    pub fn pair(&mut self, events: &[Event]) {
        let (ends, open) = (&mut self.ends, &mut self.open);
        ends.clear();
        ends.resize(events.len(), UNMATCHED);
        open.clear();
        for (i, event) in events.iter().enumerate() {
            match event {
                Event::TaskBegin(_) | Event::SpanBegin { .. } => open.push(i as u32),
                Event::End { lane, .. } => {
                    // The innermost open slice of the same lane; in a batch
                    // of one task's events that is the top of the stack.
                    if let Some(at) = open
                        .iter()
                        .rposition(|&b| events[b as usize].lane() == *lane)
                    {
                        let b = open.remove(at);
                        ends[b as usize] = i as u32;
                        ends[i] = MERGED;
                    }
                }
                _ => {}
            }
        }
    }

    /// True if event `i` of the last paired batch begins or ends a slice that
    /// lies wholly inside the batch.
    pub fn is_paired(&self, i: usize) -> bool {
        self.ends.get(i).is_some_and(|&e| e != UNMATCHED)
    }
}

/// The fixed-format part of one line, built without capacity checks per piece
/// and appended in one copy.
#[derive(Debug)]
struct Line {
    buf: [u8; 192],
    len: usize,
}

impl Default for Line {
    fn default() -> Self {
        Line::new()
    }
}

impl Line {
    #[inline]
    fn new() -> Self {
        Line {
            buf: [0; 192],
            len: 0,
        }
    }

    #[inline]
    fn put(&mut self, bytes: &[u8]) {
        self.buf[self.len..self.len + bytes.len()].copy_from_slice(bytes);
        self.len += bytes.len();
    }

    #[inline]
    fn int(&mut self, n: impl itoa::Integer) {
        self.put(itoa::Buffer::new().format(n).as_bytes());
    }

    #[inline]
    fn head(&mut self, ph: &[u8; 1], tid: u32) {
        self.put(b",\n{\"ph\":\"");
        self.put(ph);
        self.put(b"\",\"pid\":1,\"tid\":");
        self.int(tid);
        self.put(b",\"ts\":");
    }

    /// Nanoseconds as microseconds with three decimals (C5).
    #[inline]
    fn ts(&mut self, nanos: u64) {
        self.int(nanos / 1000);
        let frac = (nanos % 1000) as u16;
        self.put(&[
            b'.',
            b'0' + (frac / 100) as u8,
            b'0' + (frac / 10 % 10) as u8,
            b'0' + (frac % 10) as u8,
        ]);
    }

    #[inline]
    fn flush(&mut self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.buf[..self.len]);
        self.len = 0;
    }
}

fn push_int(out: &mut Vec<u8>, n: impl itoa::Integer) {
    out.extend_from_slice(itoa::Buffer::new().format(n).as_bytes());
}

/// Writes `s` as a JSON string literal.
fn write_str(s: &str, out: &mut Vec<u8>) {
    out.push(b'"');
    let bytes = s.as_bytes();
    let mut start = 0;
    for (i, &b) in bytes.iter().enumerate() {
        let escape: &[u8] = match b {
            b'"' => b"\\\"",
            b'\\' => b"\\\\",
            b'\n' => b"\\n",
            b'\r' => b"\\r",
            b'\t' => b"\\t",
            0..=0x1f => b"",
            _ => continue,
        };
        out.extend_from_slice(&bytes[start..i]);
        if escape.is_empty() {
            const HEX: &[u8; 16] = b"0123456789abcdef";
            out.extend_from_slice(&[
                b'\\',
                b'u',
                b'0',
                b'0',
                HEX[(b >> 4) as usize],
                HEX[(b & 15) as usize],
            ]);
        } else {
            out.extend_from_slice(escape);
        }
        start = i + 1;
    }
    out.extend_from_slice(&bytes[start..]);
    out.push(b'"');
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{read_trace, IdBytes, Tracer};
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
