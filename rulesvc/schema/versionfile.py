"""The files of ``rulesvc rules export`` / ``import`` (``rulesvc.services.governance.rulefiles``), validated
with marshmallow: ``scheme.yaml`` (:class:`SchemeFileSchema`) and ``vNNNN.yaml`` (:class:`VersionFileSchema`).

Structure only: keys (unknown keys refused, required ones present), types, text lengths (those the
database enforces, said before it does), times and dates, the status, the parent reference, the content
hash. What needs the file's place in the folder tree, the database or the scheme document's own rules
is checked by the service. Every message names the key it is about; :func:`messages_by_key` gives them
as ``[(key, message), …]`` in the order of the keys in the file.

Nothing here knows the lifecycle: the statuses a version may have are given to the schema.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from marshmallow import RAISE, Schema, ValidationError, fields, validates_schema

from rulesvc.engine.model import PERIOD_KINDS, SUBJECT_KINDS

SCHEME_KEYS = ("code", "name", "procuratorate", "subject_kind", "period_kind")
# A version file's keys, in the order export writes them.
VERSION_KEYS = ("number", "status", "parent", "author", "author_ref", "created_at", "change_note", "content_hash",
                "simulation", "scenarios", "submitted_by", "submitted_at", "reviewed_by", "reviewed_by_ref", "reviewed_at",
                "review_note", "activated_by", "activated_at", "effective_from", "effective_to", "document")
REQUIRED_VERSION_KEYS = ("number", "status", "author", "author_ref", "document")
TIME_KEYS = ("created_at", "submitted_at", "reviewed_at", "activated_at")
DATE_KEYS = ("effective_from", "effective_to")
# Text columns and their lengths (PostgreSQL enforces them; say so before it does).
TEXT_KEYS = {"author": 120, "author_ref": 40, "change_note": None, "submitted_by": 120, "reviewed_by": 120,
             "reviewed_by_ref": 40, "review_note": None, "activated_by": 120}
HASH = re.compile(r"[0-9a-f]{64}")
DRAFT = "draft"


def not_json(value: Any, where: str) -> str | None:
    """The path of the first value that is not JSON data (a YAML date, a NaN…), or None."""
    if value is None or isinstance(value, str | bool | int):
        return None
    if isinstance(value, float):
        return None if math.isfinite(value) else where
    if isinstance(value, list):
        return next((p for i, x in enumerate(value) if (p := not_json(x, f"{where}[{i}]"))), None)
    if isinstance(value, dict):
        for k, x in value.items():
            if not isinstance(k, str):
                return f"{where}.{k}"
            if p := not_json(x, f"{where}.{k}"):
                return p
        return None
    return where


@dataclass(frozen=True)
class ParentRef:
    """The version a localization is based on: scheme code, number, and the content hash it had."""

    scheme: str
    number: int
    content_hash: str | None

    @property
    def key(self) -> tuple[str, int]:
        return self.scheme, self.number


# -- fields ------------------------------------------------------------------------------------------


def _missing(key: str) -> dict[str, Any]:
    text = f"缺少 {key} (missing key {key})"
    return {"required": text, "null": text}


class _Text(fields.Field):
    """Text of at most ``limit`` characters; ``nonblank``: not only spaces."""

    def __init__(self, limit: int | None = None, *, nonblank: bool = False, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.limit, self.nonblank = limit, nonblank

    def _deserialize(self, value: Any, attr: str | None, data: Mapping[str, Any] | None, **kwargs: Any) -> str:
        if not isinstance(value, str) or (self.nonblank and not value.strip()):
            raise ValidationError(f"{self.name} 应为非空文本 ({self.name} must be text)")
        if self.limit is not None and len(value) > self.limit:
            raise ValidationError(f"{self.name} 最长 {self.limit} 个字符 ({self.name}: at most {self.limit} characters)")
        return value


class _Number(fields.Field):
    def _deserialize(self, value: Any, attr: str | None, data: Mapping[str, Any] | None, **kwargs: Any) -> int:
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            raise ValidationError(f"number 应为正整数 (number must be a positive integer: {value!r})")
        return value


class _Status(fields.Field):
    def _deserialize(self, value: Any, attr: str | None, data: Mapping[str, Any] | None, **kwargs: Any) -> str:
        statuses: tuple[str, ...] = getattr(self.parent, "statuses", ())
        if value not in statuses:
            raise ValidationError(f"未知的状态 {value!r}，应为 {', '.join(statuses)} 之一 (unknown status)")
        return str(value)


class _Time(fields.Field):
    """An ISO 8601 time (YAML may already have read it as one); without a zone it is UTC."""

    def _deserialize(self, value: Any, attr: str | None, data: Mapping[str, Any] | None,
                     **kwargs: Any) -> dt.datetime:
        if isinstance(value, dt.datetime):
            t = value
        else:
            try:
                t = dt.datetime.fromisoformat(str(value))
            except ValueError:
                raise ValidationError(f"{self.name} 应为 ISO 8601 时间 ({self.name}: not an ISO 8601 time: "
                                      f"{value!r})") from None
        return t if t.tzinfo is not None else t.replace(tzinfo=dt.UTC)


class _Date(fields.Field):
    def _deserialize(self, value: Any, attr: str | None, data: Mapping[str, Any] | None, **kwargs: Any) -> dt.date:
        if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
            return value
        try:
            return dt.date.fromisoformat(str(value))
        except ValueError:
            raise ValidationError(f"{self.name} 应为日期 YYYY-MM-DD ({self.name}: not a date: {value!r})") from None


class _Simulation(fields.Field):
    def _deserialize(self, value: Any, attr: str | None, data: Mapping[str, Any] | None,
                     **kwargs: Any) -> dict[str, Any]:
        if not isinstance(value, dict) or not_json(value, "simulation"):
            raise ValidationError("simulation 应为映射（JSON 数据）(simulation must be a mapping of JSON data)")
        return value


class _Parent(fields.Field):
    def _deserialize(self, value: Any, attr: str | None, data: Mapping[str, Any] | None,
                     **kwargs: Any) -> ParentRef:
        if (not isinstance(value, dict) or set(value) - {"scheme", "number", "content_hash"}
                or not isinstance(value.get("scheme"), str) or not isinstance(value.get("number"), int)
                or isinstance(value.get("number"), bool) or not isinstance(value.get("content_hash"), str | None)):
            raise ValidationError("parent 应为 {scheme, number, content_hash} (parent: scheme code, number, content hash)")
        return ParentRef(value["scheme"], value["number"], value.get("content_hash"))


def _optional(field: fields.Field) -> fields.Field:
    field.load_default, field.allow_none = None, True
    return field


# -- schemas -----------------------------------------------------------------------------------------


class _FileSchema(Schema):
    class Meta:
        unknown = RAISE


class SchemeFileSchema(_FileSchema):
    """``scheme.yaml``: the scheme's identity, every key required, non-empty text."""

    code = _Text(nonblank=True, required=True, error_messages=_missing("code"))
    name = _Text(nonblank=True, required=True, error_messages=_missing("name"))
    procuratorate = _Text(nonblank=True, required=True, error_messages=_missing("procuratorate"))
    subject_kind = _Text(nonblank=True, required=True, error_messages=_missing("subject_kind"))
    period_kind = _Text(nonblank=True, required=True, error_messages=_missing("period_kind"))

    @validates_schema
    def _kinds(self, data: dict[str, Any], **_: Any) -> None:
        errors = {}
        if data["subject_kind"] not in SUBJECT_KINDS:
            errors["subject_kind"] = [f"subject_kind 应为 {', '.join(SUBJECT_KINDS)} 之一 (unknown subject kind)"]
        if data["period_kind"] not in PERIOD_KINDS:
            errors["period_kind"] = [f"period_kind 应为 {', '.join(PERIOD_KINDS)} 之一 (unknown period kind)"]
        if errors:
            raise ValidationError(errors)


class VersionFileSchema(_FileSchema):
    """``vNNNN.yaml``: one version's header and its document (checked as a document by the service).

    A version that left draft carries its ``content_hash``; an active one its ``effective_from``; a draft's
    hash is dropped (it means nothing until submit)."""

    number = _Number(required=True, error_messages=_missing("number"))
    status = _Status(required=True, error_messages=_missing("status"))
    parent = _optional(_Parent())
    author = _Text(TEXT_KEYS["author"], nonblank=True, required=True, error_messages=_missing("author"))
    author_ref = _Text(TEXT_KEYS["author_ref"], nonblank=True, required=True, error_messages=_missing("author_ref"))
    created_at = _optional(_Time())
    change_note = _optional(_Text(TEXT_KEYS["change_note"]))
    content_hash = fields.Raw(load_default=None, allow_none=True)
    simulation = _optional(_Simulation())
    # Regression scenarios; checked in detail by the services (rulesvc.services.simulation.scenarios).
    scenarios = _optional(fields.List(fields.Dict()))
    submitted_by = _optional(_Text(TEXT_KEYS["submitted_by"]))
    submitted_at = _optional(_Time())
    reviewed_by = _optional(_Text(TEXT_KEYS["reviewed_by"]))
    reviewed_by_ref = _optional(_Text(TEXT_KEYS["reviewed_by_ref"]))
    reviewed_at = _optional(_Time())
    review_note = _optional(_Text(TEXT_KEYS["review_note"]))
    activated_by = _optional(_Text(TEXT_KEYS["activated_by"]))
    activated_at = _optional(_Time())
    effective_from = _optional(_Date())
    effective_to = _optional(_Date())
    document = fields.Raw(required=True, error_messages=_missing("document"))

    def __init__(self, *, statuses: Iterable[str], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.statuses = tuple(statuses)

    @validates_schema(pass_original=True, skip_on_field_errors=False)
    def _by_status(self, data: dict[str, Any], original: Mapping[str, Any], **_: Any) -> None:
        errors: dict[str, list[str]] = {}
        start, end = data.get("effective_from"), data.get("effective_to")
        if start and end and end < start:
            errors["effective_to"] = ["effective_to 早于 effective_from (effective_to is before effective_from)"]
        status = original.get("status")
        if status == "active" and start is None:
            errors.setdefault("effective_from", []).append(
                "已生效的版本须有 effective_from (an active version needs effective_from)")
        hash_ = original.get("content_hash")
        if status is not None and status != DRAFT and (not isinstance(hash_, str) or not HASH.fullmatch(hash_)):
            errors["content_hash"] = ["已提交的版本须有 content_hash（64 位十六进制）"
                                      "(a version that left draft needs its content_hash: 64 hex digits)"]
        if errors:
            raise ValidationError(errors)


def messages_by_key(exc: ValidationError, order: Iterable[str]) -> list[tuple[str, str]]:
    """marshmallow's messages as ``(key, message)``: unknown keys first (a typo explains what follows),
    then the keys in ``order``."""
    messages = exc.messages if isinstance(exc.messages, dict) else {"": exc.messages}
    known = list(order)
    out: list[tuple[str, str]] = []
    for key in [*(k for k in messages if k not in known), *(k for k in known if k in messages)]:
        texts = messages[key]
        for text in texts if isinstance(texts, list) else [texts]:
            if key not in known and text == "Unknown field.":
                text = f"未知的键 {key!r}，可能是拼写错误 (unknown key {key!r})"
            out.append((key, str(text)))
    return out


__all__ = ["DATE_KEYS", "HASH", "REQUIRED_VERSION_KEYS", "SCHEME_KEYS", "TEXT_KEYS", "TIME_KEYS", "VERSION_KEYS",
           "ParentRef", "SchemeFileSchema", "VersionFileSchema", "messages_by_key", "not_json"]
