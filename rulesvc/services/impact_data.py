"""What the live impact and the preview (:mod:`rulesvc.services.impact`) score on, and how they keep it.

- **The scheme looked at**: a version the actor may read, or — while a designer edits a draft and has not
  saved — that draft with an edited document in its own form (a template's whole document, a
  localization's ``overrides``), resolved and checked exactly as saving and simulating would.
- **The period**: the one asked for, or the last whole period of the scheme's cadence that ended before
  today and has data (the latest date covered by an event dataset in use, brought back to the last
  closed period).
- **The version in force**: the scheme's version in force today (else on the period's first day); for a
  first localization, its parent scheme's — the rules the draft would replace.
- **The data**: the version in force's own period data (``results.provisional_figures``: cached per
  process, shared with rankings and cards) when it holds every event type the draft reads and every
  subject it scores — the usual case; otherwise the period loaded for the draft and kept here (one at a
  time).
- **The scoring**: the bulk executor split in two (``engine.bulk.phase_metrics`` then
  ``engine.bulk.score_metrics``). The per-subject metric frame is kept per (period data, metric
  definitions: ``bulk.metrics_key``); the aggregations behind it are kept per period data by definition
  (``engine.bulkcache``), so an edit of weights, tiers, points, quotas, bands or adjustment points touches
  no event, a new metric or condition aggregates only itself, and new event types mean one whole
  aggregation — each answer says which happened. The result is the one ``evaluate_bulk`` gives.

Every cache here is an LRU bounded by entries and by bytes (polars' estimate): a worker stays flat.
"""

from __future__ import annotations

import copy
import datetime as dt
import hashlib
import json
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar, cast

import polars as pl
from sqlalchemy import select
from sqlalchemy.orm import Session

from rulesvc.catalogue import msg
from rulesvc.engine import bulk
from rulesvc.engine.bulk import BulkResult
from rulesvc.engine.bulkcache import MAX_ENTRIES
from rulesvc.engine.compile import CompiledScheme
from rulesvc.engine.dictionary import Dictionary
from rulesvc.engine.errors import DefinitionError
from rulesvc.engine.periods import Period, parse_period
from rulesvc.errors import InvalidInput, NotFound
from rulesvc.persistence import lifecycle
from rulesvc.persistence.models import Dataset, SchemeVersion
from rulesvc.schema.scheme import DocumentError, load_scheme
from rulesvc.services import results
from rulesvc.services.facts import in_use
from rulesvc.services.governance import versions
from rulesvc.services.governance.access import Actor, require_read, tree_of
from rulesvc.services.scoring import KEYS, compile_cached
from rulesvc.services.simulation.runs import default_baseline

T = TypeVar("T")
MB = 1 << 20


class Bounded:
    """A thread-safe LRU bounded by entries and by bytes (``size_of`` each value, measured when put).
    A value larger than the byte bound alone is handed back but not kept."""

    def __init__(self, entries: int, max_bytes: int, size_of: Callable[[Any], int]) -> None:
        self.entries, self.max_bytes, self.size_of = entries, max_bytes, size_of
        self._d: OrderedDict[Hashable, tuple[Any, int]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: Hashable) -> Any:
        with self._lock:
            found = self._d.get(key)
            if found is None:
                return None
            self._d.move_to_end(key)
            return found[0]

    def put(self, key: Hashable, value: T) -> T:
        size = self.size_of(value)
        with self._lock:
            self._d.pop(key, None)
            if size <= self.max_bytes:
                self._d[key] = (value, size)
            self._shrink()
        return value

    def resize(self, key: Hashable) -> None:
        """Measure ``key``'s value again (it grew in place) and drop the oldest entries until all fit."""
        with self._lock:
            found = self._d.get(key)
            if found is not None:
                size = self.size_of(found[0])
                if size > self.max_bytes:
                    del self._d[key]
                else:
                    self._d[key] = (found[0], size)
            self._shrink()

    def _shrink(self) -> None:
        while self._d and (len(self._d) > self.entries or sum(s for _, s in self._d.values()) > self.max_bytes):
            self._d.popitem(last=False)

    def bytes(self) -> int:
        with self._lock:
            return sum(s for _, s in self._d.values())

    def __len__(self) -> int:
        return len(self._d)

    def clear(self) -> None:
        with self._lock:
            self._d.clear()


def frame_bytes(value: Any) -> int:
    """Bytes of the polars frames a cached value holds (its frames, a BulkResult's, a store's)."""
    if isinstance(value, pl.DataFrame):
        return int(value.estimated_size())
    if isinstance(value, BulkResult):
        return int(value.frame.estimated_size() + value.left_out.estimated_size())
    if isinstance(value, tuple):
        return sum(frame_bytes(v) for v in value)
    if isinstance(value, MetricStore):
        return value.bytes()
    return 0


@dataclass
class MetricStore:
    """The aggregations computed so far over one period's events (``engine.bulkcache``'s store), with the
    definitions they hold (``bulk.metric_fingerprints``) so an answer can say what it computed."""

    store: dict[Any, Any] = field(default_factory=dict)
    # event types -> the definitions aggregated over them; the store keeps one entry per set of event
    # types (they decide which rows are grouped), the oldest dropped past bulkcache.MAX_ENTRIES — as here
    known: OrderedDict[tuple[str, ...], set[str]] = field(default_factory=OrderedDict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def note(self, types: tuple[str, ...], prints: set[str]) -> tuple[bool, int]:
        """Record that ``prints`` over ``types`` are now in the store: (whether the types were new, how
        many definitions were computed)."""
        new = types not in self.known
        before = self.known.setdefault(types, set())
        computed = len(prints - before)
        before |= prints
        while len(self.known) > MAX_ENTRIES:
            self.known.popitem(last=False)
        return new, computed

    def bytes(self) -> int:
        n = 0
        for entry in list(self.store.values()):
            f = getattr(entry, "frame", None)
            n += int(f.estimated_size()) if isinstance(f, pl.DataFrame) else 0
            n += sum(int(p.estimated_size()) for p in getattr(entry, "patterns", {}).values())
        return n


_STORES = Bounded(4, 128 * MB, frame_bytes)  # period data key -> MetricStore
_METRICS = Bounded(8, 64 * MB, frame_bytes)  # (period data key, subjects, metrics_key) -> metric frame
_SCORED = Bounded(6, 192 * MB, frame_bytes)  # (period data key, scope, content hash) -> (BulkResult, how)
# (database, version, lock version, status, dictionary, document hash …) -> (compiled, lint warnings): a
# document is checked once however many answers (impact, preview) are asked of it
_CHECKED = Bounded(32, 1, lambda _: 0)


def clear_caches() -> None:
    """Forget everything kept here (tests)."""
    for c in (_STORES, _METRICS, _SCORED, _CHECKED):
        c.clear()


def cache_state() -> dict[str, dict[str, int]]:
    """Entries and bytes of each cache (the benchmark prints them)."""
    return {name: {"entries": len(c), "bytes": c.bytes()}
            for name, c in (("stores", _STORES), ("metrics", _METRICS), ("scored", _SCORED))}


# -- the scheme looked at --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Looked:
    """A version as it would run: the stored one, or a draft with an unsaved document."""

    version: SchemeVersion
    compiled: CompiledScheme
    unsaved: bool
    warnings: list[dict[str, str]]


@dataclass(frozen=True)
class _Unsaved:
    """A draft with another document, read by ``versions.resolve`` as the draft itself would be."""

    of: SchemeVersion
    document: Mapping[str, Any]
    resolved: None = None

    @property
    def status(self) -> str:
        return self.of.status

    @property
    def scheme(self) -> Any:
        return self.of.scheme

    @property
    def parent_id(self) -> int | None:
        return self.of.parent_id

    @property
    def parent(self) -> SchemeVersion | None:
        return self.of.parent


def looked_at(session: Session, actor: Actor, dictionary: Dictionary, version_id: int,
              document: Mapping[str, Any] | None) -> Looked:
    """The version ``actor`` may read, or its draft with ``document`` (the draft's own form: a template's
    whole document, a localization's ``{"overrides": [...]}``) — checked as a save and a simulation check
    it: bounded structure, overrides that apply, a document that loads, no lint error (422 listing each
    by path); the lint warnings are handed back."""
    v = versions.get_version(session, actor, version_id)
    # (scheme, number) is never reused, even for a deleted draft; the lock counter moves with every save
    ckey = (results.database(session), v.id, v.scheme_id, v.number, v.parent_id, v.lock_version, v.status,
            dictionary.content_hash, None if document is None else _document_hash(document))
    found = _CHECKED.get(ckey)
    if found is not None:  # the same content checked a moment ago (impact, then preview)
        return Looked(v, found[0], document is not None, found[1])
    if document is None:
        resolved = versions.resolve(v)
    else:
        if not lifecycle.is_editable(v.status):
            bad = msg("impact.not_a_draft", number=v.number, status=lifecycle.STATUS_LABELS.get(v.status, v.status),
                      status_en=lifecycle.STATUS_LABELS_EN.get(v.status, v.status))
            raise InvalidInput(bad, errors={"document": [bad]})
        doc = versions.check_document(copy.deepcopy(dict(document)), localization=v.parent_id is not None)
        resolved = versions.resolve(cast(SchemeVersion, _Unsaved(v, doc)))
    # Warnings only: the notes ("info") are left to ``rulesvc lint``, as the editor leaves them (its count and
    # this one must agree — a designer's first day read "no warnings" above "5 warnings" beside it)
    warnings = [f for f in versions.check_resolved(v.scheme, resolved, dictionary) if f["level"] == "warning"]
    try:
        compiled = compile_cached(load_scheme(resolved), dictionary)
    except (DocumentError, DefinitionError):  # lint compiles it: not reached unless they part
        bad = msg("simulation.version_invalid", number=v.number, code=v.scheme.code)
        raise InvalidInput(bad, errors={"document": [bad]}) from None
    _CHECKED.put(ckey, (compiled, warnings))
    return Looked(v, compiled, document is not None, warnings)


def _document_hash(document: Mapping[str, Any]) -> str:
    text = json.dumps(document, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=repr)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def in_force(session: Session, actor: Actor, v: SchemeVersion, p: Period, today: dt.date) -> SchemeVersion | None:
    """The rules the draft would replace: its scheme's version in force today (else on the period's first
    day); for a first localization, the parent scheme's; ``v`` itself when it is the one in force. None
    when there is none."""
    found = None
    for on in (today, p.start):
        if lifecycle.can_be_in_force(v.status) and v.effective_from is not None and v.effective_from <= on \
                and (v.effective_to is None or on <= v.effective_to):
            return v  # a version in force looked at: compared with itself, nothing moves
        found = found or default_baseline(session, v, on)
    if found is not None:
        require_read(actor, found.scheme.procuratorate_id, found.status)
    return found


# -- the period ------------------------------------------------------------------------------------------


def period_of(kind: str, day: dt.date) -> Period:
    """The period of cadence ``kind`` (month, quarter, year) that holds ``day``."""
    if kind == "month":
        return parse_period(f"{day.year}-{day.month:02d}")
    if kind == "quarter":
        return parse_period(f"{day.year}-Q{(day.month - 1) // 3 + 1}")
    return parse_period(str(day.year))


def chosen_period(session: Session, kind: str, given: str | None, today: dt.date) -> Period:
    """``given`` (closed, with data), else the last whole period of cadence ``kind`` before today with data."""
    if given is not None:
        p = results.parse(given)
        if p.end >= today:
            bad = msg("impact.period_open", period=p.label, end=p.end.isoformat())
            raise InvalidInput(bad, errors={"period": [bad]})
        if _last_data_day(session, p.start, p.end) is None:
            bad = msg("impact.no_data", period=p.label)
            raise InvalidInput(bad, errors={"period": [bad]})
        return p
    last_closed = period_of(kind, period_of(kind, today).start - dt.timedelta(days=1))
    day = _last_data_day(session, None, last_closed.end)
    if day is None:
        bad = msg("impact.no_closed_period", before=today.isoformat())
        raise InvalidInput(bad, errors={"period": [bad]})
    return period_of(kind, day)


def _last_data_day(session: Session, start: dt.date | None, end: dt.date) -> dt.date | None:
    """The latest day up to ``end`` (from ``start``) covered by an event dataset in use."""
    plan = in_use(session)
    if not plan.datasets:
        return None
    q = select(Dataset.period_start, Dataset.period_end).where(Dataset.id.in_(plan.datasets),
                                                             Dataset.period_start <= end)
    days = [min(e, end) for s, e in session.execute(q).all()
            if s is not None and e is not None and (start is None or e >= start)]
    return max(days) if days else None


# -- the data and the scoring ----------------------------------------------------------------------------


@dataclass
class Scored:
    """The draft scored on the period: the bulk result, what it rests on, and how it was computed."""

    bulk: BulkResult
    events: pl.DataFrame
    subjects: pl.DataFrame
    key: str
    datasets: tuple[tuple[int, str], ...]
    source: results.Computed | None  # the in-force computation whose data it shares (its events by subject)
    computation: dict[str, Any]

    def events_of(self, key_value: Any) -> pl.DataFrame:
        if self.source is not None:
            return self.source.events_of(key_value)
        return self.events.filter(pl.col(self.key) == key_value)


def _scope(session: Session, org: str | None) -> frozenset[int] | None:
    """The procuratorate ids a scheme of ``org`` scores (None: all)."""
    if org is None:
        return None
    tree = tree_of(session)
    root = next((i for i, n in tree.names.items() if n["code"] == org), None)
    if root is None:
        raise NotFound(msg("scoring.org_unknown", org=org))
    return tree.below([root])


def score(session: Session, dictionary: Dictionary, compiled: CompiledScheme, p: Period,
          base: results.Figures | None, *, cache_dir: str | Path | None = None) -> Scored:
    """``compiled`` scored on ``p`` from cached metrics where it can (see the module's docstring)."""
    started = time.perf_counter()
    kind = compiled.scheme.subject
    key = KEYS[kind]
    gen = (results.database(session), *results.generation(session))
    own_scope = _scope(session, compiled.scheme.org)
    source = base.computed if base is not None else None
    shared = source is not None and base is not None and compiled.event_types <= base.compiled.event_types \
        and base.compiled.scheme.subject == kind and _within(own_scope, _scope(session, base.compiled.scheme.org))
    if shared:
        assert source is not None and base is not None
        data = source.data
        dkey: tuple[Any, ...] = ("in_force", gen, p.label, base.compiled.scheme.org,
                                 tuple(sorted(base.compiled.event_types)), dictionary.content_hash)
        events_note = "shared"
    else:
        source = None
        dkey = ("own", gen, p.label, compiled.scheme.org, tuple(sorted(compiled.event_types)), dictionary.content_hash)
        loaded, kept = results.loaded_period(session, compiled, dictionary, p, cache_dir=cache_dir, gen=gen)
        events_note = "kept" if kept else "loaded"
        data = loaded.data
    subjects = data.subjects
    if own_scope is not None and subjects.height and not subjects["procuratorate_id"].is_in(sorted(own_scope)).all():
        subjects = subjects.filter(pl.col("procuratorate_id").is_in(sorted(own_scope)))
    skey = (compiled.scheme.org, subjects.height)
    found = _SCORED.get((dkey, skey, compiled.scheme.content_hash))
    if found is not None:
        result, how = found
        how = {**how, "metrics": "reused", "aggregations_computed": 0, "scored": "kept"}
    else:
        metrics, how = _metric_frame(compiled, data.events, subjects, key, dkey, skey)
        result = bulk.score_metrics(compiled, metrics, key=key, period=data.span)
        _SCORED.put((dkey, skey, compiled.scheme.content_hash), (result, how))
        how = {**how, "scored": "now"}
    computation = {"events": events_note, **how, "seconds": round(time.perf_counter() - started, 4)}
    return Scored(result, data.events, subjects, key, tuple(data.datasets), source, computation)


def _within(inner: frozenset[int] | None, outer: frozenset[int] | None) -> bool:
    return outer is None or (inner is not None and inner <= outer)


def _metric_frame(compiled: CompiledScheme, events: pl.DataFrame, subjects: pl.DataFrame, key: str,
                  dkey: tuple[Any, ...], skey: tuple[Any, ...]) -> tuple[pl.DataFrame, dict[str, Any]]:
    """The per-subject metric frame (``bulk.phase_metrics``), kept per (period data, subjects, metric
    definitions); on a miss, only the aggregations the period's store lacks are computed."""
    mkey = bulk.metrics_key(compiled, key)
    if mkey is not None:
        found = _METRICS.get((dkey, skey, mkey))
        if found is not None:
            return found, {"metrics": "reused", "aggregations_computed": 0}
    prints = bulk.metric_fingerprints(compiled, key)
    if prints is None:  # an aggregation polars cannot identify: computed in full, nothing kept
        frame = bulk.phase_metrics(compiled, events, subjects, key)
        return frame, {"metrics": "full", "aggregations_computed": None}
    ms = _STORES.get(dkey)
    if ms is None:
        ms = _STORES.put(dkey, MetricStore())
    wanted = set(prints)
    with ms.lock:
        frame = bulk.phase_metrics(compiled, events, subjects, key, cache=ms.store, events_key=dkey)
        types_new, computed = ms.note(tuple(sorted(compiled.event_types)), wanted)
    _STORES.resize(dkey)
    how = {"metrics": "full" if types_new or computed == len(wanted) else "partial" if computed else "reused",
           "aggregations_computed": computed, "aggregations": len(wanted)}
    if mkey is not None:
        _METRICS.put((dkey, skey, mkey), frame)
    return frame, how


def baseline_figures(session: Session, v: SchemeVersion | None, dictionary: Dictionary, p: Period,
                     cache_dir: str | Path | None) -> results.Figures | None:
    """The version in force scored now on the period (provisional: the same facts as the draft)."""
    if v is None:
        return None
    return results.provisional_figures(session, v, dictionary, p, cache_dir=cache_dir)


__all__ = ["Bounded", "Looked", "Scored", "baseline_figures", "cache_state", "chosen_period", "clear_caches",
           "in_force", "looked_at", "period_of", "score"]
