"""The words of the rule designer's pages (:mod:`rulesvc.services.designer`), in Chinese or English.

One word for one thing (``glossary.md``); scoring rules as a designer states them ("≥ 90% → 10 分；
≥ 85% → 8 分；其余 0 分", rates as percentages, 案-件比 as 1:x); formulas and conditions with the data
dictionary's names (from the engine's ``to_labeled_text``), never codes. Numbers go through the engine's
``scoring.fmt``, the no-data policy through ``explain.MISSING_WORDS``, so a page and a score card agree.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping, Sequence
from typing import Any

from rulesvc.engine.compile import CompiledMetric, CompiledScheme
from rulesvc.engine.dictionary import Dictionary
from rulesvc.engine.explain import MISSING_WORDS
from rulesvc.engine.expr.render import to_labeled_text
from rulesvc.engine.model import Adjustment, Indicator, Scheme, ScoringRule, Veto
from rulesvc.engine.scoring import fmt, points_en
from rulesvc.persistence import lifecycle

STATUS_WORDS = {"zh": dict(lifecycle.STATUS_LABELS),
                "en": {"draft": "draft", "in_review": "in review", "approved": "approved", "active": "active",
                       "retired": "retired"}}


def version_status_word(v: Any, lang: str, today: dt.date) -> str:
    """A version's status as a designer reads it today: an active version whose date has not come is 待生效
    (scheduled; its date is beside it wherever dates are shown); the others are their status."""
    if v.status == "active" and v.effective_from is not None and v.effective_from > today:
        return "待生效" if lang != "en" else "scheduled"
    return STATUS_WORDS["en" if lang == "en" else "zh"].get(v.status, v.status)


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
LINE_ZH = {"criminal": "刑事检察", "civil": "民事检察", "administrative": "行政检察", "public_interest": "公益诉讼检察"}
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
    "version.unschedule": "go-live taken back", "version.resume": "stays in force",
    "version.rebase": "took up a new parent version", "version.settle": "conflict settled",
    "version.delete": "draft deleted", "rules.import": "imported from files",
}
AGG_WORDS = {"zh": {"count": "计数", "sum": "求和", "distinct": "去重计数", "avg": "平均值", "min": "最小值", "max": "最大值"},
             "en": {"count": "count", "sum": "sum", "distinct": "distinct count", "avg": "average", "min": "minimum",
                    "max": "maximum"}}


def word(words: Mapping[str, Mapping[str, str]], lang: str, code: str | None) -> str:
    """The word for a stored code in ``lang`` (the code itself when there is none)."""
    if code is None:
        return ""
    return words[lang].get(code, code)


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


def metric_row(cm: CompiledMetric, d: Dictionary, lang: str) -> dict[str, Any]:
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
    how = word(AGG_WORDS, lang, m.agg)
    if m.field and m.agg != "count":
        name = "案件" if zh and m.field == "case_id" else labels.get(m.field, m.field)
        how = f"{name}{how}" if zh else f"{how} of {name}"
    weights = ""
    if m.weights is not None:
        by = labels.get(m.weights.by, m.weights.by)
        pairs = ("，" if zh else ", ").join(f"{choices.get(k, k)} {v}" for k, v in m.weights.labels.items())
        weights = f"按“{by}”折算：{pairs}" if zh else f"weighted by {by}: {pairs}"
    return {"code": m.code, "name": m.name or m.code, "how": how, "events": events_words(m.events, d.event_types, lang),
            "where": condition_words(cm.where.expr, m.events, d, lang) if cm.where is not None else "",
            "weights": weights}


def adjustment_condition(c: CompiledScheme, code: str) -> Any:
    """The compiled filter of adjustment ``code`` (its expression), or ``None``."""
    for ca in c.adjustments:
        if ca.adjustment.code == code:
            return ca.where.expr if ca.where is not None else None
    return None


def unit_word(unit: str, lang: str) -> str:
    """An indicator's unit as shown beside its formula (案-件比's ``ratio`` as 1:x)."""
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


def _pts_en(x: Any) -> str:
    """"point" for one as the page writes it (1 point, −1 point), "points" otherwise."""
    return points_en(fmt(float(x))) if isinstance(x, int | float) else "points"


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
        parts = [f"{sign} {_show(float(t[key]), unit)} → {fmt(float(t['points']))} {pts if zh else _pts_en(t['points'])}"
                 for t in p.get("tiers") or [] if isinstance(t, Mapping) and key in t]
        parts.append(f"其余 {fmt(n('else', 0))} 分" if zh else f"otherwise {fmt(n('else', 0))} {_pts_en(n('else', 0))}")
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
        if per < 0:  # a deduction per unit
            if zh:
                return [f"每{u}扣 {fmt(-per)} 分", f"最多扣 {fmt(abs(cap))} 分"]
            return [f"{fmt(-per)} points off each", f"at most {fmt(abs(cap))} points off"]
        if zh:
            return [f"每{u} {fmt(per)} 分", f"封顶 {fmt(cap)} 分"]
        return [f"{fmt(per)} points each", f"capped at {fmt(cap)} points"]
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


def missing_words(sc: ScoringRule, lang: str) -> str:
    """What a missing value scores: "无数据时不计入"."""
    if lang == "zh":
        return f"无数据时{MISSING_WORDS.get(sc.missing, sc.missing)}"
    return f"No data: {MISSING_EN.get(sc.missing, sc.missing)}"


def lines_words(lines: Sequence[str], businesses: Sequence[str], d: Dictionary, lang: str) -> str:
    """The businesses or lines of work an item applies to, or 全部."""
    if businesses:
        names = {b.code: (b.name if lang == "zh" else b.name_en or b.name) for b in d.businesses}
        return ("、" if lang == "zh" else ", ").join(names.get(b, b) for b in businesses)
    if not lines:
        return "全部" if lang == "zh" else "all"
    names = dict(d.lines) if lang == "zh" else LINE_EN
    order = {code: i for i, code in enumerate(d.lines)}  # the dictionary's order (刑事、民事、行政、公益诉讼)
    ordered = sorted(lines, key=lambda x: (order.get(x, len(order)), x))
    return ("、" if lang == "zh" else ", ").join(names.get(x, x) for x in ordered)


def events_words(codes: Sequence[str], types: Mapping[str, Any], lang: str) -> str:
    """Event types by their dictionary names."""
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


def pattern_words(a: Adjustment, c: CompiledScheme, d: Dictionary, lang: str) -> str:
    if a.pattern is None:
        return ""
    zh = lang == "zh"
    types = d.event_types
    compiled = next((ca.pattern for ca in c.adjustments if ca.adjustment.code == a.code), ())
    wheres = {cs.name: cs.where.expr for cs in compiled if cs.where is not None}
    steps = []
    for st in a.pattern.require:
        ev = events_words(st.events, types, lang)
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


def adjustment_points(a: Adjustment, lang: str) -> str:
    """Points of a bonus or penalty item: "每件 +5 分", "每案 −2 分"."""
    pts = f"+{fmt(a.points)}" if a.points > 0 else fmt(a.points).replace("-", "−")
    if lang == "zh":
        return f"每{'案' if a.per_case or a.pattern else '件'} {pts} 分"
    return f"{pts} points per {'case' if a.per_case or a.pattern else 'event'}"


def dimension_name(s: Scheme, code: str | None) -> str:
    """A dimension's name (its code when the scheme lacks it)."""
    if code is None:
        return ""
    dm = s.dimensions.get(code)
    return dm.name if dm is not None else code


def veto_words(s: Scheme, vt: Veto, lang: str) -> list[str]:
    """What a veto does, effect by effect: 该维度所得分与加分计零分、扣分照扣, 等次最高为…, 不得评为…."""
    out = []
    for e in vt.effects:
        if e.effect == "zero_dimension":
            name = dimension_name(s, e.dimension)
            out.append(f"{name}维度所得分与加分计零分、扣分照扣" if lang == "zh"
                       else f"{name}: what it earned counts 0, penalties stand")
        elif e.effect == "cap_grade":
            out.append(f"等次最高为{e.grade}" if lang == "zh" else f"grade at best {e.grade}")
        elif e.effect == "bar_grade":
            out.append(f"不得评为{e.grade}" if lang == "zh" else f"never {e.grade}")
    return out


def combination_words(s: Scheme, lang: str) -> str:
    """How the total is computed, with its cap and floor."""
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


def participants_words(s: Scheme, lang: str) -> list[str]:
    """Who is evaluated, and who is scored but not graded."""
    pt, zh = s.participants, lang == "zh"
    out: list[str] = []
    levels = ("、" if zh else ", ").join(word(LEVEL_WORDS, lang, x) for x in pt.levels)
    if s.subject == "procuratorate":  # quota statuses and office dates are a prosecutor's
        out.append((f"{levels}参加考评" if zh else f"Evaluated: {levels} procuratorates") if pt.levels
                   else ("各级检察院参加考评" if zh else "Evaluated: procuratorates of every level"))
        return out
    who = ("、" if zh else ", ").join(word(QUOTA_WORDS, lang, q) for q in pt.quota_statuses)
    out.append(f"{who}参加考评" if zh else f"Evaluated: {who}")
    if pt.levels:
        out.append(f"限于{levels}的检察官" if zh else f"only in {levels} procuratorates")
    share = fmt(pt.min_office_share, "%")
    out.append(f"本期间在任不足 {share} 的计分，但不参加等次评定" if zh
               else f"In office for less than {share} of the period: scored, not graded")
    if pt.no_activity == "not_graded":
        out.append("本期间没有任何办案数据的，不参加等次评定" if zh else "No case data in the period: not graded")
    return out


def peers_words(s: Scheme, c: CompiledScheme, lang: str) -> list[str]:
    """Peer groups, and for procuratorate-level schemes the comparison with the average and the flags."""
    zh = lang == "zh"
    who = "人" if s.subject == "prosecutor" else "个院"
    out = [f"组内比较在{word(PEER_GROUP_WORDS, lang, s.peer_group)}范围内进行；同组不足 {s.peer_min_size} {who}，不作比较" if zh
           else f"Peers: {word(PEER_GROUP_WORDS, lang, s.peer_group)}; a group of fewer than {s.peer_min_size} is not compared"]
    pc = s.peers
    if pc is None:
        return out
    names = {ci.indicator.code: ci.indicator.name for ci in c.indicators}
    if pc.indicators:
        listed = ("、" if zh else ", ").join(names.get(x, x) for x in pc.indicators)
        out.append(f"与{word(PEER_GROUP_WORDS, lang, pc.group)}平均值比较的指标：{listed}" if zh
                   else f"Compared with the average of {word(PEER_GROUP_WORDS, lang, pc.group)}: {listed}")
    out.append(f"与平均值相差 {fmt(pc.band, '%')} 以内为中游，优于为上游，差于为下游" if zh
               else f"within {fmt(pc.band, '%')} of the average: midstream; better: upstream; worse: downstream")
    if pc.bottom_k:
        groups = ("、" if zh else ", ").join(word(LEVEL_WORDS, lang, g) for g in pc.bottom_k_groups) or (
            "各组" if zh else "every group")
        out.append(f"{groups}总分排名后 {pc.bottom_k} 位书面说明" if zh
                   else f"{groups}: the bottom {pc.bottom_k} explain in writing")
    if pc.bottom_share:
        groups = ("、" if zh else ", ").join(word(LEVEL_WORDS, lang, g) for g in pc.bottom_share_groups) or (
            "各组" if zh else "every group")
        out.append(f"{groups}总分排名后 {fmt(pc.bottom_share, '%')}（{word(ROUNDING_WORDS, lang, pc.bottom_share_rounding)}）"
                   "书面说明" if zh else
                   f"{groups}: the bottom {fmt(pc.bottom_share, '%')} explain in writing")
    if pc.streak:
        out.append(f"连续 {pc.streak} 个月差于平均值的点名通报" if zh
                   else f"worse than the average {pc.streak} months running: named")
    return out
