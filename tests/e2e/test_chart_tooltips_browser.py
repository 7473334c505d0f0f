"""Security audit finding (2026-12-07): the charts' tooltips are HTML, and the names in them — indicators, grades,
bonus items, units, lines — are typed by rule designers. An indicator named ``<a href=…>登录已失效</a><img
onerror=…>`` put a live link and an image request in front of the reviewer (the report's charts) and of everyone
reading a score card (the waterfall); only the Content-Security-Policy stopped the script.

Here the real ``designer-simulation.js`` and ``results.js``, with the vendored ECharts, draw charts from data
blocks full of such names, in Chromium; every tooltip is shown (ECharts' ``showTip``) and must carry the names as
text: no element made from them, no request to their image. Skipped, with the reason, without /usr/bin/chromium.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import Page, Request

from tests.e2e.conftest import serving

pytestmark = [pytest.mark.e2e]

EVIL = '<img src="/x-pwned.png" id="pwn" onerror="window.pwned=1"><a id="lure" href="https://evil.example/">登录已失效</a>'

SIM_DATA = {
    "lang": "zh", "names": {"baseline": "基准" + EVIL, "candidate": "候选" + EVIL}, "unit": "分" + EVIL,
    "people": "人" + EVIL, "has_baseline": True, "threshold": 1.5,
    "histogram": {"bins": ["80.0–90.0" + EVIL, "90.0–100.0"], "baseline": [3, 4], "candidate": [2, 5]},
    "grades": {"grades": ["优秀" + EVIL, "合格"], "baseline": [1, 6], "candidate": [2, 5]},
    "matrix": {"grades": ["优秀" + EVIL, "合格"], "cells": [[0, 0, 1], [1, 0, 1], [1, 1, 5]],
               "rows": "基准等次" + EVIL, "columns": "候选等次" + EVIL},
    "indicators": {"names": ["认罪认罚适用率" + EVIL], "series": {"full": [0.5], "partial": [0.2], "zero": [0.2],
                                                           "missing": [0.1]},
                   "counts": {"full": [5], "partial": [2], "zero": [2], "missing": [1]},
                   "labels": {"full": "满分" + EVIL, "partial": "部分得分", "zero": "零分", "missing": "无数据"},
                   "flagged": [True]},
    "fairness": {"line": {"labels": ["刑事检察" + EVIL], "candidate": [90.5], "baseline": [90.1], "counts": [7]},
                 "business": {"labels": ["普通犯罪检察" + EVIL], "candidate": [90.5], "baseline": [90.1], "counts": [7]},
                 "procuratorate": {"labels": ["清瑞区人民检察院" + EVIL], "candidate": [2.1], "baseline": [0.3],
                                   "counts": [7]}},
}
SIM_CHARTS = ("chart-histogram", "chart-grades", "chart-matrix", "chart-indicators", "chart-fairness-line",
              "chart-fairness-business", "chart-fairness-procuratorate")

WATERFALL = {"base": 60.0, "total": 88.5, "total_label": "总分" + EVIL,
             "bars": [{"label": "基础分", "start": 0, "end": 60.0, "points": 60.0, "kind": "base"},
                      {"label": "认罪认罚适用率" + EVIL, "start": 60.0, "end": 80.0, "points": 20.0, "kind": "indicator"},
                      {"label": "省院评查优质案件" + EVIL, "start": 80.0, "end": 88.5, "points": 8.5, "kind": "adjustment"}]}


@pytest.fixture(scope="module")
def assets(sqlite_app_factory, tmp_path_factory) -> Iterator[str]:
    """The app (its vendored ECharts and page scripts), served: its base URL."""
    app = sqlite_app_factory(tmp_path_factory.mktemp("tooltips"))
    with serving(app, "tooltips-e2e-server") as url:
        yield url


def _page_with(page: Page, base: str, body: str, scripts: list[str]) -> list[str]:
    """Open a page of the app's origin made of ``body`` and the app's own ``scripts``; the requests it makes."""
    seen: list[str] = []
    page.on("request", lambda r: seen.append(r.url) if isinstance(r, Request) else None)
    tags = "".join(f'<script src="{base}/admin/assets/{s}"></script>' for s in scripts)
    html = f'<!DOCTYPE html><html><head><meta charset="utf-8"></head><body>{body}{tags}</body></html>'
    page.route(f"{base}/tooltip-check", lambda route: route.fulfill(body=html, content_type="text/html; charset=utf-8"))
    page.goto(f"{base}/tooltip-check")
    return seen


SHOW_TIPS = """async ([ids, series, index]) => {
  const out = {};
  for (const id of ids) {
    const el = document.getElementById(id);
    const chart = window.echarts.getInstanceByDom(el);
    if (!chart) { out[id] = null; continue; }
    for (let i = 0; i < 2; i++) {  // ECharts makes its tooltip on a later frame, the first time not at all
      if (series === 'at') {  // a point of the chart: [value, category index]
        const [x, y] = chart.convertToPixel({gridIndex: 0}, index);
        chart.dispatchAction({type: 'showTip', x: x, y: y});
      } else {
        chart.dispatchAction({type: 'showTip', seriesIndex: series, dataIndex: index});
      }
      await new Promise(done => setTimeout(done, 200));
    }
    const tips = [...el.querySelectorAll('div')].filter(d => (d.getAttribute('style') || '').includes('z-index: 9999999'));
    out[id] = tips.map(d => ({html: d.innerHTML, text: d.textContent}));
  }
  return out;
}"""


def _json_block(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False).replace("</", "<\\/")


def _check(page: Page, tips: dict[str, Any], requests: list[str]) -> None:
    for chart, found in tips.items():
        assert found, f"{chart}: no tooltip shown"
        shown = " ".join(t["text"] for t in found)
        assert "<img" in shown and "登录已失效" in shown, (chart, shown)  # the name, as text
        assert "<img" not in " ".join(t["html"] for t in found), (chart, found)  # never as markup
    assert page.evaluate("() => !document.getElementById('pwn') && !document.getElementById('lure') && !window.pwned")
    assert not [u for u in requests if "x-pwned" in u], requests


def test_the_simulation_reports_tooltips_show_designers_names_as_text(page: Page, assets: str):
    body = "".join(f'<div id="{c}" style="width:600px;height:300px"></div>' for c in SIM_CHARTS)
    body += f'<script type="application/json" id="sim-chart-data">{_json_block(SIM_DATA)}</script>'
    requests = _page_with(page, assets, body, ["vendor/echarts/echarts.min.js", "designer-simulation.js"])
    page.wait_for_function("() => document.getElementById('chart-indicators').dataset.drawn === '1'")
    tips = page.evaluate(SHOW_TIPS, [list(SIM_CHARTS), 0, 0])
    _check(page, tips, requests)


def test_the_score_cards_waterfall_tooltip_shows_names_as_text(page: Page, assets: str):
    body = ('<div id="waterfall" data-lang="zh" style="width:600px;height:300px"></div>'
            f'<script type="application/json" id="waterfall-data">{_json_block(WATERFALL)}</script>')
    requests = _page_with(page, assets, body, ["vendor/echarts/echarts.min.js", "results.js"])
    page.wait_for_function("() => document.getElementById('waterfall').dataset.drawn === '4'")
    tips = {f"waterfall-{i}": page.evaluate(SHOW_TIPS, [["waterfall"], "at", [70, i]])["waterfall"]
            for i in (1, 2, 3)}  # the indicator, the item, the total (hovered where their bars are)
    _check(page, tips, requests)
