"""The events cache (``rulesvc.services.facts.cached_events``): the same frames as the database gives, a
key that follows withdrawals and corrections, a damaged file rebuilt, a bounded folder.

Runs on SQLite and on PostgreSQL (the ``app`` and ``demo_app`` fixtures)."""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

import polars as pl
import pytest
from sqlalchemy import select

from rulesvc.engine.periods import parse_period
from rulesvc.extensions import db
from rulesvc.persistence.models import Prosecutor
from rulesvc.services.dictionary import get_dictionary
from rulesvc.services.facts import cache_key, cached_events, events_frame, in_use, prune_cache
from rulesvc.services.governance.access import system_actor
from rulesvc.services.importing import import_file, withdraw_dataset
from rulesvc.services.scoring import compile_cached, load_scheme_file, period_data, score_period

DATA = Path(__file__).resolve().parent.parent / "data" / "import"
TEMPLATE = Path(__file__).resolve().parents[2] / "rules" / "schemes" / "province-prosecutor-template.yaml"
HEADER = "event_id,event_type,procuratorate,prosecutor,case_id,occurred_on,suspects,category,detained"
ACTOR = system_actor("test")


def files(cache: Path) -> list[Path]:
    return sorted(p for p in cache.iterdir() if p.name.startswith("events-"))


# -- on the demo province: the cache gives the database's frames, row for row -------------------------


@pytest.mark.parametrize("period", ["2020-01", "2020-02", "2020-Q1", "2019"])
def test_frames_with_and_without_the_cache_are_identical(demo_app, tmp_path, period):
    cache = tmp_path / "cache" / "events"
    with demo_app.app_context():
        dictionary = get_dictionary(demo_app.config["RULES_DIR"])
        compiled = compile_cached(load_scheme_file(TEMPLATE), dictionary)
        p = parse_period(period)
        for types in (compiled.event_types, None, ["case_accepted", "court_judgment"]):
            kw = {"start": p.start, "end": p.end, "event_types": types}
            plain = events_frame(db.session, dictionary, **kw)
            cold = events_frame(db.session, dictionary, cache_dir=cache, **kw)
            warm = events_frame(db.session, dictionary, cache_dir=cache, **kw)
            assert plain.schema == cold.schema == warm.schema
            assert plain.equals(cold) and plain.equals(warm)
        some = db.session.scalars(select(Prosecutor.id).order_by(Prosecutor.id).limit(7)).all()
        kw = {"start": p.start, "end": p.end, "prosecutor_ids": some}
        assert events_frame(db.session, dictionary, **kw).equals(events_frame(db.session, dictionary, cache_dir=cache, **kw))
        kw = {"start": p.start + dt.timedelta(days=14), "end": p.end - dt.timedelta(days=9)}
        assert events_frame(db.session, dictionary, **kw).equals(events_frame(db.session, dictionary, cache_dir=cache, **kw))
        # period_data / score_period thread it through; one file for every period and type list
        plain_data = period_data(db.session, compiled, dictionary, p)
        cached_data = period_data(db.session, compiled, dictionary, p, cache_dir=cache)
        assert plain_data.events.equals(cached_data.events) and plain_data.datasets == cached_data.datasets
        bulk, _ = score_period(db.session, compiled, dictionary, p)
        bulk_cached, _ = score_period(db.session, compiled, dictionary, p, cache_dir=cache)
        assert bulk.frame.equals(bulk_cached.frame)
        db.session.rollback()
    assert len(files(cache)) == 1
    assert not [p for p in cache.iterdir() if p.name.endswith(".tmp")]


def test_the_demo_year_is_not_empty(demo_app, tmp_path):
    """Guards the test above against comparing two empty frames."""
    with demo_app.app_context():
        dictionary = get_dictionary(demo_app.config["RULES_DIR"])
        frame = events_frame(db.session, dictionary, start=dt.date(2020, 1, 1), end=dt.date(2020, 2, 29),
                             cache_dir=tmp_path)
        assert frame.height > 1000 and frame["event_type"].n_unique() > 5
        db.session.rollback()


# -- the key follows what counts ----------------------------------------------------------------------


def run_import(app, source, **kwargs):
    with app.app_context():
        return import_file(db.session, source, dictionary=get_dictionary(app.config["RULES_DIR"]), **kwargs)


def case(eid: str, day: int, *, suspects: int = 1, who: str = "P001") -> str:
    return f"{eid},case_accepted,220102,{who},C-{eid},2020-07-{day:02d},{suspects},ordinary,false"


def write(path: Path, rows: list[str]) -> Path:
    path.write_text("\n".join([HEADER, *rows]) + "\n", encoding="utf-8")
    return path


@pytest.fixture
def reference(app):
    for name in ("procuratorates.csv", "departments.csv", "prosecutors.csv"):
        assert run_import(app, DATA / name).created
    return app


def july(app, cache: Path) -> tuple[str, pl.DataFrame, pl.DataFrame]:
    """(cache key, July's events through the cache, the same from the database)."""
    with app.app_context():
        dictionary = get_dictionary(app.config["RULES_DIR"])
        key = cache_key(db.session, dictionary, in_use(db.session))
        kw = {"start": dt.date(2020, 7, 1), "end": dt.date(2020, 7, 31)}
        cached = events_frame(db.session, dictionary, cache_dir=cache, **kw)
        plain = events_frame(db.session, dictionary, **kw)
        db.session.rollback()
        return key, cached, plain


def suspects(frame: pl.DataFrame) -> dict[str, float]:
    return dict(frame.select("event_id", "suspects").iter_rows())


def test_a_correction_and_withdrawals_change_the_key_and_the_next_read_shows_them(reference, tmp_path):
    cache = tmp_path / "events"
    first = run_import(reference, write(tmp_path / "july.csv", [case(f"K{i}", i) for i in range(1, 6)]))
    key1, cached, plain = july(reference, cache)
    assert cached.equals(plain) and sorted(cached["event_id"]) == ["K1", "K2", "K3", "K4", "K5"]

    # A correcting import: K1 now counts with 3 suspects, K6 is new.
    corr = run_import(reference, write(tmp_path / "fix.csv", [case("K1", 1, suspects=3), case("K6", 6)]),
                      corrects=first.dataset_id, actor=ACTOR)
    assert corr.created
    key2, cached, plain = july(reference, cache)
    assert key2 != key1 and cached.equals(plain)
    assert suspects(cached) == {"K1": 3.0, "K2": 1.0, "K3": 1.0, "K4": 1.0, "K5": 1.0, "K6": 1.0}

    # Withdrawing the correction brings the replaced event back: the first key again (its file still there).
    with reference.app_context():
        withdraw_dataset(db.session, ACTOR, corr.dataset_id, "更正有误")
        db.session.commit()
    key3, cached, plain = july(reference, cache)
    assert key3 == key1 and cached.equals(plain) and suspects(cached) == {f"K{i}": 1.0 for i in range(1, 6)}

    # Withdrawing the dataset itself: nothing counts, nothing cached for it.
    with reference.app_context():
        withdraw_dataset(db.session, ACTOR, first.dataset_id, "整批撤回")
        db.session.commit()
    key4, cached, plain = july(reference, cache)
    assert key4 not in (key1, key2) and cached.height == 0 and cached.equals(plain)
    assert {p.name for p in files(cache)} == {f"events-{key1}.parquet", f"events-{key2}.parquet"}


def test_scoring_exactly_the_recorded_datasets_uses_their_own_file(reference, tmp_path):
    cache = tmp_path / "events"
    first = run_import(reference, write(tmp_path / "july.csv", [case(f"K{i}", i) for i in range(1, 4)]))
    run_import(reference, write(tmp_path / "fix.csv", [case("K1", 1, suspects=5)]), corrects=first.dataset_id,
               actor=ACTOR)
    with reference.app_context():
        dictionary = get_dictionary(reference.config["RULES_DIR"])
        kw = {"start": dt.date(2020, 7, 1), "end": dt.date(2020, 7, 31)}
        only_first = events_frame(db.session, dictionary, dataset_ids=[first.dataset_id], cache_dir=cache, **kw)
        assert only_first.equals(events_frame(db.session, dictionary, dataset_ids=[first.dataset_id], **kw))
        assert suspects(only_first)["K1"] == 1.0
        now = events_frame(db.session, dictionary, cache_dir=cache, **kw)
        assert suspects(now)["K1"] == 5.0
        db.session.rollback()
    assert len(files(cache)) == 2


# -- a damaged file is never served ---------------------------------------------------------------------


@pytest.mark.parametrize("damage", ["garbage", "truncated", "empty", "other columns"])
def test_a_damaged_cache_file_is_deleted_and_rebuilt(reference, tmp_path, damage):
    cache = tmp_path / "events"
    run_import(reference, write(tmp_path / "july.csv", [case(f"K{i}", i) for i in range(1, 6)]))
    _, cached, plain = july(reference, cache)
    (path,) = files(cache)
    good = path.read_bytes()
    if damage == "garbage":
        path.write_bytes(b"\x00not a parquet file" * 100)
    elif damage == "truncated":
        path.write_bytes(good[: len(good) // 2])
    elif damage == "empty":
        path.write_bytes(b"")
    else:
        pl.DataFrame({"event_id": ["K1"]}).write_parquet(path)
    _, again, plain = july(reference, cache)
    assert again.equals(plain) and again.height == 5
    assert files(cache) == [path]
    with reference.app_context():  # the rebuilt file loads as it is
        dictionary = get_dictionary(reference.config["RULES_DIR"])
        assert pl.read_parquet(path).equals(cached_events(db.session, dictionary, in_use(db.session), cache))
        db.session.rollback()


# -- the folder is bounded ------------------------------------------------------------------------------


def test_the_folder_keeps_the_most_recently_used_files_within_the_limits(tmp_path):
    now = 1_700_000_000
    for i in range(6):
        p = tmp_path / f"events-{i}.parquet"
        p.write_bytes(b"x" * 1000)
        os.utime(p, (now + i, now + i))
    stale, fresh = tmp_path / ".events-9.parquet.1.ab.tmp", tmp_path / ".events-8.parquet.1.cd.tmp"
    for p in (stale, fresh):
        p.write_bytes(b"partial")
    os.utime(stale, (0, 0))
    gone = prune_cache(tmp_path, max_files=4, max_bytes=10**9)
    assert {p.name for p in gone} == {"events-0.parquet", "events-1.parquet", stale.name}
    assert fresh.exists()
    # by size: 2,500 bytes hold two files; the one just written is kept even if older
    keep = tmp_path / "events-2.parquet"
    gone = prune_cache(tmp_path, keep=keep, max_files=10, max_bytes=2500)
    assert sorted(p.name for p in files(tmp_path)) == ["events-2.parquet", "events-5.parquet"]
    assert {p.name for p in gone} == {"events-3.parquet", "events-4.parquet"}
