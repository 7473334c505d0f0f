"""Events: check every row against the dictionary and the reference data, then bulk-write them.

Checking is one streaming pass that keeps only what it must (event ids for duplicates, one short
digest per row); typed rows go to a temporary spool file, so a million rows are written with
:func:`rulesvc.persistence.bulk.insert_events` without being held in memory or parsed twice.
"""

from __future__ import annotations

import datetime as dt
import pickle
import re
import tempfile
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import IO, Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from rulesvc.engine.dictionary import Dictionary, EventTypeDef, ValueRejected
from rulesvc.persistence.bulk import EventRow, insert_events
from rulesvc.persistence.models import Procuratorate, Prosecutor, ProsecutorPost
from rulesvc.services import localtime
from rulesvc.services.importing import values as v
from rulesvc.services.importing.columns import ColumnMap
from rulesvc.services.importing.common import ContentHash, ErrorLog
from rulesvc.services.importing.readers import Record

SPOOL_BATCH = 10_000
EXTERNAL_ID_MAX = 64
CASE_ID_MAX = 64
PROSECUTOR_CODE_MAX = 32


OUTSIDE_OFFICE = ("reject", "flag")
_SCIENTIFIC = re.compile(r"[+-]?\d+(?:\.\d+)?[eE][+-]?\d+")  # 9.00001E+05: an id Excel rewrote
# What an error about an event dated outside its prosecutor's office adds in Chinese for the CLI's user.
OFFICE_HINT = "（如确属本人办理，可在导入页面勾选“任职期间外的事件照样导入并标注”，命令行用 --outside-office flag）"


def line_label(line: int) -> tuple[str, str]:
    """How a message names another row of a file: ``("第 3 行", "line 3")``."""
    return f"第 {line} 行", f"line {line}"


class EventCheck:
    """Pass one over an event file: every problem of every row, the content hash, the typed rows.

    An event of a prosecutor dated outside their active dates (任职期间) is an error (``outside_office=
    "reject"``), or with ``"flag"`` imported and listed in ``flagged`` with its line and reason.

    Also checks rows that are not a file's (inline events, :mod:`rulesvc.services.inline_events`): each
    :meth:`check` returns the row's typed values; ``spool=False`` keeps no rows, ``row_label`` names
    another row in messages (a repeated event id), ``office_hint`` is what the error of an event
    outside its prosecutor's office suggests."""

    def __init__(self, session: Session, dictionary: Dictionary, cmap: ColumnMap, errors: ErrorLog,
                 outside_office: str = "reject", *, spool: bool = True,
                 row_label: Callable[[int], tuple[str, str]] = line_label, office_hint: str = OFFICE_HINT) -> None:
        self.dictionary = dictionary
        self.cmap = cmap
        self.errors = errors
        self.hash = ContentHash("events")
        self.types: dict[str, EventTypeDef] = dict(dictionary.event_types)
        self.type_names = {et.name: et.code for et in dictionary.event_types.values()}
        self._required = {
            et.code: {f.name for f in et.fields.values() if f.required} for et in dictionary.event_types.values()
        }
        self._ordered = {et.code: [f for f in et.fields.values() if f.not_after] for et in dictionary.event_types.values()}
        self.org_ids: dict[str, int] = dict(session.execute(select(Procuratorate.code, Procuratorate.id)).all())
        self.today = localtime.today()  # an event dated after it has not happened: a mistake of the file
        self.prosecutors: dict[str, tuple[int, int]] = {}
        self.office: dict[str, tuple[dt.date | None, dt.date | None]] = {}
        for code, pid, org, a_from, a_to in session.execute(
                select(Prosecutor.code, Prosecutor.id, Prosecutor.procuratorate_id, Prosecutor.active_from,
                       Prosecutor.active_to)).all():
            self.prosecutors[code] = (pid, org)
            self.office[code] = (a_from, a_to)
        # Former posts (a move recorded with its date): an event dated while one was held belongs to its unit.
        self.former: dict[int, list[tuple[dt.date, int]]] = {}
        for pid, until, org in session.execute(select(ProsecutorPost.prosecutor_id, ProsecutorPost.held_until,
                                                      ProsecutorPost.procuratorate_id)
                                               .order_by(ProsecutorPost.prosecutor_id, ProsecutorPost.held_until)).all():
            self.former.setdefault(pid, []).append((until, org))
        self.outside_office = outside_office
        self.flagged = ErrorLog(errors.limit)
        self.org_codes = {i: c for c, i in self.org_ids.items()}
        self.first_line: dict[str, int] = {}
        self._dates: dict[str, dt.date] = {}
        self.period_start: dt.date | None = None
        self.period_end: dt.date | None = None
        self.row_label = row_label
        self.office_hint = office_hint
        self._spool: IO[bytes] | None = tempfile.TemporaryFile(prefix="rulesvc-import-") if spool else None
        self._batch: list[tuple[Any, ...]] = []

    @property
    def rows(self) -> int:
        return len(self.hash)

    def check(self, record: Record) -> tuple[Any, ...] | None:
        """Check one record; keep its typed row if the file is clean so far. Returns the typed row
        ``(event id, type, procuratorate id, prosecutor id, case id, date, attributes)`` when this
        record is fine (whatever the rows before it), else ``None``.

        Each cell has a fast path (a plain dictionary hit for codes, types and dates) and falls back
        to the careful parsers in :mod:`.values` only when that misses: this loop runs a million times.
        """
        line, values, problems = record
        errors = self.errors
        before = errors.count
        if problems:
            errors.extend(problems)
        if values is None:
            return None
        pop = values.pop

        eid = self._text(line, pop("event_id", None), "event_id", EXTERNAL_ID_MAX, required=True)
        if eid is not None and self._rewritten(line, "event_id", eid, "事件编号", "event id"):
            eid = None
        if eid is not None:
            first = self.first_line.setdefault(eid, line)
            if first != line:
                zh, en = self.row_label(first)
                errors.message(
                    line, self.cmap.display("event_id"), f"事件编号“{eid}”与{zh}重复",
                    f"event id '{eid}' repeats {en}", eid,
                )

        raw = pop("event_type", None)
        et = self.types.get(raw) if type(raw) is str else None
        if et is None:
            et = self._event_type(line, raw)

        raw = pop("procuratorate", None)
        org_id = self.org_ids.get(raw) if type(raw) is str else None
        org_code = raw if org_id is not None else self._org_code(line, raw)
        if org_id is None and org_code is not None:
            org_id = self.org_ids[org_code]

        raw = pop("prosecutor", None)
        pros_id = pros_code = moved = None
        if raw is not None:
            found = self.prosecutors.get(raw) if type(raw) is str else None
            if found is not None:
                pros_code = raw
            else:
                pros_code = self._text(line, raw, "prosecutor", PROSECUTOR_CODE_MAX, required=False) or None
                found = self.prosecutors.get(pros_code) if pros_code is not None else None
                if pros_code is not None and found is None:
                    errors.message(
                        line, self.cmap.display("prosecutor"), f"未知的检察官工号“{pros_code}”（请先导入检察官）",
                        f"unknown prosecutor code '{pros_code}' (import the prosecutors first)", pros_code,
                    )
            if found is not None:
                if org_id is not None and found[0] in self.former:  # moved: judged on the event's date (below)
                    moved = found
                elif org_id is not None and found[1] != org_id:
                    other = self.org_codes.get(found[1])
                    errors.message(
                        line, self.cmap.display("prosecutor"),
                        f"检察官“{pros_code}”属于检察院 {other}，不属于 {org_code}",
                        f"prosecutor '{pros_code}' belongs to procuratorate {other}, not {org_code}", pros_code,
                    )
                pros_id = found[0]

        case_id = self._text(line, pop("case_id", None), "case_id", CASE_ID_MAX, required=False) or None
        if case_id is not None:
            self._rewritten(line, "case_id", case_id, "案件编号", "case id")
        if case_id is None and et is not None and et.requires_case:
            errors.message(
                line, self.cmap.display("case_id"), f"事件类型“{et.name}”必须填写案件编号",
                f"event type '{et.code}' requires a case_id",
            )

        raw = pop("occurred_on", None)
        occurred = self._dates.get(raw) if type(raw) is str else None
        if occurred is None:
            occurred = self._date(line, raw)
        if occurred is not None and occurred > self.today:
            errors.message(line, self.cmap.display("occurred_on"),
                           f"发生日期 {occurred} 晚于今天（{self.today}）：尚未发生的事件不能导入",
                           f"occurred on {occurred}, after today ({self.today}): an event that has not happened "
                           f"cannot be imported", str(occurred))
        if occurred is not None and pros_id is not None:
            self._in_office(line, pros_code, occurred)
        if moved is not None and occurred is not None:
            held = next((org for until, org in self.former[moved[0]] if occurred <= until), moved[1])
            if held != org_id:
                errors.message(
                    line, self.cmap.display("prosecutor"),
                    f"检察官“{pros_code}”在 {occurred} 属于检察院 {self.org_codes.get(held)}，不属于 {org_code}",
                    f"prosecutor '{pros_code}' belonged to procuratorate {self.org_codes.get(held)} on {occurred}, "
                    f"not {org_code}", pros_code,
                )

        attrs: dict[str, Any] = {}
        if et is not None:
            attrs = self._attrs(line, et, values)
            if occurred is not None and self._ordered[et.code]:
                self._in_order(line, et, occurred, attrs)

        if errors.count != before:
            return None
        assert et is not None and eid is not None and org_id is not None and occurred is not None
        row = (eid, et.code, org_id, pros_id, case_id, occurred, attrs)
        if before:
            return row  # a rejected file writes nothing: stop keeping rows, keep finding errors
        self.hash.add([eid, et.code, org_code, pros_code, case_id, occurred.isoformat(), attrs])
        if self.period_start is None or occurred < self.period_start:
            self.period_start = occurred
        if self.period_end is None or occurred > self.period_end:
            self.period_end = occurred
        self._batch.append(row)
        if len(self._batch) >= SPOOL_BATCH:
            self._flush()
        return row

    def _in_office(self, line: int, code: str | None, day: dt.date) -> None:
        a_from, a_to = self.office.get(code or "", (None, None))
        if (a_from is None or day >= a_from) and (a_to is None or day <= a_to):
            return
        span = f"{a_from or '—'} 至 {a_to}" if a_to else f"{a_from or '—'} 至今"
        zh = f"发生日期 {day} 不在检察官“{code}”的任职期间（{span}）内"
        en = f"occurred on {day}, outside prosecutor {code}'s active dates ({a_from} to {a_to or 'now'})"
        if self.outside_office == "flag":
            self.flagged.message(line, self.cmap.display("occurred_on"), zh + "，已按设置导入并标注", en, str(day))
        else:
            self.errors.message(line, self.cmap.display("occurred_on"), zh + self.office_hint, en, str(day))

    def _in_order(self, line: int, et: EventTypeDef, occurred: dt.date, attrs: Mapping[str, Any]) -> None:
        """A date the dictionary says cannot come after another (``not_after``): a review accepted after it
        was concluded would count as concluded within any number of days."""
        for f in self._ordered[et.code]:
            day = attrs.get(f.name)
            assert f.not_after is not None
            other: Any  # dates as the typed attributes hold them (ISO text), or the event's own date
            if f.not_after == "occurred_on":
                other, label, label_en = occurred, "发生日期", "occurred_on"
            else:
                other, label, label_en = attrs.get(f.not_after), et.fields[f.not_after].label, f.not_after
            if day is not None and other is not None and str(day) > str(other):  # ISO dates sort as days do
                self.errors.message(line, self.cmap.display(f.name), f"“{f.label}”{day} 晚于“{label}”{other}",
                                    f"'{f.name}' {day} is after '{label_en}' {other}", str(day))

    def _attrs(self, line: int, et: EventTypeDef, values: dict[str, Any]) -> dict[str, Any]:
        """Typed attributes. Fast path: only the given fields are coerced; on any doubt the
        dictionary's own :meth:`~rulesvc.engine.dictionary.Dictionary.coerce_attrs` decides and reports."""
        fields = et.fields
        if values.keys() <= fields.keys() and self._required[et.code] <= values.keys():
            try:
                # Key order is irrelevant: the hash and the stored JSON both sort keys.
                return {name: fields[name].coerce(raw) for name, raw in values.items()}
            except ValueRejected:
                pass
        typed, problems = self.dictionary.coerce_attrs(et.code, values)
        for name, exc in problems:
            self.errors.reject(line, self.cmap.display(name), exc, values.get(name))
        return typed

    def _rewritten(self, line: int, column: str, value: str, zh: str, en: str) -> bool:
        """An id in scientific notation (9.00001E+05): a long numeric id Excel rewrote when the file was opened and
        saved — it would not match the id as first imported, and the event would count twice. A row error."""
        if not _SCIENTIFIC.fullmatch(value):
            return False
        self.errors.message(
            line, self.cmap.display(column),
            f"{zh}“{value}”是科学计数法，像是 Excel 改写了长数字编号：请把该列设为文本，用原始编号重新导出",
            f"{en} '{value}' is in scientific notation, as Excel rewrites long numeric ids: set the column to text and "
            "export the original ids again", value)
        return True

    def _text(self, line: int, raw: Any, column: str, max_len: int, *, required: bool) -> str | None:
        if type(raw) is str:
            text = raw.strip()
            if text and len(text) <= max_len:
                return text
        if raw is None:
            if required:
                shown = self.cmap.display(column)
                self.errors.message(line, shown, f"“{shown}”为必填项", f"'{shown}' is required")
            return None
        try:
            return v.text(raw, self.cmap.display(column), max_len)
        except ValueRejected as exc:
            self.errors.reject(line, self.cmap.display(column), exc, raw)
            return None

    def _event_type(self, line: int, raw: Any) -> EventTypeDef | None:
        col = self.cmap.display("event_type")
        if raw is None:
            self.errors.message(line, col, f"“{col}”为必填项", f"'{col}' is required")
            return None
        code = raw.strip() if isinstance(raw, str) else raw
        if isinstance(code, str):
            # Users type what they see: the Chinese name of an event type works as well as its code.
            et = self.types.get(code) or self.types.get(self.type_names.get(code, ""))
            if et is not None:
                return et
        try:
            self.dictionary.event_type(str(code))
        except ValueRejected as exc:
            self.errors.reject(line, col, exc, raw)
        return None

    def _org_code(self, line: int, raw: Any) -> str | None:
        """The code of a known procuratorate, or ``None`` after logging why not."""
        col = self.cmap.display("procuratorate")
        if raw is None:
            self.errors.message(line, col, f"“{col}”为必填项", f"'{col}' is required")
            return None
        try:
            code = v.org_code(raw, col)
        except ValueRejected as exc:
            self.errors.reject(line, col, exc, raw)
            return None
        if code not in self.org_ids:
            self.errors.message(
                line, col, f"未知的检察院代码“{code}”（请先导入检察院）",
                f"unknown procuratorate code '{code}' (import the procuratorates first)", raw,
            )
            return None
        return code

    def _date(self, line: int, raw: Any) -> dt.date | None:
        col = self.cmap.display("occurred_on")
        if raw is None:
            self.errors.message(line, col, f"“{col}”为必填项", f"'{col}' is required")
            return None
        try:
            value = v.date(raw, col)
        except ValueRejected as exc:
            self.errors.reject(line, col, exc, raw)
            return None
        if isinstance(raw, str):
            self._dates[raw] = value  # a year has few distinct dates: later rows hit the cache
        return value

    def _flush(self) -> None:
        if self._spool is not None and self._batch:
            pickle.dump(self._batch, self._spool, protocol=pickle.HIGHEST_PROTOCOL)
        self._batch = []

    def typed_rows(self) -> Iterator[tuple[Any, ...]]:
        """The checked rows, in file order (only meaningful when no error was found)."""
        self._flush()
        spool = self._spool
        if spool is None:
            return
        spool.seek(0)
        while True:
            try:
                # Our own temporary file, written above: not untrusted input.
                batch = pickle.load(spool)
            except EOFError:
                return
            yield from batch

    def close(self) -> None:
        """Delete the spool file."""
        if self._spool is not None:
            self._spool.close()
            self._spool = None


def write_events(
    session: Session,
    dataset_id: int,
    rows: Iterable[tuple[Any, ...]],
    *,
    batch_size: int,
    on_written: Callable[[int], None],
) -> int:
    """Bulk-write checked rows into ``dataset_id`` inside the session's transaction."""
    written = 0

    def counted(n: int) -> None:
        nonlocal written
        written += n
        on_written(written)

    event_rows = (EventRow(dataset_id, *r) for r in rows)
    return insert_events(session.connection(), event_rows, batch_size=batch_size, progress=counted)
