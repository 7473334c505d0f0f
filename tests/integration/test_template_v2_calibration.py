"""Version 2 of the provincial template (``rules/revisions/SFS-PROSECUTOR-TEMPLATE/v2.overrides.yaml``)
simulated against version 1 on a generated year of the demo province: the worked example of the
simulate-then-refine loop (模拟测评 → 打磨完善).

v2 only moves thresholds of criminal-line indicators to the province's 2020 level (full marks at the
year-end level, zero at the year-start level, as v1 already did for 确定刑量刑建议提出率). What it must
show: the criminal line's gap to the other lines narrows, without flattening discrimination — the
spread within the criminal line holds, the retuned indicators still separate good from weak, the
ranking moves but stays close to v1's, the 优秀 quota still binds, and nobody outside the criminal
line moves.

The gap does *not* close below one point, and this test does not pretend it does: on the full demo
province v1 trails by 2.9 points and v2 by 2.2. About 0.7 of what is left comes from adjustments that
only criminal prosecutors can receive (case quality reviews exist only for criminal cases in the demo
data; 二次退查后不起诉 and 单案瑕疵累计 are criminal case patterns), the rest from reform indicators
that, even calibrated to the year-end level, average about half marks over a year of reform, and
from the criminal effect dimension scoring sparse supervision counts against the peer average. Closing
that by thresholds would mean inflating criminal points; v2 does not.

Means and spreads are computed here in plain Python over the bulk frame's totals: the point is the
calibration, not the executor. SQLite only: the database plays no part in the comparison.
"""

from __future__ import annotations

import math
import statistics
from collections import Counter, defaultdict

import pytest
import yaml

from rulesvc.config import PROJECT_ROOT
from rulesvc.datagen.demo import DemoConfig, generate_and_load
from rulesvc.engine.bulk import evaluate_bulk
from rulesvc.engine.localize import resolve
from rulesvc.engine.periods import parse_period
from rulesvc.engine.runcompare import kendall_tau_b
from rulesvc.extensions import db
from rulesvc.schema.scheme import load_scheme
from rulesvc.services.dictionary import get_dictionary
from rulesvc.services.scoring import compile_cached, period_data

pytestmark = pytest.mark.slow

TEMPLATE = PROJECT_ROOT / "rules" / "schemes" / "province-prosecutor-template.yaml"
V2 = PROJECT_ROOT / "rules" / "revisions" / "SFS-PROSECUTOR-TEMPLATE" / "v2.overrides.yaml"
# Half the demo province, a whole year (the reform runs January → December): ~20 s to generate and load.
PROSECUTORS = 1500
CRIMINAL = "criminal"
EXCELLENT = "优秀"


def _read(path):
    return yaml.safe_load(path.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def documents():
    v1 = _read(TEMPLATE)
    revision = _read(V2)
    identity = {k: v1[k] for k in ("code", "name", "org", "description")}
    return v1, revision, resolve(v1, revision["overrides"], identity)


@pytest.fixture(scope="module")
def scored(tmp_path_factory, sqlite_app_factory, documents):
    """{"v1": rows, "v2": rows}: per evaluated (graded) prosecutor, id → (line, procuratorate, total,
    grade, {indicator: points}), both versions scored on the same events."""
    v1_doc, _, v2_doc = documents
    app = sqlite_app_factory(tmp_path_factory.mktemp("v2calib"))
    with app.app_context():
        generate_and_load(DemoConfig(prosecutors=PROSECUTORS, months=12))
        dictionary = get_dictionary(app.config["RULES_DIR"])
        v1 = compile_cached(load_scheme(v1_doc), dictionary)
        v2 = compile_cached(load_scheme(v2_doc), dictionary)
        assert v1.event_types == v2.event_types
        data = period_data(db.session(), v1, dictionary, parse_period("2020"))  # loaded once, used twice
        out = {}
        for label, compiled in (("v1", v1), ("v2", v2)):
            frame = evaluate_bulk(compiled, data.events, data.subjects, key=data.key, period=data.span).frame
            pts = [c for c in frame.columns if c.startswith("pts__")]
            rows = {}
            for r in frame.iter_rows(named=True):
                if r["status"] == "evaluated" and r["grade"] is not None:
                    rows[r["prosecutor_id"]] = (r["line"], r["procuratorate_id"], r["total"], r["grade"],
                                                {c[5:]: r[c] for c in pts})
            out[label] = rows
        db.session.remove()
        db.engine.dispose()
    assert out["v1"].keys() == out["v2"].keys() and len(out["v1"]) > 0.9 * PROSECUTORS
    return out


def _totals(rows, criminal: bool) -> list[float]:
    return [t for line, _, t, _, _ in rows.values() if (line == CRIMINAL) == criminal]


def _gap(rows) -> float:
    return statistics.fmean(_totals(rows, False)) - statistics.fmean(_totals(rows, True))


def test_v2_changes_only_thresholds_of_criminal_line_indicators(documents):
    v1, revision, v2 = documents
    assert revision["base"] == {"scheme": "SFS-PROSECUTOR-TEMPLATE"} and revision["change_note"].strip()
    for ov in revision["overrides"]:
        assert ov["op"] == "set" and ov["reason"].strip()
        root, code, section, *rest = ov["path"].split(".")
        assert (root, section) == ("indicators", "scoring") and rest and rest[0] != "method", ov["path"]
        assert v1["indicators"][code]["lines"] == [CRIMINAL], code
    changed = {k for k in v1 if v1[k] != v2[k]}
    assert changed == {"indicators"}
    changed_indicators = {k for k in v1["indicators"] if v1["indicators"][k] != v2["indicators"][k]}
    assert changed_indicators == {ov["path"].split(".")[1] for ov in revision["overrides"]}
    for code in changed_indicators:  # the scoring rule keeps its method and its points
        a, b = v1["indicators"][code], v2["indicators"][code]
        assert {k: v for k, v in a.items() if k != "scoring"} == {k: v for k, v in b.items() if k != "scoring"}
        assert a["scoring"]["method"] == b["scoring"]["method"]
        assert a["scoring"].get("points") == b["scoring"].get("points")
        assert [t["points"] for t in a["scoring"].get("tiers", [])][:1] == [t["points"] for t in b["scoring"].get("tiers", [])][:1]


def test_v1_criminal_line_trails_and_v2_narrows_the_gap(scored):
    v1_gap, v2_gap = _gap(scored["v1"]), _gap(scored["v2"])
    assert v1_gap > 1.5, v1_gap
    # Narrower by at least half a point, yet still a gap (see the module docstring for why not < 1.0).
    assert 0 < v2_gap <= v1_gap - 0.5, (v1_gap, v2_gap)


def test_other_lines_do_not_move(scored):
    v1, v2 = scored["v1"], scored["v2"]
    others = [k for k, (line, *_) in v1.items() if line != CRIMINAL]
    assert others and all(v1[k][2] == v2[k][2] for k in others)


def test_spread_within_the_criminal_line_holds(scored):
    sd1 = statistics.pstdev(_totals(scored["v1"], True))
    sd2 = statistics.pstdev(_totals(scored["v2"], True))
    assert sd2 >= 0.8 * sd1, (sd1, sd2)


def test_ranking_moves_but_stays_close_to_v1(scored):
    ids = sorted(k for k, (line, *_) in scored["v1"].items() if line == CRIMINAL)
    tau = kendall_tau_b([scored["v1"][k][2] for k in ids], [scored["v2"][k][2] for k in ids])
    assert 0.6 <= tau <= 0.99, tau


def test_more_criminal_prosecutors_reach_excellent_and_the_quota_still_binds(scored):
    def share(rows):
        grades = [g for line, _, _, g, _ in rows.values() if line == CRIMINAL]
        return grades.count(EXCELLENT) / len(grades)

    assert share(scored["v2"]) > share(scored["v1"])
    band = next(b for b in _read(TEMPLATE)["grading"]["bands"] if b["grade"] == EXCELLENT)
    by_unit: dict[int, list[tuple[float, str]]] = defaultdict(list)
    for _, unit, total, grade, _ in scored["v2"].values():
        by_unit[unit].append((total, grade))
    binding = 0
    for people in by_unit.values():
        excellent = sum(g == EXCELLENT for _, g in people)
        assert excellent <= math.floor(band["quota"] * len(people) + 0.5)  # never above the quota
        binding += sum(t >= band["min"] for t, _ in people) > excellent
    assert binding > 0  # somewhere more people reach the 优秀 line than the quota admits


def test_retuned_indicators_still_separate_good_from_weak(scored, documents):
    _, revision, v2_doc = documents
    for code in {ov["path"].split(".")[1] for ov in revision["overrides"]}:
        scoring = v2_doc["indicators"][code]["scoring"]
        full = scoring.get("points", max((t["points"] for t in scoring.get("tiers", [])), default=None))
        points = [p[code] for line, _, _, _, p in scored["v2"].values() if line == CRIMINAL and p[code] is not None]
        counts = Counter(points)
        assert len(counts) >= 3, (code, counts)  # at least three different scores
        at_full = sum(n for p, n in counts.items() if p >= full) / len(points)
        assert at_full <= 0.5, (code, at_full)  # full marks stay a distinction
        assert statistics.pstdev(points) > 0.1 * full, code
