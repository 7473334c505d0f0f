"""The audit records of what people change outside the rules (issue 12: every action through the same services,
with the same permission checks, audit records and errors), with the real app on SQLite and PostgreSQL:

- accounts (``rulesvc.services.users``): created, changed, a new password, deactivated, activated — from the
  service, ``rulesvc users …`` and the 用户 page; never a password in any record; a non-administrator refused by
  the service itself, a city administrator kept to the city's tree by it;
- imports: every import that creates a dataset (from the service, ``rulesvc import`` and the 导入 page), a
  correction with the dataset it corrects; an actor limited to part of the province refused;
- simulations: started and cancelled, from the service, the designer's page and the API;
- the 审计日志 page names the new actions, in Chinese and in English (with the English summary);
- the words: a CSRF expiry said in the UI's language only; the users messages without CLI options.
"""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from rulesvc.catalogue import MESSAGES, codes_in
from rulesvc.commands.importing import import_command
from rulesvc.commands.users import users_group
from rulesvc.errors import InvalidInput, NotFound, PermissionDenied
from rulesvc.extensions import db
from rulesvc.persistence.models import AuditRecord, Dataset, SimulationRun, User
from rulesvc.services import users
from rulesvc.services.dictionary import get_dictionary
from rulesvc.services.governance import audit
from rulesvc.services.governance.access import KEY_PERMISSIONS, actor_for_scope, actor_for_user
from rulesvc.services.importing import import_file
from rulesvc.services.simulation import runs
from tests.conftest import make_app
from tests.integration.simhelpers import SCHEME
from tests.integration.test_admin import csrf_token
from tests.integration.test_admin_designer_simulation import _close, _settle, _world, launch, page, run_id_of
from tests.integration.test_admin_designer_simulation import signed_in as sim_signed_in
from tests.integration.test_admin_manage import DATA, PEOPLE, count, signed_in, token_of, upload
from tests.integration.test_admin_manage import world as world  # the fixture (used by name)
from tests.integration.test_simulation_jobs import empty_queue, jobs_redis

SECRET = "a secret password 2026"
OTHER_SECRET = "another secret 2026!"


def person(name: str):
    return actor_for_user(db.session, db.session.scalar(select(User).where(User.username == name)))


def records(app, action: str | None = None) -> list[AuditRecord]:
    with app.app_context():
        q = select(AuditRecord).order_by(AuditRecord.id)
        if action:
            q = q.where(AuditRecord.action == action)
        found = list(db.session.scalars(q))
        db.session.expunge_all()
        return found


def everything_recorded(app) -> str:
    """Every column of every record as text (to look for what must never be there)."""
    return "\n".join(json.dumps([r.actor, r.actor_ref, r.action, r.summary, r.diff, r.detail, r.client], default=str,
                                ensure_ascii=False) for r in records(app))


# -- accounts ---------------------------------------------------------------------------------------------------


def test_every_account_change_is_recorded_by_the_service_and_never_a_password(app, world):
    with app.app_context():
        boss = person("boss")
        user = users.create_user(db.session, "newbie", SECRET, role="designer", display_name="新人",
                                 procuratorate_id=world["910101"], actor=boss)
        users.update_user(db.session, "newbie", role="reviewer", procuratorate_id=world["910100"], actor=boss)
        users.update_user(db.session, "newbie", role="reviewer", actor=boss)  # the same: nothing changes
        users.set_password(db.session, "newbie", OTHER_SECRET, actor=boss)
        users.deactivate_user(db.session, "newbie", actor=boss)
        users.activate_user(db.session, "newbie", actor=boss)
        users.activate_user(db.session, "newbie", actor=boss)  # already active: nothing changes
        hashed = user.password_hash
        db.session.commit()
    found = [r for r in records(app) if r.action.startswith("user.")]
    assert [r.action for r in found] == ["user.create", "user.update", "user.password", "user.deactivate",
                                         "user.activate"]
    assert {(r.actor, r.actor_ref) for r in found} == {("boss", f"user:{boss.ref.split(':')[1]}")}
    create, update, password, deactivate, _ = found
    assert create.procuratorate_id == world["910101"] and update.procuratorate_id == world["910100"]
    assert create.summary == "已创建用户 newbie（规则设计人员，910101 清瑞区人民检察院）"
    assert create.detail["summary_en"] == "Created user newbie (rule designer, 910101)"
    assert create.detail["role"] == "designer" and create.detail["procuratorate"] == "910101"
    assert update.detail["changes"] == {"role": ["designer", "reviewer"], "procuratorate": ["910101", "910100"]}
    assert update.summary == ("修改用户 newbie：角色 规则设计人员 → 审核人员、"
                              "所属检察院 910101 清瑞区人民检察院 → 910100 东川市人民检察院")
    assert password.summary.startswith("重设用户 newbie 的密码") and password.detail["sessions_ended"] == 0
    assert deactivate.summary.startswith("已停用用户 newbie")
    text = everything_recorded(app)
    for secret in (SECRET, OTHER_SECRET, hashed, "scrypt"):
        assert secret not in text


@pytest.mark.parametrize("who", ["pdesigner", "previewer", "cviewer", "a key", "a deactivated admin"])
def test_the_service_refuses_anyone_but_an_administrator(app, world, who):
    with app.app_context():
        if who == "a key":  # every permission a key may hold, over the whole province
            actor = actor_for_scope(db.session, "key:1", "API 密钥 全能", KEY_PERMISSIONS, [world["910000"]])
        elif who == "a deactivated admin":
            db.session.execute(User.__table__.update().where(User.username == "cityadmin").values(is_active=False))
            db.session.commit()
            actor = person("cityadmin")
        else:
            actor = person(who)
        attempts = [
            lambda: users.create_user(db.session, "intruder", SECRET, role="admin", actor=actor),
            lambda: users.update_user(db.session, "cviewer", role="admin", actor=actor),
            lambda: users.set_password(db.session, "boss", SECRET, actor=actor),
            lambda: users.deactivate_user(db.session, "boss", actor=actor),
            lambda: users.activate_user(db.session, "cviewer", actor=actor),
            lambda: users.list_users(db.session, actor),
            lambda: users.get_user(db.session, "boss", actor),
        ]
        for attempt in attempts:
            with pytest.raises(PermissionDenied) as refused:
                attempt()
            assert refused.value.error_code == "user.admins_only"
            db.session.rollback()
        assert db.session.scalar(select(User.role).where(User.username == "cviewer")) == "viewer"
        assert db.session.scalar(select(User.id).where(User.username == "intruder")) is None
    assert not [r for r in records(app) if r.action.startswith("user.")]


def test_a_city_administrator_manages_only_the_accounts_of_the_city(app, world):
    with app.app_context():
        city = person("cityadmin")
        assert {u.username for u in users.list_users(db.session, city)} == {"cityadmin", "cdesigner", "cviewer",
                                                                             "oviewer"}
        for name in ("boss", "pdesigner"):  # above the city: not there at all
            with pytest.raises(NotFound):
                users.update_user(db.session, name, role="viewer", actor=city)
            with pytest.raises(NotFound):
                users.set_password(db.session, name, SECRET, actor=city)
        with pytest.raises(InvalidInput) as outside:
            users.create_user(db.session, "cityguy", SECRET, role="viewer", procuratorate_id=world["910000"], actor=city)
        assert codes_in(outside.value.errors) == {"procuratorate": "user.outside_tree"}
        with pytest.raises(InvalidInput) as nowhere:
            users.create_user(db.session, "cityguy", SECRET, role="admin", procuratorate_id=None, actor=city)
        assert codes_in(nowhere.value.errors) == {"procuratorate": "user.province_only"}
        with pytest.raises(InvalidInput) as moved:
            users.update_user(db.session, "cviewer", procuratorate_id=world["910000"], actor=city)
        assert codes_in(moved.value.errors) == {"procuratorate": "user.outside_tree"}
        db.session.rollback()
        users.create_user(db.session, "cityguy", SECRET, role="viewer", procuratorate_id=world["910102"], actor=city)
        db.session.commit()
        # The record is the city's: its administrators and the county's designers read it, another county's not.
        [rec] = [r for r in audit.list_records(db.session, city)[0] if r.action == "user.create"]
        assert rec.actor == "cityadmin" and rec.procuratorate_id == world["910102"]
        assert any(r.action == "user.create" for r in audit.list_records(db.session, person("boss"))[0])
        assert not audit.list_records(db.session, person("cdesigner"))[0]  # 910101 is not 910102


def test_the_cli_records_account_changes_as_the_operator(app, world, runner):
    result = runner.invoke(users_group, ["create", "clerk", "--procuratorate", "910101", "--display-name", "书记员",
                                         "--password-stdin"], input=SECRET + "\n")
    assert result.exit_code == 0, result.output
    assert runner.invoke(users_group, ["set-password", "clerk", "--password-stdin"],
                         input=OTHER_SECRET + "\n").exit_code == 0
    assert runner.invoke(users_group, ["update", "clerk", "--role", "designer"]).exit_code == 0
    assert runner.invoke(users_group, ["deactivate", "clerk"]).exit_code == 0
    found = [r for r in records(app) if r.action.startswith("user.")]
    assert [r.action for r in found] == ["user.create", "user.password", "user.update", "user.deactivate"]
    assert all(r.actor_ref.startswith("system:cli") and r.actor.startswith("系统 (cli") for r in found)
    assert all(r.procuratorate_id == world["910101"] for r in found)
    assert SECRET not in everything_recorded(app) and OTHER_SECRET not in everything_recorded(app)
    # What the service leaves to each surface: the CLI names its options, the service's words do not.
    nothing = runner.invoke(users_group, ["update", "clerk"])
    assert nothing.exit_code != 0 and "--role" in nothing.output
    no_org = runner.invoke(users_group, ["create", "drifter", "--role", "viewer", "--password-stdin"],
                           input=SECRET + "\n")
    assert no_org.exit_code == 1 and "须属于一个检察院" in no_org.output and "--procuratorate" in no_org.output
    for code in ("user.needs_procuratorate", "user.nothing_to_change"):
        assert "--" not in "".join(MESSAGES[code])


def test_the_users_page_records_each_change_as_the_signed_in_person(app, world):
    client = signed_in(app, "boss")
    token = token_of(client, "/admin/users/new/")
    assert client.post("/admin/users/new/", data={
        "csrf_token": token, "username": "newbie", "display_name": "新人", "role": "designer",
        "procuratorate": str(world["910101"]), "password": SECRET, "password2": SECRET}).status_code == 302
    assert client.post("/admin/users/newbie/", data={"csrf_token": token, "display_name": "新人甲", "role": "designer",
                                                     "procuratorate": str(world["910101"])}).status_code == 302
    assert client.post("/admin/users/newbie/password/", data={"csrf_token": token, "password": OTHER_SECRET,
                                                              "password2": OTHER_SECRET}).status_code == 302
    assert client.post("/admin/users/newbie/active/", data={"csrf_token": token, "active": "0"}).status_code == 302
    found = [r for r in records(app) if r.action.startswith("user.")]
    assert [r.action for r in found] == ["user.create", "user.update", "user.password", "user.deactivate"]
    assert {r.actor for r in found} == {"boss"} and {r.ip for r in found} == {"127.0.0.1"}
    assert found[1].detail["changes"] == {"display_name": ["新人", "新人甲"]}
    assert SECRET not in everything_recorded(app) and OTHER_SECRET not in everything_recorded(app)

    # The audit log names them in Chinese, filters by them, and never shows a password.
    html = client.get("/admin/audit/").get_data(as_text=True)
    for label in ("新建用户", "修改用户", "重设密码", "停用用户"):
        assert label in html, label
    assert "已创建用户 newbie（规则设计人员，910101 清瑞区人民检察院）" in html and SECRET not in html
    assert 'value="user.password"' in html and 'value="dataset.import"' in html
    only = client.get("/admin/audit/", query_string={"action": "user.password"}).get_data(as_text=True)
    assert only.count('<tr class="record"') == 1 and "重设用户 newbie 的密码" in only
    # In English: the English action and summary, no Chinese of either.
    client.get("/admin/lang/en/")
    english = client.get("/admin/audit/").get_data(as_text=True)
    assert "User created" in english and "Password set" in english and "User deactivated" in english
    assert "Created user newbie (rule designer, 910101)" in english and "已创建用户" not in english

    # A city administrator giving a procuratorate above the city: the service's words beside the field.
    city = signed_in(app, "cityadmin")
    r = city.post("/admin/users/new/", data={"csrf_token": token_of(city, "/admin/users/new/"), "username": "cityguy",
                                             "role": "viewer", "procuratorate": str(world["910000"]),
                                             "password": SECRET, "password2": SECRET})
    html = r.get_data(as_text=True)
    assert r.status_code == 422 and 'id="error-procuratorate">只能选择本院或下级院<' in html
    r = city.post("/admin/users/new/", data={"csrf_token": token_of(city, "/admin/users/new/"), "username": "cityguy",
                                             "role": "admin", "procuratorate": "province",
                                             "password": SECRET, "password2": SECRET})
    assert r.status_code == 422 and "只有全省的管理员可以设置不属于任何检察院的用户" in r.get_data(as_text=True)
    assert count(app, User) == len(PEOPLE) + 1
    assert city.get("/admin/users/boss/").status_code == 404


# -- imports ----------------------------------------------------------------------------------------------------


def test_every_import_that_creates_a_dataset_is_recorded_from_the_page(app, world):
    client = signed_in(app, "boss")
    for name in ("procuratorates.csv", "departments.csv", "prosecutors.csv"):
        assert upload(client, DATA / name, name).status_code == 200
    assert upload(client, DATA / "events.csv", "events.csv", name="七月事件").status_code == 200
    assert upload(client, DATA / "events.csv", "events.csv").status_code == 200  # the same data: nothing new
    imported = records(app, "dataset.import")
    assert [r.detail["kind"] for r in imported] == ["procuratorates", "departments", "prosecutors", "events"]
    assert {r.actor for r in imported} == {"boss"} and all(r.procuratorate_id is None for r in imported)
    events = imported[-1]
    with app.app_context():
        dataset = db.session.scalar(select(Dataset).where(Dataset.name == "七月事件"))
        assert (events.detail["dataset_id"], events.detail["rows"]) == (dataset.id, dataset.row_count)
    assert events.detail["source"] == "events.csv" and "corrects_id" not in events.detail
    assert events.summary == f"导入数据集 #{dataset.id}「七月事件」：事件 {dataset.row_count} 行（文件 events.csv）"
    # A correction: its own record, naming the dataset it corrects (and no second "import" record).
    fix = (b"event_id,event_type,procuratorate,prosecutor,case_id,occurred_on,suspects,category,detained\n"
           b"E1,case_accepted,220102,P001,C1,2020-07-02,2,ordinary,true\n")
    assert upload(client, fix, "fix.csv", corrects=str(dataset.id)).status_code == 200
    [correction] = records(app, "dataset.correct")
    assert correction.actor == "boss" and correction.detail["corrects_id"] == dataset.id
    assert (correction.detail["rows"], correction.detail["source"], correction.detail["kind"]) == (1, "fix.csv", "events")
    assert len(records(app, "dataset.import")) == 4
    # The audit log: 导入数据集, 4 of them.
    page_html = client.get("/admin/audit/", query_string={"action": "dataset.import"}).get_data(as_text=True)
    assert page_html.count('<tr class="record"') == 4 and "导入数据集" in page_html and "七月事件" in page_html


def test_imports_from_the_service_and_the_cli_are_recorded_and_a_city_is_refused(app, world, runner, tmp_path):
    with app.app_context():
        dictionary = get_dictionary(app.config["RULES_DIR"])
        for name in ("procuratorates.csv", "departments.csv", "prosecutors.csv"):
            import_file(db.session, DATA / name, dictionary=dictionary, created_by="tests")
        with pytest.raises(PermissionDenied):
            import_file(db.session, DATA / "events.csv", dictionary=dictionary, actor=person("cityadmin"))
        assert db.session.scalar(select(Dataset.id).where(Dataset.kind == "events")) is None
    service = records(app, "dataset.import")
    assert len(service) == 3 and {(r.actor, r.actor_ref) for r in service} == {("系统 (tests)", "system:tests")}
    result = runner.invoke(import_command, [str(DATA / "events.csv"), "--name", "七月"])
    assert result.exit_code == 0, result.output
    cli = records(app, "dataset.import")[-1]
    assert cli.actor_ref.startswith("system:cli") and cli.detail["kind"] == "events" and cli.detail["name"] == "七月"
    assert len(records(app, "dataset.import")) == 4


# -- simulations ------------------------------------------------------------------------------------------------


@pytest.fixture
def sims(app, tmp_path):
    """The small province of the simulation pages, in an app that runs simulations in a thread."""
    threaded = make_app(app.config["DATABASE_URL"], tmp_path / "instance", REDIS_URL=None)
    yield _world(threaded, tmp_path)
    _settle(threaded)
    _close(threaded)


def test_starting_and_cancelling_a_run_is_recorded_by_the_service(sims):
    app = sims.app
    with app.app_context():
        designer = person("sim_designer")
        dictionary = get_dictionary(app.config["RULES_DIR"])
        asked = runs.create_run(db.session, designer, dictionary, candidate_version_id=sims.v2["id"], periods=["2020"],
                                mode="test")
        run_id = asked.run.id
        db.session.commit()
        assert not runs.create_run(db.session, designer, dictionary, candidate_version_id=sims.v2["id"],
                                   periods=["2020"], mode="test").created  # already there: nothing recorded
        runs.cancel_run(db.session, designer, run_id)
        db.session.commit()
        with pytest.raises(PermissionDenied):  # a viewer may neither start nor cancel
            runs.create_run(db.session, person("sim_viewer"), dictionary, candidate_version_id=sims.v2["id"],
                            periods=["2020"], baseline="none", mode="test")
        db.session.rollback()
        # Asked again after the cancellation: queued again in place, and recorded again.
        assert runs.create_run(db.session, designer, dictionary, candidate_version_id=sims.v2["id"], periods=["2020"],
                               mode="test").created
        runs.cancel_run(db.session, designer, run_id)
        db.session.commit()
        run = db.session.get(SimulationRun, run_id)
        scheme_id, org = run.scheme_id, run.procuratorate_id
    found = [r for r in records(app) if r.action.startswith("simulation.") and r.detail["run_id"] == run_id]
    assert [r.action for r in found] == ["simulation.create", "simulation.cancel"] * 2
    assert {r.actor for r in found} == {"sim_designer"}
    assert {(r.scheme_id, r.version_id, r.procuratorate_id) for r in found} == {(scheme_id, sims.v2["id"], org)}
    started = found[0]
    assert started.summary == f"发起模拟测评 #{run_id}：{SCHEME} 第 2 版，基准版本 {SCHEME} 第 1 版，期间 2020"
    assert started.detail["run_id"] == run_id and started.detail["periods"] == ["2020"]
    assert started.detail["summary_en"].startswith(f"Simulation #{run_id} started")
    assert found[1].summary == f"取消模拟测评 #{run_id}（排队中，已取消）" and found[1].detail["status"] == "queued"


def test_the_designer_page_and_the_api_record_a_run_they_start(sims):
    app = sims.app
    client = sim_signed_in(app, "sim_designer")
    run_id = run_id_of(launch(client, sims.base))
    api = app.test_client()
    answer = api.post("/api/v1/simulations", headers=sims.keys["province"],
                      json={"candidate_version_id": sims.v2["id"], "periods": ["2020"], "baseline": "none"})
    assert answer.status_code == 202, answer.get_data(as_text=True)[:1000]
    other = answer.get_json()["id"]
    _settle(app)
    started = {r.detail["run_id"]: r for r in records(app, "simulation.create")}
    assert started[run_id].actor == "sim_designer" and started[run_id].ip == "127.0.0.1"
    assert started[other].actor_ref.startswith("key:") and "基准版本 无" in started[other].summary
    # A finished run cannot be cancelled: refused by the service, nothing recorded.
    assert api.post(f"/api/v1/simulations/{other}/cancel", headers=sims.keys["province"]).status_code == 409
    assert records(app, "simulation.cancel") == []
    # The audit log of the designer: 发起模拟测评 with the run.
    html = page(client, "/admin/audit/?action=simulation.create")
    assert html.count('<tr class="record"') == len(started) and f"发起模拟测评 #{run_id}：" in html
    assert f"发起模拟测评 #{other}：" in html


def test_a_queued_run_cancelled_from_the_page_is_recorded(sims, redis_url, tmp_path):
    url = jobs_redis(redis_url)
    empty_queue(url)
    server = make_app(sims.app.config["DATABASE_URL"], tmp_path / "server", REDIS_URL=url)
    try:
        client = sim_signed_in(server, "sim_designer")
        run_id = run_id_of(launch(client, sims.base))  # queued in Redis: no worker takes it
        token = csrf_token(page(client, f"{sims.base}{run_id}/"))
        assert client.post(f"{sims.base}{run_id}/cancel/", data={"csrf_token": token}).status_code == 302
        [started] = [r for r in records(server, "simulation.create") if r.detail["run_id"] == run_id]
        [cancelled] = records(server, "simulation.cancel")
        assert started.actor == "sim_designer"
        assert (cancelled.actor, cancelled.detail["run_id"], cancelled.detail["status"]) == ("sim_designer", run_id,
                                                                                           "queued")
    finally:
        empty_queue(url)
        _close(server)


# -- words ------------------------------------------------------------------------------------------------------


def test_an_expired_form_is_said_in_the_ui_language_only(app, client):
    answer = client.post("/admin/login/", data={"username": "x", "password": "y"})
    assert answer.status_code == 302
    html = client.get("/admin/login/").get_data(as_text=True)
    assert "页面已过期，请重试" in html and "expired" not in html
    client.get("/admin/lang/en/")
    client.post("/admin/login/", data={"username": "x", "password": "y"})
    html = client.get("/admin/login/").get_data(as_text=True)
    assert "The page expired; please try again" in html and "页面已过期" not in html


def test_an_expired_form_goes_back_to_the_admin_page_it_was_on_and_never_elsewhere(app, client):
    """A go-live audit (2026-12-07): a form posted with an expired token landed on the home page, not on the version
    it was sent from. Back to the page it came from — an admin page of this host only."""
    here = "http://localhost/admin/schemes/TPL/2/?tab=1"
    answer = client.post("/admin/schemes/TPL/2/unschedule/", data={"note": "x"}, headers={"Referer": here})
    assert answer.status_code == 302 and answer.headers["Location"].endswith("/admin/schemes/TPL/2/?tab=1")
    for elsewhere in ("http://evil.example/admin/schemes/", "http://localhost/api/v1/schemes", "javascript:alert(1)",
                      "http://localhost//evil.example/admin/", ""):
        answer = client.post("/admin/schemes/TPL/2/unschedule/", data={"note": "x"}, headers={"Referer": elsewhere})
        assert answer.status_code == 302 and answer.headers["Location"].endswith("/admin/"), elsewhere


def test_the_first_administrator_is_recorded_as_created_at_start_up_without_the_password(app, tmp_path):
    with app.app_context():
        username, password = users.ensure_initial_admin(db.session, tmp_path)
    [created] = records(app, "user.create")
    assert (created.actor, created.detail["username"], created.detail["role"]) == ("系统 (首次启动)", username, "admin")
    assert password and password not in everything_recorded(app)


def test_every_action_of_the_log_has_a_chinese_and_an_english_name():
    assert set(audit.ACTION_LABELS) == set(audit.ACTION_LABELS_EN)
    for code in ("dataset.import", "user.create", "user.update", "user.password", "user.deactivate", "user.activate",
                 "simulation.create", "simulation.cancel"):
        assert audit.ACTION_LABELS[code] and audit.ACTION_LABELS_EN[code].isascii()


def test_every_record_of_the_rules_keeps_an_english_summary(sims):
    """The English 审计日志 showed most summaries in Chinese (an English reader's audit): each record the version
    workflow writes keeps its summary in English too, with nothing Chinese but the names it quotes."""
    import re

    app = sims.app
    found = [r for r in records(app) if r.action.startswith(("scheme.", "version.", "apikey."))]
    assert {"scheme.create", "version.create", "version.submit", "version.approve", "version.activate"} <= {
        r.action for r in found}
    for r in found:
        english = (r.detail or {}).get("summary_en") or ""
        assert english and not re.search(r"[\u4e00-\u9fff]", re.sub(r"\(.*?\)|: .*$", "", english)), (r.action, english)
    client = sim_signed_in(app, "sim_designer")
    client.get("/admin/lang/en/")
    html = client.get("/admin/audit/").get_data(as_text=True)
    assert "Approved SIM-PROSECUTOR version 1" in html and "批准 SIM-PROSECUTOR" not in html
