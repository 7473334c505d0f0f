"""Benchmark: simulation runs (模拟测评) — a candidate version against a baseline on the same events.

(a) National scale, in memory. The demo province (rulesvc.datagen: 2,999 prosecutors, 12 months of
    2020, ~1.16M events) is generated once; a country is that province replicated k times (1×, 4×, 23×:
    ~3k / 12k / 69k prosecutors), each copy with its own ids and a few percent of its events dropped
    (a hash of event id and copy), so no two copies score alike. Each size runs in a child process of its
    own, so peak RSS does not accumulate. Timed in the same process, taking turns:
      ours      evaluate_bulk(candidate) + evaluate_bulk(baseline) sharing one metrics pass
                (metrics_cache) + build_report;
      plain     the same without metrics_cache (two full aggregations);
      lower     the lower bound: one plain polars group_by computing the same aggregations both versions
                need (the union of their metric / adjustment / veto aggregations, de-duplicated, and the
                case-pattern group-by) — no participation, no scoring, no report; in the engine's parts
                by subject above bulk.AGG_PART_ROWS events.
    Peak RSS is each step's own (VmHWM reset through /proc/self/clear_refs), the data included.
    --columns read keeps only the event columns either version reads (what a projecting loader holds);
    the default keeps all of them, as facts.events_frame loads them.
(b) Province-year from the database (the demo DB, RULESVC_INSTANCE_PATH): the simulation service's
    computation (rulesvc.services.simulation.execute.simulate with its db_loader) cold (empty events
    cache: read from the database, cache written), warm (cache present), and the 12 months of the year
    in one run (warm). The service shares the metrics pass between the two versions (metrics_cache), so
    the former "shared" variant (period_data + 2× evaluate_bulk with metrics_cache) is no longer run.

Candidate: template v2 (rules/revisions/SFS-PROSECUTOR-TEMPLATE/v2.overrides.yaml resolved on v1);
baseline: template v1.

    .venv/bin/python bench/bench_simulation.py [--sizes 1,4,23] [--runs 3] [--columns all|read] [--skip-db] [--skip-national]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import random
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import polars as pl
import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from rulesvc.config import PROJECT_ROOT  # noqa: E402
from rulesvc.engine import bulk  # noqa: E402
from rulesvc.engine.bulk import evaluate_bulk  # noqa: E402
from rulesvc.engine.bulkcache import fingerprint  # noqa: E402
from rulesvc.engine.compile import CompiledScheme, compile_scheme  # noqa: E402
from rulesvc.engine.dictionary import Dictionary, load_dictionary  # noqa: E402
from rulesvc.engine.localize import resolve  # noqa: E402
from rulesvc.engine.participation import LEVEL_LABELS  # noqa: E402
from rulesvc.engine.simreport import Labels, Side, build_report  # noqa: E402
from rulesvc.schema.scheme import load_scheme  # noqa: E402

TEMPLATE = PROJECT_ROOT / "rules" / "schemes" / "province-prosecutor-template.yaml"
V2 = PROJECT_ROOT / "rules" / "revisions" / "SFS-PROSECUTOR-TEMPLATE" / "v2.overrides.yaml"
YEAR = (dt.date(2020, 1, 1), dt.date(2020, 12, 31))
KEY = "prosecutor_id"
WORK = Path(tempfile.gettempdir()) / "rulesvc-bench-simulation"


def versions(dictionary: Dictionary) -> tuple[CompiledScheme, CompiledScheme]:
    """(candidate v2, baseline v1)."""
    v1 = yaml.safe_load(TEMPLATE.read_text(encoding="utf-8"))
    revision = yaml.safe_load(V2.read_text(encoding="utf-8"))
    identity = {k: v1[k] for k in ("code", "name", "org", "description")}
    v2 = resolve(v1, revision["overrides"], identity)
    return compile_scheme(load_scheme(v2), dictionary), compile_scheme(load_scheme(v1), dictionary)


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def rss_mb() -> tuple[float, float]:
    """(current RSS, peak RSS since the last reset_peak()) in MiB, from /proc/self/status."""
    got = {line.split(":")[0]: int(line.split()[1]) / 1024 for line in Path("/proc/self/status").read_text().splitlines()
           if line.startswith(("VmRSS", "VmHWM"))}
    return got.get("VmRSS", 0.0), got.get("VmHWM", peak_rss_mb())


def reset_peak() -> None:
    """Start a new peak RSS (VmHWM) from the current RSS (Linux: clear_refs 5), so each step's own peak is seen."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        pass


def machine() -> str:
    mem = next((int(line.split()[1]) // 1024 for line in Path("/proc/meminfo").read_text().splitlines()
                if line.startswith("MemTotal")), 0)
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor())
    return (f"{os.cpu_count()} CPUs ({cpu}), {mem / 1024:.0f} GiB, CPython {platform.python_version()}, "
            f"polars {pl.__version__}, load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


# ------------------------------------------------------------------------------ (a) the country frame
def base_province(dictionary: Dictionary) -> tuple[Path, Path]:
    """The demo province generated in memory (no database) and written as Parquet once."""
    from rulesvc.datagen.demo import DemoConfig
    from rulesvc.datagen.events import EventStream
    from rulesvc.datagen.province import build_people, build_units
    from rulesvc.persistence.bulk import attrs_json
    from rulesvc.services.facts import frame_from_rows

    cfg = DemoConfig()
    ev_path, subj_path = WORK / f"events-{cfg.seed}.parquet", WORK / f"subjects-{cfg.seed}.parquet"
    if ev_path.exists() and subj_path.exists():
        return ev_path, subj_path
    WORK.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    rng = random.Random(cfg.seed)
    units = build_units(rng)
    people = build_people(rng, units, cfg.total_prosecutors, cfg.start, YEAR[1])
    rows = [(f"E{n:09d}", etype, None if pidx is None else pidx + 1, uidx + 1, case_id, day, attrs_json(attrs))
            for n, (etype, pidx, uidx, case_id, day, attrs)
            in enumerate(EventStream(random.Random(cfg.seed + 1), people, cfg.start, cfg.months))]
    events = frame_from_rows(rows, dictionary, None)
    del rows
    depts = {d: i for i, d in enumerate(sorted({(p.unit.code, p.department_code) for p in people}), start=1)}
    lines = {b.code: b.line for b in dictionary.businesses}
    subjects = pl.DataFrame([{
        "prosecutor_id": i + 1, "code": p.code, "name": p.name, "procuratorate_id": p.unit.index + 1,
        "department_id": depts[(p.unit.code, p.department_code)], "business_code": p.business,
        "line": lines[p.business], "level": p.unit.level, "quota_status": p.quota_status, "is_leader": p.is_leader,
        "leader_title": p.leader_title, "active_from": p.active_from, "active_to": p.active_to,
    } for i, p in enumerate(people)])
    units_frame = pl.DataFrame({"procuratorate_id": [u.index + 1 for u in units], "code": [u.code for u in units],
                                "name": [u.name for u in units], "level": [u.level for u in units]})
    events.write_parquet(ev_path)
    subjects.write_parquet(subj_path)
    units_frame.write_parquet(WORK / f"units-{cfg.seed}.parquet")
    print(f"demo province generated in memory: {events.height:,} events, {subjects.height:,} prosecutors "
          f"({time.perf_counter() - t0:.0f} s, once; kept in {WORK})")
    return ev_path, subj_path


def country(k: int, ev_path: Path, subj_path: Path, columns: list[str] | None = None
            ) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    """The province replicated ``k`` times: copy r has its own prosecutor, procuratorate, department,
    case and event ids, and drops (r mod 5)·2 % of its events (copy 0 keeps all). ``columns``: only
    those event columns (None: all, as ``facts.events_frame`` loads them).

    Each copy is built from the Parquet file on its own (read, filter, renumber) and only the copies are
    kept: no copy of the whole country is made (the copies are concatenated without rechunking)."""
    subjects = pl.read_parquet(subj_path)
    units = pl.read_parquet(ev_path.parent / ev_path.name.replace("events-", "units-"))
    n_p, n_u = int(subjects["prosecutor_id"].max()), int(units["procuratorate_id"].max())
    n_d = int(subjects["department_id"].max())
    ev_parts, subj_parts, unit_parts = [], [], []
    for r in range(k):
        e = pl.scan_parquet(ev_path)
        if columns is not None:
            e = e.select([c for c in pl.read_parquet_schema(ev_path) if c in set(columns) | {"event_id"}])
        if r % 5:
            e = e.filter(pl.col("event_id").hash(seed=r) % 100 >= 2 * (r % 5))
        ev_parts.append(e.with_columns(
            (pl.col("prosecutor_id") + r * n_p), (pl.col("procuratorate_id") + r * n_u),
            (pl.lit(f"C{r}-") + pl.col("case_id")).alias("case_id"),
            (pl.lit(f"C{r}-") + pl.col("event_id")).alias("event_id")).collect())
        subj_parts.append(subjects.with_columns(
            (pl.col("prosecutor_id") + r * n_p), (pl.col("procuratorate_id") + r * n_u), (pl.col("department_id") + r * n_d),
            (pl.lit(f"C{r}-") + pl.col("code")).alias("code")))
        unit_parts.append(units.with_columns(pl.col("procuratorate_id") + r * n_u,
                                             (pl.lit(f"C{r}-") + pl.col("code")).alias("code")))
    return pl.concat(ev_parts, rechunk=False), pl.concat(subj_parts), pl.concat(unit_parts)


def read_columns(candidate: CompiledScheme, baseline: CompiledScheme, ev_path: Path) -> list[str]:
    """The event columns either version reads (what a loader projecting columns would hold)."""
    head = pl.read_parquet(ev_path, n_rows=10)
    return sorted({c for v in (candidate, baseline) for c in bulk._relevant_columns(v, head, KEY)} | {"procuratorate_id"})


def lower_bound(candidate: CompiledScheme, baseline: CompiledScheme, events: pl.DataFrame) -> pl.DataFrame:
    """One plain group-by with every aggregation either version needs (de-duplicated), and the case
    pattern's own group-by: what any engine must at least compute. No scoring. Above
    ``bulk.AGG_PART_ROWS`` events it runs on parts by subject, hand-partitioned like the engine's (one
    group-by over 26M rows needs more memory than the target allows)."""
    aggs: dict[str | None, pl.Expr] = {}
    for c in (candidate, baseline):
        for e in bulk._metric_aggs(c) + bulk._count_aggs(c):
            aggs.setdefault(fingerprint(e), e.meta.undo_aliases().alias(f"a{len(aggs)}"))
    types = sorted(candidate.event_types | baseline.event_types)
    patterns: dict[str | None, tuple[list[pl.Expr], pl.Expr, list[str]]] = {}
    for c in (candidate, baseline):
        for ca in c.adjustments:
            if ca.pattern:
                steps, holds, ptypes = bulk._pattern_plan(ca)
                patterns.setdefault(fingerprint(*steps, holds, extra="|".join(ptypes)), (steps, holds, ptypes))

    def one(rel: pl.DataFrame) -> pl.DataFrame:
        out = rel.group_by(KEY).agg(list(aggs.values()))
        for fp, (steps, holds, ptypes) in patterns.items():
            cases = (rel.filter(pl.col("case_id").is_not_null() & pl.col("event_type").is_in(ptypes))
                     .group_by([KEY, "case_id"]).agg(steps).filter(holds).group_by(KEY).agg(pl.len().alias(str(fp))))
            out = out.join(cases, on=KEY, how="left")
        return out

    relevant = pl.col(KEY).is_not_null() & pl.col("event_type").is_in(types)
    events = events.select(sorted({c for v in (candidate, baseline) for c in bulk._relevant_columns(v, events, KEY)}))
    n = -(-events.height // bulk.AGG_PART_ROWS)
    if n <= 1:
        return one(events.filter(relevant))
    part = events.select((pl.col(KEY).hash(seed=0) % n).cast(pl.UInt32)).to_series()
    return pl.concat([one(events.filter(relevant & (part == i))) for i in range(n)])


def labels_of(units: pl.DataFrame, dictionary: Dictionary) -> Labels:
    return Labels(procuratorates={r[0]: (r[1], r[2], r[3]) for r in units.iter_rows()},
                  businesses={b.code: b.name for b in dictionary.businesses},
                  lines={b.line: b.line_name for b in dictionary.businesses}, levels=dict(LEVEL_LABELS))


def one_size(k: int, runs: int, columns: str) -> dict[str, Any]:
    """In a child process: build the k× country, time ours / plain / lower bound taking turns; RSS after
    each step and each step's own peak."""
    dictionary = load_dictionary(PROJECT_ROOT / "rules")
    candidate, baseline = versions(dictionary)
    ev_path, subj_path = base_province(dictionary)
    reset_peak()
    t0 = time.perf_counter()
    events, subjects, units = country(k, ev_path, subj_path,
                                      read_columns(candidate, baseline, ev_path) if columns == "read" else None)
    build_s = time.perf_counter() - t0
    rss_data, build_peak = rss_mb()
    labels = labels_of(units, dictionary)

    def ours() -> Any:
        cache: dict[Any, Any] = {}
        cand = evaluate_bulk(candidate, events, subjects, key=KEY, period=YEAR, metrics_cache=cache)
        base = evaluate_bulk(baseline, events, subjects, key=KEY, period=YEAR, metrics_cache=cache)
        del cache
        t = time.perf_counter()
        report = build_report(Side(candidate, cand.frame, cand.left_out), Side(baseline, base.frame, base.left_out),
                              key=KEY, labels=labels)
        timings["report"].append(time.perf_counter() - t)
        return report

    def plain() -> Any:
        evaluate_bulk(candidate, events, subjects, key=KEY, period=YEAR)
        return evaluate_bulk(baseline, events, subjects, key=KEY, period=YEAR)

    def lower() -> Any:
        return lower_bound(candidate, baseline, events)

    fns: dict[str, Callable[[], Any]] = {"ours": ours, "plain": plain, "lower": lower}
    timings: dict[str, list[float]] = {n: [] for n in [*fns, "report"]}
    peak: dict[str, float] = {}
    after: dict[str, float] = {}
    last: dict[str, Any] = {}
    for _ in range(runs):
        for name, fn in fns.items():
            last.pop(name, None)
            reset_peak()
            t = time.perf_counter()
            last[name] = fn()
            timings[name].append(time.perf_counter() - t)
            now, top = rss_mb()
            peak[name], after[name] = max(peak.get(name, 0.0), top), now
    report = last["ours"]
    return {
        "k": k, "columns": columns, "event_columns": events.width, "events": events.height,
        "prosecutors": subjects.height, "build_s": build_s,
        "evaluated": int(report.subjects.filter(pl.col("status_c") == "evaluated").height),
        "median": {n: statistics.median(v) for n, v in timings.items() if v},
        "all": timings, "rss_after_data_mb": rss_data, "rss_build_peak_mb": build_peak,
        "rss_peak_mb": peak_rss_mb(), "rss_peak_by_step_mb": peak, "rss_after_step_mb": after,
        "load": os.getloadavg(), "part_rows": bulk.AGG_PART_ROWS,
    }


def national(sizes: list[int], runs: int, columns: str) -> list[dict[str, Any]]:
    base_province(load_dictionary(PROJECT_ROOT / "rules"))  # generated once, before the children
    out = []
    for k in sizes:
        n = runs if k < 10 else 1
        proc = subprocess.run([sys.executable, __file__, "--child", str(k), "--runs", str(n), "--columns", columns],
                              capture_output=True, text=True, check=False)
        if proc.returncode != 0:
            print(proc.stdout[-2000:], proc.stderr[-4000:])
            raise SystemExit(f"size {k}× failed")
        res = json.loads(proc.stdout.strip().splitlines()[-1])
        m, pk = res["median"], res["rss_peak_by_step_mb"]
        print(f"{k:>2}× ({columns} columns: {res['event_columns']}): {res['events']:>11,} events, "
              f"{res['prosecutors']:>6,} prosecutors ({res['evaluated']:,} evaluated); "
              f"ours {m['ours']:.2f} s (report {m['report']:.2f} s) · plain 2× bulk {m['plain']:.2f} s · "
              f"lower bound {m['lower']:.2f} s · ours/lower ×{m['ours'] / m['lower']:.2f} · "
              f"peak RSS ours {pk['ours'] / 1024:.2f} GiB, plain {pk['plain'] / 1024:.2f}, lower {pk['lower'] / 1024:.2f} "
              f"(data alone {res['rss_after_data_mb'] / 1024:.2f} GiB, building it {res['rss_build_peak_mb'] / 1024:.2f}; "
              f"process {res['rss_peak_mb'] / 1024:.2f}) · build {res['build_s']:.0f} s · runs {n}, "
              f"load {' '.join(f'{x:.1f}' for x in res['load'])}", flush=True)
        out.append(res)
    return out


# ------------------------------------------------------------------------------- (b) from the database
def province_from_db(runs: int) -> dict[str, Any]:
    from rulesvc import create_app
    from rulesvc.engine.periods import months_of, parse_period
    from rulesvc.extensions import db
    from rulesvc.services.dictionary import get_dictionary
    from rulesvc.services.facts import datasets_in_use
    from rulesvc.services.scoring import period_data
    from rulesvc.services.simulation.execute import db_loader, labels_for, simulate

    app = create_app()
    out: dict[str, list[float]] = {}
    with app.app_context():
        session = db.session()
        dictionary = get_dictionary(app.config["RULES_DIR"])
        candidate, baseline = versions(dictionary)
        year = parse_period("2020")
        months = months_of(year)
        ids = [i for i, _ in datasets_in_use(session, year.start, year.end)]
        cache = WORK / "db-cache" / "events"

        def service(periods: list[Any], cache_dir: Path) -> Any:
            labels = labels_for(session, dictionary)  # inside the timing, as the service does it
            span = (periods[0], periods[-1]) if len(periods) > 1 else None  # as execute() passes it
            load = db_loader(session, dictionary, ids, "prosecutor", candidate.scheme.org, str(cache_dir), span=span)
            return simulate(candidate, baseline, periods, load, labels, {})

        for _ in range(runs):
            for name, fn in (("service", service),):
                shutil.rmtree(cache, ignore_errors=True)
                for label, periods in ((f"{name} cold", [year]), (f"{name} warm", [year]), (f"{name} 12 months", months)):
                    t = time.perf_counter()
                    fn(periods, cache)
                    out.setdefault(label, []).append(time.perf_counter() - t)
                    session.rollback()
        n_events = period_data(session, candidate, dictionary, year, ids, cache_dir=cache).events.height
    res = {k: statistics.median(v) for k, v in out.items()}
    print(f"province-year from the database ({n_events:,} events), median of {runs}:")
    for k, v in res.items():
        print(f"  {k:<20} {v:6.2f} s   (all: {', '.join(f'{x:.2f}' for x in out[k])})")
    return {"events": n_events, "median": res, "all": out}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", default="1,4,23")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--child", type=int)
    ap.add_argument("--columns", default="all", choices=["all", "read"],
                    help="event columns held: all (as facts.events_frame loads them) or those either version reads")
    ap.add_argument("--skip-db", action="store_true")
    ap.add_argument("--skip-national", action="store_true")
    args = ap.parse_args()
    if args.child is not None:
        print(json.dumps(one_size(args.child, args.runs, args.columns)))
        return
    print("machine:", machine())
    t0 = time.perf_counter()
    if not args.skip_db:
        province_from_db(args.runs)
    if not args.skip_national:
        national([int(s) for s in args.sizes.split(",")], args.runs, args.columns)
    print(f"whole benchmark {time.perf_counter() - t0:.0f} s; load average at the end "
          f"{' '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
