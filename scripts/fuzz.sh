#!/usr/bin/env bash
# A short run of every fuzz target (cargo-fuzz, libFuzzer; needs a nightly toolchain).
# FUZZ_SECONDS sets the time per target.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${FUZZ_SECONDS:-30}
if ! command -v rustup >/dev/null || ! rustup toolchain list | grep -q '^nightly'; then
  echo "fuzz: needs a nightly toolchain (rustup toolchain install nightly)" >&2
  exit 1
fi
command -v cargo-fuzz >/dev/null || cargo install -q cargo-fuzz
for target in reply scan device_key; do
  echo "== fuzz $target (${seconds}s)"
  cargo +nightly fuzz run "$target" -- -max_total_time="$seconds" -print_final_stats=1 2>&1 \
    | grep -E '^(stat::number_of_executed_units|stat::peak_rss_mb|==|INFO: Done)|ERROR|panicked' || true
  # cargo fuzz exits non-zero on a crash; grep above hides the status, so check artifacts.
  if ls "fuzz/artifacts/$target"/crash-* >/dev/null 2>&1; then
    echo "fuzz: $target found a crash: fuzz/artifacts/$target" >&2
    exit 1
  fi
done
