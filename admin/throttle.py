"""Sign-in throttling and lockout for ``/admin/login/`` (the ``limits`` library's storage and strategies).

Failed sign-ins are counted twice, over a moving window of ``LOGIN_WINDOW_MINUTES`` (15):

- per **user name** (normalised as at sign-in, whether or not such a user exists): the
  ``LOGIN_FAILURES_PER_USER``-th failure (5) locks that name for ``LOGIN_LOCKOUT_MINUTES`` (15), from
  every address — guessing one account's password from many addresses gets 5 tries per 15 minutes;
- per **address**: the ``LOGIN_FAILURES_PER_IP``-th failure (30) locks the address for every name —
  trying many names from one address gets 30 tries.

A locked attempt is answered 429 with ``Retry-After`` before the password is even checked, so a lock
reveals nothing about the password (nor whether the name exists). A successful sign-in clears its own
name's failures (never the address's: one valid account must not reset an attacker's address), and is
never slowed by other names' failures unless its address is locked. Each lock is one record in the
audit log (``auth.lockout``).

Storage: Redis when ``RULESVC_REDIS_URL`` is set, else the database (``login_counts``): either way
every worker process of the server shares the counters and a worker restart forgets nothing. When the
storage fails mid-way the counters fall back to this process's memory (logged), rather than letting
every attempt through or failing every sign-in.
"""

from __future__ import annotations

import datetime as dt
import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Any, TypeVar

from flask import current_app
from limits import parse
from limits.storage import MemoryStorage
from limits.strategies import MovingWindowRateLimiter, RateLimiter
from sqlalchemy import select

from rulesvc.extensions import db, limiter
from rulesvc.persistence.models import User
from rulesvc.persistence.throttle import SqlMovingWindow
from rulesvc.services.governance import audit
from rulesvc.services.governance.access import Actor

log = logging.getLogger(__name__)
T = TypeVar("T")

LOCKOUT_ACTION = "auth.lockout"
_FALLBACK = "rulesvc_login_fallback"


@dataclass(frozen=True)
class Lock:
    """A lock in force: on a user name or an address, for ``seconds`` more."""

    scope: str  # "user" or "ip"
    seconds: int

    @property
    def minutes(self) -> int:
        return max(1, math.ceil(self.seconds / 60))


_SQL_STRATEGY = "rulesvc_login_sql"


def _strategy() -> RateLimiter:
    """Redis when configured (``rulesvc.extensions.limiter``); else the database, which every worker process of
    the server shares and a restart does not empty (memory would count per process)."""
    if current_app.config.get("REDIS_URL"):
        return limiter()
    strategy = current_app.extensions.get(_SQL_STRATEGY)
    if strategy is None:
        strategy = MovingWindowRateLimiter(SqlMovingWindow(db.engine))
        current_app.extensions[_SQL_STRATEGY] = strategy
    return strategy


class LoginThrottle:
    """The counters of the current app (read its settings once per request)."""

    def __init__(self) -> None:
        config = current_app.config
        window = int(config["LOGIN_WINDOW_MINUTES"])
        self.per_user = int(config["LOGIN_FAILURES_PER_USER"])
        self.per_ip = int(config["LOGIN_FAILURES_PER_IP"])
        self.lockout_minutes = int(config["LOGIN_LOCKOUT_MINUTES"])
        self.failures = {"user": parse(f"{self.per_user}/{window} minutes"), "ip": parse(f"{self.per_ip}/{window} minutes")}
        self.lock_item = parse(f"1/{self.lockout_minutes} minutes")
        self.prefix = str(config.get("RATELIMIT_KEY_PREFIX") or "rulesvc")

    # -- the three moments of a sign-in -----------------------------------------------------------------

    def locked(self, username: str, ip: str) -> Lock | None:
        """The lock that refuses this attempt, if any (the address's first)."""
        for scope, key in (("ip", ip), ("user", username)):
            seconds = self._call(partial(self._lock_left, scope=scope, key=key))
            if seconds:
                return Lock(scope, seconds)
        return None

    def failed(self, username: str, ip: str, *, client: str = "") -> Lock | None:
        """Count a failed attempt; returns the lock it started (and writes it to the audit log), if any."""
        started: Lock | None = None
        for scope, key, limit in (("user", username, self.per_user), ("ip", ip, self.per_ip)):
            if self._call(partial(self._count_failure, scope=scope, key=key)):
                self._record(scope, username, ip, client, limit)
                started = started or Lock(scope, self.lockout_minutes * 60)
        return started

    def succeeded(self, username: str) -> None:
        """A successful sign-in forgets its own name's failures (not its address's)."""
        self._call(partial(self._clear, scope="user", key=username))

    # -- storage -----------------------------------------------------------------------------------------

    def _ids(self, kind: str, scope: str, key: str) -> tuple[str, ...]:
        return (self.prefix, f"login-{kind}-{scope}", key or "-")

    def _lock_left(self, strategy: RateLimiter, scope: str, key: str) -> int:
        ids = self._ids("lock", scope, key)
        if strategy.test(self.lock_item, *ids):
            return 0
        reset = strategy.get_window_stats(self.lock_item, *ids).reset_time
        return max(1, math.ceil(reset - time.time()))

    def _clear(self, strategy: RateLimiter, scope: str, key: str) -> None:
        strategy.clear(self.failures[scope], *self._ids("fail", scope, key))

    def _count_failure(self, strategy: RateLimiter, scope: str, key: str) -> bool:
        """Count one failure; True when it reached the limit (the key is locked from now on)."""
        item, ids = self.failures[scope], self._ids("fail", scope, key)
        strategy.hit(item, *ids)
        if strategy.test(item, *ids):
            return False
        strategy.hit(self.lock_item, *self._ids("lock", scope, key))
        strategy.clear(item, *ids)  # a fresh count once the lock is over
        return True

    def _call(self, operation: Callable[[RateLimiter], T]) -> T:
        try:
            return operation(_strategy())
        except Exception as exc:  # Redis down or failing: this process's memory, never no throttling
            log.warning("login throttle: storage failed (%s: %s); counting in memory", type(exc).__name__, exc)
            fallback = current_app.extensions.setdefault(_FALLBACK, MovingWindowRateLimiter(MemoryStorage()))
            return operation(fallback)

    # -- the audit log -------------------------------------------------------------------------------------

    def _record(self, scope: str, username: str, ip: str, client: str, failures: int) -> None:
        user = db.session.scalar(select(User).where(User.username == username)) if scope == "user" else None
        until = dt.datetime.now(dt.UTC) + dt.timedelta(minutes=self.lockout_minutes)
        if scope == "user":
            summary = f"用户名“{username}”登录失败 {failures} 次，锁定 {self.lockout_minutes} 分钟"
        else:
            summary = f"地址 {ip} 登录失败 {failures} 次，锁定 {self.lockout_minutes} 分钟"
        detail: dict[str, Any] = {"scope": scope, "username": username, "ip": ip, "failures": failures,
                                  "minutes": self.lockout_minutes, "until": until.isoformat(timespec="seconds"),
                                  "user_exists": user is not None if scope == "user" else None}
        actor = Actor(ref="system:login", name="登录限制 (sign-in throttle)", actions=frozenset(), scope=None,
                      ip=ip, client=client)
        audit.record(db.session(), actor, LOCKOUT_ACTION, summary=summary, detail=detail,
                     procuratorate_id=user.procuratorate_id if user is not None else None)
        db.session.commit()
        log.warning("login throttle: %s", summary)
