// Natter's service worker. The server puts two constants above this line (see
// src/server/pwa.rs): VERSION, a hash of this build's app shell, and SHELL, the files the
// app needs to start, with this build's hashed names. Pages are not in SHELL: they carry
// who the user is, so they are kept as they are visited. A new build means a new VERSION,
// so browsers install this worker again and it fills a fresh cache; the page offers a
// reload, and the old cache is deleted once the new worker takes over.

const CACHE = `natter-${VERSION}`;
/// A page from the network that takes longer than this is served from the cache, if
/// there is a copy, so a phone on a poor network still opens the app at once.
const PAGE_PATIENCE_MS = 3000;
/// Where the URL of the last page fetched is kept.
const LAST_PAGE = '/__natter/last-page';

self.addEventListener('install', (event) => {
  event.waitUntil(
    (async () => {
      const cache = await caches.open(CACHE);
      // `reload`: past the HTTP cache, which could hold an older build's copy.
      await cache.addAll(SHELL.map((url) => new Request(url, { cache: 'reload' })));
      // The pages open now were loaded before any worker could keep them.
      const open = await self.clients.matchAll({ includeUncontrolled: true, type: 'window' });
      const pages = open.map((client) => client.url).filter((url) => new URL(url).origin === self.location.origin);
      await cache.addAll(pages.map((url) => new Request(url, { cache: 'reload' })));
      if (pages.length > 0) await cache.put(LAST_PAGE, new Response(pages[pages.length - 1]));
    })(),
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

/// The refresh of kept pages running or last run.
let refreshing = Promise.resolve();

self.addEventListener('message', (event) => {
  // The page asks for the new version once the user agreed to reload.
  if (event.data === 'skip-waiting') self.skipWaiting();
  // Someone signed in or out: the pages kept show who was signed in when they were kept.
  // One refresh at a time, in the order asked: an older one still fetching (started
  // before the sign-in) must not finish last and put back a page without the user.
  if (event.data === 'refresh-pages') {
    refreshing = refreshing.catch(() => {}).then(refreshPages);
    event.waitUntil(refreshing);
  }
});

async function refreshPages() {
  const cache = await caches.open(CACHE);
  const files = new Set([...SHELL, LAST_PAGE]);
  for (const request of await cache.keys()) {
    if (files.has(new URL(request.url).pathname)) continue;
    try {
      const response = await fetch(request.url, { cache: 'reload' });
      if (response.ok) await cache.put(request.url, response);
      else await cache.delete(request);
    } catch {
      // Offline: keep the old copy.
    }
  }
}

self.addEventListener('fetch', (event) => {
  const request = event.request;
  const url = new URL(request.url);
  if (request.method !== 'GET' || url.origin !== self.location.origin) return;
  // Live data is never cached: server functions, the socket, health.
  if (url.pathname.startsWith('/api/') || ['/ws', '/healthz', '/sw.js'].includes(url.pathname)) return;
  // Files sent in rooms: private to their readers, never kept by the worker.
  if (url.pathname.startsWith('/files/')) return;
  event.respondWith(request.mode === 'navigate' ? page(request) : file(request));
});

/// Pages: fresh from the network (they carry the newest room list), the copy from the last
/// visit when the network fails or dawdles.
async function page(request) {
  const cache = await caches.open(CACHE);
  const network = fetch(request).then(async (response) => {
    if (response.ok) {
      await cache.put(request, response.clone());
      await cache.put(LAST_PAGE, new Response(request.url));
    }
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
    // A page never opened on this device (the installed app's start page, say): the
    // last one opened instead.
    const last = await cache.match(LAST_PAGE);
    if (last) return Response.redirect(await last.text(), 302);
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

// Web Push (src/server/push/): the server sends a notice — JSON with title, body, url
// (`/r/<room>`), tag (one per room) and seq — when the person has no visible Natter.
self.addEventListener('push', (event) => {
  event.waitUntil(showPush(event.data));
});

async function showPush(data) {
  let notice = {};
  try {
    notice = data ? data.json() : {};
  } catch {
    // Not ours, or damaged: a plain notice still says something arrived.
  }
  // A window the person is looking at shows the message itself. (The server does not
  // push while a tab is visible; this covers the moments in between.)
  const windows = await self.clients.matchAll({ type: 'window', includeUncontrolled: true });
  if (windows.some((client) => client.visibilityState === 'visible' && client.focused)) return;
  await self.registration.showNotification(notice.title || 'Natter', {
    body: notice.body || '',
    tag: notice.tag || 'natter',
    icon: '/icons/icon-192.png',
    badge: '/icons/icon-192.png',
    data: { url: notice.url || '/', seq: notice.seq },
  });
}

self.addEventListener('notificationclick', (event) => {
  event.notification.close();
  event.waitUntil(openAt(clickTarget(event.notification)));
});

/// Where a click on `notification` goes: its room, on this origin only.
function clickTarget(notification) {
  const target = new URL((notification.data && notification.data.url) || '/', self.location.origin);
  return target.origin === self.location.origin ? target : new URL('/', self.location.origin);
}

/// Opens `target` (a room): in a Natter window already open, focused, or else in a new
/// one.
async function openAt(target) {
  const windows = await self.clients.matchAll({ type: 'window', includeUncontrolled: true });
  const open = windows.find((client) => new URL(client.url).origin === self.location.origin);
  if (open) {
    const focused = await open.focus();
    if (new URL(focused.url).href === target.href) return focused;
    // `navigate` only works on windows this worker controls; others open anew.
    const moved = await focused.navigate(target.href).catch(() => null);
    if (moved) return moved;
  }
  return self.clients.openWindow(target.href);
}
