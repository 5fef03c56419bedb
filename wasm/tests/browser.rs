//! The wasm-bindgen-test suite in headless Chromium (wasm/test.sh, through
//! chromedriver).
#![cfg(target_arch = "wasm32")]

wasm_bindgen_test::wasm_bindgen_test_configure!(run_in_browser);

mod common;
