"""``rulesvc import [KIND] FILE``: import events or reference data from CSV, Excel (.xlsx) or JSON Lines,
or a correction of an earlier event dataset (``--corrects``)."""

from __future__ import annotations

import csv
import sys
from pathlib import Path
from typing import Any

import click
from flask import current_app
from flask.cli import with_appcontext

from rulesvc.commands._table import csv_safe, printable
from rulesvc.errors import ImportRejected, RowError, RulesvcError
from rulesvc.extensions import db
from rulesvc.services.dictionary import get_dictionary
from rulesvc.services.importing import KINDS, Limits, import_file

# Files smaller than this import in a second or two: no progress bar.
LARGE_FILE_BYTES = 2 * 1024 * 1024
PHASE_LABELS = {"validate": "校验 (checking)", "write": "写入 (writing) "}
REPORT_HEADER = ("行", "列", "原因", "reason", "值")


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


def _file_and_kind(args: tuple[str, ...], kind: str | None) -> tuple[Path, str | None]:
    """``FILE`` or ``KIND FILE`` (``rulesvc import events a.csv`` reads like ``--kind events``)."""
    if len(args) == 2:
        if args[0] not in KINDS:
            raise click.UsageError(f"“{args[0]}”不是导入类型，可用：{'、'.join(KINDS)} "
                                   f"({args[0]!r} is not a kind; use one of {', '.join(KINDS)})")
        if kind is not None and kind != args[0]:
            raise click.UsageError(f"--kind {kind} 与 {args[0]} 矛盾 (--kind {kind} contradicts {args[0]})")
        kind, name = args[0], args[1]
    elif len(args) == 1:
        name = args[0]
    else:
        raise click.UsageError("用法：rulesvc import [KIND] FILE (usage: rulesvc import [KIND] FILE)")
    path = Path(name)
    if not path.is_file():
        raise click.BadParameter(f"文件不存在：{name} (no such file: {name})", param_hint="FILE")
    return path, kind


def write_report(path: str, rows: list[RowError]) -> None:
    """The rejected rows as a CSV file (UTF-8 with a BOM, so Excel in China opens it): every cell passes
    through :func:`~rulesvc.commands._table.csv_safe`, since the values echo what the file held."""
    with open(path, "w", encoding="utf-8-sig", newline="") as fh:
        out = csv.writer(fh)
        out.writerow(REPORT_HEADER)
        for e in rows:
            out.writerow([csv_safe(v) for v in (e.line, e.column or "", e.message_zh, e.message_en,
                                                "" if e.value is None else e.value)])


@click.command("import")
@click.argument("args", nargs=-1, required=True, metavar="[KIND] FILE")
@click.option("--kind", type=click.Choice(KINDS), default=None,
              help="What the file holds (default: detected from the header columns).")
@click.option("--name", default=None, help="Dataset name (default: the file name).")
@click.option("--outside-office", type=click.Choice(["reject", "flag"]), default=None,
              help="发生日期不在检察官任职期间的事件：reject 拒绝整个文件（默认，可由 RULESVC_IMPORT_OUTSIDE_OFFICE 设定），"
                   "flag 导入并标注 (events dated outside their prosecutor's office: refuse the file, or import and flag them).")
@click.option("--corrects", metavar="DATASET", default=None,
              help="本文件更正该数据集（编号，或内容哈希的前缀）：同一事件编号的事件被替换，新编号的事件新增 "
                   "(the file corrects DATASET, by number or hash prefix: events with the same ids replace its "
                   "events, new ids are added).")
@click.option("--encoding", metavar="NAME", default=None,
              help="文本文件的编码，如 gb18030、cp1252（默认：UTF-8，或能确定时的 GB18030） "
                   "(the text file's encoding; default: UTF-8, or GB18030 when certain).")
@click.option("--reuse-withdrawn", is_flag=True,
              help="与某个已撤回数据集相同的数据也导入（作为新的数据集） (import data identical to a withdrawn dataset, "
                   "as a new dataset).")
@click.option("--report", "report_path", type=click.Path(dir_okay=False), default=None,
              help="文件被拒绝时，把错误清单写入此 CSV 文件 (when the file is refused, write its errors to this CSV file).")
@with_appcontext
def import_command(args: tuple[str, ...], kind: str | None, name: str | None, outside_office: str | None,
                   corrects: str | None, encoding: str | None, reuse_withdrawn: bool, report_path: str | None) -> None:
    """导入事件或基础数据（CSV、Excel .xlsx、JSON Lines）(import events or reference data).

    A file with any bad row imports nothing and lists the bad rows (checking stops after
    RULESVC_IMPORT_MAX_ERRORS errors); importing the same data again changes nothing. An event id that
    already counts refuses the file, unless it is a correction (--corrects).
    """
    from rulesvc.commands import cli_actor

    file, kind = _file_and_kind(args, kind)
    config = current_app.config
    dictionary = get_dictionary(config["RULES_DIR"])
    bars = _Bars(enabled=sys.stderr.isatty() and file.stat().st_size >= LARGE_FILE_BYTES)
    try:
        result = import_file(
            db.session(),
            file,
            dictionary=dictionary,
            kind=kind,
            name=name,
            created_by="cli",
            progress=bars,
            batch_size=config.get("IMPORT_BATCH_SIZE", 20_000),
            outside_office=outside_office or config.get("IMPORT_OUTSIDE_OFFICE", "reject"),
            limits=Limits.from_config(config),
            encoding=encoding,
            corrects=corrects,
            actor=cli_actor(),  # in the audit log: who imported the file (a correction as well)
            reuse_withdrawn=reuse_withdrawn,
        )
    except ImportRejected as exc:
        bars.close()
        click.echo(printable(f"{exc.message}："), err=True)
        for row_error in exc.row_errors:
            click.echo(printable(f"  {row_error}"), err=True)
        shown, total = len(exc.row_errors), exc.details.get("total_errors", len(exc.row_errors))
        if total > shown:
            click.echo(f"  …… 另有 {total - shown} 个错误未列出（{total - shown} more not listed）", err=True)
        if report_path:
            write_report(report_path, exc.row_errors)
            click.echo(f"错误清单已写入 {report_path} (errors written to {report_path})", err=True)
        sys.exit(1)
    except RulesvcError as exc:
        bars.close()
        click.echo(printable(f"{file.name}：{exc.message}"), err=True)
        sys.exit(1)
    bars.close()
    click.echo(printable(result.message))
    if result.warning_zh:
        click.echo(printable(f"请核对 (please check)：{result.warning_zh}（{result.warning_en}）"), err=True)
    for row in result.flagged[:50]:
        click.echo(printable(f"  标注：{row}"), err=True)
    if result.flagged_count > 50:
        click.echo(f"  …… 另有 {result.flagged_count - 50} 条标注未列出", err=True)


commands = [import_command]
