"""``import_file``: read, check every row, and land a whole file, or nothing, in one transaction.

Facts are counted once: an event id already counted (in a dataset in use, not replaced by a correction)
may not be imported again — the file is refused with those rows listed — unless the file is declared a
correction of the dataset that holds them (``corrects=``): then its events replace those with the same
ids there, and its new ids are added. The same data imported again is recognised by its content hash
and changes nothing.

Every import that creates a dataset (or applies a reference file again) is in the audit log with who,
the file, its kind and rows, and — a correction — the dataset it corrects (``dataset.import``,
``dataset.correct``), in the same transaction as the data.
"""

from __future__ import annotations

import datetime as dt
import io
import os
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import IO, Any, NoReturn

from sqlalchemy import column, func, select, table, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from rulesvc.catalogue import Msg, msg
from rulesvc.engine.dictionary import Dictionary
from rulesvc.errors import Conflict, ImportRejected, InvalidInput, PermissionDenied, RowError
from rulesvc.persistence.models import Dataset, DatasetWithdrawal, Event
from rulesvc.services.facts import InUse, in_use
from rulesvc.services.governance import audit
from rulesvc.services.governance.access import Actor, system_actor
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
from rulesvc.services.importing.common import PROGRESS_EVERY, ErrorLog, Limits, Progress, reporter
from rulesvc.services.importing.datasets import label, lock_facts, resolve_dataset
from rulesvc.services.importing.events import OUTSIDE_OFFICE, EventCheck, write_events
from rulesvc.services.importing.readers import Reader, Record, reader_for
from rulesvc.services.importing.reference import ReferenceCheck, apply_reference

Source = str | os.PathLike[str] | bytes | IO[bytes]
_SPOOL_IN_MEMORY = 16 * 1024 * 1024
# Event ids looked up per query when checking that a file's ids are not counted yet (SQLite).
_ID_BATCH = 5_000
# COPY's text format: backslash, tab, newline and carriage return escaped.
_COPY_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


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
    corrects_id: int | None = None  # a correction: the dataset it corrects
    replaced: int = 0  # a correction: events of that dataset it replaced
    added: int = 0  # a correction: events with new ids
    summary: Msg | None = None  # the message as a catalogue entry, when it has one
    warning_zh: str = ""  # what the import could not refuse but a person should check (Chinese, English)
    warning_en: str = ""


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
    max_errors: int | None = None,
    outside_office: str = "reject",
    limits: Limits | None = None,
    encoding: str | None = None,
    corrects: Dataset | str | int | None = None,
    actor: Actor | None = None,
    reuse_withdrawn: bool = False,
) -> ImportResult:
    """Import one file of events or reference data (a path, bytes, or a binary file object).

    The format comes from ``filename``'s extension (``.csv``, ``.xlsx``, ``.jsonl``/``.ndjson``);
    ``kind`` (events, procuratorates, departments, prosecutors) from the argument or the header.
    Every row is checked, within ``limits`` (size, rows, cells; checking stops after
    ``limits.max_errors`` errors, or ``max_errors``); if any is bad,
    :class:`~rulesvc.errors.ImportRejected` lists them and nothing is written. A text file must be
    UTF-8 or certainly GB18030, unless ``encoding`` names its encoding. The same data imported again (in
    any format) returns the existing dataset with ``created=False``. The function owns the transaction:
    it commits on success and rolls back on failure, so the session must hold no pending changes of
    the caller's.

    An event id already counted in a dataset in use refuses the file (the rows listed), unless
    ``corrects`` names that dataset (its number or a hash prefix): the file is then a correction — its
    events replace the dataset's events with the same ids, new ids are added (``actor`` is required).

    ``actor`` is who imports, in the audit log (every import that creates a dataset is recorded; without
    an actor, as the system named by ``created_by``). A dataset holds events of many procuratorates, so an
    actor limited to part of the province is refused (``PermissionDenied``), as a withdrawal is.

    The same data as a dataset that was withdrawn is refused (:class:`~rulesvc.errors.Conflict`): the
    withdrawal was meant. With ``reuse_withdrawn`` it is imported again as a new dataset.

    An event of a prosecutor dated outside their active dates is a row error (``outside_office=
    "reject"``, the default); with ``"flag"`` it is imported, listed in the result's ``flagged`` and
    noted on the dataset.
    """
    check_kind(kind)
    if outside_office not in OUTSIDE_OFFICE:
        raise InvalidInput(msg("import.bad_choice", name="outside_office", choices=list(OUTSIDE_OFFICE)),
                           errors={"outside_office": [msg("import.bad_choice", name="outside_office",
                                                          choices=list(OUTSIDE_OFFICE))]})
    if actor is not None and actor.scope is not None:  # the whole province's call, as a withdrawal
        raise PermissionDenied(msg("permission.scope", what="数据集", what_en="The dataset", name=actor.said),
                               errors={"dataset": ["outside your scope"]})
    limits = limits or Limits()
    if max_errors is not None:
        limits = replace(limits, max_errors=max_errors)
    target = None
    if corrects is not None:
        if actor is None:
            raise ValueError("a correction needs the actor to record in the audit log")
        target = corrects if isinstance(corrects, Dataset) else resolve_dataset(session, corrects)
        if target.kind != EVENTS:
            raise InvalidInput(msg("dataset.not_events", dataset=label(target)),
                               errors={"corrects": [msg("dataset.not_events", dataset=label(target))]})
        if kind is not None and kind != EVENTS:
            raise InvalidInput(msg("import.bad_choice", name="kind", choices=[EVENTS]),
                               errors={"kind": [msg("import.bad_choice", name="kind", choices=[EVENTS])]})
        kind = EVENTS
    fh, filename, owned = _open(source, filename, limits)
    if actor is None:
        actor = system_actor((created_by or "导入")[:30])
    try:
        reader = reader_for(filename)(fh, filename, limits, encoding)
        try:
            return _import(session, reader, filename, dictionary, kind, name, created_by, progress,
                           batch_size, limits, outside_office, target, actor, reuse_withdrawn)
        finally:
            reader.close()
    except BaseException:
        session.rollback()
        raise
    finally:
        if owned:
            fh.close()


def _open(source: Source, filename: str | None, limits: Limits) -> tuple[IO[bytes], str, bool]:
    """A seekable binary file (copying a non-seekable stream to a temporary file, up to the size
    limit and a byte more, so the reader can say it is too big) and its name."""
    if isinstance(source, str | os.PathLike):
        path = Path(source)
        return open(path, "rb"), filename or path.name, True  # closed by import_file
    if not filename:
        raise InvalidInput(msg("import.needs_filename"), errors={"filename": [msg("field.required")]})
    if isinstance(source, bytes):
        return io.BytesIO(source), filename, True
    if source.seekable():
        source.seek(0)
        return source, filename, False
    spool = tempfile.SpooledTemporaryFile(max_size=_SPOOL_IN_MEMORY)  # closed by import_file
    left = limits.max_file_bytes + 1
    while left > 0 and (chunk := source.read(min(left, 1 << 20))):
        spool.write(chunk)
        left -= len(chunk)
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
    limits: Limits,
    outside_office: str = "reject",
    target: Dataset | None = None,
    actor: Actor | None = None,
    reuse_withdrawn: bool = False,
) -> ImportResult:
    assert actor is not None
    header = reader.open()
    kind = kind or detect_kind(header, filename)
    if target is not None and kind != EVENTS:
        raise InvalidInput(msg("dataset.not_events", dataset=filename),
                           errors={"corrects": [msg("dataset.not_events", dataset=filename)]})
    cmap = ColumnMap(SPECS[kind], attribute_aliases(dictionary) if kind == EVENTS else None)
    errors = ErrorLog(limits.max_errors)
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
        unchecked = _check_all(reader, checker, cmap, progress, errors, limits)
        if errors.count:
            _reject(errors, filename, unchecked)
        rows = len(checker.hash)
        if rows == 0:
            errors.message(1, None, "文件中没有数据行", "the file has no data rows")
            _reject(errors, filename)
        if target is not None:  # the same rows as a correction of another dataset are another dataset
            checker.hash.salt = f"corrects:{target.content_hash}"
        content_hash = checker.hash.hexdigest()
        existing = session.scalar(select(Dataset).where(Dataset.content_hash == content_hash))
        meta = {"name": (name or filename)[:200], "source": filename[:300], "created_by": created_by}
        if isinstance(checker, EventCheck):
            while existing is not None and (withdrawal := session.get(DatasetWithdrawal, existing.id)) is not None:
                # The same data as a withdrawn dataset: a withdrawal was meant, so only on request is
                # the data used again — as a new dataset (another hash), the withdrawn one unchanged.
                if not reuse_withdrawn:
                    session.rollback()
                    raise Conflict(msg("dataset.withdrawn_data", dataset=label(existing), reason=withdrawal.reason))
                checker.hash.salt = "|".join(filter(None, [checker.hash.salt, f"again:{existing.content_hash}"]))
                content_hash = checker.hash.hexdigest()
                existing = session.scalar(select(Dataset).where(Dataset.content_hash == content_hash))
            if existing is not None:
                session.rollback()
                return _unchanged(session, existing, kind, rows)
            return _land_events(session, checker, meta, content_hash, batch_size, progress, target, actor)
        return _land_reference(session, checker, existing, meta, content_hash, actor)
    finally:
        if isinstance(checker, EventCheck):
            checker.close()


def _check_all(reader: Reader, checker: EventCheck | ReferenceCheck, cmap: ColumnMap,
               progress: Progress | None, errors: ErrorLog, limits: Limits) -> int | None:
    """Check every record, or stop after ``limits.max_errors`` errors: then about how many rows were
    left unchecked (``None`` when all were checked)."""
    total = reader.progress_total()
    tick = reporter(progress, "validate", total)
    tick(0)
    check = checker.check
    last_line = limits.max_rows + 1  # the readers count rows up front; this is the backstop
    n = 0
    for record in reader.records():
        if record[0] > last_line:
            errors.message(record[0], None, f"超过每个文件最多 {limits.max_rows:,} 行的上限",
                           f"more than the limit of {limits.max_rows:,} rows per file")
            return reader.rows_after(record[0])
        if not reader.tabular and record[1] is not None:
            record = resolve_keys(record, cmap)
        check(record)
        if errors.full:
            return reader.rows_after(record[0])
        n += 1
        if n % PROGRESS_EVERY == 0:
            tick(reader.progress_done())
    tick(total)
    return None


def resolve_keys(record: Record, cmap: ColumnMap) -> Record:
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


def _reject(errors: ErrorLog, filename: str, unchecked: int | None = None) -> NoReturn:
    raise ImportRejected(row_errors=sorted(errors.kept, key=lambda e: e.line), source=filename,
                         total_errors=errors.count, unchecked_rows=unchecked)


def _counted_ids(session: Session, checker: EventCheck, target: Dataset | None,
                 limit: int) -> tuple[int, list[RowError], int]:
    """Which of the file's event ids are counted already: ``(replaced, problems, conflicts)`` —
    how many are in ``target`` (a correction replaces them), the rows of those counted in any other
    dataset in use (at most ``limit``), and how many such rows there are."""
    plan = in_use(session)
    if not plan.datasets:
        return 0, [], 0
    names = dict(session.execute(select(Dataset.id, Dataset.name).where(Dataset.id.in_(plan.datasets))).all())
    first_line = checker.first_line
    column = checker.cmap.display("event_id")
    replaced = 0
    problems: list[RowError] = []
    conflicts = 0
    for found in _counted(session, list(first_line), plan):
        for eid, ds in found:
            if target is not None and ds == target.id:
                replaced += 1
                continue
            conflicts += 1
            if len(problems) < limit:
                where = f"#{ds}「{names.get(ds, '')}」"
                problems.append(RowError(
                    first_line[eid], column,
                    f"事件编号“{eid}”已计入使用中的数据集 {where}" + ("" if target is not None else "（如为更正，请指明所更正的数据集：导入页面的“更正的数据集”；命令行 --corrects）"),
                    f"event id '{eid}' is already counted, in dataset #{ds} '{names.get(ds, '')}'"
                    + ("" if target is not None else " (a correction? name the dataset it corrects: the import page's 'Corrects the dataset'; on the command line "
                               "--corrects)"),
                    eid))
    return replaced, sorted(problems, key=lambda e: e.line), conflicts


def _counted(session: Session, ids: list[str], plan: InUse) -> Iterator[Sequence[Any]]:
    """``(event id, dataset)`` of the counted events among ``ids``, in batches.

    PostgreSQL: the ids go to a temporary table (``COPY``) joined with the events in one query — a
    list of thousands of ids in ``IN`` is planned as a scan of the whole table whenever the table's
    statistics are stale (right after a big import, or with autovacuum off), 80 s for a million ids.
    SQLite: batches of ``IN``, answered from the event-id index (about 2 s for a million ids)."""
    conn = session.connection()
    if conn.dialect.name == "postgresql":
        session.execute(text("DROP TABLE IF EXISTS rulesvc_import_ids"))
        session.execute(text("CREATE TEMPORARY TABLE rulesvc_import_ids (external_id varchar(64) PRIMARY KEY) "
                             "ON COMMIT DROP"))
        raw = conn.connection.driver_connection
        assert raw is not None
        with raw.cursor() as cur, cur.copy("COPY rulesvc_import_ids (external_id) FROM STDIN") as copy:
            for i in range(0, len(ids), 50_000):
                copy.write("".join(f"{eid.translate(_COPY_ESCAPES)}\n" for eid in ids[i:i + 50_000]))
        session.execute(text("ANALYZE rulesvc_import_ids"))
        new_ids = table("rulesvc_import_ids", column("external_id"))
        yield session.execute(select(Event.external_id, Event.dataset_id)
                              .join_from(new_ids, Event, Event.external_id == new_ids.c.external_id)
                              .where(plan.condition())).all()
        session.execute(text("DROP TABLE rulesvc_import_ids"))
        return
    for i in range(0, len(ids), _ID_BATCH):
        yield session.execute(select(Event.external_id, Event.dataset_id)
                              .where(Event.external_id.in_(ids[i:i + _ID_BATCH]), plan.condition())).all()


def _land_events(session: Session, checker: EventCheck, meta: dict, content_hash: str, batch_size: int,
                 progress: Progress | None, target: Dataset | None = None,
                 actor: Actor | None = None) -> ImportResult:
    rows = len(checker.hash)
    flagged = checker.flagged
    if flagged.count:
        lines = "、".join(str(e.line) for e in flagged.kept[:20]) + ("……" if flagged.count > 20 else "")
        meta = {**meta, "note": f"{flagged.count} 条事件的发生日期不在检察官任职期间内，按设置导入并标注（第 {lines} 行）"}
    lock_facts(session)  # from the check below to the commit, no other import of events or withdrawal
    replaced, problems, conflicts = _counted_ids(session, checker, target, checker.errors.limit)
    if conflicts:
        session.rollback()
        reason = (msg("dataset.ids_elsewhere", count=conflicts, corrected=label(target)) if target is not None
                  else msg("dataset.ids_exist", count=conflicts))
        raise ImportRejected(row_errors=problems, source=meta["source"], total_errors=conflicts, reason=reason)
    dataset = Dataset(kind="events", content_hash=content_hash, row_count=rows, period_start=checker.period_start,
                      period_end=checker.period_end, corrects_id=target.id if target is not None else None, **meta)
    session.add(dataset)
    try:
        session.flush()
    except IntegrityError:
        # Another import of the same data committed first (unique content_hash): that one stands.
        session.rollback()
        existing = session.scalar(select(Dataset).where(Dataset.content_hash == content_hash))
        if existing is None:
            raise
        return _unchanged(session, existing, EVENTS, rows)
    tick = reporter(progress, "write", rows)
    tick(0)
    write_events(session, dataset.id, checker.typed_rows(), batch_size=batch_size, on_written=tick)
    assert actor is not None
    recorded = {"dataset_id": dataset.id, "kind": EVENTS, "rows": rows, "name": dataset.name, "source": meta["source"],
                "content_hash": content_hash, "period_start": _iso(checker.period_start),
                "period_end": _iso(checker.period_end), "flagged": flagged.count}
    if target is not None:
        summary = msg("dataset.corrected", dataset=label(dataset), corrected=label(target), replaced=replaced,
                      added=rows - replaced)
        audit.record(session, actor, "dataset.correct", summary=summary.render("zh")[:2000],
                     summary_en=summary.render("en"),
                     detail={**recorded, "corrects_id": target.id, "corrects_hash": target.content_hash,
                             "replaced": replaced, "added": rows - replaced})
        session.commit()
        return ImportResult(
            dataset_id=dataset.id, created=True, kind=EVENTS, rows=rows, content_hash=content_hash, inserted=rows,
            period_start=checker.period_start, period_end=checker.period_end,
            flagged=tuple(sorted(flagged.kept, key=lambda e: e.line)), flagged_count=flagged.count,
            corrects_id=target.id, replaced=replaced, added=rows - replaced, summary=summary, message=str(summary),
        )
    _record_import(session, actor, dataset, EVENTS, rows, meta["source"], recorded)
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


def _events_left_outside(session: Session, rows: Sequence[dict[str, Any]]) -> tuple[str, str]:
    """A warning (Chinese, English) when events already imported now fall outside a person's time in office or
    their unit after a move this import recorded — the events import refuses such rows, a directory import cannot
    refuse the past: it says so ("" when none)."""
    from rulesvc.persistence.models import Prosecutor, ProsecutorPost

    ends = {r["code"]: r for r in rows if r.get("active_to") or r.get("moved_from") or r.get("redated_from")}
    if not ends:
        return "", ""
    found: list[tuple[str, int]] = []
    people = session.execute(select(Prosecutor.code, Prosecutor.id, Prosecutor.procuratorate_id)
                             .where(Prosecutor.code.in_(sorted(ends)))).all()
    for code, pid, org in people:
        r = ends[code]
        if r.get("moved_from") or r.get("redated_from"):
            # A move recorded, re-dated or redirected: each of the person's events against the post held on its
            # day (a move put a day later leaves the new unit's events of the days between before the move).
            posts = session.execute(select(ProsecutorPost.held_until, ProsecutorPost.procuratorate_id)
                                    .where(ProsecutorPost.prosecutor_id == pid)
                                    .order_by(ProsecutorPost.held_until)).all()
            end = dt.date.fromisoformat(r["active_to"]) if r.get("active_to") else None
            n = 0
            for day, where in session.execute(select(Event.occurred_on, Event.procuratorate_id)
                                              .where(Event.prosecutor_id == pid)).all():
                held = next((p_org for until, p_org in posts if day <= until), org)
                n += held != where or (end is not None and day > end)
        else:
            n = session.scalar(select(func.count()).select_from(Event).where(
                Event.prosecutor_id == pid, Event.occurred_on > dt.date.fromisoformat(r["active_to"]))) or 0
        if n:
            found.append((code, int(n)))
    if not found:
        return "", ""
    total = sum(n for _, n in found)
    shown = "、".join(f"{c} {n} 条" for c, n in found[:5]) + ("等" if len(found) > 5 else "")
    shown_en = ", ".join(f"{c}: {n}" for c, n in found[:5]) + (", …" if len(found) > 5 else "")
    return (f"已导入的事件中有 {total} 条不在检察官新的任职期间内或不在其调动后的检察院（{shown}），仍按原样计入；"
            f"请核对，必要时更正或撤回相应数据集",
            f"{total} events already imported fall outside the new time in office or, after a move, in another "
            f"unit ({shown_en}); they still count as imported — check them, and correct or withdraw their datasets "
            f"if need be")


def _land_reference(session: Session, checker: ReferenceCheck, existing: Dataset | None, meta: dict,
                    content_hash: str, actor: Actor) -> ImportResult:
    kind, rows = checker.kind, len(checker.rows)
    inserted, updated = apply_reference(session, kind, checker.rows)
    if existing is not None and not inserted and not updated:
        session.rollback()
        return _unchanged(session, existing, kind, rows)
    label = KIND_LABELS[kind]
    moved = sum(1 for r in checker.rows if r.get("moved_from"))
    redated = sum(1 for r in checker.rows if r.get("redated_from"))
    # which updates are moves: one without a date would rewrite the person's past periods
    of_them_zh = (f"（其中调动 {moved}" + (f"，调动改期 {redated}" if redated else "") + "）") if moved or redated else ""
    of_them_en = (f" (moves: {moved}" + (f", re-dated: {redated}" if redated else "") + ")") if moved or redated else ""
    counts_zh = f"新增 {inserted}，更新 {updated}{of_them_zh}，未变 {rows - inserted - updated}"
    counts_en = f"{inserted} added, {updated} updated{of_them_en}, {rows - inserted - updated} unchanged"
    warning_zh, warning_en = (_events_left_outside(session, checker.rows) if kind == "prosecutors"
                              and (inserted or updated) else ("", ""))
    recorded = {"kind": kind, "rows": rows, "source": meta["source"], "content_hash": content_hash,
                "inserted": inserted, "updated": updated,
                "moves": [{"code": r["code"], "from": r["moved_from"], "to": r["procuratorate"]}
                          for r in checker.rows if r.get("moved_from")][:500]}
    if existing is not None:
        # The same file again, but the tables were edited since: put its content back.
        _record_import(session, actor, existing, kind, rows, meta["source"], {**recorded, "reapplied": True},
                       inserted=inserted, updated=updated)
        session.commit()
        return ImportResult(
            dataset_id=existing.id, created=False, kind=kind, rows=rows, content_hash=content_hash,
            inserted=inserted, updated=updated, warning_zh=warning_zh, warning_en=warning_en,
            message=(f"该{label}文件已导入过（数据集 #{existing.id}），但数据已被修改，已重新应用：{counts_zh}"
                     f"（already imported as dataset #{existing.id}, but the data had changed since; "
                     f"re-applied: {counts_en}）"),
        )
    dataset = Dataset(kind="reference", content_hash=content_hash, row_count=rows, **meta)
    session.add(dataset)
    session.flush()
    _record_import(session, actor, dataset, kind, rows, meta["source"], recorded)
    session.commit()
    return ImportResult(
        dataset_id=dataset.id, created=True, kind=kind, rows=rows, content_hash=content_hash,
        inserted=inserted, updated=updated, warning_zh=warning_zh, warning_en=warning_en,
        message=(f"已导入 {rows:,} 条{label}记录（数据集 #{dataset.id}）：{counts_zh}"
                 f"（imported {rows:,} {kind} as dataset #{dataset.id}: {counts_en}）"),
    )


def _record_import(session: Session, actor: Actor, dataset: Dataset, kind: str, rows: int, source: str,
                   detail: dict[str, Any], *, inserted: int | None = None, updated: int | None = None) -> None:
    """The audit record of an import (``dataset.import``): who, the file, its kind and rows, the dataset.
    With ``inserted``/``updated``: a reference file applied again to its existing dataset."""
    words = {"dataset": label(dataset), "kind": KIND_LABELS[kind], "kind_en": kind, "rows": f"{rows:,}",
             "source": source}
    summary = (msg("dataset.imported", **words) if inserted is None
               else msg("dataset.reapplied", **words, inserted=inserted, updated=updated))
    zh, en = summary.render("zh"), summary.render("en")
    moves = detail.get("moves") or []
    if moves:  # who moved, from when: the audit log is where a person looks for it
        zh += "；调动：" + "、".join(f"{m['code']} 自 {m['from']} 调入 {m['to']}" for m in moves[:20]) + (
            f" 等 {len(moves)} 人" if len(moves) > 20 else "")
        en += "; moves: " + ", ".join(f"{m['code']} to {m['to']} from {m['from']}" for m in moves[:20]) + (
            f" and {len(moves) - 20} more" if len(moves) > 20 else "")
    audit.record(session, actor, "dataset.import", summary=zh[:2000], summary_en=en[:2000],
                 detail={"dataset_id": dataset.id, "name": dataset.name, **detail})


def _iso(day: dt.date | None) -> str | None:
    return day.isoformat() if day is not None else None


def _unchanged(session: Session, existing: Dataset, kind: str, rows: int) -> ImportResult:
    return ImportResult(
        dataset_id=existing.id, created=False, kind=kind, rows=rows, content_hash=existing.content_hash,
        period_start=existing.period_start, period_end=existing.period_end, corrects_id=existing.corrects_id,
        message=(f"相同的数据已导入过（数据集 #{existing.id}「{existing.name}」），未做任何修改"
                 f"（already imported as dataset #{existing.id} '{existing.name}'; nothing changed）"),
    )
