"""Signed-in sessions held server-side, so that they can end: at sign-out, on a new password, when the
user is deactivated, after an idle or an absolute timeout.

Signing in creates a :class:`~rulesvc.persistence.models.UserSession` and a random token; the browser
keeps only the token (in the signed session cookie), the database only its sha256. Every request with
the cookie looks the row up (:func:`check`): a row that has ended, or whose timeouts have passed, makes
the request anonymous — a cookie saved before sign-out opens nothing.

``last_seen_at`` is written at most once per :data:`TOUCH_INTERVAL` (not on every request), so the
idle timeout is exact to that interval.

Nothing here knows Flask; times are UTC. Functions flush, the caller commits.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from dataclasses import dataclass

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from rulesvc.persistence.models import User, UserSession

TOKEN_BYTES = 32
TOUCH_INTERVAL = dt.timedelta(minutes=1)
# Why a session ended (user_sessions.end_reason).
LOGOUT, PASSWORD, IDLE, ABSOLUTE, DEACTIVATED = "logout", "password", "idle", "absolute", "deactivated"
END_REASONS = (LOGOUT, PASSWORD, IDLE, ABSOLUTE, DEACTIVATED)


@dataclass(frozen=True)
class Timeouts:
    """How long a session lives: ``idle`` without a request, ``absolute`` after sign-in."""

    idle: dt.timedelta
    absolute: dt.timedelta

    @classmethod
    def of(cls, idle_minutes: int, absolute_hours: int) -> Timeouts:
        return cls(dt.timedelta(minutes=idle_minutes), dt.timedelta(hours=absolute_hours))


@dataclass(frozen=True)
class Check:
    """The outcome of :func:`check`: ``user_id`` of a live session, else why it is not live
    (``unknown`` for a token no row has, else the row's ``end_reason``)."""

    user_id: int | None
    ended: str | None = None

    @property
    def live(self) -> bool:
        return self.user_id is not None


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def token_id(token: str) -> str:
    """The row id of a token: its sha256 (the token itself is never stored)."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def _aware(value: dt.datetime) -> dt.datetime:
    # SQLite gives naive datetimes back: they were written in UTC.
    return value if value.tzinfo is not None else value.replace(tzinfo=dt.UTC)


def start(session: Session, user: User, *, ip: str = "", client: str = "", now: dt.datetime | None = None) -> str:
    """A new session for ``user``; returns its token (to put in the cookie, and nowhere else)."""
    token = secrets.token_urlsafe(TOKEN_BYTES)
    at = now or utcnow()
    session.add(UserSession(id=token_id(token), user_id=user.id, created_at=at, last_seen_at=at,
                            ip=(ip or "")[:64], client=(client or "")[:300]))
    session.flush()
    return token


def check(session: Session, token: str, timeouts: Timeouts, *, now: dt.datetime | None = None) -> Check:
    """Whether ``token`` is a live session. A timeout that has passed ends the row (reason ``idle`` or
    ``absolute``); a live row seen longer than :data:`TOUCH_INTERVAL` ago gets a new ``last_seen_at``."""
    row = session.get(UserSession, token_id(token)) if token else None
    if row is None:
        return Check(None, "unknown")
    if row.ended_at is not None:
        return Check(None, row.end_reason or LOGOUT)
    at = now or utcnow()
    reason = None
    if at - _aware(row.created_at) >= timeouts.absolute:
        reason = ABSOLUTE
    elif at - _aware(row.last_seen_at) >= timeouts.idle:
        reason = IDLE
    if reason is not None:
        row.ended_at, row.end_reason = at, reason
        session.flush()
        return Check(None, reason)
    if at - _aware(row.last_seen_at) >= TOUCH_INTERVAL:
        row.last_seen_at = at
        session.flush()
    return Check(row.user_id)


def end(session: Session, token: str, reason: str = LOGOUT, *, now: dt.datetime | None = None) -> bool:
    """End one session (sign-out). Returns whether a live one was ended."""
    if not token:
        return False
    result = session.execute(
        update(UserSession)
        .where(UserSession.id == token_id(token), UserSession.ended_at.is_(None))
        .values(ended_at=now or utcnow(), end_reason=reason)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


def end_all(session: Session, user_id: int, reason: str, *, now: dt.datetime | None = None) -> int:
    """End every live session of a user (new password, deactivation). Returns how many ended."""
    result = session.execute(
        update(UserSession)
        .where(UserSession.user_id == user_id, UserSession.ended_at.is_(None))
        .values(ended_at=now or utcnow(), end_reason=reason)
        .execution_options(synchronize_session="fetch")
    )
    return int(result.rowcount)  # type: ignore[attr-defined]


def live_count(session: Session, user_id: int) -> int:
    """How many sessions of the user have not ended (some may have timed out unnoticed)."""
    return int(session.scalar(select(func.count()).select_from(UserSession).where(
        UserSession.user_id == user_id, UserSession.ended_at.is_(None))) or 0)


__all__ = ["ABSOLUTE", "DEACTIVATED", "END_REASONS", "IDLE", "LOGOUT", "PASSWORD", "TOUCH_INTERVAL", "Check",
           "Timeouts", "check", "end", "end_all", "live_count", "start", "token_id"]
