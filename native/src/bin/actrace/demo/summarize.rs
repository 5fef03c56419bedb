//! The async phase: futures as tasks (`FutureExt::in_task`) on the demo's
//! own executor. A `summaries` task spawns one `summarize-dir` child task per
//! copied directory, in waves of `workers`, and awaits each wave; each child
//! keeps spans open across `.await` points, where it may move to another
//! executor thread.

use std::io;
use std::path::PathBuf;

use actrace::FutureExt;

use super::executor::{block_on, yield_now, Spawner};
use super::scratch::{list_files, Scratch};
use crate::fail::at;

/// What the copies add up to.
#[derive(Default, Clone, Copy)]
pub(crate) struct Totals {
    pub(crate) files: u64,
    pub(crate) bytes: u64,
}

/// Summarizes every copy on `threads` executor threads. The `summaries`
/// task starts from the calling thread's current context.
pub(crate) fn summarize_all(
    scratch: &Scratch,
    workers: usize,
    threads: usize,
) -> io::Result<Totals> {
    let dirs: Vec<(String, PathBuf)> = scratch
        .dirs()
        .iter()
        .map(|d| (d.clone(), scratch.dst(d)))
        .collect();
    block_on(threads, move |spawner| {
        summaries(spawner, dirs, workers.max(1)).in_task("summaries")
    })
}

/// The `summaries` task: its child tasks start from its own context, which
/// `in_task` makes current whenever it is polled.
async fn summaries(
    spawner: Spawner,
    dirs: Vec<(String, PathBuf)>,
    wave: usize,
) -> io::Result<Totals> {
    let mut totals = Totals::default();
    for (n, chunk) in dirs.chunks(wave).enumerate() {
        let _wave = actrace::span(format!("wave {n}"));
        let children: Vec<_> = chunk
            .iter()
            .map(|(name, path)| {
                let job = summarize_dir(name.clone(), path.clone()).in_task("summarize-dir");
                spawner.spawn(job)
            })
            .collect();
        // Await the whole wave before looking at errors: this task must not
        // end while its children still run (R6).
        let mut results = Vec::with_capacity(children.len());
        for child in children {
            results.push(child.await);
        }
        for dir in results {
            let dir = dir?;
            totals.files += dir.files;
            totals.bytes += dir.bytes;
        }
    }
    Ok(totals)
}

/// The body of a `summarize-dir` task: a span per file, open across a yield.
async fn summarize_dir(name: String, dir: PathBuf) -> io::Result<Totals> {
    let _dir = actrace::span(format!("summarize {name}"));
    let mut totals = Totals::default();
    for file in list_files(&dir)? {
        let _file = actrace::span(format!("stat {file}"));
        let path = dir.join(&file);
        let len = std::fs::metadata(&path).map_err(at(&path))?.len();
        // Suspended with both spans open; the task may resume elsewhere.
        yield_now().await;
        totals.files += 1;
        totals.bytes += len;
    }
    Ok(totals)
}
