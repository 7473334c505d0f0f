"""Language-aware labels, list-cell formatters and database-backed filter choices for the admin views.

Names kept in the database in both languages (``name``/``name_en``, ``label``/``label_en``) are shown in
the current UI language; the Chinese code labels come from :mod:`rulesvc.persistence.models`, their
English counterparts are here.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any

from flask import g
from flask_admin.contrib.sqla.filters import FilterEqual
from flask_admin.model import filters as base_filters
from flask_babel import get_locale
from markupsafe import Markup, escape
from sqlalchemy import select

from rulesvc.extensions import db
from rulesvc.persistence.models import (
    LEVEL_LABELS,
    QUOTA_LABELS,
    ROLE_LABELS,
    BusinessLine,
    EventField,
)
from rulesvc.services import localtime

LEVEL_LABELS_EN = {"province": "Provincial", "city": "City-level", "county": "County-level"}
QUOTA_LABELS_EN = {"quota": "Quota prosecutor", "non_quota": "Non-quota", "exited": "Left the quota"}
ROLE_LABELS_EN = {"admin": "Administrator", "designer": "Rule designer", "reviewer": "Reviewer", "viewer": "Viewer"}
KIND_LABELS = {"events": "事件数据", "reference": "基础数据"}
KIND_LABELS_EN = {"events": "Events", "reference": "Reference data"}
LINE_LABELS_EN = {
    "criminal": "Criminal",
    "civil": "Civil",
    "administrative": "Administrative",
    "public_interest": "Public-interest litigation",
}
FIELD_TYPES = {"bool": "是/否", "int": "整数", "float": "数值", "str": "文本", "date": "日期", "enum": "选项"}
FIELD_TYPES_EN = {"bool": "yes/no", "int": "integer", "float": "number", "str": "text", "date": "date", "enum": "choice"}


def is_english() -> bool:
    """Whether the current request is shown in English."""
    locale = get_locale()
    return locale is not None and locale.language == "en"


def pick(zh: str | None, en: str | None) -> str:
    """The English text in English (when there is one), else the Chinese."""
    if is_english() and en:
        return en
    return zh or en or ""


def code_label(code: str | None, zh: Mapping[str, str], en: Mapping[str, str]) -> str:
    """The label of a stored code (level, quota status, role …) in the current language."""
    if code is None:
        return ""
    return pick(zh.get(code, code), en.get(code))


def level_label(code: str | None) -> str:
    """省级院 / 市级院 / 基层院, or Provincial / City-level / County-level."""
    return code_label(code, LEVEL_LABELS, LEVEL_LABELS_EN)


def quota_label(code: str | None) -> str:
    """员额检察官 / 非员额 / 已退出员额 in the current language."""
    return code_label(code, QUOTA_LABELS, QUOTA_LABELS_EN)


def role_label(code: str | None) -> str:
    """The role's label in the current language."""
    return code_label(code, ROLE_LABELS, ROLE_LABELS_EN)


def kind_label(code: str | None) -> str:
    """Dataset kind: events or reference data."""
    return code_label(code, KIND_LABELS, KIND_LABELS_EN)


def line_label(code: str | None) -> str:
    """The line of work (四大检察) of an event type."""
    if not code:
        return ""
    if "rulesvc_line_names" not in g:
        g.rulesvc_line_names = dict(db.session.execute(select(BusinessLine.line, BusinessLine.line_name)).all())
    return pick(g.rulesvc_line_names.get(code, code), LINE_LABELS_EN.get(code))


def yes_no(value: Any) -> str:
    """是/否 or yes/no."""
    return pick("是" if value else "否", "yes" if value else "no")


def format_date(value: dt.date | dt.datetime | str | None) -> str:
    """ISO date, or date and minutes of a moment in the site's time zone (Beijing time by default; the
    database keeps UTC)."""
    return localtime.text(value)


def zone_label() -> str:
    """北京时间 / Beijing time (or the configured zone's name): said once where times are listed."""
    return localtime.label("en" if is_english() else "zh")


# -- the data dictionary --------------------------------------------------------------------------------


def _dictionary_fields() -> dict[str, list[EventField]]:
    """Every event type's fields, in dictionary order; read once per request."""
    if "rulesvc_fields" not in g:
        by_type: dict[str, list[EventField]] = {}
        for f in db.session.scalars(select(EventField).order_by(EventField.event_type_code, EventField.position)):
            by_type.setdefault(f.event_type_code, []).append(f)
        g.rulesvc_fields = by_type
    return g.rulesvc_fields


def _value_text(field: EventField | None, value: Any) -> str:
    if field is None:
        return "" if value is None else str(value)
    if field.type == "bool":
        return yes_no(value)
    if field.type == "enum" and field.choices and not is_english():
        return str(field.choices.get(value, value))
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return "" if value is None else str(value)


def attrs_markup(event_type: str, attrs: Mapping[str, Any] | None) -> Markup:
    """An event's attributes as "label: value" pairs, labelled and ordered by the data dictionary.

    Attributes the dictionary does not know (it changed since the import) are shown under their own name.
    """
    attrs = dict(attrs or {})
    fields = _dictionary_fields().get(event_type, [])
    parts: list[Markup] = []
    for f in fields:
        if f.name in attrs:
            value = attrs.pop(f.name)
            parts.append(_pair(pick(f.label, f.label_en), _value_text(f, value), f.name))
    for name, value in sorted(attrs.items()):
        parts.append(_pair(name, _value_text(None, value), name))
    return Markup('<span class="text-muted">{}</span>').format(pick("；", "; ")).join(parts)


def _pair(label: str, value: str, name: str) -> Markup:
    return Markup('<span class="text-nowrap" title="{}">{}: {}</span>').format(name, label, value)


def fields_markup(fields: Iterable[EventField]) -> Markup:
    """The fields of an event type, one per line: label, name, type, required, range, choices."""
    items: list[Markup] = []
    for f in fields:
        details = [code_label(f.type, FIELD_TYPES, FIELD_TYPES_EN)]
        if f.required:
            details.append(pick("必填", "required"))
        if f.minimum is not None or f.maximum is not None:
            low = "" if f.minimum is None else _number(f.minimum)
            high = "" if f.maximum is None else _number(f.maximum)
            details.append(f"{low}–{high}")
        if f.choices:
            details.append(", ".join(f"{code}={label}" for code, label in f.choices.items()))
        items.append(
            Markup("<li><strong>{}</strong> <code>{}</code> <small class=\"text-muted\">{}</small></li>").format(
                pick(f.label, f.label_en), f.name, pick("，", ", ").join(details)
            )
        )
    return Markup('<ul class="list-unstyled mb-0">{}</ul>').format(Markup("").join(items))


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


def short_hash(value: str | None, length: int = 12) -> Markup:
    """The first characters of a hash, the whole hash in the tooltip."""
    if not value:
        return Markup("")
    return Markup('<code title="{}">{}…</code>').format(value, value[:length])


def muted(text: str) -> Markup:
    """Secondary text."""
    return Markup('<span class="text-muted">{}</span>').format(escape(text))


# -- filters whose choices come from the database -------------------------------------------------------


class LazyOptions:
    """Filter choices computed when the list page renders, not when the view is created.

    Flask-Admin reads a filter's options once, at start-up (no request, maybe an empty database); it only
    iterates them when it renders the page, so this object runs ``load`` then, in the request's language.
    """

    def __init__(self, load: Callable[[], Iterable[tuple[Any, str]]]) -> None:
        self.load = load

    def __bool__(self) -> bool:
        return True

    def __iter__(self) -> Iterator[tuple[str, str]]:
        return iter([(str(value), label) for value, label in self.load()])


class ChoiceFilter(FilterEqual):
    """``column = value`` with a drop-down of choices loaded by ``load`` on each page view."""

    def __init__(self, column: Any, name: Any, load: Callable[[], Iterable[tuple[Any, str]]]) -> None:
        super().__init__(column, name)
        self.lazy_options = LazyOptions(load)

    def get_options(self, view: Any) -> Any:
        """The lazily loaded choices (see :class:`LazyOptions`)."""
        return self.lazy_options


class IntChoiceFilter(ChoiceFilter, base_filters.BaseIntFilter):
    """A :class:`ChoiceFilter` on an integer column (ids); values that are not integers are rejected."""

    def clean(self, value: str) -> int:
        """The id as an int; out-of-range numbers are invalid (not a database error)."""
        number = int(value)
        if not -(2**31) <= number < 2**31:
            raise ValueError(value)
        return number


def code_choices(codes: Iterable[str], zh: Mapping[str, str], en: Mapping[str, str]) -> Callable[[], list[tuple[str, str]]]:
    """Choices for a fixed set of codes, labelled in the current language."""
    codes = tuple(codes)
    return lambda: [(c, code_label(c, zh, en)) for c in codes]
