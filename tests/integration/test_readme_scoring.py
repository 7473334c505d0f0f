"""The README's scoring examples (between ``scoring-examples`` markers) run as another system would run
them: ``rulesvc setup`` makes a demo instance, the service answers on a real socket, and each ``curl``
command runs in bash with ``$RULESVC`` and ``$KEY`` set. They must succeed (``curl -f``) and say what the
README says they say."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from werkzeug.serving import make_server

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.slow


def examples() -> list[str]:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    block = text.split("<!-- scoring-examples:begin -->", 1)[1].split("<!-- scoring-examples:end -->", 1)[0]
    body = block.split("```sh", 1)[1].rsplit("```", 1)[0]
    commands, current = [], []
    for line in body.splitlines():
        if line.startswith("#") or not line.strip():
            if current:
                commands.append("\n".join(current))
                current = []
            continue
        current.append(line)
        if not line.rstrip().endswith("\\"):
            commands.append("\n".join(current))
            current = []
    return commands


def key_command() -> str:
    """The README's command that makes the scoring examples' key (the *Authentication* block)."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    found = re.search(r"^KEY=\$\(rulesvc apikeys create --name 人事系统.*?\| grep \^rsk_\)$", text, re.M | re.S)
    assert found, "the README no longer shows how to make a key that scores"
    return found.group(0)


def test_the_readme_examples_work_against_a_demo_instance(tmp_path, monkeypatch):
    instance = tmp_path / "instance"
    env = {**os.environ, "RULESVC_INSTANCE_PATH": str(instance)}
    env.pop("RULESVC_REDIS_URL", None)
    done = subprocess.run([str(Path(sys.executable).with_name("rulesvc")), "setup"], env=env, capture_output=True,
                          text=True, timeout=900)
    assert done.returncode == 0, done.stderr[-3000:]
    monkeypatch.setenv("RULESVC_INSTANCE_PATH", str(instance))
    monkeypatch.delenv("RULESVC_REDIS_URL", raising=False)
    from rulesvc import create_app
    from rulesvc.extensions import db

    # The key is made as the README says (its rulesvc on the PATH, as after `make run`).
    path = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    made = subprocess.run(["bash", "-euo", "pipefail", "-c", key_command() + '\necho "$KEY"'],
                          env={**env, "PATH": path}, capture_output=True, text=True, timeout=120)
    assert made.returncode == 0, made.stderr[-2000:]
    token = made.stdout.strip().splitlines()[-1]
    assert token.startswith("rsk_")
    app = create_app()
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        run_env = {**env, "RULESVC": f"http://127.0.0.1:{server.server_port}", "KEY": token}
        outputs = []
        for command in examples():
            r = subprocess.run(["bash", "-euo", "pipefail", "-c", command], env=run_env, cwd=tmp_path,
                               capture_output=True, timeout=300)
            assert r.returncode == 0, (command, r.returncode, r.stdout[-2000:], r.stderr[-2000:])
            outputs.append((command, r.stdout))
        card = json.loads(outputs[0][1])
        assert card["figures"] == "provisional" and card["subject"]["code"] == "910102001" and card["own_scheme"] is None
        pub = json.loads(outputs[1][1])
        assert pub["period"] == "2020-07" and pub["current"]
        lines = [json.loads(x) for x in outputs[2][1].decode().splitlines()]
        assert lines[0]["figures"] == "published" and len(lines) - 1 == lines[0]["count"] > 10
        assert json.loads(outputs[3][1])[0]["place"] == 1
        assert (tmp_path / "ranking.xlsx").read_bytes()[:2] == b"PK"
        history = {p["period"]: p for p in json.loads(outputs[5][1])["periods"]}
        assert history["2020-07"]["figures"] == "published" and history["2020-06"]["figures"] == "provisional"
        assert {"上游", "中游", "下游"} & {i["position"] for u in json.loads(outputs[6][1])["units"]
                                       for i in u["indicators"]}
        assert json.loads(outputs[7][1])[0]["id"] == pub["id"]
        own = json.loads(outputs[8][1])
        assert own["scheme"]["code"] == "SFS-PROSECUTOR-910101" and own["own_scheme"] is None and own["total"] > 0
        # The first call again: now published, the same figures.
        again = subprocess.run(["bash", "-euo", "pipefail", "-c", outputs[0][0]], env=run_env, cwd=tmp_path,
                               capture_output=True, timeout=300)
        published = json.loads(again.stdout)
        assert published["figures"] == "published" and published["total"] == card["total"]
        assert re.fullmatch(r"[0-9a-f]{64}", published["publication"]["result_hash"])
    finally:
        server.shutdown()
        with app.app_context():
            db.session.remove()
            db.engine.dispose()
