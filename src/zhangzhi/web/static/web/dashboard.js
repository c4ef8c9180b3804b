/* 一张图: rivers, reaches, lakes and region borders on one Leaflet map; click a reach for its chiefs. */
(function () {
  "use strict";
  const T = window.ZZ.i18n;
  const LEVEL_STYLE = {
    province: {color: "#08306b", weight: 6},
    city: {color: "#08519c", weight: 5},
    county: {color: "#2171b5", weight: 4},
    township: {color: "#4292c6", weight: 3},
    village: {color: "#6baed6", weight: 2},
  };
  const map = L.map("map", {preferCanvas: false, zoomSnap: 0.25});
  window.ZZ.map = map;
  if (window.ZZ.tileUrl) {
    L.tileLayer(window.ZZ.tileUrl, {attribution: window.ZZ.tileAttribution, subdomains: "01234567", maxZoom: 18}).addTo(map);
  }
  map.setView([37.95, 113.5], 9);

  const get = (url) => fetch(url, {credentials: "same-origin", headers: {Accept: "application/json"}})
    .then((r) => { if (!r.ok) throw new Error(url + " " + r.status); return r.json(); });
  const esc = (s) => String(s == null ? "" : s).replace(/[&<>"']/g, (c) => ({"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;"}[c]));

  const layers = {regions: L.featureGroup().addTo(map), areas: L.featureGroup().addTo(map), lines: L.featureGroup().addTo(map)};
  let selected = null;

  function styleFor(f) {
    const s = LEVEL_STYLE[f.properties.level] || LEVEL_STYLE.village;
    return {color: s.color, weight: s.weight, opacity: 0.9};
  }

  function showDetail(f, layer) {
    if (selected) selected.setStyle(styleFor(selected.feature));
    selected = layer;
    layer.setStyle({color: "#e6550d", weight: (LEVEL_STYLE[f.properties.level] || {weight: 3}).weight + 2});
    layer.bringToFront();
    const p = f.properties;
    document.getElementById("detail").hidden = false;
    document.getElementById("d-name").textContent = p.name;
    const len = p.length_m ? (p.length_m / 1000).toFixed(2) + " " + T.km : "";
    document.getElementById("d-meta").textContent = [T.levels[p.level] || p.level, p.region_name, len ? T.length + " " + len : ""].filter(Boolean).join(" · ");
    document.getElementById("d-sign").href = "/s/" + p.id + "/";
    const body = document.getElementById("d-chiefs");
    body.innerHTML = "<tr><td colspan=4>…</td></tr>";
    get("/api/v1/features/" + p.id + "/posts").then((data) => {
      body.innerHTML = data.posts.length ? data.posts.map((c) =>
        "<tr><td>" + esc(T.levels[c.level] || c.level) + "</td><td>" + esc(c.role) + "</td><td class=name>" + esc(c.person) +
        "</td><td>" + (c.phone ? "<a href='tel:" + esc(c.phone) + "'>" + esc(c.phone) + "</a>" : "") + "</td></tr>").join("")
        : "<tr><td colspan=4>" + esc(T.none) + "</td></tr>";
    });
  }

  Promise.all([
    get("/api/v1/regions?format=geojson&level=county,zone&mine=true"),
    get("/api/v1/features?format=geojson&kind=river,reach,canal"),
    get("/api/v1/features?format=geojson&kind=lake,reservoir,spring"),
    get("/api/v1/dashboard/summary"),
  ]).then(([regions, lines, areas, summary]) => {
    L.geoJSON(regions, {style: {color: "#737373", weight: 1.2, dashArray: "4 3", fill: true, fillColor: "#f7f7f7", fillOpacity: 0.35},
      onEachFeature: (f, l) => l.bindTooltip(f.properties.name, {sticky: true})}).addTo(layers.regions);
    // draw coarse levels first so that fine reaches sit on top and take the clicks
    const order = {province: 0, city: 1, county: 2, township: 3, village: 4};
    lines.features.sort((a, b) => order[a.properties.level] - order[b.properties.level]);
    L.geoJSON(lines, {style: styleFor, onEachFeature: (f, l) => {
      l.on("click", () => showDetail(f, l));
      l.bindTooltip(f.properties.name, {sticky: true});
      l.getElement && l.on("add", () => { const el = l.getElement(); if (el) el.setAttribute("data-feature", f.properties.id); });
    }}).addTo(layers.lines);
    L.geoJSON(areas, {style: {color: "#3182bd", weight: 1, fillColor: "#6baed6", fillOpacity: 0.6},
      pointToLayer: (f, ll) => L.circleMarker(ll, {radius: 6}),
      onEachFeature: (f, l) => { l.on("click", () => showDetail(f, l)); l.bindTooltip(f.properties.name); }}).addTo(layers.areas);
    const all = L.featureGroup([layers.lines, layers.areas]);
    const b = all.getBounds().isValid() ? all.getBounds() : layers.regions.getBounds();
    if (b.isValid()) map.fitBounds(b, {padding: [10, 10]});
    const counts = document.getElementById("counts");
    counts.innerHTML = summary.counts.map((c) => "<dt>" + esc(c.label) + "</dt><dd>" + esc(c.value) + "</dd>").join("");
    document.body.dataset.mapReady = "1";
  }).catch((e) => { document.getElementById("counts").innerHTML = "<dt>" + esc(e.message) + "</dt>"; });
})();
