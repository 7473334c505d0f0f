"""Generate the demo province and load it: ``rulesvc demo`` and the first start of ``make run``.

Deterministic from the seed. Writes reference data with plain bulk inserts and streams events through
:func:`rulesvc.persistence.bulk.insert_events` (``COPY`` on PostgreSQL), all in one transaction.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import random
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, insert, select

from rulesvc.catalogue import msg
from rulesvc.datagen.events import EventStream
from rulesvc.datagen.province import Person, Unit, build_people, build_units
from rulesvc.errors import Conflict
from rulesvc.extensions import db
from rulesvc.persistence.bulk import EventRow, attrs_json, insert_events
from rulesvc.persistence.models import Dataset, Department, Procuratorate, Prosecutor

GENERATOR_VERSION = 2
DEFAULT_PROSECUTORS = 3000


@dataclass(frozen=True)
class DemoConfig:
    """Size and seed of the demo province. ``scale`` multiplies the number of prosecutors."""

    seed: int = 20200701
    prosecutors: int = DEFAULT_PROSECUTORS
    months: int = 12
    start: dt.date = dt.date(2020, 1, 1)
    scale: float = 1.0

    @property
    def total_prosecutors(self) -> int:
        return max(20, round(self.prosecutors * self.scale))


@dataclass(frozen=True)
class DemoSummary:
    procuratorates: int
    departments: int
    prosecutors: int
    events: int
    dataset_id: int
    content_hash: str
    generate_and_load_seconds: float


def database_is_empty() -> bool:
    return db.session.scalar(select(func.count()).select_from(Procuratorate)) == 0


def generate_and_load(cfg: DemoConfig, *, progress: Callable[[int], None] | None = None) -> DemoSummary:
    """Create the province, its people and their events in the current app's database.

    Refuses (``Conflict``) when procuratorates already exist: the demo never mixes with real data.
    """
    if not database_is_empty():
        raise Conflict(msg("demo.not_empty"))
    t0 = time.perf_counter()
    rng = random.Random(cfg.seed)
    units = build_units(rng)
    end = _end_of(cfg.start, cfg.months)
    people = build_people(rng, units, cfg.total_prosecutors, cfg.start, end)

    session = db.session
    org_ids = _write_units(units)
    dept_ids = _write_departments(units, org_ids)
    person_ids = _write_people(people, org_ids, dept_ids)

    dataset = Dataset(
        name=f"示范省办案数据 {cfg.start:%Y-%m} 至 {end:%Y-%m}（演示）",
        kind="events",
        content_hash="",
        source=f"rulesvc demo --seed {cfg.seed} --prosecutors {cfg.total_prosecutors} --months {cfg.months}",
        row_count=0,
        period_start=cfg.start,
        period_end=end,
        created_by="rulesvc demo",
        note=f"演示数据，由生成器 v{GENERATOR_VERSION} 按种子 {cfg.seed} 生成 (synthetic demo data)",
    )
    # Datasets are immutable once written (a database trigger forbids UPDATE), so the row goes in
    # last, with its final count and hash; events point at an id reserved here.
    dataset_id = _reserve_dataset_id()
    digest = hashlib.sha256()
    stream = EventStream(random.Random(cfg.seed + 1), people, cfg.start, cfg.months)
    rows = _rows(stream, dataset_id, people, units, person_ids, org_ids, digest)

    dataset.id = dataset_id
    n = insert_events(session.connection(), rows, progress=progress)
    dataset.row_count = n
    dataset.content_hash = digest.hexdigest()
    session.add(dataset)
    session.commit()
    return DemoSummary(
        procuratorates=len(units),
        departments=len(dept_ids),
        prosecutors=len(people),
        events=n,
        dataset_id=dataset_id,
        content_hash=dataset.content_hash,
        generate_and_load_seconds=time.perf_counter() - t0,
    )


def _end_of(start: dt.date, months: int) -> dt.date:
    y, m = divmod(start.month - 1 + months, 12)
    return dt.date(start.year + y, m + 1, 1) - dt.timedelta(days=1)


def _reserve_dataset_id() -> int:
    """An id for a dataset row written after its events: from the sequence where there is one, so
    later inserts that let the database choose never collide with it."""
    conn = db.session.connection()
    if conn.dialect.name == "postgresql":
        return int(conn.exec_driver_sql("SELECT nextval(pg_get_serial_sequence('datasets', 'id'))").scalar_one())
    # SQLite hands out max(rowid) + 1, and this transaction holds the write lock until commit.
    return (db.session.scalar(select(func.max(Dataset.id))) or 0) + 1


def _write_units(units: list[Unit]) -> dict[str, int]:
    ids: dict[str, int] = {}
    for unit in units:  # parents come first in build order
        row = {"code": unit.code, "name": unit.name, "level": unit.level,
               "parent_id": ids.get(unit.parent_code) if unit.parent_code else None}
        ids[unit.code] = db.session.execute(insert(Procuratorate).returning(Procuratorate.id), [row]).scalar_one()
    return ids


def _write_departments(units: list[Unit], org_ids: dict[str, int]) -> dict[tuple[str, str], int]:
    rows = [
        {"procuratorate_id": org_ids[u.code], "code": code, "name": name, "business_code": business}
        for u in units
        for code, name, business in u.departments
    ]
    db.session.execute(insert(Department), rows)
    found = db.session.execute(select(Department.id, Department.procuratorate_id, Department.code))
    by_org = {v: k for k, v in org_ids.items()}
    return {(by_org[org], code): i for i, org, code in found}


def _write_people(people: list[Person], org_ids: dict[str, int], dept_ids: dict[tuple[str, str], int]) -> list[int]:
    rows = [
        {
            "code": p.code, "name": p.name, "procuratorate_id": org_ids[p.unit.code],
            "department_id": dept_ids[(p.unit.code, p.department_code)], "business_code": p.business,
            "quota_status": p.quota_status, "is_leader": p.is_leader, "leader_title": p.leader_title,
            "active_from": p.active_from, "active_to": p.active_to,
        }
        for p in people
    ]
    db.session.execute(insert(Prosecutor), rows)
    ids = dict(db.session.execute(select(Prosecutor.code, Prosecutor.id)).all())
    return [ids[p.code] for p in people]


def _rows(
    stream: EventStream,
    dataset_id: int,
    people: list[Person],
    units: list[Unit],
    person_ids: list[int],
    org_ids: dict[str, int],
    digest: Any,
) -> Iterator[EventRow]:
    unit_ids = [org_ids[u.code] for u in units]
    for n, (etype, pidx, uidx, case_id, day, attrs) in enumerate(stream, start=1):
        ext = f"DEMO{n:08d}"
        pcode = people[pidx].code if pidx is not None else ""
        text = attrs_json(attrs)  # serialised once: for the hash and for the database
        # Canonical line of the content hash: what the event says, not where it was stored.
        digest.update(f"{ext}|{etype}|{units[uidx].code}|{pcode}|{case_id or ''}|{day.isoformat()}|{text}\n".encode())
        yield EventRow(dataset_id, ext, etype, unit_ids[uidx], person_ids[pidx] if pidx is not None else None,
                       case_id, day, text)
