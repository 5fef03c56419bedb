//! Hands event batches from traced threads to the background writer, which
//! encodes them once and feeds every consumer (K1–K3).

use std::collections::VecDeque;
use std::sync::mpsc::{sync_channel, SyncSender};
use std::sync::{Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use actrace_core::{BatchScratch, Encoder, Event};

use crate::metrics::{Closed, STATS};
use crate::mirror::Mirror;
use crate::Consumer;

/// Events per batch: a task's buffer is handed over when it holds this many.
pub(crate) const BATCH: usize = 512;
/// Events queued before producers wait for the writer: bounds memory (2 MiB
/// of 32-byte events, twice that while the writer works through what it
/// took) however the events are batched, and lets the program run ~1.5 ms
/// ahead of a busy writer.
const MAX_QUEUED_EVENTS: usize = 128 * BATCH;
/// Empty batch vectors kept for reuse.
const POOL: usize = 64;
/// Events queued before a sleeping writer is woken: enough that a writer
/// faster than the program sleeps rarely, few enough that it starts long
/// before producers would have to wait.
const WAKE_AT_EVENTS: usize = 8 * BATCH;
/// Encoded bytes the writer gathers before handing them to the consumers:
/// each hand-over is one websocket message for live clients, and at 64 KiB
/// the per-message work made a reading client fall behind at ~2.7 M spans/s
/// (debug build) where 1 MiB does not.
const WRITE_OUT_AT: usize = 1 << 20;
/// How often the writer collects events still sitting in task buffers.
pub(crate) const PULL_EVERY: Duration = Duration::from_millis(50);

pub(crate) enum Item {
    Events(Vec<Event>),
    /// Attach a consumer at this point of the stream. With `snapshot`, that is
    /// what it starts from (recording just began); otherwise the writer's
    /// mirror.
    Attach(Box<dyn Consumer>, Option<Vec<Event>>),
    /// Everything before this item reached the consumers; flush them and
    /// answer.
    Flush(SyncSender<()>),
    /// Close every consumer's stream and stop.
    Shutdown(SyncSender<()>),
}

impl Item {
    /// Anything but events: the writer acts on it at once.
    fn is_control(&self) -> bool {
        !matches!(self, Item::Events(_))
    }
}

#[derive(Default)]
struct Queue {
    items: VecDeque<Item>,
    /// Small hand-overs (a task starting or ending) are appended here and
    /// queued as one batch once it is full or the writer takes the queue: no
    /// allocation per hand-over, and the writer sees few large batches.
    open: Vec<Event>,
    /// Emptied batch vectors, reused so steady-state recording allocates
    /// nothing.
    pool: Vec<Vec<Event>>,
    queued_events: usize,
    /// The writer is waiting for work: a producer that queues enough wakes it.
    writer_idle: bool,
    stopped: bool,
}

impl Queue {
    /// Queues an item after everything handed over before it.
    fn queue_item(&mut self, item: Item) {
        self.seal_open();
        self.items.push_back(item);
    }

    /// Makes room for `n` more events in the open batch, queueing it first
    /// if it is full.
    fn open_room(&mut self, n: usize) {
        if self.open.len() + n > self.open.capacity() {
            self.seal_open();
            if self.open.capacity() < BATCH {
                self.open.reserve_exact(BATCH);
            }
        }
    }

    /// Queues the small hand-overs collected so far as one batch.
    fn seal_open(&mut self) {
        if self.open.is_empty() {
            return;
        }
        let fresh = self.pool.pop().unwrap_or_default();
        let batch = std::mem::replace(&mut self.open, fresh);
        self.items.push_back(Item::Events(batch));
    }
}

/// The queue between traced threads and the writer thread.
#[derive(Default)]
pub(crate) struct Pipeline {
    queue: Mutex<Queue>,
    wake_writer: Condvar,
    space: Condvar,
}

impl Pipeline {
    fn lock(&self) -> MutexGuard<'_, Queue> {
        self.queue.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Hands a full (or final) batch to the writer and leaves an empty vector
    /// in its place. Never blocks; returns true if the queue is over its
    /// bound, in which case the caller should [`Pipeline::wait_for_space`]
    /// once it holds no lock.
    pub(crate) fn push_batch(&self, buf: &mut Vec<Event>) -> bool {
        if buf.is_empty() {
            return false;
        }
        let mut q = self.lock();
        if q.stopped {
            buf.clear();
            return false;
        }
        q.queued_events += buf.len();
        if buf.len() >= BATCH / 2 {
            let fresh = q.pool.pop().unwrap_or_else(|| Vec::with_capacity(BATCH));
            let batch = std::mem::replace(buf, fresh);
            q.queue_item(Item::Events(batch));
        } else {
            // A few events: the task keeps its small buffer, emptied.
            q.open_room(buf.len());
            q.open.append(buf);
        }
        self.queued(q)
    }

    /// Hands one event to the writer, as [`Pipeline::push_batch`] would a
    /// buffer holding only it.
    pub(crate) fn push_event(&self, event: Event) -> bool {
        let mut q = self.lock();
        if q.stopped {
            return false;
        }
        q.queued_events += 1;
        q.open_room(1);
        q.open.push(event);
        self.queued(q)
    }

    /// After events were queued: wakes the writer if enough wait, and tells
    /// whether the producer must wait for space.
    fn queued(&self, mut q: MutexGuard<'_, Queue>) -> bool {
        let over = q.queued_events > MAX_QUEUED_EVENTS;
        let wake = q.writer_idle && q.queued_events >= WAKE_AT_EVENTS;
        if wake {
            q.writer_idle = false;
        }
        drop(q);
        if wake {
            self.wake_writer.notify_one();
        }
        over
    }

    /// Waits until the writer has caught up below the bound.
    pub(crate) fn wait_for_space(&self) {
        let mut q = self.lock();
        while q.queued_events > MAX_QUEUED_EVENTS && !q.stopped {
            q = self.space.wait(q).unwrap_or_else(|p| p.into_inner());
        }
    }

    pub(crate) fn push(&self, item: Item) {
        let mut q = self.lock();
        if q.stopped {
            return;
        }
        q.queue_item(item);
        drop(q);
        self.wake_writer.notify_one();
    }

    /// Queues a flush barrier and waits until the writer passed it.
    pub(crate) fn sync(&self, shutdown: bool) {
        let (tx, rx) = sync_channel(1);
        self.push(if shutdown {
            Item::Shutdown(tx)
        } else {
            Item::Flush(tx)
        });
        // The writer answers, or drops the sender if it has stopped.
        let _ = rx.recv_timeout(Duration::from_secs(10));
    }

    fn take(&self, timeout: Duration) -> VecDeque<Item> {
        let mut q = self.lock();
        if q.queued_events < WAKE_AT_EVENTS && !q.items.iter().any(Item::is_control) {
            q.writer_idle = true;
            q = self
                .wake_writer
                .wait_timeout(q, timeout)
                .unwrap_or_else(|p| p.into_inner())
                .0;
            q.writer_idle = false;
        }
        let was_over = q.queued_events > MAX_QUEUED_EVENTS;
        q.seal_open();
        q.queued_events = 0;
        let items = std::mem::take(&mut q.items);
        drop(q);
        if was_over {
            // Producers may go on while this work is encoded: memory stays
            // bounded by twice the queue bound.
            self.space.notify_all();
        }
        items
    }

    fn recycle(&self, mut batch: Vec<Event>) {
        if batch.capacity() < BATCH {
            // Not worth keeping, and not worth a lock.
            return;
        }
        batch.clear();
        let mut q = self.lock();
        if q.pool.len() < POOL {
            q.pool.push(batch);
        }
    }

    fn caught_up(&self, stop: bool) {
        let mut q = self.lock();
        q.stopped |= stop;
        drop(q);
        self.space.notify_all();
    }
}

/// The writer thread's state.
pub(crate) struct Writer {
    encoder: Encoder,
    process_name: String,
    consumers: Vec<Box<dyn Consumer>>,
    mirror: Mirror,
    out: Vec<u8>,
    scratch: BatchScratch,
}

impl Writer {
    pub(crate) fn new(encoder: Encoder, process_name: String) -> Self {
        Writer {
            encoder,
            process_name,
            consumers: Vec::new(),
            mirror: Mirror::default(),
            out: Vec::new(),
            scratch: BatchScratch::default(),
        }
    }

    /// Runs until shutdown. `pull` moves events still sitting in task buffers
    /// into the pipeline; it is called about every [`PULL_EVERY`].
    pub(crate) fn run(mut self, pipeline: &Pipeline, pull: impl Fn()) {
        let mut last_pull = Instant::now();
        loop {
            let items = pipeline.take(PULL_EVERY);
            let mut stop = false;
            for item in items {
                match item {
                    Item::Events(batch) => {
                        self.events(&batch);
                        pipeline.recycle(batch);
                    }
                    Item::Attach(consumer, snapshot) => self.attach(consumer, snapshot),
                    Item::Flush(done) => {
                        self.write_out();
                        self.flush_all();
                        let _ = done.send(());
                    }
                    Item::Shutdown(done) => {
                        self.write_out();
                        self.close_all();
                        pipeline.caught_up(true);
                        let _ = done.send(());
                        stop = true;
                    }
                }
            }
            if stop {
                return;
            }
            self.write_out();
            pipeline.caught_up(false);
            if last_pull.elapsed() >= PULL_EVERY {
                pull();
                self.flush_all();
                last_pull = Instant::now();
            }
        }
    }

    fn events(&mut self, batch: &[Event]) {
        STATS.events(batch.len());
        self.scratch.pair(batch);
        // Slices that open and close inside the batch never change what is
        // open: the mirror needs only the rest.
        for event in self.scratch.unpaired(batch) {
            self.mirror.apply(event);
        }
        if !self.consumers.is_empty() {
            self.encoder
                .paired_batch(batch, &mut self.scratch, &mut self.out);
        }
        if self.out.len() > WRITE_OUT_AT {
            self.write_out();
        }
    }

    fn attach(&mut self, mut consumer: Box<dyn Consumer>, snapshot: Option<Vec<Event>>) {
        self.write_out();
        let mut head = Vec::new();
        self.encoder.open(&self.process_name, &mut head);
        match snapshot {
            Some(events) => {
                for event in &events {
                    self.mirror.apply(event);
                    self.encoder.event(event, &mut head);
                }
            }
            None => {
                let mut events = Vec::new();
                self.mirror.snapshot(&mut events);
                for event in &events {
                    self.encoder.event(event, &mut head);
                }
            }
        }
        STATS.attached(consumer.kind());
        match consumer.write(&head).and_then(|()| consumer.flush()) {
            Ok(()) => self.consumers.push(consumer),
            Err(e) => report_consumer_error(&*consumer, &e),
        }
    }

    fn write_out(&mut self) {
        if self.out.is_empty() {
            return;
        }
        let out = std::mem::take(&mut self.out);
        self.consumers.retain_mut(|c| match c.write(&out) {
            Ok(()) => true,
            Err(e) => {
                report_consumer_error(&**c, &e);
                false
            }
        });
        self.out = out;
        self.out.clear();
    }

    fn flush_all(&mut self) {
        self.consumers.retain_mut(|c| match c.flush() {
            Ok(()) => true,
            Err(e) => {
                report_consumer_error(&**c, &e);
                false
            }
        });
    }

    fn close_all(&mut self) {
        let mut tail = Vec::new();
        self.encoder.close(&mut tail);
        for mut c in self.consumers.drain(..) {
            match c.write(&tail).and_then(|()| c.close()) {
                Ok(()) => STATS.detached(c.kind(), Closed::End),
                Err(e) => report_consumer_error(&*c, &e),
            }
        }
    }
}

fn report_consumer_error(consumer: &dyn Consumer, error: &std::io::Error) {
    if crate::consumer::detached(error) {
        STATS.detached(consumer.kind(), Closed::End);
        return;
    }
    let slow = crate::consumer::fell_behind(error);
    STATS.detached(
        consumer.kind(),
        if slow { Closed::Slow } else { Closed::Error },
    );
    if slow {
        // Expected under load and said to the client itself; one line only.
        eprintln!("actrace: {} was disconnected: {error}", consumer.describe());
        return;
    }
    eprintln!(
        "actrace: {} failed and was closed: {error}",
        consumer.describe()
    );
}
