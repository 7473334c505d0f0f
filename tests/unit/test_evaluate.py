"""One subject's evaluation: the trace accounts for every point, and vetoes, quotas and caps apply."""

from __future__ import annotations

import datetime as dt
import math

import pytest

from rulesvc.config import PROJECT_ROOT
from rulesvc.engine.compile import compile_scheme
from rulesvc.engine.dictionary import load_dictionary
from rulesvc.engine.evaluate import Subject, evaluate_subject
from rulesvc.engine.peers import PeerContext, PeerStats
from rulesvc.engine.render import render_text
from rulesvc.schema.scheme import load_scheme, read_document

DICT = load_dictionary(PROJECT_ROOT / "rules")
COMPILED = compile_scheme(load_scheme(read_document(
    (PROJECT_ROOT / "tests/data/schemes/mini.yaml").read_text(encoding="utf-8"))), DICT)
DAY = dt.date(2020, 7, 10)
SUBJECT = Subject("P1", "张三", line="criminal", groups={"business": "ordinary_crime", "procuratorate": 1})


class Events(list):
    def add(self, etype, case=None, **attrs):
        self.append({"event_id": f"E{len(self) + 1}", "event_type": etype, "case_id": case, "occurred_on": DAY, **attrs})
        return self


def criminal_events(plea=17, reviewed=20, returns=0):
    ev = Events()
    for i in range(reviewed):
        ev.add("case_accepted", f"C{i}", suspects=1, category="ordinary")
        rec = "definite" if i < plea else "none"
        ev.add("prosecution_review", f"C{i}", suspect_id=f"C{i}-S1", decision="prosecute",
               plea_leniency=i < plea, sentencing_rec=rec)
        ev.add("court_judgment", f"C{i}", suspect_id=f"C{i}-S1", result="convicted",
               rec_made=i < plea, rec_adopted=i < plea)
    for i in range(returns):
        ev.add("supplementary_investigation", f"C{i}", round=1)
    return ev


def peers_for(values=(10.0, 20.0, 30.0)):
    stats = {}
    for code in ("adoption", "caseload", "caseload_rank"):
        stats[(code, "ordinary_crime")] = PeerStats.of(values if code != "adoption" else (0.9, 1.0))
    return PeerContext(stats, {None: (80.0, 85.0, 99.0)})  # mini.yaml counts its quota province-wide


def run(events, peers=None):
    return evaluate_subject(COMPILED, SUBJECT, events, period="2020-07", peers=peers or peers_for())


def test_the_attribution_adds_up_to_the_total_exactly():
    r = run(criminal_events())
    total = 0.0
    for line in r.attribution:
        total += line.points
    assert total == r.total
    assert r.attribution[0].kind == "base" and r.attribution[0].points == 80


def test_each_indicator_explains_its_rule_with_numbers():
    r = run(criminal_events(plea=17, reviewed=20))
    plea = r.indicator("plea_rate")
    assert plea.value == pytest.approx(0.85) and plea.points == 8
    assert plea.substituted.startswith("17 / 20")
    assert "85%" in plea.rule and "≥ 85%" in plea.rule
    assert "ind:plea_rate:tier2" in r.fired


def test_the_nearest_tier_says_how_many_more_cases_it_takes():
    r = run(criminal_events(plea=17, reviewed=20))
    near = r.indicator("plea_rate").nearest
    # 17/20 = 85 %; 90 % needs 10 more plea cases counted in both (27/30).
    assert near is not None and near.threshold == 0.9 and near.gain == 2
    assert "再增加 10 件“认罪认罚人数”" in near.needs and "审查起诉人数" in near.needs


def test_a_missing_value_excluded_reweights_its_dimension():
    ev = criminal_events()
    ev = Events(e for e in ev if not (e["event_type"] == "prosecution_review"))  # no reviews: 0/0
    r = run(ev)
    definite = r.indicator("definite_rate")
    assert definite.value is None and not definite.scored and "excluded" in definite.note
    quality = next(d for d in r.dimensions if d.code == "quality")
    assert quality.max_points == 20  # 10 + 10, without the excluded 5


def test_an_indicator_for_another_business_line_is_not_applied():
    civil = Subject("P2", line="civil", groups={"business": "civil", "procuratorate": 1})
    r = evaluate_subject(COMPILED, civil, criminal_events(), period="2020-07", peers=peers_for())
    assert not r.indicator("plea_rate").scored and "not applicable" in r.indicator("plea_rate").note


def test_a_wrongful_case_zeroes_quality_and_bars_the_top_grade():
    ev = criminal_events(plea=20).add("disciplinary_finding", kind="wrongful_case", responsible=True)
    r = run(ev)
    quality = next(d for d in r.dimensions if d.code == "quality")
    assert quality.zeroed_by == "错案" and quality.contribution == 0
    assert {"veto:wrongful", "veto:wrongful_bar"} <= r.fired
    assert r.grade != "优秀"


def test_adjustment_caps_apply_per_item_and_per_dimension():
    ev = criminal_events()
    for _ in range(4):
        ev.add("quality_review", "C1", reviewer_level="city", rating="flawed")
    for _ in range(3):
        ev.add("quality_review", "C2", reviewer_level="province", rating="excellent")
    r = run(ev)
    flawed = next(a for a in r.adjustments if a.code == "review_flawed")
    assert (flawed.raw, flawed.points) == (-12, -6)
    caps = [ln for ln in r.attribution if ln.kind == "cap"]
    assert caps == []  # +15 − 6 = +9 stays within the quality cap of ±10
    for _ in range(2):
        ev.add("quality_review", "C3", reviewer_level="province", rating="excellent")
    r = run(ev)
    [cap] = [ln for ln in r.attribution if ln.kind == "cap"]
    assert cap.points == pytest.approx(10 - (25 - 6 + 1.5))  # + three reviewed cases × 0.5


def test_a_case_pattern_matches_cases_not_events():
    ev = criminal_events()
    ev.add("supplementary_investigation", "X1", round=1).add("supplementary_investigation", "X1", round=2)
    ev.add("prosecution_review", "X1", suspect_id="X1-S1", decision="not_prosecute", plea_leniency=False)
    ev.add("supplementary_investigation", "X2", round=1)
    ev.add("prosecution_review", "X2", suspect_id="X2-S1", decision="not_prosecute", plea_leniency=False)
    r = run(ev)
    [adj] = [a for a in r.adjustments if a.code == "returned_then_dropped"]
    assert adj.event_ids == ("X1",) and adj.points == -2


def test_the_grade_quota_moves_a_subject_down_and_says_why():
    r = run(criminal_events(plea=20), PeerContext(peers_for().stats, {None: (99.0, 99.5, 100.0)}))
    assert r.total >= 92
    r_alone = run(criminal_events(plea=20), PeerContext(peers_for().stats, {None: tuple(sorted([r.total] + [50.0] * 9))}))
    assert r_alone.grade == "优秀"
    crowded = PeerContext(peers_for().stats, {None: tuple(sorted([r.total, r.total + 1, 99.0] + [50.0] * 7))})
    r2 = run(criminal_events(plea=20), crowded)
    assert r2.grade == "良好" and "名额" in r2.grade_reason


def test_the_score_card_text_adds_up_line_by_line():
    r = run(criminal_events())
    text = render_text(r)
    assert "【得分构成】" in text and f"{r.total:10.4f}" in text
    shown = [float(line.split()[0]) for line in text.split("【得分构成】")[1].splitlines()[1:]
             if line.strip() and line.strip()[0] in "+-" and "另有" not in line]
    assert math.isclose(sum(shown), r.total, abs_tol=1e-3)


def test_a_dimension_with_nothing_to_score_is_left_out_and_the_others_reweighted():
    # Only criminal indicators in quality; a civil prosecutor has nothing there this period.
    civil = Subject("P2", line="civil", groups={"business": "civil", "procuratorate": 1})
    ev = Events().add("supervision_action", action="filing", adopted=True)
    r = evaluate_subject(COMPILED, civil, ev, period="2020-07", peers=peers_for())
    quality = next(d for d in r.dimensions if d.code == "quality")
    assert quality.max_points == 0 and quality.weight_share == 0
    live = [d for d in r.dimensions if d.max_points > 0]
    assert sum(d.weight_share for d in live) == pytest.approx(1.0)


def test_a_per_case_adjustment_counts_cases_not_events():
    ev = criminal_events()
    for case in ("C1", "C1", "C2"):
        ev.add("quality_review", case, reviewer_level="county", rating="qualified")
    r = run(ev)
    [adj] = [a for a in r.adjustments if a.code == "reviewed_cases"]
    assert adj.matched == 2 and adj.event_ids == ("C1", "C2") and adj.points == 1.0


def test_the_nearest_hint_for_a_lower_is_better_ratio_says_what_must_not_grow():
    r = run(criminal_events(returns=8))  # 案-件比 (20 + 8) / 20 = 1.4
    near = r.indicator("case_ratio").nearest
    assert near is not None and "且不计入“增加的件数”" in near.needs
