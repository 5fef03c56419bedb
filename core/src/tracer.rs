//! All of the state machine in one single-threaded value.

use alloc::string::String;
use alloc::vec::Vec;

use crate::{
    Event, EventSink, Frame, IdBytes, Name, Position, SpanStack, StackKind, TaskKey, TaskTree,
    Timestamp, Violation,
};

/// A node a context points at: a task, or a span inside it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Node {
    /// The task.
    pub task: TaskKey,
    /// The task itself or one of its spans.
    pub position: Position,
}

/// The task tree and every task's span stack, for a single-threaded adapter
/// (WebAssembly) and for deterministic tests.
///
/// Run loop: call `start_task`, `start_span` and `end` with the time of the
/// call and a sink; after each call the sink holds every event it caused, in
/// order. The native adapter uses [`TaskTree`] and [`SpanStack`] directly so
/// that spans take no global lock.
#[derive(Debug)]
pub struct Tracer {
    tree: TaskTree,
    stacks: Vec<Option<(SpanStack, Timestamp)>>,
}

impl Tracer {
    /// An empty tracer whose ids come from `seed`.
    pub fn new(seed: u64, id_bytes: IdBytes) -> Self {
        Tracer {
            tree: TaskTree::new(seed, id_bytes),
            stacks: Vec::new(),
        }
    }

    /// Starts a task from `from` (R1–R5) and holds it once for the caller.
    pub fn start_task(
        &mut self,
        from: Option<Node>,
        name: impl Into<Name>,
        ts: Timestamp,
        out: &mut impl EventSink,
    ) -> (Node, Option<Violation>) {
        let started = self.tree.start(from.map(|n| n.task), name.into());
        if let Some(flow) = started.flow_start(ts) {
            out.event(flow);
        }
        started.begin_events(ts, true, out);
        let key = started.key;
        let stack = SpanStack::new(started.lane, self.tree.desc(key), started.span_ids);
        if self.stacks.len() <= key.index() {
            self.stacks.resize_with(key.index() + 1, || None);
        }
        self.stacks[key.index()] = Some((stack, ts));
        (
            Node {
                task: key,
                position: Position::TASK,
            },
            started.violation,
        )
    }

    /// Starts a span from `from` (R8–R10). `None` (no task) records nothing.
    pub fn start_span(
        &mut self,
        from: Option<Node>,
        name: impl Into<Name>,
        ts: Timestamp,
        callbacks_seen: u32,
        out: &mut impl EventSink,
        on_close: &mut impl FnMut(&[Frame]),
    ) -> (Option<Node>, Vec<Violation>) {
        let name = name.into();
        let Some(from) = from else {
            return (
                None,
                alloc::vec![Violation::SpanWithoutTask {
                    span: name,
                    ended_task: None
                }],
            );
        };
        let begun =
            self.stack_mut(from.task)
                .begin(from.position, name, ts, callbacks_seen, out, on_close);
        (
            begun.span.map(|position| Node {
                task: from.task,
                position,
            }),
            begun.violations,
        )
    }

    /// Ends a task or span (R6, R7, R10).
    pub fn end(
        &mut self,
        node: Node,
        ts: Timestamp,
        out: &mut impl EventSink,
        on_close: &mut impl FnMut(&[Frame]),
    ) -> Vec<Violation> {
        let stack = self.stack_mut(node.task);
        if node.position.depth() > 0 {
            return stack
                .end(node.position, ts, out, on_close)
                .into_iter()
                .collect();
        }
        let mut violations: Vec<Violation> =
            stack.end_task(ts, out, on_close).into_iter().collect();
        violations.extend(self.tree.end(node.task).violation);
        violations
    }

    /// Takes one more hold on a task, for another handle to it.
    pub fn retain(&mut self, task: TaskKey) {
        self.tree.retain(task);
    }

    /// Drops a hold; an ended task nothing holds is forgotten.
    pub fn release(&mut self, task: TaskKey) {
        self.tree.release(task);
        // Forget the stacks of every task the tree let go of.
        let held: Vec<usize> = self.tree.held_indexes().collect();
        for (i, slot) in self.stacks.iter_mut().enumerate() {
            if slot.is_some() && held.binary_search(&i).is_err() {
                *slot = None;
            }
        }
    }

    /// True if the node has not ended.
    pub fn is_live(&self, node: Node) -> bool {
        self.stack(node.task).is_live(node.position)
    }

    /// The span-stack string of a node (R13).
    pub fn stack_string(&self, node: Node, kind: StackKind) -> String {
        let mut out = String::new();
        let chain = self.tree.chain(node.task);
        let spans = self.stack(node.task).path(node.position);
        crate::write_stack(
            &mut out,
            chain.iter().map(|(id, name)| (*id, name)),
            spans.iter().map(|f| (f.id(), &f.name)),
            kind,
        );
        out
    }

    /// What a consumer attaching now needs to draw the live state (C6): every
    /// lane's name, then the begin events of live tasks and open spans.
    pub fn snapshot(&self, out: &mut impl EventSink) {
        for (lane, name) in self.tree.namer().lanes() {
            out.event(Event::LaneName {
                lane,
                name: name.clone(),
            });
        }
        for key in self.tree.live_tasks() {
            let (stack, start) = self.stacks[key.index()]
                .as_ref()
                .expect("live task has a stack");
            out.event(self.tree.begin_event(key, *start));
            stack.snapshot(out);
        }
    }

    /// The task tree, for metrics (M1, M2).
    pub fn tree(&self) -> &TaskTree {
        &self.tree
    }

    /// The span stack of a task.
    pub fn stack(&self, task: TaskKey) -> &SpanStack {
        &self.stacks[task.index()].as_ref().expect("task is held").0
    }

    fn stack_mut(&mut self, task: TaskKey) -> &mut SpanStack {
        &mut self.stacks[task.index()].as_mut().expect("task is held").0
    }
}
