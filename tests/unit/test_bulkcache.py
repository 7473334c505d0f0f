"""One metrics pass for several versions (``evaluate_bulk(..., metrics_cache=...)``, rulesvc.engine.bulkcache):
the same results as without the cache, only missing aggregations computed, no stale events served."""

from __future__ import annotations

import copy
import datetime as dt
import random
from typing import Any

import polars as pl
import pytest
import yaml

from rulesvc.config import PROJECT_ROOT
from rulesvc.datagen.events import EventStream
from rulesvc.datagen.province import build_people, build_units
from rulesvc.engine import bulk, bulkcache
from rulesvc.engine.bulk import BulkResult, evaluate_bulk
from rulesvc.engine.compile import CompiledScheme, compile_scheme
from rulesvc.engine.dictionary import load_dictionary
from rulesvc.engine.localize import resolve
from rulesvc.persistence.bulk import attrs_json
from rulesvc.schema.scheme import load_scheme
from rulesvc.services.facts import frame_from_rows

DICT = load_dictionary(PROJECT_ROOT / "rules")
TEMPLATE = PROJECT_ROOT / "rules" / "schemes" / "province-prosecutor-template.yaml"
V2 = PROJECT_ROOT / "rules" / "revisions" / "SFS-PROSECUTOR-TEMPLATE" / "v2.overrides.yaml"
START, MONTHS = dt.date(2020, 1, 1), 2
PERIOD = (START, dt.date(2020, 2, 29))


def province(seed: int, prosecutors: int = 120) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(events, subjects) of a small generated province, in memory."""
    rng = random.Random(seed)
    units = build_units(rng)
    people = build_people(rng, units, prosecutors, START, PERIOD[1])
    depts = {(p.unit.code, p.department_code) for p in people}
    dept_ids = {d: i for i, d in enumerate(sorted(depts), start=1)}
    lines = {b.code: b.line for b in DICT.businesses}
    rows = [(f"E{n}", etype, None if pidx is None else pidx + 1, uidx + 1, case_id, day, attrs_json(attrs))
            for n, (etype, pidx, uidx, case_id, day, attrs)
            in enumerate(EventStream(random.Random(seed + 1), people, START, MONTHS))]
    subjects = pl.DataFrame([{
        "prosecutor_id": i + 1, "code": p.code, "name": p.name, "procuratorate_id": p.unit.index + 1,
        "department_id": dept_ids[(p.unit.code, p.department_code)], "business_code": p.business,
        "line": lines[p.business], "level": p.unit.level, "quota_status": p.quota_status, "is_leader": p.is_leader,
        "leader_title": p.leader_title, "active_from": p.active_from, "active_to": p.active_to,
    } for i, p in enumerate(people)])
    return frame_from_rows(rows, DICT, None), subjects


def documents() -> tuple[dict[str, Any], dict[str, Any]]:
    v1 = yaml.safe_load(TEMPLATE.read_text(encoding="utf-8"))
    revision = yaml.safe_load(V2.read_text(encoding="utf-8"))
    identity = {k: v1[k] for k in ("code", "name", "org", "description")}
    return v1, resolve(v1, revision["overrides"], identity)


def compiled_of(doc: dict[str, Any]) -> CompiledScheme:
    return compile_scheme(load_scheme(doc), DICT)


@pytest.fixture(scope="module")
def data() -> tuple[pl.DataFrame, pl.DataFrame]:
    return province(11)


def same(a: BulkResult, b: BulkResult) -> None:
    assert a.frame.equals(b.frame) and a.left_out.equals(b.left_out)
    assert a.peers == b.peers


def test_both_versions_through_one_cache_score_as_without_it(data):
    events, subjects = data
    v1_doc, v2_doc = documents()
    # A third version: one metric renamed (same definition) and one with another filter.
    v3_doc = copy.deepcopy(v1_doc)
    metrics = v3_doc["metrics"]
    old = next(k for k, m in metrics.items() if "where" in m)
    metrics["renamed_" + old] = metrics.pop(old)
    for ind in v3_doc["indicators"].values():
        ind["formula"] = ind["formula"].replace(old, "renamed_" + old)
    other = next(k for k, m in metrics.items() if m.get("agg", "count") == "count" and "where" not in m
                 and k != "renamed_" + old)
    metrics[other]["where"] = "true"
    versions = [compiled_of(d) for d in (v1_doc, v2_doc, v3_doc)]
    cache: dict[Any, Any] = {}
    for c in versions:
        plain = evaluate_bulk(c, events, subjects, period=PERIOD)
        cached = evaluate_bulk(c, events, subjects, period=PERIOD, metrics_cache=cache)
        same(plain, cached)
        assert plain.frame.filter(pl.col("status") == "evaluated").height > 60
    (entry,) = [e for k, e in cache.items() if k[0] == "bulkcache"]
    # v2 changes thresholds only; v3 renames a metric (nothing new) and filters another one: that metric
    # and ``activity`` (which reads every metric's filter) are the only columns computed for it
    n_v1 = len({bulkcache.fingerprint(e) for e in bulk._metric_aggs(versions[0]) + bulk._count_aggs(versions[0])})
    assert entry.frame.width == 1 + n_v1 + 2
    assert entry.patterns  # the template's case pattern, computed once


def test_only_missing_aggregations_are_computed(data, monkeypatch):
    events, subjects = data
    v1_doc, v2_doc = documents()
    v1, v2 = compiled_of(v1_doc), compiled_of(v2_doc)
    calls: list[int] = []
    real = bulk._relevant

    def counting(*args: Any) -> pl.DataFrame:
        calls.append(1)
        return real(*args)

    monkeypatch.setattr(bulk, "_relevant", counting)
    cache: dict[Any, Any] = {}
    evaluate_bulk(v1, events, subjects, period=PERIOD, metrics_cache=cache)
    assert calls == [1]
    evaluate_bulk(v2, events, subjects, period=PERIOD, metrics_cache=cache)
    evaluate_bulk(v1, events, subjects, period=PERIOD, metrics_cache=cache)
    assert calls == [1]  # nothing read from the events again


def test_other_events_are_never_served_from_the_cache(data):
    events, subjects = data
    v1 = compiled_of(documents()[0])
    cache: dict[Any, Any] = {}
    evaluate_bulk(v1, events, subjects, period=PERIOD, metrics_cache=cache)
    january = events.filter(pl.col("occurred_on") < dt.date(2020, 2, 1))  # another frame object
    period = (START, dt.date(2020, 1, 31))
    same(evaluate_bulk(v1, january, subjects, period=period),
         evaluate_bulk(v1, january, subjects, period=period, metrics_cache=cache))
    # An explicit key names the events: the same key with the same events reuses, another key does not.
    same(evaluate_bulk(v1, events, subjects, period=PERIOD),
         evaluate_bulk(v1, events, subjects, period=PERIOD, metrics_cache=cache, events_key="year"))
    same(evaluate_bulk(v1, january, subjects, period=period),
         evaluate_bulk(v1, january, subjects, period=period, metrics_cache=cache, events_key="january"))
    # Another subject key (procuratorates) is an entry of its own.
    keys = {k[2] for k in cache if k[0] == "bulkcache"}
    assert keys == {"prosecutor_id"}


def test_the_cache_holds_a_bounded_number_of_events_frames(data):
    events, subjects = data
    v1 = compiled_of(documents()[0])
    cache: dict[Any, Any] = {"someone else's": 1}
    frames = [events.filter(pl.col("occurred_on") >= START + dt.timedelta(days=i)) for i in range(bulkcache.MAX_ENTRIES + 3)]
    for f in frames:
        evaluate_bulk(v1, f, subjects, period=PERIOD, metrics_cache=cache)
    assert len([k for k in cache if isinstance(k, tuple) and k[0] == "bulkcache"]) == bulkcache.MAX_ENTRIES
    assert cache["someone else's"] == 1
    del frames, f
    import gc

    gc.collect()
    evaluate_bulk(v1, events, subjects, period=PERIOD, metrics_cache=cache)  # the dead frames' entries go
    assert len([k for k in cache if isinstance(k, tuple) and k[0] == "bulkcache"]) == 1
