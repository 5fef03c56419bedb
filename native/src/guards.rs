//! Handles that end tasks and spans: explicitly with `end()`, or when dropped.

use std::marker::PhantomData;
use std::ops::Deref;
use std::panic::Location;

use actrace_core::Name;

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
    #[track_caller]
    pub fn span(&mut self, name: impl Into<Name>) -> Span<'_> {
        Span::enter_new(self.ctx.start_span(name.into(), Location::caller()))
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
#[must_use = "dropping a Span ends it at once"]
pub struct Span<'parent> {
    ctx: Context,
    prev: Option<Context>,
    _parent: PhantomData<&'parent mut ()>,
}

impl Span<'static> {
    pub(crate) fn enter_new(ctx: Context) -> Self {
        let prev = ambient::replace(ctx.clone());
        Span {
            ctx,
            prev: Some(prev),
            _parent: PhantomData,
        }
    }
}

impl Span<'_> {
    /// Starts a child span; it borrows this one mutably, so the compiler rules
    /// out siblings (R9) and ending out of order (R10).
    #[track_caller]
    pub fn span(&mut self, name: impl Into<Name>) -> Span<'_> {
        Span::enter_new(self.ctx.start_span(name.into(), Location::caller()))
    }

    /// A context for this span, to pass to code that starts child tasks.
    pub fn context(&self) -> Context {
        self.ctx.clone()
    }

    /// Ends the span now (R7, R10).
    pub fn end(self) {}
}

impl Deref for Span<'_> {
    type Target = Context;
    fn deref(&self) -> &Context {
        &self.ctx
    }
}

impl Drop for Span<'_> {
    fn drop(&mut self) {
        self.ctx.end();
        if let Some(prev) = self.prev.take() {
            ambient::replace(prev);
        }
    }
}
