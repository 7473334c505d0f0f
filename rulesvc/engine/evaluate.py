"""Evaluate one subject: metrics → indicators → decisions → points → total → grade, with the trace.

The *decisions* — which scoring branch holds each indicator's value, which events match each
adjustment and veto — are made by a :class:`Decider`: plain Python (:class:`PythonDecider`) or
durable_rules (``rulesvc.engine.backends``). Everything else is computed here, once, for both.
The bulk executor (``rulesvc.engine.bulk``) implements the same rules column-wise; a differential
test holds them together.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from rulesvc.engine import result as R
from rulesvc.engine.compile import CompiledAdjustment, CompiledIndicator, CompiledScheme, Predicate
from rulesvc.engine.explain import describe_branch, nearest_for
from rulesvc.engine.peers import PeerContext, derive_x, grade_for

Row = Mapping[str, Any]


@dataclass(frozen=True)
class Decisions:
    """What fired: branch per indicator, matching event (or case) ids per adjustment and veto."""

    branches: Mapping[str, str]
    adjustments: Mapping[str, tuple[str, ...]]
    vetoes: Mapping[str, tuple[str, ...]]


@dataclass(frozen=True)
class DecisionInput:
    """What a decider needs: x per scored indicator (None = missing), the events, the case facts."""

    x: Mapping[str, float | None]
    events: Sequence[Row]
    cases: Sequence[Row] = ()  # one per (adjustment with a pattern, case): {"adj", "case_id", step: count}


class Decider(Protocol):
    name: str

    def decide(self, compiled: CompiledScheme, facts: DecisionInput) -> Decisions: ...


def matches(pred: Predicate | None, types: frozenset[str], event: Row) -> bool:
    return event["event_type"] in types and (pred is None or pred.py(event))


def case_facts(compiled: CompiledScheme, events: Sequence[Row],
               by_type: Mapping[str, list[Row]] | None = None) -> list[dict[str, Any]]:
    """Per pattern adjustment and case: how many events of the case satisfy each step.
    ``by_type`` is ``by_event_type(events)`` when the caller has it."""
    out: list[dict[str, Any]] = []
    for ca in compiled.adjustments:
        if not ca.pattern:
            continue
        per_case: dict[str, dict[str, Any]] = {}
        types = frozenset().union(*(st.types for st in ca.pattern))
        # Counting does not depend on the order the events come in.
        pool = events if by_type is None else [e for t in sorted(types) for e in by_type.get(t, ())]
        for e in pool:
            cid = e.get("case_id")
            if not cid or e["event_type"] not in types:
                continue
            for st in ca.pattern:
                if matches(st.where, st.types, e):
                    row = per_case.setdefault(cid, {"adj": ca.adjustment.code, "case_id": cid,
                                                    **{s.name: 0 for s in ca.pattern}})
                    row[st.name] += 1
        out.extend(per_case[c] for c in sorted(per_case))
    return out


def distinct_cases(events: Iterable[Row]) -> tuple[str, ...]:
    """Case ids of ``events`` in order of first appearance; events without a case do not count."""
    return tuple(dict.fromkeys(e["case_id"] for e in events if e.get("case_id")))


def pattern_holds(ca: CompiledAdjustment, case: Row) -> bool:
    return case["adj"] == ca.adjustment.code and all(case[st.name] >= st.at_least for st in ca.pattern)


class PythonDecider:
    """Decisions made by the compiled Python closures: the reference the others are tested against."""

    name = "python"

    def decide(self, compiled: CompiledScheme, facts: DecisionInput) -> Decisions:
        branches: dict[str, str] = {}
        for ci in compiled.indicators:
            if ci.piecewise is None or ci.indicator.code not in facts.x:
                continue
            x = facts.x[ci.indicator.code]
            branches[ci.indicator.code] = "missing" if x is None else ci.piecewise.branch_for(x).id
        adjustments: dict[str, tuple[str, ...]] = {}
        for ca in compiled.adjustments:
            if ca.pattern:
                ids = tuple(c["case_id"] for c in facts.cases if pattern_holds(ca, c))
            elif ca.adjustment.per_case:
                ids = distinct_cases(e for e in facts.events if matches(ca.where, ca.types, e))
            else:
                ids = tuple(e["event_id"] for e in facts.events if matches(ca.where, ca.types, e))
            if ids:
                adjustments[ca.adjustment.code] = ids
        vetoes = {}
        for cv in compiled.vetoes:
            ids = tuple(e["event_id"] for e in facts.events if matches(cv.where, cv.types, e))
            if ids:
                vetoes[cv.veto.code] = ids
        return Decisions(branches, adjustments, vetoes)


@dataclass
class Subject:
    """Who is evaluated and the groups they are compared in."""

    id: str
    name: str = ""
    line: str | None = None  # business line (四大检察) for indicators limited to some lines
    groups: Mapping[str, Any] = field(default_factory=dict)  # group kind → group key


def by_event_type(events: Sequence[Row]) -> dict[str, list[Row]]:
    """The events grouped by type, each group in the events' order (one pass)."""
    out: dict[str, list[Row]] = {}
    for e in events:
        out.setdefault(e["event_type"], []).append(e)
    return out


def metric_values(compiled: CompiledScheme, events: Sequence[Row], hits_out: dict | None = None,
                  by_type: Mapping[str, list[Row]] | None = None) -> tuple[dict[str, float | None], list[R.MetricTrace]]:
    """Aggregate the subject's events into metric values (same null rules as the bulk executor).
    ``hits_out`` receives each metric's matching events as ``("hits", code)`` (the explanations reuse them);
    ``by_type`` is ``by_event_type(events)`` when the caller has it."""
    values: dict[str, float | None] = {}
    traces: list[R.MetricTrace] = []
    if by_type is None:  # each metric then reads only its own event types
        by_type = by_event_type(events)
    # Most filters start "kind == 'protest' and …" or "plea_leniency and …": group each type's events by
    # that field once, then a metric reads its group and tests only the rest of its filter.
    groups: dict[tuple[str, str], dict[Any, list[Row]] | None] = {}
    for cm in compiled.metrics:
        m = cm.metric
        lookup = cm.lookup
        etype = next(iter(cm.types))
        if lookup is not None:
            field, wanted, rest = lookup
            if (etype, field) not in groups:
                groups[(etype, field)] = _group_by_value(by_type.get(etype, ()), field, wanted.__class__)
            grouped = groups[(etype, field)]
            if grouped is not None:
                pool = grouped.get(wanted, [])
                hits = pool if rest is None else [e for e in pool if rest(e)]
            else:  # a value of another type: the whole filter decides (and reports it)
                hits = [e for e in by_type.get(etype, ()) if cm.where.test(e)]  # type: ignore[union-attr]
        else:
            pool = by_type.get(etype, []) if len(cm.types) == 1 else [
                e for e in events if e["event_type"] in cm.types]
            hits = pool if cm.where is None else [e for e in pool if cm.where.test(e)]
        if hits_out is not None:
            hits_out[("hits", m.code)] = hits
        value: float | None
        if m.agg == "count":
            value = float(len(hits))
        else:
            vals = [e.get(m.field) for e in hits]
            vals = [v for v in vals if v is not None]
            if m.agg == "distinct":
                value = float(len(set(vals)))
            elif m.agg == "sum":
                value = float(math.fsum(vals))
            elif not vals:
                value = None
            elif m.agg == "avg":
                value = math.fsum(vals) / len(vals)
            else:
                value = float(min(vals) if m.agg == "min" else max(vals))
        values[m.code] = value
        ids = tuple(e["event_id"] for e in hits[: R.EVENT_IDS_SHOWN])
        traces.append(R.MetricTrace(m.code, m.name or m.code, cm.definition, value, len(hits), ids))
    return values, traces


def _group_by_value(events: Sequence[Row], field: str, cls: type) -> dict[Any, list[Row]] | None:
    """Events by the value of a text or flag field, in their order (a null value joins no group); None
    when some value is not of class ``cls`` (``str`` or ``bool``)."""
    out: dict[Any, list[Row]] = {}
    for e in events:
        v = e.get(field)
        if v.__class__ is cls:
            out.setdefault(v, []).append(e)
        elif v is not None:
            return None
    return out


def applies(ci: CompiledIndicator, subject: Subject) -> bool:
    lines = ci.indicator.lines
    return not lines or subject.line in lines


def indicator_values(compiled: CompiledScheme, metrics: Mapping[str, float | None]) -> dict[str, float | None]:
    values: dict[str, Any] = dict(metrics)
    for ci in compiled.indicators:
        v = ci.py(values)
        values[ci.indicator.code] = None if v is None or not math.isfinite(v) else float(v)
    return {ci.indicator.code: values[ci.indicator.code] for ci in compiled.indicators}


def evaluate_subject(
    compiled: CompiledScheme,
    subject: Subject,
    events: Sequence[Row],
    *,
    period: str,
    decider: Decider | None = None,
    peers: PeerContext | None = None,
    explain: bool = True,
) -> R.Result:
    """Score one subject from its events. ``peers`` supplies peer statistics and group totals
    (computed by the bulk executor) for rank/average/best scoring and grade quotas."""
    decider = decider or PythonDecider()
    found: dict = {}
    by_type = by_event_type(events)
    metrics, metric_traces = metric_values(compiled, events, found, by_type)
    values = indicator_values(compiled, metrics)
    xs: dict[str, float | None] = {}
    for ci in compiled.indicators:
        if ci.piecewise is None or not applies(ci, subject):
            continue
        v = values[ci.indicator.code]
        xs[ci.indicator.code] = None if v is None else derive_x(ci, v, subject, peers)
    decisions = decider.decide(compiled, DecisionInput(xs, events, case_facts(compiled, events, by_type)))
    return assemble(compiled, subject, period, metrics, values, xs, decisions, metric_traces, peers,
                    executor=decider.name, explain=explain, events=events, cache=found)


def assemble(
    compiled: CompiledScheme,
    subject: Subject,
    period: str,
    metrics: Mapping[str, float | None],
    values: Mapping[str, float | None],
    xs: Mapping[str, float | None],
    decisions: Decisions,
    metric_traces: Sequence[R.MetricTrace] = (),
    peers: PeerContext | None = None,
    *,
    executor: str = "python",
    explain: bool = True,
    events: Sequence[Row] = (),
    cache: dict | None = None,
) -> R.Result:
    """Points, caps, vetoes, combination and grade from the decisions; builds the trace."""
    s = compiled.scheme
    comb = s.combination
    fired: set[str] = set()
    zeroed: dict[str, str] = {}
    veto_traces = []
    for cv in compiled.vetoes:
        ids = decisions.vetoes.get(cv.veto.code, ())
        if not ids:
            continue
        fired.add(f"veto:{cv.veto.code}")
        v = cv.veto
        if v.effect == "zero_dimension" and v.dimension:
            zeroed.setdefault(v.dimension, v.name)
            detail = f"{s.dimensions[v.dimension].name}维度计 0 分 (dimension {v.dimension} set to 0)"
        elif v.effect == "cap_grade":
            detail = f"等次最高为{v.grade} (grade at best {v.grade})"
        else:
            detail = f"不得评为{v.grade} (may not be graded {v.grade})"
        veto_traces.append(R.VetoTrace(v.code, v.name, v.effect, tuple(ids[: R.EVENT_IDS_SHOWN]), detail))

    # Indicator points, and each dimension's attainable maximum for this subject.
    points: dict[str, float] = {}
    dim_max = dict.fromkeys(s.dimensions, 0.0)
    notes: dict[str, str] = {}
    for ci in compiled.indicators:
        code, pw = ci.indicator.code, ci.piecewise
        if pw is None:
            continue
        if not applies(ci, subject):
            notes[code] = "不适用于该业务条线 (not applicable to this business line)"
            continue
        branch = decisions.branches[code]
        fired.add(f"ind:{code}:{branch}")
        x = xs.get(code)
        if branch == "missing":
            if ci.indicator.scoring and ci.indicator.scoring.missing == "exclude":
                notes[code] = "无数据，不计入 (no data: excluded, the dimension is re-weighted)"
                continue
            points[code] = pw.missing_points
            notes[code] = f"无数据，按{pw.missing_points:g}分计 (no data: scored {pw.missing_points:g})"
        else:
            br = next(b for b in pw.branches if b.id == branch)
            points[code] = br.points(x) if x is not None else 0.0
        if ci.indicator.dimension:
            dim_max[ci.indicator.dimension] += pw.max_points

    # A dimension with nothing to score for this subject (no applicable indicator, or all excluded for
    # lack of data) is left out and the others re-weighted, rather than silently costing its weight.
    live = 0.0
    for d in s.dimensions:
        if dim_max[d] > 0:
            live += compiled.weight_share[d]
    lines: list[R.Line] = [R.Line("base", "base", "基础分 (base)", comb.base)] if comb.base else []
    contributions: dict[str, float] = {}
    for ci in compiled.indicators:
        code = ci.indicator.code
        if code not in points:
            continue
        dim = ci.indicator.dimension
        if dim and dim in zeroed:
            contributions[code] = 0.0
            notes[code] = f"{zeroed[dim]}：本维度计 0 分 (vetoed)"
        elif comb.method == "weighted":
            mx = dim_max.get(dim or "", 0.0)
            ok = dim is not None and mx > 0 and live > 0  # only dimensions with points to attain count
            contributions[code] = comb.span * (compiled.weight_share[dim] / live) * points[code] / mx if ok else 0.0
        else:
            contributions[code] = points[code]
        lines.append(R.Line("indicator", code, ci.indicator.name, contributions[code]))

    adj_traces, adj_lines = _adjustments(compiled, decisions, zeroed, fired)
    lines.extend(adj_lines)
    raw_total = ordered_sum(ln.points for ln in lines)
    clipped = raw_total
    if comb.cap is not None and clipped > comb.cap:
        clipped = comb.cap
    if comb.floor is not None and clipped < comb.floor:
        clipped = comb.floor
    if clipped != raw_total:
        lines.append(R.Line("clip", "total", f"总分限定在 [{comb.floor}, {comb.cap}] (total clipped)",
                            closing_delta(raw_total, clipped)))
    # A clipped total is the bound itself, to the bit (as in the bulk executor); the clip line is chosen
    # so that the lines add up to it exactly whenever a float allows, else to within an ulp.
    total = clipped if clipped != raw_total else ordered_sum(ln.points for ln in lines)
    grade, reason = grade_for(compiled, total, [t.code for t in veto_traces], subject, peers)
    if grade:
        fired.add(f"grade:{grade}")

    ind_traces = []
    subset_cache: dict = cache if cache is not None else {}
    for ci in compiled.indicators:
        code, ind, pw = ci.indicator.code, ci.indicator, ci.piecewise
        branch = decisions.branches.get(code)
        x = xs.get(code)
        rule = describe_branch(ci, branch, x, points.get(code)) if explain and branch else ""
        ind_traces.append(R.IndicatorTrace(
            code=code, name=ind.name, dimension=ind.dimension, formula=ind.formula,
            substituted=ci.explain(values_for(ci, metrics, values)) if explain else "",
            value=values[code], scored=pw is not None and code in points, x=x,
            derive=pw.derive if pw else "value", method=ind.scoring.method if ind.scoring else None,
            branch=branch, rule=rule, points=points.get(code, 0.0), max_points=pw.max_points if pw else 0.0,
            contribution=contributions.get(code, 0.0), note=notes.get(code, ""),
            nearest=(nearest_for(compiled, ci, metrics, values, x, events, subset_cache)
                     if explain and pw and branch and branch != "missing" else None),
        ))
    dims = []
    for code, d in s.dimensions.items():
        ind_codes = [ci.indicator.code for ci in compiled.indicators if ci.indicator.dimension == code]
        adj = math.fsum(ln.points for ln in adj_lines if _dim_of(compiled, ln.code) == code)
        share = compiled.weight_share.get(code, 0.0)
        dims.append(R.DimensionTrace(
            code, d.name, share / live if comb.method == "weighted" and live and dim_max[code] > 0 else (
                share if comb.method != "weighted" else 0.0), math.fsum(points.get(c, 0.0) for c in ind_codes),
            dim_max[code], adj, zeroed.get(code), math.fsum(contributions.get(c, 0.0) for c in ind_codes) + adj))
    return R.Result(
        subject=subject.id, scheme_code=s.code, scheme_hash=s.content_hash, period=period, total=total,
        grade=grade, grade_reason=reason, indicators=tuple(ind_traces), adjustments=tuple(adj_traces),
        vetoes=tuple(veto_traces), dimensions=tuple(dims), attribution=tuple(lines),
        metrics=tuple(metric_traces), fired=frozenset(fired), executor=executor, subject_name=subject.name,
    )


def closing_delta(raw: float, target: float) -> float:
    """The float ``d`` nearest ``target - raw`` with ``raw + d == target``, if one of the nearest does."""
    d = target - raw
    for candidate in (d, math.nextafter(d, math.inf), math.nextafter(d, -math.inf)):
        if raw + candidate == target:
            return candidate
    return d


def ordered_sum(values: Iterable[float]) -> float:
    """Left-to-right sum, the way the bulk executor adds its columns: both get the same bits, and the
    attribution lines (base, indicators, adjustments, caps, clip — in that order) add up exactly to it."""
    total = 0.0
    for v in values:
        total += v
    return total


def values_for(ci: CompiledIndicator, metrics: Mapping[str, Any], values: Mapping[str, Any]) -> dict[str, Any]:
    return {n: (values[n] if n in values else metrics.get(n)) for n in ci.names}


def _dim_of(compiled: CompiledScheme, code: str) -> str | None:
    for ca in compiled.adjustments:
        if ca.adjustment.code == code:
            return ca.adjustment.dimension
    return code.removeprefix("dimcap:") if code.startswith("dimcap:") else None


def _adjustments(compiled: CompiledScheme, decisions: Decisions, zeroed: Mapping[str, str],
                 fired: set[str]) -> tuple[list[R.AdjustmentTrace], list[R.Line]]:
    traces: list[R.AdjustmentTrace] = []
    lines: list[R.Line] = []
    per_dim: dict[str, float] = {}
    for ca in compiled.adjustments:
        a = ca.adjustment
        ids = decisions.adjustments.get(a.code, ())
        if not ids:
            continue
        fired.add(f"adj:{a.code}")
        n = len(ids)
        raw = n * a.points
        pts, note = raw, ""
        if a.cap is not None and abs(raw) > a.cap:
            pts = math.copysign(a.cap, raw)
            note = f"封顶 {a.cap:g} 分 (capped at {a.cap:g})"
        if a.dimension and a.dimension in zeroed:
            pts, note = 0.0, f"{zeroed[a.dimension]}：本维度计 0 分 (vetoed)"
        traces.append(R.AdjustmentTrace(a.code, a.name, a.dimension, n, tuple(ids[: R.EVENT_IDS_SHOWN]),
                                        a.points, raw, a.cap, pts, note))
        lines.append(R.Line("adjustment", a.code, a.name, pts))
        if a.dimension:
            per_dim[a.dimension] = per_dim.get(a.dimension, 0.0) + pts
    for dim in compiled.scheme.dimensions:  # dimension order, as in the bulk executor
        if dim not in per_dim:
            continue
        total = per_dim[dim]
        cap = compiled.scheme.dimensions[dim].adjustment_cap
        if cap is not None and abs(total) > cap:
            lines.append(R.Line("cap", f"dimcap:{dim}", f"{compiled.scheme.dimensions[dim].name}加减分封顶 ±{cap:g}",
                                math.copysign(cap, total) - total))
    return traces, lines
