// The map: incidents come and go and units move as events arrive, and the
// dispatcher pans and zooms. The server projects every position; nothing
// here knows longitude or latitude. Needs app.js.
"use strict";
(function () {
  var z = window.zhufang, map = document.getElementById("map");
  if (!z || !map) return;

  // An incident's marker is drawn by the server, as on the page; a 404
  // means the map no longer shows it (ended, or not the user's ground).
  // Answers can cross: only the newest asked counts.
  var asked = {};
  function refreshIncident(id) {
    var seq = asked[id] = (asked[id] || 0) + 1;
    z.fetchText("/map/incidents/" + id).then(function (res) {
      if (asked[id] !== seq) return;
      var c = document.getElementById("mi-" + id), old = c ? c.parentNode : null; // the link around the circle
      if (res.status === 404) {
        if (old) old.remove();
        return;
      }
      if (res.status !== 200) return;
      var fresh = z.fragment(res.text).getElementById("mi-" + id);
      if (!fresh || fresh.parentNode.namespaceURI !== map.namespaceURI) return; // not a marker: a sign-in page
      if (old) old.replaceWith(fresh.parentNode);
      else document.getElementById("incidents").appendChild(fresh.parentNode);
    });
  }

  // Units move: the positions event lists [unit_id, x, y] in map units.
  function moveUnits(list) {
    for (var i = 0; i < list.length; i++) {
      var u = document.getElementById("mu-" + list[i][0]);
      var x = Number(list[i][1]), y = Number(list[i][2]);
      if (!u || !isFinite(x) || !isFinite(y)) continue;
      u.setAttribute("cx", String(x));
      u.setAttribute("cy", String(y));
    }
  }
  function setUnitStatus(id, status) {
    var u = document.getElementById("mu-" + id);
    if (u && status) u.setAttribute("class", "unit us-" + status);
  }
  z.on("change", function (m) {
    if (m.incident_id) refreshIncident(m.incident_id);
    if (m.unit_id) setUnitStatus(m.unit_id, m.status);
  });
  z.on("positions", function (list) { if (Array.isArray(list)) moveUnits(list); });

  // Pan and zoom, on the SVG's viewBox.
  var home = map.getAttribute("viewBox").split(" ").map(Number);
  var vb = home.slice();
  // Markers are sized in map units, which zooming scales: --z is the map
  // units one screen pixel spans, so that app.css sizes each marker in
  // screen pixels and it stays the same size, legible, at every zoom.
  function unitsPerPixel() {
    var r = map.getBoundingClientRect();
    if (!r.width || !r.height) return vb[2] / home[2];
    return Math.max(vb[2] / r.width, vb[3] / r.height);
  }
  function setVB(b) {
    vb = b;
    map.setAttribute("viewBox", b.map(function (n) { return n.toFixed(1); }).join(" "));
    map.style.setProperty("--z", unitsPerPixel().toFixed(5)); // CSSOM: allowed by the CSP
    baseMap();
  }

  // The base map, when a tile server is configured: the server says which
  // tiles cover the view and where each lies in map units (it converts
  // between the tiles' GCJ-02 and the map's WGS-84); here they are only
  // put under everything else. Only the newest answer counts.
  var basemap = document.getElementById("basemap"), tileTimer = null, tileSeq = 0;
  function baseMap() {
    if (!basemap) return;
    clearTimeout(tileTimer);
    tileTimer = setTimeout(function () {
      var r = map.getBoundingClientRect();
      if (!r.width || !r.height) return;
      var seq = ++tileSeq;
      // The view as the svg draws it: its viewBox attribute, to the digit.
      var q = "view=" + map.getAttribute("viewBox").split(" ").join(",") + "&px=" + Math.round(r.width) + "," + Math.round(r.height);
      z.fetchText("/map/tiles?" + q).then(function (res) {
        if (seq !== tileSeq || res.status !== 200) return;
        var g = z.fragment(res.text).getElementById("basemap-tiles");
        if (!g || g.namespaceURI !== map.namespaceURI) return;
        basemap.replaceChildren.apply(basemap, Array.prototype.slice.call(g.childNodes));
        basemap.dataset.view = q;
      });
    }, 120);
  }
  function fit(bbox) {
    var b = bbox.split(",").map(Number);
    if (b.length !== 4 || !b[2] || !b[3]) return;
    var aspect = map.clientWidth / Math.max(map.clientHeight, 1) || home[2] / home[3];
    var w = b[2] * 1.15, h = b[3] * 1.15;
    if (w / h < aspect) w = h * aspect; else h = w / aspect;
    setVB([b[0] + b[2] / 2 - w / 2, b[1] + b[3] / 2 - h / 2, w, h]);
  }
  function zoom(f, cx, cy) {
    if (cx === undefined) { cx = vb[0] + vb[2] / 2; cy = vb[1] + vb[3] / 2; }
    var w = Math.min(Math.max(vb[2] * f, 5), home[2] * 2), h = w * vb[3] / vb[2];
    setVB([cx - (cx - vb[0]) * w / vb[2], cy - (cy - vb[1]) * h / vb[3], w, h]);
  }
  function toSVG(x, y) {
    var r = map.getBoundingClientRect();
    var s = Math.max(vb[2] / r.width, vb[3] / r.height);
    var ox = (r.width * s - vb[2]) / 2, oy = (r.height * s - vb[3]) / 2;
    return [vb[0] - ox + (x - r.left) * s, vb[1] - oy + (y - r.top) * s];
  }
  map.addEventListener("wheel", function (e) {
    e.preventDefault();
    var pt = toSVG(e.clientX, e.clientY);
    zoom(e.deltaY > 0 ? 1.25 : 0.8, pt[0], pt[1]);
  }, { passive: false });
  var drag = null;
  map.addEventListener("pointerdown", function (e) {
    if (e.button !== 0) return;
    drag = { x: e.clientX, y: e.clientY, vb: vb.slice(), moved: false };
  });
  map.addEventListener("pointermove", function (e) {
    if (!drag) return;
    var dx = e.clientX - drag.x, dy = e.clientY - drag.y;
    if (!drag.moved && Math.abs(dx) + Math.abs(dy) < 4) return;
    if (!drag.moved) { drag.moved = true; map.setPointerCapture(e.pointerId); map.classList.add("dragging"); }
    var r = map.getBoundingClientRect();
    var s = Math.max(drag.vb[2] / r.width, drag.vb[3] / r.height);
    setVB([drag.vb[0] - dx * s, drag.vb[1] - dy * s, drag.vb[2], drag.vb[3]]);
  });
  function endDrag(e) {
    if (drag && drag.moved) e.preventDefault();
    drag = null;
    map.classList.remove("dragging");
  }
  map.addEventListener("pointerup", endDrag);
  map.addEventListener("pointercancel", endDrag);
  map.addEventListener("click", function (e) { if (map.classList.contains("dragging")) e.preventDefault(); }, true);
  document.getElementById("zoom-in").addEventListener("click", function () { zoom(0.7); });
  document.getElementById("zoom-out").addEventListener("click", function () { zoom(1.4); });
  document.getElementById("zoom-home").addEventListener("click", function () {
    if (map.dataset.focus) fit(map.dataset.focus); else setVB(home.slice());
  });
  document.getElementById("zoomto").addEventListener("change", function (e) {
    if (e.target.value) fit(e.target.value); else setVB(home.slice());
  });
  if (map.dataset.focus) fit(map.dataset.focus); else setVB(home.slice());
  window.addEventListener("resize", function () { setVB(vb); });
})();
