/* Service worker for the mobile patrol page: the page shell works with no network; API calls
 * always go to the network (the page keeps unsent patrols in IndexedDB and retries). */
const CACHE = "zz-patrol-v1";
const SHELL = ["/m/patrol"].concat(__SHELL__);

self.addEventListener("install", (event) => {
  event.waitUntil(caches.open(CACHE).then((c) => c.addAll(SHELL)).catch(() => null).then(() => self.skipWaiting()));
});
self.addEventListener("activate", (event) => {
  event.waitUntil(caches.keys().then((keys) => Promise.all(keys.filter((k) => k !== CACHE).map((k) => caches.delete(k))))
    .then(() => self.clients.claim()));
});
self.addEventListener("fetch", (event) => {
  const url = new URL(event.request.url);
  if (event.request.method !== "GET" || url.origin !== location.origin || url.pathname.startsWith("/api/")) return;
  const isShell = url.pathname === "/m/patrol" || SHELL.includes(url.pathname);
  if (!isShell) return;
  // network first, so a logged-in page is fresh; the cached shell when offline
  event.respondWith(fetch(event.request).then((resp) => {
    if (resp.ok) { const copy = resp.clone(); caches.open(CACHE).then((c) => c.put(event.request, copy)); }
    return resp;
  }).catch(() => caches.match(event.request, { ignoreSearch: true })));
});
