//! The last phase: every copy is compared with its source, byte for byte.

use std::fs;
use std::io;

use super::scratch::{list_files, Scratch};
use crate::fail::at;

/// Checks that each destination holds exactly the source's files, with the
/// same contents. Returns the files compared.
pub(crate) fn verify_all(scratch: &Scratch) -> io::Result<u64> {
    let mut files = 0;
    for name in scratch.dirs() {
        let _dir = actrace::span(format!("verify {name}"));
        let (src, dst) = (scratch.src(name), scratch.dst(name));
        let names = list_files(&src)?;
        if list_files(&dst)? != names {
            return Err(at(&dst)(io::Error::other(
                "the copy does not hold the same files as its source",
            )));
        }
        for file in names {
            let _file = actrace::span(format!("compare {file}"));
            let (a, b) = (src.join(&file), dst.join(&file));
            if fs::read(&a).map_err(at(&a))? != fs::read(&b).map_err(at(&b))? {
                return Err(at(&b)(io::Error::other("the copy differs from its source")));
            }
            files += 1;
        }
    }
    Ok(files)
}
