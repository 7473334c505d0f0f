"""Evaluation schemes (考评方案), their versions from draft to live, and the audit log.

- ``/schemes``: list, create (a template with its first draft), one scheme, the version in force on a date;
  new drafts of a scheme;
- ``/versions/<id>``: read (with the resolved document and, for a localization, where each part comes
  from), change a draft (with the ``lock_version`` read: a stale one is a 409 carrying the current
  state), its overrides, delete it; localize, rebase, settle a rebase conflict; the lifecycle (submit,
  attach a simulation, approve, reject, activate, retire); diff two versions; the drift report;
- ``/audit``: the audit log, filtered and paginated.

Every view authenticates (:mod:`rulesvc.api.auth`), calls one service of
:mod:`rulesvc.services.governance.versions`, and commits on success (rolls back on any error). The
services check every permission; a version the caller may not see is "not found".
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from typing import Any

import flask
import marshmallow as ma
from flask import current_app
from flask_smorest.pagination import PaginationParameters
from sqlalchemy import select
from werkzeug.routing import IntegerConverter

from rulesvc.api.auth import ApiBlueprint, current_actor, located, location_doc, transactional
from rulesvc.api.errors import ErrorSchema
from rulesvc.catalogue import msg
from rulesvc.errors import InvalidInput, NotFound
from rulesvc.extensions import db
from rulesvc.persistence.models import (
    PERIOD_KINDS,
    STATUS_LABELS,
    SUBJECT_KINDS,
    VERSION_STATUSES,
    AuditRecord,
    Procuratorate,
    Scheme,
)
from rulesvc.schema import limits
from rulesvc.services import localtime
from rulesvc.services.dictionary import get_dictionary
from rulesvc.services.governance import audit, versions

schemes_blp = ApiBlueprint(
    "schemes", __name__, url_prefix="/schemes",
    description="考评方案：列表、新建、查看、某日生效的版本、新建草稿 "
    "(Evaluation schemes: list, create, show, the version in force on a date, new drafts)",
)
versions_blp = ApiBlueprint(
    "versions", __name__, url_prefix="/versions",
    description="方案版本：草稿编辑、本地化、变基与冲突处理、提交—审核—生效—停用、对比、漂移报告 "
    "(Scheme versions: drafts, localization, rebase and conflicts, submit → review → activate → retire, diff, drift)",
)
audit_blp = ApiBlueprint("audit", __name__, url_prefix="/audit", description="审计日志 (Audit log)")

INT32_MAX = 2**31 - 1


class VersionIdConverter(IntegerConverter):
    """A version id in a URL: digits, documented as at most 2^31 − 1 (the column's range).

    A larger number is "not found" (:func:`_ids_in_range`), never the converter's ``ValidationError``:
    werkzeug picks the rule by method before it converts, so that error made ``PUT`` or ``DELETE
    /versions/99999999999`` a 405 "use GET" for a version that cannot exist."""

    def __init__(self, url_map: Any) -> None:
        super().__init__(url_map, max=INT32_MAX)

    def to_python(self, value: str) -> int:
        return int(value)


# Before the first route: the converter must be known when the rules are added.
versions_blp.record_once(lambda state: state.app.url_map.converters.setdefault("version_id", VersionIdConverter))


@versions_blp.url_value_preprocessor
def _ids_in_range(endpoint: str | None, values: dict[str, Any] | None) -> None:
    for name in ("version_id", "other_id"):
        if values and values.get(name, 0) > INT32_MAX:
            raise NotFound(msg("not_found.version", version_id=values[name]))


BLUEPRINTS = (schemes_blp, versions_blp, audit_blp)

CODE_PATTERN = r"^[0-9]{6}$"
SCHEME_CODE_PATTERN = limits.SCHEME_CODE_PATTERN
_SCHEME_CODE_RE = re.compile(SCHEME_CODE_PATTERN[1:-1])
_PROCURATORATE_RE = re.compile(r"[0-9]{6}")
# Text fields: the patterns are documented and are exactly what is checked (fullmatch).
LINE_PATTERN = r"^[^\x00-\x1f\x7f]*$"  # one line, no control characters
# Not blank: at least one character a reader sees — not a space, a control, nor a zero-width or direction mark
# (a reason of one "\u200b" superseded published results in a review; rulesvc.engine.texts.visible is the same rule)
_SEEN = r"[^\s\x00-\x1f\x7f\u00ad\u200b-\u200f\u2028-\u202e\u2060-\u2064\ufeff]"
NONBLANK_LINE_PATTERN = rf"^[^\x00-\x1f\x7f]*{_SEEN}[^\x00-\x1f\x7f]*$"
TEXT_PATTERN = r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f]*$"  # line breaks and tabs allowed
NONBLANK_TEXT_PATTERN = rf"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f]*{_SEEN}[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f]*$"
MAX_JSON_DEPTH = 64


# -- field validation ---------------------------------------------------------------------------------


def _procuratorate_code(value: str) -> None:
    # A function, not validate.Regexp: its "$" lets a trailing newline through. The pattern only documents.
    if not _PROCURATORATE_RE.fullmatch(value):
        raise ma.ValidationError("须为 6 位数字代码 (must be a 6-digit code)")


def _scheme_code(value: str) -> None:
    if not _SCHEME_CODE_RE.fullmatch(value):
        raise ma.ValidationError("只能由字母、数字、_ . - 组成，1–80 个字符 (letters, digits, _ . -; 1 to 80 characters)")


def _matching(pattern: str, message: str) -> Any:
    compiled = re.compile(pattern)

    def check(value: str) -> None:
        if not compiled.fullmatch(value):
            raise ma.ValidationError(message)

    return check


def _plain_json(value: Any, depth: int = 0) -> str | None:
    """Why JSON data cannot be stored (NUL in a string or key, nested too deep), or None."""
    if depth > MAX_JSON_DEPTH:
        return f"嵌套超过 {MAX_JSON_DEPTH} 层 (nested deeper than {MAX_JSON_DEPTH})"
    if isinstance(value, str):
        return "字符串不能含 NUL 字符 (strings may not contain NUL)" if "\x00" in value else None
    items: list[Any] = []
    if isinstance(value, Mapping):
        items = [x for kv in value.items() for x in kv]
    elif isinstance(value, list):
        items = value
    return next((p for p in (_plain_json(x, depth + 1) for x in items) if p), None)


def _storable(args: Mapping[str, Any], *names: str) -> None:
    """JSON content (documents, overrides, values) the database cannot store is refused like any other content
    problem the services find: a 422 ``invalid_input`` naming the field."""
    errors = {n: [p] for n in names if n in args and (p := _plain_json(args[n]))}
    if errors:
        raise InvalidInput("内容无法保存 (the content cannot be stored)", errors=errors)


def ProcuratorateCode(**kwargs: Any) -> ma.fields.String:  # field factories: named like the fields they make
    return ma.fields.String(
        validate=_procuratorate_code,
        metadata={"pattern": CODE_PATTERN, **kwargs.pop("metadata", {})},
        **kwargs,
    )


def SchemeCode(**kwargs: Any) -> ma.fields.String:
    return ma.fields.String(
        validate=_scheme_code,
        metadata={"pattern": SCHEME_CODE_PATTERN, "maxLength": 80, **kwargs.pop("metadata", {})},
        **kwargs,
    )


# Query parameters every API GET may carry besides its own: the answer's language, a page of a list, and the
# cache-buster that some HTTP clients (jQuery's cache: false) add.
COMMON_QUERY = frozenset({"lang", "page", "page_size", "_"})
REPEATED = "Given more than once."  # (rulesvc.schema.messages: in the caller's language, code field.repeated)


class QueryArgs(ma.Schema):
    """The query parameters of a GET. One it does not know is refused (422, "unknown key — a typo?") as an
    unknown key of a body is: a mistyped filter (``bussiness=``) would otherwise answer the whole list as if
    it had been applied. A parameter that takes one value given twice (``period=2020&period=2021``) is refused
    too: answering for the first one alone would look like an answer to both."""

    @ma.pre_load
    def _known_only(self, data: Any, **kwargs: Any) -> Any:
        known = {f.data_key or name for name, f in self.fields.items()} | COMMON_QUERY
        errors = {k: ["Unknown field."] for k in data if k not in known}
        many = {f.data_key or name for name, f in self.fields.items() if isinstance(f, ma.fields.List | ma.fields.Tuple)}
        getlist = getattr(data, "getlist", None)
        if getlist is not None:
            errors.update({k: [REPEATED] for k in data if k in known and k not in many and len(getlist(k)) > 1})
        if errors:
            raise ma.ValidationError(dict(sorted(errors.items())))
        return data


class _Trimmed(ma.fields.String):
    """A string read without the spaces around it (a code pasted from a spreadsheet cell), then checked."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str:
        return str(super()._deserialize(value, attr, data, **kwargs)).strip()


def Line(max_length: int, *, blank: bool = False, trim: bool = False, **kwargs: Any) -> ma.fields.String:
    """One line of text (not blank unless ``blank``); ``trim``: read without the spaces around it (codes)."""
    pattern = LINE_PATTERN if blank else NONBLANK_LINE_PATTERN
    check = _matching(pattern, "须为一行文字，不能含控制字符" + ("" if blank else "，不能为空")
                      + " (one line, no control characters" + (")" if blank else ", not blank)"))
    field = _Trimmed if trim else ma.fields.String
    return field(validate=[ma.validate.Length(max=max_length), check],
                 metadata={"pattern": pattern, **kwargs.pop("metadata", {})}, **kwargs)


def Note(max_length: int = limits.MAX_TEXT_CHARS, *, blank: bool = True, **kwargs: Any) -> ma.fields.String:
    """Free text: line breaks allowed (not blank unless ``blank``)."""
    pattern = TEXT_PATTERN if blank else NONBLANK_TEXT_PATTERN
    check = _matching(pattern, "不能含控制字符" + ("" if blank else "，不能为空")
                      + " (no control characters" + (")" if blank else ", not blank)"))
    return ma.fields.String(validate=[ma.validate.Length(max=max_length), check],
                            metadata={"pattern": pattern, **kwargs.pop("metadata", {})}, **kwargs)


def Counter(*, query: bool = False, **kwargs: Any) -> ma.fields.Integer:
    """A positive 32-bit integer (ids, numbers, lock counters): a JSON number in a body, digits in a query."""
    return ma.fields.Integer(strict=not query, validate=ma.validate.Range(min=1, max=INT32_MAX), **kwargs)


def Day(**kwargs: Any) -> ma.fields.Date:
    """A calendar date, YYYY-MM-DD."""
    return ma.fields.Date(**kwargs)


def Document(**kwargs: Any) -> ma.fields.Dict:
    return ma.fields.Dict(keys=ma.fields.String(), **kwargs)


def Overrides(**kwargs: Any) -> ma.fields.List:
    return ma.fields.List(
        ma.fields.Dict(keys=ma.fields.String()),
        metadata={
            "description": "覆盖项：[{op: set|add|remove|disable, path, value, reason}]，每项须写理由 "
            "(overrides, each with its reason)",
            **kwargs.pop("metadata", {}),
        },
        **kwargs,
    )


# -- response schemas -----------------------------------------------------------------------------------


class VersionRefSchema(ma.Schema):
    """The parent version a localization is based on."""

    version_id = ma.fields.Integer(required=True)
    scheme = ma.fields.String(required=True)
    number = ma.fields.Integer(required=True)
    content_hash = ma.fields.String(required=True, allow_none=True)


class VersionSchema(ma.Schema):
    """A scheme version (方案版本). ``document``: a template's whole scheme document, or a localization's
    ``{description, overrides, conflicts}``; absent in lists."""

    id = ma.fields.Integer(required=True)
    scheme = ma.fields.String(required=True, metadata={"description": "方案代码 (scheme code)"})
    number = ma.fields.Integer(required=True, metadata={"description": "版本号 (version number)"})
    status = ma.fields.String(required=True, validate=ma.validate.OneOf(VERSION_STATUSES))
    status_label = ma.fields.String(required=True, metadata={"description": "、".join(STATUS_LABELS.values())})
    kind = ma.fields.String(required=True, validate=ma.validate.OneOf(["template", "localization"]))
    parent = ma.fields.Nested(VersionRefSchema, required=True, allow_none=True)
    author = ma.fields.String(required=True)
    change_note = ma.fields.String(required=True)
    content_hash = ma.fields.String(
        required=True, allow_none=True, metadata={"description": "提交时冻结的内容哈希 (content hash, set on submit)"}
    )
    lock_version = ma.fields.Integer(
        required=True, metadata={"description": "修改计数：修改草稿时原样带回 (send it back when changing the draft)"}
    )
    simulation = ma.fields.Dict(required=True, allow_none=True, metadata={
        "description": "审核所依据的模拟测评 (the simulation run approval rests on): run_id, run_hash, result_hash, "
                       "periods, content_hash, scenarios {count, passed}, attached_by, attached_at"})
    scenarios = ma.fields.List(ma.fields.Dict(), required=True, metadata={
        "description": "回归用例 (regression scenarios: expected results, frozen with the content on submit)"})
    submitted_by = ma.fields.String(required=True, allow_none=True)
    submitted_at = ma.fields.String(required=True, allow_none=True)
    reviewed_by = ma.fields.String(required=True, allow_none=True)
    reviewed_at = ma.fields.String(required=True, allow_none=True)
    review_note = ma.fields.String(required=True)
    effective_from = ma.fields.String(required=True, allow_none=True, metadata={"description": "生效日期 (YYYY-MM-DD)"})
    effective_to = ma.fields.String(required=True, allow_none=True, metadata={"description": "失效日期 (YYYY-MM-DD)"})
    created_at = ma.fields.String(required=True, allow_none=True)
    updated_at = ma.fields.String(required=True, allow_none=True)
    conflicts = ma.fields.List(
        ma.fields.Dict(), required=True, metadata={"description": "变基后未处理的冲突 (unsettled rebase conflicts)"}
    )
    document = ma.fields.Dict(metadata={"description": "版本内容 (the version's content)"})


class ContributionSchema(ma.Schema):
    """A person who contributed to a version's content; none of them may review it (four eyes)."""

    person = ma.fields.String(required=True, metadata={"description": "user:<id>, or system:<name>"})
    name = ma.fields.String(required=True)
    role = ma.fields.String(required=True, validate=ma.validate.OneOf(
        ["created", "edited", "copied", "rebased", "submitted"]))
    role_label = ma.fields.String(required=True)
    via = ma.fields.String(required=True, metadata={"description": "the credential used: user:<id>, key:<id>…"})
    at = ma.fields.String(required=True, allow_none=True)
    from_version_id = ma.fields.Integer(required=True, allow_none=True)


class VersionDetailSchema(VersionSchema):
    """A version with the document that runs and, for a localization, where each part comes from."""

    resolved = ma.fields.Dict(
        required=True, allow_none=True,
        metadata={"description": "解析后的完整方案；无法解析时为 null (the resolved document; null when it does not resolve)"},
    )
    resolve_errors = ma.fields.Dict(
        required=True, allow_none=True, metadata={"description": "无法解析的原因 (why it does not resolve)"}
    )
    provenance = ma.fields.Dict(
        required=True, allow_none=True,
        metadata={"description": "本地化版本各部分的来源：inherited/changed/local/disabled/removed (localizations only)"},
    )
    contributors = ma.fields.List(ma.fields.Nested(ContributionSchema), required=True,
                                  metadata={"description": "参与编写、修改、复制、变基或提交该版本的人：他们不能审核它 (four eyes)"})


class SchemeSchema(ma.Schema):
    """An evaluation scheme with the versions the caller may see."""

    code = ma.fields.String(required=True)
    name = ma.fields.String(required=True)
    procuratorate = ma.fields.String(required=True, metadata={"description": "所属检察院代码 (owner)"})
    procuratorate_name = ma.fields.String(required=True)
    subject_kind = ma.fields.String(required=True, validate=ma.validate.OneOf(SUBJECT_KINDS))
    period_kind = ma.fields.String(required=True, validate=ma.validate.OneOf(PERIOD_KINDS))
    created_at = ma.fields.String(required=True, allow_none=True)
    in_force = ma.fields.Integer(
        required=True, allow_none=True, metadata={"description": "今天生效的版本号 (number of the version in force today)"}
    )
    versions = ma.fields.List(ma.fields.Nested(VersionSchema), required=True)


class VersionSummarySchema(ma.Schema):
    """A version in a list: enough to choose one; ``GET /versions/{id}`` has the rest."""

    id = ma.fields.Integer(required=True)
    number = ma.fields.Integer(required=True)
    status = ma.fields.String(required=True, validate=ma.validate.OneOf(VERSION_STATUSES))
    status_label = ma.fields.String(required=True)
    kind = ma.fields.String(required=True, validate=ma.validate.OneOf(["template", "localization"]))
    content_hash = ma.fields.String(required=True, allow_none=True)
    effective_from = ma.fields.String(required=True, allow_none=True)
    effective_to = ma.fields.String(required=True, allow_none=True)
    updated_at = ma.fields.String(required=True, allow_none=True)


class SchemeSummarySchema(SchemeSchema):
    """A scheme in a list, with a summary of each version the caller may see."""

    versions = ma.fields.List(ma.fields.Nested(VersionSummarySchema), required=True)


class InEffectSchema(ma.Schema):
    """The version of a scheme in force on a date."""

    scheme = ma.fields.String(required=True)
    date = ma.fields.String(required=True, metadata={"description": "YYYY-MM-DD"})
    version = ma.fields.Nested(VersionSchema, required=True)


class DiffEndSchema(ma.Schema):
    """One side of a diff."""

    version_id = ma.fields.Integer(required=True)
    label = ma.fields.String(required=True)


class DiffSchema(ma.Schema):
    """What changes from one version's resolved document to another's: as data and as text."""

    from_ = ma.fields.Nested(DiffEndSchema, required=True, data_key="from", attribute="from")
    to = ma.fields.Nested(DiffEndSchema, required=True)
    diff = ma.fields.Dict(required=True, metadata={"description": "结构化差异 (structured diff)"})
    text = ma.fields.String(required=True, metadata={"description": "可读的差异说明 (readable diff)"})


class DriftTemplateSchema(ma.Schema):
    """The version the drift report starts from."""

    scheme = ma.fields.String(required=True)
    version = ma.fields.Integer(required=True)
    version_id = ma.fields.Integer(required=True)
    content_hash = ma.fields.String(required=True, allow_none=True)


class DriftParentSchema(ma.Schema):
    """The version a descendant localizes."""

    scheme = ma.fields.String(required=True)
    version = ma.fields.Integer(required=True)


class DriftRowSchema(ma.Schema):
    """A descendant version and its overrides."""

    scheme = ma.fields.String(required=True)
    name = ma.fields.String(required=True)
    procuratorate = ma.fields.String(required=True)
    procuratorate_name = ma.fields.String(required=True)
    version = ma.fields.Integer(required=True)
    version_id = ma.fields.Integer(required=True)
    status = ma.fields.String(required=True, validate=ma.validate.OneOf(VERSION_STATUSES))
    parent = ma.fields.Nested(DriftParentSchema, required=True)
    overrides = ma.fields.List(ma.fields.Dict(), required=True)
    conflicts = ma.fields.Integer(required=True, metadata={"description": "未处理的冲突数 (unsettled conflicts)"})


class DriftSchema(ma.Schema):
    """Every descendant (localization, and theirs) of a version that the caller may see."""

    template = ma.fields.Nested(DriftTemplateSchema, required=True)
    descendants = ma.fields.List(ma.fields.Nested(DriftRowSchema), required=True)


class AuditRecordSchema(ma.Schema):
    """One audit record: who changed what, when, from where, and the diff."""

    id = ma.fields.Integer(required=True)
    at = ma.fields.String(required=True, metadata={"description": "ISO 8601, UTC"})
    actor = ma.fields.String(required=True)
    actor_ref = ma.fields.String(required=True)
    action = ma.fields.String(required=True)
    action_label = ma.fields.String(required=True)
    procuratorate = ma.fields.String(required=True, allow_none=True)
    scheme = ma.fields.String(required=True, allow_none=True)
    version_id = ma.fields.Integer(required=True, allow_none=True)
    summary = ma.fields.String(required=True)
    diff = ma.fields.Raw(required=True, allow_none=True)
    detail = ma.fields.Raw(required=True, allow_none=True)
    ip = ma.fields.String(required=True)
    client = ma.fields.String(required=True)


class StaleSchema(ErrorSchema):
    """The error envelope of a conflict, with the version's current state (reload, redo, send again)."""

    current = ma.fields.Dict(
        allow_none=True, metadata={"description": "版本的当前状态（与 GET 相同）(the version's current state)"}
    )


STALE_DOC = {
    "schema": StaleSchema,
    "description": "冲突：草稿已被他人修改或状态不允许 (conflict: stale lock_version or wrong status); "
    "`current` holds the current state",
}


BAD_BODY_DOC = {
    "schema": ErrorSchema,
    "description": "请求体不是有效的 JSON：语法错误、NaN/Infinity、嵌套过深 (the body is not valid JSON: bad syntax, "
    "NaN or Infinity, nested too deeply); `error_code` request.bad_json",
}
TOO_LARGE_DOC = {
    "schema": ErrorSchema,
    "description": "请求体过大，最多 2 MB (the body is too large: at most 2 MB); `error_code` request.body_too_large",
}
NOT_JSON_DOC = {
    "schema": ErrorSchema,
    "description": "请求体不是以 Content-Type: application/json 发送的（curl -d 默认发送表单）(the body was not sent as "
    "Content-Type: application/json — curl -d sends a form); `error_code` request.not_json",
}


def _guarded(blp: ApiBlueprint) -> Any:
    """Documents what :mod:`rulesvc.api.guard` answers to any change request before its view: 400 for a
    body that is not JSON, 413 for one too large, 415 for one not sent as JSON (its 403 for read-only callers
    each operation lists)."""

    def decorate(func: Any) -> Any:
        return blp.alt_response(400, **BAD_BODY_DOC)(blp.alt_response(413, **TOO_LARGE_DOC)(
            blp.alt_response(415, **NOT_JSON_DOC)(func)))

    return decorate


# -- request schemas ----------------------------------------------------------------------------------------


class SchemeQuerySchema(QueryArgs):
    """Filters of the scheme list."""

    procuratorate = ProcuratorateCode(metadata={"description": "只列该检察院的方案 (only this procuratorate's)"})


class SchemeCreateSchema(ma.Schema):
    """A new scheme and its first version (a template draft holding ``document``)."""

    code = SchemeCode(required=True, metadata={"description": "方案代码 (scheme code), e.g. SFS-PROSECUTOR-TEMPLATE"})
    name = Line(200, required=True, metadata={"description": "方案名称 (name)"})
    procuratorate = ProcuratorateCode(required=True, metadata={"description": "所属检察院代码 (owner)"})
    subject_kind = ma.fields.String(required=True, validate=ma.validate.OneOf(SUBJECT_KINDS))
    period_kind = ma.fields.String(required=True, validate=ma.validate.OneOf(PERIOD_KINDS))
    document = Document(
        required=True,
        metadata={"description": "完整的方案文档（身份字段以方案为准）(the whole scheme document; identity comes from the scheme)"},
    )
    change_note = Note(load_default="", metadata={"description": "变更说明 (change note)"})


class InEffectQuerySchema(QueryArgs):
    """The date asked about."""

    date = Day(load_default=None, metadata={"description": "日期，默认今天 (YYYY-MM-DD; default today)"})


class DraftCreateSchema(ma.Schema):
    """A new draft: a copy of a version (default: the newest) or a given document."""

    from_version = Counter(metadata={"description": "以该版本号为底稿 (copy this version number)"})
    document = Document(metadata={"description": "新草稿的内容 (the draft's content)"})
    change_note = Note(load_default="")


class DraftUpdateSchema(ma.Schema):
    """A change to a draft (its document and/or change note), with the counter read."""

    lock_version = Counter(required=True, metadata={"description": "读取时的修改计数 (lock_version as read)"})
    document = Document()
    change_note = Note()


class OverridesUpdateSchema(ma.Schema):
    """A localization draft's new list of overrides."""

    lock_version = Counter(required=True)
    overrides = Overrides(required=True)
    change_note = Note()


class LockQuerySchema(QueryArgs):
    """The counter read."""

    lock_version = Counter(query=True, required=True, metadata={"description": "读取时的修改计数 (lock_version as read)"})


class LocalizeSchema(ma.Schema):
    """A new scheme of a procuratorate localizing this (published) version."""

    procuratorate = ProcuratorateCode(required=True, metadata={"description": "本地化的检察院 (the localizing one)"})
    code = SchemeCode(required=True)
    name = Line(200, required=True)
    overrides = Overrides(load_default=list)
    description = Note(load_default="")
    change_note = Note(load_default="")


class RebaseSchema(ma.Schema):
    """The newer parent version to rebase on."""

    new_parent_id = Counter(required=True, metadata={"description": "新的上级版本编号 (id of the newer parent version)"})
    change_note = Note(load_default="")


class SettleSchema(ma.Schema):
    """How to settle one rebase conflict."""

    lock_version = Counter(required=True)
    path = Line(300, required=True, metadata={"description": "冲突的路径 (the conflict's path)"})
    choice = ma.fields.String(
        required=True, validate=ma.validate.OneOf(["keep", "take_upstream", "edit"]),
        metadata={"description": "keep：保留本地；take_upstream：采用上级；edit：改为 value"},
    )
    value = ma.fields.Raw(allow_none=True, metadata={"description": "edit 的新值，仅 edit 时提供 (the new value; edit only)"})
    reason = Note(metadata={"description": "理由 (reason)"})


class SubmitSchema(ma.Schema):
    """Submit for review; ``lock_version`` guards against submitting a draft changed since it was read."""

    lock_version = Counter()


class SimulationSchema(ma.Schema):
    """The simulation run (模拟测评) approval is to rest on."""

    simulation_id = ma.fields.Integer(
        required=True, strict=True, validate=ma.validate.Range(min=1, max=INT32_MAX),
        metadata={"description": "成功完成、内容哈希与该版本一致、回归用例全部通过的模拟测评编号 "
                                 "(a succeeded run of exactly this content whose scenarios pass)", "example": 1})


class ApproveSchema(ma.Schema):
    """Approve (four eyes: not the author nor the submitter)."""

    note = Note(load_default="")
    simulation_id = ma.fields.Integer(
        strict=True, validate=ma.validate.Range(min=1, max=INT32_MAX),
        metadata={"description": "依据的模拟测评；不填则用已指定的，或最新一次合格的 "
                                 "(the run approval rests on; default: the one attached, else the newest that qualifies)"})


class ScenariosUpdateSchema(ma.Schema):
    """A draft's regression scenarios (回归用例), replaced whole."""

    lock_version = ma.fields.Integer(required=True, strict=True, validate=ma.validate.Range(min=1, max=INT32_MAX))
    scenarios = ma.fields.List(ma.fields.Dict(), required=True, validate=ma.validate.Length(max=500), metadata={
        "description": "预期结果列表 (expected results): {subject, period, expected: {total?, grade?, indicators?}, "
                       "tolerance?, note?}",
        "example": [{"subject": "P000123", "period": "2020", "expected": {"total": 93.5, "grade": "优秀"},
                     "tolerance": 0.005}]})


class RejectSchema(ma.Schema):
    """Reject, back to draft, with the reason."""

    note = Note(required=True, blank=False, metadata={"description": "退回理由 (reason)"})


class ActivateSchema(ma.Schema):
    """The date an approved version takes effect; a date before today (the unpublished results of closed periods are
    computed again under the version) needs ``confirm_retroactive``, as the admin page asks once more."""

    effective_from = Day(required=True, metadata={"description": "生效日期 (YYYY-MM-DD)"})
    confirm_retroactive = ma.fields.Boolean(load_default=False, metadata={
        "description": "确认追溯生效：生效日期早于今天时必填 true (confirm a go-live in the past: required as true when "
                       "effective_from is before today)", "example": False})


class RetireSchema(ma.Schema):
    """Take a version out of use; an active one stays in force up to ``effective_to`` (default today)."""

    effective_to = Day(metadata={"description": "最后生效日 (last day in force, YYYY-MM-DD)"})


class UnscheduleSchema(ma.Schema):
    """Take back a go-live that has not happened yet, with the reason."""

    note = Note(required=True, blank=False, metadata={"description": "撤销生效安排的理由 (reason)"})


class AuditQuerySchema(QueryArgs):
    """Filters of the audit log."""

    scheme = SchemeCode(metadata={"description": "方案代码 (scheme code)"})
    version_id = Counter(query=True)
    action = ma.fields.String(validate=ma.validate.OneOf(sorted(audit.ACTION_LABELS)))
    actor = Line(120, metadata={"description": "操作者名称 (actor name, exact)"})
    since = ma.fields.AwareDateTime(default_timezone=dt.UTC, metadata={"description": "起（含）(from, inclusive)"})
    until = ma.fields.AwareDateTime(default_timezone=dt.UTC, metadata={"description": "止（不含）(until, exclusive)"})

    @ma.post_load
    def _utc(self, data: dict[str, Any], **_: Any) -> dict[str, Any]:
        for key in ("since", "until"):
            if data.get(key) is not None:
                try:
                    data[key] = data[key].astimezone(dt.UTC)
                except OverflowError:
                    raise ma.ValidationError("超出范围 (out of range)", key) from None
        return data


# -- helpers --------------------------------------------------------------------------------------------------

VERSION_ID = {"in": "path", "name": "version_id", "description": "方案版本编号 (scheme version id)"}


def _scheme_or_404(code: str) -> str:
    # Path values never reach the database unless they could be a scheme code.
    if not _SCHEME_CODE_RE.fullmatch(code):
        raise NotFound(f"没有代码为 {code!r} 的方案 (no such scheme)")
    return code


def _detail(version: Any) -> dict[str, Any]:
    out = versions.view(version)
    out["resolved"], out["resolve_errors"], out["provenance"] = None, None, None
    try:
        out["resolved"] = versions.resolve(version)
    except InvalidInput as exc:
        out["resolve_errors"] = exc.errors or {"document": [exc.message]}
    if out["resolved"] is not None and version.parent_id is not None:
        out["provenance"] = versions.provenance(version)
    return out


def _audit_rows(records: list[AuditRecord]) -> list[dict[str, Any]]:
    scheme_ids = {r.scheme_id for r in records if r.scheme_id is not None}
    org_ids = {r.procuratorate_id for r in records if r.procuratorate_id is not None}
    schemes: dict[int, str] = {}
    orgs: dict[int, str] = {}
    if scheme_ids:
        schemes = {i: c for i, c in db.session.execute(select(Scheme.id, Scheme.code).where(Scheme.id.in_(scheme_ids)))}
    if org_ids:
        orgs = {i: c for i, c in db.session.execute(
            select(Procuratorate.id, Procuratorate.code).where(Procuratorate.id.in_(org_ids)))}
    rows = []
    for r in records:
        at = r.at if r.at.tzinfo is not None else r.at.replace(tzinfo=dt.UTC)  # SQLite: naive, written in UTC
        rows.append({
            "id": r.id, "at": at.isoformat(), "actor": r.actor, "actor_ref": r.actor_ref, "action": r.action,
            "action_label": audit.ACTION_LABELS.get(r.action, r.action),
            "procuratorate": orgs.get(r.procuratorate_id) if r.procuratorate_id is not None else None,
            "scheme": schemes.get(r.scheme_id) if r.scheme_id is not None else None,
            "version_id": r.version_id, "summary": r.summary, "diff": r.diff, "detail": r.detail,
            "ip": r.ip, "client": r.client,
        })
    return rows


# -- /schemes -------------------------------------------------------------------------------------------------


SCHEME_CODE_PARAM = [{
    "in": "path", "name": "code", "description": "方案代码 (scheme code)",
    "schema": {"type": "string", "pattern": SCHEME_CODE_PATTERN, "maxLength": 80},
}]


@schemes_blp.route("")
@schemes_blp.arguments(SchemeQuerySchema, location="query", as_kwargs=True)
@schemes_blp.response(200, SchemeSummarySchema(many=True))
@schemes_blp.paginate(page_size=50, max_page_size=500)
@transactional
def list_schemes(pagination_parameters: PaginationParameters, procuratorate: str | None = None) -> flask.Response:
    """可见的方案，按代码排序（分页）(the schemes the caller may see, by code; paginated).

    Versions the caller may not see (another procuratorate's drafts) are left out. Each version is a
    summary; ``GET /versions/{id}`` gives one whole.
    """
    found = versions.scheme_summaries(db.session(), current_actor(), procuratorate=procuratorate)
    pagination_parameters.item_count = len(found)
    # The summaries are built in the schema's exact shape (a test holds them to it), so they are sent as
    # they are: dumping 250 nested rows through marshmallow took half of this list's time.
    return flask.jsonify(found[pagination_parameters.first_item:pagination_parameters.last_item + 1])


VERSION_LOCATION = location_doc("新版本的地址", "where to read the new version", "/api/v1/versions/2")


def _created(v: Any) -> tuple[dict[str, Any], dict[str, str]]:
    """A new version's answer, with its address."""
    return located(versions.view(v), f"{versions_blp.name}.get_version", version_id=v.id)


@schemes_blp.route("", methods=["POST"])
@schemes_blp.arguments(SchemeCreateSchema)
@schemes_blp.response(201, VersionSchema, headers=VERSION_LOCATION)
@schemes_blp.alt_response(403, response="FORBIDDEN")
@schemes_blp.alt_response(409, response="CONFLICT")
@_guarded(schemes_blp)
@transactional
def create_scheme(args: dict[str, Any]) -> tuple[dict[str, Any], dict[str, str]]:
    """新建方案及其第一个草稿版本 (create a scheme and its first version, a template draft).

    Needs *edit* on the procuratorate. The code must be unused (409 otherwise).
    """
    _storable(args, "document")
    v = versions.create_scheme(db.session(), current_actor(), **args)
    return _created(v)


@schemes_blp.route("/<code>", parameters=SCHEME_CODE_PARAM)
@schemes_blp.response(200, SchemeSchema)
@schemes_blp.alt_response(404, response="NOT_FOUND")
@transactional
def get_scheme(code: str) -> dict[str, Any]:
    """一个方案及其可见的版本 (one scheme with the versions the caller may see)."""
    actor = current_actor()
    return versions.scheme_view(versions.get_scheme(db.session(), actor, _scheme_or_404(code)), actor)


@schemes_blp.route("/<code>/in-effect", parameters=SCHEME_CODE_PARAM)
@schemes_blp.arguments(InEffectQuerySchema, location="query", as_kwargs=True)
@schemes_blp.response(200, InEffectSchema)
@schemes_blp.alt_response(404, response="NOT_FOUND")
@transactional
def in_effect(code: str, date: dt.date | None = None) -> dict[str, Any]:
    """某日生效的版本（默认今天）(the version in force on a date; default today).

    A past period is evaluated with the version then in force. 404 when none was in force.
    """
    on = date or localtime.today()
    v = versions.version_in_effect(db.session(), current_actor(), _scheme_or_404(code), on)
    return {"scheme": v.scheme.code, "date": on.isoformat(), "version": versions.view(v, with_document=False)}


@schemes_blp.route("/<code>/versions", methods=["POST"], parameters=SCHEME_CODE_PARAM)
@schemes_blp.arguments(DraftCreateSchema, required=False)  # every field optional: no body is an empty one
@schemes_blp.response(201, VersionSchema, headers=VERSION_LOCATION)
@schemes_blp.alt_response(403, response="FORBIDDEN")
@schemes_blp.alt_response(404, response="NOT_FOUND")
@_guarded(schemes_blp)
@transactional
def create_draft(args: dict[str, Any], code: str) -> tuple[dict[str, Any], dict[str, str]]:
    """新建草稿：复制某版本（默认最新版本）或使用给定内容 (a new draft: a copy of a version — default the newest —
    or the given document)."""
    _storable(args, "document")
    v = versions.create_draft(db.session(), current_actor(), _scheme_or_404(code), **args)
    return _created(v)


# -- /versions ------------------------------------------------------------------------------------------------

VERSION_RULE = "/<version_id:version_id>"


@versions_blp.route(VERSION_RULE, parameters=[VERSION_ID])
@versions_blp.response(200, VersionDetailSchema)
@versions_blp.alt_response(404, response="NOT_FOUND")
@transactional
def get_version(version_id: int) -> dict[str, Any]:
    """一个版本：内容、解析后的完整方案、本地化来源 (a version with its resolved document and, for a localization,
    the provenance of each part)."""
    return _detail(versions.get_version(db.session(), current_actor(), version_id))


@versions_blp.route(VERSION_RULE, methods=["PUT"], parameters=[VERSION_ID])
@versions_blp.arguments(DraftUpdateSchema)
@versions_blp.response(200, VersionSchema)
@versions_blp.alt_response(403, response="FORBIDDEN")
@versions_blp.alt_response(404, response="NOT_FOUND")
@versions_blp.alt_response(409, **STALE_DOC)
@_guarded(versions_blp)
@transactional
def update_version(args: dict[str, Any], version_id: int) -> dict[str, Any]:
    """修改草稿的内容和/或变更说明 (change a draft's document and/or change note).

    ``lock_version`` is the counter read with the draft: if someone changed it since, the answer is 409
    with the draft's ``current`` state, never a silent overwrite.
    """
    _storable(args, "document")
    v = versions.update_draft(db.session(), current_actor(), version_id, **args)
    return versions.view(v)


@versions_blp.route(VERSION_RULE, methods=["DELETE"], parameters=[VERSION_ID])
@versions_blp.arguments(LockQuerySchema, location="query", as_kwargs=True)
@versions_blp.response(204)
@versions_blp.alt_response(403, response="FORBIDDEN")
@versions_blp.alt_response(404, response="NOT_FOUND")
@versions_blp.alt_response(409, **STALE_DOC)
@_guarded(versions_blp)
@transactional
def delete_version(version_id: int, lock_version: int) -> None:
    """删除草稿 (delete a draft)."""
    versions.delete_draft(db.session(), current_actor(), version_id, lock_version=lock_version)


@versions_blp.route(f"{VERSION_RULE}/overrides", methods=["PUT"], parameters=[VERSION_ID])
@versions_blp.arguments(OverridesUpdateSchema)
@versions_blp.response(200, VersionSchema)
@versions_blp.alt_response(403, response="FORBIDDEN")
@versions_blp.alt_response(404, response="NOT_FOUND")
@versions_blp.alt_response(409, **STALE_DOC)
@_guarded(versions_blp)
@transactional
def update_overrides(args: dict[str, Any], version_id: int) -> dict[str, Any]:
    """替换本地化草稿的覆盖项 (replace a localization draft's overrides)."""
    _storable(args, "overrides")
    v = versions.set_overrides(db.session(), current_actor(), version_id, **args)
    return versions.view(v)


@versions_blp.route(f"{VERSION_RULE}/localize", methods=["POST"], parameters=[VERSION_ID])
@versions_blp.arguments(LocalizeSchema)
@versions_blp.response(201, VersionSchema, headers=VERSION_LOCATION)
@versions_blp.alt_response(403, response="FORBIDDEN")
@versions_blp.alt_response(404, response="NOT_FOUND")
@versions_blp.alt_response(409, response="CONFLICT")
@_guarded(versions_blp)
@transactional
def localize(args: dict[str, Any], version_id: int) -> tuple[dict[str, Any], dict[str, str]]:
    """本地化该（已发布的）版本：新方案的第一个草稿只保存覆盖项 (localize this published version: a new scheme of
    the procuratorate whose first draft holds only the overrides)."""
    _storable(args, "overrides")
    v = versions.localize(db.session(), current_actor(), parent_version_id=version_id, **args)
    return _created(v)


@versions_blp.route(f"{VERSION_RULE}/rebase", methods=["POST"], parameters=[VERSION_ID])
@versions_blp.arguments(RebaseSchema)
@versions_blp.response(201, VersionSchema, headers=VERSION_LOCATION)
@versions_blp.alt_response(403, response="FORBIDDEN")
@versions_blp.alt_response(404, response="NOT_FOUND")
@versions_blp.alt_response(409, response="CONFLICT")
@_guarded(versions_blp)
@transactional
def rebase(args: dict[str, Any], version_id: int) -> tuple[dict[str, Any], dict[str, str]]:
    """变基到新的上级版本：得到新草稿，冲突须逐项处理 (rebase onto a newer parent version: a new draft; its
    conflicts must be settled before submitting)."""
    v = versions.rebase(db.session(), current_actor(), version_id, **args)
    return _created(v)


@versions_blp.route(f"{VERSION_RULE}/settle", methods=["POST"], parameters=[VERSION_ID])
@versions_blp.arguments(SettleSchema)
@versions_blp.response(200, VersionSchema)
@versions_blp.alt_response(403, response="FORBIDDEN")
@versions_blp.alt_response(404, response="NOT_FOUND")
@versions_blp.alt_response(409, **STALE_DOC)
@_guarded(versions_blp)
@transactional
def settle(args: dict[str, Any], version_id: int) -> dict[str, Any]:
    """处理一处变基冲突：保留本地、采用上级或改值 (settle one rebase conflict: keep, take_upstream or edit)."""
    _storable(args, "value")
    v = versions.settle(db.session(), current_actor(), version_id, **args)
    return versions.view(v)


@versions_blp.route(f"{VERSION_RULE}/submit", methods=["POST"], parameters=[VERSION_ID])
@versions_blp.arguments(SubmitSchema, required=False)  # every field optional: no body is an empty one
@versions_blp.response(200, VersionSchema)
@versions_blp.alt_response(403, response="FORBIDDEN")
@versions_blp.alt_response(404, response="NOT_FOUND")
@versions_blp.alt_response(409, **STALE_DOC)
@_guarded(versions_blp)
@transactional
def submit(args: dict[str, Any], version_id: int) -> dict[str, Any]:
    """提交审核：解析、检查（lint 无错误）并冻结内容 (submit for review: resolve, check — lint, no errors — and
    freeze the content). 422 lists every problem by path."""
    dictionary = get_dictionary(current_app.config["RULES_DIR"])
    v = versions.submit(db.session(), current_actor(), version_id, dictionary, lock_version=args.get("lock_version"))
    return versions.view(v)


@versions_blp.route(f"{VERSION_RULE}/simulation", methods=["POST"], parameters=[VERSION_ID])
@versions_blp.arguments(SimulationSchema)
@versions_blp.response(200, VersionSchema)
@versions_blp.alt_response(403, response="FORBIDDEN")
@versions_blp.alt_response(404, response="NOT_FOUND")
@versions_blp.alt_response(409, response="CONFLICT")
@_guarded(versions_blp)
@transactional
def attach_simulation(args: dict[str, Any], version_id: int) -> dict[str, Any]:
    """指定审核所依据的模拟测评 (name the simulation run approval rests on).

    The run must have succeeded on exactly this content (its hash) and the version's regression
    scenarios must pass against it; 409 says which condition fails. Start runs with
    ``POST /simulations``."""
    v = versions.attach_simulation(db.session(), current_actor(), version_id, run_id=args["simulation_id"])
    return versions.view(v)


@versions_blp.route(f"{VERSION_RULE}/scenarios", methods=["PUT"], parameters=[VERSION_ID])
@versions_blp.arguments(ScenariosUpdateSchema)
@versions_blp.response(200, VersionSchema)
@versions_blp.alt_response(403, response="FORBIDDEN")
@versions_blp.alt_response(404, response="NOT_FOUND")
@versions_blp.alt_response(409, **STALE_DOC)
@_guarded(versions_blp)
@transactional
def set_scenarios(args: dict[str, Any], version_id: int) -> dict[str, Any]:
    """替换草稿的回归用例 (replace a draft's regression scenarios).

    Each expects a total, a grade and/or indicator points of one subject in one period, within a
    tolerance. They freeze with the content on submit; every simulation run checks them."""
    v = versions.set_scenarios(db.session(), current_actor(), version_id, **args)
    return versions.view(v)


@versions_blp.route(f"{VERSION_RULE}/approve", methods=["POST"], parameters=[VERSION_ID])
@versions_blp.arguments(ApproveSchema, required=False)  # every field optional: no body is an empty one
@versions_blp.response(200, VersionSchema)
@versions_blp.alt_response(403, response="FORBIDDEN")
@versions_blp.alt_response(404, response="NOT_FOUND")
@versions_blp.alt_response(409, response="CONFLICT")
@_guarded(versions_blp)
@transactional
def approve(args: dict[str, Any], version_id: int) -> dict[str, Any]:
    """批准（四眼原则：不能是编写或提交者；须有该内容成功完成且回归用例通过的模拟测评）(approve: not by its
    author or submitter; needs a succeeded simulation of exactly this content whose scenarios pass)."""
    v = versions.approve(db.session(), current_actor(), version_id, note=args.get("note", ""),
                         run_id=args.get("simulation_id"))
    return versions.view(v)


@versions_blp.route(f"{VERSION_RULE}/reject", methods=["POST"], parameters=[VERSION_ID])
@versions_blp.arguments(RejectSchema)
@versions_blp.response(200, VersionSchema)
@versions_blp.alt_response(403, response="FORBIDDEN")
@versions_blp.alt_response(404, response="NOT_FOUND")
@versions_blp.alt_response(409, response="CONFLICT")
@_guarded(versions_blp)
@transactional
def reject(args: dict[str, Any], version_id: int) -> dict[str, Any]:
    """退回修改，须写理由 (reject back to draft, with the reason)."""
    v = versions.reject(db.session(), current_actor(), version_id, **args)
    return versions.view(v)


@versions_blp.route(f"{VERSION_RULE}/activate", methods=["POST"], parameters=[VERSION_ID])
@versions_blp.arguments(ActivateSchema)
@versions_blp.response(200, VersionSchema)
@versions_blp.alt_response(403, response="FORBIDDEN")
@versions_blp.alt_response(404, response="NOT_FOUND")
@versions_blp.alt_response(409, response="CONFLICT")
@_guarded(versions_blp)
@transactional
def activate(args: dict[str, Any], version_id: int) -> dict[str, Any]:
    """自某日起生效；此前生效的版本截至前一日 (put in force from a date; the version in force before ends the day
    before)."""
    confirmed = args.pop("confirm_retroactive", False)
    if args["effective_from"] < localtime.today() and not confirmed:
        said = msg("version.retroactive_unconfirmed", date=args["effective_from"].isoformat())
        raise InvalidInput(said, errors={"confirm_retroactive": [said]})
    v = versions.activate(db.session(), current_actor(), version_id, **args)
    return versions.view(v)


@versions_blp.route(f"{VERSION_RULE}/retire", methods=["POST"], parameters=[VERSION_ID])
@versions_blp.arguments(RetireSchema, required=False)  # every field optional: no body is an empty one
@versions_blp.response(200, VersionSchema)
@versions_blp.alt_response(403, response="FORBIDDEN")
@versions_blp.alt_response(404, response="NOT_FOUND")
@versions_blp.alt_response(409, response="CONFLICT")
@_guarded(versions_blp)
@transactional
def retire(args: dict[str, Any], version_id: int) -> dict[str, Any]:
    """停用；已生效的版本有效至 effective_to（默认今天）(retire; an active version stays in force up to
    ``effective_to``, default today)."""
    v = versions.retire(db.session(), current_actor(), version_id, **args)
    return versions.view(v)


@versions_blp.route(f"{VERSION_RULE}/unschedule", methods=["POST"], parameters=[VERSION_ID])
@versions_blp.arguments(UnscheduleSchema)
@versions_blp.response(200, VersionSchema)
@versions_blp.alt_response(403, response="FORBIDDEN")
@versions_blp.alt_response(404, response="NOT_FOUND")
@versions_blp.alt_response(409, response="CONFLICT")
@_guarded(versions_blp)
@transactional
def unschedule(args: dict[str, Any], version_id: int) -> dict[str, Any]:
    """撤销生效安排：定于以后某日生效、尚未开始的版本回到已批准，原来的版本继续生效 (take back a go-live that has not
    happened yet: the version goes back to approved, and the version it was to replace stays in force)."""
    v = versions.unschedule(db.session(), current_actor(), version_id, **args)
    return versions.view(v)


@versions_blp.route(
    f"{VERSION_RULE}/diff/<version_id:other_id>",
    parameters=[VERSION_ID, {"in": "path", "name": "other_id", "description": "对比的另一版本 (the version compared to)"}],
)
@versions_blp.response(200, DiffSchema)
@versions_blp.alt_response(404, response="NOT_FOUND")
@versions_blp.alt_response(422, response="UNPROCESSABLE_ENTITY")
@transactional
def diff(version_id: int, other_id: int) -> dict[str, Any]:
    """两个版本解析后方案的差异：结构化数据与文字 (the difference between two versions' resolved documents, as data
    and as text)."""
    return versions.diff_versions(db.session(), current_actor(), version_id, other_id)


@versions_blp.route(f"{VERSION_RULE}/drift", parameters=[VERSION_ID])
@versions_blp.response(200, DriftSchema)
@versions_blp.alt_response(404, response="NOT_FOUND")
@transactional
def drift(version_id: int) -> dict[str, Any]:
    """漂移报告：该版本的各级本地化及其覆盖项 (drift report: every localization below this version that the caller
    may see, with its overrides)."""
    return versions.drift_report(db.session(), current_actor(), version_id)


# -- /audit ----------------------------------------------------------------------------------------------------


@audit_blp.route("")
@audit_blp.arguments(AuditQuerySchema, location="query", as_kwargs=True)
@audit_blp.response(200, AuditRecordSchema(many=True))
@audit_blp.alt_response(403, response="FORBIDDEN")
@audit_blp.paginate(page_size=50, max_page_size=500)
@transactional
def list_audit(pagination_parameters: PaginationParameters, actor: str | None = None, **filters: Any) -> list[dict]:
    """审计日志，最新在前（分页）(the audit log of the caller's procuratorates, newest first; paginated).

    Needs the *audit* permission.
    """
    records, total = audit.list_records(
        db.session(), current_actor(), actor_name=actor, **filters,
        offset=pagination_parameters.first_item, limit=pagination_parameters.page_size,
    )
    pagination_parameters.item_count = total
    return _audit_rows(records)
