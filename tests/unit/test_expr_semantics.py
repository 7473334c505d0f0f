"""The formula language's value semantics, through the per-subject (Python closure) executor."""

from __future__ import annotations

import datetime as dt
import math
import timeit
from decimal import Decimal
from typing import Any

import pytest

from rulesvc.engine.errors import EvaluationError
from rulesvc.engine.expr import (
    BOOL,
    DATE,
    NUMBER,
    STRING,
    TOLERANCE,
    BadValueError,
    close,
    compile_predicate,
    compile_python,
    enum,
    explain,
    parse,
)

SCOPE = {
    "a": NUMBER, "b": NUMBER, "c": NUMBER, "p": BOOL, "q": BOOL, "name": STRING, "d1": DATE, "d2": DATE,
    "cases": NUMBER, "returns": NUMBER, "extensions": NUMBER, "adopted": NUMBER, "recommended": NUMBER,
    "value": NUMBER, "decision": enum({"prosecute": "起诉", "not_prosecute": "不起诉"}),
}


def ev(text: str, **row: Any) -> Any:
    return compile_python(parse(text, SCOPE))(row)


# -- null and division ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "row", "expected"),
    [
        ("a / b", {"a": 1, "b": 0}, None),
        ("a / b", {"a": 0, "b": 0}, None),
        ("a % b", {"a": 1, "b": 0}, None),
        ("a / b", {"a": 7, "b": 2}, 3.5),  # never integer division (H13)
        ("a + b", {"a": 1}, None),  # a missing key is null
        ("a + b", {"a": 1, "b": None}, None),
        ("a * b", {"a": 1e308, "b": 10}, None),  # overflow is null, never inf
        ("a - b", {"a": -1e308, "b": 1e308}, None),
        ("a / b", {"a": 1e308, "b": 1e-10}, None),
        ("a", {"a": float("nan")}, None),  # NaN/inf from data read as null
        ("a + 1", {"a": float("inf")}, None),
        ("a", {"a": 10**400}, None),
        ("-a", {"a": None}, None),
        ("a > b", {"a": 1}, None),  # comparison with null is null
        ("name == 'x'", {}, None),
        ("coalesce(adopted / recommended, 0)", {"adopted": 3, "recommended": 0}, 0.0),
        ("(cases + returns + extensions) / cases", {"cases": 120, "returns": 30, "extensions": 12}, 1.35),
        ("(cases + returns + extensions) / cases", {"cases": 0, "returns": 0, "extensions": 0}, None),
    ],
)
def test_null_and_division(text: str, row: dict[str, Any], expected: Any) -> None:
    assert compile_python(parse(text, SCOPE))(row) == expected


def test_numbers_come_out_as_floats() -> None:
    assert ev("a", a=3).__class__ is float
    assert ev("a + b", a=1, b=2).__class__ is float
    assert ev("a", a=Decimal("2.5")) == 2.5


@pytest.mark.parametrize(
    ("text", "expected"), [("7 % 3", 1.0), ("-7 % 3", 2.0), ("7 % -3", -2.0), ("7.5 % 2", 1.5), ("6 % 3", 0.0)]
)
def test_remainder_takes_the_sign_of_the_divisor(text: str, expected: float) -> None:
    assert ev(text) == expected


# -- Kleene logic -----------------------------------------------------------------------------------

KLEENE = [
    (True, True, True, True), (True, False, False, True), (True, None, None, True),
    (False, False, False, False), (False, None, False, None), (None, None, None, None),
]


@pytest.mark.parametrize(("p", "q", "p_and_q", "p_or_q"), KLEENE)
def test_and_or_are_kleene_three_valued(p: Any, q: Any, p_and_q: Any, p_or_q: Any) -> None:
    for x, y in ((p, q), (q, p)):
        assert ev("p and q", p=x, q=y) is p_and_q
        assert ev("p or q", p=x, q=y) is p_or_q


@pytest.mark.parametrize(("p", "expected"), [(True, False), (False, True), (None, None)])
def test_not_of_null_is_null(p: Any, expected: Any) -> None:
    assert ev("not p", p=p) is expected


def test_null_and_false_is_false_even_when_the_null_comes_first() -> None:
    assert ev("a > 1 and p", p=False) is False
    assert ev("a > 1 or p", p=True) is True


def test_a_null_condition_does_not_match() -> None:
    match = compile_predicate(parse("a >= 0.9", SCOPE))
    assert match({"a": 0.95}) is True
    assert match({"a": 0.5}) is False
    assert match({}) is False
    assert compile_predicate(parse("not (a >= 0.9)", SCOPE))({}) is False


@pytest.mark.parametrize(
    ("text", "row", "expected"),
    [
        ("a in [1, 2]", {"a": 2}, True),
        ("a in [1, 2]", {"a": 3}, False),
        ("a in [1, b]", {"a": 3}, None),  # like a == 1 or a == null
        ("a in [1, b]", {"a": 1}, True),
        ("a not in [1, 2]", {"a": 3}, True),
        ("a not in [1, 2]", {}, None),
        ("decision in ['起诉']", {"decision": "prosecute"}, True),
        ("decision not in ['起诉', '不起诉']", {"decision": "prosecute"}, False),
    ],
)
def test_in_means_a_chain_of_equalities(text: str, row: dict[str, Any], expected: Any) -> None:
    assert compile_python(parse(text, SCOPE))(row) is expected


# -- numeric tolerance ------------------------------------------------------------------------------


def test_a_rate_of_exactly_the_threshold_meets_it() -> None:
    assert 57 / 100 * 100 < 57  # the binary floating-point trap the tolerance exists for
    assert ev("a / b * 100 >= 57", a=57, b=100) is True
    assert ev("a / b * 100 < 57", a=57, b=100) is False
    assert ev("a / b * 100 == 57", a=57, b=100) is True
    assert ev("0.1 + 0.2 == 0.3") is True


def test_tolerance_is_relative_and_tiny() -> None:
    assert ev("a > 57", a=57 + 1e-6) is True
    assert ev("a == 1e12", a=1e12 + 1) is True  # within 1e-9 relative
    assert ev("a == 1e12", a=1e12 + 10000) is False
    assert close(0.0, TOLERANCE) and not close(0.0, 2 * TOLERANCE)


# -- functions --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("round(2.5)", 3.0), ("round(-2.5)", -3.0), ("round(0.5)", 1.0), ("round(1.5)", 2.0),
        ("round(2.675, 2)", 2.68), ("round(1.005, 2)", 1.01), ("round(-1.005, 2)", -1.01),
        ("round(84.45%, 3)", 0.845), ("round(1234.5, -2)", 1200.0), ("round(1250, -2)", 1300.0),
        ("round(0.49999999)", 0.0), ("round(null)", None),
        ("min(3, null, 1)", 1.0), ("max(3, null, 1)", 3.0), ("min(null, null)", None), ("max(5)", 5.0),
        ("abs(-2)", 2.0), ("abs(null)", None),
        ("coalesce(null, null, 2, 3)", 2.0), ("coalesce(null)", None),
        ("if(true, 1, 2)", 1.0), ("if(false, 1, 2)", 2.0), ("if(null, 1, 2)", 2.0), ("if(1 > 0, null, 2)", None),
        ("clip(5, 0, 3)", 3.0), ("clip(-1, 0, 3)", 0.0), ("clip(2, null, 1)", 1.0), ("clip(null, 0, 1)", None),
        ("clip(2, 3, 1)", 1.0),
        ("days_between(date('2020-06-01'), date('2020-07-01'))", 30.0),
        ("days_between(date('2020-07-01'), date('2020-06-01'))", -30.0),
        ("max(date('2020-06-01'), date('2020-07-01')) == date('2020-07-01')", True),
    ],
)
def test_functions(text: str, expected: Any) -> None:
    assert ev(text) == expected


def test_round_halves_away_from_zero_unlike_python() -> None:
    assert round(2.5) == 2 and ev("round(2.5)") == 3.0
    assert round(2.675, 2) == 2.67 and ev("round(2.675, 2)") == 2.68


def test_dates_are_read_from_date_objects_or_iso_text() -> None:
    f = compile_python(parse("days_between(d1, d2)", SCOPE))
    assert f({"d1": "2020-06-01", "d2": dt.date(2020, 6, 11)}) == 10.0
    assert f({"d1": dt.datetime(2020, 6, 1, 8, 0), "d2": "2020-06-02"}) == 1.0
    assert f({"d1": None, "d2": "2020-06-02"}) is None


@pytest.mark.parametrize(
    ("text", "row"),
    [("a + 1", {"a": "9"}), ("a + 1", {"a": True}), ("p and q", {"p": 1, "q": True}), ("name == 'x'", {"name": 3}),
     ("days_between(d1, d2)", {"d1": "2020-6-1", "d2": "2020-06-01"}), ("days_between(d1, d2)", {"d1": 5, "d2": 6})],
)
def test_a_value_of_the_wrong_type_is_an_evaluation_error(text: str, row: dict[str, Any]) -> None:
    with pytest.raises(BadValueError) as err:
        compile_python(parse(text, SCOPE))(row)
    assert isinstance(err.value, EvaluationError) and err.value.name in row


# -- explain ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "row", "expected"),
    [
        ("(cases + returns + extensions) / cases", {"cases": 120, "returns": 30, "extensions": 12},
         "(120 + 30 + 12) / 120 = 1.35"),
        ("coalesce(adopted / recommended, 0)", {"adopted": 3, "recommended": 0}, "coalesce(3 / 0, 0) = 0"),
        ("value >= 84.4%", {"value": 0.9}, "0.9 >= 0.844 = true"),
        ("a - b", {"a": 1, "b": -2}, "1 - (-2) = 3"),
        ("-a", {"a": -2}, "-(-2) = 2"),
        ("a / 3", {"a": 1}, "1 / 3 = 0.3333333333"),
        ("a + 1", {}, "null + 1 = null"),
        ("decision == '起诉' and p", {"decision": "prosecute", "p": None}, "'prosecute' == 'prosecute' and null = null"),
        ("days_between(d1, d2)", {"d1": "2020-06-01", "d2": dt.date(2020, 6, 3)},
         "days_between(date('2020-06-01'), date('2020-06-03')) = 2"),
    ],
)
def test_explain_substitutes_the_values(text: str, row: dict[str, Any], expected: str) -> None:
    assert explain(parse(text, SCOPE), row) == expected


def test_small_formula_evaluates_in_about_a_microsecond() -> None:
    f = compile_python(parse("(cases + returns + extensions) / cases", SCOPE))
    row = {"cases": 120, "returns": 30, "extensions": 12}
    best = min(timeit.repeat(lambda: f(row), number=2000, repeat=5)) / 2000
    assert best < 10e-6  # ~1 µs here; generous bound so a loaded CI machine does not flake
    assert not math.isnan(f(row))
