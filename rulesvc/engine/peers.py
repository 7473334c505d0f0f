"""Peer comparisons and grades: the parts of a score that depend on other subjects.

Percentile, ratio-to-average and ratio-to-best scoring, and grade quotas, need the values of the
subject's peer group. The bulk executor computes them for everyone; a per-subject evaluation gets
them as a :class:`PeerContext` built from the same numbers, so both give identical results.
"""

from __future__ import annotations

import bisect
import functools
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from typing import TYPE_CHECKING, Any

from rulesvc.engine.errors import EvaluationError
from rulesvc.engine.model import Subject
from rulesvc.engine.scoring import fmt_total

if TYPE_CHECKING:
    from rulesvc.engine.compile import CompiledIndicator, CompiledScheme
    from rulesvc.engine.scoring import Piecewise


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
    # (band, quota group key) -> sorted totals of the evaluated subjects a veto keeps out of that band:
    # they take none of its places (see ``quota_allows``).
    ineligible: Mapping[tuple[str, Any], tuple[float, ...]] = field(default_factory=dict)
    # (band, quota group key) -> sorted totals of the evaluated subjects graded a better band (and not
    # kept out of this one): a band's quota counts only those who hold it, so they take none of its places.
    graded_above: Mapping[tuple[str, Any], tuple[float, ...]] = field(default_factory=dict)


def group_key(subject: Subject, group: str) -> Any:
    return None if group == "all" else subject.groups.get(group)


def thin_note(n: int, need: int) -> str:
    """The trace's words for a peer group too small to compare in."""
    return f"同组不足 {need} 人（{n} 人），不作比较 (fewer than {need} peers: not compared)"


def snap_x(pw: Piecewise, x: float | None) -> float | None:
    """The number a scoring rule tests, with floating-point residue taken off at its thresholds: a number
    within :data:`~rulesvc.engine.scoring.EDGE_TOLERANCE` of a threshold the rule states *is* that threshold
    — a workload exactly 90 % of the best's, computed as 0.8999999999999999, reaches the ≥ 90 % tier. Any
    other number is left as it is. The bulk executor does the same column-wise (``bulk._snapped``: the same
    subtraction and comparison, so the same bits)."""
    if x is None:
        return None
    for e, tol in pw.snap_edges:
        if abs(x - e) <= tol:
            return e
    return x


def derive_x(ci: CompiledIndicator, value: float, subject: Subject, peers: PeerContext | None) -> tuple[float | None, str]:
    """The number the scoring rule tests (:func:`snap_x`), and a note when there is none: a peer group
    smaller than the indicator's ``peer_min_size`` (同组不足 N 人), or a ratio to an average of 0."""
    pw = ci.piecewise
    assert pw is not None
    if pw.derive == "value":
        return snap_x(pw, value), ""
    if peers is None:
        raise EvaluationError(f"指标 {ci.indicator.code} 按组内比较计分，需要同组数据 (needs peer statistics)")
    key = (ci.indicator.code, group_key(subject, ci.peer_group))
    stats = peers.stats.get(key)
    n = len(stats.values) if stats is not None else 0
    if n < ci.peer_min_size:
        return None, thin_note(n, ci.peer_min_size)
    assert stats is not None
    x = snap_x(pw, derive_from_stats(pw.derive, value, stats, ci.higher_better, member=subject.status == "evaluated"))
    if x is not None:
        return x, ""
    if pw.derive == "ratio_to_avg":
        return None, "同组平均值为 0，无从比较 (the peers' average is 0: nothing to compare with)"
    return None, "同组最优值为 0，无从比较 (the peers' best is 0: nothing to compare with)"


def percentile_of(value: float, values: Sequence[float], higher_better: bool, *, member: bool) -> float:
    """The mid-rank percentile: the share of the *other* peers the value does better than, a tie
    counting half — ``(B + ½·E) / M``, with B peers worse, E others equal and M others. For a member of
    the group (its own value is among ``values``) that is ``(mid-rank − 1) / (n − 1)``: the best 1, the
    worst 0, tied peers all the same value in between. ``values`` is sorted."""
    lo, hi = bisect.bisect_left(values, value), bisect.bisect_right(values, value)
    worse = lo if higher_better else len(values) - hi
    equal = hi - lo - (1 if member else 0)
    others = len(values) - (1 if member else 0)
    return (worse + 0.5 * equal) / others


RATIO_OF_ZERO = 1e6  # x of a lower-is-better ratio whose own value is 0 (reference ÷ 0): above every anchor


def derive_from_stats(kind: str, value: float, stats: PeerStats, higher_better: bool, *, member: bool = True
                      ) -> float | None:
    vs = stats.values
    if kind == "percentile":
        return percentile_of(value, vs, higher_better, member=member)
    if kind == "ratio_to_avg":
        ref = stats.mean
    elif kind == "ratio_to_best":
        ref = vs[-1] if higher_better else vs[0]
    else:
        raise AssertionError(kind)
    if higher_better:
        return None if ref == 0 else value / ref
    if value == 0:  # lower is better and the value is 0: as good as it gets (a tie if the reference is 0 too)
        return 1.0 if ref == 0 else RATIO_OF_ZERO
    return ref / value


ROUNDING_LABELS = {"floor": "向下取整", "round": "四舍五入", "ceil": "向上取整", "at_least_one": "向下取整但至少 1 名"}


@functools.lru_cache(maxsize=4096)
def quota_places(quota: float, n: int, rounding: str = "floor") -> int:
    """Places of a quota in a group of ``n``: ``quota × n`` computed exactly on the decimal the scheme
    wrote (15 % of 10 is 1.5, not 1.4999…), then rounded — ``floor`` (1.5 → 1), ``round`` (half up:
    1.5 → 2, 0.75 → 1, 0.45 → 0), ``ceil`` (0.45 → 1) or ``at_least_one`` (floor, but at least one place
    in a non-empty group)."""
    exact = Fraction(repr(float(quota))) * n
    if rounding == "ceil":
        return math.ceil(exact)
    if rounding == "round":
        return math.floor(exact + Fraction(1, 2))
    places = math.floor(exact)
    if rounding == "at_least_one" and n > 0:
        return max(1, places)
    return places


def quota_allows(totals: Sequence[float], total: float, quota: float, rounding: str = "floor",
                 ineligible: Sequence[float] = (), graded_above: Sequence[float] = ()) -> tuple[bool, int, int]:
    """May a subject with ``total`` hold a band limited to ``quota`` of its group?

    Places are a share of the whole group (``totals``: every evaluated subject). They go by total, best
    first, among the subjects who may hold the band: ``ineligible`` (sorted totals of those a veto bars
    from it or caps below it) take none, so a barred high scorer leaves the place to the next; nor do
    ``graded_above`` (those graded a better band: 良好's places are for those who are graded 良好, not
    for the 优秀 above them). A quota is never exceeded: the eligible subjects at or above this total
    must fit within it, so subjects tied at the boundary all move to the next band. Returns (allowed,
    places, eligible subjects at or above).
    """
    places = quota_places(quota, len(totals), rounding)
    at_or_above = _competing(totals, total, ineligible, graded_above, bisect.bisect_left)
    return at_or_above <= places, places, at_or_above


def _competing(totals: Sequence[float], total: float, ineligible: Sequence[float], graded_above: Sequence[float],
               cut: Callable[[Sequence[float], float], int]) -> int:
    """How many of ``totals`` at or above ``total`` (``cut`` = ``bisect_left``; above it: ``bisect_right``)
    compete for a band's places: not kept out of it, not graded a better one."""
    return (len(totals) - cut(totals, total) - (len(ineligible) - cut(ineligible, total))
            - (len(graded_above) - cut(graded_above, total)))


def bands_kept_from(compiled: CompiledScheme, vetoes: Sequence[str]) -> set[str]:
    """The bands a subject with these vetoes may not hold: barred, or above a grade cap."""
    g = compiled.scheme.grading
    if g is None or not vetoes:
        return set()
    names = [b.grade for b in g.bands]
    out: set[str] = set()
    for c in vetoes:
        for e in compiled.scheme.vetoes[c].effects:
            if e.effect == "bar_grade" and e.grade:
                out.add(e.grade)
            elif e.effect == "cap_grade" and e.grade in names:
                out.update(names[:names.index(e.grade)])
    return out


def line_band(compiled: CompiledScheme, total: float | None) -> str | None:
    """The band ``total`` reaches by the grade lines alone — before vetoes and quotas (:func:`grade_for`'s
    first step). Two versions giving a subject the same line band and different grades: the places (or a
    veto) decided the move, not the points."""
    g = compiled.scheme.grading
    if g is None or total is None:
        return None
    return next((b.grade for b in g.bands if total >= b.min), None)


OVER_QUOTA = "超出名额"  # a grade's reason when a quota's places moved the subject down (cards before 2026.12.12: "→ 顺延")


def moved_by_quota(reason: str) -> bool:
    """Whether a grade's reason says a quota's places moved the subject down (either wording)."""
    return "名额" in reason and (f"，{OVER_QUOTA}" in reason or "→ 顺延" in reason)


def grade_for(compiled: CompiledScheme, total: float, vetoes: Sequence[str], subject: Subject,
              peers: PeerContext | None) -> tuple[str | None, str]:
    """The grade and why: the band the total reaches, then veto caps and bars, then quotas. A subject
    not graded (``subject.status``) gets no grade, with the reason."""
    g = compiled.scheme.grading
    if g is None:
        return None, ""
    if subject.status != "evaluated":
        return None, subject.status_reason
    bands = list(g.bands)
    idx = next((i for i, b in enumerate(bands) if total >= b.min), None)
    shown = shown_total(total, [b.min for b in bands])
    if idx is None:
        return None, f"总分 {shown} 低于最低等次分数线 (below every band)"
    if idx == len(bands) - 1 and idx > 0 and bands[idx].min <= 0:
        # The catch-all band (不合格 ≥ 0): said by the line it falls below, not "总分 78.92 ≥ 0 → 不合格".
        reasons = [f"总分 {shown} 低于{bands[idx - 1].grade}分数线 {bands[idx - 1].min:g} → {bands[idx].grade}"]
    else:
        reasons = [f"总分 {shown} ≥ {bands[idx].min:g} → {bands[idx].grade}"]
    names = [b.grade for b in bands]
    effects = [(compiled.scheme.vetoes[c], e) for c in vetoes for e in compiled.scheme.vetoes[c].effects]
    for v, e in effects:
        if e.effect == "cap_grade" and e.grade in names and idx < names.index(e.grade):
            idx = names.index(e.grade)
            reasons.append(f"{v.name}：等次最高为{e.grade}")
    barred = {e.grade for _, e in effects if e.effect == "bar_grade"}
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
                gk = (band.grade, group_key(subject, g.quota_group))
                kept = peers.ineligible.get(gk, ()) if peers else ()
                above_band = peers.graded_above.get(gk, ()) if peers else ()
                ok, places, above = quota_allows(totals, total, band.quota, band.quota_rounding, kept, above_band)
                if not ok:
                    higher = _competing(totals, total, kept, above_band, bisect.bisect_right)
                    # "超出名额", not "顺延": in 评优 a place 顺延 passes on to the next person; this person moves down.
                    tie = f"（与 {above - higher - 1} 人同分，同分者同进同退，名额不得超出）" if higher < places else ""
                    others = "（已评更高等次者不占本等次名额）" if above_band else ""
                    reasons.append(f"{band.grade}名额 {fmt_share(band.quota)} × {len(totals)} 人，"
                                   f"{ROUNDING_LABELS[band.quota_rounding]}共 {places} 名，"
                                   f"可评{band.grade}且总分不低于本人者 {above} 名{others}，{OVER_QUOTA}{tie}")
                    idx += 1
                    continue
        break
    if idx >= len(bands):
        return None, "；".join(reasons)
    return bands[idx].grade, "；".join(reasons) + (f" → {bands[idx].grade}" if len(reasons) > 1 else "")


def shown_total(total: float, lines: Sequence[float]) -> str:
    """A total as a grade's reason shows it: 2 decimals, or as many more as it takes to tell it from a
    band's line it is not on — 89.9966 reads "89.997", never "90.00 ≥ 80 → 合格" beside someone's
    "90.00 ≥ 90 → 良好"."""
    for digits in range(2, 10):
        text = fmt_total(total, digits)
        if all(_line_text(m, digits) != text for m in lines if m != total):
            return text
    return repr(total)


_line_text = functools.lru_cache(maxsize=4096)(fmt_total)  # a band's line, asked for by every subject graded


def fmt_share(q: float) -> str:
    """A share as people write it: 0.15 → 15%, 0.125 → 12.5%."""
    return f"{q * 100:.4f}".rstrip("0").rstrip(".") + "%"
