"""Benchmark: the scoring engine on the demo province (≥ 1M events, ~3,000 prosecutors, year 2020).

Every figure is printed next to a baseline measured in the same run:

1. one evaluation with the full trace (``evaluate_subject``, durable_rules decider) — baseline: the
   same evaluation with the plain-Python decider;
2. bulk scoring of the province (``evaluate_bulk``, metric aggregation included) — baseline: a
   hand-written polars group-by computing only the same metrics;
3. the scoring step alone (everything after metric aggregation) for ~3,000 subjects — baseline:
   GoRules zen evaluating the same scoring rules (one JDM decision table per indicator) subject by
   subject, with its outputs checked against ours;
4. one evaluation with our full trace — baseline: one zen evaluation with its trace on (target: no
   slower, and our p99 within 3× our p50); beside it, the same evaluation from the subject's events as
   a polars frame (``evaluate_subject_frame``, the service's form) against ``to_dicts()`` + ``evaluate_subject``.

Uses the provincial template (rules/schemes/province-prosecutor-template.yaml) when it compiles and
falls back to tests/data/schemes/mini.yaml, saying why. Needs no web server; about two minutes.

    .venv/bin/python bench/bench_engine.py [--runs 500] [--db /tmp/engine-bench.db] [--jdm-out FILE]

``--db`` keeps the generated province in that SQLite file and reuses it on the next run.
"""

from __future__ import annotations

import argparse
import datetime as dt
import decimal
import gc
import json
import math
import os
import platform
import statistics
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl

from rulesvc import create_app
from rulesvc.engine.bulk import evaluate_bulk, metrics_frame, phase_metrics, score_metrics, subject_of
from rulesvc.engine.compile import CompiledScheme, compile_scheme
from rulesvc.engine.durable_decider import DurableDecider
from rulesvc.engine.evaluate import DecisionInput, PythonDecider, assemble, evaluate_subject
from rulesvc.engine.frame_events import evaluate_subject_frame
from rulesvc.engine.scoring import Branch
from rulesvc.services.facts import events_frame, subjects_frame
from rulesvc.services.scoring import load_scheme_file

ROOT = Path(__file__).resolve().parent.parent
TEMPLATE = ROOT / "rules/schemes/province-prosecutor-template.yaml"
MINI = ROOT / "tests/data/schemes/mini.yaml"
KEY = "prosecutor_id"
YEAR = (dt.date(2020, 1, 1), dt.date(2020, 12, 31))


# --------------------------------------------------------------------------------------- set-up
@dataclass
class Data:
    compiled: CompiledScheme
    scheme_note: str
    events: pl.DataFrame
    subjects: pl.DataFrame


def load_data(db_path: Path, instance: Path) -> Data:
    """The demo province in SQLite (generated unless ``db_path`` already holds it), as polars frames."""
    from flask_migrate import upgrade

    from rulesvc.datagen.demo import DemoConfig, database_is_empty, generate_and_load
    from rulesvc.extensions import db
    from rulesvc.services.dictionary import get_dictionary, sync_dictionary

    os.environ["RULESVC_INSTANCE_PATH"] = str(instance)
    app = create_app({"DATABASE_URL": f"sqlite:///{db_path}", "SECRET_KEY": "bench"})
    with app.app_context():
        upgrade()
        dictionary = get_dictionary(app.config["RULES_DIR"])
        sync_dictionary(db.session, dictionary)
        db.session.commit()
        if database_is_empty():
            s = generate_and_load(DemoConfig())
            print(f"demo province generated and loaded: {s.events:,} events in {s.generate_and_load_seconds:.1f} s")
        compiled, note = pick_scheme(dictionary)
        t0 = time.perf_counter()
        events = events_frame(db.session, dictionary, start=YEAR[0], end=YEAR[1], event_types=compiled.event_types)
        subjects = subjects_frame(db.session)
        print(f"events frame: {events.height:,} events, {subjects.height:,} prosecutors "
              f"({time.perf_counter() - t0:.1f} s, outside every timing)")
        db.session.remove()
        db.engine.dispose()
    return Data(compiled, note, events, subjects)


def pick_scheme(dictionary: Any) -> tuple[CompiledScheme, str]:
    try:
        scheme = load_scheme_file(TEMPLATE)
        compiled = compile_scheme(scheme, dictionary)
        where = TEMPLATE.relative_to(ROOT)
    except Exception as exc:  # being written by someone else: say so and use the test scheme
        print(f"!! {TEMPLATE.relative_to(ROOT)} unusable ({exc.__class__.__name__}: {str(exc)[:200]}); "
              f"FALLING BACK to {MINI.relative_to(ROOT)}")
        scheme = load_scheme_file(MINI)
        compiled = compile_scheme(scheme, dictionary)
        where = MINI.relative_to(ROOT)
    scored = sum(1 for ci in compiled.indicators if ci.piecewise is not None)
    note = (f"{where} ({scheme.code}, hash {scheme.content_hash[:12]}): {len(compiled.indicators)} indicators "
            f"({scored} scored), {len(compiled.metrics)} metrics, {len(compiled.adjustments)} adjustments, "
            f"{len(compiled.vetoes)} vetoes")
    return compiled, note


def percentile(sorted_ts: list[float], q: float) -> float:
    return sorted_ts[min(len(sorted_ts) - 1, math.ceil(q * len(sorted_ts)) - 1)]


def interleaved(fns: dict[str, Callable[[], Any]], runs: int, warmup: int = 0) -> tuple[dict[str, list[float]], dict[str, Any]]:
    """Run each function ``runs`` times, taking turns, so a figure and its baseline share whatever
    else the machine is doing. Returns the sorted wall times — and, under ``cpu:<name>``, the sorted
    CPU times of this process, which a busy machine disturbs less — and the last result of each."""
    for _ in range(warmup):
        for fn in fns.values():
            fn()
    times: dict[str, list[float]] = {k: [] for k in [*fns, *(f"cpu:{k}" for k in fns)]}
    last: dict[str, Any] = {}
    gc.collect()
    for _ in range(runs):
        for name, fn in fns.items():
            c0, t0 = time.process_time(), time.perf_counter()
            last[name] = fn()
            times[name].append(time.perf_counter() - t0)
            times[f"cpu:{name}"].append(time.process_time() - c0)
    return {k: sorted(v) for k, v in times.items()}, last


# --------------------------------------------------------------------- 2. the hand-written baseline
T = pl.col("event_type")


def _n(mask: pl.Expr) -> pl.Expr:
    return mask.sum()


def _distinct(mask: pl.Expr, field: str = "case_id") -> pl.Expr:
    return pl.col(field).filter(mask).drop_nulls().n_unique()


def _outcomes(prefix: str, etype: str, done: str, won: str) -> dict[str, pl.Expr]:
    kinds = {"protest": "protest", "retrial": "retrial_rec", "trial": "trial_rec", "exec": "execution_rec"}
    out = {}
    for short, kind in kinds.items():
        m = (T == etype) & (pl.col("kind") == kind)
        out[f"{prefix}_{short}_{done if short == 'protest' else 'done'}"] = _n(m & (pl.col("outcome") != "pending"))
        out[f"{prefix}_{short}_{won if short == 'protest' else 'adopted'}"] = _n(m & (pl.col("outcome") == "adopted"))
    return out


def handwritten_template() -> dict[str, pl.Expr]:
    """The template's metrics, written directly as polars expressions (no engine code involved)."""
    pr, cj, sa, ar = T == "prosecution_review", T == "court_judgment", T == "supervision_action", T == "arrest_review"
    pic, adm = T == "public_interest_case", T == "administrative_supervision"
    c, dec = pl.col, pl.col("decision")
    civ_adm = T.is_in(["civil_supervision", "administrative_supervision"])
    return {
        "cases_accepted": _n(T == "case_accepted"), "returns": _n(T == "supplementary_investigation"),
        "extensions": _n(T == "review_extension"), "withdrawals": _n(T == "prosecution_withdrawn"),
        "other_extras": _n((T == "extra_proceeding") & (c("kind") != "non_arrest_review")),
        "recon_requests": _n(ar & c("reconsidered")), "recon_reversed": _n(ar & c("reconsidered") & c("reversed")),
        "arrests": _n(ar & (dec == "arrest")), "non_arrests": _n(ar & (dec == "not_arrest")),
        "arrest_cases": _distinct(ar),
        "reviewed_persons": _n(pr), "prosecuted_persons": _n(pr & (dec == "prosecute")),
        "non_prosecuted_persons": _n(pr & dec.is_in(["not_prosecute", "conditional_not_prosecute"])),
        "plea_persons": _n(pr & c("plea_leniency")),
        "rec_any": _n(pr & c("sentencing_rec").is_in(["definite", "ranged"])),
        "rec_definite": _n(pr & (c("sentencing_rec") == "definite")),
        "arrested_concluded": _n(pr & c("arrested")),
        "arrested_not_prosecuted": _n(pr & c("arrested") & (dec != "prosecute")),
        "juvenile_persons": _n(pr & c("juvenile")),
        "juvenile_conditional": _n(pr & c("juvenile") & (dec == "conditional_not_prosecute")),
        "ontime_persons": _n(pr & ((c("occurred_on") - c("accepted_on")).dt.total_days() <= 45)),
        "concluded_crim_cases": _distinct(pr), "indicted_cases": _distinct(pr & (dec == "prosecute")),
        "self_inv_cases": _distinct(pr & c("self_investigated")),
        "judged_persons": _n(cj), "acquitted_persons": _n(cj & (c("result") == "acquitted")),
        "charge_changed_persons": _n(cj & c("charge_changed")), "rec_judged": _n(cj & c("rec_made")),
        "rec_adopted": _n(cj & c("rec_made") & c("rec_adopted")), "plea_judged": _n(cj & c("plea_leniency")),
        "plea_appealed": _n(cj & c("plea_leniency") & c("appealed")),
        "contested_persons": _n(cj & (c("appealed") | c("protested"))),
        "sup_filing": _n(sa & (c("action") == "filing")), "sup_withdrawal": _n(sa & (c("action") == "withdrawal")),
        "sup_correction": _n(sa & (c("action") == "correction")),
        "sup_correction_adopted": _n(sa & (c("action") == "correction") & c("adopted")), "sup_actions": _n(sa),
        **_outcomes("civil", "civil_supervision", "done", "changed"),
        **_outcomes("admin", "administrative_supervision", "done", "changed"),
        "admin_cases": _distinct(adm), "admin_disputes_resolved": _n(adm & c("dispute_resolved")),
        "civil_admin_workload": _n(civ_adm & (c("kind") == "protest")) * 4 / 3
        + _n(civ_adm & (c("kind") != "protest")) * 2 / 3,
        "pil_pre_due": _n(pic & (c("stage") == "pre_litigation") & (c("outcome") != "pending")),
        "pil_pre_rectified": _n(pic & (c("stage") == "pre_litigation") & (c("outcome") == "rectified")),
        "pil_workload": _n(pic & (c("stage") == "pre_litigation")) * 2 / 3 + _n(pic & (c("stage") == "lawsuit")),
        "pil_suits_decided": _n(pic & (c("stage") == "lawsuit") & c("outcome").is_in(["supported", "rejected"])),
        "pil_suits_supported": _n(pic & (c("stage") == "lawsuit") & (c("outcome") == "supported")),
        "hearings": _n(T == "public_hearing"), "hearings_resolved": _n((T == "public_hearing") & c("resolved")),
        "aid_cases": _n(T == "judicial_aid"),
        "reviewed_cases": _distinct(T == "quality_review"),
        "concluded_cases_all": _distinct(T.is_in(["prosecution_review", "civil_supervision",
                                                  "administrative_supervision", "public_interest_case"])),
    }


def handwritten_mini() -> dict[str, pl.Expr]:
    pr, cj, c = T == "prosecution_review", T == "court_judgment", pl.col
    return {
        "cases": _n(T == "case_accepted"), "extras": _n(T.is_in(["supplementary_investigation", "review_extension"])),
        "reviewed": _n(pr), "plea": _n(pr & c("plea_leniency")),
        "recs": _n(pr & c("sentencing_rec").is_in(["definite", "ranged"])),
        "definite": _n(pr & (c("sentencing_rec") == "definite")), "judged_recs": _n(cj & c("rec_made")),
        "adopted": _n(cj & c("rec_made") & c("rec_adopted")), "supervision": _n(T == "supervision_action"),
        "distinct_cases": _distinct(pr), "aid_amount": c("amount").filter(T == "judicial_aid").sum(),
    }


def handwritten(compiled: CompiledScheme) -> dict[str, pl.Expr]:
    exprs = handwritten_template() if compiled.scheme.code == "SFS-PROSECUTOR-TEMPLATE" else handwritten_mini()
    wanted = [cm.metric.code for cm in compiled.metrics]
    missing, extra = set(wanted) - set(exprs), set(exprs) - set(wanted)
    if missing:  # the template gained metrics since this was written: the baseline would do less work
        print(f"!! hand-written baseline out of date: lacks {sorted(missing)} (unused here: {sorted(extra)})")
    return {code: exprs[code] for code in wanted if code in exprs}


def check_metrics(engine: pl.DataFrame, hand: pl.DataFrame) -> int:
    """Cells where the hand-written baseline disagrees with the engine's metric aggregation."""
    cols = [c for c in hand.columns if c != KEY]
    j = engine.join(hand, on=KEY, how="inner", suffix="__hand")
    bad = 0
    for col in cols:
        a, b = j[col].cast(pl.Float64).fill_null(0.0), j[f"{col}__hand"].cast(pl.Float64).fill_null(0.0)
        bad += int(((a - b).abs() > 1e-9).sum())
    return bad


# ------------------------------------------------------------------- 3. the scheme as a zen JDM graph
def _num(v: float) -> str:
    return format(decimal.Decimal(repr(v)), "f")


def _written(v: float) -> float | None:
    """h when ``v == nextafter(h, +inf)`` for an h with a shorter decimal form, i.e. v stands for "> h"."""
    h = math.nextafter(v, -math.inf)
    return h if len(repr(h)) < len(repr(v)) else None


def _bound_cell(br: Branch) -> str:
    """``lo <= x < hi`` as a zen unary test. Tiers of lower-is-better values put a bound at nextafter(h);
    it is written as the ``> h`` / ``<= h`` the scheme said, not as a 17-digit decimal."""
    parts = []
    if br.lo != -math.inf:
        h = _written(br.lo)
        parts.append(f"$ > {_num(h)}" if h is not None else f"$ >= {_num(br.lo)}")
    if br.hi != math.inf:
        h = None if br.hi_closed else _written(br.hi)
        parts.append(f"$ <= {_num(h)}" if h is not None else f"$ {'<=' if br.hi_closed else '<'} {_num(br.hi)}")
    return " and ".join(parts) or "$ != null"


def zen_graph(compiled: CompiledScheme) -> dict[str, Any]:
    """One decision table per scored indicator (hit policy first): input x, outputs branch id and points."""
    nodes: list[dict[str, Any]] = [{"id": "request", "type": "inputNode", "name": "Request", "position": {"x": 0, "y": 0}}]
    edges = []
    for i, ci in enumerate(c for c in compiled.indicators if c.piecewise is not None):
        code, pw = ci.indicator.code, ci.piecewise
        xin, ob, op = f"{code}_x", f"{code}_branch", f"{code}_points"
        rules = [{"_id": f"{code}:missing", xin: "$ == null", ob: '"missing"', op: _num(pw.missing_points)}]
        for br in pw.branches:
            pts = f"{_num(br.a)} + {_num(br.b)} * x.{code}" if br.b else _num(br.a)
            rules.append({"_id": f"{code}:{br.id}", xin: _bound_cell(br), ob: json.dumps(br.id), op: pts})
        nodes.append({"id": code, "type": "decisionTableNode", "name": ci.indicator.name,
                      "position": {"x": 300, "y": 60 * i},
                      "content": {"hitPolicy": "first", "rules": rules,
                                  "inputs": [{"id": xin, "type": "expression", "field": f"x.{code}", "name": "x"}],
                                  "outputs": [{"id": ob, "type": "expression", "field": f"branch.{code}", "name": "branch"},
                                              {"id": op, "type": "expression", "field": f"points.{code}", "name": "points"}]}})
        edges += [{"id": f"in-{code}", "type": "edge", "sourceId": "request", "targetId": code},
                  {"id": f"{code}-out", "type": "edge", "sourceId": code, "targetId": "response"}]
    nodes.append({"id": "response", "type": "outputNode", "name": "Response", "position": {"x": 600, "y": 0}})
    return {"contentType": "application/vnd.gorules.decision", "nodes": nodes, "edges": edges}


def check_zen(compiled: CompiledScheme, frame: pl.DataFrame, outputs: list[dict[str, Any]]) -> tuple[int, int]:
    """(checked, mismatched) indicator results: zen's branch and points against the bulk executor's."""
    checked = bad = 0
    codes = [ci.indicator.code for ci in compiled.indicators if ci.piecewise is not None]
    for row, out in zip(frame.select([*(f"branch__{c}" for c in codes), *(f"pts__{c}" for c in codes)]).iter_rows(named=True),
                        outputs, strict=True):
        for code in codes:
            if row[f"pts__{code}"] is None:  # not applicable, or missing and excluded: nothing scored
                continue
            checked += 1
            zb, zp = out["branch"][code], float(out["points"][code])
            if zb != row[f"branch__{code}"] or abs(zp - row[f"pts__{code}"]) > 1e-9 * max(1.0, abs(zp)):
                bad += 1
    return checked, bad


# ------------------------------------------------------------------------------------ measurements
@dataclass
class Row:
    figure: str
    ours: str
    baseline: str
    ratio: str
    target: str
    met: str


def typical_criminal(data: Data) -> dict[str, Any]:
    """The median (by event count) criminal prosecutor in post for the whole year."""
    counts = data.events.group_by(KEY).len()
    full_year = data.subjects.filter(
        (pl.col("line") == "criminal") & (pl.col("quota_status") == "quota") & (pl.col("active_from") <= YEAR[0])
        & (pl.col("active_to").is_null() | (pl.col("active_to") >= YEAR[1])))
    ranked = full_year.join(counts, on=KEY).sort(["len", KEY])
    return ranked.row(ranked.height // 2, named=True)


def bench_single(data: Data, bulk: Any, runs: int, zen_decision: Any | None) -> dict[str, Any]:
    """Figures 1 and 4, interleaved: our evaluation (both deciders), our scoring part alone, and zen
    scoring the same subject with its trace on."""
    c = data.compiled
    row = typical_criminal(data)
    events = data.events.filter(pl.col(KEY) == row[KEY]).to_dicts()  # prepared outside the timing
    durable, python = DurableDecider(), PythonDecider()
    ref = bulk.frame.filter(pl.col(KEY) == row[KEY]).row(0, named=True)
    subject = subject_of(ref, KEY)  # with how they take part (evaluated, share of the year in office)
    # The scoring part alone (decisions, points, combination, trace from x): what the zen graph does, and more.
    metrics = {cm.metric.code: ref[cm.metric.code] for cm in c.metrics}
    values = {ci.indicator.code: ref[ci.indicator.code] for ci in c.indicators}
    scored = [ci.indicator.code for ci in c.indicators if ci.piecewise is not None]
    xs = {k: ref[f"x__{k}"] for k in scored if ref[f"applies__{k}"]}
    facts = DecisionInput(xs, ())

    def one(dec: Any) -> Callable[[], Any]:
        return lambda: evaluate_subject(c, subject, events, period="2020", decider=dec, peers=bulk.peers, explain=True)

    fns = {"python": one(python), "durable": one(durable),
           "scoring_only": lambda: assemble(c, subject, "2020", metrics, values, xs, durable.decide(c, facts), (),
                                            bulk.peers, executor="durable", explain=True)}
    if zen_decision is not None:
        ctx = {"x": {k: ref[f"x__{k}"] for k in scored}}
        fns["zen_on"] = lambda: zen_decision.evaluate(ctx, {"trace": True})
    times, _ = interleaved(fns, runs, warmup=30)
    # The service holds the subject's events as a frame: from it directly, or through to_dicts() (its own loop,
    # so that figures 1 and 4 take turns with zen alone).
    frame = data.events.filter(pl.col(KEY) == row[KEY])
    frame_times, _ = interleaved({
        "frame": lambda: evaluate_subject_frame(c, subject, frame, period="2020", decider=durable, peers=bulk.peers),
        "to_dicts": lambda: evaluate_subject(c, subject, frame.to_dicts(), period="2020", decider=durable,
                                             peers=bulk.peers),
    }, max(50, runs // 3), warmup=10)
    times.update(frame_times)
    res = evaluate_subject(c, subject, events, period="2020", decider=durable, peers=bulk.peers)
    same = (res.total == evaluate_subject(c, subject, events, period="2020", peers=bulk.peers).total == ref["total"]
            and res.grade == ref["grade"]
            and res == evaluate_subject_frame(c, subject, frame, period="2020", decider=durable, peers=bulk.peers))
    return {**times, "subject": f"{row['code']} ({row['business_code']}, {len(events)} events)",
            "agrees": f"total {res.total:.4f} {res.grade}: {'same as' if same else 'DIFFERS FROM'} the bulk row (and from the frame)"}


def bench_bulk(data: Data) -> dict[str, Any]:
    c = data.compiled
    exprs = handwritten(c)
    times, last = interleaved({
        "bulk": lambda: evaluate_bulk(c, data.events, data.subjects, key=KEY, period=YEAR),
        "hand": lambda: data.events.group_by(KEY).agg([e.alias(k) for k, e in exprs.items()]),
        "metrics": lambda: metrics_frame(c, data.events, KEY),
    }, runs=3)
    t_bulk, t_hand, t_metrics = (statistics.median(times[k]) for k in ("bulk", "hand", "metrics"))
    bulk, hand, engine_metrics = last["bulk"], last["hand"], last["metrics"]
    return {"bulk": bulk, "t_bulk": t_bulk, "t_hand": t_hand, "t_metrics": t_metrics, "n_hand": len(exprs),
            "metric_mismatches": check_metrics(engine_metrics, hand)}


def zen_engine(compiled: CompiledScheme, jdm_out: Path | None) -> tuple[Any, Any] | None:
    """(engine, decision) for the scheme's JDM graph, or None when zen-engine is not installed."""
    try:
        import zen
    except ImportError:
        print("!! zen-engine not installed (.venv/bin/pip install zen-engine): figures 3 and 4 skipped")
        return None
    text = json.dumps(zen_graph(compiled), ensure_ascii=False)
    if jdm_out:
        jdm_out.write_text(text, encoding="utf-8")
    engine = zen.ZenEngine({"loader": lambda key: text})
    return engine, engine.create_decision(text)


def bench_zen(data: Data, bulk: Any, engine: Any, decision: Any) -> dict[str, Any]:
    c = data.compiled
    # Ours: everything after metric aggregation — score_metrics, the scoring step the live impact runs, on
    # the subjects with their metrics and counts (phase_metrics, outside the timing): indicators, peer
    # derivations, branches, points, contributions, totals, grades and ranks for every subject.
    # (Until 2026-12-07 this was evaluate_bulk on an empty events frame and subjects already carrying the
    # metrics: that paid ~35 ms for aggregating no events and carried 67 empty duplicate "_right" columns
    # of the join through every phase — not the scoring step.)
    with_metrics = phase_metrics(c, data.events, data.subjects, KEY)
    codes = [ci.indicator.code for ci in c.indicators if ci.piecewise is not None]
    contexts = [{"x": dict(zip(codes, xs, strict=True))}
                for xs in bulk.frame.select([f"x__{k}" for k in codes]).iter_rows()]

    def loop(options: dict[str, Any]) -> tuple[list[float], list[dict[str, Any]]]:
        per, results = [], []
        for ctx in contexts:
            t0 = time.perf_counter()
            r = decision.evaluate(ctx, options)
            per.append(time.perf_counter() - t0)
            results.append(r["result"])
        return sorted(per), results

    loop({"trace": False})  # warm-up
    requests = [{"key": "scheme", "context": ctx} for ctx in contexts]
    times, last = interleaved({
        "ours": lambda: score_metrics(c, with_metrics, key=KEY, period=YEAR),
        "off": lambda: loop({"trace": False}),
        "on": lambda: loop({"trace": True}),
        "batch": lambda: engine.evaluate_batch(requests, {"trace": False}),
    }, runs=3)
    t_ours, t_off, t_on, t_batch = (statistics.median(times[k]) for k in ("ours", "off", "on", "batch"))
    scored, (per_off, outputs), (per_on, _) = last["ours"], last["off"], last["on"]
    pts = [f"pts__{k}" for k in codes]
    same_points = scored.frame.select(KEY, *pts).equals(bulk.frame.select(KEY, *pts))
    checked, bad = check_zen(c, bulk.frame, outputs)
    return {"t_ours": t_ours, "same_points": same_points, "t_off": t_off, "t_on": t_on, "per_off": per_off,
            "per_on": per_on, "t_batch": t_batch, "checked": checked, "bad": bad, "n": len(contexts),
            "tables": len(codes), "zen_version": _version("zen-engine")}


def _version(dist: str) -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(dist)
    except PackageNotFoundError:
        return "not installed"


def machine() -> str:
    cpu = "?"
    try:
        cpu = next(ln.split(":", 1)[1].strip() for ln in Path("/proc/cpuinfo").read_text().splitlines()
                   if ln.startswith("model name"))
    except (OSError, StopIteration):
        pass
    try:
        mem = f"{os.sysconf('SC_PAGE_SIZE') * os.sysconf('SC_PHYS_PAGES') / 2**30:.0f} GiB"
    except (ValueError, OSError):
        mem = "?"
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    return (f"{platform.node()}: {os.cpu_count()} × {cpu}, {mem}, {platform.platform(terse=True)}, "
            f"CPython {platform.python_version()}, polars {pl.__version__}, durable_rules {_version('durable_rules')}, "
            f"zen-engine {_version('zen-engine')}; load average {load:.2f} at the start")


def ms(t: float) -> str:
    return f"{t * 1e3:.2f} ms"


def yes(ok: bool) -> str:
    return "yes" if ok else "NO"


def rows_for(single: dict[str, Any], bulk: dict[str, Any], z: dict[str, Any] | None) -> list[Row]:
    d, p, dc, pc = single["durable"], single["python"], single["cpu:durable"], single["cpu:python"]
    d50, d99, p50, p99 = percentile(d, .5), percentile(d, .99), percentile(p, .5), percentile(p, .99)
    cpu = [ms(percentile(v, q)) for v in (dc, pc) for q in (.5, .99)]
    rows = [
        Row("1. one evaluation, full trace, durable: p50", ms(d50), f"{ms(p50)} (Python decider)",
            f"{d50 / p50:.2f}×", "≤ 5 ms", yes(d50 <= 0.005)),
        Row("1. one evaluation, full trace, durable: p99", ms(d99), f"{ms(p99)} (Python decider)",
            f"{d99 / p99:.2f}×", "≤ 20 ms", yes(d99 <= 0.020)),
        Row("   the same, CPU time of this process: p50 / p99", f"{cpu[0]} / {cpu[1]}", f"{cpu[2]} / {cpu[3]}",
            "—", "—", "—"),
        Row("2. bulk, whole province (evaluate_bulk)", f"{bulk['t_bulk']:.2f} s",
            f"{bulk['t_hand']:.2f} s (hand-written group-by)", f"{bulk['t_bulk'] / bulk['t_hand']:.2f}×",
            "≤ 10 s, ≤ 3×", yes(bulk["t_bulk"] <= 10 and bulk["t_bulk"] <= 3 * bulk["t_hand"])),
        Row("   of which metric aggregation (metrics_frame)", f"{bulk['t_metrics']:.2f} s",
            f"{bulk['t_hand']:.2f} s (hand-written group-by)", f"{bulk['t_metrics'] / bulk['t_hand']:.2f}×", "—", "—"),
    ]
    if z is None:
        return rows
    n = z["n"]
    zon50 = percentile(single["zen_on"], .5)
    hot50 = percentile(z["per_on"], .5)
    s50 = percentile(single["scoring_only"], .5)
    rows += [
        Row(f"3. scoring step, {n:,} subjects (bulk, no aggregation)", ms(z["t_ours"]),
            f"{ms(z['t_off'])} (zen loop, trace off)", f"{z['t_off'] / z['t_ours']:.1f}× faster", "≥ 10× faster",
            yes(z["t_off"] >= 10 * z["t_ours"])),
        Row("   zen per subject in the loop, trace off / on: p50",
            f"{ms(percentile(z['per_off'], .5))} / {ms(percentile(z['per_on'], .5))}",
            f"{z['tables']} decision tables", "—", "—", "—"),
        Row(f"   zen loop, trace on ({n:,} subjects)", "—", ms(z["t_on"]), f"{z['t_on'] / z['t_ours']:.1f}×", "—", "—"),
        Row(f"   zen evaluate_batch, trace off ({n:,} in one call)", "—", ms(z["t_batch"]),
            f"{z['t_batch'] / z['t_ours']:.1f}×", "—", "—"),
        Row("4. one evaluation, full trace (durable) vs zen, trace on: p50", ms(d50), f"{ms(zon50)} (zen, same subject)",
            f"{d50 / zon50:.2f}×", "≤ 1.0×", yes(d50 <= zon50)),
        Row("4. the same, our p99 against our p50", ms(d99), f"{ms(d50)} (our p50)", f"{d99 / d50:.2f}×", "≤ 3×",
            yes(d99 <= 3 * d50)),
        Row("   from the events as a polars frame (evaluate_subject_frame): p50", ms(percentile(single["frame"], .5)),
            f"{ms(percentile(single['to_dicts'], .5))} (to_dicts() + evaluate_subject)",
            f"{percentile(single['frame'], .5) / percentile(single['to_dicts'], .5):.2f}×", "—", "—"),
        Row("   scoring part only, from x (durable + trace) vs zen: p50", ms(s50), f"{ms(zon50)} (zen, same subject)",
            f"{s50 / zon50:.1f}×", "—", "—"),
        Row("   one evaluation vs zen in its hot loop (trace on): p50", ms(d50), f"{ms(hot50)} (zen loop p50)",
            f"{d50 / hot50:.1f}×", "—", "—"),
    ]
    return rows


def print_table(rows: list[Row]) -> None:
    head = Row("figure", "ours", "baseline (same run)", "ratio", "target", "met?")
    widths = [max(len(getattr(r, f)) for r in [head, *rows]) for f in Row.__dataclass_fields__]
    for r in [head, *rows]:
        print("  ".join(getattr(r, f).ljust(w) for f, w in zip(Row.__dataclass_fields__, widths, strict=True)))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=500, help="timed single evaluations per decider")
    ap.add_argument("--db", type=Path, help="SQLite file to keep (and reuse) the demo province in")
    ap.add_argument("--jdm-out", type=Path, help="write the generated zen JDM graph here")
    args = ap.parse_args()
    print("machine:", machine())
    t_start = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        data = load_data(args.db.resolve() if args.db else Path(tmp) / "bench.db", Path(tmp) / "instance")
    print("scheme:", data.scheme_note)
    bulk = bench_bulk(data)
    zen = zen_engine(data.compiled, args.jdm_out)
    single = bench_single(data, bulk["bulk"], args.runs, zen[1] if zen else None)
    z = bench_zen(data, bulk["bulk"], *zen) if zen else None
    print()
    print_table(rows_for(single, bulk, z))
    print()
    print(f"single evaluations: {args.runs} timed runs per decider after 30 warm-up, subject {single['subject']}; "
          f"{single['agrees']}")
    print(f"hand-written baseline: {bulk['n_hand']} metrics, {bulk['metric_mismatches']} cells differ from metrics_frame")
    if z is not None:
        print(f"zen-engine {z['zen_version']}: {z['checked']:,} indicator results checked against the bulk executor "
              f"(branch and points), {z['bad']} differ; our scoring step gives the same points as the full bulk run: "
              f"{z['same_points']}")
    print(f"whole benchmark: {time.perf_counter() - t_start:.0f} s; load average at the end {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
