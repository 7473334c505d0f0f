"""``rulesvc evaluate``, ``rulesvc rank`` and ``rulesvc lint``: the engine from the command line."""

from __future__ import annotations

import json

import click
import polars as pl
from flask import current_app
from flask.cli import with_appcontext

from rulesvc.engine.errors import DefinitionError, EngineError
from rulesvc.engine.periods import parse_period
from rulesvc.engine.render import render_text
from rulesvc.errors import RulesvcError
from rulesvc.extensions import db
from rulesvc.schema.scheme import DocumentError

SCHEME_HELP = ("方案文件，或数据库中的方案代码（按期间开始日生效的版本计分）"
               " (a scheme file, or a scheme code in the database: the version in force on the period's first day)")


def _load(spec: str, period: str | None = None):
    """Compile a scheme given as a file, or as a scheme code in the database — then the version in
    force on the first day of ``period`` (time travel), and say which on stderr."""
    from pathlib import Path

    from rulesvc.schema.scheme import load_scheme
    from rulesvc.services.dictionary import get_dictionary
    from rulesvc.services.governance.access import system_actor
    from rulesvc.services.governance.versions import version_in_effect
    from rulesvc.services.scoring import compile_cached, load_scheme_file

    dictionary = get_dictionary(current_app.config["RULES_DIR"])
    try:
        if Path(spec).is_file():
            return compile_cached(load_scheme_file(spec), dictionary), dictionary
        if period is None:
            raise click.ClickException(f"{spec}: 不是文件 (not a file)")
        try:
            start = parse_period(period).start
        except ValueError as exc:
            raise click.ClickException(str(exc)) from exc
        try:
            v = version_in_effect(db.session, system_actor("cli"), spec, start)
        except RulesvcError as exc:
            raise click.ClickException(f"{spec}: 既不是文件，也没有在 {start} 生效的版本 (neither a file nor a scheme "
                                       f"with a version in force on {start}): {exc}") from exc
        until = f"至 {v.effective_to}" if v.effective_to else "起"
        click.echo(f"按 {spec} 第 {v.number} 版计分（{v.effective_from} {until}生效，内容哈希 {v.content_hash[:12]}）"
                   f" (scored with version {v.number}, in force on {start})", err=True)
        return compile_cached(load_scheme(v.resolved), dictionary), dictionary
    except (DocumentError, DefinitionError) as exc:
        raise click.ClickException(f"{spec}:\n{exc}") from exc


@click.command("evaluate")
@click.option("--scheme", "scheme_path", required=True, help=SCHEME_HELP)
@click.option("--subject", required=True, help="检察官工号或检察院代码 (prosecutor code or procuratorate code)")
@click.option("--period", required=True, help="2020-07, 2020-Q3 or 2020")
@click.option("--json", "as_json", is_flag=True, help="Print the result and its trace as JSON.")
@click.option("--executor", type=click.Choice(["durable", "python"]), default="durable", show_default=True)
@with_appcontext
def evaluate_command(scheme_path: str, subject: str, period: str, as_json: bool, executor: str) -> None:
    """评估一个考评对象并打印得分与解释 (score one subject and print the score card with its trace)."""
    from rulesvc.engine.evaluate import PythonDecider
    from rulesvc.services.scoring import evaluate_one

    compiled, dictionary = _load(scheme_path, period)
    try:
        p = parse_period(period)
        decider = PythonDecider() if executor == "python" else None
        result = evaluate_one(db.session, compiled, dictionary, p, subject, decider=decider)
    except (RulesvcError, EngineError) as exc:
        raise click.ClickException(str(exc)) from exc
    if as_json:
        click.echo(json.dumps(result.as_dict(), ensure_ascii=False, indent=2, default=str))
    else:
        units = {ci.indicator.code: ci.indicator.unit for ci in compiled.indicators}
        click.echo(render_text(result, units=units))


@click.command("rank")
@click.option("--scheme", "scheme_path", required=True, help=SCHEME_HELP)
@click.option("--period", required=True, help="2020-07, 2020-Q3 or 2020")
@click.option("--top", type=int, default=30, show_default=True, help="Rows to print (0 = all).")
@click.option("--group", type=click.Choice(["all", "procuratorate", "business", "level"]), default="all",
              show_default=True, help="Rank within this group.")
@click.option("--csv", "csv_path", type=click.Path(dir_okay=False), help="Also write every row to this CSV file.")
@with_appcontext
def rank_command(scheme_path: str, period: str, top: int, group: str, csv_path: str | None) -> None:
    """按方案对全部考评对象评分排名 (score and rank every subject with the bulk executor)."""
    from rulesvc.services.scoring import score_period

    compiled, dictionary = _load(scheme_path, period)
    try:
        bulk, data = score_period(db.session, compiled, dictionary, parse_period(period))
    except (RulesvcError, EngineError) as exc:
        raise click.ClickException(str(exc)) from exc
    f = bulk.frame
    cols = {"prosecutor_id": ["code", "name", "procuratorate_id", "business_code"],
            "procuratorate_id": ["code", "name", "level"]}[bulk.key]
    g = pl.lit(0) if group == "all" else pl.col({"procuratorate": "procuratorate_id", "business": "business_code",
                                                  "level": "level"}[group])
    f = f.with_columns(pl.col("total").rank("min", descending=True).over(g).cast(pl.Int64).alias("place"))
    out = f.select(["place", *cols, "total", "grade"]).sort(["place", "code"])
    if csv_path:
        out.write_csv(csv_path)
    grades = f.group_by("grade").len().sort("len", descending=True)
    click.echo(f"{compiled.scheme.name}  期间 {period}  共 {f.height} 个考评对象  "
               + "  ".join(f"{r['grade'] or '—'} {r['len']}" for r in grades.iter_rows(named=True)))
    with pl.Config(tbl_rows=top if top > 0 else f.height, tbl_cols=-1, tbl_width_chars=160, fmt_str_lengths=40):
        click.echo(out.head(top) if top > 0 else out)


@click.command("lint")
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True))
@click.option("--strict", is_flag=True, help="Warnings fail too (exit status 1).")
@with_appcontext
def lint_command(paths: tuple[str, ...], strict: bool) -> None:
    """检查考评方案 (check scheme files or directories of them: errors, then warnings, then notes)."""
    from pathlib import Path

    from rulesvc.engine.lint import Finding, lint
    from rulesvc.services.dictionary import get_dictionary
    from rulesvc.services.scoring import load_scheme_file

    dictionary = get_dictionary(current_app.config["RULES_DIR"])
    # A directory: its scheme and localization files (the data dictionary next to them is not a scheme).
    files = sorted(f for p in map(Path, paths)
                   for f in ([p] if p.is_file() else p.rglob("*.y*ml")) if p.is_file() or "dictionary" not in f.parts)
    failed = False
    for f in files:
        try:
            findings = lint(load_scheme_file(f), dictionary)
        except DocumentError as exc:
            findings = [Finding("error", path, "；".join(msgs)) for path, msgs in exc.problems.items()]
        errors = sum(1 for x in findings if x.level == "error")
        warnings = sum(1 for x in findings if x.level == "warning")
        status = "✓ 通过 (clean)" if not errors and not warnings else f"{errors} 个错误, {warnings} 个警告"
        click.echo(f"{f}: {status}")
        for x in findings:
            click.echo(f"  {x}")
        failed = failed or errors > 0 or (strict and warnings > 0)
    if failed:
        raise SystemExit(1)


commands = [evaluate_command, rank_command, lint_command]


@click.command("compare")
@click.option("--scheme", "scheme_path", required=True, help=SCHEME_HELP)
@click.option("--period", required=True, help="2020-07, 2020-Q3 or 2020 (streaks need several months)")
@with_appcontext
def compare_command(scheme_path: str, period: str) -> None:
    """院际比较 (procuratorate-level: upstream / midstream / downstream, laggards, streaks)."""
    from rulesvc.services.scoring import KEYS, compare_units

    compiled, dictionary = _load(scheme_path, period)
    pc = compiled.scheme.peers
    if pc is None:
        raise click.ClickException("该方案没有 peers（院际比较）配置 (the scheme has no peers section)")
    try:
        frame, runs = compare_units(db.session, compiled, dictionary, parse_period(period))
    except (RulesvcError, EngineError) as exc:
        raise click.ClickException(str(exc)) from exc
    names = {ci.indicator.code: ci.indicator.name for ci in compiled.indicators}
    click.echo(f"{compiled.scheme.name}  期间 {period}  比较组 {pc.group}  中游区间 ±{pc.band:.0%}")
    for code in pc.indicators:
        counts = frame.group_by(f"pos__{code}").len().sort(f"pos__{code}")
        click.echo(f"  {names[code]}：" + "  ".join(f"{r[f'pos__{code}'] or '无数据'} {r['len']}"
                                                  for r in counts.iter_rows(named=True)))
    for flag, label in (("bottom_k", f"排名末 {pc.bottom_k} 位"), ("bottom_share", f"排名后 {pc.bottom_share or 0:.0%}")):
        if flag in frame.columns:
            rows = frame.filter(pl.col(flag)).sort("total")
            click.echo(f"{label}（须书面说明）：" + "、".join(f"{r['name']} {r['total']:.2f}" for r in rows.iter_rows(named=True)))
    if runs.height:
        key = KEYS[compiled.scheme.subject]
        for code in pc.indicators:
            named = runs.filter(pl.col(f"named__{code}")).join(frame.select(key, "name"), on=key)
            click.echo(f"连续 {pc.streak} 个月{names[code]}劣于平均（通报）：" + (
                "、".join(f"{r['name']}（最长 {r[f'longest__{code}']} 个月）" for r in named.iter_rows(named=True)) or "无"))


commands.append(compare_command)
