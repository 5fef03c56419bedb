#!/usr/bin/env bash
# THE test command: installs what is missing, then runs every suite in turn,
# stopping at the first failure. Ends with "N passed, N failed" (suites).
set -euo pipefail
cd "$(dirname "$0")/.."

./scripts/install.sh

passed=0
failed=0
summary() { printf '\n%d passed, %d failed\n' "$passed" "$failed"; }

# suite NAME COMMAND...: run one suite with a header and its wall time.
suite() {
  local name=$1 start=$SECONDS
  shift
  printf '\n==== %s ====\n$ %s\n' "$name" "$*"
  if "$@"; then
    passed=$((passed + 1))
    printf -- '---- %s: ok (%ds)\n' "$name" $((SECONDS - start))
  else
    local rc=$?
    failed=$((failed + 1))
    printf -- '---- %s: FAILED with exit %d (%ds)\n' "$name" "$rc" $((SECONDS - start))
    summary
    exit 1
  fi
}

suite "format" cargo fmt --all -- --check
suite "no_std core" cargo build -p actrace-core --target x86_64-unknown-none
# Debug profile: the whole workspace test build plus run is faster than in
# --release on 2 cores (see scripts/README.md for the measurement).
# The browser-driven checks in tests/tests/third_party.rs are their own suite.
suite "cargo test" cargo test --workspace -- --skip third_party::
suite "third-party validators" cargo test -p actrace-tests --test third_party -- third_party::
# The live stream as an axum handler is behind actrace's `axum` feature.
suite "axum handler" cargo test -p actrace --features axum --test server_axum

# Suites that live in their own scripts. Every script listed here must exist:
# a missing one fails the run, so a suite can never silently stop running.
# Add a suite by adding its path here once it is committed.
SUITE_SCRIPTS=(
  tests/browser/run.sh   # the bundled viewer in headless Chromium
  wasm/test.sh           # actrace-wasm: wasm-bindgen-test in Node and headless Chromium
  tests/wasm/run.sh      # the npm package and its example app in headless Chromium
)
for script in "${SUITE_SCRIPTS[@]}"; do
  if [[ ! -x $script ]]; then
    printf '\n==== %s ====\nmissing or not executable: %s is listed in scripts/test.sh\n' "$script" "$script"
    failed=$((failed + 1))
    summary
    exit 1
  fi
  suite "$script" "$script"
done

summary
