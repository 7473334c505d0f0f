"""``rulesvc demo``: generate and load the demo province."""

from __future__ import annotations

import datetime as dt
import sys

import click
from flask.cli import with_appcontext

from rulesvc.commands import CliError
from rulesvc.datagen.demo import DEFAULT_PROSECUTORS, DemoConfig, generate_and_load
from rulesvc.errors import RulesvcError


def _month(value: str) -> dt.date:
    try:
        return dt.datetime.strptime(value, "%Y-%m").date()
    except ValueError:
        raise click.BadParameter("应为 YYYY-MM (expected YYYY-MM)") from None


@click.command("demo")
@click.option("--seed", type=int, default=None, help="Random seed (default: RULESVC_DEMO_SEED or 20200701).")
@click.option("--prosecutors", type=click.IntRange(20, 1_000_000), default=DEFAULT_PROSECUTORS, show_default=True,
              help="About how many prosecutors.")
@click.option("--months", type=click.IntRange(1, 60), default=12, show_default=True, help="Months of events.")
@click.option("--start", "start", default="2020-01", show_default=True, help="First month, YYYY-MM.")
@click.option("--scale", type=click.FloatRange(0.01, 100), default=1.0, is_flag=False, flag_value=1.0,
              show_default=True,
              help="Multiply the number of prosecutors (and so events). Bare --scale = the benchmark size "
                   "(≥ 1,000,000 events with the defaults).")
@with_appcontext
def demo_command(seed: int | None, prosecutors: int, months: int, start: str, scale: float) -> None:
    """生成并导入演示省数据 (generate and load the demo province: 97 procuratorates, ~3,000 prosecutors)."""
    from flask import current_app

    cfg = DemoConfig(
        seed=seed if seed is not None else current_app.config["DEMO_SEED"],
        prosecutors=prosecutors,
        months=months,
        start=_month(start),
        scale=scale,
    )
    run_demo(cfg)


def run_demo(cfg: DemoConfig) -> None:
    """Generate, load and report; shared with ``rulesvc serve``'s first start."""
    click.echo(f"生成演示省数据 (generating the demo province): {cfg.total_prosecutors} 名检察官, {cfg.months} 个月 …")
    shown = {"n": 0, "next": 100_000}

    def progress(n: int) -> None:
        shown["n"] += n
        if shown["n"] >= shown["next"] and sys.stderr.isatty():
            click.echo(f"  … {shown['n']:,} events", err=True)
            shown["next"] += 100_000

    try:
        summary = generate_and_load(cfg, progress=progress)
    except RulesvcError as exc:
        raise CliError(exc.message) from exc
    click.echo(
        f"已导入 (loaded): {summary.procuratorates} 个检察院, {summary.departments} 个部门, "
        f"{summary.prosecutors} 名检察官, {summary.events:,} 条事件 — "
        f"数据集 #{summary.dataset_id} sha256 {summary.content_hash[:12]}… "
        f"in {summary.generate_and_load_seconds:.1f} s"
    )


commands = [demo_command]
