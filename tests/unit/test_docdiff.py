"""Structural diff of scheme documents (rulesvc.engine.docdiff): the data and the text."""

from __future__ import annotations

import copy
import re
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from rulesvc.config import PROJECT_ROOT
from rulesvc.engine.docdiff import diff, diff_lines, diff_text, same_data
from rulesvc.schema.scheme import read_document

SCHEMES = PROJECT_ROOT / "rules" / "schemes"
TEMPLATE = SCHEMES / "province-prosecutor-template.yaml"
COUNTY = SCHEMES / "county-910101-localized.yaml"

DOC: dict[str, Any] = {
    "code": "S", "name": "方案", "subject": "prosecutor", "period": "year", "org": "910000", "description": "d",
    "combination": {"method": "weighted", "base": 80, "span": 20},
    "dimensions": {"quality": {"name": "质量", "weight": 40}, "efficiency": {"name": "效率", "weight": 60}},
    "metrics": {"a": {"name": "A", "event": "case_accepted"}},
    "indicators": {
        "RATE": {"name": "比率", "formula": "a", "dimension": "quality", "lines": ["criminal"],
                 "scoring": {"method": "tiers", "tiers": [{"min": 0.9, "points": 8}, {"min": 0.8, "points": 4}],
                             "else": 0}},
        "COUNT": {"name": "件数", "formula": "a", "dimension": "efficiency",
                  "scoring": {"method": "linear", "best": 10, "worst": 0, "points": 5}},
    },
    "adjustments": {"HONOUR": {"name": "荣誉", "event": "honour", "points": 2}},
    "vetoes": {"WRONG": {"name": "错案", "event": "honour", "effect": "zero_dimension", "dimension": "quality"}},
    "grading": {"bands": [{"grade": "优秀", "min": 95, "quota": 0.15}, {"grade": "合格", "min": 0}]},
}


def doc_of(path) -> dict[str, Any]:
    return read_document(path.read_text(encoding="utf-8"), source=path.name)


def edited(**changes: Any) -> dict[str, Any]:
    doc = copy.deepcopy(DOC)
    for path, value in changes.items():
        keys = path.split("__")
        node = doc
        for k in keys[:-1]:
            node = node[k]
        if value is None:
            del node[keys[-1]]
        else:
            node[keys[-1]] = value
    return doc


def test_identical_documents_have_no_diff():
    assert diff(DOC, copy.deepcopy(DOC)) == {}
    template = doc_of(TEMPLATE)
    assert diff(template, doc_of(TEMPLATE)) == {}
    assert diff_lines({}) == []
    assert diff_text({}) == "v1 与 v2 相同 (no changes)"


def test_a_weight_change_has_its_own_summary():
    d = diff(DOC, edited(dimensions__quality__weight=45))
    assert d == {
        "weights": [{"dimension": "quality", "name": "质量", "old": 40, "new": 45}],
        "dimensions": {"changed": {"quality": [{"field": "weight", "old": 40, "new": 45}]}, "names": {"quality": "质量"}},
    }
    assert diff_lines(d) == ["维度权重 (weight) quality（质量）: 40 → 45"]


def test_added_and_removed_dimensions_show_in_the_weights():
    new = edited(dimensions__efficiency=None)
    new["dimensions"]["effect"] = {"name": "效果", "weight": 60}
    d = diff(DOC, new)
    assert d["weights"] == [{"dimension": "efficiency", "name": "效率", "old": 60, "new": None},
                            {"dimension": "effect", "name": "效果", "old": None, "new": 60}]
    assert d["dimensions"] == {"added": ["effect"], "removed": ["efficiency"],
                               "names": {"effect": "效果", "efficiency": "效率"}}


def test_indicators_added_removed_and_changed_down_to_nested_scoring_parameters():
    new = edited(indicators__COUNT=None, indicators__RATE__scoring__else=1, indicators__RATE__lines=["civil"])
    new["indicators"]["RATE"]["scoring"]["tiers"][0]["min"] = 0.92
    new["indicators"]["RATE"]["scoring"]["missing"] = "exclude"
    new["indicators"]["LOCAL"] = {"name": "本地指标", "formula": "a"}
    d = diff(DOC, new)
    assert d == {"indicators": {
        "added": ["LOCAL"],
        "removed": ["COUNT"],
        "changed": {"RATE": [
            {"field": "lines", "old": ["criminal"], "new": ["civil"]},
            {"field": "scoring.tiers[0].min", "old": 0.9, "new": 0.92},
            {"field": "scoring.else", "old": 0, "new": 1},
            {"field": "scoring.missing", "old": None, "new": "exclude"},
        ]},
        "names": {"RATE": "比率", "LOCAL": "本地指标", "COUNT": "件数"},
    }}
    lines = diff_lines(d)
    assert lines == [
        "新增指标 LOCAL（本地指标）",
        "删除指标 COUNT（件数）",
        '指标 RATE（比率）: lines 由 ["criminal"] 改为 ["civil"]',
        "指标 RATE（比率）: scoring.tiers[0].min 由 0.9 改为 0.92",
        "指标 RATE（比率）: scoring.else 由 0 改为 1",
        '指标 RATE（比率）: scoring.missing 由 （无） 改为 "exclude"',
    ]


def test_lists_of_different_length_or_of_scalars_are_compared_whole():
    tiers = [{"min": 0.9, "points": 8}]
    d = diff(DOC, edited(indicators__RATE__scoring__tiers=tiers))
    assert d["indicators"]["changed"]["RATE"] == [
        {"field": "scoring.tiers", "old": DOC["indicators"]["RATE"]["scoring"]["tiers"], "new": tiers}]
    d = diff(DOC, edited(indicators__RATE__lines=["criminal", "civil"]))
    assert d["indicators"]["changed"]["RATE"] == [{"field": "lines", "old": ["criminal"], "new": ["criminal", "civil"]}]


def test_a_whole_scoring_rule_replaced_lists_each_parameter():
    rule = {"method": "linear", "best": 1.0, "worst": 0.5, "points": 8}
    d = diff(DOC, edited(indicators__RATE__scoring=rule))
    fields = [c["field"] for c in d["indicators"]["changed"]["RATE"]]
    assert fields == ["scoring.method", "scoring.tiers", "scoring.else", "scoring.best", "scoring.worst",
                      "scoring.points"]


def test_grading_band_changes_name_the_band():
    new = edited()
    new["grading"]["bands"][0]["min"] = 96
    del new["grading"]["bands"][0]["quota"]
    new["grading"]["quota_group"] = "procuratorate"
    d = diff(DOC, new)
    assert d == {"grading": [{"field": "bands[0].min", "old": 95, "new": 96},
                             {"field": "bands[0].quota", "old": 0.15, "new": None},
                             {"field": "quota_group", "old": None, "new": "procuratorate"}]}
    assert diff_lines(d)[0] == "等次 (grading): bands[0].min 由 95 改为 96"
    d = diff(DOC, edited(grading__bands=[{"grade": "合格", "min": 0}]))
    assert [c["field"] for c in d["grading"]] == ["bands"]


def test_sections_present_on_one_side_only_change_as_a_whole():
    d = diff(DOC, {**DOC, "peers": {"indicators": ["RATE"]}})
    assert d == {"peers": [{"field": "", "old": None, "new": {"indicators": ["RATE"]}}]}
    assert diff_lines(d) == ['组内比较 (peers):（整体 whole） 由 （无） 改为 {"indicators": ["RATE"]}']
    assert diff({**DOC, "grading": None}, DOC)["grading"] == [{"field": "", "old": None, "new": DOC["grading"]}]


def test_scalars_adjustments_vetoes_metrics_and_combination():
    new = edited(code="S2", period="quarter", adjustments__HONOUR__points=3, vetoes__WRONG=None,
                 combination__base=70, metrics__a__where="x")
    new["vetoes"]["BAR"] = {"name": "不得评优", "event": "honour", "effect": "bar_grade"}
    d = diff(DOC, new)
    assert d["scheme"] == [{"field": "code", "old": "S", "new": "S2"},
                           {"field": "period", "old": "year", "new": "quarter"}]
    assert d["adjustments"] == {"changed": {"HONOUR": [{"field": "points", "old": 2, "new": 3}]},
                                "names": {"HONOUR": "荣誉"}}
    assert d["vetoes"] == {"added": ["BAR"], "removed": ["WRONG"], "names": {"BAR": "不得评优", "WRONG": "错案"}}
    assert d["metrics"]["changed"]["a"] == [{"field": "where", "old": None, "new": "x"}]
    assert d["combination"] == [{"field": "base", "old": 80, "new": 70}]
    assert "weights" not in d and "indicators" not in d
    text = diff_text(d, "第1版", "第2版")
    assert text.splitlines()[0] == "第1版 → 第2版：7 处变化 (7 changes)"
    for fragment in ('方案代码 (code): 由 "S" 改为 "S2"', "加减分项 HONOUR（荣誉）: points 由 2 改为 3",
                     "新增一票否决项 BAR（不得评优）", "删除一票否决项 WRONG（错案）", '度量 a（A）: where 由 （无） 改为 "x"',
                     "总分合成 (combination): base 由 80 改为 70"):
        assert fragment in text


def test_unknown_top_level_keys_are_compared_too():
    assert diff(DOC, {**DOC, "extra": [1]}) == {"scheme": [{"field": "extra", "old": None, "new": [1]}]}


def test_true_is_not_one_but_forty_is_forty_point_zero():
    assert diff(DOC, edited(dimensions__quality__weight=40.0)) == {}
    assert same_data(1, 1.0) and not same_data(True, 1) and not same_data(0, False) and not same_data(None, 0)
    assert same_data([1, {"a": (2,)}], ((1.0), {"a": [2.0]})) and not same_data({"a": 1}, {"a": 1, "b": 1})
    assert not same_data([1], {"0": 1}) and not same_data("1", 1)
    d = diff(DOC, edited(indicators__RATE__scoring__else=False))
    assert d["indicators"]["changed"]["RATE"] == [{"field": "scoring.else", "old": 0, "new": False}]


def test_the_diff_owns_its_values():
    new = edited(indicators__RATE__lines=["civil"])
    d = diff(DOC, new)
    d["indicators"]["changed"]["RATE"][0]["new"].append("x")
    assert new["indicators"]["RATE"]["lines"] == ["civil"]


def test_entries_without_a_name_are_listed_by_code():
    d = diff(DOC, {**DOC, "metrics": {**DOC["metrics"], "b": {"event": "honour"}}})
    assert d["metrics"] == {"added": ["b"], "names": {"b": ""}}
    assert diff_lines(d) == ["新增度量 b"]


# ---------------------------------------------------------------------------------------------
# the template and its county localisation


def documented_changes() -> set[str]:
    header = []
    for line in COUNTY.read_text(encoding="utf-8").splitlines():
        if not line.startswith("#") or line.startswith("# ----"):
            break
        header.append(line)
    return set(re.findall(r"\[([A-Za-z_][\w.]*)\]", "\n".join(header)))


def without_index(field: str) -> str:
    """``scoring.tiers[0].min`` → ``scoring.tiers`` (the header names the list)."""
    return re.sub(r"\[\d+\].*", "", field)


def test_template_to_county_lists_exactly_the_four_local_changes():
    template, county = doc_of(TEMPLATE), doc_of(COUNTY)
    d = diff(template, county)
    assert set(d) == {"scheme", "weights", "dimensions", "metrics", "indicators"}
    assert [c["field"] for c in d["scheme"]] == ["code", "name", "org", "description"]
    assert d["weights"] == [{"dimension": "quality", "name": "质量", "old": 40, "new": 45},
                            {"dimension": "efficiency", "name": "效率", "old": 30, "new": 25}]
    assert d["metrics"] == {"added": ["pil_cases_all", "black_soil_cases"],
                            "names": {"pil_cases_all": "公益诉讼案件数", "black_soil_cases": "黑土地保护公益诉讼案件数"}}
    ind = d["indicators"]
    assert ind["added"] == ["BLACK_SOIL_PIL_SHARE"] and "removed" not in ind
    assert ind["changed"] == {
        "PLEA_APPLY_RATE": [{"field": "scoring.tiers[0].min", "old": 0.90, "new": 0.92},
                            {"field": "scoring.tiers[1].min", "old": 0.85, "new": 0.88},
                            {"field": "scoring.tiers[2].min", "old": 0.80, "new": 0.85}],
        "PUBLIC_HEARING_COUNT": [{"field": "scored", "old": None, "new": False}],
    }
    # the same places as the county header documents, in the diff's own terms
    found = {f"dimensions.{w['dimension']}.weight" for w in d["weights"]}
    found |= {f"{coll}.{code}" for coll in ("metrics", "indicators") for code in d[coll].get("added", ())}
    found |= {f"indicators.{code}.{without_index(c['field'])}" for code, cs in ind["changed"].items() for c in cs}
    assert found == documented_changes()


def test_template_to_county_text_mentions_every_change():
    text = diff_text(diff(doc_of(TEMPLATE), doc_of(COUNTY)), "省模板", "清瑞区")
    lines = text.splitlines()
    assert lines[0] == "省模板 → 清瑞区：13 处变化 (13 changes)" and len(lines) == 14
    for fragment in (
        '方案代码 (code): 由 "SFS-PROSECUTOR-TEMPLATE" 改为 "SFS-PROSECUTOR-910101"',
        '制定院 (org): 由 "910000" 改为 "910101"',
        "方案名称 (name)", "说明 (description)",
        "维度权重 (weight) quality（质量）: 40 → 45",
        "维度权重 (weight) efficiency（效率）: 30 → 25",
        "新增度量 pil_cases_all（公益诉讼案件数）",
        "新增度量 black_soil_cases（黑土地保护公益诉讼案件数）",
        "新增指标 BLACK_SOIL_PIL_SHARE（黑土地保护公益诉讼案件占比）",
        "指标 PLEA_APPLY_RATE（认罪认罚从宽制度适用率）: scoring.tiers[0].min 由 0.9 改为 0.92",
        "指标 PLEA_APPLY_RATE（认罪认罚从宽制度适用率）: scoring.tiers[2].min 由 0.8 改为 0.85",
        "指标 PUBLIC_HEARING_COUNT（公开听证数）: 由计分改为仅作分析、不计分 (scored: false)",
    ):
        assert fragment in text, fragment
    assert "dimensions" not in text and "weight 由" not in text, "a weight change is told once"


def test_reversing_a_diff_swaps_old_and_new():
    template, county = doc_of(TEMPLATE), doc_of(COUNTY)
    forward, backward = diff(template, county), diff(county, template)
    assert forward["indicators"]["added"] == backward["indicators"]["removed"]
    assert [(w["old"], w["new"]) for w in forward["weights"]] == [(w["new"], w["old"]) for w in backward["weights"]]


# ---------------------------------------------------------------------------------------------
# properties

_leaf = st.one_of(st.none(), st.booleans(), st.integers(-5, 5), st.sampled_from([0.5, 1.0, -2.0]),
                  st.sampled_from("ab"))
_value = st.recursive(_leaf, lambda inner: st.one_of(
    st.lists(inner, max_size=3), st.dictionaries(st.sampled_from(["min", "points", "x"]), inner, max_size=3)),
    max_leaves=6)
_entry = st.dictionaries(st.sampled_from(["name", "weight", "scoring", "lines"]), _value, max_size=3)
_docs = st.fixed_dictionaries({}, optional={
    "code": _leaf, "period": _leaf, "extra": _value,
    "dimensions": st.dictionaries(st.sampled_from(["q", "e"]), _entry, max_size=2),
    "indicators": st.dictionaries(st.sampled_from(["A", "B", "C"]), _entry, max_size=3),
    "grading": _value, "peers": _value,
})


@settings(max_examples=300, deadline=None)
@given(_docs, _docs)
def test_a_diff_is_empty_exactly_when_the_documents_hold_the_same_data(a, b):
    empty_as_absent = {k: v for k, v in a.items() if not (k in ("dimensions", "indicators") and v == {})}
    other = {k: v for k, v in b.items() if not (k in ("dimensions", "indicators") and v == {})}
    assert (diff(a, b) == {}) == same_data(empty_as_absent, other)
    assert diff(a, copy.deepcopy(a)) == {}
    assert isinstance(diff_text(diff(a, b)), str)
