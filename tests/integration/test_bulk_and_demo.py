"""Bulk event writes and the demo province generator, on each database."""

from __future__ import annotations

import datetime as dt
import json
import random

import pytest
from sqlalchemy import func, select

from rulesvc.config import PROJECT_ROOT
from rulesvc.datagen.demo import DemoConfig, generate_and_load
from rulesvc.datagen.events import EventStream
from rulesvc.datagen.province import build_people, build_units
from rulesvc.engine.dictionary import load_dictionary
from rulesvc.errors import Conflict
from rulesvc.extensions import db
from rulesvc.persistence.bulk import EventRow, insert_events
from rulesvc.persistence.models import Dataset, Event, Procuratorate, Prosecutor

NASTY = ["tab\there", "new\nline", "back\\slash", "cr\rreturn", "引号“中文”", "\\N", 'quote"s']


def test_bulk_insert_round_trips_text_that_copy_would_misread(app):
    with app.app_context():
        org = Procuratorate(code="910000", name="示范省人民检察院", level="province")
        db.session.add(org)
        db.session.flush()
        rows = [
            EventRow(1, f"E{i}", "honour", org.id, None, text, dt.date(2020, 7, 1),
                     {"kind": "honour", "level": "city", "title": text})
            for i, text in enumerate(NASTY)
        ]
        assert insert_events(db.session.connection(), rows) == len(NASTY)
        db.session.add(Dataset(id=1, name="t", content_hash="1" * 64, row_count=len(NASTY)))
        db.session.commit()
        got = db.session.execute(select(Event.case_id, Event.attrs).order_by(Event.external_id)).all()
        assert [c for c, _ in got] == NASTY
        assert [a["title"] for _, a in got] == NASTY


def test_bulk_insert_without_its_dataset_fails_at_commit_and_lands_nothing(app):
    with app.app_context():
        org = Procuratorate(code="910000", name="示范省人民检察院", level="province")
        db.session.add(org)
        db.session.commit()
        insert_events(db.session.connection(), [
            EventRow(99, "E1", "honour", org.id, None, None, dt.date(2020, 7, 1),
                     {"kind": "honour", "level": "city", "title": "x"})])
        with pytest.raises(Exception, match="(?i)foreign key"):
            db.session.commit()
        db.session.rollback()
        assert db.session.scalar(select(func.count()).select_from(Event)) == 0


def test_demo_province_has_97_procuratorates_in_three_levels(demo_app):
    with demo_app.app_context():
        levels = dict(db.session.execute(select(Procuratorate.level, func.count()).group_by(Procuratorate.level)).all())
        assert levels == {"province": 1, "city": 9, "county": 87}
        assert db.session.scalar(select(func.count()).select_from(Prosecutor)) > 150
        ds = db.session.scalars(select(Dataset)).one()
        assert ds.row_count == db.session.scalar(select(func.count()).select_from(Event))
        assert len(ds.content_hash) == 64


def test_demo_refuses_a_database_that_already_has_procuratorates(demo_app):
    with demo_app.app_context(), pytest.raises(Conflict):
        generate_and_load(DemoConfig(prosecutors=20, months=1))


def test_generator_is_deterministic_and_seed_sensitive():
    def digest(seed: int) -> list:
        rng = random.Random(seed)
        units = build_units(rng)
        people = build_people(rng, units, 200, dt.date(2020, 1, 1), dt.date(2020, 2, 29))
        stream = EventStream(random.Random(seed + 1), people, dt.date(2020, 1, 1), 2)
        return [e[:5] for _, e in zip(range(3000), stream, strict=False)]

    assert digest(1) == digest(1)
    assert digest(1) != digest(2)


def test_every_generated_event_is_valid_against_the_dictionary():
    dictionary = load_dictionary(PROJECT_ROOT / "rules")
    rng = random.Random(3)
    units = build_units(rng)
    people = build_people(rng, units, 400, dt.date(2020, 1, 1), dt.date(2020, 12, 31))
    seen = set()
    for etype, _, _, case_id, _, attrs in EventStream(random.Random(4), people, dt.date(2020, 1, 1), 3):
        typed, problems = dictionary.coerce_attrs(etype, json.loads(json.dumps(attrs)))
        assert problems == [], (etype, attrs, problems)
        assert typed == attrs
        assert case_id or not dictionary.event_types[etype].requires_case
        seen.add(etype)
    assert len(seen) >= 15


def test_demo_indicators_land_where_the_seeds_put_them():
    """Province-wide over a year: 案-件比, plea leniency, definite recommendations, adoption, caseload.

    The province moves from Jilin's start to its end (1:2.29 → 1:1.35, 78.3 % → 84.4 %, 69.3 % →
    80.8 %), so a year's figures lie between them; tests/integration/test_demo_calibration.py checks
    the months. 案-件比 counts as CASE_RATIO_CRIM does (rules/schemes/province-procuratorate-quality.yaml).
    """
    rng = random.Random(20200701)
    units = build_units(rng)
    people = build_people(rng, units, 1000, dt.date(2020, 1, 1), dt.date(2020, 12, 31))
    counts: dict[str, int] = {}
    plea = definite = recs = adopted = made = reconsidered = 0
    for etype, _, _, _, _, a in EventStream(random.Random(20200702), people, dt.date(2020, 1, 1), 12):
        counts[etype] = counts.get(etype, 0) + 1
        if etype == "prosecution_review":
            plea += a["plea_leniency"]
            recs += a["sentencing_rec"] != "none"
            definite += a["sentencing_rec"] == "definite"
        elif etype == "court_judgment" and a["rec_made"]:
            made += 1
            adopted += a["rec_adopted"]
        elif etype == "arrest_review":
            reconsidered += a["reconsidered"]
        elif etype == "extra_proceeding":
            counts["non_arrest_review"] = counts.get("non_arrest_review", 0) + (a["kind"] == "non_arrest_review")
    cases = counts["case_accepted"]
    extras = (counts["supplementary_investigation"] + counts["review_extension"] + counts["prosecution_withdrawn"]
              + reconsidered + counts["extra_proceeding"] - counts.get("non_arrest_review", 0))
    ratio = (cases + extras) / cases
    assert 1.6 <= ratio <= 2.0
    # Returns for supplementary investigation stay a minority of extra proceedings, as in real reports.
    assert 0.03 <= counts["supplementary_investigation"] / cases <= 0.15
    assert 0.783 <= plea / counts["prosecution_review"] <= 0.844
    assert 0.693 <= definite / recs <= 0.808
    assert 0.94 <= adopted / made <= 0.98
    all_cases = cases + counts["civil_supervision"] + counts["administrative_supervision"] + counts["public_interest_case"]
    assert 65 <= all_cases / len(people) <= 95


def test_a_dataset_created_after_the_demo_gets_a_fresh_id(app):
    with app.app_context():
        summary = generate_and_load(DemoConfig(prosecutors=20, months=1))
        db.session.add(Dataset(name="next", content_hash="f" * 64, row_count=0))
        db.session.commit()
        ids = sorted(db.session.scalars(select(Dataset.id)))
        assert ids[0] == summary.dataset_id and len(ids) == 2 and ids[1] > ids[0]
