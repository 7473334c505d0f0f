"""Translating conditions to durable_rules: the safe subset, what is refused, and that durable agrees.

The differential test drives the durable C module directly (no ``Host``, no threads: hazard H7),
with a serialiser that never writes a float in exponent form (H2) and one ruleset per condition.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import durable_rules_engine as engine  # a dependency of rulesvc (the adapter's engine): never skipped
import pytest

from rulesvc.engine.expr import (
    BOOL,
    DATE,
    NUMBER,
    STRING,
    TOLERANCE,
    NotTranslatable,
    compile_durable,
    compile_predicate,
    enum,
    parse,
)

SCOPE = {
    "a": NUMBER, "b": NUMBER, "value": NUMBER, "p": BOOL, "q": BOOL, "s": STRING, "d1": DATE,
    "plea_leniency": BOOL, "sentencing_rec": enum({"definite": "确定刑", "range": "幅度刑"}),
    "rating": enum({"good": "良好", "flawed": "瑕疵", "failed": "不合格"}),
    "reviewer_level": enum({"province": "省级", "city": "市级"}),
}


def lo(c: float) -> float:
    return c - TOLERANCE * max(1.0, abs(c))


def hi(c: float) -> float:
    return c + TOLERANCE * max(1.0, abs(c))


def tr(text: str) -> dict[str, Any]:
    return compile_durable(parse(text, SCOPE))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("plea_leniency and sentencing_rec == 'definite'",
         {"$and": [{"plea_leniency": True}, {"sentencing_rec": "definite"}]}),
        ("rating in ['瑕疵', 'failed'] and reviewer_level == 'province'",
         {"$and": [{"$or": [{"rating": "flawed"}, {"rating": "failed"}]}, {"reviewer_level": "province"}]}),
        ("value >= 0.9", {"$gte": {"value": lo(0.9)}}),
        ("value > 90%", {"$gt": {"value": hi(0.9)}}),
        ("value < 3", {"$lt": {"value": lo(3)}}),
        ("value <= 3", {"$lte": {"value": hi(3)}}),
        ("1 < value", {"$gt": {"value": hi(1)}}),
        ("a == 2", {"$and": [{"$gte": {"a": lo(2)}}, {"$lte": {"a": hi(2)}}]}),
        ("a != 2", {"$or": [{"$lt": {"a": lo(2)}}, {"$gt": {"a": hi(2)}}]}),
        ("not (a > 1)", {"$lte": {"a": hi(1)}}),
        ("not p", {"p": False}),
        ("p == false", {"p": False}),
        ("p != true", {"$neq": {"p": True}}),
        ("not (p and q)", {"$or": [{"p": False}, {"q": False}]}),
        ("not (p or not q)", {"$and": [{"p": False}, {"q": True}]}),
        ("p or q or (p and q)", {"$or": [{"p": True}, {"q": True}, {"$and": [{"p": True}, {"q": True}]}]}),
        ("s != 'x'", {"$neq": {"s": "x"}}),
        ("s < '检察'", {"$lt": {"s": "检察"}}),
        ("d1 < date('2020-07-01')", {"$lt": {"d1": "2020-07-01"}}),
        ("rating not in ['good', 'flawed']", {"$and": [{"$neq": {"rating": "good"}}, {"$neq": {"rating": "flawed"}}]}),
        ("not (rating in ['good'])", {"$neq": {"rating": "good"}}),
        ("rating in ['good', '良好']", {"rating": "good"}),
        ("a in [1, 2]", {"$or": [{"$and": [{"$gte": {"a": lo(1)}}, {"$lte": {"a": hi(1)}}]},
                                 {"$and": [{"$gte": {"a": lo(2)}}, {"$lte": {"a": hi(2)}}]}]}),
    ],
)
def test_translation_of_the_safe_subset(text: str, expected: dict[str, Any]) -> None:
    assert tr(text) == expected


@pytest.mark.parametrize(
    ("text", "position"),
    [
        ("a + 1 > 2", 0), ("a > b", 4), ("abs(a) > 1", 0), ("true", 0), ("p and true", 6),
        ("a / 2", 0), ("a in [b]", 6), ("coalesce(p, false)", 0), ("if(p, q, false)", 0),
        ("days_between(d1, date('2020-07-01')) > 3", 0), ("1 > 2", 0), ("-a < 0", 0),
    ],
)
def test_untranslatable_conditions_raise_not_translatable(text: str, position: int) -> None:
    with pytest.raises(NotTranslatable) as err:
        tr(text)
    assert err.value.position == position
    assert "(" in err.value.message  # Chinese, then English in parentheses


def test_never_emits_not_div_or_regex_operators() -> None:
    text = json.dumps([tr(t) for t in ("not (p and a > 1)", "not (s == 'x' or rating in ['good'])")])
    assert "$not" not in text and "$div" not in text and "$mt" not in text


def test_not_translatable_is_not_a_definition_error() -> None:
    from rulesvc.engine.errors import DefinitionError

    assert not issubclass(NotTranslatable, DefinitionError)


# -- the translation agrees with the Python executor when durable runs it ---------------------------

def dumps(o: Any) -> str:
    """JSON with floats never in exponent form (H2) and raw UTF-8 (H17)."""
    if isinstance(o, float):
        assert math.isfinite(o)
        text = repr(o)
        return format(Decimal(text), "f") if "e" in text or "E" in text else text
    if isinstance(o, dict):
        return "{" + ",".join(f"{json.dumps(k, ensure_ascii=False)}:{dumps(v)}" for k, v in o.items()) + "}"
    if isinstance(o, list):
        return "[" + ",".join(dumps(v) for v in o) + "]"
    return json.dumps(o, ensure_ascii=False)


_counter = iter(range(10**9))


def durable_firings(condition: dict[str, Any], facts: list[dict[str, Any]]) -> Iterator[int]:
    """For each fact, how many times a one-rule ruleset with ``condition`` fired."""
    handle = engine.create_ruleset(f"expr_test_{next(_counter)}", dumps({"r": {"all": [{"m": condition}]}}))
    try:
        for i, fact in enumerate(facts):
            sid = f"s{next(_counter)}"
            body = {k: v for k, v in fact.items() if v is not None} | {"id": f"f{i}", "sid": sid}
            code, state = engine.assert_fact(handle, dumps(body))[:2]
            fired = 0
            if code == 0:
                result = engine.start_action_for_state(handle, state)
                while result:
                    fired += 1
                    result = engine.complete_and_start_action(handle, state)
            yield fired
    finally:
        engine.delete_ruleset(handle)


FACTS: list[dict[str, Any]] = [
    {"a": 1.0, "b": 2.0, "value": 0.9, "p": True, "q": False, "s": "x", "d1": "2020-06-30",
     "plea_leniency": True, "sentencing_rec": "definite", "rating": "flawed", "reviewer_level": "province"},
    {"a": 2.0, "value": 0.8999999999, "p": False, "q": True, "s": "检察", "d1": "2020-07-01",
     "plea_leniency": False, "sentencing_rec": "range", "rating": "good", "reviewer_level": "city"},
    {"a": 57 / 100 * 100, "value": 0.57, "p": True, "q": True, "s": "y", "d1": "2020-07-02",
     "rating": "failed"},
    {"a": 1.0000000001, "value": 0.0, "p": False, "q": False, "s": "", "plea_leniency": True},
    {"a": -3.0, "value": -1e-12},
    {},
]

CONDITIONS = [
    "plea_leniency and sentencing_rec == 'definite'", "rating in ['flawed', 'failed'] and reviewer_level == 'province'",
    "value >= 0.9", "value > 0.9", "value < 0.9", "value <= 0.9", "value == 0", "value != 0", "a == 57",
    "a >= 57", "a == 1", "a != 1", "a in [1, 2, 57]", "a not in [1, 2]", "not (a > 1)", "-3 >= a",
    "p", "not p", "p == false", "p != true", "not (p and q)", "not (p or q)", "p or q", "p and not q",
    "s == 'x'", "s != 'x'", "s < '检察'", "s >= 'x'", "s in ['x', 'y', '检察']",
    "d1 < date('2020-07-01')", "d1 >= date('2020-07-01')", "d1 != date('2020-07-01')",
    "rating not in ['good']", "not (rating in ['good', 'flawed'] or plea_leniency)",
]


@pytest.mark.parametrize("text", CONDITIONS)
def test_durable_fires_exactly_when_the_python_predicate_matches(text: str) -> None:
    expr = parse(text, SCOPE)
    match = compile_predicate(expr)
    firings = list(durable_firings(compile_durable(expr), FACTS))
    assert [f > 0 for f in firings] == [match(f) for f in FACTS]


@pytest.mark.parametrize("text", [t for t in CONDITIONS if " in [" in t and " or " not in t and "not (" not in t])
def test_in_never_fires_twice_because_its_branches_exclude_each_other(text: str) -> None:
    assert max(durable_firings(tr(text), FACTS)) <= 1  # unlike a general `or` (H15)


def test_or_fires_once_per_true_branch_so_callers_must_deduplicate() -> None:
    assert list(durable_firings(tr("p or q"), [{"p": True, "q": True}])) == [2]
