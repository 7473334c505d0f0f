"""The bulk executor: every subject of a period at once, column-wise with polars.

Same semantics as :mod:`rulesvc.engine.evaluate` (the differential test holds them together):
metrics by one group-by with conditional aggregations, indicators by the compiled polars formulas,
peer statistics by window functions, branches by ``when/then`` chains, grades by the very same
``grade_for`` applied to the totals (it is cheap, and one implementation cannot drift).

Input: an events frame (``rulesvc.services.facts``: event_id, event_type, <subject key>, case_id,
occurred_on, one column per dictionary field) and a subjects frame (the subject key, ``line`` and a
column per peer group kind used).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import polars as pl

from rulesvc.engine.compile import CompiledScheme, Predicate
from rulesvc.engine.evaluate import Subject
from rulesvc.engine.expr.compile_polars import exact
from rulesvc.engine.peers import PeerContext, PeerStats, grade_for

GROUP_COLUMNS = {"procuratorate": "procuratorate_id", "department": "department_id", "business": "business_code",
                 "level": "level"}


def _mask(types: frozenset[str], pred: Predicate | None) -> pl.Expr:
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


@dataclass(frozen=True)
class BulkResult:
    """One row per subject; columns documented in :func:`evaluate_bulk`."""

    frame: pl.DataFrame
    peers: PeerContext
    key: str

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
        mask = _mask(cm.types, cm.where)
        if m.agg == "count":
            e = mask.sum().cast(pl.Float64)
        else:
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
    return aggs


def _count_aggs(compiled: CompiledScheme) -> list[pl.Expr]:
    """Matching events per (non-pattern) adjustment and per veto."""
    aggs = []
    for ca in compiled.adjustments:
        if ca.pattern:
            continue
        mask = _mask(ca.types, ca.where)
        if ca.adjustment.per_case:  # distinct cases; events without a case do not count
            aggs.append(pl.col("case_id").filter(mask).drop_nulls().n_unique().alias(f"adjn__{ca.adjustment.code}"))
        else:
            aggs.append(mask.sum().alias(f"adjn__{ca.adjustment.code}"))
    for cv in compiled.vetoes:
        aggs.append(_mask(cv.types, cv.where).sum().alias(f"veton__{cv.veto.code}"))
    return aggs


def _relevant(compiled: CompiledScheme, events: pl.DataFrame, key: str) -> pl.DataFrame:
    return events.filter(pl.col(key).is_not_null() & pl.col("event_type").is_in(sorted(compiled.event_types)))


def metrics_frame(compiled: CompiledScheme, events: pl.DataFrame, key: str) -> pl.DataFrame:
    """One row per subject with events: a column per metric (missing subjects are filled by the caller)."""
    return _relevant(compiled, events, key).group_by(key).agg(_metric_aggs(compiled))


def _pattern_counts(compiled: CompiledScheme, relevant: pl.DataFrame, key: str, out: pl.DataFrame) -> pl.DataFrame:
    """Matching cases per pattern adjustment, joined onto ``out``. Only the rows of a pattern's event
    types take part in its case group-by (a step counts only its own types anyway)."""
    for ca in compiled.adjustments:
        if not ca.pattern:
            continue
        steps = [_mask(st.types, st.where).sum().alias(st.name) for st in ca.pattern]
        holds = pl.all_horizontal([pl.col(st.name) >= st.at_least for st in ca.pattern])
        types = sorted(set().union(*(st.types for st in ca.pattern)))
        cases = (relevant.filter(pl.col("case_id").is_not_null() & pl.col("event_type").is_in(types))
                 .group_by([key, "case_id"]).agg(steps)
                 .filter(holds).group_by(key).agg(pl.len().alias(f"adjn__{ca.adjustment.code}")))
        out = out.join(cases, on=key, how="left")
    return out


def _aggregate(compiled: CompiledScheme, events: pl.DataFrame, key: str) -> tuple[pl.DataFrame, list[str]]:
    """Metrics, adjustment and veto counts in one pass over the events (per subject with events), and
    the names of the count columns."""
    relevant = _relevant(compiled, events, key)
    counts = _count_aggs(compiled)
    out = relevant.group_by(key).agg(_metric_aggs(compiled) + counts)
    out = _pattern_counts(compiled, relevant, key, out)
    names = [e.meta.output_name() for e in counts] + [f"adjn__{ca.adjustment.code}" for ca in compiled.adjustments
                                                      if ca.pattern]
    return out, names


def _derive(ci, group: str) -> pl.Expr:
    code = ci.indicator.code
    v = pl.col(code)
    kind = ci.piecewise.derive
    if kind == "value":
        return v
    g = _group_expr(group)
    peer = pl.when(pl.col(f"applies__{code}")).then(v)
    if kind == "percentile":
        n = peer.count().over(g)
        better = (n - peer.rank("max").over(g)) if ci.higher_better else (peer.rank("min").over(g) - 1)
        x = pl.when(n <= 1).then(pl.lit(1.0)).otherwise((n - 1 - better).cast(pl.Float64) / exact((n - 1).cast(pl.Float64)))
        return pl.when(v.is_null()).then(None).otherwise(x)
    ref = peer.mean().over(g) if kind == "ratio_to_avg" else (peer.max() if ci.higher_better else peer.min()).over(g)
    if ci.higher_better:
        return pl.when(ref == 0).then(None).otherwise(v / exact(ref))
    return pl.when(v == 0).then(pl.when(ref == 0).then(pl.lit(1.0)).otherwise(None)).otherwise(ref / exact(v))


def evaluate_bulk(compiled: CompiledScheme, events: pl.DataFrame, subjects: pl.DataFrame, *,
                  key: str = "prosecutor_id") -> BulkResult:
    """Score every subject in ``subjects`` (the key column, ``line``, group columns).

    Output columns per subject: metric codes, indicator codes, ``x__``/``branch__``/``pts__``/
    ``contrib__<indicator>``, ``adjn__``/``adj__<adjustment>``, ``veto__<veto>``, ``cap__<dimension>``,
    ``total``, ``grade``, ``grade_reason``, ``rank`` (1 = best, within the quota group).
    """
    s = compiled.scheme
    comb = s.combination
    aggregated, count_names = _aggregate(compiled, events, key)
    f = subjects.join(aggregated, on=key, how="left")
    f = f.with_columns([
        pl.col(cm.metric.code).fill_null(0.0) if cm.metric.agg in ("count", "sum", "distinct") else pl.col(cm.metric.code)
        for cm in compiled.metrics
    ])
    for ci in compiled.indicators:  # in dependency order
        f = f.with_columns(ci.pl.cast(pl.Float64).alias(ci.indicator.code))
        f = f.with_columns(pl.when(pl.col(ci.indicator.code).is_finite()).then(pl.col(ci.indicator.code))
                           .otherwise(None).alias(ci.indicator.code))
    scored = [ci for ci in compiled.indicators if ci.piecewise is not None]
    f = f.with_columns([
        (pl.col("line").is_in(list(ci.indicator.lines)) if ci.indicator.lines else pl.lit(True)).alias(f"applies__{ci.indicator.code}")
        for ci in scored
    ])
    f = f.with_columns([_derive(ci, ci.peer_group).alias(f"x__{ci.indicator.code}") for ci in scored])
    f = f.with_columns([pl.when(pl.col(f"x__{ci.indicator.code}").is_finite()).then(pl.col(f"x__{ci.indicator.code}"))
                        .otherwise(None).alias(f"x__{ci.indicator.code}") for ci in scored])
    cols = []
    for ci in scored:
        code, pw = ci.indicator.code, ci.piecewise
        x = pl.col(f"x__{code}")
        br = pl.when(x.is_null()).then(pl.lit("missing"))
        pts = pl.when(x.is_null()).then(pl.lit(pw.missing_points))
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

    f = f.with_columns([pl.col(c).fill_null(0).cast(pl.Int64) for c in count_names])
    f = f.with_columns([(pl.col(f"veton__{cv.veto.code}") > 0).alias(f"veto__{cv.veto.code}") for cv in compiled.vetoes])
    zero_cols = {}
    for dim in s.dimensions:
        vs = [pl.col(f"veto__{cv.veto.code}") for cv in compiled.vetoes
              if cv.veto.effect == "zero_dimension" and cv.veto.dimension == dim]
        zero_cols[dim] = pl.any_horizontal(vs) if vs else pl.lit(False)
    f = f.with_columns([z.alias(f"zeroed__{d}") for d, z in zero_cols.items()])
    f = f.with_columns([  # left to right, in indicator order, as the per-subject evaluator adds them
        _ordered_sum([pl.lit(0.0)] + [pl.col(f"max__{ci.indicator.code}") for ci in scored if ci.indicator.dimension == d])
        .alias(f"dimmax__{d}") for d in s.dimensions
    ])
    # Dimensions with nothing to score for a subject are left out; the others are re-weighted.
    f = f.with_columns(_ordered_sum([pl.lit(0.0)] + [
        pl.when(pl.col(f"dimmax__{d}") > 0).then(pl.lit(compiled.weight_share[d])).otherwise(0.0) for d in s.dimensions
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
        if dim:
            c = pl.when(pl.col(f"zeroed__{dim}")).then(0.0).otherwise(c)
        contrib.append(pl.when(p.is_null()).then(None).otherwise(c).alias(f"contrib__{code}"))
    f = f.with_columns(contrib)
    adj = []
    for ca in compiled.adjustments:
        a = ca.adjustment
        raw = pl.col(f"adjn__{a.code}").cast(pl.Float64) * a.points
        e = raw
        if a.cap is not None:
            e = pl.when(raw.abs() > a.cap).then(pl.lit(math.copysign(a.cap, a.points))).otherwise(raw)
        if a.dimension:
            e = pl.when(pl.col(f"zeroed__{a.dimension}")).then(0.0).otherwise(e)
        adj.append(pl.when(pl.col(f"adjn__{a.code}") > 0).then(e).otherwise(0.0).alias(f"adj__{a.code}"))
    f = f.with_columns(adj)
    caps = []
    for dim, d in s.dimensions.items():
        if d.adjustment_cap is None:
            continue
        parts = [pl.col(f"adj__{ca.adjustment.code}") for ca in compiled.adjustments if ca.adjustment.dimension == dim]
        if not parts:
            continue
        tot = _ordered_sum([pl.lit(0.0), *parts])
        caps.append(pl.when(tot.abs() > d.adjustment_cap).then(pl.lit(d.adjustment_cap) * tot.sign() - tot)
                    .otherwise(0.0).alias(f"cap__{dim}"))
    f = f.with_columns(caps)
    terms = [pl.lit(comb.base)] + [pl.col(f"contrib__{ci.indicator.code}").fill_null(0.0) for ci in scored]
    terms += [pl.col(f"adj__{ca.adjustment.code}") for ca in compiled.adjustments]
    terms += [pl.col(c.meta.output_name()) for c in caps]
    f = f.with_columns(_ordered_sum(terms).alias("raw_total"))
    total = pl.col("raw_total")
    if comb.cap is not None:
        total = pl.when(total > comb.cap).then(pl.lit(comb.cap)).otherwise(total)
    if comb.floor is not None:
        total = pl.when(total < comb.floor).then(pl.lit(comb.floor)).otherwise(total)
    f = f.with_columns(total.alias("total"))
    return _grades(compiled, f, key)


def _grades(compiled: CompiledScheme, f: pl.DataFrame, key: str) -> BulkResult:
    s = compiled.scheme
    qgroup = s.grading.quota_group if s.grading else "all"
    gcol = None if qgroup == "all" else GROUP_COLUMNS[qgroup]
    totals: dict[Any, list[float]] = {}
    for k, t in zip(f[gcol] if gcol else [None] * f.height, f["total"], strict=True):
        totals.setdefault(k, []).append(t)
    peers = peer_context(compiled, f, {k: tuple(sorted(v)) for k, v in totals.items()})
    grades, reasons = [], []
    veto_cols = [cv.veto.code for cv in compiled.vetoes]
    wanted = dict.fromkeys([key, "total", "line", *(c for c in GROUP_COLUMNS.values() if c in f.columns),
                            *(f"veto__{c}" for c in veto_cols)])
    for row in f.select([c for c in wanted if c in f.columns]).iter_rows(named=True):
        subj = subject_of(row, key)
        g, r = grade_for(compiled, row["total"], [c for c in veto_cols if row[f"veto__{c}"]], subj, peers)
        grades.append(g)
        reasons.append(r)
    f = f.with_columns(pl.Series("grade", grades, dtype=pl.Utf8), pl.Series("grade_reason", reasons, dtype=pl.Utf8))
    g = pl.lit(0) if gcol is None else pl.col(gcol)
    f = f.with_columns(pl.col("total").rank("min", descending=True).over(g).cast(pl.Int64).alias("rank"))
    return BulkResult(f, peers, key)


def subject_of(row: dict[str, Any], key: str) -> Subject:
    groups = {kind: row.get(col) for kind, col in GROUP_COLUMNS.items() if col in row}
    return Subject(id=str(row[key]), line=row.get("line"), groups=groups)


def peer_context(compiled: CompiledScheme, f: pl.DataFrame, totals: dict[Any, tuple[float, ...]]) -> PeerContext:
    """Peer statistics exactly as the bulk executor used them, for per-subject evaluations."""
    stats: dict[tuple[str, Any], PeerStats] = {}
    for ci in compiled.indicators:
        if ci.piecewise is None or ci.piecewise.derive == "value":
            continue
        code = ci.indicator.code
        gcol = None if ci.peer_group == "all" else GROUP_COLUMNS[ci.peer_group]
        sub = f.filter(pl.col(f"applies__{code}") & pl.col(code).is_not_null())
        by = [gcol] if gcol else []
        if by:
            agg = sub.group_by(by).agg(pl.col(code).sort().alias("vals"), pl.col(code).mean().alias("mean"))
            for row in agg.iter_rows(named=True):
                stats[(code, row[gcol])] = PeerStats(tuple(row["vals"]), row["mean"])
        elif sub.height:
            stats[(code, None)] = PeerStats(tuple(sub[code].sort()), sub[code].mean())
    return PeerContext(stats, totals)
