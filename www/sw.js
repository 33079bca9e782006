// The demo page's service worker: once the page was loaded online, the setup keeps working on
// the device's network, which has no internet, and after a reload there. Secure origins only
// (https, or localhost and 127.0.0.1 for the demo).
//
// The package's files (pkg/precache.js, written by scripts/build-pkg.sh) come from a cache
// named after their content hash: a new build is a new cache, the old one is deleted, and
// nobody bumps a version by hand. A new worker waits until no page runs the old files (no
// skipWaiting): a page still open loads the rest of its own version lazily, on the device's
// network too, and must never get the new build's files beside its old ones. The browser looks for a new worker on every visit and
// compares this file and the scripts it imports byte for byte, so a new hash installs it.
// The page's own files are kept in the same cache and refreshed in the background whenever
// the network answers (stale while revalidate), so an edited page shows on the next visit.
importScripts("./pkg/precache.js");

const { hash, files } = self.SOFTAP_PRECACHE;
const CACHE = `softap-setup-${hash}`;
const PACKAGE = files.map((file) => new URL(`./pkg/${file}`, self.location).href);
const PAGE = ["./", "./favicon.svg", "./lumen-logo.svg"].map((file) => new URL(file, self.location).href);

self.addEventListener("install", (event) => {
  event.waitUntil(caches.open(CACHE).then((cache) => cache.addAll([...PAGE, ...PACKAGE])));
});

// Active only once no page runs an older build: its cache can go, and the first visit's page
// is taken in at once (it had no worker).
self.addEventListener("activate", (event) => {
  event.waitUntil(
    caches.keys()
      .then((keys) => Promise.all(keys.filter((key) => key.startsWith("softap-setup-") && key !== CACHE).map((key) => caches.delete(key))))
      .then(() => self.clients.claim()),
  );
});

// Only this origin's GETs; everything else (the device, the cloud, the maker's server) goes to
// the network untouched, issued by the page itself.
self.addEventListener("fetch", (event) => {
  const { request } = event;
  const url = new URL(request.url);
  if (request.method !== "GET" || url.origin !== self.location.origin) return;
  const key = `${url.origin}${url.pathname}`;
  if (PACKAGE.includes(key)) {
    // Named by its content: the cached copy is the right one.
    event.respondWith(caches.match(key).then((hit) => hit ?? fetch(request)));
    return;
  }
  // The page (with any query: the demo's ?mode=handoff) and its own files.
  const page = key === `${PAGE[0]}index.html` ? PAGE[0] : PAGE.includes(key) ? key : null;
  if (!page) return;
  event.respondWith(caches.open(CACHE).then(async (cache) => {
    const cached = await cache.match(page);
    const fresh = fetch(request).then((response) => {
      if (response.ok) cache.put(page, response.clone());
      return response;
    });
    if (!cached) return fresh;
    event.waitUntil(fresh.catch(() => {}));
    return cached;
  }));
});
