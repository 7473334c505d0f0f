"""Importing a rules directory: the files (:mod:`.reading`) checked against the database — procuratorates,
permissions, schemes and versions already there, parents, content hashes, periods in force — then, when
nothing is wrong, written, all or nothing. Flushes, never commits: the caller owns the transaction.
"""

from __future__ import annotations

import copy
import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from rulesvc.catalogue import Words
from rulesvc.engine import localize as loc
from rulesvc.persistence import lifecycle
from rulesvc.persistence.models import Procuratorate, Scheme, SchemeVersion
from rulesvc.schema.scheme import content_hash
from rulesvc.schema.versionfile import DRAFT
from rulesvc.services.governance import audit, contributors, versions
from rulesvc.services.governance.access import PUBLISHED, Actor, can_read, require
from rulesvc.services.governance.rulefiles.reading import (
    Problems,
    SchemeFile,
    VersionFile,
    document_field,
    read_tree,
)

IN_FORCE = lifecycle.IN_FORCE_CAPABLE  # statuses that were in force on their dates
Key = tuple[str, int]  # (scheme code, version number)


@dataclass
class ImportSummary:
    directory: str
    schemes_created: int = 0
    schemes_unchanged: int = 0
    versions_created: int = 0
    versions_unchanged: int = 0
    created: list[str] = field(default_factory=list)

    @property
    def message(self) -> str:
        return (f"新建方案 {self.schemes_created} 个，新增版本 {self.versions_created} 个，"
                f"未变版本 {self.versions_unchanged} 个 (schemes created: {self.schemes_created}, "
                f"versions created: {self.versions_created}, versions unchanged: {self.versions_unchanged})")


def import_rules(session: Session, actor: Actor, directory: str | Path) -> ImportSummary:
    """Load ``directory`` (layout in :mod:`rulesvc.services.governance.rulefiles`) into the database: all
    or nothing, idempotent."""
    schemes = read_tree(directory)
    plan = _Plan(session, actor, schemes)
    for s in schemes:
        plan.check_scheme(s)
    plan.problems.raise_if_any()
    for s in schemes:
        for v in s.versions:
            plan.check_version(v)
        plan.check_periods(s)
    plan.problems.raise_if_any()
    return _Writer(plan, ImportSummary(directory=str(directory))).write()


def resolve_document(document: Mapping[str, Any], identity: Mapping[str, Any],
                     parent: Mapping[str, Any] | None) -> dict[str, Any]:
    """The document that runs, from plain data — as :func:`versions.resolve` computes it from rows: a
    template's own document, or its parent's resolved document with the overrides applied; the scheme's
    identity on top either way. Raises ``loc.LocalizationError``."""
    if parent is None:
        out = copy.deepcopy(dict(document))
        out.update(identity)
        return out
    return loc.resolve(parent, document.get("overrides", []), identity)


def _identity(s: SchemeFile, document: Mapping[str, Any]) -> dict[str, Any]:
    """As :func:`versions.identity_of` for a scheme row."""
    return {"code": s.code, "name": s.name, "org": s.procuratorate, "description": document.get("description", "")}


def _label(key: Key) -> str:
    return f"{key[0]} 第 {key[1]} 版 (version {key[1]})"


# A version's parent as resolving reads it: a file's resolved document, or a database row.
Parent = dict[str, Any] | SchemeVersion


class _Plan:
    """The files against the database: every problem collected; what the writer needs remembered."""

    def __init__(self, session: Session, actor: Actor, schemes: Sequence[SchemeFile]) -> None:
        self.session, self.actor, self.schemes = session, actor, list(schemes)
        self.problems = Problems()
        self.by_code = {s.code: s for s in self.schemes}
        self.files: dict[Key, VersionFile] = {v.key: v for s in self.schemes for v in s.versions}
        self.scheme_rows: dict[str, Scheme] = {}  # schemes already in the database
        self.existing: dict[Key, SchemeVersion] = {}  # versions already in the database
        self.resolved: dict[Key, dict[str, Any]] = {}
        self.failed: set[Key] = set()
        self.stack: set[Key] = set()  # versions whose parents are being resolved (a cycle comes back here)

    def fail(self, v: VersionFile, message: str, field: str | None) -> None:
        self.problems.add(v.path, message, field=field)
        self.failed.add(v.key)

    def db_version(self, key: Key) -> SchemeVersion | None:
        code, number = key
        v = self.session.scalar(select(SchemeVersion).join(Scheme, Scheme.id == SchemeVersion.scheme_id)
                                .where(Scheme.code == code, SchemeVersion.number == number))
        if v is None or not can_read(self.actor, v.scheme.procuratorate_id, v.status):
            return None
        return v

    def check_scheme(self, s: SchemeFile) -> None:
        org = self.session.scalar(select(Procuratorate).where(Procuratorate.code == s.procuratorate))
        if org is None:
            self.problems.add(s.path, f"没有代码为 {s.procuratorate} 的检察院，请先导入基础数据 "
                                      f"(no procuratorate {s.procuratorate}: import the reference data first)",
                              field="procuratorate")
            return
        require(self.actor, "edit", org.id, what=Words(f"检察院 {s.procuratorate}", f"Procuratorate {s.procuratorate}"))
        for v in s.versions:
            if v.status == "approved":
                require(self.actor, "review", org.id, what=Words(f"检察院 {s.procuratorate}", f"Procuratorate {s.procuratorate}"))
            elif v.status in IN_FORCE:
                require(self.actor, "activate", org.id, what=Words(f"检察院 {s.procuratorate}", f"Procuratorate {s.procuratorate}"))
        row = self.session.scalar(select(Scheme).where(Scheme.code == s.code))
        if row is None:
            return
        theirs = {"name": row.name, "procuratorate": row.procuratorate.code, "subject_kind": row.subject_kind,
                  "period_kind": row.period_kind}
        diff = [k for k, ours in s.identity.items() if ours != theirs[k]]
        if diff:
            self.problems.add(s.path, "数据库中已有同代码的方案，但 " + "、".join(diff) + " 不同 (the database holds "
                              f"scheme {s.code} with another {', '.join(diff)})", field=diff[0], conflict=True)
            return
        self.scheme_rows[s.code] = row
        for v in s.versions:
            e = next((x for x in row.versions if x.number == v.number), None)
            if e is not None:
                self.existing[v.key] = e

    def resolve(self, v: VersionFile) -> dict[str, Any] | None:
        """The resolved document of a published file version (memoised), or None after reporting why."""
        if v.key in self.resolved or v.key in self.failed:
            return self.resolved.get(v.key)
        ok, parent = self.parent_of(v)
        if not ok:
            return None
        if parent is not None and not isinstance(parent, dict):
            parent = versions.resolve(parent)
        try:
            doc = resolve_document(v.document, _identity(self.by_code[v.scheme], v.document), parent)
        except loc.LocalizationError as exc:
            for p in exc.problems:
                where = f"overrides[{p.get('index')}] {p.get('path') or ''}".strip()
                self.problems.add(v.path, f"{where}: {p['message']}", field=document_field(where))
            self.failed.add(v.key)
            return None
        self.resolved[v.key] = doc
        return doc

    def parent_of(self, v: VersionFile) -> tuple[bool, Parent | None]:
        """(False, None) after reporting why the parent will not do; else (True, the parent or None)."""
        if v.parent is None:
            return True, None
        key, label = v.parent.key, _label(v.parent.key)
        parent: Parent | None = None
        pf = self.files.get(key)
        if pf is not None:
            if v.key in self.stack:
                self.fail(v, "上级版本形成循环 (the parents form a cycle)", "parent")
                return False, None
            status, hash_ = pf.status, pf.content_hash
            if status in PUBLISHED:
                self.stack.add(v.key)
                try:
                    resolved = self.resolve(pf)
                finally:
                    self.stack.discard(v.key)
                if resolved is None:
                    self.fail(v, f"上级版本 {label} 有误 (the parent has errors: see {pf.path})", "parent")
                    return False, None
                parent = resolved
        else:
            row = self.db_version(key)
            if row is None:
                self.fail(v, f"找不到上级版本 {label}：既不在这些文件中，也不在数据库中 "
                             "(the parent is neither in these files nor in the database)", "parent")
                return False, None
            status, hash_, parent = row.status, row.content_hash, row
        if status not in PUBLISHED:
            self.fail(v, f"上级版本 {label} 状态为 {status}，只能本地化已发布的版本 "
                         "(the parent must be approved, active or retired)", "parent")
            return False, None
        if v.parent.content_hash is not None and v.parent.content_hash != hash_:
            self.fail(v, f"上级版本 {label} 的内容哈希 {hash_} 与文件所记 {v.parent.content_hash} 不符 "
                         "(the parent's content hash differs from the one recorded)", "parent.content_hash")
            return False, None
        return True, parent

    def check_version(self, v: VersionFile) -> None:
        if v.status != DRAFT:
            doc = self.resolve(v)
            if doc is not None:
                actual = content_hash(doc)
                if actual != v.content_hash:
                    self.problems.add(v.path, f"内容哈希不符：文件记为 {v.content_hash}，按文件内容解析得 {actual}；"
                                              "已发布的版本内容不可修改 (content hash mismatch: the file records "
                                              f"{v.content_hash}, its document resolves to {actual})",
                                      field="content_hash")
        else:
            self.parent_of(v)
        e = self.existing.get(v.key)
        if e is None:
            return
        e_parent = (e.parent.scheme.code, e.parent.number) if e.parent is not None else None
        if v.status != DRAFT:
            same = e.status != DRAFT and e.content_hash == v.content_hash
        else:
            same = (e.status == DRAFT and e_parent == (v.parent.key if v.parent else None)
                    and content_hash(e.document or {}) == content_hash(v.document))
        if not same:
            self.problems.add(v.path, f"数据库中已有 {v.scheme} 第 {v.number} 版（{e.status}，内容哈希 "
                                      f"{e.content_hash}），与文件不同 (the database already holds version {v.number} "
                                      "with other content)", conflict=True)

    def check_periods(self, s: SchemeFile) -> None:
        """At most one version in force on any date, with the file versions added to the database's."""
        spans: list[tuple[dt.date, dt.date | None, str, bool]] = []  # from, to, where, is a file
        for v in s.versions:
            if v.key not in self.existing and v.status in IN_FORCE and v.meta.effective_from is not None:
                spans.append((v.meta.effective_from, v.meta.effective_to, str(v.path), True))
        if not spans:
            return
        numbers = {v.number for v in s.versions}
        row = self.scheme_rows.get(s.code)
        for e in row.versions if row is not None else ():
            if e.number not in numbers and e.status in IN_FORCE and e.effective_from is not None:
                spans.append((e.effective_from, e.effective_to, _label((s.code, e.number)), False))
        spans.sort(key=lambda r: r[0])
        for (_, end, where, is_file), (start, _, later, later_is_file) in zip(spans, spans[1:], strict=False):
            if end is None or end >= start:
                path, other = (later, where) if later_is_file or not is_file else (where, later)
                self.problems.add(path, f"生效期间与 {other} 重叠，同一日期只能有一个版本生效 "
                                        f"(in force on the same dates as {other})", field="effective_from")


class _Writer:
    """Schemes, then versions with their parents first; an audit record for each."""

    def __init__(self, plan: _Plan, summary: ImportSummary) -> None:
        self.plan, self.summary = plan, summary
        self.session, self.actor = plan.session, plan.actor
        self.rows: dict[Key, SchemeVersion] = {}

    def write(self) -> ImportSummary:
        for s in sorted(self.plan.schemes, key=lambda x: x.code):
            self.scheme(s)
        for s in sorted(self.plan.schemes, key=lambda x: x.code):
            for v in s.versions:
                self.version(v)
        return self.summary

    def scheme(self, s: SchemeFile) -> None:
        if s.code in self.plan.scheme_rows:
            self.summary.schemes_unchanged += 1
            return
        org = self.session.scalar(select(Procuratorate).where(Procuratorate.code == s.procuratorate))
        row = Scheme(code=s.code, name=s.name, procuratorate=org, subject_kind=s.subject_kind,
                     period_kind=s.period_kind, created_by=self.actor.name)
        self.session.add(row)
        self.session.flush()
        audit.record(self.session, self.actor, "rules.import", scheme=row,
                     summary=f"从文件导入方案 {s.code}（{s.name}）(imported scheme {s.code})",
                     detail={"file": str(s.path)})
        self.plan.scheme_rows[s.code] = row
        self.summary.schemes_created += 1

    def version(self, v: VersionFile) -> SchemeVersion:
        if v.key in self.rows:
            return self.rows[v.key]
        existing = self.plan.existing.get(v.key)
        if existing is not None:
            self.rows[v.key] = existing
            self.summary.versions_unchanged += 1
            return existing
        parent_row = None
        if v.parent is not None:
            pf = self.plan.files.get(v.parent.key)
            parent_row = self.version(pf) if pf is not None else self.plan.db_version(v.parent.key)
        scheme = self.plan.scheme_rows[v.scheme]
        m, published = v.meta, v.status != DRAFT
        row = SchemeVersion(
            scheme=scheme, number=v.number, parent=parent_row, document=copy.deepcopy(v.document), status=v.status,
            author=m.author, author_ref=m.author_ref, change_note=m.change_note,
            resolved=copy.deepcopy(self.plan.resolved[v.key]) if published else None,
            content_hash=v.content_hash if published else None, simulation=m.simulation,
            scenarios=list(m.scenarios or []),
            submitted_at=m.submitted_at, submitted_by=m.submitted_by, reviewed_at=m.reviewed_at,
            reviewed_by=m.reviewed_by, reviewed_by_ref=m.reviewed_by_ref, review_note=m.review_note,
            activated_at=m.activated_at, activated_by=m.activated_by, effective_from=m.effective_from,
            effective_to=m.effective_to)
        if m.created_at is not None:
            row.created_at = m.created_at
        # Written with its recorded status (history restored, not a step of the lifecycle); whoever
        # imports it contributed to it here, so they never review it (four eyes).
        self.session.add(row)
        self.session.flush()
        contributors.add(self.session, row, self.actor, "created")
        audit.record(self.session, self.actor, "rules.import", version=row,
                     summary=f"从文件导入 {scheme.code} 第 {v.number} 版（{v.status}）"
                             f"(imported {scheme.code} version {v.number}, {v.status})",
                     detail={"file": str(v.path), "status": v.status, "content_hash": row.content_hash,
                             "parent": list(v.parent.key) if v.parent else None})
        self.rows[v.key] = row
        self.summary.versions_created += 1
        self.summary.created.append(f"{scheme.code} v{v.number}")
        return row
