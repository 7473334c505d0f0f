"""Hold the executors together: the bulk result of every subject against a per-subject evaluation.

Used by the differential tests and by ``bench/``; returns the differences instead of asserting, so a
failure lists every subject and every field that disagrees.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import polars as pl

from rulesvc.engine.bulk import BulkResult, subject_of
from rulesvc.engine.compile import CompiledScheme
from rulesvc.engine.evaluate import Decider, evaluate_subject

TOLERANCE = 1e-9


@dataclass(frozen=True)
class Difference:
    subject: str
    what: str
    bulk: object
    single: object


def _close(a: float | None, b: float | None) -> bool:
    if a is None or b is None:
        return a is None and b is None
    return math.isclose(a, b, rel_tol=TOLERANCE, abs_tol=TOLERANCE)


def compare(compiled: CompiledScheme, bulk: BulkResult, events: pl.DataFrame, decider: Decider, *,
            period: str = "", limit: int | None = None) -> tuple[int, list[Difference]]:
    """Evaluate every subject of ``bulk`` one by one with ``decider``; return (subjects, differences)."""
    key = bulk.key
    by_subject = events.filter(pl.col(key).is_not_null()).partition_by(key, as_dict=True)
    diffs: list[Difference] = []
    rows = bulk.frame.to_dicts()
    if limit is not None:
        rows = rows[:limit]
    for row in rows:
        sid = row[key]
        sub_events = by_subject.get((sid,))
        evs = sub_events.to_dicts() if sub_events is not None else []
        r = evaluate_subject(compiled, subject_of(row, key), evs, period=period, decider=decider, peers=bulk.peers)
        name = str(sid)
        for ind in r.indicators:
            if ind.method is None:
                continue
            b_pts = row.get(f"pts__{ind.code}")
            s_pts = ind.points if ind.scored else None
            if not _close(b_pts, s_pts):
                diffs.append(Difference(name, f"points {ind.code}", b_pts, s_pts))
            if not _close(row.get(f"contrib__{ind.code}"), ind.contribution if ind.scored else None):
                diffs.append(Difference(name, f"contribution {ind.code}", row.get(f"contrib__{ind.code}"), ind.contribution))
            if not _close(row.get(ind.code), ind.value):
                diffs.append(Difference(name, f"value {ind.code}", row.get(ind.code), ind.value))
        adj = {a.code: a.points for a in r.adjustments}
        for ca in compiled.adjustments:
            code = ca.adjustment.code
            if not _close(row[f"adj__{code}"], adj.get(code, 0.0)):
                diffs.append(Difference(name, f"adjustment {code}", row[f"adj__{code}"], adj.get(code, 0.0)))
        if not _close(row["total"], r.total):
            diffs.append(Difference(name, "total", row["total"], r.total))
        if row["grade"] != r.grade:
            diffs.append(Difference(name, "grade", row["grade"], r.grade))
        fired = bulk.fired(row, compiled)
        if fired != r.fired:
            diffs.append(Difference(name, "fired", sorted(fired - r.fired), sorted(r.fired - fired)))
        if not _close(math.fsum(ln.points for ln in r.attribution), r.total):
            diffs.append(Difference(name, "attribution does not add up", r.total, [ln.points for ln in r.attribution]))
    return len(rows), diffs
