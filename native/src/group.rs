//! Task groups: a span during which child tasks run concurrently and are
//! waited for before the span ends (the seed's `WithTaskGroup`).

use std::thread::{Scope, ScopedJoinHandle};

use actrace_core::Name;

use crate::{Context, Span};

/// Spawns child tasks of a group span on scoped threads.
pub struct TaskGroup<'scope, 'env> {
    scope: &'scope Scope<'scope, 'env>,
    parent: Context,
}

impl<'scope, 'env> TaskGroup<'scope, 'env> {
    /// Runs `f` on a new thread as a child task named `name` of the group
    /// span; the task is the thread's current context.
    #[track_caller]
    pub fn spawn<T: Send + 'scope>(
        &self,
        name: impl Into<Name>,
        f: impl FnOnce(&Context) -> T + Send + 'scope,
    ) -> ScopedJoinHandle<'scope, T> {
        let task = self.parent.task(name);
        self.scope.spawn(move || {
            let _entered = task.enter();
            let out = f(&task);
            drop(_entered);
            drop(task);
            out
        })
    }
}

/// Opens a span named `name` in `parent`, lets `f` spawn child tasks into the
/// group, and waits for all of them before the span ends.
#[track_caller]
pub fn task_group<'env, R>(
    parent: &Context,
    name: impl Into<Name>,
    f: impl for<'scope> FnOnce(&TaskGroup<'scope, 'env>) -> R,
) -> R {
    let span: Span<'static> = parent.span(name);
    let ctx = span.context();
    let out = std::thread::scope(|scope| f(&TaskGroup { scope, parent: ctx }));
    drop(span);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn group_children_may_borrow_local_data() {
        let root = crate::root_task("group-test");
        let data = vec![1, 2, 3];
        let total = task_group(&root, "sum", |g| {
            let a = g.spawn("part", |_| data[..1].iter().sum::<i32>());
            let b = g.spawn("part", |_| data[1..].iter().sum::<i32>());
            a.join().unwrap() + b.join().unwrap()
        });
        assert_eq!(total, 6);
    }
}
