"""Comparing two scorings of the same subjects (模拟测评: a candidate version against a baseline) — the
numbers of a simulation report, as plain data. Pure: two polars frames in, dictionaries out.

Each side is a frame with one row per subject taking part: ``key`` (the subject), ``total`` (null when
not graded) and ``grade`` (null when not graded). Only subjects graded on *both* sides are compared
one against the other (movers, rank correlations, the transition matrix); the overview of each side
counts its own graded subjects.

- **Overview**: count, mean, median, standard deviation (population), min, max, p10…p90 (linear
  interpolation between closest ranks) of the totals; a histogram on bins shared by both sides; grade
  counts and shares.
- **Movers**: per subject, total, rank and grade on both sides, Δ total and Δ rank (positive: moved up);
  the top risers and fallers. Ranks are competition ranks ("1224": ties share the better place).
- **Agreement**: Spearman's ρ (Pearson's r of mid-ranks) and Kendall's τ-b between the two totals, both
  with ties handled as their textbooks define; τ-b in O(n log n) (Knight's algorithm).
- **Grade transitions**: counts from grade × to grade, and who enters or leaves each grade.

Not in scope here: how the two sides were scored (the services do that with the bulk executor on the
same facts and the same subjects).
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Sequence
from typing import Any

import polars as pl

QUANTILES = (0.1, 0.25, 0.5, 0.75, 0.9)
NO_GRADE = "未定等次"  # a total without a grade (a scheme with no bands)


def _quantile(sorted_values: Sequence[float], q: float) -> float:
    """Linear interpolation between closest ranks (numpy's default, Excel's PERCENTILE.INC)."""
    if not sorted_values:
        return math.nan
    pos = q * (len(sorted_values) - 1)
    lo = math.floor(pos)
    hi = min(lo + 1, len(sorted_values) - 1)
    return sorted_values[lo] + (sorted_values[hi] - sorted_values[lo]) * (pos - lo)


def overview(totals: Sequence[float], grades: Sequence[str]) -> dict[str, Any]:
    """Summary statistics of one side's graded totals, and its grade counts and shares."""
    values = sorted(totals)
    n = len(values)
    mean = sum(values) / n if n else math.nan
    sd = math.sqrt(sum((v - mean) ** 2 for v in values) / n) if n else math.nan
    counts = Counter(grades)
    return {
        "count": n, "mean": mean, "median": _quantile(values, 0.5), "sd": sd,
        "min": values[0] if n else math.nan, "max": values[-1] if n else math.nan,
        "quantiles": {f"p{round(q * 100)}": _quantile(values, q) for q in QUANTILES},
        "grades": {g: {"count": c, "share": c / n if n else 0.0} for g, c in sorted(counts.items())},
    }


def shared_bins(a: Sequence[float], b: Sequence[float], *, bins: int = 20) -> dict[str, Any]:
    """A histogram of both sides on the same edges (equal width over the range of both)."""
    both = [*a, *b]
    if not both:
        return {"edges": [], "a": [], "b": []}
    lo, hi = min(both), max(both)
    if hi == lo:
        hi = lo + 1.0
    width = (hi - lo) / bins
    edges = [lo + i * width for i in range(bins)] + [hi]

    def counts(values: Sequence[float]) -> list[int]:
        out = [0] * bins
        for v in values:
            out[min(int((v - lo) / width), bins - 1)] += 1  # the last bin is closed on the right
        return out

    return {"edges": edges, "a": counts(a), "b": counts(b)}


def competition_ranks(values: Sequence[float]) -> list[int]:
    """1 for the highest; ties share the better place ("1224")."""
    order = sorted(range(len(values)), key=lambda i: -values[i])
    ranks = [0] * len(values)
    for pos, i in enumerate(order):
        if pos and values[i] == values[order[pos - 1]]:
            ranks[i] = ranks[order[pos - 1]]
        else:
            ranks[i] = pos + 1
    return ranks


def mid_ranks(values: Sequence[float]) -> list[float]:
    """Ascending ranks, ties given the mean of the places they share (for Spearman's ρ)."""
    order = sorted(range(len(values)), key=lambda i: values[i])
    ranks = [0.0] * len(values)
    pos = 0
    while pos < len(order):
        end = pos
        while end + 1 < len(order) and values[order[end + 1]] == values[order[pos]]:
            end += 1
        for k in range(pos, end + 1):
            ranks[order[k]] = (pos + end) / 2 + 1
        pos = end + 1
    return ranks


def spearman(a: Sequence[float], b: Sequence[float]) -> float:
    """Spearman's ρ: Pearson's r of the mid-ranks (NaN when either side is constant or n < 2)."""
    return _pearson(mid_ranks(a), mid_ranks(b))


def _pearson(x: Sequence[float], y: Sequence[float]) -> float:
    n = len(x)
    if n < 2:
        return math.nan
    mx, my = sum(x) / n, sum(y) / n
    sxy = sum((p - mx) * (q - my) for p, q in zip(x, y, strict=True))
    sxx = sum((p - mx) ** 2 for p in x)
    syy = sum((q - my) ** 2 for q in y)
    return sxy / math.sqrt(sxx * syy) if sxx and syy else math.nan


def _tied_pairs(values: Iterable[Any]) -> int:
    return sum(c * (c - 1) // 2 for c in Counter(values).values())


def kendall_tau_b(a: Sequence[float], b: Sequence[float]) -> float:
    """Kendall's τ-b, O(n log n): sort by (a, b), count the swaps a merge sort of b needs (discordant
    pairs), correct for ties in a, in b, and in both."""
    n = len(a)
    if n < 2:
        return math.nan
    pairs = sorted(zip(a, b, strict=True))
    n0 = n * (n - 1) // 2
    n1 = _tied_pairs(p[0] for p in pairs)
    n2 = _tied_pairs(p[1] for p in pairs)
    n3 = _tied_pairs(pairs)
    ys = [p[1] for p in pairs]
    swaps = _merge_count(ys)
    if n0 == n1 or n0 == n2:
        return math.nan
    concordant_minus_discordant = n0 - n1 - n2 + n3 - 2 * swaps
    return concordant_minus_discordant / math.sqrt((n0 - n1) * (n0 - n2))


def _merge_count(values: list[float]) -> int:
    """Sort ``values`` in place (merge sort) and return how many strictly inverted pairs it held."""
    swaps = 0
    width = 1
    n = len(values)
    buf = values[:]
    while width < n:
        for lo in range(0, n, 2 * width):
            mid, hi = min(lo + width, n), min(lo + 2 * width, n)
            i, j, k = lo, mid, lo
            while i < mid and j < hi:
                if values[j] < values[i]:
                    buf[k] = values[j]
                    swaps += mid - i
                    j += 1
                else:
                    buf[k] = values[i]
                    i += 1
                k += 1
            buf[k:hi] = values[i:mid] + values[j:hi]
        values, buf = buf, values
        width *= 2
    return swaps


def compare(candidate: pl.DataFrame, baseline: pl.DataFrame, *, top: int = 10, bins: int = 20) -> dict[str, Any]:
    """The comparison of two scorings (see the module's docstring). Frames: ``key``, ``total``, ``grade``."""
    sides = {}
    for name, frame in (("candidate", candidate), ("baseline", baseline)):
        sides[name] = frame.filter(pl.col("total").is_not_null()).with_columns(
            pl.col("grade").cast(pl.Utf8).fill_null(NO_GRADE))
    cand, base = sides["candidate"], sides["baseline"]
    both = cand.select("key", pl.col("total").alias("total_c"), pl.col("grade").alias("grade_c")).join(
        base.select("key", pl.col("total").alias("total_b"), pl.col("grade").alias("grade_b")), on="key", how="inner",
    ).sort("key")
    tc, tb = both["total_c"].to_list(), both["total_b"].to_list()
    rc, rb = competition_ranks(tc), competition_ranks(tb)
    movers = [{"key": k, "total_baseline": b, "total_candidate": c, "delta_total": c - b,
               "rank_baseline": rkb, "rank_candidate": rkc, "delta_rank": rkb - rkc,
               "grade_baseline": gb, "grade_candidate": gc}
              for k, c, b, rkc, rkb, gc, gb in zip(both["key"], tc, tb, rc, rb, both["grade_c"], both["grade_b"],
                                                   strict=True)]
    by_delta = sorted(movers, key=lambda m: (-m["delta_total"], str(m["key"])))
    transitions: Counter[tuple[str, str]] = Counter((m["grade_baseline"], m["grade_candidate"]) for m in movers)
    grades = sorted({g for pair in transitions for g in pair})
    return {
        "compared": len(movers),
        "overview": {name: overview(f["total"].to_list(), f["grade"].to_list()) for name, f in sides.items()},
        "histogram": shared_bins(base["total"].to_list(), cand["total"].to_list(), bins=bins),
        "agreement": {"spearman_rho": spearman(tc, tb), "kendall_tau_b": kendall_tau_b(tc, tb)},
        "movers": movers,
        "risers": [m for m in by_delta if m["delta_total"] > 0][:top],
        "fallers": [m for m in reversed(by_delta) if m["delta_total"] < 0][:top],
        "transitions": {"grades": grades,
                        "counts": {f: {t: transitions.get((f, t), 0) for t in grades} for f in grades}},
        "entering": {g: [m["key"] for m in movers if m["grade_candidate"] == g != m["grade_baseline"]]
                     for g in grades},
        "leaving": {g: [m["key"] for m in movers if m["grade_baseline"] == g != m["grade_candidate"]]
                    for g in grades},
    }


__all__ = ["compare", "competition_ranks", "kendall_tau_b", "mid_ranks", "overview", "shared_bins", "spearman"]
