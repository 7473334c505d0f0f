"""Peer comparisons and grades: the parts of a score that depend on other subjects.

Percentile, ratio-to-average and ratio-to-best scoring, and grade quotas, need the values of the
subject's peer group. The bulk executor computes them for everyone; a per-subject evaluation gets
them as a :class:`PeerContext` built from the same numbers, so both give identical results.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from rulesvc.engine.errors import EvaluationError

if TYPE_CHECKING:
    from rulesvc.engine.compile import CompiledIndicator, CompiledScheme
    from rulesvc.engine.evaluate import Subject


@dataclass(frozen=True)
class PeerStats:
    """Non-missing values of one indicator in one peer group, sorted, with their mean."""

    values: tuple[float, ...]
    mean: float

    @classmethod
    def of(cls, values: Sequence[float], mean: float | None = None) -> PeerStats:
        vs = tuple(sorted(values))
        return cls(vs, mean if mean is not None else (math.fsum(vs) / len(vs) if vs else 0.0))


@dataclass(frozen=True)
class PeerContext:
    """Peer statistics per (indicator, group key) and the totals per quota group key."""

    stats: Mapping[tuple[str, Any], PeerStats] = field(default_factory=dict)
    totals: Mapping[Any, tuple[float, ...]] = field(default_factory=dict)


def group_key(subject: Subject, group: str) -> Any:
    return None if group == "all" else subject.groups.get(group)


def derive_x(ci: CompiledIndicator, value: float, subject: Subject, peers: PeerContext | None) -> float | None:
    """The number the scoring rule tests. None when it has no meaning (e.g. a ratio to an average of 0)."""
    pw = ci.piecewise
    assert pw is not None
    if pw.derive == "value":
        return value
    if peers is None:
        raise EvaluationError(f"指标 {ci.indicator.code} 按组内比较计分，需要同组数据 (needs peer statistics)")
    key = (ci.indicator.code, group_key(subject, ci.peer_group))
    stats = peers.stats.get(key)
    if stats is None or not stats.values:
        return None
    return derive_from_stats(pw.derive, value, stats, ci.higher_better)


def derive_from_stats(kind: str, value: float, stats: PeerStats, higher_better: bool) -> float | None:
    vs = stats.values
    n = len(vs)
    if kind == "percentile":
        if n <= 1:
            return 1.0
        better = n - bisect.bisect_right(vs, value) if higher_better else bisect.bisect_left(vs, value)
        return (n - 1 - better) / (n - 1)
    if kind == "ratio_to_avg":
        ref = stats.mean
    elif kind == "ratio_to_best":
        ref = vs[-1] if higher_better else vs[0]
    else:
        raise AssertionError(kind)
    if higher_better:
        return None if ref == 0 else value / ref
    if value == 0:
        return 1.0 if ref == 0 else None
    return ref / value


def quota_allows(totals: Sequence[float], total: float, quota: float) -> tuple[bool, int, int]:
    """May a subject with ``total`` hold a band limited to ``quota`` of its group?

    A quota is never exceeded: the subjects at or above this total must fit within it, so subjects
    tied at the boundary all move to the next band. Returns (allowed, places, subjects at or above).
    """
    places = math.floor(quota * len(totals) + 1e-9)
    at_or_above = len(totals) - bisect.bisect_left(totals, total)
    return at_or_above <= places, places, at_or_above


def grade_for(compiled: CompiledScheme, total: float, vetoes: Sequence[str], subject: Subject,
              peers: PeerContext | None) -> tuple[str | None, str]:
    """The grade and why: the band the total reaches, then veto caps and bars, then quotas."""
    g = compiled.scheme.grading
    if g is None:
        return None, ""
    bands = list(g.bands)
    idx = next((i for i, b in enumerate(bands) if total >= b.min), None)
    if idx is None:
        return None, f"总分 {total:.2f} 低于最低等次分数线 (below every band)"
    reasons = [f"总分 {total:.2f} ≥ {bands[idx].min:g} → {bands[idx].grade}"]
    names = [b.grade for b in bands]
    for code in vetoes:
        v = compiled.scheme.vetoes[code]
        if v.effect == "cap_grade" and v.grade in names and idx < names.index(v.grade):
            idx = names.index(v.grade)
            reasons.append(f"{v.name}：等次最高为{v.grade}")
    barred = {compiled.scheme.vetoes[c].grade for c in vetoes if compiled.scheme.vetoes[c].effect == "bar_grade"}
    while idx < len(bands):
        band = bands[idx]
        if band.grade in barred:
            reasons.append(f"一票否决：不得评为{band.grade}")
            idx += 1
            continue
        if band.quota is not None:
            totals = peers.totals.get(group_key(subject, g.quota_group)) if peers else None
            if totals is None:
                reasons.append(f"{band.grade}名额（{band.quota:.0%}）未核定：缺少同组总分 (quota not checked)")
            else:
                ok, places, above = quota_allows(totals, total, band.quota)
                if not ok:
                    reasons.append(f"{band.grade}名额 {band.quota:.0%} 共 {places} 名，总分不低于本人者 {above} 名 → 顺延")
                    idx += 1
                    continue
        break
    if idx >= len(bands):
        return None, "；".join(reasons)
    return bands[idx].grade, "；".join(reasons) + (f" → {bands[idx].grade}" if len(reasons) > 1 else "")
