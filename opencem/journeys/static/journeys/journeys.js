// The journey pages' images (their charts are drawn, and data-print buttons print, by the
// dashboards' charts.js): buttons with data-png="ID" save that chart as a PNG, and a button
// with data-snapshot="ID" saves the element ID (the whole map) as a PNG: both drawn in the
// browser, nothing is sent anywhere.
(function () {
  "use strict";

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

  document.addEventListener("click", function (event) {
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
})();
