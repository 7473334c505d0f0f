"""Both executors run the same named phases, and a disagreement is reported under the phase it starts in."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

import polars as pl
import pytest

from rulesvc.engine import bulk, evaluate
from rulesvc.engine.compile import compile_scheme
from rulesvc.engine.differential import compare
from rulesvc.engine.evaluate import PHASES, PythonDecider
from rulesvc.schema.scheme import load_scheme
from rulesvc.services.facts import frame_from_rows
from tests.unit.scenarios import DICT, SUBJECT_SCHEMA, YEAR, filings, person, scheme


def calls_in_order(fn: Callable[..., Any], names: list[str]) -> list[str]:
    source = inspect.getsource(fn)
    return sorted((n for n in names if f"{n}(" in source), key=lambda n: source.index(f"{n}("))


def test_both_executors_define_every_phase_under_the_same_name():
    for name in PHASES:
        assert callable(getattr(evaluate, f"phase_{name}")), name
        assert callable(getattr(bulk, f"phase_{name}")), name


def test_both_executors_run_the_phases_in_the_same_order():
    names = [f"phase_{p}" for p in PHASES]
    # evaluate_bulk aggregates the metrics, then score_metrics runs the rest (the designer's impact reuses it)
    in_bulk = calls_in_order(bulk.evaluate_bulk, names) + calls_in_order(bulk.score_metrics, names[1:])
    assert in_bulk == names
    per_subject = calls_in_order(evaluate.evaluate_subject, names) + calls_in_order(evaluate.assemble, names)
    assert per_subject == names


# -- a fault in one bulk phase ---------------------------------------------------------------------------

DOC = scheme(
    adjustments={"filing_bonus": {"name": "立案监督加分", "event": "supervision_action", "where": "action == 'filing'",
                                  "points": 0.5, "dimension": "effect"}},
    vetoes={"filing_veto": {"name": "测试否决", "event": "supervision_action", "where": "action == 'filing'",
                            "effect": "bar_grade", "grade": "优秀"}},
)


def _shift(column: str, by: float) -> Callable[[pl.DataFrame], pl.DataFrame]:
    return lambda f: f.with_columns(pl.col(column) + by)


FAULTS: dict[str, Callable[[pl.DataFrame], pl.DataFrame]] = {
    "metrics": _shift("filings", 1.0),
    # Found idle although they are not (the per-subject executor decides that itself).
    "participation": lambda f: f.with_columns(
        pl.when(pl.col("prosecutor_id") == 1).then(pl.lit(v)).otherwise(pl.col(c)).alias(c)
        for c, v in (("status", "not_graded"), ("status_code", "no_activity"))),
    "indicators": _shift("FILINGS_RANK", 10.0),
    "peers": lambda f: f.with_columns((1.0 - pl.col("x__FILINGS_RANK")).alias("x__FILINGS_RANK")),
    "points": _shift("pts__FILINGS_RANK", 1.0),
    "vetoes": lambda f: f.with_columns(pl.lit(False).alias("veto__filing_veto")),
    "adjustments": _shift("adj__filing_bonus", 1.0),
    "combine": _shift("total", 1.0),
}


def _broken(phase: str, original: Callable[..., Any]) -> Callable[..., Any]:
    def run(*args: Any, **kwargs: Any) -> Any:
        out = original(*args, **kwargs)
        if phase == "grade":
            return bulk.BulkResult(out.frame.with_columns(pl.lit("X").alias("grade")), out.peers, out.key, out.left_out)
        if isinstance(out, tuple):
            return (FAULTS[phase](out[0]), *out[1:])
        return FAULTS[phase](out)
    return run


@pytest.mark.parametrize("phase", [*FAULTS, "grade"])
def test_a_fault_in_one_bulk_phase_is_reported_under_that_phase(phase, monkeypatch):
    compiled = compile_scheme(load_scheme(DOC), DICT)
    subjects = pl.DataFrame([person(i) for i in range(1, 6)], schema=SUBJECT_SCHEMA)
    events = frame_from_rows([r for i in range(1, 6) for r in filings(i, i)], DICT, compiled.event_types)
    n, diffs = compare(compiled, bulk.evaluate_bulk(compiled, events, subjects, period=YEAR), events, PythonDecider())
    assert n == 5 and diffs == []

    monkeypatch.setattr(bulk, f"phase_{phase}", _broken(phase, getattr(bulk, f"phase_{phase}")))
    _, diffs = compare(compiled, bulk.evaluate_bulk(compiled, events, subjects, period=YEAR), events, PythonDecider())
    assert diffs
    first = {}
    for d in diffs:
        first.setdefault(d.subject, d.phase)
    assert set(first.values()) == {phase}, diffs[:5]
