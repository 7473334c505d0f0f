"""Stored (Chinese) grade and participation reasons said in English on English pages (an audit found the
quota decision behind a grade only in Chinese there)."""

from __future__ import annotations

import re

import pytest

from rulesvc.engine.explain import MISSING_WORDS
from rulesvc.engine.participation import NO_ACTIVITY_REASON
from rulesvc.engine.peers import ROUNDING_LABELS
from rulesvc.engine.reasons_en import _MISSING_EN, ROUNDING_EN, in_english
from rulesvc.services.results_words import said

CJK = re.compile(r"[\u4e00-\u9fff]")


@pytest.mark.parametrize(("stored", "english"), [
    ("总分 95.71 ≥ 95 → 优秀；优秀名额 15% × 26 人，四舍五入共 4 名，可评优秀且总分不低于本人者 6 名，超出名额 → 良好",
     "total 95.71 ≥ 95 → 优秀; 优秀 quota 15% × 26 evaluated = 4 places (rounded half up); 6 who may be graded 优秀 "
     "have a total at least this one's: over the quota → 良好"),
    ("总分 95.71 ≥ 95 → 优秀；优秀名额 15% × 26 人，向下取整共 1 名，可评优秀且总分不低于本人者 4 名（已评更高等次者不占本等次名额）"
     "，超出名额（与 2 人同分，同分者同进同退，名额不得超出） → 良好",
     "total 95.71 ≥ 95 → 优秀; 优秀 quota 15% × 26 evaluated = 1 place (rounded down); 4 who may be graded 优秀 have "
     "a total at least this one's (those graded a better band take none of its places): over the quota (tied with 2: "
     "the tied stand or fall together, the quota is never exceeded) → 良好"),
    # as reasons stored before engine 2026.12.12 wrote them (a publication keeps them)
    ("总分 95.71 ≥ 95 → 优秀；优秀名额 15% × 26 人，四舍五入共 4 名，可评优秀且总分不低于本人者 6 名 → 顺延 → 良好",
     "total 95.71 ≥ 95 → 优秀; 优秀 quota 15% × 26 evaluated = 4 places (rounded half up); 6 who may be graded 优秀 "
     "have a total at least this one's: over the quota → 良好"),
    ("总分 95.71 ≥ 95 → 优秀；优秀名额 15% × 26 人，向下取整共 1 名，可评优秀且总分不低于本人者 4 名 → 顺延（与 2 人同分，同分者一并顺延，"
     "名额不超出） → 良好",
     "total 95.71 ≥ 95 → 优秀; 优秀 quota 15% × 26 evaluated = 1 place (rounded down); 4 who may be graded 优秀 have "
     "a total at least this one's: over the quota (tied with 2: the tied stand or fall together, the quota is never "
     "exceeded) → 良好"),
    ("总分 78.92 低于合格分数线 80 → 不合格", "total 78.92 is below 合格's lowest total 80 → 不合格"),
    ("总分 91 ≥ 90 → 良好；错案：等次最高为合格 → 合格", "total 91 ≥ 90 → 良好; 错案: graded 合格 at best → 合格"),
    ("总分 96 ≥ 95 → 优秀；一票否决：不得评为优秀 → 良好", "total 96 ≥ 95 → 优秀; veto: may not be graded 优秀 → 良好"),
    ("本期间在任 100 天（任职 2020-03-01 至今），不足期间 366 天的 50%，不参加等次评定",
     "in office 100 of the period's 366 days (in office 2020-03-01 to today), less than 50%: not graded"),
    ("本期间在任 100 天（任职 2020-03-01 至 今），不足期间 366 天的 50%，不参加等次评定",  # before 2026.12.12
     "in office 100 of the period's 366 days (in office 2020-03-01 to today), less than 50%: not graded"),
    ("本期间不在任（任职 2015-01-01 至 2019-12-31），不参加考评",
     "not in office during the period (in office 2015-01-01 to 2019-12-31): not evaluated"),
    ("非员额人员，不参加考评", "not a quota prosecutor: not evaluated by this scheme"),
    ("本方案只考评市级院、基层院，省级院不参加考评",
     "this scheme evaluates only city-level, county-level procuratorates: provincial ones are not evaluated"),
    ("市级院 9 个：排名末 3 位须书面说明", "city-level units (9): the last 3 must explain in writing"),
    ("基层院 87 个：后 30% 即 87 × 30% 向下取整为 26 个须书面说明",
     "county-level units (87): the last 30% (87 × 30%, rounded down = 26) must explain in writing"),
    ("省级院仅 1 个，不多于 3 个：不作末位标记（bottom_k_when_small: none）",
     "provincial units: only 1, not more than 3: none is flagged"),
    # the rule that fired, as a card shows it (an English card read "80% 达到 ≥ 80% 档 → 4 分")
    ("80% 在“≥ 80%”档 → 4 分", "80% is in the ≥ 80% tier → 4 points"),
    ("3% 在“≤ 5%”档 → 10 分", "3% is in the ≤ 5% tier → 10 points"),
    ("与最优者之比 0.875 在 0.3 与 0.9 之间，按比例计 5.75 分",
     "ratio to the best 0.875 is between 0.3 and 0.9: in proportion, 5.75 points"),
    ("平均值与本值之比 1.3915 在 0.5 与 1.5 之间，按比例计 7.9 分",
     "the average's ratio to this value 1.3915 is between 0.5 and 1.5: in proportion, 7.9 points"),
    ("组内百分位 87.5% 在 0% 与 100% 之间，按比例计 5.25 分",
     "percentile in the group 87.5% is between 0% and 100%: in proportion, 5.25 points"),
    ("0% 低于 60%，不在任何一档 → 0 分", "0% is below 60%, in no tier → 0 points"),
    ("100% 高于 10%，不在任何一档 → 0 分", "100% is above 10%, in no tier → 0 points"),
    # as cards made before engine 2026.12.12 wrote them (a publication keeps them)
    ("80% 达到 ≥ 80% 档 → 4 分", "80% reaches the ≥ 80% tier → 4 points"),
    ("与最优者之比 0.875 在 0.3 与 0.9 之间，按线性插值得 5.75 分",
     "ratio to the best 0.875 is between 0.3 and 0.9: in proportion, 5.75 points"),
    ("0% 低于最低档 60% → 0 分", "0% is below the lowest tier 60% → 0 points"),
    ("12 × 0.5 分，封顶 4 分", "12 × 0.5 points, capped at 4 points"),
    ("3 × 0.5 分 = 1.5 分", "3 × 0.5 points = 1.5 points"),
    ("无数据或同组无从比较（原因见说明） → 不计入", "no data, or nothing to compare with in the group (see the note) → excluded"),
    ("无数据 → 计零分：0 分", "no data → scores 0: 0 points"),
    ("5.2% 不高于 6% → 1 分", "5.2% is not above 6% → 1 point"),
])
def test_each_form_the_engine_writes_reads_in_english(stored: str, english: str) -> None:
    assert in_english(stored) == english
    assert said(stored, "en") == english and said(stored, "zh") == stored


def test_what_has_no_known_form_is_kept_and_every_rounding_has_its_words() -> None:
    assert in_english("本院自定的说明") == "本院自定的说明"
    assert not CJK.search(in_english(NO_ACTIVITY_REASON))
    assert set(ROUNDING_LABELS.values()) == set(ROUNDING_EN)
    assert set(MISSING_WORDS.values()) == set(_MISSING_EN)
    assert said("优秀名额（15%）未核定：缺少同组总分 (quota not checked)", "en") == "quota not checked"


@pytest.mark.parametrize("name", ["province-prosecutor-template.yaml", "province-procuratorate-quality.yaml"])
def test_every_rule_of_the_shipped_schemes_reads_in_english(name: str) -> None:
    """Each branch of each indicator of the shipped schemes, as a card states it, has English words."""
    import math

    from rulesvc.config import PROJECT_ROOT
    from rulesvc.engine.compile import compile_scheme
    from rulesvc.engine.dictionary import load_dictionary
    from rulesvc.engine.explain import describe_branch
    from rulesvc.schema.scheme import load_scheme, read_document

    compiled = compile_scheme(load_scheme(read_document((PROJECT_ROOT / "rules/schemes" / name).read_text(
        encoding="utf-8"))), load_dictionary(PROJECT_ROOT / "rules"))
    seen = 0
    for ci in compiled.indicators:
        if ci.piecewise is None:
            continue
        for br in ci.piecewise.branches:
            x = next(v for v in (br.lo, br.hi, 0.5, 1.0) if isinstance(v, float) and math.isfinite(v))
            text = describe_branch(ci, br.id, x, br.points(x))
            assert not CJK.search(in_english(text)), text
            seen += 1
        assert not CJK.search(in_english(describe_branch(ci, "missing", None, None))), ci.indicator.code
    assert seen > 20
