"""``rulesvc setup`` and ``rulesvc serve``: get a database ready, then serve it.

``setup`` is what a deployment runs once (not the workers): upgrade the schema, load the data
dictionary, generate the demo province when the database is empty (unless ``--no-demo``), make sure
an administrator exists. ``serve`` (what ``make run`` calls) does the same, prints where everything
is, and starts gunicorn (or Flask's reloader with ``--dev``).
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import click
from flask import current_app
from flask.cli import with_appcontext

from rulesvc.commands.demo import run_demo
from rulesvc.datagen.demo import DemoConfig, database_is_empty
from rulesvc.extensions import db
from rulesvc.gunicorn_conf import threads as THREADS
from rulesvc.services.dictionary import get_dictionary, sync_dictionary


def prepare(*, demo: bool) -> tuple[str, str | None]:
    """Upgrade, load the dictionary, optionally the demo; returns the admin login (password if new)."""
    from flask_migrate import upgrade

    from rulesvc.services.users import ensure_initial_admin

    click.echo("升级数据库结构 (upgrading the database schema) …")
    upgrade()
    if sync_dictionary(db.session(), get_dictionary(current_app.config["RULES_DIR"])):
        click.echo("已载入数据字典 (data dictionary loaded)")
    db.session.commit()
    if demo and database_is_empty():
        run_demo(DemoConfig(seed=current_app.config["DEMO_SEED"]))
        _publish_library()
    login = ensure_initial_admin(db.session(), Path(current_app.instance_path))
    db.session.commit()
    return login


def _publish_library() -> None:
    """The demo's first start also puts the shipped rule library in force (from 2020-01-01)."""
    from rulesvc.services.governance.library import publish_library

    rules_dir = current_app.config["RULES_DIR"]
    summary = publish_library(db.session(), rules_dir, get_dictionary(rules_dir),
                              current_app.extensions["rulesvc.simulation_settings"])
    db.session.commit()
    click.echo(f"已发布随附规则库 (published the shipped rule library): {', '.join(summary.published)}")
    for label in summary.in_review:
        click.echo(f"  {label}：已模拟测评，待审核（管理页或 GET /api/v1/simulations 查看报告）"
                   " (simulated against the version in force, waiting for review)")


def _print_login(username: str, password: str | None) -> None:
    creds = Path(current_app.instance_path) / "admin-credentials.txt"
    if password:
        click.echo(f"管理员账号 (admin login): {username} / {password}")
        click.echo(f"  已保存到 (saved to) {creds} — 请登录后妥善保管或修改 (keep it safe or change it)")
    else:
        click.echo(f"管理员账号 (admin login): {username} — 密码见 (password in) {creds}"
                   " 或用 `rulesvc users set-password` 重置")


@click.command("setup")
@click.option("--demo/--no-demo", default=True, show_default=True, help="Load the demo province into an empty database.")
@with_appcontext
def setup_command(demo: bool) -> None:
    """准备数据库 (prepare the database: migrate, dictionary, demo data, admin user)."""
    _print_login(*prepare(demo=demo))


@click.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, type=int, show_default=True)
@click.option("--workers", default=2, type=click.IntRange(1, 64), show_default=True, help="gunicorn worker processes.")
@click.option("--threads", default=THREADS, type=click.IntRange(1, 32), show_default=True,
              help="Threads per worker (requests a worker runs at once).")
@click.option("--demo/--no-demo", default=True, show_default=True, help="Load the demo province into an empty database.")
@click.option("--dev", is_flag=True, help="Flask's development server with the reloader instead of gunicorn.")
@with_appcontext
def serve_command(host: str, port: int, workers: int, threads: int, demo: bool, dev: bool) -> None:
    """启动服务 (start the service; the first start loads the demo province)."""
    username, password = prepare(demo=demo)
    base = f"http://{host}:{port}"
    click.echo("")
    click.echo(f"管理界面 (admin UI):      {base}/admin/")
    click.echo(f"接口文档 (API docs):      {base}/api/docs/swagger  ·  {base}/api/docs/redoc")
    click.echo(f"OpenAPI:                  {base}/api/docs/openapi.json")
    click.echo(f"健康检查 (health):        {base}/api/v1/health")
    _print_login(username, password)
    click.echo(f"数据库 (database):        {current_app.config['DATABASE_URL']}")
    click.echo("")
    sys.stdout.flush()
    db.session.remove()
    db.engine.dispose()
    if dev:
        current_app.run(host=host, port=port, debug=True, use_reloader=True)
        return
    gunicorn = shutil.which("gunicorn") or str(Path(sys.executable).with_name("gunicorn"))
    args = [
        gunicorn, "-c", "python:rulesvc.gunicorn_conf", "--bind", f"{host}:{port}", "--workers", str(workers),
        "--threads", str(threads),
        "--no-control-socket", "--max-requests", "200000", "--max-requests-jitter", "20000",
        "--access-logfile", "-", "rulesvc:create_app()",
    ]
    # Workers must find the same instance folder (database, secret key) as this process.
    os.environ.setdefault("RULESVC_INSTANCE_PATH", current_app.instance_path)
    os.execv(gunicorn, args)


commands = [setup_command, serve_command]
