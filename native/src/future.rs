//! Async: a future that runs as a (child) task (style 3).

use std::future::Future;
use std::pin::Pin;
use std::task::{Context as Waker, Poll};

use actrace_core::Name;

use crate::{ambient, Context, Task};

/// A future running as a task: on every poll, on whichever thread, its task
/// (or the span open inside it) is the current context, so spans started
/// inside behave as in synchronous code, across `.await` and worker threads.
/// The task ends when the future completes or is dropped.
#[must_use = "futures do nothing unless polled"]
pub struct InTask<F> {
    future: F,
    task: Option<Task>,
    /// The context current inside the future between polls (a span open
    /// across an `.await`).
    inner: Context,
}

impl<F> InTask<F> {
    fn new(future: F, task: Task) -> Self {
        let inner = task.context();
        InTask {
            future,
            task: Some(task),
            inner,
        }
    }
}

impl<F: Future> Future for InTask<F> {
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Waker<'_>) -> Poll<F::Output> {
        // SAFETY: `future` is structurally pinned: it is never moved out of
        // `self` and never exposed unpinned; the other fields are not pinned.
        let this = unsafe { self.get_unchecked_mut() };
        let future = unsafe { Pin::new_unchecked(&mut this.future) };
        let outer = ambient::replace(std::mem::take(&mut this.inner));
        let poll = future.poll(cx);
        this.inner = ambient::replace(outer);
        if poll.is_ready() {
            this.inner = Context::none();
            this.task.take();
        }
        poll
    }
}

/// Runs futures as tasks.
pub trait FutureExt: Future + Sized {
    /// Runs this future as a child task of the calling thread's current
    /// context, started now.
    #[track_caller]
    fn in_task(self, name: impl Into<Name>) -> InTask<Self> {
        InTask::new(self, Context::current().task(name))
    }

    /// Runs this future as a child task of `parent`, started now.
    #[track_caller]
    fn in_task_of(self, parent: &Context, name: impl Into<Name>) -> InTask<Self> {
        InTask::new(self, parent.task(name))
    }

    /// Runs this future inside an existing task, which ends with it.
    fn with_task(self, task: Task) -> InTask<Self> {
        InTask::new(self, task)
    }
}

impl<F: Future> FutureExt for F {}
