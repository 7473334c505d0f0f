"""``rulesvc publish`` — publish a closed period's results (发布) from the server's command line, or
correct a publication (``--supersedes ID --reason …``); ``rulesvc publications`` lists them."""

from __future__ import annotations

import click
from flask import current_app
from flask.cli import with_appcontext

from rulesvc.commands import CliError
from rulesvc.commands._table import render
from rulesvc.engine.texts import visible
from rulesvc.errors import RulesvcError
from rulesvc.extensions import db


@click.command("publish")
@click.option("--scheme", required=True, metavar="CODE", help="方案代码 (scheme code)")
@click.option("--period", required=True, metavar="PERIOD", help="已结束的期间：2020、2020-Q3 或 2020-07 (a closed period)")
@click.option("--version", "version_id", type=int, metavar="VERSION_ID",
              help="默认为期间首日生效的版本 (default: the version in force on the period's first day)")
@click.option("--supersedes", type=int, metavar="PUBLICATION_ID",
              help="更正这次发布（须为该期间最新的发布）(correct this publication: the latest of the period)")
@click.option("--reason", default="", help="更正理由（更正时必填）(why: required for a correction)")
@click.option("--accept-fewer-graded", is_flag=True,
              help="更正后评定等次的人数不到原发布的一半时仍然更正 (correct even though fewer than half as many are graded)")
@with_appcontext
def publish_command(scheme: str, period: str, version_id: int | None, supersedes: int | None, reason: str,
                    accept_fewer_graded: bool) -> None:
    """发布一个已结束期间的考评结果：此后计分、排名、历次结果都返回这份结果，数据和规则再变也不变
    (publish a closed period's results: from then on evaluations, rankings and history answer with them)."""
    from rulesvc.services import publications
    from rulesvc.services.dictionary import get_dictionary
    from rulesvc.services.governance.access import system_actor

    if supersedes is not None and not visible(reason):
        raise CliError("更正已发布的结果须用 --reason 写明理由 (a correction needs --reason)")
    session = db.session()
    try:
        pub = publications.publish(session, system_actor("cli"), get_dictionary(current_app.config["RULES_DIR"]),
                                   scheme=scheme, period=period, version_id=version_id, supersedes=supersedes,
                                   reason=reason, accept_fewer_graded=accept_fewer_graded,
                                   cache_dir=current_app.extensions["rulesvc.simulation_settings"].cache_dir)
        view = publications.view(session, pub)
        session.commit()
    except RulesvcError as exc:
        session.rollback()
        raise CliError(str(exc)) from exc
    grades = "，".join(f"{g} {n}" for g, n in view["summary"]["grades"].items())
    graded = f"评定等次 {view['graded']}：{grades}" if grades else f"参评 {view['graded']}，本方案不评等次"
    click.echo(f"已发布 #{view['id']}：{scheme} {view['period']}，第 {view['version']['number']} 版，"
               f"{view['subjects']} 个考评对象（{graded}）")
    click.echo(f"结果哈希 (result hash) {view['result_hash']}")
    if view["supersedes"]:
        click.echo(f"取代发布 #{view['supersedes']}（理由：{view['reason']}）")


@click.command("publications")
@click.option("--scheme", metavar="CODE", help="只列该方案 (only this scheme)")
@with_appcontext
def publications_command(scheme: str | None) -> None:
    """列出已发布的考评结果，新的在前 (list publications, newest first)."""
    from rulesvc.services import publications
    from rulesvc.services.governance.access import system_actor

    session = db.session()
    try:
        found, _ = publications.listing(session, system_actor("cli"), scheme=scheme, page_size=1000)
    except RulesvcError as exc:
        raise CliError(str(exc)) from exc
    rows = []
    for p in found:
        v = publications.view(session, p)
        rows.append([v["id"], v["scheme"]["code"], v["period"], v["sequence"], "是" if v["current"] else "否",
                     v["version"]["number"], v["subjects"], v["published_by"], v["published_at"], v["reason"]])
    click.echo(render(["编号", "方案", "期间", "次序", "现行", "版本", "对象数", "发布人", "发布时间", "更正理由"], rows))


commands = [publish_command, publications_command]
