#!/usr/bin/env bash
# Installs what building and testing softap-web needs, only what is missing, and writes
# .tools/env for the other scripts. Quick when everything is there.
#
# Rust for wasm32-unknown-unknown comes from whichever works here:
#   1. Debian's rustc-web (+ rust-web-src, lld) with build-std, if present or if rustup can't
#      add the target;
#   2. rustup with the wasm32-unknown-unknown target (a normal developer machine).
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p .tools
log() { printf 'setup: %s\n' "$*" >&2; }

apt_updated=
apt_install() {
  local missing=()
  for p in "$@"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
  [ ${#missing[@]} -eq 0 ] && return 0
  if [ -z "$apt_updated" ]; then
    log "apt-get update"
    ${SUDO:-} apt-get update -qq >/dev/null
    apt_updated=1
  fi
  log "installing ${missing[*]}"
  DEBIAN_FRONTEND=noninteractive ${SUDO:-} apt-get install -y -qq "${missing[@]}" >/dev/null
}
SUDO=
[ "$(id -u)" -ne 0 ] && command -v sudo >/dev/null && SUDO=sudo

# --- Rust toolchain for wasm32 ---------------------------------------------------------
mode=
if [ -x /usr/bin/cargo ] && dpkg -s rust-web-src >/dev/null 2>&1 && [ -e /usr/bin/rust-lld ]; then
  mode=debian
elif command -v rustup >/dev/null && rustup target list --installed 2>/dev/null | grep -qx wasm32-unknown-unknown; then
  mode=rustup
elif command -v rustup >/dev/null && timeout 45 rustup target add wasm32-unknown-unknown >/dev/null 2>&1; then
  mode=rustup
elif command -v apt-get >/dev/null; then
  log "rustup cannot add wasm32-unknown-unknown here; using Debian's rustc-web with build-std"
  apt_install rustc-web cargo-web rust-web-src lld-22
  mode=debian
else
  log "no way to get a wasm32 Rust toolchain: install rustup and run 'rustup target add wasm32-unknown-unknown'"
  exit 1
fi

# The RustCrypto crates' small software backends: slower, but speed is not our limit.
compact='--cfg sha2_backend_soft="compact" --cfg aes_backend_soft="compact"'
if [ "$mode" = debian ]; then
  cargo=/usr/bin/cargo
  {
    echo "export CARGO=/usr/bin/cargo RUSTC=/usr/bin/rustc RUSTDOC=/usr/bin/rustdoc RUSTC_BOOTSTRAP=1"
    echo "export WASM_BUILD_STD='-Z build-std=std,panic_abort'"
    # Aborting without formatting panic messages saves kilobytes; only with build-std.
    echo "export WASM_RELEASE_RUSTFLAGS='-Zunstable-options -Cpanic=immediate-abort -Zfmt-debug=none -Zlocation-detail=none $compact'"
  } > .tools/env.new
else
  cargo=cargo
  {
    echo "export CARGO=cargo"
    echo "export WASM_BUILD_STD="
    echo "export WASM_RELEASE_RUSTFLAGS='$compact'"
  } > .tools/env.new
fi
echo "export SOFTAP_TOOLCHAIN=$mode" >> .tools/env.new

# --- wasm-bindgen-cli, pinned to the wasm-bindgen in Cargo.lock --------------------------
want=$(awk '/^name = "wasm-bindgen"$/{getline; gsub(/version = |"/, ""); print; exit}' Cargo.lock)
have=$(wasm-bindgen --version 2>/dev/null | awk '{print $2}' || true)
if [ "$have" != "$want" ]; then
  log "installing wasm-bindgen-cli $want (have: ${have:-none})"
  cargo install -q wasm-bindgen-cli --version "$want"
fi

# --- Chromium and its driver for browser tests --------------------------------------------
if ! command -v chromium >/dev/null || ! command -v chromedriver >/dev/null; then
  apt_install chromium chromium-driver
fi
echo "export CHROMEDRIVER=$(command -v chromedriver)" >> .tools/env.new

# --- WebKit and Firefox for the every-browser tests; g++ for the generated firmware handler
# WebKitGTK's WebDriver drives its MiniBrowser (under Xvfb); Firefox ESR needs geckodriver.
if ! command -v WebKitWebDriver >/dev/null || ! command -v xvfb-run >/dev/null \
   || ! command -v firefox-esr >/dev/null || ! command -v g++ >/dev/null; then
  apt_install webkit2gtk-driver xvfb firefox-esr g++
fi
if [ ! -x .tools/bin/geckodriver ]; then
  log "installing geckodriver 0.37.0 (cargo)"
  cargo install -q geckodriver --version 0.37.0 --root .tools
fi
# Not GECKODRIVER: wasm-bindgen-test-runner would pick Firefox over Chromium for the wasm tests.
echo "export SOFTAP_GECKODRIVER=$PWD/.tools/bin/geckodriver" >> .tools/env.new

# --- PostgreSQL's server for the maker's server tests (they start a throwaway cluster)
apt_install postgresql

# --- npm tools (wasm-opt, terser, tsc, Particle's softap-setup), locked in package-lock.json
if [ ! -x node_modules/.bin/wasm-opt ] || [ ! -x node_modules/.bin/terser ] || [ ! -x node_modules/.bin/tsc ] \
   || [ ! -d node_modules/softap-setup ] || [ ! -d node_modules/playwright-core ] \
   || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  command -v npm >/dev/null || apt_install nodejs npm
  log "npm ci"
  npm ci --no-audit --no-fund --loglevel=error >/dev/null
fi

mv .tools/env.new .tools/env
log "ready ($mode toolchain: $($cargo --version))"
