// Draw each Vega-Lite chart whose spec is embedded in the page. The page already carries the
// same data as a table, so nothing is lost when scripts do not run.
(function () {
  "use strict";
  function draw() {
    if (typeof window.vegaEmbed !== "function") { return; }
    document.querySelectorAll("[data-vega-spec]").forEach(function (el) {
      var source = document.getElementById(el.getAttribute("data-vega-spec"));
      if (!source) { return; }
      var spec = JSON.parse(source.textContent);
      window.vegaEmbed(el, spec, {
        actions: { export: true, source: false, compiled: false, editor: false },
        renderer: "svg",
      }).then(function () {
        // vega-embed's menu button is an icon: give it a name screen readers can announce.
        var summary = el.querySelector("details > summary");
        if (summary) { summary.setAttribute("aria-label", "Download or view the chart"); }
      }).catch(function (err) { el.textContent = "The chart could not be drawn: " + err; });
    });
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", draw);
  } else {
    draw();
  }
})();
