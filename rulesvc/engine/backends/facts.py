"""Our own serialiser of facts for the durable_rules C engine (pure Python, no durable import).

The engine parses JSON by hand and trusts it: an exponent-form float, NaN, more than 254 properties
or a ``\\u``-escaped string make it crash, stop silently or miss matches (H2, H17). Everything it reads
is therefore written here: floats with a decimal point and never an exponent, raw UTF-8, only the
fields the rules use (coerced to their type), our own ids and session id (H5, H11).
"""

from __future__ import annotations

import math
import re
import secrets
import threading
from collections.abc import Callable, Mapping, Sequence
from decimal import Decimal
from json.encoder import encode_basestring  # the C fast path of json.dumps(s, ensure_ascii=False)
from typing import Any

BOOL, NUMBER, STRING = "bool", "number", "string"
MAX_STRING_BYTES = 16_384  # the engine compares strings with 16-bit lengths: ≥ 64 KiB would wrap
MAX_FACTS = 100_000  # decimal ids "0".."99999" have distinct 32-bit FNV-1 hashes (first clash: 797186)
_NUMERIC = re.compile(r"\s*[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?\s*")


class FactError(ValueError):
    """A fact cannot be given to the engine as it is (bad id, value or type)."""


def fnv1_32(data: bytes) -> int:
    """The engine's 32-bit FNV-1 hash, with C's signed ``char`` (bytes ≥ 0x80 sign-extend)."""
    h = 0x811C9DC5
    for b in data:
        h = ((h ^ (b | 0xFFFFFF00 if b >= 0x80 else b)) * 0x01000193) & 0xFFFFFFFF
    return h


def format_number(x: float) -> str:
    """A finite float as JSON the engine parses exactly: always a point, never an exponent (H2)."""
    text = repr(x)
    if "e" in text or "n" in text:  # exponent form, or inf / nan
        if not math.isfinite(x):
            raise FactError(f"{x!r} is not a finite number (H2)")
        text = format(Decimal(text), "f")  # exact: repr round-trips, the expansion is the same value
    return text if "." in text else text + ".0"


def encode_string(s: str) -> str:
    """A JSON string literal in raw UTF-8, not ``\\u``-escaped (H17), of a bounded size.

    The engine compares strings with 16-bit lengths: a value of 64 KiB or more (as written, escapes
    included) wraps and can equal a short constant (measured: "ab" + 65534 × "x" equals "ab").
    """
    text = encode_basestring(s)
    if text.isascii():
        size = len(text)
    else:
        try:
            size = len(text.encode("utf-8"))
        except UnicodeEncodeError:
            raise FactError("string holds an unpaired surrogate") from None
    if size > MAX_STRING_BYTES:
        raise FactError(f"string of {size} bytes (as JSON) is longer than {MAX_STRING_BYTES}")
    return text


def _string(v: Any) -> str:
    if isinstance(v, str):
        return encode_string(str(v))
    if isinstance(v, int) and not isinstance(v, bool):
        return encode_string(str(v))  # an integer code given as a number: lossless
    raise FactError(f"{v!r} is not a string")


def _number(v: Any) -> str:
    t = type(v)
    if t is float:
        return format_number(v)
    if t is int:
        if -(2**53) <= v <= 2**53:
            return repr(v) + ".0"  # as a double: int and float facts compare the same way
        raise FactError(f"integer {v} cannot be compared exactly (|n| ≤ 2**53)")
    if isinstance(v, bool):
        raise FactError(f"{v!r} is a bool, not a number (H16)")
    if isinstance(v, (int, float, Decimal)):
        return _number(float(v) if not isinstance(v, int) else int(v))
    if isinstance(v, str) and _NUMERIC.fullmatch(v):  # "9" from a CSV: coerce, never compare as text (H16)
        return _number(float(v))
    raise FactError(f"{v!r} is not a number (H16)")


def _bool(v: Any) -> str:
    if v is True:
        return "true"
    if v is False:
        return "false"
    raise FactError(f"{v!r} is not a bool (H16)")


_ENCODERS: dict[str, Callable[[Any], str]] = {BOOL: _bool, NUMBER: _number, STRING: _string}


_CACHED_SHAPES = 256  # distinct key sets of facts whose plans are kept
_CACHED_VALUES = 4096  # per field: the JSON of repeated strings ("ind", event types, ratings) is reused


class FactEncoder:
    """Writes a batch of facts as the engine's JSON, keeping only the fields the rules read."""

    def __init__(self, field_types: Mapping[str, str]) -> None:
        # per field: its type, ',"field":' (names are plain identifiers: no escapes) and a cache of
        # ready ',"field":value' pieces for strings and bools
        self._fields: dict[str, tuple[str, str, dict[Any, str]]] = {}
        for name, declared in field_types.items():
            kind = {BOOL: BOOL, NUMBER: NUMBER, STRING: STRING}[declared]  # canonical objects: tested with "is"
            prefix = f",{encode_string(name)}:"
            cache = {True: prefix + "true", False: prefix + "false"} if kind == BOOL else {}
            self._fields[name] = (kind, prefix, cache)
        self._shapes: dict[tuple[Any, ...], tuple[tuple[str, str, str, dict[Any, str]], ...]] = {}

    def _piece(self, key: str, value: Any) -> str:
        """The slow path: coerce ``value`` to the field's type (H16) or refuse it."""
        kind, prefix, cache = self._fields[key]
        piece = prefix + _ENCODERS[kind](value)
        if kind == STRING and type(value) is str and len(cache) < _CACHED_VALUES:
            cache[value] = piece
        return piece

    def _plan(self, shape: tuple[Any, ...]) -> tuple[tuple[str, str, str, dict[Any, str]], ...]:
        """For facts with these keys (in this order): the fields the rules read, with their specs."""
        plan = self._shapes.get(shape)
        if plan is None:
            plan = tuple((k, *self._fields[k]) for k in shape if k in self._fields)
            if len(self._shapes) < _CACHED_SHAPES:
                self._shapes[shape] = plan
        return plan

    def encode(self, facts: Sequence[Mapping[str, Any]], sid: str, tail: str) -> tuple[str, list[str]]:
        """``[fact, ..., tail]`` as one JSON text and the callers' ids in input order.

        Fact ``i`` gets engine id ``"i"`` (the callers' ids may clash in the engine's 32-bit hash: H5);
        ``tail`` is the extra property of the closing fact whose firing proves the whole batch was read.
        Fields the rules do not read are left out (H2: property budget; H5: property-name hashes).
        """
        if len(facts) >= MAX_FACTS:
            raise FactError(f"{len(facts)} facts in one evaluation; at most {MAX_FACTS - 1}")
        ids: dict[str, int] = {}
        out: list[str] = ["["]
        append = out.append
        head = f'","sid":"{sid}"'
        shapes, plan_for = self._shapes, self._plan
        string, number, boolean, type_, repr_, abs_ = STRING, NUMBER, BOOL, type, repr, abs  # locals: hot loop
        for i, fact in enumerate(facts):
            if type(fact) is not dict and not isinstance(fact, Mapping):
                raise FactError(f"fact #{i} is a {type(fact).__name__}, not a mapping")
            fid = fact.get("id")
            if type(fid) is not str:
                if not isinstance(fid, (str, int)) or isinstance(fid, bool):
                    raise FactError(f"fact #{i} has no usable id (a string or integer) (H11)")
                fid = str(fid)
            if ids.setdefault(fid, i) != i:
                raise FactError(f"fact #{i} repeats id {fid!r} of fact #{ids[fid]} (H11)")
            append(f'{{"id":"{i}{head}')
            shape = tuple(fact)
            for key, kind, prefix, cache in shapes.get(shape) or plan_for(shape):
                value = fact[key]
                t = type_(value)
                if t is str and kind is string:
                    piece = cache.get(value)
                    if piece is not None:
                        append(piece)
                        continue
                elif t is float and kind is number and (1e-4 <= abs_(value) < 1e16 or value == 0.0):
                    append(prefix)  # in this range repr() has a point and no exponent (H2)
                    append(repr_(value))
                    continue
                elif t is bool and kind is boolean:
                    append(cache[value])
                    continue
                elif value is None:  # absent: no comparison on this field matches
                    continue
                try:
                    append(self._piece(key, value))
                except FactError as exc:
                    raise FactError(f"fact {fid!r}, field {key!r}: {exc}") from None
            append("},")
        append(f'{{"id":"{len(facts)}{head},{tail}}}]')
        return "".join(out), list(ids)


class SessionIds:
    """Fresh random session ids whose state-fact id cannot clash with a fact id of the batch (H5).

    The engine stores the session's own state as a fact with id ``"sid-<sid>"`` in the same 32-bit
    hash index as the facts ``"0"``..``"n"``; a clash would drop a fact silently.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._index: dict[int, int] = {}  # hash of engine id "i" -> i, for i = 0, 1, 2 ... (grown on demand)

    def _hashes_upto(self, n: int) -> dict[int, int]:
        with self._lock:
            for i in range(len(self._index), n + 1):
                h = fnv1_32(str(i).encode())
                if self._index.setdefault(h, i) != i:  # cannot happen below MAX_FACTS (tested)
                    raise FactError(f"engine ids {self._index[h]} and {i} collide")
            return self._index

    def new(self, n_facts: int) -> str:
        index = self._hashes_upto(n_facts)  # ids 0..n_facts (the tail fact included)
        while True:
            sid = secrets.token_hex(8)
            clash = index.get(fnv1_32(f"sid-{sid}".encode()))
            if clash is None or clash > n_facts:
                return sid
