//! R5 and C1 under contention: thousands of tasks with shared base names from
//! many threads, spans nested inside. No two live tasks may ever share a
//! unique name `NAME#N`, and suffixes stay as small as the concurrency.
//!
//! Checked two ways: from what the program itself observes
//! (`Context::task_name()` while each task is live, with a global sequence
//! counter as the clock), and from the recorded stream read back with
//! `read_trace` (one lane per `NAME#N`, task slices on a lane never overlap).

use std::collections::BTreeMap;
use std::io;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Barrier, Mutex};
use std::thread;

use actrace::{Consumer, StackKind};
use actrace_core::parse::read_trace;

const THREADS: usize = 8;
const TASKS_PER_THREAD: usize = 2_000;
const BASES: [&str; 3] = ["conc-a", "conc-b", "conc-c"];

struct Capture(Arc<Mutex<Vec<u8>>>);

impl Consumer for Capture {
    fn describe(&self) -> String {
        "test capture".into()
    }
    fn write(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(())
    }
}

/// A logical clock: every observation takes the next number, so intervals
/// from different threads are totally ordered.
static SEQ: AtomicU64 = AtomicU64::new(0);

fn tick() -> u64 {
    SEQ.fetch_add(1, Ordering::SeqCst)
}

#[test]
fn r5_c1_many_threads_shared_names_never_collide() {
    let buf = Arc::new(Mutex::new(Vec::new()));
    actrace::attach(Capture(buf.clone()));

    // (unique name) -> intervals (start, end) while the task was surely live.
    let seen: Arc<Mutex<BTreeMap<String, Vec<(u64, u64)>>>> = Arc::default();
    let root = actrace::root_task("conc-root");
    let ctx = root.context();
    let start = Arc::new(Barrier::new(THREADS));
    let handles: Vec<_> = (0..THREADS)
        .map(|t| {
            let (ctx, seen, start) = (ctx.clone(), seen.clone(), start.clone());
            thread::spawn(move || {
                let mut local: Vec<(String, u64, u64)> = Vec::with_capacity(TASKS_PER_THREAD);
                start.wait();
                for i in 0..TASKS_PER_THREAD {
                    let base = BASES[(i + t) % BASES.len()];
                    let mut task = ctx.task(base);
                    let begin = tick();
                    let name = task.task_name().unwrap().to_string();
                    {
                        let mut outer = task.span("outer");
                        let _inner = outer.span("inner");
                        if i % 64 == 0 {
                            // Give other threads a chance to interleave here.
                            thread::yield_now();
                        }
                        assert_eq!(
                            actrace::stack_or("-", StackKind::Names),
                            format!("conc-root${base}${base}.outer.inner")
                        );
                    }
                    assert_eq!(task.task_name(), Some(name.as_str()));
                    let end = tick();
                    drop(task);
                    local.push((name, begin, end));
                }
                let mut seen = seen.lock().unwrap();
                for (name, b, e) in local {
                    seen.entry(name).or_default().push((b, e));
                }
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
    drop(root);
    actrace::flush();
    assert_eq!(actrace::live_tasks(), 0);

    // What the program observed.
    let seen = seen.lock().unwrap();
    let mut total = 0;
    let mut max_suffix = 0;
    for (name, intervals) in seen.iter() {
        let (base, suffix) = name.rsplit_once('#').expect("NAME#N");
        assert!(BASES.contains(&base), "{name}");
        let suffix: usize = suffix.parse().expect("numeric suffix");
        max_suffix = max_suffix.max(suffix);
        let mut intervals = intervals.clone();
        intervals.sort();
        for w in intervals.windows(2) {
            assert!(
                w[0].1 < w[1].0,
                "R5: two live tasks held {name} at once: {:?} and {:?}",
                w[0],
                w[1]
            );
        }
        total += intervals.len();
    }
    assert_eq!(total, THREADS * TASKS_PER_THREAD);
    // Each thread has at most one task live at a time, so at most THREADS
    // tasks of a base are live together: the smallest free suffix is below
    // THREADS.
    assert!(
        max_suffix < THREADS,
        "R5: suffixes grew to {max_suffix} with {THREADS} threads"
    );

    // What the stream says.
    let bytes = buf.lock().unwrap().clone();
    let trace = read_trace(&bytes).unwrap_or_else(|e| panic!("stream unreadable: {e}"));
    let mut lanes_by_name = BTreeMap::new();
    for (i, lane) in trace.lanes.iter().enumerate() {
        let name = lane
            .name
            .as_deref()
            .expect("every lane is named")
            .to_string();
        assert_ne!(lane.tid, 0);
        assert!(
            lanes_by_name.insert(name.clone(), i).is_none(),
            "C1: two lanes named {name}"
        );
    }
    let mut task_slices = 0;
    for (name, &lane) in &lanes_by_name {
        let Some((base, _)) = name.rsplit_once('#') else {
            panic!("lane {name} is not NAME#N")
        };
        if !BASES.contains(&base) {
            continue;
        }
        assert!(seen.contains_key(name), "lane {name} was never observed");
        let mut tasks: Vec<(f64, f64)> = Vec::new();
        for s in trace.slices.iter().filter(|s| s.lane == lane) {
            match s.depth {
                0 => {
                    assert_eq!(&*s.name, base, "a task slice on {name}");
                    tasks.push((s.start_us, s.end_us));
                }
                1 => assert_eq!(&*s.name, "outer", "on {name}"),
                2 => assert_eq!(&*s.name, "inner", "on {name}"),
                d => panic!("slice {} at depth {d} on {name}: tasks overlapped", s.name),
            }
        }
        tasks.sort_by(|a, b| a.partial_cmp(b).unwrap());
        for w in tasks.windows(2) {
            assert!(
                w[0].1 <= w[1].0,
                "C1: task slices overlap on {name}: {:?} and {:?}",
                w[0],
                w[1]
            );
        }
        assert_eq!(
            tasks.len(),
            seen[name].len(),
            "one task slice per task named {name}"
        );
        task_slices += tasks.len();
    }
    assert_eq!(task_slices, THREADS * TASKS_PER_THREAD);
    assert!(
        trace.open_slices.is_empty(),
        "every task ended: {:?}",
        &trace.open_slices[..trace.open_slices.len().min(5)]
    );
    assert_eq!(trace.flows.len(), THREADS * TASKS_PER_THREAD, "C3");
}
