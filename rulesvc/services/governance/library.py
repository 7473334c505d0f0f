"""Publish the shipped rule library (``rules/schemes``, ``rules/localizations``) into the database.

What a new installation starts from: the provincial templates become version 1 of their schemes and
each localization file becomes a localization of its template, all through the ordinary lifecycle
(create → submit → a real simulation run (模拟测评) on the demo year → approve on it → activate) and so
all in the audit log. The author and the reviewer are two different system actors, so the four-eyes
rule holds here too. Without data for that year nothing can be simulated, so nothing can be approved:
the versions are left in review (``pending``) and a later run of this function, once data is
imported, takes them the rest of the way.

Revisions (``rules/revisions/<SCHEME>/v<N>.overrides.yaml``: overrides of the template's newest
published version, with reasons and a change note) become a new version of that scheme, submitted and
simulated against the version in force, and left **in review** for a person to approve — the worked
example of the simulate-then-refine loop a new installation shows.

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

from rulesvc.engine import localize as loc
from rulesvc.engine.dictionary import Dictionary
from rulesvc.errors import InvalidInput
from rulesvc.persistence.lifecycle import Status
from rulesvc.persistence.models import Scheme, SchemeVersion, SimulationRun
from rulesvc.schema.scheme import read_document
from rulesvc.services import localtime
from rulesvc.services.governance import versions
from rulesvc.services.governance.access import system_actor
from rulesvc.services.simulation import runs
from rulesvc.services.simulation.execute import Settings, run_here


@dataclass
class PublishSummary:
    published: list[str] = field(default_factory=list)  # "CODE v1"
    skipped: list[str] = field(default_factory=list)  # codes already present
    pending: list[str] = field(default_factory=list)  # "CODE v1" left in review: no data to simulate on
    in_review: list[str] = field(default_factory=list)  # revisions simulated and waiting for a reviewer


def _documents(folder: Path) -> list[tuple[Path, dict[str, Any]]]:
    return [(f, read_document(f.read_text(encoding="utf-8"), source=str(f)))
            for f in sorted(folder.rglob("*.y*ml"))] if folder.is_dir() else []


def _last_closed_year(today: dt.date) -> int:
    return today.year - 1


def publish_library(session: Session, rules_dir: str | Path, dictionary: Dictionary, settings: Settings, *,
                    effective_from: dt.date = dt.date(2020, 1, 1), simulated_year: int = 2020,
                    today: dt.date | None = None) -> PublishSummary:
    """Publish every shipped template, then every shipped localization, in force from ``effective_from``.

    The caller commits. Raises the services' errors (e.g. a procuratorate missing from the directory)."""
    rules_dir = Path(rules_dir)
    today = today or localtime.today()
    year = min(simulated_year, _last_closed_year(today))
    author, reviewer = system_actor("规则库发布"), system_actor("规则库审核")
    summary = PublishSummary()
    localizations = _documents(rules_dir / "localizations")

    def resume(code: str) -> None:
        """A scheme already here: left in review for want of data last time? Then finish it now."""
        scheme = session.scalar(select(Scheme).where(Scheme.code == code))
        waiting = [v for v in scheme.versions if v.status == Status.IN_REVIEW and v.number == 1] if scheme else []
        if waiting and waiting[0].author == author.name:
            publish(waiting[0])
        else:
            summary.skipped.append(code)

    def revise(path: Path, doc: dict[str, Any]) -> None:
        code = str((doc.get("base") or {}).get("scheme"))
        number = _revision_number(path)
        scheme = session.scalar(select(Scheme).where(Scheme.code == code))
        if scheme is None or number is None or any(v.number >= number for v in scheme.versions):
            return
        parent = _active_version(session, code)
        if parent is None or parent.resolved is None:
            return
        ident = versions.identity_of(scheme, parent.resolved)
        resolved = loc.resolve(parent.resolved, doc.get("overrides") or [], ident)
        draft = versions.create_draft(session, author, code, document=resolved,
                                      change_note=str(doc.get("change_note") or f"随附规则库 {path.name}"))
        versions.submit(session, author, draft.id, dictionary)
        run = simulate(draft)
        if run is not None:
            versions.attach_simulation(session, author, draft.id, run_id=run.id)
        summary.in_review.append(f"{code} v{draft.number}")
    local_codes = {doc.get("code") for _, doc in localizations}
    published: dict[str, SchemeVersion] = {}

    def exists(code: str) -> bool:
        return session.scalar(select(Scheme.id).where(Scheme.code == code)) is not None

    def simulate(v: SchemeVersion) -> SimulationRun | None:
        """A real run of ``v`` against the version in force, on the demo year; None without data."""
        try:
            asked = runs.create_run(session, author, dictionary, candidate_version_id=v.id, periods=[str(year)],
                                    baseline="default", mode="inline", today=today)
        except InvalidInput as exc:
            if exc.error_code == "simulation.no_data":
                return None
            raise
        if asked.run.status == "queued":
            run_here(session, asked.run, settings)
        return asked.run

    def publish(v: SchemeVersion) -> None:
        if v.status == Status.DRAFT:
            versions.submit(session, author, v.id, dictionary)
        run = simulate(v)
        if run is None:
            summary.pending.append(f"{v.scheme.code} v{v.number}")
            return
        versions.approve(session, reviewer, v.id, note="随附规则库，首次安装时发布", run_id=run.id)
        versions.activate(session, reviewer, v.id, effective_from=effective_from)
        summary.published.append(f"{v.scheme.code} v{v.number}")

    for path, doc in _documents(rules_dir / "schemes"):
        code = str(doc.get("code"))
        if code in local_codes:
            continue
        if exists(code):
            resume(code)
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
            resume(code)
            continue
        base = (doc.get("base") or {}).get("scheme")
        parent = published.get(str(base)) or _active_version(session, str(base))
        if parent is None or parent.status != Status.ACTIVE:
            continue  # its template is not in this database, or waits in review for data: nothing to localize yet
        v = versions.localize(
            session, author, parent_version_id=parent.id, procuratorate=str(doc["org"]), code=code,
            name=doc["name"], overrides=doc.get("overrides") or [], description=doc.get("description", ""),
            change_note=f"随附规则库 {path.relative_to(rules_dir)}")
        publish(v)
    for path, doc in _documents(rules_dir / "revisions"):
        revise(path, doc)
    return summary


def _revision_number(path: Path) -> int | None:
    """``v2.overrides.yaml`` → 2."""
    head = path.name.split(".", 1)[0]
    return int(head[1:]) if head[:1] == "v" and head[1:].isdigit() else None


def _active_version(session: Session, code: str | None) -> SchemeVersion | None:
    if code is None:
        return None
    return session.scalar(select(SchemeVersion).join(Scheme, SchemeVersion.scheme_id == Scheme.id)
                          .where(Scheme.code == code, SchemeVersion.status == Status.ACTIVE.value)
                          .order_by(SchemeVersion.number.desc()).limit(1))
