//! What JavaScript sees. Every `#[wasm_bindgen] impl` block here is API;
//! the work is done in [`crate::state`].

use actrace_core::IdBytes;
use js_sys::{Function, Reflect};
use wasm_bindgen::prelude::*;

use crate::clock::to_ms;
use crate::state::{self, Ending, Info, Place, Policy, Settings, Shared, State};

#[wasm_bindgen(typescript_custom_section)]
const TS_TYPES: &str = r#"
/** Options of `new Tracer(options)`; all are optional. */
export interface TracerOptions {
  /** The trace's process name (default "browser"). */
  processName?: string;
  /** "throw" (default): a violation throws an Error after it was repaired;
   *  "report": it goes to onViolation, or console.warn, and the call goes on. */
  policy?: "throw" | "report";
  /** Called with every violation's message and rule ("R9") under either policy. */
  onViolation?: (message: string, rule: string) => void;
  /** Random bytes per node id, 1 to 8 (default 3). */
  idBytes?: number;
  /** Seed of the node ids (default: random). */
  seed?: number;
  /** A pending batch this large (bytes) goes to the sinks at once instead
   *  of on the next microtask (default 65536). */
  batchBytes?: number;
}
"#;

#[wasm_bindgen]
extern "C" {
    /// `TracerOptions` in TypeScript.
    #[wasm_bindgen(typescript_type = "TracerOptions")]
    pub type TracerOptions;

    /// A function given a new context; its result (or promise) is passed on.
    #[wasm_bindgen(typescript_type = "(ctx: Context) => any")]
    pub type RunFn;

    /// A begin or end callback.
    #[wasm_bindgen(typescript_type = "(info: NodeInfo) => void")]
    pub type NodeCallback;

    /// A sink: called with the encoded stream, one batch of whole lines at a
    /// time; the first call holds the header and the live state.
    #[wasm_bindgen(typescript_type = "(bytes: Uint8Array) => void")]
    pub type SinkFn;
}

/// How each node of a span-stack string is shown (R13).
#[wasm_bindgen]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StackKind {
    /// By id: `AbCd$XyZw$XyZw.Qr3s`.
    Ids = 0,
    /// By name: `a$b$b.c.d`.
    Names = 1,
    /// Both: `(AbCd "a")$…`.
    Combined = 2,
}

impl From<StackKind> for actrace_core::StackKind {
    fn from(kind: StackKind) -> Self {
        match kind {
            StackKind::Ids => actrace_core::StackKind::Ids,
            StackKind::Names => actrace_core::StackKind::Names,
            StackKind::Combined => actrace_core::StackKind::Combined,
        }
    }
}

/// A tracer: one task tree, its clock, its sinks and its callbacks.
#[wasm_bindgen]
pub struct Tracer {
    shared: Shared,
}

#[wasm_bindgen]
impl Tracer {
    /// A tracer with no task yet; see `TracerOptions`.
    #[wasm_bindgen(constructor)]
    pub fn new(options: Option<TracerOptions>) -> Result<Tracer, JsValue> {
        let settings = match options {
            Some(options) => settings_from(&options)?,
            None => Settings {
                seed: random_seed(),
                ..Settings::default()
            },
        };
        Ok(Tracer::with_settings(settings))
    }

    /// Starts a root task (R1).
    pub fn task(&self, name: String) -> Result<Context, JsValue> {
        self.context().task(name)
    }

    /// Runs `f` in a new root task, which ends when `f` returns, throws, or
    /// — if it returns a promise — when that settles. Returns what `f`
    /// returns (a promise for an async `f`).
    #[wasm_bindgen(js_name = runTask)]
    pub fn run_task(&self, name: String, f: &RunFn) -> Result<JsValue, JsValue> {
        self.context().run_task(name, f)
    }

    /// A context outside any task: tasks started from it are roots; spans
    /// started from it are a violation (R8).
    pub fn context(&self) -> Context {
        Context {
            shared: self.shared.clone(),
            place: Place::OUTSIDE,
        }
    }

    /// Calls `f` whenever a task or span begins (R14).
    #[wasm_bindgen(js_name = onBegin)]
    pub fn on_begin(&self, f: NodeCallback) -> Result<(), JsValue> {
        let f = callback_arg("onBegin", f)?;
        self.shared.borrow_mut().register(true, f);
        Ok(())
    }

    /// Calls `f` whenever a task or span that began after this call ends
    /// (R14).
    #[wasm_bindgen(js_name = onEnd)]
    pub fn on_end(&self, f: NodeCallback) -> Result<(), JsValue> {
        let f = callback_arg("onEnd", f)?;
        self.shared.borrow_mut().register(false, f);
        Ok(())
    }

    /// Attaches a sink and returns its number. It is called at once with the
    /// stream's header and the live state (C6), then with each batch of
    /// encoded events (C4). A sink that throws is removed.
    #[wasm_bindgen(js_name = addSink)]
    pub fn add_sink(&self, sink: SinkFn) -> Result<u32, JsValue> {
        let sink = callback_arg("addSink", sink)?;
        state::add_sink(&self.shared, sink)
    }

    /// Detaches a sink after handing it what is pending; false if no sink
    /// has that number.
    #[wasm_bindgen(js_name = removeSink)]
    pub fn remove_sink(&self, id: u32) -> bool {
        state::remove_sink(&self.shared, id)
    }

    /// Hands the pending batch to the sinks now rather than on the next
    /// microtask.
    pub fn flush(&self) {
        state::flush(&self.shared);
    }

    /// The number of live tasks (M1).
    #[wasm_bindgen(getter, js_name = liveTasks)]
    pub fn live_tasks(&self) -> u32 {
        self.shared.borrow().live_tasks() as u32
    }

    /// The wall-clock time of `ts` 0, in milliseconds since the Unix epoch
    /// (`performance.timeOrigin` unless a test clock was given).
    #[wasm_bindgen(getter)]
    pub fn origin(&self) -> f64 {
        to_ms(self.shared.borrow().origin())
    }

    /// The trace's process name.
    #[wasm_bindgen(getter, js_name = processName)]
    pub fn process_name(&self) -> String {
        self.shared.borrow().process_name().to_owned()
    }
}

impl Tracer {
    /// A tracer set up from Rust (tests choose the clock and the seed).
    pub fn with_settings(settings: Settings) -> Tracer {
        Tracer {
            shared: State::new(settings),
        }
    }

    /// How many tasks the tracer still keeps: live ones, and ended ones that
    /// a context or a live child still refers to.
    pub fn kept_tasks(&self) -> usize {
        self.shared.borrow().kept_tasks()
    }
}

/// A callback argument as a function, or a TypeError naming the method.
fn callback_arg(method: &str, f: impl Into<JsValue>) -> Result<Function, JsValue> {
    let f: JsValue = f.into();
    let kind = f.js_typeof().as_string().unwrap_or_default();
    f.dyn_into::<Function>().map_err(|_| {
        js_sys::TypeError::new(&format!("actrace: {method} needs a function, got {kind}")).into()
    })
}

fn random_seed() -> u64 {
    (js_sys::Math::random() * 9007199254740992.0) as u64
}

fn option(options: &JsValue, key: &str) -> Result<Option<JsValue>, JsValue> {
    let value = Reflect::get(options, &key.into())?;
    Ok((!value.is_undefined() && !value.is_null()).then_some(value))
}

fn bad_option(key: &str, expected: &str) -> JsValue {
    js_sys::TypeError::new(&format!("actrace: option {key:?} must be {expected}")).into()
}

fn settings_from(options: &JsValue) -> Result<Settings, JsValue> {
    let mut s = Settings {
        seed: random_seed(),
        ..Settings::default()
    };
    if let Some(v) = option(options, "processName")? {
        s.process_name = v
            .as_string()
            .ok_or_else(|| bad_option("processName", "a string"))?;
    }
    if let Some(v) = option(options, "policy")? {
        s.policy = match v.as_string().as_deref() {
            Some("throw") => Policy::Throw,
            Some("report") => Policy::Report,
            _ => return Err(bad_option("policy", "\"throw\" or \"report\"")),
        };
    }
    if let Some(v) = option(options, "onViolation")? {
        s.on_violation = Some(
            v.dyn_into::<Function>()
                .map_err(|_| bad_option("onViolation", "a function"))?,
        );
    }
    if let Some(v) = option(options, "idBytes")? {
        s.id_bytes = v
            .as_f64()
            .filter(|n| n.fract() == 0.0 && (0.0..=255.0).contains(n))
            .and_then(|n| IdBytes::new(n as u8).ok())
            .ok_or_else(|| bad_option("idBytes", "a whole number from 1 to 8"))?;
    }
    if let Some(v) = option(options, "seed")? {
        s.seed = v
            .as_f64()
            .filter(|n| n.fract() == 0.0 && *n >= 0.0)
            .ok_or_else(|| bad_option("seed", "a non-negative whole number"))?
            as u64;
    }
    if let Some(v) = option(options, "batchBytes")? {
        s.batch_limit =
            v.as_f64()
                .filter(|n| *n >= 1.0)
                .ok_or_else(|| bad_option("batchBytes", "a positive number"))? as usize;
    }
    Ok(s)
}

/// `f` as a function, or a TypeError naming the method, before anything
/// starts.
fn function_arg<'a>(method: &str, f: &'a RunFn) -> Result<&'a Function, JsValue> {
    f.dyn_ref::<Function>().ok_or_else(|| {
        js_sys::TypeError::new(&format!(
            "actrace: {method}(name, fn) needs a function as fn, got {}",
            f.js_typeof().as_string().unwrap_or_default()
        ))
        .into()
    })
}

/// "I am in this node": a task, a span, or nowhere (outside any task).
/// Starting a task or span from a context gives a new context.
#[wasm_bindgen]
pub struct Context {
    shared: Shared,
    place: Place,
}

#[wasm_bindgen]
impl Context {
    /// Starts a child task of this context's task (R2, R3), or a root task
    /// outside any task (R1).
    pub fn task(&self, name: String) -> Result<Context, JsValue> {
        let place = state::start_task(&self.shared, &self.place, name)?;
        Ok(self.at(place))
    }

    /// Starts a span as the child of this context's node (R8–R10).
    pub fn span(&self, name: String) -> Result<Context, JsValue> {
        let place = state::start_span(&self.shared, &self.place, name)?;
        Ok(self.at(place))
    }

    /// Ends this context's task or span. Ending it again does nothing (R7).
    pub fn end(&self) -> Result<(), JsValue> {
        state::end(&self.shared, &self.place, Ending::Normal)
    }

    /// Runs `f` in a child task that ends when `f` returns, throws, or — if
    /// it returns a promise — when that resolves or rejects. Returns what `f`
    /// returns; a rejection or exception passes through unchanged.
    #[wasm_bindgen(js_name = runTask)]
    pub fn run_task(&self, name: String, f: &RunFn) -> Result<JsValue, JsValue> {
        let f = function_arg("runTask", f)?;
        let child = self.task(name)?;
        child.run(f)
    }

    /// Runs `f` in a span that ends like `runTask`'s task.
    #[wasm_bindgen(js_name = runSpan)]
    pub fn run_span(&self, name: String, f: &RunFn) -> Result<JsValue, JsValue> {
        let f = function_arg("runSpan", f)?;
        let child = self.span(name)?;
        child.run(f)
    }

    /// The span-stack string (R13), by names unless `kind` says otherwise;
    /// outside any task, `fallback` (default "").
    pub fn stack(&self, kind: Option<StackKind>, fallback: Option<String>) -> String {
        let kind = kind.unwrap_or(StackKind::Names).into();
        self.shared
            .borrow()
            .stack_string(&self.place, kind, fallback.unwrap_or_default())
    }

    /// True until the node ends; always false outside any task.
    #[wasm_bindgen(getter, js_name = isLive)]
    pub fn is_live(&self) -> bool {
        self.shared.borrow().is_live(&self.place)
    }

    /// True if the context is a task rather than a span or nowhere.
    #[wasm_bindgen(getter, js_name = isTask)]
    pub fn is_task(&self) -> bool {
        self.place.node.is_some_and(|n| n.position.depth() == 0)
    }

    /// The node's id (R12), or undefined outside any task.
    #[wasm_bindgen(getter)]
    pub fn id(&self) -> Option<String> {
        self.place.id.map(|id| id.to_string())
    }

    /// The node's name (a task's base name), or undefined outside any task.
    #[wasm_bindgen(getter)]
    pub fn name(&self) -> Option<String> {
        self.place.name.as_ref().map(|n| n.as_str().to_owned())
    }
}

impl Context {
    fn at(&self, place: Place) -> Context {
        Context {
            shared: self.shared.clone(),
            place,
        }
    }

    /// Calls `f` with this context and ends it when `f` is done.
    fn run(self, f: &Function) -> Result<JsValue, JsValue> {
        let keep = self.clone();
        match f.call1(&JsValue::NULL, &self.into()) {
            Err(thrown) => {
                let _ = state::end(&keep.shared, &keep.place, Ending::Unwinding);
                Err(thrown)
            }
            Ok(value) if crate::js::is_thenable(&value) => {
                let done = Closure::once_into_js(
                    move |resolved: bool, result: JsValue| -> Result<JsValue, JsValue> {
                        if resolved {
                            state::end(&keep.shared, &keep.place, Ending::Normal).map(|()| result)
                        } else {
                            let _ = state::end(&keep.shared, &keep.place, Ending::Unwinding);
                            Err(result)
                        }
                    },
                );
                Ok(crate::js::settle(&value, done).into())
            }
            Ok(value) => state::end(&keep.shared, &keep.place, Ending::Normal).map(|()| value),
        }
    }
}

impl Clone for Context {
    fn clone(&self) -> Self {
        self.shared.borrow_mut().retain(&self.place);
        self.at(self.place.clone())
    }
}

impl Drop for Context {
    fn drop(&mut self) {
        // Contexts are dropped by JavaScript (free() or the garbage
        // collector), never while an operation holds the state.
        if let Ok(mut st) = self.shared.try_borrow_mut() {
            st.release(&self.place);
        }
    }
}

/// What a begin or end callback is told about a task or span.
#[wasm_bindgen]
pub struct NodeInfo {
    info: Info,
}

impl From<Info> for NodeInfo {
    fn from(info: Info) -> Self {
        NodeInfo { info }
    }
}

#[wasm_bindgen]
impl NodeInfo {
    /// The node's name (a task's base name).
    #[wasm_bindgen(getter)]
    pub fn name(&self) -> String {
        self.info.name().to_owned()
    }

    /// True for a task, false for a span.
    #[wasm_bindgen(getter, js_name = isTask)]
    pub fn is_task(&self) -> bool {
        self.info.is_task()
    }

    /// When the node began, in milliseconds since the Unix epoch.
    #[wasm_bindgen(getter)]
    pub fn start(&self) -> f64 {
        to_ms(self.info.start)
    }

    /// When the node ended, in milliseconds since the Unix epoch; undefined
    /// in a begin callback.
    #[wasm_bindgen(getter)]
    pub fn end(&self) -> Option<f64> {
        self.info.end.map(to_ms)
    }

    /// How long the node lasted in milliseconds (exact to the nanosecond);
    /// undefined in a begin callback.
    #[wasm_bindgen(getter, js_name = durationMs)]
    pub fn duration_ms(&self) -> Option<f64> {
        self.info
            .end
            .map(|end| end.nanos_since(self.info.start) as f64 / 1e6)
    }

    /// The node's span-stack string (R13), by names unless `kind` says
    /// otherwise.
    pub fn stack(&self, kind: Option<StackKind>) -> String {
        self.info.stack(kind.unwrap_or(StackKind::Names).into())
    }
}
