"""A database that does not answer: 503 with Retry-After (JSON envelope under /api/, a plain page in the
admin), never a 500; health hides the database's address from its public answer.

No mocks: the app points at a PostgreSQL URL on a closed port (127.0.0.1:1), or at a SQLite file another
connection holds locked. Issue 9, finding 6: "With the database down every endpoint but health answers
500 (should be 503 with Retry-After), and health shows the database host and port to anonymous callers".
"""

from __future__ import annotations

import sqlite3

import pytest
from sqlalchemy.exc import OperationalError

from rulesvc.api.unavailable import RETRY_AFTER_S
from rulesvc.websession import TOKEN_KEY
from tests.conftest import make_app

# A closed port, and names that must never reach an anonymous caller.
DEAD_URL = "postgresql://secret_operator@127.0.0.1:1/secret_database"
SECRETS = ("127.0.0.1", "secret_operator", "secret_database", "port 1", "127.0.0.1:1")


@pytest.fixture(scope="module")
def dead_app(tmp_path_factory):
    app = make_app(DEAD_URL, tmp_path_factory.mktemp("dead"), SECRET_KEY="shared-secret-of-a-deployment")
    yield app
    with app.app_context():
        from rulesvc.extensions import db

        db.engine.dispose()


def assert_unavailable_envelope(response) -> dict:
    assert response.status_code == 503, response.get_data(as_text=True)
    assert response.headers["Retry-After"] == str(RETRY_AFTER_S)
    assert response.headers["Content-Security-Policy"] and response.headers["X-Frame-Options"] == "DENY"
    body = response.get_json()
    assert body["code"] == 503 and body["status"] == "service_unavailable" and body["error_code"] == "error.unavailable"
    text = response.get_data(as_text=True)
    assert not [s for s in SECRETS if s in text], text
    return body


@pytest.mark.parametrize("path", ["/api/v1/procuratorates", "/api/v1/procuratorates/910000"])
def test_api_reads_answer_503_with_the_envelope(dead_app, path):
    body = assert_unavailable_envelope(dead_app.test_client().get(path))
    assert body["message"] == "数据库暂时无法访问，请稍后重试"


def test_api_with_a_key_or_a_session_answers_503(dead_app):
    client = dead_app.test_client()
    assert_unavailable_envelope(client.get("/api/v1/me", headers={"Authorization": "Bearer rsk_abcdefgh_secret"}))
    assert_unavailable_envelope(client.get("/api/v1/schemes", headers={"X-API-Key": "rsk_abcdefgh_secret"}))
    with client.session_transaction() as session:  # a signed-in browser's cookie (the loader needs the database)
        session["_user_id"] = "1.stamp"
        session[TOKEN_KEY] = "a-session-token"
    assert_unavailable_envelope(client.get("/api/v1/schemes"))
    assert_unavailable_envelope(client.post("/api/v1/schemes", json={}, headers={"X-CSRFToken": "x"}))


def test_english_message_when_asked(dead_app):
    body = assert_unavailable_envelope(dead_app.test_client().get("/api/v1/procuratorates",
                                                                  headers={"Accept-Language": "en"}))
    assert body["message"] == "The database is unavailable; please retry shortly"


def test_admin_pages_answer_a_plain_503_page(dead_app):
    client = dead_app.test_client()
    page = client.get("/admin/login/")  # needs no database
    assert page.status_code == 200
    import re

    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page.get_data(as_text=True)).group(1)
    response = client.post("/admin/login/", data={"csrf_token": token, "username": "someone", "password": "x" * 12})
    for answer in (response,):
        assert answer.status_code == 503 and answer.headers["Retry-After"] == str(RETRY_AFTER_S)
        assert answer.content_type.startswith("text/html")
        html = answer.get_data(as_text=True)
        assert "数据库暂时无法访问，请稍后重试" in html and "The database is unavailable" in html
        assert not [s for s in SECRETS if s in html], html
    with client.session_transaction() as session:
        session["_user_id"] = "1.stamp"
        session[TOKEN_KEY] = "a-session-token"
    for path in ("/admin/", "/admin/prosecutors/", "/admin/events/?page=2"):
        answer = client.get(path)
        assert answer.status_code == 503 and "数据库暂时无法访问" in answer.get_data(as_text=True), path
        assert answer.headers["X-Frame-Options"] == "DENY"


def test_what_needs_no_database_still_works(dead_app):
    client = dead_app.test_client()
    assert client.get("/api/docs/openapi.json").status_code == 200
    assert client.get("/admin/").status_code == 302  # anonymous: to the login page


def test_health_says_unavailable_without_the_address(dead_app):
    response = dead_app.test_client().get("/api/v1/health")
    assert response.status_code == 503
    body = response.get_json()
    assert body["status"] == "unavailable" and body["database"]["status"] == "unavailable"
    assert body["database"]["reason"] == "connection failed" and body["database"]["dialect"] == "postgresql"
    text = response.get_data(as_text=True)
    assert not [s for s in SECRETS if s in text], text


def test_health_hides_a_redis_address_too(tmp_path):
    app = make_app(DEAD_URL, tmp_path, REDIS_URL="redis://127.0.0.1:1/0")
    body = app.test_client().get("/api/v1/health").get_json()
    assert body["redis"] == {"status": "unavailable", "latency_ms": None, "reason": "connection failed"}
    with app.app_context():
        from rulesvc.extensions import db

        db.engine.dispose()


def test_a_locked_sqlite_file_is_503_too(sqlite_app_factory, tmp_path):
    """Another connection holds the write lock: a sign-in (which writes) gets 503, not 500."""
    from sqlalchemy import select

    from rulesvc.extensions import db
    from rulesvc.persistence.models import Procuratorate
    from rulesvc.services.users import create_user

    base = sqlite_app_factory(tmp_path)
    with base.app_context():
        org = Procuratorate(code="910000", name="示范省人民检察院", level="province")
        db.session.add(org)
        db.session.flush()
        create_user(db.session, "locked_out", "correct horse battery", role="viewer", procuratorate_id=org.id)
        db.session.commit()
        assert db.session.scalar(select(Procuratorate.id)) == org.id
        db.engine.dispose()
    app = make_app(base.config["DATABASE_URL"], tmp_path, SQLALCHEMY_ENGINE_OPTIONS={"connect_args": {"timeout": 0.2}})
    client = app.test_client()
    import re

    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', client.get("/admin/login/").get_data(as_text=True)).group(1)
    holder = sqlite3.connect(base.config["DATABASE_URL"].removeprefix("sqlite:///"))
    try:
        holder.execute("BEGIN EXCLUSIVE")
        response = client.post("/admin/login/", data={"csrf_token": token, "username": "locked_out",
                                                      "password": "correct horse battery"})
        assert response.status_code == 503 and response.headers["Retry-After"] == str(RETRY_AFTER_S)
    finally:
        holder.rollback()
        holder.close()
    response = client.post("/admin/login/", data={"csrf_token": token, "username": "locked_out",
                                                  "password": "correct horse battery"})
    assert response.status_code == 302
    with app.app_context():
        db.engine.dispose()


def test_a_missing_table_is_a_bug_not_an_outage(tmp_path):
    """SQLite's other OperationalErrors (no such table …) stay errors: never hidden behind a 503."""
    app = make_app(f"sqlite:///{tmp_path / 'empty.db'}", tmp_path)  # never migrated
    with pytest.raises(OperationalError, match="no such table"):
        app.test_client().get("/api/v1/procuratorates")
