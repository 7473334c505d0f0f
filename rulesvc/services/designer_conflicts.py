"""Taking up a newer parent version (跟进上级新版本) and the drift report (偏离情况), in words (issue 12, page 7).

A rebase (``versions.rebase``) leaves a draft with conflicts: local changes whose target the version above changed.
Each is shown with what the version above had, what it has now and the local value — in the version page's words
(a scoring rule as "≥ 92% → 8 分；…", a weight as a number, an indicator switched off as 仅作分析) — and settled
with ``versions.settle``: 保留本地 (keep), 采用上级 (take_upstream) or 修改 (edit: a number, a percentage for a rate,
or the tiers of a scoring rule typed in a table; anything larger is kept first and changed in the editor).

The drift report lists every localization below a template version (``versions.drift_report``) with its local
changes, each with its reason, and which parts of the template are changed most often.
"""

from __future__ import annotations

import copy
from collections import Counter
from collections.abc import Mapping
from types import SimpleNamespace
from typing import Any

from sqlalchemy.orm import Session

from rulesvc.engine import localize as loc
from rulesvc.engine.model import Indicator, ScoringRule
from rulesvc.engine.scoring import fmt
from rulesvc.errors import InvalidInput
from rulesvc.persistence.models import SchemeVersion
from rulesvc.services import designer_words as W
from rulesvc.services import localtime
from rulesvc.services.designer_diff import plain_words
from rulesvc.services.designer_edit import kind_words, part_label
from rulesvc.services.designer_forms import number
from rulesvc.services.governance import versions
from rulesvc.services.governance.access import Actor

NO_VALUE: Any = versions.NO_VALUE
KIND_WORDS = {"zh": {"changed": "上级新版本改动了此项", "gone": "上级新版本已没有此项", "added": "上级新版本已有同名条目",
                     "weights": "上级新版本调整了其他维度的权重：权重合起来是一种分配，请确认本项"},
              "en": {"changed": "the version above changed it", "gone": "the version above no longer has it",
                     "added": "the version above now has an entry of this code",
                     "weights": "the version above changed other dimensions' weights: the weights are one split, "
                                "confirm this one"}}
WORDS = {"zh": {"scored": "计分", "analysis": "仅作分析", "none": "（无）", "removed": "删除",
                "edit_elsewhere": "此项内容较多：请先“保留本地”，再到编辑页修改", "bad_number": "请输入数值",
                "bad_tiers": "每一档须填写门槛和分值", "value": "新值"},
         "en": {"scored": "scored", "analysis": "analysis only", "none": "(none)", "removed": "removed",
                "edit_elsewhere": "Too large to change here: keep the local change, then change it in the editor",
                "bad_number": "Enter a number", "bad_tiers": "Each tier needs a threshold and points", "value": "New value"}}
THRESHOLDS = ("min", "max", "threshold", "worst", "best", "target")


def _entry(doc: Mapping[str, Any], tokens: tuple[Any, ...]) -> Mapping[str, Any]:
    if len(tokens) >= 2 and tokens[0] in loc.COLLECTIONS:
        found = (doc.get(str(tokens[0])) or {}).get(str(tokens[1]))
        return found if isinstance(found, Mapping) else {}
    return {}


def _rule(entry: Mapping[str, Any], scoring: Any, lang: str) -> str:
    """A scoring rule (a mapping) of ``entry``'s indicator in the version page's words."""
    if not isinstance(scoring, Mapping) or "method" not in scoring:
        return plain_words(scoring, lang)
    params = {k: v for k, v in scoring.items() if k not in ("method", "missing")}
    ind = Indicator(code="x", name=str(entry.get("name", "")), formula="x", dimension=None,
                    direction=str(entry.get("direction", "higher_better")), unit=str(entry.get("unit", "")),
                    scoring=ScoringRule(method=str(scoring["method"]), params=params,
                                        missing=str(scoring.get("missing", "zero"))))
    return ("；" if lang == "zh" else "; ").join(W.rule_parts(ind, lang))


def value_words(path: str, value: Any, present: bool, doc: Mapping[str, Any], lang: str) -> str:
    """The value at ``path`` (of a document like ``doc``) as the version page would say it."""
    w = WORDS[lang]
    if not present:
        return w["none"]
    try:
        tokens = loc.parse_path(path)
    except ValueError:
        return plain_words(value, lang)
    entry = _entry(doc, tokens)
    rest = tokens[2:]
    if tokens[0] == "indicators":
        if not rest and isinstance(value, Mapping):  # a whole indicator
            scored = w["scored"] if value.get("scored", True) is not False else w["analysis"]
            return f"{value.get('name', tokens[1])}：{_rule(value, value.get('scoring'), lang)}（{scored}）" if lang == "zh" \
                else f"{value.get('name', tokens[1])}: {_rule(value, value.get('scoring'), lang)} ({scored})"
        if rest == ("scored",):
            return w["scored"] if value is not False else w["analysis"]
        if rest and rest[0] == "scoring":
            scoring = copy.deepcopy(dict(entry.get("scoring") or {}))
            if len(rest) == 1:
                return _rule(entry, value, lang)
            node: Any = scoring
            for t in rest[1:-1]:
                node = loc.value_at(node, (t,))
            if isinstance(node, dict | list):
                try:
                    node[rest[-1]] = value  # type: ignore[index]
                except (IndexError, TypeError):
                    return plain_words(value, lang)
            return _rule(entry, scoring, lang)
    if isinstance(value, int | float) and not isinstance(value, bool):
        if rest and rest[-1] in THRESHOLDS and entry.get("unit") == "%":
            return fmt(float(value), "%")
        if tokens[-1] == "quota":
            return fmt(float(value), "%")
        return fmt(float(value))
    if tokens[0] == "grading" and isinstance(value, list):
        return "；".join(f"{b.get('grade')} ≥ {fmt(float(b.get('min', 0)))}" + (
            f"（{fmt(float(b['quota']), '%')}）" if b.get("quota") is not None else "")
            for b in value if isinstance(b, Mapping))
    if isinstance(value, Mapping) and "name" in value:
        return str(value["name"])
    return plain_words(value, lang)


def edit_kind(path: str, doc: Mapping[str, Any]) -> str:
    """How 修改 takes a new value here: ``number``, ``percent`` (a rate's threshold, a quota), ``tiers``, or ``""``
    (too large for this screen)."""
    try:
        tokens = loc.parse_path(path)
    except ValueError:
        return ""
    entry = _entry(doc, tokens)
    if tokens[0] == "indicators" and tokens[2:] and tokens[-1] == "tiers":
        return "tiers"
    if tokens[-1] in THRESHOLDS and entry.get("unit") == "%":
        return "percent"
    if tokens[-1] == "quota":
        return "percent"
    leaf = loc.value_at(doc, tokens)
    if isinstance(leaf, int | float) and not isinstance(leaf, bool):
        return "number"
    return ""


def conflict_rows(v: SchemeVersion, *, lang: str = "zh") -> list[dict[str, Any]]:
    """The draft's conflicts, each in words with its choices (``keep`` / ``take_upstream`` / ``edit``)."""
    parent_doc = versions.resolve(v.parent) if v.parent is not None else {}
    resolved = versions.resolve_quietly(v) or parent_doc
    rows = []
    for c in v.document.get("conflicts") or []:
        path = str(c.get("path", ""))
        kind = edit_kind(path, parent_doc) if "edit" in (c.get("choices") or []) else ""
        local = c.get("override") or {}
        tiers: list[dict[str, str]] = []
        if kind == "tiers" and isinstance(c.get("local"), list):
            entry = _entry(parent_doc, loc.parse_path(path))
            scale = 100.0 if entry.get("unit") == "%" else 1.0
            key = "max" if entry.get("direction") == "lower_better" else "min"
            tiers = [{"bound": fmt(float(t.get(key, 0)) * scale), "points": fmt(float(t.get("points", 0)))}
                     for t in c["local"] if isinstance(t, Mapping)]
        rows.append({
            "path": path, "label": part_label(path, resolved, parent_doc), "op": c.get("op"),
            "change": kind_words(local, lang), "why": KIND_WORDS[lang].get(str(c.get("kind")), ""),
            "old": value_words(path, c.get("upstream_old"), bool(c.get("in_old")), parent_doc, lang),
            "new": value_words(path, c.get("upstream_new"), bool(c.get("in_new")), parent_doc, lang),
            "local": (WORDS[lang]["analysis"] if c.get("op") == "disable" else WORDS[lang]["removed"]
                      if c.get("op") == "remove" else value_words(path, c.get("local"), True, parent_doc, lang)),
            "reason": local.get("reason", ""), "choices": list(c.get("choices") or []), "edit": kind,
            "edit_default": _default(kind, c.get("local")), "tiers": tiers,
            "sign": "≤" if _entry(parent_doc, loc.parse_path(path)).get("direction") == "lower_better" else "≥",
            "unit": "%" if kind == "tiers" and _entry(parent_doc, loc.parse_path(path)).get("unit") == "%" else "",
            "split": _split_words(v, parent_doc, resolved, lang) if _is_weight(path) else None})
    return rows


def _is_weight(path: str) -> bool:
    """A dimension's weight: its conflict shows the splits (the weights are one split, whichever moved)."""
    try:
        tokens = loc.parse_path(path)
    except ValueError:
        return False
    return len(tokens) == 3 and tokens[0] == "dimensions" and tokens[2] == "weight"


def _split_words(v: SchemeVersion, parent_doc: Mapping[str, Any], resolved: Mapping[str, Any],
                 lang: str) -> dict[str, str]:
    """The weights as splits: the new version above's, and this draft's as it stands (with its total)."""
    sep = "、" if lang == "zh" else ", "

    def split(doc: Mapping[str, Any]) -> str:
        dims = doc.get("dimensions") or {}
        total = sum(float(d.get("weight") or 0) for d in dims.values())
        words = sep.join(f"{d.get('name') or c} {fmt(float(d.get('weight') or 0))}" for c, d in dims.items())
        return f"{words}（合计 {fmt(total)}）" if lang == "zh" else f"{words} (total {fmt(total)})"
    return {"new": split(parent_doc), "draft": split(resolved)}


def _default(kind: str, local: Any) -> str:
    if kind == "number" and isinstance(local, int | float):
        return fmt(float(local))
    if kind == "percent" and isinstance(local, int | float):
        return fmt(float(local) * 100)
    return ""


def value_from_form(v: SchemeVersion, path: str, choice: str, form: Any, *, lang: str = "zh") -> Any:
    """The new value 修改 typed (``NO_VALUE`` for the other choices), or a 422 naming the field."""
    if choice != "edit":
        return NO_VALUE
    w = WORDS[lang]
    parent_doc = versions.resolve(v.parent) if v.parent is not None else {}
    kind = edit_kind(path, parent_doc)
    if kind in ("number", "percent"):
        x = number(form.get("value", ""))
        if x is None:
            raise InvalidInput(w["bad_number"], errors={"value": [w["bad_number"]]})
        return round(x / 100, 10) if kind == "percent" else (int(x) if x == int(x) else x)
    if kind == "tiers":
        entry = _entry(parent_doc, loc.parse_path(path))
        scale = 100.0 if entry.get("unit") == "%" else 1.0
        key = "max" if entry.get("direction") == "lower_better" else "min"
        bounds, points = form.getlist("tier_bound"), form.getlist("tier_points")
        tiers = []
        for b, p in zip(bounds, points, strict=False):
            if not str(b).strip() and not str(p).strip():
                continue
            bx, px = number(b), number(p)
            if bx is None or px is None:
                raise InvalidInput(w["bad_tiers"], errors={"value": [w["bad_tiers"]]})
            tiers.append({key: round(bx / scale, 10), "points": int(px) if px == int(px) else px})
        if not tiers:
            raise InvalidInput(w["bad_tiers"], errors={"value": [w["bad_tiers"]]})
        return tiers
    raise InvalidInput(w["edit_elsewhere"], errors={"choice": [w["edit_elsewhere"]]})


# -- the drift report ----------------------------------------------------------------------------------------


def drift_rows(session: Session, actor: Actor, v: SchemeVersion, *, lang: str = "zh") -> dict[str, Any]:
    """The drift report of ``v`` in words: every localization below it the person may see, its local changes with
    their reasons, and the parts of ``v`` changed most often."""
    report = versions.drift_report(session, actor, v.id)
    doc = versions.resolve(v)
    parts: Counter[str] = Counter()
    rows = []
    for d in report["descendants"]:
        changes = []
        for o in d["overrides"]:
            path = str(o.get("path", ""))
            op = o.get("op")
            value = o.get("value")
            # An entry added locally is not in the template: it is named by its own value.
            label = str(value["name"]) if op == "add" and isinstance(value, Mapping) and value.get("name") \
                else part_label(path, {}, doc)
            now = (WORDS[lang]["analysis"] if op == "disable" else WORDS[lang]["removed"] if op == "remove"
                   else value_words(path, value, True, doc, lang))
            try:
                before = loc.value_at(doc, loc.parse_path(path))
            except ValueError:
                before = None
            was = value_words(path, before, before is not None, doc, lang) if op == "set" else ""
            changes.append({"kind": kind_words(o, lang), "label": label, "was": was, "value": now,
                            "reason": o.get("reason", "")})
            parts[label] += 1
        shown = SimpleNamespace(status=d["status"], effective_from=d.get("effective_from"))
        rows.append({**d, "status_word": W.version_status_word(shown, lang, localtime.today()), "changes": changes})
    return {"rows": rows, "most": parts.most_common(8), "count": len(rows)}


__all__ = ["NO_VALUE", "conflict_rows", "drift_rows", "edit_kind", "value_from_form", "value_words"]
