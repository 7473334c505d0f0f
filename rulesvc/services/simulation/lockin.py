"""Lock a run's results in as regression scenarios of its candidate, in one call (as test suites of
rule products are built: run, look, accept what is right, keep it as the expectation).

The candidate must still be a draft whose content is the one the run scored (else the results would
be another content's). Named subjects and/or the top N risers and fallers; the expectation covers the
total, the grade and/or every scored indicator's points, within a tolerance. A scenario of the same
subject and period is replaced.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from rulesvc.catalogue import msg
from rulesvc.errors import Conflict, InvalidInput
from rulesvc.persistence.models import SchemeVersion, SimulationSubject
from rulesvc.schema.scheme import content_hash
from rulesvc.services.governance import versions
from rulesvc.services.governance.access import Actor
from rulesvc.services.simulation import runs
from rulesvc.services.simulation.scenarios import indicator_points


def lock_in(session: Session, actor: Actor, run_id: int, *, subjects: Sequence[str] = (), movers: int = 0,
            period: str | None = None, expect: Sequence[str] = ("total", "grade"), tolerance: float = 0.005,
            lock_version: int | None = None) -> SchemeVersion:
    run = runs.get_run(session, actor, run_id)
    runs.require_succeeded(run)
    period = runs._period_of(run, period)
    v = run.candidate
    if v is None:
        raise Conflict(msg("simulation.lockin_no_draft"), errors={"candidate": [msg("simulation.lockin_no_draft")]})
    if content_hash(versions.resolve(v)) != run.candidate_hash:
        raise Conflict(msg("simulation.lockin_stale", number=v.number),
                       errors={"candidate": [msg("simulation.lockin_stale", number=v.number)]})
    codes = list(dict.fromkeys(s.strip() for s in subjects if s.strip()))
    if movers:
        codes += [c for c in _movers(session, run.id, period, movers) if c not in codes]
    if not codes:
        raise InvalidInput(msg("scenario.lock_nothing"), errors={"subjects": [msg("scenario.lock_nothing")]})
    rows = {r.code: r for r in session.scalars(select(SimulationSubject).where(
        SimulationSubject.run_id == run.id, SimulationSubject.period == period, SimulationSubject.code.in_(codes)))}
    missing = [c for c in codes if c not in rows or rows[c].total_c is None]
    if missing:
        raise InvalidInput(msg("simulation.lockin_missing", codes="、".join(missing[:20]), period=period),
                           errors={"subjects": [msg("simulation.lockin_missing", codes="、".join(missing[:20]),
                                                    period=period)]})
    found = runs.details(session, run.id, period, codes) if "indicators" in expect else {}
    new = [_scenario(rows[c], found.get(c, (None, None))[0], period, expect, tolerance, run.id) for c in codes]
    replaced = {(s["subject"], s["period"]) for s in new}
    kept = [s for s in (v.scenarios or []) if (s["subject"], s["period"]) not in replaced]
    return versions.set_scenarios(session, actor, v.id, lock_version=lock_version or v.lock_version,
                                  scenarios=kept + new)


def _movers(session: Session, run_id: int, period: str, n: int) -> list[str]:
    base = select(SimulationSubject.code).where(SimulationSubject.run_id == run_id, SimulationSubject.period == period)
    up = session.scalars(base.where(SimulationSubject.delta_total > 0)
                         .order_by(SimulationSubject.delta_total.desc(), SimulationSubject.code).limit(n))
    down = session.scalars(base.where(SimulationSubject.delta_total < 0)
                           .order_by(SimulationSubject.delta_total.asc(), SimulationSubject.code).limit(n))
    return [*up, *down]


def _scenario(row: SimulationSubject, detail: str | None, period: str, expect: Sequence[str], tolerance: float,
              run_id: int) -> dict[str, Any]:
    expected: dict[str, Any] = {}
    if "total" in expect and row.total_c is not None:
        expected["total"] = row.total_c
    if "grade" in expect and row.grade_c:
        expected["grade"] = row.grade_c
    if "indicators" in expect:
        points = {k: p for k, p in indicator_points(detail).items() if p is not None}
        if points:
            expected["indicators"] = points
    return {"subject": row.code, "period": period, "expected": expected, "tolerance": tolerance,
            "note": f"锁定自模拟测评 #{run_id}（{row.name}）"}


__all__ = ["lock_in"]
