"""The types of the formula language and how they are named in messages.

Six kinds: ``number`` (always a float), ``bool``, ``string``, ``date``, ``enum`` (a string restricted to
a set of keys, each with a Chinese label) and ``null`` (the type of the literal ``null``, which fits
anywhere). A scope maps each name a formula may use to its type.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Literal, Protocol

Kind = Literal["number", "bool", "string", "date", "enum", "null"]

_ZH = {"number": "数值", "bool": "布尔（是/否）", "string": "文本", "date": "日期", "enum": "枚举", "null": "空值"}


@dataclass(frozen=True)
class Type:
    """A type: its kind and, for enums, the ``(key, label)`` choices in dictionary order."""

    kind: Kind
    choices: tuple[tuple[str, str], ...] = ()

    @property
    def zh(self) -> str:
        """The Chinese name of the type, used in messages."""
        return _ZH[self.kind]

    @property
    def en(self) -> str:
        """The English name of the type, used in messages and ``expected``."""
        return self.kind

    def choice_list(self) -> str:
        """The enum's choices as people read them: ``prosecute（起诉）、not_prosecute（不起诉）``."""
        return "、".join(f"{k}（{v}）" if v and v != k else k for k, v in self.choices)

    def key_for(self, text: str) -> str | None:
        """The enum key that ``text`` names (a key, or a Chinese label), or ``None``."""
        for key, _label in self.choices:
            if text == key:
                return key
        for key, label in self.choices:
            if text == label:
                return key
        return None

    def same_as(self, other: Type) -> bool:
        """Same kind, and for enums the same set of keys."""
        if self.kind != other.kind:
            return False
        return self.kind != "enum" or {k for k, _ in self.choices} == {k for k, _ in other.choices}


NUMBER = Type("number")
BOOL = Type("bool")
STRING = Type("string")
DATE = Type("date")
NULL = Type("null")


def enum(choices: Mapping[str, str] | Iterable[str]) -> Type:
    """An enum type from ``{key: label}`` (or bare keys, labelled by themselves)."""
    if isinstance(choices, Mapping):
        pairs = tuple((str(k), str(v)) for k, v in choices.items())
    else:
        pairs = tuple((str(k), str(k)) for k in choices)
    if not pairs:
        raise ValueError("an enum needs at least one choice")
    return Type("enum", pairs)


class _FieldLike(Protocol):
    type: str
    choices: Mapping[str, str] | None


def field_type(kind: str, choices: Mapping[str, str] | None = None) -> Type:
    """The formula type of a data-dictionary field type (``int``, ``float``, ``str``, ``bool``, ``date``,
    ``enum`` with its ``{key: label}`` choices)."""
    if kind in ("int", "float", "number"):
        return NUMBER
    if kind in ("str", "string"):
        return STRING
    if kind == "enum":
        return enum(choices or {})
    if kind in ("bool", "date"):
        return BOOL if kind == "bool" else DATE
    raise ValueError(f"no formula type for field type {kind!r}")


def type_of_field(field: _FieldLike) -> Type:
    """The formula type of a data-dictionary field (``rulesvc.engine.dictionary.FieldDef``)."""
    return field_type(field.type, field.choices)


def is_number(t: Type) -> bool:
    """Whether ``t`` is the number type."""
    return t.kind == "number"


def type_named(kind: str) -> Type:
    """``NUMBER``, ``BOOL``, ``STRING`` or ``DATE`` by kind name (for callers that say ``want="bool"``)."""
    try:
        return {"number": NUMBER, "bool": BOOL, "string": STRING, "date": DATE}[kind]
    except KeyError:
        raise ValueError(f"no plain type named {kind!r}") from None


def scope_of_fields(fields: Mapping[str, Any]) -> dict[str, Type]:
    """A scope from an event type's ``fields`` mapping (name → ``FieldDef``)."""
    return {name: type_of_field(f) for name, f in fields.items()}
