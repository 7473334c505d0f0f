"""The differential test at full size: the whole demo province (97 procuratorates, ~3,000
prosecutors, a year of ~1M events), the shipped schemes, bulk against durable_rules per subject.

SQLite only: the database does not take part in the comparison (both executors read the same
frames); the per-database behaviour is covered by ``test_differential.py``.
"""

from __future__ import annotations

import pytest

from rulesvc.config import PROJECT_ROOT
from rulesvc.datagen.demo import DemoConfig, generate_and_load
from rulesvc.engine.bulk import evaluate_bulk
from rulesvc.engine.differential import compare
from rulesvc.engine.durable_decider import DurableDecider
from rulesvc.engine.periods import parse_period
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
