//! One tracer's state and the Rust side of every operation: run it against
//! the core, encode its events into the pending batch, then — with the state
//! released, because JavaScript may call back in — flush, call the R14
//! callbacks and apply the violation policy (R11).

use std::cell::RefCell;
use std::rc::{Rc, Weak};

use actrace_core::{
    BatchScratch, Encoder, Event, EventSink, Frame, IdBytes, Name, Node, NodeId, StackKind,
    Timestamp, Tracer as Core, Violation,
};
use js_sys::{Function, Uint8Array};
use wasm_bindgen::prelude::*;

use crate::clock::Clock;
use crate::js;

/// What a violation (R4, R6, R8–R10) does to the JavaScript caller. Either way
/// the stream was repaired first and stays well-formed (R11).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Policy {
    /// Report to the `onViolation` hook, if any, then throw an `Error` whose
    /// message names the nodes involved (the default, like native's panic).
    Throw,
    /// Report to the `onViolation` hook, or else `console.warn`, and go on.
    Report,
}

/// How a tracer is set up; the JavaScript constructor fills it from its
/// options object, Rust tests fill it directly.
pub struct Settings {
    /// The trace's process name (the first metadata event).
    pub process_name: String,
    /// The seed of the node ids (R12).
    pub seed: u64,
    /// Random bytes per id (R12).
    pub id_bytes: IdBytes,
    /// What violations do to the caller.
    pub policy: Policy,
    /// Called with `(message, rule)` for every violation.
    pub on_violation: Option<Function>,
    /// A batch this large (in bytes) is handed to the sinks at once rather
    /// than on the next microtask.
    pub batch_limit: usize,
    /// The clock; `None` for `performance.timeOrigin + performance.now()`.
    pub clock: Option<Box<dyn FnMut() -> Timestamp>>,
    /// The time of `ts` 0; `None` for `performance.timeOrigin`.
    pub origin: Option<Timestamp>,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            process_name: "browser".into(),
            seed: 0,
            id_bytes: IdBytes::default(),
            policy: Policy::Throw,
            on_violation: None,
            batch_limit: 64 * 1024,
            clock: None,
            origin: None,
        }
    }
}

pub(crate) type Shared = Rc<RefCell<State>>;

/// Collects events until the next hand-over to the sinks, or drops them while
/// no sink is attached. A hand-over encodes them with the core's batch
/// encoder, as the native writer does: slices that begin and end within it
/// become single complete (X) lines.
struct Batch {
    encoder: Encoder,
    events: Vec<Event>,
    scratch: BatchScratch,
    on: bool,
}

/// Encoded bytes per event, to turn the byte limit of a batch into events.
const BYTES_PER_EVENT: usize = 64;

impl Batch {
    /// Encodes the collected events and empties the batch.
    fn take_bytes(&mut self) -> Vec<u8> {
        let mut bytes = Vec::with_capacity(self.events.len() * BYTES_PER_EVENT);
        self.encoder
            .batch(&self.events, &mut bytes, &mut self.scratch);
        self.events.clear();
        bytes
    }
}

impl EventSink for Batch {
    fn event(&mut self, event: Event) {
        if self.on {
            self.events.push(event);
        }
    }

    fn wants_events(&self) -> bool {
        self.on
    }
}

/// Registered callbacks, numbered in one sequence (R14): a node remembers
/// how many were registered when it began, and only end callbacks with a
/// lower number are told of its end.
#[derive(Default)]
struct Callbacks {
    count: u32,
    begin: Vec<(u32, Function)>,
    end: Vec<(u32, Function)>,
}

pub(crate) struct State {
    core: Core,
    batch: Batch,
    clock: Clock,
    process_name: String,
    batch_limit: usize,
    flush_queued: bool,
    /// Lets a queued flush find the state, if it still exists then.
    this: Weak<RefCell<State>>,
    sinks: Vec<(u32, Function)>,
    next_sink: u32,
    callbacks: Callbacks,
    policy: Policy,
    on_violation: Option<Function>,
    /// How many contexts hold each task, by task index; together they hold
    /// the task once in the core.
    contexts: Vec<u32>,
}

/// Where a context points, with what callbacks and JavaScript need to know
/// about its node even after the node ended.
#[derive(Clone, Debug)]
pub(crate) struct Place {
    /// `None`: outside any task (R1, R8).
    pub(crate) node: Option<Node>,
    pub(crate) id: Option<NodeId>,
    pub(crate) name: Option<Name>,
    task_start: Timestamp,
    task_seen: u32,
}

impl Place {
    pub(crate) const OUTSIDE: Place = Place {
        node: None,
        id: None,
        name: None,
        task_start: Timestamp::from_nanos(0),
        task_seen: 0,
    };
}

/// What a begin or end callback is told about a node.
#[derive(Clone, Debug)]
pub(crate) struct Info {
    chain: Rc<[(NodeId, Name)]>,
    /// The spans from the task's outermost one down to the node; empty for
    /// the task itself.
    spans: Vec<(NodeId, Name)>,
    pub(crate) start: Timestamp,
    pub(crate) end: Option<Timestamp>,
}

impl Info {
    fn span(chain: &Rc<[(NodeId, Name)]>, frames: &[Frame], end: Option<Timestamp>) -> Self {
        Info {
            chain: chain.clone(),
            spans: frames.iter().map(|f| (f.id(), f.name.clone())).collect(),
            start: frames.last().map_or(Timestamp::default(), |f| f.start),
            end,
        }
    }

    pub(crate) fn is_task(&self) -> bool {
        self.spans.is_empty()
    }

    pub(crate) fn name(&self) -> &str {
        match (self.spans.last(), self.chain.last()) {
            (Some((_, name)), _) | (None, Some((_, name))) => name,
            (None, None) => "",
        }
    }

    pub(crate) fn stack(&self, kind: StackKind) -> String {
        let mut out = String::new();
        actrace_core::write_stack(
            &mut out,
            self.chain.iter().map(|(id, n)| (*id, n)),
            self.spans.iter().map(|(id, n)| (*id, n)),
            kind,
        );
        out
    }
}

/// The callbacks and violations an operation produced, handled once the
/// state is released.
#[derive(Default)]
struct Aftermath {
    began: Option<Info>,
    ended: Vec<(Info, u32)>,
    violations: Vec<Violation>,
}

/// A violation as JavaScript sees it: an `Error` with a `rule` property.
fn violation_error(violations: &[Violation]) -> JsValue {
    let message: Vec<String> = violations.iter().map(|v| v.to_string()).collect();
    let error = js_sys::Error::new(&message.join("; "));
    let _ = js_sys::Reflect::set(&error, &"rule".into(), &violations[0].rule().into());
    error.into()
}

impl State {
    pub(crate) fn new(settings: Settings) -> Shared {
        let origin = settings
            .origin
            .unwrap_or_else(crate::clock::performance_origin);
        let clock = match settings.clock {
            Some(read) => Clock::custom(read),
            None => Clock::performance(),
        };
        let shared = Rc::new(RefCell::new(State {
            core: Core::new(settings.seed, settings.id_bytes),
            batch: Batch {
                encoder: Encoder::new(origin),
                events: Vec::new(),
                scratch: BatchScratch::default(),
                on: false,
            },
            clock,
            process_name: settings.process_name,
            batch_limit: settings.batch_limit.max(1),
            flush_queued: false,
            this: Weak::new(),
            sinks: Vec::new(),
            next_sink: 1,
            callbacks: Callbacks::default(),
            policy: settings.policy,
            on_violation: settings.on_violation,
            contexts: Vec::new(),
        }));
        shared.borrow_mut().this = Rc::downgrade(&shared);
        shared
    }

    pub(crate) fn origin(&self) -> Timestamp {
        self.batch.encoder.origin()
    }

    pub(crate) fn process_name(&self) -> &str {
        &self.process_name
    }

    pub(crate) fn live_tasks(&self) -> usize {
        self.core.tree().live_count()
    }

    pub(crate) fn kept_tasks(&self) -> usize {
        self.core.tree().held_count()
    }

    fn chain(&self, node: Node) -> Rc<[(NodeId, Name)]> {
        self.core.tree().chain(node.task).into()
    }

    pub(crate) fn is_live(&self, place: &Place) -> bool {
        place.node.is_some_and(|n| self.core.is_live(n))
    }

    /// The span-stack string of a context (R13); `default` outside any task.
    pub(crate) fn stack_string(&self, place: &Place, kind: StackKind, default: String) -> String {
        match place.node {
            Some(node) => self.core.stack_string(node, kind),
            None => default,
        }
    }

    /// One more context holds the context's task (a copy of it, or a span
    /// in the task).
    pub(crate) fn retain(&mut self, place: &Place) {
        if let Some(node) = place.node {
            self.contexts[node.task.index()] += 1;
        }
    }

    /// A context of the task is gone. The core is told only when the last
    /// one goes: its release looks at every task, too slow to do for every
    /// span context the garbage collector frees.
    pub(crate) fn release(&mut self, place: &Place) {
        if let Some(node) = place.node {
            let count = &mut self.contexts[node.task.index()];
            *count -= 1;
            if *count == 0 {
                self.core.release(node.task);
            }
        }
    }

    pub(crate) fn register(&mut self, on_begin: bool, f: Function) {
        let n = self.callbacks.count;
        self.callbacks.count += 1;
        let list = if on_begin {
            &mut self.callbacks.begin
        } else {
            &mut self.callbacks.end
        };
        list.push((n, f));
    }

    /// The stream header and what a consumer attaching now needs to draw the
    /// live state (C4, C6).
    pub(crate) fn snapshot(&self) -> Vec<u8> {
        let mut bytes = Vec::new();
        let mut events: Vec<Event> = Vec::new();
        self.batch.encoder.open(&self.process_name, &mut bytes);
        self.core.snapshot(&mut events);
        for event in &events {
            self.batch.encoder.event(event, &mut bytes);
        }
        bytes
    }
}

/// Starts a task from `from`: a root task outside any task (R1–R5).
pub(crate) fn start_task(shared: &Shared, from: &Place, name: String) -> Result<Place, JsValue> {
    let (place, after) = {
        let st = &mut *shared.borrow_mut();
        let ts = st.clock.now();
        let seen = st.callbacks.count;
        let (node, violation) = st.core.start_task(from.node, name, ts, &mut st.batch);
        // The core holds the new task once, for its first context.
        let index = node.task.index();
        if st.contexts.len() <= index {
            st.contexts.resize(index + 1, 0);
        }
        st.contexts[index] = 1;
        let (id, _, _) = st.core.tree().describe(node.task);
        let chain = st.chain(node);
        let base = chain.last().map(|(_, n)| n.clone());
        let after = Aftermath {
            began: (seen > 0).then(|| Info {
                chain,
                spans: Vec::new(),
                start: ts,
                end: None,
            }),
            ended: Vec::new(),
            violations: violation.into_iter().collect(),
        };
        let place = Place {
            node: Some(node),
            id: Some(id),
            name: base,
            task_start: ts,
            task_seen: seen,
        };
        (place, after)
    };
    started(shared, place, after)
}

/// Starts a span from `from` (R8–R10). Outside any task nothing is recorded
/// and the new context is outside any task too.
pub(crate) fn start_span(shared: &Shared, from: &Place, name: String) -> Result<Place, JsValue> {
    let (place, after) = {
        let st = &mut *shared.borrow_mut();
        let ts = st.clock.now();
        let seen = st.callbacks.count;
        let chain = from.node.filter(|_| seen > 0).map(|n| st.chain(n));
        let mut ended = Vec::new();
        let (node, violations) = st.core.start_span(
            from.node,
            name,
            ts,
            seen,
            &mut st.batch,
            &mut |frames: &[Frame]| {
                if let Some(chain) = &chain {
                    let seen = frames.last().map_or(0, |f| f.callbacks_seen);
                    ended.push((Info::span(chain, frames, Some(ts)), seen));
                }
            },
        );
        let mut place = Place::OUTSIDE;
        let mut began = None;
        if let Some(node) = node {
            st.contexts[node.task.index()] += 1;
            let frames = st.core.stack(node.task).path(node.position);
            let top = frames.last().expect("a new span is open");
            place = Place {
                node: Some(node),
                id: Some(top.id()),
                name: Some(top.name.clone()),
                task_start: from.task_start,
                task_seen: from.task_seen,
            };
            began = chain.as_ref().map(|chain| Info::span(chain, frames, None));
        }
        let after = Aftermath {
            began,
            ended,
            violations,
        };
        (place, after)
    };
    started(shared, place, after)
}

/// Finishes a start. If it throws (a violation under the throw policy), the
/// caller gets no context, so the new node is ended at once and released:
/// the trace stays balanced and nothing is left live that nobody can end.
fn started(shared: &Shared, place: Place, after: Aftermath) -> Result<Place, JsValue> {
    match finish(shared, after, true) {
        Ok(()) => Ok(place),
        Err(error) => {
            let _ = end(shared, &place, Ending::Unwinding);
            shared.borrow_mut().release(&place);
            Err(error)
        }
    }
}

/// Why a node ends.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Ending {
    /// `end()`, or the function run in the node returned or resolved:
    /// violations follow the policy.
    Normal,
    /// The function run in the node threw or rejected. Spans it left open
    /// are closed as the exception unwinds them, without an R10 report;
    /// other violations are reported but never thrown, so the exception
    /// passes through unchanged.
    Unwinding,
}

/// Ends a task or span (R6, R7, R10).
pub(crate) fn end(shared: &Shared, place: &Place, why: Ending) -> Result<(), JsValue> {
    let Some(node) = place.node else {
        return Ok(());
    };
    let after = {
        let st = &mut *shared.borrow_mut();
        if !st.core.is_live(node) {
            return Ok(()); // R7
        }
        let ts = st.clock.now();
        let chain = (st.callbacks.count > 0).then(|| st.chain(node));
        let mut ended = Vec::new();
        let mut violations = st
            .core
            .end(node, ts, &mut st.batch, &mut |frames: &[Frame]| {
                if let Some(chain) = &chain {
                    let seen = frames.last().map_or(0, |f| f.callbacks_seen);
                    ended.push((Info::span(chain, frames, Some(ts)), seen));
                }
            });
        if why == Ending::Unwinding {
            violations.retain(|v| !matches!(v, Violation::EndedWithLiveChildSpan { .. }));
        }
        if let (Some(chain), 0) = (&chain, node.position.depth()) {
            let task = Info {
                chain: chain.clone(),
                spans: Vec::new(),
                start: place.task_start,
                end: Some(ts),
            };
            ended.push((task, place.task_seen));
        }
        Aftermath {
            began: None,
            ended,
            violations,
        }
    };
    finish(shared, after, why == Ending::Normal)
}

/// After an operation: queue or do the flush, call the callbacks, then apply
/// the violation policy.
fn finish(shared: &Shared, after: Aftermath, throw: bool) -> Result<(), JsValue> {
    queue_flush(shared);
    if after.began.is_some() || !after.ended.is_empty() {
        let (begin, end) = {
            let st = shared.borrow();
            (st.callbacks.begin.clone(), st.callbacks.end.clone())
        };
        if let Some(info) = after.began {
            for (_, f) in &begin {
                call_back(f, &info);
            }
        }
        for (info, seen) in &after.ended {
            for (_, f) in end.iter().filter(|(n, _)| n < seen) {
                call_back(f, info);
            }
        }
    }
    if after.violations.is_empty() {
        return Ok(());
    }
    let (policy, hook) = {
        let st = shared.borrow();
        (st.policy, st.on_violation.clone())
    };
    let throw = throw && policy == Policy::Throw;
    for v in &after.violations {
        let message = v.to_string();
        if let Some(hook) = &hook {
            let reported = hook.call2(&JsValue::NULL, &message.as_str().into(), &v.rule().into());
            if reported.is_err() {
                js::console_warn("actrace: the onViolation hook threw");
            }
        } else if !throw {
            js::console_warn(&message);
        }
    }
    if throw {
        return Err(violation_error(&after.violations));
    }
    Ok(())
}

fn call_back(f: &Function, info: &Info) {
    let arg: JsValue = crate::api::NodeInfo::from(info.clone()).into();
    if f.call1(&JsValue::NULL, &arg).is_err() {
        js::console_warn("actrace: a begin/end callback threw; the trace goes on");
    }
}

/// Hands the batch to the sinks now if it is full, else on a microtask.
fn queue_flush(shared: &Shared) {
    let mut st = shared.borrow_mut();
    if st.batch.events.is_empty() {
        return;
    }
    if st.batch.events.len() * BYTES_PER_EVENT >= st.batch_limit {
        drop(st);
        flush(shared);
        return;
    }
    if !st.flush_queued {
        st.flush_queued = true;
        let this = st.this.clone();
        // A closure that frees itself once called; the microtask always runs.
        let flusher = Closure::once_into_js(move || {
            if let Some(shared) = this.upgrade() {
                flush(&shared);
            }
        });
        js::queue_microtask(flusher.unchecked_ref());
    }
}

/// Hands the pending batch to every sink: one `Uint8Array` of whole lines,
/// the same object for all of them. A sink that throws is removed (K3).
pub(crate) fn flush(shared: &Shared) {
    let (bytes, sinks) = {
        let mut st = shared.borrow_mut();
        st.flush_queued = false;
        if st.batch.events.is_empty() {
            return;
        }
        let bytes = Uint8Array::from(st.batch.take_bytes().as_slice());
        (bytes, st.sinks.clone())
    };
    for (id, sink) in sinks {
        if let Err(e) = sink.call1(&JsValue::NULL, &bytes) {
            remove_sink(shared, id);
            js::console_warn(&format!(
                "actrace: sink {id} threw and was removed: {}",
                js_sys::Error::from(e).message()
            ));
        }
    }
}

/// Attaches a sink: it gets the stream header and the live state at once
/// (C4, C6), then every later batch.
pub(crate) fn add_sink(shared: &Shared, sink: Function) -> Result<u32, JsValue> {
    flush(shared);
    let first = Uint8Array::from(shared.borrow().snapshot().as_slice());
    sink.call1(&JsValue::NULL, &first)?;
    let mut st = shared.borrow_mut();
    let id = st.next_sink;
    st.next_sink += 1;
    st.sinks.push((id, sink));
    st.batch.on = true;
    Ok(id)
}

/// Detaches a sink after handing it what is pending; false if it was not
/// attached.
pub(crate) fn remove_sink(shared: &Shared, id: u32) -> bool {
    let attached = shared.borrow().sinks.iter().any(|(i, _)| *i == id);
    if !attached {
        return false;
    }
    flush(shared);
    let mut st = shared.borrow_mut();
    st.sinks.retain(|(i, _)| *i != id);
    st.batch.on = !st.sinks.is_empty();
    true
}
