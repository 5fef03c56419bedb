//! Violations of the nesting rules (R4, R6, R8–R10), each naming the nodes
//! involved.

use alloc::string::String;
use alloc::vec::Vec;
use core::fmt;

use crate::{Name, NodeId};

/// A node as a violation report names it: `(ID "NAME")`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NodeDesc {
    /// The node's id.
    pub id: NodeId,
    /// The node's name (the unique `NAME#N` for tasks).
    pub name: Name,
}

impl fmt::Display for NodeDesc {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "({} {:?})", self.id, self.name.as_str())
    }
}

/// A broken rule. The state machine has already repaired the stream when it
/// returns one of these; what happens to the caller is the adapter's policy.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Violation {
    /// R4: a task's base name contains `#`. Repaired by using the name with
    /// each `#` replaced by `_`.
    HashInTaskName {
        /// The name as given.
        name: String,
    },
    /// R6: a task ended while child tasks were live. Repaired by ending it
    /// anyway; the children are re-parented to the nearest live ancestor.
    TaskEndedWithLiveChildren {
        /// The task that ended.
        task: NodeDesc,
        /// Its live children.
        children: Vec<NodeDesc>,
    },
    /// R8: a span was started from a context with no live task. Repaired by
    /// recording nothing for that span.
    SpanWithoutTask {
        /// The span's name.
        span: Name,
        /// The task that had already ended, if the context had one.
        ended_task: Option<NodeDesc>,
    },
    /// R9: a span was started from a node that already has a live child span.
    /// Repaired by ending the live child (and its descendants) first.
    SecondLiveChildSpan {
        /// The node the span was started from.
        parent: NodeDesc,
        /// Its child span that was still live.
        live_child: NodeDesc,
        /// The name of the new span.
        new_span: Name,
    },
    /// R10: a span (or a task, the root of its span stack) was ended while a
    /// child span was live. Repaired by ending the child spans first.
    EndedWithLiveChildSpan {
        /// The node that was ended.
        node: NodeDesc,
        /// Its live child span.
        live_child: NodeDesc,
    },
    /// R9/R10: a span was started from a span that had already ended.
    /// Repaired by starting it from the nearest live ancestor.
    ParentSpanEnded {
        /// The task of the ended span.
        task: NodeDesc,
        /// How deep the ended span was in the task's span stack (1: outermost).
        depth: usize,
        /// The name of the new span.
        new_span: Name,
    },
}

impl Violation {
    /// The rule in SPEC.md that was broken, e.g. `"R9"`.
    pub fn rule(&self) -> &'static str {
        match self {
            Violation::HashInTaskName { .. } => "R4",
            Violation::TaskEndedWithLiveChildren { .. } => "R6",
            Violation::SpanWithoutTask { .. } => "R8",
            Violation::SecondLiveChildSpan { .. } => "R9",
            Violation::EndedWithLiveChildSpan { .. } => "R10",
            Violation::ParentSpanEnded { .. } => "R10",
        }
    }
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "actrace {}: ", self.rule())?;
        match self {
            Violation::HashInTaskName { name } => {
                write!(f, "task name {name:?} contains '#', which is reserved for the NAME#N suffix")
            }
            Violation::TaskEndedWithLiveChildren { task, children } => {
                write!(f, "task {task} ended while {} child task(s) were live: ", children.len())?;
                for (i, c) in children.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{c}")?;
                }
                Ok(())
            }
            Violation::SpanWithoutTask { span, ended_task: None } => {
                write!(f, "span {:?} was started outside any task", span.as_str())
            }
            Violation::SpanWithoutTask { span, ended_task: Some(task) } => {
                write!(f, "span {:?} was started in task {task}, which has already ended", span.as_str())
            }
            Violation::SecondLiveChildSpan { parent, live_child, new_span } => write!(
                f,
                "span {:?} was started from {parent}, which still has the live child span {live_child}",
                new_span.as_str()
            ),
            Violation::EndedWithLiveChildSpan { node, live_child } => {
                write!(f, "{node} was ended while its child span {live_child} was still live")
            }
            Violation::ParentSpanEnded { task, depth, new_span } => write!(
                f,
                "span {:?} was started from the span at depth {depth} of task {task}, which has already ended",
                new_span.as_str()
            ),
        }
    }
}

impl core::error::Error for Violation {}
