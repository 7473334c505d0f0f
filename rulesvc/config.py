"""Configuration: defaults, then the instance file, then ``RULESVC_*`` environment variables.

Every setting has a safe default for the embedded mode (SQLite under ``instance/``, no Redis).
Environment variables override everything except an explicit ``test_config``.
"""

from __future__ import annotations

import os
from collections.abc import Callable
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
    # Time zone of the times pages and spreadsheets show (the API keeps UTC with its offset).
    TIMEZONE = "Asia/Shanghai"
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
    # The site is served over HTTPS (directly or behind a TLS proxy): cookies get Secure, HTTP requests
    # are redirected to HTTPS and responses carry Strict-Transport-Security. Off for plain HTTP (tests,
    # one laptop).
    HTTPS = False
    # How many reverse proxies (nginx …) stand in front of the service and set X-Forwarded-For and
    # X-Forwarded-Proto. 0: none, the caller's address is the TCP peer's. Behind one proxy set 1, or every
    # request seems to come from the proxy (one address for the sign-in throttle) and HTTPS looks like HTTP.
    PROXIES = 0
    # A signed-in session ends after this many minutes without a request (idle timeout) …
    SESSION_IDLE_MINUTES = 30
    # … and this many hours after sign-in whatever happens (absolute timeout).
    SESSION_ABSOLUTE_HOURS = 12
    # Sign-in throttling: this many failed sign-ins for one user name within the window lock the name,
    # this many from one address lock the address; a lock lasts LOGIN_LOCKOUT_MINUTES.
    LOGIN_FAILURES_PER_USER = 5
    LOGIN_FAILURES_PER_IP = 30
    LOGIN_WINDOW_MINUTES = 15
    LOGIN_LOCKOUT_MINUTES = 15
    # Limits of one imported file (checked while streaming, before anything is written). The demo's
    # year is 1.16M events: 2M rows leaves headroom for a province's year in one file.
    IMPORT_MAX_ROWS = 2_000_000
    # Largest cell (characters); a bigger one is a row error.
    IMPORT_MAX_CELL_CHARS = 4096
    # Largest file (bytes); an .xlsx is also refused when it unpacks to more than 8x this, or when a
    # part of it is compressed more than IMPORT_MAX_XLSX_RATIO times (a zip bomb).
    IMPORT_MAX_FILE_BYTES = 512 * 1024 * 1024
    IMPORT_MAX_XLSX_RATIO = 200
    # Checking stops after this many row errors and says how many rows were not checked.
    IMPORT_MAX_ERRORS = 200


ENV_PREFIX = "RULESVC_"


def boolean(raw: str) -> bool:
    """``1/true/yes/on`` or ``0/false/no/off`` (any case); anything else is an error, never a guess."""
    value = raw.strip().lower()
    if value in ("1", "true", "yes", "on"):
        return True
    if value in ("0", "false", "no", "off"):
        return False
    raise ValueError(raw)


# Names read from the environment, with the type to coerce to.
ENV_SETTINGS: dict[str, Callable[[str], Any]] = {
    "DATABASE_URL": str,
    "REDIS_URL": str,
    "SECRET_KEY": str,
    "DEFAULT_LOCALE": str,
    "TIMEZONE": str,
    "DEMO_SEED": int,
    "RULES_DIR": str,
    "MAX_CONTENT_LENGTH": int,
    "IMPORT_BATCH_SIZE": int,
    "IMPORT_OUTSIDE_OFFICE": str,
    "IMPORT_MAX_ROWS": int,
    "IMPORT_MAX_CELL_CHARS": int,
    "IMPORT_MAX_FILE_BYTES": int,
    "IMPORT_MAX_XLSX_RATIO": int,
    "IMPORT_MAX_ERRORS": int,
    "HTTPS": boolean,
    "PROXIES": int,
    "SESSION_IDLE_MINUTES": int,
    "SESSION_ABSOLUTE_HOURS": int,
    "LOGIN_FAILURES_PER_USER": int,
    "LOGIN_FAILURES_PER_IP": int,
    "LOGIN_WINDOW_MINUTES": int,
    "LOGIN_LOCKOUT_MINUTES": int,
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
            raise RuntimeError(f"{ENV_PREFIX}{name}={raw!r} is not a valid {getattr(kind, '__name__', 'value')}") from exc
    return found


def normalise_database_url(url: str) -> str:
    """Map ``postgres://``/``postgresql://`` to the psycopg 3 driver SQLAlchemy 2 expects."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url
