"""The numbers of a simulation report, against computations written the slow, obvious way."""

from __future__ import annotations

import itertools
import math
import statistics

import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st

from rulesvc.engine.runcompare import (
    compare,
    competition_ranks,
    kendall_tau_b,
    mid_ranks,
    overview,
    shared_bins,
    spearman,
)

SCORES = st.lists(st.tuples(st.integers(60, 70), st.integers(60, 70)), min_size=2, max_size=40)  # many ties


def tau_b_by_pairs(a, b) -> float:
    concordant = discordant = ties_a = ties_b = 0
    for i, j in itertools.combinations(range(len(a)), 2):
        da, db = a[i] - a[j], b[i] - b[j]
        if da == 0 and db == 0:
            continue
        if da == 0:
            ties_a += 1
        elif db == 0:
            ties_b += 1
        elif (da > 0) == (db > 0):
            concordant += 1
        else:
            discordant += 1
    denominator = math.sqrt((concordant + discordant + ties_a) * (concordant + discordant + ties_b))
    return (concordant - discordant) / denominator if denominator else math.nan


def same(x: float, y: float) -> bool:
    return (math.isnan(x) and math.isnan(y)) or math.isclose(x, y, abs_tol=1e-12)


@settings(max_examples=300, deadline=None, derandomize=True, database=None)
@given(SCORES)
def test_kendall_tau_b_matches_counting_every_pair(pairs):
    a, b = [float(p[0]) for p in pairs], [float(p[1]) for p in pairs]
    assert same(kendall_tau_b(a, b), tau_b_by_pairs(a, b))


@settings(max_examples=300, deadline=None, derandomize=True, database=None)
@given(SCORES)
def test_spearman_is_pearson_of_mid_ranks(pairs):
    a, b = [float(p[0]) for p in pairs], [float(p[1]) for p in pairs]
    ra, rb = mid_ranks(a), mid_ranks(b)
    if len(set(ra)) < 2 or len(set(rb)) < 2:
        assert math.isnan(spearman(a, b))
    else:
        assert math.isclose(spearman(a, b), statistics.correlation(ra, rb), abs_tol=1e-12)


def test_ranks_and_quantiles():
    assert competition_ranks([90, 95, 90, 80]) == [2, 1, 2, 4]
    assert mid_ranks([90, 95, 90, 80]) == [2.5, 4.0, 2.5, 1.0]
    o = overview([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], ["良好"] * 8 + ["优秀"] * 2)
    assert o["median"] == 5.5 and o["quantiles"]["p10"] == 1.9 and o["quantiles"]["p90"] == 9.1
    assert math.isclose(o["sd"], statistics.pstdev(range(1, 11)))
    assert o["grades"]["优秀"] == {"count": 2, "share": 0.2}
    h = shared_bins([1, 2, 10], [5, 10], bins=3)
    assert h["edges"][0] == 1 and h["edges"][-1] == 10 and h["a"] == [2, 0, 1] and h["b"] == [0, 1, 1]


def test_compare_two_scorings():
    base = pl.DataFrame({"key": [1, 2, 3, 4], "total": [95.0, 88.0, 70.0, None],
                         "grade": ["优秀", "良好", "合格", None]})
    cand = pl.DataFrame({"key": [1, 2, 3, 4], "total": [89.0, 93.0, 55.0, 80.0],
                         "grade": ["良好", "优秀", "不合格", "良好"]})
    r = compare(cand, base)
    assert r["compared"] == 3 and r["overview"]["candidate"]["count"] == 4
    assert [m["key"] for m in r["risers"]] == [2] and [m["key"] for m in r["fallers"]] == [3, 1]
    two = next(m for m in r["movers"] if m["key"] == 2)
    assert two["delta_total"] == 5.0 and two["rank_baseline"] == 2 and two["rank_candidate"] == 1
    assert two["delta_rank"] == 1
    assert r["transitions"]["counts"]["优秀"]["良好"] == 1 and r["transitions"]["counts"]["良好"]["优秀"] == 1
    assert r["entering"]["优秀"] == [2] and r["leaving"]["优秀"] == [1] and r["entering"]["不合格"] == [3]
    assert same(r["agreement"]["kendall_tau_b"], tau_b_by_pairs([89, 93, 55], [95, 88, 70]))
