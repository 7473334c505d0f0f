"""Hold the executors together: the bulk result of every subject against a per-subject evaluation.

Used by the differential tests and by ``bench/``; returns the differences instead of asserting, so a
failure lists every subject and every field that disagrees. Both executors run the same phases by the
same names (``evaluate.PHASES``: ``phase_metrics`` … ``phase_grade`` in ``evaluate`` and in ``bulk``);
each difference names the phase whose output it is, and a subject's differences come in phase order,
so the first one points at the phase where the executors part.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import polars as pl

from rulesvc.engine import result as R
from rulesvc.engine.bulk import BulkResult, subject_of
from rulesvc.engine.compile import CompiledScheme
from rulesvc.engine.evaluate import PHASES, Decider, evaluate_subject

TOLERANCE = 1e-9
# The phase that decides each kind of fired rule id.
FIRED_PHASE = {"ind": "points", "veto": "vetoes", "adj": "adjustments", "grade": "grade"}


@dataclass(frozen=True)
class Difference:
    subject: str
    what: str
    bulk: object
    single: object
    phase: str = ""  # one of ``evaluate.PHASES``


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
        found = _differences(compiled, bulk, row, r)
        diffs.extend(sorted(found, key=lambda d: PHASES.index(d.phase)))
    return len(rows), diffs


def summary_differences(row: R.Result, single: R.Result) -> list[str]:
    """Where a result assembled from a bulk row (``engine.summary.explain_row``) and a per-subject result
    part, on what a card shows: every trace field but metric traces and event ids (which a row has not),
    numbers within :data:`TOLERANCE` (a row's metrics may be an ulp off a per-subject aggregation), all
    else equal — the rule, note and "what it would take" in words."""
    out: list[str] = []
    skip = {"event_ids", "case_ids", "metrics", "executor", "fired"}

    def walk(where: str, a: Any, b: Any) -> None:
        if isinstance(a, float) and isinstance(b, float) or isinstance(a, float) and isinstance(b, int) \
                or isinstance(a, int) and isinstance(b, float):
            if not _close(float(a), float(b)) and not (math.isnan(a) and math.isnan(b)):
                out.append(f"{where}: {a!r} (row) vs {b!r} (events)")
        elif isinstance(a, dict) and isinstance(b, dict):
            for k in a.keys() | b.keys():
                if k not in skip:
                    walk(f"{where}.{k}", a.get(k), b.get(k))
        elif isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
            if len(a) != len(b):
                out.append(f"{where}: {len(a)} items (row) vs {len(b)} (events)")
            for i, (x, y) in enumerate(zip(a, b, strict=False)):
                walk(f"{where}[{getattr(x, 'get', lambda _k: None)('code') or i}]", x, y)
        elif a != b:
            out.append(f"{where}: {a!r} (row) vs {b!r} (events)")

    walk(single.subject, row.as_dict(), single.as_dict())
    return out


def _differences(compiled: CompiledScheme, bulk: BulkResult, row: dict[str, Any], r: R.Result) -> list[Difference]:
    """One subject's differences, each under the phase whose output it is."""
    name = str(row[bulk.key])
    out: list[Difference] = []

    def differ(phase: str, what: str, b: object, s: object) -> None:
        out.append(Difference(name, what, b, s, phase))

    for m in r.metrics:
        if not _close(row.get(m.code), m.value):
            differ("metrics", f"metric {m.code}", row.get(m.code), m.value)
    for col, got in (("status", r.status), ("status_code", r.status_code)):
        if (row.get(col) or "") != got:
            differ("participation", col, row.get(col), got)
    for ind in r.indicators:
        if not _close(row.get(ind.code), ind.value):
            differ("indicators", f"value {ind.code}", row.get(ind.code), ind.value)
        if ind.method is None:
            continue
        if row.get(f"applies__{ind.code}") and not _close(row.get(f"x__{ind.code}"), ind.x):
            differ("peers", f"x {ind.code}", row.get(f"x__{ind.code}"), ind.x)
        b_pts = row.get(f"pts__{ind.code}")
        s_pts = ind.points if ind.counted else None
        if not _close(b_pts, s_pts):
            differ("points", f"points {ind.code}", b_pts, s_pts)
        if not _close(row.get(f"contrib__{ind.code}"), ind.contribution if ind.counted else None):
            differ("combine", f"contribution {ind.code}", row.get(f"contrib__{ind.code}"), ind.contribution)
    adj = {a.code: a.points for a in r.adjustments}
    for ca in compiled.adjustments:
        code = ca.adjustment.code
        if not _close(row[f"adj__{code}"], adj.get(code, 0.0)):
            differ("adjustments", f"adjustment {code}", row[f"adj__{code}"], adj.get(code, 0.0))
    if not _close(row["total"], r.total):
        differ("combine", "total", row["total"], r.total)
    if not _close(math.fsum(ln.points for ln in r.attribution), r.total):
        differ("combine", "attribution does not add up", r.total, [ln.points for ln in r.attribution])
    if row["grade"] != r.grade:
        differ("grade", "grade", row["grade"], r.grade)
    fired = bulk.fired(row, compiled)
    for phase in dict.fromkeys(FIRED_PHASE.values()):
        only_bulk = sorted(f for f in fired - r.fired if FIRED_PHASE[f.split(":", 1)[0]] == phase)
        only_single = sorted(f for f in r.fired - fired if FIRED_PHASE[f.split(":", 1)[0]] == phase)
        if only_bulk or only_single:
            differ(phase, "fired", only_bulk, only_single)
    return out
