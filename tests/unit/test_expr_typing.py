"""The formula language's compile-time type checks: what is refused, where, and what was expected."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from rulesvc.engine.expr import (
    BOOL,
    DATE,
    NULL,
    NUMBER,
    STRING,
    ExpressionError,
    Type,
    enum,
    parse,
    scope_of_fields,
    to_text,
)

DECISION = enum({"prosecute": "起诉", "not_prosecute": "不起诉"})
SCOPE: dict[str, Type] = {
    "cases": NUMBER, "value": NUMBER, "plea_leniency": BOOL, "name": STRING, "filed_on": DATE,
    "closed_on": DATE, "decision": DECISION, "decision2": DECISION,
    "rating": enum({"good": "良好", "flawed": "瑕疵"}),
}


def error_of(text: str, **kw: object) -> ExpressionError:
    with pytest.raises(ExpressionError) as err:
        parse(text, SCOPE, **kw)  # type: ignore[arg-type]
    return err.value


@pytest.mark.parametrize(
    ("text", "position", "expected"),
    [
        ("plea_leniency + 1", 0, "number"),
        ("cases + plea_leniency", 8, "number"),
        ("-name", 1, "number"),
        ("'9' > 10", 6, "string"),
        ("10 > '9'", 5, "number"),
        ("cases == true", 9, "number"),
        ("decision == 3", 12, "one of 'prosecute', 'not_prosecute'"),
        ("decision == 'maybe'", 12, "one of 'prosecute', 'not_prosecute'"),
        ("decision in ['起诉', 'maybe']", 19, "one of 'prosecute', 'not_prosecute'"),
        ("decision == rating", 12, "one of 'prosecute', 'not_prosecute'"),
        ("decision < 'prosecute'", 9, "'==' or '!='"),
        ("plea_leniency > false", 14, "'==' or '!='"),
        ("cases and plea_leniency", 0, "bool"),
        ("not cases", 4, "bool"),
        ("filed_on > 3", 11, "date"),
        ("cases == null", 9, "a value that is not null"),
        ("null != decision", 0, "a value that is not null"),
        ("abs(name)", 4, "number"),
        ("days_between(filed_on, cases)", 23, "date"),
        ("min(cases, filed_on)", 11, "number"),
        ("min(name, name)", 4, "number or date"),
        ("if(cases, 1, 2)", 3, "bool"),
        ("if(plea_leniency, 1, 'x')", 21, "number"),
        ("coalesce(cases, plea_leniency)", 16, "number"),
        ("round(cases, 11)", 13, "an integer constant"),
        ("round(cases, cases)", 13, "an integer constant"),
        ("abs(cases, 1)", 0, "abs(number) -> number"),
        ("clip(cases, 1)", 0, "clip(number, number, number) -> number"),
    ],
)
def test_type_errors_point_at_the_culprit_and_say_what_was_expected(text: str, position: int, expected: str) -> None:
    e = error_of(text)
    assert (e.position, e.expected) == (position, expected), e.message


def test_bool_field_in_arithmetic_message() -> None:
    e = error_of("plea_leniency + 1")
    assert e.message == (
        "“plea_leniency”是布尔（是/否），“+”两侧需要数值 "
        "('plea_leniency' is a bool; a number is expected on both sides of '+')"
    )


def test_string_compared_with_number_is_refused_not_compared_as_text() -> None:
    # durable_rules compares "9" > 10 as text (true); the language refuses it at definition time.
    e = error_of("'9' > 10")
    assert "compares different types" in e.message


def test_enum_literal_error_lists_the_choices_with_their_labels() -> None:
    e = error_of("decision == 'maybe'")
    assert "prosecute（起诉）、not_prosecute（不起诉）" in e.message
    assert "choices: prosecute, not_prosecute" in e.message


def test_enum_accepts_its_chinese_label_and_stores_the_key() -> None:
    assert to_text(parse("decision == '不起诉'", SCOPE)) == "decision == 'not_prosecute'"
    assert to_text(parse("'起诉' != decision", SCOPE)) == "'prosecute' != decision"
    assert to_text(parse("if(plea_leniency, decision, '起诉') == '不起诉'", SCOPE)) == (
        "if(plea_leniency, decision, 'prosecute') == 'not_prosecute'"
    )


def test_same_enum_compares_with_itself_and_with_plain_strings() -> None:
    assert parse("decision == decision2", SCOPE).type == BOOL
    assert parse("decision == name", SCOPE).type == BOOL


def test_comparison_with_null_suggests_coalesce() -> None:
    assert "coalesce" in error_of("cases == null").message


def test_null_literal_fits_anywhere_else() -> None:
    assert parse("cases + null", SCOPE).type == NUMBER
    assert parse("plea_leniency and null", SCOPE).type == BOOL
    assert parse("coalesce(null, cases)", SCOPE).type == NUMBER
    assert parse("if(plea_leniency, null, decision)", SCOPE).type == DECISION
    assert parse("null", SCOPE).type == NULL


def test_result_types() -> None:
    assert parse("cases / 2", SCOPE).type == NUMBER
    assert parse("max(filed_on, closed_on)", SCOPE).type == DATE
    assert parse("days_between(filed_on, closed_on)", SCOPE).type == NUMBER
    assert parse("decision in ['起诉']", SCOPE).type == BOOL
    assert parse("coalesce(name, decision)", SCOPE).type == STRING


@pytest.mark.parametrize(
    ("text", "expect", "zh"),
    [("cases / 2", BOOL, "条件"), ("cases > 2", NUMBER, "数值"), ("name", NUMBER, "数值")],
)
def test_expected_result_type_is_checked(text: str, expect: Type, zh: str) -> None:
    e = error_of(text, expect=expect, path="metrics.m.where")
    assert e.position == 0 and e.expected == expect.en and zh in e.message and e.path == "metrics.m.where"


def test_unknown_name_lists_the_scope_when_it_is_small() -> None:
    e = error_of("casse + 1")
    assert e.suggestion == "cases" and e.expected is not None and e.expected.startswith("one of: cases")


def test_unknown_name_is_matched_case_insensitively_for_the_suggestion() -> None:
    assert error_of("CASES + 1").suggestion == "cases"


def test_scope_from_dictionary_fields() -> None:
    fields = {
        "n": SimpleNamespace(type="int", choices=None),
        "f": SimpleNamespace(type="float", choices=None),
        "s": SimpleNamespace(type="str", choices=None),
        "b": SimpleNamespace(type="bool", choices=None),
        "d": SimpleNamespace(type="date", choices=None),
        "e": SimpleNamespace(type="enum", choices={"x": "甲"}),
    }
    scope = scope_of_fields(fields)
    assert scope == {"n": NUMBER, "f": NUMBER, "s": STRING, "b": BOOL, "d": DATE, "e": enum({"x": "甲"})}
    assert to_text(parse("e == '甲' and n > f", scope)) == "e == 'x' and n > f"


def test_parse_typed_takes_the_expected_type_by_name() -> None:
    from rulesvc.engine.expr import parse_typed

    assert parse_typed("cases > 1", SCOPE, want="bool").type == BOOL
    with pytest.raises(ExpressionError) as err:
        parse_typed("cases > 1", SCOPE, want="number", path="indicators.x.formula")
    assert err.value.path == "indicators.x.formula" and err.value.expected == "number"


def test_field_type_and_is_number() -> None:
    from rulesvc.engine.expr import field_type, is_number

    assert field_type("int", None) == NUMBER and is_number(field_type("float", None))
    assert field_type("enum", {"a": "甲"}) == enum({"a": "甲"}) and not is_number(field_type("date", None))
    with pytest.raises(ValueError):
        field_type("blob", None)
