"""The gate (审核关口): what approval and submission require of simulations and scenarios.

- **Approval** requires a *succeeded* run of exactly the version's content hash, on closed periods that
  had data (a run cannot be asked for otherwise), whose check of the version's regression scenarios
  passes. The version records the run id and result hash. Without a run named, the newest such run is
  taken.
- **Submission** of a version with scenarios requires them to pass: against the newest succeeded run of
  that content covering their periods, else by scoring those periods now (candidate only, nothing saved).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from rulesvc.catalogue import msg
from rulesvc.engine import ENGINE_VERSION
from rulesvc.engine.dictionary import Dictionary
from rulesvc.engine.periods import parse_period
from rulesvc.errors import Conflict, NotFound
from rulesvc.persistence.models import SchemeVersion, SimulationRun, SimulationSubject
from rulesvc.schema.scheme import load_scheme
from rulesvc.services.facts import datasets_in_use, in_use
from rulesvc.services.scoring import compile_cached
from rulesvc.services.simulation import scenarios as sc
from rulesvc.services.simulation.runs import details


def check_run(session: Session, version: SchemeVersion, run: SimulationRun) -> list[dict[str, Any]]:
    """The scenario results of ``version`` against ``run``, or a 409 saying why the run does not do."""
    if run.status != "succeeded":
        _refuse("simulation.gate_not_succeeded", run_id=run.id)
    if run.candidate_hash != version.content_hash:
        _refuse("version.simulation_other_content", run_id=run.id)
    results = check_against_run(session, version.scenarios or [], run)
    failed = sc.failures(results)
    if failed:
        raise Conflict(msg("version.scenarios_failed", count=len(failed)),
                       errors={f"scenarios[{i}]": [_describe(r)] for i, r in enumerate(results) if not r["passed"]},
                       scenario_results=results)
    return results


def check_against_run(session: Session, scenarios: list[dict[str, Any]], run: SimulationRun) -> list[dict[str, Any]]:
    if not scenarios:
        return []
    codes = sorted({s["subject"] for s in scenarios})
    found: dict[tuple[str, str], sc.Result] = {}
    wanted = {(s["period"], s["subject"]) for s in scenarios}
    for period in sorted({p for p, _ in wanted if p in run.periods}):
        detail = details(session, run.id, period, [c for p, c in wanted if p == period])
        for r in session.scalars(select(SimulationSubject).where(
                SimulationSubject.run_id == run.id, SimulationSubject.period == period,
                SimulationSubject.code.in_(codes))):
            found[(period, r.code)] = sc.Result(r.total_c, r.grade_c, detail.get(r.code, (None, None))[0])
    return sc.check(scenarios, list(run.periods), lambda p, c: found.get((p, c)))


def run_for_approval(session: Session, version: SchemeVersion, run_id: int | None) -> tuple[SimulationRun, list]:
    """The run approval rests on: ``run_id``, else the one attached, else the newest that passes."""
    wanted = run_id if run_id is not None else (version.simulation or {}).get("run_id")
    if wanted is not None:
        run = session.get(SimulationRun, wanted)
        if run is None:
            raise NotFound(msg("not_found.simulation", run_id=wanted))
        return run, check_run(session, version, run)
    # The newest run against the default baseline (the version in force) first: a run against another
    # baseline qualifies too (the gate asks that this content was simulated), but is not preferred.
    candidates = sorted(session.scalars(select(SimulationRun).where(
        SimulationRun.candidate_hash == version.content_hash, SimulationRun.status == "succeeded")),
        key=lambda r: (r.baseline_choice != "default", -r.id))
    if not candidates:
        _refuse("version.simulation_required")
    last: Conflict | None = None
    for run in candidates:
        try:
            return run, check_run(session, version, run)
        except Conflict as exc:
            last = exc
    assert last is not None
    raise last


def changed_since(session: Session, run: SimulationRun, dictionary: Dictionary) -> dict[str, Any]:
    """What has changed since ``run`` besides the version's content — the engine (an upgrade), the case data of
    its periods (an import, a correction, a withdrawal) or the data dictionary — as ``{"engine": (then, now),
    "data": True, "dictionary": True}``, empty when nothing has. Approval does not require a new run for these
    (the reviewer approves the rules, and an upgrade would otherwise void every run in review); the workflow card
    says so, that the figures seen may no longer be today's."""
    out: dict[str, Any] = {}
    if run.engine_version != ENGINE_VERSION:
        out["engine"] = (run.engine_version, ENGINE_VERSION)
    plan = in_use(session)
    now: set[tuple[int, str]] = set()
    for label in run.periods:
        p = parse_period(label)
        now.update(datasets_in_use(session, p.start, p.end, plan.datasets))
    if now != {(int(i), str(h)) for i, h in run.datasets}:
        out["data"] = True
    if run.dictionary_hash != dictionary.content_hash:
        out["dictionary"] = True
    return out


def record(version: SchemeVersion, run: SimulationRun, results: list[dict[str, Any]], by: str, at: str) -> dict[str, Any]:
    """What the version keeps of the run its approval rests on."""
    return {"run_id": run.id, "run_hash": run.run_hash, "result_hash": run.result_hash, "periods": list(run.periods),
            "content_hash": version.content_hash, "baseline_hash": run.baseline_hash,
            "scenarios": {"count": len(results), "passed": sum(1 for r in results if r["passed"])},
            "attached_by": by, "attached_at": at}


def scenarios_at_submit(session: Session, version: SchemeVersion, resolved: dict[str, Any], content_hash: str,
                        dictionary: Dictionary) -> None:
    """Refuse (409, listing them) a submission whose scenarios fail."""
    scenarios = version.scenarios or []
    if not scenarios:
        return
    runs = list(session.scalars(select(SimulationRun).where(
        SimulationRun.candidate_hash == content_hash, SimulationRun.status == "succeeded")
        .order_by(SimulationRun.id.desc())))
    wanted = {s["period"] for s in scenarios}
    for run in runs:
        if wanted <= set(run.periods):
            results = check_against_run(session, scenarios, run)
            break
    else:
        results = _score_now(session, version, resolved, dictionary, scenarios)
    failed = sc.failures(results)
    if failed:
        raise Conflict(msg("version.scenarios_failed", count=len(failed)),
                       errors={f"scenarios[{i}]": [_describe(r)] for i, r in enumerate(results) if not r["passed"]},
                       scenario_results=results)


def _score_now(session: Session, version: SchemeVersion, resolved: dict[str, Any], dictionary: Dictionary,
               scenarios: list[dict[str, Any]]) -> list[dict[str, Any]]:
    from rulesvc.services.simulation.execute import (
        check_scenarios,
        db_loader,
        labels_for,
        scored_columns,
        simulate,
    )
    from rulesvc.services.simulation.spec import parse_options

    compiled = compile_cached(load_scheme(resolved), dictionary)
    periods = sorted({parse_period(s["period"]) for s in scenarios}, key=lambda p: (p.start, p.end))
    scheme = version.scheme
    load = db_loader(session, dictionary, list(in_use(session).datasets), scheme.subject_kind,
                     scheme.procuratorate.code, columns=scored_columns(compiled, None))
    outcome = simulate(compiled, None, periods, load, labels_for(session, dictionary), parse_options(None))
    return check_scenarios(scenarios, outcome)


def _describe(result: dict[str, Any]) -> str:
    if result.get("message"):
        return f"{result['subject']} {result['period']}：{result['message']}"
    bad = [c for c in result["checks"] if not c["passed"]]
    parts = [msg("scenario.mismatch", what=c["what"], expected=c["expected"], actual=c["actual"]).render()
             for c in bad]
    return f"{result['subject']} {result['period']}：" + "；".join(parts)


def _refuse(code: str, **params: Any) -> None:
    raise Conflict(msg(code, **params), errors={"simulation": [msg(code, **params)]})


__all__ = ["check_run", "record", "run_for_approval", "scenarios_at_submit"]
