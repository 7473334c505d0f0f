"""Sessions that end (SQLite and PostgreSQL): a cookie saved before sign-out opens nothing; idle and
absolute timeouts; a new password or deactivation ends every session; ``last_seen_at`` is written at
most once a minute; cookie options; the HTTPS setting.

Issue 9, finding 2: "a cookie saved before logout still reads /api/v1/me and still creates a scheme
(201) with its CSRF token".
"""

from __future__ import annotations

import datetime as dt
import re

import pytest
from sqlalchemy import select, update

from rulesvc.commands.users import users_group
from rulesvc.extensions import db
from rulesvc.persistence.models import Procuratorate, Scheme, User, UserSession
from rulesvc.services.sessions import token_id
from rulesvc.services.users import create_user, set_password
from rulesvc.websession import TOKEN_KEY
from tests.conftest import make_app
from tests.integration.helpers import sql_statements
from tests.integration.test_api_schemes import template_document

PASSWORD = "correct horse battery"
SCHEME = {"code": "REPLAYED", "name": "重放的会话创建的方案", "procuratorate": "910000",
          "subject_kind": "prosecutor", "period_kind": "year"}


def _csrf(html: str) -> str:
    match = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html) or re.search(
        r'value="([^"]+)"[^>]*name="csrf_token"', html)
    assert match, "a form with a CSRF token"
    return match.group(1)


@pytest.fixture
def designer(app) -> str:
    """A provincial designer (may create schemes)."""
    with app.app_context():
        org = Procuratorate(code="910000", name="示范省人民检察院", level="province")
        db.session.add(org)
        db.session.flush()
        create_user(db.session, "pdesigner", PASSWORD, role="designer", procuratorate_id=org.id)
        db.session.commit()
    return "pdesigner"


def sign_in(client, username: str, password: str = PASSWORD) -> str:
    """Sign in through the login form; returns the CSRF token of the signed-in pages."""
    token = _csrf(client.get("/admin/login/").get_data(as_text=True))
    response = client.post("/admin/login/", data={"csrf_token": token, "username": username, "password": password})
    assert response.status_code == 302, response.get_data(as_text=True)
    return _csrf(client.get("/admin/").get_data(as_text=True))


def sign_out(client, csrf: str) -> None:
    response = client.post("/admin/logout/", data={"csrf_token": csrf})
    assert response.status_code == 302 and response.headers["Location"] == "/admin/login/"


def replay(app, cookie: str):
    """A new client holding nothing but a copy of the session cookie."""
    client = app.test_client()
    client.set_cookie("session", cookie)
    return client


def rows(app, username: str) -> list[UserSession]:
    with app.app_context():
        uid = db.session.scalar(select(User.id).where(User.username == username))
        found = list(db.session.scalars(select(UserSession).where(UserSession.user_id == uid).order_by(UserSession.created_at)))
        db.session.expunge_all()
        return found


def shift(app, username: str, **ago: dt.timedelta) -> None:
    """Move the user's live sessions into the past: ``created_at=…``, ``last_seen_at=…`` (how long ago)."""
    now = dt.datetime.now(dt.UTC)
    with app.app_context():
        uid = db.session.scalar(select(User.id).where(User.username == username))
        db.session.execute(update(UserSession).where(UserSession.user_id == uid, UserSession.ended_at.is_(None))
                           .values(**{column: now - delta for column, delta in ago.items()}))
        db.session.commit()


def error_code(response) -> str:
    return response.get_json()["error_code"]


# -- the replayed cookie ---------------------------------------------------------------------------------


def test_a_cookie_saved_before_sign_out_reads_nothing_and_creates_nothing(app, designer, client):
    csrf = sign_in(client, designer)
    saved = client.get_cookie("session").value
    assert client.get("/api/v1/me").status_code == 200
    assert replay(app, saved).get("/api/v1/me").status_code == 200  # the copy works while the session lives

    sign_out(client, csrf)
    (row,) = rows(app, designer)
    assert row.ended_at is not None and row.end_reason == "logout"

    attacker = replay(app, saved)
    response = attacker.get("/api/v1/me")
    assert response.status_code == 401 and error_code(response) == "auth.session_ended"
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    body = {**SCHEME, "document": template_document()}
    response = replay(app, saved).post("/api/v1/schemes", json=body, headers={"X-CSRFToken": csrf})
    assert response.status_code == 401 and error_code(response) == "auth.session_ended"
    assert replay(app, saved).get("/admin/prosecutors/").status_code == 302  # the admin: back to the login page
    with app.app_context():
        assert db.session.scalar(select(Scheme.id).where(Scheme.code == "REPLAYED")) is None


def test_the_same_cookie_creates_a_scheme_while_signed_in(app, designer, client):
    """The control of the test above: the same request succeeds before sign-out."""
    csrf = sign_in(client, designer)
    saved = client.get_cookie("session").value
    body = {**SCHEME, "document": template_document()}
    assert replay(app, saved).post("/api/v1/schemes", json=body, headers={"X-CSRFToken": csrf}).status_code == 201


def test_only_the_token_hash_is_stored_and_a_cookie_without_a_session_is_anonymous(app, designer, client):
    sign_in(client, designer)
    with client.session_transaction() as session:
        token = session[TOKEN_KEY]
        assert session["_user_id"].startswith(str(rows(app, designer)[0].user_id))
    (row,) = rows(app, designer)
    assert row.id == token_id(token) and token not in row.id and row.client.startswith("Werkzeug/")
    # A cookie that names the user but holds no live session token (a forged or pre-upgrade cookie).
    with client.session_transaction() as session:
        session[TOKEN_KEY] = "not-a-token"
    response = client.get("/api/v1/me")
    assert response.status_code == 401 and error_code(response) == "auth.required"
    with client.session_transaction() as session:
        session.pop(TOKEN_KEY, None)
        assert TOKEN_KEY not in session
    assert client.get("/api/v1/me").status_code == 401


# -- timeouts --------------------------------------------------------------------------------------------


def test_idle_timeout_ends_the_session(app, designer, client):
    sign_in(client, designer)
    shift(app, designer, last_seen_at=dt.timedelta(minutes=29))
    assert client.get("/api/v1/me").status_code == 200  # 29 minutes idle: still live (and touched)
    shift(app, designer, last_seen_at=dt.timedelta(minutes=30, seconds=5))
    response = client.get("/api/v1/me")
    assert response.status_code == 401 and error_code(response) == "auth.session_ended"
    (row,) = rows(app, designer)
    assert row.end_reason == "idle"
    # The admin says why on the login page.
    sign_in(client, designer)
    shift(app, designer, last_seen_at=dt.timedelta(hours=1))
    response = client.get("/admin/prosecutors/")
    assert response.status_code == 302 and response.headers["Location"].startswith("/admin/login/")
    assert "登录已失效，请重新登录" in client.get(response.headers["Location"]).get_data(as_text=True)


def test_absolute_timeout_ends_an_active_session(app, designer, client):
    sign_in(client, designer)
    shift(app, designer, created_at=dt.timedelta(hours=11, minutes=59), last_seen_at=dt.timedelta(seconds=0))
    assert client.get("/api/v1/me").status_code == 200
    shift(app, designer, created_at=dt.timedelta(hours=12, seconds=5), last_seen_at=dt.timedelta(seconds=0))
    response = client.get("/api/v1/me")
    assert response.status_code == 401 and error_code(response) == "auth.session_ended"
    assert rows(app, designer)[0].end_reason == "absolute"


def session_writes(app):
    """The UPDATEs of ``user_sessions`` run inside the block."""
    return sql_statements(app, lambda sql: sql.lstrip().upper().startswith("UPDATE") and "user_sessions" in sql)


def test_last_seen_is_written_at_most_once_a_minute(app, designer, client):
    sign_in(client, designer)
    with session_writes(app) as writes:
        for _ in range(5):
            assert client.get("/api/v1/me").status_code == 200
    assert writes == []  # signed in seconds ago: nothing to write
    shift(app, designer, last_seen_at=dt.timedelta(minutes=2))
    with session_writes(app) as writes:
        for _ in range(5):
            assert client.get("/api/v1/me").status_code == 200
    assert len(writes) == 1
    seen = rows(app, designer)[0].last_seen_at.replace(tzinfo=dt.UTC)
    assert dt.datetime.now(dt.UTC) - seen < dt.timedelta(seconds=30)


# -- new password, deactivation ---------------------------------------------------------------------------


def test_a_new_password_ends_every_session_of_the_user(app, designer):
    laptop, phone = app.test_client(), app.test_client()
    sign_in(laptop, designer)
    sign_in(phone, designer)
    assert laptop.get("/api/v1/me").status_code == phone.get("/api/v1/me").status_code == 200
    with app.app_context():
        set_password(db.session, designer, "another long passphrase")
        db.session.commit()
    for client in (laptop, phone):
        response = client.get("/api/v1/me")
        assert response.status_code == 401 and error_code(response) == "auth.session_ended"
    assert [r.end_reason for r in rows(app, designer)] == ["password", "password"]
    sign_in(laptop, designer, "another long passphrase")
    assert laptop.get("/api/v1/me").status_code == 200


def test_deactivating_a_user_ends_their_sessions(app, designer, client):
    sign_in(client, designer)
    result = app.test_cli_runner().invoke(users_group, ["deactivate", designer])
    assert result.exit_code == 0 and "1" in result.output, result.output
    response = client.get("/api/v1/me")
    assert response.status_code == 401 and error_code(response) == "auth.session_ended"
    assert rows(app, designer)[0].end_reason == "deactivated"


def test_set_password_command_ends_sessions(app, designer, client):
    sign_in(client, designer)
    result = app.test_cli_runner().invoke(users_group, ["set-password", designer, "--password-stdin"],
                                          input="another long passphrase\n")
    assert result.exit_code == 0, result.output
    assert client.get("/api/v1/me").status_code == 401


# -- cookies -------------------------------------------------------------------------------------------------


def _set_cookies(response) -> list[str]:
    return response.headers.getlist("Set-Cookie")


def test_session_cookie_is_httponly_samesite_lax_and_not_secure_on_http(app, designer, client):
    token = _csrf(client.get("/admin/login/").get_data(as_text=True))
    response = client.post("/admin/login/", data={"csrf_token": token, "username": designer, "password": PASSWORD})
    (cookie,) = [c for c in _set_cookies(response) if c.startswith("session=")]
    attributes = {part.strip().split("=")[0].lower() for part in cookie.split(";")[1:]}
    assert {"httponly", "samesite", "path"} <= attributes and "secure" not in attributes
    assert "SameSite=Lax" in cookie
    assert not [c for c in _set_cookies(response) if c.startswith("remember_token=")]  # no "remember me"
    assert "expires" not in attributes  # a browser-session cookie; the server enforces the timeouts


def test_https_setting_secures_cookies_redirects_and_sends_hsts(tmp_path, designer, app):
    https_app = make_app(app.config["DATABASE_URL"], tmp_path, HTTPS=True)
    client = https_app.test_client()
    response = client.get("/admin/login/")
    assert response.status_code == 308 and response.headers["Location"].startswith("https://")
    assert "Strict-Transport-Security" not in response.headers
    secure = https_app.test_client()
    page = secure.get("/admin/login/", base_url="https://localhost")
    assert page.status_code == 200 and page.headers["Strict-Transport-Security"].startswith("max-age=")
    token = _csrf(page.get_data(as_text=True))
    response = secure.post("/admin/login/", base_url="https://localhost",
                           data={"csrf_token": token, "username": designer, "password": PASSWORD})
    assert response.status_code == 302
    (cookie,) = [c for c in _set_cookies(response) if c.startswith("session=")]
    assert "Secure" in cookie and "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert https_app.config["REMEMBER_COOKIE_SECURE"] is True
    assert https_app.config["REMEMBER_COOKIE_DURATION"] <= dt.timedelta(hours=12)
    # Behind a TLS proxy: no redirect loop.
    assert client.get("/admin/login/", headers={"X-Forwarded-Proto": "https"}).status_code == 200
    with https_app.app_context():
        db.session.remove()
        db.engine.dispose()


def test_a_remember_cookie_cannot_sign_anyone_in(app, designer, client):
    """flask-login reads a "remember me" cookie when the session has no user: ours needs a live
    server-side session, which such a cookie cannot carry."""
    from flask_login.utils import _cookie_digest  # the signature flask-login checks

    with app.app_context():
        user = db.session.scalar(select(User).where(User.username == designer))
        with app.test_request_context():
            value = f"{user.get_id()}|{_cookie_digest(user.get_id())}"
    client.set_cookie("remember_token", value)
    assert client.get("/api/v1/me").status_code == 401
    assert client.get("/admin/prosecutors/").status_code == 302



def test_the_security_settings_read_from_the_environment():
    from rulesvc.config import from_environment

    read = from_environment({"RULESVC_HTTPS": "1", "RULESVC_SESSION_IDLE_MINUTES": "10",
                             "RULESVC_SESSION_ABSOLUTE_HOURS": "8", "RULESVC_PROXIES": "1"})
    assert read == {"HTTPS": True, "SESSION_IDLE_MINUTES": 10, "SESSION_ABSOLUTE_HOURS": 8, "PROXIES": 1}
    assert from_environment({"RULESVC_HTTPS": "off"}) == {"HTTPS": False}
    with pytest.raises(RuntimeError, match="RULESVC_HTTPS"):
        from_environment({"RULESVC_HTTPS": "maybe"})  # never a guess (bool("0") would be True)
