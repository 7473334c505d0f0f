"""The edits a designer makes to the template, as functions of its document: shared by the impact tests
(tests/integration/test_impact.py, tests/unit/test_impact_split.py)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

Doc = dict[str, Any]


def weight(d: Doc) -> None:
    d["dimensions"]["quality"]["weight"] = 55


def tier(d: Doc) -> None:
    d["indicators"]["PLEA_APPLY_RATE"]["scoring"]["tiers"][0]["min"] = 0.86


def quota(d: Doc) -> None:
    d["grading"]["bands"][0]["quota"] = 0.3


def band(d: Doc) -> None:
    d["grading"]["bands"][1]["min"] = 87


def adjustment(d: Doc) -> None:
    d["adjustments"]["REVIEW_EXCELLENT_PROVINCE"].update(points=8, cap=16)


def switched_off(d: Doc) -> None:
    d["indicators"]["PLEA_APPLY_RATE"]["scored"] = False


def new_formula(d: Doc) -> None:
    d["indicators"]["LOCAL_ADOPTED_SHARE"] = {
        "name": "本地采纳占比", "formula": "rec_adopted / (cases_accepted + 1)", "unit": "ratio",
        "direction": "higher_better", "dimension": "effect",
        "scoring": {"method": "linear", "worst": 0, "best": 1, "points": 5, "missing": "exclude"}}


def new_metric(d: Doc) -> None:
    d["metrics"]["local_detained"] = {"name": "羁押案件数", "event": "case_accepted", "where": "detained"}
    d["indicators"]["LOCAL_DETAINED"] = {
        "name": "羁押案件数", "formula": "local_detained", "unit": "件", "direction": "lower_better",
        "dimension": "efficiency", "scoring": {"method": "linear", "worst": 30, "best": 0, "points": 4}}


SCORING_ONLY: list[Callable[[Doc], None]] = [weight, tier, quota, band, adjustment, switched_off, new_formula]
