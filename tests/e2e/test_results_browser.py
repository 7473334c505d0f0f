"""考评结果 (issue 12, pages 9–10) in a real browser at 1366 × 768, on a small demo province with the shipped rule
library in force (the provincial template, 清瑞区's localization, the procuratorate-level monthly scheme), under
the Content-Security-Policy (``csp_watch``): a county viewer reads the county's ranking and opens a score card
(the waterfall and the months drawn by ECharts from data the page hands over without inline script), a
provincial viewer reads the procuratorate comparison. Full-page screenshots go to
/tmp/rulesvc-admin-res-*.png (look at them). Each page's server-side time (``X-Render-Ms``) is printed, the first
computation of a period apart (page speed is ``bench/bench_admin_pages.py``'s business). Skipped, with the reason, when /usr/bin/chromium is missing (see conftest.py).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator

import pytest
from playwright.sync_api import Page, Response, expect
from sqlalchemy import select

from tests.e2e.conftest import fits_width, serving

pytestmark = [pytest.mark.e2e, pytest.mark.slow]
SHOTS = "/tmp/rulesvc-admin-res-{}.png"
PASSWORD = "results browser 2026"
VIEWPORT = {"width": 1366, "height": 768}


@pytest.fixture(scope="module")
def results_app(sqlite_app_factory, tmp_path_factory):
    """A small demo province (the real generator, January–February 2020) with the shipped rule library published
    through its whole lifecycle; a viewer of 清瑞区 (910101) and one of the province."""
    from rulesvc.datagen.demo import DemoConfig, generate_and_load
    from rulesvc.extensions import db
    from rulesvc.persistence.models import Procuratorate
    from rulesvc.services.dictionary import get_dictionary
    from rulesvc.services.governance.library import publish_library
    from rulesvc.services.users import create_user

    app = sqlite_app_factory(tmp_path_factory.mktemp("results-e2e"))
    with app.app_context():
        generate_and_load(DemoConfig(seed=7, prosecutors=150, months=2))
        rules_dir = app.config["RULES_DIR"]
        summary = publish_library(db.session(), rules_dir, get_dictionary(rules_dir),
                                  app.extensions["rulesvc.simulation_settings"], today=dt.date(2026, 12, 4))
        assert summary.published, summary
        ids = dict(db.session.execute(select(Procuratorate.code, Procuratorate.id)).all())
        create_user(db.session, "county_viewer", PASSWORD, role="viewer", procuratorate_id=ids["910101"],
                    display_name="清瑞区查看人员")
        create_user(db.session, "province_viewer", PASSWORD, role="viewer", procuratorate_id=ids["910000"],
                    display_name="省院查看人员")
        db.session.commit()
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


@pytest.fixture(scope="module")
def results_server(results_app) -> Iterator[str]:
    with serving(results_app, "results-e2e-server") as url:
        yield url


def sign_in(page: Page, base: str, username: str) -> None:
    page.set_viewport_size(VIEWPORT)
    page.goto(f"{base}/admin/results/")
    expect(page).to_have_url(re.compile(r"/admin/login/\?next="))
    page.get_by_label("用户名").fill(username)
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录").click()
    expect(page).to_have_url(f"{base}/admin/results/")


def server_ms(response: Response | None, label: str) -> float:
    assert response is not None and response.ok, label
    ms = float(response.headers["x-render-ms"])
    print(f"server-side render time of {label}: {ms:.1f} ms")
    return ms


def warm_ms(page: Page, label: str) -> float:
    """The page asked again (the period computed by the first visit): its own server time, printed (page speed is
    ``bench/bench_admin_pages.py``'s business)."""
    return server_ms(page.reload(), label)


def fits(page: Page) -> None:
    """Nothing cut off to the right at 1366 px, no table cell hiding part of its text."""
    fits_width(page)
    clipped = page.evaluate("""[...document.querySelectorAll('.results td, .results th')]
        .filter(td => td.scrollWidth > td.clientWidth + 1 && !td.querySelector('.clamp1')).map(td => td.innerText.slice(0, 40))""")
    assert not clipped, clipped


def test_a_county_viewer_reads_the_ranking_and_a_score_card(page: Page, results_server: str, csp_watch):
    base = results_server
    sign_in(page, base, "county_viewer")
    warm_ms(page, "the rankings page")
    # The county's own scheme first, the last closed period with data, provisional figures said so.
    expect(page.locator("#f-scheme")).to_have_value("SFS-PROSECUTOR-910101")
    expect(page.locator("#f-period")).to_have_value("2020")
    expect(page.locator("#figures .figures-label")).to_have_text("临时结果")
    expect(page.get_by_role("heading", name="2020 排名")).to_be_visible()
    rows = page.locator("tr.ranking-row")
    assert rows.count() > 0
    expect(page.locator("#ranking thead th")).to_contain_text(["组内名次", "姓名", "检察院", "业务", "员额状态", "总分",
                                                               "等次", "百分位"])
    for org in page.locator("tr.ranking-row td.r-org").all_inner_texts():
        assert org == "清瑞区人民检察院"
    expect(page.locator("#pager-count")).to_contain_text("每页 50 条")
    expect(page.locator("#quota-use")).to_contain_text("优秀名额")
    fits(page)
    page.screenshot(path=SHOTS.format("rankings-county"), full_page=True)

    # The template's ranking, filtered by grade: places still among the whole province.
    page.locator("#f-scheme").select_option("SFS-PROSECUTOR-TEMPLATE")
    page.locator("#f-grade").select_option("良好") if page.locator("#f-grade option[value='良好']").count() else None
    with page.expect_navigation() as nav:
        page.get_by_role("button", name="查询").click()
    server_ms(nav.value, "the template's ranking (first visit computes the period)")
    warm_ms(page, "the template's ranking")
    expect(page.locator("#f-scheme")).to_have_value("SFS-PROSECUTOR-TEMPLATE")
    for grade in page.locator("tr.ranking-row td.r-grade").all_inner_texts():
        assert grade.strip() == "良好"
    with page.expect_download() as download:
        page.locator("#export-xlsx").click()
    assert download.value.suggested_filename == "ranking-SFS-PROSECUTOR-TEMPLATE-2020-provisional.xlsx"

    # A name opens the card.
    first = page.locator("tr.ranking-row a.card-link").first
    name = first.inner_text()
    with page.expect_navigation() as nav:
        first.click()
    server_ms(nav.value, "a score card (the first of the period orders its events by person)")
    expect(page.locator("#card-title")).to_contain_text(name)
    expect(page.locator("#waterfall")).to_have_attribute("data-drawn", re.compile(r"^\d+$"))
    expect(page.locator("#history")).to_have_attribute("data-drawn", "12", timeout=30_000)
    assert page.locator("#waterfall canvas").count() == 1 and page.locator("#history canvas").count() == 1
    expect(page.locator("tr.card-indicator").first).to_be_visible()
    expect(page.locator(".i-formula .filled").first).to_contain_text("“")  # the dictionary's words, not codes
    expect(page.locator("#grade-reason")).not_to_be_empty()
    expect(page.locator("#room")).to_contain_text("总分")
    assert "(not applicable" not in page.content()
    # A civil prosecutor: 监督立案数 (criminal line) is listed with those that do not apply, whatever its value,
    # and an indicator that does not count shows no points — not "0 / 4" beside a dimension that lost none.
    expect(page.locator('tr.card-indicator[data-code="FILING_SUPERVISION"]')).to_have_class(re.compile("not-applicable"))
    for dim in page.locator("div.dimension").all():
        head = re.search(r"([\d.]+) / ([\d.]+)", dim.locator(".card-header").inner_text())
        assert head, dim.locator(".card-header").inner_text()
        cells = [c.strip() for c in dim.locator("td.i-points").all_text_contents()]
        shown = [re.fullmatch(r"([\d.]+) / ([\d.]+)", c) for c in cells if c != "—"]
        assert all(shown), cells
        assert sum(float(m[1]) for m in shown) == pytest.approx(float(head[1]), abs=0.02), (head[0], cells)
        assert sum(float(m[2]) for m in shown) == pytest.approx(float(head[2]), abs=0.02), (head[0], cells)
        # A dimension with bonus or penalty items says what they add beside what its indicators add (a designer
        # read "计入总分 +15.77" above "指标计入总分 = … = 5.77", the item's +10 far below).
        why = " ".join(dim.locator(".dim-why").all_inner_texts())
        adds = re.search(r"计入总分 ([+-][\d.]+)", dim.locator(".card-header").inner_text())
        items = re.search(r"加减分项计 ([+-][\d.]+)（见下方）：([\d.-]+) ([+-][\d.]+) = ([+-][\d.]+)。", why)
        if items:
            assert float(items[2]) + float(items[3]) == pytest.approx(float(items[4]), abs=0.011), why
            assert adds and adds[1] == items[4], (adds, why)
    warm_ms(page, "a score card")
    fits(page)
    page.screenshot(path=SHOTS.format("card"), full_page=True)
    page.screenshot(path=SHOTS.format("card-top"), full_page=False)

    # English: the interface's words switch.
    with page.expect_navigation():
        page.locator("#lang-en").click()
    expect(page.get_by_text("From the base score to the total")).to_be_visible()
    expect(page.locator("#figures .figures-label")).to_have_text("provisional")
    page.screenshot(path=SHOTS.format("card-en"), full_page=False)
    with page.expect_navigation():
        page.locator("#lang-zh").click()

    # A prosecutor of another county: the same "not found" page as one that does not exist.
    response = page.goto(f"{base}/admin/results/card/?subject=910102001&period=2020&scheme=SFS-PROSECUTOR-TEMPLATE")
    assert response is not None and response.status == 404
    expect(page.locator("#not-found")).to_have_text("没有找到该考评结果。")


def test_a_provincial_viewer_reads_the_procuratorate_comparison(page: Page, results_server: str, csp_watch):
    base = results_server
    sign_in(page, base, "province_viewer")
    with page.expect_navigation() as nav:
        page.get_by_role("link", name="院际比较").click()
    server_ms(nav.value, "the comparison (first visit computes the months)")
    warm_ms(page, "the comparison")
    expect(page.locator("#f-period")).to_have_value("2020-02")
    expect(page.locator("#legend")).to_contain_text("上游")
    cells = page.locator("td.c-ind.pos")
    assert cells.count() > 0
    classes = set(page.evaluate("[...document.querySelectorAll('td.c-ind')].map(td => td.className)"))
    assert any("up" in c for c in classes) and any("down" in c for c in classes)
    expect(page.locator("tr.level-row").first).to_contain_text("市级院")
    assert page.locator(".flag-bottom-k").count() == 3  # the last 3 of the 9 city-level units
    assert page.locator(".flag-bottom-share").count() > 0
    expect(page.locator("#streak-rule")).to_contain_text("连续 6 个月")
    fits(page)
    page.screenshot(path=SHOTS.format("comparison"), full_page=True)
    page.screenshot(path=SHOTS.format("comparison-top"), full_page=False)
