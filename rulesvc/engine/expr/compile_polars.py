"""Compile a tree into one polars expression: the column-wise path over many subjects or events.

Names are columns. Column dtypes must match the scope: numbers any numeric dtype (read as Float64,
NaN and ±inf read as null), ``bool`` Boolean, ``string``/``enum`` String (or Categorical/Enum),
``date`` Date (cast ISO text with ``str.to_date()`` first). The semantics are the ones of
``semantics.py``, rule for rule — the tests hold the two compilers to the same answers.

The only module of the language that imports polars.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from functools import reduce

import polars as pl

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
    walk,
)
from rulesvc.engine.expr.semantics import MOD_QUOTIENT_LIMIT, ROUND_SLACK, TOLERANCE

_DTYPES: dict[str, pl.DataType] = {
    "number": pl.Float64(), "bool": pl.Boolean(), "string": pl.String(), "enum": pl.String(), "date": pl.Date(),
}


def compile_polars(expr: Expr | Node) -> pl.Expr:
    """A polars expression computing ``expr`` for every row (use it in ``with_columns``/``select``)."""
    return _c(expr.root if isinstance(expr, Expr) else expr, None)


def compile_polars_predicate(expr: Expr | Node) -> pl.Expr:
    """A Boolean mask for a filter or condition: a null result counts as not matched (false)."""
    return compile_polars(expr).fill_null(False)


def _finite(e: pl.Expr) -> pl.Expr:
    """NaN and ±inf become null. ``replace`` mentions ``e`` once: ``when(e.is_finite()).then(e)`` copies
    it, and nested arithmetic then doubles the expression at every operator (a 16-term sum took 17 s)."""
    return e.replace([math.inf, -math.inf, math.nan], None)


def _lit(value: object, kind: str) -> pl.Expr:
    return pl.lit(value, dtype=_DTYPES.get(kind))


def _c(node: Node, hint: str | None) -> pl.Expr:
    """``hint`` is the kind the context wants, so a ``null`` literal gets a definite dtype."""
    if isinstance(node, Num | Str | Bool | DateLit):
        return _lit(node.value, node.type.kind)
    if isinstance(node, Null):
        return pl.lit(None, dtype=_DTYPES.get(hint or "")) if hint in _DTYPES else pl.lit(None)
    if isinstance(node, Name):
        col = pl.col(node.name)
        kind = node.type.kind
        if kind == "number":
            return _finite(col.cast(pl.Float64))
        return col.cast(_DTYPES[kind])
    if isinstance(node, Neg):
        return -_c(node.operand, "number")
    if isinstance(node, Not):
        return ~_c(node.operand, "bool")
    if isinstance(node, Arith):
        return _ARITH[node.op](_c(node.left, "number"), _c(node.right, "number"))
    if isinstance(node, Compare):
        numeric = node.left.type.kind == "number" or node.right.type.kind == "number"
        return _compare(node.op, node.left, node.right, numeric)
    if isinstance(node, Logic):
        parts = [_c(o, "bool") for o in node.operands]
        # polars' & and | on Boolean are Kleene, like the language.
        return reduce((lambda a, b: a | b) if node.op == "or" else (lambda a, b: a & b), parts)
    if isinstance(node, In):
        numeric = node.item.type.kind == "number"
        hit = reduce(lambda a, b: a | b, [_compare("==", node.item, o, numeric) for o in node.options])
        return ~hit if node.negated else hit
    if isinstance(node, Call):
        fn = FUNCTIONS[node.name.lower()]
        hints = [node.type.kind if fn.param(i) == "T" else fn.param(i) for i in range(len(node.args))]
        return _FUNCTIONS[node.name.lower()](node, [_c(a, h) for a, h in zip(node.args, hints, strict=True)])
    raise TypeError(f"unknown node {node!r}")


_MIRROR = {"==": "==", "!=": "!=", "<": ">", "<=": ">=", ">": "<", ">=": "<="}


def _compare(op: str, left: Node, right: Node, numeric: bool) -> pl.Expr:
    # A constant on the left is written on the right (c < x → x > c; the same value in our
    # semantics): polars 2.1 fails to broadcast `lit("x") == e` when e comes out with one row, as
    # `when(all true).then(lit("x")).otherwise(col("s"))` does ("Series length 1 doesn't match").
    # Constant by its tree (no name in it), or by what it compiles to: `coalesce('', s)` stops at its
    # literal and is `lit('')` (found by the fuzz test: `coalesce('', s) < if(q, '检察', 'x')`).
    le, re = _c(left, right.type.kind), _c(right, left.type.kind)
    left_const = _constant(left) or le.meta.is_literal()
    right_const = _constant(right) or re.meta.is_literal()
    if left_const and not right_const:
        le, re, op = re, le, _MIRROR[op]
    return (_NUMBER_COMPARE if numeric else _EXACT)[op](le, re)


def _constant(node: Node) -> bool:
    return not any(isinstance(n, Name) for n in walk(node))


def exact(divisor: pl.Expr) -> pl.Expr:
    """A divisor polars divides by exactly.

    polars 2.1 divides a column by a *scalar* (a literal, or a broadcast constant column) by multiplying
    with its reciprocal: 100 / 6 gives 16.666666666666664, not Python's …668, and a tier boundary can
    flip. Adding a real zero column makes the divisor a full column, which takes the exact path.
    """
    return divisor + pl.int_range(pl.len()).cast(pl.Float64) * 0.0


def _div(a: pl.Expr, b: pl.Expr) -> pl.Expr:
    return pl.when(b != 0.0).then(_finite(a / exact(b)))


def _mod(a: pl.Expr, b: pl.Expr) -> pl.Expr:
    # a - b * floor(a / b), spelled out exactly as semantics.mod computes it.
    q = a / exact(b)
    ok = (b != 0.0) & q.is_finite() & (q.abs() < MOD_QUOTIENT_LIMIT)
    return pl.when(ok).then(_finite(a - b * q.floor()))


_ARITH: dict[str, Callable[[pl.Expr, pl.Expr], pl.Expr]] = {
    "+": lambda a, b: _finite(a + b),
    "-": lambda a, b: _finite(a - b),
    "*": lambda a, b: _finite(a * b),
    "/": _div,
    "%": _mod,
}


def _close(a: pl.Expr, b: pl.Expr) -> pl.Expr:
    d = (a - b).abs()
    return (d <= TOLERANCE) | (d <= TOLERANCE * pl.max_horizontal(a.abs(), b.abs()))


_NUMBER_COMPARE: dict[str, Callable[[pl.Expr, pl.Expr], pl.Expr]] = {
    "==": _close,
    "!=": lambda a, b: ~_close(a, b),
    "<": lambda a, b: (a < b) & ~_close(a, b),
    "<=": lambda a, b: (a < b) | _close(a, b),
    ">": lambda a, b: (a > b) & ~_close(a, b),
    ">=": lambda a, b: (a > b) | _close(a, b),
}

_EXACT: dict[str, Callable[[pl.Expr, pl.Expr], pl.Expr]] = {
    "==": lambda a, b: a == b, "!=": lambda a, b: a != b, "<": lambda a, b: a < b,
    "<=": lambda a, b: a <= b, ">": lambda a, b: a > b, ">=": lambda a, b: a >= b,
}


def _round(node: Call, args: list[pl.Expr]) -> pl.Expr:
    digits = node.args[1] if len(node.args) > 1 else None
    n = int(digits.value) if isinstance(digits, Num) else 0  # the checker allows only a constant
    x = args[0]
    scale = 10.0 ** abs(n)
    y = _finite(x * scale if n >= 0 else x / exact(pl.lit(scale)))
    a = y.abs()
    f = a.floor()
    r = pl.when(a - f >= 0.5 - ROUND_SLACK).then(f + 1.0).otherwise(f)
    r = pl.when(y < 0.0).then(-r).otherwise(r)
    return _finite(r / exact(pl.lit(scale)) if n >= 0 else r * scale)


def _clip(node: Call, args: list[pl.Expr]) -> pl.Expr:
    x, lo, hi = args
    return pl.when(x.is_not_null()).then(pl.min_horizontal(pl.max_horizontal(x, lo), hi))


def _days_between(node: Call, args: list[pl.Expr]) -> pl.Expr:
    d1, d2 = args
    return (d2.cast(pl.Date) - d1.cast(pl.Date)).dt.total_days().cast(pl.Float64)


def _coalesce(node: Call, args: list[pl.Expr]) -> pl.Expr:
    # A non-null literal always wins, so nothing after it matters. Cutting the list there also avoids
    # a polars 2.1 bug: `lit("x") == pl.coalesce(lit("x"), col("s"))` comes out with length 1 and
    # fails to broadcast ("Series length 1 doesn't match the DataFrame height").
    for i, a in enumerate(node.args):
        if isinstance(a, Num | Str | Bool | DateLit):
            args = args[: i + 1]
            break
    return args[0] if len(args) == 1 else pl.coalesce(args)


def _if(node: Call, args: list[pl.Expr]) -> pl.Expr:
    cond, a, b = args
    return pl.when(cond).then(a).otherwise(b)


#: The column-wise twin of every entry in ``functions.FUNCTIONS``.
_FUNCTIONS: dict[str, Callable[[Call, list[pl.Expr]], pl.Expr]] = {
    "min": lambda node, args: pl.min_horizontal(args),
    "max": lambda node, args: pl.max_horizontal(args),
    "abs": lambda node, args: args[0].abs(),
    "round": _round,
    "coalesce": lambda node, args: _coalesce(node, args),
    "if": _if,
    "days_between": _days_between,
    "clip": _clip,
}


def missing_functions() -> list[str]:
    """Registered functions without a polars implementation (a test keeps this empty)."""
    return sorted(set(FUNCTIONS) - set(_FUNCTIONS))
