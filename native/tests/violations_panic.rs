//! Violations under the default policy, `Policy::Panic` (R11): the caller
//! panics with a message naming both nodes, but only after the stream was
//! repaired, so after `catch_unwind` the captured stream is still
//! well-formed. Inside a panic already unwinding, a violation is only
//! reported (no double panic, no abort).

use std::any::Any;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::{Arc, Mutex, OnceLock};
use std::thread;

use actrace::{Context, Policy, StackKind};
use actrace_core::parse::{read_trace, Trace};

mod trace_util;
use trace_util::*;

fn capture() -> &'static Arc<Mutex<Vec<u8>>> {
    static BUF: OnceLock<Arc<Mutex<Vec<u8>>>> = OnceLock::new();
    BUF.get_or_init(|| {
        assert_eq!(actrace::policy(), Policy::Panic, "the default policy");
        let buf = Arc::new(Mutex::new(Vec::new()));
        actrace::attach(Capture(buf.clone()));
        buf
    })
}

fn recorded() -> Trace {
    let buf = capture();
    actrace::flush();
    let bytes = buf.lock().unwrap().clone();
    read_trace(&bytes).unwrap_or_else(|e| panic!("R11: stream unreadable: {e}"))
}

/// The panic message of a caught panic.
fn message(payload: Box<dyn Any + Send>) -> String {
    match payload.downcast::<String>() {
        Ok(s) => *s,
        Err(p) => p
            .downcast::<&str>()
            .map(|s| s.to_string())
            .unwrap_or_default(),
    }
}

/// Runs `f`, which must panic, and returns the panic message.
fn panics<R>(f: impl FnOnce() -> R) -> String {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(_) => panic!("expected a violation panic"),
        Err(payload) => message(payload),
    }
}

fn id_of(ctx: &Context) -> String {
    let ids = ctx.stack(StackKind::Ids).unwrap();
    ids[ids.rfind(['$', '.']).unwrap() + 1..].to_string()
}

#[test]
fn r8_span_outside_any_task_panics() {
    capture();
    let msg = thread::spawn(|| panics(|| actrace::span("vp8-lonely")))
        .join()
        .unwrap();
    assert_eq!(
        msg,
        "actrace R8: span \"vp8-lonely\" was started outside any task"
    );
    let trace = recorded();
    assert!(trace.slices.iter().all(|s| &*s.name != "vp8-lonely"));
    assert!(trace.open_slices.iter().all(|s| &*s.name != "vp8-lonely"));
}

#[test]
fn r9_panic_message_names_both_and_stream_stays_balanced() {
    capture();
    let (t, dt) = Context::none().with_task("vp9");
    let (first, d_first) = t.with_span("vp9-first");
    let (t_id, first_id) = (id_of(&t), id_of(&first));
    let msg = panics(|| t.with_span("vp9-second"));
    assert!(msg.starts_with("actrace R9: "), "{msg}");
    assert!(msg.contains(&format!("({t_id} \"vp9#0\")")), "{msg}");
    assert!(
        msg.contains(&format!("({first_id} \"vp9-first\")")),
        "{msg}"
    );
    assert!(msg.contains("\"vp9-second\""), "{msg}");
    // The repair happened before the panic: first closed, second open.
    let trace = recorded();
    assert_eq!(slices_on(&trace, "vp9#0"), [s("vp9-first", 1)]);
    assert_eq!(open_on(&trace, "vp9#0"), ["vp9", "vp9-second"]);
    d_first.end(); // already closed: R7, no panic
                   // "vp9-second" has no handle (the panic took it): ending the task
                   // closes it, which is R10.
    let msg = panics(|| dt.end());
    assert!(msg.starts_with("actrace R10: "), "{msg}");
    assert!(msg.contains("\"vp9-second\""), "{msg}");
    let trace = recorded();
    assert!(open_on(&trace, "vp9#0").is_empty());
    assert_eq!(
        slices_on(&trace, "vp9#0"),
        [s("vp9-first", 1), s("vp9-second", 1), s("vp9", 0)]
    );
}

#[test]
fn r6_panic_and_stream_stays_balanced() {
    capture();
    let (p, dp) = Context::none().with_task("vp6-p");
    let (c, dc) = p.with_task("vp6-c");
    let msg = panics(|| dp.end());
    assert!(msg.starts_with("actrace R6: "), "{msg}");
    assert!(
        msg.contains(&format!("({} \"vp6-p#0\")", id_of(&p))),
        "{msg}"
    );
    assert!(
        msg.contains(&format!("({} \"vp6-c#0\")", id_of(&c))),
        "{msg}"
    );
    assert!(!p.is_live() && c.is_live());
    let trace = recorded();
    assert_eq!(slices_on(&trace, "vp6-p#0"), [s("vp6-p", 0)]);
    assert_eq!(open_on(&trace, "vp6-c#0"), ["vp6-c"]);
    dc.end();
    let trace = recorded();
    assert!(open_on(&trace, "vp6-c#0").is_empty());
}

#[test]
fn r10_panic_with_guards_and_stream_stays_balanced() {
    capture();
    let t = actrace::root_task("vp10");
    let entered = t.enter();
    let span = actrace::span("vp10-ambient");
    let msg = panics(move || drop(t));
    assert!(msg.starts_with("actrace R10: "), "{msg}");
    assert!(
        msg.contains("\"vp10#0\"") && msg.contains("\"vp10-ambient\""),
        "{msg}"
    );
    drop(span); // R7: no second panic
    drop(entered);
    assert_eq!(actrace::stack_or("-", StackKind::Names), "-");
    let trace = recorded();
    assert!(open_on(&trace, "vp10#0").is_empty());
    assert_eq!(
        slices_on(&trace, "vp10#0"),
        [s("vp10-ambient", 1), s("vp10", 0)]
    );
}

#[test]
fn violation_while_unwinding_is_reported_not_a_double_panic() {
    capture();
    let joined = thread::spawn(|| {
        // Declared first, so dropped last, after the task: its span is still
        // open when the task ends during unwinding (R10).
        let _span_done: actrace::Done;
        let t = actrace::root_task("vp-unwind");
        _span_done = t.with_span("vp-unwind-span").1;
        panic!("the program's own panic");
    })
    .join();
    // One panic, the program's: the R10 while unwinding did not abort.
    let msg = message(joined.unwrap_err());
    assert_eq!(msg, "the program's own panic");
    let trace = recorded();
    assert!(open_on(&trace, "vp-unwind#0").is_empty());
    assert_eq!(
        slices_on(&trace, "vp-unwind#0"),
        [s("vp-unwind-span", 1), s("vp-unwind", 0)]
    );
}
