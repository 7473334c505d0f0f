"""The ``rulesvc`` command line: Flask's commands (``db upgrade`` …) plus the service's own.

Commands live in ``rulesvc/commands/`` (one module each, exposing ``commands``) and are registered here.
"""

from __future__ import annotations

import click
from flask.cli import FlaskGroup

from rulesvc import create_app
from rulesvc.catalogue import set_language, shell_language
from rulesvc.commands import all_commands


@click.group(cls=FlaskGroup, create_app=create_app, add_default_commands=True, add_version_option=False)
def main() -> None:
    """检察官业绩考评规则服务 — rules engine and configuration service.

    Configuration comes from RULESVC_* environment variables (see the README). Messages are in Chinese
    unless RULESVC_LANG or LANG starts with "en".
    """
    set_language(shell_language())


for _command in all_commands():
    main.add_command(_command)
