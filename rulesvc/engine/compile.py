"""Compile a scheme once: resolve every name, type-check every formula, build the scoring functions.

The result, :class:`CompiledScheme`, is immutable and shared by both executors (per subject and
bulk). Every problem is collected — not just the first — as a :class:`DefinitionError` with its path
in the document and, inside a formula, its position.
"""

from __future__ import annotations

import functools
import graphlib
import itertools
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from rulesvc.engine import expr as X
from rulesvc.engine import scoring
from rulesvc.engine.backends.conditions import (
    FIELD_NAME,
    MAX_BOOL_OPS_PER_RULE,
    count_bool_ops,
    parse_condition,
)
from rulesvc.engine.dictionary import Dictionary
from rulesvc.engine.errors import DefinitionError, DefinitionErrors
from rulesvc.engine.expr.compile_columns import Block, compile_mask
from rulesvc.engine.model import Adjustment, Indicator, Metric, Scheme, Veto, Weights
from rulesvc.engine.result import MetricTrace

COMMON_FIELDS = {"case_id": "str", "occurred_on": "date", "event_type": "str"}
# Names the executors use for their own columns and facts: a metric, indicator or pattern step may
# not take one, or the bulk frame would read the wrong column.
RESERVED = frozenset({
    "event_id", "event_type", "prosecutor_id", "procuratorate_id", "department_id", "business_code", "case_id",
    "occurred_on", "line", "level", "code", "name", "total", "raw_total", "grade", "grade_reason", "rank", "place",
    "live_share", "quota_status", "is_leader", "leader_title", "active_from", "active_to", "parent_id",
    "id", "sid", "t", "adj", "x", "missing", "bottom_k", "bottom_share",
    "business", "office_share", "status", "status_reason", "status_code", "days_in_office", "activity",
})
LEVEL_CHOICES = {"province": "省级院", "city": "市级院", "county": "基层院"}
STEP_NAME = FIELD_NAME  # the adapter's rule for fact field names: letters (Chinese too), digits, _


def durable_safe(cond: dict[str, Any] | None) -> dict[str, Any] | None:
    """The condition if the durable_rules adapter will take it as is, else None (then the filter is
    computed in Python and asserted as a flag): no ordering on text or dates (H21), not too many
    and/or (the engine's slots per rule)."""
    if cond is None:
        return None
    try:
        parsed = parse_condition(cond, "where")
    except DefinitionError:
        return None
    if count_bool_ops(parsed) > MAX_BOOL_OPS_PER_RULE:
        return None

    def ordered_text(node: Any) -> bool:
        if isinstance(node, dict):
            for k, v in node.items():
                if k in ("$lt", "$lte", "$gt", "$gte") and isinstance(v, dict):
                    if any(not isinstance(c, int | float) or isinstance(c, bool) for c in v.values()):
                        return True
                if ordered_text(v):
                    return True
        elif isinstance(node, list):
            return any(ordered_text(x) for x in node)
        return False

    return None if ordered_text(cond) else cond


@dataclass(frozen=True)
class Predicate:
    """A filter over one event, compiled for each executor."""

    text: str
    expr: Any
    py: Callable[[Mapping[str, Any]], bool]
    pl: Any  # polars expression (Boolean, nulls counted as False)
    durable: dict[str, Any] | None  # None: not translatable, precomputed as a flag instead
    test: Callable[[Mapping[str, Any]], bool | None]  # like py, but null stays None (falsy): for filtering


@dataclass(frozen=True)
class CompiledWeights:
    """A metric's weights as integers over one common denominator, so that both executors add them
    exactly: an event weighs ``numerators.get(value of field, default) / denominator``."""

    field: str
    numerators: Mapping[str, int]
    default: int
    denominator: int

    def of(self, event: Mapping[str, Any]) -> int:
        v = event.get(self.field)
        return self.default if v is None else self.numerators.get(str(v), self.default)


@dataclass(frozen=True)
class CompiledMetric:
    metric: Metric
    types: frozenset[str]
    where: Predicate | None
    definition: str
    weights: CompiledWeights | None = None
    unit: str = "件"  # what one of its count is called: 人 (persons), 件 (cases, matters), 次, 项 …

    @functools.cached_property
    def lookup(self) -> tuple[str, str | bool, Callable[[Mapping[str, Any]], bool | None] | None] | None:
        """The filter as "field == constant, then the rest" (see ``expr.split_lookup``), or None."""
        return X.split_lookup(self.where.expr) if self.where is not None and len(self.types) == 1 else None

    @functools.cached_property
    def block_key(self) -> str | tuple[str, ...]:
        """The event type it reads, or its types in order (how the executor groups its events)."""
        return next(iter(self.types)) if len(self.types) == 1 else tuple(sorted(self.types))

    @functools.cached_property
    def label(self) -> str:
        return self.metric.name or self.metric.code

    @functools.cached_property
    def of_no_events(self) -> tuple[float | None, MetricTrace]:
        """Its value over no events (a count or sum is 0, an average, minimum or maximum null) and that
        trace: what the per-subject executor gives a subject with no event of its types."""
        value = None if self.metric.agg in ("avg", "min", "max") else 0.0
        return value, MetricTrace(self.metric.code, self.label, self.definition, value, 0, ())

    @functools.cached_property
    def mask(self) -> Callable[[Block], list[bool]] | None:
        """The filter over a block of events taken column-wise (``expr.compile_mask``), or None."""
        return compile_mask(self.where.expr) if self.where is not None else None


@dataclass(frozen=True)
class CompiledIndicator:
    indicator: Indicator
    expr: Any
    py: Callable[[Mapping[str, Any]], Any]
    pl: Any
    names: tuple[str, ...]  # metrics and indicators it reads
    piecewise: scoring.Piecewise | None
    higher_better: bool
    peer_group: str = "all"
    peer_min_size: int = 2

    def explain(self, values: Mapping[str, Any]) -> str:
        """The formula with the numbers filled in, e.g. ``(120 + 42) / 120 = 1.35``."""
        return self._explainer(values)

    def explain_value(self, values: Mapping[str, Any], value: Any) -> str:
        """:meth:`explain` when the caller has the formula's value on ``values`` already."""
        return self._explainer(values, value)

    @functools.cached_property
    def _explainer(self) -> Callable[..., str]:
        return X.explainer(self.expr, self.py)


@dataclass(frozen=True)
class CompiledPatternStep:
    name: str
    types: frozenset[str]
    where: Predicate | None
    at_least: float
    sum: str | None = None  # add up this field of the matching events instead of counting them

    @functools.cached_property
    def mask(self) -> Callable[[Block], list[bool]] | None:
        """The step's filter over a block of events taken column-wise, or None (no filter)."""
        return compile_mask(self.where.expr) if self.where is not None else None


@dataclass(frozen=True)
class CompiledAdjustment:
    adjustment: Adjustment
    types: frozenset[str]
    where: Predicate | None
    pattern: tuple[CompiledPatternStep, ...] = ()


@dataclass(frozen=True)
class CompiledVeto:
    veto: Veto
    types: frozenset[str]
    where: Predicate | None


@dataclass(frozen=True)
class CompiledScheme:
    scheme: Scheme
    metrics: tuple[CompiledMetric, ...]
    indicators: tuple[CompiledIndicator, ...]  # in evaluation order
    adjustments: tuple[CompiledAdjustment, ...]
    vetoes: tuple[CompiledVeto, ...]
    dimension_max: Mapping[str, float]  # Σ max points of the scored indicators in each dimension
    weight_share: Mapping[str, float]  # w_d / Σ w
    event_types: frozenset[str]  # every event type the scheme reads

    @property
    def key(self) -> str:
        return self.scheme.content_hash

    @functools.cached_property
    def metric_labels(self) -> Mapping[str, str]:
        """Metric code → its name for people (the code when it has none)."""
        return {cm.metric.code: (cm.metric.name or cm.metric.code) for cm in self.metrics}

    @functools.cached_property
    def event_fields(self) -> Mapping[str, tuple[str, ...]]:
        """Event type → the fields any filter, aggregation, weight or pattern step reads from events of
        that type, after ``event_id``, ``event_type`` and ``case_id`` (``frame_events`` hands over no more)."""
        reads: dict[str, dict[str, None]] = {}

        def add(types: frozenset[str], names: Any) -> None:
            for t in types:
                reads.setdefault(t, dict.fromkeys(("event_id", "event_type", "case_id"))).update(
                    dict.fromkeys(n for n in names if n))

        for cm in self.metrics:
            add(cm.types, [*(X.free_names(cm.where.expr) if cm.where else ()), cm.metric.field,
                           cm.weights.field if cm.weights else None])
        for ca in self.adjustments:
            add(ca.types, X.free_names(ca.where.expr) if ca.where else ())
            for st in ca.pattern:
                add(st.types, [*(X.free_names(st.where.expr) if st.where else ()), st.sum])
        for cv in self.vetoes:
            add(cv.types, X.free_names(cv.where.expr) if cv.where else ())
        return {t: tuple(names) for t, names in reads.items()}

    @functools.cached_property
    def fact_types(self) -> frozenset[str]:
        """The event types an adjustment (not a pattern) or a veto reads: their events become decision facts."""
        types: set[str] = set()
        for ca in self.adjustments:
            if not ca.pattern:
                types |= ca.types
        for cv in self.vetoes:
            types |= cv.types
        return frozenset(types)

    @functools.cached_property
    def metric_units(self) -> Mapping[str, str]:
        """Metric code → what one of its count is called (件, 人 …)."""
        units: dict[str, str] = {}
        for cm in self.metrics:
            units.setdefault(cm.metric.code, cm.unit)  # the first, as a search in order would find
        return units

    @functools.cached_property
    def formulas_labeled(self) -> Mapping[str, str]:
        """Indicator code → its formula with the Chinese names of what it reads (metrics, indicators and
        the subject's attributes) instead of the codes."""
        labels = {**SUBJECT_LABELS, **self.metric_labels,
                  **{ci.indicator.code: ci.indicator.name for ci in self.indicators}}
        return {ci.indicator.code: X.to_labeled_text(ci.expr, labels) for ci in self.indicators}

    @functools.cached_property
    def count_metrics_of(self) -> Mapping[str, Mapping[str, CompiledMetric]]:
        """Indicator code → the counting metrics its formula reads (what "n more cases" can move)."""
        return {ci.indicator.code: {cm.metric.code: cm for cm in self.metrics
                                    if cm.metric.agg == "count" and cm.metric.code in ci.names}
                for ci in self.indicators}

    @functools.cached_property
    def implied_pairs(self) -> frozenset[tuple[str, str]]:
        """The pairs (a, b) of counting metrics of one indicator where any event a counts is, by the filters
        alone, also counted by b (an adopted recommendation is also a replied one: ``outcome == 'adopted'``
        implies ``outcome != 'pending'``) — what "one more of a" means for a subject without any of a."""
        pairs = set()
        for counts in self.count_metrics_of.values():
            for a, cm in counts.items():
                for b, other in counts.items():
                    if a != b and cm.types <= other.types and implies(cm.where, other.where):
                        pairs.add((a, b))
        return frozenset(pairs)

    @functools.cached_property
    def indicator_names(self) -> Mapping[str, str]:
        return {ci.indicator.code: ci.indicator.name for ci in self.indicators}

    @functools.cached_property
    def also_counted_in(self) -> Mapping[str, tuple[str, ...]]:
        """Counting metric → the scored indicators an extra event of it also moves, by the definitions alone: those
        whose formula reads it, or reads a metric that counts (or sums, or weighs) every event it counts (one more
        hearing that settled a complaint is also one more hearing, and more workload), or reads such an indicator.
        What a "what it would take" hint names besides its own indicator."""
        metrics = {cm.metric.code: cm for cm in self.metrics}
        movers = {a for counts in self.count_metrics_of.values() for a in counts}
        out: dict[str, tuple[str, ...]] = {}
        for a in sorted(movers):
            cm = metrics[a]
            moved = {b for b, other in metrics.items()
                     if b == a or (cm.types <= other.types and implies(cm.where, other.where))}
            hit: list[str] = []
            for ci in self.indicators:  # in dependency order: an indicator reading a moved one moves too
                if set(ci.names) & moved:
                    moved.add(ci.indicator.code)
                    if ci.piecewise is not None:
                        hit.append(ci.indicator.code)
            out[a] = tuple(hit)
        return out


MAX_ASSIGNMENTS = 4096  # combinations of field values tried by ``implies`` (beyond: not known)


def implies(a: Predicate | None, b: Predicate | None) -> bool:
    """Does every event ``a``'s filter keeps pass ``b``'s, whatever the event (not only the events seen)?
    Decided by trying every value the fields both filters read can take — null included — when they are all
    choices of the dictionary or yes/no and there are at most :data:`MAX_ASSIGNMENTS` combinations; False
    otherwise (not known), and False when no event passes ``a`` at all."""
    if b is None:
        return True
    names: dict[str, Any] = {}
    for p in (a, b):
        if p is not None:
            for name, t in X.typed_names(p.expr).items():
                names.setdefault(name, t)
    domains: list[list[Any]] = []
    size = 1
    for t in names.values():
        if t.kind == "enum":
            domains.append([key for key, _ in t.choices] + [None])
        elif t.kind == "bool":
            domains.append([True, False, None])
        else:
            return False
        size *= len(domains[-1])
        if size > MAX_ASSIGNMENTS:
            return False
    some = False
    for values in itertools.product(*domains):
        event = dict(zip(names, values, strict=True))
        if a is None or a.py(event):
            some = True
            if not b.py(event):
                return False
    return some


def _field_type(kind: str, choices: Mapping[str, str] | None) -> Any:
    return X.field_type(kind, choices)


def event_scope(dictionary: Dictionary, types: frozenset[str], path: str) -> dict[str, Any]:
    """Fields a filter over events of ``types`` may use: those all the types share, plus common columns."""
    scope: dict[str, Any] | None = None
    for t in sorted(types):
        et = dictionary.event_types.get(t)
        if et is None:
            continue
        fields = {n: _field_type(f.type, f.choices) for n, f in et.fields.items()}
        scope = fields if scope is None else {k: v for k, v in scope.items() if k in fields and fields[k] == v}
    scope = dict(scope or {})
    for name, kind in COMMON_FIELDS.items():
        scope.setdefault(name, _field_type(kind, None))
    return scope


def subject_scope(dictionary: Dictionary, subject: str) -> dict[str, Any]:
    """What a formula may read of the subject itself (Yunnan counts a leader's cases with a coefficient):
    ``is_leader``, ``leader_title``, ``business``, ``line``, ``level`` and ``office_share`` (the share of the
    period in office, 0–1). A procuratorate has only ``level`` (the rest are null)."""
    businesses = {b.code: b.name for b in dictionary.businesses} or {"-": "-"}
    lines = dict(dictionary.lines) or {"-": "-"}
    return {"is_leader": X.BOOL, "leader_title": X.STRING, "business": X.enum(businesses), "line": X.enum(lines),
            "level": X.enum(LEVEL_CHOICES), "office_share": X.NUMBER}


SUBJECT_LABELS = {"is_leader": "本人是否院领导", "leader_title": "本人领导职务", "business": "本人业务类别",
                  "line": "本人业务条线", "level": "所在院层级", "office_share": "本期间在任时间占比"}


class _Compiler:
    def __init__(self, scheme: Scheme, dictionary: Dictionary) -> None:
        self.s = scheme
        self.d = dictionary
        self.errors: list[DefinitionError] = []

    def guard(self, fn: Callable[[], Any]) -> Any:
        try:
            return fn()
        except DefinitionErrors as exc:
            self.errors.extend(exc.errors)
        except DefinitionError as exc:
            self.errors.append(exc)
        return None

    def types(self, events: tuple[str, ...], path: str) -> frozenset[str]:
        for i, t in enumerate(events):
            if t not in self.d.event_types:
                import difflib

                near = difflib.get_close_matches(t, list(self.d.event_types), n=1)
                hint = f"，是否为“{near[0]}”？" if near else ""
                self.errors.append(DefinitionError(
                    f"未知的事件类型“{t}”{hint} (unknown event type {t!r})", path=f"{path}.events[{i}]",
                    expected="、".join(sorted(self.d.event_types))))
        return frozenset(events)

    def predicate(self, text: str | None, types: frozenset[str], path: str) -> Predicate | None:
        if text is None:
            return None
        scope = event_scope(self.d, types, path)
        e = X.parse_typed(text, scope, path=path, want="bool")
        try:
            dur = durable_safe(X.compile_durable(e))
        except X.NotTranslatable:
            dur = None
        return Predicate(text, e, X.compile_predicate(e), X.compile_polars_predicate(e), dur, X.compile_python(e))

    def metric(self, m: Metric) -> CompiledMetric:
        path = f"metrics.{m.code}"
        types = self.types(m.events, path)
        if m.agg != "count" and not m.field:
            raise DefinitionError(f"聚合 {m.agg} 需要 field (aggregation {m.agg} needs a field)", path=f"{path}.field")
        if m.field:
            scope = event_scope(self.d, types, path)
            if m.field not in scope:
                raise DefinitionError(f"字段“{m.field}”不在这些事件类型中 (no field {m.field!r} in {sorted(types)})",
                                      path=f"{path}.field", expected="、".join(sorted(scope)))
            if m.agg in ("sum", "avg", "min", "max") and not X.is_number(scope[m.field]):
                raise DefinitionError(f"{m.agg} 需要数值字段，“{m.field}”不是 (needs a number field)", path=f"{path}.field")
        where = self.predicate(m.where, types, f"{path}.where")
        target = f"{m.field}" if m.field else ""
        weights = self.weights(m.weights, m.agg, types, f"{path}.weights") if m.weights else None
        weighted = f" × 系数（按 {m.weights.by}）" if m.weights else ""
        definition = (f"{m.agg}({target}{' of ' if target else ''}{'|'.join(sorted(types))}"
                      f"{' where ' + m.where if m.where else ''}){weighted}")
        return CompiledMetric(m, types, where, definition, weights, self.unit_of(m, types))

    def unit_of(self, m: Metric, types: frozenset[str]) -> str:
        """The metric's own ``unit``, else what the data dictionary says one event of its types counts (a
        distinct count of cases: 件; of suspects: 人); nothing for sums and averages."""
        if m.unit:
            return m.unit
        if m.agg == "count" and m.weights is None:
            units = {self.d.event_types[t].unit for t in types if t in self.d.event_types}
            return units.pop() if len(units) == 1 else "件"
        if m.agg == "distinct":
            return {"case_id": "件", "suspect_id": "人"}.get(m.field or "", "个")
        return ""

    def weights(self, w: Weights, agg: str, types: frozenset[str], path: str) -> CompiledWeights:
        """A lookup table of weights: keys checked against the field's choices (a Chinese label is
        accepted), every weight put over one common denominator."""
        import math as _math

        if agg not in ("count", "sum"):
            raise DefinitionError(f"只有 count 与 sum 可以加权（本度量为 {agg}） (only count and sum take weights)",
                                  path=path, expected="agg: count | sum")
        scope = event_scope(self.d, types, path)
        if w.by == "event_type":
            ftype: Any = X.enum({t: self.d.event_types[t].name for t in sorted(types) if t in self.d.event_types})
        elif w.by in scope and scope[w.by].kind in ("enum", "string"):
            ftype = scope[w.by]
        else:
            raise DefinitionError(f"系数须按文本或枚举字段查表，“{w.by}”不是 (weights look up a text or enum field)",
                                  path=f"{path}.by",
                                  expected="、".join(["event_type", *sorted(n for n, t in scope.items()
                                                                          if t.kind in ("enum", "string"))]))
        numer: dict[str, tuple[int, int]] = {}
        for key, frac in w.table.items():
            k = ftype.key_for(key) if ftype.kind == "enum" else key
            if k is None:
                raise DefinitionError(f"“{key}”不是“{w.by}”的取值 (not a value of {w.by})", path=f"{path}.table.{key}",
                                      expected=ftype.choice_list())
            if k in numer:
                raise DefinitionError(f"“{key}”重复（与“{k}”是同一取值） (duplicate key)", path=f"{path}.table.{key}")
            numer[k] = frac
        denominator = 1
        for _, d in [*numer.values(), w.default]:
            denominator = denominator * d // _math.gcd(denominator, d)
        if denominator > 10**9:
            raise DefinitionError("各系数的公分母过大，请用更简单的分数 (the weights' common denominator is too large)",
                                  path=path)
        return CompiledWeights(w.by, {k: n * (denominator // d) for k, (n, d) in numer.items()},
                               w.default[0] * (denominator // w.default[1]), denominator)

    def indicators(self) -> tuple[CompiledIndicator, ...]:
        metric_scope = {**subject_scope(self.d, self.s.subject), **{code: X.NUMBER for code in self.s.metrics}}
        deps: dict[str, set[str]] = {}
        parsed: dict[str, Any] = {}
        for code, ind in self.s.indicators.items():
            if code in self.s.metrics:
                self.errors.append(DefinitionError(f"指标代码与度量重名 (indicator {code!r} shadows a metric)",
                                                   path=f"indicators.{code}"))
                continue
            scope = {**metric_scope, **{c: X.NUMBER for c in self.s.indicators if c != code}}
            e = self.guard(functools.partial(X.parse_typed, ind.formula, scope, path=f"indicators.{code}.formula",
                                             want="number"))
            if e is None:
                continue
            parsed[code] = e
            deps[code] = {n for n in X.free_names(e) if n in self.s.indicators}
        try:
            order = list(graphlib.TopologicalSorter(deps).static_order())
        except graphlib.CycleError as exc:
            cycle = " → ".join(exc.args[1])
            self.errors.append(DefinitionError(f"指标之间循环引用：{cycle} (circular reference)",
                                               path=f"indicators.{exc.args[1][0]}.formula"))
            return ()
        out = []
        for code in order:
            if code not in parsed:
                continue
            ind = self.s.indicators[code]
            self.check_dimension(ind.dimension, f"indicators.{code}.dimension", required=ind.scored)
            hb = ind.direction != "lower_better"
            pw = None
            if ind.scored:
                if ind.scoring is None:
                    self.errors.append(DefinitionError("计分指标需要 scoring (a scored indicator needs a scoring rule)",
                                                       path=f"indicators.{code}.scoring"))
                    continue
                pw = self.guard(functools.partial(self.piecewise, ind, code, hb))
            e = parsed[code]
            self.applicability(ind.lines, ind.businesses, f"indicators.{code}")
            if ind.prorate and self.s.subject != "prosecutor":
                self.errors.append(DefinitionError("院级方案没有任职时间，不能按任职时间折算 (prorate needs prosecutors)",
                                                   path=f"indicators.{code}.prorate"))
            group = ind.peer_group or self.s.peer_group
            out.append(CompiledIndicator(ind, e, X.compile_python(e), X.compile_polars(e),
                                         tuple(sorted(X.free_names(e))), pw, hb, group,
                                         ind.peer_min_size or self.s.peer_min_size))
        return tuple(out)

    def applicability(self, lines: tuple[str, ...], businesses: tuple[str, ...], path: str) -> None:
        """``lines`` and ``businesses`` name real lines and businesses (a typo would silently apply to nobody)."""
        known_lines = set(self.d.lines) or {b.line for b in self.d.businesses}
        for i, line in enumerate(lines):
            if known_lines and line not in known_lines:
                self.errors.append(DefinitionError(f"未知的业务条线“{line}” (unknown line)", path=f"{path}.lines[{i}]",
                                                   expected="、".join(sorted(known_lines))))
        known = {b.code for b in self.d.businesses}
        for i, b in enumerate(businesses):
            if b not in known:
                self.errors.append(DefinitionError(f"未知的业务类别“{b}” (unknown business)", path=f"{path}.businesses[{i}]",
                                                   expected="、".join(sorted(known))))
            elif lines and next(x.line for x in self.d.businesses if x.code == b) not in lines:
                self.errors.append(DefinitionError(f"业务类别“{b}”不属于 lines 所列条线，永远不适用 (business outside lines)",
                                                   path=f"{path}.businesses[{i}]"))

    def piecewise(self, ind: Indicator, code: str, hb: bool) -> scoring.Piecewise:
        assert ind.scoring is not None
        path = f"indicators.{code}.scoring"
        method = scoring.method(ind.scoring.method, f"{path}.method")
        unknown = [k for k in ind.scoring.params if k not in method.params]
        if unknown:  # a typo (`misssing`, `wrost`) would otherwise be silently ignored
            import difflib

            problems = []
            for k in unknown:
                near = difflib.get_close_matches(k, [*method.params, "missing", "method"], n=1)
                hint = f"，是否为“{near[0]}”？" if near else ""
                problems.append(DefinitionError(
                    f"计分方法 {method.name} 没有参数“{k}”{hint} (unknown parameter {k!r} of {method.name})",
                    path=f"{path}.{k}", expected="、".join([*method.params, "missing"])))
            raise DefinitionErrors(problems) if len(problems) > 1 else problems[0]
        # the method's name beside its parameters: a required one left out is named with it ("“per_unit” 计分方法必须写明 cap")
        pw = method.compile({**ind.scoring.params, "method": method.name}, higher_better=hb, unit=ind.unit, path=path)
        scoring.check_coverage(pw, path)
        missing = {"zero": 0.0, "worst": pw.min_points, "best": pw.max_points, "exclude": 0.0}[ind.scoring.missing]
        return scoring.Piecewise(pw.derive, pw.branches, missing, pw.max_points, pw.min_points, hb, pw.unit)

    def check_dimension(self, dim: str | None, path: str, *, required: bool) -> None:
        if dim is None:
            if required and self.s.combination.method == "weighted":
                self.errors.append(DefinitionError("需要 dimension (a dimension is required)", path=path,
                                                   expected="、".join(self.s.dimensions)))
            return
        if dim not in self.s.dimensions:
            self.errors.append(DefinitionError(f"未知的维度“{dim}” (unknown dimension)", path=path,
                                               expected="、".join(self.s.dimensions)))

    def adjustment(self, a: Adjustment) -> CompiledAdjustment:
        path = f"adjustments.{a.code}"
        types = self.types(a.events, path)
        self.check_dimension(a.dimension, f"{path}.dimension", required=False)
        where = self.guard(lambda: self.predicate(a.where, types, f"{path}.where"))
        self.applicability(a.lines, a.businesses, path)
        steps = []
        if a.pattern is not None:
            for i, st in enumerate(a.pattern.require):
                st_types = self.types(st.events, f"{path}.pattern[{i}]")
                st_where = self.guard(functools.partial(self.predicate, st.where, st_types, f"{path}.pattern[{i}].where"))
                if st.sum is not None:
                    scope = event_scope(self.d, st_types, path)
                    if st.sum not in scope or not X.is_number(scope[st.sum]):
                        self.errors.append(DefinitionError(
                            f"sum 须为这些事件共有的数值字段，“{st.sum}”不是 (sum needs a number field)",
                            path=f"{path}.pattern[{i}].sum",
                            expected="、".join(sorted(n for n, t in scope.items() if X.is_number(t)))))
                steps.append(CompiledPatternStep(st.name, st_types, st_where, st.at_least, st.sum))
        return CompiledAdjustment(a, types, where, tuple(steps))

    def veto(self, v: Veto) -> CompiledVeto:
        path = f"vetoes.{v.code}"
        types = self.types(v.events, path)
        for i, eff in enumerate(v.effects):
            where = path if len(v.effects) == 1 else f"{path}.effects[{i}]"
            if eff.effect == "zero_dimension":
                self.check_dimension(eff.dimension, f"{where}.dimension", required=True)
                if eff.dimension is None:
                    self.errors.append(DefinitionError("zero_dimension 需要 dimension", path=f"{where}.dimension"))
            elif eff.grade is None:
                self.errors.append(DefinitionError(f"{eff.effect} 需要 grade", path=f"{where}.grade"))
            elif self.s.grading and eff.grade not in [b.grade for b in self.s.grading.bands]:
                self.errors.append(DefinitionError(f"未知的等次“{eff.grade}” (unknown grade)", path=f"{where}.grade",
                                                   expected="、".join(b.grade for b in self.s.grading.bands)))
        where = self.guard(lambda: self.predicate(v.where, types, f"{path}.where"))
        return CompiledVeto(v, types, where)

    def grading(self) -> None:
        g = self.s.grading
        if g is None:
            return
        bands = list(g.bands)
        for i, (upper, lower) in enumerate(zip(bands, bands[1:], strict=False)):
            if upper.min <= lower.min:  # said with the two grades and their lines, at the lower one's row
                self.errors.append(DefinitionError(
                    f"等次须从高到低排列，分数线不重复：“{lower.grade}”的分数线 {lower.min:g} 不低于上一等次“{upper.grade}”的 "
                    f"{upper.min:g} (bands run from best to worst: {lower.grade} from {lower.min:g} is not below "
                    f"{upper.grade} from {upper.min:g})", path=f"grading.bands[{i + 1}].min"))

    def groups(self) -> None:
        """Procuratorates have no department or business: those groups only exist for prosecutors."""
        if self.s.subject != "procuratorate":
            return
        wrong = {"department", "business", "line"}
        found = [("peer_group", self.s.peer_group)]
        found += [(f"indicators.{c}.peer_group", i.peer_group) for c, i in self.s.indicators.items() if i.peer_group]
        if self.s.grading:
            found.append(("grading.quota_group", self.s.grading.quota_group))
        if self.s.peers:
            found.append(("peers.group", self.s.peers.group))
        for path, group in found:
            if group in wrong:
                self.errors.append(DefinitionError(
                    f"院级方案不能按“{group}”分组 (a procuratorate-level scheme cannot group by {group})",
                    path=path, expected="all、procuratorate、level"))

    def names(self) -> None:
        for section, codes in (("metrics", self.s.metrics), ("indicators", self.s.indicators)):
            for code in codes:
                if code in RESERVED or "__" in code:
                    self.errors.append(DefinitionError(
                        f"代码“{code}”为系统保留名称，请换一个 (reserved name; choose another code)",
                        path=f"{section}.{code}", expected="a code not in: " + ", ".join(sorted(RESERVED))))
        for code, a in self.s.adjustments.items():
            if a.pattern is None:
                continue
            seen: set[str] = set()
            for i, st in enumerate(a.pattern.require):
                path = f"adjustments.{code}.pattern[{i}].name"
                if not STEP_NAME.match(st.name) or st.name in RESERVED or "__" in st.name:
                    self.errors.append(DefinitionError(
                        f"步骤名“{st.name}”无效：须以字母或汉字开头，由字母、汉字、数字、下划线组成，且不是保留名称 (invalid step name)",
                        path=path, expected="e.g. returns, dropped"))
                elif st.name in seen:
                    self.errors.append(DefinitionError(f"步骤名“{st.name}”重复 (duplicate step name)", path=path))
                seen.add(st.name)

    def run(self) -> CompiledScheme:
        self.names()
        metrics = tuple(m for m in (self.guard(functools.partial(self.metric, m)) for m in self.s.metrics.values()) if m)
        indicators = self.indicators()
        adjustments = tuple(self.adjustment(a) for a in self.s.adjustments.values())
        vetoes = tuple(self.veto(v) for v in self.s.vetoes.values())
        self.grading()
        self.groups()
        if self.s.combination.method == "weighted":
            total_w = sum(d.weight for d in self.s.dimensions.values())
            if total_w <= 0:
                self.errors.append(DefinitionError("维度权重之和须大于 0 (dimension weights must add up to > 0)",
                                                   path="dimensions"))
        if self.errors:
            raise DefinitionErrors(self.errors) if len(self.errors) > 1 else self.errors[0]
        dim_max = {d: 0.0 for d in self.s.dimensions}
        for ci in indicators:
            if ci.piecewise is not None and ci.indicator.dimension:
                dim_max[ci.indicator.dimension] += ci.piecewise.max_points
        total_w = sum(d.weight for d in self.s.dimensions.values()) or 1.0
        share = {c: d.weight / total_w for c, d in self.s.dimensions.items()}
        types = set()
        for cm in metrics:
            types |= cm.types
        for ca in adjustments:
            types |= ca.types
            for st in ca.pattern:
                types |= st.types
        for cv in vetoes:
            types |= cv.types
        return CompiledScheme(self.s, metrics, indicators, adjustments, vetoes, dim_max, share, frozenset(types))


def compile_scheme(scheme: Scheme, dictionary: Dictionary) -> CompiledScheme:
    """Check and compile ``scheme`` against ``dictionary``; raises DefinitionError(s) listing every problem."""
    return _Compiler(scheme, dictionary).run()
