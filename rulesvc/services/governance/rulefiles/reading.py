"""Reading a rules directory: every file read and checked on its own, before the database is asked
anything. What comes out are plain, frozen values (:class:`SchemeFile`, :class:`VersionFile`); what is
wrong is collected per file and field (:class:`Problems`) so one run lists every problem.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from marshmallow import ValidationError

from rulesvc.errors import Conflict, InvalidInput
from rulesvc.persistence.models import VERSION_STATUSES
from rulesvc.schema import limits
from rulesvc.schema.scheme import safe_yaml
from rulesvc.schema.versionfile import (
    DRAFT,
    SCHEME_KEYS,
    VERSION_KEYS,
    ParentRef,
    SchemeFileSchema,
    VersionFileSchema,
    messages_by_key,
    not_json,
)
from rulesvc.services.governance import versions

SCHEMES_DIR = "schemes"
SCHEME_FILE = "scheme.yaml"
VERSION_FILE = re.compile(r"v(\d+)\.ya?ml")


def version_file_name(number: int) -> str:
    return f"v{number:04d}.yaml"


# -- what the files say ------------------------------------------------------------------------------


@dataclass(frozen=True)
class VersionMeta:
    """A version's recorded people, times, notes and dates, as the file gives them (checked)."""

    author: str
    author_ref: str
    created_at: dt.datetime | None = None
    change_note: str = ""
    simulation: dict[str, Any] | None = None
    scenarios: list[dict[str, Any]] | None = None
    submitted_by: str | None = None
    submitted_at: dt.datetime | None = None
    reviewed_by: str | None = None
    reviewed_by_ref: str | None = None
    reviewed_at: dt.datetime | None = None
    review_note: str = ""
    activated_by: str | None = None
    activated_at: dt.datetime | None = None
    effective_from: dt.date | None = None
    effective_to: dt.date | None = None


@dataclass(frozen=True)
class VersionFile:
    """One ``vNNNN.yaml``: a version to import. ``document`` is the version's own document (a template's
    whole document, a localization's overrides), checked as a document; ``content_hash`` is None for a draft."""

    path: Path
    scheme: str
    number: int
    status: str
    parent: ParentRef | None
    document: dict[str, Any]
    content_hash: str | None
    meta: VersionMeta

    @property
    def key(self) -> tuple[str, int]:
        return self.scheme, self.number


@dataclass(frozen=True)
class SchemeFile:
    """One scheme folder: ``scheme.yaml`` and its version files, by number."""

    path: Path
    code: str
    name: str
    procuratorate: str
    subject_kind: str
    period_kind: str
    versions: tuple[VersionFile, ...] = ()

    @property
    def identity(self) -> dict[str, str]:
        return {"name": self.name, "procuratorate": self.procuratorate, "subject_kind": self.subject_kind,
                "period_kind": self.period_kind}


class Problems:
    """Messages per file, in the order found; with the field each is about (``fields``: file → field →
    messages), and which files conflict with the database rather than being wrong."""

    def __init__(self) -> None:
        self.by_file: dict[str, list[str]] = {}
        self.fields: dict[str, dict[str, list[str]]] = {}
        self.conflicts: set[str] = set()

    def add(self, path: Path | str, message: str, *, field: str | None = None, conflict: bool = False) -> None:
        self.by_file.setdefault(str(path), []).append(message)
        if field is not None:
            self.fields.setdefault(str(path), {}).setdefault(field, []).append(message)
        if conflict:
            self.conflicts.add(str(path))

    def count(self, path: Path | str) -> int:
        return len(self.by_file.get(str(path), ()))

    def __bool__(self) -> bool:
        return bool(self.by_file)

    def raise_if_any(self) -> None:
        """InvalidInput (or Conflict, when every problem is a conflict with the database): ``errors`` maps
        each file to its messages, ``details["fields"]`` each file to its fields and their messages."""
        if not self.by_file:
            return
        n = len(self.by_file)
        if set(self.by_file) <= self.conflicts:
            raise Conflict(f"{n} 个文件与数据库中已有的版本不一致，未导入任何内容 "
                           f"({n} files conflict with what the database holds; nothing imported)",
                           errors=self.by_file, fields=self.fields)
        raise InvalidInput(f"{n} 个文件有错误，未导入任何内容 ({n} files have errors; nothing imported)",
                           errors=self.by_file, fields=self.fields)


# -- reading -----------------------------------------------------------------------------------------


def read_tree(directory: str | Path) -> list[SchemeFile]:
    """Every scheme and version file under ``directory``, checked on their own; InvalidInput listing every
    problem by file otherwise."""
    root = Path(directory)
    problems = Problems()
    base = root / SCHEMES_DIR
    if not base.is_dir():
        problems.add(root, f"没有 {SCHEMES_DIR}/ 目录 (no {SCHEMES_DIR}/ folder)")
        problems.raise_if_any()
    found: list[SchemeFile] = []
    seen_codes: dict[str, Path] = {}
    for org in _folders(base):
        for folder in _folders(org):
            scheme = _read_scheme(folder, problems)
            if scheme is None:
                continue
            if scheme.code in seen_codes:
                problems.add(scheme.path, f"方案代码 {scheme.code} 重复，另见 {seen_codes[scheme.code]} "
                                          f"(duplicate scheme code, also in {seen_codes[scheme.code]})", field="code")
                continue
            seen_codes[scheme.code] = scheme.path
            found.append(_with_versions(scheme, folder, problems))
    problems.raise_if_any()
    return found


def _folders(parent: Path) -> list[Path]:
    return sorted(p for p in parent.iterdir() if p.is_dir() and not p.is_symlink() and not p.name.startswith("."))


def _with_versions(scheme: SchemeFile, folder: Path, problems: Problems) -> SchemeFile:
    numbers: dict[int, Path] = {}
    found: list[VersionFile] = []
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
                               f"(duplicate version number, also in {numbers[v.number]})", field="number")
            continue
        numbers[v.number] = path
        found.append(v)
    return dataclasses.replace(scheme, versions=tuple(sorted(found, key=lambda x: x.number)))


MAX_FILE_BYTES = 2 * limits.MAX_DOCUMENT_BYTES  # a version file is its document plus a few lines


def _read_yaml(path: Path, problems: Problems) -> dict[str, Any] | None:
    # Only regular files of a sensible size: a symbolic link could point anywhere on the server (and
    # its content be echoed back in the error messages).
    if path.is_symlink() or not path.is_file():
        problems.add(path, "是符号链接或特殊文件，不读取 (a symbolic link or special file: not read)")
        return None
    if path.stat().st_size > MAX_FILE_BYTES:
        problems.add(path, f"文件过大：最多 {MAX_FILE_BYTES // 1_000_000} MB (file too large)")
        return None
    try:
        data = safe_yaml(path.read_text(encoding="utf-8"))  # no aliases: a small file cannot expand without bound
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


def _read_scheme(folder: Path, problems: Problems) -> SchemeFile | None:
    path = folder / SCHEME_FILE
    if not path.is_file():
        problems.add(folder, f"缺少 {SCHEME_FILE} (missing {SCHEME_FILE})")
        return None
    data = _read_yaml(path, problems)
    if data is None:
        return None
    before = problems.count(path)
    try:
        loaded = SchemeFileSchema().load(data)
    except ValidationError as exc:
        for key, message in messages_by_key(exc, SCHEME_KEYS):
            problems.add(path, message, field=key)
        loaded = exc.valid_data if isinstance(exc.valid_data, dict) else {}
        if any(k not in loaded for k in SCHEME_KEYS):  # the rest needs every key as text
            return None
    if loaded["code"] != folder.name:
        problems.add(path, f"方案代码 {loaded['code']} 与目录名 {folder.name} 不符 (code differs from the folder name)",
                     field="code")
    if loaded["procuratorate"] != folder.parent.name:
        problems.add(path, f"检察院代码 {loaded['procuratorate']} 与目录名 {folder.parent.name} 不符 "
                           "(procuratorate differs from the folder name)", field="procuratorate")
    code, name = loaded["code"], loaded["name"]
    if len(name) > 200 or len(code) > 80 or limits.code_problem(code) is not None:
        problems.add(path, "方案代码（字母、数字、_ . -，最长 80）或名称（最长 200）有误 (bad code or name)",
                     field="code" if len(name) <= 200 else "name")
    if problems.count(path) > before:
        return None
    return SchemeFile(path=path, **{k: loaded[k] for k in SCHEME_KEYS})


def _read_version(path: Path, scheme: SchemeFile, problems: Problems) -> VersionFile | None:
    data = _read_yaml(path, problems)
    if data is None:
        return None
    before = problems.count(path)
    try:
        loaded: dict[str, Any] = VersionFileSchema(statuses=VERSION_STATUSES).load(data)
    except ValidationError as exc:
        for key, message in messages_by_key(exc, VERSION_KEYS):
            problems.add(path, message, field=key)
        loaded = exc.valid_data if isinstance(exc.valid_data, dict) else {}
    number = loaded.get("number")
    m = VERSION_FILE.fullmatch(path.name)
    if number is not None and m and int(m.group(1)) != number:
        problems.add(path, f"版本号 {number} 与文件名不符 (number {number} differs from the file name)", field="number")
    document = None
    if "document" in loaded:
        document = check_document(path, loaded["document"], localization=data.get("parent") is not None,
                                  problems=problems)
    if problems.count(path) > before or document is None:
        return None
    status = loaded["status"]
    if loaded.get("scenarios"):
        from rulesvc.errors import InvalidInput
        from rulesvc.services.simulation.scenarios import validate

        try:
            loaded["scenarios"] = validate(loaded["scenarios"])
        except InvalidInput as exc:
            for where, messages in (exc.rendered_errors() or {}).items():
                problems.add(path, f"{where}: {'；'.join(map(str, messages))}", field="scenarios")
            return None
    meta = VersionMeta(**{k: loaded[k] for k in VersionMeta.__dataclass_fields__ if loaded.get(k) is not None})
    return VersionFile(path=path, scheme=scheme.code, number=loaded["number"], status=status, parent=loaded["parent"],
                       document=document, content_hash=loaded["content_hash"] if status != DRAFT else None,
                       meta=meta)


def check_document(path: Path, document: Any, *, localization: bool, problems: Problems) -> dict[str, Any] | None:
    """THE place a loaded version document is validated, before anything else reads it: JSON data only
    (a date must be quoted), then its structure (``versions.check_document``: a mapping; a localization
    holds only valid overrides). Returns the normalised document, or None after reporting why, each
    problem under the document path it is about (``document.…``)."""
    # What cannot be stored (NaN, infinity, NUL, depth: rulesvc.schema.limits, as for the API), every
    # place at once; then values YAML made that JSON has not (an unquoted date), with the hint.
    found = {k: v for k, v in limits.storable_problems(document, "document").items()
             if not all(m.code == "field.not_storable" for m in v)}
    for place, messages in found.items():
        for message in messages:
            problems.add(path, f"{place}: {message}", field=place)
    where = not_json(document, "document")
    if where:
        problems.add(path, f"{where} 不是 JSON 数据（日期请加引号）(not JSON data: quote dates)", field=where)
    if found or where:
        return None
    try:
        return versions.check_document(document, localization=localization)
    except InvalidInput as exc:
        errors = exc.errors if isinstance(exc.errors, Mapping) else {}
        for k, messages in errors.items():
            for msg in messages:
                problems.add(path, f"{k}: {msg}", field=document_field(k))
        if not errors:
            problems.add(path, exc.message, field="document")
        return None


def document_field(key: str) -> str:
    """A key of a document error (``document.x``, ``overrides[0] path``) as a field of the version file."""
    return key if key == "document" or key.startswith("document.") else f"document.{key}"
