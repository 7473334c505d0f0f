"""Pieces every kind of import shares: the error log, the content hash, progress reporting."""

from __future__ import annotations

import json
from collections.abc import Callable
from hashlib import sha256
from typing import Any, Protocol

from rulesvc.engine.dictionary import ValueRejected
from rulesvc.errors import RowError

# How many row errors are kept for the report; the rest are only counted (a 1M-row file with one
# wrong column would otherwise hold a million messages in memory).
MAX_ERRORS = 10_000
# How often (in rows) the reading phase reports progress.
PROGRESS_EVERY = 5_000
HASH_VERSION = "rulesvc-import-v1"
# One encoder, made once: json.dumps with options builds a new encoder on every call.
_CANONICAL = json.JSONEncoder(sort_keys=True, separators=(",", ":"))


class Progress(Protocol):
    """Receives ``(phase, done, total)``: phase ``"validate"`` counts the reader's units (bytes, or rows
    of a workbook), phase ``"write"`` counts rows written."""

    def __call__(self, phase: str, done: int, total: int) -> None: ...


class ErrorLog:
    """Collects row errors, keeping the first ``limit`` and counting all."""

    def __init__(self, limit: int = MAX_ERRORS) -> None:
        self.limit = limit
        self.kept: list[RowError] = []
        self.count = 0

    def add(self, error: RowError) -> None:
        self.count += 1
        if len(self.kept) < self.limit:
            self.kept.append(error)

    def extend(self, errors: list[RowError]) -> None:
        for e in errors:
            self.add(e)

    def reject(self, line: int, column: str | None, exc: ValueRejected, value: Any = None) -> None:
        """Record a :class:`ValueRejected` as a row error."""
        self.add(RowError(line, column, exc.zh, exc.en, _plain(value)))

    def message(self, line: int, column: str | None, zh: str, en: str, value: Any = None) -> None:
        self.add(RowError(line, column, zh, en, _plain(value)))


def _plain(value: Any) -> Any:
    """A value as JSON can carry it (Excel gives datetimes)."""
    if value is None or isinstance(value, str | int | float | bool):
        return value
    return str(value)


class ContentHash:
    """sha256 of a set of canonical rows, independent of their order and of the file's format.

    Each row is reduced to a digest of its canonical JSON; the digests are sorted and hashed together
    with the kind, so the same data re-exported in another order or format is the same dataset.
    """

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._digests: list[bytes] = []

    def add(self, canonical: list[Any]) -> None:
        # 16 bytes per row keep a million rows in ~50 MB with no practical chance of collision.
        self._digests.append(sha256(_CANONICAL.encode(canonical).encode()).digest()[:16])

    def hexdigest(self) -> str:
        h = sha256(f"{HASH_VERSION}:{self.kind}:{len(self._digests)}\n".encode())
        self._digests.sort()
        for d in self._digests:
            h.update(d)
        return h.hexdigest()

    def __len__(self) -> int:
        return len(self._digests)


def reporter(progress: Progress | None, phase: str, total: int) -> Callable[[int], None]:
    """A ``done`` callback that forwards to ``progress`` (or does nothing)."""
    if progress is None:
        return lambda done: None
    return lambda done: progress(phase, done, total)
