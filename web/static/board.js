// The board: rows replaced as incidents change, kept in the server's order,
// the selected incident's detail and the units panel kept fresh, and the
// dispatcher's keys. Needs app.js.
"use strict";
(function () {
  var z = window.zhufang, board = document.getElementById("board");
  var tbody = document.getElementById("incident-rows");
  if (!z || !board || !tbody) return;

  // The order is the server's: each row carries its key, compared as a
  // string (data-sort).
  function sortRows() {
    var rows = Array.prototype.slice.call(tbody.querySelectorAll("tr"));
    rows.sort(function (a, b) {
      var x = a.dataset.sort || "", y = b.dataset.sort || "";
      return x < y ? -1 : (x > y ? 1 : 0);
    });
    rows.forEach(function (r) { tbody.appendChild(r); });
  }

  // parseRow turns the server's escaped row fragment into a table row.
  function parseRow(html) {
    return z.fragment("<table><tbody>" + html + "</tbody></table>").querySelector("tr");
  }

  // refreshRow replaces a changed row, adds a new one or drops one gone
  // from the board. Answers can cross: only the newest asked counts.
  var asked = {};
  function refreshRow(id) {
    var seq = asked[id] = (asked[id] || 0) + 1;
    z.fetchText("/board/rows/" + id).then(function (res) {
      if (asked[id] !== seq) return;
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
        sortRows();
      }
      var count = document.getElementById("open-count");
      if (count) count.textContent = tbody.querySelectorAll("tr").length;
      z.tick();
    });
  }

  var detailTimer = null;
  function refreshDetail() {
    clearTimeout(detailTimer);
    detailTimer = setTimeout(function () {
      z.fetchText(location.pathname + location.search).then(function (res) {
        if (res.status !== 200) return;
        var doc = new DOMParser().parseFromString(res.text, "text/html");
        var fresh = doc.getElementById("detail"), old = document.getElementById("detail");
        if (fresh && old && !old.contains(document.activeElement)) old.replaceWith(fresh);
        z.tick();
      });
    }, 150);
  }
  var unitsTimer = null;
  function refreshUnits() {
    if (unitsTimer) return;
    unitsTimer = setTimeout(function () {
      unitsTimer = null;
      z.fetchText("/board/units").then(function (res) {
        if (res.status !== 200) return;
        var fresh = z.fragment(res.text).getElementById("units-panel"), old = document.getElementById("units-panel");
        if (fresh && old) old.replaceWith(fresh);
      });
    }, 500);
  }

  // The list of open breaches: drawn again when a breach is raised or an
  // incident moves (reaching a stage ends its breach).
  var breachTimer = null;
  function refreshBreaches() {
    if (breachTimer) return;
    breachTimer = setTimeout(function () {
      breachTimer = null;
      z.fetchText("/board/breaches").then(function (res) {
        if (res.status !== 200) return;
        var fresh = z.fragment(res.text).getElementById("breach-panel"), old = document.getElementById("breach-panel");
        if (fresh && old) { old.replaceWith(fresh); z.showMute(); }
      });
    }, 300);
  }

  z.on("change", function (m) {
    if (m.incident_id) refreshBreaches();
    if (m.incident_id) {
      refreshRow(m.incident_id);
      if (board.dataset.selected === String(m.incident_id)) refreshDetail();
    }
    if (m.unit_id || m.topic === "assignment") refreshUnits();
  });

  // The intake form keeps what was typed for the tab's life, so that a
  // detour to the map to pick the place loses nothing. The server's own
  // values win: a position picked on the map, a refused report shown again.
  var form = document.getElementById("intake"), draftKey = "zhufang.intake.draft";
  if (form) {
    var refused = !!form.querySelector(".field-error");
    var draft = null;
    try { draft = JSON.parse(sessionStorage.getItem(draftKey) || "null"); } catch (e) { draft = null; }
    if (draft && !refused) {
      Object.keys(draft).forEach(function (name) {
        var el = form.elements[name];
        if (!el || name === "csrf") return;
        if (el.type === "checkbox") el.checked = !!draft[name];
        else if (!el.value || el.tagName === "SELECT") el.value = draft[name];
      });
    }
    var save = function () {
      var d = {};
      Array.prototype.forEach.call(form.elements, function (el) {
        if (!el.name || el.name === "csrf") return;
        d[el.name] = el.type === "checkbox" ? el.checked : el.value;
      });
      try { sessionStorage.setItem(draftKey, JSON.stringify(d)); } catch (e) {}
    };
    if (refused) save(); // what the server gave back is the draft now
    form.addEventListener("input", save);
    form.addEventListener("change", save);
    form.addEventListener("submit", function () {
      try { sessionStorage.removeItem(draftKey); } catch (e) {}
    });
    var errField = form.querySelector("[aria-invalid=true]");
    if (errField) errField.focus();
    else if (/[?&]at=/.test(location.search)) document.getElementById("intake-address").focus();
  }

  // Keys: N for a new report, J/K to move, Enter to open, M for the map,
  // Ctrl+Enter to take the report typed.
  function select(delta) {
    var rows = Array.prototype.slice.call(tbody.querySelectorAll("tr"));
    if (!rows.length) return;
    var i = rows.findIndex(function (r) { return r.classList.contains("selected"); });
    i = i < 0 ? 0 : Math.max(0, Math.min(rows.length - 1, i + delta));
    location.href = "/board?sel=" + rows[i].dataset.id;
  }
  z.onKey(function (k, e) {
    switch (k) {
      case "n":
        var f = document.getElementById("intake-category");
        if (f) { e.preventDefault(); f.focus(); }
        return true;
      case "j": select(1); return true;
      case "k": select(-1); return true;
      case "enter":
        var o = document.getElementById("open-incident");
        if (o) o.click();
        return true;
      case "m": location.href = "/map"; return true;
    }
    return false;
  });
  document.addEventListener("keydown", function (e) {
    var el = document.activeElement;
    if (e.key === "Enter" && (e.ctrlKey || e.metaKey) && el && el.form && el.form.id === "intake") {
      e.preventDefault();
      el.form.requestSubmit();
    }
  });
})();
