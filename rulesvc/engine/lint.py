"""Static checks of a scheme (``rulesvc lint``): what compiles but is probably not what was meant.

Errors make a scheme unusable (everything ``compile_scheme`` refuses: unknown names, bad formulas,
tier gaps and overlaps). Warnings are legal but suspicious: weights that do not add up to 100, tiers
no value can reach, caps that can never bind or always bind, metrics and indicators that count for
nothing, bands no total can reach, a rule set beyond what one durable_rules ruleset takes.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from rulesvc.engine.backends.conditions import (
    MAX_BOOL_OPS_PER_RULE,
    SAFE_PENDING_BRANCHES,
    count_bool_ops,
    parse_condition,
    split,
)
from rulesvc.engine.compile import CompiledScheme, compile_scheme
from rulesvc.engine.dictionary import Dictionary
from rulesvc.engine.errors import DefinitionError, DefinitionErrors
from rulesvc.engine.model import Scheme
from rulesvc.engine.scoring import fmt

MAX_RULES_PER_RULESET = 200


@dataclass(frozen=True)
class Finding:
    level: str  # error | warning | info
    path: str
    message: str

    def __str__(self) -> str:
        tag = {"error": "错误 error", "warning": "警告 warning", "info": "提示 info"}[self.level]
        return f"[{tag}] {self.path}: {self.message}"


def lint(scheme: Scheme, dictionary: Dictionary) -> list[Finding]:
    """Every finding, errors first. A scheme with errors is not checked further."""
    try:
        compiled = compile_scheme(scheme, dictionary)
    except DefinitionErrors as exc:
        return [_from_error(e) for e in exc.errors]
    except DefinitionError as exc:
        return [_from_error(exc)]
    out: list[Finding] = []
    for check in (_weights, _tiers, _unused, _caps, _grades, _durable_limits):
        out.extend(check(compiled))
    order = {"error": 0, "warning": 1, "info": 2}
    return sorted(out, key=lambda f: (order[f.level], f.path))


def _from_error(e: DefinitionError) -> Finding:
    msg = e.message + (f"（第 {e.position + 1} 个字符 position {e.position}）" if e.position is not None else "")
    if e.expected:
        msg += f"；应为 (expected): {e.expected}"
    return Finding("error", e.path or "(scheme)", msg)


def _weights(c: CompiledScheme) -> list[Finding]:
    s = c.scheme
    if s.combination.method != "weighted":
        return []
    out = []
    total = sum(d.weight for d in s.dimensions.values())
    if not math.isclose(total, 100.0) and not math.isclose(total, 1.0):
        out.append(Finding("warning", "dimensions", f"维度权重合计 {fmt(total)}，不是 100 (weights add up to {fmt(total)}, not 100;"
                                                    " they are used as shares of the total)"))
    for code, d in s.dimensions.items():
        if d.weight == 0:
            out.append(Finding("warning", f"dimensions.{code}.weight", "权重为 0：本维度指标不影响总分 (weight 0: its indicators never count)"))
        elif c.dimension_max.get(code, 0.0) == 0:
            out.append(Finding("warning", f"dimensions.{code}", "本维度没有计分指标，其权重无处落实 (no scored indicator: its weight is lost)"))
    return out


def _value_range(c: CompiledScheme, code: str) -> tuple[float, float] | None:
    ind = c.scheme.indicators[code]
    return (0.0, 1.0) if ind.unit == "%" else None


def _tiers(c: CompiledScheme) -> list[Finding]:
    out = []
    for ci in c.indicators:
        ind, pw = ci.indicator, ci.piecewise
        if pw is None or ind.scoring is None:
            continue
        path = f"indicators.{ind.code}.scoring"
        rng = _value_range(c, ind.code) if pw.derive == "value" else (0.0, 1.0) if pw.derive == "percentile" else None
        if ind.scoring.method == "tiers":
            tiers = list(ind.scoring.params.get("tiers", []))
            key = "min" if ci.higher_better else "max"
            pts = [float(t["points"]) for t in tiers]
            for i in range(1, len(pts)):
                if pts[i] > pts[i - 1]:
                    out.append(Finding("warning", f"{path}.tiers[{i}].points",
                                       f"较差的档位得分更高：{fmt(pts[i])} > {fmt(pts[i - 1])} (a worse tier scores more)"))
            if rng is not None:
                for i, t in enumerate(tiers):
                    v = float(t[key])
                    if (ci.higher_better and v > rng[1]) or (not ci.higher_better and v < rng[0]):
                        out.append(Finding("warning", f"{path}.tiers[{i}].{key}",
                                           f"此档不可达：取值范围为 {fmt(rng[0], ind.unit)}–{fmt(rng[1], ind.unit)} "
                                           f"(unreachable: the value lies in [{rng[0]:g}, {rng[1]:g}])"))
        if ind.scoring.method in ("linear", "pass_fail") and rng is not None:
            for k in ("best", "worst", "threshold"):
                v = ind.scoring.params.get(k)
                if isinstance(v, int | float) and not rng[0] <= v <= rng[1]:
                    out.append(Finding("warning", f"{path}.{k}", f"{k} = {fmt(v, ind.unit)} 超出取值范围 (outside the value's range)"))
        if ind.scoring.method == "per_unit":
            per, cap = float(ind.scoring.params["points"]), float(ind.scoring.params["cap"])
            if abs(cap) < abs(per):
                out.append(Finding("warning", f"{path}.cap", f"封顶 {fmt(cap)} 小于每件 {fmt(per)} 分：第一件即封顶 (the cap always binds)"))
    return out


def _unused(c: CompiledScheme) -> list[Finding]:
    used: set[str] = set()
    for ci in c.indicators:
        used.update(ci.names)
    out = []
    for cm in c.metrics:
        if cm.metric.code not in used:
            out.append(Finding("warning", f"metrics.{cm.metric.code}", "度量未被任何指标使用 (metric never used)"))
    for ci in c.indicators:
        ind = ci.indicator
        if not ind.scored and ind.code not in used:
            out.append(Finding("info", f"indicators.{ind.code}", "仅分析、不计分 (analysis only: computed and shown, never scored)"))
        if ci.piecewise is not None and ci.piecewise.max_points == ci.piecewise.min_points:
            out.append(Finding("warning", f"indicators.{ind.code}.scoring",
                               f"所有取值得分相同（{fmt(ci.piecewise.max_points)} 分）：不区分 (every value scores the same)"))
    return out


def _max_total(c: CompiledScheme) -> float:
    s = c.scheme
    comb = s.combination
    top = comb.base + (comb.span if comb.method == "weighted" else sum(c.dimension_max.values()))
    for ca in c.adjustments:
        a = ca.adjustment
        if a.points > 0:
            top += a.cap if a.cap is not None else math.inf
    return min(top, comb.cap) if comb.cap is not None else top


def _caps(c: CompiledScheme) -> list[Finding]:
    out = []
    s = c.scheme
    for ca in c.adjustments:
        a = ca.adjustment
        if a.cap is not None and a.cap < abs(a.points):
            out.append(Finding("warning", f"adjustments.{a.code}.cap",
                               f"封顶 {fmt(a.cap)} 小于单次 {fmt(abs(a.points))} 分：第一次即封顶 (the cap always binds)"))
    for code, d in s.dimensions.items():
        if d.adjustment_cap is None:
            continue
        items = [ca.adjustment for ca in c.adjustments if ca.adjustment.dimension == code]
        if not items:
            out.append(Finding("warning", f"dimensions.{code}.adjustment_cap", "本维度没有加减分项，封顶永不生效 (no adjustment: the cap never binds)"))
        elif all(a.cap is not None for a in items):
            up = sum(a.cap for a in items if a.points > 0)
            down = sum(a.cap for a in items if a.points < 0)
            if max(up, down) <= d.adjustment_cap:
                out.append(Finding("warning", f"dimensions.{code}.adjustment_cap",
                                   f"各项封顶合计 {fmt(max(up, down))} 不超过维度封顶 {fmt(d.adjustment_cap)}：维度封顶永不生效 (never binds)"))
    comb = s.combination
    if comb.cap is not None:
        uncapped = comb.base + (comb.span if comb.method == "weighted" else sum(c.dimension_max.values()))
        bonus = [ca.adjustment for ca in c.adjustments if ca.adjustment.points > 0]
        if all(a.cap is not None for a in bonus) and uncapped + sum(a.cap for a in bonus) <= comb.cap:
            out.append(Finding("warning", "combination.cap",
                               f"总分最高 {fmt(uncapped + sum(a.cap for a in bonus))}，总分封顶 {fmt(comb.cap)} 永不生效 (never binds)"))
    if comb.floor is not None and comb.floor <= 0 and not any(ca.adjustment.points < 0 for ca in c.adjustments) and comb.base >= 0:
        out.append(Finding("info", "combination.floor", "没有扣分项，总分下限不会生效 (no penalty: the floor never binds)"))
    return out


def _grades(c: CompiledScheme) -> list[Finding]:
    g = c.scheme.grading
    if g is None:
        return []
    out = []
    top = _max_total(c)
    for i, b in enumerate(g.bands):
        if b.min > top:
            out.append(Finding("warning", f"grading.bands[{i}].min",
                               f"“{b.grade}”分数线 {fmt(b.min)} 高于可能的最高总分 {fmt(top)}：不可达 (unreachable)"))
    if g.bands[-1].min > 0 and c.scheme.combination.floor is not None and c.scheme.combination.floor < g.bands[-1].min:
        out.append(Finding("warning", f"grading.bands[{len(g.bands) - 1}].min",
                           f"总分低于 {fmt(g.bands[-1].min)} 时没有等次 (totals below the last band get no grade)"))
    quotas = sum(b.quota for b in g.bands if b.quota)
    if quotas > 1:
        out.append(Finding("warning", "grading.bands", f"名额比例合计 {quotas:.0%} 超过 100% (quotas add up to more than 100%)"))
    return out


def _durable_limits(c: CompiledScheme) -> list[Finding]:
    from rulesvc.engine.durable_decider import build_rules

    rules = build_rules(c)
    out: list[Finding] = []
    conds = []
    for r in rules:
        # Filters the adapter would refuse are computed in Python (compile.durable_safe); what is left
        # must parse — if not, that is a bug in the engine, reported as an error rather than hidden.
        try:
            cond = parse_condition(r.condition, r.name)
        except DefinitionError as exc:
            out.append(Finding("error", _rule_path(r.name), f"规则引擎不接受此条件 (durable_rules refuses it): {exc.message}"))
            continue
        if count_bool_ops(cond) > MAX_BOOL_OPS_PER_RULE:
            out.append(Finding("error", _rule_path(r.name),
                               f"条件过于复杂（{count_bool_ops(cond)} 个与/或，上限 {MAX_BOOL_OPS_PER_RULE}）"))
        conds.append(cond)
    if out:
        return out
    parts = split(conds, (), budget=SAFE_PENDING_BRANCHES, max_rules=MAX_RULES_PER_RULESET)
    if len(parts) > 1:
        out.append(Finding("info", "(rules)", f"{len(rules)} 条规则分为 {len(parts)} 个规则集执行，以免超出 durable_rules 的结构上限 "
                                              f"(split into {len(parts)} rulesets to stay within durable_rules' limits: H3)"))
    return out


def _rule_path(name: str) -> str:
    kind, _, rest = name.partition(":")
    section = {"ind": "indicators", "adj": "adjustments", "veto": "vetoes"}.get(kind, kind)
    return f"{section}.{rest.split(':')[0]}"
