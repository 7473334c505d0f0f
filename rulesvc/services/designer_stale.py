"""What others saved to a draft since a form was read (issue 12, page 3): a stale save is refused by the
versions service's ``lock_version`` guard; this reads, from the audit records the saves wrote, who saved, when
and what changed — weights first, then entries by name — so the page can show it beside the kept input."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from rulesvc.persistence.models import AuditRecord, SchemeVersion


def changes_since(session: Session, version: SchemeVersion, lock_version: int, lang: str = "zh") -> list[dict[str, Any]]:
    """What others saved to ``version`` after the counter ``lock_version`` (a stale form's reader): who, when and
    the changed places, from the audit records the saves wrote."""
    rows = session.scalars(select(AuditRecord).where(AuditRecord.version_id == version.id,
                                                     AuditRecord.action == "version.update")
                           .order_by(AuditRecord.id)).all()
    out = []
    for r in rows:
        detail = r.detail if isinstance(r.detail, Mapping) else {}
        if int(detail.get("lock_version") or 0) <= lock_version:
            continue
        out.append({"who": r.actor, "at": r.at, "what": _diff_lines(r.diff, lang)})
    return out


def _diff_lines(diff: Any, lang: str) -> list[str]:
    """A save's structural diff (:func:`rulesvc.engine.docdiff.diff`) as short lines: weights first, then entries
    by name, then sections."""
    if not isinstance(diff, Mapping):
        return []
    zh = lang == "zh"
    lines = [(f"{w.get('name') or w.get('dimension')}权重 {_v(w.get('old'))} → {_v(w.get('new'))}" if zh else
              f"weight of {w.get('name') or w.get('dimension')} {_v(w.get('old'))} → {_v(w.get('new'))}")
             for w in diff.get("weights") or []]
    for coll in ("indicators", "metrics", "adjustments", "vetoes"):
        part = diff.get(coll) or {}
        names = part.get("names") or {}
        for c in part.get("added") or []:
            lines.append(f"{'新增' if zh else 'added'} {names.get(c, c)}")
        for c in part.get("removed") or []:
            lines.append(f"{'删除' if zh else 'removed'} {names.get(c, c)}")
        for c, fields in (part.get("changed") or {}).items():
            for f in fields:
                lines.append(f"{names.get(c, c)}：{f.get('field')} {_v(f.get('old'))} → {_v(f.get('new'))}")
    for section in ("grading", "combination", "participants", "peers"):
        for f in diff.get(section) or []:
            lines.append(f"{section}.{f.get('field')} {_v(f.get('old'))} → {_v(f.get('new'))}")
    return lines[:30]


def _v(x: Any) -> str:
    text = "—" if x is None else (str(x).lower() if isinstance(x, bool) else str(x))
    return text if len(text) <= 80 else text[:77] + "…"
