"""An import's progress, readable from any worker while the upload's request runs the import.

The import service reports ``(phase, done, total)`` through its ``progress`` callback (``validate``: the reader's
units — bytes of a text file, rows of a workbook — then ``write``: rows written). The upload's request writes
the latest report to a small file under the instance folder, named by a random token the page put in the form;
the page asks ``/admin/import/progress/<token>/`` about once a second (gunicorn's workers share the folder,
not their memory) and draws the bar. The file is removed when the import ends.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import time
from pathlib import Path
from typing import Any

from flask import current_app

TOKEN = re.compile(r"[0-9a-f]{32}")
EVERY_SECONDS = 0.25  # at most this often a report is written (a phase change always is)


def new_token() -> str:
    return secrets.token_hex(16)


def _folder() -> Path:
    return Path(current_app.instance_path) / "import-progress"


def _path(token: str) -> Path | None:
    return _folder() / f"{token}.json" if TOKEN.fullmatch(token or "") else None


class FileProgress:
    """The service's ``progress`` callback, writing each (throttled) report for :func:`read`."""

    def __init__(self, token: str | None) -> None:
        self.path = _path(token or "")
        self._last = 0.0
        self._phase = ""
        if self.path is not None:
            self.path.parent.mkdir(parents=True, exist_ok=True)

    def __call__(self, phase: str, done: int, total: int) -> None:
        if self.path is None:
            return
        now = time.monotonic()
        if phase == self._phase and now - self._last < EVERY_SECONDS and done < total:
            return
        self._last, self._phase = now, phase
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps({"phase": phase, "done": done, "total": total}), encoding="utf-8")
        os.replace(tmp, self.path)  # a reader never sees half a report

    def close(self) -> None:
        if self.path is not None:
            self.path.unlink(missing_ok=True)
            self.path.with_suffix(".tmp").unlink(missing_ok=True)


def read(token: str) -> dict[str, Any]:
    """The latest report (``{}`` before the first one, after the end, or for a token that is not one)."""
    path = _path(token)
    if path is None:
        return {}
    try:
        found = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    total = max(int(found.get("total") or 0), 1)
    done = min(max(int(found.get("done") or 0), 0), total)
    return {"phase": str(found.get("phase", "")), "percent": round(100 * done / total)}
