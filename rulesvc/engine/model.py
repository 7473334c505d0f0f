"""The scheme (考评方案) as the engine sees it: immutable dataclasses, built from a validated document.

A scheme reads events through **metrics** (aggregations with filters), computes **indicators**
(formulas over metrics), turns each indicator's value into points with a **scoring rule**, adds
**adjustments** (加减分项) for matching events, applies **vetoes** (一票否决), **combines** the points
with a base score and dimension weights, and assigns a **grade** from bands with optional quotas.
A :class:`Subject` is who a scheme scores (a prosecutor or a procuratorate) as both executors see it.

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
PEER_GROUPS = ("all", "procuratorate", "department", "business", "line", "level")
QUOTA_STATUSES = ("quota", "non_quota")  # 员额 (including those who left the quota, while they were in it) / 非员额
LEVELS = ("province", "city", "county")
ROUNDINGS = ("floor", "round", "ceil", "at_least_one")
NO_ACTIVITY = ("not_graded", "score")
SMALL_GROUP = ("none", "all", "lowest")
DEFAULT_PEER_MIN_SIZE = 5


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
    weights: Weights | None = None  # a weighted count / sum: each event counts its weight (a lookup table)
    unit: str = ""  # the word for one of what it counts (人, 件 …); default: from the data dictionary


@dataclass(frozen=True)
class Weights:
    """A lookup table of weights by the value of one event field (工作量折算系数), e.g. by case type:
    second-instance protest 4/3, filing review 1/3. Weights are exact fractions (``"4/3"``) or decimals;
    a value not in the table weighs ``default``."""

    by: str
    table: Mapping[str, tuple[int, int]]  # key → (numerator, denominator), exact
    default: tuple[int, int] = (0, 1)
    labels: Mapping[str, str] = field(default_factory=frozen_map)  # key → the weight as written ("4/3")


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
    businesses: tuple[str, ...] = ()  # of the ten businesses (finer than lines); empty = all
    peer_group: str | None = None  # overrides the scheme's peer_group for this indicator
    peer_min_size: int | None = None  # overrides the scheme's peer_min_size for this indicator
    prorate: bool = False  # divide the value by the share of the period in office (counts, sums)


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
    lines: tuple[str, ...] = ()  # business lines it applies to; empty = all
    description: str = ""
    businesses: tuple[str, ...] = ()  # of the ten businesses; empty = all


@dataclass(frozen=True)
class CasePattern:
    """Events of one case that together match, e.g. returned twice, then not prosecuted.

    ``require`` maps a name to (event types, filter, minimum count); a case matches when every
    requirement has at least its minimum of matching events.
    """

    require: tuple[PatternStep, ...]


@dataclass(frozen=True)
class PatternStep:
    """Matching events of one case: at least ``at_least`` of them — or, with ``sum``, their ``sum``
    field adding up to at least ``at_least`` (accumulated flaw points: ≥ 40 in one case)."""

    name: str
    events: tuple[str, ...]
    where: str | None = None
    at_least: float = 1
    sum: str | None = None


@dataclass(frozen=True)
class VetoEffect:
    """One consequence of a veto: zero a dimension, cap the grade, or bar a grade."""

    effect: str
    dimension: str | None = None  # for zero_dimension
    grade: str | None = None  # for cap_grade (at best this grade) and bar_grade (never this grade)


@dataclass(frozen=True)
class Veto:
    """一票否决: a matching event has one or more ``effects`` (a wrongful case zeroes quality *and*
    bars 优秀)."""

    code: str
    name: str
    events: tuple[str, ...]
    effects: tuple[VetoEffect, ...]
    where: str | None = None
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
    quota_rounding: str = "round"  # places = quota × group size, rounded this way (see peers.quota_places)


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
    bottom_k_when_small: str = "none"  # a group of bottom_k units or fewer: flag none, all, or the lowest
    bottom_share_rounding: str = "floor"  # places = bottom_share × group size, rounded this way


@dataclass(frozen=True)
class Participants:
    """Who is evaluated (参加考评) in a period, and who is scored but not graded.

    - ``quota_statuses``: prosecutors of these statuses take part (default 员额 only; one who left the
      quota is a quota prosecutor until the day they left, their ``active_to``);
    - in office during the period (their active dates overlap it), else left out;
    - ``min_office_share``: in office for less than this share of the period → scored and shown, but
      not graded, ranked or compared (不参加等次评定);
    - ``levels``: procuratorate levels that take part (empty = all);
    - ``no_activity``: a subject with no event counted by any metric of the scheme: ``not_graded``
      (shown with their score and that reason) or ``score`` (graded as the rules say).
    """

    quota_statuses: tuple[str, ...] = ("quota",)
    min_office_share: float = 0.5
    levels: tuple[str, ...] = ()
    no_activity: str = "not_graded"


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
    participants: Participants = field(default_factory=Participants)
    peer_min_size: int = DEFAULT_PEER_MIN_SIZE  # fewer evaluated peers with a value: no comparison (missing)

    @property
    def rank_group(self) -> str:
        """The group a subject's place is counted in: the quota group, where grades are given (the place decides
        them); without grades, the group the scheme compares in — a monthly bulletin scoring each unit against its
        level's average ranks it among its level (an audit: 11th of all 96 units on the card, 1st of the 9 city-level
        units in the same month's comparison)."""
        return self.grading.quota_group if self.grading is not None else self.peer_group


@dataclass
class Subject:
    """Who is evaluated, the groups they are compared in, and how they take part in the period
    (``rulesvc.engine.participation``: ``evaluated`` or ``not_graded`` with the reason — a subject left
    out entirely is never evaluated)."""

    id: str
    name: str = ""
    line: str | None = None  # business line (四大检察) for indicators limited to some lines
    groups: Mapping[str, Any] = field(default_factory=dict)  # group kind → group key
    business: str | None = None  # one of the ten businesses
    attrs: Mapping[str, Any] = field(default_factory=dict)  # what formulas may read: is_leader, leader_title …
    status: str = "evaluated"
    status_code: str = ""
    status_reason: str = ""
    office_share: float = 1.0
