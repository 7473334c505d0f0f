"""Reference data: procuratorates, departments and prosecutors, upserted by their natural keys.

Procuratorates by ``code``, departments by ``(procuratorate, code)``, prosecutors by ``code`` (工号).
A row may refer to a row above it in the same file (a parent procuratorate defined earlier).
Reference tables are small (thousands of rows), so they are written through the ORM.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from rulesvc.engine.dictionary import ValueRejected
from rulesvc.persistence.models import (
    LEVEL_LABELS,
    LEVELS,
    QUOTA_LABELS,
    BusinessLine,
    Department,
    Procuratorate,
    Prosecutor,
)
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
        self.hash.add([row[c] for c in SPECS[self.kind].columns])

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
            "quota_status": (v.choice, (QUOTA_LABELS,), {"default": "quota"}),
            "is_leader": (v.boolean, (), {"default": False}),
            "leader_title": (v.text, (50,), {}),
            "active_from": (v.date, (), {"required": True}),
            "active_to": (v.date, (), {}),
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
        for key in ("active_from", "active_to"):
            if isinstance(row[key], dt.date):
                row[key] = row[key].isoformat()
        return row["code"], row


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
            _assign(person, wanted)
    session.flush()
    return inserted, updated


def _differs(obj: object, wanted: dict[str, Any]) -> bool:
    return any(getattr(obj, k) is not w and getattr(obj, k) != w for k, w in wanted.items())


def _assign(obj: object, wanted: dict[str, Any]) -> None:
    for k, w in wanted.items():
        if getattr(obj, k) is not w and getattr(obj, k) != w:
            setattr(obj, k, w)
