"""A prosecutor who moves (调动): past periods keep the post held then.

Before, the directory held only each prosecutor's present post: once a move was imported, every past period
read it — the old unit's July lost a member, the new one gained one, with their quota places and peer averages —
and events of the old unit dated before the move were refused ("belongs to procuratorate X"). A prosecutors
file may now say from when the present post is held (``post_from``, 现岗位起始日期): a changed post with that
date keeps the former one (held until the day before), and a period is scored with the post held on its last
day. A changed post without a date is a correction of the directory, for every period (as before)."""

from __future__ import annotations

import csv
import datetime as dt

import pytest
from sqlalchemy import select

from rulesvc.errors import ImportRejected
from rulesvc.extensions import db
from rulesvc.persistence.models import ProsecutorPost
from rulesvc.services import localtime
from tests.integration.simhelpers import PEOPLE, import_rows, ok, province_files, scoring_world

MONTHS = ["2020-07", "2020-08"]


@pytest.fixture
def world(app, tmp_path):
    with scoring_world(app, tmp_path, periods="2020-07", months=MONTHS) as (sim, c, keys, _):
        yield sim, c, {**keys, "qingrui": keys["county-scorer"]}, tmp_path  # 清瑞区's own scorer


def prosecutors_file(folder):
    """The small province's prosecutors file: (its path, its rows — the header first)."""
    path = province_files(folder, PEOPLE)[2]
    with path.open(encoding="utf-8") as f:
        return path, list(csv.reader(f))


def directory(app, folder, moves: dict[str, tuple[str, str]]):
    """Import the prosecutors file with ``moves``: code -> (new procuratorate, post_from or "")."""
    path, rows = prosecutors_file(folder)
    out = [[*rows[0], "post_from"]]
    for r in rows[1:]:
        org, since = moves.get(r[0], (r[2], ""))
        out.append([r[0], r[1], org, *r[3:], since])
    return import_rows(app, path, out)


def events(app, folder, rows, name="late.csv"):
    return import_rows(app, folder / name, [["event_id", "event_type", "procuratorate", "prosecutor", "case_id",
                                             "occurred_on", "action", "adopted"], *rows])


def card(c, headers, period, code="P02"):
    return c.post("/api/v1/evaluations", headers=headers,
                  json={"scheme": "SIM-PROSECUTOR", "period": period, "subject": code})


def unit_of(answer):
    return answer["subject"]["procuratorate"]["code"]


def test_a_move_with_its_date_keeps_the_former_post_for_the_periods_before_it(world):
    sim, c, keys, tmp = world
    before = ok(card(c, keys["scorer"], "2020-07"))
    assert unit_of(before) == "910101"

    # P02 moves from 清瑞区 to 东湖区 on August 1st.
    assert directory(sim, tmp / "moved", {"P02": ("910102", "2020-08-01")}).created
    with sim.app_context():
        posts = db.session.scalars(select(ProsecutorPost)).all()
        assert [(p.held_until, p.business_code) for p in posts] == [(dt.date(2020, 7, 31), "ordinary_crime")]

    july, august, year = (ok(card(c, keys["scorer"], p)) for p in ("2020-07", "2020-08", "2020"))
    assert (unit_of(july), unit_of(august), unit_of(year)) == ("910101", "910102", "910102")
    assert july["total"] == before["total"]  # July as it was: nothing about it moved

    def members(period, unit):
        rows = ok(c.get(f"/api/v1/rankings?scheme=SIM-PROSECUTOR&period={period}&procuratorate={unit}",
                        headers=keys["scorer"]))
        return sorted(r["subject"]["code"] if isinstance(r.get("subject"), dict) else r["code"] for r in rows)
    assert "P02" in members("2020-07", "910101") and "P02" not in members("2020-07", "910102")
    assert "P02" in members("2020-08", "910102") and "P02" not in members("2020-08", "910101")

    # 清瑞区's key scores P02's July (theirs then), not August (another unit's by then).
    assert unit_of(ok(card(c, keys["qingrui"], "2020-07"))) == "910101"
    assert card(c, keys["qingrui"], "2020-08").status_code == 404

    # A late July filing of P02 at 清瑞区 is theirs; one of August there, or of July at 东湖区, is refused.
    assert events(sim, tmp, [["LATE-1", "supervision_action", "910101", "P02", "", "2020-07-20", "filing", "true"]]).created
    for org, day in (("910101", "2020-08-03"), ("910102", "2020-07-21")):
        with pytest.raises(ImportRejected) as refused:
            events(sim, tmp, [[f"LATE-{day}", "supervision_action", org, "P02", "", day, "filing", "true"]], "bad.csv")
        held = "910101" if day.startswith("2020-07") else "910102"
        assert f"检察官“P02”在 {day} 属于检察院 {held}，不属于 {org}" in str(refused.value.row_errors[0].message_zh)


def test_a_changed_post_without_a_date_corrects_the_directory_and_a_date_records_nothing_else(world):
    sim, c, keys, tmp = world
    # The same posts, each with a date: nothing moved, nothing recorded.
    directory(sim, tmp / "same", {code: (org, "2019-01-01") for code, (org, *_) in PEOPLE.items()})
    # P05 belongs to 清瑞区, not 东湖区: a correction, without a date — every period reads it.
    directory(sim, tmp / "fixed", {"P05": ("910101", "")})
    with sim.app_context():
        assert db.session.scalars(select(ProsecutorPost)).all() == []
    assert unit_of(ok(card(c, keys["scorer"], "2020-07", "P05"))) == "910101"


@pytest.mark.parametrize(("since", "words"), [
    ("2010-01-01", "不晚于任职起始日期"),
    ((localtime.today() + dt.timedelta(days=30)).isoformat(), "晚于今天"),
])
def test_a_move_date_that_cannot_be_is_refused(world, since, words):
    sim, _, _, tmp = world
    with pytest.raises(ImportRejected) as refused:
        directory(sim, tmp / "bad", {"P02": ("910102", since)})
    assert words in str(refused.value.row_errors[0].message_zh)


def test_a_second_move_must_come_after_the_first(world):
    sim, _, _, tmp = world
    directory(sim, tmp / "first", {"P02": ("910102", "2020-08-01")})
    with pytest.raises(ImportRejected) as refused:
        directory(sim, tmp / "second", {"P02": ("910100", "2020-07-15")})
    assert "早于已记录的调动日期 2020-08-01" in str(refused.value.row_errors[0].message_zh)


def test_a_recorded_move_can_be_re_dated_or_redirected_and_no_move_comes_after_leaving(world):
    """Found by an audit of moves: a move sent again with another date was dropped silently (no way to fix a wrong
    date), a move sent again to another unit was refused with words that read false, a move after leaving office
    was accepted, and the import's summary did not say which updates were moves."""
    sim, c, keys, tmp = world
    first = directory(sim, tmp / "first", {"P02": ("910102", "2020-08-01")})
    assert "其中调动 1" in first.message
    # The same move, its day corrected to July 16th: July is now 东湖区's (the post held on its last day).
    again = directory(sim, tmp / "redated", {"P02": ("910102", "2020-07-16")})
    assert "调动改期 1" in again.message
    with sim.app_context():
        assert [p.held_until for p in db.session.scalars(select(ProsecutorPost))] == [dt.date(2020, 7, 15)]
    assert unit_of(ok(card(c, keys["scorer"], "2020-07"))) == "910102"
    # The same day, another unit: the destination corrected (no second move recorded).
    directory(sim, tmp / "redirected", {"P02": ("910100", "2020-07-16")})
    with sim.app_context():
        assert len(db.session.scalars(select(ProsecutorPost)).all()) == 1
    assert unit_of(ok(card(c, keys["scorer"], "2020-08"))) == "910100"
    # Before the recorded day, to another unit: says which day to give.
    with pytest.raises(ImportRejected) as refused:
        directory(sim, tmp / "early", {"P02": ("910101", "2020-07-10")})
    assert "早于已记录的调动日期 2020-07-16" in str(refused.value.row_errors[0].message_zh)


def test_re_dating_a_move_says_which_imported_events_now_sit_on_the_wrong_side_of_it(world):
    """Noticed and left last time, done now: re-dating or redirecting a recorded move did not re-check the events
    already imported. A move put back from July 16th to August 1st leaves 东湖区's event of July 20th before it: the
    import says so, as it does for a new move."""
    sim, c, keys, tmp = world
    before = directory(sim, tmp / "first", {"P02": ("910102", "2020-07-16")})  # its August events at 清瑞区
    events(sim, tmp, [["LATE-1", "supervision_action", "910102", "P02", "LATE-C1", "2020-07-20", "filing", ""]])
    back = directory(sim, tmp / "later", {"P02": ("910102", "2020-08-01")})
    assert "调动改期 1" in back.message
    counted = {w for w in back.warning_zh.split("（", 1)[-1].split("）")[0].split("、")}
    assert any(w.startswith("P02 ") for w in counted), back.warning_zh
    n_back = int(next(w for w in counted if w.startswith("P02 ")).split()[1].rstrip("条"))
    n_first = int(before.warning_zh.split("P02 ")[1].split(" 条")[0])
    assert n_back == n_first + 1  # the July 20th event at 东湖区, now before the move, besides the ones before


def test_no_move_after_leaving_office_and_an_appointment_date_is_no_move(world):
    sim, c, keys, tmp = world
    path, rows = prosecutors_file(tmp / "left")
    out = [[*rows[0], "post_from"]]
    for r in rows[1:]:
        if r[0] == "P03":  # left on 2020-06-30, "moved" on 2020-08-01
            out.append([r[0], r[1], "910102", *r[3:9], "2020-06-30", "2020-08-01"])
        else:  # every other post's start given as the appointment date: records nothing
            out.append([*r, r[8]])
    with pytest.raises(ImportRejected) as refused:
        import_rows(sim, path, out)
    errors = refused.value.row_errors
    assert len(errors) == 1 and "晚于任职终止日期 2020-06-30：离任后不能再调动" in str(errors[0].message_zh)


def test_a_county_schemes_history_of_someone_who_moved_out_notes_the_months_after(world):
    """Found by an audit of moves: the province asking the history of someone who left the county, on the
    county's scheme, got 404 for the whole range (the months they were the county's included)."""
    from tests.integration.simhelpers import publish as go_live

    sim, c, keys, tmp = world
    v1 = ok(c.get("/api/v1/schemes/SIM-PROSECUTOR", headers=keys["province"]))["versions"][0]
    loc = ok(c.post(f"/api/v1/versions/{v1['id']}/localize", headers=keys["county"], json={
        "procuratorate": "910101", "code": "SIM-910101", "name": "清瑞区方案", "overrides": []}), 201)
    go_live(c, keys, loc["id"], effective_from="2020-01-01", periods="2020-07", author="county")
    directory(sim, tmp / "moved", {"P02": ("910102", "2020-08-01")})
    answer = ok(c.get("/api/v1/subjects/P02/history?scheme=SIM-910101&from=2020-07&to=2020-08",
                      headers=keys["scorer"]))
    july, august = answer["periods"]
    assert july["status"] == "evaluated" and august["status"] is None and "不在方案 SIM-910101 的适用范围内" in august["note"]
    # Never the county's: still not found, saying why.
    never = c.get("/api/v1/subjects/P07/history?scheme=SIM-910101&from=2020-07&to=2020-08", headers=keys["scorer"])
    assert never.status_code == 404 and never.get_json()["error_code"] == "scoring.outside_scheme"


def test_someone_added_after_a_publication_is_said_to_be_missing_from_it(world):
    """Found by an audit: a prosecutor added to the directory after July was published was called "outside the
    scheme" for July (wrong: their unit is within it), and their history failed for every month."""
    sim, c, keys, tmp = world
    ok(c.post("/api/v1/publications", headers=keys["reviewer"], json={"scheme": "SIM-PROSECUTOR", "period": "2020-07"}),
       201)
    path, rows = prosecutors_file(tmp / "new")
    import_rows(sim, path, [*rows, ["P11", "检察官11", "910101", "D01", "ordinary_crime", "quota", "false", "",
                                    "2015-01-01", ""]])
    july = card(c, keys["scorer"], "2020-07", "P11")
    assert july.status_code == 404 and july.get_json()["error_code"] == "scoring.not_in_publication"
    assert "不在 2020-07 已发布的结果" in july.get_json()["message"]
    history = ok(c.get("/api/v1/subjects/P11/history?scheme=SIM-PROSECUTOR&from=2020-07&to=2020-08",
                       headers=keys["scorer"]))["periods"]
    assert "不在 2020-07 已发布的结果" in history[0]["note"] and history[1]["figures"] == "provisional"


def test_a_directory_import_says_when_imported_events_fall_outside_the_new_dates(world):
    """Found by an audit: a leave date or a move before events already imported was taken without a word (the
    events import refuses such rows; a directory import cannot refuse the past, it says so)."""
    sim, c, keys, tmp = world
    path, rows = prosecutors_file(tmp / "left")
    out = [[*rows[0], "post_from"]]
    for r in rows[1:]:
        if r[0] == "P03":  # left on July 3rd: its July hearings (5th) and August events are after it
            out.append([*r[:9], "2020-07-03", ""])
        elif r[0] == "P02":  # moved to 东湖区 on August 1st: its August events were filed at 清瑞区
            out.append([r[0], r[1], "910102", *r[3:], "2020-08-01"])
        else:
            out.append([*r, ""])
    done = import_rows(sim, path, out)
    said = done.warning_zh
    assert "已导入的事件中有" in said and "P03" in said and "P02" in said and "请核对" in said
    assert "更新 2（其中调动 1），未变" in done.message and "events already imported" in done.warning_en


def test_the_audit_log_says_who_moved_from_when(world):
    from rulesvc.persistence.models import AuditRecord

    sim, _, _, tmp = world
    directory(sim, tmp / "moved", {"P02": ("910102", "2020-08-01")})
    with sim.app_context():
        record = db.session.scalars(select(AuditRecord).where(AuditRecord.action == "dataset.import")
                                    .order_by(AuditRecord.id.desc()).limit(1)).one()
        assert "调动：P02 自 2020-08-01 调入 910102" in record.summary
        assert record.detail["moves"] == [{"code": "P02", "from": "2020-08-01", "to": "910102"}]
