#!/usr/bin/env bash
# Builds the npm package `actrace` from this crate and packs it with
# `npm pack`. The tarball's path is the last line printed.
#
#   wasm/pack.sh            # release build, wasm-bindgen --target web, npm pack
#
# Needs the wasm32 target and the wasm-bindgen CLI of the version Cargo.lock
# pins (scripts/install.sh installs both). Output goes under
# $CARGO_TARGET_DIR (default target-wasm/): npm/actrace/ is the package
# directory, npm/actrace-VERSION.tgz the tarball.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$repo/target-wasm}

want=$(awk '/^name = "wasm-bindgen"$/ { getline; gsub(/[^0-9.]/, ""); print; exit }' Cargo.lock)
have=$(wasm-bindgen --version 2>/dev/null | awk '{ print $2 }' || true)
if [[ $want != "$have" ]]; then
  echo "pack.sh: Cargo.lock pins wasm-bindgen $want but the CLI on PATH is ${have:-missing}; run scripts/install.sh" >&2
  exit 1
fi

# Small and fast: one codegen unit, LTO, no debug info. Set here rather than
# in the workspace profile, which the native crates share.
CARGO_PROFILE_RELEASE_DEBUG=0 \
CARGO_PROFILE_RELEASE_LTO=true \
CARGO_PROFILE_RELEASE_CODEGEN_UNITS=1 \
CARGO_PROFILE_RELEASE_OPT_LEVEL=s \
CARGO_PROFILE_RELEASE_PANIC=abort \
  cargo build --quiet -p actrace-wasm --target wasm32-unknown-unknown --release

npm_dir=$CARGO_TARGET_DIR/npm
pkg=$npm_dir/actrace
rm -rf "$pkg"
mkdir -p "$pkg/viewer"
# --weak-refs: contexts JavaScript drops are freed by the garbage collector
# (FinalizationRegistry), releasing their hold on the task.
wasm-bindgen --target web --weak-refs --out-dir "$pkg" --out-name actrace_wasm \
  "$CARGO_TARGET_DIR/wasm32-unknown-unknown/release/actrace_wasm.wasm"
rm -f "$pkg/.gitignore"

version=$(awk -F'"' '/^version = / { print $2; exit }' Cargo.toml)
sed "s/@VERSION@/$version/" wasm/js/package.json >"$pkg/package.json"
cp wasm/js/index.js wasm/js/index.d.ts wasm/js/viewer.js wasm/js/viewer.d.ts wasm/README.md "$pkg/"
# The viewer as www/ ships it: its modules, stylesheet and standalone page.
cp www/*.js www/*.css www/index.html "$pkg/viewer/"

# The size budget covers the tracer: the wasm and the JS a page loads
# without the viewer.
tracer_files=("$pkg/actrace_wasm_bg.wasm" "$pkg/actrace_wasm.js" "$pkg/index.js")
mapfile -t snippets < <(find "$pkg/snippets" -name '*.js')
gz=$(cat "${tracer_files[@]}" "${snippets[@]}" | gzip -9 | wc -c)
raw=$(cat "${tracer_files[@]}" "${snippets[@]}" | wc -c)
echo "pack.sh: tracer (wasm + JS): $raw bytes, $gz bytes gzipped (budget 102400)"
if ((gz > 102400)); then
  echo "pack.sh: over the 100 KB gzipped budget" >&2
  exit 1
fi

tarball=$(cd "$pkg" && npm pack --silent --pack-destination "$npm_dir")
echo "$npm_dir/$tarball"
