"""Scores for other systems (issue 11, first step): one subject, one period, under a scheme's version in
force on the period's first day or a named version — total, grade and why, rank and percentile in the
quota group, dimensions, indicators, adjustments, vetoes and the nearest tier not reached, with what is
needed to reproduce it (version and content hash, dataset hashes, engine version).

Peer statistics and ranks come from a bulk run of the same inputs, kept in a small in-process cache
keyed by (content hash, dataset hashes, period, dictionary hash): a card never disagrees with the
ranking, and asking for another subject of the same period does not score the province again.

Every answer says ``figures: "provisional"``: published (frozen) results arrive with publications.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from pathlib import Path
from typing import Any

import polars as pl
from sqlalchemy import select
from sqlalchemy.orm import Session

from rulesvc.catalogue import msg
from rulesvc.engine import ENGINE_VERSION
from rulesvc.engine.bulk import BulkResult, evaluate_bulk, subject_of
from rulesvc.engine.compile import CompiledScheme
from rulesvc.engine.dictionary import Dictionary
from rulesvc.engine.errors import DefinitionError
from rulesvc.engine.evaluate import evaluate_subject
from rulesvc.engine.participation import EVALUATED
from rulesvc.engine.periods import Period, parse_period
from rulesvc.errors import InvalidInput, NotEvaluated, NotFound
from rulesvc.persistence.models import Procuratorate, SchemeVersion
from rulesvc.schema.scheme import DocumentError, load_scheme
from rulesvc.services.governance import versions
from rulesvc.services.governance.access import Actor, require
from rulesvc.services.scoring import PeriodData, compile_cached, default_decider, period_data

TRACES = ("none", "summary", "full")
_BULK: OrderedDict[tuple[Any, ...], BulkResult] = OrderedDict()
_BULK_SIZE = 8
_LOCK = threading.Lock()


def evaluate(session: Session, actor: Actor, dictionary: Dictionary, *, subject: str, period: str,
             scheme: str | None = None, version_id: int | None = None, trace: str = "summary",
             cache_dir: str | Path | None = None) -> dict[str, Any]:
    """One subject's score card. 404 for an unknown scheme, version or subject, or a subject outside the
    caller's tree or the scheme's scope; 422 for a bad period; the reason when the subject is not
    evaluated in the period."""
    p = _period(period)
    v = _version(session, actor, p, scheme, version_id)
    try:
        compiled = compile_cached(load_scheme(v.resolved if v.resolved is not None else versions.resolve(v)),
                                  dictionary)
    except (DocumentError, DefinitionError):  # a draft that does not load or compile yet
        raise InvalidInput(msg("simulation.version_invalid", number=v.number, code=v.scheme.code),
                           errors={"version_id": [msg("simulation.version_invalid", number=v.number,
                                                      code=v.scheme.code)]}) from None
    data = period_data(session, compiled, dictionary, p, cache_dir=Path(cache_dir) if cache_dir else None)
    row = data.subjects.filter(pl.col("code") == subject)
    if row.height == 0 or not actor.in_scope(row["procuratorate_id"][0]):
        raise NotFound(msg("scoring.no_subject", code=subject))  # outside the caller's tree: as if absent
    require(actor, "score", row["procuratorate_id"][0], what=f"考评对象 {subject}")
    bulk = _bulk(compiled, data, dictionary)
    scored = bulk.frame.filter(pl.col(data.key) == row[data.key][0])
    if scored.height == 0:
        left = bulk.left_out.filter(pl.col(data.key) == row[data.key][0])
        reason = left["status_reason"][0] if left.height else ""
        raise NotEvaluated(msg("scoring.not_evaluated", code=subject, name=row["name"][0] or "", reason=reason,
                               reason_en=left["status_code"][0] if left.height else "", period=p.label))
    r = scored.row(0, named=True)
    subj = subject_of(r, data.key, final=True)
    subj.id, subj.name = subject, r.get("name") or ""
    events = data.events.filter(pl.col(data.key) == r[data.key]).to_dicts()
    result = evaluate_subject(compiled, subj, events, period=p.label, decider=default_decider(), peers=bulk.peers)
    return _answer(session, v, compiled, data, bulk, r, result.as_dict(), trace)


def _period(text: str) -> Period:
    try:
        return parse_period(text)
    except (DefinitionError, ValueError, OverflowError):
        raise InvalidInput(msg("evaluation.period_bad", period=str(text)[:40]),
                           errors={"period": [msg("evaluation.period_bad", period=str(text)[:40])]}) from None


def _version(session: Session, actor: Actor, p: Period, scheme: str | None, version_id: int | None) -> SchemeVersion:
    if version_id is not None:
        return versions.get_version(session, actor, version_id)
    if not scheme:
        raise InvalidInput(msg("evaluation.scheme_or_version"),
                           errors={"scheme": [msg("evaluation.scheme_or_version")]})
    return versions.version_in_effect(session, actor, scheme, p.start)


def _bulk(compiled: CompiledScheme, data: PeriodData, dictionary: Dictionary) -> BulkResult:
    key = (compiled.scheme.content_hash, data.dataset_hashes, data.period.label if data.period else None,
           dictionary.content_hash, data.subjects.height)
    with _LOCK:
        if key in _BULK:
            _BULK.move_to_end(key)
            return _BULK[key]
    bulk = evaluate_bulk(compiled, data.events, data.subjects, key=data.key, period=data.span)
    with _LOCK:
        _BULK[key] = bulk
        while len(_BULK) > _BULK_SIZE:
            _BULK.popitem(last=False)
    return bulk


def _answer(session: Session, v: SchemeVersion, compiled: CompiledScheme, data: PeriodData, bulk: BulkResult,
            row: dict[str, Any], full: dict[str, Any], trace: str) -> dict[str, Any]:
    org = session.scalar(select(Procuratorate).where(Procuratorate.id == row["procuratorate_id"]))
    graded = bulk.frame.filter(pl.col("status") == EVALUATED)
    qgroup = compiled.scheme.grading.quota_group if compiled.scheme.grading else "all"
    from rulesvc.engine.bulk import GROUP_COLUMNS

    gcol = None if qgroup == "all" else GROUP_COLUMNS[qgroup]
    group = graded if gcol is None else graded.filter(pl.col(gcol) == row.get(gcol))
    rank = row.get("rank") if row.get("status") == EVALUATED else None
    size = group.height
    percentile = None if rank is None or size == 0 else round(100.0 * (size - rank) / max(size - 1, 1), 2)
    out: dict[str, Any] = {
        "subject": {"code": full["subject"], "name": full["subject_name"],
                    "procuratorate": {"code": org.code, "name": org.name} if org else None},
        "period": full["period"], "figures": "provisional",
        "scheme": {"code": v.scheme.code, "version_id": v.id, "number": v.number, "status": v.status,
                   "content_hash": compiled.scheme.content_hash},
        "datasets": [{"id": i, "content_hash": h} for i, h in data.datasets], "engine_version": ENGINE_VERSION,
        "status": full["status"], "status_reason": full["status_reason"],
        "total": full["total"], "grade": full["grade"], "grade_reason": full["grade_reason"],
        "rank": {"place": rank, "of": size, "group": qgroup, "percentile": percentile},
    }
    if trace == "none":
        return out
    out["dimensions"] = full["dimensions"]
    out["indicators"] = [{k: i[k] for k in ("code", "name", "dimension", "value", "x", "branch", "rule", "points",
                                            "max_points", "contribution", "note", "nearest", "formula_labeled")}
                         for i in full["indicators"]]
    out["adjustments"] = [{k: a[k] for k in ("code", "name", "dimension", "matched", "points_each", "points",
                                             "cap", "note")} for a in full["adjustments"]]
    out["vetoes"] = [{k: x[k] for k in ("code", "name", "effect", "detail", "matched")} for x in full["vetoes"]]
    out["attribution"] = full["attribution"]
    if trace == "full":
        out["trace"] = full
    return out


__all__ = ["TRACES", "evaluate"]
