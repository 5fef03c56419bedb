//! Violations under `Policy::Report` (R4, R6–R11): each is reported through
//! the violation hook with a message naming both nodes, the caller goes on,
//! and the captured stream stays well-formed.
//!
//! The policy and the hook are process-wide, so this binary sets them once
//! for all its tests; each test uses base names of its own and picks its
//! reports out by those names.

use std::sync::{Arc, Mutex, OnceLock};
use std::thread;

use actrace::{Context, Policy, StackKind};
use actrace_core::parse::{read_trace, Trace};

mod trace_util;
use trace_util::*;

/// Every report so far: (rule, message, debug sites).
static REPORTS: Mutex<Vec<(String, String, String)>> = Mutex::new(Vec::new());

/// Report policy, a hook that records, and the capture consumer; once.
fn setup() -> &'static Arc<Mutex<Vec<u8>>> {
    static BUF: OnceLock<Arc<Mutex<Vec<u8>>>> = OnceLock::new();
    BUF.get_or_init(|| {
        actrace::set_policy(Policy::Report);
        actrace::set_violation_hook(|v, sites| {
            REPORTS
                .lock()
                .unwrap()
                .push((v.rule().to_string(), v.to_string(), sites.to_string()));
        });
        let buf = Arc::new(Mutex::new(Vec::new()));
        actrace::attach(Capture(buf.clone()));
        buf
    })
}

/// Reports whose message mentions `needle`, as (rule, message).
fn reports(needle: &str) -> Vec<(String, String)> {
    REPORTS
        .lock()
        .unwrap()
        .iter()
        .filter(|(_, m, _)| m.contains(needle))
        .map(|(r, m, _)| (r.clone(), m.clone()))
        .collect()
}

fn recorded() -> Trace {
    let buf = setup();
    actrace::flush();
    let bytes = buf.lock().unwrap().clone();
    read_trace(&bytes).unwrap_or_else(|e| panic!("R11: stream unreadable: {e}"))
}

/// The node as a violation names it: `(ID "NAME")`, with the unique name
/// `NAME#N` for a task.
fn desc_of(ctx: &Context) -> String {
    let stack = ctx.stack(StackKind::Ids).unwrap();
    let at = stack.rfind(['$', '.']).unwrap();
    let id = &stack[at + 1..];
    if stack[at..].starts_with('$') {
        format!("({id} {:?})", ctx.task_name().unwrap())
    } else {
        let names = ctx.stack(StackKind::Names).unwrap();
        format!("({id} {:?})", &names[names.rfind('.').unwrap() + 1..])
    }
}

#[test]
fn r4_hash_in_task_name_reported_and_repaired() {
    setup();
    let t = actrace::root_task("vr4#name");
    assert_eq!(t.task_name(), Some("vr4_name#0"));
    let r = reports("vr4#name");
    assert_eq!(r.len(), 1);
    assert_eq!(r[0].0, "R4");
    drop(t);
    let trace = recorded();
    assert_eq!(slices_on(&trace, "vr4_name#0"), [s("vr4_name", 0)]);
}

#[test]
fn r6_end_task_with_live_children_reported() {
    setup();
    // Context style.
    let (p, dp) = Context::none().with_task("vr6-p");
    let (c, dc) = p.with_task("vr6-c");
    let (p_desc, c_desc) = (desc_of(&p), desc_of(&c));
    dp.end();
    let r = reports("\"vr6-p#0\"");
    assert_eq!(r.len(), 1, "{r:?}");
    assert_eq!(r[0].0, "R6");
    assert!(
        r[0].1.contains(&p_desc) && r[0].1.contains(&c_desc),
        "{r:?}"
    );
    assert!(!p.is_live() && c.is_live());
    let trace = recorded();
    assert_eq!(slices_on(&trace, "vr6-p#0"), [s("vr6-p", 0)]);
    assert_eq!(open_on(&trace, "vr6-c#0"), ["vr6-c"]);
    dc.end();
    let trace = recorded();
    assert!(open_on(&trace, "vr6-c#0").is_empty());
    // Guard style, the child on another thread.
    let parent = actrace::root_task("vr6-g");
    let child = parent.task("vr6-gc");
    drop(parent);
    let r = reports("\"vr6-g#0\"");
    assert_eq!(r.len(), 1);
    assert!(r[0].1.contains("\"vr6-gc#0\""), "{r:?}");
    thread::spawn(move || {
        let _e = child.enter();
        let _s = actrace::span("orphaned work");
        // The orphan goes on as usual; its chain still starts at the task
        // it was started in (R13).
        let g = actrace::task("vr6-ggc");
        assert_eq!(
            g.stack(StackKind::Names).unwrap(),
            "vr6-g$vr6-gc$vr6-ggc$vr6-ggc"
        );
    })
    .join()
    .unwrap();
    let trace = recorded();
    assert_eq!(
        slices_on(&trace, "vr6-gc#0"),
        [s("orphaned work", 1), s("vr6-gc", 0)]
    );
    assert!(reports("vr6-gc#0").len() == 1, "only the R6 report");
}

#[test]
fn r7_span_auto_closed_by_repair_then_dropped_no_extra_e() {
    setup();
    // Context style: ending the outer span closes the inner one (R10).
    let (t, dt) = Context::none().with_task("vr7-ctx");
    let (outer, d_outer) = t.with_span("vr7-outer");
    let (inner, d_inner) = outer.with_span("vr7-inner");
    d_outer.end();
    assert!(!inner.is_live());
    assert_eq!(reports("vr7").len(), 1);
    d_inner.end(); // already ended: nothing
    assert_eq!(reports("vr7").len(), 1, "R7 is no violation");
    let trace = recorded();
    assert_eq!(
        slices_on(&trace, "vr7-ctx#0"),
        [s("vr7-inner", 2), s("vr7-outer", 1)]
    );
    assert_eq!(open_on(&trace, "vr7-ctx#0"), ["vr7-ctx"]);
    dt.end();
    // Guard style: the task ends under its ambient span (R10); the span,
    // dropped afterwards, writes nothing.
    let t = actrace::root_task("vr7-guard");
    let entered = t.enter();
    let span = actrace::span("vr7-ambient");
    drop(t);
    assert_eq!(reports("\"vr7-guard#0\"").len(), 1);
    drop(span);
    drop(entered);
    let trace = recorded();
    assert_eq!(
        slices_on(&trace, "vr7-ctx#0"),
        [s("vr7-inner", 2), s("vr7-outer", 1), s("vr7-ctx", 0)],
        "one E per slice: none extra"
    );
    assert_eq!(
        slices_on(&trace, "vr7-guard#0"),
        [s("vr7-ambient", 1), s("vr7-guard", 0)]
    );
    assert!(open_on(&trace, "vr7-guard#0").is_empty());
    // The lane is still usable: a new task there nests nothing under the old.
    let mut again = actrace::root_task("vr7-guard");
    drop(again.span("vr7-fresh"));
    drop(again);
    let trace = recorded();
    assert_eq!(
        slices_on(&trace, "vr7-guard#0"),
        [
            s("vr7-ambient", 1),
            s("vr7-guard", 0),
            s("vr7-fresh", 1),
            s("vr7-guard", 0)
        ]
    );
}

#[test]
fn r8_span_outside_any_task_reported() {
    setup();
    thread::spawn(|| {
        let span = actrace::span("vr8-lonely");
        assert!(!span.context().in_task(), "the span is not recorded");
        assert_eq!(span.stack(StackKind::Names), None);
        // Its children are outside any task too.
        let child = actrace::span("vr8-child");
        assert!(!child.context().in_task());
    })
    .join()
    .unwrap();
    let r = reports("vr8-lonely");
    assert_eq!(r.len(), 1);
    assert_eq!(r[0].0, "R8");
    assert!(r[0].1.contains("outside any task"), "{r:?}");
    assert_eq!(reports("vr8-child").len(), 1);
    // A span in a task that has ended.
    let (t, dt) = Context::none().with_task("vr8-ended");
    dt.end();
    let (late, d_late) = t.with_span("vr8-late");
    assert!(!late.in_task());
    d_late.end();
    let r = reports("vr8-late");
    assert_eq!(r.len(), 1);
    assert!(r[0].1.contains("\"vr8-ended#0\""), "names the task: {r:?}");
    let trace = recorded();
    assert!(trace
        .slices
        .iter()
        .all(|sl| !sl.name.starts_with("vr8-l") && !sl.name.starts_with("vr8-c")));
    assert!(trace.open_slices.iter().all(|o| !o.name.starts_with("vr8")));
    assert_eq!(slices_on(&trace, "vr8-ended#0"), [s("vr8-ended", 0)]);
}

#[test]
fn r9_second_live_child_span_reported() {
    setup();
    let (t, dt) = Context::none().with_task("vr9");
    let (first, d_first) = t.with_span("vr9-first");
    let (t_desc, first_desc) = (desc_of(&t), desc_of(&first));
    let (second, d_second) = t.with_span("vr9-second");
    let r = reports("vr9-second");
    assert_eq!(r.len(), 1, "{r:?}");
    assert_eq!(r[0].0, "R9");
    assert!(
        r[0].1.contains(&t_desc) && r[0].1.contains(&first_desc),
        "names both nodes: {r:?}"
    );
    assert!(!first.is_live() && second.is_live());
    assert_eq!(
        second.stack(StackKind::Names).unwrap(),
        "vr9$vr9.vr9-second"
    );
    let trace = recorded();
    assert_eq!(slices_on(&trace, "vr9#0"), [s("vr9-first", 1)]);
    assert_eq!(open_on(&trace, "vr9#0"), ["vr9", "vr9-second"]);
    d_first.end(); // closed by the repair: nothing more
    d_second.end();
    dt.end();
    assert_eq!(reports("vr9").len(), 1);
    let trace = recorded();
    assert_eq!(
        slices_on(&trace, "vr9#0"),
        [s("vr9-first", 1), s("vr9-second", 1), s("vr9", 0)]
    );
    assert!(open_on(&trace, "vr9#0").is_empty());
}

#[test]
fn r10_end_span_with_live_child_reported() {
    setup();
    let (t, dt) = Context::none().with_task("vr10-span");
    let (a, da) = t.with_span("vr10-a");
    let (b, db) = a.with_span("vr10-b");
    let (_c, dc) = b.with_span("vr10-c");
    let (a_desc, b_desc) = (desc_of(&a), desc_of(&b));
    da.end();
    let r = reports(&a_desc);
    assert_eq!(r.len(), 1, "{r:?}");
    assert_eq!(r[0].0, "R10");
    assert!(r[0].1.contains(&b_desc), "names both nodes: {r:?}");
    dc.end();
    db.end();
    let trace = recorded();
    assert_eq!(
        slices_on(&trace, "vr10-span#0"),
        [s("vr10-c", 3), s("vr10-b", 2), s("vr10-a", 1)]
    );
    assert_eq!(open_on(&trace, "vr10-span#0"), ["vr10-span"]);
    // A span started from an ended span starts from its nearest live
    // ancestor (reported as R10).
    let (d, dd) = b.with_span("vr10-d");
    assert_eq!(
        d.stack(StackKind::Names).unwrap(),
        "vr10-span$vr10-span.vr10-d"
    );
    assert_eq!(reports("vr10-d")[0].0, "R10");
    dd.end();
    dt.end();
    let trace = recorded();
    assert!(open_on(&trace, "vr10-span#0").is_empty());
}

#[test]
fn r10_end_task_with_live_span_reported() {
    setup();
    let t = actrace::root_task("vr10-task");
    let (open, d_open) = t.with_span("vr10-open");
    let (_inner, d_inner) = open.with_span("vr10-inner");
    let (t_desc, open_desc) = (desc_of(&t), desc_of(&open));
    drop(t); // "vr10-open" is still live
    let r = reports(&t_desc);
    assert_eq!(r.len(), 1, "{r:?}");
    assert_eq!(r[0].0, "R10");
    assert!(r[0].1.contains(&open_desc), "names both nodes: {r:?}");
    d_inner.end();
    d_open.end();
    assert_eq!(reports(&t_desc).len(), 1, "R7: no more reports");
    let trace = recorded();
    assert!(open_on(&trace, "vr10-task#0").is_empty());
    assert_eq!(
        slices_on(&trace, "vr10-task#0"),
        [s("vr10-inner", 2), s("vr10-open", 1), s("vr10-task", 0)]
    );
}

#[test]
fn r11_async_task_with_violations_keeps_stream_balanced() {
    setup();
    use std::future::Future;
    use std::pin::pin;
    use std::task::{Poll, Wake, Waker};
    struct Noop;
    impl Wake for Noop {
        fn wake(self: Arc<Self>) {}
    }
    let fut = actrace::FutureExt::in_task(
        async {
            let ctx = actrace::current();
            let (_a, da) = ctx.with_span("vr11-a");
            let (b, db) = ctx.with_span("vr11-b"); // R9
            let _s = b.span("vr11-ambient");
            // The task ends when the future completes, while "vr11-b" is
            // still live (R10); its handle outlives the task.
            (da, db)
        },
        "vr11",
    );
    let waker = Waker::from(Arc::new(Noop));
    let mut fut = pin!(fut);
    let Poll::Ready((da, db)) = fut
        .as_mut()
        .poll(&mut std::task::Context::from_waker(&waker))
    else {
        panic!("the future completes at once");
    };
    da.end();
    db.end();
    let rules: Vec<String> = reports("vr11").into_iter().map(|(r, _)| r).collect();
    assert_eq!(rules, ["R9", "R10"]);
    let trace = recorded();
    assert!(open_on(&trace, "vr11#0").is_empty(), "the task ended");
    assert_eq!(
        slices_on(&trace, "vr11#0"),
        [
            s("vr11-a", 1),
            s("vr11-ambient", 2),
            s("vr11-b", 1),
            s("vr11", 0)
        ]
    );
}
