"""``rulesvc simulate`` (模拟测评 from the command line) and ``rulesvc worker`` (the RQ worker that runs
simulations in server mode)."""

from __future__ import annotations

import sys
import threading
import time
from pathlib import Path
from typing import Any

import click
from flask import current_app
from flask.cli import with_appcontext

from rulesvc.commands import CliError
from rulesvc.commands._table import printable, render
from rulesvc.engine.errors import DefinitionError, EngineError
from rulesvc.errors import RulesvcError
from rulesvc.extensions import db
from rulesvc.schema.scheme import DocumentError

KIND = {"base": "基础分", "indicator": "指标", "adjustment": "加减分", "cap": "加减分封顶", "clip": "总分封顶/保底"}


@click.command("simulate")
@click.option("--candidate", required=True, metavar="VERSION_ID|FILE",
              help="候选版本：数据库中的版本编号，或方案文件 (a version id, or a scheme file)")
@click.option("--baseline", default="default", show_default=True, metavar="VERSION_ID|default|none",
              help="基准版本：版本编号；default 为首个期间首日生效的版本（本地化方案则其上级方案的）；none 不设基准版本 "
                   "(the baseline: a version id; default: the version in force; none)")
@click.option("--period", "periods", required=True, multiple=True, metavar="PERIOD",
              help="已结束的期间：2020、2020-Q3、2020-07 或 2020-01..2020-12（逐月），可重复 (closed periods; repeatable)")
@click.option("--out", "out", type=click.Path(dir_okay=False), help="把报告写入 .xlsx 或 .csv 文件 (write the report)")
@click.option("--top", type=click.IntRange(1, 10), default=10, show_default=True,
              help="列出升降最大的前几名，最多 10 名（报告所列）(movers listed, at most the report's 10)")
@with_appcontext
def simulate_command(candidate: str, baseline: str, periods: tuple[str, ...], out: str | None, top: int) -> None:
    """模拟测评：候选版本与基准版本在历史数据上对比计分 (simulate a version against a baseline on closed periods).

    A version id runs (or finds) the stored run — the same one the API and the approval gate see; a
    scheme file is simulated in memory and nothing is stored."""
    if out and Path(out).suffix.lower() not in (".xlsx", ".csv"):
        raise CliError(f"--out {out}: 只能是 .xlsx 或 .csv 文件 (must end in .xlsx or .csv)")
    if out and not Path(out).resolve().parent.is_dir():
        raise CliError(f"--out {out}: 目录 {Path(out).resolve().parent} 不存在 (no such folder)")
    base: Any = baseline if baseline in ("default", "none") else _int(baseline, "--baseline")
    try:
        if candidate.isdigit() and not Path(candidate).is_file():
            summary, results, info = _stored(int(candidate), base, list(periods), out)
        else:
            summary, results, info = _from_file(candidate, base, list(periods), out)
    except (RulesvcError, EngineError, DocumentError) as exc:
        raise CliError(_explain(exc)) from exc
    _print(summary, results, info, top)


def _int(text: str, option: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise CliError(f"{option} {text}: 应为版本编号、default 或 none (a version id, default or none)") from None


def _explain(exc: Exception) -> str:
    text = str(exc)
    errors = getattr(exc, "rendered_errors", None)
    if callable(errors) and getattr(exc, "errors", None):
        detail = errors()
        if isinstance(detail, dict):
            text += "".join(f"\n  {k}: {'；'.join(map(str, v)) if isinstance(v, list) else v}" for k, v in detail.items())
    return text


def _stored(version_id: int, baseline: Any, periods: list[str], out: str | None) -> tuple[dict, list, list]:
    from rulesvc.commands import cli_actor
    from rulesvc.services.dictionary import get_dictionary
    from rulesvc.services.simulation import export, runs
    from rulesvc.services.simulation.execute import Progress, execute

    session = db.session()
    actor = cli_actor()  # the run asked for is in the audit log as the operator's
    dictionary = get_dictionary(current_app.config["RULES_DIR"])
    asked = runs.create_run(session, actor, dictionary, candidate_version_id=version_id, periods=periods,
                            baseline=baseline, mode="cli")
    session.commit()
    run_id = asked.run.id
    click.echo(f"模拟测评 #{run_id}（身份哈希 {asked.run.run_hash[:12]}）" + ("" if asked.created else "：已有同样的测评"),
               err=True)
    if asked.run.status in ("queued",):
        progress = Progress()
        scope = current_app.extensions["rulesvc.simulation_scope"]
        settings = current_app.extensions["rulesvc.simulation_settings"]
        final: list[str] = []
        worker = threading.Thread(target=lambda: final.append(execute(scope, run_id, settings, progress)), daemon=True)
        worker.start()
        _watch(worker, progress)
    elif asked.run.status == "running":
        raise CliError(f"模拟测评 #{run_id} 正在别处运行，请稍后用 GET /api/v1/simulations/{run_id} 查看 "
                       "(running elsewhere)")
    session.expire_all()
    run = runs.get_run(session, actor, run_id)
    session.commit()
    if run.status != "succeeded":
        view = runs.view(run)
        raise CliError(f"模拟测评 #{run_id} {view['status_label']}：{(view['error'] or {}).get('message', '')}"
                       f"\n{(view['error'] or {}).get('detail', '')}".rstrip())
    if out:
        scope = current_app.extensions["rulesvc.simulation_scope"]
        from rulesvc.services import designer_simulation
        from rulesvc.services.dictionary import get_dictionary

        chunks = export.iter_csv_export(scope, run_id) if out.lower().endswith(".csv") \
            else export.iter_xlsx_export(scope, run_id, designer_simulation.export_changes(
                session, actor, run, get_dictionary(current_app.config["RULES_DIR"])))
        _write(out, chunks)
    cand = f"{run.scheme.code} 第 {run.candidate.number} 版" if run.candidate else "（已删除的草稿）"
    base = f"{run.baseline.scheme.code} 第 {run.baseline.number} 版" if run.baseline else "无"
    info = [("模拟测评", f"#{run.id}"), ("候选版本", cand), ("基准版本", base), ("结果哈希", run.result_hash or "")]
    return runs.report_of(run) or {"periods": []}, list(run.scenario_results or []), info


def _from_file(path: str, baseline: Any, periods: list[str], out: str | None) -> tuple[dict, list, list]:
    from rulesvc.schema.scheme import load_scheme
    from rulesvc.services.dictionary import get_dictionary
    from rulesvc.services.facts import in_use
    from rulesvc.services.governance import versions
    from rulesvc.services.governance.access import system_actor
    from rulesvc.services.scoring import compile_cached, load_scheme_file
    from rulesvc.services.simulation import export
    from rulesvc.services.simulation.execute import Progress, db_loader, labels_for, scored_columns, simulate
    from rulesvc.services.simulation.spec import parse_options, parse_periods

    if not Path(path).is_file():
        raise CliError(f"{path}: 既不是版本编号，也不是文件 (neither a version id nor a file)")
    session = db.session()
    dictionary = get_dictionary(current_app.config["RULES_DIR"])
    try:
        candidate = compile_cached(load_scheme_file(path), dictionary)
    except (DocumentError, DefinitionError) as exc:
        raise CliError(f"{path}:\n{exc}") from exc
    chosen = parse_periods(periods)
    base = None
    if baseline == "default":
        try:
            v = versions.version_in_effect(session, system_actor("cli"), candidate.scheme.code, chosen[0].start)
            base = compile_cached(load_scheme(v.resolved or {}), dictionary)
            click.echo(f"基准：{candidate.scheme.code} 第 {v.number} 版（{chosen[0].start} 生效）", err=True)
        except RulesvcError:
            click.echo(f"基准：数据库中没有 {candidate.scheme.code} 在 {chosen[0].start} 生效的版本，只看候选版本", err=True)
    elif baseline != "none":
        v = versions.get_version(session, system_actor("cli"), baseline)
        base = compile_cached(load_scheme(versions.resolve(v)), dictionary)
    org = candidate.scheme.org
    load = db_loader(session, dictionary, list(in_use(session).datasets), candidate.scheme.subject, org,
                     current_app.extensions["rulesvc.simulation_settings"].cache_dir,
                     columns=scored_columns(candidate, base))
    progress = Progress()
    box: list[Any] = []
    labels = labels_for(session, dictionary)
    app = current_app._get_current_object()  # type: ignore[attr-defined]

    def compute() -> Any:
        with app.app_context():  # the session's queries need one in this thread too
            return simulate(candidate, base, chosen, load, labels, parse_options(None), progress)

    worker = threading.Thread(target=lambda: box.append(_guard(compute)), daemon=True)
    worker.start()
    _watch(worker, progress)
    if not box or isinstance(box[0], BaseException):
        raise box[0] if box else CliError("模拟测评中断 (interrupted)")
    outcome = box[0]
    if out:
        orgs, business, lines = _names(session, dictionary)
        rows = (row for pr in outcome.periods
                for row in export.subject_rows(pr.report.subjects.iter_rows(named=True), pr.period, orgs, business, lines))
        info = [("候选方案文件", path), ("期间", "、".join(p.label for p in chosen)), ("结果哈希", outcome.result_hash)]
        chunks = (export.iter_csv(export.SUBJECT_HEADER, rows) if out.lower().endswith(".csv")
                  else export.iter_xlsx(export.sheets(info, outcome.summary, rows, [])))
        _write(out, chunks)
    return outcome.summary, [], [("结果哈希", outcome.result_hash), ("说明", "方案文件的模拟测评不保存")]


def _guard(fn: Any) -> Any:
    try:
        return fn()
    except BaseException as exc:  # handed to the main thread
        return exc


def _names(session: Any, dictionary: Any) -> tuple[dict, dict, dict]:
    from sqlalchemy import select

    from rulesvc.persistence.models import Procuratorate

    orgs = dict(session.execute(select(Procuratorate.id, Procuratorate.name)).all())
    return orgs, {b.code: b.name for b in dictionary.businesses}, {b.line: b.line_name for b in dictionary.businesses}


def _watch(worker: threading.Thread, progress: Any) -> None:
    """A progress bar on a terminal (phase and percent on stderr); quiet otherwise."""
    from rulesvc.services.simulation.runs import PHASE_LABELS

    tty = sys.stderr.isatty()
    try:
        while worker.is_alive():
            worker.join(0.25)
            if tty:
                filled = progress.percent // 5
                label = PHASE_LABELS.get(progress.phase, progress.phase)
                click.echo(f"\r[{'█' * filled}{'·' * (20 - filled)}] {progress.percent:3d}% {label}    ", nl=False, err=True)
    except KeyboardInterrupt:
        progress.cancel.set()
        worker.join(30)
        raise CliError("已取消，未保存任何结果 (cancelled: nothing was saved)") from None
    if tty:
        click.echo("", err=True)


def _write(path: str, chunks: Any) -> None:
    p = Path(path)
    tmp = p.with_name(p.name + ".part")
    with open(tmp, "wb") as fh:
        for chunk in chunks:
            fh.write(chunk.encode("utf-8") if isinstance(chunk, str) else chunk)
    tmp.replace(p)
    click.echo(f"已写入 {path} (written)", err=True)


def _print(summary: dict[str, Any], results: list[dict[str, Any]], info: list[tuple[str, str]], top: int) -> None:
    for p in summary.get("periods", []):
        schemes = p.get("schemes") or {}
        cand, base = schemes.get("candidate") or {}, schemes.get("baseline")
        click.echo(f"\n══ 期间 {p['period']}：候选 {cand.get('code', '')}（{str(cand.get('content_hash', ''))[:12]}）"
                   + (f" 基准 {base['code']}（{str(base['content_hash'])[:12]}）" if base else "（无基准版本）"))
        _overview(p)
        _matrix(p)
        _movers(p, top)
        _flags(p)
    _streaks(summary.get("streaks"))
    if results:
        ok = sum(1 for r in results if r["passed"])
        click.echo(f"\n回归用例：{ok}/{len(results)} 通过")
        bad = [r for r in results if not r["passed"]]
        if bad:
            click.echo(render(["代码", "期间", "未通过的核对"], [
                [r["subject"], r["period"], r.get("message") or "；".join(
                    f"{c['what']} 预期 {c['expected']} 实际 {c['actual']}" for c in r["checks"] if not c["passed"])]
                for r in bad]))
    for k, v in info:
        click.echo(f"{k}：{v}")


def _overview(p: dict[str, Any]) -> None:
    sides = p["overview"]["sides"]
    b, c = sides.get("baseline") or {}, sides.get("candidate") or {}
    rows: list[list[Any]] = []
    for key, label in (("count", "评定等次人数"), ("mean", "平均分"), ("median", "中位数"), ("sd", "标准差"),
                       ("min", "最低分"), ("max", "最高分")):
        rows.append([label, b.get(key), c.get(key), _delta(b.get(key), c.get(key))])
    grades = {g["grade"]: g for g in c.get("grades") or []}
    old = {g["grade"]: g for g in b.get("grades") or []}
    for g in p.get("grades") or []:
        rows.append([f"{g}人数", (old.get(g) or {}).get("count"), (grades.get(g) or {}).get("count"),
                     _delta((old.get(g) or {}).get("count"), (grades.get(g) or {}).get("count"))])
    old_quota = {q["grade"]: q for q in b.get("quota") or []}
    for q in c.get("quota") or []:
        o = old_quota.get(q["grade"])
        reached = "达线且未评更高等次" if q.get("below_best") else "达线"  # more reaching than places: the quota decided
        rows.append([f"{q['grade']}名额（{q['quota_label']}）已占/可占（{reached}）",
                     f"{o['taken']}/{o['places']}（{o['reached']}）" if o else None,
                     f"{q['taken']}/{q['places']}（{q['reached']}）", None])
    for key, label in (("not_graded", "计分但不评定等次"), ("left_out", "不参加考评")):
        rows.append([f"{label}人数", b.get(key), c.get(key), _delta(b.get(key), c.get(key))])
    click.echo("\n概览")
    click.echo(render(["项目", "基准版本", "候选版本", "变化"], rows))
    for key in ("not_graded_reasons", "left_out_reasons"):
        for r in c.get(key) or []:
            click.echo(f"  {r['count']} 人：{r['reason']}")
    agreement = p["overview"].get("agreement")
    if agreement:
        click.echo(f"名次一致程度：肯德尔 τ = {_fmt(agreement.get('kendall_tau_b'))}，斯皮尔曼 ρ = "
                   f"{_fmt(agreement.get('spearman_rho'))}（1 为完全一致）")


def _delta(b: Any, c: Any) -> Any:
    return c - b if isinstance(b, int | float) and isinstance(c, int | float) else None


def _fmt(v: Any) -> str:
    return "—" if v is None else f"{v:.3f}"


def _matrix(p: dict[str, Any]) -> None:
    t = p["overview"].get("transitions")
    if not t:
        return
    click.echo(f"\n等次变化（行：基准版本，列：候选版本；{t['changed']} 人等次改变）")
    click.echo(render(["基准＼候选", *t["grades"]], [[g, *row] for g, row in zip(t["grades"], t["matrix"], strict=True)]))


def _movers(p: dict[str, Any], top: int) -> None:
    movers = p.get("movers") or {}
    for key, title in (("risers", "总分上升最多"), ("fallers", "总分下降最多")):
        rows = movers.get(key) or []
        if not rows:
            if p["overview"].get("transitions"):
                moved = movers.get("grade_up" if key == "risers" else "grade_down") or 0
                # A grade can fall with the total unchanged (a quota's places taken by others): say so.
                also = (f"；但有 {moved} 人等次{'上升' if key == 'risers' else '下降'}（名额等原因，见等次变化）"
                        if moved else "")
                click.echo(f"\n{title}：无（没有人的总分{'上升' if key == 'risers' else '下降'}{also}）")
            continue
        click.echo(f"\n{title}")
        click.echo(render(["代码", "姓名", "检察院", "基准总分", "候选总分", "变化", "基准名次", "候选名次", "基准等次", "候选等次"],
                          [[m["code"], printable(m["name"] or ""), printable(m.get("org") or ""), m["total_b"],
                            m["total_c"], m["delta_total"], m["rank_b"], m["rank_c"], m["grade_b"], m["grade_c"]]
                           for m in rows[:top]]))
        first = next((m for m in rows if m.get("why")), None)
        if first:
            click.echo(f"  {printable(first['name'] or '')} 为何变动（对总分变化贡献最大的几项）：")
            for w in first["why"][:5]:
                click.echo(f"    {KIND.get(w['kind'], w['kind'])} {printable(w['name'])}："
                           f"{_pts(w['contrib_b'])} → {_pts(w['contrib_c'])}（{w['delta']:+.2f} 分）")


def _pts(v: Any) -> str:
    return "—" if v is None else f"{v:.2f}"


def _flags(p: dict[str, Any]) -> None:
    cand = [(i, i["candidate"]) for i in p.get("indicators") or [] if i.get("candidate")]
    flat = [i for i, c in cand if c["flags"]["flat"]]
    never = [i for i, c in cand if c["flags"]["tiers_never_reached"]]
    if flat:
        click.echo("\n候选版本中区分度不足的指标（九成以上的人得分相同）：" + "、".join(i["name"] for i in flat))
    if never:
        click.echo("候选版本中有档位无人达到的指标（详见报告“档位分布”）：" + "、".join(i["name"] for i in never))
    fairness = p.get("fairness") or {}
    by = {g["by"]: g for g in fairness.get("groupings") or []}
    line = by.get("line")
    if line:
        click.echo(f"\n按四大检察（与其余人员平均分之差超过 {fairness['threshold']} 分者标 *，括号内为哪一版本）")
        rows = []
        for g in line["groups"]:
            b, c = g.get("baseline") or {}, g.get("candidate") or {}
            rows.append([(g.get("label") or str(g["group"])) + _flagged_in(g.get("flagged")), c.get("count"),
                         b.get("mean"), c.get("mean"), g.get("delta_mean"), b.get("diff_from_rest"),
                         c.get("diff_from_rest")])
        click.echo(render(["条线", "人数", "基准平均分", "候选平均分", "变化", "基准与其余之差", "候选与其余之差"], rows))
    for key, word in (("business", "业务"), ("level", "检察院层级"), ("procuratorate", "检察院")):
        flagged = (by.get(key) or {}).get("flagged") or []
        if not flagged:
            continue
        names = "、".join(printable(str(f["label"])) + _flagged_in(f.get("sides")) for f in flagged[:8])
        more = f" 等 {len(flagged)} 个" if len(flagged) > 8 else ""
        click.echo(f"按{word}：{names}{more}的平均分与其余人员相差超过 {fairness['threshold']} 分（详见报告“公平性”）")


def _flagged_in(sides: Any) -> str:
    """Which version a fairness flag is raised under: " *（候选）", " *（基准）", " *（两版）" or nothing."""
    if not sides:
        return ""
    if {"candidate", "baseline"} <= set(sides):
        return " *（两版）"
    return " *（候选）" if "candidate" in sides else " *（基准）"


def _streaks(data: dict[str, Any] | None) -> None:
    if not data:
        return
    for side, word in (("baseline", "基准版本"), ("candidate", "候选版本")):
        part = data.get(side)
        if not part:
            continue
        names = "、".join(f"{u['name']}（{'、'.join(u['indicators'])}）" for u in part["named"][:12])
        more = f" 等 {len(part['named'])} 个" if len(part["named"]) > 12 else ""
        click.echo(f"\n{word}：连续 {part['streak']} 个月及以上差于同组平均的院 {len(part['named'])} 个"
                   + (f"：{names}{more}" if names else ""))
    if data.get("changes"):
        click.echo(f"连续落后的认定有变化的院 {len(data['changes'])} 个：" + "、".join(
            f"{c['name']}（{'、'.join(c['baseline']) or '无'} → {'、'.join(c['candidate']) or '无'}）"
            for c in data["changes"][:12]))


@click.command("worker")
@click.option("--burst", is_flag=True, help="队列处理完即退出 (exit when the queue is empty)")
@click.option("--name", help="工作进程名称 (worker name)")
@with_appcontext
def worker_command(burst: bool, name: str | None) -> None:
    """运行模拟测评的工作进程（服务器模式，需 RULESVC_REDIS_URL）(run simulations from the RQ queue).

    Start one or more beside gunicorn; each takes one run at a time. A killed worker leaves its run
    failed (after RULESVC_SIMULATION_STALE_SECONDS without a heartbeat) and retryable."""
    from rulesvc.services.simulation.jobs import QUEUE, configure_worker, work

    url = current_app.config.get("REDIS_URL")
    if not url:
        raise CliError("未配置 RULESVC_REDIS_URL：嵌入模式下模拟测评在服务进程内运行，无需工作进程 "
                       "(no RULESVC_REDIS_URL: in embedded mode simulations run inside the service)")
    configure_worker(current_app.extensions["rulesvc.simulation_scope"],
                     current_app.extensions["rulesvc.simulation_settings"])
    click.echo(f"模拟测评工作进程已启动，队列 {QUEUE} @ {url.split('@')[-1]} (worker started)", err=True)
    started = time.monotonic()
    work(url, burst=burst, name=name)
    click.echo(f"工作进程退出，运行 {time.monotonic() - started:.0f} 秒 (worker stopped)", err=True)


commands = [simulate_command, worker_command]
