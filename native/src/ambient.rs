//! The ambient current context of each thread (style 2).

use std::cell::RefCell;
use std::marker::PhantomData;
use std::sync::Arc;

use actrace_core::Position;

use crate::node::TaskNode;
use crate::Context;

thread_local! {
    static CURRENT: RefCell<Context> = const { RefCell::new(Context::none()) };
}

/// The calling thread's current context.
pub(crate) fn current() -> Context {
    CURRENT.with(|c| c.borrow().clone())
}

/// Replaces the thread's current context, returning the previous one.
pub(crate) fn replace(ctx: Context) -> Context {
    CURRENT.with(|c| std::mem::replace(&mut *c.borrow_mut(), ctx))
}

/// What a span guard must restore when it ends.
#[derive(Default)]
pub(crate) enum Previous {
    /// The guard did not change the current context.
    #[default]
    Untouched,
    /// The current context was in the same task: only its position changed,
    /// which costs no reference count.
    Position(Position),
    /// The current context was elsewhere.
    Context(Context),
}

/// Makes the span at `pos` of `node` current.
#[inline]
pub(crate) fn push(node: &Arc<TaskNode>, pos: Position) -> Previous {
    CURRENT.with(|c| {
        let mut c = c.borrow_mut();
        if c.node.as_ref().is_some_and(|n| Arc::ptr_eq(n, node)) {
            Previous::Position(std::mem::replace(&mut c.pos, pos))
        } else {
            Previous::Context(std::mem::replace(
                &mut *c,
                Context {
                    node: Some(node.clone()),
                    pos,
                },
            ))
        }
    })
}

/// Restores what [`push`] replaced. If the current context is no longer in
/// `node`'s task (the guard moved threads, or guards ended out of order), a
/// bare position is not restored: it would point into another task.
#[inline]
pub(crate) fn pop(node: &Arc<TaskNode>, prev: Previous) {
    CURRENT.with(|c| {
        let mut c = c.borrow_mut();
        match prev {
            Previous::Untouched => {}
            Previous::Position(pos) => {
                if c.node.as_ref().is_some_and(|n| Arc::ptr_eq(n, node)) {
                    c.pos = pos;
                }
            }
            Previous::Context(ctx) => {
                // Drop the replaced context after releasing the borrow.
                let old = std::mem::replace(&mut *c, ctx);
                drop(c);
                drop(old);
            }
        }
    })
}

/// Makes `ctx` current until the guard drops.
pub(crate) fn enter(ctx: Context) -> Entered {
    Entered {
        prev: Some(replace(ctx)),
        _not_send: PhantomData,
    }
}

/// Restores the previous current context when dropped. Stays on its thread.
pub struct Entered {
    prev: Option<Context>,
    _not_send: PhantomData<*const ()>,
}

impl Drop for Entered {
    fn drop(&mut self) {
        if let Some(prev) = self.prev.take() {
            replace(prev);
        }
    }
}
