"""A result as readable Chinese text: the score card a prosecutor receives, every point accounted for.

Under each dimension the card lists its indicators (what each adds to the total) and its bonus and
penalty items (with the dimension's cap), so that the lines under a dimension add up to the dimension's
line; the attribution at the end adds up, line by line, to the total.
"""

from __future__ import annotations

import math
import re

from rulesvc.engine.peers import RATIO_OF_ZERO
from rulesvc.engine.result import AdjustmentTrace, IndicatorTrace, Line, Result
from rulesvc.engine.scoring import fmt

_ENGLISH = re.compile(r"\s*\((?=[A-Za-z])[^()（）]*\)")


def zh(text: str) -> str:
    """The Chinese of an engine message: its " (English …)" part dropped (a screen shows one language)."""
    return _ENGLISH.sub("", text)


DERIVE_ZH = {"percentile": "组内百分位", "ratio_to_avg": "与同组平均值之比", "ratio_to_best": "与同组最优者之比"}
DERIVE_ZH_LOWER = {**DERIVE_ZH, "ratio_to_avg": "同组平均值与本值之比", "ratio_to_best": "同组最优值与本值之比"}


def _reference_over_value(ind: IndicatorTrace) -> bool:
    """A lower-is-better ratio: the rule tested the reference over the value (the card's ``compared`` tells which,
    by the arithmetic; a card without it, or where both read the same, keeps the plain words)."""
    c, v, x = ind.compared, ind.value, ind.x
    if c is None or not c.reference or not v or not x:
        return False
    return math.isclose(c.reference / v, x, rel_tol=1e-6) and not math.isclose(v / c.reference, x, rel_tol=1e-6)
STATUS_ZH = {"evaluated": "参加考评", "not_graded": "不参加等次评定"}


def _value(v: float | None, unit: str = "") -> str:
    return "无数据" if v is None else fmt(round(v, 6), unit)


def _signed(v: float) -> str:
    return f"{v:+.4f}"


def render_text(result: Result, *, units: dict[str, str] | None = None, width: int = 100) -> str:
    """The score card: indicators and adjustments by dimension, vetoes, the attribution, total and grade."""
    units = units or {}
    out: list[str] = []
    rule = "─" * width
    out.append(f"考评方案 {result.scheme_code}（sha256 {result.scheme_hash[:12]}…）  期间 {result.period}  "
               f"对象 {result.subject} {result.subject_name}  执行器 {result.executor}")
    if result.status != "evaluated":
        out.append(f"参评情况：{STATUS_ZH.get(result.status, result.status)}——{result.status_reason}")
    if result.office_share < 1:
        out.append(f"本期间在任时间占 {result.office_share:.1%}（标明“按任职时间折算”的指标已按此折算）")
    out.append(rule)
    by_dim: dict[str | None, list[IndicatorTrace]] = {}
    for ind in result.indicators:
        by_dim.setdefault(ind.dimension, []).append(ind)
    adj_by_dim: dict[str | None, list[AdjustmentTrace]] = {}
    for a in result.adjustments:
        adj_by_dim.setdefault(a.dimension, []).append(a)
    caps = {ln.code.removeprefix("dimcap:"): ln for ln in result.attribution if ln.kind == "cap"}
    for dim in result.dimensions:
        zeroed = f"  【一票否决：{dim.zeroed_by}，本维度所得分与加分计 0 分，扣分照扣】" if dim.zeroed_by else ""
        weight = f"权重 {dim.nominal_share:.0%}"
        if abs(dim.weight_share - dim.nominal_share) > 1e-12:
            weight += f"（本人可计分的维度按权重重新分配后为 {dim.weight_share:.1%}）"
        out.append(f"【{dim.name}】{weight}  指标得分 {fmt(round(dim.points, 4))} / {fmt(dim.max_points)}，"
                   f"计入总分 {_signed(dim.indicators)}；加减分 {_signed(dim.adjustments)}；"
                   f"本维度合计 {_signed(dim.contribution)}{zeroed}")
        for ind in by_dim.get(dim.code, []):
            _indicator(out, ind, units.get(ind.code, ""))
        _adjustments(out, adj_by_dim.get(dim.code, []), caps.get(dim.code))
    for ind in by_dim.get(None, []):
        _indicator(out, ind, units.get(ind.code, ""))
    if adj_by_dim.get(None):
        out.append("【其他加减分项】（不属于任何维度）")
        _adjustments(out, adj_by_dim[None], None)
    if result.vetoes:
        out.append("【一票否决】")
        for v in result.vetoes:
            more = f" 等 {v.matched} 件" if v.matched > 5 else ""
            out.append(f"  {v.name}：{zh(v.detail)}  [{'、'.join(v.event_ids[:5])}{more}]")
    out.append(rule)
    out.append("【得分构成】（逐项相加即总分）")
    for line in result.attribution:
        if (line.kind == "indicator" and line.points == 0) or line.kind == "round":  # round: < 1e-9, never visible
            continue
        out.append(f"  {line.points:>+10.4f}  {zh(line.label)}")
    hidden = sum(1 for ln in result.attribution if ln.kind == "indicator" and ln.points == 0)
    if hidden:
        out.append(f"  {0:>+10.4f}  （另有 {hidden} 项指标计入 0 分）")
    out.append(f"  {'=' * 10}")
    out.append(f"  {result.total:>10.4f}  总分")
    out.append(f"等次：{result.grade or '—'}  （{zh(result.grade_reason)}）")
    nearest = [(i.name, i.nearest) for i in result.indicators if i.nearest]
    if nearest:
        out.append(rule)
        out.append("【提升空间】最近的未达档位（逐项单独计算：增加的案件也可能同时改变其他指标和加减分）")
        for name, n in sorted(nearest, key=lambda p: (-p[1].total_gain, -p[1].gain))[:8]:
            out.append(f"  {name}：{n.needs}")
    return "\n".join(out)


def _adjustments(out: list[str], items: list[AdjustmentTrace], cap: Line | None) -> None:
    for a in items:
        note = f"（{zh(a.note)}）" if a.note else ""
        what = "案" if a.counts == "case" else "项"
        ids = a.case_ids if a.counts == "case" else a.event_ids
        shown = "、".join(ids[:5]) + ("…" if a.matched > 5 else "")
        out.append(f"  · {a.name}：{a.matched} {what} × {a.points_each:+g} = {a.raw:+g} → 计入 {a.points:+.4f}{note}"
                   f"  [{shown}]")
    if cap is not None:
        out.append(f"  · {zh(cap.label)}：{cap.points:+.4f}")


def _indicator(out: list[str], ind: IndicatorTrace, unit: str) -> None:
    if not ind.counted:
        # Not counted: why, when the trace says (not applicable, no data); else analysis only — also for an
        # indicator whose scoring rule is kept but switched off (``scored: false``).
        tag = f"（{zh(ind.note)}）" if ind.method and ind.note else "（仅作分析，不计分）"
        out.append(f"  · {ind.name} = {_value(ind.value, unit)}{tag}")
        return
    value = _value(ind.value, unit)
    if ind.prorated_from is not None:
        value += f"（按任职时间折算，实际 {_value(ind.prorated_from, unit)}）"
    if ind.derive in DERIVE_ZH:  # the number the rule tests is the percentile or the ratio, not the count
        shown = ("无法比较" if ind.x is None else f"{ind.x:.1%}" if ind.derive == "percentile"
                 else "本人为 0（最优）" if ind.x >= RATIO_OF_ZERO else fmt(round(ind.x, 4)))
        value += f"，{(DERIVE_ZH_LOWER if _reference_over_value(ind) else DERIVE_ZH)[ind.derive]} {shown}"
    out.append(f"  · {ind.name} = {value}  → {fmt(round(ind.points, 4))} / {fmt(ind.max_points)} 分，"
               f"计入总分 {_signed(ind.contribution)}")
    if ind.substituted and not ind.formula.strip().isidentifier():  # a bare metric name needs no working
        if ind.formula_labeled and ind.formula_labeled != ind.formula:
            out.append(f"      公式：{ind.formula_labeled}（{ind.formula}）")
        else:
            out.append(f"      公式：{ind.formula}")
        working = ind.substituted
        if working.endswith(" = null"):
            working = working.removesuffix(" = null") + " = 无数据（除数为 0 或缺少数据）"
        out.append(f"      即 {working}")
    elif ind.formula_labeled and ind.formula_labeled != ind.formula:
        out.append(f"      口径：{ind.formula_labeled}")
    if ind.rule:
        out.append(f"      规则：{ind.rule}")
    if ind.note:
        out.append(f"      说明：{zh(ind.note)}")
