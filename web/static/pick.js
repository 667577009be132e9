// Picking a new report's position on the map (/map?pick=1, from the
// board's intake form): a click on the map goes back to the board with the
// place in map units (?at=x,y), and the server, which alone projects,
// turns it into longitude and latitude. Here the click only becomes a
// point of the SVG's own coordinates (its screen transform), never a
// position. Needs app.js; runs after map.js, whose drag ends by cancelling
// the click.
"use strict";
(function () {
  var map = document.getElementById("map"), bar = document.getElementById("map-pick");
  if (!map || !bar || !/[?&]pick=1(&|$)/.test(location.search)) return;
  bar.hidden = false;
  map.classList.add("picking");
  map.addEventListener("click", function (e) {
    if (e.defaultPrevented) return; // the end of a drag
    e.preventDefault(); // not a marker's link
    e.stopPropagation();
    var pt = map.createSVGPoint();
    pt.x = e.clientX;
    pt.y = e.clientY;
    var p = pt.matrixTransform(map.getScreenCTM().inverse());
    location.href = "/board?at=" + p.x.toFixed(1) + "," + p.y.toFixed(1) + "#intake-card";
  }, true);
})();
