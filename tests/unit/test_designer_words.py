"""The designer pages' words (rulesvc.services.designer_words), without an app: scoring rules as a designer
states them for every method of the registry, in Chinese and English; event conditions with the
dictionary's names and choices; a scheme's total, participants and peers; sources with web addresses."""

from __future__ import annotations

from typing import Any

import pytest

from rulesvc.config import PROJECT_ROOT
from rulesvc.engine.compile import compile_scheme
from rulesvc.engine.model import Indicator, ScoringRule
from rulesvc.engine.scoring import REGISTRY
from rulesvc.services import designer_words as W
from rulesvc.services.dictionary import get_dictionary
from rulesvc.services.scoring import load_scheme_file

RULES = PROJECT_ROOT / "rules"


def indicator(method: str, direction: str = "higher_better", unit: str = "%", **params: Any) -> Indicator:
    return Indicator(code="X", name="某指标", formula="a", dimension="quality", direction=direction, unit=unit,
                     scoring=ScoringRule(method=method, params=params))


@pytest.mark.parametrize(("ind", "zh", "en"), [
    (indicator("tiers", tiers=[{"min": 0.9, "points": 10}, {"min": 0.85, "points": 8}], **{"else": 2}),
     "≥ 90% → 10 分；≥ 85% → 8 分；其余 2 分", "≥ 90% → 10 points; ≥ 85% → 8 points; otherwise 2 points"),
    (indicator("tiers", "lower_better", tiers=[{"max": 0.03, "points": 5}, {"max": 0.05, "points": 3}]),
     "≤ 3% → 5 分；≤ 5% → 3 分；其余 0 分", "≤ 3% → 5 points; ≤ 5% → 3 points; otherwise 0 points"),
    (indicator("linear", "lower_better", "ratio", worst=2.3, best=1.0, points=10),
     "不高于 1:1 得满分 10 分；1:2.3 及更差 0 分；其间按线性计分",
     "1:1 or better: 10 points; 1:2.3 or worse: 0; linear in between"),
    (indicator("linear", worst=0.6, best=0.9, points=8),
     "达到 90% 得满分 8 分；60% 及更差 0 分；其间按线性计分", "90% or better: 8 points; 60% or worse: 0; linear in between"),
    (indicator("per_unit", unit="件", points=2, cap=10), "每件 2 分；封顶 10 分", "2 points each; capped at 10 points"),
    (indicator("per_unit", unit="件", points=-1, cap=-5), "每件扣 1 分；最多扣 5 分", "1 points off each; at most 5 points off"),
    (indicator("pass_fail", threshold=0.75, points=5), "达到 75% → 5 分；未达到 → 0 分",
     "≥ 75% → 5 points; otherwise 0 points"),
    (indicator("percentile", points=15), "同组百分位达到 100% 得满分 15 分；0% 得 0 分；其间按线性计分",
     "percentile in the peer group 100% or more: 15 points; 0%: 0; linear in between"),
    (indicator("ratio_to_avg", worst=0.95, best=1.05, points=15),
     "与同组平均值之比达到 1.05 得满分 15 分；0.95 及以下 0 分；其间按线性计分",
     "ratio to the peer average 1.05 or more: 15 points; 0.95 or less: 0; linear in between"),
    (indicator("ratio_to_best", unit="分", worst=0.3, best=0.9, points=8),
     "与同组最优者之比达到 0.9 得满分 8 分；0.3 及以下 0 分；其间按线性计分",
     "ratio to the best peer 0.9 or more: 8 points; 0.3 or less: 0; linear in between"),
])
def test_scoring_rules_read_as_a_designer_states_them(ind, zh, en):
    assert W.rule_words(ind, "zh") == zh
    assert W.rule_words(ind, "en") == en


def test_every_registered_method_has_words_and_a_glossary_name():
    for name in REGISTRY:
        assert name in W.METHOD_WORDS["zh"] and name in W.METHOD_WORDS["en"], name


@pytest.fixture(scope="module")
def template():
    dictionary = get_dictionary(RULES)
    scheme = load_scheme_file(RULES / "schemes" / "province-prosecutor-template.yaml")
    return scheme, compile_scheme(scheme, dictionary), dictionary


def test_conditions_use_the_dictionary_names_and_choices(template):
    scheme, compiled, dictionary = template
    where = W.adjustment_condition(compiled, "REVIEW_EXCELLENT_PROVINCE")
    assert W.condition_words(where, ("quality_review",), dictionary, "zh") == "“评查层级”为省院，且“评查结论”为优质"
    veto = next(cv for cv in compiled.vetoes if cv.veto.code == "PROVINCE_REVIEW_FLAW_NO_EXCELLENT")
    assert W.condition_words(veto.where.expr, ("quality_review",), dictionary, "zh") == \
        "“评查层级”为省院，且“评查结论”为瑕疵或不合格"
    english = W.condition_words(where, ("quality_review",), dictionary, "en")
    assert "“Reviewed by”" in english and "评查" not in english


def test_a_scheme_total_participants_and_peers_in_words(template):
    scheme, compiled, _ = template
    assert W.combination_words(scheme, "zh") == \
        "总分 = 基础分 80 分 + 20 分 × Σ（维度权重占比 × 维度得分率）+ 加减分；总分封顶 110 分，保底 0 分"
    assert W.participants_words(scheme, "zh")[0] == "员额检察官参加考评"
    assert W.peers_words(scheme, compiled, "zh") == ["组内比较在同业务类别范围内进行；同组不足 5 人，不作比较"]


def test_metrics_say_what_they_count(template):
    _, compiled, dictionary = template
    rows = {cm.metric.code: W.metric_row(cm, dictionary, "zh") for cm in compiled.metrics}
    assert rows["arrest_cases"]["how"] == "案件去重计数"
    assert rows["plea_persons"]["where"] == "“适用认罪认罚”"
    assert rows["civil_admin_workload"]["weights"].startswith("按“监督方式”折算：抗诉 4/3")


def test_sources_show_web_addresses_by_their_host():
    assert W.source_parts("reference/indicators.csv: PLEA_APPLY_RATE; https://app.example.cn/x?id=1") == [
        ("reference/indicators.csv: PLEA_APPLY_RATE", None), ("app.example.cn", "https://app.example.cn/x?id=1")]
    assert W.source_parts("") == []
