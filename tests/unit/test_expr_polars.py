"""The column-wise (polars) executor gives the per-subject (Python) executor's answers, case by case."""

from __future__ import annotations

import datetime as dt
import math
from typing import Any

import polars as pl
import pytest

from rulesvc.engine.expr import BOOL, DATE, NUMBER, STRING, Type, compile_python, enum, parse
from rulesvc.engine.expr.compile_polars import compile_polars, compile_polars_predicate, missing_functions

SCOPE: dict[str, Type] = {
    "a": NUMBER, "b": NUMBER, "c": NUMBER, "n": NUMBER, "p": BOOL, "q": BOOL, "s": STRING,
    "d1": DATE, "d2": DATE, "decision": enum({"prosecute": "起诉", "not_prosecute": "不起诉"}),
}
DTYPES = {"number": pl.Float64, "bool": pl.Boolean, "string": pl.String, "enum": pl.String, "date": pl.Date}
SCHEMA = {k: (pl.Int64 if k == "n" else DTYPES[t.kind]) for k, t in SCOPE.items()}

D0, D1 = dt.date(2020, 6, 1), dt.date(2020, 7, 1)
ROWS: list[dict[str, Any]] = [
    {"a": 1.0, "b": 2.0, "c": 3.0, "n": 4, "p": True, "q": False, "s": "x", "d1": D0, "d2": D1, "decision": "prosecute"},
    {"a": 0.0, "b": 0.0, "c": -1.5, "n": 0, "p": False, "q": None, "s": "", "d1": D1, "d2": D0,
     "decision": "not_prosecute"},
    {"a": None, "b": None, "c": None, "n": None, "p": None, "q": None, "s": None, "d1": None, "d2": None,
     "decision": None},
    {"a": -7.0, "b": 2.0, "c": 0.57, "n": -3, "p": True, "q": True, "s": "检察", "d1": D0, "d2": D0,
     "decision": "prosecute"},
    {"a": 1e308, "b": 1e-10, "c": 2.675, "n": 57, "p": None, "q": True, "s": "y", "d1": D1, "d2": None,
     "decision": None},
    {"a": 57.0, "b": 100.0, "c": -2.5, "n": 100, "p": False, "q": False, "s": "x", "d1": None, "d2": D1,
     "decision": "not_prosecute"},
]

CASES = [
    "a + b", "a - b * c", "a / b", "b / a", "a % b", "c % b", "-a", "a * 1e300 * 1e10", "n / 3",
    "a / b * 100 >= 57", "a == b", "a != b", "a < b", "a <= b", "a > c", "a >= c", "n == 4",
    "p and q", "p or q", "not p", "p and not q or a > 0", "not (p or q)",
    "a in [1, 57, b]", "a not in [0, 1]", "n in [4, 57]", "s in ['x', 'y']", "decision in ['起诉']",
    "decision == '不起诉'", "decision != 'prosecute'", "s == 'x'", "s < 'y'", "s >= '检'",
    "d1 < d2", "d1 == date('2020-06-01')", "days_between(d1, d2)", "days_between(d1, date('2020-07-01')) > 10",
    "min(a, b, c)", "max(a, b, c)", "min(a, null)", "max(d1, d2)", "abs(c)", "round(c)", "round(c, 2)",
    "round(a / b, 3)", "round(n, -1)", "round(c * 1000, -2)", "coalesce(a, b, 0)", "coalesce(a / b, c, 0)",
    "coalesce(s, 'none')", "coalesce(decision, '起诉')", "if(p, a, b)", "if(a > b, s, 'z')", "if(q, d1, d2)",
    "clip(c, 0, 1)", "clip(a, null, b)", "clip(a, b, null)",
    "null + a", "a > 1 and null", "null or p", "not null", "coalesce(null, a)", "if(null, 1, 2)", "-null",
    "a / 0", "a % 0", "1 + 2 * 3", "84.4% * n", "true", "'lit'", "date('2020-07-01')",
]


def same(x: Any, y: Any) -> bool:
    if x is None or y is None:
        return x is None and y is None
    if isinstance(x, float) or isinstance(y, float):
        return math.isclose(x, y, rel_tol=1e-9, abs_tol=1e-9)
    return bool(x == y)


def run_both(text: str, rows: list[dict[str, Any]]) -> tuple[list[Any], list[Any]]:
    expr = parse(text, SCOPE)
    fn = compile_python(expr)
    py = [fn(r) for r in rows]
    df = pl.DataFrame(rows, schema=SCHEMA)
    out = df.with_columns(compile_polars(expr).alias("__r"))["__r"].to_list()
    return py, out


@pytest.mark.parametrize("text", CASES)
def test_python_and_polars_agree(text: str) -> None:
    py, pol = run_both(text, ROWS)
    assert all(same(x, y) for x, y in zip(py, pol, strict=True)), list(zip(py, pol, strict=True))


def test_polars_division_by_zero_is_null_not_inf() -> None:
    df = pl.DataFrame({"a": [1.0, 0.0, -1.0], "b": [0.0, 0.0, 0.0]})
    out = df.select(compile_polars(parse("a / b", SCOPE)).alias("r"))["r"].to_list()
    assert out == [None, None, None]


def test_polars_reads_nan_and_inf_as_null() -> None:
    df = pl.DataFrame({"a": [math.nan, math.inf, 1.0]})
    assert df.select(compile_polars(parse("a", SCOPE)).alias("r"))["r"].to_list() == [None, None, 1.0]


def test_polars_rounds_half_away_from_zero() -> None:
    df = pl.DataFrame({"c": [0.5, 1.5, 2.5, -2.5, 2.675]})
    out = df.select(compile_polars(parse("round(c, 0)", SCOPE)).alias("r"))["r"].to_list()
    assert out == [1.0, 2.0, 3.0, -3.0, 3.0]
    out2 = df.select(compile_polars(parse("round(c, 2)", SCOPE)).alias("r"))["r"].to_list()
    assert out2[-1] == 2.68


def test_polars_predicate_treats_null_as_not_matched() -> None:
    df = pl.DataFrame({"a": [0.95, 0.5, None]}, schema={"a": pl.Float64})
    assert df.filter(compile_polars_predicate(parse("a >= 0.9", SCOPE))).height == 1
    assert df.select(compile_polars_predicate(parse("not (a >= 0.9)", SCOPE)))["a"].to_list() == [False, True, False]


def test_enum_columns_may_be_categorical() -> None:
    df = pl.DataFrame({"decision": ["prosecute", "not_prosecute", None]}, schema={"decision": pl.Categorical})
    out = df.select(compile_polars(parse("decision == '起诉'", SCOPE)).alias("r"))["r"].to_list()
    assert out == [True, False, None]


def test_every_registered_function_has_a_polars_twin() -> None:
    assert missing_functions() == []


def test_package_exports_the_polars_compilers_as_functions_not_the_same_named_module() -> None:
    import rulesvc.engine.expr as X

    assert callable(X.compile_polars) and X.compile_polars is compile_polars
    assert X.compile_polars_predicate is compile_polars_predicate


def test_literal_compared_with_a_coalesce_that_starts_with_a_literal_broadcasts() -> None:
    # polars 2.1 alone returns one row for lit("x") == coalesce(lit("x"), col("s")); we must not.
    py, pol = run_both("'x' == coalesce('x', s)", ROWS)
    assert py == pol == [True] * len(ROWS)


def test_constant_on_the_left_of_a_comparison_broadcasts_when_the_right_collapses_to_one_row() -> None:
    # polars 2.1 alone: lit("x") == when(all true).then(lit("x")).otherwise(col("s")) has one row.
    rows = [dict(ROWS[0], p=True, s="x"), dict(ROWS[3], p=True, s="y")]
    for text in ("'x' == if(p, 'x', s)", "'x' != if(p, 'x', s)", "1 < if(p, 2, a)", "2 in [if(p, 2, a), b]"):
        py, pol = run_both(text, rows)
        assert py == pol and len(pol) == 2, text
