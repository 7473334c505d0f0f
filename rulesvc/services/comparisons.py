"""Procuratorate-level comparison (院际比较) of a period, as the provincial bulletins publish it:

- each compared indicator's position against the peer group's average — 上游 (better than the average
  by more than the scheme's band), 中游 (within it), 下游 (worse) — the Jieyang method;
- laggard flags: the ``bottom_k`` lowest totals of a group and the lowest ``bottom_share`` (Guangxi: the
  last 3 city-level units, the last 30 % of county-level ones), ties at the boundary all flagged;
- streaks (Guangxi: worse than the average six months running): for each unit and indicator the months it
  was worse than its group's average, the run that ends with the period's last month, the longest run,
  and whether it reaches the scheme's ``streak`` (named).

Streaks look at the period's months and, when the period is shorter than the streak (a monthly
bulletin), at as many months before it as the streak needs (at most 24): July's bulletin names a unit
behind since February. Every month is scored under the same version as the period — except a month
before the period that has been published: its verdicts are its publication's (the bulletin as published).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import polars as pl
from sqlalchemy import select
from sqlalchemy.orm import Session

from rulesvc.catalogue import msg
from rulesvc.engine.bulk import GROUP_COLUMNS
from rulesvc.engine.comparison import POSITIONS, laggard_rules, laggards, monthly_marks, positions
from rulesvc.engine.compile import CompiledScheme
from rulesvc.engine.dictionary import Dictionary
from rulesvc.engine.periods import Period, months_of, parse_period
from rulesvc.errors import InvalidInput
from rulesvc.persistence.models import Procuratorate
from rulesvc.services import results
from rulesvc.services.governance.access import Actor

MAX_MONTHS = 24


def streak_months(fig: results.Figures) -> list[Period]:
    """The months streaks are read over (see the module's docstring)."""
    return streak_window(fig.period, fig.compiled)


def streak_window(period: Period, compiled: CompiledScheme) -> list[Period]:
    """The months streaks of ``period`` are read over: its own, and before them as many as the scheme's
    streak needs (at most :data:`MAX_MONTHS`) — the same for the API, the admin page and ``rulesvc compare``."""
    months = months_of(period)
    pc = compiled.scheme.peers
    need = min(max(len(months), (pc.streak or 0) if pc else 0), MAX_MONTHS)
    d = period.end
    out: list[Period] = []
    while len(out) < need:
        out.append(parse_period(f"{d.year}-{d.month:02d}"))
        d = dt.date(d.year, d.month, 1) - dt.timedelta(days=1)
    return list(reversed(out))


@dataclass
class Streaks:
    """The monthly marks streaks are read from (``engine.comparison.monthly_marks``), what they rest on: every
    dataset read for them, and the months read from their publication."""

    marks: pl.DataFrame
    datasets: tuple[tuple[int, str], ...]
    published: dict[str, int] = field(default_factory=dict)  # month -> the publication its figures come from
    without_data: tuple[str, ...] = ()  # months no dataset in use covers: no unit can be behind in them


def monthly_streaks(session: Session, fig: results.Figures, dictionary: Dictionary,
                    cache_dir: str | Path | None = None) -> Streaks | None:
    """Per unit and month, whether it was worse than its group's average on each compared indicator. A month
    before the period that has been published is read from its publication — the verdict the published
    bulletin gave, whatever was imported since — and the others are computed now under the period's version."""
    pc = fig.compiled.scheme.peers
    if pc is None or not pc.streak:
        return None
    ids = [i for i, _ in fig.datasets] if fig.publication is not None else None
    monthly = []
    datasets = dict(fig.datasets)
    published: dict[str, int] = {}
    needed = set(pc.indicators)
    empty: list[str] = []
    for m in streak_months(fig):
        pub = (results.current_publication(session, fig.scheme.id, m.label)
               if m.label != fig.period.label and fig.publication is None else None)
        frame = results.published_figures(pub, dictionary).frame if pub is not None else None
        if frame is not None and needed <= set(frame.columns) and "status" in frame.columns:
            assert pub is not None
            monthly.append((m.label, frame))
            datasets.update((int(i), str(h)) for i, h in pub.datasets)
            published[m.label] = pub.id
            continue
        c = results.compute(session, fig.compiled, dictionary, m, cache_dir=cache_dir, dataset_ids=ids)
        monthly.append((m.label, c.bulk.frame))
        datasets.update(c.data.datasets)
        if not c.data.datasets:
            empty.append(m.label)
    return Streaks(monthly_marks(fig.compiled, monthly, fig.key), tuple(sorted(datasets.items())), published,
                   tuple(empty))


def comparison(session: Session, actor: Actor, dictionary: Dictionary, *, period: str, scheme: str | None = None,
               version_id: int | None = None, cache_dir: str | Path | None = None) -> dict[str, Any]:
    fig = results.figures(session, actor, dictionary, period=period, scheme=scheme, version_id=version_id,
                          cache_dir=cache_dir)
    if fig.compiled.scheme.subject != "procuratorate":
        bad = msg("comparison.not_procuratorate", code=fig.scheme.code)
        raise InvalidInput(bad, errors={"scheme" if scheme else "version_id": [bad]})  # the field the caller sent
    results.require_data(fig)
    c = fig.compiled
    pc = c.scheme.peers
    frame = laggards(c, positions(c, results.ranked(fig, pc.group if pc else None)))
    streaks = None if fig.publication is not None else monthly_streaks(session, fig, dictionary, cache_dir)
    marks = fig.extra if fig.publication is not None else (streaks.marks if streaks is not None else None)
    names = {r.id: (r.code, r.name) for r in session.execute(select(Procuratorate.id, Procuratorate.code,
                                                                    Procuratorate.name)).all()}
    compared = list(pc.indicators) if pc else []
    by_code = {ci.indicator.code: ci for ci in c.indicators}
    runs = _runs(marks, fig.key, compared) if marks is not None and marks.height else {}
    units = []
    for row in frame.sort(["place", "code"], nulls_last=True).iter_rows(named=True):
        if not actor.in_scope(row["procuratorate_id"]):
            continue
        inds = []
        for code in compared:
            r = runs.get((row[fig.key], code), {})
            inds.append({"code": code, "name": by_code[code].indicator.name, "value": row.get(code),
                         "average": row.get(f"avg__{code}"), "position": row.get(f"pos__{code}"),
                         "months_worse": r.get("months", []), "streak": r.get("current", 0),
                         "streak_months": r.get("current_months", []), "longest": r.get("longest", 0),
                         "longest_months": r.get("longest_months", []),
                         "named": bool(pc and pc.streak and r.get("longest", 0) >= pc.streak)})
        units.append({"code": row["code"], "name": names.get(row["procuratorate_id"], ("", row.get("name")))[1],
                      "level": row.get("level"), "status": row["status"], "total": row.get("total"),
                      "grade": row.get("grade"), "place": row.get("place"), "group_size": row.get("group_size"),
                      "bottom_k": bool(row.get("bottom_k")), "bottom_share": bool(row.get("bottom_share")),
                      "indicators": inds})
    rules = []
    gcol = GROUP_COLUMNS[pc.group] if pc and pc.group != "all" else None
    for lr in laggard_rules(c, frame):
        flagged = frame.filter(pl.col(lr.rule) & (pl.col(gcol) == lr.group if gcol else pl.lit(True))).height
        tie = f"（含同分并列，共 {flagged} 个）" if flagged > lr.places else ""  # ties at the boundary are all flagged
        rules.append({"rule": lr.rule, "group": lr.group, "size": lr.size, "places": lr.places, "flagged": flagged,
                      "note": lr.note + tie})
    provenance = fig.provenance()
    if streaks is not None:  # the earlier months' datasets too: what reproduces the streaks
        provenance["datasets"] = [{"id": i, "content_hash": h} for i, h in streaks.datasets]
    return {"period": fig.period.label, **provenance,
            "method": {"group": pc.group if pc else "all", "band": pc.band if pc else None,
                       "positions": list(POSITIONS), "streak": pc.streak if pc else None,
                       "streak_months": [m.label for m in streak_months(fig)] if pc and pc.streak else [],
                       "streak_months_without_data": list(streaks.without_data) if streaks is not None else [],
                       "streak_published": (streaks.published if streaks is not None
                                            else _published_months(fig.extra) if fig.publication is not None else {}),
                       "laggard_rules": rules,
                       "indicators": [{"code": code, "name": by_code[code].indicator.name,
                                       "direction": by_code[code].indicator.direction,
                                       "unit": by_code[code].indicator.unit} for code in compared]},
            "units": units}


def _published_months(extra: pl.DataFrame | None) -> dict[str, int]:
    """The months a published comparison read from their publications, as it stored them (publications made
    before 2026-12-07 stored none)."""
    if extra is None or "publication" not in extra.columns:
        return {}
    found = extra.select("month", "publication").unique().drop_nulls().sort("month")
    return {m: int(p) for m, p in found.iter_rows()}


def _runs(marks: pl.DataFrame, key: str, compared: list[str]) -> dict[tuple[Any, str], dict[str, Any]]:
    out: dict[tuple[Any, str], dict[str, Any]] = {}
    for (k,), part in marks.sort([key, "month"]).partition_by(key, as_dict=True).items():
        months = part["month"].to_list()
        for code in compared:
            flags = part[code].to_list()
            worse = [m for m, f in zip(months, flags, strict=True) if f]
            current: list[str] = []
            for m, f in zip(reversed(months), reversed(flags), strict=True):
                if not f:
                    break
                current.insert(0, m)
            longest = run = 0
            longest_months: list[str] = []
            for i, f in enumerate(flags):
                run = run + 1 if f else 0
                if run and run >= longest:  # the latest of the longest runs: what a bulletin names
                    longest, longest_months = run, months[i - run + 1:i + 1]
            out[(k, code)] = {"months": worse, "current": len(current), "current_months": current, "longest": longest,
                              "longest_months": longest_months}
    return out


__all__ = ["Streaks", "comparison", "monthly_streaks", "streak_months", "streak_window"]
