"""The shipped rule library (rules/schemes/): every scheme loads, names only what the data dictionary
holds, and the county localisation differs from the provincial template exactly as its header says."""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest

from rulesvc.config import PROJECT_ROOT
from rulesvc.engine.compile import SUBJECT_LABELS, compile_scheme
from rulesvc.engine.dictionary import load_dictionary
from rulesvc.engine.lint import lint
from rulesvc.schema.scheme import load_scheme, read_document

SCHEMES = PROJECT_ROOT / "rules" / "schemes"
TEMPLATE = SCHEMES / "province-prosecutor-template.yaml"
COUNTY = SCHEMES / "county-910101-localized.yaml"
UNIT_QUALITY = SCHEMES / "province-procuratorate-quality.yaml"
FILES = sorted(p for p in SCHEMES.iterdir() if p.is_file() and p.suffix in (".yaml", ".yml", ".json"))

DICT = load_dictionary(PROJECT_ROOT / "rules")
COMMON_FIELDS = {"case_id", "occurred_on", "event_type"}
# Words of the formula language that are not names (operators, literals, Chinese synonyms).
KEYWORDS = {"and", "or", "not", "in", "true", "false", "null", "且", "或", "非"}
IDENTITY = {"code", "name", "org", "description"}  # what every localisation changes


def doc_of(path: Path) -> dict[str, Any]:
    return read_document(path.read_text(encoding="utf-8"), source=path.name)


def names_in(text: str) -> set[str]:
    """Names a formula or filter reads: identifiers outside string literals, minus keywords and
    function names (an identifier followed by an opening parenthesis)."""
    bare = re.sub(r"'[^']*'|\"[^\"]*\"|“[^”]*”|‘[^’]*’", " ", text)
    found = set()
    for m in re.finditer(r"[A-Za-z_][A-Za-z0-9_]*", bare):
        if m.group().lower() in KEYWORDS or bare[m.end():].lstrip().startswith(("(", "（")):
            continue
        found.add(m.group())
    return found


def enum_values_in(text: str) -> Iterator[tuple[str, str]]:
    """(field, value) for ``field == 'v'``, ``field != 'v'`` and ``field in ['a', 'b']``."""
    for m in re.finditer(r"([A-Za-z_]\w*)\s*(?:==|!=)\s*'([^']*)'", text):
        yield m.group(1), m.group(2)
    for m in re.finditer(r"([A-Za-z_]\w*)\s+(?:not\s+)?in\s*\[([^\]]*)\]", text):
        for value in re.findall(r"'([^']*)'", m.group(2)):
            yield m.group(1), value


def filters_of(doc: Mapping[str, Any]) -> Iterator[tuple[str, list[str], str | None]]:
    """(path, event types, where) of every metric, adjustment, pattern step and veto."""

    def events(part: Mapping[str, Any]) -> list[str]:
        ev = part.get("events", part.get("event"))
        return list(ev) if isinstance(ev, list) else [ev]

    for section in ("metrics", "adjustments", "vetoes"):
        for code, part in (doc.get(section) or {}).items():
            yield f"{section}.{code}", events(part), part.get("where")
            for i, step in enumerate(part.get("pattern") or ()):
                yield f"{section}.{code}.pattern[{i}]", events(step), step.get("where")


def shared_fields(types: list[str]) -> dict[str, Any]:
    """Fields a filter over these event types may read: those every type has, plus the common columns."""
    per_type = [DICT.event_types[t].fields for t in types]
    shared = {n: f for n, f in per_type[0].items() if all(n in other for other in per_type[1:])}
    return {**shared, **dict.fromkeys(COMMON_FIELDS)}


def diff_paths(a: Any, b: Any, prefix: str = "") -> set[str]:
    """Dotted paths where two parsed documents differ (a key present in only one counts as a difference)."""
    if isinstance(a, Mapping) and isinstance(b, Mapping):
        out: set[str] = set()
        for key in a.keys() | b.keys():
            path = f"{prefix}.{key}" if prefix else str(key)
            out |= diff_paths(a[key], b[key], path) if key in a and key in b else {path}
        return out
    return set() if a == b else {prefix}


def documented_changes(path: Path) -> set[str]:
    """The ``[dotted.path]`` entries of the change list in a localisation's leading comment block."""
    block = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.startswith("#") or line.startswith("# ----"):
            break
        block.append(line)
    return set(re.findall(r"\[([A-Za-z_][\w.]*)\]", "\n".join(block)))


# ---------------------------------------------------------------------------------------------
# structure


def test_the_library_ships_the_template_its_localisation_and_the_unit_scheme():
    assert {TEMPLATE, COUNTY, UNIT_QUALITY} <= set(FILES)


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_every_scheme_file_parses_and_loads(path):
    scheme = load_scheme(doc_of(path))
    assert scheme.indicators and scheme.dimensions
    assert scheme.content_hash


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_every_indicator_is_documented(path):
    for code, ind in doc_of(path)["indicators"].items():
        assert re.search(r"[\u4e00-\u9fff]", ind["name"]), f"{code}: a Chinese name"
        for key in ("description", "source", "unit", "dimension", "direction"):
            assert ind.get(key), f"{code}: {key}"
        if ind.get("scored", True):
            assert ind.get("scoring"), f"{code}: a scored indicator needs a scoring rule"


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_analysis_only_indicators_say_why_in_a_comment(path):
    lines = path.read_text(encoding="utf-8").splitlines()
    switched_off = [i for i, line in enumerate(lines) if line.strip().startswith("scored: false")]
    for i in switched_off:
        assert lines[i - 1].strip().startswith("#"), f"line {i + 1}: scored: false without a comment above it"


def test_template_is_the_fujian_style_prosecutor_scheme():
    doc = doc_of(TEMPLATE)
    scheme = load_scheme(doc)
    assert (scheme.subject, scheme.period, scheme.org) == ("prosecutor", "year", "910000")
    comb = scheme.combination
    assert (comb.method, comb.base, comb.span, comb.cap, comb.floor) == ("weighted", 80, 20, 110, 0)
    assert {c: d.weight for c, d in scheme.dimensions.items()} == {"quality": 40, "efficiency": 30, "effect": 30}
    assert all(d.adjustment_cap for d in scheme.dimensions.values())
    assert [b.grade for b in scheme.grading.bands] == ["优秀", "良好", "合格", "不合格"]
    assert scheme.grading.bands[0].quota == 0.15


def test_template_has_at_least_thirty_indicators_and_a_few_for_analysis_only():
    scheme = load_scheme(doc_of(TEMPLATE))
    analysis = {c for c, ind in scheme.indicators.items() if not ind.scored}
    assert len(scheme.indicators) >= 30
    assert 3 <= len(analysis) <= 8
    # paired against gaming: 不捕率 is shown, 捕后不诉率 and 不捕复议复核改变率 are scored
    assert {"NON_ARREST_RATE", "NON_PROS_RATE"} <= analysis
    assert scheme.indicators["POST_ARREST_NON_PROS_RATE"].scored
    assert scheme.indicators["NON_ARREST_RECON_CHANGE_RATE"].scored


def test_template_covers_every_line_of_work_in_every_dimension():
    scheme = load_scheme(doc_of(TEMPLATE))
    for line in DICT.lines:
        for dim in scheme.dimensions:
            assert any(ind.scored and ind.dimension == dim and (not ind.lines or line in ind.lines)
                       for ind in scheme.indicators.values()), f"{line} has no scored indicator in {dim}"


def test_template_vetoes_a_wrongful_case_with_two_effects_and_penalises_the_returned_twice_pattern():
    scheme = load_scheme(doc_of(TEMPLATE))
    [wrongful] = [v for v in scheme.vetoes.values() if "wrongful_case" in (v.where or "")]
    assert {(e.effect, e.dimension or e.grade) for e in wrongful.effects} == {("zero_dimension", "quality"),
                                                                              ("bar_grade", "优秀")}
    pattern = [a for a in scheme.adjustments.values() if a.pattern and a.code == "RETURNED_TWICE_NOT_PROSECUTED"]
    assert pattern and pattern[0].points < 0
    steps = {s.name: s for s in pattern[0].pattern.require}
    assert steps["returns"].at_least == 2 and "not_prosecute" in steps["not_prosecuted"].where


def test_template_takes_the_seeds_scheme_shapes():
    """A leader's caseload with a coefficient (Yunnan), weighted counts (4/3, 2/3), an indicator for one
    business, accumulated flaw points per case (≥ 40), counts pro-rated by time in office."""
    scheme = load_scheme(doc_of(TEMPLATE))
    assert "is_leader" in scheme.indicators["PER_CAPITA_CASELOAD"].formula
    weights = scheme.metrics["civil_admin_workload"].weights
    assert weights is not None and weights.table["protest"] == (4, 3) and weights.table["trial_rec"] == (2, 3)
    assert scheme.indicators["CONDITIONAL_NON_PROS_RATE"].businesses == ("juvenile",)
    [flaws] = [a for a in scheme.adjustments.values() if a.pattern and a.pattern.require[0].sum]
    assert flaws.pattern.require[0].sum == "flaw_points" and flaws.pattern.require[0].at_least == 40
    assert {c for c, i in scheme.indicators.items() if i.prorate} >= {"PER_CAPITA_CASELOAD", "WORKLOAD_SCORE",
                                                                       "FILING_SUPERVISION"}
    assert scheme.participants.quota_statuses == ("quota",) and scheme.participants.min_office_share == 0.5
    assert scheme.participants.no_activity == "not_graded" and scheme.peer_min_size == 5
    assert scheme.grading.bands[0].quota_rounding == "round"


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_lines_are_known_lines_of_work(path):
    for code, ind in doc_of(path)["indicators"].items():
        assert set(ind.get("lines") or ()) <= set(DICT.lines), code


def test_procuratorate_scheme_ranks_units_within_their_level():
    doc = doc_of(UNIT_QUALITY)
    scheme = load_scheme(doc)
    assert (scheme.subject, scheme.period, scheme.combination.method) == ("procuratorate", "month", "sum")
    assert scheme.peer_group == "level"
    assert set(scheme.peers.indicators) <= set(scheme.indicators)
    assert (scheme.peers.band, scheme.peers.bottom_k, scheme.peers.bottom_share, scheme.peers.streak) == (0.05, 3, 0.30, 6)
    # As the README says: bottom 3 among city-level units, bottom 30 % among county-level ones.
    assert scheme.peers.bottom_k_groups == ("city",) and scheme.peers.bottom_share_groups == ("county",)
    assert scheme.participants.levels == ("city", "county")
    # a procuratorate has no business line: an indicator limited to lines would never apply to it
    assert not any(ind.lines for ind in scheme.indicators.values())
    methods = {ind.scoring.method for ind in scheme.indicators.values() if ind.scored}
    assert methods <= {"ratio_to_avg", "percentile"}
    assert sum(ind.scoring.params["points"] for ind in scheme.indicators.values() if ind.scored) == 100


# ---------------------------------------------------------------------------------------------
# names against the data dictionary


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_every_event_type_and_field_named_exists_in_the_dictionary(path):
    doc = doc_of(path)
    for where_path, types, where in filters_of(doc):
        unknown = [t for t in types if t not in DICT.event_types]
        assert not unknown, f"{where_path}: unknown event types {unknown}"
        fields = shared_fields(types)
        field = (doc.get("metrics") or {}).get(where_path.split(".")[-1], {}).get("field") \
            if where_path.startswith("metrics.") else None
        if field:
            assert field in fields, f"{where_path}: no field {field!r} in {types}"
        if where:
            missing = names_in(where) - set(fields)
            assert not missing, f"{where_path}: {sorted(missing)} not fields of {types}"
            for name, value in enum_values_in(where):
                choices = fields[name].choices if fields.get(name) is not None else None
                assert choices and value in choices, f"{where_path}: {value!r} is not a choice of {name}"


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_indicator_formulas_only_read_metrics_and_indicators(path):
    doc = doc_of(path)
    known = set(doc.get("metrics") or {}) | set(doc["indicators"]) | set(SUBJECT_LABELS)
    for code, ind in doc["indicators"].items():
        missing = names_in(ind["formula"]) - known
        assert not missing, f"{code}: {sorted(missing)} are neither metrics nor indicators"
    used = set().union(*(names_in(ind["formula"]) for ind in doc["indicators"].values()))
    assert set(doc.get("metrics") or {}) <= used, "every metric feeds some indicator"


def test_name_extraction_skips_strings_functions_and_keywords():
    assert names_in("decision in ['not_prosecute', 'x'] and not plea_leniency") == {"decision", "plea_leniency"}
    assert names_in("days_between(accepted_on, occurred_on) <= 45") == {"accepted_on", "occurred_on"}


# ---------------------------------------------------------------------------------------------
# the county localisation


def test_county_differs_from_the_template_exactly_as_its_header_documents():
    template, county = doc_of(TEMPLATE), doc_of(COUNTY)
    documented = documented_changes(COUNTY)
    assert documented, "the header lists the local changes as [dotted.paths]"
    assert diff_paths(template, county) - IDENTITY == documented
    assert county["org"] == "910101" and county["code"] != template["code"]


def test_county_changes_are_the_four_kinds_of_localisation():
    template, county = load_scheme(doc_of(TEMPLATE)), load_scheme(doc_of(COUNTY))
    # a local indicator: black-soil protection cases
    local = set(county.indicators) - set(template.indicators)
    assert local == {"BLACK_SOIL_PIL_SHARE"}
    metric_filters = [county.metrics[n].where or "" for n in names_in(county.indicators["BLACK_SOIL_PIL_SHARE"].formula)]
    assert any("domain == 'black_soil'" in w for w in metric_filters)
    # a changed weight
    assert (county.dimensions["quality"].weight, county.dimensions["efficiency"].weight) == (45, 25)
    # an indicator switched off
    assert template.indicators["PUBLIC_HEARING_COUNT"].scored and not county.indicators["PUBLIC_HEARING_COUNT"].scored
    # a changed threshold
    assert template.indicators["PLEA_APPLY_RATE"].scoring != county.indicators["PLEA_APPLY_RATE"].scoring


# ---------------------------------------------------------------------------------------------
# compile against the dictionary


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_every_scheme_compiles_against_the_dictionary(path):
    scheme = load_scheme(doc_of(path))
    compiled = compile_scheme(scheme, DICT)
    scored = [ci for ci in compiled.indicators if ci.indicator.scored]
    assert len(compiled.indicators) == len(scheme.indicators)
    assert all(ci.piecewise is not None for ci in scored)


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_shipped_schemes_have_no_lint_errors_or_warnings(path):
    findings = [f for f in lint(load_scheme(doc_of(path)), DICT) if f.level != "info"]
    assert findings == []
