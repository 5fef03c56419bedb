#!/usr/bin/env bash
# The actrace npm package in a fresh project, in headless Debian Chromium:
# packs it (wasm/pack.sh), installs the tarball into example/ (which has no
# build step), builds the actrace CLI for `actrace check`, then runs the
# Playwright tests — or, with `bench`, the span-pair benchmark.
# npm packages are installed only when node_modules is missing or older than
# package-lock.json.
set -euo pipefail
cd "$(dirname "$0")"
repo=$(cd ../.. && pwd)

if [[ ! -f node_modules/.package-lock.json || package-lock.json -nt node_modules/.package-lock.json ]]; then
  npm ci --no-audit --no-fund --loglevel=error
fi

tarball=$("$repo/wasm/pack.sh" | tail -n 1)
echo "run.sh: installing $tarball into example/"
rm -rf example/node_modules/actrace
(cd example && npm install --no-save --no-package-lock --no-audit --no-fund --loglevel=error "$tarball")

if [[ ${1:-} == bench ]]; then
  exec node bench.mjs
fi

(cd "$repo" && cargo build --quiet -p actrace --bin actrace)
export ACTRACE_BIN=${CARGO_TARGET_DIR:-$repo/target}/debug/actrace

exec node --test --test-concurrency=1 ./*.test.mjs
