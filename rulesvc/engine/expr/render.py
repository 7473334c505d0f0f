"""Text out of a tree: the canonical form (:func:`to_text`), the names used (:func:`free_names`) and an
explanation with the numbers filled in (:func:`explain`), e.g. ``(120 + 30 + 12) / 120 = 1.35``.

The canonical text parses back to an equal tree; it uses the ASCII operators and the fewest
parentheses that keep the tree's shape.
"""

from __future__ import annotations

import datetime as dt
import functools
import math
import re
from collections.abc import Callable, Mapping
from typing import Any

from rulesvc.engine.expr.compile_python import compile_python
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
from rulesvc.engine.expr.types import Type

# Binding strength: a child printed inside a parent needs at least the level the parent asks for.
_OR, _AND, _NOT, _CMP, _SUM, _PROD, _UNARY, _ATOM = range(1, 9)
_ARITH_LEVEL = {"+": _SUM, "-": _SUM, "*": _PROD, "/": _PROD, "%": _PROD}


def to_text(expr: Expr | Node) -> str:
    """The canonical text of ``expr``."""
    return _render(expr.root if isinstance(expr, Expr) else expr, _literal_name)[0]


def to_labeled_text(expr: Expr | Node, labels: Mapping[str, str]) -> str:
    """The canonical text with each name shown by its label in quotes (the data dictionary's and the
    scheme's Chinese names): ``“适用认罪认罚人数” / “审查起诉审结人数”``. Names without a label stay as they are."""

    def label(n: Name) -> tuple[str, int]:
        shown = labels.get(n.name)
        return (f"“{shown}”" if shown else n.name), _ATOM

    return _render(expr.root if isinstance(expr, Expr) else expr, label)[0]


def free_names(expr: Expr | Node) -> tuple[str, ...]:
    """The scope names ``expr`` reads, each once, in order of first appearance."""
    root = expr.root if isinstance(expr, Expr) else expr
    seen: dict[str, None] = {}
    for n in walk(root):
        if isinstance(n, Name):
            seen.setdefault(n.name, None)
    return tuple(seen)


def typed_names(expr: Expr | Node) -> dict[str, Type]:
    """The scope names ``expr`` reads with their declared types, in order of first appearance."""
    root = expr.root if isinstance(expr, Expr) else expr
    seen: dict[str, Type] = {}
    for n in walk(root):
        if isinstance(n, Name):
            seen.setdefault(n.name, n.vtype)
    return seen


def explain(expr: Expr | Node, values: Mapping[str, Any], compiled: Callable[[Mapping[str, Any]], Any] | None = None) -> str:
    """The formula with each name replaced by its value, then `` = `` and the result.

    ``explain(parse("(cases + returns + extensions) / cases", scope), {...})`` →
    ``"(120 + 30 + 12) / 120 = 1.35"``. Null is shown as ``null``. Pass ``compiled`` (the formula's
    ``compile_python`` closure) when you have it. To explain one formula many times, keep
    :func:`explainer`'s function instead.
    """
    return explainer(expr, compiled)(values)


_SLOT = re.compile("\\((\ue000(\\d+)\ue001)\\)|\ue000(\\d+)\ue001")


_UNSET: Any = object()


def explainer(expr: Expr | Node, compiled: Callable[[Mapping[str, Any]], Any] | None = None
              ) -> Callable[..., str]:
    """A function ``values -> explanation`` for one formula. The tree is rendered once, with a slot
    for each name; a call only fills the slots. A slot is bracketed where the tree would bracket a
    negative value (``1 - (-2)``) and only when the value is negative."""
    root = expr.root if isinstance(expr, Expr) else expr
    result = compiled or compile_python(root)
    names: list[Name] = []

    def slot(n: Name) -> tuple[str, int]:
        names.append(n)
        return f"\ue000{len(names) - 1}\ue001", 0  # rendered as if negative: bracketed wherever that needs it

    text = _render(root, slot)[0]
    slots = list(_SLOT.finditer(text))
    if [int(m.group(2) or m.group(3)) for m in slots] != list(range(len(names))):
        # A text literal that looks like a slot: render every time instead.
        return lambda values, value=_UNSET: _explain_slowly(root, values, result)
    pieces: list[tuple[str, str, bool, Callable[[Mapping[str, Any]], Any], bool]] = []
    pos = 0
    for i, m in enumerate(slots):
        n = names[i]
        pieces.append((text[pos:m.start()], n.name, n.type.kind == "number", _reader(n), m.group(2) is not None))
        pos = m.end()
    tail = text[pos:]

    def fill(values: Mapping[str, Any], value: Any = _UNSET) -> str:
        if value is _UNSET:  # the caller may have computed it already (it is result(values))
            value = result(values)
        out = []
        for before, key, number, read, bracket in pieces:
            out.append(before)
            v = values.get(key)
            if number and v.__class__ is float and v - v == 0.0:  # what the reader returns as is: format it
                shown = str(int(v)) if v.is_integer() and abs(v) < 1e16 else f"{v:.10g}"
            else:
                shown = format_value(read(values))  # read as the formula reads it: 5 → 5.0, ISO text → date
            out.append(f"({shown})" if bracket and shown.startswith("-") else shown)
        out.append(tail)
        out.append(" = ")
        out.append(format_value(value))
        return "".join(out)

    return fill


def _explain_slowly(root: Node, values: Mapping[str, Any], compiled: Callable[[Mapping[str, Any]], Any]) -> str:
    result = compiled(values)

    def name(n: Name) -> tuple[str, int]:
        text = format_value(_reader(n)(values))
        return text, (0 if text.startswith("-") else _ATOM)  # a negative value is bracketed: 1 - (-2)

    return f"{_render(root, name)[0]} = {format_value(result)}"


@functools.lru_cache(maxsize=4096)
def _reader(n: Name) -> Callable[[Mapping[str, Any]], Any]:
    """The compiled reader of one name (names repeat across calls; compiling is the slow part)."""
    return compile_python(n)


def format_value(v: Any) -> str:
    """A value as people read it: ``1.35``, ``120``, ``'起诉'``, ``date('2020-07-01')``, ``null``."""
    if v.__class__ is float:  # the usual case first
        return _number(v, friendly=True)
    if v is None:
        return "null"
    if v is True or v is False:
        return "true" if v else "false"
    if isinstance(v, float | int):
        return _number(float(v), friendly=True)
    if isinstance(v, dt.date):
        return f"date('{v.isoformat()}')"
    return _quote(str(v))


def _number(v: float, *, friendly: bool = False) -> str:
    if not math.isfinite(v):
        return "null"
    if v.is_integer() and abs(v) < 1e16:
        return str(int(v))
    if friendly:
        return f"{v:.10g}"
    return repr(v)


def _quote(s: str) -> str:
    return "'" + s.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _literal_name(n: Name) -> tuple[str, int]:
    return n.name, _ATOM


def _render(node: Node, name: Callable[[Name], tuple[str, int]]) -> tuple[str, int]:
    def sub(child: Node, level: int) -> str:
        text, own = _render(child, name)
        return f"({text})" if own < level else text

    if isinstance(node, Num):
        text = _number(node.value)
        return text, (_UNARY if text.startswith("-") else _ATOM)
    if isinstance(node, Str):
        return _quote(node.value), _ATOM
    if isinstance(node, Bool):
        return ("true" if node.value else "false"), _ATOM
    if isinstance(node, Null):
        return "null", _ATOM
    if isinstance(node, DateLit):
        return f"date('{node.value.isoformat()}')", _ATOM
    if isinstance(node, Name):
        return name(node)
    if isinstance(node, Neg):
        return "-" + sub(node.operand, _ATOM), _UNARY
    if isinstance(node, Not):
        return "not " + sub(node.operand, _NOT), _NOT
    if isinstance(node, Arith):
        level = _ARITH_LEVEL[node.op]
        return f"{sub(node.left, level)} {node.op} {sub(node.right, level + 1)}", level
    if isinstance(node, Compare):
        return f"{sub(node.left, _SUM)} {node.op} {sub(node.right, _SUM)}", _CMP
    if isinstance(node, In):
        opts = ", ".join(sub(o, _OR) for o in node.options)
        return f"{sub(node.item, _SUM)} {'not in' if node.negated else 'in'} [{opts}]", _CMP
    if isinstance(node, Logic):
        level = _OR if node.op == "or" else _AND
        return f" {node.op} ".join(sub(o, level + 1) for o in node.operands), level
    if isinstance(node, Call):
        return f"{node.name}({', '.join(sub(a, _OR) for a in node.args)})", _ATOM
    raise TypeError(f"unknown node {node!r}")
