// The map's posture layer (快反部署): the hour's plan for idle cars and
// motorcycles, drawn by the server (/map/posture) between the areas and the
// units, with the legend's texts. Here only the toggle, its memory, the
// refresh and the loading and error states. Needs app.js and map.js.
"use strict";
(function () {
  var z = window.zhufang, toggle = document.getElementById("posture-toggle");
  var layer = document.getElementById("posture"), legend = document.getElementById("posture-legend");
  if (!z || !toggle || !layer || !legend) return;
  var summary = document.getElementById("posture-summary");
  var basis = document.getElementById("posture-basis");
  var perBureau = document.getElementById("posture-bureaus");
  var KEY = "zhufang.map.posture";
  var timer = null, seq = 0;

  function clearLayer() { layer.replaceChildren(); }

  // say shows one of the legend's own texts: loading, forbidden, error.
  function say(state, key) {
    legend.hidden = false;
    legend.dataset.state = state;
    basis.textContent = "";
    perBureau.textContent = "";
    summary.textContent = legend.dataset[key];
  }

  // show swaps in the server's layer and texts; false if the answer is
  // not the layer (a sign-in page after the session ended).
  function show(frag) {
    var drawn = frag.getElementById("posture-layer"), text = frag.getElementById("posture-text");
    if (!drawn || !text || drawn.namespaceURI !== layer.namespaceURI) return false;
    layer.replaceChildren.apply(layer, Array.prototype.slice.call(drawn.children));
    basis.textContent = text.querySelector("#posture-basis").textContent;
    summary.textContent = text.querySelector("#posture-summary").textContent;
    var items = text.querySelector("#posture-bureaus").children;
    perBureau.replaceChildren.apply(perBureau, Array.prototype.slice.call(items));
    legend.hidden = false;
    legend.dataset.state = "on";
    return true;
  }

  function load() {
    var mine = ++seq;
    z.fetchText("/map/posture").then(function (res) {
      if (mine !== seq) return; // switched off, or a newer answer is coming
      if (res.status === 200 && show(z.fragment(res.text))) return;
      clearLayer();
      say("error", res.status === 403 ? "forbidden" : "error");
    }, function () {
      if (mine !== seq) return;
      clearLayer();
      say("error", "error");
    });
  }

  function setPosture(on) {
    try {
      if (on) localStorage.setItem(KEY, "1"); else localStorage.removeItem(KEY);
    } catch (e) { /* private mode: the toggle is just not remembered */ }
    clearInterval(timer);
    timer = null;
    seq++; // drop any answer still on its way
    clearLayer();
    if (!on) {
      legend.hidden = true;
      return;
    }
    say("loading", "loading");
    load();
    timer = setInterval(function () { if (!document.hidden) load(); }, 60000);
  }

  toggle.addEventListener("change", function () { setPosture(toggle.checked); });
  var remembered = false;
  try { remembered = localStorage.getItem(KEY) === "1"; } catch (e) { /* not remembered */ }
  if (remembered) {
    toggle.checked = true;
    setPosture(true);
  }
})();
