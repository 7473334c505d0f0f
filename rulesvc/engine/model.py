"""The scheme (考评方案) as the engine sees it: immutable dataclasses, built from a validated document.

A scheme reads events through **metrics** (aggregations with filters), computes **indicators**
(formulas over metrics), turns each indicator's value into points with a **scoring rule**, adds
**adjustments** (加减分项) for matching events, applies **vetoes** (一票否决), **combines** the points
with a base score and dimension weights, and assigns a **grade** from bands with optional quotas.

Nothing here parses text or touches storage: ``rulesvc.schema`` validates documents into these
classes, ``rulesvc.engine.compile`` checks names and formulas and prepares them for execution.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

SUBJECT_KINDS = ("prosecutor", "procuratorate")
PERIOD_KINDS = ("month", "quarter", "year")
AGGREGATIONS = ("count", "sum", "distinct", "avg", "min", "max")
DIRECTIONS = ("higher_better", "lower_better", "neutral")
MISSING_POLICIES = ("zero", "worst", "best", "exclude")
VETO_EFFECTS = ("zero_dimension", "cap_grade", "bar_grade")
PEER_GROUPS = ("all", "procuratorate", "department", "business", "level")


def frozen_map(d: Mapping[str, Any] | None = None) -> Mapping[str, Any]:
    return MappingProxyType(dict(d or {}))


@dataclass(frozen=True)
class Metric:
    """An aggregation over one subject's events of some types, optionally filtered.

    ``count`` counts matching events; ``sum``/``avg``/``min``/``max`` aggregate ``field``;
    ``distinct`` counts distinct values of ``field`` (e.g. ``case_id``: cases, not events).
    """

    code: str
    name: str
    events: tuple[str, ...]
    agg: str = "count"
    field: str | None = None
    where: str | None = None
    description: str = ""


@dataclass(frozen=True)
class ScoringRule:
    """A scoring method from the registry (``rulesvc.engine.scoring``) and its parameters."""

    method: str
    params: Mapping[str, Any] = field(default_factory=frozen_map)
    missing: str = "zero"  # what a missing value (e.g. no cases: 0/0) scores; see MISSING_POLICIES


@dataclass(frozen=True)
class Indicator:
    """A formula over metrics (and earlier indicators), with its dimension and scoring rule.

    ``scored=False`` keeps it for analysis only (不计分, e.g. a paired indicator that guards against
    gaming): it is computed and shown, never added to the score.
    """

    code: str
    name: str
    formula: str
    dimension: str | None
    direction: str = "higher_better"
    scoring: ScoringRule | None = None
    scored: bool = True
    lines: tuple[str, ...] = ()  # business lines it applies to; empty = all
    unit: str = ""  # "%", "ratio", "件", "天" … for display
    description: str = ""
    source: str = ""  # where the definition comes from (a document, reference/indicators.csv)


@dataclass(frozen=True)
class Adjustment:
    """A bonus or penalty (加减分项): ``points`` per matching event, capped per item.

    ``per_case`` counts matching cases instead of events (one deduction per overdue case, not per
    document); ``pattern`` relates several events of the same case (see ``CasePattern``).
    """

    code: str
    name: str
    events: tuple[str, ...]
    points: float
    where: str | None = None
    dimension: str | None = None
    cap: float | None = None  # the most this item can add (bonus) or take away (penalty), as a positive number
    per_case: bool = False
    pattern: CasePattern | None = None
    lines: tuple[str, ...] = ()
    description: str = ""


@dataclass(frozen=True)
class CasePattern:
    """Events of one case that together match, e.g. returned twice, then not prosecuted.

    ``require`` maps a name to (event types, filter, minimum count); a case matches when every
    requirement has at least its minimum of matching events.
    """

    require: tuple[PatternStep, ...]


@dataclass(frozen=True)
class PatternStep:
    name: str
    events: tuple[str, ...]
    where: str | None = None
    at_least: int = 1


@dataclass(frozen=True)
class Veto:
    """一票否决: a matching event zeroes a dimension, caps the grade, or bars a grade."""

    code: str
    name: str
    events: tuple[str, ...]
    effect: str
    where: str | None = None
    dimension: str | None = None  # for zero_dimension
    grade: str | None = None  # for cap_grade (at best this grade) and bar_grade (never this grade)
    description: str = ""


@dataclass(frozen=True)
class Dimension:
    code: str
    name: str
    weight: float
    adjustment_cap: float | None = None  # the most adjustments may move this dimension, either way


@dataclass(frozen=True)
class Combination:
    """How points become the total.

    ``weighted``: total = base + span × Σ_d (w_d / Σw) × (points_d / max_d) + adjustments — e.g.
    Fujian's base 80 with quality / efficiency / effect weighted 40 / 30 / 30 (span 20).
    ``sum``: total = base + Σ points + adjustments (accumulated points, 绩效积分).
    The total is clipped to [floor, cap]; the clip is an explicit line of the trace.
    """

    method: str = "weighted"
    base: float = 0.0
    span: float = 100.0
    cap: float | None = None
    floor: float | None = None


@dataclass(frozen=True)
class GradeBand:
    """A grade from ``min`` up; ``quota`` caps the share of subjects in a peer group that may hold it."""

    grade: str
    min: float
    quota: float | None = None


@dataclass(frozen=True)
class Grading:
    bands: tuple[GradeBand, ...]  # best first
    quota_group: str = "all"  # the peer group a quota is counted in


@dataclass(frozen=True)
class PeerComparison:
    """Procuratorate-level schemes: position against the provincial average and flags for laggards."""

    indicators: tuple[str, ...] = ()
    band: float = 0.05  # within ±5 % of the average is 中游 (midstream)
    bottom_k: int | None = None  # bottom 3 city-level units explain in writing (Guangxi)
    bottom_share: float | None = None  # bottom 30 % of county-level units
    streak: int | None = None  # worse than the average this many periods running: named
    group: str = "level"  # compared within the same level (city with city, county with county)
    bottom_k_groups: tuple[str, ...] = ()  # groups bottom_k applies to (Guangxi: city); empty = every group
    bottom_share_groups: tuple[str, ...] = ()  # groups bottom_share applies to (Guangxi: county)


@dataclass(frozen=True)
class Scheme:
    """One version of a scheme, resolved (no inheritance left): what the engine runs."""

    code: str
    name: str
    subject: str
    period: str
    metrics: Mapping[str, Metric]
    indicators: Mapping[str, Indicator]
    dimensions: Mapping[str, Dimension]
    combination: Combination
    grading: Grading | None
    adjustments: Mapping[str, Adjustment] = field(default_factory=frozen_map)
    vetoes: Mapping[str, Veto] = field(default_factory=frozen_map)
    peer_group: str = "all"  # the group rank / average / best-performer scoring compares within
    peers: PeerComparison | None = None
    org: str | None = None
    description: str = ""
    content_hash: str = ""
