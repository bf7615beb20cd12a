/*
 * OpenCEM feedback widget: one script tag shows a survey's first question (and its
 * follow-up) in a small panel on your own site, and posts the answers back.
 *
 *   <script src="https://cx.example.com/static/surveys/widget.js" data-survey="web-nps" async></script>
 *
 * Data attributes (all but data-survey optional):
 *   data-survey   slug of a survey whose anonymous link is switched on
 *   data-path     where to show it: path patterns, comma separated, "*" matches anything
 *                 ("/checkout/*, /account"); default: every page
 *   data-delay    seconds to wait after the page loads; default 0
 *   data-percent  share of visitors who are asked, 0-100; default 100 (stable per visitor)
 *   data-once     "false" to ask again after an answer or dismissal; default: once per visitor
 *   data-lang     language to ask in; default: the browser's
 *   data-hidden-<id>  a hidden field's value, e.g. data-hidden-store="42"
 *
 * The panel is a non-modal dialog in a shadow root (your styles cannot break it, its styles
 * cannot leak): it does not steal focus, is announced politely, closes with Escape, and
 * works with the keyboard alone. All survey text is set as text, never parsed as HTML.
 */
(function () {
  "use strict";
  var script = document.currentScript;
  if (!script || !script.dataset.survey) { return; }
  var data = script.dataset;
  var slug = data.survey;
  var base = new URL(script.src, window.location.href).origin;
  var api = base + "/api/v1/public/surveys/" + encodeURIComponent(slug);
  var storeKey = "opencem:" + slug;

  function storage(key, value) {
    try {
      if (value === undefined) { return window.localStorage.getItem(key); }
      window.localStorage.setItem(key, value);
    } catch (e) { /* private mode: the widget still works, without memory */ }
    return null;
  }

  function visitorId() {
    var id = storage("opencem:visitor");
    if (!id) {
      var bytes = new Uint8Array(16);
      window.crypto.getRandomValues(bytes);
      id = Array.prototype.map.call(bytes, function (b) { return ("0" + b.toString(16)).slice(-2); }).join("");
      storage("opencem:visitor", id);
    }
    return id;
  }

  function pathMatches(patterns, path) {
    if (!patterns) { return true; }
    return patterns.split(",").some(function (pattern) {
      pattern = pattern.trim();
      if (!pattern) { return false; }
      var re = new RegExp("^" + pattern.replace(/[.+?^${}()|[\]\\]/g, "\\$&").replace(/\*/g, ".*") + "$");
      return re.test(path);
    });
  }

  function bucket(text) {  // a stable 0-99 per visitor and survey (FNV-1a)
    var h = 2166136261;
    for (var i = 0; i < text.length; i++) { h ^= text.charCodeAt(i); h = Math.imul(h, 16777619); }
    return (h >>> 0) % 100;
  }

  function holds(c, answers) {
    var v = answers[c.question];
    var answered = v !== undefined && v !== null && v !== "" && !(Array.isArray(v) && !v.length);
    if (c.op === "answered") { return answered; }
    if (c.op === "not_answered") { return !answered; }
    if (!answered) { return false; }
    var list = Array.isArray(v) ? v : [v];
    switch (c.op) {
      case "eq": return v === c.value;
      case "neq": return v !== c.value;
      case "lt": return v < c.value;
      case "lte": return v <= c.value;
      case "gt": return v > c.value;
      case "gte": return v >= c.value;
      case "in": return Array.isArray(c.value) && list.some(function (x) { return c.value.indexOf(x) >= 0; });
      case "not_in": return Array.isArray(c.value) && !list.some(function (x) { return c.value.indexOf(x) >= 0; });
      case "contains": return Array.isArray(v) ? v.indexOf(c.value) >= 0 :
        String(v).toLowerCase().indexOf(String(c.value).toLowerCase()) >= 0;
    }
    return false;
  }

  function shown(q, answers) {
    if (!q.show_if) { return true; }
    var results = q.show_if.conditions.map(function (c) { return holds(c, answers); });
    return q.show_if.match === "any" ? results.some(Boolean) : results.every(Boolean);
  }

  function el(tag, attrs, text) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) { node.setAttribute(k, attrs[k]); });
    if (text) { node.textContent = text; }
    return node;
  }

  var CSS = ":host{all:initial}" +
    ".panel{position:fixed;right:1rem;bottom:1rem;z-index:2147483000;width:min(24rem,calc(100vw - 2rem));max-height:calc(100vh - 2rem);overflow:auto;" +
    "background:#fff;color:#1d2330;border:1px solid #8a93a3;border-top:6px solid var(--accent);border-radius:10px;box-shadow:0 8px 30px rgba(0,0,0,.25);" +
    "font:16px/1.45 system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;padding:1rem}" +
    "h2{font-size:1.05rem;margin:0 2.5rem .6rem 0}fieldset{border:0;margin:0 0 .8rem;padding:0;min-width:0}" +
    "legend,label.q{display:block;font-weight:650;margin-bottom:.4rem;padding:0}" +
    ".scale{display:grid;grid-template-columns:repeat(auto-fill,minmax(2.4rem,1fr));gap:.25rem}.pt{position:relative}" +
    ".pt input{position:absolute;opacity:0;width:100%;height:100%;margin:0}.pt label{display:flex;align-items:center;justify-content:center;min-height:2.4rem;border:2px solid #c9d0db;border-radius:6px;font-weight:600;cursor:pointer}" +
    ".pt input:checked+label{background:var(--accent);border-color:var(--accent);color:var(--on)}" +
    ".pt input:focus-visible+label,button:focus-visible,textarea:focus-visible,.ch input:focus-visible{outline:3px solid #f0b400;outline-offset:2px}" +
    ".anchors{display:flex;justify-content:space-between;color:#4f5868;font-size:.85rem;margin-top:.25rem}" +
    ".ch{display:flex;gap:.5rem;align-items:flex-start;margin:.2rem 0}textarea{width:100%;box-sizing:border-box;font:inherit;padding:.45rem;border:2px solid #6b7588;border-radius:6px}" +
    ".err{color:#b3261e;font-weight:600;margin:.2rem 0}.send{background:var(--accent);color:var(--on);border:0;border-radius:6px;padding:.6rem 1.2rem;font:inherit;font-weight:650;cursor:pointer}" +
    ".close{position:absolute;top:.6rem;right:.6rem;background:none;border:0;font-size:1.4rem;line-height:1;cursor:pointer;color:#1d2330;padding:.3rem .5rem}" +
    ".trap{position:absolute;left:-10000px;width:1px;height:1px;overflow:hidden}[hidden]{display:none!important}";

  function onAccent(hex) {  // white or ink on the brand colour, whichever contrasts more
    var c = [1, 3, 5].map(function (i) {
      var v = parseInt(hex.slice(i, i + 2), 16) / 255;
      return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4);
    });
    var l = 0.2126 * c[0] + 0.7152 * c[1] + 0.0722 * c[2];
    return 1.05 / (l + 0.05) >= (l + 0.05) / 0.0645 ? "#ffffff" : "#1d2330";
  }

  function hiddenValues() {  // data-hidden-order-id="7" -> {"order_id": "7"}
    var hidden = {};
    Object.keys(data).forEach(function (k) {
      if (k.indexOf("hidden") === 0 && k.length > 6) {
        var id = k.slice(6).replace(/^[A-Z]/, function (c) { return c.toLowerCase(); })
          .replace(/[A-Z]/g, function (c) { return "_" + c.toLowerCase(); });
        hidden[id] = data[k];
      }
    });
    return hidden;
  }

  function render(survey) {
    var host = el("div", { "data-opencem-widget": slug });
    var root = host.attachShadow ? host.attachShadow({ mode: "open" }) : host;
    var style = el("style");
    style.textContent = CSS;
    root.appendChild(style);
    var titleId = "ocem-title";
    var panel = el("div", { "class": "panel", role: "dialog", "aria-modal": "false", "aria-labelledby": titleId });
    panel.style.setProperty("--accent", survey.branding.accent_colour);
    panel.style.setProperty("--on", onAccent(survey.branding.accent_colour));
    panel.appendChild(el("h2", { id: titleId }, survey.title));
    var close = el("button", { type: "button", "class": "close", "aria-label": "Close survey" }, "×");
    panel.appendChild(close);
    var form = el("form", { novalidate: "" });
    var blocks = {};
    survey.questions.forEach(function (q) {
      var block;
      var errId = "ocem-" + q.id + "-err";
      if (q.type === "short" || q.type === "long") {
        block = el("div");
        block.appendChild(el("label", { "class": "q", "for": "ocem-" + q.id }, q.text));
        var area = el("textarea", { id: "ocem-" + q.id, name: q.id, rows: "3", maxlength: String(q.max_length), "aria-describedby": errId });
        block.appendChild(area);
      } else {
        block = el("fieldset", { "aria-describedby": errId });
        block.appendChild(el("legend", {}, q.text));
        var box = el("div", { "class": q.type === "scale" ? "scale" : "choices" });
        q.options.forEach(function (o) {
          var id = "ocem-" + q.id + "-" + o.value;
          var wrap = el("div", { "class": q.type === "scale" ? "pt" : "ch" });
          wrap.appendChild(el("input", { type: q.type === "multiple" ? "checkbox" : "radio", id: id, name: q.id, value: o.value }));
          wrap.appendChild(el("label", { "for": id }, o.label));
          box.appendChild(wrap);
        });
        block.appendChild(box);
        if (q.low_label || q.high_label) {
          var anchors = el("div", { "class": "anchors" });
          anchors.appendChild(el("span", {}, q.low_label));
          anchors.appendChild(el("span", {}, q.high_label));
          block.appendChild(anchors);
        }
      }
      block.appendChild(el("p", { id: errId, "class": "err", hidden: "" }));
      blocks[q.id] = block;
      form.appendChild(block);
    });
    var trap = el("div", { "class": "trap", "aria-hidden": "true" });
    trap.appendChild(el("input", { type: "text", name: survey.honeypot, tabindex: "-1", autocomplete: "off" }));
    form.appendChild(trap);
    var status = el("p", { role: "status", "class": "status" });
    var send = el("button", { type: "submit", "class": "send" }, "Send");
    form.appendChild(send);
    panel.appendChild(form);
    panel.appendChild(status);
    root.appendChild(panel);
    document.body.appendChild(host);
    status.textContent = "";

    function answers() {
      var result = {};
      survey.questions.forEach(function (q) {
        if (blocks[q.id].hidden) { return; }
        if (q.type === "short" || q.type === "long") {
          var text = form.elements[q.id].value.trim();
          if (text) { result[q.id] = text; }
          return;
        }
        var picked = Array.prototype.filter.call(form.querySelectorAll("input[name='" + q.id + "']"), function (i) { return i.checked; })
          .map(function (i) { return q.type === "scale" ? parseInt(i.value, 10) : i.value; });
        if (q.type === "multiple") { if (picked.length) { result[q.id] = picked; } }
        else if (picked.length) { result[q.id] = picked[0]; }
      });
      return result;
    }

    function refresh() {  // display logic, the same rules the server applies
      var current = answers();
      survey.questions.forEach(function (q) { blocks[q.id].hidden = !shown(q, current); });
    }

    function dismiss() {
      if (data.once !== "false") { storage(storeKey, "dismissed"); }
      host.remove();
    }

    refresh();
    form.addEventListener("change", refresh);
    close.addEventListener("click", dismiss);
    panel.addEventListener("keydown", function (e) { if (e.key === "Escape") { dismiss(); } });
    form.addEventListener("submit", function (e) {
      e.preventDefault();
      send.disabled = true;
      Array.prototype.forEach.call(form.querySelectorAll(".err"), function (p) { p.hidden = true; p.textContent = ""; });
      var hidden = hiddenValues();
      fetch(api + "/responses", {
        method: "POST", headers: { "Content-Type": "application/json" }, credentials: "omit",
        body: JSON.stringify({ answers: answers(), hidden: hidden, language: survey.language, visitor: visitorId(),
          website: form.elements[survey.honeypot].value })
      }).then(function (r) {
        return r.json().then(function (body) { return { ok: r.ok, body: body }; });
      }).then(function (result) {
        if (result.ok) {
          if (data.once !== "false") { storage(storeKey, "answered"); }
          form.remove();
          status.textContent = survey.thank_you || "Thank you for your feedback!";
          close.focus();
          return;
        }
        send.disabled = false;
        var errors = (result.body.error && result.body.error.errors) || [];
        errors.forEach(function (err) {
          var p = panel.querySelector("#ocem-" + err.loc[err.loc.length - 1] + "-err");
          if (p) { p.textContent = err.message === "is required" ? "Please answer this question." : err.message; p.hidden = false; }
        });
        status.textContent = (result.body.error && result.body.error.message) || "Sorry, that did not work.";
      }).catch(function () {
        send.disabled = false;
        status.textContent = "Sorry, your answer could not be sent. Please try again.";
      });
    });
  }

  function start() {
    if (data.once !== "false" && storage(storeKey)) { return; }
    if (!pathMatches(data.path, window.location.pathname)) { return; }
    var percent = data.percent === undefined ? 100 : Math.max(0, Math.min(100, parseFloat(data.percent) || 0));
    if (bucket(visitorId() + ":" + slug) >= percent) { return; }
    var delay = Math.max(0, parseFloat(data.delay) || 0) * 1000;
    window.setTimeout(function () {
      var lang = data.lang || (navigator.language || "");
      var query = "?lang=" + encodeURIComponent(lang);
      var hidden = hiddenValues();
      Object.keys(hidden).forEach(function (id) {  // for {{hidden.x}} in the questions
        query += "&h_" + encodeURIComponent(id) + "=" + encodeURIComponent(hidden[id]);
      });
      fetch(api + "/widget" + query, { credentials: "omit" })
        .then(function (r) { return r.ok ? r.json() : null; })
        .then(function (survey) {
          if (!survey || !survey.questions.length) { return; }
          if (data.once !== "false") { storage(storeKey, "shown"); }
          render(survey);
        })
        .catch(function () { /* the host page must never break because of us */ });
    }, delay);
  }

  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", start); }
  else { start(); }
})();
