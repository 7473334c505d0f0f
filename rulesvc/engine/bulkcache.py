"""One metrics pass for several versions: the aggregations of ``bulk.phase_metrics`` kept across calls.

A simulation scores a candidate and a baseline version on the same events. The two share most metric,
adjustment and veto definitions, and aggregating the events is nearly all of a bulk run (measured on
the demo year: ~0.9 of ~1.0 s). So each aggregation is identified by what it computes — the polars
expression itself, serialised without its output name, so the same definition under another code
is recognised — and computed once per events frame: a later call computes only the aggregations it
does not find, in one group-by over the same rows, and joins them on.

What a cached column depends on, and so what its entry is keyed by: the events (``events_key`` given by
the caller, else the frame object, held by a weak reference so a reused ``id`` cannot match), the
subject key column, and the event types of the scheme (they decide which rows are grouped, so which
subjects have a row at all: a subject with no relevant event has null metrics, filled by the caller).
"""

from __future__ import annotations

import hashlib
import weakref
from collections.abc import Hashable
from dataclasses import dataclass, field
from typing import Any

import polars as pl

from rulesvc.engine.compile import CompiledScheme

MAX_ENTRIES = 8  # events frames remembered per cache dict (oldest dropped first)
_TAG = "bulkcache"


@dataclass
class _Entry:
    frame: pl.DataFrame | None = None  # the key column and one column per aggregation fingerprint
    patterns: dict[str, pl.DataFrame] = field(default_factory=dict)  # fingerprint -> (key, count)
    events: weakref.ref[pl.DataFrame] | None = None


def fingerprint(*exprs: pl.Expr, extra: str = "") -> str | None:
    """What the expressions compute, whatever their output names; None when one cannot be serialised."""
    h = hashlib.sha256(extra.encode())
    try:
        for e in exprs:
            h.update(e.meta.undo_aliases().meta.serialize())
            h.update(b"\x00")
    except Exception:  # an expression polars cannot serialise: not cached
        return None
    return h.hexdigest()[:24]


def _entry(store: dict[Any, Any], events: pl.DataFrame, key: str, types: frozenset[str],
           events_key: Hashable | None) -> _Entry:
    token = ("key", events_key) if events_key is not None else ("id", id(events))
    k = (_TAG, token, key, tuple(sorted(types)))
    found = store.get(k)
    if isinstance(found, _Entry) and (found.events is None or found.events() is events):
        return found
    for old in [o for o, e in store.items() if isinstance(o, tuple) and o[:1] == (_TAG,)
                and e.events is not None and e.events() is None]:
        del store[old]  # frames gone
    ours = [o for o in store if isinstance(o, tuple) and o[:1] == (_TAG,) and o != k]
    for old in ours[: max(0, len(ours) - MAX_ENTRIES + 1)]:
        del store[old]
    entry = _Entry(events=None if events_key is not None else weakref.ref(events))
    store[k] = entry
    return entry


def aggregate(compiled: CompiledScheme, events: pl.DataFrame, key: str, store: dict[Any, Any],
              events_key: Hashable | None = None) -> tuple[pl.DataFrame, list[str]]:
    """The same frame and count names as ``bulk._aggregate`` (rows in another order), computing only the
    aggregations ``store`` does not hold yet for these events."""
    from rulesvc.engine.bulk import (
        _aggregate,
        _count_aggs,
        _each_part,
        _metric_aggs,
        _pattern_cases,
        _pattern_plan,
        _stack,
    )

    counts = _count_aggs(compiled)
    aggs = _metric_aggs(compiled) + counts
    named = [(e.meta.output_name(), fingerprint(e)) for e in aggs]
    patterns = [(ca, fingerprint(*steps, holds, extra="|".join(types)))
                for ca in compiled.adjustments if ca.pattern for steps, holds, types in [_pattern_plan(ca)]]
    if any(fp is None for _, fp in named) or any(fp is None for _, fp in patterns):
        return _aggregate(compiled, events, key)
    entry = _entry(store, events, key, compiled.event_types, events_key)
    have = set(entry.frame.columns) if entry.frame is not None else set()
    missing = {str(fp): e for e, (_, fp) in zip(aggs, named, strict=True) if fp not in have}
    new_patterns = {str(pfp): ca for ca, pfp in patterns if pfp not in entry.patterns}
    if missing or new_patterns:
        # One pass over the events (in parts by subject when they are many: bulk._each_part) for all
        # that is missing: the aggregations in one group-by, each new case pattern in its own.
        def one(relevant: pl.DataFrame) -> tuple[pl.DataFrame | None, dict[str, pl.DataFrame]]:
            new = relevant.group_by(key).agg([e.alias(fp) for fp, e in missing.items()]) if missing else None
            return new, {fp: _pattern_cases(ca, relevant, key).rename({f"adjn__{ca.adjustment.code}": fp})
                         for fp, ca in new_patterns.items()}

        parts = _each_part(compiled, events, key, one)
        if missing:
            new = _stack([f for f, _ in parts if f is not None])
            entry.frame = new if entry.frame is None else entry.frame.join(new, on=key, how="left")
        for fp in new_patterns:
            entry.patterns[fp] = _stack([p[fp] for _, p in parts])
        del parts
    assert entry.frame is not None
    out = entry.frame.select(pl.col(key), *[pl.col(str(fp)).alias(name) for name, fp in named])
    for ca, pfp in patterns:
        assert pfp is not None
        out = out.join(entry.patterns[pfp].rename({pfp: f"adjn__{ca.adjustment.code}"}), on=key, how="left")
    names = [e.meta.output_name() for e in counts] + [f"adjn__{ca.adjustment.code}" for ca, _ in patterns]
    return out, names
