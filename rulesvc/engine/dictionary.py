"""The data dictionary: event types, their typed fields, and how a raw value becomes a typed one.

Loaded from ``rules/dictionary/*.yaml``; the database keeps a copy for the UI. Coercion accepts what
CSV (text), Excel (native cells) and JSON Lines (JSON types) give, and refuses anything ambiguous:
``"yes"`` is not a boolean, ``1.5`` is not an integer, ``2020-7-1`` is not a date.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

FIELD_TYPES = ("bool", "int", "float", "str", "date", "enum")
STR_MAX = 500
TRUE_TEXT = {"true", "1", "是", "t", "y"}
FALSE_TEXT = {"false", "0", "否", "f", "n"}


class DictionaryError(ValueError):
    """The dictionary file itself is malformed; ``where`` is the path inside the document."""

    def __init__(self, where: str, message: str) -> None:
        super().__init__(f"{where}: {message}")
        self.where = where


class ValueRejected(ValueError):
    """A value does not fit its field; carries a Chinese and an English message."""

    def __init__(self, zh: str, en: str) -> None:
        super().__init__(en)
        self.zh = zh
        self.en = en


@dataclass(frozen=True)
class FieldDef:
    """One typed field of an event type."""

    name: str
    type: str
    label: str
    label_en: str
    required: bool = False
    choices: Mapping[str, str] | None = None
    minimum: float | None = None
    maximum: float | None = None
    # a date that cannot come after another of the event's dates: ``occurred_on`` (the event's own date: a
    # review cannot be concluded before it was accepted) or another date field of the event type
    not_after: str | None = None

    def coerce(self, raw: Any) -> Any:
        """Return the typed value of ``raw`` (``None`` when empty), or raise :class:`ValueRejected`."""
        if raw is None or (isinstance(raw, str) and raw.strip() == ""):
            if self.required:
                raise ValueRejected(f"“{self.label}”为必填项", f"'{self.name}' is required")
            return None
        value = _COERCERS[self.type](self, raw)
        if self.type in ("int", "float"):
            if self.minimum is not None and value < self.minimum:
                raise ValueRejected(
                    f"“{self.label}”不能小于 {_num(self.minimum)}", f"'{self.name}' must be >= {_num(self.minimum)}"
                )
            if self.maximum is not None and value > self.maximum:
                raise ValueRejected(
                    f"“{self.label}”不能大于 {_num(self.maximum)}", f"'{self.name}' must be <= {_num(self.maximum)}"
                )
        return value


@dataclass(frozen=True)
class EventTypeDef:
    """A kind of event and its fields."""

    code: str
    name: str
    name_en: str
    fields: Mapping[str, FieldDef]
    line: str | None = None
    requires_case: bool = False
    description: str = ""
    unit: str = "件"  # what one event counts, in words: 人, 件, 次, 项


@dataclass(frozen=True)
class BusinessDef:
    code: str
    name: str
    name_en: str
    line: str
    line_name: str
    sort: int


@dataclass(frozen=True)
class Dictionary:
    """All event types and businesses, with a content hash for reproducibility."""

    event_types: Mapping[str, EventTypeDef]
    businesses: tuple[BusinessDef, ...] = ()
    content_hash: str = ""
    lines: Mapping[str, str] = field(default_factory=dict)

    def event_type(self, code: str) -> EventTypeDef:
        try:
            return self.event_types[code]
        except KeyError:
            raise ValueRejected(
                f"未知的事件类型“{code}”（可用：{', '.join(sorted(self.event_types))}）",
                f"unknown event type '{code}' (one of: {', '.join(sorted(self.event_types))})",
            ) from None

    def coerce_attrs(self, code: str, raw: Mapping[str, Any]) -> tuple[dict[str, Any], list[tuple[str, ValueRejected]]]:
        """Type every field of one event. Returns the typed attributes and the per-field problems.

        Unknown keys are problems too: a typo must not silently drop a fact.
        """
        et = self.event_type(code)
        typed: dict[str, Any] = {}
        problems: list[tuple[str, ValueRejected]] = []
        for name in raw:
            if name not in et.fields:
                problems.append(
                    (name, ValueRejected(f"事件类型“{et.name}”没有字段“{name}”", f"'{code}' has no field '{name}'"))
                )
        for name, fdef in et.fields.items():
            try:
                value = fdef.coerce(raw.get(name))
            except ValueRejected as exc:
                problems.append((name, exc))
                continue
            if value is not None:
                typed[name] = value
        return typed, problems


def _num(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else str(x)


def _bool(f: FieldDef, raw: Any) -> bool:
    if isinstance(raw, bool):
        return raw
    if isinstance(raw, int) and raw in (0, 1):
        return bool(raw)
    if isinstance(raw, str):
        text = raw.strip().lower()
        if text in TRUE_TEXT:
            return True
        if text in FALSE_TEXT:
            return False
    raise ValueRejected(
        f"“{f.label}”应为是/否（true/false、1/0），实际为 {raw!r}", f"'{f.name}' must be true/false, got {raw!r}"
    )


def _int(f: FieldDef, raw: Any) -> int:
    if isinstance(raw, bool):
        raise ValueRejected(f"“{f.label}”应为整数", f"'{f.name}' must be an integer, got {raw!r}")
    if isinstance(raw, int):
        return raw
    if isinstance(raw, float) and raw.is_integer():
        return int(raw)
    if isinstance(raw, str):
        text = raw.strip()
        if text.lstrip("+-").isdigit():
            return int(text)
    raise ValueRejected(f"“{f.label}”应为整数，实际为 {raw!r}", f"'{f.name}' must be an integer, got {raw!r}")


def _float(f: FieldDef, raw: Any) -> float:
    value: float | None = None
    if isinstance(raw, bool):
        value = None
    elif isinstance(raw, int | float):
        value = float(raw)
    elif isinstance(raw, str):
        try:
            value = float(raw.strip())
        except ValueError:
            value = None
    if value is None or not math.isfinite(value):
        raise ValueRejected(f"“{f.label}”应为数值，实际为 {raw!r}", f"'{f.name}' must be a finite number, got {raw!r}")
    return value


def _str(f: FieldDef, raw: Any) -> str:
    if isinstance(raw, bool) or not isinstance(raw, str | int):
        raise ValueRejected(f"“{f.label}”应为文本", f"'{f.name}' must be text, got {raw!r}")
    text = str(raw).strip()
    if len(text) > STR_MAX:
        raise ValueRejected(f"“{f.label}”超过 {STR_MAX} 个字符", f"'{f.name}' is longer than {STR_MAX} characters")
    return text


_SLASHED = re.compile(r"\d{4}/\d{1,2}/\d{1,2}")


def parse_date(raw: Any) -> dt.date:
    """ISO ``YYYY-MM-DD`` text (or ``YYYY/M/D``, as spreadsheets write it), or a date/datetime cell from Excel."""
    if isinstance(raw, dt.datetime):
        if raw.time() != dt.time(0):
            raise ValueError("has a time of day")
        return raw.date()
    if isinstance(raw, dt.date):
        return raw
    if isinstance(raw, str) and _SLASHED.fullmatch(raw.strip()):  # 2020/11/05, as spreadsheets write dates
        y, m, d = (int(x) for x in raw.strip().split("/"))
        return dt.date(y, m, d)
    if isinstance(raw, str) and len(raw.strip()) == 10:
        return dt.date.fromisoformat(raw.strip())
    raise ValueError("not an ISO date")


def date_rejected(label: str, name: str, raw: Any) -> ValueRejected:
    """A date cell refused, said as a person reads the cell: an Excel date with a time of day as that date and
    time (never a Python ``datetime(…)``), anything else as it came."""
    if isinstance(raw, dt.datetime):
        return ValueRejected(f"“{label}”应为日期 YYYY-MM-DD，实际为带时刻的 {raw:%Y-%m-%d %H:%M}：请去掉时刻",
                             f"'{name}' must be a date YYYY-MM-DD, got {raw:%Y-%m-%d %H:%M} with a time of day")
    if isinstance(raw, str) and re.fullmatch(r"\d{4}-\d{2}-\d{2}|\d{4}/\d{1,2}/\d{1,2}", raw.strip()):
        # Written as a date, but no such day (2020-02-30, 2020-13-01): said so, not "must be YYYY-MM-DD".
        return ValueRejected(f"“{label}”的 {raw.strip()} 不是存在的日期", f"'{name}': {raw.strip()} is not a real date")
    return ValueRejected(f"“{label}”应为日期 YYYY-MM-DD，实际为 {raw!r}", f"'{name}' must be a date YYYY-MM-DD, got {raw!r}")


def _date(f: FieldDef, raw: Any) -> str:
    try:
        return parse_date(raw).isoformat()
    except ValueError:
        raise date_rejected(f.label, f.name, raw) from None


def _enum(f: FieldDef, raw: Any) -> str:
    assert f.choices is not None
    text = str(raw).strip() if isinstance(raw, str | int) and not isinstance(raw, bool) else None
    if text is not None and text in f.choices:
        return text
    # Accept the Chinese label too: people type what they see in the UI.
    for key, label in f.choices.items():
        if text == label:
            return key
    allowed = "、".join(f"{k}（{v}）" for k, v in f.choices.items())
    raise ValueRejected(
        f"“{f.label}”的值 {raw!r} 不在可选值中：{allowed}",
        f"'{f.name}' must be one of {', '.join(f.choices)}, got {raw!r}",
    )


_COERCERS: dict[str, Callable[[FieldDef, Any], Any]] = {"bool": _bool, "int": _int, "float": _float, "str": _str, "date": _date, "enum": _enum}


def _field(where: str, name: str, spec: Any) -> FieldDef:
    if not isinstance(spec, Mapping):
        raise DictionaryError(where, "a field must be a mapping")
    unknown = set(spec) - {"type", "label", "label_en", "required", "choices", "min", "max", "not_after"}
    if unknown:
        raise DictionaryError(where, f"unknown keys {sorted(unknown)}")
    kind = spec.get("type")
    if kind not in FIELD_TYPES:
        raise DictionaryError(where + ".type", f"must be one of {FIELD_TYPES}, got {kind!r}")
    choices = spec.get("choices")
    if (kind == "enum") != (choices is not None):
        raise DictionaryError(where + ".choices", "enum fields, and only they, need choices")
    if choices is not None and (not isinstance(choices, Mapping) or not choices):
        raise DictionaryError(where + ".choices", "must be a non-empty mapping of value: label")
    for key in ("label", "label_en"):
        if not isinstance(spec.get(key), str):
            raise DictionaryError(f"{where}.{key}", "is required text")
    not_after = spec.get("not_after")
    if not_after is not None and (kind != "date" or not isinstance(not_after, str)):
        raise DictionaryError(where + ".not_after", "only a date field may name the date it cannot come after")
    return FieldDef(
        name=name,
        type=kind,
        label=spec["label"],
        label_en=spec["label_en"],
        required=bool(spec.get("required", False)),
        choices={str(k): str(v) for k, v in choices.items()} if choices else None,
        minimum=spec.get("min"),
        maximum=spec.get("max"),
        not_after=not_after,
    )


def build_dictionary(events_doc: Mapping[str, Any], business_doc: Mapping[str, Any] | None = None) -> Dictionary:
    """Validate parsed dictionary documents and build the :class:`Dictionary`."""
    types: dict[str, EventTypeDef] = {}
    raw_types = events_doc.get("event_types")
    if not isinstance(raw_types, Mapping) or not raw_types:
        raise DictionaryError("event_types", "must be a non-empty mapping")
    for code, spec in raw_types.items():
        where = f"event_types.{code}"
        if not isinstance(spec, Mapping) or not isinstance(spec.get("fields"), Mapping):
            raise DictionaryError(where, "needs name, name_en and fields")
        fields = {n: _field(f"{where}.fields.{n}", n, s) for n, s in spec["fields"].items()}
        for n, f in fields.items():
            other = fields.get(f.not_after or "")
            if f.not_after is not None and f.not_after != "occurred_on" and (other is None or other.type != "date"):
                raise DictionaryError(f"{where}.fields.{n}.not_after", "must be occurred_on or a date field of the type")
        types[code] = EventTypeDef(
            code=code,
            name=str(spec.get("name", code)),
            name_en=str(spec.get("name_en", code)),
            fields=fields,
            line=spec.get("line"),
            requires_case=bool(spec.get("requires_case", False)),
            description=str(spec.get("description", "")).strip(),
            unit=str(spec.get("unit", "件")),
        )
    businesses: list[BusinessDef] = []
    lines: dict[str, str] = {}
    if business_doc:
        lines = {k: v["name"] for k, v in business_doc.get("lines", {}).items()}
        for i, b in enumerate(business_doc.get("businesses", [])):
            if b.get("line") not in lines:
                raise DictionaryError(f"businesses[{i}].line", f"unknown line {b.get('line')!r}")
            businesses.append(BusinessDef(b["code"], b["name"], b["name_en"], b["line"], lines[b["line"]], i))
    canonical = json.dumps([events_doc, business_doc], sort_keys=True, ensure_ascii=False, default=str)
    return Dictionary(
        event_types=types,
        businesses=tuple(businesses),
        content_hash=hashlib.sha256(canonical.encode()).hexdigest(),
        lines=lines,
    )


def load_dictionary(rules_dir: str | Path) -> Dictionary:
    """Load ``<rules_dir>/dictionary/events.yaml`` and ``business_lines.yaml``."""
    base = Path(rules_dir) / "dictionary"
    with open(base / "events.yaml", encoding="utf-8") as fh:
        events_doc = yaml.safe_load(fh)
    with open(base / "business_lines.yaml", encoding="utf-8") as fh:
        business_doc = yaml.safe_load(fh)
    return build_dictionary(events_doc, business_doc)
