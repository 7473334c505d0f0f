"""Evaluate one subject, with the trace, in named phases::

    metrics → participation → indicators → peers → (decisions) → points → vetoes → adjustments → combine → grade

Each phase is a function ``phase_<name>`` here and in the bulk executor (``rulesvc.engine.bulk``), which
runs the same phases column-wise; the differential test (``rulesvc.engine.differential``) holds them
together and names the phase where they part. The *decisions* — which scoring branch holds each
indicator's x, which events match each adjustment and veto — are made by a :class:`Decider`
(``rulesvc.engine.decide``): plain Python (:class:`PythonDecider`) or durable_rules
(``rulesvc.engine.durable_decider``). Everything else is computed here, once, for both.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from itertools import compress
from typing import Any

from rulesvc.engine import result as R
from rulesvc.engine.compile import CompiledAdjustment, CompiledIndicator, CompiledMetric, CompiledScheme
from rulesvc.engine.decide import (
    Decider,
    DecisionInput,
    Decisions,
    EventBlocks,
    PythonDecider,
    Row,
    case_facts,
)
from rulesvc.engine.explain import describe_branch, nearest_for
from rulesvc.engine.expr.compile_columns import Block, Unsupported
from rulesvc.engine.model import Subject
from rulesvc.engine.peers import PeerContext, derive_x, grade_for, group_key


def by_event_type(events: Sequence[Row]) -> dict[str, list[Row]]:
    """The events grouped by type, each group in the events' order (one pass)."""
    out: dict[str, list[Row]] = {}
    get = out.get
    for e in events:  # (no setdefault: it would make a list per event)
        t = e["event_type"]
        group = get(t)
        if group is None:
            out[t] = [e]
        else:
            group.append(e)
    return out


# -- the phases ----------------------------------------------------------------------------------------
#
# One function per phase, named as its counterpart in the bulk executor (``rulesvc.engine.bulk``), in the
# order both run them; ``rulesvc.engine.differential`` reports a disagreement under the phase it starts in.
# Between ``phase_peers`` and ``phase_points`` the decider decides (branches, matching events).

PHASES = ("metrics", "participation", "indicators", "peers", "points", "vetoes", "adjustments", "combine", "grade")


def phase_metrics(compiled: CompiledScheme, events: Sequence[Row], hits_out: dict[Any, Any] | None = None,
                  by_type: Mapping[str, list[Row]] | None = None,
                  blocks: EventBlocks | None = None) -> tuple[dict[str, float | None], list[R.MetricTrace]]:
    """Aggregate the subject's events into metric values (same null rules as the bulk executor).
    ``hits_out`` receives each metric's matching events as ``("hits", code)`` (the explanations reuse them);
    ``by_type`` is ``by_event_type(events)`` when the caller has it, ``blocks`` its column blocks."""
    values: dict[str, float | None] = {}
    traces: list[R.MetricTrace] = []
    if by_type is None:  # each metric then reads only its own event types
        by_type = by_event_type(events)
    # Each metric reads the block of its event types (several types: one after the other; aggregates do
    # not depend on the order). Its filter is computed column-wise over the block (``expr.compile_columns``:
    # exact; a test several metrics share is made once), or row by row when the block's values are not
    # all of the classes the column-wise tests take.
    if blocks is None:
        blocks = EventBlocks(by_type)
    groups: dict[tuple[str, str], dict[Any, list[Row]] | None] = {}
    shown = R.EVENT_IDS_SHOWN
    make_trace = R.make_metric_trace
    for cm in compiled.metrics:
        m = cm.metric
        block = blocks[cm.block_key]
        pool = block.rows
        if not pool:  # nothing of its types: the value and trace of no events (immutable, made once)
            if hits_out is not None:
                hits_out[("hits", m.code)] = pool
            values[m.code], trace = cm.of_no_events
            traces.append(trace)
            continue
        mask: list[bool] | None = None
        if cm.where is None:
            hits = pool
        else:
            try:
                mask = cm.mask(block)  # type: ignore[misc]
                hits = list(compress(pool, mask))
            except Unsupported:
                mask, hits = None, _hits_row_wise(cm, by_type, groups)
        if hits_out is not None:
            hits_out[("hits", m.code)] = hits
        value: float | None
        w = cm.weights
        if w is not None:  # integers over one denominator: exact, the same in both executors
            if m.agg == "count":
                value = float(sum(w.of(e) for e in hits)) / w.denominator
            else:
                assert m.field is not None  # every aggregation but count names its field
                fld = m.field
                value = math.fsum(float(e[fld]) * w.of(e) for e in hits if e.get(fld) is not None) / w.denominator
        elif m.agg == "count":
            value = float(len(hits))
        else:
            assert m.field is not None
            if mask is not None:
                fvals: Any = compress(block.column(m.field), mask)
            elif hits is pool:
                fvals = block.column(m.field)
            else:
                fvals = Block(hits).column(m.field)
            if m.agg == "distinct":
                distinct = set(fvals)
                distinct.discard(None)
                value = float(len(distinct))
            else:
                vals: list[Any] = [v for v in fvals if v is not None]
                if m.agg == "sum":
                    value = float(math.fsum(vals))
                elif not vals:
                    value = None
                elif m.agg == "avg":
                    value = math.fsum(vals) / len(vals)
                else:
                    value = float(min(vals) if m.agg == "min" else max(vals))
        values[m.code] = value
        ids = tuple([e["event_id"] for e in hits[:shown]])
        traces.append(make_trace(code=m.code, name=cm.label, definition=cm.definition, value=value,
                                 events=len(hits), event_ids=ids))
    return values, traces


def _hits_row_wise(cm: CompiledMetric, by_type: Mapping[str, list[Row]],
                   groups: dict[tuple[str, str], dict[Any, list[Row]] | None]) -> list[Row]:
    """The events a metric counts, filtered row by row (the block's values are not all of the classes
    the column-wise filter takes: this decides — or raises — as the filter always has)."""
    assert cm.where is not None
    lookup = cm.lookup
    etype = next(iter(cm.types))
    if lookup is not None:
        # Most filters start "kind == 'protest' and …" or "plea_leniency and …": group each type's events
        # by that field once, then a metric reads its group and tests only the rest of its filter.
        field, wanted, rest = lookup
        if (etype, field) not in groups:
            groups[(etype, field)] = _group_by_value(by_type.get(etype, ()), field, wanted.__class__)
        grouped = groups[(etype, field)]
        if grouped is not None:
            pool = grouped.get(wanted, [])
            return pool if rest is None else [e for e in pool if rest(e)]
        return [e for e in by_type.get(etype, ()) if cm.where.test(e)]  # a value of another type: the whole filter
    pool = by_type.get(etype, []) if len(cm.types) == 1 else [e for t in sorted(cm.types) for e in by_type.get(t, ())]
    return [e for e in pool if cm.where.test(e)]


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
    """Whether the indicator applies to the subject's business line and business."""
    ind = ci.indicator
    return (not ind.lines or subject.line in ind.lines) and (not ind.businesses or subject.business in ind.businesses)


def adjustment_applies(ca: CompiledAdjustment, subject: Subject) -> bool:
    a = ca.adjustment
    return (not a.lines or subject.line in a.lines) and (not a.businesses or subject.business in a.businesses)


def subject_env(subject: Subject) -> dict[str, Any]:
    """The subject's attributes as formulas read them."""
    return {"is_leader": subject.attrs.get("is_leader"), "leader_title": subject.attrs.get("leader_title"),
            "business": subject.business, "line": subject.line, "level": subject.groups.get("level"),
            "office_share": subject.office_share}


def phase_participation(compiled: CompiledScheme, subject: Subject, metric_traces: Sequence[R.MetricTrace]) -> Subject:
    """The subject, not graded when the scheme says so and no metric counted any of their events.
    (Whether they take part at all, and their share of the period in office, the caller decided with
    ``rulesvc.engine.participation.participation`` — the function the bulk executor calls.)"""
    from rulesvc.engine.participation import NO_ACTIVITY_REASON

    if (subject.status == "evaluated" and compiled.scheme.participants.no_activity == "not_graded"
            and compiled.metrics and not any(t.events for t in metric_traces)):
        return dataclasses.replace(subject, status="not_graded", status_code="no_activity",
                                   status_reason=NO_ACTIVITY_REASON)
    return subject


def phase_indicators(compiled: CompiledScheme, metrics: Mapping[str, float | None],
                     subject: Subject | None = None) -> dict[str, float | None]:
    """Every indicator's value, in dependency order. An indicator with ``prorate`` is divided by the
    subject's share of the period in office (40 cases in half a year count as 80); an indicator that
    reads another reads its pro-rated value."""
    values: dict[str, Any] = {**(subject_env(subject) if subject else {}), **metrics}
    share = subject.office_share if subject else 1.0
    for ci in compiled.indicators:
        v = ci.py(values)
        v = None if v is None or not math.isfinite(v) else float(v)
        if v is not None and ci.indicator.prorate and share != 1.0:
            v = v / share if share > 0 else None
        values[ci.indicator.code] = v
    return {ci.indicator.code: values[ci.indicator.code] for ci in compiled.indicators}


def phase_peers(compiled: CompiledScheme, subject: Subject, values: Mapping[str, float | None],
                peers: PeerContext | None) -> tuple[dict[str, float | None], dict[str, str]]:
    """x of every scored indicator that applies to the subject — the number its scoring rule tests: the
    value, or its percentile / ratio among the peers (None: missing) — and why an x is missing although
    the value is not (a peer group too small, a reference value of 0)."""
    xs: dict[str, float | None] = {}
    notes: dict[str, str] = {}
    for ci in compiled.indicators:
        if ci.piecewise is None or not applies(ci, subject):
            continue
        v = values[ci.indicator.code]
        if v is None:
            xs[ci.indicator.code] = None
        else:
            xs[ci.indicator.code], note = derive_x(ci, v, subject, peers)
            if note:
                notes[ci.indicator.code] = note
    return xs, notes


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
    found: dict[Any, Any] = {}
    by_type = by_event_type(events)
    blocks = EventBlocks(by_type)
    metrics, metric_traces = phase_metrics(compiled, events, found, by_type, blocks)
    subject = phase_participation(compiled, subject, metric_traces)
    values = phase_indicators(compiled, metrics, subject)
    xs, notes = phase_peers(compiled, subject, values, peers)
    decisions = decider.decide(compiled, DecisionInput(xs, events, case_facts(compiled, events, by_type, blocks)))
    return assemble(compiled, subject, period, metrics, values, xs, decisions, metric_traces, peers,
                    executor=decider.name, explain=explain, events=events, cache=found, x_notes=notes)


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
    cache: dict[Any, Any] | None = None,
    x_notes: Mapping[str, str] | None = None,
) -> R.Result:
    """The phases after the decisions — points, vetoes, adjustments, combine, grade — and the trace.
    ``x_notes`` says why an indicator has no x although it has a value (a peer group too small)."""
    s = compiled.scheme
    fired: set[str] = set()
    scored = phase_points(compiled, subject, decisions, xs, x_notes or {}, fired)
    zeroed, veto_traces = phase_vetoes(compiled, decisions, fired)
    adj_traces, adj_lines = phase_adjustments(compiled, decisions, zeroed, fired, subject)
    combined = phase_combine(compiled, scored, zeroed, adj_lines)
    grade, reason = phase_grade(compiled, combined.total, [t.code for t in veto_traces], subject, peers, fired)
    ind_traces = _indicator_traces(compiled, subject, metrics, values, xs, decisions, scored, combined, zeroed,
                                   explain=explain, events=events, cache=cache if cache is not None else {},
                                   x_notes=x_notes or {}, peers=peers)
    return R.Result(
        subject=subject.id, scheme_code=s.code, scheme_hash=s.content_hash, period=period, total=combined.total,
        grade=grade, grade_reason=reason, indicators=tuple(ind_traces), adjustments=tuple(adj_traces),
        vetoes=tuple(veto_traces), dimensions=tuple(_dimension_traces(compiled, scored, combined, zeroed, adj_lines)),
        attribution=tuple(combined.lines), metrics=tuple(metric_traces), fired=frozenset(fired), executor=executor,
        subject_name=subject.name, status=subject.status, status_code=subject.status_code,
        status_reason=subject.status_reason, office_share=subject.office_share,
    )


@dataclass
class Points:
    """What :func:`phase_points` found: points per scored indicator (an indicator excluded for lack of
    data, or not applicable, has none), each dimension's attainable maximum, the trace's notes."""

    points: dict[str, float]
    dim_max: dict[str, float]
    notes: dict[str, str]


@dataclass
class Combined:
    """What :func:`phase_combine` found: the total, the attribution lines that add up to it, each
    indicator's contribution, and the weight share of the dimensions with points to attain."""

    total: float
    lines: list[R.Line]
    contributions: dict[str, float]
    live: float


ANALYSIS_ONLY = "仅作分析，不计分 (analysis only: not scored)"


def phase_points(compiled: CompiledScheme, subject: Subject, decisions: Decisions, xs: Mapping[str, float | None],
                 x_notes: Mapping[str, str], fired: set[str]) -> Points:
    """Each scored indicator's points from the branch its x fell in (or what missing data scores), and
    each dimension's attainable maximum for this subject."""
    comb = compiled.scheme.combination
    points: dict[str, float] = {}
    dim_max = dict.fromkeys(compiled.scheme.dimensions, 0.0)
    notes: dict[str, str] = {}
    for ci in compiled.indicators:
        code, pw = ci.indicator.code, ci.piecewise
        if pw is None:  # shown for analysis (不捕率 beside 捕后不诉率): say so, or its 0 points read as a low score
            notes[code] = ANALYSIS_ONLY
            continue
        if not applies(ci, subject):
            notes[code] = "不适用于本人的业务条线或业务类别 (not applicable to this business)"
            continue
        branch = decisions.branches[code]
        fired.add(f"ind:{code}:{branch}")
        x = xs.get(code)
        if branch == "missing":
            why = x_notes.get(code) or "无数据 (no data)"
            if ci.indicator.scoring and ci.indicator.scoring.missing == "exclude":
                notes[code] = (f"{why}，不计入，本维度按其余指标计分 (excluded, the dimension is re-weighted)"
                               if comb.method == "weighted" else f"{why}，不计入 (excluded)")
                continue
            points[code] = pw.missing_points
            notes[code] = f"{why}，按{pw.missing_points:g}分计 (scored {pw.missing_points:g})"
        else:
            br = pw.by_id[branch]
            points[code] = br.points(x) if x is not None else 0.0
        if ci.indicator.dimension:
            dim_max[ci.indicator.dimension] += pw.max_points
    return Points(points, dim_max, notes)


def phase_vetoes(compiled: CompiledScheme, decisions: Decisions,
                 fired: set[str]) -> tuple[dict[str, str], list[R.VetoTrace]]:
    """The vetoes that fired: the dimensions they zero (dimension → the veto's name) and their traces."""
    s = compiled.scheme
    zeroed: dict[str, str] = {}
    traces: list[R.VetoTrace] = []
    for cv in compiled.vetoes:
        n, ids = decisions.matched("veto", cv.veto.code)
        if not n:
            continue
        fired.add(f"veto:{cv.veto.code}")
        v = cv.veto
        details = []
        for e in v.effects:
            if e.effect == "zero_dimension" and e.dimension:
                zeroed.setdefault(e.dimension, v.name)
                details.append(f"{s.dimensions[e.dimension].name}维度所得分与加分计 0 分、扣分照扣 (dimension {e.dimension}: "
                               "what it earned counts 0, penalties stand)")
            elif e.effect == "cap_grade":
                details.append(f"等次最高为{e.grade} (grade at best {e.grade})")
            else:
                details.append(f"不得评为{e.grade} (may not be graded {e.grade})")
        traces.append(R.VetoTrace(v.code, v.name, "+".join(e.effect for e in v.effects),
                                  tuple(ids[: R.EVENT_IDS_SHOWN]), "；".join(details), n))
    return zeroed, traces


def phase_adjustments(compiled: CompiledScheme, decisions: Decisions, zeroed: Mapping[str, str],
                      fired: set[str], subject: Subject) -> tuple[list[R.AdjustmentTrace], list[R.Line]]:
    """Points per adjustment (capped per item; in a vetoed dimension no bonus, penalties stand), then each dimension's
    adjustment cap: the traces, and the attribution lines in the order the total adds them."""
    traces: list[R.AdjustmentTrace] = []
    lines: list[R.Line] = []
    per_dim: dict[str, float] = {}
    for ca in compiled.adjustments:
        a = ca.adjustment
        n, ids = decisions.matched("adj", a.code)
        if not n or not adjustment_applies(ca, subject):
            continue
        fired.add(f"adj:{a.code}")
        raw = n * a.points
        pts, note = raw, ""
        if a.cap is not None and abs(raw) > a.cap:
            pts = math.copysign(a.cap, raw)
            note = f"封顶 {a.cap:g} 分 (capped at {a.cap:g})"
        if a.dimension and a.dimension in zeroed:
            # A veto takes what the dimension earned, never what it lost: a bonus counts 0, a penalty stands —
            # else a wrongful case would wipe a −5 and raise a total (an audit found 242 such people).
            if a.points > 0:
                pts, note = 0.0, f"{zeroed[a.dimension]}：本维度加分计 0 分 (vetoed: no bonus)"
            else:
                note = f"{zeroed[a.dimension]}：本维度一票否决，扣分照扣 (vetoed: penalties still count)"
        by_case = bool(ca.pattern) or a.per_case
        event_ids = decisions.adjustment_events.get(a.code, ()) if by_case else ids
        traces.append(R.AdjustmentTrace(a.code, a.name, a.dimension, n, tuple(event_ids[: R.EVENT_IDS_SHOWN]),
                                        a.points, raw, a.cap, pts, note,
                                        case_ids=tuple(ids[: R.EVENT_IDS_SHOWN]) if by_case else (),
                                        counts="case" if by_case else "event"))
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


def phase_combine(compiled: CompiledScheme, scored: Points, zeroed: Mapping[str, str],
                  adj_lines: Sequence[R.Line]) -> Combined:
    """Base, the indicators' contributions (weighted: each dimension's share of the span, re-weighted over
    the dimensions with points to attain; nothing earned in a vetoed dimension), the adjustment lines, the clip
    to ``cap`` / ``floor``, the rounding: the total and the lines that add up to it."""
    s = compiled.scheme
    comb = s.combination
    points, dim_max, notes = scored.points, scored.dim_max, scored.notes
    # A dimension with nothing to score for this subject (no applicable indicator, or all excluded for
    # lack of data) is left out and the others re-weighted, rather than silently costing its weight —
    # unless a veto zeroes it: a vetoed dimension keeps its weight and scores 0 whatever there was to score
    # in it (a veto is never free).
    live = 0.0
    for d in s.dimensions:
        if dim_max[d] > 0 or d in zeroed:
            live += compiled.weight_share[d]
    lines: list[R.Line] = [R.Line("base", "base", "基础分 (base)", comb.base)] if comb.base else []
    contributions: dict[str, float] = {}
    for ci in compiled.indicators:
        code = ci.indicator.code
        if code not in points:
            continue
        dim = ci.indicator.dimension
        if comb.method == "weighted":
            mx = dim_max.get(dim or "", 0.0)
            if dim is not None and mx > 0 and live > 0:  # only dimensions with points to attain count
                contributions[code] = comb.span * (compiled.weight_share[dim] / live) * points[code] / mx
            else:
                contributions[code] = 0.0
        else:
            contributions[code] = points[code]
        if dim and dim in zeroed:  # what it earned counts 0; what a rule took away (negative points) stands
            if points[code] < 0:
                notes[code] = f"{zeroed[dim]}：本维度一票否决，失分照计 (vetoed: points lost still count)"
            else:
                contributions[code] = 0.0
                notes[code] = f"{zeroed[dim]}：本维度所得分计 0 分 (vetoed)"
        lines.append(R.Line("indicator", code, ci.indicator.name, contributions[code]))
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
    # Round away the floating-point residue of the weighting (80 + 1.6 + 3.6 + 4.8 is 89.99999999999999 in
    # floats): a total that is 90 in decimal arithmetic reaches a band at 90 and ties with every other 90.
    snapped = snap_total(total)
    if snapped != total:
        lines.append(R.Line("round", "total", f"总分按 {TOTAL_DIGITS} 位小数舍入（消除浮点误差）",
                            closing_delta(ordered_sum(ln.points for ln in lines), snapped)))
        total = snapped
    return Combined(total, lines, contributions, live)


def phase_grade(compiled: CompiledScheme, total: float, vetoes: Sequence[str], subject: Subject,
                peers: PeerContext | None, fired: set[str]) -> tuple[str | None, str]:
    """The grade and why (:func:`rulesvc.engine.peers.grade_for`, the function the bulk executor calls)."""
    grade, reason = grade_for(compiled, total, vetoes, subject, peers)
    if grade:
        fired.add(f"grade:{grade}")
    return grade, reason


# -- the trace -----------------------------------------------------------------------------------------


def _indicator_traces(compiled: CompiledScheme, subject: Subject, metrics: Mapping[str, float | None],
                      values: Mapping[str, float | None], xs: Mapping[str, float | None], decisions: Decisions,
                      scored: Points, combined: Combined, zeroed: Mapping[str, str], *, explain: bool,
                      events: Sequence[Row], cache: dict[Any, Any],
                      x_notes: Mapping[str, str], peers: PeerContext | None = None) -> list[R.IndicatorTrace]:
    comb = compiled.scheme.combination
    points, dim_max, notes, total, live = scored.points, scored.dim_max, scored.notes, combined.total, combined.live
    # What one more point of an indicator adds to the total (for "what it would take"): its weighting,
    # nothing in a vetoed dimension or once the total sits at its cap.
    per_point: dict[str, float] = {}
    for ci in compiled.indicators:
        code, dim = ci.indicator.code, ci.indicator.dimension
        if code not in points or (dim and dim in zeroed) or (comb.cap is not None and total >= comb.cap):
            continue
        if comb.method != "weighted":
            per_point[code] = 1.0
        elif dim is not None and dim_max.get(dim, 0.0) > 0 and live > 0:
            per_point[code] = comb.span * (compiled.weight_share[dim] / live) / dim_max[dim]
    traces = []
    env = {**subject_env(subject), **metrics}
    share = subject.office_share
    labeled = compiled.formulas_labeled
    contributions = combined.contributions
    make_trace = R.make_indicator_trace
    for ci in compiled.indicators:
        code, ind, pw = ci.indicator.code, ci.indicator, ci.piecewise
        branch = decisions.branches.get(code)
        x = xs.get(code)
        value = values[code]
        prorated = ind.prorate and share != 1.0 and value is not None
        substituted, prorated_from = "", None
        if explain or prorated:
            inputs = values_for(ci, env, values)
            raw = ci.py(inputs)  # the value before pro-rating
            substituted = ci.explain_value(inputs, raw) if explain else ""
            prorated_from = raw if prorated else None
        traces.append(make_trace(
            code=code, name=ind.name, dimension=ind.dimension, formula=ind.formula, substituted=substituted,
            value=value, counted=pw is not None and code in points, x=x, derive=pw.derive if pw else "value",
            method=ind.scoring.method if ind.scoring else None, branch=branch,
            rule=describe_branch(ci, branch, x, points.get(code)) if explain and branch else "",
            points=points.get(code, 0.0), max_points=pw.max_points if pw else 0.0,
            contribution=contributions.get(code, 0.0), note=notes.get(code, ""),
            nearest=(nearest_for(compiled, ci, env, values, x, events, cache,
                                 per_point=per_point.get(code, 0.0), share=share, applicable=points)
                     if explain and pw and branch and branch != "missing" else None),
            prorated_from=prorated_from, formula_labeled=labeled[code] if explain else "",
            peer_note=x_notes.get(code, ""), applies=applies(ci, subject),
            compared=_compared(ci, subject, peers) if explain and pw and pw.derive != "value" else None,
        ))
    return traces


def _compared(ci: CompiledIndicator, subject: Subject, peers: PeerContext | None) -> R.Compared | None:
    """The peers a peer-relative indicator was compared among and its reference, as ``derive_x`` used them; None
    when it was not compared (no statistics, or fewer peers than its minimum: its peer note says so)."""
    pw = ci.piecewise
    stats = peers.stats.get((ci.indicator.code, group_key(subject, ci.peer_group))) if peers is not None else None
    if pw is None or stats is None or len(stats.values) < ci.peer_min_size:
        return None
    ref = (stats.mean if pw.derive == "ratio_to_avg" else
           (stats.values[-1] if ci.higher_better else stats.values[0]) if pw.derive == "ratio_to_best" else None)
    return R.Compared(pw.derive, ci.peer_group, len(stats.values), ref)


def _dimension_traces(compiled: CompiledScheme, scored: Points, combined: Combined, zeroed: Mapping[str, str],
                      adj_lines: Sequence[R.Line]) -> list[R.DimensionTrace]:
    comb = compiled.scheme.combination
    points, dim_max, live = scored.points, scored.dim_max, combined.live
    dims = []
    for code, d in compiled.scheme.dimensions.items():
        ind_codes = [ci.indicator.code for ci in compiled.indicators if ci.indicator.dimension == code]
        adj = math.fsum(ln.points for ln in adj_lines if _dim_of(compiled, ln.code) == code)
        share = compiled.weight_share.get(code, 0.0)
        from_indicators = math.fsum(combined.contributions.get(c, 0.0) for c in ind_codes)
        dims.append(R.DimensionTrace(
            code, d.name, share / live if comb.method == "weighted" and live and (dim_max[code] > 0 or code in zeroed) else (
                share if comb.method != "weighted" else 0.0), math.fsum(points.get(c, 0.0) for c in ind_codes),
            dim_max[code], adj, zeroed.get(code), from_indicators + adj, from_indicators, share))
    return dims


TOTAL_DIGITS = 9  # far below any printed figure, far above floating-point residue (~1e-14)


def snap_total(total: float) -> float:
    """The total rounded to ``TOTAL_DIGITS`` decimals (Python's correctly rounded ``round``); both
    executors call this very function, so they keep giving the same bits."""
    return round(total, TOTAL_DIGITS)


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


__all__ = ["PHASES", "TOTAL_DIGITS", "Combined", "Decider", "DecisionInput", "Decisions", "Points", "PythonDecider",
           "adjustment_applies", "applies", "assemble", "by_event_type", "closing_delta", "evaluate_subject",
           "ordered_sum", "phase_adjustments", "phase_combine", "phase_grade", "phase_indicators", "phase_metrics",
           "phase_participation", "phase_peers", "phase_points", "phase_vetoes", "snap_total", "subject_env",
           "values_for"]
