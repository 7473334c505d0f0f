"""CLI commands, one module each; every module exposes ``commands: list[click.Command]``.

``rulesvc.cli`` registers whatever is here, so adding a command means adding a module.
"""
