#!/usr/bin/env bash
# Prints figures as "name: value" lines, each beside its budget ("budget_<name>" and
# "budget_<name>_met"). Sizes are of pkg/ as built by scripts/build-pkg.sh, gzipped at level
# 9 as a web server would serve them.
set -euo pipefail
cd "$(dirname "$0")/.."
source .tools/env

# "budget NAME VALUE LIMIT": the budget beside its figure, and whether it is met (<=).
budget() {
  echo "budget_$1: $3"
  if awk -v v="$2" -v l="$3" 'BEGIN { exit !(v <= l) }'; then echo "budget_$1_met: yes"; else echo "budget_$1_met: no"; fi
}

# --- Sizes ----------------------------------------------------------------------------------
# rustup: the stock toolchain a new user has; debian: Debian's rustc-web with build-std and
# panic=immediate-abort, which makes the wasm smaller (scripts/setup.sh picks one).
echo "toolchain: ${SOFTAP_TOOLCHAIN:-unknown} ($($CARGO --version 2>/dev/null | awk '{print $2}'))"
gz() { gzip -9c "$1" | wc -c | tr -d ' '; }
wasm=$(gz pkg/softap_web_bg.wasm)
js=$(gz pkg/softap_web.js)
echo "pkg_wasm_gzip_bytes: $wasm"
echo "pkg_js_gzip_bytes: $js"
echo "pkg_wasm_raw_bytes: $(wc -c < pkg/softap_web_bg.wasm | tr -d ' ')"
echo "pkg_total_gzip_bytes: $((wasm + js))"
budget pkg_total_gzip_bytes $((wasm + js)) $((128 * 1024))

# What a customer's browser downloads for the demo's setup page: the page and its images, the
# service worker, and the package as shipped (the element minified, texts, handoff, wasm).
page=0
for f in www/index.html www/*.svg www/sw.js pkg/softap-setup.js pkg/i18n.js pkg/handoff.js pkg/precache.js pkg/softap_web.js pkg/softap_web_bg.wasm; do
  [ -f "$f" ] && page=$((page + $(gz "$f")))
done
# No budget of its own any more: the package's (above) is most of it.
echo "page_gzip_bytes: $page"

# The page the device serves, as flash in the product firmware (scripts/device-page.mjs):
# English and German, one return origin.
figure=$(node scripts/device-page.mjs --out target/device-page-bench --allow-origin https://example.com --product "Lumen lamp" 2>/dev/null)
echo "$figure"
budget device_page_relay_gzip_bytes "${figure##*: }" $((12 * 1024))

# --- Hostile input ------------------------------------------------------------------------
# The shared corpus in both clients: the core (tests/vectors.rs) and the device page
# (tests/js/vectors.test.mjs). A failing case counts as failed, not as missing.
core=$($CARGO test -q --test vectors -- --nocapture 2>/dev/null | grep -o 'corpus_core [^:]*: [0-9]* checked, [0-9]* failed' || true)
page_line=$(node --test tests/js/vectors.test.mjs 2>/dev/null | grep -o 'corpus_page: .*' || true)
read -r checked failed < <(printf '%s\n%s\n' "$core" "$page_line" \
  | awk -F'[:,]' '/checked/ { split($2, c, " "); split($3, f, " "); n += c[1]; x += f[1] } END { print n + 0, x + 0 }')
if [ "$(printf '%s\n' "$core" | grep -c .)" -lt 8 ] || [ -z "$page_line" ]; then
  echo "bench: a corpus runner did not report (core: $(printf '%s\n' "$core" | grep -c .) of 8 files, page: ${page_line:-none})" >&2
  exit 1
fi
echo "hostile_vectors: $checked"
echo "hostile_vectors_failed: $failed"
budget hostile_vectors_failed "$failed" 0

# The worst time to reject a 1 MiB hostile reply, natively in the release build.
$CARGO run -q --release --example parse_worst

# --- The setup machine: 10,000 seeded setups on a virtual clock (tests/soak.rs) ---------------
soak=$($CARGO test -q --test soak -- --nocapture 2>/dev/null | grep -E '^soak_[a-z_]+: ')
echo "$soak"
value() { printf '%s\n' "$1" | awk -F': ' -v k="$2" '$1 == k { print $2 }'; }
echo "budget_soak_setups: >= 10000"
if [ "$(value "$soak" soak_setups)" -ge 10000 ]; then echo "budget_soak_setups_met: yes"; else echo "budget_soak_setups_met: no"; fi
budget soak_untyped_failures "$(value "$soak" soak_untyped_failures)" 0
budget soak_hung "$(value "$soak" soak_hung)" 0

# --- The flow against the simulator in headless Chromium (tests/bench_flow.rs) --------------
# The test build of the wasm is unoptimised: its RSA and SHA-256 are slower than the shipped
# package's.
flow=$(scripts/test-browser.sh --test bench_flow -- --nocapture 2>&1 | grep -E '^((flow|browser)_[a-z_]+|claim_detect_ms): ') || {
  echo "bench: the flow benchmark did not run" >&2
  exit 1
}
echo "$flow"
budget flow_overhead_beyond_browser_ms "$(value "$flow" flow_overhead_beyond_browser_ms)" 10
budget claim_detect_ms "$(value "$flow" claim_detect_ms)" 50

# --- The maker's server against the simulated cloud (scripts/bench-server.sh) ---------------
scripts/bench-server.sh
