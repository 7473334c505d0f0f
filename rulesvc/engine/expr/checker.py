"""Type rules: the parser calls these to build each node, so a tree that exists is well typed.

Also where names are resolved against the scope (with a "did you mean") and where string literals
compared with an enum become the enum's key (a Chinese label is accepted and mapped).
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping, Sequence

from rulesvc.engine.expr.errors import ExpressionError
from rulesvc.engine.expr.functions import FUNCTIONS, Function
from rulesvc.engine.expr.nodes import (
    Arith,
    Bool,
    Call,
    Compare,
    DateLit,
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
from rulesvc.engine.expr.semantics import ROUND_DIGITS
from rulesvc.engine.expr.types import BOOL, DATE, NULL, NUMBER, STRING, Type

_KINDS = {"number": NUMBER, "bool": BOOL, "date": DATE}
_ORDERED = ("number", "date", "string")


class Checker:
    """Builds typed nodes for one formula; every failure is an :class:`ExpressionError`."""

    def __init__(self, source: str, scope: Mapping[str, Type], path: str = "") -> None:
        self.source = source
        self.scope = scope
        self.path = path

    def error(
        self, pos: int, zh: str, en: str, expected: str | None = None, suggestion: str | None = None
    ) -> ExpressionError:
        """An error at ``pos`` of this formula (returned, so callers write ``raise self.error(...)``)."""
        return ExpressionError(zh, en, position=pos, source=self.source, path=self.path, expected=expected,
                               suggestion=suggestion)

    # -- names -------------------------------------------------------------------------------------

    def name(self, text: str, pos: int) -> Name:
        """Resolve a name against the scope."""
        t = self.scope.get(text)
        if t is not None:
            return Name(pos, text, t)
        names = list(self.scope)
        folded = [n for n in names if n.casefold() == text.casefold()]
        guess = folded[0] if folded else next(iter(difflib.get_close_matches(text, names, n=1, cutoff=0.6)), None)
        zh, en = f"未知名称“{text}”", f"unknown name '{text}'"
        parts = [p for p in re.split("[且或非]", text) if p]
        if len(parts) > 1 and all(p in self.scope for p in parts):
            # Chinese names run into 且/或 typed without spaces: "起诉人数且认罪" is one word.
            guess = None
            zh, en = f"{zh}；“且/或/非”前后请加空格", f"{en}; put spaces around 且/或/非 to use them as and/or/not"
        elif guess:
            zh, en = f"{zh}，是否为“{guess}”？", f"{en}; did you mean '{guess}'?"
        elif text.lower() in FUNCTIONS:
            zh, en = f"{zh}；函数需要括号，如 {text.lower()}(…)", f"{en}; functions need parentheses: {text.lower()}(...)"
        expected = "a name in scope" if len(names) > 12 else "one of: " + ", ".join(sorted(names))
        raise self.error(pos, zh, en, expected=expected, suggestion=guess)

    # -- operators ---------------------------------------------------------------------------------

    def require(self, node: Node, want: Type, role_zh: str = "此处", role_en: str = "here") -> None:
        """``node`` must have type ``want`` (or be null-typed)."""
        t = node.type
        if t.kind == want.kind or t.kind == "null":
            return
        raise self.error(
            node.pos,
            f"{_what_zh(node)}是{t.zh}，{role_zh}需要{want.zh}",
            f"{_what_en(node)} is {_a(t.en)}; {_a(want.en)} is expected {role_en}",
            expected=want.en,
        )

    def neg(self, operand: Node, pos: int) -> Node:
        """Unary minus; folds ``-<number literal>`` into the literal."""
        self.require(operand, NUMBER, "负号后", "after unary minus")
        if isinstance(operand, Num):
            return Num(pos, -operand.value)
        return Neg(pos, operand)

    def arith(self, op: str, left: Node, right: Node) -> Arith:
        """``left op right`` for arithmetic operators: numbers only."""
        self.require(left, NUMBER, f"“{op}”两侧", f"on both sides of '{op}'")
        self.require(right, NUMBER, f"“{op}”两侧", f"on both sides of '{op}'")
        return Arith(left.pos, op, left, right)

    def logic(self, op: str, operands: Sequence[Node]) -> Logic:
        """``and`` / ``or``: conditions only; nested same-operator nodes are flattened."""
        flat: list[Node] = []
        for o in operands:
            self.require(o, BOOL, f"“{op}”两侧", f"on both sides of '{op}'")
            flat.extend(o.operands if isinstance(o, Logic) and o.op == op else (o,))
        return Logic(operands[0].pos, op, tuple(flat))

    def not_(self, operand: Node, pos: int) -> Not:
        """``not``: a condition only."""
        self.require(operand, BOOL, "“not”之后", "after 'not'")
        return Not(pos, operand)

    def compare(self, op: str, left: Node, right: Node, op_pos: int) -> Compare:
        """``left op right``: same types (enum literals mapped to keys); ordering only where it means something."""
        left, right, t = self._match(left, right, op)
        if op not in ("==", "!=") and t.kind not in _ORDERED and t.kind != "null":
            raise self.error(
                op_pos, f"{t.zh}之间不能比较大小，只能用 == 或 !=", f"{t.en} values have no order; use == or !=",
                expected="'==' or '!='",
            )
        return Compare(left.pos, op, left, right)

    def in_(self, item: Node, options: Sequence[Node], negated: bool) -> In:
        """``item in [options]``: every option must compare with ``item`` by ``==``."""
        out = []
        for o in options:
            item, o2, _ = self._match(item, o, "in")
            out.append(o2)
        return In(item.pos, item, tuple(out), negated)

    def _match(self, left: Node, right: Node, op: str) -> tuple[Node, Node, Type]:
        for side in (left, right):
            if isinstance(side, Null):
                raise self.error(
                    side.pos, "与 null 比较的结果总是空值（不成立）；判断缺失值请用 coalesce(x, 默认值)",
                    "comparing with null always gives null (never matches); use coalesce(x, default)",
                    expected="a value that is not null",
                )
        lt, rt = left.type, right.type
        if lt.kind == "enum" and isinstance(right, Str):
            return left, self._enum_literal(right, lt, left), lt
        if rt.kind == "enum" and isinstance(left, Str):
            return self._enum_literal(left, rt, right), right, rt
        if lt.kind == "null" or rt.kind == "null" or lt.same_as(rt):
            return left, right, rt if lt.kind == "null" else lt
        if {lt.kind, rt.kind} == {"enum", "string"}:
            return left, right, STRING
        blame, other = (left, right) if _is_literal(left) and not _is_literal(right) else (right, left)
        want = other.type
        wanted_en = f"one of {', '.join(repr(k) for k, _ in want.choices)}" if want.kind == "enum" else want.en
        if want.kind == "enum" and lt.kind == "enum" and rt.kind == "enum":
            zh, en = "两个枚举的可选值不同，不能比较", "the two enums have different choices"
        else:
            zh = f"“{op}”两侧类型不同：{_what_zh(blame)}是{blame.type.zh}，应为{want.zh}"
            en = f"'{op}' compares different types: {_what_en(blame)} is {_a(blame.type.en)}, " \
                 f"expected {_a(want.en)}"
        raise self.error(blame.pos, zh, en, expected=wanted_en)

    def _enum_literal(self, lit: Str, t: Type, field: Node) -> Str:
        key = t.key_for(lit.value)
        if key is not None:
            return Str(lit.pos, key)
        who = f"“{field.name}”" if isinstance(field, Name) else "该枚举"
        who_en = f"'{field.name}'" if isinstance(field, Name) else "the enum"
        raise self.error(
            lit.pos,
            f"“{lit.value}”不是{who}的可选值；可选：{t.choice_list()}",
            f"'{lit.value}' is not a choice of {who_en}; choices: {', '.join(k for k, _ in t.choices)}",
            expected="one of " + ", ".join(repr(k) for k, _ in t.choices),
        )

    # -- functions ---------------------------------------------------------------------------------

    def call(self, fname: str, args: Sequence[Node], pos: int) -> Call:
        """A call of a registered function, checked against its signature."""
        fn = FUNCTIONS.get(fname.lower())
        if fn is None:
            known = [*FUNCTIONS, "date"]
            guess = next(iter(difflib.get_close_matches(fname.lower(), known, n=1, cutoff=0.6)), None)
            hint_zh, hint_en = (f"，是否为“{guess}”？", f"; did you mean '{guess}'?") if guess else ("", "")
            raise self.error(pos, f"未知函数“{fname}”{hint_zh}", f"unknown function '{fname}'{hint_en}",
                             expected="one of: " + ", ".join(sorted(known)), suggestion=guess)
        n = len(args)
        if n < fn.min_args or (fn.max_args is not None and n > fn.max_args):
            raise self.error(
                pos, f"{fn.name}() 的参数个数不对（{n} 个）", f"{fn.name}() got {n} arguments: {fn.signature}",
                expected=fn.signature,
            )
        tvars: list[int] = []
        for i, a in enumerate(args):
            kind = fn.param(i)
            if kind == "T":
                tvars.append(i)
            elif kind == "digits":
                if not (isinstance(a, Num) and a.value.is_integer() and int(a.value) in ROUND_DIGITS):
                    raise self.error(a.pos, f"{fn.name}() 的小数位数须为 -10 到 10 的整数常量",
                                     f"{fn.name}()'s digits must be a whole number from -10 to 10",
                                     expected="an integer constant")
            else:
                self.require(a, _KINDS[kind], f"{fn.name}() 的第 {i + 1} 个参数", f"as argument {i + 1} of {fn.name}()")
        new_args = list(args)
        t = NULL
        if tvars:
            t, unified = self.unify([args[i] for i in tvars], fn)
            for i, u in zip(tvars, unified, strict=True):
                new_args[i] = u
        rtype = t if fn.result == "T" else _KINDS[fn.result]
        return Call(pos, fn.name, tuple(new_args), rtype)

    def unify(self, nodes: Sequence[Node], fn: Function) -> tuple[Type, list[Node]]:
        """The common type of ``nodes`` (enum literals mapped), checked against ``fn.t_kinds``."""
        typed = [n for n in nodes if n.type.kind != "null"]
        target = NULL
        if any(n.type.kind == "string" and not isinstance(n, Str) for n in typed):
            target = STRING
        else:
            target = next((n.type for n in typed if n.type.kind == "enum"), typed[0].type if typed else NULL)
        out: list[Node] = []
        for n in nodes:
            t = n.type
            if target.kind == "enum" and isinstance(n, Str):
                n = self._enum_literal(n, target, nodes[0])
            elif not (t.kind == "null" or t.same_as(target) or (target.kind == "string" and t.kind == "enum")):
                raise self.error(n.pos, f"{fn.name}() 的参数类型须一致：此处是{t.zh}，应为{target.zh}",
                                 f"{fn.name}()'s arguments must share one type: this is {_a(t.en)}, expected "
                                 f"{_a(target.en)}", expected=target.en)
            if fn.t_kinds and t.kind != "null" and t.kind not in fn.t_kinds:
                raise self.error(n.pos, f"{fn.name}() 不接受{t.zh}", f"{fn.name}() does not take {_a(t.en)}",
                                 expected=" or ".join(fn.t_kinds))
            out.append(n)
        return target, out


def _is_literal(n: Node) -> bool:
    return isinstance(n, Num | Str | Bool | DateLit)


def _snippet(node: Node) -> str:
    if isinstance(node, Name):
        return node.name
    if isinstance(node, Str):
        return node.value
    if isinstance(node, Num):
        return f"{node.value:g}"
    return ""


def _what_zh(node: Node) -> str:
    s = _snippet(node)
    return f"“{s}”" if s else "此表达式"


def _what_en(node: Node) -> str:
    s = _snippet(node)
    return f"'{s}'" if s else "this expression"


def _a(word: str) -> str:
    return ("an " if word[:1] in "aeiou" else "a ") + word
