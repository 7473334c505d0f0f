"""A caller's own events (issue 11, "what-if with the caller's facts"): checked exactly as the rows of an
imported JSON Lines file, with the import's messages; the subject's own and inside the period; at most
5,000; and the same frame, column for column and type for type, as the same events imported and read
back — so the engine scores them alike. Nothing is written."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest
from sqlalchemy import func, select

from rulesvc.catalogue import codes_in, language, render
from rulesvc.engine.periods import parse_period
from rulesvc.errors import ImportRejected, InvalidInput
from rulesvc.extensions import db
from rulesvc.persistence.models import Dataset, Event
from rulesvc.services.dictionary import get_dictionary
from rulesvc.services.facts import events_frame
from rulesvc.services.importing import import_file
from rulesvc.services.inline_events import MAX_INLINE_ERRORS, MAX_INLINE_EVENTS, inline_events
from rulesvc.services.scoring import KEYS, subjects_for

DATA = Path(__file__).resolve().parent.parent / "data" / "import"

# P001 (220102, in office since 2018): every kind of value the dictionary types — int, bool, enum, str,
# date, float — and an attribute given inside "attrs".
P001 = [
    {"event_id": "K1", "event_type": "case_accepted", "procuratorate": "220102", "prosecutor": "P001",
     "case_id": "C1", "occurred_on": "2020-03-02", "suspects": 2, "category": "ordinary", "detained": True,
     "charge": "盗窃罪"},
    {"event_id": "K2", "event_type": "case_accepted", "procuratorate": "220102", "prosecutor": "P001",
     "case_id": "C2", "occurred_on": "2020-04-10", "suspects": 1, "category": "serious"},
    {"event_id": "K3", "event_type": "prosecution_review", "procuratorate": "220102", "prosecutor": "P001",
     "case_id": "C1", "occurred_on": "2020-05-20", "suspect_id": "S1", "decision": "prosecute",
     "plea_leniency": True, "sentencing_rec": "definite", "accepted_on": "2020-03-02"},
    {"event_id": "K4", "event_type": "arrest_review", "procuratorate": "220102", "prosecutor": "P001",
     "case_id": "C2", "occurred_on": "2020-04-12", "attrs": {"suspect_id": "S2", "decision": "not_arrest",
                                                             "accepted_on": "2020-04-10", "reconsidered": False}},
    {"event_id": "K5", "event_type": "judicial_aid", "procuratorate": "220102", "prosecutor": "P001",
     "occurred_on": "2020-09-30", "recipients": 3, "amount": 12000.5},
    {"event_id": "K6", "event_type": "review_extension", "procuratorate": "220102", "prosecutor": "P001",
     "case_id": "C2", "occurred_on": "2020-12-31", "days": 15},
]
# Others' events, imported beside them (and so in the stored period), never given inline.
OTHERS = [
    {"event_id": "O1", "event_type": "case_accepted", "procuratorate": "220102", "prosecutor": "P002",
     "case_id": "C9", "occurred_on": "2020-03-02", "suspects": 4, "category": "duty"},
    {"event_id": "O2", "event_type": "honour", "procuratorate": "220100", "occurred_on": "2020-09-01",
     "kind": "typical_case", "level": "national", "title": "某典型案例"},
]


@pytest.fixture
def reference(app):
    """The procuratorates, departments and prosecutors of tests/data/import."""
    with app.app_context():
        dictionary = get_dictionary(app.config["RULES_DIR"])
        for name in ("procuratorates.csv", "departments.csv", "prosecutors.csv"):
            import_file(db.session, DATA / name, dictionary=dictionary)
    return app


def jsonl(rows: list) -> bytes:
    return "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows).encode("utf-8")


def import_events(app, rows: list) -> None:
    with app.app_context():
        import_file(db.session, jsonl(rows), filename="events.jsonl", kind="events",
                    dictionary=get_dictionary(app.config["RULES_DIR"]))


def import_errors(app, rows: list) -> list:
    """The row errors the import reports for ``rows`` as a JSON Lines file (line i + 1 is rows[i])."""
    with pytest.raises(ImportRejected) as info:
        import_events(app, rows)
    return info.value.row_errors


def subject(session, code: str, kind: str = "prosecutor") -> dict:
    return subjects_for(session, kind).filter(pl.col("code") == code).row(0, named=True)


def given(app, rows, code: str = "P001", *, kind: str = "prosecutor", period: str = "2020",
          event_types=None) -> pl.DataFrame:
    with app.app_context():
        try:
            return inline_events(db.session, get_dictionary(app.config["RULES_DIR"]), rows,
                                 subject_row=subject(db.session, code, kind), key=KEYS[kind],
                                 period=parse_period(period), event_types=event_types)
        finally:
            db.session.rollback()


def refused(app, rows, code: str = "P001", **kwargs) -> InvalidInput:
    with pytest.raises(InvalidInput) as info:
        given(app, rows, code, **kwargs)
    return info.value


def stored(app, code: str, *, period: str = "2020", event_types=None, cache_dir=None) -> pl.DataFrame:
    p = parse_period(period)
    with app.app_context():
        pid = subject(db.session, code)["prosecutor_id"]
        frame = events_frame(db.session, get_dictionary(app.config["RULES_DIR"]), start=p.start, end=p.end,
                             event_types=event_types, cache_dir=cache_dir)
        db.session.rollback()
    return frame.filter(pl.col("prosecutor_id") == pid)


def assert_same_frame(a: pl.DataFrame, b: pl.DataFrame) -> None:
    assert a.columns == b.columns
    assert a.schema == b.schema
    assert a.height == b.height
    assert a.sort("event_id").to_dicts() == b.sort("event_id").to_dicts()


def one(error: InvalidInput) -> tuple[str, object]:
    """The one field of an error and its one message."""
    assert len(error.errors) == 1, error.errors
    (where, messages), = error.errors.items()
    assert len(messages) == 1, messages
    return where, messages[0]


def row_message(error: InvalidInput, where: str) -> tuple[str, str]:
    """The import's (Chinese, English) wording carried by the field message at ``where``."""
    message, = error.errors[where]
    assert message.code == "inline_events.row"
    return message.params["message"], message.params["message_en"]


# -- the same frame as the same events imported ------------------------------------------------------


def test_inline_events_give_the_frame_the_same_events_imported_give(reference, tmp_path):
    import_events(reference, P001 + OTHERS)
    frame = given(reference, P001)
    assert frame.height == len(P001)
    assert_same_frame(frame, stored(reference, "P001"))
    assert_same_frame(frame, stored(reference, "P001", cache_dir=tmp_path / "cache"))  # the cached path too


def test_only_the_schemes_event_types_are_kept_with_the_columns_a_stored_frame_has(reference):
    import_events(reference, P001 + OTHERS)
    types = {"case_accepted", "prosecution_review"}
    frame = given(reference, P001, event_types=types)
    assert sorted(frame["event_id"]) == ["K1", "K2", "K3"]
    assert_same_frame(frame, stored(reference, "P001", event_types=types))


def test_values_as_text_labels_and_aliases_are_typed_as_an_import_types_them(reference):
    import_events(reference, P001)
    as_text = [
        {"事件编号": "K1", "事件类型": "受理审查起诉案件", "检察院代码": 220102, "工号": "P001", "案件编号": "C1",
         "发生日期": "2020-03-02", "犯罪嫌疑人数": "2", "category": "普通犯罪", "detained": "是", "charge": " 盗窃罪 "},
        *({k: (str(v) if isinstance(v, int | float) and not isinstance(v, bool) else v) for k, v in r.items()}
          for r in P001[1:]),
    ]
    assert_same_frame(given(reference, as_text), stored(reference, "P001"))


def test_no_events_is_an_empty_frame_of_the_same_columns(reference):
    import_events(reference, OTHERS)
    frame = given(reference, [])
    assert frame.height == 0
    assert frame.schema == stored(reference, "P001").schema


def test_a_procuratorate_is_given_its_own_events_unit_level_ones_included(reference):
    honour = OTHERS[1]
    frame = given(reference, [honour], "220100", kind="procuratorate")
    assert frame["event_id"].to_list() == ["O2"] and frame["prosecutor_id"].to_list() == [None]
    error = refused(reference, [P001[0]], "220100", kind="procuratorate")
    assert codes_in(error.errors) == {"events[0].procuratorate": ["inline_events.other_subject"]}
    assert error.errors["events[0].procuratorate"][0].params == {"subject": "220100", "given": "220102"}


def test_nothing_is_written(reference):
    with reference.app_context():
        before = (db.session.scalar(select(func.count()).select_from(Event)),
                  db.session.scalar(select(func.count()).select_from(Dataset)))
    given(reference, P001)
    with reference.app_context():
        assert (db.session.scalar(select(func.count()).select_from(Event)),
                db.session.scalar(select(func.count()).select_from(Dataset))) == before


# -- each kind of row error, with the import's own message --------------------------------------------

BAD_ROWS = {
    "event_type": {**P001[1], "event_type": "case_acepted"},
    "occurred_on": {**P001[1], "occurred_on": "2020-02-30"},
    "event_id": {k: v for k, v in P001[1].items() if k != "event_id"},
    "case_id": {k: v for k, v in P001[1].items() if k != "case_id"},
    "procuratorate": {**P001[1], "procuratorate": "12345"},
    "category": {**P001[1], "category": "petty"},
    "suspects": {**P001[1], "suspects": 0},
    "detained": {**P001[1], "detained": "maybe"},
    "amount": {**P001[4], "amount": "lots"},
    "charges": {**P001[1], "charges": "盗窃罪"},
    "attrs": {**P001[1], "attrs": ["suspects", 1]},
}


@pytest.mark.parametrize("column", sorted(BAD_ROWS))
def test_a_bad_value_is_the_error_the_import_reports_under_events_i_column(reference, column):
    rows = [P001[0], BAD_ROWS[column]]
    expected = [e for e in import_errors(reference, rows) if e.line == 2]
    assert [e.column for e in expected] == [column]
    error = refused(reference, rows)
    assert error.error_code == "inline_events.invalid"
    assert codes_in(error.errors) == {f"events[1].{column}": ["inline_events.row"]}
    assert row_message(error, f"events[1].{column}") == (expected[0].message_zh, expected[0].message_en)


def test_row_errors_render_in_the_readers_language(reference):
    error = refused(reference, [BAD_ROWS["occurred_on"]])
    with language("zh"):
        assert render(error.errors) == {"events[0].occurred_on": [
            "列 occurred_on：“occurred_on”的 2020-02-30 不是存在的日期"]}
        assert error.message == "提交的事件有 1 处错误，未计分；请按字段说明修改"
    with language("en"):
        assert render(error.errors) == {"events[0].occurred_on": [
            "'occurred_on': 2020-02-30 is not a real date"]}  # the column said once (an audit read it twice)


def test_every_error_of_every_row_is_reported(reference):
    rows = [BAD_ROWS["occurred_on"], P001[0], {**BAD_ROWS["category"], "event_id": "K9", "suspects": 500}]
    error = refused(reference, rows)
    assert codes_in(error.errors) == {"events[0].occurred_on": ["inline_events.row"],
                                      "events[2].category": ["inline_events.row"],
                                      "events[2].suspects": ["inline_events.row"]}
    assert error.details["total_errors"] == 3


def test_a_repeated_event_id_names_the_first_event(reference):
    error = refused(reference, [P001[0], P001[1], {**P001[1], "case_id": "C3"}])
    zh, en = row_message(error, "events[2].event_id")
    assert (zh, en) == ("事件编号“K2”与第 2 条事件（events[1]）重复", "event id 'K2' repeats events[1]")


def test_an_unknown_prosecutor_is_not_the_subject_and_nothing_more(reference):
    # Not the import's "unknown prosecutor": whether P999 exists is none of the caller's business (an audit told
    # existing prosecutors, their units and office dates apart through the import's words).
    rows = [{**P001[0], "prosecutor": "P999"}]
    error = refused(reference, rows)
    assert codes_in(error.errors) == {"events[0].prosecutor": ["inline_events.other_subject"]}


def test_a_row_that_is_not_an_object_is_an_error_of_that_row(reference):
    error = refused(reference, [P001[0], ["K2", "case_accepted"]])
    assert codes_in(error.errors) == {"events[1]": ["inline_events.not_an_object"]}
    error = refused(reference, {"events": P001})
    assert codes_in(error.errors) == {"events": ["inline_events.not_a_list"]}


def test_an_event_outside_the_prosecutors_office_is_refused_without_the_clis_hint(reference):
    # P004 left office on 2020-06-30
    rows = [{"event_id": "Z1", "event_type": "case_accepted", "procuratorate": "220100", "prosecutor": "P004",
             "case_id": "C1", "occurred_on": "2020-07-01", "suspects": 1, "category": "ordinary"}]
    expected, = import_errors(reference, rows)
    error = refused(reference, rows, "P004")
    zh, en = row_message(error, "events[0].occurred_on")
    assert en == expected.message_en
    assert expected.message_zh.startswith(zh) and "--outside-office" in expected.message_zh
    assert "--outside-office" not in zh


# -- the subject and the period -------------------------------------------------------------------------


def test_an_event_of_another_prosecutor_is_an_error_of_its_prosecutor(reference):
    error = refused(reference, [P001[0], OTHERS[0]])
    where, message = one(error)
    assert where == "events[1].prosecutor" and message.code == "inline_events.other_subject"
    assert message.params == {"subject": "P001", "given": "P002"}
    with language("en"):
        assert error.rendered_errors() == {"events[1].prosecutor": [
            "Only events of the subject P001 may be given; this one is P002's"]}


def test_an_event_naming_no_prosecutor_does_not_count_for_the_subject(reference):
    error = refused(reference, [{k: v for k, v in P001[0].items() if k != "prosecutor"}])
    assert codes_in(error.errors) == {"events[0].prosecutor": ["inline_events.subject_required"]}


def test_another_prosecutors_row_is_refused_as_such_before_its_other_errors(reference):
    # The row is not the subject's: it is not checked further (the import's checks read the directory for
    # that person — where they work, when they were in office).
    error = refused(reference, [{**OTHERS[0], "occurred_on": "2020/03/02"}])
    assert codes_in(error.errors) == {"events[0].prosecutor": ["inline_events.other_subject"]}


def test_an_event_outside_the_period_is_an_error_not_silently_dropped(reference):
    error = refused(reference, P001, period="2020-Q2")
    assert codes_in(error.errors) == {f"events[{i}].occurred_on": ["inline_events.outside_period"]
                                      for i in (0, 4, 5)}
    assert error.errors["events[0].occurred_on"][0].params == {
        "day": "2020-03-02", "period": "2020-Q2", "start": "2020-04-01", "end": "2020-06-30"}
    frame = given(reference, [P001[i] for i in (1, 2, 3)], period="2020-Q2")
    assert sorted(frame["event_id"]) == ["K2", "K3", "K4"]


# -- the limits --------------------------------------------------------------------------------------------


def test_more_than_the_cap_is_refused_before_any_row_is_checked(reference):
    rows = [{"event_id": f"K{i}"} for i in range(MAX_INLINE_EVENTS + 1)]  # every one bad: none is looked at
    error = refused(reference, rows)
    assert error.error_code == "inline_events.too_many"
    assert codes_in(error.errors) == {"events": ["inline_events.too_many"]}
    assert error.msg is not None and error.msg.params == {"limit": "5,000", "count": "5,001"}


def test_the_cap_itself_is_accepted(reference):
    rows = [{**P001[0], "event_id": f"K{i}", "case_id": f"C{i}"} for i in range(MAX_INLINE_EVENTS)]
    assert given(reference, rows).height == MAX_INLINE_EVENTS


def test_checking_stops_after_two_hundred_errors(reference):
    rows = [{**BAD_ROWS["occurred_on"], "event_id": f"K{i}"} for i in range(300)]
    error = refused(reference, rows)
    assert error.error_code == "inline_events.stopped"
    assert sum(len(m) for m in error.errors.values()) == MAX_INLINE_ERRORS == 200
    assert error.details == {"total_errors": 200, "unchecked": 100}
    assert error.msg is not None and error.msg.params == {"count": 200, "unchecked": "100"}
