#!/usr/bin/env bash
# Every test: the native suite (core and tools), then the browser suite in headless Chromium.
set -euo pipefail
cd "$(dirname "$0")/.."
source .tools/env
echo "== native tests (the core, the setup machine on a virtual clock, the corpus, the soak, the simulator)"
$CARGO test --workspace --exclude softap-maker
echo "== the maker's server on SQLite and PostgreSQL, against the simulator"
scripts/test-server.sh
echo "== reference client against the simulator (Particle's softap-setup, Node)"
$CARGO build --quiet -p softap-sim
SOFTAP_SIM_BIN=target/debug/softap-sim node --test --test-timeout=60000 sim/tests/
echo "== the device page's logic and seal.js against the shared corpus, the page generator (Node)"
node --test tests/js/
echo "== the npm package and its TypeScript types (tests/types.ts, tsc --strict)"
scripts/build-pkg.sh
node_modules/.bin/tsc -p tests/tsconfig.json
echo "== the device page: generated, its C++ handler compiled and run"
scripts/test-device-page.sh
echo "== the setup page and Local Network Access in Chromium (screenshots in target/e2e-screenshots)"
node --test --test-concurrency=1 --test-timeout=900000 $(ls tests/e2e/*.test.mjs | grep -v every-browser)
echo "== the handoff through the device page in Chromium, WebKit and Firefox, in a network namespace of its own"
node --test --test-timeout=2700000 tests/e2e/every-browser.test.mjs
echo "== browser tests (headless Chromium)"
scripts/test-browser.sh
