"""``rulesvc serve`` as a deployment runs it: gunicorn with the project's settings module, answering."""

from __future__ import annotations

import http.client
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from rulesvc import gunicorn_conf
from rulesvc.gunicorn_conf import CLOSE_EVERY

RULESVC = Path(sys.executable).with_name("rulesvc")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _serve(tmp_path: Path, *extra: str) -> tuple[subprocess.Popen, int, Path]:
    """``rulesvc serve`` (one worker, no demo) on a free port, answering its health check."""
    port = _free_port()
    env = {**os.environ, "RULESVC_INSTANCE_PATH": str(tmp_path)}
    env.pop("RULESVC_DATABASE_URL", None)
    env.pop("RULESVC_REDIS_URL", None)
    log = tmp_path / f"serve-{port}.log"
    with log.open("wb") as out:
        proc = subprocess.Popen([str(RULESVC), "serve", "--no-demo", "--workers", "1", "--port", str(port), *extra],
                                env=env, stdout=out, stderr=subprocess.STDOUT)
    deadline, status = time.monotonic() + 60, None
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v1/health", timeout=2) as r:
                status = r.status
                break
        except OSError:
            time.sleep(0.3)
    if status != 200:
        _stop(proc)
        raise AssertionError((proc.poll(), log.read_text(errors="replace")[-2000:]))
    return proc, port, log


def _stop(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()


def _closing(port: int, n: int) -> int:
    """Of ``n`` health checks asked on one kept-alive connection (reopened when the server closes it), how
    many answers said ``Connection: close``."""
    conn, closing = http.client.HTTPConnection("127.0.0.1", port, timeout=10), 0
    for _ in range(n):
        conn.request("GET", "/api/v1/health")
        answer = conn.getresponse()
        answer.read()
        assert answer.status == 200
        if answer.getheader("Connection", "").lower() == "close":
            closing += 1
            conn.close()
    conn.close()
    return closing


@pytest.mark.slow
def test_serve_starts_gunicorn_with_its_settings_and_answers(tmp_path):
    proc, port, _ = _serve(tmp_path)
    try:
        # serve execs gunicorn in place: the process is gunicorn's master, started with the settings module
        cmdline = Path(f"/proc/{proc.pid}/cmdline").read_bytes().split(b"\0")
        assert b"python:rulesvc.gunicorn_conf" in cmdline and cmdline[cmdline.index(b"-c") + 1] == (
            b"python:rulesvc.gunicorn_conf")
        # one request at a time a worker by default (the settings module's reasons): gunicorn's sync worker,
        # which closes every connection after its answer; a long timeout, for an import in its request
        assert cmdline[cmdline.index(b"--threads") + 1] == str(gunicorn_conf.threads).encode() == b"1"
        assert gunicorn_conf.timeout >= 600
        assert _closing(port, 20) == 20  # no keep-alive: the sync worker, not gthread
    finally:
        _stop(proc)


@pytest.mark.slow
def test_with_threads_connections_stay_open_and_now_and_then_one_closes(tmp_path):
    """With ``--threads 2`` (gunicorn's gthread worker, which keeps connections open), one answer in
    ``CLOSE_EVERY`` closes its keep-alive connection, so that connections move between workers."""
    proc, port, _ = _serve(tmp_path, "--threads", "2")
    try:
        assert 2 <= _closing(port, 3 * CLOSE_EVERY) <= 4
    finally:
        _stop(proc)
