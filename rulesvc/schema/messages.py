"""marshmallow's validation messages in Chinese, the English kept after them in brackets.

``translate("Must be greater than 0 and less than or equal to 1.", 1.5)`` gives
``须大于 0 且不大于 1（当前为 1.5） (must be greater than 0 and less than or equal to 1)``.

Messages are recognised by their structure — one regular expression per marshmallow template, the
numbers and choices parsed out of the English — not by listing every concrete string, so a new
``Range(min=2, max=36)`` or ``OneOf([...])`` in the scheme schema needs nothing here. A message that is
already Chinese (our own validators write Chinese with the English in brackets) is left as it is; an
English message of no known form is kept whole behind a generic Chinese word.

``flatten`` turns marshmallow's nested ``messages`` into ``{path: [message, …]}`` (``grading.bands[0].quota``),
and, given the document, says what the offending value was.
"""

from __future__ import annotations

import copy
import math
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rulesvc.engine.lint import Structure


class _NoValue:
    """What ``translate`` and ``flatten`` receive when the offending value is not known."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "NO_VALUE"


NO_VALUE: Any = _NoValue()

ROOT = "(document)"

_CJK = re.compile(r"[\u3000-\u303f\u3400-\u9fff\uff00-\uffef]")

# Messages with nothing to parse: marshmallow's English → Chinese with our English gloss.
EXACT: dict[str, str] = {
    "Missing data for required field.": "缺少必填项 (missing required field)",
    "Unknown field.": "未知的键，可能是拼写错误 (unknown key — a typo?)",
    "Given more than once.": "只能给一个值，却给了多次 (given more than once: give one value)",
    "Field may not be null.": "不能为空（null） (may not be null)",
    "Invalid input type.": "类型不对，应为映射（键: 值） (invalid input type: a mapping is expected)",
    "Invalid type.": "类型不对 (invalid type)",
    "Invalid value.": "取值无效 (invalid value)",
    "Invalid input.": "取值无效 (invalid input)",
    "Number too large.": "数值过大 (number too large)",
    "Special numeric values (nan or infinity) are not permitted.": "不能为 NaN 或无穷大 (nan or infinity not permitted)",
    "Special numeric values are not permitted.": "不能为 NaN 或无穷大 (special numeric values not permitted)",
    "String does not match expected pattern.": "格式不符 (does not match the expected pattern)",
}

# "Not a valid {what}." — the fields' type errors, one template.
_NOT_VALID_ZH = {
    "number": "应为数值",
    "integer": "应为整数",
    "string": "应为文本",
    "utf-8 string": "应为 UTF-8 文本",
    "boolean": "应为 true/false",
    "list": "应为列表",
    "tuple": "应为列表（元组）",
    "mapping type": "应为映射（键: 值）",
    "date": "应为日期",
    "datetime": "应为日期时间",
    "naive datetime": "应为不带时区的日期时间",
    "aware datetime": "应为带时区的日期时间",
    "time": "应为时间",
    "period of time": "应为时长",
    "UUID": "应为 UUID",
    "URL": "应为网址",
    "email address": "应为电子邮件地址",
    "IP address": "应为 IP 地址",
    "IPv4 address": "应为 IPv4 地址",
    "IPv6 address": "应为 IPv6 地址",
}

# validate.Range: "Must be {min_op} {min}.", "Must be {max_op} {max}.", "Must be {min_op} {min} and {max_op} {max}."
_OPS = {
    "greater than or equal to": "不小于",
    "greater than": "大于",
    "less than or equal to": "不大于",
    "less than": "小于",
}
_OP = "|".join(re.escape(op) for op in sorted(_OPS, key=len, reverse=True))


def show_value(value: Any, limit: int = 40) -> str:
    """A value from the document as a reader would recognise it in the file."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        if math.isnan(value):
            return "NaN"
        if math.isinf(value):
            return "∞" if value > 0 else "−∞"
        return repr(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        text = value if len(value) <= limit else value[: limit - 1] + "…"
        return f"“{text}”"
    if isinstance(value, Mapping):
        return f"一个映射（{len(value)} 个键）"
    if isinstance(value, list | tuple):
        return f"一个列表（{len(value)} 项）"
    text = str(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _now(value: Any) -> str:
    return "" if value is NO_VALUE else f"（当前为 {show_value(value)}）"


def _gloss(message: str) -> str:
    """The English message as a bracketed gloss: first letter lower case, no final full stop."""
    text = message.strip().rstrip(".")
    return text[:1].lower() + text[1:] if text[:2] != text[:2].upper() else text


def _zh(zh: str, message: str, value: Any = NO_VALUE) -> str:
    return f"{zh}{_now(value)} ({_gloss(message)})"


def _choices(text: str) -> str:
    return "、".join(c.strip() for c in text.split(", ")) if text else "（无）"


def _count_unit(value: Any) -> tuple[str, str]:
    """How a Length counts ``value``: ("项", "3 项") for a list, ("个字符", …) for text."""
    if isinstance(value, str):
        return "个字符", f"（当前为 {len(value)} 个字符）"
    if isinstance(value, Mapping | list | tuple):
        return "项", f"（当前为 {len(value)} 项）"
    return "", ""


def _range(match: re.Match[str], message: str, value: Any) -> str:
    zh = f"须{_OPS[match['op1']]} {match['a']}"
    if match["op2"]:
        zh += f" 且{_OPS[match['op2']]} {match['b']}"
    return _zh(zh, message, value)


def _length(kind: str) -> Callable[[re.Match[str], str, Any], str]:
    def render(match: re.Match[str], message: str, value: Any) -> str:
        unit, now = _count_unit(value)
        n = match.groupdict()
        zh = {
            "min": f"长度不得小于 {n.get('min')}{unit}",
            "max": f"长度不得大于 {n.get('max')}{unit}",
            "between": f"长度须在 {n.get('min')} 到 {n.get('max')}{unit} 之间",
            "equal": f"长度须为 {n.get('equal')}{unit}",
        }[kind]
        return f"{zh}{now} ({_gloss(message)})"

    return render


def _not_valid(match: re.Match[str], message: str, value: Any) -> str:
    what = match["what"]
    zh = _NOT_VALID_ZH.get(what, f"应为有效的 {what}")
    said = _zh(zh, message, value)
    if what == "number" and isinstance(value, str) and _PERCENT.match(value.strip()):
        share = float(value.strip().rstrip("%")) / 100
        said += f"；比例写作小数：{value.strip()} 写作 {share:g} (write a share as a fraction: {share:g})"
    return said


_PERCENT = re.compile(r"^[0-9]+(\.[0-9]+)?\s*%$")


def _simple(template: str) -> Callable[[re.Match[str], str, Any], str]:
    """A message whose Chinese fills ``template`` from the named groups (choices joined with 、)."""

    def render(match: re.Match[str], message: str, value: Any) -> str:
        parts = {k: (_choices(v) if k in ("choices", "values") else v) for k, v in match.groupdict().items()}
        return _zh(template.format(**parts), message, value)

    return render


_PATTERNS: tuple[tuple[re.Pattern[str], Callable[[re.Match[str], str, Any], str]], ...] = (
    (re.compile(rf"^Must be (?P<op1>{_OP}) (?P<a>.+?)(?: and (?P<op2>{_OP}) (?P<b>.+?))?\.$"), _range),
    (re.compile(r"^Shorter than minimum length (?P<min>.+?)\.$"), _length("min")),
    (re.compile(r"^Longer than maximum length (?P<max>.+?)\.$"), _length("max")),
    (re.compile(r"^Length must be between (?P<min>.+?) and (?P<max>.+?)\.$"), _length("between")),
    (re.compile(r"^Length must be (?P<equal>.+?)\.$"), _length("equal")),
    (re.compile(r"^Must be one of: (?P<choices>.*)\.$", re.S), _simple("取值须为其一：{choices}")),
    (re.compile(r"^One or more of the choices you made was not in: (?P<choices>.*)\.$", re.S),
     _simple("各项取值须在其中：{choices}")),
    (re.compile(r"^One or more of the choices you made was in: (?P<values>.*)\.$", re.S),
     _simple("各项取值不得为：{values}")),
    (re.compile(r"^Must be equal to (?P<other>.*)\.$", re.S), _simple("须等于 {other}")),
    (re.compile(r"^Not a valid (?P<what>.+?)\.$"), _not_valid),
)

# About a key (missing, unknown) or a null: there is no value worth quoting.
_NO_VALUE_FOR = frozenset({"Missing data for required field.", "Unknown field.", "Field may not be null.",
                           "Given more than once."})


# A stable code for each kind of marshmallow message (an API's 422 ``field_codes``): machines match on these.
_EXACT_CODES = {
    "Missing data for required field.": "field.required", "Unknown field.": "field.unknown",
    "Given more than once.": "field.repeated",
    "Field may not be null.": "field.null", "Number too large.": "field.out_of_range",
    "Special numeric values (nan or infinity) are not permitted.": "field.not_a_number",
    "Special numeric values are not permitted.": "field.not_a_number",
    "String does not match expected pattern.": "field.format",
}
_PATTERN_CODES = (("Must be ", "field.out_of_range"), ("Shorter than", "field.length"), ("Longer than", "field.length"),
                  ("Length must", "field.length"), ("Must be one of", "field.one_of"),
                  ("One or more of the choices", "field.one_of"), ("Not a valid ", "field.type"),
                  ("Invalid input type", "field.type"), ("Invalid type", "field.type"))


def code_of(message: str) -> str:
    """The kind of a field message as a stable code of the catalogue: ``field.required``, ``field.unknown``,
    ``field.repeated``, ``field.type``, ``field.out_of_range``, ``field.length``, ``field.one_of``, ``field.format``…;
    ``field.invalid`` for the rest (a field's own words, e.g. how a period is written)."""
    if message in _EXACT_CODES:
        return _EXACT_CODES[message]
    for start, code in sorted(_PATTERN_CODES, key=lambda p: -len(p[0])):  # "Must be one of" before "Must be "
        if message.startswith(start):
            return code
    return "field.invalid"


def translate(message: str, value: Any = NO_VALUE) -> str:
    """One marshmallow message in Chinese with the English after it; ``value`` (the offending value,
    when known) is quoted as "（当前为 1.5）". Chinese messages are returned unchanged."""
    if not isinstance(message, str):
        message = str(message)
    if _CJK.search(message):
        return message
    if message in EXACT:
        if value is NO_VALUE or message in _NO_VALUE_FOR:
            return EXACT[message]
        zh, _, en = EXACT[message].partition(" (")
        return f"{zh}{_now(value)} ({en}" if en else f"{zh}{_now(value)}"
    for pattern, render in _PATTERNS:
        match = pattern.match(message)
        if match:
            return render(match, message, value)
    return _zh("取值有误", message, value)


@dataclass(frozen=True)
class Problem:
    """Messages at one place: ``steps`` are mapping keys (str) and list indexes (int) from the
    document's root; ``on_key`` when the messages are about a mapping's key rather than its value."""

    steps: tuple[str | int, ...]
    messages: tuple[str, ...]  # marshmallow's, untranslated
    value: Any = NO_VALUE
    on_key: bool = False

    @property
    def path(self) -> str:
        return path_of(self.steps, prefix="", on_key=self.on_key)

    def translated(self) -> list[str]:
        return [translate(m, NO_VALUE if m in _NO_VALUE_FOR else self.value) for m in self.messages]


def path_of(steps: tuple[str | int, ...], *, prefix: str = "", on_key: bool = False) -> str:
    """``("grading", "bands", 0, "quota")`` → ``grading.bands[0].quota``."""
    out = prefix
    for s in steps:
        out = f"{out}[{s}]" if isinstance(s, int) else f"{out}.{s}" if out else str(s)
    if on_key:
        out = f"{out}.key" if out else "key"
    return out or ROOT


def _child(data: Any, key: str | int) -> Any:
    if isinstance(key, int):
        return data[key] if isinstance(data, list | tuple) and -len(data) <= key < len(data) else NO_VALUE
    if isinstance(data, Mapping):
        return data.get(key, NO_VALUE)
    return NO_VALUE


def walk(messages: Any, data: Any = NO_VALUE, steps: tuple[str | int, ...] = ()) -> Iterator[Problem]:
    """Every place in marshmallow's nested ``messages`` with its messages and, when ``data`` (the
    document as given) is known, the value found there.

    A ``fields.Dict`` nests the errors of an entry's value under ``"value"`` and of its key under
    ``"key"``; a schema's own errors sit under ``"_schema"`` — all three belong to the entry itself."""
    if isinstance(messages, Mapping):
        for key, sub in messages.items():
            if steps and key == "value":
                yield from walk(sub, data, steps)
            elif steps and key == "key" and not (isinstance(data, Mapping) and "key" in data):
                key_value = steps[-1] if isinstance(steps[-1], str) else NO_VALUE
                yield Problem(steps, _strings(sub), key_value, on_key=True)
            elif key == "_schema":
                yield from walk(sub, data, steps)
            else:
                k: str | int = key if isinstance(key, int) else str(key)
                yield from walk(sub, _child(data, k), (*steps, k))
    elif isinstance(messages, list | tuple) and all(isinstance(x, str) for x in messages):
        yield Problem(steps, tuple(messages), data)
    elif isinstance(messages, list | tuple):
        for i, sub in enumerate(messages):
            yield from walk(sub, _child(data, i), (*steps, i))
    else:
        yield Problem(steps, (str(messages),), data)


def _strings(messages: Any) -> tuple[str, ...]:
    if isinstance(messages, list | tuple):
        return tuple(str(x) for x in messages)
    return (str(messages),)


def flatten(messages: Any, data: Any = NO_VALUE, prefix: str = "") -> dict[str, list[str]]:
    """marshmallow's nested ``messages`` as ``{path: [Chinese message, …]}``; with ``data`` (the
    document as given) range and type errors also say what the value was."""
    out: dict[str, list[str]] = {}
    for p in walk(messages, data):
        path = path_of(p.steps, prefix=prefix, on_key=p.on_key)
        out.setdefault(path, []).extend(p.translated())
    return out


# -- every structural error at once, and what remains checkable ------------------------------------

MAX_ROUNDS = 8
# Required top-level keys whose value no check depends on: a bad one is replaced, not fatal.
_PLACEHOLDERS = {"code": "lint-placeholder", "name": "（名称有误）"}
_SEGMENT = re.compile(r"\[(\d+)\]|\.?([^.\[\]]+)")


@dataclass
class _Step:
    kind: str  # attr (a key of a schema object) | entry (a key of a fields.Dict) | item (a list index) | other
    container: Any  # where the key sits in the working copy (NO_VALUE when the document has nothing there)
    key: str | int
    required: bool = False

    def present(self) -> bool:
        if isinstance(self.container, dict):
            return self.key in self.container
        return isinstance(self.container, list) and isinstance(self.key, int) and 0 <= self.key < len(self.container)


def _shape(f: Any) -> tuple[str, Any]:
    from marshmallow import fields

    if isinstance(f, fields.Nested):
        return "schema", f.schema
    if isinstance(f, fields.Dict):
        return "dict", f.value_field
    if isinstance(f, fields.List):
        return "list", f.inner
    return "leaf", None


def _resolve(doc: dict[str, Any], steps: tuple[str | int, ...], root_schema: Any) -> list[_Step]:
    """The steps of a path through the working copy and the schema: what each key is and whether the
    schema requires it."""
    out: list[_Step] = []
    node: Any = doc
    shape: tuple[str, Any] = ("schema", root_schema)
    for s in steps:
        kind, spec = shape
        key: str | int = s
        if kind == "schema" and isinstance(s, str):
            by_key = {(f.data_key or name): f for name, f in spec.fields.items()}
            f = by_key.get(s)
            if isinstance(node, dict) and s == "events" and s not in node and "event" in node:
                key = "event"  # the ``event: x`` shorthand for ``events: [x]``
            out.append(_Step("attr", node, key, bool(f is not None and f.required)))
            shape = _shape(f)
        elif kind == "dict" and isinstance(s, str):
            out.append(_Step("entry", node, key))
            shape = _shape(spec)
        elif kind == "list" and isinstance(s, int):
            out.append(_Step("item", node, key))
            shape = _shape(spec)
        else:
            out.append(_Step("other", node, key))
            shape = ("leaf", None)
        node = node[key] if out[-1].present() else NO_VALUE
    return out


def _prune(doc: dict[str, Any], steps: tuple[str | int, ...], root_schema: Any) -> tuple[str, Any, str | None] | None:
    """Set aside the smallest part of ``doc`` that holds the problem at ``steps``: an optional key, or
    the entry of a section (``indicators.x``) whose required key is bad; a list goes whole, so that the
    later elements keep their indexes (and the paths of later findings stay true). Returns the path
    set aside, its value and, for an entry, its code; None when nothing can be set aside."""
    resolved = _resolve(doc, steps, root_schema)
    for i in range(len(resolved) - 1, -1, -1):
        st = resolved[i]
        path = path_of(steps[: i + 1])
        if not st.present():
            if i < len(resolved) - 1:
                return None  # an enclosing part was set aside already (another problem of this round)
            continue  # the key itself is missing: set aside what holds it
        if st.kind == "entry" or (st.kind == "attr" and not st.required):
            return path, st.container.pop(st.key), str(st.key) if st.kind == "entry" else None
        if st.kind == "attr" and i == 0 and st.key in _PLACEHOLDERS:
            value, st.container[st.key] = st.container[st.key], _PLACEHOLDERS[str(st.key)]
            return path, value, None
    return None


def _parse_path(path: str) -> tuple[str | int, ...]:
    if path == ROOT:
        return ()
    return tuple(int(m[1]) if m[1] is not None else m[2] for m in _SEGMENT.finditer(path))


def _problems(doc: dict[str, Any], reported: Mapping[str, list[str]], root_schema: Any) -> list[Problem]:
    """The problems ``load_scheme`` reported, each located in the document and, where marshmallow's own
    messages are at hand, translated with the offending value."""
    from marshmallow import ValidationError

    raw: dict[str, Problem] = {}
    try:
        root_schema.load(copy.deepcopy(doc))
    except ValidationError as exc:
        for p in walk(exc.messages, doc):
            seen = raw.get(p.path)
            raw[p.path] = p if seen is None else Problem(p.steps, seen.messages + p.messages, p.value, p.on_key)
    out = []
    for path, msgs in reported.items():
        found = raw.get(path)
        if found is None or len(found.messages) != len(msgs):
            found = Problem(_parse_path(path), tuple(msgs))
        out.append(found)
    return out


def check_structure(doc: Any) -> Structure:
    """Every structural error of a scheme document at once, and the scheme loaded from what remains.

    When ``load_scheme`` refuses the document, the erroneous parts are set aside (see ``_prune``) and
    the rest loaded again, a few rounds at most (a schema's own checks only run once its fields are
    valid, so a second round can find more). Returns a ``rulesvc.engine.lint.Structure`` for
    ``lint_document``."""
    from rulesvc.engine.lint import Structure
    from rulesvc.schema.scheme import DocumentError, SchemeSchema, load_scheme

    if not isinstance(doc, Mapping):
        try:
            return Structure(scheme=load_scheme(doc))
        except DocumentError as exc:
            return Structure(problems=tuple((p, tuple(m)) for p, m in exc.problems.items()))
    root_schema = SchemeSchema()
    work = copy.deepcopy(dict(doc))
    problems: dict[str, list[str]] = {}
    removed: dict[str, Any] = {}
    codes: set[str] = set()

    def result(scheme: Any = None) -> Structure:
        return Structure(tuple((p, tuple(m)) for p, m in problems.items()), scheme, removed, frozenset(codes))

    for first in [True] + [False] * (MAX_ROUNDS - 1):
        try:
            scheme = load_scheme(work)
        except DocumentError as exc:
            found = _problems(work, exc.problems, root_schema)
        else:
            return result(scheme)
        progress = False
        for p in found:
            # After the first round, a problem inside what was set aside only follows from setting it
            # aside (e.g. "give effect or effects" once a bad effect is gone): not reported again.
            if first or not any(p.path == r or p.path.startswith((r + ".", r + "[")) for r in removed):
                msgs = problems.setdefault(p.path, [])
                msgs.extend(m for m in p.translated() if m not in msgs)
            pruned = _prune(work, p.steps, root_schema)
            if pruned is not None:
                path, value, code = pruned
                removed[path] = value
                if code is not None:
                    codes.add(code)
                progress = True
        if not progress:
            return result()
    return result()
