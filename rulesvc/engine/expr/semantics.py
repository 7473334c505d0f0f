"""The value semantics of the language in plain Python; ``compile_polars`` mirrors every rule here.

Kept in one place because people's scores depend on them (see the package docstring):
null propagates, division by zero is null, results that would be NaN or ±inf are null, numbers
compare with a relative tolerance of :data:`TOLERANCE`, ``round`` rounds half away from zero.
"""

from __future__ import annotations

import datetime as dt
import math
from typing import Any

#: Two numbers are equal when they differ by at most TOLERANCE × max(1, |a|, |b|), so that
#: ``57 / 100 * 100 >= 57`` holds (the left side is 56.99999999999999 in binary floating point).
TOLERANCE = 1e-9
#: ``round`` treats a fraction within this of one half as a half, so ``round(2.675, 2)`` is 2.68
#: although the float 2.675 is really 2.67499999999999982236431605997495353221893310546875.
ROUND_SLACK = 1e-9
#: The range of ``round``'s digits argument.
ROUND_DIGITS = range(-10, 11)

_isfinite = math.isfinite


def finite(x: float) -> float | None:
    """``x``, or null when it is NaN or infinite (overflow never leaks out as inf)."""
    return x if _isfinite(x) else None


def close(a: float, b: float) -> bool:
    """Numeric equality with the language's relative tolerance (both arguments finite)."""
    d = a - b
    if d < 0.0:
        d = -d
    if d <= TOLERANCE:
        return True
    m = -a if a < 0.0 else a
    mb = -b if b < 0.0 else b
    if mb > m:
        m = mb
    return d <= TOLERANCE * m


def num_eq(a: float, b: float) -> bool:
    """``a == b`` for numbers."""
    return close(a, b)


def num_ne(a: float, b: float) -> bool:
    """``a != b`` for numbers."""
    return not close(a, b)


def num_lt(a: float, b: float) -> bool:
    """``a < b`` for numbers: strictly less and not equal within the tolerance."""
    return a < b and not close(a, b)


def num_le(a: float, b: float) -> bool:
    """``a <= b`` for numbers."""
    return a < b or close(a, b)


def num_gt(a: float, b: float) -> bool:
    """``a > b`` for numbers."""
    return a > b and not close(a, b)


def num_ge(a: float, b: float) -> bool:
    """``a >= b`` for numbers."""
    return a > b or close(a, b)


NUMBER_COMPARE = {"==": num_eq, "!=": num_ne, "<": num_lt, "<=": num_le, ">": num_gt, ">=": num_ge}


def add(a: float, b: float) -> float | None:
    """``a + b``; null on overflow."""
    return finite(a + b)


def sub(a: float, b: float) -> float | None:
    """``a - b``; null on overflow."""
    return finite(a - b)


def mul(a: float, b: float) -> float | None:
    """``a * b``; null on overflow."""
    return finite(a * b)


def div(a: float, b: float) -> float | None:
    """``a / b``; null when ``b`` is 0 or the quotient overflows."""
    if b == 0.0:
        return None
    return finite(a / b)


MOD_QUOTIENT_LIMIT = 2.0**20


def mod(a: float, b: float) -> float | None:
    """``a % b`` = ``a - b * floor(a / b)`` (the sign follows ``b``, as in Excel's MOD); null if b is 0.

    Written out rather than Python's ``%`` so polars computes the same thing. Null when
    ``|a / b| >= MOD_QUOTIENT_LIMIT``: the remainder then has no reliable digits (executors that fuse
    the multiply-add disagree in the last places of ``a``, which is all the remainder is made of).
    """
    if b == 0.0:
        return None
    q = a / b
    if not _isfinite(q) or abs(q) >= MOD_QUOTIENT_LIMIT:
        return None
    return finite(a - b * float(math.floor(q)))


ARITH = {"+": add, "-": sub, "*": mul, "/": div, "%": mod}


def round_half_away(x: float | None, digits: float | None = 0.0) -> float | None:
    """Round to ``digits`` decimals, halves away from zero (2.5 → 3, -2.5 → -3, 2.675 → 2.68).

    Python's ``round`` rounds halves to even (2.5 → 2), which surprises people; this does not.
    """
    if x is None or digits is None:
        return None
    n = int(digits)
    if n >= 0:
        y = x * 10.0**n
    else:
        y = x / 10.0 ** (-n)
    if not _isfinite(y):
        return None
    a = -y if y < 0.0 else y
    f = float(math.floor(a))
    r = f + 1.0 if a - f >= 0.5 - ROUND_SLACK else f
    if y < 0.0:
        r = -r
    return finite(r / 10.0**n if n >= 0 else r * 10.0 ** (-n))


def minimum(*xs: Any) -> Any:
    """The smallest non-null argument; null when all are null."""
    vals = [x for x in xs if x is not None]
    return min(vals) if vals else None


def maximum(*xs: Any) -> Any:
    """The largest non-null argument; null when all are null."""
    vals = [x for x in xs if x is not None]
    return max(vals) if vals else None


def coalesce(*xs: Any) -> Any:
    """The first non-null argument; null when all are null."""
    for x in xs:
        if x is not None:
            return x
    return None


def if_(cond: bool | None, a: Any, b: Any) -> Any:
    """``a`` when ``cond`` is true, otherwise ``b`` (a null condition counts as false)."""
    return a if cond is True else b


def absolute(x: float | None) -> float | None:
    """``|x|``."""
    return None if x is None else abs(x)


def clip(x: float | None, lo: float | None, hi: float | None) -> float | None:
    """``min(max(x, lo), hi)``; null when ``x`` is null; a null bound is no bound."""
    if x is None:
        return None
    if lo is not None and lo > x:
        x = lo
    if hi is not None and hi < x:
        x = hi
    return x


def days_between(d1: dt.date | None, d2: dt.date | None) -> float | None:
    """Days from ``d1`` to ``d2`` (``d2 - d1``; negative when ``d2`` is earlier)."""
    if d1 is None or d2 is None:
        return None
    return float((d2 - d1).days)
