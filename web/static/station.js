// The station page follows live events: when an incident or unit changes,
// the page's live sections are fetched again, as drawn by the server, and
// replaced; nothing here knows which incidents belong to the station.
// Needs app.js.
"use strict";
(function () {
  var z = window.zhufang, page = document.getElementById("station-page");
  if (!z || !page) return;
  var sections = ["station-compliance", "station-incidents", "station-units", "received-count", "open-count"];
  var timer = null, last = 0, busy = false;
  // At most one fetch every two seconds, however busy the ground is.
  function schedule() {
    if (timer) return;
    var wait = Math.max(400, 2000 - (Date.now() - last));
    timer = setTimeout(refresh, wait);
  }
  function refresh() {
    timer = null;
    if (busy) { schedule(); return; }
    busy = true;
    last = Date.now();
    z.fetchText(location.pathname + location.search).then(function (res) {
      busy = false;
      if (res.status !== 200) return;
      var doc = new DOMParser().parseFromString(res.text, "text/html");
      if (!doc.getElementById("station-page")) return; // not the page: a sign-in page
      sections.forEach(function (id) {
        var fresh = doc.getElementById(id), old = document.getElementById(id);
        if (fresh && old) old.replaceWith(fresh);
      });
      z.tick();
    }, function () { busy = false; });
  }
  z.on("change", function (m) {
    if (m && (m.incident_id || m.unit_id)) schedule();
  });
})();
