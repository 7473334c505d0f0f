"""Use cases around scoring: load and compile a scheme, score a period in bulk, evaluate one subject.

The engine computes; this module fetches facts from the database and picks the executor.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path

import polars as pl
from sqlalchemy import select
from sqlalchemy.orm import Session

from rulesvc.engine.bulk import BulkResult, evaluate_bulk, subject_of
from rulesvc.engine.compile import CompiledScheme, compile_scheme
from rulesvc.engine.dictionary import Dictionary
from rulesvc.engine.evaluate import Decider, PythonDecider, evaluate_subject
from rulesvc.engine.model import Scheme
from rulesvc.engine.periods import Period
from rulesvc.engine.result import Result
from rulesvc.errors import NotFound
from rulesvc.persistence.models import Procuratorate
from rulesvc.schema.scheme import load_scheme, read_document
from rulesvc.services.facts import events_frame, subjects_frame

KEYS = {"prosecutor": "prosecutor_id", "procuratorate": "procuratorate_id"}


def load_scheme_file(path: str | Path) -> Scheme:
    text = Path(path).read_text(encoding="utf-8")
    return load_scheme(read_document(text, source=str(path)))


_COMPILED: OrderedDict[tuple[str, str], CompiledScheme] = OrderedDict()
_CACHE_SIZE = 32


def compile_cached(scheme: Scheme, dictionary: Dictionary) -> CompiledScheme:
    """Compile once per (scheme content hash, dictionary hash): both are immutable values."""
    key = (scheme.content_hash, dictionary.content_hash)
    if key in _COMPILED:
        _COMPILED.move_to_end(key)
        return _COMPILED[key]
    compiled = compile_scheme(scheme, dictionary)
    _COMPILED[key] = compiled
    while len(_COMPILED) > _CACHE_SIZE:
        _COMPILED.popitem(last=False)
    return compiled


def procuratorates_frame(session: Session) -> pl.DataFrame:
    rows = session.execute(select(Procuratorate.id, Procuratorate.code, Procuratorate.name, Procuratorate.level,
                                  Procuratorate.parent_id).order_by(Procuratorate.id)).all()
    return pl.DataFrame([tuple(r) for r in rows], orient="row", schema=[
        ("procuratorate_id", pl.Int64), ("code", pl.Utf8), ("name", pl.Utf8), ("level", pl.Utf8), ("parent_id", pl.Int64)]).with_columns(pl.lit(None, dtype=pl.Utf8).alias("line"))


def subjects_for(session: Session, kind: str) -> pl.DataFrame:
    if kind == "prosecutor":
        return subjects_frame(session)
    return procuratorates_frame(session)


@dataclass(frozen=True)
class PeriodData:
    events: pl.DataFrame
    subjects: pl.DataFrame
    key: str


def period_data(session: Session, compiled: CompiledScheme, dictionary: Dictionary, period: Period,
                dataset_ids: list[int] | None = None) -> PeriodData:
    kind = compiled.scheme.subject
    events = events_frame(session, dictionary, start=period.start, end=period.end, dataset_ids=dataset_ids,
                          event_types=compiled.event_types)
    return PeriodData(events, subjects_for(session, kind), KEYS[kind])


def score_period(session: Session, compiled: CompiledScheme, dictionary: Dictionary, period: Period,
                 dataset_ids: list[int] | None = None) -> tuple[BulkResult, PeriodData]:
    """Every subject of the period through the bulk executor (rankings, simulations)."""
    data = period_data(session, compiled, dictionary, period, dataset_ids)
    return evaluate_bulk(compiled, data.events, data.subjects, key=data.key), data


def compare_units(session: Session, compiled: CompiledScheme, dictionary: Dictionary, period: Period,
                  dataset_ids: list[int] | None = None) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Procuratorate-level comparison for a period: the scored frame with positions and laggard flags,
    and (when the scheme asks for streaks) the month-by-month streaks over the period's months."""
    from rulesvc.engine.comparison import laggards, positions, streaks
    from rulesvc.engine.periods import months_of

    bulk, data = score_period(session, compiled, dictionary, period, dataset_ids)
    frame = laggards(compiled, positions(compiled, bulk.frame))
    runs = pl.DataFrame()
    pc = compiled.scheme.peers
    if pc is not None and pc.streak:
        monthly = []
        for month in months_of(period):
            events = data.events.filter(pl.col("occurred_on").is_between(month.start, month.end))
            monthly.append((month.label, evaluate_bulk(compiled, events, data.subjects, key=data.key).frame))
        runs = streaks(compiled, monthly, data.key)
    return frame, runs


def needs_peers(compiled: CompiledScheme) -> bool:
    grading = compiled.scheme.grading
    quotas = grading is not None and any(b.quota is not None for b in grading.bands)
    return quotas or any(ci.piecewise is not None and ci.piecewise.derive != "value" for ci in compiled.indicators)


def evaluate_one(session: Session, compiled: CompiledScheme, dictionary: Dictionary, period: Period, code: str,
                 *, decider: Decider | None = None, dataset_ids: list[int] | None = None) -> Result:
    """One subject (prosecutor 工号 or procuratorate code) with its full trace.

    When the scheme compares with peers (percentiles, averages, quotas) the peer statistics come
    from a bulk run over the same period, so the result is the one the ranking shows.
    """
    data = period_data(session, compiled, dictionary, period, dataset_ids)
    row = data.subjects.filter(pl.col("code") == code)
    if row.height == 0:
        raise NotFound(f"没有编号为 {code} 的考评对象 (no {compiled.scheme.subject} with code {code})")
    subject_row = row.row(0, named=True)
    peers = None
    if needs_peers(compiled):
        peers = evaluate_bulk(compiled, data.events, data.subjects, key=data.key).peers
    subject = subject_of(subject_row, data.key)
    subject.id = code
    subject.name = subject_row.get("name") or ""
    events = data.events.filter(pl.col(data.key) == subject_row[data.key]).to_dicts()
    return evaluate_subject(compiled, subject, events, period=period.label, decider=decider or default_decider(),
                            peers=peers)


def default_decider() -> Decider:
    from rulesvc.engine.durable_decider import DurableDecider

    return DurableDecider()


__all__ = ["PythonDecider", "compile_cached", "evaluate_one", "load_scheme_file", "score_period"]
