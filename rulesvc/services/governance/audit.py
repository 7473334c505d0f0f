"""The audit log: every change to a rule set, who made it, when, from where, and what (a diff) — and the
other changes people make through the services: accounts (:mod:`rulesvc.services.users`), imports and
withdrawals of datasets (:mod:`rulesvc.services.importing`), simulations started and cancelled
(:mod:`rulesvc.services.simulation`), API keys, published results.

Append-only: these functions only insert, and the database refuses updates and deletes (triggers in
migration 0002). A record's ``summary`` is Chinese; a record may carry its English in
``detail["summary_en"]`` (:func:`record`'s ``summary_en``), which the English admin pages show.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from rulesvc.persistence.models import AuditRecord, Procuratorate, Scheme, SchemeVersion
from rulesvc.services.governance.access import Actor, require

ACTION_LABELS = {
    "scheme.create": "新建方案", "version.create": "新建版本", "version.localize": "本地化",
    "version.update": "修改草稿", "version.submit": "提交审核", "version.attach_simulation": "指定模拟测评",
    "version.scenarios": "修改回归用例", "simulation.create": "发起模拟测评", "simulation.cancel": "取消模拟测评",
    "version.approve": "批准", "version.reject": "退回", "version.activate": "生效", "version.retire": "停用",
    "version.unschedule": "撤销生效安排", "version.resume": "继续生效", "version.supersede": "被新版本取代", "version.rebase": "跟进上级新版本", "version.settle": "处理冲突",
    "version.delete": "删除草稿", "rules.import": "从文件导入",
    "publication.publish": "发布考评结果", "publication.supersede": "更正已发布的考评结果",
    "dataset.import": "导入数据集", "dataset.correct": "导入更正数据集", "dataset.withdraw": "撤回数据集",
    "user.create": "新建用户", "user.update": "修改用户", "user.password": "重设密码",
    "user.deactivate": "停用用户", "user.activate": "启用用户",
    "apikey.create": "新建 API 密钥", "apikey.revoke": "吊销 API 密钥", "auth.lockout": "登录锁定",
}  # in this order in the audit log's filter: the rules, results, data, accounts, keys and sign-in
# The same in English (the admin pages' English; the API's ``action_label`` stays Chinese).
ACTION_LABELS_EN = {
    "scheme.create": "New scheme", "version.create": "New version", "version.localize": "Localized",
    "version.update": "Draft changed", "version.submit": "Submitted for review",
    "version.attach_simulation": "Simulation attached", "version.scenarios": "Regression scenarios changed",
    "simulation.create": "Simulation started", "simulation.cancel": "Simulation cancelled",
    "version.approve": "Approved", "version.reject": "Sent back", "version.activate": "Activated",
    "version.retire": "Retired", "version.unschedule": "Go-live taken back",
    "version.resume": "Stays in force", "version.supersede": "Superseded by a new version",
    "version.rebase": "Took up the new parent version", "version.settle": "Conflict settled",
    "version.delete": "Draft deleted", "rules.import": "Imported from files", "apikey.create": "API key created",
    "apikey.revoke": "API key revoked", "auth.lockout": "Sign-in locked", "dataset.correct": "Correction imported",
    "dataset.withdraw": "Dataset withdrawn", "publication.publish": "Results published",
    "publication.supersede": "Published results corrected", "dataset.import": "Dataset imported",
    "user.create": "User created", "user.update": "User changed", "user.password": "Password set",
    "user.deactivate": "User deactivated", "user.activate": "User activated",
}


def record(session: Session, actor: Actor, action: str, *, summary: str, scheme: Scheme | None = None,
           version: SchemeVersion | None = None, procuratorate_id: int | None = None, diff: Any = None,
           detail: Any = None, summary_en: str | None = None) -> AuditRecord:
    """Append one record (flushed with the change it describes, in the same transaction). ``summary_en``,
    the summary in English, is kept in ``detail["summary_en"]`` (``detail`` must then be a dict or None)."""
    if scheme is None and version is not None:
        scheme = version.scheme
    if summary_en:
        detail = {**(detail or {}), "summary_en": summary_en[:4200]}
    diff, detail = _bounded(diff), _bounded(detail)
    rec = AuditRecord(
        at=dt.datetime.now(dt.UTC), actor=actor.name[:120], actor_ref=actor.ref[:40], action=action,
        procuratorate_id=procuratorate_id if procuratorate_id is not None else (scheme.procuratorate_id if scheme else None),
        scheme_id=scheme.id if scheme else None, version_id=version.id if version else None,
        summary=summary, diff=diff, detail=detail, ip=(actor.ip or "")[:64], client=(actor.client or "")[:300],
    )
    session.add(rec)
    session.flush()
    return rec


# A record never holds more than this of a diff or a detail: a whole scheme document (itself at most
# rulesvc.schema.limits.MAX_DOCUMENT_BYTES) fits, so deleting a draft still loses nothing.
MAX_RECORD_PART_BYTES = 1_200_000


def _bounded(value: Any) -> Any:
    """``value``, or — if it would take more than :data:`MAX_RECORD_PART_BYTES` — a note of its size and
    hash (the append-only log must not be a way to fill the disk)."""
    if value is None:
        return None
    text = json.dumps(value, ensure_ascii=False, default=str, separators=(",", ":")).encode("utf-8")
    if len(text) <= MAX_RECORD_PART_BYTES:
        return value
    return {"truncated": True, "bytes": len(text), "sha256": hashlib.sha256(text).hexdigest()}


def list_records(session: Session, actor: Actor, *, scheme: str | None = None, version_id: int | None = None,
                 action: str | None = None, actor_name: str | None = None, since: dt.datetime | None = None,
                 until: dt.datetime | None = None, offset: int = 0, limit: int = 50) -> tuple[list[AuditRecord], int]:
    """Records the actor may see (their procuratorates' and below), newest first, one page and the total."""
    if not actor.may("audit"):
        require(actor, "audit", -1)
    q = select(AuditRecord)
    if actor.scope is not None:
        q = q.where(or_(AuditRecord.procuratorate_id.in_(actor.scope),
                        (AuditRecord.procuratorate_id.is_(None)) & (AuditRecord.actor_ref == actor.ref)))
    if scheme:
        q = q.join(Scheme, Scheme.id == AuditRecord.scheme_id).where(Scheme.code == scheme)
    if version_id is not None:
        q = q.where(AuditRecord.version_id == version_id)
    if action:
        q = q.where(AuditRecord.action == action)
    if actor_name:
        q = q.where(AuditRecord.actor == actor_name)
    if since is not None:
        q = q.where(AuditRecord.at >= since)
    if until is not None:
        q = q.where(AuditRecord.at < until)
    total = session.scalar(select(func.count()).select_from(q.subquery())) or 0
    if offset >= total:  # also keeps absurd page numbers away from the database's integer range
        return [], total
    rows = session.scalars(q.order_by(AuditRecord.id.desc()).offset(offset).limit(limit)).all()
    return list(rows), total


def procuratorate_code(session: Session, procuratorate_id: int | None) -> str | None:
    if procuratorate_id is None:
        return None
    return session.scalar(select(Procuratorate.code).where(Procuratorate.id == procuratorate_id))
