/* The coverage map's clicks: a village point lists what the admin may see there (JSON from the dashboard, scoped
   on the server). Our own code over the server-drawn SVG; no map library, no tiles, nothing from the internet. */
(function () {
  "use strict";
  var wrap = document.querySelector(".map-wrap");
  var panel = document.querySelector(".village-panel");
  if (!wrap || !panel) { return; }
  var urlFor = function (code) { return wrap.getAttribute("data-village-url").replace("CODE", encodeURIComponent(code)); };
  var text = function (el, value) { el.textContent = value === null || value === undefined || value === "" ? "–" : String(value); };
  var show = function (circle) {
    var current = wrap.querySelector("circle.on");
    if (current) { current.classList.remove("on"); }
    circle.classList.add("on");
    panel.hidden = false;
    text(panel.querySelector(".village-name"), circle.getAttribute("data-name"));
    text(panel.querySelector(".village-district"), circle.getAttribute("data-district"));
    var body = panel.querySelector("tbody");
    body.innerHTML = "";
    fetch(urlFor(circle.getAttribute("data-code")), { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (r) { return r.ok ? r.json() : { workers: [] }; })
      .then(function (data) {
        data.workers.forEach(function (w) {
          var tr = document.createElement("tr");
          [w.name, w.occupation, w.decile, w.agency].forEach(function (v, i) {
            var td = document.createElement("td");
            if (i === 2) { td.className = "n"; }
            text(td, v);
            tr.appendChild(td);
          });
          body.appendChild(tr);
        });
        panel.querySelector(".village-empty").hidden = data.workers.length > 0;
        panel.setAttribute("data-loaded", circle.getAttribute("data-code"));
      });
  };
  wrap.addEventListener("click", function (e) { if (e.target.matches("circle.v")) { show(e.target); } });
  wrap.addEventListener("keydown", function (e) {
    if ((e.key === "Enter" || e.key === " ") && e.target.matches("circle.v")) { e.preventDefault(); show(e.target); }
  });
  document.documentElement.setAttribute("data-map", "ready");
})();
