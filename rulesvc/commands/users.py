"""``rulesvc users create`` and ``rulesvc users set-password``: accounts for the admin UI and the API."""

from __future__ import annotations

import sys

import click
from flask.cli import with_appcontext

from rulesvc.commands import CliError
from rulesvc.errors import InvalidInput, RulesvcError
from rulesvc.persistence.models import ROLES


def _read_password(from_stdin: bool) -> str:
    """One line from standard input (scripts), else a hidden prompt asked twice (people)."""
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    return click.prompt("密码 (password)", hide_input=True, confirmation_prompt=True)


def _fail(exc: RulesvcError) -> click.ClickException:
    lines = [exc.message]
    if isinstance(exc, InvalidInput) and isinstance(exc.errors, dict):
        lines += [f"  {name}: {message}" for name, message in exc.errors.items()]
    return CliError("\n".join(lines))


@click.group("users")
def users_group() -> None:
    """管理登录用户 (manage the accounts that sign in to /admin and the API)."""


@users_group.command("create")
@click.argument("username")
@click.option("--role", type=click.Choice(ROLES), default="viewer", show_default=True, help="角色 (role)")
@click.option("--display-name", default="", help="显示名称 (display name)")
@click.option("--password-stdin", is_flag=True, help="从标准输入读取密码 (read the password from stdin)")
@with_appcontext
def create_command(username: str, role: str, display_name: str, password_stdin: bool) -> None:
    """创建用户 USERNAME (create a user; the password is asked for unless --password-stdin)."""
    from rulesvc.extensions import db
    from rulesvc.services.users import create_user

    password = _read_password(password_stdin)
    try:
        user = create_user(db.session, username, password, role=role, display_name=display_name)
        db.session.commit()
    except RulesvcError as exc:
        db.session.rollback()
        raise _fail(exc) from exc
    click.echo(f"已创建用户 {user.username}（{role}） (created user {user.username}, role {role})")


@users_group.command("set-password")
@click.argument("username")
@click.option("--password-stdin", is_flag=True, help="从标准输入读取密码 (read the password from stdin)")
@with_appcontext
def set_password_command(username: str, password_stdin: bool) -> None:
    """重设用户 USERNAME 的密码 (set a new password)."""
    from rulesvc.extensions import db
    from rulesvc.services.users import set_password

    password = _read_password(password_stdin)
    try:
        user = set_password(db.session, username, password)
        db.session.commit()
    except RulesvcError as exc:
        db.session.rollback()
        raise _fail(exc) from exc
    click.echo(f"已更新 {user.username} 的密码 (password of {user.username} changed)")


commands = [users_group]
