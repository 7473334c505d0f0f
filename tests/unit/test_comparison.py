"""Procuratorate-level comparison: upstream/midstream/downstream, laggard flags, streaks."""

from __future__ import annotations

import polars as pl

from rulesvc.config import PROJECT_ROOT
from rulesvc.engine.comparison import laggard_rules, laggards, positions, streaks
from rulesvc.engine.compile import compile_scheme
from rulesvc.engine.dictionary import load_dictionary
from rulesvc.schema.scheme import load_scheme, read_document

DICT = load_dictionary(PROJECT_ROOT / "rules")
COMPILED = compile_scheme(load_scheme(read_document(
    (PROJECT_ROOT / "tests/data/schemes/mini_org.yaml").read_text(encoding="utf-8"))), DICT)


def frame(**cols):
    n = len(cols["total"])
    base = {"procuratorate_id": list(range(1, n + 1)), "level": ["county"] * n, "case_ratio": [1.5] * n,
            "plea_rate": [0.8] * n}
    return pl.DataFrame({**base, **cols})


def test_position_is_relative_to_the_group_average_within_the_band():
    # 案-件比 is lower-is-better: 1.2 is upstream, 1.5 midstream (average 1.5 ± 5 %), 1.8 downstream.
    f = positions(COMPILED, frame(total=[1.0, 2.0, 3.0], case_ratio=[1.2, 1.5, 1.8]))
    assert f["pos__case_ratio"].to_list() == ["上游", "中游", "下游"]
    assert f["avg__case_ratio"].to_list() == [1.5, 1.5, 1.5]


def test_groups_are_compared_separately():
    f = positions(COMPILED, frame(total=[1.0] * 4, level=["city", "city", "county", "county"],
                                  plea_rate=[0.9, 0.7, 0.5, 0.5]))
    assert f["pos__plea_rate"].to_list() == ["上游", "下游", "中游", "中游"]


def test_bottom_three_city_units_and_bottom_30_percent_of_county_units_are_flagged():
    levels = ["city"] * 5 + ["county"] * 10
    totals = [5.0, 4.0, 3.0, 2.0, 1.0] + [float(i) for i in range(10, 0, -1)]
    f = laggards(COMPILED, frame(total=totals, level=levels))
    assert f.filter(pl.col("bottom_k"))["total"].sort().to_list() == [1.0, 2.0, 3.0]
    assert f.filter(pl.col("bottom_k"))["level"].unique().to_list() == ["city"]
    assert f.filter(pl.col("bottom_share"))["total"].sort().to_list() == [1.0, 2.0, 3.0]
    assert f.filter(pl.col("bottom_share"))["level"].unique().to_list() == ["county"]


def test_a_group_no_larger_than_k_is_not_flagged_whole():
    f = laggards(COMPILED, frame(total=[1.0, 2.0], level=["city", "city"]))
    assert not f["bottom_k"].any()


def test_ties_at_the_boundary_are_all_flagged():
    f = laggards(COMPILED, frame(total=[1.0, 2.0, 3.0, 3.0, 9.0], level=["city"] * 5))
    assert f["bottom_k"].to_list() == [True, True, True, True, False]


def test_six_months_running_worse_than_average_is_named():
    months = []
    for m in range(1, 9):
        # unit 1 is worse (higher 案-件比) in months 2..7 (six running), unit 2 in alternate months
        r1 = 2.0 if 2 <= m <= 7 else 1.0
        r2 = 2.0 if m % 2 else 1.0
        months.append((f"2020-{m:02d}", frame(total=[0.0] * 3, case_ratio=[r1, r2, 1.0])))
    runs = streaks(COMPILED, months, "procuratorate_id").sort("procuratorate_id")
    assert runs["longest__case_ratio"].to_list() == [6, 1, 0]
    assert runs["named__case_ratio"].to_list() == [True, False, False]
    assert runs["streak__case_ratio"].to_list() == [0, 0, 0]  # none is in a run at the end (month 8)


def with_peers(**peers) -> object:
    doc = read_document((PROJECT_ROOT / "tests/data/schemes/mini_org.yaml").read_text(encoding="utf-8"))
    doc["peers"] = {**doc["peers"], **peers}
    return compile_scheme(load_scheme(doc), DICT)


def test_a_group_of_k_or_fewer_is_flagged_as_the_scheme_says_and_the_output_states_it():
    f = frame(total=[3.0, 1.0, 2.0], level=["city"] * 3)
    for when, flagged in (("none", []), ("all", [1.0, 2.0, 3.0]), ("lowest", [1.0])):
        c = with_peers(bottom_k_when_small=when)
        got = laggards(c, f)
        assert got.filter(pl.col("bottom_k"))["total"].sort().to_list() == flagged
        [rule] = [r for r in laggard_rules(c, f) if r.rule == "bottom_k"]
        assert rule.size == 3 and rule.places == len(flagged) and f"bottom_k_when_small: {when}" in rule.note


def test_the_bottom_share_is_rounded_down_by_default():
    f = frame(total=[5.0, 4.0, 3.0, 2.0, 1.0, 9.0, 8.0, 7.0], level=["county"] * 5 + ["city"] * 3)
    got = laggards(COMPILED, f)
    assert got.filter(pl.col("bottom_share"))["total"].to_list() == [1.0]  # 30 % of 5 = 1.5 → 1 county
    [rule] = [r for r in laggard_rules(COMPILED, f) if r.rule == "bottom_share"]
    assert (rule.group, rule.size, rule.places) == ("county", 5, 1) and "5 × 30% 向下取整为 1 个" in rule.note
    c = with_peers(bottom_share_rounding="round")
    assert laggards(c, f).filter(pl.col("bottom_share")).height == 2


def test_units_not_evaluated_are_neither_flagged_nor_counted():
    f = frame(total=[0.0, 5.0, 4.0, 3.0, 2.0, 1.0], level=["city"] * 6).with_columns(
        pl.Series("status", ["not_graded"] + ["evaluated"] * 5))
    got = laggards(COMPILED, f)
    assert got.filter(pl.col("bottom_k"))["total"].sort().to_list() == [1.0, 2.0, 3.0]
    [rule] = [r for r in laggard_rules(COMPILED, f) if r.rule == "bottom_k"]
    assert rule.size == 5


def test_units_not_evaluated_or_in_a_group_too_small_are_not_placed():
    f = frame(total=[1.0] * 4, level=["city", "county", "county", "county"], plea_rate=[0.9, 0.9, 0.7, 0.5]
              ).with_columns(pl.Series("status", ["evaluated", "evaluated", "evaluated", "not_graded"]))
    got = positions(COMPILED, f)["pos__plea_rate"].to_list()
    assert got == [None, "上游", "下游", None]  # one city: nothing to compare with; 0.5 is not graded
    assert positions(COMPILED, f)["avg__plea_rate"].to_list()[1:3] == [0.8, 0.8]  # 0.5 not in the average


def test_without_grades_a_unit_is_placed_among_its_level():
    """A scheme without grades places each subject in the group it compares in (its ``peer_group``): a monthly
    bulletin scoring units against their level's average ranks them within the level (an audit: 11th of all 96 on
    the card, 1st of the 9 city-level units in the same month's comparison). With grades, the quota group."""
    import datetime as dt

    from rulesvc.engine.bulk import evaluate_bulk

    doc = read_document((PROJECT_ROOT / "tests/data/schemes/mini_org.yaml").read_text(encoding="utf-8"))
    doc.pop("grading")
    ungraded = compile_scheme(load_scheme(doc), DICT)
    assert ungraded.scheme.rank_group == "level" and COMPILED.scheme.rank_group == "level"  # (mini_org: quota by level)
    doc["peer_group"] = "all"
    assert compile_scheme(load_scheme(doc), DICT).scheme.rank_group == "all"
    subjects = pl.DataFrame({"procuratorate_id": [1, 2, 3, 4, 5, 6], "level": ["city"] * 3 + ["county"] * 3})
    day, events = dt.date(2020, 7, 3), []
    for pid, plea in [(1, 2), (2, 4), (3, 6), (4, 8), (5, 10), (6, 10)]:
        for i in range(10):
            common = {"procuratorate_id": pid, "prosecutor_id": None, "case_id": f"{pid}-{i}", "occurred_on": day,
                      "resolved": False, "rating": "good"}
            events.append({**common, "event_id": f"{pid}-a{i}", "event_type": "case_accepted", "plea_leniency": None})
            events.append({**common, "event_id": f"{pid}-r{i}", "event_type": "prosecution_review",
                           "plea_leniency": i < plea})
    f = evaluate_bulk(ungraded, pl.DataFrame(events), subjects, key="procuratorate_id",
                      period=(dt.date(2020, 7, 1), dt.date(2020, 7, 31))).frame.sort("procuratorate_id")
    # The two best county units (13.57 each) are 1st of their level; among all six they would be 2nd ([5, 4, 1, 5, 2, 2]).
    assert f["total"].to_list()[4] == f["total"].to_list()[5] < f["total"].to_list()[2]
    assert f["rank"].to_list() == [3, 2, 1, 3, 1, 1]


def test_a_publication_keeps_the_places_it_was_published_with():
    """Figures published before engine 2026.12.12 placed the subjects of a scheme without grades among all: read
    again, they still do (a publication's places never move); newer ones, and provisional figures, by level."""
    from rulesvc.services.results import rank_group_of

    doc = read_document((PROJECT_ROOT / "tests/data/schemes/mini_org.yaml").read_text(encoding="utf-8"))
    doc.pop("grading")
    ungraded = compile_scheme(load_scheme(doc), DICT).scheme
    assert rank_group_of(ungraded) == "level"
    assert rank_group_of(ungraded, "2026.12.11") == "all" and rank_group_of(ungraded, "2026.12.9") == "all"
    assert rank_group_of(ungraded, "2026.12.12") == "level" and rank_group_of(ungraded, "2027.1.2") == "level"
    assert rank_group_of(COMPILED.scheme, "2026.12.11") == "level"  # with grades: the quota group, as always
