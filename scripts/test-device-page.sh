#!/usr/bin/env bash
# The device page generator's output: both flavours generated from www/ and pkg/, their C++
# handler compiled against a stand-in of the documented Device OS API (g++ -fsyntax-only,
# with the maker's registration lines), then built and run to check what it serves.
set -euo pipefail
cd "$(dirname "$0")/.."
out=target/device-page
node scripts/device-page.mjs --out "$out" >/dev/null
flags=(-std=c++11 -Wall -Wextra -Werror -I tests/device-page)
g++ "${flags[@]}" -fsyntax-only tests/device-page/firmware.cpp
for flavour in relay full; do
  g++ "${flags[@]}" -fsyntax-only "$out/$flavour/softap_pages.cpp"
  g++ "${flags[@]}" -O1 "$out/$flavour/softap_pages.cpp" tests/device-page/handler_test.cpp \
    -o "$out/handler-test-$flavour"
  "$out/handler-test-$flavour" "$out/$flavour"
done
