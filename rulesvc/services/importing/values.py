"""Typing of the common (non-attribute) cells: text, codes, dates, booleans, labelled choices.

Every parser takes what CSV (text), Excel (native cells) and JSON give and raises
:class:`~rulesvc.engine.dictionary.ValueRejected` with a Chinese and an English message.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from typing import Any

from rulesvc.engine.dictionary import FALSE_TEXT, TRUE_TEXT, ValueRejected, date_rejected, parse_date

_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}|\d{4}/\d{1,2}/\d{1,2}")


def text(raw: Any, column: str, max_len: int) -> str:
    """Trimmed text of at most ``max_len`` characters. Whole numbers (an Excel cell holding ``1001``)
    are taken as their digits; anything else that is not text is refused."""
    if isinstance(raw, str):
        value = raw.strip()
    elif isinstance(raw, int) and not isinstance(raw, bool):
        value = str(raw)
    elif isinstance(raw, float) and raw.is_integer():
        value = str(int(raw))
    else:
        raise ValueRejected(f"“{column}”应为文本，实际为 {raw!r}", f"'{column}' must be text, got {raw!r}")
    if len(value) > max_len:
        raise ValueRejected(
            f"“{column}”超过 {max_len} 个字符", f"'{column}' is longer than {max_len} characters"
        )
    return value


def required_text(values: Mapping[str, Any], column: str, max_len: int) -> str:
    """A text cell that must not be empty."""
    raw = values.get(column)
    if raw is None:
        raise ValueRejected(f"“{column}”为必填项", f"'{column}' is required")
    value = text(raw, column, max_len)
    if not value:
        raise ValueRejected(f"“{column}”为必填项", f"'{column}' is required")
    return value


def org_code(raw: Any, column: str) -> str:
    """A procuratorate code: six digits (the administrative division code)."""
    value = text(raw, column, 64)
    if len(value) != 6 or not value.isascii() or not value.isdigit():
        raise ValueRejected(
            f"“{column}”应为 6 位数字的检察院代码，实际为 {raw!r}",
            f"'{column}' must be a 6-digit procuratorate code, got {raw!r}",
        )
    return value


def date(raw: Any, column: str) -> dt.date:
    """``YYYY-MM-DD`` text, or a date cell from Excel (without a time of day)."""
    if isinstance(raw, str) and not _ISO_DATE.fullmatch(raw.strip()):
        raise ValueRejected(
            f"“{column}”应为日期 YYYY-MM-DD，实际为 {raw!r}", f"'{column}' must be a date YYYY-MM-DD, got {raw!r}"
        )
    try:
        return parse_date(raw)
    except ValueError:
        raise date_rejected(column, column, raw) from None


def boolean(raw: Any, column: str) -> bool:
    """true/false, 1/0, 是/否 (as the data dictionary accepts them)."""
    if isinstance(raw, bool):
        return raw
    if isinstance(raw, int) and raw in (0, 1):
        return bool(raw)
    if isinstance(raw, str):
        lowered = raw.strip().lower()
        if lowered in TRUE_TEXT:
            return True
        if lowered in FALSE_TEXT:
            return False
    raise ValueRejected(
        f"“{column}”应为是/否（true/false、1/0），实际为 {raw!r}", f"'{column}' must be true/false, got {raw!r}"
    )


def choice(raw: Any, column: str, labels: Mapping[str, str], aliases: Mapping[str, str] | None = None) -> str:
    """One of the keys of ``labels``, given as the key, as its (Chinese) label or as one of ``aliases``
    (another word people use → the key)."""
    value = text(raw, column, 100)
    if value in labels:
        return value
    for key, label in labels.items():
        if value == label:
            return key
    if aliases and value in aliases:
        return aliases[value]
    allowed = "、".join(f"{k}（{v}）" for k, v in labels.items())
    raise ValueRejected(
        f"“{column}”的值 {raw!r} 不在可选值中：{allowed}",
        f"'{column}' must be one of {', '.join(labels)}, got {raw!r}",
    )
