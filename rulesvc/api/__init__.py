"""The HTTP API under /api/v1 (flask-smorest)."""

from __future__ import annotations

from flask import Flask


def init_api(app: Flask) -> None:
    """Register the API blueprints and the one JSON error envelope."""
