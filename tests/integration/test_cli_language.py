"""The command line speaks the shell's language: Chinese by default, English when LANG (or
RULESVC_LANG) says so — the same catalogue messages as the API, through the real `rulesvc` command."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

RULESVC = Path(sys.executable).with_name("rulesvc")


def _run(instance: Path, *args: str, lang: str | None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("LANG", "LC_ALL", "LC_MESSAGES", "RULESVC_LANG")}
    env["RULESVC_INSTANCE_PATH"] = str(instance)
    env.pop("RULESVC_DATABASE_URL", None)
    if lang:
        env["LANG"] = lang
    return subprocess.run([str(RULESVC), *args], env=env, capture_output=True, text=True, timeout=120)


@pytest.mark.slow
def test_cli_errors_follow_the_shell_language(tmp_path):
    assert _run(tmp_path, "db", "upgrade", lang=None).returncode == 0
    zh = _run(tmp_path, "apikeys", "revoke", "deadbeef", lang=None)
    en = _run(tmp_path, "apikeys", "revoke", "deadbeef", lang="en_GB.UTF-8")
    assert zh.returncode == en.returncode == 1
    assert "没有前缀为 deadbeef 的 API 密钥" in zh.stderr
    assert "No API key with prefix deadbeef" in en.stderr and "没有" not in en.stderr
