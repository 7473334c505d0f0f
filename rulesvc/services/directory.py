"""The public organisation directory: procuratorates (检察院) with their level and parent."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Row, Select, func, select
from sqlalchemy.orm import Session, aliased

from rulesvc.catalogue import msg
from rulesvc.errors import InvalidInput, NotFound
from rulesvc.persistence.models import LEVEL_LABELS, LEVELS, Procuratorate

__all__ = ["LEVELS", "ProcuratorateEntry", "get_procuratorate", "is_code", "list_procuratorates"]


@dataclass(frozen=True)
class ProcuratorateEntry:
    """One procuratorate as the directory shows it (no database identifiers)."""

    code: str
    name: str
    level: str
    level_label: str
    parent_code: str | None


CODE_RE = re.compile(r"[0-9]{6}")

# The parent row, joined to show its code (the directory never exposes database ids).
_Parent = aliased(Procuratorate, name="parent")


def is_code(value: str) -> bool:
    """Whether ``value`` has the form of a procuratorate code: six ASCII digits (行政区划代码)."""
    return CODE_RE.fullmatch(value) is not None


def _entries_query() -> Select:
    return select(
        Procuratorate.code, Procuratorate.name, Procuratorate.level, _Parent.code.label("parent_code")
    ).outerjoin(_Parent, Procuratorate.parent_id == _Parent.id)


def _entry(row: Row[Any]) -> ProcuratorateEntry:
    return ProcuratorateEntry(
        code=row.code,
        name=row.name,
        level=row.level,
        level_label=LEVEL_LABELS.get(row.level, row.level),
        parent_code=row.parent_code,
    )


def list_procuratorates(
    session: Session,
    *,
    level: str | None = None,
    parent: str | None = None,
    offset: int = 0,
    limit: int | None = None,
) -> tuple[list[ProcuratorateEntry], int]:
    """Procuratorates ordered by code, optionally of one ``level`` or under one ``parent`` code.

    Returns one page (``offset``/``limit``) and the total number of matches.
    """
    if level is not None and level not in LEVELS:
        raise InvalidInput(msg("directory.bad_level"), errors={"level": [msg("field.one_of", choices=list(LEVELS))]})
    if parent is not None and not is_code(parent):
        return [], 0
    query = _entries_query()
    if level is not None:
        query = query.where(Procuratorate.level == level)
    if parent is not None:
        query = query.where(_Parent.code == parent)
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    if offset >= total:  # also keeps absurd page numbers away from the database's integer range
        return [], total
    page = query.order_by(Procuratorate.code).offset(offset)
    if limit is not None:
        page = page.limit(limit)
    return [_entry(row) for row in session.execute(page)], total


def get_procuratorate(session: Session, code: str) -> ProcuratorateEntry:
    """The procuratorate with this code; :class:`~rulesvc.errors.NotFound` if there is none."""
    if not is_code(code):
        raise NotFound(msg("directory.not_a_code"), procuratorate=code[:20])
    row = session.execute(_entries_query().where(Procuratorate.code == code)).first()
    if row is None:
        raise NotFound(msg("not_found.procuratorate", code=code), procuratorate=code)
    return _entry(row)
