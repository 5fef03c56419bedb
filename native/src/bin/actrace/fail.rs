//! Why a command failed, as one line for stderr and an exit code.

use std::fmt;
use std::io;
use std::path::Path;

/// A command's failure: `actrace COMMAND: message`, exit code 1 or 2.
#[derive(Debug)]
pub(crate) struct Failure {
    code: u8,
    message: String,
}

impl Failure {
    /// The work ran and found something wrong (exit 1): a malformed trace, a
    /// copy that differs from its source.
    pub(crate) fn bad(message: impl Into<String>) -> Self {
        Failure {
            code: 1,
            message: message.into(),
        }
    }

    /// The command could not run at all (exit 2), like clap's usage errors:
    /// a file that cannot be read or created.
    pub(crate) fn cannot(message: impl Into<String>) -> Self {
        Failure {
            code: 2,
            message: message.into(),
        }
    }

    pub(crate) fn code(&self) -> u8 {
        self.code
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

/// Adds the path to an I/O error, whose own message never names it.
pub(crate) fn at(path: &Path) -> impl FnOnce(io::Error) -> io::Error + '_ {
    move |e| io::Error::new(e.kind(), format!("{}: {e}", path.display()))
}
