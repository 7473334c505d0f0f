"""The Flask-Admin UI at /admin (Chinese by default, English switch)."""

from __future__ import annotations

from flask import Flask


def init_admin(app: Flask) -> None:
    """Mount the admin views behind the login."""
