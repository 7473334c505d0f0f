"""Translate the safe subset of conditions into a durable_rules condition over one fact.

Output is the JSON-ready value of an ``m`` expression in durable's ruleset language, e.g.
``{"$and": [{"plea_leniency": True}, {"$gte": {"value": 0.899999999}}]}``; the caller wraps it
(``{"all": [{"m": ...}]}``) and serialises it. Translated:

- a field compared with a constant (either side), a bool field on its own, ``in`` / ``not in`` a list
  of constants, ``and``, ``or``, and ``not`` — pushed down to the comparisons with De Morgan and the
  negated operator, never ``$not`` (hazard H19). Kleene logic survives this exactly: durable matches
  a comparison only when the field is present and non-null, which is "true, not null or false".
- numbers keep the language's tolerance: ``x >= c`` becomes ``$gte: c - t`` with
  ``t = TOLERANCE * max(1, |c|)``, ``x == c`` a ``$gte``/``$lte`` pair. (It agrees with the other
  executors except within one float step of that bound.)
- dates become ISO text (``'2020-07-01'``), which durable orders correctly as text: facts must carry
  dates the same way, as the data dictionary stores them.

Everything else — arithmetic (integer ``$div`` kills the process, H1; C arithmetic truncates, H13),
functions, field against field (float-equality joins crash, H18), bare literals — raises
:class:`NotTranslatable`; the caller computes such a condition in Python and asserts its result as a
boolean field of the fact. Also for the caller:

- ``$or`` fires once per true branch (H15): ``in`` is always safe (its branches exclude each other,
  duplicates are dropped), but ``a or b`` with both true fires twice — de-duplicate firings per rule.
- Constants are finite floats, but may be small (``-1e-09``): serialise with our own writer that never
  prints an exponent (H2), and write raw UTF-8 (``ensure_ascii=False``, H17).
"""

from __future__ import annotations

import math
from typing import Any

from rulesvc.engine.expr.errors import NotTranslatable
from rulesvc.engine.expr.nodes import Bool, Compare, DateLit, Expr, In, Logic, Name, Node, Not, Num, Str
from rulesvc.engine.expr.semantics import TOLERANCE

_FLIP = {"==": "==", "!=": "!=", "<": ">", "<=": ">=", ">": "<", ">=": "<="}
_NEGATE = {"==": "!=", "!=": "==", "<": ">=", "<=": ">", ">": "<=", ">=": "<"}
_DURABLE_OP = {"!=": "$neq", "<": "$lt", "<=": "$lte", ">": "$gt", ">=": "$gte"}

Condition = dict[str, Any]


def compile_durable(expr: Expr | Node) -> Condition:
    """The durable_rules condition for a boolean ``expr``; :class:`NotTranslatable` when there is none."""
    root = expr.root if isinstance(expr, Expr) else expr
    if root.type.kind != "bool":
        raise NotTranslatable("只有条件（是/否）可以转换", "only a condition (bool) can be translated",
                              position=root.pos)
    return _tr(root, False)


def _tr(node: Node, negate: bool) -> Condition:
    if isinstance(node, Not):
        return _tr(node.operand, not negate)
    if isinstance(node, Logic):
        op = node.op if not negate else ("or" if node.op == "and" else "and")
        parts: list[Condition] = []
        key = "$" + op
        for o in node.operands:
            c = _tr(o, negate)
            parts.extend(c[key] if list(c) == [key] else [c])
        return {key: parts}
    if isinstance(node, Name) and node.type.kind == "bool":
        return {node.name: not negate}
    if isinstance(node, Compare):
        field, op, const = _field_vs_constant(node)
        return _compare(field, _NEGATE[op] if negate else op, const)
    if isinstance(node, In):
        if not isinstance(node.item, Name):
            raise _untranslatable(node.item, "in 左侧须为字段", "the left of 'in' must be a field")
        consts: list[Node] = []
        for o in node.options:
            if not _is_constant(o):
                raise _untranslatable(o, "in 的列表须为常量", "the list of 'in' must hold constants")
            if o not in consts:
                consts.append(o)
        hit = not negate if not node.negated else negate
        parts = [_compare(node.item, "==" if hit else "!=", c) for c in consts]
        if len(parts) == 1:
            return parts[0]
        return {"$or": parts} if hit else {"$and": parts}
    raise _untranslatable(node, "只能转换字段与常量的比较及其 and/or/not 组合",
                          "only comparisons of a field with a constant, combined by and/or/not, translate")


def _field_vs_constant(node: Compare) -> tuple[Name, str, Node]:
    if isinstance(node.left, Name) and _is_constant(node.right):
        return node.left, node.op, node.right
    if isinstance(node.right, Name) and _is_constant(node.left):
        return node.right, _FLIP[node.op], node.left
    culprit = node.left if not isinstance(node.left, Name) else node.right
    raise _untranslatable(culprit, "比较须为字段与常量之间", "a comparison must be between a field and a constant")


def _is_constant(node: Node) -> bool:
    return isinstance(node, Num | Str | Bool | DateLit)


def _compare(field: Name, op: str, const: Node) -> Condition:
    name = field.name
    if isinstance(const, Num):
        c = const.value
        t = TOLERANCE * max(1.0, abs(c))
        lo, hi = c - t, c + t
        if not (math.isfinite(lo) and math.isfinite(hi)):
            raise _untranslatable(const, "数值超出 durable 可表示的范围", "number out of durable's range")
        if op == "==":
            return {"$and": [{"$gte": {name: lo}}, {"$lte": {name: hi}}]}
        if op == "!=":
            return {"$or": [{"$lt": {name: lo}}, {"$gt": {name: hi}}]}
        bound = lo if op in ("<", ">=") else hi
        return {_DURABLE_OP[op]: {name: bound}}
    value: Any = const.value.isoformat() if isinstance(const, DateLit) else getattr(const, "value", None)
    if op == "==":
        return {name: value}
    return {_DURABLE_OP[op]: {name: value}}


def _untranslatable(node: Node, zh: str, en: str) -> NotTranslatable:
    return NotTranslatable(zh, en, position=node.pos)
