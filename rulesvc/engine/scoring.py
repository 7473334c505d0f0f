"""Scoring methods: a registry; every method compiles to a piecewise-affine function of one number.

Each method turns its parameters into

- a **derivation** of x from the indicator's value: the value itself, its percentile in the peer
  group, its ratio to the peer average, or its ratio to the best performer, and
- **branches**: half-open intervals ``lo <= x < hi`` (the last one closed where it must be), each
  with points ``a + b·x``, clipped to the branch's ``[min_points, max_points]``.

So both executors treat every method alike: durable_rules fires the branch whose interval holds x,
polars selects it with one ``when/then`` chain, and "which rule fired" is the branch id in both.
Adding a method = adding a class with ``@register``.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, ClassVar

from rulesvc.engine.errors import DefinitionError

INF = math.inf


@dataclass(frozen=True)
class Branch:
    """Points ``a + b·x`` for ``lo <= x < hi`` (``hi`` included when ``hi_closed``)."""

    id: str
    lo: float
    hi: float
    a: float
    b: float = 0.0
    hi_closed: bool = False
    text: str = ""  # the rule in words, with {x} and {points} filled in by explain()

    def holds(self, x: float) -> bool:
        return self.lo <= x and (x < self.hi or (self.hi_closed and x == self.hi))

    def points(self, x: float) -> float:
        return self.a + self.b * x if self.b else self.a


EDGE_TOLERANCE = 1e-9  # far below any written threshold's precision, far above float residue (~1e-16 relative)


@dataclass(frozen=True)
class Piecewise:
    """A compiled scoring rule: how to derive x, its branches, and the points of a missing value."""

    derive: str
    branches: tuple[Branch, ...]
    missing_points: float
    max_points: float
    min_points: float
    higher_better: bool
    unit: str = ""

    @functools.cached_property
    def by_id(self) -> Mapping[str, Branch]:
        """Branch id → branch (a compiled rule is immutable: built once)."""
        return {br.id: br for br in reversed(self.branches)}  # the first of a repeated id, as a search finds

    @functools.cached_property
    def stated_edges(self) -> tuple[float, ...]:
        """The thresholds the rule's words state. A branch edge is the threshold itself, or — where
        reaching t means x ≤ t — the float just above t; of the two, the one a designer wrote is the
        shorter (``rulesvc.engine.explain`` shows values apart from them)."""
        out: list[float] = []
        for br in self.branches:
            for e in (br.lo, br.hi):
                if math.isfinite(e):
                    out.append(min((e, math.nextafter(e, -math.inf)), key=lambda v: len(repr(v))))
        return tuple(out)

    @functools.cached_property
    def snap_edges(self) -> tuple[tuple[float, float], ...]:
        """Each stated edge once, with how near a number must be to count as on it (``peers.snap_x``):
        :data:`EDGE_TOLERANCE` of the edge (of 1 for edges under 1)."""
        return tuple((e, EDGE_TOLERANCE * max(1.0, abs(e))) for e in dict.fromkeys(self.stated_edges))

    @functools.cached_property
    def shown_edges(self) -> dict[str, dict[str, list[float]]]:
        """Memo of ``rulesvc.engine.explain``: unit → an edge as people read it → the stated edges shown so."""
        return {}

    def branch_for(self, x: float) -> Branch:
        for br in self.branches:
            if br.holds(x):
                return br
        raise AssertionError(f"no branch holds {x}: branches must cover the real line")  # compile checks it


def _num(params: Mapping[str, Any], key: str, path: str, *, default: float | None = None) -> float:
    raw = params.get(key, default)
    if raw is None:
        method = params.get("method")
        said = f"“{method}” 计分方法" if isinstance(method, str) else "此处"
        raise DefinitionError(f"{said}必须写明 {key}（一个数值） ({key} is required here: a number)",
                              path=f"{path}.{key}", expected="number")
    if isinstance(raw, bool) or not isinstance(raw, int | float) or not math.isfinite(raw):
        raise DefinitionError(f"需要一个数值，当前为 {raw!r} (a finite number is required)", path=f"{path}.{key}",
                              expected="number")
    return float(raw)


def fmt(x: float, unit: str = "") -> str:
    """Numbers as people read them: 0.844 with unit % → 84.4%; 2.0 → 2; 2.3 with unit ratio → 1:2.3."""
    if unit == "%":
        return f"{x * 100:.1f}%".replace(".0%", "%")
    if math.isinf(x):
        return "∞" if x > 0 else "−∞"
    if unit == "ratio":  # 案-件比 as the bulletins write it: 1:2.3
        return "1:" + fmt(x)
    return f"{x:.4f}".rstrip("0").rstrip(".") if not float(x).is_integer() else str(int(x))


def points_en(number: str) -> str:
    """The English word for a number of points as it is written: "point" for 1 (or −1), else "points"."""
    return "point" if number.lstrip("+-−") == "1" else "points"


def round_half_up(x: float, digits: int = 2) -> Decimal:
    """``x`` to ``digits`` decimals, rounded half up (四舍五入) on the decimal it reads as (its shortest ``repr``):
    88.725 → 88.73 as a designer rounds it, not 88.72 as its nearest binary double (88.72499…) would."""
    return Decimal(repr(float(x))).quantize(Decimal(1).scaleb(-digits), rounding=ROUND_HALF_UP)


def fmt_total(x: float, digits: int = 2) -> str:
    """A total as pages and reasons write it: ``digits`` decimals, rounded half up (:func:`round_half_up`).
    Formatting the double gives the same digits except where the decimal it reads as ends in a 5 just past
    ``digits`` (88.725 at 2): only those go through :class:`~decimal.Decimal` (grade reasons of a whole province
    are written in a bulk run's scoring step)."""
    if not math.isfinite(x):
        return fmt(x)
    text = repr(float(x))
    point = text.find(".")
    if "e" in text or point < 0 or len(text) - point - 1 != digits + 1 or text[-1] != "5":
        return f"{x:.{digits}f}"
    return str(round_half_up(x, digits))


class Method:
    """Base of scoring methods. Subclasses set ``name``, ``label`` and implement ``compile``."""

    name: ClassVar[str]
    label: ClassVar[str]
    params_doc: ClassVar[str] = ""
    params: ClassVar[tuple[str, ...]] = ()  # the parameters it takes (anything else is a typo)

    def compile(self, params: Mapping[str, Any], *, higher_better: bool, unit: str, path: str) -> Piecewise:
        raise NotImplementedError


REGISTRY: dict[str, Method] = {}


def register(cls: type[Method]) -> type[Method]:
    REGISTRY[cls.name] = cls()
    return cls


def method(name: str, path: str) -> Method:
    try:
        return REGISTRY[name]
    except KeyError:
        raise DefinitionError(f"未知的计分方法“{name}”（可用：{', '.join(sorted(REGISTRY))}）"
                              f" (unknown scoring method {name!r})", path=path, expected=", ".join(sorted(REGISTRY))) from None


def _linear(lo_x: float, lo_pts: float, hi_x: float, hi_pts: float) -> tuple[float, float]:
    b = (hi_pts - lo_pts) / (hi_x - lo_x)
    return lo_pts - b * lo_x, b


def _ramp(worst: float, best: float, points: float, unit: str, prefix: str, floor_pts: float = 0.0) -> tuple[Branch, ...]:
    """0 (or floor) at ``worst``, ``points`` at ``best``, straight line between, clipped outside."""
    a, b = _linear(worst, floor_pts, best, points)
    w, be = fmt(worst, unit), fmt(best, unit)
    between = f"{{x}} 在 {w} 与 {be} 之间，按比例计 {{points}} 分"
    if worst < best:
        return (
            Branch(f"{prefix}below", -INF, worst, floor_pts, text=f"{{x}} 未达到 {w} → {fmt(floor_pts)} 分"),
            Branch(f"{prefix}linear", worst, best, a, b, text=between),
            Branch(f"{prefix}top", best, INF, points, hi_closed=True, text=f"{{x}} 达到 {be} → 满分 {fmt(points)} 分"),
        )
    # Lower is better: reaching ``best`` (x <= best) is full marks, so the top interval includes it.
    edge = math.nextafter(best, INF)
    return (
        Branch(f"{prefix}top", -INF, edge, points, text=f"{{x}} 达到 {be} → 满分 {fmt(points)} 分"),
        Branch(f"{prefix}linear", edge, worst, a, b, text=between),
        Branch(f"{prefix}below", worst, INF, floor_pts, hi_closed=True, text=f"{{x}} 不优于 {w} → {fmt(floor_pts)} 分"),
    )


@register
class Linear(Method):
    """Linear between two anchors: ``worst`` → 0 points, ``best`` → ``points``, clipped outside."""

    name = "linear"
    label = "两点线性"
    params_doc = "worst, best, points"
    params = ("worst", "best", "points")

    def compile(self, params: Mapping[str, Any], *, higher_better: bool, unit: str, path: str) -> Piecewise:
        worst, best, pts = _num(params, "worst", path), _num(params, "best", path), _num(params, "points", path)
        if worst == best:
            raise DefinitionError("best 与 worst 不能相等 (best must differ from worst)", path=f"{path}.best")
        if (best > worst) != higher_better:
            raise DefinitionError("best 与指标方向不一致 (best contradicts the indicator's direction)", path=f"{path}.best", expected=f"best {'>' if higher_better else '<'} worst")
        return Piecewise("value", _ramp(worst, best, pts, unit, ""), 0.0, max(pts, 0), min(pts, 0), higher_better, unit)


@register
class Tiers(Method):
    """Ordered thresholds: the first tier the value reaches gives its points.

    ``tiers: [{min: 0.9, points: 10}, {min: 0.85, points: 8}, …]`` for higher-is-better, ``max:`` for
    lower-is-better. Below the last tier scores ``else`` (default 0).
    """

    name = "tiers"
    label = "分档计分"
    params_doc = "tiers: [{min|max, points}], else"
    params = ("tiers", "else")

    def compile(self, params: Mapping[str, Any], *, higher_better: bool, unit: str, path: str) -> Piecewise:
        tiers = params.get("tiers")
        if not isinstance(tiers, Sequence) or isinstance(tiers, str) or not tiers:
            raise DefinitionError("需要至少一档 (at least one tier is required)", path=f"{path}.tiers", expected="list")
        key = "min" if higher_better else "max"
        bounds: list[tuple[float, float]] = []
        for i, t in enumerate(tiers):
            if not isinstance(t, Mapping) or key not in t:
                other = "max" if key == "min" else "min"
                hint = f"（本指标越{'高' if higher_better else '低'}越好，应写 {key}）" if isinstance(t, Mapping) and other in t else ""
                raise DefinitionError(f"每档需要 {key} 与 points{hint} (each tier needs {key} and points)", path=f"{path}.tiers[{i}]", expected=f"{{{key}: number, points: number}}")
            bounds.append((_num(t, key, f"{path}.tiers[{i}]"), _num(t, "points", f"{path}.tiers[{i}]")))
        for i in range(1, len(bounds)):
            prev, cur = bounds[i - 1][0], bounds[i][0]
            if (cur >= prev) if higher_better else (cur <= prev):
                raise DefinitionError(f"档位须从优到劣排列且不重叠：{fmt(cur, unit)} 应{'小于' if higher_better else '大于'} {fmt(prev, unit)}"
                                      f" (tiers must run from best to worst without overlap)", path=f"{path}.tiers[{i}].{key}")
        else_pts = _num(params, "else", path, default=0.0)
        branches: list[Branch] = []
        if higher_better:
            upper = INF
            for i, (lo, pts) in enumerate(bounds):
                branches.append(Branch(f"tier{i + 1}", lo, upper, pts, hi_closed=upper == INF,
                                       text=f"{{x}} 在“≥ {fmt(lo, unit)}”档 → {fmt(pts)} 分"))
                upper = lo
            branches.append(Branch("else", -INF, upper, else_pts, text=f"{{x}} 低于 {fmt(upper, unit)}，不在任何一档 → {fmt(else_pts)} 分"))
            branches.reverse()
        else:
            lower = -INF
            for i, (hi, pts) in enumerate(bounds):
                # lower-is-better: x <= hi qualifies, so the interval is (lower, hi] — shift to half-open
                # on the next representable float to keep one interval convention.
                branches.append(Branch(f"tier{i + 1}", lower, math.nextafter(hi, INF), pts,
                                       text=f"{{x}} 在“≤ {fmt(hi, unit)}”档 → {fmt(pts)} 分"))
                lower = math.nextafter(hi, INF)
            branches.append(Branch("else", lower, INF, else_pts, hi_closed=True,
                                   text=f"{{x}} 高于 {fmt(bounds[-1][0], unit)}，不在任何一档 → {fmt(else_pts)} 分"))
        pts_all = [p for _, p in bounds] + [else_pts]
        return Piecewise("value", tuple(branches), 0.0, max(pts_all), min(pts_all), higher_better, unit)


@register
class PerUnit(Method):
    """Points per unit of the value (e.g. 2 points per supervised filing), capped at ``cap``."""

    name = "per_unit"
    label = "按件计分（封顶）"
    params_doc = "points, cap"
    params = ("points", "cap")

    def compile(self, params: Mapping[str, Any], *, higher_better: bool, unit: str, path: str) -> Piecewise:
        per, cap = _num(params, "points", path), _num(params, "cap", path)
        if per == 0 or cap == 0 or (per > 0) != (cap > 0):
            raise DefinitionError("points 与 cap 须同号且非零 (points and cap need the same sign)", path=f"{path}.cap")
        full = cap / per
        return Piecewise("value", (
            Branch("none", -INF, 0.0, 0.0, text="{x} 无计分事项 → 0 分"),
            Branch("per_unit", 0.0, full, 0.0, per, text=f"{{x}} × {fmt(per)} 分 = {{points}} 分"),
            Branch("capped", full, INF, cap, hi_closed=True, text=f"{{x}} × {fmt(per)} 分，封顶 {fmt(cap)} 分"),
        ), 0.0, max(cap, 0), min(cap, 0), higher_better, unit)


@register
class PassFail(Method):
    """Reaching the threshold scores ``points``, otherwise ``fail_points`` (default 0)."""

    name = "pass_fail"
    label = "达标计分"
    params_doc = "threshold, points, fail_points"
    params = ("threshold", "points", "fail_points")

    def compile(self, params: Mapping[str, Any], *, higher_better: bool, unit: str, path: str) -> Piecewise:
        thr, pts = _num(params, "threshold", path), _num(params, "points", path)
        fail = _num(params, "fail_points", path, default=0.0)
        t = fmt(thr, unit)
        if higher_better:
            brs = (Branch("fail", -INF, thr, fail, text=f"{{x}} 未达到 {t} → {fmt(fail)} 分"),
                   Branch("pass", thr, INF, pts, hi_closed=True, text=f"{{x}} 达到 {t} → {fmt(pts)} 分"))
        else:
            up = math.nextafter(thr, INF)
            brs = (Branch("pass", -INF, up, pts, text=f"{{x}} 不高于 {t} → {fmt(pts)} 分"),
                   Branch("fail", up, INF, fail, hi_closed=True, text=f"{{x}} 高于 {t} → {fmt(fail)} 分"))
        return Piecewise("value", brs, fail, max(pts, fail), min(pts, fail), higher_better, unit)


class _Relative(Method):
    """Shared by methods that score a derived relative position linearly between two anchors."""

    derive: ClassVar[str]
    anchors: ClassVar[tuple[float, float]]  # default (worst x, best x)
    anchor_unit: ClassVar[str] = ""  # how the anchors read in the rule's words ("%": a percentile's 0.9 reads 90%)
    params = ("points", "worst", "best")

    def compile(self, params: Mapping[str, Any], *, higher_better: bool, unit: str, path: str) -> Piecewise:
        pts = _num(params, "points", path)
        worst = _num(params, "worst", path, default=self.anchors[0])
        best = _num(params, "best", path, default=self.anchors[1])
        if worst >= best:
            raise DefinitionError("best 须大于 worst (best must exceed worst: x is oriented so higher is better)", path=f"{path}.best")
        return Piecewise(self.derive, _ramp(worst, best, pts, self.anchor_unit, ""), 0.0, max(pts, 0), min(pts, 0), higher_better,
                         unit)


@register
class Percentile(_Relative):
    """Percentile within the peer group (best = 1, worst = 0), scored linearly (rank-based scoring)."""

    name = "percentile"
    label = "组内百分位"
    params_doc = "points, worst=0, best=1"
    derive = "percentile"
    anchors = (0.0, 1.0)
    anchor_unit = "%"  # "组内百分位 87.5% 在 0% 与 100% 之间", never "… 在 0 与 1 之间"


@register
class RatioToAverage(_Relative):
    """Value ÷ peer average (oriented so that better is higher), scored linearly between anchors."""

    name = "ratio_to_avg"
    label = "与平均值之比"
    params_doc = "points, worst=0.5, best=1.5"
    derive = "ratio_to_avg"
    anchors = (0.5, 1.5)


@register
class RatioToBest(_Relative):
    """Own ÷ best performer's value (e.g. own ÷ highest × 60): 1 for the best, linear down to 0."""

    name = "ratio_to_best"
    label = "与最优者之比"
    params_doc = "points, worst=0, best=1"
    derive = "ratio_to_best"
    anchors = (0.0, 1.0)


def check_coverage(pw: Piecewise, path: str) -> None:
    """Branches must tile the real line without gaps or overlaps (a value always scores exactly once)."""
    edge = -INF
    for br in pw.branches:
        if br.lo != edge:
            raise DefinitionError(f"计分区间有缺口或重叠：{fmt(edge)} 到 {fmt(br.lo)} (gap or overlap)", path=path)
        edge = br.hi
    if edge != INF or not pw.branches[-1].hi_closed:
        raise DefinitionError("计分区间未覆盖全部取值 (branches do not cover every value)", path=path)
