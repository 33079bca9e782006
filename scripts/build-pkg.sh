#!/usr/bin/env bash
# Builds pkg/: the npm package (wasm-bindgen --target web, wasm-opt -Oz, package.json).
set -euo pipefail
cd "$(dirname "$0")/.."
source .tools/env

RUSTFLAGS="${WASM_RELEASE_RUSTFLAGS}" $CARGO build --quiet --release --lib --features small-allocator \
  --target wasm32-unknown-unknown $WASM_BUILD_STD
wasm=target/wasm32-unknown-unknown/release/softap_web.wasm

rm -rf pkg.new && mkdir pkg.new
wasm-bindgen --target web --out-dir pkg.new --out-name softap_web "$wasm"
# The features rustc enables by default for wasm32-unknown-unknown.
node_modules/.bin/wasm-opt -Oz --strip-debug --strip-producers \
  --enable-bulk-memory --enable-sign-ext --enable-mutable-globals \
  --enable-nontrapping-float-to-int --enable-reference-types --enable-multivalue \
  pkg.new/softap_web_bg.wasm -o pkg.new/softap_web_bg.wasm

# The glue carries every doc comment; the .d.ts keeps them for editors, the shipped JS
# does not need them.
node_modules/.bin/terser pkg.new/softap_web.js --module --compress --mangle --comments false \
  -o pkg.new/softap_web.min.js
mv pkg.new/softap_web.min.js pkg.new/softap_web.js

# The <softap-setup> element ships beside the API it is built on (import "softap-web/setup").
cp www/softap-setup.js www/i18n.js www/handoff.js www/handoff.d.ts pkg.new/

version=$(awk -F'"' '/^version = /{print $2; exit}' Cargo.toml)
cat > pkg.new/package.json <<JSON
{
  "name": "softap-web",
  "version": "$version",
  "description": "Set up Particle Photon/P1 Wi-Fi devices from a web page: the SoftAP protocol in WebAssembly",
  "license": "MIT OR Apache-2.0",
  "type": "module",
  "main": "./softap_web.js",
  "types": "./softap_web.d.ts",
  "exports": {
    ".": {
      "types": "./softap_web.d.ts",
      "default": "./softap_web.js"
    },
    "./softap_web_bg.wasm": "./softap_web_bg.wasm",
    "./setup": "./softap-setup.js",
    "./i18n": "./i18n.js",
    "./handoff": { "types": "./handoff.d.ts", "default": "./handoff.js" }
  },
  "files": [
    "softap_web.js",
    "softap_web.d.ts",
    "softap_web_bg.wasm",
    "softap_web_bg.wasm.d.ts",
    "softap-setup.js",
    "i18n.js",
    "handoff.js",
    "handoff.d.ts"
  ],
  "sideEffects": ["./softap-setup.js"],
  "keywords": ["wasm", "wifi", "particle", "photon", "softap", "provisioning"]
}
JSON
rm -rf pkg && mv pkg.new pkg
echo "pkg/ built: $(cd pkg && ls | tr '\n' ' ')"
