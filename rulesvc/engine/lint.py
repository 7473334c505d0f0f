"""Static checks of a scheme (``rulesvc lint``): what compiles but is probably not what was meant.

Errors make a scheme unusable (everything ``compile_scheme`` refuses: unknown names, bad formulas,
tier gaps and overlaps). Warnings are legal but suspicious: weights that do not add up to 100, tiers
no value can reach, caps that can never bind or always bind, metrics and indicators that count for
nothing, bands no total can reach, a rule set beyond what one durable_rules ruleset takes.

``lint`` checks a loaded scheme; ``lint_document`` a document as written, reporting its structural
errors, then the definition errors of what remains once the erroneous parts are set aside, then the
warnings — all in one run. The structural half (marshmallow) lives in ``rulesvc.schema.messages``
and is passed in, since the engine imports no serialisation library.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from rulesvc.engine.backends.conditions import (
    MAX_BOOL_OPS_PER_RULE,
    SAFE_PENDING_BRANCHES,
    count_bool_ops,
    parse_condition,
    split,
)
from rulesvc.engine.compile import CompiledScheme, compile_scheme, event_scope
from rulesvc.engine.dictionary import Dictionary
from rulesvc.engine.errors import DefinitionError, DefinitionErrors
from rulesvc.engine.expr.nodes import Arith, Num
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


LEVELS = {"error": 0, "warning": 1, "info": 2}
ROOT = "(document)"


def lint(scheme: Scheme, dictionary: Dictionary) -> list[Finding]:
    """Every finding, errors first, then warnings, then infos (each by path).

    A scheme that does not compile gets its definition errors and, beside them, the checks that need
    no compiled scheme (weights, caps, quotas, the last band); the rest need a compiled scheme."""
    out: list[Finding] = []
    compiled = None
    try:
        compiled = compile_scheme(scheme, dictionary)
    except DefinitionErrors as exc:
        out.extend(_from_error(e) for e in exc.errors)
    except DefinitionError as exc:
        out.append(_from_error(exc))
    for check in _SCHEME_CHECKS:
        out.extend(check(scheme))
    if compiled is not None:
        for compiled_check in _COMPILED_CHECKS:
            out.extend(compiled_check(compiled))
        out.extend(_weight_tables(compiled, dictionary))
    return sorted(out, key=lambda f: (LEVELS[f.level], f.path))


@dataclass(frozen=True)
class Structure:
    """What the structural check of a document found (``rulesvc.schema.messages.check_structure``).

    ``problems``: ``(path, messages)`` in Chinese, every structural error of the document as written;
    ``scheme``: the scheme loaded from the document without the erroneous parts (``None`` when nothing
    checkable remains); ``removed``: path → the value set aside (a bad optional key, or a whole entry of
    ``metrics``, ``indicators``, … whose required key is bad); ``codes``: the codes of the entries set
    aside, which follow-on definition errors would otherwise report as unknown."""

    problems: tuple[tuple[str, tuple[str, ...]], ...] = ()
    scheme: Scheme | None = None
    removed: Mapping[str, Any] = field(default_factory=dict)
    codes: frozenset[str] = frozenset()


def lint_document(doc: Mapping[str, Any], dictionary: Dictionary, *,
                  structure: Callable[[Mapping[str, Any]], Structure]) -> list[Finding]:
    """Every finding of a scheme document in one run: its structural errors, then the definition
    errors of whatever can still be checked, then warnings, then infos — each with its path.

    ``structure`` is the schema layer's check (``rulesvc.schema.messages.check_structure``). When the
    document has structural errors, the remaining checks run on the document without the erroneous
    parts; a definition error or warning that only follows from setting them aside is left out, and
    one info says so."""
    st = structure(doc)
    structural = [Finding("error", path, "；".join(msgs)) for path, msgs in sorted(st.problems)]
    rest: list[Finding] = []
    if st.scheme is not None:
        rest = [f for f in lint(st.scheme, dictionary) if not (st.removed and _follows_from_removal(f, st))]
    notes: list[Finding] = []
    if st.problems and st.scheme is None:
        notes.append(Finding("info", ROOT, "结构错误使其余检查无法进行，请先改正上述错误 "
                                           "(the structural errors leave nothing further to check: fix them first)"))
    elif st.removed:
        shown = list(st.removed)[:8]
        more = f" 等 {len(st.removed)} 处" if len(st.removed) > len(shown) else ""
        notes.append(Finding("info", ROOT, f"其余检查是在去掉有误部分（{'、'.join(shown)}{more}）后的方案上进行的 "
                                           "(the remaining checks ran on the document without the erroneous parts)"))
    by_level = {level: [f for f in rest if f.level == level] for level in LEVELS}
    return [*structural, *by_level["error"], *by_level["warning"], *notes, *by_level["info"]]


# Findings about totals over a section: setting an entry of it aside changes them, so they are not
# reported while something of those sections is set aside (path of the finding → sections it sums).
_AGGREGATES: tuple[tuple[re.Pattern[str], tuple[str, ...]], ...] = (
    (re.compile(r"dimensions"), ("dimensions",)),
    (re.compile(r"combination\.(cap|floor)|grading\.bands\[\d+\]\.min"),
     ("dimensions", "indicators", "adjustments", "combination", "metrics")),
)
_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def _within(path: str, outer: str) -> bool:
    return path == outer or path.startswith((outer + ".", outer + "["))


def _mentions(message: str, code: str) -> bool:
    return any(f"{q}{code}{r}" in message for q, r in (("“", "”"), ("'", "'"), ('"', '"'), ("‘", "’")))


def _strings(value: Any) -> Iterable[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, Mapping):
        for v in value.values():
            yield from _strings(v)
    elif isinstance(value, list | tuple):
        for v in value:
            yield from _strings(v)


def _follows_from_removal(f: Finding, st: Structure) -> bool:
    """A finding that is noise once parts of the document are set aside: about a removed part, naming a
    removed entry (“unknown name 'plea'”), a total over a section that lost an entry, or an entry that
    only a removed entry used (a metric "never used" because the indicator reading it was removed)."""
    if any(_within(f.path, p) for p in st.removed):
        return True
    if any(_mentions(f.message, c) for c in st.codes):
        return True
    for pattern, sections in _AGGREGATES:
        if pattern.fullmatch(f.path) and any(_within(p, s) for p in st.removed for s in sections):
            return True
    if f.level != "error":
        m = re.fullmatch(r"(metrics|indicators|dimensions)\.([A-Za-z_][A-Za-z0-9_]*)(\.adjustment_cap)?", f.path)
        if m:
            used = {w for v in st.removed.values() for text in _strings(v) for w in _IDENT.findall(text)}
            return m[2] in used
    return False


def _from_error(e: DefinitionError) -> Finding:
    msg = e.message + (f"（第 {e.position + 1} 个字符 position {e.position}）" if e.position is not None else "")
    if e.expected:
        msg += f"；应为 (expected): {e.expected}"
    return Finding("error", e.path or "(scheme)", msg)


# -- checks of the scheme as loaded (run even when it does not compile) -------------------------------


def _weights(s: Scheme) -> list[Finding]:
    if s.combination.method != "weighted":
        return []
    out = []
    total = sum(d.weight for d in s.dimensions.values())
    if s.dimensions and total > 0 and not math.isclose(total, 100.0) and not math.isclose(total, 1.0):
        out.append(Finding("warning", "dimensions", f"维度权重合计 {fmt(total)}，不是 100 (weights add up to {fmt(total)}, not 100;"
                                                    " they are used as shares of the total)"))
    for code, d in s.dimensions.items():
        if d.weight == 0:
            out.append(Finding("warning", f"dimensions.{code}.weight", "权重为 0：本维度指标不影响总分 (weight 0: its indicators never count)"))
    return out


def _weight_tables(c: CompiledScheme, dictionary: Dictionary) -> list[Finding]:
    """A weights table that leaves out some values of its field and has no ``default``: those events weigh 0
    and count for nothing — a kind the data dictionary gains later would drop out of the workload unsaid."""
    out = []
    for cm in c.metrics:
        w = cm.weights
        if w is None or w.default != 0:
            continue
        if w.field == "event_type":
            choices = [(t, dictionary.event_types[t].name if t in dictionary.event_types else t) for t in sorted(cm.types)]
        else:
            ftype = event_scope(dictionary, cm.types, "").get(w.field)
            choices = list(ftype.choices) if ftype is not None and ftype.kind == "enum" else []
        left = [f"{k}（{label}）" if label and label != k else k for k, label in choices if k not in w.numerators]
        if left:
            out.append(Finding("warning", f"metrics.{cm.metric.code}.weights",
                               f"系数表没有列出“{w.field}”的取值 {'、'.join(left)}，也没有写 default：这些事件系数为 0，"
                               f"不计入（确应不计的，请在表中写明 0） (values not in the table and no default: "
                               f"those events weigh 0)"))
    return out


def _adjustment_caps(s: Scheme) -> list[Finding]:
    out = []
    for a in s.adjustments.values():
        if a.cap is not None and a.cap < abs(a.points):
            out.append(Finding("warning", f"adjustments.{a.code}.cap",
                               f"封顶 {fmt(a.cap)} 小于单次 {fmt(abs(a.points))} 分：第一次即封顶 (the cap always binds)"))
    for code, d in s.dimensions.items():
        if d.adjustment_cap is None:
            continue
        items = [a for a in s.adjustments.values() if a.dimension == code]
        if not items:
            out.append(Finding("warning", f"dimensions.{code}.adjustment_cap", "本维度没有加减分项，封顶永不生效 (no adjustment: the cap never binds)"))
        elif all(a.cap is not None for a in items):
            up = sum(a.cap or 0.0 for a in items if a.points > 0)  # every cap is set (above)
            down = sum(a.cap or 0.0 for a in items if a.points < 0)
            if max(up, down) <= d.adjustment_cap:
                out.append(Finding("warning", f"dimensions.{code}.adjustment_cap",
                                   f"各项封顶合计 {fmt(max(up, down))} 不超过维度封顶 {fmt(d.adjustment_cap)}：维度封顶永不生效 (never binds)"))
    comb = s.combination
    if comb.floor is not None and comb.floor <= 0 and not any(a.points < 0 for a in s.adjustments.values()) and comb.base >= 0:
        out.append(Finding("info", "combination.floor", "没有扣分项，总分下限不会生效 (no penalty: the floor never binds)"))
    return out


def _bands(s: Scheme) -> list[Finding]:
    g = s.grading
    if g is None or not g.bands:
        return []
    out = []
    if g.bands[-1].min > 0 and s.combination.floor is not None and s.combination.floor < g.bands[-1].min:
        out.append(Finding("warning", f"grading.bands[{len(g.bands) - 1}].min",
                           f"总分低于 {fmt(g.bands[-1].min)} 时没有等次 (totals below the last band get no grade)"))
    quotas = sum(b.quota for b in g.bands if b.quota)
    if quotas > 1:
        out.append(Finding("warning", "grading.bands", f"名额比例合计 {quotas:.0%} 超过 100% (quotas add up to more than 100%)"))
    return out


# -- checks that need the compiled scheme --------------------------------------------------------------


def _dimensions_scored(c: CompiledScheme) -> list[Finding]:
    s = c.scheme
    if s.combination.method != "weighted":
        return []
    return [Finding("warning", f"dimensions.{code}", "本维度没有计分指标，其权重无处落实 (no scored indicator: its weight is lost)")
            for code, d in s.dimensions.items() if d.weight != 0 and c.dimension_max.get(code, 0.0) == 0]


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
            bounds = [float(t[key]) for t in tiers]
            if ind.unit == "%" and pw.derive == "value" and ci.higher_better and bounds \
                    and all(0 < b < 0.01 for b in bounds):
                # A rate whose every bar is under 1% (0.8%, 0.7%): the form asks for 80 to mean 80%, and 0.8 was
                # typed (an audit saved "≥ 0.8% → 6 分" without a word: everyone reached the top tier).
                shown = "、".join(fmt(b, "%") for b in bounds)
                meant = "、".join(fmt(b * 100, "%") for b in bounds)
                out.append(Finding("warning", f"{path}.tiers",
                                   f"各档门槛 {shown} 都低于 1%：如指 {meant}，请按百分数填写（填 80 即 80%）"
                                   f" (every bar is under 1%: if {meant} is meant, write the percentages)"))
            if rng is not None:
                for i, t in enumerate(tiers):
                    v = float(t[key])
                    if (ci.higher_better and v > rng[1]) or (not ci.higher_better and v < rng[0]):
                        out.append(Finding("warning", f"{path}.tiers[{i}].{key}",
                                           f"此档不可达：取值范围为 {fmt(rng[0], ind.unit)}–{fmt(rng[1], ind.unit)} "
                                           f"(unreachable: the value lies in [{rng[0]:g}, {rng[1]:g}])"))
        if ind.scoring.method in ("linear", "pass_fail") and rng is not None:
            for k in ("best", "worst", "threshold"):
                given = ind.scoring.params.get(k)
                if isinstance(given, int | float) and not rng[0] <= given <= rng[1]:
                    out.append(Finding("warning", f"{path}.{k}",
                                       f"{k} = {fmt(given, ind.unit)} 超出取值范围 (outside the value's range)"))
        if ind.scoring.method == "per_unit":
            per, cap = float(ind.scoring.params["points"]), float(ind.scoring.params["cap"])
            if abs(cap) < abs(per):
                out.append(Finding("warning", f"{path}.cap", f"封顶 {fmt(cap)} 小于每件 {fmt(per)} 分：第一件即封顶 (the cap always binds)"))
    return out


def _percent_times_100(c: CompiledScheme) -> list[Finding]:
    """A rate (unit %) whose formula multiplies by 100: its value is then 92 for 92 %, while thresholds typed as
    percentages are kept as fractions (0.92) — every tier is reached, or none (a designer saved ``a / b × 100``
    as a rate with no warning)."""
    out = []
    for ci in c.indicators:
        root = getattr(ci.expr, "root", ci.expr)
        if ci.indicator.unit != "%" or not isinstance(root, Arith) or root.op != "*":
            continue
        if any(isinstance(side, Num) and side.value == 100 for side in (root.left, root.right)):
            out.append(Finding("warning", f"indicators.{ci.indicator.code}.formula",
                               "单位为 %，公式却乘以 100：比率请写成小数（如 a / b，或 a / b × 100%），门槛按百分数填写 "
                               "(a rate times 100: write it as a fraction, a / b)"))
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


def _total_cap(c: CompiledScheme) -> list[Finding]:
    comb = c.scheme.combination
    if comb.cap is None:
        return []
    uncapped = comb.base + (comb.span if comb.method == "weighted" else sum(c.dimension_max.values()))
    bonus = [ca.adjustment for ca in c.adjustments if ca.adjustment.points > 0]
    caps = [a.cap for a in bonus if a.cap is not None]
    if len(caps) == len(bonus) and uncapped + sum(caps) <= comb.cap:
        return [Finding("warning", "combination.cap",
                        f"总分最高 {fmt(uncapped + sum(caps))}，总分封顶 {fmt(comb.cap)} 永不生效 (never binds)")]
    return []


def _grades(c: CompiledScheme) -> list[Finding]:
    g = c.scheme.grading
    if g is None:
        return []
    top = _max_total(c)
    return [Finding("warning", f"grading.bands[{i}].min",
                    f"“{b.grade}”分数线 {fmt(b.min)} 高于可能的最高总分 {fmt(top)}：不可达 (unreachable)")
            for i, b in enumerate(g.bands) if b.min > top]


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


def _veto_caps(s: Scheme) -> list[Finding]:
    """A veto capping the grade at the best band caps nothing (a designer saved "等次最高为优秀" with no warning)."""
    if s.grading is None or not s.grading.bands:
        return []
    best = s.grading.bands[0].grade
    return [Finding("warning", f"vetoes.{code}.effects[{i}].grade",
                    f"“等次最高为{best}”：{best}已是最高等次，这一后果不限制任何人 (capping at the best grade caps nothing)")
            for code, v in s.vetoes.items() for i, e in enumerate(v.effects)
            if e.effect == "cap_grade" and e.grade == best]


def _participation(s: Scheme) -> list[Finding]:
    """Choices about who is graded that a designer should make knowingly."""
    out = []
    if s.grading is not None:
        for i, b in enumerate(s.grading.bands):
            if b.quota is not None and b.quota_rounding == "floor" and b.quota < 1:
                smallest = math.ceil(1 / b.quota - 1e-9)
                out.append(Finding("info", f"grading.bands[{i}].quota_rounding",
                                   f"名额向下取整：不足 {smallest} 人的组没有“{b.grade}”名额（{b.quota:.0%} × {smallest - 1} 人 < 1）"
                                   f" (rounded down: a group of fewer than {smallest} has no place)"))
    if s.participants.no_activity == "score":
        out.append(Finding("info", "participants.no_activity",
                           "零办案的考评对象照常评等次：比率等没有数据的指标按各自的 missing 规则计分，计数按 0 计分，"
                           "加减分项照计；他们得多少分，请用模拟测评查看 (subjects without activity are graded: indicators "
                           "without data score by their own missing rule, counts score as 0, bonus and penalty items "
                           "apply; a simulation shows what they score)"))
    return out


_SCHEME_CHECKS: tuple[Callable[[Scheme], list[Finding]], ...] = (_weights, _adjustment_caps, _bands, _participation,
                                                                 _veto_caps)
_COMPILED_CHECKS: tuple[Callable[[CompiledScheme], list[Finding]], ...] = (
    _dimensions_scored, _tiers, _unused, _total_cap, _grades, _durable_limits, _percent_times_100)
