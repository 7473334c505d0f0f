"""Plain-text tables for the terminal: columns padded by display width (a Chinese character takes two
cells), numbers right-aligned. Also the cell escaping every CSV export uses (:func:`csv_safe`) and the
control-character escaping of text echoed to the terminal (:func:`printable`)."""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from typing import Any

# The CSV cell escape lives with the spreadsheet writer (a lower layer); its names stay here for callers.
from rulesvc.spreadsheet import FORMULA_TRIGGERS as FORMULA_TRIGGERS
from rulesvc.spreadsheet import csv_safe as csv_safe


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


_CONTROL = {c: f"\\x{c:02x}" for c in [*range(0x00, 0x09), *range(0x0B, 0x20), 0x7F, *range(0x80, 0xA0)]}
_CONTROL.update({c: f"\\u{c:04x}" for c in [*range(0x202A, 0x202F), *range(0x2066, 0x206A), 0xFFFE, 0xFFFF]})


def printable(text: str) -> str:
    """Text for the terminal with control characters (escape sequences, NUL, bidi overrides) shown as
    escapes: messages echo cells of imported files, which must not drive the terminal."""
    return text.translate(_CONTROL)
