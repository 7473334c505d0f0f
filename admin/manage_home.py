"""Page 13, the home page's 待办 (what needs the person's attention), read through the services:

- **drafts with lint errors** — the drafts of the person's tree (theirs first) that the editor would flag with
  errors (:func:`rulesvc.services.designer_edit.findings_of`, kept by content hash), for those who may edit;
- **versions waiting for their review** — in review, in their tree, to which they did not contribute (four eyes:
  :func:`rulesvc.services.governance.contributors.roles_of`), for those who may review;
- **simulations finished recently** — runs of their tree (:func:`rulesvc.services.simulation.runs.list_runs`)
  that succeeded or failed in the last :data:`RECENT_DAYS` days, theirs first;
- **localizations drifting** — their localizations whose newest version rests on a template version that a
  newer published (approved or active) template version has since replaced.

Nothing here is a rule of its own: each item is what the services answer for that person.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from rulesvc.engine.dictionary import Dictionary
from rulesvc.errors import InvalidInput
from rulesvc.persistence import lifecycle
from rulesvc.persistence.models import Scheme, SchemeVersion, SimulationRun, utcnow
from rulesvc.services.designer_edit import findings_of
from rulesvc.services.governance import contributors, versions
from rulesvc.services.governance.access import Actor
from rulesvc.services.simulation.runs import list_runs

RECENT_DAYS = 14
MAX_ITEMS = 8


@dataclass(frozen=True)
class VersionItem:
    code: str
    number: int
    name: str
    procuratorate: str
    mine: bool = False
    errors: int = 0
    note: str = ""
    when: dt.datetime | None = None
    has_simulation: bool = False


@dataclass(frozen=True)
class RunItem:
    run_id: int
    code: str
    number: int | None
    name: str
    status: str
    finished_at: dt.datetime | None
    mine: bool
    subjects: int
    kind: str = "prosecutor"  # who the scheme scores: prosecutor | procuratorate


@dataclass(frozen=True)
class DriftItem:
    code: str
    number: int
    name: str
    parent_code: str
    parent_number: int
    newer_number: int
    newer_status: str
    newer_from: dt.date | None = None  # the newer version's start when it is active (perhaps still to come)


@dataclass
class Attention:
    drafts: list[VersionItem] = field(default_factory=list)
    reviews: list[VersionItem] = field(default_factory=list)
    golive: list[VersionItem] = field(default_factory=list)  # approved, waiting for a date (those who activate)
    runs: list[RunItem] = field(default_factory=list)
    drifts: list[DriftItem] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not (self.drafts or self.reviews or self.golive or self.runs or self.drifts)


def attention(session: Session, actor: Actor, dictionary: Callable[[], Dictionary], *, lang: str = "zh") -> Attention:
    """What needs ``actor``'s attention, each list at most :data:`MAX_ITEMS` long. ``dictionary`` is asked for
    only when there is a draft to check (reading it is the first request's slowest part)."""
    out = Attention()
    if not actor.may("read"):
        return out
    own = [s for s in versions.list_schemes(session, actor) if actor.in_scope(s.procuratorate_id)]
    if actor.may("edit"):
        out.drafts = _drafts(own, actor, dictionary, lang)
    if actor.may("review"):
        out.reviews = _reviews(session, own, actor)
    if actor.may("activate"):
        # Approved and not yet given a date (a go-live taken back among them): the schemes page lists them too.
        out.golive = sorted((VersionItem(s.code, v.number, s.name, s.procuratorate.name, note=v.change_note or "",
                                         when=v.reviewed_at) for s in own for v in s.versions
                             if v.status == lifecycle.Status.APPROVED),
                            key=lambda i: (i.when or dt.datetime.min.replace(tzinfo=dt.UTC)))[:MAX_ITEMS]
    out.runs = _runs(session, actor)
    out.drifts = _drifts(own)
    return out


def _mine(actor: Actor, v: SchemeVersion) -> bool:
    return v.author_ref in (actor.ref, actor.person)


def _drafts(schemes: list[Scheme], actor: Actor, dictionary: Callable[[], Dictionary], lang: str) -> list[VersionItem]:
    items = []
    for s in schemes:
        for v in s.versions:
            if v.status != lifecycle.Status.DRAFT:
                continue
            try:
                found = findings_of(versions.resolve(v), dictionary(), lang)
                errors = sum(1 for fs in found.values() for f in fs if f.level == "error")
            except InvalidInput:  # its changes no longer apply to its parent: the editor says why
                errors = 1
            if errors:
                items.append(VersionItem(s.code, v.number, s.name, s.procuratorate.name, mine=_mine(actor, v),
                                         errors=errors, note=v.change_note or "", when=v.updated_at))
    items.sort(key=lambda i: (not i.mine, i.code, i.number))
    return items[:MAX_ITEMS]


def _reviews(session: Session, schemes: list[Scheme], actor: Actor) -> list[VersionItem]:
    items = []
    waiting = [(s, v) for s in schemes for v in s.versions
               if v.status == lifecycle.Status.IN_REVIEW and not contributors.roles_of(session, v, actor.person)]
    # Simulated: a run attached, or a succeeded run of exactly this content (what approval takes: the gate)
    simulated = set(session.scalars(select(SimulationRun.candidate_hash).where(
        SimulationRun.status == "succeeded",
        SimulationRun.candidate_hash.in_([v.content_hash for _, v in waiting if v.content_hash])))) if waiting else set()
    for s, v in waiting:
        items.append(VersionItem(s.code, v.number, s.name, s.procuratorate.name, note=v.change_note or "",
                                 when=v.submitted_at,
                                 has_simulation=bool(v.simulation) or v.content_hash in simulated))
    items.sort(key=lambda i: (i.when or dt.datetime.min.replace(tzinfo=dt.UTC)))
    return items[:MAX_ITEMS]


def _runs(session: Session, actor: Actor) -> list[RunItem]:
    runs, _ = list_runs(session, actor, page_size=40)
    since = utcnow() - dt.timedelta(days=RECENT_DAYS)
    items = []
    for r in runs:
        finished = r.finished_at if r.finished_at is None or r.finished_at.tzinfo else r.finished_at.replace(tzinfo=dt.UTC)
        if r.status not in ("succeeded", "failed") or finished is None or finished < since:
            continue
        items.append(RunItem(r.id, r.scheme.code, r.candidate.number if r.candidate is not None else None, r.scheme.name,
                             r.status, finished, r.created_by_ref in (actor.ref, actor.person), r.subjects_count,
                             r.scheme.subject_kind))
    items.sort(key=lambda i: (not i.mine, -(i.finished_at.timestamp() if i.finished_at else 0)))
    return items[:MAX_ITEMS]


def _drifts(schemes: list[Scheme]) -> list[DriftItem]:
    items = []
    for s in schemes:
        live = [v for v in s.versions if v.parent_id is not None and v.status != lifecycle.Status.RETIRED]
        if not live:
            continue
        v = live[-1]
        parent = v.parent
        assert parent is not None
        newer = [p for p in parent.scheme.versions
                 if p.number > parent.number and p.status in (lifecycle.Status.APPROVED, lifecycle.Status.ACTIVE)]
        if newer:
            items.append(DriftItem(s.code, v.number, s.name, parent.scheme.code, parent.number, newer[-1].number,
                                   newer[-1].status, newer[-1].effective_from if newer[-1].status == "active" else None))
    return items[:MAX_ITEMS]
