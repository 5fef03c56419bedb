//! Tolerant reader of actrace's own Chrome JSON stream (docs/trace-format.md).
//!
//! It rebuilds lanes, slices, open slices and flows from a stream that is
//! closed, still being written, or cut at any byte (C4), and checks the rules
//! the writer guarantees (C1–C3). It does no I/O: bytes come in through
//! [`read_trace`] or, chunk by chunk, through a [`TraceReader`].
//!
//! Accepted inputs:
//! - actrace's framing: `[` on its own line, one event per line with the `,`
//!   separator at the end of a line or at the start of the next, blank lines,
//!   `\r\n`, and the closing `]`. Several events on one line (a single-line
//!   array) are read too. Memory is bounded by the longest line.
//! - the object form `{"traceEvents":[…], …}`, laid out in any way. It is
//!   buffered whole until [`TraceReader::finish`].
//!
//! Tolerance: the last event may be cut short (serde_json reports the end of
//! input inside it); it is ignored and counted in
//! [`Trace::truncated_tail_bytes`]. Any other damage is a [`ParseError`]
//! carrying a 1-based line and a 1-based byte column.
//!
//! ```
//! let trace = actrace_core::parse::read_trace(b"[\n{\"ph\":\"B\",\"pid\":1,\"tid\":1,\"ts\":1.000,\"name\":\"main\"}").unwrap();
//! assert_eq!(trace.open_slices.len(), 1);
//! assert!(!trace.complete);
//! ```

mod error;
mod event;
mod model;

pub use error::{ParseError, ParseErrorKind};
pub use model::{Flow, FlowEnd, Lane, OpenSlice, Slice, TimeRange, Trace, TraceSummary};

use alloc::vec::Vec;
use error::{from_json, Pos};
use event::{Field, RawEvent};
use model::Builder;
use serde::de::IgnoredAny;

/// Reads a whole trace held in memory. Same as feeding `bytes` to a
/// [`TraceReader`] in one chunk and finishing it.
pub fn read_trace(bytes: &[u8]) -> Result<Trace, ParseError> {
    let mut reader = TraceReader::new();
    reader.feed(bytes)?;
    reader.finish()
}

/// Reads a trace arriving in chunks, split anywhere (even inside a UTF-8
/// character): call [`feed`](Self::feed) for each chunk, then
/// [`finish`](Self::finish) at the end of the input.
///
/// Events are checked as soon as their line is complete, so an error is
/// reported by the `feed` that completes the offending line. After an error
/// the reader is spent: later calls return the same error.
pub struct TraceReader {
    state: State,
    builder: Builder,
    failed: Option<ParseError>,
}

enum State {
    /// Only whitespace so far; it decides nothing yet.
    Start { line: u64, column: u64, offset: u64 },
    /// The input started with `[`: actrace's line-by-line stream.
    Lines(LineReader),
    /// The input started with `{`: kept whole and read at the end.
    Whole { buf: Vec<u8>, start: Pos },
}

impl Default for TraceReader {
    fn default() -> Self {
        Self::new()
    }
}

impl TraceReader {
    /// A reader expecting the first byte of a stream.
    pub fn new() -> Self {
        TraceReader {
            state: State::Start {
                line: 1,
                column: 1,
                offset: 0,
            },
            builder: Builder::default(),
            failed: None,
        }
    }

    /// Takes the next chunk of the input.
    pub fn feed(&mut self, chunk: &[u8]) -> Result<(), ParseError> {
        if let Some(err) = &self.failed {
            return Err(err.clone());
        }
        let result = self.feed_inner(chunk);
        if let Err(err) = &result {
            self.failed = Some(err.clone());
        }
        result
    }

    fn feed_inner(&mut self, chunk: &[u8]) -> Result<(), ParseError> {
        let chunk = match &mut self.state {
            State::Start {
                line,
                column,
                offset,
            } => {
                let mut i = 0;
                while i < chunk.len() && is_space(chunk[i]) {
                    if chunk[i] == b'\n' {
                        *line += 1;
                        *column = 1;
                    } else {
                        *column += 1;
                    }
                    i += 1;
                }
                *offset += i as u64;
                if i == chunk.len() {
                    return Ok(());
                }
                let at = Pos {
                    line: *line,
                    column: *column,
                };
                match chunk[i] {
                    b'{' => {
                        self.state = State::Whole {
                            buf: Vec::new(),
                            start: at,
                        };
                    }
                    b'[' => {
                        // Whitespace already on this line is kept as spaces
                        // so columns stay right.
                        let indent = (*column - 1) as usize;
                        let mut partial = Vec::new();
                        partial.resize(indent, b' ');
                        self.state = State::Lines(LineReader {
                            partial,
                            line: *line,
                            line_start: *offset - indent as u64,
                            offset: *offset,
                            framing: Framing::Open,
                            cut: None,
                        });
                    }
                    first_byte => {
                        return Err(ParseError::new(
                            at,
                            ParseErrorKind::NotATrace { first_byte },
                        ))
                    }
                }
                &chunk[i..]
            }
            _ => chunk,
        };
        match &mut self.state {
            State::Start { .. } => Ok(()),
            State::Lines(lines) => lines.feed(chunk, &mut self.builder),
            State::Whole { buf, .. } => {
                buf.extend_from_slice(chunk);
                Ok(())
            }
        }
    }

    /// Ends the input and returns the trace: complete if the closing `]` was
    /// seen, otherwise with what the complete events say (C4).
    pub fn finish(mut self) -> Result<Trace, ParseError> {
        if let Some(err) = self.failed {
            return Err(err);
        }
        match self.state {
            State::Start { line, column, .. } => {
                Err(ParseError::new(Pos { line, column }, ParseErrorKind::Empty))
            }
            State::Lines(mut lines) => {
                let (complete, tail) = lines.finish(&mut self.builder)?;
                self.builder.finish(complete, tail)
            }
            State::Whole { buf, start } => {
                let (complete, tail) = read_object(&buf, start, &mut self.builder)?;
                self.builder.finish(complete, tail)
            }
        }
    }
}

/// JSON whitespace.
fn is_space(b: u8) -> bool {
    matches!(b, b' ' | b'\n' | b'\r' | b'\t')
}

fn skip_space(bytes: &[u8], mut i: usize) -> usize {
    while i < bytes.len() && is_space(bytes[i]) {
        i += 1;
    }
    i
}

/// Where the reader is in the array: before `[`, inside, after `]`.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Framing {
    Open,
    Items(Expect),
    Closed,
}

/// What may come next inside the event array.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Expect {
    /// Just after `[`: an event or `]`.
    First,
    /// After `,`: an event, or `]` (a trailing comma is tolerated, as
    /// Chrome's own loader does).
    AfterComma,
    /// After an event: `,` or `]`.
    AfterEvent,
}

/// Why [`walk_items`] stopped.
enum Stop {
    /// It ran out of bytes between items.
    End,
    /// It read the closing `]`; the index just after it.
    Closed(usize),
    /// The event starting at this index ends with the input (or line): it may
    /// be an event cut short.
    Cut {
        start: usize,
        error: serde_json::Error,
    },
}

/// Reads array items (events, `,` and the closing `]`) from `bytes[i..]`,
/// feeding each event to `builder`. `pos_of` turns an index into a position
/// in the file.
fn walk_items(
    bytes: &[u8],
    mut i: usize,
    expect: &mut Expect,
    builder: &mut Builder,
    pos_of: &mut dyn FnMut(usize) -> Pos,
) -> Result<Stop, ParseError> {
    loop {
        i = skip_space(bytes, i);
        let Some(&b) = bytes.get(i) else {
            return Ok(Stop::End);
        };
        match (b, *expect) {
            (b']', _) => return Ok(Stop::Closed(i + 1)),
            (b',', Expect::AfterEvent) => {
                *expect = Expect::AfterComma;
                i += 1;
            }
            (b'{', Expect::First | Expect::AfterComma) => {
                let mut values =
                    serde_json::Deserializer::from_slice(&bytes[i..]).into_iter::<RawEvent<'_>>();
                match values.next() {
                    Some(Ok(event)) => {
                        let at = pos_of(i);
                        builder
                            .event(event, at)
                            .map_err(|kind| ParseError::new(at, kind))?;
                        i += values.byte_offset();
                        *expect = Expect::AfterEvent;
                    }
                    Some(Err(error)) if error.is_eof() => return Ok(Stop::Cut { start: i, error }),
                    Some(Err(error)) => return Err(from_json(pos_of(i), &error)),
                    None => return Ok(Stop::End), // unreachable: `{` is there
                }
            }
            (found, Expect::AfterEvent) => {
                let expected = "',' or ']' after an event";
                return Err(ParseError::new(
                    pos_of(i),
                    ParseErrorKind::Unexpected { found, expected },
                ));
            }
            (found, _) => {
                let expected = "an event object '{' or ']'";
                return Err(ParseError::new(
                    pos_of(i),
                    ParseErrorKind::Unexpected { found, expected },
                ));
            }
        }
    }
}

/// Splits actrace's stream into lines and reads each complete one.
struct LineReader {
    /// The current line so far (it has no `\n` yet).
    partial: Vec<u8>,
    /// The current line's number.
    line: u64,
    /// Offset in the input of the current line's first byte.
    line_start: u64,
    /// Bytes of input seen.
    offset: u64,
    framing: Framing,
    /// An event that ran into the end of its line. Fine if it is the last
    /// thing in the input (a cut stream); an error if anything follows.
    cut: Option<Cut>,
}

struct Cut {
    error: ParseError,
    /// Offset in the input of the cut event's `{`.
    offset: u64,
}

impl LineReader {
    fn feed(&mut self, mut chunk: &[u8], builder: &mut Builder) -> Result<(), ParseError> {
        self.offset += chunk.len() as u64;
        while let Some(end) = chunk.iter().position(|&b| b == b'\n') {
            let line_len = self.partial.len() + end;
            // Whole lines are read straight from the chunk; only a line split
            // across chunks is copied.
            if self.partial.is_empty() {
                self.line_bytes(&chunk[..end], builder)?;
            } else {
                let mut line = core::mem::take(&mut self.partial);
                line.extend_from_slice(&chunk[..end]);
                let read = self.line_bytes(&line, builder);
                line.clear();
                self.partial = line; // keep the capacity
                read?;
            }
            self.line += 1;
            self.line_start += line_len as u64 + 1;
            self.partial.clear();
            chunk = &chunk[end + 1..];
        }
        self.partial.extend_from_slice(chunk);
        Ok(())
    }

    /// Reads the unterminated last line, if any. Returns whether the array
    /// was closed, and how many trailing bytes were a cut event.
    fn finish(&mut self, builder: &mut Builder) -> Result<(bool, u64), ParseError> {
        let last = core::mem::take(&mut self.partial);
        self.line_bytes(&last, builder)?;
        let tail = self.cut.as_ref().map_or(0, |cut| self.offset - cut.offset);
        Ok((self.framing == Framing::Closed, tail))
    }

    fn line_bytes(&mut self, bytes: &[u8], builder: &mut Builder) -> Result<(), ParseError> {
        let mut i = skip_space(bytes, 0);
        if i == bytes.len() {
            return Ok(()); // blank lines are allowed anywhere
        }
        if let Some(cut) = &self.cut {
            // The cut event was not the end of the input after all.
            return Err(cut.error.clone());
        }
        let line = self.line;
        let mut pos_of = |at: usize| Pos {
            line,
            column: at as u64 + 1,
        };
        loop {
            match &mut self.framing {
                Framing::Open => {
                    // `State::Start` only hands over input that begins with `[`.
                    debug_assert_eq!(bytes[i], b'[');
                    self.framing = Framing::Items(Expect::First);
                    i += 1;
                }
                Framing::Items(expect) => match walk_items(bytes, i, expect, builder, &mut pos_of)?
                {
                    Stop::End => return Ok(()),
                    Stop::Closed(after) => {
                        self.framing = Framing::Closed;
                        i = after;
                    }
                    Stop::Cut { start, error } => {
                        self.cut = Some(Cut {
                            error: from_json(pos_of(start), &error),
                            offset: self.line_start + start as u64,
                        });
                        return Ok(());
                    }
                },
                Framing::Closed => {
                    i = skip_space(bytes, i);
                    if i < bytes.len() {
                        return Err(ParseError::new(pos_of(i), ParseErrorKind::AfterClose));
                    }
                    return Ok(());
                }
            }
        }
    }
}

/// Positions of increasing offsets in a buffer, found in one pass overall.
struct Tracker {
    start: Pos,
    offset: usize,
    pos: Pos,
}

impl Tracker {
    fn pos_of(&mut self, buf: &[u8], offset: usize) -> Pos {
        if offset < self.offset {
            self.offset = 0;
            self.pos = self.start;
        }
        for &b in &buf[self.offset..offset] {
            if b == b'\n' {
                self.pos.line += 1;
                self.pos.column = 1;
            } else {
                self.pos.column += 1;
            }
        }
        self.offset = offset;
        self.pos
    }
}

/// Reads the `{"traceEvents":[…], …}` form held whole in `buf` (which starts
/// with `{` at `start`). Returns whether the object was closed and the bytes
/// of a cut last event. Other keys are skipped; an input cut anywhere after
/// the array began is accepted like a cut stream.
fn read_object(buf: &[u8], start: Pos, builder: &mut Builder) -> Result<(bool, u64), ParseError> {
    let mut tracker = Tracker {
        start,
        offset: 0,
        pos: start,
    };
    let mut pos_of = |at: usize| tracker.pos_of(buf, at);
    let mut found = false;
    // What to return when the input ends early: fine once events were found.
    let cut = |found: bool, at: Pos| {
        if found {
            Ok((false, 0))
        } else {
            Err(ParseError::new(at, ParseErrorKind::NoTraceEvents))
        }
    };
    let mut i = 1; // past the `{`
    let mut first = true;
    loop {
        i = skip_space(buf, i);
        match buf.get(i) {
            None => return cut(found, pos_of(i)),
            Some(b'}') => break,
            Some(b',') if !first => i = skip_space(buf, i + 1),
            Some(_) if first => {}
            Some(&found_byte) => {
                let kind = ParseErrorKind::Unexpected {
                    found: found_byte,
                    expected: "',' or '}'",
                };
                return Err(ParseError::new(pos_of(i), kind));
            }
        }
        first = false;
        match buf.get(i) {
            None => return cut(found, pos_of(i)),
            Some(b'"') => {}
            Some(&found_byte) => {
                let kind = ParseErrorKind::Unexpected {
                    found: found_byte,
                    expected: "a key string",
                };
                return Err(ParseError::new(pos_of(i), kind));
            }
        }
        let mut keys = serde_json::Deserializer::from_slice(&buf[i..]).into_iter::<Field<'_>>();
        let is_events = match keys.next() {
            Some(Ok(key)) => key.as_str() == Some("traceEvents"),
            Some(Err(e)) if e.is_eof() => return cut(found, pos_of(i)),
            Some(Err(e)) => return Err(from_json(pos_of(i), &e)),
            None => return cut(found, pos_of(i)),
        };
        i = skip_space(buf, i + keys.byte_offset());
        match buf.get(i) {
            None => return cut(found, pos_of(i)),
            Some(b':') => i = skip_space(buf, i + 1),
            Some(&found_byte) => {
                let kind = ParseErrorKind::Unexpected {
                    found: found_byte,
                    expected: "':'",
                };
                return Err(ParseError::new(pos_of(i), kind));
            }
        }
        if is_events {
            match buf.get(i) {
                None => return cut(found, pos_of(i)),
                Some(b'[') => {}
                Some(&found_byte) => {
                    let kind = ParseErrorKind::Unexpected {
                        found: found_byte,
                        expected: "'[' starting the traceEvents array",
                    };
                    return Err(ParseError::new(pos_of(i), kind));
                }
            }
            found = true;
            let mut expect = Expect::First;
            match walk_items(buf, i + 1, &mut expect, builder, &mut pos_of)? {
                Stop::End => return Ok((false, 0)),
                Stop::Closed(after) => i = after,
                Stop::Cut { start, .. } => return Ok((false, (buf.len() - start) as u64)),
            }
        } else {
            let mut values =
                serde_json::Deserializer::from_slice(&buf[i..]).into_iter::<IgnoredAny>();
            match values.next() {
                Some(Ok(_)) => i += values.byte_offset(),
                Some(Err(e)) if e.is_eof() => return cut(found, pos_of(i)),
                Some(Err(e)) => return Err(from_json(pos_of(i), &e)),
                None => return cut(found, pos_of(i)),
            }
        }
    }
    // `buf[i]` is the closing `}`.
    let after = skip_space(buf, i + 1);
    if after < buf.len() {
        return Err(ParseError::new(pos_of(after), ParseErrorKind::AfterClose));
    }
    if !found {
        return Err(ParseError::new(start, ParseErrorKind::NoTraceEvents));
    }
    Ok((true, 0))
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::format;
    use alloc::string::{String, ToString};
    use alloc::vec;
    use proptest::prelude::*;

    /// A trace as docs/trace-format.md describes it: two lanes, nested spans,
    /// a lane reused by a second task with the same unique name, two flows, a
    /// name with escapes and one with multi-byte UTF-8 (so that byte cuts land
    /// inside escapes and characters).
    const EVENTS: &[&str] = &[
        r#"{"ph":"M","pid":1,"name":"process_name","args":{"name":"demo","origin_unix_us":1764140000000000}}"#,
        r#"{"ph":"M","pid":1,"tid":1,"name":"thread_name","args":{"name":"main#0"}}"#,
        r#"{"ph":"B","pid":1,"tid":1,"ts":0.000,"name":"main","args":{"id":"AAAA","task":"main#0"}}"#,
        r#"{"ph":"B","pid":1,"tid":1,"ts":1.500,"name":"load \"config\" \u00e9\\x"}"#,
        r#"{"ph":"E","pid":1,"tid":1,"ts":3.250}"#,
        r#"{"ph":"M","pid":1,"tid":2,"name":"thread_name","args":{"name":"copy-dir#0"}}"#,
        r#"{"ph":"s","pid":1,"tid":1,"ts":4.000,"id":1,"cat":"actrace","name":"spawn"}"#,
        r#"{"ph":"B","pid":1,"tid":2,"ts":4.000,"name":"copy-dir","args":{"id":"QrSt","task":"copy-dir#0","parent":"AAAA"}}"#,
        r#"{"ph":"f","bp":"e","pid":1,"tid":2,"ts":4.000,"id":1,"cat":"actrace","name":"spawn"}"#,
        r#"{"ph":"B","pid":1,"tid":2,"ts":5.125,"name":"copy-file a.txt"}"#,
        r#"{"ph":"B","pid":1,"tid":2,"ts":5.500,"name":"read"}"#,
        r#"{"ph":"E","pid":1,"tid":2,"ts":6.000}"#,
        r#"{"ph":"E","pid":1,"tid":2,"ts":7.001}"#,
        r#"{"ph":"E","pid":1,"tid":2,"ts":8.000}"#,
        r#"{"ph":"s","pid":1,"tid":1,"ts":9.000,"id":2,"cat":"actrace","name":"spawn"}"#,
        r#"{"ph":"B","pid":1,"tid":2,"ts":9.000,"name":"copy-dir","args":{"id":"UvWx","task":"copy-dir#0","parent":"AAAA"}}"#,
        r#"{"ph":"f","bp":"e","pid":1,"tid":2,"ts":9.000,"id":2,"cat":"actrace","name":"spawn"}"#,
        r#"{"ph":"B","pid":1,"tid":2,"ts":9.500,"name":"copy-file été ü.txt"}"#,
        r#"{"ph":"E","pid":1,"tid":2,"ts":10.000}"#,
        r#"{"ph":"E","pid":1,"tid":2,"ts":11.000}"#,
        r#"{"ph":"E","pid":1,"tid":1,"ts":12.000}"#,
    ];

    /// The writer's framing: `[`, the separator `,\n` before each event but
    /// the first, and `\n]\n` on a clean close.
    fn framed(events: &[&str], closed: bool) -> String {
        let mut s = String::from("[\n");
        s.push_str(&events.join(",\n"));
        if closed {
            s.push_str("\n]\n");
        }
        s
    }

    fn read(s: &str) -> Trace {
        match read_trace(s.as_bytes()) {
            Ok(t) => t,
            Err(e) => panic!("{e}\n--- input ---\n{}", short(s)),
        }
    }

    fn error(s: &str) -> ParseError {
        match read_trace(s.as_bytes()) {
            Ok(t) => panic!("accepted: {t:?}\n--- input ---\n{}", short(s)),
            Err(e) => e,
        }
    }

    /// At most 2000 bytes of `s`, so that a failing test's message stays readable.
    fn short(s: &str) -> &str {
        let mut end = s.len().min(2000);
        while !s.is_char_boundary(end) {
            end -= 1;
        }
        &s[..end]
    }

    fn at(e: &ParseError) -> (u64, u64) {
        (e.line(), e.column())
    }

    fn lane_name(t: &Trace, lane: usize) -> &str {
        t.lanes[lane].name.as_deref().unwrap_or("?")
    }

    /// Slices rendered as `lane/depth name start..end`, for comparisons.
    fn render(t: &Trace) -> Vec<String> {
        let mut out: Vec<String> = t
            .slices
            .iter()
            .map(|s| {
                format!(
                    "{}/{} {} {:.3}..{:.3}",
                    lane_name(t, s.lane),
                    s.depth,
                    s.name,
                    s.start_us,
                    s.end_us
                )
            })
            .collect();
        out.extend(t.open_slices.iter().map(|s| {
            format!(
                "{}/{} {} {:.3}..",
                lane_name(t, s.lane),
                s.depth,
                s.name,
                s.start_us
            )
        }));
        out
    }

    #[test]
    fn c4_closed_trace_is_read_completely() {
        let t = read(&framed(EVENTS, true));
        assert!(t.complete);
        assert_eq!(t.truncated_tail_bytes, 0);
        assert_eq!(t.process_name.as_deref(), Some("demo"));
        assert_eq!(t.events, EVENTS.len() as u64);
        assert_eq!(
            render(&t),
            [
                "main#0/1 load \"config\" é\\x 1.500..3.250",
                "copy-dir#0/2 read 5.500..6.000",
                "copy-dir#0/1 copy-file a.txt 5.125..7.001",
                "copy-dir#0/0 copy-dir 4.000..8.000",
                "copy-dir#0/1 copy-file été ü.txt 9.500..10.000",
                "copy-dir#0/0 copy-dir 9.000..11.000",
                "main#0/0 main 0.000..12.000",
            ]
        );
        assert!(t.open_slices.is_empty());
        assert_eq!(
            t.time_range,
            Some(TimeRange {
                min_us: 0.0,
                max_us: 12.0
            })
        );
    }

    #[test]
    fn c1_reused_lane_keeps_its_tid_and_name() {
        let t = read(&framed(EVENTS, true));
        let lanes: Vec<_> = t
            .lanes
            .iter()
            .map(|l| (l.pid, l.tid, l.name.as_deref(), l.slices))
            .collect();
        assert_eq!(
            lanes,
            [(1, 1, Some("main#0"), 2), (1, 2, Some("copy-dir#0"), 5)]
        );
    }

    #[test]
    fn c3_flows_link_parent_lane_to_child_task() {
        let t = read(&framed(EVENTS, true));
        let flows: Vec<_> = t
            .flows
            .iter()
            .map(|f| (f.id, f.from.lane, f.from.ts_us, f.to.lane, f.to.ts_us))
            .collect();
        assert_eq!(flows, [(1, 0, 4.0, 1, 4.0), (2, 0, 9.0, 1, 9.0)]);
    }

    #[test]
    fn c4_open_ended_trace_shows_open_slices_as_unfinished() {
        // Running program: the stream ends after a complete event, no `]`.
        let t = read(&framed(&EVENTS[..11], false));
        assert!(!t.complete);
        assert_eq!(t.truncated_tail_bytes, 0);
        assert_eq!(
            render(&t),
            [
                "main#0/1 load \"config\" é\\x 1.500..3.250",
                "main#0/0 main 0.000..",
                "copy-dir#0/0 copy-dir 4.000..",
                "copy-dir#0/1 copy-file a.txt 5.125..",
                "copy-dir#0/2 read 5.500..",
            ]
        );
        // A flow whose `f` is not written yet is no error in an open stream.
        let t = read(&framed(&EVENTS[..7], false));
        assert!(t.flows.is_empty());
    }

    #[test]
    fn c4_cut_trace_ignores_the_partial_last_event() {
        let full = framed(&EVENTS[..5], false);
        let cut = format!("{full},\n{{\"ph\":\"B\",\"pid\":1,\"tid\":1,\"ts\":4.0,\"na");
        let t = read(&cut);
        assert!(!t.complete);
        assert_eq!(t.events, 5);
        assert_eq!(t.truncated_tail_bytes, (cut.len() - full.len() - 2) as u64);
        assert_eq!(t.open_slices.len(), 1);
        // The same cut event followed only by blank lines is still a cut.
        assert_eq!(read(&format!("{cut}\n\n  \n")).events, 5);
    }

    /// For every prefix of `text`, what the complete event lines in it say,
    /// found with plain string search (not the parser): events, `B`s, `E`s.
    fn expected_counts(text: &str, cut: usize) -> (u64, usize, usize, u64) {
        let (mut events, mut begins, mut ends, mut tail) = (0, 0, 0, 0);
        let mut offset = 0;
        for line in text.split_inclusive('\n') {
            if let (Some(open), Some(close)) = (line.find('{'), line.rfind('}')) {
                let (start, end) = (offset + open, offset + close + 1);
                if end <= cut {
                    events += 1;
                    begins += line.contains(r#""ph":"B""#) as usize;
                    ends += line.contains(r#""ph":"E""#) as usize;
                } else if start < cut {
                    tail = (cut - start) as u64;
                }
            }
            offset += line.len();
        }
        (events, begins, ends, tail)
    }

    fn check_every_cut(text: &str) {
        let bytes = text.as_bytes();
        let close = text.rfind(']').unwrap();
        for cut in 0..=bytes.len() {
            let prefix = &bytes[..cut];
            let result = read_trace(prefix);
            if prefix.iter().all(|b| is_space(*b)) {
                assert_eq!(result.unwrap_err().kind(), &ParseErrorKind::Empty);
                continue;
            }
            let t = result.unwrap_or_else(|e| panic!("cut at {cut}: {e}"));
            let (events, begins, ends, tail) = expected_counts(text, cut);
            assert_eq!(t.events, events, "cut at {cut}");
            assert_eq!(t.slices.len(), ends, "cut at {cut}");
            assert_eq!(t.open_slices.len(), begins - ends, "cut at {cut}");
            assert_eq!(t.truncated_tail_bytes, tail, "cut at {cut}");
            assert_eq!(t.complete, cut > close, "cut at {cut}");
        }
    }

    #[test]
    fn c4_cut_at_every_byte_is_readable() {
        check_every_cut(&framed(EVENTS, true));
    }

    #[test]
    fn c4_cut_at_every_byte_is_readable_with_other_separator_styles() {
        // Separator at the start of each line, and `\r\n` line ends.
        let mut leading = String::from("[\n");
        for (i, e) in EVENTS.iter().enumerate() {
            leading.push_str(if i == 0 { " " } else { "," });
            leading.push_str(e);
            leading.push('\n');
        }
        leading.push_str("]\n");
        check_every_cut(&leading);
        check_every_cut(&framed(EVENTS, true).replace('\n', "\r\n"));
    }

    #[test]
    fn c4_separator_styles_blank_lines_and_crlf_are_accepted() {
        let reference = read(&framed(EVENTS, true));
        let trailing: String = format!("[\r\n\r\n{},\r\n\r\n]\r\n", EVENTS.join(",\r\n"));
        let leading = format!("[\n{}\n]", EVENTS.join("\n,"));
        let single_line = format!("[{}]", EVENTS.join(","));
        let indented = format!("  \n\t[ {} ]  \n\n", EVENTS.join(" ,\n  "));
        for text in [trailing, leading, single_line, indented] {
            assert_eq!(read(&text), reference, "{text}");
        }
    }

    #[test]
    fn object_form_with_trace_events_is_read() {
        let reference = read(&framed(EVENTS, true));
        let compact = format!(
            r#"{{"traceEvents":[{}],"displayTimeUnit":"ns"}}"#,
            EVENTS.join(",")
        );
        assert_eq!(read(&compact), reference);
        let pretty = format!(
            "{{\n  \"otherData\": {{\"version\": [1, {{\"x\": null}}]}},\n  \"traceEvents\": [\n    {}\n  ]\n}}\n",
            EVENTS.join(",\n    ")
        );
        assert_eq!(read(&pretty), reference);

        // Cut inside the array: like a cut stream.
        let cut = &compact[..compact
            .find(r#"{"ph":"E","pid":1,"tid":1,"ts":12"#)
            .unwrap()
            + 10];
        let t = read(cut);
        assert!(!t.complete);
        assert_eq!(t.events, EVENTS.len() as u64 - 1);
        assert_eq!(t.truncated_tail_bytes, 10);
    }

    #[test]
    fn object_form_errors_have_file_positions() {
        let e =
            error("{\n \"traceEvents\": [\n  {\"ph\":\"E\",\"pid\":1,\"tid\":1,\"ts\":1}\n ]\n}");
        assert_eq!(at(&e), (3, 3));
        assert!(matches!(
            e.kind(),
            ParseErrorKind::UnbalancedEnd { tid: 1, .. }
        ));
        let e = error("{\"displayTimeUnit\":\"ns\"}");
        assert_eq!(e.kind(), &ParseErrorKind::NoTraceEvents);
        let e = error("{\"traceEvents\":[]} x");
        assert_eq!((at(&e), e.kind()), ((1, 20), &ParseErrorKind::AfterClose));
        let e = error("{\"traceEvents\":{}}");
        assert!(matches!(
            e.kind(),
            ParseErrorKind::Unexpected { found: b'{', .. }
        ));
    }

    #[test]
    fn x_complete_events_become_slices_inside_the_open_one() {
        let t = read(&framed(
            &[
                r#"{"ph":"B","pid":1,"tid":1,"ts":1.0,"name":"task"}"#,
                r#"{"ph":"X","pid":1,"tid":1,"ts":2.0,"dur":0.5,"name":"step"}"#,
                r#"{"ph":"i","pid":1,"tid":1,"ts":3.0,"name":"mark","s":"t"}"#,
            ],
            false,
        ));
        assert_eq!(render(&t), ["?/1 step 2.000..2.500", "?/0 task 1.000.."]);
        assert_eq!(t.events, 3);
        let e = error("[\n{\"ph\":\"X\",\"pid\":1,\"tid\":1,\"ts\":2.0}\n]");
        assert!(e.to_string().contains("'X' event has no \"dur\""), "{e}");
    }

    #[test]
    fn unknown_phases_and_metadata_are_counted_and_ignored() {
        let t = read(&framed(
            &[
                r#"{"ph":"C","pid":1,"tid":1,"ts":1.0,"name":"bytes","args":{"v":3}}"#,
                r#"{"ph":"M","pid":1,"tid":1,"name":"thread_sort_index","args":{"sort_index":2}}"#,
                r#"{"ph":"b","pid":1,"tid":1,"ts":0.5,"id":3}"#,
            ],
            true,
        ));
        assert_eq!((t.events, t.unknown_events), (3, 2));
        assert!(t.lanes.is_empty());
    }

    #[test]
    fn k3_dropped_marker_is_counted_and_relaxes_pairing() {
        let t = read(&framed(
            &[
                r#"{"ph":"B","pid":1,"tid":1,"ts":1.0,"name":"a"}"#,
                r#"{"actrace":"dropped","count":40}"#,
                r#"{"ph":"E","pid":1,"tid":1,"ts":5.0}"#,
                r#"{"ph":"E","pid":1,"tid":1,"ts":6.0}"#,
                r#"{"ph":"f","pid":1,"tid":1,"ts":6.0,"id":9}"#,
                r#"{"actrace":"dropped","count":2}"#,
            ],
            true,
        ));
        assert_eq!(
            (t.dropped_events, t.unmatched_after_drop, t.events),
            (42, 2, 4)
        );
        assert!(t.summary().to_string().contains("42 reported dropped"));
        let e = error("[\n{\"actrace\":\"hello\"}\n]");
        assert!(
            e.to_string().contains("unknown actrace marker \"hello\""),
            "{e}"
        );
    }

    #[test]
    fn summary_names_counts_time_and_closure() {
        let t = read(&framed(EVENTS, true));
        assert_eq!(
            t.summary().to_string(),
            "process: demo\n\
             stream:  complete (closed)\n\
             lanes:   2\n\
             slices:  7 ended, 0 still open\n\
             flows:   2\n\
             events:  21\n\
             time:    0.000 µs .. 12.000 µs (duration 12.000 µs)"
        );
        let cut = read(&framed(EVENTS, true)[..200]);
        assert!(cut
            .summary()
            .to_string()
            .contains("stream:  cut (not closed; last "));
        let open = read(&framed(&EVENTS[..3], false));
        assert!(open.summary().to_string().contains("open-ended"));
    }

    // --- errors -----------------------------------------------------------

    #[test]
    fn error_bad_json_on_an_inner_line_has_its_file_position() {
        let mut lines: Vec<&str> = EVENTS.to_vec();
        lines[3] = r#"{"ph":"B","pid":1,"tid":1,"ts":1.500,"name":"load config",}"#;
        let e = error(&framed(&lines, true));
        // Line 1 is `[`, so EVENTS[3] is on line 5; the stray `}` is at its end.
        assert_eq!(at(&e), (5, lines[3].len() as u64));
        assert!(matches!(e.kind(), ParseErrorKind::Json { .. }));
        assert!(
            e.to_string()
                .starts_with("line 5, column 59: invalid JSON: "),
            "{e}"
        );
    }

    #[test]
    fn error_columns_count_bytes() {
        // `é` is two bytes: the error column counts both.
        let e = error("[\n{\"name\":\"é\" \"ph\":\"B\"}\n]");
        assert_eq!(at(&e), (2, 14));
    }

    #[test]
    fn error_a_cut_event_followed_by_more_lines_is_bad_json() {
        let text = format!(
            "{},\n{{\"ph\":\"B\",\"pid\n{}\n]",
            framed(&EVENTS[..2], false),
            EVENTS[2]
        );
        let e = error(&text);
        assert_eq!(at(&e), (4, 14));
        assert!(matches!(e.kind(), ParseErrorKind::Json { .. }), "{e}");
        // A line that is not a cut (a syntax error, not an early end) is an
        // error even when it is the last line.
        let e = error("[\n{\"ph\":\"B\" oops}");
        assert_eq!(at(&e), (2, 11));
    }

    #[test]
    fn error_lines_that_are_json_but_not_events_name_the_field() {
        let cases: &[(&str, &str)] = &[
            (r#"{"pid":1,"tid":1,"ts":1.0}"#, "missing \"ph\""),
            (
                r#"{"ph":"B","pid":1,"tid":1,"ts":"1.0"}"#,
                "\"ts\" must be a number, found a string",
            ),
            (r#"{"ph":"B","pid":1,"ts":1.0}"#, "'B' event has no \"tid\""),
            (r#"{"ph":"E","tid":1,"ts":1.0}"#, "'E' event has no \"pid\""),
            (
                r#"{"ph":"B","pid":1,"tid":-3,"ts":1.0}"#,
                "\"tid\" must be a non-negative integer",
            ),
            (
                r#"{"ph":"B","pid":1,"tid":1,"ts":1.0,"name":7}"#,
                "\"name\" must be a string",
            ),
            (r#"{"ph":7}"#, "\"ph\" must be a string, found an integer"),
            (
                r#"{"ph":"s","pid":1,"tid":1,"ts":1.0}"#,
                "'s' event has no \"id\"",
            ),
            (
                r#"{"ph":"M","pid":1,"tid":1,"name":"thread_name"}"#,
                "'thread_name' metadata has no \"args\"",
            ),
            (r#"{"ph":"B","ph":"E"}"#, "duplicate field `ph`"),
        ];
        for (line, message) in cases {
            // Put the bad line second, and as the last line: both are errors.
            for text in [
                framed(&[EVENTS[0], line, EVENTS[1]], true),
                framed(&[EVENTS[0], line], false),
            ] {
                let e = error(&text);
                assert_eq!(e.line(), 3, "{e}");
                assert!(matches!(e.kind(), ParseErrorKind::NotAnEvent { .. }), "{e}");
                assert!(e.to_string().contains(message), "{e} should say {message}");
            }
        }
    }

    #[test]
    fn c1_lane_id_zero_is_an_error() {
        let e = error(&framed(&[r#"{"ph":"B","pid":1,"tid":0,"ts":1.0}"#], false));
        assert_eq!(at(&e), (2, 1));
        assert!(e.to_string().contains("\"tid\" is 0"), "{e}");
    }

    #[test]
    fn c2_end_without_open_slice_is_an_error() {
        let lines = [
            EVENTS[1],
            EVENTS[2],
            EVENTS[20],
            r#"{"ph":"E","pid":1,"tid":1,"ts":13.0}"#,
        ];
        let e = error(&framed(&lines, true));
        assert_eq!(at(&e), (5, 1));
        assert_eq!(
            e.kind(),
            &ParseErrorKind::UnbalancedEnd {
                tid: 1,
                lane: Some("main#0".to_string())
            }
        );
    }

    #[test]
    fn c2_time_going_backwards_on_a_lane_is_an_error() {
        // Another lane may be behind (lanes are independent)…
        let ok = [
            r#"{"ph":"B","pid":1,"tid":1,"ts":5.0,"name":"a"}"#,
            r#"{"ph":"B","pid":1,"tid":2,"ts":1.0,"name":"b"}"#,
            r#"{"ph":"E","pid":1,"tid":1,"ts":5.0}"#,
        ];
        read(&framed(&ok, false));
        // …but not the same lane.
        let e = error(&framed(
            &[ok[0], ok[1], r#" {"ph":"E","pid":1,"tid":1,"ts":4.999}"#],
            false,
        ));
        assert_eq!(at(&e), (4, 2));
        assert_eq!(
            e.kind(),
            &ParseErrorKind::TimeWentBack {
                tid: 1,
                lane: None,
                previous_us: 5.0,
                ts_us: 4.999
            }
        );
    }

    #[test]
    fn c3_flow_end_without_start_is_an_error() {
        let e = error(&framed(&[EVENTS[1], EVENTS[8]], false));
        assert_eq!(
            (at(&e), e.kind()),
            (
                (3, 1),
                &ParseErrorKind::FlowWithoutStart { id: 1, phase: 'f' }
            )
        );
        // An `f` for a flow that already ended has no open start either.
        let e = error(&framed(&[EVENTS[6], EVENTS[8], EVENTS[8]], false));
        assert_eq!(e.line(), 4);
    }

    #[test]
    fn c3_duplicate_flow_id_is_an_error() {
        let again = r#"{"ph":"s","pid":1,"tid":1,"ts":9.500,"id":1}"#;
        let e = error(&framed(
            &EVENTS[..16]
                .iter()
                .copied()
                .chain([again])
                .collect::<Vec<_>>(),
            false,
        ));
        assert_eq!(
            (at(&e), e.kind()),
            (
                (18, 1),
                &ParseErrorKind::DuplicateFlowId {
                    id: 1,
                    first_line: 8
                }
            )
        );
    }

    #[test]
    fn c3_dangling_flow_is_an_error_only_in_a_closed_trace() {
        let lines = [EVENTS[2], EVENTS[6], EVENTS[20]];
        read(&framed(&lines, false));
        let e = error(&framed(&lines, true));
        assert_eq!(
            (at(&e), e.kind()),
            ((3, 1), &ParseErrorKind::DanglingFlow { id: 1 })
        );
    }

    #[test]
    fn c4_data_after_the_closing_bracket_is_an_error() {
        let e = error(&format!("{}{}\n", framed(&EVENTS[..3], true), EVENTS[3]));
        assert_eq!((at(&e), e.kind()), ((6, 1), &ParseErrorKind::AfterClose));
        let e = error("[\n] ]");
        assert_eq!(at(&e), (2, 3));
    }

    #[test]
    fn c4_framing_errors_name_what_was_expected() {
        // Missing separator between two events.
        let e = error(&format!("[\n{}\n{}\n]", EVENTS[0], EVENTS[1]));
        assert_eq!(at(&e), (3, 1));
        assert!(
            e.to_string()
                .contains("expected ',' or ']' after an event, found '{'"),
            "{e}"
        );
        // Two separators in a row.
        let e = error(&format!("[\n{},\n,{}\n]", EVENTS[0], EVENTS[1]));
        assert_eq!(at(&e), (3, 1));
    }

    #[test]
    fn inputs_that_are_not_traces_are_clear_errors() {
        let png = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR";
        let e = read_trace(png).unwrap_err();
        assert_eq!(
            (at(&e), e.kind()),
            ((1, 1), &ParseErrorKind::NotATrace { first_byte: 0x89 })
        );
        assert_eq!(read_trace(b"").unwrap_err().kind(), &ParseErrorKind::Empty);
        assert_eq!(at(&read_trace(b" \n\n  ").unwrap_err()), (3, 3));
        assert_eq!(
            error("42").kind(),
            &ParseErrorKind::NotATrace { first_byte: b'4' }
        );
        assert_eq!(
            error("\"trace\"").kind(),
            &ParseErrorKind::NotATrace { first_byte: b'"' }
        );
        let toml = "[package]\nname = \"actrace-core\"\n";
        let e = error(toml);
        assert_eq!(at(&e), (1, 2));
        assert!(
            e.to_string()
                .contains("expected an event object '{' or ']', found 'p'"),
            "{e}"
        );
        assert_eq!(
            error("[1, 2]").to_string(),
            "line 1, column 2: expected an event object '{' or ']', found '1'"
        );
        assert_eq!(error("{}").kind(), &ParseErrorKind::NoTraceEvents);
        assert_eq!(error("{\"a\"").kind(), &ParseErrorKind::NoTraceEvents);
        // Invalid UTF-8 inside a string on an inner line.
        let e = read_trace(b"[\n{\"ph\":\"B\",\"name\":\"\xff\"},\n{}\n]").unwrap_err();
        assert!(matches!(e.kind(), ParseErrorKind::Json { .. }), "{e}");
    }

    #[test]
    fn empty_arrays_are_traces_without_events() {
        for text in ["[]", "[\n]\n", "[\n", "{\"traceEvents\":[]}"] {
            let t = read(text);
            assert_eq!(
                (t.events, t.lanes.len(), t.time_range),
                (0, 0, None),
                "{text}"
            );
        }
    }

    #[test]
    fn deep_nesting_does_not_overflow_the_stack() {
        // Values the reader skips are walked without recursion…
        let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
        let line =
            format!(r#"{{"ph":"i","pid":1,"tid":1,"ts":1,"args":{deep},"x":{{"y":{deep}}}}}"#);
        assert_eq!(read(&framed(&[&line, EVENTS[0]], true)).events, 2);
        assert!(read(&format!("{{\"x\":{deep},\"traceEvents\":[]}}")).complete);
        // …and unbalanced deep nesting is an error, not a crash.
        let e = read_trace(format!("[\n{{\"args\":{}}},\n]", "[".repeat(100_000)).as_bytes())
            .unwrap_err();
        assert!(matches!(e.kind(), ParseErrorKind::Json { .. }));
        // Many nested slices are kept in a list, not on the stack.
        let mut events = vec![String::from("[")];
        for i in 0..50_000 {
            events.push(format!(r#"{{"ph":"B","pid":1,"tid":1,"ts":{i}}},"#));
        }
        assert_eq!(read(&events.join("\n")).open_slices.len(), 50_000);
    }

    #[test]
    fn reader_after_an_error_keeps_returning_it() {
        let mut r = TraceReader::new();
        let e = r
            .feed(b"[\n{\"ph\":\"E\",\"pid\":1,\"tid\":1,\"ts\":1}\n")
            .unwrap_err();
        assert_eq!(r.feed(b"]\n"), Err(e.clone()));
        assert_eq!(r.finish(), Err(e));
    }

    fn read_in_chunks(bytes: &[u8], splits: &[usize]) -> Result<Trace, ParseError> {
        let mut reader = TraceReader::new();
        let mut last = 0;
        for &split in splits {
            let split = split.clamp(last, bytes.len());
            reader.feed(&bytes[last..split])?;
            last = split;
        }
        reader.feed(&bytes[last..])?;
        reader.finish()
    }

    #[test]
    fn c4_chunks_split_inside_a_character_read_like_one_buffer() {
        let text = framed(EVENTS, true);
        let bytes = text.as_bytes();
        let reference = read_trace(bytes);
        // Byte by byte: every UTF-8 character is split.
        let every: Vec<usize> = (0..bytes.len()).collect();
        assert_eq!(read_in_chunks(bytes, &every), reference);
        let inside_e_acute = text.find('é').unwrap() + 1;
        assert_eq!(read_in_chunks(bytes, &[inside_e_acute]), reference);
    }

    fn sample_texts() -> Vec<String> {
        vec![
            framed(EVENTS, true),
            format!(r#"{{"traceEvents":[{}]}}"#, EVENTS.join(",\n")),
        ]
    }

    /// A byte-level edit of a valid trace.
    #[derive(Debug, Clone)]
    enum Mutation {
        Flip(usize, u8),
        Insert(usize, u8),
        Delete(usize),
        Cut(usize),
    }

    fn apply(bytes: &mut Vec<u8>, m: &Mutation) {
        let len = bytes.len();
        match *m {
            Mutation::Flip(i, b) if len > 0 => bytes[i % len] ^= b,
            Mutation::Insert(i, b) => bytes.insert(i % (len + 1), b),
            Mutation::Delete(i) if len > 0 => {
                bytes.remove(i % len);
            }
            Mutation::Cut(i) => bytes.truncate(i % (len + 1)),
            _ => {}
        }
    }

    fn mutation() -> impl Strategy<Value = Mutation> {
        // Bytes that matter to the grammar are likelier than random ones.
        let byte = prop_oneof![
            any::<u8>(),
            prop::sample::select(b"{}[],:\"\\\n\r 0-.eEBXsf".to_vec()),
        ];
        prop_oneof![
            (any::<usize>(), byte.clone()).prop_map(|(i, b)| Mutation::Flip(i, b)),
            (any::<usize>(), byte).prop_map(|(i, b)| Mutation::Insert(i, b)),
            any::<usize>().prop_map(Mutation::Delete),
            any::<usize>().prop_map(Mutation::Cut),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        #[test]
        fn random_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
            let _ = read_trace(&bytes);
            let mut framed_bytes = b"[\n".to_vec();
            framed_bytes.extend_from_slice(&bytes);
            let _ = read_trace(&framed_bytes);
        }

        #[test]
        fn mutated_traces_never_panic_and_chunking_does_not_matter(
            which in 0..2usize,
            mutations in prop::collection::vec(mutation(), 1..6),
            splits in prop::collection::vec(any::<usize>(), 0..8),
        ) {
            let mut bytes = sample_texts()[which].clone().into_bytes();
            for m in &mutations {
                apply(&mut bytes, m);
            }
            let whole = read_trace(&bytes);
            let mut splits: Vec<usize> = splits.iter().map(|s| s % (bytes.len() + 1)).collect();
            splits.sort_unstable();
            prop_assert_eq!(read_in_chunks(&bytes, &splits), whole);
        }

        #[test]
        fn c4_chunked_feeding_matches_whole_reading(
            which in 0..2usize,
            cut in any::<prop::sample::Index>(),
            splits in prop::collection::vec(any::<prop::sample::Index>(), 0..16),
        ) {
            let text = sample_texts()[which].clone();
            let bytes = &text.as_bytes()[..cut.index(text.len() + 1)];
            let whole = read_trace(bytes);
            let mut splits: Vec<usize> = splits.iter().map(|s| s.index(bytes.len() + 1)).collect();
            splits.sort_unstable();
            prop_assert_eq!(read_in_chunks(bytes, &splits), whole);
        }
    }
}
