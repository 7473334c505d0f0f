/* The rule designer's editing pages (admin/templates/admin/designer/edit.html, indicator.html): a few lines of
   plain JavaScript, no framework. Nothing typed is evaluated here: numbers are summed, rows added or removed,
   names inserted into the formula field; the server checks everything again. */
(function () {
  "use strict";

  function num(text) {
    var s = String(text || "").trim().replace(/[％%]$/, "");
    if (s === "") { return 0; }
    var x = Number(s);
    return isFinite(x) ? x : NaN;
  }

  // Dimension weights: the total as you type.
  var weights = document.querySelectorAll("#weights-form input.weight");
  var sum = document.getElementById("weight-sum");
  var note = document.getElementById("weight-sum-note");
  function total() {
    var t = 0;
    weights.forEach(function (w) { t += num(w.value); });
    if (!sum) { return; }
    sum.textContent = isNaN(t) ? "?" : String(Math.round(t * 1000) / 1000);
    var ok = Math.abs(t - 100) < 1e-9;
    sum.classList.toggle("text-danger", !ok);
    sum.classList.toggle("text-success", ok);
    if (note) { note.textContent = ok ? sum.dataset.ok : sum.dataset.off; note.classList.toggle("text-danger", !ok); }
  }
  weights.forEach(function (w) { w.addEventListener("input", total); });
  if (weights.length) { total(); }

  // Scoring method: only its own parameters are shown and sent.
  var method = document.getElementById("method");
  function showMethod() {
    document.querySelectorAll(".method-params").forEach(function (group) {
      var on = group.dataset.method.split(" ").indexOf(method.value) >= 0;
      group.hidden = !on;
      group.querySelectorAll("input, button").forEach(function (el) { el.disabled = !on; });
    });
  }
  if (method) { method.addEventListener("change", showMethod); showMethod(); }

  // A rate or a number (new indicator): the % marks beside the thresholds.
  document.querySelectorAll("input[name=unit]").forEach(function (radio) {
    radio.addEventListener("change", function () {
      var pct = document.getElementById("unit-pct").checked;
      document.querySelectorAll(".unit-pct, .pct-only").forEach(function (el) { el.hidden = !pct; });
    });
  });

  // Tiers: add and remove rows.
  var tiers = document.querySelector("#tiers tbody");
  function renumber() {
    tiers.querySelectorAll("tr").forEach(function (row, i) { row.querySelector(".tier-no").textContent = String(i + 1); });
  }
  var addTier = document.getElementById("add-tier");
  if (tiers && addTier) {
    addTier.addEventListener("click", function () {
      var last = tiers.querySelector("tr:last-child");
      var row = last.cloneNode(true);
      row.querySelectorAll("input").forEach(function (el) { el.value = ""; el.classList.remove("is-invalid"); });
      row.querySelectorAll(".field-error").forEach(function (el) { el.remove(); });
      tiers.appendChild(row);
      renumber();
      row.querySelector("input").focus();
    });
    tiers.addEventListener("click", function (event) {
      var button = event.target.closest(".remove-tier");
      if (!button) { return; }
      var row = button.closest("tr");
      if (tiers.querySelectorAll("tr").length > 1) { row.remove(); } else {
        row.querySelectorAll("input").forEach(function (el) { el.value = ""; });
      }
      renumber();
    });
  }

  // The picker: insert what is counted (by its Chinese name) at the cursor of the formula.
  var picker = document.getElementById("metric-picker");
  var insert = document.getElementById("metric-insert");
  var formula = document.getElementById("formula");
  function put() {
    if (!picker.value) { return; }
    var start = formula.selectionStart == null ? formula.value.length : formula.selectionStart;
    var end = formula.selectionEnd == null ? start : formula.selectionEnd;
    var before = formula.value.slice(0, start), after = formula.value.slice(end);
    var gap = before && !/[\s(]$/.test(before) ? " " : "";
    formula.value = before + gap + picker.value + after;
    var at = (before + gap + picker.value).length;
    formula.focus();
    formula.setSelectionRange(at, at);
    formula.dispatchEvent(new Event("input", { bubbles: true }));
    picker.value = "";
  }
  if (picker && insert && formula) { insert.addEventListener("click", put); }
})();

/* The new-count and new-item forms: the conditions (and "by case") offered for the chosen event type only. */
(function () {
  "use strict";
  var event = document.getElementById("m-event");
  if (!event) { return; }
  var wheres = document.querySelectorAll("#m-where, #m-where2");
  var agg = document.getElementById("m-agg");
  function filter() {
    var chosen = event.value;
    wheres.forEach(function (where) {
      where.querySelectorAll("option[data-event]").forEach(function (o) {
        var on = o.dataset.event === chosen;
        o.hidden = !on;
        o.disabled = !on;
        if (!on && o.selected) { where.value = ""; }
      });
    });
    if (!agg) { return; }
    var picked = event.options[event.selectedIndex];
    var byCase = picked && picked.dataset.cases === "1";
    agg.querySelectorAll("option.by-case").forEach(function (o) {
      o.hidden = !byCase; o.disabled = !byCase;
      if (!byCase && o.selected) { agg.value = "count"; }
    });
  }
  event.addEventListener("change", filter);
  filter();
})();

/* A veto's form: the dimension for "该维度计零分", the grade for the other two effects. */
(function () {
  "use strict";
  var effect = document.getElementById("v-effect");
  if (!effect) { return; }
  function show() {
    document.querySelectorAll(".veto-param").forEach(function (group) {
      group.hidden = group.dataset.effect.split(" ").indexOf(effect.value) < 0;
    });
  }
  effect.addEventListener("change", show);
  show();
})();
