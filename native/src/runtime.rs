//! The process-wide tracer: the task tree behind one lock (taken only to start
//! and end tasks), the recording switch, and the writer thread.

use std::panic::Location;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, Once, OnceLock, Weak};

use actrace_core::{
    Encoder, Event, EventSink, Frame, IdBytes, Name, NodeDesc, Position, SpanStack, TaskKey,
    TaskTree, Timestamp, Violation,
};

use crate::callbacks::{Callbacks, NodeInfo};
use crate::clock::Clock;
use crate::node::{TaskNode, TaskState};
use crate::pipeline::{Item, Pipeline, Writer, BATCH};
use crate::spin_lock::SpinGuard;
use crate::{violations, Consumer, FileConsumer};

static RUNTIME: OnceLock<Runtime> = OnceLock::new();

pub(crate) struct Runtime {
    registry: Mutex<Registry>,
    pub(crate) clock: Clock,
    /// True once a consumer was attached: from then on every operation emits
    /// events. Read under a task's lock; switched on with every task locked.
    recording: AtomicBool,
    pipeline: Pipeline,
    writer_started: Once,
    env_consumers: Once,
    pub(crate) callbacks: Callbacks,
    pub(crate) debug: bool,
    process_name: String,
}

struct Registry {
    tree: TaskTree,
    /// The adapter's node for each task the tree holds, by slab index.
    nodes: Vec<Weak<TaskNode>>,
}

/// Adds events to a task's buffer only while recording.
struct Sink<'a> {
    buf: &'a mut Vec<Event>,
    on: bool,
}

impl EventSink for Sink<'_> {
    #[inline]
    fn event(&mut self, event: Event) {
        if self.on {
            self.buf.push(event);
        }
    }

    #[inline]
    fn wants_events(&self) -> bool {
        self.on
    }
}

/// Takes the events that end a task. A task whose buffer is empty and that
/// has no open span ends with one event: it is kept here and handed over on
/// its own, so such a task never allocates a buffer.
struct EndSink<'a> {
    buf: &'a mut Vec<Event>,
    only: Option<Event>,
    on: bool,
}

impl EventSink for EndSink<'_> {
    fn event(&mut self, event: Event) {
        if !self.on {
            return;
        }
        if self.buf.is_empty() && self.only.is_none() {
            self.only = Some(event);
            return;
        }
        self.buf.extend(self.only.take());
        self.buf.push(event);
    }

    fn wants_events(&self) -> bool {
        self.on
    }
}

impl Runtime {
    /// The runtime, if anything was traced yet.
    #[inline]
    pub(crate) fn get() -> Option<&'static Runtime> {
        RUNTIME.get()
    }

    /// The runtime, set up from the environment on first use (K1).
    pub(crate) fn global() -> &'static Runtime {
        let rt = RUNTIME.get_or_init(Runtime::from_env);
        rt.env_consumers.call_once(|| rt.attach_env_consumers());
        rt
    }

    fn from_env() -> Runtime {
        let id_bytes = match std::env::var("ACTRACE_ID_BYTES") {
            Ok(text) => IdBytes::parse(&text).unwrap_or_else(|e| {
                eprintln!("actrace: ACTRACE_ID_BYTES={text:?}: {e}; using the default of 3 bytes");
                IdBytes::default()
            }),
            Err(_) => IdBytes::default(),
        };
        let debug = std::env::var("ACTRACE_DEBUG").is_ok_and(|v| !v.is_empty() && v != "0");
        let clock = Clock::new();
        let process_name = std::env::args()
            .next()
            .and_then(|a| {
                std::path::Path::new(&a)
                    .file_name()
                    .map(|f| f.to_string_lossy().into_owned())
            })
            .unwrap_or_else(|| "actrace".into());
        Runtime {
            registry: Mutex::new(Registry {
                tree: TaskTree::new(random_seed(), id_bytes),
                nodes: Vec::new(),
            }),
            clock,
            recording: AtomicBool::new(false),
            pipeline: Pipeline::default(),
            writer_started: Once::new(),
            env_consumers: Once::new(),
            callbacks: Callbacks::default(),
            debug,
            process_name,
        }
    }

    fn attach_env_consumers(&'static self) {
        if let Some(path) = std::env::var_os("ACTRACE_FILE").filter(|p| !p.is_empty()) {
            match FileConsumer::create(&path) {
                Ok(file) => self.attach(Box::new(file)),
                Err(e) => eprintln!(
                    "actrace: cannot write the trace to ACTRACE_FILE={}: {e}; the program runs on without it",
                    path.to_string_lossy()
                ),
            }
        }
        if let Some(addr) = std::env::var_os("ACTRACE_LISTEN").filter(|a| !a.is_empty()) {
            crate::server::serve_from_env(self, &addr.to_string_lossy());
        }
    }

    fn registry(&self) -> MutexGuard<'_, Registry> {
        self.registry.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn recording(&self) -> bool {
        self.recording.load(Ordering::Relaxed)
    }

    /// Starts a task from the context `from` (R1–R5, C3).
    ///
    /// The global lock covers only the tree and the node's registration; the
    /// flow arrow and the task's begin events are written after it, under the
    /// parent's and the new task's own locks.
    pub(crate) fn start_task(
        &'static self,
        from: Option<&Arc<TaskNode>>,
        name: Name,
        site: &'static Location<'static>,
    ) -> Arc<TaskNode> {
        let callbacks_seen = self.callbacks.count();
        // A released node has ended and has no holder left to start from,
        // so this only guards against misuse.
        let from = from.filter(|n| !n.released.load(Ordering::Relaxed));
        let mut reg = self.registry();
        let started = reg.tree.start(from.map(|n| n.key), name);
        let recording = self.recording();
        // The parent is `from` or, if that ended, the nearest live task among
        // the ancestors it holds (R3): the tree's parents are the nodes'.
        let parent = started.parent.and_then(|(key, _, _)| {
            from.and_then(|n| {
                std::iter::successors(Some(n), |a| a.parent.as_ref())
                    .find(|a| a.key == key)
                    .cloned()
            })
        });
        debug_assert_eq!(parent.is_some(), started.parent.is_some());
        // Until recording, a late joiner's snapshot reads the start from the
        // node (C6), so it is known before the node is registered.
        let early = (!recording).then(|| self.clock.now());
        let stack = SpanStack::new(
            started.lane,
            NodeDesc {
                id: started.id,
                name: Name::from(started.unique.clone()),
            },
            started.span_ids.clone(),
        );
        let node = Arc::new(TaskNode::new(
            &started,
            parent,
            early.unwrap_or(Timestamp::from_nanos(0)),
            self.debug.then_some(site),
            callbacks_seen,
            stack,
        ));
        let key = started.key;
        if reg.nodes.len() <= key.index() {
            reg.nodes.resize_with(key.index() + 1, Weak::new);
        }
        reg.nodes[key.index()] = Arc::downgrade(&node);
        drop(reg);
        let mut over = false;
        let ts = match (early, &node.parent) {
            (Some(ts), _) => ts,
            (None, Some(parent)) => {
                // The arrow starts on the parent's lane, in order with its
                // other events: the time is read under the parent's lock so it
                // cannot precede an event the parent's thread just wrote. The
                // child's begin events follow it in the parent's batch, so the
                // arrow's start always reaches the writer first.
                let mut ps = parent.lock();
                let ts = self.clock.now();
                node.set_start(ts);
                if let (false, Some(flow)) = (ps.stack.task_ended(), started.flow_start(ts)) {
                    // The child's begin events go with the arrow: handed over
                    // now anyway, and the child needs no buffer until it
                    // records a span.
                    ps.buf.push(flow);
                    started.begin_events(ts, true, &mut ps.buf);
                    over = self.pipeline.push_batch(&mut ps.buf);
                } else {
                    drop(ps);
                    started.begin_events(ts, false, &mut node.lock().buf);
                }
                ts
            }
            (None, None) => {
                let ts = self.clock.now();
                node.set_start(ts);
                started.begin_events(ts, false, &mut node.lock().buf);
                ts
            }
        };
        if over {
            self.pipeline.wait_for_space();
        }
        if let Some(v) = started.violation {
            violations::handle(vec![v], || self.sites(&node, &[]));
        }
        if callbacks_seen > 0 {
            self.callbacks.began(&NodeInfo::task(&node, ts, None));
        }
        node
    }

    /// Ends a task: its open spans first (R10), then the task (R6, R7).
    pub(crate) fn end_task(&self, node: &Arc<TaskNode>) {
        let mut guard = node.lock();
        let st = &mut *guard;
        if st.stack.task_ended() {
            return;
        }
        let ts = self.clock.now();
        let recording = self.recording();
        let cb = self.callbacks.count() > 0;
        let sites_before = self.debug.then(|| self.sites_of(node, st));
        let mut closed = Vec::new();
        let mut sink = EndSink {
            buf: &mut st.buf,
            only: None,
            on: recording,
        };
        let v1 = st.stack.end_task(ts, &mut sink, &mut |frames: &[Frame]| {
            if cb {
                closed.push(NodeInfo::ended_span(node, frames, ts));
            }
        });
        let over = match sink.only.take() {
            Some(end) => self.pipeline.push_event(end),
            None => recording && self.pipeline.push_batch(&mut st.buf),
        };
        // Nothing is recorded in an ended task: its buffer is not needed
        // while children keep the node.
        st.buf = Vec::new();
        st.span_sites.clear();
        drop(guard);
        let ended = {
            let mut reg = self.registry();
            let ended = reg.tree.end(node.key);
            // The caller's handle is the last one, and no other can be made
            // without this lock (nodes are found through the registry, or
            // through a child, which would hold one): give the tree's hold
            // back now rather than in a second lock when the handle drops.
            // `released` is only set under this lock: no atomic swap needed.
            if Arc::strong_count(node) == 1 && !node.released.load(Ordering::Relaxed) {
                node.released.store(true, Ordering::Relaxed);
                reg.tree.release(node.key);
                if let Some(slot) = reg.nodes.get_mut(node.key.index()) {
                    *slot = Weak::new();
                }
            }
            ended
        };
        if over {
            self.pipeline.wait_for_space();
        }
        if v1.is_some() || ended.violation.is_some() {
            let all: Vec<Violation> = v1.into_iter().chain(ended.violation).collect();
            violations::handle(all, || sites_before.unwrap_or_default());
        }
        for (info, seen) in closed {
            self.callbacks.ended(&info, seen);
        }
        if cb {
            self.callbacks.ended(
                &NodeInfo::task(node, node.start(), Some(ts)),
                node.callbacks_seen,
            );
        }
    }

    /// Starts a span in `node`'s task as the child of `from` (R8–R10). The
    /// hot path: one lock of this task only, no allocation for a static name,
    /// and no clock read while nothing records.
    #[inline]
    pub(crate) fn begin_span(
        &self,
        node: &Arc<TaskNode>,
        from: Position,
        name: Name,
        site: &'static Location<'static>,
    ) -> Option<Position> {
        let mut guard = node.lock();
        if self.callbacks.count() != 0 || self.debug {
            return self.begin_span_general(node, guard, from, name, site);
        }
        let st = &mut *guard;
        let recording = self.recording();
        let ts = self.span_time(recording);
        let mut sink = Sink {
            buf: &mut st.buf,
            on: recording,
        };
        match st.stack.begin_top(from, name, ts, 0, &mut sink) {
            Ok(span) => {
                if recording && st.buf.len() >= BATCH {
                    self.hand_over(guard);
                }
                Some(span)
            }
            Err(name) => self.begin_span_general(node, guard, from, name, site),
        }
    }

    /// Hands a task's full buffer to the writer, then waits (holding no lock)
    /// if the writer is too far behind.
    #[cold]
    fn hand_over(&self, mut guard: SpinGuard<'_, TaskState>) {
        let over = self.pipeline.push_batch(&mut guard.buf);
        drop(guard);
        if over {
            self.pipeline.wait_for_space();
        }
    }

    /// `begin_span` in every case: callbacks, debug sites, repairs (R9).
    #[cold]
    fn begin_span_general(
        &self,
        node: &Arc<TaskNode>,
        mut guard: SpinGuard<'_, TaskState>,
        from: Position,
        name: Name,
        site: &'static Location<'static>,
    ) -> Option<Position> {
        let st = &mut *guard;
        let recording = self.recording();
        let callbacks_seen = self.callbacks.count();
        let cb = callbacks_seen > 0;
        // Without a consumer or a callback nobody needs the time: skip the clock.
        let ts = self.span_time(recording || cb);
        // In debug mode, where the live nodes a violation names were created:
        // the spans it closes (R9) are gone once `begin` returns.
        let sites_before = (self.debug
            && (!st.stack.is_live(from) || st.stack.frames().len() > from.depth()))
        .then(|| self.sites_of(node, st));
        let mut closed = Vec::new();
        let begun = st.stack.begin(
            from,
            name,
            ts,
            callbacks_seen,
            &mut Sink {
                buf: &mut st.buf,
                on: recording,
            },
            &mut |frames: &[Frame]| {
                if cb {
                    closed.push(NodeInfo::ended_span(node, frames, ts));
                }
            },
        );
        if self.debug {
            st.span_sites.truncate(
                st.stack
                    .frames()
                    .len()
                    .saturating_sub(begun.span.is_some() as usize),
            );
            if begun.span.is_some() {
                st.span_sites.push(site);
            }
        }
        let over = recording && self.hand_over_if_full(&mut st.buf);
        let began =
            (cb && begun.span.is_some()).then(|| NodeInfo::span(node, st.stack.frames(), None));
        drop(guard);
        if over {
            self.pipeline.wait_for_space();
        }
        if !begun.violations.is_empty() {
            violations::handle(begun.violations, || {
                sites_before.map_or_else(String::new, |s| format!("{s}\n    new span: {site}"))
            });
        }
        if cb {
            for (info, seen) in closed {
                self.callbacks.ended(&info, seen);
            }
        }
        if let Some(info) = began {
            self.callbacks.began(&info);
        }
        begun.span
    }

    /// The time of a span operation, if anybody needs it; spans begun while
    /// nobody did carry 0 (see `attach`).
    #[inline]
    fn span_time(&self, needed: bool) -> Timestamp {
        if needed {
            self.clock.now()
        } else {
            Timestamp::from_nanos(0)
        }
    }

    /// Hands a task's buffer to the writer once a batch is full; true if the
    /// caller must wait for space after releasing its lock.
    #[inline]
    fn hand_over_if_full(&self, buf: &mut Vec<Event>) -> bool {
        buf.len() >= BATCH && self.pipeline.push_batch(buf)
    }

    /// Ends a span (R7, R10); the hot path is as in `begin_span`.
    #[inline]
    pub(crate) fn end_span(&self, node: &Arc<TaskNode>, span: Position) {
        let mut guard = node.lock();
        if self.callbacks.count() != 0 || self.debug {
            return self.end_span_general(node, guard, span);
        }
        let st = &mut *guard;
        let recording = self.recording();
        let ts = self.span_time(recording);
        let mut sink = Sink {
            buf: &mut st.buf,
            on: recording,
        };
        if !st.stack.end_top(span, ts, &mut sink) {
            return self.end_span_general(node, guard, span);
        }
        if recording && st.buf.len() >= BATCH {
            self.hand_over(guard);
        }
    }

    /// `end_span` in every case: callbacks, debug sites, repairs (R10).
    #[cold]
    fn end_span_general(
        &self,
        node: &Arc<TaskNode>,
        mut guard: SpinGuard<'_, TaskState>,
        span: Position,
    ) {
        let st = &mut *guard;
        let recording = self.recording();
        let cb = self.callbacks.count() > 0;
        let ts = self.span_time(recording || cb);
        let sites_before =
            (self.debug && st.stack.frames().len() > span.depth()).then(|| self.sites_of(node, st));
        let mut closed = Vec::new();
        let violation = st.stack.end(
            span,
            ts,
            &mut Sink {
                buf: &mut st.buf,
                on: recording,
            },
            &mut |frames: &[Frame]| {
                if cb {
                    closed.push(NodeInfo::ended_span(node, frames, ts));
                }
            },
        );
        if self.debug {
            st.span_sites.truncate(st.stack.frames().len());
        }
        let over = recording && self.hand_over_if_full(&mut st.buf);
        drop(guard);
        if over {
            self.pipeline.wait_for_space();
        }
        if let Some(v) = violation {
            violations::handle(vec![v], || sites_before.unwrap_or_default());
        }
        if cb {
            for (info, seen) in closed {
                self.callbacks.ended(&info, seen);
            }
        }
    }

    /// Frees the tree's hold of a task whose node is gone.
    pub(crate) fn release(&self, key: TaskKey) {
        let mut reg = self.registry();
        reg.tree.release(key);
        if let Some(slot) = reg.nodes.get_mut(key.index()) {
            if slot.strong_count() == 0 {
                *slot = Weak::new();
            }
        }
    }

    /// Attaches a consumer. If nothing was recorded so far, recording starts
    /// now from a snapshot of everything live (C6).
    pub(crate) fn attach(&'static self, consumer: Box<dyn Consumer>) {
        self.attach_or_record(Some(consumer));
    }

    /// Starts recording now, with no consumer yet: the writer's mirror then
    /// follows the stream, so consumers attached later (a live server's
    /// clients) see open spans with their real start times (C6).
    pub(crate) fn start_recording(&'static self) {
        self.attach_or_record(None);
    }

    fn attach_or_record(&'static self, consumer: Option<Box<dyn Consumer>>) {
        self.writer_started.call_once(|| {
            let encoder = Encoder::new(self.clock.origin());
            let writer = Writer::new(encoder, self.process_name.clone());
            let spawned = std::thread::Builder::new()
                .name("actrace-writer".into())
                .spawn(move || writer.run(&self.pipeline, || self.pull()));
            if let Err(e) = spawned {
                eprintln!("actrace: cannot start the writer thread: {e}; nothing will be written");
            }
            register_at_exit();
        });
        let reg = self.registry();
        if self.recording.load(Ordering::Acquire) {
            if let Some(consumer) = consumer {
                self.pipeline.push(Item::Attach(consumer, None));
            }
            return;
        }
        // Lock every live task so no span operation runs while recording
        // switches on; each then sees the switch under its own lock.
        let nodes: Vec<Arc<TaskNode>> = reg.nodes.iter().filter_map(Weak::upgrade).collect();
        let mut states: Vec<SpinGuard<'_, TaskState>> = TaskNode::visit_all(&nodes);
        self.recording.store(true, Ordering::Release);
        let now = self.clock.now();
        let mut snapshot = Vec::new();
        for (lane, name) in reg.tree.namer().lanes() {
            snapshot.push(Event::LaneName {
                lane,
                name: name.clone(),
            });
        }
        for (node, st) in nodes.iter().zip(states.iter_mut()) {
            if st.stack.task_ended() || !reg.tree.is_live(node.key) {
                continue;
            }
            st.buf.clear();
            snapshot.push(reg.tree.begin_event(node.key, node.start()));
            let mut last = node.start();
            for f in st.stack.frames() {
                // Spans begun before recording carry no time: show them as
                // starting now, never before their parent.
                let ts = if f.start.as_nanos() == 0 {
                    now
                } else {
                    f.start
                }
                .max(last);
                last = ts;
                snapshot.push(Event::SpanBegin {
                    lane: node.lane,
                    ts,
                    name: f.name.clone(),
                });
            }
        }
        self.pipeline.push(match consumer {
            Some(consumer) => Item::Attach(consumer, Some(snapshot)),
            // No consumer yet: the writer only feeds its mirror with it.
            None => Item::Events(snapshot),
        });
        drop(states);
        drop(reg);
        drop(nodes);
    }

    /// Moves events still buffered in tasks to the writer.
    pub(crate) fn pull(&self) {
        let nodes: Vec<Arc<TaskNode>> = self
            .registry()
            .nodes
            .iter()
            .filter_map(Weak::upgrade)
            .collect();
        // A few dozen tasks at a time: one barrier for each group (see
        // `SpinLock::visit_all`), and no task waits long for its lock.
        for group in nodes.chunks(64) {
            for mut st in TaskNode::visit_all(group) {
                self.pipeline.push_batch(&mut st.buf);
            }
        }
    }

    /// Writes everything traced so far to every consumer.
    pub(crate) fn flush(&self) {
        if self.writer_started.is_completed() {
            self.pull();
            self.pipeline.sync(false);
        }
    }

    /// Writes everything and closes every consumer's stream (valid JSON).
    pub(crate) fn shutdown(&self) {
        if self.writer_started.is_completed() {
            self.pull();
            self.pipeline.sync(true);
        }
    }

    /// The live task count (M1).
    pub(crate) fn live_tasks(&self) -> usize {
        self.registry().tree.live_count()
    }

    /// The live task count and the suffix bit-vector length of each base
    /// name (M1, M2), read together for a metrics scrape.
    pub(crate) fn naming_stats(&self) -> (usize, Vec<(String, usize)>) {
        let reg = self.registry();
        let lens = reg
            .tree
            .namer()
            .bitvec_lens()
            .map(|(name, len)| (name.to_string(), len))
            .collect();
        (reg.tree.live_count(), lens)
    }

    fn sites(&self, node: &Arc<TaskNode>, spans: &[&'static Location<'static>]) -> String {
        if !self.debug {
            return String::new();
        }
        let mut out = String::from("\n  live nodes were created at:");
        if let Some(site) = node.site {
            out.push_str(&format!("\n    task {:?}: {site}", &*node.unique));
        }
        for site in spans {
            out.push_str(&format!("\n    span: {site}"));
        }
        out
    }

    fn sites_of(&self, node: &Arc<TaskNode>, st: &TaskState) -> String {
        let mut out = self.sites(node, &[]);
        for (f, site) in st.stack.frames().iter().zip(&st.span_sites) {
            out.push_str(&format!("\n    span {:?}: {site}", f.name.as_str()));
        }
        out
    }
}

fn random_seed() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default()
            .as_nanos(),
    );
    h.finish()
}

/// Closes every stream when the program exits normally, so files are valid
/// JSON without an explicit call.
fn register_at_exit() {
    #[cfg(unix)]
    {
        extern "C" fn at_exit() {
            if let Some(rt) = Runtime::get() {
                rt.shutdown();
            }
        }
        extern "C" {
            fn atexit(f: extern "C" fn()) -> std::os::raw::c_int;
        }
        // SAFETY: `at_exit` is a plain function that stays valid for the whole
        // life of the process; registering it has no other precondition.
        unsafe {
            atexit(at_exit);
        }
    }
}
