//! The checksum phase, as a task group (`actrace::task_group`): a span during
//! which `checksum` child tasks hash sources and copies concurrently, waited
//! for before the span ends.

use std::fs;
use std::io;
use std::path::PathBuf;

use actrace::Context;

use super::scratch::{list_files, Scratch};
use crate::fail::at;

/// Hashes every source file and its copy with `workers` child tasks, each
/// taking every `workers`-th directory. Returns the files checked.
pub(crate) fn checksum_all(parent: &Context, scratch: &Scratch, workers: usize) -> io::Result<u64> {
    // The group's closures cannot borrow from this frame (see `task_group`'s
    // signature), so each child gets its own list of directories.
    let shares: Vec<Vec<(String, PathBuf, PathBuf)>> = (0..workers)
        .map(|w| {
            scratch
                .dirs()
                .iter()
                .skip(w)
                .step_by(workers)
                .map(|d| (d.clone(), scratch.src(d), scratch.dst(d)))
                .collect()
        })
        .filter(|share: &Vec<_>| !share.is_empty())
        .collect();
    actrace::task_group(parent, "checksum", |group| {
        let children: Vec<_> = shares
            .into_iter()
            .map(|share| group.spawn("checksum", move |_task| checksum_share(&share)))
            .collect();
        children
            .into_iter()
            .map(|c| c.join().expect("a checksum task panicked"))
            .sum()
    })
}

/// The body of one `checksum` task.
fn checksum_share(share: &[(String, PathBuf, PathBuf)]) -> io::Result<u64> {
    let mut files = 0;
    for (name, src, dst) in share {
        let _dir = actrace::span(format!("checksum {name}"));
        for file in list_files(src)? {
            let _file = actrace::span(format!("hash {file}"));
            let original = hash_file("hash source", &src.join(&file))?;
            let copy = hash_file("hash copy", &dst.join(&file))?;
            if original != copy {
                return Err(at(&dst.join(&file))(io::Error::other(
                    "the copy's checksum differs from its source's",
                )));
            }
            files += 1;
        }
    }
    Ok(files)
}

fn hash_file(span: &'static str, path: &std::path::Path) -> io::Result<u64> {
    let _span = actrace::span(span);
    Ok(fnv1a(&fs::read(path).map_err(at(path))?))
}

/// FNV-1a over 8-byte words: cheap, and enough to catch a differing copy.
fn fnv1a(bytes: &[u8]) -> u64 {
    let mut hash = 0xcbf2_9ce4_8422_2325u64;
    let mut words = bytes.chunks_exact(8);
    for word in &mut words {
        let word = u64::from_le_bytes(word.try_into().expect("8 bytes"));
        hash = (hash ^ word).wrapping_mul(0x0000_0100_0000_01b3);
    }
    for &b in words.remainder() {
        hash = (hash ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3);
    }
    hash
}
