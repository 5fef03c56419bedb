//! actrace in the browser (SPEC.md K4): the core [`actrace_core::Tracer`]
//! behind a wasm-bindgen API, so that a page's tasks and spans obey the same
//! rules (R1–R15) and are encoded as the same Chrome JSON as a native
//! program's.
//!
//! The JavaScript API is in [`api`]; everything else is Rust-only:
//! [`state`] runs each operation against the core and batches the encoded
//! events, [`clock`] reads `performance`, [`js`] binds the few JavaScript
//! functions the crate calls. Encoded events leave wasm one batch at a time
//! (a `Uint8Array` of whole lines, handed to every sink), flushed on a
//! microtask or as soon as a batch fills, never one call per event.

pub mod api;
mod clock;
mod js;
mod state;

pub use api::{Context, NodeInfo, StackKind, Tracer};
pub use state::{Policy, Settings};
