#!/usr/bin/env bash
# The maker's server's figures, as "name: value" lines, against the simulated cloud (test
# profile build): POST /v1/setup-token for an existing user, median latency and throughput
# with 16 callers; GET of a ten-device installation, median latency (fresh state of each
# device from the product API).
set -euo pipefail
cd "$(dirname "$0")/.."
source .tools/env
$CARGO test --quiet -p softap-maker --test sqlite -- --ignored --exact bench --nocapture 2>&1 \
  | grep -E '^maker_[a-z0-9_]+: ' || {
  echo "bench-server: the server benchmark did not run" >&2
  exit 1
}
