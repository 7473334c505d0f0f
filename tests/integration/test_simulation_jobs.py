"""Where simulation runs execute, with the real pieces: Redis, `rulesvc worker` processes (RQ
SimpleWorker), PostgreSQL/SQLite, and a SIGKILL.

- Server mode (``REDIS_URL`` set): a run is queued, a worker process executes it; a worker killed in the
  middle of a run leaves no results, the missing heartbeat shows the run as failed
  (``simulation.interrupted``) and retryable, and asking again requeues the same run for another worker;
  a running run is cancelled at its next step with nothing written; a run not done yet has no results
  to read (409).
- Redis configured but down: 503 with Retry-After and no run — never the embedded thread instead.
- Embedded mode (no Redis): the service's own thread runs it.

The tests that need Redis skip, saying so, when it does not answer; the SIGKILL and cancel tests need a
run lasting seconds, so they use a generated demo province (1 year) on PostgreSQL, in a database of
their own (skipped, saying so, when PostgreSQL does not answer)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import pytest
from sqlalchemy import func, select

from rulesvc.extensions import db
from rulesvc.persistence.models import SimulationRun, SimulationSubject
from rulesvc.services.simulation.jobs import QUEUE, RqDispatcher, ThreadDispatcher
from tests.conftest import make_app, migrate_and_load_dictionary
from tests.integration.simhelpers import (
    BASELINE,
    CANDIDATE,
    PEOPLE,
    import_province,
    make_keys,
    new_draft,
    new_scheme,
    ok,
    refused,
    remove_runs,
    scheme_doc,
    simulate,
    wait_for,
)

RULESVC = Path(sys.executable).with_name("rulesvc")
STALE = 3  # seconds without a heartbeat before a running run counts as dead


def jobs_redis(url: str) -> str:
    """The test Redis, on a database of these tests' own (other tests' queued jobs never reach our
    workers, ours never theirs): 8 below the pytest worker's own (gw0: 15 → 7, gw1: 14 → 6, …), so that
    two pytest workers running job tests at once never share a queue (a fixed database 13 let one test's
    burst worker take, or its ``empty_queue`` drop, the other's run)."""
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=f"/{(int(parts.path.strip('/') or 0) - 8) % 16}"))


def empty_queue(url: str) -> None:
    from redis import Redis
    from rq import Queue

    conn = Redis.from_url(url)
    Queue(QUEUE, connection=conn).empty()
    conn.close()


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]  # closed again when the block ends: nothing listens there


class Worker:
    """``rulesvc worker`` as a child process on the app's database and the given Redis."""

    def __init__(self, app, redis_url: str, *, burst: bool = False) -> None:
        env = {**os.environ, "RULESVC_DATABASE_URL": app.config["DATABASE_URL"], "RULESVC_REDIS_URL": redis_url,
               "RULESVC_INSTANCE_PATH": app.instance_path, "RULESVC_SIMULATION_STALE_SECONDS": str(STALE),
               "RULESVC_SECRET_KEY": "worker-test-secret"}
        args = [str(RULESVC), "worker", *(["--burst"] if burst else [])]
        self.proc = subprocess.Popen(args, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                     start_new_session=True)

    def wait(self, timeout: float = 120) -> str:
        out, _ = self.proc.communicate(timeout=timeout)
        return out.decode("utf-8", "replace")

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
        self.proc.communicate(timeout=30)


def subject_rows(app, run_id: int) -> int:
    with app.app_context():
        try:
            return db.session.scalar(select(func.count()).select_from(SimulationSubject)
                                     .where(SimulationSubject.run_id == run_id)) or 0
        finally:
            db.session.remove()


def run_rows(app) -> int:
    with app.app_context():
        try:
            return db.session.scalar(select(func.count()).select_from(SimulationRun)) or 0
        finally:
            db.session.remove()


def wait_status(client, headers, run_id: int, wanted: str, timeout: float = 60) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        run = ok(client.get(f"/api/v1/simulations/{run_id}", headers=headers))
        if run["status"] == wanted:
            return run
        assert run["status"] in ("queued", "running"), run
        assert time.monotonic() < deadline, f"run {run_id} not {wanted} after {timeout}s: {run['status']}"
        time.sleep(0.05)


@pytest.fixture
def stale_env(monkeypatch):
    monkeypatch.setenv("RULESVC_SIMULATION_STALE_SECONDS", str(STALE))


def _app_on(app, tmp_path: Path, redis_url: str | None):
    return make_app(app.config["DATABASE_URL"], tmp_path / "instance", REDIS_URL=redis_url)


def _close(app) -> None:
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def small(app, tmp_path):
    """The small imported province on the ``app`` fixture's database, with keys; version 1 (baseline
    parameters) and 2 (candidate) drafts, made through an app of its own (clean-up: runs removed)."""
    setup = _app_on(app, tmp_path, None)
    import_province(setup, tmp_path / "files")
    keys = make_keys(setup)
    c = setup.test_client()
    v1 = new_scheme(c, keys["province"], scheme_doc(**BASELINE))
    v2 = new_draft(c, keys["province"], scheme_doc(**CANDIDATE))
    yield {"keys": keys, "v1": v1, "v2": v2}
    remove_runs(setup)
    _close(setup)


# -- server mode, small ----------------------------------------------------------------------------------


def test_a_queued_run_is_executed_by_a_worker_process(small, app, redis_url, tmp_path):
    url = jobs_redis(redis_url)
    empty_queue(url)
    server = _app_on(app, tmp_path / "server", url)
    try:
        assert isinstance(server.extensions["rulesvc.simulations"], RqDispatcher)
        c, k = server.test_client(), small["keys"]
        body = {"candidate_version_id": small["v2"]["id"], "periods": "2020", "baseline": small["v1"]["id"]}
        asked = ok(c.post("/api/v1/simulations", headers=k["province"], json=body), 202)
        assert asked["status"] == "queued" and asked["progress"]["phase"] == "queued" and asked["attempts"] == 0
        # Nothing runs it yet: it waits, and has no results to read.
        time.sleep(0.3)
        run_id = asked["id"]
        assert ok(c.get(f"/api/v1/simulations/{run_id}", headers=k["province"]))["status"] == "queued"
        for path in ("subjects", "subjects/P01/why", "export", "export?format=csv"):
            body409 = refused(c.get(f"/api/v1/simulations/{run_id}/{path}", headers=k["province"]), 409,
                              "simulation.not_done")
            assert body409["errors"]["status"] == ["queued"]
        refused(c.post(f"/api/v1/simulations/{run_id}/lock-in", headers=k["province"], json={"subjects": ["P01"]}),
                409, "simulation.not_done")
        # Asked again while queued: the same run, not queued twice.
        again = ok(c.post("/api/v1/simulations", headers=k["province"], json=body), 200)
        assert again["id"] == run_id and again["status"] == "queued"

        worker = Worker(server, url, burst=True)
        output = worker.wait()
        assert worker.proc.returncode == 0, output
        run = ok(c.get(f"/api/v1/simulations/{run_id}", headers=k["province"]))
        assert run["status"] == "succeeded", (run, output)
        assert run["attempts"] == 1 and run["subjects"] == len(PEOPLE) and subject_rows(server, run_id) == len(PEOPLE)
        assert len(ok(c.get(f"/api/v1/simulations/{run_id}/subjects", headers=k["province"]))) == len(PEOPLE)
    finally:
        _close(server)


def test_cancelling_a_queued_run_and_asking_again_requeues_the_same_run(small, app, redis_url, tmp_path):
    url = jobs_redis(redis_url)
    empty_queue(url)
    server = _app_on(app, tmp_path / "server", url)
    try:
        c, k = server.test_client(), small["keys"]
        body = {"candidate_version_id": small["v2"]["id"], "periods": "2020"}
        asked = ok(c.post("/api/v1/simulations", headers=k["province"], json=body), 202)
        cancelled = ok(c.post(f"/api/v1/simulations/{asked['id']}/cancel", headers=k["province"], json={}))
        assert cancelled["status"] == "cancelled" and cancelled["retryable"] is True
        assert cancelled["error"]["code"] == "simulation.cancelled"
        refused(c.post(f"/api/v1/simulations/{asked['id']}/cancel", headers=k["province"], json={}), 409,
                "simulation.finished")
        # Its job is still in the queue: a worker taking it leaves the cancelled run alone.
        worker = Worker(server, url, burst=True)
        worker.wait()
        assert ok(c.get(f"/api/v1/simulations/{asked['id']}", headers=k["province"]))["status"] == "cancelled"
        assert subject_rows(server, asked["id"]) == 0
        # Asked again: the same run, queued again (202), then done by a worker.
        requeued = ok(c.post("/api/v1/simulations", headers=k["province"], json=body), 202)
        assert requeued["id"] == asked["id"] and requeued["status"] == "queued" and requeued["error"] is None
        worker = Worker(server, url, burst=True)
        worker.wait()
        done = ok(c.get(f"/api/v1/simulations/{asked['id']}", headers=k["province"]))
        assert done["status"] == "succeeded" and done["attempts"] == 1 and done["retryable"] is False
    finally:
        _close(server)


def test_redis_configured_but_down_answers_503_and_creates_no_run(small, app, tmp_path):
    down = f"redis://127.0.0.1:{closed_port()}/0"
    server = _app_on(app, tmp_path / "server", down)
    try:
        assert isinstance(server.extensions["rulesvc.simulations"], RqDispatcher)
        c, k = server.test_client(), small["keys"]
        response = c.post("/api/v1/simulations", headers=k["province"],
                          json={"candidate_version_id": small["v2"]["id"], "periods": "2020"})
        body = refused(response, 503, "simulation.queue_down")
        assert int(response.headers["Retry-After"]) > 0
        assert run_rows(server) == 0  # nothing written, and no thread ran it instead
        time.sleep(0.3)
        assert run_rows(server) == 0 and ok(c.get("/api/v1/simulations", headers=k["province"])) == []
        assert "redis" in body["errors"]
    finally:
        _close(server)


def test_without_redis_the_service_thread_runs_it(small, app, tmp_path):
    embedded = _app_on(app, tmp_path / "embedded", None)
    try:
        assert isinstance(embedded.extensions["rulesvc.simulations"], ThreadDispatcher)
        c, k = embedded.test_client(), small["keys"]
        asked = simulate(c, k["province"], small["v2"]["id"], "2020", baseline=small["v1"]["id"])
        run = wait_for(c, k["province"], asked["id"])
        assert run["status"] == "succeeded" and run["subjects"] == len(PEOPLE)
    finally:
        _close(embedded)


# -- server mode, a run lasting seconds: SIGKILL and cancel ----------------------------------------------------


@pytest.fixture(scope="module")
def big(pg_server, tmp_path_factory):
    """A PostgreSQL database of its own with a generated demo province (a year), a draft of the shipped
    template and a draft changing one weight; runs of its 12 months take seconds."""
    if pg_server is None:
        pytest.skip("PostgreSQL not available: the worker tests need a run lasting seconds on a server database")
    from rulesvc.config import PROJECT_ROOT
    from rulesvc.datagen.demo import DemoConfig, generate_and_load
    from rulesvc.schema.scheme import read_document

    url = pg_server.new_database("simjobs")
    folder = tmp_path_factory.mktemp("simjobs")
    setup = make_app(url, folder / "instance", REDIS_URL=None)
    migrate_and_load_dictionary(setup)
    with setup.app_context():
        generate_and_load(DemoConfig(seed=11, prosecutors=400, months=12))
    keys = make_keys(setup)
    c = setup.test_client()
    path = PROJECT_ROOT / "rules" / "schemes" / "province-prosecutor-template.yaml"
    doc = read_document(path.read_text("utf-8"), source=path.name)
    v1 = new_scheme(c, keys["province"], doc, code="SIM-BIG")
    changed = {**doc, "dimensions": {**doc["dimensions"], "quality": {**doc["dimensions"]["quality"], "weight": 50}}}
    v2 = new_draft(c, keys["province"], changed, code="SIM-BIG")
    _close(setup)
    yield {"url": url, "folder": folder, "keys": keys, "v1": v1, "v2": v2}


@pytest.mark.slow
def test_a_killed_worker_leaves_nothing_and_the_run_fails_then_requeues(big, redis_url, stale_env, tmp_path):
    url = jobs_redis(redis_url)
    empty_queue(url)
    server = make_app(big["url"], big["folder"] / "instance", REDIS_URL=url)
    worker = None
    try:
        c, k = server.test_client(), big["keys"]
        body = {"candidate_version_id": big["v2"]["id"], "baseline": big["v1"]["id"], "periods": "2020-01..2020-12"}
        asked = ok(c.post("/api/v1/simulations", headers=k["province"], json=body), 202)
        run_id = asked["id"]
        worker = Worker(server, url)
        running = wait_status(c, k["province"], run_id, "running")
        assert running["attempts"] == 1 and running["started_at"]
        time.sleep(1.0)  # well into the months
        mid = ok(c.get(f"/api/v1/simulations/{run_id}", headers=k["province"]))
        assert mid["status"] == "running", "the run finished before it could be killed: make it bigger"
        worker.proc.send_signal(signal.SIGKILL)
        worker.kill()
        # Read at once: its last heartbeat is recent, it still counts as running.
        assert ok(c.get(f"/api/v1/simulations/{run_id}", headers=k["province"]))["status"] == "running"
        failed = wait_status(c, k["province"], run_id, "failed", timeout=STALE * 5)
        assert failed["error"]["code"] == "simulation.interrupted" and failed["retryable"] is True
        assert failed["result_hash"] is None and failed["subjects"] == 0 and failed["report"] is None
        assert subject_rows(server, run_id) == 0
        refused(c.get(f"/api/v1/simulations/{run_id}/subjects", headers=k["province"]), 409, "simulation.not_done")
        listed = ok(c.get("/api/v1/simulations?status=failed", headers=k["province"]))
        assert [r["id"] for r in listed] == [run_id]

        # Asked again: the same run, queued again; a new worker completes it.
        again = ok(c.post("/api/v1/simulations", headers=k["province"], json=body), 202)
        assert again["id"] == run_id and again["status"] == "queued" and again["attempts"] == 1
        worker = Worker(server, url, burst=True)
        output = worker.wait(timeout=180)
        done = ok(c.get(f"/api/v1/simulations/{run_id}", headers=k["province"]))
        assert done["status"] == "succeeded", (done, output)
        assert done["attempts"] == 2 and done["error"] is None and len(done["report"]["periods"]) == 12
        assert subject_rows(server, run_id) == done["subjects"] > 0
    finally:
        if worker is not None:
            worker.kill()
        with server.app_context():
            db.session.remove()
        remove_runs(server)
        _close(server)


@pytest.mark.slow
def test_cancelling_a_running_run_stops_it_with_nothing_written(big, redis_url, stale_env):
    url = jobs_redis(redis_url)
    empty_queue(url)
    server = make_app(big["url"], big["folder"] / "instance", REDIS_URL=url)
    worker = None
    try:
        c, k = server.test_client(), big["keys"]
        body = {"candidate_version_id": big["v2"]["id"], "baseline": big["v1"]["id"], "periods": "2020-01..2020-12",
                "options": {"top": 7}}
        asked = ok(c.post("/api/v1/simulations", headers=k["province"], json=body), 202)
        run_id = asked["id"]
        worker = Worker(server, url)
        wait_status(c, k["province"], run_id, "running")
        asking = ok(c.post(f"/api/v1/simulations/{run_id}/cancel", headers=k["province"], json={}))
        assert asking["status"] == "running" and asking["cancel_requested"] is True
        assert "正在取消" in asking["status_label"]
        cancelled = wait_status(c, k["province"], run_id, "cancelled", timeout=60)
        assert cancelled["error"]["code"] == "simulation.cancelled" and cancelled["retryable"] is True
        assert cancelled["result_hash"] is None and cancelled["report"] is None
        assert subject_rows(server, run_id) == 0
        assert worker.proc.poll() is None  # the worker lives on, ready for the next run
    finally:
        if worker is not None:
            worker.kill()
        remove_runs(server)
        _close(server)
