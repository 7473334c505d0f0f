"""Counters of the sign-in throttle kept in the database, for a server without Redis: every worker
process sees the same counts, and a worker restart forgets nothing.

A moving window, as ``limits`` defines it for its storages (``acquire_entry`` / ``get_moving_window`` /
``clear``): one row per counted attempt, with its time; the rows older than the window are deleted as
the key is next touched. Each call is its own short transaction, apart from the request's work.
"""

from __future__ import annotations

import time

from limits.storage import MovingWindowSupport, Storage
from sqlalchemy import Engine, delete, func, insert, select
from sqlalchemy.exc import SQLAlchemyError

from rulesvc.persistence.models import LoginCount


class SqlMovingWindow(Storage, MovingWindowSupport):
    """A ``limits`` storage for :class:`limits.strategies.MovingWindowRateLimiter` (the fixed-window
    methods are there because the base class asks for them; the throttle uses the moving window)."""

    STORAGE_SCHEME = None

    def __init__(self, engine: Engine) -> None:
        super().__init__()
        self.engine = engine

    @property
    def base_exceptions(self) -> type[Exception]:
        return SQLAlchemyError

    def incr(self, key: str, expiry: int, amount: int = 1) -> int:
        self.acquire_entry(key, 2**31, expiry, amount)
        return self.get_moving_window(key, 2**31, expiry)[1]

    def get(self, key: str) -> int:
        with self.engine.connect() as conn:
            return int(conn.scalar(select(func.count()).select_from(LoginCount).where(LoginCount.key == key)) or 0)

    def get_expiry(self, key: str) -> float:
        return time.time()

    def check(self) -> bool:
        return True

    def reset(self) -> int | None:
        with self.engine.begin() as conn:
            conn.execute(delete(LoginCount))
        return None

    def acquire_entry(self, key: str, limit: int, expiry: int, amount: int = 1) -> bool:
        now = time.time()
        with self.engine.begin() as conn:
            conn.execute(delete(LoginCount).where(LoginCount.key == key, LoginCount.at <= now - expiry))
            count = conn.scalar(select(func.count()).select_from(LoginCount).where(LoginCount.key == key)) or 0
            if count + amount > limit:
                return False
            conn.execute(insert(LoginCount), [{"key": key, "at": now}] * amount)
        return True

    def get_moving_window(self, key: str, limit: int, expiry: int) -> tuple[float, int]:
        now = time.time()
        with self.engine.connect() as conn:
            first, count = conn.execute(select(func.min(LoginCount.at), func.count()).where(
                LoginCount.key == key, LoginCount.at > now - expiry)).one()
        return (float(first) if first is not None else now), int(count or 0)

    def clear(self, key: str) -> None:
        with self.engine.begin() as conn:
            conn.execute(delete(LoginCount).where(LoginCount.key == key))
