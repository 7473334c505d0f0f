"""The function registry: adding a function = adding an entry here (its signature and its Python
implementation) and its column-wise twin in ``compile_polars._FUNCTIONS`` (a test checks both exist).

A signature is a tuple of parameter kinds: ``number``, ``bool``, ``date``, ``T`` (a type variable: all
``T`` arguments must share one type, which is also the result when ``result == "T"``) and ``digits``
(a constant whole number in -10..10, e.g. round's decimals). ``variadic`` repeats the last parameter.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from rulesvc.engine.expr import semantics as sem


@dataclass(frozen=True)
class Function:
    """One function of the language."""

    name: str
    params: tuple[str, ...]
    result: str
    python: Callable[..., Any]
    doc_zh: str
    doc_en: str
    variadic: bool = False
    required: int | None = None  # how many arguments are required; default: all of ``params``
    t_kinds: tuple[str, ...] = ()  # the kinds ``T`` may take; empty means any

    @property
    def min_args(self) -> int:
        return len(self.params) if self.required is None else self.required

    @property
    def max_args(self) -> int | None:
        return None if self.variadic else len(self.params)

    def param(self, i: int) -> str:
        """The kind of the ``i``-th argument (the last parameter repeats when variadic)."""
        return self.params[min(i, len(self.params) - 1)]

    @property
    def signature(self) -> str:
        """E.g. ``min(number|date, ...) -> number|date``."""
        t = "|".join(self.t_kinds) if self.t_kinds else "any"
        names = [t if p == "T" else ("integer" if p == "digits" else p) for p in self.params]
        shown = [n if i < self.min_args else f"[{n}]" for i, n in enumerate(names)]
        if self.variadic:
            shown.append("...")
        res = t if self.result == "T" else self.result
        return f"{self.name}({', '.join(shown)}) -> {res}"


FUNCTIONS: dict[str, Function] = {}


def register(fn: Function) -> Function:
    """Add ``fn`` to the registry (names are matched case-insensitively)."""
    FUNCTIONS[fn.name.lower()] = fn
    return fn


register(Function("min", ("T",), "T", sem.minimum, "最小值（忽略空值）", "smallest non-null argument",
                  variadic=True, t_kinds=("number", "date")))
register(Function("max", ("T",), "T", sem.maximum, "最大值（忽略空值）", "largest non-null argument",
                  variadic=True, t_kinds=("number", "date")))
register(Function("abs", ("number",), "number", sem.absolute, "绝对值", "absolute value"))
register(Function("round", ("number", "digits"), "number", sem.round_half_away,
                  "四舍五入到 n 位小数（.5 远离零进位）", "round to n decimals, halves away from zero", required=1))
register(Function("coalesce", ("T",), "T", sem.coalesce, "第一个非空值", "first non-null argument",
                  variadic=True))
register(Function("if", ("bool", "T", "T"), "T", sem.if_, "条件为真取 a，否则（含空）取 b",
                  "a when the condition is true, else b (also when it is null)"))
register(Function("days_between", ("date", "date"), "number", sem.days_between,
                  "两日期相差天数（d2 − d1）", "days from d1 to d2 (d2 - d1)"))
register(Function("clip", ("number", "number", "number"), "number", sem.clip,
                  "限制在 [lo, hi] 之间", "min(max(x, lo), hi); a null bound is no bound"))

#: ``date('YYYY-MM-DD')`` looks like a call but is a literal; the parser handles it.
DATE_FUNCTION = "date"
