"""What may be stored, checked before anything is written: one module used by the API, the rules-file
import and the services.

- **JSON storability**: finite numbers only (no NaN, Infinity — PostgreSQL's JSONB refuses them and they
  mean nothing in a rule), no NUL characters (PostgreSQL refuses them in text), nesting at most
  :data:`MAX_DEPTH` deep (a scheme document is about 6 levels; 100,000 levels crashed the parser).
- **Sizes**: a scheme document at most :data:`MAX_DOCUMENT_BYTES` once serialised; a free-text field
  (description, change note, reason, review note) at most :data:`MAX_TEXT_CHARS` characters; a code at
  most its column's length, of letters, digits and ``_ . -``.
- **Request bodies** (:func:`parse_json_body`): at most :data:`MAX_BODY_BYTES`, valid JSON without
  NaN/Infinity, at most :data:`MAX_DEPTH` deep — a hostile body is a 400/413, never a 500; the content
  itself (NUL, sizes of fields) is then checked by the view's schema and the services (422 per field).

Every check walks the value iteratively (no recursion to exhaust) and stops at the first problem of
each kind; problems are field-level catalogue messages keyed by the path of the value
(``document.indicators.x.scoring.tiers[0].min``).
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from typing import Any

from rulesvc.catalogue import Msg, msg

MAX_DEPTH = 32
MAX_DOCUMENT_BYTES = 1_000_000
MAX_BODY_BYTES = 2_000_000
MAX_TEXT_CHARS = 4_000
MAX_NAME_CHARS = 200
MAX_CODE_CHARS = 80
CODE_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-")
# A code names a folder in `rules export`: it starts with a letter or digit, so ".", ".." or ".hidden"
# can never be one.
SCHEME_CODE_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,79}$"


def _path(parent: str, key: Any) -> str:
    if isinstance(key, int):
        return f"{parent}[{key}]"
    return f"{parent}.{key}" if parent else str(key)


def storable_problems(value: Any, where: str = "document", *, max_depth: int = MAX_DEPTH,
                      max_text: int | None = None) -> dict[str, list[Msg]]:
    """Every place in ``value`` that cannot be stored: ``{path: [message]}`` (empty when all is well)."""
    problems: dict[str, list[Msg]] = {}
    stack: list[tuple[Any, str, int]] = [(value, where, 0)]
    while stack:
        item, path, depth = stack.pop()
        if depth > max_depth:
            problems.setdefault(path, []).append(msg("field.too_deep", max=max_depth))
            continue
        if isinstance(item, str):
            if "\x00" in item:
                problems.setdefault(path, []).append(msg("field.nul_byte"))
            if max_text is not None and len(item) > max_text:
                problems.setdefault(path, []).append(msg("field.too_long", max=max_text, length=len(item)))
        elif isinstance(item, bool) or item is None or isinstance(item, int):
            continue
        elif isinstance(item, float):
            if not math.isfinite(item):
                problems.setdefault(path, []).append(msg("field.not_a_number"))
        elif isinstance(item, Mapping):
            for k, v in item.items():
                if not isinstance(k, str) or "\x00" in k:
                    problems.setdefault(path, []).append(msg("field.nul_byte"))
                    continue
                stack.append((v, _path(path, k), depth + 1))
        elif isinstance(item, (list, tuple)):
            for i, v in enumerate(item):
                stack.append((v, _path(path, i), depth + 1))
        else:  # dates and the like never reach here from JSON; refuse rather than store a repr
            problems.setdefault(path, []).append(msg("field.not_storable", kind=type(item).__name__))
        if len(problems) >= 50:
            break
    return problems


def document_problems(document: Any, where: str = "document", *,
                      max_bytes: int = MAX_DOCUMENT_BYTES) -> dict[str, list[Msg]]:
    """A scheme document (or a localization's overrides): storable, every text in it (names, formulas,
    descriptions, reasons) at most :data:`MAX_TEXT_CHARS`, and at most ``max_bytes`` serialised."""
    problems = storable_problems(document, where, max_text=MAX_TEXT_CHARS)
    if problems:
        return problems
    size = len(json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode("utf-8"))
    if size > max_bytes:
        return {where: [msg("field.too_large", max_kb=max_bytes // 1000, size_kb=size // 1000)]}
    return {}


def text_problems(fields: Mapping[str, Any], *, max_chars: int = MAX_TEXT_CHARS) -> dict[str, list[Msg]]:
    """Free-text fields (``None`` allowed): strings of at most ``max_chars``, without NUL."""
    problems: dict[str, list[Msg]] = {}
    for name, value in fields.items():
        if value is None:
            continue
        if not isinstance(value, str):
            problems[name] = [msg("field.not_text")]
        elif "\x00" in value:
            problems[name] = [msg("field.nul_byte")]
        elif len(value) > max_chars:
            problems[name] = [msg("field.too_long", max=max_chars, length=len(value))]
    return problems


def code_problem(code: Any, *, max_chars: int = MAX_CODE_CHARS) -> Msg | None:
    if not isinstance(code, str) or not code or len(code) > max_chars or not set(code) <= CODE_CHARS \
            or not code[0].isascii() or not code[0].isalnum():
        return msg("field.bad_code", max=max_chars)
    return None


class BodyError(ValueError):
    """A request body that cannot be accepted; ``status`` 400 or 413, ``message`` a catalogue message."""

    def __init__(self, status: int, message: Msg, problems: dict[str, list[Msg]] | None = None) -> None:
        super().__init__(message.code)
        self.status = status
        self.message = message
        self.problems = problems or {}


class _RefusedJson(ValueError):
    """What Python's parser would accept and JSON (or this API) does not: NaN, Infinity, a number too large for a
    float, a key twice in one object."""

    def __init__(self, problem: Msg) -> None:
        super().__init__(problem.code)
        self.problem = problem


def _one_each(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """An object whose keys are all different: with two ``"subject"`` keys Python keeps the last and a gateway
    may read the first — two readers, two subjects (a review's finding). Refused, as an unknown key is."""
    out = dict(pairs)
    if len(out) != len(pairs):
        seen: set[str] = set()
        twice = next(k for k, _ in pairs if k in seen or seen.add(k))  # type: ignore[func-returns-value]
        raise _RefusedJson(msg("json.duplicate_key", key=twice[:100]))
    return out


def _refuse_constant(name: str) -> float:
    raise _RefusedJson(msg("json.constant", name=name))


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):  # 1e999 parses as infinity
        raise _RefusedJson(msg("json.too_big", text=text[:40]))
    return value


# Python's parser says what it expected in English: the words a caller reads instead, in their language.
_JSON_WORDS = (("Expecting value", "json.value"), ("Expecting property name", "json.name"),
               ("Expecting ',' delimiter", "json.comma"), ("Expecting ':' delimiter", "json.colon"),
               ("Extra data", "json.extra"), ("Unterminated string", "json.string"),
               ("Invalid control character", "json.control"), ("Invalid \\escape", "json.escape"))


def json_problem(exc: ValueError) -> Msg:
    """What is wrong with a body Python's parser refused, and where (line, column, character)."""
    if isinstance(exc, _RefusedJson):
        return exc.problem
    if isinstance(exc, UnicodeDecodeError):
        return msg("json.not_unicode")
    if isinstance(exc, json.JSONDecodeError):
        what = next((msg(code) for start, code in _JSON_WORDS if exc.msg.startswith(start)),
                    msg("json.other", detail=exc.msg[:120]))
        return msg("json.at", line=exc.lineno, column=exc.colno, pos=exc.pos + 1, what=what)
    return msg("json.other", detail=str(exc)[:200])


def too_large(max_bytes: int = MAX_BODY_BYTES) -> Msg:
    """413's words: the limit in MB and in bytes (what the README states)."""
    return msg("request.body_too_large", max_mb=f"{max_bytes / 1_000_000:g}", max_bytes=f"{max_bytes:,}")


def parse_json_body(raw: bytes, *, max_bytes: int = MAX_BODY_BYTES, max_depth: int = MAX_DEPTH) -> Any:
    """Parse a request body strictly: size, syntax (no NaN/Infinity), depth, NUL — or :class:`BodyError`.

    Python's parser is recursive but guarded (a RecursionError, caught here, for absurd nesting); the
    depth limit proper is checked on the parsed value, iteratively."""
    if len(raw) > max_bytes:
        raise BodyError(413, too_large(max_bytes))
    try:
        # UTF-8 only (RFC 8259 §8.1): Python's parser would also take UTF-16 and UTF-32 bytes, which the views'
        # parser then cannot read. A NUL byte is never in UTF-8 JSON text (a NUL in a string is written \u0000):
        # it is UTF-16 or UTF-32 without its byte-order mark.
        if b"\x00" in raw:
            raise UnicodeDecodeError("utf-8", raw, raw.index(b"\x00"), raw.index(b"\x00") + 1, "NUL byte")
        value = json.loads(raw.decode("utf-8"), parse_constant=_refuse_constant, parse_float=_finite_float,
                           object_pairs_hook=_one_each)
    except RecursionError:
        raise BodyError(400, msg("request.bad_json", detail=msg("field.too_deep", max=max_depth)),
                        {"body": [msg("field.too_deep", max=max_depth)]}) from None
    except ValueError as exc:  # JSONDecodeError, UnicodeDecodeError, NaN/Infinity
        raise BodyError(400, msg("request.bad_json", detail=json_problem(exc))) from None
    if _deeper_than(value, max_depth):
        raise BodyError(400, msg("request.bad_json", detail=msg("field.too_deep", max=max_depth)),
                        {"body": [msg("field.too_deep", max=max_depth)]})
    # "\ud800" alone is valid JSON syntax but no character: Python keeps it in the string, and writing it out
    # (an error echoing it, the database) then fails — a 500 for a bad request (audit finding). Only an escape
    # can make one, so only a body with one is looked at.
    if (b"\\ud" in raw or b"\\uD" in raw) and _unpaired_surrogate(value):
        raise BodyError(400, msg("request.bad_json", detail=msg("json.surrogate")))
    # What is left (NUL characters, sizes of fields) is the content's business: the view's schema and the
    # services answer it with a 422 naming every field at once.
    return value


def _unpaired_surrogate(value: Any) -> bool:
    try:
        json.dumps(value, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def _deeper_than(value: Any, max_depth: int) -> bool:
    stack: list[tuple[Any, int]] = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if depth > max_depth:
            return True
        if isinstance(item, dict):
            stack.extend((v, depth + 1) for v in item.values())
        elif isinstance(item, list):
            stack.extend((v, depth + 1) for v in item)
    return False


__all__ = ["MAX_BODY_BYTES", "MAX_DEPTH", "MAX_DOCUMENT_BYTES", "MAX_NAME_CHARS", "MAX_TEXT_CHARS", "BodyError",
           "code_problem", "document_problems", "parse_json_body", "storable_problems", "text_problems", "too_large"]
