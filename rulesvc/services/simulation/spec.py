"""What a simulation run is asked to do, checked: its periods, its report options, its identity.

Periods are written as people write them — ``2020``, ``2020-Q3``, ``2020-07`` — or as a range of months,
``2020-01..2020-12``, scored month by month. Every period must be over (its last day before today).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from rulesvc.catalogue import Msg, msg
from rulesvc.engine.errors import DefinitionError
from rulesvc.engine.periods import Period, months_of, parse_period
from rulesvc.errors import InvalidInput
from rulesvc.services import localtime

MAX_PERIODS = 24
RANGE = ".."

# Report options a caller may set, with their defaults and bounds (they are part of a run's identity).
OPTION_BOUNDS: dict[str, tuple[float, float, float]] = {
    "top": (10, 1, 100),                   # risers and fallers listed
    "why_top": (5, 0, 20),                 # of them, with "why it moved" in the report
    "bins": (20, 5, 50),                   # histogram bins
    "fairness_threshold": (1.5, 0.1, 20),  # points: a group whose mean differs more is flagged
    "flat_share": (0.9, 0.5, 1.0),         # an indicator with this share on the same points is flagged
}
INT_OPTIONS = ("top", "why_top", "bins")


def parse_periods(texts: Sequence[str] | str, *, today: dt.date | None = None, field: str = "periods") -> list[Period]:
    """The periods of a run, in order, without duplicates; 422 listing what is wrong with which."""
    items = [texts] if isinstance(texts, str) else list(texts)
    problems: list[Msg] = []
    out: list[Period] = []
    today = today or localtime.today()
    if not items:
        raise InvalidInput(msg("simulation.periods_bad"), errors={field: [msg("simulation.periods_required")]})
    for text in items:
        if not isinstance(text, str):
            problems.append(msg("simulation.periods_type"))
            continue
        try:
            found = _expand(text)
        except TooLong as exc:
            problems.append(msg("simulation.too_many_periods", count=exc.count, limit=MAX_PERIODS))
            continue
        except (DefinitionError, ValueError, OverflowError):
            problems.append(msg("simulation.period_bad", period=text[:40]))
            continue
        for p in found:
            if p.end >= today:
                problems.append(msg("simulation.period_open", period=p.label, end=p.end.isoformat()))
            elif all(p.label != q.label for q in out):
                out.append(p)
    if not problems and len(out) > MAX_PERIODS:
        problems.append(msg("simulation.too_many_periods", count=len(out), limit=MAX_PERIODS))
    if problems:
        raise InvalidInput(msg("simulation.periods_bad"), errors={field: problems})
    return out


def _expand(text: str) -> list[Period]:
    if RANGE not in text:
        return [parse_period(text)]
    first, _, last = text.partition(RANGE)
    a, b = parse_period(first), parse_period(last)
    if a.kind != "month" or b.kind != "month" or b.start < a.start:
        raise ValueError(text)
    count = (b.start.year - a.start.year) * 12 + b.start.month - a.start.month + 1
    if count > MAX_PERIODS:
        raise TooLong(count)
    return months_of(Period(text, "range", a.start, b.end))


class TooLong(ValueError):
    """A range of more months than a run takes."""

    def __init__(self, count: int) -> None:
        super().__init__(count)
        self.count = count


def parse_options(given: Mapping[str, Any] | None) -> dict[str, Any]:
    """Report options with defaults filled in; 422 for an unknown option or a value out of bounds."""
    given = dict(given or {})
    errors: dict[str, list[Msg]] = {}
    out: dict[str, Any] = {}
    for name, (default, lo, hi) in OPTION_BOUNDS.items():
        value = given.pop(name, default)
        if not isinstance(value, int | float) or isinstance(value, bool):
            errors[f"options.{name}"] = [msg("simulation.option_number")]
            continue
        ok = lo <= value <= hi
        if name in INT_OPTIONS:
            ok = ok and float(value).is_integer()
        if not ok:
            errors[f"options.{name}"] = [msg("simulation.option_range", low=_num(lo), high=_num(hi))]
            continue
        out[name] = int(value) if name in INT_OPTIONS else float(value)
    for name in given:
        errors[f"options.{name}"] = [msg("simulation.option_unknown", known="、".join(OPTION_BOUNDS))]
    if errors:
        raise InvalidInput(msg("simulation.options_bad"), errors=errors)
    return out


def _num(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else str(x)


@dataclass(frozen=True)
class Identity:
    """Everything a run's figures depend on. ``run_hash`` is its sha256 (canonical JSON)."""

    candidate_hash: str
    baseline_hash: str | None
    periods: tuple[str, ...]
    datasets: tuple[tuple[int, str], ...]
    subjects_hash: str
    dictionary_hash: str
    engine_version: str
    options: tuple[tuple[str, Any], ...]

    def as_dict(self) -> dict[str, Any]:
        return {"candidate": self.candidate_hash, "baseline": self.baseline_hash, "periods": list(self.periods),
                "datasets": [h for _, h in self.datasets], "subjects": self.subjects_hash,
                "dictionary": self.dictionary_hash, "engine": self.engine_version, "options": dict(self.options)}

    @property
    def run_hash(self) -> str:
        return canonical_hash(self.as_dict())


def canonical_hash(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":"), allow_nan=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


__all__ = ["Identity", "MAX_PERIODS", "canonical_hash", "parse_options", "parse_periods"]
