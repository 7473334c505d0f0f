"""What the draft editor's forms become (issue 12, page 3), without an app: numbers parsed (never evaluated),
rate thresholds from percentages, a scoring rule's changes parameter by parameter, overrides merged (replaced,
written into the part that holds them, dropped when back to the parent's value), field messages per language."""

from __future__ import annotations

import pytest
from werkzeug.datastructures import MultiDict

from rulesvc.errors import InvalidInput
from rulesvc.services import designer_edit as edit
from rulesvc.services import designer_forms as F
from rulesvc.services import designer_items as items

PARENT = {
    "dimensions": {"quality": {"name": "质量", "weight": 40}},
    "indicators": {"plea": {"name": "认罪认罚适用率", "formula": "a / b", "unit": "%",
                            "scoring": {"method": "tiers", "tiers": [{"min": 0.9, "points": 8}]}}},
}


@pytest.mark.parametrize("text, value", [("85", 85), (" 85 % ", 85), ("０．５", 0.5), ("-3", -3), ("−3", -3), ("", None)])
def test_numbers_are_parsed_not_evaluated(text, value):
    assert F.number(text) == value


@pytest.mark.parametrize("text", ["1+1", "__import__('os')", "nan", "inf", "1e999", "8分"])
def test_anything_but_a_number_is_refused(text):
    with pytest.raises(ValueError):
        F.number(text)


def test_a_negative_weight_is_said_to_be_negative_not_not_a_number():
    """Found by a designer's first day: a weight of −10 was answered "请填写数字"."""
    with pytest.raises(InvalidInput) as refused:
        F.weight_changes(PARENT["dimensions"], {"weight.quality": "-10"}, "zh")
    assert refused.value.errors == {"weight.quality": ["不能为负数"]}


def test_rate_thresholds_are_typed_as_percentages_and_stored_as_fractions():
    form = MultiDict([("method", "tiers"), ("tier_bound", "92"), ("tier_points", "8"), ("tier_bound", "88"),
                      ("tier_points", "6"), ("tier_bound", ""), ("tier_points", "")])
    rule = F.scoring_from_form(form, unit="%", direction="higher_better", lang="zh")
    assert rule == {"method": "tiers", "tiers": [{"min": 0.92, "points": 8}, {"min": 0.88, "points": 6}]}
    low = F.scoring_from_form(form, unit="%", direction="lower_better", lang="zh")
    assert low["tiers"][0] == {"max": 0.92, "points": 8}
    assert F.form_of_scoring(rule, "%")["tiers"][0] == {"bound": "92", "points": "8"}


def test_each_bad_field_gets_its_message_in_the_readers_language():
    form = MultiDict([("method", "linear"), ("worst", "x"), ("best", ""), ("points", "10")])
    with pytest.raises(InvalidInput) as zh:
        F.scoring_from_form(form, unit="", direction="higher_better", lang="zh")
    assert zh.value.errors == {"worst": ["请填写数字"], "best": ["必填"]}
    with pytest.raises(InvalidInput) as en:
        F.scoring_from_form(form, unit="", direction="higher_better", lang="en")
    assert en.value.errors == {"worst": ["Enter a number"], "best": ["Required"]}


def test_a_scoring_rule_changes_parameter_by_parameter_unless_its_method_changes():
    old = {"method": "tiers", "tiers": [{"min": 0.9, "points": 8}]}
    assert F.scoring_changes("plea", old, {"method": "tiers", "tiers": [{"min": 0.92, "points": 8}]}) == [
        {"op": "set", "path": "indicators.plea.scoring.tiers", "value": [{"min": 0.92, "points": 8}]}]
    linear = {"method": "linear", "worst": 0.7, "best": 0.95, "points": 8}
    assert F.scoring_changes("plea", old, linear) == [{"op": "set", "path": "indicators.plea.scoring", "value": linear}]


def test_an_override_replaces_the_one_on_the_same_place_and_goes_when_back_to_the_parents_value():
    first = edit.merge([], {"op": "set", "path": "dimensions.quality.weight", "value": 45, "reason": "a"}, PARENT)
    second = edit.merge(first, {"op": "set", "path": "dimensions.quality.weight", "value": 50, "reason": "b"}, PARENT)
    assert second == [{"op": "set", "path": "dimensions.quality.weight", "value": 50, "reason": "b"}]
    assert edit.merge(second, {"op": "set", "path": "dimensions.quality.weight", "value": 40, "reason": "c"},
                      PARENT) == []


def test_a_change_inside_a_local_entry_is_written_into_its_add():
    add = {"op": "add", "path": "indicators.local", "value": {"name": "本地", "formula": "a", "scored": True},
           "reason": "新增"}
    merged = edit.merge([add], {"op": "set", "path": "indicators.local.scored", "value": False, "reason": "停用"},
                        PARENT)
    assert merged == [{**add, "value": {"name": "本地", "formula": "a", "scored": False}}]
    assert edit.merge(merged, {"op": "remove", "path": "indicators.local", "reason": "删除"}, PARENT) == []


def test_switching_an_inherited_indicator_off_is_a_disable():
    merged = edit.merge([], {"op": "set", "path": "indicators.plea.scored", "value": False, "reason": "停用"}, PARENT)
    assert merged == [{"op": "disable", "path": "indicators.plea", "reason": "停用"}]
    assert edit.merge(merged, {"op": "set", "path": "indicators.plea.scored", "value": True, "reason": "恢复"},
                      PARENT) == []


def test_a_change_of_a_whole_part_drops_the_changes_inside_it():
    tiers = {"op": "set", "path": "indicators.plea.scoring.tiers", "value": [], "reason": "a"}
    whole = {"op": "set", "path": "indicators.plea.scoring", "value": {"method": "percentile", "points": 4},
             "reason": "b"}
    assert edit.merge([tiers], whole, PARENT) == [whole]


def test_an_items_changes_are_key_by_key_or_the_whole_entry_when_a_key_goes():
    old = {"name": "超期", "event": "x", "points": -3, "cap": 6}
    assert items.entry_changes("adjustments", "o", old, {**old, "points": -4}) == [
        {"op": "set", "path": "adjustments.o.points", "value": -4}]
    no_cap = {"name": "超期", "event": "x", "points": -3}
    assert items.entry_changes("adjustments", "o", old, no_cap) == [
        {"op": "set", "path": "adjustments.o", "value": no_cap}]


def test_the_engines_two_languages_are_split_for_the_page():
    assert edit.one_language("维度权重合计 105，不是 100 (weights add up to 105, not 100)", "zh") == "维度权重合计 105，不是 100"
    assert edit.one_language("未知名称“x” (unknown name 'x' (a typo?))", "en") == "unknown name 'x' (a typo?)"
    assert edit.one_language("plain text (with a note)", "zh") == "plain text (with a note)"


def test_a_formula_typed_with_the_names_the_pages_show_is_saved_with_the_codes():
    """Found by a provincial designer's first day: “附条件不起诉人数 / 未成年人审结人数” — the picker's own names, or
    the formula as every page prints it, in Chinese quotes — was "未知名称"; only the codes worked."""
    doc = {"metrics": {"cond": {"name": "附条件不起诉人数"}, "juv": {"name": "未成年人审结人数"},
                       "twin_a": {"name": "同名"}, "twin_b": {"name": "同名"}},
           "indicators": {"plea": {"name": "认罪认罚适用率", "formula": "cond / juv"}}}
    assert edit.with_codes(doc, "附条件不起诉人数 / 未成年人审结人数", code=None) == "cond / juv"
    assert edit.with_codes(doc, "“附条件不起诉人数”÷“未成年人审结人数”×100%", code=None) == "cond÷juv×100%"
    assert edit.with_codes(doc, "认罪认罚适用率 * 2", code="other") == "plea * 2"
    assert edit.with_codes(doc, "认罪认罚适用率 * 2", code="plea") == "认罪认罚适用率 * 2"  # not itself
    assert edit.with_codes(doc, "同名 + cond", code=None) == "同名 + cond"  # two entries share it: left as typed
    assert edit.with_codes(doc, "'附条件不起诉人数' + 1", code=None) == "'附条件不起诉人数' + 1"  # ASCII quotes: text
    assert edit.with_codes(doc, "“未闭合", code=None) == "“未闭合"
