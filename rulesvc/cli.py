"""The ``rulesvc`` command line: Flask's commands (``db upgrade`` …) plus the service's own.

Commands live in ``rulesvc/commands/`` (one module each, exposing ``commands``) and are registered here.
"""

from __future__ import annotations

import importlib
import pkgutil

import click
from flask.cli import FlaskGroup

from rulesvc import commands as commands_pkg
from rulesvc import create_app


@click.group(cls=FlaskGroup, create_app=create_app, add_default_commands=True, add_version_option=False)
def main() -> None:
    """检察官业绩考评规则服务 — rules engine and configuration service.

    Configuration comes from RULESVC_* environment variables (see the README).
    """


for _info in sorted(pkgutil.iter_modules(commands_pkg.__path__), key=lambda m: m.name):
    _module = importlib.import_module(f"{commands_pkg.__name__}.{_info.name}")
    for _command in getattr(_module, "commands", []):
        main.add_command(_command)
