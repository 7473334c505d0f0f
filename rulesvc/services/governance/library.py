"""Publish the shipped rule library (``rules/schemes``, ``rules/localizations``) into the database.

What a new installation starts from: the provincial templates become version 1 of their schemes and
each localization file becomes a localization of its template, all through the ordinary lifecycle
(create → submit → attach simulation → approve → activate) and so all in the audit log. The author
and the reviewer are two different system actors, so the four-eyes rule holds here too.

The scheme files that are a localization written out in full (``county-910101-localized.yaml``, kept
for ``rulesvc lint`` / ``evaluate`` from files) are skipped: the overrides file with the same code is
what is published. Schemes whose code is already in the database are left alone, so this is safe to
run again.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from rulesvc.engine.dictionary import Dictionary
from rulesvc.persistence.lifecycle import Status
from rulesvc.persistence.models import Scheme, SchemeVersion
from rulesvc.schema.scheme import read_document
from rulesvc.services.governance import versions
from rulesvc.services.governance.access import system_actor

SIMULATION_REFERENCE = "随附规则库：已用演示省 {period} 年数据测评（tests/integration/test_differential_full.py）"


@dataclass
class PublishSummary:
    published: list[str] = field(default_factory=list)  # "CODE v1"
    skipped: list[str] = field(default_factory=list)  # codes already present


def _documents(folder: Path) -> list[tuple[Path, dict[str, Any]]]:
    return [(f, read_document(f.read_text(encoding="utf-8"), source=str(f)))
            for f in sorted(folder.rglob("*.y*ml"))] if folder.is_dir() else []


def _last_closed_year(today: dt.date) -> int:
    return today.year - 1


def publish_library(session: Session, rules_dir: str | Path, dictionary: Dictionary, *,
                    effective_from: dt.date = dt.date(2020, 1, 1), simulated_year: int = 2020,
                    today: dt.date | None = None) -> PublishSummary:
    """Publish every shipped template, then every shipped localization, in force from ``effective_from``.

    The caller commits. Raises the services' errors (e.g. a procuratorate missing from the directory)."""
    rules_dir = Path(rules_dir)
    today = today or dt.date.today()
    year = min(simulated_year, _last_closed_year(today))
    author, reviewer = system_actor("规则库发布"), system_actor("规则库审核")
    summary = PublishSummary()
    localizations = _documents(rules_dir / "localizations")
    local_codes = {doc.get("code") for _, doc in localizations}
    published: dict[str, SchemeVersion] = {}

    def exists(code: str) -> bool:
        return session.scalar(select(Scheme.id).where(Scheme.code == code)) is not None

    def publish(v: SchemeVersion) -> None:
        versions.submit(session, author, v.id, dictionary)
        period = str(year) if v.scheme.period_kind == "year" else f"{year}-12"
        versions.attach_simulation(session, author, v.id, reference=SIMULATION_REFERENCE.format(period=year),
                                   period=period, today=today)
        versions.approve(session, reviewer, v.id, note="随附规则库，首次安装时发布", today=today)
        versions.activate(session, reviewer, v.id, effective_from=effective_from)
        summary.published.append(f"{v.scheme.code} v{v.number}")

    for path, doc in _documents(rules_dir / "schemes"):
        code = str(doc.get("code"))
        if code in local_codes:
            continue
        if exists(code):
            summary.skipped.append(code)
            continue
        v = versions.create_scheme(
            session, author, code=code, name=doc["name"], procuratorate=str(doc["org"]),
            subject_kind=doc["subject"], period_kind=doc["period"], document=doc,
            change_note=f"随附规则库 {path.name}")
        publish(v)
        published[code] = v

    for path, doc in localizations:
        code = str(doc.get("code"))
        if exists(code):
            summary.skipped.append(code)
            continue
        base = (doc.get("base") or {}).get("scheme")
        parent = published.get(str(base)) or _active_version(session, str(base))
        if parent is None:
            continue  # its template is not in this database: nothing to localize
        v = versions.localize(
            session, author, parent_version_id=parent.id, procuratorate=str(doc["org"]), code=code,
            name=doc["name"], overrides=doc.get("overrides") or [], description=doc.get("description", ""),
            change_note=f"随附规则库 {path.relative_to(rules_dir)}")
        publish(v)
    return summary


def _active_version(session: Session, code: str | None) -> SchemeVersion | None:
    if code is None:
        return None
    return session.scalar(select(SchemeVersion).join(Scheme, SchemeVersion.scheme_id == Scheme.id)
                          .where(Scheme.code == code, SchemeVersion.status == Status.ACTIVE.value)
                          .order_by(SchemeVersion.number.desc()).limit(1))
