//! The rules of SPEC.md through the native API, in its three styles:
//! explicit contexts (`Context::with_task`/`with_span` + `Done`), guards and
//! the thread's ambient context (`root_task`, `Task::span`, `actrace::span`),
//! and async (`FutureExt::in_task`, polled by a tiny executor, moved across
//! threads).
//!
//! The trace is captured by a consumer that appends to a shared buffer, read
//! back with `actrace_core::parse::read_trace` after `actrace::flush()`. Tests
//! in this binary run concurrently and share the stream, so each uses base
//! names of its own. No violation happens here (the default policy panics):
//! see `violations_report.rs` and `violations_panic.rs`. Environment variables
//! (R12, K1, debug mode) are tested in child processes running this binary's
//! `child_process_entry`.

use std::future::Future;
use std::pin::Pin;
use std::process::{Command, Output};
use std::sync::{Arc, Barrier, Mutex, OnceLock};
use std::task::{Poll, Wake, Waker};
use std::thread;

use actrace::{Context, FutureExt, StackKind};
use actrace_core::parse::{read_trace, Trace};

mod trace_util;
use trace_util::*;

// ---------------------------------------------------------------- capture

/// Attaches the capture consumer once for the whole test binary.
fn capture() -> &'static Arc<Mutex<Vec<u8>>> {
    static BUF: OnceLock<Arc<Mutex<Vec<u8>>>> = OnceLock::new();
    BUF.get_or_init(|| {
        let buf = Arc::new(Mutex::new(Vec::new()));
        actrace::attach(Capture(buf.clone()));
        buf
    })
}

/// Everything traced so far, as text and read back.
fn recorded() -> (String, Trace) {
    let buf = capture();
    actrace::flush();
    let bytes = buf.lock().unwrap().clone();
    let trace = read_trace(&bytes).unwrap_or_else(|e| panic!("stream unreadable: {e}"));
    (String::from_utf8(bytes).unwrap(), trace)
}

/// Flows as (from lane name, to lane name).
fn flows(trace: &Trace) -> Vec<(String, String)> {
    trace
        .flows
        .iter()
        .map(|f| {
            (
                lane_name(trace, f.from.lane).to_string(),
                lane_name(trace, f.to.lane).to_string(),
            )
        })
        .collect()
}

/// A task begin line of the stream.
#[derive(Debug)]
struct Begin {
    id: String,
    parent: Option<String>,
}

fn field<'a>(line: &'a str, key: &str) -> Option<&'a str> {
    let pat = format!("\"{key}\":\"");
    let at = line.find(&pat)? + pat.len();
    let len = line[at..].find('"')?;
    Some(&line[at..at + len])
}

/// The begin event of the task with unique name `unique` (the last one).
fn begin_of(text: &str, unique: &str) -> Begin {
    let line = text
        .lines()
        .rev()
        .find(|l| {
            // A task that began and ended in one batch is one complete event.
            (l.contains("\"ph\":\"B\"") || l.contains("\"ph\":\"X\""))
                && field(l, "task") == Some(unique)
        })
        .unwrap_or_else(|| panic!("no begin line for {unique}"));
    Begin {
        id: field(line, "id").unwrap().to_string(),
        parent: field(line, "parent").map(String::from),
    }
}

// ---------------------------------------------------------------- executor

struct ThreadWaker(thread::Thread);

impl Wake for ThreadWaker {
    fn wake(self: Arc<Self>) {
        self.0.unpark();
    }
}

/// Polls once on the calling thread.
fn poll_once<F: Future + ?Sized>(fut: Pin<&mut F>) -> Poll<F::Output> {
    let waker = Waker::from(Arc::new(ThreadWaker(thread::current())));
    fut.poll(&mut std::task::Context::from_waker(&waker))
}

/// Runs a future to completion on the calling thread.
fn block_on<F: Future>(fut: F) -> F::Output {
    let mut fut = std::pin::pin!(fut);
    let waker = Waker::from(Arc::new(ThreadWaker(thread::current())));
    let mut cx = std::task::Context::from_waker(&waker);
    loop {
        match fut.as_mut().poll(&mut cx) {
            Poll::Ready(v) => return v,
            Poll::Pending => thread::park(),
        }
    }
}

/// Pending once (after waking itself), then ready.
#[derive(Default)]
struct YieldOnce(bool);

impl Future for YieldOnce {
    type Output = ();
    fn poll(mut self: Pin<&mut Self>, cx: &mut std::task::Context<'_>) -> Poll<()> {
        if self.0 {
            return Poll::Ready(());
        }
        self.0 = true;
        cx.waker().wake_by_ref();
        Poll::Pending
    }
}

// ---------------------------------------------------------------- rules

#[test]
fn r1_task_from_empty_context_is_root() {
    capture();
    // Context style.
    let (ctx, done) = Context::none().with_task("n-r1-ctx");
    assert_eq!(ctx.task_name(), Some("n-r1-ctx#0"));
    assert_eq!(ctx.stack(StackKind::Names).unwrap(), "n-r1-ctx$n-r1-ctx");
    // Guard style: a root even while the thread is inside another task.
    let outer = actrace::root_task("n-r1-outer");
    let entered = outer.enter();
    let guard = actrace::root_task("n-r1-guard");
    assert_eq!(
        guard.stack(StackKind::Names).unwrap(),
        "n-r1-guard$n-r1-guard"
    );
    // And `actrace::task` from the ambient context is not a root.
    let child = actrace::task("n-r1-child");
    assert_eq!(
        child.stack(StackKind::Names).unwrap(),
        "n-r1-outer$n-r1-child$n-r1-child"
    );
    drop(child);
    drop(entered);
    // Async style, from a thread outside any task.
    let inside = thread::spawn(|| {
        block_on(async { actrace::stack_or("-", StackKind::Names) }.in_task("n-r1-async"))
    })
    .join()
    .unwrap();
    assert_eq!(inside, "n-r1-async$n-r1-async");
    drop(guard);
    done.end();
    drop(outer);
    let (text, trace) = recorded();
    for root in ["n-r1-ctx#0", "n-r1-guard#0", "n-r1-async#0", "n-r1-outer#0"] {
        assert_eq!(begin_of(&text, root).parent, None, "{root} is a root");
        assert!(
            flows(&trace).iter().all(|(_, to)| to != root),
            "no arrow into {root}"
        );
    }
    assert_eq!(
        begin_of(&text, "n-r1-child#0").parent,
        Some(begin_of(&text, "n-r1-outer#0").id)
    );
}

#[test]
fn r2_parent_of_task_started_in_span_is_span_task() {
    capture();
    // Context style.
    let (p, dp) = Context::none().with_task("n-r2-p");
    let (s, ds) = p.with_span("spawning");
    let (c, dc) = s.with_task("n-r2-c");
    assert_eq!(c.stack(StackKind::Names).unwrap(), "n-r2-p$n-r2-c$n-r2-c");
    // Guard style: the ambient span's task is the parent.
    let mut g = actrace::root_task("n-r2-g");
    let gc = {
        let _span = g.span("loop");
        let _inner = actrace::span("iteration");
        actrace::task("n-r2-gc")
    };
    assert_eq!(
        gc.stack(StackKind::Names).unwrap(),
        "n-r2-g$n-r2-gc$n-r2-gc"
    );
    // Async style: the future's task is a child of the ambient span's task.
    let fut = {
        let _e = g.enter();
        let _span = actrace::span("awaiting");
        async { actrace::stack_or("-", StackKind::Names) }.in_task("n-r2-async")
    };
    let inside = thread::spawn(move || block_on(fut)).join().unwrap();
    assert_eq!(inside, "n-r2-g$n-r2-async$n-r2-async");
    drop(gc);
    dc.end();
    ds.end();
    dp.end();
    drop(g);
    let (text, trace) = recorded();
    let p_id = begin_of(&text, "n-r2-p#0").id;
    let g_id = begin_of(&text, "n-r2-g#0").id;
    assert_eq!(begin_of(&text, "n-r2-c#0").parent.as_ref(), Some(&p_id));
    assert_eq!(begin_of(&text, "n-r2-gc#0").parent.as_ref(), Some(&g_id));
    assert_eq!(begin_of(&text, "n-r2-async#0").parent.as_ref(), Some(&g_id));
    let f = flows(&trace);
    for (from, to) in [
        ("n-r2-p#0", "n-r2-c#0"),
        ("n-r2-g#0", "n-r2-gc#0"),
        ("n-r2-g#0", "n-r2-async#0"),
    ] {
        assert!(f.contains(&(from.into(), to.into())), "{from} -> {to}");
    }
}

#[test]
fn r3_orphan_reparented_to_nearest_live_ancestor() {
    capture();
    let (g, dg) = Context::none().with_task("n-r3-g");
    let (p, dp) = g.with_task("n-r3-p");
    let (p_span, dps) = p.with_span("work");
    dps.end();
    dp.end();
    assert!(!p.is_live() && !p_span.is_live());
    // From the ended task's context and from its ended span's context.
    let (o1, do1) = p.with_task("n-r3-o1");
    let mut o2 = p_span.task("n-r3-o2");
    assert_eq!(
        o1.stack(StackKind::Names).unwrap(),
        "n-r3-g$n-r3-o1$n-r3-o1"
    );
    assert_eq!(
        o2.stack(StackKind::Names).unwrap(),
        "n-r3-g$n-r3-o2$n-r3-o2"
    );
    {
        let _s = o2.span("s");
    }
    do1.end();
    drop(o2);
    // With no live ancestor left, a task started there is a root.
    dg.end();
    let (r, dr) = p.with_task("n-r3-root");
    assert_eq!(r.stack(StackKind::Names).unwrap(), "n-r3-root$n-r3-root");
    dr.end();
    let (text, trace) = recorded();
    let g_id = begin_of(&text, "n-r3-g#0").id;
    assert_eq!(begin_of(&text, "n-r3-o1#0").parent.as_ref(), Some(&g_id));
    assert_eq!(begin_of(&text, "n-r3-o2#0").parent.as_ref(), Some(&g_id));
    assert_eq!(begin_of(&text, "n-r3-root#0").parent, None);
    let f = flows(&trace);
    assert!(f.contains(&("n-r3-g#0".into(), "n-r3-o1#0".into())));
    assert!(f.iter().all(|(_, to)| to != "n-r3-root#0"));
}

#[test]
fn r5_smallest_free_suffix_reused() {
    capture();
    let mut tasks: Vec<_> = (0..3).map(|_| actrace::root_task("n-r5")).collect();
    let names: Vec<_> = tasks
        .iter()
        .map(|t| t.task_name().unwrap().to_string())
        .collect();
    assert_eq!(names, ["n-r5#0", "n-r5#1", "n-r5#2"]);
    drop(tasks.remove(1));
    let again = actrace::root_task("n-r5");
    assert_eq!(again.task_name(), Some("n-r5#1"));
    assert_eq!(actrace::root_task("n-r5").task_name(), Some("n-r5#3"));
    drop(tasks);
    drop(again);
    // Concurrent tasks on many threads hold distinct, small suffixes.
    const THREADS: usize = 6;
    let barrier = Arc::new(Barrier::new(THREADS));
    let names: Vec<String> = (0..THREADS)
        .map(|_| {
            let barrier = barrier.clone();
            thread::spawn(move || {
                let t = actrace::root_task("n-r5-thr");
                let name = t.task_name().unwrap().to_string();
                barrier.wait(); // every task is live here
                name
            })
        })
        .collect::<Vec<_>>()
        .into_iter()
        .map(|h| h.join().unwrap())
        .collect();
    let mut sorted = names.clone();
    sorted.sort();
    let expected: Vec<String> = (0..THREADS).map(|i| format!("n-r5-thr#{i}")).collect();
    assert_eq!(sorted, expected, "distinct, and the smallest free ones");
    let (_, trace) = recorded();
    assert!(open_on(&trace, "n-r5#0").is_empty());
}

#[test]
fn c1_reused_name_reuses_lane() {
    capture();
    for i in 0..3 {
        let mut t = actrace::root_task("n-c1");
        assert_eq!(t.task_name(), Some("n-c1#0"));
        let _s = t.span(format!("round {i}"));
    }
    let (_, trace) = recorded();
    let lanes: Vec<_> = (0..trace.lanes.len())
        .filter(|&i| lane_name(&trace, i) == "n-c1#0")
        .collect();
    assert_eq!(lanes.len(), 1, "one lane for n-c1#0");
    assert_ne!(trace.lanes[lanes[0]].tid, 0);
    assert_eq!(
        slices_on(&trace, "n-c1#0"),
        [
            ("round 0".to_string(), 1),
            ("n-c1".to_string(), 0),
            ("round 1".to_string(), 1),
            ("n-c1".to_string(), 0),
            ("round 2".to_string(), 1),
            ("n-c1".to_string(), 0),
        ]
    );
}

#[test]
fn c3_flow_from_parent_lane_to_child() {
    capture();
    let mut p = actrace::root_task("n-c3-p");
    {
        let _s = p.span("spawning");
        actrace::spawn("n-c3-thread", || {
            let _s = actrace::span("in thread");
        })
        .join()
        .unwrap();
        let ctx = actrace::current();
        actrace::task_group(&ctx, "group", |g| {
            for _ in 0..2 {
                g.spawn("n-c3-member", |_| {
                    let _s = actrace::span("member work");
                });
            }
        });
    }
    drop(p);
    let (_, trace) = recorded();
    let f = flows(&trace);
    assert!(
        f.contains(&("n-c3-p#0".into(), "n-c3-thread#0".into())),
        "{f:?}"
    );
    let to_members = f
        .iter()
        .filter(|(from, to)| from == "n-c3-p#0" && to.starts_with("n-c3-member#"))
        .count();
    assert_eq!(to_members, 2);
    // The arrow ends where the child's task slice starts.
    for flow in &trace.flows {
        if lane_name(&trace, flow.to.lane) == "n-c3-thread#0" {
            let task = trace
                .slices
                .iter()
                .find(|s| s.lane == flow.to.lane && s.depth == 0)
                .unwrap();
            assert_eq!(flow.to.ts_us, task.start_us);
            assert_eq!(flow.from.ts_us, task.start_us);
        }
    }
    let ids: std::collections::BTreeSet<u64> = trace.flows.iter().map(|f| f.id).collect();
    assert_eq!(ids.len(), trace.flows.len(), "flow ids are unique");
    // The group span ended after its members.
    let group = trace
        .slices
        .iter()
        .find(|s| &*s.name == "group" && lane_name(&trace, s.lane) == "n-c3-p#0")
        .unwrap();
    for s in trace.slices.iter().filter(|s| &*s.name == "n-c3-member") {
        assert!(s.end_us <= group.end_us);
    }
}

#[test]
fn async_task_moves_across_threads_with_its_span() {
    capture();
    let parent = actrace::root_task("n-async-p");
    let fut = {
        let _e = parent.enter();
        async {
            let _s = actrace::span("step");
            let before = actrace::stack_or("-", StackKind::Names);
            YieldOnce::default().await;
            let after = actrace::stack_or("-", StackKind::Names);
            (before, after, thread::current().id())
        }
        .in_task("n-async-w")
    };
    let mut fut = Box::pin(fut);
    assert!(poll_once(fut.as_mut()).is_pending());
    assert_eq!(
        actrace::stack_or("-", StackKind::Names),
        "-",
        "the poll restored this thread's context"
    );
    let (before, after, tid) = thread::spawn(move || {
        let out = block_on(fut);
        assert_eq!(actrace::stack_or("-", StackKind::Names), "-");
        out
    })
    .join()
    .unwrap();
    assert_ne!(tid, thread::current().id(), "finished on another thread");
    assert_eq!(before, "n-async-p$n-async-w$n-async-w.step");
    assert_eq!(after, before, "the span is current again after the move");
    drop(parent);
    let (_, trace) = recorded();
    assert_eq!(
        slices_on(&trace, "n-async-w#0"),
        [("step".to_string(), 1), ("n-async-w".to_string(), 0)]
    );
    assert!(flows(&trace).contains(&("n-async-p#0".into(), "n-async-w#0".into())));
    // A future dropped before completion ends its task too.
    let fut = async { YieldOnce::default().await }.in_task("n-async-dropped");
    let mut fut = Box::pin(fut);
    assert!(poll_once(fut.as_mut()).is_pending());
    drop(fut);
    let (_, trace) = recorded();
    assert!(open_on(&trace, "n-async-dropped#0").is_empty());
    assert_eq!(slices_on(&trace, "n-async-dropped#0").len(), 1);
}

#[test]
fn r13_stack_strings_through_context() {
    capture();
    let (a, da) = Context::none().with_task("n-r13-a");
    let (b, db) = a.with_task("n-r13-b");
    let (c, dc) = b.with_span("c");
    let (d, dd) = c.with_span("d");
    assert_eq!(
        d.stack(StackKind::Names).unwrap(),
        "n-r13-a$n-r13-b$n-r13-b.c.d"
    );
    let ids = d.stack(StackKind::Ids).unwrap();
    let combined = d.stack(StackKind::Combined).unwrap();
    dd.end();
    dc.end();
    db.end();
    da.end();
    let (text, _) = recorded();
    let (a_id, b_id) = (
        begin_of(&text, "n-r13-a#0").id,
        begin_of(&text, "n-r13-b#0").id,
    );
    let (tasks, spans) = ids.split_at(ids.rfind('$').unwrap());
    assert_eq!(tasks, format!("{a_id}${b_id}"), "{ids}");
    let spans: Vec<&str> = spans[1..].split('.').collect();
    assert_eq!(spans.len(), 3, "{ids}");
    assert_eq!(spans[0], b_id);
    for id in &spans {
        assert_eq!(id.len(), 4, "3 bytes by default: {ids}");
    }
    assert_eq!(
        combined,
        format!(
            "({a_id} \"n-r13-a\")$({b_id} \"n-r13-b\")$({b_id} \"n-r13-b\").({} \"c\").({} \"d\")",
            spans[1], spans[2]
        )
    );
    // The same through the ambient styles.
    let mut t = actrace::root_task("n-r13-g");
    let mut s = t.span("x");
    let _y = s.span("y");
    assert_eq!(
        actrace::stack_or("-", StackKind::Names),
        "n-r13-g$n-r13-g.x.y"
    );
}

#[test]
fn ambient_context_follows_span_guards_across_tasks() {
    capture();
    thread::spawn(|| {
        let names = || actrace::stack_or("-", StackKind::Names);
        let mut a = actrace::root_task("n-amb-a");
        let mut b = actrace::root_task("n-amb-b");
        for round in 0..2 {
            // The second round takes the parked task back.
            let mut s = a.span("s");
            assert_eq!(names(), "n-amb-a$n-amb-a.s", "round {round}");
            {
                let _t = b.span("t");
                assert_eq!(names(), "n-amb-b$n-amb-b.t", "round {round}");
                let _u = s.span("u");
                assert_eq!(names(), "n-amb-a$n-amb-a.s.u", "round {round}");
            }
            assert_eq!(names(), "n-amb-a$n-amb-a.s", "round {round}");
            drop(s);
            assert!(!actrace::current().in_task(), "round {round}");
            assert_eq!(names(), "-");
        }
        // A task parked in this thread still gives its name back when it ends.
        drop(a);
        drop(b);
        assert_eq!(actrace::root_task("n-amb-a").task_name(), Some("n-amb-a#0"));
        let entered = actrace::root_task("n-amb-c");
        let _in = entered.enter();
        let mut d = actrace::root_task("n-amb-d");
        drop(d.span("v"));
        assert_eq!(
            names(),
            "n-amb-c$n-amb-c",
            "the entered context is restored"
        );
    })
    .join()
    .unwrap();
}

#[test]
fn r13_outside_task_default() {
    thread::spawn(|| {
        assert_eq!(Context::none().stack(StackKind::Names), None);
        assert_eq!(Context::none().stack_or("-", StackKind::Ids), "-");
        assert_eq!(actrace::stack_or("no task", StackKind::Combined), "no task");
        assert_eq!(
            actrace::current().stack_or("", StackKind::Names),
            "",
            "an empty default is returned as is"
        );
        assert!(!actrace::current().in_task());
    })
    .join()
    .unwrap();
}

#[test]
fn r14_callbacks() {
    capture();
    type Seen = Arc<Mutex<Vec<(String, bool, String, Option<bool>)>>>;
    let began: Seen = Arc::default();
    let ended: Seen = Arc::default();
    let record = |seen: &Seen| {
        let seen = seen.clone();
        move |info: &actrace::NodeInfo| {
            if info.stack(StackKind::Names).starts_with("n-r14") {
                let ordered = info.end().map(|end| info.start() <= end);
                seen.lock().unwrap().push((
                    info.name().to_string(),
                    info.is_task(),
                    info.stack(StackKind::Names),
                    ordered,
                ));
            }
        }
    };
    actrace::on_begin(record(&began));
    actrace::on_end(record(&ended));
    let mut t = actrace::root_task("n-r14");
    {
        let mut s = t.span("outer");
        let _i = s.span("inner");
    }
    // A callback registered while a span is open is not told of its end.
    let late: Seen = Arc::default();
    let mut s = t.span("open-before");
    actrace::on_end(record(&late));
    drop(s);
    s = t.span("open-after");
    drop(s);
    drop(t);
    let began = began.lock().unwrap().clone();
    let ended = ended.lock().unwrap().clone();
    let late = late.lock().unwrap().clone();
    let b = |n: &str, task: bool, stack: &str| (n.to_string(), task, stack.to_string(), None);
    assert_eq!(
        began,
        [
            b("n-r14", true, "n-r14$n-r14"),
            b("outer", false, "n-r14$n-r14.outer"),
            b("inner", false, "n-r14$n-r14.outer.inner"),
            b("open-before", false, "n-r14$n-r14.open-before"),
            b("open-after", false, "n-r14$n-r14.open-after"),
        ]
    );
    let e = |n: &str, task: bool, stack: &str| (n.to_string(), task, stack.to_string(), Some(true));
    assert_eq!(
        ended,
        [
            e("inner", false, "n-r14$n-r14.outer.inner"),
            e("outer", false, "n-r14$n-r14.outer"),
            e("open-before", false, "n-r14$n-r14.open-before"),
            e("open-after", false, "n-r14$n-r14.open-after"),
            e("n-r14", true, "n-r14$n-r14"),
        ],
        "end callbacks get start <= end and the stack"
    );
    assert_eq!(
        late,
        [e("open-after", false, "n-r14$n-r14.open-after")],
        "registered after n-r14 and open-before began: only open-after"
    );
}

#[test]
fn r15_inherit() {
    capture();
    let (server, ds) = Context::none().with_task("n-r15-server");
    let (accept, da) = server.with_span("accept");
    // A handler built elsewhere joins the server's position.
    let handler = thread::spawn({
        let accept = accept.clone();
        move || {
            let mut h = Context::none();
            assert!(!h.in_task());
            h.inherit(&accept);
            h
        }
    })
    .join()
    .unwrap();
    assert_eq!(handler.task_name(), Some("n-r15-server#0"));
    assert_eq!(
        handler.stack(StackKind::Combined),
        accept.stack(StackKind::Combined)
    );
    let conn = handler.task("n-r15-conn");
    assert_eq!(
        conn.stack(StackKind::Names).unwrap(),
        "n-r15-server$n-r15-conn$n-r15-conn"
    );
    let (read, dr) = handler.with_span("read");
    assert_eq!(
        read.stack(StackKind::Names).unwrap(),
        "n-r15-server$n-r15-server.accept.read"
    );
    dr.end();
    drop(conn);
    da.end();
    ds.end();
    let (text, trace) = recorded();
    assert_eq!(
        begin_of(&text, "n-r15-conn#0").parent,
        Some(begin_of(&text, "n-r15-server#0").id)
    );
    assert!(flows(&trace).contains(&("n-r15-server#0".into(), "n-r15-conn#0".into())));
    assert_eq!(
        slices_on(&trace, "n-r15-server#0"),
        [
            ("read".to_string(), 2),
            ("accept".to_string(), 1),
            ("n-r15-server".to_string(), 0)
        ]
    );
}

// ---------------------------------------------------------------- child processes

const CHILD_ENV: &str = "ACTRACE_RULES_CHILD";

/// Runs `child_process_entry` of this test binary in a child process with
/// `scenario` and extra environment variables.
fn run_child(scenario: &str, env: &[(&str, &str)]) -> Output {
    let exe = std::env::current_exe().unwrap();
    let out = Command::new(exe)
        .args([
            "--exact",
            "child_process_entry",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD_ENV, scenario)
        .env_remove("ACTRACE_FILE")
        .env_remove("ACTRACE_DEBUG")
        .env_remove("ACTRACE_ID_BYTES")
        .envs(env.iter().copied())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "child {scenario} failed: {}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// The value printed by the child as `KEY=value`.
fn printed(out: &Output, key: &str) -> String {
    let stdout = String::from_utf8_lossy(&out.stdout);
    let pat = format!("{key}=");
    stdout
        .lines()
        .find_map(|l| l.find(&pat).map(|at| &l[at + pat.len()..]))
        .unwrap_or_else(|| panic!("child printed no {key}: {stdout}"))
        .to_string()
}

/// Does nothing in a normal run; in a child process started by the tests
/// below it runs the scenario named by `ACTRACE_RULES_CHILD`.
#[test]
fn child_process_entry() {
    let Ok(scenario) = std::env::var(CHILD_ENV) else {
        return;
    };
    match scenario.as_str() {
        "ids" => {
            let mut t = actrace::root_task("ids");
            let s = t.span("s");
            println!("IDS={}", s.stack(StackKind::Ids).unwrap());
        }
        "file" => {
            let mut root = actrace::root_task("k1-root");
            let _s = root.span("main");
            actrace::spawn("k1-worker", || {
                let _s = actrace::span("work");
            })
            .join()
            .unwrap();
            // Returns normally: the trace is closed at exit.
        }
        "debug" => {
            actrace::set_policy(actrace::Policy::Report);
            let ((t, dt), l_task) = (Context::none().with_task("dbg"), line!());
            let ((s1, d1), l_outer) = (t.with_span("outer"), line!());
            let ((_s2, d2), l_inner) = (s1.with_span("inner"), line!());
            println!("FILE={}", file!());
            println!("LINES={l_task},{l_outer},{l_inner}");
            d1.end(); // R10: "inner" is still live
            d2.end();
            let ((_a, da), l_first) = (t.with_span("first"), line!());
            let ((_b, db), l_second) = (t.with_span("second"), line!());
            println!("R9LINES={l_first},{l_second}");
            db.end();
            da.end();
            dt.end();
        }
        other => panic!("unknown scenario {other}"),
    }
}

#[test]
fn r12_ids_configurable_bytes() {
    for (bytes, chars) in [(None, 4), (Some("1"), 2), (Some("5"), 7), (Some("8"), 11)] {
        let env: Vec<(&str, &str)> = bytes.map(|b| ("ACTRACE_ID_BYTES", b)).into_iter().collect();
        let out = run_child("ids", &env);
        let ids = printed(&out, "IDS");
        let parts: Vec<&str> = ids.split(['$', '.']).collect();
        assert_eq!(parts.len(), 3, "{ids}");
        for id in parts {
            assert_eq!(id.len(), chars, "ACTRACE_ID_BYTES={bytes:?}: {ids}");
            assert!(id
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'+' || b == b'/'));
        }
    }
    // Out of range: a clear message, and the default.
    let out = run_child("ids", &[("ACTRACE_ID_BYTES", "0")]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("ACTRACE_ID_BYTES"), "{stderr}");
    assert_eq!(printed(&out, "IDS").split('$').next().unwrap().len(), 4);
}

#[test]
fn k1_actrace_file_in_child_process_is_valid_json() {
    let dir = std::env::temp_dir().join(format!("actrace-rules-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("trace.json");
    let out = run_child("file", &[("ACTRACE_FILE", path.to_str().unwrap())]);
    let bytes = std::fs::read(&path).unwrap();
    std::fs::remove_dir_all(&dir).ok();
    let trace = read_trace(&bytes).unwrap_or_else(|e| panic!("{e}"));
    assert!(trace.complete, "closed at normal exit: valid JSON");
    assert!(bytes.ends_with(b"\n]\n"));
    assert!(trace.open_slices.is_empty());
    assert_eq!(
        slices_on(&trace, "k1-root#0"),
        [("main".to_string(), 1), ("k1-root".to_string(), 0)]
    );
    assert_eq!(
        slices_on(&trace, "k1-worker#0"),
        [("work".to_string(), 1), ("k1-worker".to_string(), 0)]
    );
    assert_eq!(flows(&trace), [("k1-root#0".into(), "k1-worker#0".into())]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("actrace:"), "no error: {stderr}");
}

#[test]
fn k1_unwritable_actrace_file_is_one_clear_error() {
    let out = run_child("file", &[("ACTRACE_FILE", "/nonexistent/dir/x.json")]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    let lines: Vec<&str> = stderr.lines().filter(|l| l.contains("actrace")).collect();
    assert_eq!(lines.len(), 1, "one message: {stderr}");
    assert!(lines[0].contains("/nonexistent/dir/x.json"), "{stderr}");
    assert!(lines[0].contains("ACTRACE_FILE"), "{stderr}");
    assert!(!std::path::Path::new("/nonexistent/dir/x.json").exists());
}

#[test]
fn debug_mode_prints_creation_sites_in_violation_report() {
    let out = run_child("debug", &[("ACTRACE_DEBUG", "1")]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    let file = printed(&out, "FILE");
    let r10 = stderr
        .split("actrace R")
        .find(|r| r.starts_with("10:"))
        .unwrap_or_else(|| panic!("no R10 report: {stderr}"));
    for line in printed(&out, "LINES").split(',') {
        let site = format!("{file}:{line}:");
        assert!(r10.contains(&site), "R10 report lacks {site}: {stderr}");
    }
    let r9 = stderr
        .split("actrace R")
        .find(|r| r.starts_with("9:"))
        .unwrap_or_else(|| panic!("no R9 report: {stderr}"));
    for line in printed(&out, "R9LINES").split(',') {
        let site = format!("{file}:{line}:");
        assert!(r9.contains(&site), "R9 report lacks {site}: {stderr}");
    }
    // Without ACTRACE_DEBUG, no sites.
    let out = run_child("debug", &[]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("actrace R10"), "{stderr}");
    assert!(!stderr.contains(&format!("{file}:")), "{stderr}");
}
