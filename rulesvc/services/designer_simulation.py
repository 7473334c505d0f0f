"""The words and figures of the designer's 模拟测评 pages (issue 12, page 8): what the launch form offers, a
version's runs as rows, and a succeeded run's report shaped for reading and for its charts.

Nothing here computes a score or starts a run: asking, reading, cancelling and exporting are
:mod:`rulesvc.services.simulation`'s (the API's services). This module picks the choices a form offers
(closed periods of the scheme's cadence that have data, the baselines a person may see), formats numbers as
people write them (分, 人, percentages) in Chinese or English, and turns the stored report
(:mod:`rulesvc.engine.simreport`) into sections and chart series (plain JSON for the page's script).
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from rulesvc.catalogue import msg
from rulesvc.engine.scoring import fmt, round_half_up
from rulesvc.engine.simreport import FLAGS, explaining, flags_on
from rulesvc.errors import NotFound
from rulesvc.persistence.models import Dataset, SchemeVersion, SimulationRun
from rulesvc.schema.scheme import content_hash
from rulesvc.services import designer_diff, localtime
from rulesvc.services.facts import in_use
from rulesvc.services.governance import versions
from rulesvc.services.governance.access import Actor
from rulesvc.services.impact_data import period_of
from rulesvc.services.simulation import gate, runs

MAX_PERIOD_CHOICES = 36  # the newest closed periods with data offered in the form
NAMES_SHOWN = 30  # people named per grade entered or left (the per-person CSV has everyone)
STATUS_WORDS = {"zh": {"queued": "排队中", "running": "测评中", "succeeded": "已完成", "failed": "失败",
                       "cancelled": "已取消"},
                "en": {"queued": "queued", "running": "running", "succeeded": "finished", "failed": "failed",
                       "cancelled": "cancelled"}}
STATUS_BADGES = {"queued": "secondary", "running": "info", "succeeded": "success", "failed": "danger",
                 "cancelled": "light"}
PHASE_WORDS = {"zh": {"queued": "排队等候", "loading": "读取数据", "scoring_candidate": "按候选版本计分",
                      "scoring_baseline": "按基准版本计分", "report": "生成报告", "scenarios": "核对回归用例",
                      "saving": "保存结果", "done": "完成", "cancelled": "已取消", "failed": "失败"},
               "en": {"queued": "waiting in the queue", "loading": "reading the data",
                      "scoring_candidate": "scoring under the candidate", "scoring_baseline": "scoring under the baseline",
                      "report": "writing the report", "scenarios": "checking the regression scenarios",
                      "saving": "saving the results", "done": "done", "cancelled": "cancelled", "failed": "failed"}}
GROUPING_WORDS = {"zh": {"line": "按业务条线（四大检察）", "business": "按业务（十大业务）", "level": "按检察院层级",
                         "procuratorate": "按检察院"},
                  "en": {"line": "By line (the four lines)", "business": "By business", "level": "By level",
                         "procuratorate": "By procuratorate"}}
KIND_WORDS = {"zh": {"base": "基础分", "indicator": "指标", "adjustment": "加减分项", "cap": "加减分封顶",
                     "clip": "总分封顶/保底"},
              "en": {"base": "base score", "indicator": "indicator", "adjustment": "bonus/penalty item",
                     "cap": "dimension cap", "clip": "total's cap/floor"}}
FLAG_WORDS = {"zh": {"flat": "区分度不足", "tiers_never_reached": "有无人达到的档次", "tier_everyone": "所有人同一档",
                     "mostly_excluded": "多数人不计入"},
              "en": {"flat": "does not discriminate", "tiers_never_reached": "a tier nobody reaches",
                     "tier_everyone": "everyone in one tier", "mostly_excluded": "left out for most"}}
CHECK_WORDS = {"zh": {"total": "总分", "grade": "等次"}, "en": {"total": "total", "grade": "grade"}}
QUOTA_GROUP_WORDS = {"zh": {"all": "全体", "procuratorate": "每院", "department": "每个部门", "business": "每类业务",
                            "line": "每个条线", "level": "每级院"},
                     "en": {"all": "everyone", "procuratorate": "procuratorate", "department": "department",
                            "business": "business", "line": "line", "level": "level"}}


# -- numbers as people write them ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Numbers:
    """分, 人 and percentages in the page's language; ``None`` is a dash."""

    lang: str = "zh"

    @staticmethod
    def _ok(x: Any) -> bool:
        return isinstance(x, int | float) and not isinstance(x, bool)

    def _n(self, x: float, digits: int) -> str:
        text = f"{round_half_up(x, digits):,.{digits}f}" if math.isfinite(x) else f"{x:,.{digits}f}"
        return "0" + text[2:] if text.startswith("-0") and float(text.replace(",", "")) == 0 else text

    def pts(self, x: Any, digits: int = 2) -> str:
        if not self._ok(x):
            return "—"
        return f"{self._n(float(x), digits)} 分" if self.lang == "zh" else f"{self._n(float(x), digits)}"

    def delta(self, x: Any, digits: int = 2, unit: bool = True) -> str:
        if not self._ok(x):
            return "—"
        v = float(round_half_up(float(x), digits)) if math.isfinite(float(x)) else float(x)
        text = ("+" if v > 0 else "−" if v < 0 else "±") + self._n(abs(v), digits)
        return f"{text} 分" if unit and self.lang == "zh" else text

    def change(self, old: Any, new: Any, digits: int = 2, unit: bool = True) -> str:
        """The change between two figures shown beside it, from the figures as shown (91.75 → 91.62 reads −0.13,
        never the −0.14 of the unrounded means), so that the three numbers agree on the page."""
        if not (self._ok(old) and self._ok(new)):
            return "—"
        if not (math.isfinite(float(old)) and math.isfinite(float(new))):
            return "—"
        return self.delta(float(round_half_up(new, digits) - round_half_up(old, digits)), digits, unit)

    def people(self, k: Any) -> str:
        if not self._ok(k):
            return "—"
        return f"{int(k):,} 人" if self.lang == "zh" else f"{int(k):,}"

    def pct(self, x: Any, digits: int = 1) -> str:
        return f"{float(x) * 100:.{digits}f}%" if self._ok(x) else "—"

    def num(self, x: Any, digits: int = 2) -> str:
        return self._n(float(x), digits) if self._ok(x) else "—"

    def rank(self, k: Any) -> str:
        if not self._ok(k):
            return "—"
        return f"第 {int(k):,} 名" if self.lang == "zh" else f"#{int(k):,}"

    def rank_move(self, k: Any) -> str:
        if not self._ok(k):
            return "—"
        if self.lang == "zh":
            return f"上升 {k:,} 名" if k > 0 else f"下降 {-k:,} 名" if k < 0 else "不变"
        return f"up {k:,}" if k > 0 else f"down {-k:,}" if k < 0 else "same"


# -- the launch form -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Choices:
    """What the launch form offers for one candidate version."""

    periods: list[str]  # closed periods of the scheme's cadence with data, newest first
    default_period: str | None
    baselines: list[tuple[int, str]]  # (version id, words) of the versions the person may see
    default_baseline: str | None  # words for "默认": the version in force on the default period's first day


def launch_choices(session: Session, actor: Actor, version: SchemeVersion, *, lang: str = "zh",
                   today: dt.date | None = None) -> Choices:
    """The periods (closed, with data, the scheme's cadence) and baselines (other visible versions of the scheme
    and of its parent's scheme, same kind of subject) a run of ``version`` may be asked for."""
    today = today or localtime.today()
    kind = version.scheme.period_kind
    periods = closed_periods(session, kind, today)
    default = periods[0] if periods else None
    offered: list[tuple[int, str]] = []
    schemes = [version.scheme]
    if version.parent is not None and version.parent.scheme_id != version.scheme_id:
        schemes.append(version.parent.scheme)
    for scheme in schemes:
        if scheme.subject_kind != version.scheme.subject_kind:
            continue
        for v in sorted(versions.visible_versions(actor, scheme), key=lambda x: -x.number):
            if v.id != version.id:
                offered.append((v.id, version_words(v, lang, own=scheme.id == version.scheme_id)))
    words = None
    if default is not None:
        from rulesvc.services import results

        found = runs.default_baseline(session, version, results.parse(default).start)
        words = version_words(found, lang, own=found.scheme_id == version.scheme_id) if found is not None else None
    return Choices(periods, default, offered, words)


def closed_periods(session: Session, kind: str, today: dt.date) -> list[str]:
    """Periods of cadence ``kind`` that ended before ``today`` and hold days of an event dataset in use, newest
    first (at most :data:`MAX_PERIOD_CHOICES`)."""
    plan = in_use(session)
    if not plan.datasets:
        return []
    spans = [(s, e) for s, e in session.execute(select(Dataset.period_start, Dataset.period_end)
                                                 .where(Dataset.id.in_(plan.datasets))).all()
             if s is not None and e is not None]
    if not spans:
        return []
    out: list[str] = []
    last = min(max(e for _, e in spans), today - dt.timedelta(days=1))
    first = min(s for s, _ in spans)
    p = period_of(kind, last)
    while len(out) < MAX_PERIOD_CHOICES and p.end >= first:
        if p.end < today and any(s <= p.end and e >= p.start for s, e in spans):
            out.append(p.label)
        p = period_of(kind, p.start - dt.timedelta(days=1))
    return out


def version_words(v: SchemeVersion, lang: str, *, own: bool = True) -> str:
    """“第 2 版（审核中）”, or with the scheme's name when it is another scheme's (a parent template)."""
    from rulesvc.services.designer_words import version_status_word

    status = version_status_word(v, lang, localtime.today())
    if lang == "zh":
        text = f"第 {v.number} 版（{status}）"
        return text if own else f"{v.scheme.name} {text}"
    text = f"version {v.number} ({status})"
    return text if own else f"{v.scheme.name}, {text}"


# -- runs as rows ----------------------------------------------------------------------------------------------


def run_row(run: SimulationRun, version_id: int | None, lang: str, content: str | None = None) -> dict[str, Any]:
    """One run as the list shows it: status in words, what it compared, who asked when — and, given the
    version's ``content`` hash as it is now, whether the run was of content changed since (approval needs one
    of the content as it is)."""
    view = runs.view(run)
    cand, base = view["candidate"], view["baseline"]

    def ref(r: Mapping[str, Any] | None, current: bool) -> str:
        if r is None:
            return "无" if lang == "zh" else "none"
        if r.get("number") is None:
            return "（已删除的草稿）" if lang == "zh" else "(a deleted draft)"
        own = r["scheme"] == run.scheme.code
        text = (f"第 {r['number']} 版" if lang == "zh" else f"version {r['number']}")
        text = text if own else f"{r['scheme']} {text}"
        return text + (("（本版本）" if lang == "zh" else " (this version)") if current else "")

    return {"id": run.id, "status": run.status, "status_word": status_word(run, lang),
            "badge": STATUS_BADGES[run.status], "percent": run.percent,
            "candidate": ref(cand, cand.get("version_id") == version_id),
            "baseline": ref(base, base is not None and base.get("version_id") == version_id),
            "as_baseline": cand.get("version_id") != version_id,
            "default_baseline": run.baseline_choice == "default", "periods": "、".join(run.periods),
            "created_by": run.created_by, "created_at": run.created_at, "finished_at": run.finished_at,
            "stale": ("" if content is None or cand.get("version_id") != version_id or run.candidate_hash == content
                      else "此后内容又有修改，不能作为批准依据" if lang == "zh"
                      else "the content changed since: approval cannot rest on it")}


def status_word(run: SimulationRun, lang: str) -> str:
    word = STATUS_WORDS[lang][run.status]
    if run.status == "running" and run.cancel_requested:
        word += "（正在取消）" if lang == "zh" else " (cancelling)"
    return word


def progress(run: SimulationRun, lang: str) -> dict[str, Any]:
    """Where a run is: phase in words and percent (0–100)."""
    return {"status": run.status, "status_word": status_word(run, lang), "phase": run.phase,
            "phase_word": PHASE_WORDS[lang].get(run.phase, run.phase), "percent": max(0, min(100, int(run.percent or 0))),
            "cancel_requested": run.cancel_requested, "finished": run.status in runs.FINISHED}


def error_words(run: SimulationRun, lang: str) -> str | None:
    """Why a failed or cancelled run ended, in the page's language."""
    if run.status not in ("failed", "cancelled"):
        return None
    return msg(run.error_code).render(lang) if run.error_code else (run.error or None)


def again_request(run: SimulationRun) -> dict[str, Any]:
    """The launch form's fields that ask for the same run again (a failed or cancelled one is queued in place)."""
    baseline = run.baseline_choice if run.baseline_choice in ("default", "none") else str(run.baseline_version_id or "none")
    return {"baseline": baseline, "periods": list(run.periods)}


def scenario_results(session: Session, run: SimulationRun) -> dict[str, Any]:
    """The candidate's regression scenarios as they are now, checked against this run (what the gate checks), as
    the API shows them; the run's own check when the candidate has none or is gone."""
    if run.status == "succeeded" and run.candidate is not None and run.candidate.scenarios:
        results = gate.check_against_run(session, list(run.candidate.scenarios), run)
        return {"passed": all(r["passed"] for r in results), "results": results}
    return {"passed": run.scenarios_passed, "results": list(run.scenario_results or [])}


# -- the report, per period ------------------------------------------------------------------------------------


def report_page(report: Mapping[str, Any], period: str | None, lang: str) -> dict[str, Any]:
    """One period of a succeeded run's report (the first unless ``period`` names another), as the page reads it:
    the sections with their numbers, and ``chart`` — the series the page's script draws."""
    periods = list(report.get("periods") or [])
    chosen = next((p for p in periods if p["period"] == period), periods[0] if periods else None)
    if chosen is None:
        return {"period": None, "periods": [], "chart": {}}
    p = chosen
    ov = p["overview"]
    sides = ov["sides"]
    b, c = sides.get("baseline"), sides.get("candidate") or {}
    grades = list(p.get("grades") or [])
    out: dict[str, Any] = {
        "period": p["period"], "periods": [x["period"] for x in periods], "has_baseline": b is not None,
        "schemes": p.get("schemes") or {}, "baseline": b, "candidate": c, "grades": grades,
        "agreement": ov.get("agreement"), "transitions": ov.get("transitions"),
        "entering": _named(ov.get("entering")), "leaving": _named(ov.get("leaving")),
        "movers": _movers(p.get("movers") or {}), "org_level": p.get("org_level"),
        "grade_rows": _grade_rows(grades, b, c),
        "indicators": _indicator_rows(p.get("indicators") or [], lang, b is not None),
        "fairness": _fairness(p.get("fairness") or {}, lang),
        "threshold": (p.get("fairness") or {}).get("threshold"),
    }
    out["chart"] = _chart(out, ov, lang)
    return out


def _named(lists: Iterable[Mapping[str, Any]] | None) -> list[dict[str, Any]]:
    """Who enters or leaves each grade: the grades with anyone, the first :data:`NAMES_SHOWN` named."""
    out = []
    for e in lists or []:
        if e["count"]:
            shown = list(e["subjects"])[:NAMES_SHOWN]
            out.append({**e, "subjects": shown, "truncated": e["count"] > len(shown)})
    return out


def _movers(movers: Mapping[str, Any]) -> dict[str, Any]:
    out = dict(movers)
    for key in ("risers", "fallers"):
        out[key] = [{**m, "why_rows": why_rows(m["why"]) if "why" in m else None} for m in movers.get(key) or []]
    return out


def _grade_rows(grades: Sequence[str], b: Mapping[str, Any] | None, c: Mapping[str, Any]) -> list[dict[str, Any]]:
    def by_grade(side: Mapping[str, Any] | None, key: str) -> dict[str, Mapping[str, Any]]:
        return {g["grade"]: g for g in (side or {}).get(key) or []}

    gb, gc, qb, qc = by_grade(b, "grades"), by_grade(c, "grades"), by_grade(b, "quota"), by_grade(c, "quota")
    names = list(dict.fromkeys([*grades, *gc, *gb]))
    return [{"grade": g, "b": gb.get(g), "c": gc.get(g), "quota_b": qb.get(g), "quota_c": qc.get(g)} for g in names]


def _flags(side: Mapping[str, Any] | None, lang: str) -> list[str]:
    if not side:
        return []
    return [FLAG_WORDS[lang][k] for k in flags_on(side)]


def _indicator_rows(indicators: Iterable[Mapping[str, Any]], lang: str, has_baseline: bool) -> list[dict[str, Any]]:
    """Each indicator's figures under both versions with its tiers side by side; ``notable``: its rule or mean
    points changed, it is in one version only, it does not discriminate, or it is left out for most (shown
    first, the rest folded)."""
    out = []
    for ind in indicators:
        c, b = ind.get("candidate"), ind.get("baseline")
        tiers: list[dict[str, Any]] = []
        by_branch = {t["branch"]: t for t in (b or {}).get("tiers") or []}
        for t in (c or b or {}).get("tiers") or []:
            old = by_branch.get(t["branch"]) if c else t
            tiers.append({"label": t["label"], "c": t if c else None, "b": old})
        flat = any(side and side["flags"]["flat"] for side in (c, b))
        excluded = any(side and side["flags"].get("mostly_excluded") for side in (c, b))
        moved = abs(float(ind.get("delta_mean") or 0.0)) > 1e-9
        one_side = has_baseline and (b is None or c is None)
        notable = bool(ind.get("rule_changed")) or moved or flat or excluded or one_side
        out.append({"code": ind["code"], "name": ind["name"], "dimension": ind.get("dimension_name") or "",
                    "notable": notable,
                    "c": c, "b": b, "changed": ind.get("rule_changed"), "in": ind.get("in") or [],
                    "delta_mean": ind.get("delta_mean"), "delta_contrib": ind.get("delta_mean_contrib_all"),
                    "flags": _flags(c or b, lang), "flags_b": _flags(b, lang) if c else [], "tiers": tiers})
    return out


def why_rows(items: Iterable[Mapping[str, Any]], limit: int = 10) -> dict[str, Any]:
    """"Why it moved" for reading: the items that changed the total (largest first, ``limit`` of them), each with
    the width of its bar (share of the largest), and how many smaller ones are left out."""
    items = list(items)
    moved = [dict(w) for w in items if abs(float(w.get("delta") or 0.0)) > 1e-9]
    top = max((abs(w["delta"]) for w in moved), default=0.0) or 1.0
    shown = explaining(items, limit)  # and the indicators scoring on one side only, at no points themselves
    for w in shown:
        w["width"] = round(abs(w["delta"]) / top * 100, 1)
    return {"items": shown, "more": max(0, len(moved) - limit),
            "total": sum(w["delta"] for w in moved)}


def _fairness(fairness: Mapping[str, Any], lang: str) -> list[dict[str, Any]]:
    out = []
    for grouping in fairness.get("groupings") or []:
        rows = []
        for g in grouping["groups"]:
            b, c = g.get("baseline") or {}, g.get("candidate") or {}
            rows.append({"label": g.get("label") or str(g.get("group")), "code": g.get("code"), "b": b, "c": c,
                         "delta": g.get("delta_mean"), "flagged": g.get("flagged") or []})
        out.append({"by": grouping["by"], "title": GROUPING_WORDS[lang].get(grouping["by"], grouping["by"]),
                    "rows": rows, "flagged": [r for r in rows if r["flagged"]]})
    return out


def _chart(page: Mapping[str, Any], ov: Mapping[str, Any], lang: str) -> dict[str, Any]:
    """The series the charts draw (numbers only, rounded for display; the tables beside hold the same)."""
    zh = lang == "zh"
    names = {"baseline": "基准版本" if zh else "baseline", "candidate": "候选版本" if zh else "candidate"}
    chart: dict[str, Any] = {"lang": lang, "names": names, "has_baseline": page["has_baseline"], "unit": "分" if zh else "points",
                             "people": "人" if zh else "people"}
    h = ov.get("histogram")
    if h:
        edges = h["edges"]
        chart["histogram"] = {"bins": [f"{edges[i]:.1f}–{edges[i + 1]:.1f}" for i in range(len(edges) - 1)],
                              "baseline": h["baseline"], "candidate": h["candidate"]}
    elif page["candidate"]:
        chart["histogram"] = None
    chart["grades"] = {"grades": [r["grade"] for r in page["grade_rows"]],
                       "baseline": [(r["b"] or {}).get("count", 0) for r in page["grade_rows"]] if page["has_baseline"] else None,
                       "candidate": [(r["c"] or {}).get("count", 0) for r in page["grade_rows"]]}
    t = ov.get("transitions")
    if t:
        chart["matrix"] = {"grades": t["grades"], "cells": [[j, i, n] for i, row in enumerate(t["matrix"])
                                                            for j, n in enumerate(row)],
                           "rows": "基准版本等次" if zh else "grade under the baseline",
                           "columns": "候选版本等次" if zh else "grade under the candidate"}
    inds = [r for r in page["indicators"] if r["c"]]
    chart["indicators"] = {
        "names": [r["name"] for r in inds],
        "series": {key: [_share_of(r["c"], key) for r in inds] for key in ("full", "partial", "zero", "missing")},
        "counts": {key: [_count_of(r["c"], key) for r in inds] for key in ("full", "partial", "zero", "missing")},
        "labels": ({"full": "满分", "partial": "部分得分", "zero": "零分", "missing": "无数据"} if zh else
                   {"full": "full points", "partial": "some points", "zero": "zero", "missing": "no data"}),
        "flagged": [bool(r["flags"]) for r in inds],
    }
    fair: dict[str, Any] = {}
    for g in page["fairness"]:
        rows = g["rows"]
        if g["by"] == "procuratorate":
            ordered = sorted(rows, key=lambda r: (r["c"] or r["b"] or {}).get("diff_from_rest") or 0.0)
            fair[g["by"]] = {"labels": [r["label"] for r in ordered],
                             "candidate": [_r((r["c"] or {}).get("diff_from_rest")) for r in ordered],
                             "baseline": [_r((r["b"] or {}).get("diff_from_rest")) for r in ordered],
                             "counts": [(r["c"] or r["b"] or {}).get("count") for r in ordered]}
        else:
            fair[g["by"]] = {"labels": [r["label"] for r in rows],
                             "candidate": [_r((r["c"] or {}).get("mean")) for r in rows],
                             "baseline": [_r((r["b"] or {}).get("mean")) for r in rows],
                             "counts": [(r["c"] or r["b"] or {}).get("count") for r in rows]}
    chart["fairness"] = fair
    chart["threshold"] = page["threshold"]
    return chart


def _share_of(side: Mapping[str, Any], key: str) -> float | None:
    k = _count_of(side, key)
    n = side.get("applies") or 0
    return round(k / n, 4) if n else None


def _count_of(side: Mapping[str, Any], key: str) -> int:
    if key == "partial":
        return max(0, int(side.get("with_points") or 0) - int(side.get("full") or 0) - int(side.get("zero") or 0))
    if key == "missing":
        return int(side.get("applies") or 0) - int(side.get("with_points") or 0)
    return int(side.get(key) or 0)


def _r(x: Any) -> float | None:
    return None if x is None else round(float(x), 2)


__all__ = ["Choices", "Numbers", "RunChanges", "change_rows", "dimension_notes", "export_changes", "run_changes", "again_request", "error_words", "closed_periods", "launch_choices", "progress", "report_page", "run_row",
           "scenario_results", "status_word", "version_words", "why_rows"]


@dataclass
class RunChanges:
    """What a run compared: the candidate's changes against its baseline, in the diff page's words."""
    diff: designer_diff.VersionDiff
    candidate: SchemeVersion
    baseline: SchemeVersion
    stale: bool  # the candidate (a draft) was edited after the run: the list is of its content now


def _scored_as_it_is(run: SimulationRun) -> bool:
    """Whether the run scored its candidate's content as it is now (a draft may have been edited since)."""
    return run.candidate is not None and content_hash(versions.resolve(run.candidate)) == run.candidate_hash


def run_changes(session: Session, actor: Actor, run: SimulationRun, dictionary: Any, lang: str) -> RunChanges | None:
    """The candidate's changes against the baseline the run scored, for the reviewer who reads the report (None
    when the run had no baseline, or a side is gone or out of the person's sight)."""
    cand, base = run.candidate, run.baseline
    if cand is None or base is None:
        return None
    try:
        diff = designer_diff.version_diff(session, actor, cand, base, dictionary, lang=lang)
    except NotFound:
        return None
    stale = not _scored_as_it_is(run)
    return RunChanges(diff=diff, candidate=cand, baseline=base, stale=stale)


CHANGE_PARTS = {"dimensions": "维度", "indicators": "指标", "metrics": "数据项", "adjustments": "加减分项", "vetoes": "一票否决"}
CHANGE_KINDS = {"added": "新增", "removed": "删除", "changed": "修改"}


def change_rows(changes: RunChanges | None) -> list[tuple[str, ...]]:
    """What a run compared, as rows for its workbook's 改动 sheet: (部分, 名称, 变化, 项目, 修改前, 修改后, 理由) —
    the diff page's words (Chinese: the workbook is Chinese throughout)."""
    if changes is None:
        return []
    d = changes.diff
    rows: list[tuple[str, ...]] = []

    def why(c: Any) -> str:
        said = [*c.reasons, *(f"原理由：{r}" for r in c.old_reasons)]
        return "；".join(said) or ("上级版本的修改" if c.upstream else "")
    for w in d.weights:
        rows.append(("维度权重", w.name, "修改", "权重", f"{w.old}（{w.old_share}）" if w.old_share else w.old,
                     f"{w.new}（{w.new_share}）" if w.new_share else w.new, why(w)))
    for coll, parts in d.parts:
        for c in parts:
            fields: list[Any] = list(c.fields if c.kind == "changed" else c.summary) or [None]
            for f in fields:
                rows.append((CHANGE_PARTS.get(coll, coll), c.name, CHANGE_KINDS.get(c.kind, c.kind),
                             f.label if f else "", "；".join(f.old) if f and c.kind != "added" else "",
                             "；".join(f.new) if f and c.kind != "removed" else "", why(c)))
    for c in d.sections:
        f = c.fields[0]
        rows.append(("总分、等次与比较组", c.name, "修改", "", "；".join(f.old), "；".join(f.new), why(c)))
    return rows


def export_changes(session: Session, actor: Actor, run: SimulationRun, dictionary: Any) -> list[tuple[str, ...]] | None:
    """The workbook's 改动 rows — None when there is nothing to compare with, or when the draft was edited after the
    run (the rows would describe content the report did not score)."""
    changes = run_changes(session, actor, run, dictionary, "zh")
    if changes is None or changes.stale or changes.diff.problems:
        return None
    return change_rows(changes)


def dimension_notes(run: SimulationRun, lang: str) -> dict[str, str]:
    """Why an indicator with the same points counts for another part of the total, named for each indicator of the
    candidate: its dimension's weight (效率 30 → 25), its dimension changed, or the weights' total — from the two
    versions the run scored ({} when the draft changed since the run, or there is no baseline)."""
    cand, base = run.candidate, run.baseline
    if cand is None or base is None or not _scored_as_it_is(run):
        return {}
    return weight_notes(versions.resolve(cand), versions.resolve(base), lang)


def weight_notes(c_doc: Mapping[str, Any], b_doc: Mapping[str, Any], lang: str) -> dict[str, str]:
    """:func:`dimension_notes` from the two resolved documents (candidate, baseline)."""
    c_dims, b_dims = c_doc.get("dimensions") or {}, b_doc.get("dimensions") or {}

    def total(dims: Mapping[str, Any]) -> float:
        return sum(float((d or {}).get("weight") or 0) for d in dims.values())

    def name(dims: Mapping[str, Any], code: Any) -> str:
        return str((dims.get(code) or {}).get("name") or code)
    tc, tb = total(c_dims), total(b_dims)
    zh = lang != "en"
    out: dict[str, str] = {}
    b_inds = b_doc.get("indicators") or {}
    for code, ind in (c_doc.get("indicators") or {}).items():
        old = b_inds.get(code)
        if not isinstance(ind, Mapping) or not isinstance(old, Mapping):
            continue
        dc, db = ind.get("dimension"), old.get("dimension")
        wc = float((c_dims.get(dc) or {}).get("weight") or 0)
        wb = float((b_dims.get(db) or {}).get("weight") or 0)
        parts = []
        if dc != db:
            parts.append(f"所属维度由“{name(b_dims, db)}”改为“{name(c_dims, dc)}”" if zh
                         else f"its dimension changed from {name(b_dims, db)} to {name(c_dims, dc)}")
        elif wc != wb:
            parts.append(f"所在维度“{name(c_dims, dc)}”的权重 {fmt(wb)} → {fmt(wc)}" if zh
                         else f"the weight of its dimension {name(c_dims, dc)}: {fmt(wb)} → {fmt(wc)}")
        if tc != tb:
            parts.append(f"各维度权重合计 {fmt(tb)} → {fmt(tc)}" if zh else f"the weights' total: {fmt(tb)} → {fmt(tc)}")
        elif not parts:
            # Its own weight and the total as they were, another dimension's changed: it moves someone for whom a
            # dimension has nothing to score (its weight is shared out among the others in proportion) — a
            # designer who raised 质量 45 → 50 read "或其他维度可计分的情况变化" under 效果's −0.20 (a UI audit).
            others = [f"“{name(c_dims, d)}” {fmt(float((b_dims.get(d) or {}).get('weight') or 0))} → "
                      f"{fmt(float((c_dims.get(d) or {}).get('weight') or 0))}" if zh else
                      f"{name(c_dims, d)} {fmt(float((b_dims.get(d) or {}).get('weight') or 0))} → "
                      f"{fmt(float((c_dims.get(d) or {}).get('weight') or 0))}"
                      for d in [*c_dims, *(x for x in b_dims if x not in c_dims)] if d != dc
                      and float((c_dims.get(d) or {}).get("weight") or 0) != float((b_dims.get(d) or {}).get("weight") or 0)]
            if others:
                parts.append(("其他维度的权重有变化（" + "、".join(others) + "）：本人有维度无可计分指标时，其权重按比例分给其余维度，"
                              "本维度所占比重随之变化") if zh else
                             ("another dimension's weight changed (" + ", ".join(others) + "): where a dimension has "
                              "nothing to score for this person its weight is shared out among the others in proportion, "
                              "so this dimension's share changed"))
        if parts:
            out[str(code)] = ("得分未变，计入总分变了：" + "；".join(parts) + "。") if zh \
                else "Same points, another weight: " + "; ".join(parts) + "."
    return out


def gate_summary(run: SimulationRun, lang: str) -> list[str]:
    """What the simulation an approval rests on found, in a line or two per period, for the version's workflow card:
    the grades and totals that move and the candidate's indicators the report flags — a reviewer signed off with
    only "审核依据：模拟测评 #5" before them, and a threshold nobody reaches or an indicator most people are not
    scored on went unseen (a UI audit)."""
    report = runs.report_of(run) if run.status == "succeeded" else None
    if not report:
        return []
    zh = lang != "en"
    out = []
    for p in report.get("periods") or []:
        m = p.get("movers") or {}
        head = f"{p.get('period')}：" if zh else f"{p.get('period')}: "
        if m.get("moved") is None:
            head += "没有与之比较的版本，只计了本版的分" if zh else "nothing to compare with: this version scored alone"
        else:
            head += (f"等次上升 {m.get('grade_up', 0)} 人、下降 {m.get('grade_down', 0)} 人；总分上升 {m.get('up', 0)} 人、"
                     f"下降 {m.get('down', 0)} 人" if zh else
                     f"{m.get('grade_up', 0)} up a grade, {m.get('grade_down', 0)} down; totals up for {m.get('up', 0)}, "
                     f"down for {m.get('down', 0)}")
        flagged: dict[str, list[str]] = {}
        for ind in p.get("indicators") or []:
            side = ind.get("candidate")
            for f in flags_on(side) if side else []:
                flagged.setdefault(f, []).append(str(ind.get("name")))
        parts = [f"{FLAG_WORDS[lang][f]}：{'、'.join(names)}" if zh else f"{FLAG_WORDS[lang][f]}: {', '.join(names)}"
                 for f in FLAGS if (names := flagged.get(f))]
        out.append(head + (("；" if zh else "; ") + ("；" if zh else "; ").join(parts) if parts else "") + ("。" if zh else "."))
    return out
