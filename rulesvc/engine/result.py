"""The result of one evaluation, with its explanation trace as data (not a log).

Every point is accounted for: ``attribution`` lists base, each indicator's contribution, each
adjustment, each cap or clip applied, and ``total`` is exactly their ``math.fsum``.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

EVENT_IDS_SHOWN = 20  # event ids kept per metric / adjustment in the trace; the count is always exact


@dataclass(frozen=True)
class MetricTrace:
    code: str
    name: str
    definition: str  # e.g. "count(prosecution_review where plea_leniency)"
    value: float | None
    events: int  # how many events matched
    event_ids: tuple[str, ...]  # the first EVENT_IDS_SHOWN of them


@dataclass(frozen=True)
class Nearest:
    """The closest better branch not reached and what it would take to reach it."""

    branch: str
    threshold: float
    gain: float  # points gained on the indicator
    needs: str  # in words: "再增加 2 件 plea_persons（+2 件 review_persons）"
    needs_en: str


@dataclass(frozen=True)
class IndicatorTrace:
    code: str
    name: str
    dimension: str | None
    formula: str
    substituted: str  # the formula with numbers filled in
    value: float | None
    scored: bool
    x: float | None = None  # the value the rule tests (the value, a percentile, a ratio …)
    derive: str = "value"
    method: str | None = None
    branch: str | None = None  # which rule fired
    rule: str = ""  # the rule in words with its numbers
    points: float = 0.0
    max_points: float = 0.0
    contribution: float = 0.0  # what it adds to the total after weighting
    note: str = ""  # missing value, excluded, zeroed by a veto …
    nearest: Nearest | None = None


@dataclass(frozen=True)
class AdjustmentTrace:
    code: str
    name: str
    dimension: str | None
    matched: int  # events (or cases when per_case) that matched
    event_ids: tuple[str, ...]
    points_each: float
    raw: float
    cap: float | None
    points: float  # after the item cap
    note: str = ""


@dataclass(frozen=True)
class VetoTrace:
    code: str
    name: str
    effect: str
    event_ids: tuple[str, ...]
    detail: str


@dataclass(frozen=True)
class DimensionTrace:
    code: str
    name: str
    weight_share: float
    points: float
    max_points: float
    adjustments: float
    zeroed_by: str | None
    contribution: float


@dataclass(frozen=True)
class Line:
    """One line of the additive attribution."""

    kind: str  # base | indicator | adjustment | cap | clip
    code: str
    label: str
    points: float


@dataclass(frozen=True)
class Result:
    subject: str
    scheme_code: str
    scheme_hash: str
    period: str
    total: float
    grade: str | None
    grade_reason: str
    indicators: tuple[IndicatorTrace, ...]
    adjustments: tuple[AdjustmentTrace, ...]
    vetoes: tuple[VetoTrace, ...]
    dimensions: tuple[DimensionTrace, ...]
    attribution: tuple[Line, ...]
    metrics: tuple[MetricTrace, ...] = ()
    fired: frozenset[str] = field(default_factory=frozenset)
    executor: str = "python"
    subject_name: str = ""

    def as_dict(self) -> dict[str, Any]:
        d = dataclasses.asdict(self)
        d["fired"] = sorted(self.fired)
        return d

    def indicator(self, code: str) -> IndicatorTrace:
        return next(i for i in self.indicators if i.code == code)
