"""The typed syntax tree: immutable dataclasses, one per construct, produced by :func:`parse`.

Every node knows its start offset in the source (``pos``, ignored by ``==`` so two parses of
differently spaced text compare equal) and its :class:`Type`. Names are already resolved and enum
literals already mapped to their keys, so the compilers never consult a scope.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from rulesvc.engine.expr.types import BOOL, DATE, NULL, NUMBER, STRING, Type

ARITH_OPS = ("+", "-", "*", "/", "%")
COMPARE_OPS = ("==", "!=", "<", "<=", ">", ">=")


@dataclass(frozen=True)
class Node:
    """Base of all nodes."""

    pos: int = field(compare=False)

    @property
    def type(self) -> Type:  # overridden by every node
        raise NotImplementedError

    def children(self) -> tuple[Node, ...]:
        """The direct sub-expressions, left to right."""
        return ()


@dataclass(frozen=True)
class Num(Node):
    """A number literal (always a finite float; ``84.4%`` is stored as ``0.844``)."""

    value: float

    @property
    def type(self) -> Type:
        return NUMBER


@dataclass(frozen=True)
class Str(Node):
    """A string literal; compared with an enum it holds the enum *key*."""

    value: str

    @property
    def type(self) -> Type:
        return STRING


@dataclass(frozen=True)
class Bool(Node):
    """``true`` or ``false``."""

    value: bool

    @property
    def type(self) -> Type:
        return BOOL


@dataclass(frozen=True)
class Null(Node):
    """The ``null`` literal."""

    @property
    def type(self) -> Type:
        return NULL


@dataclass(frozen=True)
class DateLit(Node):
    """A date literal, written ``date('2020-07-01')``."""

    value: dt.date

    @property
    def type(self) -> Type:
        return DATE


@dataclass(frozen=True)
class Name(Node):
    """A name from the scope (an event field, a metric, ``value``…), with its declared type."""

    name: str
    vtype: Type

    @property
    def type(self) -> Type:
        return self.vtype


@dataclass(frozen=True)
class Neg(Node):
    """Unary minus."""

    operand: Node

    @property
    def type(self) -> Type:
        return NUMBER

    def children(self) -> tuple[Node, ...]:
        return (self.operand,)


@dataclass(frozen=True)
class Not(Node):
    """Logical negation (Kleene: ``not null`` is null)."""

    operand: Node

    @property
    def type(self) -> Type:
        return BOOL

    def children(self) -> tuple[Node, ...]:
        return (self.operand,)


@dataclass(frozen=True)
class Arith(Node):
    """``left op right`` for ``op`` in ``+ - * / %``; numbers only."""

    op: str
    left: Node
    right: Node

    @property
    def type(self) -> Type:
        return NUMBER

    def children(self) -> tuple[Node, ...]:
        return (self.left, self.right)


@dataclass(frozen=True)
class Compare(Node):
    """``left op right`` for ``op`` in ``== != < <= > >=``; never chained."""

    op: str
    left: Node
    right: Node

    @property
    def type(self) -> Type:
        return BOOL

    def children(self) -> tuple[Node, ...]:
        return (self.left, self.right)


@dataclass(frozen=True)
class In(Node):
    """``item in [options]`` (or ``not in`` when ``negated``); means ``item == o1 or item == o2 …``."""

    item: Node
    options: tuple[Node, ...]
    negated: bool = False

    @property
    def type(self) -> Type:
        return BOOL

    def children(self) -> tuple[Node, ...]:
        return (self.item, *self.options)


@dataclass(frozen=True)
class Logic(Node):
    """``and`` / ``or`` over two or more operands (nested ones of the same operator are flattened)."""

    op: str
    operands: tuple[Node, ...]

    @property
    def type(self) -> Type:
        return BOOL

    def children(self) -> tuple[Node, ...]:
        return self.operands


@dataclass(frozen=True)
class Call(Node):
    """A call of a registered function (``rulesvc.engine.expr.functions``); ``rtype`` is its result."""

    name: str
    args: tuple[Node, ...]
    rtype: Type

    @property
    def type(self) -> Type:
        return self.rtype

    def children(self) -> tuple[Node, ...]:
        return self.args


@dataclass(frozen=True)
class Expr:
    """A parsed, type-checked formula: the source text, its tree, its type and where it came from."""

    source: str
    root: Node
    path: str = ""

    @property
    def type(self) -> Type:
        return self.root.type


def walk(node: Node) -> list[Node]:
    """Every node of the tree, parents before children, left to right."""
    out: list[Node] = []
    stack = [node]
    while stack:
        n = stack.pop()
        out.append(n)
        stack.extend(reversed(n.children()))
    return out
