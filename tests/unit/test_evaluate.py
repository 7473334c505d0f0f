"""One subject's evaluation: the trace accounts for every point, and vetoes, quotas and caps apply."""

from __future__ import annotations

import datetime as dt
import math

import pytest

from rulesvc.config import PROJECT_ROOT
from rulesvc.engine.compile import compile_scheme
from rulesvc.engine.dictionary import load_dictionary
from rulesvc.engine.evaluate import evaluate_subject
from rulesvc.engine.model import Subject
from rulesvc.engine.peers import PeerContext, PeerStats
from rulesvc.engine.render import render_text
from rulesvc.schema.scheme import load_scheme, read_document

DICT = load_dictionary(PROJECT_ROOT / "rules")
# The peer groups below are tiny (two or three peers): compare in them all the same.
COMPILED = compile_scheme(load_scheme({**read_document(
    (PROJECT_ROOT / "tests/data/schemes/mini.yaml").read_text(encoding="utf-8")), "peer_min_size": 2}), DICT)
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
    assert (near.events, near.metric, near.unit, near.reached) == (10, "plea", "人", 0.9)  # persons: 人
    assert "再增加 10 人“认罪认罚人数”" in near.needs and "审查起诉人数" in near.needs
    # The effect on the total, not only on the indicator: 2 of the quality dimension's 30 attainable
    # points, worth 20 × 40 % / (40 % + 30 % + 30 %) of the total: 2 × 8 / 25 = 0.64.
    contribution_per_point = r.indicator("plea_rate").contribution / r.indicator("plea_rate").points
    assert near.total_gain == pytest.approx(2 * contribution_per_point) and "总分 +0.64" in near.needs
    # The same reviews also count in the cases handled, read by a peer-relative indicator: said, so that
    # +0.64 reads as this indicator's part of the change, not all of it (an audit: +2 said, +3.45 and a grade real).
    assert near.needs.endswith("；这 10 人也计入“办案数”，该指标随之变化，总分的变化以重新计算为准")
    assert near.needs_en.endswith("; the same 10 also count in “办案数”: it moves too, so the total's change may differ")
    # Only indicators that count for this person are named: with 办案数 not applying to their line, none is.
    doc = read_document((PROJECT_ROOT / "tests/data/schemes/mini.yaml").read_text(encoding="utf-8"))
    doc["indicators"]["caseload"]["lines"] = ["civil"]
    other = compile_scheme(load_scheme({**doc, "peer_min_size": 2}), DICT)
    near = evaluate_subject(other, SUBJECT, criminal_events(), period="2020-07", peers=peers_for()) \
        .indicator("plea_rate").nearest
    assert near is not None and near.needs.endswith("总分 +0.64") and "也计入" not in near.needs


def test_a_missing_value_excluded_reweights_its_dimension():
    ev = criminal_events()
    ev = Events(e for e in ev if not (e["event_type"] == "prosecution_review"))  # no reviews: 0/0
    r = run(ev)
    definite = r.indicator("definite_rate")
    assert definite.value is None and not definite.counted and "excluded" in definite.note
    quality = next(d for d in r.dimensions if d.code == "quality")
    assert quality.max_points == 20  # 10 + 10, without the excluded 5


def test_an_indicator_for_another_business_line_is_not_applied():
    civil = Subject("P2", line="civil", groups={"business": "civil", "procuratorate": 1})
    r = evaluate_subject(COMPILED, civil, criminal_events(), period="2020-07", peers=peers_for())
    assert not r.indicator("plea_rate").counted and "not applicable" in r.indicator("plea_rate").note


def test_a_wrongful_case_zeroes_quality_and_bars_the_top_grade():
    ev = criminal_events(plea=20).add("disciplinary_finding", kind="wrongful_case", responsible=True)
    r = run(ev)
    quality = next(d for d in r.dimensions if d.code == "quality")
    assert quality.zeroed_by == "错案" and quality.contribution == 0
    assert {"veto:wrongful", "veto:wrongful_bar"} <= r.fired
    assert r.grade != "优秀"


def test_a_veto_takes_what_the_dimension_earned_never_what_it_lost():
    """An audit: a wrongful case wiped the quality dimension's −6 of flawed reviews along with its few points, so
    a veto raised a total. The veto now takes the indicators' points and the bonuses; the penalties stand."""
    ev = criminal_events(plea=0, reviewed=3)  # few quality points to lose
    for _ in range(2):
        ev.add("quality_review", "C1", reviewer_level="city", rating="flawed")  # −3 each (cap 6)
    ev.add("quality_review", "C2", reviewer_level="province", rating="excellent")  # +5, a bonus
    clean = run(ev)
    vetoed = run(Events(ev).add("disciplinary_finding", kind="wrongful_case", responsible=True))
    quality = next(d for d in vetoed.dimensions if d.code == "quality")
    assert quality.zeroed_by == "错案" and quality.indicators == 0
    by_code = {a.code: a for a in vetoed.adjustments}
    assert by_code["review_flawed"].points == -6 and "扣分照扣" in by_code["review_flawed"].note
    for bonus in ("review_excellent_province", "reviewed_cases"):  # +5, and +0.5 a reviewed case
        assert by_code[bonus].raw > 0 and by_code[bonus].points == 0 and "加分计 0" in by_code[bonus].note
    assert quality.contribution == quality.adjustments == -6
    # Whatever the dimension earned is gone, and nothing it lost comes back: the veto never raises a total.
    before = next(d for d in clean.dimensions if d.code == "quality")
    assert before.contribution > -6 and before.adjustments == -6 + 5 + 1
    assert vetoed.total == pytest.approx(clean.total - before.contribution - 6) and vetoed.total < clean.total
    assert math.fsum(ln.points for ln in vetoed.attribution) == pytest.approx(vetoed.total)


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
    assert adj.case_ids == ("X1",) and adj.counts == "case" and adj.points == -2
    # The events behind the case (its two returns and the decision), in the order they came in.
    assert adj.event_ids == ("E61", "E62", "E63") and adj.matched == 1


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
    assert adj.matched == 2 and adj.case_ids == ("C1", "C2") and adj.points == 1.0
    assert len(adj.event_ids) == 3 and all(i.startswith("E") for i in adj.event_ids)  # event ids, not case ids


def test_the_nearest_hint_for_a_lower_is_better_ratio_says_what_must_not_grow():
    r = run(criminal_events(returns=8))  # 案-件比 (20 + 8) / 20 = 1.4
    near = r.indicator("case_ratio").nearest
    assert near is not None and "且不计入“增加的件数”" in near.needs


def test_the_hint_for_someone_without_any_of_the_numerator_judges_by_the_filters():
    # 10 ranged recommendations, no definite one: 0 / 10. A definite recommendation is always a recommendation
    # (sentencing_rec == 'definite' implies sentencing_rec in ['definite', 'ranged']): one more counts in both,
    # so 75 % takes 30 more (30 / 40), not 8 "not counted in recs" (8 / 10) — an audit found the latter on the
    # cards of everyone without a single one of the numerator.
    ev = Events()
    for i in range(10):
        ev.add("prosecution_review", f"C{i}", suspect_id=f"C{i}-S1", decision="prosecute", plea_leniency=False,
               sentencing_rec="ranged")
    near = run(ev).indicator("definite_rate").nearest
    assert near is not None and (near.events, near.reached) == (30, 0.75)
    assert "同时计入“提出量刑建议人数”" in near.needs and "不计入" not in near.needs
    assert near.needs_en.startswith("30 more people in “确定刑建议人数” (also counted in “提出量刑建议人数”) → 75%: +5 points")
    assert ("definite", "recs") in COMPILED.implied_pairs and ("recs", "definite") not in COMPILED.implied_pairs
    assert ("judged_recs", "adopted") not in COMPILED.implied_pairs  # rec_made alone does not mean adopted
    assert ("adopted", "judged_recs") in COMPILED.implied_pairs


# -- the score card tells the truth --------------------------------------------------------------------------

def test_each_dimension_line_adds_up_from_the_lines_under_it():
    ev = criminal_events()
    for _ in range(5):
        ev.add("quality_review", "C3", reviewer_level="province", rating="excellent")  # past the ±10 cap
    r = run(ev)
    for d in r.dimensions:
        inds = [i.contribution for i in r.indicators if i.dimension == d.code and i.counted]
        adjs = [a.points for a in r.adjustments if a.dimension == d.code]
        caps = [ln.points for ln in r.attribution if ln.code == f"dimcap:{d.code}"]
        assert d.indicators == pytest.approx(math.fsum(inds), abs=1e-12)
        assert d.adjustments == pytest.approx(math.fsum(adjs + caps), abs=1e-12)
        assert d.contribution == pytest.approx(d.indicators + d.adjustments, abs=1e-12)
    text = render_text(r)
    quality = next(d for d in r.dimensions if d.code == "quality")
    assert f"计入总分 {quality.indicators:+.4f}；加减分 {quality.adjustments:+.4f}；本维度合计 {quality.contribution:+.4f}" in text
    assert "质量加减分封顶" in text  # the cap line sits under the dimension


def test_a_value_one_ulp_under_a_threshold_never_reads_as_reaching_it():
    from rulesvc.engine.explain import describe_branch

    ci = next(c for c in COMPILED.indicators if c.indicator.code == "plea_rate")
    x = math.nextafter(0.8, 0)  # 79.99999999999999 %: below the 80 % tier
    branch = ci.piecewise.branch_for(x)
    text = describe_branch(ci, branch.id, x, branch.points(x))
    assert branch.id == "else" and "80%" in text and "79.99999999999999" in text, text
    assert describe_branch(ci, "tier3", 0.8, 6.0).startswith("80% 在“≥ 80%”档")  # exact values stay short
    lower = next(c for c in COMPILED.indicators if c.indicator.code == "case_ratio")
    assert describe_branch(lower, "top", 1.0, 10.0).startswith("1:1 达到 1:1")  # x ≤ 1 stored as 1 + ulp: still "1:1"


def test_the_hint_states_the_value_reached_in_whole_events_not_the_threshold():
    # 案-件比 (20 + 7) / 20 = 1.35 on a slope from 2.3 (0) to 1.0 (10 points): 7.31 points. The next whole
    # point needs x ≤ 1.26; cases come whole: 7 more without extras give (27 + 7) / (20 + 7) = 1.2593.
    r = run(criminal_events(returns=7))
    near = r.indicator("case_ratio").nearest
    assert near is not None and near.events == 7 and near.unit == "件" and near.threshold == pytest.approx(1.26)
    assert near.reached == 34 / 27 and "即达到 1:1.2593" in near.needs and "1.26，" not in near.needs
    assert near.gain == pytest.approx((2.3 - 34 / 27) / 1.3 * 10 - (2.3 - 1.35) / 1.3 * 10)  # at the value reached


def test_a_percentile_line_shows_the_percentile_and_the_formula_its_labels():
    r = run(criminal_events())
    text = render_text(r)
    rank = r.indicator("caseload_rank")
    assert rank.derive == "percentile" and f"组内百分位 {rank.x:.1%}" in text
    ratio = r.indicator("case_ratio")
    assert ratio.formula_labeled == "(“受理案件数” + “增加的件数”) / “受理案件数”"
    assert "公式：(“受理案件数” + “增加的件数”) / “受理案件数”（(cases + extras) / cases）" in text


def test_a_per_case_penalty_keeps_event_ids_and_case_ids_apart_in_json():
    ev = criminal_events()
    for case in ("C1", "C1", "C2"):
        ev.add("quality_review", case, reviewer_level="county", rating="qualified")
    d = run(ev).as_dict()
    [adj] = [a for a in d["adjustments"] if a["code"] == "reviewed_cases"]
    assert list(adj["case_ids"]) == ["C1", "C2"] and adj["counts"] == "case"
    assert len(adj["event_ids"]) == 3 and not set(adj["event_ids"]) & {"C1", "C2"}


def test_an_indicator_switched_off_with_its_rule_kept_reads_as_analysis_only():
    """清瑞区 switched 公开听证数 off (``scored: false``) but kept its scoring rule: the card says 仅作分析，
    不计分, not an empty "（）"."""
    doc = read_document((PROJECT_ROOT / "tests/data/schemes/mini.yaml").read_text(encoding="utf-8"))
    doc["indicators"]["supervision_points"]["scored"] = False
    compiled = compile_scheme(load_scheme({**doc, "peer_min_size": 2}), DICT)
    r = evaluate_subject(compiled, SUBJECT, criminal_events(), period="2020-07", peers=peers_for())
    line = next(x for x in render_text(r).splitlines() if "侦查监督 =" in x)
    assert line.endswith("（仅作分析，不计分）"), line


def test_an_analysis_only_indicator_says_so_and_a_prorated_one_keeps_its_count_on_the_card():
    """An audit of the API's cards: 不捕率 and the like showed a value and 0 points with an empty note (read as
    a zero score), and a part-year prosecutor's 113.35 cases had nothing to say it was 83 pro-rated."""
    from rulesvc.services.evaluation import summary_of

    doc = read_document((PROJECT_ROOT / "tests/data/schemes/mini.yaml").read_text(encoding="utf-8"))
    doc["indicators"]["supervision_points"]["prorate"] = True
    compiled = compile_scheme(load_scheme({**doc, "peer_min_size": 2}), DICT)
    ev = criminal_events()
    for _ in range(3):
        ev.add("supervision_action", action="filing", adopted=True)
    half = Subject("P1", "张三", line="criminal", groups={"business": "ordinary_crime", "procuratorate": 1},
                   office_share=0.5)
    card = summary_of(evaluate_subject(compiled, half, ev, period="2020-07", peers=peers_for()))
    by_code = {i["code"]: i for i in card["indicators"]}
    assert by_code["aid"]["note"] == "仅作分析，不计分 (analysis only: not scored)" and by_code["aid"]["points"] == 0
    assert by_code["supervision_points"]["value"] == 6 and by_code["supervision_points"]["prorated_from"] == 3
    assert "prorated_from" not in by_code["plea_rate"]  # a rate is not pro-rated
    whole = summary_of(evaluate_subject(compiled, SUBJECT, ev, period="2020-07", peers=peers_for()))
    assert "prorated_from" not in {i["code"]: i for i in whole["indicators"]}["supervision_points"]


def test_a_peer_relative_indicator_says_what_it_was_compared_with():
    """An audit: "与最优者之比 0.7433 → 4.43 分" named neither the best nor how many peers, so nobody could check it."""
    from rulesvc.services.evaluation import summary_of

    r = run(criminal_events(), peers=peers_for((10.0, 20.0, 40.0)))
    caseload = r.indicator("caseload")  # ratio_to_best among the business's peers
    assert caseload.compared is not None
    assert (caseload.compared.kind, caseload.compared.group, caseload.compared.peers) == ("ratio_to_best", "business", 3)
    assert caseload.compared.reference == 40.0 and caseload.x == pytest.approx(caseload.value / 40.0)
    adoption = r.indicator("adoption").compared  # ratio_to_avg
    assert adoption is not None and adoption.reference == pytest.approx(0.95) and adoption.peers == 2
    rank = r.indicator("caseload_rank").compared  # a percentile has no reference
    assert rank is not None and rank.kind == "percentile" and rank.reference is None
    card = {i["code"]: i for i in summary_of(r)["indicators"]}
    assert card["caseload"]["compared"] == {"kind": "ratio_to_best", "group": "business", "peers": 3, "reference": 40.0}
    assert "compared" not in card["plea_rate"]
    # Too few peers: not compared, and the peer note says why.
    thin = run(criminal_events(), peers=PeerContext({}, {None: (80.0,)})).indicator("caseload")
    assert thin.compared is None and "同组不足" in thin.peer_note
