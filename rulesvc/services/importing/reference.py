"""Reference data: procuratorates, departments and prosecutors, upserted by their natural keys.

Procuratorates by ``code``, departments by ``(procuratorate, code)``, prosecutors by ``code`` (工号).
A row may refer to a row above it in the same file (a parent procuratorate defined earlier).
Reference tables are small (thousands of rows), so they are written through the ORM.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any, NoReturn

from sqlalchemy import select
from sqlalchemy.orm import Session

from rulesvc.engine.dictionary import ValueRejected
from rulesvc.persistence.models import (
    LEVEL_LABELS,
    LEVELS,
    QUOTA_ALIASES,
    QUOTA_LABELS,
    BusinessLine,
    Department,
    Procuratorate,
    Prosecutor,
    ProsecutorPost,
)
from rulesvc.services import localtime
from rulesvc.services.importing import values as v
from rulesvc.services.importing.columns import SPECS, ColumnMap, unknown_column_error
from rulesvc.services.importing.common import ContentHash, ErrorLog
from rulesvc.services.importing.readers import Record

LEVEL_RANK = {level: i for i, level in enumerate(LEVELS)}


class _Skip(Exception):
    """A cell was wrong (already logged); the row cannot be completed."""


class ReferenceCheck:
    """Pass one over a reference file: every problem of every row, the hash, the typed rows."""

    def __init__(self, session: Session, kind: str, cmap: ColumnMap, errors: ErrorLog) -> None:
        self.kind = kind
        self.cmap = cmap
        self.errors = errors
        self.hash = ContentHash(kind)
        self.rows: list[dict[str, Any]] = []
        self.first_line: dict[Any, int] = {}
        self.known_columns = set(SPECS[kind].columns)
        self.org_levels: dict[str, str] = dict(session.execute(select(Procuratorate.code, Procuratorate.level)).all())
        # Business lines by code; their Chinese names are accepted too (values.choice).
        self.businesses: dict[str, str] = dict(session.execute(select(BusinessLine.code, BusinessLine.name)).all())
        self.departments: set[tuple[str, str]] = {
            (org, code)
            for org, code in session.execute(
                select(Procuratorate.code, Department.code).join(Department.procuratorate)
            ).all()
        }
        if kind == "prosecutors":  # each one's present post, the last day of their latest former post and the one before
            ends: dict[int, list[dt.date]] = {}
            for pid, until in session.execute(select(ProsecutorPost.prosecutor_id, ProsecutorPost.held_until)
                                              .order_by(ProsecutorPost.held_until)).all():
                ends.setdefault(pid, []).append(until)
            self.posts: dict[str, tuple[tuple[str, str | None, str], dt.date | None, dt.date | None]] = {
                code: ((org, dept, business), ends[pid][-1] if pid in ends else None,
                       ends[pid][-2] if len(ends.get(pid) or []) > 1 else None)
                for code, pid, org, dept, business in session.execute(
                    select(Prosecutor.code, Prosecutor.id, Procuratorate.code, Department.code, Prosecutor.business_code)
                    .join(Procuratorate, Procuratorate.id == Prosecutor.procuratorate_id)
                    .outerjoin(Department, Department.id == Prosecutor.department_id)).all()}
        self._check_row: Callable[[int, dict[str, Any]], tuple[Any, dict[str, Any]]] = {
            "procuratorates": self._procuratorates,
            "departments": self._departments,
            "prosecutors": self._prosecutors,
        }[kind]

    def check(self, record: Record) -> None:
        """Check one record; keep its typed row."""
        line, values, problems = record
        if problems:
            self.errors.extend(problems)
        if values is None:
            return
        for key in values:
            if key not in self.known_columns:
                self.errors.add(unknown_column_error(self.kind, line, key))
        try:
            key, row = self._check_row(line, values)
        except _Skip:
            return
        first = self.first_line.setdefault(key, line)
        if first != line:
            shown = "/".join(key) if isinstance(key, tuple) else key
            self.errors.message(
                line, self.cmap.display("code"), f"“{shown}”与第 {first} 行重复", f"'{shown}' repeats line {first}"
            )
            return
        self.rows.append(row)
        # post_from only when given: a file without it hashes as it did before the column existed
        self.hash.add([row[c] for c in SPECS[self.kind].columns if c != "post_from" or row.get(c) is not None])

    # -- cells -----------------------------------------------------------------------------------

    def _cell(self, line: int, values: dict[str, Any], column: str, parse: Callable[..., Any], *args: Any,
              required: bool = False, default: Any = None) -> Any:
        raw = values.get(column)
        shown = self.cmap.display(column)
        if raw is None:
            if required:
                self.errors.message(line, shown, f"“{shown}”为必填项", f"'{shown}' is required")
                raise _Skip
            return default
        try:
            value = parse(raw, shown, *args)
        except ValueRejected as exc:
            self.errors.reject(line, shown, exc, raw)
            raise _Skip from None
        if required and value == "":
            self.errors.message(line, shown, f"“{shown}”为必填项", f"'{shown}' is required")
            raise _Skip
        return value

    def _cells(self, line: int, values: dict[str, Any], specs: dict[str, tuple]) -> dict[str, Any]:
        """Parse every cell, logging every problem before giving up on the row."""
        out: dict[str, Any] = {}
        failed = False
        for column, (parse, args, kwargs) in specs.items():
            try:
                out[column] = self._cell(line, values, column, parse, *args, **kwargs)
            except _Skip:
                failed = True
        if failed:
            raise _Skip
        return out

    def _known_org(self, raw: Any, column: str) -> str:
        """Parser: the code of a procuratorate in the database (or, for a parent, on an earlier line)."""
        code = v.org_code(raw, column)
        if code not in self.org_levels:
            if self.kind == "procuratorates":
                zh, en = "（数据库和本文件前面的行中都没有）", " (neither in the database nor on an earlier line)"
            else:
                zh, en = "（请先导入检察院）", " (import the procuratorates first)"
            raise ValueRejected(f"未知的检察院代码“{code}”{zh}", f"unknown procuratorate code '{code}'{en}")
        return code

    # -- kinds -----------------------------------------------------------------------------------

    def _procuratorates(self, line: int, values: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
        row = self._cells(line, values, {
            "code": (v.org_code, (), {"required": True}),
            "name": (v.text, (100,), {"required": True}),
            "level": (v.choice, (LEVEL_LABELS,), {"required": True}),
            "parent_code": (self._known_org, (), {}),
        })
        parent = row["parent_code"]
        if parent is not None:
            shown = self.cmap.display("parent_code")
            if parent == row["code"]:
                self.errors.message(line, shown, "上级院不能是自己", "a procuratorate cannot be its own parent", parent)
                raise _Skip
            parent_level = self.org_levels[parent]
            if LEVEL_RANK[parent_level] >= LEVEL_RANK[row["level"]]:
                self.errors.message(
                    line, shown,
                    f"上级院 {parent} 是{LEVEL_LABELS[parent_level]}，不能管辖{LEVEL_LABELS[row['level']]}",
                    f"parent {parent} is {parent_level}-level and cannot be above a {row['level']}-level one", parent,
                )
                raise _Skip
        self.org_levels[row["code"]] = row["level"]
        return row["code"], row

    def _departments(self, line: int, values: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
        row = self._cells(line, values, {
            "procuratorate": (self._known_org, (), {"required": True}),
            "code": (v.text, (32,), {"required": True}),
            "name": (v.text, (100,), {"required": True}),
            "business": (v.choice, (self.businesses,), {}),
        })
        return (row["procuratorate"], row["code"]), row

    def _prosecutors(self, line: int, values: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
        row = self._cells(line, values, {
            "code": (v.text, (32,), {"required": True}),
            "name": (v.text, (50,), {"required": True}),
            "procuratorate": (self._known_org, (), {"required": True}),
            "department": (v.text, (32,), {}),
            "business": (v.choice, (self.businesses,), {"required": True}),
            "quota_status": (v.choice, (QUOTA_LABELS, QUOTA_ALIASES), {"default": "quota"}),
            "is_leader": (v.boolean, (), {"default": False}),
            "leader_title": (v.text, (50,), {}),
            "active_from": (v.date, (), {"required": True}),
            "active_to": (v.date, (), {}),
            "post_from": (v.date, (), {}),
        })
        dept = row["department"] or None
        row["department"] = dept
        row["leader_title"] = row["leader_title"] or None
        if dept is not None and (row["procuratorate"], dept) not in self.departments:
            shown = self.cmap.display("department")
            self.errors.message(
                line, shown, f"检察院 {row['procuratorate']} 没有部门“{dept}”（请先导入部门）",
                f"procuratorate {row['procuratorate']} has no department '{dept}' (import the departments first)", dept,
            )
            raise _Skip
        if row["active_to"] is not None and row["active_to"] < row["active_from"]:
            shown = self.cmap.display("active_to")
            self.errors.message(
                line, shown, "任职终止日期早于起始日期", "active_to is before active_from", row["active_to"].isoformat()
            )
            raise _Skip
        row["redated_from"] = None
        row["moved_from"] = self._post_from(line, row)  # post_from as given is hashed; a move is recorded
        for key in ("active_from", "active_to", "post_from", "moved_from"):
            if isinstance(row[key], dt.date):
                row[key] = row[key].isoformat()
        return row["code"], row

    def _post_from(self, line: int, row: dict[str, Any]) -> dt.date | None:
        """``post_from`` (现岗位起始日期) when it records a move: the row names another procuratorate,
        department or business than the stored one, from a day after the present post's recorded start. None when
        it records no move: a new prosecutor; the same post (its recorded move re-dated when the date differs:
        ``row["redated_from"]``); another post from the very day the present one was recorded to start (the
        destination of that move corrected); or no date (a changed post without one corrects the directory)."""
        start = row["post_from"]
        known = self.posts.get(row["code"])
        if start is None or known is None:
            return None
        since = known[1] + dt.timedelta(days=1) if known[1] is not None else None  # the present post's start
        shown = self.cmap.display("post_from")

        def refuse(zh: str, en: str) -> NoReturn:
            self.errors.message(line, shown, zh, en, start.isoformat())
            raise _Skip

        same = known[0] == (row["procuratorate"], row["department"], row["business"])
        if same and (since is None or start == since):
            return None  # nothing to record (an HR export may give every post's start, appointments included)
        if start > localtime.today():
            refuse(f"现岗位起始日期 {start} 晚于今天：调动生效后再导入",
                   f"post_from {start} is in the future: import the move once it has taken effect")
        if row["active_to"] is not None and start > row["active_to"]:
            refuse(f"现岗位起始日期 {start} 晚于任职终止日期 {row['active_to']}：离任后不能再调动",
                   f"post_from {start} is after active_to {row['active_to']}: no move after leaving office")
        if start <= row["active_from"]:
            refuse(f"现岗位起始日期 {start} 不晚于任职起始日期 {row['active_from']}：调动前须有原岗位",
                   f"post_from {start} is not after active_from {row['active_from']}")
        if same:  # nothing moves: the recorded move re-dated
            if known[2] is not None and start <= known[2] + dt.timedelta(days=1):
                refuse(f"现岗位起始日期 {start} 不晚于上一次调动（原岗位至 {known[2]}）",
                       f"post_from {start} is not after the previous move (that post ended {known[2]})")
        elif since is None or start > since:
            return start  # a move
        elif start == since:
            return None  # the destination of the recorded move corrected
        else:
            refuse(f"现岗位起始日期 {start} 早于已记录的调动日期 {since}：如要更正这次调动调入的检察院、部门或业务，"
                   f"“现岗位起始日期”请填 {since}",
                   f"post_from {start} is before the recorded move of {since}: to correct where that move went, "
                   f"give post_from {since}")
        row["redated_from"] = start.isoformat()
        return None


def apply_reference(session: Session, kind: str, rows: list[dict[str, Any]]) -> tuple[int, int]:
    """Upsert checked rows by natural key. Returns ``(inserted, updated)``; unchanged rows are untouched."""
    orgs = {p.code: p for p in session.scalars(select(Procuratorate))}
    inserted = updated = 0
    if kind == "procuratorates":
        for row in rows:
            wanted = {"name": row["name"], "level": row["level"],
                      "parent": orgs[row["parent_code"]] if row["parent_code"] else None}
            obj = orgs.get(row["code"])
            if obj is None:
                orgs[row["code"]] = obj = Procuratorate(code=row["code"])
                session.add(obj)
                inserted += 1
            elif _differs(obj, wanted):
                updated += 1
            _assign(obj, wanted)
    elif kind == "departments":
        depts = {(d.procuratorate.code, d.code): d for d in session.scalars(select(Department))}
        for row in rows:
            wanted = {"name": row["name"], "business_code": row["business"]}
            key = (row["procuratorate"], row["code"])
            dept = depts.get(key)
            if dept is None:
                depts[key] = dept = Department(procuratorate=orgs[row["procuratorate"]], code=row["code"])
                session.add(dept)
                inserted += 1
            elif _differs(dept, wanted):
                updated += 1
            _assign(dept, wanted)
    else:
        depts = {(d.procuratorate.code, d.code): d for d in session.scalars(select(Department))}
        people = {p.code: p for p in session.scalars(select(Prosecutor))}
        for row in rows:
            wanted = {
                "name": row["name"],
                "procuratorate": orgs[row["procuratorate"]],
                "department": depts[(row["procuratorate"], row["department"])] if row["department"] else None,
                "business_code": row["business"],
                "quota_status": row["quota_status"],
                "is_leader": row["is_leader"],
                "leader_title": row["leader_title"],
                "active_from": dt.date.fromisoformat(row["active_from"]),
                "active_to": dt.date.fromisoformat(row["active_to"]) if row["active_to"] else None,
            }
            person = people.get(row["code"])
            if person is None:
                people[row["code"]] = person = Prosecutor(code=row["code"])
                session.add(person)
                inserted += 1
            elif _differs(person, wanted):
                updated += 1
                if row.get("moved_from"):  # a move: the post held until the day before is kept (checked above)
                    session.add(ProsecutorPost(
                        prosecutor_id=person.id, procuratorate_id=person.procuratorate_id,
                        department_id=person.department_id, business_code=person.business_code,
                        held_until=dt.date.fromisoformat(row["moved_from"]) - dt.timedelta(days=1)))
            if person.id is not None and row.get("redated_from"):  # the recorded move on another day
                latest = session.scalars(select(ProsecutorPost).where(ProsecutorPost.prosecutor_id == person.id)
                                         .order_by(ProsecutorPost.held_until.desc()).limit(1)).one()
                latest.held_until = dt.date.fromisoformat(row["redated_from"]) - dt.timedelta(days=1)
                updated += 0 if _differs(person, wanted) else 1
            _assign(person, wanted)
    session.flush()
    return inserted, updated


def _differs(obj: object, wanted: dict[str, Any]) -> bool:
    return any(getattr(obj, k) is not w and getattr(obj, k) != w for k, w in wanted.items())


def _assign(obj: object, wanted: dict[str, Any]) -> None:
    for k, w in wanted.items():
        if getattr(obj, k) is not w and getattr(obj, k) != w:
            setattr(obj, k, w)
