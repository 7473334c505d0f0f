"""Datasets after import: find one, list them with their status, withdraw one.

A dataset is never deleted and never changes (database triggers refuse it). What can happen to an event
dataset later:

- it is **corrected**: a later import names it (``import_file(..., corrects=...)``); the correction's
  events replace those with the same event ids, its other events are added;
- it is **withdrawn**, with a reason (:func:`withdraw_dataset`): a row in ``dataset_withdrawals`` —
  append-only — and its events stop counting. A withdrawal is final for that dataset; the same data can
  be brought back by importing it as a correction of the withdrawn dataset.

Which events count is decided in one place, :mod:`rulesvc.services.facts`.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field

from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from rulesvc.catalogue import msg
from rulesvc.engine.texts import visible
from rulesvc.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from rulesvc.persistence.models import DATASET_STATUS_LABELS, Dataset, DatasetWithdrawal, Event
from rulesvc.schema import limits
from rulesvc.services.facts import InUse, in_use
from rulesvc.services.governance import audit
from rulesvc.services.governance.access import Actor

REASON_MAX = limits.MAX_TEXT_CHARS  # as every reason and note (README: 4,000 characters)
_HASH_PREFIX = re.compile(r"[0-9a-f]{6,64}")
# Imports of events and withdrawals take turns (PostgreSQL advisory lock, held to the end of the
# transaction): the check that an event id is not counted yet and the write that makes it counted must
# not interleave with another import of the same ids.
_FACTS_LOCK = 0x72756C6573766301  # "rulesvc" 1


def lock_facts(session: Session) -> None:
    """Serialise changes to what counts (imports of events, withdrawals) until the transaction ends:
    PostgreSQL, a transaction-level advisory lock; SQLite, the database's write lock taken now
    (``BEGIN IMMEDIATE``) rather than at the first write — the driver runs the reads before it outside
    any transaction, so another import could otherwise land between this one's check and its write."""
    conn = session.connection()
    if conn.dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _FACTS_LOCK})
        return
    raw = conn.connection.driver_connection
    if raw is not None and not raw.in_transaction:
        raw.execute("BEGIN IMMEDIATE")
    else:  # a transaction is open already: a write that changes nothing takes the lock
        session.execute(text("UPDATE datasets SET id = id WHERE 0 = 1"))


def label(dataset: Dataset) -> str:
    """How messages name a dataset: ``#3「name」``."""
    return f"#{dataset.id}「{dataset.name}」"


def resolve_dataset(session: Session, ref: str | int) -> Dataset:
    """A dataset by its number (``3`` or ``#3``) or a prefix of its content hash (6 hex digits or more)."""
    text_ref = str(ref).strip().lstrip("#").lower()
    if text_ref.isdigit():
        found = session.get(Dataset, int(text_ref))
        if found is not None:
            return found
    if _HASH_PREFIX.fullmatch(text_ref):
        matches = list(session.scalars(
            select(Dataset).where(Dataset.content_hash.like(text_ref + "%")).order_by(Dataset.id).limit(5)))
        if len(matches) == 1:
            return matches[0]
        if matches:
            raise InvalidInput(msg("dataset.ambiguous", ref=str(ref), matches=[label(m) for m in matches]),
                               errors={"dataset": [msg("dataset.ambiguous", ref=str(ref),
                                                       matches=[label(m) for m in matches])]})
    raise NotFound(msg("not_found.dataset", dataset=str(ref)))


def counting_events(session: Session, plan: InUse, dataset_ids: list[int] | None = None) -> dict[int, int]:
    """How many events of each dataset count under ``plan`` (all of them, or of ``dataset_ids``)."""
    q = select(Event.dataset_id, func.count()).where(plan.condition()).group_by(Event.dataset_id)
    if dataset_ids is not None:
        q = q.where(Event.dataset_id.in_(dataset_ids))
    return {d: n for d, n in session.execute(q).all()}


@dataclass(frozen=True)
class DatasetInfo:
    """One dataset as a data administrator sees it."""

    id: int
    name: str
    kind: str
    rows: int
    content_hash: str
    period_start: dt.date | None
    period_end: dt.date | None
    created_at: dt.datetime
    created_by: str | None
    status: str  # in_use / withdrawn (reference data: in_use)
    counting: int  # events that count now (an event dataset's rows, less withdrawn or replaced ones)
    corrects_id: int | None
    corrected_by: tuple[int, ...] = ()  # datasets correcting this one (any status)
    withdrawn_at: dt.datetime | None = None
    withdrawn_by: str | None = None
    withdrawal_reason: str | None = None

    @property
    def status_label(self) -> str:
        return DATASET_STATUS_LABELS[self.status]


def list_datasets(session: Session, *, kind: str | None = None) -> list[DatasetInfo]:
    """Every dataset (oldest first) with its status and how many of its events count now."""
    q = select(Dataset, DatasetWithdrawal).outerjoin(DatasetWithdrawal, DatasetWithdrawal.dataset_id == Dataset.id)
    if kind is not None:
        q = q.where(Dataset.kind == kind)
    rows = session.execute(q.order_by(Dataset.id)).all()
    counts = counting_events(session, in_use(session))
    corrected_by: dict[int, list[int]] = {}
    for ds, _ in rows:
        if ds.corrects_id is not None:
            corrected_by.setdefault(ds.corrects_id, []).append(ds.id)
    out = []
    for ds, w in rows:
        out.append(DatasetInfo(
            id=ds.id, name=ds.name, kind=ds.kind, rows=ds.row_count, content_hash=ds.content_hash,
            period_start=ds.period_start, period_end=ds.period_end, created_at=ds.created_at,
            created_by=ds.created_by, status="withdrawn" if w is not None else "in_use",
            counting=counts.get(ds.id, 0) if ds.kind == "events" else 0, corrects_id=ds.corrects_id,
            corrected_by=tuple(corrected_by.get(ds.id, ())), withdrawn_at=w.at if w else None,
            withdrawn_by=w.by if w else None, withdrawal_reason=w.reason if w else None,
        ))
    return out


@dataclass(frozen=True)
class Withdrawal:
    """What a withdrawal did: the dataset, its events that stopped counting, the events of the datasets
    it corrected that count again, and the corrections of it that stay in use."""

    dataset_id: int
    content_hash: str
    stopped: int
    restored: dict[int, int] = field(default_factory=dict)  # corrected dataset -> its events counting again
    corrections_in_use: tuple[int, ...] = ()


def withdraw_dataset(session: Session, actor: Actor, dataset: Dataset | str | int, reason: str) -> Withdrawal:
    """Take an event dataset out of use, with a reason (recorded, with who and when, in the append-only
    ``dataset_withdrawals`` and in the audit log). Does not commit: the caller does.

    Its events stop counting. If it corrected another dataset, the events it had replaced there count
    again (unless another correction in use replaces them). Corrections *of* it stay in use — they are
    datasets of their own — and are named in the result so the caller can say so."""
    if not isinstance(dataset, Dataset):
        dataset = resolve_dataset(session, dataset)
    reason = visible(reason)
    if not reason:
        raise InvalidInput(msg("dataset.withdraw_needs_reason"), errors={"reason": [msg("field.required")]})
    if len(reason) > REASON_MAX:
        raise InvalidInput(msg("field.too_long", max=REASON_MAX, length=len(reason)),
                           errors={"reason": [msg("field.too_long", max=REASON_MAX, length=len(reason))]})
    if "\x00" in reason:
        raise InvalidInput(msg("field.nul_byte"), errors={"reason": [msg("field.nul_byte")]})
    if actor.scope is not None:  # datasets hold events of many procuratorates: the whole province's call
        raise PermissionDenied(msg("permission.scope", what="数据集", what_en="The dataset", name=actor.said),
                               errors={"dataset": ["outside your scope"]})
    if dataset.kind != "events":
        raise InvalidInput(msg("dataset.not_events", dataset=label(dataset)),
                           errors={"dataset": [msg("dataset.not_events", dataset=label(dataset))]})
    lock_facts(session)
    if session.get(DatasetWithdrawal, dataset.id) is not None:
        raise Conflict(msg("dataset.withdrawn", dataset=label(dataset)))

    before = in_use(session)
    after = in_use(session, [d for d in before.datasets if d != dataset.id])
    touched = [dataset.id] + ([dataset.corrects_id] if dataset.corrects_id is not None else [])
    # every dataset this one replaces events of, directly or along a chain of corrections
    corrected = sorted(d for d, by in before.replaced_by.items() if dataset.id in by)
    counts_before = counting_events(session, before, touched + corrected)
    counts_after = counting_events(session, after, corrected)
    restored = {d: counts_after.get(d, 0) - counts_before.get(d, 0) for d in corrected
                if counts_after.get(d, 0) != counts_before.get(d, 0)}
    corrections = tuple(sorted(before.replaced_by.get(dataset.id, ())))

    session.add(DatasetWithdrawal(dataset_id=dataset.id, at=dt.datetime.now(dt.UTC), by=actor.name[:120],
                                  by_ref=actor.ref[:40], reason=reason))
    stopped = counts_before.get(dataset.id, 0)
    audit.record(
        session, actor, "dataset.withdraw",
        summary=f"撤回数据集 {label(dataset)}：{reason}"[:limits.MAX_TEXT_CHARS + 200],
        summary_en=f"Withdrew dataset {label(dataset)}: {reason}"[:limits.MAX_TEXT_CHARS + 200],
        detail={"dataset_id": dataset.id, "content_hash": dataset.content_hash, "reason": reason,
                "events_stopped": stopped, "restored": {str(k): v for k, v in restored.items()},
                "corrections_in_use": list(corrections)},
    )
    session.flush()
    return Withdrawal(dataset.id, dataset.content_hash, stopped, restored, corrections)
