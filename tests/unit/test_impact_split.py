"""The bulk executor split for live impact: ``score_metrics`` on a kept metric frame gives exactly what
``evaluate_bulk`` gives, for every kind of edit a designer makes; ``metrics_key`` stays the same for
edits that only change scoring and changes for those that change what is aggregated; the caches that
hold such frames are bounded by entries and bytes."""

from __future__ import annotations

import copy
import datetime as dt
from collections.abc import Callable
from typing import Any

import polars as pl
import pytest

from rulesvc.engine import bulk
from rulesvc.engine.bulk import evaluate_bulk, metric_fingerprints, metrics_key, phase_metrics, score_metrics
from rulesvc.services.impact_data import Bounded, frame_bytes, period_of
from tests.impact_edits import SCORING_ONLY, Doc
from tests.impact_edits import new_metric as _new_metric
from tests.unit.test_bulkcache import PERIOD, compiled_of, documents, province

KEY = "prosecutor_id"




@pytest.fixture(scope="module")
def data() -> tuple[pl.DataFrame, pl.DataFrame]:
    return province(23, prosecutors=160)


def _edited(edit: Callable[[Doc], None]) -> Doc:
    doc = copy.deepcopy(documents()[0])
    edit(doc)
    return doc


def _same(a: bulk.BulkResult, b: bulk.BulkResult) -> None:
    assert a.frame.equals(b.frame) and a.left_out.equals(b.left_out)
    assert a.peers == b.peers


@pytest.mark.parametrize("edit", [*SCORING_ONLY, _new_metric], ids=lambda f: f.__name__.strip("_"))
def test_scoring_a_kept_metric_frame_is_a_whole_bulk_run(data, edit):
    events, subjects = data
    base = compiled_of(documents()[0])
    store: dict[Any, Any] = {}
    kept = phase_metrics(base, events, subjects, KEY, cache=store, events_key="p")
    compiled = compiled_of(_edited(edit))
    whole = evaluate_bulk(compiled, events, subjects, key=KEY, period=PERIOD)
    if metrics_key(compiled, KEY) == metrics_key(base, KEY):  # nothing new to aggregate: the kept frame serves
        _same(score_metrics(compiled, kept, key=KEY, period=PERIOD), whole)
    metrics = phase_metrics(compiled, events, subjects, KEY, cache=store, events_key="p")
    _same(score_metrics(compiled, metrics, key=KEY, period=PERIOD), whole)
    assert whole.frame["total"].n_unique() > 20  # the data exercise the scheme


@pytest.mark.parametrize("edit", SCORING_ONLY, ids=lambda f: f.__name__.strip("_"))
def test_an_edit_of_scoring_only_keeps_the_metrics_key(edit):
    base = compiled_of(documents()[0])
    assert metrics_key(compiled_of(_edited(edit)), KEY) == metrics_key(base, KEY) is not None


def test_a_new_metric_changes_the_key_by_its_own_aggregation_and_activity():
    base, new = compiled_of(documents()[0]), compiled_of(_edited(_new_metric))
    assert metrics_key(new, KEY) != metrics_key(base, KEY)
    before, after = set(metric_fingerprints(base, KEY) or ()), set(metric_fingerprints(new, KEY) or ())
    assert len(after - before) == 2  # the new count, and "any event a metric counts" (activity)


def test_a_metric_copied_under_another_code_is_another_frame_but_no_new_count():
    doc = _edited(lambda d: d["metrics"].__setitem__("accepted2", d["metrics"]["cases_accepted"]))
    base, copied = compiled_of(documents()[0]), compiled_of(doc)
    assert metrics_key(copied, KEY) != metrics_key(base, KEY)  # a column more
    new = set(metric_fingerprints(copied, KEY) or ()) - set(metric_fingerprints(base, KEY) or ())
    assert len(new) == 1  # only "any event a metric counts" (activity) reads another list of conditions


def test_bounded_cache_drops_the_oldest_by_entries_and_by_bytes():
    small = pl.DataFrame({"a": list(range(1000))})  # 8 kB
    c = Bounded(3, 20_000, frame_bytes)
    c.put("a", small)
    c.put("b", small)
    assert c.get("a") is small  # a is now the most recent
    c.put("c", small)  # 24 kB > 20 kB: the oldest (b) goes
    assert c.get("b") is None and c.get("a") is small and c.get("c") is small
    c.put("huge", pl.DataFrame({"a": list(range(10_000))}))  # alone over the bound: handed back, not kept
    assert c.get("huge") is None and len(c) == 2 and c.bytes() <= 20_000
    for k in "defg":
        c.put(k, pl.DataFrame({"a": [1]}))
    assert len(c) == 3


def test_periods_of_each_cadence():
    day = dt.date(2020, 11, 15)
    assert [period_of(k, day).label for k in ("month", "quarter", "year")] == ["2020-11", "2020-Q4", "2020"]
