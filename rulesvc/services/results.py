"""A period's results under a scheme, as other systems read them: **published** (frozen by a
publication, see :mod:`rulesvc.services.publications`) or **provisional** (computed now from the data
and rules there are).

:func:`figures` decides which: asked by scheme code, a period with a publication answers with the
latest publication of that scheme and period — whatever data was imported or which version was
activated since; asked for a ``version_id``, only a publication of that very version counts. Without
a publication the period is scored now through the bulk executor and said to be provisional.

Provisional results are cached per process, keyed by everything they depend on — the version's
content hash, the data generation (the datasets and withdrawals there are), the period, the dictionary
— so ranking, cards and history of one period never score the province twice, and a new import or
withdrawal is seen by the next request. Caches are small LRUs: a worker's memory stays flat.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import gzip
import io
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import polars as pl
from sqlalchemy import and_, bindparam, select
from sqlalchemy.orm import Session, aliased, defer, joinedload
from sqlalchemy.orm import object_session as _object_session

from rulesvc.catalogue import Msg, msg
from rulesvc.engine import ENGINE_VERSION
from rulesvc.engine.bulk import GROUP_COLUMNS, BulkResult, evaluate_bulk, peers_of_frame, reached_band
from rulesvc.engine.compile import CompiledScheme
from rulesvc.engine.dictionary import Dictionary
from rulesvc.engine.errors import DefinitionError
from rulesvc.engine.participation import EVALUATED
from rulesvc.engine.peers import PeerContext, quota_places
from rulesvc.engine.periods import Period, parse_period
from rulesvc.engine.summary import explain_row, subset_facts
from rulesvc.errors import InvalidInput, NotFound
from rulesvc.persistence.lifecycle import can_be_in_force
from rulesvc.persistence.models import Publication, PublicationCard, Scheme, SchemeVersion, as_utc
from rulesvc.schema.scheme import DocumentError, load_scheme
from rulesvc.services import cardstore, localtime
from rulesvc.services.governance import versions
from rulesvc.services.governance.access import Actor, data_state, database, require_read
from rulesvc.services.scoring import KEYS, compile_cached, parts_order, period_data, subjects_for

PUBLISHED, PROVISIONAL = "published", "provisional"
T = TypeVar("T")


class _Lru:
    """A small thread-safe LRU. A value missing is computed once: the other threads asking for the same
    key meanwhile wait for it (a worker's threads must not all score the same province at once); other
    keys are not held up."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._d: OrderedDict[Hashable, Any] = OrderedDict()
        self._lock = threading.Lock()
        self._making: dict[Hashable, threading.Lock] = {}

    def get_or_make(self, key: Hashable, make: Callable[[], T]) -> T:
        with self._lock:
            if key in self._d:
                self._d.move_to_end(key)
                return self._d[key]  # type: ignore[no-any-return,unused-ignore]
            one = self._making.setdefault(key, threading.Lock())
        with one:
            with self._lock:
                if key in self._d:  # made by another thread while this one waited
                    self._d.move_to_end(key)
                    return self._d[key]  # type: ignore[no-any-return,unused-ignore]
            try:
                value = make()
            finally:
                with self._lock:
                    self._making.pop(key, None)
            with self._lock:
                self._d[key] = value
                while len(self._d) > self.size:
                    self._d.popitem(last=False)
        return value

    def has(self, key: Hashable) -> bool:
        with self._lock:
            return key in self._d

    def clear(self) -> None:
        with self._lock:
            self._d.clear()


class _Cards:
    """Provisional cards as their stored bytes (gzip of the canonical JSON), per (bulk run, subject): an
    LRU bounded by the bytes it holds. A card is a function of its run's key and the subject alone."""

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes, self.held = max_bytes, 0
        self._d: OrderedDict[Hashable, bytes] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: Hashable) -> bytes | None:
        with self._lock:
            found = self._d.get(key)
            if found is not None:
                self._d.move_to_end(key)
            return found

    def put(self, key: Hashable, value: bytes) -> None:
        with self._lock:
            old = self._d.pop(key, None)
            self.held -= len(old) if old is not None else 0
            if len(value) > self.max_bytes:
                return
            self._d[key] = value
            self.held += len(value)
            while self.held > self.max_bytes:
                self.held -= len(self._d.popitem(last=False)[1])

    def __len__(self) -> int:
        return len(self._d)

    def clear(self) -> None:
        with self._lock:
            self._d.clear()
            self.held = 0


_DATA = _Lru(14)  # (generation, period, scheme scope, event types …) -> PeriodData + events by subject
_BULK = _Lru(28)  # (content hash, datasets, period, dictionary, subjects) -> BulkResult
_SUBSETS = _Lru(28)  # a bulk run's key -> engine.summary.subset_facts of its events (a card needs them)
_PUBLISHED = _Lru(16)  # publication id -> (frame, left out, extra)
_PUBLISHED_PEERS = _Lru(8)  # publication id -> the peers its subjects were scored among (a full trace needs them)
# (bulk run's key, subject code) -> gzip(card), and (published, database, publication, its hash, subject code) ->
# the stored gzip(card): ~5 kB a card of the provincial template, so ~3,000 cards — a province's period — in 16 MB
# of a worker
_CARDS = _Cards(16 << 20)


def clear_caches() -> None:
    """Forget every cached result (tests; a worker never needs it: keys change with their inputs)."""
    from rulesvc.services import own_schemes

    for c in (_DATA, _BULK, _SUBSETS, _PUBLISHED, _PUBLISHED_PEERS, _COMPILED, _INDEX, _QUOTA, _CARDS, own_schemes._KEPT):
        c.clear()


class _Loaded:
    """A period's data and, made on first use (a card needs it, a ranking does not), the events ordered by
    subject (a stable sort: each subject's events keep the frame's order) with where each subject's run
    starts: a subject's events are then a slice of that frame (no copy), not a gather of its rows."""

    def __init__(self, data: Any) -> None:
        self.data = data
        self._by_subject: tuple[pl.DataFrame, dict[Any, tuple[int, int]]] | None = None
        self._lock = threading.Lock()

    def _runs(self) -> tuple[pl.DataFrame, dict[Any, tuple[int, int]]]:
        with self._lock:
            if self._by_subject is None:
                ev, key = self.data.events, self.data.key
                ordered = ev.sort(key, maintain_order=True, nulls_last=True) if ev.height else ev
                runs: dict[Any, tuple[int, int]] = {}
                if ev.height:
                    counts = ordered.select(pl.col(key).rle()).unnest(key)
                    start = 0
                    for k, n in zip(counts["value"].to_list(), counts["len"].to_list(), strict=True):
                        if k is not None:
                            runs[k] = (start, n)
                        start += n
                self._by_subject = (ordered, runs)
            return self._by_subject

    def events_of(self, key_value: Any) -> pl.DataFrame:
        ordered, runs = self._runs()
        run = runs.get(key_value)
        return ordered.clear() if run is None else ordered.slice(*run)


@dataclass
class Computed:
    """A provisional computation: the period's data, the bulk result and the events by subject."""

    data: Any  # scoring.PeriodData
    bulk: BulkResult
    loaded: _Loaded = field(repr=False)
    key: Hashable = None  # the bulk run's (what every figure of it rests on) and the order of the scheme's parts
    cache_dir: str | Path | None = None  # where the events cache and the card store are

    def events_of(self, key_value: Any) -> pl.DataFrame:
        """The subject's events (the rows of the period's events frame, in their order)."""
        return self.loaded.events_of(key_value)

    def explain(self, compiled: CompiledScheme, row: dict[str, Any], period: str) -> Any:
        """The subject's explanation (``engine.summary.explain_row``) from its bulk row: a card's, without
        reading the subject's events again. The one question of it that needs the events — does one more
        event of a metric count in another too — is answered for every subject at once, on first use."""
        facts = _SUBSETS.get_or_make(self.key, lambda: subset_facts(compiled, self.data.events, self.bulk.key))
        return explain_row(compiled, self.bulk, row, period=period, subsets=facts.get(row[self.bulk.key]),
                           subject_id=row["code"], subject_name=row.get("name") or "")

    def card(self, code: str, make: Callable[[], bytes]) -> bytes:
        """The subject's card as its canonical bytes, made once per bulk run (``make``) and then kept
        compressed — in this process (bounded) and, with a cache directory, on disk for every worker
        and restart (``services.cardstore``): the same run and subject always give the same card."""
        key = (self.key, code)
        found = _CARDS.get(key)
        if found is not None:
            return gzip.decompress(found)
        store = cardstore.store_in(self.cache_dir) if self.cache_dir is not None else None
        run = cardstore.run_digest(self.key) if store is not None else ""
        found = store.get(run, code) if store is not None else None
        if found is not None:
            _CARDS.put(key, found)
            return gzip.decompress(found)
        text = make()
        packed = gzip.compress(text, 1, mtime=0)
        _CARDS.put(key, packed)
        if store is not None:
            store.put(run, code, packed)
        return text


@dataclass
class Figures:
    """The results of one period under one version of a scheme, published or provisional.

    ``frame``: one row per subject taking part (the bulk executor's columns, see
    ``engine.bulk.evaluate_bulk``); ``left_out``: who is not evaluated in the period and why."""

    scheme: Scheme
    version: SchemeVersion
    compiled: CompiledScheme
    period: Period
    frame: pl.DataFrame
    left_out: pl.DataFrame
    key: str
    datasets: tuple[tuple[int, str], ...]
    dictionary_hash: str
    engine_version: str
    publication: Publication | None = None
    computed: Computed | None = None
    extra: pl.DataFrame | None = None

    def _indexed(self) -> dict[Any, Any]:
        """The index kept with the frame (:func:`_index`), made once per frame."""
        frame, index = _INDEX.get_or_make(id(self.frame), lambda: _index(self))
        if frame is not self.frame:  # the id of a frame no longer cached was reused: build afresh
            frame, index = _index(self)
        return index

    def ranked(self) -> pl.DataFrame:
        """:func:`ranked` in the quota group, computed once per frame (kept with the index)."""
        return self._indexed()[None]

    def row(self, code: str) -> dict[str, Any] | None:
        """The subject's row of :func:`ranked` (place, group size, percentile in the quota group), found
        through an index kept with the frame."""
        index = self._indexed()
        i = index.get(code)
        return None if i is None else index[None].row(i, named=True)

    def owner(self, code: str) -> int | None:
        """The procuratorate of the subject's row (None: no row) — what access needs, without reading the
        row's hundred-odd columns (a kept card needs nothing more)."""
        index = self._indexed()
        i = index.get(code)
        return None if i is None else index[_OWNERS][i]

    @property
    def figures(self) -> str:
        return PUBLISHED if self.publication is not None else PROVISIONAL

    @property
    def quota_group(self) -> str:
        """The group places are counted in (``Scheme.rank_group``) — as it was when the figures were published."""
        return rank_group_of(self.compiled.scheme, self.engine_version if self.publication is not None else None)

    def provenance(self) -> dict[str, Any]:
        """What the figures rest on: enough to compute them again, and whether they are published."""
        v = self.version
        out: dict[str, Any] = {
            "period_closed": self.period.end < today(),
            "figures": self.figures,
            "scheme": {"code": self.scheme.code, "name": self.scheme.name, "version_id": v.id, "number": v.number,
                       "status": v.status, "content_hash": self.compiled.scheme.content_hash},
            "datasets": [{"id": i, "content_hash": h} for i, h in self.datasets],
            "dictionary_hash": self.dictionary_hash, "engine_version": self.engine_version,
        }
        out["publication"] = publication_ref(self.publication) if self.publication is not None else None
        return out


_INDEX = _Lru(16)  # id(frame) -> (frame, {code: row number, None: ranked frame})


_OWNERS = ("owners",)  # the index's entry for the rows' procuratorates (no subject code is a tuple)


def _index(fig: Figures) -> tuple[pl.DataFrame, dict[Any, Any]]:
    r = ranked(fig)
    index: dict[Any, Any] = {c: i for i, c in enumerate(r["code"].to_list())}
    index[None] = r
    index[_OWNERS] = r["procuratorate_id"].to_list()
    return fig.frame, index


def publication_ref(p: Publication) -> dict[str, Any]:
    return {"id": p.id, "sequence": p.sequence, "published_at": as_utc(p.published_at).isoformat(timespec="seconds"),
            "published_by": p.published_by, "result_hash": p.result_hash, "supersedes": p.supersedes_id,
            "reason": p.reason}


def parse(text: str, field_name: str = "period") -> Period:
    """A period as written (2020, 2020-Q3, 2020-07), or a field error."""
    try:
        return parse_period(str(text))
    except (DefinitionError, ValueError, OverflowError):
        bad = msg("evaluation.period_bad", period=str(text)[:40])
        raise InvalidInput(bad, errors={field_name: [bad]}) from None


# Scoring reads a version's identity and, once per process (compiled_version), its resolved document:
# the documents are not loaded with the row (each is tens of kB of JSON to decode per request).
_LIGHT = (defer(SchemeVersion.document), defer(SchemeVersion.resolved), defer(SchemeVersion.scenarios),
          defer(SchemeVersion.simulation))


def version_for(session: Session, actor: Actor, p: Period, scheme: str | None, version_id: int | None) -> SchemeVersion:
    """``version_id``, or the version of ``scheme`` in force on the period's first day (the same rules
    as ``versions.get_version`` and ``versions.version_in_effect``)."""
    if version_id is not None:
        v = session.get(SchemeVersion, version_id, options=_LIGHT)
        if v is None:
            raise NotFound(msg("not_found.version", version_id=version_id))
        require_read(actor, v.scheme.procuratorate_id, v.status, what=f"方案版本 {version_id}",
                     absent=msg("not_found.version", version_id=version_id))
        if scheme and v.scheme.code != scheme:  # never the figures of another scheme under this one's code
            bad = msg("scoring.version_other_scheme", version_id=version_id, number=v.number, code=scheme,
                      other=v.scheme.code)
            raise InvalidInput(bad, errors={"version_id": [bad]})
        return v
    if not scheme:
        raise InvalidInput(msg("evaluation.scheme_or_version"), errors={"scheme": [msg("evaluation.scheme_or_version")]})
    s = versions.get_scheme(session, actor, scheme)
    return _in_force(p, scheme, session.scalars(_statements()["in_force"], {"scheme_id": s.id, "on": p.start}))


def _in_force(p: Period, scheme: str, candidates: Iterable[SchemeVersion]) -> SchemeVersion:
    """Of a scheme's versions in the order of their numbers, the one in force on the period's first day."""
    on = p.start
    for v in candidates:
        if can_be_in_force(v.status) and v.effective_from is not None and v.effective_from <= on \
                and (v.effective_to is None or on <= v.effective_to):
            return v
    raise NotFound(msg("not_found.in_force", code=scheme, date=on.isoformat()))


_COMPILED = _Lru(32)  # (version id, content hash, lock version, dictionary) -> CompiledScheme


def compiled_version(v: SchemeVersion, dictionary: Dictionary) -> CompiledScheme:
    """The version compiled, once per process for each content of it (a draft's content changes with
    its lock version; a submitted version's never)."""
    def make() -> CompiledScheme:
        try:
            return compile_cached(load_scheme(v.resolved if v.resolved is not None else versions.resolve(v)),
                                  dictionary)
        except (DocumentError, DefinitionError):  # a draft that does not load or compile yet
            bad = msg("simulation.version_invalid", number=v.number, code=v.scheme.code)
            raise InvalidInput(bad, errors={"version_id": [bad]}) from None

    return _COMPILED.get_or_make((database(session_of(v)), v.id, v.content_hash, v.lock_version,
                                  dictionary.content_hash), make)


@functools.cache
def _statements() -> dict[str, Any]:
    """The statements every scoring request runs, built once (building one costs more than running it)."""
    other = aliased(Publication)
    latest = (select(other.id).where(other.scheme_id == Scheme.id, other.period == bindparam("period"))
              .order_by(other.sequence.desc()).limit(1).correlate(Scheme).scalar_subquery())
    return {
        # (scheme, a version that may be in force on "on" or None, the latest publication or None), by number
        "by_code": select(Scheme, SchemeVersion, Publication).outerjoin(SchemeVersion, and_(
            SchemeVersion.scheme_id == Scheme.id, SchemeVersion.effective_from.is_not(None),
            SchemeVersion.effective_from <= bindparam("on"))).outerjoin(Publication, Publication.id == latest)
        .options(*_LIGHT).where(Scheme.code == bindparam("code")).order_by(SchemeVersion.number),
        "publication": select(Publication).options(joinedload(Publication.version).options(*_LIGHT)).where(Publication.scheme_id == bindparam("scheme_id"),
                                                 Publication.period == bindparam("period"))
        .order_by(Publication.sequence.desc()).limit(1),
        "in_force": select(SchemeVersion).options(*_LIGHT).where(
            SchemeVersion.scheme_id == bindparam("scheme_id"), SchemeVersion.effective_from.is_not(None),
            SchemeVersion.effective_from <= bindparam("on")).order_by(SchemeVersion.number),
    }


def current_publication(session: Session, scheme_id: int, period: str) -> Publication | None:
    """The latest publication of a scheme's period (a correction supersedes the one before it)."""
    return session.scalar(_statements()["publication"], {"scheme_id": scheme_id, "period": period})


def figures(session: Session, actor: Actor, dictionary: Dictionary, *, period: str | Period, scheme: str | None = None,
            version_id: int | None = None, cache_dir: str | Path | None = None,
            provisional: bool = False) -> Figures:
    """The results of ``period``: published when a publication covers the request (see the module's
    docstring), else computed now. ``provisional=True`` computes now even when published (publishing
    itself; a full trace of a published card)."""
    p = period if isinstance(period, Period) else parse(period)
    if scheme and version_id is None:
        # The usual request: the scheme, its versions that may be in force on the period's first day and
        # its latest publication of the period, in one query (three, asked one by one, cost more than the
        # scoring of a kept card).
        found = session.execute(_statements()["by_code"], {"code": scheme, "on": p.start, "period": p.label}).all()
        if not found:
            raise NotFound(msg("not_found.scheme", code=scheme))
        versions.check_scheme(actor, found[0][0])
        if not provisional and found[0][2] is not None:
            return published_figures(found[0][2], dictionary)
        return provisional_figures(session, _in_force(p, scheme, [v for _, v, _ in found if v is not None]),
                                   dictionary, p, cache_dir=cache_dir)
    v = version_for(session, actor, p, scheme, version_id)
    if not provisional and version_id is not None:
        pub = current_publication(session, v.scheme_id, p.label)
        if pub is not None and pub.version_id == v.id:
            return published_figures(pub, dictionary)
    return provisional_figures(session, v, dictionary, p, cache_dir=cache_dir)


def no_data(p: Period, label: str | None = None) -> Msg:
    """``scoring.no_data`` for ``p`` — saying so when the period has not begun yet (a bulletin asking for next
    month by mistake was told to import its data)."""
    later = p.start > localtime.today()
    return msg("scoring.no_data", period=label or p.label,
               later=f"（{p.label} 尚未开始：今天是 {localtime.today()}）" if later else "",
               later_en=f" ({p.label} has not begun: today is {localtime.today()})" if later else "")


def require_data(fig: Figures) -> Figures:
    """``fig``, if it has figures to give: published, or computed on events some dataset in use holds for
    the period. A period no event dataset covers (a year mistyped, a month not imported yet) would score
    everyone as having done nothing — raised as ``scoring.no_data`` (404) instead."""
    if fig.publication is None and not fig.datasets:
        raise NotFound(no_data(fig.period))
    return fig


def provisional_figures(session: Session, v: SchemeVersion, dictionary: Dictionary, p: Period, *,
                        cache_dir: str | Path | None = None, dataset_ids: list[int] | None = None) -> Figures:
    compiled = compiled_version(v, dictionary)
    computed = compute(session, compiled, dictionary, p, cache_dir=cache_dir, dataset_ids=dataset_ids)
    return Figures(v.scheme, v, compiled, p, computed.bulk.frame, computed.bulk.left_out, computed.bulk.key,
                   computed.data.datasets, dictionary.content_hash, ENGINE_VERSION, computed=computed)


def generation(session: Session) -> tuple[Any, ...]:
    """Changes whenever facts or reference data may have changed: every import (events or reference
    data) adds a dataset, every withdrawal a row (datasets are immutable)."""
    return data_state(session)


def loaded_period(session: Session, compiled: CompiledScheme, dictionary: Dictionary, p: Period, *,
                  cache_dir: str | Path | None = None, dataset_ids: list[int] | None = None,
                  gen: tuple[Any, ...] | None = None) -> tuple[_Loaded, bool]:
    """The period's data for ``compiled`` (its subjects and the events of the types it reads), from this
    process's cache when there: (the data, whether it was already kept). Also what a draft's impact reads.
    ``gen``: the data's generation, when the caller has just read it."""
    gen = gen or (database(session), *generation(session))
    scope = (compiled.scheme.subject, compiled.scheme.org)
    dkey = (gen, p.label, scope, tuple(sorted(compiled.event_types)), dictionary.content_hash,
            tuple(dataset_ids) if dataset_ids is not None else None)
    kept = _DATA.has(dkey)
    return _DATA.get_or_make(dkey, lambda: _Loaded(scoped(period_data(
        session, compiled, dictionary, p, dataset_ids, cache_dir=Path(cache_dir) if cache_dir else None)))), kept


def compute(session: Session, compiled: CompiledScheme, dictionary: Dictionary, p: Period, *,
            cache_dir: str | Path | None = None, dataset_ids: list[int] | None = None) -> Computed:
    """The period scored now (cached: see the module's docstring)."""
    gen = (database(session), *generation(session))
    scope = (compiled.scheme.subject, compiled.scheme.org)
    loaded, _ = loaded_period(session, compiled, dictionary, p, cache_dir=cache_dir, dataset_ids=dataset_ids, gen=gen)
    data = loaded.data
    bkey = (compiled.scheme.content_hash, data.dataset_hashes, p.label, dictionary.content_hash, gen, scope)
    bulk = _BULK.get_or_make(bkey, lambda: evaluate_bulk(compiled, data.events, data.subjects, key=data.key,
                                                         period=data.span))
    return Computed(data, bulk, loaded, (bkey, parts_order(compiled.scheme)),  # a card lists parts in that order
                    cache_dir)


def scoped(data: Any) -> Any:
    """The period's data with only the events of the subjects the scheme scores (a county's scheme keeps
    its county's events, not the province's): the same bulk result — events are aggregated per subject
    and joined to the subjects — held in a fraction of the memory."""
    if data.subjects.height == 0 or data.events.height == 0:
        return data
    keys = data.subjects[data.key].unique().implode()
    inside = pl.col(data.key).is_in(keys).fill_null(False) | pl.col(data.key).is_null()
    if data.events.select(inside.all()).item():
        return data  # nothing outside the scope (the province's own scheme)
    return dataclasses.replace(data, events=data.events.filter(inside))


def published_figures(pub: Publication, dictionary: Dictionary) -> Figures:
    frame, left_out, extra = _PUBLISHED.get_or_make((database(session_of(pub)), pub.id), lambda: (
        read_parquet(pub.frame), read_parquet(pub.left_out), read_parquet(pub.extra) if pub.extra else None))
    v = session_of(pub).get(SchemeVersion, pub.version_id, options=_LIGHT)
    assert v is not None  # a publication's version is never deleted (it left draft)
    compiled = compiled_version(v, dictionary)
    return Figures(pub.scheme, v, compiled, parse_period(pub.period), frame, left_out, KEYS[compiled.scheme.subject],
                   tuple((int(i), str(h)) for i, h in pub.datasets), pub.dictionary_hash, pub.engine_version,
                   publication=pub, extra=extra)


def published_peers(fig: Figures) -> PeerContext | None:
    """The peers the subjects of a publication were scored among (``engine.bulk.peers_of_frame`` of its stored
    frame): None for a publication stored without them (before 2026-12-07)."""
    pub = fig.publication
    assert pub is not None
    return _PUBLISHED_PEERS.get_or_make((database(session_of(pub)), pub.id),
                                        lambda: peers_of_frame(fig.compiled, fig.frame, fig.key))


def published_card(pub: Publication, code: str) -> bytes | None:
    """A subject's card in a publication, as its canonical bytes (None: not in it). Read from the database
    once per worker, then kept compressed with the provisional cards (``_CARDS``, bounded): a publication's
    cards never change (database triggers), and the key holds its result hash besides its id, so a database
    built again under the same address cannot answer another publication's card."""
    key = ("published", database(session_of(pub)), pub.id, pub.result_hash, code)
    found = _CARDS.get(key)
    if found is None:
        found = session_of(pub).connection().execute(_card_statement(), {"pub": pub.id, "code": code}).scalar()
        if found is None:
            return None
        _CARDS.put(key, found)
    return gzip.decompress(found)


@functools.cache
def _card_statement() -> Any:
    """A published card's stored bytes (built once: building a statement costs more than running it)."""
    return select(PublicationCard.card).where(PublicationCard.publication_id == bindparam("pub"),
                                              PublicationCard.code == bindparam("code"))


def session_of(obj: Any) -> Session:
    session = _object_session(obj)
    assert session is not None
    return session


def write_parquet(frame: pl.DataFrame) -> bytes:
    buf = io.BytesIO()
    frame.write_parquet(buf, compression="zstd", statistics=False)
    return buf.getvalue()


def read_parquet(data: bytes) -> pl.DataFrame:
    return pl.read_parquet(io.BytesIO(data))


# ---------------------------------------------------------------------------------------------- ranks


RANKS_BY_PEER_GROUP = (2026, 12, 12)  # the engine that first placed the subjects of a scheme without grades by its peer group


def rank_group_of(scheme: Any, published_by: str | None = None) -> str:
    """``scheme.rank_group``; for figures published by an engine before 2026.12.12, "all" when the scheme has no
    grades — places were then counted among everyone, and a publication's places never move."""
    if scheme.grading is None and published_by is not None:
        try:
            older = tuple(int(p) for p in published_by.split(".")) < RANKS_BY_PEER_GROUP
        except ValueError:
            older = False
        if older:
            return "all"
    return str(scheme.rank_group)


def ranked(fig: Figures, group: str | None = None) -> pl.DataFrame:
    """The frame with ``place`` (among the evaluated subjects of ``group``, default the quota group;
    ties share the better place), ``group_size`` and ``percentile`` (100 = best of the group, 0 = last)."""
    group = group or fig.quota_group
    f = fig.frame
    g = pl.lit(0) if group == "all" else pl.col(GROUP_COLUMNS[group])
    ev = pl.col("status") == EVALUATED
    place = pl.when(ev).then(pl.col("total")).rank("min", descending=True).over(g).cast(pl.Int64)
    size = ev.sum().over(g).cast(pl.Int64)
    f = f.with_columns(place.alias("place"), pl.when(ev).then(size).alias("group_size"))
    pct = pl.when(pl.col("group_size") > 1).then(
        100.0 * (pl.col("group_size") - pl.col("place")) / (pl.col("group_size") - 1)).otherwise(100.0).round(2)
    return f.with_columns(pl.when(ev).then(pct).alias("percentile"))


def quota_use(fig: Figures) -> list[dict[str, Any]]:
    """Per band with a quota, per quota group: places available, taken and reached (made once per
    frame: one aggregation over the quota groups for every band)."""
    g = fig.compiled.scheme.grading
    if g is None or not any(b.quota is not None for b in g.bands):
        return []
    frame, use = _QUOTA.get_or_make(id(fig.frame), lambda: (fig.frame, quota_counts(fig.frame, g)))
    if frame is not fig.frame:  # the id of a frame no longer cached was reused: count afresh
        use = quota_counts(fig.frame, g)
    return [dict(u) for u in use]


def quota_use_within(fig: Figures, ids: set[int] | frozenset[int]) -> list[dict[str, Any]]:
    """:func:`quota_use` over the quota groups whose evaluated subjects all belong to the procuratorates
    ``ids`` (a county's tree, a procuratorate asked for): what that part of the province holds of its own
    places — never a group only partly inside (places are decided per whole group)."""
    g = fig.compiled.scheme.grading
    if g is None or not any(b.quota is not None for b in g.bands):
        return []
    ev = fig.frame.filter(pl.col("status") == EVALUATED)
    inside = pl.col("procuratorate_id").is_in(sorted(ids))
    gcol = None if g.quota_group == "all" else GROUP_COLUMNS[g.quota_group]
    if gcol is None:
        whole = ev if ev.select(inside.all()).item() else ev.clear()
    else:
        whole = ev.filter(inside.all().over(gcol))
    return quota_counts(whole, g)


def quota_counts(frame: pl.DataFrame, g: Any) -> list[dict[str, Any]]:
    """Per band of grading ``g`` with a quota, over the quota groups of ``frame``'s evaluated rows: their
    size, the places the quota gives (decided per group), how many hold the grade and how many reach its
    lower bound without being graded a better band (``bulk.reached_band``)."""
    bands = [b for b in g.bands if b.quota is not None]
    ev = frame.filter(pl.col("status") == EVALUATED)
    gcol = None if g.quota_group == "all" else GROUP_COLUMNS[g.quota_group]
    counts = [pl.len().alias("size")]
    for i, b in enumerate(bands):
        counts += [(pl.col("grade") == b.grade).sum().alias(f"taken{i}"), reached_band(g, b).sum().alias(f"reached{i}")]
    per_group = ev.group_by(gcol).agg(counts) if gcol else ev.select(counts)
    sizes = per_group["size"].to_list() if ev.height else []
    out = []
    for i, b in enumerate(bands):
        places = [quota_places(b.quota, n, b.quota_rounding) for n in sizes]
        taken = per_group[f"taken{i}"].to_list() if sizes else []
        out.append({"grade": b.grade, "quota": b.quota, "quota_group": g.quota_group, "size": sum(sizes),
                    "below_best": b is not g.bands[0],  # "reached" leaves out those graded a better band
                    "places": sum(places), "taken": int(sum(taken)),
                    "reached": int(per_group[f"reached{i}"].sum()) if sizes else 0,
                    # places left empty in groups where fewer reach the line than the quota gives: with places
                    # decided per group, "55 reach, 43 places, 39 given" adds up only with them (a reviewer asked)
                    "unused": int(sum(max(0, p - t) for p, t in zip(places, taken, strict=True))),
                    "groups": len(sizes)})
    return out


_QUOTA = _Lru(16)  # id(frame) -> (frame, quota use)


def today() -> dt.date:
    return localtime.today()


__all__ = ["PROVISIONAL", "PUBLISHED", "Computed", "Figures", "clear_caches", "compute", "current_publication",
           "figures", "parse", "published_figures", "quota_use", "ranked", "subjects_for", "version_for"]
