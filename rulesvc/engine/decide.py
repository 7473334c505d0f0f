"""Decisions: which scoring branch holds each indicator's x, which events (or cases) match each
adjustment and veto. A :class:`Decider` makes them for the per-subject executor
(``rulesvc.engine.evaluate``): plain Python (:class:`PythonDecider`, the reference) or durable_rules
(``rulesvc.engine.durable_decider``). The bulk executor makes the same decisions column-wise.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from itertools import compress
from operator import itemgetter
from typing import Any, Protocol

from rulesvc.engine.compile import CompiledAdjustment, CompiledPatternStep, CompiledScheme, Predicate
from rulesvc.engine.expr.compile_columns import Block, Unsupported

Row = Mapping[str, Any]


@dataclass(frozen=True)
class Decisions:
    """What fired: branch per indicator, matching event (or case) ids per adjustment and veto.

    ``adjustments`` holds what an adjustment counts — event ids, or case ids for ``per_case`` and
    patterns; ``adjustment_events`` holds the event ids behind the cases of those. ``counts`` says how
    many an adjustment (``adj:<code>``) or veto (``veto:<code>``) matched when its ids are not at hand —
    decisions read off a bulk row (``rulesvc.engine.summary``) know how many, not which."""

    branches: Mapping[str, str]
    adjustments: Mapping[str, tuple[str, ...]]
    vetoes: Mapping[str, tuple[str, ...]]
    adjustment_events: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    counts: Mapping[str, int] = field(default_factory=dict)

    def matched(self, kind: str, code: str) -> tuple[int, tuple[str, ...]]:
        """How many an adjustment (``kind`` "adj") or veto ("veto") matched, and the ids known."""
        ids = (self.adjustments if kind == "adj" else self.vetoes).get(code, ())
        return (len(ids) if ids else self.counts.get(f"{kind}:{code}", 0)), ids


@dataclass(frozen=True)
class DecisionInput:
    """What a decider needs: x per scored indicator (None = missing), the events, the case facts."""

    x: Mapping[str, float | None]
    events: Sequence[Row]
    cases: Sequence[Row] = ()  # one per (adjustment with a pattern, case): {"adj", "case_id", step: count}


class Decider(Protocol):
    name: str

    def decide(self, compiled: CompiledScheme, facts: DecisionInput) -> Decisions: ...


def matches(pred: Predicate | None, types: frozenset[str], event: Row) -> bool:
    return event["event_type"] in types and (pred is None or pred.py(event))


class EventBlocks(dict[Any, Block]):
    """One evaluation's events as column blocks (``expr.compile_columns``), made on first use: by event
    type, or for a tuple of types their events one type after the other. The metrics and the case
    facts share them, so a column read or a test made for one is not made again for the other."""

    def __init__(self, by_type: Mapping[str, Sequence[Row]]) -> None:
        super().__init__()
        self.by_type = by_type

    def __missing__(self, key: str | tuple[str, ...]) -> Block:
        if isinstance(key, str):
            rows: Sequence[Row] = self.by_type.get(key, [])
        else:
            rows = [e for t in key for e in self.by_type.get(t, ())]
        block = self[key] = Block(rows)
        return block


def case_facts(compiled: CompiledScheme, events: Sequence[Row],
               by_type: Mapping[str, list[Row]] | None = None,
               blocks: EventBlocks | None = None) -> list[dict[str, Any]]:
    """Per pattern adjustment and case: how many events of the case satisfy each step.
    ``by_type`` is ``by_event_type(events)`` when the caller has it (and ``blocks`` its column blocks).
    The key ``_events`` (never asserted as a fact) lists the ids of the events that matched a step.
    A step with ``sum`` adds up that field of its events (a missing value adds nothing) instead of
    counting them."""
    out: list[dict[str, Any]] = []
    for ca in compiled.adjustments:
        if not ca.pattern:
            continue
        per_case: dict[str, dict[str, Any]] = {}
        types = frozenset().union(*(st.types for st in ca.pattern))
        # Counting does not depend on the order the events come in.
        if by_type is None:
            _count_cases(ca, events, types, per_case)
        else:
            if blocks is None:
                blocks = EventBlocks(by_type)
            for t in sorted(types):
                block = blocks[t]
                if block.rows and not _count_cases_by_columns(ca, t, block, per_case):
                    _count_cases(ca, block.rows, types, per_case)
        out.extend(per_case[c] for c in sorted(per_case))
    order: dict[Any, int] = {}
    for row in out:
        if len(row["_events"]) > 1:  # one event is in order already
            if not order:  # the last of a repeated id
                order = dict(zip(map(itemgetter("event_id"), events), range(len(events)), strict=True))
            row["_events"] = sorted(row["_events"], key=lambda i: order.get(i, math.inf))
    return out


def _count_cases(ca: CompiledAdjustment, pool: Iterable[Row], types: frozenset[str],
                 per_case: dict[str, dict[str, Any]]) -> None:
    """Add the events of ``pool`` to the cases' step counts, row by row."""
    for e in pool:
        cid = e.get("case_id")
        if not cid or e["event_type"] not in types:
            continue
        for st in ca.pattern:
            if matches(st.where, st.types, e):
                _add(ca, st, e, cid, per_case)


def _count_cases_by_columns(ca: CompiledAdjustment, etype: str, block: Block,
                            per_case: dict[str, dict[str, Any]]) -> bool:
    """:func:`_count_cases` for the events of one type, each step's filter tested column-wise first
    (then only the events some step matched are visited, in order). False, having added nothing,
    when the block must be counted row by row."""
    steps: list[tuple[CompiledPatternStep, list[bool] | None]] = []
    try:
        for st in ca.pattern:
            if etype in st.types:
                steps.append((st, st.mask(block) if st.mask is not None else None))
    except Unsupported:
        return False
    if not steps:
        return True
    rows = block.rows
    if any(m is None for _, m in steps):
        hit: Iterable[int] = range(len(rows))
    else:
        masks = [m for _, m in steps if m is not None]
        any_step = masks[0] if len(masks) == 1 else list(map(any, zip(*masks, strict=True)))
        hit = compress(range(len(rows)), any_step)
    for i in hit:
        e = rows[i]
        cid = e.get("case_id")
        if not cid:
            continue
        for st, m in steps:
            if m is None or m[i]:
                _add(ca, st, e, cid, per_case)
    return True


def _add(ca: CompiledAdjustment, st: CompiledPatternStep, e: Row, cid: str,
         per_case: dict[str, dict[str, Any]]) -> None:
    row = per_case.get(cid)
    if row is None:
        row = per_case[cid] = {"adj": ca.adjustment.code, "case_id": cid, **{s.name: 0 for s in ca.pattern},
                               "_events": []}
    if st.sum is None:
        row[st.name] += 1
    else:
        v = e.get(st.sum)
        row[st.name] += float(v) if v is not None else 0.0
    if not row["_events"] or row["_events"][-1] != e["event_id"]:
        row["_events"].append(e["event_id"])


def distinct_cases(events: Iterable[Row]) -> tuple[str, ...]:
    """Case ids of ``events`` in order of first appearance; events without a case do not count."""
    return tuple(dict.fromkeys(e["case_id"] for e in events if e.get("case_id")))


def pattern_holds(ca: CompiledAdjustment, case: Row) -> bool:
    return case["adj"] == ca.adjustment.code and all(case[st.name] >= st.at_least for st in ca.pattern)


def branches_for(compiled: CompiledScheme, xs: Mapping[str, float | None]) -> dict[str, str]:
    """The branch that holds each x (``missing`` for no x), for the scored indicators in ``xs``."""
    branches: dict[str, str] = {}
    for ci in compiled.indicators:
        if ci.piecewise is None or ci.indicator.code not in xs:
            continue
        x = xs[ci.indicator.code]
        branches[ci.indicator.code] = "missing" if x is None else ci.piecewise.branch_for(x).id
    return branches


class PythonDecider:
    """Decisions made by the compiled Python closures: the reference the others are tested against."""

    name = "python"

    def decide(self, compiled: CompiledScheme, facts: DecisionInput) -> Decisions:
        branches = branches_for(compiled, facts.x)
        adjustments: dict[str, tuple[str, ...]] = {}
        behind: dict[str, tuple[str, ...]] = {}
        for ca in compiled.adjustments:
            code = ca.adjustment.code
            if ca.pattern:
                held = [c for c in facts.cases if pattern_holds(ca, c)]
                ids = tuple(c["case_id"] for c in held)
                behind[code] = tuple(i for c in held for i in c.get("_events", ()))
            else:
                hits = [e for e in facts.events if matches(ca.where, ca.types, e)]
                ids = tuple(e["event_id"] for e in hits)
                if ca.adjustment.per_case:
                    behind[code] = tuple(e["event_id"] for e in hits if e.get("case_id"))
                    ids = distinct_cases(hits)
            if ids:
                adjustments[code] = ids
            else:
                behind.pop(code, None)
        vetoes = {}
        for cv in compiled.vetoes:
            ids = tuple(e["event_id"] for e in facts.events if matches(cv.where, cv.types, e))
            if ids:
                vetoes[cv.veto.code] = ids
        return Decisions(branches, adjustments, vetoes, behind)
