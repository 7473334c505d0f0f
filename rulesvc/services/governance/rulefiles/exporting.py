"""Exporting schemes and their versions as YAML files, in a stable key order, so exporting the same database
again gives byte-identical files. Only reads the database."""

from __future__ import annotations

import copy
import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy.orm import Session

from rulesvc.persistence.models import Scheme, SchemeVersion, as_utc
from rulesvc.schema.versionfile import DRAFT, VERSION_KEYS
from rulesvc.services.governance import versions
from rulesvc.services.governance.access import Actor
from rulesvc.services.governance.rulefiles.reading import (
    SCHEME_FILE,
    SCHEMES_DIR,
    VERSION_FILE,
    version_file_name,
)

HEADER = "# rulesvc rules export — {what}\n"


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


def export_rules(session: Session, actor: Actor, directory: str | Path, *,
                 schemes: Sequence[str] | None = None) -> ExportSummary:
    """Write the schemes ``actor`` may read (or only ``schemes``, by code) and their visible versions
    under ``directory`` (layout in :mod:`rulesvc.services.governance.rulefiles`)."""
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


def scheme_data(scheme: Scheme) -> dict[str, Any]:
    return {"code": scheme.code, "name": scheme.name, "procuratorate": scheme.procuratorate.code,
            "subject_kind": scheme.subject_kind, "period_kind": scheme.period_kind}


def version_data(v: SchemeVersion) -> dict[str, Any]:
    """A version as its file holds it (``VERSION_KEYS`` order; no resolved document)."""
    parent = v.parent
    data = {
        "number": v.number,
        "status": v.status,
        "parent": ({"scheme": parent.scheme.code, "number": parent.number, "content_hash": parent.content_hash}
                   if parent is not None else None),
        "author": v.author,
        "author_ref": v.author_ref,
        "created_at": iso_time(v.created_at),
        "change_note": v.change_note or "",
        "content_hash": v.content_hash if v.status != DRAFT else None,
        "simulation": copy.deepcopy(v.simulation),
        "scenarios": copy.deepcopy(list(v.scenarios or [])),
        "submitted_by": v.submitted_by,
        "submitted_at": iso_time(v.submitted_at),
        "reviewed_by": v.reviewed_by,
        "reviewed_by_ref": v.reviewed_by_ref,
        "reviewed_at": iso_time(v.reviewed_at),
        "review_note": v.review_note or "",
        "activated_by": v.activated_by,
        "activated_at": iso_time(v.activated_at),
        "effective_from": v.effective_from.isoformat() if v.effective_from is not None else None,
        "effective_to": v.effective_to.isoformat() if v.effective_to is not None else None,
        "document": copy.deepcopy(v.document),
    }
    return {k: data[k] for k in VERSION_KEYS}


def iso_time(t: dt.datetime | None) -> str | None:
    """A time from the database as UTC ISO 8601."""
    return None if t is None else as_utc(t).isoformat()


# -- YAML --------------------------------------------------------------------------------------------


class _Dumper(yaml.SafeDumper):
    """Safe YAML; multi-line text as literal blocks (readable diffs)."""


def _str(dumper: yaml.SafeDumper, value: str) -> yaml.Node:
    if "\n" in value:
        return dumper.represent_scalar("tag:yaml.org,2002:str", value, style="|")
    return dumper.represent_scalar("tag:yaml.org,2002:str", value)


_Dumper.add_representer(str, _str)


def _dump(data: Mapping[str, Any]) -> str:
    options: dict[str, Any] = {"allow_unicode": True, "sort_keys": False, "default_flow_style": False,
                               "width": 100_000}
    text = yaml.dump(dict(data), Dumper=_Dumper, **options)
    if yaml.safe_load(text) != data:  # a literal block that would not read back the same: plain style
        text = yaml.safe_dump(dict(data), **options)
    return text


def _write(path: Path, header: str, data: Mapping[str, Any], summary: ExportSummary) -> None:
    path.write_text(header + _dump(data), encoding="utf-8", newline="\n")
    summary.files.append(str(path))
