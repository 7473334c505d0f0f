"""Benchmark: generate and load the demo province (≥ 1,000,000 events) on SQLite and PostgreSQL.

Baseline measured in the same run: generating the same event stream without writing it anywhere.
The ratio (load ÷ baseline) shows what the database path costs on top of the generator itself.

    .venv/bin/python bench/bench_demo_load.py [--scale 1.0] [--pg postgresql://postgres@127.0.0.1:5432/postgres]
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import tempfile
import time
import uuid
from pathlib import Path

from sqlalchemy import create_engine, text

from rulesvc import create_app
from rulesvc.config import normalise_database_url
from rulesvc.datagen.demo import DemoConfig, _end_of, generate_and_load
from rulesvc.datagen.events import EventStream
from rulesvc.datagen.province import build_people, build_units


def baseline_generate_only(cfg: DemoConfig) -> tuple[int, float]:
    t0 = time.perf_counter()
    rng = random.Random(cfg.seed)
    units = build_units(rng)
    people = build_people(rng, units, cfg.total_prosecutors, cfg.start, _end_of(cfg.start, cfg.months))
    n = sum(1 for _ in EventStream(random.Random(cfg.seed + 1), people, cfg.start, cfg.months))
    return n, time.perf_counter() - t0


def load_into(url: str, cfg: DemoConfig) -> tuple[int, float]:
    from flask_migrate import upgrade

    from rulesvc.extensions import db
    from rulesvc.services.dictionary import get_dictionary, sync_dictionary

    with tempfile.TemporaryDirectory() as inst:
        os.environ["RULESVC_INSTANCE_PATH"] = inst
        app = create_app({"DATABASE_URL": url, "SECRET_KEY": "bench"})
        with app.app_context():
            upgrade()
            sync_dictionary(db.session, get_dictionary(app.config["RULES_DIR"]))
            db.session.commit()
            summary = generate_and_load(cfg)
            db.session.remove()
            db.engine.dispose()
        return summary.events, summary.generate_and_load_seconds


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--scale", type=float, default=1.0)
    ap.add_argument("--pg", default=os.environ.get("RULESVC_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres"))
    args = ap.parse_args()
    cfg = DemoConfig(scale=args.scale)
    print(f"machine: {platform.node()} {platform.machine()} {os.cpu_count()} cores, Python {platform.python_version()}")
    n, base = baseline_generate_only(cfg)
    print(f"baseline  generate only            {n:>10,} events  {base:6.1f} s  {n / base:>9,.0f} ev/s  ratio 1.00")
    with tempfile.TemporaryDirectory() as d:
        n, t = load_into(f"sqlite:///{Path(d) / 'bench.db'}", cfg)
        print(f"sqlite    generate + load          {n:>10,} events  {t:6.1f} s  {n / t:>9,.0f} ev/s  ratio {t / base:.2f}")
    admin = create_engine(normalise_database_url(args.pg), isolation_level="AUTOCOMMIT")
    name = f"rulesvc_bench_{uuid.uuid4().hex[:8]}"
    try:
        with admin.connect() as c:
            c.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as exc:  # no server: say so, do not pretend
        print(f"postgresql skipped: {exc.__class__.__name__}: {exc}")
        return
    try:
        n, t = load_into(args.pg.rsplit("/", 1)[0] + "/" + name, cfg)
        print(f"postgres  generate + load (COPY)   {n:>10,} events  {t:6.1f} s  {n / t:>9,.0f} ev/s  ratio {t / base:.2f}")
    finally:
        with admin.connect() as c:
            c.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


if __name__ == "__main__":
    main()
