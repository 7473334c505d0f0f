"""Security regressions, governance (issue 9, findings 1, 6 and 7): four eyes compares *people* — the three
bypasses found by the probe and the one-person-two-credentials case — and the lifecycle is one declared
state machine that the database enforces too.

Each test replays what the probe did over HTTP and asserts the refusal by its stable code."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from sqlalchemy import select, text

from rulesvc.extensions import db
from rulesvc.persistence import lifecycle
from rulesvc.persistence.models import Procuratorate, SchemeVersion, User
from rulesvc.services import localtime
from rulesvc.services.dictionary import get_dictionary
from rulesvc.services.governance import versions
from rulesvc.services.governance.access import actor_for_user, system_actor
from rulesvc.services.governance.apikeys import create_key
from rulesvc.services.users import create_user
from tests.integration.helpers import give_events, role_for, simulate, simulation_run, sql_statements
from tests.integration.test_api_schemes import add_tree, template_document

ALL = ["read", "edit", "review", "activate", "audit"]


@pytest.fixture
def people(app) -> dict[str, dict[str, str]]:
    """Three people (A, B, C) at the province, each with a key holding every permission; and Alice, an
    administrator who also owns a key."""
    with app.app_context():
        ids = add_tree()
        headers = {}
        for person in ("A", "B", "C", "alice"):
            user = create_user(db.session, f"person-{person.lower()}", "a long enough password",
                               role="admin" if person == "alice" else role_for(ALL), procuratorate_id=ids["910000"])
            _, token = create_key(db.session, system_actor("tests"), name=f"key of {person}", procuratorates=["910000"],
                                  permissions=ALL, owner=f"person-{person.lower()}")
            headers[person] = {"Authorization": f"Bearer {token}", "X-Person": f"user:{user.id}"}
        db.session.commit()
    return headers


def ok(response, code: int = 200) -> Any:
    assert response.status_code == code, response.get_data(as_text=True)
    return response.get_json()


def refused(response, status: int, error_code: str) -> dict:
    assert response.status_code == status, response.get_data(as_text=True)
    body = response.get_json()
    assert body["error_code"] == error_code, body
    return body


def new_scheme(client, headers) -> dict:
    return ok(client.post("/api/v1/schemes", headers=headers, json={
        "code": "T", "name": "模板", "procuratorate": "910000", "subject_kind": "prosecutor",
        "period_kind": "year", "document": template_document()}), 201)


def submit_with_simulation(client, headers, vid: int) -> None:
    """Submit, then name a real simulation run of the content on 2020 (the same person)."""
    ok(client.post(f"/api/v1/versions/{vid}/submit", headers=headers, json={}))
    give_events(client.application, "2020")
    run_id = simulation_run(client.application, vid, "2020")
    ok(client.post(f"/api/v1/versions/{vid}/simulation", headers=headers, json={"simulation_id": run_id}))


def test_someone_who_edited_a_draft_does_not_approve_it(people, client):
    v = new_scheme(client, people["A"])
    doc = template_document()
    doc["description"] = "B 改过"
    ok(client.put(f"/api/v1/versions/{v['id']}", headers=people["B"], json={"lock_version": v["lock_version"],
                                                                               "document": doc}))
    submit_with_simulation(client, people["A"], v["id"])
    body = refused(client.post(f"/api/v1/versions/{v['id']}/approve", headers=people["B"], json={}), 403,
                   "version.four_eyes")
    assert "修改" in body["message"]  # says why: B edited it
    ok(client.post(f"/api/v1/versions/{v['id']}/approve", headers=people["C"], json={}))


def test_content_copied_from_someone_elses_version_is_still_theirs(people, client):
    v1 = new_scheme(client, people["B"])  # B writes v1
    v2 = ok(client.post("/api/v1/schemes/T/versions", headers=people["A"], json={"from_version": 1}), 201)
    submit_with_simulation(client, people["A"], v2["id"])
    refused(client.post(f"/api/v1/versions/{v2['id']}/approve", headers=people["B"], json={}), 403,
            "version.four_eyes")
    contributions = ok(client.get(f"/api/v1/versions/{v2['id']}", headers=people["C"]))["contributors"]
    a, b = people["A"]["X-Person"], people["B"]["X-Person"]
    assert {(c["person"], c["role"]) for c in contributions} >= {(b, "copied"), (a, "created"), (a, "submitted")}
    assert v1["id"] != v2["id"]


def test_a_submitter_stays_a_contributor_after_a_rejection(people, client):
    v = new_scheme(client, people["A"])
    submit_with_simulation(client, people["B"], v["id"])  # B submits
    ok(client.post(f"/api/v1/versions/{v['id']}/reject", headers=people["C"], json={"note": "请补充说明"}))
    submit_with_simulation(client, people["A"], v["id"])  # A resubmits
    refused(client.post(f"/api/v1/versions/{v['id']}/approve", headers=people["B"], json={}), 403,
            "version.four_eyes")
    refused(client.post(f"/api/v1/versions/{v['id']}/reject", headers=people["B"], json={"note": "x"}), 403,
            "version.four_eyes")


def test_one_person_with_a_session_and_a_key_is_one_person(people, app, client):
    """Alice submits signed in (her session) and tries to approve with her own key."""
    give_events(app, "2020")
    with app.app_context():
        from rulesvc.persistence.models import User

        alice = db.session.query(User).filter_by(username="person-alice").one()
        session_actor = actor_for_user(db.session, alice)
        draft = versions.create_scheme(db.session, session_actor, code="T", name="模板", procuratorate="910000",
                                       subject_kind="prosecutor", period_kind="year", document=template_document())
        versions.submit(db.session, session_actor, draft.id, get_dictionary(app.config["RULES_DIR"]))
        run = simulate(db.session, session_actor, draft.id, "2020")
        versions.attach_simulation(db.session, session_actor, draft.id, run_id=run.id)
        db.session.commit()
        vid = draft.id
    refused(client.post(f"/api/v1/versions/{vid}/approve", headers=people["alice"], json={}), 403,
            "version.four_eyes")
    ok(client.post(f"/api/v1/versions/{vid}/approve", headers=people["C"], json={}))


def test_what_a_key_of_no_one_writes_is_its_creators_for_four_eyes(people, app, client):
    """Security review (2026-12-07): Alice, an administrator, made a key held by no one with *edit*, wrote and
    submitted a scheme with it, then approved it signed in — the record showed two "people". The key's work is
    now hers too: 403 ``version.four_eyes``; someone else approves."""
    with app.app_context():
        alice = db.session.query(User).filter_by(username="person-alice").one()
        key, token = create_key(db.session, actor_for_user(db.session, alice), name="sys-edit",
                                procuratorates=["910000"], permissions=["read", "edit"])
        assert key.owner_id is None and key.created_by_person == f"user:{alice.id}"
        db.session.commit()
    system = {"Authorization": f"Bearer {token}"}
    v = new_scheme(client, system)
    submit_with_simulation(client, system, v["id"])
    contributions = ok(client.get(f"/api/v1/versions/{v['id']}", headers=people["C"]))["contributors"]
    assert {(c["person"], c["role"]) for c in contributions} >= {
        (people["alice"]["X-Person"], "created"), (people["alice"]["X-Person"], "submitted")}
    refused(client.post(f"/api/v1/versions/{v['id']}/approve", headers=people["alice"], json={}), 403,
            "version.four_eyes")
    ok(client.post(f"/api/v1/versions/{v['id']}/approve", headers=people["C"], json={}))


def test_a_key_that_may_review_belongs_to_a_person(app):
    with app.app_context():
        db.session.add(Procuratorate(code="910000", name="示范省人民检察院", level="province"))
        db.session.flush()
        from rulesvc.errors import InvalidInput

        with pytest.raises(InvalidInput) as err:
            create_key(db.session, system_actor("tests"), name="bot", procuratorates=["910000"],
                       permissions=["read", "review"])
        assert err.value.errors["owner"][0].code == "key.review_needs_owner"
        with pytest.raises(InvalidInput) as err:
            create_key(db.session, system_actor("tests"), name="bot", procuratorates=["910000"], permissions=["edit"])
        assert [m.code for m in err.value.errors["permissions"]] == ["key.read_required"]


def test_a_persons_key_does_no_more_than_the_person_may(people, app, client):
    """Found by an audit of the localization loop: a county designer owning a key with *review* approved a
    version (the role table says designers may not). A key acts for its owner: not beyond their role, nor
    outside their tree — refused when the key is made, and held at each use (a role can change later)."""
    from rulesvc.errors import InvalidInput
    from rulesvc.services.users import update_user

    give_events(app, "2020")
    with app.app_context():
        ids = dict(db.session.execute(select(Procuratorate.code, Procuratorate.id)).all())
        create_user(db.session, "county-designer", "a long enough password", role="designer",
                    procuratorate_id=ids["910101"])
        with pytest.raises(InvalidInput) as err:
            create_key(db.session, system_actor("tests"), name="审核键", procuratorates=["910101"],
                       permissions=["read", "review"], owner="county-designer")
        (beyond,) = err.value.errors["permissions"]
        assert beyond.code == "key.beyond_owner" and "审核" in str(beyond)
        with pytest.raises(InvalidInput) as err:  # the province is above the designer's county
            create_key(db.session, system_actor("tests"), name="省院键", procuratorates=["910000"],
                       permissions=["read", "edit"], owner="county-designer")
        assert err.value.errors["procuratorates"][0].code == "key.outside_owner"
        # An administrator (not the server's operator) makes keys for no one but herself: a key owned by a
        # reviewer would let her approve her own draft as that reviewer (audit finding).
        alice = actor_for_user(db.session, db.session.scalar(select(User).where(User.username == "person-alice")))
        with pytest.raises(InvalidInput) as err:
            create_key(db.session, alice, name="替人审核", procuratorates=["910000"], permissions=["read", "review"],
                       owner="person-c")
        assert err.value.errors["owner"][0].code == "key.owner_not_self"
        create_key(db.session, alice, name="自己的键", procuratorates=["910000"], permissions=["read", "review"],
                   owner="person-alice")
        # B reviews with every permission; made a designer, B's key no longer approves.
        session_actor = actor_for_user(db.session, db.session.scalar(select(User).where(User.username == "person-a")))
        draft = versions.create_scheme(db.session, session_actor, code="T", name="模板", procuratorate="910000",
                                       subject_kind="prosecutor", period_kind="year", document=template_document())
        versions.submit(db.session, session_actor, draft.id, get_dictionary(app.config["RULES_DIR"]))
        run = simulate(db.session, session_actor, draft.id, "2020")
        versions.attach_simulation(db.session, session_actor, draft.id, run_id=run.id)
        update_user(db.session, "person-b", role="designer", actor=system_actor("tests"))
        db.session.commit()
        vid = draft.id
    refused(client.post(f"/api/v1/versions/{vid}/approve", headers=people["B"], json={}), 403, "permission.action")
    ok(client.post(f"/api/v1/versions/{vid}/approve", headers=people["C"], json={}))


def test_the_lifecycle_table_is_what_the_database_enforces():
    import ast

    from rulesvc.config import PROJECT_ROOT

    guards = ("0002_rule_sets_governance", "0005_simulations", "0008_documents_in_order", "0012_unschedule")
    for name in guards:  # each writes the guard; the last one is what the database holds
        source = (PROJECT_ROOT / f"migrations/versions/{name}.py").read_text(encoding="utf-8")
        edges = ast.literal_eval(source[source.index("EDGES = ") + len("EDGES = "):source.index("FROZEN = ")].strip())
        assert frozenset(edges) <= lifecycle.EDGES, name
    assert frozenset(edges) == lifecycle.EDGES
    assert set(lifecycle.steps_from("in_review")) == {lifecycle.Step.APPROVE, lifecycle.Step.REJECT}
    assert set(lifecycle.steps_from("active")) == {lifecycle.Step.RETIRE, lifecycle.Step.UNSCHEDULE}
    assert lifecycle.steps_from("retired") == []


def test_the_database_refuses_an_undeclared_edge(people, app, client):
    v = new_scheme(client, people["A"])
    with app.app_context():
        with pytest.raises(Exception, match="cannot move|不能如此变更"):
            db.session.execute(text("UPDATE scheme_versions SET status = 'active' WHERE id = :id"), {"id": v["id"]})
            db.session.flush()
        db.session.rollback()
        assert db.session.get(SchemeVersion, v["id"]).status == "draft"


def test_a_step_from_the_wrong_state_is_409_with_its_code(people, client):
    v = new_scheme(client, people["A"])
    refused(client.post(f"/api/v1/versions/{v['id']}/approve", headers=people["C"], json={}), 409,
            "version.bad_transition")
    refused(client.post(f"/api/v1/versions/{v['id']}/activate", headers=people["C"],
                        json={"effective_from": "2021-01-01", "confirm_retroactive": True}), 409,
                        "version.bad_transition")


def test_the_list_of_schemes_takes_a_fixed_number_of_queries(people, app, client):
    """Finding 8 (slow reads): no query per scheme or per version — the statement count does not grow."""
    from rulesvc.api.schemes import SchemeSummarySchema

    def count_for_list() -> tuple[int, list]:
        with sql_statements(app) as statements:
            body = ok(client.get("/api/v1/schemes?page_size=500", headers=people["A"]))
        return len(statements), body

    with app.app_context():
        actor = system_actor("tests")
        for i in range(3):
            versions.create_scheme(db.session, actor, code=f"S{i}", name=f"方案{i}", procuratorate="910000",
                                   subject_kind="prosecutor", period_kind="year", document=template_document())
        db.session.commit()
    few, _ = count_for_list()
    with app.app_context():
        for i in range(3, 12):
            versions.create_scheme(db.session, actor, code=f"S{i}", name=f"方案{i}", procuratorate="910000",
                                   subject_kind="prosecutor", period_kind="year", document=template_document())
        for i in range(12):
            versions.create_draft(db.session, actor, f"S{i}")
        db.session.commit()
    many, body = count_for_list()
    assert many <= few <= 8, (few, many)  # the first may also note the key's last use
    assert sum(len(s["versions"]) for s in body) == 24
    assert SchemeSummarySchema(many=True).dump(body) == body  # sent as built: exactly the documented shape


# --- finding 6 and 7: bad input is a 4xx, never a 500; and nothing changes ----------------------------------


def _read_only_and_edit_only_keys(app) -> dict[str, dict[str, str]]:
    from rulesvc.persistence.models import ApiKey
    from rulesvc.services.governance.apikeys import _hash

    headers = {}
    with app.app_context():
        _, token = create_key(db.session, system_actor("tests"), name="reader", procuratorates=["910000"],
                              permissions=["read"])
        headers["reader"] = {"Authorization": f"Bearer {token}"}
        # A key granted edit without read (as keys could be before this check existed), written directly.
        token = "rsk_e0e0e0e0_" + "x" * 43
        db.session.add(ApiKey(name="edit-only", prefix="e0e0e0e0", key_hash=_hash(token), procuratorate_ids=[
            db.session.query(Procuratorate.id).filter_by(code="910000").scalar()], permissions=["edit"]))
        db.session.commit()
        headers["edit_only"] = {"Authorization": f"Bearer {token}"}
    return headers


def test_a_caller_who_may_not_write_gets_403_before_any_validation(people, app, client):
    keys = _read_only_and_edit_only_keys(app)
    for name in ("reader", "edit_only"):
        refused(client.post("/api/v1/schemes", headers=keys[name], json={"code": "bad code!", "name": 7}), 403,
                "permission.read_only")
        refused(client.post("/api/v1/schemes", headers=keys[name], data="{not json",
                            content_type="application/json"), 403, "permission.read_only")
    assert ok(client.get("/api/v1/schemes", headers=keys["reader"])) == []
    # Each language names the key in its own words (an audit read "API 密钥 reader may only read" in English).
    said = refused(client.post("/api/v1/schemes?lang=en", headers=keys["reader"], json={}), 403,
                   "permission.read_only")["message"]
    assert said == "API key reader may only read: no change is allowed", said
    said = refused(client.post("/api/v1/evaluations?lang=en", headers=keys["reader"], json={}), 403,
                   "permission.action")["message"]
    assert said.startswith("API key reader may not ") and "密钥" not in said, said


@pytest.mark.parametrize("raw", [
    '{"code": "X", "document": {"a": NaN}}',
    '{"code": "X", "document": {"a": Infinity}}',
    '{"code": "X", "document": {"a": -Infinity}}',
    '{"code": "X", "document": {"a": 1e999}}',
    "[" * 100_000 + "]" * 100_000,
    '{"a": ' + "[" * 40 + "]" * 40 + "}",
    '{"code": "X", "document": {"a": 1}',  # truncated
    b'{"code": "\xff\xfe"}',
])
def test_hostile_json_bodies_are_400(people, client, raw):
    body = raw if isinstance(raw, bytes) else raw.encode()
    response = client.post("/api/v1/schemes", headers=people["A"], data=body, content_type="application/json")
    refused(response, 400, "request.bad_json")
    assert ok(client.get("/api/v1/schemes", headers=people["A"])) == []


def test_a_body_too_large_is_413_and_a_long_description_is_422(people, client):
    huge = {"code": "X", "name": "x", "procuratorate": "910000", "subject_kind": "prosecutor", "period_kind": "year",
            "document": {"description": "长" * 3_500_000}}
    refused(client.post("/api/v1/schemes", headers=people["A"], json=huge), 413, "request.body_too_large")
    v = new_scheme(client, people["A"])
    doc = template_document()
    doc["description"] = "说明" * 5_000  # 10,000 characters: far more than any description needs
    body = refused(client.put(f"/api/v1/versions/{v['id']}", headers=people["A"],
                              json={"lock_version": v["lock_version"], "document": doc}), 422, "version.document_invalid")
    assert body["field_codes"] == {"document.description": ["field.too_long"]}
    body = refused(client.put(f"/api/v1/versions/{v['id']}", headers=people["A"],
                              json={"lock_version": v["lock_version"], "change_note": "x" * 5000}), 422,
                   "unprocessable_entity")
    again = ok(client.get(f"/api/v1/versions/{v['id']}", headers=people["A"]))
    assert again["lock_version"] == v["lock_version"] and again["change_note"] == ""  # nothing changed


@pytest.mark.parametrize("period", ["2020-13", "99999-01", "", "2020-Q9", "0000", "2020-00", "x" * 300, "2020-1",
                                    "2020-03..2020-01", "2020..2020-02", "-1"])
def test_a_bad_period_on_the_simulation_is_422(people, client, redis_url, period):
    """A period that is not one is refused when the run is asked for (422, nothing created): no run, no
    simulation on the version."""
    v = new_scheme(client, people["A"])
    ok(client.post(f"/api/v1/versions/{v['id']}/submit", headers=people["A"], json={}))
    response = client.post("/api/v1/simulations", headers=people["A"],
                           json={"candidate_version_id": v["id"], "periods": [period]})
    assert response.status_code == 422, response.get_data(as_text=True)
    body = response.get_json()
    if 0 < len(period) <= 20:  # past the request's shape: the service says which period and why
        assert body["error_code"] == "simulation.invalid" and body["field_codes"] == {
            "periods": ["simulation.period_bad"]}, body
    assert ok(client.get("/api/v1/simulations", headers=people["A"])) == []
    assert ok(client.get(f"/api/v1/versions/{v['id']}", headers=people["A"]))["simulation"] is None


@pytest.mark.parametrize("period", ["2099", "2099-12", "2099-Q1", "this month", "last month to this month"])
def test_a_period_not_over_yet_cannot_be_simulated(people, client, redis_url, period):
    """Only a closed period has settled data: one that has not ended is refused on the run (422
    ``simulation.period_open``), and a version without a run cannot be approved (409)."""
    today = localtime.today()
    last = today.replace(day=1) - dt.timedelta(days=1)
    period = {"this month": f"{today:%Y-%m}", "last month to this month": f"{last:%Y-%m}..{today:%Y-%m}"}.get(
        period, period)
    v = new_scheme(client, people["A"])
    ok(client.post(f"/api/v1/versions/{v['id']}/submit", headers=people["A"], json={}))
    body = refused(client.post("/api/v1/simulations", headers=people["A"],
                               json={"candidate_version_id": v["id"], "periods": period}), 422, "simulation.invalid")
    assert set(body["field_codes"]["periods"]) == {"simulation.period_open"}, body
    assert ok(client.get("/api/v1/simulations", headers=people["A"])) == []
    refused(client.post(f"/api/v1/versions/{v['id']}/approve", headers=people["C"], json={}), 409,
            "version.simulation_required")


@pytest.mark.parametrize("page", [2 ** 58, 2 ** 63, 10 ** 30])
def test_an_absurd_page_is_an_empty_page(people, client, page):
    new_scheme(client, people["A"])
    for path in ("/api/v1/audit", "/api/v1/schemes", "/api/v1/procuratorates"):
        response = client.get(f"{path}?page={page}", headers=people["A"])
        assert response.status_code == 200, (path, response.get_data(as_text=True)[:300])
        assert response.get_json() == []


def test_a_draft_only_scheme_above_is_not_found_below(people, app, client):
    """Finding 7: a city's scheme with only drafts is invisible to its counties, by name too."""
    with app.app_context():
        city = actor_for_user(db.session, create_user(db.session, "city-designer", "a long enough password",
                                                      role="designer", procuratorate_id=db.session.query(
                                                          Procuratorate.id).filter_by(code="910100").scalar()))
        versions.create_scheme(db.session, city, code="CITY-DRAFT", name="市院草稿", procuratorate="910100",
                               subject_kind="prosecutor", period_kind="year", document=template_document())
        _, token = create_key(db.session, system_actor("tests"), name="county", procuratorates=["910101"],
                              permissions=["read", "edit"])
        db.session.commit()
    county = {"Authorization": f"Bearer {token}"}
    refused(client.get("/api/v1/schemes/CITY-DRAFT", headers=county), 404, "not_found.scheme")
    refused(client.get("/api/v1/schemes/NO-SUCH-SCHEME", headers=county), 404, "not_found.scheme")
    assert [s["code"] for s in ok(client.get("/api/v1/schemes", headers=county))] == []
    assert ok(client.get("/api/v1/schemes/CITY-DRAFT", headers=people["A"]))["code"] == "CITY-DRAFT"


def _exported_draft(app, directory, code: str):
    """A template draft ``code`` of the province, exported to ``directory``: the path of its version file."""
    from tests.integration.test_rulefiles import add_orgs, export, version_path

    add_orgs(app)
    with app.app_context():
        versions.create_scheme(db.session, system_actor(), code=code, name="模板", procuratorate="910000",
                               subject_kind="prosecutor", period_kind="year", document=template_document())
        db.session.commit()
    export(app, directory)
    return version_path(directory, "910000", code, 1)


def test_rules_files_obey_the_same_limits(app, other_app, tmp_path):
    """Finding (code review): NUL bytes and non-numbers got in through `rules import`; the same checks
    as the API now refuse them, naming the file and the field, and nothing is written."""
    import yaml

    from tests.integration.test_rulefiles import add_orgs, counts, run_import

    path = _exported_draft(app, tmp_path, "T-FILES")
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    data["document"]["description"] = "含有\x00空字符"
    data["document"]["combination"]["base"] = float("nan")
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    add_orgs(other_app)
    before = counts(other_app)
    from rulesvc.errors import InvalidInput

    with pytest.raises(InvalidInput) as info:
        run_import(other_app, tmp_path)
    problems = " ".join(str(m) for m in info.value.errors[str(path)])
    assert "document.description" in problems and "document.combination.base" in problems
    assert counts(other_app) == before


# --- the re-probe's findings (after the first fixes) -------------------------------------------------------


@pytest.mark.parametrize("code", [".", "..", "...", ".hidden", "-x", "_x"])
def test_a_scheme_code_starts_with_a_letter_or_digit(people, client, code):
    """`..` was accepted, then written outside its folder by `rules export` and lost on import."""
    response = client.post("/api/v1/schemes", headers=people["A"], json={
        "code": code, "name": "x", "procuratorate": "910000", "subject_kind": "prosecutor", "period_kind": "year",
        "document": template_document()})
    assert response.status_code == 422, response.get_data(as_text=True)
    assert ok(client.get("/api/v1/schemes", headers=people["A"])) == []


def test_every_text_inside_a_document_is_bounded(people, client):
    doc = template_document()
    first = next(iter(doc["indicators"]))
    doc["indicators"][first]["name"] = "名" * 5000
    body = refused(client.post("/api/v1/schemes", headers=people["A"], json={
        "code": "T", "name": "模板", "procuratorate": "910000", "subject_kind": "prosecutor", "period_kind": "year",
        "document": doc}), 422, "version.document_invalid")
    assert body["field_codes"] == {f"document.indicators.{first}.name": ["field.too_long"]}


def test_rules_import_reads_no_symbolic_link(app, other_app, tmp_path):
    """A version file linked to /etc/shadow had its content echoed in the error messages."""
    from rulesvc.errors import InvalidInput
    from tests.integration.test_rulefiles import add_orgs, run_import

    path = _exported_draft(app, tmp_path, "T-LINK")
    secret = tmp_path / "secret.txt"
    secret.write_text("root:hash-of-the-server:20228:0:99999:7:::\n", encoding="utf-8")
    path.unlink()
    path.symlink_to(secret)
    add_orgs(other_app)
    with pytest.raises(InvalidInput) as info:
        run_import(other_app, tmp_path)
    shown = " ".join(str(m) for ms in info.value.errors.values() for m in ms)
    assert "符号链接" in shown and "hash-of-the-server" not in shown


def test_no_answer_speaks_the_previous_requests_language(people, client):
    """413 and 400 answered in the language of the request before on the same thread."""
    english = {**people["A"], "Accept-Language": "en"}
    chinese = {**people["A"], "Accept-Language": "zh-CN"}
    for _ in range(3):
        body = refused(client.post("/api/v1/schemes", headers=english, data=b"{", content_type="application/json"),
                       400, "request.bad_json")
        assert body["message"].startswith("The request body")
        body = refused(client.post("/api/v1/schemes", headers=chinese, data=b"{", content_type="application/json"),
                       400, "request.bad_json")
        assert body["message"].startswith("请求体")


def test_request_schema_refusals_speak_the_readers_language(people, client):
    """Re-probe: the request schema's 422 answered in English ("Not a valid string.") under Chinese."""
    bad = {"code": "T", "name": 7, "procuratorate": "910000", "subject_kind": "prosecutor", "period_kind": "year",
           "document": {}}
    zh = client.post("/api/v1/schemes", headers=people["A"], json=bad).get_json()
    en = client.post("/api/v1/schemes", headers={**people["A"], "Accept-Language": "en"}, json=bad).get_json()
    assert zh["status"] == en["status"] == "unprocessable_entity"
    assert zh["message"].startswith("请求有误") and zh["errors"]["json"]["name"] == ["应为文本"]
    assert en["message"].startswith("The request is invalid") and en["errors"]["json"]["name"] == ["Not a valid string."]
    # Each field message's kind as a stable code, the same in both languages (machines match on it).
    assert zh["field_codes"] == en["field_codes"] == {"json": {"name": ["field.type"]}}


def test_the_tree_read_once_per_transaction_follows_a_write_in_it(app):
    """The hierarchy is read once per transaction (auth and a card's names share it) — but a transaction
    that adds a procuratorate, by the ORM or by a statement, sees it at once: a scope computed after the
    write covers the new unit."""
    from sqlalchemy import insert

    from rulesvc.services.governance.access import tree_of

    with app.app_context():
        add_tree()
        session = db.session()
        first = tree_of(session)
        assert tree_of(session) is first  # the same transaction: not read again
        root = session.query(Procuratorate).filter_by(code="910000").one()
        session.add(Procuratorate(code="910199", name="新设检察院", level="county", parent_id=root.id))
        session.flush()
        after_flush = tree_of(session)
        new_id = session.query(Procuratorate.id).filter_by(code="910199").scalar()
        assert new_id in after_flush.below([root.id])
        session.execute(insert(Procuratorate).values(code="910198", name="又一新设检察院", level="county",
                                                     parent_id=root.id))
        other = session.query(Procuratorate.id).filter_by(code="910198").scalar()
        assert other in tree_of(session).below([root.id])
        assert tree_of(session).names[other] == {"code": "910198", "name": "又一新设检察院"}
        session.rollback()


def test_rules_import_refuses_yaml_aliases_before_they_expand(app, other_app, tmp_path):
    """Security review (2026-12-07): a 5 KB version file of nested ``&a``/``*a`` lists expanded for minutes of CPU
    before the document's size limit could see it (9 levels: no answer in 2 minutes). Aliases are refused as the
    file is read — in well under a second — naming the file and the line; nothing is written."""
    import time

    from rulesvc.errors import InvalidInput
    from tests.integration.test_rulefiles import add_orgs, counts, run_import

    path = _exported_draft(app, tmp_path, "T-BOMB")
    levels = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    levels += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 10)}]" for i in range(1, 10)]
    text = path.read_text(encoding="utf-8")
    path.write_text("\n".join(levels) + "\n" + text.replace("change_note:", "bomb: *a9\nchange_note:", 1),
                    encoding="utf-8")
    add_orgs(other_app)
    before = counts(other_app)
    started = time.monotonic()
    with pytest.raises(InvalidInput) as info:
        run_import(other_app, tmp_path)
    assert time.monotonic() - started < 5
    shown = " ".join(str(m) for m in info.value.errors[str(path)])
    assert "别名" in shown and "aliases" in shown and "第 2 行" in shown
    assert counts(other_app) == before


def test_a_document_read_from_yaml_refuses_aliases():
    from rulesvc.schema.scheme import DocumentError, read_document

    with pytest.raises(DocumentError) as info:
        read_document("a: &x [1, 2]\nb: *x\n")
    assert "别名" in str(info.value.problems)
    assert read_document("a: &x [1, 2]\nb: [3]\n") == {"a": [1, 2], "b": [3]}  # an anchor alone is harmless
