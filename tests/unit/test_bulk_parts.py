"""The aggregation in parts by subject (``bulk._each_part``, used above ``bulk.AGG_PART_ROWS`` events): the
same per-subject frames as aggregating every event at once — plain, through the metrics cache, and a whole
bulk run — on a generated province with shuffled rows, events without a subject or of no scheme type,
and a part size small enough to make many parts (some of them empty)."""

from __future__ import annotations

import datetime as dt
import random
from typing import Any

import polars as pl
import pytest
import yaml
from polars.testing import assert_frame_equal

from rulesvc.config import PROJECT_ROOT
from rulesvc.datagen.events import EventStream
from rulesvc.datagen.province import build_people, build_units
from rulesvc.engine import bulk, bulkcache
from rulesvc.engine.bulk import evaluate_bulk
from rulesvc.engine.compile import CompiledScheme, compile_scheme
from rulesvc.engine.dictionary import load_dictionary
from rulesvc.engine.localize import resolve
from rulesvc.persistence.bulk import attrs_json
from rulesvc.schema.scheme import load_scheme
from rulesvc.services.facts import frame_from_rows

DICT = load_dictionary(PROJECT_ROOT / "rules")
TEMPLATE = PROJECT_ROOT / "rules" / "schemes" / "province-prosecutor-template.yaml"
V2 = PROJECT_ROOT / "rules" / "revisions" / "SFS-PROSECUTOR-TEMPLATE" / "v2.overrides.yaml"
START = dt.date(2020, 1, 1)
PERIOD = (START, dt.date(2020, 3, 31))
KEY = "prosecutor_id"


@pytest.fixture(scope="module")
def data() -> tuple[pl.DataFrame, pl.DataFrame]:
    rng = random.Random(5)
    units = build_units(rng)
    people = build_people(rng, units, 90, START, PERIOD[1])
    depts = {d: i for i, d in enumerate(sorted({(p.unit.code, p.department_code) for p in people}), start=1)}
    lines = {b.code: b.line for b in DICT.businesses}
    rows = [(f"E{n}", etype, None if pidx is None else pidx + 1, uidx + 1, case_id, day, attrs_json(attrs))
            for n, (etype, pidx, uidx, case_id, day, attrs)
            in enumerate(EventStream(random.Random(6), people, START, 3))]
    events = frame_from_rows(rows, DICT, None)
    # Rows in a random order; a few without a subject, a few of a type no scheme reads.
    events = events.sample(fraction=1.0, shuffle=True, seed=7).with_row_index("__i").with_columns(
        pl.when(pl.col("__i") % 97 == 0).then(None).otherwise(pl.col(KEY)).alias(KEY),
        pl.when(pl.col("__i") % 89 == 0).then(pl.lit("no_such_type")).otherwise(pl.col("event_type")).alias("event_type"),
    ).drop("__i")
    subjects = pl.DataFrame([{
        KEY: i + 1, "code": p.code, "name": p.name, "procuratorate_id": p.unit.index + 1,
        "department_id": depts[(p.unit.code, p.department_code)], "business_code": p.business,
        "line": lines[p.business], "level": p.unit.level, "quota_status": p.quota_status, "is_leader": p.is_leader,
        "leader_title": p.leader_title, "active_from": p.active_from, "active_to": p.active_to,
    } for i, p in enumerate(people)], infer_schema_length=None)
    return events, subjects


def versions() -> list[CompiledScheme]:
    v1 = yaml.safe_load(TEMPLATE.read_text(encoding="utf-8"))
    revision = yaml.safe_load(V2.read_text(encoding="utf-8"))
    v2 = resolve(v1, revision["overrides"], {k: v1[k] for k in ("code", "name", "org", "description")})
    return [compile_scheme(load_scheme(d), DICT) for d in (v2, v1)]


def by_key(f: pl.DataFrame) -> pl.DataFrame:
    return f.sort(KEY)


@pytest.mark.parametrize("rows", [997, 4_000])
def test_aggregation_in_parts_gives_the_same_frames(data, monkeypatch, rows):
    events, subjects = data
    assert events.height > 4 * 4_000  # several parts at every size tried
    whole: dict[str, Any] = {}
    for c in versions():
        whole[c.scheme.content_hash] = (bulk._aggregate(c, events, KEY), bulk.metrics_frame(c, events, KEY),
                                        evaluate_bulk(c, events, subjects, key=KEY, period=PERIOD))
    cache_whole: dict[Any, Any] = {}
    via_cache_whole = [bulkcache.aggregate(c, events, KEY, cache_whole) for c in versions()]

    monkeypatch.setattr(bulk, "AGG_PART_ROWS", rows)
    parts_seen: list[int] = []
    each_part = bulk._each_part

    def counting(*args: Any) -> Any:
        out = each_part(*args)
        parts_seen.append(len(out))
        return out

    monkeypatch.setattr(bulk, "_each_part", counting)
    cache: dict[Any, Any] = {}
    for i, c in enumerate(versions()):
        (agg, names), metrics, result = whole[c.scheme.content_hash]
        agg_p, names_p = bulk._aggregate(c, events, KEY)
        assert names_p == names
        assert_frame_equal(by_key(agg_p), by_key(agg))
        assert_frame_equal(by_key(bulk.metrics_frame(c, events, KEY)), by_key(metrics))
        parted = evaluate_bulk(c, events, subjects, key=KEY, period=PERIOD)
        assert_frame_equal(parted.frame, result.frame)
        assert_frame_equal(parted.left_out, result.left_out)
        assert parted.peers == result.peers
        # Through the metrics cache (the second version computes only what it does not share).
        got, got_names = bulkcache.aggregate(c, events, KEY, cache)
        want, want_names = via_cache_whole[i]
        assert got_names == want_names
        assert_frame_equal(by_key(got), by_key(want))
        cached = evaluate_bulk(c, events, subjects, key=KEY, period=PERIOD, metrics_cache=cache)
        assert_frame_equal(cached.frame, result.frame)
    assert parts_seen and min(parts_seen) > 4  # it did aggregate in parts


def test_one_part_below_the_threshold(data):
    events, _ = data
    c = versions()[0]
    assert events.height <= bulk.AGG_PART_ROWS
    (part,) = bulk._each_part(c, events, KEY, lambda rel: rel)
    assert_frame_equal(part, bulk._relevant(c, events, KEY))
