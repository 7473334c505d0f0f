"""Regression scenarios (回归用例): results a version is expected to give, checked by every run.

A scenario names a subject (工号 or procuratorate code) and a period and expects a total, a grade and/or
the points of some indicators, within a tolerance (points; default 0.005, half of the last decimal a
total is shown with)::

    {"subject": "P000123", "period": "2020", "expected": {"total": 93.5, "grade": "优秀",
     "indicators": {"PLEA_APPLY_RATE": 10}}, "tolerance": 0.005, "note": "认罪认罚调档后仍为优秀"}

Scenarios are part of a version: edited with the draft, frozen with its content on submit, exported
with ``rules export``. Every run checks the candidate's scenarios against its results; a scenario whose
period the run did not score counts as failed ("not covered"), so a version cannot pass on periods it
was never simulated on. Submitting refuses a version whose scenarios fail, listing them.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from rulesvc.catalogue import Msg, msg
from rulesvc.engine.errors import DefinitionError
from rulesvc.engine.periods import parse_period
from rulesvc.errors import InvalidInput

MAX_SCENARIOS = 500
DEFAULT_TOLERANCE = 0.005
KEYS = {"subject", "period", "expected", "tolerance", "note"}
EXPECTED_KEYS = {"total", "grade", "indicators"}


@dataclass(frozen=True)
class Result:
    """A subject's result in a run (from the stored rows or a report): total, grade, attribution detail."""

    total_c: float | None
    grade_c: str | None
    detail_c: str | None


def validate(scenarios: Any) -> list[dict[str, Any]]:
    """Scenarios in their canonical form (defaults filled in), or 422 with the field of each problem."""
    if not isinstance(scenarios, list):
        raise InvalidInput(msg("scenario.invalid"), errors={"scenarios": [msg("scenario.not_a_list")]})
    if len(scenarios) > MAX_SCENARIOS:
        raise InvalidInput(msg("scenario.invalid"),
                           errors={"scenarios": [msg("scenario.too_many", count=len(scenarios), limit=MAX_SCENARIOS)]})
    errors: dict[str, list[Msg]] = {}
    out: list[dict[str, Any]] = []
    seen: set[tuple[str, str]] = set()
    for i, sc in enumerate(scenarios):
        where = f"scenarios[{i}]"
        if not isinstance(sc, dict):
            errors[where] = [msg("scenario.not_an_object")]
            continue
        for k in sorted(set(sc) - KEYS):
            errors[f"{where}.{k}"] = [msg("scenario.unknown_key", known="、".join(sorted(KEYS)))]
        subject, period = sc.get("subject"), sc.get("period")
        if not isinstance(subject, str) or not subject.strip() or len(subject) > 40:
            errors[f"{where}.subject"] = [msg("scenario.subject")]
        try:
            label = parse_period(str(period)).label if isinstance(period, str) else None
        except (DefinitionError, ValueError, OverflowError):
            label = None
        if label is None:
            errors[f"{where}.period"] = [msg("simulation.period_bad", period=str(period)[:40])]
        expected = sc.get("expected")
        exp_out: dict[str, Any] = {}
        if not isinstance(expected, dict) or not (set(expected) & EXPECTED_KEYS):
            errors[f"{where}.expected"] = [msg("scenario.expected")]
        else:
            for k in sorted(set(expected) - EXPECTED_KEYS):
                errors[f"{where}.expected.{k}"] = [msg("scenario.unknown_key", known="、".join(sorted(EXPECTED_KEYS)))]
            if "total" in expected:
                if _number(expected["total"]):
                    exp_out["total"] = float(expected["total"])
                else:
                    errors[f"{where}.expected.total"] = [msg("scenario.number")]
            if "grade" in expected:
                g = expected["grade"]
                if isinstance(g, str) and 0 < len(g.strip()) <= 40:
                    exp_out["grade"] = g.strip()
                else:
                    errors[f"{where}.expected.grade"] = [msg("scenario.grade")]
            if "indicators" in expected:
                ind = expected["indicators"]
                if not isinstance(ind, dict) or not ind or len(ind) > 100 or not all(
                        isinstance(k, str) and len(k) <= 80 and _number(v) for k, v in ind.items()):
                    errors[f"{where}.expected.indicators"] = [msg("scenario.indicators")]
                else:
                    exp_out["indicators"] = {k: float(v) for k, v in sorted(ind.items())}
        tol = sc.get("tolerance", DEFAULT_TOLERANCE)
        if not _number(tol) or not 0 <= float(tol) <= 100:
            errors[f"{where}.tolerance"] = [msg("scenario.tolerance")]
        note = sc.get("note", "")
        if not isinstance(note, str) or len(note) > 500:
            errors[f"{where}.note"] = [msg("scenario.note")]
        if isinstance(subject, str) and label is not None:
            if (subject.strip(), label) in seen:
                errors[f"{where}.subject"] = [msg("scenario.duplicate", subject=subject.strip(), period=label)]
            seen.add((subject.strip(), label))
        if f"{where}" not in errors and not any(k.startswith(where + ".") for k in errors):
            item: dict[str, Any] = {"subject": str(subject).strip(), "period": label, "expected": exp_out,
                                    "tolerance": float(tol)}
            if note:
                item["note"] = note
            out.append(item)
    if errors:
        raise InvalidInput(msg("scenario.invalid"), errors=errors)
    return out


def _number(v: Any) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v) and abs(v) < 1e9


def check(scenarios: Sequence[Mapping[str, Any]], periods: Sequence[str],
          lookup: Callable[[str, str], Result | None]) -> list[dict[str, Any]]:
    """Each scenario with ``passed`` and, per expectation, the expected and actual values."""
    results = []
    for sc in scenarios:
        base = {"subject": sc["subject"], "period": sc["period"], "tolerance": sc.get("tolerance", DEFAULT_TOLERANCE)}
        if sc["period"] not in periods:
            results.append({**base, "passed": False, "reason": "not_covered",
                            "message": msg("scenario.not_covered", period=sc["period"]).render(), "checks": []})
            continue
        row = lookup(sc["period"], sc["subject"])
        if row is None:
            results.append({**base, "passed": False, "reason": "no_subject",
                            "message": msg("scenario.no_subject", subject=sc["subject"], period=sc["period"]).render(),
                            "checks": []})
            continue
        tol = float(sc.get("tolerance", DEFAULT_TOLERANCE))
        checks = []
        exp = sc["expected"]
        if "total" in exp:
            checks.append(_close("total", exp["total"], row.total_c, tol))
        if "grade" in exp:
            checks.append({"what": "grade", "expected": exp["grade"], "actual": row.grade_c,
                           "passed": row.grade_c == exp["grade"]})
        if "indicators" in exp:
            points = indicator_points(row.detail_c)
            for code, want in exp["indicators"].items():
                checks.append(_close(f"indicators.{code}", want, points.get(code), tol))
        results.append({**base, "passed": all(c["passed"] for c in checks), "checks": checks})
    return results


def _close(what: str, expected: float, actual: float | None, tol: float) -> dict[str, Any]:
    ok = actual is not None and abs(actual - expected) <= tol + 1e-9
    return {"what": what, "expected": expected, "actual": actual, "passed": ok}


def indicator_points(detail: str | None) -> dict[str, float | None]:
    """Indicator code → points, from a subject's stored attribution detail (see ``engine.simreport``)."""
    if not detail:
        return {}
    data = json.loads(detail)
    return {code: item.get("pts") for code, item in (data.get("ind") or {}).items() if isinstance(item, dict)}


def failures(results: Sequence[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    return [r for r in results if not r["passed"]]


__all__ = ["DEFAULT_TOLERANCE", "MAX_SCENARIOS", "check", "failures", "indicator_points", "validate"]
