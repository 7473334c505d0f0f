"""Who is scored, and with whom: the six findings of the correctness review, each on both executors.

1. people not in office (or not in the quota) are not scored, ranked or counted in a quota group or a
   peer statistic; those in office for less than the scheme's share are scored but not graded;
2. a peer group smaller than ``peer_min_size`` is not compared in (the indicator scores as missing);
3. the percentile is the mid-rank one: ties share one value, they do not all go up;
4. quota places are rounded as the band says (default: half up), so a unit of 5 has an 优秀 place;
5. (procuratorate-level laggards: ``test_comparison.py``);
6. a subject without any activity is not graded (or graded knowingly with ``no_activity: score``).

Every scenario is scored by the bulk executor and, subject by subject, by both per-subject deciders
(``differential.compare``), which must agree with it.
"""

from __future__ import annotations

import datetime as dt
import json

import polars as pl
import pytest
from scenarios import DICT, YEAR, filings, person, row, scheme, score

from rulesvc.engine.compile import compile_scheme
from rulesvc.engine.evaluate import evaluate_subject
from rulesvc.engine.participation import participation
from rulesvc.engine.peers import quota_places
from rulesvc.schema.scheme import load_scheme
from rulesvc.services.facts import frame_from_rows

# -- 1. who is evaluated ------------------------------------------------------------------------------------

def test_people_not_in_office_or_not_in_the_quota_are_left_out_with_the_reason():
    six = [person(i) for i in range(1, 7)]
    others = [person(7, since=dt.date(2021, 3, 1)),  # appointed after the period
              person(8, status="exited", until=dt.date(2019, 6, 30)),  # left the quota before it
              person(9, status="non_quota")]  # 非员额: never ranked with the quota prosecutors
    rows = [r for i in range(1, 7) for r in filings(i, i)]
    bulk = score(scheme(), six + others, rows)
    assert sorted(bulk.frame["prosecutor_id"]) == [1, 2, 3, 4, 5, 6]
    reasons = dict(zip(bulk.left_out["prosecutor_id"], bulk.left_out["status_reason"], strict=True))
    assert set(reasons) == {7, 8, 9}
    assert "不在任" in reasons[7] and "2021-03-01" in reasons[7]
    assert "不在任" in reasons[8] and "2019-06-30" in reasons[8]
    assert "非员额" in reasons[9]
    # The quota group is the six: 25 % of 6 rounded down is one 优秀 place (with the two outsiders it
    # was 25 % of 8 = two places, and a second person got 优秀).
    assert bulk.frame.filter(pl.col("grade") == "优秀").height == 1
    assert bulk.peers.totals[10] == tuple(sorted(bulk.frame["total"]))
    # Percentiles among the six only: the lowest is 0, the best 1 (outsiders' zeros lift nobody).
    assert row(bulk, 1)["x__FILINGS_RANK"] == 0.0 and row(bulk, 6)["x__FILINGS_RANK"] == 1.0
    assert row(bulk, 3)["x__FILINGS_RANK"] == pytest.approx(2 / 5)


def test_someone_who_left_the_quota_during_the_period_counts_for_the_days_in_it():
    p = person(1, status="exited", until=dt.date(2020, 9, 30))
    got = participation(load_scheme(scheme()), p, *YEAR)
    assert got.status == "evaluated" and got.days_in_office == 274 and got.office_share == 274 / 366


def test_less_than_half_the_period_in_office_is_scored_but_not_graded_ranked_or_compared():
    six = [person(i) for i in range(1, 7)]
    joiner = person(7, since=dt.date(2020, 9, 1))  # 122 of 366 days
    rows = [r for i in range(1, 8) for r in filings(i, i)]
    bulk = score(scheme(), six + [joiner], rows)
    j = row(bulk, 7)
    assert j["status"] == "not_graded" and "122 天" in j["status_reason"] and "不参加等次评定" in j["status_reason"]
    assert j["grade"] is None and j["rank"] is None and j["total"] > 80  # scored and shown
    assert j["grade_reason"] == j["status_reason"]
    assert len(bulk.peers.totals[10]) == 6  # not in the quota group
    # not in the peer statistic: the six keep 0 … 1; the joiner (7 filings, the most) is placed against them
    assert row(bulk, 6)["x__FILINGS_RANK"] == 1.0 and j["x__FILINGS_RANK"] == 1.0
    stats = bulk.peers.stats[("FILINGS_RANK", None)]
    assert stats.values == (1.0, 2.0, 3.0, 4.0, 5.0, 6.0)


def test_counts_can_be_pro_rated_by_the_time_in_office():
    doc = scheme(participants={"min_office_share": 0.25})
    doc["indicators"]["FILINGS_RANK"]["prorate"] = True
    joiner = person(2, since=dt.date(2020, 7, 1))  # 184 days: 6 filings count as 6 × 366 / 184
    bulk = score(doc, [person(1), joiner], filings(1, 10) + filings(2, 6))
    assert row(bulk, 2)["FILINGS_RANK"] == 6 / (184 / 366) and row(bulk, 1)["FILINGS_RANK"] == 10
    assert row(bulk, 2)["x__FILINGS_RANK"] == 1.0  # 11.93 beats 10: ahead once pro-rated


# -- 2. peer groups too small -------------------------------------------------------------------------------

def test_a_subject_alone_in_its_peer_group_is_not_compared_with_itself():
    doc = scheme(peer_group="business", peer_min_size=5)
    crim = [person(i) for i in range(1, 7)]
    lone = person(7, "public_interest")  # the only public-interest prosecutor
    rows = [r for i in range(1, 8) for r in filings(i, i)]
    bulk = score(doc, [*crim, lone], rows)
    r = row(bulk, 7)
    assert r["x__FILINGS_RANK"] is None and r["branch__FILINGS_RANK"] == "missing"
    assert r["pts__FILINGS_RANK"] is None and r["total"] == 80  # excluded (missing: exclude), not full marks
    compiled = compile_scheme(load_scheme(doc), DICT)
    events = frame_from_rows(filings(7, 7), DICT, compiled.event_types).to_dicts()
    from rulesvc.engine.bulk import subject_of

    card = evaluate_subject(compiled, subject_of(r, "prosecutor_id"), events, period="2020", peers=bulk.peers)
    ind = card.indicator("FILINGS_RANK")
    assert "同组不足 5 人（1 人），不作比较" in ind.note and ind.peer_note.startswith("同组不足 5 人")


def test_an_indicator_can_be_compared_in_its_own_peer_group():
    doc = scheme(peer_group="business", peer_min_size=5)
    doc["indicators"]["FILINGS_RANK"]["peer_group"] = "procuratorate"  # all the unit's prosecutors
    people = [person(i) for i in range(1, 7)] + [person(7, "public_interest")]
    bulk = score(doc, people, [r for i in range(1, 8) for r in filings(i, i)])
    assert row(bulk, 7)["x__FILINGS_RANK"] == 1.0


# -- 3. percentile: ties share the mid-rank -----------------------------------------------------------------

def test_tied_peers_share_the_mid_rank_percentile_and_do_not_all_go_up():
    people = [person(i) for i in range(1, 11)]
    counts = [0, 0, 0, 0, 0, 0, 3, 4, 5, 6]  # six tied at the bottom
    rows = [r for i, n in enumerate(counts, start=1) for r in filings(i, n)]
    bulk = score(scheme(participants={"no_activity": "score"}), people, rows)  # zero filings are still graded
    xs = {r["prosecutor_id"]: r["x__FILINGS_RANK"] for r in bulk.frame.to_dicts()}
    assert {xs[i] for i in range(1, 7)} == {2.5 / 9}  # (0 worse + ½ × 5 others equal) / 9 others — not 5/9
    assert [xs[i] for i in range(7, 11)] == [6 / 9, 7 / 9, 8 / 9, 1.0]


# -- 4. quota rounding --------------------------------------------------------------------------------------

@pytest.mark.parametrize(("rounding", "n", "places"), [
    ("round", 5, 1), ("round", 6, 1), ("round", 3, 0), ("round", 10, 2), ("floor", 6, 0), ("floor", 10, 1),
    ("ceil", 3, 1), ("ceil", 7, 2), ("at_least_one", 3, 1), ("at_least_one", 20, 3), ("at_least_one", 0, 0)])
def test_quota_places_are_rounded_as_the_band_says(rounding, n, places):
    assert quota_places(0.15, n, rounding) == places


def test_a_unit_of_five_gets_an_excellent_place_by_default():
    doc = scheme()
    doc["grading"]["bands"][0] = {"grade": "优秀", "min": 85, "quota": 0.15}  # default rounding: half up
    rows = [r for i in range(1, 6) for r in filings(i, i)]
    bulk = score(doc, [person(i) for i in range(1, 6)], rows)
    assert bulk.frame.filter(pl.col("grade") == "优秀")["prosecutor_id"].to_list() == [5]
    doc["grading"]["bands"][0]["quota_rounding"] = "floor"
    bulk = score(doc, [person(i) for i in range(1, 6)], rows)
    assert bulk.frame.filter(pl.col("grade") == "优秀").height == 0
    assert "向下取整共 0 名" in row(bulk, 5)["grade_reason"]


def test_tied_totals_at_the_quota_boundary_move_down_together_and_the_card_says_so():
    doc = scheme()
    doc["grading"]["bands"][0] = {"grade": "优秀", "min": 85, "quota": 0.2}  # 20 % of 5: one place
    rows = [r for i, n in enumerate([1, 2, 3, 5, 5], start=1) for r in filings(i, n)]
    bulk = score(doc, [person(i) for i in range(1, 6)], rows)
    assert bulk.frame.filter(pl.col("grade") == "优秀").height == 0
    assert "同分者同进同退" in row(bulk, 5)["grade_reason"]


# -- 6. no activity -----------------------------------------------------------------------------------------

def test_a_prosecutor_without_any_activity_is_not_graded_by_default():
    rows = [r for i in range(1, 6) for r in filings(i, i)]
    bulk = score(scheme(), [person(i) for i in range(1, 7)], rows)  # 6 has no event at all
    idle = row(bulk, 6)
    assert idle["status"] == "not_graded" and idle["status_code"] == "no_activity"
    assert idle["grade"] is None and "零办案" in idle["grade_reason"] and idle["total"] == 80
    assert 6 not in set(bulk.frame.filter(pl.col("rank").is_not_null())["prosecutor_id"])


def test_a_scheme_may_grade_subjects_without_activity_knowingly():
    rows = [r for i in range(1, 6) for r in filings(i, i)]
    bulk = score(scheme(participants={"no_activity": "score"}), [person(i) for i in range(1, 7)], rows)
    idle = row(bulk, 6)
    assert idle["status"] == "evaluated" and idle["grade"] == "合格" and idle["total"] == 80


# -- totals that are exact in decimals, and a lower-is-better zero ------------------------------------------

def weighted_doc() -> dict:
    """Base 80 + 20 × (40 / 30 / 30): three dimensions, one count indicator each, 10 points for 10 events."""
    dims = {"q": ("filing", 40), "e": ("withdrawal", 30), "f": ("correction", 30)}
    return {
        "code": "w", "name": "加权", "subject": "prosecutor", "period": "year",
        "combination": {"method": "weighted", "base": 80, "span": 20},
        "dimensions": {d: {"name": d, "weight": w} for d, (_, w) in dims.items()},
        "metrics": {a: {"event": "supervision_action", "where": f"action == '{a}'"} for a, _ in dims.values()},
        "indicators": {f"I_{d}": {"name": d, "formula": a, "dimension": d,
                                  "scoring": {"method": "per_unit", "points": 1, "cap": 10}} for d, (a, _) in dims.items()},
        "grading": {"bands": [{"grade": "优秀", "min": 95, "quota": 0.5}, {"grade": "良好", "min": 90},
                              {"grade": "合格", "min": 80}]},
        "participants": {"no_activity": "score"},
    }


def actions(pid: int, filing: int, withdrawal: int, correction: int) -> list[tuple]:
    out = []
    for action, n in (("filing", filing), ("withdrawal", withdrawal), ("correction", correction)):
        out += [(f"{action[0]}{pid}-{i}", "supervision_action", pid, 10, None, dt.date(2020, 3, 1),
                 json.dumps({"action": action, "adopted": True})) for i in range(n)]
    return out


def test_a_total_that_is_exactly_on_a_grade_line_reaches_it():
    # 80 + 20 × (0.4 × 0.2 + 0.3 × 0.6 + 0.3 × 0.8) = 90 exactly; in floats 89.99999999999999 before rounding.
    bulk = score(weighted_doc(), [person(1), person(2)], actions(1, 2, 6, 8) + actions(2, 1, 1, 1))
    assert row(bulk, 1)["total"] == 90.0 and row(bulk, 1)["grade"] == "良好"
    assert row(bulk, 2)["total"] == 82.0 and row(bulk, 2)["grade"] == "合格"


def test_equal_decimal_totals_tie_for_a_quota_place():
    doc = weighted_doc()
    doc["grading"]["bands"][:2] = [{"grade": "优秀", "min": 90, "quota": 0.34, "quota_rounding": "floor"},  # 1 of 3
                                   {"grade": "良好", "min": 85}]
    bulk = score(doc, [person(1), person(2), person(3)],
                 actions(1, 5, 5, 5) + actions(2, 2, 6, 8) + actions(3, 0, 0, 1))
    assert row(bulk, 1)["total"] == row(bulk, 2)["total"] == 90.0
    assert row(bulk, 1)["grade"] == row(bulk, 2)["grade"] == "良好"  # both move down: one place, two tied
    assert row(bulk, 1)["rank"] == row(bulk, 2)["rank"] == 1


def test_a_lower_is_better_ratio_of_zero_is_the_best_not_missing():
    doc = scheme(peer_min_size=2)
    doc["indicators"]["FILINGS_RANK"] = {
        "name": "退查（越少越好）", "formula": "filings", "dimension": "effect", "direction": "lower_better",
        "scoring": {"method": "ratio_to_avg", "points": 10, "worst": 0.5, "best": 1.5, "missing": "exclude"}}
    counts = [0, 0, 2, 4]  # average 1.5
    bulk = score({**doc, "participants": {"no_activity": "score"}}, [person(i) for i in range(1, 5)],
                 [r for i, n in enumerate(counts, start=1) for r in filings(i, n)])
    assert row(bulk, 1)["pts__FILINGS_RANK"] == 10 and row(bulk, 2)["pts__FILINGS_RANK"] == 10  # 0 is best
    assert row(bulk, 3)["pts__FILINGS_RANK"] == pytest.approx(2.5)  # 1.5 / 2 = 0.75 → (0.75 − 0.5) × 10


def test_a_veto_costs_its_dimensions_share_even_when_the_dimension_had_nothing_to_score():
    """A dimension with nothing to score is left out and the others re-weighted — but a veto that zeroes it
    keeps its weight: a civil prosecutor with a wrongful case must not lose nothing because the vetoed
    dimension holds only criminal indicators (found by an independent audit: the veto was free)."""
    doc = scheme(
        combination={"method": "weighted", "base": 80, "span": 20},
        dimensions={"effect": {"name": "效果", "weight": 60}, "quality": {"name": "质量", "weight": 40}},
        peer_min_size=99)
    doc["indicators"] = {
        "FILINGS": {"name": "监督立案数", "formula": "filings", "dimension": "effect",
                    "scoring": {"method": "tiers", "tiers": [{"min": 2, "points": 10}, {"min": 0, "points": 5}]}},
        "CRIM_FILINGS": {"name": "刑事监督立案数", "formula": "filings", "dimension": "quality", "lines": ["criminal"],
                         "scoring": {"method": "tiers", "tiers": [{"min": 2, "points": 10}, {"min": 0, "points": 5}]}},
    }
    doc["vetoes"] = {"wrongful": {"name": "错案", "event": "disciplinary_finding", "where": "kind == 'wrongful_case'",
                                  "effect": "zero_dimension", "dimension": "quality"}}
    wrongful = [("W2", "disciplinary_finding", 2, 10, None, dt.date(2020, 8, 1),
                 json.dumps({"kind": "wrongful_case", "responsible": True}))]
    people = [person(1, "civil"), person(2, "civil"), person(3), person(4)]
    rows = [r for i in (1, 2, 3, 4) for r in filings(i, 3)] + wrongful
    rows += [("W4", "disciplinary_finding", 4, 10, None, dt.date(2020, 8, 1),
              json.dumps({"kind": "wrongful_case", "responsible": True}))]
    bulk = score(doc, people, rows)  # both executors and both deciders agree on every figure
    clean, vetoed = row(bulk, 1), row(bulk, 2)
    assert clean["total"] == pytest.approx(100.0)  # quality left out for a civil prosecutor: effect is the whole span
    assert vetoed["total"] == pytest.approx(80 + 20 * 0.6)  # quality's 40 % kept and scored 0: the veto costs 8
    assert row(bulk, 3)["total"] == pytest.approx(100.0)
    assert row(bulk, 4)["total"] == pytest.approx(80 + 20 * 0.6)  # a criminal prosecutor loses the same share


def test_a_grade_reason_never_shows_a_total_just_below_a_line_as_the_line():
    """Found by an audit: 89.9966 read "总分 90.00 ≥ 80 → 合格" beside a colleague's "总分 90.00 ≥ 90 → 良好"."""
    from rulesvc.engine.peers import shown_total

    lines = [90.0, 80.0, 60.0, 0.0]
    assert shown_total(89.9966, lines) == "89.997" and shown_total(90.004, lines) == "90.004"  # not the line itself
    assert shown_total(85.456, lines) == "85.46" and shown_total(90.0, lines) == "90.00"
    assert shown_total(89.9999999, lines) == "89.9999999" and shown_total(79.995, lines) == "79.995"
    # Rounded half up on the decimal the total is (an audit: 88.725 read "88.72", its binary double 88.72499…)
    assert shown_total(88.725, lines) == "88.73" and shown_total(88.72499999, lines) == "88.72"
    from rulesvc.services.designer_simulation import Numbers

    assert Numbers("zh").pts(88.725) == "88.73 分" and Numbers("zh").change(88.725, 88.735) == "+0.01 分"
    bulk = score(weighted_doc(), [person(1), person(2)], actions(1, 2, 6, 8) + actions(2, 1, 1, 1))
    assert row(bulk, 1)["grade_reason"].startswith("总分 90.00 ≥ 90 → 良好")


def test_a_named_run_says_its_months_even_when_it_ended_before_the_last_month():
    """An audit: a year's bulletin named a unit with ``streak`` 0 and no months — the run was January to
    November. ``longest_months`` holds the run it is named for (the latest of equally long runs)."""
    import polars as pl

    from rulesvc.services.comparisons import _runs

    months = [f"2020-{m:02d}" for m in range(1, 13)]
    worse = [True, True, False, True, True, True, False, True, True, True, False, False]
    marks = pl.DataFrame({"k": [1] * 12, "month": months, "FIL": worse})
    r = _runs(marks, "k", ["FIL"])[(1, "FIL")]
    assert (r["current"], r["longest"], r["current_months"]) == (0, 3, [])
    assert r["longest_months"] == ["2020-08", "2020-09", "2020-10"]
