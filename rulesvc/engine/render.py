"""A result as readable Chinese text: the score card a prosecutor receives, every point accounted for."""

from __future__ import annotations

from rulesvc.engine.result import Result
from rulesvc.engine.scoring import fmt

DERIVE_ZH = {"value": "", "percentile": "（组内百分位）", "ratio_to_avg": "（与平均值之比）", "ratio_to_best": "（与最优者之比）"}


def _value(v: float | None, unit: str = "") -> str:
    return "无数据" if v is None else fmt(round(v, 6), unit)


def render_text(result: Result, *, units: dict[str, str] | None = None, width: int = 100) -> str:
    """The score card: indicators by dimension, adjustments, vetoes, the attribution, total and grade."""
    units = units or {}
    out: list[str] = []
    rule = "─" * width
    out.append(f"考评方案 {result.scheme_code}（sha256 {result.scheme_hash[:12]}…）  期间 {result.period}  "
               f"对象 {result.subject} {result.subject_name}  执行器 {result.executor}")
    out.append(rule)
    by_dim: dict[str | None, list] = {}
    for ind in result.indicators:
        by_dim.setdefault(ind.dimension, []).append(ind)
    for dim in result.dimensions:
        zeroed = f"  【一票否决：{dim.zeroed_by}，本维度计 0 分】" if dim.zeroed_by else ""
        out.append(f"【{dim.name}】权重 {dim.weight_share:.0%}  得分 {dim.points:g} / {dim.max_points:g}  "
                   f"折算 {dim.contribution:+.4f}{zeroed}")
        for ind in by_dim.get(dim.code, []):
            _indicator(out, ind, units.get(ind.code, ""))
    for ind in by_dim.get(None, []):
        _indicator(out, ind, units.get(ind.code, ""))
    if result.adjustments:
        out.append(rule)
        out.append("【加减分项】")
        for a in result.adjustments:
            cap = f"（{a.note}）" if a.note else ""
            ids = "、".join(a.event_ids[:5]) + ("…" if a.matched > 5 else "")
            out.append(f"  {a.name}：{a.matched} 项 × {a.points_each:+g} = {a.raw:+g} → {a.points:+g}{cap}  [{ids}]")
    if result.vetoes:
        out.append("【一票否决】")
        for v in result.vetoes:
            out.append(f"  {v.name}：{v.detail}  [{'、'.join(v.event_ids[:5])}]")
    out.append(rule)
    out.append("【得分构成】（逐项相加即总分）")
    for line in result.attribution:
        if line.kind == "indicator" and line.points == 0:
            continue
        out.append(f"  {line.points:>+10.4f}  {line.label}")
    hidden = sum(1 for ln in result.attribution if ln.kind == "indicator" and ln.points == 0)
    if hidden:
        out.append(f"  {0:>+10.4f}  （另有 {hidden} 项指标得 0 分）")
    out.append(f"  {'=' * 10}")
    out.append(f"  {result.total:>10.4f}  总分")
    out.append(f"等次：{result.grade or '—'}  （{result.grade_reason}）")
    nearest = [i for i in result.indicators if i.nearest]
    if nearest:
        out.append(rule)
        out.append("【提升空间】最近的未达档位")
        for ind in sorted(nearest, key=lambda i: -i.nearest.gain)[:8]:
            out.append(f"  {ind.name}：{ind.nearest.needs}")
    return "\n".join(out)


def _indicator(out: list[str], ind, unit: str) -> None:
    if not ind.scored:
        tag = "（仅分析，不计分）" if not ind.method else f"（{ind.note}）"
        out.append(f"  · {ind.name} = {_value(ind.value, unit)}{tag}")
        return
    out.append(f"  · {ind.name} = {_value(ind.value, unit)}{DERIVE_ZH.get(ind.derive, '')}  "
               f"→ {ind.points:g} / {ind.max_points:g} 分，计入总分 {ind.contribution:+.4f}")
    if ind.substituted and not ind.formula.strip().isidentifier():  # a bare metric name needs no working
        out.append(f"      公式：{ind.formula}  即 {ind.substituted}")
    if ind.rule:
        out.append(f"      规则：{ind.rule}")
    if ind.note:
        out.append(f"      说明：{ind.note}")
