"""Live impact and preview of a draft (issue 12, page 5): what an edit would change, before it is saved.

:func:`impact` — while a designer edits a weight, a threshold or a quota: the grade distribution of the
people in their view under the version in force and under the edited draft, on the last closed period,
how many would move up or down a grade, the grade transition matrix, who would cross a grade and which
parts of the scheme moved them most, and the use of each grade quota under both. :func:`preview` — one
prosecutor's score card under both, side by side, with the difference per indicator.

Semantics (the README's designer section says them in a designer's words):

- **who counts**: the subjects the draft's scheme scores (its procuratorate and those below) that the
  actor may see (their own procuratorate and below; ``procuratorate`` narrows it further), and that take
  part in the period under either version;
- **which period**: the one asked for (it must have ended and have data), else the last whole period of
  the scheme's cadence that ended before today and has data;
- **which rules**: the draft (or its unsaved document) against the version in force today — the one it
  would replace (see :func:`rulesvc.services.impact_data.in_force`); both scored now on the same facts
  (provisional figures, even where the period was published);
- **crossing a grade**: having a grade under both and not the same one (up: a better band); having one
  under one version only is counted apart (into / out of grading);
- nothing is written: no job, no record, no audit line.

Both read only through the services' own checks: the actor must be able to read the version
(``versions.get_version``); subjects outside their tree are never shown, as if absent; errors are the
service errors with catalogue messages. How each answer was computed (metrics reused, partly or wholly
aggregated; events shared with the version in force or loaded) is in its ``computation``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import polars as pl
from sqlalchemy.orm import Session

from rulesvc.catalogue import Words, msg
from rulesvc.engine.bulk import GROUP_COLUMNS, subject_of
from rulesvc.engine.compile import CompiledScheme
from rulesvc.engine.dictionary import Dictionary
from rulesvc.engine.evaluate import PythonDecider
from rulesvc.engine.frame_events import evaluate_subject_frame
from rulesvc.engine.participation import EVALUATED
from rulesvc.engine.peers import line_band, moved_by_quota, shown_total
from rulesvc.engine.simreport import clean, detail_expr, grade_order, why_moved
from rulesvc.errors import NotEvaluated, NotFound
from rulesvc.services import results
from rulesvc.services.evaluation import card_of, summary_of
from rulesvc.services.governance.access import Actor, procuratorate_in_view, require, tree_of
from rulesvc.services.impact_data import (
    Scored,
    baseline_figures,
    cache_state,
    chosen_period,
    clear_caches,
    in_force,
    looked_at,
    score,
)
from rulesvc.services.scoring import default_decider

MAX_CROSSERS = 200  # people listed by name by default (the counts cover everyone)
MAX_LISTED = 2000  # … and at most, whatever ``limit`` asks
WHY_TOP = 3  # parts of the scheme named per person: those that moved the total most
DRAFT, IN_FORCE = "draft", "in_force"


def impact(session: Session, actor: Actor, dictionary: Dictionary, *, version_id: int,
           document: Mapping[str, Any] | None = None, period: str | None = None, procuratorate: str | None = None,
           limit: int = MAX_CROSSERS, cache_dir: str | Path | None = None, today: dt.date | None = None) -> dict[str, Any]:
    """The live impact of a draft (``document``: its unsaved edit) on the people in the actor's view.

    Returns (JSON-able): ``period`` and whether it was ``chosen`` (latest) or ``given``; ``draft`` and
    ``in_force`` (the versions compared: id, number, scheme, content hash; ``in_force`` None when nothing is
    in force); ``people`` (how many count); ``grades`` (best first, None last: not graded or not taking
    part); ``distribution`` per side (count and share per grade; none in force: empty); ``moves`` (``up``, ``down``, ``same``,
    ``into_grading``, ``out_of_grading``, ``total_changed``; ``total_up`` / ``total_down`` among those graded
    under both, as the simulation report counts); ``matrix`` (rows: grade in force, columns:
    grade under the draft); ``crossers`` (up to ``limit``, the largest moves first: code, name,
    procuratorate, totals, grades and their reasons, direction, ``why`` — the parts that moved the total most —,
    ``line_band`` and ``by_places``: both totals reach the same band by its line, so a quota or veto moved the grade) and
    ``crossers_total``; ``quota`` per side; ``warnings`` (lint); ``datasets``; ``computation``."""
    today = today or results.today()
    looked = looked_at(session, actor, dictionary, version_id, document)
    v = looked.version
    if not actor.may("score"):  # people's grades and totals: what scoring them shows (an API key needs it)
        require(actor, "score", v.scheme.procuratorate_id, what=Words(f"方案 {v.scheme.code}", f"Scheme {v.scheme.code}"))
    p = chosen_period(session, v.scheme.period_kind, period, today)
    base_v = in_force(session, actor, v, p, today)
    base = baseline_figures(session, base_v, dictionary, p, cache_dir)
    draft = score(session, dictionary, looked.compiled, p, base, cache_dir=cache_dir)
    view = _view(session, actor, procuratorate)
    d_frame = _visible(draft.bulk.frame, view)
    people = d_frame.select(list(dict.fromkeys([draft.key, "code", "name", "procuratorate_id"])))
    b_frame = base.frame.filter(pl.col(draft.key).is_in(draft.subjects[draft.key].implode())) if base is not None \
        else d_frame.clear()
    b_frame = _visible(b_frame, view)
    people = pl.concat([people, b_frame.select(people.columns)]).unique(draft.key, keep="first")
    order = grade_order(looked.compiled, base.compiled if base is not None else None)
    both = _sides(people, d_frame, b_frame, draft.key, order)
    grades: list[str | None] = [*order, None]
    out: dict[str, Any] = {
        "period": p.label, "period_choice": "given" if period is not None else "latest",
        "draft": _ref(v, looked.compiled, unsaved=looked.unsaved),
        IN_FORCE: _ref(base_v, base.compiled) if base is not None and base_v is not None else None,
        "procuratorate": _org_ref(session, view[1]) if view[1] is not None else None,
        "people": both.height, "grades": grades,
        "distribution": {IN_FORCE: _distribution(both["grade_b"], grades) if base is not None else [],
                         DRAFT: _distribution(both["grade_d"], grades)},
        "moves": _moves(both, base is not None), "matrix": _matrix(both, grades) if base is not None else None,
        "totals": {side: _mean(both, s) for side, s in ((IN_FORCE, "b"), (DRAFT, "d"))},
    }
    crossers = both.filter(pl.col("direction").is_not_null())
    out["crossers_total"] = crossers.height
    out["crossers"] = _crossers(session, crossers, draft, looked.compiled, base, limit) if base is not None else []
    out["quota"] = {IN_FORCE: _quota(base.compiled, b_frame, base.frame) if base is not None else [],
                    DRAFT: _quota(looked.compiled, d_frame, draft.bulk.frame)}
    out["warnings"] = looked.warnings
    out["datasets"] = [{"id": i, "content_hash": h} for i, h in draft.datasets]
    out["figures"] = results.PROVISIONAL
    out["computation"] = draft.computation
    return clean(out)


# -- who is in view ------------------------------------------------------------------------------------------


def _view(session: Session, actor: Actor, code: str | None) -> tuple[frozenset[int] | None, int | None]:
    """The procuratorate ids whose people the actor sees here (None: all), and the one asked for."""
    if code is None:
        return actor.scope, None
    org = procuratorate_in_view(session, actor, code)
    return tree_of(session).below([org.id]), org.id


def _visible(frame: pl.DataFrame, view: tuple[frozenset[int] | None, int | None]) -> pl.DataFrame:
    ids = view[0]
    return frame if ids is None else frame.filter(pl.col("procuratorate_id").is_in(sorted(ids)))


def _org_ref(session: Session, org_id: int) -> dict[str, str]:
    return dict(tree_of(session).names.get(org_id) or {})


def _ref(v: Any, compiled: CompiledScheme, *, unsaved: bool = False) -> dict[str, Any]:
    return {"version_id": v.id, "number": v.number, "status": v.status, "scheme": v.scheme.code,
            "scheme_name": v.scheme.name, "content_hash": compiled.scheme.content_hash, "unsaved": unsaved}


# -- the comparison ------------------------------------------------------------------------------------------


def _side(frame: pl.DataFrame, key: str, s: str) -> pl.DataFrame:
    graded = (pl.col("status") == EVALUATED) & pl.col("grade").is_not_null()
    return frame.select(pl.col(key), pl.col("status").alias(f"status_{s}"), pl.col("total").alias(f"total_{s}"),
                        pl.when(graded).then(pl.col("grade")).alias(f"grade_{s}"))


def _sides(people: pl.DataFrame, d: pl.DataFrame, b: pl.DataFrame, key: str, order: list[str]) -> pl.DataFrame:
    """One row per person: status, total and grade (graded only) under each side, and the direction of a
    grade change (``up`` / ``down`` between grades, ``into`` / ``out of`` grading)."""
    t = people.join(_side(d, key, "d"), on=key, how="left").join(_side(b, key, "b"), on=key, how="left")
    pos = {g: i for i, g in enumerate(order)}
    band_d = pl.col("grade_d").replace_strict(pos, default=None, return_dtype=pl.Int64)
    band_b = pl.col("grade_b").replace_strict(pos, default=None, return_dtype=pl.Int64)
    gd, gb = pl.col("grade_d").is_not_null(), pl.col("grade_b").is_not_null()
    direction = (pl.when(gd & gb & (band_d < band_b)).then(pl.lit("up"))
                 .when(gd & gb & (band_d > band_b)).then(pl.lit("down"))
                 .when(gd & ~gb).then(pl.lit("into_grading")).when(~gd & gb).then(pl.lit("out_of_grading")))
    return t.with_columns(direction.alias("direction"), (pl.col("total_d") - pl.col("total_b")).alias("delta"))


def _distribution(col: pl.Series, grades: list[str | None]) -> list[dict[str, Any]]:
    n = col.len()
    counts = {g: c for g, c in col.value_counts().iter_rows()} if n else {}
    return [{"grade": g, "count": int(counts.get(g, 0)), "share": counts.get(g, 0) / n if n else 0.0} for g in grades]


def _moves(t: pl.DataFrame, compared: bool) -> dict[str, int]:
    if not compared:
        return {"up": 0, "down": 0, "same": 0, "into_grading": 0, "out_of_grading": 0, "total_changed": 0,
                "total_up": 0, "total_down": 0}
    dirs = dict(t["direction"].drop_nulls().value_counts().iter_rows())
    same = t.filter(pl.col("grade_d").is_not_null() & (pl.col("grade_d") == pl.col("grade_b"))).height
    changed = t.filter((pl.col("delta").abs() > 1e-9) | (pl.col("total_d").is_null() != pl.col("total_b").is_null()))
    # Up and down among those graded under both, as the simulation report counts them (a designer compared
    # "25 whose total changed" here with "12 up, 12 down" there: the 25th was not graded under one of them).
    both = t.filter((pl.col("status_d") == EVALUATED) & (pl.col("status_b") == EVALUATED))
    return {"up": dirs.get("up", 0), "down": dirs.get("down", 0), "same": same,
            "into_grading": dirs.get("into_grading", 0), "out_of_grading": dirs.get("out_of_grading", 0),
            "total_changed": changed.height, "total_up": both.filter(pl.col("delta") > 1e-9).height,
            "total_down": both.filter(pl.col("delta") < -1e-9).height}


def _matrix(t: pl.DataFrame, grades: list[str | None]) -> dict[str, Any]:
    """Rows: the grade in force; columns: the grade under the draft; None: not graded / not taking part."""
    index = {g: i for i, g in enumerate(grades)}
    counts = [[0] * len(grades) for _ in grades]
    none = len(grades) - 1
    for gb, gd, n in t.group_by(["grade_b", "grade_d"]).len().iter_rows():
        counts[index.get(gb, none)][index.get(gd, none)] += n
    return {"rows": IN_FORCE, "columns": DRAFT, "grades": grades, "counts": counts}


def _mean(t: pl.DataFrame, s: str) -> dict[str, Any]:
    graded = t.filter(pl.col(f"grade_{s}").is_not_null())[f"total_{s}"]
    return {"graded": graded.len(), "mean": graded.mean() if graded.len() else None}


def _crossers(session: Session, crossers: pl.DataFrame, draft: Scored, compiled: CompiledScheme,
              base: results.Figures, limit: int) -> list[dict[str, Any]]:
    """The people who cross, the largest moves first, with the parts that moved them most."""
    rank = {"up": 0, "down": 1, "into_grading": 2, "out_of_grading": 3}
    top = (crossers.with_columns(pl.col("direction").replace_strict(rank, return_dtype=pl.Int64).alias("_o"),
                                 pl.col("delta").abs().fill_null(0.0).alias("_m"))
           .sort(["_o", "_m", "code"], descending=[False, True, False]).head(max(0, min(limit, MAX_LISTED))))
    keys = top[draft.key].implode()
    details: dict[str, dict[Any, str]] = {}
    reasons: dict[str, dict[Any, str]] = {}
    for s, frame, comp in (("d", draft.bulk.frame, compiled), ("b", base.frame, base.compiled)):
        rows = frame.filter(pl.col(draft.key).is_in(keys))
        details[s] = dict(rows.select(draft.key, detail_expr(comp, rows).alias("detail")).iter_rows()) if rows.height \
            else {}
        reasons[s] = dict(rows.select(draft.key, "grade_reason").iter_rows()) \
            if rows.height and "grade_reason" in rows.columns else {}
    names = tree_of(session).names
    out = []
    for r in top.iter_rows(named=True):
        # A move between grades while both totals reach the same band by its line: the places of a quota (or a
        # veto) decided it — the points that moved the total did not, and the panel must not say they did.
        line_d, line_b = line_band(compiled, r["total_d"]), line_band(base.compiled, r["total_b"])
        by_places = r["direction"] in ("up", "down") and line_d is not None and line_d == line_b
        reason_b, reason_d = reasons["b"].get(r[draft.key]) or "", reasons["d"].get(r[draft.key]) or ""
        # Which: the grade reasons say it in the engine's fixed words (a quota's places, a veto's bar or cap).
        vetoed = any(w in x for x in (reason_b, reason_d) for w in ("一票否决", "等次最高为"))
        placed = any(moved_by_quota(x) for x in (reason_b, reason_d))
        cause = "quota" if placed and not vetoed else "veto" if vetoed and not placed else "quota_or_veto"
        moved = [w for w in why_moved(details["d"].get(r[draft.key]), details["b"].get(r[draft.key]))
                 if abs(w["delta"]) > 1e-9 or w.get("only")]
        # An indicator scored under one version only moves the others of its dimension more than itself (a new one
        # dilutes them, at 0 points most of all): named even when its own delta is small or none, or the panel
        # blamed the diluted ones alone (an audit).
        why = moved[:WHY_TOP] + [w for w in moved[WHY_TOP:] if w.get("only")][:2]
        # What the parts listed leave of the change: said as the rest, so that the line adds up (a reviewer read
        # three −0.10 under a −0.67 and no word of the weight behind the rest)
        rest = (r["delta"] - sum(w["delta"] for w in why)) if r["delta"] is not None else 0.0
        out.append({"code": r["code"], "name": r["name"], "procuratorate": dict(names.get(r["procuratorate_id"]) or {}),
                    "direction": r["direction"],
                    IN_FORCE: {"total": r["total_b"], "grade": r["grade_b"], "status": r["status_b"],
                               "grade_reason": reason_b, "total_shown": _shown(base.compiled, r["total_b"])},
                    DRAFT: {"total": r["total_d"], "grade": r["grade_d"], "status": r["status_d"],
                            "grade_reason": reason_d, "total_shown": _shown(compiled, r["total_d"])},
                    "delta": r["delta"], "why": why, "line_band": line_d, "by_places": by_places,
                    "cause": cause if by_places else None,
                    "why_rest": rest if abs(rest) >= 0.005 else 0.0})
    return out


def _shown(compiled: CompiledScheme, total: float | None) -> str | None:
    """A total as its grade reason shows it: as many decimals as it takes not to read as a band's line it is not on
    (a reviewer read "90.50 → 90.00" beside "89.996 ≥ 80 → 合格")."""
    g = compiled.scheme.grading
    if total is None:
        return None
    return shown_total(total, [b.min for b in g.bands] if g is not None else [])


def _quota(compiled: CompiledScheme, seen: pl.DataFrame, whole: pl.DataFrame) -> list[dict[str, Any]]:
    """Per grade with a quota: places, taken and reached, over the quota groups wholly in view (places are
    decided per group); ``groups_partly_in_view`` counts the groups left out because part of them is not."""
    g = compiled.scheme.grading
    if g is None or not any(b.quota is not None for b in g.bands):
        return []
    gcol = None if g.quota_group == "all" else GROUP_COLUMNS[g.quota_group]
    ev = whole.filter(pl.col("status") == EVALUATED)
    if gcol is None:
        full_view = seen.height == whole.height
        groups, partial, ev = (1, 0, ev) if full_view else (0, 1, ev.clear())
    else:
        sizes = dict(whole.group_by(gcol).len().iter_rows())
        seen_sizes = dict(seen.group_by(gcol).len().iter_rows())
        full = [k for k, n in seen_sizes.items() if k is not None and sizes.get(k) == n]
        groups, partial = len(full), len([k for k in seen_sizes if k is not None]) - len(full)
        ev = ev.filter(pl.col(gcol).is_in(full))
    return [{"grade": c["grade"], "quota": c["quota"], "quota_group": c["quota_group"], "groups": groups,
             "groups_partly_in_view": partial, **{k: c[k] for k in ("size", "places", "taken", "reached", "below_best")}}
            for c in results.quota_counts(ev, g)]


# -- the preview ---------------------------------------------------------------------------------------------


def preview(session: Session, actor: Actor, dictionary: Dictionary, *, version_id: int, subject: str,
            document: Mapping[str, Any] | None = None, period: str | None = None,
            cache_dir: str | Path | None = None, today: dt.date | None = None) -> dict[str, Any]:
    """One subject's score card under the draft (``document``: its unsaved edit) and under the version in
    force, side by side: ``draft`` and ``in_force`` are cards as the evaluation API gives them (head from the
    period's bulk row, explanation from the per-subject evaluator; a side where the subject does not take
    part says only its status and why; ``in_force`` None when nothing is in force), ``difference`` the
    change of total, grade and place, and per indicator and adjustment the value, points and contribution
    under each with their difference. 404 for a subject outside the actor's tree or the scheme's scope."""
    today = today or results.today()
    looked = looked_at(session, actor, dictionary, version_id, document)
    v = looked.version
    p = chosen_period(session, v.scheme.period_kind, period, today)
    base_v = in_force(session, actor, v, p, today)
    base = baseline_figures(session, base_v, dictionary, p, cache_dir)
    draft = score(session, dictionary, looked.compiled, p, base, cache_dir=cache_dir)
    who = _subject(session, actor, draft, looked.compiled, subject, p)
    d_fig = _draft_figures(looked, p, draft, dictionary)
    # The draft's rule set is transient (each edit is new content): the plain-Python decider, which
    # registers nothing process-wide; the version in force keeps the API's durable_rules decider.
    d_card = _card(session, d_fig, who, draft.events_of, draft.bulk.peers, decider=PythonDecider(), ranks=True)
    b_card = None
    if base is not None and base.computed is not None:
        b_card = _card(session, base, who, base.computed.events_of, base.computed.bulk.peers,
                       decider=default_decider(), ranks=False)
    if d_card["status"] == "excluded" and (b_card is None or b_card["status"] == "excluded"):
        raise NotEvaluated(msg("scoring.not_evaluated", code=who["code"], name=who.get("name") or "",
                               reason=d_card["status_reason"], reason_en=d_card["status_code"], period=p.label),
                           reason=d_card["status_code"])
    out = {"subject": {"code": who["code"], "name": who.get("name") or "",
                       "procuratorate": _org_ref(session, who["procuratorate_id"])},
           "period": p.label, "period_choice": "given" if period is not None else "latest",
           "draft": _ref(v, looked.compiled, unsaved=looked.unsaved),
           IN_FORCE: _ref(base_v, base.compiled) if base is not None and base_v is not None else None,
           "cards": {DRAFT: d_card, IN_FORCE: b_card},
           "difference": _difference(d_card, b_card, grade_order(looked.compiled, base.compiled if base else None)),
           "warnings": looked.warnings, "figures": results.PROVISIONAL, "computation": draft.computation}
    return clean(out)


def _subject(session: Session, actor: Actor, draft: Scored, compiled: CompiledScheme, code: str,
             p: Any) -> dict[str, Any]:
    """The subject's row of the draft's subjects, if in the actor's tree and the scheme's scope."""
    hit = draft.subjects.filter(pl.col("code") == code)
    if hit.height == 0:
        from rulesvc.services.scoring import subjects_for

        everyone = subjects_for(session, compiled.scheme.subject)
        seen = everyone.filter(pl.col("code") == code)
        if seen.height and actor.in_scope(seen["procuratorate_id"][0]) and compiled.scheme.org:
            raise NotFound(msg("scoring.outside_scheme", code=code, scheme=compiled.scheme.code, org=compiled.scheme.org))
        raise NotFound(msg("scoring.no_subject", code=code))
    row = hit.row(0, named=True)
    if not actor.in_scope(row["procuratorate_id"]):
        raise NotFound(msg("scoring.no_subject", code=code))  # outside the caller's tree: as if absent
    require(actor, "score", row["procuratorate_id"], what=Words(f"考评对象 {code}", f"Subject {code}"))
    return row


def _draft_figures(looked: Any, p: Any, draft: Scored, dictionary: Dictionary) -> results.Figures:
    from rulesvc.engine import ENGINE_VERSION

    return results.Figures(looked.version.scheme, looked.version, looked.compiled, p, draft.bulk.frame,
                           draft.bulk.left_out, draft.key, draft.datasets, dictionary.content_hash, ENGINE_VERSION)


def _card(session: Session, fig: results.Figures, who: dict[str, Any], events_of: Any, peers: Any, *,
          decider: Any, ranks: bool) -> dict[str, Any]:
    """The subject's card under ``fig``; a subject not taking part: its status and why."""
    key = fig.key
    found = fig.frame.filter(pl.col(key) == who[key])
    if found.height == 0:
        left = fig.left_out.filter(pl.col(key) == who[key]) if key in fig.left_out.columns else fig.left_out.clear()
        r = left.row(0, named=True) if left.height else {}
        return {"status": "excluded", "status_reason": r.get("status_reason") or "",
                "status_code": r.get("status_code") or "", "total": None, "grade": None}
    row = found.row(0, named=True)
    subj = subject_of(row, key, final=True)
    subj.id, subj.name = row["code"], row.get("name") or ""
    result = evaluate_subject_frame(fig.compiled, subj, events_of(row[key]), period=fig.period.label,
                                    decider=decider, peers=peers)
    return card_of(session, fig, row, summary_of(result), ranks=_ranks(fig, row) if ranks else None)


def _ranks(fig: results.Figures, row: dict[str, Any]) -> dict[str, Any]:
    """Place, group size and percentile in the quota group (as ``results.ranked``), for one row."""
    if row.get("status") != EVALUATED:
        return {}
    gcol = None if fig.quota_group == "all" else GROUP_COLUMNS[fig.quota_group]
    group = fig.frame.filter(pl.col("status") == EVALUATED)
    if gcol is not None:
        group = group.filter(pl.col(gcol) == row.get(gcol))
    place = int((group["total"] > row["total"]).sum()) + 1  # ties share the better place, as results.ranked
    size = group.height
    pct = round(100.0 * (size - place) / (size - 1), 2) if size > 1 else 100.0
    return {"place": place, "group_size": size, "percentile": pct}


def _difference(d: dict[str, Any], b: dict[str, Any] | None, order: list[str]) -> dict[str, Any]:
    """Total, grade and place, then per indicator and adjustment: under each side and the change."""
    b = b or {}
    pos = {g: i for i, g in enumerate(order)}
    gd, gb = d.get("grade"), b.get("grade")
    move = None
    if gd is not None and gb is not None:
        move = "same" if gd == gb else ("up" if pos.get(gd, 99) < pos.get(gb, 99) else "down")
    elif gd is not None or gb is not None:
        move = "into_grading" if gd is not None else "out_of_grading"
    td, tb = d.get("total"), b.get("total")
    pd, pb = ((c.get("rank") or {}).get("place") for c in (d, b))
    return {"total": {IN_FORCE: tb, DRAFT: td, "delta": td - tb if td is not None and tb is not None else None},
            "grade": {IN_FORCE: gb, DRAFT: gd, "move": move},
            # delta > 0: a better place under the draft
            "place": {IN_FORCE: pb, DRAFT: pd, "delta": pb - pd if pd is not None and pb is not None else None},
            "indicators": _parts(d.get("indicators") or [], b.get("indicators") or [],
                                 ("value", "points", "contribution")),
            "adjustments": _parts(d.get("adjustments") or [], b.get("adjustments") or [], ("matched", "points"))}


def _parts(d: list[dict[str, Any]], b: list[dict[str, Any]], fields: tuple[str, ...]) -> list[dict[str, Any]]:
    """Items by code, the draft's order first then those only in force: each field under both and the
    difference (numbers only), and ``change``: added / removed / switched_on / switched_off (scored or
    analysis only) / changed / same."""
    by_d, by_b = {x["code"]: x for x in d}, {x["code"]: x for x in b}
    out = []
    for code in [*by_d, *(c for c in by_b if c not in by_d)]:
        x, y = by_d.get(code), by_b.get(code)
        item: dict[str, Any] = {"code": code, "name": (x or y or {}).get("name")}
        moved = False
        for f in fields:
            vd, vb = (x or {}).get(f), (y or {}).get(f)
            delta = vd - vb if isinstance(vd, int | float) and isinstance(vb, int | float) else None
            moved = moved or vd != vb
            item[f] = {IN_FORCE: vb, DRAFT: vd, "delta": delta}
        item["change"] = "added" if y is None else "removed" if x is None else "changed" if moved else "same"
        if "applies" in (x or y or {}):  # an indicator of a card that says whether it applies to the person
            item["applies"] = {IN_FORCE: (y or {}).get("applies"), DRAFT: (x or {}).get("applies")}
        if "max_points" in (x or y or {}):  # an indicator: analysis only (不计分) has no points to attain
            on = {s: (z.get("max_points") or 0) > 0 if z is not None else None for s, z in ((IN_FORCE, y), (DRAFT, x))}
            item["scored"] = on
            if on[IN_FORCE] is not None and on[DRAFT] is not None and on[IN_FORCE] != on[DRAFT]:
                item["change"] = "switched_on" if on[DRAFT] else "switched_off"
        out.append(item)
    return out


__all__ = ["MAX_CROSSERS", "cache_state", "clear_caches", "impact", "preview"]
