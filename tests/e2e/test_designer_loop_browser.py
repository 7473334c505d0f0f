"""The whole designer's loop in a real browser (issue 12, "Done when"), in Chinese and in English, at 1366 × 768, on
a small demo province with the shipped rule library in force — under the Content-Security-Policy (``csp_watch``).

A county designer signs in (in English: then picks English in the navbar) and, with clicks and a few words — no
YAML, no JSON typed anywhere —, localizes the provincial template: two dimension weights (typed first: the live
impact panel answers before anything is saved), a threshold typed as a percentage, an indicator switched off, a
new count of the data dictionary and a local indicator on it with its formula — each with its reason. They preview
a prosecutor (the draft beside the version in force), run a simulation (the service's thread: no queue) and wait
for its report through the page's own progress bar, read it, and submit with a change note. A DIFFERENT person —
the reviewer of the city-level procuratorate above the county (four eyes: never the one who wrote or submitted
it) — finds it in 待我审核, reads the diff with the reasons and the simulation report, approves it and puts it in
force. The date: the first day of the period the county scores now (the annual period 2020, the last closed one
with data), since the service takes an effective date in the past and the results pages score a period under
the version in force on its first day; the rankings of 考评结果 then name the county's new version and its
prosecutors' score cards carry the local indicator.

Page visits and form submissions of the designer's part (sign-in to submit) are counted and printed, and held to
at most 25; every page's server time (``X-Render-Ms``) is recorded and printed (page speed is held by
``bench/bench_admin_pages.py``, not here). Full-page screenshots of every page
passed through go to ``${RULESVC_TEST_ARTIFACTS:-/tmp/rulesvc-test-artifacts}/loop-<lang>/NN-<name>.png``.
Skipped, with the reason, without /usr/bin/chromium.
"""

from __future__ import annotations

import datetime as dt
import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Page, Response, expect
from sqlalchemy import select

from tests.e2e.conftest import fits_width, serving
from tests.e2e.test_designer_edit_browser import Tally
from tests.e2e.test_designer_impact_browser import _answers, _wait_answer

pytestmark = [pytest.mark.e2e, pytest.mark.slow]
PASSWORD = "designer loop browser 2026"
VIEWPORT = {"width": 1366, "height": 768}
MAX_ACTIONS = 25
TEMPLATE = "SFS-PROSECUTOR-TEMPLATE"
PERIOD = "2020"
EFFECTIVE_FROM = "2020-01-01"  # the first day of the period scored: the results pages take the version in force then
ARTIFACTS = Path(os.environ.get("RULESVC_TEST_ARTIFACTS") or "/tmp/rulesvc-test-artifacts")

# The few words the test reads on the pages, in each language (the rest goes by ids and data attributes).
WORDS = {
    "zh": {"tier": "≥ 92% → 8 分", "local": "本地新增", "changed": "本地修改", "analysis": "仅作分析",
           "in_review": "审核中", "approved": "已批准", "active": "已生效", "submitted": "已提交审核",
           "version1": "第 1 版", "unsaved": "未保存的修改", "pct": "按百分数填写", "period": "2020 排名",
           "in_force": f"自 {EFFECTIVE_FROM} 起生效", "simulated": "已模拟测评", "peers": "同组不足 5 人"},
    "en": {"tier": "≥ 92% → 8 points", "local": "local", "changed": "changed", "analysis": "analysis only",
           "in_review": "in review", "approved": "approved", "active": "active", "submitted": "ubmitted",
           "version1": "version 1", "unsaved": "unsaved change", "pct": "percentages", "period": "2020",
           "in_force": f"from {EFFECTIVE_FROM}", "simulated": "imulated", "peers": "fewer than 5 peers"},
}


@pytest.fixture(scope="module")
def loop_app(sqlite_app_factory, tmp_path_factory):
    """A small demo province with the rule library published; two counties of one city without a localization (one
    for each language), a designer of each, and a reviewer of their city. Simulations run in the service's thread."""
    from rulesvc.datagen.demo import DemoConfig, generate_and_load
    from rulesvc.extensions import db
    from rulesvc.persistence.models import Procuratorate
    from rulesvc.services.dictionary import get_dictionary
    from rulesvc.services.governance.library import publish_library
    from rulesvc.services.users import create_user
    from tests.conftest import make_app

    folder = tmp_path_factory.mktemp("designer-loop-e2e")
    setup = sqlite_app_factory(folder)
    with setup.app_context():
        generate_and_load(DemoConfig(seed=7, prosecutors=150, months=2))
        rules_dir = setup.config["RULES_DIR"]
        summary = publish_library(db.session(), rules_dir, get_dictionary(rules_dir),
                                  setup.extensions["rulesvc.simulation_settings"], today=dt.date(2026, 12, 4))
        assert summary.published, summary
        localized = {p.name for p in (Path(rules_dir) / "localizations").iterdir()}
        counties = db.session.scalars(select(Procuratorate).where(Procuratorate.level == "county")
                                      .order_by(Procuratorate.code)).all()
        by_city: dict[int, list[Procuratorate]] = {}
        for c in counties:
            if c.code not in localized and c.parent_id is not None:
                by_city.setdefault(c.parent_id, []).append(c)
        city_id, pair = next((k, v) for k, v in by_city.items() if len(v) >= 2)
        chosen = {}
        for lang, county in zip(("zh", "en"), pair[:2], strict=True):
            create_user(db.session, f"loop_designer_{lang}", PASSWORD, role="designer", procuratorate_id=county.id,
                        display_name=f"{county.name}规则设计人员")
            chosen[lang] = (county.code, county.name)
        city = db.session.get(Procuratorate, city_id)
        create_user(db.session, "loop_reviewer", PASSWORD, role="reviewer", procuratorate_id=city_id,
                    display_name=f"{city.name}审核人员")
        db.session.commit()
        db.session.remove()
        db.engine.dispose()
    app = make_app(setup.config["DATABASE_URL"], folder, REDIS_URL=None)  # runs in the service's thread: no queue
    app.config["E2E_COUNTIES"] = chosen
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


@pytest.fixture(scope="module")
def loop_server(loop_app) -> Iterator[str]:
    with serving(loop_app, "designer-loop-e2e-server") as url:
        yield url


class PageTimes:
    """Server times (``X-Render-Ms``) of the pages (navigations of the main frame), the largest per URL; and of the
    parts a page fetches itself (the live impact, the preview's card, the progress bar), printed apart: the live
    impact's first answer reads the period (seconds) and has its own target (within a second once warm, see
    test_designer_impact_browser.py)."""

    def __init__(self, page: Page) -> None:
        self.ms: dict[str, float] = {}
        self.parts: dict[str, float] = {}
        page.on("response", self.on_response)

    def on_response(self, response: Response) -> None:
        ms = response.headers.get("x-render-ms")
        if ms is None:
            return
        request = response.request
        into = self.ms if request.is_navigation_request() and request.frame.parent_frame is None else self.parts
        into[response.url] = max(float(ms), into.get(response.url, 0.0))


class Shots:
    """Full-page screenshots, numbered in the order the pages were passed through (and a first-screen one when
    asked, for the README's tour)."""

    def __init__(self, page: Page, lang: str) -> None:
        self.page = page
        self.folder = ARTIFACTS / f"loop-{lang}"
        self.folder.mkdir(parents=True, exist_ok=True)
        for old in self.folder.glob("*.png"):
            old.unlink()
        self.n = 0

    def __call__(self, name: str, *, top: bool = False) -> Path:
        page = self.page
        fits_width(page, f"{name} at 1366 px")
        self.n += 1
        path = self.folder / f"{self.n:02d}-{name}.png"
        page.screenshot(path=str(path), full_page=True)
        if top:
            page.screenshot(path=str(self.folder / f"{self.n:02d}-{name}-top.png"), full_page=False)
        return path


def sign_in(page: Page, base: str, username: str, lang: str, first: str = "/admin/schemes/") -> None:
    """Signed in from the login page (the Chinese UI by default); in English, then the navbar's switch."""
    page.context.clear_cookies()
    page.set_viewport_size(VIEWPORT)
    page.goto(f"{base}{first}")
    expect(page).to_have_url(re.compile(r"/admin/login/\?next="))
    page.locator("#username").fill(username)
    page.locator("#password").fill(PASSWORD)
    page.locator("#login-submit").click()
    expect(page).to_have_url(f"{base}{first}")
    if lang == "en":
        page.locator("#lang-en").click()
        expect(page.locator("#lang-en")).to_have_class(re.compile(r"\bactive\b"))
        expect(page).to_have_url(f"{base}{first}")


def _path(url: str) -> str:
    parts = urlsplit(url)
    return parts.path + (f"?{parts.query}" if parts.query else "")


def print_times(tally: PageTimes, who: str) -> dict[str, float]:
    """Every page's server time, printed (page speed is ``bench/bench_admin_pages.py``'s business)."""
    times = {}
    print(f"{who}: the pages' own requests (ms):", {_path(u): round(ms) for u, ms in tally.parts.items()})
    for url, ms in tally.ms.items():
        times[_path(url)] = round(ms, 1)
    print(f"{who}: server-side render times (ms):", times)
    tally.ms.clear()
    tally.parts.clear()
    return times


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_the_whole_loop_localize_preview_simulate_submit_review_activate_score(
        page: Page, loop_server: str, loop_app: Any, lang: str, csp_watch):
    base = loop_server
    w = WORDS[lang]
    county_code, county_name = loop_app.config["E2E_COUNTIES"][lang]
    local = f"SFS-PROSECUTOR-{county_code}"
    edit_url = f"{base}/admin/schemes/{local}/1/edit/"
    version_link = f".breadcrumb a[href$='/admin/schemes/{local}/1/']"  # the version page, from the crumbs
    shot = Shots(page, lang)
    tally = Tally(page)
    times = PageTimes(page)

    # ---- The county designer ------------------------------------------------------------------------------------
    sign_in(page, base, f"loop_designer_{lang}", lang)
    shot("schemes")

    # Localize: one button on the template's card.
    page.locator(f"#scheme-{TEMPLATE} form.localize-form button").click()
    expect(page).to_have_url(edit_url)
    expect(page.locator("h3")).to_contain_text(county_name)
    panel = page.locator("#impact-panel")
    expect(panel.locator("#impact-answer")).to_be_visible(timeout=60_000)  # the draft as saved, on the last period

    # Two weights, typed: the live impact panel answers before anything is saved; then saved with the reason.
    n = _answers(page)
    page.locator("#w-quality").fill("45")
    page.locator("#w-efficiency").fill("25")
    _wait_answer(page, n)
    expect(panel.locator("#impact-unsaved")).to_have_text(w["unsaved"])
    expect(page.locator("#weight-sum")).to_have_text("100")
    page.locator("#reason-weights").fill("本院刑事检察案-件比高于全市平均，本年度把重心放在办案质量上；效率权重相应下调")
    shot("editor-live-impact", top=True)
    page.locator("#save-weights").click()
    expect(page.locator("#saved")).to_be_visible()

    # A threshold, typed as a percentage.
    page.locator("#ind-PLEA_APPLY_RATE a[href$='/indicators/PLEA_APPLY_RATE/']").first.click()
    # The server may still be reading the period for the saved draft's live impact: here only that it comes.
    expect(page).to_have_url(re.compile(r"/edit/indicators/PLEA_APPLY_RATE/$"), timeout=30_000)
    expect(page.locator("#pct-note")).to_contain_text(w["pct"])
    bounds = page.locator('input[name="tier_bound"]')
    expect(bounds.first).to_have_value("90")
    for i, value in enumerate(("92", "88", "85")):
        bounds.nth(i).fill(value)
    page.locator("#reason-indicator").fill("本院上年适用率已达 88.8%，省定档位已无区分度")
    shot("threshold")
    page.locator("#save-indicator").click()
    expect(page.locator("#ind-PLEA_APPLY_RATE")).to_contain_text(w["tier"])

    # Switch an indicator off: one form, one reason.
    hearing = page.locator("#ind-PUBLIC_HEARING_COUNT")
    hearing.locator("details.switch summary").click()
    hearing.locator("#reason-PUBLIC_HEARING_COUNT").fill("听证件数取决于分案，不反映个人努力")
    hearing.locator("details.switch button[type=submit]").click()
    expect(page.locator("#ind-PUBLIC_HEARING_COUNT")).to_contain_text(w["analysis"])

    # A new count from the data dictionary's choices, then a local indicator on it, its formula checked as typed.
    page.locator("#add-metric").click()
    page.locator("#m-name").fill("黑土地保护公益诉讼案件数")
    page.locator("#m-event").select_option("public_interest_case")
    black_soil = page.evaluate("""[...document.querySelectorAll('#m-where option')]
        .filter(o => o.dataset.event === 'public_interest_case' && o.value.includes('black_soil')).map(o => o.value)""")
    assert black_soil, "the dictionary's black-soil condition is offered"
    page.locator("#m-where").select_option(black_soil[0])
    page.locator("#m-agg").select_option("distinct")
    page.locator("#reason-metric").fill("黑土地保护是省、市专项重点")
    shot("new-count")
    page.locator("#save-metric").click()
    expect(page).to_have_url(re.compile(r"/new-indicator/\?metric=local_m1$"))
    page.locator("#name").fill("黑土地保护公益诉讼案件数")
    page.locator("#dimension").select_option("effect")
    expect(page.locator("#formula")).to_have_value("local_m1")  # the new count, put in the formula already
    expect(page.locator("#formula-check .formula-ok")).to_be_visible()
    page.locator("#method").select_option("per_unit")
    page.locator("#p-per_unit-points").fill("1")
    page.locator("#p-per_unit-cap").fill("3")
    page.locator("#reason-indicator").fill("本区地处黑土区，黑土地保护列为专项重点")
    shot("local-indicator")
    page.locator("#save-indicator").click()
    expect(page.locator("#ind-LOCAL_1")).to_contain_text(w["local"])
    expect(page.locator("tr.override")).to_have_count(6)  # 2 weights, the tiers, off, the count, the indicator
    expect(page.locator("#checks.text-danger")).to_have_count(0)
    shot("editor-done")
    # The editor's pages, timed while the draft can still be edited (asked again if over: it cannot be once submitted).
    editing_times = print_times(times, f"[{lang}] designer, editing")

    # Preview a prosecutor: the draft beside the version in force.
    page.locator("#preview-link").click()
    expect(page).to_have_url(f"{base}/admin/schemes/{local}/1/preview/")
    expect(page.locator("#preview-answer")).to_be_visible(timeout=60_000)
    expect(page.locator("#preview-indicators")).to_be_visible()
    # An indicator the draft did not touch may still score otherwise: a localization compares a person only with the
    # people it evaluates — said beside the change (the county's groups are under the template's 5 people).
    expect(page.locator("#preview-indicators tr.pv-changed .pv-why").first).to_contain_text(w["peers"])
    shot("preview", top=True)

    # The version page (its workflow card), its simulations, a run: the progress bar, then the report.
    page.locator(version_link).first.click()
    expect(page.locator("#workflow")).to_be_visible()
    page.locator("#simulations-link").click()
    expect(page.locator(f"#period-{PERIOD}")).to_be_checked()
    expect(page.locator("#baseline")).to_have_value("default")
    shot("simulation-launch")
    page.locator("#start-simulation").click()
    expect(page).to_have_url(re.compile(rf"/admin/schemes/{local}/1/simulations/\d+/$"))
    run_url = page.url
    if page.locator("#sim-progress").count():
        shot("simulation-progress")
    expect(page.locator("#run-status")).to_have_attribute("data-status", "succeeded", timeout=180_000)
    for chart in ("chart-histogram", "chart-grades", "chart-matrix", "chart-indicators"):
        expect(page.locator(f"#{chart}")).to_have_attribute("data-drawn", "1")
    expect(page.locator("#grades-table")).to_be_visible()
    shot("simulation-report", top=True)

    # Submit, from the version page, with a change note.
    page.locator(version_link).first.click()
    page.locator("#change_note").fill("本院本地化：质量权重 45、效率 25；认罪认罚适用率档次提高到 92%；公开听证改为仅作分析；"
                                      "新增黑土地保护公益诉讼案件数")
    expect(page.locator("#submit-button")).to_be_enabled()
    shot("submit")
    page.locator("#submit-button").click()
    expect(page.locator(".alert-success")).to_contain_text(w["submitted"])
    expect(page.locator("#version-head .status-badge")).to_have_attribute("data-status", "in_review")
    expect(page.locator("#version-head .status-badge")).to_have_text(w["in_review"])
    expect(page.locator("#approve-button")).to_have_count(0)  # four eyes: not for the one who submitted it
    shot("submitted")

    visits, submissions = list(tally.visits), list(tally.submissions)
    actions = len(visits) + len(submissions)
    print(f"\n[{lang}] the county designer's loop (sign in, localize, preview, simulate, submit): {len(visits)} page"
          f" visits + {len(submissions)} form submissions = {actions} actions")
    print("  visits:", [urlsplit(u).path for u in visits])
    print("  submissions:", [urlsplit(u).path for u in submissions])
    designer_times = {**editing_times, **print_times(times, f"[{lang}] designer, preview to submit")}
    assert actions <= MAX_ACTIONS, (visits, submissions)

    # ---- A different person: the city's reviewer ----------------------------------------------------------------
    sign_in(page, base, "loop_reviewer", lang)
    line = page.locator(f'#inbox-review tr[data-scheme="{local}"]')
    expect(line).to_contain_text(w["simulated"])
    shot("reviewer-inbox", top=True)
    line.locator("a[href$='/diff/']").click()
    expect(page).to_have_url(f"{base}/admin/schemes/{local}/1/diff/")
    quality = page.locator('#diff-weights tr[data-code="quality"]')
    expect(quality.locator(".diff-new")).to_contain_text("45")
    expect(quality).to_contain_text("本院刑事检察案-件比高于全市平均")
    plea = page.locator('#diff-indicators tr[data-code="PLEA_APPLY_RATE"]')
    expect(plea.locator(".diff-new")).to_contain_text(w["tier"])
    expect(plea).to_contain_text("省定档位已无区分度")
    expect(page.locator("#diff-indicators tr[data-code=\"LOCAL_1\"]").first).to_contain_text("黑土地保护")
    assert "scoring.tiers" not in page.content() and "local_m1" not in page.locator("#diff-indicators").inner_text()
    shot("reviewer-diff", top=True)

    # The version in review: its workflow card names the run the approval rests on; the report from there.
    page.goto(f"{base}/admin/schemes/{local}/1/")
    expect(page.locator("#approve-button")).to_be_enabled()
    page.locator("#gate-run").click()  # straight to that run's report (it led to the list: a UI audit)
    expect(page).to_have_url(run_url)
    expect(page.locator("#chart-matrix")).to_have_attribute("data-drawn", "1")
    shot("reviewer-report")
    page.locator(version_link).first.click()
    expect(page).to_have_url(f"{base}/admin/schemes/{local}/1/")
    shot("reviewer-version")
    page.locator("#approve_note").fill("同意：模拟测评结果合理，理由充分")
    page.locator("#approve-button").click()
    expect(page.locator("#version-head .status-badge")).to_have_attribute("data-status", "approved")
    expect(page.locator("#version-head .status-badge")).to_have_text(w["approved"])
    page.locator("#effective_from").fill(EFFECTIVE_FROM)
    shot("reviewer-approved")
    page.locator("#activate-button").click()
    # A date in the past rescores closed periods: asked once more, with a box to tick
    expect(page.locator("#confirm_past")).to_be_visible()
    expect(page.locator('.wf-error[data-field="effective_from"]')).to_contain_text(EFFECTIVE_FROM)
    shot("reviewer-confirm-past", top=True)
    page.locator("#confirm_past").check()
    page.locator("#activate-button").click()
    expect(page.locator(".alert-success")).to_contain_text(w["in_force"])
    expect(page.locator("#version-head .status-badge")).to_have_attribute("data-status", "active")
    expect(page.locator("#version-head .status-badge")).to_have_text(w["active"])
    shot("reviewer-active")

    # ---- 考评结果: the county's prosecutors scored under the new version ------------------------------------------
    page.goto(f"{base}/admin/results/?scheme={local}")
    expect(page.locator("#f-scheme")).to_have_value(local)
    expect(page.locator("#f-period")).to_have_value(PERIOD)
    named = page.locator("h3 + span.text-muted")
    expect(named).to_contain_text(re.compile(re.escape(w["version1"]), re.I))
    expect(named).to_contain_text(county_name)
    rows = page.locator("tr.ranking-row")
    assert rows.count() > 0
    assert set(page.locator("tr.ranking-row td.r-org").all_inner_texts()) == {county_name}
    shot("rankings")
    page.locator("tr.ranking-row a.card-link").first.click()
    expect(page.locator("#provenance")).to_contain_text(local)
    expect(page.locator("#provenance")).to_contain_text("1")
    expect(page.locator('tr.card-indicator[data-code="LOCAL_1"]')).to_be_visible()
    expect(page.locator('tr.card-indicator[data-code="PUBLIC_HEARING_COUNT"]')).to_have_class(re.compile("analysis-only"))
    expect(page.locator("#waterfall")).to_have_attribute("data-drawn", re.compile(r"^\d+$"))
    expect(page.locator("#history")).to_have_attribute("data-drawn", re.compile(r"^\d+$"), timeout=60_000)
    shot("score-card", top=True)
    reviewer_times = print_times(times, f"[{lang}] reviewer and results")

    # Nothing typed was YAML or JSON: the advanced YAML page was never opened.
    assert not any("/yaml/" in u for u in tally.visits + visits), "the YAML page was opened"
    print(f"[{lang}] screenshots: {shot.folder} ({shot.n} pages)")
    assert designer_times and reviewer_times
