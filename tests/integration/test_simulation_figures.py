"""The figures of a simulation run, held against the same figures worked out by hand (SQLite and
PostgreSQL).

Ten prosecutors in three procuratorates, with hand-chosen events (:data:`simhelpers.PEOPLE`), imported
through the real import service. The scheme (:func:`simhelpers.scheme_doc`): total = 50 + 50 × the
weighted share of two indicators (+2 per honour, at most 4; capped at 100):

- 监督立案数 (效果): 10 points from ``top_tier`` filings, 6 from 3, else 0;
- 有效息诉率 (质量): 10 points at ≥ 80 % of hearings resolved, else 0; no hearing: not scored, and 效果
  alone carries the weight;
- grades 优秀 ≥ 90 (at most 30 % of those graded, rounded down), 良好 ≥ 80, 合格 ≥ 60, else 不合格;
  someone with no activity at all is scored but not graded.

Version 1 (baseline): top tier at 5 filings, 效果 / 质量 weighed 6 / 4; version 2 (candidate): top tier
at 4, weighed 5 / 5. Everything expected below is computed here in plain Python from ``PEOPLE`` —
never read from the engine — and compared with what the API reports."""

from __future__ import annotations

import math
import statistics
from types import SimpleNamespace
from typing import Any

import pytest

from rulesvc.extensions import db
from tests.conftest import make_app
from tests.integration.simhelpers import (
    BANDS,
    BASELINE,
    BUSINESS_LINE,
    CANDIDATE,
    DEPARTMENT,
    EXCELLENT_QUOTA,
    LEVEL,
    NAMES,
    PEOPLE,
    ok,
    remove_runs,
    v2_against_v1,
)

ORDER = [g for g, _ in BANDS]
GRADED = sorted(code for code, (_, fil, hear, _res, hon) in PEOPLE.items() if fil or hear or hon)
EPS = 1e-9


# -- by hand ---------------------------------------------------------------------------------------------


def fil_points(filings: int, top_tier: int) -> float:
    return 10.0 if filings >= top_tier else 6.0 if filings >= 3 else 0.0


def res_points(hearings: int, resolved: int) -> float | None:
    if hearings == 0:
        return None
    return 10.0 if resolved / hearings >= 0.8 else 0.0


def shares(code: str, params: dict[str, Any]) -> tuple[float, float]:
    """The weight shares of 效果 and 质量 for ``code`` (质量 dropped when there is nothing to score)."""
    _, _, hear, _, _ = PEOPLE[code]
    we, wq = params["effect"], params["quality"]
    if hear == 0:
        return 1.0, 0.0
    return we / (we + wq), wq / (we + wq)


def contributions(code: str, params: dict[str, Any]) -> dict[str, float]:
    _, fil, hear, res, hon = PEOPLE[code]
    se, sq = shares(code, params)
    r = res_points(hear, res)
    out = {"base": 50.0, "FIL": 50 * se * fil_points(fil, params["top_tier"]) / 10,
           "RES": 50 * sq * r / 10 if r is not None else 0.0, "HON": float(min(2 * hon, 4))}
    return out


def total(code: str, params: dict[str, Any]) -> float:
    return min(sum(contributions(code, params).values()), 100.0)


def totals(params: dict[str, Any]) -> dict[str, float]:
    return {code: total(code, params) for code in GRADED}


def grades(params: dict[str, Any]) -> dict[str, str]:
    t = totals(params)
    places = math.floor(EXCELLENT_QUOTA * len(t))
    out = {}
    for code, x in t.items():
        grade = next(g for g, low in BANDS if x >= low - EPS)
        if grade == "优秀" and sum(1 for y in t.values() if y >= x - EPS) > places:
            grade = "良好"  # over the quota: the next band
        out[code] = grade
    return out


def ranks(params: dict[str, Any]) -> dict[str, int]:
    t = totals(params)
    return {code: 1 + sum(1 for y in t.values() if y > x + EPS) for code, x in t.items()}


def line_of(code: str) -> str:
    return BUSINESS_LINE[DEPARTMENT[PEOPLE[code][0]]]


# -- the run ---------------------------------------------------------------------------------------------


@pytest.fixture
def run(app, tmp_path):
    """Version 1 published, version 2 simulated against it on 2020 (default baseline), in thread mode."""
    sim = make_app(app.config["DATABASE_URL"], tmp_path / "instance", REDIS_URL=None)
    try:
        c, keys, done = v2_against_v1(sim, tmp_path / "files")
        rows = ok(c.get(f"/api/v1/simulations/{done['id']}/subjects?sort=code&order=asc&page_size=500",
                        headers=keys["province"]))
        yield SimpleNamespace(client=c, keys=keys, run=done, report=done["report"]["periods"][0],
                              rows={r["code"]: r for r in rows})
    finally:
        remove_runs(sim)
        with sim.app_context():
            db.session.remove()
            db.engine.dispose()


def test_the_hand_computation_is_what_it_claims():
    # Worked once more in the open, so the helpers above are checked too: P02 has 4 filings and 4 of 5
    # hearings resolved. Baseline: 6 points at 60 % of 50 = 18, 10 at 40 % = 20 → 88; candidate: 10 at
    # 50 % = 25 twice → 100.
    assert (total("P02", BASELINE), total("P02", CANDIDATE)) == (88.0, 100.0)
    # P01 is capped: 50 + 30 + 20 + 4 = 104 → 100 on both sides.
    assert total("P01", BASELINE) == total("P01", CANDIDATE) == 100.0
    # P04 had no hearing: 效果 carries all the weight (6 of 10 points of 50 = 30).
    assert total("P04", BASELINE) == total("P04", CANDIDATE) == 80.0
    assert GRADED == [f"P0{i}" for i in range(1, 10)] and math.floor(0.3 * 9) == 2


def test_per_subject_totals_grades_ranks_and_changes(run):
    tb, tc = totals(BASELINE), totals(CANDIDATE)
    gb, gc = grades(BASELINE), grades(CANDIDATE)
    rb, rc = ranks(BASELINE), ranks(CANDIDATE)
    assert set(run.rows) == set(PEOPLE) and run.run["subjects"] == len(PEOPLE)
    for code in GRADED:
        r = run.rows[code]
        org = PEOPLE[code][0]
        assert r["name"] == NAMES[code] and r["line"] == line_of(code) and r["level"] == LEVEL[org]
        assert r["business"] == DEPARTMENT[org]
        assert r["baseline"]["total"] == pytest.approx(tb[code]) and r["candidate"]["total"] == pytest.approx(tc[code])
        assert (r["baseline"]["grade"], r["candidate"]["grade"]) == (gb[code], gc[code]), code
        assert (r["baseline"]["rank"], r["candidate"]["rank"]) == (rb[code], rc[code]), code
        assert r["delta_total"] == pytest.approx(tc[code] - tb[code])
        assert r["delta_rank"] == rb[code] - rc[code]  # positive: up
        assert r["grade_move"] == ORDER.index(gb[code]) - ORDER.index(gc[code])  # positive: a better grade
        assert r["baseline"]["status"] == r["candidate"]["status"] == "evaluated"
    idle = run.rows["P10"]
    assert idle["candidate"]["status"] == idle["baseline"]["status"] == "not_graded"
    assert idle["candidate"]["total"] is None and idle["delta_total"] is None and idle["grade_move"] is None
    # The concrete story: P02 overtakes into 优秀, P03 (5 filings, 3 of 5 resolved) drops to 合格.
    assert (gb["P02"], gc["P02"], gb["P03"], gc["P03"]) == ("良好", "优秀", "良好", "合格")


def test_why_gives_each_indicators_contribution_under_both_versions(run):
    for code in GRADED:
        why = ok(run.client.get(f"/api/v1/simulations/{run.run['id']}/subjects/{code}/why",
                                headers=run.keys["province"]))
        items = {i["code"]: i for i in why["items"]}
        cb, cc = contributions(code, BASELINE), contributions(code, CANDIDATE)
        _, fil, hear, res, hon = PEOPLE[code]
        assert items["FIL"]["points_b"] == fil_points(fil, 5) and items["FIL"]["points_c"] == fil_points(fil, 4)
        scored = ("FIL", "RES") if hear else ("FIL",)
        for name in scored:
            assert items[name]["contrib_b"] == pytest.approx(cb[name]), (code, name)
            assert items[name]["contrib_c"] == pytest.approx(cc[name]), (code, name)
            assert items[name]["delta"] == pytest.approx(cc[name] - cb[name])
        if not hear:  # not scored (missing): no points, no contribution, no change
            res = items["RES"]
            assert (res["points_b"], res["points_c"], res["contrib_b"], res["contrib_c"]) == (None,) * 4
            assert res["delta"] == 0
        if hon:
            assert items["HON"]["contrib_c"] == items["HON"]["contrib_b"] == min(2 * hon, 4)
        assert sum(i["delta"] for i in why["items"]) == pytest.approx(total(code, CANDIDATE) - total(code, BASELINE))
        assert [abs(i["delta"]) for i in why["items"]] == sorted((abs(i["delta"]) for i in why["items"]), reverse=True)


def test_overview_grade_counts_quota_and_transition_matrix(run):
    ov = run.report["overview"]
    for side, params in (("baseline", BASELINE), ("candidate", CANDIDATE)):
        s = ov["sides"][side]
        t = list(totals(params).values())
        g = grades(params)
        assert s["count"] == len(GRADED) and s["not_graded"] == 1
        assert s["mean"] == pytest.approx(statistics.fmean(t), abs=1e-6)
        assert s["median"] == pytest.approx(statistics.median(t), abs=1e-6)
        assert (s["min"], s["max"]) == (pytest.approx(min(t)), pytest.approx(max(t)))
        assert [x["grade"] for x in s["grades"]] == ORDER
        assert [x["count"] for x in s["grades"]] == [sum(1 for c in GRADED if g[c] == grade) for grade in ORDER]
        (quota,) = s["quota"]
        assert quota["grade"] == "优秀" and quota["places"] == 2
        assert quota["taken"] == sum(1 for c in GRADED if g[c] == "优秀")
        assert quota["reached"] == sum(1 for x in t if x >= 90 - EPS)
    gb, gc = grades(BASELINE), grades(CANDIDATE)
    tr = ov["transitions"]
    assert tr["grades"] == ORDER
    expected = [[sum(1 for c in GRADED if gb[c] == a and gc[c] == b) for b in ORDER] for a in ORDER]
    assert tr["matrix"] == expected
    assert sum(map(sum, expected)) == 9 and expected[1][0] == 1 and expected[1][2] == 1  # P02 up, P03 down
    movers = run.report["movers"]
    delta = {c: total(c, CANDIDATE) - total(c, BASELINE) for c in GRADED}
    assert movers["up"] == sum(1 for d in delta.values() if d > EPS)
    assert movers["down"] == sum(1 for d in delta.values() if d < -EPS)
    assert [m["code"] for m in movers["risers"]] == sorted((c for c in GRADED if delta[c] > EPS),
                                                           key=lambda c: (-delta[c], c))


def test_fairness_group_means_by_line_and_procuratorate(run):
    groupings = {g["by"]: g for g in run.report["fairness"]["groupings"]}
    tb, tc = totals(BASELINE), totals(CANDIDATE)

    def check(group: dict[str, Any], members: list[str]) -> None:
        rest = [c for c in GRADED if c not in members]
        for side, t in (("baseline", tb), ("candidate", tc)):
            mean = statistics.fmean(t[c] for c in members)
            other = statistics.fmean(t[c] for c in rest)
            g = group[side]
            assert g["count"] == len(members)
            assert g["mean"] == pytest.approx(mean, abs=1e-6)
            assert g["diff_from_rest"] == pytest.approx(mean - other, abs=1e-6)
            assert g["flagged"] is (abs(mean - other) > 1.5)
        assert group["delta_mean"] == pytest.approx(statistics.fmean(tc[c] - tb[c] for c in members), abs=1e-6)

    lines = {g["group"]: g for g in groupings["line"]["groups"]}
    assert set(lines) == {"criminal", "civil"}
    for line, group in lines.items():
        check(group, [c for c in GRADED if line_of(c) == line])
    orgs = {g["code"]: g for g in groupings["procuratorate"]["groups"]}
    assert set(orgs) == {"910100", "910101", "910102"}
    for org, group in orgs.items():
        check(group, [c for c in GRADED if PEOPLE[c][0] == org])
    levels = {g["group"]: g for g in groupings["level"]["groups"]}
    for level, group in levels.items():
        check(group, [c for c in GRADED if LEVEL[PEOPLE[c][0]] == level])
