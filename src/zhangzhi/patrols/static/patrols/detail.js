/* Patrol detail: the reach (blue), the track (orange), start (green) and end (red). The view is
 * set before any layer is added (Leaflet clips vectors against the renderer's bounds). */
(function () {
  "use strict";
  const reach = JSON.parse(document.getElementById("reach-data").textContent);
  const track = JSON.parse(document.getElementById("track-data").textContent);
  const cfg = JSON.parse(document.getElementById("pd-config").textContent);
  const T = window.ZZPD.i18n; // filled by the template with {% translate %}
  const map = L.map("map", { attributionControl: !!cfg.tileUrl, maxZoom: 18 });
  if (cfg.tileUrl) L.tileLayer(cfg.tileUrl, { maxZoom: 18 }).addTo(map);
  const r = L.geoJSON(reach, { style: { color: "#1f77b4", weight: 7, opacity: 0.6 } });
  const pts = track.coordinates.map((c) => [c[1], c[0]]);
  const bounds = r.getBounds();
  if (pts.length) bounds.extend(L.latLngBounds(pts));
  map.fitBounds(bounds, { padding: [20, 20], maxZoom: 17 });
  r.addTo(map);
  L.polyline(pts, { color: "#d9480f", weight: 3 }).addTo(map);
  if (pts.length) {
    L.circleMarker(pts[0], { radius: 6, color: "#2b8a3e", fillOpacity: 1 }).bindTooltip(T.start).addTo(map);
    L.circleMarker(pts[pts.length - 1], { radius: 6, color: "#c92a2a", fillOpacity: 1 }).bindTooltip(T.end).addTo(map);
  }
})();
