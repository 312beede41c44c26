// Natter's service worker. The server puts two constants above this line (see
// src/server/pwa.rs): VERSION, a hash of this build's app shell, and SHELL, the files the
// app needs to start, with this build's hashed names. A new build means a new VERSION,
// so browsers install this worker again and it fills a fresh cache; the page offers a
// reload, and the old cache is deleted once the new worker takes over.

const CACHE = `natter-${VERSION}`;
/// A page from the network that takes longer than this is served from the cache, if
/// there is a copy, so a phone on a poor network still opens the app at once.
const PAGE_PATIENCE_MS = 3000;

self.addEventListener('install', (event) => {
  // `reload`: past the HTTP cache, which could hold an older build under the same name.
  event.waitUntil(
    caches
      .open(CACHE)
      .then((cache) => cache.addAll(SHELL.map((url) => new Request(url, { cache: 'reload' })))),
  );
});

self.addEventListener('activate', (event) => {
  event.waitUntil(
    (async () => {
      for (const key of await caches.keys()) {
        if (key.startsWith('natter-') && key !== CACHE) await caches.delete(key);
      }
      await self.clients.claim();
    })(),
  );
});

// The page asks for the new version once the user agreed to reload.
self.addEventListener('message', (event) => {
  if (event.data === 'skip-waiting') self.skipWaiting();
});

self.addEventListener('fetch', (event) => {
  const request = event.request;
  const url = new URL(request.url);
  if (request.method !== 'GET' || url.origin !== self.location.origin) return;
  // Live data is never cached: server functions, the socket, health.
  if (url.pathname.startsWith('/api/') || ['/ws', '/healthz', '/sw.js'].includes(url.pathname)) return;
  event.respondWith(request.mode === 'navigate' ? page(request) : file(request));
});

/// Pages: fresh from the network (they carry the newest room list), the copy from the last
/// visit when the network fails or dawdles.
async function page(request) {
  const cache = await caches.open(CACHE);
  const network = fetch(request).then(async (response) => {
    if (response.ok) await cache.put(request, response.clone());
    return response;
  });
  const cached = await cache.match(request, { ignoreSearch: true });
  if (cached) {
    const patience = new Promise((done) => setTimeout(() => done(cached), PAGE_PATIENCE_MS));
    return Promise.race([network.catch(() => cached), patience]);
  }
  try {
    return await network;
  } catch (offline) {
    // A room never opened on this device: the front page leads to the last one.
    if (new URL(request.url).pathname !== '/' && (await cache.match('/'))) {
      return Response.redirect('/', 302);
    }
    throw offline;
  }
}

/// Files: build-specific names, so a cached copy is always the right one.
async function file(request) {
  const cache = await caches.open(CACHE);
  const cached = await cache.match(request);
  if (cached) return cached;
  const response = await fetch(request);
  if (response.ok && /^\/(pkg|icons)\//.test(new URL(request.url).pathname)) {
    await cache.put(request, response.clone());
  }
  return response;
}
