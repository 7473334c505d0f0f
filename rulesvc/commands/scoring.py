"""``rulesvc evaluate``, ``rulesvc rank`` and ``rulesvc lint``: the engine from the command line."""

from __future__ import annotations

import json

import click
import polars as pl
from flask import current_app
from flask.cli import with_appcontext

from rulesvc.commands import CliError
from rulesvc.engine.errors import DefinitionError, EngineError
from rulesvc.engine.periods import parse_period
from rulesvc.engine.render import render_text
from rulesvc.errors import RulesvcError
from rulesvc.extensions import db
from rulesvc.schema.scheme import DocumentError
from rulesvc.services.scoring import RANK_GROUPS

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
            raise CliError(f"{spec}: 不是文件 (not a file)")
        try:
            start = parse_period(period).start
        except ValueError as exc:
            raise CliError(str(exc)) from exc
        try:
            v = version_in_effect(db.session(), system_actor("cli"), spec, start)
        except RulesvcError as exc:
            raise CliError(f"{spec}: 既不是文件，也没有在 {start} 生效的版本 (neither a file nor a scheme "
                                       f"with a version in force on {start}): {exc}") from exc
        if v.resolved is None or v.content_hash is None:  # in force means published: never
            raise CliError(f"{spec}: 第 {v.number} 版没有冻结的内容 (version {v.number} has no frozen content)")
        until = f"至 {v.effective_to}" if v.effective_to else "起"
        click.echo(f"按 {spec} 第 {v.number} 版计分（{v.effective_from} {until}生效，内容哈希 {v.content_hash[:12]}）"
                   f" (scored with version {v.number}, in force on {start})", err=True)
        return compile_cached(load_scheme(v.resolved), dictionary), dictionary
    except (DocumentError, DefinitionError) as exc:
        raise CliError(f"{spec}:\n{exc}") from exc


@click.command("evaluate")
@click.option("--scheme", "scheme_path", required=True, help=SCHEME_HELP)
@click.option("--subject", required=True, help="检察官工号或检察院代码 (prosecutor code or procuratorate code)")
@click.option("--period", required=True, help="考评期间：2020-07、2020-Q3 或 2020 (period)")
@click.option("--json", "as_json", is_flag=True, help="以 JSON 输出结果与完整解释 (print the result and its trace as JSON).")
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
        result = evaluate_one(db.session(), compiled, dictionary, p, subject, decider=decider)
    except (RulesvcError, EngineError) as exc:
        raise CliError(str(exc)) from exc
    if as_json:
        click.echo(json.dumps(result.as_dict(), ensure_ascii=False, indent=2, default=str))
    else:
        units = {ci.indicator.code: ci.indicator.unit for ci in compiled.indicators}
        click.echo(render_text(result, units=units))


@click.command("rank")
@click.option("--scheme", "scheme_path", required=True, help=SCHEME_HELP)
@click.option("--period", required=True, help="考评期间：2020-07、2020-Q3 或 2020 (period)")
@click.option("--top", type=int, default=30, show_default=True, help="显示前多少行，0 为全部 (rows to print, 0 = all).")
@click.option("--group", type=click.Choice(RANK_GROUPS),
              default="all", show_default=True,
              help="名次在此范围内排：all 为方案适用范围内统一排名 (rank within this group).")
@click.option("--procuratorate", "org", help="只列出此检察院（代码）及其下级 (only this procuratorate and those below it).")
@click.option("--points", is_flag=True, help="每项计分指标的得分也列出 (add each scored indicator's points).")
@click.option("--csv", "csv_path", type=click.Path(dir_okay=False),
              help="同时把全部行写入此 CSV 文件（UTF-8 带 BOM） (also write every row to this CSV file).")
@with_appcontext
def rank_command(scheme_path: str, period: str, top: int, group: str, org: str | None, points: bool,
                 csv_path: str | None) -> None:
    """按方案对全部考评对象评分排名 (score and rank every subject with the bulk executor)."""
    from rulesvc.commands._table import csv_safe, render
    from rulesvc.services.scoring import ranking, scope_ids, score_period

    compiled, dictionary = _load(scheme_path, period)
    try:
        bulk, data = score_period(db.session(), compiled, dictionary, parse_period(period))
        ranked, left = ranking(db.session(), compiled, bulk, dictionary, group=group, points=points)
        if org:
            codes = _org_codes(scope_ids(db.session(), org))
            ranked = ranked.filter(pl.col("检察院代码").is_in(codes))
            left = left.filter(pl.col("检察院代码").is_in(codes)) if left.height else left
    except (RulesvcError, EngineError) as exc:
        raise CliError(str(exc)) from exc
    graded = ranked.filter(pl.col("参评情况") == "参加考评")
    counts = dict(graded.group_by("等次").len().iter_rows())
    bands = [b.grade for b in compiled.scheme.grading.bands] if compiled.scheme.grading else []
    order = [g for g in bands if g in counts] + [g for g in counts if g not in bands]
    unit = "人" if bulk.key == "prosecutor_id" else "个"
    click.echo(f"{compiled.scheme.name}  期间 {period}" + (f"  检察院 {org} 及其下级" if org else ""))
    click.echo(f"参加考评 {graded.height} {unit}：" + "、".join(f"{g or '无等次'} {counts[g]}" for g in order)
               + f"；不参加等次评定 {ranked.height - graded.height} {unit}；不参加考评 {left.height} {unit}")
    click.echo("名次：" + (f"在同一{GROUP_WORDS[group]}内排列" if group != "all" else "方案适用范围内统一排列")
               + "，只排参加考评者，同分同名次（--group 可改）")
    shown = ranked if top <= 0 else ranked.head(top)
    click.echo(render(shown.columns, shown.rows()))
    if top > 0 and ranked.height > top:
        click.echo(f"……共 {ranked.height} 行，只显示前 {top} 行（--top 0 显示全部，--csv 导出全部）")
    if left.height:
        click.echo(f"\n不参加考评（{left.height} {unit}）：")
        click.echo(render(left.columns, left.head(top).rows() if top > 0 else left.rows()))
    if csv_path:
        out = pl.concat([ranked, left.rename({"原因": "说明"}).with_columns(pl.lit("不参加考评").alias("参评情况"))],
                        how="diagonal_relaxed") if left.height else ranked
        out = out.with_columns([pl.col(c).map_elements(csv_safe, return_dtype=pl.Utf8)
                                for c, t in out.schema.items() if t == pl.Utf8])
        out = out.with_columns([pl.col(c).round(6) for c, t in out.schema.items() if t == pl.Float64])
        # Headers too: with --points they carry indicator names, which a scheme's author chose.
        out = out.rename({c: csv_safe(c) for c in out.columns if csv_safe(c) != c})
        with open(csv_path, "wb") as fh:  # a BOM, so Excel in China opens it as UTF-8
            fh.write("\ufeff".encode())
            out.write_csv(fh)
        click.echo(f"已写入 {csv_path}（{out.height} 行）", err=True)


GROUP_WORDS = {"procuratorate": "检察院", "department": "部门", "business": "业务", "line": "业务条线", "level": "层级"}
PEER_GROUP_WORDS = {"all": "全部", "procuratorate": "同一检察院", "level": "同级院"}


def _org_codes(ids: set[int] | None) -> list[str]:
    from sqlalchemy import select

    from rulesvc.persistence.models import Procuratorate

    q = select(Procuratorate.code)
    if ids is not None:
        q = q.where(Procuratorate.id.in_(sorted(ids)))
    return list(db.session.scalars(q))


@click.command("lint")
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True))
@click.option("--strict", is_flag=True, help="有警告也视为不通过（退出码 1） (warnings fail too).")
@with_appcontext
def lint_command(paths: tuple[str, ...], strict: bool) -> None:
    """检查考评方案 (check scheme files or directories of them: errors, then warnings, then notes)."""
    from pathlib import Path

    from rulesvc.engine.lint import Finding, lint_document
    from rulesvc.schema.messages import check_structure
    from rulesvc.services.dictionary import get_dictionary
    from rulesvc.services.scoring import read_scheme_document

    dictionary = get_dictionary(current_app.config["RULES_DIR"])
    # A directory: its scheme and localization files (the data dictionary next to them is not a scheme).
    files = sorted(f for p in map(Path, paths)
                   for f in ([p] if p.is_file() else p.rglob("*.y*ml")) if p.is_file() or "dictionary" not in f.parts)
    failed = False
    for f in files:
        try:  # every error at once: structure, then definitions, then warnings and infos
            findings = lint_document(read_scheme_document(f), dictionary, structure=check_structure)
        except DocumentError as exc:  # YAML syntax, an unresolvable localization
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
@click.option("--period", required=True, help="考评期间：2020-07、2020-Q3 或 2020（连续 N 个月劣于平均：期间不足 N 个月时向前补足） "
                   "(a streak of N months reads back as far as it needs)")
@with_appcontext
def compare_command(scheme_path: str, period: str) -> None:
    """院际比较 (procuratorate-level: upstream / midstream / downstream, laggards, streaks)."""
    from rulesvc.engine.comparison import laggard_rules
    from rulesvc.services.scoring import KEYS, compare_units

    compiled, dictionary = _load(scheme_path, period)
    pc = compiled.scheme.peers
    if pc is None:
        raise CliError("该方案没有 peers（院际比较）配置 (the scheme has no peers section)")
    try:
        frame, runs = compare_units(db.session(), compiled, dictionary, parse_period(period))
    except (RulesvcError, EngineError) as exc:
        raise CliError(str(exc)) from exc
    names = {ci.indicator.code: ci.indicator.name for ci in compiled.indicators}
    click.echo(f"{compiled.scheme.name}  期间 {period}  比较组：{PEER_GROUP_WORDS.get(pc.group, pc.group)}  "
               f"中游区间：平均值 ±{pc.band:.0%}")
    for code in pc.indicators:
        counts = dict(frame.group_by(f"pos__{code}").len().iter_rows())
        shown = [(p, counts[p]) for p in ("上游", "中游", "下游") if p in counts]
        if None in counts:
            shown.append(("未定位（不参加排名、无数据或同级不足最少家数）", counts[None]))
        click.echo(f"  {names[code]}：" + "  ".join(f"{p} {n}" for p, n in shown))
    for rule in laggard_rules(compiled, frame):
        g = GROUP_COLUMNS_OF[pc.group]
        in_group = frame if g is None else frame.filter(pl.col(g) == rule.group)
        rows = in_group.filter(pl.col(rule.rule)).sort("total")
        who = "、".join(f"{r['name']} {r['total']:.2f}" for r in rows.iter_rows(named=True)) or "无"
        tie = f"（含同分并列，共 {rows.height} 个）" if rows.height > rule.places else ""
        click.echo(f"{rule.note}{tie}：{who}")
    if runs.height:
        key = KEYS[compiled.scheme.subject]
        for code in pc.indicators:
            named = runs.filter(pl.col(f"named__{code}")).join(frame.select(key, "name"), on=key)
            click.echo(f"连续 {pc.streak} 个月{names[code]}劣于平均（通报）：" + (
                "、".join(f"{r['name']}（最长 {r[f'longest__{code}']} 个月）" for r in named.iter_rows(named=True)) or "无"))


GROUP_COLUMNS_OF = {"all": None, "procuratorate": "procuratorate_id", "level": "level"}

commands.append(compare_command)
