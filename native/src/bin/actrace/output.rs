//! Writing results to stdout without panicking when the reader went away
//! (`actrace check big.json | head`), which `println!` would.

use std::io::Write;

/// Writes `text` to stdout; a closed pipe is not an error worth reporting.
pub(crate) fn print(text: &str) {
    let mut out = std::io::stdout().lock();
    let _ = out.write_all(text.as_bytes()).and_then(|()| out.flush());
}
