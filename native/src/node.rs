//! A live task as the native adapter keeps it: its place in the tree, its span
//! stack and its event buffer, behind a lock of its own.

use std::panic::Location;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use actrace_core::{Event, LaneId, Name, NodeId, SpanStack, TaskKey, TaskStarted};

use crate::runtime::Runtime;
use crate::spin_lock::{SpinGuard, SpinLock};

pub(crate) struct TaskNode {
    pub(crate) key: TaskKey,
    pub(crate) lane: LaneId,
    /// The tasks from the root down to this one, as (id, base name); fixed at
    /// start, so stack strings (R13) need no global lock.
    pub(crate) chain: Box<[(NodeId, Name)]>,
    pub(crate) unique: Arc<str>,
    pub(crate) start: actrace_core::Timestamp,
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
        chain: Box<[(NodeId, Name)]>,
        start: actrace_core::Timestamp,
        site: Option<&'static Location<'static>>,
        callbacks_seen: u32,
        stack: SpanStack,
    ) -> Self {
        TaskNode {
            key: started.key,
            lane: started.lane,
            chain,
            unique: started.unique.clone(),
            start,
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

    /// Locks for the writer's visits, leaving the lock's bias to the task's
    /// own thread (see `spin_lock`).
    pub(crate) fn visit(&self) -> SpinGuard<'_, TaskState> {
        self.state.visit()
    }
}

impl Drop for TaskNode {
    fn drop(&mut self) {
        if let (Some(rt), false) = (Runtime::get(), self.released.load(Ordering::Relaxed)) {
            rt.release(self.key);
        }
    }
}
