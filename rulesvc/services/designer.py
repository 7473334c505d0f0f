"""What the rule designer's pages read (issue 12, pages 1–2): the schemes a person may see with their
versions and history, and one version as a readable document.

Every read goes through :mod:`rulesvc.services.governance.versions` (the API's service, with its
visibility rule: one's own tree, and the published versions of the schemes above it; anything else is
"not found") and :mod:`rulesvc.services.governance.audit` (only for those who may read the audit log).
The words for scoring rules, formulas, conditions and the rest come from
:mod:`rulesvc.services.designer_words`, built on the engine's own helpers (``CompiledScheme.formulas_labeled``,
``scoring.fmt``, ``localize.kind_of``), so a page never shows metric codes or JSON.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import Session

from rulesvc.engine import localize as loc
from rulesvc.engine.compile import CompiledScheme
from rulesvc.engine.dictionary import Dictionary
from rulesvc.engine.errors import DefinitionError
from rulesvc.engine.model import Scheme
from rulesvc.engine.scoring import fmt
from rulesvc.errors import InvalidInput
from rulesvc.persistence import lifecycle
from rulesvc.persistence.lifecycle import Status
from rulesvc.persistence.models import AuditRecord, SchemeVersion
from rulesvc.persistence.models import Scheme as SchemeRow
from rulesvc.schema.scheme import DocumentError, load_scheme
from rulesvc.services import designer_words as W
from rulesvc.services import localtime
from rulesvc.services.designer_edit import kind_words, part_label
from rulesvc.services.governance import audit, versions
from rulesvc.services.governance.access import Actor
from rulesvc.services.scoring import compile_cached

HISTORY_LIMIT = 8  # changes per scheme on the schemes page
VERSION_HISTORY_LIMIT = 30  # changes on a version's page


# -- page 1: the schemes ------------------------------------------------------------------------------------


@dataclass
class Change:
    """One line of "who changed what when"."""

    at: dt.datetime | None
    who: str
    what: str
    version: int | None = None
    note: str = ""


@dataclass
class VersionLine:
    number: int
    status: str
    status_word: str
    kind: str  # template / localization
    parent: str  # "SFS-PROSECUTOR-TEMPLATE 第 1 版", or ""
    effective_from: dt.date | None
    effective_to: dt.date | None
    in_force: bool
    change_note: str
    author: str
    created_at: dt.datetime | None
    submitted_by: str | None
    submitted_at: dt.datetime | None
    reviewed_by: str | None
    reviewed_at: dt.datetime | None
    review_note: str
    activated_by: str | None
    activated_at: dt.datetime | None
    updated_at: dt.datetime | None


@dataclass
class SchemeCard:
    code: str
    name: str
    procuratorate: str
    procuratorate_code: str
    subject: str
    period: str
    own: bool  # in the person's tree (else: a published scheme above it)
    subject_kind: str
    in_force: int | None
    versions: list[VersionLine]
    history: list[Change] = field(default_factory=list)
    history_source: str = "versions"  # "audit" when read from the audit log
    own_localization: str | None = None  # a scheme from above: the code of the person's own localization of it
    open_draft: int | None = None  # an own scheme: the number of its newest draft (修订 opens it)
    in_review: bool = False  # a version of it is in review (the card offers no 修订 then: the review comes first)


def _in_force(v: SchemeVersion, today: dt.date) -> bool:
    return versions.in_force_on(v, today)


def _parent_words(v: SchemeVersion, lang: str) -> str:
    p = v.parent
    if p is None:
        return ""
    return f"{p.scheme.name} 第 {p.number} 版" if lang == "zh" else f"{p.scheme.name}, version {p.number}"


def scheme_cards(session: Session, actor: Actor, *, lang: str = "zh", today: dt.date | None = None) -> list[SchemeCard]:
    """The schemes ``actor`` may see (own tree first, then the published ones above), each with the versions
    they may see, the one in force ``today`` and its recent history: from the audit log for those who may
    read it (their own tree), else from the versions' own fields (author, submitted, reviewed, activated)."""
    today = today or localtime.today()
    cards: list[SchemeCard] = []
    schemes = versions.list_schemes(session, actor)
    # A scheme from above that the person's tree already localizes: its card leads there, not to a second draft.
    localized: dict[int, str] = {}
    for s in schemes:
        if actor.in_scope(s.procuratorate_id):
            for v in s.versions:
                if v.parent is not None and v.parent.scheme_id != s.id:
                    localized.setdefault(v.parent.scheme_id, s.code)
    for s in schemes:
        visible = versions.visible_versions(actor, s)
        lines = [VersionLine(
            number=v.number, status=v.status, status_word=W.version_status_word(v, lang, today),
            kind="localization" if v.parent_id else "template", parent=_parent_words(v, lang),
            effective_from=v.effective_from, effective_to=v.effective_to, in_force=_in_force(v, today),
            change_note=v.change_note or "", author=v.author, created_at=v.created_at,
            submitted_by=v.submitted_by, submitted_at=v.submitted_at, reviewed_by=v.reviewed_by,
            reviewed_at=v.reviewed_at, review_note=v.review_note or "", activated_by=v.activated_by,
            activated_at=v.activated_at, updated_at=v.updated_at) for v in visible]
        own = actor.in_scope(s.procuratorate_id)
        card = SchemeCard(code=s.code, name=s.name, procuratorate=s.procuratorate.name,
                          procuratorate_code=s.procuratorate.code, subject=W.word(W.SUBJECT_WORDS, lang, s.subject_kind),
                          period=W.word(W.PERIOD_WORDS, lang, s.period_kind), own=own, subject_kind=s.subject_kind,
                          in_force=next((x.number for x in lines if x.in_force), None), versions=lines[::-1],
                          own_localization=None if own else localized.get(s.id),
                          open_draft=max((v.number for v in s.versions if lifecycle.is_editable(v.status)), default=None)
                          if own else None,
                          in_review=any(v.status == Status.IN_REVIEW for v in s.versions))
        if own and actor.may("audit"):
            records, _ = audit.list_records(session, actor, scheme=s.code, limit=HISTORY_LIMIT)
            numbers = {v.id: v.number for v in s.versions}
            card.history = [_change(r, numbers, lang) for r in records]
            card.history_source = "audit"
        else:
            card.history = _changes_from_versions(visible, lang)[:HISTORY_LIMIT]
        cards.append(card)
    cards.sort(key=lambda c: (not c.own, c.procuratorate_code, c.code))
    return cards


def _change(r: AuditRecord, numbers: Mapping[int, int], lang: str) -> Change:
    what = audit.ACTION_LABELS.get(r.action, r.action) if lang == "zh" else W.ACTION_EN.get(r.action, r.action)
    detail = r.detail if isinstance(r.detail, Mapping) else {}
    note = ""
    if r.action == "version.reject" or (r.action == "version.approve" and detail.get("note")):
        note = str(detail.get("note") or "")
    elif r.action == "version.activate" and detail.get("effective_from"):
        note = (f"自 {detail['effective_from']} 起" if lang == "zh" else f"from {detail['effective_from']}")
    elif r.action in ("version.supersede", "version.retire") and detail.get("effective_to"):
        note = (f"生效至 {detail['effective_to']}" if lang == "zh" else f"in force until {detail['effective_to']}")
    elif r.action == "version.unschedule":
        note = (f"原定 {detail.get('effective_from')} 起生效：{detail.get('note') or ''}" if lang == "zh"
                else f"was to come into force on {detail.get('effective_from')}: {detail.get('note') or ''}")
    elif r.action == "version.resume":
        end = detail.get("effective_to")
        note = ((f"生效至 {end}" if end else "未定停用日期") if lang == "zh"
                else (f"in force until {end}" if end else "no end date"))
    return Change(at=r.at, who=r.actor, what=what, version=numbers.get(r.version_id) if r.version_id else None,
                  note=note)


def _changes_from_versions(vs: Sequence[SchemeVersion], lang: str) -> list[Change]:
    steps = (("created_at", "author", "新建版本", "version created"),
             ("submitted_at", "submitted_by", "提交审核", "submitted"),
             ("reviewed_at", "reviewed_by", None, None),
             ("activated_at", "activated_by", "生效", "activated"))
    out: list[Change] = []
    for v in vs:
        for at_attr, who_attr, zh, en in steps:
            at, who = getattr(v, at_attr), getattr(v, who_attr)
            if at is None or not who:
                continue
            if zh is None:  # reviewed: approved (published) or sent back (a draft again)
                back = v.status == Status.DRAFT
                zh, en = ("退回", "sent back") if back else ("批准", "approved")
            out.append(Change(at=at, who=who, what=zh if lang == "zh" else str(en), version=v.number,
                              note=v.review_note if zh == "退回" else ""))
    out.sort(key=lambda c: _aware(c.at), reverse=True)
    return out


def _aware(t: dt.datetime | None) -> dt.datetime:
    if t is None:
        return dt.datetime.min.replace(tzinfo=dt.UTC)
    return t if t.tzinfo else t.replace(tzinfo=dt.UTC)


# -- page 2: one version as a document ----------------------------------------------------------------------


@dataclass
class Origin:
    """继承 / 本地修改 (with the reasons) / 本地新增 of one part of a localization."""

    status: str
    word: str
    reasons: list[str] = field(default_factory=list)


@dataclass
class VersionDocument:
    version: SchemeVersion
    scheme: SchemeRow
    status_word: str
    in_force: bool
    parent: str
    parent_ref: tuple[str, int] | None = None  # (scheme code, version number) of the parent, for a link
    problems: dict[str, list[str]] = field(default_factory=dict)  # a draft that does not resolve or load
    description: str = ""
    combination: str = ""
    participants: list[str] = field(default_factory=list)
    dimensions: list[dict[str, Any]] = field(default_factory=list)
    weight_total: float = 0.0
    indicators: list[dict[str, Any]] = field(default_factory=list)  # grouped: dimension rows and indicator rows
    adjustments: list[dict[str, Any]] = field(default_factory=list)
    vetoes: list[dict[str, Any]] = field(default_factory=list)
    grades: list[dict[str, Any]] = field(default_factory=list)
    grading_note: str = ""
    peers: list[str] = field(default_factory=list)
    overrides: list[dict[str, Any]] = field(default_factory=list)
    metrics: list[dict[str, Any]] = field(default_factory=list)  # what the formulas' names count
    origins: dict[str, Origin] = field(default_factory=dict)  # "combination", "grading", "peers", "participants"
    history: list[Change] = field(default_factory=list)  # who changed this version, what and when
    history_source: str = "versions"
    versions: list[tuple[int, str, str]] = field(default_factory=list)  # the scheme's visible ones: (number, status, word)


def version_document(session: Session, actor: Actor, code: str, number: int, dictionary: Dictionary, *,
                     lang: str = "zh", today: dt.date | None = None, history: bool = True) -> VersionDocument:
    """Version ``number`` of scheme ``code`` as a readable document (NotFound when ``actor`` may not see it,
    exactly as the API answers). A draft whose overrides no longer apply, or whose document does not load,
    comes back with ``problems`` instead of its parts."""
    v = versions.scheme_version(session, actor, code, number)
    today = today or localtime.today()
    out = VersionDocument(version=v, scheme=v.scheme, status_word=W.version_status_word(v, lang, today),
                          in_force=_in_force(v, today), parent=_parent_words(v, lang),
                          parent_ref=(v.parent.scheme.code, v.parent.number) if v.parent is not None else None)
    out.versions = [(x.number, x.status, W.version_status_word(x, lang, today))
                    for x in versions.visible_versions(actor, v.scheme)]
    if not history:
        pass  # the editor shows no history
    elif actor.in_scope(v.scheme.procuratorate_id) and actor.may("audit"):
        records, _ = audit.list_records(session, actor, version_id=v.id, limit=VERSION_HISTORY_LIMIT)
        out.history = [_change(r, {v.id: v.number}, lang) for r in records]
        out.history_source = "audit"
    else:
        out.history = _changes_from_versions([v], lang)
    try:
        resolved = versions.resolve(v)
        model = load_scheme(resolved)
        compiled = compile_cached(model, dictionary)
    except InvalidInput as exc:
        rendered = exc.rendered_errors(lang)
        out.problems = ({str(k): [str(m) for m in (ms if isinstance(ms, list) else [ms])] for k, ms in rendered.items()}
                        if isinstance(rendered, Mapping) and rendered else {"": [exc.msg.render(lang) if exc.msg else str(exc)]})
        return out
    except DocumentError as exc:
        out.problems = {k: [str(m) for m in ms] for k, ms in exc.problems.items()}
        return out
    except DefinitionError as exc:
        out.problems = {str(getattr(exc, "path", "") or ""): [str(exc)]}
        return out
    provenance = _provenance(v, lang)
    _fill(out, model, compiled, dictionary, provenance, lang)
    if v.parent_id is not None:
        parent_doc = versions.resolve(v.parent) if v.parent is not None else {}
        out.overrides = [{"kind": kind_words(o, lang), "path": o.get("path", ""),
                          "label": part_label(o.get("path", ""), resolved, parent_doc),
                          "reason": o.get("reason", "")} for o in v.document.get("overrides", [])]
    return out


def _provenance(v: SchemeVersion, lang: str) -> dict[str, Origin]:
    if v.parent_id is None:
        return {}
    try:
        raw = versions.provenance(v)
    except loc.LocalizationError:
        return {}
    return {part: Origin(p["status"], W.word(W.ORIGIN_WORDS, lang, p["status"]), [o["reason"] for o in p["overrides"]])
            for part, p in raw.items()}


def _fill(out: VersionDocument, s: Scheme, c: CompiledScheme, d: Dictionary, prov: Mapping[str, Origin],
          lang: str) -> None:
    zh = lang == "zh"
    out.description = s.description
    for key in ("combination", "participants", "grading", "peers"):
        if key in prov:
            out.origins[key] = prov[key]
    for key in ("peer_group", "peer_min_size"):
        if key in prov and prov[key].status != "inherited":
            out.origins["peers"] = prov[key]
    out.combination = W.combination_words(s, lang)
    out.participants = W.participants_words(s, lang)
    # Dimensions: weights, their share and the running total.
    total = sum(dm.weight for dm in s.dimensions.values())
    out.weight_total = total
    running = 0.0
    for dm in s.dimensions.values():
        running += dm.weight
        out.dimensions.append({
            "code": dm.code, "name": dm.name, "weight": fmt(dm.weight), "share": fmt(dm.weight / total, "%") if total else "",
            "running": fmt(running), "running_share": fmt(running / total, "%") if total else "",
            "adjustment_cap": fmt(dm.adjustment_cap) if dm.adjustment_cap is not None else "",
            "origin": prov.get(f"dimensions.{dm.code}")})
    # Indicators, by dimension (those of no dimension last).
    formulas = c.formulas_labeled
    by_code = {ci.indicator.code: ci for ci in c.indicators}
    groups: list[tuple[str | None, str]] = [(dm.code, dm.name) for dm in s.dimensions.values()]
    groups.append((None, "不属于任何维度" if zh else "No dimension"))
    for dim, dim_name in groups:
        rows = [ind for ind in s.indicators.values() if ind.dimension == dim]
        if not rows:
            continue
        out.indicators.append({"group": dim_name, "count": len(rows)})
        for ind in rows:
            ci = by_code.get(ind.code)
            pw = ci.piecewise if ci is not None else None
            out.indicators.append({
                "code": ind.code, "name": ind.name, "description": ind.description,
                "formula": formulas.get(ind.code, ind.formula), "unit": W.unit_word(ind.unit, lang),
                "direction": W.word(W.DIRECTION_WORDS, lang, ind.direction),
                "lines": W.lines_words(ind.lines, ind.businesses, d, lang),
                "for_all": not ind.lines and not ind.businesses,
                "method": W.word(W.METHOD_WORDS, lang, ind.scoring.method) if ind.scoring else "",
                "rule": W.rule_parts(ind, lang),
                "missing": W.missing_words(ind.scoring, lang) if ind.scoring else "",
                "points": fmt(pw.max_points) if pw is not None and ind.scored else "",
                "scored": ind.scored, "source": W.source_parts(ind.source), "origin": prov.get(f"indicators.{ind.code}")})
    types = d.event_types
    for cm in c.metrics:
        out.metrics.append({**W.metric_row(cm, d, lang), "origin": prov.get(f"metrics.{cm.metric.code}")})
    for a in s.adjustments.values():
        where = W.adjustment_condition(c, a.code)
        out.adjustments.append({
            "code": a.code, "name": a.name, "events": W.events_words(a.events, types, lang),
            "where": W.condition_words(where, a.events, d, lang) if where is not None else "",
            "pattern": W.pattern_words(a, c, d, lang), "points": W.adjustment_points(a, lang),
            "cap": (f"{fmt(a.cap)} 分" if lang == "zh" else f"{fmt(a.cap)} points") if a.cap is not None else "",
            "dimension": W.dimension_name(s, a.dimension),
            "lines": W.lines_words(a.lines, a.businesses, d, lang), "description": a.description,
            "origin": prov.get(f"adjustments.{a.code}")})
    vetoes = {cv.veto.code: cv for cv in c.vetoes}
    for vt in s.vetoes.values():
        cv = vetoes.get(vt.code)
        out.vetoes.append({
            "code": vt.code, "name": vt.name, "events": W.events_words(vt.events, types, lang),
            "where": W.condition_words(cv.where.expr, vt.events, d, lang) if cv is not None and cv.where is not None else "",
            "effects": W.veto_words(s, vt, lang), "description": vt.description,
            "origin": prov.get(f"vetoes.{vt.code}")})
    if s.grading is not None:
        for band in s.grading.bands:
            quota = ""
            if band.quota is not None:
                quota = (f"不超过 {fmt(band.quota, '%')}（{W.word(W.ROUNDING_WORDS, lang, band.quota_rounding)}）" if zh
                         else f"at most {fmt(band.quota, '%')} ({W.word(W.ROUNDING_WORDS, lang, band.quota_rounding)})")
            out.grades.append({"grade": band.grade, "min": fmt(band.min), "quota": quota,
                               "min_value": band.min, "quota_value": band.quota})
        if any(b.quota is not None for b in s.grading.bands):
            group = W.word(W.PEER_GROUP_WORDS, lang, s.grading.quota_group)
            if zh:
                out.grading_note = "名额按院计算" if s.grading.quota_group == "procuratorate" else f"名额在{group}内计算"
            else:
                out.grading_note = f"Quotas are counted within {group}"
    out.peers = W.peers_words(s, c, lang)
