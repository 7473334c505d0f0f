"""The procuratorate comparison (院际比较) as a monthly bulletin relies on it — found by an independent audit:

- a month's bulletin looks back at earlier months for streaks (连续落后); a month already published was read
  again from today's data, so August's bulletin could call a unit behind in July when the published July
  bulletin had not (and the reverse). A published month is now read from its publication;
- the answer's datasets named only the period's own, not those of the earlier months its streaks read;
- a tie at the laggard boundary flagged more units than the rule has places, and the answer did not say so
  (the command line did)."""

from __future__ import annotations

import pytest

from tests.integration.simhelpers import created, import_rows, ok, refused, scoring_world

SCHEME = "SIM-UNITS-MONTHLY"
MONTHS = ["2020-06", "2020-07", "2020-08"]


def unit_scheme() -> dict:
    """Units by their monthly 监督立案数 (filings): 10 points at 10 or more, else none; placed against the
    average of all units; the last unit explains in writing; two months behind running is named. (公开听证数
    is shown, not scored: it gives the city, which files nothing, some activity — it is graded.)"""
    return {
        "code": SCHEME, "name": "院际月度通报测试方案", "subject": "procuratorate", "period": "month",
        "combination": {"method": "sum"}, "dimensions": {"effect": {"name": "效果", "weight": 1}},
        "metrics": {"filings": {"event": "supervision_action", "where": "action == 'filing'"},
                    "hearings": {"event": "public_hearing"}},
        "indicators": {"HEAR": {"name": "公开听证数", "formula": "hearings", "scored": False},
                       "FIL": {"name": "监督立案数", "formula": "filings", "dimension": "effect",
                               "scoring": {"method": "tiers", "tiers": [{"min": 10, "points": 10}]}}},
        "peers": {"group": "all", "indicators": ["FIL"], "band": 0.05, "bottom_k": 1, "streak": 2},
    }


def first_version(c, keys):
    return created(c.post("/api/v1/schemes", headers=keys["province"], json={
        "code": SCHEME, "name": "院际月度通报测试方案", "procuratorate": "910000", "subject_kind": "procuratorate",
        "period_kind": "month", "document": unit_scheme(), "change_note": "首版"}), 201, "/api/v1/versions")


@pytest.fixture
def world(app, tmp_path):
    with scoring_world(app, tmp_path, periods="2020-07", months=MONTHS, first=first_version) as (sim, c, keys, _):
        yield sim, c, keys, tmp_path


def compare(c, keys, period):
    return ok(c.get(f"/api/v1/comparisons?scheme={SCHEME}&period={period}", headers=keys["scorer"]))


def fil(answer, unit):
    return next(i for u in answer["units"] if u["code"] == unit for i in u["indicators"] if i["code"] == "FIL")


def more_july_filings(app, folder, n):
    import_rows(app, folder / "late.csv", [
        ["event_id", "event_type", "procuratorate", "prosecutor", "case_id", "occurred_on", "action", "adopted"],
        *([f"F-LATE-2020-07-{i}", "supervision_action", "910102", "P05", "", "2020-07-20", "filing", "true"]
          for i in range(n))])


def test_a_later_bulletin_reads_a_published_month_as_it_was_published(world):
    sim, c, keys, tmp = world
    # Every month the same: 清瑞区 18 filings, 东湖区 6, the city 0 — average 8: 东湖区 behind, named in August
    # for two months running.
    before = compare(c, keys, "2020-08")
    assert fil(before, "910102")["months_worse"] == ["2020-07", "2020-08"] and fil(before, "910102")["named"]
    assert fil(before, "910102")["longest_months"] == ["2020-07", "2020-08"]  # the months it is named for
    assert before["method"]["streak_published"] == {} and before["method"]["streak_months_without_data"] == []
    assert [(i["code"], i["direction"]) for i in before["method"]["indicators"]] == [("FIL", "higher_better")]
    # June's bulletin reads May too, which has no data: said, so that "not named" reads as "not enough months".
    june = compare(c, keys, "2020-06")
    assert june["method"]["streak_months"] == ["2020-05", "2020-06"]
    assert june["method"]["streak_months_without_data"] == ["2020-05"] and not fil(june, "910102")["named"]
    own = {d["id"] for d in before["datasets"]}

    pub = ok(c.post("/api/v1/publications", headers=keys["reviewer"], json={"scheme": SCHEME, "period": "2020-07"}), 201)
    # 12 late July filings of 东湖区 (18 of an average of 12): read afresh, it was not behind in July.
    more_july_filings(sim, tmp, 12)
    july_now = compare(c, keys, "2020-07")
    assert july_now["figures"] == "published" and fil(july_now, "910102")["months_worse"] == ["2020-06", "2020-07"]

    after = compare(c, keys, "2020-08")
    assert after["figures"] == "provisional"
    assert after["method"]["streak_published"] == {"2020-07": pub["id"]}
    # July as published: behind — still named in August's bulletin (read afresh it would be one month, not named).
    assert fil(after, "910102")["months_worse"] == ["2020-07", "2020-08"] and fil(after, "910102")["named"]
    # What the answer rests on: August's own datasets and those of July's publication.
    assert own | {d["id"] for d in pub["datasets"]} <= {d["id"] for d in after["datasets"]}

    # A correction of the July publication is what changes July's verdict in later bulletins.
    fixed = ok(c.post(f"/api/v1/publications/{pub['id']}/supersede", headers=keys["reviewer"],
                      json={"reason": "补录东湖区七月监督立案 12 件"}), 201)
    corrected = compare(c, keys, "2020-08")
    assert corrected["method"]["streak_published"] == {"2020-07": fixed["id"]}
    assert fil(corrected, "910102")["months_worse"] == ["2020-08"] and not fil(corrected, "910102")["named"]
    # August published: its bulletin still says which publication its July came from (an audit found it silent).
    ok(c.post("/api/v1/publications", headers=keys["reviewer"], json={"scheme": SCHEME, "period": "2020-08"}), 201)
    august = compare(c, keys, "2020-08")
    assert august["figures"] == "published" and august["method"]["streak_published"] == {"2020-07": fixed["id"]}
    assert august["units"] == corrected["units"]


def test_a_tie_at_the_laggard_boundary_is_said_with_how_many_it_flags(world):
    _, c, keys, _ = world
    answer = compare(c, keys, "2020-06")
    rule = answer["method"]["laggard_rules"][0]
    flagged = [u["code"] for u in answer["units"] if u["bottom_k"]]
    assert rule["places"] == 1 and rule["flagged"] == len(flagged)
    if len(flagged) > 1:
        assert f"含同分并列，共 {len(flagged)} 个" in rule["note"]
    else:
        assert "并列" not in rule["note"]
    assert len(flagged) == 2, answer["units"]  # 东湖区 and the city both score 0: both explain in writing


def test_a_filter_no_unit_can_match_is_said_not_answered_with_an_empty_page(world):
    """Found by an integrator's audit: ``business=`` on a scheme that scores procuratorates answered 200 ``[]``
    (a unit has no business), and ``grade=`` on a scheme without grades read "应为 —"."""
    sim, c, keys, _ = world
    url = f"/api/v1/rankings?scheme={SCHEME}&period=2020-07"
    assert ok(c.get(url, headers=keys["scorer"]))  # the units are there
    business = refused(c.get(f"{url}&business=public_interest", headers=keys["scorer"]), 422,
                       "ranking.business_not_applicable")
    assert "考评的是检察院" in business["message"] and business["errors"]["business"]
    grade = refused(c.get(f"{url}&grade=优秀&lang=en", headers=keys["scorer"]), 422, "ranking.no_grades")
    assert grade["message"] == f"Scheme {SCHEME} has no grades: leave grade out"
