"""Security headers on every kind of page (admin, API, docs, errors, static files) and a Content-Security-
Policy the admin's own markup satisfies: inline scripts only with the request's nonce, inline handlers
and ``javascript:`` links only the two allowed by hash. The browser half of the proof is in
``tests/e2e/test_admin_browser.py`` (no CSP violation in Chromium's console).

Issue 9, finding 7: "no CSP / X-Frame-Options / X-Content-Type-Options / Referrer-Policy outside the
docs pages".
"""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from rulesvc.extensions import db
from rulesvc.persistence.models import User
from rulesvc.security import ALLOWED_INLINE
from rulesvc.services.users import create_user

PASSWORD = "correct horse battery"
HEADER_TESTER = "header_tester"
REQUIRED = {
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}


@pytest.fixture
def signed_in(demo_app):
    with demo_app.app_context():
        if db.session.scalar(select(User.id).where(User.username == HEADER_TESTER)) is None:
            create_user(db.session, HEADER_TESTER, PASSWORD, role="admin")
            db.session.commit()
    client = demo_app.test_client()
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', client.get("/admin/login/").get_data(as_text=True)).group(1)
    assert client.post("/admin/login/", data={"csrf_token": token, "username": HEADER_TESTER,
                                              "password": PASSWORD}).status_code == 302
    return client


def directives(csp: str) -> dict[str, list[str]]:
    out = {}
    for part in csp.split(";"):
        words = part.split()
        if words:
            out[words[0]] = words[1:]
    return out


def assert_secure_headers(response, where: str) -> dict[str, list[str]]:
    for name, value in REQUIRED.items():
        assert response.headers.get(name) == value, (where, name, response.headers.get(name))
    csp = response.headers.get("Content-Security-Policy")
    assert csp, where
    policy = directives(csp)
    assert policy["default-src"] == ["'self'"] and policy["object-src"] == ["'none'"], where
    assert "'unsafe-inline'" not in policy["script-src"], where
    return policy


PAGES = [
    ("anonymous", "get", "/admin/login/", 200),
    ("anonymous", "get", "/admin/", 302),
    ("anonymous", "get", "/admin/no-such-page/", 404),
    ("anonymous", "post", "/admin/logout/", 302),  # no CSRF token: sent back
    ("anonymous", "get", "/api/v1/health", 200),
    ("anonymous", "get", "/api/v1/me", 401),
    ("anonymous", "get", "/api/v1/no-such-thing", 404),
    ("anonymous", "post", "/api/docs/openapi.json", 405),
    ("anonymous", "put", "/admin/login/", 405),
    ("anonymous", "get", "/api/docs/openapi.json", 200),
    ("anonymous", "get", "/api/docs/swagger", 200),
    ("anonymous", "get", "/api/docs/redoc", 200),
    ("anonymous", "get", "/api/docs/assets/swagger-init.js", 200),
    ("anonymous", "get", "/admin/static/admin/js/helpers.js", 200),
    ("anonymous", "get", "/favicon.ico", 200),  # every page's console showed its 404 (a UI audit)
    ("signed_in", "get", "/admin/", 200),
    ("signed_in", "get", "/admin/procuratorates/", 200),
    ("signed_in", "get", "/admin/events/", 200),
    ("signed_in", "get", "/admin/users/", 200),
    ("signed_in", "get", "/admin/events/new/", 404),
    ("signed_in", "get", "/api/v1/me", 200),
    ("signed_in", "get", "/", 302),
]


@pytest.mark.parametrize(("who", "method", "path", "status"), PAGES)
def test_every_kind_of_response_carries_the_security_headers(demo_app, signed_in, who, method, path, status):
    client = signed_in if who == "signed_in" else demo_app.test_client()
    response = getattr(client, method)(path)
    response.close()  # static files are streamed
    assert response.status_code == status, (path, response.status_code)
    policy = assert_secure_headers(response, path)
    if path.startswith("/api/docs/") and path.endswith(("swagger", "redoc")):
        # The documentation pages keep their own policy: no inline script at all, Redoc's eval.
        assert not any(s.startswith("'nonce-") for s in policy["script-src"])
        assert ("'unsafe-eval'" in policy["script-src"]) is path.endswith("redoc")
    else:
        assert policy["frame-ancestors"] == ["'none'"] and policy["base-uri"] == ["'none'"]
        assert policy["form-action"] == ["'self'"]
        assert "'unsafe-eval'" not in policy["script-src"]


def _nonce(response) -> str:
    (nonce,) = [s[len("'nonce-"):-1] for s in directives(response.headers["Content-Security-Policy"])["script-src"]
                if s.startswith("'nonce-")]
    return nonce


@pytest.mark.parametrize("path", ["/admin/login/", "/admin/", "/admin/procuratorates/", "/admin/prosecutors/",
                                  "/admin/dictionary/", "/admin/datasets/", "/admin/events/", "/admin/users/",
                                  "/admin/procuratorates/?flt0_0=county"])
def test_admin_markup_runs_under_its_policy(demo_app, signed_in, path):
    client = signed_in if path != "/admin/login/" else demo_app.test_client()
    response = client.get(path)
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    nonce = _nonce(response)
    scripts = re.findall(r"<script\b([^>]*)>", html)
    assert scripts, "the admin pages load their scripts"
    for attributes in scripts:
        assert f'nonce="{nonce}"' in attributes, attributes  # inline or not, every script has the nonce
    handlers = re.findall(r'\son[a-z]+="([^"]*)"', html)
    assert set(handlers) <= set(ALLOWED_INLINE), handlers
    links = re.findall(r'href="(javascript:[^"]*)"', html)
    assert set(links) <= set(ALLOWED_INLINE), links
    assert f"'nonce-{nonce}'" in response.headers["Content-Security-Policy"]


def test_the_nonce_changes_with_every_request(demo_app):
    client = demo_app.test_client()
    nonces = {_nonce(client.get("/admin/login/")) for _ in range(5)}
    assert len(nonces) == 5 and all(len(n) >= 16 for n in nonces)


def test_allowed_inline_hashes_are_in_the_policy(demo_app):
    import base64
    import hashlib

    policy = demo_app.test_client().get("/admin/login/").headers["Content-Security-Policy"]
    for source in ALLOWED_INLINE:
        digest = base64.b64encode(hashlib.sha256(source.encode()).digest()).decode()
        assert f"'sha256-{digest}'" in policy
    assert "'unsafe-hashes'" in policy


def test_the_icon_browsers_ask_for_is_there_and_every_page_names_it(demo_app):
    client = demo_app.test_client()
    icon = client.get("/favicon.ico")
    assert icon.status_code == 200 and icon.mimetype == "image/svg+xml" and icon.data.startswith(b"<svg")
    login = client.get("/admin/login/").get_data(as_text=True)
    assert '<link rel="icon" type="image/svg+xml" href="/admin/assets/favicon.svg">' in login
    assert client.get("/admin/assets/favicon.svg").status_code == 200
