"""Rule conditions for the durable_rules backend: checked, typed and planned in pure Python.

Nothing here imports durable. ``durable.py`` feeds the result to the C engine; keeping the checks
here lets them be tested (and reused by other backends) without the C extension.

A condition is a JSON-like tree over ONE fact:

- ``{"field": value}`` or ``{"$eq": {"field": value}}`` — equality (value: bool, number or string)
- ``{"$neq": {"field": value}}`` on any type; ``{"$lt" | "$lte" | "$gt" | "$gte": {"field": n}}`` on numbers
  only (the engine orders strings by raw escaped bytes, past their end)
- ``{"$in": {"field": [v1, v2, ...]}}`` — any of the values (compiled to ``$or`` of equalities)
- ``{"$and": [c, ...]}``, ``{"$or": [c, ...]}`` — non-empty lists

A comparison with a field the fact does not have (or has as ``None``) is false, ``$neq`` included.
Numbers compare as IEEE doubles. Everything else is refused at compile time with a ``DefinitionError``
saying where (the ``H…`` numbers refer to ``durable-notes.md``).
"""

from __future__ import annotations

import difflib
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from rulesvc.engine.errors import DefinitionError

from .facts import BOOL, MAX_STRING_BYTES, NUMBER, STRING, FactError, encode_string, fnv1_32, format_number

# The C engine returns error 303 when a 65th alpha branch is pending for one fact (measured: 64
# pass, 65 fail, for distinct fields, for one field, and behind a shared prefix). We plan with 48.
ENGINE_PENDING_LIMIT = 64
SAFE_PENDING_BRANCHES = 48  # H3, with a margin of 16
MAX_CHILDREN_PER_NODE = 400  # C: 511 per alpha node (hash set of 512), else error 106
MAX_OR_LINKS_PER_NODE = 100  # C: 128 forward links per alpha node, else error 107
MAX_RULES_PER_NODE = 200  # C: 256 rules ending on one alpha node, else error 108
MAX_BOOL_OPS_PER_RULE = 12  # C: 32 slots per rule, two per $and/$or, else error 113
MAX_DEPTH = 16
MAX_FIELDS = 240  # C: 254 properties per fact, id and sid included (H2)
FIELD_NAME = re.compile(r"^[^\W\d]\w{0,62}$")  # no "$", ".", quotes or escapes in property names

_COMPARE = {"$eq": "eq", "$neq": "neq", "$lt": "lt", "$lte": "lte", "$gt": "gt", "$gte": "gte"}
KNOWN_OPERATORS = (*_COMPARE, "$in", "$and", "$or")
# Operators durable knows but this backend refuses, with the reason shown to the rule designer.
_REFUSED = {
    "$not": "negation depends on the order facts were asserted (H19)",
    "$nex": "negation/absence tests are not supported (H19)",
    "$ex": "existence tests are not supported; compare the field with a value",
    "$mt": "regular expressions crash or leak in the engine (H18)",
    "$imt": "regular expressions crash or leak in the engine (H18)",
    "$add": "arithmetic in conditions is refused: C integer semantics, SIGFPE on /0 (H1, H13)",
    "$sub": "arithmetic in conditions is refused (H13)",
    "$mul": "arithmetic in conditions is refused (H13)",
    "$div": "division in conditions is refused: SIGFPE on an integer 0 divisor (H1, H13)",
    "$iall": "array conditions are not supported",
    "$iany": "array conditions are not supported",
    "$all": "joins over several facts are not supported",
    "$any": "joins over several facts are not supported",
}
# Property names the C engine treats specially BY HASH (32-bit FNV-1): a field whose name hashes to
# one of these would be read as an operator, an id or a session id (H5, H11).
_ENGINE_NAMES = (
    "id", "sid", "$s", "$end", "$i", "$m", "$l", "$r", "$forward", "$and", "$or", "$eq", "$neq",
    "$lt", "$lte", "$gt", "$gte", "$ex", "$nex", "$mt", "$imt", "$iall", "$iany",
    "$add", "$sub", "$mul", "$div",
)  # fmt: skip
RESERVED_HASHES = frozenset(fnv1_32(n.encode()) for n in _ENGINE_NAMES)
RESERVED_FIELDS = frozenset({"id", "sid"})


@dataclass(frozen=True)
class RuleSpec:
    """One rule: a unique ``name`` and a ``condition`` over a single fact (see the module doc)."""

    name: str
    condition: Mapping[str, Any]


@dataclass(frozen=True, order=True)
class Firing:
    """Rule ``rule`` matched the fact whose ``id`` is ``fact_id``."""

    rule: str
    fact_id: str


# Internal condition tree: ("cmp", op, field, value, path) | ("and"|"or", (children...), path)
Cond = tuple[Any, ...]


def _fail(message: str, path: str, expected: str | None = None) -> DefinitionError:
    return DefinitionError(message, path=path, expected=expected)


def _check_field(name: Any, path: str) -> str:
    if not isinstance(name, str) or not FIELD_NAME.match(name):
        raise _fail(f"bad field name {name!r}", path, "a name of letters, digits and _, not starting with a digit")
    if name in RESERVED_FIELDS or fnv1_32(name.encode()) in RESERVED_HASHES:
        raise _fail(f"field name {name!r} is reserved by the engine (H5, H11)", path, "another name")
    return name


def _constant(value: Any, path: str) -> tuple[str, float | str | bool]:
    """A constant and its type; numbers become floats (ints only when exactly representable)."""
    if isinstance(value, bool):
        return BOOL, value
    if isinstance(value, int):
        if abs(value) > 2**53:
            raise _fail(f"integer {value} cannot be compared exactly", path, "|n| ≤ 2**53")
        return NUMBER, float(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise _fail(f"{value!r} is not a finite number (H2)", path, "a finite number")
        return NUMBER, value
    if isinstance(value, str):
        try:
            encode_string(value)  # bounded size (16-bit lengths in the engine), no lone surrogates
        except FactError as exc:
            raise _fail(str(exc), path, f"valid text of ≤ {MAX_STRING_BYTES} bytes") from None
        return STRING, str(value)
    if isinstance(value, Mapping):
        raise _fail(
            "a value must be a constant: expressions, references to other facts and arithmetic are "
            "refused (H1, H13, H18)", path, "a bool, number or string")  # fmt: skip
    raise _fail(f"unsupported value {value!r}", path, "a bool, number or string")


def _unknown_operator(key: str, path: str) -> DefinitionError:
    if key in _REFUSED:
        return _fail(f"operator {key} is refused: {_REFUSED[key]}", path, ", ".join(KNOWN_OPERATORS))
    close = difflib.get_close_matches(key, KNOWN_OPERATORS, n=1)
    hint = f" (did you mean {close[0]}?)" if close else ""
    return _fail(f"unknown operator {key}{hint} (H11)", path, ", ".join(KNOWN_OPERATORS))


def parse_condition(node: Any, path: str, depth: int = 0) -> Cond:
    """Check one condition document and return its internal tree. Raises ``DefinitionError``."""
    if depth > MAX_DEPTH:
        raise _fail("condition nested too deeply", path, f"≤ {MAX_DEPTH} levels")
    if not isinstance(node, Mapping) or len(node) != 1:
        raise _fail("a condition is an object with exactly one key", path, '{"field": value} or {"$op": ...}')
    ((key, arg),) = node.items()
    if not isinstance(key, str):
        raise _fail(f"bad key {key!r}", path)
    here = f"{path}.{key}"
    if key in ("$and", "$or"):
        if not isinstance(arg, (list, tuple)) or not arg:
            raise _fail(f"{key} takes a non-empty list of conditions", here)
        items = tuple(parse_condition(c, f"{here}[{i}]", depth + 1) for i, c in enumerate(arg))
        return (key[1:], items, here)
    if key in _COMPARE or key == "$in":
        if not isinstance(arg, Mapping) or len(arg) != 1:
            raise _fail(f"{key} takes an object with exactly one field", here, f'{{"{key}": {{"field": value}}}}')
        ((name, value),) = arg.items()
        where = f"{here}.{name}"
        _check_field(name, where)
        if key == "$in":
            if not isinstance(value, (list, tuple)) or not value:
                raise _fail("$in takes a non-empty list of values", where)
            seen: dict[tuple[str, Any], None] = {}
            for i, v in enumerate(value):
                seen.setdefault(_constant(v, f"{where}[{i}]"), None)  # 1 and 1.0 are one branch
            return ("or", tuple(("cmp", "eq", name, v, where) for _, v in seen), here)
        return ("cmp", _COMPARE[key], name, _constant(value, where)[1], where)
    if key.startswith("$"):
        raise _unknown_operator(key, here)
    _check_field(key, here)
    return ("cmp", "eq", key, _constant(arg, here)[1], here)


def infer_field_types(conds: Sequence[Cond], declared: Mapping[str, str] | None) -> dict[str, str]:
    """Each field's type: declared, else inferred from the constants it is compared with (H16)."""
    types: dict[str, str] = {}
    first_seen: dict[str, str] = {}
    for name, kind in (declared or {}).items():
        if kind not in (BOOL, NUMBER, STRING):
            raise _fail(f"unknown type {kind!r} for field {name!r}", f"field_types.{name}", "bool, number, string")
        types[_check_field(name, f"field_types.{name}")] = kind
        first_seen[name] = f"field_types.{name}"

    def visit(c: Cond) -> None:
        if c[0] != "cmp":
            for child in c[1]:
                visit(child)
            return
        _, op, name, value, path = c
        kind, _ = _constant(value, path)
        known = types.setdefault(name, kind)
        first_seen.setdefault(name, path)
        if known != kind:
            raise _fail(
                f"field {name!r} is compared with a {kind} here but is a {known} "
                f"(see {first_seen[name]}); mixed types compare as text in the engine (H16)", path, known)
        if op in ("lt", "lte", "gt", "gte") and kind != NUMBER:
            raise _fail(f"ordering on a {kind} field is refused (the engine compares raw bytes)", path, "a number")

    for cond in conds:
        visit(cond)
    if len(types) > MAX_FIELDS:
        raise _fail(f"{len(types)} fields in one rule set is too many (H2)", "rules", f"≤ {MAX_FIELDS}")
    by_hash: dict[int, str] = {}
    for name in types:
        other = by_hash.setdefault(fnv1_32(name.encode()), name)
        if other != name:  # the engine finds properties by 32-bit hash only (H5)
            raise _fail(f"fields {other!r} and {name!r} collide in the engine's hash", "rules", "other names")
    return types


def count_bool_ops(c: Cond) -> int:
    return 0 if c[0] == "cmp" else 1 + sum(count_bool_ops(x) for x in c[1])


def count_paths(c: Cond) -> int:
    """How many times at most the rule can fire for one fact (once per true ``$or`` branch: H15)."""
    if c[0] == "cmp":
        return 1
    counts = [count_paths(x) for x in c[1]]
    return math.prod(counts) if c[0] == "and" else sum(counts)


def to_json(c: Cond) -> str:
    """The condition in durable's syntax, serialised by hand: floats never in exponent form (H2)."""
    if c[0] == "cmp":
        _, op, name, value, _ = c
        if isinstance(value, bool):
            v = "true" if value else "false"
        elif isinstance(value, (int, float)):
            v = format_number(float(value))
        else:
            v = encode_string(value)
        inner = f"{{{encode_string(name)}:{v}}}"
        return inner if op == "eq" else f'{{"${op}":{inner}}}'
    return f'{{"${c[0]}":[{",".join(to_json(x) for x in c[1])}]}}'


# ---- branch planning (H3) -------------------------------------------------------------------------
# A model of the engine's alpha network: children shared by (field, operator, typed value) like the
# C ``findAlpha``, a fresh "forward" node per $or that every branch links to, like ``createForwardAlpha``.


@dataclass(eq=False)
class _Node:
    children: dict[tuple[Any, ...], _Node] = field(default_factory=dict)
    forwards: list[_Node] = field(default_factory=list)
    rules: int = 0


def _add(parent: _Node, c: Cond) -> _Node:
    if c[0] == "cmp":
        _, op, name, value, _ = c
        key = (name, op, type(value) is bool, float(value) if isinstance(value, (int, float)) else value)
        return parent.children.setdefault(key, _Node())
    if c[0] == "and":
        node = parent
        for child in c[1]:
            node = _add(node, child)
        return node
    forward = _Node()
    for child in c[1]:
        _add(parent, child).forwards.append(forward)
    return forward


def _pending(node: _Node, memo: dict[int, int]) -> int:
    """Worst-case stack entries the C ``handleAlpha`` needs below ``node`` for one fact.

    All children that can match at once are pushed before any is visited: every ordering test and
    every $or link may match, but of equality tests on one field only one can. Assume the deepest
    child is visited first while all its siblings wait on the stack.
    """
    if id(node) in memo:
        return memo[id(node)]
    kids = [*node.children.values(), *node.forwards]
    if not kids:
        memo[id(node)] = 0
        return 0
    eq_fields = {key[0] for key in node.children if key[1] == "eq"}
    width = len(node.forwards) + len(eq_fields) + sum(1 for key in node.children if key[1] != "eq")
    deepest = max(_pending(k, memo) for k in kids)
    memo[id(node)] = result = max(width, width - 1 + deepest)
    return result


def _limits_ok(root: _Node, budget: int) -> bool:
    seen: set[int] = set()
    stack = [root]
    while stack:
        n = stack.pop()
        if id(n) in seen:
            continue
        seen.add(id(n))
        if (
            len(n.children) > MAX_CHILDREN_PER_NODE
            or len(n.forwards) > MAX_OR_LINKS_PER_NODE
            or n.rules > MAX_RULES_PER_NODE
        ):
            return False
        stack.extend(n.children.values())
        stack.extend(n.forwards)
    return _pending(root, {}) <= budget


def pending_branches(conds: Sequence[Cond], extra: Sequence[Cond] = ()) -> int:
    """The planned worst-case pending branches for one fact in a ruleset of these conditions."""
    root = _Node()
    for c in (*conds, *extra):
        _add(root, c).rules += 1
    return _pending(root, {})


def _fits(conds: Sequence[Cond], extra: Sequence[Cond], budget: int) -> bool:
    root = _Node()
    for c in (*conds, *extra):
        _add(root, c).rules += 1
    return _limits_ok(root, budget)


def split(conds: Sequence[Cond], extra: Sequence[Cond], *, budget: int, max_rules: int) -> list[range]:
    """Consecutive groups of rule indices, each small enough for one C ruleset (H3).

    ``extra`` are the housekeeping rules every ruleset also carries. Adding a rule never lowers the
    bound, so the largest fitting group is found by doubling, then bisection.
    """
    groups: list[range] = []
    start, n = 0, len(conds)
    while start < n:
        if not _fits(conds[start : start + 1], extra, budget):
            raise _fail(
                f"this rule alone may leave more than {budget} branches pending for one fact in the "
                "engine, or exceeds its per-node limits (H3); split its $or / ordering tests",
                f"rules[{start}]", f"≤ {budget} pending branches")  # fmt: skip
        limit = min(max_rules, n - start)
        good, bad, step = 1, limit + 1, 1
        while good < limit:  # doubling: find a size that does not fit
            trial = min(good + step, limit)
            if not _fits(conds[start : start + trial], extra, budget):
                bad = trial
                break
            good, step = trial, step * 2
        while bad - good > 1:  # bisection between the last fit and the first misfit
            mid = (good + bad) // 2
            if _fits(conds[start : start + mid], extra, budget):
                good = mid
            else:
                bad = mid
        groups.append(range(start, start + good))
        start += good
    return groups
