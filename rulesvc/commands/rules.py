"""``rulesvc rules export|import`` (rule sets as files) and ``rulesvc apikeys create|list|revoke``.

Both act as the system operator (``access.system_actor("cli")``): trusted, everywhere. A command that
fails changes nothing, lists every problem and exits with status 1.
"""

from __future__ import annotations

import datetime as dt
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, NoReturn, TypeVar

import click
from flask.cli import with_appcontext

from rulesvc.errors import RulesvcError
from rulesvc.services.governance.access import KEY_PERMISSIONS

T = TypeVar("T")


def _fail(exc: RulesvcError) -> NoReturn:
    """Print the error and every problem it lists (``errors``: file or field → messages); exit 1."""
    click.echo(exc.message, err=True)
    errors = exc.errors
    if isinstance(errors, dict):
        for where, messages in errors.items():
            click.echo(f"  {where}:", err=True)
            for message in messages if isinstance(messages, list | tuple) else [messages]:
                click.echo(f"    - {message}", err=True)
    sys.exit(1)


def _committed(work: Callable[[], T]) -> T:
    """Run ``work`` and commit; on a domain error roll back, list the problems and exit 1; on any
    other error roll back and re-raise. Nothing half-done is ever committed."""
    from rulesvc.extensions import db

    try:
        result = work()
        db.session.commit()
    except RulesvcError as exc:
        db.session.rollback()
        _fail(exc)
    except Exception:
        db.session.rollback()
        raise
    return result


# -- rules -------------------------------------------------------------------------------------------


@click.group("rules")
def rules_group() -> None:
    """方案规则与文件互导 (rule sets as files: export to a folder, import from one)."""


@rules_group.command("export")
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path))
@click.option("--scheme", "schemes", multiple=True, metavar="CODE",
              help="只导出这些方案，可重复 (only these schemes; repeatable)")
@with_appcontext
def export_command(directory: Path, schemes: tuple[str, ...]) -> None:
    """把方案及其各版本导出为 YAML 文件 (write schemes and their versions as YAML under DIRECTORY).

    Layout: DIRECTORY/schemes/<procuratorate>/<SCHEME-CODE>/scheme.yaml and v0001.yaml, v0002.yaml …
    Exporting the same database again gives byte-identical files.
    """
    from rulesvc.extensions import db
    from rulesvc.services.governance.access import system_actor
    from rulesvc.services.governance.rulefiles import export_rules

    try:
        summary = export_rules(db.session(), system_actor("cli"), directory, schemes=list(schemes) or None)
    except RulesvcError as exc:
        _fail(exc)
    finally:
        db.session.rollback()  # export only reads
    click.echo(summary.message)
    for path in summary.removed:
        click.echo(f"  已删除过时文件 (removed stale file): {path}")


@rules_group.command("import")
@click.argument("directory", type=click.Path(exists=True, file_okay=False, path_type=Path))
@with_appcontext
def import_command(directory: Path) -> None:
    """从 YAML 文件导入方案及其各版本 (load the schemes and versions under DIRECTORY).

    All or nothing: a bad file, a content hash that does not match its document or a version that
    differs from the one in the database imports nothing. Importing the same files again changes nothing.
    """
    from rulesvc.extensions import db
    from rulesvc.services.governance.access import system_actor
    from rulesvc.services.governance.rulefiles import import_rules

    summary = _committed(lambda: import_rules(db.session(), system_actor("cli"), directory))
    click.echo(summary.message)
    for label in summary.created:
        click.echo(f"  + {label}")


@rules_group.command("publish-library")
@click.option("--from", "effective_from", type=click.DateTime(formats=["%Y-%m-%d"]), default="2020-01-01",
              show_default=True, metavar="YYYY-MM-DD", help="生效日期 (the date the versions take effect)")
@with_appcontext
def publish_library_command(effective_from: dt.datetime) -> None:
    """把随附规则库发布到数据库 (publish the shipped rule library: rules/schemes and rules/localizations).

    Each template and localization goes through submit, a real simulation run on 2020, approval on it
    (by a second system actor) and activation, all in the audit log; revisions (rules/revisions) are
    simulated and left in review. Schemes already in the database are skipped; versions left in review
    for want of data are finished once the data is there.
    """
    from flask import current_app

    from rulesvc.extensions import db
    from rulesvc.services.dictionary import get_dictionary
    from rulesvc.services.governance.library import publish_library

    rules_dir = current_app.config["RULES_DIR"]
    settings = current_app.extensions["rulesvc.simulation_settings"]
    summary = _committed(lambda: publish_library(db.session(), rules_dir, get_dictionary(rules_dir), settings,
                                                 effective_from=effective_from.date()))
    echo_summary(summary)


def echo_summary(summary: Any) -> None:
    click.echo(f"已发布 {len(summary.published)} 个方案版本 (published {len(summary.published)} scheme versions)")
    for label in summary.published:
        click.echo(f"  + {label}")
    for label in summary.in_review:
        click.echo(f"  ? {label} 已完成模拟测评，待审核 (simulated, waiting for a reviewer)")
    for label in summary.pending:
        click.echo(f"  ! {label} 没有 2020 年数据，无法模拟测评，留在审核中；导入数据后再运行本命令 "
                   "(no data to simulate on: left in review; run this again after importing data)")
    for code in summary.skipped:
        click.echo(f"  = {code} 已存在，未改动 (already present, left alone)")


# -- API keys ----------------------------------------------------------------------------------------


@click.group("apikeys")
def apikeys_group() -> None:
    """管理其他系统调用 API 所用的密钥 (API keys for other systems)."""


@apikeys_group.command("create")
@click.option("--name", required=True, help="名称，如调用方系统 (a name, e.g. the calling system)")
@click.option("--procuratorate", "procuratorates", multiple=True, required=True, metavar="CODE",
              help="可访问的检察院（及其下级院），可重复 (procuratorate in scope, with those below it; repeatable)")
@click.option("--permission", "permissions", multiple=True, required=True, type=click.Choice(KEY_PERMISSIONS),
              help="权限，可重复 (permission; repeatable)")
@click.option("--expires", type=click.DateTime(formats=["%Y-%m-%d"]), default=None, metavar="YYYY-MM-DD",
              help="有效至该日（含，UTC）(valid through this date, UTC)")
@click.option("--owner", default=None, metavar="USERNAME",
              help="密钥持有人（用户名）；带 review 权限时必填 (the person the key acts for; required with review)")
@with_appcontext
def create_key_command(name: str, procuratorates: tuple[str, ...], permissions: tuple[str, ...],
                       expires: dt.datetime | None, owner: str | None) -> None:
    """新建 API 密钥；密钥只显示这一次 (create an API key; the key is shown once)."""
    from rulesvc.extensions import db
    from rulesvc.services.governance.access import system_actor
    from rulesvc.services.governance.apikeys import create_key

    expires_at = None
    if expires is not None:
        expires_at = dt.datetime.combine(expires.date() + dt.timedelta(days=1), dt.time(), tzinfo=dt.UTC)
    key, token = _committed(lambda: create_key(db.session(), system_actor("cli"), name=name,
                                               procuratorates=list(procuratorates), permissions=list(permissions),
                                               expires_at=expires_at, owner=owner))
    click.echo(f"已创建 API 密钥 {key.name}（前缀 {key.prefix}）(created API key {key.name}, prefix {key.prefix})")
    click.echo(f"  检察院 (procuratorates): {', '.join(sorted(procuratorates))}")
    click.echo(f"  权限 (permissions): {', '.join(key.permissions)}")
    if expires is not None:
        click.echo(f"  有效至 (valid through): {expires.date().isoformat()}")
    click.echo("")
    click.echo(token)
    click.echo("")
    click.echo("注意：密钥只显示这一次，系统不保存明文，请立即妥善保管 "
               "(warning: this key is shown only once and is not stored; keep it safe now)", err=True)


@apikeys_group.command("list")
@with_appcontext
def list_keys_command() -> None:
    """列出 API 密钥（不显示密钥本身）(list API keys; never the keys themselves)."""
    from rulesvc.extensions import db
    from rulesvc.services.governance.keylist import list_api_keys

    keys = list_api_keys(db.session())
    db.session.rollback()
    if not keys:
        click.echo("没有 API 密钥 (no API keys)")
        return
    header = ("前缀 prefix", "名称 name", "检察院 scope", "权限 permissions", "创建 created", "最近使用 last used",
              "到期 expires", "吊销 revoked")
    rows = [header] + [(
        k["prefix"], k["name"], ",".join(k["procuratorates"]), ",".join(k["permissions"]), _day(k["created_at"]),
        _day(k["last_used_at"]), _day(k["expires_at"]), _day(k["revoked_at"]),
    ) for k in keys]
    for row in rows:
        click.echo("  ".join(row))
    from rulesvc.services import localtime

    click.echo(f"（时间为{localtime.label('zh')} / times in {localtime.label('en')}）")


def _day(iso: str | None) -> str:
    """A moment of a key's list in the site's time zone (the API gives it in UTC)."""
    from rulesvc.services import localtime

    return localtime.text(iso, seconds=True) if iso else "-"


@apikeys_group.command("revoke")
@click.argument("prefix")
@with_appcontext
def revoke_key_command(prefix: str) -> None:
    """吊销前缀为 PREFIX 的 API 密钥 (revoke the API key with this prefix)."""
    from rulesvc.extensions import db
    from rulesvc.services.governance.access import system_actor
    from rulesvc.services.governance.apikeys import revoke_key

    key = _committed(lambda: revoke_key(db.session(), system_actor("cli"), prefix))
    click.echo(f"已吊销 API 密钥 {key.name}（{key.prefix}）(revoked API key {key.name}, {key.prefix})")


commands = [rules_group, apikeys_group]
