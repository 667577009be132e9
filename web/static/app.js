// zhufang console: live updates, the 1-3-5 countdowns, keyboard dispatch and
// map interaction. Everything else is server-rendered; records are fetched as
// server-rendered fragments, so no text from a record is ever parsed as HTML
// here except what the server escaped.
"use strict";
(function () {
  var serverSkew = 0; // server time minus this browser's time, in ms
  var clockNow = document.getElementById("clocknow");
  if (clockNow && clockNow.dataset.now) {
    serverSkew = Date.parse(clockNow.dataset.now) - Date.now();
  }
  function now() { return Date.now() + serverSkew; }

  function pad(n) { return n < 10 ? "0" + n : "" + n; }
  function mmss(ms) {
    var neg = ms < 0;
    var s = Math.floor(Math.abs(ms) / 1000);
    var t = pad(Math.floor(s / 60)) + ":" + pad(s % 60);
    return neg ? "-" + t : t;
  }

  // The 1-3-5 countdowns. The server drew each clock and named the
  // instants it turns amber and red; here the time left only counts down.
  function tickClocks() {
    var t = now();
    var cells = document.querySelectorAll("td.clock[data-due]");
    for (var i = 0; i < cells.length; i++) {
      var c = cells[i];
      if (c.dataset.reached) continue; // stopped: the server drew it
      var due = Date.parse(c.dataset.due);
      var cls = t >= due ? "red" : (t >= Date.parse(c.dataset.amber) ? "amber" : "green");
      c.textContent = mmss(due - t);
      if (!c.classList.contains(cls)) {
        c.classList.remove("green", "amber", "red");
        c.classList.add(cls);
      }
    }
    if (clockNow) {
      var d = new Date(t + 8 * 3600 * 1000); // China time
      clockNow.textContent = pad(d.getUTCHours()) + ":" + pad(d.getUTCMinutes()) + ":" + pad(d.getUTCSeconds());
    }
  }
  tickClocks();
  setInterval(tickClocks, 500);

  var board = document.getElementById("board");
  var map = document.getElementById("map");
  var incidentPage = document.getElementById("incident-page");
  var live = document.getElementById("live");

  function setLive(state) {
    if (!live) return;
    live.dataset.state = state;
    live.textContent = state === "on" ? live.dataset.textLive : live.dataset.textRetry;
  }

  function fetchText(url) {
    return fetch(url, { credentials: "same-origin", headers: { "Accept": "text/html" } }).then(function (r) {
      return r.text().then(function (t) { return { status: r.status, text: t }; });
    });
  }

  // parseRow turns the server's escaped row fragment into a table row.
  function parseRow(html) {
    var tpl = document.createElement("template");
    tpl.innerHTML = "<table><tbody>" + html + "</tbody></table>";
    return tpl.content.querySelector("tr");
  }

  // Board: replace the changed row, keep the server's order: each row
  // carries its key, compared as a string (data-sort).
  function sortRows(tbody) {
    var rows = Array.prototype.slice.call(tbody.querySelectorAll("tr"));
    rows.sort(function (a, b) {
      var x = a.dataset.sort || "", y = b.dataset.sort || "";
      return x < y ? -1 : (x > y ? 1 : 0);
    });
    rows.forEach(function (r) { tbody.appendChild(r); });
  }
  // Answers can cross: only the newest asked for a row counts.
  var askedRow = {};
  function refreshRow(id) {
    var tbody = document.getElementById("incident-rows");
    if (!tbody) return;
    var seq = askedRow[id] = (askedRow[id] || 0) + 1;
    fetchText("/board/rows/" + id).then(function (res) {
      if (askedRow[id] !== seq) return;
      var old = document.getElementById("inc-" + id);
      if (res.status === 404) {
        if (old) old.remove();
      } else if (res.status === 200) {
        var tr = parseRow(res.text);
        if (!tr) return;
        if (board.dataset.selected === String(id)) tr.classList.add("selected");
        if (old) {
          old.replaceWith(tr);
        } else {
          tr.classList.add("fresh");
          tbody.appendChild(tr);
          var none = document.getElementById("no-incidents");
          if (none) none.remove();
        }
        sortRows(tbody);
      }
      var count = document.getElementById("open-count");
      if (count) count.textContent = tbody.querySelectorAll("tr").length;
      tickClocks();
    });
  }
  // A row's key holds until its next deadline passes (data-sort-until);
  // then the server has a new one, asked for once.
  var rekeyed = {};
  function rekeyRows(t) {
    var rows = document.querySelectorAll("#incident-rows tr[data-sort-until]");
    for (var i = 0; i < rows.length; i++) {
      var until = rows[i].dataset.sortUntil, id = rows[i].dataset.id;
      if (until && t > Date.parse(until) && rekeyed[id] !== until) {
        rekeyed[id] = until;
        refreshRow(id);
      }
    }
  }
  if (board) setInterval(function () { rekeyRows(now()); }, 500);
  var detailTimer = null;
  function refreshDetail() {
    clearTimeout(detailTimer);
    detailTimer = setTimeout(function () {
      fetchText(location.pathname + location.search).then(function (res) {
        if (res.status !== 200) return;
        var doc = new DOMParser().parseFromString(res.text, "text/html");
        var fresh = doc.getElementById("detail"), old = document.getElementById("detail");
        if (fresh && old && !old.contains(document.activeElement)) old.replaceWith(fresh);
        tickClocks();
      });
    }, 150);
  }
  var unitsTimer = null;
  function refreshUnits() {
    if (unitsTimer) return;
    unitsTimer = setTimeout(function () {
      unitsTimer = null;
      fetchText("/board/units").then(function (res) {
        if (res.status !== 200) return;
        var tpl = document.createElement("template");
        tpl.innerHTML = res.text;
        var fresh = tpl.content.getElementById("units-panel"), old = document.getElementById("units-panel");
        if (fresh && old) old.replaceWith(fresh);
      });
    }, 500);
  }

  // Map: incidents come and go, units move. The server projects every
  // position; nothing here knows longitude or latitude.
  var SVG = "http://www.w3.org/2000/svg";
  // An incident's marker is drawn by the server, as on the page; a 404
  // means the map no longer shows it (ended, or not the user's ground).
  // Answers can cross: only the newest asked counts.
  var askedMarker = {};
  function refreshMapIncident(id) {
    var seq = askedMarker[id] = (askedMarker[id] || 0) + 1;
    fetchText("/map/incidents/" + id).then(function (res) {
      if (askedMarker[id] !== seq) return;
      var c = document.getElementById("mi-" + id), old = c ? c.parentNode : null; // the link around the circle
      if (res.status === 404) {
        if (old) old.remove();
        return;
      }
      if (res.status !== 200) return;
      var tpl = document.createElement("template");
      tpl.innerHTML = res.text; // escaped by the server; inert here
      var fresh = tpl.content.getElementById("mi-" + id);
      if (!fresh || fresh.parentNode.namespaceURI !== SVG) return; // not a marker: a sign-in page
      if (old) old.replaceWith(fresh.parentNode);
      else document.getElementById("incidents").appendChild(fresh.parentNode);
    });
  }
  // The positions event lists [unit_id, x, y] in map units.
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

  // Live updates over server-sent events. The browser reconnects by itself
  // and sends Last-Event-ID; the server replays what was missed.
  var root = board || map || incidentPage;
  if (root && window.EventSource) {
    var last = (board || map || {}).dataset ? ((board || map).dataset.lastEvent || "0") : "0";
    var es = new EventSource("/events?last=" + encodeURIComponent(last));
    es.onopen = function () { setLive("on"); };
    es.onerror = function () { setLive("retry"); };
    es.addEventListener("reload", function () { location.reload(); });
    es.addEventListener("change", function (ev) {
      var m;
      try { m = JSON.parse(ev.data); } catch (e) { return; }
      if (board) {
        if (m.incident_id) {
          refreshRow(m.incident_id);
          if (board.dataset.selected === String(m.incident_id)) refreshDetail();
        }
        if (m.unit_id || m.topic === "assignment") refreshUnits();
      }
      if (map) {
        if (m.incident_id) refreshMapIncident(m.incident_id);
        if (m.unit_id) setUnitStatus(m.unit_id, m.status);
      }
      if (incidentPage && String(m.incident_id) === incidentPage.dataset.incident) {
        if (!incidentPage.contains(document.activeElement) || document.activeElement === document.body) location.reload();
      }
    });
    es.addEventListener("positions", function (ev) {
      if (!map) return;
      var list;
      try { list = JSON.parse(ev.data); } catch (e) { return; } // a bad frame is skipped
      if (Array.isArray(list)) moveUnits(list);
    });
  }

  // Keyboard dispatch on the board.
  function typing(el) {
    return el && (el.tagName === "INPUT" || el.tagName === "TEXTAREA" || el.tagName === "SELECT");
  }
  function select(delta) {
    var rows = Array.prototype.slice.call(document.querySelectorAll("#incident-rows tr"));
    if (!rows.length) return;
    var i = rows.findIndex(function (r) { return r.classList.contains("selected"); });
    i = i < 0 ? 0 : Math.max(0, Math.min(rows.length - 1, i + delta));
    location.href = "/board?sel=" + rows[i].dataset.id;
  }
  document.addEventListener("keydown", function (e) {
    var el = document.activeElement;
    if (e.key === "Enter" && (e.ctrlKey || e.metaKey) && el && el.form && el.form.id === "intake") {
      e.preventDefault();
      el.form.requestSubmit();
      return;
    }
    if (e.key === "Escape") { if (el) el.blur(); return; }
    if (typing(el) || e.ctrlKey || e.metaKey || e.altKey) return;
    var k = e.key.toLowerCase();
    if (board) {
      if (k === "n") { var f = document.getElementById("intake-category"); if (f) { e.preventDefault(); f.focus(); } return; }
      if (k === "j") { select(1); return; }
      if (k === "k") { select(-1); return; }
      if (k === "enter") { var o = document.getElementById("open-incident"); if (o) o.click(); return; }
      if (k === "m") { location.href = "/map"; return; }
    }
    if (/^[1-5g]$/.test(k)) {
      var b = document.querySelector("button.assign[data-key='" + k + "']");
      if (b) { e.preventDefault(); b.focus(); b.click(); }
    }
  });
  document.querySelectorAll("button.assign").forEach(function (b) {
    b.addEventListener("click", function () { setTimeout(function () { b.disabled = true; }, 0); });
  });

  // Map pan and zoom, on the SVG's viewBox.
  if (map) {
    var home = map.getAttribute("viewBox").split(" ").map(Number);
    var vb = home.slice();
    // Markers are sized in map units, so zooming in would blow a unit's dot
    // up to cover a whole neighbourhood: --z shrinks them back (app.css),
    // letting them grow only gently, with the fourth root of the zoom.
    function setVB(b) {
      vb = b;
      map.setAttribute("viewBox", b.map(function (n) { return n.toFixed(1); }).join(" "));
      map.style.setProperty("--z", Math.pow(Math.min(1, b[2] / home[2]), 0.75).toFixed(4)); // CSSOM: allowed by the CSP
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
    if (map.dataset.focus) fit(map.dataset.focus);
  }

  // Map: the posture layer, the hour's plan for idle cars and motorcycles,
  // drawn by the server (/map/posture) between the areas and the units,
  // with the legend's texts. Here only the toggle, its memory, the refresh
  // and the loading and error states.
  var postureToggle = document.getElementById("posture-toggle");
  if (map && postureToggle) {
    var layer = document.getElementById("posture");
    var legend = document.getElementById("posture-legend");
    var summary = document.getElementById("posture-summary");
    var basis = document.getElementById("posture-basis");
    var perBureau = document.getElementById("posture-bureaus");
    var POSTURE_KEY = "zhufang.map.posture";
    var postureTimer = null, postureSeq = 0;

    var clearLayer = function () { layer.replaceChildren(); };

    // say shows one of the legend's own texts: loading, forbidden, error.
    var say = function (state, key) {
      legend.hidden = false;
      legend.dataset.state = state;
      basis.textContent = "";
      perBureau.textContent = "";
      summary.textContent = legend.dataset[key];
    };

    // showPosture swaps in the server's layer and texts; false if the
    // answer is not the layer (a sign-in page after the session ended).
    var showPosture = function (html) {
      var tpl = document.createElement("template");
      tpl.innerHTML = html; // escaped by the server; inert here
      var drawn = tpl.content.getElementById("posture-layer"), text = tpl.content.getElementById("posture-text");
      if (!drawn || !text || drawn.namespaceURI !== SVG) return false;
      layer.replaceChildren.apply(layer, Array.prototype.slice.call(drawn.children));
      basis.textContent = text.querySelector("#posture-basis").textContent;
      summary.textContent = text.querySelector("#posture-summary").textContent;
      var items = text.querySelector("#posture-bureaus").children;
      perBureau.replaceChildren.apply(perBureau, Array.prototype.slice.call(items));
      legend.hidden = false;
      legend.dataset.state = "on";
      return true;
    };

    var loadPosture = function () {
      var seq = ++postureSeq;
      fetchText("/map/posture").then(function (res) {
        if (seq !== postureSeq) return; // switched off, or a newer answer is coming
        if (res.status === 200 && showPosture(res.text)) return;
        clearLayer();
        say("error", res.status === 403 ? "forbidden" : "error");
      }, function () {
        if (seq !== postureSeq) return;
        clearLayer();
        say("error", "error");
      });
    };

    var setPosture = function (on) {
      try {
        if (on) localStorage.setItem(POSTURE_KEY, "1"); else localStorage.removeItem(POSTURE_KEY);
      } catch (e) { /* private mode: the toggle is just not remembered */ }
      clearInterval(postureTimer);
      postureTimer = null;
      postureSeq++; // drop any answer still on its way
      clearLayer();
      if (!on) {
        legend.hidden = true;
        return;
      }
      say("loading", "loading");
      loadPosture();
      postureTimer = setInterval(function () { if (!document.hidden) loadPosture(); }, 60000);
    };

    postureToggle.addEventListener("change", function () { setPosture(postureToggle.checked); });
    var remembered = false;
    try { remembered = localStorage.getItem(POSTURE_KEY) === "1"; } catch (e) { /* not remembered */ }
    if (remembered) {
      postureToggle.checked = true;
      setPosture(true);
    }
  }
})();
