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
