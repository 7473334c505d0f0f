"""Decisions made by durable_rules: the per-subject executor the API uses.

The compiled scheme becomes rules over single facts, named by what they decide:

- ``ind:<indicator>:<branch>`` — an interval test on the indicator fact's ``x`` (or ``missing``);
- ``adj:<adjustment>`` / ``veto:<veto>`` — the event type and filter on an event fact;
- ``adj:<adjustment>`` on a case fact for patterns — each step's count reaching its minimum.

Filters the expression compiler cannot translate safely are computed in Python and asserted as a
boolean ``f_<rule>`` on the event fact, so durable_rules still makes (and records) the decision.
All durable_rules calls go through ``rulesvc.engine.backends.durable`` (the only importer of durable).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import math
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from operator import itemgetter
from typing import Any

from rulesvc.engine.backends.durable import RuleSpec, compile_rules
from rulesvc.engine.compile import CompiledScheme, Predicate
from rulesvc.engine.decide import DecisionInput, Decisions

EXCLUDED_KEYS = {"prosecutor_id", "procuratorate_id"}
KEYS_KEPT = 64  # compiled schemes whose rule-set key is remembered (more only costs building the rules again)
_ID = itemgetter("event_id")


def _type_clause(types: frozenset[str]) -> dict[str, Any]:
    ts = sorted(types)
    return {"event_type": ts[0]} if len(ts) == 1 else {"$or": [{"event_type": t} for t in ts]}


def _filter_clause(rule: str, pred: Predicate | None) -> list[dict[str, Any]]:
    if pred is None:
        return []
    if pred.durable is not None:
        return [pred.durable]
    return [{f"f_{_flag(rule)}": True}]


def _flag(rule: str) -> str:
    return rule.replace(":", "_")


def build_rules(compiled: CompiledScheme) -> list[RuleSpec]:
    """Every decision of the scheme as a durable_rules rule over one fact."""
    rules: list[RuleSpec] = []
    for ci in compiled.indicators:
        pw = ci.piecewise
        if pw is None:
            continue
        code = ci.indicator.code
        head = [{"t": "ind"}, {"code": code}]
        rules.append(RuleSpec(f"ind:{code}:missing", {"$and": [*head, {"missing": True}]}))
        for br in pw.branches:
            parts = [*head, {"missing": False}]
            if br.lo != -math.inf:
                parts.append({"$gte": {"x": br.lo}})
            if br.hi != math.inf:
                parts.append({"$lte": {"x": br.hi}} if br.hi_closed else {"$lt": {"x": br.hi}})
            rules.append(RuleSpec(f"ind:{code}:{br.id}", {"$and": parts}))
    for ca in compiled.adjustments:
        name = f"adj:{ca.adjustment.code}"
        if ca.pattern:
            steps = [{"$gte": {st.name: st.at_least}} for st in ca.pattern]
            rules.append(RuleSpec(name, {"$and": [{"t": "case"}, {"adj": ca.adjustment.code}, *steps]}))
        else:
            rules.append(RuleSpec(name, {"$and": [{"t": "ev"}, _type_clause(ca.types), *_filter_clause(name, ca.where)]}))
    for cv in compiled.vetoes:
        name = f"veto:{cv.veto.code}"
        rules.append(RuleSpec(name, {"$and": [{"t": "ev"}, _type_clause(cv.types), *_filter_clause(name, cv.where)]}))
    return rules


def _untranslated(compiled: CompiledScheme) -> list[tuple[str, Predicate, frozenset[str]]]:
    out = []
    for ca in compiled.adjustments:
        if not ca.pattern and ca.where is not None and ca.where.durable is None:
            out.append((f"adj:{ca.adjustment.code}", ca.where, ca.types))
    for cv in compiled.vetoes:
        if cv.where is not None and cv.where.durable is None:
            out.append((f"veto:{cv.veto.code}", cv.where, cv.types))
    return out


def _scalar(v: Any) -> Any:
    if isinstance(v, dt.date):
        return v.isoformat()
    return v


def _fields(node: Any, out: set[str]) -> set[str]:
    """Every fact field a condition reads (keys that are not operators)."""
    if isinstance(node, dict):
        for k, v in node.items():
            if not k.startswith("$"):
                out.add(k)
            _fields(v, out)
    elif isinstance(node, list):
        for x in node:
            _fields(x, out)
    return out


class DurableDecider:
    """Asserts a subject's facts into the scheme's rules and reads back what fired.

    Only events some adjustment or veto reads are asserted, with only the fields the rules read
    (metrics are aggregated before, in Python): a year of a prosecutor's events is hundreds of facts.
    """

    name = "durable"

    def __init__(self) -> None:
        self._rules: dict[str, Any] = {}
        self._reads: dict[str, tuple[frozenset[str], frozenset[str]]] = {}
        self._keys: OrderedDict[int, tuple[CompiledScheme, str]] = OrderedDict()

    def _key(self, compiled: CompiledScheme) -> str:
        """The rule set's key: the scheme's content hash *and* a digest of the rules built from it. The same
        scheme compiled against another data dictionary may translate its conditions otherwise; under the
        content hash alone the second would be refused (or, in a cache, answered with the first's rules)."""
        held = self._keys.get(id(compiled))
        if held is not None and held[0] is compiled:
            self._keys.move_to_end(id(compiled))
            return held[1]
        spec = json.dumps([(r.name, r.condition) for r in build_rules(compiled)], sort_keys=True, default=str)
        key = f"{compiled.key or id(compiled)}.{hashlib.sha256(spec.encode()).hexdigest()[:16]}"
        self._keys[id(compiled)] = (compiled, key)  # the object kept: its id is not reused while here
        while len(self._keys) > KEYS_KEPT:
            self._keys.popitem(last=False)
        return key

    def _reads_of(self, compiled: CompiledScheme) -> tuple[frozenset[str], frozenset[str]]:
        key = self._key(compiled)
        if key not in self._reads:
            types: set[str] = set()
            for ca in compiled.adjustments:
                if not ca.pattern:
                    types |= ca.types
            for cv in compiled.vetoes:
                types |= cv.types
            fields: set[str] = {"event_type"}
            for r in build_rules(compiled):
                _fields(r.condition, fields)
            fields -= {"t", "id"}
            self._reads[key] = (frozenset(types), frozenset(fields))
        return self._reads[key]

    def _compiled(self, compiled: CompiledScheme) -> Any:
        key = self._key(compiled)
        rules = self._rules.get(key)
        if rules is None:
            rules = compile_rules(key, build_rules(compiled))
            self._rules[key] = rules
        return rules

    def facts(self, compiled: CompiledScheme, facts: DecisionInput) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        for code, x in facts.x.items():
            fact: dict[str, Any] = {"id": f"i:{code}", "t": "ind", "code": code, "missing": x is None}
            if x is not None:
                fact["x"] = float(x)
            out.append(fact)
        flags = _untranslated(compiled)
        relevant, fields = self._reads_of(compiled)
        for e in facts.events:
            if e["event_type"] not in relevant:
                continue
            fact = {k: _scalar(e[k]) for k in fields if e.get(k) is not None}
            fact["id"] = f"e:{e['event_id']}"
            fact["t"] = "ev"
            for rule, pred, types in flags:
                fact[f"f_{_flag(rule)}"] = e["event_type"] in types and bool(pred.py(e))
            out.append(fact)
        for c in facts.cases:  # keys starting with "_" are ours (the events behind a case), never facts
            out.append({**{k: v for k, v in c.items() if not k.startswith("_")},
                        "id": f"c:{c['adj']}:{c['case_id']}", "t": "case"})
        return out

    def decide(self, compiled: CompiledScheme, facts: DecisionInput) -> Decisions:
        firings = self._compiled(compiled).run(self.facts(compiled, facts))
        branches: dict[str, str] = {}
        adjustments: dict[str, list[str]] = {}
        vetoes: dict[str, list[str]] = {}
        for f in firings:
            kind, _, rest = f.rule.partition(":")
            if kind == "ind":
                code, _, branch = rest.rpartition(":")
                if code in branches and branches[code] != branch:
                    raise AssertionError(f"two branches fired for {code}: {branches[code]}, {branch}")
                branches[code] = branch
            else:
                target = adjustments if kind == "adj" else vetoes
                fid = f.fact_id
                ident = fid.split(":", 2)[2] if fid.startswith("c:") else fid.removeprefix("e:")
                target.setdefault(rest, []).append(ident)
        order = _positions(facts.events) if adjustments or vetoes else {}
        adj_ids = {k: tuple(_in_order(v, order)) for k, v in adjustments.items()}
        behind: dict[str, tuple[str, ...]] = {}
        per_case = {ca.adjustment.code for ca in compiled.adjustments if ca.adjustment.per_case and not ca.pattern}
        if per_case and adj_ids:
            case_of: dict[str, Any] = {e["event_id"]: e.get("case_id") for e in facts.events}
            for code in per_case & adj_ids.keys():
                with_case = tuple(i for i in adj_ids[code] if case_of[i])
                cases = tuple(dict.fromkeys(case_of[i] for i in with_case))
                if cases:
                    adj_ids[code], behind[code] = cases, with_case
                else:
                    del adj_ids[code]
        patterns = {ca.adjustment.code for ca in compiled.adjustments if ca.pattern}
        if patterns & adj_ids.keys():
            events_of = {(c["adj"], c["case_id"]): c.get("_events", ()) for c in facts.cases}
            for code in patterns & adj_ids.keys():
                behind[code] = tuple(i for case in adj_ids[code] for i in events_of.get((code, case), ()))
        return Decisions(
            branches,
            adj_ids,
            {k: tuple(_in_order(v, order)) for k, v in vetoes.items()},
            behind,
        )


def _positions(events: Sequence[Mapping[str, Any]]) -> dict[str, int]:
    """Each event id as its fact id writes it (``f"e:{id}"`` without the prefix) → the event's position
    (the last of a repeated id)."""
    ids = list(map(_ID, events))
    if set(map(type, ids)) - {str}:
        ids = list(map(format, ids))  # as an f-string writes it
    return dict(zip(ids, range(len(ids)), strict=True))


def _in_order(ids: Sequence[str], order: Mapping[str, int]) -> list[str]:
    """Event ids in the order of the subject's events (cases sorted), like the Python decider.
    ``order`` is :func:`_positions` of the events."""
    return sorted(set(ids), key=lambda i: (order.get(i, math.inf), i))
