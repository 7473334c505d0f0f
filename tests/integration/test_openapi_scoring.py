"""The OpenAPI document of the scoring operations (issue 11) as another system's developer reads it: every
request parameter, body field and answer field — through every nested schema — described in Chinese and
English with an example; the request examples pass their own schemas, the answers' examples load through
theirs; and real answers carry exactly the fields the document names (a field left out of a response
schema would be silently dropped from the answer)."""

from __future__ import annotations

import json
import re
from typing import Any

import marshmallow as ma
import pytest

from rulesvc.api import evaluations as ev_api
from rulesvc.api import publications as pub_api
from rulesvc.api import rankings as rank_api
from rulesvc.api import scoring_schemas as schemas
from rulesvc.extensions import db
from rulesvc.services import evaluation, rankings
from rulesvc.services.dictionary import get_dictionary
from rulesvc.services.governance.access import system_actor
from tests.integration.simhelpers import (
    ok,
    scoring_world,
)

SPEC = "/api/docs/openapi.json"
PERIOD = "2020-07"
# operation -> (request body schema, query schema) as the views declare them
OPERATIONS: dict[tuple[str, str], tuple[type[ma.Schema] | None, type[ma.Schema] | None]] = {
    ("post", "/api/v1/evaluations"): (ev_api.EvaluationRequestSchema, None),
    ("post", "/api/v1/evaluations/batch"): (ev_api.BatchRequestSchema, None),
    ("get", "/api/v1/subjects/{code}/history"): (None, ev_api.HistoryQuerySchema),
    ("get", "/api/v1/rankings"): (None, rank_api.RankingQuery),
    ("get", "/api/v1/comparisons"): (None, rank_api.ComparisonQuery),
    ("get", "/api/v1/publications"): (None, pub_api.ListQuery),
    ("post", "/api/v1/publications"): (pub_api.PublishSchema, None),
    ("get", "/api/v1/publications/{publication_id}"): (None, None),
    ("post", "/api/v1/publications/{publication_id}/supersede"): (pub_api.SupersedeSchema, None),
}
# flask-smorest's own pagination parameters (every list of the API has them; described by
# rulesvc.api.PagingWords): not declared in these modules.
PAGING = {"page", "page_size", "lang"}  # taken by every GET besides its own parameters
RESPONSE_SCHEMAS = (schemas.EvaluationSchema, schemas.BatchSchema, ev_api.HistorySchema, rank_api.RankingRowSchema,
                    rank_api.ComparisonSchema, pub_api.PublicationSchema)


def bilingual(text: str | None) -> bool:
    return bool(text) and re.search(r"[\u4e00-\u9fff]", text) is not None and re.search(r"[A-Za-z]{2}", text) is not None


def component(spec: dict[str, Any], ref: str) -> dict[str, Any]:
    return spec["components"]["schemas"][ref.rsplit("/", 1)[-1]]


def ref_of(prop: dict[str, Any]) -> str | None:
    """The component a property points at: directly, through ``anyOf`` (nullable) or as array items."""
    if "$ref" in prop:
        return str(prop["$ref"])
    for alt in prop.get("anyOf", []) + prop.get("allOf", []):
        if "$ref" in alt:
            return str(alt["$ref"])
    if prop.get("type") == "array":
        return ref_of(prop.get("items", {}))
    return None


def undocumented(spec: dict[str, Any], ref: str, seen: set[str]) -> list[str]:
    """Every property of the component ``ref`` and the components below it without a bilingual
    description, or (unless it is a nested object) without an example."""
    name = ref.rsplit("/", 1)[-1]
    if name in seen:
        return []
    seen.add(name)
    bad = []
    for field, prop in component(spec, ref).get("properties", {}).items():
        if not bilingual(prop.get("description")):
            bad.append(f"{name}.{field}: description {prop.get('description')!r}")
        inner = ref_of(prop)
        if inner is None and "example" not in prop:
            bad.append(f"{name}.{field}: no example")
        if inner is not None:
            bad += undocumented(spec, inner, seen)
    return bad


def response_refs(op: dict[str, Any]) -> list[str]:
    out = []
    for status, response in op["responses"].items():
        if not str(status).startswith("2"):
            continue
        for media in response.get("content", {}).values():
            ref = ref_of(media.get("schema", {}))
            if ref:
                out.append(ref)
    return out


@pytest.fixture
def spec(client) -> dict[str, Any]:
    return client.get(SPEC).get_json()


def test_every_field_of_the_scoring_operations_is_described_in_chinese_and_english(spec):
    bad: list[str] = []
    seen: set[str] = set()
    for (method, path), (body_schema, _) in OPERATIONS.items():
        op = spec["paths"][path][method]
        where = f"{method.upper()} {path}"
        params = spec["paths"][path].get("parameters", []) + op.get("parameters", [])
        for p in params:
            if not bilingual(p.get("description")):
                bad.append(f"{where} parameter {p['name']}: description {p.get('description')!r}")
            if "example" not in p and "example" not in p.get("schema", {}):
                bad.append(f"{where} parameter {p['name']}: no example")
        if body_schema is not None:
            bad += undocumented(spec, op["requestBody"]["content"]["application/json"]["schema"]["$ref"], seen)
        refs = response_refs(op)
        assert refs, f"{where}: no documented JSON answer"
        for ref in refs:
            bad += undocumented(spec, ref, seen)
    assert not bad, "\n".join(bad)
    # the nested schemas are documented as components, not as free-form objects
    assert {"SubjectRef", "SchemeRef", "DatasetRef", "PublicationRef", "Rank", "Dimension", "Indicator", "Nearest",
            "Adjustment", "Veto", "AttributionLine", "PeriodEntry", "Unit", "UnitIndicator", "ComparisonMethod",
            "PublicationSummary", "BatchCard"} <= seen


def test_the_request_examples_pass_their_own_schemas(spec):
    for (method, path), (body_schema, query_schema) in OPERATIONS.items():
        op = spec["paths"][path][method]
        if body_schema is not None:
            media = op["requestBody"]["content"]["application/json"]
            examples = [media["example"]] if "example" in media else [e["value"] for e in media["examples"].values()]
            assert examples, path
            for example in examples:
                assert body_schema().load(example), (path, example)
            for field, prop in component(spec, media["schema"]["$ref"])["properties"].items():
                if "example" in prop:
                    body_schema().load({**examples[0], field: prop["example"]})
        if query_schema is not None:
            query = {p["name"]: p.get("example", p["schema"].get("example")) for p in op["parameters"]
                     if p["in"] == "query" and p["name"] not in PAGING}
            assert query_schema().load({k: str(v) for k, v in query.items()}), (path, query)
        for p in spec["paths"][path].get("parameters", []):  # path parameters
            assert ma.fields.Integer().deserialize(p["example"]) if p["schema"]["type"] == "integer" else p["example"]


def example_of(schema: ma.Schema) -> dict[str, Any]:
    """An answer assembled from the fields' own examples (a nested object from its schema's)."""
    out: dict[str, Any] = {}
    for name, field in schema.fields.items():
        if "example" in field.metadata:
            out[field.data_key or name] = field.metadata["example"]
        elif isinstance(field, ma.fields.Nested):
            out[name] = example_of(field.schema)
        elif isinstance(field, ma.fields.List) and isinstance(field.inner, ma.fields.Nested):
            out[name] = [example_of(field.inner.schema)]
    return out


@pytest.mark.parametrize("schema", RESPONSE_SCHEMAS, ids=lambda s: s.__name__)
def test_the_answer_examples_load_through_their_schemas(schema):
    example = example_of(schema())
    assert schema().load(example) is not None  # types, choices and nulls as documented
    assert schema().dump(example) == example


# -------------------------------------------------------------------------------- real answers, real keys


@pytest.fixture
def world(app, tmp_path):
    with scoring_world(app, tmp_path, periods=PERIOD) as (sim, c, keys, _):
        yield sim, c, keys


def same(a: Any, b: Any) -> bool:
    """Equal as JSON text, so 4 and 4.0 differ."""
    return json.dumps(a, sort_keys=True, ensure_ascii=False) == json.dumps(b, sort_keys=True, ensure_ascii=False)


def keys_as_documented(spec: dict[str, Any], value: Any, ref: str, *, absent: frozenset[str] = frozenset(),
                       path: str = "") -> list[str]:
    """Where ``value`` has a field the component does not document, or lacks one it documents (``absent``:
    documented fields this answer may leave out)."""
    schema = component(spec, ref)
    props = schema.get("properties", {})
    if not props:  # a free-form object (the full trace)
        return []
    where = path or ref.rsplit("/", 1)[-1]
    out = [f"{where}.{k}: not documented" for k in set(value) - set(props)]
    out += [f"{where}.{k}: documented, not answered" for k in set(props) - set(value) - absent]
    for k, prop in props.items():
        inner = ref_of(prop)
        if inner is None or value.get(k) is None:
            continue
        items = value[k] if isinstance(value[k], list) else [value[k]]
        for i, item in enumerate(items):
            out += keys_as_documented(spec, item, inner, absent=absent, path=f"{where}.{k}[{i}]")
    return out


def test_a_card_and_a_ranking_row_carry_exactly_the_documented_fields(world):
    sim, c, keys = world
    spec = c.get(SPEC).get_json()
    evaluation_ref = "#/components/schemas/Evaluation"
    body = {"subject": "P01", "period": PERIOD, "scheme": "SIM-PROSECUTOR", "trace": "summary"}
    with sim.app_context():
        dictionary = get_dictionary(sim.config["RULES_DIR"])
        direct = evaluation.evaluate(db.session, system_actor("tests"), dictionary, **body)
        db.session.rollback()
    provisional = ok(c.post("/api/v1/evaluations", headers=keys["scorer"], json=body))
    assert provisional["figures"] == "provisional" and provisional["indicators"] and provisional["attribution"]
    assert same(provisional, json.loads(json.dumps(direct))), "the answer is not the service's card"
    # what-if only; trace=full only; a pro-rated indicator of someone in office part of the period only
    optional = frozenset({"events", "trace", "trace_matches_card", "trace_note", "prorated_from", "compared"})
    assert not keys_as_documented(spec, provisional, evaluation_ref, absent=optional)

    ok(c.post("/api/v1/publications", headers=keys["reviewer"], json={"scheme": "SIM-PROSECUTOR", "period": PERIOD}),
       201)
    published = ok(c.post("/api/v1/evaluations", headers=keys["scorer"], json=body))
    assert published["figures"] == "published" and published["publication"]["sequence"] == 1
    assert not keys_as_documented(spec, published, evaluation_ref, absent=optional)
    traced = ok(c.post("/api/v1/evaluations", headers=keys["scorer"], json={**body, "trace": "full"}))
    assert traced["trace_matches_card"] is True  # a published card's full trace: whether it gives the card
    assert not keys_as_documented(spec, traced, evaluation_ref,
                                  absent=frozenset({"events", "trace_note", "prorated_from", "compared"}))
    for key in ("total", "rank", "indicators", "attribution", "dimensions"):
        assert same(published[key], provisional[key]), key

    rows = ok(c.get(f"/api/v1/rankings?scheme=SIM-PROSECUTOR&period={PERIOD}&page_size=100", headers=keys["scorer"]))
    with sim.app_context():
        meta, frame = rankings.rankings(db.session, system_actor("tests"), dictionary, period=PERIOD,
                                        scheme="SIM-PROSECUTOR")
        direct_rows = rankings.rows(db.session, dictionary, frame, meta["subject_kind"], meta["group"])
        db.session.rollback()
    assert rows and same(rows, json.loads(json.dumps(direct_rows)))
    for row in rows:  # a prosecutor's row: no level (a procuratorate's has no procuratorate, business, line)
        assert not keys_as_documented(spec, row, "#/components/schemas/RankingRow", absent=frozenset({"level"}))


def test_the_other_answers_carry_only_documented_fields(world):
    sim, c, keys = world
    spec = c.get(SPEC).get_json()
    ok(c.post("/api/v1/publications", headers=keys["reviewer"], json={"scheme": "SIM-PROSECUTOR", "period": PERIOD}),
       201)
    batch = ok(c.post("/api/v1/evaluations/batch", headers=keys["scorer"],
                      json={"scheme": "SIM-PROSECUTOR", "period": PERIOD, "subjects": ["P01", "NOBODY"],
                            "trace": "summary"}))
    card_fields = frozenset({"events", "trace", "error", "trace_matches_card", "trace_note", "prorated_from", "compared"})
    assert not keys_as_documented(spec, {**batch, "cards": []}, "#/components/schemas/Batch")
    assert not keys_as_documented(spec, batch["cards"][0], "#/components/schemas/BatchCard", absent=card_fields)
    error = batch["cards"][1]
    assert set(error) == {"subject", "error"} and set(error["error"]) == {"code", "error_code", "message"}

    history = ok(c.get("/api/v1/subjects/P01/history?scheme=SIM-PROSECUTOR&from=2019-12&to=2020-08",
                       headers=keys["scorer"]))
    assert not keys_as_documented(spec, {**history, "periods": []}, "#/components/schemas/History")
    entries = {p["period"]: p for p in history["periods"]}
    figures = frozenset({"note"})
    none = frozenset({"version", "publication", "total", "grade", "place", "of", "percentile"})
    assert not keys_as_documented(spec, entries["2020-07"], "#/components/schemas/PeriodEntry", absent=figures)
    assert entries["2020-07"]["figures"] == "published"
    assert not keys_as_documented(spec, entries["2019-12"], "#/components/schemas/PeriodEntry", absent=none)

    listed = ok(c.get("/api/v1/publications", headers=keys["scorer"]))
    assert listed and not keys_as_documented(spec, listed[0], "#/components/schemas/Publication")
