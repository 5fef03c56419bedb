//! Explicit contexts, passed like Go's `ctx` (style 1).

use std::panic::Location;
use std::sync::Arc;

use actrace_core::{write_stack, Name, Position, StackKind};

use crate::ambient;
use crate::guards::{Done, Span, Task};
use crate::node::TaskNode;
use crate::runtime::Runtime;

/// Where the caller is: in no task, in a task, or in one of its spans.
///
/// Cheap to clone and to send to other threads. Starting a task or span from
/// a context gives a new context for the new node; the old one stays valid.
#[derive(Clone, Default)]
pub struct Context {
    pub(crate) node: Option<Arc<TaskNode>>,
    pub(crate) pos: Position,
}

impl Context {
    /// The context outside any task: tasks started from it are roots (R1).
    pub const fn none() -> Context {
        Context {
            node: None,
            pos: Position::TASK,
        }
    }

    /// The calling thread's current context (style 2).
    pub fn current() -> Context {
        ambient::current()
    }

    /// Starts a task from this context (R1–R5) and returns its context and
    /// the handle that ends it (the seed's `WithTask`).
    #[track_caller]
    pub fn with_task(&self, name: impl Into<Name>) -> (Context, Done) {
        let ctx = self.start_task(name.into(), Location::caller());
        (ctx.clone(), Done::task(ctx))
    }

    /// Starts a span from this context (R8–R10) and returns its context and
    /// the handle that ends it (the seed's `WithSpan`).
    #[track_caller]
    pub fn with_span(&self, name: impl Into<Name>) -> (Context, Done) {
        let ctx = self.start_span(name.into(), Location::caller());
        (ctx.clone(), Done::span(ctx))
    }

    /// Starts a task and, inside it, a first span named `TASK SPAN`; the
    /// handle ends both (the seed's `WithTaskAndSpan`).
    #[track_caller]
    pub fn with_task_and_span(&self, task: &str, span: &str) -> (Context, Done) {
        let site = Location::caller();
        let task_ctx = self.start_task(Name::from(task.to_owned()), site);
        let span_ctx = task_ctx.start_span(Name::from(format!("{task} {span}")), site);
        (span_ctx.clone(), Done::task_and_span(task_ctx, span_ctx))
    }

    /// Starts a child task as a guard that ends it when dropped (style 1 with
    /// RAII).
    #[track_caller]
    pub fn task(&self, name: impl Into<Name>) -> Task {
        Task::new(self.start_task(name.into(), Location::caller()))
    }

    /// Starts a span as a guard that ends it when dropped; while it lives it
    /// is the thread's current context, so ambient spans nest under it.
    #[track_caller]
    pub fn span(&self, name: impl Into<Name>) -> Span<'static> {
        Span::from_context(self, name.into(), Location::caller())
    }

    /// Adopts the task and span position of `other` (R15, the seed's
    /// `WithInherit`): e.g. a connection handler joins the server's task.
    pub fn inherit(&mut self, other: &Context) {
        self.node = other.node.clone();
        self.pos = other.pos;
    }

    /// Makes this the calling thread's current context until the returned
    /// guard is dropped.
    pub fn enter(&self) -> ambient::Entered {
        ambient::enter(self.clone())
    }

    /// True if the context is inside a task (live or not).
    pub fn in_task(&self) -> bool {
        self.node.is_some()
    }

    /// True if the task or span this context points at has not ended.
    pub fn is_live(&self) -> bool {
        self.node
            .as_ref()
            .is_some_and(|n| n.lock().stack.is_live(self.pos))
    }

    /// The unique name `NAME#N` of the context's task.
    pub fn task_name(&self) -> Option<&str> {
        self.node.as_deref().map(|n| &*n.unique)
    }

    /// The span-stack string (R13), or `None` outside any task.
    pub fn stack(&self, kind: StackKind) -> Option<String> {
        let node = self.node.as_ref()?;
        let mut out = String::new();
        let st = node.lock();
        write_stack(
            &mut out,
            node.chain(),
            st.stack.path(self.pos).iter().map(|f| (f.id(), &f.name)),
            kind,
        );
        Some(out)
    }

    /// The span-stack string, or `default` outside any task (the seed's
    /// `GetSpanStackOrDefault`).
    pub fn stack_or(&self, default: &str, kind: StackKind) -> String {
        self.stack(kind).unwrap_or_else(|| default.to_owned())
    }

    pub(crate) fn start_task(&self, name: Name, site: &'static Location<'static>) -> Context {
        let node = Runtime::global().start_task(self.node.as_ref(), name, site);
        Context {
            node: Some(node),
            pos: Position::TASK,
        }
    }

    pub(crate) fn start_span(&self, name: Name, site: &'static Location<'static>) -> Context {
        let Some(node) = &self.node else {
            crate::violations::handle(
                vec![actrace_core::Violation::SpanWithoutTask {
                    span: name,
                    ended_task: None,
                }],
                String::new,
            );
            return Context::none();
        };
        let rt = Runtime::get().expect("a task exists, so the runtime does");
        match rt.begin_span(node, self.pos, name, site) {
            Some(pos) => Context {
                node: Some(node.clone()),
                pos,
            },
            None => Context::none(),
        }
    }

    /// Ends the node this context points at, if it is still live.
    pub(crate) fn end(&self) {
        let (Some(node), Some(rt)) = (&self.node, Runtime::get()) else {
            return;
        };
        if self.pos.depth() == 0 {
            rt.end_task(node);
        } else {
            rt.end_span(node, self.pos);
        }
    }
}

impl std::fmt::Debug for Context {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.stack(StackKind::Combined) {
            Some(stack) => write!(f, "Context({stack})"),
            None => f.write_str("Context(none)"),
        }
    }
}
