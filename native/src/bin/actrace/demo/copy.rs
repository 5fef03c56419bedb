//! The copy phase, as in the seed's example: one `copy-dir` child task per
//! directory, run by a fixed number of worker threads. With more directories
//! than workers, at most `workers` copy-dir tasks are live at once, so their
//! lanes `copy-dir#0`… are reused by later tasks (R5, C1).

use std::fs;
use std::io;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Barrier;

use actrace::Task;

use super::scratch::{list_files, Scratch};
use crate::fail::at;

/// Copies every source directory; child tasks start from the calling
/// thread's current context (the root's `copy` span).
pub(crate) fn copy_all(scratch: &Scratch, workers: usize) -> io::Result<()> {
    let parent = actrace::current();
    let dirs = scratch.dirs();
    let next = AtomicUsize::new(0);
    let workers = workers.min(dirs.len());
    // Workers start their first task together, so the first wave of copy-dir
    // tasks is concurrent however the threads get scheduled: the trace always
    // shows `workers` lanes, then their reuse.
    let start_line = Barrier::new(workers);
    std::thread::scope(|s| {
        let workers: Vec<_> = (0..workers)
            .map(|_| {
                s.spawn(|| -> io::Result<()> {
                    let mut first = true;
                    // Each worker takes the next directory until none is left.
                    while let Some(name) = dirs.get(next.fetch_add(1, Ordering::Relaxed)) {
                        let mut task = parent.task("copy-dir");
                        if std::mem::take(&mut first) {
                            start_line.wait();
                        }
                        let _current = task.enter();
                        copy_dir(&mut task, &scratch.src(name), &scratch.dst(name))?;
                    }
                    Ok(())
                })
            })
            .collect();
        workers
            .into_iter()
            .try_for_each(|w| w.join().expect("a copy worker panicked"))
    })
}

/// The body of a `copy-dir` task: spans from the task guard, then ambient
/// spans further down the call stack nest under them.
fn copy_dir(task: &mut Task, src: &Path, dst: &Path) -> io::Result<()> {
    let names = {
        let _list = task.span("list");
        list_files(src)?
    };
    {
        let _mkdir = task.span("mkdir");
        fs::create_dir_all(dst).map_err(at(dst))?;
    }
    for name in names {
        let _file = task.span(format!("copy-file {name}"));
        copy_file(&src.join(&name), &dst.join(&name))?;
    }
    Ok(())
}

fn copy_file(src: &Path, dst: &Path) -> io::Result<()> {
    let data = {
        let _read = actrace::span("read");
        fs::read(src).map_err(at(src))?
    };
    {
        let _write = actrace::span("write");
        fs::write(dst, &data).map_err(at(dst))?;
    }
    verify(dst, &data)
}

/// Reads the copy back and compares it with what was written.
fn verify(dst: &Path, expected: &[u8]) -> io::Result<()> {
    let _verify = actrace::span("verify");
    let back = {
        let _read = actrace::span("read back");
        fs::read(dst).map_err(at(dst))?
    };
    let _compare = actrace::span("compare");
    if back != expected {
        return Err(at(dst)(io::Error::other(
            "the copy differs from what was written",
        )));
    }
    Ok(())
}
