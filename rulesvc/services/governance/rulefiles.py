"""Rule sets as files: ``rulesvc rules export DIR`` and ``rulesvc rules import DIR``.

Layout of ``DIR`` (one folder per scheme, one file per version)::

    DIR/schemes/<procuratorate code>/<SCHEME-CODE>/scheme.yaml   code, name, procuratorate, subject_kind, period_kind
    DIR/schemes/<procuratorate code>/<SCHEME-CODE>/v0001.yaml    version 1
    DIR/schemes/<procuratorate code>/<SCHEME-CODE>/v0002.yaml    version 2 …

A version file holds a header, then the document, in this order::

    number, status, parent ({scheme, number, content_hash}, or null for a template),
    author, author_ref, created_at, change_note, content_hash, simulation,
    submitted_by, submitted_at, reviewed_by, reviewed_by_ref, reviewed_at, review_note,
    activated_by, activated_at, effective_from, effective_to,
    document   — a template's whole document; a localization's {description, overrides, conflicts}

Times are UTC ISO 8601, dates ``YYYY-MM-DD``. The resolved document is not written (it is derived
from the parent and the overrides); ``content_hash`` is, for every version that left draft, so an
import can verify it. A draft's ``content_hash`` is written as null (it means nothing until submit).

Export writes what the actor may read (or the named schemes), YAML in a stable key order, so exporting
the same database again gives byte-identical files. Stale ``vNNNN.yaml`` files in an exported scheme
folder (a deleted draft) are removed; nothing else in ``DIR`` is touched. Users, API keys and other
secrets are never written.

Import loads the layout into the database, all or nothing, idempotently:

- every file is read and checked first (YAML syntax, required and unknown keys, status, version
  numbers, dates, the document's structure); any problem → :class:`~rulesvc.errors.InvalidInput`
  with ``errors`` mapping each file to its messages, and nothing is written;
- a scheme is created if absent (its procuratorate must exist); one present must have the same name,
  procuratorate, subject kind and period kind;
- versions are inserted with their recorded status, metadata and dates; parents (``scheme`` +
  ``number``) come from the files or the database, and are inserted first;
- for every version that left draft the resolved document (parent resolved + overrides + identity,
  :func:`~rulesvc.services.governance.versions.resolve`) and its content hash are recomputed; a hash
  that differs from the file's refuses the whole import;
- a version already present with the same number is skipped when it has the same content hash (a
  draft: the same document and parent), and is a conflict (:class:`~rulesvc.errors.Conflict`, naming
  the file) otherwise;
- every imported scheme and version gets a ``rules.import`` audit record.

Functions flush but never commit: the caller owns the transaction. ``author_ref`` and
``reviewed_by_ref`` are copied as they are (``user:<id>`` of the database they came from).
"""

from __future__ import annotations

import copy
import datetime as dt
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

import yaml
from sqlalchemy import select
from sqlalchemy.orm import Session

from rulesvc.errors import Conflict, InvalidInput
from rulesvc.persistence.models import (
    PERIOD_KINDS,
    SUBJECT_KINDS,
    VERSION_STATUSES,
    ApiKey,
    Procuratorate,
    Scheme,
    SchemeVersion,
)
from rulesvc.schema.scheme import content_hash
from rulesvc.services.governance import audit, versions
from rulesvc.services.governance.access import PUBLISHED, Actor, can_read, require

SCHEMES_DIR = "schemes"
SCHEME_FILE = "scheme.yaml"
VERSION_FILE = re.compile(r"v(\d+)\.ya?ml")
SCHEME_KEYS = ("code", "name", "procuratorate", "subject_kind", "period_kind")
VERSION_KEYS = ("number", "status", "parent", "author", "author_ref", "created_at", "change_note", "content_hash",
                "simulation", "submitted_by", "submitted_at", "reviewed_by", "reviewed_by_ref", "reviewed_at",
                "review_note", "activated_by", "activated_at", "effective_from", "effective_to", "document")
REQUIRED_VERSION_KEYS = ("number", "status", "author", "author_ref", "document")
TIME_KEYS = ("created_at", "submitted_at", "reviewed_at", "activated_at")
DATE_KEYS = ("effective_from", "effective_to")
# Text columns and their lengths (PostgreSQL enforces them; say so before it does).
TEXT_KEYS = {"author": 120, "author_ref": 40, "change_note": None, "submitted_by": 120, "reviewed_by": 120,
             "reviewed_by_ref": 40, "review_note": None, "activated_by": 120}
HASH = re.compile(r"[0-9a-f]{64}")
HEADER = "# rulesvc rules export — {what}\n"


# -- summaries ---------------------------------------------------------------------------------------


@dataclass
class ExportSummary:
    directory: str
    schemes: int = 0
    versions: int = 0
    files: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)

    @property
    def message(self) -> str:
        return (f"已导出 {self.schemes} 个方案、{self.versions} 个版本到 {self.directory} "
                f"(exported {self.schemes} schemes, {self.versions} versions to {self.directory})")


@dataclass
class ImportSummary:
    directory: str
    schemes_created: int = 0
    schemes_unchanged: int = 0
    versions_created: int = 0
    versions_unchanged: int = 0
    created: list[str] = field(default_factory=list)

    @property
    def message(self) -> str:
        return (f"新建方案 {self.schemes_created} 个，新增版本 {self.versions_created} 个，"
                f"未变版本 {self.versions_unchanged} 个 (schemes created: {self.schemes_created}, "
                f"versions created: {self.versions_created}, versions unchanged: {self.versions_unchanged})")


# -- YAML --------------------------------------------------------------------------------------------


class _Dumper(yaml.SafeDumper):
    """Safe YAML; multi-line text as literal blocks (readable diffs)."""


def _str(dumper: yaml.SafeDumper, value: str) -> yaml.Node:
    if "\n" in value:
        return dumper.represent_scalar("tag:yaml.org,2002:str", value, style="|")
    return dumper.represent_scalar("tag:yaml.org,2002:str", value)


_Dumper.add_representer(str, _str)


def _dump(data: Mapping[str, Any]) -> str:
    options = {"allow_unicode": True, "sort_keys": False, "default_flow_style": False, "width": 100_000}
    text = yaml.dump(dict(data), Dumper=_Dumper, **options)
    if yaml.safe_load(text) != data:  # a literal block that would not read back the same: plain style
        text = yaml.safe_dump(dict(data), **options)
    return text


def _iso_time(t: dt.datetime | None) -> str | None:
    if t is None:
        return None
    if t.tzinfo is None:  # SQLite returns naive datetimes: they were written in UTC
        t = t.replace(tzinfo=dt.UTC)
    return t.astimezone(dt.UTC).isoformat()


def _iso_date(d: dt.date | None) -> str | None:
    return d.isoformat() if d is not None else None


# -- export ------------------------------------------------------------------------------------------


def scheme_data(scheme: Scheme) -> dict[str, Any]:
    return {"code": scheme.code, "name": scheme.name, "procuratorate": scheme.procuratorate.code,
            "subject_kind": scheme.subject_kind, "period_kind": scheme.period_kind}


def version_data(v: SchemeVersion) -> dict[str, Any]:
    """A version as its file holds it (``VERSION_KEYS`` order; no resolved document)."""
    parent = v.parent
    return {
        "number": v.number,
        "status": v.status,
        "parent": ({"scheme": parent.scheme.code, "number": parent.number, "content_hash": parent.content_hash}
                   if parent is not None else None),
        "author": v.author,
        "author_ref": v.author_ref,
        "created_at": _iso_time(v.created_at),
        "change_note": v.change_note or "",
        "content_hash": v.content_hash if v.status != "draft" else None,
        "simulation": copy.deepcopy(v.simulation),
        "submitted_by": v.submitted_by,
        "submitted_at": _iso_time(v.submitted_at),
        "reviewed_by": v.reviewed_by,
        "reviewed_by_ref": v.reviewed_by_ref,
        "reviewed_at": _iso_time(v.reviewed_at),
        "review_note": v.review_note or "",
        "activated_by": v.activated_by,
        "activated_at": _iso_time(v.activated_at),
        "effective_from": _iso_date(v.effective_from),
        "effective_to": _iso_date(v.effective_to),
        "document": copy.deepcopy(v.document),
    }


def version_file_name(number: int) -> str:
    return f"v{number:04d}.yaml"


def export_rules(session: Session, actor: Actor, directory: str | Path, *,
                 schemes: Sequence[str] | None = None) -> ExportSummary:
    """Write the schemes ``actor`` may read (or only ``schemes``, by code) and their visible versions
    under ``directory`` (layout in the module docstring)."""
    root = Path(directory)
    if schemes:
        chosen = [versions.get_scheme(session, actor, code) for code in dict.fromkeys(schemes)]
    else:
        chosen = versions.list_schemes(session, actor)
    summary = ExportSummary(directory=str(root))
    for scheme in sorted(chosen, key=lambda s: s.code):
        folder = root / SCHEMES_DIR / scheme.procuratorate.code / scheme.code
        folder.mkdir(parents=True, exist_ok=True)
        _write(folder / SCHEME_FILE, HEADER.format(what=f"方案 {scheme.code} (scheme)"), scheme_data(scheme), summary)
        written = set()
        for v in sorted(versions.visible_versions(actor, scheme), key=lambda x: x.number):
            name = version_file_name(v.number)
            _write(folder / name, HEADER.format(what=f"方案 {scheme.code} 第 {v.number} 版 (version {v.number})"),
                   version_data(v), summary)
            written.add(name)
            summary.versions += 1
        for stale in sorted(folder.iterdir()):
            if stale.is_file() and VERSION_FILE.fullmatch(stale.name) and stale.name not in written:
                stale.unlink()
                summary.removed.append(str(stale))
        summary.schemes += 1
    return summary


def _write(path: Path, header: str, data: Mapping[str, Any], summary: ExportSummary) -> None:
    path.write_text(header + _dump(data), encoding="utf-8", newline="\n")
    summary.files.append(str(path))


# -- import: reading the files -----------------------------------------------------------------------


@dataclass(eq=False)
class _SchemeFile:
    path: Path
    code: str
    name: str
    procuratorate: str
    subject_kind: str
    period_kind: str
    versions: list[_VersionFile] = field(default_factory=list)
    row: Scheme | None = None


@dataclass(eq=False)
class _VersionFile:
    path: Path
    scheme: _SchemeFile
    number: int
    status: str
    parent: tuple[str, int] | None
    parent_hash: str | None
    document: dict[str, Any]
    content_hash: str | None
    columns: dict[str, Any]
    resolved: dict[str, Any] | None = None
    existing: SchemeVersion | None = None
    row: SchemeVersion | None = None
    failed: bool = False

    @property
    def key(self) -> tuple[str, int]:
        return self.scheme.code, self.number


class _Problems:
    """Messages per file, in the order found."""

    def __init__(self) -> None:
        self.by_file: dict[str, list[str]] = {}
        self.conflicts: set[str] = set()

    def add(self, path: Path | str, message: str, *, conflict: bool = False) -> None:
        self.by_file.setdefault(str(path), []).append(message)
        if conflict:
            self.conflicts.add(str(path))

    def __bool__(self) -> bool:
        return bool(self.by_file)

    def raise_if_any(self) -> None:
        if not self.by_file:
            return
        n = len(self.by_file)
        if set(self.by_file) <= self.conflicts:
            raise Conflict(f"{n} 个文件与数据库中已有的版本不一致，未导入任何内容 "
                           f"({n} files conflict with what the database holds; nothing imported)",
                           errors=self.by_file)
        raise InvalidInput(f"{n} 个文件有错误，未导入任何内容 ({n} files have errors; nothing imported)",
                           errors=self.by_file)


def _read_yaml(path: Path, problems: _Problems) -> dict[str, Any] | None:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError:
        problems.add(path, "文件不是 UTF-8 编码 (the file is not UTF-8)")
        return None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"第 {mark.line + 1} 行 (line {mark.line + 1})：" if mark else ""
        problems.add(path, f"YAML 语法错误 (YAML syntax error) {where}{getattr(exc, 'problem', None) or exc}")
        return None
    if not isinstance(data, dict):
        problems.add(path, "文件内容应为一个映射 (the file must hold a mapping)")
        return None
    return data


def _keys(path: Path, data: Mapping[str, Any], allowed: Iterable[str], required: Iterable[str],
          problems: _Problems) -> bool:
    ok = True
    for key in data:
        if key not in allowed:
            problems.add(path, f"未知的键 {key!r}，可能是拼写错误 (unknown key {key!r})")
            ok = False
    for key in required:
        if data.get(key) is None:
            problems.add(path, f"缺少 {key} (missing key {key})")
            ok = False
    return ok


def _text(path: Path, data: Mapping[str, Any], key: str, limit: int | None, problems: _Problems, *,
          required: bool = False) -> str | None:
    value = data.get(key)
    if value is None:
        return None
    if not isinstance(value, str) or (required and not value.strip()):
        problems.add(path, f"{key} 应为非空文本 ({key} must be text)")
        return None
    if limit is not None and len(value) > limit:
        problems.add(path, f"{key} 最长 {limit} 个字符 ({key}: at most {limit} characters)")
        return None
    return value


def _time(path: Path, key: str, value: Any, problems: _Problems) -> dt.datetime | None:
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        t = value
    else:
        try:
            t = dt.datetime.fromisoformat(str(value))
        except ValueError:
            problems.add(path, f"{key} 应为 ISO 8601 时间 ({key}: not an ISO 8601 time: {value!r})")
            return None
    return t if t.tzinfo is not None else t.replace(tzinfo=dt.UTC)


def _date(path: Path, key: str, value: Any, problems: _Problems) -> dt.date | None:
    if value is None:
        return None
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        return value
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError:
        problems.add(path, f"{key} 应为日期 YYYY-MM-DD ({key}: not a date: {value!r})")
        return None


def _not_json(value: Any, where: str) -> str | None:
    """The path of the first value that is not JSON data (a YAML date, a NaN…), or None."""
    if value is None or isinstance(value, str | bool | int):
        return None
    if isinstance(value, float):
        return None if math.isfinite(value) else where
    if isinstance(value, list):
        return next((p for i, x in enumerate(value) if (p := _not_json(x, f"{where}[{i}]"))), None)
    if isinstance(value, dict):
        for k, x in value.items():
            if not isinstance(k, str):
                return f"{where}.{k}"
            if p := _not_json(x, f"{where}.{k}"):
                return p
        return None
    return where


def _read_scheme(folder: Path, problems: _Problems) -> _SchemeFile | None:
    path = folder / SCHEME_FILE
    if not path.is_file():
        problems.add(folder, f"缺少 {SCHEME_FILE} (missing {SCHEME_FILE})")
        return None
    data = _read_yaml(path, problems)
    if data is None or not _keys(path, data, SCHEME_KEYS, SCHEME_KEYS, problems):
        return None
    bad = [k for k in SCHEME_KEYS if not isinstance(data[k], str) or not data[k].strip()]
    for k in bad:
        problems.add(path, f"{k} 应为非空文本 ({k} must be text)")
    if bad:
        return None
    ok = True
    if data["code"] != folder.name:
        problems.add(path, f"方案代码 {data['code']} 与目录名 {folder.name} 不符 (code differs from the folder name)")
        ok = False
    if data["procuratorate"] != folder.parent.name:
        problems.add(path, f"检察院代码 {data['procuratorate']} 与目录名 {folder.parent.name} 不符 "
                           "(procuratorate differs from the folder name)")
        ok = False
    if data["subject_kind"] not in SUBJECT_KINDS:
        problems.add(path, f"subject_kind 应为 {', '.join(SUBJECT_KINDS)} 之一 (unknown subject kind)")
        ok = False
    if data["period_kind"] not in PERIOD_KINDS:
        problems.add(path, f"period_kind 应为 {', '.join(PERIOD_KINDS)} 之一 (unknown period kind)")
        ok = False
    if len(data["name"]) > 200 or len(data["code"]) > 80 or not set(data["code"]) <= versions.SCHEME_CODE_CHARS:
        problems.add(path, "方案代码（字母、数字、_ . -，最长 80）或名称（最长 200）有误 (bad code or name)")
        ok = False
    if not ok:
        return None
    return _SchemeFile(path=path, **{k: data[k] for k in SCHEME_KEYS})


def _read_version(path: Path, scheme: _SchemeFile, problems: _Problems) -> _VersionFile | None:
    data = _read_yaml(path, problems)
    if data is None:
        return None
    before = len(problems.by_file.get(str(path), []))
    _keys(path, data, VERSION_KEYS, REQUIRED_VERSION_KEYS, problems)
    number, status = data.get("number"), data.get("status")
    if number is not None and (not isinstance(number, int) or isinstance(number, bool) or number < 1):
        problems.add(path, f"number 应为正整数 (number must be a positive integer: {number!r})")
    else:
        m = VERSION_FILE.fullmatch(path.name)
        if number is not None and m and int(m.group(1)) != number:
            problems.add(path, f"版本号 {number} 与文件名不符 (number {number} differs from the file name)")
    if status is not None and status not in VERSION_STATUSES:
        problems.add(path, f"未知的状态 {status!r}，应为 {', '.join(VERSION_STATUSES)} 之一 (unknown status)")
    columns: dict[str, Any] = {}
    for key, limit in TEXT_KEYS.items():
        columns[key] = _text(path, data, key, limit, problems, required=key in ("author", "author_ref"))
    for key in TIME_KEYS:
        columns[key] = _time(path, key, data.get(key), problems)
    for key in DATE_KEYS:
        columns[key] = _date(path, key, data.get(key), problems)
    if columns["effective_from"] and columns["effective_to"] and columns["effective_to"] < columns["effective_from"]:
        problems.add(path, "effective_to 早于 effective_from (effective_to is before effective_from)")
    if status == "active" and columns["effective_from"] is None:
        problems.add(path, "已生效的版本须有 effective_from (an active version needs effective_from)")
    simulation = data.get("simulation")
    if simulation is not None and (not isinstance(simulation, dict) or _not_json(simulation, "simulation")):
        problems.add(path, "simulation 应为映射（JSON 数据）(simulation must be a mapping of JSON data)")
    columns["simulation"] = simulation
    parent, parent_hash = None, None
    raw_parent = data.get("parent")
    if raw_parent is not None:
        if (not isinstance(raw_parent, dict) or set(raw_parent) - {"scheme", "number", "content_hash"}
                or not isinstance(raw_parent.get("scheme"), str) or not isinstance(raw_parent.get("number"), int)
                or isinstance(raw_parent.get("number"), bool)
                or not isinstance(raw_parent.get("content_hash"), str | None)):
            problems.add(path, "parent 应为 {scheme, number, content_hash} (parent: scheme code, number, content hash)")
        else:
            parent, parent_hash = (raw_parent["scheme"], raw_parent["number"]), raw_parent.get("content_hash")
    hash_ = data.get("content_hash")
    if status is not None and status != "draft":
        if not isinstance(hash_, str) or not HASH.fullmatch(hash_):
            problems.add(path, "已提交的版本须有 content_hash（64 位十六进制）"
                               "(a version that left draft needs its content_hash: 64 hex digits)")
    document = data.get("document")
    if document is not None:
        where = _not_json(document, "document")
        if where:
            problems.add(path, f"{where} 不是 JSON 数据（日期请加引号）(not JSON data: quote dates)")
        else:
            try:
                document = versions.check_document(document, localization=raw_parent is not None)
            except InvalidInput as exc:
                errors = exc.errors if isinstance(exc.errors, dict) else {}
                for k, messages in errors.items():
                    for msg in messages:
                        problems.add(path, f"{k}: {msg}")
                if not errors:
                    problems.add(path, exc.message)
    if len(problems.by_file.get(str(path), [])) > before:
        return None
    return _VersionFile(path=path, scheme=scheme, number=number, status=status, parent=parent,
                        parent_hash=parent_hash, document=document,
                        content_hash=hash_ if status != "draft" else None, columns=columns)


def read_tree(directory: str | Path) -> list[_SchemeFile]:
    """Every scheme and version file under ``directory``, checked on their own; InvalidInput listing every
    problem by file otherwise."""
    root = Path(directory)
    problems = _Problems()
    base = root / SCHEMES_DIR
    if not base.is_dir():
        problems.add(root, f"没有 {SCHEMES_DIR}/ 目录 (no {SCHEMES_DIR}/ folder)")
        problems.raise_if_any()
    found: list[_SchemeFile] = []
    seen_codes: dict[str, Path] = {}
    for org in sorted(p for p in base.iterdir() if p.is_dir() and not p.name.startswith(".")):
        for folder in sorted(p for p in org.iterdir() if p.is_dir() and not p.name.startswith(".")):
            scheme = _read_scheme(folder, problems)
            if scheme is None:
                continue
            if scheme.code in seen_codes:
                problems.add(scheme.path, f"方案代码 {scheme.code} 重复，另见 {seen_codes[scheme.code]} "
                                          f"(duplicate scheme code, also in {seen_codes[scheme.code]})")
                continue
            seen_codes[scheme.code] = scheme.path
            numbers: dict[int, Path] = {}
            for path in sorted(folder.iterdir()):
                if path.name == SCHEME_FILE or path.name.startswith(".") or path.is_dir():
                    continue
                if not VERSION_FILE.fullmatch(path.name):
                    if path.suffix in (".yaml", ".yml"):
                        problems.add(path, "文件名应为 vNNNN.yaml (a version file is named vNNNN.yaml)")
                    continue
                v = _read_version(path, scheme, problems)
                if v is None:
                    continue
                if v.number in numbers:
                    problems.add(path, f"版本号 {v.number} 重复，另见 {numbers[v.number]} "
                                       f"(duplicate version number, also in {numbers[v.number]})")
                    continue
                numbers[v.number] = path
                scheme.versions.append(v)
            scheme.versions.sort(key=lambda x: x.number)
            found.append(scheme)
    problems.raise_if_any()
    return found


# -- import: planning against the database, then writing ----------------------------------------------


@dataclass
class _Org:
    code: str


@dataclass
class _Identity:
    """What :func:`versions.identity_of` reads of a scheme."""

    code: str
    name: str
    procuratorate: _Org


@dataclass
class _Candidate:
    """What :func:`versions.resolve` reads of a version: lets it resolve a file before anything is written."""

    scheme: _Identity
    document: dict[str, Any]
    status: str
    resolved: dict[str, Any] | None
    parent: Any
    parent_id: int | None


def _identity(s: _SchemeFile) -> _Identity:
    return _Identity(code=s.code, name=s.name, procuratorate=_Org(s.procuratorate))


class _Planner:
    def __init__(self, session: Session, actor: Actor, schemes: list[_SchemeFile]) -> None:
        self.session, self.actor, self.schemes = session, actor, schemes
        self.problems = _Problems()
        self.files = {v.key: v for s in schemes for v in s.versions}
        self.stack: set[tuple[str, int]] = set()

    def db_version(self, code: str, number: int) -> SchemeVersion | None:
        v = self.session.scalar(select(SchemeVersion).join(Scheme, Scheme.id == SchemeVersion.scheme_id)
                                .where(Scheme.code == code, SchemeVersion.number == number))
        if v is None or not can_read(self.actor, v.scheme.procuratorate_id, v.status):
            return None
        return v

    def check_scheme(self, s: _SchemeFile) -> None:
        org = self.session.scalar(select(Procuratorate).where(Procuratorate.code == s.procuratorate))
        if org is None:
            self.problems.add(s.path, f"没有代码为 {s.procuratorate} 的检察院，请先导入基础数据 "
                                      f"(no procuratorate {s.procuratorate}: import the reference data first)")
            return
        require(self.actor, "edit", org.id, what=f"检察院 {s.procuratorate}")
        for v in s.versions:
            if v.status == "approved":
                require(self.actor, "review", org.id, what=f"检察院 {s.procuratorate}")
            elif v.status in ("active", "retired"):
                require(self.actor, "activate", org.id, what=f"检察院 {s.procuratorate}")
        row = self.session.scalar(select(Scheme).where(Scheme.code == s.code))
        if row is None:
            return
        theirs = _scheme_fields(row)
        ours = {"name": s.name, "procuratorate": s.procuratorate, "subject_kind": s.subject_kind,
                "period_kind": s.period_kind}
        diff = [k for k in ours if ours[k] != theirs[k]]
        if diff:
            self.problems.add(s.path, "数据库中已有同代码的方案，但 " + "、".join(diff) + " 不同 (the database holds "
                              f"scheme {s.code} with another {', '.join(diff)})", conflict=True)
            return
        s.row = row
        for v in s.versions:
            v.existing = next((x for x in row.versions if x.number == v.number), None)

    def resolve(self, v: _VersionFile) -> dict[str, Any] | None:
        """The resolved document of a published file version (memoised), or None after reporting why."""
        if v.resolved is not None or v.failed:
            return v.resolved
        parent = self.parent_node(v)
        if v.failed:
            return None
        candidate = _Candidate(scheme=_identity(v.scheme), document=v.document, status="draft", resolved=None,
                               parent=parent, parent_id=0 if parent is not None else None)
        try:
            doc = versions.resolve(cast(SchemeVersion, candidate))
        except InvalidInput as exc:
            for k, messages in (exc.errors or {}).items():
                for msg in messages:
                    self.problems.add(v.path, f"{k}: {msg}")
            v.failed = True
            return None
        v.resolved = doc
        return doc

    def parent_node(self, v: _VersionFile) -> Any:
        """The parent as :func:`versions.resolve` reads it (a file candidate or a database row)."""
        if v.parent is None:
            return None
        code, number = v.parent
        label = f"{code} 第 {number} 版 (version {number})"
        pf = self.files.get(v.parent)
        if pf is not None:
            if v.key in self.stack:
                self.problems.add(v.path, "上级版本形成循环 (the parents form a cycle)")
                v.failed = True
                return None
            status, hash_ = pf.status, pf.content_hash
            if status in PUBLISHED:
                self.stack.add(v.key)
                try:
                    resolved = self.resolve(pf)
                finally:
                    self.stack.discard(v.key)
                if resolved is None:
                    self.problems.add(v.path, f"上级版本 {label} 有误 (the parent has errors: see {pf.path})")
                    v.failed = True
                    return None
            node: Any = _Candidate(scheme=_identity(pf.scheme), document=pf.document, status=status,
                                   resolved=pf.resolved, parent=None, parent_id=None)
        else:
            row = self.db_version(code, number)
            if row is None:
                self.problems.add(v.path, f"找不到上级版本 {label}：既不在这些文件中，也不在数据库中 "
                                          "(the parent is neither in these files nor in the database)")
                v.failed = True
                return None
            status, hash_, node = row.status, row.content_hash, row
        if status not in PUBLISHED:
            self.problems.add(v.path, f"上级版本 {label} 状态为 {status}，只能本地化已发布的版本 "
                                      "(the parent must be approved, active or retired)")
            v.failed = True
            return None
        if v.parent_hash is not None and v.parent_hash != hash_:
            self.problems.add(v.path, f"上级版本 {label} 的内容哈希 {hash_} 与文件所记 {v.parent_hash} 不符 "
                                      "(the parent's content hash differs from the one recorded)")
            v.failed = True
            return None
        return node

    def check_version(self, v: _VersionFile) -> None:
        if v.status != "draft":
            doc = self.resolve(v)
            if doc is not None:
                actual = content_hash(doc)
                if actual != v.content_hash:
                    self.problems.add(v.path, f"内容哈希不符：文件记为 {v.content_hash}，按文件内容解析得 {actual}；"
                                              "已发布的版本内容不可修改 (content hash mismatch: the file records "
                                              f"{v.content_hash}, its document resolves to {actual})")
        else:
            self.parent_node(v)
        e = v.existing
        if e is None:
            return
        e_parent = (e.parent.scheme.code, e.parent.number) if e.parent is not None else None
        if v.status != "draft":
            same = e.status != "draft" and e.content_hash == v.content_hash
        else:
            same = (e.status == "draft" and e_parent == v.parent
                    and content_hash(e.document or {}) == content_hash(v.document))
        if not same:
            self.problems.add(v.path, f"数据库中已有 {v.scheme.code} 第 {v.number} 版（{e.status}，内容哈希 "
                                      f"{e.content_hash}），与文件不同 (the database already holds version {v.number} "
                                      "with other content)", conflict=True)

    def check_periods(self, s: _SchemeFile) -> None:
        """At most one version in force on any date, with the file versions added to the database's."""
        spans: list[tuple[dt.date, dt.date | None, str, bool]] = []  # from, to, where, is a file
        for v in s.versions:
            if v.existing is None and v.status in ("active", "retired") and v.columns["effective_from"] is not None:
                spans.append((v.columns["effective_from"], v.columns["effective_to"], str(v.path), True))
        if not spans:
            return
        numbers = {v.number for v in s.versions}
        for e in s.row.versions if s.row is not None else ():
            if e.number not in numbers and e.status in ("active", "retired") and e.effective_from is not None:
                spans.append((e.effective_from, e.effective_to, f"{s.code} 第 {e.number} 版 (version {e.number})", False))
        spans.sort(key=lambda r: r[0])
        for (_, end, where, is_file), (start, _, later, later_is_file) in zip(spans, spans[1:], strict=False):
            if end is None or end >= start:
                path, other = (later, where) if later_is_file or not is_file else (where, later)
                self.problems.add(path, f"生效期间与 {other} 重叠，同一日期只能有一个版本生效 "
                                        f"(in force on the same dates as {other})")


def _scheme_fields(row: Scheme) -> dict[str, Any]:
    return {"name": row.name, "procuratorate": row.procuratorate.code, "subject_kind": row.subject_kind,
            "period_kind": row.period_kind}


def import_rules(session: Session, actor: Actor, directory: str | Path) -> ImportSummary:
    """Load ``directory`` (layout in the module docstring) into the database: all or nothing, idempotent."""
    schemes = read_tree(directory)
    plan = _Planner(session, actor, schemes)
    for s in schemes:
        plan.check_scheme(s)
    plan.problems.raise_if_any()
    for s in schemes:
        for v in s.versions:
            plan.check_version(v)
        plan.check_periods(s)
    plan.problems.raise_if_any()

    summary = ImportSummary(directory=str(directory))
    for s in sorted(schemes, key=lambda x: x.code):
        if s.row is not None:
            summary.schemes_unchanged += 1
            continue
        org = session.scalar(select(Procuratorate).where(Procuratorate.code == s.procuratorate))
        s.row = Scheme(code=s.code, name=s.name, procuratorate=org, subject_kind=s.subject_kind,
                       period_kind=s.period_kind, created_by=actor.name)
        session.add(s.row)
        session.flush()
        audit.record(session, actor, "rules.import", scheme=s.row,
                     summary=f"从文件导入方案 {s.code}（{s.name}）(imported scheme {s.code})",
                     detail={"file": str(s.path)})
        summary.schemes_created += 1

    def insert(v: _VersionFile) -> SchemeVersion:
        if v.row is not None:
            return v.row
        if v.existing is not None:
            v.row = v.existing
            summary.versions_unchanged += 1
            return v.row
        parent_row = None
        if v.parent is not None:
            pf = plan.files.get(v.parent)
            parent_row = insert(pf) if pf is not None else plan.db_version(*v.parent)
        scheme = v.scheme.row
        assert scheme is not None
        c = v.columns
        row = SchemeVersion(
            scheme=scheme, number=v.number, parent=parent_row, document=copy.deepcopy(v.document), status=v.status,
            author=c["author"], author_ref=c["author_ref"], change_note=c["change_note"] or "",
            resolved=copy.deepcopy(v.resolved) if v.status != "draft" else None,
            content_hash=v.content_hash if v.status != "draft" else None, simulation=c["simulation"],
            submitted_at=c["submitted_at"], submitted_by=c["submitted_by"], reviewed_at=c["reviewed_at"],
            reviewed_by=c["reviewed_by"], reviewed_by_ref=c["reviewed_by_ref"], review_note=c["review_note"] or "",
            activated_at=c["activated_at"], activated_by=c["activated_by"], effective_from=c["effective_from"],
            effective_to=c["effective_to"])
        if c["created_at"] is not None:
            row.created_at = c["created_at"]
        session.add(row)
        session.flush()
        audit.record(session, actor, "rules.import", version=row,
                     summary=f"从文件导入 {scheme.code} 第 {v.number} 版（{v.status}）"
                             f"(imported {scheme.code} version {v.number}, {v.status})",
                     detail={"file": str(v.path), "status": v.status, "content_hash": row.content_hash,
                             "parent": list(v.parent) if v.parent else None})
        v.row = row
        summary.versions_created += 1
        summary.created.append(f"{scheme.code} v{v.number}")
        return row

    for s in sorted(schemes, key=lambda x: x.code):
        for v in s.versions:
            insert(v)
    return summary


# -- API keys (for ``rulesvc apikeys list``) ------------------------------------------------------------


def list_api_keys(session: Session) -> list[dict[str, Any]]:
    """Every API key, never its hash: prefix, name, scopes (procuratorate codes), permissions, dates."""
    codes = {pid: code for pid, code in session.execute(select(Procuratorate.id, Procuratorate.code))}
    out = []
    for key in session.scalars(select(ApiKey).order_by(ApiKey.id)):
        out.append({
            "prefix": key.prefix, "name": key.name,
            "procuratorates": [codes.get(pid, str(pid)) for pid in key.procuratorate_ids],
            "permissions": list(key.permissions), "created_at": _iso_time(key.created_at),
            "created_by": key.created_by, "last_used_at": _iso_time(key.last_used_at),
            "expires_at": _iso_time(key.expires_at), "revoked_at": _iso_time(key.revoked_at),
        })
    return out


__all__ = ["ExportSummary", "ImportSummary", "export_rules", "import_rules", "list_api_keys", "read_tree"]
