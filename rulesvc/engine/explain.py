"""Explanations for people: the rule that fired in words, and the nearest threshold not reached.

"84.4% 达到 ≥ 80% 档 → 8 分"; "再增加 2 件“认罪认罚人数”（同时计入“审查起诉人数”）即达到 ≥ 90% 档，+2 分".
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from rulesvc.engine import result as R
from rulesvc.engine.scoring import Branch, fmt

if TYPE_CHECKING:
    from rulesvc.engine.compile import CompiledIndicator, CompiledScheme

MAX_STEPS = 100_000
DERIVE_LABEL = {"percentile": "组内百分位", "ratio_to_avg": "与平均值之比", "ratio_to_best": "与最优者之比"}


def show_x(ci: CompiledIndicator, x: float | None) -> str:
    pw = ci.piecewise
    if x is None:
        return "无数据"
    if pw is None or pw.derive == "value":
        return fmt(x, ci.indicator.unit)
    if pw.derive == "percentile":
        return f"{DERIVE_LABEL['percentile']} {x:.1%}"
    return f"{DERIVE_LABEL[pw.derive]} {x:.3f}"


def describe_branch(ci: CompiledIndicator, branch: str, x: float | None, points: float | None) -> str:
    pw = ci.piecewise
    if pw is None:
        return ""
    if branch == "missing":
        return f"无数据 → 按 {ci.indicator.scoring.missing if ci.indicator.scoring else 'zero'} 规则计 {fmt(pw.missing_points)} 分"
    br = next(b for b in pw.branches if b.id == branch)
    return br.text.format(x=show_x(ci, x), points=fmt(round(points or 0.0, 4)))


def _better(pw, current: Branch, x: float) -> tuple[Branch, float] | None:
    """The adjacent branch in the better direction with more points, and the x it starts at."""
    order = list(pw.branches)
    i = order.index(current)
    here = current.points(x)
    if pw.higher_better:
        for br in order[i + 1:]:
            if br.points(br.lo) > here + 1e-12:
                return br, br.lo
    else:
        for br in reversed(order[:i]):
            edge = math.nextafter(br.hi, -math.inf)
            if br.points(edge) > here + 1e-12:
                return br, edge
    return None


def _reach(ci: CompiledIndicator, metrics: Mapping[str, Any], values: Mapping[str, Any], moved: tuple[str, ...],
           ok: Callable[[float], bool]) -> int | None:
    """Smallest k (events added to every metric in ``moved``) that makes ``ok(value)`` true."""
    base = {n: (values[n] if n in values else metrics.get(n)) for n in ci.names}
    start = [(m, base.get(m) or 0.0) for m in moved]

    def value_at(k: int) -> float | None:
        env = base.copy()
        for m, v0 in start:
            env[m] = v0 + k
        v = ci.py(env)
        return None if v is None or not math.isfinite(v) else v

    # The value moves one way as events are added (ratios and sums do), so if the largest step probed
    # is not enough, none is: one evaluation instead of a fruitless doubling search.
    last = 1 << (MAX_STEPS.bit_length() - 1)
    v = value_at(last)
    if v is None or not ok(v):
        return None
    hi = 1
    while hi <= MAX_STEPS:
        v = value_at(hi)
        if v is not None and ok(v):
            break
        hi *= 2
    else:
        return None
    lo = hi // 2
    while lo + 1 < hi:  # invariant: ok at hi, not at lo (or lo == 0)
        mid = (lo + hi) // 2
        v = value_at(mid)
        if v is not None and ok(v):
            hi = mid
        else:
            lo = mid
    return hi


def _subset(a, b, events: Sequence[Mapping[str, Any]], cache: dict | None = None) -> bool:
    """Does every event counted by metric ``a`` also count in ``b``? Judged on the subject's own events
    (``a``'s filter implies ``b``'s there); without any, only an unfiltered ``b`` over the same types.
    ``cache`` (one per evaluation) keeps each answer, since several indicators ask the same pairs."""
    key = (a.metric.code, b.metric.code)
    if cache is not None and key in cache:
        return cache[key]
    if not a.types <= b.types:
        answer = False
    elif b.where is None:
        answer = True
    else:
        hits = cache.get(("hits", a.metric.code)) if cache is not None else None
        if hits is None:  # the events metric a counted (evaluate puts them in the cache)
            hits = [e for e in events if e["event_type"] in a.types and (a.where is None or a.where.py(e))]
        answer = bool(hits) and all(b.where.py(e) for e in hits)
    if cache is not None:
        cache[key] = answer
    return answer


def nearest_for(compiled: CompiledScheme, ci: CompiledIndicator, metrics: Mapping[str, Any],
                values: Mapping[str, Any], x: float | None,
                events: Sequence[Mapping[str, Any]] = (), cache: dict | None = None) -> R.Nearest | None:
    """For value-scored indicators: the next better branch and the fewest extra events that reach it."""
    pw = ci.piecewise
    if pw is None or pw.derive != "value" or x is None:
        return None
    current = pw.branch_for(x)
    here = current.points(x)
    if current.b and math.floor(here + 1e-9) + 1 < pw.max_points:
        # On a sloped segment every step counts: aim at the next whole point, not at full marks.
        want = math.floor(here + 1e-9) + 1
        target, threshold = current, (want - current.a) / current.b
        gain = want - here
    else:
        found = _better(pw, current, x)
        if found is None:
            return None
        target, threshold = found
        gain = target.points(threshold) - here

    def ok(v: float) -> bool:
        return v >= threshold if pw.higher_better else v <= threshold

    counts = compiled.count_metrics_of[ci.indicator.code]
    options: list[tuple[int, str, tuple[str, ...]]] = []
    for code, cm in counts.items():
        # One more event of this metric also counts in every metric it is a subset of (a plea case is
        # also a reviewed case; a definite recommendation is also a recommendation): move them together.
        along = tuple(c for c, o in counts.items() if c != code and _subset(cm, o, events, cache))
        k = _reach(ci, metrics, values, (code, *along), ok)
        if k is not None:
            options.append((k, code, along))
    if not options:
        return None
    k, code, along = min(options)
    name = compiled.metric_labels
    also = f"（同时计入{'、'.join('“' + name[a] + '”' for a in along)}）" if along else ""
    also_en = f" (also counted in {', '.join(along)})" if along else ""
    # Say what the extra cases must NOT count in, so the hint reads as "more cases without returns",
    # never as "inflate the denominator".
    others = [c for c in counts if c != code and c not in along]
    if others:
        also += f"（且不计入{'、'.join('“' + name[o] + '”' for o in others)}）"
        also_en += f" (not counted in {', '.join(others)})"
    th = fmt(threshold, ci.indicator.unit)
    return R.Nearest(
        branch=target.id, threshold=threshold, gain=gain,
        needs=f"再增加 {k} 件“{name[code]}”{also}，即可达到 {th}，+{fmt(round(gain, 4))} 分",
        needs_en=f"{k} more {code}{also_en} reach {th}, +{fmt(round(gain, 4))} points",
    )
