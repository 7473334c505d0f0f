"""The words and numbers of the designer's 模拟测评 pages (rulesvc.services.designer_simulation): 分, 人 and
percentages as people write them, in Chinese and English, and "why it moved" shaped for reading."""

from __future__ import annotations

from rulesvc.services.designer_simulation import Numbers, why_rows


def test_numbers_read_as_people_write_them_in_chinese():
    n = Numbers("zh")
    assert n.pts(91.754) == "91.75 分" and n.pts(None) == "—"
    assert n.delta(0.5) == "+0.50 分" and n.delta(-1.234) == "−1.23 分" and n.delta(0.0001) == "±0.00 分"
    assert n.people(2865) == "2,865 人" and n.pct(0.14066) == "14.1%" and n.pct(None) == "—"
    assert n.rank(1078) == "第 1,078 名" and n.rank_move(393) == "上升 393 名" and n.rank_move(-2) == "下降 2 名"


def test_a_change_beside_two_figures_is_the_change_of_the_figures_shown():
    """An audit read 91.75 → 91.62 with "−0.14" beside it (the unrounded means 91.7549… and 91.6151…): the change
    shown is that of the figures shown."""
    n = Numbers("zh")
    assert n.delta(91.6151 - 91.7549) == "−0.14 分"  # the old reading
    assert n.pts(91.7549) == "91.75 分" and n.pts(91.6151) == "91.62 分" and n.change(91.7549, 91.6151) == "−0.13 分"
    assert n.change(None, 1.0) == "—" and n.change(80.004, 80.0) == "±0.00 分"


def test_numbers_in_english_carry_no_chinese_units():
    n = Numbers("en")
    assert n.pts(91.754) == "91.75" and n.people(2865) == "2,865" and n.rank(3) == "#3"
    assert n.delta(-0.5) == "−0.50" and n.rank_move(0) == "same"


def test_something_that_is_not_a_number_is_a_dash():
    n = Numbers("zh")
    assert n.pts("x") == n.people(None) == n.num(True) == n.delta(None) == "—"


def test_why_keeps_what_moved_the_total_largest_first_with_bar_widths():
    items = [{"kind": "indicator", "code": "A", "name": "甲", "delta": 0.6},
             {"kind": "base", "code": "base", "name": "基础分", "delta": 0.0},
             {"kind": "adjustment", "code": "B", "name": "乙", "delta": -0.3}]
    out = why_rows(items)
    assert [w["code"] for w in out["items"]] == ["A", "B"] and out["more"] == 0
    assert [w["width"] for w in out["items"]] == [100.0, 50.0]
    assert abs(out["total"] - 0.3) < 1e-12
    many = why_rows([{"kind": "indicator", "code": f"I{i}", "name": "", "delta": 1.0 / (i + 1)} for i in range(14)])
    assert len(many["items"]) == 10 and many["more"] == 4


def test_another_dimensions_weight_is_named_under_an_indicator_whose_own_did_not_move():
    """A UI audit: 质量 45 → 50 and 效率 25 → 20 moved 效果's indicator −0.20 for someone with nothing to score in
    效率 (its weight is shared out), and the note read only "……或其他维度可计分的情况变化"."""
    from rulesvc.services.designer_simulation import weight_notes

    def doc(q: int, e: int) -> dict:
        return {"dimensions": {"quality": {"name": "质量", "weight": q}, "efficiency": {"name": "效率", "weight": e},
                               "effect": {"name": "效果", "weight": 30}},
                "indicators": {"Q1": {"dimension": "quality"}, "F1": {"dimension": "effect"}}}

    notes = weight_notes(doc(50, 20), doc(45, 25), "zh")
    assert notes["Q1"] == "得分未变，计入总分变了：所在维度“质量”的权重 45 → 50。"
    assert notes["F1"].startswith("得分未变，计入总分变了：其他维度的权重有变化（“质量” 45 → 50、“效率” 25 → 20）")
    assert "其权重按比例分给其余维度" in notes["F1"]
    assert "another dimension's weight changed (质量 45 → 50, 效率 25 → 20)" in weight_notes(doc(50, 20), doc(45, 25), "en")["F1"]
    assert weight_notes(doc(45, 25), doc(45, 25), "zh") == {}  # nothing moved: nothing said


def test_the_approval_card_says_what_the_simulation_found():
    """Grades and totals that move, and the candidate's flagged indicators by flag (a reviewer approved on "模拟测评
    #5" alone: a threshold nobody reached and indicators most people are not scored on went unseen)."""
    import gzip
    import json
    from types import SimpleNamespace

    from rulesvc.services.designer_simulation import gate_summary

    def side(**flags):
        return {"flags": {"flat": False, "tiers_never_reached": [], "tier_everyone": None, "mostly_excluded": False,
                          **flags}}

    report = {"periods": [{"period": "2020", "movers": {"moved": 24, "up": 12, "down": 12, "grade_up": 1,
                                                           "grade_down": 2},
                           "indicators": [{"name": "确定刑量刑建议提出率", "candidate": side(tiers_never_reached=["t0"])},
                                          {"name": "员额检察官办案量", "candidate": side(mostly_excluded=True),
                                           "baseline": side()},
                                          {"name": "司法救助件数", "candidate": side(mostly_excluded=True)},
                                          {"name": "只在基准版本", "candidate": None, "baseline": side(flat=True)}]}]}
    run = SimpleNamespace(status="succeeded", report=gzip.compress(json.dumps(report).encode()))
    assert gate_summary(run, "zh") == ["2020：等次上升 1 人、下降 2 人；总分上升 12 人、下降 12 人；有无人达到的档次：确定刑量刑建议提出率；"
                                       "多数人不计入：员额检察官办案量、司法救助件数。"]
    assert gate_summary(run, "en") == ["2020: 1 up a grade, 2 down; totals up for 12, down for 12; a tier nobody reaches: "
                                       "确定刑量刑建议提出率; left out for most: 员额检察官办案量, 司法救助件数."]
    assert gate_summary(SimpleNamespace(status="failed", report=None), "zh") == []
