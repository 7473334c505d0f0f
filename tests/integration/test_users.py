"""The users service (validation, authentication, the first administrator) and ``rulesvc users``."""

from __future__ import annotations

import stat

import pytest
from sqlalchemy import func, select

from rulesvc.commands.users import users_group
from rulesvc.errors import InvalidInput, NotFound
from rulesvc.extensions import db
from rulesvc.persistence.models import User
from rulesvc.services.users import (
    CREDENTIALS_FILE,
    authenticate,
    create_user,
    ensure_initial_admin,
    set_password,
)

PASSWORD = "correct horse battery"


def add_user(app, username: str, role: str = "viewer") -> None:
    with app.app_context():
        create_user(db.session, username, PASSWORD, role=role)
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
    args = {"username": "valid_name", "password": PASSWORD, "role": "viewer", **kwargs}
    with app.app_context():
        with pytest.raises(InvalidInput) as info:
            create_user(db.session, **args)
        assert set(info.value.errors) == {field}
        db.session.rollback()


def test_create_user_rejects_a_taken_username_and_hashes_the_password(app):
    with app.app_context():
        user = create_user(db.session, "Bob", PASSWORD, role="designer", display_name="鲍勃")
        assert user.username == "bob" and PASSWORD not in user.password_hash
        with pytest.raises(InvalidInput) as info:
            create_user(db.session, "bob", PASSWORD)
        assert "username" in info.value.errors
        db.session.rollback()


def test_authenticate_and_set_password(app):
    with app.app_context():
        create_user(db.session, "carol", PASSWORD)
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
    result = runner.invoke(users_group, ["create", "dave", "--role", "reviewer", "--password-stdin"], input=PASSWORD + "\n")
    assert result.exit_code == 0, result.output
    result = runner.invoke(users_group, ["set-password", "dave", "--password-stdin"], input="a brand new secret\n")
    assert result.exit_code == 0, result.output
    with app.app_context():
        assert authenticate(db.session, "dave", "a brand new secret").role == "reviewer"
    result = runner.invoke(users_group, ["create", "erin", "--password-stdin"], input="short\n")
    assert result.exit_code == 1 and "password" in result.output
    result = runner.invoke(users_group, ["create", "frank"], input=PASSWORD + "\n" + PASSWORD + "\n")
    assert result.exit_code == 0, result.output
