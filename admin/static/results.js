/* 考评结果 pages (admin/templates/admin/results/): the score card's two charts, drawn with the vendored ECharts.
   Their data come from <script type="application/json"> blocks (never executed) or, for the months, from a
   same-origin JSON request — nothing inline runs, as the Content-Security-Policy wants. */
(function () {
  "use strict";
  // Indicators that do not apply to the person's business: folded away, one button shows them.
  document.querySelectorAll("button.na-button").forEach(function (button) {
    var table = button.closest("table");
    function show(on) {
      table.classList.toggle("na-hidden", !on);
      button.textContent = on ? button.dataset.hide : button.dataset.show;
    }
    button.addEventListener("click", function () { show(table.classList.contains("na-hidden")); });
    show(false);
  });

  if (typeof echarts === "undefined") { return; }

  function chartOf(el) {
    var locale = el.dataset.lang === "en" ? "EN" : "ZH";
    var chart = echarts.init(el, null, { locale: locale, renderer: "canvas" });
    window.addEventListener("resize", function () { chart.resize(); });
    return chart;
  }

  function signed(x) { return (x >= 0 ? "+" : "−") + Math.abs(x).toFixed(2); }
  // Tooltips are HTML: the names in them (indicators, items, grades — typed by designers) are escaped.
  function esc(x) {
    return String(x === null || x === undefined ? "" : x).replace(/[&<>"']/g, function (c) {
      return { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c];
    });
  }

  // The waterfall: the base score, then each indicator's and item's contribution, then the total.
  var wf = document.getElementById("waterfall");
  var wfData = document.getElementById("waterfall-data");
  if (wf && wfData) {
    var data = JSON.parse(wfData.textContent);
    var bars = data.bars.concat([{ label: data.total_label, start: 0, end: data.total, points: data.total, kind: "total" }]);
    var low = Infinity, high = -Infinity;
    bars.forEach(function (b) {
      if (b.kind !== "base" && b.kind !== "total") { low = Math.min(low, b.start, b.end); }
      high = Math.max(high, b.start, b.end);
    });
    if (!isFinite(low)) { low = data.base; }
    var axisMin = Math.floor(Math.min(low, data.base) - 1);
    wf.style.height = Math.max(240, bars.length * 19 + 50) + "px";
    var colors = { base: "#5b7fa6", total: "#2f4b7c" };
    var hidden = [], shown = [];
    bars.forEach(function (b) {
      var fixed = b.kind === "base" || b.kind === "total";
      var from = fixed ? 0 : Math.min(b.start, b.end);
      hidden.push(from);
      shown.push({
        value: fixed ? b.end : Math.abs(b.points),
        itemStyle: { color: colors[b.kind] || (b.points >= 0 ? "#3c9a5f" : "#c0392b") },
        label: { formatter: fixed ? b.end.toFixed(2) : signed(b.points) }
      });
    });
    var chart = chartOf(wf);
    chart.setOption({
      animation: false,
      grid: { left: 8, right: 56, top: 8, bottom: 24, containLabel: true },
      xAxis: { type: "value", min: axisMin, max: Math.ceil(high + 0.5), splitLine: { lineStyle: { color: "#eee" } } },
      yAxis: { type: "category", inverse: true, data: bars.map(function (b) { return b.label; }),
               axisLabel: { width: 230, overflow: "truncate", fontSize: 12 }, axisTick: { show: false } },
      tooltip: { trigger: "axis", axisPointer: { type: "shadow" }, formatter: function (items) {
        var i = items[0].dataIndex, b = bars[i];
        var fixed = b.kind === "base" || b.kind === "total";
        return esc(b.label) + "<br>" + (fixed ? b.end.toFixed(4) : signed(b.points) + " → " + b.end.toFixed(2));
      } },
      series: [
        { type: "bar", stack: "w", data: hidden, itemStyle: { color: "transparent" }, emphasis: { disabled: true },
          silent: true, barCategoryGap: "28%" },
        { type: "bar", stack: "w", data: shown, label: { show: true, position: "right", fontSize: 11, color: "#333" } }
      ]
    });
    wf.dataset.drawn = String(bars.length);
  }

  // The months: total per month, the grade beside each point.
  var hist = document.getElementById("history");
  if (hist && hist.dataset.url) {
    var notes = document.getElementById("history-notes");
    if (notes) { notes.textContent = hist.dataset.loading || ""; }
    fetch(hist.dataset.url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (r) { if (!r.ok) { throw new Error(String(r.status)); } return r.json(); })
      .then(function (h) {
        var chart = chartOf(hist);
        chart.setOption({
          animation: false,
          grid: { left: 8, right: 24, top: 24, bottom: 8, containLabel: true },
          xAxis: { type: "category", data: h.periods },
          yAxis: { type: "value", scale: true, name: hist.dataset.totalLabel, splitLine: { lineStyle: { color: "#eee" } } },
          tooltip: { trigger: "axis", formatter: function (items) {
            var i = items[0].dataIndex;
            var t = h.totals[i] === null ? "—" : h.totals[i].toFixed(2);
            return esc(h.periods[i]) + "<br>" + t + " " + esc(h.grades[i] || "") + (h.places[i] ? "（" + esc(h.places[i]) + "）" : "");
          } },
          series: [{ type: "line", data: h.totals, connectNulls: false, symbolSize: 7, color: "#2f4b7c",
                     label: { show: true, position: "top", fontSize: 11,
                              formatter: function (p) { return (p.value === null ? "" : p.value.toFixed(1)) + " " + (h.grades[p.dataIndex] || ""); } } }]
        });
        hist.dataset.drawn = String(h.periods.length);
        if (notes) { notes.textContent = h.notes.join("；"); }
      })
      .catch(function () { if (notes) { notes.textContent = hist.dataset.failed || ""; } });
  }
})();
