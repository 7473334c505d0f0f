"""Fuzzing the formula language.

1. Any text either parses or raises a ``DefinitionError`` — never anything else; what parses also
   prints back to the same tree, evaluates without error and translates or says it cannot.
2. Random well-typed formulas over random rows (nulls, zeros, huge and tiny numbers): the Python and
   polars executors give the same answers.
"""

from __future__ import annotations

import datetime as dt
import functools
import math
from typing import Any

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rulesvc.engine.errors import DefinitionError
from rulesvc.engine.expr import (
    BOOL,
    DATE,
    NUMBER,
    STRING,
    NotTranslatable,
    Type,
    compile_durable,
    compile_python,
    enum,
    explain,
    parse,
    to_text,
)
from rulesvc.engine.expr.compile_polars import compile_polars

SCOPE: dict[str, Type] = {
    "a": NUMBER, "b": NUMBER, "c": NUMBER, "n": NUMBER, "p": BOOL, "q": BOOL, "s": STRING,
    "d1": DATE, "d2": DATE, "e": enum({"x": "甲", "y": "乙"}), "起诉人数": NUMBER,
}
SCHEMA = {"a": pl.Float64, "b": pl.Float64, "c": pl.Float64, "n": pl.Int64, "p": pl.Boolean, "q": pl.Boolean,
          "s": pl.String, "d1": pl.Date, "d2": pl.Date, "e": pl.String, "起诉人数": pl.Float64}
FUZZ = settings(max_examples=1500, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# -- 1. any text ------------------------------------------------------------------------------------

TOKENS = [
    "a", "b", "c", "n", "p", "q", "s", "d1", "e", "起诉人数", "aa", "plea", "起诉", "x", "_", "A",
    "0", "1", "2.5", ".5", "1e3", "1e", "1e999", "84.4%", "7%", "%", "00", "1.2.3",
    "'x'", "'甲'", "\"y\"", "“乙”", "‘x’", "'", "\"", "“", "'\\'", "'2020-07-01'", "'2020-13-01'",
    "true", "false", "null", "and", "or", "not", "in", "AND", "且", "或", "非", "&&", "||", "!",
    "+", "-", "*", "/", "==", "!=", "<", "<=", ">", ">=", "≥", "≤", "≠", "=", "<>", "&", "|", "**", "^",
    "(", ")", "[", "]", ",", "（", "）", "，", "min(", "max(", "abs(", "round(", "coalesce(", "if(",
    "days_between(", "clip(", "date(", "foo(", "#", "@", ";", "\n", " ", "\u3000", "\\", "\x00", "\U0001f600",
]
near_valid = st.lists(st.sampled_from(TOKENS), max_size=25).flatmap(
    lambda toks: st.sampled_from([" ".join(toks), "".join(toks)])
)
deep = st.tuples(st.integers(0, 120), st.sampled_from(["(", "-", "not ", "abs(", "[", "-("])).map(
    lambda t: t[1] * t[0] + "a" + ")" * (t[0] if "(" in t[1] else 0)
)
any_text = st.one_of(st.text(max_size=80), near_valid, deep, st.text(alphabet="ab1 ()+-*/%<=>!'\"[],.e", max_size=60))
SAMPLE_ROW = {"a": 1.5, "b": 0.0, "c": None, "n": 3, "p": True, "q": None, "s": "x", "d1": dt.date(2020, 7, 1),
              "d2": None, "e": "y", "起诉人数": 10}


@FUZZ
@given(any_text)
def test_any_text_parses_or_raises_a_definition_error(text: str) -> None:
    try:
        expr = parse(text, SCOPE)
    except DefinitionError as exc:
        assert exc.position is not None and 0 <= exc.position <= len(text)
        assert exc.message and exc.expected
        return
    assert parse(to_text(expr), SCOPE).root == expr.root
    compile_python(expr)(SAMPLE_ROW)
    explain(expr, SAMPLE_ROW)
    compile_polars(expr)
    if expr.type.kind == "bool":
        try:
            compile_durable(expr)
        except NotTranslatable:
            pass


# -- 2. Python and polars agree on random well-typed formulas --------------------------------------

NUM_LITERALS = ["0", "1", "-1", "2.5", "0.5", "57", "100", "1e-10", "1e10", "84.4%", "3", "1e300"]


@functools.cache
def typed(kind: str, depth: int) -> st.SearchStrategy[str]:
    """Formulas of ``kind`` (number, bool, string, date) at most ``depth`` levels of calls/operators deep."""
    leaf = LEAVES[kind]
    if depth == 0:
        return leaf
    num, boo, txt, dat = (typed(k, depth - 1) for k in ("number", "bool", "string", "date"))
    ops = st.sampled_from
    grow: dict[str, list[st.SearchStrategy[str]]] = {
        "number": [
            st.tuples(num, ops(["+", "-", "*", "/", "%"]), num).map(lambda t: f"({t[0]} {t[1]} {t[2]})"),
            num.map(lambda x: f"-({x})"),
            st.tuples(ops(["min", "max", "coalesce"]), st.lists(num, min_size=1, max_size=3)).map(
                lambda t: f"{t[0]}({', '.join(t[1])})"),
            num.map(lambda x: f"abs({x})"),
            st.tuples(num, st.integers(-2, 3)).map(lambda t: f"round({t[0]}, {t[1]})"),
            st.tuples(num, num, num).map(lambda t: f"clip({t[0]}, {t[1]}, {t[2]})"),
            st.tuples(boo, num, num).map(lambda t: f"if({t[0]}, {t[1]}, {t[2]})"),
            st.tuples(dat, dat).map(lambda t: f"days_between({t[0]}, {t[1]})"),
            st.tuples(boo, num).map(lambda t: f"coalesce(null, {t[1]}, if({t[0]}, null, 1))"),
        ],
        "bool": [
            st.tuples(num, ops(["==", "!=", "<", "<=", ">", ">="]), num).map(lambda t: f"({t[0]} {t[1]} {t[2]})"),
            st.tuples(txt, ops(["==", "!=", "<", ">="]), txt).map(lambda t: f"({t[0]} {t[1]} {t[2]})"),
            st.tuples(dat, ops(["==", "<", ">="]), dat).map(lambda t: f"({t[0]} {t[1]} {t[2]})"),
            st.tuples(num, st.booleans(), st.lists(num, min_size=1, max_size=3)).map(
                lambda t: f"({t[0]} {'not in' if t[1] else 'in'} [{', '.join(t[2])}])"),
            ops(["e == '甲'", "e != 'y'", "e in ['x', '乙']", "e not in ['x']", "null and p", "null or q"]),
            st.tuples(boo, ops(["and", "or"]), boo).map(lambda t: f"({t[0]} {t[1]} {t[2]})"),
            boo.map(lambda x: f"not ({x})"),
        ],
        "string": [
            st.tuples(boo, txt, txt).map(lambda t: f"if({t[0]}, {t[1]}, {t[2]})"),
            st.lists(txt, min_size=1, max_size=2).map(lambda xs: f"coalesce({', '.join(xs)})"),
        ],
        "date": [
            st.tuples(ops(["min", "max"]), dat, dat).map(lambda t: f"{t[0]}({t[1]}, {t[2]})"),
            st.tuples(boo, dat, dat).map(lambda t: f"if({t[0]}, {t[1]}, {t[2]})"),
        ],
    }
    return st.one_of(leaf, *grow[kind])


LEAVES = {
    "number": st.sampled_from(["a", "b", "c", "n", "起诉人数", *NUM_LITERALS]),
    "bool": st.sampled_from(["p", "q", "true", "false"]),
    "string": st.sampled_from(["s", "'x'", "'检察'", "''"]),
    "date": st.sampled_from(["d1", "d2", "date('2020-07-01')"]),
}
formulas = st.sampled_from(["number", "bool", "string", "date"]).flatmap(
    lambda k: st.tuples(st.just(k), typed(k, 3))
)

number_values = st.one_of(
    st.sampled_from([None, 0.0, -0.0, 1.0, -1.0, 0.5, 2.5, -2.5, 2.675, 57.0, 100.0, 1e-10, 1e308, -1e308, 0.57]),
    st.floats(allow_nan=False, allow_infinity=False),
)
rows = st.lists(
    st.fixed_dictionaries({
        "a": number_values, "b": number_values, "c": number_values, "起诉人数": number_values,
        "n": st.one_of(st.none(), st.integers(-1000, 1000)),
        "p": st.sampled_from([True, False, None]), "q": st.sampled_from([True, False, None]),
        "s": st.sampled_from([None, "x", "", "检察", "y"]),
        "d1": st.one_of(st.none(), st.dates(dt.date(2019, 1, 1), dt.date(2021, 12, 31))),
        "d2": st.sampled_from([None, dt.date(2020, 7, 1), dt.date(2020, 1, 31)]),
        "e": st.sampled_from([None, "x", "y"]),
    }),
    min_size=1, max_size=6,
)


def same(x: Any, y: Any) -> bool:
    if x is None or y is None:
        return x is None and y is None
    if isinstance(x, float) or isinstance(y, float):
        return math.isclose(x, y, rel_tol=1e-9, abs_tol=1e-9)
    return bool(x == y)


@pytest.mark.slow
# The same 600 formulas on every run (``derandomize``), so that CI never fails by chance: a random draw once met a
# shape of a polars 2.1 broadcast bug the compiler did not work around yet (fixed, and kept below as an example).
# To explore other formulas, drop ``derandomize`` and run it with ``--hypothesis-seed=N``.
@settings(max_examples=600, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(formulas, rows)
def test_python_and_polars_agree_on_random_formulas(formula: tuple[str, str], data: list[dict[str, Any]]) -> None:
    kind, text = formula
    expr = parse(text, SCOPE)
    assert expr.type.kind in (kind, "null")
    fn = compile_python(expr)
    py = [fn(r) for r in data]
    pol = pl.DataFrame(data, schema=SCHEMA).with_columns(compile_polars(expr).alias("__r"))["__r"].to_list()
    assert all(same(x, y) for x, y in zip(py, pol, strict=True)), (text, py, pol)


def test_a_coalesce_that_stops_at_a_literal_compares_on_every_row() -> None:
    """Found by the fuzz test above (2026-12-07, a fresh-clone run): ``coalesce('', s)`` compiles to the literal ''
    although its tree names ``s``, so it was not moved to the right of the comparison, and polars 2.1 evaluated
    ``'' >= when(q).then('检察').otherwise('x')`` to one row on a two-row frame ("Series length 1 doesn't match")."""
    text = "not ((coalesce('', s) < if(q, '检察', 'x')))"
    data = [{**{k: None for k in SCHEMA}, "q": False, "s": "y"}, {**{k: None for k in SCHEMA}, "q": None, "s": ""}]
    expr = parse(text, SCOPE)
    fn = compile_python(expr)
    pol = pl.DataFrame(data, schema=SCHEMA).with_columns(compile_polars(expr).alias("__r"))["__r"].to_list()
    assert pol == [fn(r) for r in data] == [False, False]
