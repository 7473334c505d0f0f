"""The provisional card store on disk (``services.cardstore``): cards kept per (run, subject), bounded by
the bytes it holds (the runs written longest ago go first), and passed over when the disk refuses."""

from __future__ import annotations

import sqlite3

import pytest

from rulesvc.services import cardstore


def test_cards_are_kept_per_run_and_subject(tmp_path):
    store = cardstore.CardStore(tmp_path)
    assert store.get("r1", "A") is None
    store.put("r1", "A", b"card A")
    store.put("r1", "A", b"another")  # a card is a function of its run and subject: the first one stays
    store.put("r2", "A", b"card A of r2")
    assert store.get("r1", "A") == b"card A" and store.get("r2", "A") == b"card A of r2"
    assert cardstore.CardStore(tmp_path).get("r1", "A") == b"card A"  # another process, another worker


def test_pruning_keeps_the_newest_runs_within_the_bound(tmp_path):
    store = cardstore.CardStore(tmp_path, max_bytes=2000)
    for run in ("old", "mid", "new"):
        for code in ("A", "B"):
            store.put(run, code, bytes(500))
    assert store.prune() == 1
    assert store.get("old", "A") is None and store.get("old", "B") is None
    assert store.get("mid", "A") == bytes(500) and store.get("new", "B") == bytes(500)


def test_a_run_digest_changes_with_the_run_and_the_code(monkeypatch):
    key = (("abc", ("h1", "h2"), "2020"), (("d1",),))
    first = cardstore.run_digest(key)
    assert first == cardstore.run_digest(key)
    assert first != cardstore.run_digest((("abc", ("h1", "h3"), "2020"), (("d1",),)))
    monkeypatch.setattr(cardstore, "code_digest", lambda: "another build")  # new code: cards made again
    assert cardstore.run_digest(key) != first


def test_a_store_the_disk_refuses_is_passed_over(tmp_path):
    (tmp_path / "taken").write_text("a file where the cache directory should be")
    store = cardstore.CardStore(tmp_path / "taken")
    store.put("r", "A", b"x")
    assert store.get("r", "A") is None and store.broken


def test_a_broken_file_is_passed_over(tmp_path):
    (tmp_path / cardstore.FILE_NAME).write_bytes(b"not a database" * 100)
    store = cardstore.CardStore(tmp_path)
    store.put("r", "A", b"x")
    assert store.get("r", "A") is None
    with pytest.raises(sqlite3.DatabaseError):
        sqlite3.connect(tmp_path / cardstore.FILE_NAME).execute("SELECT 1 FROM cards").fetchall()
