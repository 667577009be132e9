// The incident page: reload when this incident changes, unless the user is
// in the middle of something on it. Needs app.js.
"use strict";
(function () {
  var z = window.zhufang, page = document.getElementById("incident-page");
  if (!z || !page) return;
  z.on("change", function (m) {
    if (String(m.incident_id) !== page.dataset.incident) return;
    if (!page.contains(document.activeElement) || document.activeElement === document.body) location.reload();
  });
})();
