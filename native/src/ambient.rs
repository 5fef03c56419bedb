//! The ambient current context of each thread (style 2).
//!
//! The current task is kept twice: as an owning `Arc` (so the context stays
//! valid) and as a bare pointer next to the position. Span guards compare and
//! swap only the bare pointer and position, plain `Cell`s that need no
//! destructor, which keeps the span hot path free of reference counts and
//! borrow flags.
//!
//! When a span guard that made its task current ends and the thread was in
//! no task before, the `Arc` stays *parked* in the thread: the thread is in no
//! task again, but the next span of the same task (a loop of spans on a task
//! guard) becomes current without touching the reference count. A parked task
//! only keeps its memory a little longer; its name and lane are given back
//! when it ends, as always (R5, C1).

use std::cell::{Cell, RefCell};
use std::marker::PhantomData;
use std::ptr;
use std::sync::Arc;

use actrace_core::Position;

use crate::node::TaskNode;
use crate::Context;

thread_local! {
    /// Keeps the current (or parked) task alive; touched only when the task
    /// changes.
    static OWNER: RefCell<Option<Arc<TaskNode>>> = const { RefCell::new(None) };
    /// `Arc::as_ptr` of `OWNER`'s task, or null.
    static HELD: Cell<*const TaskNode> = const { Cell::new(ptr::null()) };
    /// The current task: `HELD`, or null while the thread is in no task.
    static TASK: Cell<*const TaskNode> = const { Cell::new(ptr::null()) };
    /// Where in that task the thread is.
    static POS: Cell<Position> = const { Cell::new(Position::TASK) };
}

fn as_ptr(node: &Option<Arc<TaskNode>>) -> *const TaskNode {
    node.as_ref().map_or(ptr::null(), Arc::as_ptr)
}

/// The calling thread's current context.
pub(crate) fn current() -> Context {
    if TASK.get().is_null() {
        return Context::none();
    }
    Context {
        node: OWNER.with(|o| o.borrow().clone()),
        pos: POS.get(),
    }
}

/// Replaces the thread's current context, returning the previous one.
pub(crate) fn replace(ctx: Context) -> Context {
    let was_in_task = !TASK.get().is_null();
    let ptr = as_ptr(&ctx.node);
    TASK.set(ptr);
    HELD.set(ptr);
    let pos = POS.replace(ctx.pos);
    let node = OWNER.with(|o| std::mem::replace(&mut *o.borrow_mut(), ctx.node));
    // A parked task was not current: it is dropped here, after the borrow.
    Context {
        node: node.filter(|_| was_in_task),
        pos,
    }
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
    /// The thread was in no task: the task is parked again on restore.
    Outside,
    /// The current context was elsewhere.
    Context(Context),
}

/// Makes the span at `pos` of `node` current.
#[inline]
pub(crate) fn push(node: &Arc<TaskNode>, pos: Position) -> Previous {
    let me = Arc::as_ptr(node);
    let current = TASK.get();
    if current == me {
        Previous::Position(POS.replace(pos))
    } else if current.is_null() && HELD.get() == me {
        // Unpark: the same task as last time, no reference count.
        TASK.set(me);
        POS.set(pos);
        Previous::Outside
    } else {
        push_other_task(node, pos)
    }
}

#[cold]
fn push_other_task(node: &Arc<TaskNode>, pos: Position) -> Previous {
    let previous = replace(Context {
        node: Some(node.clone()),
        pos,
    });
    if previous.node.is_none() {
        Previous::Outside
    } else {
        Previous::Context(previous)
    }
}

/// Restores what [`push`] replaced. If the current context is no longer in
/// `node`'s task (the guard moved threads, or guards ended out of order), a
/// bare position is not restored: it would point into another task.
#[inline]
pub(crate) fn pop(node: &Arc<TaskNode>, prev: Previous) {
    match prev {
        Previous::Untouched => {}
        Previous::Position(pos) => {
            if TASK.get() == Arc::as_ptr(node) {
                POS.set(pos);
            }
        }
        Previous::Outside => {
            // Park: back to no task, keeping the reference for next time.
            TASK.set(ptr::null());
            POS.set(Position::TASK);
        }
        // The replaced context is dropped here, after every borrow ended.
        Previous::Context(ctx) => drop(replace(ctx)),
    }
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
