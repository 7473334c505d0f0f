"""The users service (validation, authentication, the first administrator) and ``rulesvc users``."""

from __future__ import annotations

import stat

import pytest
from sqlalchemy import func, select

from rulesvc.catalogue import codes_in, language
from rulesvc.commands.users import users_group
from rulesvc.errors import InvalidInput, NotFound
from rulesvc.extensions import db
from rulesvc.persistence.models import Procuratorate, User
from rulesvc.services.users import (
    CREDENTIALS_FILE,
    authenticate,
    create_user,
    ensure_initial_admin,
    set_password,
)
from tests.integration.helpers import province_id

PASSWORD = "correct horse battery"


def add_user(app, username: str, role: str = "viewer") -> None:
    org = None if role == "admin" else province_id(app)
    with app.app_context():
        create_user(db.session, username, PASSWORD, role=role, procuratorate_id=org)
        db.session.commit()


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"username": "x"}, "username"),
        ({"username": "9lives"}, "username"),
        ({"username": "bad name"}, "username"),
        ({"password": "short"}, "password"),
        ({"password": " padded password "}, "password"),
        ({"role": "root"}, "role"),
    ],
)
def test_create_user_rejects_bad_input_with_field_errors(app, kwargs, field):
    args = {"username": "valid_name", "password": PASSWORD, "role": "viewer", "procuratorate_id": province_id(app), **kwargs}
    with app.app_context():
        with pytest.raises(InvalidInput) as info:
            create_user(db.session, **args)
        assert set(info.value.errors) == {field}
        db.session.rollback()


def test_create_user_rejects_a_taken_username_and_hashes_the_password(app):
    org = province_id(app)
    with app.app_context():
        user = create_user(db.session, "Bob", PASSWORD, role="designer", display_name="鲍勃", procuratorate_id=org)
        assert user.username == "bob" and PASSWORD not in user.password_hash
        with pytest.raises(InvalidInput) as info:
            create_user(db.session, "bob", PASSWORD, procuratorate_id=org)
        assert set(info.value.errors) == {"username"}
        assert codes_in(info.value.errors) == {"username": "user.username_taken"}
        db.session.rollback()


def test_authenticate_and_set_password(app):
    org = province_id(app)
    with app.app_context():
        create_user(db.session, "carol", PASSWORD, procuratorate_id=org)
        assert authenticate(db.session, " Carol ", PASSWORD).username == "carol"
        assert authenticate(db.session, "carol", PASSWORD + "x") is None
        assert authenticate(db.session, "nobody", PASSWORD) is None
        set_password(db.session, "carol", "another long secret")
        assert authenticate(db.session, "carol", PASSWORD) is None
        assert authenticate(db.session, "carol", "another long secret") is not None
        with pytest.raises(InvalidInput):
            set_password(db.session, "carol", "short")
        with pytest.raises(NotFound):
            set_password(db.session, "nobody", "another long secret")
        db.session.rollback()


def test_ensure_initial_admin_writes_a_private_file_once(app, tmp_path):
    with app.app_context():
        username, password = ensure_initial_admin(db.session, tmp_path)
        path = tmp_path / CREDENTIALS_FILE
        assert username == "admin" and password and len(password) >= 12
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        assert path.read_text().strip() == f"admin / {password}"
        assert authenticate(db.session, "admin", password).role == "admin"
        assert ensure_initial_admin(db.session, tmp_path) == ("admin", None)
        assert path.read_text().strip() == f"admin / {password}"
        assert db.session.scalar(select(func.count()).select_from(User)) == 1


def test_ensure_initial_admin_leaves_existing_users_alone(app, tmp_path):
    add_user(app, "boss", role="admin")
    with app.app_context():
        assert ensure_initial_admin(db.session, tmp_path) == ("boss", None)
    assert not (tmp_path / CREDENTIALS_FILE).exists()


def test_users_cli_creates_a_user_and_sets_a_password(app, runner):
    province_id(app)
    result = runner.invoke(users_group, ["create", "dave", "--role", "reviewer", "--procuratorate", "910000",
                                         "--password-stdin"], input=PASSWORD + "\n")
    assert result.exit_code == 0, result.output
    result = runner.invoke(users_group, ["set-password", "dave", "--password-stdin"], input="a brand new secret\n")
    assert result.exit_code == 0, result.output
    with app.app_context():
        assert authenticate(db.session, "dave", "a brand new secret").role == "reviewer"
    result = runner.invoke(users_group, ["create", "erin", "--procuratorate", "910000", "--password-stdin"],
                           input="short\n")
    assert result.exit_code == 1 and "password" in result.output
    result = runner.invoke(users_group, ["create", "frank", "--procuratorate", "910000"],
                           input=PASSWORD + "\n" + PASSWORD + "\n")
    assert result.exit_code == 0, result.output


# -- procuratorates, update, deactivate, list ---------------------------------------------------------------


def add_city(app, code: str = "910100", name: str = "东川市人民检察院") -> int:
    parent = province_id(app)
    with app.app_context():
        org = Procuratorate(code=code, name=name, level="city", parent_id=parent)
        db.session.add(org)
        db.session.commit()
        return org.id


def test_a_non_admin_needs_a_procuratorate_and_it_must_exist(app, runner):
    province_id(app)
    for role in ("designer", "reviewer", "viewer"):
        result = runner.invoke(users_group, ["create", f"no_org_{role}", "--role", role, "--password-stdin"],
                               input=PASSWORD + "\n")
        assert result.exit_code == 1, result.output
        assert "--procuratorate" in result.output and "看不到任何数据" in result.output
    result = runner.invoke(users_group, ["create", "nowhere", "--role", "designer", "--procuratorate", "999999",
                                         "--password-stdin"], input=PASSWORD + "\n")
    assert result.exit_code == 1 and "999999" in result.output
    with app.app_context():
        with pytest.raises(InvalidInput) as info:
            create_user(db.session, "svc_designer", PASSWORD, role="designer")
        assert codes_in(info.value.errors) == {"procuratorate": "user.needs_procuratorate"}
        db.session.rollback()
        assert db.session.scalar(select(func.count()).select_from(User)) == 0
    # An administrator without one acts for the province.
    result = runner.invoke(users_group, ["create", "boss", "--role", "admin", "--password-stdin"], input=PASSWORD + "\n")
    assert result.exit_code == 0 and "全省" in result.output, result.output


def test_users_create_with_a_procuratorate_scopes_the_person(app, runner):
    from rulesvc.services.governance.access import actor_for_user

    city = add_city(app)
    result = runner.invoke(users_group, ["create", "cdesigner", "--role", "designer", "--procuratorate", "910100",
                                         "--display-name", "市院设计", "--password-stdin"], input=PASSWORD + "\n")
    assert result.exit_code == 0, result.output
    assert "910100 东川市人民检察院" in result.output
    with app.app_context():
        user = db.session.scalar(select(User).where(User.username == "cdesigner"))
        assert user.procuratorate_id == city and user.display_name == "市院设计"
        assert actor_for_user(db.session, user).scope == frozenset({city})


def test_users_update_changes_procuratorate_role_and_name(app, runner):
    add_city(app)
    add_user(app, "victor", role="viewer")
    result = runner.invoke(users_group, ["update", "victor", "--procuratorate", "910100", "--role", "reviewer",
                                         "--display-name", "维克多"])
    assert result.exit_code == 0, result.output
    assert "角色" in result.output and "所属检察院" in result.output and "姓名" in result.output
    with app.app_context():
        user = db.session.scalar(select(User).where(User.username == "victor"))
        assert (user.role, user.procuratorate.code, user.display_name) == ("reviewer", "910100", "维克多")
    # A reviewer cannot be left without a procuratorate; an administrator can.
    result = runner.invoke(users_group, ["update", "victor", "--no-procuratorate"])
    assert result.exit_code == 1 and "--procuratorate" in result.output
    result = runner.invoke(users_group, ["update", "victor", "--role", "admin", "--no-procuratorate"])
    assert result.exit_code == 0, result.output
    with app.app_context():
        user = db.session.scalar(select(User).where(User.username == "victor"))
        assert (user.role, user.procuratorate_id) == ("admin", None)
    for args in (["update", "victor"], ["update", "nobody", "--role", "viewer"],
                 ["update", "victor", "--procuratorate", "999999"],
                 ["update", "victor", "--procuratorate", "910100", "--no-procuratorate"]):
        assert runner.invoke(users_group, args).exit_code != 0, args


def test_the_last_active_admin_stays(app, runner):
    province_id(app)
    add_user(app, "root", role="admin")
    for args in (["deactivate", "root"], ["update", "root", "--role", "viewer", "--procuratorate", "910000"]):
        result = runner.invoke(users_group, args)
        assert result.exit_code == 1 and "最后一个启用的管理员" in result.output, result.output
    add_user(app, "second", role="admin")
    assert runner.invoke(users_group, ["deactivate", "root"]).exit_code == 0
    result = runner.invoke(users_group, ["deactivate", "second"])
    assert result.exit_code == 1, result.output


def test_users_deactivate_and_activate(app, runner):
    add_user(app, "dora", role="designer")
    result = runner.invoke(users_group, ["deactivate", "dora"])
    assert result.exit_code == 0 and "已停用用户 dora" in result.output, result.output
    with app.app_context():
        assert authenticate(db.session, "dora", PASSWORD) is None
    result = runner.invoke(users_group, ["activate", "dora"])
    assert result.exit_code == 0, result.output
    with app.app_context():
        assert authenticate(db.session, "dora", PASSWORD).username == "dora"
    assert runner.invoke(users_group, ["deactivate", "nobody"]).exit_code == 1


def test_users_list_shows_role_procuratorate_and_state(app, runner):
    add_city(app)
    add_user(app, "boss", role="admin")
    runner.invoke(users_group, ["create", "cviewer", "--procuratorate", "910100", "--password-stdin"],
                  input=PASSWORD + "\n")
    runner.invoke(users_group, ["deactivate", "cviewer"])
    result = runner.invoke(users_group, ["list"])
    assert result.exit_code == 0, result.output
    lines = {line.split()[0]: line for line in result.output.splitlines()[2:]}
    assert "全省" in lines["boss"] and "管理员" in lines["boss"] and "是" in lines["boss"]
    assert "910100 东川市人民检察院" in lines["cviewer"] and "查看人员" in lines["cviewer"] and "否" in lines["cviewer"]


def test_english_cli_messages(app, runner):
    province_id(app)
    with language("en"):  # what `rulesvc` sets from LANG=en_…
        result = runner.invoke(users_group, ["create", "eve", "--role", "designer", "--password-stdin"],
                               input=PASSWORD + "\n")
    assert result.exit_code == 1 and "A designer needs a procuratorate" in result.output, result.output
