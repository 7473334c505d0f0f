"""The editor's raw YAML tab, for power users (issue 12, page 3): a draft's own document as YAML — for a
localization its description and overrides, for a template the whole scheme — saved with the same checks
as the forms: the versions service's structure check (every override needs its reason), then no new lint
error (:func:`rulesvc.services.designer_edit.refuse_new_errors`).

YAML is parsed safely (``yaml.safe_load`` through :func:`rulesvc.schema.scheme.read_document`), bounded in
size, and anchors and aliases are refused before parsing (they can multiply a small text into a huge
document). Nothing is evaluated.
"""

from __future__ import annotations

from typing import Any

import yaml
from sqlalchemy.orm import Session

from rulesvc.catalogue import Words, msg
from rulesvc.engine.dictionary import Dictionary
from rulesvc.errors import InvalidInput
from rulesvc.persistence.models import SchemeVersion
from rulesvc.schema.scheme import DocumentError, read_document
from rulesvc.services import designer_edit as edit
from rulesvc.services.governance import versions
from rulesvc.services.governance.access import Actor, require

MAX_CHARS = 400_000


def as_yaml(v: SchemeVersion) -> str:
    """The draft's own document as YAML (overrides only, for a localization)."""
    doc = dict(v.document or {})
    if v.parent_id is not None:
        doc = {"description": doc.get("description", ""), "overrides": doc.get("overrides") or []}
    return yaml.safe_dump(doc, allow_unicode=True, sort_keys=False, width=100)


def _problem(lang: str, zh: str, en: str) -> InvalidInput:
    return InvalidInput(msg("version.document_invalid"), errors={"yaml": [en if lang == "en" else zh]})


def parse(text: str, lang: str) -> dict[str, Any]:
    if len(text) > MAX_CHARS:
        raise _problem(lang, f"内容过长（最多 {MAX_CHARS} 个字符）", f"Too long (at most {MAX_CHARS} characters)")
    try:
        if any(isinstance(t, yaml.AliasToken | yaml.AnchorToken) for t in yaml.scan(text)):
            raise _problem(lang, "不接受 YAML 锚点和别名（& 与 *），请直接写出内容",
                           "YAML anchors and aliases (& and *) are not accepted: write the content out")
    except yaml.YAMLError:
        pass  # read_document names the line
    try:
        return read_document(text)
    except DocumentError as exc:
        raise InvalidInput(msg("version.document_invalid"),
                           errors={"yaml": [edit.one_language(str(m), lang) for ms in exc.problems.values()
                                            for m in ms]}) from None


def save(session: Session, actor: Actor, version_id: int, *, lock_version: int, text: str, dictionary: Dictionary,
         lang: str = "zh") -> SchemeVersion:
    """Replace the draft's own document with the YAML ``text`` (InvalidInput by path, nothing saved)."""
    v = versions.get_version(session, actor, version_id)
    require(actor, "edit", v.scheme.procuratorate_id, what=Words(f"方案 {v.scheme.code}", f"Scheme {v.scheme.code}"))
    document = parse(text, lang)
    before = edit.error_keys(v, dictionary, lang)
    saved = versions.update_draft(session, actor, version_id, lock_version=lock_version, document=document)
    edit.refuse_new_errors(saved, before, dictionary, lang)
    return saved
