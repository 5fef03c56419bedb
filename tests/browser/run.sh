#!/usr/bin/env bash
# Runs the viewer's browser tests (www/) in headless Debian Chromium.
# Installs what is missing, idempotently: Chromium from apt only if
# /usr/bin/chromium is absent, npm packages only if node_modules is missing
# or older than package-lock.json. Exits non-zero if any test fails.
set -euo pipefail
cd "$(dirname "$0")"

if [ ! -x /usr/bin/chromium ]; then
  echo "run.sh: installing chromium from apt"
  export DEBIAN_FRONTEND=noninteractive
  apt-get -o DPkg::Lock::Timeout=600 update
  apt-get -o DPkg::Lock::Timeout=600 install -y chromium chromium-driver
fi

# npm records what it installed in node_modules/.package-lock.json; if the
# lock file changed since, reinstall.
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "run.sh: npm ci"
  npm ci --no-audit --no-fund
fi

# The tests run the real `actrace` binary (check, demo --listen, view); cargo
# only rebuilds it when something changed (www/ is embedded in it).
echo "run.sh: cargo build -p actrace --bin actrace"
cargo build -p actrace --bin actrace

# One test file at a time: each starts its own Chromium, and the machine is small.
exec node --test --test-concurrency=1 ./*.test.mjs
