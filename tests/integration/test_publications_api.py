"""Published results (发布) as another system relies on them: publish a period, read the same figures
after a correcting import and a new version in force, correct them with a reason (both publications
readable), the database refusing any change; and the reading calls — batch (JSON and JSON Lines),
rankings (JSON, CSV, XLSX), history — saying whether their figures are published or provisional."""

from __future__ import annotations

import csv
import datetime as dt
import gzip
import io
import json
import re
import sqlite3
import zipfile
from pathlib import Path

import pytest
from sqlalchemy import text

from rulesvc.extensions import db
from rulesvc.services import cardstore, evaluation, localtime
from rulesvc.services.dictionary import get_dictionary
from rulesvc.services.governance.access import system_actor
from rulesvc.services.importing import import_file
from tests.integration.simhelpers import (
    CANDIDATE,
    PEOPLE,
    filings_of_p01,
    import_rows,
    new_draft,
    ok,
    province_files,
    publish,
    refused,
    scheme_doc,
    scoring_world,
)

PERIOD = "2020-07"


@pytest.fixture
def world(app, tmp_path):
    with scoring_world(app, tmp_path, periods=PERIOD) as (sim, c, keys, v1):
        yield sim, c, keys, v1, tmp_path


def card(c, headers, code="P01", **body):
    return ok(c.post("/api/v1/evaluations", headers=headers,
                     json={"scheme": "SIM-PROSECUTOR", "period": PERIOD, "subject": code, **body}))


def correcting_import(app, folder):
    """P01's July filings corrected: four of the six were filed in August (a correcting dataset replacing
    the same event ids)."""
    rows = [["event_id", "event_type", "procuratorate", "prosecutor", "case_id", "occurred_on", "action", "adopted",
             "subject", "resolved", "kind", "level", "title"]]
    rows += [[f"F-2020-07-P01-{i}", "supervision_action", "910101", "P01", "", "2020-07-01" if i < 2 else "2020-08-03",
              "filing", "true", "", "", "", "", ""] for i in range(6)]
    path = folder / "fix.csv"
    with path.open("w", encoding="utf-8", newline="") as f:
        csv.writer(f).writerows(rows)
    with app.app_context():
        from sqlalchemy import select

        from rulesvc.persistence.models import Dataset

        first = db.session.scalar(select(Dataset.id).where(Dataset.kind == "events").order_by(Dataset.id))
        result = import_file(db.session, path, dictionary=get_dictionary(app.config["RULES_DIR"]), created_by="tests",
                             corrects=first, actor=system_actor("tests"))
        assert result.created
        db.session.commit()


def test_a_provisional_card_is_made_once_and_is_made_again_when_its_data_changes(world):
    """A provisional card is computed on its first request and kept with the period's bulk run: the same
    bytes as computed afresh and as the full trace's card; a correcting import gives the new figures at once."""
    from rulesvc.services import results

    sim, c, k, v1, tmp = world

    def raw(**body):
        r = c.post("/api/v1/evaluations", headers=k["scorer"],
                   json={"scheme": "SIM-PROSECUTOR", "period": PERIOD, "subject": "P01", **body})
        assert r.status_code == 200, r.data
        return r.data

    first = raw()
    assert len(results._CARDS) == 1
    assert raw() == first  # from the kept card
    # Kept on disk too, for every worker and restart (services.cardstore): a process that has forgotten
    # the card answers what the store holds — shown here by changing it there.
    store = Path(sim.extensions["rulesvc.simulation_settings"].cache_dir) / cardstore.FILE_NAME
    with sqlite3.connect(store) as db_:
        (run, code, packed), = db_.execute("SELECT run, code, card FROM cards").fetchall()
        changed = json.loads(gzip.decompress(packed))
        changed["grade_reason"] = "（改在卡片库里）"
        db_.execute("UPDATE cards SET card = ? WHERE run = ? AND code = ?",
                    (gzip.compress(evaluation.canonical(changed)), run, code))
    assert code == "P01" and len(run) == 32
    results._CARDS.clear()
    assert json.loads(raw())["grade_reason"] == "（改在卡片库里）"
    with sqlite3.connect(store) as db_:
        db_.execute("DELETE FROM cards")
    results._CARDS.clear()
    assert raw() == first  # computed afresh: the same bytes
    full = json.loads(raw(trace="full"))
    summary = json.loads(first)
    assert {key: full[key] for key in summary} == summary and full["trace"]["total"] == summary["total"]
    # the batch answers the same card
    batch = ok(c.post("/api/v1/evaluations/batch", headers=k["scorer"],
                      json={"scheme": "SIM-PROSECUTOR", "period": PERIOD, "subjects": ["P01"], "trace": "summary"}))
    assert {key: v for key, v in summary.items() if key not in evaluation.PROVENANCE} == batch["cards"][0]

    # The same content written in another order (a draft, asked for by version_id): its card lists the
    # indicators in its own order, not in the order of the card kept for the version in force.
    doc = c.get(f"/api/v1/versions/{v1['id']}", headers=k["province"]).get_json()["document"]
    doc["indicators"] = dict(reversed(list(doc["indicators"].items())))
    v2 = new_draft(c, k["province"], doc)
    assert v2["content_hash"] == v1["content_hash"]
    mine = json.loads(raw(version_id=v2["id"]))
    assert [i["code"] for i in mine["indicators"]] == [i["code"] for i in reversed(summary["indicators"])]
    assert mine["total"] == summary["total"]

    correcting_import(sim, tmp)  # four of P01's six July filings moved to August
    after = json.loads(raw())
    assert after["datasets"] != summary["datasets"] and after["total"] != summary["total"]
    assert after == json.loads(raw()) and len(results._CARDS) == 3
    with sqlite3.connect(store) as db_:  # one card per run on disk too: the new data's is a new one
        assert db_.execute("SELECT count(DISTINCT run), count(*) FROM cards").fetchone() == (3, 3)


def test_the_month_under_way_scores_provisionally_once_it_has_data(world):
    """The month under way: no data imported yet — no scores, said so (not everyone at the base score); once
    a dataset holds some of its events, provisional figures marked as of an open period."""
    sim, c, k, v1, tmp = world
    today = localtime.today()
    month = today.strftime("%Y-%m")
    refused(c.post("/api/v1/evaluations", headers=k["scorer"],
                   json={"scheme": "SIM-PROSECUTOR", "period": month, "subject": "P01"}), 404, "scoring.no_data")
    path = tmp / "today.csv"
    with path.open("w", encoding="utf-8", newline="") as f:
        csv.writer(f).writerows([["event_id", "event_type", "procuratorate", "prosecutor", "case_id", "occurred_on",
                                  "action", "adopted"],
                                 ["F-TODAY-P01", "supervision_action", "910101", "P01", "", today.isoformat(), "filing",
                                  "true"]])
    with sim.app_context():
        assert import_file(db.session, path, dictionary=get_dictionary(sim.config["RULES_DIR"]),
                           created_by="tests").created
        db.session.commit()
    running = card(c, k["scorer"], period=month)
    assert running["figures"] == "provisional" and running["period_closed"] is False and running["datasets"]


def test_published_figures_do_not_move_under_new_data_and_rules_and_a_correction_supersedes(world):
    sim, c, k, v1, tmp = world
    before = card(c, k["scorer"])
    assert before["figures"] == "provisional" and before["publication"] is None and before["period_closed"]

    body = refused(c.post("/api/v1/publications", headers=k["scorer"], json={"scheme": "SIM-PROSECUTOR",
                                                                           "period": PERIOD}), 403)
    assert "不能发布考评结果" in body["message"] and body["errors"]["permission"] == ["activate"]  # needs *activate*
    assert "may not publish results" in refused(c.post(
        "/api/v1/publications?lang=en", headers=k["scorer"], json={"scheme": "SIM-PROSECUTOR", "period": PERIOD}),
        403)["message"]
    refused(c.post("/api/v1/publications", headers=k["reviewer"], json={"scheme": "SIM-PROSECUTOR",
                                                                "period": localtime.today().strftime("%Y-%m")}),
            422, "publication.period_open")
    refused(c.post("/api/v1/publications", headers=k["reviewer"], json={"scheme": "SIM-PROSECUTOR", "period": "2020-08"}),
            422, "publication.no_data")  # closed, but no event of it imported: never frozen as "nobody did anything"
    made = c.post("/api/v1/publications", headers=k["reviewer"], json={"scheme": "SIM-PROSECUTOR", "period": PERIOD})
    pub = ok(made, 201)
    assert made.headers["Location"] == f"/api/v1/publications/{pub['id']}"
    assert ok(c.get(made.headers["Location"], headers=k["scorer"]))["result_hash"] == pub["result_hash"]
    assert pub["sequence"] == 1 and pub["current"] and pub["version"]["id"] == v1["id"] and pub["subjects"] >= 9
    body = refused(c.post("/api/v1/publications", headers=k["reviewer"], json={"scheme": "SIM-PROSECUTOR", "period": PERIOD}),
                   409, "publication.exists")
    assert body["errors"] == {"publication_id": [pub["id"]]}  # a 409 names the fact behind it: which publication

    published = card(c, k["scorer"])
    assert published["figures"] == "published" and published["publication"]["id"] == pub["id"]
    # When, with its zone, the same on both databases (SQLite gives naive times back, PostgreSQL aware ones).
    assert pub["published_at"].endswith("+00:00") and published["publication"]["published_at"] == pub["published_at"]
    assert dt.datetime.fromisoformat(pub["published_at"]) <= dt.datetime.now(dt.UTC)
    for key in ("total", "grade", "rank", "indicators", "attribution", "dimensions"):
        assert published[key] == before[key], key
    # Written from the publication's stored bytes, in the one layout every answer has (where the figures
    # come from, then the card, each with sorted keys): the card part is what was answered before publishing.
    raw = c.post("/api/v1/evaluations", headers=k["scorer"],
                 json={"scheme": "SIM-PROSECUTOR", "period": PERIOD, "subject": "P01"}).data
    assert raw == evaluation.render(json.loads(raw))

    def card_part(answer):
        return evaluation.canonical({k2: v for k2, v in answer.items() if k2 not in (*evaluation.PROVENANCE, evaluation.OWN)})
    assert card_part(json.loads(raw)) == card_part(before) and raw.endswith(card_part(before)[1:])
    assert card(c, k["scorer"], trace="full")["trace"]["total"] == pytest.approx(published["total"], abs=1e-9)

    # New facts and new rules: the published answer does not move; the provisional one does.
    correcting_import(sim, tmp)
    v2 = new_draft(c, k["province"], scheme_doc(**CANDIDATE))
    publish(c, k, v2["id"], effective_from="2020-07-01", periods=PERIOD)
    again = c.post("/api/v1/evaluations", headers=k["scorer"],
                   json={"scheme": "SIM-PROSECUTOR", "period": PERIOD, "subject": "P01"})
    assert again.status_code == 200 and json.loads(again.data) == json.loads(
        c.post("/api/v1/evaluations", headers=k["scorer"],
               json={"scheme": "SIM-PROSECUTOR", "period": PERIOD, "subject": "P01"}).data)
    assert {k2: v for k2, v in again.json.items()} == published  # byte for byte the same figures
    now = card(c, k["scorer"], version_id=v2["id"])
    assert now["figures"] == "provisional" and now["total"] != published["total"]

    # A period's results are published under its own rules: not under a version no longer in force on its
    # first day (version 1 was, until version 2 took over from July 1st).
    wrong = refused(c.post(f"/api/v1/publications/{pub['id']}/supersede", headers=k["reviewer"],
                           json={"reason": "按第 1 版更正", "version_id": v1["id"]}), 422, "publication.version_not_for_period")
    assert "2020-07-01" in wrong["message"] and "version_id" in wrong["errors"]

    # Nothing to change without a reason; a correction with one supersedes, both stay readable.
    blank = refused(c.post(f"/api/v1/publications/{pub['id']}/supersede", headers=k["reviewer"], json={"reason": " "}),
                    422)
    assert "reason" in blank["errors"]["json"]
    for unseen in ("\u200b", " \u200b\u200d\ufeff ", "\u202e"):  # a review superseded with "\u200b": no reason at all
        assert "reason" in refused(c.post(f"/api/v1/publications/{pub['id']}/supersede", headers=k["reviewer"],
                                          json={"reason": unseen}), 422)["errors"]["json"]
    again_made = c.post(f"/api/v1/publications/{pub['id']}/supersede", headers=k["reviewer"],
                        json={"reason": "导入更正数据集：P01 七月监督立案数更正为 2 件；第 2 版自 7 月起生效"})
    fixed = ok(again_made, 201)
    assert again_made.headers["Location"] == f"/api/v1/publications/{fixed['id']}"
    assert fixed["sequence"] == 2 and fixed["supersedes"] == pub["id"] and fixed["version"]["id"] == v2["id"]
    assert fixed["result_hash"] != pub["result_hash"]
    corrected = card(c, k["scorer"])
    assert corrected["publication"]["id"] == fixed["id"] and corrected["total"] == pytest.approx(now["total"])
    old = ok(c.get(f"/api/v1/publications/{pub['id']}", headers=k["scorer"]))
    assert not old["current"] and old["superseded_by"] == fixed["id"] and old["result_hash"] == pub["result_hash"]
    body = refused(c.post(f"/api/v1/publications/{pub['id']}/supersede", headers=k["reviewer"], json={"reason": "再改"}),
                   409, "publication.not_current")
    assert body["errors"] == {"publication_id": [fixed["id"]]}
    body = refused(c.post(f"/api/v1/publications/{fixed['id']}/supersede", headers=k["reviewer"], json={"reason": "再改"}),
                   409, "publication.unchanged")
    assert body["errors"] == {"publication_id": [fixed["id"]]}
    listed = ok(c.get("/api/v1/publications?scheme=SIM-PROSECUTOR", headers=k["scorer"]))
    assert [p["id"] for p in listed] == [fixed["id"], pub["id"]]
    assert listed[0]["summary"]["grades"] and listed[0]["subjects"] and listed[0]["graded"]
    # A county reads the province's publications without the whole province's figures (integrator audit,
    # 2026-12-07: "reading follows the caller's tree"); its own people's are in the rankings.
    county = ok(c.get("/api/v1/publications?scheme=SIM-PROSECUTOR", headers=k["county"]))
    assert [p["id"] for p in county] == [fixed["id"], pub["id"]]
    assert all(p["summary"] is None and p["subjects"] is None and p["graded"] is None for p in county)
    one = ok(c.get(f"/api/v1/publications/{fixed['id']}", headers=k["county"]))
    assert one["summary"] is None and one["result_hash"] == fixed["result_hash"]

    # A correction of the directory alone (P02 belongs to 东湖区, not 清瑞区): the same version and datasets,
    # other places and groups — publishable (judged by the recorded inputs, it was refused as unchanged).
    moved = province_files(tmp / "moved", {**PEOPLE, "P02": ("910102", *PEOPLE["P02"][1:])})
    with sim.app_context():
        assert import_file(db.session, moved[2], dictionary=get_dictionary(sim.config["RULES_DIR"]),
                           created_by="tests").created
        db.session.commit()
    regrouped = ok(c.post(f"/api/v1/publications/{fixed['id']}/supersede", headers=k["reviewer"],
                          json={"reason": "P02 调入东湖区：名次分组更正"}), 201)
    assert regrouped["datasets"] == fixed["datasets"] and regrouped["version"] == fixed["version"]
    assert regrouped["result_hash"] != fixed["result_hash"]
    assert card(c, k["scorer"], code="P02")["subject"]["procuratorate"]["code"] == "910102"

    # The database itself refuses to change a publication or its cards.
    with sim.app_context():
        for sql in ("UPDATE publications SET result_hash = 'x'", "DELETE FROM publications",
                    "UPDATE publication_cards SET total = 100", "DELETE FROM publication_cards"):
            with pytest.raises(Exception, match="已发布的考评结果不可修改"):
                with db.engine.begin() as conn:
                    conn.execute(text(sql))
        # nor to add a card to one: a review added a made-up subject (total 100, 优秀) to a published period
        with pytest.raises(Exception, match="发布的结果已封存"):
            with db.engine.begin() as conn:
                conn.execute(text(
                    "INSERT INTO publication_cards (publication_id, code, procuratorate_id, status, total, grade, place,"
                    " card) SELECT publication_id, 'P99', procuratorate_id, status, 100.0, '优秀', 1, card"
                    " FROM publication_cards WHERE code = 'P01' AND publication_id = :p"), {"p": regrouped["id"]})
        if db.engine.dialect.name == "sqlite":  # INSERT OR REPLACE deletes without firing a DELETE guard
            for table in ("publication_cards", "publications", "scheme_versions", "audit_log"):
                with pytest.raises(Exception, match="不能替换|已封存"):  # cards: closed, before their keys are looked at
                    with db.engine.begin() as conn:
                        conn.execute(text(f"INSERT OR REPLACE INTO {table} SELECT * FROM {table}"))


def test_batch_rankings_and_history_say_where_their_figures_come_from(world):
    sim, c, k, v1, _ = world
    both = ok(c.post("/api/v1/evaluations/batch", headers=k["scorer"],
                     json={"scheme": "SIM-PROSECUTOR", "period": PERIOD, "procuratorate": "910000"}))
    assert both["figures"] == "provisional" and both["count"] == len(both["cards"]) >= 9
    rows = {x["subject"]["code"]: x for x in both["cards"]}
    assert rows["P01"]["total"] == card(c, k["scorer"])["total"]
    listed = ok(c.post("/api/v1/evaluations/batch", headers=k["scorer"],
                       json={"scheme": "SIM-PROSECUTOR", "period": PERIOD, "subjects": ["P02", "NOBODY"],
                             "trace": "summary"}))
    assert listed["cards"][0]["indicators"] and listed["cards"][1]["error"]["code"] == "scoring.no_subject"
    assert listed["cards"][1]["error"]["error_code"] == "scoring.no_subject"  # named as error responses name it
    county = ok(c.post("/api/v1/evaluations/batch", headers=k["county-scorer"],
                       json={"scheme": "SIM-PROSECUTOR", "period": PERIOD, "subjects": ["P01", "P07"]}))
    assert "error" not in county["cards"][0] and county["cards"][1]["error"]["code"] == "scoring.no_subject"

    ok(c.post("/api/v1/publications", headers=k["reviewer"], json={"scheme": "SIM-PROSECUTOR", "period": PERIOD}), 201)
    lines = c.post("/api/v1/evaluations/batch", headers={**k["scorer"], "Accept": "application/x-ndjson"},
                   json={"scheme": "SIM-PROSECUTOR", "period": PERIOD, "procuratorate": "910000", "trace": "summary"})
    assert lines.status_code == 200 and lines.mimetype == "application/x-ndjson"
    parsed = [json.loads(line) for line in lines.data.decode().splitlines()]
    assert parsed[0]["figures"] == "published" and len(parsed) - 1 == parsed[0]["count"]
    assert {p["subject"]["code"]: p["total"] for p in parsed[1:]} == {x["subject"]["code"]: x["total"]
                                                                     for x in both["cards"]}

    page = c.get(f"/api/v1/rankings?scheme=SIM-PROSECUTOR&period={PERIOD}&page_size=3", headers=k["scorer"])
    assert page.status_code == 200 and page.headers["X-Figures"] == "published"
    # What reproduces the page, as every scoring answer carries it (integrator audit, 2026-12-07).
    published = ok(c.get(f"/api/v1/publications?scheme=SIM-PROSECUTOR&period={PERIOD}", headers=k["scorer"]))[0]
    assert json.loads(page.headers["X-Datasets"]) == published["datasets"]
    assert page.headers["X-Dictionary-Hash"] == published["dictionary_hash"]
    assert page.headers["X-Engine-Version"] == published["engine_version"]
    (excellent,) = json.loads(page.headers["X-Quota-Use"])  # 优秀: at most 30 % of the evaluated, rounded down
    assert excellent["grade"] == "优秀" and excellent["places"] == int(0.3 * excellent["size"]) >= excellent["taken"]
    assert excellent["places"] == excellent["taken"] + excellent["unused"] and excellent["groups"] == 1
    assert [r["place"] for r in page.json] == sorted(r["place"] for r in page.json) and len(page.json) == 3
    assert json.loads(page.headers["X-Pagination"])["total"] >= 9
    # a page far past the end (schemathesis found one beyond a C long: a 500) is an empty page
    beyond = c.get(f"/api/v1/rankings?scheme=SIM-PROSECUTOR&period={PERIOD}&page=27854571864358256&page_size=405",
                   headers=k["scorer"])
    assert beyond.status_code == 200 and beyond.json == []
    county = c.get(f"/api/v1/rankings?scheme=SIM-PROSECUTOR&period={PERIOD}", headers=k["county-scorer"])
    mine = ok(county)
    assert {r["procuratorate"]["code"] for r in mine} == {"910101"}
    # The quota is counted province-wide (quota_group all): no group lies wholly in a county's tree, so a
    # county key is told no places of the province's (only groups wholly its own are counted).
    (none,) = json.loads(county.headers["X-Quota-Use"])
    assert (none["grade"], none["size"], none["places"], none["taken"]) == ("优秀", 0, 0, 0)
    whole = {r["code"]: r["place"] for r in ok(c.get(f"/api/v1/rankings?scheme=SIM-PROSECUTOR&period={PERIOD}"
                                                     "&page_size=100", headers=k["scorer"]))}
    assert all(r["place"] == whole[r["code"]] for r in mine)  # places among everyone, not within the county
    text_csv = c.get(f"/api/v1/rankings?scheme=SIM-PROSECUTOR&period={PERIOD}&format=csv", headers=k["scorer"])
    table = list(csv.reader(io.StringIO(text_csv.data.decode("utf-8-sig"))))
    assert table[0][:3] == ["名次", "工号", "姓名"] and len(table) - 1 == len(whole)
    assert all(r[table[0].index("结果")].startswith("正式结果：已于北京时间 ") for r in table[1:])
    # Each row names the group its place is counted in: two first places on a page are the first of two groups.
    by_org = ok(c.get(f"/api/v1/rankings?scheme=SIM-PROSECUTOR&period={PERIOD}&group=procuratorate&page_size=100",
                      headers=k["scorer"]))
    firsts = [r["group"] for r in by_org if r["place"] == 1]
    assert {g["code"] for g in firsts} == {"910100", "910101", "910102"} and all(g["by"] == "procuratorate"
                                                                                 for g in firsts)  # ties share
    assert all(r["group"]["code"] == r["procuratorate"]["code"] for r in by_org)
    assert {r["group"]["name"] for r in ok(c.get(f"/api/v1/rankings?scheme=SIM-PROSECUTOR&period={PERIOD}&group=all",
                                                 headers=k["scorer"]))} == {"全部考评对象"}
    by_dept = ok(c.get(f"/api/v1/rankings?scheme=SIM-PROSECUTOR&period={PERIOD}&group=department&page_size=100",
                       headers=k["scorer"]))
    assert all(r["group"]["by"] == "department" and r["department"]  # department codes repeat across units
               and r["group"]["code"] == f"{r['procuratorate']['code']}/{r['department']['code']}"
               and r["procuratorate"]["name"] in r["group"]["name"] for r in by_dept)
    xlsx = c.get(f"/api/v1/rankings?scheme=SIM-PROSECUTOR&period={PERIOD}",
                 headers={**k["scorer"], "Accept": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"})
    assert zipfile.ZipFile(io.BytesIO(xlsx.data)).namelist()
    # The Accept header is read by its q-values: CSV is only a fallback here, so the answer is JSON.
    for accept, mimetype in (("text/csv;q=0.5, application/json", "application/json"), ("text/csv", "text/csv"),
                             ("application/xml", "application/json"), ("text/*", "text/csv")):
        got = c.get(f"/api/v1/rankings?scheme=SIM-PROSECUTOR&period={PERIOD}", headers={**k["scorer"], "Accept": accept})
        assert got.status_code == 200 and got.mimetype == mimetype, accept
    # An export holds every row: no page header to follow, whatever page was asked for.
    paged_csv = c.get(f"/api/v1/rankings?scheme=SIM-PROSECUTOR&period={PERIOD}&format=csv&page=3&page_size=2",
                      headers=k["scorer"])
    assert paged_csv.data == text_csv.data and "X-Pagination" not in paged_csv.headers
    assert "X-Pagination" not in text_csv.headers and "X-Pagination" not in xlsx.headers
    refused(c.get(f"/api/v1/rankings?scheme=SIM-PROSECUTOR&period={PERIOD}", headers=k["readonly"]), 403)
    # A filter value that can match nobody is said, not answered with an empty page (a typo is not "nobody").
    refused(c.get(f"/api/v1/rankings?scheme=SIM-PROSECUTOR&period={PERIOD}&business=ordinary", headers=k["scorer"]),
            422, "ranking.business_bad")
    english = refused(c.get(f"/api/v1/rankings?scheme=SIM-PROSECUTOR&period={PERIOD}&business=ordinary&lang=en",
                            headers=k["scorer"]), 422, "ranking.business_bad")
    assert "ordinary_crime, serious_crime" in english["message"] and "、" not in english["message"]
    refused(c.get(f"/api/v1/rankings?scheme=SIM-PROSECUTOR&period={PERIOD}&grade=优", headers=k["scorer"]), 422,
            "ranking.grade_bad")
    assert ok(c.get(f"/api/v1/rankings?scheme=SIM-PROSECUTOR&period={PERIOD}&business=ordinary_crime&grade=优秀",
                    headers=k["scorer"])) is not None
    # The business's name, as the rows show it, names it too (integrator audit, 2026-12-07).
    by_code = c.get(f"/api/v1/rankings?scheme=SIM-PROSECUTOR&period={PERIOD}&business=ordinary_crime", headers=k["scorer"])
    for name in ("普通犯罪检察", "Ordinary crimes", "ordinary CRIMES", "Ordinary-crimes"):
        by_name = c.get(f"/api/v1/rankings?scheme=SIM-PROSECUTOR&period={PERIOD}&business={name}", headers=k["scorer"])
        assert by_name.status_code == 200 and by_name.get_json() == by_code.get_json(), name

    hist = ok(c.get("/api/v1/subjects/P01/history?scheme=SIM-PROSECUTOR&from=2020-06&to=2020-08",
                    headers=k["scorer"]))
    by = {p["period"]: p for p in hist["periods"]}
    assert by["2020-07"]["figures"] == "published" and by["2020-07"]["total"] == rows["P01"]["total"]
    # A code with spaces around it, as a body's is read (an integrator's audit: 404 in the path only)
    assert ok(c.get("/api/v1/subjects/%20P01%20/history?scheme=SIM-PROSECUTOR&from=2020-06&to=2020-08",
                    headers=k["scorer"])) == hist
    assert by["2020-08"]["figures"] is None and "没有可用的数据" in by["2020-08"]["note"]  # no event dated August
    assert all(p["period_closed"] is True for p in hist["periods"])  # every period says it, with figures or without
    # A month someone was scored but not graded says why, as the card and the ranking row do.
    ranking = ok(c.get(f"/api/v1/rankings?scheme=SIM-PROSECUTOR&period={PERIOD}&page_size=100", headers=k["scorer"]))
    (idle, *_) = [r for r in ranking if r["status"] == "not_graded"]
    month = {p["period"]: p for p in ok(c.get(f"/api/v1/subjects/{idle['code']}/history?scheme=SIM-PROSECUTOR"
                                              f"&from={PERIOD}&to={PERIOD}", headers=k["scorer"]))["periods"]}[PERIOD]
    assert month["status"] == "not_graded" and month["note"] == idle["grade_reason"] != ""
    # In English like the other notes of a history (an integrator's audit read this one alone in Chinese)
    english = ok(c.get(f"/api/v1/subjects/{idle['code']}/history?scheme=SIM-PROSECUTOR&from={PERIOD}&to={PERIOD}",
                       headers={**k["scorer"], "Accept-Language": "en"}))["periods"][0]
    from rulesvc.engine.reasons_en import in_english

    assert english["note"] == in_english(idle["grade_reason"]) and not re.search(r"[\u4e00-\u9fff]", english["note"])
    assert county.headers["X-Period-Closed"] == "true"
    refused(c.get("/api/v1/subjects/P07/history?scheme=SIM-PROSECUTOR&from=2020-06&to=2020-08",
                  headers=k["county-scorer"]), 404)
    too_long = refused(c.get("/api/v1/subjects/P01/history?scheme=SIM-PROSECUTOR&from=2020-01&to=2022-12",
                             headers=k["scorer"]), 422, "history.too_long")
    assert "36" in json.dumps(too_long, ensure_ascii=False)  # 2020-01 … 2022-12: the real count, not "24+"
    backwards = refused(c.get("/api/v1/subjects/P01/history?scheme=SIM-PROSECUTOR&from=2020-12&to=2020-01&lang=en",
                              headers=k["scorer"]), 422, "history.range_order")
    assert backwards["message"] == "The first month 2020-12 is after the last, 2020-01"  # no Chinese in English
    refused(c.get(f"/api/v1/comparisons?scheme=SIM-PROSECUTOR&period={PERIOD}", headers=k["scorer"]), 422,
            "comparison.not_procuratorate")


def test_a_published_card_is_read_from_the_database_once_per_worker(world):
    """A publication's cards never change: a worker reads a card once and keeps it (bounded, with the
    provisional ones); the answer is the same bytes either way."""
    from sqlalchemy import event

    sim, c, k, _, _ = world
    ok(c.post("/api/v1/publications", headers=k["reviewer"], json={"scheme": "SIM-PROSECUTOR", "period": PERIOD}), 201)
    asked: list[str] = []

    def seen(conn, cursor, statement, *args):
        if "publication_cards" in statement:
            asked.append(statement)

    with sim.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", seen)
    try:
        body = {"scheme": "SIM-PROSECUTOR", "period": PERIOD, "subject": "P01"}
        first = c.post("/api/v1/evaluations", headers=k["scorer"], json=body)
        assert first.status_code == 200 and first.json["figures"] == "published" and len(asked) == 1
        again = c.post("/api/v1/evaluations", headers=k["scorer"], json=body)
        assert again.data == first.data and len(asked) == 1
        other = c.post("/api/v1/evaluations", headers=k["scorer"], json={**body, "subject": "P02"})
        assert other.status_code == 200 and other.json["subject"]["code"] == "P02" and len(asked) == 2
    finally:
        event.remove(engine, "before_cursor_execute", seen)


def test_a_published_full_trace_explains_the_card_as_published_after_the_directory_changes(world, monkeypatch):
    """Found by review: a published card's full trace was scored on today's directory. Someone who left
    after publishing made it fail (and a batch's answer a server error); a smaller group gave the trace other
    quota places, so its grade could contradict the card's. Now it is the subject as published, among the
    peers as published — and an answer that cannot reproduce its card says so."""
    sim, c, k, v1, tmp = world
    # Two honours for P02 (88 → 92): two reach 优秀's 90, and nine graded give it two places (30 %, rounded down).
    assert import_rows(sim, tmp / "honours.csv", [
        ["event_id", "event_type", "procuratorate", "prosecutor", "case_id", "occurred_on", "kind", "level", "title"],
        *([f"R-2020-07-P02-{i}", "honour", "910101", "P02", "", "2020-07-10", "honour", "provincial", "办案能手"]
          for i in (1, 2))]).created
    ok(c.post("/api/v1/publications", headers=k["reviewer"], json={"scheme": "SIM-PROSECUTOR", "period": PERIOD}), 201)
    published = {code: card(c, k["scorer"], code=code) for code in PEOPLE if code != "P10"}
    excellent = sorted(code for code, a in published.items() if a["grade"] == "优秀")
    assert len(excellent) == 2, {code: (a["total"], a["grade"]) for code, a in published.items()}

    # After publishing, the directory says P04, P05 and P06 left before July: six are graded now, one place of
    # 优秀 (30 % of 6, rounded down) instead of two (of 9): among today's peers one of the two is 良好 (below).
    files = province_files(tmp / "left", PEOPLE)
    people = files[2].read_text(encoding="utf-8").splitlines()
    files[2].write_text("\n".join(ln.replace("2015-01-01,", "2015-01-01,2020-06-30") if ln.split(",")[0] in
                                  ("P04", "P05", "P06") else ln.replace(",quota,", ",exited,")
                                  if ln.split(",")[0] == "P07" else ln for ln in people) + "\n", encoding="utf-8")
    with sim.app_context():
        assert import_file(db.session, files[2], dictionary=get_dictionary(sim.config["RULES_DIR"]),
                           created_by="tests").created
        db.session.commit()
    # The published ranking gives each prosecutor's 员额状态 as published (P07 left the quota in the directory since).
    ranked = {r["code"]: r for r in ok(c.get(f"/api/v1/rankings?scheme=SIM-PROSECUTOR&period={PERIOD}&page_size=100",
                                             headers=k["scorer"]))}
    assert ranked["P07"]["quota_status"] == "quota" and ranked["P04"]["quota_status"] == "quota"
    for code in ("P04", *excellent):  # one who left, and both holders of 优秀
        full = card(c, k["scorer"], code=code, trace="full")
        assert full["figures"] == "published" and full["trace_matches_card"] is True and "trace_note" not in full
        assert (full["trace"]["total"], full["trace"]["grade"]) == (published[code]["total"], published[code]["grade"])
    batch = ok(c.post("/api/v1/evaluations/batch", headers=k["scorer"], json={
        "scheme": "SIM-PROSECUTOR", "period": PERIOD, "subjects": ["P04", *excellent], "trace": "full"}))
    assert [(b["subject"]["code"], b["trace"]["grade"], b["trace_matches_card"]) for b in batch["cards"]] == [
        (code, published[code]["grade"], True) for code in ("P04", *excellent)]

    # A publication stored without its peers (before 2026-12-07) is explained among today's: the answer says
    # where the trace and the card part, and that the card stands.
    from rulesvc.services import results

    monkeypatch.setattr(results, "published_peers", lambda fig: None)
    parted = [card(c, k["scorer"], code=code, trace="full") for code in excellent]
    differs = [a for a in parted if not a["trace_matches_card"]]
    assert len(differs) == 1 and differs[0]["grade"] == "优秀" and differs[0]["trace"]["grade"] == "良好"
    assert "等次" in differs[0]["trace_note"] and "组织机构" in differs[0]["trace_note"]
    en = ok(c.post("/api/v1/evaluations?lang=en", headers=k["scorer"], json={
        "scheme": "SIM-PROSECUTOR", "period": PERIOD, "subject": differs[0]["subject"]["code"], "trace": "full"}))
    assert en["trace_note"].startswith("The full trace") and "grade" in en["trace_note"] and "directory" in en["trace_note"]


def test_a_correction_grading_fewer_than_half_as_many_must_be_confirmed(world):
    """A review withdrew the period's dataset, imported three people's events and superseded the province's
    publication: 2,845 graded became 3, "published" for everyone. A correction that grades fewer than half as many
    as the one it replaces is now refused until the caller confirms it (``accept_fewer_graded``)."""
    from sqlalchemy import select

    from rulesvc.persistence.models import Dataset
    from rulesvc.services.importing.datasets import withdraw_dataset

    sim, c, k, v1, tmp = world
    pub = ok(c.post("/api/v1/publications", headers=k["reviewer"], json={"scheme": "SIM-PROSECUTOR",
                                                                         "period": PERIOD}), 201)
    assert pub["graded"] >= 4
    with sim.app_context():
        first = db.session.scalar(select(Dataset.id).where(Dataset.kind == "events").order_by(Dataset.id))
        withdraw_dataset(db.session, system_actor("tests"), first, reason="误导入")
        db.session.commit()
    filings_of_p01(sim, tmp / "only.csv", "ONLY-P01", 3, "2020-07-02")
    url = f"/api/v1/publications/{pub['id']}/supersede"
    body = refused(c.post(url, headers=k["reviewer"], json={"reason": "撤回误导入的数据"}), 422, "publication.graded_drop")
    assert f"从 {pub['graded']} 人降到 1 人" in body["message"] and "accept_fewer_graded" in body["errors"]
    assert ok(c.get(f"/api/v1/publications/{pub['id']}", headers=k["scorer"]))["current"]  # nothing changed
    fixed = ok(c.post(url, headers=k["reviewer"], json={"reason": "撤回误导入的数据", "accept_fewer_graded": True}), 201)
    assert fixed["graded"] == 1 and fixed["supersedes"] == pub["id"]
