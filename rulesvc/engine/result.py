"""The result of one evaluation, with its explanation trace as data (not a log).

Every point is accounted for: ``attribution`` lists base, each indicator's contribution, each
adjustment, each cap or clip applied, and ``total`` is exactly their ``math.fsum``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

EVENT_IDS_SHOWN = 20  # event ids kept per metric / adjustment in the trace; the count is always exact

T = TypeVar("T")


def maker(cls: type[T]) -> Callable[..., T]:
    """A constructor of the frozen dataclass ``cls`` taking every field by keyword: the same object
    (``==``, ``hash``, ``repr``, ``asdict``, immutability), made in half the time — a frozen dataclass
    sets its fields one ``object.__setattr__`` at a time, and a full trace makes about a hundred.
    Pass the fields in their declared order (the instance's ``vars`` keep the order given)."""
    names = frozenset(f.name for f in dataclasses.fields(cls))  # type: ignore[arg-type]
    new = object.__new__

    def make(**values: Any) -> T:
        if values.keys() != names:
            raise TypeError(f"{cls.__name__} needs exactly the fields {sorted(names)}, got {sorted(values)}")
        obj = new(cls)
        obj.__dict__.update(values)
        return obj

    return make


@dataclass(frozen=True)
class MetricTrace:
    code: str
    name: str
    definition: str  # e.g. "count(prosecution_review where plea_leniency)"
    value: float | None
    events: int  # how many events matched
    event_ids: tuple[str, ...]  # the first EVENT_IDS_SHOWN of them


@dataclass(frozen=True)
class Compared:
    """What a peer-relative indicator was compared with: the rule's reference (the peers' best or average; none for
    a percentile) and how many peers of which group — so that a person can check "own ÷ best" themselves."""

    kind: str  # percentile, ratio_to_avg, ratio_to_best
    group: str  # the peer group: all, procuratorate, business, line …
    peers: int  # peers with a value, the person among them when evaluated
    reference: float | None = None  # the average or the best (lowest, when lower is better)


@dataclass(frozen=True)
class Nearest:
    """The closest better branch not reached and what it would take to reach it."""

    branch: str
    threshold: float
    gain: float  # points gained on the indicator (at the value reached)
    needs: str  # in words: "再增加 2 人“适用认罪认罚人数”（同时计入…），即达到 90.5%，本项 +2 分，总分 +0.5714"
    needs_en: str
    total_gain: float = 0.0  # what that adds to the total
    events: int = 0  # how many more events
    metric: str = ""  # of which metric
    unit: str = ""  # 人, 件 …
    reached: float | None = None  # the indicator's value with them


@dataclass(frozen=True)
class IndicatorTrace:
    code: str
    name: str
    dimension: str | None
    formula: str
    substituted: str  # the formula with numbers filled in
    value: float | None
    counted: bool  # its points count in this person's total (not: analysis only, not applicable, excluded)
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
    prorated_from: float | None = None  # the value before dividing by the share of the period in office
    formula_labeled: str = ""  # the formula with the Chinese names of what it reads
    peer_note: str = ""  # why a peer-relative indicator was not compared (同组不足 N 人)
    applies: bool = True  # False: not for this person's business line or business (its value is still shown)
    compared: Compared | None = None  # a peer-relative indicator: with what, among how many


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
    case_ids: tuple[str, ...] = ()  # per_case and pattern items: the cases counted (event_ids: the events behind them)
    counts: str = "event"  # what ``matched`` counts: event | case


@dataclass(frozen=True)
class VetoTrace:
    code: str
    name: str
    effect: str  # one effect, or several joined by "+"
    event_ids: tuple[str, ...]
    detail: str
    matched: int = 0  # how many events matched (event_ids holds the first EVENT_IDS_SHOWN)


@dataclass(frozen=True)
class DimensionTrace:
    code: str
    name: str
    weight_share: float
    points: float
    max_points: float
    adjustments: float  # its bonus and penalty items, after their caps and the dimension's cap
    zeroed_by: str | None
    contribution: float  # what the dimension adds to the total: indicators + adjustments
    indicators: float = 0.0  # the part of the contribution that comes from its indicators
    nominal_share: float = 0.0  # its weight as the scheme states it (weight_share: re-weighted for this subject)


@dataclass(frozen=True)
class Line:
    """One line of the additive attribution."""

    kind: str  # base | indicator | adjustment | cap | clip | round
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
    status: str = "evaluated"  # evaluated | not_graded (rulesvc.engine.participation)
    status_code: str = ""  # short_tenure | no_activity
    status_reason: str = ""
    office_share: float = 1.0  # share of the period in office

    def as_dict(self) -> dict[str, Any]:
        d = dataclasses.asdict(self)
        d["fired"] = sorted(self.fired)
        return d

    def indicator(self, code: str) -> IndicatorTrace:
        return next(i for i in self.indicators if i.code == code)


make_metric_trace = maker(MetricTrace)
make_indicator_trace = maker(IndicatorTrace)
