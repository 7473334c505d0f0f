"""A subject's explanation assembled from its row of a bulk result — what a score card shows
(``trace=summary``) without reading the subject's events again.

The bulk executor has already computed, column-wise, everything a card's explanation rests on: the
metrics, how many events (or cases) each adjustment and veto matched, who is compared with whom. The
per-subject phases after the metrics are cheap; re-reading a subject's events (turning them into rows,
aggregating them, asserting them as durable_rules facts) is most of a per-subject evaluation. So a card
runs the per-subject phases from ``indicators`` on, over the row's metrics, and :func:`explain_row`
gives the very :class:`~rulesvc.engine.result.Result` a per-subject evaluation gives — dimensions,
indicators with their rule, nearest tier and notes, adjustments, vetoes, attribution — except what only
the events hold: the metric traces and the event ids (``event_ids`` empty, ``matched`` exact).

One question of "what it would take" needs the events: whether one more event of a metric also counts
in another the indicator reads (a plea case is also a reviewed case). :func:`subset_facts` answers it
for every subject and pair of metrics in one pass over the period's events, as the per-subject
explanation judges it (``explain._subset``: on the subject's own events).

The differential tests hold the two ways together (``differential.summary_differences``: the same card,
field for field): on generated schemes (``tests/unit/test_differential_fuzz.py``) and for everyone in the
demo province (``tests/integration/test_differential_full.py``).
"""

from __future__ import annotations

from collections.abc import Collection, Hashable, Mapping
from typing import Any

import polars as pl

from rulesvc.engine import result as R
from rulesvc.engine.bulk import BulkResult, event_mask, subject_of
from rulesvc.engine.compile import CompiledScheme
from rulesvc.engine.decide import Decisions, branches_for
from rulesvc.engine.evaluate import assemble, phase_indicators, phase_peers

Pair = tuple[str, str]


def subset_pairs(compiled: CompiledScheme) -> tuple[Pair, ...]:
    """The pairs (a, b) of count metrics of one indicator whose answer depends on the subject's events:
    a's event types all among b's, and b filtered (otherwise the answer is the same for everyone and
    ``explain._subset`` gives it without events)."""
    pairs: set[Pair] = set()
    for counts in compiled.count_metrics_of.values():
        for a, cm in counts.items():
            for b, other in counts.items():
                if a != b and cm.types <= other.types and other.where is not None:
                    pairs.add((a, b))
    return tuple(sorted(pairs))


def no_event_subsets(compiled: CompiledScheme) -> frozenset[Pair]:
    """The pairs of :func:`subset_pairs` that hold for a subject without events of a: those the filters
    alone imply (``CompiledScheme.implied_pairs``) — what a subject absent from :func:`subset_facts` holds."""
    return frozenset(p for p in subset_pairs(compiled) if p in compiled.implied_pairs)


def subset_facts(compiled: CompiledScheme, events: pl.DataFrame, key: str) -> dict[Hashable, frozenset[Pair]]:
    """Per subject (by ``key``), the pairs of :func:`subset_pairs` that hold for the subject: on the subject's
    events when a counted at least one of them (every one of those also counts in b), else by the filters
    alone (:func:`no_event_subsets`, which a subject absent here holds). Subjects holding the same pairs share
    one set."""
    pairs = subset_pairs(compiled)
    if not pairs or not events.height:
        return {}
    implied = compiled.implied_pairs
    by_code = {cm.metric.code: cm for cm in compiled.metrics}
    firsts = sorted({a for a, _ in pairs})
    types = sorted(set().union(*(by_code[a].types for a in firsts)))
    hit = {a: f"a{i}" for i, a in enumerate(firsts)}
    f = (events.lazy().filter(pl.col(key).is_not_null() & pl.col("event_type").is_in(types))
         .with_columns([event_mask(by_code[a].types, by_code[a].where).alias(hit[a]) for a in firsts]))
    aggs = []
    for i, (a, b) in enumerate(pairs):
        where = by_code[b].where
        assert where is not None  # subset_pairs keeps only filtered b
        ma = pl.col(hit[a])
        seen = ma.any() & ~(ma & ~where.pl.fill_null(False)).any()
        aggs.append((seen | (~ma.any() & pl.lit((a, b) in implied))).alias(f"p{i}"))
    out = f.group_by(key).agg(aggs).collect()
    cols = [out[f"p{i}"].to_list() for i in range(len(pairs))]
    shared: dict[frozenset[Pair], frozenset[Pair]] = {}
    facts: dict[Hashable, frozenset[Pair]] = {}
    for k, *answers in zip(out[key].to_list(), *cols, strict=True):
        held = frozenset(p for p, yes in zip(pairs, answers, strict=True) if yes)
        facts[k] = shared.setdefault(held, held)
    return facts


def explain_row(compiled: CompiledScheme, bulk: BulkResult, row: Mapping[str, Any], *, period: str,
                subsets: Collection[Pair] | None = None, subject_id: str | None = None,
                subject_name: str = "") -> R.Result:
    """The per-subject result of the subject of ``row`` (a row of ``bulk.frame``), from its figures there:
    the same trace as ``evaluate_subject`` on the subject's events, without metric traces and event ids.
    ``subsets``: the pairs of metrics that hold for the subject (:func:`subset_facts`; None: a subject
    without events, :func:`no_event_subsets`)."""
    subject = subject_of(dict(row), bulk.key, final=True)
    if subject_id is not None:
        subject.id = subject_id
    subject.name = subject_name
    metrics = {cm.metric.code: row[cm.metric.code] for cm in compiled.metrics}
    values = phase_indicators(compiled, metrics, subject)
    xs, notes = phase_peers(compiled, subject, values, bulk.peers)
    counts = {f"adj:{ca.adjustment.code}": row[f"adjn__{ca.adjustment.code}"] or 0 for ca in compiled.adjustments}
    counts.update({f"veto:{cv.veto.code}": row[f"veton__{cv.veto.code}"] or 0 for cv in compiled.vetoes})
    decisions = Decisions(branches_for(compiled, xs), {}, {}, {}, counts)
    held = no_event_subsets(compiled) if subsets is None else subsets
    known: dict[Any, Any] = {pair: pair in held for pair in subset_pairs(compiled)}
    return assemble(compiled, subject, period, metrics, values, xs, decisions, (), bulk.peers, executor="bulk",
                    explain=True, cache=known, x_notes=notes)


__all__ = ["explain_row", "no_event_subsets", "subset_facts", "subset_pairs"]
