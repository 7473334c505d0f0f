"""Localisation as overrides (rulesvc.engine.localize): applying, validating, provenance, labels,
rebasing onto a new parent version and settling conflicts; the county localisation stored as overrides
resolves to exactly the county document in the rule library."""

from __future__ import annotations

import copy
import math
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rulesvc.config import PROJECT_ROOT
from rulesvc.engine.docdiff import diff
from rulesvc.engine.localize import (
    Conflict,
    LocalizationError,
    format_path,
    kind_of,
    parse_path,
    provenance,
    rebase,
    rebased_overrides,
    resolve,
    settle,
    validate_overrides,
)
from rulesvc.engine.texts import visible
from rulesvc.schema.scheme import load_scheme, read_document

SCHEMES = PROJECT_ROOT / "rules" / "schemes"
TEMPLATE = SCHEMES / "province-prosecutor-template.yaml"
COUNTY = SCHEMES / "county-910101-localized.yaml"
COUNTY_OVERRIDES = PROJECT_ROOT / "rules" / "localizations" / "910101" / "SFS-PROSECUTOR-910101.overrides.yaml"
IDENTITY_KEYS = ("code", "name", "org", "description")

PARENT: dict[str, Any] = {
    "code": "P-TEMPLATE", "name": "上级模板", "subject": "prosecutor", "period": "year", "org": "910000",
    "description": "上级院模板",
    "combination": {"method": "weighted", "base": 80, "span": 20},
    "dimensions": {
        "quality": {"name": "质量", "weight": 40},
        "efficiency": {"name": "效率", "weight": 60, "adjustment_cap": 5},
    },
    "metrics": {
        "a": {"name": "A", "event": "case_accepted"},
        "b": {"name": "B", "event": "prosecution_review"},
    },
    "indicators": {
        "RATE": {"name": "比率", "formula": "a / b", "dimension": "quality", "lines": ["criminal"],
                 "scoring": {"method": "tiers", "tiers": [{"min": 0.9, "points": 8}, {"min": 0.8, "points": 4}],
                             "else": 0}},
        "COUNT": {"name": "件数", "formula": "a", "dimension": "efficiency",
                  "scoring": {"method": "linear", "best": 10, "worst": 0, "points": 5, "missing": "exclude"}},
        "OFF": {"name": "仅分析", "formula": "b", "dimension": "quality", "scored": False},
    },
    "adjustments": {"HONOUR": {"name": "荣誉", "event": "honour", "points": 2, "cap": 4, "dimension": "efficiency"}},
    "vetoes": {"WRONG": {"name": "错案", "event": "disciplinary_finding", "effect": "zero_dimension",
                         "dimension": "quality"}},
    "grading": {"bands": [{"grade": "优秀", "min": 95, "quota": 0.15}, {"grade": "合格", "min": 0}]},
}
CHILD = {"code": "C-910101", "name": "本地方案", "org": "910101", "description": "本地化"}
NEW_INDICATOR = {"name": "本地指标", "formula": "b / a", "dimension": "quality",
                 "scoring": {"method": "linear", "best": 1, "worst": 0, "points": 2}}


def ov(op: str, path: str, value: Any = None, reason: str = "本地情况 (local reason)") -> dict[str, Any]:
    out: dict[str, Any] = {"op": op, "path": path, "reason": reason}
    if op in ("set", "add"):
        out["value"] = value
    return out


def doc_of(path) -> dict[str, Any]:
    return read_document(path.read_text(encoding="utf-8"), source=path.name)


def problems_of(parent: Any, overrides: Any, identity: Any = None) -> list[dict[str, Any]]:
    with pytest.raises(LocalizationError) as exc:
        resolve(parent, overrides, identity)
    return exc.value.problems


# ---------------------------------------------------------------------------------------------
# paths


@pytest.mark.parametrize(("text", "tokens"), [
    ("dimensions.quality.weight", ("dimensions", "quality", "weight")),
    ("grading.bands[0].min", ("grading", "bands", 0, "min")),
    ("a[1][2].b", ("a", 1, 2, "b")),
    (" peers ", ("peers",)),
])
def test_paths_parse_and_format_back(text, tokens):
    assert parse_path(text) == tokens
    assert format_path(tokens) == text.strip()


@pytest.mark.parametrize("text", ["", "  ", "a..b", "a.", ".a", "a[x]", "a[-1]", "9a", "a.b c", "a[0", "[0]", None, 3])
def test_malformed_paths_are_refused(text):
    with pytest.raises(ValueError):
        parse_path(text)


# ---------------------------------------------------------------------------------------------
# every op


def test_set_replaces_a_weight_a_threshold_a_whole_rule_and_a_field():
    new_rule = {"method": "linear", "best": 1.0, "worst": 0.5, "points": 8, "missing": "exclude"}
    doc = resolve(PARENT, [
        ov("set", "dimensions.quality.weight", 45),
        ov("set", "indicators.RATE.scoring.tiers", [{"min": 0.92, "points": 8}]),
        ov("set", "indicators.COUNT.scoring", new_rule),
        ov("set", "indicators.RATE.lines", ["criminal", "civil"]),
        ov("set", "grading.bands[0].min", 96),
        ov("set", "combination.base", 70),
    ], CHILD)
    assert doc["dimensions"]["quality"] == {"name": "质量", "weight": 45}
    assert doc["indicators"]["RATE"]["scoring"]["tiers"] == [{"min": 0.92, "points": 8}]
    assert doc["indicators"]["RATE"]["scoring"]["else"] == 0
    assert doc["indicators"]["COUNT"]["scoring"] == new_rule
    assert doc["indicators"]["RATE"]["lines"] == ["criminal", "civil"]
    assert doc["grading"]["bands"] == [{"grade": "优秀", "min": 96, "quota": 0.15}, {"grade": "合格", "min": 0}]
    assert doc["combination"] == {"method": "weighted", "base": 70, "span": 20}
    load_scheme(doc)


def test_set_may_add_a_key_the_parent_omits_when_its_mapping_exists():
    doc = resolve(PARENT, [
        ov("set", "indicators.RATE.scoring.missing", "exclude"),
        ov("set", "dimensions.quality.adjustment_cap", 10),
        ov("set", "peers", {"indicators": ["RATE"], "band": 0.1}),
        ov("set", "peer_group", "business"),
    ], CHILD)
    assert doc["indicators"]["RATE"]["scoring"]["missing"] == "exclude"
    assert doc["dimensions"]["quality"]["adjustment_cap"] == 10
    assert doc["peers"] == {"indicators": ["RATE"], "band": 0.1}
    assert doc["peer_group"] == "business"
    load_scheme(doc)


def test_add_puts_new_entries_in_every_collection():
    doc = resolve(PARENT, [
        ov("add", "metrics.c", {"name": "C", "event": "honour"}),
        ov("add", "indicators.LOCAL", NEW_INDICATOR),
        ov("add", "adjustments.BONUS", {"name": "加分", "event": "honour", "points": 1}),
        ov("add", "vetoes.BAR", {"name": "否决", "event": "honour", "effect": "bar_grade", "grade": "优秀"}),
        ov("add", "dimensions.effect", {"name": "效果", "weight": 10}),
    ], CHILD)
    assert doc["metrics"]["c"] == {"name": "C", "event": "honour"}
    assert doc["indicators"]["LOCAL"] == NEW_INDICATOR
    assert set(doc["adjustments"]) == {"HONOUR", "BONUS"}
    assert set(doc["vetoes"]) == {"WRONG", "BAR"}
    assert doc["dimensions"]["effect"] == {"name": "效果", "weight": 10}
    load_scheme(doc)


def test_add_creates_a_collection_the_parent_lacks():
    parent = {k: v for k, v in PARENT.items() if k != "vetoes"}
    doc = resolve(parent, [ov("add", "vetoes.BAR", {"name": "否决", "event": "honour", "effect": "bar_grade",
                                                     "grade": "优秀"})])
    assert list(doc["vetoes"]) == ["BAR"]


def test_remove_deletes_adjustments_vetoes_metrics_and_indicators():
    doc = resolve(PARENT, [ov("remove", "adjustments.HONOUR"), ov("remove", "vetoes.WRONG"),
                           ov("remove", "indicators.OFF"), ov("remove", "metrics.b"),
                           ov("set", "indicators.RATE.formula", "a")], CHILD)
    assert doc["adjustments"] == {} and doc["vetoes"] == {}
    assert set(doc["indicators"]) == {"RATE", "COUNT"} and set(doc["metrics"]) == {"a"}
    load_scheme(doc)


def test_disable_makes_an_indicator_analysis_only_and_keeps_its_rule():
    doc = resolve(PARENT, [ov("disable", "indicators.COUNT")])
    assert doc["indicators"]["COUNT"]["scored"] is False
    assert doc["indicators"]["COUNT"]["scoring"] == PARENT["indicators"]["COUNT"]["scoring"]
    assert not load_scheme(doc).indicators["COUNT"].scored


def test_identity_comes_from_the_child_and_the_rest_is_inherited():
    doc = resolve(PARENT, [], CHILD)
    assert {k: doc[k] for k in IDENTITY_KEYS} == CHILD
    assert {k: v for k, v in doc.items() if k not in IDENTITY_KEYS} == \
        {k: v for k, v in PARENT.items() if k not in IDENTITY_KEYS}
    assert resolve(PARENT, []) == PARENT
    assert resolve(PARENT, [], {"code": "X"})["name"] == PARENT["name"]


def test_overrides_apply_in_order_and_are_normalised():
    raw = [{"op": "set", "path": " grading.bands[00].min ", "value": [1, {"x": 2}], "reason": "  理由  "},
           {"op": "remove", "path": "vetoes.WRONG", "reason": "r", "value": None}]
    assert validate_overrides(raw) == [
        {"op": "set", "path": "grading.bands[0].min", "value": [1, {"x": 2}], "reason": "理由"},
        {"op": "remove", "path": "vetoes.WRONG", "reason": "r"},
    ]
    assert validate_overrides(tuple(raw)) == validate_overrides(raw)
    assert validate_overrides([]) == []


# ---------------------------------------------------------------------------------------------
# errors


NO_PATH = "路径不存在"


@pytest.mark.parametrize(("override", "fragment"), [
    (ov("set", "indicators.RATE.nothing.deep", 1), NO_PATH),
    (ov("set", "indicators.NOPE.name", "x"), NO_PATH),
    (ov("set", "indicators.NOPE", NEW_INDICATOR), "use add"),
    (ov("set", "grading.bands[5].min", 1), "index out of range"),
    (ov("set", "grading.bands[2]", {"grade": "x", "min": 1}), "index out of range"),
    (ov("set", "grading.bands[0][1]", 1), NO_PATH),
    (ov("set", "dimensions[0]", 1), NO_PATH),
    (ov("set", "dimensions.quality.weight[0]", 1), NO_PATH),
    (ov("add", "indicators.RATE", NEW_INDICATOR), "already in the parent"),
    (ov("add", "dimensions.quality", {"name": "质量", "weight": 1}), "already in the parent"),
    (ov("remove", "adjustments.NOPE"), NO_PATH),
    (ov("remove", "indicators.NOPE"), NO_PATH),
    (ov("disable", "indicators.NOPE"), NO_PATH),
    (ov("disable", "indicators.OFF"), "already analysis-only"),
])
def test_overrides_that_do_not_fit_the_parent_are_refused(override, fragment):
    [problem] = problems_of(PARENT, [ov("set", "combination.base", 70), override])
    assert problem["index"] == 1 and problem["path"] == override["path"]
    assert fragment in problem["message"]


def test_set_through_a_section_the_parent_lacks_is_refused():
    parent = {**PARENT, "grading": None}
    [problem] = problems_of(parent, [ov("set", "grading.bands", [])])
    assert NO_PATH in problem["message"]


@pytest.mark.parametrize(("override", "fragment"), [
    ({"op": "set", "path": "dimensions.quality.weight", "value": 45}, "missing reason"),
    (ov("set", "dimensions.quality.weight", 45, reason="   "), "missing reason"),
    (ov("set", "dimensions.quality.weight", 45, reason=None), "missing reason"),
    ({"op": "rename", "path": "indicators.RATE", "reason": "r"}, "unknown op"),
    ({"path": "indicators.RATE", "reason": "r"}, "missing op"),
    ({"op": "set", "path": "indicators..RATE", "value": 1, "reason": "r"}, "malformed path"),
    ({"op": "set", "value": 1, "reason": "r"}, "missing path"),
    ({"op": "set", "path": "dimensions.quality.weight", "reason": "r"}, "missing value"),
    ({"op": "set", "path": "dimensions.quality.weight", "value": 1, "reason": "r", "why": "x"}, "unknown key"),
    (ov("set", "dimensions.quality.weight", math.nan), "JSON data"),
    (ov("set", "dimensions.quality.weight", {"a": object()}), "JSON data"),
    (ov("set", "dimensions.quality.weight", {1: 2}), "JSON data"),
    (ov("set", "code", "X"), "identity keys"),
    (ov("set", "name", "X"), "identity keys"),
    (ov("set", "description", "X"), "identity keys"),
    (ov("set", "subject", "procuratorate"), "subject kind"),
    (ov("set", "colour", "red"), "unknown part"),
    (ov("set", "indicators", {}), "whole collection"),
    (ov("add", "indicators.LOCAL.scoring", {}), "add takes a collection entry"),
    (ov("add", "grading.extra", {}), "add takes a collection entry"),
    (ov("add", "indicators.LOCAL", [1]), "a mapping"),
    (ov("add", "metrics.c", None), "a mapping"),
    (ov("remove", "dimensions.quality"), "remove takes a collection entry"),
    (ov("remove", "indicators.RATE.lines"), "remove takes a collection entry"),
    ({**ov("remove", "vetoes.WRONG"), "value": 1}, "takes no value"),
    (ov("disable", "metrics.a"), "disable takes an indicator"),
    (ov("disable", "indicators.RATE.scoring"), "disable takes an indicator"),
    ("set dimensions.quality.weight 45", "an override is a mapping"),
])
def test_malformed_overrides_are_refused_with_index_and_path(override, fragment):
    overrides = [ov("set", "dimensions.quality.weight", 45), override]
    for check in (lambda: validate_overrides(overrides), lambda: resolve(PARENT, overrides)):
        with pytest.raises(LocalizationError) as exc:
            check()
        assert [p["index"] for p in exc.value.problems] == [1], exc.value.problems
        problem = exc.value.problems[0]
        assert fragment in problem["message"]
        path = override.get("path") if isinstance(override, dict) else None
        assert problem["path"] == (path if isinstance(path, str) else "")


@pytest.mark.parametrize("overrides", [{"op": "set"}, "overrides", None, 3])
def test_overrides_must_be_a_list(overrides):
    with pytest.raises(LocalizationError) as exc:
        validate_overrides(overrides)
    assert exc.value.problems == [{"index": None, "path": "", "message": "覆盖项应为列表 (overrides must be a list)"}]
    assert problems_of(PARENT, overrides) == exc.value.problems


@pytest.mark.parametrize(("first", "second", "fragment"), [
    (ov("set", "dimensions.quality.weight", 45), ov("set", "dimensions.quality.weight", 50), "same place"),
    (ov("set", "grading.bands[0].min", 1), ov("set", " grading.bands[00].min", 2), "same place"),
    (ov("disable", "indicators.RATE"), ov("set", "indicators.RATE.scored", True), "same place"),
    (ov("remove", "indicators.RATE"), ov("set", "indicators.RATE.lines", []), "inside"),
    (ov("add", "indicators.LOCAL", NEW_INDICATOR), ov("set", "indicators.LOCAL.unit", "%"), "inside"),
    (ov("set", "indicators.RATE.scoring.tiers", []), ov("set", "indicators.RATE.scoring", {}), "inside"),
    (ov("set", "grading.bands", []), ov("set", "grading.bands[0].min", 1), "inside"),
    (ov("disable", "indicators.RATE"), ov("set", "indicators.RATE", NEW_INDICATOR), "inside"),
])
def test_two_overrides_may_not_touch_the_same_place(first, second, fragment):
    with pytest.raises(LocalizationError) as exc:
        validate_overrides([first, second])
    [problem] = exc.value.problems
    assert problem["index"] == 1 and fragment in problem["message"] and "#0" in problem["message"]


def test_overrides_of_different_places_in_one_entry_are_fine():
    validate_overrides([ov("set", "indicators.RATE.scoring.tiers", []), ov("set", "indicators.RATE.lines", []),
                        ov("disable", "indicators.RATE"), ov("set", "indicators.RATE.scoring.else", 1)])


def test_every_problem_is_reported_at_once_with_index_and_path():
    overrides = [
        ov("set", "dimensions.quality.weight", 45),                     # fine
        {"op": "set", "path": "dimensions.efficiency.weight", "value": 55},  # no reason
        ov("add", "indicators.RATE", NEW_INDICATOR),                     # exists
        ov("remove", "vetoes.NOPE"),                                      # missing
        ov("disable", "indicators.OFF"),                                  # not scored
        ov("set", "dimensions.quality.weight", 50),                      # duplicate of #0
        {"op": "drop", "path": "x..y"},                                   # unknown op, bad path, no reason
        ov("set", "grading.bands[9].min", 1),                             # bad index
    ]
    with pytest.raises(LocalizationError) as exc:
        resolve(PARENT, overrides, {**CHILD, "colour": "red"})
    problems = exc.value.problems
    assert sorted({p["index"] for p in problems if p["index"] is not None}) == [1, 2, 3, 4, 5, 6, 7]
    assert sum(1 for p in problems if p["index"] == 6) == 3
    assert {p["path"] for p in problems if p["index"] is not None} == {
        "dimensions.efficiency.weight", "indicators.RATE", "vetoes.NOPE", "indicators.OFF",
        "dimensions.quality.weight", "x..y", "grading.bands[9].min"}
    assert {"index": None, "path": "identity.colour",
            "message": "不是身份项 (not an identity key: code, name, org, description)"} in problems
    text = str(exc.value)
    assert "#3 vetoes.NOPE" in text and "#7 grading.bands[9].min" in text and "identity.colour" in text
    assert all(set(p) == {"index", "path", "message"} for p in problems)
    assert all("(" in p["message"] and ")" in p["message"] for p in problems), "Chinese with English in parentheses"


def test_the_parent_and_the_identity_must_be_mappings():
    assert problems_of([1], [])[0]["message"].endswith("(the parent document must be a mapping)")
    assert problems_of(PARENT, [], "C-1")[0]["path"] == "identity"


# ---------------------------------------------------------------------------------------------
# inputs are never mutated


def test_inputs_are_never_mutated_and_results_share_nothing_with_them():
    parent, overrides, identity = copy.deepcopy(PARENT), [
        ov("set", "indicators.RATE.scoring.tiers", [{"min": 0.92, "points": 8}]),
        ov("add", "indicators.LOCAL", copy.deepcopy(NEW_INDICATOR)),
        ov("remove", "vetoes.WRONG"), ov("disable", "indicators.COUNT"),
        ov("set", "dimensions.quality.weight", 45),
    ], {"code": "C", "description": {"not": "a string, but still copied"}}
    before = copy.deepcopy((parent, overrides, identity))
    doc = resolve(parent, overrides, identity)
    provenance(parent, overrides)
    validate_overrides(overrides)
    changed = copy.deepcopy(parent)
    changed["indicators"]["RATE"]["scoring"]["tiers"] = []
    result = rebase(parent, changed, overrides)
    settle(overrides[0], result.conflicts[0], "edit", [{"min": 0.5, "points": 1}])
    assert (parent, overrides, identity) == before
    doc["indicators"]["RATE"]["scoring"]["tiers"][0]["min"] = 0
    doc["indicators"]["LOCAL"]["name"] = "x"
    doc["indicators"]["RATE"]["lines"].append("civil")
    doc["description"]["not"] = "x"
    assert (parent, overrides, identity) == before
    result.carried[0]["reason"] = "x"
    assert (parent, overrides, identity) == before


# ---------------------------------------------------------------------------------------------
# provenance and labels


def test_provenance_says_where_each_part_comes_from():
    overrides = [
        ov("set", "dimensions.quality.weight", 45, reason="重质量"),
        ov("add", "indicators.LOCAL", NEW_INDICATOR, reason="本地重点"),
        ov("remove", "vetoes.WRONG", reason="不适用"),
        ov("disable", "indicators.COUNT", reason="不反映个人努力"),
        ov("set", "indicators.COUNT.scoring.best", 12, reason="同时调目标"),
        ov("set", "indicators.RATE.scoring.tiers", [], reason="提高档位"),
        ov("set", "peers", {"indicators": []}, reason="本地比较"),
        ov("set", "grading.bands[0].min", 96, reason="从严"),
    ]
    prov = provenance(PARENT, overrides)
    assert list(prov) == [
        "period", "combination", "dimensions.quality", "dimensions.efficiency", "metrics.a", "metrics.b",
        "indicators.RATE", "indicators.COUNT", "indicators.OFF", "indicators.LOCAL", "adjustments.HONOUR",
        "vetoes.WRONG", "grading", "peers"]
    status = {k: v["status"] for k, v in prov.items()}
    assert status == {
        "period": "inherited", "combination": "inherited", "dimensions.quality": "changed",
        "dimensions.efficiency": "inherited", "metrics.a": "inherited", "metrics.b": "inherited",
        "indicators.RATE": "changed", "indicators.COUNT": "disabled", "indicators.OFF": "inherited",
        "indicators.LOCAL": "local", "adjustments.HONOUR": "inherited", "vetoes.WRONG": "removed",
        "grading": "changed", "peers": "local"}
    assert prov["dimensions.quality"]["overrides"] == [
        {"index": 0, "op": "set", "path": "dimensions.quality.weight", "reason": "重质量",
         "kind": ["调整权重", "weight changed"]}]
    assert [(o["index"], o["path"], o["reason"]) for o in prov["indicators.COUNT"]["overrides"]] == [
        (3, "indicators.COUNT", "不反映个人努力"), (4, "indicators.COUNT.scoring.best", "同时调目标")]
    assert prov["metrics.a"]["overrides"] == []


def test_provenance_of_a_set_that_switches_an_indicator_off_is_disabled():
    prov = provenance(PARENT, [ov("set", "indicators.RATE.scored", False)])
    assert prov["indicators.RATE"]["status"] == "disabled"
    assert provenance(PARENT, [ov("set", "indicators.OFF.scored", True)])["indicators.OFF"]["status"] == "changed"


def test_provenance_refuses_invalid_overrides():
    with pytest.raises(LocalizationError):
        provenance(PARENT, [ov("remove", "vetoes.NOPE")])


@pytest.mark.parametrize(("override", "label"), [
    (ov("set", "dimensions.quality.weight", 45), ("调整权重", "weight changed")),
    (ov("set", "indicators.RATE.scoring.tiers", []), ("调整档位/目标", "threshold/target changed")),
    (ov("set", "indicators.COUNT.scoring.best", 9), ("调整档位/目标", "threshold/target changed")),
    (ov("set", "indicators.RATE.scoring.tiers[0].min", 0.9), ("调整档位/目标", "threshold/target changed")),
    (ov("set", "indicators.RATE.scoring", {}), ("替换计分规则", "scoring rule replaced")),
    (ov("set", "indicators.RATE.scoring.method", "linear"), ("替换计分规则", "scoring rule replaced")),
    (ov("set", "indicators.RATE.scoring.missing", "zero"), ("调整指标", "indicator changed")),
    (ov("disable", "indicators.RATE"), ("停用指标", "indicator switched off")),
    (ov("set", "indicators.RATE.scored", False), ("停用指标", "indicator switched off")),
    (ov("set", "indicators.OFF.scored", True), ("恢复计分", "indicator switched back on")),
    (ov("add", "indicators.X", {}), ("新增本地指标", "local indicator added")),
    (ov("add", "metrics.x", {}), ("新增本地度量", "local metric added")),
    (ov("add", "adjustments.X", {}), ("新增加减分项", "adjustment added")),
    (ov("add", "vetoes.X", {}), ("新增一票否决项", "veto added")),
    (ov("add", "dimensions.x", {}), ("新增维度", "dimension added")),
    (ov("remove", "indicators.X"), ("删除指标", "indicator removed")),
    (ov("remove", "metrics.x"), ("删除度量", "metric removed")),
    (ov("remove", "adjustments.X"), ("删除加减分项", "adjustment removed")),
    (ov("remove", "vetoes.X"), ("删除一票否决项", "veto removed")),
    (ov("set", "grading.bands[0].min", 96), ("调整等次与名额", "grading changed")),
    (ov("set", "indicators.RATE.lines", []), ("调整指标", "indicator changed")),
    (ov("set", "adjustments.HONOUR.points", 3), ("调整加减分项分值", "item points changed")),
    (ov("set", "adjustments.HONOUR.cap", 4), ("调整加减分项封顶", "item cap changed")),
    (ov("set", "vetoes.WRONGFUL.name", "x"), ("调整一票否决项", "veto changed")),
    (ov("set", "combination.base", 70), ("调整总分计算", "total's calculation changed")),
    ({"op": "set", "path": "x..y"}, ("其他修改", "other change")),
    ({"op": "frobnicate", "path": "indicators.X"}, ("其他修改", "other change")),
])
def test_kind_of_labels_each_override(override, label):
    assert kind_of(override) == label


# ---------------------------------------------------------------------------------------------
# rebase and settle

LOCAL = [
    ov("set", "dimensions.quality.weight", 45),                                  # 0
    ov("set", "indicators.RATE.scoring.tiers", [{"min": 0.92, "points": 8}]),    # 1
    ov("add", "indicators.LOCAL", NEW_INDICATOR),                                  # 2
    ov("remove", "adjustments.HONOUR"),                                            # 3
    ov("disable", "indicators.COUNT"),                                             # 4
    ov("set", "grading.bands[1].min", 10),                                         # 5
    ov("set", "indicators.RATE.scoring.missing", "exclude"),                       # 6
]


def upstream(**changes: Any) -> dict[str, Any]:
    """A new parent: PARENT with dotted paths set (``None`` deletes)."""
    doc = copy.deepcopy(PARENT)
    for path, value in changes.items():
        tokens = parse_path(path.replace("__", "."))
        node = doc
        for t in tokens[:-1]:
            node = node[t]
        if value is None:
            del node[tokens[-1]]
        else:
            node[tokens[-1]] = value
    return doc


def test_rebase_onto_the_same_parent_carries_everything():
    result = rebase(PARENT, copy.deepcopy(PARENT), LOCAL)
    assert result.clean and result.carried == validate_overrides(LOCAL) and result.conflicts == []
    assert result.as_dict() == {"carried": validate_overrides(LOCAL), "conflicts": []}


def test_unrelated_upstream_changes_carry_the_overrides_over():
    new = upstream(indicators__RATE__formula="a / (a + b)", indicators__RATE__description="新说明",
                   dimensions__efficiency__adjustment_cap=6, vetoes__NEW={"name": "新", "event": "honour",
                                                                          "effect": "bar_grade", "grade": "优秀"})
    result = rebase(PARENT, new, LOCAL)
    assert result.clean
    doc = resolve(new, result.carried, CHILD)
    assert doc["indicators"]["RATE"]["formula"] == "a / (a + b)"
    assert doc["indicators"]["RATE"]["scoring"]["tiers"] == [{"min": 0.92, "points": 8}]
    assert doc["dimensions"] == {"quality": {"name": "质量", "weight": 45},
                                 "efficiency": {"name": "效率", "weight": 60, "adjustment_cap": 6}}
    load_scheme(doc)


def test_a_local_weight_is_confirmed_again_when_upstream_moves_another_weight():
    """The weights are one split: the county's 质量 45 was written against 40/60; upstream's 40/50 makes it
    45/50 — a split nobody chose — so the local weight is a conflict (kind ``weights``) even though its own
    value upstream did not change."""
    new = upstream(dimensions__efficiency__weight=50)
    [c] = rebase(PARENT, new, LOCAL).conflicts
    assert (c.index, c.path, c.kind) == (0, "dimensions.quality.weight", "weights")
    assert (c.upstream_old, c.upstream_new, c.local) == (40, 40, 45)
    assert c.applies and c.choices == ("keep", "take_upstream", "edit") and "一种分配" in c.message
    # An upstream change of anything but the weights leaves a local weight alone.
    assert rebase(PARENT, upstream(dimensions__efficiency__name="办案效率"), LOCAL).clean


def test_a_value_changed_upstream_is_a_conflict():
    new = upstream(dimensions__quality__weight=50)
    result = rebase(PARENT, new, LOCAL)
    [c] = result.conflicts
    assert (c.index, c.op, c.path, c.kind) == (0, "set", "dimensions.quality.weight", "changed")
    assert (c.upstream_old, c.upstream_new, c.local, c.in_old, c.in_new) == (40, 50, 45, True, True)
    assert c.applies and c.choices == ("keep", "take_upstream", "edit")
    assert "upstream changed" in c.message and "上级" in c.message
    assert result.carried == validate_overrides(LOCAL)[1:]


def test_an_equal_number_written_differently_is_not_a_change_but_true_is_not_one():
    assert rebase(PARENT, upstream(dimensions__quality__weight=40.0), LOCAL).clean
    parent = upstream(dimensions__quality__weight=1)
    [c] = rebase(parent, upstream(dimensions__quality__weight=True), LOCAL).conflicts
    assert (c.path, c.upstream_old, c.upstream_new) == ("dimensions.quality.weight", 1, True)


def test_a_path_gone_upstream_is_a_conflict_that_can_only_take_upstream():
    new = upstream(indicators__RATE=None)
    by_index = {c.index: c for c in rebase(PARENT, new, LOCAL).conflicts}
    assert set(by_index) == {1, 6}
    c = by_index[1]
    assert c.kind == "gone" and not c.in_new and c.upstream_new is None and not c.applies
    assert c.choices == ("take_upstream",) and "no longer exists" in c.message
    assert by_index[6].kind == "gone"


def test_a_list_item_gone_upstream_is_a_conflict():
    new = upstream(grading__bands=[{"grade": "合格", "min": 0}])
    [c] = rebase(PARENT, new, LOCAL).conflicts
    assert (c.index, c.kind, c.applies) == (5, "gone", False)


def test_an_add_colliding_with_a_new_upstream_entry_is_a_conflict():
    theirs = {**NEW_INDICATOR, "name": "上级也加了"}
    [c] = rebase(PARENT, upstream(indicators__LOCAL=theirs), LOCAL).conflicts
    assert (c.index, c.kind, c.in_old, c.in_new) == (2, "added", False, True)
    assert (c.upstream_old, c.upstream_new) == (None, theirs)
    assert c.local == NEW_INDICATOR and not c.applies and c.choices == ("take_upstream", "edit")


def test_remove_and_disable_conflict_when_their_entry_changed_upstream():
    new = upstream(adjustments__HONOUR__points=3, indicators__COUNT__scored=False)
    by_index = {c.index: c for c in rebase(PARENT, new, LOCAL).conflicts}
    assert set(by_index) == {3, 4}
    removed, disabled = by_index[3], by_index[4]
    assert removed.kind == "changed" and removed.applies and removed.choices == ("keep", "take_upstream")
    assert removed.upstream_old["points"] == 2 and removed.upstream_new["points"] == 3 and removed.local is None
    assert disabled.kind == "changed" and not disabled.applies and disabled.choices == ("take_upstream",)
    assert "already analysis-only" in disabled.message


def test_a_key_the_parent_omitted_conflicts_once_upstream_sets_it():
    assert rebase(PARENT, upstream(indicators__RATE__description="x"), LOCAL).clean
    [c] = rebase(PARENT, upstream(indicators__RATE__scoring__missing="zero"), LOCAL).conflicts
    assert (c.index, c.in_old, c.in_new, c.upstream_old, c.upstream_new) == (6, False, True, None, "zero")


def test_rebase_refuses_invalid_overrides():
    with pytest.raises(LocalizationError):
        rebase(PARENT, PARENT, [ov("set", "code", "x")])


def test_settle_keep_take_upstream_and_edit():
    new = upstream(dimensions__quality__weight=50)
    result = rebase(PARENT, new, LOCAL)
    [c] = result.conflicts
    mine = LOCAL[0]
    assert settle(mine, c, "keep") == validate_overrides([mine])[0]
    assert settle(mine, c, "keep", reason="仍然重质量")["reason"] == "仍然重质量"
    assert settle(mine, c, "take_upstream") is None
    assert settle(mine, c, "edit", 55) == {"op": "set", "path": "dimensions.quality.weight", "value": 55,
                                          "reason": mine["reason"]}
    for settled, weight in ((settle(mine, c, "keep"), 45), (None, 50), (settle(mine, c, "edit", 55), 55)):
        overrides = rebased_overrides(result, {0: settled})
        assert len(overrides) == len(LOCAL) - (settled is None)
        doc = resolve(new, overrides, CHILD)
        assert doc["dimensions"]["quality"]["weight"] == weight
        load_scheme(doc)


def test_settle_an_add_collision_by_editing_turns_it_into_a_set():
    theirs = {**NEW_INDICATOR, "name": "上级也加了"}
    new = upstream(indicators__LOCAL=theirs)
    result = rebase(PARENT, new, LOCAL)
    [c] = result.conflicts
    settled = settle(LOCAL[2], c, "edit", NEW_INDICATOR)
    assert settled == {"op": "set", "path": "indicators.LOCAL", "value": NEW_INDICATOR, "reason": LOCAL[2]["reason"]}
    doc = resolve(new, rebased_overrides(result, {2: settled}))
    assert doc["indicators"]["LOCAL"] == NEW_INDICATOR
    assert resolve(new, rebased_overrides(result, {2: None}))["indicators"]["LOCAL"] == theirs


@pytest.mark.parametrize(("new", "index", "choice", "value", "fragment"), [
    (upstream(dimensions__quality__weight=50), 0, "merge", 1, "unknown choice"),
    (upstream(dimensions__quality__weight=50), 0, "edit", ..., "needs a value"),
    (upstream(indicators__RATE=None), 1, "keep", None, "no longer applies"),
    (upstream(indicators__RATE=None), 1, "edit", [], "edit: only"),
    (upstream(indicators__LOCAL=NEW_INDICATOR), 2, "keep", None, "no longer applies"),
    (upstream(adjustments__HONOUR__points=3), 3, "edit", 1, "edit: only"),
    (upstream(indicators__COUNT__scored=False), 4, "keep", None, "no longer applies"),
])
def test_settle_refuses_choices_the_conflict_does_not_allow(new, index, choice, value, fragment):
    [c] = [c for c in rebase(PARENT, new, LOCAL).conflicts if c.index == index]
    with pytest.raises(LocalizationError) as exc:
        if value is ...:
            settle(LOCAL[index], c, choice)
        else:
            settle(LOCAL[index], c, choice, value)
    [problem] = exc.value.problems
    assert problem["index"] == index and problem["path"] == c.path and fragment in problem["message"]


def test_settle_checks_the_override_is_the_conflicting_one_and_the_result_is_valid():
    [c] = rebase(PARENT, upstream(dimensions__quality__weight=50), LOCAL).conflicts
    with pytest.raises(LocalizationError, match="not the one in conflict"):
        settle(LOCAL[1], c, "keep")
    with pytest.raises(LocalizationError, match="JSON data"):
        settle(LOCAL[0], c, "edit", math.inf)
    with pytest.raises(LocalizationError, match="missing reason"):
        settle(LOCAL[0], c, "keep", reason=" ")


def test_conflicts_round_trip_through_plain_data():
    [c] = rebase(PARENT, upstream(dimensions__quality__weight=50), LOCAL).conflicts
    data = c.as_dict()
    assert data["choices"] == ["keep", "take_upstream", "edit"] and data["override"]["path"] == c.path
    assert Conflict.from_dict(data) == c
    assert settle(LOCAL[0], data, "edit", 47)["value"] == 47


def test_rebased_overrides_needs_every_conflict_settled_and_nothing_else():
    result = rebase(PARENT, upstream(dimensions__quality__weight=50, adjustments__HONOUR__points=3), LOCAL)
    with pytest.raises(LocalizationError) as exc:
        rebased_overrides(result, {0: None, 1: LOCAL[1]})
    assert {(p["index"], p["message"].split(" (")[1]) for p in exc.value.problems} == {
        (3, "conflict not settled)"), (1, "no conflict at this index)")}
    assert [o["path"] for o in rebased_overrides(result, {0: None, 3: None})] == [
        "indicators.RATE.scoring.tiers", "indicators.LOCAL", "indicators.COUNT", "grading.bands[1].min",
        "indicators.RATE.scoring.missing"]


# ---------------------------------------------------------------------------------------------
# the county localisation stored as overrides


def county_overrides() -> dict[str, Any]:
    return doc_of(COUNTY_OVERRIDES)


def test_the_county_overrides_file_names_its_base_and_identity():
    data = county_overrides()
    county = doc_of(COUNTY)
    assert set(data) == {"code", "name", "org", "description", "base", "overrides"}
    assert data["base"] == {"scheme": doc_of(TEMPLATE)["code"]}
    assert {k: data[k] for k in IDENTITY_KEYS} == {k: county[k] for k in IDENTITY_KEYS}
    assert all(o["reason"].strip() for o in data["overrides"])


def test_the_county_overrides_resolve_to_exactly_the_county_document():
    data, template, county = county_overrides(), doc_of(TEMPLATE), doc_of(COUNTY)
    resolved = resolve(template, data["overrides"], {k: data[k] for k in IDENTITY_KEYS})
    assert resolved == county
    assert diff(county, resolved) == {}
    scheme = load_scheme(resolved)
    assert scheme.content_hash == load_scheme(county).content_hash
    assert not scheme.indicators["PUBLIC_HEARING_COUNT"].scored


def test_the_county_overrides_are_the_four_documented_local_changes():
    data, template = county_overrides(), doc_of(TEMPLATE)
    assert [(o["op"], o["path"], kind_of(o)[0]) for o in data["overrides"]] == [
        ("add", "metrics.pil_cases_all", "新增本地度量"),
        ("add", "metrics.black_soil_cases", "新增本地度量"),
        ("add", "indicators.BLACK_SOIL_PIL_SHARE", "新增本地指标"),
        ("set", "dimensions.quality.weight", "调整权重"),
        ("set", "dimensions.efficiency.weight", "调整权重"),
        ("disable", "indicators.PUBLIC_HEARING_COUNT", "停用指标"),
        ("set", "indicators.PLEA_APPLY_RATE.scoring.tiers", "调整档位/目标"),
    ]
    changed = {k: v["status"] for k, v in provenance(template, data["overrides"]).items() if v["status"] != "inherited"}
    assert changed == {
        "dimensions.quality": "changed", "dimensions.efficiency": "changed", "metrics.pil_cases_all": "local",
        "metrics.black_soil_cases": "local", "indicators.PLEA_APPLY_RATE": "changed",
        "indicators.PUBLIC_HEARING_COUNT": "disabled", "indicators.BLACK_SOIL_PIL_SHARE": "local"}


def test_the_county_rebases_onto_a_new_template_version():
    data, template = county_overrides(), doc_of(TEMPLATE)
    new = copy.deepcopy(template)
    new["indicators"]["PLEA_APPLY_RATE"]["scoring"]["tiers"][0]["min"] = 0.91   # upstream raised the top tier
    new["indicators"]["PLEA_APPLY_RATE"]["description"] = "新说明"
    new["dimensions"]["effect"]["weight"] = 35
    result = rebase(template, new, data["overrides"])
    by_path = {c.path: c for c in result.conflicts}
    c = by_path.pop("indicators.PLEA_APPLY_RATE.scoring.tiers")
    assert c.kind == "changed" and c.upstream_new[0]["min"] == 0.91 and c.local[0]["min"] == 0.92
    # Upstream moved 效果's weight: the county's own weights (质量 45, 效率 25) are asked again — kept, they
    # make 45/25/35 (105), which the county then sees and decides.
    assert {p: x.kind for p, x in by_path.items()} == {"dimensions.quality.weight": "weights",
                                                         "dimensions.efficiency.weight": "weights"}
    assert len(result.carried) == len(data["overrides"]) - 3
    overrides = rebased_overrides(result, {x.index: settle(data["overrides"][x.index], x, "keep")
                                           for x in result.conflicts})
    doc = resolve(new, overrides, {k: data[k] for k in IDENTITY_KEYS})
    assert doc["indicators"]["PLEA_APPLY_RATE"]["description"] == "新说明"
    assert doc["indicators"]["PLEA_APPLY_RATE"]["scoring"]["tiers"][0]["min"] == 0.92
    assert {c: d["weight"] for c, d in doc["dimensions"].items()} == {"quality": 45, "efficiency": 25, "effect": 35}
    load_scheme(doc)


# ---------------------------------------------------------------------------------------------
# properties

_json_leaf = st.one_of(st.none(), st.booleans(), st.integers(-1000, 1000),
                       st.floats(allow_nan=False, allow_infinity=False), st.text(max_size=8))
_json = st.recursive(_json_leaf, lambda inner: st.one_of(
    st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=5), inner, max_size=3)), max_leaves=8)
_codes = st.from_regex(r"[A-Z][A-Z0-9_]{0,6}", fullmatch=True)
_reasons = st.text(min_size=1, max_size=10).filter(visible)  # a reason holds something a reader sees

# Independent places of PARENT an override may touch (no two overlap), each with its possible overrides.
_SLOTS = [
    st.builds(lambda v, r: ov("set", "dimensions.quality.weight", v, r), _json, _reasons),
    st.builds(lambda v, r: ov("set", "dimensions.efficiency.adjustment_cap", v, r), _json, _reasons),
    st.builds(lambda v, r: ov("set", "dimensions.quality.adjustment_cap", v, r), _json, _reasons),
    st.builds(lambda v, r: ov("set", "indicators.RATE.scoring.tiers", v, r), _json, _reasons),
    st.builds(lambda v, r: ov("set", "indicators.RATE.lines", v, r), _json, _reasons),
    st.one_of(st.builds(lambda r: ov("disable", "indicators.COUNT", reason=r), _reasons),
              st.builds(lambda r: ov("remove", "indicators.COUNT", reason=r), _reasons),
              st.builds(lambda v, r: ov("set", "indicators.COUNT.scoring", v, r), _json, _reasons)),
    st.builds(lambda r: ov("remove", "adjustments.HONOUR", reason=r), _reasons),
    st.builds(lambda r: ov("remove", "vetoes.WRONG", reason=r), _reasons),
    st.builds(lambda v, r: ov("set", "grading.bands[1].min", v, r), _json, _reasons),
    st.builds(lambda v, r: ov("set", "combination", v, r), _json, _reasons),
    st.builds(lambda c, v, r: ov("add", f"indicators.L_{c}", v, r), _codes,
              st.dictionaries(st.text(max_size=5), _json, max_size=3), _reasons),
    st.builds(lambda c, v, r: ov("add", f"metrics.m_{c}", v, r), _codes,
              st.dictionaries(st.text(max_size=5), _json, max_size=3), _reasons),
]


@st.composite
def local_overrides(draw) -> list[dict[str, Any]]:
    chosen = draw(st.lists(st.sampled_from(range(len(_SLOTS))), unique=True, max_size=len(_SLOTS)))
    return [draw(_SLOTS[i]) for i in chosen]


_identities = st.fixed_dictionaries({}, optional={
    "code": st.text(max_size=10), "name": st.text(max_size=10), "org": st.from_regex(r"\d{6}", fullmatch=True),
    "description": st.text(max_size=20)})


@settings(max_examples=60, deadline=None)
@given(_identities)
def test_resolving_no_overrides_gives_the_parent_with_the_identity(identity):
    assert resolve(PARENT, [], identity) == {**PARENT, **identity}


@settings(max_examples=150, deadline=None)
@given(local_overrides())
def test_rebase_onto_an_unchanged_parent_carries_everything(overrides):
    before = copy.deepcopy(overrides)
    resolved = resolve(PARENT, overrides, CHILD)
    result = rebase(PARENT, copy.deepcopy(PARENT), overrides)
    assert result.clean and result.carried == validate_overrides(overrides)
    assert resolve(PARENT, result.carried, CHILD) == resolved
    assert rebased_overrides(result, {}) == result.carried
    assert overrides == before
    prov = provenance(PARENT, overrides)
    touched = {k for k, v in prov.items() if v["status"] != "inherited"}
    assert touched == {k for k, v in prov.items() if v["overrides"]}
    # what differs from the parent lies only in the parts the overrides touch
    d = diff(PARENT, resolved)
    for coll in ("dimensions", "metrics", "indicators", "adjustments", "vetoes"):
        for code in (*d.get(coll, {}).get("added", ()), *d.get(coll, {}).get("removed", ()),
                     *d.get(coll, {}).get("changed", {})):
            assert f"{coll}.{code}" in touched
    for section in ("combination", "grading"):
        assert section not in d or section in touched


@settings(max_examples=100, deadline=None)
@given(local_overrides(), st.data())
def test_rebase_reports_exactly_the_overrides_whose_target_moved_upstream(overrides, data):
    new = copy.deepcopy(PARENT)
    moved = data.draw(st.sets(st.sampled_from(["dimensions.quality.weight", "indicators.RATE.scoring.tiers",
                                               "grading.bands[1].min", "indicators.RATE.lines"])))
    for path in moved:
        tokens = parse_path(path)
        node = new
        for t in tokens[:-1]:
            node = node[t]
        node[tokens[-1]] = ["upstream changed this", path]
    result = rebase(PARENT, new, overrides)
    normalised = validate_overrides(overrides)
    assert {c.path for c in result.conflicts} == {o["path"] for o in normalised if o["path"] in moved}
    assert len(result.carried) + len(result.conflicts) == len(normalised)
