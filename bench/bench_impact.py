"""Benchmark: live impact and preview of a draft (rulesvc.services.impact, issue 12 page 5) on the demo
province (2,999 prosecutors, 97 procuratorates, ~1.16M events of 2020), from its database.

Every figure is printed next to a baseline measured in the same run:

1. the first answer (cold: the version in force's period data read, the draft's metrics aggregated) —
   baseline: a whole ``evaluate_bulk`` of the same draft on the period's events (already in memory);
2. an answer after each kind of edit — a weight, a tier threshold, a quota, a grade band, an adjustment's
   points, an indicator switched off, a new indicator with a new formula (all scoring only: the kept
   metric frame serves), and a new metric (a new condition each run: its own aggregation and "activity"
   computed, nothing else) — each run with new content (a fresh
   value every time, so no answer is served whole from the cache): the ``impact()`` call end to end
   (read the draft, check and compile the document, score, compare, who crosses and why, quotas) —
   baseline: ``evaluate_bulk`` of the same edited scheme; the draft's frame is checked identical to it;
3. the scoring step alone (``bulk.score_metrics`` on the kept metric frame) — baseline: ``evaluate_bulk``;
4. a county designer's answer on their localization (910101's people only) — baseline: ``evaluate_bulk`` of
   the edited localization;
5. a preview (two cards side by side) after an edit — baseline: what a preview without kept metrics
   costs: ``evaluate_bulk`` of the edited scheme (the card's head, place and peers) plus one card of the
   evaluation API (``evaluation.evaluate``, warm) under the version in force;
6. what the impact caches hold (entries, MiB) and the process's peak RSS.

Target: under 1 s per answer after the first, whole province, on a 2-vCPU machine.

Needs the demo database with the rule library in force (``rulesvc setup`` does both, ~1 min):

    RULESVC_INSTANCE_PATH=/tmp/impact_inst .venv/bin/rulesvc setup
    .venv/bin/python bench/bench_impact.py [--instance /tmp/impact_inst] [--runs 5]

Nothing is saved: the drafts it creates are rolled back.
"""

from __future__ import annotations

import argparse
import copy
import os
import platform
import resource
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import polars as pl

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

TEMPLATE, COUNTY = "SFS-PROSECUTOR-TEMPLATE", "SFS-PROSECUTOR-910101"
Doc = dict[str, Any]


def machine() -> str:
    mem = next((int(line.split()[1]) // 1024 for line in Path("/proc/meminfo").read_text().splitlines()
                if line.startswith("MemTotal")), 0)
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor())
    return (f"{os.cpu_count()} CPUs ({cpu}), {mem / 1024:.0f} GiB, CPython {platform.python_version()}, "
            f"polars {pl.__version__}, load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


def ms(t: float) -> str:
    return f"{t * 1e3:8.1f} ms"


def timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    t = time.perf_counter()
    out = fn()
    return time.perf_counter() - t, out


# -- the edits (``i``: the run, so each run is new content) -------------------------------------------------


def weight(d: Doc, i: int) -> None:
    d["dimensions"]["quality"]["weight"] = 41 + i


def tier(d: Doc, i: int) -> None:
    d["indicators"]["PLEA_APPLY_RATE"]["scoring"]["tiers"][0]["min"] = 0.86 + i / 100


def quota(d: Doc, i: int) -> None:
    d["grading"]["bands"][0]["quota"] = 0.16 + i / 100


def band(d: Doc, i: int) -> None:
    d["grading"]["bands"][1]["min"] = 89 - i / 2


def adjustment(d: Doc, i: int) -> None:
    d["adjustments"]["REVIEW_EXCELLENT_PROVINCE"].update(points=6 + i, cap=12 + 2 * i)


def switched_off(d: Doc, i: int) -> None:
    codes = ["PLEA_APPLY_RATE", "DEFINITE_SENT_REC_RATE", "SENT_REC_ADOPT_RATE", "CASE_RATIO_CRIM",
             "RETURN_SUPP_INV_RATE", "SELF_SUPP_INV_RATE"]
    d["indicators"][codes[i % len(codes)]]["scored"] = False


def new_formula(d: Doc, i: int) -> None:
    d["indicators"]["LOCAL_ADOPTED_SHARE"] = {
        "name": "本地采纳占比", "formula": f"rec_adopted / (cases_accepted + {i + 1})", "unit": "ratio",
        "direction": "higher_better", "dimension": "effect",
        "scoring": {"method": "linear", "worst": 0, "best": 1, "points": 5, "missing": "exclude"}}


def new_metric(d: Doc, i: int) -> None:
    d["metrics"]["local_detained"] = {"name": "多名嫌疑人案件数", "event": "case_accepted",
                                      "where": f"suspects >= {i + 2}"}  # a new condition every run
    d["indicators"]["LOCAL_DETAINED"] = {
        "name": "羁押案件数", "formula": "local_detained", "unit": "件", "direction": "lower_better",
        "dimension": "efficiency", "scoring": {"method": "linear", "worst": 30 + i, "best": 0, "points": 4}}


EDITS: list[Callable[[Doc, int], None]] = [weight, tier, quota, band, adjustment, switched_off, new_formula, new_metric]


# -- the run -----------------------------------------------------------------------------------------------


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--instance", default=os.environ.get("RULESVC_INSTANCE_PATH", "/tmp/impact_inst"))
    ap.add_argument("--runs", type=int, default=5, help="runs per kind of edit, each with new content")
    args = ap.parse_args()
    instance = Path(args.instance).resolve()
    if not (instance / "rulesvc.db").exists():
        sys.exit(f"no demo database in {instance}: run RULESVC_INSTANCE_PATH={instance} .venv/bin/rulesvc setup")
    os.environ["RULESVC_INSTANCE_PATH"] = str(instance)
    from rulesvc import create_app

    app = create_app({"DATABASE_URL": f"sqlite:///{instance / 'rulesvc.db'}"})
    print("machine:", machine())
    t_start = time.perf_counter()
    with app.app_context():
        run(app, args.runs)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak RSS {peak:.0f} MiB; whole benchmark {time.perf_counter() - t_start:.0f} s; "
          f"load average at the end {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


def run(app: Any, runs: int) -> None:
    from sqlalchemy import select

    from rulesvc.engine.bulk import evaluate_bulk, phase_metrics, score_metrics
    from rulesvc.engine.periods import parse_period
    from rulesvc.extensions import db
    from rulesvc.persistence.models import Procuratorate
    from rulesvc.services import evaluation, impact, impact_data, results
    from rulesvc.services.dictionary import get_dictionary
    from rulesvc.services.governance import versions
    from rulesvc.services.governance.access import actor_for_scope, system_actor

    session = db.session()
    dictionary = get_dictionary(app.config["RULES_DIR"])
    cache_dir = app.extensions["rulesvc.simulation_settings"].cache_dir
    actor = system_actor("bench")
    county_id = session.scalar(select(Procuratorate.id).where(Procuratorate.code == "910101"))
    county = actor_for_scope(session, "bench:county", "清瑞区", ["read", "edit", "score"], [county_id])
    draft = versions.create_draft(session, actor, TEMPLATE, from_version=1, change_note="bench")
    local = versions.create_draft(session, county, COUNTY, change_note="bench")
    base_doc = copy.deepcopy(draft.document)

    def answer(doc: Doc | None = None, **kw: Any) -> dict[str, Any]:
        return impact.impact(session, actor, dictionary, version_id=draft.id, document=doc, cache_dir=cache_dir, **kw)

    rows: list[tuple[str, float, float, str]] = []
    t_cold, first = timed(answer)
    p = parse_period(first["period"])
    fig = results.provisional_figures(session, versions.get_version(session, actor, 2), dictionary, p,
                                      cache_dir=cache_dir)
    assert fig.computed is not None
    events, subjects, key = fig.computed.data.events, fig.computed.data.subjects, fig.computed.data.key
    looked = impact_data.looked_at(session, actor, dictionary, draft.id, None)
    t_whole, _ = timed(lambda: evaluate_bulk(looked.compiled, events, subjects, key=key, period=(p.start, p.end)))
    print(f"period {p.label} (chosen: {first['period_choice']}), {first['people']:,} people, "
          f"{events.height:,} events in memory; first answer: {first['computation']}")
    rows.append(("first answer (cold: period read, metrics aggregated)", t_cold, t_whole, "evaluate_bulk (events in memory)"))

    same_all = True
    for edit in EDITS:
        ours, theirs, modes = [], [], []
        for i in range(runs):
            doc = copy.deepcopy(base_doc)
            edit(doc, i)
            t, out = timed(lambda doc=doc: answer(doc))  # type: ignore[misc]
            ours.append(t)
            modes.append(out["computation"]["metrics"])
            compiled = impact_data.looked_at(session, actor, dictionary, draft.id, doc).compiled
            tw, whole = timed(lambda c=compiled: evaluate_bulk(c, events, subjects, key=key, period=(p.start, p.end)))
            theirs.append(tw)
            kept = impact_data.score(session, dictionary, compiled, p, fig, cache_dir=cache_dir)
            same_all &= kept.bulk.frame.sort(key).equals(whole.frame.sort(key))
        rows.append((f"answer after an edit: {edit.__name__} (metrics {'/'.join(sorted(set(modes)))})",
                     statistics.median(ours), statistics.median(theirs), "evaluate_bulk of the edited scheme"))

    # The scoring step alone, on the kept metric frame of the last scoring-only edit.
    doc = copy.deepcopy(base_doc)
    weight(doc, runs + 3)
    compiled = impact_data.looked_at(session, actor, dictionary, draft.id, doc).compiled
    store: dict[Any, Any] = {}
    metrics = phase_metrics(compiled, events, subjects, key, cache=store, events_key="bench")
    steps = [timed(lambda: score_metrics(compiled, metrics, key=key, period=(p.start, p.end)))[0] for _ in range(runs)]
    wholes = [timed(lambda: evaluate_bulk(compiled, events, subjects, key=key, period=(p.start, p.end)))[0]
              for _ in range(max(2, runs // 2))]
    rows.append(("scoring step alone (score_metrics on kept metrics)", statistics.median(steps),
                 statistics.median(wholes), "evaluate_bulk"))

    # A county designer on their localization.
    def local_answer(doc: Doc) -> dict[str, Any]:
        return impact.impact(session, county, dictionary, version_id=local.id, document=doc, cache_dir=cache_dir)

    local_doc = copy.deepcopy(local.document)
    local_answer(local_doc)
    ours, theirs = [], []
    for i in range(runs):
        doc = copy.deepcopy(local_doc)
        next(o for o in doc["overrides"] if o["path"] == "dimensions.quality.weight")["value"] = 50 + i
        t, out = timed(lambda doc=doc: local_answer(doc))  # type: ignore[misc]
        ours.append(t)
        compiled = impact_data.looked_at(session, county, dictionary, local.id, doc).compiled
        county_subjects = subjects.filter(pl.col("procuratorate_id") == county_id)
        theirs.append(timed(lambda c=compiled, s=county_subjects: evaluate_bulk(c, events, s, key=key,
                                                                                period=(p.start, p.end)))[0])
    rows.append((f"county designer (910101, {out['people']} people), weight edit", statistics.median(ours),
                 statistics.median(theirs), "evaluate_bulk of the localization"))

    # A preview after a tier edit, against one card of the evaluation API.
    code = str(fig.frame.filter(pl.col("status") == "evaluated")["code"][0])
    previews, cards = [], []
    for i in range(runs):
        doc = copy.deepcopy(base_doc)
        tier(doc, i)
        previews.append(timed(lambda doc=doc: impact.preview(  # type: ignore[misc]
            session, actor, dictionary, version_id=draft.id, subject=code, document=doc, cache_dir=cache_dir))[0])
        compiled = impact_data.looked_at(session, actor, dictionary, draft.id, doc).compiled
        t_bulk = timed(lambda c=compiled: evaluate_bulk(c, events, subjects, key=key, period=(p.start, p.end)))[0]
        cards.append(t_bulk + timed(lambda: evaluation.evaluate(session, actor, dictionary, subject=code, period=p.label,
                                                                version_id=2, cache_dir=cache_dir))[0])
    rows.append(("preview: two cards side by side after a tier edit", statistics.median(previews),
                 statistics.median(cards), "evaluate_bulk of the edited scheme + one API card"))
    session.rollback()

    width = max(len(r[0]) for r in rows)
    print()
    print(f"{'figure'.ljust(width)}  {'ours':>11}  {'baseline':>11}  {'ours/base':>9}  baseline is")
    for name, t, b, what in rows:
        print(f"{name.ljust(width)}  {ms(t)}  {ms(b)}  {t / b:9.2f}  {what}")
    print()
    print(f"medians of {runs} runs each, every run new content; the draft's frame identical to evaluate_bulk's "
          f"in every run: {'yes' if same_all else 'NO'}")
    state = impact_data.cache_state()
    print("impact caches: " + ", ".join(f"{k} {v['entries']} entries {v['bytes'] / 2**20:.1f} MiB" for k, v in state.items()))


if __name__ == "__main__":
    main()
