"""``rulesvc datasets list`` and ``rulesvc datasets withdraw``: the imported datasets and their status.

Acts as the operator at the command line (:func:`rulesvc.commands.cli_actor`). A correction is an import:
``rulesvc import events FILE --corrects DATASET``.
"""

from __future__ import annotations

import sys

import click
from flask.cli import with_appcontext

from rulesvc.catalogue import current_language, msg
from rulesvc.commands._table import printable, render
from rulesvc.errors import RulesvcError
from rulesvc.extensions import db

HEADERS = {
    "zh": ("编号", "名称", "状态", "行数", "计入事件", "期间", "更正", "导入时间", "内容哈希"),
    "en": ("id", "name", "status", "rows", "counting", "period", "corrects", "imported", "content hash"),
}
STATUS_EN = {"in_use": "in use", "withdrawn": "withdrawn"}


@click.group("datasets")
def datasets_group() -> None:
    """数据集：列出、撤回 (datasets: list them, withdraw one)."""


@datasets_group.command("list")
@click.option("--all", "show_all", is_flag=True, help="也列出基础数据的数据集 (also reference-data datasets).")
@with_appcontext
def list_command(show_all: bool) -> None:
    """列出数据集及其状态（使用中 / 已撤回）与计入考评的事件数 (datasets, their status and counting events)."""
    from rulesvc.services.importing import list_datasets

    infos = list_datasets(db.session(), kind=None if show_all else "events")
    db.session.rollback()  # read only
    en = current_language() == "en"
    rows = []
    for d in infos:
        period = f"{d.period_start} ~ {d.period_end}" if d.period_start else "—"
        status = (STATUS_EN[d.status] if en else d.status_label) if d.kind == "events" else ("reference" if en else "基础数据")
        rows.append((d.id, printable(d.name[:40]), status, d.rows, d.counting if d.kind == "events" else None, period,
                     f"#{d.corrects_id}" if d.corrects_id else "", f"{d.created_at:%Y-%m-%d %H:%M}",
                     d.content_hash[:12]))
    if not rows:
        click.echo("没有数据集 (no datasets)")
        return
    click.echo(render(HEADERS["en" if en else "zh"], rows))
    for d in infos:
        if d.withdrawn_at is not None:
            click.echo(printable(
                f"#{d.id} " + (f"withdrawn {d.withdrawn_at:%Y-%m-%d %H:%M} by {d.withdrawn_by}: " if en else
                               f"于 {d.withdrawn_at:%Y-%m-%d %H:%M} 由 {d.withdrawn_by} 撤回，理由：") + (d.withdrawal_reason or "")))


@datasets_group.command("withdraw")
@click.argument("dataset")
@click.option("--reason", default="", help="撤回理由，必填（记入撤回记录与审计日志） (why, required: kept with the withdrawal and in "
              "the audit log). Left out: refused with the service's own words, not click's English.")
@with_appcontext
def withdraw_command(dataset: str, reason: str) -> None:
    """撤回一个事件数据集：其事件不再计入考评（数据集不删除，撤回不可恢复） (withdraw an event dataset: its events stop
    counting; nothing is deleted, and a withdrawal is final).

    DATASET is the dataset's number or a prefix of its content hash (rulesvc datasets list).
    """
    from rulesvc.commands import cli_actor
    from rulesvc.services.importing import resolve_dataset, withdraw_dataset
    from rulesvc.services.importing.datasets import label

    try:
        target = resolve_dataset(db.session(), dataset)
        done = withdraw_dataset(db.session(), cli_actor(), target, reason)
        name = label(target)
        db.session.commit()
    except RulesvcError as exc:
        db.session.rollback()
        click.echo(printable(f"{dataset}：{exc.message}"), err=True)
        sys.exit(1)
    except Exception:
        db.session.rollback()
        raise
    click.echo(printable(str(msg("dataset.withdraw_done", dataset=name, events=f"{done.stopped:,}"))))
    for corrected, count in sorted(done.restored.items()):
        click.echo(str(msg("dataset.restored", corrected=f"#{corrected}", count=f"{count:,}")))
    if done.corrections_in_use:
        click.echo(str(msg("dataset.corrections_remain", datasets=[f"#{i}" for i in done.corrections_in_use])))


commands = [datasets_group]
