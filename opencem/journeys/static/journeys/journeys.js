// Draws the journey pages' charts: each element with data-chart="ID" gets the Plotly figure
// whose JSON the server put in <script type="application/json" id="ID">; again after each
// htmx swap. Buttons with data-png="ID" save that chart as a PNG, and a button with
// data-snapshot="ID" saves the element ID (the whole map) as a PNG: both drawn in the
// browser, nothing is sent anywhere. Buttons with data-print open the print dialog (print
// or save as PDF).
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
        el.querySelectorAll("svg").forEach(function (svg) {
          svg.setAttribute("aria-hidden", "true");
          svg.setAttribute("focusable", "false");
        });
        el.classList.add("drawn");
      });
    });
  }

  // The page's own style rules, to go with the copy of the element into the image.
  function styles() {
    var css = "";
    Array.prototype.forEach.call(document.styleSheets, function (sheet) {
      var rules;
      try { rules = sheet.cssRules; } catch (e) { return; }
      Array.prototype.forEach.call(rules, function (rule) {
        if (!rule.media) { css += rule.cssText + "\n"; }
      });
    });
    return css;
  }

  function download(blob, filename) {
    var link = document.createElement("a");
    link.href = URL.createObjectURL(blob);
    link.download = filename;
    document.body.appendChild(link);
    link.click();
    link.remove();
    setTimeout(function () { URL.revokeObjectURL(link.href); }, 1000);
  }

  // An element as a PNG: its copy with the page's styles inside an SVG foreignObject, drawn
  // on a canvas at twice the size for sharp text.
  function snapshot(element, filename) {
    var clone = element.cloneNode(true);
    clone.querySelectorAll(".jmap").forEach(function (map) { map.style.overflow = "visible"; });
    var widest = element.scrollWidth;
    element.querySelectorAll(".jmap").forEach(function (map) {
      widest = Math.max(widest, map.scrollWidth);
    });
    var width = widest + 16, height = element.scrollHeight + 16;
    clone.style.width = widest + "px";
    clone.style.padding = "8px";
    var body = new XMLSerializer().serializeToString(clone);
    var svg = '<svg xmlns="http://www.w3.org/2000/svg" width="' + width + '" height="' +
      height + '"><foreignObject width="100%" height="100%"><div xmlns="http://www.w3.org/1999/xhtml">' +
      "<style>" + styles().replace(/</g, "\\3c ") + "</style>" + body + "</div></foreignObject></svg>";
    var image = new Image();
    image.onload = function () {
      var canvas = document.createElement("canvas");
      canvas.width = width * 2;
      canvas.height = height * 2;
      var context = canvas.getContext("2d");
      context.scale(2, 2);
      context.fillStyle = "#fff";
      context.fillRect(0, 0, width, height);
      context.drawImage(image, 0, 0);
      canvas.toBlob(function (blob) { download(blob, filename); }, "image/png");
    };
    image.src = "data:image/svg+xml;charset=utf-8," + encodeURIComponent(svg);
  }

  document.addEventListener("DOMContentLoaded", function () { draw(document); });
  document.addEventListener("htmx:afterSettle", function (event) { draw(event.target); });
  document.addEventListener("click", function (event) {
    if (event.target.closest("[data-print]")) { window.print(); return; }
    var whole = event.target.closest("[data-snapshot]");
    if (whole) {
      var element = document.getElementById(whole.dataset.snapshot);
      if (element) { snapshot(element, whole.dataset.filename || "journey.png"); }
      return;
    }
    var png = event.target.closest("[data-png]");
    if (png && typeof Plotly !== "undefined") {
      var chart = document.getElementById(png.dataset.png);
      if (chart) {
        Plotly.downloadImage(chart, {format: "png", filename: png.dataset.filename || "chart",
                                     width: 1200, height: chart.offsetHeight || 400});
      }
    }
  });
  window.addEventListener("beforeprint", function () {
    document.querySelectorAll("[data-chart].drawn").forEach(function (el) {
      Plotly.Plots.resize(el);
    });
  });
})();
