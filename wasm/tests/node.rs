//! The wasm-bindgen-test suite in Node (wasm/test.sh).
#![cfg(target_arch = "wasm32")]

mod common;
