"""Security headers on every response, cookie options, and HTTPS when the site is served over it.

Every response — admin pages, the API, the documentation, error pages, static files — carries:

- ``Content-Security-Policy`` (:data:`CSP`): only this server's scripts, styles, images and fonts;
  inline scripts only with the request's nonce (Flask-Admin puts it on its ``<script>`` tags, see
  ``admin/__init__.py``), plus by hash the two inline bits Flask-Admin's templates still carry
  (``onclick="return false;"`` on the filter menu and ``href="javascript:void(0)"`` links:
  ``'unsafe-hashes'`` allows exactly those two strings, nothing else); no plugins, no ``<base>``, forms
  post only here, no framing. A page that sets its own policy keeps it (the API documentation pages
  do: Redoc needs ``'unsafe-eval'`` and a blob worker, and only those pages get them).
  Styles allow ``'unsafe-inline'``: Bootstrap, select2 and the templates set ``style`` attributes,
  and a style cannot run code.
- ``X-Frame-Options: DENY``, ``X-Content-Type-Options: nosniff``, ``Referrer-Policy: same-origin``
  (search terms in admin URLs never leave the site), ``Cross-Origin-Opener-Policy: same-origin``.
- With ``HTTPS`` on: ``Strict-Transport-Security``, and plain-HTTP requests are redirected to HTTPS
  (unless a TLS proxy says ``X-Forwarded-Proto: https``).

Behind ``PROXIES`` trusted reverse proxies, werkzeug's ``ProxyFix`` takes the caller's address and scheme
from their ``X-Forwarded-For`` / ``X-Forwarded-Proto`` (the sign-in throttle counts by that address, the
session and the audit log record it). With ``PROXIES`` at 0 those headers are ignored: a client cannot
choose the address it is counted under.

Cookies (the session, and flask-login's "remember me" cookie, which this service never sets): HttpOnly,
``SameSite=Lax``, ``Secure`` when ``HTTPS`` is on; a remember cookie could not outlive the absolute
session timeout, and could not sign anyone in anyway (see :mod:`rulesvc.websession`).

A small hook of our own rather than flask-talisman: talisman overwrites the policy a view set itself
(the documentation pages), and its per-view options cannot be attached to flask-smorest's views.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import secrets

from flask import Flask, Response, g, redirect, request
from flask.typing import ResponseReturnValue
from werkzeug.middleware.proxy_fix import ProxyFix

NONCE_BYTES = 16
HSTS = "max-age=31536000"
# Inline code Flask-Admin's Bootstrap 4 templates carry without a nonce (model/layout.html, list.html …).
ALLOWED_INLINE = ("return false;", "javascript:void(0)")


def _hash(source: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(source.encode("utf-8")).digest()).decode("ascii") + "'"


INLINE_HASHES = " ".join(_hash(source) for source in ALLOWED_INLINE)
CSP = (
    "default-src 'self'; script-src 'self' 'nonce-{nonce}' 'unsafe-hashes' " + INLINE_HASHES + "; "
    "style-src 'self' 'unsafe-inline'; img-src 'self' data:; font-src 'self' data:; connect-src 'self'; "
    "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
# What is not a page (JSON, CSV, a workbook, a file) runs no script: the same policy without the
# nonce, and no random number drawn for it (a syscall per API request).
CSP_NOT_HTML = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
    "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
HEADERS = {
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cross-Origin-Opener-Policy": "same-origin",
}


def csp_nonce() -> str:
    """The nonce of the current request's inline scripts (one per request)."""
    nonce = g.get("rulesvc_csp_nonce")
    if nonce is None:
        nonce = secrets.token_urlsafe(NONCE_BYTES)
        g.rulesvc_csp_nonce = nonce
    return nonce


def init_security(app: Flask) -> None:
    """Cookie options, the HTTPS redirect and the headers of every response."""
    https = bool(app.config.get("HTTPS"))
    absolute = dt.timedelta(hours=int(app.config["SESSION_ABSOLUTE_HOURS"]))
    # Set, not defaulted: Flask's own defaults (no SameSite) are already in the config.
    for prefix in ("SESSION_COOKIE", "REMEMBER_COOKIE"):
        app.config[f"{prefix}_HTTPONLY"] = True
        app.config[f"{prefix}_SAMESITE"] = "Lax"
        app.config[f"{prefix}_SECURE"] = https
    app.config["REMEMBER_COOKIE_DURATION"] = min(app.config.get("REMEMBER_COOKIE_DURATION") or absolute, absolute)
    app.jinja_env.globals["csp_nonce"] = csp_nonce
    proxies = int(app.config.get("PROXIES") or 0)
    if proxies > 0:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=proxies, x_proto=proxies)  # type: ignore[method-assign]

    if https:
        @app.before_request
        def _to_https() -> ResponseReturnValue | None:
            if _over_https():
                return None
            return redirect(request.url.replace("http://", "https://", 1), code=308)

    @app.after_request
    def _headers(response: Response) -> Response:
        headers = response.headers
        if "Content-Security-Policy" not in headers:
            page = response.mimetype in ("text/html", "application/xhtml+xml", "image/svg+xml")
            headers["Content-Security-Policy"] = CSP.format(nonce=csp_nonce()) if page else CSP_NOT_HTML
        for name, value in HEADERS.items():
            headers.setdefault(name, value)
        if https and _over_https():  # browsers ignore it over plain HTTP (RFC 6797)
            headers.setdefault("Strict-Transport-Security", HSTS)
        return response


def _over_https() -> bool:
    return request.is_secure or request.headers.get("X-Forwarded-Proto", "").lower() == "https"
