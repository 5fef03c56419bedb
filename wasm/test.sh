#!/usr/bin/env bash
# The wasm-bindgen-test suites of actrace-wasm: tests/node.rs in Node, then
# tests/browser.rs in headless Debian Chromium through chromedriver (its
# capabilities are in webdriver.json, which the runner reads from here).
# Both run every test in tests/common/. Needs the wasm-bindgen CLI that
# Cargo.lock pins (scripts/install.sh).
set -euo pipefail
cd "$(dirname "$0")"
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$PWD/../target-wasm}
export CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUNNER=wasm-bindgen-test-runner
export CHROMEDRIVER=${CHROMEDRIVER:-/usr/bin/chromedriver}
cargo test -p actrace-wasm --target wasm32-unknown-unknown --test node
cargo test -p actrace-wasm --target wasm32-unknown-unknown --test browser
