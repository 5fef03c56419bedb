//! The ambient current context of each thread (style 2).

use std::cell::RefCell;
use std::marker::PhantomData;

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
