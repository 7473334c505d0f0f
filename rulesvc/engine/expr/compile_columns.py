"""Compile a filter into a function over a block of rows taken column by column: the mask of the rows
where the filter is true. The per-subject executor filters a type's events with it: one C-level pass
per test (``map(operator.eq, column, repeat('prosecute'))``) instead of a closure call per row and node.

Exact by construction, never by approximation:

- Kleene logic is carried as two masks per node, *true* and *false* (``and``: true where both are
  true, false where either is false; ``or`` the dual; ``not`` swaps them); a null is in neither.
- Only tests whose column holds exactly the classes they expect are done column-wise (text
  ``==``/``!=``/``in`` over ``str`` or null, a flag over ``bool`` or null). Any other node — numbers
  (compared with a tolerance), dates, functions — is computed by the row closure of
  ``compile_python``, row by row, and read back as masks.
- When a column holds anything else (an int in a text field, a str subclass), :class:`Unsupported`
  is raised; so is any error of a row closure (it might be one the row-wise filter, which stops
  early, never meets). The caller then filters row by row as before, which decides or raises exactly
  as it always did.
"""

from __future__ import annotations

import datetime as dt
import operator
from collections.abc import Callable, Mapping, Sequence
from itertools import repeat
from typing import Any

from rulesvc.engine.expr.compile_python import compile_python
from rulesvc.engine.expr.nodes import Call, Compare, Expr, In, Logic, Name, Node, Not, Num, Str

Row = Mapping[str, Any]
Mask = list[bool]

_eq, _ne, _is, _is_not, _and, _or, _not = (operator.eq, operator.ne, operator.is_, operator.is_not, operator.and_,
                                           operator.or_, operator.not_)
_TEXT: frozenset[type] = frozenset({str, type(None)})
_FLAG: frozenset[type] = frozenset({bool, type(None)})
_DATE: frozenset[type] = frozenset({dt.date, type(None)})  # exactly date: a datetime is read as its date
_sub = operator.sub
_ORDER: dict[str, Callable[[Any, Any], bool]] = {"==": operator.eq, "!=": operator.ne, "<": operator.lt,
                                                 "<=": operator.le, ">": operator.gt, ">=": operator.ge}


class Unsupported(Exception):
    """This block cannot be filtered column-wise (filter it row by row)."""


class Block:
    """Rows (a subject's events of some types) with their columns extracted on demand, once each."""

    __slots__ = ("rows", "_columns", "_classes", "memo")

    def __init__(self, rows: Sequence[Row]) -> None:
        self.rows = rows
        self._columns: dict[str, list[Any]] = {}
        self._classes: dict[str, frozenset[type]] = {}
        self.memo: dict[Any, list[Any]] = {}  # masks of tests several filters share (kind == 'protest')

    def column(self, name: str) -> list[Any]:
        """The field's values, in row order (a missing field is null)."""
        col = self._columns.get(name)
        if col is None:
            try:
                col = list(map(dict.get, self.rows, repeat(name)))  # type: ignore[arg-type]
            except TypeError:  # rows that are mappings but not dicts
                col = [r.get(name) for r in self.rows]
            self._columns[name] = col
        return col

    def clean(self, name: str, allowed: frozenset[type]) -> list[Any]:
        """The column, if it holds only values of the ``allowed`` classes; else :class:`Unsupported`."""
        col = self.column(name)
        classes = self._classes.get(name)
        if classes is None:
            classes = self._classes[name] = frozenset(map(type, col))
        if not classes <= allowed:
            raise Unsupported(name)
        return col


MaskFn = Callable[[Block], Mask]


def compile_mask(expr: Expr | Node) -> MaskFn:
    """``block -> mask``: True for the rows where the (bool) filter is true, False where it is false
    or null. Raises :class:`Unsupported` when the block must be filtered row by row instead."""
    return _masks(expr.root if isinstance(expr, Expr) else expr)[0]


def _masks(node: Node) -> tuple[MaskFn, MaskFn]:
    """(true mask, false mask) of a bool node."""
    if isinstance(node, Logic):
        parts = [_masks(o) for o in node.operands]
        ts, fs = [p[0] for p in parts], [p[1] for p in parts]
        if node.op == "and":
            return _fold(_and, ts), _fold(_or, fs)
        return _fold(_or, ts), _fold(_and, fs)
    if isinstance(node, Not):
        t, f = _masks(node.operand)
        return f, t
    if isinstance(node, Name) and node.type.kind == "bool":
        return _flag(node.name, True), _flag(node.name, False)
    if (isinstance(node, Compare) and node.op in ("==", "!=") and isinstance(node.left, Name)
            and node.left.type.kind in ("string", "enum") and isinstance(node.right, Str)):
        eq, ne = _text_eq(node.left.name, node.right.value), _text_ne(node.left.name, node.right.value)
        return (eq, ne) if node.op == "==" else (ne, eq)
    if (isinstance(node, In) and isinstance(node.item, Name) and node.item.type.kind in ("string", "enum")
            and all(isinstance(o, Str) for o in node.options)):
        options = frozenset(o.value for o in node.options)  # type: ignore[attr-defined]
        inside, outside = _text_in(node.item.name, options), _text_not_in(node.item.name, options)
        return (outside, inside) if node.negated else (inside, outside)
    if _is_days_test(node):
        assert isinstance(node, Compare) and isinstance(node.left, Call) and isinstance(node.right, Num)
        first, second = (a.name for a in node.left.args)  # type: ignore[attr-defined]
        return _days_masks(node, first, second, _ORDER[node.op], int(node.right.value))
    return _row_wise(node)


def _is_days_test(node: Node) -> bool:
    """``days_between(d1, d2) <op> n`` for two date fields and a whole number n: day counts are whole,
    so the tolerance of number comparisons never applies (two whole numbers within 1e-9 relative of
    each other are equal) and the test is exact on ``timedelta``s."""
    return (isinstance(node, Compare) and isinstance(node.left, Call) and node.left.name.lower() == "days_between"
            and len(node.left.args) == 2
            and all(isinstance(a, Name) and a.type.kind == "date" for a in node.left.args)
            and isinstance(node.right, Num) and node.right.value.is_integer() and abs(node.right.value) < 1e8)


def _days_masks(node: Node, first: str, second: str, op: Callable[[Any, Any], bool], days: int) -> tuple[MaskFn, MaskFn]:
    limit = dt.timedelta(days=days)
    fallback_t, fallback_f = _row_wise(node)

    def true(block: Block) -> Mask:
        d1, d2 = block.clean(first, _DATE), block.clean(second, _DATE)
        if None in d1 or None in d2:  # a null day count: the row closure says null
            return fallback_t(block)
        return list(map(op, map(_sub, d2, d1), repeat(limit)))

    def false(block: Block) -> Mask:
        d1, d2 = block.clean(first, _DATE), block.clean(second, _DATE)
        if None in d1 or None in d2:
            return fallback_f(block)
        return list(map(_not, true(block)))

    return _memo(("days", first, second, op, days), true), false


def _fold(op: Callable[[Any, Any], Any], fns: list[MaskFn]) -> MaskFn:
    if len(fns) == 1:
        return fns[0]
    first, rest = fns[0], fns[1:]

    def fold(block: Block) -> Mask:
        mask = first(block)
        for fn in rest:
            mask = list(map(op, mask, fn(block)))
        return mask

    return fold


def _memo(key: tuple[Any, ...], compute: Callable[[Block], Mask]) -> MaskFn:
    def memo(block: Block) -> Mask:
        mask = block.memo.get(key)
        if mask is None:
            mask = block.memo[key] = compute(block)
        return mask

    return memo


def _flag(name: str, value: bool) -> MaskFn:
    return _memo(("flag", name, value),
                 lambda block: list(map(_is, block.clean(name, _FLAG), repeat(value))))


def _text_eq(name: str, c: str) -> MaskFn:
    return _memo(("eq", name, c), lambda block: list(map(_eq, block.clean(name, _TEXT), repeat(c))))


def _text_ne(name: str, c: str) -> MaskFn:
    def ne(block: Block) -> Mask:  # null is neither equal nor unequal
        col = block.clean(name, _TEXT)
        return list(map(_and, map(_is_not, col, repeat(None)), map(_ne, col, repeat(c))))

    return _memo(("ne", name, c), ne)


def _text_in(name: str, options: frozenset[str]) -> MaskFn:
    return _memo(("in", name, options), lambda block: list(map(options.__contains__, block.clean(name, _TEXT))))


def _text_not_in(name: str, options: frozenset[str]) -> MaskFn:
    def not_in(block: Block) -> Mask:
        col = block.clean(name, _TEXT)
        return list(map(_and, map(_is_not, col, repeat(None)), map(_not, map(options.__contains__, col))))

    return _memo(("not in", name, options), not_in)


def _row_wise(node: Node) -> tuple[MaskFn, MaskFn]:
    fn = compile_python(node)
    key = ("rows", id(fn))

    def values(block: Block) -> Mask:
        found = block.memo.get(key)
        if found is None:
            try:
                found = block.memo[key] = list(map(fn, block.rows))
            except Exception as exc:  # the row-wise filter may never have met this row: let it decide
                raise Unsupported(str(exc)) from exc
        return found

    return (lambda block: list(map(_is, values(block), repeat(True))),
            lambda block: list(map(_is, values(block), repeat(False))))


__all__ = ["Block", "Mask", "MaskFn", "Unsupported", "compile_mask"]
