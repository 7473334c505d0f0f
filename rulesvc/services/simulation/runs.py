"""Simulation runs (模拟测评) as records: ask for one, read it, list them, cancel one, read its results.

A run compares a *candidate* version with a *baseline* over closed periods, on the datasets in use when
it was asked for (recorded by id and content hash) and the candidate scheme's subjects. Its identity is
the hash of every input (:class:`~rulesvc.services.simulation.spec.Identity`): asking again for the same
inputs returns the run already there (queued, running or done); a failed or cancelled run is queued
again in place. Running it is :mod:`rulesvc.services.simulation.execute`'s job, in a worker or a
thread (:mod:`rulesvc.services.simulation.jobs`); nothing here computes scores.

The baseline, unless named: the version of the candidate's scheme in force on the first day of the
first period; when there is none (a first localization), the version of the parent scheme in force
then; else no baseline (the report then shows the candidate alone). ``baseline="none"`` asks for none.

Permissions: reading a run needs *read* on the candidate scheme's procuratorate (the caller's tree);
starting or cancelling one needs *edit* there. Functions flush, never commit.

The audit log: a run asked for and created (or queued again) is recorded (``simulation.create``, with
the scheme, the candidate version, the baseline and the periods), as is a cancellation
(``simulation.cancel``); asking for a run that is already there records nothing.
"""

from __future__ import annotations

import datetime as dt
import gzip
import hashlib
import io
import json
import os
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import polars as pl
from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from rulesvc.catalogue import Words, msg
from rulesvc.engine import ENGINE_VERSION
from rulesvc.engine.dictionary import Dictionary
from rulesvc.engine.periods import Period
from rulesvc.engine.simreport import why_moved
from rulesvc.errors import Conflict, InvalidInput, NotFound, PermissionDenied, TooBusy
from rulesvc.persistence import lifecycle
from rulesvc.persistence.models import (
    SIMULATION_STATUS_LABELS,
    SIMULATION_STATUS_LABELS_EN,
    ProsecutorPost,
    Scheme,
    SchemeVersion,
    SimulationDetail,
    SimulationRun,
    SimulationSubject,
    utcnow,
)
from rulesvc.schema.scheme import content_hash
from rulesvc.services.facts import datasets_in_use, in_use
from rulesvc.services.governance import audit, versions
from rulesvc.services.governance.access import Actor, require, require_read
from rulesvc.services.scoring import subjects_for
from rulesvc.services.simulation.spec import Identity, parse_options, parse_periods

FINISHED = ("succeeded", "failed", "cancelled")
ACTIVE = ("queued", "running")
MAX_OPEN_PER_PERSON = 4  # runs queued or running at once, per person (a key counts as its owner)
SORTS = {"delta_total": SimulationSubject.delta_total, "delta_rank": SimulationSubject.delta_rank,
         "grade_move": SimulationSubject.grade_move, "total_c": SimulationSubject.total_c,
         "total_b": SimulationSubject.total_b, "rank_c": SimulationSubject.rank_c,
         "rank_b": SimulationSubject.rank_b, "code": SimulationSubject.code}


def stale_after() -> float:
    """Seconds without a heartbeat after which a running run is taken for dead (its process was killed)."""
    try:
        return max(2.0, float(os.environ.get("RULESVC_SIMULATION_STALE_SECONDS", "60")))
    except ValueError:
        return 60.0


# -- asking for a run --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Asked:
    run: SimulationRun
    created: bool  # False: an identical run was already queued, running or done

    @property
    def needs_dispatch(self) -> bool:
        return self.created and self.run.status == "queued"


def create_run(session: Session, actor: Actor, dictionary: Dictionary, *, candidate_version_id: int,
               periods: Sequence[str] | str, baseline: int | str | None = "default",
               options: dict[str, Any] | None = None, mode: str = "thread",
               today: dt.date | None = None, audited: bool = True) -> Asked:
    """Ask for a run of ``candidate_version_id`` (any status) against ``baseline`` (a version id, or
    ``"default"``, or ``"none"``/None) on ``periods``. Checks everything before anything is written.

    A run created (or queued again) is recorded in the audit log, unless ``audited`` is false: then the
    caller records it with :func:`record_start` once the run is really under way
    (:func:`rulesvc.services.simulation.ask`, after handing it to the runner)."""
    candidate = versions.get_version(session, actor, candidate_version_id)
    require(actor, "edit", candidate.scheme.procuratorate_id, what=Words(f"方案 {candidate.scheme.code}", f"Scheme {candidate.scheme.code}"))
    errors: dict[str, list[Any]] = {}
    try:
        chosen = parse_periods(periods, today=today)
    except InvalidInput as exc:
        errors.update(exc.errors or {})
        chosen = []
    try:
        opts = parse_options(options)
    except InvalidInput as exc:
        errors.update(exc.errors or {})
        opts = {}
    if errors:  # what the request says is wrong, at once, before any document is checked
        raise InvalidInput(msg("simulation.invalid"), errors=errors)
    cand_doc = _scorable(candidate, dictionary, "candidate")
    base_version, choice = _baseline(session, actor, candidate, baseline, chosen, errors)
    base_doc = _scorable(base_version, dictionary, "baseline") if base_version is not None else None
    if errors:
        raise InvalidInput(msg("simulation.invalid"), errors=errors)
    plan = in_use(session)
    used: set[tuple[int, str]] = set()
    empty = []
    for p in chosen:
        found = datasets_in_use(session, p.start, p.end, plan.datasets)
        if not found:
            empty.append(p.label)
        used.update(found)
    if empty:
        raise InvalidInput(msg("simulation.no_data", periods="、".join(empty)),
                           errors={"periods": [msg("simulation.no_data", periods="、".join(empty))]})
    scheme = candidate.scheme
    subjects = subjects_for(session, scheme.subject_kind, scheme.procuratorate.code)
    if scheme.subject_kind == "prosecutor" and session.scalar(select(ProsecutorPost.id).limit(1)) is not None:
        # someone moved (a former post kept): who is where differs by period — the identity holds each period's
        subjects = pl.concat([subjects, *(subjects_for(session, "prosecutor", scheme.procuratorate.code, p.end)
                                          for p in chosen)])
    identity = Identity(
        candidate_hash=content_hash(cand_doc), baseline_hash=content_hash(base_doc) if base_doc else None,
        periods=tuple(p.label for p in chosen), datasets=tuple(sorted(used)), subjects_hash=frame_hash(subjects),
        dictionary_hash=dictionary.content_hash, engine_version=ENGINE_VERSION, options=tuple(sorted(opts.items())))
    existing = session.scalar(select(SimulationRun).where(SimulationRun.run_hash == identity.run_hash))
    if existing is not None:
        asked = _again(session, existing, mode)
        if asked.created and audited:
            record_start(session, actor, asked.run)
        return asked
    # One person's runs under way are bounded: the workers are the whole province's (an audit queued 40 runs,
    # each option value a new one, and held up everyone else's for minutes).
    under_way = session.scalar(select(func.count()).select_from(SimulationRun).where(
        SimulationRun.created_by_ref == actor.person, SimulationRun.status.in_(ACTIVE))) or 0
    if under_way >= MAX_OPEN_PER_PERSON:
        raise TooBusy(msg("simulation.too_many_open", count=under_way, limit=MAX_OPEN_PER_PERSON))
    run = SimulationRun(
        run_hash=identity.run_hash, procuratorate_id=scheme.procuratorate_id, scheme_id=scheme.id,
        candidate_version_id=candidate.id, baseline_version_id=base_version.id if base_version else None,
        documents={"candidate": cand_doc, "baseline": base_doc}, candidate_hash=identity.candidate_hash,
        baseline_hash=identity.baseline_hash, baseline_choice=choice, periods=list(identity.periods),
        datasets=[list(d) for d in identity.datasets], dictionary_hash=identity.dictionary_hash,
        engine_version=ENGINE_VERSION, options=opts, status="queued", phase="queued", percent=0,
        cancel_requested=False, error="", error_code="", attempts=0, job_id=mode, subjects_count=0,
        created_by=actor.name, created_by_ref=actor.person, created_at=utcnow())
    try:
        with session.begin_nested():
            session.add(run)
            session.flush()
    except IntegrityError:  # the same run asked for at the same moment: theirs stands
        found = session.scalar(select(SimulationRun).where(SimulationRun.run_hash == identity.run_hash))
        if found is None:
            raise
        return Asked(found, False)
    if audited:
        record_start(session, actor, run)
    return Asked(run, True)


def _named(v: SchemeVersion | None) -> tuple[str, str]:
    """A version as the audit log names it: (Chinese, English)."""
    if v is None:
        return "无", "no baseline"
    return f"{v.scheme.code} 第 {v.number} 版", f"{v.scheme.code} v{v.number}"


def record_start(session: Session, actor: Actor, run: SimulationRun) -> None:
    """The audit record of a run asked for (``simulation.create``): the candidate, the baseline, the periods."""
    candidate, candidate_en = _named(run.candidate)
    baseline, baseline_en = _named(run.baseline)
    summary = msg("simulation.started", run_id=run.id, candidate=candidate, candidate_en=candidate_en,
                  baseline=baseline, baseline_en=baseline_en, periods=list(run.periods))
    audit.record(session, actor, "simulation.create", scheme=run.scheme, version=run.candidate,
                 procuratorate_id=run.procuratorate_id, summary=summary.render("zh"), summary_en=summary.render("en"),
                 detail={"run_id": run.id, "run_hash": run.run_hash, "periods": list(run.periods),
                         "baseline_version_id": run.baseline_version_id, "baseline_choice": run.baseline_choice,
                         "options": run.options, "runner": run.job_id})


def _again(session: Session, run: SimulationRun, mode: str) -> Asked:
    reap_stale(session, [run])
    if run.status in FINISHED and run.status != "succeeded":  # failed or cancelled: try again in place
        run.status, run.phase, run.percent, run.cancel_requested = "queued", "queued", 0, False
        run.error, run.error_code, run.job_id = "", "", mode
        run.started_at = run.finished_at = run.heartbeat_at = None
        run.created_at = utcnow()
        session.flush()
        return Asked(run, True)
    return Asked(run, False)


def _scorable(v: SchemeVersion, dictionary: Dictionary, field: str) -> dict[str, Any]:
    """The resolved document of ``v``, checked as submitting would (structure and lint errors: 422)."""
    try:
        doc = versions.resolve(v)
        versions.check_resolved(v.scheme, doc, dictionary)
    except InvalidInput as exc:
        raise InvalidInput(msg("simulation.version_invalid", number=v.number, code=v.scheme.code),
                           errors={field: exc.rendered_errors() if exc.errors else [exc.message]}) from None
    return doc


def _baseline(session: Session, actor: Actor, candidate: SchemeVersion, baseline: int | str | None,
              periods: list[Period], errors: dict[str, list[Any]]) -> tuple[SchemeVersion | None, str]:
    if baseline is None or baseline == "none":
        return None, "none"
    if baseline == "default":
        if not periods:
            return None, "default"
        return default_baseline(session, candidate, periods[0].start), "default"
    if not isinstance(baseline, int) or isinstance(baseline, bool):
        errors["baseline"] = [msg("simulation.baseline_bad")]
        return None, "explicit"
    try:
        v = versions.get_version(session, actor, baseline)
    except NotFound:
        errors["baseline"] = [msg("not_found.version", version_id=baseline)]
        return None, "explicit"
    if v.id == candidate.id:
        errors["baseline"] = [msg("simulation.baseline_self")]
        return None, "explicit"
    if v.scheme.subject_kind != candidate.scheme.subject_kind:
        errors["baseline"] = [msg("simulation.baseline_kind", kind=v.scheme.subject_kind,
                                  expected=candidate.scheme.subject_kind)]
        return None, "explicit"
    return v, "explicit"


def default_baseline(session: Session, candidate: SchemeVersion, on: dt.date) -> SchemeVersion | None:
    """The version of the candidate's scheme in force on ``on`` (not the candidate itself); else, for a
    localization, the version of its parent's scheme in force then; else None."""
    def in_force(scheme_id: int) -> SchemeVersion | None:
        rows = session.scalars(select(SchemeVersion).where(
            SchemeVersion.scheme_id == scheme_id, SchemeVersion.status.in_(sorted(s.value for s in lifecycle.IN_FORCE_CAPABLE)),
            SchemeVersion.effective_from <= on).order_by(SchemeVersion.number.desc()))
        for v in rows:
            if v.effective_to is None or on <= v.effective_to:
                return v
        return None

    own = in_force(candidate.scheme_id)
    if own is not None and own.id != candidate.id:
        return own
    if candidate.parent is not None:
        return in_force(candidate.parent.scheme_id)
    return None


def frame_hash(frame: pl.DataFrame) -> str:
    """A stable hash of a frame's content (who is scored, with every attribute scoring reads)."""
    key = frame.columns[0]
    return hashlib.sha256(frame.sort(key).write_csv().encode("utf-8")).hexdigest()


# -- reading -----------------------------------------------------------------------------------------


def get_run(session: Session, actor: Actor, run_id: int) -> SimulationRun:
    run = session.get(SimulationRun, run_id)
    if run is None:
        raise NotFound(msg("not_found.simulation", run_id=run_id))
    if not actor.in_scope(run.procuratorate_id):
        raise NotFound(msg("not_found.simulation", run_id=run_id))
    require_read(actor, run.procuratorate_id, what=Words(f"模拟测评 {run_id}", f"Simulation {run_id}"))
    reap_stale(session, [run])
    return run


def list_runs(session: Session, actor: Actor, *, scheme: str | None = None, version_id: int | None = None,
              status: str | None = None, page: int = 1, page_size: int = 20) -> tuple[list[SimulationRun], int]:
    """Runs in the caller's tree, newest first."""
    if not actor.may("read"):
        raise PermissionDenied(msg("permission.action", action="查看", action_en="read", name=actor.said),
                               errors={"permission": ["read"]})
    q = select(SimulationRun)
    if actor.scope is not None:
        q = q.where(SimulationRun.procuratorate_id.in_(sorted(actor.scope)))
    if scheme:
        q = q.join(Scheme, Scheme.id == SimulationRun.scheme_id).where(Scheme.code == scheme)
    if version_id is not None:
        q = q.where((SimulationRun.candidate_version_id == version_id)
                    | (SimulationRun.baseline_version_id == version_id))
    if status:
        q = q.where(SimulationRun.status == status)
    total = session.scalar(select(func.count()).select_from(q.subquery())) or 0
    if (page - 1) * page_size >= total:  # also keeps absurd page numbers away from the database's integer range
        return [], total
    runs = list(session.scalars(q.order_by(SimulationRun.id.desc()).offset((page - 1) * page_size).limit(page_size)))
    reap_stale(session, runs)
    return runs, total


def reap_stale(session: Session, runs: Sequence[SimulationRun]) -> None:
    """A running run whose process stopped beating (killed), or a queued run of the embedded runner that
    never started (the service stopped), is failed with the reason — and may be asked for again."""
    now = utcnow()
    limit = dt.timedelta(seconds=stale_after())
    for run in runs:
        beat = _aware(run.heartbeat_at or run.started_at)
        if run.status == "running" and (beat is None or now - beat > limit):
            _fail(session, run, "simulation.interrupted", now)
        elif run.status == "queued" and run.job_id == "thread" and now - (_aware(run.created_at) or now) > 2 * limit:
            _fail(session, run, "simulation.not_started", now)


def _aware(t: dt.datetime | None) -> dt.datetime | None:
    return t.replace(tzinfo=dt.UTC) if t is not None and t.tzinfo is None else t


def _fail(session: Session, run: SimulationRun, code: str, now: dt.datetime) -> None:
    # Conditional: only if still in the state we saw (the process may have finished meanwhile).
    done = session.execute(update(SimulationRun).where(SimulationRun.id == run.id, SimulationRun.status == run.status)
                           .values(status="failed", error_code=code, error=msg(code).render("zh"), finished_at=now)
                           .execution_options(synchronize_session=False))
    if getattr(done, "rowcount", 0):
        session.refresh(run)


def cancel_run(session: Session, actor: Actor, run_id: int) -> SimulationRun:
    """Queued: cancelled at once. Running: asked to stop (it stops at its next step, writing nothing).
    Finished: 409."""
    run = get_run(session, actor, run_id)
    require(actor, "edit", run.procuratorate_id, what=Words(f"模拟测评 {run_id}", f"Simulation {run_id}"))
    if run.status in FINISHED:
        raise Conflict(msg("simulation.finished", run_id=run.id, status=SIMULATION_STATUS_LABELS[run.status],
                           status_en=SIMULATION_STATUS_LABELS_EN[run.status]),
                       errors={"status": [run.status]})
    was = run.status
    if run.status == "queued":
        run.status, run.phase, run.finished_at = "cancelled", "cancelled", utcnow()
        run.error_code, run.error = "simulation.cancelled", msg("simulation.cancelled").render("zh")
    else:
        run.cancel_requested = True
    session.flush()
    summary = msg("simulation.cancel_queued" if was == "queued" else "simulation.cancel_running", run_id=run.id)
    audit.record(session, actor, "simulation.cancel", scheme=run.scheme, version=run.candidate,
                 procuratorate_id=run.procuratorate_id, summary=summary.render("zh"), summary_en=summary.render("en"),
                 detail={"run_id": run.id, "status": was})
    return run


def report_of(run: SimulationRun) -> dict[str, Any] | None:
    return json.loads(gzip.decompress(run.report)) if run.report else None


def report_bytes(run: SimulationRun) -> bytes | None:
    """The report as JSON bytes, straight from the stored copy (no re-encoding)."""
    return gzip.decompress(run.report) if run.report else None


def subjects_page(session: Session, actor: Actor, run_id: int, *, period: str | None = None,
                  sort: str = "delta_total", descending: bool = True, changed: bool = False,
                  search: str | None = None, page: int = 1, page_size: int = 50) -> tuple[list[SimulationSubject], int]:
    """Per-subject results of a succeeded run, sorted and paged; ``changed``: only those whose grade moved."""
    run = _succeeded(session, actor, run_id)
    period = _period_of(run, period)
    q = select(SimulationSubject).where(SimulationSubject.run_id == run.id, SimulationSubject.period == period)
    if changed:
        q = q.where(SimulationSubject.grade_move != 0)
    if search:  # the text as typed: % and _ are letters here, not LIKE's wildcards (q=_ matched everyone)
        text = search.strip().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        like = f"%{text}%"
        q = q.where(SimulationSubject.code.like(like, escape="\\") | SimulationSubject.name.like(like, escape="\\"))
    total = session.scalar(select(func.count()).select_from(q.subquery())) or 0
    if (page - 1) * page_size >= total:  # also keeps absurd page numbers away from the database's integer range
        return [], total
    col = SORTS[sort]
    order = (col.desc() if descending else col.asc()).nulls_last()
    rows = list(session.scalars(q.order_by(order, SimulationSubject.code).offset((page - 1) * page_size).limit(page_size)))
    return rows, total


def subject_result(session: Session, actor: Actor, run_id: int, code: str, *,
                   period: str | None = None) -> tuple[SimulationRun, SimulationSubject]:
    run = _succeeded(session, actor, run_id)
    period = _period_of(run, period)
    row = session.scalar(select(SimulationSubject).where(
        SimulationSubject.run_id == run.id, SimulationSubject.period == period, SimulationSubject.code == code))
    if row is None:
        raise NotFound(msg("simulation.no_subject", code=code, period=period))
    return run, row


def why(session: Session, actor: Actor, run_id: int, code: str, *, period: str | None = None) -> dict[str, Any]:
    """Why ``code`` moved: each indicator's and adjustment's points and contribution under both
    versions, by contribution to Δ total (:func:`rulesvc.engine.simreport.why_moved`), and the grade's reason
    under each (``grade_reason_c`` / ``grade_reason_b``; None when not graded there)."""
    run, row = subject_result(session, actor, run_id, code, period=period)
    found = details(session, run.id, row.period, [row.code]).get(row.code, (None, None))
    # Each side's grade and why: a move the places of a quota made is not in the items (the points).
    reasons = [json.loads(d).get("grade_reason") if d else None for d in found]
    return {**subject_view(row), "items": why_moved(*found), "grade_reason_c": reasons[0] or None,
            "grade_reason_b": reasons[1] or None}


def details(session: Session, run_id: int, period: str, codes: Sequence[str]) -> dict[str, tuple[str | None, str | None]]:
    """code → (candidate detail, baseline detail) JSON texts of ``codes`` in one period of a run."""
    data = session.scalar(select(SimulationDetail.data).where(SimulationDetail.run_id == run_id,
                                                               SimulationDetail.period == period))
    if data is None or not codes:
        return {}
    frame = pl.read_parquet(io.BytesIO(data)).filter(pl.col("code").is_in(sorted(set(codes))))
    return {c: (dc, db) for c, dc, db in frame.iter_rows()}


def _succeeded(session: Session, actor: Actor, run_id: int) -> SimulationRun:
    run = get_run(session, actor, run_id)
    require_succeeded(run)
    return run


def require_succeeded(run: SimulationRun) -> None:
    if run.status != "succeeded":
        raise Conflict(msg("simulation.not_done", run_id=run.id, status=SIMULATION_STATUS_LABELS[run.status],
                           status_en=SIMULATION_STATUS_LABELS_EN[run.status]),
                       errors={"status": [run.status]})


def _period_of(run: SimulationRun, period: str | None) -> str:
    if period is None:
        return run.periods[0]
    if period not in run.periods:
        raise InvalidInput(msg("simulation.period_not_in_run", period=period[:40], periods="、".join(run.periods)),
                           errors={"period": [msg("simulation.period_not_in_run", period=period[:40],
                                                  periods="、".join(run.periods))]})
    return period


def view(run: SimulationRun) -> dict[str, Any]:
    """A run's state as the API shows it (without the report)."""
    status = run.status
    return {
        "id": run.id, "run_hash": run.run_hash, "status": status,
        "status_label": SIMULATION_STATUS_LABELS[status] + ("（正在取消）" if run.cancel_requested and status == "running" else ""),
        "progress": {"phase": run.phase, "phase_label": PHASE_LABELS.get(run.phase, run.phase), "percent": run.percent},
        "cancel_requested": run.cancel_requested,
        "scheme": run.scheme.code, "candidate": _version_ref(run.candidate, run.candidate_hash),
        "baseline": _version_ref(run.baseline, run.baseline_hash) if run.baseline_hash else None,
        "baseline_choice": run.baseline_choice, "periods": list(run.periods),
        "datasets": [{"id": d[0], "content_hash": d[1]} for d in run.datasets],
        "dictionary_hash": run.dictionary_hash, "engine_version": run.engine_version, "options": run.options,
        "result_hash": run.result_hash, "subjects": run.subjects_count,
        "scenarios": {"passed": run.scenarios_passed, "results": run.scenario_results or []},
        "error": {"code": run.error_code, "message": msg(run.error_code).render() if run.error_code else run.error,
                  "detail": run.error} if status in ("failed", "cancelled") else None,
        "retryable": status in ("failed", "cancelled"), "attempts": run.attempts,
        "created_by": run.created_by, "created_at": _iso(run.created_at), "started_at": _iso(run.started_at),
        "finished_at": _iso(run.finished_at),
    }


PHASE_LABELS = {"queued": "排队中", "loading": "读取数据", "scoring_candidate": "按候选版本计分",
                "scoring_baseline": "按基准版本计分", "report": "生成报告", "scenarios": "核对回归用例",
                "saving": "保存结果", "done": "完成", "cancelled": "已取消", "failed": "失败"}


def _version_ref(v: SchemeVersion | None, h: str | None) -> dict[str, Any]:
    if v is None:
        return {"version_id": None, "number": None, "scheme": None, "status": None, "content_hash": h}
    return {"version_id": v.id, "number": v.number, "scheme": v.scheme.code, "status": v.status, "content_hash": h}


def _iso(t: dt.datetime | None) -> str | None:
    t = _aware(t)  # SQLite returns naive datetimes: they were written in UTC
    return t.isoformat() if t else None


def subject_view(row: SimulationSubject) -> dict[str, Any]:
    return {"period": row.period, "code": row.code, "name": row.name, "procuratorate_id": row.procuratorate_id,
            "business": row.business_code, "line": row.line, "level": row.level,
            "candidate": {"total": row.total_c, "rank": row.rank_c, "grade": row.grade_c, "status": row.status_c},
            "baseline": {"total": row.total_b, "rank": row.rank_b, "grade": row.grade_b, "status": row.status_b},
            "delta_total": row.delta_total, "delta_rank": row.delta_rank, "grade_move": row.grade_move}


__all__ = ["Asked", "cancel_run", "create_run", "record_start", "default_baseline", "get_run", "list_runs", "reap_stale",
           "report_of", "subject_result", "subjects_page", "view"]
