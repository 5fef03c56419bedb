//! Why a byte stream was rejected, and where.

use alloc::string::{String, ToString};
use core::fmt;

/// A place in the input: 1-based line, and 1-based column counted in bytes
/// (not characters), so that it matches what `serde_json` reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(super) struct Pos {
    pub(super) line: u64,
    pub(super) column: u64,
}

/// The input is not a well-formed actrace stream.
///
/// Carries the 1-based line and the 1-based **byte** column of the offending
/// place and a [`ParseErrorKind`] saying what was wrong. `Display` renders
/// `line L, column C: message`.
#[derive(Debug, Clone, PartialEq)]
pub struct ParseError {
    line: u64,
    column: u64,
    kind: ParseErrorKind,
}

impl ParseError {
    pub(super) fn new(at: Pos, kind: ParseErrorKind) -> Self {
        ParseError {
            line: at.line,
            column: at.column,
            kind,
        }
    }

    /// The error's line, counted from 1.
    pub fn line(&self) -> u64 {
        self.line
    }

    /// The error's column, counted from 1 in bytes (a multi-byte UTF-8
    /// character counts as several columns).
    pub fn column(&self) -> u64 {
        self.column
    }

    /// What was wrong.
    pub fn kind(&self) -> &ParseErrorKind {
        &self.kind
    }
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "line {}, column {}: {}",
            self.line, self.column, self.kind
        )
    }
}

impl core::error::Error for ParseError {}

/// What made a stream unreadable. New kinds may be added.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq)]
pub enum ParseErrorKind {
    /// The input is empty or holds only whitespace.
    Empty,
    /// The input starts with neither `[` (actrace's stream) nor `{` (a
    /// `{"traceEvents":[…]}` object), e.g. a PNG or a bare JSON number.
    NotATrace {
        /// The first byte that is not whitespace.
        first_byte: u8,
    },
    /// A JSON object that has no `"traceEvents"` array.
    NoTraceEvents,
    /// A line that is not the last one is not valid JSON (a cut final line is
    /// tolerated, see [`Trace::truncated_tail_bytes`](super::Trace)).
    Json {
        /// serde_json's description, without its position.
        message: String,
    },
    /// Valid JSON, but not an event: a field is missing or has the wrong type.
    NotAnEvent {
        /// Names the field and what was wrong with it.
        message: String,
    },
    /// The array framing is broken: a byte that cannot come here.
    Unexpected {
        /// The offending byte.
        found: u8,
        /// What would have been accepted here.
        expected: &'static str,
    },
    /// Something other than whitespace follows the closing `]` (or `}`).
    AfterClose,
    /// An `E` event on a lane with no open slice (unbalanced `B`/`E`).
    UnbalancedEnd {
        /// The lane's `tid`.
        tid: u64,
        /// The lane's name, if a `thread_name` event gave one.
        lane: Option<String>,
    },
    /// An event's `ts` is smaller than the previous event's on the same lane
    /// (C2: per lane, timestamps never go backwards).
    TimeWentBack {
        /// The lane's `tid`.
        tid: u64,
        /// The lane's name, if known.
        lane: Option<String>,
        /// `ts` of the previous event on the lane, in µs.
        previous_us: f64,
        /// `ts` of this event, in µs.
        ts_us: f64,
    },
    /// A flow step `t` or end `f` whose start `s` did not come before it (or
    /// whose flow already ended).
    FlowWithoutStart {
        /// The flow id.
        id: u64,
        /// `'t'` or `'f'`.
        phase: char,
    },
    /// A flow start `s` reuses an id already used in the trace (C3).
    DuplicateFlowId {
        /// The flow id.
        id: u64,
        /// The line of the first `s` with that id.
        first_line: u64,
    },
    /// In a closed trace, a flow start `s` (at the error's position) never got
    /// its end `f`, so no arrow can be drawn.
    DanglingFlow {
        /// The flow id.
        id: u64,
    },
}

impl fmt::Display for ParseErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ParseErrorKind::Empty => f.write_str("empty input: no trace"),
            ParseErrorKind::NotATrace { first_byte } => write!(
                f,
                "not a trace: starts with {}, expected '[' (actrace stream) or '{{' (traceEvents object)",
                ShowByte(*first_byte)
            ),
            ParseErrorKind::NoTraceEvents => {
                f.write_str("not a trace: JSON object without a \"traceEvents\" array")
            }
            ParseErrorKind::Json { message } => write!(f, "invalid JSON: {message}"),
            ParseErrorKind::NotAnEvent { message } => write!(f, "not an event: {message}"),
            ParseErrorKind::Unexpected { found, expected } => {
                write!(f, "expected {expected}, found {}", ShowByte(*found))
            }
            ParseErrorKind::AfterClose => f.write_str("data after the end of the trace"),
            ParseErrorKind::UnbalancedEnd { tid, lane } => write!(
                f,
                "'E' on {} has no open slice to end (unbalanced B/E)",
                LaneName(*tid, lane)
            ),
            ParseErrorKind::TimeWentBack {
                tid,
                lane,
                previous_us,
                ts_us,
            } => write!(
                f,
                "ts {ts_us:.3} µs on {} is before the lane's previous ts {previous_us:.3} µs (time went backwards)",
                LaneName(*tid, lane)
            ),
            ParseErrorKind::FlowWithoutStart { id, phase } => write!(
                f,
                "flow '{phase}' with id {id} has no open flow start 's' before it"
            ),
            ParseErrorKind::DuplicateFlowId { id, first_line } => write!(
                f,
                "flow start 's' reuses id {id}, already used on line {first_line} (flow ids must be unique)"
            ),
            ParseErrorKind::DanglingFlow { id } => write!(
                f,
                "flow start 's' with id {id} never gets its 'f' before the trace is closed"
            ),
        }
    }
}

/// Renders a byte readably: printable ASCII as `'x'`, anything else as hex.
struct ShowByte(u8);

impl fmt::Display for ShowByte {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.is_ascii_graphic() {
            write!(f, "'{}'", self.0 as char)
        } else {
            write!(f, "byte 0x{:02X}", self.0)
        }
    }
}

struct LaneName<'a>(u64, &'a Option<String>);

impl fmt::Display for LaneName<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.1 {
            Some(name) => write!(f, "lane \"{name}\" (tid {})", self.0),
            None => write!(f, "lane tid {}", self.0),
        }
    }
}

/// Converts a serde_json error found while reading a value that starts at
/// `start` into a positioned error. serde_json counts from the start of the
/// slice it was given, so its first line is shifted by `start`'s column.
pub(super) fn from_json(start: Pos, err: &serde_json::Error) -> ParseError {
    let at = if err.line() <= 1 {
        Pos {
            line: start.line,
            column: start.column + (err.column() as u64).saturating_sub(1),
        }
    } else {
        Pos {
            line: start.line + err.line() as u64 - 1,
            column: (err.column() as u64).max(1),
        }
    };
    let message = strip_position(err.to_string());
    let kind = match err.classify() {
        serde_json::error::Category::Data => ParseErrorKind::NotAnEvent { message },
        _ => ParseErrorKind::Json { message },
    };
    ParseError::new(at, kind)
}

/// serde_json appends " at line L column C" relative to the slice it saw,
/// which would contradict the file position we report.
fn strip_position(mut message: String) -> String {
    if let Some(cut) = message.rfind(" at line ") {
        message.truncate(cut);
    }
    message
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::format;

    #[test]
    fn display_names_position_and_problem() {
        let err = ParseError::new(
            Pos { line: 3, column: 7 },
            ParseErrorKind::UnbalancedEnd {
                tid: 2,
                lane: Some("copy-dir#0".into()),
            },
        );
        assert_eq!(
            format!("{err}"),
            "line 3, column 7: 'E' on lane \"copy-dir#0\" (tid 2) has no open slice to end (unbalanced B/E)"
        );
    }

    #[test]
    fn unprintable_bytes_are_shown_in_hex() {
        let kind = ParseErrorKind::NotATrace { first_byte: 0x89 };
        assert!(format!("{kind}").contains("byte 0x89"));
    }

    #[test]
    fn json_positions_are_shifted_to_the_file() {
        let err = serde_json::from_slice::<serde_json::Value>(b"{\"a\" 1}").unwrap_err();
        let mapped = from_json(
            Pos {
                line: 4,
                column: 10,
            },
            &err,
        );
        // serde_json says column 6 (the `1`); the value started at column 10.
        assert_eq!((mapped.line(), mapped.column()), (4, 15));
        assert!(!format!("{mapped}").contains("at line 1"));
    }
}
