# Shared by scripts/run and scripts/test: installs what is missing, skips what is there.
# Every step checks the exact version first, so a second run costs seconds.

set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

CARGO_LEPTOS_VERSION=0.3.11
BINARYEN_VERSION=132.0.0
# wasm-bindgen's CLI must match the version Cargo.toml pins with "=".
WASM_BINDGEN_VERSION="$(sed -n 's/^wasm-bindgen = { version = "=\([0-9.]*\)".*/\1/p' Cargo.toml)"
TOOLS="$ROOT/target/tools"
export PATH="$HOME/.cargo/bin:$TOOLS/node_modules/.bin:$PATH"

say() { printf '\033[1m==> %s\033[0m\n' "$*"; }

apt_install() {
  local missing=()
  for pkg in "$@"; do
    dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
  done
  if [ ${#missing[@]} -gt 0 ]; then
    say "apt-get install ${missing[*]}"
    local sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
  fi
}

# Rust targets, cargo-leptos, wasm-bindgen and wasm-opt: what `cargo leptos build` needs.
setup_build_tools() {
  command -v cargo >/dev/null || { echo "cargo is missing: install Rust with rustup first" >&2; exit 1; }
  command -v npm >/dev/null || apt_install nodejs npm
  rustup target list --installed | grep -q '^wasm32-unknown-unknown$' \
    || { say "rustup target add wasm32-unknown-unknown"; rustup target add wasm32-unknown-unknown; }

  # Nightly builds the release WASM (see `build_release`) and cargo-leptos.
  rustup toolchain list | grep -q '^nightly' \
    || { say "rustup toolchain install nightly"; rustup toolchain install nightly --profile minimal; }
  rustup component list --toolchain nightly --installed | grep -q '^rust-src$' \
    || { say "rustup component add rust-src (nightly)"; rustup component add rust-src --toolchain nightly; }

  if [ "$(cargo leptos --version 2>/dev/null)" != "cargo-leptos $CARGO_LEPTOS_VERSION" ]; then
    # Its lockfile needs a newer rustc than stable has here, hence nightly.
    say "cargo install cargo-leptos $CARGO_LEPTOS_VERSION (about 12 minutes, once)"
    cargo +nightly install cargo-leptos --version "$CARGO_LEPTOS_VERSION" --locked --features no_downloads
  fi

  if [ "$(wasm-bindgen --version 2>/dev/null)" != "wasm-bindgen $WASM_BINDGEN_VERSION" ]; then
    # Not --locked: its lockfile names a crate version the registry no longer has.
    say "cargo install wasm-bindgen-cli $WASM_BINDGEN_VERSION"
    cargo install wasm-bindgen-cli --version "$WASM_BINDGEN_VERSION"
  fi

  # Debian's binaryen is too old (its wasm-opt output breaks hydration): npm's it is.
  if ! "$TOOLS/node_modules/.bin/wasm-opt" --version 2>/dev/null | grep -q "version ${BINARYEN_VERSION%%.*}"; then
    say "npm install binaryen@$BINARYEN_VERSION"
    mkdir -p "$TOOLS"
    npm install --silent --no-audit --no-fund --prefix "$TOOLS" "binaryen@$BINARYEN_VERSION"
  fi
}

# Headless Chromium and the end-to-end test packages.
setup_browser_tools() {
  # nginx: part of the browser suite runs behind it, as docs/deploy/nginx.conf sets it up.
  apt_install chromium fonts-dejavu-core nginx-light
  if ! (cd end2end && npm ls --silent >/dev/null 2>&1); then
    say "npm ci (end2end)"
    (cd end2end && npm ci --silent --no-audit --no-fund)
  fi
}

# The release front end is built apart, with nightly, to make it small: the standard
# library is rebuilt for size, a panic aborts at once (no message formatting), and
# `Debug` output and panic locations are left out. The server is built with stable.
build_release() {
  say "cargo leptos build --release --frontend-only (nightly)"
  if ! CARGO_UNSTABLE_BUILD_STD=std,panic_abort \
    CARGO_UNSTABLE_BUILD_STD_FEATURES=optimize_for_size \
    CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUSTFLAGS="-Zunstable-options -Cpanic=immediate-abort -Zfmt-debug=none -Zlocation-detail=none" \
    cargo +nightly leptos build --release --frontend-only; then
    # Unstable flags can change under a newer nightly: a larger front end beats none.
    say "WARNING: the nightly front-end build failed; building it with stable (a larger WASM)"
    cargo leptos build --release --frontend-only
  fi
  say "cargo leptos build --release --server-only"
  cargo leptos build --release --server-only
}
