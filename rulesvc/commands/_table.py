"""Plain-text tables for the terminal: columns padded by display width (a Chinese character takes two
cells), numbers right-aligned. Also the cell escaping every CSV export uses."""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from typing import Any


def width(text: str) -> int:
    """Display width: wide and full-width characters take two cells."""
    return sum(2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1 for ch in text)


def cell(v: Any, digits: int = 2) -> str:
    if v is None:
        return "—"
    if isinstance(v, bool):
        return "是" if v else "否"
    if isinstance(v, float):
        return f"{v:.{digits}f}"
    return str(v)


def render(headers: Sequence[str], rows: Sequence[Sequence[Any]], *, digits: int = 2) -> str:
    """A table with a header line and a rule under it."""
    text = [[cell(v, digits) for v in row] for row in rows]
    numeric = [bool(rows) and all(isinstance(r[i], int | float) or r[i] is None for r in rows) for i in range(len(headers))]
    widths = [max([width(h)] + [width(r[i]) for r in text]) for i, h in enumerate(headers)]

    def line(values: Sequence[str]) -> str:
        parts = []
        for i, v in enumerate(values):
            pad = " " * (widths[i] - width(v))
            parts.append(pad + v if numeric[i] else v + pad)
        return "  ".join(parts).rstrip()

    out = [line(list(headers)), "  ".join("─" * w for w in widths)]
    out += [line(r) for r in text]
    return "\n".join(out)


def csv_safe(v: Any) -> Any:
    """A text cell a spreadsheet would read as a formula (= + - @, tab, CR) gets a leading apostrophe;
    numbers stay numbers."""
    if isinstance(v, str) and v[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + v
    return v
