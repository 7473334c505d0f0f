"""The migrated schema on each database: the dictionary is loaded and facts cannot be changed."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import DBAPIError

from rulesvc.extensions import db
from rulesvc.persistence.models import BusinessLine, Dataset, Event, EventType, Procuratorate


def test_dictionary_is_loaded_into_the_database(app):
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(EventType)) == 17
        assert db.session.scalar(select(func.count()).select_from(BusinessLine)) == 10


def _one_event() -> None:
    """A dataset of one event (an honour of the province), committed."""
    org = Procuratorate(code="220000", name="吉林省人民检察院", level="province")
    ds = Dataset(name="t", content_hash="0" * 64, row_count=1)
    db.session.add_all([org, ds])
    db.session.flush()
    db.session.add(Event(dataset_id=ds.id, external_id="e1", event_type="honour", procuratorate_id=org.id,
                         occurred_on=dt.date(2020, 7, 1), attrs={"kind": "honour", "level": "city", "title": "x"}))
    db.session.commit()


def test_events_cannot_be_updated_by_raw_sql(app):
    with app.app_context():
        _one_event()
        with pytest.raises(DBAPIError, match="immutable"):
            db.session.execute(text("UPDATE events SET case_id = 'X'"))
        db.session.rollback()
        with pytest.raises(DBAPIError, match="immutable"):
            db.session.execute(text("UPDATE datasets SET name = 'changed'"))
        db.session.rollback()
        assert db.session.scalar(select(Dataset.name)) == "t"


def test_imported_facts_cannot_be_deleted_nor_replaced(app):
    """Found by an audit of published results: a DELETE of a published period's events went through (the card's
    full trace then said "not graded"), and SQLite's INSERT OR REPLACE swapped frozen rows without firing any
    DELETE guard. Facts are withdrawn, never deleted; a row whose key is taken cannot be replaced."""
    with app.app_context():
        _one_event()
        postgres = db.engine.dialect.name == "postgresql"
        attacks = ["DELETE FROM events", "DELETE FROM datasets"]
        attacks += (["TRUNCATE events", "TRUNCATE datasets CASCADE"] if postgres else
                    ["INSERT OR REPLACE INTO datasets SELECT * FROM datasets"])
        for sql in attacks:
            with pytest.raises(DBAPIError, match="不可删除|不能替换"):
                db.session.execute(text(sql))
            db.session.rollback()
        assert db.session.scalar(select(func.count()).select_from(Event)) == 1
        assert db.session.scalar(select(Event.attrs))["title"] == "x"
