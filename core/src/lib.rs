//! The pure state machine behind actrace: it names tasks, tracks the task tree
//! and the span stack of each task, renders span-stack strings, and encodes the
//! resulting events as Chrome trace JSON.
//!
//! It never reads a clock, spawns a thread, does I/O or keeps global state:
//! time ([`Timestamp`]) and randomness (a seed) come in as arguments, and events
//! leave through one door, an [`EventSink`], in the order they must be written.
//!
//! The run loop: feed each operation with the time it happened, then drain
//! the sink (here a `Vec`) into the encoder.
//!
//! ```
//! use actrace_core::{Encoder, IdBytes, Timestamp, Tracer, StackKind};
//!
//! let mut tracer = Tracer::new(42, IdBytes::default());
//! let mut events = Vec::new();
//! let t = |us: u64| Timestamp::from_nanos(us * 1000);
//! let (task, _) = tracer.start_task(None, "copy-dirs", t(0), &mut events);
//! let (span, _) = tracer.start_span(Some(task), "scan", t(5), 0, &mut events, &mut |_| {});
//! assert_eq!(tracer.stack_string(span.unwrap(), StackKind::Names), "copy-dirs$copy-dirs.scan");
//! tracer.end(span.unwrap(), t(9), &mut events, &mut |_| {});
//!
//! let encoder = Encoder::new(t(0));
//! let mut json = Vec::new();
//! encoder.open("example", &mut json);
//! for event in events.drain(..) {
//!     encoder.event(&event, &mut json);
//! }
//! assert!(json.ends_with(br#"{"ph":"E","pid":1,"tid":1,"ts":9.000}"#));
//! ```
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

pub use chrome::{BatchScratch, Encoder};
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
