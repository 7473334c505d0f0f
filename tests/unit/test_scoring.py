"""Scoring methods: boundaries, clipping, direction, and the interval coverage every method must have."""

from __future__ import annotations

import math

import pytest

from rulesvc.engine.errors import DefinitionError
from rulesvc.engine.peers import PeerStats, derive_from_stats, quota_allows
from rulesvc.engine.scoring import REGISTRY, check_coverage


def compile_(method, params, hb=True, unit=""):
    pw = REGISTRY[method].compile(params, higher_better=hb, unit=unit, path="p")
    check_coverage(pw, "p")
    return pw


def score(pw, x):
    return pw.branch_for(x).points(x)


def test_linear_score_is_clipped_at_both_anchors():
    pw = compile_("linear", {"worst": 0.5, "best": 0.9, "points": 10})
    assert score(pw, 0.2) == 0 and score(pw, 1.0) == 10
    assert score(pw, 0.7) == pytest.approx(5)


def test_linear_lower_is_better_reaching_best_is_full_marks():
    pw = compile_("linear", {"worst": 2.3, "best": 1.0, "points": 10}, hb=False)
    assert pw.branch_for(1.0).id == "top" and score(pw, 1.0) == 10
    assert score(pw, 2.3) == pytest.approx(0) and score(pw, 3.0) == 0


def test_linear_best_against_the_direction_is_a_definition_error():
    with pytest.raises(DefinitionError) as exc:
        compile_("linear", {"worst": 1.0, "best": 2.3, "points": 10}, hb=False)
    assert exc.value.path == "p.best"


def test_tiers_include_their_threshold():
    pw = compile_("tiers", {"tiers": [{"min": 0.9, "points": 10}, {"min": 0.8, "points": 6}], "else": 1})
    assert [score(pw, x) for x in (0.95, 0.9, 0.8999, 0.8, 0.1)] == [10, 10, 6, 6, 1]


def test_lower_is_better_tiers_include_their_maximum():
    pw = compile_("tiers", {"tiers": [{"max": 1.2, "points": 10}, {"max": 1.5, "points": 5}]}, hb=False)
    assert [score(pw, x) for x in (1.0, 1.2, 1.2000001, 1.5, 1.6)] == [10, 10, 5, 5, 0]


def test_tiers_out_of_order_are_refused_at_the_tier():
    with pytest.raises(DefinitionError) as exc:
        compile_("tiers", {"tiers": [{"min": 0.8, "points": 6}, {"min": 0.9, "points": 10}]})
    assert exc.value.path == "p.tiers[1].min"


def test_tiers_with_the_wrong_bound_for_the_direction_say_which_to_use():
    with pytest.raises(DefinitionError) as exc:
        compile_("tiers", {"tiers": [{"max": 0.8, "points": 6}]})
    assert "min" in str(exc.value)


def test_per_unit_stops_at_the_cap():
    pw = compile_("per_unit", {"points": 2, "cap": 5})
    assert [score(pw, x) for x in (0, 1, 2, 2.5, 10)] == [0, 2, 4, 5, 5]


def test_pass_fail_in_both_directions():
    up = compile_("pass_fail", {"threshold": 0.95, "points": 3})
    down = compile_("pass_fail", {"threshold": 0.05, "points": 3, "fail_points": -1}, hb=False)
    assert (score(up, 0.95), score(up, 0.9499)) == (3, 0)
    assert (score(down, 0.05), score(down, 0.0501)) == (3, -1)


@pytest.mark.parametrize("method", sorted(REGISTRY))
def test_every_method_covers_every_value_exactly_once(method):
    params = {"linear": {"worst": 0, "best": 1, "points": 5}, "tiers": {"tiers": [{"min": 1, "points": 2}]},
              "per_unit": {"points": 1, "cap": 3}, "pass_fail": {"threshold": 1, "points": 1}}.get(method, {"points": 4})
    pw = compile_(method, params)
    for x in (-1e300, -1.0, 0.0, 0.5, 1.0, 2.0, 1e300, math.inf):
        assert sum(1 for b in pw.branches if b.holds(x)) == 1


def test_unknown_method_lists_the_known_ones():
    from rulesvc.engine.scoring import method

    with pytest.raises(DefinitionError) as exc:
        method("linar", "indicators.x.scoring.method")
    assert "linear" in str(exc.value)


def test_percentile_ranks_best_as_one_and_ties_share_the_mid_rank():
    """(worse + ½·equal others) / (n − 1): the share of the other peers one does better than."""
    stats = PeerStats.of([1.0, 2.0, 2.0, 4.0])
    assert derive_from_stats("percentile", 4.0, stats, True) == 1.0
    assert derive_from_stats("percentile", 2.0, stats, True) == 0.5  # (1 + ½·1) / 3, not 2/3 ("ties go up")
    assert derive_from_stats("percentile", 1.0, stats, True) == 0.0
    assert derive_from_stats("percentile", 1.0, stats, False) == 1.0
    assert derive_from_stats("percentile", 2.0, stats, False) == 0.5  # symmetric: the tie sits in the middle


def test_ratios_to_average_and_best_are_oriented_so_higher_is_better():
    stats = PeerStats.of([1.0, 2.0, 3.0])
    assert derive_from_stats("ratio_to_avg", 3.0, stats, True) == 1.5
    assert derive_from_stats("ratio_to_avg", 1.0, stats, False) == 2.0
    assert derive_from_stats("ratio_to_best", 1.5, stats, True) == 0.5
    assert derive_from_stats("ratio_to_best", 2.0, stats, False) == 0.5
    assert derive_from_stats("ratio_to_avg", 1.0, PeerStats.of([0.0, 0.0]), True) is None


def test_a_quota_is_never_exceeded_and_ties_at_the_boundary_drop_together():
    totals = sorted([99.0, 97.0, 95.0, 95.0, 90.0, 80.0, 70.0, 60.0, 50.0, 40.0])
    assert quota_allows(totals, 97.0, 0.2)[0] is True  # 2 places; 2 at or above 97
    assert quota_allows(totals, 95.0, 0.3)[0] is False  # 3 places; 4 at or above 95 (a tie)
