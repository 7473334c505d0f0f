"""The designer's page 5 in a real browser (issue 12), at 1366 × 768, on a small demo province with the shipped rule
library in force — under the Content-Security-Policy (``csp_watch``).

A county designer opens their localization draft's editor: the live impact panel (影响预览) beside it answers for
the draft as saved; they type weights — before saving — and the panel follows (等次上升 1 人, the 等次变化矩阵, who
crosses and why) while nothing is saved (the draft's lock counter stays); a weight that is not a number is marked
as the save would mark it; a tier threshold on an indicator's form moves the panel too; the form still saves
normally. Then 预览: a prosecutor under the draft and the version in force side by side, another picked from the
list. The time of each answer (what the browser waited, and the server's ``X-Render-Ms``) is printed; the speed
is bench/bench_impact.py's business. Full-page screenshots: /tmp/rulesvc-admin-imp-*.png (look at them).
"""

from __future__ import annotations

import datetime as dt
import statistics
import time
from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import Page, Response, expect
from sqlalchemy import select

from tests.e2e.conftest import fits_width, serving

pytestmark = [pytest.mark.e2e, pytest.mark.slow]
SHOTS = "/tmp/rulesvc-admin-imp-{}.png"
PASSWORD = "designer impact browser 2026"
VIEWPORT = {"width": 1366, "height": 768}
LOCAL = "SFS-PROSECUTOR-910101"


@pytest.fixture(scope="module")
def impact_app(sqlite_app_factory, tmp_path_factory):
    """A small demo province with the rule library published (清瑞区 910101 localizes the template, in force), a
    designer of 清瑞区 and a new draft of its localization."""
    from rulesvc.datagen.demo import DemoConfig, generate_and_load
    from rulesvc.extensions import db
    from rulesvc.persistence.models import Procuratorate, User
    from rulesvc.services.dictionary import get_dictionary
    from rulesvc.services.governance import versions
    from rulesvc.services.governance.access import actor_for_user
    from rulesvc.services.governance.library import publish_library
    from rulesvc.services.users import create_user

    app = sqlite_app_factory(tmp_path_factory.mktemp("designer-impact-e2e"))
    with app.app_context():
        generate_and_load(DemoConfig(seed=7, prosecutors=150, months=2))
        rules_dir = app.config["RULES_DIR"]
        summary = publish_library(db.session(), rules_dir, get_dictionary(rules_dir),
                                  app.extensions["rulesvc.simulation_settings"], today=dt.date(2026, 12, 4))
        assert summary.published, summary
        county = db.session.scalar(select(Procuratorate).where(Procuratorate.code == "910101"))
        create_user(db.session, "imp_designer", PASSWORD, role="designer", procuratorate_id=county.id,
                    display_name="清瑞区规则设计人员")
        db.session.commit()
        user = db.session.scalar(select(User).where(User.username == "imp_designer"))
        draft = versions.create_draft(db.session, actor_for_user(db.session, user), LOCAL, change_note="试算")
        db.session.commit()
        app.config["E2E_DRAFT"] = (draft.id, draft.number)
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


@pytest.fixture(scope="module")
def impact_server(impact_app) -> Iterator[str]:
    with serving(impact_app, "designer-impact-e2e-server") as url:
        yield url


def shot(page: Page, name: str) -> None:
    fits_width(page, name)
    page.screenshot(path=SHOTS.format(name), full_page=True)
    page.screenshot(path=SHOTS.format(f"{name}-top"), full_page=False)


def _lock(app: Any) -> int:
    from rulesvc.extensions import db
    from rulesvc.persistence.models import SchemeVersion

    with app.app_context():
        v = db.session.get(SchemeVersion, app.config["E2E_DRAFT"][0])
        lock = v.lock_version
        db.session.rollback()
        return lock


def _answers(page: Page) -> int:
    return int(page.locator("#impact-panel").get_attribute("data-answers") or "0")


def _wait_answer(page: Page, before: int) -> float:
    """Wait for the panel's next answer; what the browser waited for it (ms, the debounce not counted)."""
    deadline = time.monotonic() + 60
    while _answers(page) <= before:  # polled from here: wait_for_function evaluates a string, which the CSP refuses
        assert time.monotonic() < deadline, "the impact panel never answered"
        page.wait_for_timeout(25)
    return float(page.locator("#impact-panel").get_attribute("data-ms") or "nan")


def test_a_county_designer_sees_the_impact_of_an_unsaved_weight_and_previews_a_prosecutor(
        page: Page, impact_server: str, impact_app: Any, csp_watch):
    base = impact_server
    number = impact_app.config["E2E_DRAFT"][1]
    edit_url = f"{base}/admin/schemes/{LOCAL}/{number}/edit/"
    page.set_viewport_size(VIEWPORT)
    server_ms: list[tuple[str, float]] = []

    def on_response(response: Response) -> None:
        if "/edit/impact/" in response.url or "/preview/" in response.url:
            ms = response.headers.get("x-render-ms")
            if ms is not None:
                server_ms.append((f"{response.request.method} {response.url.split('/admin/schemes/')[1]}", float(ms)))
    page.on("response", on_response)

    page.goto(edit_url)
    page.get_by_label("用户名").fill("imp_designer")
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录").click()
    expect(page).to_have_url(edit_url)

    # On opening: the draft as saved (the first answer reads the period: seconds, with 计算中… shown meanwhile).
    panel = page.locator("#impact-panel")
    expect(panel.get_by_text("影响预览")).to_be_visible()
    expect(panel.locator("#impact-answer")).to_be_visible(timeout=60_000)
    expect(panel).to_contain_text("已保存的草稿")
    expect(panel).to_contain_text("第 1 版相比")
    cold = float(panel.get_attribute("data-ms") or "nan")
    shot(page, "01-editor-panel")
    lock = _lock(impact_app)

    # Type weights, before saving: the panel follows; nothing is saved.
    weights = page.locator("#weights-form")
    n = _answers(page)
    weights.locator("#w-quality").fill("80")
    weights.locator("#w-efficiency").fill("10")
    weights.locator("#w-effect").fill("10")
    first = _wait_answer(page, n)
    expect(panel.locator("#impact-unsaved")).to_have_text("未保存的修改")
    expect(panel.locator("#impact-moves")).to_contain_text("等次上升 1 人")
    expect(panel.locator("#impact-matrix td.cell-up")).to_have_count(1)
    expect(panel.locator("#impact-crossers li.crosser-up")).to_have_count(1)
    expect(panel.locator("#impact-crossers .why")).to_contain_text("主要因为")
    page.locator("#sec-weights").scroll_into_view_if_needed()
    shot(page, "02-unsaved-weights")
    assert _lock(impact_app) == lock

    # Warm: each further edit (the draft's data kept; only the scoring runs).
    warm = []
    for quality, other in (("20", "40"), ("60", "20"), ("80", "10"), ("50", "25"), ("80", "10")):
        n = _answers(page)
        weights.locator("#w-quality").fill(quality)
        weights.locator("#w-efficiency").fill(other)
        weights.locator("#w-effect").fill(other)
        warm.append(_wait_answer(page, n))
    expect(panel.locator("#impact-moves")).to_contain_text("等次上升 1 人")
    assert _lock(impact_app) == lock
    print(f"\nlive impact, browser wait: cold {cold:.0f} ms, first edit {first:.0f} ms, warm {warm} ms "
          f"(median {statistics.median(warm):.0f} ms)")
    # (How fast the answers come is bench/bench_impact.py's business: printed here, not held to a limit.)

    # Not a number: said beside the field, as the save would say it; the editor still works.
    n = _answers(page)
    weights.locator("#w-quality").fill("八十")
    _wait_answer(page, n)
    expect(panel.locator("#impact-errors")).to_be_visible()
    expect(weights.locator("#w-quality")).to_have_class(has_word("is-invalid"))
    shot(page, "03-bad-input")
    n = _answers(page)
    weights.locator("#w-quality").fill("80")
    _wait_answer(page, n)
    expect(weights.locator("#w-quality")).not_to_have_class(has_word("is-invalid"))

    # The form still saves as before (a normal POST, with its reason): the panel then shows the saved draft.
    weights.locator("#reason-weights").fill("本院重在办案质量")
    weights.locator("#save-weights").click()
    expect(page.locator("#saved")).to_be_visible()
    assert _lock(impact_app) == lock + 1
    expect(panel).to_contain_text("已保存的草稿", timeout=30_000)
    expect(panel.locator("#impact-moves")).to_contain_text("等次上升 1 人")

    # Far down the editor (参加考评), the panel stays beside the form and follows it.
    page.locator("#sec-participants").scroll_into_view_if_needed()
    n = _answers(page)
    page.locator("#p-office").fill("95")
    _wait_answer(page, n)
    expect(panel.locator("#impact-unsaved")).to_be_visible()
    box = panel.bounding_box()
    assert box is not None and 0 <= box["y"] < VIEWPORT["height"] / 2, box  # sticky: in view, not at the top of the page
    page.screenshot(path=SHOTS.format("03b-participants-top"), full_page=False)
    assert _lock(impact_app) == lock + 1

    # A tier threshold on an indicator's form moves the panel too (before saving).
    page.goto(f"{edit_url}indicators/CORRECTION_ADOPT_RATE/")
    expect(page.locator("#impact-answer")).to_be_visible(timeout=30_000)
    n = _answers(page)
    page.locator("input[name=tier_bound]").first.fill("97")
    _wait_answer(page, n)
    expect(page.locator("#impact-unsaved")).to_be_visible()
    shot(page, "04-indicator-tier")
    assert _lock(impact_app) == lock + 1

    # 预览: from the panel's link; the first of the county is shown, then another picked from the list.
    page.goto(edit_url)
    page.locator("#preview-link").click()
    expect(page).to_have_url(f"{base}/admin/schemes/{LOCAL}/{number}/preview/")
    expect(page.locator("#preview-answer")).to_be_visible(timeout=30_000)
    expect(page.locator("#preview-summary")).to_contain_text("第 1 版")
    expect(page.locator("#preview-summary")).to_contain_text("本草稿")
    options = page.locator("#pv-subject option")
    assert options.count() >= 3
    shot(page, "05-preview")
    crosser = page.locator("#pv-subject option", has_text="龚兰").get_attribute("value")
    page.locator("#pv-subject").select_option(value=crosser)
    page.locator("#preview-go").click()
    expect(page.locator("#preview-answer")).to_contain_text("龚兰", timeout=30_000)
    expect(page.locator("#preview-grade-move")).to_contain_text("等次上升")
    expect(page.locator("#preview-indicators tr.pv-changed").first).to_be_visible()
    shot(page, "06-preview-crosser")

    # The same in English.
    page.goto(f"{base}/admin/lang/en/")
    page.goto(f"{base}/admin/schemes/{LOCAL}/{number}/preview/?subject={crosser}")
    expect(page.locator("#preview-summary")).to_contain_text("In force: version 1", timeout=30_000)
    expect(page.locator("#preview-grade-move")).to_contain_text("up a grade")
    shot(page, "07-preview-en")
    page.goto(edit_url)
    expect(page.locator("#impact-moves")).to_contain_text("1 up a grade", timeout=30_000)
    shot(page, "08-editor-en")

    print("server times:", server_ms)


def has_word(word: str) -> Any:
    import re

    return re.compile(rf"(^|\s){re.escape(word)}(\s|$)")
