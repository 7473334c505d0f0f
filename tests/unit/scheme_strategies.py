"""Hypothesis strategies for the differential fuzz test: valid scheme documents and data sets.

Documents are valid *by construction* (no ``assume``): names come from the real data dictionary,
filters are built from the fields every event type of the filter shares (the compiler's own
``event_scope``), scoring parameters respect each method's rules (direction, ordering, signs), and
``where`` filters that durable_rules would run are kept within its documented limits.

Data sets are rows in the shape ``rulesvc.services.facts.frame_from_rows`` reads from the database
(``event_id, event_type, prosecutor_id, procuratorate_id, case_id, occurred_on, attrs_json``) plus a
subjects frame shaped like ``subjects_frame`` / ``procuratorates_frame``. Attribute values come from
small pools (ties, duplicates, zeros, the dictionary's minimum and maximum) and optional fields are
often missing; case ids are drawn from a small shared pool so that case patterns match sometimes.

Features that currently make the executors fail on valid documents (reported, see the test module)
are behind the ``FIXED_*`` switches below: turn one on once its bug is fixed.
"""

from __future__ import annotations

import datetime as dt
import json
import random
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import polars as pl
from hypothesis import strategies as st

from rulesvc.config import PROJECT_ROOT
from rulesvc.engine import expr as X
from rulesvc.engine.backends.conditions import MAX_BOOL_OPS_PER_RULE, count_bool_ops, parse_condition
from rulesvc.engine.compile import event_scope
from rulesvc.engine.dictionary import load_dictionary

DICT = load_dictionary(PROJECT_ROOT / "rules")
EVENT_TYPES = sorted(DICT.event_types)
CASE_TYPES = [t for t in EVENT_TYPES if DICT.event_types[t].requires_case]
BUSINESSES = [(b.code, b.line) for b in DICT.businesses]
LINES = sorted({line for _, line in BUSINESSES})

#: Ordering comparisons on dates/text (``accepted_on >= date('2020-01-15')``) in adjustment and veto
#: filters: the scheme compiles, but durable_rules refuses the rule set at evaluation time.
FIXED_TEXT_ORDER_IN_DURABLE_FILTERS = True
#: Metric/indicator codes equal to a column of the subjects frame or of the bulk output
#: (``line``, ``level``, ``procuratorate_id``, ``grade``, ``rank`` …): the bulk executor crashes or
#: silently reads the wrong column.
FIXED_RESERVED_CODES = False  # refused at compile time now (tested separately), so not generated
#: polars divides a column by a scalar as a multiplication by its reciprocal (``x / 10`` is ``x * 0.1``):
#: a formula with a literal divisor, or a contribution ``points / dimension max`` when every subject has
#: the same maximum, is an ulp off Python's value. When False, the generator writes no literal divisors
#: and the check forgives grades that differ only because of such an ulp (everything else stays strict).
FIXED_SCALAR_DIVISION = True
#: A weighted scheme whose only dimensions with something to score have weight 0: the per-subject
#: evaluator divides by zero (``share / live``), the bulk executor returns NaN totals.
FIXED_ZERO_WEIGHT_DIMENSION = True
#: A weighted dimension whose indicators can only lose points (maximum < 0): per subject its points are
#: divided by that negative maximum (a penalty adds to the total), in bulk it contributes nothing.
FIXED_NEGATIVE_DIMENSION_MAX = True
#: Pattern step names that clash with the case facts' own keys (``adj``, ``t``, ``id``, ``case_id``,
#: the subject key) or are not identifiers (``step 1``).
FIXED_ODD_STEP_NAMES = False  # refused at compile time now (tested separately), so not generated

#: The period every generated data set covers (who was in office, and for what share of it).
PERIOD = (dt.date(2020, 1, 1), dt.date(2020, 1, 31))
TITLES = ["检察长", "副检察长", "检察委员会专职委员"]

RESERVED_CODES = ["line", "level", "procuratorate_id", "department_id", "business_code", "grade", "rank",
                  "code", "name"]
STEP_NAMES = ["returns", "dropped", "first", "second", "退查", "不起诉"]
ODD_STEP_NAMES = ["adj", "t", "id", "case_id", "step 1", "x", "missing"]

# -- value pools: ties and boundary values on purpose ------------------------------------------------------

NICE = [0.0, 0.1, 0.2, 0.25, 1 / 3, 0.35, 0.5, 0.6, 2 / 3, 0.7, 0.75, 0.8, 0.9, 1.0, 1.2, 1.5, 2.0, 2.5, 3.0, 4.0, 5.0, 10.0,
        20.0, 100 / 3, 50.0, 100.0]
POINTS = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 8.0, 10.0, 0.5, 2.5, 0.1, 0.7, 7.3, 15.0]
ADJ_POINTS = [-5.0, -3.0, -2.0, -1.0, -0.5, -0.1, 0.5, 1.0, 2.0, 3.0, 5.0]
STRINGS = {
    "suspect_id": ["S1", "S2", "S'3"],  # a quote: escaped in filters, in durable's JSON and in polars
    "charge": ["盗窃", "诈骗", "危险驾驶"],
    "no_plea_reason": ["拒不认罪", "其他"],
    "reason": ["证据变化", "其他"],
    "title": ["十佳", "优秀公诉人"],
    "note": ["说明", "a\\b"],
}
DATES = ["2019-12-31", "2020-01-01", "2020-01-10", "2020-01-15", "2020-01-31"]
CASES = [f"C{i}" for i in range(1, 9)]


def number_pool(fdef: Any) -> list[float]:
    lo = fdef.minimum if fdef.minimum is not None else 0
    hi = fdef.maximum if fdef.maximum is not None else lo + 100
    if fdef.type == "int":
        return sorted({float(v) for v in (lo, lo + 1, lo + 2, (lo + hi) // 2, hi) if lo <= v <= hi})
    return sorted({float(v) for v in (lo, 0.5, 100, 1234.56, 5000, hi) if lo <= v <= hi})


def field_pool(name: str, fdef: Any) -> list[Any]:
    if fdef.type == "bool":
        return [True, False]
    if fdef.type in ("int", "float"):
        return number_pool(fdef)
    if fdef.type == "enum":
        return list(fdef.choices)
    if fdef.type == "date":
        return DATES
    return STRINGS.get(name, ["甲", "乙"])


def _field_def(types: Sequence[str], name: str) -> Any:
    for t in types:
        f = DICT.event_types[t].fields.get(name)
        if f is not None:
            return f
    return None


# -- filters ------------------------------------------------------------------------------------------------

def _q(s: str) -> str:
    return "'" + s.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _num(x: float) -> str:
    return repr(float(x)) if not float(x).is_integer() else str(int(x))


AND = ["and", "and", "&&", "且", "AND"]
OR = ["or", "or", "||", "或", "OR"]
NOT = ["not ", "not ", "!", "非 "]


@st.composite
def atom(draw, types: Sequence[str], *, text_order: bool) -> str:
    """One condition on one field of ``types`` (or on the common columns)."""
    scope = event_scope(DICT, frozenset(types), "")
    name = draw(st.sampled_from(sorted(scope)))
    t = scope[name]
    kind = t.kind
    if name == "event_type":
        pool = list(types)
    elif name == "case_id":
        pool = CASES[:4]
    elif name == "occurred_on":
        pool = DATES
    else:
        pool = field_pool(name, _field_def(types, name))
    if kind == "bool":
        return draw(st.sampled_from([
            name, f"not {name}", f"{name} == true", f"{name} == false", f"{name} != true", f"!{name}",
            f"coalesce({name}, false)", f"if({name}, true, false)",  # not translatable: computed as a flag
        ]))
    if kind == "enum":
        keys = [k for k, _ in t.choices]
        labels = dict(t.choices)

        def lit(k: str) -> str:
            return _q(labels[k] if draw(st.integers(0, 4)) == 0 and labels.get(k) else k)  # the Chinese label

        form = draw(st.integers(0, 5))
        if form <= 1:
            return f"{name} {draw(st.sampled_from(['==', '!=']))} {lit(draw(st.sampled_from(keys)))}"
        if form == 2:
            return f"{lit(draw(st.sampled_from(keys)))} == {name}"
        some = draw(st.lists(st.sampled_from(keys), min_size=1, max_size=3))
        neg = draw(st.sampled_from(["in", "not in"]))
        return f"{name} {neg} [{', '.join(lit(k) for k in some)}]"
    if kind == "number":
        c = draw(st.sampled_from(pool))
        form = draw(st.integers(0, 7))
        op = draw(st.sampled_from(["==", "!=", "<", "<=", ">", ">="]))
        if form <= 3:
            return f"{name} {op} {_num(c)}"
        if form == 4:
            return f"{_num(c)} {op} {name}"
        if form == 5:
            some = draw(st.lists(st.sampled_from(pool), min_size=1, max_size=3))
            return f"{name} {draw(st.sampled_from(['in', 'not in']))} [{', '.join(_num(x) for x in some)}]"
        if form == 6:
            return f"{name} * 2 {op} {_num(c)}"  # arithmetic: not translatable
        return f"abs({name} - {_num(c)}) <= 1"
    if kind == "date":
        d = draw(st.sampled_from(DATES))
        form = draw(st.integers(0, 3))
        if form == 0 or (form == 1 and not text_order):
            return f"{name} {draw(st.sampled_from(['==', '!=']))} date({_q(d)})"
        if form == 1:
            return f"{name} {draw(st.sampled_from(['<', '<=', '>', '>=']))} date({_q(d)})"
        if form == 2:
            return f"days_between({name}, date('2020-01-31')) {draw(st.sampled_from(['>', '<=']))} 20"
        return f"{name} in [date({_q(d)}), date('2020-01-01')]"
    # string
    c = draw(st.sampled_from(pool))
    form = draw(st.integers(0, 3))
    if form == 0:
        return f"{name} {draw(st.sampled_from(['==', '!=']))} {_q(c)}"
    if form == 1:
        some = draw(st.lists(st.sampled_from(pool), min_size=1, max_size=3))
        return f"{name} {draw(st.sampled_from(['in', 'not in']))} [{', '.join(_q(x) for x in some)}]"
    if form == 2 and text_order:
        return f"{name} {draw(st.sampled_from(['<', '>=']))} {_q(c)}"
    return f"{_q(c)} != {name}"


@st.composite
def condition(draw, types: Sequence[str], *, text_order: bool, depth: int = 2) -> str:
    """A random ``where``: atoms combined with and/or/not (every spelling), up to ``depth`` levels."""
    if depth == 0 or draw(st.integers(0, 2)) == 0:
        return draw(atom(types, text_order=text_order))
    form = draw(st.integers(0, 4))
    if form == 0:
        return draw(st.sampled_from(NOT)) + "(" + draw(condition(types, text_order=text_order, depth=depth - 1)) + ")"
    word = draw(st.sampled_from(AND if form <= 2 else OR))
    parts = draw(st.lists(condition(types, text_order=text_order, depth=depth - 1), min_size=2, max_size=3))
    return f" {word} ".join(f"({p})" for p in parts)


def durable_bool_ops(text: str, types: Sequence[str]) -> int:
    """$and/$or nodes the durable rule for an adjustment/veto with this filter holds (limit: 12)."""
    e = X.parse_typed(text, event_scope(DICT, frozenset(types), ""), want="bool")
    try:
        cond = X.compile_durable(e)
    except X.NotTranslatable:
        return 1 + (len(types) > 1)  # computed in Python, asserted as one boolean
    return 1 + (len(types) > 1) + count_bool_ops(parse_condition(cond, "where"))


@st.composite
def durable_filter(draw, types: Sequence[str]) -> str | None:
    """A filter for an adjustment or veto: durable_rules runs it, so keep it within its limits."""
    if draw(st.integers(0, 3)) == 0:
        return None
    text = draw(condition(types, text_order=FIXED_TEXT_ORDER_IN_DURABLE_FILTERS))
    if durable_bool_ops(text, types) > MAX_BOOL_OPS_PER_RULE:  # `rulesvc lint` reports these as errors
        text = draw(atom(types, text_order=FIXED_TEXT_ORDER_IN_DURABLE_FILTERS))
    return text


# -- scheme documents ---------------------------------------------------------------------------------------

def _types_from(draw, pool: Sequence[str], most: int = 2) -> list[str]:
    return draw(st.lists(st.sampled_from(list(pool)), min_size=1, max_size=most, unique=True))


def _events_key(draw, types: list[str]) -> dict[str, Any]:
    return {"event": types[0]} if len(types) == 1 and draw(st.booleans()) else {"events": types}


@st.composite
def metric_doc(draw, pool: Sequence[str]) -> dict[str, Any]:
    types = _types_from(draw, pool)
    scope = event_scope(DICT, frozenset(types), "")
    numeric = sorted(n for n, t in scope.items() if t.kind == "number")
    doc: dict[str, Any] = _events_key(draw, types)
    aggs = ["count"] * 4 + ["distinct"] * 2 + (["sum"] * 3 + ["avg", "min", "max"] if numeric else [])
    agg = draw(st.sampled_from(aggs))
    if agg != "count" or draw(st.integers(0, 4)) == 0:
        doc["agg"] = agg
    if agg == "distinct":
        doc["field"] = "case_id" if draw(st.booleans()) else draw(st.sampled_from(sorted(scope)))
    elif agg != "count":
        doc["field"] = draw(st.sampled_from(numeric))
    if draw(st.booleans()):
        doc["where"] = draw(condition(types, text_order=True))  # metrics are computed in Python / polars only
    if agg in ("count", "sum") and draw(st.integers(0, 3)) == 0:
        doc["weights"] = draw(weights_doc(types))
    return doc


@st.composite
def weights_doc(draw, types: Sequence[str]) -> dict[str, Any]:
    """A lookup table of weights by event type or by an enum field the types share (exact fractions)."""
    scope = event_scope(DICT, frozenset(types), "")
    enums = sorted(n for n, t in scope.items() if t.kind == "enum")
    by = draw(st.sampled_from(["event_type", *enums]))
    keys = list(types) if by == "event_type" else [k for k, _ in scope[by].choices]
    chosen = draw(st.lists(st.sampled_from(keys), min_size=1, max_size=len(keys), unique=True))
    pool = [1, 2, 0, 0.5, "4/3", "1/3", "2/3", 1.5, "7/6", -1]
    doc: dict[str, Any] = {"by": by, "table": {k: draw(st.sampled_from(pool)) for k in chosen}}
    if draw(st.booleans()):
        doc["default"] = draw(st.sampled_from([0, 1, "1/2"]))
    return doc


def _formula(draw, metrics: Sequence[str], earlier: Sequence[str]) -> str:
    m = st.sampled_from(list(metrics))
    a, b, c = draw(m), draw(m), draw(m)
    forms = [f"{a} / {b}", f"{a} / {b}", f"({a} + {b}) / {c}", a, f"{a} + {b}", f"{a} - {b}", f"{a} / {b} * 100",
             f"min({a}, 3)", f"if({b} > 0, {a} / {b}, 0)", f"round({a} / {b})", f"max({a}, {b})",
             f"clip({a} / {b}, 0, 1)", f"abs({a} - {b})", f"coalesce({a} / {b}, 0)"]
    if earlier:
        i = draw(st.sampled_from(list(earlier)))
        forms += [f"{i} * 2", f"1 - {i}", f"{i} + {a}", f"{i} / {a}", f"coalesce({i}, 0)"]
    # What the subject is: a leader's count weighted (Yunnan), a business, a level, time in office.
    forms += [f"if(is_leader, {a} * 2, {a})", f"{a} * office_share", f"if(business == 'civil', {a}, {b})",
              f"if(level == 'county', {a}, {b} + 1)", f"if(leader_title == '检察长', {a} / 3, {a})",
              f"if(line in ['criminal', 'civil'], {a}, 0)"]
    if FIXED_SCALAR_DIVISION:
        forms += [f"{a} / 10", f"({a} + {b}) / 3", f"{a} / 12 * 100", f"round({a} / {b}, 2)"]  # round: r / 10**n
    return draw(st.sampled_from(forms))


def _distinct_sorted(draw, pool: Sequence[float], n: int, *, descending: bool) -> list[float]:
    vals = draw(st.lists(st.sampled_from(list(pool)), min_size=n, max_size=n, unique=True))
    return sorted(vals, reverse=descending)


@st.composite
def scoring_doc(draw, hb: bool) -> dict[str, Any]:
    """A scoring rule with valid parameters for an indicator of direction ``hb`` (higher is better)."""
    method = draw(st.sampled_from(["linear", "tiers", "tiers", "per_unit", "pass_fail", "percentile",
                                   "ratio_to_avg", "ratio_to_best"]))
    pts = draw(st.sampled_from(POINTS))
    if draw(st.integers(0, 12)) == 0:
        pts = -pts  # a penalty indicator
    doc: dict[str, Any] = {"method": method}
    if method == "linear":
        lo, hi = _distinct_sorted(draw, NICE, 2, descending=False)
        doc.update(worst=lo, best=hi) if hb else doc.update(worst=hi, best=lo)
        doc["points"] = pts
    elif method == "tiers":
        n = draw(st.integers(1, 5))
        bounds = _distinct_sorted(draw, NICE, n, descending=hb)
        key = "min" if hb else "max"
        doc["tiers"] = [{key: b, "points": draw(st.sampled_from([*POINTS, 0.0, -1.0]))} for b in bounds]
        if draw(st.booleans()):
            doc["else"] = draw(st.sampled_from([0.0, 1.0, -2.0, 0.5]))
    elif method == "per_unit":
        per = draw(st.sampled_from([0.5, 1.0, 2.0, 0.1, 3.0]))
        cap = per * draw(st.sampled_from([1, 2, 3, 5, 10]))
        sign = -1 if pts < 0 else 1
        doc.update(points=sign * per, cap=sign * cap)
    elif method == "pass_fail":
        doc.update(threshold=draw(st.sampled_from(NICE)), points=pts)
        if draw(st.booleans()):
            doc["fail_points"] = draw(st.sampled_from([0.0, -1.0, 1.0, 0.5]))
    else:
        doc["points"] = pts
        if draw(st.booleans()):
            anchors = {"percentile": [0.0, 0.25, 0.5, 0.75, 1.0], "ratio_to_avg": [0.5, 0.8, 0.9, 1.0, 1.1, 1.2, 1.5],
                       "ratio_to_best": [0.0, 0.5, 0.6, 0.8, 1.0]}[method]
            worst, best = _distinct_sorted(draw, anchors, 2, descending=False)
            doc.update(worst=worst, best=best)
    if draw(st.booleans()):
        doc["missing"] = draw(st.sampled_from(["zero", "worst", "best", "exclude"]))
    return doc


def max_points(scoring: dict[str, Any]) -> float:
    """The most an indicator with this scoring rule can score (to place grade bands where totals fall)."""
    m = scoring["method"]
    if m == "tiers":
        return max([t["points"] for t in scoring["tiers"]] + [scoring.get("else", 0.0)])
    if m == "per_unit":
        return max(scoring["cap"], 0.0)
    if m == "pass_fail":
        return max(scoring["points"], scoring.get("fail_points", 0.0))
    return max(scoring["points"], 0.0)


@dataclass(frozen=True)
class Generated:
    doc: dict[str, Any]
    key: str  # the subject key column


@st.composite
def scheme_documents(draw) -> Generated:
    subject = "procuratorate" if draw(st.integers(0, 5)) == 0 else "prosecutor"
    groups = ["all", "procuratorate", "level"] if subject == "procuratorate" else \
        ["all", "procuratorate", "business", "department", "line", "level"]
    pool = _types_from(draw, EVENT_TYPES, 3)
    codes = st.sampled_from(RESERVED_CODES) if FIXED_RESERVED_CODES else st.nothing()

    n_metrics = draw(st.integers(1, 5))
    metric_codes = [f"m{i}" for i in range(n_metrics)]
    if FIXED_RESERVED_CODES and draw(st.booleans()):
        metric_codes[0] = draw(codes)
    metrics = {c: {"name": f"度量{i}", **draw(metric_doc(pool))} for i, c in enumerate(metric_codes)}

    weighted = draw(st.integers(0, 2)) > 0
    n_dims = draw(st.integers(1, 3))
    dims: dict[str, Any] = {}
    for i in range(n_dims):
        weights = [1, 2, 10, 20, 30, 40, 0.5, 33.3] + ([0] if FIXED_ZERO_WEIGHT_DIMENSION else [])
        d: dict[str, Any] = {"name": f"维度{i}", "weight": draw(st.sampled_from(weights))}
        if draw(st.integers(0, 3)) == 0:
            d["adjustment_cap"] = draw(st.sampled_from([1, 2, 5, 10, 0]))
        dims[f"d{i}"] = d
    if all(d["weight"] == 0 for d in dims.values()):  # weights adding up to 0 are refused at compile time
        next(iter(dims.values()))["weight"] = 1

    indicators: dict[str, Any] = {}
    n_ind = draw(st.integers(1, 6))
    for i in range(n_ind):
        code = f"i{i}"
        direction = draw(st.sampled_from(["higher_better", "higher_better", "lower_better", "neutral"]))
        ind: dict[str, Any] = {"name": f"指标{i}", "formula": _formula(draw, metric_codes, list(indicators))}
        if direction != "higher_better" or draw(st.booleans()):
            ind["direction"] = direction
        scored = draw(st.integers(0, 7)) > 0
        if not scored:
            ind["scored"] = False
        if scored and (weighted or draw(st.integers(0, 3)) > 0) or draw(st.booleans()):
            ind["dimension"] = draw(st.sampled_from(sorted(dims)))
        if scored or draw(st.booleans()):
            ind["scoring"] = draw(scoring_doc(direction != "lower_better"))
            if weighted and max_points(ind["scoring"]) < 0 and not FIXED_NEGATIVE_DIMENSION_MAX:
                ind["scoring"] = {"method": "per_unit", "points": -1.0, "cap": -3.0}  # a penalty: max 0
        if draw(st.integers(0, 3)) == 0:
            ind["lines"] = draw(st.lists(st.sampled_from(LINES), min_size=1, max_size=2, unique=True))
        if draw(st.integers(0, 4)) == 0:
            ind["businesses"] = draw(businesses_within(ind.get("lines")))
        if draw(st.integers(0, 3)) == 0:
            ind["unit"] = draw(st.sampled_from(["%", "件", "ratio"]))
        if draw(st.integers(0, 4)) == 0:
            ind["peer_group"] = draw(st.sampled_from(groups))
        if draw(st.integers(0, 4)) == 0:
            ind["peer_min_size"] = draw(st.sampled_from([2, 3, 4, 6]))
        if subject == "prosecutor" and draw(st.integers(0, 3)) == 0:
            ind["prorate"] = True
        indicators[code] = ind
    if FIXED_RESERVED_CODES and draw(st.booleans()):
        first = next(iter(indicators))
        indicators[draw(codes.filter(lambda c: c not in metrics))] = indicators.pop(first)

    # combination
    base = draw(st.sampled_from([0.0, 60.0, 80.0, 100.0, 50.5]))
    comb: dict[str, Any] = {"method": "weighted" if weighted else "sum"}
    if weighted and draw(st.booleans()) or not weighted:
        comb["base"] = base
    else:
        base = 0.0
    if weighted and draw(st.booleans()):
        comb["span"] = draw(st.sampled_from([20.0, 40.0, 100.0, 10.5]))
    if weighted:
        span = comb.get("span", 100.0 - base) or 30.0
    else:  # a rough spread of the totals, for the band thresholds
        span = sum(max_points(i["scoring"]) for i in indicators.values() if i.get("scored", True)) or 10.0
    top = base + span
    if draw(st.integers(0, 2)) == 0:
        comb["cap"] = draw(st.sampled_from([top, top - 1, top + 5, base + span / 2]))
    if draw(st.integers(0, 2)) == 0:
        comb["floor"] = draw(st.sampled_from([0.0, base, base - 5, base + span / 4]))

    # grading
    grading = None
    grade_names = ["优秀", "良好", "合格", "基本合格", "不合格"]
    if draw(st.integers(0, 6)) < 6:
        n_bands = draw(st.integers(2, 4))
        names = sorted(draw(st.lists(st.sampled_from(range(5)), min_size=n_bands, max_size=n_bands, unique=True)))
        fracs = [1.0, 0.9, 0.8, 0.75, 0.6, 0.5, 0.4, 0.25, 0.1, 0.0, -0.2]
        near = [0.5, 1.0, 2.0, 3.0, 5.0, -1.0]  # many totals stay close to the base
        cands = sorted({round(base + f * span, 6) for f in fracs} | {base + k for k in near})
        mins = _distinct_sorted(draw, cands, n_bands, descending=True)
        if draw(st.booleans()):
            mins[-1] = min(mins[-1], base - 100.0)  # a catch-all lowest band, as most schemes have
        bands = []
        for i, (gi, mn) in enumerate(zip(names, mins, strict=True)):
            band: dict[str, Any] = {"grade": grade_names[gi], "min": mn}
            if draw(st.integers(0, 3 if i == 0 else 8)) == 0:
                band["quota"] = draw(st.sampled_from([0.1, 0.15, 0.2, 0.25, 0.3, 0.29, 0.5, 0.7, 1.0, 0.01]))
                if draw(st.booleans()):
                    band["quota_rounding"] = draw(st.sampled_from(["floor", "round", "ceil", "at_least_one"]))
            bands.append(band)
        grading = {"bands": bands}
        if draw(st.booleans()):
            grading["quota_group"] = draw(st.sampled_from(groups))
    grades = [b["grade"] for b in grading["bands"]] if grading else ["优秀"]

    # adjustments
    adjustments: dict[str, Any] = {}
    for i in range(draw(st.integers(0, 3))):
        types = _types_from(draw, pool if draw(st.integers(0, 3)) else EVENT_TYPES)
        a: dict[str, Any] = {"name": f"加减分{i}", **_events_key(draw, types),
                             "points": draw(st.sampled_from(ADJ_POINTS))}
        if draw(st.integers(0, 2)) == 0:
            steps = []
            names = draw(st.lists(st.sampled_from(STEP_NAMES + (ODD_STEP_NAMES if FIXED_ODD_STEP_NAMES else [])),
                                  min_size=2, max_size=2, unique=True))
            for name in names:
                st_types = _types_from(draw, [t for t in pool if t in CASE_TYPES] or CASE_TYPES)
                step: dict[str, Any] = {"name": name, **_events_key(draw, st_types)}
                if draw(st.booleans()):
                    step["where"] = draw(condition(st_types, text_order=True, depth=1))  # Python and polars only
                numeric = sorted(n for n, t in event_scope(DICT, frozenset(st_types), "").items() if t.kind == "number")
                if numeric and draw(st.integers(0, 3)) == 0:  # accumulated points: sum a field, with a threshold
                    step["sum"] = draw(st.sampled_from(numeric))
                    step["at_least"] = draw(st.sampled_from([1, 2, 3.5, 40, 100, 0.5]))
                elif draw(st.booleans()):
                    step["at_least"] = draw(st.integers(1, 3))
                steps.append(step)
            a["pattern"] = steps
        else:
            where = draw(durable_filter(types))
            if where is not None:
                a["where"] = where
        if draw(st.booleans()):
            a["dimension"] = draw(st.sampled_from(sorted(dims)))
        if draw(st.booleans()):
            a["cap"] = draw(st.sampled_from([1.0, 2.0, 3.0, 6.0, 0.5]))
        if draw(st.integers(0, 4)) == 0:
            a["per_case"] = True
        if draw(st.integers(0, 5)) == 0:
            a["lines"] = draw(st.lists(st.sampled_from(LINES), min_size=1, max_size=2, unique=True))
        if draw(st.integers(0, 5)) == 0:
            a["businesses"] = draw(businesses_within(a.get("lines")))
        adjustments[f"a{i}"] = a

    vetoes: dict[str, Any] = {}
    for i in range(draw(st.integers(0, 2))):
        types = _types_from(draw, pool if draw(st.integers(0, 3)) else EVENT_TYPES)
        effects = draw(st.lists(st.sampled_from(["zero_dimension", "cap_grade", "bar_grade"]), min_size=1, max_size=3))
        v: dict[str, Any] = {"name": f"否决{i}", **_events_key(draw, types)}
        where = draw(durable_filter(types))
        if where is not None:
            v["where"] = where
        listed = []
        for effect in effects:
            e: dict[str, Any] = {"effect": effect}
            if effect == "zero_dimension":
                e["dimension"] = draw(st.sampled_from(sorted(dims)))
            else:
                e["grade"] = draw(st.sampled_from(grades))
            listed.append(e)
        if len(listed) == 1 and draw(st.booleans()):
            v.update(listed[0])  # the one-effect form
        else:
            v["effects"] = listed
        vetoes[f"v{i}"] = v

    doc: dict[str, Any] = {
        "code": "fuzz", "name": "生成的方案", "subject": subject, "period": "month",
        "combination": comb, "dimensions": dims, "metrics": metrics, "indicators": indicators,
    }
    if draw(st.booleans()):
        doc["peer_group"] = draw(st.sampled_from(groups))
    if draw(st.integers(0, 2)) > 0:
        doc["peer_min_size"] = draw(st.sampled_from([2, 2, 3, 5]))
    if draw(st.booleans()):
        pa: dict[str, Any] = {}
        if draw(st.booleans()):
            pa["quota_status"] = draw(st.sampled_from([["quota"], ["quota", "non_quota"], ["non_quota"]]))
        if draw(st.booleans()):
            pa["min_office_share"] = draw(st.sampled_from([0.0, 0.3, 0.5, 0.9, 1.0]))
        if draw(st.integers(0, 3)) == 0:
            pa["levels"] = draw(st.sampled_from([["county"], ["city", "county"], ["city"]]))
        if draw(st.booleans()):
            pa["no_activity"] = draw(st.sampled_from(["not_graded", "score"]))
        doc["participants"] = pa
    if adjustments:
        doc["adjustments"] = adjustments
    if vetoes:
        doc["vetoes"] = vetoes
    if grading:
        doc["grading"] = grading
    return Generated(doc, "prosecutor_id" if subject == "prosecutor" else "procuratorate_id")


@st.composite
def businesses_within(draw, lines: Sequence[str] | None) -> list[str]:
    pool = [code for code, line in BUSINESSES if not lines or line in lines]
    return draw(st.lists(st.sampled_from(pool), min_size=1, max_size=3, unique=True))


# -- data sets ----------------------------------------------------------------------------------------------

# Active dates against PERIOD: in office throughout, joined or left during it (short and long), gone before
# it began, not yet started; None is "open".
OFFICE = [(dt.date(2015, 1, 1), None)] * 6 + [
    (dt.date(2020, 1, 10), None), (dt.date(2020, 1, 20), None), (dt.date(2015, 1, 1), dt.date(2020, 1, 16)),
    (dt.date(2015, 1, 1), dt.date(2020, 1, 5)), (dt.date(2015, 1, 1), dt.date(2019, 12, 31)),
    (dt.date(2020, 2, 1), None), (dt.date(2020, 1, 16), dt.date(2020, 1, 16)), (dt.date(2020, 1, 1), dt.date(2020, 1, 31)),
]

LEVELS = ["city", "county"]
Row = tuple[Any, ...]


@dataclass(frozen=True)
class DataSet:
    rows: list[Row]  # (event_id, event_type, prosecutor_id, procuratorate_id, case_id, occurred_on, attrs_json)
    subjects: list[dict[str, Any]]

    def subjects_frame(self, key: str) -> pl.DataFrame:
        if key == "procuratorate_id":
            return pl.DataFrame(self.subjects, schema={"procuratorate_id": pl.Int64, "level": pl.Utf8,
                                                       "line": pl.Utf8})
        return pl.DataFrame(self.subjects, schema={
            "prosecutor_id": pl.Int64, "line": pl.Utf8, "procuratorate_id": pl.Int64, "department_id": pl.Int64,
            "business_code": pl.Utf8, "level": pl.Utf8, "quota_status": pl.Utf8, "active_from": pl.Date,
            "active_to": pl.Date, "is_leader": pl.Boolean, "leader_title": pl.Utf8})


def attrs_for(event_type: str, seed: int) -> dict[str, Any]:
    """Typed attributes as the importer stores them (optional fields often absent); same seed, same attrs."""
    rnd = random.Random(f"{event_type}:{seed}")
    out: dict[str, Any] = {}
    for name, fdef in sorted(DICT.event_types[event_type].fields.items()):
        if not fdef.required and rnd.random() < 0.3:
            continue
        v = rnd.choice(field_pool(name, fdef))
        out[name] = int(v) if fdef.type == "int" else v
    return out


@st.composite
def datasets(draw, event_types: Sequence[str], key: str) -> DataSet:
    n_units = draw(st.integers(1, 5 if key == "prosecutor_id" else 12))
    unit_levels = [draw(st.sampled_from(LEVELS)) for _ in range(n_units)]
    units = [100 + i for i in range(n_units)]
    subjects: list[dict[str, Any]] = []
    owner: list[tuple[int | None, int]] = []  # (prosecutor, procuratorate) of each subject
    if key == "prosecutor_id":
        businesses = draw(st.lists(st.sampled_from(BUSINESSES), min_size=1, max_size=4, unique=True))
        for pid in range(1, draw(st.integers(2, 40)) + 1):
            u = draw(st.integers(0, n_units - 1))
            code, line = draw(st.sampled_from(businesses))
            a_from, a_to = draw(st.sampled_from(OFFICE))
            status = draw(st.sampled_from(["quota"] * 6 + ["non_quota", "exited"]))
            leader = draw(st.integers(0, 4)) == 0
            subjects.append({"prosecutor_id": pid, "line": line, "procuratorate_id": units[u],
                             "department_id": units[u] * 10 + draw(st.integers(0, 1)) if draw(st.integers(0, 9)) else None,
                             "business_code": code,
                             "level": unit_levels[u], "quota_status": status, "active_from": a_from, "active_to": a_to,
                             "is_leader": leader, "leader_title": draw(st.sampled_from(TITLES)) if leader else None})
            owner.append((pid, units[u]))
    else:
        if n_units < 2:
            units.append(101)
            unit_levels.append("county")
        for u, lvl in zip(units, unit_levels, strict=True):
            subjects.append({"procuratorate_id": u, "level": lvl, "line": None})
            owner.append((draw(st.sampled_from([None, u * 10])), u))
    n_cases = draw(st.integers(1, len(CASES)))
    rows: list[Row] = []
    for etype in sorted(event_types):
        needs_case = DICT.event_types[etype].requires_case
        for _ in range(draw(st.integers(0, 60))):
            who = draw(st.integers(-2, len(owner) - 1))
            if who >= 0:
                pid, unit = owner[who]
            elif who == -1:  # a unit-level event (no prosecutor)
                pid, unit = None, units[draw(st.integers(0, len(units) - 1))]
            else:  # someone who is not a subject
                pid, unit = 999, 999
            c = draw(st.integers(0 if not needs_case else 1, n_cases))
            case = CASES[c - 1] if c else None
            day = dt.date(2020, 1, draw(st.integers(1, 31)))
            attrs = attrs_for(etype, draw(st.integers(0, 40)))
            rows.append((f"e{len(rows) + 1}", etype, pid, unit, case, day, json.dumps(attrs, ensure_ascii=False)))
    order = draw(st.permutations(range(len(rows)))) if rows and draw(st.booleans()) else range(len(rows))
    return DataSet([rows[i] for i in order], subjects)
