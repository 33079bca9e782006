#!/usr/bin/env bash
# Builds pkg/ and the simulator, then runs softap-sim on fixed local ports until Ctrl-C.
set -euo pipefail
cd "$(dirname "$0")/.."
source .tools/env
$CARGO build --quiet -p softap-sim
# The page the device itself serves (Safari, iPhones, Firefox), returning to the demo page.
node scripts/device-page.mjs --allow-origin http://127.0.0.1:8080 --product "Lumen lamp" >/dev/null
cat <<TEXT

softap-web demo
  open:         http://127.0.0.1:8080/   (the setup page of a made-up product, www/)
                http://127.0.0.1:8080/?mode=handoff   (as Safari, iPhones and Firefox do it:
                through the page the device serves; add &sealed=1 for sealed mode, the
                device's name is in http://127.0.0.1:8183/state)
  npm package:  $PWD/pkg  (import init, { SoftAP, Cloud, SetupFlow } from "./pkg/softap_web.js")
  simulator:    a Photon in listening mode at http://127.0.0.1:8180 (TCP protocol :8181),
                the cloud at http://127.0.0.1:8182, its state at http://127.0.0.1:8183/state,
                a maker backend at http://127.0.0.1:8184 (POST /customer-token),
                the page the device serves at http://127.0.0.1:8180/setup (for the
                handoff: Safari, iPhones and Firefox; see the README)
  Wi-Fi passwords the simulated radio accepts: "Home WiFi" correct horse, "Guest" (open);
  see sim/fixtures/networks.json.
Ctrl-C stops it.

TEXT
exec target/debug/softap-sim --http 127.0.0.1:8180 --tcp 127.0.0.1:8181 --cloud 127.0.0.1:8182 \
  --control 127.0.0.1:8183 --backend 127.0.0.1:8184 --www 127.0.0.1:8080=www --pkg pkg \
  --device-page target/device-page \
  "$@"
