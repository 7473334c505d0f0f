"""Explanations for people: the rule that fired in words, and the nearest threshold not reached.

"84.4% 达到 ≥ 80% 档 → 8 分"; "再增加 2 件“认罪认罚人数”（同时计入“审查起诉人数”）即达到 ≥ 90% 档，+2 分".
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Container, Iterable, Mapping, Sequence
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from rulesvc.engine import result as R
from rulesvc.engine.peers import RATIO_OF_ZERO, snap_x
from rulesvc.engine.scoring import Branch, Piecewise, fmt, points_en

if TYPE_CHECKING:
    from rulesvc.engine.compile import CompiledIndicator, CompiledMetric, CompiledScheme

MAX_STEPS = 100_000
MISSING_WORDS = {"zero": "计零分", "worst": "计最低分", "best": "计满分", "exclude": "不计入"}  # glossary: 无数据时
DERIVE_LABEL = {"percentile": "组内百分位", "ratio_to_avg": "与平均值之比", "ratio_to_best": "与最优者之比"}
# Lower is better: the ratio tested is the reference over the value (so that better is still higher) — said so,
# never "与平均值之比 1.39" for a rate that is 0.72 of the average (an audit read it as 139 % of it, i.e. worse).
DERIVE_LABEL_LOWER = {"ratio_to_avg": "平均值与本值之比", "ratio_to_best": "最优值与本值之比"}


def fmt_apart(x: float, edges: Iterable[float], unit: str = "") -> str:
    """``x`` as :func:`fmt` shows it, with as many more digits as it takes to tell it from every edge it
    differs from: a rate one ulp under 10 % prints 9.9999999999999999%, never "10% 低于 10%"."""
    shown = fmt(x, unit)
    return _apart(x, shown, [e for e in edges if e != x and _shown(e, unit) == shown], unit)


def fmt_apart_edges(x: float, pw: Piecewise, unit: str = "") -> str:
    """``fmt_apart(x, edges_of(pw), unit)``, looking the edges up by how they are shown (once per rule)."""
    shown = fmt(x, unit)
    same = _edges_shown(pw, unit).get(shown)
    return _apart(x, shown, [e for e in same if e != x] if same else [], unit)


def _apart(x: float, shown: str, close: list[float], unit: str) -> str:
    if not close or not math.isfinite(x):
        return shown
    scale = Decimal(100) if unit == "%" else Decimal(1)
    exact = Decimal(x) * scale
    for digits in range(2, 40):
        text = f"{exact:.{digits}f}"
        if all(f"{Decimal(e) * scale:.{digits}f}" != text for e in close):
            text = text.rstrip("0").rstrip(".")
            return text + "%" if unit == "%" else "1:" + text if unit == "ratio" else text
    return repr(x)


def _edges_shown(pw: Piecewise, unit: str) -> dict[str, list[float]]:
    """The rule's stated edges by how :func:`fmt` shows them in ``unit``, in edge order (kept on the
    compiled rule, which is immutable: hashing it for a cache would cost more than the lookup saves)."""
    table = pw.shown_edges.get(unit)
    if table is None:
        table = {}
        for e in edges_of(pw):
            table.setdefault(_shown(e, unit), []).append(e)
        pw.shown_edges[unit] = table
    return table


@functools.lru_cache(maxsize=8192)
def _shown(e: float, unit: str) -> str:
    return fmt(e, unit) if math.isfinite(e) else ""


def edges_of(pw: Any) -> tuple[float, ...]:
    """The thresholds a scoring rule's words state (``Piecewise.stated_edges``, computed once per rule)."""
    edges: tuple[float, ...] = pw.stated_edges
    return edges


def show_x(ci: CompiledIndicator, x: float | None) -> str:
    pw = ci.piecewise
    if x is None:
        return "无数据"
    if pw is None:
        return fmt(x, ci.indicator.unit)
    if pw.derive == "value":
        return fmt_apart_edges(x, pw, ci.indicator.unit)
    if pw.derive == "percentile":
        return f"{DERIVE_LABEL['percentile']} {fmt_apart_edges(x, pw, '%')}"
    if x >= RATIO_OF_ZERO:
        return "本人为 0（越低越好：优于同组任何比值）"
    label = DERIVE_LABEL[pw.derive] if pw.higher_better else DERIVE_LABEL_LOWER.get(pw.derive, DERIVE_LABEL[pw.derive])
    return f"{label} {fmt_apart_edges(x, pw)}"


def describe_branch(ci: CompiledIndicator, branch: str, x: float | None, points: float | None) -> str:
    pw = ci.piecewise
    if pw is None:
        return ""
    if branch == "missing":
        policy = ci.indicator.scoring.missing if ci.indicator.scoring else "zero"
        why = "无数据" if pw.derive == "value" else "无数据或同组无从比较（原因见说明）"
        if policy == "exclude":
            return f"{why} → {MISSING_WORDS[policy]}"
        return f"{why} → {MISSING_WORDS[policy]}：{fmt(pw.missing_points)} 分"
    br = pw.by_id[branch]
    if br.id == "linear" and pw.higher_better and x is not None and x == br.lo:
        # On the zero-points line itself: "0 不优于 0 → 0 分", not "0 在 0 与 1.5 之间，按比例计 0 分" (an audit).
        unit = "%" if pw.derive == "percentile" else ci.indicator.unit if pw.derive == "value" else ""
        return f"{show_x(ci, x)} 不优于 {fmt(br.lo, unit)} → {fmt(round(points or 0.0, 4))} 分"
    return br.text.format(x=show_x(ci, x), points=fmt(round(points or 0.0, 4)))


def _better(pw: Piecewise, current: Branch, x: float) -> tuple[Branch, float] | None:
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


def _value_at(ci: CompiledIndicator, metrics: Mapping[str, Any], values: Mapping[str, Any], moved: tuple[str, ...],
              share: float) -> Callable[[int], float | None]:
    """The indicator's value with ``k`` events added to every metric in ``moved`` (pro-rated as scored)."""
    base = {n: (values[n] if n in values else metrics.get(n)) for n in ci.names}
    start = [(m, base.get(m) or 0.0) for m in moved]
    prorate = ci.indicator.prorate and share != 1.0
    pw = ci.piecewise
    assert pw is not None  # only scored indicators have a nearest tier

    def value_at(k: int) -> float | None:
        env = base.copy()
        for m, v0 in start:
            env[m] = v0 + k
        v = ci.py(env)
        if v is None or not math.isfinite(v):
            return None
        return snap_x(pw, (v / share if share > 0 else None) if prorate else v)  # as the rule would test it

    return value_at


def _reach(value_at: Callable[[int], float | None], ok: Callable[[float], bool]) -> int | None:
    """Smallest k (events added) that makes ``ok(value_at(k))`` true."""
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


def _subset(a: CompiledMetric, b: CompiledMetric, events: Sequence[Mapping[str, Any]],
            cache: dict[Any, Any] | None = None, implied: frozenset[tuple[str, str]] = frozenset()) -> bool:
    """Does every event counted by metric ``a`` also count in ``b``? Judged on the subject's own events
    (``a``'s filter implies ``b``'s there); without any, by the filters alone (``implied``:
    ``CompiledScheme.implied_pairs`` — an audit found "1 more adopted, not counted in replied" on the cards of
    people without any adopted recommendation, which an adopted one always is).
    ``cache`` (one per evaluation) keeps each answer, since several indicators ask the same pairs."""
    key = (a.metric.code, b.metric.code)
    if cache is not None and key in cache:
        known: bool = cache[key]
        return known
    if not a.types <= b.types:
        answer = False
    elif b.where is None:
        answer = True
    else:
        hits = cache.get(("hits", a.metric.code)) if cache is not None else None
        if hits is None:  # the events metric a counted (evaluate puts them in the cache)
            hits = [e for e in events if e["event_type"] in a.types and (a.where is None or a.where.py(e))]
        answer = all(b.where.py(e) for e in hits) if hits else (a.metric.code, b.metric.code) in implied
    if cache is not None:
        cache[key] = answer
    return answer


_NOUNS_EN = {"人": ("person", "people"), "件": ("case file", "case files"), "案": ("case", "cases"),
             "次": ("time", "times"), "天": ("day", "days")}


def _noun_en(unit: str, k: int) -> str:
    """" person" / " people" for 人 (one or more); nothing for a unit without an English word (个)."""
    one, many = _NOUNS_EN.get(unit, ("", ""))
    word = one if k == 1 else many
    return f" {word}" if word else ""


def _points_en(x: float) -> str:
    v = fmt(round(x, 4))
    return f"+{v} {points_en(v)}"


def nearest_for(compiled: CompiledScheme, ci: CompiledIndicator, metrics: Mapping[str, Any],
                values: Mapping[str, Any], x: float | None,
                events: Sequence[Mapping[str, Any]] = (), cache: dict[Any, Any] | None = None, *,
                per_point: float = 1.0, share: float = 1.0,
                applicable: Container[str] | None = None) -> R.Nearest | None:
    """For value-scored indicators: the next better branch and the fewest extra events that reach it,
    with the value actually reached in whole events, the points gained on the indicator and what they
    add to the total (``per_point``: what one point of this indicator adds to the total)."""
    pw = ci.piecewise
    if pw is None or pw.derive != "value" or x is None:
        return None
    current = pw.branch_for(x)
    here = current.points(x)
    if current.b and math.floor(here + 1e-9) + 1 < pw.max_points:
        # On a sloped segment every step counts: aim at the next whole point, not at full marks.
        want = math.floor(here + 1e-9) + 1
        target, threshold = current, (want - current.a) / current.b
    else:
        found = _better(pw, current, x)
        if found is None:
            return None
        target, threshold = found

    def ok(v: float) -> bool:
        return v >= threshold if pw.higher_better else v <= threshold

    counts = compiled.count_metrics_of[ci.indicator.code]
    options: list[tuple[int, str, tuple[str, ...], Callable[[int], float | None]]] = []
    for code, cm in counts.items():
        # One more event of this metric also counts in every metric it is a subset of (a plea case is
        # also a reviewed case; a definite recommendation is also a recommendation): move them together.
        along = tuple(c for c, o in counts.items()
                      if c != code and _subset(cm, o, events, cache, compiled.implied_pairs))
        value_at = _value_at(ci, metrics, values, (code, *along), share)
        k = _reach(value_at, ok)
        if k is not None:
            options.append((k, code, along, value_at))
    if not options:
        return None
    k, code, along, value_at = min(options, key=lambda o: o[:3])
    reached = value_at(k)
    assert reached is not None  # _reach only returns a k whose value is ok
    gain = pw.branch_for(reached).points(reached) - here  # the points of the value reached, not of the threshold
    name = compiled.metric_labels
    unit = compiled.metric_units[code] or "个"
    also = f"（同时计入{'、'.join('“' + name[a] + '”' for a in along)}）" if along else ""
    also_en = f" (also counted in {', '.join('“' + name[a] + '”' for a in along)})" if along else ""
    # Say what the extra cases must NOT count in, so the hint reads as "more cases without returns",
    # never as "inflate the denominator".
    others = [c for c in counts if c != code and c not in along]
    if others:
        also += f"（且不计入{'、'.join('“' + name[o] + '”' for o in others)}）"
        also_en += f" (not counted in {', '.join('“' + name[o] + '”' for o in others)})"
    value = fmt_apart(reached, [threshold, *edges_of(pw)], ci.indicator.unit)
    total_gain = gain * per_point
    effect = f"总分 +{fmt(round(total_gain, 4))}" if per_point else "本维度已一票否决，本项不改变总分"
    # The same events may move other indicators too (a settled complaint's hearing is also a hearing, and
    # workload): name them, so that the hint's total is read as this indicator's part, not the whole change.
    moved = compiled.also_counted_in
    also_ind = [c for m in (code, *along) for c in moved.get(m, ())  # those that count for this person
                if c != ci.indicator.code and (applicable is None or c in applicable)]
    said = {name[a] for a in (code, *along)}  # an indicator named as a count already named reads twice
    names = [n for n in dict.fromkeys(compiled.indicator_names[c] for c in also_ind) if n not in said]
    these, those = ("该指标", "it moves") if len(names) == 1 else ("这些指标", "those move")
    elsewhere = (f"；这 {k} {unit}也计入“{'”“'.join(names)}”，{these}随之变化，总分的变化以重新计算为准"
                 if names else "")
    elsewhere_en = (f"; the same {k} also count in “{'”, “'.join(names)}”: {those} too, so the total's change "
                    "may differ" if names else "")
    return R.Nearest(
        branch=target.id, threshold=threshold, gain=gain,
        needs=f"再增加 {k} {unit}“{name[code]}”{also}，即达到 {value}，本项 +{fmt(round(gain, 4))} 分，{effect}{elsewhere}",
        needs_en=f"{k} more{_noun_en(unit, k)} in “{name[code]}”{also_en} → {value}: {_points_en(gain)} on this "
                 f"indicator, " + (f"{_points_en(total_gain)} on the total" if per_point
                                   else "which does not change the total (this dimension is vetoed)") + elsewhere_en,
        total_gain=total_gain, events=k, metric=code, unit=unit, reached=reached,
    )
