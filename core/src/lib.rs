//! The pure state machine behind actrace: it names tasks, tracks the task tree
//! and the span stack of each task, renders span-stack strings, and encodes the
//! resulting events as Chrome trace JSON.
//!
//! It never reads a clock, spawns a thread, does I/O or keeps global state:
//! time ([`Timestamp`]) and randomness (a seed) come in as arguments, and events
//! leave through one door, an [`EventSink`], in the order they must be written.
#![no_std]
#![warn(clippy::std_instead_of_core, clippy::alloc_instead_of_core)]

extern crate alloc;
#[cfg(test)]
extern crate std;

pub mod parse;
pub use parse::{read_trace, ParseError, ParseErrorKind, Trace, TraceReader};

mod chrome;
mod event;
mod id;
mod name;
mod namer;
mod span_stack;
mod stack_string;
mod time;
mod tracer;
mod tree;
mod violation;

pub use chrome::Encoder;
pub use event::{Discard, Event, EventSink, FlowId, LaneId, TaskBegin};
pub use id::{IdBytes, IdGen, InvalidIdBytes, NodeId};
pub use name::Name;
pub use namer::{UniqueName, UniqueNamer};
pub use span_stack::{Begun, Frame, Position, SpanStack};
pub use stack_string::{write_stack, StackKind};
pub use time::Timestamp;
pub use tracer::{Node, Tracer};
pub use tree::{TaskEnded, TaskKey, TaskStarted, TaskTree};
pub use violation::{NodeDesc, Violation};
