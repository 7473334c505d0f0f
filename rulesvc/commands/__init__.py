"""CLI commands, one module each; every module exposes ``commands: list[click.Command]``.

``all_commands()`` collects them; ``rulesvc.cli`` and ``create_app`` (for ``app.cli``) register them,
so adding a command means adding a module.
"""

from __future__ import annotations

import importlib
import pkgutil
from typing import IO, TYPE_CHECKING, Any

import click

if TYPE_CHECKING:
    from rulesvc.services.governance.access import Actor


class CliError(click.ClickException):
    """A command's error, shown in Chinese like everything else it prints (click says "Error:")."""

    def show(self, file: IO[Any] | None = None) -> None:
        from rulesvc.catalogue import current_language

        label = "Error: " if current_language() == "en" else "错误："
        click.echo(f"{label}{self.format_message()}", file=file, err=True)


def cli_actor() -> Actor:
    """The operator at the server's command line, for the permission checks and the audit log of what a
    command changes: a system actor named after the operating-system user (``系统 (cli:root)``), or
    ``系统 (cli)`` when the user cannot be told."""
    import getpass

    from rulesvc.services.governance.access import system_actor

    try:
        who = getpass.getuser()
    except (KeyError, OSError):  # no such user in the password database, no USER/LOGNAME
        who = ""
    who = "".join(c for c in who if c.isprintable())[:24]
    return system_actor(f"cli:{who}" if who else "cli")


def all_commands() -> list[click.Command]:
    found: list[click.Command] = []
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        module = importlib.import_module(f"{__name__}.{info.name}")
        found.extend(getattr(module, "commands", []))
    return found
