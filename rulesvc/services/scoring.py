"""Use cases around scoring: load and compile a scheme, score a period in bulk, evaluate one subject.

The engine computes; this module fetches facts from the database and picks the executor.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl
from sqlalchemy import select
from sqlalchemy.orm import Session

from rulesvc.catalogue import msg
from rulesvc.engine.bulk import BulkResult, evaluate_bulk, subject_of
from rulesvc.engine.compile import CompiledScheme, compile_scheme
from rulesvc.engine.dictionary import Dictionary
from rulesvc.engine.evaluate import Decider, PythonDecider, evaluate_subject
from rulesvc.engine.model import Scheme
from rulesvc.engine.participation import EXCLUDED, participation
from rulesvc.engine.periods import Period
from rulesvc.engine.result import Result
from rulesvc.errors import NotEvaluated, NotFound
from rulesvc.persistence.models import Department, Procuratorate
from rulesvc.schema.scheme import DocumentError, load_scheme, read_document
from rulesvc.services.facts import datasets_in_use, events_frame, in_use, subjects_frame

KEYS = {"prosecutor": "prosecutor_id", "procuratorate": "procuratorate_id"}


def load_scheme_file(path: str | Path) -> Scheme:
    """A scheme document from a file. A localization file (``base: {scheme: CODE}`` and ``overrides``,
    see ``rules/localizations/``) is resolved against the scheme file with that code in the same rule
    library (``<library>/schemes/``), found by walking up from the file."""
    return load_scheme(read_scheme_document(path))


def read_scheme_document(path: str | Path) -> dict:
    path = Path(path)
    doc = read_document(path.read_text(encoding="utf-8"), source=str(path))
    if "overrides" not in doc or not isinstance(doc.get("base"), dict):
        return doc
    from rulesvc.engine.localize import LocalizationError, resolve

    code = doc["base"].get("scheme")
    base = _find_scheme_file(path, code)
    if base is None:
        raise DocumentError({"base.scheme": [f"找不到代码为 {code} 的上级方案文件 (no scheme file with code {code} "
                                             "in a schemes/ folder above this file)"]})
    identity: dict[str, Any] = {k: doc[k] for k in ("code", "name", "org", "description") if k in doc}
    try:
        return resolve(read_scheme_document(base), doc["overrides"], identity)
    except LocalizationError as exc:
        raise DocumentError({f"overrides[{p['index']}] {p['path']}".strip(): [p["message"]]
                             for p in exc.problems}) from None


def _find_scheme_file(path: Path, code: object) -> Path | None:
    for folder in path.resolve().parents:
        schemes = folder / "schemes"
        if schemes.is_dir():
            for f in sorted(schemes.glob("*.y*ml")):
                try:
                    if read_document(f.read_text(encoding="utf-8"), source=str(f)).get("code") == code:
                        return f
                except DocumentError:
                    continue
    return None


_COMPILED: OrderedDict[tuple[Any, ...], CompiledScheme] = OrderedDict()
_CACHE_SIZE = 32


def parts_order(scheme: Scheme) -> tuple[tuple[str, ...], ...]:
    """The order a scheme's dimensions, metrics, indicators, adjustments and vetoes are written in (which its
    content hash does not see, and its cards, pages and exports follow)."""
    return tuple(tuple(part) for part in (scheme.dimensions, scheme.metrics, scheme.indicators,
                                          scheme.adjustments, scheme.vetoes))


def compile_cached(scheme: Scheme, dictionary: Dictionary) -> CompiledScheme:
    """Compile once per (scheme content hash, dictionary hash, order of its parts): all immutable values.
    The content hash does not see the order in which dimensions, metrics, indicators, adjustments and vetoes
    are written, but a card lists them in that order: two documents of the same content written in two
    orders (one sent back through the API, say) are compiled each in its own."""
    key = (scheme.content_hash, dictionary.content_hash, parts_order(scheme))
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


def scope_ids(session: Session, org: str | None) -> set[int] | None:
    """The procuratorates a scheme of ``org`` applies to: ``org`` and every one below it (None: all).

    A county's localized scheme scores that county's prosecutors only — its quotas, ranks and peer
    averages are among them, not the whole province."""
    if org is None:
        return None
    rows = session.execute(select(Procuratorate.id, Procuratorate.code, Procuratorate.parent_id)).all()
    root = next((r.id for r in rows if r.code == org), None)
    if root is None:
        raise NotFound(msg("scoring.org_unknown", org=org))
    children: dict[int | None, list[int]] = {}
    for r in rows:
        children.setdefault(r.parent_id, []).append(r.id)
    ids, todo = set(), [root]
    while todo:
        node = todo.pop()
        ids.add(node)
        todo.extend(children.get(node, ()))
    return ids


def subjects_for(session: Session, kind: str, org: str | None = None, as_of: dt.date | None = None) -> pl.DataFrame:
    """The subjects a scheme of ``org`` scores (see :func:`scope_ids`); ``as_of`` (a period's last day):
    prosecutors in the post they held that day (``facts.subjects_frame``)."""
    frame = subjects_frame(session, as_of) if kind == "prosecutor" else procuratorates_frame(session)
    ids = scope_ids(session, org)
    return frame if ids is None else frame.filter(pl.col("procuratorate_id").is_in(sorted(ids)))


@dataclass(frozen=True)
class PeriodData:
    """What a period is scored on: its events (those that count, see :mod:`rulesvc.services.facts`),
    its subjects, and ``datasets`` — ``(id, content hash)`` of the datasets the events came from, sorted,
    so the same score can be computed again later (``dataset_ids=[i for i, _ in data.datasets]``)."""

    events: pl.DataFrame
    subjects: pl.DataFrame
    key: str
    period: Period | None = None
    datasets: tuple[tuple[int, str], ...] = ()

    @property
    def span(self) -> tuple[dt.date, dt.date] | None:
        return (self.period.start, self.period.end) if self.period else None

    @property
    def dataset_hashes(self) -> tuple[str, ...]:
        return tuple(h for _, h in self.datasets)


def period_data(session: Session, compiled: CompiledScheme, dictionary: Dictionary, period: Period,
                dataset_ids: list[int] | None = None, *, cache_dir: Path | None = None) -> PeriodData:
    """The events and subjects of a period. ``dataset_ids`` (a list recorded with an earlier score)
    scores exactly those datasets; by default the datasets in use now. With ``cache_dir`` (callers pass
    ``<instance folder>/cache/events``) the events in use are read from the database once and kept
    there (``facts.cached_events``); the frame is the same."""
    kind = compiled.scheme.subject
    plan = in_use(session, dataset_ids)  # one plan for the frame and the record of it
    events = events_frame(session, dictionary, start=period.start, end=period.end, plan=plan,
                          event_types=compiled.event_types, cache_dir=cache_dir)
    used = datasets_in_use(session, period.start, period.end, plan.datasets)
    return PeriodData(events, subjects_for(session, kind, compiled.scheme.org, period.end), KEYS[kind], period,
                      tuple(used))


def score_period(session: Session, compiled: CompiledScheme, dictionary: Dictionary, period: Period,
                 dataset_ids: list[int] | None = None, *, cache_dir: Path | None = None) -> tuple[BulkResult, PeriodData]:
    """Every subject of the period through the bulk executor (rankings, simulations); ``cache_dir`` as
    in :func:`period_data`."""
    data = period_data(session, compiled, dictionary, period, dataset_ids, cache_dir=cache_dir)
    return evaluate_bulk(compiled, data.events, data.subjects, key=data.key, period=data.span), data


def compare_units(session: Session, compiled: CompiledScheme, dictionary: Dictionary, period: Period,
                  dataset_ids: list[int] | None = None) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Procuratorate-level comparison for a period: the scored frame with positions and laggard flags,
    and (when the scheme asks for streaks) the month-by-month streaks over the months the API reads them
    over (``comparisons.streak_window``: a monthly bulletin looks back as many months as the streak needs)."""
    from rulesvc.engine.comparison import laggards, positions, streaks
    from rulesvc.services.comparisons import streak_window

    bulk, data = score_period(session, compiled, dictionary, period, dataset_ids)
    frame = laggards(compiled, positions(compiled, bulk.frame))
    runs = pl.DataFrame()
    pc = compiled.scheme.peers
    if pc is not None and pc.streak:
        monthly = []
        for month in streak_window(period, compiled):
            if period.start <= month.start and month.end <= period.end:  # the period's own events, read above
                events = data.events.filter(pl.col("occurred_on").is_between(month.start, month.end))
                scored = evaluate_bulk(compiled, events, data.subjects, key=data.key, period=(month.start, month.end))
            else:  # a month before the period: read on its own
                scored, _ = score_period(session, compiled, dictionary, month, dataset_ids)
            monthly.append((month.label, scored.frame))
        runs = streaks(compiled, monthly, data.key)
    return frame, runs


def departments_of(session: Session, frame: pl.DataFrame) -> dict[int, tuple[str, str]]:
    """Code and name of the departments of ``frame``'s rows (its ``department_id``)."""
    if "department_id" not in frame.columns:
        return {}
    ids = [i for i in frame["department_id"].unique().to_list() if i is not None]
    if not ids:
        return {}
    found = session.execute(select(Department.id, Department.code, Department.name).where(Department.id.in_(ids)))
    return {r.id: (r.code, r.name) for r in found}


RANK_GROUPS = ("all", "procuratorate", "department", "business", "line", "level")


def ranking(session: Session, compiled: CompiledScheme, bulk: BulkResult, dictionary: Dictionary, *,
            group: str = "all", points: bool = False) -> tuple[pl.DataFrame, pl.DataFrame]:
    """A bulk result as people read it: (ranked, left out), with codes and names — never internal ids.

    ``ranked``: the subjects taking part, best first; 名次 is the place among the *evaluated* subjects of
    ``group`` (ties share the higher place), empty for those not graded; with ``points``, one column per
    scored indicator (its points). ``left_out``: who is not evaluated, and why."""
    from rulesvc.engine.bulk import GROUP_COLUMNS
    from rulesvc.engine.participation import LEVEL_LABELS, STATUS_LABELS

    orgs = procuratorates_frame(session).select(
        "procuratorate_id", pl.col("code").alias("org_code"), pl.col("name").alias("org_name"))
    f = bulk.frame
    g = pl.lit(0) if group == "all" else pl.col(GROUP_COLUMNS[group])
    place = pl.when(pl.col("status") == "evaluated").then(pl.col("total")).rank("min", descending=True).over(g)
    f = f.with_columns(place.cast(pl.Int64).alias("place"))
    note = pl.when(pl.col("status") == "evaluated").then(pl.col("grade_reason")).otherwise(pl.col("status_reason"))
    status = pl.col("status").replace_strict(STATUS_LABELS, default=None, return_dtype=pl.Utf8)
    if bulk.key == "prosecutor_id":
        businesses = {b.code: b.name for b in dictionary.businesses}
        f = f.join(orgs, on="procuratorate_id", how="left")
        # The department too: with ``group="department"`` two first places on one page are two departments.
        depts = {k: v[1] for k, v in departments_of(session, f).items()}
        dept = (pl.col("department_id").replace_strict(depts, default=None, return_dtype=pl.Utf8)
                if "department_id" in f.columns else pl.lit(None, dtype=pl.Utf8))
        cols = [pl.col("place").alias("名次"), pl.col("code").alias("工号"), pl.col("name").alias("姓名"),
                pl.col("org_code").alias("检察院代码"), pl.col("org_name").alias("检察院"), dept.alias("部门"),
                pl.col("business_code").replace_strict(businesses, default=None, return_dtype=pl.Utf8).alias("业务")]
    else:
        cols = [pl.col("place").alias("名次"), pl.col("code").alias("检察院代码"), pl.col("name").alias("检察院"),
                pl.col("level").replace_strict(LEVEL_LABELS, default=None, return_dtype=pl.Utf8).alias("级别")]
    cols += [pl.col("total").alias("总分"), pl.col("grade").alias("等次"), status.alias("参评情况"), note.alias("说明")]
    if points:
        cols += [pl.col(f"pts__{ci.indicator.code}").alias(f"{ci.indicator.name}（分）")
                 for ci in compiled.indicators if ci.piecewise is not None]
    ranked = f.sort(["place", "total", "code"], descending=[False, True, False], nulls_last=True).select(cols)
    left = bulk.left_out
    if left.height and bulk.key == "prosecutor_id":
        left = left.join(orgs, on="procuratorate_id", how="left").select(
            pl.col("code").alias("工号"), pl.col("name").alias("姓名"), pl.col("org_code").alias("检察院代码"),
            pl.col("org_name").alias("检察院"), pl.col("status_reason").alias("原因"))
    elif left.height:
        left = left.select(pl.col("code").alias("检察院代码"), pl.col("name").alias("检察院"),
                           pl.col("status_reason").alias("原因"))
    return ranked, left


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
        everyone = subjects_for(session, compiled.scheme.subject)
        if everyone.filter(pl.col("code") == code).height:
            raise NotFound(msg("scoring.outside_scheme", code=code, scheme=compiled.scheme.code,
                               org=compiled.scheme.org))
        raise NotFound(msg("scoring.no_subject", code=code))
    subject_row = row.row(0, named=True)
    taking_part = participation(compiled.scheme, subject_row, period.start, period.end)
    if taking_part.status == EXCLUDED:
        raise NotEvaluated(msg("scoring.not_evaluated", code=code, name=subject_row.get("name") or "",
                               reason=taking_part.reason, reason_en=taking_part.code, period=period.label),
                           reason=taking_part.code)
    peers = None
    if needs_peers(compiled):
        peers = evaluate_bulk(compiled, data.events, data.subjects, key=data.key, period=data.span).peers
    subject = subject_of({**subject_row, "status": taking_part.status, "status_code": taking_part.code,
                          "status_reason": taking_part.reason, "office_share": taking_part.office_share}, data.key)
    subject.id = code
    subject.name = subject_row.get("name") or ""
    events = data.events.filter(pl.col(data.key) == subject_row[data.key]).to_dicts()
    return evaluate_subject(compiled, subject, events, period=period.label, decider=decider or default_decider(),
                            peers=peers)


_DECIDERS = threading.local()
_DECIDER_SCHEMES = 32  # rule sets one decider keeps compiled before it is replaced (memory stays bounded)


def default_decider() -> Decider:
    """The durable_rules decider of this thread: it keeps each scheme's rule set compiled, so a second
    evaluation under the same scheme does not compile it again. Replaced by a fresh one once it holds
    :data:`_DECIDER_SCHEMES` rule sets."""
    from rulesvc.engine.durable_decider import DurableDecider

    d = getattr(_DECIDERS, "decider", None)
    if d is None or len(getattr(d, "_rules", ())) >= _DECIDER_SCHEMES:
        d = _DECIDERS.decider = DurableDecider()
    return d  # type: ignore[no-any-return,unused-ignore]


__all__ = ["PythonDecider", "compile_cached", "evaluate_one", "load_scheme_file", "score_period"]
