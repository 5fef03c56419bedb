//! A live task as the native adapter keeps it: its place in the tree, its span
//! stack and its event buffer, behind a lock of its own.

use std::panic::Location;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;

use actrace_core::{Event, LaneId, Name, NodeId, SpanStack, TaskKey, TaskStarted, Timestamp};

use crate::runtime::Runtime;
use crate::spin_lock::{SpinGuard, SpinLock};

pub(crate) struct TaskNode {
    pub(crate) key: TaskKey,
    pub(crate) lane: LaneId,
    pub(crate) id: NodeId,
    /// The base name the task was started with.
    pub(crate) name: Name,
    /// The task this one was started under (R2, R3), fixed at start. Holding
    /// it gives stack strings (R13) and flow arrows (C3) the ancestors without
    /// the global lock, and without copying them for every task.
    pub(crate) parent: Option<Arc<TaskNode>>,
    pub(crate) unique: Arc<str>,
    /// Nanoseconds since the clock's origin; set once, before the node is
    /// handed to its caller (see `Runtime::start_task`).
    start: AtomicU64,
    /// Where the task was started, in debug mode.
    pub(crate) site: Option<&'static Location<'static>>,
    /// Callbacks registered when the task began (R14).
    pub(crate) callbacks_seen: u32,
    /// The tree's hold was already given back when the task ended (see
    /// `Runtime::end_task`).
    pub(crate) released: AtomicBool,
    state: SpinLock<TaskState>,
}

/// Everything a span operation touches. Only this task's lock guards it, so
/// spans in different tasks never contend.
pub(crate) struct TaskState {
    pub(crate) stack: SpanStack,
    /// Events not yet handed to the writer, in order.
    pub(crate) buf: Vec<Event>,
    /// Where each open span was started, in debug mode.
    pub(crate) span_sites: Vec<&'static Location<'static>>,
}

impl TaskNode {
    pub(crate) fn new(
        started: &TaskStarted,
        parent: Option<Arc<TaskNode>>,
        start: Timestamp,
        site: Option<&'static Location<'static>>,
        callbacks_seen: u32,
        stack: SpanStack,
    ) -> Self {
        TaskNode {
            key: started.key,
            lane: started.lane,
            id: started.id,
            name: started.name.clone(),
            parent,
            unique: started.unique.clone(),
            start: AtomicU64::new(start.as_nanos()),
            site,
            callbacks_seen,
            released: AtomicBool::new(false),
            state: SpinLock::new(TaskState {
                stack,
                buf: Vec::new(),
                span_sites: Vec::new(),
            }),
        }
    }

    #[inline]
    pub(crate) fn lock(&self) -> SpinGuard<'_, TaskState> {
        self.state.lock()
    }

    /// Locks the tasks of `nodes` for the writer's visits, leaving each
    /// lock's bias to its task's own thread (see `spin_lock`).
    pub(crate) fn visit_all(nodes: &[Arc<TaskNode>]) -> Vec<SpinGuard<'_, TaskState>> {
        SpinLock::visit_all(nodes.iter().map(|n| &n.state))
    }

    /// When the task started.
    pub(crate) fn start(&self) -> Timestamp {
        Timestamp::from_nanos(self.start.load(Ordering::Relaxed))
    }

    pub(crate) fn set_start(&self, ts: Timestamp) {
        self.start.store(ts.as_nanos(), Ordering::Relaxed);
    }

    /// This task and the tasks it was started under, nearest first.
    pub(crate) fn lineage(&self) -> impl Iterator<Item = &TaskNode> {
        std::iter::successors(Some(self), |n| n.parent.as_deref())
    }

    /// The tasks from the root down to this one, as (id, base name) (R13).
    pub(crate) fn chain(&self) -> Vec<(NodeId, &Name)> {
        let mut chain: Vec<(NodeId, &Name)> = self.lineage().map(|n| (n.id, &n.name)).collect();
        chain.reverse();
        chain
    }
}

impl Drop for TaskNode {
    fn drop(&mut self) {
        if let (Some(rt), false) = (Runtime::get(), self.released.load(Ordering::Relaxed)) {
            rt.release(self.key);
        }
        // Ancestors this node held last are dropped one after the other, not
        // recursively, so a deep chain of tasks cannot overflow the stack.
        let mut up = self.parent.take();
        while let Some(node) = up {
            up = Arc::into_inner(node).and_then(|mut n| n.parent.take());
        }
    }
}

#[cfg(test)]
mod tests {
    use actrace_core::StackKind;

    use crate::Context;

    #[test]
    fn r13_a_deep_chain_of_tasks_is_dropped_without_recursion() {
        const DEPTH: usize = 100_000;
        let mut contexts = vec![Context::none()];
        let mut dones = Vec::new();
        for _ in 0..DEPTH {
            let (ctx, done) = contexts.last().unwrap().with_task("node-test-chain");
            contexts.push(ctx);
            dones.push(done);
        }
        let stack = contexts.last().unwrap().stack(StackKind::Names).unwrap();
        assert_eq!(stack.matches('$').count(), DEPTH);
        // Innermost first (R6), then the contexts outermost first: the last
        // one dropped holds every ancestor, freed then one after the other.
        // A recursive drop would overflow the stack here.
        while let Some(done) = dones.pop() {
            done.end();
        }
        drop(contexts);
    }
}
