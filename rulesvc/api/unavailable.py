"""A database that does not answer: 503 with ``Retry-After``, never a 500.

Any request that needs the database while it is down (refused, timed out, restarting, locked) gets:

- under ``/api/``: the JSON error envelope, ``status`` ``service_unavailable``, ``error_code``
  ``error.unavailable``;
- elsewhere (the admin UI): a plain page in Chinese and English — plain, because the admin's own
  templates ask for the signed-in user, which needs the database.

Both carry ``Retry-After`` (:data:`RETRY_AFTER_S`). The error itself (host, port, driver message) goes to
the log only. ``GET /api/v1/health`` keeps its own report (see :mod:`rulesvc.api.health`).

What counts as "unavailable": SQLAlchemy's ``OperationalError`` (psycopg's connection failures,
statement timeouts, server shutdown), ``InterfaceError`` (a closed connection), a connection
invalidated under a statement, and a pool timeout.
On SQLite only the errors of an unreachable or busy file do; its other ``OperationalError`` s (a
missing table or column) are bugs and stay 500s.
"""

from __future__ import annotations

import logging

from flask import Flask, Response, make_response
from markupsafe import escape
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from rulesvc.api.errors import envelope, is_api_request
from rulesvc.catalogue import msg
from rulesvc.extensions import db

log = logging.getLogger(__name__)

RETRY_AFTER_S = 30
STATUS = "service_unavailable"
# sqlite3.OperationalError messages that mean "cannot get at the file now", not "bad SQL".
SQLITE_UNAVAILABLE = ("database is locked", "unable to open database file", "disk i/o error", "database is busy")

PAGE = """<!doctype html>
<html lang="zh-CN">
<head><meta charset="utf-8"><title>503</title></head>
<body>
<h1>503</h1>
<p>{zh}</p>
<p lang="en">{en}</p>
</body>
</html>
"""


def is_unavailable(error: BaseException) -> bool:
    """Whether ``error`` says the database cannot be reached (rather than that a statement is wrong)."""
    if isinstance(error, PoolTimeout):
        return True
    if isinstance(error, DBAPIError) and error.connection_invalidated:
        return True
    if isinstance(error, InterfaceError):  # the driver's connection is closed or broken
        return True
    if not isinstance(error, OperationalError):
        return False
    original = error.orig
    if type(original).__module__.startswith("sqlite3"):
        text = str(original).lower()
        return any(marker in text for marker in SQLITE_UNAVAILABLE)
    return True


def handle_unavailable(error: Exception) -> Response:
    """503 + Retry-After: the envelope under /api/, a plain page elsewhere."""
    if not is_unavailable(error):
        raise error
    log.warning("database unavailable: %s: %s", type(error).__name__, str(error).splitlines()[0][:300])
    try:
        db.session.rollback()
    except Exception:  # the connection is gone: nothing to roll back
        log.debug("rollback after an unavailable database failed", exc_info=True)
    message = msg("error.unavailable")
    if is_api_request():
        response = envelope(503, STATUS, message.render(), error_code=message.code)
    else:
        page = PAGE.format(zh=escape(message.render("zh")), en=escape(message.render("en")))
        response = make_response(page, 503)
        response.content_type = "text/html; charset=utf-8"
    response.headers["Retry-After"] = str(RETRY_AFTER_S)
    return response


def register_unavailable(app: Flask) -> None:
    """Install the handler (called from :func:`rulesvc.create_app`)."""
    for error_class in (OperationalError, InterfaceError, PoolTimeout):
        app.register_error_handler(error_class, handle_unavailable)
