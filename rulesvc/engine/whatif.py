"""One subject scored on other events than the stored ones ("what-if"), among the stored period's peers.

The period's bulk run holds everyone's figures, the subject's stored ones among them. A what-if answers
what the subject would score had their events been these: as if the period were scored again with the
subject's figures replaced. Their stored figures leave every peer statistic and quota count they were in
(a stored value of 27.5 is not the best the new 13.75 is measured against; a stored total does not hold a
place the new one competes for) and the new figures join those an evaluated subject belongs to. Everyone
else's figures stay as stored: a what-if moves nobody else.
"""

from __future__ import annotations

import bisect
import dataclasses
from collections.abc import Mapping, Sequence
from typing import Any

import polars as pl

from rulesvc.engine import result as R
from rulesvc.engine.compile import CompiledScheme
from rulesvc.engine.decide import Decider
from rulesvc.engine.evaluate import applies, evaluate_subject
from rulesvc.engine.frame_events import event_rows
from rulesvc.engine.model import Subject
from rulesvc.engine.participation import EVALUATED
from rulesvc.engine.peers import PeerContext, PeerStats, bands_kept_from, group_key


def evaluate_what_if(compiled: CompiledScheme, subject: Subject, events: pl.DataFrame, stored: Mapping[str, Any],
                     peers: PeerContext, *, period: str, decider: Decider | None = None) -> R.Result:
    """The subject's result on ``events`` with the peers of the stored period, the subject's own stored
    figures (``stored``: their row of the bulk run — ``peer__`` values, ``status``, ``total``, ``grade``,
    ``veto__`` flags) replaced by the new ones. ``subject`` takes part as the stored period says, except
    that whether they had any activity is decided again on these events."""
    rows = event_rows(compiled, events)
    # The new values and how the subject takes part do not depend on the peers; the total does not depend
    # on the quota counts. So: values → peer statistics → total → quota counts → the answer.
    first = evaluate_subject(compiled, subject, rows, period=period, decider=decider, peers=peers, explain=False)
    with_values = dataclasses.replace(peers, stats=_stats(compiled, subject, stored, first, peers))
    second = evaluate_subject(compiled, subject, rows, period=period, decider=decider, peers=with_values,
                              explain=False)
    final = _quota_counts(compiled, subject, stored, second, with_values)
    return evaluate_subject(compiled, subject, rows, period=period, decider=decider, peers=final)


def _swap(values: Sequence[float], old: float | None, new: float | None) -> tuple[float, ...]:
    """``values`` (sorted) with one ``old`` taken out and ``new`` put in its sorted place."""
    vs = list(values)
    if old is not None:
        i = bisect.bisect_left(vs, old)
        if i < len(vs) and vs[i] == old:
            del vs[i]
    if new is not None:
        bisect.insort(vs, new)
    return tuple(vs)


def _stats(compiled: CompiledScheme, subject: Subject, stored: Mapping[str, Any], new: R.Result,
           peers: PeerContext) -> dict[tuple[str, Any], PeerStats]:
    """The peer statistics with the subject's stored value of each peer-compared indicator replaced by the
    new one (an evaluated subject the indicator applies to, with a value, is in its group's statistic)."""
    stats = dict(peers.stats)
    values = {i.code: i.value for i in new.indicators}
    member = new.status == EVALUATED
    for ci in compiled.indicators:
        pw = ci.piecewise
        if pw is None or pw.derive == "value":
            continue
        code = ci.indicator.code
        old = stored.get(f"peer__{code}")
        now = values.get(code) if member and applies(ci, subject) else None
        if old == now:
            continue
        key = (code, group_key(subject, ci.peer_group))
        before = stats.get(key)
        vs = _swap(before.values if before is not None else (), old, now)
        if vs:
            stats[key] = PeerStats.of(vs)
        else:
            stats.pop(key, None)
    return stats


def _quota_counts(compiled: CompiledScheme, subject: Subject, stored: Mapping[str, Any], new: R.Result,
                  peers: PeerContext) -> PeerContext:
    """The quota counts with the subject's stored total taken out of every count it was in — its group's
    totals, the totals a veto kept out of a band, the totals graded a better band — and the new total put
    among its group's totals if the subject is evaluated. (Whether the new total would be kept out of a
    band or graded above it matters to no one's grade here but the subject's own, and their own grading
    never reads their own place in those two.)"""
    g = compiled.scheme.grading
    if g is None:
        return peers
    qk = group_key(subject, g.quota_group)
    was = stored.get("status") == EVALUATED and stored.get("total") is not None
    old = stored.get("total") if was else None
    now = new.total if new.status == EVALUATED else None
    totals = dict(peers.totals)
    vs = _swap(totals.get(qk, ()), old, now)
    if vs:
        totals[qk] = vs
    else:
        totals.pop(qk, None)
    ineligible, graded_above = dict(peers.ineligible), dict(peers.graded_above)
    if was:
        vetoed = [cv.veto.code for cv in compiled.vetoes if stored.get(f"veto__{cv.veto.code}")]
        kept = bands_kept_from(compiled, vetoed)
        order = {b.grade: i for i, b in enumerate(g.bands)}
        held = order.get(stored.get("grade") or "", len(g.bands))
        for i, band in enumerate(g.bands):
            if band.quota is None:
                continue
            key = (band.grade, qk)
            if band.grade in kept and key in ineligible:
                ineligible[key] = _swap(ineligible[key], old, None)
            elif held < i and key in graded_above:
                graded_above[key] = _swap(graded_above[key], old, None)
    return dataclasses.replace(peers, totals=totals, ineligible=ineligible, graded_above=graded_above)


__all__ = ["evaluate_what_if"]
