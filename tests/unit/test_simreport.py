"""The simulation report (模拟测评), held against a small province worked out by hand.

Nine graded prosecutors over two lines (刑事 and 民事), one not graded (no activity) and one left out
(非员额). The baseline weighs 效果 / 质量 60 / 40 and puts the top tier of 监督立案数 at 5 filings; the
candidate weighs them 50 / 50 and puts the top tier at 4. Every expected figure below is computed in the
test from the events (``PEOPLE``), never read back from the executor.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import random
from typing import Any

import polars as pl
import pytest
from scenarios import DICT, SUBJECT_SCHEMA, YEAR, filings, person

from rulesvc.engine.bulk import evaluate_bulk
from rulesvc.engine.compile import compile_scheme
from rulesvc.engine.simreport import SUBJECT_SCHEMA as REPORT_SCHEMA
from rulesvc.engine.simreport import Labels, Options, Side, build_report, grade_order, why_moved
from rulesvc.schema.scheme import load_scheme
from rulesvc.services.facts import frame_from_rows

BANDS = [("优秀", 90.0), ("良好", 80.0), ("合格", 60.0), ("不合格", 0.0)]
EXCELLENT_QUOTA = 0.3


def scheme_doc(*, top_tier: int, effect: float, quality: float) -> dict[str, Any]:
    return {
        "code": "sim", "name": "模拟测评测试方案", "subject": "prosecutor", "period": "year",
        "combination": {"method": "weighted", "base": 50, "span": 50, "cap": 100},
        "dimensions": {"effect": {"name": "效果", "weight": effect}, "quality": {"name": "质量", "weight": quality},
                       "conduct": {"name": "纪律", "weight": 0}},
        "metrics": {"filings": {"event": "supervision_action", "where": "action == 'filing'"},
                    "hearings": {"event": "public_hearing"},
                    "resolved": {"event": "public_hearing", "where": "resolved"},
                    "findings": {"event": "disciplinary_finding"}},
        "indicators": {
            "FIL": {"name": "监督立案数", "formula": "filings", "dimension": "effect",
                    "scoring": {"method": "tiers", "tiers": [{"min": top_tier, "points": 10}, {"min": 3, "points": 6}]}},
            "RES": {"name": "有效息诉率", "formula": "resolved / hearings", "dimension": "quality", "unit": "%",
                    "scoring": {"method": "pass_fail", "threshold": 0.8, "points": 10, "missing": "exclude"}},
            "DISC": {"name": "负面事项数", "formula": "findings", "dimension": "conduct", "direction": "lower_better",
                     "scoring": {"method": "pass_fail", "threshold": 0, "points": 5}},
        },
        "adjustments": {"HON": {"name": "荣誉与典型案例", "event": "honour", "points": 2, "cap": 4}},
        "grading": {"bands": [{"grade": g, "min": m, **({"quota": EXCELLENT_QUOTA, "quota_rounding": "floor"}
                                                        if g == "优秀" else {})} for g, m in BANDS]},
        "peer_min_size": 2,
    }


BASELINE = {"top_tier": 5, "effect": 6, "quality": 4}
CANDIDATE = {"top_tier": 4, "effect": 5, "quality": 5}
# id: (business, unit, filings, hearings, resolved, honours)
PEOPLE = {
    1: ("ordinary_crime", 10, 6, 5, 5, 2),
    2: ("ordinary_crime", 10, 4, 5, 4, 0),
    3: ("ordinary_crime", 10, 5, 5, 3, 0),
    4: ("ordinary_crime", 10, 3, 0, 0, 0),
    5: ("ordinary_crime", 11, 2, 1, 1, 1),
    6: ("ordinary_crime", 11, 4, 4, 2, 0),
    7: ("civil", 12, 0, 5, 5, 0),
    8: ("civil", 12, 0, 4, 3, 0),
    9: ("civil", 12, 0, 10, 9, 0),
    10: ("civil", 12, 0, 0, 0, 0),  # no activity: scored, not graded
}
LEVEL = {10: "county", 11: "county", 12: "city"}
LINE = {"ordinary_crime": "criminal", "civil": "civil"}
LABELS = Labels(
    procuratorates={10: ("910101", "甲县人民检察院", "county"), 11: ("910102", "乙县人民检察院", "county"),
                    12: ("910100", "丙市人民检察院", "city")},
    businesses={"ordinary_crime": "普通犯罪检察", "civil": "民事检察"},
    lines={"criminal": "刑事检察", "civil": "民事检察", "administrative": "行政检察", "public_interest": "公益诉讼检察"},
    levels={"province": "省级院", "city": "市级院", "county": "基层院"})


def events(people: dict[int, tuple]) -> list[tuple]:
    rows: list[tuple] = []
    for pid, (_, unit, fil, hear, res, hon) in people.items():
        rows += filings(pid, fil, unit)
        rows += [(f"H{pid}-{i}", "public_hearing", pid, unit, None, dt.date(2020, 5, 1),
                  json.dumps({"subject": "complaint", "resolved": i < res})) for i in range(hear)]
        rows += [(f"R{pid}-{i}", "honour", pid, unit, None, dt.date(2020, 6, 1),
                  json.dumps({"kind": "honour", "level": "provincial", "title": "办案能手"})) for i in range(hon)]
    return rows


def subjects(people: dict[int, tuple]) -> pl.DataFrame:
    rows = []
    for pid, (business, unit, *_) in people.items():
        rows.append({**person(pid, business, unit=unit), "line": LINE[business], "level": LEVEL[unit]})
    rows.append({**person(99, unit=10, status="non_quota"), "level": "county"})  # 非员额: left out
    return pl.DataFrame(rows, schema=SUBJECT_SCHEMA)


def side(params: dict[str, Any], people: dict[int, tuple] = PEOPLE) -> Side:
    compiled = compile_scheme(load_scheme(scheme_doc(**params)), DICT)
    ev = frame_from_rows(events(people), DICT, compiled.event_types)
    bulk = evaluate_bulk(compiled, ev, subjects(people), period=YEAR)
    return Side(compiled, bulk.frame, bulk.left_out)


# -- the same numbers, by hand ------------------------------------------------------------------------------

def fil_points(n: int, top_tier: int) -> float:
    return 10.0 if n >= top_tier else 6.0 if n >= 3 else 0.0


def res_points(hear: int, res: int) -> float | None:
    return None if hear == 0 else (10.0 if res / hear >= 0.8 else 0.0)


def hand_total(pid: int, params: dict[str, Any]) -> float:
    _, _, fil, hear, res, hon = PEOPLE[pid]
    we, wq = params["effect"], params["quality"]
    f, r = fil_points(fil, params["top_tier"]), res_points(hear, res)
    # Dimensions with nothing to score are left out and the others re-weighted (质量 without hearings).
    live = we + (wq if r is not None else 0)
    total = 50 + 50 * (we / live) * f / 10 + (50 * (wq / live) * r / 10 if r is not None else 0) + min(2 * hon, 4)
    return min(total, 100.0)


GRADED = [pid for pid, p in PEOPLE.items() if sum(p[2:5])]  # P10 has no activity


def hand_grades(params: dict[str, Any]) -> dict[int, str]:
    totals = {pid: hand_total(pid, params) for pid in GRADED}
    places = math.floor(EXCELLENT_QUOTA * len(totals))
    out = {}
    for pid, t in totals.items():
        grade = next(g for g, m in BANDS if t >= m - 1e-9)
        if grade == "优秀" and sum(1 for u in totals.values() if u >= t - 1e-9) > places:
            grade = "良好"
        out[pid] = grade
    return out


def hand_ranks(totals: dict[int, float]) -> dict[int, int]:
    return {pid: 1 + sum(1 for u in totals.values() if u > t + 1e-9) for pid, t in totals.items()}


@pytest.fixture(scope="module")
def report():
    return build_report(side(CANDIDATE), side(BASELINE), key="prosecutor_id", labels=LABELS)


def test_the_subjects_table_has_the_hand_computed_totals_grades_and_ranks(report):
    t = report.subjects
    assert list(t.columns) == list(REPORT_SCHEMA) and all(t.schema[c] == d for c, d in REPORT_SCHEMA.items())
    assert t["subject_id"].to_list() == list(range(1, 11))  # 99 is left out on both sides: not a row
    rows = {r["subject_id"]: r for r in t.to_dicts()}
    tc = {pid: hand_total(pid, CANDIDATE) for pid in GRADED}
    tb = {pid: hand_total(pid, BASELINE) for pid in GRADED}
    gc, gb = hand_grades(CANDIDATE), hand_grades(BASELINE)
    rc, rb = hand_ranks(tc), hand_ranks(tb)
    order = [g for g, _ in BANDS]
    for pid in GRADED:
        r = rows[pid]
        assert r["total_c"] == pytest.approx(tc[pid]) and r["total_b"] == pytest.approx(tb[pid])
        assert (r["grade_c"], r["grade_b"]) == (gc[pid], gb[pid])
        assert (r["rank_c"], r["rank_b"]) == (rc[pid], rb[pid])
        assert r["delta_rank"] == rb[pid] - rc[pid]
        assert r["delta_total"] == pytest.approx(tc[pid] - tb[pid])
        assert r["grade_move"] == order.index(gb[pid]) - order.index(gc[pid])
        assert r["status_c"] == r["status_b"] == "evaluated"
        assert r["line"] == LINE[PEOPLE[pid][0]] and r["procuratorate_id"] == PEOPLE[pid][1]
    ten = rows[10]
    assert ten["status_c"] == "not_graded" and ten["total_c"] is None and ten["rank_c"] is None
    assert ten["grade_move"] is None and ten["delta_total"] is None
    assert json.loads(ten["detail_c"])["total"] == pytest.approx(50.0)  # scored all the same
    # Worked out once more, in the open: P2 rises from 88 to 100 and takes the second 优秀 place.
    assert (tb[2], tc[2], gb[2], gc[2]) == (pytest.approx(88), pytest.approx(100), "良好", "优秀")
    assert (tb[3], tc[3], gb[3], gc[3]) == (pytest.approx(80), pytest.approx(75), "良好", "合格")


def test_the_detail_holds_what_the_points_are_checked_against(report):
    d = json.loads(report.subjects.filter(pl.col("subject_id") == 1)["detail_c"][0])
    assert d["base"] == 50 and d["ind"]["FIL"]["branch"] == "tier1" and d["ind"]["FIL"]["pts"] == 10
    assert d["ind"]["FIL"]["max"] == 10 and d["ind"]["FIL"]["name"] == "监督立案数"
    assert d["ind"]["RES"]["pts"] == 10 and d["ind"]["DISC"]["branch"] == "pass"
    assert d["adj"] == {"HON": {"name": "荣誉与典型案例", "n": 2, "pts": 4.0}}
    assert d["raw_total"] == pytest.approx(104) and d["clip"] == pytest.approx(-4) and d["total"] == 100
    four = json.loads(report.subjects.filter(pl.col("subject_id") == 4)["detail_b"][0])
    assert four["ind"]["RES"]["branch"] == "missing" and four["ind"]["RES"]["pts"] is None


def test_overview_transitions_entering_and_quota(report):
    ov = report.summary["overview"]
    gc, gb = hand_grades(CANDIDATE), hand_grades(BASELINE)
    order = [g for g, _ in BANDS]
    tr = ov["transitions"]
    assert tr["grades"] == order  # the bands' order, not the alphabet's
    for i, f in enumerate(order):
        for j, to in enumerate(order):
            assert tr["matrix"][i][j] == sum(1 for p in GRADED if gb[p] == f and gc[p] == to), (f, to)
    entering = {e["grade"]: [s["code"] for s in e["subjects"]] for e in ov["entering"]}
    leaving = {e["grade"]: [s["code"] for s in e["subjects"]] for e in ov["leaving"]}
    assert entering["优秀"] == [f"P{p}" for p in GRADED if gc[p] == "优秀" != gb[p]] == ["P2"]
    assert leaving["良好"] == ["P2", "P3"] and entering["合格"] == ["P3"] and entering["不合格"] == []
    assert ov["entering"][0]["subjects"][0]["org"] == "甲县人民检察院"
    for name, params in (("candidate", CANDIDATE), ("baseline", BASELINE)):
        s = ov["sides"][name]
        totals = [hand_total(p, params) for p in GRADED]
        assert s["count"] == 9 and s["mean"] == pytest.approx(sum(totals) / 9, abs=1e-6)
        assert (s["taking_part"], s["evaluated"], s["not_graded"], s["left_out"]) == (10, 9, 1, 1)
        assert [g["grade"] for g in s["grades"]] == order
        grades = hand_grades(params)
        assert [g["count"] for g in s["grades"]] == [sum(1 for p in GRADED if grades[p] == g) for g in order]
        (q,) = s["quota"]
        assert q["grade"] == "优秀" and q["size"] == 9 and q["places"] == math.floor(0.3 * 9) == 2
        assert q["taken"] == sum(1 for p in GRADED if grades[p] == "优秀")
        assert q["reached"] == sum(1 for t in totals if t >= 90 - 1e-9)
    assert ov["sides"]["baseline"]["quota"][0]["taken"] == 1 and ov["sides"]["candidate"]["quota"][0]["taken"] == 2
    assert ov["compared"] == 9 and -1 <= ov["agreement"]["kendall_tau_b"] <= 1
    assert sum(ov["histogram"]["candidate"]) == sum(ov["histogram"]["baseline"]) == 9


def test_movers_list_the_risers_with_why_they_moved(report):
    mv = report.summary["movers"]
    deltas = {p: hand_total(p, CANDIDATE) - hand_total(p, BASELINE) for p in GRADED}
    up = sorted((p for p in GRADED if deltas[p] > 1e-9), key=lambda p: (-deltas[p], f"P{p}"))
    assert [m["code"] for m in mv["risers"]] == [f"P{p}" for p in up]
    assert [m["code"] for m in mv["fallers"]] == [f"P{p}" for p in GRADED if deltas[p] < -1e-9]
    top = mv["risers"][0]
    assert top["code"] == "P2" and top["grade_b"] == "良好" and top["grade_c"] == "优秀" and top["grade_move"] == 1
    why = {w["code"]: w for w in top["why"]}
    # 监督立案数: 6 of 10 points at 60 % of a span of 50 → 10 of 10 at 50 %; 有效息诉率: 40 % → 50 % of 50.
    assert why["FIL"]["contrib_b"] == pytest.approx(18) and why["FIL"]["contrib_c"] == pytest.approx(25)
    assert why["FIL"]["points_b"] == 6 and why["FIL"]["points_c"] == 10
    assert why["RES"]["delta"] == pytest.approx(5) and [w["code"] for w in top["why"]] == ["FIL", "RES"]
    # Every mover's why adds up to the change of the total (an audit: with more than eight changes it held eight).
    for m in mv["risers"] + mv["fallers"]:
        assert sum(w["delta"] for w in m["why"]) == pytest.approx(m["delta_total"], abs=1e-5)


def test_why_keeps_every_item_that_moved_the_total():
    from rulesvc.engine.simreport import WHY_ITEMS, explaining

    items = [{"kind": "indicator", "code": f"I{i}", "delta": 0.1 * (i + 1)} for i in range(25)]
    assert len(explaining(items, WHY_ITEMS)) == 25 and WHY_ITEMS >= 1000


def test_indicator_discrimination_and_tier_occupancy(report):
    ind = {i["code"]: i for i in report.summary["indicators"]}
    for name, params in (("candidate", CANDIDATE), ("baseline", BASELINE)):
        fil = ind["FIL"][name]
        pts = [fil_points(PEOPLE[p][2], params["top_tier"]) for p in GRADED]
        assert fil["applies"] == 9
        assert fil["full_share"] == pytest.approx(round(pts.count(10) / 9, 6))
        assert fil["zero_share"] == pytest.approx(round(pts.count(0) / 9, 6))
        assert {t["branch"]: t["count"] for t in fil["tiers"]} == {"else": pts.count(0), "tier2": pts.count(6),
                                                                   "tier1": pts.count(10)}
        assert fil["mean"] == pytest.approx(sum(pts) / 9, abs=1e-6)
        res = ind["RES"][name]
        rp = [res_points(*PEOPLE[p][3:5]) for p in GRADED]
        assert res["missing"] == res["excluded"] == rp.count(None) == 1
        assert res["full"] == rp.count(10) and res["zero"] == rp.count(0)
        assert {t["branch"]: t["count"] for t in res["tiers"]} == {"fail": rp.count(0), "pass": rp.count(10)}
        assert res["missing_count"] == 1
        disc = ind["DISC"][name]
        assert disc["flags"] == {"flat": True, "flat_points": 5.0, "flat_share": 1.0, "tiers_never_reached": ["fail"],
                                 "tier_everyone": "pass", "mostly_excluded": False}
        assert res["flags"]["mostly_excluded"] is False  # 1 of 9 left out
        assert not fil["flags"]["flat"] and fil["flags"]["tiers_never_reached"] == []
    assert ind["FIL"]["rule_changed"] is True and ind["DISC"]["rule_changed"] is False
    assert ind["DISC"]["flagged"] == ["flat", "tier_everyone", "tiers_never_reached"]
    assert ind["FIL"]["candidate"]["tiers"][2]["label"].startswith("监督立案数 在“≥ 4")
    assert ind["FIL"]["baseline"]["weight_share"] == 0.6 and ind["FIL"]["candidate"]["weight_share"] == 0.5
    # Δ of the mean contribution: 监督立案数 gives Σ contributions / 9 on each side.
    def contrib(p: int, params: dict[str, Any]) -> float:
        _, _, fil_n, hear, res, _ = PEOPLE[p]
        live = params["effect"] + (params["quality"] if hear else 0)
        return 50 * params["effect"] / live * fil_points(fil_n, params["top_tier"]) / 10
    expected = sum(contrib(p, CANDIDATE) - contrib(p, BASELINE) for p in GRADED) / 9
    assert ind["FIL"]["delta_mean_contrib"] == pytest.approx(expected, abs=1e-5)


def test_fairness_by_line_is_flagged_on_both_sides(report):
    fair = {g["by"]: g for g in report.summary["fairness"]["groupings"]}
    assert set(fair) == {"line", "business", "level", "procuratorate"}
    lines = {g["group"]: g for g in fair["line"]["groups"]}
    for name, params in (("candidate", CANDIDATE), ("baseline", BASELINE)):
        crim = [hand_total(p, params) for p in GRADED if PEOPLE[p][0] == "ordinary_crime"]
        civ = [hand_total(p, params) for p in GRADED if PEOPLE[p][0] == "civil"]
        g = lines["civil"][name]
        assert g["count"] == 3 and g["mean"] == pytest.approx(sum(civ) / 3, abs=1e-6)
        assert g["diff_from_rest"] == pytest.approx(sum(civ) / 3 - sum(crim) / 6, abs=1e-6)
        assert g["flagged"] is (abs(sum(civ) / 3 - sum(crim) / 6) > 1.5) is True
        shares = g["grade_shares"]
        grades = hand_grades(params)
        assert shares["合格"] == pytest.approx(round(sum(1 for p in GRADED if PEOPLE[p][0] == "civil"
                                                      and grades[p] == "合格") / 3, 6))
    assert lines["civil"]["label"] == "民事检察" and lines["civil"]["flagged"] == ["candidate", "baseline"]
    assert lines["civil"]["delta_mean"] == pytest.approx(
        (sum(hand_total(p, CANDIDATE) - hand_total(p, BASELINE) for p in (7, 8, 9))) / 3, abs=1e-6)
    levels = {g["group"]: g for g in fair["level"]["groups"]}
    assert levels["city"]["label"] == "市级院" and levels["city"]["candidate"]["count"] == 3
    units = {g["group"]: g for g in fair["procuratorate"]["groups"]}
    assert units[11]["label"] == "乙县人民检察院" and units[11]["code"] == "910102"
    # A threshold above every gap flags nothing.
    wide = build_report(side(CANDIDATE), side(BASELINE), key="prosecutor_id", labels=LABELS,
                        options=Options(fairness_threshold=50))
    assert all(not g["flagged"] for g in wide.summary["fairness"]["groupings"])


def test_the_summary_is_deterministic_and_plain_json(report):
    again = build_report(side(CANDIDATE), side(BASELINE), key="prosecutor_id", labels=LABELS)
    text = json.dumps(report.summary, sort_keys=True, ensure_ascii=False, allow_nan=False)
    assert text == json.dumps(again.summary, sort_keys=True, ensure_ascii=False, allow_nan=False)
    assert report.subjects.equals(again.subjects)
    assert report.summary["org_level"] is None


def test_without_a_baseline_only_the_candidate_is_reported():
    r = build_report(side(CANDIDATE), None, key="prosecutor_id", labels=LABELS)
    assert r.subjects["total_b"].null_count() == r.subjects.height and r.subjects["grade_move"].null_count() == 10
    assert r.summary["overview"]["sides"]["baseline"] is None and r.summary["overview"]["transitions"] is None
    assert r.summary["movers"]["risers"] == [] and r.summary["indicators"][0]["baseline"] is None
    assert r.summary["overview"]["sides"]["candidate"]["count"] == 9
    json.dumps(r.summary, allow_nan=False)


def test_why_moved_adds_up_to_the_change_of_total_for_every_subject():
    rnd = random.Random(7)
    people = {pid: (rnd.choice(["ordinary_crime", "civil"]), rnd.choice([10, 11, 12]), rnd.randint(0, 8),
                    (h := rnd.randint(0, 6)), rnd.randint(0, h), rnd.randint(0, 3)) for pid in range(1, 161)}
    r = build_report(side(CANDIDATE, people), side(BASELINE, people), key="prosecutor_id", labels=LABELS)
    checked = 0
    for row in r.subjects.iter_rows(named=True):
        dc, db = json.loads(row["detail_c"]), json.loads(row["detail_b"])
        items = why_moved(dc, db)
        assert abs(sum(i["delta"] for i in items) - (dc["total"] - db["total"])) < 1e-9
        assert [abs(i["delta"]) for i in items] == sorted((abs(i["delta"]) for i in items), reverse=True)
        if row["total_c"] is not None and row["total_b"] is not None:
            assert abs(sum(i["delta"] for i in items) - (row["total_c"] - row["total_b"])) < 1e-9
            checked += 1
    assert checked > 100
    assert why_moved(None, None) == []
    only_c = why_moved(r.subjects["detail_c"][0], None)  # JSON text is read too; a side absent counts 0
    assert abs(sum(i["delta"] for i in only_c) - json.loads(r.subjects["detail_c"][0])["total"]) < 1e-9


def test_an_indicator_or_a_subject_in_one_version_only_is_reported_with_the_other_side_null():
    doc = scheme_doc(**CANDIDATE)
    doc["indicators"]["HEAR"] = {"name": "公开听证数", "formula": "hearings", "dimension": "quality",
                                 "scoring": {"method": "per_unit", "points": 1, "cap": 5}}
    doc["participants"] = {"quota_status": ["quota", "non_quota"]}  # 非员额 staff taken too
    compiled = compile_scheme(load_scheme(doc), DICT)
    bulk = evaluate_bulk(compiled, frame_from_rows(events(PEOPLE), DICT, compiled.event_types), subjects(PEOPLE),
                         period=YEAR)
    r = build_report(Side(compiled, bulk.frame, bulk.left_out), side(BASELINE), key="prosecutor_id", labels=LABELS)
    hear = next(i for i in r.summary["indicators"] if i["code"] == "HEAR")
    assert hear["in"] == ["candidate"] and hear["baseline"] is None and hear["delta_mean_contrib"] is None
    hearings = [PEOPLE[p][3] for p in GRADED]
    assert hear["candidate"]["full"] == sum(1 for h in hearings if h >= 5)
    assert {t["branch"]: t["count"] for t in hear["candidate"]["tiers"]} == {
        "none": 0, "per_unit": sum(1 for h in hearings if 0 <= h < 5), "capped": sum(1 for h in hearings if h >= 5)}
    # "none" (below 0 → 0 points) is the catch-all no count falls in: not a tier nobody reaches
    assert hear["candidate"]["flags"]["tiers_never_reached"] == []
    staff = r.subjects.filter(pl.col("subject_id") == 99).row(0, named=True)
    assert (staff["status_c"], staff["status_b"]) == ("not_graded", "excluded")  # no activity / 非员额
    assert staff["detail_b"] is None and why_moved(staff["detail_c"], staff["detail_b"])[0]["kind"] == "base"
    assert r.summary["overview"]["sides"]["candidate"]["left_out"] == 0
    assert r.summary["overview"]["sides"]["baseline"]["left_out_reasons"][0]["code"] == "quota_status"


def test_grade_order_places_a_grade_of_the_baseline_only_after_its_predecessor():
    def with_bands(bands: list[str]) -> Any:
        doc = scheme_doc(**BASELINE)
        doc["grading"] = {"bands": [{"grade": g, "min": 90 - 10 * i} for i, g in enumerate(bands)]}
        return compile_scheme(load_scheme(doc), DICT)

    assert grade_order(with_bands(["优秀", "良好", "合格", "不合格"]),
                       with_bands(["优秀", "良好", "合格", "基本合格", "不合格"])) == \
        ["优秀", "良好", "合格", "基本合格", "不合格"]


# -- procuratorate level: positions and laggards under both versions -----------------------------------------

def org_doc(band: float, bottom_share: float) -> dict[str, Any]:
    return {
        "code": "org", "name": "院级模拟", "subject": "procuratorate", "period": "year", "peer_group": "level",
        "peer_min_size": 2, "combination": {"method": "sum", "base": 0},
        "dimensions": {"quality": {"name": "质量", "weight": 1}},
        "metrics": {"reviewed": {"event": "prosecution_review"},
                    "plea": {"event": "prosecution_review", "where": "plea_leniency"}},
        "indicators": {"plea_rate": {"name": "认罪认罚适用率", "formula": "plea / reviewed", "dimension": "quality",
                                     "unit": "%", "scoring": {"method": "linear", "worst": 0, "best": 1, "points": 100}}},
        "grading": {"bands": [{"grade": "优秀", "min": 85}, {"grade": "合格", "min": 0}]},
        "peers": {"indicators": ["plea_rate"], "band": band, "bottom_share": bottom_share, "group": "level"},
    }


PLEAS = {1: 9, 2: 8, 3: 8, 4: 7, 5: 6, 6: 4}  # of 10 reviewed each; all county-level


def org_side(band: float, bottom_share: float) -> Side:
    compiled = compile_scheme(load_scheme(org_doc(band, bottom_share)), DICT)
    rows = [(f"E{u}-{i}", "prosecution_review", None, u, f"C{u}-{i}", dt.date(2020, 3, 1),
             json.dumps({"suspect_id": f"S{u}-{i}", "decision": "prosecute", "plea_leniency": i < k}))
            for u, k in PLEAS.items() for i in range(10)]
    units = pl.DataFrame({"procuratorate_id": list(PLEAS), "code": [f"9101{u:02d}" for u in PLEAS],
                          "name": [f"第{u}县院" for u in PLEAS], "level": ["county"] * 6, "line": [None] * 6},
                         schema={"procuratorate_id": pl.Int64, "code": pl.Utf8, "name": pl.Utf8, "level": pl.Utf8,
                                 "line": pl.Utf8})
    bulk = evaluate_bulk(compiled, frame_from_rows(rows, DICT, compiled.event_types), units,
                         key="procuratorate_id", period=YEAR)
    return Side(compiled, bulk.frame, bulk.left_out)


def test_org_level_positions_and_laggards_that_change():
    labels = Labels({u: (f"9101{u:02d}", f"第{u}县院", "county") for u in PLEAS}, {}, {}, {"county": "基层院"})
    r = build_report(org_side(0.2, 0.4), org_side(0.05, 0.3), key="procuratorate_id", labels=labels)
    org = r.summary["org_level"]
    avg = sum(PLEAS.values()) / 60

    def position(rate: float, band: float) -> str:
        return "上游" if rate > avg * (1 + band) else "下游" if rate < avg * (1 - band) else "中游"

    expected = {}
    for u, k in PLEAS.items():
        b, c = position(k / 10, 0.05), position(k / 10, 0.2)
        lag_b, lag_c = u in sorted(PLEAS, key=PLEAS.get)[:math.floor(0.3 * 6)], \
            u in sorted(PLEAS, key=PLEAS.get)[:math.floor(0.4 * 6)]
        if b != c or lag_b != lag_c:
            expected[u] = (b, c, lag_b, lag_c)
    assert [ch["subject_id"] for ch in org["changes"]] == sorted(expected) == [2, 3, 5]
    five = next(ch for ch in org["changes"] if ch["subject_id"] == 5)
    assert five["positions"]["plea_rate"] == {"baseline": "下游", "candidate": "中游"}
    assert five["laggard"]["bottom_share"] == {"baseline": False, "candidate": True} and five["name"] == "第5县院"
    assert org["baseline"]["positions"]["plea_rate"] == {p: [position(k / 10, 0.05) for k in PLEAS.values()].count(p)
                                                         for p in ("上游", "中游", "下游")}
    assert org["candidate"]["laggards"] == {"bottom_share": 2}
    fair = r.summary["fairness"]["groupings"]
    assert [g["by"] for g in fair] == ["level"]  # procuratorates: by level only
    assert r.subjects["business_code"].null_count() == 6


def test_an_indicator_left_out_for_most_of_those_it_applies_to_is_flagged():
    """An indicator 不计入 for most people (a peer group too small, no data) scores only a few: the report
    says so, as 清瑞区's caseload comparison among its own 2–3 prosecutors per business would have shown."""
    r = build_report(side(CANDIDATE), side(BASELINE), key="prosecutor_id", labels=LABELS,
                     options=Options(excluded_share=0.1))  # RES: 1 of 9 left out
    ind = {i["code"]: i for i in r.summary["indicators"]}
    assert ind["RES"]["candidate"]["flags"]["mostly_excluded"] is True
    assert "mostly_excluded" in ind["RES"]["flagged"] and "mostly_excluded" not in ind["FIL"]["flagged"]
    from rulesvc.services.designer_simulation import _flags

    assert "多数人不计入" in _flags(ind["RES"]["candidate"], "zh")


def test_an_indicator_added_at_no_points_is_named_beside_the_ones_it_made_count_less():
    """A new indicator of 3 points at which the person scores 0 moves nothing itself, but the rest of its
    dimension now counts for less: 为什么 must name it, not only the unchanged indicators that fell."""
    from rulesvc.engine.simreport import explaining
    from rulesvc.services.designer_simulation import why_rows

    base = {"base": 60.0, "ind": {"A": {"name": "甲", "pts": 2.0, "max": 2.0, "contrib": 10.0}}, "adj": {}, "cap": {}}
    cand = {"base": 60.0, "ind": {"A": {"name": "甲", "pts": 2.0, "max": 2.0, "contrib": 4.0},
                                  "NEW": {"name": "新指标", "pts": 0.0, "max": 3.0, "contrib": 0.0}}, "adj": {}, "cap": {}}
    items = why_moved(cand, base)
    new = next(w for w in items if w["code"] == "NEW")
    assert new["only"] == "candidate" and new["max_c"] == 3.0 and new["delta"] == 0
    assert next(w for w in items if w["code"] == "A")["only"] is None
    assert [w["code"] for w in explaining(items, 8)] == ["A", "NEW"]
    rows = why_rows(items)
    assert [w["code"] for w in rows["items"]] == ["A", "NEW"] and rows["more"] == 0 and rows["total"] == pytest.approx(-6)
    # One that no longer scores is named too; nothing else that did not move is.
    assert [w["code"] for w in explaining(why_moved(base, cand), 8)] == ["A", "NEW"]
    assert explaining(why_moved(base, base), 8) == []
