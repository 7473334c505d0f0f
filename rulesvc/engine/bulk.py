"""The bulk executor: every subject of a period at once, column-wise with polars.

Same semantics as :mod:`rulesvc.engine.evaluate`, in the same phases by the same names
(``phase_metrics`` → ``phase_participation`` → ``phase_indicators`` → ``phase_peers`` → ``phase_points`` →
``phase_vetoes`` → ``phase_adjustments`` → ``phase_combine`` → ``phase_grade``; the differential test holds
them together and names the phase where they part): metrics by one group-by with conditional
aggregations, indicators by the compiled polars formulas, peer statistics by window functions, branches
by ``when/then`` chains, grades by the very same ``grade_for`` applied to the totals (it is cheap, and
one implementation cannot drift).

Input: an events frame (``rulesvc.services.facts``: event_id, event_type, <subject key>, case_id,
occurred_on, one column per dictionary field) and a subjects frame (the subject key, ``line``, a column
per peer group kind used, and for prosecutors ``business_code``, ``quota_status``, ``active_from``,
``active_to``, ``is_leader``, ``leader_title``).

Who takes part is decided once the metrics are known (``rulesvc.engine.participation``; no activity
needs the metrics): subjects left out are not scored (``BulkResult.left_out``); subjects not graded are
scored but are in no peer statistic, quota group or rank.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar, cast

import polars as pl

from rulesvc.engine.compile import CompiledAdjustment, CompiledIndicator, CompiledScheme, Predicate
from rulesvc.engine.errors import EvaluationError
from rulesvc.engine.evaluate import snap_total
from rulesvc.engine.expr.compile_polars import exact
from rulesvc.engine.model import GradeBand, Grading, Subject
from rulesvc.engine.participation import (
    EVALUATED,
    EXCLUDED,
    NO_ACTIVITY_REASON,
    NOT_GRADED,
    Participation,
    participation,
)
from rulesvc.engine.peers import (
    RATIO_OF_ZERO,
    PeerContext,
    PeerStats,
    bands_kept_from,
    grade_for,
    group_key,
    percentile_of,
)
from rulesvc.engine.scoring import Piecewise

if TYPE_CHECKING:
    from polars.expr.whenthen import ChainedThen, Then

GROUP_COLUMNS = {"procuratorate": "procuratorate_id", "department": "department_id", "business": "business_code",
                 "line": "line", "level": "level"}
# Subject columns formulas may read (compile.subject_scope), with the column each comes from.
# Events aggregated at once: above this the relevant events are aggregated in parts by subject (``_each_part``),
# so the group-by's working memory stays bounded whatever the size of the country.
AGG_PART_ROWS = 2_000_000
T = TypeVar("T")
ATTRIBUTE_COLUMNS = {"is_leader": ("is_leader", pl.Boolean), "leader_title": ("leader_title", pl.Utf8),
                     "business": ("business_code", pl.Utf8), "line": ("line", pl.Utf8), "level": ("level", pl.Utf8)}


def event_mask(types: frozenset[str], pred: Predicate | None) -> pl.Expr:
    """The events of ``types`` that ``pred`` holds for (a null test holds for none), as a metric counts them."""
    m = pl.col("event_type").is_in(sorted(types))
    if pred is not None:
        m = m & pred.pl.fill_null(False)
    return m


def _ordered_sum(terms: list[pl.Expr]) -> pl.Expr:
    """((t0 + t1) + t2) + …: left to right like ``evaluate.ordered_sum`` (``sum_horizontal`` is not,
    and an ulp of difference can move a subject across a grade quota)."""
    total = terms[0]
    for t in terms[1:]:
        total = total + t
    return total


def _group_expr(group: str) -> pl.Expr:
    return pl.lit(0) if group == "all" else pl.col(GROUP_COLUMNS[group])


def _applies(lines: tuple[str, ...], businesses: tuple[str, ...]) -> pl.Expr:
    e = pl.col("line").is_in(list(lines)).fill_null(False) if lines else pl.lit(True)
    if businesses:
        e = e & pl.col("business_code").is_in(list(businesses)).fill_null(False)
    return e


@dataclass(frozen=True)
class BulkResult:
    """One row per subject taking part (evaluated or not graded); columns documented in
    :func:`evaluate_bulk`. ``left_out``: the subjects not evaluated, with the reason."""

    frame: pl.DataFrame
    peers: PeerContext
    key: str
    left_out: pl.DataFrame = field(default_factory=pl.DataFrame)

    def fired(self, row: dict[str, Any], compiled: CompiledScheme) -> frozenset[str]:
        """The same rule ids a per-subject evaluation reports, read from one row."""
        out = set()
        for ci in compiled.indicators:
            b = row.get(f"branch__{ci.indicator.code}")
            if ci.piecewise is not None and b is not None:
                out.add(f"ind:{ci.indicator.code}:{b}")
        for ca in compiled.adjustments:
            if row[f"adjn__{ca.adjustment.code}"]:
                out.add(f"adj:{ca.adjustment.code}")
        for cv in compiled.vetoes:
            if row[f"veto__{cv.veto.code}"]:
                out.add(f"veto:{cv.veto.code}")
        if row.get("grade"):
            out.add(f"grade:{row['grade']}")
        return frozenset(out)


def _metric_aggs(compiled: CompiledScheme) -> list[pl.Expr]:
    aggs: list[pl.Expr] = []
    for cm in compiled.metrics:
        m = cm.metric
        mask = event_mask(cm.types, cm.where)
        w = cm.weights
        if w is not None:  # Σ integer numerators here; ÷ the common denominator once joined (_weighted)
            num = (pl.col(w.field).cast(pl.Utf8)
                   .replace_strict(dict(sorted(w.numerators.items())), default=w.default, return_dtype=pl.Int64)
                   .fill_null(w.default))
            if m.agg == "count":
                e = num.filter(mask).sum().cast(pl.Float64)
            else:
                assert m.field is not None  # every aggregation but count names its field
                val = pl.col(m.field).cast(pl.Float64)
                e = (val * num.cast(pl.Float64)).filter(mask & val.is_not_null()).sum()
        elif m.agg == "count":
            e = mask.sum().cast(pl.Float64)
        else:
            assert m.field is not None
            col = pl.col(m.field).filter(mask)
            if m.agg == "distinct":
                e = col.drop_nulls().n_unique().cast(pl.Float64)
            elif m.agg == "sum":
                e = col.cast(pl.Float64).sum()
            elif m.agg == "avg":
                e = col.cast(pl.Float64).mean()
            else:
                e = col.cast(pl.Float64).min() if m.agg == "min" else col.cast(pl.Float64).max()
        aggs.append(e.alias(m.code))
    # Events any metric counts: a subject without any has no activity (no metrics: nobody is idle).
    masks = [event_mask(cm.types, cm.where) for cm in compiled.metrics]
    aggs.append((pl.any_horizontal(masks).sum() if masks else pl.len()).alias("activity"))
    return aggs


def _count_aggs(compiled: CompiledScheme) -> list[pl.Expr]:
    """Matching events per (non-pattern) adjustment and per veto."""
    aggs = []
    for ca in compiled.adjustments:
        if ca.pattern:
            continue
        mask = event_mask(ca.types, ca.where)
        if ca.adjustment.per_case:  # distinct cases; events without a case do not count
            aggs.append(pl.col("case_id").filter(mask).drop_nulls().n_unique().alias(f"adjn__{ca.adjustment.code}"))
        else:
            aggs.append(mask.sum().alias(f"adjn__{ca.adjustment.code}"))
    for cv in compiled.vetoes:
        aggs.append(event_mask(cv.types, cv.where).sum().alias(f"veton__{cv.veto.code}"))
    return aggs


def _relevant(compiled: CompiledScheme, events: pl.DataFrame, key: str) -> pl.DataFrame:
    """The events of the scheme's types with a subject, and only the columns the aggregations read (a
    country's year is tens of millions of rows: copying columns nobody reads doubles the memory)."""
    return events.select(_relevant_columns(compiled, events, key)).filter(_relevant_rows(compiled, key))


def _relevant_columns(compiled: CompiledScheme, events: pl.DataFrame, key: str) -> list[str]:
    exprs = _metric_aggs(compiled) + _count_aggs(compiled) + [
        e for ca in compiled.adjustments if ca.pattern for e in _pattern_plan(ca)[0]]
    needed = {key, "event_type", "case_id"} | {n for e in exprs for n in e.meta.root_names()}
    return [c for c in events.columns if c in needed]


EVENT_BASE_COLUMNS = ("event_id", "event_type", "prosecutor_id", "procuratorate_id", "case_id", "occurred_on")


def columns_read(compiled: CompiledScheme, key: str) -> set[str]:
    """The event columns a bulk run of ``compiled`` reads: the base columns and every field its metrics,
    adjustment and veto conditions and case patterns name (a loader may hold only these)."""
    exprs = _metric_aggs(compiled) + _count_aggs(compiled) + [
        e for ca in compiled.adjustments if ca.pattern for e in _pattern_plan(ca)[0]]
    return {*EVENT_BASE_COLUMNS, key} | {n for e in exprs for n in e.meta.root_names()}


def _relevant_rows(compiled: CompiledScheme, key: str) -> pl.Expr:
    return (pl.col(key).is_not_null() & pl.col("event_type").is_in(sorted(compiled.event_types))).fill_null(False)


def _each_part(compiled: CompiledScheme, events: pl.DataFrame, key: str, fn: Callable[[pl.DataFrame], T]) -> list[T]:
    """``fn`` applied to the relevant events (:func:`_relevant`) — at once when they are at most
    ``AGG_PART_ROWS``, else to each of ``⌈rows / AGG_PART_ROWS⌉`` parts by a hash of the subject key.

    Every per-subject aggregation depends on the subject's own events only (a case pattern groups by
    subject and case), so each subject's row is the same computed from its part; the parts' results are
    simply put together (:func:`_stack`). What it bounds: the filtered copy of the events and the
    group-by's working memory (its per-row group indices, masks and filtered columns) are those of one
    part, not of the whole period — at national scale (26M events) several times the events frame itself.
    Only one part is held at a time."""
    if events.height <= AGG_PART_ROWS:
        return [fn(_relevant(compiled, events, key))]
    sel = events.select(_relevant_columns(compiled, events, key))
    keep = sel.select(_relevant_rows(compiled, key)).to_series()
    n = -(-int(keep.sum()) // AGG_PART_ROWS)
    if n <= 1:
        return [fn(sel.filter(keep))]
    part = sel.select((pl.col(key).hash(seed=0) % n).cast(pl.UInt32)).to_series()
    return [fn(sel.filter(keep & (part == i))) for i in range(n)]  # each part freed once fn returns


def _stack(frames: list[pl.DataFrame]) -> pl.DataFrame:
    """The parts' per-subject frames as one (no subject is in two parts)."""
    if len(frames) == 1:
        return frames[0]
    return pl.concat([f for f in frames if f.height] or frames[:1])


def metrics_frame(compiled: CompiledScheme, events: pl.DataFrame, key: str, *, finished: bool = True) -> pl.DataFrame:
    """One row per subject with events: a column per metric (missing subjects are filled by the caller).
    ``finished=False`` leaves weighted metrics as the sums of their numerators, as ``evaluate_bulk``
    expects them in a subjects frame that already carries metric columns."""
    aggs = _metric_aggs(compiled)
    f = _stack(_each_part(compiled, events, key, lambda rel: rel.group_by(key).agg(aggs)))
    return _weighted(compiled, f) if finished else f


def _weighted(compiled: CompiledScheme, f: pl.DataFrame) -> pl.DataFrame:
    """Weighted metrics: one exact division by the weights' common denominator (as per subject)."""
    return f.with_columns([
        (pl.col(cm.metric.code) / exact(pl.lit(float(cm.weights.denominator)))).alias(cm.metric.code)
        for cm in compiled.metrics if cm.weights is not None])


def _pattern_counts(compiled: CompiledScheme, relevant: pl.DataFrame, key: str, out: pl.DataFrame) -> pl.DataFrame:
    """Matching cases per pattern adjustment, joined onto ``out``."""
    for ca in compiled.adjustments:
        if ca.pattern:
            out = out.join(_pattern_cases(ca, relevant, key), on=key, how="left")
    return out


def _pattern_plan(ca: CompiledAdjustment) -> tuple[list[pl.Expr], pl.Expr, list[str]]:
    """A pattern adjustment's per-case step aggregations, the condition a case must meet, its event types."""
    steps = [(event_mask(st.types, st.where).sum() if st.sum is None else
              pl.col(st.sum).cast(pl.Float64).filter(event_mask(st.types, st.where)).fill_null(0.0).sum())
             .alias(st.name) for st in ca.pattern]
    holds = pl.all_horizontal([pl.col(st.name) >= st.at_least for st in ca.pattern])
    return steps, holds, sorted(set().union(*(st.types for st in ca.pattern)))


def _pattern_cases(ca: CompiledAdjustment, relevant: pl.DataFrame, key: str) -> pl.DataFrame:
    """Matching cases of one pattern adjustment per subject (``adjn__<code>``). Only the rows of the
    pattern's event types take part in its case group-by (a step counts only its own types anyway)."""
    steps, holds, types = _pattern_plan(ca)
    return (relevant.filter(pl.col("case_id").is_not_null() & pl.col("event_type").is_in(types))
            .group_by([key, "case_id"]).agg(steps)
            .filter(holds).group_by(key).agg(pl.len().alias(f"adjn__{ca.adjustment.code}")))


def _aggregate(compiled: CompiledScheme, events: pl.DataFrame, key: str) -> tuple[pl.DataFrame, list[str]]:
    """Metrics, adjustment and veto counts in one pass over the events (per subject with events), and
    the names of the count columns. A large period is aggregated in parts by subject (:func:`_each_part`)."""
    counts = _count_aggs(compiled)
    aggs = _metric_aggs(compiled) + counts

    def one(relevant: pl.DataFrame) -> pl.DataFrame:
        return _pattern_counts(compiled, relevant, key, relevant.group_by(key).agg(aggs))

    out = _stack(_each_part(compiled, events, key, one))
    names = [e.meta.output_name() for e in counts] + [f"adjn__{ca.adjustment.code}" for ca in compiled.adjustments
                                                      if ca.pattern]
    return out, names


def _derive(ci: CompiledIndicator, group: str) -> pl.Expr:
    """x of one peer-relative indicator for every row; the peer statistics come from the evaluated
    subjects the indicator applies to (``peer__`` column); a group smaller than the indicator's
    ``peer_min_size`` gives null. Percentiles of subjects outside the statistics are filled later."""
    code = ci.indicator.code
    v = pl.col(code)
    assert ci.piecewise is not None
    kind = ci.piecewise.derive
    if kind == "value":
        return v
    g = _group_expr(group)
    peer = pl.col(f"peer__{code}")
    n = peer.count().over(g)
    if kind == "percentile":
        # Mid-rank percentile among the other peers: (worse + ½·equal) / (n − 1) = (r_min − 1 + ½(r_max − r_min)) / (n − 1)
        lo = peer.rank("min", descending=not ci.higher_better).over(g)
        hi = peer.rank("max", descending=not ci.higher_better).over(g)
        x = ((lo - 1).cast(pl.Float64) + 0.5 * (hi - lo).cast(pl.Float64)) / exact((n - 1).cast(pl.Float64))
    else:
        ref = peer.mean().over(g) if kind == "ratio_to_avg" else (peer.max() if ci.higher_better else peer.min()).over(g)
        if ci.higher_better:
            x = pl.when(ref == 0).then(None).otherwise(v / exact(ref))
        else:
            x = pl.when(v == 0).then(pl.when(ref == 0).then(pl.lit(1.0)).otherwise(pl.lit(RATIO_OF_ZERO))) \
                .otherwise(ref / exact(v))
    return pl.when(v.is_null() | (n < ci.peer_min_size)).then(None).otherwise(x)


def _participation(compiled: CompiledScheme, subjects: pl.DataFrame, period: tuple[dt.date, dt.date] | None,
                   key: str) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Subjects taking part with their status columns, and those left out (with the reason)."""
    start, end = period if period is not None else (None, None)
    cols = [c for c in ("level", "quota_status", "active_from", "active_to") if c in subjects.columns]
    plain = _plainly_evaluated(compiled, subjects, start, end)
    everyone = Participation(EVALUATED)
    # Most subjects are plainly evaluated (in office all period, of a status and level taken): the same
    # answer participation() gives, without calling it; the others go through it.
    decided = [everyone if ok else participation(compiled.scheme, row, start, end)
               for ok, row in zip(plain, subjects.select(cols).iter_rows(named=True), strict=True)] \
        if cols else [participation(compiled.scheme, {}, start, end)] * subjects.height
    f = subjects.with_columns(
        pl.Series("status", [p.status for p in decided], dtype=pl.Utf8),
        pl.Series("status_code", [p.code for p in decided], dtype=pl.Utf8),
        pl.Series("status_reason", [p.reason for p in decided], dtype=pl.Utf8),
        pl.Series("office_share", [p.office_share for p in decided], dtype=pl.Float64),
    )
    for col, dtype in ATTRIBUTE_COLUMNS.values():
        if col not in f.columns:
            f = f.with_columns(pl.lit(None, dtype=dtype).alias(col))
    left = f.filter(pl.col("status") == EXCLUDED)
    keep = list(dict.fromkeys(c for c in (key, "code", "name", "procuratorate_id") if c in left.columns))
    return f.filter(pl.col("status") != EXCLUDED), left.select([*keep, "status", "status_code", "status_reason"])


def _plainly_evaluated(compiled: CompiledScheme, subjects: pl.DataFrame, start: dt.date | None,
                       end: dt.date | None) -> list[bool]:
    """Rows :func:`participation` would call evaluated with the whole period in office (share 1)."""
    rules = compiled.scheme.participants
    ok = pl.lit(True)
    if rules.levels:
        ok = ok & pl.col("level").is_in(list(rules.levels)).fill_null(False) if "level" in subjects.columns \
            else pl.lit(False)
    if compiled.scheme.subject == "prosecutor":
        if "quota_status" not in subjects.columns:
            return [False] * subjects.height
        status = pl.col("quota_status").fill_null("quota").replace("exited", "quota")
        ok = ok & status.is_in(list(rules.quota_statuses))
        if start is not None and end is not None:
            if "active_from" not in subjects.columns:
                return [False] * subjects.height
            ok = ok & pl.col("active_from").is_not_null() & (pl.col("active_from") <= start)
            ok = ok & (pl.col("active_to").is_null() | (pl.col("active_to") >= end))
    return subjects.with_columns(ok.fill_null(False).alias("__plain"))["__plain"].to_list()  # a literal broadcasts


def evaluate_bulk(compiled: CompiledScheme, events: pl.DataFrame, subjects: pl.DataFrame, *,
                  key: str = "prosecutor_id", period: tuple[dt.date, dt.date] | None = None,
                  metrics_cache: dict[Any, Any] | None = None, events_key: Hashable | None = None) -> BulkResult:
    """Score every subject in ``subjects`` (the key column, ``line``, group columns …) over the events of
    ``period`` (first and last day; it decides who was in office and for what share of it).

    Output columns per subject: ``status``/``status_code``/``status_reason``/``office_share``, metric codes,
    indicator codes, ``x__``/``branch__``/``pts__``/``contrib__<indicator>``, ``adjn__``/``adj__<adjustment>``,
    ``veto__<veto>``, ``cap__<dimension>``, ``total``, ``grade``, ``grade_reason``, ``rank`` (1 = best,
    among the evaluated subjects of the quota group).

    The phases are those of the per-subject executor, by the same names (``evaluate.PHASES``).

    ``metrics_cache``: a dict the caller keeps across calls on the same events (e.g. a candidate and a
    baseline version): each aggregation over the events (metric, adjustment or veto count, case pattern)
    is computed once and reused by every later call that asks for an identical one
    (:mod:`rulesvc.engine.bulkcache`). The events are recognised by ``events_key`` when given, else by
    the frame object itself. The result is the same as without it.
    """
    f = phase_metrics(compiled, events, subjects, key, cache=metrics_cache, events_key=events_key)
    return score_metrics(compiled, f, key=key, period=period)


def score_metrics(compiled: CompiledScheme, metrics: pl.DataFrame, *, key: str = "prosecutor_id",
                  period: tuple[dt.date, dt.date] | None = None) -> BulkResult:
    """The scoring step alone: every phase after :func:`phase_metrics`, on its per-subject frame (the
    subjects with their metrics and adjustment / veto counts). ``evaluate_bulk`` is exactly
    ``score_metrics(compiled, phase_metrics(...))``, so a caller that keeps the metric frame of a period
    (:func:`metrics_key` says when one can be reused) scores edited weights, tiers, points, quotas, bands
    and adjustment points on it without touching the events — about a tenth of a bulk run."""
    f, left_out = phase_participation(compiled, metrics, period, key)
    f = phase_indicators(compiled, f)
    f, stats = phase_peers(compiled, f)
    f = phase_points(compiled, f)
    f = phase_vetoes(compiled, f)
    f = phase_adjustments(compiled, f)
    f = phase_combine(compiled, f)
    return phase_grade(compiled, f, key, stats, left_out)


def metric_fingerprints(compiled: CompiledScheme, key: str) -> tuple[str, ...] | None:
    """What each event aggregation of ``compiled`` computes — metric, adjustment and veto counts, case
    patterns — identified by its definition, not its code (:func:`rulesvc.engine.bulkcache.fingerprint`);
    None when one cannot be identified (then nothing may be reused)."""
    from rulesvc.engine.bulkcache import fingerprint

    prints = [fingerprint(e) for e in _metric_aggs(compiled) + _count_aggs(compiled)]
    prints += [fingerprint(*steps, holds, extra="|".join(types))
               for ca in compiled.adjustments if ca.pattern for steps, holds, types in [_pattern_plan(ca)]]
    if any(fp is None for fp in prints):
        return None
    return tuple(f"{key}:{fp}" for fp in prints if fp is not None)


def metrics_key(compiled: CompiledScheme, key: str) -> str | None:
    """The hash of everything :func:`phase_metrics` reads of a scheme: its aggregations' definitions (under
    their codes: the frame's columns are named by them), the event types that decide which rows are
    grouped, and the subject key. Two schemes with the same key give the same metric frame on the same
    events and subjects, whatever else differs between them; None when an aggregation cannot be identified."""
    import hashlib

    prints = metric_fingerprints(compiled, key)
    if prints is None:
        return None
    names = [e.meta.output_name() for e in _metric_aggs(compiled) + _count_aggs(compiled)]
    names += [f"adjn__{ca.adjustment.code}" for ca in compiled.adjustments if ca.pattern]
    weighted = [f"{cm.metric.code}/{cm.weights.denominator}:{cm.metric.agg}" for cm in compiled.metrics
                if cm.weights is not None]
    fills = [f"{cm.metric.code}:{cm.metric.agg}" for cm in compiled.metrics]
    h = hashlib.sha256("\x00".join([key, *sorted(compiled.event_types), *names, *prints, *weighted, *fills]).encode())
    return h.hexdigest()[:32]


def phase_metrics(compiled: CompiledScheme, events: pl.DataFrame, subjects: pl.DataFrame, key: str, *,
                  cache: dict[Any, Any] | None = None, events_key: Hashable | None = None) -> pl.DataFrame:
    """The subjects with their metrics and the counts of events matching each adjustment and veto, from
    one pass over the events (a subject without events counts 0, and an ``avg`` / ``min`` / ``max`` of
    nothing is null). With ``cache``, only the aggregations not already in it are computed
    (:func:`rulesvc.engine.bulkcache.aggregate`)."""
    if cache is None:
        aggregated, count_names = _aggregate(compiled, events, key)
    else:
        from rulesvc.engine.bulkcache import aggregate

        aggregated, count_names = aggregate(compiled, events, key, cache, events_key)
    f = subjects.join(aggregated, on=key, how="left")
    f = f.with_columns([
        pl.col(cm.metric.code).fill_null(0.0) if cm.metric.agg in ("count", "sum", "distinct") else pl.col(cm.metric.code)
        for cm in compiled.metrics
    ])
    f = f.with_columns([pl.col(c).fill_null(0).cast(pl.Int64) for c in count_names])
    return _weighted(compiled, f)


def phase_participation(compiled: CompiledScheme, f: pl.DataFrame, period: tuple[dt.date, dt.date] | None,
                        key: str) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Who takes part (``rulesvc.engine.participation``): the subjects taking part with their status
    columns — not graded also when the scheme says so and no metric counted any of their events — and
    those left out, with the reason."""
    f, left_out = _participation(compiled, f, period, key)
    if compiled.scheme.participants.no_activity == "not_graded":
        idle = (pl.col("status") == EVALUATED) & (pl.col("activity").fill_null(0) == 0) & pl.lit(bool(compiled.metrics))
        f = f.with_columns(
            pl.when(idle).then(pl.lit(NOT_GRADED)).otherwise(pl.col("status")).alias("status"),
            pl.when(idle).then(pl.lit("no_activity")).otherwise(pl.col("status_code")).alias("status_code"),
            pl.when(idle).then(pl.lit(NO_ACTIVITY_REASON)).otherwise(pl.col("status_reason")).alias("status_reason"))
    return f, left_out


def phase_indicators(compiled: CompiledScheme, f: pl.DataFrame) -> pl.DataFrame:
    """Every indicator's value, a dependency level at a time; ``prorate`` divides by the share of the
    period in office (as the per-subject ``phase_indicators``)."""
    f = f.with_columns([pl.col(c).alias(name) for name, (c, _) in ATTRIBUTE_COLUMNS.items() if name != c])
    share = pl.col("office_share")
    for level in _levels(compiled):  # indicators that read only metrics, then those reading them, …
        cols = []
        for ci in level:
            v = ci.pl.cast(pl.Float64)
            v = pl.when(v.is_finite()).then(v).otherwise(None)
            if ci.indicator.prorate:
                v = pl.when(share == 1.0).then(v).when(share > 0).then(v / exact(share)).otherwise(None)
            cols.append(v.alias(ci.indicator.code))
        f = f.with_columns(cols)
    return f


def phase_peers(compiled: CompiledScheme, f: pl.DataFrame) -> tuple[pl.DataFrame, dict[tuple[str, Any], PeerStats]]:
    """Whether each scored indicator applies (``applies__``), the peer statistics (``peer__``: the values
    of the evaluated subjects it applies to) and x, the number its scoring rule tests (``x__``)."""
    scored = _scored(compiled)
    f = f.with_columns([_applies(ci.indicator.lines, ci.indicator.businesses).alias(f"applies__{ci.indicator.code}")
                        for ci, _ in scored])
    member = pl.col("status") == EVALUATED
    f = f.with_columns([pl.when(pl.col(f"applies__{ci.indicator.code}") & member).then(pl.col(ci.indicator.code))
                        .alias(f"peer__{ci.indicator.code}") for ci, pw in scored if pw.derive != "value"])
    f = f.with_columns([pl.when(x.is_finite()).then(x).otherwise(None).alias(f"x__{ci.indicator.code}")
                        for ci, _ in scored for x in [_derive(ci, ci.peer_group)]])
    stats = peer_stats(compiled, f)
    f = _outsiders_percentiles(compiled, f, stats)
    snapped = [_snapped(pw, pl.col(f"x__{ci.indicator.code}")).alias(f"x__{ci.indicator.code}")
               for ci, pw in scored if pw.snap_edges]
    return (f.with_columns(snapped) if snapped else f), stats


def _snapped(pw: Piecewise, x: pl.Expr) -> pl.Expr:
    """x within the tolerance of one of the rule's stated thresholds is that threshold (``peers.snap_x``,
    the first such threshold in the same order)."""
    out = x
    for e, tol in reversed(pw.snap_edges):
        out = pl.when((x - e).abs() <= tol).then(pl.lit(e, dtype=pl.Float64)).otherwise(out)
    return out


def phase_points(compiled: CompiledScheme, f: pl.DataFrame) -> pl.DataFrame:
    """Each scored indicator's branch and points (``branch__``, ``pts__``; null when it does not apply or
    is excluded for lack of data), its attainable maximum (``max__``) and each dimension's (``dimmax__``)."""
    scored = _scored(compiled)
    cols = []
    for ci, pw in scored:
        code = ci.indicator.code
        x = pl.col(f"x__{code}")
        br: Then | ChainedThen = pl.when(x.is_null()).then(pl.lit("missing"))
        pts: Then | ChainedThen = pl.when(x.is_null()).then(pl.lit(pw.missing_points))
        for b in pw.branches:
            cond = (x >= b.lo) & ((x < b.hi) | (pl.lit(b.hi_closed) & (x == b.hi)))
            br = br.when(cond).then(pl.lit(b.id))
            pts = pts.when(cond).then(pl.lit(b.a) + pl.lit(b.b) * x if b.b else pl.lit(b.a))
        applies = pl.col(f"applies__{code}")
        excluded = x.is_null() & pl.lit(bool(ci.indicator.scoring and ci.indicator.scoring.missing == "exclude"))
        cols += [pl.when(applies).then(br).otherwise(None).alias(f"branch__{code}"),
                 pl.when(applies & ~excluded).then(pts).otherwise(None).alias(f"pts__{code}"),
                 pl.when(applies & ~excluded).then(pl.lit(pw.max_points)).otherwise(0.0).alias(f"max__{code}")]
    f = f.with_columns(cols)
    return f.with_columns([  # left to right, in indicator order, as the per-subject evaluator adds them
        _ordered_sum([pl.lit(0.0)] + [pl.col(f"max__{ci.indicator.code}") for ci, _ in scored if ci.indicator.dimension == d])
        .alias(f"dimmax__{d}") for d in compiled.scheme.dimensions
    ])


def phase_vetoes(compiled: CompiledScheme, f: pl.DataFrame) -> pl.DataFrame:
    """The vetoes that fired (``veto__``) and the dimensions they zero (``zeroed__``)."""
    f = f.with_columns([(pl.col(f"veton__{cv.veto.code}") > 0).alias(f"veto__{cv.veto.code}") for cv in compiled.vetoes])
    zero_cols = {}
    for dim in compiled.scheme.dimensions:
        vs = [pl.col(f"veto__{cv.veto.code}") for cv in compiled.vetoes
              if any(e.effect == "zero_dimension" and e.dimension == dim for e in cv.veto.effects)]
        zero_cols[dim] = pl.any_horizontal(vs) if vs else pl.lit(False)
    return f.with_columns([z.alias(f"zeroed__{d}") for d, z in zero_cols.items()])


def phase_adjustments(compiled: CompiledScheme, f: pl.DataFrame) -> pl.DataFrame:
    """Points per adjustment (``adj__``: capped per item, no bonus in a vetoed dimension; one limited to
    some lines or businesses counts nothing for the others), then each dimension's adjustment cap
    (``cap__``: what brings the dimension's adjustments back to the cap)."""
    f = f.with_columns([
        pl.when(_applies(ca.adjustment.lines, ca.adjustment.businesses)).then(pl.col(f"adjn__{ca.adjustment.code}"))
        .otherwise(0).alias(f"adjn__{ca.adjustment.code}")
        for ca in compiled.adjustments if ca.adjustment.lines or ca.adjustment.businesses])
    adj = []
    for ca in compiled.adjustments:
        a = ca.adjustment
        raw = pl.col(f"adjn__{a.code}").cast(pl.Float64) * a.points
        e = raw
        if a.cap is not None:
            e = pl.when(raw.abs() > a.cap).then(pl.lit(math.copysign(a.cap, a.points))).otherwise(raw)
        if a.dimension and a.points > 0:  # a veto takes the dimension's bonuses; its penalties stand
            e = pl.when(pl.col(f"zeroed__{a.dimension}")).then(0.0).otherwise(e)
        adj.append(pl.when(pl.col(f"adjn__{a.code}") > 0).then(e).otherwise(0.0).alias(f"adj__{a.code}"))
    f = f.with_columns(adj)
    return f.with_columns(_dimension_caps(compiled))


def _dimension_caps(compiled: CompiledScheme) -> list[pl.Expr]:
    caps = []
    for dim, d in compiled.scheme.dimensions.items():
        if d.adjustment_cap is None:
            continue
        parts = [pl.col(f"adj__{ca.adjustment.code}") for ca in compiled.adjustments if ca.adjustment.dimension == dim]
        if not parts:
            continue
        tot = _ordered_sum([pl.lit(0.0), *parts])
        caps.append(pl.when(tot.abs() > d.adjustment_cap).then(pl.lit(d.adjustment_cap) * tot.sign() - tot)
                    .otherwise(0.0).alias(f"cap__{dim}"))
    return caps


def phase_combine(compiled: CompiledScheme, f: pl.DataFrame) -> pl.DataFrame:
    """Each indicator's contribution (``contrib__``; weighted: re-weighted over the dimensions with points
    to attain, ``live_share``; nothing earned in a vetoed dimension), then the total: base, contributions,
    adjustments and caps added left to right (``raw_total``), clipped and rounded (``total``)."""
    comb = compiled.scheme.combination
    scored = [ci for ci, _ in _scored(compiled)]
    # Dimensions with nothing to score for a subject are left out; the others are re-weighted. A vetoed
    # dimension keeps its weight (and scores 0) even with nothing to score: a veto is never free.
    f = f.with_columns(_ordered_sum([pl.lit(0.0)] + [
        pl.when((pl.col(f"dimmax__{d}") > 0) | pl.col(f"zeroed__{d}")).then(pl.lit(compiled.weight_share[d]))
        .otherwise(0.0)
        for d in compiled.scheme.dimensions
    ]).alias("live_share"))
    contrib = []
    for ci in scored:
        code, dim = ci.indicator.code, ci.indicator.dimension
        p = pl.col(f"pts__{code}")
        if comb.method == "weighted":
            mx = pl.col(f"dimmax__{dim}") if dim else pl.lit(0.0)
            live = pl.col("live_share")
            share = pl.lit(compiled.weight_share[dim] if dim else 0.0) / exact(live)
            c = pl.when((mx > 0) & (live > 0)).then(pl.lit(comb.span) * share * p / exact(mx)).otherwise(0.0)
        else:
            c = p
        if dim:  # a veto takes what the dimension earned; what a rule took away (negative points) stands
            c = pl.when(pl.col(f"zeroed__{dim}") & (p >= 0)).then(0.0).otherwise(c)
        contrib.append(pl.when(p.is_null()).then(None).otherwise(c).alias(f"contrib__{code}"))
    f = f.with_columns(contrib)
    terms = [pl.lit(comb.base)] + [pl.col(f"contrib__{ci.indicator.code}").fill_null(0.0) for ci in scored]
    terms += [pl.col(f"adj__{ca.adjustment.code}") for ca in compiled.adjustments]
    terms += [pl.col(c.meta.output_name()) for c in _dimension_caps(compiled)]
    f = f.with_columns(_ordered_sum(terms).alias("raw_total"))
    total = pl.col("raw_total")
    if comb.cap is not None:
        total = pl.when(total > comb.cap).then(pl.lit(comb.cap)).otherwise(total)
    if comb.floor is not None:
        total = pl.when(total < comb.floor).then(pl.lit(comb.floor)).otherwise(total)
    f = f.with_columns(total.alias("total"))
    return f.with_columns(pl.Series("total", [snap_total(t) for t in f["total"]], dtype=pl.Float64))


def _scored(compiled: CompiledScheme) -> list[tuple[CompiledIndicator, Piecewise]]:
    """The scored indicators with their scoring rules, in indicator order."""
    return [(ci, ci.piecewise) for ci in compiled.indicators if ci.piecewise is not None]


def _levels(compiled: CompiledScheme) -> list[list[CompiledIndicator]]:
    """The indicators in dependency levels: each level reads only metrics and earlier levels, so one
    ``with_columns`` computes a whole level."""
    codes = {ci.indicator.code for ci in compiled.indicators}
    depth: dict[str, int] = {}
    levels: list[list[Any]] = []
    for ci in compiled.indicators:  # already in dependency order
        d = 1 + max((depth[n] for n in ci.names if n in codes), default=-1)
        depth[ci.indicator.code] = d
        while len(levels) <= d:
            levels.append([])
        levels[d].append(ci)
    return levels


def _outsiders_percentiles(compiled: CompiledScheme, f: pl.DataFrame,
                           stats: dict[tuple[str, Any], PeerStats]) -> pl.DataFrame:
    """Percentiles of subjects scored but not in the statistics (not graded), against the evaluated
    peers — the same function a per-subject evaluation uses."""
    fixes = []
    for ci in compiled.indicators:
        if ci.piecewise is None or ci.piecewise.derive != "percentile":
            continue
        code = ci.indicator.code
        gcol = None if ci.peer_group == "all" else GROUP_COLUMNS[ci.peer_group]
        rows = f.select(pl.col(code), pl.col(f"applies__{code}"), pl.col("status"),
                        (pl.col(gcol) if gcol else pl.lit(None)).alias("g"), pl.col(f"x__{code}"))
        if rows.filter(pl.col("status") != EVALUATED).height == 0:
            continue
        xs = []
        for v, applies, status, g, x in rows.iter_rows():
            if status != EVALUATED and applies and v is not None:
                st = stats.get((code, g))
                x = percentile_of(v, st.values, ci.higher_better, member=False) \
                    if st is not None and len(st.values) >= ci.peer_min_size else None
            xs.append(x)
        fixes.append(pl.Series(f"x__{code}", xs, dtype=pl.Float64))
    return f.with_columns(fixes) if fixes else f


def _kept_from_quota(compiled: CompiledScheme, evaluated: pl.DataFrame,
                     gcol: str | None) -> dict[tuple[str, Any], tuple[float, ...]]:
    """Per (quota band, group): the sorted totals of the evaluated subjects a veto keeps out of the band
    (``peers.bands_kept_from``) — they take none of its places."""
    g = compiled.scheme.grading
    codes = [cv.veto.code for cv in compiled.vetoes]
    if g is None or not codes or not any(b.quota is not None for b in g.bands):
        return {}
    quota_bands = {b.grade for b in g.bands if b.quota is not None}
    fired = evaluated.filter(pl.any_horizontal([pl.col(f"veto__{c}") for c in codes]))
    kept: dict[tuple[str, Any], list[float]] = {}
    for row in fired.select([*([gcol] if gcol else []), "total", *(f"veto__{c}" for c in codes)]).iter_rows(named=True):
        for band in bands_kept_from(compiled, [c for c in codes if row[f"veto__{c}"]]) & quota_bands:
            kept.setdefault((band, row[gcol] if gcol else None), []).append(row["total"])
    return {k: tuple(sorted(v)) for k, v in kept.items()}


def reached_band(grading: Grading, band: GradeBand) -> pl.Expr:
    """The total reaches ``band``'s minimum and the grade is not a better band: those who competed for
    its places by their score (a band's quota counts only those who hold it, ``peers.quota_allows``)."""
    better = [b.grade for b in grading.bands[:grading.bands.index(band)]]
    reached = pl.col("total") >= band.min
    if not better:
        return reached
    return reached & ~pl.col("grade").is_in(better).fill_null(False)


def _graded_above(compiled: CompiledScheme, rows: list[tuple[Subject, float, list[str]]], grades: list[str | None],
                  qgroup: str) -> dict[tuple[str, Any], tuple[float, ...]]:
    """Per (band with a quota, below the best; quota group): the sorted totals of the evaluated subjects
    graded a better band — they take none of its places — leaving out those a veto keeps from the band
    (counted once, in ``PeerContext.ineligible``)."""
    g = compiled.scheme.grading
    assert g is not None
    order = {b.grade: i for i, b in enumerate(g.bands)}
    quota_at = [(i, b.grade) for i, b in enumerate(g.bands) if b.quota is not None and i > 0]
    if not quota_at:
        return {}
    out: dict[tuple[str, Any], list[float]] = {}
    for (subj, total, vetoes), grade in zip(rows, grades, strict=True):
        if grade is None or subj.status != EVALUATED:
            continue
        held = order[grade]
        kept = bands_kept_from(compiled, vetoes) if vetoes else set()
        for i, band in quota_at:
            if held < i and band not in kept:
                out.setdefault((band, group_key(subj, qgroup)), []).append(total)
    return {k: tuple(sorted(v)) for k, v in out.items()}


def phase_grade(compiled: CompiledScheme, f: pl.DataFrame, key: str, stats: dict[tuple[str, Any], PeerStats],
                left_out: pl.DataFrame) -> BulkResult:
    """Grades by the very function the per-subject executor calls (``peers.grade_for``), with the totals
    of each quota group (``grade``, ``grade_reason``), and the rank among the evaluated (``rank``)."""
    s = compiled.scheme
    qgroup = s.rank_group
    gcol = None if qgroup == "all" else GROUP_COLUMNS[qgroup]
    totals: dict[Any, list[float]] = {}
    evaluated = f.filter(pl.col("status") == EVALUATED)
    for k, t in zip(evaluated[gcol] if gcol else [None] * evaluated.height, evaluated["total"], strict=True):
        totals.setdefault(k, []).append(t)
    peers = PeerContext(stats, {k: tuple(sorted(v)) for k, v in totals.items()},
                        _kept_from_quota(compiled, evaluated, gcol))
    grades: list[str | None] = []
    reasons: list[str] = []
    veto_cols = [cv.veto.code for cv in compiled.vetoes]
    if s.grading is None:
        grades, reasons = [None] * f.height, [""] * f.height
    else:
        wanted = dict.fromkeys([key, "total", *([gcol] if gcol else []), "status", "status_reason",
                                *(f"veto__{c}" for c in veto_cols)])
        rows = []
        for row in f.select(list(wanted)).iter_rows(named=True):
            # All grade_for reads of the subject: how they take part and their quota group.
            subj = Subject(id=str(row[key]), groups={qgroup: row[gcol]} if gcol else {}, status=row["status"],
                           status_reason=row["status_reason"])
            rows.append((subj, row["total"], [c for c in veto_cols if row[f"veto__{c}"]]))
        # A band's quota counts those who hold it: who holds a better band is known only once the better
        # bands are decided, so grade again with them until nothing moves — band i is settled after i
        # rounds (a scheme with a quota on its best band only, or none, is graded once).
        for _ in range(len(s.grading.bands) + 1):
            graded = [grade_for(compiled, total, vetoes, subj, peers) for subj, total, vetoes in rows]
            above = _graded_above(compiled, rows, [g for g, _ in graded], qgroup)
            if above == peers.graded_above:
                break
            peers = dataclasses.replace(peers, graded_above=above)
        else:  # cannot happen (each round settles one more band): never hand out grades that did not settle
            raise EvaluationError("等次未能确定：名额计算未收敛 (grades did not settle)")
        grades, reasons = [g for g, _ in graded], [r for _, r in graded]
    f = f.with_columns(pl.Series("grade", grades, dtype=pl.Utf8), pl.Series("grade_reason", reasons, dtype=pl.Utf8))
    group = pl.lit(0) if gcol is None else pl.col(gcol)
    ranked = pl.when(pl.col("status") == EVALUATED).then(pl.col("total"))
    f = f.with_columns(ranked.rank("min", descending=True).over(group).cast(pl.Int64).alias("rank"))
    return BulkResult(f, peers, key, left_out)


def subject_of(row: dict[str, Any], key: str, *, final: bool = False) -> Subject:
    """The :class:`Subject` of one row of the subjects (or result) frame. A subject the bulk executor
    found without activity is handed on as evaluated (the per-subject executor decides that itself),
    unless ``final``."""
    groups = {kind: row.get(col) for kind, col in GROUP_COLUMNS.items() if col in row}
    status, code, reason = row.get("status") or EVALUATED, row.get("status_code") or "", row.get("status_reason") or ""
    if code == "no_activity" and not final:
        status, code, reason = EVALUATED, "", ""
    share = row.get("office_share")
    return Subject(id=str(row[key]), line=row.get("line"), groups=groups, business=row.get("business_code"),
                   attrs={"is_leader": row.get("is_leader"), "leader_title": row.get("leader_title")},
                   status=status, status_code=code, status_reason=reason,
                   office_share=1.0 if share is None else share)


def peer_stats(compiled: CompiledScheme, f: pl.DataFrame) -> dict[tuple[str, Any], PeerStats]:
    """Peer statistics exactly as the bulk executor uses them (the evaluated subjects an indicator applies
    to, with a value), for per-subject evaluations."""
    stats: dict[tuple[str, Any], PeerStats] = {}
    for ci in compiled.indicators:
        if ci.piecewise is None or ci.piecewise.derive == "value":
            continue
        code = ci.indicator.code
        gcol = None if ci.peer_group == "all" else GROUP_COLUMNS[ci.peer_group]
        col = f"peer__{code}"
        sub = f.filter(pl.col(col).is_not_null())
        if gcol is not None:
            agg = sub.group_by([gcol]).agg(pl.col(col).sort().alias("vals"), pl.col(col).mean().alias("mean"))
            for row in agg.iter_rows(named=True):
                stats[(code, row[gcol])] = PeerStats(tuple(row["vals"]), row["mean"])
        elif sub.height:
            stats[(code, None)] = PeerStats(tuple(sub[col].sort()), cast(float, sub[col].mean()))
    return stats


def peers_of_frame(compiled: CompiledScheme, f: pl.DataFrame, key: str) -> PeerContext | None:
    """The :class:`PeerContext` a bulk run gave its subjects, rebuilt from its result frame (``f``: every
    column of ``BulkResult.frame``, the ``peer__`` ones included) — what a stored run (a publication) needs
    to explain one subject exactly as it was scored. None when the frame lacks a column it needs (a run
    stored without its ``peer__`` columns)."""
    s = compiled.scheme
    qgroup = s.rank_group
    gcol = None if qgroup == "all" else GROUP_COLUMNS[qgroup]
    veto_cols = [cv.veto.code for cv in compiled.vetoes]
    needed = {key, "status", "status_reason", "total", "grade", *([gcol] if gcol else []),
              *(f"veto__{c}" for c in veto_cols),
              *(f"peer__{ci.indicator.code}" for ci in compiled.indicators
                if ci.piecewise is not None and ci.piecewise.derive != "value")}
    if not needed <= set(f.columns):
        return None
    evaluated = f.filter(pl.col("status") == EVALUATED)
    totals: dict[Any, list[float]] = {}
    for k, t in zip(evaluated[gcol] if gcol else [None] * evaluated.height, evaluated["total"], strict=True):
        totals.setdefault(k, []).append(t)
    peers = PeerContext(peer_stats(compiled, f), {k: tuple(sorted(v)) for k, v in totals.items()},
                        _kept_from_quota(compiled, evaluated, gcol))
    if s.grading is None:
        return peers
    rows, grades = [], []
    for row in evaluated.select(list(dict.fromkeys(needed))).iter_rows(named=True):
        subj = Subject(id=str(row[key]), groups={qgroup: row[gcol]} if gcol else {}, status=row["status"],
                       status_reason=row["status_reason"])
        rows.append((subj, row["total"], [c for c in veto_cols if row[f"veto__{c}"]]))
        grades.append(row["grade"])
    return dataclasses.replace(peers, graded_above=_graded_above(compiled, rows, grades, qgroup))
