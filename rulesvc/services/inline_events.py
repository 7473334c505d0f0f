"""A caller's own events ("what-if with the caller's facts", issue 11): JSON objects checked exactly as the
rows of an imported JSON Lines file are — the same columns and names, the same typing against the data
dictionary, the same reference checks and the same messages — and turned into the frame
:func:`rulesvc.services.facts.events_frame` gives for stored events, so the engine scores them alike.

Nothing is written: no dataset, no event. Beyond an import's checks, every event must be the subject's
(its prosecutor, or its procuratorate for a procuratorate scheme) and dated inside the period — an event
outside it would silently not count, so it is an error instead. Event ids are checked for repeats among
the events given, not against stored data: these facts stand in for the subject's stored ones.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from typing import Any

import polars as pl
from sqlalchemy.orm import Session

from rulesvc.catalogue import Msg, msg
from rulesvc.engine.dictionary import Dictionary, ValueRejected
from rulesvc.engine.periods import Period
from rulesvc.errors import InvalidInput, RowError
from rulesvc.persistence.bulk import attrs_json
from rulesvc.services.facts import frame_from_rows
from rulesvc.services.importing import values as v
from rulesvc.services.importing.columns import EVENTS, SPECS, ColumnMap, attribute_aliases
from rulesvc.services.importing.common import MAX_ERRORS, ErrorLog, Limits
from rulesvc.services.importing.events import EventCheck
from rulesvc.services.importing.readers import json_record
from rulesvc.services.importing.service import resolve_keys

MAX_INLINE_EVENTS = 5_000
MAX_INLINE_ERRORS = MAX_ERRORS  # field messages reported at most; checking stops there, as an import's does
FIELD = "events"


def inline_events(session: Session, dictionary: Dictionary, rows: Any, *, subject_row: Mapping[str, Any],
                  key: str, period: Period, event_types: Iterable[str] | None = None) -> pl.DataFrame:
    """The events frame of ``rows`` — JSON objects with an event file's columns (``event_id``,
    ``event_type``, ``procuratorate``, ``prosecutor``, ``case_id``, ``occurred_on``, the attributes at the
    top level or in ``"attrs"``; Chinese header names and labels work too) — for the subject
    ``subject_row`` (a row of :func:`rulesvc.services.scoring.subjects_for`; ``key`` is ``prosecutor_id``
    or ``procuratorate_id``) in ``period``: the columns and types of
    :func:`~rulesvc.services.facts.events_frame` for ``event_types`` (the scheme's; events of other types
    are valid but left out, as a stored frame leaves them out), one row per event, in the order given
    within each type.

    At most :data:`MAX_INLINE_EVENTS` rows. Any bad row raises :class:`~rulesvc.errors.InvalidInput` whose
    ``errors`` map ``events[i].column`` (``i`` counting from 0) to the import's messages
    (``inline_events.row``) or to the checks of this module (``inline_events.other_subject``…); checking
    stops after :data:`MAX_INLINE_ERRORS`. Reads the reference data; writes nothing."""
    if not isinstance(rows, list):
        raise InvalidInput(msg("inline_events.not_a_list"), errors={FIELD: [msg("inline_events.not_a_list")]})
    if len(rows) > MAX_INLINE_EVENTS:
        too_many = msg("inline_events.too_many", limit=f"{MAX_INLINE_EVENTS:,}", count=f"{len(rows):,}")
        raise InvalidInput(too_many, errors={FIELD: [too_many]})
    types = set(event_types) if event_types is not None else None
    checked = _Check(session, dictionary, subject_row, key, period)
    typed = []
    for i, obj in enumerate(rows):
        row = checked.row(i, obj)
        if checked.full:
            checked.stop(len(rows) - i - 1)
        if row is not None and (types is None or row[1] in types):
            typed.append(row)
    checked.stop(0)
    # The raw rows of a stored event (facts.ROW_NAMES: prosecutor before procuratorate, attributes as the
    # JSON text stored), decoded by the same code as stored events.
    raw = [(eid, etype, pros, org, case, day, attrs_json(attrs)) for eid, etype, org, pros, case, day, attrs in typed]
    return frame_from_rows(raw, dictionary, types)


class _Check:
    """The import's :class:`EventCheck` over numbered JSON objects, plus the subject and the period."""

    def __init__(self, session: Session, dictionary: Dictionary, subject_row: Mapping[str, Any], key: str,
                 period: Period) -> None:
        if key not in ("prosecutor_id", "procuratorate_id"):
            raise ValueError(f"key must be prosecutor_id or procuratorate_id, not {key!r}")
        self.limits = Limits(max_errors=MAX_INLINE_ERRORS)
        self.cmap = ColumnMap(SPECS[EVENTS], attribute_aliases(dictionary))
        self.log = ErrorLog(MAX_INLINE_ERRORS)
        self.check = EventCheck(session, dictionary, self.cmap, self.log, spool=False, row_label=_row_label,
                                office_hint="")
        self.key = key
        self.subject_id = subject_row[key]
        self.subject_code = str(subject_row["code"])
        self.period = period
        self.errors: dict[str, list[Msg]] = {}
        self.count = 0

    @property
    def full(self) -> bool:
        return self.count >= MAX_INLINE_ERRORS

    def row(self, i: int, obj: Any) -> tuple[Any, ...] | None:
        """Check the ``i``-th object: its typed row, or ``None`` after recording why not."""
        if not isinstance(obj, dict):
            self._add(f"{FIELD}[{i}]", msg("inline_events.not_an_object"))
            return None
        record = json_record(i, obj, self.limits)
        if record[1] is not None:
            record = resolve_keys(record, self.cmap)
            if record[1] is not None and self._someone_else(i, record[1]):
                return None
        given = dict(record[1] or {})  # the checker pops what it reads
        typed = self.check.check(record)
        bad_columns = {e.column for e in self.log.kept}
        for e in self.log.kept:
            self._row_error(i, e)
        self.log.kept.clear()  # the log counts; this check keeps the messages
        if record[1] is None:
            return None
        ok = self._subject(i, given, typed, bad_columns)
        day = typed[5] if typed is not None else _date_or_none(given.get("occurred_on"))
        if day is not None and self.cmap.display("occurred_on") not in bad_columns and not self._in_period(i, day):
            ok = False
        return typed if ok else None

    def _someone_else(self, i: int, given: Mapping[str, Any]) -> bool:
        """A row naming another prosecutor (or unit) than the subject: refused before the import's checks,
        which would say where that person works and when they were in office — a caller scoring one person
        learns nothing of another (an audit sent a hundred such rows to read the directory)."""
        column = "prosecutor" if self.key == "prosecutor_id" else "procuratorate"
        raw = given.get(column)
        if raw is None:
            return False
        code = str(raw).strip() if isinstance(raw, str | int) and not isinstance(raw, bool) else None
        if code == self.subject_code:
            return False
        self._add(f"{FIELD}[{i}].{self.cmap.display(column)}",
                  msg("inline_events.other_subject", subject=self.subject_code,
                      given=code if code is not None else repr(raw)))
        return True

    def _subject(self, i: int, given: dict[str, Any], typed: tuple[Any, ...] | None, bad: set[str | None]) -> bool:
        """Whether the checked event is the subject's. A row naming someone else never gets here
        (:meth:`_someone_else`); one naming no one is an error of its prosecutor column (a missing procuratorate
        is the import's error already)."""
        column = "prosecutor" if self.key == "prosecutor_id" else "procuratorate"
        shown = self.cmap.display(column)
        if shown in bad:
            return False
        if typed is not None and (typed[3] if column == "prosecutor" else typed[2]) == self.subject_id:
            return True
        if given.get(column) is None and column == "prosecutor":
            self._add(f"{FIELD}[{i}].{shown}", msg("inline_events.subject_required", subject=self.subject_code))
        return False  # the subject's, but the row has another error

    def _in_period(self, i: int, day: dt.date) -> bool:
        p = self.period
        if p.start <= day <= p.end:
            return True
        self._add(f"{FIELD}[{i}].{self.cmap.display('occurred_on')}",
                  msg("inline_events.outside_period", day=day.isoformat(), period=p.label,
                      start=p.start.isoformat(), end=p.end.isoformat()))
        return False

    def _row_error(self, i: int, e: RowError) -> None:
        where = f"{FIELD}[{i}]" + (f".{e.column}" if e.column else "")
        # Said once: the English of a field's own refusal names it already ("'occurred_on': … is not a real
        # date"), and a refusal of the whole row has no column to name.
        named = not e.column or e.message_en.startswith(f"'{e.column}'")
        self._add(where, msg("inline_events.row", column=e.column or "—", message=e.message_zh,
                             message_en=e.message_en, column_en="" if named else f"column {e.column}: "))

    def _add(self, where: str, message: Msg) -> None:
        self.count += 1
        if self.count <= MAX_INLINE_ERRORS:
            self.errors.setdefault(where, []).append(message)

    def stop(self, unchecked: int) -> None:
        """Raise the errors found so far, if any (``unchecked``: the objects not looked at)."""
        self.check.close()
        if not self.count:
            return
        count = min(self.count, MAX_INLINE_ERRORS)
        summary = (msg("inline_events.stopped", count=count, unchecked=f"{unchecked:,}") if unchecked
                   else msg("inline_events.invalid", count=self.count))
        raise InvalidInput(summary, errors=self.errors, total_errors=self.count, unchecked=unchecked)


def _date_or_none(raw: Any) -> dt.date | None:
    """The date of a row that has other errors (so its period is checked too), or ``None``."""
    try:
        return v.date(raw, "occurred_on") if raw is not None else None
    except ValueRejected:
        return None


def _row_label(index: int) -> tuple[str, str]:
    label = msg("inline_events.row_label", number=index + 1, index=index)
    return label.render("zh"), label.render("en")


__all__ = ["MAX_INLINE_ERRORS", "MAX_INLINE_EVENTS", "inline_events"]
