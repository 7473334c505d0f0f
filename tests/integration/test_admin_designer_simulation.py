"""The designer's 模拟测评 pages (issue 12, page 8) with the real app, on SQLite and PostgreSQL: a designer starts a
run from the admin UI (the API's ``simulation.ask`` with the app's dispatcher), follows its progress (the htmx
fragment), reads the report — its charts' data, movers and why they moved, indicators, fairness, regression
scenarios — and downloads it as XLSX and CSV; asking again opens the same run; bad input is said beside the field
and starts nothing; a viewer reads but may not start or cancel (403); another county's version is not there (404).

Runs execute in the embedded thread (an app without Redis), and — where Redis answers — as RQ jobs taken by a
real ``rulesvc worker`` process (the fixtures of ``test_simulation_jobs``): cancelled while queued, asked for again,
done by the worker. With Redis configured but down the page says the queue does not answer (503), nothing recorded.
The small province is imported from CSV files through the real import service (``simhelpers``)."""

from __future__ import annotations

import csv
import io
import json
import re
import time
from types import SimpleNamespace
from typing import Any

import openpyxl
import pytest
from sqlalchemy import func, select

from rulesvc.extensions import db
from rulesvc.persistence.models import Procuratorate, SimulationRun
from rulesvc.services.simulation.export import SUBJECT_HEADER
from rulesvc.services.users import create_user
from tests.conftest import make_app
from tests.integration.helpers import rendered_page
from tests.integration.simhelpers import (
    BASELINE,
    CANDIDATE,
    NOW_PERIOD,
    PEOPLE,
    SCHEME,
    import_province,
    make_keys,
    new_draft,
    new_scheme,
    publish,
    remove_runs,
    scheme_doc,
)
from tests.integration.test_admin import csrf_token
from tests.integration.test_simulation_jobs import Worker, closed_port, empty_queue, jobs_redis

pytestmark = pytest.mark.sqlite_only  # the services under these pages run on both databases

PASSWORD = "simulation pages 2026"
USERS = {"sim_designer": ("designer", "910000"), "sim_viewer": ("viewer", "910000"),
         "sim_county": ("designer", "910102")}


def _close(app) -> None:
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


def _settle(app, timeout: float = 30.0) -> None:
    """Wait until no run is queued or running in a thread (one still at work would write after the clean-up)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with app.app_context():
            busy = db.session.scalar(select(func.count()).select_from(SimulationRun).where(
                SimulationRun.status.in_(("queued", "running"))))
            db.session.remove()
        if not busy:
            return
        time.sleep(0.1)


def _world(app, folder) -> SimpleNamespace:
    """The small province, keys and people, version 1 in force from 2020 (published on a real run), version 2 a
    draft; a county scheme of 910101."""
    import_province(app, folder / "files")
    keys = make_keys(app)
    with app.app_context():
        ids = dict(db.session.execute(select(Procuratorate.code, Procuratorate.id)).all())
        for name, (role, org) in USERS.items():
            create_user(db.session, name, PASSWORD, role=role, procuratorate_id=ids[org], display_name=name)
        db.session.commit()
    api = app.test_client()
    v1 = new_scheme(api, keys["province"], scheme_doc(**BASELINE))
    publish(api, keys, v1["id"], effective_from="2020-01-01")
    v2 = new_draft(api, keys["province"], scheme_doc(**CANDIDATE), note="立案数最高档调为 4 件")
    county = new_scheme(api, keys["county"], scheme_doc(**CANDIDATE, code="SIM-COUNTY"), code="SIM-COUNTY",
                        procuratorate="910101")
    return SimpleNamespace(app=app, keys=keys, v1=v1, v2=v2, county=county, base=f"/admin/schemes/{SCHEME}/2/simulations/")


@pytest.fixture
def world(app, tmp_path):
    """A thread-mode app (no Redis) on the ``app`` fixture's database, with the world above."""
    threaded = make_app(app.config["DATABASE_URL"], tmp_path / "instance", REDIS_URL=None)
    yield _world(threaded, tmp_path)
    _settle(threaded)
    remove_runs(threaded)
    _close(threaded)


def signed_in(app, username: str, *, english: bool = False):
    client = app.test_client()
    token = csrf_token(client.get("/admin/login/").get_data(as_text=True))
    answer = client.post("/admin/login/", data={"csrf_token": token, "username": username, "password": PASSWORD})
    assert answer.status_code == 302, answer.get_data(as_text=True)[:500]
    if english:
        client.get("/admin/lang/en/")
    return client


def page(client, url: str, status: int = 200) -> str:
    response = client.get(url)
    assert response.status_code == status, (url, response.status_code, response.get_data(as_text=True)[:1000])
    return response.get_data(as_text=True)


def launch(client, url: str, *, periods: list[str] | None = None, baseline: str = "default"):
    token = csrf_token(page(client, url))
    return client.post(url, data={"csrf_token": token, "baseline": baseline, "periods": periods or ["2020"]})


def run_id_of(response) -> int:
    assert response.status_code == 302, (response.status_code, response.get_data(as_text=True)[:2000])
    found = re.search(r"/simulations/(\d+)/$", response.headers["Location"])
    assert found, response.headers["Location"]
    return int(found.group(1))


def follow(client, base: str, run_id: int, timeout: float = 90.0) -> str:
    """Poll the progress fragment as htmx does until it asks for the page to reload (the run is over)."""
    deadline = time.monotonic() + timeout
    while True:
        response = client.get(f"{base}{run_id}/progress/", headers={"HX-Request": "true"})
        assert response.status_code == 200
        fragment = response.get_data(as_text=True)
        assert 'id="sim-progress"' in fragment and re.search(r'data-percent="\d+"', fragment)
        if response.headers.get("HX-Refresh") == "true":
            assert "hx-trigger" not in fragment  # over: no more polling
            return fragment
        assert 'hx-trigger="every 1s"' in fragment
        assert time.monotonic() < deadline, f"run {run_id} not over after {timeout}s"
        time.sleep(0.1)


def chart_data(html: str) -> dict[str, Any]:
    block = re.search(r'<script type="application/json" id="sim-chart-data" nonce="[^"]+">(.*?)</script>', html, re.S)
    assert block, "no chart data on the page"
    return json.loads(block.group(1))


# -- the loop ---------------------------------------------------------------------------------------------------


def test_a_designer_starts_a_run_follows_it_and_reads_the_report(world):
    client = signed_in(world.app, "sim_designer")
    html = page(client, world.base)
    assert "第 2 版的模拟测评" in html and 'id="launch-form"' in html and 'id="no-runs"' in html
    # The form: this version as candidate; baseline by default the version in force; the last closed period with data.
    assert re.search(r'<option value="default" selected>默认（现行版本）：第 1 版（已生效）</option>', html)
    assert re.search(r'<option value="none"', html)
    assert re.search(r'name="periods" value="2020" id="period-2020" checked', html)
    assert f'value="{NOW_PERIOD}"' not in html  # not over yet: not offered

    run_id = run_id_of(launch(client, world.base))
    follow(client, world.base, run_id)
    url = f"{world.base}{run_id}/"
    html = page(client, url)
    assert 'data-status="succeeded">已完成</span>' in html
    assert re.search(r'id="run-candidate">第 2 版（本版本）</dd>', html)
    assert re.search(r'id="run-baseline">第 1 版<span class="text-muted">（默认：现行版本）</span>', html)
    # What the run compares, in the diff page's words: the two weights and the indicator's top tier (5 → 4).
    changes = html[html.index('id="run-changes"'):html.index("</details>")]
    assert "本次模拟比较的改动" in changes and "第 2 版 相对 第 1 版，共 3 处改动" in changes
    assert re.search(r'<tr class="weight-change" data-code="effect">', changes) and 'data-code="quality"' in changes
    assert re.search(r'<tr class="part-change" data-code="FIL" data-kind="changed">', changes)
    assert f'href="/admin/schemes/{SCHEME}/2/diff/?against={SCHEME}/1"' in changes.replace("%2F", "/")
    assert 'id="run-changes-stale"' not in changes

    # Overview: both versions' totals as histogram series over the same bins, grades as people.
    chart = chart_data(html)
    graded = 9  # P10 did nothing: not graded
    assert sum(chart["histogram"]["baseline"]) == sum(chart["histogram"]["candidate"]) == graded
    assert chart["grades"]["grades"] == ["优秀", "良好", "合格", "不合格"]
    assert sum(chart["grades"]["candidate"]) == sum(chart["grades"]["baseline"]) == graded
    assert "9 人" in html and "分 →" in html  # numbers in words: 人, 分
    # The grade transition matrix: every graded person once, as a chart and as a table.
    assert sum(c[2] for c in chart["matrix"]["cells"]) == graded
    assert 'id="matrix-table"' in html and "等次变化矩阵" in html
    # Indicators: both scored indicators, their points spread as shares that add up to 1.
    assert chart["indicators"]["names"] == ["监督立案数", "有效息诉率"]
    for i in range(2):
        shares = [chart["indicators"]["series"][k][i] for k in ("full", "partial", "zero", "missing")]
        assert abs(sum(shares) - 1) < 1e-3, shares
    assert 'data-code="FIL"' in html and "档次分布" in html and "规则有变化" in html
    # Fairness: by line (criminal and civil) and by procuratorate, means of both versions.
    assert sorted(chart["fairness"]["line"]["labels"]) == ["刑事检察", "民事检察"]
    assert len(chart["fairness"]["procuratorate"]["labels"]) == 3
    assert "公平性" in html and "按业务条线（四大检察）" in html
    assert 'id="chart-fairness-procuratorate"' in html and 'class="small text-muted mb-0 fair-single"' not in html
    # Who takes part, said so that it adds up (a reviewer read 26 graded + 27 + 1 + 1 as 28 people)
    assert re.search(r'id="kpi-graded">.*?参评 \d+ 人（其中不参加等次评定 \d+ 人）；另有不参加考评 \d+ 人', html, re.S)
    # Movers with why they moved (in the report for the first ones).
    assert 'id="movers-risers"' in html and "为什么" in html and "监督立案数" in html
    assert "候选版本下的等次依据：" in html  # why a mover has the grade they have (a veto, a quota)
    # The lowest and highest totals of both versions (an audit: the candidate's only, unlabelled).
    assert re.search(r'id="kpi-sd">.*?最低 [\d.]+ 分 → [\d.]+ 分，最高 [\d.]+ 分 → [\d.]+ 分', html, re.S)
    # Each mover's change is the change of the totals, rounded; the list reads in its order.
    movers = re.findall(r'<tr class="mover".*?<td class="text-right text-nowrap[^"]*">([+−±][\d.]+) 分</td>',
                        html[html.index('id="movers-risers"'):], re.S)
    values = [float(v.replace("−", "-").replace("+", "").replace("±", "")) for v in movers]
    assert values and values == sorted(values, reverse=True)
    # Regression scenarios: none yet, said so.
    assert 'id="no-scenarios"' in html
    # Exports from the page.
    assert f'href="{world.base}{run_id}/export.xlsx"' in html and f'href="{world.base}{run_id}/export.csv"' in html
    # The list shows the run.
    listed = page(client, world.base)
    assert re.search(rf'<tr data-run="{run_id}" data-status="succeeded">', listed) and "已完成" in listed
    for again in (url, world.base):  # asked again, each answers with its server time
        rendered_page(client, again)


def test_why_a_person_moved_is_a_fragment_whose_items_add_up(world):
    client = signed_in(world.app, "sim_designer")
    run_id = run_id_of(launch(client, world.base))
    follow(client, world.base, run_id)
    html = page(client, f"{world.base}{run_id}/")
    code = re.search(r'<tr class="mover" data-code="([^"]+)">', html).group(1)
    fragment = page(client, f"{world.base}{run_id}/why/{code}/?period=2020")
    assert "变动来源" in fragment and "对总分的影响" in fragment
    with world.app.app_context():
        from rulesvc.services.governance.access import system_actor
        from rulesvc.services.simulation import runs

        why = runs.why(db.session, system_actor("tests"), run_id, code, period="2020")
        db.session.remove()
    moved = [w for w in why["items"] if abs(w["delta"]) > 1e-9]
    assert moved and abs(sum(w["delta"] for w in moved) - why["delta_total"]) < 1e-6
    # A grade that moved shows its reason under both (places of a quota move grades the items do not explain)
    if why["baseline"]["grade"] != why["candidate"]["grade"]:
        assert "基准版本下的等次依据" in fragment or "候选版本下的等次依据" in fragment
    else:
        assert "等次依据" not in fragment
    for w in moved:
        assert f'data-code="{w["code"]}"' in fragment and w["name"] in fragment
        # An indicator with the same points that moves the total says why: its dimension's weight (a first day
        # in the UI read "8.00 → 8.00 | −0.40" with no word of the weight change behind it)
        row = re.search(rf'data-code="{w["code"]}">(.*?)</tr>', fragment, re.S).group(1)
        same = w["kind"] == "indicator" and w["points_b"] is not None and w["points_b"] == w["points_c"]
        assert ("得分未变，计入总分变了" in row) == (same and abs(w["delta"]) >= 0.005), w
        if same and abs(w["delta"]) >= 0.005:  # and names the weight that moved (a UI audit: the cause went unnamed)
            dims = {"FIL": "所在维度“效果”的权重 6 → 5", "RES": "所在维度“质量”的权重 4 → 5"}
            assert dims.get(w["code"], "所在维度") in row, row
    # the dimension's weight, said for every indicator of the candidate scored under both
    with world.app.app_context():
        from rulesvc.persistence.models import SimulationRun
        from rulesvc.services import designer_simulation as S

        notes = S.dimension_notes(db.session.get(SimulationRun, run_id), "zh")
        db.session.remove()
    assert notes == {"FIL": "得分未变，计入总分变了：所在维度“效果”的权重 6 → 5。",
                     "RES": "得分未变，计入总分变了：所在维度“质量”的权重 4 → 5。"}, notes
    page(client, f"{world.base}{run_id}/why/NOBODY/", 404)


def test_asking_again_for_the_same_run_opens_the_one_already_there(world):
    client = signed_in(world.app, "sim_designer")
    first = run_id_of(launch(client, world.base))
    follow(client, world.base, first)
    assert run_id_of(launch(client, world.base)) == first
    # Another baseline is another run; "none" shows the candidate alone.
    alone = run_id_of(launch(client, world.base, baseline="none"))
    assert alone != first
    follow(client, world.base, alone)
    html = page(client, f"{world.base}{alone}/")
    assert 'id="run-baseline">无' in html and 'id="movers-risers"' not in html
    assert chart_data(html)["has_baseline"] is False


def test_a_run_of_several_periods_reads_one_period_at_a_time(world):
    client = signed_in(world.app, "sim_designer")
    run_id = run_id_of(launch(client, world.base, periods=["2020", "2020-07"]))
    follow(client, world.base, run_id)
    url = f"{world.base}{run_id}/"
    first = page(client, url)
    assert 'id="period-tabs"' in first and re.search(r'class="nav-link active" href="\?period=2020">2020</a>', first)
    july = page(client, f"{url}?period=2020-07")
    assert re.search(r'class="nav-link active" href="\?period=2020-07">2020-07</a>', july)
    assert 'id="sec-overview"' in july and chart_data(july)["matrix"]
    fragment = page(client, f"{url}why/P01/?period=2020-07")
    assert 'class="why"' in fragment


def runs_recorded(app) -> int:
    with app.app_context():
        try:
            return db.session.scalar(select(func.count()).select_from(SimulationRun)) or 0
        finally:
            db.session.remove()


def test_bad_input_is_said_beside_the_field_and_starts_nothing(world):
    before = runs_recorded(world.app)  # version 1's, which it was approved on
    client = signed_in(world.app, "sim_designer")
    token = csrf_token(page(client, world.base))
    answers = {
        "periods": client.post(world.base, data={"csrf_token": token, "baseline": "default"}),
        "open": client.post(world.base, data={"csrf_token": token, "baseline": "default", "periods": [NOW_PERIOD]}),
        "baseline": client.post(world.base, data={"csrf_token": token, "baseline": str(world.v2["id"]),
                                                  "periods": ["2020"]}),
        "nonsense": client.post(world.base, data={"csrf_token": token, "baseline": "x", "periods": ["2020"]}),
    }
    for name, answer in answers.items():
        html = answer.get_data(as_text=True)
        assert answer.status_code == 422, (name, answer.status_code)
        assert 'id="form-errors"' in html and "未发起测评" in html, name
    assert 'data-field="periods"' in answers["periods"].get_data(as_text=True)
    assert "尚未结束" in answers["open"].get_data(as_text=True)
    assert 'data-field="baseline"' in answers["baseline"].get_data(as_text=True)
    assert 'data-field="baseline"' in answers["nonsense"].get_data(as_text=True)
    assert runs_recorded(world.app) == before


def test_a_viewer_reads_the_report_but_may_not_start_or_cancel(world):
    designer = signed_in(world.app, "sim_designer")
    run_id = run_id_of(launch(designer, world.base))
    follow(designer, world.base, run_id)
    viewer = signed_in(world.app, "sim_viewer")
    html = page(viewer, world.base)
    assert 'id="launch-form"' not in html and f'data-run="{run_id}"' in html
    token = csrf_token(page(viewer, "/admin/schemes/"))
    refused = viewer.post(world.base, data={"csrf_token": token, "baseline": "default", "periods": ["2020"]})
    assert refused.status_code == 403 and 'id="forbidden"' in refused.get_data(as_text=True)
    assert "不能发起或取消" in refused.get_data(as_text=True)
    assert viewer.post(f"{world.base}{run_id}/cancel/", data={"csrf_token": token}).status_code == 403
    report = page(viewer, f"{world.base}{run_id}/")
    assert "等次变化矩阵" in report and 'id="cancel-form"' not in report
    # An export needs read only.
    assert viewer.get(f"{world.base}{run_id}/export.csv").status_code == 200


def test_another_countys_version_and_its_runs_are_not_there(world):
    county = "/admin/schemes/SIM-COUNTY/1/simulations/"
    mine = signed_in(world.app, "sim_designer")  # the province sees the county's draft
    run_id = run_id_of(launch(mine, county))
    follow(mine, county, run_id)
    # One county scored: its 公平性 by procuratorate says there is none to compare with (an empty chart was drawn)
    report = page(mine, f"{county}{run_id}/")
    assert "只有一个检察院参加考评，无可比较的院。" in report and 'id="chart-fairness-procuratorate"' not in report
    other = signed_in(world.app, "sim_county")  # a designer of 910102
    for url in (county, f"{county}{run_id}/", f"{county}{run_id}/progress/", f"{county}{run_id}/export.xlsx",
                f"{county}{run_id}/why/P01/"):
        assert 'id="not-found"' in page(other, url, 404)
    token = csrf_token(page(other, "/admin/schemes/"))
    assert other.post(county, data={"csrf_token": token, "periods": ["2020"]}).status_code == 404
    # A run shown under a version it did not compare is not found either; nor a run that does not exist.
    page(mine, f"{world.base}{run_id}/", 404)
    page(mine, f"{world.base}999999/", 404)
    page(mine, f"{world.base}99999999999/", 404)


def test_a_designer_keeps_results_as_regression_scenarios_from_the_report(world):
    client = signed_in(world.app, "sim_designer")
    run_id = run_id_of(launch(client, world.base))
    follow(client, world.base, run_id)
    url = f"{world.base}{run_id}/"
    html = page(client, url)
    assert 'id="lock-in-form"' in html and 'id="no-scenarios"' in html
    token = csrf_token(html)
    # Nothing named and no movers: said beside the form, nothing kept.
    refused = client.post(f"{url}lock-in/?period=2020", data={"csrf_token": token, "movers": "0", "subjects": ""})
    assert refused.status_code == 422 and 'id="lock-in-errors"' in refused.get_data(as_text=True)
    # The top riser and faller, and P09 by name.
    kept = client.post(f"{url}lock-in/?period=2020", data={"csrf_token": token, "movers": "1", "subjects": "P09"})
    assert kept.status_code == 302 and kept.headers["Location"].endswith("?period=2020#sec-scenarios")
    html = page(client, url)
    assert 'id="no-scenarios"' not in html and "全部通过" in html and "P09" in html
    with world.app.app_context():
        from rulesvc.services.governance import versions
        from rulesvc.services.governance.access import system_actor

        v2 = versions.get_version(db.session, system_actor("tests"), world.v2["id"])
        subjects = {sc["subject"] for sc in v2.scenarios}
        db.session.remove()
    assert "P09" in subjects and 2 <= len(subjects) <= 3
    # A viewer may not; a version this run did not score as candidate has no such form.
    viewer = signed_in(world.app, "sim_viewer")
    assert 'id="lock-in-form"' not in page(viewer, url)
    assert viewer.post(f"{url}lock-in/", data={"csrf_token": csrf_token(page(viewer, url)), "movers": "1"}).status_code == 403


def test_results_of_a_draft_changed_since_the_run_are_not_kept(world):
    client = signed_in(world.app, "sim_designer")
    run_id = run_id_of(launch(client, world.base))
    follow(client, world.base, run_id)
    changed = world.app.test_client().put(f"/api/v1/versions/{world.v2['id']}", headers=world.keys["province"], json={
        "document": scheme_doc(**{**CANDIDATE, "top_tier": 6}), "lock_version": world.v2["lock_version"]})
    assert changed.status_code == 200, changed.get_data(as_text=True)
    url = f"{world.base}{run_id}/"
    html = page(client, url)
    assert 'id="run-changes-stale"' in html and "本次模拟之后草稿又有修改" in html  # the report is of the old content
    answer = client.post(f"{url}lock-in/", data={"csrf_token": csrf_token(html), "movers": "1"})
    assert answer.status_code == 409 and "已在测评后修改" in answer.get_data(as_text=True)


def test_exports_are_a_workbook_and_a_csv_with_chinese_headers(world):
    client = signed_in(world.app, "sim_designer")
    run_id = run_id_of(launch(client, world.base))
    follow(client, world.base, run_id)
    xlsx = client.get(f"{world.base}{run_id}/export.xlsx")
    body = xlsx.get_data()
    xlsx.close()
    assert xlsx.status_code == 200 and xlsx.mimetype.endswith("spreadsheetml.sheet")
    assert xlsx.headers["Content-Disposition"].startswith(f'attachment; filename="simulation-{run_id}-')
    book = openpyxl.load_workbook(io.BytesIO(body), read_only=True)
    for sheet in ("说明", "概览", "等次分布", "等次变化", "升降最大", "指标区分度", "档位分布", "公平性", "逐人结果", "回归用例"):
        assert sheet in book.sheetnames
    rows = list(book["逐人结果"].iter_rows(values_only=True))
    assert rows[0] == SUBJECT_HEADER and len(rows) == 1 + len(PEOPLE)
    # What the candidate changes, for the reviewer who reads the workbook alone: the two weights and the tier.
    changes = list(book["改动"].iter_rows(values_only=True))
    assert changes[0] == ("部分", "名称", "变化", "项目", "修改前", "修改后", "理由") and len(changes) == 1 + 3
    assert {r[0] for r in changes[1:]} == {"维度权重", "指标"} and any(r[1] == "监督立案数" for r in changes[1:])
    info = dict(book["说明"].iter_rows(min_row=2, values_only=True))
    assert info["改动"] == "候选版本相对基准版本共 3 项改动，见“改动”工作表"
    response = client.get(f"{world.base}{run_id}/export.csv")
    text = response.get_data().decode("utf-8-sig")
    response.close()
    assert response.status_code == 200 and response.mimetype == "text/csv"
    table = list(csv.reader(io.StringIO(text)))
    assert tuple(table[0]) == SUBJECT_HEADER and len(table) == 1 + len(PEOPLE)
    page(client, f"{world.base}{run_id}/export.pdf", 404)


def test_the_pages_in_english(world):
    client = signed_in(world.app, "sim_designer", english=True)
    html = page(client, world.base)
    assert "Simulations of version 2" in html and "Default: the version in force (version 1 (active))" in html
    run_id = run_id_of(launch(client, world.base))
    follow(client, world.base, run_id)
    report = page(client, f"{world.base}{run_id}/")
    assert "Grade changes (transition matrix)" in report and ">finished</span>" in report
    # (the tiers' rules are the engine's words, in Chinese like the indicators' names: not checked here)
    for word in ("概览", "等次变化矩阵", "公平性", "基准版本", "候选版本", " 人<", " 分 →", "升降最大"):
        assert word not in report, word
    assert chart_data(report)["lang"] == "en" and chart_data(report)["names"]["baseline"] == "baseline"


# -- server mode: Redis and a real worker -------------------------------------------------------------------------


def test_a_queued_run_is_cancelled_asked_again_and_done_by_a_worker(world, redis_url, tmp_path):
    url = jobs_redis(redis_url)
    empty_queue(url)
    server = make_app(world.app.config["DATABASE_URL"], tmp_path / "server", REDIS_URL=url)
    try:
        client = signed_in(server, "sim_designer")
        run_id = run_id_of(launch(client, world.base))
        html = page(client, f"{world.base}{run_id}/")
        assert 'data-status="queued">排队中</span>' in html and 'id="sim-progress"' in html
        assert 'hx-trigger="every 1s"' in html and 'id="cancel-run"' in html
        assert "vendor/htmx/htmx.min.js" in html and "echarts" not in html
        token = csrf_token(html)
        assert client.post(f"{world.base}{run_id}/cancel/", data={"csrf_token": token}).status_code == 302
        html = page(client, f"{world.base}{run_id}/")
        assert 'data-status="cancelled">已取消</span>' in html and "已按要求取消" in html and 'id="run-again"' in html
        assert 'id="cancel-run"' not in html
        # Asked again from the page: the same run, queued again; a real worker process runs it.
        again = client.post(world.base, data={"csrf_token": token, "baseline": "default", "periods": ["2020"]})
        assert run_id_of(again) == run_id
        assert 'data-status="queued"' in page(client, f"{world.base}{run_id}/")
        worker = Worker(server, url, burst=True)
        output = worker.wait()
        assert worker.proc.returncode == 0, output
        follow(client, world.base, run_id, timeout=10)
        report = page(client, f"{world.base}{run_id}/")
        assert 'data-status="succeeded">已完成</span>' in report and chart_data(report)["matrix"]
    finally:
        _close(server)


def test_when_the_queue_does_not_answer_the_page_says_so_and_records_nothing(world, tmp_path):
    down = make_app(world.app.config["DATABASE_URL"], tmp_path / "down",
                    REDIS_URL=f"redis://127.0.0.1:{closed_port()}/0")
    try:
        before = runs_recorded(down)
        client = signed_in(down, "sim_designer")
        answer = launch(client, world.base)
        html = answer.get_data(as_text=True)
        assert answer.status_code == 503 and 'id="queue-down"' in html and int(answer.headers["Retry-After"]) > 0
        assert "模拟测评队列暂时无法连接" in html and "未记录任何测评" in html
        assert runs_recorded(down) == before
    finally:
        _close(down)
