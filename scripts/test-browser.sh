#!/usr/bin/env bash
# wasm-bindgen tests in headless Chromium (flags in webdriver.json), against softap-sim on
# free loopback ports: its addresses reach the tests at build time in SOFTAP_SIM (devices 0
# and 1 with firmware 0.7, device 2 with 0.6). Without SOFTAP_SIM (wasm-pack test on a fresh
# clone) the tests that need the simulator are left out and say so.
set -euo pipefail
cd "$(dirname "$0")/.."
source .tools/env
export CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUNNER=wasm-bindgen-test-runner
# The runner prefers geckodriver and safaridriver when their variables are set: Chromium here.
unset GECKODRIVER SAFARIDRIVER
export WASM_BINDGEN_TEST_TIMEOUT=${WASM_BINDGEN_TEST_TIMEOUT:-300}

$CARGO build --quiet -p softap-sim
log=$(mktemp)
target/debug/softap-sim --devices 3 --firmware 0.7,0.7,0.6 --key tests/fixtures/device-1024.pem \
  --scan-entry-ms 1 --scan-ms 1 --teardown-ms 50 --join-ms 100 --relisten-ms 300 \
  > "$log" 2>&1 &
sim=$!
trap 'kill $sim 2>/dev/null || true; rm -f "$log"' EXIT
for _ in $(seq 200); do
  grep -q '"devices"' "$log" 2>/dev/null && break
  kill -0 $sim 2>/dev/null || { cat "$log" >&2; exit 1; }
  sleep 0.1
done
SOFTAP_SIM=$(grep -m1 '"devices"' "$log")
export SOFTAP_SIM

# Default: every browser test; `scripts/test-browser.sh --test bench_flow -- --nocapture`
# runs the flow benchmark instead.
if [ $# -eq 0 ]; then set -- --test web --test client; fi
$CARGO test --target wasm32-unknown-unknown $WASM_BUILD_STD "$@"
