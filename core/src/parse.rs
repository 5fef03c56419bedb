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
            State::Start { line, column, offset } => {
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
                let at = Pos { line: *line, column: *column };
                match chunk[i] {
                    b'{' => {
                        self.state = State::Whole { buf: Vec::new(), start: at };
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
                        return Err(ParseError::new(at, ParseErrorKind::NotATrace { first_byte }))
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
    Cut { start: usize, error: serde_json::Error },
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
                let mut values = serde_json::Deserializer::from_slice(&bytes[i..]).into_iter::<RawEvent<'_>>();
                match values.next() {
                    Some(Ok(event)) => {
                        let at = pos_of(i);
                        builder.event(event, at).map_err(|kind| ParseError::new(at, kind))?;
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
                return Err(ParseError::new(pos_of(i), ParseErrorKind::Unexpected { found, expected }));
            }
            (found, _) => {
                let expected = "an event object '{' or ']'";
                return Err(ParseError::new(pos_of(i), ParseErrorKind::Unexpected { found, expected }));
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
        let mut pos_of = |at: usize| Pos { line, column: at as u64 + 1 };
        loop {
            match &mut self.framing {
                Framing::Open => {
                    // `State::Start` only hands over input that begins with `[`.
                    debug_assert_eq!(bytes[i], b'[');
                    self.framing = Framing::Items(Expect::First);
                    i += 1;
                }
                Framing::Items(expect) => match walk_items(bytes, i, expect, builder, &mut pos_of)? {
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
    let mut tracker = Tracker { start, offset: 0, pos: start };
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
                let kind = ParseErrorKind::Unexpected { found: found_byte, expected: "',' or '}'" };
                return Err(ParseError::new(pos_of(i), kind));
            }
        }
        first = false;
        match buf.get(i) {
            None => return cut(found, pos_of(i)),
            Some(b'"') => {}
            Some(&found_byte) => {
                let kind = ParseErrorKind::Unexpected { found: found_byte, expected: "a key string" };
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
                let kind = ParseErrorKind::Unexpected { found: found_byte, expected: "':'" };
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
            let mut values = serde_json::Deserializer::from_slice(&buf[i..]).into_iter::<IgnoredAny>();
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
