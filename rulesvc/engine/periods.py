"""Evaluation periods as people write them: ``2020-07`` (month), ``2020-Q3`` (quarter), ``2020`` (year)."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from rulesvc.engine.errors import DefinitionError

_PATTERNS = (
    (re.compile(r"^(\d{4})-(\d{2})$"), "month"),
    (re.compile(r"^(\d{4})-?[Qq]([1-4])$"), "quarter"),
    (re.compile(r"^(\d{4})$"), "year"),
)


@dataclass(frozen=True)
class Period:
    label: str
    kind: str
    start: dt.date
    end: dt.date  # inclusive


def _month_end(y: int, m: int) -> dt.date:
    return (dt.date(y + 1, 1, 1) if m == 12 else dt.date(y, m + 1, 1)) - dt.timedelta(days=1)


def parse_period(text: str) -> Period:
    """Parse a period label; a bad one is a definition error saying what is expected."""
    t = text.strip()
    for pattern, kind in _PATTERNS:
        m = pattern.match(t)
        if not m:
            continue
        y = int(m.group(1))
        if kind == "month":
            mo = int(m.group(2))
            if not 1 <= mo <= 12:
                break
            return Period(f"{y}-{mo:02d}", kind, dt.date(y, mo, 1), _month_end(y, mo))
        if kind == "quarter":
            q = int(m.group(2))
            return Period(f"{y}-Q{q}", kind, dt.date(y, 3 * q - 2, 1), _month_end(y, 3 * q))
        return Period(str(y), kind, dt.date(y, 1, 1), dt.date(y, 12, 31))
    raise DefinitionError(f"无法识别的考评期间“{text}” (unknown period)", path="period",
                          expected="YYYY-MM, YYYY-Qn or YYYY")


def months_of(period: Period) -> list[Period]:
    """The months a period spans (for streaks over consecutive months)."""
    out, d = [], period.start
    while d <= period.end:
        out.append(parse_period(f"{d.year}-{d.month:02d}"))
        d = _month_end(d.year, d.month) + dt.timedelta(days=1)
    return out


def period_of(day: dt.date, kind: str) -> Period:
    """The period of ``kind`` (month, quarter, year) that holds ``day``."""
    if kind == "month":
        return parse_period(f"{day.year}-{day.month:02d}")
    if kind == "quarter":
        return parse_period(f"{day.year}-Q{(day.month - 1) // 3 + 1}")
    return parse_period(str(day.year))


def first_start_from(day: dt.date, kind: str) -> dt.date:
    """The first day of the first period of ``kind`` that starts on or after ``day``."""
    p = period_of(day, kind)
    return p.start if p.start == day else p.end + dt.timedelta(days=1)
