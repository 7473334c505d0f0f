"""``rulesvc users …``: accounts for the admin UI and the API.

``create``, ``update``, ``set-password``, ``deactivate``, ``activate``, ``list``. A designer, reviewer or
viewer must belong to a procuratorate (``--procuratorate CODE``): they act for it and those below it, and
without one they would see nothing. An administrator without one acts for the whole province.

Each command acts as the operator at the command line (:func:`rulesvc.commands.cli_actor`: a system actor
named after the operating-system user), so every change is in the audit log as the admin page's are.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import TypeVar

import click
from flask.cli import with_appcontext

from rulesvc.catalogue import Msg, codes_in, current_language, msg
from rulesvc.commands import CliError, cli_actor
from rulesvc.commands._table import render
from rulesvc.errors import RulesvcError
from rulesvc.persistence.models import ROLE_LABELS, ROLES, User

FIELD_LABELS = {"role": "角色", "procuratorate": "所属检察院", "display_name": "姓名"}
# What the service's messages leave to the surface: the option that gives what is missing.
OPTION_HINTS = {"user.needs_procuratorate": ("用 --procuratorate 检察院代码 指定所属检察院",
                                             "give it with --procuratorate CODE")}


def _read_password(from_stdin: bool) -> str:
    """One line from standard input (scripts), else a hidden prompt asked twice (people)."""
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    return click.prompt("密码 (password)", hide_input=True, confirmation_prompt=True)


T = TypeVar("T")


def _fail(exc: RulesvcError) -> click.ClickException:
    lines = [exc.message]
    errors = exc.rendered_errors()
    if isinstance(errors, dict):
        lines += [f"  {name}: {message}" for name, message in errors.items()]
        codes = codes_in(exc.errors) if isinstance(exc.errors, dict) else {}
        for code in codes.values():
            hint = OPTION_HINTS.get(code) if isinstance(code, str) else None
            if hint:
                lines.append(f"  {hint[1] if current_language() == 'en' else hint[0]}")
    return CliError("\n".join(lines))


def _committed(work: Callable[[], T]) -> T:
    """Run ``work`` and commit; a domain error rolls back and is shown as the command's error."""
    from rulesvc.extensions import db

    try:
        result = work()
        db.session.commit()
    except RulesvcError as exc:
        db.session.rollback()
        raise _fail(exc) from exc
    return result


def _echo(message: Msg) -> None:
    click.echo(message.render())


def _procuratorate_id(code: str | None) -> int | None:
    from rulesvc.extensions import db
    from rulesvc.services.users import procuratorate_by_code

    return None if code is None else procuratorate_by_code(db.session(), code).id


def _where(user: User) -> tuple[str, str]:
    """The user's procuratorate for a message: (Chinese, English)."""
    if user.procuratorate is None:
        return msg("user.province_wide").render("zh"), msg("user.province_wide").render("en")
    return f"{user.procuratorate.code} {user.procuratorate.name}", user.procuratorate.code


@click.group("users")
def users_group() -> None:
    """管理登录用户 (manage the accounts that sign in to /admin and the API)."""


@users_group.command("create")
@click.argument("username")
@click.option("--role", type=click.Choice(ROLES), default="viewer", show_default=True, help="角色 (role)")
@click.option("--procuratorate", "procuratorate", metavar="CODE", default=None,
              help="所属检察院代码；管理员以外的角色必填 (procuratorate code; required except for admin)")
@click.option("--display-name", default="", help="姓名 (full name)")
@click.option("--password-stdin", is_flag=True, help="从标准输入读取密码 (read the password from stdin)")
@with_appcontext
def create_command(username: str, role: str, procuratorate: str | None, display_name: str, password_stdin: bool) -> None:
    """创建用户 USERNAME (create a user; the password is asked for unless --password-stdin)."""
    from rulesvc.extensions import db
    from rulesvc.services.users import create_user

    try:
        org_id = _procuratorate_id(procuratorate)
        password = _read_password(password_stdin)
        user = create_user(db.session(), username, password, role=role, display_name=display_name,
                           procuratorate_id=org_id, actor=cli_actor())
        db.session.commit()
    except RulesvcError as exc:
        db.session.rollback()
        raise _fail(exc) from exc
    where, where_en = _where(user)
    _echo(msg("user.created", username=user.username, role=ROLE_LABELS[role], role_en=role,
              procuratorate=where, procuratorate_en=where_en))


@users_group.command("update")
@click.argument("username")
@click.option("--role", type=click.Choice(ROLES), default=None, help="新角色 (new role)")
@click.option("--procuratorate", "procuratorate", metavar="CODE", default=None,
              help="新的所属检察院代码 (new procuratorate code)")
@click.option("--no-procuratorate", is_flag=True,
              help="取消所属检察院：仅管理员，即全省 (no procuratorate: administrators only, the whole province)")
@click.option("--display-name", default=None, help="新的姓名 (new full name)")
@with_appcontext
def update_command(username: str, role: str | None, procuratorate: str | None, no_procuratorate: bool,
                   display_name: str | None) -> None:
    """修改用户 USERNAME 的角色、所属检察院或姓名 (change a user's role, procuratorate or full name)."""
    from rulesvc.extensions import db
    from rulesvc.services.users import UNSET, update_user

    if procuratorate is not None and no_procuratorate:
        raise click.UsageError("--procuratorate 与 --no-procuratorate 不能同时使用 (use one of them)")
    if role is None and procuratorate is None and not no_procuratorate and display_name is None:
        raise click.UsageError("没有要修改的内容：请给出 --role、--procuratorate、--no-procuratorate 或 --display-name "
                               "(nothing to change: give --role, --procuratorate, --no-procuratorate or --display-name)")
    try:
        org_id = None if no_procuratorate else (UNSET if procuratorate is None else _procuratorate_id(procuratorate))
        user, changed = update_user(db.session(), username, role=role, procuratorate_id=org_id, display_name=display_name,
                                    actor=cli_actor())
        db.session.commit()
    except RulesvcError as exc:
        db.session.rollback()
        raise _fail(exc) from exc
    labels = [FIELD_LABELS.get(name, name) for name in changed] or ["—"]
    _echo(msg("user.updated", username=user.username, changes=labels, changes_en=changed or ["—"]))


@users_group.command("set-password")
@click.argument("username")
@click.option("--password-stdin", is_flag=True, help="从标准输入读取密码 (read the password from stdin)")
@with_appcontext
def set_password_command(username: str, password_stdin: bool) -> None:
    """重设用户 USERNAME 的密码，并结束其全部登录会话 (set a new password; ends every session of the user)."""
    from rulesvc.extensions import db
    from rulesvc.services import sessions
    from rulesvc.services.users import get_user, set_password

    try:
        actor = cli_actor()
        live = sessions.live_count(db.session(), get_user(db.session(), username, actor).id)  # "no such user" first
        password = _read_password(password_stdin)
        user = set_password(db.session(), username, password, actor=actor)
        db.session.commit()
    except RulesvcError as exc:
        db.session.rollback()
        raise _fail(exc) from exc
    _echo(msg("user.password_changed", username=user.username, count=live))


@users_group.command("deactivate")
@click.argument("username")
@with_appcontext
def deactivate_command(username: str) -> None:
    """停用用户 USERNAME：不能再登录，其登录会话立即结束 (deactivate: no sign-in, sessions end now)."""
    from rulesvc.extensions import db
    from rulesvc.services.users import deactivate_user

    user, ended = _committed(lambda: deactivate_user(db.session(), username, actor=cli_actor()))
    _echo(msg("user.deactivated", username=user.username, count=ended))


@users_group.command("activate")
@click.argument("username")
@with_appcontext
def activate_command(username: str) -> None:
    """重新启用用户 USERNAME (let a deactivated user sign in again)."""
    from rulesvc.extensions import db
    from rulesvc.services.users import activate_user

    user = _committed(lambda: activate_user(db.session(), username, actor=cli_actor()))
    _echo(msg("user.activated", username=user.username))


@users_group.command("list")
@with_appcontext
def list_command() -> None:
    """列出全部用户：角色、所属检察院、是否启用 (every user: role, procuratorate, active)."""
    from rulesvc.extensions import db
    from rulesvc.services import localtime
    from rulesvc.services.users import list_users

    rows = []
    for user in list_users(db.session(), cli_actor()):
        where, _ = _where(user)
        rows.append([user.username, user.display_name or "—", ROLE_LABELS.get(user.role, user.role), where,
                     user.is_active, localtime.text(user.last_login_at) or None])
    click.echo(render(["用户名", "姓名", "角色", "所属检察院", "启用", f"最近登录（{localtime.label('zh')}）"], rows))


commands = [users_group]
