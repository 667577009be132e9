// zhufang console, shared by every page: the server's clock, the 1-3-5
// countdowns, the live connection and the keys every page knows. A page's
// own script (board.js, map.js, posture.js, incident.js) comes after this
// one and registers with it through window.zhufang.
//
// The rules stay on the server. A clock says when it turns amber and red
// (data-amber, data-due), a board row where it sorts (data-sort), and map
// markers and layers come drawn. Records arrive as server-rendered
// fragments, parsed inert (see fragment), so no text from a record is ever
// parsed as HTML here except what the server escaped.
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
  function tick() {
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
  tick();
  setInterval(tick, 500);

  function fetchText(url) {
    return fetch(url, { credentials: "same-origin", headers: { "Accept": "text/html" } }).then(function (r) {
      return r.text().then(function (t) { return { status: r.status, text: t }; });
    });
  }

  // fragment parses the server's escaped markup into a template's content,
  // where nothing runs and nothing loads; SVG inside an svg element comes
  // out as SVG. The caller picks what it expects from it by id.
  function fragment(html) {
    var tpl = document.createElement("template");
    tpl.innerHTML = html;
    return tpl.content;
  }

  // Live updates over server-sent events, for the pages that listen. The
  // browser reconnects by itself and sends Last-Event-ID; the server
  // replays what was missed.
  var live = document.getElementById("live");
  function setLive(state) {
    if (!live) return;
    live.dataset.state = state;
    live.textContent = state === "on" ? live.dataset.textLive : live.dataset.textRetry;
  }
  var handlers = {};
  function on(name, fn) { (handlers[name] = handlers[name] || []).push(fn); }
  function connect() {
    var names = Object.keys(handlers);
    if (!names.length || !window.EventSource) return;
    var page = document.querySelector("[data-last-event]");
    var last = page ? (page.dataset.lastEvent || "0") : "0";
    var es = new EventSource("/events?last=" + encodeURIComponent(last));
    es.onopen = function () { setLive("on"); };
    es.onerror = function () { setLive("retry"); };
    es.addEventListener("reload", function () { location.reload(); });
    names.forEach(function (name) {
      es.addEventListener(name, function (ev) {
        var m;
        try { m = JSON.parse(ev.data); } catch (e) { return; } // a bad frame is skipped
        handlers[name].forEach(function (fn) { fn(m); });
      });
    });
  }
  // Deferred scripts have all run, and registered, by now.
  document.addEventListener("DOMContentLoaded", connect);

  // The 1-3-5 breach alarm, on every page of a user who sees incidents
  // (#alarm): each breach the watcher raises on the user's ground comes as
  // a change event; its banner line is drawn by the server
  // (/alarms/{id}?stage=), in the user's language, and a beep made here
  // (no sound file) sounds unless the user muted it (remembered in
  // localStorage). Browsers let a page play sound only after a gesture:
  // until the first click or key, a breach waits and the banner says so.
  var alarm = document.getElementById("alarm"), alarmList = document.getElementById("alarm-list");
  var muteKey = "zhufang.alarm.muted", audio = null, pendingBeep = false;
  function muted() {
    try { return localStorage.getItem(muteKey) === "1"; } catch (e) { return false; }
  }
  function showMute() {
    var m = muted();
    document.querySelectorAll(".alarm-mute").forEach(function (b) {
      b.setAttribute("aria-pressed", m ? "true" : "false");
      b.textContent = m ? b.dataset.textOff : b.dataset.textOn;
    });
  }
  function hint(on) {
    var h = document.getElementById("alarm-enable");
    if (h) h.hidden = !on;
  }
  function unlockAudio() {
    var AC = window.AudioContext || window.webkitAudioContext;
    if (!AC) return;
    if (!audio) audio = new AC();
    var go = function () {
      if (audio.state !== "running") return;
      hint(false);
      if (pendingBeep) { pendingBeep = false; beep(); }
    };
    if (audio.state === "suspended") audio.resume().then(go, function () {}); else go();
  }
  function beep() {
    if (muted()) return;
    if (!audio || audio.state !== "running") { pendingBeep = true; hint(true); return; }
    var t = audio.currentTime + 0.02;
    for (var i = 0; i < 3; i++) { // three short tones, a command room's alarm
      var o = audio.createOscillator(), g = audio.createGain(), at = t + i * 0.3;
      o.type = "square";
      o.frequency.value = i === 2 ? 660 : 880;
      g.gain.setValueAtTime(0.0001, at);
      g.gain.exponentialRampToValueAtTime(0.15, at + 0.02);
      g.gain.exponentialRampToValueAtTime(0.0001, at + 0.2);
      o.connect(g);
      g.connect(audio.destination);
      o.start(at);
      o.stop(at + 0.22);
    }
    if (alarm) alarm.dataset.beeps = String(Number(alarm.dataset.beeps || 0) + 1);
  }
  function raiseAlarm(m) {
    var id = "alarm-" + m.incident_id + "-" + m.stage;
    if (!alarm || !m.incident_id || !m.stage || document.getElementById(id)) return;
    fetchText("/alarms/" + encodeURIComponent(m.incident_id) + "?stage=" + encodeURIComponent(m.stage)).then(function (res) {
      if (res.status !== 200 || document.getElementById(id)) return; // not on this user's ground, or ended
      var li = fragment(res.text).querySelector("li.alarm-item");
      if (!li) return;
      alarmList.insertBefore(li, alarmList.firstChild);
      alarm.hidden = false;
      beep();
    });
  }
  if (alarm) {
    showMute();
    ["pointerdown", "keydown"].forEach(function (name) { document.addEventListener(name, unlockAudio, true); });
    on("change", function (m) { if (m.topic === "incident.breach") raiseAlarm(m); });
  }
  document.addEventListener("click", function (e) {
    var el = e.target.closest ? e.target : e.target.parentElement;
    if (!el) return;
    if (el.closest(".alarm-mute")) {
      try { localStorage.setItem(muteKey, muted() ? "0" : "1"); } catch (err) {}
      if (muted()) { pendingBeep = false; hint(false); }
      showMute();
      return;
    }
    var item = el.closest(".alarm-dismiss") && el.closest("li.alarm-item");
    if (item) item.remove();
    if (el.id === "alarm-clear" && alarmList) alarmList.textContent = "";
    if ((item || el.id === "alarm-clear") && alarm && !alarmList.children.length) { alarm.hidden = true; pendingBeep = false; hint(false); }
  });

  // Keys. A page's handler gets the key, lower-cased, when nobody is
  // typing, and says whether it used it; then 1–5 and G send a
  // recommended unit wherever the page offers them.
  var keyHandlers = [];
  function typing(el) {
    return el && (el.tagName === "INPUT" || el.tagName === "TEXTAREA" || el.tagName === "SELECT");
  }
  document.addEventListener("keydown", function (e) {
    var el = document.activeElement;
    if (e.key === "Escape") { if (el) el.blur(); return; }
    if (typing(el) || e.ctrlKey || e.metaKey || e.altKey) return;
    var k = e.key.toLowerCase();
    for (var i = 0; i < keyHandlers.length; i++) {
      if (keyHandlers[i](k, e)) return;
    }
    if (/^[1-5g]$/.test(k)) {
      var b = document.querySelector("button.assign[data-key='" + k + "']");
      if (b) { e.preventDefault(); b.focus(); b.click(); }
    }
  });
  document.querySelectorAll("button.assign").forEach(function (b) {
    b.addEventListener("click", function () { setTimeout(function () { b.disabled = true; }, 0); });
  });

  window.zhufang = {
    now: now,
    tick: tick, // redraw the clocks now, as after new rows
    fetchText: fetchText,
    fragment: fragment,
    on: on, // fn(data) for each server-sent event of that name
    showMute: showMute, // redraw the mute buttons, as after a fragment brings one
    onKey: function (fn) { keyHandlers.push(fn); }
  };
})();
