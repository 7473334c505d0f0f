"""The differential test at full size: the whole demo province (97 procuratorates, ~3,000
prosecutors, a year of ~1M events), the shipped schemes, bulk against durable_rules per subject.

SQLite only: the database does not take part in the comparison (both executors read the same
frames); the per-database behaviour is covered by ``test_differential.py``.
"""

from __future__ import annotations

import polars as pl
import pytest

from rulesvc.config import PROJECT_ROOT
from rulesvc.datagen.demo import DemoConfig, generate_and_load
from rulesvc.engine.bulk import evaluate_bulk, subject_of
from rulesvc.engine.differential import compare, summary_differences
from rulesvc.engine.durable_decider import DurableDecider
from rulesvc.engine.evaluate import evaluate_subject
from rulesvc.engine.periods import parse_period
from rulesvc.engine.summary import explain_row, subset_facts, subset_pairs
from rulesvc.extensions import db
from rulesvc.services.dictionary import get_dictionary
from rulesvc.services.scoring import compile_cached, load_scheme_file, period_data

pytestmark = pytest.mark.slow
SCHEMES = PROJECT_ROOT / "rules" / "schemes"


@pytest.fixture(scope="module")
def province(tmp_path_factory, sqlite_app_factory):
    app = sqlite_app_factory(tmp_path_factory.mktemp("full"))
    with app.app_context():
        summary = generate_and_load(DemoConfig())
    assert summary.events >= 1_000_000 and summary.prosecutors >= 2900
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


@pytest.mark.parametrize(("scheme", "period"), [
    ("province-prosecutor-template.yaml", "2020"),
    ("province-prosecutor-template.yaml", "2020-07"),
    ("province-procuratorate-quality.yaml", "2020-07"),
])
def test_the_whole_demo_province_scores_the_same_both_ways(province, scheme, period):
    with province.app_context():
        dictionary = get_dictionary(province.config["RULES_DIR"])
        compiled = compile_cached(load_scheme_file(SCHEMES / scheme), dictionary)
        data = period_data(db.session, compiled, dictionary, parse_period(period))
        bulk = evaluate_bulk(compiled, data.events, data.subjects, key=data.key, period=data.span)
        n, diffs = compare(compiled, bulk, data.events, DurableDecider(), period=period)
    assert n == bulk.frame.height and n + bulk.left_out.height == data.subjects.height
    assert diffs == [], diffs[:20]


@pytest.mark.parametrize(("scheme", "period"), [
    ("province-prosecutor-template.yaml", "2020-Q3"),  # a quarter: every kind of hint, a quarter of the year's time
    ("county-910101-localized.yaml", "2020"),
    ("province-procuratorate-quality.yaml", "2020-07"),
])
def test_a_cards_explanation_from_the_bulk_row_is_the_per_subject_one(province, scheme, period):
    """What a card shows (``trace=summary``: rules, notes, what it would take, adjustments, vetoes,
    attribution) read off the subject's bulk row equals the per-subject evaluation on their events, for
    everyone in the province."""
    with province.app_context():
        dictionary = get_dictionary(province.config["RULES_DIR"])
        compiled = compile_cached(load_scheme_file(SCHEMES / scheme), dictionary)
        data = period_data(db.session, compiled, dictionary, parse_period(period))
    bulk = evaluate_bulk(compiled, data.events, data.subjects, key=data.key, period=data.span)
    facts = subset_facts(compiled, data.events, data.key)
    by_subject = data.events.filter(pl.col(data.key).is_not_null()).partition_by(data.key, as_dict=True)
    diffs, nearest, also = [], 0, 0
    for row in bulk.frame.iter_rows(named=True):
        part = by_subject.get((row[data.key],))
        single = evaluate_subject(compiled, subject_of(row, data.key), part.to_dicts() if part is not None else [],
                                  period=period, peers=bulk.peers)
        got = explain_row(compiled, bulk, row, period=period, subsets=facts.get(row[data.key]))
        diffs += summary_differences(got, single)
        nearest += sum(1 for i in got.indicators if i.nearest is not None)
        also += sum(1 for i in got.indicators if i.nearest is not None and "同时计入" in i.nearest.needs)
    assert diffs == [], diffs[:20]
    by_value = any(ci.piecewise is not None and ci.piecewise.derive == "value" for ci in compiled.indicators)
    if by_value:  # the hints were there to compare
        assert nearest > bulk.frame.height and (also > 0 or not subset_pairs(compiled))
