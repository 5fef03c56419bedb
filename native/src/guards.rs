//! Handles that end tasks and spans: explicitly with `end()`, or when dropped.

use std::ops::Deref;
use std::panic::Location;
use std::sync::Arc;

use actrace_core::{Name, Position, StackKind};

use crate::node::TaskNode;
use crate::runtime::Runtime;
use crate::{ambient, Context};

/// Ends a task or span started with [`Context::with_task`] or
/// [`Context::with_span`] (the seed's `DoneFunc`), when dropped or on
/// [`Done::end`].
#[must_use = "dropping a Done ends its task or span at once"]
pub struct Done {
    nodes: [Option<Context>; 2],
}

impl Done {
    pub(crate) fn task(ctx: Context) -> Self {
        Done {
            nodes: [Some(ctx), None],
        }
    }

    pub(crate) fn span(ctx: Context) -> Self {
        Done {
            nodes: [Some(ctx), None],
        }
    }

    pub(crate) fn task_and_span(task: Context, span: Context) -> Self {
        Done {
            nodes: [Some(span), Some(task)],
        }
    }

    /// Ends the node now.
    pub fn end(mut self) {
        self.finish();
    }

    fn finish(&mut self) {
        for ctx in self.nodes.iter_mut().filter_map(Option::take) {
            ctx.end();
        }
    }
}

impl Drop for Done {
    fn drop(&mut self) {
        self.finish();
    }
}

/// A task that ends when dropped (or on [`Task::end`]). Dereferences to its
/// [`Context`]; may be sent to another thread or moved into a future.
#[must_use = "dropping a Task ends it at once"]
pub struct Task {
    ctx: Context,
}

impl Task {
    pub(crate) fn new(ctx: Context) -> Self {
        Task { ctx }
    }

    /// Starts a span in this task. The span borrows the task mutably, so the
    /// compiler rules out a second live child span (R9) and ending the task
    /// before the span (R10).
    #[inline]
    #[track_caller]
    pub fn span(&mut self, name: impl Into<Name>) -> Span<'_> {
        Span::from_borrowed(&self.ctx, name.into(), Location::caller())
    }

    /// A context for this task, to pass to code that starts child tasks.
    pub fn context(&self) -> Context {
        self.ctx.clone()
    }

    /// Runs `f` with this task as the thread's current context.
    pub fn enter(&self) -> ambient::Entered {
        self.ctx.enter()
    }

    /// Ends the task now (R6, R7).
    pub fn end(self) {}
}

impl Deref for Task {
    type Target = Context;
    fn deref(&self) -> &Context {
        &self.ctx
    }
}

impl Drop for Task {
    fn drop(&mut self) {
        self.ctx.end();
    }
}

/// A span that ends when dropped (or on [`Span::end`]). While it lives it is
/// the current context of the thread that started it, so code deep in the call
/// stack nests its spans under it.
///
/// A span started from a guard borrows that guard's task instead of holding a
/// reference count of its own, which keeps the hot path to a minimum.
#[must_use = "dropping a Span ends it at once"]
pub struct Span<'parent> {
    node: Option<Holder<'parent>>,
    pos: Position,
    prev: ambient::Previous,
}

enum Holder<'a> {
    Borrowed(&'a Arc<TaskNode>),
    Owned(Arc<TaskNode>),
}

impl Holder<'_> {
    fn node(&self) -> &Arc<TaskNode> {
        match self {
            Holder::Borrowed(n) => n,
            Holder::Owned(n) => n,
        }
    }
}

impl<'a> Span<'a> {
    /// Starts a span in `node` from `pos`; it becomes the current context.
    fn start(
        node: Option<Holder<'a>>,
        pos: Position,
        name: Name,
        site: &'static Location<'static>,
    ) -> Self {
        let Some(holder) = node else {
            Context::none().start_span(name, site);
            return Span {
                node: None,
                pos: Position::TASK,
                prev: ambient::Previous::Untouched,
            };
        };
        match Runtime::get().and_then(|rt| rt.begin_span(holder.node(), pos, name, site)) {
            Some(pos) => {
                let prev = ambient::push(holder.node(), pos);
                Span {
                    node: Some(holder),
                    pos,
                    prev,
                }
            }
            None => Span {
                node: None,
                pos: Position::TASK,
                prev: ambient::Previous::Untouched,
            },
        }
    }

    pub(crate) fn from_context(
        ctx: &Context,
        name: Name,
        site: &'static Location<'static>,
    ) -> Span<'static> {
        Span::start(ctx.node.clone().map(Holder::Owned), ctx.pos, name, site)
    }

    #[inline]
    pub(crate) fn from_borrowed(
        ctx: &'a Context,
        name: Name,
        site: &'static Location<'static>,
    ) -> Self {
        Span::start(ctx.node.as_ref().map(Holder::Borrowed), ctx.pos, name, site)
    }

    /// Starts a child span; it borrows this one mutably, so the compiler rules
    /// out siblings (R9) and ending out of order (R10).
    #[inline]
    #[track_caller]
    pub fn span(&mut self, name: impl Into<Name>) -> Span<'_> {
        let node = self.node.as_ref().map(|h| Holder::Borrowed(h.node()));
        Span::start(node, self.pos, name.into(), Location::caller())
    }

    /// Starts a child task of this span.
    #[track_caller]
    pub fn task(&self, name: impl Into<Name>) -> Task {
        Task::new(self.context().start_task(name.into(), Location::caller()))
    }

    /// A context for this span, to pass to code that starts child tasks.
    pub fn context(&self) -> Context {
        Context {
            node: self.node.as_ref().map(|h| h.node().clone()),
            pos: self.pos,
        }
    }

    /// The span-stack string (R13), or `None` if the span was not recorded
    /// (started outside any task).
    pub fn stack(&self, kind: StackKind) -> Option<String> {
        self.context().stack(kind)
    }

    /// Ends the span now (R7, R10).
    pub fn end(self) {}
}

impl Drop for Span<'_> {
    #[inline]
    fn drop(&mut self) {
        if let (Some(holder), Some(rt)) = (&self.node, Runtime::get()) {
            rt.end_span(holder.node(), self.pos);
        }
        if let Some(holder) = &self.node {
            ambient::pop(holder.node(), std::mem::take(&mut self.prev));
        }
    }
}
