//! Consumers: where the encoded stream goes (K1–K3).

use std::io;

/// A destination for the trace stream, fed by actrace's background writer.
///
/// The writer hands each consumer the same encoded bytes: first the opening of
/// the array and what a late joiner needs (C6), then batches of complete event
/// lines, finally the closing bytes. A consumer whose `write` fails is closed
/// and removed; the others go on (K3). Calls come from the writer thread only,
/// never from the traced program's threads, so a consumer may take its time,
/// but while it does, the writer (not the program) waits.
pub trait Consumer: Send {
    /// A short description for error messages, e.g. the file path.
    fn describe(&self) -> String;

    /// The kind of consumer, a metrics label (M3): e.g. `"websocket"`.
    fn kind(&self) -> &'static str {
        "custom"
    }

    /// Takes the next bytes of the stream.
    fn write(&mut self, bytes: &[u8]) -> io::Result<()>;

    /// Pushes buffered bytes on; called about every 50 ms and on flush.
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }

    /// The stream ended (the closing bytes were written): release resources.
    fn close(&mut self) -> io::Result<()> {
        self.flush()
    }
}

/// The error a consumer returns when it cannot keep up (K3): it is then
/// disconnected, and the events it had not received yet are counted as
/// dropped. Wrap it in an [`io::Error`] (`io::Error::other(FellBehind {…})`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FellBehind {
    /// The consumer's memory bound, in bytes of encoded stream.
    pub limit_bytes: usize,
    /// Events queued for it and never delivered.
    pub dropped_events: u64,
}

impl std::fmt::Display for FellBehind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "fell more than {} KiB behind the trace stream ({} events not delivered)",
            self.limit_bytes / 1024,
            self.dropped_events
        )
    }
}

impl std::error::Error for FellBehind {}

/// The error a consumer returns when its destination went away in the normal
/// course of things (a live client disconnected): it is removed quietly.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Detached;

impl std::fmt::Display for Detached {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("the client disconnected")
    }
}

impl std::error::Error for Detached {}

/// Whether `error` says the consumer's destination went away ([`Detached`]).
pub(crate) fn detached(error: &io::Error) -> bool {
    error
        .get_ref()
        .is_some_and(|inner| inner.downcast_ref::<Detached>().is_some())
}

/// Whether `error` says a consumer fell behind ([`FellBehind`]).
pub(crate) fn fell_behind(error: &io::Error) -> bool {
    error
        .get_ref()
        .is_some_and(|inner| inner.downcast_ref::<FellBehind>().is_some())
}
