#!/usr/bin/env bash
# Every test: the native suite (core and tools), then the browser suite in headless Chromium.
set -euo pipefail
cd "$(dirname "$0")/.."
source .tools/env
echo "== native tests"
$CARGO test --workspace
echo "== browser tests (headless Chromium)"
scripts/test-browser.sh
