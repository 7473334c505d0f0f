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


@pytest.mark.slow
def test_serve_starts_gunicorn_with_its_settings_and_answers(tmp_path):
    port = _free_port()
    env = {**os.environ, "RULESVC_INSTANCE_PATH": str(tmp_path)}
    env.pop("RULESVC_DATABASE_URL", None)
    env.pop("RULESVC_REDIS_URL", None)
    log = tmp_path / "serve.log"
    with log.open("wb") as out:
        proc = subprocess.Popen([str(RULESVC), "serve", "--no-demo", "--workers", "1", "--port", str(port)], env=env,
                                stdout=out, stderr=subprocess.STDOUT)
    try:
        deadline, status = time.monotonic() + 90, None
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v1/health", timeout=2) as r:
                    status = r.status
                    break
            except OSError:
                time.sleep(0.3)
        assert status == 200, (proc.poll(), log.read_text(errors="replace")[-2000:])
        # serve execs gunicorn in place: the process is gunicorn's master, started with the settings module
        cmdline = Path(f"/proc/{proc.pid}/cmdline").read_bytes().split(b"\0")
        assert b"python:rulesvc.gunicorn_conf" in cmdline and cmdline[cmdline.index(b"-c") + 1] == (
            b"python:rulesvc.gunicorn_conf")
        # two threads a worker by default (the settings module's reasons)
        assert cmdline[cmdline.index(b"--threads") + 1] == str(gunicorn_conf.threads).encode() == b"2"
        # Now and then an answer closes its keep-alive connection (so that connections move between workers);
        # a client simply opens a new one.
        conn, closing = http.client.HTTPConnection("127.0.0.1", port, timeout=10), 0
        for _ in range(3 * CLOSE_EVERY):
            conn.request("GET", "/api/v1/health")
            answer = conn.getresponse()
            answer.read()
            assert answer.status == 200
            closing += answer.getheader("Connection", "").lower() == "close"
        conn.close()
        assert 2 <= closing <= 4
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
