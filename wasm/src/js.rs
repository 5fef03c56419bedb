//! The JavaScript functions the crate calls, other than `performance`.

use wasm_bindgen::prelude::*;

#[wasm_bindgen(inline_js = r#"
export function settle(value, done) {
  return Promise.resolve(value).then((v) => done(true, v), (e) => done(false, e));
}
export function isThenable(value) {
  return value !== null && (typeof value === 'object' || typeof value === 'function') &&
    typeof value.then === 'function';
}
"#)]
extern "C" {
    /// A promise that settles like `value`, after `done(resolved, result)`
    /// has run; it takes `done`'s outcome (its return value, or what it
    /// threw).
    pub(crate) fn settle(value: &JsValue, done: JsValue) -> js_sys::Promise;

    /// True if `value` is a promise or another thenable.
    #[wasm_bindgen(js_name = isThenable)]
    pub(crate) fn is_thenable(value: &JsValue) -> bool;
}

#[wasm_bindgen]
extern "C" {
    /// Runs `f` once the current JavaScript task is done, before any timer.
    #[wasm_bindgen(js_name = queueMicrotask)]
    pub(crate) fn queue_microtask(f: &js_sys::Function);

    /// `console.warn`, where violations go under the report policy when no
    /// `onViolation` hook is set.
    #[wasm_bindgen(js_namespace = console, js_name = warn)]
    pub(crate) fn console_warn(message: &str);
}
