"""The data dictionary: shipped files load, and values are typed strictly with bilingual errors."""

from __future__ import annotations

import pytest

from rulesvc.config import PROJECT_ROOT
from rulesvc.engine.dictionary import DictionaryError, ValueRejected, build_dictionary, load_dictionary

DICT = load_dictionary(PROJECT_ROOT / "rules")


def test_shipped_dictionary_has_the_event_types_the_indicators_need():
    for code in ("case_accepted", "arrest_review", "prosecution_review", "supplementary_investigation",
                 "review_extension", "court_judgment", "supervision_action", "public_hearing", "judicial_aid",
                 "quality_review", "civil_supervision", "administrative_supervision", "public_interest_case",
                 "honour", "disciplinary_finding", "prosecution_withdrawn", "extra_proceeding"):
        assert code in DICT.event_types
    assert len(DICT.businesses) == 10
    assert {b.line for b in DICT.businesses} == {"criminal", "civil", "administrative", "public_interest"}


def test_csv_text_is_typed_by_the_dictionary():
    typed, problems = DICT.coerce_attrs(
        "prosecution_review",
        {"suspect_id": "S1", "decision": "prosecute", "plea_leniency": "true", "sentencing_rec": "确定刑",
         "accepted_on": "2020-07-01"},
    )
    assert problems == []
    assert typed == {"suspect_id": "S1", "decision": "prosecute", "plea_leniency": True,
                     "sentencing_rec": "definite", "accepted_on": "2020-07-01"}


@pytest.mark.parametrize(
    ("field", "raw", "fragment"),
    [
        ("plea_leniency", "yes", "true/false"),
        ("decision", "maybe", "must be one of"),
        ("accepted_on", "2020-7-1", "YYYY-MM-DD"),
    ],
)
def test_bad_values_are_rejected_with_both_languages(field, raw, fragment):
    row = {"suspect_id": "S1", "decision": "prosecute", "plea_leniency": True, field: raw}
    _, problems = DICT.coerce_attrs("prosecution_review", row)
    assert [name for name, _ in problems] == [field]
    assert fragment in problems[0][1].en
    assert "“" in problems[0][1].zh


def test_missing_required_field_and_unknown_field_are_both_reported():
    _, problems = DICT.coerce_attrs("supplementary_investigation", {"rounds": 1})
    assert sorted(name for name, _ in problems) == ["round", "rounds"]


def test_integer_range_is_enforced():
    _, problems = DICT.coerce_attrs("supplementary_investigation", {"round": "3"})
    assert "<= 2" in problems[0][1].en


def test_booleans_are_not_integers():
    with pytest.raises(ValueRejected):
        DICT.event_types["case_accepted"].fields["suspects"].coerce(True)


def test_unknown_event_type_lists_the_known_ones():
    with pytest.raises(ValueRejected) as exc:
        DICT.event_type("arrest")
    assert "arrest_review" in exc.value.zh and "arrest_review" in exc.value.en  # in English too (an integrator)


def test_malformed_dictionary_says_where():
    with pytest.raises(DictionaryError) as exc:
        build_dictionary({"event_types": {"x": {"fields": {"f": {"type": "decimal", "label": "a", "label_en": "a"}}}}})
    assert exc.value.where == "event_types.x.fields.f.type"


def test_a_spreadsheet_date_with_a_time_of_day_is_refused_as_a_person_reads_the_cell():
    """Found by an audit: the message showed "datetime.datetime(2020, 6, 1, 13, 30)"."""
    import datetime as dt

    from rulesvc.services.importing.values import date

    with pytest.raises(ValueRejected) as refused:
        date(dt.datetime(2020, 6, 1, 13, 30), "任职起始日期")
    assert refused.value.zh == "“任职起始日期”应为日期 YYYY-MM-DD，实际为带时刻的 2020-06-01 13:30：请去掉时刻"
    assert "datetime" not in refused.value.en
    assert date(dt.datetime(2020, 6, 1), "任职起始日期") == dt.date(2020, 6, 1)


def test_a_day_that_does_not_exist_is_said_so():
    """A data clerk's audit (2026-12-07): 2020-02-30 read "应为日期 YYYY-MM-DD，实际为 '2020-02-30'" — it is written
    that way; the day does not exist."""
    from rulesvc.services.importing.values import date

    for bad in ("2020-02-30", "2020/13/05"):
        with pytest.raises(ValueRejected) as refused:
            date(bad, "发生日期")
        assert refused.value.zh == f"“发生日期”的 {bad} 不是存在的日期"
    with pytest.raises(ValueRejected) as refused:
        date("30.02.2020", "发生日期")
    assert "应为日期 YYYY-MM-DD" in refused.value.zh


def test_a_date_written_with_slashes_as_spreadsheets_do_is_read():
    """Found by a first day in the UI: "2020/11/05" was refused."""
    import datetime as dt

    from rulesvc.services.importing.values import date

    assert date("2020/11/05", "发生日期") == date("2020/11/5", "发生日期") == dt.date(2020, 11, 5)
    for bad in ("2020/13/05", "05/11/2020", "2020/11/05/1"):
        with pytest.raises(ValueRejected):
            date(bad, "发生日期")
