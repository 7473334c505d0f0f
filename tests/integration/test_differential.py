"""The two executors agree: bulk (polars) and per subject (durable_rules), on every demo subject."""

from __future__ import annotations

import pytest

from rulesvc.config import PROJECT_ROOT
from rulesvc.engine.differential import compare
from rulesvc.engine.durable_decider import DurableDecider
from rulesvc.engine.evaluate import PythonDecider
from rulesvc.engine.periods import parse_period
from rulesvc.extensions import db
from rulesvc.services.dictionary import get_dictionary
from rulesvc.services.scoring import compile_cached, load_scheme_file, score_period

SCHEMES = PROJECT_ROOT / "tests" / "data" / "schemes"


def _run(app, scheme_file, period, decider):
    with app.app_context():
        dictionary = get_dictionary(app.config["RULES_DIR"])
        compiled = compile_cached(load_scheme_file(scheme_file), dictionary)
        bulk, data = score_period(db.session, compiled, dictionary, parse_period(period))
        return compare(compiled, bulk, data.events, decider, period=period), bulk


@pytest.mark.parametrize("period", ["2020-01", "2020-02"])
def test_every_prosecutor_gets_the_same_score_from_both_executors(demo_app, period):
    (n, diffs), bulk = _run(demo_app, SCHEMES / "mini.yaml", period, DurableDecider())
    assert n == bulk.frame.height > 500
    assert diffs == [], diffs[:20]
    # The data exercise the rules: several branches, adjustments and grades actually fire.
    assert bulk.frame["grade"].n_unique() >= 3
    assert bulk.frame.filter(bulk.frame["adjn__review_flawed"] > 0).height > 0


def test_every_procuratorate_gets_the_same_score_from_both_executors(demo_app):
    (n, diffs), bulk = _run(demo_app, SCHEMES / "mini_org.yaml", "2020-02", DurableDecider())
    assert n == 97
    assert diffs == [], diffs[:20]
    assert set(bulk.frame["grade"].drop_nulls()) == {"上游", "中游", "下游"}


@pytest.mark.parametrize("scheme", ["province-prosecutor-template.yaml", "county-910101-localized.yaml",
                                    "province-procuratorate-quality.yaml"])
def test_the_shipped_schemes_score_every_subject_the_same_both_ways(demo_app, scheme):
    (n, diffs), bulk = _run(demo_app, PROJECT_ROOT / "rules" / "schemes" / scheme, "2020-02", DurableDecider())
    # A county's scheme scores that county's prosecutors only (services.scoring.scope_ids); the
    # procuratorate-level scheme compares the 96 city- and county-level units, not the province.
    assert n == bulk.frame.height and n >= (1 if scheme.startswith("county") else 96)
    if scheme.startswith("province-procuratorate"):
        assert bulk.left_out["code"].to_list() == ["910000"] and n == 96
    assert diffs == [], diffs[:20]


def test_python_and_durable_deciders_agree(demo_app):
    (_, diffs), _ = _run(demo_app, SCHEMES / "mini.yaml", "2020-02", PythonDecider())
    assert diffs == [], diffs[:20]


def test_the_shipped_procuratorate_scheme_flags_laggards_as_the_readme_says(demo_app):
    """Bottom 3 among city-level units only, bottom 30 % (rounded down) among county-level units only;
    the province is not compared."""
    from rulesvc.engine.comparison import laggard_rules
    from rulesvc.services.scoring import compare_units

    with demo_app.app_context():
        dictionary = get_dictionary(demo_app.config["RULES_DIR"])
        compiled = compile_cached(load_scheme_file(PROJECT_ROOT / "rules" / "schemes" /
                                                   "province-procuratorate-quality.yaml"), dictionary)
        frame, _ = compare_units(db.session, compiled, dictionary, parse_period("2020-02"))
    assert "910000" not in frame["code"].to_list()
    evaluated = frame.filter(frame["status"] == "evaluated")
    cities, counties = (evaluated.filter(evaluated["level"] == lvl) for lvl in ("city", "county"))
    assert set(frame.filter(frame["bottom_k"])["level"]) == {"city"}
    assert set(frame.filter(frame["bottom_share"])["level"]) == {"county"}
    lowest_cities = sorted(cities["total"])[:3]
    assert sorted(frame.filter(frame["bottom_k"])["total"]) == [t for t in sorted(cities["total"]) if t <= lowest_cities[-1]]
    places = counties.height * 3 // 10
    cut = sorted(counties["total"])[places - 1]
    assert sorted(frame.filter(frame["bottom_share"])["total"]) == [t for t in sorted(counties["total"]) if t <= cut]
    rules = {(r.rule, r.group): r for r in laggard_rules(compiled, frame)}
    assert set(rules) == {("bottom_k", "city"), ("bottom_share", "county")}
    assert rules[("bottom_share", "county")].places == places


def test_a_monthly_bulletin_from_the_command_line_looks_back_as_far_as_its_streak(demo_app, tmp_path):
    """`rulesvc compare` for February under a 2-month streak reads January too, as the API does: a unit
    worse than its level's average on an indicator in both months is named. (It read February alone and
    named nobody in any monthly or quarterly bulletin.)"""
    import yaml

    from rulesvc.services.scoring import compare_units

    doc = yaml.safe_load((PROJECT_ROOT / "rules" / "schemes" / "province-procuratorate-quality.yaml").read_text("utf-8"))
    doc["peers"]["streak"] = 2
    path = tmp_path / "streak2.yaml"
    path.write_text(yaml.safe_dump(doc, allow_unicode=True), "utf-8")
    with demo_app.app_context():
        dictionary = get_dictionary(demo_app.config["RULES_DIR"])
        compiled = compile_cached(load_scheme_file(path), dictionary)
        months = {m: compare_units(db.session, compiled, dictionary, parse_period(m))[0] for m in ("2020-01", "2020-02")}
        _, runs = compare_units(db.session, compiled, dictionary, parse_period("2020-02"))
    by_code = {ci.indicator.code: ci for ci in compiled.indicators}
    named_somewhere = 0
    for code in compiled.scheme.peers.indicators:
        hb = by_code[code].higher_better

        def worse(frame, code=code, hb=hb):  # worse than the level's average (strictly), evaluated units only
            rows = frame.filter(frame["status"] == "evaluated").iter_rows(named=True)
            return {r["procuratorate_id"] for r in rows if r[code] is not None and r[f"avg__{code}"] is not None
                    and (r[code] < r[f"avg__{code}"] if hb else r[code] > r[f"avg__{code}"])}

        both = worse(months["2020-01"]) & worse(months["2020-02"])
        named = set(runs.filter(runs[f"named__{code}"])["procuratorate_id"].to_list())
        assert named == both, code
        named_somewhere += len(named)
    assert named_somewhere > 0  # the demo has units behind two months running
    result = demo_app.test_cli_runner().invoke(args=["compare", "--scheme", str(path), "--period", "2020-02"])
    assert result.exit_code == 0, result.output
    assert sum(1 for line in result.output.splitlines() if line.startswith("连续 2 个月") and not line.endswith("：无")) > 0
