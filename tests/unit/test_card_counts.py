"""A card says, indicator by indicator, whether it applies to the person and whether its points count —
and what counts adds up to the dimension's points and most points possible.

Found on the admin score card: an indicator of another business line (监督立案数 for a civil prosecutor,
value 0) and one left out for want of data were shown as "0 / 4" points beside a dimension that said
"5.0 / 5.0" — as if four points had been lost. They score nothing and their maximum is not part of the
dimension's: the card now says so (``applies``, ``counted``) and the page shows "—".
"""

from __future__ import annotations

import polars as pl
import pytest
from scenarios import DICT, filings, person, scheme, score

from rulesvc.engine.bulk import subject_of
from rulesvc.engine.compile import compile_scheme
from rulesvc.engine.durable_decider import DurableDecider
from rulesvc.engine.evaluate import PythonDecider, evaluate_subject
from rulesvc.schema.scheme import load_scheme
from rulesvc.services.evaluation import summary_of
from rulesvc.services.facts import frame_from_rows

DOC = scheme(
    combination={"method": "weighted", "base": 60, "span": 40},
    metrics={"filings": {"event": "supervision_action", "where": "action == 'filing'"},
             "hearings": {"event": "public_hearing"},
             "resolved": {"event": "public_hearing", "where": "resolved"}},
    indicators={
        "FILINGS_RANK": {"name": "监督立案数", "formula": "filings", "dimension": "effect",
                         "scoring": {"method": "tiers", "tiers": [{"min": 3, "points": 4}, {"min": 1, "points": 2}]}},
        "CIVIL_FILINGS": {"name": "民事监督立案数", "formula": "filings", "dimension": "effect", "lines": ["civil"],
                          "scoring": {"method": "tiers", "tiers": [{"min": 1, "points": 4}]}},
        "RESOLVED_RATE": {"name": "有效息诉率", "formula": "resolved / hearings", "dimension": "effect", "unit": "%",
                          "scoring": {"method": "pass_fail", "threshold": 0.8, "points": 3, "missing": "exclude"}},
        "FILINGS_SEEN": {"name": "立案数（仅分析）", "formula": "filings", "dimension": "effect", "scored": False},
    },
)


@pytest.mark.parametrize("executor", ["python", "durable"])
def test_each_indicator_says_whether_it_applies_and_counts_and_the_counted_ones_make_the_dimension(executor):
    people = [person(i) for i in range(1, 4)]  # criminal prosecutors: the civil indicator does not apply
    bulk = score(DOC, people, [r for i in range(1, 4) for r in filings(i, i + 1)])
    compiled = compile_scheme(load_scheme(DOC), DICT)
    ref = bulk.frame.filter(pl.col("prosecutor_id") == 2).row(0, named=True)
    events = frame_from_rows(filings(2, 3), DICT, compiled.event_types).to_dicts()
    decider = PythonDecider() if executor == "python" else DurableDecider()
    result = evaluate_subject(compiled, subject_of(ref, "prosecutor_id"), events, period="2020", decider=decider,
                              peers=bulk.peers)
    by = {i.code: i for i in result.indicators}
    assert (by["FILINGS_RANK"].applies, by["FILINGS_RANK"].counted, by["FILINGS_RANK"].points) == (True, True, 4.0)
    # Another line's indicator: its value is still worked out and shown, it scores nothing and says why.
    civil = by["CIVIL_FILINGS"]
    assert (civil.applies, civil.counted, civil.points, civil.value) == (False, False, 0.0, 3.0)
    assert "不适用" in civil.note
    # No hearings: left out (missing: exclude), the dimension re-weighted — it applies but does not count.
    res = by["RESOLVED_RATE"]
    assert (res.applies, res.counted, res.points, res.value) == (True, False, 0.0, None)
    assert by["FILINGS_SEEN"].applies and not by["FILINGS_SEEN"].counted  # analysis only
    # What counts makes the dimension: its points and the most it could have scored.
    (dim,) = result.dimensions
    counted = [i for i in result.indicators if i.counted]
    assert [i.code for i in counted] == ["FILINGS_RANK"]
    assert dim.points == sum(i.points for i in counted) == 4.0
    assert dim.max_points == sum(i.max_points for i in counted) == 4.0
    # The card (what the API answers and a publication keeps) says the same, in the reader's words.
    card = {i["code"]: i for i in summary_of(result)["indicators"]}
    assert {c: (i["applies"], i["counted"]) for c, i in card.items()} == {
        "FILINGS_RANK": (True, True), "CIVIL_FILINGS": (False, False), "RESOLVED_RATE": (True, False),
        "FILINGS_SEEN": (True, False)}


def test_the_draft_preview_folds_away_another_business_indicators_even_with_a_count_of_0():
    from admin.designer_impact import _split

    def row(code: str, applies: bool | None) -> dict:
        same = {"code": code, "change": "same", "value": {"in_force": 0.0, "draft": 0.0, "delta": 0.0},
                "points": {"in_force": 0.0, "draft": 0.0, "delta": 0.0}}
        return same if applies is None else {**same, "applies": {"in_force": applies, "draft": applies}}

    shown, rest = _split([row("ELSEWHERE", False), row("HERE", True), row("OLD_CARD", None)])
    assert [i["code"] for i in shown] == ["HERE", "OLD_CARD"] and [i["code"] for i in rest] == ["ELSEWHERE"]
