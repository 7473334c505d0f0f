"""Flask extensions, created unbound and bound to an app in :func:`rulesvc.create_app`."""

from __future__ import annotations

import hashlib

from flask import Flask, current_app
from flask_babel import Babel
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf import CSRFProtect

from rulesvc.persistence.base import Base

db = SQLAlchemy(model_class=Base)
migrate = Migrate(render_as_batch=True, compare_type=True)
babel = Babel()
login_manager = LoginManager()
csrf = CSRFProtect()

_LIMITER = "rulesvc_limiter"


def init_limiter(app: Flask) -> Limiter:
    """A Flask-Limiter for ``app`` (one per app: Flask-Limiter keeps its storage on the instance).

    Storage: Redis at ``REDIS_URL`` in server mode — shared by every worker — else memory (embedded
    mode, one process). Keys are prefixed with a digest of the database URL: the workers of one
    deployment share their counters, two deployments (or two test databases) on one Redis do not.
    The moving-window strategy counts exactly the attempts of the last N minutes.
    """
    app.config.setdefault("RATELIMIT_STORAGE_URI", app.config.get("REDIS_URL") or "memory://")
    app.config.setdefault("RATELIMIT_STRATEGY", "moving-window")
    digest = hashlib.sha256(str(app.config.get("SQLALCHEMY_DATABASE_URI", "")).encode()).hexdigest()[:12]
    app.config.setdefault("RATELIMIT_KEY_PREFIX", f"rulesvc-{digest}")
    limiter = Limiter(get_remote_address)
    limiter.init_app(app)
    app.extensions[_LIMITER] = limiter
    return limiter


def limiter() -> Limiter:
    """The current app's limiter."""
    return current_app.extensions[_LIMITER]
