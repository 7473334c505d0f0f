"""Who may use which page and button of the admin (issue 12, "Done when": a test per role), through the real app on
SQLite and PostgreSQL. For each role — a viewer, the designer of a county, the designer of another county, a
reviewer, an administrator, and someone not signed in — the buttons the role may not use are absent from the pages
it may read, and the URLs behind them answer 403 (or 404 when the thing is invisible to the person: another
county's draft, exactly as one that does not exist; and the sign-in page for someone not signed in), across the
new pages: the editor, localize, preview, live impact, submit / approve / reject / activate / retire, simulations
(launch, cancel), the diff, 考评结果, 导入, 用户, API 密钥, 审计日志. Nothing a refused request asked for happens
(the versions' states and the audit log are checked after each role's round)."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from rulesvc.extensions import db
from rulesvc.persistence.models import AuditRecord, SchemeVersion
from rulesvc.services.governance import versions
from rulesvc.services.governance.access import system_actor
from tests.integration.helpers import simulation_run
from tests.integration.test_admin import csrf_token
from tests.integration.test_admin_designer import PASSWORD, _actor, signed_in, world  # noqa: F401 (fixture)
from tests.integration.test_admin_designer_workflow import _add_admin

pytestmark = pytest.mark.sqlite_only  # the services under these pages run on both databases

LOC = "/admin/schemes/LOC-910101/1/"  # 清瑞区's localization draft (cdesigner's)
TPL1 = "/admin/schemes/TPL/1/"  # the template in force
TPL2 = "/admin/schemes/TPL/2/"  # the province's next version, in review (simulated)


@pytest.fixture
def roles_world(app, world):  # noqa: F811
    """``world`` plus: the template's v2 simulated and in review; a simulation of 清瑞区's draft; an administrator."""
    from rulesvc.services.dictionary import get_dictionary

    _add_admin(app, "padmin")
    with app.app_context():
        v2 = versions.scheme_version(db.session, system_actor("tests"), "TPL", 2)
        loc = versions.scheme_version(db.session, system_actor("tests"), "LOC-910101", 1)
        ids = {"tpl2": v2.id, "loc": loc.id}
        db.session.remove()
    simulation_run(app, ids["tpl2"], "2020")
    ids["loc_run"] = simulation_run(app, ids["loc"], "2020")
    with app.app_context():
        versions.submit(db.session, _actor("pdesigner"), ids["tpl2"], get_dictionary(app.config["RULES_DIR"]))
        db.session.commit()
        db.session.remove()
    return ids


def _state(app) -> tuple[dict[str, str], int]:
    """Every version's status and the number of audit records: what a refused request must leave as it was."""
    with app.app_context():
        rows = db.session.execute(select(SchemeVersion.id, SchemeVersion.status, SchemeVersion.lock_version)).all()
        audit = db.session.scalar(select(func.count()).select_from(AuditRecord))
        db.session.remove()
    return {str(r.id): f"{r.status}/{r.lock_version}" for r in rows}, audit


def _gets(ids: dict[str, int]) -> dict[str, str]:
    run = ids["loc_run"]
    return {
        "schemes": "/admin/schemes/",
        "template": TPL1,
        "loc version": LOC,
        "loc editor": f"{LOC}edit/",
        "loc indicator form": f"{LOC}edit/indicators/plea_rate/",
        "loc new indicator": f"{LOC}edit/new-indicator/",
        "loc new count": f"{LOC}edit/new-metric/",
        "loc yaml": f"{LOC}edit/yaml/",
        "loc preview": f"{LOC}preview/",
        "loc impact": f"{LOC}edit/impact/",
        "loc simulations": f"{LOC}simulations/",
        "loc run": f"{LOC}simulations/{run}/",
        "loc diff": f"{LOC}diff/",
        "tpl2 version": TPL2,
        "tpl2 diff": f"{TPL2}diff/",
        "results": "/admin/results/?scheme=TPL&period=2021-01",
        "import": "/admin/import/",
        "users": "/admin/users/",
        "new user": "/admin/users/new/",
        "api keys": "/admin/apikeys/",
        "audit": "/admin/audit/",
    }


def _posts(ids: dict[str, int]) -> dict[str, tuple[str, dict[str, str]]]:
    run = ids["loc_run"]
    return {
        "localize": (f"{TPL1}localize/", {}),
        "revise": (f"{TPL1}revise/", {}),
        "save weights": (f"{LOC}edit/weights/", {"weight.quality": "50", "reason": "试探"}),
        "switch off": (f"{LOC}edit/indicators/plea_rate/switch/", {"on": "0", "reason": "试探"}),
        "impact": (f"{LOC}edit/impact/", {"impact_part": "weights", "weight.quality": "50"}),
        "submit": (f"{LOC}submit/", {"change_note": "试探"}),
        "launch simulation": (f"{LOC}simulations/", {"baseline": "default", "periods": "2020"}),
        "cancel simulation": (f"{LOC}simulations/{run}/cancel/", {}),
        "approve": (f"{TPL2}approve/", {"note": "试探"}),
        "reject": (f"{TPL2}reject/", {"note": "试探"}),
        "activate": (f"{TPL1}activate/", {"effective_from": "2030-01-01"}),
        "retire": (f"{TPL1}retire/", {}),
        "create user": ("/admin/users/new/", {"username": "probe_user", "password": "probe password 0123",
                                              "role": "viewer"}),
        "create api key": ("/admin/apikeys/", {"name": "probe"}),
        "upload": ("/admin/import/upload/", {}),
    }


NAV = {"users": "/admin/users/", "api keys": "/admin/apikeys/", "import": "/admin/import/", "audit": "/admin/audit/"}


def _token(client) -> str:
    return csrf_token(client.get("/admin/", follow_redirects=True).get_data(as_text=True))


def _answers(client, ids, gets: dict[str, int], posts: dict[str, int]) -> None:
    """Each GET and POST named answers as expected (and the whole world stays as it was after the refused POSTs)."""
    urls, forms = _gets(ids), _posts(ids)
    got = {name: client.get(urls[name]).status_code for name in gets}
    assert got == gets, {k: (v, gets[k]) for k, v in got.items() if v != gets[k]}
    token = _token(client)
    got = {name: client.post(forms[name][0], data={"csrf_token": token, **forms[name][1]}).status_code
           for name in posts}
    assert got == posts, {k: (v, posts[k]) for k, v in got.items() if v != posts[k]}


def _has(html: str, *marks: str) -> dict[str, bool]:
    return {m: m in html for m in marks}


def _button(id_: str) -> str:
    return f'id="{id_}"'


def _nav(html: str) -> set[str]:
    """The administration pages the navbar offers."""
    return {name for name, url in NAV.items() if f'href="{url}"' in html}


LOCALIZE = ' localize" title="'  # the button: 为本院本地化, or 修订本院本地化方案 once the county has one
EDITING = ("loc editor", "loc indicator form", "loc new indicator", "loc new count", "loc yaml", "loc impact")
MANAGING = ("users", "new user", "api keys")
REFUSED_EVERYWHERE = {"create user": 403, "create api key": 403, "upload": 403}


@pytest.fixture
def sysadmin(app):
    """An administrator of the whole province (no procuratorate: the import's operator)."""
    from rulesvc.persistence.models import User
    from rulesvc.services.passwords import hash_password

    with app.app_context():
        db.session.add(User(username="sysadmin", password_hash=hash_password(PASSWORD), role="admin",
                            procuratorate_id=None, display_name="系统管理员"))
        db.session.commit()
        db.session.remove()
    return "sysadmin"


def test_someone_not_signed_in_is_sent_to_the_sign_in_page_and_changes_nothing(app, roles_world):
    client = app.test_client()
    before = _state(app)
    for name, url in _gets(roles_world).items():
        r = client.get(url)
        assert r.status_code == 302 and "/admin/login/?next=" in r.headers["Location"], (name, r.status_code)
    token = csrf_token(client.get("/admin/login/").get_data(as_text=True))
    for name, (url, data) in _posts(roles_world).items():
        r = client.post(url, data={"csrf_token": token, **data})
        assert r.status_code == 302 and "/admin/login/" in r.headers["Location"], (name, r.status_code)
    assert _state(app) == before
    assert not _nav(client.get("/admin/login/").get_data(as_text=True))


def test_a_viewer_reads_but_has_no_designer_reviewer_or_administration_buttons(app, roles_world):
    client = signed_in(app, "cviewer")
    before = _state(app)
    _answers(client, roles_world, gets={
        "schemes": 200, "template": 200, "loc version": 200, "loc preview": 200, "loc simulations": 200,
        "loc run": 200, "loc diff": 200, "results": 200, **dict.fromkeys(EDITING, 403),
        "tpl2 version": 404, "tpl2 diff": 404,  # the province's version in review: not published, not its tree
        "import": 403, **dict.fromkeys(MANAGING, 403), "audit": 403,
    }, posts={
        "localize": 403, "save weights": 403, "switch off": 403, "impact": 403, "submit": 403,
        "launch simulation": 403, "cancel simulation": 403, "approve": 404, "reject": 404, "activate": 403,
        "retire": 403, "revise": 403, **REFUSED_EVERYWHERE,
    })
    assert _state(app) == before
    assert not _has(client.get("/admin/schemes/").get_data(as_text=True), LOCALIZE)[LOCALIZE]
    loc = client.get(LOC).get_data(as_text=True)
    assert not any(_has(loc, *(_button(b) for b in ("edit-draft", "submit-button", "approve-button", "reject-button",
                                                    "activate-button", "retire-button"))).values())
    tpl = client.get(TPL1).get_data(as_text=True)
    assert not any(_has(tpl, _button("localize"), _button("retire-button"), _button("activate-button")).values())
    assert _button("start-simulation") not in client.get(f"{LOC}simulations/").get_data(as_text=True)
    assert _button("impact-panel") not in client.get(f"{LOC}preview/").get_data(as_text=True)
    assert _nav(client.get("/admin/").get_data(as_text=True)) == set()
    # A provincial viewer sees the province's version in review, without the reviewer's buttons.
    pviewer = signed_in(app, "pviewer")
    tpl2 = page_of(pviewer, TPL2)
    assert _button("approve-button") not in tpl2 and _button("reject-button") not in tpl2
    assert pviewer.post(f"{TPL2}approve/", data={"csrf_token": _token(pviewer), "note": "试探"}).status_code == 403
    assert _state(app) == before


def test_the_county_designer_edits_its_draft_but_may_not_review_activate_or_administer(app, roles_world):
    client = signed_in(app, "cdesigner")
    before = _state(app)
    _answers(client, roles_world, gets={
        "schemes": 200, "template": 200, "loc version": 200, **dict.fromkeys(EDITING, 200), "loc preview": 200,
        "loc simulations": 200, "loc run": 200, "loc diff": 200, "results": 200, "audit": 200,
        "tpl2 version": 404, "tpl2 diff": 404, "import": 403, **dict.fromkeys(MANAGING, 403),
    }, posts={"approve": 404, "reject": 404, "activate": 403, "retire": 403, "revise": 403, **REFUSED_EVERYWHERE})
    assert _state(app) == before
    assert LOCALIZE in client.get("/admin/schemes/").get_data(as_text=True)
    loc = page_of(client, LOC)
    assert _button("edit-draft") in loc and _button("submit-button") in loc
    assert not any(_has(loc, *(_button(b) for b in ("approve-button", "reject-button", "activate-button",
                                                    "retire-button"))).values())
    tpl = page_of(client, TPL1)
    assert _button("retire-button") not in tpl and _button("activate-button") not in tpl
    assert _button("start-simulation") in page_of(client, f"{LOC}simulations/")
    assert _nav(page_of(client, "/admin/")) == {"audit"}


def test_the_designer_of_another_county_finds_nothing_of_the_county(app, roles_world):
    client = signed_in(app, "odesigner")
    before = _state(app)
    invisible = [k for k in _gets(roles_world) if k.startswith(("loc ", "tpl2 "))]
    _answers(client, roles_world, gets={
        "schemes": 200, "template": 200, "results": 200, "audit": 200, **dict.fromkeys(invisible, 404),
        "import": 403, **dict.fromkeys(MANAGING, 403),
    }, posts={
        "save weights": 404, "switch off": 404, "impact": 404, "submit": 404, "launch simulation": 404,
        "cancel simulation": 404, "approve": 404, "reject": 404, "activate": 403, "retire": 403,
        **REFUSED_EVERYWHERE,
    })
    assert _state(app) == before
    assert "LOC-910101" not in page_of(client, "/admin/schemes/")
    assert client.get("/admin/results/?scheme=LOC-910101").status_code == 404
    assert _nav(page_of(client, "/admin/")) == {"audit"}


def test_a_reviewer_approves_and_activates_but_does_not_edit_simulate_or_administer(app, roles_world):
    client = signed_in(app, "previewer")
    before = _state(app)
    _answers(client, roles_world, gets={
        "schemes": 200, "template": 200, "loc version": 200, "loc preview": 200, "loc simulations": 200,
        "loc run": 200, "loc diff": 200, "tpl2 version": 200, "tpl2 diff": 200, "results": 200, "audit": 200,
        **dict.fromkeys(EDITING, 403), "import": 403, **dict.fromkeys(MANAGING, 403),
    }, posts={
        "localize": 403, "save weights": 403, "switch off": 403, "impact": 403, "submit": 403,
        "launch simulation": 403, "cancel simulation": 403, **REFUSED_EVERYWHERE,
    })
    assert _state(app) == before
    assert LOCALIZE not in page_of(client, "/admin/schemes/")
    tpl2 = page_of(client, TPL2)
    assert _button("approve-button") in tpl2 and _button("reject-button") in tpl2
    assert _button("submit-button") not in tpl2 and _button("edit-draft") not in tpl2
    assert _button("retire-button") in page_of(client, TPL1)
    loc = page_of(client, LOC)
    assert _button("edit-draft") not in loc and _button("submit-button") not in loc
    assert _button("start-simulation") not in page_of(client, f"{LOC}simulations/")
    assert _nav(page_of(client, "/admin/")) == {"audit"}


def test_an_administrator_has_every_page_and_button(app, roles_world, sysadmin):
    client = signed_in(app, sysadmin)
    _answers(client, roles_world, gets=dict.fromkeys(_gets(roles_world), 200), posts={})
    loc = page_of(client, LOC)
    assert _button("edit-draft") in loc and _button("submit-button") in loc
    tpl2 = page_of(client, TPL2)
    assert _button("approve-button") in tpl2 and _button("reject-button") in tpl2
    assert _button("retire-button") in page_of(client, TPL1)
    assert _button("start-simulation") in page_of(client, f"{LOC}simulations/")
    assert _nav(page_of(client, "/admin/")) == set(NAV)


def page_of(client, url: str) -> str:
    response = client.get(url)
    assert response.status_code == 200, (url, response.status_code)
    return response.get_data(as_text=True)
