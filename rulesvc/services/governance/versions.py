"""Schemes and their versions, from draft to live.

A scheme (考评方案) belongs to one procuratorate, one subject kind and one period kind. Each version
is either a *template* (the whole document) or a *localization* of a parent version (only its
overrides, each with a reason). Lifecycle::

    draft ──submit──▶ in_review ──approve──▶ approved ──activate(from a date)──▶ active ──retire──▶ retired
      ▲                   │
      └──────reject───────┘

- Submitting resolves the document (parent + overrides), checks it (structure, then ``lint``: no
  errors) and freezes its content with the content hash. From then on the version never changes: a
  correction is a new version. (Rejecting returns it to draft, unpublished, for the author to fix.)
- Approving needs a reviewer who neither wrote nor submitted it, and a succeeded simulation run (模拟测评)
  of exactly this content on closed periods with data, whose regression scenarios pass
  (:mod:`rulesvc.services.simulation.gate`).
- Activating sets the date it takes effect. At most one version of a scheme is in force on any date:
  the one in force before is closed the day before (it stays ``active`` for its past dates, so a past
  period is still evaluated with the version then in force — see :func:`version_in_effect`).
- Every change writes an audit record in the same transaction.
- Drafts carry a counter (``lock_version``): a save with a stale counter is a conflict (HTTP 409),
  never a silent overwrite.

Functions take an :class:`~rulesvc.services.governance.access.Actor`, check permissions first, flush
but never commit: the caller owns the transaction.
"""

from __future__ import annotations

import copy
import datetime as dt
import functools
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import Select, bindparam, select
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, defer, object_session, selectinload
from sqlalchemy.orm.exc import StaleDataError

from rulesvc.catalogue import Words, msg
from rulesvc.engine import docdiff
from rulesvc.engine import localize as loc
from rulesvc.engine.dictionary import Dictionary
from rulesvc.engine.lint import lint
from rulesvc.engine.model import PERIOD_KINDS, SUBJECT_KINDS
from rulesvc.engine.texts import visible
from rulesvc.errors import Conflict, InvalidInput, NotFound
from rulesvc.persistence import lifecycle
from rulesvc.persistence.lifecycle import STATUS_LABELS, STATUS_LABELS_EN, Status, Step
from rulesvc.persistence.models import Procuratorate, Scheme, SchemeVersion, utcnow
from rulesvc.schema import limits
from rulesvc.schema.scheme import CODE, DocumentError, content_hash, load_scheme
from rulesvc.services import localtime
from rulesvc.services.governance import audit, contributors
from rulesvc.services.governance.access import Actor, can_read, require, require_read

IDENTITY = ("code", "name", "org", "description")


# -- reading -----------------------------------------------------------------------------------------


NO_VALUE: Any = object()  # settle(): no value given (a value may itself be null)


def _procuratorate(session: Session, code: str) -> Procuratorate:
    p = session.scalar(select(Procuratorate).where(Procuratorate.code == code))
    if p is None:
        raise InvalidInput(msg("not_found.procuratorate", code=code),
                           errors={"procuratorate": [msg("not_found.procuratorate", code=code)]})
    return p


@functools.cache
def _scheme_by_code() -> Select[Scheme]:
    return select(Scheme).where(Scheme.code == bindparam("code"))  # built once: scoring asks on every request


def get_scheme(session: Session, actor: Actor, code: str) -> Scheme:
    """A scheme ``actor`` may see: in their tree, or above it with a published version (a scheme above
    with drafts only is "not found", exactly as if it did not exist)."""
    scheme = session.scalar(_scheme_by_code(), {"code": code})
    if scheme is None:
        raise NotFound(msg("not_found.scheme", code=code))
    return check_scheme(actor, scheme)


def check_scheme(actor: Actor, scheme: Scheme) -> Scheme:
    """``scheme`` if ``actor`` may see it (as :func:`get_scheme`), else "not found"."""
    code = scheme.code
    require_read(actor, scheme.procuratorate_id, what=Words(f"方案 {code}", f"Scheme {code}"), absent=msg("not_found.scheme", code=code))
    if not actor.in_scope(scheme.procuratorate_id) and not any(lifecycle.is_published(v.status)
                                                               for v in scheme.versions):
        raise NotFound(msg("not_found.scheme", code=code))
    return scheme


def get_version(session: Session, actor: Actor, version_id: int, *, for_update: bool = False) -> SchemeVersion:
    q = select(SchemeVersion).where(SchemeVersion.id == version_id)
    v = session.scalar(q.with_for_update() if for_update else q)
    if v is None:
        raise NotFound(msg("not_found.version", version_id=version_id))
    require_read(actor, v.scheme.procuratorate_id, v.status, what=f"方案版本 {version_id}",
                 absent=msg("not_found.version", version_id=version_id))
    return v


def scheme_version(session: Session, actor: Actor, code: str, number: int) -> SchemeVersion:
    scheme = get_scheme(session, actor, code)
    v = next((x for x in scheme.versions if x.number == number), None)
    if v is None or not can_read(actor, scheme.procuratorate_id, v.status):
        raise NotFound(msg("not_found.scheme_version", code=code, number=number))
    return v


def list_schemes(session: Session, actor: Actor, *, procuratorate: str | None = None) -> list[Scheme]:
    """The schemes ``actor`` may see, with their versions' summaries loaded in three queries (documents
    stay in the database: a list never needs them)."""
    summary = (defer(SchemeVersion.document), defer(SchemeVersion.resolved))
    q = (select(Scheme).order_by(Scheme.code)
         .options(selectinload(Scheme.procuratorate),
                  selectinload(Scheme.versions).options(
                      *summary, selectinload(SchemeVersion.parent).options(*summary, selectinload(SchemeVersion.scheme)))))
    if procuratorate:
        q = q.join(Procuratorate, Procuratorate.id == Scheme.procuratorate_id).where(Procuratorate.code == procuratorate)
    return [s for s in session.scalars(q) if can_read(actor, s.procuratorate_id)
            and (actor.in_scope(s.procuratorate_id) or any(v.status in lifecycle.PUBLISHED for v in s.versions))]


SUMMARY_COLUMNS = (SchemeVersion.id, SchemeVersion.scheme_id, SchemeVersion.number, SchemeVersion.status,
                   SchemeVersion.parent_id, SchemeVersion.content_hash, SchemeVersion.effective_from,
                   SchemeVersion.effective_to, SchemeVersion.updated_at)


def scheme_summaries(session: Session, actor: Actor, *, procuratorate: str | None = None) -> list[dict[str, Any]]:
    """The schemes ``actor`` may see, each with a summary of the versions they may see — two queries of
    plain columns, whatever the number of versions (details come from :func:`get_version`)."""
    q = (select(Scheme.id, Scheme.code, Scheme.name, Scheme.procuratorate_id, Scheme.subject_kind, Scheme.period_kind,
                Scheme.created_at, Procuratorate.code.label("org_code"), Procuratorate.name.label("org_name"))
         .join(Procuratorate, Procuratorate.id == Scheme.procuratorate_id).order_by(Scheme.code))
    if procuratorate:
        q = q.where(Procuratorate.code == procuratorate)
    schemes = [r for r in session.execute(q) if can_read(actor, r.procuratorate_id)]
    if not schemes:
        return []
    by_scheme: dict[int, list[Any]] = {}
    ids = [r.id for r in schemes]
    for chunk in range(0, len(ids), 500):
        for row in session.execute(select(*SUMMARY_COLUMNS).where(SchemeVersion.scheme_id.in_(ids[chunk:chunk + 500]))
                                   .order_by(SchemeVersion.scheme_id, SchemeVersion.number)):
            by_scheme.setdefault(row.scheme_id, []).append(row)
    today = localtime.today()
    out = []
    for r in schemes:
        rows = [v for v in by_scheme.get(r.id, ()) if can_read(actor, r.procuratorate_id, v.status)]
        if not actor.in_scope(r.procuratorate_id) and not any(lifecycle.is_published(v.status) for v in rows):
            continue  # a scheme above with nothing published is not there for this caller
        in_force = next((v.number for v in rows if in_force_on(v, today)), None)
        out.append({
            "code": r.code, "name": r.name, "procuratorate": r.org_code, "procuratorate_name": r.org_name,
            "subject_kind": r.subject_kind, "period_kind": r.period_kind, "created_at": _iso(r.created_at),
            "in_force": in_force,
            "versions": [{"id": v.id, "number": v.number, "status": v.status,
                          "status_label": STATUS_LABELS.get(v.status, v.status),
                          "kind": "localization" if v.parent_id else "template", "content_hash": v.content_hash,
                          "effective_from": v.effective_from.isoformat() if v.effective_from else None,
                          "effective_to": v.effective_to.isoformat() if v.effective_to else None,
                          "updated_at": _iso(v.updated_at)} for v in rows],
        })
    return out


def in_force_on(v: Any, day: dt.date) -> bool:
    """``v`` is in force on ``day``: active, or retired with a last day not yet past (停用 with a later last day) —
    a version's dates decide, its status only whether it can have dates."""
    return (lifecycle.can_be_in_force(v.status) and v.effective_from is not None and v.effective_from <= day
            and (v.effective_to is None or day <= v.effective_to))


def visible_versions(actor: Actor, scheme: Scheme) -> list[SchemeVersion]:
    return [v for v in scheme.versions if can_read(actor, scheme.procuratorate_id, v.status)]


# -- documents ---------------------------------------------------------------------------------------


def identity_of(scheme: Scheme, document: Mapping[str, Any]) -> dict[str, Any]:
    return {"code": scheme.code, "name": scheme.name, "org": scheme.procuratorate.code,
            "description": document.get("description", "")}


def resolve(version: SchemeVersion) -> dict[str, Any]:
    """The document that runs: a template's own document, or the parent's resolved document with this
    localization's overrides applied — with the scheme's identity either way."""
    if version.resolved is not None and not lifecycle.is_editable(version.status):
        return copy.deepcopy(version.resolved)
    doc = version.document
    ident = identity_of(version.scheme, doc)
    if version.parent_id is None:
        out = copy.deepcopy(dict(doc))
        out.update(ident)
        return out
    parent = version.parent
    assert parent is not None
    try:
        return loc.resolve(resolve(parent), doc.get("overrides", []), ident)
    except loc.LocalizationError as exc:
        raise InvalidInput(msg("version.overrides_invalid"), errors=_override_errors(exc)) from None


def _override_errors(exc: loc.LocalizationError) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for p in exc.problems:
        out.setdefault(f"overrides[{p.get('index')}] {p.get('path') or ''}".strip(), []).append(p["message"])
    return out


def _check_texts(*, names: tuple[str, ...] = (), **fields: Any) -> None:
    """Free-text fields within :data:`~rulesvc.schema.limits.MAX_TEXT_CHARS` (names within
    :data:`~rulesvc.schema.limits.MAX_NAME_CHARS`), without NUL — before anything is written."""
    problems = limits.text_problems({k: v for k, v in fields.items() if k not in names})
    problems.update(limits.text_problems({k: fields[k] for k in names}, max_chars=limits.MAX_NAME_CHARS))
    if problems:
        raise InvalidInput(msg("request.invalid"), errors=problems)


def check_document(document: Any, *, localization: bool) -> dict[str, Any]:
    """Structure only (what can be checked before resolving): a mapping of storable values (finite
    numbers, no NUL, bounded depth and size: :mod:`rulesvc.schema.limits`); for a localization a list
    of valid overrides. Returns a normalised copy."""
    if not isinstance(document, Mapping):
        raise InvalidInput(msg("version.document_invalid"), errors={"document": [msg("version.not_an_object")]})
    problems = limits.document_problems(document)
    if problems:
        raise InvalidInput(msg("version.document_invalid"), errors=problems)
    doc = copy.deepcopy(dict(document))
    if localization:
        unknown = set(doc) - {"description", "overrides", "conflicts"}
        if unknown:
            raise InvalidInput(msg("version.localization_keys"),
                               errors={f"document.{k}": [msg("version.localization_keys")] for k in sorted(unknown)})
        try:
            doc["overrides"] = loc.validate_overrides(doc.get("overrides", []))
        except loc.LocalizationError as exc:
            raise InvalidInput(msg("version.overrides_invalid"), errors=_override_errors(exc)) from None
        doc.setdefault("conflicts", [])
    return doc


def check_resolved(scheme: Scheme, doc: Mapping[str, Any], dictionary: Dictionary) -> list[dict[str, str]]:
    """Structure and ``lint`` of a resolved document: InvalidInput listing every error by path;
    returns the warnings."""
    problems: dict[str, list[Any]] = {}
    if doc.get("subject") != scheme.subject_kind:
        problems["subject"] = [msg("version.must_be", value=scheme.subject_kind)]
    if doc.get("period") != scheme.period_kind:
        problems["period"] = [msg("version.must_be", value=scheme.period_kind)]
    try:
        model = load_scheme(doc)
    except DocumentError as exc:
        problems.update(exc.problems)
        raise InvalidInput(msg("version.document_invalid"), errors=problems) from None
    findings = lint(model, dictionary)
    for f in findings:
        if f.level == "error":
            problems.setdefault(f.path, []).append(f.message)
    if problems:
        raise InvalidInput(msg("version.checks_failed"), errors=problems)
    return [{"level": f.level, "path": f.path, "message": f.message} for f in findings]


# -- creating ----------------------------------------------------------------------------------------


def _check_code(code: str) -> None:
    problem = limits.code_problem(code)
    if problem is not None:
        raise InvalidInput(msg("version.scheme_invalid"), errors={"code": [problem]})


def create_scheme(session: Session, actor: Actor, *, code: str, name: str, procuratorate: str, subject_kind: str,
                  period_kind: str, document: Mapping[str, Any], change_note: str = "") -> SchemeVersion:
    """A new scheme with its first version, a draft holding ``document`` whole (a template)."""
    _check_texts(name=name, change_note=change_note, names=("name",))
    org = _procuratorate(session, procuratorate)
    require(actor, "edit", org.id, what=Words(f"检察院 {procuratorate}", f"Procuratorate {procuratorate}"))
    errors: dict[str, list[Any]] = {}
    if subject_kind not in SUBJECT_KINDS:
        errors["subject_kind"] = [msg("field.one_of", choices=list(SUBJECT_KINDS))]
    if period_kind not in PERIOD_KINDS:
        errors["period_kind"] = [msg("field.one_of", choices=list(PERIOD_KINDS))]
    if not isinstance(name, str) or not name.strip():
        errors["name"] = [msg("field.required")]
    if errors:
        raise InvalidInput(msg("version.scheme_invalid"), errors=errors)
    _check_code(code)
    if session.scalar(select(Scheme.id).where(Scheme.code == code)) is not None:
        raise Conflict(msg("version.code_taken", code=code), errors={"code": [msg("version.code_taken", code=code)]})
    doc = check_document(document, localization=False)
    scheme = Scheme(code=code, name=name.strip(), procuratorate=org, subject_kind=subject_kind,
                    period_kind=period_kind, created_by=actor.name)
    session.add(scheme)
    session.flush()
    audit.record(session, actor, "scheme.create", scheme=scheme,
                 summary=f"新建方案 {code}（{name}）", summary_en=f"Created scheme {code} ({name})")
    return _new_version(session, actor, scheme, doc, parent=None, change_note=change_note, action="version.create")


def localize(session: Session, actor: Actor, *, parent_version_id: int, procuratorate: str, code: str, name: str,
             overrides: Sequence[Mapping[str, Any]] = (), description: str = "", change_note: str = "") -> SchemeVersion:
    """A new scheme of ``procuratorate`` localizing a published version: its first version is a draft
    holding only ``overrides``."""
    _check_texts(name=name, description=description, change_note=change_note, names=("name",))
    parent = get_version(session, actor, parent_version_id)
    if parent.status not in lifecycle.PUBLISHED:
        raise Conflict(msg("version.parent_unpublished"), errors={"parent_version_id": [msg("version.parent_unpublished")]})
    org = _procuratorate(session, procuratorate)
    require(actor, "edit", org.id, what=Words(f"检察院 {procuratorate}", f"Procuratorate {procuratorate}"))
    _check_code(code)
    if session.scalar(select(Scheme.id).where(Scheme.code == code)) is not None:
        raise Conflict(msg("version.code_taken", code=code), errors={"code": [msg("version.code_taken", code=code)]})
    if not isinstance(name, str) or not name.strip():
        raise InvalidInput(msg("version.scheme_invalid"), errors={"name": [msg("field.required")]})
    doc = check_document({"description": description, "overrides": list(overrides)}, localization=True)
    scheme = Scheme(code=code, name=name.strip(), procuratorate=org, subject_kind=parent.scheme.subject_kind,
                    period_kind=parent.scheme.period_kind, created_by=actor.name)
    session.add(scheme)
    session.flush()
    audit.record(session, actor, "scheme.create", scheme=scheme,
                 summary=f"新建方案 {code}，本地化 {parent.scheme.code} 第 {parent.number} 版",
                 summary_en=f"Created scheme {code}, localizing {parent.scheme.code} version {parent.number}")
    v = _new_version(session, actor, scheme, doc, parent=parent, change_note=change_note, action="version.localize")
    resolve(v)  # every override must apply to the parent now
    return v


def create_draft(session: Session, actor: Actor, scheme_code: str, *, from_version: int | None = None,
                 document: Mapping[str, Any] | None = None, change_note: str = "") -> SchemeVersion:
    """A new draft of a scheme: a copy of ``from_version`` (default: the newest version), or ``document``."""
    _check_texts(change_note=change_note)
    scheme = get_scheme(session, actor, scheme_code)
    require(actor, "edit", scheme.procuratorate_id, what=Words(f"方案 {scheme_code}", f"Scheme {scheme_code}"))
    base = None
    if from_version is not None:
        base = next((v for v in scheme.versions if v.number == from_version), None)
        if base is None:
            raise NotFound(msg("not_found.scheme_version", code=scheme_code, number=from_version))
    elif scheme.versions:
        base = scheme.versions[-1]
    parent = base.parent if base is not None else None
    localization = parent is not None
    # A copy when the content is the base's — taken from it, or sent back unchanged.
    copied = base is not None and (document is None or document == base.document)
    if document is None:
        if base is None:
            raise InvalidInput(msg("version.document_invalid"), errors={"document": [msg("field.required")]})
        document = base.document
    doc = check_document(document, localization=localization)
    draft = _new_version(session, actor, scheme, doc, parent=parent, change_note=change_note, action="version.create")
    if base is not None and base.scenarios:
        draft.scenarios = list(base.scenarios)  # expected results carry over to the next version
        session.flush()
    if copied:
        assert base is not None
        contributors.copy_from(session, base, draft)  # B's content copied by A is still B's (four eyes)
    return draft


def _new_version(session: Session, actor: Actor, scheme: Scheme, doc: dict[str, Any], *, parent: SchemeVersion | None,
                 change_note: str, action: str | None) -> SchemeVersion:
    """A new draft; recorded under ``action`` unless the caller writes its own, fuller record (None)."""
    number = max(max((v.number for v in scheme.versions), default=0), scheme.last_number or 0) + 1
    scheme.last_number = number  # a deleted draft's number is never given again
    v = SchemeVersion(scheme=scheme, number=number, parent=parent, document=doc, status=Status.DRAFT.value, author=actor.name,
                      author_ref=actor.ref, change_note=change_note or "", scenarios=[])
    session.add(v)
    session.flush()
    contributors.add(session, v, actor, "rebased" if action is None else "created")
    if action is None:
        return v
    base = f"，基于 {parent.scheme.code} 第 {parent.number} 版" if parent else ""
    base_en = f", based on {parent.scheme.code} version {parent.number}" if parent else ""
    audit.record(session, actor, action, version=v, summary=f"新建 {scheme.code} 第 {number} 版草稿{base}",
                 summary_en=f"New draft {scheme.code} version {number}{base_en}",
                 detail={"document": doc, "parent_version_id": parent.id if parent else None})
    return v


# -- editing drafts ----------------------------------------------------------------------------------


def _editable(session: Session, actor: Actor, version_id: int, lock_version: int | None) -> SchemeVersion:
    v = get_version(session, actor, version_id)
    require(actor, "edit", v.scheme.procuratorate_id, what=Words(f"方案 {v.scheme.code}", f"Scheme {v.scheme.code}"))
    if not lifecycle.is_editable(v.status):
        raise Conflict(msg("version.frozen", number=v.number, status=STATUS_LABELS[v.status],
                           status_en=STATUS_LABELS_EN[v.status]), errors={"status": [v.status]}, current=view(v))
    if lock_version is not None and lock_version != v.lock_version:
        raise Conflict(msg("version.stale", current=v.lock_version, yours=lock_version),
                       errors={"lock_version": [msg("version.stale", current=v.lock_version, yours=lock_version)]},
                       current=view(v))
    return v


def _step(v: SchemeVersion, step: Step) -> None:
    """Take ``step`` of the lifecycle, or a 409 saying why not."""
    lifecycle_check(v, step)
    lifecycle.advance(v, step)


def _save(session: Session, v: SchemeVersion) -> None:
    """Flush a change guarded by the version counter; a concurrent change is a Conflict.

    The transaction is the caller's: this never rolls it back. The Conflict names the version
    (``reload_version_id``) so the edge that owns the transaction, having rolled it back, can answer
    with the current state."""
    v.updated_at = utcnow()
    vid = v.id  # read now: after a failed flush the object cannot be read until the caller rolls back
    try:
        session.flush()
    except StaleDataError:
        raise Conflict(msg("version.concurrent"), errors={"lock_version": [msg("version.concurrent")]},
                       reload_version_id=vid) from None
    except OperationalError as exc:  # SQLite: another writer committed since this transaction read
        if "locked" not in str(exc) and "busy" not in str(exc):
            raise
        raise Conflict(msg("version.concurrent"), errors={"lock_version": [msg("version.concurrent")]},
                       reload_version_id=vid) from None


def update_draft(session: Session, actor: Actor, version_id: int, *, lock_version: int,
                 document: Mapping[str, Any] | None = None, change_note: str | None = None,
                 edit_reason: str = "", edited_paths: Sequence[str] = ()) -> SchemeVersion:
    """Replace a draft's document and/or change note. ``lock_version`` is the counter the caller read.
    ``edit_reason`` / ``edited_paths``: why a template's parts were changed and which (a localization keeps its
    reasons in its overrides; a template's are kept in the audit record, for the diff's 修改理由)."""
    _check_texts(change_note=change_note, reason=edit_reason or None)
    v = _editable(session, actor, version_id, lock_version)
    before = resolve_quietly(v)
    if document is not None:
        doc = check_document(document, localization=v.parent_id is not None)
        if v.parent_id is not None:  # conflicts are settled one by one (settle), never by a save
            doc["conflicts"] = copy.deepcopy(v.document.get("conflicts") or [])
        v.document = doc
        resolve(v)
    if change_note is not None:
        v.change_note = change_note
    _save(session, v)
    contributors.add(session, v, actor, "edited")
    after = resolve_quietly(v)
    reason = visible(edit_reason)
    detail: dict[str, Any] = {"lock_version": v.lock_version}
    if reason:
        detail |= {"reason": reason, "paths": [str(p)[:300] for p in edited_paths][:200]}
    audit.record(session, actor, "version.update", version=v,
                 summary=f"修改 {v.scheme.code} 第 {v.number} 版草稿" + (f"：{reason}" if reason else ""),
                 summary_en=f"Changed draft {v.scheme.code} version {v.number}" + (f": {reason}" if reason else ""),
                 diff=docdiff.diff(before, after) if before and after else None, detail=detail)
    return v


def resolve_quietly(v: SchemeVersion) -> dict[str, Any] | None:
    try:
        return resolve(v)
    except InvalidInput:
        return None


def current_content_hash(v: SchemeVersion) -> str | None:
    """The content hash of the version as it is now: a draft's, of its resolved document (None when its local
    changes no longer apply); a submitted version's, frozen at submission. What a simulation must have run on
    for an approval to rest on it."""
    if not lifecycle.is_editable(v.status):
        return v.content_hash
    doc = resolve_quietly(v)
    return None if doc is None else content_hash(doc)


def set_overrides(session: Session, actor: Actor, version_id: int, *, lock_version: int,
                  overrides: Sequence[Mapping[str, Any]], change_note: str | None = None) -> SchemeVersion:
    v = get_version(session, actor, version_id)
    if v.parent_id is None:
        raise InvalidInput(msg("version.template_no_overrides"),
                           errors={"overrides": [msg("version.template_no_overrides")]})
    doc = {**v.document, "overrides": list(overrides)}
    return update_draft(session, actor, version_id, lock_version=lock_version, document=doc, change_note=change_note)


def delete_draft(session: Session, actor: Actor, version_id: int, *, lock_version: int) -> None:
    v = _editable(session, actor, version_id, lock_version)
    # The record keeps the whole document: deleting a draft loses nothing.
    audit.record(session, actor, "version.delete", version=v,
                 summary=f"删除 {v.scheme.code} 第 {v.number} 版草稿（其编号不再使用）",
                 summary_en=f"Deleted draft {v.scheme.code} version {v.number} (its number is not used again)",
                 detail={"document": v.document, "number": v.number, "change_note": v.change_note,
                         "parent_version_id": v.parent_id})
    session.delete(v)
    session.flush()


# -- the lifecycle -----------------------------------------------------------------------------------


def submit(session: Session, actor: Actor, version_id: int, dictionary: Dictionary, *,
           lock_version: int | None = None) -> SchemeVersion:
    """Resolve, check and freeze a draft; it goes to review."""
    v = _editable(session, actor, version_id, lock_version)
    conflicts = v.document.get("conflicts") or []
    if conflicts:
        # Each under the path it concerns, saying which: the same words for every conflict told none apart.
        raise Conflict(msg("version.conflicts_open", count=len(conflicts)),
                       errors={str(c.get("path", i)): [msg("version.conflict_open_at", path=c.get("path", ""),
                                                           message=c.get("message", ""))]
                               for i, c in enumerate(conflicts)})
    doc = resolve(v)
    warnings = check_resolved(v.scheme, doc, dictionary)
    frozen_hash = content_hash(doc)
    from rulesvc.services.simulation import gate

    gate.scenarios_at_submit(session, v, doc, frozen_hash, dictionary)
    v.resolved = doc
    v.content_hash = frozen_hash
    _step(v, Step.SUBMIT)
    v.submitted_at = utcnow()
    v.submitted_by = actor.name
    v.submitted_by_ref = actor.person
    v.review_note = ""
    _save(session, v)
    contributors.add(session, v, actor, "submitted")
    audit.record(session, actor, "version.submit", version=v,
                 summary=f"提交 {v.scheme.code} 第 {v.number} 版审核（内容哈希 {v.content_hash[:12]}）",
                 summary_en=f"Submitted {v.scheme.code} version {v.number} for review (content hash "
                            f"{v.content_hash[:12]})",
                 diff=_diff_to_previous(session, v), detail={"content_hash": v.content_hash, "warnings": warnings,
                                                              "submitter_ref": actor.ref})
    return v


def _diff_to_previous(session: Session, v: SchemeVersion) -> Any:
    """What this version changes against the version in force (or the newest published one)."""
    prev = [x for x in v.scheme.versions if x.id != v.id and x.status in lifecycle.PUBLISHED and x.resolved is not None]
    if not prev or prev[-1].resolved is None or v.resolved is None:
        return None
    return docdiff.diff(prev[-1].resolved, v.resolved)


def attach_simulation(session: Session, actor: Actor, version_id: int, *, run_id: int) -> SchemeVersion:
    """Name the simulation run (模拟测评) approval is to rest on: a succeeded run of exactly this content
    whose regression scenarios pass (409 saying why not otherwise)."""
    from rulesvc.services.simulation import gate

    v = get_version(session, actor, version_id)
    require(actor, "edit", v.scheme.procuratorate_id, what=Words(f"方案 {v.scheme.code}", f"Scheme {v.scheme.code}"))
    if v.status != Status.IN_REVIEW:
        raise Conflict(msg("version.bad_transition", number=v.number, status=STATUS_LABELS[v.status],
                           status_en=STATUS_LABELS_EN[v.status], step="附模拟测评", step_en="given a simulation"),
                       errors={"status": [v.status]})
    run, results = gate.run_for_approval(session, v, run_id)
    v.simulation = gate.record(v, run, results, actor.name, utcnow().isoformat())
    _save(session, v)
    audit.record(session, actor, "version.attach_simulation", version=v,
                 summary=f"为 {v.scheme.code} 第 {v.number} 版指定模拟测评 #{run.id}（{'、'.join(run.periods)}）",
                 summary_en=f"Simulation #{run.id} ({', '.join(run.periods)}) attached to {v.scheme.code} "
                            f"version {v.number}",
                 detail=v.simulation)
    return v


def approve(session: Session, actor: Actor, version_id: int, *, note: str = "", run_id: int | None = None) -> SchemeVersion:
    """Approve a version in review: another person than its contributors, resting on a succeeded
    simulation run of exactly this content whose scenarios pass (:mod:`rulesvc.services.simulation.gate`:
    the run named, else the one attached, else the newest that qualifies)."""
    from rulesvc.services.simulation import gate

    _check_texts(note=note)
    v = get_version(session, actor, version_id)
    require(actor, "review", v.scheme.procuratorate_id, what=Words(f"方案 {v.scheme.code}", f"Scheme {v.scheme.code}"))
    lifecycle_check(v, Step.APPROVE)
    contributors.require_other_person(session, actor, v)
    run, results = gate.run_for_approval(session, v, run_id)
    sim = gate.record(v, run, results, actor.name, utcnow().isoformat())
    v.simulation = sim
    _step(v, Step.APPROVE)
    v.reviewed_at = utcnow()
    v.reviewed_by = actor.name
    v.reviewed_by_ref = actor.ref
    v.review_note = note or ""
    _save(session, v)
    audit.record(session, actor, "version.approve", version=v, summary=f"批准 {v.scheme.code} 第 {v.number} 版",
                 summary_en=f"Approved {v.scheme.code} version {v.number}",
                 detail={"note": note, "simulation": sim, "content_hash": v.content_hash})
    return v


def set_scenarios(session: Session, actor: Actor, version_id: int, *, lock_version: int,
                  scenarios: Sequence[Mapping[str, Any]]) -> SchemeVersion:
    """Replace a draft's regression scenarios (checked: 422 with the field of each problem)."""
    from rulesvc.services.simulation.scenarios import validate

    v = _editable(session, actor, version_id, lock_version)
    before = list(v.scenarios or [])
    v.scenarios = validate(list(scenarios))
    v.updated_at = utcnow()
    _save(session, v)
    contributors.add(session, v, actor, "edited")
    audit.record(session, actor, "version.scenarios", version=v,
                 summary=f"修改 {v.scheme.code} 第 {v.number} 版的回归用例（{len(before)} → {len(v.scenarios)} 条）",
                 summary_en=f"Changed the regression scenarios of {v.scheme.code} version {v.number} "
                            f"({len(before)} → {len(v.scenarios)})",
                 detail={"before": before, "after": v.scenarios})
    return v


def lifecycle_check(v: SchemeVersion, step: Step) -> None:
    """``step`` is allowed from ``v``'s status, or a 409 saying why not (nothing changes)."""
    try:
        lifecycle.check(v, step)
    except lifecycle.TransitionRefused:
        t = lifecycle.TRANSITIONS[step]
        why = msg("version.bad_transition", number=v.number, status=STATUS_LABELS[v.status],
                  status_en=STATUS_LABELS_EN[v.status], step=t.label, step_en=t.label_en)
        raise Conflict(why, errors={"status": [why]}) from None


def reject(session: Session, actor: Actor, version_id: int, *, note: str) -> SchemeVersion:
    """Back to draft with the reviewer's reason; the author fixes it and submits again."""
    _check_texts(note=note)
    v = get_version(session, actor, version_id)
    require(actor, "review", v.scheme.procuratorate_id, what=Words(f"方案 {v.scheme.code}", f"Scheme {v.scheme.code}"))
    lifecycle_check(v, Step.REJECT)
    if not isinstance(note, str) or not note.strip():
        raise InvalidInput(msg("version.reject_needs_note"), errors={"note": [msg("version.reject_needs_note")]})
    contributors.require_other_person(session, actor, v)
    _step(v, Step.REJECT)
    v.reviewed_at = utcnow()
    v.reviewed_by = actor.name
    v.reviewed_by_ref = actor.ref
    v.review_note = note.strip()
    frozen_hash = v.content_hash
    _save(session, v)
    # A draft again: what was frozen at submit no longer describes it (the next submit freezes anew).
    # Two steps, because content may change only once the status says draft.
    v.resolved, v.content_hash = None, None
    _save(session, v)
    audit.record(session, actor, "version.reject", version=v,
                 summary=f"退回 {v.scheme.code} 第 {v.number} 版：{note.strip()}",
                 summary_en=f"Sent back {v.scheme.code} version {v.number}: {note.strip()}",
                 detail={"note": note.strip(), "content_hash": frozen_hash})
    return v


def activate(session: Session, actor: Actor, version_id: int, *, effective_from: dt.date) -> SchemeVersion:
    """Put an approved version in force from ``effective_from``; the version in force until then ends the
    day before. Refused if that would leave a version with no days of its own."""
    v = get_version(session, actor, version_id)
    require(actor, "activate", v.scheme.procuratorate_id, what=Words(f"方案 {v.scheme.code}", f"Scheme {v.scheme.code}"))
    lifecycle_check(v, Step.ACTIVATE)
    # Lock the scheme's versions: two activations at once must not both pass the overlap check.
    others = session.scalars(select(SchemeVersion).where(
        SchemeVersion.scheme_id == v.scheme_id, SchemeVersion.status == Status.ACTIVE.value).with_for_update()).all()
    check_activation_date(session, v, effective_from)
    superseded = []
    for o in others:
        if o.effective_to is not None and o.effective_to < effective_from:
            continue
        o.effective_to = effective_from - dt.timedelta(days=1)
        superseded.append(o)
    _step(v, Step.ACTIVATE)
    v.effective_from = effective_from
    v.activated_at = utcnow()
    v.activated_by = actor.name
    _save(session, v)
    for o in superseded:
        audit.record(session, actor, "version.supersede", version=o,
                     summary=f"{o.scheme.code} 第 {o.number} 版生效至 {o.effective_to}（被第 {v.number} 版取代）",
                     summary_en=f"{o.scheme.code} version {o.number} in force until {o.effective_to} (superseded by "
                                f"version {v.number})",
                     detail={"effective_to": str(o.effective_to), "superseded_by": v.id})
    audit.record(session, actor, "version.activate", version=v,
                 summary=f"{v.scheme.code} 第 {v.number} 版自 {effective_from} 起生效",
                 summary_en=f"{v.scheme.code} version {v.number} in force from {effective_from}",
                 diff=(docdiff.diff(superseded[-1].resolved, v.resolved)
                       if superseded and superseded[-1].resolved is not None and v.resolved is not None else None),
                 detail={"effective_from": effective_from.isoformat()})
    return v


def check_activation_date(session: Session, v: SchemeVersion, effective_from: dt.date) -> None:
    """Whether ``v`` may come into force from ``effective_from`` (nothing changes): not before the version above it
    (a localization), after the start of every other version of the scheme still to be in force then — an active
    one then ends the day before; a retired one keeps its last day, so the date must come after it (at most one
    version is in force on any day)."""
    _check_after_parent(v, effective_from)
    for o in session.scalars(select(SchemeVersion).where(
            SchemeVersion.scheme_id == v.scheme_id, SchemeVersion.id != v.id,
            SchemeVersion.status.in_([s.value for s in lifecycle.IN_FORCE_CAPABLE]))).all():
        if o.effective_from is None or (o.effective_to is not None and o.effective_to < effective_from):
            continue
        if o.effective_from >= effective_from:
            later = msg("version.effective_overlap", number=o.number, date=o.effective_from.isoformat())
            raise Conflict(later, errors={"effective_from": [later]})
        if o.status == Status.RETIRED.value:
            if o.effective_to is None:  # a retired version with no last day (restored from files): never ends
                later = msg("version.effective_overlap", number=o.number, date=o.effective_from.isoformat())
                raise Conflict(later, errors={"effective_from": [later]})
            kept = msg("version.effective_overlap_retired", number=o.number, date=o.effective_to.isoformat(),
                       next=(o.effective_to + dt.timedelta(days=1)).isoformat())
            raise Conflict(kept, errors={"effective_from": [kept]})


def _check_after_parent(v: SchemeVersion, effective_from: dt.date) -> None:
    """A localization comes into force no earlier than the version above it that it is built on: a county must
    not apply the province's new rules before the province does (the parent is put in force first)."""
    parent = v.parent
    if parent is None:
        return
    if parent.status != Status.ACTIVE.value or parent.effective_from is None:
        if parent.status == Status.RETIRED.value and parent.effective_from is not None \
                and parent.effective_from <= effective_from:
            return  # built on a version since retired: the date is after its start, as for one in force
        why = msg("version.parent_not_in_force", parent=parent.scheme.name, number=parent.number)
        raise InvalidInput(why, errors={"effective_from": [why]})
    if effective_from < parent.effective_from:
        early = msg("version.before_parent", parent=parent.scheme.name, number=parent.number,
                    date=parent.effective_from.isoformat())
        raise InvalidInput(early, errors={"effective_from": [early]})


def retire(session: Session, actor: Actor, version_id: int, *, effective_to: dt.date | None = None) -> SchemeVersion:
    """Take a version out of use. An active one stays in force up to ``effective_to`` (default: today)."""
    v = get_version(session, actor, version_id)
    require(actor, "activate", v.scheme.procuratorate_id, what=Words(f"方案 {v.scheme.code}", f"Scheme {v.scheme.code}"))
    lifecycle_check(v, Step.RETIRE)
    if v.status == Status.ACTIVE:
        end = effective_to or localtime.today()
        if v.effective_to is not None and v.effective_to < end:
            end = v.effective_to
        if v.effective_to is not None and end < v.effective_to:
            # Its last day was set when a later version was scheduled: ending it earlier would leave days with no
            # version in force (and the day is fixed: the guards refuse it).
            nxt = next((o for o in v.scheme.versions if o.status == Status.ACTIVE.value and o.effective_from
                        == v.effective_to + dt.timedelta(days=1)), None)
            early = msg("version.retire_before_successor", number=v.number, end=v.effective_to.isoformat(),
                        next=nxt.number if nxt is not None else "?",
                        start=(v.effective_to + dt.timedelta(days=1)).isoformat())
            raise InvalidInput(early, errors={"effective_to": [early]})
        if v.effective_from is not None and end < v.effective_from:
            early = (msg("version.retire_scheduled", number=v.number, date=v.effective_from.isoformat())
                     if effective_to is None and v.effective_from > localtime.today()
                     else msg("version.retire_before_start", date=v.effective_from.isoformat()))
            raise InvalidInput(early, errors={"effective_to": [early]})
        v.effective_to = end
    _step(v, Step.RETIRE)
    _save(session, v)
    audit.record(session, actor, "version.retire", version=v,
                 summary=f"停用 {v.scheme.code} 第 {v.number} 版" + (f"（生效至 {v.effective_to}）" if v.effective_to else ""),
                 summary_en=f"Retired {v.scheme.code} version {v.number}"
                            + (f" (in force until {v.effective_to})" if v.effective_to else ""),
                 detail={"effective_to": v.effective_to.isoformat() if v.effective_to else None})
    return v


def unschedule(session: Session, actor: Actor, version_id: int, *, note: str) -> SchemeVersion:
    """撤销生效安排: a version set to come into force on a later date goes back to approved, with no dates, and the
    version it was to replace stays in force for the days it was to have (to the end the unscheduled one had: open,
    or the day before a later version). Refused once its first day has come (Beijing date), while a localization
    built on it is set to come into force, or when results were published under it. The reason is required."""
    from rulesvc.persistence.models import Publication

    _check_texts(note=note)
    v = get_version(session, actor, version_id)
    require(actor, "activate", v.scheme.procuratorate_id, what=Words(f"方案 {v.scheme.code}", f"Scheme {v.scheme.code}"))
    lifecycle_check(v, Step.UNSCHEDULE)
    if not isinstance(note, str) or not note.strip():
        why = msg("version.unschedule_needs_note")
        raise InvalidInput(why, errors={"note": [why]})
    start, end = v.effective_from, v.effective_to
    if start is None or start <= localtime.today():
        started = msg("version.unschedule_started", number=v.number,
                      date=start.isoformat() if start is not None else "")
        raise Conflict(started, errors={"effective_from": [started]})
    # Lock the scheme's versions in force (as activation does): the predecessor found below is the one extended.
    active = session.scalars(select(SchemeVersion).where(
        SchemeVersion.scheme_id == v.scheme_id, SchemeVersion.status == Status.ACTIVE.value).with_for_update()).all()
    children = children_in_force(session, v)
    if children:
        why = children_message(v, children)
        raise Conflict(why, errors={"children": [why]})
    published = sorted(set(session.scalars(select(Publication.period).where(Publication.version_id == v.id)).all()))
    if published:
        why = msg("version.unschedule_published", number=v.number, periods="、".join(published))
        raise Conflict(why, errors={"publications": [why]})
    before = start - dt.timedelta(days=1)
    restored = [o for o in active if o.id != v.id and o.effective_to == before]
    for o in restored:
        o.effective_to = end
    _step(v, Step.UNSCHEDULE)
    v.effective_from = v.effective_to = None
    v.activated_at = None
    v.activated_by = None
    _save(session, v)
    for o in restored:
        _save(session, o)
    reason = visible(note)
    for o in restored:
        audit.record(session, actor, "version.resume", version=o,
                     summary=f"{o.scheme.code} 第 {o.number} 版继续生效" + (f"至 {o.effective_to}" if o.effective_to else "")
                             + f"（第 {v.number} 版的生效安排已撤销）",
                     summary_en=f"{o.scheme.code} version {o.number} stays in force"
                                + (f" until {o.effective_to}" if o.effective_to else "")
                                + f" (the go-live of version {v.number} was taken back)",
                     detail={"effective_to_before": before.isoformat(),
                             "effective_to": o.effective_to.isoformat() if o.effective_to else None,
                             "unscheduled": v.id})
    audit.record(session, actor, "version.unschedule", version=v,
                 summary=f"撤销 {v.scheme.code} 第 {v.number} 版的生效安排（原定 {start} 起生效）：{reason}",
                 summary_en=f"Took back the go-live of {v.scheme.code} version {v.number} (due from {start}): {reason}",
                 detail={"note": reason, "effective_from": start.isoformat(),
                         "effective_to": end.isoformat() if end else None,
                         "resumed": [o.id for o in restored]})
    return v


def children_in_force(session: Session, v: SchemeVersion) -> list[SchemeVersion]:
    """The localization versions built on ``v`` that are in force or set to come into force."""
    return list(session.scalars(select(SchemeVersion).where(
        SchemeVersion.parent_id == v.id, SchemeVersion.status == Status.ACTIVE.value).order_by(SchemeVersion.id)))


def children_message(v: SchemeVersion, children: Sequence[SchemeVersion]) -> Any:
    named = "、".join(f"{c.scheme.name} 第 {c.number} 版（{c.effective_from}）" for c in children)
    return msg("version.unschedule_children", number=v.number, children=named)


def version_in_effect(session: Session, actor: Actor, scheme_code: str, on: dt.date) -> SchemeVersion:
    """The version of the scheme in force on ``on`` (time travel: a past period uses its own rules)."""
    scheme = get_scheme(session, actor, scheme_code)
    for v in scheme.versions:
        if lifecycle.can_be_in_force(v.status) and v.effective_from is not None and v.effective_from <= on \
                and (v.effective_to is None or on <= v.effective_to):
            return v
    raise NotFound(msg("not_found.in_force", code=scheme_code, date=on.isoformat()))


# -- localization: rebase, conflicts, drift ----------------------------------------------------------


def rebase(session: Session, actor: Actor, version_id: int, *, new_parent_id: int, change_note: str = "") -> SchemeVersion:
    """A new draft of a localization on a newer parent version: overrides that still apply carry over;
    ones whose target changed upstream are recorded as conflicts, which must be settled before submitting."""
    _check_texts(change_note=change_note)
    v = get_version(session, actor, version_id)
    require(actor, "edit", v.scheme.procuratorate_id, what=Words(f"方案 {v.scheme.code}", f"Scheme {v.scheme.code}"))
    if v.parent is None:
        raise InvalidInput(msg("version.template_no_parent"), errors={"version": [msg("version.template_no_parent")]})
    new_parent = get_version(session, actor, new_parent_id)
    if new_parent.status not in lifecycle.PUBLISHED:
        raise Conflict(msg("version.parent_unpublished"), errors={"new_parent_id": [msg("version.parent_unpublished")]})
    if new_parent.scheme_id != v.parent.scheme_id:
        raise InvalidInput(msg("version.parent_other_scheme"),
                           errors={"new_parent_id": [msg("version.parent_other_scheme")]})
    if new_parent.number <= v.parent.number:  # back onto an older template, or a copy onto the same one
        bad = msg("version.rebase_not_newer", number=new_parent.number, current=v.parent.number)
        raise Conflict(bad, errors={"new_parent_id": [bad]})
    open_conflicts = v.document.get("conflicts") or []
    if open_conflicts:  # they would be carried as settled — the local value kept without anyone deciding it
        bad = msg("version.rebase_conflicts_open", number=v.number, count=len(open_conflicts),
                  new=new_parent.number)
        raise Conflict(bad, errors={"new_parent_id": [bad]})
    old_doc, new_doc = resolve(v.parent), resolve(new_parent)
    result = loc.rebase(old_doc, new_doc, v.document.get("overrides", []))
    conflicts = [c.as_dict() for c in result.conflicts]
    # A conflicting override that still applies stays in force until settled; one that no longer
    # applies waits in its conflict.
    overrides = list(result.carried) + [c["override"] for c in conflicts if c["applies"]]
    doc = {"description": v.document.get("description", ""), "overrides": overrides, "conflicts": conflicts}
    note = change_note or f"跟进 {new_parent.scheme.code} 第 {new_parent.number} 版"
    draft = _new_version(session, actor, v.scheme, doc, parent=new_parent, change_note=note, action=None)
    contributors.copy_from(session, v, draft)
    audit.record(session, actor, "version.rebase", version=draft,
                 summary=f"{v.scheme.code} 第 {v.number} 版跟进上级 {new_parent.scheme.code} 第 {new_parent.number} 版："
                         f"沿用 {len(result.carried)} 项，冲突 {len(conflicts)} 项",
                 summary_en=f"{v.scheme.code} version {v.number} took up {new_parent.scheme.code} version "
                            f"{new_parent.number}: {len(result.carried)} carried over, {len(conflicts)} in conflict",
                 diff=docdiff.diff(old_doc, new_doc), detail={"conflicts": conflicts, "from_version": v.id,
                                                            "document": doc, "parent_version_id": new_parent.id})
    return draft


def settle(session: Session, actor: Actor, version_id: int, *, lock_version: int, path: str, choice: str,
           value: Any = NO_VALUE, reason: str | None = None) -> SchemeVersion:
    """Settle one rebase conflict: ``keep`` the local override, ``take_upstream`` (drop it) or ``edit`` it
    (a new ``value``, which may be null — so "no value given" is :data:`NO_VALUE`, not ``None``)."""
    _check_texts(reason=reason)
    v = _editable(session, actor, version_id, lock_version)
    conflicts = list(v.document.get("conflicts") or [])
    found = next((c for c in conflicts if c.get("path") == path), None)
    if found is None:
        raise NotFound(msg("not_found.conflict", path=str(path)[:200]))
    if (choice == "edit") != (value is not NO_VALUE):
        raise InvalidInput(msg("version.settle_value"), errors={"value": [msg("version.settle_value")]})
    overrides = list(v.document.get("overrides") or [])
    idx = next((i for i, o in enumerate(overrides) if o.get("path") == path), None)
    current = overrides[idx] if idx is not None else found.get("override")
    try:
        settled = loc.settle(current, found, choice, *(() if value is NO_VALUE else (value,)), reason=reason or None)
    except loc.LocalizationError as exc:
        raise InvalidInput(msg("version.settle_refused"), errors={"choice": [p["message"] for p in exc.problems]}) from None
    if settled is not None and settled.get("op") == "set" and v.parent is not None and found.get("in_new") \
            and docdiff.same_data(settled.get("value"), found.get("upstream_new")):
        settled = None  # keeping a value the version above now has itself changes nothing: no local change is left
    if idx is not None:
        if settled is None:
            overrides.pop(idx)
        else:
            overrides[idx] = settled
    elif settled is not None:
        overrides.append(settled)
    conflicts.remove(found)
    v.document = {**v.document, "overrides": overrides, "conflicts": conflicts}
    resolve(v)
    _save(session, v)
    contributors.add(session, v, actor, "edited")
    labels = {"keep": "保留本地修改", "take_upstream": "采用上级新值", "edit": "改为新值"}
    audit.record(session, actor, "version.settle", version=v,
                 summary=f"处理冲突 {path}：{labels.get(choice, choice)}",
                 summary_en=f"Settled the conflict at {path}: "
                            + {"keep": "kept the local change", "take_upstream": "took the new value from above",
                               "edit": "set a new value"}.get(choice, choice),
                 detail={"path": path, "choice": choice, "value": None if value is NO_VALUE else value,
                         "conflict": found})
    return v


def drift_report(session: Session, actor: Actor, version_id: int) -> dict[str, Any]:
    """For a template version: every descendant version the actor may see, with its overrides."""
    root = get_version(session, actor, version_id)
    rows: list[dict[str, Any]] = []
    frontier = [root]
    while frontier:
        parent = frontier.pop(0)
        children = session.scalars(select(SchemeVersion).where(SchemeVersion.parent_id == parent.id)
                                   .order_by(SchemeVersion.id)).all()
        for c in children:
            frontier.append(c)
            if not can_read(actor, c.scheme.procuratorate_id, c.status):
                continue
            rows.append({
                "scheme": c.scheme.code, "name": c.scheme.name, "procuratorate": c.scheme.procuratorate.code,
                "procuratorate_name": c.scheme.procuratorate.name, "version": c.number, "version_id": c.id,
                "status": c.status, "effective_from": c.effective_from,
                "parent": {"scheme": parent.scheme.code, "version": parent.number},
                "overrides": [{**o, "kind": loc.kind_of(o)[0], "kind_en": loc.kind_of(o)[1]}
                              for o in c.document.get("overrides", [])],
                "conflicts": len(c.document.get("conflicts") or []),
            })
    return {"template": {"scheme": root.scheme.code, "version": root.number, "version_id": root.id,
                         "content_hash": root.content_hash}, "descendants": rows}


def diff_versions(session: Session, actor: Actor, a_id: int, b_id: int) -> dict[str, Any]:
    a, b = get_version(session, actor, a_id), get_version(session, actor, b_id)
    d = docdiff.diff(resolve(a), resolve(b))
    la, lb = f"{a.scheme.code} v{a.number}", f"{b.scheme.code} v{b.number}"
    return {"from": {"version_id": a.id, "label": la}, "to": {"version_id": b.id, "label": lb}, "diff": d,
            "text": docdiff.diff_text(d, la, lb)}


def provenance(version: SchemeVersion) -> dict[str, Any]:
    """For every part of the resolved document: inherited or local (and how)."""
    if version.parent is None:
        return {}
    return loc.provenance(resolve(version.parent), version.document.get("overrides", []))


# -- views -------------------------------------------------------------------------------------------


def view(v: SchemeVersion, *, with_document: bool = True) -> dict[str, Any]:
    """A version as the API and the CLI show it."""
    out: dict[str, Any] = {
        "id": v.id, "scheme": v.scheme.code, "number": v.number, "status": v.status,
        "status_label": STATUS_LABELS.get(v.status, v.status), "kind": "localization" if v.parent_id else "template",
        "parent": ({"version_id": v.parent.id, "scheme": v.parent.scheme.code, "number": v.parent.number,
                    "content_hash": v.parent.content_hash} if v.parent else None),
        "author": v.author, "change_note": v.change_note, "content_hash": v.content_hash,
        "lock_version": v.lock_version, "simulation": v.simulation, "scenarios": list(v.scenarios or []),
        "submitted_by": v.submitted_by, "submitted_at": _iso(v.submitted_at),
        "reviewed_by": v.reviewed_by, "reviewed_at": _iso(v.reviewed_at), "review_note": v.review_note,
        "effective_from": v.effective_from.isoformat() if v.effective_from else None,
        "effective_to": v.effective_to.isoformat() if v.effective_to else None,
        "created_at": _iso(v.created_at), "updated_at": _iso(v.updated_at),
        # Only a localization's draft can have unsettled conflicts (they are settled before submitting),
        # so a list of versions reads no document but those.
        "conflicts": (list((v.document or {}).get("conflicts") or [])
                      if v.parent_id and lifecycle.is_editable(v.status) else []),
    }
    if with_document:
        out["document"] = v.document
        session = object_session(v)
        out["contributors"] = contributors.view(session, v) if session is not None else []
    return out


def scheme_view(scheme: Scheme, actor: Actor) -> dict[str, Any]:
    versions = visible_versions(actor, scheme)
    today = localtime.today()
    in_force = next((v.number for v in versions if in_force_on(v, today)), None)
    return {"code": scheme.code, "name": scheme.name, "procuratorate": scheme.procuratorate.code,
            "procuratorate_name": scheme.procuratorate.name, "subject_kind": scheme.subject_kind,
            "period_kind": scheme.period_kind, "created_at": _iso(scheme.created_at), "in_force": in_force,
            "versions": [view(v, with_document=False) for v in versions]}


def _iso(t: dt.datetime | None) -> str | None:
    if t is None:
        return None
    if t.tzinfo is None:  # SQLite returns naive datetimes: they were written in UTC
        t = t.replace(tzinfo=dt.UTC)
    return t.isoformat()


__all__ = ["CODE", "activate", "approve", "attach_simulation", "check_resolved", "create_draft", "create_scheme",
           "delete_draft", "diff_versions", "drift_report", "get_scheme", "get_version", "list_schemes", "localize",
           "provenance", "rebase", "reject", "resolve", "retire", "scheme_version", "set_overrides", "settle", "submit",
           "update_draft", "version_in_effect", "view"]
