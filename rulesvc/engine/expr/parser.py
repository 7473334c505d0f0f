"""Recursive-descent parser: tokens → typed tree, checking types as it builds (see ``checker``).

Grammar, loosest first (no chaining of comparisons)::

    or      := and (("or" | "||" | "或") and)*
    and     := not (("and" | "&&" | "且") not)*
    not     := ("not" | "!" | "非") not | compare
    compare := sum [("==" | "!=" | "<" | "<=" | ">" | ">=") sum | ["not"] "in" "[" or ("," or)* "]"]
    sum     := product (("+" | "-") product)*
    product := unary (("*" | "/" | "%") unary)*
    unary   := "-" unary | primary
    primary := number | string | "true" | "false" | "null" | name | name "(" [or ("," or)*] ")" | "(" or ")"

Nesting is bounded so hostile input cannot exhaust the stack of the parser or of the compiled
closures: the tree is at most :data:`MAX_DEPTH` levels deep, and brackets, calls and lists nest at most
:data:`MAX_DEPTH` deep (prefix ``-`` and ``not`` are read in a loop, not by recursion). The canonical
text of a tree never nests brackets deeper than the tree, so it always parses back.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping

from rulesvc.engine.expr.checker import Checker
from rulesvc.engine.expr.functions import DATE_FUNCTION
from rulesvc.engine.expr.lexer import Token, tokenize
from rulesvc.engine.expr.nodes import COMPARE_OPS, Bool, DateLit, Expr, Node, Null, Num, Str
from rulesvc.engine.expr.types import Type, type_named

MAX_DEPTH = 50


class _Parser:
    def __init__(self, source: str, scope: Mapping[str, Type], path: str) -> None:
        self.check = Checker(source, scope, path)
        self.tokens = tokenize(source, path)
        self.i = 0
        self.nest = 0
        # id(node) → (height of its subtree, node); holding the node keeps its id from being reused by
        # a later node after it is dropped (flattened and/or nodes are).
        self.depths: dict[int, tuple[int, Node]] = {}

    # -- token helpers -----------------------------------------------------------------------------

    @property
    def tok(self) -> Token:
        return self.tokens[self.i]

    def _advance(self) -> Token:
        t = self.tokens[self.i]
        self.i += 1
        return t

    def _at(self, kind: str, text: str) -> bool:
        t = self.tokens[self.i]
        return t.kind == kind and t.text == text

    def _expect_op(self, text: str, zh_ctx: str, en_ctx: str) -> Token:
        if not self._at("op", text):
            raise self._unexpected(f"'{text}'", f"{zh_ctx}缺少“{text}”", f"expected '{text}' {en_ctx}")
        return self._advance()

    def _unexpected(self, expected: str, zh: str | None = None, en: str | None = None) -> Exception:
        t = self.tok
        shown = t.raw or t.text
        if t.kind == "end":
            zh2, en2 = "公式不完整", "the formula ends too early"
        else:
            zh2, en2 = f"此处不应出现“{shown}”", f"unexpected '{shown}'"
        if zh and en:
            zh2, en2 = f"{zh2}：{zh}", f"{en2}: {en}"
        return self.check.error(t.pos, zh2, en2, expected=expected)

    def _node(self, node: Node, *children: Node) -> Node:
        """Record the height of ``node``'s subtree and refuse trees deeper than MAX_DEPTH."""
        h = 1 + max((self.depths[id(c)][0] if id(c) in self.depths else 1 for c in children), default=0)
        if h > MAX_DEPTH:
            raise self.check.error(node.pos, f"公式嵌套过深（超过 {MAX_DEPTH} 层）",
                                   f"formula nested too deeply (more than {MAX_DEPTH} levels)",
                                   expected=f"at most {MAX_DEPTH} levels of nesting")
        self.depths[id(node)] = (h, node)
        return node

    def _enter(self) -> None:
        """Entering a bracket, a call's arguments or a list: the only recursion of the parser."""
        self.nest += 1
        if self.nest > MAX_DEPTH:
            t = self.tok
            raise self.check.error(t.pos, f"公式嵌套过深（超过 {MAX_DEPTH} 层）",
                                   f"formula nested too deeply (more than {MAX_DEPTH} levels)",
                                   expected=f"at most {MAX_DEPTH} levels of nesting")

    # -- grammar -----------------------------------------------------------------------------------

    def parse(self) -> Node:
        if self.tok.kind == "end":
            raise self.check.error(0, "公式为空", "the formula is empty", expected="an expression")
        node = self._or()
        if self.tok.kind != "end":
            raise self._unexpected("an operator or the end of the formula")
        return node

    def _or(self) -> Node:
        items = [self._and()]
        while self._at("kw", "or"):
            self._advance()
            items.append(self._and())
        return items[0] if len(items) == 1 else self._node(self.check.logic("or", items), *items)

    def _and(self) -> Node:
        items = [self._not()]
        while self._at("kw", "and"):
            self._advance()
            items.append(self._not())
        return items[0] if len(items) == 1 else self._node(self.check.logic("and", items), *items)

    def _not(self) -> Node:
        nots = []
        while self._at("kw", "not"):
            nots.append(self._advance())
        node = self._compare()
        for t in reversed(nots):
            operand = node
            node = self._node(self.check.not_(operand, t.pos), operand)
        return node

    def _compare(self) -> Node:
        left = self._sum()
        node = left
        t = self.tok
        if t.kind == "op" and t.text in COMPARE_OPS:
            self._advance()
            right = self._sum()
            node = self._node(self.check.compare(t.text, left, right, t.pos), left, right)
        elif self._at("kw", "in") or (self._at("kw", "not") and self.tokens[self.i + 1].text == "in"
                                      and self.tokens[self.i + 1].kind == "kw"):
            negated = self._advance().text == "not"
            if negated:
                self._advance()
            options = self._list()
            node = self._node(self.check.in_(left, options, negated), left, *options)
        t = self.tok
        if node is not left and (t.kind == "op" and t.text in COMPARE_OPS or self._at("kw", "in")):
            raise self.check.error(t.pos, "比较不能连写，请用 and 连接，如 a < b and b < c",
                                   "comparisons cannot be chained; write a < b and b < c",
                                   expected="'and' or 'or'")
        return node

    def _list(self) -> list[Node]:
        self._expect_op("[", "in 之后", "after 'in'")
        self._enter()
        if self._at("op", "]"):
            raise self.check.error(self.tok.pos, "列表不能为空", "the list is empty", expected="a value")
        items = [self._or()]
        while self._at("op", ","):
            self._advance()
            items.append(self._or())
        self._expect_op("]", "列表末尾", "to close the list")
        self.nest -= 1
        return items

    def _sum(self) -> Node:
        node = self._product()
        while self.tok.kind == "op" and self.tok.text in ("+", "-"):
            op = self._advance().text
            right = self._product()
            node = self._node(self.check.arith(op, node, right), node, right)
        return node

    def _product(self) -> Node:
        node = self._unary()
        while self.tok.kind == "op" and self.tok.text in ("*", "/", "%"):
            op = self._advance().text
            right = self._unary()
            node = self._node(self.check.arith(op, node, right), node, right)
        return node

    def _unary(self) -> Node:
        minuses = []
        while self._at("op", "-"):
            minuses.append(self._advance())
        node = self._primary()
        for t in reversed(minuses):
            operand = node
            node = self.check.neg(operand, t.pos)
            if not isinstance(node, Num):  # -3 is folded into the literal: no extra level
                node = self._node(node, operand)
        return node

    def _primary(self) -> Node:
        t = self.tok
        if t.kind == "num":
            self._advance()
            assert isinstance(t.value, float)
            return Num(t.pos, t.value)
        if t.kind == "str":
            self._advance()
            return Str(t.pos, str(t.value))
        if t.kind == "kw" and t.text in ("true", "false", "null"):
            self._advance()
            return Null(t.pos) if t.text == "null" else Bool(t.pos, t.text == "true")
        if t.kind == "name":
            self._advance()
            if self._at("op", "("):
                return self._call(t)
            return self.check.name(t.text, t.pos)
        if self._at("op", "("):
            self._advance()
            self._enter()
            node = self._or()
            self._expect_op(")", "括号", "to close '('")
            self.nest -= 1
            return node
        if self._at("op", "["):
            raise self.check.error(t.pos, "列表 […] 只能用在 in 之后", "a list [...] may only follow 'in'",
                                   expected="an operand")
        raise self._unexpected("an operand (a number, a name, a string or '(')")

    def _call(self, name: Token) -> Node:
        self._advance()  # "("
        self._enter()
        args: list[Node] = []
        if not self._at("op", ")"):
            args.append(self._or())
            while self._at("op", ","):
                self._advance()
                args.append(self._or())
        self._expect_op(")", "函数参数之后", "after the arguments")
        self.nest -= 1
        if name.text.lower() == DATE_FUNCTION:
            return self._date(name, args)
        return self._node(self.check.call(name.text, args, name.pos), *args)

    def _date(self, name: Token, args: list[Node]) -> Node:
        arg = args[0] if len(args) == 1 else None
        if isinstance(arg, Str):
            try:
                if len(arg.value) != 10:
                    raise ValueError(arg.value)
                return DateLit(name.pos, dt.date.fromisoformat(arg.value))
            except ValueError:
                pass
        raise self.check.error(
            (arg or name).pos, "date() 需要一个日期常量，如 date('2020-07-01')",
            "date() takes one literal date, e.g. date('2020-07-01')", expected="'YYYY-MM-DD'",
        )


def parse(text: str, scope: Mapping[str, Type], *, expect: Type | None = None, path: str = "") -> Expr:
    """Parse and type-check ``text`` against ``scope`` (name → :class:`Type`).

    ``expect`` is the type the caller needs (``BOOL`` for a filter or condition, ``NUMBER`` for an
    indicator formula); ``path`` says where the formula sits in the scheme document and is copied
    into every error. Raises :class:`ExpressionError` (a ``DefinitionError``) and nothing else.
    """
    if not isinstance(text, str):
        raise Checker(str(text), scope, path).error(0, "公式须为文本", "a formula must be text", expected="text")
    p = _Parser(text, scope, path)
    root = p.parse()
    if expect is not None and root.type.kind not in (expect.kind, "null"):
        wanted = "条件（是/否）" if expect.kind == "bool" else expect.zh
        raise p.check.error(
            root.pos, f"此处需要{wanted}，但公式的结果是{root.type.zh}",
            f"{_a(expect.en)} is expected here, but the formula gives {_a(root.type.en)}", expected=expect.en,
        )
    return Expr(text, root, path)


def parse_typed(text: str, scope: Mapping[str, Type], *, path: str = "", want: str | Type | None = None) -> Expr:
    """:func:`parse` with the expected type given by name: ``want="bool"`` for a filter or condition,
    ``want="number"`` for an indicator formula."""
    return parse(text, scope, expect=type_named(want) if isinstance(want, str) else want, path=path)


def _a(word: str) -> str:
    return ("an " if word[:1] in "aeiou" else "a ") + word
