//! The Chrome trace JSON encoding (C1–C5), as docs/trace-format.md shows it.

use alloc::vec::Vec;

use crate::{Event, Timestamp};

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
        match event {
            Event::LaneName { lane, name } => {
                out.extend_from_slice(b",\n{\"ph\":\"M\",\"pid\":1,\"tid\":");
                push_int(out, lane.get());
                out.extend_from_slice(b",\"name\":\"thread_name\",\"args\":{\"name\":");
                write_str(name, out);
                out.extend_from_slice(b"}}");
            }
            Event::TaskBegin(b) => {
                self.head(b"B", b.lane.get(), b.ts, out);
                out.extend_from_slice(b",\"name\":");
                write_str(&b.name, out);
                out.extend_from_slice(b",\"args\":{\"id\":\"");
                let mut id = alloc::string::String::with_capacity(12);
                b.id.write_base64(&mut id);
                out.extend_from_slice(id.as_bytes());
                out.extend_from_slice(b"\",\"task\":");
                write_str(&b.unique, out);
                if let Some(parent) = b.parent {
                    id.clear();
                    parent.write_base64(&mut id);
                    out.extend_from_slice(b",\"parent\":\"");
                    out.extend_from_slice(id.as_bytes());
                    out.push(b'"');
                }
                out.extend_from_slice(b"}}");
            }
            Event::SpanBegin { lane, ts, name } => {
                self.head(b"B", lane.get(), *ts, out);
                out.extend_from_slice(b",\"name\":");
                write_str(name, out);
                out.push(b'}');
            }
            Event::End { lane, ts } => {
                self.head(b"E", lane.get(), *ts, out);
                out.push(b'}');
            }
            Event::FlowStart { lane, ts, flow } => {
                self.head(b"s", lane.get(), *ts, out);
                out.extend_from_slice(b",\"id\":");
                push_int(out, flow.0);
                out.extend_from_slice(b",\"cat\":\"actrace\",\"name\":\"spawn\"}");
            }
            Event::FlowEnd { lane, ts, flow } => {
                out.extend_from_slice(b",\n{\"ph\":\"f\",\"bp\":\"e\",\"pid\":1,\"tid\":");
                push_int(out, lane.get());
                out.extend_from_slice(b",\"ts\":");
                self.push_ts(*ts, out);
                out.extend_from_slice(b",\"id\":");
                push_int(out, flow.0);
                out.extend_from_slice(b",\"cat\":\"actrace\",\"name\":\"spawn\"}");
            }
        }
    }

    /// Closes the array: the stream is now valid JSON.
    pub fn close(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(b"\n]\n");
    }

    fn head(&self, ph: &[u8], tid: u32, ts: Timestamp, out: &mut Vec<u8>) {
        out.extend_from_slice(b",\n{\"ph\":\"");
        out.extend_from_slice(ph);
        out.extend_from_slice(b"\",\"pid\":1,\"tid\":");
        push_int(out, tid);
        out.extend_from_slice(b",\"ts\":");
        self.push_ts(ts, out);
    }

    /// Microseconds since the origin with three decimals (C5).
    fn push_ts(&self, ts: Timestamp, out: &mut Vec<u8>) {
        let nanos = ts.nanos_since(self.origin);
        push_int(out, nanos / 1000);
        let frac = (nanos % 1000) as u16;
        out.extend_from_slice(&[
            b'.',
            b'0' + (frac / 100) as u8,
            b'0' + (frac / 10 % 10) as u8,
            b'0' + (frac % 10) as u8,
        ]);
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
