//! The lock around one task's state, biased to the thread that uses it.
//!
//! Almost every span operation of a task comes from one thread, and its
//! critical section lasts a few nanoseconds, yet an atomic swap to take a lock
//! costs about as much as the rest of a span pair put together. So the lock
//! belongs to one thread (the *owner*, at first the one that started the
//! task), which enters with plain stores and loads. Any other thread takes a
//! classic spin lock and then has to make sure the owner is not inside: it
//! issues a process-wide memory barrier (`membarrier`), which lets the
//! owner's side do without a fence of its own (see `fence`), and waits for
//! the owner to leave. Where that barrier does not exist, nobody owns the
//! lock and it is a plain spin lock.
//!
//! That barrier costs microseconds, so a lock used from another thread moves
//! to that thread once (a task started on one thread and handed to a worker)
//! and, the second time, stops being biased at all (a task shared between
//! threads, or an async task that migrates); from then on every thread takes
//! the spin lock. The writer's periodic visits never move the bias.

use std::cell::UnsafeCell;
use std::ops::{Deref, DerefMut};
use std::sync::atomic::{AtomicBool, AtomicU8, AtomicUsize, Ordering};

use crate::fence;

/// How many times the bias may move to another thread before it is dropped.
const MOVES: u8 = 1;

/// A number unique to each live thread: the address of a thread-local.
#[inline]
fn thread_key() -> usize {
    thread_local! {
        static KEY: u8 = const { 0 };
    }
    KEY.with(|k| k as *const u8 as usize)
}

pub(crate) struct SpinLock<T> {
    /// The thread the lock is biased to (its `thread_key`), or 0.
    owner: AtomicUsize,
    /// True while the owner is inside through the fast path.
    owner_inside: AtomicBool,
    /// The spin lock everyone but the owner's fast path takes.
    locked: AtomicBool,
    /// How many times the bias moved (changed only under `locked`).
    moves: AtomicU8,
    value: UnsafeCell<T>,
}

// SAFETY: the lock hands out access to `value` to one thread at a time, so it
// is as thread-safe as a mutex: shareable when `T` can be sent.
unsafe impl<T: Send> Sync for SpinLock<T> {}

impl<T> SpinLock<T> {
    /// A lock biased to the calling thread.
    pub(crate) fn new(value: T) -> Self {
        SpinLock {
            owner: AtomicUsize::new(if fence::available() { thread_key() } else { 0 }),
            owner_inside: AtomicBool::new(false),
            locked: AtomicBool::new(false),
            moves: AtomicU8::new(0),
            value: UnsafeCell::new(value),
        }
    }

    /// Locks for a span operation or anything else the program does; may move
    /// the bias to the calling thread (see the module documentation).
    #[inline]
    pub(crate) fn lock(&self) -> SpinGuard<'_, T> {
        if let Some(guard) = self.try_owner_fast_path() {
            return guard;
        }
        self.lock_slow()
    }

    /// Locks every lock of `locks` for a visit of the writer's (collecting
    /// buffered events), which leaves each bias where it is. One process-wide
    /// barrier serves all their owners: the writer visits every live task about
    /// every 50 ms, and a barrier costs microseconds. No other thread holds
    /// two task locks at once, so holding many here cannot deadlock.
    pub(crate) fn visit_all<'a>(
        locks: impl IntoIterator<Item = &'a SpinLock<T>>,
    ) -> Vec<SpinGuard<'a, T>> {
        let me = thread_key();
        let mut guards = Vec::new();
        let mut owned_elsewhere = false;
        for lock in locks {
            if let Some(guard) = lock.try_owner_fast_path() {
                guards.push(guard);
                continue;
            }
            lock.take_spin_lock();
            let owner = lock.owner.load(Ordering::Relaxed);
            owned_elsewhere |= owner != 0 && owner != me;
            guards.push(SpinGuard { lock, fast: false });
        }
        if owned_elsewhere {
            fence::heavy();
            let mut spins = 0u32;
            for guard in guards.iter().filter(|g| !g.fast) {
                while guard.lock.owner_inside.load(Ordering::Acquire) {
                    backoff(&mut spins);
                }
            }
        }
        guards
    }

    #[inline]
    fn try_owner_fast_path(&self) -> Option<SpinGuard<'_, T>> {
        let me = thread_key();
        if self.owner.load(Ordering::Relaxed) != me {
            return None;
        }
        self.owner_inside.store(true, Ordering::Relaxed);
        // Only keeps the compiler from moving the loads below above the
        // store: the other side's `fence::heavy` does the rest (a Dekker
        // handshake with the fence on one side only).
        fence::light();
        // Re-reading the owner after `locked` catches a bias that moved
        // away while another thread held the lock.
        if !self.locked.load(Ordering::Acquire) && self.owner.load(Ordering::Relaxed) == me {
            return Some(SpinGuard {
                lock: self,
                fast: true,
            });
        }
        self.owner_inside.store(false, Ordering::Release);
        None
    }

    #[cold]
    fn lock_slow(&self) -> SpinGuard<'_, T> {
        self.take_spin_lock();
        let me = thread_key();
        let owner = self.owner.load(Ordering::Relaxed);
        if owner != 0 && owner != me {
            let moves = self.moves.load(Ordering::Relaxed);
            let next = if moves < MOVES { me } else { 0 };
            self.moves.store(moves.saturating_add(1), Ordering::Relaxed);
            // Before the barrier: the old owner's fast path then either shows
            // up in `owner_inside` below or sees the new owner.
            self.owner.store(next, Ordering::Relaxed);
            fence::heavy();
            let mut spins = 0u32;
            while self.owner_inside.load(Ordering::Acquire) {
                backoff(&mut spins);
            }
        }
        SpinGuard {
            lock: self,
            fast: false,
        }
    }

    fn take_spin_lock(&self) {
        let mut spins = 0u32;
        while self.locked.swap(true, Ordering::Acquire) {
            while self.locked.load(Ordering::Relaxed) {
                backoff(&mut spins);
            }
        }
    }
}

/// Spins briefly, then yields, so a holder that was preempted is not starved.
fn backoff(spins: &mut u32) {
    if *spins < 100 {
        *spins += 1;
        std::hint::spin_loop();
    } else {
        std::thread::yield_now();
    }
}

/// Access to the locked value; unlocks when dropped (also while unwinding).
pub(crate) struct SpinGuard<'a, T> {
    lock: &'a SpinLock<T>,
    /// Entered through the owner's fast path.
    fast: bool,
}

impl<T> Deref for SpinGuard<'_, T> {
    type Target = T;
    fn deref(&self) -> &T {
        // SAFETY: the guard exists only while this thread holds the lock.
        unsafe { &*self.lock.value.get() }
    }
}

impl<T> DerefMut for SpinGuard<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        // SAFETY: as above, and `&mut self` makes this the only access.
        unsafe { &mut *self.lock.value.get() }
    }
}

impl<T> Drop for SpinGuard<'_, T> {
    #[inline]
    fn drop(&mut self) {
        if self.fast {
            self.lock.owner_inside.store(false, Ordering::Release);
        } else {
            self.lock.locked.store(false, Ordering::Release);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Arc, Barrier};

    /// A non-atomic read-modify-write under the lock: lost updates would show
    /// if two threads were ever inside at once.
    fn bump(lock: &SpinLock<u64>, visit: bool) {
        let mut g = if visit {
            SpinLock::visit_all([lock]).pop().unwrap()
        } else {
            lock.lock()
        };
        let v = *g;
        // Widen the window in which an intruder would overwrite the count.
        for _ in 0..20 {
            std::hint::spin_loop();
        }
        *g = std::hint::black_box(v) + 1;
    }

    fn hammer(lock: &Arc<SpinLock<u64>>, threads: usize, each: u64, visit_every: u64) {
        let start = Arc::new(Barrier::new(threads + 1));
        let workers: Vec<_> = (0..threads)
            .map(|i| {
                let (lock, start) = (lock.clone(), start.clone());
                std::thread::spawn(move || {
                    start.wait();
                    for n in 0..each {
                        bump(&lock, i == 0 && n % visit_every == 0);
                    }
                })
            })
            .collect();
        start.wait();
        // The creating thread is the owner: it takes the fast path meanwhile.
        for _ in 0..each {
            bump(lock, false);
        }
        for w in workers {
            w.join().unwrap();
        }
    }

    #[test]
    #[cfg(target_os = "linux")]
    fn linux_locks_are_biased() {
        // Otherwise the tests below would only exercise the plain spin lock.
        assert!(fence::available(), "membarrier(2) private expedited");
        let lock = SpinLock::new(());
        assert_eq!(lock.owner.load(Ordering::Relaxed), thread_key());
        assert!(lock.lock().fast);
    }

    #[test]
    fn owner_and_other_threads_exclude_each_other() {
        let lock = Arc::new(SpinLock::new(0u64));
        hammer(&lock, 3, 50_000, 7);
        assert_eq!(*lock.lock(), 200_000);
        // The bias moved once, then was dropped: everyone takes the spin lock.
        assert_eq!(lock.owner.load(Ordering::Relaxed), 0);
    }

    #[test]
    fn owner_excludes_the_writers_visits_and_keeps_its_bias() {
        let lock = Arc::new(SpinLock::new(0u64));
        let me = if fence::available() { thread_key() } else { 0 };
        let visitor = {
            let lock = lock.clone();
            std::thread::spawn(move || {
                for _ in 0..20_000 {
                    bump(&lock, true);
                }
            })
        };
        for _ in 0..200_000 {
            bump(&lock, false);
        }
        visitor.join().unwrap();
        assert_eq!(*lock.lock(), 220_000);
        assert_eq!(
            lock.owner.load(Ordering::Relaxed),
            me,
            "visits keep the bias"
        );
    }

    #[test]
    fn visits_of_many_locks_exclude_each_owner_and_keep_the_biases() {
        const LOCKS: usize = 4;
        let start = Arc::new(Barrier::new(LOCKS + 1));
        // Each lock is created by (so biased to) its own thread.
        let (tx, rx) = std::sync::mpsc::channel();
        let owners: Vec<_> = (0..LOCKS)
            .map(|_| {
                let (tx, start) = (tx.clone(), start.clone());
                std::thread::spawn(move || {
                    let lock = Arc::new(SpinLock::new(0u64));
                    tx.send((lock.clone(), thread_key())).unwrap();
                    start.wait();
                    for _ in 0..50_000 {
                        bump(&lock, false);
                    }
                })
            })
            .collect();
        let locks: Vec<(Arc<SpinLock<u64>>, usize)> = rx.iter().take(LOCKS).collect();
        start.wait();
        for _ in 0..5_000 {
            for mut guard in SpinLock::visit_all(locks.iter().map(|(l, _)| &**l)) {
                let v = *guard;
                for _ in 0..20 {
                    std::hint::spin_loop();
                }
                *guard = std::hint::black_box(v) + 1;
            }
        }
        for o in owners {
            o.join().unwrap();
        }
        for (lock, key) in &locks {
            let owner = lock.owner.load(Ordering::Relaxed);
            assert_eq!(*SpinLock::visit_all([&**lock])[0], 55_000);
            if fence::available() {
                assert_eq!(owner, *key, "visits keep the bias");
            }
        }
    }

    #[test]
    fn bias_moves_to_a_thread_the_task_is_handed_to() {
        let lock = Arc::new(SpinLock::new(0u64));
        let worker_key = {
            let lock = lock.clone();
            std::thread::spawn(move || {
                for _ in 0..1000 {
                    bump(&lock, false);
                }
                (thread_key(), lock.owner.load(Ordering::Relaxed))
            })
            .join()
            .unwrap()
        };
        if fence::available() {
            assert_eq!(worker_key.0, worker_key.1, "the worker owns the lock now");
        }
        assert_eq!(*lock.lock(), 1000);
    }
}
