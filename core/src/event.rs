//! The events the state machine emits, in the order they must be written.

use alloc::boxed::Box;
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::num::NonZeroU32;

use crate::{Name, NodeId, Timestamp};

/// One lane (thread track) of the trace: one unique task name `NAME#N` (C1).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct LaneId(NonZeroU32);

impl LaneId {
    /// The lane with number `n`; `None` for 0, which Chrome viewers reserve.
    pub fn new(n: u32) -> Option<Self> {
        NonZeroU32::new(n).map(LaneId)
    }

    /// The lane's number, used as the Chrome `tid`.
    pub fn get(self) -> u32 {
        self.0.get()
    }
}

/// The id of a flow arrow from a parent's lane to a child task (C3).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct FlowId(pub u64);

/// What a task's begin event says about it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TaskBegin {
    /// The task's lane.
    pub lane: LaneId,
    /// When the task started.
    pub ts: Timestamp,
    /// The base name the program gave.
    pub name: Name,
    /// The unique name `NAME#N` (R5).
    pub unique: Arc<str>,
    /// The task's id (R12).
    pub id: NodeId,
    /// The id of the parent task, if any (R1–R3).
    pub parent: Option<NodeId>,
}

/// One thing that happened, ready to be encoded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Event {
    /// A lane is used for the first time, or is described again for a late
    /// joiner (C6).
    LaneName {
        /// The lane.
        lane: LaneId,
        /// Its unique task name `NAME#N`.
        name: Arc<str>,
    },
    /// A task started: a slice opens on its lane. Boxed to keep span events
    /// small.
    TaskBegin(Box<TaskBegin>),
    /// A span started: a slice opens inside the innermost open slice of the
    /// lane.
    SpanBegin {
        /// The lane of the span's task.
        lane: LaneId,
        /// When the span started.
        ts: Timestamp,
        /// The span's name.
        name: Name,
    },
    /// The innermost open slice of the lane ends (span or task).
    End {
        /// The lane.
        lane: LaneId,
        /// When it ended.
        ts: Timestamp,
    },
    /// The start of a flow arrow, on the parent's lane.
    FlowStart {
        /// The parent's lane.
        lane: LaneId,
        /// When the child task started.
        ts: Timestamp,
        /// The arrow's id, unique in the trace.
        flow: FlowId,
    },
    /// The end of a flow arrow, bound to the child task's slice.
    FlowEnd {
        /// The child's lane.
        lane: LaneId,
        /// When the child task started.
        ts: Timestamp,
        /// The arrow's id.
        flow: FlowId,
    },
}

impl Event {
    /// The lane the event belongs to.
    pub fn lane(&self) -> LaneId {
        match self {
            Event::LaneName { lane, .. }
            | Event::SpanBegin { lane, .. }
            | Event::End { lane, .. }
            | Event::FlowStart { lane, .. }
            | Event::FlowEnd { lane, .. } => *lane,
            Event::TaskBegin(begin) => begin.lane,
        }
    }

    /// When the event happened; lane names have no time.
    pub fn ts(&self) -> Option<Timestamp> {
        match self {
            Event::LaneName { .. } => None,
            Event::TaskBegin(begin) => Some(begin.ts),
            Event::SpanBegin { ts, .. }
            | Event::End { ts, .. }
            | Event::FlowStart { ts, .. }
            | Event::FlowEnd { ts, .. } => Some(*ts),
        }
    }
}

/// Where the state machine puts the events it produces.
///
/// Drain rule: events arrive in the order they must be written for their lane;
/// a sink must keep that order per lane.
pub trait EventSink {
    /// Takes one event.
    fn event(&mut self, event: Event);

    /// False if the sink drops everything, so events need not be built.
    fn wants_events(&self) -> bool {
        true
    }
}

impl EventSink for Vec<Event> {
    fn event(&mut self, event: Event) {
        self.push(event);
    }
}

/// A sink that drops everything, for when no consumer is attached.
#[derive(Debug, Default, Clone, Copy)]
pub struct Discard;

impl EventSink for Discard {
    fn event(&mut self, _event: Event) {}

    fn wants_events(&self) -> bool {
        false
    }
}
