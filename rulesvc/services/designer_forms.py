"""What the editor's forms say, turned into changes of a draft (issue 12, page 3) — or into field-level messages in
the reader's language, before anything is saved.

A form is a plain mapping of field name → text (or list of texts for repeated fields such as the rows of a tiers
table): no framework here. Thresholds of an indicator whose unit is ``%`` are typed as percentages (``92`` means
92 %) and stored as fractions (``0.92``). Numbers are parsed, never evaluated.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from rulesvc.catalogue import msg
from rulesvc.engine.dictionary import Dictionary
from rulesvc.engine.scoring import REGISTRY
from rulesvc.errors import InvalidInput

Form = Mapping[str, Any]
Change = dict[str, Any]

METHODS = ("tiers", "linear", "per_unit", "pass_fail", "percentile", "ratio_to_avg", "ratio_to_best")
MISSING_POLICIES = ("zero", "worst", "best", "exclude")
DIRECTIONS = ("higher_better", "lower_better")
# Which parameters of a method are values of the indicator (typed as percentages for a rate).
VALUE_PARAMS = {"tiers": ("tiers",), "linear": ("worst", "best"), "pass_fail": ("threshold",)}
CODE = re.compile(r"[A-Za-z][A-Za-z0-9_]{0,63}")

_WORDS = {
    "number": ("请填写数字", "Enter a number"),
    "required": ("必填", "Required"),
    "positive": ("应大于 0", "Must be more than 0"),
    "not_negative": ("不能为负数", "Cannot be negative"),
    "tiers": ("至少填一档", "Enter at least one tier"),
    "too_many": ("档次太多（最多 12 档）", "Too many tiers (at most 12)"),
    "method": ("请选择计分方法", "Choose a scoring method"),
    "code": ("代码用英文字母开头，只含字母、数字和下划线", "A code starts with a letter: letters, digits, underscores"),
    "code_taken": ("该代码已被使用", "This code is taken"),
    "dimension": ("请选择维度", "Choose a dimension"),
    "percent": ("比例应在 0 到 100 之间", "A share is between 0 and 100"),
    "months": ("应为 2 到 36 之间的整数（月）", "A whole number of months from 2 to 36"),
}


class FormErrors(dict[str, list[str]]):
    def __init__(self, lang: str) -> None:
        super().__init__()
        self.lang = lang

    def add(self, field: str, word: str) -> None:
        self.setdefault(field, []).append(_WORDS[word][0 if self.lang == "zh" else 1])

    def raise_if_any(self) -> None:
        if self:
            raise InvalidInput(msg("request.invalid"), errors=dict(self))


def number(text: Any) -> float | None:
    """``"85"``, ``" 85 % "``, ``"０．５"`` → a float; ``None`` when empty; ``ValueError`` when not a number."""
    if text is None:
        return None
    s = str(text).strip().translate(str.maketrans("０１２３４５６７８９．－＋−", "0123456789.-+-")).rstrip("%％").strip()
    if not s:
        return None
    if not re.fullmatch(r"[-+]?(\d+(\.\d*)?|\.\d+)", s):
        raise ValueError(s)
    x = float(s)
    if not math.isfinite(x):
        raise ValueError(s)
    return int(x) if x.is_integer() and abs(x) < 1e12 else x


def _read(form: Form, key: str, errors: FormErrors, *, required: bool = True, scale: float = 1.0) -> float | None:
    try:
        x = number(form.get(key))
    except ValueError:
        errors.add(key, "number")
        return None
    if x is None:
        if required:
            errors.add(key, "required")
        return None
    return _clean(x / scale) if scale != 1.0 else x


def _clean(x: float) -> float:
    """Percent → fraction without binary noise: 92 / 100 → 0.92, not 0.9200000000000002."""
    y = round(x, 10)
    return int(y) if y.is_integer() else y


def _list(form: Form, key: str) -> list[str]:
    getlist: Callable[[str], list[str]] | None = getattr(form, "getlist", None)
    if getlist is not None:
        return list(getlist(key))
    value = form.get(key)
    return list(value) if isinstance(value, list | tuple) else ([] if value is None else [value])


# -- weights --------------------------------------------------------------------------------------------------


def weight_changes(dimensions: Mapping[str, Mapping[str, Any]], form: Form, lang: str) -> list[Change]:
    """``weight.<dimension>`` fields → a ``set dimensions.X.weight`` per weight that changed."""
    errors = FormErrors(lang)
    out = []
    for code, dim in dimensions.items():
        w = _read(form, f"weight.{code}", errors)
        if w is not None and w < 0:
            errors.add(f"weight.{code}", "not_negative")
        elif w is not None and w != dim.get("weight"):
            out.append({"op": "set", "path": f"dimensions.{code}.weight", "value": w})
    errors.raise_if_any()
    return out


# -- an indicator's scoring rule ------------------------------------------------------------------------------


def scoring_from_form(form: Form, *, unit: str, direction: str, lang: str,
                      errors: FormErrors | None = None) -> dict[str, Any]:
    """The scoring rule a form describes (``method`` and its parameters, ``missing``)."""
    own = errors is None
    errors = errors if errors is not None else FormErrors(lang)
    method = str(form.get("method") or "")
    rule: dict[str, Any] = {"method": method}
    scale = 100.0 if unit == "%" else 1.0
    if method not in METHODS or method not in REGISTRY:
        errors.add("method", "method")
    elif method == "tiers":
        bounds, points = _list(form, "tier_bound"), _list(form, "tier_points")
        key = "max" if direction == "lower_better" else "min"
        tiers = []
        for i, (b, p) in enumerate(zip(bounds, points, strict=False)):
            if not str(b).strip() and not str(p).strip():
                continue  # an empty row
            bound = _read({"v": b}, "v", _Sub(errors, f"tier_bound[{i}]"), scale=scale)
            pts = _read({"v": p}, "v", _Sub(errors, f"tier_points[{i}]"))
            if bound is not None and pts is not None:
                tiers.append({key: bound, "points": pts})
        if not tiers and "tier_bound[0]" not in errors:
            errors.add("tiers", "tiers")
        if len(tiers) > 12:
            errors.add("tiers", "too_many")
        rule["tiers"] = tiers
        other = _read(form, "else", errors, required=False)
        if other is not None:
            rule["else"] = other
    elif method == "linear":
        rule.update(worst=_read(form, "worst", errors, scale=scale), best=_read(form, "best", errors, scale=scale),
                    points=_read(form, "points", errors))
    elif method == "per_unit":
        rule.update(points=_read(form, "points", errors), cap=_read(form, "cap", errors))
    elif method == "pass_fail":
        rule.update(threshold=_read(form, "threshold", errors, scale=scale), points=_read(form, "points", errors))
        fail = _read(form, "fail_points", errors, required=False)
        if fail:
            rule["fail_points"] = fail
    else:  # percentile, ratio_to_avg, ratio_to_best: points, and optional anchors
        rule["points"] = _read(form, "points", errors)
        for k in ("worst", "best"):
            x = _read(form, k, errors, required=False)
            if x is not None:
                rule[k] = x
    missing = str(form.get("missing") or "zero")
    if missing != "zero" and missing in MISSING_POLICIES:
        rule["missing"] = missing
    if own:
        errors.raise_if_any()
    return rule


class _Sub(FormErrors):
    """Errors of one cell of a table, filed under the table's field name."""

    def __init__(self, parent: FormErrors, field: str) -> None:
        super().__init__(parent.lang)
        self.parent, self.field = parent, field

    def add(self, field: str, word: str) -> None:
        self.parent.add(self.field, word)


def scoring_changes(code: str, current: Mapping[str, Any] | None, new: Mapping[str, Any]) -> list[Change]:
    """The changes from an indicator's scoring rule ``current`` to ``new``: parameter by parameter when the method
    stays (so the list of local changes says 调整档位/目标), the whole rule when it changes."""
    base = f"indicators.{code}.scoring"
    if not current or current.get("method") != new.get("method"):
        return [{"op": "set", "path": base, "value": dict(new)}]
    out = []
    for key in sorted(set(current) | set(new)):
        if key == "method":
            continue
        if key not in new:
            out.append({"op": "set", "path": base, "value": dict(new)})
            return out[-1:]
        if current.get(key) != new[key]:
            out.append({"op": "set", "path": f"{base}.{key}", "value": new[key]})
    return out


def form_of_scoring(rule: Mapping[str, Any] | None, unit: str) -> dict[str, Any]:
    """A scoring rule as the form shows it (thresholds of a rate as percentages)."""
    rule = dict(rule or {})
    scale = 100.0 if unit == "%" else 1.0
    out: dict[str, Any] = {"method": rule.get("method", "tiers"), "missing": rule.get("missing", "zero")}
    for key in ("points", "cap", "fail_points", "else"):
        if key in rule:
            out[key] = _show(rule[key])
    for key in ("worst", "best", "threshold"):
        if key in rule:
            value_param = rule.get("method") in ("linear", "pass_fail")
            out[key] = _show(rule[key] * scale if value_param else rule[key])
    out["tiers"] = [{"bound": _show((t.get("min", t.get("max")) or 0) * scale), "points": _show(t.get("points"))}
                    for t in rule.get("tiers") or []]
    return out


def _show(x: Any) -> str:
    if x is None:
        return ""
    if isinstance(x, float):
        x = round(x, 8)
        return str(int(x)) if x.is_integer() else f"{x:.8f}".rstrip("0").rstrip(".")
    return str(x)


# -- a local indicator ----------------------------------------------------------------------------------------


def new_indicator(form: Form, *, taken: Sequence[str], dimensions: Sequence[str], lang: str,
                  prefix: str = "LOCAL_") -> tuple[str, dict[str, Any]]:
    """A new indicator from its form: (code, entry). Field errors for every problem at once. A code left empty is
    ``prefix`` and the next free number: ``LOCAL_1`` in a localization, ``IND_1`` in a template (whose indicators
    are not local)."""
    errors = FormErrors(lang)
    code = str(form.get("code") or "").strip() or next_code(prefix, taken)
    if not CODE.fullmatch(code):
        errors.add("code", "code")
    elif code in taken:
        errors.add("code", "code_taken")
    name = str(form.get("name") or "").strip()
    if not name:
        errors.add("name", "required")
    dimension = str(form.get("dimension") or "")
    if dimension not in dimensions:
        errors.add("dimension", "dimension")
    direction = str(form.get("direction") or "higher_better")
    if direction not in DIRECTIONS:
        direction = "higher_better"
    unit = "%" if form.get("unit") == "%" else str(form.get("unit") or "").strip()[:8]
    formula = str(form.get("formula") or "").strip()
    if not formula:
        errors.add("formula", "required")
    scoring = scoring_from_form(form, unit=unit, direction=direction, lang=lang, errors=errors)
    errors.raise_if_any()
    entry: dict[str, Any] = {"name": name, "formula": formula, "dimension": dimension, "direction": direction,
                             "scoring": scoring}
    if unit:
        entry["unit"] = unit
    lines = [str(x) for x in _list(form, "lines") if str(x).strip()]
    if lines:
        entry["lines"] = sorted(set(lines))
    description = str(form.get("description") or "").strip()
    if description:
        entry["description"] = description
    return code, entry


def lines_of(form: Form, dictionary: Dictionary) -> list[str]:
    """The lines of work ticked on an indicator's form, known ones only, sorted (none: every line)."""
    known = set(dictionary.lines)
    return sorted({str(x) for x in _list(form, "lines") if str(x) in known})


def businesses_of(form: Form, dictionary: Dictionary) -> list[str]:
    """The businesses (十大业务) ticked on an indicator's form, known ones only, sorted (none: as the lines say)."""
    known = {b.code for b in dictionary.businesses}
    return sorted({str(x) for x in _list(form, "businesses") if str(x) in known})


# -- grades -------------------------------------------------------------------------------------------------


def grade_changes(bands: Sequence[Mapping[str, Any]], form: Form, lang: str) -> list[Change]:
    """``min.<i>`` and ``quota.<i>`` (a percentage; empty: no quota) → a change per band value that changed."""
    errors = FormErrors(lang)
    out = []
    for i, band in enumerate(bands):
        low = _read(form, f"min.{i}", errors)
        quota = _read(form, f"quota.{i}", errors, required=False, scale=100.0)
        if quota is not None and not 0 < quota <= 1:
            errors.add(f"quota.{i}", "percent")
            continue
        if low is not None and low != band.get("min"):
            out.append({"op": "set", "path": f"grading.bands[{i}].min", "value": low})
        if quota != band.get("quota"):
            if quota is None:
                out.append({"op": "set", "path": f"grading.bands[{i}]",
                            "value": {k: v for k, v in band.items() if k not in ("quota", "quota_rounding")}
                            | ({"min": low} if low is not None else {})})
            else:
                out.append({"op": "set", "path": f"grading.bands[{i}].quota", "value": quota})
    errors.raise_if_any()
    return out


# -- a local metric (what a formula counts) ---------------------------------------------------------------


def condition_choices(dictionary: Dictionary, lang: str) -> list[dict[str, str]]:
    """Every condition the metric form offers, by event type: each choice of an enum field (``domain ==
    'black_soil'`` — 领域为黑土地保护) and each yes/no field. Only these can be picked: nothing is typed."""
    out = []
    for code, et in dictionary.event_types.items():
        for name, f in et.fields.items():
            label = f.label_en if lang == "en" and f.label_en else f.label
            if f.type == "enum" and f.choices:
                for value, word in f.choices.items():
                    out.append({"event": code, "value": f"{name} == '{value}'",
                                "label": f"{label} = {word}" if lang == "en" else f"“{label}”为{word}"})
            elif f.type == "bool":
                out.append({"event": code, "value": name, "label": f"{label}: yes" if lang == "en" else f"“{label}”为是"})
    return out


def new_dimension(form: Form, *, taken: Sequence[str], lang: str) -> tuple[str, dict[str, Any]]:
    """A new local dimension from its form (``dim_name``, ``dim_weight``, optional ``dim_code``): (code, entry).
    Its indicators come after, each with this dimension chosen."""
    errors = FormErrors(lang)
    name = str(form.get("dim_name") or "").strip()[:200]
    if not name:
        errors.add("dim_name", "required")
    weight = _read(form, "dim_weight", errors)
    if weight is not None and weight < 0:
        errors.add("dim_weight", "positive")
    code = str(form.get("dim_code") or "").strip() or next_code("local_dim_", taken)
    if not CODE.fullmatch(code):
        errors.add("dim_code", "code")
    elif code in taken:
        errors.add("dim_code", "code_taken")
    errors.raise_if_any()
    return code, {"name": name, "weight": weight}


def next_code(prefix: str, taken: Sequence[str]) -> str:
    n = 1
    while f"{prefix}{n}" in taken:
        n += 1
    return f"{prefix}{n}"


def new_metric(form: Form, dictionary: Dictionary, *, taken: Sequence[str], lang: str) -> tuple[str, dict[str, Any]]:
    """A new local metric from its form: (code, entry) — an event type, an optional condition from
    :func:`condition_choices`, counted by event or by distinct case."""
    errors = FormErrors(lang)
    name = str(form.get("name") or "").strip()
    if not name:
        errors.add("name", "required")
    event = str(form.get("event") or "")
    if event not in dictionary.event_types:
        errors.add("event", "required")
    where = str(form.get("where") or "")
    allowed = {c["value"] for c in condition_choices(dictionary, lang) if c["event"] == event}
    if where and where not in allowed:
        errors.add("where", "required")
    errors.raise_if_any()
    entry: dict[str, Any] = {"name": name, "event": event}
    if where:
        entry["where"] = where
    if form.get("agg") == "distinct" and dictionary.event_types[event].requires_case:
        entry.update(agg="distinct", field="case_id")
    return next_code("local_m", taken), entry
