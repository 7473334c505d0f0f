"""``import_file``: read, check every row, and land a whole file, or nothing, in one transaction."""

from __future__ import annotations

import datetime as dt
import io
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, NoReturn

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from rulesvc.engine.dictionary import Dictionary
from rulesvc.errors import ImportRejected, InvalidInput, RowError
from rulesvc.persistence.models import Dataset
from rulesvc.services.importing.columns import (
    EVENTS,
    KIND_LABELS,
    SPECS,
    ColumnMap,
    attribute_aliases,
    check_kind,
    detect_kind,
    resolve_header,
)
from rulesvc.services.importing.common import MAX_ERRORS, PROGRESS_EVERY, ErrorLog, Progress, reporter
from rulesvc.services.importing.events import OUTSIDE_OFFICE, EventCheck, write_events
from rulesvc.services.importing.readers import Reader, Record, reader_for
from rulesvc.services.importing.reference import ReferenceCheck, apply_reference

Source = str | os.PathLike[str] | bytes | IO[bytes]
_SPOOL_IN_MEMORY = 16 * 1024 * 1024


@dataclass(frozen=True)
class ImportResult:
    """What an import did. ``created`` is False when the same data was already imported."""

    dataset_id: int
    created: bool
    kind: str
    rows: int
    content_hash: str
    message: str
    inserted: int = 0
    updated: int = 0
    period_start: dt.date | None = None
    period_end: dt.date | None = None
    flagged: tuple[RowError, ...] = ()  # events imported although dated outside their prosecutor's office
    flagged_count: int = 0


def import_file(
    session: Session,
    source: Source,
    *,
    filename: str | None = None,
    dictionary: Dictionary,
    kind: str | None = None,
    name: str | None = None,
    created_by: str | None = None,
    progress: Progress | None = None,
    batch_size: int = 20_000,
    max_errors: int = MAX_ERRORS,
    outside_office: str = "reject",
) -> ImportResult:
    """Import one file of events or reference data (a path, bytes, or a binary file object).

    The format comes from ``filename``'s extension (``.csv``, ``.xlsx``, ``.jsonl``/``.ndjson``);
    ``kind`` (events, procuratorates, departments, prosecutors) from the argument or the header.
    Every row is checked; if any is bad, :class:`~rulesvc.errors.ImportRejected` lists them all and
    nothing is written. The same data imported again (in any format) returns the existing dataset
    with ``created=False``. The function owns the transaction: it commits on success and rolls back
    on failure, so the session must hold no pending changes of the caller's.

    An event of a prosecutor dated outside their active dates is a row error (``outside_office=
    "reject"``, the default); with ``"flag"`` it is imported, listed in the result's ``flagged`` and
    noted on the dataset.
    """
    check_kind(kind)
    if outside_office not in OUTSIDE_OFFICE:
        raise InvalidInput(f"outside_office 须为 {'、'.join(OUTSIDE_OFFICE)} 之一",
                           errors={"outside_office": [f"one of {', '.join(OUTSIDE_OFFICE)}"]})
    fh, filename, owned = _open(source, filename)
    try:
        reader = reader_for(filename)(fh, filename)
        try:
            return _import(session, reader, filename, dictionary, kind, name, created_by, progress,
                           batch_size, max_errors, outside_office)
        finally:
            reader.close()
    except BaseException:
        session.rollback()
        raise
    finally:
        if owned:
            fh.close()


def _open(source: Source, filename: str | None) -> tuple[IO[bytes], str, bool]:
    """A seekable binary file (copying a non-seekable stream to a temporary file) and its name."""
    if isinstance(source, str | os.PathLike):
        path = Path(source)
        return open(path, "rb"), filename or path.name, True  # closed by import_file
    if not filename:
        raise InvalidInput(
            "缺少文件名，无法判断格式 (a file name is needed to tell the format)",
            errors={"filename": ["required"]},
        )
    if isinstance(source, bytes):
        return io.BytesIO(source), filename, True
    if source.seekable():
        source.seek(0)
        return source, filename, False
    spool = tempfile.SpooledTemporaryFile(max_size=_SPOOL_IN_MEMORY)  # closed by import_file
    shutil.copyfileobj(source, spool)
    spool.seek(0)
    return spool, filename, True


def _import(
    session: Session,
    reader: Reader,
    filename: str,
    dictionary: Dictionary,
    kind: str | None,
    name: str | None,
    created_by: str | None,
    progress: Progress | None,
    batch_size: int,
    max_errors: int,
    outside_office: str = "reject",
) -> ImportResult:
    header = reader.open()
    kind = kind or detect_kind(header, filename)
    cmap = ColumnMap(SPECS[kind], attribute_aliases(dictionary) if kind == EVENTS else None)
    errors = ErrorLog(max_errors)
    if reader.tabular:
        reader.columns, header_errors, missing = resolve_header(cmap, header)
        errors.extend(header_errors)
        if missing:
            # Without a required column every row would repeat the same complaint.
            _reject(errors, filename)

    checker: EventCheck | ReferenceCheck
    if kind == EVENTS:
        checker = EventCheck(session, dictionary, cmap, errors, outside_office)
    else:
        checker = ReferenceCheck(session, kind, cmap, errors)
    try:
        _check_all(reader, checker, cmap, progress)
        if errors.count:
            _reject(errors, filename)
        rows = len(checker.hash)
        if rows == 0:
            errors.message(1, None, "文件中没有数据行", "the file has no data rows")
            _reject(errors, filename)
        content_hash = checker.hash.hexdigest()
        existing = session.scalar(select(Dataset).where(Dataset.content_hash == content_hash))
        meta = {"name": (name or filename)[:200], "source": filename[:300], "created_by": created_by}
        if isinstance(checker, EventCheck):
            if existing is not None:
                session.rollback()
                return _unchanged(existing, kind, rows)
            return _land_events(session, checker, meta, content_hash, batch_size, progress)
        return _land_reference(session, checker, existing, meta, content_hash)
    finally:
        if isinstance(checker, EventCheck):
            checker.close()


def _check_all(reader: Reader, checker: EventCheck | ReferenceCheck, cmap: ColumnMap,
               progress: Progress | None) -> None:
    total = reader.progress_total()
    tick = reporter(progress, "validate", total)
    tick(0)
    check = checker.check
    n = 0
    for record in reader.records():
        if not reader.tabular and record[1] is not None:
            record = _resolve_keys(record, cmap)
        check(record)
        n += 1
        if n % PROGRESS_EVERY == 0:
            tick(reader.progress_done())
    tick(total)


def _resolve_keys(record: Record, cmap: ColumnMap) -> Record:
    """JSON lines name their columns per line: map each key, keeping unknown ones for the report."""
    line, values, problems = record
    assert values is not None
    resolved: dict[str, Any] = {}
    for key, value in values.items():
        canonical = cmap.resolve(key) or key
        if canonical in resolved:
            problems = [*(problems or []), RowError(
                line, key, f"“{key}”与同一行的另一个键重复（都表示 {canonical}）",
                f"'{key}' repeats another key of the line (both mean {canonical})",
            )]
            continue
        resolved[canonical] = value
    return line, resolved, problems


def _reject(errors: ErrorLog, filename: str) -> NoReturn:
    exc = ImportRejected(row_errors=sorted(errors.kept, key=lambda e: e.line), source=filename)
    exc.details["total_errors"] = errors.count
    raise exc


def _land_events(session: Session, checker: EventCheck, meta: dict, content_hash: str, batch_size: int,
                 progress: Progress | None) -> ImportResult:
    rows = len(checker.hash)
    flagged = checker.flagged
    if flagged.count:
        lines = "、".join(str(e.line) for e in flagged.kept[:20]) + ("……" if flagged.count > 20 else "")
        meta = {**meta, "note": f"{flagged.count} 条事件的发生日期不在检察官任职期间内，按设置导入并标注（第 {lines} 行）"}
    dataset = Dataset(kind="events", content_hash=content_hash, row_count=rows, period_start=checker.period_start,
                      period_end=checker.period_end, **meta)
    session.add(dataset)
    try:
        session.flush()
    except IntegrityError:
        # Another import of the same data committed first (unique content_hash): that one stands.
        session.rollback()
        existing = session.scalar(select(Dataset).where(Dataset.content_hash == content_hash))
        if existing is None:
            raise
        return _unchanged(existing, EVENTS, rows)
    tick = reporter(progress, "write", rows)
    tick(0)
    write_events(session, dataset.id, checker.typed_rows(), batch_size=batch_size, on_written=tick)
    session.commit()
    warn_zh = f"；其中 {flagged.count} 条事件的发生日期不在检察官任职期间内，已导入并标注" if flagged.count else ""
    warn_en = f"; {flagged.count} of them dated outside their prosecutor's office, imported and flagged" \
        if flagged.count else ""
    return ImportResult(
        dataset_id=dataset.id, created=True, kind=EVENTS, rows=rows, content_hash=content_hash, inserted=rows,
        period_start=checker.period_start, period_end=checker.period_end,
        flagged=tuple(sorted(flagged.kept, key=lambda e: e.line)), flagged_count=flagged.count,
        message=(
            f"已导入 {rows:,} 条事件：数据集 #{dataset.id}「{dataset.name}」，"
            f"{checker.period_start} 至 {checker.period_end}{warn_zh}"
            f"（imported {rows:,} events as dataset #{dataset.id} '{dataset.name}', "
            f"{checker.period_start} to {checker.period_end}{warn_en}）"
        ),
    )


def _land_reference(session: Session, checker: ReferenceCheck, existing: Dataset | None, meta: dict,
                    content_hash: str) -> ImportResult:
    kind, rows = checker.kind, len(checker.rows)
    inserted, updated = apply_reference(session, kind, checker.rows)
    if existing is not None and not inserted and not updated:
        session.rollback()
        return _unchanged(existing, kind, rows)
    label = KIND_LABELS[kind]
    counts_zh = f"新增 {inserted}，更新 {updated}，未变 {rows - inserted - updated}"
    counts_en = f"{inserted} added, {updated} updated, {rows - inserted - updated} unchanged"
    if existing is not None:
        # The same file again, but the tables were edited since: put its content back.
        session.commit()
        return ImportResult(
            dataset_id=existing.id, created=False, kind=kind, rows=rows, content_hash=content_hash,
            inserted=inserted, updated=updated,
            message=(f"该{label}文件已导入过（数据集 #{existing.id}），但数据已被修改，已重新应用：{counts_zh}"
                     f"（already imported as dataset #{existing.id}, but the data had changed since; "
                     f"re-applied: {counts_en}）"),
        )
    dataset = Dataset(kind="reference", content_hash=content_hash, row_count=rows, **meta)
    session.add(dataset)
    session.flush()
    session.commit()
    return ImportResult(
        dataset_id=dataset.id, created=True, kind=kind, rows=rows, content_hash=content_hash,
        inserted=inserted, updated=updated,
        message=(f"已导入 {rows:,} 条{label}记录（数据集 #{dataset.id}）：{counts_zh}"
                 f"（imported {rows:,} {kind} as dataset #{dataset.id}: {counts_en}）"),
    )


def _unchanged(existing: Dataset, kind: str, rows: int) -> ImportResult:
    return ImportResult(
        dataset_id=existing.id, created=False, kind=kind, rows=rows, content_hash=existing.content_hash,
        period_start=existing.period_start, period_end=existing.period_end,
        message=(f"相同的数据已导入过（数据集 #{existing.id}「{existing.name}」），未做任何修改"
                 f"（already imported as dataset #{existing.id} '{existing.name}'; nothing changed）"),
    )
