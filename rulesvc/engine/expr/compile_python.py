"""Compile a tree into a tree of Python closures (no ``exec``): the per-subject path.

The closure takes one mapping (an event's fields, a subject's metrics, ``{"value": …}``) and
returns the value: a float, a bool, a str, a ``datetime.date`` or ``None`` (null). A missing key is
null; a number that is NaN or infinite is read as null; a date may be a ``date`` or ISO text. A value
of the wrong type raises :class:`BadValueError` (an ``EvaluationError``): coerce through the data
dictionary first.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Any

from rulesvc.engine.expr import semantics as sem
from rulesvc.engine.expr.errors import BadValueError
from rulesvc.engine.expr.functions import FUNCTIONS
from rulesvc.engine.expr.nodes import (
    Arith,
    Bool,
    Call,
    Compare,
    DateLit,
    Expr,
    In,
    Logic,
    Name,
    Neg,
    Node,
    Not,
    Null,
    Num,
    Str,
)

Row = Mapping[str, Any]
Fn = Callable[[Row], Any]

_isfinite = math.isfinite
_date = dt.date


def compile_python(expr: Expr | Node) -> Fn:
    """A function ``row -> value`` computing ``expr`` with the language's semantics."""
    return _compile(expr.root if isinstance(expr, Expr) else expr)


def compile_predicate(expr: Expr | Node) -> Callable[[Row], bool]:
    """A function ``row -> bool`` for a filter or condition: a null result counts as not matched."""
    root = expr.root if isinstance(expr, Expr) else expr
    fn = _compile(root)
    if isinstance(root, Name) and root.type.kind == "bool":  # ``where: responsible``
        key = root.name

        def flag(row: Row) -> bool:
            v = row.get(key)
            return v is True or (v is not None and v is not False and fn(row) is True)

        return flag
    return lambda row: fn(row) is True


def split_lookup(expr: Expr | Node) -> tuple[str, str | bool, Callable[[Row], bool | None] | None] | None:
    """``kind == 'protest' and outcome != 'pending'`` → ``("kind", "protest", <outcome != 'pending'>)``;
    ``plea_leniency and appealed`` → ``("plea_leniency", True, <appealed>)``.

    For a filter that requires a text field to equal a constant, or a flag to be true (alone, or as
    one operand of a top-level ``and``): the field, the value and a predicate for the rest (``None``
    when nothing is left; it answers true, false or null — use it as a truth value). An executor can then look the events up by that field's value and test only the rest:
    the filter is true exactly when the field equals the constant and the rest is true. (Unlike the
    whole filter, the rest is not evaluated for rows whose field differs, so a wrong-typed value in
    *another* field of such a row raises nothing; rows that went through the data dictionary have
    none.) ``None`` when the filter has no such conjunct."""
    root = expr.root if isinstance(expr, Expr) else expr
    operands = root.operands if isinstance(root, Logic) and root.op == "and" else (root,)
    keys: list[tuple[int, int, str, str | bool]] = []  # (preference, position, field, value)
    for i, node in enumerate(operands):
        if (isinstance(node, Compare) and node.op == "==" and isinstance(node.left, Name)
                and node.left.type.kind in ("string", "enum") and isinstance(node.right, Str)):
            keys.append((0, i, node.left.name, node.right.value))  # usually the narrower group
        elif isinstance(node, Name) and node.type.kind == "bool":
            keys.append((1, i, node.name, True))
    if not keys:
        return None
    _, i, name, value = min(keys)
    rest = operands[:i] + operands[i + 1:]
    if not rest:
        return name, value, None
    return name, value, _compile(rest[0] if len(rest) == 1 else Logic(root.pos, "and", rest))


def _const(v: Any) -> Fn:
    return lambda row: v


def _compile(node: Node) -> Fn:
    if isinstance(node, Num | Str | Bool | DateLit):
        return _const(node.value)
    if isinstance(node, Null):
        return _const(None)
    if isinstance(node, Name):
        return _name(node)
    if isinstance(node, Neg):
        f = _compile(node.operand)

        def neg(row: Row) -> Any:
            a = f(row)
            return None if a is None else -a

        return neg
    if isinstance(node, Not):
        f = _compile(node.operand)

        def not_(row: Row) -> Any:
            a = f(row)
            return None if a is None else not a

        return not_
    if isinstance(node, Arith):
        return _arith(node.op, _compile(node.left), _compile(node.right))
    if isinstance(node, Compare):
        op: Callable[[Any, Any], Any]
        number = node.left.type.kind == "number" or node.right.type.kind == "number"
        op = sem.NUMBER_COMPARE[node.op] if number else _EXACT[node.op]
        if isinstance(node.left, Name) and isinstance(node.right, Num | Str):
            return _compare_name_const(node.op, op, node.left, node.right.value)
        if isinstance(node.right, Num | Str):  # ``days_between(a, b) <= 45``
            return _compare_const(op, _compile(node.left), node.right.value)
        return _binary(op, _compile(node.left), _compile(node.right))
    if isinstance(node, Logic):
        return _logic(node.op, [_compile(o) for o in node.operands])
    if isinstance(node, In):
        if (node.item.type.kind in ("string", "enum") and isinstance(node.item, Name)
                and all(isinstance(o, Str) for o in node.options)):
            return _in_texts(node)
        return _in(node)
    if isinstance(node, Call):
        return _call(node)
    raise TypeError(f"unknown node {node!r}")


def _binary(op: Callable[[Any, Any], Any], lf: Fn, rf: Fn) -> Fn:
    def binary(row: Row) -> Any:
        a = lf(row)
        if a is None:
            return None
        b = rf(row)
        if b is None:
            return None
        return op(a, b)

    return binary


def _arith(op: str, lf: Fn, rf: Fn) -> Fn:
    # The four common operators inlined (this is the per-subject hot path); ``x - x == 0.0`` is
    # false exactly for NaN and ±inf. ``%`` goes through semantics.mod.
    if op == "+":

        def add(row: Row) -> Any:
            a = lf(row)
            if a is None:
                return None
            b = rf(row)
            if b is None:
                return None
            x = a + b
            return x if x - x == 0.0 else None

        return add
    if op == "-":

        def sub(row: Row) -> Any:
            a = lf(row)
            if a is None:
                return None
            b = rf(row)
            if b is None:
                return None
            x = a - b
            return x if x - x == 0.0 else None

        return sub
    if op == "*":

        def mul(row: Row) -> Any:
            a = lf(row)
            if a is None:
                return None
            b = rf(row)
            if b is None:
                return None
            x = a * b
            return x if x - x == 0.0 else None

        return mul
    if op == "/":

        def div(row: Row) -> Any:
            a = lf(row)
            if a is None:
                return None
            b = rf(row)
            if b is None or b == 0.0:
                return None
            x = a / b
            return x if x - x == 0.0 else None

        return div
    return _binary(sem.ARITH[op], lf, rf)


_EXACT: dict[str, Callable[[Any, Any], bool]] = {
    "==": lambda a, b: a == b, "!=": lambda a, b: a != b, "<": lambda a, b: a < b,
    "<=": lambda a, b: a <= b, ">": lambda a, b: a > b, ">=": lambda a, b: a >= b,
}


def _compare_name_const(op_text: str, op: Callable[[Any, Any], Any], name: Name, c: Any) -> Fn:
    """``field <op> constant`` in one closure: the shape of nearly every event filter, so the
    per-subject hot path. A value of the expected class is compared at once; anything else (null,
    an int, a str subclass, a wrong type) goes through the general field reader first."""
    key = name.name
    read = _name(name)
    if name.type.kind in ("string", "enum") and c.__class__ is str:
        if op_text == "==":

            def text_eq(row: Row) -> Any:
                v = row.get(key)
                if v.__class__ is str:
                    return v == c
                v = read(row)
                return None if v is None else v == c

            return text_eq
        if op_text == "!=":

            def text_ne(row: Row) -> Any:
                v = row.get(key)
                if v.__class__ is str:
                    return v != c
                v = read(row)
                return None if v is None else v != c

            return text_ne
    if name.type.kind == "number" and c.__class__ is float:

        def number_cmp(row: Row) -> Any:
            v = row.get(key)
            if v.__class__ is float and v - v == 0.0:
                return op(v, c)
            v = read(row)
            return None if v is None else op(v, c)

        return number_cmp
    return _binary(op, read, _const(c))


def _compare_const(op: Callable[[Any, Any], Any], lf: Fn, c: Any) -> Fn:
    def compare_const(row: Row) -> Any:
        a = lf(row)
        return None if a is None else op(a, c)

    return compare_const


def _in_texts(node: In) -> Fn:
    """``text_field in ['a', 'b']``: a set lookup (every option is a text constant, none null)."""
    read = _name(node.item)  # type: ignore[arg-type]
    key = node.item.name  # type: ignore[attr-defined]
    options = frozenset(o.value for o in node.options)  # type: ignore[attr-defined]
    negated = node.negated

    def in_texts(row: Row) -> Any:
        v = row.get(key)
        if v.__class__ is not str:
            v = read(row)
            if v is None:
                return None
        return (v in options) is not negated

    return in_texts


def _logic(op: str, fs: list[Fn]) -> Fn:
    # Kleene: a definite answer (false for and, true for or) wins over null.
    stop = op == "or"
    if len(fs) == 2:  # the usual case, unrolled
        f0, f1 = fs

        def logic2(row: Row) -> Any:
            a = f0(row)
            if a is stop:
                return stop
            b = f1(row)
            if b is stop:
                return stop
            return None if a is None or b is None else not stop

        return logic2

    def logic(row: Row) -> Any:
        unknown = False
        for f in fs:
            v = f(row)
            if v is None:
                unknown = True
            elif v is stop:
                return stop
        return None if unknown else not stop

    return logic


def _in(node: In) -> Fn:
    item = _compile(node.item)
    eq = sem.num_eq if node.item.type.kind == "number" else _EXACT["=="]
    opts = [_compile(o) for o in node.options]
    negated = node.negated

    def in_(row: Row) -> Any:
        a = item(row)
        if a is None:
            return None
        unknown = False
        for o in opts:
            b = o(row)
            if b is None:
                unknown = True
            elif eq(a, b):
                return not negated
        return None if unknown else negated

    return in_


def _call(node: Call) -> Fn:
    impl = FUNCTIONS[node.name.lower()].python
    fs = [_compile(a) for a in node.args]
    if len(fs) == 1:
        (f0,) = fs
        return lambda row: impl(f0(row))
    if len(fs) == 2:
        f0, f1 = fs
        return lambda row: impl(f0(row), f1(row))
    return lambda row: impl(*[f(row) for f in fs])


def _name(node: Name) -> Fn:
    key = node.name
    kind = node.type.kind

    def bad(v: Any) -> Any:
        raise BadValueError(
            f"“{key}”的值应为{node.type.zh}，实际为 {v!r} ('{key}' must be {node.type.en}, got {v!r})",
            name=key, value=v,
        )

    if kind == "number":

        def number(row: Row) -> Any:
            v: Any = row.get(key)
            c = v.__class__
            try:
                if c is float:
                    return v if v - v == 0.0 else None
                if c is int:
                    return float(v)
            except OverflowError:  # an int beyond the float range
                return None
            if v is None:
                return None
            if isinstance(v, int | float | Decimal) and not isinstance(v, bool):
                try:
                    f = float(v)
                except (OverflowError, ValueError):  # beyond the float range; Decimal('sNaN')
                    return None
                return f if _isfinite(f) else None
            return bad(v)

        return number
    if kind == "bool":

        def boolean(row: Row) -> Any:
            v = row.get(key)
            if v is None or v is True or v is False:
                return v
            return bad(v)

        return boolean
    if kind == "date":

        def date(row: Row) -> Any:
            v = row.get(key)
            if v.__class__ is _date or v is None:
                return v
            if isinstance(v, dt.datetime):
                return v.date()
            if isinstance(v, dt.date):
                return v
            if isinstance(v, str) and len(v) == 10:
                try:
                    return dt.date.fromisoformat(v)
                except ValueError:
                    pass
            return bad(v)

        return date

    def text(row: Row) -> Any:
        v = row.get(key)
        if v is None or v.__class__ is str or isinstance(v, str):
            return v
        return bad(v)

    return text
