"""The durable_rules adapter: the ONLY module of the project that imports durable_rules.

It talks to the C module ``durable_rules_engine`` directly (never ``durable.lang`` or
``durable.engine.Host``: H7) and applies every mitigation of ``durable-notes.md``; the ``H…`` numbers
in comments say which hazard a line addresses. Pure Python goes in and out::

    compiled = compile_rules(version_hash, [RuleSpec("plea_rate.t3", {...}), ...])
    firings = compiled.run([{"id": "ind:plea_rate", "t": "ind", "code": "plea_rate", "value": 0.93}])
    # -> [Firing(rule="plea_rate.t3", fact_id="ind:plea_rate")]

Conditions are checked and planned in ``conditions.py`` and facts written by ``facts.py``; neither
imports durable. Calls into the engine are synchronous, in the calling thread, one session per
ruleset at a time; the C calls hold the GIL, so scale with processes, not threads.
"""

from __future__ import annotations

import itertools
import json
import re
import threading
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from typing import Any

import durable_rules_engine as _engine

from rulesvc.engine.errors import DefinitionError, EvaluationError

from .conditions import (
    ENGINE_PENDING_LIMIT,
    MAX_BOOL_OPS_PER_RULE,
    SAFE_PENDING_BRANCHES,
    Cond,
    Firing,
    RuleSpec,
    count_bool_ops,
    count_paths,
    infer_field_types,
    parse_condition,
    pending_branches,
    split,
    to_json,
)
from .facts import FactEncoder, FactError, SessionIds

__all__ = [
    "CompiledRules", "DurableBackendError", "Firing", "RuleSpec", "cache_info", "clear_cache",
    "compile_rules", "set_cache_size",
]  # fmt: skip

DEFAULT_CACHE_SIZE = 16  # live compiled rule sets per process (H10); ~2 MB each for 150 rules (measured)
DEFAULT_MAX_RULES_PER_RULESET = 200
_KEY = re.compile(r"^[\w.:-]{1,128}$", re.ASCII)
# Every ruleset also carries two housekeeping rules:
#  "s" matches the session's own state fact, so every session has an activation before delete (H6);
#  "e" matches the closing fact of each batch, so its firing proves the whole batch was read (H2).
_HOUSEKEEPING_JSON = '"s":{"all":[{"m":{"$s":1}}]},"e":{"all":[{"m":{"$end":true}}]}'
_HOUSEKEEPING: tuple[Cond, ...] = (("cmp", "eq", "$s", 1.0, ""), ("cmp", "eq", "$end", True, ""))
_TAIL = '"$end":true'
_ACTION = re.compile(r'\{"(r\d+|e)":\{"m":\{"id":"(\d+)"')  # our own fact JSON starts {"id":"<i>"
_GENERATION = itertools.count(1)  # ruleset names are never registered twice (H10)
_SESSIONS = SessionIds()


class DurableBackendError(EvaluationError):
    """The durable_rules backend could not evaluate: a bad fact, or an engine error.

    After an engine error the ruleset is dropped and rebuilt on next use (never a possibly corrupt
    session again); the process goes on. ``key`` is the rule-set version, ``reason`` a short text.
    """

    def __init__(self, message: str, *, key: str = "", reason: str = "") -> None:
        super().__init__(message)
        self.key = key
        self.reason = reason or message


class _EngineFault(Exception):
    """Something the engine did or returned that we did not expect (internal; always poisons)."""


def _freeze(value: Any) -> Any:
    """A hashable, type-exact image of a condition document (to compare two compiles of one key)."""
    if isinstance(value, Mapping):
        return ("{}", tuple(sorted((str(k), _freeze(v)) for k, v in value.items())))
    if isinstance(value, (list, tuple)):
        return ("[]", tuple(_freeze(v) for v in value))
    return (type(value).__name__, value)


class _Live:
    """The C rulesets of one compiled rule set, with the lock that serialises sessions on them (H7)."""

    def __init__(self, handles: list[int]) -> None:
        self.handles = handles
        self.lock = threading.Lock()
        self.dead = False

    def delete(self) -> None:
        """Free the C rulesets (call with ``lock`` held, no session open)."""
        self.dead = True
        for handle in self.handles:
            try:
                _engine.delete_ruleset(handle)  # sessions already deleted: no residue measured (H10)
            except Exception:  # nothing more to free; the process must go on
                pass

    def abandon(self) -> None:
        """Stop using the C rulesets after an error: never call into a possibly corrupt one again."""
        self.dead = True  # its memory is leaked on purpose, its handles never reused by us


class CompiledRules:
    """A rule set compiled for durable_rules, evaluated one subject (batch of facts) at a time.

    Built by ``compile_rules``. ``run`` is thread-safe. Attributes: ``key``, ``rule_names``,
    ``field_types`` (the type each field is coerced to), ``ruleset_count`` (C rulesets after the
    split for H3) and ``pending_branches`` (the planned worst case per ruleset, each ≤ the budget).
    """

    def __init__(self, key: str, names: list[str], conds: list[Cond], types: dict[str, str], *,
                 budget: int, max_rules: int, frozen: Any) -> None:  # fmt: skip
        self.key = key
        self.rule_names = tuple(names)
        self.field_types: Mapping[str, str] = dict(types)
        self._frozen = frozen
        self._encoder = FactEncoder(types)
        self._groups = split(conds, _HOUSEKEEPING, budget=budget, max_rules=max_rules)  # H3
        self.ruleset_count = len(self._groups)
        self.pending_branches = tuple(pending_branches([conds[i] for i in g], _HOUSEKEEPING) for g in self._groups)
        self._sources = [
            "{" + "".join(f'"r{i}":{{"all":[{{"m":{to_json(conds[i])}}}]}},' for i in g) + _HOUSEKEEPING_JSON + "}"
            for g in self._groups
        ]
        # at most one firing per true $or branch per fact (H15): a bound for the drain loop
        self._max_actions = [sum(count_paths(conds[i]) for i in g) for g in self._groups]
        self._live: _Live | None = None

    def _build(self) -> _Live:
        generation = next(_GENERATION)
        handles: list[int] = []
        try:
            for n, source in enumerate(self._sources):
                handles.append(_engine.create_ruleset(f"rulesvc:{self.key}:{generation}:{n}", source))
        except Exception as exc:
            _Live(handles).delete()
            raise DurableBackendError(f"durable_rules refused rule set {self.key}: {exc}", key=self.key) from exc
        return _Live(handles)

    def run(self, facts: Sequence[Mapping[str, Any]]) -> list[Firing]:
        """Which rule fired on which fact: sorted by fact (input order), then rule; no duplicates.

        Every fact needs an ``id`` (string or integer) unique in the batch (H11); fields the rules do
        not read are ignored, ``None`` means absent. Raises ``DurableBackendError``; never crashes.
        """
        sid = _SESSIONS.new(len(facts))  # fresh random session per evaluation (H4, H5)
        try:
            payload, ids = self._encoder.encode(facts, sid, _TAIL)  # our serialiser (H2, H11, H16, H17)
        except FactError as exc:
            raise DurableBackendError(str(exc), key=self.key, reason="bad fact") from None
        if not self._groups:
            return []
        for _ in range(8):  # a concurrent eviction may free the rulesets between checkout and lock
            live = _REGISTRY.checkout(self)
            with live.lock:  # one live session per ruleset at a time (H7)
                if live.dead:
                    continue
                try:
                    pairs = self._evaluate(live, payload, sid, len(ids))
                except BaseException as exc:
                    live.abandon()  # poison: rebuild on next use
                    failure: BaseException = exc
                else:
                    return [Firing(self.rule_names[r], ids[f]) for f, r in sorted(pairs)]  # H15
            _REGISTRY.forget(self, live)
            if not isinstance(failure, Exception):
                raise failure
            raise DurableBackendError(
                f"durable_rules failed on rule set {self.key}: {failure}", key=self.key, reason="engine error"
            ) from failure
        raise DurableBackendError(f"rule set {self.key} kept being evicted", key=self.key, reason="cache thrash")

    def _evaluate(self, live: _Live, payload: str, sid: str, n: int) -> set[tuple[int, int]]:
        fired: set[tuple[int, int]] = set()
        for handle, group, max_actions in zip(live.handles, self._groups, self._max_actions, strict=True):
            rc, _ = _engine.assert_facts(handle, payload)  # the state offset returned may be garbage (H2)
            if rc not in (0, 1):  # 1: some fact matched nothing — a normal outcome (H8)
                raise _EngineFault(f"assert_facts returned {rc}")
            started = _engine.start_action(handle)  # finds our (only) session itself
            if started is None:
                raise _EngineFault("no activation: the batch was not read (H2, H6)")
            state, message, offset = started
            if f'"sid":"{sid}"' not in state:
                raise _EngineFault("an action of another session was pending (H5, H7)")
            self._drain(handle, message, offset, n, group, max_actions * n + 2, fired)
            _engine.delete_state(handle, sid)  # safe: every action started and completed (H4, H6)
        return fired

    @staticmethod
    def _drain(handle: int, message: str | None, offset: int, n: int, group: range, bound: int,
               fired: set[tuple[int, int]]) -> None:  # fmt: skip
        """Run the pending actions ourselves; an action only records what fired (H9, H14).

        ``bound`` caps the loop (one action per true $or branch per fact, H15, plus two sentinels).
        """
        saw_state = saw_tail = False
        for _ in range(bound):
            if message is None:
                break
            match = _ACTION.match(message)
            if match is None and message.startswith('{"s":{"m":{'):
                rule, fact = "s", -1
            elif match is None:
                rule, fact = _parse_action(message)
            else:
                rule, fact = match.group(1), int(match.group(2))
            if rule == "s":
                saw_state = True
            elif rule == "e":
                saw_tail = saw_tail or fact == n
            elif 0 <= fact < n and rule[:1] == "r" and rule[1:].isdigit() and int(rule[1:]) in group:
                fired.add((fact, int(rule[1:])))
            else:
                raise _EngineFault(f"action of unknown rule {rule!r} or fact {fact}")
            message = _engine.complete_and_start_action(handle, offset)
        else:
            if message is not None:
                raise _EngineFault("more actions than the rules allow")
        if not (saw_state and saw_tail):
            raise _EngineFault("the batch was not read to its end (H2)")


def _parse_action(message: str) -> tuple[str, int]:
    """Slow path for an action message the fast pattern did not match (the state sentinel)."""
    try:
        ((rule, frame),) = json.loads(message).items()
        if rule == "s":
            return rule, -1
        return rule, int(frame["m"]["id"])
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise _EngineFault(f"unexpected action {message[:200]!r}") from exc


class _Registry:
    """The bounded LRU cache of compiled rule sets with live C rulesets (H10)."""

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self._lock = threading.Lock()
        self._entries: OrderedDict[str, CompiledRules] = OrderedDict()

    def lookup(self, key: str) -> CompiledRules | None:
        with self._lock:
            return self._entries.get(key)

    def checkout(self, compiled: CompiledRules) -> _Live:
        """The live C rulesets of ``compiled``, built (and cached, evicting the oldest) if need be."""
        with self._lock:
            current = self._entries.get(compiled.key)
            if current is not compiled and current is not None:
                compiled = current  # another object of the same version is cached: share its rulesets
            live = compiled._live
            if live is None or live.dead:
                live = compiled._live = compiled._build()
            self._entries[compiled.key] = compiled
            self._entries.move_to_end(compiled.key)
            self._evict_over(self.capacity)
            return live

    def forget(self, compiled: CompiledRules, live: _Live) -> None:
        with self._lock:
            if compiled._live is live:
                compiled._live = None

    def _evict_over(self, capacity: int) -> None:
        while len(self._entries) > capacity:
            _, old = self._entries.popitem(last=False)
            live, old._live = old._live, None
            if live is not None:
                with live.lock:  # waits for a session in progress to finish
                    if not live.dead:
                        live.delete()

    def clear(self) -> None:
        with self._lock:
            self._evict_over(0)

    def resize(self, capacity: int) -> None:
        with self._lock:
            self.capacity = capacity
            self._evict_over(capacity)

    def keys(self) -> list[str]:
        with self._lock:
            return list(self._entries)


_REGISTRY = _Registry(DEFAULT_CACHE_SIZE)


def compile_rules(
    key: str,
    rules: Sequence[RuleSpec],
    *,
    max_rules_per_ruleset: int = DEFAULT_MAX_RULES_PER_RULESET,
    max_pending_branches: int = SAFE_PENDING_BRANCHES,
    field_types: Mapping[str, str] | None = None,
) -> CompiledRules:
    """Check ``rules``, split them over as many C rulesets as H3 needs, and build those rulesets.

    ``key`` is the content hash of the immutable rule-set version: compiling the same key again
    returns the cached object (and refuses different rules under the same key). ``field_types``
    declares ``"bool"``/``"number"``/``"string"`` per field; undeclared fields take the type of the
    constants they are compared with. Raises ``DefinitionError`` (with the path of the problem).
    """
    if not isinstance(key, str) or not _KEY.match(key):
        raise DefinitionError(f"bad rule-set key {key!r}", path="key", expected="1-128 of [A-Za-z0-9_.:-]")
    if not 1 <= max_pending_branches <= ENGINE_PENDING_LIMIT:
        raise ValueError(f"max_pending_branches must be in 1..{ENGINE_PENDING_LIMIT} (H3)")
    if max_rules_per_ruleset < 1:
        raise ValueError("max_rules_per_ruleset must be ≥ 1")
    frozen = (tuple((r.name, _freeze(r.condition)) for r in rules), _freeze(field_types or {}))
    cached = _REGISTRY.lookup(key)
    if cached is not None:
        if cached._frozen != frozen:
            raise DefinitionError(f"key {key} is already compiled with other rules", path="key",
                                  expected="the content hash of the rules")  # fmt: skip
        _REGISTRY.checkout(cached)
        return cached
    names: list[str] = []
    conds: list[Cond] = []
    for i, rule in enumerate(rules):
        if not isinstance(rule, RuleSpec):
            raise DefinitionError(f"rules[{i}] is not a RuleSpec", path=f"rules[{i}]")
        if not isinstance(rule.name, str) or not rule.name or rule.name in names:
            raise DefinitionError(f"rule name {rule.name!r} is empty or repeated", path=f"rules[{i}].name")
        cond = parse_condition(rule.condition, f"rules[{i}].condition")  # known keys only (H1, H11, H18, H19)
        if count_bool_ops(cond) > MAX_BOOL_OPS_PER_RULE:  # the engine's 32 expression slots per rule
            raise DefinitionError("too many $and/$or/$in in one rule", path=f"rules[{i}].condition",
                                  expected=f"≤ {MAX_BOOL_OPS_PER_RULE}")  # fmt: skip
        names.append(rule.name)
        conds.append(cond)
    types = infer_field_types(conds, field_types)  # one type per field (H16)
    compiled = CompiledRules(key, names, conds, types, budget=max_pending_branches,
                             max_rules=max_rules_per_ruleset, frozen=frozen)  # fmt: skip
    _REGISTRY.checkout(compiled)  # build now: the engine's own refusals surface at compile time
    return _REGISTRY.lookup(key) or compiled


def clear_cache() -> None:
    """Delete every cached C ruleset (tests; a worker that is about to recycle)."""
    _REGISTRY.clear()


def set_cache_size(capacity: int) -> None:
    """Bound how many compiled rule sets keep live C rulesets in this process (H10)."""
    if capacity < 1:
        raise ValueError("capacity must be ≥ 1")
    _REGISTRY.resize(capacity)


def cache_info() -> dict[str, Any]:
    """``{"capacity": n, "keys": [...]}``, least recently used first."""
    return {"capacity": _REGISTRY.capacity, "keys": _REGISTRY.keys()}
