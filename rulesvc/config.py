"""Configuration: defaults, then the instance file, then ``RULESVC_*`` environment variables.

Every setting has a safe default for the embedded mode (SQLite under ``instance/``, no Redis).
Environment variables override everything except an explicit ``test_config``.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

PROJECT_ROOT = Path(__file__).resolve().parent.parent


class Defaults:
    """Defaults for the embedded mode; documented in the README's configuration table."""

    # The database; the default is a SQLite file in the instance folder (set in create_app).
    DATABASE_URL: str | None = None
    # Redis for background jobs (simulations); optional in embedded mode.
    REDIS_URL: str | None = None
    # UI language when the browser expresses no preference: zh_Hans_CN or en.
    DEFAULT_LOCALE = "zh_Hans_CN"
    # Seed of the demo province generator.
    DEMO_SEED = 20200701
    # Where the Alembic migrations live.
    MIGRATIONS_DIR = str(PROJECT_ROOT / "migrations")
    # Where the shipped rule library (dictionary, schemes) lives.
    RULES_DIR = str(PROJECT_ROOT / "rules")
    # Largest upload the import API accepts (bytes).
    MAX_CONTENT_LENGTH = 256 * 1024 * 1024
    # Rows per bulk insert batch.
    IMPORT_BATCH_SIZE = 20_000
    # Events dated outside their prosecutor's active dates: "reject" the file, or "flag" them and import.
    IMPORT_OUTSIDE_OFFICE = "reject"


ENV_PREFIX = "RULESVC_"
# Names read from the environment, with the type to coerce to.
ENV_SETTINGS: dict[str, type] = {
    "DATABASE_URL": str,
    "REDIS_URL": str,
    "SECRET_KEY": str,
    "DEFAULT_LOCALE": str,
    "DEMO_SEED": int,
    "RULES_DIR": str,
    "MAX_CONTENT_LENGTH": int,
    "IMPORT_BATCH_SIZE": int,
    "IMPORT_OUTSIDE_OFFICE": str,
}


def from_environment(environ: dict[str, str] | None = None) -> dict[str, Any]:
    """Read ``RULESVC_<NAME>`` variables into a settings dict, coerced to their types."""
    environ = dict(os.environ if environ is None else environ)
    found: dict[str, Any] = {}
    for name, kind in ENV_SETTINGS.items():
        raw = environ.get(ENV_PREFIX + name)
        if raw is None or raw == "":
            continue
        try:
            found[name] = kind(raw)
        except ValueError as exc:
            raise RuntimeError(f"{ENV_PREFIX}{name}={raw!r} is not a valid {kind.__name__}") from exc
    return found


def normalise_database_url(url: str) -> str:
    """Map ``postgres://``/``postgresql://`` to the psycopg 3 driver SQLAlchemy 2 expects."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url
