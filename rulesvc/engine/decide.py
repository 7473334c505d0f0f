"""Decisions: which scoring branch holds each indicator's x, which events (or cases) match each
adjustment and veto. A :class:`Decider` makes them for the per-subject executor
(``rulesvc.engine.evaluate``): plain Python (:class:`PythonDecider`, the reference) or durable_rules
(``rulesvc.engine.durable_decider``). The bulk executor makes the same decisions column-wise.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from rulesvc.engine.compile import CompiledAdjustment, CompiledScheme, Predicate

Row = Mapping[str, Any]


@dataclass(frozen=True)
class Decisions:
    """What fired: branch per indicator, matching event (or case) ids per adjustment and veto.

    ``adjustments`` holds what an adjustment counts — event ids, or case ids for ``per_case`` and
    patterns; ``adjustment_events`` holds the event ids behind the cases of those."""

    branches: Mapping[str, str]
    adjustments: Mapping[str, tuple[str, ...]]
    vetoes: Mapping[str, tuple[str, ...]]
    adjustment_events: Mapping[str, tuple[str, ...]] = field(default_factory=dict)


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


def case_facts(compiled: CompiledScheme, events: Sequence[Row],
               by_type: Mapping[str, list[Row]] | None = None) -> list[dict[str, Any]]:
    """Per pattern adjustment and case: how many events of the case satisfy each step.
    ``by_type`` is ``by_event_type(events)`` when the caller has it.
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
        pool = events if by_type is None else [e for t in sorted(types) for e in by_type.get(t, ())]
        for e in pool:
            cid = e.get("case_id")
            if not cid or e["event_type"] not in types:
                continue
            for st in ca.pattern:
                if matches(st.where, st.types, e):
                    row = per_case.setdefault(cid, {"adj": ca.adjustment.code, "case_id": cid,
                                                    **{s.name: 0 for s in ca.pattern}, "_events": []})
                    if st.sum is None:
                        row[st.name] += 1
                    else:
                        v = e.get(st.sum)
                        row[st.name] += float(v) if v is not None else 0.0
                    if not row["_events"] or row["_events"][-1] != e["event_id"]:
                        row["_events"].append(e["event_id"])
        out.extend(per_case[c] for c in sorted(per_case))
    if out:
        order = {e["event_id"]: i for i, e in enumerate(events)}
        for row in out:
            row["_events"] = sorted(row["_events"], key=lambda i: order.get(i, math.inf))
    return out


def distinct_cases(events: Iterable[Row]) -> tuple[str, ...]:
    """Case ids of ``events`` in order of first appearance; events without a case do not count."""
    return tuple(dict.fromkeys(e["case_id"] for e in events if e.get("case_id")))


def pattern_holds(ca: CompiledAdjustment, case: Row) -> bool:
    return case["adj"] == ca.adjustment.code and all(case[st.name] >= st.at_least for st in ca.pattern)


class PythonDecider:
    """Decisions made by the compiled Python closures: the reference the others are tested against."""

    name = "python"

    def decide(self, compiled: CompiledScheme, facts: DecisionInput) -> Decisions:
        branches: dict[str, str] = {}
        for ci in compiled.indicators:
            if ci.piecewise is None or ci.indicator.code not in facts.x:
                continue
            x = facts.x[ci.indicator.code]
            branches[ci.indicator.code] = "missing" if x is None else ci.piecewise.branch_for(x).id
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
