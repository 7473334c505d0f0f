"""``rulesvc lint``: seeded mistakes are reported precisely (where, and what was expected)."""

from __future__ import annotations

import copy

import pytest
import yaml

from rulesvc.config import PROJECT_ROOT
from rulesvc.engine.dictionary import load_dictionary
from rulesvc.engine.lint import lint
from rulesvc.schema.scheme import DocumentError, load_scheme

DICT = load_dictionary(PROJECT_ROOT / "rules")
BASE = yaml.safe_load((PROJECT_ROOT / "tests/data/schemes/mini_org.yaml").read_text(encoding="utf-8"))


def findings(mutate) -> list:
    doc = copy.deepcopy(BASE)
    mutate(doc)
    return lint(load_scheme(doc), DICT)


def only(fs, level):
    return [f for f in fs if f.level == level]


def test_the_base_scheme_is_clean():
    assert [f for f in lint(load_scheme(BASE), DICT) if f.level != "info"] == []


def test_a_typo_in_a_formula_names_the_indicator_the_position_and_a_suggestion():
    fs = findings(lambda d: d["indicators"]["plea_rate"].update(formula="plea / reviewd"))
    [e] = only(fs, "error")
    assert e.path == "indicators.plea_rate.formula"
    assert "第 8 个字符" in e.message and "reviewed" in e.message


def test_an_unknown_event_type_is_an_error_with_a_suggestion():
    fs = findings(lambda d: d["metrics"].update(reviews={"event": "quality_reviews"}))
    [e] = only(fs, "error")
    assert e.path == "metrics.reviews.events[0]" and "quality_review" in e.message


def test_an_enum_value_that_is_not_a_choice_lists_the_choices():
    fs = findings(lambda d: d["adjustments"]["failed_reviews"].update(where="rating == 'bad'"))
    [e] = only(fs, "error")
    assert e.path == "adjustments.failed_reviews.where"
    assert "excellent" in e.message or "excellent" in (e.message + str(e))


def test_overlapping_tiers_are_an_error_at_the_tier():
    fs = findings(lambda d: d["indicators"]["review_rate"]["scoring"].update(
        tiers=[{"min": 0.05, "points": 3}, {"min": 0.1, "points": 5}]))
    [e] = only(fs, "error")
    assert e.path == "indicators.review_rate.scoring.tiers[1].min"


def test_several_errors_are_all_reported():
    def two(d):
        d["indicators"]["plea_rate"]["formula"] = "plea / nobody"
        d["indicators"]["review_rate"]["dimension"] = "speed"
    paths = {e.path for e in only(findings(two), "error")}
    assert paths == {"indicators.plea_rate.formula", "indicators.review_rate.dimension"}


def test_a_tier_above_100_percent_is_unreachable():
    fs = findings(lambda d: d["indicators"]["review_rate"]["scoring"].update(
        tiers=[{"min": 1.2, "points": 5}, {"min": 0.05, "points": 3}]))
    [w] = only(fs, "warning")
    assert w.path == "indicators.review_rate.scoring.tiers[0].min" and "不可达" in w.message


def test_a_worse_tier_scoring_more_is_flagged():
    fs = findings(lambda d: d["indicators"]["review_rate"]["scoring"].update(
        tiers=[{"min": 0.1, "points": 3}, {"min": 0.05, "points": 5}]))
    assert [w.path for w in only(fs, "warning")] == ["indicators.review_rate.scoring.tiers[1].points"]


def test_weights_that_do_not_add_up_to_100_are_flagged():
    def weighted(d):
        d["combination"] = {"method": "weighted", "base": 80}
        d["dimensions"]["quality"]["weight"] = 90
    assert [w.path for w in only(findings(weighted), "warning")] == ["dimensions"]


def test_a_cap_smaller_than_one_event_always_binds():
    fs = findings(lambda d: d["adjustments"]["failed_reviews"].update(points=-3, cap=2))
    assert "adjustments.failed_reviews.cap" in [w.path for w in only(fs, "warning")]


def test_an_unused_metric_is_flagged():
    fs = findings(lambda d: d["metrics"].update(spare={"event": "honour"}))
    assert [w.path for w in only(fs, "warning")] == ["metrics.spare"]


def test_a_band_above_the_highest_possible_total_is_unreachable():
    fs = findings(lambda d: d["grading"]["bands"][0].update(min=40))
    assert [w.path for w in only(fs, "warning")] == ["grading.bands[0].min"]


def test_a_large_scheme_is_split_over_several_rulesets_and_says_so():
    def many(d):
        for i in range(120):
            d["indicators"][f"x{i}"] = {"name": f"x{i}", "formula": "cases", "dimension": "quality",
                                        "scoring": {"method": "tiers", "tiers": [{"min": 10, "points": 2},
                                                                                 {"min": 5, "points": 1}]}}
    notes = [f for f in findings(many) if f.path == "(rules)"]
    assert notes and "规则集" in notes[0].message


def test_structural_mistakes_are_document_errors_with_paths():
    doc = copy.deepcopy(BASE)
    doc["indicators"]["plea_rate"]["scoring"]["missing"] = "ignore"
    doc["dimensionz"] = {}
    with pytest.raises(DocumentError) as exc:
        load_scheme(doc)
    assert set(exc.value.problems) == {"indicators.plea_rate.scoring.missing", "dimensionz"}


def test_a_procuratorate_scheme_cannot_compare_within_a_business_line():
    fs = findings(lambda d: d.update(peer_group="business"))
    [e] = only(fs, "error")
    assert e.path == "peer_group" and "level" in e.message
