"""The formula language: syntax, precedence, literals, canonical text, and syntax errors with positions."""

from __future__ import annotations

import datetime as dt

import pytest

from rulesvc.engine.errors import DefinitionError
from rulesvc.engine.expr import (
    BOOL,
    DATE,
    MAX_DEPTH,
    MAX_LENGTH,
    NUMBER,
    STRING,
    ExpressionError,
    compile_python,
    enum,
    free_names,
    parse,
    to_text,
)
from rulesvc.engine.expr.nodes import Arith, Compare, DateLit, In, Logic, Name, Not, Num, Str

SCOPE = {
    "a": NUMBER, "b": NUMBER, "c": NUMBER, "cases": NUMBER, "returns": NUMBER, "extensions": NUMBER,
    "plea_rate": NUMBER, "plea": BOOL, "closed": BOOL, "name": STRING, "filed_on": DATE,
    "decision": enum({"prosecute": "起诉", "not_prosecute": "不起诉"}), "起诉人数": NUMBER, "认罪人数": NUMBER,
}


def canon(text: str) -> str:
    return to_text(parse(text, SCOPE))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("a + b * c", "a + b * c"),
        ("(a + b) * c", "(a + b) * c"),
        ("a - (b - c)", "a - (b - c)"),
        ("a - b - c", "a - b - c"),
        ("a / b / c", "a / b / c"),
        ("a / (b * c)", "a / (b * c)"),
        ("-a * b", "-a * b"),
        ("-(a + b)", "-(a + b)"),
        ("--a", "-(-a)"),
        ("plea or closed and a > 1", "plea or closed and a > 1"),
        ("(plea or closed) and a > 1", "(plea or closed) and a > 1"),
        ("not plea and closed", "not plea and closed"),
        ("not (plea and closed)", "not (plea and closed)"),
        ("not a > 1", "not a > 1"),
        ("a or (b > 1 or c > 1)".replace("a or", "plea or"), "plea or b > 1 or c > 1"),
        ("(cases + returns + extensions) / cases", "(cases + returns + extensions) / cases"),
        ("a%b", "a % b"),
    ],
)
def test_precedence_and_canonical_text(text: str, expected: str) -> None:
    assert canon(text) == expected


def test_multiplication_binds_tighter_than_addition_in_the_tree() -> None:
    root = parse("a + b * c", SCOPE).root
    assert isinstance(root, Arith) and root.op == "+" and isinstance(root.right, Arith) and root.right.op == "*"


def test_not_binds_looser_than_comparison() -> None:
    root = parse("not a > 1", SCOPE).root
    assert isinstance(root, Not) and isinstance(root.operand, Compare)


def test_and_binds_tighter_than_or_and_same_operators_flatten() -> None:
    root = parse("plea or closed and plea or closed", SCOPE).root
    assert isinstance(root, Logic) and root.op == "or" and len(root.operands) == 3
    assert isinstance(root.operands[1], Logic) and root.operands[1].op == "and"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("plea && closed || !plea", "plea and closed or not plea"),
        ("plea 且 closed 或 非 plea", "plea and closed or not plea"),
        ("plea AND closed Or NOT plea", "plea and closed or not plea"),
        ("a ≥ 1 and b ≤ 2 and c ≠ 3", "a >= 1 and b <= 2 and c != 3"),
        ("max（a，b）＞＝１", "max(a, b) >= 1"),
        ("MAX(a, b) + Round(c)", "max(a, b) + round(c)"),
        ("decision == “起诉”", "decision == 'prosecute'"),
        ("name == ‘张三’", "name == '张三'"),
        ("name == \"it's\"", "name == 'it\\'s'"),
        ("起诉人数 / 认罪人数", "起诉人数 / 认罪人数"),
        # a definition as documents write it (the editor's help names × and ÷; they were refused)
        ("起诉人数÷认罪人数×100% − 1", "起诉人数 / 认罪人数 * 1 - 1"),
        ("a not in [1, 2]", "a not in [1, 2]"),
    ],
)
def test_synonyms_normalise_to_the_canonical_operators(text: str, expected: str) -> None:
    assert canon(text) == expected


@pytest.mark.parametrize(
    ("text", "value"),
    [("12", 12.0), ("0.5", 0.5), (".5", 0.5), ("1e3", 1000.0), ("2.5E-2", 0.025), ("84.4%", 0.844),
     ("100%", 1.0), ("-3", -3.0), ("7%", 0.07)],
)
def test_number_literals(text: str, value: float) -> None:
    root = parse(text, SCOPE).root
    assert isinstance(root, Num) and root.value == value


def test_percent_literal_is_exact_decimal_not_float_division() -> None:
    # 84.4 / 100 in binary floating point is 0.8440000000000001; the literal is the number people wrote.
    assert parse("84.4%", SCOPE).root == Num(0, 0.844)


def test_percent_needs_to_touch_the_number_and_spaced_percent_is_remainder() -> None:
    assert compile_python(parse("7 % 4", SCOPE))({}) == 3.0
    assert compile_python(parse("a%4", SCOPE))({"a": 7}) == 3.0
    with pytest.raises(ExpressionError) as err:
        parse("10%3", SCOPE)
    assert err.value.position == 3


def test_string_and_date_and_keyword_literals() -> None:
    assert parse("'x\\'y'", SCOPE).root == Str(0, "x'y")
    assert parse("date('2020-07-01')", SCOPE).root == DateLit(0, dt.date(2020, 7, 1))
    assert to_text(parse("true or false or null", SCOPE)) == "true or false or null"


def test_full_width_text_inside_strings_is_kept_as_typed() -> None:
    assert parse("name == '（一）'", SCOPE).root.children()[1] == Str(0, "（一）")


def test_in_with_a_list_of_enum_labels_maps_them_to_keys() -> None:
    root = parse("decision in ['起诉', 'not_prosecute']", SCOPE).root
    assert isinstance(root, In) and [o for o in root.options] == [Str(0, "prosecute"), Str(0, "not_prosecute")]


def test_positions_are_offsets_into_the_original_text() -> None:
    root = parse("  a + （b）", SCOPE).root
    assert isinstance(root, Arith) and root.pos == 2 and isinstance(root.right, Name) and root.right.pos == 7


def test_free_names_in_order_of_first_use() -> None:
    assert free_names(parse("(cases + returns + extensions) / cases", SCOPE)) == ("cases", "returns", "extensions")
    assert free_names(parse("1 + 2", SCOPE)) == ()


@pytest.mark.parametrize(
    "text",
    ["a + b * c - -3", "round(a / b, 2) >= 84.4% or plea", "decision not in ['起诉'] and name == 'x\\\\y'",
     "if(plea, a, coalesce(b, 0)) % 2", "days_between(filed_on, date('2020-07-01')) > 30",
     "min(a, b, c) * 1e20 + 1.5e-07", "not not plea", "-(a * b) / -(c)"],
)
def test_canonical_text_parses_back_to_the_same_tree(text: str) -> None:
    e = parse(text, SCOPE)
    assert parse(to_text(e), SCOPE).root == e.root


# -- syntax errors: each kind, with its position ----------------------------------------------------


@pytest.mark.parametrize(
    ("text", "position", "fragment"),
    [
        ("", 0, "empty"),
        ("   ", 0, "empty"),
        ("a +", 3, "ends too early"),
        ("a + * b", 4, "unexpected '*'"),
        ("(a + b", 6, "')'"),
        ("a + b)", 5, "unexpected ')'"),
        ("a b", 2, "unexpected 'b'"),
        ("'abc", 0, "not closed"),
        ("“abc", 0, "not closed"),
        ("a = 1", 2, "'=='"),
        ("a <> 1", 2, "'!='"),
        ("plea & closed", 5, "'and'"),
        ("a ** 2", 2, "power"),
        ("a # b", 2, "unexpected character"),
        ("a < b < c", 6, "chained"),
        ("a == b in [1]", 7, "chained"),
        ("[1, 2]", 0, "only follow 'in'"),
        ("a in []", 6, "empty"),
        ("a in [1, 2", 10, "']'"),
        ("a in 1", 5, "'['"),
        ("max(a,", 6, "ends too early"),
        ("max(a b)", 6, "')'"),
        ("1e999", 0, "out of range"),
        ("date('2020-02-30')", 5, "literal date"),
        ("date(a)", 5, "literal date"),
        ("date()", 0, "literal date"),
    ],
)
def test_syntax_errors_say_where(text: str, position: int, fragment: str) -> None:
    with pytest.raises(ExpressionError) as err:
        parse(text, SCOPE, path="indicators.x.formula")
    e = err.value
    assert isinstance(e, DefinitionError)
    assert e.position == position, (e.position, e.message)
    assert fragment in e.message
    assert e.path == "indicators.x.formula" and e.expected
    assert "indicators.x.formula" in str(e)


def test_error_message_is_chinese_with_english_in_parentheses() -> None:
    with pytest.raises(ExpressionError) as err:
        parse("plea_rat * 100", SCOPE)
    e = err.value
    assert e.message == "未知名称“plea_rat”，是否为“plea_rate”？ (unknown name 'plea_rat'; did you mean 'plea_rate'?)"
    assert e.position == 0 and e.suggestion == "plea_rate"


def test_unknown_name_position_points_at_the_name() -> None:
    with pytest.raises(ExpressionError) as err:
        parse("cases / retruns", SCOPE)
    assert err.value.position == 8 and err.value.suggestion == "returns"
    assert err.value.caret().splitlines() == ["cases / retruns", "        ^"]


def test_chinese_names_glued_to_qie_get_a_spacing_hint() -> None:
    with pytest.raises(ExpressionError) as err:
        parse("起诉人数且认罪人数", SCOPE)
    assert "spaces around" in err.value.message


def test_unknown_function_suggests_the_registered_one() -> None:
    with pytest.raises(ExpressionError) as err:
        parse("1 + maxx(a, b)", SCOPE)
    assert err.value.position == 4 and err.value.suggestion == "max"


def test_function_name_without_parentheses_hints_at_them() -> None:
    with pytest.raises(ExpressionError) as err:
        parse("abs + 1", SCOPE)
    assert "parentheses" in err.value.message


def test_formula_longer_than_the_limit_is_refused() -> None:
    text = "a + " * (MAX_LENGTH // 4) + "a"
    with pytest.raises(ExpressionError) as err:
        parse(text, SCOPE)
    assert err.value.position == MAX_LENGTH and "too long" in err.value.message


@pytest.mark.parametrize(
    "text",
    ["(" * 60 + "a" + ")" * 60, "-" * 60 + "a", "not " * 60 + "plea", "abs(" * 60 + "a" + ")" * 60,
     " + ".join(["a"] * 60)],
)
def test_nesting_deeper_than_the_limit_is_a_definition_error(text: str) -> None:
    with pytest.raises(ExpressionError) as err:
        parse(text, SCOPE)
    assert "nested too deeply" in err.value.message and err.value.position is not None


def test_nesting_within_the_limit_is_fine() -> None:
    depth = MAX_DEPTH // 2
    e = parse("(" * depth + "a" + ")" * depth + " + " + " + ".join(["b"] * 20), SCOPE)
    assert compile_python(e)({"a": 1, "b": 1}) == 21.0


def test_long_and_chains_flatten_so_they_do_not_count_as_nesting() -> None:
    e = parse(" and ".join(["plea"] * 200), SCOPE)
    assert compile_python(e)({"plea": True}) is True
