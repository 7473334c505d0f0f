"""The rule designer's pages (issue 12, pages 1–2) in a real browser, at 1366 × 768, on a demo province with
the shipped rule library in force (the provincial template, the procuratorate-level scheme, 清瑞区's
localization, and the template's v2 waiting in review) — under the Content-Security-Policy (``csp_watch``).

A county designer signs in, reads the schemes page and the county's localization (继承 / 本地修改 /
本地新增 with reasons), switches to English; a provincial designer reads the template's version in review.
Full-page screenshots go to /tmp/rulesvc-admin-designer-*.png, beside the other admin screenshots (look at
them). Each page's server-side time (``X-Render-Ms``) is printed (page speed: bench/bench_admin_pages.py).
Skipped, with the reason, when /usr/bin/chromium is missing (see conftest.py).
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
SHOTS = "/tmp/rulesvc-admin-designer-{}.png"
PASSWORD = "designer browser 2026"
VIEWPORT = {"width": 1366, "height": 768}


@pytest.fixture(scope="module")
def designer_app(sqlite_app_factory, tmp_path_factory):
    """A small demo province (the real generator) with the shipped rule library published through its whole
    lifecycle (each version on a real simulation), a county designer of 清瑞区 and a provincial designer."""
    from rulesvc.datagen.demo import DemoConfig, generate_and_load
    from rulesvc.extensions import db
    from rulesvc.persistence.models import Procuratorate
    from rulesvc.services.dictionary import get_dictionary
    from rulesvc.services.governance.library import publish_library
    from rulesvc.services.users import create_user

    app = sqlite_app_factory(tmp_path_factory.mktemp("designer-e2e"))
    with app.app_context():
        generate_and_load(DemoConfig(seed=7, prosecutors=150, months=2))
        rules_dir = app.config["RULES_DIR"]
        summary = publish_library(db.session(), rules_dir, get_dictionary(rules_dir),
                                  app.extensions["rulesvc.simulation_settings"], today=dt.date(2026, 12, 4))
        assert summary.published and summary.in_review, summary
        county = db.session.scalar(select(Procuratorate.id).where(Procuratorate.code == "910101"))
        province = db.session.scalar(select(Procuratorate.id).where(Procuratorate.code == "910000"))
        create_user(db.session, "county_designer", PASSWORD, role="designer", procuratorate_id=county,
                    display_name="清瑞区规则设计人员")
        create_user(db.session, "province_designer", PASSWORD, role="designer", procuratorate_id=province,
                    display_name="省院规则设计人员")
        db.session.commit()
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


@pytest.fixture(scope="module")
def designer_server(designer_app) -> Iterator[str]:
    with serving(designer_app, "designer-e2e-server") as url:
        yield url


def sign_in(page: Page, base: str, username: str) -> None:
    page.set_viewport_size(VIEWPORT)
    page.goto(f"{base}/admin/schemes/")
    expect(page).to_have_url(re.compile(r"/admin/login/\?next="))
    page.get_by_label("用户名").fill(username)
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录").click()
    expect(page).to_have_url(f"{base}/admin/schemes/")


def server_ms(response: Response | None, label: str) -> float:
    """The server time of a page, printed (page speed is ``bench/bench_admin_pages.py``'s business)."""
    assert response is not None and response.ok, label
    ms = float(response.headers["x-render-ms"])
    print(f"server-side render time of {label}: {ms:.1f} ms")
    return ms


def no_horizontal_scroll(page: Page) -> None:
    """The page fits 1366 px: nothing is cut off to the right, no table cell hides part of its text."""
    fits_width(page)
    clipped = page.evaluate("""[...document.querySelectorAll('.designer td, .designer th')]
        .filter(td => td.scrollWidth > td.clientWidth + 1).map(td => td.innerText.slice(0, 40))""")
    assert not clipped, clipped
    tables = page.evaluate("""[...document.querySelectorAll('.designer table')]
        .filter(t => t.getBoundingClientRect().right > t.parentElement.getBoundingClientRect().right + 1).length""")
    assert tables == 0


def test_a_county_designer_reads_the_schemes_and_the_county_localization(page: Page, designer_server: str,
                                                                          csp_watch):
    base = designer_server
    sign_in(page, base, "county_designer")
    server_ms(page.reload(), "the schemes page")
    expect(page.get_by_role("heading", name="考评方案", exact=True)).to_be_visible()
    cards = page.locator(".scheme-card")
    # The county sees the province's published schemes and its own; the template's v2 (in review) is not theirs.
    expect(cards).to_have_count(3)
    template = page.locator("#scheme-SFS-PROSECUTOR-TEMPLATE")
    expect(template.locator(".version-row")).to_have_count(1)
    expect(template.get_by_text("上级院方案")).to_be_visible()
    local = page.locator("#scheme-SFS-PROSECUTOR-910101")
    expect(local.locator(".status-badge")).to_have_text(["已生效"])
    expect(local.locator(".in-force")).to_have_text(re.compile(r"现行版本：\s*第 1 版"))
    no_horizontal_scroll(page)
    page.screenshot(path=SHOTS.format("schemes-county"), full_page=True)

    with page.expect_navigation() as nav:
        local.get_by_role("link", name="第 1 版").first.click()
    server_ms(nav.value, "the localization's version page")
    expect(page).to_have_url(f"{base}/admin/schemes/SFS-PROSECUTOR-910101/1/")
    expect(page.locator("h3")).to_contain_text("第 1 版")
    quality = page.locator('tr.dimension[data-code="quality"]')
    expect(quality.locator(".origin")).to_have_text("本地修改")
    expect(quality.locator(".reason")).to_contain_text("理由：")
    expect(page.locator('tr.indicator[data-code="BLACK_SOIL_PIL_SHARE"] .origin')).to_have_text("本地新增")
    expect(page.locator('tr.indicator[data-code="PLEA_APPLY_RATE"] .c-rule')).to_contain_text("≥ 92% → 8 分")
    expect(page.locator('tr.indicator[data-code="PLEA_APPLY_RATE"] .c-formula')).to_contain_text("“适用认罪认罚人数”")
    expect(page.locator('tr.indicator[data-code="PUBLIC_HEARING_COUNT"] .c-points')).to_have_text("仅作分析")
    expect(page.locator("tr.override")).to_have_count(7)
    no_horizontal_scroll(page)
    page.screenshot(path=SHOTS.format("version-localization"), full_page=True)
    page.screenshot(path=SHOTS.format("version-localization-top"), full_page=False)

    # The same page in English: the interface's words switch, the scheme's own names stay.
    page.locator("#lang-en").click()
    expect(page).to_have_url(f"{base}/admin/schemes/SFS-PROSECUTOR-910101/1/")
    expect(page.locator('tr.dimension[data-code="quality"] .origin')).to_have_text("changed locally")
    expect(page.get_by_role("heading", name="Indicators")).to_be_visible()
    no_horizontal_scroll(page)
    page.screenshot(path=SHOTS.format("version-localization-en"), full_page=False)
    server_ms(page.goto(f"{base}/admin/schemes/"), "the schemes page in English")
    expect(page.locator("#scheme-SFS-PROSECUTOR-910101 .status-badge")).to_have_text(["active"])
    no_horizontal_scroll(page)
    page.screenshot(path=SHOTS.format("schemes-en"), full_page=True)


def test_a_provincial_designer_reads_the_template_version_in_review(page: Page, designer_server: str, csp_watch):
    base = designer_server
    sign_in(page, base, "province_designer")
    template = page.locator("#scheme-SFS-PROSECUTOR-TEMPLATE")
    expect(template.locator(".status-badge")).to_have_text(["审核中", "已生效"])
    expect(page.locator(".scheme-card")).to_have_count(3)
    page.screenshot(path=SHOTS.format("schemes-province"), full_page=True)
    with page.expect_navigation() as nav:
        template.get_by_role("link", name="第 2 版").first.click()
    server_ms(nav.value, "the template's version in review")
    expect(page.locator("#version-head .status-badge")).to_have_text("审核中")
    expect(page.locator("#weight-total")).to_have_text("100")
    expect(page.locator('tr.indicator[data-code="CASE_RATIO_CRIM"] .c-rule')).to_contain_text("1:1")
    no_horizontal_scroll(page)
    page.screenshot(path=SHOTS.format("version-template"), full_page=True)
    # The procuratorate-level scheme: peer comparison, no grades, every indicator scored against the average.
    response = page.goto(f"{base}/admin/schemes/SFS-PROCURATORATE-QUALITY-MONTHLY/1/")
    expect(page.locator("#participants")).to_contain_text("市级院、基层院参加考评")
    expect(page.locator("#peers")).to_contain_text("与平均值相差 5% 以内为中游")
    no_horizontal_scroll(page)
    page.screenshot(path=SHOTS.format("version-procuratorates"), full_page=True)
    server_ms(response, "the procuratorate-level scheme")
