"""Times as pages show them: Beijing time by default, the database's UTC moved, dates left alone."""

from __future__ import annotations

import datetime as dt

import pytest

from rulesvc.services import localtime


@pytest.fixture(autouse=True)
def _default_zone():
    localtime.configure(localtime.DEFAULT_ZONE)
    yield
    localtime.configure(localtime.DEFAULT_ZONE)


def test_a_utc_moment_is_shown_in_beijing_time_across_midnight():
    assert localtime.text(dt.datetime(2026, 12, 31, 16, 5, tzinfo=dt.UTC)) == "2027-01-01 00:05"
    assert localtime.text(dt.datetime(2026, 12, 31, 16, 5)) == "2027-01-01 00:05"  # SQLite's naive UTC
    assert localtime.text("2026-12-31T16:05:09+00:00", seconds=True) == "2027-01-01 00:05:09"
    assert localtime.text("2026-12-31T16:05:09Z") == "2027-01-01 00:05"
    assert localtime.label("zh") == "北京时间" and localtime.label("en") == "Beijing time"


def test_dates_none_and_unreadable_text_are_left_as_they_are():
    assert localtime.text(dt.date(2020, 7, 1)) == "2020-07-01"
    assert localtime.text("2020-07-01") == "2020-07-01"
    assert localtime.text(None) == "" and localtime.text("") == ""
    assert localtime.text("not a time") == "not a time"


def test_another_zone_by_its_name_and_an_unknown_one_refused():
    localtime.configure("UTC")
    assert localtime.text(dt.datetime(2026, 12, 31, 16, 5, tzinfo=dt.UTC)) == "2026-12-31 16:05"
    assert localtime.label("zh") == "UTC"
    with pytest.raises(ValueError, match="RULESVC_TIMEZONE='Mars/Olympus'"):
        localtime.configure("Mars/Olympus")
    assert localtime.label("zh") == "UTC"  # a refused name changes nothing


def test_a_version_in_force_from_a_date_to_come_reads_scheduled():
    from types import SimpleNamespace

    from rulesvc.services.designer_words import version_status_word

    today = dt.date(2026, 12, 7)

    def v(status, start=None, end=None):
        return SimpleNamespace(status=status, effective_from=start, effective_to=end)

    assert version_status_word(v("active", dt.date(2027, 1, 1)), "zh", today) == "待生效"
    assert version_status_word(v("active", dt.date(2027, 1, 1)), "en", today) == "scheduled"
    assert version_status_word(v("active", dt.date(2020, 1, 1), dt.date(2026, 12, 31)), "zh", today) == "已生效"
    assert version_status_word(v("active", today), "zh", today) == "已生效"
    assert version_status_word(v("in_review"), "zh", today) == "审核中"
