/* 巡河 on the phone: record geolocation fixes, show them over the reach, queue the patrol in
 * IndexedDB, upload it when the network allows (now, on "online", every 20 s, on next visit).
 * The server is idempotent on client_id, so a retry after a lost answer stores one patrol. */
(function () {
  "use strict";
  const T = window.ZZP.i18n;
  const cfg = JSON.parse(document.getElementById("mp-config").textContent);
  const reaches = JSON.parse(document.getElementById("reaches-data").textContent);
  const $ = (id) => document.getElementById(id);
  const minInterval = Math.max(1, cfg.minInterval || 3) * 1000;

  // -- IndexedDB outbox --------------------------------------------------------------------------
  const dbp = new Promise((resolve, reject) => {
    const req = indexedDB.open("zhangzhi-patrols", 1);
    req.onupgradeneeded = () => req.result.createObjectStore("outbox", { keyPath: "client_id" });
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error);
  });
  function tx(mode, fn) {
    return dbp.then((db) => new Promise((resolve, reject) => {
      const t = db.transaction("outbox", mode);
      const out = fn(t.objectStore("outbox"));
      t.oncomplete = () => resolve(out && out.result !== undefined ? out.result : out);
      t.onerror = () => reject(t.error);
    }));
  }
  const queuePut = (item) => tx("readwrite", (s) => s.put(item));
  const queueDel = (id) => tx("readwrite", (s) => s.delete(id));
  const queueAll = () => tx("readonly", (s) => s.getAll());

  function uuid4() {
    if (window.crypto && crypto.randomUUID) return crypto.randomUUID();
    const b = crypto.getRandomValues(new Uint8Array(16));
    b[6] = (b[6] & 15) | 64; b[8] = (b[8] & 63) | 128;
    const h = [...b].map((x) => x.toString(16).padStart(2, "0")).join("");
    return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
  }
  function csrf() {
    const m = document.cookie.match(/(?:^|; )csrftoken=([^;]+)/);
    return m ? decodeURIComponent(m[1]) : "";
  }

  // -- map -----------------------------------------------------------------------------------------
  const map = L.map("map", { zoomControl: true, attributionControl: !!cfg.tileUrl, maxZoom: 18 });
  if (cfg.tileUrl) L.tileLayer(cfg.tileUrl, { maxZoom: 18 }).addTo(map);
  map.setView([37.86, 113.58], 10); // a view before any layer: Leaflet clips vectors to it
  let reachLayer = null;
  const trackLine = L.polyline([], { color: "#d9480f", weight: 4 }).addTo(map);
  const here = L.circleMarker([0, 0], { radius: 7, color: "#fff", weight: 2, fillColor: "#1c7ed6", fillOpacity: 1 });
  function showReach() {
    const r = reaches.find((x) => String(x.id) === $("reach").value);
    if (!r) return;
    if (reachLayer) map.removeLayer(reachLayer);
    reachLayer = L.geoJSON(r.geometry, { style: { color: "#1f77b4", weight: 6, opacity: 0.7 } }).addTo(map);
    map.invalidateSize();
    map.fitBounds(reachLayer.getBounds(), { padding: [20, 20], maxZoom: 17 });
  }
  if (reaches.length) { showReach(); $("reach").addEventListener("change", showReach); }

  // -- recording ---------------------------------------------------------------------------------
  let rec = null; // {client_id, feature, coords: [[lon,lat]], times: [iso], findings: [], started}
  let watchId = null, timer = null, lastFix = 0, dist = 0;

  function hav(a, b) {
    const R = 6371008.8, rad = Math.PI / 180;
    const dLat = (b[1] - a[1]) * rad, dLon = (b[0] - a[0]) * rad;
    const s = Math.sin(dLat / 2) ** 2 + Math.cos(a[1] * rad) * Math.cos(b[1] * rad) * Math.sin(dLon / 2) ** 2;
    return 2 * R * Math.asin(Math.sqrt(s));
  }
  function fmt(ms) {
    const s = Math.floor(ms / 1000);
    return [Math.floor(s / 3600), Math.floor(s / 60) % 60, s % 60].map((x) => String(x).padStart(2, "0")).join(":");
  }
  function tick() {
    if (!rec) return;
    $("elapsed").textContent = fmt(Date.now() - rec.started);
    $("distance").textContent = (dist / 1000).toFixed(2);
    $("points").textContent = rec.coords.length;
  }
  function onFix(pos) {
    if (!rec) return;
    const now = Date.now();
    if (now - lastFix < minInterval) return; // a fix every few seconds is plenty, and keeps times distinct
    lastFix = now;
    const p = [Number(pos.coords.longitude.toFixed(7)), Number(pos.coords.latitude.toFixed(7))];
    if (rec.coords.length) dist += hav(rec.coords[rec.coords.length - 1], p);
    rec.coords.push(p);
    rec.times.push(new Date(now).toISOString());
    trackLine.addLatLng([p[1], p[0]]);
    here.setLatLng([p[1], p[0]]);
    if (!map.hasLayer(here)) here.addTo(map);
    $("status").textContent = T.recording;
    // keep the patrol on the phone while it is recorded: a closed tab loses nothing
    try { localStorage.setItem("zz-current-patrol", JSON.stringify(rec)); } catch (e) { /* quota */ }
    tick();
  }
  function start() {
    if (!navigator.geolocation) { $("status").textContent = T.geoError; return; }
    rec = { client_id: uuid4(), feature: Number($("reach").value), crs: "wgs84", coords: [], times: [],
            findings: [], started: Date.now(), name: $("reach").selectedOptions[0].textContent };
    dist = 0; lastFix = 0; trackLine.setLatLngs([]);
    $("start").hidden = true; $("stop").hidden = false; $("finding").hidden = false; $("reach").disabled = true;
    $("status").textContent = T.waiting;
    watchId = navigator.geolocation.watchPosition(onFix, (err) => { $("status").textContent = T.geoError + T.colon + err.message; },
      { enableHighAccuracy: true, maximumAge: 0, timeout: 30000 });
    timer = setInterval(tick, 1000);
  }
  async function stop() {
    if (!rec) return;
    if (rec.coords.length < 2) { $("status").textContent = T.tooFew; return; }
    navigator.geolocation.clearWatch(watchId); clearInterval(timer);
    const item = { client_id: rec.client_id, name: rec.name, queued_at: new Date().toISOString(),
      body: { client_id: rec.client_id, feature: rec.feature, crs: rec.crs,
              track: { type: "LineString", coordinates: rec.coords, times: rec.times }, findings: rec.findings } };
    await queuePut(item);
    localStorage.removeItem("zz-current-patrol");
    rec = null;
    $("start").hidden = false; $("stop").hidden = true; $("finding").hidden = true; $("reach").disabled = false;
    $("status").textContent = T.queued;
    await refreshQueue();
    flush();
  }

  // -- findings ----------------------------------------------------------------------------------
  function shrink(file) {
    return new Promise((resolve) => {
      if (!file) return resolve("");
      const img = new Image();
      img.onload = () => {
        const k = Math.min(1, 1280 / Math.max(img.width, img.height));
        const c = document.createElement("canvas");
        c.width = Math.round(img.width * k); c.height = Math.round(img.height * k);
        c.getContext("2d").drawImage(img, 0, 0, c.width, c.height);
        resolve(c.toDataURL("image/jpeg", 0.8));
        URL.revokeObjectURL(img.src);
      };
      img.onerror = () => resolve("");
      img.src = URL.createObjectURL(file);
    });
  }
  $("finding").addEventListener("click", () => $("finding-dialog").showModal());
  $("finding-form").addEventListener("submit", async (ev) => {
    const form = ev.target;
    if (ev.submitter && ev.submitter.value !== "ok") return;
    if (!rec || !rec.coords.length) return;
    const last = rec.coords[rec.coords.length - 1];
    rec.findings.push({ category: form.category.value, note: form.note.value, lon: last[0], lat: last[1],
                        at: new Date().toISOString(), photo: await shrink(form.photo.files[0]) });
    form.reset();
    $("status").textContent = `${T.findingSaved} (${rec.findings.length})`;
  });

  // -- upload ------------------------------------------------------------------------------------
  let flushing = false;
  function result(item, text, cls, href) {
    const li = document.createElement("li");
    li.className = cls;
    li.dataset.clientId = item.client_id;
    const a = document.createElement(href ? "a" : "span");
    if (href) a.href = href;
    a.textContent = `${item.name} · ${text}`;
    li.appendChild(a);
    $("results").prepend(li);
  }
  async function refreshQueue() {
    const n = (await queueAll()).length;
    $("queue").textContent = n ? `${T.pending} ${n}` : "";
  }
  async function flush() {
    if (flushing) return;
    flushing = true;
    try {
      for (const item of await queueAll()) {
        let resp;
        try {
          resp = await fetch(window.ZZP.api, { method: "POST", credentials: "same-origin",
            headers: { "Content-Type": "application/json", "X-CSRFToken": csrf(), "X-Zhangzhi-Client": "m-patrol" },
            body: JSON.stringify(item.body) });
        } catch (e) { break; } // offline: try again later
        if (resp.status === 401) { $("status").textContent = T.login; break; }
        if (resp.status >= 500 || resp.status === 429) break;
        const data = await resp.json().catch(() => ({}));
        await queueDel(item.client_id);
        if (resp.ok) {
          const text = data.effective ? T.effective : `${T.notEffective}${T.colon}${(data.reasons || []).join(T.reasonSep)}`;
          result(item, text, data.effective ? "ok" : "bad", window.ZZP.detail + data.id + "/");
          $("status").textContent = text;
        } else {
          result(item, `${T.rejected}${T.colon}${(data.error && data.error.message) || resp.status}`, "bad");
        }
      }
    } finally {
      flushing = false;
      refreshQueue();
    }
  }

  $("start") && $("start").addEventListener("click", start);
  $("stop").addEventListener("click", stop);
  window.addEventListener("online", flush);
  setInterval(flush, 20000);
  refreshQueue().then(flush);
  if ("serviceWorker" in navigator) navigator.serviceWorker.register(window.ZZP.sw, { scope: "/" }).catch(() => {});
  window.ZZP.flush = flush; // for tests and the curious
})();
