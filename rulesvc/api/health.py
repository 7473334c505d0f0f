"""``GET /api/v1/health``: is the service up, and do its database and Redis answer?

Each probe runs in its own daemon thread and gets about a second: a database or Redis that hangs makes
the check answer 503 in time instead of hanging the caller (a load balancer, a monitor).

The endpoint is public, so a failed probe's ``reason`` says only what kind of failure it was (no
answer in time, refused or failed connection, error) — never the driver's message, which names the
host, the port, the user or the database. The full message goes to the log.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

import marshmallow as ma
import redis
from flask import current_app
from flask_smorest import Blueprint
from sqlalchemy import text
from sqlalchemy.engine import Engine

import rulesvc
from rulesvc.extensions import db

log = logging.getLogger(__name__)

PROBE_TIMEOUT_S = 1.0
OK, UNAVAILABLE, NOT_CONFIGURED = "ok", "unavailable", "not_configured"

blp = Blueprint("health", __name__, url_prefix="/health", description="服务健康检查 (Service health)")


class DatabaseHealthSchema(ma.Schema):
    """The database probe."""

    status = ma.fields.String(required=True, validate=ma.validate.OneOf([OK, UNAVAILABLE]))
    dialect = ma.fields.String(required=True, metadata={"description": "sqlite or postgresql"})
    latency_ms = ma.fields.Float(required=True, allow_none=True)
    reason = ma.fields.String(metadata={"description": "Why the database is unavailable (the kind of failure; "
                                                       "details are in the server log)"})


class RedisHealthSchema(ma.Schema):
    """The Redis probe (``not_configured`` when ``REDIS_URL`` is unset)."""

    status = ma.fields.String(required=True, validate=ma.validate.OneOf([OK, UNAVAILABLE, NOT_CONFIGURED]))
    latency_ms = ma.fields.Float(required=True, allow_none=True)
    reason = ma.fields.String(metadata={"description": "Why Redis is unavailable (the kind of failure; "
                                                       "details are in the server log)"})


class HealthSchema(ma.Schema):
    """The health report."""

    status = ma.fields.String(
        required=True,
        validate=ma.validate.OneOf([OK, UNAVAILABLE]),
        metadata={"description": "ok when the database and a configured Redis both answer"},
    )
    version = ma.fields.String(required=True, metadata={"description": "rulesvc version"})
    database = ma.fields.Nested(DatabaseHealthSchema, required=True)
    redis = ma.fields.Nested(
        RedisHealthSchema, required=True, metadata={"description": "not_configured in embedded mode"}
    )


@blp.route("")
@blp.response(200, HealthSchema)
@blp.alt_response(503, schema=HealthSchema, description="The database or a configured Redis does not answer")
def health() -> tuple[dict[str, Any], int]:
    """Database and Redis reachability (200 ok, 503 unavailable)."""
    report = check_health(db.engine, current_app.config.get("REDIS_URL"))
    return report, 200 if report["status"] == OK else 503


def check_health(engine: Engine, redis_url: str | None, timeout: float = PROBE_TIMEOUT_S) -> dict[str, Any]:
    """Probe the database and (when configured) Redis concurrently; each must answer within ``timeout``."""
    probes: dict[str, Callable[[], dict[str, Any]]] = {"database": lambda: _probe_database(engine, timeout)}
    if redis_url:
        probes["redis"] = lambda: _probe_redis(redis_url, timeout)
    results = _run_with_deadline(probes, timeout)
    database = {"dialect": engine.dialect.name, **results["database"]}
    redis_result = results.get("redis") or {"status": NOT_CONFIGURED, "latency_ms": None}
    healthy = database["status"] == OK and redis_result["status"] in (OK, NOT_CONFIGURED)
    for name, result in (("database", database), ("redis", redis_result)):
        if result["status"] == UNAVAILABLE:
            log.warning("health: %s unavailable: %s", name, result.get("reason"))
    return {
        "status": OK if healthy else UNAVAILABLE,
        "version": rulesvc.__version__,
        "database": database,
        "redis": redis_result,
    }


def _probe_database(engine: Engine, timeout: float) -> dict[str, Any]:
    start = time.perf_counter()
    with engine.connect() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(text(f"SET LOCAL statement_timeout = {int(timeout * 1000)}"))
        conn.execute(text("SELECT 1"))
    return {"status": OK, "latency_ms": _ms_since(start)}


def _probe_redis(url: str, timeout: float) -> dict[str, Any]:
    start = time.perf_counter()
    client = redis.Redis.from_url(url, socket_connect_timeout=timeout, socket_timeout=timeout)
    try:
        client.ping()
    finally:
        client.close()
    return {"status": OK, "latency_ms": _ms_since(start)}


def _ms_since(start: float) -> float:
    return round((time.perf_counter() - start) * 1000, 2)


def _run_with_deadline(
    probes: dict[str, Callable[[], dict[str, Any]]], timeout: float
) -> dict[str, dict[str, Any]]:
    """Run the probes in parallel daemon threads; a probe that raises or overruns is ``unavailable``."""
    results: dict[str, dict[str, Any]] = {}

    def run(name: str, probe: Callable[[], dict[str, Any]]) -> None:
        try:
            results[name] = probe()
        except Exception as exc:  # any failure to answer is "unavailable", with a short public reason
            log.warning("health: %s probe failed: %s", name, _detail(exc))
            results[name] = {"status": UNAVAILABLE, "latency_ms": None, "reason": _reason(exc)}

    threads = [
        threading.Thread(target=run, args=(name, probe), name=f"health-{name}", daemon=True)
        for name, probe in probes.items()
    ]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + timeout + 0.5  # the probes' own timeouts should fire first
    for thread in threads:
        thread.join(max(0.0, deadline - time.monotonic()))
    timed_out = {"status": UNAVAILABLE, "latency_ms": None, "reason": f"no answer within {timeout:g} s"}
    return {name: dict(results.get(name) or timed_out) for name in probes}


def _detail(exc: BaseException) -> str:
    """The exception's class and first line, for the log (it may name hosts and ports)."""
    first_line = (str(exc).strip().splitlines() or [""])[0]
    return f"{type(exc).__name__}: {first_line}"[:300]


def _reason(exc: BaseException) -> str:
    """A public reason: the kind of failure only, never the driver's message (host, port, user …)."""
    original = getattr(exc, "orig", None) or exc
    names = {cls.__name__ for cls in type(original).__mro__} | {cls.__name__ for cls in type(exc).__mro__}
    if names & {"TimeoutError", "ConnectionTimeout", "QueryCanceled"}:
        return "timeout: no answer in time"
    if names & {"ConnectionError", "OperationalError", "ConnectionRefusedError", "OSError", "InterfaceError"}:
        return "connection failed"
    return "error: " + type(exc).__name__
