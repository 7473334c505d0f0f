"""Sign-in throttling and lockout on ``/admin/login/`` (SQLite and PostgreSQL; Redis storage as in server
mode, memory storage as embedded, and Redis failing half-way).

Issue 9, finding 5: "402 wrong passwords in 30 s on /admin/login/, no delay, no lockout". Every test
counts the answers, so it fails if a single extra attempt gets through.

Each test signs in from addresses of its own (``REMOTE_ADDR``) and with names of its own: counters
in Redis outlast the test's rows.
"""

from __future__ import annotations

import re
import uuid
from collections import Counter

import pytest
from sqlalchemy import select

from rulesvc.extensions import db, limiter
from rulesvc.persistence.models import AuditRecord, Procuratorate, User
from rulesvc.services.users import create_user

PASSWORD = "correct horse battery"


def _csrf(html: str) -> str:
    match = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html)
    assert match
    return match.group(1)


def address() -> str:
    """A fresh address for one test (10.x.y.z)."""
    n = uuid.uuid4().int
    return f"10.{n % 250 + 1}.{(n >> 8) % 250 + 1}.{(n >> 16) % 250 + 1}"


class Browser:
    """A test client at one address, with the login form's CSRF token."""

    def __init__(self, app, ip: str) -> None:
        self.client = app.test_client()
        self.ip = ip
        self.token = _csrf(self.client.get("/admin/login/", environ_base={"REMOTE_ADDR": ip}).get_data(as_text=True))

    def login(self, username: str, password: str):
        return self.client.post("/admin/login/", environ_base={"REMOTE_ADDR": self.ip},
                                data={"csrf_token": self.token, "username": username, "password": password})


@pytest.fixture
def users(app) -> dict[str, str]:
    """Two people of the province with unique names (the counters outlast the database rows)."""
    suffix = uuid.uuid4().hex[:6]
    names = {"ann": f"ann_{suffix}", "ben": f"ben_{suffix}"}
    with app.app_context():
        org = Procuratorate(code="910000", name="示范省人民检察院", level="province")
        db.session.add(org)
        db.session.flush()
        for name in names.values():
            create_user(db.session, name, PASSWORD, role="designer", procuratorate_id=org.id)
        db.session.commit()
    return names


def statuses(responses) -> list[int]:
    return [r.status_code for r in responses]


def lockouts(app) -> list[AuditRecord]:
    with app.app_context():
        found = list(db.session.scalars(select(AuditRecord).where(AuditRecord.action == "auth.lockout")
                                        .order_by(AuditRecord.id)))
        db.session.expunge_all()
        return found


def test_five_failures_lock_the_name_for_everyone_with_429_and_retry_after(app, users):
    browser = Browser(app, address())
    answers = [browser.login(users["ann"], f"wrong password {i}") for i in range(10)]
    # 4 plain failures, the 5th locks (and says so), the other 5 are refused without a password check.
    assert statuses(answers) == [200] * 4 + [429] * 6
    for response in answers[:4]:
        assert "用户名或密码错误" in response.get_data(as_text=True)
    for response in answers[4:]:
        html = response.get_data(as_text=True)
        assert "登录失败次数过多，请 15 分钟后再试" in html
        assert 0 < int(response.headers["Retry-After"]) <= 15 * 60
        assert f'value="{users["ann"]}"' in html  # the form keeps the user name
        assert "wrong password" not in html  # … never the password
    # The right password from another address: still locked (the name is locked, not the address).
    other = Browser(app, address())
    locked = other.login(users["ann"], PASSWORD)
    assert locked.status_code == 429 and "_user_id" not in (other.client.get_cookie("session").value or "")
    assert other.client.get("/admin/").status_code == 302
    # Another person signs in at once, from the first address too: one name's failures do not touch theirs.
    assert browser.login(users["ben"], PASSWORD).status_code == 302
    (record,) = lockouts(app)
    assert record.actor_ref == "system:login" and record.ip == browser.ip
    assert record.detail["scope"] == "user" and record.detail["username"] == users["ann"]
    assert record.detail["failures"] == 5 and record.detail["minutes"] == 15 and record.detail["user_exists"] is True
    assert record.procuratorate_id is not None and "锁定 15 分钟" in record.summary


def test_unknown_names_are_locked_the_same_way(app, users):
    browser = Browser(app, address())
    ghost = f"ghost_{uuid.uuid4().hex[:6]}"
    assert statuses([browser.login(ghost, "whatever it is") for _ in range(6)]) == [200] * 4 + [429] * 2
    (record,) = lockouts(app)
    assert record.detail["user_exists"] is False and record.procuratorate_id is None


def test_a_success_clears_the_names_failures(app, users):
    browser = Browser(app, address())
    assert statuses([browser.login(users["ann"], "wrong password") for _ in range(4)]) == [200] * 4
    assert browser.login(users["ann"], PASSWORD).status_code == 302
    again = Browser(app, browser.ip)
    assert statuses([again.login(users["ann"], "wrong password") for _ in range(4)]) == [200] * 4
    assert lockouts(app) == []


def test_thirty_failures_from_one_address_lock_the_address(app, users):
    browser = Browser(app, address())
    names = [f"spray_{uuid.uuid4().hex[:6]}_{i}" for i in range(10)]
    answers = [browser.login(names[i % 10], "password123456") for i in range(35)]
    # 3 tries on each of 10 names (never 5 on one): the 30th failure locks the address.
    assert statuses(answers) == [200] * 29 + [429] * 6
    # Now even a right password from that address waits …
    assert browser.login(users["ben"], PASSWORD).status_code == 429
    # … but not from another one.
    assert Browser(app, address()).login(users["ben"], PASSWORD).status_code == 302
    records = lockouts(app)
    assert [r.detail["scope"] for r in records] == ["ip"] and records[0].detail["ip"] == browser.ip


def test_a_locked_attempt_checks_no_password(app, users, monkeypatch):
    browser = Browser(app, address())
    for _ in range(5):
        browser.login(users["ann"], "wrong password")
    import admin.auth

    def fail(*args, **kwargs):  # pragma: no cover - must not run
        raise AssertionError("a locked name's password was checked")

    monkeypatch.setattr(admin.auth, "authenticate", fail)
    assert browser.login(users["ann"], PASSWORD).status_code == 429


def test_english_ui_says_it_in_english(app, users):
    browser = Browser(app, address())
    browser.client.get("/admin/lang/en/", environ_base={"REMOTE_ADDR": browser.ip})
    answers = [browser.login(users["ann"], "wrong password") for _ in range(5)]
    assert answers[-1].status_code == 429
    assert "Too many failed sign-ins; try again in 15 minutes" in answers[-1].get_data(as_text=True)


def test_server_mode_counts_in_redis_shared_by_workers(app, users, redis_url):
    """Two app instances on one database (two gunicorn workers) share the counters through Redis."""
    from tests.conftest import make_app

    assert app.config["RATELIMIT_STORAGE_URI"] == redis_url
    with app.app_context():
        assert type(limiter().storage).__name__ == "RedisStorage"
    worker2 = make_app(app.config["DATABASE_URL"], __import__("pathlib").Path(app.instance_path))
    ip = address()
    first, second = Browser(app, ip), Browser(worker2, ip)
    answers = [(first if i % 2 else second).login(users["ann"], "wrong password") for i in range(6)]
    assert statuses(answers) == [200] * 4 + [429] * 2
    with worker2.app_context():
        db.session.remove()
        db.engine.dispose()


def test_without_redis_the_workers_share_the_counts_in_the_database(app, users, tmp_path):
    """The re-probe's finding: under `rulesvc serve` without Redis each gunicorn worker counted in its own
    memory (8 passwords tried instead of 4, and a restart forgot the lock). Two app instances on one
    database — two workers — now share one count, and a third started afterwards still sees the lock."""
    from tests.conftest import make_app

    workers = [make_app(app.config["DATABASE_URL"], tmp_path / f"w{i}", REDIS_URL=None) for i in range(3)]
    ip = address()
    first, second = Browser(workers[0], ip), Browser(workers[1], ip)
    answers = [(first if i % 2 else second).login(users["ann"], "wrong password") for i in range(6)]
    assert statuses(answers) == [200] * 4 + [429] * 2
    restarted = Browser(workers[2], address())  # a worker restarted since: the lock is still there
    assert statuses([restarted.login(users["ann"], PASSWORD)]) == [429]
    for worker in workers:
        with worker.app_context():
            db.session.remove()
            db.engine.dispose()


def test_redis_failing_falls_back_to_memory_not_to_no_limit(app, users, tmp_path):
    from tests.conftest import make_app

    broken = make_app(app.config["DATABASE_URL"], tmp_path, REDIS_URL="redis://127.0.0.1:1/0")
    browser = Browser(broken, address())
    answers = [browser.login(users["ann"], "wrong") for _ in range(6)]
    assert statuses(answers) == [200] * 4 + [429] * 2
    assert Counter(statuses([browser.login(users["ben"], PASSWORD)])) == Counter({302: 1})
    with broken.app_context():
        db.session.remove()
        db.engine.dispose()


def test_the_province_admin_reads_lockouts_in_the_audit_log(app, users):
    browser = Browser(app, address())
    for _ in range(5):
        browser.login(users["ann"], "wrong password")
    with app.app_context():
        create_user(db.session, f"root_{uuid.uuid4().hex[:6]}", PASSWORD, role="admin")
        db.session.commit()
        root = db.session.scalar(select(User.username).where(User.role == "admin"))
    admin = Browser(app, address())
    assert admin.login(root, PASSWORD).status_code == 302
    response = admin.client.get("/api/v1/audit?action=auth.lockout", environ_base={"REMOTE_ADDR": admin.ip})
    assert response.status_code == 200, response.get_data(as_text=True)
    (record,) = response.get_json()
    assert record["action"] == "auth.lockout" and record["action_label"] == "登录锁定"
    assert users["ann"] in record["summary"] and record["ip"] == browser.ip


def test_behind_a_proxy_the_forwarded_address_is_counted(app, users, tmp_path):
    """PROXIES=1: the address the proxy forwards is the one locked; without it the header is ignored."""
    from tests.conftest import make_app

    proxied = make_app(app.config["DATABASE_URL"], tmp_path, PROXIES=1)
    client = proxied.test_client()
    caller, proxy = address(), address()
    env = {"REMOTE_ADDR": proxy}
    token = _csrf(client.get("/admin/login/", environ_base=env).get_data(as_text=True))
    for _ in range(5):
        client.post("/admin/login/", environ_base=env, headers={"X-Forwarded-For": caller},
                    data={"csrf_token": token, "username": users["ann"], "password": "wrong password"})
    (record,) = lockouts(app)
    assert record.ip == caller and record.detail["ip"] == caller
    with proxied.app_context():
        db.session.remove()
        db.engine.dispose()
    # Not behind a proxy: a forged header changes nothing.
    browser = Browser(app, address())
    browser.client.post("/admin/login/", environ_base={"REMOTE_ADDR": browser.ip},
                        headers={"X-Forwarded-For": "203.0.113.9"},
                        data={"csrf_token": browser.token, "username": users["ben"], "password": "wrong"})
    for _ in range(4):
        browser.login(users["ben"], "wrong")
    assert [r.ip for r in lockouts(app)][-1] == browser.ip
