// Measure's charts: each <figure class="vega-chart" data-spec="ID"> is drawn from the
// Vega-Lite spec in <script type="application/json" id="ID"> (JSON, never executed, so the
// CSP's script-src 'self' holds) with the vendored vega-embed. Runs on page load and after
// every htmx swap, because the format and best-time sections arrive as htmx fragments.
(function () {
  "use strict";

  var EMBED_OPTIONS = {
    renderer: "svg",
    // Export to PNG/SVG only: the online editor would send the data to a third party.
    actions: { export: true, source: false, compiled: false, editor: false }
  };

  // The page's number and date conventions (base.html's #vega-locale, on pages that are not
  // in English) for a spec that brings none of its own.
  function withPageLocale(spec) {
    var source = document.getElementById("vega-locale");
    if (!source || (spec.config && spec.config.locale)) { return spec; }
    spec.config = spec.config || {};
    spec.config.locale = JSON.parse(source.textContent);
    return spec;
  }

  function draw(root) {
    if (typeof window.vegaEmbed !== "function") { return; }
    var figures = root.querySelectorAll ? root.querySelectorAll(".vega-chart:not([data-state])") : [];
    Array.prototype.forEach.call(figures, function (figure) {
      var source = document.getElementById(figure.getAttribute("data-spec"));
      if (!source) { return; }
      figure.setAttribute("data-state", "drawing");
      var spec;
      try {
        spec = withPageLocale(JSON.parse(source.textContent));
      } catch (error) {
        figure.setAttribute("data-state", "error");
        return;
      }
      window.vegaEmbed(figure, spec, EMBED_OPTIONS).then(function () {
        figure.setAttribute("data-state", "drawn");
      }).catch(function (error) {
        figure.setAttribute("data-state", "error");
        var message = document.createElement("p");
        message.className = "error";
        message.textContent = (figure.getAttribute("data-error") || "Chart error") + " " + error;
        figure.appendChild(message);
      });
    });
  }

  document.addEventListener("DOMContentLoaded", function () { draw(document); });
  // The whole document, not the event target: an outerHTML swap detaches the target.
  document.addEventListener("htmx:afterSettle", function () { draw(document); });
})();
