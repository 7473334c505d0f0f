"""Editing a draft without YAML (issue 12, pages 3–4): localize a published version with one action, then
change it through forms — every change of a localization becomes an override with its reason (修改理由).

Every write goes through :mod:`rulesvc.services.governance.versions` (``localize``, ``create_draft``,
``set_overrides``, ``update_draft``): the API's service, with its permission checks, its audit records, its
``lock_version`` guard against stale saves and its errors. This module only turns what a form says into an
override and merges it into the draft's list:

- an override replaces the one that touched the same place;
- a change inside a part another override already sets (or adds) is written into that override's value
  (overrides may not nest: see :mod:`rulesvc.engine.localize`);
- an override inside the part a new one sets is dropped (the new one carries the whole part);
- setting a value back to the parent's removes the override: the part is inherited again.

A template's draft takes the same changes applied to its document (no reason needed: a template is not a
localization). Nothing here evaluates what was typed: formulas and conditions are parsed by the engine's own
expression language.
"""

from __future__ import annotations

import copy
import threading
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import Session

from rulesvc.catalogue import Words, msg
from rulesvc.engine import expr as X
from rulesvc.engine import localize as loc
from rulesvc.engine.compile import SUBJECT_LABELS, subject_scope
from rulesvc.engine.dictionary import Dictionary
from rulesvc.engine.docdiff import MISSING, same_data
from rulesvc.engine.errors import DefinitionError
from rulesvc.engine.expr.lexer import tokenize
from rulesvc.engine.lint import lint
from rulesvc.engine.model import Indicator, ScoringRule
from rulesvc.engine.texts import visible
from rulesvc.errors import Conflict, InvalidInput
from rulesvc.persistence import lifecycle
from rulesvc.persistence.models import Procuratorate, SchemeVersion
from rulesvc.schema import limits
from rulesvc.schema.scheme import DocumentError, content_hash, load_scheme
from rulesvc.services import designer_words as W
from rulesvc.services.governance import versions
from rulesvc.services.governance.access import Actor, require

MAX_TIERS = 12


def one_language(text: str, lang: str) -> str:
    """The engine's messages read "中文 (English)": the half in ``lang`` (the whole text when not of that form)."""
    text = str(text).strip()
    if not text.endswith(")"):
        return text
    depth = 0
    for i in range(len(text) - 1, -1, -1):
        depth += {")": 1, "(": -1}.get(text[i], 0)
        if depth == 0:
            zh, en = text[:i].rstrip(), text[i + 1:-1].strip()
            if not zh or not any("\u4e00" <= c <= "\u9fff" for c in zh):
                return text
            return en if lang == "en" and en else zh
    return text


# -- localize -----------------------------------------------------------------------------------------------


def localization_code(parent_code: str, org_code: str) -> str:
    """``SFS-PROSECUTOR-TEMPLATE`` localized by 910102 → ``SFS-PROSECUTOR-910102``."""
    base = parent_code[:-len("-TEMPLATE")] if parent_code.upper().endswith("-TEMPLATE") else parent_code
    return f"{base}-{org_code}"[:64]


def start_localization(session: Session, actor: Actor, code: str, number: int, *,
                       procuratorate_id: int | None) -> SchemeVersion:
    """One action: the localization draft of version ``number`` of ``code`` for the actor's procuratorate.

    When that procuratorate already localizes this scheme, its newest draft is returned (or a new draft of its
    newest version): one localization per procuratorate and parent scheme, never a second scheme. The person's
    own procuratorate is ``procuratorate_id``; ``versions.localize`` checks they may edit there."""
    parent = versions.scheme_version(session, actor, code, number)
    org = session.get(Procuratorate, procuratorate_id) if procuratorate_id is not None else None
    if org is None:
        raise InvalidInput(msg("version.scheme_invalid"), errors={"procuratorate": [msg("field.required")]})
    require(actor, "edit", org.id, what=Words(f"检察院 {org.code}", f"Procuratorate {org.code}"))
    for s in versions.list_schemes(session, actor, procuratorate=org.code):
        if any(v.parent is not None and v.parent.scheme_id == parent.scheme_id for v in s.versions):
            drafts = [v for v in s.versions if lifecycle.is_editable(v.status)]
            if drafts:
                return drafts[-1]
            return versions.create_draft(session, actor, s.code, change_note="")
    subject = "检察官" if parent.scheme.subject_kind == "prosecutor" else "检察院"
    return versions.localize(session, actor, parent_version_id=parent.id, procuratorate=org.code,
                             code=localization_code(parent.scheme.code, org.code),
                             name=f"{org.name}{subject}业绩考评方案（本地化）", change_note="")


def start_revision(session: Session, actor: Actor, code: str, number: int) -> SchemeVersion:
    """修订: the scheme's draft to change version ``number`` — its newest draft when it has one (never two
    drafts side by side), else a new draft copied from that version."""
    v = versions.scheme_version(session, actor, code, number)
    drafts = [x for x in v.scheme.versions if lifecycle.is_editable(x.status)]
    if drafts:
        require(actor, "edit", v.scheme.procuratorate_id, what=Words(f"方案 {code}", f"Scheme {code}"))
        return drafts[-1]
    return versions.create_draft(session, actor, code, from_version=number, change_note="")


# -- what the editor shows -----------------------------------------------------------------------------------


@dataclass
class Finding:
    level: str  # error | warning
    path: str
    message: str


@dataclass
class EditorState:
    version: SchemeVersion
    document: dict[str, Any]  # resolved
    parent_document: dict[str, Any]  # {} for a template
    localization: bool
    editable: bool
    findings: dict[str, list[Finding]] = field(default_factory=dict)  # part → errors and warnings
    problems: dict[str, list[str]] = field(default_factory=dict)  # a draft that does not load at all
    overrides: list[dict[str, Any]] = field(default_factory=list)

    def part(self, key: str) -> list[Finding]:
        return self.findings.get(key, [])

    def parts_under(self, root: str) -> list[Finding]:
        return [f for k, fs in self.findings.items() if k == root or k.startswith(root + ".") for f in fs]

    @property
    def errors(self) -> int:
        return sum(1 for fs in self.findings.values() for f in fs if f.level == "error")

    @property
    def warnings(self) -> int:
        return sum(1 for fs in self.findings.values() for f in fs if f.level == "warning")


def part_of(path: str) -> str:
    """The part a lint path concerns: ``indicators.X.scoring.tiers[0].min`` → ``indicators.X``."""
    try:
        tokens = loc.parse_path(path)
    except ValueError:
        return "(document)"
    return loc.format_path(tokens[:2]) if tokens[0] in loc.COLLECTIONS and len(tokens) > 1 else str(tokens[0])


def editor_state(session: Session, actor: Actor, code: str, number: int, dictionary: Dictionary, *,
                 lang: str = "zh") -> EditorState:
    """A draft as the editor shows it: the resolved document, the parent's, the overrides and every lint error and
    warning by the part it concerns (NotFound when the actor may not see it, as the API answers)."""
    v = versions.scheme_version(session, actor, code, number)
    localization = v.parent_id is not None
    editable = lifecycle.is_editable(v.status) and actor.may("edit") and actor.in_scope(v.scheme.procuratorate_id)
    parent_doc = versions.resolve(v.parent) if v.parent is not None else {}
    try:
        resolved = versions.resolve(v)
    except InvalidInput as exc:
        state = EditorState(v, {}, parent_doc, localization, editable)
        rendered = exc.rendered_errors(lang)
        state.problems = {str(k): [one_language(str(m), lang) for m in (ms if isinstance(ms, list) else [ms])]
                          for k, ms in (rendered.items() if isinstance(rendered, Mapping) else [])}
        state.overrides = _override_rows(v, resolved={}, parent=parent_doc, lang=lang)
        return state
    state = EditorState(v, resolved, parent_doc, localization, editable)
    state.findings = findings_of(resolved, dictionary, lang)
    state.overrides = _override_rows(v, resolved=resolved, parent=parent_doc, lang=lang)
    return state


_FINDINGS: OrderedDict[tuple[str, str, str], dict[str, list[Finding]]] = OrderedDict()
_FINDINGS_LOCK = threading.Lock()
FINDINGS_CACHED = 64  # documents; a draft's editor asks on every page and every save


def findings_of(doc: Mapping[str, Any], dictionary: Dictionary, lang: str) -> dict[str, list[Finding]]:
    """Errors and warnings of a resolved document by part (infos are left to ``rulesvc lint``) — by content
    hash, so the editor's pages do not compile and lint the same document again."""
    key = (content_hash(doc), dictionary.content_hash, lang)
    with _FINDINGS_LOCK:
        found = _FINDINGS.get(key)
        if found is not None:
            _FINDINGS.move_to_end(key)
            return found
    found = _findings(doc, dictionary, lang)
    with _FINDINGS_LOCK:
        _FINDINGS[key] = found
        while len(_FINDINGS) > FINDINGS_CACHED:
            _FINDINGS.popitem(last=False)
    return found


def _findings(doc: Mapping[str, Any], dictionary: Dictionary, lang: str) -> dict[str, list[Finding]]:
    out: dict[str, list[Finding]] = {}
    try:
        found = [(f.level, f.path, f.message) for f in lint(load_scheme(doc), dictionary) if f.level != "info"]
    except DocumentError as exc:
        found = [("error", p, str(m)) for p, ms in exc.problems.items() for m in ms]
    for level, path, message in found:
        out.setdefault(part_of(path), []).append(Finding(level, path, one_language(message, lang)))
    return out


def _override_rows(v: SchemeVersion, *, resolved: Mapping[str, Any], parent: Mapping[str, Any],
                   lang: str) -> list[dict[str, Any]]:
    rows = []
    for i, o in enumerate((v.document or {}).get("overrides") or []):
        path = str(o.get("path", ""))
        rows.append({"index": i, "kind": kind_words(o, lang), "path": path,
                     "label": part_label(path, resolved, parent, lang), "reason": o.get("reason", ""),
                     "op": o.get("op"), "change": change_words(o, parent, lang)})
    return rows


_MISSING = object()
# The last key of a changed path, in the pages' words (what of the part changed)
KEY_WORDS = {"zh": {"weight": "权重", "points": "分值", "cap": "封顶", "formula": "公式", "min": "分数线",
                    "quota": "名额", "quota_rounding": "名额取整", "tiers": "档位", "threshold": "达标线",
                    "worst": "最低分对应值", "best": "满分对应值", "missing": "无数据时", "method": "计分方法",
                    "name": "名称", "description": "说明", "where": "筛选条件", "dimension": "所属维度",
                    "adjustment_cap": "加减分封顶", "per_case": "按案件计", "direction": "方向",
                    "lines": "适用业务条线"},
             "en": {}}


# A form's field, named as the form labels it (the impact panel lists a refused form's messages away from the
# fields: "必填 / 必填" named none — a designer's first day).
FIELD_WORDS = {
    "zh": {**KEY_WORDS["zh"], "code": "代码", "dim_code": "维度代码", "dim_name": "维度名称", "dim_weight": "维度权重",
           "event": "事件类型", "effect": "后果", "grade": "等次", "reason": "修改理由", "veto_dimension": "所涉维度",
           "peer_group": "比较组", "ind_peer_group": "比较组", "peer_min_size": "比较组最少人数", "base": "基础分",
           "span": "分差", "floor": "总分下限"},
    "en": {"weight": "Weight", "points": "Points", "cap": "Cap", "formula": "Formula", "min": "Lowest total",
           "quota": "Quota", "tiers": "Tiers", "threshold": "Threshold", "worst": "Worst", "best": "Best",
           "missing": "When there is no data", "method": "Method", "name": "Name", "description": "Description",
           "where": "Condition", "dimension": "Dimension", "code": "Code", "dim_code": "Dimension code",
           "dim_name": "Dimension name", "dim_weight": "Dimension weight", "event": "Event type", "effect": "Effect",
           "grade": "Grade", "reason": "Reason for the change", "lines": "Lines of work"},
}


def field_words(key: str, lang: str) -> str:
    """``quota.0`` → 名额, ``formula`` → 公式: the field's name as its form shows it ("" for one it does not know)."""
    words = FIELD_WORDS.get(lang, FIELD_WORDS["zh"])
    return words.get(key) or words.get(key.split(".", 1)[0]) or ""


def change_words(override: Mapping[str, Any], parent: Mapping[str, Any], lang: str) -> str:
    """A changed value as "before → after" (the version above's, then this draft's), for a single value: a
    quota as a percentage; "" for a whole part (a rule, an entry) — its form shows it."""
    if override.get("op") != "set":
        return ""
    try:
        tokens = loc.parse_path(override.get("path"))
    except ValueError:
        return ""
    new, old = override.get("value"), loc.value_at(parent, tokens, _MISSING)
    if tokens[-1] == "lines" and all(isinstance(x, list | type(_MISSING) | type(None)) for x in (new, old)):
        def lines(x: Any) -> str:
            if not isinstance(x, list) or not x:
                return "全部条线" if lang == "zh" else "every line"
            names = W.LINE_ZH if lang == "zh" else W.LINE_EN
            order = list(W.LINE_ZH)  # 刑事、民事、行政、公益诉讼
            ordered = sorted((str(c) for c in x), key=lambda c: (order.index(c) if c in order else len(order), c))
            return ("、" if lang == "zh" else ", ").join(names.get(c, c) for c in ordered)
        return f"{lines(old)} → {lines(new)}"
    if (len(tokens) >= 3 and tokens[0] == "indicators" and tokens[2] == "scoring"
            and (isinstance(new, Mapping | list) or isinstance(old, Mapping | list))):
        # a whole rule, or its tiers: the rule before and after, as its page says it
        indicator = loc.value_at(parent, tokens[:2], {})
        rule_before = loc.value_at(parent, tokens[:3], None)
        rule_after: Any = new
        if len(tokens) > 3:
            rule_after = copy.deepcopy(dict(rule_before)) if isinstance(rule_before, Mapping) else {}
            place: Any = rule_after
            try:
                for t in tokens[3:-1]:
                    place = place[t]
                place[tokens[-1]] = copy.deepcopy(new)
            except (IndexError, KeyError, TypeError):  # a path the checks will refuse: its form says why
                return ""
        return _scoring_change(indicator, rule_before, rule_after, lang)
    if isinstance(new, Mapping | list) or isinstance(old, Mapping | list):
        return ""
    pct = tokens[-1] == "quota"

    def shown(x: Any) -> str:
        if x is _MISSING or x is None:
            return "—" if lang == "en" else "无"
        if isinstance(x, bool):
            return ("是" if x else "否") if lang == "zh" else ("yes" if x else "no")
        if isinstance(x, int | float):
            return f"{x * 100:g}%" if pct else f"{x:g}"
        return str(x)
    return f"{shown(old)} → {shown(new)}"


def _scoring_change(indicator: Any, old: Any, new: Any, lang: str) -> str:
    """A whole scoring rule replaced, in the words of the rule's page: "≥ 95% → 10 分；其余 0 分 → ≥ 90% → 10 分；…"
    — a tier taken away (its row left blank) shows as one clause fewer (an audit: the list said nothing)."""
    ind = indicator if isinstance(indicator, Mapping) else {}

    def said(rule: Any) -> str:
        if not isinstance(rule, Mapping) or not rule.get("method"):
            return "无" if lang == "zh" else "none"
        params = {k: v for k, v in rule.items() if k not in ("method", "missing")}
        words = W.rule_words(Indicator(code="", name="", formula="", dimension=None,
                                       direction=str(ind.get("direction") or "higher_better"),
                                       scoring=ScoringRule(str(rule["method"]), params), unit=str(ind.get("unit") or "")),
                             lang)
        return f"【{words}】" if lang == "zh" else f"[{words}]"
    try:
        before, after = said(old), said(new)
    except (TypeError, ValueError, KeyError):  # a rule the checks will refuse: its form says what is wrong
        return ""
    return "" if before == after else f"{before} → {after}"


def kind_words(override: Mapping[str, Any], lang: str) -> str:
    """What an override does, in the pages' words (the engine says 度量 where the pages say 数据项)."""
    zh, en = loc.kind_of(override)
    return zh.replace("本地度量", "数据项").replace("度量", "数据项") if lang == "zh" else en.replace("metric", "count")


def part_label(path: str, resolved: Mapping[str, Any], parent: Mapping[str, Any], lang: str = "zh") -> str:
    """``indicators.PLEA_APPLY_RATE.scoring.tiers`` → the indicator's name (the path's entry) and, for one of its
    keys, which (市级个人荣誉 · 分值); ``grading.bands[0].quota`` → 优秀 · 名额 — for people, never the path."""
    try:
        tokens = loc.parse_path(path)
    except ValueError:
        return path
    words = KEY_WORDS.get(lang, {})
    key = words.get(str(tokens[-1]), "") if len(tokens) > 2 else ""
    if len(tokens) >= 2 and tokens[0] in loc.COLLECTIONS:
        for doc in (resolved, parent):
            entry = (doc.get(str(tokens[0])) or {}).get(str(tokens[1]))
            if isinstance(entry, Mapping) and entry.get("name"):
                return f"{entry['name']} · {key}" if key and len(tokens) == 3 else str(entry["name"])
    if tokens[:2] == ("grading", "bands") and len(tokens) >= 3 and isinstance(tokens[2], int):
        for doc in (resolved, parent):
            band = loc.value_at(doc, tokens[:3])
            if isinstance(band, Mapping) and band.get("grade"):
                return f"{band['grade']} · {key}" if key else str(band["grade"])
    return path


# -- changes --------------------------------------------------------------------------------------------------


def _touched(ov: Mapping[str, Any]) -> tuple[Any, ...]:
    tokens = loc.parse_path(ov["path"])
    return (*tokens, "scored") if ov["op"] == "disable" else tokens


def _set_in(value: Any, rel: Sequence[Any], new: Any) -> Any:
    out = copy.deepcopy(value)
    node = out
    for t in rel[:-1]:
        node = node[t]
    node[rel[-1]] = new
    return out


def merge(overrides: Sequence[Mapping[str, Any]], new: Mapping[str, Any],
          parent_doc: Mapping[str, Any]) -> list[dict[str, Any]]:
    """``overrides`` with ``new`` merged in (see the module's docstring)."""
    out = [dict(o) for o in overrides]
    tokens = _touched(new)
    for i, o in enumerate(out):
        outer = _touched(o)
        if len(outer) < len(tokens) and tokens[:len(outer)] == outer and o["op"] in ("set", "add") \
                and new["op"] == "set":
            out[i] = {**o, "value": _set_in(o["value"], tokens[len(outer):], new["value"]),
                      "reason": new["reason"] if o["op"] == "set" else o["reason"]}
            return out
    out = [o for o in out if _touched(o)[:len(tokens)] != tokens]
    if new["op"] == "remove" and loc._get(parent_doc, tokens) is MISSING:
        return out  # a local entry taken out: its "add" is gone, nothing to remove from the parent
    inherited = loc._get(parent_doc, tokens)
    if inherited is MISSING and tokens[-1] == "scored" and loc._get(parent_doc, tokens[:-1]) is not MISSING:
        inherited = True  # an indicator is scored unless it says otherwise
    if new["op"] == "set" and same_data(inherited, new["value"]):
        return out  # back to the parent's value: inherited again
    if new["op"] == "set" and tokens[-1] == "scored" and new["value"] is False and len(tokens) == 3 \
            and loc._get(parent_doc, tokens[:2]) is not MISSING:
        new = {"op": "disable", "path": loc.format_path(tokens[:2]), "reason": new["reason"]}
    out.append(dict(new))
    return out


def apply_changes(session: Session, actor: Actor, version_id: int, *, lock_version: int,
                  changes: Sequence[Mapping[str, Any]], reason: str, dictionary: Dictionary,
                  lang: str = "zh") -> SchemeVersion:
    """Make ``changes`` (``{"op", "path", "value"}``) to a draft in one save. A localization needs ``reason``
    (field error ``reason`` otherwise, nothing saved); each change becomes an override carrying it. A change
    that would give the draft a new lint error is refused with that error (the caller rolls back): warnings
    are saved and shown beside their part."""
    v = versions.get_version(session, actor, version_id)
    require(actor, "edit", v.scheme.procuratorate_id, what=Words(f"方案 {v.scheme.code}", f"Scheme {v.scheme.code}"))  # before any field message
    before = error_keys(v, dictionary, lang)
    saved = _apply(session, actor, v, lock_version=lock_version, changes=changes, reason=reason)
    refuse_new_errors(saved, before, dictionary, lang)
    return saved


def set_description(session: Session, actor: Actor, version_id: int, *, lock_version: int, text: str) -> SchemeVersion:
    """A draft's 方案说明 (its document's own ``description``, for a template and a localization alike)."""
    v = versions.get_version(session, actor, version_id)
    require(actor, "edit", v.scheme.procuratorate_id, what=Words(f"方案 {v.scheme.code}", f"Scheme {v.scheme.code}"))
    text = text.replace("\r\n", "\n").strip()
    if len(text) > limits.MAX_TEXT_CHARS:
        raise InvalidInput(msg("request.invalid"), errors={"description": [msg("field.too_long", limit=limits.MAX_TEXT_CHARS)]})
    return versions.update_draft(session, actor, v.id, lock_version=lock_version,
                                 document={**(v.document or {}), "description": text})


def refuse_new_errors(saved: SchemeVersion, before: set[tuple[str, str]], dictionary: Dictionary, lang: str) -> None:
    """InvalidInput with every lint error of ``saved`` that was not there ``before`` (the caller rolls back)."""
    after = findings_of(versions.resolve(saved), dictionary, lang)
    new = {f.path: [f.message] for fs in after.values() for f in fs
           if f.level == "error" and (f.path, f.message) not in before}
    if new:
        raise InvalidInput(msg("version.checks_failed"), errors=new)


def error_keys(v: SchemeVersion, dictionary: Dictionary, lang: str) -> set[tuple[str, str]]:
    try:
        found = findings_of(versions.resolve(v), dictionary, lang)
    except InvalidInput:
        return set()
    return {(f.path, f.message) for fs in found.values() for f in fs if f.level == "error"}


def _apply(session: Session, actor: Actor, v: SchemeVersion, *, lock_version: int,
           changes: Sequence[Mapping[str, Any]], reason: str) -> SchemeVersion:
    if v.parent_id is not None and not visible(reason):
        raise InvalidInput(msg("version.overrides_invalid"), errors={"reason": [msg("edit.reason_required")]})
    template = v.parent_id is None  # a template keeps why in its audit record (the diff's 修改理由 reads it)
    return versions.update_draft(session, actor, v.id, lock_version=lock_version,
                                 document=_changed(v, changes, reason), edit_reason=reason if template else "",
                                 edited_paths=[str(c.get("path", "")) for c in changes] if template else ())


def _changed(v: SchemeVersion, changes: Sequence[Mapping[str, Any]], reason: str) -> dict[str, Any]:
    """The draft's own document with ``changes`` made: a localization's overrides merged (each carrying
    ``reason``), a template's document changed in place."""
    reason = visible(reason)
    if v.parent_id is not None:
        parent_doc = versions.resolve(v.parent) if v.parent is not None else {}
        overrides = list((v.document or {}).get("overrides") or [])
        for c in changes:
            overrides = merge(overrides, {**c, "reason": reason}, parent_doc)
        return {**(v.document or {}), "overrides": overrides}
    doc = copy.deepcopy(dict(v.document or {}))
    try:
        for c in changes:
            if c["op"] == "disable":
                c = {"op": "set", "path": c["path"] + ".scored", "value": False}
            doc = loc.resolve(doc, [{**c, "reason": reason or "-"}], {k: doc.get(k) for k in loc.IDENTITY_KEYS
                                                                      if k in doc})
    except loc.LocalizationError as exc:
        raise InvalidInput(msg("version.document_invalid"),
                           errors={p.get("path") or "document": [p["message"]] for p in exc.problems}) from None
    return doc


UNSAVED_REASON = "（未保存的修改）"


def unsaved_document(session: Session, actor: Actor, version_id: int, *,
                     changes: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """The draft's own document as a save of ``changes`` would leave it — nothing is saved, no record is
    written. The live impact (:func:`rulesvc.services.impact.impact`) scores it. Only for those who may save
    the draft (as :func:`apply_changes`); a localization's changes carry a stand-in reason (the save asks for
    the real one)."""
    v = versions.get_version(session, actor, version_id)
    require(actor, "edit", v.scheme.procuratorate_id, what=Words(f"方案 {v.scheme.code}", f"Scheme {v.scheme.code}"))
    return _changed(v, changes, UNSAVED_REASON)


def revert(session: Session, actor: Actor, version_id: int, *, lock_version: int, index: int,
           dictionary: Dictionary, lang: str = "zh") -> SchemeVersion:
    """Take back one override of a localization draft: that part is inherited again — unless that breaks
    another local change (a count still used by a local indicator): then the new error says so."""
    v = versions.get_version(session, actor, version_id)
    require(actor, "edit", v.scheme.procuratorate_id, what=Words(f"方案 {v.scheme.code}", f"Scheme {v.scheme.code}"))
    overrides = list((v.document or {}).get("overrides") or [])
    if not 0 <= index < len(overrides):
        raise Conflict(msg("version.concurrent"), errors={"lock_version": [msg("version.concurrent")]})
    overrides.pop(index)
    before = error_keys(v, dictionary, lang)
    saved = versions.set_overrides(session, actor, version_id, lock_version=lock_version, overrides=overrides)
    refuse_new_errors(saved, before, dictionary, lang)
    return saved


# -- formulas -------------------------------------------------------------------------------------------------


def check_formula(doc: Mapping[str, Any], dictionary: Dictionary, formula: str, *, code: str | None,
                  lang: str) -> dict[str, Any]:
    """The formula language's own verdict on an indicator formula over the scheme's metrics and other indicators:
    ``{"ok": True, "labeled"}`` (the formula with the Chinese names) when it is valid, else ``{"message",
    "position", "suggestion", "source"}``."""
    if not formula.strip():
        return {"message": "请填写计算公式" if lang == "zh" else "Enter a formula", "position": 0, "suggestion": None,
                "source": formula}
    formula = with_codes(doc, formula, code=code)
    scope = {**subject_scope(dictionary, str(doc.get("subject") or "prosecutor")),
             **{c: X.NUMBER for c in (doc.get("metrics") or {})},
             **{c: X.NUMBER for c in (doc.get("indicators") or {}) if c != code}}
    try:
        tree = X.parse_typed(formula, scope, path="formula", want="number")
    except X.ExpressionError as exc:
        return {"message": exc.en if lang == "en" else exc.zh, "position": exc.position or 0,
                "suggestion": exc.suggestion, "source": formula, "caret": exc.caret() if "\n" not in formula else ""}
    except DefinitionError as exc:
        return {"message": one_language(str(exc), lang), "position": getattr(exc, "position", 0) or 0,
                "suggestion": None, "source": formula}
    labels = {**SUBJECT_LABELS, **{c: str(m.get("name") or c) for c, m in (doc.get("metrics") or {}).items()},
              **{c: str(i.get("name") or c) for c, i in (doc.get("indicators") or {}).items()}}
    return {"ok": True, "labeled": X.to_labeled_text(tree, labels), "formula": formula}


def with_codes(doc: Mapping[str, Any], formula: str, *, code: str | None) -> str:
    """The formula with every metric or indicator written by its name — as the pages show them, ``附条件不起诉人数``
    or in Chinese quotes ``“附条件不起诉人数”`` — written by its code, which is what a formula reads: a designer
    types (or pastes) what they see. A name two entries share, one that is also a code, and text that does not
    tokenize are left as they are (the check then says what is wrong)."""
    names: dict[str, str | None] = {}
    for section in ("metrics", "indicators"):
        for c, entry in (doc.get(section) or {}).items():
            name = str((entry or {}).get("name") or "").strip()
            if name and c != code:
                names[name] = None if name in names and names[name] != c else c
    codes = {*(doc.get("metrics") or {}), *(doc.get("indicators") or {})}
    try:
        tokens = tokenize(formula)
    except X.ExpressionError:
        return formula
    out, pos = [], 0
    for t in tokens:
        quoted = t.kind == "str" and t.raw[:1] in "“‘"
        if (t.kind == "name" or quoted) and t.text not in codes and names.get(str(t.value if quoted else t.text)):
            out += [formula[pos:t.pos], str(names[str(t.value if quoted else t.text)])]
            pos = t.pos + len(t.raw)
    return "".join(out) + formula[pos:]
