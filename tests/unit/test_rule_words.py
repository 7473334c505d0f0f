"""The rule that fired, in the words a prosecutor reads on the card (audits of the procuratorate scheme, a
county's localization and short periods found these misleading or awkward; engine 2026.12.12)."""

from __future__ import annotations

import dataclasses

from rulesvc.engine.explain import describe_branch, show_x
from rulesvc.engine.scoring import Percentile, RatioToAverage, RatioToBest, Tiers, fmt
from tests.unit.test_evaluate import COMPILED


def _ci(code: str, pw):  # an indicator of the mini scheme with another scoring rule
    ci = next(c for c in COMPILED.indicators if c.indicator.code == code)
    return dataclasses.replace(ci, piecewise=pw)


def test_a_lower_is_better_ratio_says_the_reference_is_over_the_value():
    # 退查率 7.75% against an average of 10.79%: the rule tests 10.79 / 7.75 = 1.39 — never "与平均值之比 1.39",
    # which reads as a rate at 139 % of the average (worse).
    pw = RatioToAverage().compile({"points": 15}, higher_better=False, unit="%", path="p")
    ci = _ci("adoption", pw)
    x = 0.1079 / 0.0775
    branch = pw.branch_for(x)
    assert show_x(ci, x).startswith("平均值与本值之比 1.39")
    assert describe_branch(ci, branch.id, x, branch.points(x)).startswith("平均值与本值之比 1.3923 在 0.5 与 1.5 之间，按比例计")
    best = _ci("adoption", RatioToBest().compile({"points": 6}, higher_better=False, unit="%", path="p"))
    assert show_x(best, 0.5).startswith("最优值与本值之比 0.5")
    higher = _ci("adoption", RatioToAverage().compile({"points": 15}, higher_better=True, unit="%", path="p"))
    assert show_x(higher, 1.2).startswith("与平均值之比 1.2")


def test_a_percentiles_anchors_read_as_percentages():
    pw = Percentile().compile({"points": 6}, higher_better=True, unit="件", path="p")
    ci = _ci("caseload_rank", pw)
    assert describe_branch(ci, "linear", 0.875, 5.25) == "组内百分位 87.5% 在 0% 与 100% 之间，按比例计 5.25 分"


def test_on_the_zero_points_line_the_words_say_so():
    ci = _ci("adoption", RatioToAverage().compile({"points": 6, "worst": 0, "best": 1.5}, higher_better=True, unit="",
                                                  path="p"))
    assert describe_branch(ci, "linear", 0.0, 0.0) == "与平均值之比 0 不优于 0 → 0 分"
    assert describe_branch(ci, "linear", 0.75, 3.0) == "与平均值之比 0.75 在 0 与 1.5 之间，按比例计 3 分"


def test_tiers_and_the_value_in_no_tier():
    up = Tiers().compile({"tiers": [{"min": 0.95, "points": 4}, {"min": 0.85, "points": 2}]}, higher_better=True,
                          unit="%", path="p")
    assert up.by_id["tier1"].text == "{x} 在“≥ 95%”档 → 4 分"
    assert up.by_id["else"].text == "{x} 低于 85%，不在任何一档 → 0 分"
    down = Tiers().compile({"tiers": [{"max": 0.0, "points": 10}, {"max": 0.1, "points": 5}]}, higher_better=False,
                            unit="%", path="p")
    assert down.by_id["tier1"].text == "{x} 在“≤ 0%”档 → 10 分"
    assert down.by_id["else"].text == "{x} 高于 10%，不在任何一档 → 0 分"  # was "高于最低档 10%"


def test_a_case_to_file_ratio_reads_one_to_x():
    assert fmt(2.3, "ratio") == "1:2.3" and fmt(1.0, "ratio") == "1:1" and fmt(float("inf"), "ratio") == "∞"
    ci = next(c for c in COMPILED.indicators if c.indicator.code == "case_ratio")
    branch = ci.piecewise.branch_for(2.5)
    assert describe_branch(ci, branch.id, 2.5, 0.0) == "1:2.5 不优于 1:2.3 → 0 分"
