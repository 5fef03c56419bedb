//! A minimal executor for the demo's async phase, so actrace is shown with
//! futures without pulling in a runtime: a run queue of boxed futures, wakers
//! that put a future back on the queue, and worker threads that poll until
//! every spawned future has finished. A future may resume on another thread
//! than the one it was suspended on, which is what `in_task` has to survive.

use std::collections::VecDeque;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::task::{Context, Poll, Wake, Waker};

type BoxFuture = Pin<Box<dyn Future<Output = ()> + Send>>;

/// Spawns futures onto the executor; cheap to clone into futures.
#[derive(Clone)]
pub(crate) struct Spawner {
    shared: Arc<Shared>,
}

struct Shared {
    state: Mutex<State>,
    /// Signalled when a job is queued or the last one finished.
    changed: Condvar,
}

struct State {
    queue: VecDeque<Arc<Job>>,
    /// Spawned futures that have not completed yet.
    unfinished: usize,
}

/// A spawned future; its waker is the job itself.
struct Job {
    future: Mutex<Option<BoxFuture>>,
    shared: Arc<Shared>,
}

impl Shared {
    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn schedule(&self, job: Arc<Job>) {
        self.state().queue.push_back(job);
        self.changed.notify_one();
    }

    /// The next job to poll, or `None` once every future has finished.
    fn next(&self) -> Option<Arc<Job>> {
        let mut state = self.state();
        loop {
            if let Some(job) = state.queue.pop_front() {
                return Some(job);
            }
            if state.unfinished == 0 {
                return None;
            }
            state = self.changed.wait(state).unwrap_or_else(|p| p.into_inner());
        }
    }

    fn finished(&self) {
        let mut state = self.state();
        state.unfinished -= 1;
        if state.unfinished == 0 {
            self.changed.notify_all();
        }
    }
}

impl Job {
    fn poll(self: &Arc<Self>) {
        let mut slot = self.future.lock().unwrap_or_else(|p| p.into_inner());
        // A job woken twice may be queued twice; the second poll finds it done.
        let Some(future) = slot.as_mut() else { return };
        let waker = Waker::from(self.clone());
        if future
            .as_mut()
            .poll(&mut Context::from_waker(&waker))
            .is_ready()
        {
            *slot = None;
            drop(slot);
            self.shared.finished();
        }
    }
}

impl Wake for Job {
    fn wake(self: Arc<Self>) {
        self.shared.clone().schedule(self);
    }
}

impl Spawner {
    /// Queues `future`; its output is available through the handle.
    pub(crate) fn spawn<F>(&self, future: F) -> JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        let slot = Arc::new(Mutex::new(Slot::Waiting(None)));
        let out = slot.clone();
        let job = Arc::new(Job {
            future: Mutex::new(Some(Box::pin(async move {
                let value = future.await;
                let waiting = std::mem::replace(&mut *lock(&out), Slot::Done(value));
                if let Slot::Waiting(Some(waker)) = waiting {
                    waker.wake();
                }
            }))),
            shared: self.shared.clone(),
        });
        self.shared.state().unfinished += 1;
        self.shared.schedule(job);
        JoinHandle { slot }
    }
}

/// Runs `future` and everything it spawns on `threads` threads, and returns
/// its output once all of them have finished.
pub(crate) fn block_on<F>(threads: usize, future: impl FnOnce(Spawner) -> F) -> F::Output
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    let spawner = Spawner {
        shared: Arc::new(Shared {
            state: Mutex::new(State {
                queue: VecDeque::new(),
                unfinished: 0,
            }),
            changed: Condvar::new(),
        }),
    };
    let handle = spawner.spawn(future(spawner.clone()));
    std::thread::scope(|s| {
        for _ in 0..threads.max(1) {
            s.spawn(|| {
                while let Some(job) = spawner.shared.next() {
                    job.poll();
                }
            });
        }
    });
    let slot = std::mem::replace(&mut *lock(&handle.slot), Slot::Taken);
    match slot {
        Slot::Done(value) => value,
        _ => unreachable!("every spawned future finished before the workers stopped"),
    }
}

/// The output of a spawned future, awaited from another future.
pub(crate) struct JoinHandle<T> {
    slot: Arc<Mutex<Slot<T>>>,
}

enum Slot<T> {
    Waiting(Option<Waker>),
    Done(T),
    Taken,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl<T> Future for JoinHandle<T> {
    type Output = T;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<T> {
        let mut slot = lock(&self.slot);
        match std::mem::replace(&mut *slot, Slot::Taken) {
            Slot::Done(value) => Poll::Ready(value),
            Slot::Waiting(_) => {
                *slot = Slot::Waiting(Some(cx.waker().clone()));
                Poll::Pending
            }
            Slot::Taken => panic!("a JoinHandle polled after it returned"),
        }
    }
}

/// Gives other futures a turn: pending once (waking itself at once), then
/// ready. The demo's stand-in for awaiting I/O.
pub(crate) fn yield_now() -> impl Future<Output = ()> {
    let mut yielded = false;
    std::future::poll_fn(move |cx| {
        if yielded {
            Poll::Ready(())
        } else {
            yielded = true;
            cx.waker().wake_by_ref();
            Poll::Pending
        }
    })
}
