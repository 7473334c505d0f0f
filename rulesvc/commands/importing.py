"""``rulesvc import FILE``: import events or reference data from CSV, Excel (.xlsx) or JSON Lines."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click
from flask import current_app
from flask.cli import with_appcontext

from rulesvc.errors import ImportRejected, RulesvcError
from rulesvc.extensions import db
from rulesvc.services.dictionary import get_dictionary
from rulesvc.services.importing import KINDS, import_file

# Files smaller than this import in a second or two: no progress bar.
LARGE_FILE_BYTES = 2 * 1024 * 1024
PHASE_LABELS = {"validate": "校验 (checking)", "write": "写入 (writing) "}


class _Bars:
    """One ``click.progressbar`` on stderr per phase of the import, or nothing when disabled."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled
        self._bar: Any = None
        self._phase: str | None = None
        self._done = 0

    def __call__(self, phase: str, done: int, total: int) -> None:
        if not self.enabled:
            return
        if phase != self._phase:
            self.close()
            self._phase = phase
            self._done = 0
            self._bar = click.progressbar(length=max(total, 1), label=PHASE_LABELS.get(phase, phase), file=sys.stderr)
            self._bar.__enter__()
        step = min(done, max(total, 1)) - self._done
        if step > 0:
            self._bar.update(step)
            self._done += step

    def close(self) -> None:
        if self._bar is not None:
            self._bar.__exit__(None, None, None)
            self._bar = None


@click.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, readable=True, path_type=Path))
@click.option("--kind", type=click.Choice(KINDS), default=None,
              help="What the file holds (default: detected from the header columns).")
@click.option("--name", default=None, help="Dataset name (default: the file name).")
@click.option("--outside-office", type=click.Choice(["reject", "flag"]), default=None,
              help="发生日期不在检察官任职期间的事件：reject 拒绝整个文件（默认，可由 RULESVC_IMPORT_OUTSIDE_OFFICE 设定），"
                   "flag 导入并标注 (events dated outside their prosecutor's office: refuse the file, or import and flag them).")
@with_appcontext
def import_command(file: Path, kind: str | None, name: str | None, outside_office: str | None) -> None:
    """导入事件或基础数据（CSV、Excel .xlsx、JSON Lines）(import events or reference data).

    A file with any bad row imports nothing and lists every bad row; importing the same data again
    changes nothing.
    """
    dictionary = get_dictionary(current_app.config["RULES_DIR"])
    bars = _Bars(enabled=sys.stderr.isatty() and file.stat().st_size >= LARGE_FILE_BYTES)
    try:
        result = import_file(
            db.session,
            file,
            dictionary=dictionary,
            kind=kind,
            name=name,
            created_by="cli",
            progress=bars,
            batch_size=current_app.config.get("IMPORT_BATCH_SIZE", 20_000),
            outside_office=outside_office or current_app.config.get("IMPORT_OUTSIDE_OFFICE", "reject"),
        )
    except ImportRejected as exc:
        bars.close()
        shown = len(exc.row_errors)
        total = exc.details.get("total_errors", shown)
        click.echo(
            f"{file.name}：{total} 个错误，未导入任何数据（{total} errors, nothing imported）：", err=True
        )
        for row_error in exc.row_errors:
            click.echo(f"  {row_error}", err=True)
        if total > shown:
            click.echo(f"  …… 另有 {total - shown} 个错误未列出（{total - shown} more not listed）", err=True)
        sys.exit(1)
    except RulesvcError as exc:
        bars.close()
        click.echo(f"{file.name}：{exc.message}", err=True)
        sys.exit(1)
    bars.close()
    click.echo(result.message)
    for row in result.flagged[:50]:
        click.echo(f"  标注：{row}", err=True)
    if result.flagged_count > 50:
        click.echo(f"  …… 另有 {result.flagged_count - 50} 条标注未列出", err=True)


commands = [import_command]
