//! Activity tracing for Rust programs: say what the program is doing as
//! *tasks* (concurrent activity) and *spans* (a nested stack inside a task),
//! and watch it as a Chrome trace, from a file or live.
//!
//! actrace never blocks the traced program on a consumer and never loses the
//! well-formedness of its stream, whatever the program does wrong (SPEC R11).
//! Three styles interoperate:
//!
//! ```
//! use actrace::{Context, FutureExt};
//!
//! // 1. explicit contexts, like Go's ctx
//! let (ctx, done) = Context::none().with_task("server");
//! let (_span_ctx, span_done) = ctx.with_span("accept");
//! span_done.end();
//! done.end();
//!
//! // 2. guards and the thread's ambient context
//! let mut task = actrace::root_task("copy-dirs");
//! {
//!     let _scan = task.span("scan");
//!     let _inner = actrace::span("read-dir"); // nests under "scan"
//! }
//! drop(task);
//!
//! // 3. async: a future as a task
//! let fut = async { let _s = actrace::span("step"); 42 }.in_task("worker");
//! # let _ = fut;
//! ```
//!
//! Set `ACTRACE_FILE=trace.json` to write the trace of any program from its
//! first traced activity on, and `ACTRACE_LISTEN=127.0.0.1:9000` to watch it
//! live in a browser at that address ([`serve`] does the same from code).

mod ambient;
mod callbacks;
mod clock;
mod consumer;
mod context;
mod fence;
mod file;
mod future;
mod group;
mod guards;
mod metrics;
mod mirror;
mod names;
mod node;
mod pipeline;
mod runtime;
mod server;
mod spin_lock;
mod violations;

pub use actrace_core::{Name, StackKind, Violation};
pub use ambient::Entered;
pub use callbacks::{on_begin, on_end, NodeInfo};
pub use consumer::{Consumer, Detached, FellBehind};
pub use context::Context;
pub use file::FileConsumer;
pub use future::{FutureExt, InTask};
pub use group::{task_group, TaskGroup};
pub use guards::{Done, Span, Task};
pub use metrics::{metrics, register_metrics, MetricsSnapshot};
#[doc(hidden)]
pub use names::__strip_function_name;
/// The live stream as axum handlers (cargo feature `axum`).
#[cfg(feature = "axum")]
pub use server::axum;
pub use server::{serve, Server, ServerBuilder};
pub use violations::{policy, set_policy, set_violation_hook, Policy};

use runtime::Runtime;

/// Starts a root task (R1).
#[track_caller]
pub fn root_task(name: impl Into<Name>) -> Task {
    Context::none().task(name)
}

/// Starts a child task of the calling thread's current context (a root task
/// if there is none). It does not become current: move it where it runs.
#[track_caller]
pub fn task(name: impl Into<Name>) -> Task {
    Context::current().task(name)
}

/// Starts a span in the calling thread's current context; it is current
/// until dropped. Outside any task this is a violation (R8).
#[track_caller]
pub fn span(name: impl Into<Name>) -> Span<'static> {
    Context::current().span(name)
}

/// The calling thread's current context.
pub fn current() -> Context {
    Context::current()
}

/// The current span-stack string (R13), or `default` outside any task.
pub fn stack_or(default: &str, kind: StackKind) -> String {
    Context::current().stack_or(default, kind)
}

/// Spawns a thread that runs `f` as a child task of the current context.
#[track_caller]
pub fn spawn<T: Send + 'static>(
    name: impl Into<Name>,
    f: impl FnOnce() -> T + Send + 'static,
) -> std::thread::JoinHandle<T> {
    let task = task(name);
    std::thread::spawn(move || {
        let entered = task.enter();
        let out = f();
        drop(entered);
        drop(task);
        out
    })
}

/// Sends the trace to `consumer` from now on. A consumer attached while tasks
/// are live first receives what it needs to draw them (C6).
pub fn attach(consumer: impl Consumer + 'static) {
    Runtime::global().attach(Box::new(consumer));
}

/// Writes everything traced so far to every consumer.
pub fn flush() {
    if let Some(rt) = Runtime::get() {
        rt.flush();
    }
}

/// Writes everything and closes every consumer's stream, so a trace file is
/// valid JSON. Runs by itself when the program exits normally.
pub fn shutdown() {
    if let Some(rt) = Runtime::get() {
        rt.shutdown();
    }
}

/// The number of live tasks (M1).
pub fn live_tasks() -> usize {
    Runtime::get().map_or(0, |rt| rt.live_tasks())
}
