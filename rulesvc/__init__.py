"""rulesvc: the prosecutor performance evaluation (检察官业绩考评) rules engine and configuration service."""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import Any

from flask import Flask, request, session

from rulesvc import config
from rulesvc.extensions import babel, csrf, db, init_limiter, login_manager, migrate

__version__ = "0.1.0"

SUPPORTED_LOCALES = ("zh_Hans_CN", "en")


def create_app(test_config: dict[str, Any] | None = None) -> Flask:
    """Build the app: defaults < ``instance/config.py`` < ``RULESVC_*`` variables < ``test_config``.

    Creates no tables and loads no data: ``rulesvc db upgrade`` and ``rulesvc demo`` do that, once,
    outside the workers.
    """
    app = Flask(__name__, instance_path=os.environ.get("RULESVC_INSTANCE_PATH") or None, instance_relative_config=True)
    app.config.from_object(config.Defaults)
    app.config.from_pyfile("config.py", silent=True)
    app.config.update(config.from_environment())
    if test_config:
        app.config.update(test_config)

    # Chinese stays readable in API responses (UTF-8 JSON, not \\u escapes).
    app.json.ensure_ascii = False  # type: ignore[attr-defined]
    # Keys in the order the service writes them (Flask sorts by default): a rule document read through the
    # API keeps its designer's order of dimensions, metrics and indicators, and a client sending it back
    # changes nothing but what it meant to.
    app.json.sort_keys = False  # type: ignore[attr-defined]
    Path(app.instance_path).mkdir(parents=True, exist_ok=True)
    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = _instance_secret(Path(app.instance_path))
    url = app.config.get("DATABASE_URL") or f"sqlite:///{Path(app.instance_path) / 'rulesvc.db'}"
    app.config["DATABASE_URL"] = url
    app.config["SQLALCHEMY_DATABASE_URI"] = config.normalise_database_url(url)
    engine_options: dict[str, Any] = {}
    if app.config["SQLALCHEMY_DATABASE_URI"].startswith("postgresql"):
        # A restarted database server leaves the pool's connections dead: each is tested as it is taken
        # (a SQLite file has no server to lose, so no request pays for the test there). A dead server must
        # fail a request in seconds, not hang it.
        engine_options["pool_pre_ping"] = True
        engine_options["connect_args"] = {"connect_timeout": 5}
    app.config.setdefault("SQLALCHEMY_ENGINE_OPTIONS", engine_options)
    app.config.setdefault("BABEL_DEFAULT_LOCALE", app.config["DEFAULT_LOCALE"])
    app.config.setdefault("BABEL_TRANSLATION_DIRECTORIES", str(Path(__file__).resolve().parent.parent / "admin" / "translations"))
    app.config.setdefault("WTF_CSRF_TIME_LIMIT", None)
    from rulesvc.services import localtime

    localtime.configure(app.config["TIMEZONE"])  # pages show times in it; a wrong name stops the start

    from rulesvc.persistence import models  # noqa: F401  (register the tables on the metadata)

    db.init_app(app)
    _sqlite_pragmas(app)
    migrate.init_app(app, db, directory=app.config["MIGRATIONS_DIR"])
    babel.init_app(app, locale_selector=select_locale)
    login_manager.init_app(app)
    csrf.init_app(app)
    init_limiter(app)

    from rulesvc.security import init_security

    init_security(app)

    from rulesvc.api import init_api

    init_api(app)

    from admin import init_admin

    init_admin(app)

    from rulesvc.commands import all_commands

    for command in all_commands():
        app.cli.add_command(command)
    _csrf_expiry(app)
    _request_language(app)
    _simulations(app)

    @app.get("/")
    def index():  # pragma: no cover - a redirect
        from flask import redirect

        return redirect("/admin/")

    @app.get("/favicon.ico")
    def favicon():
        """The icon browsers ask for on every page (a 404 there was an error in every page's console)."""
        from flask import send_from_directory

        folder = app.blueprints["rulesvc_admin_templates"].static_folder  # the admin's vendored assets
        assert folder is not None
        return send_from_directory(folder, "favicon.svg", mimetype="image/svg+xml", max_age=86400)

    return app


def _simulations(app: Flask) -> None:
    """Where simulation runs execute: RQ (``REDIS_URL`` set; ``rulesvc worker`` runs them) or background
    threads of this process. ``app.extensions["rulesvc.simulations"]`` is the dispatcher the API and the
    CLI hand runs to; ``…_scope`` opens a database session outside any request."""
    from contextlib import contextmanager

    from rulesvc.services.simulation.execute import Settings
    from rulesvc.services.simulation.jobs import RqDispatcher, ThreadDispatcher

    @contextmanager
    def scope():
        with app.app_context():
            try:
                yield db.session()
            finally:
                db.session.remove()

    settings = Settings(rules_dir=app.config["RULES_DIR"], cache_dir=str(Path(app.instance_path) / "cache" / "events"))
    app.extensions["rulesvc.simulation_scope"] = scope
    app.extensions["rulesvc.simulation_settings"] = settings
    url = app.config.get("REDIS_URL")
    app.extensions["rulesvc.simulations"] = RqDispatcher(url) if url else ThreadDispatcher(scope, settings)


def _csrf_expiry(app: Flask) -> None:
    """An expired or missing CSRF token on an admin form: say so in the admin's language (the language
    switch, else the default, as the pages choose it) and go back, not a bare 400."""
    from flask import flash, redirect
    from flask_wtf.csrf import CSRFError

    from rulesvc.catalogue import language_of, msg

    @app.errorhandler(CSRFError)
    def _expired(exc: CSRFError):
        if request.path.startswith("/admin/") and request.method == "POST":
            flash(msg("auth.form_expired").render(language_of(select_locale())), "error")
            # Back to the login form when that was it; other forms to the admin page they were on (the Referer,
            # when it is a page of this admin on this host: an audit landed on the home page from a version's
            # card), else the admin home.
            if request.path.endswith("/login/"):
                return redirect(request.full_path.rstrip("?"))
            return redirect(_same_admin_page(request.referrer) or "/admin/")
        return exc


def _same_admin_page(referrer: str | None) -> str | None:
    """The path (and query) of ``referrer`` when it is an admin page of this host, else ``None`` (never another
    site: no open redirect)."""
    from urllib.parse import urlsplit

    if not referrer:
        return None
    try:
        ref, here = urlsplit(referrer), urlsplit(request.host_url)
    except ValueError:
        return None
    if (ref.scheme, ref.netloc) != (here.scheme, here.netloc) or not ref.path.startswith("/admin/") \
            or "\\" in ref.path or ref.path.startswith("/admin//"):
        return None
    return ref.path + (f"?{ref.query}" if ref.query else "")


def _request_language(app: Flask) -> None:
    """Messages of the catalogue (errors above all) in the request's language: the language switch,
    else ``?lang=``, else ``Accept-Language``, else the configured default (Chinese). The admin pages: the switch,
    else the default (their own words follow :func:`select_locale`; their messages must too)."""
    from rulesvc.catalogue import language_of, set_language

    def _set_language() -> None:
        chosen = session.get("lang")
        if request.path.startswith("/admin"):
            # The admin pages speak the language of their switch (Chinese until switched), messages included —
            # never the browser's: an English browser on the Chinese pages got English refusals.
            set_language(language_of(chosen if chosen in SUPPORTED_LOCALES else app.config["DEFAULT_LOCALE"]))
            return
        chosen = chosen or request.args.get("lang")
        if not chosen and request.accept_languages:
            chosen = request.accept_languages.best_match(["zh", "zh-CN", "en"]) or None
        set_language(language_of(chosen or app.config["DEFAULT_LOCALE"]))

    # First of every hook (the CSRF check, the API guard and the sign-in throttle answer in it too), and
    # forgotten at the end, so no answer ever speaks the previous request's language.
    app.before_request_funcs.setdefault(None, []).insert(0, _set_language)

    @app.teardown_request
    def _forget_language(_exc: BaseException | None) -> None:
        set_language(None)


def select_locale() -> str:
    """The user's choice (the language switch), else the configured default (Chinese)."""
    from flask import current_app

    chosen = session.get("lang") if request else None
    if chosen in SUPPORTED_LOCALES:
        return chosen
    return current_app.config["DEFAULT_LOCALE"]


def _instance_secret(instance: Path) -> str:
    """A random key kept in the instance folder (never a constant in code, never in the repo)."""
    path = instance / "secret_key"
    if path.exists():
        return path.read_text().strip()
    key = secrets.token_hex(32)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(key)
    return key


def _sqlite_pragmas(app: Flask) -> None:
    """Foreign keys on, WAL for concurrent readers; only for SQLite."""
    if not app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
        return
    from sqlalchemy import event

    with app.app_context():
        engine = db.engine

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn, _record):
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.close()
