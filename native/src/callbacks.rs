//! Begin and end callbacks (R14).

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, RwLock};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use actrace_core::{write_stack, Frame, Name, NodeId, StackKind, Timestamp};

use crate::node::TaskNode;

/// What a callback is told about a task or span.
pub struct NodeInfo {
    task: Arc<TaskNode>,
    /// The spans from the task's outermost one down to this node (empty for
    /// the task itself).
    spans: Vec<(NodeId, Name)>,
    start: Timestamp,
    end: Option<Timestamp>,
}

impl NodeInfo {
    pub(crate) fn task(task: &Arc<TaskNode>, start: Timestamp, end: Option<Timestamp>) -> Self {
        NodeInfo {
            task: task.clone(),
            spans: Vec::new(),
            start,
            end,
        }
    }

    pub(crate) fn span(task: &Arc<TaskNode>, frames: &[Frame], end: Option<Timestamp>) -> Self {
        let start = frames.last().map_or_else(|| task.start(), |f| f.start);
        let spans = frames.iter().map(|f| (f.id(), f.name.clone())).collect();
        NodeInfo {
            task: task.clone(),
            spans,
            start,
            end,
        }
    }

    /// The innermost of `frames` as it ends at `end`, with the number of
    /// callbacks registered when it began (only those hear of its end).
    pub(crate) fn ended_span(
        task: &Arc<TaskNode>,
        frames: &[Frame],
        end: Timestamp,
    ) -> (Self, u32) {
        let seen = frames.last().map_or(0, |f| f.callbacks_seen);
        (NodeInfo::span(task, frames, Some(end)), seen)
    }

    /// The node's name (the base name for a task).
    pub fn name(&self) -> &str {
        match self.spans.last() {
            Some((_, name)) => name,
            None => &self.task.name,
        }
    }

    /// True for a task, false for a span.
    pub fn is_task(&self) -> bool {
        self.spans.is_empty()
    }

    /// When the node started.
    pub fn start(&self) -> SystemTime {
        to_system_time(self.start)
    }

    /// When the node ended; `None` in a begin callback.
    pub fn end(&self) -> Option<SystemTime> {
        self.end.map(to_system_time)
    }

    /// The node's span-stack string (R13).
    pub fn stack(&self, kind: StackKind) -> String {
        let mut out = String::new();
        write_stack(
            &mut out,
            self.task.chain(),
            self.spans.iter().map(|(id, n)| (*id, n)),
            kind,
        );
        out
    }
}

fn to_system_time(ts: Timestamp) -> SystemTime {
    UNIX_EPOCH + Duration::from_nanos(ts.as_nanos())
}

type Callback = Arc<dyn Fn(&NodeInfo) + Send + Sync>;

/// The registered callbacks. The count is read on every span operation, the
/// lists only when it is not zero.
#[derive(Default)]
pub(crate) struct Callbacks {
    count: AtomicU32,
    begin: RwLock<Vec<(u32, Callback)>>,
    end: RwLock<Vec<(u32, Callback)>>,
}

impl Callbacks {
    /// How many callbacks were registered so far (the registration number of
    /// the next one).
    pub(crate) fn count(&self) -> u32 {
        self.count.load(Ordering::Acquire)
    }

    pub(crate) fn register(&self, on_begin: bool, f: Callback) {
        let list = if on_begin { &self.begin } else { &self.end };
        let mut list = list.write().unwrap_or_else(|p| p.into_inner());
        let n = self.count.fetch_add(1, Ordering::AcqRel);
        list.push((n, f));
    }

    pub(crate) fn began(&self, info: &NodeInfo) {
        let list = self.begin.read().unwrap_or_else(|p| p.into_inner()).clone();
        for (_, f) in list {
            f(info);
        }
    }

    /// Calls the end callbacks that were registered before the node began.
    pub(crate) fn ended(&self, info: &NodeInfo, seen_at_begin: u32) {
        let list = self.end.read().unwrap_or_else(|p| p.into_inner()).clone();
        for (n, f) in list {
            if n < seen_at_begin {
                f(info);
            }
        }
    }
}

/// Calls `f` whenever a task or span begins.
pub fn on_begin(f: impl Fn(&NodeInfo) + Send + Sync + 'static) {
    crate::runtime::Runtime::global()
        .callbacks
        .register(true, Arc::new(f));
}

/// Calls `f` whenever a task or span that began after this call ends (R14).
pub fn on_end(f: impl Fn(&NodeInfo) + Send + Sync + 'static) {
    crate::runtime::Runtime::global()
        .callbacks
        .register(false, Arc::new(f));
}
