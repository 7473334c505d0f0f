"""The browser's side of the server-side sessions (:mod:`rulesvc.services.sessions`), for the admin UI
and the API alike.

- :func:`begin` (at sign-in): a new ``user_sessions`` row; the signed Flask session cookie keeps its
  token under :data:`TOKEN_KEY`, flask-login keeps the user id.
- :func:`load_user` (flask-login's user loader, on every request with the cookie): the user only while
  the row is live — not ended, idle and absolute timeouts not passed (see ``SESSION_IDLE_MINUTES``,
  ``SESSION_ABSOLUTE_HOURS``). Otherwise the request is anonymous and :func:`ended_reason` says why.
- :func:`end` (at sign-out): the row ends, so a copy of the cookie opens nothing any more.

The row is checked, ended or touched in a short transaction of its own, committed at once: never
mixed into the request's unit of work, never rolled back with it.
"""

from __future__ import annotations

import hmac

from flask import current_app, g, request, session
from flask_login import login_user
from sqlalchemy.orm import Session

from rulesvc.extensions import db
from rulesvc.persistence.models import User
from rulesvc.services import sessions

# The Flask session key holding the session token.
TOKEN_KEY = "rulesvc_sid"
_G_ENDED = "rulesvc_session_ended"
# flask-login's keys, dropped with the token when a session has ended.
_LOGIN_KEYS = ("_user_id", "_fresh", "_id", "_remember", "_remember_seconds")


def timeouts() -> sessions.Timeouts:
    config = current_app.config
    return sessions.Timeouts.of(int(config["SESSION_IDLE_MINUTES"]), int(config["SESSION_ABSOLUTE_HOURS"]))


def client_of_request() -> tuple[str, str]:
    """The caller's address and ``User-Agent`` (bounded), for the session row and the audit log."""
    return (request.remote_addr or "")[:64], (request.user_agent.string or "")[:300]


def begin(user: User) -> None:
    """Sign ``user`` in: a new server-side session, a fresh cookie (only the language choice survives)."""
    ip, client = client_of_request()
    token = sessions.start(db.session(), user, ip=ip, client=client)
    db.session.commit()
    lang = session.get("lang")
    session.clear()
    if lang:
        session["lang"] = lang
    session[TOKEN_KEY] = token
    login_user(user)


def end(reason: str = sessions.LOGOUT) -> None:
    """End the current request's server-side session (sign-out)."""
    token = session.get(TOKEN_KEY)
    if token:
        sessions.end(db.session(), token, reason)
        db.session.commit()


def load_user(user_id: str) -> User | None:
    """flask-login's user loader: the active user of a live session whose password has not changed
    since it began (``User.get_id`` is ``<id>.<stamp of the password hash>``)."""
    ident, _, stamp = (user_id or "").partition(".")
    try:
        uid = int(ident)
    except (TypeError, ValueError):
        return _forget("unknown")
    token = session.get(TOKEN_KEY)
    if not isinstance(token, str) or not token:
        return _forget("unknown")  # a cookie without a server-side session (e.g. from before them)
    with Session(db.engine) as own:
        result = sessions.check(own, token, timeouts())
        own.commit()
    if not result.live or result.user_id != uid:
        return _forget(result.ended or "unknown")
    user = db.session.get(User, uid)
    if user is None or not user.is_active:
        return _forget(sessions.DEACTIVATED)
    if not hmac.compare_digest(stamp, user.session_stamp):
        return _forget(sessions.PASSWORD)
    return user


def _forget(reason: str) -> User | None:
    """The request is anonymous (returns ``None``): say why (for the 401's message) and drop the dead
    session's keys."""
    setattr(g, _G_ENDED, reason)
    for key in (TOKEN_KEY, *_LOGIN_KEYS):
        session.pop(key, None)
    return None


def ended_reason() -> str | None:
    """Why the cookie of this request no longer signs anyone in (``logout``, ``idle``, ``absolute``,
    ``password``, ``deactivated``, ``unknown``), or ``None`` when it did or there was none."""
    return g.get(_G_ENDED)
