/* The simulation report (admin/templates/admin/designer/simulation_run.html): draws its charts with the vendored
   ECharts from the JSON block #sim-chart-data (numbers only; the tables on the page hold the same numbers), and
   opens or closes a mover's "why it moved" row. No framework, nothing evaluated. */
(function () {
  "use strict";

  var block = document.getElementById("sim-chart-data");
  var data = block ? JSON.parse(block.textContent || "{}") : null;
  var BASE = "#9aa5b1", CAND = "#2f6fb3", UP = "#2e8b57", DOWN = "#c0392b";
  var charts = [];

  function fmt(x, digits) {
    if (x === null || x === undefined) { return "—"; }
    return Number(x).toFixed(digits === undefined ? 2 : digits);
  }
  function signed(x) {
    if (x === null || x === undefined) { return "—"; }
    return (x > 0 ? "+" : x < 0 ? "−" : "±") + Math.abs(x).toFixed(2);
  }
  function pct(x) { return x === null || x === undefined ? "—" : (x * 100).toFixed(1) + "%"; }
  // Tooltips are HTML: every name in them (indicators, grades, units, lines — typed by designers) is escaped.
  function esc(x) {
    return String(x === null || x === undefined ? "" : x).replace(/[&<>"']/g, function (c) {
      return {"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;"}[c];
    });
  }

  function draw(id, option) {
    var el = document.getElementById(id);
    if (!el || !window.echarts) { return null; }
    var chart = window.echarts.init(el, null, {locale: data.lang === "en" ? "EN" : "ZH", renderer: "canvas"});
    option.animation = false;
    option.textStyle = {fontFamily: "inherit"};
    chart.setOption(option);
    el.dataset.drawn = "1";
    charts.push(chart);
    return chart;
  }

  function legend(names) { return {top: 0, data: names}; }
  var grid = {left: 48, right: 16, top: 32, bottom: 40, containLabel: false};

  function histogram() {
    var h = data.histogram;
    if (!h) { return; }
    var series = [];
    if (h.baseline) {
      series.push({name: data.names.baseline, type: "bar", data: h.baseline, barCategoryGap: "6%",
                   itemStyle: {color: BASE, opacity: 0.7}});
    }
    series.push(h.baseline
      ? {name: data.names.candidate, type: "line", step: "middle", data: h.candidate, symbol: "circle", symbolSize: 5,
         lineStyle: {color: CAND, width: 2}, itemStyle: {color: CAND}}
      : {name: data.names.candidate, type: "bar", data: h.candidate, barCategoryGap: "6%", itemStyle: {color: CAND}});
    draw("chart-histogram", {
      legend: legend(series.map(function (s) { return s.name; })), grid: grid,
      tooltip: {trigger: "axis", axisPointer: {type: "shadow"}, formatter: function (ps) {
        var out = esc(h.bins[ps[0].dataIndex]) + " " + esc(data.unit);
        ps.forEach(function (p) { out += "<br>" + p.marker + esc(p.seriesName) + "：" + esc(p.value) + " " + esc(data.people); });
        return out;
      }},
      xAxis: {type: "category", data: h.bins, name: data.unit, nameLocation: "end", nameGap: 6,
              axisLabel: {interval: "auto", formatter: function (v) { return v.split("–")[0]; }}},
      yAxis: {type: "value", name: data.people, minInterval: 1},
      series: series
    });
  }

  function grades() {
    var g = data.grades;
    if (!g || !document.getElementById("chart-grades")) { return; }
    var series = [];
    if (g.baseline) { series.push({name: data.names.baseline, type: "bar", data: g.baseline, itemStyle: {color: BASE}, label: {show: true, position: "top", fontSize: 11}}); }
    series.push({name: data.names.candidate, type: "bar", data: g.candidate, itemStyle: {color: CAND}, label: {show: true, position: "top", fontSize: 11}});
    draw("chart-grades", {
      legend: legend(series.map(function (s) { return s.name; })), grid: grid,
      tooltip: {trigger: "axis", axisPointer: {type: "shadow"}, formatter: function (ps) {
        var out = esc(g.grades[ps[0].dataIndex]);
        ps.forEach(function (p) { out += "<br>" + p.marker + esc(p.seriesName) + "：" + esc(p.value) + " " + esc(data.people); });
        return out;
      }},
      xAxis: {type: "category", data: g.grades}, yAxis: {type: "value", name: data.people, minInterval: 1},
      series: series
    });
  }

  function matrix() {
    var m = data.matrix;
    if (!m) { return; }
    // value: [candidate grade, baseline grade, people, signed people (+ up a grade, − down, 0 the same)]
    var max = 1;
    var cells = m.cells.map(function (c) {
      var signedN = c[0] < c[1] ? c[2] : c[0] > c[1] ? -c[2] : 0;
      if (Math.abs(signedN) > max) { max = Math.abs(signedN); }
      return {value: [c[0], c[1], c[2], signedN], label: {fontWeight: c[0] === c[1] ? "normal" : "bold"}};
    });
    draw("chart-matrix", {
      grid: {left: 96, right: 16, top: 8, bottom: 48},
      tooltip: {formatter: function (p) {
        return esc(m.rows) + "：" + esc(m.grades[p.value[1]]) + "<br>" + esc(m.columns) + "：" + esc(m.grades[p.value[0]]) + "<br>" + esc(p.value[2]) + " " + esc(data.people);
      }},
      xAxis: {type: "category", data: m.grades, name: m.columns, nameLocation: "middle", nameGap: 28, splitArea: {show: true}},
      yAxis: {type: "category", data: m.grades, name: m.rows, nameLocation: "middle", nameGap: 70, inverse: true, splitArea: {show: true}},
      visualMap: {show: false, dimension: 3, min: -max, max: max, inRange: {color: ["#e8a33d", "#fdf0dc", "#ffffff", "#dcefe3", "#2e8b57"]}},
      series: [{type: "heatmap", data: cells, label: {show: true, formatter: function (p) { return p.value[2]; }},
                itemStyle: {borderColor: "#dee2e6", borderWidth: 1}}]
    });
  }

  function indicators() {
    var d = data.indicators;
    if (!d || !d.names.length) { return; }
    var keys = ["full", "partial", "zero", "missing"];
    var colors = {full: "#2e8b57", partial: "#8fc1a9", zero: "#e8a33d", missing: "#c8ccd0"};
    draw("chart-indicators", {
      legend: {top: 0, data: keys.map(function (k) { return d.labels[k]; })},
      grid: {left: 8, right: 24, top: 30, bottom: 24, containLabel: true},
      tooltip: {trigger: "axis", axisPointer: {type: "shadow"}, formatter: function (ps) {
        var i = ps[0].dataIndex, out = esc(d.names[i]);
        keys.forEach(function (k) { out += "<br>" + esc(d.labels[k]) + "：" + esc(d.counts[k][i]) + " " + esc(data.people) + "（" + pct(d.series[k][i]) + "）"; });
        return out;
      }},
      xAxis: {type: "value", max: 1, axisLabel: {formatter: function (v) { return Math.round(v * 100) + "%"; }}},
      yAxis: {type: "category", data: d.names, inverse: true, axisLabel: {width: 220, overflow: "truncate",
              formatter: function (v, i) { return d.flagged[i] ? "⚠ " + v : v; }}},
      series: keys.map(function (k) {
        return {name: d.labels[k], type: "bar", stack: "all", data: d.series[k], itemStyle: {color: colors[k]}, barWidth: 14};
      })
    });
  }

  function fairnessMeans(by) {
    var f = (data.fairness || {})[by];
    if (!f) { return; }
    var all = f.candidate.concat(f.baseline).filter(function (x) { return x !== null; });
    var lo = Math.floor(Math.min.apply(null, all) - 1);
    var series = [];
    if (data.has_baseline) { series.push({name: data.names.baseline, type: "bar", data: f.baseline, itemStyle: {color: BASE}}); }
    series.push({name: data.names.candidate, type: "bar", data: f.candidate, itemStyle: {color: CAND}});
    draw("chart-fairness-" + by, {
      legend: legend(series.map(function (s) { return s.name; })),
      grid: {left: 48, right: 16, top: 32, bottom: by === "business" ? 64 : 32},
      tooltip: {trigger: "axis", axisPointer: {type: "shadow"}, formatter: function (ps) {
        var i = ps[0].dataIndex, out = esc(f.labels[i]) + "（" + esc(f.counts[i]) + " " + esc(data.people) + "）";
        ps.forEach(function (p) { out += "<br>" + esc(p.seriesName) + "：" + fmt(p.value) + " " + esc(data.unit); });
        return out;
      }},
      xAxis: {type: "category", data: f.labels, axisLabel: {interval: 0, rotate: by === "business" ? 30 : 0, fontSize: 11}},
      yAxis: {type: "value", min: lo, name: data.unit},
      series: series
    });
  }

  function fairnessUnits() {
    var f = (data.fairness || {}).procuratorate;
    if (!f) { return; }
    var t = data.threshold || 1.5;
    var bars = f.candidate.map(function (x) {
      var out = x !== null && Math.abs(x) > t;
      return {value: x, itemStyle: {color: out ? (x > 0 ? UP : DOWN) : "#9bb7d4"}};
    });
    draw("chart-fairness-procuratorate", {
      grid: {left: 48, right: 56, top: 16, bottom: 16},
      tooltip: {trigger: "axis", axisPointer: {type: "shadow"}, formatter: function (ps) {
        var i = ps[0].dataIndex, out = esc(f.labels[i]) + "（" + esc(f.counts[i]) + " " + esc(data.people) + "）";
        out += "<br>" + esc(data.names.candidate) + "：" + signed(f.candidate[i]) + " " + esc(data.unit);
        if (data.has_baseline) { out += "<br>" + esc(data.names.baseline) + "：" + signed(f.baseline[i]) + " " + esc(data.unit); }
        return out;
      }},
      xAxis: {type: "category", data: f.labels, axisLabel: {show: false}, axisTick: {show: false}},
      yAxis: {type: "value", name: data.unit},
      series: [{type: "bar", data: bars, barCategoryGap: "20%",
                markLine: {symbol: "none", silent: true, lineStyle: {type: "dashed", color: "#888"},
                           label: {formatter: function (p) { return signed(p.value); }},
                           data: [{yAxis: t}, {yAxis: -t}]}}]
    });
  }

  if (data) {
    histogram(); grades(); matrix(); indicators();
    fairnessMeans("line"); fairnessMeans("business"); fairnessUnits();
    window.addEventListener("resize", function () { charts.forEach(function (c) { c.resize(); }); });
  }

  // "Why it moved": a mover's row opens and closes its explanation (loaded by htmx when not in the report).
  document.querySelectorAll(".why-toggle").forEach(function (button) {
    button.addEventListener("click", function () {
      var row = document.getElementById(button.dataset.target);
      if (!row) { return; }
      row.hidden = !row.hidden;
      button.setAttribute("aria-expanded", row.hidden ? "false" : "true");
    });
  });
})();
