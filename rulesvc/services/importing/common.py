"""Pieces every kind of import shares: the limits, the error log, the content hash, progress reporting."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from hashlib import sha256
from typing import Any, Protocol

from rulesvc.engine.dictionary import ValueRejected
from rulesvc.errors import RowError

# Checking stops after this many row errors (a 1M-row file with one wrong column would otherwise read
# every row to say the same thing a million times); the report says how many rows were not checked.
MAX_ERRORS = 200
# How often (in rows) the reading phase reports progress.
PROGRESS_EVERY = 5_000
HASH_VERSION = "rulesvc-import-v1"
# One encoder, made once: json.dumps with options builds a new encoder on every call.
_CANONICAL = json.JSONEncoder(sort_keys=True, separators=(",", ":"))


@dataclass(frozen=True)
class Limits:
    """How big one imported file may be. Every limit is checked while streaming, before anything is
    written; the defaults are the ``IMPORT_MAX_*`` settings (``rulesvc.config``)."""

    max_rows: int = 2_000_000  # data rows (lines of a text file) per file
    max_cell_chars: int = 4096  # characters in one cell (a bigger one is a row error)
    max_file_bytes: int = 512 * 1024 * 1024
    max_xlsx_ratio: int = 200  # an .xlsx part that unpacks to more than this many times its size is a bomb
    max_errors: int = MAX_ERRORS  # checking stops after this many row errors

    @classmethod
    def from_config(cls, config: Mapping[str, Any], **overrides: Any) -> Limits:
        """The limits of an app's configuration (``IMPORT_MAX_ROWS``…), with ``overrides`` on top."""
        names = {"max_rows": "IMPORT_MAX_ROWS", "max_cell_chars": "IMPORT_MAX_CELL_CHARS",
                 "max_file_bytes": "IMPORT_MAX_FILE_BYTES", "max_xlsx_ratio": "IMPORT_MAX_XLSX_RATIO",
                 "max_errors": "IMPORT_MAX_ERRORS"}
        found = {k: int(config[v]) for k, v in names.items() if config.get(v) is not None}
        return cls(**{**found, **{k: v for k, v in overrides.items() if v is not None}})

    @property
    def max_line_chars(self) -> int:
        """Longest physical line of a text file: room for 64 full cells."""
        return self.max_cell_chars * 64

    @property
    def max_xml_run_bytes(self) -> int:
        """Longest run of XML bytes between two tags in an .xlsx part: a cell at the limit, every
        character escaped (``&amp;`` is 5 bytes; a CJK character 3)."""
        return self.max_cell_chars * 6 + 256

    @property
    def max_unpacked_bytes(self) -> int:
        """What the parts of an .xlsx may unpack to, together."""
        return self.max_file_bytes * 8


class Progress(Protocol):
    """Receives ``(phase, done, total)``: phase ``"validate"`` counts the reader's units (bytes, or rows
    of a workbook), phase ``"write"`` counts rows written."""

    def __call__(self, phase: str, done: int, total: int) -> None: ...


class ErrorLog:
    """Collects row errors, keeping the first ``limit`` and counting all. ``full`` says the limit is
    reached: the import stops checking there."""

    def __init__(self, limit: int = MAX_ERRORS) -> None:
        self.limit = limit
        self.kept: list[RowError] = []
        self.count = 0

    @property
    def full(self) -> bool:
        return self.count >= self.limit

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

    def __init__(self, kind: str, salt: str = "") -> None:
        self.kind = kind
        self.salt = salt  # a correction's hash names the dataset it corrects: the same rows, another dataset
        self._digests: list[bytes] = []

    def add(self, canonical: list[Any]) -> None:
        # 16 bytes per row keep a million rows in ~50 MB with no practical chance of collision.
        self._digests.append(sha256(_CANONICAL.encode(canonical).encode()).digest()[:16])

    def hexdigest(self) -> str:
        h = sha256(f"{HASH_VERSION}:{self.kind}:{len(self._digests)}\n".encode())
        if self.salt:
            h.update(f"{self.salt}\n".encode())
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
