#!/usr/bin/env bash
# The demo on fixed local ports until Ctrl-C: softap-sim (a lamp and the Particle cloud),
# softap-maker (the maker's server, SQLite under target/) against the simulated cloud, and the
# made-up maker's setup page (www/ and pkg/, scripts/demo-server.mjs) signed in as "demo-user".
set -euo pipefail
cd "$(dirname "$0")/.."
source .tools/env
$CARGO build --quiet -p softap-sim -p softap-maker

PAGE=http://127.0.0.1:8080
MAKER=127.0.0.1:8185
export PARTICLE_API_URL=http://127.0.0.1:8182 PARTICLE_CLIENT_ID=softap-sim-client \
  PARTICLE_CLIENT_SECRET=softap-sim-secret PARTICLE_PRODUCT_ID=4242 \
  MAKER_JWT_SECRET=softap-web-demo-session-secret-not-for-production \
  ALLOWED_ORIGINS=$PAGE LISTEN_ADDR=$MAKER DATABASE_URL='sqlite://target/demo-maker.db?mode=rwc' \
  MAKER_SETUP_URL=$PAGE/ RELEASE_POLICY=${RELEASE_POLICY:-release} RUST_LOG=${RUST_LOG:-warn}

pids=()
stop() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
}
trap stop EXIT
trap 'exit 130' INT TERM

# Waits for a process's JSON line ("devices" or "listening") in its log; fails if it died.
ready() {
  local log=$1 pid=$2 word=$3
  for _ in $(seq 300); do
    grep -q "\"$word\"" "$log" 2>/dev/null && return 0
    kill -0 "$pid" 2>/dev/null || { cat "$log" >&2; return 1; }
    sleep 0.1
  done
  echo "demo: $log never became ready" >&2
  return 1
}

# The page the device serves (Safari, iPhones and Firefox), returning to the demo page.
node scripts/device-page.mjs --allow-origin $PAGE --product "Lumen lamp" --product-in de=Lumen-Lampe,f >/dev/null

mkdir -p target/demo
target/debug/softap-sim --http 127.0.0.1:8180 --tcp 127.0.0.1:8181 --cloud 127.0.0.1:8182 \
  --control 127.0.0.1:8183 --device-page target/device-page "$@" > target/demo/sim.log 2>&1 &
pids+=($!)
ready target/demo/sim.log "${pids[-1]}" devices

# A fresh maker's database each run: the simulated lamp and cloud are new too.
rm -f target/demo-maker.db target/demo-maker.db-shm target/demo-maker.db-wal
target/debug/softap-maker > target/demo/maker.log 2>&1 &
pids+=($!)
ready target/demo/maker.log "${pids[-1]}" listening

# At the factory: the lamp is added to the product and its key recorded (sealed mode reads it).
node --input-type=module > target/demo/lamps.csv <<'JS'
const state = await (await fetch("http://127.0.0.1:8183/state")).json();
const { b: key } = await (await fetch("http://127.0.0.1:8180/public-key")).json();
const lamp = state.devices[0];
console.log(`device_id,ap_name,public_key\n${lamp.id},${lamp.ssid},${key}`);
JS
target/debug/softap-maker import target/demo/lamps.csv --labels target/demo/labels > target/demo/import.log

session=$(target/debug/softap-maker dev-token demo-user --ttl 86400)
DEMO_SESSION=$session node scripts/demo-server.mjs --listen 127.0.0.1:8080 > target/demo/page.log 2>&1 &
pids+=($!)
ready target/demo/page.log "${pids[-1]}" listening
lamp=$(sed -n 2p target/demo/lamps.csv | cut -d, -f2)

cat <<TEXT

softap-web demo
  open:         $PAGE/   (the setup page of a made-up product, www/, signed in as "demo-user")
                $PAGE/?mode=handoff   (as Safari, iPhones and Firefox do it: through the
                page the device serves; add &sealed=1 for sealed mode: the lamp's name is $lamp)
  npm package:  $PWD/pkg  (import init, { SoftAP, Cloud, SetupFlow } from "./pkg/softap_web.js")
  simulator:    a Photon in listening mode at http://127.0.0.1:8180 (TCP protocol :8181),
                the cloud at http://127.0.0.1:8182, its state at http://127.0.0.1:8183/state,
                the page the device serves at http://127.0.0.1:8180/setup
  maker:        softap-maker at http://$MAKER (database target/demo-maker.db, RELEASE_POLICY=$RELEASE_POLICY),
                the demo user's session (Authorization: Bearer …, valid 24 h):
                $session
  Wi-Fi passwords the simulated radio accepts: "Home WiFi" correct horse, "Guest" (open),
  "Café Übersee" grüße-123; see sim/fixtures/networks.json. A wrong one shows the recovery.
  Start over:   the button on the page, or reset the lamp yourself:
                curl -X POST 'http://127.0.0.1:8183/reset?device=0'             (setup mode again)
                curl -X POST 'http://127.0.0.1:8183/reset?device=0&release=1'   (and no owner)
                curl -X POST 'http://127.0.0.1:8183/reset?device=0&identity=new' (another lamp)
                then "Start over" on the page (it forgets the setup kept for reloads).
  logs:         target/demo/
Ctrl-C stops it.

TEXT
wait -n
