// Precaches the setup page, the widget and the wasm: once loaded online, the page works on
// the device's network, which has no internet (and after a reload there). Secure origins
// only (https, or localhost for the demo). Bump VERSION when the files change.
const VERSION = "softap-setup-v3";
const FILES = [
  "./",
  "./index.html",
  "./softap-setup.js",
  "./i18n.js",
  "./handoff.js",
  "./seal.js",
  "./lumen-logo.svg",
  "./pkg/softap_web.js",
  "./pkg/softap_web_bg.wasm",
];

self.addEventListener("install", (event) => {
  event.waitUntil(caches.open(VERSION).then((cache) => cache.addAll(FILES)).then(() => self.skipWaiting()));
});

self.addEventListener("activate", (event) => {
  event.waitUntil(
    caches.keys()
      .then((keys) => Promise.all(keys.filter((key) => key !== VERSION).map((key) => caches.delete(key))))
      .then(() => self.clients.claim()),
  );
});

// Cached files first (they must work offline); everything else, the device and the cloud
// included, goes to the network untouched.
self.addEventListener("fetch", (event) => {
  const url = new URL(event.request.url);
  if (event.request.method !== "GET" || url.origin !== self.location.origin) return;
  event.respondWith(caches.match(event.request, { ignoreSearch: true }).then((hit) => hit ?? fetch(event.request)));
});
