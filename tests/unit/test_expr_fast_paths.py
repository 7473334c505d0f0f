"""The per-subject executor's specialised closures (``field <op> constant``, ``text in [...]``, a bare
flag as a filter, the two-operand ``and``/``or``, the slot-filling explainer) give exactly what the
general closures give, on every kind of value a row can hold — including the wrong ones."""

from __future__ import annotations

import math
from decimal import Decimal
from typing import Any

import pytest

from rulesvc.engine.expr import (
    BOOL,
    NUMBER,
    STRING,
    BadValueError,
    compile_predicate,
    compile_python,
    enum,
    parse,
)
from rulesvc.engine.expr.compile_python import split_lookup
from rulesvc.engine.expr.render import _explain_slowly, explainer

SCOPE = {"n": NUMBER, "m": NUMBER, "s": STRING, "p": BOOL, "q": BOOL,
         "e": enum({"prosecute": "起诉", "not_prosecute": "不起诉"})}


class Sub(str):
    pass


NUMBERS: list[Any] = [None, 3.0, 3, 2.9999999999, 3.5, -1.0, 0.0, math.nan, math.inf, Decimal("3"), True, "3", 10**400]
TEXTS: list[Any] = [None, "a", "b", "prosecute", "", Sub("a"), 1, 2.0, False]
FLAGS: list[Any] = [None, True, False, 1, "true"]


def outcome(fn: Any, row: dict[str, Any]) -> Any:
    try:
        return ("value", fn(row))
    except BadValueError:
        return ("error", None)


# Each pair: the specialised shape, and an equivalent the compiler builds from general closures.
PAIRS = [
    ("n > 3", "3 < n", "n"), ("n >= 3", "3 <= n", "n"), ("n == 3", "3 == n", "n"), ("n != 3", "3 != n", "n"),
    ("n < 3", "3 > n", "n"), ("n <= -1", "-1 >= n", "n"),
    ("s == 'a'", "'a' == s", "s"), ("s != 'a'", "'a' != s", "s"), ("s < 'b'", "'b' > s", "s"),
    ("s in ['a', 'b']", "s == 'a' or s == 'b'", "s"), ("s not in ['a', 'b']", "not (s == 'a' or s == 'b')", "s"),
    ("e == 'prosecute'", "'prosecute' == e", "e"), ("e in ['prosecute']", "'prosecute' == e", "e"),
]


@pytest.mark.parametrize(("fast", "general", "field"), PAIRS)
def test_specialised_compare_matches_general(fast: str, general: str, field: str) -> None:
    f, g = compile_python(parse(fast, SCOPE)), compile_python(parse(general, SCOPE))
    fp, gp = compile_predicate(parse(fast, SCOPE)), compile_predicate(parse(general, SCOPE))
    for v in NUMBERS if field == "n" else TEXTS:
        row = {field: v}
        assert outcome(f, row) == outcome(g, row), (fast, v)
        assert outcome(fp, row) == outcome(gp, row), (fast, v)
    assert outcome(f, {}) == outcome(g, {}) == ("value", None)  # a missing key is null


def test_bad_values_still_raise_on_the_fast_path() -> None:
    with pytest.raises(BadValueError):
        compile_python(parse("s == 'a'", SCOPE))({"s": 1})
    with pytest.raises(BadValueError):
        compile_python(parse("n > 3", SCOPE))({"n": "3"})
    with pytest.raises(BadValueError):
        compile_predicate(parse("p", SCOPE))({"p": 1})
    assert compile_python(parse("s == 'a'", SCOPE))({"s": Sub("a")}) is True  # a str subclass is text


@pytest.mark.parametrize("text", ["p and q", "p or q", "p and q and p", "p or q or p", "p", "not p"])
def test_kleene_logic_and_flags(text: str) -> None:
    fast = compile_python(parse(text, SCOPE))
    pred = compile_predicate(parse(text, SCOPE))
    for a in FLAGS[:3]:
        for b in FLAGS[:3]:
            row = {"p": a, "q": b}
            want = kleene(text, a, b)
            assert fast(row) is want, (text, a, b)
            assert pred(row) is (want is True)


def kleene(text: str, a: Any, b: Any) -> Any:
    def and_(x: Any, y: Any) -> Any:
        return False if x is False or y is False else (None if x is None or y is None else True)

    def or_(x: Any, y: Any) -> Any:
        return True if x is True or y is True else (None if x is None or y is None else False)

    return {"p and q": and_(a, b), "p or q": or_(a, b), "p and q and p": and_(and_(a, b), a),
            "p or q or p": or_(or_(a, b), a), "p": a, "not p": None if a is None else not a}[text]


@pytest.mark.parametrize("text", [
    "(n + m) / n", "n - m", "-n", "1 - -n", "max(n, m) * 2", "n - (m - n)", "s == 'a' and n > m",
    "if(n > 0, n, m)", "round(n / m, 2)", "n", "'\ue0001\ue001' == s",
])
def test_explainer_fills_the_same_text_as_rendering_every_time(text: str) -> None:
    expr = parse(text, SCOPE)
    fill = explainer(expr)
    fn = compile_python(expr)
    for n in (None, 3.0, -2.0, 0.5, -0.25, 120):
        for m in (None, -1.0, 7.0):
            row = {"n": n, "m": m, "s": "a"}
            assert fill(row) == _explain_slowly(expr.root, row, fn), (text, row)
    assert explainer(parse("1 - n", SCOPE))({"n": -2.0}) == "1 - (-2) = 3"


@pytest.mark.parametrize(("text", "field", "value"), [
    ("s == 'a'", "s", "a"), ("p", "p", True), ("s == 'a' and p", "s", "a"), ("p and s == 'a'", "s", "a"),
    ("q and s == 'b' and n > 1", "s", "b"), ("e == 'prosecute' and (p or q)", "e", "prosecute"),
    ("n > 1 and q", "q", True),
])
def test_split_lookup_is_the_filter(text: str, field: str, value: Any) -> None:
    """Looking events up by ``field == value`` and testing the rest selects what the filter selects."""
    expr = parse(text, SCOPE)
    found = split_lookup(expr)
    assert found is not None and found[:2] == (field, value)
    rest = found[2]
    whole = compile_predicate(expr)
    rows = [{"s": s, "p": p, "q": q, "n": n, "e": e}
            for s in (None, "a", "b") for p in (None, True, False) for q in (None, True, False)
            for n in (None, 0.0, 2.0) for e in (None, "prosecute", "not_prosecute")]
    for row in rows:
        looked_up = row[field] == value and (rest is None or bool(rest(row)))
        assert looked_up == whole(row), row


@pytest.mark.parametrize("text", ["s != 'a'", "s in ['a']", "p or s == 'a'", "not p", "n > 1", "'a' == s"])
def test_split_lookup_declines_other_shapes(text: str) -> None:
    assert split_lookup(parse(text, SCOPE)) is None
