"""The column-wise filter (expr.compile_columns) agrees with the row closure on every row, or steps aside."""

from __future__ import annotations

import dataclasses
import datetime as dt
import itertools
import random

import pytest

from rulesvc.engine import expr as X
from rulesvc.engine import result as R
from rulesvc.engine.expr.compile_columns import Block, Unsupported, compile_mask

SCOPE = {
    "kind": X.field_type("enum", {"protest": "抗诉", "retrial_rec": "再审检察建议", "other": "其他"}),
    "outcome": X.STRING,
    "plea": X.BOOL,
    "appealed": X.BOOL,
    "amount": X.NUMBER,
    "accepted_on": X.DATE,
    "occurred_on": X.DATE,
}
FILTERS = [
    "kind == 'protest'",
    "kind != 'protest'",
    "plea",
    "not plea",
    "plea and appealed",
    "plea or appealed",
    "not (plea or kind == 'protest')",
    "kind == 'protest' and outcome != 'pending'",
    "kind in ['protest', 'retrial_rec']",
    "kind not in ['protest', 'retrial_rec'] or not appealed",
    "outcome == 'adopted' or amount >= 3",
    "days_between(accepted_on, occurred_on) <= 45 and plea",
    "not (amount > 1 and outcome in ['adopted', 'pending'])",
]


def _rows(n: int, seed: int) -> list[dict]:
    rnd = random.Random(seed)
    day = dt.date(2020, 1, 1)
    rows = []
    for i in range(n):
        row = {
            "event_id": f"e{i}",
            "kind": rnd.choice(["protest", "retrial_rec", "other", None]),
            "outcome": rnd.choice(["adopted", "pending", "rejected", None]),
            "plea": rnd.choice([True, False, None]),
            "appealed": rnd.choice([True, False, None]),
            "amount": rnd.choice([0.0, 1.0, 2.5, 3.0, None]),
            "accepted_on": rnd.choice([day, day + dt.timedelta(days=30), None]),
            "occurred_on": rnd.choice([day + dt.timedelta(days=60), None]),
        }
        if rnd.random() < 0.1:  # a missing field is null
            del row[rnd.choice(list(SCOPE))]
        rows.append(row)
    return rows


@pytest.mark.parametrize("text", FILTERS)
def test_column_mask_is_true_exactly_where_the_row_filter_is(text):
    e = X.parse_typed(text, SCOPE, path="where", want="bool")
    row_test = X.compile_predicate(e)
    mask_of = compile_mask(e)
    for seed in range(5):
        rows = _rows(60, seed)
        assert mask_of(Block(rows)) == [row_test(r) for r in rows]


@pytest.mark.parametrize("text", ["days_between(accepted_on, occurred_on) <= 45",
                                  "not days_between(accepted_on, occurred_on) > 30",
                                  "days_between(occurred_on, accepted_on) == -30 or plea"])
def test_day_counts_are_compared_column_wise_as_the_row_filter_does(text):
    e = X.parse_typed(text, SCOPE, path="where", want="bool")
    row_test = X.compile_predicate(e)
    day = dt.date(2020, 3, 1)
    for seed in range(5):
        rows = _rows(60, seed)
        for i, r in enumerate(rows):  # dates everywhere (the column-wise path), then a few nulls (row-wise)
            r["accepted_on"], r["occurred_on"] = day, day + dt.timedelta(days=i % 50)
        assert compile_mask(e)(Block(rows)) == [row_test(r) for r in rows]
        rows[7]["occurred_on"] = None
        assert compile_mask(e)(Block(rows)) == [row_test(r) for r in rows]


def test_a_value_of_another_class_sends_the_block_row_by_row():
    e = X.parse_typed("kind == 'protest' and plea", SCOPE, path="where", want="bool")
    rows = _rows(20, 1)
    rows[3]["plea"] = 1  # an int in a flag: the row filter decides (or raises), not the column pass
    with pytest.raises(Unsupported):
        compile_mask(e)(Block(rows))


def test_an_error_of_a_row_closure_sends_the_block_row_by_row():
    e = X.parse_typed("days_between(accepted_on, occurred_on) <= 45", SCOPE, path="where", want="bool")
    rows = _rows(20, 2)
    rows[5]["accepted_on"] = "not a date"
    with pytest.raises(Unsupported):
        compile_mask(e)(Block(rows))


def test_tests_shared_by_filters_are_made_once_per_block():
    rows = _rows(30, 3)
    block = Block(rows)
    a = compile_mask(X.parse_typed("kind == 'protest' and plea", SCOPE, path="where", want="bool"))
    b = compile_mask(X.parse_typed("kind == 'protest' and appealed", SCOPE, path="where", want="bool"))
    a(block)
    first = block.memo[("eq", "kind", "protest")]
    b(block)
    assert block.memo[("eq", "kind", "protest")] is first


def test_made_traces_equal_constructed_ones():
    fields = [f.name for f in dataclasses.fields(R.IndicatorTrace)]
    values = dict(zip(fields, itertools.count(), strict=False))
    made, built = R.make_indicator_trace(**values), R.IndicatorTrace(**values)
    assert made == built and hash(made) == hash(built) and repr(made) == repr(built)
    assert list(vars(made)) == list(vars(built))
    with pytest.raises(dataclasses.FrozenInstanceError):
        made.code = "x"  # type: ignore[misc]
    with pytest.raises(TypeError):
        R.make_metric_trace(code="a", name="b")
