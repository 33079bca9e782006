#!/usr/bin/env bash
# A run of every fuzz target (cargo-fuzz, libFuzzer; needs a nightly toolchain). Each starts
# from the corpus kept in the repo: fuzz/seeds/<target> (made from tests/vectors/ by
# scripts/fuzz-seeds.mjs) and fuzz/corpus/<target> (what earlier runs found, minimized); what a
# run finds goes to target/fuzz-corpus/<target>. FUZZ_SECONDS sets the time per target
# (default 30); FUZZ_TARGETS a space-separated subset; FUZZ_KEEP=1 merges a run's finds into
# fuzz/corpus/ (minimized with cargo fuzz cmin) for committing.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${FUZZ_SECONDS:-30}
targets=${FUZZ_TARGETS:-"scan reply device_key cloud handoff_return setup_machine"}
if ! command -v rustup >/dev/null || ! rustup toolchain list | grep -q '^nightly'; then
  echo "fuzz: needs a nightly toolchain (rustup toolchain install nightly)" >&2
  exit 1
fi
command -v cargo-fuzz >/dev/null || cargo install -q cargo-fuzz --version 0.13.1 --locked
for target in $targets; do
  echo "== fuzz $target (${seconds}s)"
  found="target/fuzz-corpus/$target"
  mkdir -p "$found" "fuzz/corpus/$target"
  cargo +nightly fuzz run "$target" "$found" "fuzz/corpus/$target" "fuzz/seeds/$target" -- \
    -max_total_time="$seconds" -max_len=8192 -print_final_stats=1 2>&1 \
    | grep -E '^(stat::number_of_executed_units|stat::peak_rss_mb|#[0-9]+[[:space:]]+DONE)|ERROR|panicked' || true
  # cargo fuzz exits non-zero on a crash; grep above hides the status, so check artifacts.
  if [ -n "$(find "fuzz/artifacts/$target" -maxdepth 1 \( -name 'crash-*' -o -name 'timeout-*' -o -name 'oom-*' \) 2>/dev/null)" ]; then
    echo "fuzz: $target found a failing input: fuzz/artifacts/$target" >&2
    exit 1
  fi
  if [ -n "${FUZZ_KEEP:-}" ]; then
    cp -n "$found"/* "fuzz/corpus/$target"/ 2>/dev/null || true
    cargo +nightly fuzz cmin "$target" "fuzz/corpus/$target" -- -max_len=8192 >/dev/null 2>&1
    echo "kept: fuzz/corpus/$target ($(ls "fuzz/corpus/$target" | wc -l) inputs)"
  fi
done
