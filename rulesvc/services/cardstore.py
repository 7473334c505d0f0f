"""Provisional cards kept on disk, shared by every worker and kept across restarts.

A provisional card is a function of what it rests on — the version's content, the datasets, the
period, the dictionary, the procuratorates, the engine and the code that writes cards — and of the
subject. :mod:`rulesvc.services.results` keys each bulk run by all of it; this store keeps the card
bytes (gzip of the canonical JSON, as a publication stores them) under (that key's digest, subject
code) in one SQLite file beside the events cache. The first request for a subject's card in a run
computes it (``engine.summary``, a few milliseconds); every later one — in this worker, another
worker, or after a restart — reads it. Nothing in it is ever stale: new data, a new version or new
code give new keys. It is only a cache: delete the file and cards are computed again.

Bounded: once the file holds more than :data:`MAX_BYTES` of cards, the runs written longest ago are
dropped (checked every :data:`PRUNE_EVERY` cards a process writes). A store that cannot be opened or
written (read-only disk, a locked file) is passed over with a warning: the card is answered anyway.
"""

from __future__ import annotations

import hashlib
import logging
import os
import sqlite3
import threading
import time
from functools import cache
from pathlib import Path

logger = logging.getLogger(__name__)

FILE_NAME = "cards.sqlite3"
MAX_BYTES = 512 << 20  # ~30 periods of a 3,000-prosecutor province
PRUNE_EVERY = 2000
_SCHEMA = ("CREATE TABLE IF NOT EXISTS cards (run TEXT NOT NULL, code TEXT NOT NULL, card BLOB NOT NULL, "
           "written REAL NOT NULL, PRIMARY KEY (run, code)) WITHOUT ROWID")


@cache
def code_digest() -> str:
    """A digest of the code that computes and writes cards (the engine and the card services): a card
    kept by an older build is never answered by a newer one."""
    root = Path(__file__).resolve().parents[1]
    h = hashlib.sha256()
    files = sorted([*(root / "engine").rglob("*.py"), root / "services" / "evaluation.py",
                    root / "services" / "results.py", root / "services" / "results_words.py",
                    root / "catalogue.py"])
    for p in files:
        h.update(str(p.relative_to(root)).encode())
        h.update(p.read_bytes())
    return h.hexdigest()[:16]


def run_digest(key: object) -> str:
    """The store's name of a bulk run: a digest of its key (a tuple of strings, numbers and tuples, whose
    ``repr`` is stable) and of the code."""
    return hashlib.sha256(f"{code_digest()}|{key!r}".encode()).hexdigest()[:32]


class CardStore:
    """The cards of ``directory``/cards.sqlite3. One connection per thread and process."""

    def __init__(self, directory: str | Path, max_bytes: int = MAX_BYTES) -> None:
        self.path = Path(directory) / FILE_NAME
        self.max_bytes = max_bytes
        self._local = threading.local()
        self._written = 0
        self._lock = threading.Lock()
        self.broken = False

    def _db(self) -> sqlite3.Connection | None:
        if self.broken:
            return None
        conn = getattr(self._local, "conn", None)
        if conn is not None and getattr(self._local, "pid", None) == os.getpid():
            return conn
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(self.path, timeout=5, isolation_level=None, check_same_thread=True)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.execute(_SCHEMA)
        except (sqlite3.Error, OSError):
            logger.warning("card store %s unusable: cards are computed each time", self.path, exc_info=True)
            self.broken = True
            return None
        self._local.conn, self._local.pid = conn, os.getpid()
        return conn

    def get(self, run: str, code: str) -> bytes | None:
        db = self._db()
        if db is None:
            return None
        try:
            row = db.execute("SELECT card FROM cards WHERE run = ? AND code = ?", (run, code)).fetchone()
        except sqlite3.Error:
            logger.warning("card store %s: read failed", self.path, exc_info=True)
            return None
        return None if row is None else bytes(row[0])

    def put(self, run: str, code: str, card: bytes) -> None:
        db = self._db()
        if db is None:
            return
        try:
            db.execute("INSERT OR IGNORE INTO cards (run, code, card, written) VALUES (?, ?, ?, ?)",
                       (run, code, card, time.time()))
        except sqlite3.Error:
            logger.warning("card store %s: write failed", self.path, exc_info=True)
            return
        with self._lock:
            self._written += 1
            due = self._written % PRUNE_EVERY == 0
        if due:
            self.prune()

    def prune(self) -> int:
        """Drop the runs written longest ago beyond ``max_bytes``; returns how many runs were dropped."""
        db = self._db()
        if db is None:
            return 0
        try:
            runs = db.execute("SELECT run, sum(length(card)) FROM cards GROUP BY run ORDER BY max(written) DESC").fetchall()
            total, dropped = 0, []
            for run, size in runs:
                total += size
                if total > self.max_bytes:
                    dropped.append(run)
            for run in dropped:
                db.execute("DELETE FROM cards WHERE run = ?", (run,))
            return len(dropped)
        except sqlite3.Error:
            logger.warning("card store %s: pruning failed", self.path, exc_info=True)
            return 0


_STORES: dict[str, CardStore] = {}
_STORES_LOCK = threading.Lock()


def store_in(directory: str | Path) -> CardStore:
    """The process's store of ``directory`` (one per directory)."""
    key = str(directory)
    with _STORES_LOCK:
        found = _STORES.get(key)
        if found is None:
            found = _STORES[key] = CardStore(directory)
        return found


__all__ = ["CardStore", "code_digest", "run_digest", "store_in"]
