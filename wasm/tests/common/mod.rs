//! Tests run both in Node and in Chromium: the wasm API against the core's
//! own output (same bytes), the rules, the violation policies, callbacks,
//! promises and batching.

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use actrace_core::{read_trace, BatchScratch, Encoder, Event, IdBytes, Timestamp, Tracer as Core};
use actrace_wasm::{Context, Policy, Settings, StackKind, Tracer};
use js_sys::{Function, Reflect, Uint8Array};
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;
use wasm_bindgen_test::wasm_bindgen_test;

/// 2026-01-01 in nanoseconds since the epoch: the test clock's origin.
const BASE: u64 = 1_767_225_600_000_000_000;
/// The test clock advances this much on every read.
const STEP: u64 = 1_500;

/// A tracer on a clock that advances by STEP per read.
fn test_tracer(policy: Policy, on_violation: Option<Function>) -> Tracer {
    let now = Cell::new(BASE);
    Tracer::with_settings(Settings {
        process_name: "test".into(),
        seed: 7,
        policy,
        on_violation,
        clock: Some(Box::new(move || {
            now.set(now.get() + STEP);
            Timestamp::from_nanos(now.get())
        })),
        origin: Some(Timestamp::from_nanos(BASE)),
        ..Settings::default()
    })
}

/// Everything a sink got, and how many times it was called.
struct Capture {
    bytes: Rc<RefCell<Vec<u8>>>,
    calls: Rc<Cell<u32>>,
    _sink: Closure<dyn FnMut(Uint8Array)>,
}

impl Capture {
    fn attach(tracer: &Tracer) -> Capture {
        let bytes = Rc::new(RefCell::new(Vec::new()));
        let calls = Rc::new(Cell::new(0));
        let (b, c) = (bytes.clone(), calls.clone());
        let sink = Closure::<dyn FnMut(Uint8Array)>::new(move |chunk: Uint8Array| {
            b.borrow_mut().extend(chunk.to_vec());
            c.set(c.get() + 1);
        });
        tracer
            .add_sink(sink.as_ref().clone().unchecked_into())
            .expect("sink attached");
        Capture {
            bytes,
            calls,
            _sink: sink,
        }
    }

    fn text(&self) -> String {
        String::from_utf8(self.bytes.borrow().clone()).expect("UTF-8")
    }

    /// The stream closed and read back by the core's tolerant reader: it
    /// must be well-formed, with every slice closed.
    fn check_balanced(&self) -> actrace_core::Trace {
        let mut closed = self.bytes.borrow().clone();
        closed.extend_from_slice(b"\n]\n");
        let trace = read_trace(&closed).expect("the stream is well-formed");
        assert!(trace.complete, "closed stream is valid JSON");
        assert!(
            trace.open_slices.is_empty(),
            "slices left open: {:?}",
            trace.open_slices
        );
        trace
    }
}

/// The (message, rule) pairs a violation hook was called with.
type Reported = Rc<RefCell<Vec<(String, String)>>>;

/// A violation hook that keeps the messages.
fn collecting_hook() -> (Function, Reported) {
    let seen = Rc::new(RefCell::new(Vec::new()));
    let s = seen.clone();
    let hook = Closure::<dyn FnMut(String, String)>::new(move |msg: String, rule: String| {
        s.borrow_mut().push((msg, rule));
    });
    (hook.into_js_value().unchecked_into(), seen)
}

fn error_message(e: &JsValue) -> String {
    js_sys::Error::from(e.clone()).message().into()
}

fn error_rule(e: &JsValue) -> String {
    Reflect::get(e, &"rule".into())
        .ok()
        .and_then(|r| r.as_string())
        .unwrap_or_default()
}

/// A JavaScript function of one argument, from source.
fn js_fn(arg: &str, body: &str) -> Function {
    Function::new_with_args(arg, body)
}

async fn next_microtask() {
    JsFuture::from(js_sys::Promise::resolve(&JsValue::NULL))
        .await
        .unwrap();
}

async fn settled(value: JsValue) -> Result<JsValue, JsValue> {
    JsFuture::from(js_sys::Promise::resolve(&value)).await
}

#[wasm_bindgen_test]
fn same_bytes_as_the_core_encoder() {
    let tracer = test_tracer(Policy::Throw, None);
    let out = Capture::attach(&tracer);
    let a = tracer.task("a".into()).unwrap();
    let b = a.task("b".into()).unwrap();
    let c = b.span("c \"quoted\"".into()).unwrap();
    let d = c.span("d".into()).unwrap();
    d.end().unwrap();
    c.end().unwrap();
    b.end().unwrap();
    let b2 = a.task("b".into()).unwrap();
    b2.end().unwrap();
    a.end().unwrap();
    tracer.flush();

    // The same operations on the core, at the same times.
    let mut core = Core::new(7, IdBytes::default());
    let mut events: Vec<Event> = Vec::new();
    let mut t = BASE;
    let mut now = || {
        t += STEP;
        Timestamp::from_nanos(t)
    };
    let mut no_cb = |_: &[actrace_core::Frame]| {};
    let (a, _) = core.start_task(None, "a", now(), &mut events);
    let (b, _) = core.start_task(Some(a), "b", now(), &mut events);
    let (c, _) = core.start_span(Some(b), "c \"quoted\"", now(), 0, &mut events, &mut no_cb);
    let (d, _) = core.start_span(c, "d", now(), 0, &mut events, &mut no_cb);
    core.end(d.unwrap(), now(), &mut events, &mut no_cb);
    core.end(c.unwrap(), now(), &mut events, &mut no_cb);
    core.end(b, now(), &mut events, &mut no_cb);
    let (b2, _) = core.start_task(Some(a), "b", now(), &mut events);
    core.end(b2, now(), &mut events, &mut no_cb);
    core.end(a, now(), &mut events, &mut no_cb);
    let encoder = Encoder::new(Timestamp::from_nanos(BASE));
    let mut expected = Vec::new();
    encoder.open("test", &mut expected);
    // One hand-over, encoded as the adapter encodes its batches.
    encoder.batch(&events, &mut expected, &mut BatchScratch::default());

    assert_eq!(out.text(), String::from_utf8(expected).unwrap());
    let trace = out.check_balanced();
    assert_eq!(trace.flows.len(), 2, "a flow per child task (C3)");
}

#[wasm_bindgen_test]
fn unique_names_and_lanes_are_reused() {
    let tracer = test_tracer(Policy::Throw, None);
    let out = Capture::attach(&tracer);
    let w0 = tracer.task("w".into()).unwrap();
    let w1 = tracer.task("w".into()).unwrap();
    w0.end().unwrap();
    let again = tracer.task("w".into()).unwrap();
    assert_eq!(tracer.live_tasks(), 2);
    again.end().unwrap();
    w1.end().unwrap();
    tracer.flush();
    let text = out.text();
    assert_eq!(text.matches("\"task\":\"w#0\"").count(), 2, "{text}");
    assert_eq!(text.matches("\"task\":\"w#1\"").count(), 1, "{text}");
    assert_eq!(
        out.check_balanced().lanes.len(),
        2,
        "w#0 reuses its lane (C1)"
    );
}

#[wasm_bindgen_test]
fn stack_strings_in_three_renderings() {
    let tracer = test_tracer(Policy::Throw, None);
    let a = tracer.task("a".into()).unwrap();
    let b = a.task("b".into()).unwrap();
    let c = b.span("c".into()).unwrap();
    let d = c.span("d".into()).unwrap();
    assert_eq!(d.stack(Some(StackKind::Names), None), "a$b$b.c.d");
    assert_eq!(d.stack(None, None), "a$b$b.c.d", "names by default");
    let (ia, ib, ic, id) = (
        a.id().unwrap(),
        b.id().unwrap(),
        c.id().unwrap(),
        d.id().unwrap(),
    );
    assert_eq!(
        d.stack(Some(StackKind::Ids), None),
        format!("{ia}${ib}${ib}.{ic}.{id}")
    );
    assert_eq!(
        c.stack(Some(StackKind::Combined), None),
        format!("({ia} \"a\")$({ib} \"b\")$({ib} \"b\").({ic} \"c\")")
    );
    assert_eq!(ia.len(), 4, "3 random bytes in unpadded base64 (R12)");
    assert_eq!(
        tracer.context().stack(None, Some("outside".into())),
        "outside",
        "outside any task, the caller's default (R13)"
    );
    assert_eq!(d.name().as_deref(), Some("d"));
    assert!(b.is_task() && !d.is_task());
}

#[wasm_bindgen_test]
fn end_twice_is_a_no_op_and_orphans_go_to_the_nearest_live_ancestor() {
    let (hook, seen) = collecting_hook();
    let tracer = test_tracer(Policy::Report, Some(hook));
    let out = Capture::attach(&tracer);
    let a = tracer.task("a".into()).unwrap();
    let b = a.task("b".into()).unwrap();
    let s = b.span("s".into()).unwrap();
    s.end().unwrap();
    s.end().unwrap(); // R7
    assert!(!s.is_live());
    b.end().unwrap();
    b.end().unwrap(); // R7
    let c = b.task("c".into()).unwrap(); // R3: b has ended, a is live
    assert_eq!(c.stack(None, None), "a$c$c");
    c.end().unwrap();
    a.end().unwrap();
    tracer.flush();
    assert!(
        seen.borrow().is_empty(),
        "no violation: {:?}",
        seen.borrow()
    );
    out.check_balanced();
}

#[wasm_bindgen_test]
fn violations_throw_errors_naming_both_nodes_and_the_stream_stays_balanced() {
    let tracer = test_tracer(Policy::Throw, None);
    let out = Capture::attach(&tracer);
    let a = tracer.task("a".into()).unwrap();

    // R9: a second live child span.
    let x = a.span("x".into()).unwrap();
    let e = a.span("y".into()).err().expect("R9 throws");
    assert_eq!(error_rule(&e), "R9");
    let m = error_message(&e);
    assert!(m.starts_with("actrace R9: span \"y\""), "{m}");
    assert!(m.contains("\"a#0\"") && m.contains("\"x\""), "{m}");
    assert!(
        !x.is_live(),
        "the live child was ended to repair the stream"
    );
    assert_eq!(
        a.stack(None, None),
        "a$a",
        "and the span that threw was ended too"
    );

    // R10: ending a span with a live child.
    let p = a.span("p".into()).unwrap();
    let q = p.span("q".into()).unwrap();
    let e = p.end().expect_err("R10 throws");
    assert_eq!(error_rule(&e), "R10");
    let m = error_message(&e);
    assert!(m.contains("\"p\"") && m.contains("\"q\""), "{m}");
    assert!(!q.is_live());

    // R6: ending a task with a live child task.
    let child = a.task("child".into()).unwrap();
    let e = a.end().expect_err("R6 throws");
    assert_eq!(error_rule(&e), "R6");
    assert!(
        error_message(&e).contains("\"child#0\""),
        "{}",
        error_message(&e)
    );
    child.end().unwrap();

    // R8: a span outside any task.
    let e = tracer
        .context()
        .span("lost".into())
        .err()
        .expect("R8 throws");
    assert_eq!(error_rule(&e), "R8");
    assert!(error_message(&e).contains("\"lost\""));

    // R4: '#' in a task name.
    let e = tracer.task("bad#name".into()).err().expect("R4 throws");
    assert_eq!(error_rule(&e), "R4");
    assert!(error_message(&e).contains("bad#name"));
    assert_eq!(tracer.live_tasks(), 0, "the task that threw was ended");

    tracer.flush();
    let trace = out.check_balanced();
    assert!(
        trace.slices.iter().any(|s| &*s.name == "bad_name"),
        "R4 repair: '#' became '_'"
    );
}

#[wasm_bindgen_test]
fn report_policy_calls_the_hook_and_goes_on() {
    let (hook, seen) = collecting_hook();
    let tracer = test_tracer(Policy::Report, Some(hook));
    let out = Capture::attach(&tracer);
    let a = tracer.task("a".into()).unwrap();
    let _x = a.span("x".into()).unwrap();
    let y = a
        .span("y".into())
        .expect("no throw under the report policy");
    assert!(y.is_live());
    a.end().expect("no throw"); // R10: y still open
    tracer.flush();
    let rules: Vec<String> = seen.borrow().iter().map(|(_, r)| r.clone()).collect();
    assert_eq!(rules, ["R9", "R10"]);
    assert!(seen.borrow()[0].0.contains("\"x\""));
    out.check_balanced();
}

#[wasm_bindgen_test]
fn callbacks_registered_after_a_span_began_miss_its_end() {
    let tracer = test_tracer(Policy::Throw, None);
    let ended: Rc<RefCell<Vec<String>>> = Rc::default();
    let begun: Rc<RefCell<Vec<String>>> = Rc::default();
    let a = tracer.task("a".into()).unwrap();
    let early = a.span("early".into()).unwrap();

    let e = ended.clone();
    let on_end = Closure::<dyn FnMut(JsValue)>::new(move |info: JsValue| {
        let stack: Function = Reflect::get(&info, &"stack".into())
            .unwrap()
            .unchecked_into();
        let s = stack
            .call1(&info, &JsValue::from(StackKind::Combined))
            .unwrap();
        let start = Reflect::get(&info, &"start".into())
            .unwrap()
            .as_f64()
            .unwrap();
        let end = Reflect::get(&info, &"end".into())
            .unwrap()
            .as_f64()
            .unwrap();
        assert!(end > start, "end {end} after start {start}");
        let name = Reflect::get(&info, &"name".into())
            .unwrap()
            .as_string()
            .unwrap();
        e.borrow_mut()
            .push(format!("{name} {}", s.as_string().unwrap()));
    });
    tracer
        .on_end(on_end.as_ref().clone().unchecked_into())
        .unwrap();
    let b = begun.clone();
    let on_begin = Closure::<dyn FnMut(JsValue)>::new(move |info: JsValue| {
        let stack: Function = Reflect::get(&info, &"stack".into())
            .unwrap()
            .unchecked_into();
        let end = Reflect::get(&info, &"end".into()).unwrap();
        assert!(end.is_undefined(), "no end in a begin callback");
        b.borrow_mut()
            .push(stack.call0(&info).unwrap().as_string().unwrap());
    });
    tracer
        .on_begin(on_begin.as_ref().clone().unchecked_into())
        .unwrap();

    let inner = early.span("inner".into()).unwrap();
    inner.end().unwrap();
    early.end().unwrap(); // began before onEnd: not reported (R14)
    let t = a.task("t".into()).unwrap();
    t.end().unwrap();
    a.end().unwrap(); // began before onEnd: not reported

    let (ia, ie, ii, it) = (
        a.id().unwrap(),
        early.id().unwrap(),
        inner.id().unwrap(),
        t.id().unwrap(),
    );
    assert_eq!(
        *ended.borrow(),
        [
            format!("inner ({ia} \"a\")$({ia} \"a\").({ie} \"early\").({ii} \"inner\")"),
            format!("t ({ia} \"a\")$({it} \"t\")$({it} \"t\")"),
        ]
    );
    assert_eq!(*begun.borrow(), ["a$a.early.inner", "a$t$t"]);
}

#[wasm_bindgen_test]
async fn run_task_ends_when_the_promise_resolves() {
    let tracer = test_tracer(Policy::Throw, None);
    let out = Capture::attach(&tracer);
    let root = tracer.task("root".into()).unwrap();
    let f = js_fn(
        "ctx",
        "return (async () => {
           const s = ctx.span('fetch');
           await new Promise((r) => setTimeout(r, 0));
           s.end();
           return await ctx.runSpan('render', async () => 42);
         })()",
    );
    let promise = root.run_task("load".into(), f.unchecked_ref()).unwrap();
    assert_eq!(
        tracer.live_tasks(),
        2,
        "the task is live while the promise is pending"
    );
    let value = settled(promise).await.expect("resolves");
    assert_eq!(value.as_f64(), Some(42.0));
    assert_eq!(
        tracer.live_tasks(),
        1,
        "the task ended when the promise resolved"
    );
    root.end().unwrap();
    tracer.flush();
    let trace = out.check_balanced();
    let names: Vec<&str> = trace.slices.iter().map(|s| &*s.name).collect();
    for n in ["root", "load", "fetch", "render"] {
        assert!(names.contains(&n), "{n} in {names:?}");
    }
}

#[wasm_bindgen_test]
async fn run_task_ends_when_the_promise_rejects_and_passes_the_error_on() {
    let (hook, seen) = collecting_hook();
    let tracer = test_tracer(Policy::Throw, Some(hook));
    let out = Capture::attach(&tracer);
    let f = js_fn(
        "ctx",
        "return (async () => {
           ctx.span('step');       // left open by the exception
           await null;
           throw new Error('boom');
         })()",
    );
    let promise = tracer
        .run_task("failing".into(), f.unchecked_ref())
        .unwrap();
    let err = settled(promise).await.expect_err("rejects");
    assert_eq!(error_message(&err), "boom", "the function's own error");
    assert_eq!(tracer.live_tasks(), 0);
    assert!(
        seen.borrow().is_empty(),
        "unwound spans are no violation: {:?}",
        seen.borrow()
    );

    // Thrown synchronously: the same.
    let f = js_fn("ctx", "ctx.span('s'); throw new TypeError('sync boom');");
    let err = tracer
        .run_task("sync".into(), f.unchecked_ref())
        .expect_err("throws");
    assert_eq!(error_message(&err), "sync boom");
    // A span run the same way.
    let t = tracer.task("t".into()).unwrap();
    let f = js_fn("ctx", "return Promise.reject(new Error('span boom'))");
    let err = settled(t.run_span("sp".into(), f.unchecked_ref()).unwrap())
        .await
        .expect_err("rejects");
    assert_eq!(error_message(&err), "span boom");
    assert!(t.is_live());
    t.end().expect("no live span is left");
    tracer.flush();
    assert_eq!(tracer.live_tasks(), 0);
    out.check_balanced();
}

#[wasm_bindgen_test]
async fn a_violation_when_a_resolved_task_ends_rejects_the_promise() {
    let tracer = test_tracer(Policy::Throw, None);
    let out = Capture::attach(&tracer);
    let f = js_fn(
        "ctx",
        "return (async () => { ctx.task('left-running'); return 1; })()",
    );
    let err = settled(tracer.run_task("parent".into(), f.unchecked_ref()).unwrap())
        .await
        .expect_err("R6 rejects");
    assert_eq!(error_rule(&err), "R6");
    assert!(error_message(&err).contains("\"left-running#0\""));
    tracer.flush();
    let mut closed = out.bytes.borrow().clone();
    closed.extend_from_slice(b"\n]\n");
    let trace = read_trace(&closed).expect("well-formed");
    let open: Vec<&str> = trace.open_slices.iter().map(|s| &*s.name).collect();
    assert_eq!(open, ["left-running"], "only the still-live child is open");
}

#[wasm_bindgen_test]
async fn events_cross_in_batches() {
    let tracer = test_tracer(Policy::Throw, None);
    let out = Capture::attach(&tracer);
    assert_eq!(out.calls.get(), 1, "header at once");
    let a = tracer.task("a".into()).unwrap();
    for _ in 0..200 {
        a.span("s".into()).unwrap().end().unwrap();
    }
    assert_eq!(
        out.calls.get(),
        1,
        "nothing crossed yet: the batch waits for a microtask"
    );
    next_microtask().await;
    assert_eq!(out.calls.get(), 2, "400 events in one call");
    // Each span begins and ends within the batch: one complete (X) line.
    assert_eq!(out.text().matches("\"name\":\"s\"}").count(), 200);
    assert_eq!(out.text().matches("\"ph\":\"X\"").count(), 200);

    // A full batch goes at once.
    let small = Tracer::with_settings(Settings {
        batch_limit: 200,
        ..Settings::default()
    });
    let out = Capture::attach(&small);
    let b = small.task("b".into()).unwrap();
    for _ in 0..10 {
        b.span("s".into()).unwrap().end().unwrap();
    }
    let calls = out.calls.get();
    assert!(
        calls >= 4,
        "batches of about 200 bytes crossed at once: {calls} calls"
    );
}

#[wasm_bindgen_test]
fn a_late_sink_gets_the_live_state_first() {
    let tracer = test_tracer(Policy::Throw, None);
    let a = tracer.task("a".into()).unwrap();
    let done = a.task("done".into()).unwrap();
    done.end().unwrap();
    let s = a.span("open span".into()).unwrap();
    let late = Capture::attach(&tracer);
    let text = late.text();
    assert!(
        text.starts_with("[\n{\"ph\":\"M\",\"pid\":1,\"name\":\"process_name\""),
        "{text}"
    );
    assert!(
        text.contains("\"thread_name\",\"args\":{\"name\":\"a#0\"}"),
        "{text}"
    );
    assert!(text.contains("\"name\":\"open span\""), "{text}");
    s.end().unwrap();
    a.end().unwrap();
    tracer.flush();
    late.check_balanced();
}

#[wasm_bindgen_test]
fn a_sink_that_throws_is_removed_and_others_go_on() {
    let tracer = test_tracer(Policy::Throw, None);
    let good = Capture::attach(&tracer);
    let calls = Rc::new(Cell::new(0));
    let c = calls.clone();
    let bad = Closure::<dyn FnMut(Uint8Array) -> Result<(), JsValue>>::new(move |_| {
        c.set(c.get() + 1);
        if c.get() > 1 {
            return Err(js_sys::Error::new("consumer gone").into());
        }
        Ok(())
    });
    tracer
        .add_sink(bad.as_ref().clone().unchecked_into())
        .unwrap();
    let a = tracer.task("a".into()).unwrap();
    tracer.flush();
    a.end().unwrap();
    tracer.flush();
    assert_eq!(
        calls.get(),
        2,
        "called with the header, then failed and was removed"
    );
    good.check_balanced();
}

#[wasm_bindgen_test]
fn the_performance_clock_lines_up_with_time_origin() {
    let performance = Reflect::get(&js_sys::global(), &"performance".into()).unwrap();
    let time_origin = Reflect::get(&performance, &"timeOrigin".into())
        .unwrap()
        .as_f64()
        .unwrap();
    let now: Function = Reflect::get(&performance, &"now".into())
        .unwrap()
        .unchecked_into();
    let read_now = || now.call0(&performance).unwrap().as_f64().unwrap();

    let tracer = Tracer::with_settings(Settings::default());
    assert!(
        (tracer.origin() - time_origin).abs() < 1e-3,
        "ts 0 is timeOrigin"
    );
    let out = Capture::attach(&tracer);
    let before = read_now();
    let a = tracer.task("a".into()).unwrap();
    let after = read_now();
    a.end().unwrap();
    tracer.flush();
    let text = out.text();
    let origin_us: f64 = text
        .split("\"origin_unix_us\":")
        .nth(1)
        .and_then(|rest| rest.split('}').next())
        .and_then(|n| n.parse().ok())
        .expect("origin_unix_us in the header");
    assert!((origin_us - time_origin * 1000.0).abs() <= 1.0, "{text}");
    let trace = out.check_balanced();
    let start_ms = trace.slices[0].start_us / 1000.0;
    assert!(
        before - 0.001 <= start_ms && start_ms <= after + 0.001,
        "task began at {start_ms} ms, between performance.now() {before} and {after}"
    );
}

#[wasm_bindgen_test]
fn contexts_outlive_their_handles() {
    // Dropping contexts (free() in JavaScript) releases their holds; the
    // tracer forgets ended tasks nothing holds, and live ones stay usable.
    let tracer = test_tracer(Policy::Throw, None);
    let out = Capture::attach(&tracer);
    let a = tracer.task("a".into()).unwrap();
    let span: Context = a.span("s".into()).unwrap();
    drop(a);
    assert!(span.is_live(), "the span keeps its task");
    assert_eq!(span.stack(None, None), "a$a.s");
    span.end().unwrap();
    drop(span);
    assert_eq!(tracer.live_tasks(), 1, "a is live: nobody ended it");
    tracer.flush();
    assert!(out.text().contains("\"name\":\"s\""));

    // Ended tasks are forgotten once their last context is gone.
    let b = tracer.task("b".into()).unwrap();
    let c = b.task("c".into()).unwrap();
    let outer = c.span("outer".into()).unwrap();
    let inner = outer.span("inner".into()).unwrap();
    inner.end().unwrap();
    outer.end().unwrap();
    let spans = [outer, inner];
    let c_copy = c.clone();
    c.end().unwrap();
    b.end().unwrap();
    drop(b);
    drop(c);
    assert_eq!(tracer.kept_tasks(), 3, "a (live), b (c's parent), c (held)");
    drop(spans);
    assert_eq!(tracer.kept_tasks(), 3, "c_copy still holds c");
    drop(c_copy);
    assert_eq!(tracer.kept_tasks(), 1, "only the live task a is kept");
}

#[wasm_bindgen_test]
fn bad_arguments_are_type_errors_that_say_what_is_wrong() {
    let options = |json: &str| -> Option<actrace_wasm::api::TracerOptions> {
        Some(js_sys::JSON::parse(json).unwrap().unchecked_into())
    };
    for (json, wanted) in [
        (
            r#"{"policy":"panic"}"#,
            r#"actrace: option "policy" must be "throw" or "report""#,
        ),
        (
            r#"{"idBytes":9}"#,
            r#"actrace: option "idBytes" must be a whole number from 1 to 8"#,
        ),
        (
            r#"{"processName":3}"#,
            r#"actrace: option "processName" must be a string"#,
        ),
        (
            r#"{"batchBytes":0}"#,
            r#"actrace: option "batchBytes" must be a positive number"#,
        ),
    ] {
        let e = Tracer::new(options(json)).err().expect(json);
        assert!(e.is_instance_of::<js_sys::TypeError>(), "{json}");
        assert_eq!(error_message(&e), wanted);
    }
    let tracer = Tracer::new(options(
        r#"{"processName":"ok","policy":"report","idBytes":2,"seed":5}"#,
    ))
    .expect("valid options");
    assert_eq!(tracer.process_name(), "ok");
    assert_eq!(
        tracer.task("t".into()).unwrap().id().unwrap().len(),
        3,
        "2 bytes: 3 base64 digits"
    );

    let not_a_function: JsValue = 42.into();
    let e = tracer
        .run_task("t".into(), not_a_function.unchecked_ref())
        .expect_err("not a function");
    assert_eq!(
        error_message(&e),
        "actrace: runTask(name, fn) needs a function as fn, got number"
    );
    assert_eq!(tracer.live_tasks(), 1, "no task was started for it");
    let e = tracer
        .add_sink(JsValue::from("sink").unchecked_into())
        .expect_err("not a function");
    assert_eq!(
        error_message(&e),
        "actrace: addSink needs a function, got string"
    );
}
