"""The difference between two versions, in words (issue 12, page 6: 差异 / 版本对比).

The structural diff is the versions service's (:func:`rulesvc.services.governance.versions.diff_versions`, with
its visibility check): it says *which* parts differ. How each part reads comes from the version page's own words
(:func:`rulesvc.services.designer.version_document` of both versions): a part's words under the old and the new
version are set side by side, field by field — the weights first (with their shares and the total), then the
indicators (scoring rule clause by clause, rates as percentages: "≥ 92% → 8 分", never
``scoring.tiers[0].min``), what the formulas count, bonus and penalty items, vetoes, grades and quotas, the
total and the peer groups. Beside each change, the reasons (修改理由) of the local changes that made it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from rulesvc.engine.dictionary import Dictionary
from rulesvc.engine.scoring import fmt
from rulesvc.persistence.models import AuditRecord, SchemeVersion
from rulesvc.services import designer, localtime
from rulesvc.services.designer import VersionDocument
from rulesvc.services.designer_edit import part_of
from rulesvc.services.governance import versions
from rulesvc.services.governance.access import Actor

# The fields of each part, in the order a reader wants them; labels in both languages.
FIELDS: dict[str, list[tuple[str, str, str]]] = {
    "indicators": [("rule", "计分规则", "Scoring rule"), ("scored", "计分", "Scored"), ("points", "满分", "Points"),
                   ("formula", "计算公式", "Formula"), ("unit", "单位", "Unit"), ("direction", "方向", "Direction"),
                   ("lines", "业务条线", "Business lines"), ("dimension", "所属维度", "Dimension"),
                   ("missing", "无数据时", "No data"), ("name", "名称", "Name"),
                   ("description", "说明", "Description"), ("source", "来源", "Source")],
    "metrics": [("how", "计数方式", "Counted as"), ("events", "统计的事件", "Events counted"),
                ("where", "条件", "Condition"), ("weights", "折算", "Weights"), ("name", "名称", "Name")],
    "adjustments": [("points", "分值", "Points"), ("cap", "封顶", "Cap"), ("events", "统计的事件", "Events counted"),
                    ("where", "条件", "Condition"), ("pattern", "同一案件", "In one case"),
                    ("dimension", "计入维度", "Dimension"), ("lines", "业务条线", "Business lines"),
                    ("name", "名称", "Name"), ("description", "说明", "Description")],
    "vetoes": [("effects", "后果", "Effect"), ("events", "触发事件", "Events that trigger it"),
               ("where", "条件", "Condition"), ("name", "名称", "Name"), ("description", "说明", "Description")],
}
WORDS = {
    "zh": {"scored": "计分", "analysis": "仅作分析", "none": "（无）", "upstream": "上级版本的修改",
           "total": "总分", "participants": "谁参加考评", "peers": "比较组", "grades": "等次与名额",
           "description": "方案说明", "min": "总分下限", "quota": "名额", "dimension": "维度",
           "stale_description": "本版修改了权重、等次或总分规则，方案说明未改：请核对说明中的数字是否仍然准确"
                                "（修改说明后须重新运行模拟测评）"},
    "en": {"scored": "scored", "analysis": "analysis only", "none": "(none)", "upstream": "changed in the version above",
           "total": "Total score", "participants": "Who is evaluated", "peers": "Peer groups",
           "grades": "Grades and quotas", "description": "About the scheme", "min": "total from", "quota": "quota",
           "dimension": "Dimension",
           "stale_description": "Weights, grades or the total changed and the description did not: check that the "
                                "numbers it states still hold (a changed description needs the simulation run again)"},
}


@dataclass
class FieldChange:
    label: str
    old: list[str]  # the words, clause by clause (one item for most fields)
    new: list[str]
    old_marked: list[bool] = field(default_factory=list)  # a clause not on the other side
    new_marked: list[bool] = field(default_factory=list)


@dataclass
class PartChange:
    kind: str  # added | removed | changed
    code: str
    name: str
    fields: list[FieldChange] = field(default_factory=list)
    summary: list[FieldChange] = field(default_factory=list)  # an added or removed part: what it is
    reasons: list[str] = field(default_factory=list)  # of the newer side's local changes
    old_reasons: list[str] = field(default_factory=list)  # local changes of the older side that are gone
    upstream: bool = False  # no local change made it: it came from the version above
    flags: list[str] = field(default_factory=list)  # what a reviewer must not miss (grades made easier to reach)


@dataclass
class WeightChange:
    code: str
    name: str
    old: str
    new: str
    old_share: str
    new_share: str
    reasons: list[str] = field(default_factory=list)
    old_reasons: list[str] = field(default_factory=list)
    upstream: bool = False


@dataclass
class VersionDiff:
    old: VersionDocument
    new: VersionDocument
    weights: list[WeightChange] = field(default_factory=list)
    weight_totals: tuple[str, str] = ("", "")
    parts: list[tuple[str, list[PartChange]]] = field(default_factory=list)  # (collection, changes)
    sections: list[PartChange] = field(default_factory=list)  # total, who, grades, peers, description
    problems: dict[str, list[str]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)  # what the reviewer should check that no part shows

    @property
    def count(self) -> int:
        return len(self.weights) + sum(len(c) for _, c in self.parts) + len(self.sections)


def version_diff(session: Session, actor: Actor, new: SchemeVersion, old: SchemeVersion, dictionary: Dictionary, *,
                 lang: str = "zh") -> VersionDiff:
    """What changes from ``old`` to ``new`` (NotFound when ``actor`` may not see either, as the API answers)."""
    raw = versions.diff_versions(session, actor, old.id, new.id)["diff"]
    a = designer.version_document(session, actor, old.scheme.code, old.number, dictionary, lang=lang, history=False)
    b = designer.version_document(session, actor, new.scheme.code, new.number, dictionary, lang=lang, history=False)
    out = VersionDiff(old=a, new=b)
    if a.problems or b.problems:
        out.problems = {**a.problems, **b.problems}
        return out
    words = WORDS[lang]
    reasons_new, reasons_old = _reasons(session, new, old), _reasons(session, old, new)
    from_above = new.parent_id is not None and old.parent_id is not None and new.parent_id != old.parent_id

    def mark(change: Any, part: str) -> Any:
        change.reasons = reasons_new.get(part, [])
        change.old_reasons = reasons_old.get(part, [])
        change.upstream = from_above and not change.reasons and not change.old_reasons
        return change

    old_dims = {d["code"]: d for d in a.dimensions}
    new_dims = {d["code"]: d for d in b.dimensions}
    for w in raw.get("weights") or []:
        code = w["dimension"]
        od, nd = old_dims.get(code, {}), new_dims.get(code, {})
        out.weights.append(mark(WeightChange(code=code, name=w.get("name") or code, old=od.get("weight", ""),
                                             new=nd.get("weight", ""), old_share=od.get("share", ""),
                                             new_share=nd.get("share", "")), f"dimensions.{code}"))
    if out.weights:
        out.weight_totals = (f"{a.weight_total:g}", f"{b.weight_total:g}")
    rows = {"indicators": (_indicator_rows(a), _indicator_rows(b)),
            "metrics": ({m["code"]: m for m in a.metrics}, {m["code"]: m for m in b.metrics}),
            "adjustments": ({x["code"]: x for x in a.adjustments}, {x["code"]: x for x in b.adjustments}),
            "vetoes": ({x["code"]: x for x in a.vetoes}, {x["code"]: x for x in b.vetoes})}
    for coll in ("indicators", "metrics", "adjustments", "vetoes"):
        part = raw.get(coll) or {}
        before, after = rows[coll]
        changes = []
        for code in part.get("added") or []:
            row = after.get(code, {})
            changes.append(mark(PartChange("added", code, str(row.get("name") or code),
                                           summary=_summary(coll, row, lang)), f"{coll}.{code}"))
        for code in part.get("removed") or []:
            row = before.get(code, {})
            changes.append(mark(PartChange("removed", code, str(row.get("name") or code),
                                           summary=_summary(coll, row, lang)), f"{coll}.{code}"))
        for code, raw_fields in (part.get("changed") or {}).items():
            old_row, new_row = before.get(code, {}), after.get(code, {})
            fields = _fields(coll, old_row, new_row, lang)
            if not fields:  # a change the page's words do not show (e.g. an indicator's own peer group)
                fields = [FieldChange(_field_label(f["field"], lang), [plain_words(f["old"], lang)], [plain_words(f["new"], lang)])
                          for f in raw_fields]
            changes.append(mark(PartChange("changed", code, str(new_row.get("name") or old_row.get("name") or code),
                                           fields=fields), f"{coll}.{code}"))
        if changes:
            out.parts.append((coll, changes))
    # Dimensions' other fields (a name, the cap of bonus and penalty points) and dimensions added or removed.
    dims = raw.get("dimensions") or {}
    extra = []
    for code, raw_fields in (dims.get("changed") or {}).items():
        if all(f["field"] == "weight" for f in raw_fields):
            continue
        od, nd = old_dims.get(code, {}), new_dims.get(code, {})
        fields = [FieldChange(label, [str(od.get(k) or words["none"])], [str(nd.get(k) or words["none"])])
                  for k, label in (("name", words["dimension"]),
                                   ("adjustment_cap", "加减分上限" if lang == "zh" else "Bonus and penalty cap"))
                  if od.get(k) != nd.get(k)]
        if fields:
            extra.append(mark(PartChange("changed", code, str(nd.get("name") or code), fields=fields),
                              f"dimensions.{code}"))
    if extra:
        out.parts.insert(0, ("dimensions", extra))
    _sections(out, a, b, raw, lang, mark)
    # Weights or grades changed under a description left as it was: the text a reviewer reads first may still state the
    # old ones (v2's said "质量、效率、效果按 45%、25%、30%" after the weights became 50/20/30: a UI audit). The text is
    # free, so it is said as a thing to check, not judged.
    if a.scheme.id == b.scheme.id and b.description and a.description == b.description and (
            out.weights or any(sc.code in ("grades", "total") for sc in out.sections)):
        out.notes.append(WORDS[lang]["stale_description"])
    return out


def _indicator_rows(doc: VersionDocument) -> dict[str, dict[str, Any]]:
    """The version page's indicator rows by code, each with its dimension's name (the page groups them)."""
    out: dict[str, dict[str, Any]] = {}
    group = ""
    for row in doc.indicators:
        if "group" in row:
            group = str(row["group"])
            continue
        out[row["code"]] = {**row, "dimension": group}
    return out


def _words(coll: str, key: str, row: Mapping[str, Any], lang: str) -> list[str]:
    """A field of a row in words, clause by clause."""
    w = WORDS[lang]
    value = row.get(key)
    if key == "scored":
        return [w["scored"] if value else w["analysis"]]
    if key == "source":
        return ["; ".join(text for text, _ in value or [])] if value else [w["none"]]
    if key == "rule" or key == "effects":
        return [str(x) for x in value or []] or [w["none"]]
    if key == "points" and coll == "indicators" and not row.get("scored", True):
        return [w["analysis"]]
    return [str(value)] if value not in (None, "") else [w["none"]]


def _fields(coll: str, old: Mapping[str, Any], new: Mapping[str, Any], lang: str) -> list[FieldChange]:
    out = []
    for key, zh, en in FIELDS[coll]:
        a, b = _words(coll, key, old, lang), _words(coll, key, new, lang)
        if a != b:
            out.append(FieldChange(zh if lang == "zh" else en, a, b, [x not in b for x in a], [x not in a for x in b]))
    return out


def _summary(coll: str, row: Mapping[str, Any], lang: str) -> list[FieldChange]:
    """What an added or removed part is: its main fields."""
    keys = {"indicators": ("formula", "rule", "points", "dimension", "lines"), "metrics": ("how", "events", "where"),
            "adjustments": ("events", "where", "points", "cap", "lines"), "vetoes": ("events", "where", "effects")}[coll]
    out = []
    for key, zh, en in FIELDS[coll]:
        if key in keys and row.get(key) not in (None, "", []):
            words = _words(coll, key, row, lang)
            out.append(FieldChange(zh if lang == "zh" else en, words, words))
    return out


def _sections(out: VersionDiff, a: VersionDocument, b: VersionDocument, raw: Mapping[str, Any], lang: str,
              mark: Any) -> None:
    w = WORDS[lang]

    def add(key: str, part: str, old: Sequence[str], new: Sequence[str]) -> None:
        if list(old) != list(new):
            fc = FieldChange(w[key], list(old) or [w["none"]], list(new) or [w["none"]],
                             [x not in new for x in old], [x not in old for x in new])
            out.sections.append(mark(PartChange("changed", key, w[key], fields=[fc]), part))

    add("total", "combination", [a.combination], [b.combination])
    add("participants", "participants", a.participants, b.participants)
    old_grades = [_grade_words(g, lang) for g in a.grades] + ([a.grading_note] if a.grading_note else [])
    new_grades = [_grade_words(g, lang) for g in b.grades] + ([b.grading_note] if b.grading_note else [])
    add("grades", "grading", old_grades, new_grades)
    easier = _easier_grades(a.grades, b.grades, lang)
    if easier and out.sections and out.sections[-1].code == "grades":
        out.sections[-1].flags = easier
    if raw.get("peers") or any(f["field"] in ("peer_group", "peer_min_size") for f in raw.get("scheme") or []):
        add("peers", "peer_group" if not raw.get("peers") else "peers", a.peers, b.peers)
    if a.scheme.id == b.scheme.id:  # a localization's description is its own, not a change of the template's
        add("description", "description", [a.description] if a.description else [],
            [b.description] if b.description else [])


def _easier_grades(old: Sequence[Mapping[str, Any]], new: Sequence[Mapping[str, Any]], lang: str) -> list[str]:
    """A band made easier to reach — its line lowered, its quota raised or lifted — said plainly: a county raising
    优秀's quota from the province's 15 % to 20 % went to review with nothing pointing at it (a UI audit). A band
    made harder is said beside it: "放宽" alone read one-sided when the same edit also cut the quota (an audit)."""
    before = {g["grade"]: g for g in old}
    zh = lang == "zh"
    out = []
    for g in new:
        was = before.get(g["grade"])
        if was is None:
            continue
        lo, lo_was = g.get("min_value"), was.get("min_value")
        if lo is not None and lo_was is not None and lo != lo_was:
            easier = lo < lo_was
            out.append(f"{'放宽' if easier else '收紧'}：{g['grade']}的总分下限 {fmt(lo_was)} → {fmt(lo)}" if zh
                       else f"{'Easier' if easier else 'Harder'}: {g['grade']} from a total of {fmt(lo)} instead of "
                            f"{fmt(lo_was)}")
        q, q_was = g.get("quota_value"), was.get("quota_value")
        if q != q_was:
            easier = q is None or (q_was is not None and q > q_was)
            shown_was = fmt(q_was, "%") if q_was is not None else ("不限" if zh else "none")
            shown = fmt(q, "%") if q is not None else ("不限" if zh else "none")
            out.append(f"{'放宽' if easier else '收紧'}：{g['grade']}名额 {shown_was} → {shown}" if zh
                       else f"{'Easier' if easier else 'Harder'}: {g['grade']}'s quota {shown_was} → {shown}")
    return out


def _grade_words(g: Mapping[str, Any], lang: str) -> str:
    if lang == "zh":
        return f"{g['grade']}：总分 ≥ {g['min']}" + (f"，名额{g['quota']}" if g.get("quota") else "")
    return f"{g['grade']}: total ≥ {g['min']}" + (f", quota {g['quota']}" if g.get("quota") else "")


def _template_reasons(session: Session, v: SchemeVersion) -> dict[str, list[str]]:
    """Why a template version's parts were changed, as its designer said on each save (the audit records of
    its edits: a template has no overrides to carry reasons)."""
    out: dict[str, list[str]] = {}
    records = session.scalars(select(AuditRecord).where(AuditRecord.version_id == v.id,
                                                        AuditRecord.action == "version.update")
                              .order_by(AuditRecord.id)).all()
    for r in records:
        detail = r.detail if isinstance(r.detail, dict) else {}
        reason = str(detail.get("reason") or "").strip()
        for path in detail.get("paths") or [] if reason else []:
            key = part_of(str(path))
            key = "peer_group" if key == "peer_min_size" else key
            said = out.setdefault(key, [])
            if reason not in said:
                said.append(reason)
    return out


def _reasons(session: Session, v: SchemeVersion, other: SchemeVersion) -> dict[str, list[str]]:
    """The reasons of ``v``'s local changes by the part they concern — those ``other`` does not have too; for a
    template version, the reasons its designer gave when editing it (newer side only: the older one's are its
    own history)."""
    theirs = {(o.get("op"), o.get("path"), repr(o.get("value")), o.get("reason"))
              for o in (other.document or {}).get("overrides") or []} if other.parent_id is not None else set()
    out: dict[str, list[str]] = {}
    if v.parent_id is None:
        return _template_reasons(session, v) if other.parent_id is None and v.number > other.number \
            and v.scheme_id == other.scheme_id else out
    for o in (v.document or {}).get("overrides") or []:
        if (o.get("op"), o.get("path"), repr(o.get("value")), o.get("reason")) in theirs:
            continue
        reason = str(o.get("reason") or "").strip()
        if reason:
            key = part_of(str(o.get("path", "")))
            if key in ("peer_min_size",):
                key = "peer_group"
            said = out.setdefault(key, [])
            if reason not in said:  # one reason given for two changes of a part (an item's points and cap) once
                said.append(reason)
    return out


_FIELD_LABELS = {"zh": {"peer_group": "比较组", "peer_min_size": "比较组最少人数", "prorate": "按在任时间折算",
                        "businesses": "业务", "per_case": "按案计", "weight": "权重"},
                 "en": {"peer_group": "peer group", "peer_min_size": "fewest people in a peer group",
                        "prorate": "prorated by time in office", "businesses": "businesses", "per_case": "per case",
                        "weight": "weight"}}


def _field_label(path: str, lang: str) -> str:
    head = path.split(".")[0].split("[")[0]
    return _FIELD_LABELS[lang].get(head, head)


def plain_words(value: Any, lang: str) -> str:
    """A value the words above do not cover, as plainly as it goes (numbers, yes/no, lists)."""
    if value is None:
        return WORDS[lang]["none"]
    if isinstance(value, bool):
        return ("是" if value else "否") if lang == "zh" else ("yes" if value else "no")
    if isinstance(value, float | int):
        from rulesvc.engine.scoring import fmt

        return fmt(float(value))
    if isinstance(value, list | tuple):
        return ("、" if lang == "zh" else ", ").join(plain_words(x, lang) for x in value)
    if isinstance(value, Mapping):
        return ("；" if lang == "zh" else "; ").join(f"{_field_label(str(k), lang)} {plain_words(x, lang)}"
                                                     for k, x in value.items())
    return str(value)


# -- which version to compare with ----------------------------------------------------------------------------


def default_against(actor: Actor, v: SchemeVersion, *, today: dt.date | None = None) -> SchemeVersion | None:
    """What a version is compared with by default: the newest earlier version that was published (in the common
    case the one in force), else the version in force, else the newest earlier version the person may see — what
    this round changes, as a reviewer reads it; a
    localization's first version (nothing of its own before it): its parent version; ``None`` for a first
    template. (A localization against the version above — all that it changes — is one link away.)"""
    today = today or localtime.today()
    seen = [x for x in versions.visible_versions(actor, v.scheme) if x.id != v.id]
    if v.parent is not None and not [x for x in seen if x.number < v.number]:
        return v.parent
    # The newest earlier version that was published (approved, in force or scheduled, retired): what this round
    # changes — a revision of a version still to come is read against it, not against the one in force today.
    published = [x for x in seen if x.number < v.number and x.status in ("approved", "active", "retired")]
    if published:
        return published[-1]
    in_force = next((x for x in seen if versions.in_force_on(x, today)), None)
    if in_force is not None:
        return in_force
    earlier = [x for x in seen if x.number < v.number]
    return earlier[-1] if earlier else None


def _status_with_dates(v: SchemeVersion, lang: str, today: dt.date) -> str:
    """A version's status, with its time in force when it has one: two versions of a scheme both 已生效 (one up to
    2020-12-31, the next from 2021-01-01) read alike in the picker (a reviewer's audit)."""
    from rulesvc.services import designer_words as W

    word = W.version_status_word(v, lang, today)
    if v.effective_from is None or v.status not in ("active", "retired"):
        return word
    start, end = v.effective_from.isoformat(), v.effective_to.isoformat() if v.effective_to else None
    if lang == "zh":
        return f"{word}，{start} 至 {end}" if end else f"{word}，{start} 起"
    return f"{word}, {start} to {end}" if end else f"{word}, from {start}"


def choices(session: Session, actor: Actor, *, lang: str = "zh",
            subject_kind: str | None = None) -> list[tuple[str, list[tuple[str, str]]]]:
    """Every version the person may see, by scheme, for the picker: ``[(scheme name, [("CODE/N", words)])]`` —
    only schemes scoring ``subject_kind`` when given (a procuratorates' bulletin is no version to compare a
    prosecutors' localization with: a UI audit found it offered)."""

    out = []
    for s in versions.list_schemes(session, actor):
        if subject_kind is not None and s.subject_kind != subject_kind:
            continue
        vs = versions.visible_versions(actor, s)
        label = "{name} · 第 {n} 版（{s}）" if lang == "zh" else "{name}, version {n} ({s})"
        today = localtime.today()
        out.append((s.name, [(f"{s.code}/{x.number}", label.format(name=s.name, n=x.number, s=_status_with_dates(x, lang,
                                                                                                              today)))
                             for x in reversed(vs)]))
    return out


__all__ = ["FieldChange", "PartChange", "VersionDiff", "WeightChange", "choices", "default_against", "plain_words",
           "version_diff"]
