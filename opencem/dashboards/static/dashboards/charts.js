// Draws the dashboards' charts: each element with data-chart="ID" gets the Plotly figure
// whose JSON the server put in <script type="application/json" id="ID">. Runs on page load
// and again after each htmx swap, so filtered panels redraw their charts.
(function () {
  "use strict";

  function draw(root) {
    if (typeof Plotly === "undefined") { return; }
    root.querySelectorAll("[data-chart]").forEach(function (el) {
      if (el.dataset.drawn === "1") { return; }
      var source = document.getElementById(el.dataset.chart);
      if (!source) { return; }
      var figure = JSON.parse(source.textContent);
      el.dataset.drawn = "1";
      Plotly.newPlot(el, figure.data, figure.layout,
                     {displayModeBar: false, responsive: true}).then(function () {
        // The chart is decoration over the table next to it: keep it out of the
        // keyboard order and the accessibility tree.
        el.querySelectorAll("svg").forEach(function (svg) {
          svg.setAttribute("aria-hidden", "true");
          svg.setAttribute("focusable", "false");
        });
        el.classList.add("drawn");
      });
    });
  }

  document.addEventListener("DOMContentLoaded", function () { draw(document); });
  document.addEventListener("htmx:afterSettle", function (event) { draw(event.target); });
  document.addEventListener("click", function (event) {
    if (event.target.closest("[data-print]")) { window.print(); }
  });
  window.addEventListener("beforeprint", function () {
    document.querySelectorAll("[data-chart].drawn").forEach(function (el) {
      Plotly.Plots.resize(el);
    });
  });
})();
