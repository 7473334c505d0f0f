"""Running a simulation: score candidate and baseline on the same facts, build the report, save it whole.

:func:`execute` is what a worker (or the embedded thread) calls with a run id. It claims the run
(``queued`` → ``running``, atomically: two workers never run one run), beats a heartbeat from a side
thread (which also notices a cancel request), computes, and writes the per-subject rows, the report,
the result hash and ``succeeded`` in **one** transaction — so a run is either complete or has nothing
written. A run whose process is killed stops beating and is failed by the next reader
(:func:`rulesvc.services.simulation.runs.reap_stale`); asking for it again queues it again.

:func:`simulate` is the computation alone (no database writes): the CLI uses it for a candidate given
as a file. Both versions are scored by the bulk executor on the *same* events frame (the union of the
event types both read) and the candidate scheme's people — the baseline in its own scope when that is wider
(the provincial template scores a county's people among the province: ``simulate``'s ``baseline_subjects``).
"""

from __future__ import annotations

import contextlib
import dataclasses
import gzip
import io
import json
import logging
import threading
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import polars as pl
from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session

from rulesvc.catalogue import msg
from rulesvc.engine.bulk import columns_read, evaluate_bulk
from rulesvc.engine.comparison import streaks
from rulesvc.engine.compile import CompiledScheme
from rulesvc.engine.dictionary import Dictionary
from rulesvc.engine.participation import LEVEL_LABELS
from rulesvc.engine.periods import Period, parse_period
from rulesvc.engine.simreport import Labels, Options, Report, Side, build_report
from rulesvc.persistence.models import (
    Procuratorate,
    SimulationDetail,
    SimulationRun,
    SimulationSubject,
    utcnow,
)
from rulesvc.schema.scheme import load_scheme
from rulesvc.services.dictionary import get_dictionary
from rulesvc.services.facts import events_frame, in_use
from rulesvc.services.scoring import KEYS, compile_cached, scope_ids, subjects_for
from rulesvc.services.simulation import scenarios as sc
from rulesvc.services.simulation.runs import stale_after
from rulesvc.services.simulation.spec import canonical_hash

log = logging.getLogger(__name__)

SessionScope = Callable[[], AbstractContextManager[Session]]
SUBJECT_COLUMNS = ("subject_id", "code", "name", "procuratorate_id", "business_code", "line", "level", "status_c",
                   "status_b", "total_c", "total_b", "grade_c", "grade_b", "rank_c", "rank_b", "delta_total",
                   "delta_rank", "grade_move")
DETAIL_COLUMNS = ("code", "detail_c", "detail_b")


@dataclass(frozen=True)
class Settings:
    """What running needs besides the database: the rule library (data dictionary) and, optionally,
    a folder to cache events frames in."""

    rules_dir: str
    cache_dir: str | None = None


class Cancelled(Exception):
    """The run was asked to stop."""


@dataclass
class Progress:
    """Where a computation is, and whether it should stop; shared between the computing thread and the
    heartbeat."""

    phase: str = "loading"
    percent: int = 0
    cancel: threading.Event = field(default_factory=threading.Event)

    def step(self, phase: str, percent: float) -> None:
        if self.cancel.is_set():
            raise Cancelled
        self.phase, self.percent = phase, max(0, min(100, int(percent)))


@dataclass(frozen=True)
class PeriodReport:
    period: str
    report: Report


@dataclass(frozen=True)
class Outcome:
    periods: list[PeriodReport]
    result_hash: str
    summary: dict[str, Any]


Loader = Callable[[Period, frozenset[str]], tuple[pl.DataFrame, pl.DataFrame]]


def simulate(candidate: CompiledScheme, baseline: CompiledScheme | None, periods: list[Period], load: Loader,
             labels: Labels, options: dict[str, Any], progress: Progress | None = None,
             baseline_subjects: Callable[[Period], pl.DataFrame] | None = None) -> Outcome:
    """Score both versions on each period (``load(period, event types)`` → events, subjects) and build
    the report. Pure apart from ``load``.

    ``baseline_subjects(period)``: the baseline's own subjects when its scope is wider than the candidate's —
    a county's first localization against the provincial template in force: the template scores the county's
    prosecutors among the whole province (its peers, quota places), and those are the figures in force for
    them; the baseline is scored so, then read for the candidate's subjects only."""
    progress = progress or Progress()
    kind = candidate.scheme.subject
    key = KEYS[kind]
    types = frozenset(candidate.event_types) | (frozenset(baseline.event_types) if baseline else frozenset())
    opts = Options(**options)
    out: list[PeriodReport] = []
    n = len(periods)
    monthly: dict[str, list[tuple[str, pl.DataFrame]]] = {"candidate": [], "baseline": []}
    for i, p in enumerate(periods):
        share = 100 / n
        progress.step("loading", i * share)
        events, subjects = load(p, types)
        progress.step("scoring_candidate", i * share + share * 0.2)
        shared: dict[Any, Any] = {}  # the aggregations both versions share are computed once
        cand = evaluate_bulk(candidate, events, subjects, key=key, period=(p.start, p.end), metrics_cache=shared)
        base = None
        if baseline is not None:
            progress.step("scoring_baseline", i * share + share * 0.45)
            if baseline_subjects is None:
                base = evaluate_bulk(baseline, events, subjects, key=key, period=(p.start, p.end), metrics_cache=shared)
            else:
                wide = evaluate_bulk(baseline, events, baseline_subjects(p), key=key, period=(p.start, p.end),
                                     metrics_cache=shared)
                ours = subjects[key].implode()
                base = dataclasses.replace(wide, frame=wide.frame.filter(pl.col(key).is_in(ours)),
                                           left_out=wide.left_out.filter(pl.col(key).is_in(ours)))
        if kind == "procuratorate" and p.kind == "month":
            monthly["candidate"].append((p.label, cand.frame))
            if base is not None:
                monthly["baseline"].append((p.label, base.frame))
        progress.step("report", i * share + share * 0.7)
        report = build_report(Side(candidate, cand.frame, cand.left_out),
                              Side(baseline, base.frame, base.left_out) if base is not None and baseline else None,
                              key=key, labels=labels, options=opts)
        out.append(PeriodReport(p.label, report))
    progress.step("report", 95)
    summary: dict[str, Any] = {"periods": [{"period": pr.period, **pr.report.summary} for pr in out]}
    if len(monthly["candidate"]) > 1 and _consecutive([m for m, _ in monthly["candidate"]]):
        summary["streaks"] = streak_changes(candidate, baseline, monthly, key, labels)
    return Outcome(out, result_hash(out) if "streaks" not in summary else
                   canonical_hash([result_hash(out), canonical_hash(summary["streaks"])]), summary)


def _consecutive(months: list[str]) -> bool:
    """``2020-11``, ``2020-12``, ``2021-01`` …: each the month after the one before."""
    index = [int(m[:4]) * 12 + int(m[5:7]) for m in months]
    return all(b == a + 1 for a, b in zip(index, index[1:], strict=False))


def streak_changes(candidate: CompiledScheme, baseline: CompiledScheme | None,
                   monthly: dict[str, list[tuple[str, pl.DataFrame]]], key: str, labels: Labels) -> dict[str, Any]:
    """Procuratorate-level schemes over consecutive months: each unit's runs of months worse than its
    group's average per compared indicator (``engine.comparison.streaks``) under both versions, who is
    named (a run reaching the scheme's ``streak``), and the units whose naming changes."""
    sides = {"candidate": candidate, "baseline": baseline}
    named: dict[str, dict[int, list[str]]] = {}
    out: dict[str, Any] = {"months": [m for m, _ in monthly["candidate"]]}
    for side, compiled in sides.items():
        if compiled is None or compiled.scheme.peers is None or not compiled.scheme.peers.streak:
            out[side] = None
            continue
        frame = streaks(compiled, monthly[side], key)
        codes = list(compiled.scheme.peers.indicators)
        words = {ci.indicator.code: ci.indicator.name for ci in compiled.indicators}
        named[side] = {r[key]: [words.get(c, c) for c in codes if r.get(f"named__{c}")]
                       for r in frame.iter_rows(named=True)}
        out[side] = {"streak": compiled.scheme.peers.streak,
                     "named": [{"procuratorate_id": u, "code": labels.procuratorates.get(u, ("", "", ""))[0],
                                "name": labels.procuratorates.get(u, ("", "", ""))[1], "indicators": cs}
                               for u, cs in sorted(named[side].items()) if cs]}
    changes = []
    if len(named) == 2:
        for u in sorted(set(named["candidate"]) | set(named["baseline"])):
            c, b = named["candidate"].get(u, []), named["baseline"].get(u, [])
            if c != b:
                lab = labels.procuratorates.get(u, ("", "", ""))
                changes.append({"procuratorate_id": u, "code": lab[0], "name": lab[1], "baseline": b, "candidate": c})
    out["changes"] = changes
    return out


def result_hash(periods: list[PeriodReport]) -> str:
    """sha256 over every figure of the run: each period's summary and its per-subject rows."""
    digest = []
    for pr in periods:
        rows = pr.report.subjects.select(list(SUBJECT_COLUMNS)).sort("code")
        digest.append({"period": pr.period, "summary": canonical_hash(pr.report.summary),
                       "subjects": canonical_hash(rows.rows())})
    return canonical_hash(digest)


def scored_columns(candidate: CompiledScheme, baseline: CompiledScheme | None) -> set[str]:
    """The event columns either version reads."""
    key = KEYS[candidate.scheme.subject]
    return columns_read(candidate, key) | (columns_read(baseline, key) if baseline is not None else set())


def labels_for(session: Session, dictionary: Dictionary) -> Labels:
    rows = session.execute(select(Procuratorate.id, Procuratorate.code, Procuratorate.name, Procuratorate.level)).all()
    return Labels(
        procuratorates={r.id: (r.code, r.name, r.level) for r in rows},
        businesses={b.code: b.name for b in dictionary.businesses},
        lines={b.line: b.line_name for b in dictionary.businesses},
        levels=dict(LEVEL_LABELS),
    )


def db_loader(session: Session, dictionary: Dictionary, dataset_ids: list[int], kind: str, org: str | None,
              cache_dir: str | None = None, span: tuple[Period, Period] | None = None,
              columns: set[str] | None = None) -> Loader:
    """Events of exactly ``dataset_ids`` (as recorded with the run) and the subjects of ``org``'s scope.

    With ``span`` (the first and last period of a run) the events from the first day of the one to the
    last day of the other are read once, and each period takes its slice: twelve months cost one read.
    ``columns``: only those event columns are held (:func:`scored_columns`): a national year in memory
    is about 40 % of all the dictionary's columns."""
    plan = in_use(session, dataset_ids)
    held: dict[frozenset[str], pl.DataFrame] = {}
    at: dict[Any, pl.DataFrame] = {}

    def subjects_of(p: Period) -> pl.DataFrame:  # everyone in the post they held on the period's last day
        if p.end not in at:
            at[p.end] = subjects_for(session, kind, org, p.end)
        return at[p.end]

    def read(start: Any, end: Any, types: frozenset[str]) -> pl.DataFrame:
        return events_frame(session, dictionary, start=start, end=end, plan=plan, event_types=types,
                            cache_dir=Path(cache_dir) if cache_dir else None, columns=columns)

    def load(p: Period, types: frozenset[str]) -> tuple[pl.DataFrame, pl.DataFrame]:
        if span is None or (span[0].start, span[1].end) == (p.start, p.end):
            return read(p.start, p.end, types), subjects_of(p)
        if types not in held:
            held.clear()
            held[types] = read(span[0].start, span[1].end, types)
        return held[types].filter(pl.col("occurred_on").is_between(p.start, p.end)), subjects_of(p)

    return load


# -- the job -----------------------------------------------------------------------------------------


class Heartbeat:
    """A side thread that writes the run's progress and heartbeat every few seconds and notices a
    cancel request (one writer: the computing thread never writes while it runs)."""

    def __init__(self, scope: SessionScope, run_id: int, progress: Progress) -> None:
        self.scope, self.run_id, self.progress = scope, run_id, progress
        self.interval = max(0.2, min(1.0, stale_after() / 6))  # progress readable within a second
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name=f"simulation-{run_id}-heartbeat", daemon=True)

    def __enter__(self) -> Heartbeat:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=10)

    def _loop(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                with self.scope() as s:
                    s.execute(update(SimulationRun).where(SimulationRun.id == self.run_id,
                                                          SimulationRun.status == "running")
                              .values(heartbeat_at=utcnow(), phase=self.progress.phase, percent=self.progress.percent))
                    if s.scalar(select(SimulationRun.cancel_requested).where(SimulationRun.id == self.run_id)):
                        self.progress.cancel.set()
                    s.commit()
            except Exception:  # a missed beat is not fatal; the next one may get through
                log.warning("simulation %s: heartbeat failed", self.run_id, exc_info=True)


def execute(scope: SessionScope, run_id: int, settings: Settings, progress: Progress | None = None) -> str:
    """Run ``run_id`` if it is queued; returns its final status. ``progress`` lets the caller watch (the
    CLI's progress bar)."""
    with scope() as s:
        now = utcnow()
        claimed = s.execute(update(SimulationRun).where(SimulationRun.id == run_id, SimulationRun.status == "queued")
                            .values(status="running", phase="loading", percent=0, started_at=now, heartbeat_at=now,
                                    attempts=SimulationRun.attempts + 1)
                            .execution_options(synchronize_session=False))
        s.commit()
        if not getattr(claimed, "rowcount", 0):
            status = s.scalar(select(SimulationRun.status).where(SimulationRun.id == run_id))
            return status or "missing"
    progress = progress or Progress()
    try:
        with Heartbeat(scope, run_id, progress):
            outcome, scenario_results = _compute(scope, run_id, settings, progress)
            progress.step("saving", 97)
            with scope() as s:
                return _save(s, run_id, outcome, scenario_results)
    except Cancelled:
        return _finish(scope, run_id, "cancelled", "simulation.cancelled", "")
    except Exception as exc:
        log.exception("simulation %s failed", run_id)
        return _finish(scope, run_id, "failed", "simulation.error", f"{type(exc).__name__}: {exc}"[:2000])


def _compute(scope: SessionScope, run_id: int, settings: Settings,
             progress: Progress) -> tuple[Outcome, list[dict[str, Any]]]:
    with scope() as s:
        run = s.get(SimulationRun, run_id)
        assert run is not None
        return compute(s, run, settings, progress)


def compute(s: Session, run: SimulationRun, settings: Settings,
            progress: Progress | None = None) -> tuple[Outcome, list[dict[str, Any]]]:
    """The figures of ``run`` (read from ``s``, nothing written) and its scenario results."""
    progress = progress or Progress()
    dictionary = get_dictionary(settings.rules_dir)
    if run.dictionary_hash != dictionary.content_hash:
        raise RuntimeError(msg("simulation.dictionary_changed").render("zh"))
    docs = run.documents
    candidate = compile_cached(load_scheme(docs["candidate"]), dictionary)
    baseline = compile_cached(load_scheme(docs["baseline"]), dictionary) if docs.get("baseline") else None
    periods = [parse_period(p) for p in run.periods]
    scheme = run.scheme
    first, last = min(periods, key=lambda p: p.start), max(periods, key=lambda p: p.end)
    load = db_loader(s, dictionary, [d[0] for d in run.datasets], scheme.subject_kind, scheme.procuratorate.code,
                     settings.cache_dir, span=(first, last) if len(periods) > 1 else None,
                     columns=scored_columns(candidate, baseline))
    wider = None
    base_org = baseline.scheme.org if baseline is not None else None
    if baseline is not None and scope_ids(s, base_org) != scope_ids(s, scheme.procuratorate.code):
        held: dict[Any, pl.DataFrame] = {}

        def wider(p: Period) -> pl.DataFrame:  # the baseline's own scope (see simulate)
            if p.end not in held:
                held[p.end] = subjects_for(s, scheme.subject_kind, base_org, p.end)
            return held[p.end]
    outcome = simulate(candidate, baseline, periods, load, labels_for(s, dictionary), dict(run.options), progress,
                       baseline_subjects=wider)
    version_scenarios = list(run.candidate.scenarios or []) if run.candidate is not None else []
    progress.step("scenarios", 96)
    return outcome, check_scenarios(version_scenarios, outcome)


def run_here(s: Session, run: SimulationRun, settings: Settings) -> SimulationRun:
    """Compute and record ``run`` (queued) in this session and thread — for the CLI, the rule library's
    publication and tests: no worker, no heartbeat. Flushes; the caller commits (or rolls back: then
    nothing of it was written)."""
    run.status, run.phase, run.started_at, run.attempts = "running", "loading", utcnow(), run.attempts + 1
    s.flush()
    outcome, results = compute(s, run, settings)
    _write(s, run, outcome, results)
    s.flush()
    return run


def check_scenarios(scenarios: list[dict[str, Any]], outcome: Outcome) -> list[dict[str, Any]]:
    rows: dict[tuple[str, str], Any] = {}
    wanted = {(x["period"], x["subject"]) for x in scenarios}
    for pr in outcome.periods:
        hits = pr.report.subjects.filter(pl.col("code").is_in(sorted({c for p, c in wanted if p == pr.period})))
        for r in hits.iter_rows(named=True):
            rows[(pr.period, r["code"])] = sc.Result(r["total_c"], r["grade_c"], r["detail_c"])
    return sc.check(scenarios, [pr.period for pr in outcome.periods], lambda p, c: rows.get((p, c)))


def _save(s: Session, run_id: int, outcome: Outcome, scenario_results: list[dict[str, Any]]) -> str:
    """Everything in one transaction, and only if the run is still ours and running."""
    run = s.get(SimulationRun, run_id, with_for_update=True)
    if run is None or run.status != "running":
        return run.status if run is not None else "missing"
    if run.cancel_requested:
        raise Cancelled
    _write(s, run, outcome, scenario_results)
    s.commit()
    return "succeeded"


def _write(s: Session, run: SimulationRun, outcome: Outcome, scenario_results: list[dict[str, Any]]) -> None:
    run_id = run.id
    count = 0
    for pr in outcome.periods:
        for chunk in _chunks(pr.report.subjects.select(list(SUBJECT_COLUMNS)), 2000):
            s.execute(insert(SimulationSubject), [{**r, "run_id": run_id, "period": pr.period} for r in chunk])
            count += len(chunk)
        buf = io.BytesIO()
        pr.report.subjects.select(list(DETAIL_COLUMNS)).sort("code").write_parquet(
            buf, compression="zstd", compression_level=6, statistics=False)
        s.add(SimulationDetail(run_id=run_id, period=pr.period, data=buf.getvalue()))
    run.report = gzip.compress(json.dumps(outcome.summary, ensure_ascii=False, sort_keys=True,
                                          separators=(",", ":")).encode("utf-8"), mtime=0)
    run.result_hash = outcome.result_hash
    run.scenario_results = scenario_results
    run.scenarios_passed = not sc.failures(scenario_results)
    run.subjects_count = count
    run.status, run.phase, run.percent, run.finished_at = "succeeded", "done", 100, utcnow()


def _chunks(frame: pl.DataFrame, size: int) -> Iterator[list[dict[str, Any]]]:
    for start in range(0, frame.height, size):
        yield frame.slice(start, size).to_dicts()


def _finish(scope: SessionScope, run_id: int, status: str, code: str, detail: str) -> str:
    with scope() as s, contextlib.suppress(Exception):
        s.rollback()
    with scope() as s:
        s.execute(update(SimulationRun).where(SimulationRun.id == run_id, SimulationRun.status == "running")
                  .values(status=status, phase=status, error_code=code, error=detail or msg(code).render("zh"),
                          finished_at=utcnow())
                  .execution_options(synchronize_session=False))
        s.commit()
        final = s.scalar(select(SimulationRun.status).where(SimulationRun.id == run_id))
    return final or status


__all__ = ["Cancelled", "Outcome", "Progress", "Settings", "check_scenarios", "compute", "db_loader", "execute",
           "labels_for", "run_here", "scored_columns", "simulate"]
