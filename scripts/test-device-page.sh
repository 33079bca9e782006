#!/usr/bin/env bash
# The device page generator's output: generated from www/ for a made-up maker, its C++
# handler compiled against a stand-in of the documented Device OS API (g++ -fsyntax-only,
# with the maker's registration lines), then built and run to check what it serves.
set -euo pipefail
cd "$(dirname "$0")/.."
out=target/device-page-test
node scripts/device-page.mjs --out "$out" --allow-origin https://lumen.example --product "Lumen lamp" >/dev/null
flags=(-std=c++11 -Wall -Wextra -Werror -I tests/device-page)
g++ "${flags[@]}" -fsyntax-only tests/device-page/firmware.cpp
g++ "${flags[@]}" -fsyntax-only "$out/softap_pages.cpp"
g++ "${flags[@]}" -O1 "$out/softap_pages.cpp" tests/device-page/handler_test.cpp -o "$out/handler-test"
"$out/handler-test" "$out"
