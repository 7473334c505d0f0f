"""模拟测评 over HTTP, on SQLite and PostgreSQL: the whole loop (draft → run → report → per-subject results →
why → submit → approve on the run → activate), the gate, reproducibility and exports, permissions and bad
requests, regression scenarios (validation, lock-in, submit refusal, freezing, carried over, exported).

The app here runs simulations in its embedded threads (no ``REDIS_URL``): a second app object on the same
migrated database as the ``app`` fixture (which stays responsible for emptying it). The province is
imported from CSV files through the real import service (:mod:`tests.integration.simhelpers`)."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import openpyxl
import pytest
import yaml

from rulesvc.config import PROJECT_ROOT
from rulesvc.extensions import db
from rulesvc.schema.scheme import read_document
from rulesvc.services.simulation.export import SUBJECT_HEADER
from tests.conftest import make_app
from tests.integration.simhelpers import (
    BASELINE,
    CANDIDATE,
    NOW_PERIOD,
    PEOPLE,
    SCHEME,
    field_codes,
    import_province,
    import_rows,
    make_keys,
    new_draft,
    new_scheme,
    ok,
    publish,
    refused,
    remove_runs,
    scheme_doc,
    simulate,
    v2_against_v1,
    wait_for,
)

XLSX_SHEETS = ("概览", "等次分布", "等次变化", "升降最大", "变动原因", "指标区分度", "档位分布", "公平性", "逐人结果", "回归用例")


@pytest.fixture(scope="module")
def _thread_app(_clean_app, tmp_path_factory):
    """The real app on the ``app`` fixture's database, without Redis: runs execute in its threads."""
    app = make_app(_clean_app.config["DATABASE_URL"], tmp_path_factory.mktemp("sim-thread"), REDIS_URL=None)
    from rulesvc.services.simulation.jobs import ThreadDispatcher

    assert isinstance(app.extensions["rulesvc.simulations"], ThreadDispatcher)
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


def _settle(app, timeout: float = 30.0) -> None:
    """Wait until no run is queued or running (a thread still at work would write after the clean-up)."""
    from sqlalchemy import func, select

    from rulesvc.persistence.models import SimulationRun

    deadline = time.monotonic() + timeout
    while True:
        with app.app_context():
            busy = db.session.scalar(select(func.count()).select_from(SimulationRun).where(
                SimulationRun.status.in_(("queued", "running"))))
            db.session.remove()
        if not busy or time.monotonic() > deadline:
            return
        time.sleep(0.1)


@pytest.fixture
def world(app, _thread_app, tmp_path):
    """The imported province, an API key per role, and a client of the thread-mode app."""
    import_province(_thread_app, tmp_path / "files")
    keys = make_keys(_thread_app)
    yield SimpleNamespace(app=_thread_app, client=_thread_app.test_client(), keys=keys, tmp=tmp_path)
    _settle(_thread_app)
    remove_runs(_thread_app)


@pytest.fixture
def published(world):
    """Version 1 (the baseline parameters) active from 2020-01-01, version 2 (the candidate) a draft."""
    c, k = world.client, world.keys
    v1 = new_scheme(c, k["province"], scheme_doc(**BASELINE))
    publish(c, k, v1["id"], effective_from="2020-01-01")
    v2 = new_draft(c, k["province"], scheme_doc(**CANDIDATE), note="立案数最高档调为 4 件，效果与质量各半")
    world.v1, world.v2 = v1, v2
    return world


def download(c, url: str, headers: dict[str, str]):
    """A streamed download read to the end and closed (the streamed response holds its request context
    until then)."""
    response = c.get(url, headers=headers)
    response.get_data()
    response.close()
    return response


def pages(response) -> dict[str, Any]:
    return json.loads(response.headers["X-Pagination"])


def all_subjects(c, headers, run_id: int, query: str = "") -> list[dict[str, Any]]:
    return ok(c.get(f"/api/v1/simulations/{run_id}/subjects?page_size=500{query}", headers=headers))


# -- the loop ------------------------------------------------------------------------------------------


def test_draft_to_active_through_a_simulation_run(published):
    c, k, v1, v2 = published.client, published.keys, published.v1, published.v2
    asked = simulate(c, k["province"], v2["id"], "2020")
    assert asked["status"] in ("queued", "running", "succeeded") and asked["candidate"]["version_id"] == v2["id"]
    assert asked["baseline"]["version_id"] == v1["id"] and asked["baseline_choice"] == "default"
    assert asked["periods"] == ["2020"] and len(asked["datasets"]) == 1 and asked["retryable"] is False
    run = wait_for(c, k["province"], asked["id"])
    assert run["status"] == "succeeded", run
    assert run["progress"]["percent"] == 100 and run["attempts"] == 1 and run["error"] is None
    assert run["subjects"] == len(PEOPLE) and len(run["result_hash"]) == 64
    assert run["candidate"]["content_hash"] != run["baseline"]["content_hash"]
    for when in ("created_at", "started_at", "finished_at"):  # UTC, saying so (SQLite stores naive times)
        assert dt.datetime.fromisoformat(run[when]).utcoffset() == dt.timedelta(0), (when, run[when])

    (period,) = run["report"]["periods"]
    assert period["period"] == "2020"
    sides = period["overview"]["sides"]
    assert sides["candidate"]["count"] == sides["baseline"]["count"] == 9  # P10 did nothing: not graded
    assert sides["candidate"]["not_graded"] == 1
    assert {i["code"] for i in period["indicators"]} == {"FIL", "RES"}

    # The list shows it; filters by scheme, version and status.
    listed = ok(c.get(f"/api/v1/simulations?scheme={SCHEME}&version_id={v2['id']}&status=succeeded",
                      headers=k["province"]))
    assert [r["id"] for r in listed] == [run["id"]]

    # Per-subject results: sorted, paged, filtered.
    everyone = all_subjects(c, k["province"], run["id"], "&sort=delta_total&order=desc")
    assert len(everyone) == len(PEOPLE)
    deltas = [r["delta_total"] for r in everyone if r["delta_total"] is not None]
    assert deltas == sorted(deltas, reverse=True) and everyone[-1]["code"] == "P10"  # nulls last
    first = c.get(f"/api/v1/simulations/{run['id']}/subjects?sort=delta_total&order=desc&page_size=4",
                  headers=k["province"])
    second = c.get(f"/api/v1/simulations/{run['id']}/subjects?sort=delta_total&order=desc&page_size=4&page=2",
                   headers=k["province"])
    assert pages(first)["total"] == len(PEOPLE) and pages(first)["total_pages"] == 3
    assert [r["code"] for r in ok(first) + ok(second)] == [r["code"] for r in everyone[:8]]
    by_code = all_subjects(c, k["province"], run["id"], "&sort=code&order=asc")
    assert [r["code"] for r in by_code] == sorted(PEOPLE)
    ranks = all_subjects(c, k["province"], run["id"], "&sort=rank_c&order=asc")
    assert [r["candidate"]["rank"] for r in ranks if r["candidate"]["rank"] is not None] == sorted(
        r["candidate"]["rank"] for r in everyone if r["candidate"]["rank"] is not None)
    moved = all_subjects(c, k["province"], run["id"], "&changed=true")
    assert moved and {r["code"] for r in moved} == {r["code"] for r in everyone if r["grade_move"]}
    assert [r["code"] for r in all_subjects(c, k["province"], run["id"], "&q=P07")] == ["P07"]
    assert {r["code"] for r in all_subjects(c, k["province"], run["id"], "&q=检察官0")} == set(PEOPLE) - {"P10"}
    # what is typed is looked for as it is: "_" and "%" are not wildcards (q=_ matched everyone — audit finding)
    assert all_subjects(c, k["province"], run["id"], "&q=_") == all_subjects(c, k["province"], run["id"], "&q=%25") == []

    # Why each moved: the items add up to the change of total.
    for row in everyone:
        why = ok(c.get(f"/api/v1/simulations/{run['id']}/subjects/{row['code']}/why", headers=k["province"]))
        assert why["code"] == row["code"] and why["delta_total"] == row["delta_total"]
        if row["delta_total"] is not None:
            assert sum(i["delta"] for i in why["items"]) == pytest.approx(row["delta_total"], abs=1e-6), why
        # and each side's grade with its reason (a quota moves grades the items cannot explain)
        for side, reason in (("candidate", why["grade_reason_c"]), ("baseline", why["grade_reason_b"])):
            grade = row[side]["grade"]
            assert (reason is not None and reason.endswith(f"→ {grade}")) if grade else True, (side, why)
    top = ok(c.get(f"/api/v1/simulations/{run['id']}/subjects/{everyone[0]['code']}/why", headers=k["province"]))
    assert abs(top["items"][0]["delta"]) >= abs(top["items"][-1]["delta"])
    refused(c.get(f"/api/v1/simulations/{run['id']}/subjects/NOBODY/why", headers=k["province"]), 404)
    refused(c.get(f"/api/v1/simulations/{run['id']}/subjects?period=2020-07", headers=k["province"]), 422)

    # Submit, approve on that run (found by its content), activate.
    assert ok(c.post(f"/api/v1/versions/{v2['id']}/submit", headers=k["province"], json={}))["status"] == "in_review"
    approved = ok(c.post(f"/api/v1/versions/{v2['id']}/approve", headers=k["reviewer"], json={"note": "升档合理"}))
    assert approved["status"] == "approved"
    assert approved["simulation"]["run_id"] == run["id"] and approved["simulation"]["result_hash"] == run["result_hash"]
    assert approved["simulation"]["content_hash"] == run["candidate"]["content_hash"]
    active = ok(c.post(f"/api/v1/versions/{v2['id']}/activate", headers=k["reviewer"],
                       json={"effective_from": "2021-01-01", "confirm_retroactive": True}))
    assert active["status"] == "active" and active["effective_from"] == "2021-01-01"
    # The run now names the candidate as it is.
    assert ok(c.get(f"/api/v1/simulations/{run['id']}", headers=k["province"]))["candidate"]["status"] == "active"


def test_approval_needs_a_succeeded_run_of_exactly_this_content_whose_scenarios_pass(published):
    c, k, v1, v2 = published.client, published.keys, published.v1, published.v2
    ok(c.post(f"/api/v1/versions/{v2['id']}/submit", headers=k["province"], json={}))
    # No run of this content at all.
    body = refused(c.post(f"/api/v1/versions/{v2['id']}/approve", headers=k["reviewer"], json={}), 409,
                   "version.simulation_required")
    assert field_codes(body, "simulation") == ["version.simulation_required"]
    # A run of other content (version 1's publication run).
    (v1_run,) = ok(c.get(f"/api/v1/simulations?version_id={v1['id']}", headers=k["province"]))
    assert v1_run["status"] == "succeeded" and v1_run["candidate"]["version_id"] == v1["id"]
    refused(c.post(f"/api/v1/versions/{v2['id']}/approve", headers=k["reviewer"],
                   json={"simulation_id": v1_run["id"]}), 409, "version.simulation_other_content")
    refused(c.post(f"/api/v1/versions/{v2['id']}/simulation", headers=k["province"],
                   json={"simulation_id": v1_run["id"]}), 409, "version.simulation_other_content")
    refused(c.post(f"/api/v1/versions/{v2['id']}/approve", headers=k["reviewer"], json={"simulation_id": 99999}),
            404)
    assert ok(c.get(f"/api/v1/versions/{v2['id']}", headers=k["province"]))["status"] == "in_review"

    # Version 3 carries a scenario on 2020 (it passes at submit); a run on July only does not cover it.
    v3 = new_draft(c, k["province"], scheme_doc(**{**CANDIDATE, "top_tier": 6}), note="最高档 6 件")
    scenario = {"subject": "P01", "period": "2020", "expected": {"grade": "优秀"}}
    v3 = ok(c.put(f"/api/v1/versions/{v3['id']}/scenarios", headers=k["province"],
                  json={"lock_version": v3["lock_version"], "scenarios": [scenario]}))
    ok(c.post(f"/api/v1/versions/{v3['id']}/submit", headers=k["province"], json={}))
    july = wait_for(c, k["province"], simulate(c, k["province"], v3["id"], "2020-07")["id"])
    assert july["status"] == "succeeded" and july["scenarios"]["passed"] is False
    assert july["scenarios"]["results"][0]["reason"] == "not_covered"
    body = refused(c.post(f"/api/v1/versions/{v3['id']}/approve", headers=k["reviewer"],
                          json={"simulation_id": july["id"]}), 409, "version.scenarios_failed")
    assert list(body["errors"]) == ["scenarios[0]"] and "P01" in body["errors"]["scenarios[0]"][0]
    refused(c.post(f"/api/v1/versions/{v3['id']}/approve", headers=k["reviewer"], json={}), 409,
            "version.scenarios_failed")  # the newest run of the content is that one
    # A run on the year covers it: approval goes through on it.
    year = wait_for(c, k["province"], simulate(c, k["province"], v3["id"], "2020")["id"])
    assert year["status"] == "succeeded" and year["scenarios"]["passed"] is True
    attached = ok(c.post(f"/api/v1/versions/{v3['id']}/simulation", headers=k["province"],
                         json={"simulation_id": year["id"]}))
    assert attached["simulation"]["run_id"] == year["id"]
    assert attached["simulation"]["scenarios"] == {"count": 1, "passed": 1}
    approved = ok(c.post(f"/api/v1/versions/{v3['id']}/approve", headers=k["reviewer"], json={}))
    assert approved["status"] == "approved" and approved["simulation"]["run_id"] == year["id"]


# -- reproducibility and exports --------------------------------------------------------------------------


def test_the_same_request_returns_the_same_run_and_the_same_content_gives_the_same_run(published):
    c, k, v1, v2 = published.client, published.keys, published.v1, published.v2
    run = wait_for(c, k["province"], simulate(c, k["province"], v2["id"], "2020")["id"])
    again = simulate(c, k["province"], v2["id"], ["2020"], expect=200)
    assert again["id"] == run["id"] and again["run_hash"] == run["run_hash"] and again["status"] == "succeeded"
    # The default baseline named explicitly is the same input: the same run.
    assert simulate(c, k["province"], v2["id"], "2020", baseline=v1["id"], expect=200)["id"] == run["id"]
    # Another draft of identical content: same candidate hash, same run.
    twin = new_draft(c, k["province"], scheme_doc(**CANDIDATE), note="同样的内容")
    same = simulate(c, k["province"], twin["id"], "2020", expect=200)
    assert same["id"] == run["id"] and same["result_hash"] == run["result_hash"]
    # Different inputs, different runs: another option, no baseline, another period.
    other = simulate(c, k["province"], v2["id"], "2020", options={"top": 3})
    alone = simulate(c, k["province"], v2["id"], "2020", baseline="none")
    july = simulate(c, k["province"], v2["id"], "2020-07")
    assert len({run["id"], other["id"], alone["id"], july["id"]}) == 4
    alone = wait_for(c, k["province"], alone["id"])
    assert alone["baseline"] is None and alone["baseline_choice"] == "none"
    assert alone["report"]["periods"][0]["overview"]["sides"]["baseline"] is None
    # The same events, scored as July or as the year: the same per-subject figures and summary
    # (a year scheme on one month of data), so the result hash is the same although the run is not.
    wait_for(c, k["province"], other["id"])
    july = wait_for(c, k["province"], july["id"])
    assert july["run_hash"] != run["run_hash"]
    assert [r["candidate"] for r in all_subjects(c, k["province"], july["id"], "&sort=code")] == \
        [r["candidate"] for r in all_subjects(c, k["province"], run["id"], "&sort=code")]


def test_a_second_database_with_the_same_inputs_computes_the_same_result_hash(published, other_app, tmp_path):
    """Two independent executions of identical inputs (another database, imported and published the same
    way) give the same run identity and the same result hash."""
    c, k = published.client, published.keys
    run = wait_for(c, k["province"], simulate(c, k["province"], published.v2["id"], "2020")["id"])
    twin = make_app(other_app.config["DATABASE_URL"], tmp_path / "twin", REDIS_URL=None)
    try:
        _, _, theirs = v2_against_v1(twin, tmp_path / "twin-files")
        assert theirs["candidate"]["content_hash"] == run["candidate"]["content_hash"]
        assert theirs["run_hash"] == run["run_hash"]
        assert theirs["result_hash"] == run["result_hash"]
        assert theirs["report"] == run["report"]
    finally:
        _settle(twin)
        remove_runs(twin)
        with twin.app_context():
            db.session.remove()
            db.engine.dispose()


def test_exports_are_byte_identical_spreadsheets_with_chinese_headers_and_numbers(published):
    c, k = published.client, published.keys
    run = wait_for(c, k["province"], simulate(c, k["province"], published.v2["id"], "2020")["id"])
    url = f"/api/v1/simulations/{run['id']}/export"
    first = download(c, f"{url}?format=xlsx", k["readonly"])
    second = download(c, url, k["province"])  # xlsx is the default
    assert first.status_code == second.status_code == 200
    assert first.mimetype == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    assert f"simulation-{run['id']}-{run['result_hash'][:12]}.xlsx" in first.headers["Content-Disposition"]
    assert first.data == second.data and first.data[:2] == b"PK"

    book = openpyxl.load_workbook(io.BytesIO(first.data))
    names = book.sheetnames
    for name in XLSX_SHEETS:
        assert name in names, names
    assert names.index("逐人结果") < names.index("回归用例") == len(names) - 1
    rows = list(book["逐人结果"].iter_rows(values_only=True))
    assert rows[0] == SUBJECT_HEADER
    body = {r[1]: dict(zip(SUBJECT_HEADER, r, strict=True)) for r in rows[1:]}
    assert sorted(body) == sorted(PEOPLE)
    subjects = {r["code"]: r for r in all_subjects(c, k["province"], run["id"])}
    for code, r in body.items():
        api = subjects[code]
        assert r["期间"] == "2020" and r["姓名"] == api["name"]
        if api["delta_total"] is None:
            assert r["候选总分"] is None and r["总分变化"] is None
            continue
        assert isinstance(r["候选总分"], int | float) and isinstance(r["基准名次"], int)
        assert r["候选总分"] == pytest.approx(api["candidate"]["total"])
        assert r["总分变化"] == pytest.approx(api["delta_total"]) and r["候选等次"] == api["candidate"]["grade"]
        assert r["候选参评情况"] == "参加考评"
    assert body["P07"]["检察院"] == "东川市人民检察院" and body["P07"]["条线"] == "民事检察"
    overview = list(book["概览"].iter_rows(values_only=True))
    assert overview[0] == ("期间", "项目", "基准版本", "候选版本", "变化")
    mean = next(r for r in overview if r[1] == "平均分")
    assert all(isinstance(x, float | int) for x in mean[2:]) and mean[4] == pytest.approx(mean[3] - mean[2])
    assert list(book["等次分布"].iter_rows(values_only=True))[0][:3] == ("期间", "等次", "基准人数")
    transitions = list(book["等次变化"].iter_rows(values_only=True))[1:]
    assert sum(r[3] for r in transitions) == 9 and all(isinstance(r[3], int) for r in transitions)
    book.close()

    csv1 = download(c, f"{url}?format=csv", k["province"])
    csv2 = download(c, f"{url}?format=csv", k["province"])
    assert csv1.status_code == 200 and csv1.data == csv2.data and csv1.mimetype == "text/csv"
    assert csv1.data.startswith("\ufeff".encode())
    table = list(csv.reader(io.StringIO(csv1.data.decode("utf-8-sig"))))
    assert tuple(table[0]) == SUBJECT_HEADER and len(table) == 1 + len(PEOPLE)
    assert [r[1] for r in table[1:]] == sorted(PEOPLE)
    refused(c.get(f"{url}?format=pdf", headers=k["province"]), 422)


# -- permissions and bad requests ----------------------------------------------------------------------


def test_read_only_keys_read_counties_see_only_their_own_and_cannot_run_the_province(published):
    c, k, v1, v2 = published.client, published.keys, published.v1, published.v2
    run = wait_for(c, k["province"], simulate(c, k["province"], v2["id"], "2020")["id"])
    # Read-only: reads everything, starts, cancels and locks in nothing.
    assert ok(c.get(f"/api/v1/simulations/{run['id']}", headers=k["readonly"]))["id"] == run["id"]
    assert run["id"] in [r["id"] for r in ok(c.get("/api/v1/simulations", headers=k["readonly"]))]
    ok(c.get(f"/api/v1/simulations/{run['id']}/subjects", headers=k["readonly"]))
    refused(c.post("/api/v1/simulations", headers=k["readonly"],
                   json={"candidate_version_id": v2["id"], "periods": "2020", "options": {"top": 4}}), 403)
    refused(c.post(f"/api/v1/simulations/{run['id']}/cancel", headers=k["readonly"], json={}), 403)
    refused(c.post(f"/api/v1/simulations/{run['id']}/lock-in", headers=k["readonly"], json={"subjects": ["P01"]}), 403)

    # A county localizes the template and simulates its localization (baseline: the template in force).
    loc = ok(c.post(f"/api/v1/versions/{v1['id']}/localize", headers=k["county"], json={
        "procuratorate": "910101", "code": "SIM-910101", "name": "清瑞区方案",
        "overrides": [{"op": "set", "path": "dimensions.quality.weight", "value": 6,
                       "reason": "本院案件质量问题突出，考评重心放在办案质量上"}]}), 201)
    mine = wait_for(c, k["county"], simulate(c, k["county"], loc["id"], "2020")["id"])
    assert mine["status"] == "succeeded" and mine["baseline"]["version_id"] == v1["id"]
    assert mine["subjects"] == sum(1 for org, *_ in PEOPLE.values() if org == "910101")
    # The other county sees neither that run nor anything of it; the county not the province's run.
    for path in (f"/api/v1/simulations/{mine['id']}", f"/api/v1/simulations/{mine['id']}/subjects",
                 f"/api/v1/simulations/{mine['id']}/subjects/P01/why", f"/api/v1/simulations/{mine['id']}/export"):
        refused(download(c, path, k["other_county"]), 404)
    refused(c.post(f"/api/v1/simulations/{mine['id']}/cancel", headers=k["other_county"], json={}), 404)
    assert mine["id"] not in [r["id"] for r in ok(c.get("/api/v1/simulations", headers=k["other_county"]))]
    refused(c.get(f"/api/v1/simulations/{run['id']}", headers=k["county"]), 404)
    assert [r["id"] for r in ok(c.get("/api/v1/simulations", headers=k["county"]))] == [mine["id"]]
    # The province sees the county's run; the county cannot start a run of the provincial template.
    assert ok(c.get(f"/api/v1/simulations/{mine['id']}", headers=k["readonly"]))["id"] == mine["id"]
    refused(c.post("/api/v1/simulations", headers=k["county"],
                   json={"candidate_version_id": v1["id"], "periods": "2020", "options": {"top": 5}}), 403)


def test_bad_requests_say_which_field_is_wrong(published):
    c, k, v2 = published.client, published.keys, published.v2
    province = k["province"]

    def ask(**body: Any):
        return c.post("/api/v1/simulations", headers=province, json={"candidate_version_id": v2["id"], **body})

    refused(c.post("/api/v1/simulations", headers=province,
                   json={"candidate_version_id": 987654, "periods": "2020"}), 404)
    cases = [
        (NOW_PERIOD, "simulation.period_open"),
        ("2020-13", "simulation.period_bad"),
        ("2020-Q5", "simulation.period_bad"),
        ("2018-01..2020-12", "simulation.too_many_periods"),  # a range of more than 24 months: says so
        (["2018-01..2019-12", "2020-01"], "simulation.too_many_periods"),
    ]
    for periods, code in cases:
        body = refused(ask(periods=periods), 422)
        assert field_codes(body, "periods") == [code], (periods, body)
    body = refused(ask(periods=["2020", NOW_PERIOD, "2020-00"]), 422, "simulation.invalid")
    assert field_codes(body, "periods") == ["simulation.period_open", "simulation.period_bad"]
    body = refused(ask(periods=["2019", "2020"]), 422, "simulation.no_data")
    assert field_codes(body, "periods") == ["simulation.no_data"] and "2019" in body["message"]
    body = refused(ask(periods="2020", options={"colour": "red", "top": 0}), 422, "simulation.invalid")
    assert field_codes(body, "options.colour") == ["simulation.option_unknown"]
    assert field_codes(body, "options.top") == ["simulation.option_range"]
    refused(ask(periods="2020", options={"bins": 7.5}), 422)
    refused(ask(periods=[]), 422)
    refused(ask(periods="2020", baseline="latest"), 422)
    body = refused(ask(periods="2020", baseline=987654), 422)
    assert "baseline" in body["errors"]

    # A baseline scoring other subjects (procuratorates).
    doc = read_document((PROJECT_ROOT / "rules" / "schemes" / "province-procuratorate-quality.yaml").read_text("utf-8"),
                        source="province-procuratorate-quality.yaml")
    org = ok(c.post("/api/v1/schemes", headers=province, json={
        "code": "SIM-ORG", "name": "检察院办案质量", "procuratorate": "910000", "subject_kind": "procuratorate",
        "period_kind": "year", "document": {**doc, "code": "SIM-ORG"}}), 201)
    body = refused(ask(periods="2020", baseline=org["id"]), 422, "simulation.invalid")
    assert field_codes(body, "baseline") == ["simulation.baseline_kind"]

    # Nothing of it was written.
    assert [r["candidate"]["version_id"] for r in ok(c.get("/api/v1/simulations", headers=province))] == \
        [published.v1["id"]]

    # Cancelling a finished run: 409.
    run = wait_for(c, province, simulate(c, province, v2["id"], "2020")["id"])
    body = refused(c.post(f"/api/v1/simulations/{run['id']}/cancel", headers=province, json={}), 409,
                   "simulation.finished")
    assert body["errors"]["status"] == ["succeeded"]
    refused(c.get("/api/v1/simulations/987654", headers=province), 404)
    refused(c.get("/api/v1/simulations/987654/subjects", headers=province), 404)


# -- regression scenarios ---------------------------------------------------------------------------------


def test_scenarios_are_validated_locked_in_checked_at_submit_frozen_carried_over_and_exported(published):
    c, k, v2 = published.client, published.keys, published.v2
    province = k["province"]
    url = f"/api/v1/versions/{v2['id']}/scenarios"
    bad = [
        {"subject": "P01", "period": "2020-13", "expected": {"total": 90}},
        {"subject": "P02", "period": "2020", "expected": {}},
        {"subject": "P03", "period": "2020", "expected": {"grade": "优秀"}, "tolerance": -1},
        {"subject": "P04", "period": "2020", "expected": {"total": "many"}, "colour": "red"},
        {"subject": "P05", "period": "2020", "expected": {"grade": "优秀"}},
        {"subject": "P05", "period": "2020", "expected": {"grade": "良好"}},
    ]
    body = refused(c.put(url, headers=province, json={"lock_version": v2["lock_version"], "scenarios": bad}), 422)
    codes = body["field_codes"]
    assert codes["scenarios[0].period"] == ["simulation.period_bad"]
    assert codes["scenarios[1].expected"] == ["scenario.expected"]
    assert codes["scenarios[2].tolerance"] == ["scenario.tolerance"]
    assert codes["scenarios[3].expected.total"] == ["scenario.number"]
    assert codes["scenarios[3].colour"] == ["scenario.unknown_key"]
    assert codes["scenarios[5].subject"] == ["scenario.duplicate"]
    assert not any(f.startswith("scenarios[4]") for f in codes)
    assert ok(c.get(f"/api/v1/versions/{v2['id']}", headers=province))["scenarios"] == []
    refused(c.put(url, headers=province, json={"lock_version": v2["lock_version"] + 5, "scenarios": []}), 409)

    # Lock in a run's results: a named subject and the top riser and faller.
    run = wait_for(c, province, simulate(c, province, v2["id"], "2020")["id"])
    subjects = all_subjects(c, province, run["id"], "&sort=delta_total&order=desc")
    riser = subjects[0]
    faller = min((r for r in subjects if r["delta_total"] is not None), key=lambda r: (r["delta_total"], r["code"]))
    assert riser["delta_total"] > 0 > faller["delta_total"]
    locked = ok(c.post(f"/api/v1/simulations/{run['id']}/lock-in", headers=province,
                       json={"subjects": ["P09"], "movers": 1}))
    by = {s["subject"]: s for s in locked["scenarios"]}
    assert list(by) == ["P09", riser["code"], faller["code"]]
    for code, s in by.items():
        row = next(r for r in subjects if r["code"] == code)
        assert s["period"] == "2020" and s["expected"] == {"total": row["candidate"]["total"],
                                                          "grade": row["candidate"]["grade"]}
        assert f"#{run['id']}" in s["note"]
    refused(c.post(f"/api/v1/simulations/{run['id']}/lock-in", headers=province, json={"subjects": ["NOBODY"]}), 422)
    refused(c.post(f"/api/v1/simulations/{run['id']}/lock-in", headers=province, json={}), 422)

    # A scenario that does not hold: submit refuses, listing it.
    wrong = [*locked["scenarios"], {"subject": "P01", "period": "2020", "expected": {"total": 12.5, "grade": "不合格"},
                                    "note": "故意写错"}]
    current = ok(c.put(url, headers=province, json={"lock_version": locked["lock_version"], "scenarios": wrong}))
    body = refused(c.post(f"/api/v1/versions/{v2['id']}/submit", headers=province, json={}), 409,
                   "version.scenarios_failed")
    assert list(body["errors"]) == ["scenarios[3]"] and "P01" in body["errors"]["scenarios[3]"][0]
    assert ok(c.get(f"/api/v1/versions/{v2['id']}", headers=province))["status"] == "draft"
    # Also when no run covers it (scored at submit): a scenario on July only.
    july = [*locked["scenarios"], {"subject": "P01", "period": "2020-07", "expected": {"grade": "不合格"}}]
    current = ok(c.put(url, headers=province, json={"lock_version": current["lock_version"], "scenarios": july}))
    body = refused(c.post(f"/api/v1/versions/{v2['id']}/submit", headers=province, json={}), 409,
                   "version.scenarios_failed")
    assert list(body["errors"]) == ["scenarios[3]"]

    # Corrected: submit goes through; the scenarios freeze with the content.
    current = ok(c.put(url, headers=province, json={"lock_version": current["lock_version"],
                                                    "scenarios": locked["scenarios"]}))
    assert ok(c.post(f"/api/v1/versions/{v2['id']}/submit", headers=province, json={}))["status"] == "in_review"
    refused(c.put(url, headers=province, json={"lock_version": current["lock_version"] + 1, "scenarios": []}), 409)
    frozen = ok(c.get(f"/api/v1/versions/{v2['id']}", headers=province))
    refused(c.put(url, headers=province, json={"lock_version": frozen["lock_version"], "scenarios": []}), 409)
    refused(c.post(f"/api/v1/simulations/{run['id']}/lock-in", headers=province, json={"subjects": ["P01"]}), 409)
    assert ok(c.get(f"/api/v1/versions/{v2['id']}", headers=province))["scenarios"] == locked["scenarios"]

    approved = ok(c.post(f"/api/v1/versions/{v2['id']}/approve", headers=k["reviewer"], json={}))
    assert approved["simulation"]["scenarios"] == {"count": 3, "passed": 3}
    ok(c.post(f"/api/v1/versions/{v2['id']}/activate", headers=k["reviewer"],
              json={"effective_from": "2021-01-01", "confirm_retroactive": True}))

    # The next draft starts with them.
    v3 = ok(c.post(f"/api/v1/schemes/{SCHEME}/versions", headers=province, json={"from_version": 2}), 201)
    assert v3["scenarios"] == locked["scenarios"]

    # `rules export` writes them with their version.
    out = published.tmp / "export"
    result = published.app.test_cli_runner().invoke(args=["rules", "export", str(out), "--scheme", SCHEME])
    assert result.exit_code == 0, result.output
    folder = out / "schemes" / "910000" / SCHEME
    exported = {p.name: yaml.safe_load(p.read_text("utf-8")) for p in sorted(Path(folder).glob("v*.yaml"))}
    assert set(exported) == {"v0001.yaml", "v0002.yaml", "v0003.yaml"}
    assert exported["v0001.yaml"].get("scenarios") == []
    assert exported["v0002.yaml"].get("scenarios") == locked["scenarios"], "scenarios are not exported"
    assert exported["v0003.yaml"].get("scenarios") == locked["scenarios"]


def test_one_person_has_at_most_four_runs_under_way(published):
    """Found by an audit: one county key queued 40 runs (each option value a new run) and held up every other
    run of the province for minutes. A fifth run of one person while four are queued or running is 429, in
    their language; a run that exists already is still answered (it adds nothing)."""
    from sqlalchemy import select, update

    from rulesvc.persistence.models import SimulationRun

    c, k, v2 = published.client, published.keys, published.v2
    done = wait_for(c, k["province"], simulate(c, k["province"], v2["id"], "2020")["id"])
    runs = [simulate(c, k["province"], v2["id"], "2020", options={"fairness_threshold": 1 + i / 10})["id"]
            for i in range(4)]
    _settle(published.app)
    with published.app.app_context():  # hold the four as if the workers had not reached them yet
        db.session.execute(update(SimulationRun).where(SimulationRun.id.in_(runs)).values(status="queued"))
        db.session.commit()
        assert db.session.scalar(select(SimulationRun.created_by_ref).where(SimulationRun.id == runs[0])).startswith("user:")
    busy = refused(c.post("/api/v1/simulations?lang=en", headers=k["province"], json={
        "candidate_version_id": v2["id"], "periods": ["2020"], "options": {"fairness_threshold": 2.5}}), 429,
        "simulation.too_many_open")
    assert "at most 4 at once" in busy["message"]
    assert simulate(c, k["province"], v2["id"], "2020", expect=200)["id"] == done["id"]  # the same run: answered
    with published.app.app_context():  # as they were (done): the clean-up then finds nothing under way to wait for
        db.session.execute(update(SimulationRun).where(SimulationRun.id.in_(runs)).values(status="succeeded"))
        db.session.commit()


def test_a_county_localization_is_compared_with_its_people_as_the_template_scores_them_now(published):
    """Found by a designer's first day: a county's simulation scored the template in force among the county's
    own people (their peers and quota places), not as it scores them now — among the whole province — so its
    baseline totals and grades were not those of the official results, and the changes it reported were not
    the changes the county would see."""
    c, k, v1 = published.client, published.keys, published.v1
    # Two honours for P02 (88 → 92): P01 and P02 reach 优秀's 90 — two places among the province's nine graded.
    import_rows(published.app, published.tmp / "honours.csv", [
        ["event_id", "event_type", "procuratorate", "prosecutor", "case_id", "occurred_on", "kind", "level", "title"],
        *([f"R-2020-07-P02-{i}", "honour", "910101", "P02", "", "2020-07-10", "honour", "provincial", "办案能手"]
          for i in (1, 2))])
    loc = ok(c.post(f"/api/v1/versions/{v1['id']}/localize", headers=k["county"], json={
        "procuratorate": "910101", "code": "SIM-910101", "name": "清瑞区方案", "overrides": []}), 201)
    run = wait_for(c, k["county"], simulate(c, k["county"], loc["id"], "2020")["id"])
    assert run["status"] == "succeeded" and run["baseline"]["version_id"] == v1["id"]
    rows = {r["code"]: r for r in all_subjects(c, k["county"], run["id"])}
    assert sorted(rows) == sorted(code for code, (org, *_) in PEOPLE.items() if org == "910101")
    with published.app.app_context():
        from rulesvc.extensions import db
        from rulesvc.services.dictionary import get_dictionary
        from rulesvc.services.evaluation import evaluate
        from rulesvc.services.governance.access import system_actor

        official = {code: evaluate(db.session, system_actor("tests"), get_dictionary(published.app.config["RULES_DIR"]),
                                   subject=code, period="2020", scheme="SIM-PROSECUTOR", trace="none")
                    for code in rows}
        db.session.rollback()
    for code, row in rows.items():
        assert (row["baseline"]["total"], row["baseline"]["grade"]) == (official[code]["total"], official[code]["grade"])
    # The same rules among the county's four alone: one 优秀 place (30 % of 4, rounded down) instead of the
    # province's two of nine — what the localization itself changes, and the report shows it.
    assert all(r["candidate"]["total"] == r["baseline"]["total"] for r in rows.values())
    assert (rows["P02"]["baseline"]["grade"], rows["P02"]["candidate"]["grade"]) == ("优秀", "良好")
    assert rows["P02"]["grade_move"] == -1 and rows["P01"]["grade_move"] == 0
