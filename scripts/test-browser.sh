#!/usr/bin/env bash
# wasm-bindgen tests in headless Chromium (flags in webdriver.json).
set -euo pipefail
cd "$(dirname "$0")/.."
source .tools/env
export CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUNNER=wasm-bindgen-test-runner
export WASM_BINDGEN_TEST_TIMEOUT=${WASM_BINDGEN_TEST_TIMEOUT:-120}
$CARGO test --target wasm32-unknown-unknown $WASM_BUILD_STD --test web "$@"
