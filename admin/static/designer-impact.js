/* The live impact (影响预览) beside the editor and the preview's card (admin/templates/admin/designer/impact.html,
   preview.html). htmx posts the unsaved form and swaps the answer in; this file only marks the fields the answer
   names as wrong (as a save would), dims a stale answer while the next one is computed, and keeps the time of the
   last answer (data-ms on the panel: what the browser waited). Nothing typed is evaluated here. */
(function () {
  "use strict";
  var panel = document.getElementById("impact-panel");
  var sent = 0;

  // The checks name a place in the scheme; the forms name their fields: the few that differ.
  var PLACES = [
    [/^dimensions\.(\w+)\.weight$/, function (m) { return "weight." + m[1]; }],
    [/^grading\.bands\[(\d+)\]\.(min|quota)$/, function (m) { return m[2] + "." + m[1]; }],
    [/^indicators\.\w+\.scoring\.tiers\[(\d+)\]\.(min|max)$/, function (m) { return "tier_bound[" + m[1] + "]"; }],
    [/^indicators\.\w+\.scoring\.tiers\[(\d+)\]\.points$/, function (m) { return "tier_points[" + m[1] + "]"; }],
    [/^indicators\.\w+\.formula$/, function () { return "formula"; }]
  ];

  function fieldOf(key) {
    PLACES.forEach(function (p) { var hit = p[0].exec(key); if (hit) { key = p[1](hit); } });
    var m = /^(.+)\[(\d+)\]$/.exec(key);
    var name = m ? m[1] : key;
    var all = Array.prototype.filter.call(document.querySelectorAll("form [name]"), function (el) {
      return el.name === name && !el.disabled && el.type !== "hidden";
    });
    return m ? all[Number(m[2])] : all[0];
  }

  function mark() {
    document.querySelectorAll(".impact-invalid").forEach(function (el) {
      el.classList.remove("impact-invalid", "is-invalid");
      el.removeAttribute("title");
    });
    document.querySelectorAll("#impact .impact-error[data-field]").forEach(function (li) {
      var el = fieldOf(li.dataset.field);
      if (el && !el.classList.contains("is-invalid")) {
        el.classList.add("impact-invalid", "is-invalid");
        el.title = li.textContent.trim();
      }
    });
  }

  document.body.addEventListener("htmx:beforeRequest", function (event) {
    if (!panel || event.detail.target !== document.getElementById("impact")) { return; }
    sent = performance.now();
    var answer = document.getElementById("impact-answer");
    if (answer) { answer.classList.add("impact-stale"); }
  });
  document.body.addEventListener("htmx:afterSwap", function (event) {
    if (!panel || event.detail.target !== document.getElementById("impact")) { return; }
    panel.dataset.ms = String(Math.round(performance.now() - sent));
    panel.dataset.answers = String(Number(panel.dataset.answers || "0") + 1);
    mark();
  });
})();
