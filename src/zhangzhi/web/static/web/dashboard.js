/* 一张图: rivers, reaches, lakes and region borders on one Leaflet map; click a reach for its chiefs.
 *
 * Every drawn feature's SVG element carries data-feature=<id> (and data-level), so tests and
 * other scripts can find a reach on the map without knowing Leaflet's internals. */
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
  const AREA_STYLE = {color: "#3182bd", weight: 1, fillColor: "#6baed6", fillOpacity: 0.6};
  const HIGHLIGHT = "#e6550d";
  // Lines are always drawn as SVG paths (never canvas), so each feature has its own element to tag.
  const renderer = L.svg({padding: 0.5});
  const map = L.map("map", {renderer: renderer, zoomSnap: 0.25});
  window.ZZ.map = map;
  if (window.ZZ.tileUrl) {
    L.tileLayer(window.ZZ.tileUrl, {attribution: window.ZZ.tileAttribution, subdomains: "01234567", maxZoom: 18}).addTo(map);
  }
  map.setView([37.95, 113.5], 9);

  const get = (url) => fetch(url, {credentials: "same-origin", headers: {Accept: "application/json"}})
    .then((r) => { if (!r.ok) throw new Error(url + " " + r.status); return r.json(); });
  const esc = (s) => String(s == null ? "" : s).replace(/[&<>"']/g, (c) => ({"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;"}[c]));
  const $ = (id) => document.getElementById(id);

  const layers = {regions: L.featureGroup().addTo(map), areas: L.featureGroup().addTo(map), lines: L.featureGroup().addTo(map)};
  const byId = {};
  let selected = null;

  function lineStyle(f) {
    const s = LEVEL_STYLE[f.properties.level] || LEVEL_STYLE.village;
    return {color: s.color, weight: s.weight, opacity: 0.9, className: "zz-feature zz-line"};
  }

  function tag(f, layer) {
    const el = layer.getElement && layer.getElement();
    if (!el) return;
    el.setAttribute("data-feature", String(f.properties.id));
    el.setAttribute("data-level", f.properties.level || "");
    el.setAttribute("data-name", f.properties.name || "");
  }

  function bindFeature(f, layer, baseStyle) {
    layer.zzBase = baseStyle;
    byId[f.properties.id] = layer;
    // "add" fires each time Leaflet (re)creates the element, e.g. after the layer is re-added
    layer.on("add", () => tag(f, layer));
    layer.on("click", (e) => { L.DomEvent.stopPropagation(e); showDetail(f, layer); });
    layer.bindTooltip(f.properties.name, {sticky: true});
  }

  function restyle(layer) {
    if (layer && layer.setStyle) layer.setStyle(classStyle(layer));
  }

  function showDetail(f, layer) {
    restyle(selected);
    selected = layer;
    if (layer.setStyle) {
      layer.setStyle({color: HIGHLIGHT, weight: ((layer.zzBase && layer.zzBase.weight) || 3) + 3, opacity: 1});
      layer.bringToFront();
    }
    const p = f.properties;
    const detail = $("detail");
    detail.hidden = false;
    detail.dataset.feature = p.id;
    $("d-name").textContent = p.name;
    $("d-demo").hidden = !p.illustrative;
    const len = p.length_m ? (p.length_m / 1000).toFixed(2) + " " + T.km : "";
    const area = p.area_m2 ? (p.area_m2 / 1e6).toFixed(2) + " " + T.km2 : "";
    $("d-meta").textContent = [T.levels[p.level] || p.level, p.region_name, len ? T.length + " " + len : "",
      area ? T.area + " " + area : ""].filter(Boolean).join(" · ");
    $("d-sign").href = "/s/" + p.id + "/";
    const body = $("d-chiefs");
    body.innerHTML = "<tr><td colspan=4>…</td></tr>";
    get("/api/v1/features/" + p.id + "/posts").then((data) => {
      if ($("detail").dataset.feature !== String(p.id)) return;  // another feature was clicked meanwhile
      body.innerHTML = data.posts.length ? data.posts.map((c) =>
        "<tr><td>" + esc(T.levels[c.level] || c.level) + "</td><td>" + esc(c.role) +
        (c.feature_name && c.feature !== p.id ? "<div class=muted>" + esc(c.feature_name) + "</div>" : "") +
        "</td><td class=name>" + esc(c.person) + "</td><td>" +
        (c.phone ? "<a href='tel:" + esc(c.phone) + "'>" + esc(c.phone) + "</a>" : "") + "</td></tr>").join("")
        : "<tr><td colspan=4>" + esc(T.none) + "</td></tr>";
      document.body.dataset.detailReady = String(p.id);
    }).catch((e) => { body.innerHTML = "<tr><td colspan=4 class=error>" + esc(e.message) + "</td></tr>"; });
    if (window.matchMedia("(max-width: 700px)").matches) detail.scrollIntoView({block: "start"});
  }

  $("d-close").addEventListener("click", () => {
    restyle(selected);
    selected = null;
    $("detail").hidden = true;
  });

  Promise.all([
    get("/api/v1/regions?format=geojson&level=county,zone&mine=true"),
    get("/api/v1/features?format=geojson&kind=river,reach,canal"),
    get("/api/v1/features?format=geojson&kind=lake,reservoir,spring"),
    get("/api/v1/dashboard/summary"),
  ]).then(([regions, lines, areas, summary]) => {
    L.geoJSON(regions, {interactive: false,
      style: {color: "#737373", weight: 1.2, dashArray: "4 3", fill: true, fillColor: "#f7f7f7", fillOpacity: 0.35}})
      .addTo(layers.regions);
    // coarse levels first, so that finer reaches are drawn on top and take the clicks
    const order = {province: 0, city: 1, county: 2, township: 3, village: 4};
    lines.features.sort((a, b) => (order[a.properties.level] || 0) - (order[b.properties.level] || 0));
    L.geoJSON(lines, {style: lineStyle, onEachFeature: (f, l) => bindFeature(f, l, lineStyle(f))}).addTo(layers.lines);
    L.geoJSON(areas, {style: () => Object.assign({className: "zz-feature zz-area"}, AREA_STYLE),
      pointToLayer: (f, ll) => L.circleMarker(ll, {radius: 6}),
      onEachFeature: (f, l) => bindFeature(f, l, AREA_STYLE)}).addTo(layers.areas);
    // tag again once everything is on the map, whatever order Leaflet created the elements in
    Object.values(byId).forEach((l) => tag(l.feature, l));
    // show the whole jurisdiction (its borders) and everything drawn in it
    const b = L.featureGroup([layers.regions, layers.lines, layers.areas]).getBounds();
    if (b.isValid()) map.fitBounds(b, {padding: [16, 16], animate: false});  // no animation: ready means still
    $("counts").innerHTML = summary.counts.map((c) =>
      "<div class=count data-key=" + esc(c.key) + "><dt>" + esc(c.label) + "</dt><dd>" + esc(c.value) + "</dd></div>").join("");
    const demo = lines.features.concat(areas.features).some((f) => f.properties.illustrative);
    $("summary-demo").hidden = !demo;
    if (!lines.features.length && !areas.features.length) $("counts").insertAdjacentHTML("afterend", "<p class=muted>" + esc(T.empty) + "</p>");
    document.body.dataset.mapReady = "1";
    return loadWaterQuality();
  }).catch((e) => { $("counts").innerHTML = "<p class=error>" + esc(e.message) + "</p>"; });

  // 水质: colour each reach by its section's latest GB 3838 class, and show the stations
  const WQ_COLOURS = {I: "#1f78b4", II: "#33a02c", III: "#e6c700", IV: "#ff7f00", V: "#e31a1c", "劣V": "#6a3d9a"};
  let wqOn = true;
  let wqLoaded = false;
  let wqClasses = {};

  function classStyle(layer) {
    if (!wqOn || !wqLoaded || !layer.feature || layer.zzBase.fillColor) return layer.zzBase;
    const k = wqClasses[String(layer.feature.properties.id)];
    // with the class colouring on, a reach with no section nearby is grey, not a class-like blue
    return Object.assign({}, layer.zzBase, k ? {color: WQ_COLOURS[k], opacity: 1} : {color: "#9aa7b0", opacity: 0.8});
  }

  function applyClasses() {
    Object.values(byId).forEach((l) => { if (l !== selected && l.setStyle) l.setStyle(classStyle(l)); });
  }

  function loadWaterQuality() {
    return Promise.all([get("/api/v1/monitoring/reach-classes"), get("/api/v1/stations")]).then(([classes, st]) => {
      wqClasses = classes || {};
      const stations = (st.stations || []).filter((s) => s.lon != null && s.lat != null);
      if (!stations.length && !Object.keys(wqClasses).length) return;
      $("wq-legend").hidden = false;
      wqLoaded = true;
      const group = L.featureGroup().addTo(map);
      stations.forEach((s) => {
        const k = wqClasses[String(s.feature)];
        const m = L.circleMarker([s.lat, s.lon], {radius: 6, weight: 2, color: "#fff", fillOpacity: 1,
          fillColor: k ? WQ_COLOURS[k] : "#555", className: "zz-station"});
        m.bindTooltip(esc(s.name) + (k ? " · " + esc(T.wqClass) + " " + esc(k) : "") +
          (s.target_class ? " · " + esc(T.target) + " " + esc(s.target_class) : ""));
        m.on("click", () => { window.location.href = "/monitoring/stations/" + s.id + "/"; });
        m.addTo(group);
      });
      // the selected reach keeps its highlight; the others take their class colour
      Object.values(byId).forEach((l) => { l.zzBase = Object.assign({}, l.zzBase); });
      applyClasses();
      $("wq-toggle").addEventListener("change", (e) => { wqOn = e.target.checked; applyClasses(); });
      document.body.dataset.wqReady = String(Object.keys(wqClasses).length);
    }).catch(() => { /* monitoring is optional on the map */ });
  }
})();
