"""Flask extensions, created unbound and bound to an app in :func:`rulesvc.create_app`."""

from __future__ import annotations

import hashlib

from flask import Flask, current_app
from flask_babel import Babel
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf import CSRFProtect
from limits.storage import storage_from_string
from limits.strategies import MovingWindowRateLimiter, RateLimiter

from rulesvc.persistence.base import Base

db = SQLAlchemy(model_class=Base)
migrate = Migrate(render_as_batch=True, compare_type=True)
babel = Babel()
login_manager = LoginManager()
csrf = CSRFProtect()

_LIMITER = "rulesvc_limiter"


def init_limiter(app: Flask) -> RateLimiter:
    """The counters of the sign-in throttle (``admin.throttle``): a moving-window rate limiter of the
    ``limits`` library over the storage at ``RATELIMIT_STORAGE_URI`` — Redis at ``REDIS_URL`` in server
    mode, shared by every worker, else memory. (The throttle keeps its counters in the database instead
    when there is no Redis.) The moving window counts exactly the attempts of the last N minutes.

    Nothing runs per request: no view is rate-limited, so no request hook of a rate-limiting extension
    is installed (Flask-Limiter's before-request check cost ~0.15 ms on every request for nothing).
    Keys carry ``RATELIMIT_KEY_PREFIX``, a digest of the database URL: the workers of one deployment share
    their counters, two deployments (or two test databases) on one Redis do not.
    """
    app.config.setdefault("RATELIMIT_STORAGE_URI", app.config.get("REDIS_URL") or "memory://")
    digest = hashlib.sha256(str(app.config.get("SQLALCHEMY_DATABASE_URI", "")).encode()).hexdigest()[:12]
    app.config.setdefault("RATELIMIT_KEY_PREFIX", f"rulesvc-{digest}")
    strategy = MovingWindowRateLimiter(storage_from_string(app.config["RATELIMIT_STORAGE_URI"]))
    app.extensions[_LIMITER] = strategy
    return strategy


def limiter() -> RateLimiter:
    """The current app's rate limiter (its storage: ``limiter().storage``)."""
    return current_app.extensions[_LIMITER]
