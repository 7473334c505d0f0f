"""``rulesvc lint``: seeded mistakes are reported precisely (where, and what was expected)."""

from __future__ import annotations

import copy

import pytest
import yaml

from rulesvc.config import PROJECT_ROOT
from rulesvc.engine.dictionary import load_dictionary
from rulesvc.engine.lint import lint, lint_document
from rulesvc.schema.messages import NO_VALUE, check_structure, translate
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


def test_a_weights_table_leaving_out_values_without_a_default_is_flagged():
    """Events of a kind the table does not list weigh 0 unless ``default`` says otherwise: said, with the kinds."""
    def weigh(table, default=None):
        def mutate(d):
            d["metrics"]["extras"]["weights"] = {"by": "event_type", "table": table,
                                                 **({"default": default} if default is not None else {})}
        return [f for f in findings(mutate) if f.path == "metrics.extras.weights"]

    [w] = weigh({"supplementary_investigation": "1/2"})
    assert w.level == "warning" and "review_extension" in w.message and "default" in w.message
    assert "supplementary_investigation" not in w.message
    assert weigh({"supplementary_investigation": "1/2"}, default="1") == []  # a default: nothing left out
    assert weigh({"supplementary_investigation": "1/2", "review_extension": 0}) == []  # 0 written out


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


# -- every error at once: lint_document ---------------------------------------------------------------

MINI = yaml.safe_load((PROJECT_ROOT / "tests/data/schemes/mini.yaml").read_text(encoding="utf-8"))


def lint_doc(mutate) -> list:
    doc = copy.deepcopy(MINI)
    mutate(doc)
    return lint_document(doc, DICT, structure=check_structure)


def five_errors(d) -> None:
    """A quota above 100 % (structure) and four definition errors, with weights adding up to 90."""
    d["grading"]["bands"][0]["quota"] = 1.5
    d["indicators"]["definite_rate"]["formula"] = "definite / recz"
    d["metrics"]["supervision"]["event"] = "supervision_actoin"
    d["indicators"]["plea_rate"]["scoring"]["tiers"] = [{"min": 0.9, "points": 10}, {"min": 0.95, "points": 8}]
    d["indicators"]["caseload"]["dimension"] = "efficency"
    d["dimensions"]["quality"]["weight"] = 30


def test_mini_is_clean_as_a_document():
    fs = lint_doc(lambda d: None)
    assert only(fs, "error") == [] and only(fs, "warning") == []
    assert not any(f.path == "(document)" for f in fs)


def test_a_bad_quota_and_four_definition_errors_and_the_weights_warning_in_one_run():
    fs = lint_doc(five_errors)
    errors = {e.path: e.message for e in only(fs, "error")}
    assert set(errors) == {"grading.bands[0].quota", "indicators.definite_rate.formula", "metrics.supervision.events[0]",
                           "indicators.plea_rate.scoring.tiers[1].min", "indicators.caseload.dimension"}
    quota = errors["grading.bands[0].quota"]
    assert "须大于 0 且不大于 1" in quota and "当前为 1.5" in quota and "Must be" not in quota
    assert "未知名称“recz”" in errors["indicators.definite_rate.formula"]
    assert "未知的事件类型" in errors["metrics.supervision.events[0]"]
    assert "档位" in errors["indicators.plea_rate.scoring.tiers[1].min"]
    assert "未知的维度" in errors["indicators.caseload.dimension"]
    [w] = only(fs, "warning")
    assert w.path == "dimensions" and "维度权重合计 90" in w.message
    [note] = [f for f in fs if f.path == "(document)"]
    assert note.level == "info" and "grading.bands[0].quota" in note.message
    # Structural errors first, then definition errors, then warnings, then infos.
    assert fs[0].path == "grading.bands[0].quota"
    levels = [f.level for f in fs]
    assert levels == sorted(levels, key=["error", "warning", "info"].index)


def test_lint_reports_the_weights_warning_beside_definition_errors():
    def broken(d):
        d["combination"] = {"method": "weighted", "base": 80}
        d["dimensions"]["quality"]["weight"] = 90
        d["indicators"]["plea_rate"]["formula"] = "plea / nobody"
    fs = findings(broken)
    assert [e.path for e in only(fs, "error")] == ["indicators.plea_rate.formula"]
    assert [w.path for w in only(fs, "warning")] == ["dimensions"]


def test_an_entry_whose_required_key_is_bad_is_set_aside_without_follow_on_errors():
    def bad(d):
        d["metrics"]["plea"]["agg"] = "median"  # optional key: only it is set aside
        d["metrics"]["reviewed"] = {"events": []}  # required key: the metric is set aside …
        d["dimensions"]["effect"]["weight"] = "thirty"  # … and so is this dimension
    fs = lint_doc(bad)
    errors = only(fs, "error")
    assert {e.path for e in errors} == {"metrics.plea.agg", "metrics.reviewed.events", "dimensions.effect.weight"}
    by_path = {e.path: e.message for e in errors}
    assert "取值须为其一：count、sum" in by_path["metrics.plea.agg"] and "“median”" in by_path["metrics.plea.agg"]
    assert "长度不得小于 1项" in by_path["metrics.reviewed.events"]
    assert "应为数值" in by_path["dimensions.effect.weight"]
    # No "unknown name 'reviewed'" in plea_rate, no "unknown dimension 'effect'", no weights total.
    assert only(fs, "warning") == []
    [note] = [f for f in fs if f.path == "(document)"]
    assert "metrics.reviewed" in note.message and "dimensions.effect" in note.message


def test_several_problems_of_one_entry_set_aside_only_that_entry():
    fs = lint_doc(lambda d: d["metrics"].update(reviewed={"event": "prosecution_review", "events": [], "agg": 1}))
    assert {e.path for e in only(fs, "error")} == {"metrics.reviewed.event", "metrics.reviewed.events",
                                                   "metrics.reviewed.agg"}
    [note] = [f for f in fs if f.path == "(document)"]
    assert "metrics.reviewed" in note.message and "metrics、" not in note.message


def test_an_unknown_key_and_a_bad_dict_key_are_reported_with_the_definition_errors():
    def bad(d):
        d["dimensionz"] = {}
        d["metrics"]["bad key"] = {"event": "honour"}
        d["indicators"]["caseload"]["dimension"] = "efficency"
    fs = lint_doc(bad)
    paths = [e.path for e in only(fs, "error")]
    assert paths[:2] == ["dimensionz", "metrics.bad key.key"]
    assert paths[2:] == ["indicators.caseload.dimension"]
    assert "未知的键" in fs[0].message and "字母、数字、下划线" in fs[1].message


def test_nothing_further_is_checked_when_a_required_section_is_unusable():
    fs = lint_doc(lambda d: d.update(subject="judge", indicators="none"))
    assert {e.path for e in only(fs, "error")} == {"subject", "indicators"}
    [note] = only(fs, "info")
    assert note.path == "(document)" and "无法进行" in note.message


def test_a_bad_code_or_name_does_not_stop_the_other_checks():
    fs = lint_doc(lambda d: (d.update(code="no spaces allowed", name=3),
                             d["indicators"]["caseload"].update(dimension="efficency")))
    assert [e.path for e in only(fs, "error")] == ["code", "name", "indicators.caseload.dimension"]


def test_a_document_that_is_not_a_mapping():
    e, note = lint_document(["not", "a", "scheme"], DICT, structure=check_structure)
    assert e.level == "error" and "映射" in e.message
    assert note.level == "info" and "无法进行" in note.message


# -- marshmallow's messages in Chinese ------------------------------------------------------------------


@pytest.mark.parametrize(("english", "value", "words"), [
    ("Missing data for required field.", NO_VALUE, ["缺少必填项", "missing required field"]),
    ("Unknown field.", 3, ["未知的键"]),
    ("Not a valid number.", "abc", ["应为数值", "当前为 “abc”", "not a valid number"]),
    ("Not a valid string.", 5, ["应为文本", "当前为 5"]),
    ("Not a valid boolean.", "yes", ["应为 true/false"]),
    ("Not a valid integer.", 1.5, ["应为整数", "当前为 1.5"]),
    ("Not a valid list.", "a", ["应为列表"]),
    ("Not a valid mapping type.", [1], ["应为映射", "一个列表"]),
    ("Not a valid widget.", NO_VALUE, ["应为有效的 widget", "not a valid widget"]),
    ("Invalid input type.", 40, ["类型不对", "当前为 40"]),
    ("Field may not be null.", None, ["不能为空"]),
    ("Special numeric values (nan or infinity) are not permitted.", float("nan"), ["NaN 或无穷大", "当前为 NaN"]),
    ("Must be greater than or equal to 0.", -1, ["须不小于 0", "当前为 -1"]),
    ("Must be greater than 0.", NO_VALUE, ["须大于 0 (must be greater than 0)"]),
    ("Must be less than or equal to 36.", 40, ["须不大于 36", "当前为 40"]),
    ("Must be less than 1.", NO_VALUE, ["须小于 1"]),
    ("Must be greater than 0 and less than or equal to 1.", 1.5, ["须大于 0 且不大于 1（当前为 1.5）"]),
    ("Must be greater than or equal to 2 and less than 36.5.", NO_VALUE, ["须不小于 2 且小于 36.5"]),
    ("Must be greater than -1e-05 and less than or equal to 100000.", NO_VALUE, ["须大于 -1e-05 且不大于 100000"]),
    ("Shorter than minimum length 1.", [], ["长度不得小于 1项", "当前为 0 项"]),
    ("Longer than maximum length 2000.", "x" * 2001, ["长度不得大于 2000个字符", "当前为 2001 个字符"]),
    ("Length must be between 1 and 64.", NO_VALUE, ["长度须在 1 到 64 之间"]),
    ("Length must be 3.", NO_VALUE, ["长度须为 3"]),
    ("Must be one of: a, b, c.", "d", ["取值须为其一：a、b、c", "当前为 “d”"]),
    ("One or more of the choices you made was not in: a, b.", NO_VALUE, ["各项取值须在其中：a、b"]),
    ("Must be equal to 42.", 41, ["须等于 42", "当前为 41"]),
    ("String does not match expected pattern.", "a b", ["格式不符"]),
    ("Invalid value.", NO_VALUE, ["取值无效"]),
    ("Something nobody foresaw.", NO_VALUE, ["取值有误", "something nobody foresaw"]),
])
def test_each_marshmallow_message_family_is_translated(english, value, words):
    text = translate(english, value)
    for w in words:
        assert w in text, (text, w)
    if english != "Must be greater than 0.":
        assert english not in text  # the English is kept as a gloss (lower case), not repeated verbatim


def test_missing_and_unknown_do_not_quote_a_value():
    assert "当前为" not in translate("Missing data for required field.", 3)
    assert "当前为" not in translate("Unknown field.", 3)


def test_chinese_messages_are_left_as_they_are():
    msg = "须为字母、数字、下划线组成的代码 (letters, digits, _)"
    assert translate(msg, "a b") == msg


def test_load_scheme_reports_every_structural_family_in_chinese():
    doc = copy.deepcopy(MINI)
    doc["grading"]["bands"][0]["quota"] = 1.5
    doc["peers"] = {"streak": 1, "band": "x", "indicators": "plea_rate", "group": "city"}
    doc["indicators"]["aid"]["formula"] = 5
    doc["indicators"]["aid"]["scored"] = "maybe"
    doc["adjustments"]["honour"]["points"] = float("inf")
    doc["metrics"]["cases"]["events"] = []
    del doc["metrics"]["cases"]["event"]
    doc["combination"]["base"] = None
    with pytest.raises(DocumentError) as exc:
        load_scheme(doc)
    problems = {p: "；".join(m) for p, m in exc.value.problems.items()}
    assert "须大于 0 且不大于 1" in problems["grading.bands[0].quota"]
    assert "须不小于 2 且不大于 36" in problems["peers.streak"]
    assert "应为数值" in problems["peers.band"]
    assert "应为列表" in problems["peers.indicators"]
    assert "取值须为其一：all、" in problems["peers.group"]
    assert "应为文本" in problems["indicators.aid.formula"]
    assert "应为 true/false" in problems["indicators.aid.scored"]
    assert "NaN 或无穷大" in problems["adjustments.honour.points"]
    assert "长度不得小于 1" in problems["metrics.cases.events"]
    assert "不能为空" in problems["combination.base"]
    for text in problems.values():
        assert not text.startswith(("Must", "Not a", "Length", "Shorter", "Field", "Special"))


def test_a_rates_bars_all_under_one_percent_ask_whether_percentages_were_meant():
    """A designer's audit (2026-12-07): 0.8 and 0.7 typed in a form that asks for 80 to mean 80% saved as
    "≥ 0.8% → 6 分" without a word. A lower-is-better rate with small bars (撤回起诉率 ≤ 0.5%) is left alone."""
    fs = findings(lambda d: d["indicators"]["review_rate"]["scoring"].update(
        tiers=[{"min": 0.008, "points": 5}, {"min": 0.007, "points": 3}]))
    [w] = only(fs, "warning")
    assert w.path == "indicators.review_rate.scoring.tiers"
    assert "各档门槛 0.8%、0.7% 都低于 1%：如指 80%、70%" in w.message

    def lower(d):
        d["indicators"]["review_rate"].update(direction="lower_better")
        d["indicators"]["review_rate"]["scoring"].update(tiers=[{"max": 0.005, "points": 5}, {"max": 0.008, "points": 3}])
    assert only(findings(lower), "warning") == []


@pytest.mark.parametrize("method", ["weighted", "sum"])
def test_scoring_people_without_activity_is_noted_whatever_the_combination(method):
    """An audit found the note only under ``weighted``, and there it named the base as the total of someone
    without activity — wrong under a ``floor`` above it, and wrong where an indicator scores ``worst``."""

    def mutate(doc):
        doc.setdefault("participants", {})["no_activity"] = "score"
        doc["combination"]["method"] = method
        doc["combination"]["floor"] = 75

    notes = [f for f in findings(mutate) if f.path == "participants.no_activity"]
    assert len(notes) == 1 and notes[0].level == "info"
    assert "missing 规则" in notes[0].message and "模拟测评" in notes[0].message and "基础分" not in notes[0].message
    assert not [f for f in findings(lambda d: None) if f.path == "participants.no_activity"]


def test_a_required_scoring_parameter_left_out_is_named_with_its_method():
    """An audit met "需要一个数值 … got None" for a ``per_unit`` without ``cap``: it now says the method needs it."""

    def mutate(doc):
        name = next(iter(doc["indicators"]))
        doc["indicators"][name]["scoring"] = {"method": "per_unit", "points": 0.5}

    fs = only(findings(mutate), "error")
    assert len(fs) == 1 and fs[0].path.endswith(".scoring.cap"), fs
    assert "“per_unit” 计分方法必须写明 cap" in fs[0].message and "None" not in fs[0].message


def test_a_veto_capping_the_grade_at_the_best_band_is_flagged_and_bands_out_of_order_name_the_two_grades():
    """A provincial designer's first day: "等次最高为优秀" saved with "没有错误，没有警告"; 良好 at 96 above 优秀 at 94
    read "grading.bands 等次须从高到低排列" without saying which."""
    doc = yaml.safe_load((PROJECT_ROOT / "tests/data/schemes/mini.yaml").read_text(encoding="utf-8"))
    doc["vetoes"]["wrongful_bar"].update(effect="cap_grade", grade="优秀")
    [w] = [f for f in lint(load_scheme(doc), DICT) if f.path == "vetoes.wrongful_bar.effects[0].grade"]
    assert w.level == "warning" and "优秀已是最高等次" in w.message
    doc["vetoes"]["wrongful_bar"].update(grade="良好")
    assert not [f for f in lint(load_scheme(doc), DICT) if f.path.startswith("vetoes.wrongful_bar")]
    doc["grading"]["bands"][1]["min"] = 96
    [e] = [f for f in lint(load_scheme(doc), DICT) if f.level == "error"]
    assert e.path == "grading.bands[1].min" and "“良好”的分数线 96 不低于上一等次“优秀”的 92" in e.message


def test_a_rate_whose_formula_multiplies_by_100_is_flagged():
    """A designer saved "a / b × 100" as a rate (unit %) whose thresholds are typed as percentages: no warning."""
    def rate(formula):
        return [f for f in findings(lambda d: d["indicators"]["plea_rate"].update(formula=formula))
                if f.path == "indicators.plea_rate.formula" and f.level == "warning"]

    [w] = rate("plea / reviewed × 100")
    assert "乘以 100" in w.message
    assert len(rate("100 * (plea / reviewed)")) == 1  # either side of the product
    assert rate("plea / reviewed × 100%") == [] and rate("plea / reviewed") == []
