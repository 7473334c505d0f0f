"""Where simulation runs execute: RQ workers when Redis is configured, a background thread when not.

- **Server mode** (``RULESVC_REDIS_URL`` set): a run is an RQ job on the queue ``rulesvc-simulations``,
  executed by ``rulesvc worker`` (one or more processes beside gunicorn). If Redis does not answer when a
  run is asked for, the request fails with 503 and nothing is written — the embedded thread is *not*
  used in its place, since nobody would see that run's progress from the other workers' threads.
- **Embedded mode** (no Redis, ``make run``): a small pool of background threads in the service process.

Either way the job only carries the run id: everything else is in the run's row
(:func:`rulesvc.services.simulation.execute.execute`).
"""

from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Protocol

from rulesvc.catalogue import msg
from rulesvc.errors import Unavailable
from rulesvc.services.simulation.execute import SessionScope, Settings, execute

QUEUE = "rulesvc-simulations"
JOB_TIMEOUT = 4 * 3600  # seconds: a national multi-period run stays well inside


class Dispatcher(Protocol):
    mode: str

    def check(self) -> None:
        """Raise :class:`Unavailable` when runs cannot be started now."""

    def submit(self, run_id: int) -> str:
        """Start ``run_id`` (committed, queued) in the background; returns a job id."""


class ThreadDispatcher:
    """Runs in background threads of this process (embedded mode)."""

    mode = "thread"

    def __init__(self, scope: SessionScope, settings: Settings, workers: int = 2) -> None:
        self.scope, self.settings = scope, settings
        self.pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="simulation")

    def check(self) -> None:
        return None

    def submit(self, run_id: int) -> str:
        self.pool.submit(execute, self.scope, run_id, self.settings)
        return "thread"


class RqDispatcher:
    """Enqueues runs for ``rulesvc worker`` (server mode)."""

    mode = "rq"

    def __init__(self, redis_url: str, queue: str = QUEUE) -> None:
        self.redis_url, self.queue_name = redis_url, queue

    def _connection(self) -> Any:
        from redis import Redis

        return Redis.from_url(self.redis_url, socket_connect_timeout=2, socket_timeout=5)

    def check(self) -> None:
        from redis.exceptions import RedisError

        try:
            self._connection().ping()
        except (RedisError, OSError) as exc:
            raise Unavailable(msg("simulation.queue_down"), errors={"redis": [str(exc)[:200]]}) from None

    def submit(self, run_id: int) -> str:
        from redis.exceptions import RedisError
        from rq import Queue

        job_id = f"simulation-{run_id}-{uuid.uuid4().hex[:8]}"
        try:
            Queue(self.queue_name, connection=self._connection()).enqueue(
                "rulesvc.services.simulation.jobs.run_job", run_id, job_id=job_id, job_timeout=JOB_TIMEOUT,
                result_ttl=3600, failure_ttl=7 * 86400, description=f"模拟测评 #{run_id}")
        except (RedisError, OSError) as exc:
            raise Unavailable(msg("simulation.queue_down"), errors={"redis": [str(exc)[:200]]}) from None
        return job_id


# -- the worker side ---------------------------------------------------------------------------------

_WORKER: dict[str, Any] = {}


def configure_worker(scope: SessionScope, settings: Settings) -> None:
    """What :func:`run_job` uses in this process (set by ``rulesvc worker`` before it starts)."""
    _WORKER.update(scope=scope, settings=settings)


def run_job(run_id: int) -> str:
    """The RQ job: execute one run."""
    if "scope" not in _WORKER:
        raise RuntimeError("rulesvc worker is not configured (start it with `rulesvc worker`)")
    return execute(_WORKER["scope"], run_id, _WORKER["settings"])


def work(redis_url: str, *, burst: bool = False, queue: str = QUEUE, name: str | None = None) -> bool:
    """Process jobs until stopped (``burst``: until the queue is empty). Jobs run in this process
    (``SimpleWorker``): killing it kills the run, which its missing heartbeat then shows as failed."""
    from redis import Redis
    from rq import Queue, SimpleWorker

    conn = Redis.from_url(redis_url)
    worker = SimpleWorker([Queue(queue, connection=conn)], connection=conn, name=name)
    return bool(worker.work(burst=burst, with_scheduler=False, logging_level="WARNING"))


__all__ = ["QUEUE", "Dispatcher", "RqDispatcher", "ThreadDispatcher", "configure_worker", "run_job", "work"]
