"""Scheme shapes from the seeds, each scored by both executors (bulk and per subject, both deciders):

- a subject attribute in a formula (Yunnan counts a leader's caseload with a coefficient);
- a weighted count from a lookup table (workload = Σ items × case-type coefficient, 4/3, 2/3 …), exact;
- one veto with several effects (a wrongful case zeroes quality and bars 优秀);
- an indicator for some of the ten businesses, finer than lines;
- accumulated flaw points per case with a threshold (≥ 40 points in one case).
"""

from __future__ import annotations

import datetime as dt
import json
from fractions import Fraction
from typing import Any

import pytest
from scenarios import DICT, person, row, score

from rulesvc.engine.compile import compile_scheme
from rulesvc.engine.errors import DefinitionError
from rulesvc.schema.scheme import load_scheme


def ev(eid: str, etype: str, pid: int, case: str | None = None, **attrs: Any) -> tuple:
    return (eid, etype, pid, 10, case, dt.date(2020, 5, 1), json.dumps(attrs, ensure_ascii=False))


def base(**parts: Any) -> dict[str, Any]:
    return {"code": "s", "name": "形态", "subject": "prosecutor", "period": "year",
            "combination": {"method": "sum", "base": 0}, "dimensions": {"q": {"name": "质量", "weight": 1}},
            "peer_min_size": 2, "participants": {"no_activity": "score"}, **parts}


def test_a_leaders_caseload_counts_with_a_coefficient():
    doc = base(metrics={"cases": {"event": "case_accepted"}},
               indicators={"LOAD": {"name": "办案量", "formula": "cases * if(is_leader, 2.5, 1)", "dimension": "q",
                                    "scoring": {"method": "per_unit", "points": 1, "cap": 100}}})
    leader = {**person(2), "is_leader": True, "leader_title": "副检察长"}
    rows = [ev(f"A{i}", "case_accepted", 1, f"A{i}", suspects=1, category="ordinary") for i in range(10)]
    rows += [ev(f"B{i}", "case_accepted", 2, f"B{i}", suspects=1, category="ordinary") for i in range(4)]
    bulk = score(doc, [person(1), leader], rows)
    assert row(bulk, 1)["LOAD"] == 10 and row(bulk, 2)["LOAD"] == 10  # 4 × 2.5


def test_a_weighted_count_adds_exact_fractions():
    doc = base(metrics={"work": {"name": "工作量", "events": ["civil_supervision", "administrative_supervision"],
                                 "weights": {"by": "kind", "default": "1/3",
                                             "table": {"protest": "4/3", "retrial_rec": "2/3", "trial_rec": "2/3"}}}},
               indicators={"WORK": {"name": "工作量", "formula": "work", "dimension": "q",
                                    "scoring": {"method": "tiers", "tiers": [{"min": 4, "points": 2}]}}})
    kinds = ["protest", "protest", "retrial_rec", "execution_rec"]  # 4/3 + 4/3 + 2/3 + 1/3 (default) = 11/3
    rows = [ev(f"C{i}", "civil_supervision", 1, f"C{i}", kind=k, outcome="adopted") for i, k in enumerate(kinds)]
    rows.append(ev("C9", "administrative_supervision", 1, "C9", kind="trial_rec", outcome="pending"))  # + 2/3
    bulk = score(doc, [person(1), person(2)], rows)
    assert row(bulk, 1)["work"] == float(Fraction(13, 3))  # 13/3 as the nearest double: one rounding, not five
    assert row(bulk, 1)["pts__WORK"] == 2


def test_weights_name_values_of_the_field_and_the_label_is_accepted():
    doc = base(metrics={"work": {"event": "civil_supervision", "weights": {"by": "kind", "table": {"抗诉": 2}}}},
               indicators={"W": {"name": "w", "formula": "work", "dimension": "q",
                                 "scoring": {"method": "per_unit", "points": 1, "cap": 9}}})
    label = next(v for k, v in DICT.event_types["civil_supervision"].fields["kind"].choices.items() if k == "protest")
    doc["metrics"]["work"]["weights"]["table"] = {label: 2}
    compile_scheme(load_scheme(doc), DICT)
    doc["metrics"]["work"]["weights"]["table"] = {"protset": 2}
    with pytest.raises(DefinitionError, match="protset"):
        compile_scheme(load_scheme(doc), DICT)


def test_one_veto_zeroes_a_dimension_and_bars_a_grade():
    doc = base(metrics={"cases": {"event": "case_accepted"}},
               dimensions={"q": {"name": "质量", "weight": 1}, "e": {"name": "效果", "weight": 1}},
               indicators={"Q": {"name": "质量分", "formula": "cases", "dimension": "q",
                                 "scoring": {"method": "per_unit", "points": 50, "cap": 50}},
                           "E": {"name": "效果分", "formula": "cases", "dimension": "e",
                                 "scoring": {"method": "per_unit", "points": 50, "cap": 50}}},
               vetoes={"WRONG": {"name": "错案", "event": "disciplinary_finding", "where": "kind == 'wrongful_case'",
                                 "effects": [{"effect": "zero_dimension", "dimension": "q"},
                                             {"effect": "bar_grade", "grade": "优秀"}]}},
               grading={"bands": [{"grade": "优秀", "min": 50}, {"grade": "合格", "min": 0}]})
    rows = [ev("A1", "case_accepted", p, f"A{p}", suspects=1, category="ordinary") for p in (1, 2)]
    rows.append(ev("W1", "disciplinary_finding", 2, kind="wrongful_case", responsible=True))
    bulk = score(doc, [person(1), person(2)], rows)
    assert (row(bulk, 1)["total"], row(bulk, 1)["grade"]) == (100, "优秀")
    clean, hit = row(bulk, 1), row(bulk, 2)
    assert hit["contrib__Q"] == 0 and hit["total"] == 50 and hit["grade"] == "合格"  # 50 would be 优秀: barred
    assert clean["veto__WRONG"] is False and hit["veto__WRONG"] is True


def test_an_indicator_can_apply_to_some_businesses_only():
    doc = base(metrics={"juv": {"event": "prosecution_review", "where": "juvenile"},
                        "all": {"event": "prosecution_review"}},
               indicators={"JUV": {"name": "未检", "formula": "juv / all", "dimension": "q", "lines": ["criminal"],
                                   "businesses": ["juvenile"], "unit": "%",
                                   "scoring": {"method": "pass_fail", "threshold": 0.5, "points": 5}}})
    juvenile, ordinary = {**person(1), "business_code": "juvenile"}, person(2)
    rows = [ev(f"R{p}", "prosecution_review", p, f"C{p}", suspect_id="S", decision="prosecute", plea_leniency=True,
               juvenile=True) for p in (1, 2)]
    bulk = score(doc, [juvenile, ordinary], rows)
    assert row(bulk, 1)["pts__JUV"] == 5 and row(bulk, 2)["pts__JUV"] is None  # not applicable, not zero
    doc["indicators"]["JUV"]["businesses"] = ["civil"]  # outside the criminal line: applies to nobody
    with pytest.raises(DefinitionError, match="civil"):
        compile_scheme(load_scheme(doc), DICT)


def test_accumulated_flaw_points_of_a_case_trigger_at_the_threshold():
    doc = base(metrics={"cases": {"event": "case_accepted"}},
               indicators={"N": {"name": "n", "formula": "cases", "dimension": "q",
                                 "scoring": {"method": "per_unit", "points": 1, "cap": 10}}},
               adjustments={"FLAWS40": {"name": "单案瑕疵扣分累计达 40 分", "event": "quality_review", "points": -5,
                                        "dimension": "q",
                                        "pattern": [{"name": "flaws", "event": "quality_review", "sum": "flaw_points",
                                                     "at_least": 40}]}})
    review = {"reviewer_level": "city", "rating": "flawed"}
    rows = [ev("A1", "case_accepted", 1, "X", suspects=1, category="ordinary"),
            ev("V1", "quality_review", 1, "X", **review, flaw_points=25),
            ev("V2", "quality_review", 1, "X", **review, flaw_points=15),  # case X: 25 + 15 = 40 → triggers
            ev("V3", "quality_review", 1, "Y", **review, flaw_points=39),  # case Y: 39 → does not
            ev("V4", "quality_review", 1, "Y", **{**review, "rating": "qualified"}),  # no points: adds nothing
            ev("A2", "case_accepted", 2, "Z", suspects=1, category="ordinary")]
    bulk = score(doc, [person(1), person(2)], rows)
    assert row(bulk, 1)["adjn__FLAWS40"] == 1 and row(bulk, 1)["adj__FLAWS40"] == -5
    assert row(bulk, 2)["adjn__FLAWS40"] == 0


def test_a_misspelled_scoring_parameter_is_an_error_not_ignored():
    doc = base(metrics={"cases": {"event": "case_accepted"}},
               indicators={"N": {"name": "n", "formula": "cases", "dimension": "q",
                                 "scoring": {"method": "ratio_to_avg", "points": 5, "wrost": 0.5, "misssing": "best"}}})
    with pytest.raises(DefinitionError) as exc:
        compile_scheme(load_scheme(doc), DICT)
    text = str(exc.value)
    assert "“wrost”，是否为“worst”" in text and "“misssing”，是否为“missing”" in text


def test_a_subject_barred_by_a_veto_takes_no_quota_place():
    """15 % … 20 % 优秀 are places among those who may hold 优秀: the top scorer, barred by a veto, leaves
    his place to the next (both executors, both deciders)."""
    doc = base(metrics={"cases": {"event": "case_accepted"}},
               indicators={"Q": {"name": "办案数", "formula": "cases", "dimension": "q",
                                 "scoring": {"method": "per_unit", "points": 10, "cap": 100}}},
               vetoes={"WRONG": {"name": "错案", "event": "disciplinary_finding", "where": "kind == 'wrongful_case'",
                                 "effects": [{"effect": "bar_grade", "grade": "优秀"}]},
                       "CAP": {"name": "严重瑕疵", "event": "disciplinary_finding", "where": "kind == 'procedural_defect'",
                               "effects": [{"effect": "cap_grade", "grade": "合格"}]}},
               grading={"bands": [{"grade": "优秀", "min": 1, "quota": 0.2},
                                  {"grade": "合格", "min": 0}]})
    people = [person(p) for p in range(1, 11)]
    rows = [ev(f"A{p}-{i}", "case_accepted", p, f"A{p}-{i}", suspects=1, category="ordinary")
            for p in range(1, 11) for i in range(11 - p)]  # totals 100, 90, …, 10
    rows.append(ev("W1", "disciplinary_finding", 1, kind="wrongful_case", responsible=True))
    rows.append(ev("W2", "disciplinary_finding", 2, kind="procedural_defect", responsible=True))
    bulk = score(doc, people, rows)
    grades = {p: row(bulk, p)["grade"] for p in range(1, 11)}
    # 20 % of 10 = 2 places, for 3 and 4: 1 is barred, 2 capped at 合格 — neither takes a place.
    assert [p for p, g in grades.items() if g == "优秀"] == [3, 4]
    assert grades[1] == grades[2] == grades[5] == "合格"
    assert "可评优秀且总分不低于本人者 3 名" in row(bulk, 5)["grade_reason"]


def test_a_lower_bands_quota_counts_only_those_who_hold_it():
    """优秀 ≤ 20 %, 良好 ≤ 30 %: 良好's places are for those graded 良好 — the 优秀 above them take none
    of them (both executors, both deciders). Worked by hand: 10 people, totals 100, 90, …, 10; 优秀 (≥ 40)
    has 2 places (1, 2); 3 … 7 move down to 良好 (≥ 30), which has 3 places: 3, 4, 5."""
    doc = base(metrics={"cases": {"event": "case_accepted"}},
               indicators={"Q": {"name": "办案数", "formula": "cases", "dimension": "q",
                                 "scoring": {"method": "per_unit", "points": 10, "cap": 100}}},
               vetoes={"WRONG": {"name": "错案", "event": "disciplinary_finding", "where": "kind == 'wrongful_case'",
                                 "effects": [{"effect": "bar_grade", "grade": "良好"}]}},
               grading={"bands": [{"grade": "优秀", "min": 40, "quota": 0.2},
                                  {"grade": "良好", "min": 30, "quota": 0.3},
                                  {"grade": "合格", "min": 0}]})
    people = [person(p) for p in range(1, 11)]
    rows = [ev(f"A{p}-{i}", "case_accepted", p, f"A{p}-{i}", suspects=1, category="ordinary")
            for p in range(1, 11) for i in range(11 - p)]  # totals 100, 90, …, 10
    bulk = score(doc, people, rows)
    grades = {p: row(bulk, p)["grade"] for p in range(1, 11)}
    assert [p for p, g in grades.items() if g == "优秀"] == [1, 2]
    assert [p for p, g in grades.items() if g == "良好"] == [3, 4, 5]  # not [3]: 1 and 2 hold no 良好 place
    assert all(grades[p] == "合格" for p in range(6, 11))
    reason = row(bulk, 6)["grade_reason"]
    assert "良好名额 30% × 10 人，四舍五入共 3 名，可评良好且总分不低于本人者 4 名（已评更高等次者不占本等次名额），超出名额" in reason
    # Quota use as the ranking and the simulation report show it: 良好 reached by 3 … 8 (not 1 and 2, 优秀).
    from rulesvc.services.results import quota_counts

    grading = compile_scheme(load_scheme(doc), DICT).scheme.grading
    counts = quota_counts(bulk.frame, grading)
    use = {u["grade"]: (u["places"], u["taken"], u["reached"], u["below_best"]) for u in counts}
    assert use == {"优秀": (2, 2, 7, False), "良好": (3, 3, 6, True)}
    from rulesvc.services.results_words import quota_words

    assert quota_words(counts, "zh")[1].endswith("已评 3 名，总分达到良好分数线、未评更高等次的 6 名")

    # A veto that bars 良好 alone, on someone graded 优秀: kept out of 良好 once, not twice — still 3 places
    # for 3, 4, 5; and on 4 (barred from 良好, not from 优秀 that is full): 4 is 合格 and 6 takes the place.
    rows.append(ev("W1", "disciplinary_finding", 1, kind="wrongful_case", responsible=True))
    bulk = score(doc, people, rows)
    assert [p for p in range(1, 11) if row(bulk, p)["grade"] == "良好"] == [3, 4, 5]
    rows[-1] = ev("W1", "disciplinary_finding", 4, kind="wrongful_case", responsible=True)
    bulk = score(doc, people, rows)
    grades = {p: row(bulk, p)["grade"] for p in range(1, 11)}
    assert [p for p, g in grades.items() if g == "良好"] == [3, 5, 6] and grades[4] == "合格"


def test_the_cards_quota_words_judge_the_place_only_for_the_best_band():
    """"本人组内第 N 名，在名额内" compares the place with the best band's places; for 良好 the place in the
    group says nothing (the 优秀 above take none of its places): its line gives the places alone."""
    from rulesvc.services.results_words import grade_words

    doc = base(metrics={"cases": {"event": "case_accepted"}},
               indicators={"Q": {"name": "办案数", "formula": "cases", "dimension": "q",
                                 "scoring": {"method": "per_unit", "points": 10, "cap": 100}}},
               grading={"bands": [{"grade": "优秀", "min": 40, "quota": 0.2},
                                  {"grade": "良好", "min": 30, "quota": 0.3}, {"grade": "合格", "min": 0}]})
    compiled = compile_scheme(load_scheme(doc), DICT)
    card = {"grade": "良好", "total": 80.0, "status": "evaluated", "grade_reason": "",
            "rank": {"place": 3, "of": 10, "group": "all"}}
    quota = grade_words(compiled, card, "zh")["quota"]
    assert quota[0] == "优秀名额 20% × 同组（全体）10 人 = 2 名；本人组内第 3 名，在名额外"
    assert quota[1] == "良好名额 30% × 同组（全体）10 人 = 3 名（已评更高等次者不占用）"


def test_floating_point_residue_never_decides_a_tier():
    """3 × 0.3 is 0.8999999999999999 in floating point: a number that near a threshold the rule states is
    that threshold, so it reaches the ≥ 0.9 tier — in both executors, both deciders; one a millionth under
    does not."""
    doc = base(metrics={"cases": {"event": "case_accepted"}},
               indicators={"R": {"name": "折算数", "formula": "cases * 0.3", "dimension": "q",
                                 "scoring": {"method": "tiers", "tiers": [{"min": 0.9, "points": 2}]}}})
    rows = [ev(f"A{i}", "case_accepted", 1, f"A{i}", suspects=1, category="ordinary") for i in range(3)]
    bulk = score(doc, [person(1), person(2)], rows)
    assert row(bulk, 1)["R"] == 3 * 0.3 != 0.9  # the value as computed
    assert row(bulk, 1)["x__R"] == 0.9 and row(bulk, 1)["pts__R"] == 2
    doc["indicators"]["R"]["formula"] = "cases * 0.2999997"  # 0.8999991: under the line, and stays so
    bulk = score(doc, [person(1), person(2)], rows)
    assert row(bulk, 1)["x__R"] == 3 * 0.2999997 and row(bulk, 1)["pts__R"] == 0


def test_quota_use_within_a_part_of_the_province_counts_only_its_whole_quota_groups():
    """A county reads its own places: quota groups per procuratorate, the county's group alone."""
    from rulesvc.services.results import Figures, quota_use_within

    doc = base(metrics={"cases": {"event": "case_accepted"}},
               indicators={"Q": {"name": "办案数", "formula": "cases", "dimension": "q",
                                 "scoring": {"method": "per_unit", "points": 10, "cap": 100}}},
               grading={"quota_group": "procuratorate",
                        "bands": [{"grade": "优秀", "min": 40, "quota": 0.5}, {"grade": "合格", "min": 0}]})
    people = [person(p, unit=10 if p <= 4 else 20) for p in range(1, 11)]
    rows = [ev(f"A{p}-{i}", "case_accepted", p, f"A{p}-{i}", suspects=1, category="ordinary")
            for p in range(1, 11) for i in range(11 - p)]
    bulk = score(doc, people, rows)
    compiled = compile_scheme(load_scheme(doc), DICT)
    fig = Figures(None, None, compiled, None, bulk.frame, bulk.left_out, "prosecutor_id", (), "", "")
    (unit10,) = quota_use_within(fig, {10})
    assert (unit10["size"], unit10["places"], unit10["taken"]) == (4, 2, 2)
    (both,) = quota_use_within(fig, {10, 20})
    assert (both["size"], both["places"]) == (10, 5)
    assert quota_use_within(fig, set()) == [{**both, "size": 0, "places": 0, "taken": 0, "reached": 0, "unused": 0, "groups": 0}]
    assert both["groups"] == 2 and both["places"] == both["taken"] + both["unused"]
