"""Bring the catalogs up to date in one step, optionally filling Chinese from JSON files.

    .venv/bin/python admin/translations/sync.py [zh.json ...]

Extracts the msgids from the code and templates, updates both catalogs, sets the Chinese of every
msgid found in the given JSON files (``{"English msgid": "中文"}``; only entries still empty, unless
``--overwrite``), compiles, and lists the msgids that still have no Chinese. Runs under an exclusive lock
(``/tmp/rulesvc-catalog.lock``) so that two people (or two agents) editing strings at once do not lose
each other's entries.
"""

from __future__ import annotations

import argparse
import fcntl
import json
import subprocess
import sys
from pathlib import Path

from babel.messages.pofile import read_po, write_po

ROOT = Path(__file__).resolve().parents[2]
HERE = ROOT / "admin" / "translations"
ZH = HERE / "zh_Hans_CN" / "LC_MESSAGES" / "messages.po"


def _pybabel(*args: str) -> None:
    done = subprocess.run([str(Path(sys.executable).with_name("pybabel")), *args], cwd=ROOT,
                          capture_output=True, text=True)
    if done.returncode:
        sys.stderr.write(done.stdout + done.stderr)
        raise SystemExit(done.returncode)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("json", nargs="*", type=Path)
    parser.add_argument("--overwrite", action="store_true", help="replace existing Chinese too")
    args = parser.parse_args(argv)
    wanted: dict[str, str] = {}
    for path in args.json:
        wanted.update(json.loads(path.read_text(encoding="utf-8")))
    with open("/tmp/rulesvc-catalog.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        _pybabel("extract", "-F", "admin/babel.cfg", "-k", "_l", "-k", "lazy_gettext", "--no-location",
                 "--sort-output", "--project", "rulesvc", "-o", "admin/translations/messages.pot", ".")
        _pybabel("update", "-i", "admin/translations/messages.pot", "-d", "admin/translations",
                 "--no-fuzzy-matching", "--ignore-obsolete")
        with ZH.open("rb") as f:
            catalog = read_po(f, locale="zh_Hans_CN")
        for message in catalog:
            if message.id and isinstance(message.id, str) and message.id in wanted:
                if args.overwrite or not message.string:
                    message.string = wanted[message.id]
        with ZH.open("wb") as f:
            write_po(f, catalog, sort_output=True, omit_header=False, ignore_obsolete=True)
        _pybabel("compile", "-d", "admin/translations")
    missing = [m.id for m in catalog if m.id and not m.string]
    for msgid in missing:
        print(f"no Chinese: {msgid!r}")
    return 1 if missing else 0


if __name__ == "__main__":
    raise SystemExit(main())
