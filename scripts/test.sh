#!/usr/bin/env bash
# Every test: the native suite (core and tools), then the browser suite in headless Chromium.
set -euo pipefail
cd "$(dirname "$0")/.."
source .tools/env
echo "== native tests"
$CARGO test --workspace
echo "== the maker's server on SQLite and PostgreSQL, against the simulator"
scripts/test-server.sh
echo "== reference client against the simulator (Particle's softap-setup, Node)"
$CARGO build --quiet -p softap-sim
SOFTAP_SIM_BIN=target/debug/softap-sim node --test --test-timeout=60000 sim/tests/
echo "== the plain-JS crypto of the device page and sealed mode (Node)"
node --test tests/js/
echo "== the npm package and its TypeScript types (tests/types.ts, tsc --strict)"
scripts/build-pkg.sh
node_modules/.bin/tsc -p tests/tsconfig.json
echo "== the device page: generated (relay, full), its C++ handler compiled and run"
scripts/test-device-page.sh
echo "== the setup page in Chromium, the handoff in Chromium, WebKit and Firefox (screenshots in target/e2e-screenshots)"
node --test --test-concurrency=1 --test-timeout=60000 tests/e2e/
echo "== browser tests (headless Chromium)"
scripts/test-browser.sh
