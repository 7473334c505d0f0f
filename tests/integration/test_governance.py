"""Versions and governance through the service layer, on SQLite and PostgreSQL: the whole loop from a
provincial template to a rebased county localization, immutability through every path, optimistic
locking under concurrent saves, time travel, and the permission matrix (role × action × whose
procuratorate)."""

from __future__ import annotations

import copy
import datetime as dt
import functools
import json
import threading
from typing import Any

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from rulesvc.catalogue import codes_in
from rulesvc.config import PROJECT_ROOT
from rulesvc.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from rulesvc.extensions import db
from rulesvc.persistence.models import AuditRecord, FrozenVersionError, Procuratorate, SchemeVersion
from rulesvc.schema.scheme import content_hash, read_document
from rulesvc.services.dictionary import get_dictionary
from rulesvc.services.governance import audit, versions
from rulesvc.services.governance.access import actor_for_user
from rulesvc.services.passwords import hash_password
from tests.integration.helpers import add_procuratorates, give_events, simulate

MINI = PROJECT_ROOT / "tests" / "data" / "schemes" / "mini.yaml"
TREE = [("910000", "示范省人民检察院", "province", None), ("910100", "东川市人民检察院", "city", "910000"),
        ("910101", "清瑞区人民检察院", "county", "910100"), ("910102", "东湖区人民检察院", "county", "910100"),
        ("910200", "西岭市人民检察院", "city", "910000"), ("910201", "西岭县人民检察院", "county", "910200")]
PASSWORD = "correct horse battery"
THREE_OVERRIDES = [
    {"op": "set", "path": "dimensions.quality.weight", "value": 45, "reason": "本院把考评重心放在办案质量上"},
    {"op": "set", "path": "indicators.plea_rate.scoring.tiers",
     "value": [{"min": 0.92, "points": 10}, {"min": 0.88, "points": 8}, {"min": 0.85, "points": 6}],
     "reason": "本院上年适用率已达 88.8%，省定档位已无区分度"},
    {"op": "disable", "path": "indicators.supervision_points", "reason": "监督数取决于分案，不反映个人努力"},
]


def template_doc() -> dict[str, Any]:
    return read_document(MINI.read_text(encoding="utf-8"))


@pytest.fixture
def org(app) -> dict[str, int]:
    with app.app_context():
        ids = add_procuratorates(TREE)
        db.session.commit()
        return ids


PEOPLE = {  # username: (role, procuratorate)
    "padmin": ("admin", "910000"), "pdesigner": ("designer", "910000"), "previewer": ("reviewer", "910000"),
    "pviewer": ("viewer", "910000"), "cdesigner": ("designer", "910101"), "creviewer": ("reviewer", "910101"),
    "odesigner": ("designer", "910102"), "oreviewer": ("reviewer", "910102"), "citydesigner": ("designer", "910100"),
    "wdesigner": ("designer", "910200"),
}


@functools.cache
def password_hash() -> str:
    return hash_password(PASSWORD)  # scrypt: hashed once, not once per user and test


@pytest.fixture
def people(app, org) -> None:
    from rulesvc.persistence.models import User

    with app.app_context():
        for name, (role, code) in PEOPLE.items():
            db.session.add(User(username=name, password_hash=password_hash(), role=role, procuratorate_id=org[code]))
        db.session.commit()


def actor(name: str, **kw: Any):
    from rulesvc.persistence.models import User

    user = db.session.scalar(select(User).where(User.username == name))
    return actor_for_user(db.session, user, ip="127.0.0.1", client="pytest", **kw)


def publish_template(app, *, doc: dict | None = None, code: str = "TPL", start: dt.date = dt.date(2021, 1, 1)) -> int:
    """The province writes, submits, simulates (a real run on 2020's events), approves and activates a
    template; returns its version id."""
    give_events(app, "2020")
    with app.app_context():
        dictionary = get_dictionary(app.config["RULES_DIR"])
        v = versions.create_scheme(db.session, actor("pdesigner"), code=code, name="示范省检察官考评模板",
                                   procuratorate="910000", subject_kind="prosecutor", period_kind="month",
                                   document=doc or template_doc(), change_note="首版")
        versions.submit(db.session, actor("pdesigner"), v.id, dictionary)
        run = simulate(db.session, actor("pdesigner"), v.id, "2020")
        versions.attach_simulation(db.session, actor("pdesigner"), v.id, run_id=run.id)
        versions.approve(db.session, actor("previewer"), v.id, note="同意")
        versions.activate(db.session, actor("previewer"), v.id, effective_from=start)
        db.session.commit()
        return v.id


# -- the whole loop ----------------------------------------------------------------------------------


def test_the_whole_loop(app, people) -> None:
    tpl1 = publish_template(app)
    give_events(app, "2021-06")  # the province simulates v2 on a month of 2021
    with app.app_context():
        dictionary = get_dictionary(app.config["RULES_DIR"])
        county = actor("cdesigner")
        # The county localizes the template with three overrides, each with a reason.
        loc = versions.localize(db.session, county, parent_version_id=tpl1, procuratorate="910101", code="LOC-910101",
                                name="清瑞区检察官考评方案", overrides=THREE_OVERRIDES, change_note="本地化")
        db.session.commit()
        resolved = versions.resolve(loc)
        assert resolved["dimensions"]["quality"]["weight"] == 45
        assert resolved["indicators"]["supervision_points"]["scored"] is False
        assert resolved["org"] == "910101" and resolved["code"] == "LOC-910101"
        prov = versions.provenance(loc)
        assert prov, "a localization says which parts are local"
        # A broken fix is refused by lint on submit, with the path.
        bad = copy.deepcopy(THREE_OVERRIDES) + [
            {"op": "set", "path": "indicators.plea_rate.formula", "value": "plea / nothing_here", "reason": "试错"}]
        versions.set_overrides(db.session, county, loc.id, lock_version=loc.lock_version, overrides=bad)
        db.session.commit()
        with pytest.raises(InvalidInput) as err:
            versions.submit(db.session, county, loc.id, dictionary)
        db.session.rollback()
        assert any("indicators.plea_rate" in k for k in err.value.errors)
        loc = db.session.get(SchemeVersion, loc.id)
        versions.set_overrides(db.session, county, loc.id, lock_version=loc.lock_version, overrides=THREE_OVERRIDES)
        versions.submit(db.session, county, loc.id, dictionary)
        db.session.commit()
        assert loc.status == "in_review" and loc.content_hash == content_hash(loc.resolved)
        # Rejected with a reason, fixed, submitted again.
        versions.reject(db.session, actor("creviewer"), loc.id, note="请补充停用监督指标的依据")
        db.session.commit()
        assert loc.status == "draft" and loc.content_hash is None and loc.resolved is None  # nothing stale
        fixed = copy.deepcopy(THREE_OVERRIDES)
        fixed[2]["reason"] += "（第四检察部统一组织听证，见院党组会议纪要）"
        versions.set_overrides(db.session, county, loc.id, lock_version=loc.lock_version, overrides=fixed)
        versions.submit(db.session, county, loc.id, dictionary)
        db.session.commit()
        # Approval needs a simulation run of this content on a closed period, and another person.
        with pytest.raises(Conflict) as err:
            versions.approve(db.session, actor("creviewer"), loc.id)
        assert err.value.error_code == "version.simulation_required"
        db.session.rollback()
        with pytest.raises(InvalidInput) as err:  # a period not over yet cannot be simulated
            simulate(db.session, county, loc.id, "2099-01")
        assert err.value.error_code == "simulation.invalid"
        assert codes_in(err.value.errors) == {"periods": ["simulation.period_open"]}
        db.session.rollback()
        run = simulate(db.session, county, loc.id, "2020")
        versions.attach_simulation(db.session, county, loc.id, run_id=run.id)
        db.session.commit()
        assert loc.simulation["run_id"] == run.id and loc.simulation["periods"] == ["2020"]
        assert loc.simulation["content_hash"] == loc.content_hash == run.candidate_hash
        assert loc.simulation["result_hash"] == run.result_hash and run.result_hash
        # By default against the version in force when the period began: the template only took effect
        # in 2021, so in 2020 there is nothing to compare with and the report shows the candidate alone.
        assert run.baseline_version_id is None and run.baseline_choice == "default"
        with pytest.raises(PermissionDenied) as err:
            versions.approve(db.session, county, loc.id)  # the author may not approve
        assert err.value.error_code == "permission.action"  # a designer has no review right at all
        db.session.rollback()
        versions.approve(db.session, actor("creviewer"), loc.id, note="同意")
        assert loc.simulation["run_id"] == run.id and loc.simulation["content_hash"] == loc.content_hash
        versions.activate(db.session, actor("creviewer"), loc.id, effective_from=dt.date(2021, 7, 1))
        db.session.commit()
        loc_v1 = loc.id

        # The province publishes v2: it changes the plea tiers the county overrode, and a weight it did not.
        v2doc = template_doc()
        v2doc["indicators"]["plea_rate"]["scoring"]["tiers"] = [{"min": 0.91, "points": 10}, {"min": 0.86, "points": 8},
                                                                {"min": 0.81, "points": 6}]
        v2doc["dimensions"]["effect"]["weight"] = 35
        pd = actor("pdesigner")
        v2 = versions.create_draft(db.session, pd, "TPL", document=v2doc, change_note="调整认罪认罚档位与效果权重")
        versions.submit(db.session, pd, v2.id, dictionary)
        run2 = simulate(db.session, pd, v2.id, "2021-06")
        versions.approve(db.session, actor("previewer"), v2.id)  # on the newest run of its content
        assert v2.simulation["run_id"] == run2.id and v2.simulation["periods"] == ["2021-06"]
        versions.activate(db.session, actor("previewer"), v2.id, effective_from=dt.date(2022, 1, 1))
        db.session.commit()
        tpl2 = v2.id

        # A rebase follows a newer template: not back onto the one it is on (nor an older one) — audit finding.
        with pytest.raises(Conflict) as err:
            versions.rebase(db.session, county, loc_v1, new_parent_id=tpl1)
        assert err.value.error_code == "version.rebase_not_newer" and "new_parent_id" in err.value.errors
        db.session.rollback()
        # The county rebases: one override carries over; the tiers are a conflict to settle, and so is the county's
        # weight — upstream moved 效果's (the weights are one split: 45/30/35 is asked, not made silently).
        rebased = versions.rebase(db.session, county, loc_v1, new_parent_id=tpl2)
        db.session.commit()
        conflicts = rebased.document["conflicts"]
        assert [(c["path"], c["kind"]) for c in conflicts] == [("dimensions.quality.weight", "weights"),
                                                               ("indicators.plea_rate.scoring.tiers", "changed")]
        with pytest.raises(Conflict) as err:
            versions.submit(db.session, county, rebased.id, dictionary)
        assert err.value.error_code == "version.conflicts_open"
        # each open conflict under its own path, naming it (not conflicts[0], conflicts[1] with the same words)
        (said,) = err.value.errors["indicators.plea_rate.scoring.tiers"]
        assert str(said).startswith("冲突未处理：indicators.plea_rate.scoring.tiers（")
        db.session.rollback()
        rebased = db.session.get(SchemeVersion, rebased.id)
        with pytest.raises(InvalidInput) as edit_without_value:  # "edit" needs the new value
            versions.settle(db.session, county, rebased.id, lock_version=rebased.lock_version,
                            path="indicators.plea_rate.scoring.tiers", choice="edit")
        assert "value" in edit_without_value.value.errors
        versions.settle(db.session, county, rebased.id, lock_version=rebased.lock_version,
                        path="indicators.plea_rate.scoring.tiers", choice="keep", reason="仍按本院档位")
        versions.settle(db.session, county, rebased.id, lock_version=rebased.lock_version,
                        path="dimensions.quality.weight", choice="keep", reason="仍以质量为重")
        db.session.commit()
        assert rebased.document["conflicts"] == []
        out = versions.resolve(rebased)
        assert out["dimensions"]["effect"]["weight"] == 35  # upstream change taken
        assert out["indicators"]["plea_rate"]["scoring"]["tiers"][0]["min"] == 0.92  # local value kept
        versions.submit(db.session, county, rebased.id, dictionary)
        db.session.commit()

        # Drift: the template's descendants and their overrides.
        drift = versions.drift_report(db.session, actor("pdesigner"), tpl2)
        assert [d["scheme"] for d in drift["descendants"]] == ["LOC-910101"]
        assert len(drift["descendants"][0]["overrides"]) == 3

        # Time travel: each date gets the version then in force, and says which.
        p = actor("pviewer")
        assert versions.version_in_effect(db.session, p, "TPL", dt.date(2021, 12, 31)).number == 1
        assert versions.version_in_effect(db.session, p, "TPL", dt.date(2022, 1, 1)).number == 2
        with pytest.raises(NotFound):
            versions.version_in_effect(db.session, p, "TPL", dt.date(2020, 6, 1))

        # The audit log shows every step, in order.
        records, total = audit.list_records(db.session, actor("padmin"), limit=500)
        actions = [r.action for r in reversed(records)]
        for step in ("scheme.create", "version.create", "version.submit", "version.attach_simulation",
                     "version.approve", "version.activate", "version.localize", "version.update", "version.reject",
                     "version.supersede", "version.rebase", "version.settle"):
            assert step in actions, step
        assert actions.count("version.rebase") == 1  # one record per step
        assert all(r.actor and r.at and r.ip == "127.0.0.1" and r.client == "pytest" for r in records)
        reject = next(r for r in records if r.action == "version.reject")
        assert "依据" in reject.summary and reject.actor == "creviewer"
        update = next(r for r in records if r.action == "version.update" and r.diff)
        assert update.diff  # what changed, as a diff


# -- immutability ------------------------------------------------------------------------------------


def test_a_published_version_cannot_change_by_any_path(app, people) -> None:
    vid = publish_template(app)
    with app.app_context():
        v = db.session.get(SchemeVersion, vid)
        before = (copy.deepcopy(v.document), v.content_hash, v.status, v.lock_version)
        # 1. the service
        with pytest.raises(Conflict) as err:
            versions.update_draft(db.session, actor("pdesigner"), vid, lock_version=v.lock_version,
                                  document=template_doc())
        assert err.value.error_code == "version.frozen"
        db.session.rollback()
        # 2. the ORM
        v = db.session.get(SchemeVersion, vid)
        v.change_note = "悄悄改一下"
        with pytest.raises(FrozenVersionError):
            db.session.flush()
        db.session.rollback()
        # 3. SQL, past every Python guard
        for sql in ("UPDATE scheme_versions SET document = :doc WHERE id = :id",
                    "UPDATE scheme_versions SET content_hash = 'x' WHERE id = :id",
                    "UPDATE scheme_versions SET status = 'draft' WHERE id = :id",
                    "UPDATE scheme_versions SET effective_from = '2000-01-01' WHERE id = :id",
                    "DELETE FROM scheme_versions WHERE id = :id"):
            with pytest.raises(DBAPIError):
                with db.engine.begin() as conn:
                    conn.execute(text(sql), {"id": vid, "doc": '{"x": 1}'})
        db.session.expire_all()
        v = db.session.get(SchemeVersion, vid)
        assert (v.document, v.content_hash, v.status, v.lock_version) == before
        # The audit log is append-only.
        n = db.session.scalar(select(text("count(*)")).select_from(AuditRecord))
        for sql in ("UPDATE audit_log SET actor = 'someone else'", "DELETE FROM audit_log"):
            with pytest.raises(DBAPIError):
                with db.engine.begin() as conn:
                    conn.execute(text(sql))
        assert db.session.scalar(select(text("count(*)")).select_from(AuditRecord)) == n


def test_a_version_reads_back_in_the_order_it_was_written(app, people) -> None:
    """Dimensions, metrics and indicators come back in the designer's order on every database — cards,
    pages and exports list them so (PostgreSQL's JSONB would sort keys shortest first: migration 0008)."""
    written = template_doc()
    for part in ("metrics", "indicators"):  # written in neither the alphabetical nor JSONB's (shortest first) order
        keys = list(written[part])
        assert keys != sorted(keys) and keys != sorted(keys, key=lambda k: (len(k), k)), part
    vid = publish_template(app, doc=written)
    with app.app_context():
        db.session.expire_all()
        v = db.session.get(SchemeVersion, vid)
        for part in ("dimensions", "metrics", "indicators"):
            assert list(v.document[part]) == list(written[part]), part
            assert list(v.resolved[part]) == list(written[part]), part


def test_a_draft_can_change_and_counts_its_saves(app, people) -> None:
    with app.app_context():
        d = actor("pdesigner")
        v = versions.create_scheme(db.session, d, code="T", name="模板", procuratorate="910000",
                                   subject_kind="prosecutor", period_kind="month", document=template_doc())
        db.session.commit()
        assert v.lock_version == 1
        doc = template_doc()
        doc["dimensions"]["quality"]["weight"] = 50
        versions.update_draft(db.session, d, v.id, lock_version=1, document=doc)
        db.session.commit()
        assert v.lock_version == 2 and v.document["dimensions"]["quality"]["weight"] == 50
        with pytest.raises(Conflict) as err:
            versions.update_draft(db.session, d, v.id, lock_version=1, document=template_doc())
        assert err.value.details["current"]["lock_version"] == 2  # the 409 carries the current state
        db.session.rollback()


# -- concurrency -------------------------------------------------------------------------------------


def test_two_people_saving_one_draft_get_one_success_and_one_conflict(app, people) -> None:
    with app.app_context():
        v = versions.create_scheme(db.session, actor("pdesigner"), code="T", name="模板", procuratorate="910000",
                                   subject_kind="prosecutor", period_kind="month", document=template_doc())
        db.session.commit()
        vid = v.id
        db.session.remove()
        barrier = threading.Barrier(2)
        outcomes: list[str] = []

        def save(user: str, weight: int) -> None:
            with app.app_context():
                session = Session(db.engine)
                try:
                    from rulesvc.persistence.models import User

                    u = session.scalar(select(User).where(User.username == user))
                    who = actor_for_user(session, u)
                    draft = versions.get_version(session, who, vid)
                    seen = draft.lock_version
                    doc = template_doc()
                    doc["dimensions"]["quality"]["weight"] = weight
                    barrier.wait(timeout=10)  # both have read the draft before either saves
                    versions.update_draft(session, who, vid, lock_version=seen, document=doc)
                    session.commit()
                    outcomes.append("ok")
                except Conflict:
                    session.rollback()
                    outcomes.append("409")
                except Exception as exc:
                    outcomes.append(repr(exc))
                finally:
                    session.close()

        threads = [threading.Thread(target=save, args=("pdesigner", 41)),
                   threading.Thread(target=save, args=("padmin", 42))]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=30)
        assert sorted(outcomes) == ["409", "ok"]
        v = db.session.get(SchemeVersion, vid)
        assert v.lock_version == 2 and v.document["dimensions"]["quality"]["weight"] in (41, 42)


# -- the permission matrix ---------------------------------------------------------------------------

# The county 910101's scheme: who may do what with it. ok / 403 (may see, may not do) / 404 (may not see).
ACTIONS = ("read", "edit", "submit", "approve", "activate", "audit")
MATRIX = {
    "padmin":       ("ok", "ok", "ok", "ok", "ok", "ok"),
    "pdesigner":    ("ok", "ok", "ok", 403, 403, "ok"),
    "previewer":    ("ok", 403, 403, "ok", "ok", "ok"),
    "pviewer":      ("ok", 403, 403, 403, 403, 403),
    "citydesigner": ("ok", "ok", "ok", 403, 403, "ok"),  # the city above the county
    "cdesigner":    ("ok", "ok", "ok", 403, 403, "ok"),  # the county's own designer
    "creviewer":    ("ok", 403, 403, "ok", "ok", "ok"),
    "odesigner":    (404, 404, 404, 404, 404, "none"),  # another county: sees nothing
    "oreviewer":    (404, 404, 404, 404, 404, "none"),
    "wdesigner":    (404, 404, 404, 404, 404, "none"),  # another city
}


def county_version(app, status: str) -> int:
    """A version of the county's scheme, written by an administrator nobody in the matrix is (in review
    or later: with a real simulation run on 2020)."""
    if status != "draft":
        give_events(app, "2020", ["910101"])
    with app.app_context():
        if db.session.scalar(select(text("count(*)")).select_from(text("users")).where(text("username = 'author'"))) == 0:
            from rulesvc.persistence.models import User

            db.session.add(User(username="author", password_hash=password_hash(), role="admin",
                                procuratorate_id=db.session.scalar(
                                    select(Procuratorate.id).where(Procuratorate.code == "910101"))))
            db.session.commit()
        a = actor("author")
        v = versions.create_scheme(db.session, a, code="C", name="县院方案", procuratorate="910101",
                                   subject_kind="prosecutor", period_kind="month", document=template_doc())
        if status != "draft":
            versions.submit(db.session, a, v.id, get_dictionary(app.config["RULES_DIR"]))
            run = simulate(db.session, a, v.id, "2020")
            versions.attach_simulation(db.session, a, v.id, run_id=run.id)
        if status == "approved":
            versions.approve(db.session, actor("padmin"), v.id)
        db.session.commit()
        return v.id


@pytest.mark.parametrize("who", list(MATRIX))
@pytest.mark.parametrize("action", ACTIONS)
def test_permission_matrix(app, people, who: str, action: str) -> None:
    expected = MATRIX[who][ACTIONS.index(action)]
    status = {"approve": "in_review", "activate": "approved"}.get(action, "draft")
    vid = county_version(app, status)
    with app.app_context():
        a = actor(who)
        dictionary = get_dictionary(app.config["RULES_DIR"])
        calls = {
            "read": lambda: versions.get_version(db.session, a, vid),
            "edit": lambda: versions.update_draft(db.session, a, vid, lock_version=1, change_note="改"),
            "submit": lambda: versions.submit(db.session, a, vid, dictionary),
            "approve": lambda: versions.approve(db.session, a, vid),
            "activate": lambda: versions.activate(db.session, a, vid, effective_from=dt.date(2021, 1, 1)),
        }
        if action == "audit":
            if expected == 403:
                with pytest.raises(PermissionDenied):
                    audit.list_records(db.session, a)
                return
            records, _ = audit.list_records(db.session, a)
            assert bool(records) == (expected == "ok")  # other counties see none of this county's records
            return
        if expected == "ok":
            calls[action]()
            db.session.commit()
        else:
            with pytest.raises(PermissionDenied if expected == 403 else NotFound):
                calls[action]()
            db.session.rollback()
            v = db.session.get(SchemeVersion, vid)
            assert v.status == status and v.lock_version == (1 if status == "draft" else v.lock_version)


def test_a_county_cannot_see_another_countys_schemes_in_lists(app, people) -> None:
    county_version(app, "draft")
    with app.app_context():
        assert [s.code for s in versions.list_schemes(db.session, actor("cdesigner"))] == ["C"]
        assert versions.list_schemes(db.session, actor("odesigner")) == []
        with pytest.raises(NotFound):
            versions.get_scheme(db.session, actor("odesigner"), "C")


def test_a_county_reads_the_published_template_but_not_its_drafts(app, people) -> None:
    publish_template(app)
    with app.app_context():
        d = versions.create_draft(db.session, actor("pdesigner"), "TPL", change_note="v2 草稿")
        db.session.commit()
        county = actor("cdesigner")
        scheme = versions.get_scheme(db.session, county, "TPL")
        assert [v.number for v in versions.visible_versions(county, scheme)] == [1]
        with pytest.raises(NotFound):
            versions.get_version(db.session, county, d.id)
        with pytest.raises(PermissionDenied):
            versions.create_draft(db.session, county, "TPL")
        db.session.rollback()


def test_activation_never_overlaps_and_refuses_going_back(app, people) -> None:
    tpl = publish_template(app, start=dt.date(2021, 1, 1))
    with app.app_context():
        pd, pr = actor("pdesigner"), actor("previewer")
        dictionary = get_dictionary(app.config["RULES_DIR"])
        v2 = versions.create_draft(db.session, pd, "TPL")
        versions.submit(db.session, pd, v2.id, dictionary)
        run = simulate(db.session, pd, v2.id, "2020")
        versions.approve(db.session, pr, v2.id, run_id=run.id)
        db.session.commit()
        with pytest.raises(Conflict) as err:
            versions.activate(db.session, pr, v2.id, effective_from=dt.date(2021, 1, 1))
        assert err.value.error_code == "version.effective_overlap"
        db.session.rollback()
        versions.activate(db.session, pr, v2.id, effective_from=dt.date(2021, 4, 1))
        db.session.commit()
        v1 = db.session.get(SchemeVersion, tpl)
        assert v1.effective_to == dt.date(2021, 3, 31)
        versions.retire(db.session, pr, v2.id, effective_to=dt.date(2021, 12, 31))
        db.session.commit()
        assert versions.version_in_effect(db.session, pr, "TPL", dt.date(2021, 6, 1)).number == 2
        with pytest.raises(NotFound):
            versions.version_in_effect(db.session, pr, "TPL", dt.date(2022, 1, 1))


def test_a_localization_comes_into_force_no_earlier_than_the_version_it_is_built_on(app, people) -> None:
    """A county must not apply the province's rules before the province does: its localization of a template
    version in force from 2021-01-01 cannot start in 2020, and one of a version only approved cannot start at all."""
    tpl1 = publish_template(app, start=dt.date(2021, 1, 1))
    with app.app_context():
        dictionary = get_dictionary(app.config["RULES_DIR"])
        county, creviewer = actor("cdesigner"), actor("creviewer")

        def approved_localization(parent_id: int, code: str) -> SchemeVersion:
            loc = versions.localize(db.session, county, parent_version_id=parent_id, procuratorate="910101", code=code,
                                    name="清瑞区检察官考评方案", overrides=THREE_OVERRIDES, change_note="本地化")
            versions.submit(db.session, county, loc.id, dictionary)
            run = simulate(db.session, county, loc.id, "2020")
            versions.attach_simulation(db.session, county, loc.id, run_id=run.id)
            versions.approve(db.session, creviewer, loc.id, note="同意")
            db.session.commit()
            return loc

        loc = approved_localization(tpl1, "LOC-A")
        with pytest.raises(InvalidInput) as err:
            versions.activate(db.session, creviewer, loc.id, effective_from=dt.date(2020, 6, 1))
        assert err.value.error_code == "version.before_parent"
        assert "示范省检察官考评模板 第 1 版自 2021-01-01 起生效" in err.value.errors["effective_from"][0].render("zh")
        db.session.rollback()
        assert db.session.get(SchemeVersion, loc.id).status == "approved"  # nothing changed
        versions.activate(db.session, creviewer, loc.id, effective_from=dt.date(2021, 1, 1))
        db.session.commit()

        # Template version 2 approved but not yet given a date: a localization of it waits for that date.
        pd, pr = actor("pdesigner"), actor("previewer")
        v2 = versions.create_draft(db.session, pd, "TPL")
        versions.submit(db.session, pd, v2.id, dictionary)
        versions.approve(db.session, pr, v2.id, run_id=simulate(db.session, pd, v2.id, "2020").id)
        db.session.commit()
        loc2 = approved_localization(v2.id, "LOC-B")
        with pytest.raises(InvalidInput) as err:
            versions.activate(db.session, creviewer, loc2.id, effective_from=dt.date(2030, 1, 1))
        assert err.value.error_code == "version.parent_not_in_force"
        db.session.rollback()
        versions.activate(db.session, pr, v2.id, effective_from=dt.date(2022, 1, 1))
        versions.activate(db.session, creviewer, loc2.id, effective_from=dt.date(2022, 1, 1))
        db.session.commit()
        assert versions.version_in_effect(db.session, creviewer, "LOC-B", dt.date(2022, 1, 1)).id == loc2.id


def test_a_go_live_still_ahead_is_taken_back_and_the_version_before_stays_in_force(app, people) -> None:
    """Noticed in an audit (2026-12-06), fixed 2026-12-07: a version put in force from a later date could not be
    withdrawn before that date (停用 refused a last day before its first; the guards allowed no way back), and the
    version it was to replace had already been given its last day. 撤销生效安排 takes it back — not once it has
    started, not while a county's localization of it is set to follow, and never without a reason."""
    from rulesvc.services import localtime

    tpl1 = publish_template(app, start=dt.date(2021, 1, 1))
    today = localtime.today()
    soon, later = today + dt.timedelta(days=30), today + dt.timedelta(days=60)
    with app.app_context():
        dictionary = get_dictionary(app.config["RULES_DIR"])
        pr, county, creviewer = actor("previewer"), actor("cdesigner"), actor("creviewer")
        v2 = next_template(dictionary, template_doc(), "第二版", dt.date(2022, 1, 1))
        v3 = next_template(dictionary, template_doc(), "第三版", soon)
        assert db.session.get(SchemeVersion, v2).effective_to == soon - dt.timedelta(days=1)
        loc = versions.localize(db.session, county, parent_version_id=v3, procuratorate="910101", code="LOC-A",
                                name="清瑞区检察官考评方案", overrides=THREE_OVERRIDES, change_note="本地化")
        versions.submit(db.session, county, loc.id, dictionary)
        versions.approve(db.session, creviewer, loc.id, run_id=simulate(db.session, county, loc.id, "2020").id)
        versions.activate(db.session, creviewer, loc.id, effective_from=soon)
        db.session.commit()
        loc_id = loc.id

        def refused(exc_type, version_id: int, note: str = "误排生效日期") -> Any:
            with pytest.raises(exc_type) as err:
                versions.unschedule(db.session, pr if version_id != loc_id else creviewer, version_id, note=note)
            db.session.rollback()
            return err.value

        # The county's localization of it is set to follow: taken back first, named.
        err = refused(Conflict, v3)
        assert err.error_code == "version.unschedule_children"
        assert "清瑞区检察官考评方案 第 1 版（" + soon.isoformat() + "）" in err.msg.render("zh")
        assert refused(InvalidInput, loc_id, note="  ").error_code == "version.unschedule_needs_note"
        versions.unschedule(db.session, creviewer, loc_id, note="上级版本改期")
        db.session.commit()
        loc = db.session.get(SchemeVersion, loc_id)
        assert (loc.status, loc.effective_from, loc.effective_to) == ("approved", None, None)

        versions.unschedule(db.session, pr, v3, note="误排生效日期")
        db.session.commit()
        three, two = db.session.get(SchemeVersion, v3), db.session.get(SchemeVersion, v2)
        assert (three.status, three.effective_from, three.effective_to, three.activated_at) == ("approved", None, None,
                                                                                                  None)
        assert two.status == "active" and two.effective_to is None  # in force again, with no end
        assert versions.version_in_effect(db.session, pr, "TPL", later).id == v2
        records = {r.action: r for r in db.session.scalars(select(AuditRecord).where(  # the latest of each action
            AuditRecord.action.in_(("version.unschedule", "version.resume"))).order_by(AuditRecord.id))}
        assert records["version.unschedule"].detail["note"] == "误排生效日期"
        assert records["version.unschedule"].detail["effective_from"] == soon.isoformat()
        assert f"原定 {soon.isoformat()} 起生效" in records["version.unschedule"].summary
        assert records["version.resume"].version_id == v2 and "继续生效" in records["version.resume"].summary

        # Approved again: put in force from another date, the version before ends the day before that one.
        versions.activate(db.session, pr, v3, effective_from=later)
        db.session.commit()
        assert db.session.get(SchemeVersion, v2).effective_to == later - dt.timedelta(days=1)
        # 停用 of a version still to come says what to do instead (and keeps a date on or after its first day).
        with pytest.raises(InvalidInput) as err:
            versions.retire(db.session, pr, v3)
        db.session.rollback()
        assert err.value.error_code == "version.retire_scheduled" and "撤销生效安排" in err.value.msg.render("zh")
        # Once its first day has come, a version only ends: version 2 has been in force since 2022.
        err = refused(Conflict, v2)
        assert err.error_code == "version.unschedule_started" and "2022-01-01" in err.msg.render("zh")
        assert refused(Conflict, tpl1).error_code == "version.unschedule_started"

        # The database holds the same line: a started version cannot go back, an end already past never moves,
        # an end still ahead never comes earlier.
        for sql, params in (
                ("UPDATE scheme_versions SET status = 'approved', effective_from = NULL, effective_to = NULL "
                 "WHERE id = :id", {"id": v2}),
                ("UPDATE scheme_versions SET effective_to = NULL WHERE id = :id", {"id": tpl1}),
                ("UPDATE scheme_versions SET effective_to = :d WHERE id = :id",
                 {"id": v2, "d": later - dt.timedelta(days=2)}),
                ("UPDATE scheme_versions SET status = 'approved', effective_from = :d WHERE id = :id",
                 {"id": v3, "d": later})):
            with pytest.raises(DBAPIError, match="不能如此变更|不可修改"):
                db.session.execute(text(sql), params)
                db.session.flush()
            db.session.rollback()
        assert db.session.get(SchemeVersion, tpl1).effective_to == dt.date(2021, 12, 31)


def test_a_retired_version_still_in_force_keeps_its_days(app, people) -> None:
    """A go-live audit (2026-12-07): with version 2 set for a later date, 停用 of version 1 before the day version 2
    takes over crashed (500: the guard refused the moved end); retired up to that day, version 1 read as not in force
    ("今日无生效版本") though evaluations used it; and once version 2 was taken back, version 2 could be put in force
    from a day version 1 still covered — two versions in force on the same days."""
    from rulesvc.services import localtime

    tpl1 = publish_template(app, start=dt.date(2021, 1, 1))
    today = localtime.today()
    soon = today + dt.timedelta(days=30)
    with app.app_context():
        dictionary = get_dictionary(app.config["RULES_DIR"])
        pr = actor("previewer")
        v2 = next_template(dictionary, template_doc(), "第二版", soon)
        end = soon - dt.timedelta(days=1)
        for last_day in (None, today + dt.timedelta(days=3)):  # today (the default) or any day before version 2's
            with pytest.raises(InvalidInput) as err:
                versions.retire(db.session, pr, tpl1, effective_to=last_day)
            db.session.rollback()
            assert err.value.error_code == "version.retire_before_successor"
            assert f"第 1 版定于 {end} 停止生效，由自 {soon} 起生效的第 2 版接替" in err.value.msg.render("zh")
        versions.retire(db.session, pr, tpl1, effective_to=end)  # on the day it ends anyway: retired, dates kept
        db.session.commit()
        one = db.session.get(SchemeVersion, tpl1)
        assert (one.status, one.effective_to) == ("retired", end)
        assert versions.scheme_view(one.scheme, pr)["in_force"] == 1  # retired, yet in force until its last day
        assert versions.version_in_effect(db.session, pr, "TPL", today).id == tpl1
        versions.unschedule(db.session, pr, v2, note="改期")
        db.session.commit()
        assert db.session.get(SchemeVersion, tpl1).effective_to == end  # retired: not extended
        for day in (today + dt.timedelta(days=1), end):
            with pytest.raises(Conflict) as err:
                versions.activate(db.session, pr, v2, effective_from=day)
            db.session.rollback()
            assert err.value.error_code == "version.effective_overlap_retired"
            assert f"第 1 版已停用，但生效至 {end}：新版本的生效日期须晚于该日（{soon} 或以后）。" == \
                err.value.msg.render("zh")
        versions.activate(db.session, pr, v2, effective_from=soon)
        db.session.commit()
        assert versions.version_in_effect(db.session, pr, "TPL", end).id == tpl1
        assert versions.version_in_effect(db.session, pr, "TPL", soon).id == v2


def next_template(dictionary, doc: dict[str, Any], note: str, start: dt.date) -> int:
    """The province's next template version with ``doc``: submitted, simulated on 2020, approved, put in force
    from ``start`` (in the caller's app context); its id."""
    pd, pr = actor("pdesigner"), actor("previewer")
    v = versions.create_draft(db.session, pd, "TPL", document=doc, change_note=note)
    versions.submit(db.session, pd, v.id, dictionary)
    versions.approve(db.session, pr, v.id, run_id=simulate(db.session, pd, v.id, "2020").id)
    versions.activate(db.session, pr, v.id, effective_from=start)
    db.session.commit()
    return v.id


def county_localization(template_id: int, code: str) -> SchemeVersion:
    """清瑞区's draft localization ``code`` of the template version, with the three overrides."""
    return versions.localize(db.session, actor("cdesigner"), parent_version_id=template_id, procuratorate="910101",
                             code=code, name="清瑞区检察官考评方案", overrides=THREE_OVERRIDES, change_note="本地化")


def test_keeping_a_local_value_the_version_above_now_has_leaves_no_local_change(app, people) -> None:
    """A designer audit (2026-12-07): the province raised 质量 to 45, the county's own value; 保留本地 kept an override
    "45 → 45" that the drift report then counted as a deviation. Kept, it is no change: it is dropped."""
    tpl1 = publish_template(app, start=dt.date(2021, 1, 1))
    with app.app_context():
        dictionary, county = get_dictionary(app.config["RULES_DIR"]), actor("cdesigner")
        loc = county_localization(tpl1, "LOC-K")
        doc2 = template_doc()
        doc2["dimensions"]["quality"]["weight"] = 45
        v2 = next_template(dictionary, doc2, "质量权重 45", dt.date(2022, 1, 1))
        rebased = versions.rebase(db.session, county, loc.id, new_parent_id=v2)
        db.session.commit()
        assert [c["path"] for c in rebased.document["conflicts"]] == ["dimensions.quality.weight"]
        versions.settle(db.session, county, rebased.id, lock_version=rebased.lock_version,
                        path="dimensions.quality.weight", choice="keep", reason="仍以质量为重")
        db.session.commit()
        assert not any(o["path"] == "dimensions.quality.weight" for o in rebased.document["overrides"])
        assert versions.resolve(rebased)["dimensions"]["quality"]["weight"] == 45


def test_a_draft_with_open_conflicts_does_not_follow_a_newer_version_above(app, people) -> None:
    """A designer audit (2026-12-07): a draft with three open conflicts followed template version 4; one conflict
    vanished — its local value was carried as if decided. Refused now (409, naming the draft and the count); settled,
    it follows."""
    tpl1 = publish_template(app, start=dt.date(2021, 1, 1))
    with app.app_context():
        dictionary, county = get_dictionary(app.config["RULES_DIR"]), actor("cdesigner")
        loc = county_localization(tpl1, "LOC-C")

        def template(tiers_min: float, start: dt.date) -> int:
            doc = template_doc()
            doc["indicators"]["plea_rate"]["scoring"]["tiers"][0]["min"] = tiers_min
            return next_template(dictionary, doc, f"档位 {tiers_min}", start)

        v2 = template(0.88, dt.date(2022, 1, 1))
        rebased = versions.rebase(db.session, county, loc.id, new_parent_id=v2)
        db.session.commit()
        assert [c["path"] for c in rebased.document["conflicts"]] == ["indicators.plea_rate.scoring.tiers"]
        v3 = template(0.87, dt.date(2023, 1, 1))
        with pytest.raises(Conflict) as err:
            versions.rebase(db.session, county, rebased.id, new_parent_id=v3)
        assert err.value.error_code == "version.rebase_conflicts_open"
        assert "还有 1 处冲突未处理" in err.value.errors["new_parent_id"][0].render("zh")
        db.session.rollback()
        rebased = db.session.get(SchemeVersion, rebased.id)
        versions.settle(db.session, county, rebased.id, lock_version=rebased.lock_version,
                        path="indicators.plea_rate.scoring.tiers", choice="keep", reason="仍按本院档位")
        db.session.commit()
        again = versions.rebase(db.session, county, rebased.id, new_parent_id=v3)
        db.session.commit()
        assert [c["path"] for c in again.document["conflicts"]] == ["indicators.plea_rate.scoring.tiers"]


# -- time travel from the command line ---------------------------------------------------------------


def test_evaluate_by_scheme_code_uses_the_version_in_force_then(demo_app) -> None:
    """``rulesvc evaluate --scheme CODE`` scores January with version 1 and February with version 2,
    and says which. (Adds a scheme of its own to the shared demo database; nothing else reads schemes.)"""
    from rulesvc.persistence.models import Prosecutor
    from rulesvc.services.governance.access import ACTIONS, Actor, system_actor

    code = f"TT-{demo_app.config['SQLALCHEMY_DATABASE_URI'][-6:]}".replace("/", "-").replace(":", "-")
    reviewer = Actor(ref="system:reviewer", name="审核员", actions=frozenset(ACTIONS), scope=None)
    with demo_app.app_context():
        dictionary = get_dictionary(demo_app.config["RULES_DIR"])
        author = system_actor("test")
        v1 = versions.create_scheme(db.session, author, code=code, name="时间旅行", procuratorate="910000",
                                    subject_kind="prosecutor", period_kind="month", document=template_doc())
        doc2 = template_doc()
        doc2["combination"]["base"] = 70  # version 2 gives everyone 10 points less at the base
        versions.submit(db.session, author, v1.id, dictionary)
        run = simulate(db.session, author, v1.id, "2020-01")  # the demo's events
        versions.approve(db.session, reviewer, v1.id, run_id=run.id)
        versions.activate(db.session, reviewer, v1.id, effective_from=dt.date(2020, 1, 1))
        v2 = versions.create_draft(db.session, author, code, document=doc2)
        versions.submit(db.session, author, v2.id, dictionary)
        run = simulate(db.session, author, v2.id, "2020-01")
        assert run.baseline_version_id == v1.id  # against the version in force then
        versions.approve(db.session, reviewer, v2.id, run_id=run.id)
        versions.activate(db.session, reviewer, v2.id, effective_from=dt.date(2020, 2, 1))
        db.session.commit()
        ids = v1.id, v2.id
        subject = db.session.scalar(select(Prosecutor.code).order_by(Prosecutor.id).limit(1))
    runner = demo_app.test_cli_runner()
    jan = runner.invoke(args=["evaluate", "--scheme", code, "--subject", subject, "--period", "2020-01", "--json"])
    feb = runner.invoke(args=["evaluate", "--scheme", code, "--subject", subject, "--period", "2020-02", "--json"])
    assert jan.exit_code == 0 and feb.exit_code == 0, (jan.output, feb.output)
    assert "第 1 版" in jan.stderr and "第 2 版" in feb.stderr
    j, f = json.loads(jan.stdout), json.loads(feb.stdout)
    with demo_app.app_context():
        assert j["scheme_hash"] == db.session.get(SchemeVersion, ids[0]).content_hash
        assert f["scheme_hash"] == db.session.get(SchemeVersion, ids[1]).content_hash
    gone = runner.invoke(args=["evaluate", "--scheme", code, "--subject", subject, "--period", "2019-12"])
    assert gone.exit_code != 0 and "没有在 2019-12-01 生效的版本" in gone.output


def test_a_county_scheme_scores_only_that_county(demo_app) -> None:
    """A scheme of 910101 ranks 910101's prosecutors — its quota and peer averages are among them — and
    refuses, by name, to score a prosecutor of another procuratorate."""
    from rulesvc.persistence.models import Procuratorate, Prosecutor

    county = str(PROJECT_ROOT / "rules" / "localizations" / "910101" / "SFS-PROSECUTOR-910101.overrides.yaml")
    with demo_app.app_context():
        rows = db.session.execute(select(Prosecutor.code, Procuratorate.code).join(
            Procuratorate, Procuratorate.id == Prosecutor.procuratorate_id)).all()
    inside = sorted(p for p, org in rows if org == "910101")
    outside = next(p for p, org in rows if org != "910101")
    assert inside, "the demo has prosecutors in 910101"
    runner = demo_app.test_cli_runner()
    ranked = runner.invoke(args=["rank", "--scheme", county, "--period", "2020"])
    assert ranked.exit_code == 0, ranked.output
    import re

    counts = re.search(r"参加考评 (\d+) 人：.*；不参加等次评定 (\d+) 人；不参加考评 (\d+) 人", ranked.output)
    assert counts and sum(map(int, counts.groups())) == len(inside), ranked.output
    wrong = runner.invoke(args=["evaluate", "--scheme", county, "--subject", outside, "--period", "2020"])
    assert wrong.exit_code != 0 and "不在方案 SFS-PROSECUTOR-910101 的适用范围内" in wrong.output
    right = runner.invoke(args=["evaluate", "--scheme", county, "--subject", inside[0], "--period", "2020"])
    assert right.exit_code == 0, right.output


def test_rank_by_department_names_each_rows_department(demo_app, tmp_path) -> None:
    """``rulesvc rank --group department``: places count within a department, so two first places on one page
    must read as two departments — every row names its department (部门), and the places restart in each."""
    import csv

    county = str(PROJECT_ROOT / "rules" / "localizations" / "910101" / "SFS-PROSECUTOR-910101.overrides.yaml")
    out = tmp_path / "rank.csv"
    ranked = demo_app.test_cli_runner().invoke(
        args=["rank", "--scheme", county, "--period", "2020", "--group", "department", "--csv", str(out)])
    assert ranked.exit_code == 0, ranked.output
    assert "部门" in ranked.output.splitlines()[3]  # the table's header
    with open(out, encoding="utf-8-sig") as fh:
        rows = [r for r in csv.DictReader(fh) if r["名次"]]
    firsts = [r["部门"] for r in rows if r["名次"] == "1"]
    assert len(firsts) >= 2 and len(set(firsts)) == len(firsts) and all(firsts), firsts
    by_dept: dict[str, list[int]] = {}
    for r in rows:
        by_dept.setdefault(r["部门"], []).append(int(r["名次"]))
    assert all(min(places) == 1 for places in by_dept.values()), by_dept
