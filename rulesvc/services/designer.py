"""What the rule designer's pages read (issue 12, pages 1–2): the schemes a person may see with their
versions and history, and one version as a readable document.

Every read goes through :mod:`rulesvc.services.governance.versions` (the API's service, with its
visibility rule: one's own tree, and the published versions of the schemes above it; anything else is
"not found") and :mod:`rulesvc.services.governance.audit` (only for those who may read the audit log).
The words for scoring rules, formulas and the rest are written here once, in Chinese or English, from
the engine's own helpers (``CompiledScheme.formulas_labeled``, ``scoring.fmt``, ``explain.MISSING_WORDS``,
``localize.kind_of``), so a page never shows metric codes or JSON.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import Session

from rulesvc.engine import localize as loc
from rulesvc.engine.compile import CompiledMetric, CompiledScheme
from rulesvc.engine.dictionary import Dictionary
from rulesvc.engine.errors import DefinitionError
from rulesvc.engine.explain import MISSING_WORDS
from rulesvc.engine.expr.render import to_labeled_text
from rulesvc.engine.model import Adjustment, Indicator, Scheme, ScoringRule, Veto
from rulesvc.engine.scoring import fmt
from rulesvc.errors import InvalidInput
from rulesvc.persistence import lifecycle
from rulesvc.persistence.lifecycle import Status
from rulesvc.persistence.models import AuditRecord, SchemeVersion
from rulesvc.persistence.models import Scheme as SchemeRow
from rulesvc.schema.scheme import DocumentError, load_scheme
from rulesvc.services.governance import audit, versions
from rulesvc.services.governance.access import Actor
from rulesvc.services.scoring import compile_cached

# -- words (glossary.md: one word for one thing) ------------------------------------------------------------

STATUS_WORDS = {"zh": dict(lifecycle.STATUS_LABELS),
                "en": {"draft": "draft", "in_review": "in review", "approved": "approved", "active": "active",
                       "retired": "retired"}}
SUBJECT_WORDS = {"zh": {"prosecutor": "检察官", "procuratorate": "检察院"},
                 "en": {"prosecutor": "prosecutors", "procuratorate": "procuratorates"}}
PERIOD_WORDS = {"zh": {"month": "按月", "quarter": "按季度", "year": "按年"},
                "en": {"month": "monthly", "quarter": "quarterly", "year": "yearly"}}
DIRECTION_WORDS = {"zh": {"higher_better": "越高越好", "lower_better": "越低越好", "neutral": "不分高低"},
                   "en": {"higher_better": "higher is better", "lower_better": "lower is better", "neutral": "neutral"}}
METHOD_WORDS = {"zh": {"linear": "线性计分", "tiers": "分档计分", "per_unit": "按件计分", "pass_fail": "达标计分",
                       "percentile": "百分位", "ratio_to_avg": "与平均值之比", "ratio_to_best": "与最优者之比"},
                "en": {"linear": "linear", "tiers": "tiers", "per_unit": "per unit", "pass_fail": "pass-fail",
                       "percentile": "percentile", "ratio_to_avg": "ratio to the average",
                       "ratio_to_best": "ratio to the best"}}
MISSING_EN = {"zero": "scores zero", "worst": "scores the lowest points", "best": "scores full points",
              "exclude": "left out"}
PEER_GROUP_WORDS = {"zh": {"all": "全体", "procuratorate": "同院", "department": "同部门", "business": "同业务类别",
                           "line": "同业务条线", "level": "同级院"},
                    "en": {"all": "everyone", "procuratorate": "the same procuratorate", "department": "the same department",
                           "business": "the same business", "line": "the same line of work", "level": "the same level"}}
ROUNDING_WORDS = {"zh": {"floor": "向下取整", "round": "四舍五入", "ceil": "向上取整", "at_least_one": "至少 1 名"},
                  "en": {"floor": "rounded down", "round": "rounded", "ceil": "rounded up", "at_least_one": "at least one"}}
LEVEL_WORDS = {"zh": {"province": "省级院", "city": "市级院", "county": "基层院"},
               "en": {"province": "provincial", "city": "city-level", "county": "county-level"}}
LINE_EN = {"criminal": "Criminal", "civil": "Civil", "administrative": "Administrative",
           "public_interest": "Public-interest litigation"}
QUOTA_WORDS = {"zh": {"quota": "员额检察官", "non_quota": "非员额人员"},
               "en": {"quota": "quota prosecutors", "non_quota": "non-quota staff"}}
ORIGIN_WORDS = {"zh": {"inherited": "继承", "changed": "本地修改", "disabled": "本地修改", "local": "本地新增",
                       "removed": "本地删除"},
                "en": {"inherited": "inherited", "changed": "changed locally", "disabled": "changed locally",
                       "local": "added locally", "removed": "removed locally"}}
ACTION_EN = {
    "scheme.create": "scheme created", "version.create": "version created", "version.localize": "localized",
    "version.update": "draft changed", "version.submit": "submitted", "version.attach_simulation": "simulation named",
    "version.scenarios": "regression scenarios changed", "simulation.create": "simulation started",
    "simulation.cancel": "simulation cancelled", "version.approve": "approved", "version.reject": "sent back",
    "version.activate": "activated", "version.retire": "retired", "version.supersede": "superseded",
    "version.rebase": "took up a new parent version", "version.settle": "conflict settled",
    "version.delete": "draft deleted", "rules.import": "imported from files",
}
AGG_WORDS = {"zh": {"count": "计数", "sum": "求和", "distinct": "去重计数", "avg": "平均值", "min": "最小值", "max": "最大值"},
             "en": {"count": "count", "sum": "sum", "distinct": "distinct count", "avg": "average", "min": "minimum",
                    "max": "maximum"}}
HISTORY_LIMIT = 8  # changes per scheme on the schemes page
VERSION_HISTORY_LIMIT = 30  # changes on a version's page


def _w(words: Mapping[str, Mapping[str, str]], lang: str, code: str | None) -> str:
    if code is None:
        return ""
    return words[lang].get(code, code)


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
    in_force: int | None
    versions: list[VersionLine]
    history: list[Change] = field(default_factory=list)
    history_source: str = "versions"  # "audit" when read from the audit log


def _in_force(v: SchemeVersion, today: dt.date) -> bool:
    return (lifecycle.can_be_in_force(v.status) and v.status == Status.ACTIVE and v.effective_from is not None
            and v.effective_from <= today and (v.effective_to is None or today <= v.effective_to))


def _parent_words(v: SchemeVersion, lang: str) -> str:
    p = v.parent
    if p is None:
        return ""
    return f"{p.scheme.name} 第 {p.number} 版" if lang == "zh" else f"{p.scheme.name}, version {p.number}"


def scheme_cards(session: Session, actor: Actor, *, lang: str = "zh", today: dt.date | None = None) -> list[SchemeCard]:
    """The schemes ``actor`` may see (own tree first, then the published ones above), each with the versions
    they may see, the one in force ``today`` and its recent history: from the audit log for those who may
    read it (their own tree), else from the versions' own fields (author, submitted, reviewed, activated)."""
    today = today or dt.date.today()
    cards: list[SchemeCard] = []
    for s in versions.list_schemes(session, actor):
        visible = versions.visible_versions(actor, s)
        lines = [VersionLine(
            number=v.number, status=v.status, status_word=_w(STATUS_WORDS, lang, v.status),
            kind="localization" if v.parent_id else "template", parent=_parent_words(v, lang),
            effective_from=v.effective_from, effective_to=v.effective_to, in_force=_in_force(v, today),
            change_note=v.change_note or "", author=v.author, created_at=v.created_at,
            submitted_by=v.submitted_by, submitted_at=v.submitted_at, reviewed_by=v.reviewed_by,
            reviewed_at=v.reviewed_at, review_note=v.review_note or "", activated_by=v.activated_by,
            activated_at=v.activated_at, updated_at=v.updated_at) for v in visible]
        own = actor.in_scope(s.procuratorate_id)
        card = SchemeCard(code=s.code, name=s.name, procuratorate=s.procuratorate.name,
                          procuratorate_code=s.procuratorate.code, subject=_w(SUBJECT_WORDS, lang, s.subject_kind),
                          period=_w(PERIOD_WORDS, lang, s.period_kind), own=own,
                          in_force=next((x.number for x in lines if x.in_force), None), versions=lines[::-1])
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
    what = audit.ACTION_LABELS.get(r.action, r.action) if lang == "zh" else ACTION_EN.get(r.action, r.action)
    detail = r.detail if isinstance(r.detail, Mapping) else {}
    note = ""
    if r.action == "version.reject" or (r.action == "version.approve" and detail.get("note")):
        note = str(detail.get("note") or "")
    elif r.action == "version.activate" and detail.get("effective_from"):
        note = (f"自 {detail['effective_from']} 起" if lang == "zh" else f"from {detail['effective_from']}")
    elif r.action in ("version.supersede", "version.retire") and detail.get("effective_to"):
        note = (f"生效至 {detail['effective_to']}" if lang == "zh" else f"in force until {detail['effective_to']}")
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


def version_document(session: Session, actor: Actor, code: str, number: int, dictionary: Dictionary, *,
                     lang: str = "zh", today: dt.date | None = None) -> VersionDocument:
    """Version ``number`` of scheme ``code`` as a readable document (NotFound when ``actor`` may not see it,
    exactly as the API answers). A draft whose overrides no longer apply, or whose document does not load,
    comes back with ``problems`` instead of its parts."""
    v = versions.scheme_version(session, actor, code, number)
    today = today or dt.date.today()
    out = VersionDocument(version=v, scheme=v.scheme, status_word=_w(STATUS_WORDS, lang, v.status),
                          in_force=_in_force(v, today), parent=_parent_words(v, lang),
                          parent_ref=(v.parent.scheme.code, v.parent.number) if v.parent is not None else None)
    if actor.in_scope(v.scheme.procuratorate_id) and actor.may("audit"):
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
        out.overrides = [{"kind": loc.kind_of(o)[0 if lang == "zh" else 1], "path": o.get("path", ""),
                          "label": _part_label(o.get("path", ""), resolved, parent_doc),
                          "reason": o.get("reason", "")} for o in v.document.get("overrides", [])]
    return out


def _provenance(v: SchemeVersion, lang: str) -> dict[str, Origin]:
    if v.parent_id is None:
        return {}
    try:
        raw = versions.provenance(v)
    except loc.LocalizationError:
        return {}
    return {part: Origin(p["status"], _w(ORIGIN_WORDS, lang, p["status"]), [o["reason"] for o in p["overrides"]])
            for part, p in raw.items()}


def _part_label(path: str, resolved: Mapping[str, Any], parent: Mapping[str, Any]) -> str:
    """``indicators.PLEA_APPLY_RATE.scoring.tiers`` → the indicator's name (the path's entry), for people."""
    try:
        tokens = loc.parse_path(path)
    except ValueError:
        return path
    if len(tokens) >= 2 and tokens[0] in loc.COLLECTIONS:
        for doc in (resolved, parent):
            entry = (doc.get(str(tokens[0])) or {}).get(str(tokens[1]))
            if isinstance(entry, Mapping) and entry.get("name"):
                return str(entry["name"])
    return path


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
    out.combination = _combination_words(s, lang)
    out.participants = _participants_words(s, lang)
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
                "formula": formulas.get(ind.code, ind.formula), "unit": _unit_word(ind.unit, lang),
                "direction": _w(DIRECTION_WORDS, lang, ind.direction),
                "lines": _lines_words(ind.lines, ind.businesses, d, lang),
                "method": _w(METHOD_WORDS, lang, ind.scoring.method) if ind.scoring else "",
                "rule": rule_parts(ind, lang),
                "missing": _missing_words(ind.scoring, lang) if ind.scoring else "",
                "points": fmt(pw.max_points) if pw is not None and ind.scored else "",
                "scored": ind.scored, "source": source_parts(ind.source), "origin": prov.get(f"indicators.{ind.code}")})
    types = d.event_types
    for cm in c.metrics:
        out.metrics.append(_metric_row(cm, d, lang, prov.get(f"metrics.{cm.metric.code}")))
    for a in s.adjustments.values():
        where = _where(c, a.code)
        out.adjustments.append({
            "code": a.code, "name": a.name, "events": _events_words(a.events, types, lang),
            "where": condition_words(where, a.events, d, lang) if where is not None else "",
            "pattern": _pattern_words(a, c, d, lang), "points": _adjustment_points(a, lang),
            "cap": (f"{fmt(a.cap)} 分" if lang == "zh" else f"{fmt(a.cap)} points") if a.cap is not None else "", "dimension": _dim_name(s, a.dimension),
            "lines": _lines_words(a.lines, a.businesses, d, lang), "description": a.description,
            "origin": prov.get(f"adjustments.{a.code}")})
    vetoes = {cv.veto.code: cv for cv in c.vetoes}
    for vt in s.vetoes.values():
        cv = vetoes.get(vt.code)
        out.vetoes.append({
            "code": vt.code, "name": vt.name, "events": _events_words(vt.events, types, lang),
            "where": condition_words(cv.where.expr, vt.events, d, lang) if cv is not None and cv.where is not None else "",
            "effects": _veto_words(s, vt, lang), "description": vt.description,
            "origin": prov.get(f"vetoes.{vt.code}")})
    if s.grading is not None:
        for band in s.grading.bands:
            quota = ""
            if band.quota is not None:
                quota = (f"不超过 {fmt(band.quota, '%')}（{_w(ROUNDING_WORDS, lang, band.quota_rounding)}）" if zh
                         else f"at most {fmt(band.quota, '%')} ({_w(ROUNDING_WORDS, lang, band.quota_rounding)})")
            out.grades.append({"grade": band.grade, "min": fmt(band.min), "quota": quota})
        if any(b.quota is not None for b in s.grading.bands):
            group = _w(PEER_GROUP_WORDS, lang, s.grading.quota_group)
            if zh:
                out.grading_note = "名额按院计算" if s.grading.quota_group == "procuratorate" else f"名额在{group}内计算"
            else:
                out.grading_note = f"Quotas are counted within {group}"
    out.peers = _peers_words(s, c, lang)


def source_parts(source: str) -> list[tuple[str, str | None]]:
    """Where an indicator's definition comes from, piece by piece: ``(text, None)`` or, for a web address,
    ``(its host, the address)`` — a page shows the host as a link instead of a long address."""
    out: list[tuple[str, str | None]] = []
    for piece in re.split(r"[;；]\s*", source or ""):
        piece = piece.strip()
        if not piece:
            continue
        m = re.match(r"https?://([^/\s]+)\S*$", piece)
        out.append((m.group(1), piece) if m else (piece, None))
    return out


def _metric_row(cm: CompiledMetric, d: Dictionary, lang: str, origin: Origin | None) -> dict[str, Any]:
    """One metric (a number the formulas read): how it counts, over which events, on which condition."""
    m, zh = cm.metric, lang == "zh"
    labels: dict[str, str] = {}
    choices: dict[str, str] = {}
    for code in m.events:
        t = d.event_types.get(code)
        for f in (t.fields.values() if t is not None else ()):
            labels.setdefault(f.name, f.label if zh else f.label_en or f.label)
            if zh and m.weights is not None and f.name == m.weights.by and f.choices:
                choices.update({str(k): str(v) for k, v in f.choices.items()})
    how = _w(AGG_WORDS, lang, m.agg)
    if m.field and m.agg != "count":
        name = "案件" if zh and m.field == "case_id" else labels.get(m.field, m.field)
        how = f"{name}{how}" if zh else f"{how} of {name}"
    weights = ""
    if m.weights is not None:
        by = labels.get(m.weights.by, m.weights.by)
        pairs = ("，" if zh else ", ").join(f"{choices.get(k, k)} {v}" for k, v in m.weights.labels.items())
        weights = f"按“{by}”折算：{pairs}" if zh else f"weighted by {by}: {pairs}"
    return {"code": m.code, "name": m.name or m.code, "how": how, "events": _events_words(m.events, d.event_types, lang),
            "where": condition_words(cm.where.expr, m.events, d, lang) if cm.where is not None else "",
            "weights": weights, "origin": origin}


def _where(c: CompiledScheme, code: str) -> Any:
    for ca in c.adjustments:
        if ca.adjustment.code == code:
            return ca.where.expr if ca.where is not None else None
    return None


def _unit_word(unit: str, lang: str) -> str:
    if unit == "ratio":
        return "1:x"
    return unit


def _show(x: float, unit: str) -> str:
    """A threshold as the designer thinks of it: rates as percentages, 案-件比 as 1:x."""
    if unit == "ratio":
        return f"1:{fmt(x)}"
    if unit == "%":
        return fmt(x, "%")
    return fmt(x)


def rule_words(ind: Indicator, lang: str = "zh") -> str:
    """The scoring rule in words: "≥ 90% → 10 分；≥ 85% → 8 分；其余 0 分"."""
    return ("；" if lang == "zh" else "; ").join(rule_parts(ind, lang))


def rule_parts(ind: Indicator, lang: str = "zh") -> list[str]:
    """:func:`rule_words` clause by clause (a page keeps each clause on one line)."""
    sc = ind.scoring
    if sc is None:
        return []
    p, unit, zh = sc.params, ind.unit, lang == "zh"
    pts = "分" if zh else "points"

    def n(key: str, default: float | None = None) -> float:
        v = p.get(key, default)
        return float(v) if isinstance(v, int | float) else 0.0

    higher = ind.direction != "lower_better"
    if sc.method == "tiers":
        key, sign = ("min", "≥") if higher else ("max", "≤")
        parts = [f"{sign} {_show(float(t[key]), unit)} → {fmt(float(t['points']))} {pts}"
                 for t in p.get("tiers") or [] if isinstance(t, Mapping) and key in t]
        parts.append(f"其余 {fmt(n('else', 0))} 分" if zh else f"otherwise {fmt(n('else', 0))} points")
        return parts
    if sc.method == "linear":
        worst, best, full = _show(n("worst"), unit), _show(n("best"), unit), fmt(n("points"))
        if zh:
            reach = "达到" if higher else "不高于"
            return [f"{reach} {best} 得满分 {full} 分", f"{worst} 及更差 0 分", "其间按线性计分"]
        return [f"{best} or better: {full} points", f"{worst} or worse: 0", "linear in between"]
    if sc.method == "per_unit":
        per, cap = n("points"), n("cap")
        u = unit if unit and unit not in ("%", "ratio") else "件"
        if zh:
            return [f"每{u} {fmt(per)} 分", f"{'封顶' if cap > 0 else '最多扣'} {fmt(abs(cap))} 分"]
        return [f"{fmt(per)} points each", f"{'capped at' if cap > 0 else 'at most'} {fmt(cap)} points"]
    if sc.method == "pass_fail":
        thr, full, fail = _show(n("threshold"), unit), fmt(n("points")), fmt(n("fail_points", 0))
        if zh:
            return ([f"达到 {thr} → {full} 分", f"未达到 → {fail} 分"] if higher
                    else [f"不高于 {thr} → {full} 分", f"高于 → {fail} 分"])
        return [f"{'≥' if higher else '≤'} {thr} → {full} points", f"otherwise {fail} points"]
    anchors = {"percentile": (0.0, 1.0), "ratio_to_avg": (0.5, 1.5), "ratio_to_best": (0.0, 1.0)}
    if sc.method in anchors:
        lo, hi = anchors[sc.method]
        lo_x, hi_x, full = n("worst", lo), n("best", hi), fmt(n("points"))
        as_pct = sc.method == "percentile"
        w, b = (fmt(lo_x, "%"), fmt(hi_x, "%")) if as_pct else (fmt(lo_x), fmt(hi_x))
        what = {"percentile": ("同组百分位", "percentile in the peer group"),
                "ratio_to_avg": ("与同组平均值之比", "ratio to the peer average"),
                "ratio_to_best": ("与同组最优者之比", "ratio to the best peer")}[sc.method]
        if zh:
            tail = "（越低越好的指标已换算为越高越好）" if not higher and sc.method != "percentile" else ""
            bottom = f"{w} 及以下 0 分" if lo_x > 0 else f"{w} 得 0 分"
            return [f"{what[0]}达到 {b} 得满分 {full} 分", bottom, f"其间按线性计分{tail}"]
        return [f"{what[1]} {b} or more: {full} points", f"{w} or less: 0" if lo_x > 0 else f"{w}: 0",
                "linear in between"]
    return [sc.method]


def _missing_words(sc: ScoringRule, lang: str) -> str:
    if lang == "zh":
        return f"无数据时{MISSING_WORDS.get(sc.missing, sc.missing)}"
    return f"No data: {MISSING_EN.get(sc.missing, sc.missing)}"


def _lines_words(lines: Sequence[str], businesses: Sequence[str], d: Dictionary, lang: str) -> str:
    if businesses:
        names = {b.code: (b.name if lang == "zh" else b.name_en or b.name) for b in d.businesses}
        return ("、" if lang == "zh" else ", ").join(names.get(b, b) for b in businesses)
    if not lines:
        return "全部" if lang == "zh" else "all"
    names = dict(d.lines) if lang == "zh" else LINE_EN
    return ("、" if lang == "zh" else ", ").join(names.get(x, x) for x in lines)


def _events_words(codes: Sequence[str], types: Mapping[str, Any], lang: str) -> str:
    def name(code: str) -> str:
        t = types.get(code)
        return code if t is None else (t.name if lang == "zh" else t.name_en or t.name)
    return ("、" if lang == "zh" else ", ").join(name(x) for x in codes)


_LITERAL = re.compile(r"'([^'\\]*)'")
_LIST = re.compile(r" in \[([^\]]*)\]")
_LOGIC_ZH = ((" and ", "，且"), (" or ", "，或"), ("not ", "非"), (" in [", "属于 ["), (" == ", "为"), (" != ", "不为"))


def condition_words(expr: Any, event_types: Sequence[str], d: Dictionary, lang: str) -> str:
    """An event filter as people read it: fields by their dictionary labels, choices by theirs
    (``“评查层级” == 省院 且 “评查结论” == 优质``), from the engine's ``to_labeled_text``."""
    labels: dict[str, str] = {}
    choices: dict[str, str] = {}
    for code in event_types:
        t = d.event_types.get(code)
        for f in (t.fields.values() if t is not None else ()):
            labels.setdefault(f.name, f.label if lang == "zh" else f.label_en or f.label)
            if f.choices and lang == "zh":
                for k, v in f.choices.items():
                    choices.setdefault(str(k), str(v))
    text = to_labeled_text(expr, labels)
    if lang != "zh":
        return text
    text = _LITERAL.sub(lambda m: choices.get(m.group(1), m.group(0)), text)
    text = _LIST.sub(lambda m: "为" + "或".join(x.strip() for x in m.group(1).split(",")), text)
    for a, b in _LOGIC_ZH:
        text = text.replace(a, b)
    return text


def _pattern_words(a: Adjustment, c: CompiledScheme, d: Dictionary, lang: str) -> str:
    if a.pattern is None:
        return ""
    zh = lang == "zh"
    types = d.event_types
    compiled = next((ca.pattern for ca in c.adjustments if ca.adjustment.code == a.code), ())
    wheres = {cs.name: cs.where.expr for cs in compiled if cs.where is not None}
    steps = []
    for st in a.pattern.require:
        ev = _events_words(st.events, types, lang)
        words = condition_words(wheres[st.name], st.events, d, lang) if st.name in wheres else ""
        cond = (f"（{words}）" if zh else f" ({words})") if words else ""
        if st.sum:
            labels = {f.name: (f.label if zh else f.label_en or f.label)
                      for x in st.events if x in types for f in types[x].fields.values()}
            field_name = labels.get(st.sum, st.sum)
            steps.append(f"{ev}{cond}的“{field_name}”合计 ≥ {fmt(st.at_least)}" if zh
                         else f"{ev}{cond}: {field_name} adding up to ≥ {fmt(st.at_least)}")
        else:
            steps.append(f"{ev}{cond} ≥ {fmt(st.at_least)} 次" if zh else f"{ev}{cond} ≥ {fmt(st.at_least)}")
    return ("同一案件：" + "，且".join(steps)) if zh else ("In one case: " + "; and ".join(steps))


def _adjustment_points(a: Adjustment, lang: str) -> str:
    pts = f"+{fmt(a.points)}" if a.points > 0 else fmt(a.points).replace("-", "−")
    if lang == "zh":
        return f"每{'案' if a.per_case or a.pattern else '件'} {pts} 分"
    return f"{pts} points per {'case' if a.per_case or a.pattern else 'event'}"


def _dim_name(s: Scheme, code: str | None) -> str:
    if code is None:
        return ""
    dm = s.dimensions.get(code)
    return dm.name if dm is not None else code


def _veto_words(s: Scheme, vt: Veto, lang: str) -> list[str]:
    out = []
    for e in vt.effects:
        if e.effect == "zero_dimension":
            name = _dim_name(s, e.dimension)
            out.append(f"{name}维度计零分" if lang == "zh" else f"{name}: zero")
        elif e.effect == "cap_grade":
            out.append(f"等次最高为{e.grade}" if lang == "zh" else f"grade at best {e.grade}")
        elif e.effect == "bar_grade":
            out.append(f"不得评为{e.grade}" if lang == "zh" else f"never {e.grade}")
    return out


def _combination_words(s: Scheme, lang: str) -> str:
    cb = s.combination
    zh = lang == "zh"
    if cb.method == "weighted":
        text = (f"总分 = 基础分 {fmt(cb.base)} 分 + {fmt(cb.span)} 分 × Σ（维度权重占比 × 维度得分率）+ 加减分" if zh
                else f"total = base {fmt(cb.base)} + {fmt(cb.span)} × Σ (dimension weight share × dimension attainment) "
                     "+ bonus and penalty items")
    elif cb.base:
        text = (f"总分 = 基础分 {fmt(cb.base)} 分 + 各指标得分 + 加减分" if zh
                else f"total = base {fmt(cb.base)} + indicator points + bonus and penalty items")
    else:
        text = "总分 = 各指标得分之和 + 加减分" if zh else "total = the sum of indicator points + bonus and penalty items"
    limits = []
    if cb.cap is not None:
        limits.append(f"封顶 {fmt(cb.cap)} 分" if zh else f"cap {fmt(cb.cap)}")
    if cb.floor is not None:
        limits.append(f"保底 {fmt(cb.floor)} 分" if zh else f"floor {fmt(cb.floor)}")
    if limits:
        text += ("；总分" + "，".join(limits)) if zh else "; the total: " + ", ".join(limits)
    return text


def _participants_words(s: Scheme, lang: str) -> list[str]:
    pt, zh = s.participants, lang == "zh"
    out: list[str] = []
    levels = ("、" if zh else ", ").join(_w(LEVEL_WORDS, lang, x) for x in pt.levels)
    if s.subject == "procuratorate":  # quota statuses and office dates are a prosecutor's
        out.append((f"{levels}参加考评" if zh else f"Evaluated: {levels} procuratorates") if pt.levels
                   else ("各级检察院参加考评" if zh else "Evaluated: procuratorates of every level"))
        return out
    who = ("、" if zh else ", ").join(_w(QUOTA_WORDS, lang, q) for q in pt.quota_statuses)
    out.append(f"{who}参加考评" if zh else f"Evaluated: {who}")
    if pt.levels:
        out.append(f"限于{levels}的检察官" if zh else f"only in {levels} procuratorates")
    share = fmt(pt.min_office_share, "%")
    out.append(f"本期间在任不足 {share} 的计分，但不参加等次评定" if zh
               else f"In office for less than {share} of the period: scored, not graded")
    if pt.no_activity == "not_graded":
        out.append("本期间没有任何办案数据的，不参加等次评定" if zh else "No case data in the period: not graded")
    return out


def _peers_words(s: Scheme, c: CompiledScheme, lang: str) -> list[str]:
    zh = lang == "zh"
    who = "人" if s.subject == "prosecutor" else "个院"
    out = [f"组内比较在{_w(PEER_GROUP_WORDS, lang, s.peer_group)}范围内进行；同组不足 {s.peer_min_size} {who}，不作比较" if zh
           else f"Peers: {_w(PEER_GROUP_WORDS, lang, s.peer_group)}; a group of fewer than {s.peer_min_size} is not compared"]
    pc = s.peers
    if pc is None:
        return out
    names = {ci.indicator.code: ci.indicator.name for ci in c.indicators}
    if pc.indicators:
        listed = ("、" if zh else ", ").join(names.get(x, x) for x in pc.indicators)
        out.append(f"与{_w(PEER_GROUP_WORDS, lang, pc.group)}平均值比较的指标：{listed}" if zh
                   else f"Compared with the average of {_w(PEER_GROUP_WORDS, lang, pc.group)}: {listed}")
    out.append(f"与平均值相差 {fmt(pc.band, '%')} 以内为中游，优于为上游，差于为下游" if zh
               else f"within {fmt(pc.band, '%')} of the average: midstream; better: upstream; worse: downstream")
    if pc.bottom_k:
        groups = ("、" if zh else ", ").join(_w(LEVEL_WORDS, lang, g) for g in pc.bottom_k_groups) or (
            "各组" if zh else "every group")
        out.append(f"{groups}总分排名后 {pc.bottom_k} 位书面说明" if zh
                   else f"{groups}: the bottom {pc.bottom_k} explain in writing")
    if pc.bottom_share:
        groups = ("、" if zh else ", ").join(_w(LEVEL_WORDS, lang, g) for g in pc.bottom_share_groups) or (
            "各组" if zh else "every group")
        out.append(f"{groups}总分排名后 {fmt(pc.bottom_share, '%')}（{_w(ROUNDING_WORDS, lang, pc.bottom_share_rounding)}）"
                   "书面说明" if zh else
                   f"{groups}: the bottom {fmt(pc.bottom_share, '%')} explain in writing")
    if pc.streak:
        out.append(f"连续 {pc.streak} 个月差于平均值的点名通报" if zh
                   else f"worse than the average {pc.streak} months running: named")
    return out
