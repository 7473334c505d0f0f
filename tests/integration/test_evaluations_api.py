"""``POST /api/v1/evaluations`` (issue 11, first step) as another system calls it: one subject's card under
the version in force, agreeing with the simulation's per-subject figures of the same inputs; trace
levels; the *score* permission; a subject outside the caller's tree is not found; clear 4xx."""

from __future__ import annotations

import json

import pytest

from tests.integration.simhelpers import (
    BASELINE,
    new_scheme,
    ok,
    publish,
    refused,
    scheme_doc,
    scoring_world,
    simulate,
    wait_for,
)


@pytest.fixture
def world(app, tmp_path):
    with scoring_world(app, tmp_path) as w:
        yield w


def ask(c, headers, **body):
    return c.post("/api/v1/evaluations", headers=headers, json={"scheme": "SIM-PROSECUTOR", "period": "2020", **body})


def test_a_card_agrees_with_the_simulation_of_the_same_inputs(world):
    _, c, k, v1 = world
    run = wait_for(c, k["province"], simulate(c, k["province"], v1["id"], "2020", expect=None, baseline="none")["id"])
    rows = {r["code"]: r for r in ok(c.get(f"/api/v1/simulations/{run['id']}/subjects?page_size=100",
                                           headers=k["province"]))}
    for code in ("P01", "P04", "P07"):
        card = ok(ask(c, k["scorer"], subject=code))
        assert card["figures"] == "provisional" and card["scheme"]["version_id"] == v1["id"]
        assert card["scheme"]["content_hash"] == run["candidate"]["content_hash"]
        assert card["total"] == pytest.approx(rows[code]["candidate"]["total"], abs=1e-9)
        assert card["grade"] == rows[code]["candidate"]["grade"]
        assert sum(line["points"] for line in card["attribution"]) == pytest.approx(card["total"], abs=1e-6)
        assert {i["code"] for i in card["indicators"]} and card["datasets"]
    none = ok(ask(c, k["scorer"], subject="P01", trace="none"))
    summary = ok(ask(c, k["scorer"], subject="P01"))
    assert "indicators" not in none and none["total"] == summary["total"]
    # trace=none is the summary's head, key for key (it is answered from the period's row without scoring again)
    assert none == {key: summary[key] for key in none} and set(none) >= {"rank", "grade", "grade_reason", "scheme"}
    full = ok(ask(c, k["scorer"], subject="P01", trace="full"))
    assert full["trace"]["metrics"] and full["trace"]["indicators"]


def test_who_may_score_whom_and_clear_refusals(world):
    _, c, k, v1 = world
    refused(ask(c, k["readonly"], subject="P01"), 403, "permission.action")  # read alone does not score
    # Another unit's person: not found, and the answer says it may be outside the caller's reach — not only
    # "no such subject" (an integrator would go looking for missing data). A unit outside the tree is named
    # as such: the directory of procuratorates is public, so that reveals nothing.
    body = refused(ask(c, k["county-scorer"], subject="P07"), 404, "scoring.no_subject")
    assert "范围" in body["message"]
    en = refused(c.post("/api/v1/evaluations?lang=en", headers=k["county-scorer"],
                        json={"scheme": "SIM-PROSECUTOR", "period": "2020", "subject": "P07"}), 404)
    assert "not within what you may see" in en["message"]
    for call in (c.post("/api/v1/evaluations/batch", headers=k["county-scorer"],
                        json={"scheme": "SIM-PROSECUTOR", "period": "2020", "procuratorate": "910102"}),
                 c.get("/api/v1/rankings?scheme=SIM-PROSECUTOR&period=2020&procuratorate=910102",
                       headers=k["county-scorer"])):
        body = refused(call, 404, "not_found.procuratorate_scope")
        assert "910102" in body["message"] and "东湖区人民检察院" in body["message"]
    refused(c.get("/api/v1/rankings?scheme=SIM-PROSECUTOR&period=2020&procuratorate=919999", headers=k["scorer"]),
            404, "not_found.procuratorate")
    assert ok(ask(c, k["county-scorer"], subject="P01"))["subject"]["code"] == "P01"
    refused(ask(c, k["scorer"], subject="NOBODY"), 404, "scoring.no_subject")
    body = refused(ask(c, k["scorer"], subject="P01", period="2020-13"), 422)
    assert "2020-Q3" in body["errors"]["json"]["period"][0]  # the request schema says what a period looks like
    # ... in the reader's language only (its own words were Chinese and English at once), with a code to match.
    assert "(" not in body["errors"]["json"]["period"][0] and body["field_codes"]["json"]["period"] == ["field.invalid"]
    en = refused(c.post("/api/v1/evaluations?lang=en", headers=k["scorer"],
                        json={"scheme": "SIM-PROSECUTOR", "period": "2020-13", "subject": "P01", "colour": 1}), 422)
    assert en["errors"]["json"]["period"][0].isascii() and "2020-Q3" in en["errors"]["json"]["period"][0]
    assert en["field_codes"]["json"] == {"period": ["field.invalid"], "colour": ["field.unknown"]}
    refused(ask(c, k["scorer"], subject="P01", period="2019"), 404, "not_found.in_force")
    refused(c.post("/api/v1/evaluations", headers=k["scorer"], json={"subject": "P01", "period": "2020"}), 422,
            "evaluation.scheme_or_version")
    by_id = ok(c.post("/api/v1/evaluations", headers=k["scorer"],
                      json={"subject": "P01", "period": "2020", "version_id": v1["id"]}))
    assert by_id["total"] == ok(ask(c, k["scorer"], subject="P01"))["total"]


def filings(code: str, org: str, n: int, day: str = "2020-07-01") -> list[dict]:
    return [{"event_id": f"W-{code}-{i}", "event_type": "supervision_action", "procuratorate": org, "prosecutor": code,
             "occurred_on": day, "action": "filing", "adopted": True} for i in range(n)]


def test_what_if_on_the_callers_own_events(world):
    _, c, k, v1 = world
    stored = ok(ask(c, k["scorer"], subject="P04"))  # 3 filings, no hearings
    what_if = ok(ask(c, k["scorer"], subject="P04", events=filings("P04", "910101", 6)))
    assert what_if["figures"] == "provisional" and what_if["events"] == {"source": "inline", "count": 6, "rows": 6}
    fil = {i["code"]: i for i in what_if["indicators"]}["FIL"]
    assert fil["value"] == 6 and fil["points"] == 10 and what_if["total"] > stored["total"]
    assert sum(line["points"] for line in what_if["attribution"]) == pytest.approx(what_if["total"], abs=1e-6)
    assert ok(ask(c, k["scorer"], subject="P04"))["total"] == stored["total"]  # nothing was stored
    # Only an honour, which no metric counts: not graded for want of activity — no place and no group size,
    # as on a ranking row (the group size counted them as if they were placed).
    honour = [{"event_id": "W-P04-H", "event_type": "honour", "procuratorate": "910101", "prosecutor": "P04",
               "occurred_on": "2020-07-10", "kind": "honour", "level": "provincial", "title": "办案能手"}]
    idle = ok(ask(c, k["scorer"], subject="P04", events=honour))
    assert idle["status"] == "not_graded" and "零办案" in idle["status_reason"]
    assert (idle["grade"], idle["rank"]["place"], idle["rank"]["of"], idle["rank"]["percentile"]) == (None,) * 4
    # Rows are checked as an import's rows are, with the row and column named.
    bad = refused(ask(c, k["scorer"], subject="P04", events=[{**filings("P04", "910101", 1)[0],
                                                                "occurred_on": "2020-02-30"}]), 422)
    assert "events[0].occurred_on" in bad["errors"]
    # An empty list is refused, not "did no work" over the stored record (a client that always sends the key).
    empty = refused(ask(c, k["scorer"], subject="P04", events=[]), 422)
    assert "不要传 events" in empty["errors"]["json"]["events"][0]
    other = refused(ask(c, k["scorer"], subject="P04", events=filings("P01", "910101", 1)), 422)
    assert any(key.startswith("events[0]") for key in other["errors"])
    # Another unit's person on a day they were not in office: only "not the subject's" — never where that
    # person works or when they were in office (an audit read the directory a hundred rows at a time).
    elsewhere = refused(ask(c, k["scorer"], subject="P04", events=filings("P07", "910100", 1, day="1900-01-01")), 422)
    said = json.dumps(elsewhere, ensure_ascii=False)
    assert "P04" in said and "910100" not in said and "任职" not in said and "2015" not in said
    refused(ask(c, k["county-scorer"], subject="P07", events=filings("P07", "910100", 1)), 404, "scoring.no_subject")


def test_every_kind_of_bad_request_is_a_clear_error(world):
    _, c, k, v1 = world
    county = new_scheme(c, k["county"], scheme_doc(**BASELINE, code="SIM-COUNTY"), code="SIM-COUNTY",
                        procuratorate="910101")
    publish(c, k, county["id"], effective_from="2020-01-01", author="county")
    ok(ask(c, k["scorer"], subject="P01", scheme="SIM-COUNTY"))  # its own county's prosecutor
    refused(ask(c, k["scorer"], subject="P07", scheme="SIM-COUNTY"), 404, "scoring.outside_scheme")
    refused(ask(c, k["scorer"], subject="P01", scheme="NO-SUCH-SCHEME"), 404, "not_found.scheme")
    refused(c.post("/api/v1/evaluations", headers=k["scorer"], json={"subject": "P01", "period": "2020",
                                                                     "version_id": 99999}), 404)
    refused(c.post("/api/v1/evaluations", json={"subject": "P01", "period": "2020", "scheme": "SIM-PROSECUTOR"}), 401)
    refused(c.post("/api/v1/evaluations", headers={"Authorization": "Bearer rsk_0000_not-a-key"},
                   json={"subject": "P01", "period": "2020", "scheme": "SIM-PROSECUTOR"}), 401)
    big = {"subject": "P01", "period": "2020", "scheme": "SIM-PROSECUTOR",
           "events": [{"event_id": "x" * 200, "note": "y" * 300}] * 4000}
    refused(c.post("/api/v1/evaluations", headers=k["scorer"], json=big), 413)
    # P10 has no activity: scored, not graded, and the card says why.
    p10 = ok(ask(c, k["scorer"], subject="P10"))
    assert p10["status"] == "not_graded" and p10["grade"] is None and p10["status_reason"]


def test_the_version_in_force_on_the_periods_first_day_and_schemes_the_caller_cannot_see(world):
    """The scheme, its version in force and its publication are found in one query: each case of that lookup."""
    from tests.integration.simhelpers import CANDIDATE, new_draft

    _, c, k, v1 = world
    v2 = new_draft(c, k["province"], scheme_doc(**CANDIDATE))
    publish(c, k, v2["id"], effective_from="2020-07-01", periods="2020-07")
    refused(ask(c, k["scorer"], subject="P01", period="2020-06"), 404, "scoring.no_data")  # in v1's time, no data
    assert ok(ask(c, k["scorer"], subject="P01", period="2020"))["scheme"]["version_id"] == v1["id"]  # from 1 January
    assert ok(ask(c, k["scorer"], subject="P01", period="2020-07"))["scheme"]["version_id"] == v2["id"]
    assert ok(ask(c, k["scorer"], subject="P01", period="2020-Q3"))["scheme"]["version_id"] == v2["id"]
    # A scheme with a draft only: to whoever may see it, nothing in force; to a county below, no such scheme.
    new_scheme(c, k["province"], scheme_doc(**BASELINE, code="SIM-DRAFT-ONLY"), code="SIM-DRAFT-ONLY")
    refused(ask(c, k["scorer"], subject="P01", scheme="SIM-DRAFT-ONLY"), 404, "not_found.in_force")
    refused(ask(c, k["county-scorer"], subject="P01", scheme="SIM-DRAFT-ONLY"), 404, "not_found.scheme")


def test_an_integrators_usual_mistakes_get_answers_that_name_them(world):
    """What a first-time integrator got wrong in a review, each answered for what it is: a period no data
    covers (not everyone at the base score), a version of another scheme under this scheme's code, a body
    sent without its Content-Type or with a byte-order mark, a read-only key asking for scores."""
    import json as _json

    _, c, k, v1 = world
    future = refused(ask(c, k["scorer"], subject="P01", period="2031-07"), 404, "scoring.no_data")
    assert "2031-07 尚未开始：今天是 " in future["message"]  # not only "import its data" (a bulletin developer's audit)
    past = refused(ask(c, k["scorer"], subject="P01", period="2019-07"), 404)
    assert "尚未开始" not in past["message"]
    refused(c.post("/api/v1/evaluations/batch", headers=k["scorer"],
                   json={"scheme": "SIM-PROSECUTOR", "period": "2031-07", "subjects": ["P01"]}), 404, "scoring.no_data")
    refused(c.get("/api/v1/rankings?scheme=SIM-PROSECUTOR&period=2031-07", headers=k["scorer"]), 404, "scoring.no_data")
    refused(c.get("/api/v1/subjects/P01/history?scheme=SIM-PROSECUTOR&from=2031-01&to=2031-02", headers=k["scorer"]),
            404, "scoring.no_data")
    months = {p["period"]: p for p in ok(c.get("/api/v1/subjects/P01/history?scheme=SIM-PROSECUTOR&from=2020-07"
                                               "&to=2020-08", headers=k["scorer"]))["periods"]}  # events in July only
    assert months["2020-07"]["figures"] and months["2020-08"]["figures"] is None
    assert "没有可用的数据" in months["2020-08"]["note"] and "total" not in months["2020-08"]
    # A procuratorate's code on a scheme that scores prosecutors: said so, not "no such subject".
    body = refused(ask(c, k["scorer"], subject="910101"), 404, "scoring.wrong_kind")
    assert "检察官" in body["message"] and "检察院" in body["message"]
    # A field's form is said with an example: a scheme code, a history's months.
    body = refused(ask(c, k["scorer"], subject="P01", scheme="SIM PROSECUTOR"), 422)
    assert "SFS-PROSECUTOR-TEMPLATE" in body["errors"]["json"]["scheme"][0]
    body = refused(c.get("/api/v1/subjects/P01/history?scheme=SIM-PROSECUTOR&from=2020-Q1&to=2020-Q4&every=quarter",
                         headers=k["scorer"]), 422)
    assert "2020-01" in body["errors"]["query"]["from"][0] and "every=quarter" in body["errors"]["query"]["to"][0]
    # A mistyped filter is refused like a mistyped body key — never the whole ranking as if it had been applied;
    # the parameters any GET may carry (language, page, a client's cache-buster) are not.
    body = refused(c.get("/api/v1/rankings?scheme=SIM-PROSECUTOR&period=2020&bussiness=ordinary_crime",
                         headers=k["scorer"]), 422)
    assert list(body["errors"]["query"]) == ["bussiness"] and "拼写错误" in body["errors"]["query"]["bussiness"][0]
    body = refused(c.get("/api/v1/subjects/P01/history?scheme=SIM-PROSECUTOR&from=2020-01&to=2020-12&evry=quarter",
                         headers=k["scorer"]), 422)
    assert list(body["errors"]["query"]) == ["evry"]
    # A parameter of one value given twice: refused, never answered for the first alone as if for both.
    body = refused(c.get("/api/v1/rankings?scheme=SIM-PROSECUTOR&period=2020&period=2021", headers=k["scorer"]), 422)
    assert list(body["errors"]["query"]) == ["period"] and "多次" in body["errors"]["query"]["period"][0]
    assert body["field_codes"]["query"]["period"] == ["field.repeated"]
    body = refused(c.get("/api/v1/rankings?scheme=SIM-PROSECUTOR&period=2020&page=1&page=2&lang=en",
                         headers=k["scorer"]), 422)
    assert body["errors"]["query"] == {"page": ["Given more than once."]}
    assert ok(c.get("/api/v1/rankings?scheme=SIM-PROSECUTOR&period=2020&lang=en&page=1&page_size=5&_=1733480000",
                    headers=k["scorer"]))
    # A version id of another scheme under this scheme's code: refused, never that scheme's figures.
    county = new_scheme(c, k["county"], scheme_doc(**BASELINE, code="SIM-COUNTY"), code="SIM-COUNTY",
                        procuratorate="910101")
    publish(c, k, county["id"], effective_from="2020-01-01", author="county")
    body = refused(ask(c, k["scorer"], subject="P01", version_id=county["id"]), 422, "scoring.version_other_scheme")
    assert "SIM-COUNTY" in body["message"] and body["errors"]["version_id"]
    refused(c.get(f"/api/v1/rankings?scheme=SIM-PROSECUTOR&period=2020&version_id={county['id']}", headers=k["scorer"]),
            422, "scoring.version_other_scheme")
    assert ok(ask(c, k["scorer"], subject="P01", scheme="SIM-COUNTY", version_id=county["id"]))["total"] is not None
    # A JSON body without its Content-Type (curl -d sends a form): 415 saying so, not "every field missing".
    text = _json.dumps({"scheme": "SIM-PROSECUTOR", "period": "2020", "subject": "P01"})
    body = refused(c.post("/api/v1/evaluations", headers=k["scorer"], data=text,
                          content_type="application/x-www-form-urlencoded"), 415, "request.not_json")
    assert "Content-Type: application/json" in body["message"]
    refused(c.post("/api/v1/evaluations", headers=k["scorer"], data=text, content_type="text/plain"), 415)
    # No Content-Type at all: said so (it read "got —"), in the caller's language.
    bare = refused(c.post("/api/v1/evaluations?lang=en", headers=k["scorer"], data=text), 415, "request.no_content_type")
    assert "has no Content-Type header" in bare["message"] and "—" not in bare["message"]
    # The same body with a UTF-8 byte-order mark (.NET, Windows tools): read as the JSON it is.
    bom = ok(c.post("/api/v1/evaluations", headers=k["scorer"], data=b"\xef\xbb\xbf" + text.encode(),
                    content_type="application/json"))
    assert bom["total"] == ok(ask(c, k["scorer"], subject="P01"))["total"]
    # UTF-16 (what Windows tools call "Unicode"): refused as not UTF-8, in the caller's words (was werkzeug's English).
    body = refused(c.post("/api/v1/evaluations", headers=k["scorer"], data=text.encode("utf-16"),
                          content_type="application/json"), 400, "request.bad_json")
    assert "不是 UTF-8 编码" in body["message"]
    # An unpaired surrogate escape is JSON syntax but no character: 400, not a 500 when it is echoed or stored
    # (audit finding) — in a value and in a key; a proper pair (an emoji) is fine.
    for lone in ('{"scheme": "SIM-PROSECUTOR", "period": "2020", "subject": "\\ud800"}',
                 '{"scheme": "SIM-PROSECUTOR", "period": "2020", "subject": "P01", "\\udfff": 1}'):
        body = refused(c.post("/api/v1/evaluations", headers=k["scorer"], data=lone.encode(),
                              content_type="application/json"), 400, "request.bad_json")
        assert "代理项" in body["message"]
    refused(ask(c, k["scorer"], subject="\U0001F600"), 404, "scoring.no_subject")
    # A code pasted with the spaces of its spreadsheet cell: read without them (the card's code is the plain one);
    # only spaces is a field error, not "no such subject".
    assert ok(ask(c, k["scorer"], subject=" P01\t"))["subject"]["code"] == "P01"
    assert [x["subject"]["code"] for x in ok(c.post("/api/v1/evaluations/batch", headers=k["scorer"], json={
        "scheme": "SIM-PROSECUTOR", "period": "2020", "subjects": ["P01 ", " P01", "P02"]}))["cards"]] == ["P01", "P02"]
    assert "subject" in refused(ask(c, k["scorer"], subject="   "), 422)["errors"]["json"]
    # A read-only key asking for scores is told which permission it lacks, on the card and the batch alike.
    for path, extra in (("/api/v1/evaluations", {"subject": "P01"}), ("/api/v1/evaluations/batch", {"subjects": ["P01"]})):
        body = refused(c.post(path, headers=k["readonly"], json={"scheme": "SIM-PROSECUTOR", "period": "2020", **extra}),
                       403, "permission.action")
        assert body["errors"]["permission"] == ["score"] and "查询考评得分" in body["message"]
    # The 404 envelope points to /api/docs: it leads to the interactive documentation.
    for path in ("/api/docs", "/api/docs/"):
        docs = c.get(path)
        assert docs.status_code == 302 and docs.headers["Location"].endswith("/api/docs/swagger")
    assert c.get("/api/docs/swagger").status_code == 200


def test_every_reason_for_not_taking_part_has_english_words():
    from rulesvc.engine.participation import REASON_LABELS, REASON_LABELS_EN

    assert REASON_LABELS_EN.keys() == REASON_LABELS.keys()
    assert all(v and v.isascii() for v in REASON_LABELS_EN.values())


def test_a_batch_of_unknown_codes_reads_the_directory_once_not_once_a_code(world):
    """A review sent 5,000 made-up codes in one county key's batch: each read the whole directory twice (25–38 ms a
    code), and the server was busy for 191 s. Now the statements a batch runs do not grow with its unknown codes."""
    from sqlalchemy import event

    from rulesvc.extensions import db

    sim, c, k, _ = world
    ask_batch = lambda codes: c.post("/api/v1/evaluations/batch", headers=k["county-scorer"],  # noqa: E731
                                     json={"scheme": "SIM-PROSECUTOR", "period": "2020", "subjects": codes})
    ok(ask_batch(["P01"]))  # the figures cached: what follows reads only what the codes need
    counts = []
    for n in (20, 400):
        seen: list[int] = []
        with sim.app_context():
            engine = db.engine
        listener = lambda *a, seen=seen, **kw: seen.append(1)  # noqa: E731
        event.listen(engine, "before_cursor_execute", listener)
        try:
            cards = ok(ask_batch([f"X{i:05d}" for i in range(n)] + ["P07", "P01"]))["cards"]
        finally:
            event.remove(engine, "before_cursor_execute", listener)
        assert [x["error"]["error_code"] for x in cards[:n + 1]] == ["scoring.no_subject"] * (n + 1)  # P07: not theirs
        assert cards[-1]["subject"]["code"] == "P01" and "error" not in cards[-1]
        counts.append(len(seen))
    assert counts[1] == counts[0], counts


def test_a_body_naming_a_key_twice_is_refused_not_read_one_way(world):
    """A review sent {"subject": "P01", "subject": "P04"}: the last won (200 for P04), where a gateway reading the
    first would log P01. A key twice in one object is a bad body now (400), at any depth."""
    _, c, k, _ = world
    for raw in ('{"scheme": "SIM-PROSECUTOR", "period": "2020", "subject": "P01", "subject": "P04"}',
                '{"scheme": "SIM-PROSECUTOR", "period": "2020", "subject": "P01", "events": [{"a": 1, "a": 2}]}'):
        body = refused(c.post("/api/v1/evaluations", headers={**k["scorer"], "Content-Type": "application/json"},
                              data=raw), 400, "request.bad_json")
        assert "出现了不止一次" in body["message"]
    en = refused(c.post("/api/v1/evaluations?lang=en", headers={**k["scorer"], "Content-Type": "application/json"},
                        data='{"subject": "P01", "subject": "P04"}'), 400)
    assert "appears more than once" in en["message"]
